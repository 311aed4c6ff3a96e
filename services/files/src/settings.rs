//! The files service's settings (`OPEKA_FILES__<FIELD>`), with the defaults
//! `make run` uses on a laptop.
use opeka_platform::settings::{SettingsError, socket_addr};
use serde::{Deserialize, Serialize};

use crate::blobs::StoreUrl;

const MIB: u64 = 1024 * 1024;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// `OPEKA_FILES__GRPC_ADDR`: gRPC listen address.
    pub grpc_addr: String,
    /// `OPEKA_FILES__STORE_URL`: where blobs go. `file:///abs/dir` (created
    /// when missing; default `file://<working directory>/.local/files`) or
    /// `s3://bucket[/prefix]`, configured by the standard `AWS_*` variables
    /// (`AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
    /// `AWS_ENDPOINT` and `AWS_ALLOW_HTTP=true` for an S3-compatible server).
    pub store_url: String,
    /// `OPEKA_FILES__MAX_FILE_BYTES`: the largest accepted file (20 MiB).
    pub max_file_bytes: u64,
    /// `OPEKA_FILES__ALLOWED_CONTENT_TYPES`: sniffed content types accepted,
    /// e.g. `[application/pdf,image/png]`. Default: PDF, JPEG, PNG, HEIC,
    /// Word (doc, docx), Excel (xls, xlsx), OpenDocument text, plain text.
    pub allowed_content_types: Vec<String>,
    /// `OPEKA_FILES__UPLOAD_BUFFER_BYTES`: an upload is held in memory up to
    /// this size and written in one request; larger ones stream as a
    /// multipart upload in parts of this size (8 MiB; S3 needs ≥ 5 MiB).
    pub upload_buffer_bytes: u64,
    /// `OPEKA_FILES__DB_MAX_CONNECTIONS`: pool size for this service.
    pub db_max_connections: u32,
    /// `OPEKA_FILES__CASES_URL`: where files asks cases whether the caller
    /// sees an appeal (its files are read and written only then).
    pub cases_url: String,
}

pub fn default_allowed_content_types() -> Vec<String> {
    [
        "application/pdf",
        "image/jpeg",
        "image/png",
        "image/heic",
        "image/heif",
        "application/msword",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.ms-excel",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.oasis.opendocument.text",
        "text/plain",
    ]
    .map(String::from)
    .to_vec()
}

impl Default for Settings {
    fn default() -> Self {
        let dir = std::env::current_dir().unwrap_or_else(|_| std::path::PathBuf::from("/tmp")).join(".local/files");
        Self {
            grpc_addr: "127.0.0.1:50053".into(),
            store_url: format!("file://{}", dir.display()),
            max_file_bytes: 20 * MIB,
            allowed_content_types: default_allowed_content_types(),
            upload_buffer_bytes: 8 * MIB,
            db_max_connections: 10,
            cases_url: "http://127.0.0.1:50052".into(),
        }
    }
}

impl Settings {
    pub fn validate(&self) -> Result<(), SettingsError> {
        let bad = |var: &str, msg: &str| Err(SettingsError(format!("OPEKA_FILES__{var}: {msg}")));
        socket_addr("OPEKA_FILES__GRPC_ADDR", &self.grpc_addr)?;
        let store = match StoreUrl::parse(&self.store_url) {
            Ok(s) => s,
            Err(e) => return bad("STORE_URL", &e),
        };
        if self.max_file_bytes == 0 {
            return bad("MAX_FILE_BYTES", "must be positive");
        }
        if self.max_file_bytes > i64::MAX as u64 {
            return bad("MAX_FILE_BYTES", "too large");
        }
        if crate::domain::sniff::normalise_types(&self.allowed_content_types).is_empty() {
            return bad("ALLOWED_CONTENT_TYPES", "must name at least one content type");
        }
        if self.upload_buffer_bytes < 4096 || self.upload_buffer_bytes > 1024 * MIB {
            return bad("UPLOAD_BUFFER_BYTES", "must be between 4 KiB and 1 GiB");
        }
        if matches!(store, StoreUrl::S3 { .. }) && self.upload_buffer_bytes < 5 * MIB {
            return bad("UPLOAD_BUFFER_BYTES", "must be at least 5 MiB with an s3:// store (S3's smallest part)");
        }
        if self.db_max_connections == 0 {
            return bad("DB_MAX_CONNECTIONS", "must be at least 1");
        }
        match url::Url::parse(&self.cases_url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => {}
            _ => return bad("CASES_URL", "must be an http:// or https:// URL, e.g. http://127.0.0.1:50052"),
        }
        Ok(())
    }

    /// The allowed content types, normalised.
    pub fn allowed(&self) -> Vec<String> {
        crate::domain::sniff::normalise_types(&self.allowed_content_types)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        let s = Settings::default();
        s.validate().unwrap();
        assert_eq!(s.grpc_addr, "127.0.0.1:50053");
        assert!(s.store_url.starts_with("file:///") && s.store_url.ends_with("/.local/files"), "{}", s.store_url);
        assert_eq!(s.max_file_bytes, 20 * MIB);
        assert!(s.allowed().contains(&"application/pdf".to_string()));
    }

    #[test]
    fn errors_name_the_variable() {
        let s = Settings { store_url: "ftp://x".into(), ..Default::default() };
        assert!(s.validate().unwrap_err().0.contains("OPEKA_FILES__STORE_URL"));
        let s = Settings { max_file_bytes: 0, ..Default::default() };
        assert!(s.validate().unwrap_err().0.contains("OPEKA_FILES__MAX_FILE_BYTES"));
        let s = Settings { allowed_content_types: vec![" ".into()], ..Default::default() };
        assert!(s.validate().unwrap_err().0.contains("OPEKA_FILES__ALLOWED_CONTENT_TYPES"));
        let s = Settings { store_url: "s3://bucket".into(), upload_buffer_bytes: MIB, ..Default::default() };
        assert!(s.validate().unwrap_err().0.contains("OPEKA_FILES__UPLOAD_BUFFER_BYTES"));
        let s = Settings { grpc_addr: "nowhere".into(), ..Default::default() };
        assert!(s.validate().unwrap_err().0.contains("OPEKA_FILES__GRPC_ADDR"));
        let s = Settings { cases_url: "127.0.0.1:50052".into(), ..Default::default() };
        assert!(s.validate().unwrap_err().0.contains("OPEKA_FILES__CASES_URL"));
    }

    #[test]
    fn missing_fields_take_defaults_unknown_fields_are_refused() {
        let s: Settings =
            serde_json::from_str(r#"{"max_file_bytes": 1024, "allowed_content_types": [" Image/PNG "]}"#).unwrap();
        assert_eq!((s.max_file_bytes, s.allowed()), (1024, vec!["image/png".to_string()]));
        assert_eq!(s.grpc_addr, "127.0.0.1:50053");
        assert!(serde_json::from_str::<Settings>(r#"{"max_file_byte": 1}"#).is_err());
    }
}
