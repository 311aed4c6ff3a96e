//! Process-wide settings, read from `OPEKA_*` environment variables (nested
//! keys joined by `__`) over documented defaults, validated at start-up.
use std::collections::BTreeMap;
use std::fmt;

use figment::{Figment, providers::Env};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

/// A value that never prints: `Debug` and `Serialize` show `***`.
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    pub fn new(v: T) -> Self {
        Self(v)
    }
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl<T> Serialize for Secret<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("***")
    }
}

/// `OPEKA_ENVIRONMENT`: in `production` a process refuses the built-in
/// development keys (see [`PlatformSettings::require_own_key`]); `make run`
/// and tests are `development`.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    #[default]
    Development,
    Production,
}

#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Pretty,
    Json,
}

/// Settings every process shares. Each field's default is what `make run`
/// uses on a laptop.
#[derive(Debug, Clone, Deserialize, Serialize)]
// Not `deny_unknown_fields`: it is flattened beside each service's section.
#[serde(default)]
pub struct PlatformSettings {
    /// `OPEKA_ENVIRONMENT`: `development` (default) or `production`.
    pub environment: Environment,
    /// `OPEKA_DATABASES__<SERVICE>`: each service connects with its own
    /// NOSUPERUSER NOBYPASSRLS role that may touch its own schema only (so
    /// Row-Level Security applies and a compromised service cannot read
    /// another's tables). Read through [`PlatformSettings::database_url_for`].
    pub databases: ServiceDatabases,
    /// `OPEKA_DATABASE_URL`: the one shared role of earlier releases. Kept
    /// only to refuse it with a message pointing at `OPEKA_DATABASES__*`:
    /// silently ignoring it would leave an operator believing it is in use.
    #[serde(skip_serializing)]
    pub database_url: Option<Secret<String>>,
    /// `OPEKA_MIGRATE_DATABASE_URL`: the owner role `opeka migrate` uses; it
    /// also creates the service roles named in `databases`.
    pub migrate_database_url: Secret<String>,
    /// `OPEKA_DB_MAX_CONNECTIONS`.
    pub db_max_connections: u32,
    /// `OPEKA_NATS_URL`: JetStream-enabled NATS ≥ 2.10.
    pub nats_url: String,
    /// `OPEKA_NATS__<SERVICE>__USER` / `OPEKA_NATS__<SERVICE>__PASSWORD`:
    /// each process connects to NATS with its own credentials (the user
    /// defaults to the service's name; `admin` is the readiness connection
    /// of `opeka serve`). The server's permissions for them come from
    /// `opeka nats-config`. Required in production.
    pub nats: BTreeMap<String, NatsCredentials>,
    pub bus: BusSettings,
    /// `OPEKA_ADMIN_ADDR`: `/healthz`, `/readyz`, `/metrics`.
    pub admin_addr: String,
    /// `OPEKA_LOG_FORMAT`: `pretty` or `json`.
    pub log_format: LogFormat,
    /// `OPEKA_IDENTITY_URL`: where services reach identity's gRPC (JWKS, accounts).
    pub identity_url: String,
    /// `OPEKA_TRUSTED_FORWARDERS`: comma-separated CIDRs of the peers whose
    /// `x-opeka-client-ip` a service believes (the gateway); loopback by
    /// default. Any other caller is throttled by its own TCP address.
    pub trusted_forwarders: String,
    pub throttle: crate::throttle::ThrottleSettings,
}

impl Default for PlatformSettings {
    fn default() -> Self {
        Self {
            environment: Environment::Development,
            databases: ServiceDatabases::default(),
            database_url: None,
            migrate_database_url: Secret::new("postgres://postgres@127.0.0.1:5432/opeka".into()),
            db_max_connections: 10,
            nats_url: "nats://127.0.0.1:4233".into(),
            nats: BTreeMap::new(),
            bus: BusSettings::default(),
            admin_addr: "127.0.0.1:9090".into(),
            log_format: LogFormat::Pretty,
            identity_url: "http://127.0.0.1:50051".into(),
            trusted_forwarders: "127.0.0.0/8,::1".into(),
            throttle: crate::throttle::ThrottleSettings::default(),
        }
    }
}

/// One database URL per service (`OPEKA_DATABASES__IDENTITY`, …). The
/// defaults name the roles `opeka migrate` creates for `make run`; their
/// passwords are development values (PostgreSQL on a laptop trusts local
/// connections anyway), set your own in production.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServiceDatabases {
    pub identity: Secret<String>,
    pub cases: Secret<String>,
    pub files: Secret<String>,
    pub notifications: Secret<String>,
    pub scheduler: Secret<String>,
    pub gateway: Secret<String>,
}

/// The services that own a schema, in the order `opeka migrate` applies them.
pub const SERVICES: [&str; 6] = ["identity", "cases", "files", "notifications", "scheduler", "gateway"];

