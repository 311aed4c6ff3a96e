//! Cases service (`opeka.cases.v1`): three areas on one port, each with the
//! same files (`api`, `convert`, `domain/`, `store`, `strings`) — `registry`
//! (patronage citizens: cards, groups, diary, interactions, the curator work
//! queue, terminology, audit), `appeals` (citizen appeals and their workflow)
//! and `legal_aid` (consultations, referrals, online questions) — with `kit`
//! for what they share and `events` for what the crate publishes and consumes.
#![forbid(unsafe_code)]

pub mod appeals;
pub mod demo;
pub mod events;
pub mod kit;
pub mod legal_aid;
pub mod registry;

use std::future::Future;
use std::sync::Arc;

use opeka_platform::service::Parts;
use opeka_platform::supervise::Need;
use opeka_platform::{Context, bus, db};
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;

pub const SERVICE: &str = "cases";
pub const GRPC_NAME: &str = registry::GRPC_NAME;
/// Every gRPC service this process serves (health and reflection name them all).
pub const GRPC_NAMES: &[&str] = &[GRPC_NAME, "opeka.cases.v1.AppealsService", legal_aid::GRPC_NAME];

pub static SCHEMA: db::SchemaSpec =
    db::SchemaSpec { schema: SERVICE, migrator: &MIGRATOR, append_only: &["audit_log"] };
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Cases' settings (`OPEKA_CASES__<FIELD>`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// gRPC listen address (`127.0.0.1:50052`).
    pub grpc_addr: String,
    /// Pool size for this service (10).
    pub db_max_connections: u32,
    /// The time zone of a tenant that has not chosen one (`Europe/Moscow`):
    /// «today», «yesterday» and «this week» of the work queue are its days.
    pub default_time_zone: String,
    /// Most citizens one transfer may move (1000).
    pub max_transfer: usize,
    /// `OPEKA_CASES__FILES_URL`: the files service's gRPC address; an appeal's
    /// attachments are checked there (`http://127.0.0.1:50053`).
    pub files_url: String,
    /// `OPEKA_CASES__JOURNAL_COUNT_CAP`: the journal counts matching cards
    /// exactly up to this many and says «более N» beyond (1000).
    pub journal_count_cap: i64,
    /// `OPEKA_CASES__CACHE_SECONDS`: how long reference nodes, tenant
    /// settings and the names identity gave are reused before being read
    /// again (30). Changes made through this replica are seen at once.
    pub cache_seconds: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            grpc_addr: "127.0.0.1:50052".into(),
            db_max_connections: 10,
            default_time_zone: "Europe/Moscow".into(),
            max_transfer: 1000,
            files_url: "http://127.0.0.1:50053".into(),
            journal_count_cap: 1_000,
            cache_seconds: 30,
        }
    }
}

impl Settings {
    pub fn validate(&self) -> Result<(), opeka_platform::settings::SettingsError> {
        use opeka_platform::settings::{SettingsError, socket_addr};
        socket_addr("OPEKA_CASES__GRPC_ADDR", &self.grpc_addr)?;
        if self.db_max_connections == 0 {
            return Err(SettingsError("OPEKA_CASES__DB_MAX_CONNECTIONS: must be at least 1".into()));
        }
        self.time_zone()?;
        if self.max_transfer == 0 {
            return Err(SettingsError("OPEKA_CASES__MAX_TRANSFER: must be at least 1".into()));
        }
        if !(self.files_url.starts_with("http://") || self.files_url.starts_with("https://"))
            || tonic::transport::Endpoint::from_shared(self.files_url.clone()).is_err()
        {
            return Err(SettingsError(
                "OPEKA_CASES__FILES_URL: must be an http:// or https:// URL, e.g. http://127.0.0.1:50053".into(),
            ));
        }
        if self.journal_count_cap < 1 {
            return Err(SettingsError("OPEKA_CASES__JOURNAL_COUNT_CAP: must be at least 1".into()));
        }
        Ok(())
    }

    pub fn cache_for(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.cache_seconds)
    }

    pub fn time_zone(&self) -> Result<chrono_tz::Tz, opeka_platform::settings::SettingsError> {
        self.default_time_zone.parse().map_err(|_| {
            opeka_platform::settings::SettingsError(format!(
                "OPEKA_CASES__DEFAULT_TIME_ZONE: '{}' is not an IANA time zone such as Europe/Moscow",
                self.default_time_zone
            ))
        })
    }
}

