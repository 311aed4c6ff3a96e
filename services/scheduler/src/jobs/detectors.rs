//! The detector pass (S0-90…S0-93): per tenant, with the tenant's
//! thresholds, open an episode (and announce it with `detector_raised`)
//! for each citizen whose condition holds and who has no open one; close
//! episodes whose condition ended. Safe on every replica: the unique open
//! episode decides who announces.
use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use super::Engine;
use crate::domain::detectors::{self, DayAnswers, Detector};
use crate::domain::{TenantSettings, local_today};
use crate::store::{self, detectors as q};
use crate::{events, strings as s};

/// One tenant's pass: whose, with which thresholds, at what moment.
struct Pass<'a> {
    tenant: Uuid,
    slug: &'a str,
    settings: &'a TenantSettings,
    now: DateTime<Utc>,
}

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DetectorReport {
    pub raised: u64,
    pub closed: u64,
}

impl Engine {
    /// One detector pass over every tenant at `now`.
    pub async fn run_detectors(&self, now: DateTime<Utc>) -> anyhow::Result<DetectorReport> {
        let Ok(_running) = self.detectors_running.try_lock() else { return Ok(DetectorReport::default()) };
        let mut report = DetectorReport::default();
        for (tenant, slug) in store::tenants(&self.pool).await? {
            match self.detect_tenant(tenant, &slug, now).await {
                Ok(r) => {
                    report.raised += r.raised;
                    report.closed += r.closed;
                }
                Err(e) => tracing::warn!(tenant_id = %tenant, error = %e, "detector pass failed for a tenant"),
            }
        }
        Ok(report)
    }

    async fn detect_tenant(&self, tenant: Uuid, slug: &str, now: DateTime<Utc>) -> anyhow::Result<DetectorReport> {
        let mut tx = opeka_platform::db::tenant_tx(&self.pool, tenant).await?;
        let settings = self.tenant_settings(&mut tx).await?;
        let mut report = DetectorReport { closed: q::close_answered(&mut tx, tenant, now).await?, raised: 0 };
        let today = local_today(now, settings.time_zone);
        let pass = Pass { tenant, slug, settings: &settings, now };

        // «пропуск»: day after day «Пропущено» and nothing «Выполнено».
        let n = settings.skipped_days;
        let from = today - Duration::days(i64::from(n));
        let mut by_citizen: HashMap<Uuid, BTreeMap<_, DayAnswers>> = HashMap::new();
        for (citizen, day, skipped, done) in q::answers_by_day(&mut tx, tenant, from, today).await? {
            let a = DayAnswers { skipped: skipped as u32, done: done as u32 };
            by_citizen.entry(citizen).or_default().insert(day, a);
        }
        for (citizen, days) in by_citizen {
            if detectors::skipped_streak(&days, today, n) {
                report.raised += self.raise(&mut tx, &pass, citizen, Detector::SkippedDays).await?;
            }
        }

        // «неактивный»: nothing pressed since the oldest unanswered reminder.
        let cutoff = now - Duration::days(i64::from(settings.silent_days));
        for (citizen, oldest) in q::silent_since(&mut tx, tenant, cutoff).await? {
            if detectors::silent(Some(oldest), now, settings.silent_days) {
                report.raised += self.raise(&mut tx, &pass, citizen, Detector::SilentDays).await?;
            }
        }

        // «без назначений» (S0-93: the tenant may switch it off).
        if settings.no_assignments_enabled {
            let n = Duration::days(i64::from(settings.no_assignments_days));
            let ending = q::assignments_ending(&mut tx, tenant, today - n, today + n).await?;
            let mut holding = HashSet::new();
            for (citizen, last) in ending {
                if detectors::no_assignments(Some(last), false, today, settings.no_assignments_days) {
                    holding.insert(citizen);
                    report.raised += self.raise(&mut tx, &pass, citizen, Detector::NoAssignments).await?;
                }
            }
            let ended: Vec<Uuid> = q::open_episodes(&mut tx, tenant, Detector::NoAssignments.as_str())
                .await?
                .into_iter()
                .filter(|(_, citizen)| !holding.contains(citizen))
                .map(|(id, _)| id)
                .collect();
            report.closed += q::close_episodes(&mut tx, &ended, now).await?;
        }
        tx.commit().await?;
        if report.raised > 0 {
            self.outbox.wake();
        }
        if report.raised > 0 || report.closed > 0 {
            tracing::info!(tenant_id = %tenant, raised = report.raised, closed = report.closed, "detector pass");
        }
        Ok(report)
    }

    /// Opens the episode and announces it, unless one is open already.
    async fn raise(&self, tx: &mut PgConnection, p: &Pass<'_>, citizen: Uuid, d: Detector) -> anyhow::Result<u64> {
        let (tenant, slug, settings, now) = (p.tenant, p.slug, p.settings, p.now);
        let (days, summary) = match d {
            Detector::SkippedDays => (settings.skipped_days, s::skipped_summary(settings.skipped_days)),
            Detector::SilentDays => (settings.silent_days, s::silent_summary(settings.silent_days)),
            Detector::NoAssignments => {
                (settings.no_assignments_days, s::no_assignments_summary(settings.no_assignments_days))
            }
        };
        let Some(episode) = q::open_episode(tx, tenant, citizen, d.as_str(), days as i32, now).await? else {
            return Ok(0);
        };
        let curator = store::citizen(tx, tenant, citizen).await?.and_then(|c| c.curator_id);
        let body = events::detector_raised(episode, citizen, curator, d.as_str(), summary, days);
        self.outbox.enqueue(tx, slug, &self.envelope(tenant, now, body)).await?;
        tracing::info!(citizen_id = %citizen, detector = d.as_str(), %episode, "detector raised");
        Ok(1)
    }
}
