//! All SQL of the gateway: the sessions table (schema `gateway`). Rows are
//! keyed by the sha256 of the cookie value; identity's access and refresh
//! tokens are stored sealed (`OPEKA_GATEWAY__SECRET_KEY`, bound to the row's
//! id hash), so neither the cookie nor a token can be read from the table.
//! "now" is always a parameter so tests can move the clock.
use chrono::{DateTime, Utc};
use opeka_platform::crypto::SecretBox;
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

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

/// A row as stored: the tokens sealed.
#[derive(sqlx::FromRow)]
struct StoredRow {
    tenant: String,
    account_id: String,
    display_name: String,
    roles: Vec<String>,
    access_token_sealed: Vec<u8>,
    access_expires_at: DateTime<Utc>,
    refresh_token_sealed: Vec<u8>,
    csrf_token: String,
    expires_at: DateTime<Utc>,
}

macro_rules! select_session {
    ($rest:literal) => {
        concat!(
            "select tenant, account_id, display_name, roles, access_token_sealed, access_expires_at, ",
            "refresh_token_sealed, csrf_token, expires_at from sessions ",
            $rest
        )
    };
}

/// Associated data of a sealed token: which token of which session, so a
/// ciphertext copied into another row or column does not open.
fn field(id_hash: &[u8], which: &str) -> String {
    format!("gateway.sessions.{which}:{}", hex::encode(id_hash))
}

fn seal(secrets: &SecretBox, id_hash: &[u8], which: &str, token: &str) -> Result<Vec<u8>, sqlx::Error> {
    secrets.seal(Uuid::nil(), &field(id_hash, which), token).map_err(|e| sqlx::Error::Encode(Box::new(e)))
}

/// Opens a stored row; a row that does not open (the key was changed) is no
/// session: the user signs in again.
fn open(secrets: &SecretBox, id_hash: &[u8], row: Option<StoredRow>) -> Option<SessionRow> {
    let row = row?;
    let access = secrets.open(Uuid::nil(), &field(id_hash, "access_token"), &row.access_token_sealed);
    let refresh = secrets.open(Uuid::nil(), &field(id_hash, "refresh_token"), &row.refresh_token_sealed);
    match (access, refresh) {
        (Ok(access_token), Ok(refresh_token)) => Some(SessionRow {
            tenant: row.tenant,
            account_id: row.account_id,
            display_name: row.display_name,
            roles: row.roles,
            access_token,
            access_expires_at: row.access_expires_at,
            refresh_token,
            csrf_token: row.csrf_token,
            expires_at: row.expires_at,
        }),
        _ => {
            tracing::warn!(
                "a session's tokens do not open (OPEKA_GATEWAY__SECRET_KEY changed?); treated as signed out"
            );
            None
        }
    }
}

#[allow(clippy::too_many_arguments)]
pub async fn insert(
    pool: &PgPool,
    secrets: &SecretBox,
    id_hash: &[u8],
    tenant: &str,
    tokens: &Tokens,
    csrf_token: &str,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into sessions (id_hash, tenant, account_id, display_name, roles, access_token_sealed, \
         access_expires_at, refresh_token_sealed, csrf_token, created_at, expires_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(id_hash)
    .bind(tenant)
    .bind(&tokens.account_id)
    .bind(&tokens.display_name)
    .bind(&tokens.roles)
    .bind(seal(secrets, id_hash, "access_token", &tokens.access_token)?)
    .bind(tokens.access_expires_at)
    .bind(seal(secrets, id_hash, "refresh_token", &tokens.refresh_token)?)
    .bind(csrf_token)
    .bind(now)
    .bind(expires_at)
    .execute(pool)
    .await?;
    Ok(())
}

/// The live session with this id hash, if any.
pub async fn find(
    pool: &PgPool,
    secrets: &SecretBox,
    id_hash: &[u8],
    now: DateTime<Utc>,
) -> Result<Option<SessionRow>, sqlx::Error> {
    let row = sqlx::query_as(select_session!("where id_hash = $1 and expires_at > $2"))
        .bind(id_hash)
        .bind(now)
        .fetch_optional(pool)
        .await?;
    Ok(open(secrets, id_hash, row))
}

/// Locks the session row for a token refresh: concurrent requests of one
/// session wait here, so a rotated refresh token is used exactly once.
pub async fn lock(
    tx: &mut Transaction<'static, Postgres>,
    secrets: &SecretBox,
    id_hash: &[u8],
    now: DateTime<Utc>,
) -> Result<Option<SessionRow>, sqlx::Error> {
    let row = sqlx::query_as(select_session!("where id_hash = $1 and expires_at > $2 for update"))
        .bind(id_hash)
        .bind(now)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(open(secrets, id_hash, row))
}

pub async fn update_tokens(
    tx: &mut Transaction<'static, Postgres>,
    secrets: &SecretBox,
    id_hash: &[u8],
    tokens: &Tokens,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update sessions set account_id = $2, display_name = $3, roles = $4, access_token_sealed = $5, \
         access_expires_at = $6, refresh_token_sealed = $7 where id_hash = $1",
    )
    .bind(id_hash)
    .bind(&tokens.account_id)
    .bind(&tokens.display_name)
    .bind(&tokens.roles)
    .bind(seal(secrets, id_hash, "access_token", &tokens.access_token)?)
    .bind(tokens.access_expires_at)
    .bind(seal(secrets, id_hash, "refresh_token", &tokens.refresh_token)?)
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
