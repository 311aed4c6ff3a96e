//! All of notifications' SQL. Tenant tables are reached only inside a tenant
//! transaction (RLS); `bot_registry` is the one cross-tenant table (tenant
//! ids only, so every bot can be started at boot).
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ChannelRow {
    pub tenant_id: Uuid,
    pub tenant_slug: String,
    pub smtp_host: Option<String>,
    pub smtp_port: Option<i32>,
    pub smtp_tls: Option<String>,
    pub smtp_sender_address: Option<String>,
    pub smtp_sender_name: Option<String>,
    pub smtp_username: Option<String>,
    pub smtp_password_enc: Option<Vec<u8>>,
    pub admin_copy_email: Option<String>,
    pub bot_token_enc: Option<Vec<u8>>,
    pub bot_token_hint: Option<String>,
    pub bot_username: Option<String>,
    pub service_account_id: Option<Uuid>,
    pub service_client_id: Option<String>,
    pub service_client_secret_enc: Option<Vec<u8>>,
    /// The webhook secret token (encrypted), once the bot ran in webhook mode.
    pub webhook_secret_enc: Option<Vec<u8>>,
    pub updated_at: DateTime<Utc>,
}

pub async fn channel_settings(conn: &mut PgConnection, tenant_id: Uuid) -> Result<Option<ChannelRow>, sqlx::Error> {
    sqlx::query_as("select * from channel_settings where tenant_id = $1").bind(tenant_id).fetch_optional(conn).await
}

/// The row, locked until the transaction ends (serialises one-time set-up).
pub async fn lock_channel_settings(
    conn: &mut PgConnection,
    tenant_id: Uuid,
) -> Result<Option<ChannelRow>, sqlx::Error> {
    sqlx::query_as("select * from channel_settings where tenant_id = $1 for update")
        .bind(tenant_id)
        .fetch_optional(conn)
        .await
}

/// Creates the tenant's row when it is missing and keeps its slug current.
async fn ensure_row(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    slug: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into channel_settings (tenant_id, tenant_slug, updated_at) values ($1, $2, $3)
         on conflict (tenant_id) do update set tenant_slug = excluded.tenant_slug",
    )
    .bind(tenant_id)
    .bind(slug)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

pub struct SmtpUpdate<'a> {
    pub host: &'a str,
    pub port: i32,
    pub tls: &'a str,
    pub sender_address: &'a str,
    pub sender_name: &'a str,
    pub username: Option<&'a str>,
    /// `None` keeps the stored password.
    pub password_enc: Option<Vec<u8>>,
}

pub async fn update_smtp(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    slug: &str,
    u: SmtpUpdate<'_>,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    ensure_row(conn, tenant_id, slug, now).await?;
    sqlx::query(
        "update channel_settings set smtp_host = $2, smtp_port = $3, smtp_tls = $4, smtp_sender_address = $5,
             smtp_sender_name = $6, smtp_username = $7, smtp_password_enc = coalesce($8, smtp_password_enc),
             updated_at = $9
         where tenant_id = $1",
    )
    .bind(tenant_id)
    .bind(u.host)
    .bind(u.port)
    .bind(u.tls)
    .bind(u.sender_address)
    .bind(u.sender_name)
    .bind(u.username)
    .bind(u.password_enc)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn set_admin_copy_email(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    slug: &str,
    email: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    ensure_row(conn, tenant_id, slug, now).await?;
    sqlx::query("update channel_settings set admin_copy_email = $2, updated_at = $3 where tenant_id = $1")
        .bind(tenant_id)
        .bind(email)
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}

pub struct BotUpdate<'a> {
    pub token_enc: Option<Vec<u8>>,
    pub hint: Option<&'a str>,
    pub username: Option<&'a str>,
}

pub async fn set_bot(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    slug: &str,
    b: BotUpdate<'_>,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    ensure_row(conn, tenant_id, slug, now).await?;
    sqlx::query(
        "update channel_settings set bot_token_enc = $2, bot_token_hint = $3, bot_username = $4, updated_at = $5,
             webhook_secret_enc = null
         where tenant_id = $1",
    )
    .bind(tenant_id)
    .bind(b.token_enc)
    .bind(b.hint)
    .bind(b.username)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    if b.hint.is_some() {
        sqlx::query(
            "insert into bot_registry (tenant_id, updated_at) values ($1, $2)
             on conflict (tenant_id) do update set updated_at = excluded.updated_at",
        )
        .bind(tenant_id)
        .bind(now)
        .execute(conn)
        .await?;
    } else {
        sqlx::query("delete from bot_registry where tenant_id = $1").bind(tenant_id).execute(conn).await?;
    }
    Ok(())
}