/// The development URL of `service`'s role on `host_db` (`127.0.0.1:5432/opeka`).
pub fn development_database_url(service: &str, host_db: &str) -> String {
    format!("postgres://opeka_{service}:opeka_{service}_dev@{host_db}")
}

impl Default for ServiceDatabases {
    fn default() -> Self {
        let url = |s: &str| Secret::new(development_database_url(s, "127.0.0.1:5432/opeka"));
        Self {
            identity: url("identity"),
            cases: url("cases"),
            files: url("files"),
            notifications: url("notifications"),
            scheduler: url("scheduler"),
            gateway: url("gateway"),
        }
    }
}

impl ServiceDatabases {
    /// `(service, variable, url)` of every service.
    pub fn all(&self) -> [(&'static str, &'static str, &Secret<String>); 6] {
        [
            ("identity", "OPEKA_DATABASES__IDENTITY", &self.identity),
            ("cases", "OPEKA_DATABASES__CASES", &self.cases),
            ("files", "OPEKA_DATABASES__FILES", &self.files),
            ("notifications", "OPEKA_DATABASES__NOTIFICATIONS", &self.notifications),
            ("scheduler", "OPEKA_DATABASES__SCHEDULER", &self.scheduler),
            ("gateway", "OPEKA_DATABASES__GATEWAY", &self.gateway),
        ]
    }
}

/// The user name in a `postgres://user:password@host/db` URL.
pub fn url_user(url: &str) -> Option<&str> {
    let after = url.split_once("://")?.1;
    let (creds, _) = after.split_once('@')?;
    Some(creds.split_once(':').map_or(creds, |(u, _)| u))
}
/// One service's NATS user.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct NatsCredentials {
    /// Empty: the service's name.
    pub user: String,
    pub password: Secret<String>,
}

/// The development default of `OPEKA_BUS__SEAL_KEY` (refused in production).
pub const DEVELOPMENT_SEAL_KEY: &str = "b3Bla2EtZGV2ZWxvcG1lbnQtYnVzLXNlYWwta2V5ISE=";

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct BusSettings {
    /// `OPEKA_BUS__ROOT`: first subject token (`<root>.<tenant>.<service>.<event>`).
    pub root: String,
    /// `OPEKA_BUS__STREAM_PREFIX`: streams are `<prefix>_<SERVICE>`.
    pub stream_prefix: String,
    /// `OPEKA_BUS__DUPLICATE_WINDOW_SECS`: broker de-duplication window (≥ 120).
    pub duplicate_window_secs: u64,
    /// `OPEKA_BUS__MAX_DELIVER`: deliveries before a message goes to the dead-letter subject.
    pub max_deliver: i64,
    /// `OPEKA_BUS__RELAY_POLL_MS`: outbox relay poll interval (500): how soon
    /// a replica publishes rows another replica wrote. Its own commits wake it at once.
    pub relay_poll_ms: u64,
    /// `OPEKA_BUS__MAX_AGE_SECS`: a stream drops events older than this (7 days).
    pub max_age_secs: u64,
    /// `OPEKA_BUS__MAX_BYTES`: a stream's size cap; the oldest events go first (1 GiB).
    pub max_bytes: i64,
    /// `OPEKA_BUS__SEAL_KEY`: base64 of 32 bytes; identity seals reset codes
    /// and activation tokens into its events with it and notifications opens
    /// them. The built-in development key is refused in production.
    pub seal_key: Secret<String>,
}

impl Default for BusSettings {
    fn default() -> Self {
        Self {
            root: "opeka".into(),
            stream_prefix: "OPEKA".into(),
            duplicate_window_secs: 120,
            max_deliver: 5,
            relay_poll_ms: 500,
            max_age_secs: 7 * 24 * 3600,
            max_bytes: 1 << 30,
            seal_key: Secret::new(DEVELOPMENT_SEAL_KEY.into()),
        }
    }
}

impl BusSettings {
    /// The box secrets are sealed into events with (`OPEKA_BUS__SEAL_KEY`).
    pub fn seal_box(&self) -> Result<crate::crypto::SecretBox, SettingsError> {
        crate::crypto::SecretBox::from_base64(self.seal_key.expose())
            .map_err(|e| SettingsError(format!("OPEKA_BUS__SEAL_KEY: {e}")))
    }
}

