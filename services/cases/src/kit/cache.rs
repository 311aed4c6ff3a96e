//! Short-lived copies of what nearly every call reads and hardly ever
//! changes (issue 11): the tenant's time zone, the reference nodes an intake
//! checks, and which tenants the postponement job already knows. Each is
//! kept for `OPEKA_CASES__CACHE_SECONDS`; a change made through this replica
//! drops its copy at once, other replicas see it when theirs expires. Every
//! key carries the tenant, so one tenant's copy never answers another.
use std::time::Duration;

use moka::sync::Cache;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::appeals::store::{self as appeals, NodeRow};

#[derive(Clone)]
pub struct Caches {
    time_zones: Cache<Uuid, chrono_tz::Tz>,
    nodes: Cache<(Uuid, Uuid), NodeRow>,
    appeal_tenants: Cache<Uuid, String>,
}

impl Caches {
    pub fn new(ttl: Duration) -> Self {
        fn cache<K, V>(ttl: Duration) -> Cache<K, V>
        where
            K: std::hash::Hash + Eq + Send + Sync + 'static,
            V: Clone + Send + Sync + 'static,
        {
            Cache::builder().max_capacity(100_000).time_to_live(ttl).build()
        }
        Self { time_zones: cache(ttl), nodes: cache(ttl), appeal_tenants: cache(ttl) }
    }

    /// The tenant's time zone (`conn` is in the tenant's transaction).
    pub async fn time_zone(
        &self,
        conn: &mut PgConnection,
        tenant: Uuid,
        default: chrono_tz::Tz,
    ) -> Result<chrono_tz::Tz, sqlx::Error> {
        if let Some(tz) = self.time_zones.get(&tenant) {
            return Ok(tz);
        }
        let tz = super::time_zone(conn, default).await?;
        self.time_zones.insert(tenant, tz);
        Ok(tz)
    }

    /// The tenant's settings changed here.
    pub fn forget_settings(&self, tenant: Uuid) {
        self.time_zones.invalidate(&tenant);
    }

    /// The nodes of `ids` that exist in the tenant's trees.
    pub async fn nodes(
        &self,
        conn: &mut PgConnection,
        tenant: Uuid,
        ids: &[Uuid],
    ) -> Result<Vec<NodeRow>, sqlx::Error> {
        let mut found = Vec::with_capacity(ids.len());
        let mut missing = Vec::new();
        for id in ids {
            match self.nodes.get(&(tenant, *id)) {
                Some(n) => found.push(n),
                None => missing.push(*id),
            }
        }
        if !missing.is_empty() {
            for n in appeals::nodes_by_ids(conn, &missing).await? {
                self.nodes.insert((tenant, n.id), n.clone());
                found.push(n);
            }
        }
        Ok(found)
    }

    /// The tenant's reference trees changed here (an import).
    pub fn forget_nodes(&self) {
        self.nodes.invalidate_all();
    }

    /// Records the tenant among those with appeals (the postponement job
    /// walks them), committed on its own so the copy kept here never
    /// outlives a rolled-back intake; once per process and `ttl`.
    pub async fn register_appeal_tenant(&self, pool: &PgPool, tenant: Uuid, slug: &str) -> Result<(), sqlx::Error> {
        if self.appeal_tenants.get(&tenant).as_deref() == Some(slug) {
            return Ok(());
        }
        appeals::register_tenant(pool, tenant, slug).await?;
        self.appeal_tenants.insert(tenant, slug.to_string());
        Ok(())
    }
}
