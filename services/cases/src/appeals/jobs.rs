//! The postponement job (S1-11, S1-39): a postponed card whose date has come
//! (in the tenant's time zone) goes back «В работе» as the system's
//! «Вернуть в работу по сроку», leaving a work-queue item for its executor.
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use opeka_platform::bus::Outbox;
use opeka_platform::db;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use super::convert::Step;
use super::service::{self, Lookups, When, Who};
use super::store;
use crate::State;
use crate::appeals::domain::Action;
use crate::kit::period::local_today;

/// How often the job looks for due cards.
pub const EVERY: Duration = Duration::from_secs(60);

/// Resumes every postponed card due at `now`, each in its own transaction;
/// returns how many went back to work. A card someone resumed meanwhile is skipped.
pub async fn resume_due(pool: &PgPool, outbox: &Outbox, default_tz: Tz, now: DateTime<Utc>) -> anyhow::Result<usize> {
    let mut resumed = 0;
    for (tenant, slug) in store::tenants(pool).await? {
        let mut tx = db::tenant_tx(pool, tenant).await?;
        let today = local_today(now, crate::kit::time_zone(&mut tx, default_tz).await?);
        let due = store::due_postponed(&mut tx, tenant, today).await?;
        tx.commit().await?;
        let who = Who::system(tenant, slug);
        for id in due {
            let mut tx = db::tenant_tx(pool, tenant).await?;
            let step = Step { action: Action::Resume, field: "resume", answer: String::new(), attachments: Vec::new() };
            match service::act(&mut tx, outbox, &who, id, step, &Lookups::default(), When { now, today }).await {
                Ok(_) => {
                    outbox.commit(tx).await?;
                    resumed += 1;
                    tracing::info!(tenant_id = %tenant, appeal_id = %id, "postponed appeal back in work");
                }
                Err(e) => {
                    tracing::info!(tenant_id = %tenant, appeal_id = %id, error = %e, "postponed appeal not resumed")
                }
            }
        }
    }
    Ok(resumed)
}

/// Runs `resume_due` every `every` until `cancel`, with the service's clock.
pub async fn run_resume_job(st: Arc<State>, every: Duration, cancel: CancellationToken) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tick.tick() => {
                if let Err(e) = resume_due(&st.kit.pool, &st.kit.outbox, st.default_tz, st.kit.now()).await {
                    tracing::warn!(error = %e, "postponed appeals job failed");
                }
            }
        }
    }
}