impl PlatformSettings {
    pub fn validate(&self) -> Result<(), SettingsError> {
        let bad = |var: &str, msg: &str| Err(SettingsError(format!("{var}: {msg}")));
        if self.database_url.is_some() {
            return bad(
                "OPEKA_DATABASE_URL",
                "replaced by one role per service: set OPEKA_DATABASES__IDENTITY, __CASES, __FILES, \
                 __NOTIFICATIONS, __SCHEDULER and __GATEWAY instead (and run `opeka migrate`)",
            );
        }
        let mut users = std::collections::BTreeMap::new();
        for (_, var, url) in self.databases.all() {
            if !url.expose().starts_with("postgres") {
                return bad(var, "must be a postgres:// URL");
            }
            let Some(user) = url_user(url.expose()).filter(|u| !u.is_empty()) else {
                return bad(var, "must name the service's role: postgres://role:password@host/db");
            };
            if let Some(other) = users.insert(user.to_string(), var) {
                return Err(SettingsError(format!(
                    "{var}: role {user} is also used by {other}; every service needs its own role"
                )));
            }
        }
        if !self.migrate_database_url.expose().starts_with("postgres") {
            return bad("OPEKA_MIGRATE_DATABASE_URL", "must be a postgres:// URL");
        }
        if !self.nats_url.starts_with("nats://") && !self.nats_url.starts_with("tls://") {
            return bad("OPEKA_NATS_URL", "must be a nats:// or tls:// URL");
        }
        if self.admin_addr.parse::<std::net::SocketAddr>().is_err() {
            return bad("OPEKA_ADMIN_ADDR", "must be host:port, e.g. 0.0.0.0:9090");
        }
        if self.bus.duplicate_window_secs < 120 {
            return bad("OPEKA_BUS__DUPLICATE_WINDOW_SECS", "must be at least 120");
        }
        if self.bus.root.is_empty() || self.bus.root.contains(['.', '*', '>', ' ']) {
            return bad("OPEKA_BUS__ROOT", "must be one subject token without dots or wildcards");
        }
        if self.db_max_connections == 0 {
            return bad("OPEKA_DB_MAX_CONNECTIONS", "must be at least 1");
        }
        if self.bus.max_age_secs < self.bus.duplicate_window_secs {
            return bad("OPEKA_BUS__MAX_AGE_SECS", "must be at least the de-duplication window");
        }
        if self.bus.max_bytes < 1 << 20 {
            return bad("OPEKA_BUS__MAX_BYTES", "must be at least 1048576 (1 MiB)");
        }
        self.bus.seal_box()?;
        for (service, c) in &self.nats {
            if !c.user.is_empty() && c.user.contains([' ', '"', '\\', '\n']) {
                return Err(SettingsError(format!(
                    "OPEKA_NATS__{}__USER: no spaces or quotes",
                    service.to_uppercase()
                )));
            }
        }
        if let Err(e) = self.trusted_forwarders.parse::<crate::throttle::Networks>() {
            return bad("OPEKA_TRUSTED_FORWARDERS", &e);
        }
        Ok(())
    }

    /// The parsed `OPEKA_TRUSTED_FORWARDERS` (checked by `validate`; an
    /// unparsable value trusts nobody).
    pub fn forwarders(&self) -> crate::throttle::Networks {
        self.trusted_forwarders.parse().unwrap_or_default()
    }
}

impl PlatformSettings {
    /// The database URL `service` connects with (its own role).
    pub fn database_url_for(&self, service: &str) -> Result<&Secret<String>, SettingsError> {
        self.databases
            .all()
            .into_iter()
            .find(|(name, _, _)| *name == service)
            .map(|(_, _, url)| url)
            .ok_or_else(|| SettingsError(format!("no database URL for service '{service}'")))
    }

    /// `service`'s NATS user and password; `None` connects anonymously,
    /// which only a development server without authorization accepts.
    /// Production refuses to run without them.
    pub fn nats_credentials(&self, service: &str) -> Result<Option<(String, Secret<String>)>, SettingsError> {
        match self.nats.get(service) {
            Some(c) if !c.password.expose().is_empty() => {
                let user = if c.user.is_empty() { service.to_string() } else { c.user.clone() };
                Ok(Some((user, c.password.clone())))
            }
            _ if self.environment == Environment::Production => Err(SettingsError(format!(
                "OPEKA_NATS__{}__PASSWORD: every process authenticates to NATS in production",
                service.to_uppercase()
            ))),
            _ => Ok(None),
        }
    }

    /// The bus seal key is needed only where secrets are sealed and opened
    /// (identity, notifications): they call this; other services never hold it.
    pub fn require_own_seal_key(&self) -> Result<(), SettingsError> {
        self.require_own_key("OPEKA_BUS__SEAL_KEY", &self.bus.seal_key, DEVELOPMENT_SEAL_KEY)
    }

