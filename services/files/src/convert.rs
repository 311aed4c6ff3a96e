//! Wire ↔ domain conversions for files, so handlers stay short.
use chrono::{DateTime, Utc};
use opeka_proto::files as pb;

use crate::domain::Channel;
use crate::store::{FileCursor, FileRow, FileTypeRow};
use crate::strings as s;

pub use opeka_platform::wire::{opt_uuid, ts};

impl From<&FileTypeRow> for pb::FileType {
    fn from(t: &FileTypeRow) -> Self {
        pb::FileType {
            id: t.id.to_string(),
            name: t.name.clone(),
            created_at: Some(ts(t.created_at)),
            deleted_at: t.deleted_at.map(ts),
        }
    }
}

pub fn channel_pb(c: &str) -> pb::Channel {
    match Channel::parse(c) {
        Some(Channel::Bot) => pb::Channel::Bot,
        Some(Channel::Web) => pb::Channel::Web,
        Some(Channel::Api) => pb::Channel::Api,
        None => pb::Channel::Unspecified,
    }
}

impl From<&FileRow> for pb::File {
    fn from(f: &FileRow) -> Self {
        pb::File {
            id: f.id.to_string(),
            citizen_id: opt_uuid(f.citizen_id),
            appeal_id: opt_uuid(f.appeal_id),
            file_type_id: opt_uuid(f.file_type_id),
            file_type_name: f.file_type_name.clone().unwrap_or_default(),
            original_name: f.original_name.clone(),
            content_type: f.content_type.clone(),
            declared_content_type: f.declared_content_type.clone(),
            size: f.size,
            sha256: f.sha256.clone(),
            uploaded_by: f.uploaded_by.to_string(),
            channel: channel_pb(&f.channel) as i32,
            created_at: Some(ts(f.created_at)),
            type_changed_by: opt_uuid(f.type_changed_by),
            type_changed_at: f.type_changed_at.map(ts),
        }
    }
}

/// A page token is the last row's `<created_at µs>.<id>`; opaque to clients.
pub fn page_token(c: &FileCursor) -> String {
    format!("{}.{}", c.created_at.timestamp_micros(), c.id)
}

pub fn parse_page_token(v: &str) -> Result<Option<FileCursor>, String> {
    let v = v.trim();
    if v.is_empty() {
        return Ok(None);
    }
    let (micros, id) = v.split_once('.').ok_or(s::PAGE_TOKEN_INVALID)?;
    let created_at =
        micros.parse::<i64>().ok().and_then(DateTime::<Utc>::from_timestamp_micros).ok_or(s::PAGE_TOKEN_INVALID)?;
    let id = id.parse().map_err(|_| s::PAGE_TOKEN_INVALID)?;
    Ok(Some(FileCursor { created_at, id }))
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;

    #[test]
    fn page_tokens_round_trip_and_garbage_is_refused() {
        let c = FileCursor {
            created_at: DateTime::from_timestamp_micros(1_780_000_000_123_456).unwrap(),
            id: Uuid::now_v7(),
        };
        assert_eq!(parse_page_token(&page_token(&c)).unwrap(), Some(c));
        assert_eq!(parse_page_token("").unwrap(), None);
        for bad in ["x", "1.2", "abc.00000000-0000-0000-0000-000000000000"] {
            assert!(parse_page_token(bad).is_err(), "{bad}");
        }
    }
}
