//! The scheduler's background work, run by every replica: the dispatcher
//! and the grace sweep on short intervals, the horizon extension and the
//! detectors as tokio-cron-scheduler jobs (registered in memory at start;
//! their state lives in our tables). Each pass is a plain method of `Engine`
//! taking "now", so tests call it with a manual clock instead of waiting.
mod detectors;
mod dispatch;
mod horizon;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use opeka_platform::bus::Outbox;
use opeka_platform::clock::SharedClock;
use sqlx::{PgConnection, PgPool};
use tokio_cron_scheduler::{Job, JobScheduler};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub use detectors::DetectorReport;
pub use dispatch::DispatchReport;

use crate::domain::TenantSettings;
use crate::{Settings, convert, store};

/// What the background passes share.
pub struct Engine {
    pool: PgPool,
    outbox: Outbox,
    settings: Settings,
    default_tz: Tz,
    /// A slow pass is not started again on top of itself.
    horizon_running: tokio::sync::Mutex<()>,
    detectors_running: tokio::sync::Mutex<()>,
}

impl Engine {
    /// `outbox` is the service's (`Kit::outbox`), so that what the passes
    /// commit wakes this process's relay at once.
    pub fn new(pool: PgPool, outbox: Outbox, settings: Settings) -> anyhow::Result<Self> {
        let default_tz = settings.time_zone()?;
        Ok(Self {
            pool,
            outbox,
            settings,
            default_tz,
            horizon_running: tokio::sync::Mutex::new(()),
            detectors_running: tokio::sync::Mutex::new(()),
        })
    }

    async fn tenant_settings(&self, conn: &mut PgConnection) -> Result<TenantSettings, sqlx::Error> {
        let row = store::tenant_settings(conn).await?;
        Ok(convert::tenant_settings(row.as_ref(), self.default_tz))
    }

    fn envelope(&self, tenant: Uuid, now: DateTime<Utc>, body: opeka_proto::events::envelope::Body) -> Envelope {
        opeka_platform::bus::envelope(tenant, "system", now, body)
    }
}

type Envelope = opeka_proto::events::Envelope;

/// Whether a cron expression (with seconds) parses.
pub fn cron_is_valid(expr: &str) -> bool {
    Job::new_async(expr, |_, _| Box::pin(async {})).is_ok()
}

/// Dispatches every `dispatch_interval_ms` until shutdown.
pub async fn dispatch_loop(engine: Arc<Engine>, clock: SharedClock, cancel: CancellationToken) {
    let every = Duration::from_millis(engine.settings.dispatch_interval_ms);
    loop {
        if let Err(e) = engine.dispatch(clock.now()).await {
            tracing::warn!(error = %e, "dispatcher pass failed; retrying next tick");
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
    }
}

/// Turns unanswered reminders yellow every `sweep_interval_secs`.
pub async fn sweep_loop(engine: Arc<Engine>, clock: SharedClock, cancel: CancellationToken) {
    let every = Duration::from_secs(engine.settings.sweep_interval_secs);
    loop {
        if let Err(e) = engine.sweep(clock.now()).await {
            tracing::warn!(error = %e, "grace sweep failed; retrying");
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
    }
}

/// Extends the horizon once at start, then runs the cron jobs until shutdown.
pub async fn cron(engine: Arc<Engine>, clock: SharedClock, cancel: CancellationToken) {
    if let Err(e) = engine.extend_horizon(clock.now()).await {
        tracing::warn!(error = %e, "horizon extension at start-up failed; the cron job will retry");
    }
    let mut sched = match start_cron(&engine, &clock).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cron jobs could not start; horizon and detectors will not run");
            cancel.cancelled().await;
            return;
        }
    };
    cancel.cancelled().await;
    if let Err(e) = sched.shutdown().await {
        tracing::warn!(error = %e, "cron scheduler did not shut down cleanly");
    }
}

async fn start_cron(engine: &Arc<Engine>, clock: &SharedClock) -> anyhow::Result<JobScheduler> {
    let sched = JobScheduler::new().await?;
    let (e, c) = (engine.clone(), clock.clone());
    sched
        .add(Job::new_async(engine.settings.horizon_cron.as_str(), move |_, _| {
            let (e, c) = (e.clone(), c.clone());
            Box::pin(async move {
                if let Err(err) = e.extend_horizon(c.now()).await {
                    tracing::warn!(error = %err, "horizon extension failed");
                }
            })
        })?)
        .await?;
    let (e, c) = (engine.clone(), clock.clone());
    sched
        .add(Job::new_async(engine.settings.detector_cron.as_str(), move |_, _| {
            let (e, c) = (e.clone(), c.clone());
            Box::pin(async move {
                if let Err(err) = e.run_detectors(c.now()).await {
                    tracing::warn!(error = %err, "detector pass failed");
                }
            })
        })?)
        .await?;
    sched.start().await?;
    Ok(sched)
}
