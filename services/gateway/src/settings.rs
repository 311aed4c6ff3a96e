//! The gateway's own settings, read from `OPEKA_GATEWAY__<FIELD>` variables
//! over the documented defaults below, validated before anything binds.
use std::path::PathBuf;

use figment::Figment;
use figment::providers::Env;
use opeka_platform::settings::{Secret, SettingsError};
use serde::{Deserialize, Serialize};

/// The key that seals the tokens a session keeps when
/// `OPEKA_GATEWAY__SECRET_KEY` is not set: fine for `make run`, refused in
/// production.
pub const DEVELOPMENT_SECRET_KEY: &str = "b3Bla2EtZ2F0ZXdheS1kZXYta2V5LW5vdC1wcm9kISE=";

/// Every default is what `make run` uses on a laptop.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// `OPEKA_GATEWAY__HTTP_ADDR`: where the web UI listens (`host:port`).
    pub http_addr: String,
    /// `OPEKA_GATEWAY__PUBLIC_URL`: the address people type, used in links
    /// that leave the page (mails, the console banner).
    pub public_url: String,
    /// `OPEKA_GATEWAY__DEFAULT_TENANT`: the tenant slug `/` redirects to.
    pub default_tenant: String,
    /// `OPEKA_GATEWAY__ASSETS_DIR`: the `node_modules` folder npm fills from
    /// `services/gateway/web/package.json`; served under `/assets`.
    pub assets_dir: PathBuf,
    /// `OPEKA_GATEWAY__SESSION_TTL_SECS`: a session ends this long after
    /// login, whatever happens (default 8 hours, one working day).
    pub session_ttl_secs: u64,
    /// `OPEKA_GATEWAY__SECURE_COOKIES`: mark cookies `Secure` even when the
    /// public URL is http (an https public URL always marks them, and adds
    /// `Strict-Transport-Security`).
    pub secure_cookies: bool,
    /// `OPEKA_GATEWAY__TRUSTED_PROXIES`: comma-separated CIDRs of the reverse
    /// proxies whose `X-Forwarded-For` names the client (default: none, the
    /// TCP peer is the client). The client address is forwarded to services
    /// for their per-address throttles.
    pub trusted_proxies: String,
    /// `OPEKA_GATEWAY__LOCALE`: `ru` (default) or `en`.
    pub locale: String,
    /// `OPEKA_GATEWAY__CASES_URL`: the cases service's gRPC address.
    pub cases_url: String,
    /// `OPEKA_GATEWAY__FILES_URL`: the files service's gRPC address.
    pub files_url: String,
    /// `OPEKA_GATEWAY__NOTIFICATIONS_URL`: the notifications service's gRPC address.
    pub notifications_url: String,
    /// `OPEKA_GATEWAY__SCHEDULER_URL`: the scheduler service's gRPC address.
    pub scheduler_url: String,
    /// `OPEKA_GATEWAY__SECRET_KEY`: base64 of 32 bytes; seals the access and
    /// refresh tokens a session keeps (AES-256-GCM), so a reader of
    /// `gateway.sessions` cannot act as its users. Changing it ends every
    /// session (users sign in again).
    pub secret_key: Secret<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            http_addr: "127.0.0.1:8080".into(),
            public_url: "http://127.0.0.1:8080".into(),
            default_tenant: "demo".into(),
            assets_dir: PathBuf::from("services/gateway/web/node_modules"),
            session_ttl_secs: 8 * 60 * 60,
            secure_cookies: false,
            trusted_proxies: String::new(),
            locale: "ru".into(),
            cases_url: "http://127.0.0.1:50052".into(),
            files_url: "http://127.0.0.1:50053".into(),
            notifications_url: "http://127.0.0.1:50054".into(),
            scheduler_url: "http://127.0.0.1:50055".into(),
            secret_key: Secret::new(DEVELOPMENT_SECRET_KEY.into()),
        }
    }
}

impl Settings {
    /// Reads `OPEKA_GATEWAY__*` over the defaults; an error names the variable.
    pub fn load() -> Result<Self, SettingsError> {
        Self::load_from(Figment::new().merge(Env::prefixed("OPEKA_GATEWAY__")))
    }

    pub fn load_from(figment: Figment) -> Result<Self, SettingsError> {
        let settings: Self = figment.extract().map_err(|e| {
            let var = if e.path.is_empty() {
                "OPEKA_GATEWAY__*".to_string()
            } else {
                format!("OPEKA_GATEWAY__{}", e.path.join("__").to_uppercase())
            };
            SettingsError(format!("{var}: {}", e.kind))
        })?;
        settings.validate()?;
        Ok(settings)
    }

