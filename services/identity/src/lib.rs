//! Identity service (`opeka.identity.v1`): tenants, organisations, districts,
//! accounts, credentials, tokens, one-time codes, bot link codes and audit.
#![forbid(unsafe_code)]

pub mod api;
pub mod bootstrap;
pub mod convert;
pub mod domain;
pub mod events;
pub mod passwords;
pub mod store;
pub mod strings;
pub mod tokens;

use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;

use opeka_platform::service::Parts;
use opeka_platform::throttle::Throttle;
use opeka_platform::{Context, admin, bus, db};
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;

pub const SERVICE: &str = "identity";
pub const GRPC_NAME: &str = "opeka.identity.v1.IdentityService";

pub static SCHEMA: db::SchemaSpec =
    db::SchemaSpec { schema: SERVICE, migrator: &MIGRATOR, append_only: &["audit_log"] };
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The key that seals private signing keys when `OPEKA_IDENTITY__SECRET_KEY`
/// is not set: fine for `make run`, refused in production.
pub const DEVELOPMENT_SECRET_KEY: &str = "b3Bla2EtaWRlbnRpdHktZGV2LWtleS1ub3QtcHJvZCE=";

/// Identity's settings (`OPEKA_IDENTITY__<FIELD>`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// gRPC listen address.
    pub grpc_addr: String,
    /// Access token lifetime (15 minutes).
    pub access_token_ttl_secs: i64,
    /// Refresh token lifetime (30 days); each use rotates it.
    pub refresh_token_ttl_secs: i64,
    /// Failed logins in a row before the account is locked.
    pub lockout_threshold: i32,
    /// How long a lockout lasts.
    pub lockout_secs: i64,
    /// Minimum password length.
    pub min_password_len: usize,
    /// argon2id memory cost (KiB), iterations and lanes.
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    pub argon2_lanes: u32,
    /// Hashes run at once (each holds `argon2_memory_kib`); 0 = one per core.
    pub hash_concurrency: usize,
    /// Bot link code lifetime; "extend" adds this again from now.
    pub bot_link_ttl_hours: i64,
    /// Activation link lifetime.
    pub activation_ttl_hours: i64,
    /// Password reset code lifetime and attempts.
    pub reset_code_ttl_minutes: i64,
    pub reset_code_max_attempts: i32,
    /// Wrong reset-code guesses one account may take within
    /// `reset_guess_window_hours`, whatever number of codes is issued.
    pub reset_guess_limit: i32,
    pub reset_guess_window_hours: i64,
    /// Reset codes mailed to one account per hour; past it a request is
    /// answered as usual but sends nothing.
    pub reset_codes_per_hour: i64,
    /// Pool size for this service.
    pub db_max_connections: u32,
    /// `OPEKA_IDENTITY__SECRET_KEY`: base64 of 32 bytes; seals the private
    /// signing keys in `signing_keys` (AES-256-GCM), so a reader of the
    /// table (a backup, a leaked dump) cannot sign tokens. Changing it makes
    /// the stored keys unreadable: identity then refuses to start.
    pub secret_key: opeka_platform::settings::Secret<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            grpc_addr: "127.0.0.1:50051".into(),
            access_token_ttl_secs: 15 * 60,
            refresh_token_ttl_secs: 30 * 24 * 3600,
            lockout_threshold: 5,
            lockout_secs: 15 * 60,
            min_password_len: 8,
            argon2_memory_kib: 19_456,
            argon2_iterations: 2,
            argon2_lanes: 1,
            hash_concurrency: 0,
            bot_link_ttl_hours: 72,
            activation_ttl_hours: 72,
            reset_code_ttl_minutes: 15,
            reset_code_max_attempts: 5,
            reset_guess_limit: 10,
            reset_guess_window_hours: 24,
            reset_codes_per_hour: 3,
            db_max_connections: 10,
            secret_key: opeka_platform::settings::Secret::new(DEVELOPMENT_SECRET_KEY.into()),
        }
    }
}

