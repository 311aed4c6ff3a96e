//! The append-only audit log every service keeps in its own schema
//! (`audit_log`: who, what, which entity, details, when). The service role may
//! insert and read it, never change it (`SchemaSpec::append_only`).
use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

pub struct Entry<'a> {
    pub tenant_id: Uuid,
    pub actor_id: &'a str,
    pub action: &'a str,
    pub entity: &'a str,
    pub entity_id: String,
    pub details: serde_json::Value,
    pub at: DateTime<Utc>,
}

/// Appends one entry inside the caller's tenant transaction.
pub async fn record(conn: &mut PgConnection, e: Entry<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into audit_log (id, tenant_id, actor_id, action, entity, entity_id, details, occurred_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(Uuid::now_v7())
    .bind(e.tenant_id)
    .bind(e.actor_id)
    .bind(e.action)
    .bind(e.entity)
    .bind(&e.entity_id)
    .bind(&e.details)
    .bind(e.at)
    .execute(conn)
    .await?;
    Ok(())
}
