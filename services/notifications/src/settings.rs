//! Notifications' settings (`OPEKA_NOTIFICATIONS__<FIELD>`) with their
//! documented defaults, validated at start-up.
use opeka_platform::settings::{Secret, SettingsError, socket_addr};
use serde::{Deserialize, Serialize};

/// The key `make run` uses when none is configured: fine on a laptop, never
/// in production (start-up logs a warning while it is in use).
pub const DEVELOPMENT_SECRET_KEY: &str = "b3Bla2EtZGV2LWtleS0zMi1ieXRlcy1ub3QtcHJvZCE=";

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// gRPC listen address (`127.0.0.1:50054`).
    pub grpc_addr: String,
    /// Telegram Bot API base URL (`https://api.telegram.org`); tests point it
    /// at a local fake.
    pub telegram_api_url: String,
    /// The gateway's public URL, for links in mails (`http://127.0.0.1:8080`).
    pub public_url: String,
    /// Base64 of a 32-byte key that encrypts SMTP passwords, bot tokens and
    /// the bot's client secret (AES-256-GCM). Generate one with
    /// `head -c 32 /dev/urandom | base64`. Changing it makes stored secrets
    /// unreadable: the admin has to enter them again.
    pub secret_key: Secret<String>,
    /// The files service's gRPC URL (`http://127.0.0.1:50053`).
    pub files_url: String,
    /// `OPEKA_NOTIFICATIONS__CASES_URL`: the cases service's gRPC URL
    /// (`http://127.0.0.1:50052`); the bot reads the tenant's terminology
    /// there (S0-2) and falls back to the seed's words while it is unreachable.
    pub cases_url: String,
    /// `OPEKA_NOTIFICATIONS__SCHEDULER_URL`: the scheduler service's gRPC URL
    /// (`http://127.0.0.1:50055`); the bot sends the citizen's «Выполнено» /
    /// «Пропущено» there and lists upcoming reminders from it (S0-51…S0-57).
    pub scheduler_url: String,
    /// Pool size for this service (10).
    pub db_max_connections: u32,
    /// getUpdates long-poll timeout in seconds (10; below teloxide's 17 s
    /// HTTP timeout).
    pub poll_timeout_secs: u32,
    /// Telegram's limits: at most this many messages per second per bot (30)…
    pub telegram_per_bot_per_sec: u32,
    /// …and at least this long between two messages to one chat (1000 ms).
    pub telegram_per_chat_interval_ms: u64,
    /// Attempts of one Telegram send (429 and network errors are retried) (5).
    pub telegram_max_attempts: u32,
    /// Connect/command timeout of SMTP, in seconds (15; below the consumers'
    /// 30 s ack wait).
    pub smtp_timeout_secs: u64,
    /// `OPEKA_NOTIFICATIONS__SMTP_ALLOW_LOOPBACK`: let tenants' SMTP hosts
    /// resolve to loopback (false: on a shared machine loopback reaches the
    /// platform's own ports; tests and a local relay set it).
    pub smtp_allow_loopback: bool,
    /// `OPEKA_NOTIFICATIONS__WEBHOOK_BASE_URL`: the public URL under which
    /// Telegram reaches `WEBHOOK_ADDR` (e.g. `https://bot.opeka.example`;
    /// Telegram only posts to HTTPS, so put a TLS-terminating proxy in front).
    /// Empty (the default) = long polling. When set, each tenant's bot is
    /// registered with `setWebhook(<base>/telegram/<tenant_id>)` and a random
    /// secret token, generated once per bot token and stored encrypted in
    /// `channel_settings`, so every replica accepts the same secret.
    pub webhook_base_url: String,
    /// `OPEKA_NOTIFICATIONS__WEBHOOK_ADDR`: HTTP listen address for Telegram's
    /// webhook POSTs (`127.0.0.1:8443`); used only with `WEBHOOK_BASE_URL`.
    pub webhook_addr: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            grpc_addr: "127.0.0.1:50054".into(),
            telegram_api_url: "https://api.telegram.org".into(),
            public_url: "http://127.0.0.1:8080".into(),
            secret_key: Secret::new(DEVELOPMENT_SECRET_KEY.into()),
            files_url: "http://127.0.0.1:50053".into(),
            cases_url: "http://127.0.0.1:50052".into(),
            scheduler_url: "http://127.0.0.1:50055".into(),
            db_max_connections: 10,
            poll_timeout_secs: 10,
            telegram_per_bot_per_sec: 30,
            telegram_per_chat_interval_ms: 1000,
            telegram_max_attempts: 5,
            smtp_timeout_secs: 15,
            smtp_allow_loopback: false,
            webhook_base_url: String::new(),
            webhook_addr: "127.0.0.1:8443".into(),
        }
    }
}