/// Everything a handler needs.
pub struct State {
    /// Pool, outbox and clock every call is opened with.
    pub kit: opeka_platform::call::Kit,
    pub settings: Settings,
    pub default_tz: chrono_tz::Tz,
    pub identity: kit::identity::Identity,
    /// Time zones, reference nodes and tenants kept for a short time.
    pub caches: kit::cache::Caches,
    /// Where appeals' attachments are checked.
    pub files: appeals::files::Files,
    /// The public «Задать вопрос» per client address
    /// (`OPEKA_THROTTLE__ASK_QUESTION_PER_ADDRESS`).
    pub ask_throttle: opeka_platform::throttle::Throttle<std::net::IpAddr>,
}

/// cases as `opeka serve`, `migrate` and `nats-config` see it.
pub struct Cases;

impl opeka_platform::service::Service for Cases {
    const NAME: &'static str = SERVICE;
    type Settings = Settings;

    fn schema() -> &'static db::SchemaSpec {
        &SCHEMA
    }

    /// What cases's NATS user may do (`opeka nats-config`): publish its own
    /// events and read the streams of the consumers it runs.
    fn bus() -> Option<bus::permissions::ServiceBus> {
        Some(bus::permissions::ServiceBus::new(SERVICE, true, &events::consumer_specs()))
    }

    fn addr(settings: &Settings) -> &str {
        &settings.grpc_addr
    }

    fn run(ctx: Context, settings: Settings, listener: TcpListener) -> impl Future<Output = anyhow::Result<()>> + Send {
        run(ctx, settings, listener)
    }
}

/// Serves cases on `listener` until `ctx.shutdown` is cancelled; runs the
/// outbox relay and the event consumers alongside. The first task to end
/// stops the rest.
pub async fn run(ctx: Context, settings: Settings, listener: TcpListener) -> anyhow::Result<()> {
    settings.validate()?;
    let parts = Parts::open(&ctx, SERVICE, settings.db_max_connections).await?;
    let identity = kit::identity::Identity::new(
        opeka_platform::grpc::channel(&ctx.settings.identity_url).await?,
        settings.cache_for(),
    );
    let files = appeals::files::Files::new(opeka_platform::grpc::channel(&settings.files_url).await?);
    let state = Arc::new(State {
        kit: parts.kit.clone(),
        default_tz: settings.time_zone()?,
        caches: kit::cache::Caches::new(settings.cache_for()),
        settings,
        identity,
        files,
        ask_throttle: opeka_platform::throttle::Throttle::new(
            "cases.ask_question",
            ctx.settings.throttle.ask_question_per_address,
        ),
    });
    let verifier = parts.verifier(&ctx, None);
    {
        let (state, cancel) = (state.clone(), ctx.shutdown.clone());
        parts.background.spawn("cases.appeals-resume", Need::Required, move || {
            appeals::run_resume_job(state.clone(), appeals::jobs::EVERY, cancel.clone())
        });
    }
    let deps = events::Consumers { outbox: (*parts.kit.outbox).clone(), clock: ctx.clock.clone() };
    for consumer in events::consumers(&deps) {
        parts.consume(consumer);
    }

    let routes = tonic::service::Routes::new(opeka_proto::cases::cases_service_server::CasesServiceServer::new(
        registry::api::Api::new(state.clone()),
    ));
    let routes = routes.add_service(opeka_proto::cases::appeals_service_server::AppealsServiceServer::new(
        appeals::AppealsApi::new(state.clone()),
    ));
    let routes = routes.add_service(opeka_proto::cases::legal_aid_service_server::LegalAidServiceServer::new(
        legal_aid::api::Api::new(state.clone()),
    ));
    parts.serve(&ctx, listener, routes, GRPC_NAMES, verifier).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_values_name_the_variable() {
        Settings::default().validate().unwrap();
        let bad = Settings { default_time_zone: "Moscow".into(), ..Default::default() };
        assert!(bad.validate().unwrap_err().0.contains("OPEKA_CASES__DEFAULT_TIME_ZONE"));
        let bad = Settings { grpc_addr: "nowhere".into(), ..Default::default() };
        assert!(bad.validate().unwrap_err().0.contains("OPEKA_CASES__GRPC_ADDR"));
        let bad = Settings { files_url: "127.0.0.1:50053".into(), ..Default::default() };
        assert!(bad.validate().unwrap_err().0.contains("OPEKA_CASES__FILES_URL"));
    }
}