pub async fn set_service_account(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    slug: &str,
    (account_id, client_id, secret_enc): (Uuid, &str, Vec<u8>),
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    ensure_row(conn, tenant_id, slug, now).await?;
    sqlx::query(
        "update channel_settings set service_account_id = $2, service_client_id = $3,
             service_client_secret_enc = $4, updated_at = $5
         where tenant_id = $1",
    )
    .bind(tenant_id)
    .bind(account_id)
    .bind(client_id)
    .bind(secret_enc)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// The stored webhook secret, or `candidate` (sealed) stored now when there is
/// none yet: replicas starting at once all end up with the first one stored.
pub async fn ensure_webhook_secret(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    candidate: Vec<u8>,
) -> Result<Option<Vec<u8>>, sqlx::Error> {
    sqlx::query_scalar(
        "update channel_settings set webhook_secret_enc = coalesce(webhook_secret_enc, $2)
         where tenant_id = $1 returning webhook_secret_enc",
    )
    .bind(tenant_id)
    .bind(candidate)
    .fetch_optional(conn)
    .await
    .map(Option::flatten)
}

/// Tenants with a bot token, across tenants (no secrets in this table).
pub async fn registered_bots(pool: &PgPool) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar("select tenant_id from bot_registry order by tenant_id").fetch_all(pool).await
}

// Chat links.

pub async fn link_chat(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    chat_id: i64,
    citizen: Uuid,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query("delete from chat_links where chat_id = $1 or citizen_account_id = $2")
        .bind(chat_id)
        .bind(citizen)
        .execute(&mut *conn)
        .await?;
    sqlx::query("insert into chat_links (tenant_id, chat_id, citizen_account_id, linked_at) values ($1, $2, $3, $4)")
        .bind(tenant_id)
        .bind(chat_id)
        .bind(citizen)
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn citizen_of_chat(conn: &mut PgConnection, chat_id: i64) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar("select citizen_account_id from chat_links where chat_id = $1")
        .bind(chat_id)
        .fetch_optional(conn)
        .await
}

pub async fn chat_of_citizen(conn: &mut PgConnection, citizen: Uuid) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("select chat_id from chat_links where citizen_account_id = $1")
        .bind(citizen)
        .fetch_optional(conn)
        .await
}

pub async fn unlink_citizen(conn: &mut PgConnection, citizen: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("delete from chat_links where citizen_account_id = $1").bind(citizen).execute(conn).await?;
    Ok(())
}

// Files the bot uploaded.

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UploadRow {
    pub file_id: Uuid,
    pub chat_id: i64,
    pub citizen_account_id: Uuid,
    pub original_name: String,
    pub file_type_id: Option<Uuid>,
}

pub async fn insert_upload(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    u: &UploadRow,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into bot_uploads (tenant_id, file_id, chat_id, citizen_account_id, original_name, file_type_id, created_at)
         values ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(tenant_id)
    .bind(u.file_id)
    .bind(u.chat_id)
    .bind(u.citizen_account_id)
    .bind(&u.original_name)
    .bind(u.file_type_id)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn upload(conn: &mut PgConnection, file_id: Uuid) -> Result<Option<UploadRow>, sqlx::Error> {
    sqlx::query_as(
        "select file_id, chat_id, citizen_account_id, original_name, file_type_id from bot_uploads where file_id = $1",
    )
    .bind(file_id)
    .fetch_optional(conn)
    .await
}

pub async fn set_upload_type(conn: &mut PgConnection, file_id: Uuid, type_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("update bot_uploads set file_type_id = $2 where file_id = $1")
        .bind(file_id)
        .bind(type_id)
        .execute(conn)
        .await?;
    Ok(())
}

// Citizen → curator, from cases' events.

pub async fn upsert_citizen_curator(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    citizen_id: Uuid,
    account_id: Uuid,
    curator_id: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into citizen_curators (tenant_id, citizen_account_id, citizen_id, curator_id, updated_at)
         values ($1, $2, $3, $4, $5)
         on conflict (tenant_id, citizen_account_id)
         do update set citizen_id = excluded.citizen_id, curator_id = excluded.curator_id, updated_at = excluded.updated_at",
    )
    .bind(tenant_id)
    .bind(account_id)
    .bind(citizen_id)
    .bind(curator_id)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn set_curator_of(
    conn: &mut PgConnection,
    citizen_ids: &[Uuid],
    curator_id: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query("update citizen_curators set curator_id = $2, updated_at = $3 where citizen_id = any($1)")
        .bind(citizen_ids)
        .bind(curator_id)
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}

/// The citizen's account id, forgetting the citizen (deleted in cases).
pub async fn delete_citizen_curator(conn: &mut PgConnection, citizen_id: Uuid) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar("delete from citizen_curators where citizen_id = $1 returning citizen_account_id")
        .bind(citizen_id)
        .fetch_optional(conn)
        .await
}