    /// In production, refuses a key that equals the development default
    /// committed in the source (a clear message naming the variable); in
    /// development, logs a warning once.
    pub fn require_own_key(&self, var: &str, value: &Secret<String>, development: &str) -> Result<(), SettingsError> {
        if value.expose() != development {
            return Ok(());
        }
        match self.environment {
            Environment::Production => Err(SettingsError(format!(
                "{var}: the built-in development key is refused in production (OPEKA_ENVIRONMENT=production); \
                 generate one with `head -c 32 /dev/urandom | base64`"
            ))),
            Environment::Development => {
                tracing::warn!(variable = var, "using the built-in development key; set your own outside development");
                Ok(())
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct SettingsError(pub String);

/// Reads `T` from `OPEKA_*` variables over `T`'s `#[serde(default)]` values.
/// An error names the offending variable.
pub fn load<T: DeserializeOwned>() -> Result<T, SettingsError> {
    load_from(Figment::new().merge(Env::prefixed("OPEKA_").split("__")))
}

/// Reads one service's section (`OPEKA_<SECTION>__<FIELD>`).
pub fn load_section<T: DeserializeOwned>(section: &str) -> Result<T, SettingsError> {
    let figment = Figment::new().merge(Env::prefixed("OPEKA_").split("__"));
    if !figment.contains(section) {
        return load_from(Figment::new());
    }
    figment.extract_inner::<T>(section).map_err(|e| name_variable(e, Some(section)))
}

fn name_variable(e: figment::Error, section: Option<&str>) -> SettingsError {
    let mut path: Vec<String> = section.into_iter().map(str::to_string).collect();
    path.extend(e.path.iter().cloned());
    let var = if path.is_empty() { "OPEKA_*".to_string() } else { format!("OPEKA_{}", path.join("__").to_uppercase()) };
    SettingsError(format!("{var}: {}", e.kind))
}

pub fn load_from<T: DeserializeOwned>(figment: Figment) -> Result<T, SettingsError> {
    figment.extract::<T>().map_err(|e| {
        let var = if e.path.is_empty() {
            "OPEKA_*".to_string()
        } else {
            format!("OPEKA_{}", e.path.join("__").to_uppercase())
        };
        SettingsError(format!("{var}: {}", e.kind))
    })
}

/// Parses `host:port` into a socket address, naming the variable on failure.
pub fn socket_addr(var: &str, value: &str) -> Result<std::net::SocketAddr, SettingsError> {
    value.parse().map_err(|_| SettingsError(format!("{var}: '{value}' is not host:port")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use figment::providers::Serialized;

    #[test]
    fn defaults_are_valid() {
        PlatformSettings::default().validate().unwrap();
    }

    #[test]
    fn a_bad_value_names_the_variable() {
        let fig = Figment::new().merge(Serialized::default("db_max_connections", "many"));
        let err = load_from::<PlatformSettings>(fig).unwrap_err();
        assert!(err.0.contains("OPEKA_DB_MAX_CONNECTIONS"), "{err}");
    }

    #[test]
    fn production_refuses_the_development_key() {
        let dev = "ZGV2";
        let mut s = PlatformSettings::default();
        assert!(s.require_own_key("OPEKA_X__SECRET_KEY", &Secret::new(dev.into()), dev).is_ok());
        s.environment = Environment::Production;
        let err = s.require_own_key("OPEKA_X__SECRET_KEY", &Secret::new(dev.into()), dev).unwrap_err();
        assert!(err.0.contains("OPEKA_X__SECRET_KEY"), "{err}");
        assert!(s.require_own_key("OPEKA_X__SECRET_KEY", &Secret::new("b3du".into()), dev).is_ok());
    }

    #[test]
    fn secrets_do_not_print() {
        let s = PlatformSettings {
            database_url: Some(Secret::new("postgres://opeka_app:opeka_app@h/db".into())),
            ..PlatformSettings::default()
        };
        for dump in [format!("{s:?}"), serde_json::to_string(&s).unwrap()] {
            assert!(!dump.contains("opeka_app:opeka_app"), "{dump}");
            assert!(!dump.contains("_dev@"), "{dump}");
        }
    }

    #[test]
    fn each_service_has_its_own_url() {
        let s = PlatformSettings::default();
        for service in SERVICES {
            let url = s.database_url_for(service).unwrap().expose();
            assert_eq!(url_user(url), Some(format!("opeka_{service}").as_str()));
        }
        assert!(s.database_url_for("nobody").is_err());
    }

    #[test]
    fn a_shared_role_or_the_old_variable_is_refused() {
        let mut s = PlatformSettings::default();
        s.databases.cases = s.databases.identity.clone();
        let err = s.validate().unwrap_err();
        assert!(err.0.contains("OPEKA_DATABASES__CASES"), "{err}");
        let s = PlatformSettings {
            database_url: Some(Secret::new("postgres://opeka_app@h/db".into())),
            ..PlatformSettings::default()
        };
        assert!(s.validate().unwrap_err().0.contains("OPEKA_DATABASE_URL"));
    }
}