    pub fn validate(&self) -> Result<(), SettingsError> {
        let bad = |var: &str, msg: &str| Err(SettingsError(format!("OPEKA_GATEWAY__{var}: {msg}")));
        if self.http_addr.parse::<std::net::SocketAddr>().is_err() {
            return bad("HTTP_ADDR", "must be host:port, e.g. 0.0.0.0:8080");
        }
        if url::Url::parse(&self.public_url).is_err() {
            return bad("PUBLIC_URL", "must be an absolute URL, e.g. https://opeka.example.ru");
        }
        if !crate::tenancy::is_valid_slug(&self.default_tenant) {
            return bad("DEFAULT_TENANT", "must be a tenant slug: lowercase latin letters, digits and '-'");
        }
        if self.session_ttl_secs < 60 {
            return bad("SESSION_TTL_SECS", "must be at least 60");
        }
        for (var, value) in [
            ("CASES_URL", &self.cases_url),
            ("FILES_URL", &self.files_url),
            ("NOTIFICATIONS_URL", &self.notifications_url),
            ("SCHEDULER_URL", &self.scheduler_url),
        ] {
            match url::Url::parse(value) {
                Ok(u) if matches!(u.scheme(), "http" | "https") => {}
                _ => return bad(var, "must be an http:// or https:// URL, e.g. http://127.0.0.1:50052"),
            }
        }
        if let Err(e) = self.trusted_proxies.parse::<opeka_platform::throttle::Networks>() {
            return bad("TRUSTED_PROXIES", &e);
        }
        if crate::strings::Strings::for_locale(&self.locale).is_none() {
            return bad("LOCALE", "must be one of: ru, en");
        }
        self.secret_box()?;
        Ok(())
    }

    /// The box that seals a session's tokens.
    pub fn secret_box(&self) -> Result<opeka_platform::crypto::SecretBox, SettingsError> {
        opeka_platform::crypto::SecretBox::from_base64(self.secret_key.expose())
            .map_err(|e| SettingsError(format!("OPEKA_GATEWAY__SECRET_KEY: {e}")))
    }

    /// Production refuses the built-in development key.
    pub fn require_own_keys(&self, platform: &opeka_platform::settings::PlatformSettings) -> Result<(), SettingsError> {
        platform.require_own_key("OPEKA_GATEWAY__SECRET_KEY", &self.secret_key, DEVELOPMENT_SECRET_KEY)
    }
}

impl Settings {
    /// The public URL is https: cookies are `Secure` and HSTS is sent.
    pub fn https(&self) -> bool {
        self.public_url.trim().to_ascii_lowercase().starts_with("https://")
    }

    pub fn secure(&self) -> bool {
        self.secure_cookies || self.https()
    }

    pub fn proxies(&self) -> opeka_platform::throttle::Networks {
        self.trusted_proxies.parse().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use figment::providers::Serialized;

    #[test]
    fn defaults_are_valid() {
        Settings::default().validate().unwrap();
    }

    #[test]
    fn a_bad_value_names_the_variable() {
        let fig = Figment::new().merge(Serialized::default("session_ttl_secs", "long"));
        let err = Settings::load_from(fig).unwrap_err();
        assert!(err.0.contains("OPEKA_GATEWAY__SESSION_TTL_SECS"), "{err}");
        let fig = Figment::new().merge(Serialized::default("locale", "de"));
        let err = Settings::load_from(fig).unwrap_err();
        assert!(err.0.contains("OPEKA_GATEWAY__LOCALE"), "{err}");
    }

    #[test]
    fn the_scheduler_address_is_checked() {
        let fig = Figment::new().merge(Serialized::default("scheduler_url", "127.0.0.1:50055"));
        let err = Settings::load_from(fig).unwrap_err();
        assert!(err.0.contains("OPEKA_GATEWAY__SCHEDULER_URL"), "{err}");
        assert_eq!(Settings::default().scheduler_url, "http://127.0.0.1:50055");
    }

    #[test]
    fn issue9_point1_production_refuses_the_development_gateway_key() {
        use opeka_platform::settings::{Environment, PlatformSettings};
        let platform = PlatformSettings { environment: Environment::Production, ..Default::default() };
        let err = Settings::default().require_own_keys(&platform).unwrap_err();
        assert!(err.0.contains("OPEKA_GATEWAY__SECRET_KEY"), "{err}");
        let own = Settings {
            secret_key: Secret::new("AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=".into()),
            ..Default::default()
        };
        own.require_own_keys(&platform).unwrap();
        let fig = Figment::new().merge(Serialized::default("secret_key", "short"));
        assert!(Settings::load_from(fig).unwrap_err().0.contains("OPEKA_GATEWAY__SECRET_KEY"));
    }

    #[test]
    fn unknown_fields_are_refused() {
        let fig = Figment::new().merge(Serialized::default("colour", "red"));
        assert!(Settings::load_from(fig).is_err());
    }
}