impl Settings {
    pub fn validate(&self) -> Result<(), opeka_platform::settings::SettingsError> {
        use opeka_platform::settings::{SettingsError, socket_addr};
        socket_addr("OPEKA_IDENTITY__GRPC_ADDR", &self.grpc_addr)?;
        let positive = [
            ("OPEKA_IDENTITY__ACCESS_TOKEN_TTL_SECS", self.access_token_ttl_secs),
            ("OPEKA_IDENTITY__REFRESH_TOKEN_TTL_SECS", self.refresh_token_ttl_secs),
            ("OPEKA_IDENTITY__LOCKOUT_THRESHOLD", self.lockout_threshold as i64),
            ("OPEKA_IDENTITY__BOT_LINK_TTL_HOURS", self.bot_link_ttl_hours),
            ("OPEKA_IDENTITY__ACTIVATION_TTL_HOURS", self.activation_ttl_hours),
            ("OPEKA_IDENTITY__RESET_CODE_TTL_MINUTES", self.reset_code_ttl_minutes),
            ("OPEKA_IDENTITY__RESET_GUESS_LIMIT", self.reset_guess_limit as i64),
            ("OPEKA_IDENTITY__RESET_GUESS_WINDOW_HOURS", self.reset_guess_window_hours),
            ("OPEKA_IDENTITY__RESET_CODES_PER_HOUR", self.reset_codes_per_hour),
        ];
        for (var, v) in positive {
            if v <= 0 {
                return Err(SettingsError(format!("{var}: must be positive")));
            }
        }
        // Other services remember revoked sessions for a bounded time
        // (`opeka_platform::revocation::REPLAY`); no token may outlive it.
        if self.access_token_ttl_secs > opeka_platform::revocation::REPLAY.as_secs() as i64 {
            return Err(SettingsError("OPEKA_IDENTITY__ACCESS_TOKEN_TTL_SECS: must be at most 86400 (a day)".into()));
        }
        if self.min_password_len < 6 {
            return Err(SettingsError("OPEKA_IDENTITY__MIN_PASSWORD_LEN: must be at least 6".into()));
        }
        passwords::Hasher::new(self).map_err(|e| SettingsError(format!("OPEKA_IDENTITY__ARGON2_*: {e}")))?;
        self.secret_box()?;
        Ok(())
    }
}

impl Settings {
    /// The box that seals private signing keys.
    pub fn secret_box(&self) -> Result<opeka_platform::crypto::SecretBox, opeka_platform::settings::SettingsError> {
        opeka_platform::crypto::SecretBox::from_base64(self.secret_key.expose())
            .map_err(|e| opeka_platform::settings::SettingsError(format!("OPEKA_IDENTITY__SECRET_KEY: {e}")))
    }

    /// Production refuses the built-in development key.
    pub fn require_own_keys(
        &self,
        platform: &opeka_platform::settings::PlatformSettings,
    ) -> Result<(), opeka_platform::settings::SettingsError> {
        platform.require_own_key("OPEKA_IDENTITY__SECRET_KEY", &self.secret_key, DEVELOPMENT_SECRET_KEY)?;
        platform.require_own_seal_key()
    }
}

/// Everything a handler needs.
pub struct State {
    /// Pool, outbox and clock: what every call opens.
    pub kit: opeka_platform::call::Kit,
    pub settings: Settings,
    pub keys: tokens::KeyRing,
    pub hasher: passwords::Hasher,
    /// Seals reset codes and activation tokens into events (`OPEKA_BUS__SEAL_KEY`).
    pub seal: opeka_platform::crypto::SecretBox,
    pub throttles: Throttles,
}

/// The per-address throttles of identity's anonymous entry points
/// (`OPEKA_THROTTLE__*`).
pub struct Throttles {
    pub login: Throttle<IpAddr>,
    pub reset_request: Throttle<IpAddr>,
    pub reset_guess: Throttle<IpAddr>,
}

