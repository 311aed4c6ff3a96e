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

use std::sync::Arc;

use opeka_platform::{Context, admin, auth::Verifier, bus, db};
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;

pub const SERVICE: &str = "identity";
pub const GRPC_NAME: &str = "opeka.identity.v1.IdentityService";

pub static SCHEMA: db::SchemaSpec =
    db::SchemaSpec { schema: SERVICE, migrator: &MIGRATOR, append_only: &["audit_log"] };
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

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
    /// Bot link code lifetime; "extend" adds this again from now.
    pub bot_link_ttl_hours: i64,
    /// Activation link lifetime.
    pub activation_ttl_hours: i64,
    /// Password reset code lifetime and attempts.
    pub reset_code_ttl_minutes: i64,
    pub reset_code_max_attempts: i32,
    /// Pool size for this service.
    pub db_max_connections: u32,
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
            bot_link_ttl_hours: 72,
            activation_ttl_hours: 72,
            reset_code_ttl_minutes: 15,
            reset_code_max_attempts: 5,
            db_max_connections: 10,
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
        ];
        for (var, v) in positive {
            if v <= 0 {
                return Err(SettingsError(format!("{var}: must be positive")));
            }
        }
        if self.min_password_len < 6 {
            return Err(SettingsError("OPEKA_IDENTITY__MIN_PASSWORD_LEN: must be at least 6".into()));
        }
        passwords::Hasher::new(self).map_err(|e| SettingsError(format!("OPEKA_IDENTITY__ARGON2_*: {e}")))?;
        Ok(())
    }
}

/// Everything a handler needs.
pub struct State {
    pub pool: sqlx::PgPool,
    pub settings: Settings,
    pub keys: tokens::KeyRing,
    pub hasher: passwords::Hasher,
    pub outbox: bus::Outbox,
    pub clock: opeka_platform::clock::SharedClock,
}

/// Serves identity on `listener` until `ctx.shutdown` is cancelled; runs the
/// outbox relay alongside.
pub async fn run(ctx: Context, settings: Settings, listener: TcpListener) -> anyhow::Result<()> {
    let pool = db::connect(ctx.settings.database_url.expose(), SERVICE, settings.db_max_connections).await?;
    let bus = bus::Bus::connect(&ctx.settings.nats_url, ctx.settings.bus.clone()).await?;
    let keys = tokens::KeyRing::load_or_create(&pool).await?;
    let state = Arc::new(State {
        hasher: passwords::Hasher::new(&settings)?,
        outbox: bus::Outbox::new(ctx.settings.bus.root.clone(), SERVICE),
        pool: pool.clone(),
        settings,
        keys,
        clock: ctx.clock.clone(),
    });
    let verifier = Arc::new(Verifier::new(state.keys.local_source()));
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "identity gRPC listening");

    let background = ctx.tasks.group(&ctx.shutdown);
    bus::spawn_relay(&background, pool.clone(), bus.clone(), SERVICE, ctx.shutdown.clone());
    let routes = tonic::service::Routes::new(
        opeka_proto::identity::identity_service_server::IdentityServiceServer::new(api::Api::new(state.clone())),
    );
    let served = opeka_platform::grpc::serve(listener, routes, &[GRPC_NAME], verifier, ctx.shutdown.clone()).await;
    ctx.shutdown.cancel();
    background.join().await;
    served
}

/// Readiness checks and the JWKS document for the process's admin server.
pub async fn admin_parts(ctx: &Context, settings: &Settings) -> anyhow::Result<admin::Admin> {
    let pool = db::connect(ctx.settings.database_url.expose(), SERVICE, 2.min(settings.db_max_connections)).await?;
    let jwks_pool = pool.clone();
    let router = axum::Router::new().route(
        "/.well-known/jwks.json",
        axum::routing::get(move || {
            let pool = jwks_pool.clone();
            async move {
                match tokens::KeyRing::load_or_create(&pool).await {
                    Ok(k) => axum::Json(k.jwks_json()).into_response_ok(),
                    Err(_) => axum::http::StatusCode::SERVICE_UNAVAILABLE.into_response_ok(),
                }
            }
        }),
    );
    Ok(admin::Admin::new().check("identity-db", admin::db_check(pool)).merge(router))
}

trait IntoResponseOk {
    fn into_response_ok(self) -> axum::response::Response;
}
impl<T: axum::response::IntoResponse> IntoResponseOk for T {
    fn into_response_ok(self) -> axum::response::Response {
        self.into_response()
    }
}