/// `Some(curator)` when cases told us about the citizen (`Some(None)`: no curator).
pub async fn curator_of(conn: &mut PgConnection, citizen_account: Uuid) -> Result<Option<Option<Uuid>>, sqlx::Error> {
    sqlx::query_scalar("select curator_id from citizen_curators where citizen_account_id = $1")
        .bind(citizen_account)
        .fetch_optional(conn)
        .await
}

// The delivery log.

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeliveryRow {
    pub id: Uuid,
    pub channel: String,
    pub recipient: String,
    pub source_event_id: Uuid,
    pub kind: String,
    pub status: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

const DELIVERY_COLUMNS: &str =
    "id, channel, recipient, source_event_id, kind, status, attempts, last_error, created_at, updated_at, sent_at";

pub async fn delivery(
    conn: &mut PgConnection,
    source_event_id: Uuid,
    channel: &str,
    recipient: &str,
) -> Result<Option<DeliveryRow>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {DELIVERY_COLUMNS} from deliveries where source_event_id = $1 and channel = $2 and recipient = $3"
    )))
    .bind(source_event_id)
    .bind(channel)
    .bind(recipient)
    .fetch_optional(conn)
    .await
}

pub struct Attempt<'a> {
    pub tenant_id: Uuid,
    pub channel: &'a str,
    pub recipient: &'a str,
    pub source_event_id: Uuid,
    pub kind: &'a str,
    /// Tries this attempt took (Telegram sends retry 429s themselves).
    pub tries: i32,
    /// `Err(reason)` for a failed attempt.
    pub outcome: Result<(), String>,
    pub at: DateTime<Utc>,
    /// reminder: scheduler's occurrence id.
    pub reference_id: Option<&'a str>,
}

/// Records one attempt: the first creates the row, later ones count up.
pub async fn record_attempt(conn: &mut PgConnection, a: Attempt<'_>) -> Result<DeliveryRow, sqlx::Error> {
    let (status, error, sent_at) = match &a.outcome {
        Ok(()) => ("sent", None, Some(a.at)),
        Err(e) => ("failed", Some(e.as_str()), None),
    };
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "insert into deliveries (id, tenant_id, channel, recipient, source_event_id, kind, status, attempts,
             last_error, created_at, updated_at, sent_at, reference_id)
         values ($1, $2, $3, $4, $5, $6, $7, $11, $8, $9, $9, $10, $12)
         on conflict (tenant_id, source_event_id, channel, recipient) do update set
             status = excluded.status, attempts = deliveries.attempts + excluded.attempts,
             last_error = coalesce(excluded.last_error, deliveries.last_error),
             updated_at = excluded.updated_at, sent_at = excluded.sent_at
         returning {DELIVERY_COLUMNS}"
    )))
    .bind(Uuid::now_v7())
    .bind(a.tenant_id)
    .bind(a.channel)
    .bind(a.recipient)
    .bind(a.source_event_id)
    .bind(a.kind)
    .bind(status)
    .bind(error)
    .bind(a.at)
    .bind(sent_at)
    .bind(a.tries.max(1))
    .bind(a.reference_id)
    .fetch_one(conn)
    .await
}

// The Telegram queue (reminders between the consumer and the sender).

/// The channel `enqueue_telegram` notifies (payload: the tenant id) on commit.
pub const TELEGRAM_QUEUE_CHANNEL: &str = "opeka_notifications_telegram_queue";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct QueuedRow {
    pub id: Uuid,
    pub source_event_id: Uuid,
    pub kind: String,
    pub reference_id: String,
    pub citizen_account_id: Uuid,
    pub chat_id: i64,
    pub body: String,
    pub markup: Option<serde_json::Value>,
    pub tries: i32,
}