impl Throttles {
    pub fn new(s: &opeka_platform::throttle::ThrottleSettings) -> Self {
        Self {
            login: Throttle::new("identity.login", s.login_per_address),
            reset_request: Throttle::new("identity.reset_request", s.reset_request_per_address),
            reset_guess: Throttle::new("identity.reset_guess", s.reset_guess_per_address),
        }
    }
}

/// identity as `opeka serve`, `migrate` and `nats-config` see it.
pub struct Identity;

impl opeka_platform::service::Service for Identity {
    const NAME: &'static str = SERVICE;
    type Settings = Settings;

    fn schema() -> &'static db::SchemaSpec {
        &SCHEMA
    }

    /// What identity's NATS user may do (`opeka nats-config`): publish its own
    /// events; it consumes cases' citizen events (who curates whom).
    fn bus() -> Option<bus::permissions::ServiceBus> {
        Some(bus::permissions::ServiceBus::new(SERVICE, true, &[opeka_platform::curators::consumer(SERVICE).spec]))
    }

    fn addr(settings: &Settings) -> &str {
        &settings.grpc_addr
    }

    fn preflight(settings: &Settings, platform: &opeka_platform::settings::PlatformSettings) -> anyhow::Result<()> {
        Ok(settings.require_own_keys(platform)?)
    }

    /// Readiness checks and the JWKS document for the process's admin server.
    async fn admin(ctx: &Context, settings: &Settings) -> anyhow::Result<admin::Admin> {
        let pool =
            db::connect(ctx.settings.database_url_for(SERVICE)?.expose(), SERVICE, 2.min(settings.db_max_connections))
                .await?;
        let jwks_pool = pool.clone();
        let secrets = Arc::new(settings.secret_box()?);
        let router = axum::Router::new().route(
            "/.well-known/jwks.json",
            axum::routing::get(move || {
                let (pool, secrets) = (jwks_pool.clone(), secrets.clone());
                async move {
                    match tokens::KeyRing::load_or_create(&pool, &secrets).await {
                        Ok(k) => axum::Json(k.jwks_json()).into_response_ok(),
                        Err(_) => axum::http::StatusCode::SERVICE_UNAVAILABLE.into_response_ok(),
                    }
                }
            }),
        );
        Ok(admin::Admin::new().check("identity-db", admin::db_check(pool)).merge(router))
    }

    fn run(ctx: Context, settings: Settings, listener: TcpListener) -> impl Future<Output = anyhow::Result<()>> + Send {
        run(ctx, settings, listener)
    }
}

/// Serves identity on `listener` until `ctx.shutdown` is cancelled; runs the
/// outbox relay and the curator projection's consumer alongside.
pub async fn run(ctx: Context, settings: Settings, listener: TcpListener) -> anyhow::Result<()> {
    settings.require_own_keys(&ctx.settings)?;
    let parts = Parts::open(&ctx, SERVICE, settings.db_max_connections).await?;
    let secrets = Arc::new(settings.secret_box()?);
    let keys = tokens::KeyRing::load_or_create(&parts.pool, &secrets).await?;
    let state = Arc::new(State {
        hasher: passwords::Hasher::new(&settings)?,
        kit: parts.kit.clone(),
        settings,
        keys,
        seal: ctx.settings.bus.seal_box()?,
        throttles: Throttles::new(&ctx.settings.throttle),
    });
    // Its own keys; refuses revoked sessions too, as every service does.
    let verifier = parts.verifier(&ctx, Some(state.keys.local_source()));
    // Who curates whom (cases' citizen events): scopes curators to their own
    // citizens' accounts and bot link codes (`domain::citizen_scope`).
    parts.consume(opeka_platform::curators::consumer(SERVICE));
    let routes = tonic::service::Routes::new(
        opeka_proto::identity::identity_service_server::IdentityServiceServer::new(api::Api::new(state.clone())),
    );
    parts.serve(&ctx, listener, routes, &[GRPC_NAME], verifier).await
}

trait IntoResponseOk {
    fn into_response_ok(self) -> axum::response::Response;
}
impl<T: axum::response::IntoResponse> IntoResponseOk for T {
    fn into_response_ok(self) -> axum::response::Response {
        self.into_response()
    }
}
