//! The dispatcher (DESIGN.md §8 "Claiming work"): per tenant, overdue
//! occurrences beyond the catch-up window become missed, curator notes that
//! came due are notified, and citizen-facing reminders are released to the
//! bot as late as possible but in time (domain::dispatch), claimed with
//! `FOR UPDATE SKIP LOCKED` and marked sent in the transaction that writes
//! their `reminder_due` to the outbox — so several replicas never send one
//! occurrence twice, and a broker outage only delays. A burst is claimed by
//! `dispatch_workers` transactions at once.
use chrono::{DateTime, Duration, Utc};
use futures::{StreamExt as _, TryStreamExt as _};
use uuid::Uuid;

use super::{Engine, Envelope};
use crate::domain::dispatch::release_count;
use crate::events;
use crate::store::{self, occurrences};

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DispatchReport {
    /// Citizen reminders released to the bot (`reminder_due`).
    pub released: u64,
    /// Curator notes that came due (`curator_reminder_due`).
    pub notified: u64,
    /// Overdue beyond the catch-up window: not sent.
    pub missed: u64,
}

impl std::ops::AddAssign for DispatchReport {
    fn add_assign(&mut self, o: Self) {
        self.released += o.released;
        self.notified += o.notified;
        self.missed += o.missed;
    }
}

impl Engine {
    /// One dispatcher pass over every tenant at `now`. A failing tenant is
    /// logged and does not hold up the others.
    pub async fn dispatch(&self, now: DateTime<Utc>) -> anyhow::Result<DispatchReport> {
        let mut report = DispatchReport::default();
        for (tenant, slug) in store::tenants(&self.pool).await? {
            match self.dispatch_tenant(tenant, &slug, now).await {
                Ok(r) => report += r,
                Err(e) => tracing::warn!(tenant_id = %tenant, error = %e, "dispatch failed for a tenant"),
            }
        }
        Ok(report)
    }

    async fn dispatch_tenant(&self, tenant: Uuid, slug: &str, now: DateTime<Utc>) -> anyhow::Result<DispatchReport> {
        let mut report = DispatchReport::default();
        let batch = i64::from(self.settings.dispatch_batch);
        let catch_up = now - Duration::minutes(i64::from(self.settings.catch_up_minutes));
        let tick = Duration::milliseconds(self.settings.dispatch_interval_ms as i64);

        // Missed ones and curator notes, a batch per transaction until done.
        let settings = loop {
            let mut tx = opeka_platform::db::tenant_tx(&self.pool, tenant).await?;
            let settings = self.tenant_settings(&mut tx).await?;
            let missed = occurrences::mark_missed(&mut tx, tenant, catch_up, now, batch).await?;
            let notes = occurrences::claim_curator_notes(&mut tx, tenant, now, batch).await?;
            let envelopes: Vec<Envelope> =
                notes.iter().map(|n| self.envelope(tenant, now, events::curator_reminder_due(n))).collect();
            self.outbox.enqueue_many(&mut tx, slug, &envelopes).await?;
            tx.commit().await?;
            if !envelopes.is_empty() {
                self.outbox.wake();
            }
            report.missed += missed;
            report.notified += notes.len() as u64;
            if missed < batch as u64 && (notes.len() as i64) < batch {
                break settings;
            }
        };
        if report.missed > 0 {
            tracing::warn!(tenant_id = %tenant, missed = report.missed, "reminders overdue beyond the catch-up window marked missed");
        }

        // Citizen reminders: the prefix that must leave by the next tick.
        let window = Duration::minutes(i64::from(settings.send_ahead_minutes)) + tick;
        let mut tx = opeka_platform::db::tenant_tx(&self.pool, tenant).await?;
        let candidates = occurrences::release_candidates(&mut tx, tenant, now + window).await?;
        tx.commit().await?;
        let due: Vec<DateTime<Utc>> = candidates.iter().map(|c| c.1).collect();
        let n = release_count(&due, settings.bot_rate_per_second, now + tick);
        let ids: Vec<Uuid> = candidates[..n].iter().map(|c| c.0).collect();
        // Batches are claimed by several transactions at once; each commit
        // wakes the relay, which publishes it while the rest are claimed.
        report.released = futures::stream::iter(ids.chunks(batch as usize).map(<[Uuid]>::to_vec))
            .map(|chunk| self.release(tenant, slug, chunk, now))
            .buffer_unordered(self.settings.dispatch_workers as usize)
            .try_fold(0, |total, released| async move { Ok(total + released) })
            .await?;
        if report.released > 0 {
            tracing::info!(tenant_id = %tenant, released = report.released, "reminders released to the bot");
        }
        Ok(report)
    }

    /// Claims the given occurrences still planned (other replicas skip what
    /// this one holds), marks them sent and writes their `reminder_due` in
    /// one statement, in one transaction; returns how many.
    async fn release(&self, tenant: Uuid, slug: &str, ids: Vec<Uuid>, now: DateTime<Utc>) -> anyhow::Result<u64> {
        let mut tx = opeka_platform::db::tenant_tx(&self.pool, tenant).await?;
        let released = occurrences::claim_release(&mut tx, &ids, now).await?;
        let envelopes: Vec<Envelope> = released
            .iter()
            .map(|r| {
                if r.account_id.is_none() {
                    tracing::warn!(occurrence_id = %r.id, "released a reminder for a citizen with no bot account");
                }
                self.envelope(tenant, now, events::reminder_due(r))
            })
            .collect();
        self.outbox.enqueue_many(&mut tx, slug, &envelopes).await?;
        self.outbox.commit(tx).await?;
        Ok(released.len() as u64)
    }

    /// S0-76: sent reminders nobody answered within the tenant's grace
    /// period turn «no reaction» (yellow). Returns how many.
    pub async fn sweep(&self, now: DateTime<Utc>) -> anyhow::Result<u64> {
        let mut total = 0;
        for (tenant, _) in store::tenants(&self.pool).await? {
            let mut tx = opeka_platform::db::tenant_tx(&self.pool, tenant).await?;
            let settings = self.tenant_settings(&mut tx).await?;
            let before = now - Duration::minutes(i64::from(settings.grace_minutes));
            total += occurrences::sweep_no_reaction(&mut tx, tenant, before, now).await?;
            tx.commit().await?;
        }
        Ok(total)
    }
}
