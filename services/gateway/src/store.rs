//! All SQL of the gateway: the sessions table (schema `gateway`). Rows are
//! keyed by the sha256 of the cookie value; "now" is always a parameter so
//! tests can move the clock.
use chrono::{DateTime, Utc};
use sqlx::{PgPool, Postgres, Transaction};

/// A stored session as handlers see it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRow {
    pub tenant: String,
    pub account_id: String,
    pub display_name: String,
    pub roles: Vec<String>,
    pub access_token: String,
    pub access_expires_at: DateTime<Utc>,
    pub refresh_token: String,
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

/// Identity's answer to a login or a refresh, as the session keeps it.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub account_id: String,
    pub display_name: String,
    pub roles: Vec<String>,
    pub access_token: String,
    pub access_expires_at: DateTime<Utc>,
    pub refresh_token: String,
}

macro_rules! select_session {
    ($rest:literal) => {
        concat!(
            "select tenant, account_id, display_name, roles, access_token, access_expires_at, ",
            "refresh_token, csrf_token, expires_at from sessions ",
            $rest
        )
    };
}

pub async fn insert(
    pool: &PgPool,
    id_hash: &[u8],
    tenant: &str,
    tokens: &Tokens,
    csrf_token: &str,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into sessions (id_hash, tenant, account_id, display_name, roles, access_token, \
         access_expires_at, refresh_token, csrf_token, created_at, expires_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(id_hash)
    .bind(tenant)
    .bind(&tokens.account_id)
    .bind(&tokens.display_name)
    .bind(&tokens.roles)
    .bind(&tokens.access_token)
    .bind(tokens.access_expires_at)
    .bind(&tokens.refresh_token)
    .bind(csrf_token)
    .bind(now)
    .bind(expires_at)
    .execute(pool)
    .await?;
    Ok(())
}

/// The live session with this id hash, if any.
pub async fn find(pool: &PgPool, id_hash: &[u8], now: DateTime<Utc>) -> Result<Option<SessionRow>, sqlx::Error> {
    sqlx::query_as(select_session!("where id_hash = $1 and expires_at > $2"))
        .bind(id_hash)
        .bind(now)
        .fetch_optional(pool)
        .await
}

/// Locks the session row for a token refresh: concurrent requests of one
/// session wait here, so a rotated refresh token is used exactly once.
pub async fn lock(
    tx: &mut Transaction<'static, Postgres>,
    id_hash: &[u8],
    now: DateTime<Utc>,
) -> Result<Option<SessionRow>, sqlx::Error> {
    sqlx::query_as(select_session!("where id_hash = $1 and expires_at > $2 for update"))
        .bind(id_hash)
        .bind(now)
        .fetch_optional(&mut **tx)
        .await
}

pub async fn update_tokens(
    tx: &mut Transaction<'static, Postgres>,
    id_hash: &[u8],
    tokens: &Tokens,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update sessions set account_id = $2, display_name = $3, roles = $4, access_token = $5, \
         access_expires_at = $6, refresh_token = $7 where id_hash = $1",
    )
    .bind(id_hash)
    .bind(&tokens.account_id)
    .bind(&tokens.display_name)
    .bind(&tokens.roles)
    .bind(&tokens.access_token)
    .bind(tokens.access_expires_at)
    .bind(&tokens.refresh_token)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn delete(pool: &PgPool, id_hash: &[u8]) -> Result<(), sqlx::Error> {
    sqlx::query("delete from sessions where id_hash = $1").bind(id_hash).execute(pool).await?;
    Ok(())
}

pub async fn delete_in(tx: &mut Transaction<'static, Postgres>, id_hash: &[u8]) -> Result<(), sqlx::Error> {
    sqlx::query("delete from sessions where id_hash = $1").bind(id_hash).execute(&mut **tx).await?;
    Ok(())
}

/// Removes ended sessions; returns how many.
pub async fn prune(pool: &PgPool, now: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("delete from sessions where expires_at <= $1").bind(now).execute(pool).await?;
    Ok(done.rows_affected())
}