impl Settings {
    pub fn validate(&self) -> Result<(), SettingsError> {
        let bad = |var: &str, msg: &str| Err(SettingsError(format!("OPEKA_NOTIFICATIONS__{var}: {msg}")));
        socket_addr("OPEKA_NOTIFICATIONS__GRPC_ADDR", &self.grpc_addr)?;
        for (var, value) in [
            ("TELEGRAM_API_URL", &self.telegram_api_url),
            ("PUBLIC_URL", &self.public_url),
            ("FILES_URL", &self.files_url),
            ("CASES_URL", &self.cases_url),
            ("SCHEDULER_URL", &self.scheduler_url),
        ] {
            match url::Url::parse(value) {
                Ok(u) if matches!(u.scheme(), "http" | "https") => {}
                _ => return bad(var, "must be an http:// or https:// URL"),
            }
        }
        if crate::crypto::SecretBox::from_base64(self.secret_key.expose()).is_err() {
            return bad("SECRET_KEY", "must be the base64 of exactly 32 bytes (head -c 32 /dev/urandom | base64)");
        }
        if self.db_max_connections == 0 {
            return bad("DB_MAX_CONNECTIONS", "must be at least 1");
        }
        if !(1..=16).contains(&self.poll_timeout_secs) {
            return bad("POLL_TIMEOUT_SECS", "must be between 1 and 16");
        }
        if !(1..=30).contains(&self.telegram_per_bot_per_sec) {
            return bad("TELEGRAM_PER_BOT_PER_SEC", "must be between 1 and 30 (Telegram's limit)");
        }
        if self.telegram_max_attempts == 0 {
            return bad("TELEGRAM_MAX_ATTEMPTS", "must be at least 1");
        }
        if !(1..=25).contains(&self.smtp_timeout_secs) {
            return bad("SMTP_TIMEOUT_SECS", "must be between 1 and 25");
        }
        if !self.webhook_base_url.trim().is_empty() {
            match url::Url::parse(self.webhook_base_url.trim()) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.query().is_none() && u.fragment().is_none() => {}
                _ => {
                    return bad(
                        "WEBHOOK_BASE_URL",
                        "must be empty (long polling) or an http:// or https:// URL without query",
                    );
                }
            }
        }
        socket_addr("OPEKA_NOTIFICATIONS__WEBHOOK_ADDR", &self.webhook_addr)?;
        Ok(())
    }

    /// Whether bots get their updates through the webhook instead of polling.
    pub fn webhook_mode(&self) -> bool {
        !self.webhook_base_url.trim().is_empty()
    }

    /// The webhook URL Telegram posts the tenant's updates to.
    pub fn webhook_url(&self, tenant_id: uuid::Uuid) -> String {
        format!("{}/telegram/{tenant_id}", self.webhook_base_url.trim().trim_end_matches('/'))
    }

    /// Production (`OPEKA_ENVIRONMENT=production`) refuses the key committed
    /// in the source; development warns.
    pub fn require_own_keys(&self, platform: &opeka_platform::settings::PlatformSettings) -> Result<(), SettingsError> {
        platform.require_own_key("OPEKA_NOTIFICATIONS__SECRET_KEY", &self.secret_key, DEVELOPMENT_SECRET_KEY)?;
        platform.require_own_seal_key()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        Settings::default().validate().unwrap();
    }

    #[test]
    fn issue9_point10_production_refuses_the_development_notifications_key() {
        use opeka_platform::settings::{Environment, PlatformSettings};
        let production = PlatformSettings { environment: Environment::Production, ..Default::default() };
        let err = Settings::default().require_own_keys(&production).unwrap_err();
        assert!(err.0.contains("OPEKA_NOTIFICATIONS__SECRET_KEY"), "{err}");
        Settings::default().require_own_keys(&PlatformSettings::default()).expect("development keeps working");
        let own = Settings {
            secret_key: Secret::new("AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=".into()),
            ..Default::default()
        };
        // The bus seal key is the other key notifications holds.
        let err = own.require_own_keys(&production).unwrap_err();
        assert!(err.0.contains("OPEKA_BUS__SEAL_KEY"), "{err}");
        let mut production_with_bus_key = production;
        production_with_bus_key.bus.seal_key = Secret::new("AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=".into());
        own.require_own_keys(&production_with_bus_key).expect("own keys are fine");
    }

    #[test]
    fn a_bad_key_names_the_variable() {
        let s = Settings { secret_key: Secret::new("short".into()), ..Default::default() };
        let e = s.validate().unwrap_err();
        assert!(e.0.contains("OPEKA_NOTIFICATIONS__SECRET_KEY"), "{e}");
    }

    #[test]
    fn webhook_settings_are_checked_and_named() {
        let s = Settings { webhook_base_url: "not a url".into(), ..Default::default() };
        assert!(s.validate().unwrap_err().0.contains("OPEKA_NOTIFICATIONS__WEBHOOK_BASE_URL"));
        let s = Settings { cases_url: "cases:50052".into(), ..Default::default() };
        assert!(s.validate().unwrap_err().0.contains("OPEKA_NOTIFICATIONS__CASES_URL"));
        let s = Settings { scheduler_url: String::new(), ..Default::default() };
        assert!(s.validate().unwrap_err().0.contains("OPEKA_NOTIFICATIONS__SCHEDULER_URL"));
        let s = Settings { webhook_addr: "nowhere".into(), ..Default::default() };
        assert!(s.validate().unwrap_err().0.contains("OPEKA_NOTIFICATIONS__WEBHOOK_ADDR"));
        let s = Settings { webhook_base_url: "https://bot.example/hook/".into(), ..Default::default() };
        s.validate().unwrap();
        assert!(s.webhook_mode() && !Settings::default().webhook_mode());
        let t = uuid::Uuid::nil();
        assert_eq!(s.webhook_url(t), format!("https://bot.example/hook/telegram/{t}"));
    }

    #[test]
    fn the_key_never_prints() {
        let s = Settings::default();
        assert!(!format!("{s:?}").contains(DEVELOPMENT_SECRET_KEY));
        assert!(!serde_json::to_string(&s).unwrap().contains(DEVELOPMENT_SECRET_KEY));
    }
}
