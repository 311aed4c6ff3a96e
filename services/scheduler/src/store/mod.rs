//! All of the scheduler's SQL. Tenant tables are read and written inside a
//! tenant transaction (RLS); queries also name `tenant_id` where an index
//! starts with it. `tenants` is the one table without RLS: the dispatcher and
//! the jobs walk it, then work inside each tenant's own transaction.
//! A query longer than a screenful of Rust lives in `sql/<function>.sql`
//! beside its store, where an editor highlights it and a DBA can read it.
pub mod detectors;
pub mod occurrences;
pub mod series;

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::domain::TenantSettings;

// ----------------------------------------------------------------- tenants

/// Remembers a tenant's slug (outbox subjects need it).
pub async fn remember_tenant(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    slug: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into tenants (tenant_id, tenant_slug, first_seen_at) values ($1, $2, $3)
         on conflict (tenant_id) do update set tenant_slug = excluded.tenant_slug
         where tenants.tenant_slug <> excluded.tenant_slug",
    )
    .bind(tenant_id)
    .bind(slug)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Every tenant the scheduler has seen: (id, slug).
pub async fn tenants(pool: &PgPool) -> Result<Vec<(Uuid, String)>, sqlx::Error> {
    sqlx::query_as("select tenant_id, tenant_slug from tenants order by first_seen_at, tenant_id").fetch_all(pool).await
}

pub async fn tenant_slug(conn: &mut PgConnection, tenant_id: Uuid) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("select tenant_slug from tenants where tenant_id = $1")
        .bind(tenant_id)
        .fetch_optional(conn)
        .await
}

// ---------------------------------------------------------------- settings

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SettingsRow {
    pub time_zone: String,
    pub send_ahead_minutes: i32,
    pub grace_minutes: i32,
    pub skipped_days: i32,
    pub silent_days: i32,
    pub no_assignments_days: i32,
    pub no_assignments_enabled: bool,
    pub bot_rate_per_second: i32,
    pub updated_at: DateTime<Utc>,
}

pub async fn tenant_settings(conn: &mut PgConnection) -> Result<Option<SettingsRow>, sqlx::Error> {
    sqlx::query_as(
        "select time_zone, send_ahead_minutes, grace_minutes, skipped_days, silent_days, no_assignments_days,
                no_assignments_enabled, bot_rate_per_second, updated_at
         from tenant_settings",
    )
    .fetch_optional(conn)
    .await
}

pub async fn save_tenant_settings(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    s: &TenantSettings,
    now: DateTime<Utc>,
    by: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(include_str!("sql/save_tenant_settings.sql"))
        .bind(tenant_id)
        .bind(s.time_zone.name())
        .bind(s.send_ahead_minutes as i32)
        .bind(s.grace_minutes as i32)
        .bind(s.skipped_days as i32)
        .bind(s.silent_days as i32)
        .bind(s.no_assignments_days as i32)
        .bind(s.no_assignments_enabled)
        .bind(s.bot_rate_per_second as i32)
        .bind(now)
        .bind(by)
        .execute(conn)
        .await?;
    Ok(())
}

// ---------------------------------------------------------------- citizens

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CitizenRow {
    pub citizen_id: Uuid,
    pub account_id: Uuid,
    pub curator_id: Option<Uuid>,
    pub full_name: String,
    pub bot_linked: bool,
    pub deleted_at: Option<DateTime<Utc>>,
}

pub async fn citizen(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> Result<Option<CitizenRow>, sqlx::Error> {
    sqlx::query_as(
        "select citizen_id, account_id, curator_id, full_name, bot_linked, deleted_at
         from citizens where tenant_id = $1 and citizen_id = $2",
    )
    .bind(tenant_id)
    .bind(id)
    .fetch_optional(conn)
    .await
}

pub async fn citizen_by_account(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    account: Uuid,
) -> Result<Option<CitizenRow>, sqlx::Error> {
    sqlx::query_as(
        "select citizen_id, account_id, curator_id, full_name, bot_linked, deleted_at
         from citizens where tenant_id = $1 and account_id = $2",
    )
    .bind(tenant_id)
    .bind(account)
    .fetch_optional(conn)
    .await
}

/// What is known of a card at `at`: applied unless a newer fact is on record.
pub struct CitizenFacts<'a> {
    pub tenant_id: Uuid,
    pub citizen_id: Uuid,
    pub account_id: Uuid,
    pub curator_id: Option<Uuid>,
    pub full_name: &'a str,
    /// `Some` when the source knows (cases' card); `None` keeps what is stored.
    pub bot_linked: Option<bool>,
    pub at: DateTime<Utc>,
}

/// Serialises the two facts about one bot account (the card from cases, the
/// activation from identity), which arrive on different streams in any
/// order: without it each transaction could miss the other's row.
async fn lock_account(conn: &mut PgConnection, tenant_id: Uuid, account: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("select pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind(format!("scheduler.account.{tenant_id}.{account}"))
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn upsert_citizen(conn: &mut PgConnection, f: &CitizenFacts<'_>) -> Result<(), sqlx::Error> {
    lock_account(&mut *conn, f.tenant_id, f.account_id).await?;
    sqlx::query(include_str!("sql/upsert_citizen.sql"))
        .bind(f.tenant_id)
        .bind(f.citizen_id)
        .bind(f.account_id)
        .bind(f.curator_id)
        .bind(f.full_name)
        .bind(f.bot_linked)
        .bind(f.at)
        .execute(conn)
        .await?;
    Ok(())
}

/// A new curator for cards, unless a newer fact is on record.
pub async fn set_curator(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    ids: &[Uuid],
    curator: Option<Uuid>,
    at: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    let r = sqlx::query(
        "update citizens set curator_id = $3, updated_at = $4
         where tenant_id = $1 and citizen_id = any($2) and updated_at <= $4",
    )
    .bind(tenant_id)
    .bind(ids)
    .bind(curator)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(r.rows_affected())
}

/// cases renamed the card (lists across citizens show the new name).
pub async fn set_full_name(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    full_name: &str,
) -> Result<u64, sqlx::Error> {
    let r = sqlx::query("update citizens set full_name = $3 where tenant_id = $1 and citizen_id = $2")
        .bind(tenant_id)
        .bind(id)
        .bind(full_name)
        .execute(conn)
        .await?;
    Ok(r.rows_affected())
}

/// identity's `bot_linked`: the account's bot is activated (remembered
/// for a card that has not reached the projection yet, too).
pub async fn mark_bot_linked(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    account: Uuid,
    at: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    lock_account(&mut *conn, tenant_id, account).await?;
    sqlx::query(
        "insert into linked_accounts (tenant_id, account_id, linked_at) values ($1, $2, $3)
         on conflict (tenant_id, account_id) do nothing",
    )
    .bind(tenant_id)
    .bind(account)
    .bind(at)
    .execute(&mut *conn)
    .await?;
    let r = sqlx::query("update citizens set bot_linked = true where tenant_id = $1 and account_id = $2")
        .bind(tenant_id)
        .bind(account)
        .execute(conn)
        .await?;
    Ok(r.rows_affected() > 0)
}

/// Marks the card deleted (a tombstone, so a late `citizen_created` does not
/// bring it back).
pub async fn mark_citizen_deleted(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into citizens (tenant_id, citizen_id, account_id, deleted_at, updated_at)
         values ($1, $2, gen_random_uuid(), $3, $3)
         on conflict (tenant_id, citizen_id) do update set deleted_at = coalesce(citizens.deleted_at, $3)",
    )
    .bind(tenant_id)
    .bind(id)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}
