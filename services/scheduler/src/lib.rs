//! Scheduler service (`opeka.scheduler.v1`): reminder series and their
//! occurrences («Программа поддержки»), capacity-aware dispatch to the bot,
//! the citizen's answers, calendars and deviations, and the detectors that
//! feed the curator's work queue.
#![forbid(unsafe_code)]

pub mod api;
pub mod cases;
pub mod convert;
pub mod domain;
pub mod events;
pub mod jobs;
pub mod plan;
pub mod store;
pub mod strings;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use opeka_platform::service::Parts;
use opeka_platform::supervise::Need;
use opeka_platform::{Context, bus, db};
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;

pub const SERVICE: &str = "scheduler";
pub const GRPC_NAME: &str = "opeka.scheduler.v1.SchedulerService";

pub static SCHEMA: db::SchemaSpec =
    db::SchemaSpec { schema: SERVICE, migrator: &MIGRATOR, append_only: &["audit_log"] };
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The scheduler's settings (`OPEKA_SCHEDULER__<FIELD>`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// gRPC listen address (`127.0.0.1:50055`).
    pub grpc_addr: String,
    /// Pool size for this service (10).
    pub db_max_connections: u32,
    /// The time zone of a tenant that has not chosen one (`Europe/Moscow`).
    pub default_time_zone: String,
    /// Where the cases service answers (`http://127.0.0.1:50052`): asked for a
    /// citizen card the scheduler has not heard of yet.
    pub cases_url: String,
    /// Occurrences exist this many days ahead (42); a job extends the horizon.
    pub horizon_days: u32,
    /// Series extended per transaction by the horizon job (500).
    pub horizon_batch: u32,
    /// How often the dispatcher looks for due reminders, in ms (1000).
    pub dispatch_interval_ms: u64,
    /// Occurrences claimed per transaction (1000).
    pub dispatch_batch: u32,
    /// Transactions claiming batches at once, each on its own connection (4):
    /// a morning burst is released in parallel, and the relay starts
    /// publishing the first batch while the others are still being claimed.
    pub dispatch_workers: u32,
    /// Occurrences overdue by more than this many minutes after downtime are
    /// marked missed instead of sent (60).
    pub catch_up_minutes: u32,
    /// How often sent-and-unanswered reminders past their grace period turn
    /// «no reaction», in seconds (60).
    pub sweep_interval_secs: u64,
    /// Cron (with seconds) of the horizon extension (`0 7 * * * *`: hourly).
    pub horizon_cron: String,
    /// Cron (with seconds) of the detectors (`0 */10 * * * *`: every 10 minutes).
    pub detector_cron: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            grpc_addr: "127.0.0.1:50055".into(),
            db_max_connections: 10,
            default_time_zone: "Europe/Moscow".into(),
            cases_url: "http://127.0.0.1:50052".into(),
            horizon_days: 42,
            horizon_batch: 500,
            dispatch_interval_ms: 1000,
            dispatch_batch: 1000,
            dispatch_workers: 4,
            catch_up_minutes: 60,
            sweep_interval_secs: 60,
            horizon_cron: "0 7 * * * *".into(),
            detector_cron: "0 */10 * * * *".into(),
        }
    }
}

impl Settings {
    pub fn validate(&self) -> Result<(), opeka_platform::settings::SettingsError> {
        use opeka_platform::settings::{SettingsError, socket_addr};
        let bad = |var: &str, msg: &str| Err(SettingsError(format!("OPEKA_SCHEDULER__{var}: {msg}")));
        socket_addr("OPEKA_SCHEDULER__GRPC_ADDR", &self.grpc_addr)?;
        if self.db_max_connections == 0 {
            return bad("DB_MAX_CONNECTIONS", "must be at least 1");
        }
        self.time_zone()?;
        if !self.cases_url.starts_with("http://") && !self.cases_url.starts_with("https://") {
            return bad("CASES_URL", "must be an http:// or https:// URL");
        }
        if !(1..=366).contains(&self.horizon_days) {
            return bad("HORIZON_DAYS", "must be 1…366");
        }
        if self.horizon_batch == 0 {
            return bad("HORIZON_BATCH", "must be at least 1");
        }
        if !(10..=60_000).contains(&self.dispatch_interval_ms) {
            return bad("DISPATCH_INTERVAL_MS", "must be 10…60000");
        }
        if !(1..=50_000).contains(&self.dispatch_batch) {
            return bad("DISPATCH_BATCH", "must be 1…50000");
        }
        if !(1..=32).contains(&self.dispatch_workers) || self.dispatch_workers >= self.db_max_connections {
            return bad("DISPATCH_WORKERS", "must be 1…32 and less than DB_MAX_CONNECTIONS");
        }
        if !(1..=10_080).contains(&self.catch_up_minutes) {
            return bad("CATCH_UP_MINUTES", "must be 1…10080");
        }
        if !(1..=3600).contains(&self.sweep_interval_secs) {
            return bad("SWEEP_INTERVAL_SECS", "must be 1…3600");
        }
        if !jobs::cron_is_valid(&self.horizon_cron) {
            return bad("HORIZON_CRON", "must be a cron expression with seconds, e.g. `0 7 * * * *`");
        }
        if !jobs::cron_is_valid(&self.detector_cron) {
            return bad("DETECTOR_CRON", "must be a cron expression with seconds, e.g. `0 */10 * * * *`");
        }
        Ok(())
    }