const QUEUE_COLUMNS: &str = "id, source_event_id, kind, reference_id, citizen_account_id, chat_id, body, markup, tries";

pub struct NewQueued<'a> {
    pub tenant_id: Uuid,
    pub source_event_id: Uuid,
    pub kind: &'a str,
    pub reference_id: &'a str,
    pub citizen_account_id: Uuid,
    pub chat_id: i64,
    pub body: &'a str,
    pub markup: Option<serde_json::Value>,
}

/// Queues one send (once per event and chat) and wakes the tenant's sender
/// when the transaction commits. `false` when it was queued before.
pub async fn enqueue_telegram(
    conn: &mut PgConnection,
    q: NewQueued<'_>,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query(
        "insert into telegram_queue (id, tenant_id, source_event_id, kind, reference_id, citizen_account_id, chat_id,
             body, markup, created_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         on conflict (tenant_id, source_event_id, chat_id) do nothing",
    )
    .bind(Uuid::now_v7())
    .bind(q.tenant_id)
    .bind(q.source_event_id)
    .bind(q.kind)
    .bind(q.reference_id)
    .bind(q.citizen_account_id)
    .bind(q.chat_id)
    .bind(q.body)
    .bind(q.markup)
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1;
    if inserted {
        sqlx::query("select pg_notify($1, $2)")
            .bind(TELEGRAM_QUEUE_CHANNEL)
            .bind(q.tenant_id.to_string())
            .execute(conn)
            .await?;
    }
    Ok(inserted)
}

/// Whether a send of this kind for `reference_id` is queued or was delivered
/// (scheduler sends each occurrence once; this keeps a second event for the
/// same occurrence from reaching the citizen twice).
pub async fn already_handled(conn: &mut PgConnection, kind: &str, reference_id: &str) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "select exists (select 1 from telegram_queue where kind = $1 and reference_id = $2)
             or exists (select 1 from deliveries where kind = $1 and reference_id = $2 and status = 'sent')",
    )
    .bind(kind)
    .bind(reference_id)
    .fetch_one(conn)
    .await
}

/// Claims up to `limit` sends that are due (oldest first) until `lease_until`.
pub async fn claim_telegram(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<QueuedRow>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "update telegram_queue set claimed_until = $2
         where id in (select id from telegram_queue where claimed_until is null or claimed_until <= $1
                      order by id limit $3 for update skip locked)
         returning {QUEUE_COLUMNS}"
    )))
    .bind(now)
    .bind(lease_until)
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// Extends the claims of sends still in flight (the dispatcher's heartbeat),
/// so a short lease frees a crashed process's rows soon without letting a
/// slow live one lose them.
pub async fn renew_telegram(
    conn: &mut PgConnection,
    ids: &[Uuid],
    lease_until: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query("update telegram_queue set claimed_until = $2 where id = any($1) and claimed_until is not null")
        .bind(ids)
        .bind(lease_until)
        .execute(conn)
        .await?;
    Ok(())
}

/// The send is in the delivery log: off the queue.
pub async fn finish_telegram(conn: &mut PgConnection, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("delete from telegram_queue where id = $1").bind(id).execute(conn).await?;
    Ok(())
}

/// Back on the queue after a failed try, not before `not_before`.
pub async fn retry_telegram(
    conn: &mut PgConnection,
    id: Uuid,
    not_before: DateTime<Utc>,
    error: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("update telegram_queue set claimed_until = $2, last_error = $3, tries = tries + 1 where id = $1")
        .bind(id)
        .bind(not_before)
        .bind(error)
        .execute(conn)
        .await?;
    Ok(())
}

/// Claimed but not handed over (the bot stopped): free for the next claim now.
pub async fn release_telegram(conn: &mut PgConnection, ids: &[Uuid]) -> Result<(), sqlx::Error> {
    sqlx::query("update telegram_queue set claimed_until = null where id = any($1)").bind(ids).execute(conn).await?;
    Ok(())
}

pub async fn list_deliveries(
    conn: &mut PgConnection,
    channel: Option<&str>,
    status: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<Vec<DeliveryRow>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {DELIVERY_COLUMNS} from deliveries
         where ($1::text is null or channel = $1) and ($2::text is null or status = $2)
         order by created_at desc, id desc limit $3 offset $4"
    )))
    .bind(channel)
    .bind(status)
    .bind(limit)
    .bind(offset)
    .fetch_all(conn)
    .await
}
