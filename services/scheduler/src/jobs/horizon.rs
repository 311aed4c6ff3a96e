//! The rolling horizon: every live series whose rule still yields instants
//! gets its occurrences up to `now + horizon_days`, a batch of series per
//! transaction (claimed with SKIP LOCKED, so replicas share the work).
use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use super::Engine;
use crate::store::{self, series};
use crate::{convert, plan};

impl Engine {
    /// Extends every tenant's series; returns how many occurrences were added.
    pub async fn extend_horizon(&self, now: DateTime<Utc>) -> anyhow::Result<u64> {
        let Ok(_running) = self.horizon_running.try_lock() else { return Ok(0) };
        let mut added = 0;
        for (tenant, _) in store::tenants(&self.pool).await? {
            match self.extend_tenant(tenant, now).await {
                Ok(n) => added += n,
                Err(e) => tracing::warn!(tenant_id = %tenant, error = %e, "horizon extension failed for a tenant"),
            }
        }
        if added > 0 {
            tracing::info!(added, "horizon extended");
        }
        Ok(added)
    }

    async fn extend_tenant(&self, tenant: Uuid, now: DateTime<Utc>) -> anyhow::Result<u64> {
        let target = now + Duration::days(i64::from(self.settings.horizon_days));
        let batch = i64::from(self.settings.horizon_batch);
        let mut added = 0;
        loop {
            let mut tx = opeka_platform::db::tenant_tx(&self.pool, tenant).await?;
            let rows = series::series_to_extend(&mut tx, tenant, target, batch).await?;
            for row in &rows {
                match convert::rule_of(row) {
                    Ok(rule) => {
                        let t = plan::Target {
                            tenant_id: tenant,
                            series_id: row.id,
                            citizen_id: row.citizen_id,
                            kind: &row.kind,
                            rule: &rule,
                        };
                        added += plan::materialise(&mut tx, &t, row.materialised_until, target, now).await?;
                    }
                    // Moved on all the same, so one bad row cannot stall the job.
                    Err(e) => tracing::error!(series_id = %row.id, error = %e, "stored rule unreadable; skipped"),
                }
                series::set_materialised(&mut tx, row.id, target).await?;
            }
            tx.commit().await?;
            if (rows.len() as i64) < batch {
                return Ok(added);
            }
        }
    }
}