    pub fn time_zone(&self) -> Result<chrono_tz::Tz, opeka_platform::settings::SettingsError> {
        self.default_time_zone.parse().map_err(|_| {
            opeka_platform::settings::SettingsError(format!(
                "OPEKA_SCHEDULER__DEFAULT_TIME_ZONE: '{}' is not an IANA time zone such as Europe/Moscow",
                self.default_time_zone
            ))
        })
    }
}

/// Everything a handler needs.
pub struct State {
    /// Pool, outbox and clock: what every call opens.
    pub kit: opeka_platform::call::Kit,
    pub settings: Settings,
    pub default_tz: chrono_tz::Tz,
    pub cases: cases::Cases,
    /// Tenants already written to `tenants` by this process.
    pub known_tenants: Mutex<HashSet<uuid::Uuid>>,
}

/// scheduler as `opeka serve`, `migrate` and `nats-config` see it.
pub struct Scheduler;

impl opeka_platform::service::Service for Scheduler {
    const NAME: &'static str = SERVICE;
    type Settings = Settings;

    fn schema() -> &'static db::SchemaSpec {
        &SCHEMA
    }

    /// What the scheduler's NATS user may do (`opeka nats-config`): publish its own
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

/// Serves the scheduler on `listener` until `ctx.shutdown` is cancelled;
/// runs the outbox relay, the event consumers, the dispatcher, the grace
/// sweep and the cron jobs (horizon, detectors) alongside. Every replica
/// runs all of them: claims use `FOR UPDATE SKIP LOCKED` and episodes a
/// unique index, so nothing happens twice.
pub async fn run(ctx: Context, settings: Settings, listener: TcpListener) -> anyhow::Result<()> {
    settings.validate()?;
    let default_tz = settings.time_zone()?;
    let parts = Parts::open(&ctx, SERVICE, settings.db_max_connections).await?;
    let cases = cases::Cases::new(opeka_platform::grpc::channel(&settings.cases_url).await?);
    let engine = Arc::new(jobs::Engine::new(parts.pool.clone(), (*parts.kit.outbox).clone(), settings.clone())?);
    let state = Arc::new(State {
        kit: parts.kit.clone(),
        default_tz,
        settings: settings.clone(),
        cases,
        known_tenants: Mutex::new(HashSet::new()),
    });
    let verifier = parts.verifier(&ctx, None);
    let deps = events::Consumers { clock: ctx.clock.clone() };
    for consumer in events::consumers(&deps) {
        parts.consume(consumer);
    }
    {
        let (engine, clock, cancel) = (engine.clone(), ctx.clock.clone(), ctx.shutdown.clone());
        parts.background.spawn("scheduler.dispatch", Need::Required, move || {
            jobs::dispatch_loop(engine.clone(), clock.clone(), cancel.clone())
        });
    }
    {
        let (engine, clock, cancel) = (engine.clone(), ctx.clock.clone(), ctx.shutdown.clone());
        parts.background.spawn("scheduler.sweep", Need::Required, move || {
            jobs::sweep_loop(engine.clone(), clock.clone(), cancel.clone())
        });
    }
    {
        let (engine, clock, cancel) = (engine.clone(), ctx.clock.clone(), ctx.shutdown.clone());
        parts
            .background
            .spawn("scheduler.cron", Need::Required, move || jobs::cron(engine.clone(), clock.clone(), cancel.clone()));
    }

    let routes = tonic::service::Routes::new(
        opeka_proto::scheduler::scheduler_service_server::SchedulerServiceServer::new(api::Api::new(state.clone())),
    );
    parts.serve(&ctx, listener, routes, &[GRPC_NAME], verifier).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_values_name_the_variable() {
        Settings::default().validate().unwrap();
        let bad = Settings { default_time_zone: "Moscow".into(), ..Default::default() };
        assert!(bad.validate().unwrap_err().0.contains("OPEKA_SCHEDULER__DEFAULT_TIME_ZONE"));
        let bad = Settings { grpc_addr: "nowhere".into(), ..Default::default() };
        assert!(bad.validate().unwrap_err().0.contains("OPEKA_SCHEDULER__GRPC_ADDR"));
        let bad = Settings { detector_cron: "every now and then".into(), ..Default::default() };
        assert!(bad.validate().unwrap_err().0.contains("OPEKA_SCHEDULER__DETECTOR_CRON"));
        let bad = Settings { horizon_days: 0, ..Default::default() };
        assert!(bad.validate().unwrap_err().0.contains("OPEKA_SCHEDULER__HORIZON_DAYS"));
    }
}
