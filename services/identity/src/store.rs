//! All of identity's SQL. Tenant tables are reached only inside a tenant
//! transaction (RLS); `tenants` and `signing_keys` are platform level.
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Tenant {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
}

pub async fn tenant_by_slug(pool: &PgPool, slug: &str) -> Result<Option<Tenant>, sqlx::Error> {
    sqlx::query_as("select id, slug, name from tenants where slug = $1").bind(slug).fetch_optional(pool).await
}

pub async fn tenant_by_id(pool: &PgPool, id: Uuid) -> Result<Option<Tenant>, sqlx::Error> {
    sqlx::query_as("select id, slug, name from tenants where id = $1").bind(id).fetch_optional(pool).await
}

/// Accepts a slug or an id (the `x-opeka-tenant` header and requests may carry either).
pub async fn tenant_by_ref(pool: &PgPool, r: &str) -> Result<Option<Tenant>, sqlx::Error> {
    match r.parse::<Uuid>() {
        Ok(id) => tenant_by_id(pool, id).await,
        Err(_) => tenant_by_slug(pool, r).await,
    }
}

pub async fn insert_tenant(conn: &mut PgConnection, t: &Tenant) -> Result<(), sqlx::Error> {
    sqlx::query("insert into tenants (id, slug, name) values ($1, $2, $3)")
        .bind(t.id)
        .bind(&t.slug)
        .bind(&t.name)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn list_tenants(pool: &PgPool) -> Result<Vec<Tenant>, sqlx::Error> {
    sqlx::query_as("select id, slug, name from tenants order by slug").fetch_all(pool).await
}

/// Active sealed signing keys, newest first (kid, sealed PKCS#8, public x),
/// under an advisory lock so replicas starting together create one key, not
/// several (and seal a clear one once).
pub async fn lock_active_signing_keys(conn: &mut PgConnection) -> Result<Vec<(String, Vec<u8>, String)>, sqlx::Error> {
    sqlx::query("select pg_advisory_xact_lock(hashtext('opeka.identity.signing_keys'))").execute(&mut *conn).await?;
    sqlx::query_as(
        "select kid, private_sealed, public_x from signing_keys
          where retired_at is null and private_sealed is not null order by created_at desc",
    )
    .fetch_all(conn)
    .await
}

/// Keys an earlier release stored in clear (kid, PKCS#8), retired ones too.
pub async fn plaintext_signing_keys(conn: &mut PgConnection) -> Result<Vec<(String, Vec<u8>)>, sqlx::Error> {
    sqlx::query_as("select kid, private_pkcs8 from signing_keys where private_pkcs8 is not null").fetch_all(conn).await
}

/// Replaces a clear key by its sealed form (same kid).
pub async fn seal_signing_key(conn: &mut PgConnection, kid: &str, sealed: &[u8]) -> Result<(), sqlx::Error> {
    sqlx::query("update signing_keys set private_sealed = $2, private_pkcs8 = null where kid = $1")
        .bind(kid)
        .bind(sealed)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn insert_signing_key(conn: &mut PgConnection, kid: &str, sealed: &[u8], x: &str) -> Result<(), sqlx::Error> {
    sqlx::query("insert into signing_keys (kid, private_sealed, public_x) values ($1, $2, $3)")
        .bind(kid)
        .bind(sealed)
        .bind(x)
        .execute(conn)
        .await?;
    Ok(())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AccountRow {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub kind: String,
    pub status: String,
    pub roles: Vec<String>,
    pub login: Option<String>,
    pub surname: String,
    pub name: String,
    pub patronymic: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub telegram_username: Option<String>,
    pub district_id: Option<Uuid>,
    pub organisation_id: Option<Uuid>,
    pub password_hash: Option<String>,
    pub failed_logins: i32,
    pub locked_until: Option<DateTime<Utc>>,
    pub client_id: Option<String>,
    pub client_secret_hash: Option<String>,
    pub telegram_chat_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

impl AccountRow {
    pub fn full_name(&self) -> String {
        [self.surname.as_str(), self.name.as_str(), self.patronymic.as_str()]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(" ")
    }
}

macro_rules! account_columns {
    () => {
        "id, tenant_id, kind, status, roles, login, surname, name, patronymic, email, phone,
    telegram_username, district_id, organisation_id, password_hash, failed_logins, locked_until, client_id,
    client_secret_hash, telegram_chat_id, created_at, updated_at, deleted_at"
    };
}

macro_rules! account_filter {
    () => {
        "($1::text is null or kind = $1)
        and ($2::text is null or $2 = any(roles))
        and ($3::bool or deleted_at is null)
        and ($4::text is null or replace(lower(concat_ws(' ', surname, name, patronymic, login, email)), 'ё', 'е') like $4)
        and ($5::bool or id in (select account_id from citizen_curators
                                where curator_id = $6 or district_id = any($7)))"
    };
}

/// The fields a new account is created with.
#[derive(Debug, Clone, Default)]
pub struct NewAccount {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub kind: &'static str,
    pub status: &'static str,
    pub roles: Vec<String>,
    pub login: Option<String>,
    pub surname: String,
    pub name: String,
    pub patronymic: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub telegram_username: Option<String>,
    pub district_id: Option<Uuid>,
    pub organisation_id: Option<Uuid>,
    pub password_hash: Option<String>,
    pub client_id: Option<String>,
    pub client_secret_hash: Option<String>,
    /// The caller's idempotency key (citizen accounts), unique per tenant.
    pub creation_request_id: Option<Uuid>,
    pub now: DateTime<Utc>,
}

/// Inserts the account; `false` when an account with the same
/// `creation_request_id` already exists in the tenant (nothing is inserted).
pub async fn insert_account(conn: &mut PgConnection, a: &NewAccount) -> Result<bool, sqlx::Error> {
    let r = sqlx::query(
        "insert into accounts (id, tenant_id, kind, status, roles, login, surname, name, patronymic, email, phone,
            telegram_username, district_id, organisation_id, password_hash, client_id, client_secret_hash,
            created_at, updated_at, creation_request_id)
         values ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$18,$19)
         on conflict (tenant_id, creation_request_id) where creation_request_id is not null do nothing",
    )
    .bind(a.id)
    .bind(a.tenant_id)
    .bind(a.kind)
    .bind(a.status)
    .bind(&a.roles)
    .bind(&a.login)
    .bind(&a.surname)
    .bind(&a.name)
    .bind(&a.patronymic)
    .bind(&a.email)
    .bind(&a.phone)
    .bind(&a.telegram_username)
    .bind(a.district_id)
    .bind(a.organisation_id)
    .bind(&a.password_hash)
    .bind(&a.client_id)
    .bind(&a.client_secret_hash)
    .bind(a.now)
    .bind(a.creation_request_id)
    .execute(conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn get_account(conn: &mut PgConnection, id: Uuid) -> Result<Option<AccountRow>, sqlx::Error> {
    sqlx::query_as(concat!("select ", account_columns!(), " from accounts where id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// The account a CreateCitizenAccount call with this request id created.
pub async fn find_by_creation_request(
    conn: &mut PgConnection,
    request_id: Uuid,
) -> Result<Option<AccountRow>, sqlx::Error> {
    sqlx::query_as(concat!("select ", account_columns!(), " from accounts where creation_request_id = $1"))
        .bind(request_id)
        .fetch_optional(conn)
        .await
}

/// A live staff account by login or email (case-insensitive).
pub async fn find_staff_by_login(conn: &mut PgConnection, login: &str) -> Result<Option<AccountRow>, sqlx::Error> {
    sqlx::query_as(concat!(
        "select ",
        account_columns!(),
        " from accounts
         where kind = 'staff' and deleted_at is null and (lower(login) = lower($1) or lower(email) = lower($1))
         order by (lower(login) = lower($1)) desc limit 1"
    ))
    .bind(login.trim())
    .fetch_optional(conn)
    .await
}

pub async fn find_service_account(conn: &mut PgConnection, client_id: &str) -> Result<Option<AccountRow>, sqlx::Error> {
    sqlx::query_as(concat!(
        "select ",
        account_columns!(),
        " from accounts where kind = 'service' and deleted_at is null and client_id = $1"
    ))
    .bind(client_id)
    .fetch_optional(conn)
    .await
}

/// Editable staff fields.
#[derive(Debug, Clone)]
pub struct StaffUpdate {
    pub surname: String,
    pub name: String,
    pub patronymic: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub telegram_username: Option<String>,
    pub district_id: Option<Uuid>,
    pub organisation_id: Option<Uuid>,
    pub login: Option<String>,
    pub roles: Vec<String>,
}

pub async fn update_staff(
    conn: &mut PgConnection,
    id: Uuid,
    u: &StaffUpdate,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update accounts set surname = $2, name = $3, patronymic = $4, email = $5, phone = $6,
            telegram_username = $7, district_id = $8, organisation_id = $9, login = $10, roles = $11, updated_at = $12
         where id = $1",
    )
    .bind(id)
    .bind(&u.surname)
    .bind(&u.name)
    .bind(&u.patronymic)
    .bind(&u.email)
    .bind(&u.phone)
    .bind(&u.telegram_username)
    .bind(u.district_id)
    .bind(u.organisation_id)
    .bind(&u.login)
    .bind(&u.roles)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Editable citizen fields (the card's copy in cases is the source).
#[derive(Debug, Clone)]
pub struct CitizenUpdate {
    pub surname: String,
    pub name: String,
    pub patronymic: String,
    pub phone: Option<String>,
    pub email: Option<String>,
}

pub async fn update_citizen(
    conn: &mut PgConnection,
    id: Uuid,
    u: &CitizenUpdate,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update accounts set surname = $2, name = $3, patronymic = $4, phone = $5, email = $6, updated_at = $7
         where id = $1",
    )
    .bind(id)
    .bind(&u.surname)
    .bind(&u.name)
    .bind(&u.patronymic)
    .bind(&u.phone)
    .bind(&u.email)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn set_password(
    conn: &mut PgConnection,
    id: Uuid,
    hash: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update accounts set password_hash = $2, status = case when status = 'pending_activation' then 'active' else status end,
            failed_logins = 0, locked_until = null, updated_at = $3 where id = $1",
    )
    .bind(id)
    .bind(hash)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn soft_delete(conn: &mut PgConnection, id: Uuid, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
    sqlx::query("update accounts set status = 'deleted', deleted_at = $2, updated_at = $2 where id = $1")
        .bind(id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    sqlx::query("update sessions set revoked_at = $2 where account_id = $1 and revoked_at is null")
        .bind(id)
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}

/// Counts a failed login; locks the account when `threshold` is reached.
pub async fn record_failed_login(
    conn: &mut PgConnection,
    id: Uuid,
    threshold: i32,
    lock_until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        // After a lockout has run out, counting starts again from one.
        "update accounts set
            failed_logins = case when locked_until is not null and locked_until <= $4 then 1 else failed_logins + 1 end,
            locked_until = case
                when locked_until is not null and locked_until <= $4 then case when 1 >= $2 then $3 end
                when failed_logins + 1 >= $2 then $3
                else locked_until end
         where id = $1",
    )
    .bind(id)
    .bind(threshold)
    .bind(lock_until)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn reset_failed_logins(conn: &mut PgConnection, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("update accounts set failed_logins = 0, locked_until = null where id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

#[derive(Debug, Default)]
pub struct AccountFilter {
    pub kind: Option<&'static str>,
    /// Which citizen accounts may be listed (`All` for staff and services).
    pub citizens: crate::domain::CitizenScope,
    pub role: Option<String>,
    pub query: Option<String>,
    pub include_deleted: bool,
    pub limit: i64,
    pub offset: i64,
}

pub async fn list_accounts(conn: &mut PgConnection, f: &AccountFilter) -> Result<(Vec<AccountRow>, i64), sqlx::Error> {
    let pattern = f.query.as_ref().map(|q| format!("%{}%", q.trim().to_lowercase().replace('ё', "е")));
    let (all, curator, districts) = f.citizens.binds();
    let total: i64 = sqlx::query_scalar(concat!("select count(*) from accounts where ", account_filter!()))
        .bind(f.kind)
        .bind(&f.role)
        .bind(f.include_deleted)
        .bind(&pattern)
        .bind(all)
        .bind(curator)
        .bind(&districts)
        .fetch_one(&mut *conn)
        .await?;
    let rows = sqlx::query_as(concat!(
        "select ",
        account_columns!(),
        " from accounts where ",
        account_filter!(),
        " order by replace(lower(surname), 'ё', 'е'), replace(lower(name), 'ё', 'е'), lower(patronymic), id limit $8 offset $9"
    ))
    .bind(f.kind)
    .bind(&f.role)
    .bind(f.include_deleted)
    .bind(&pattern)
    .bind(all)
    .bind(curator)
    .bind(&districts)
    .bind(f.limit)
    .bind(f.offset)
    .fetch_all(conn)
    .await?;
    Ok((rows, total))
}

// ---- sessions and refresh tokens ----

pub async fn insert_session(
    conn: &mut PgConnection,
    id: Uuid,
    tenant_id: Uuid,
    account_id: Uuid,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query("insert into sessions (id, tenant_id, account_id, created_at, expires_at) values ($1,$2,$3,$4,$5)")
        .bind(id)
        .bind(tenant_id)
        .bind(account_id)
        .bind(now)
        .bind(expires_at)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn session_is_live(conn: &mut PgConnection, id: Uuid, now: DateTime<Utc>) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("select exists(select 1 from sessions where id = $1 and revoked_at is null and expires_at > $2)")
        .bind(id)
        .bind(now)
        .fetch_one(conn)
        .await
}

/// Ends every session of an account except `keep` (the caller's own).
pub async fn revoke_sessions_of(
    conn: &mut PgConnection,
    account_id: Uuid,
    keep: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "update sessions set revoked_at = $3
         where account_id = $1 and revoked_at is null and ($2::uuid is null or id <> $2)
         returning id",
    )
    .bind(account_id)
    .bind(keep)
    .bind(now)
    .fetch_all(conn)
    .await
}

pub async fn revoke_session(conn: &mut PgConnection, id: Uuid, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
    sqlx::query("update sessions set revoked_at = $2 where id = $1 and revoked_at is null")
        .bind(id)
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn insert_refresh(
    conn: &mut PgConnection,
    hash: &str,
    tenant_id: Uuid,
    session_id: Uuid,
    expires_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query("insert into refresh_tokens (token_hash, tenant_id, session_id, expires_at) values ($1,$2,$3,$4)")
        .bind(hash)
        .bind(tenant_id)
        .bind(session_id)
        .bind(expires_at)
        .execute(conn)
        .await?;
    Ok(())
}

#[derive(Debug, sqlx::FromRow)]
pub struct RefreshRow {
    pub session_id: Uuid,
    pub account_id: Uuid,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Locks the token row so two concurrent refreshes cannot both rotate it.
pub async fn find_refresh(conn: &mut PgConnection, hash: &str) -> Result<Option<RefreshRow>, sqlx::Error> {
    sqlx::query_as(
        "select r.session_id, s.account_id, r.expires_at, r.used_at, s.revoked_at
         from refresh_tokens r join sessions s on s.id = r.session_id
         where r.token_hash = $1 for update of r",
    )
    .bind(hash)
    .fetch_optional(conn)
    .await
}

pub async fn mark_refresh_used(conn: &mut PgConnection, hash: &str, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
    sqlx::query("update refresh_tokens set used_at = $2 where token_hash = $1")
        .bind(hash)
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}

// ---- one-time codes (activation links, reset codes) ----

pub async fn insert_code(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    account_id: Uuid,
    purpose: &str,
    code_hash: &str,
    expires_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    // A new code replaces any earlier unused one of the same purpose.
    sqlx::query("update one_time_codes set used_at = now() where account_id = $1 and purpose = $2 and used_at is null")
        .bind(account_id)
        .bind(purpose)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "insert into one_time_codes (id, tenant_id, account_id, purpose, code_hash, expires_at) values ($1,$2,$3,$4,$5,$6)",
    )
    .bind(Uuid::now_v7())
    .bind(tenant_id)
    .bind(account_id)
    .bind(purpose)
    .bind(code_hash)
    .bind(expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(Debug, sqlx::FromRow)]
pub struct CodeRow {
    pub id: Uuid,
    pub account_id: Uuid,
    pub code_hash: String,
    pub expires_at: DateTime<Utc>,
    pub attempts: i32,
}

pub async fn find_code_by_hash(
    conn: &mut PgConnection,
    purpose: &str,
    hash: &str,
) -> Result<Option<CodeRow>, sqlx::Error> {
    sqlx::query_as(
        "select id, account_id, code_hash, expires_at, attempts from one_time_codes
         where purpose = $1 and code_hash = $2 and used_at is null for update",
    )
    .bind(purpose)
    .bind(hash)
    .fetch_optional(conn)
    .await
}

pub async fn open_code_for(
    conn: &mut PgConnection,
    account_id: Uuid,
    purpose: &str,
) -> Result<Option<CodeRow>, sqlx::Error> {
    sqlx::query_as(
        "select id, account_id, code_hash, expires_at, attempts from one_time_codes
         where account_id = $1 and purpose = $2 and used_at is null order by created_at desc limit 1 for update",
    )
    .bind(account_id)
    .bind(purpose)
    .fetch_optional(conn)
    .await
}

pub async fn use_code(conn: &mut PgConnection, id: Uuid, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
    sqlx::query("update one_time_codes set used_at = $2 where id = $1").bind(id).bind(now).execute(conn).await?;
    Ok(())
}

/// Codes of `purpose` issued to the account within the last `secs` seconds
/// (used or not): the reset mail is throttled per account on this, so it
/// holds across replicas and restarts. `created_at` is the database's clock.
pub async fn codes_issued_within(
    conn: &mut PgConnection,
    account_id: Uuid,
    purpose: &str,
    secs: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "select count(*) from one_time_codes
         where account_id = $1 and purpose = $2 and created_at > now() - make_interval(secs => $3)",
    )
    .bind(account_id)
    .bind(purpose)
    .bind(secs as f64)
    .fetch_one(conn)
    .await
}

/// Wrong reset-code guesses of the account within the window that started
/// after `window_start` (older counts no longer matter).
pub async fn reset_guesses(conn: &mut PgConnection, id: Uuid, window_start: DateTime<Utc>) -> Result<i32, sqlx::Error> {
    let n: Option<i32> = sqlx::query_scalar(
        "select case when reset_guesses_since > $2 then reset_guesses else 0 end from accounts where id = $1",
    )
    .bind(id)
    .bind(window_start)
    .fetch_optional(conn)
    .await?;
    Ok(n.unwrap_or(0))
}

/// Counts one wrong reset-code guess against the account; a window that has
/// run out starts again from one.
pub async fn record_reset_guess(
    conn: &mut PgConnection,
    id: Uuid,
    window_start: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update accounts set
            reset_guesses = case when reset_guesses_since > $2 then reset_guesses + 1 else 1 end,
            reset_guesses_since = case when reset_guesses_since > $2 then reset_guesses_since else $3 end
         where id = $1",
    )
    .bind(id)
    .bind(window_start)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Locks the account's row for the rest of the transaction, so concurrent
/// guesses against one account are counted one after another.
pub async fn lock_account(conn: &mut PgConnection, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("select 1 from accounts where id = $1 for update").bind(id).execute(conn).await?;
    Ok(())
}

pub async fn clear_reset_guesses(conn: &mut PgConnection, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("update accounts set reset_guesses = 0, reset_guesses_since = null where id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn bump_code_attempts(conn: &mut PgConnection, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("update one_time_codes set attempts = attempts + 1 where id = $1").bind(id).execute(conn).await?;
    Ok(())
}

// ---- bot link codes ----

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LinkCodeRow {
    pub citizen_account_id: Uuid,
    pub code: String,
    pub expires_at: DateTime<Utc>,
    pub redeemed_at: Option<DateTime<Utc>>,
}

pub async fn upsert_link_code(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    citizen: Uuid,
    code: &str,
    expires_at: DateTime<Utc>,
) -> Result<LinkCodeRow, sqlx::Error> {
    sqlx::query_as(
        "insert into bot_link_codes (citizen_account_id, tenant_id, code, expires_at) values ($1,$2,$3,$4)
         on conflict (citizen_account_id) do update set code = excluded.code, expires_at = excluded.expires_at
         returning citizen_account_id, code, expires_at, redeemed_at",
    )
    .bind(citizen)
    .bind(tenant_id)
    .bind(code)
    .bind(expires_at)
    .fetch_one(conn)
    .await
}

pub async fn get_link_code(conn: &mut PgConnection, citizen: Uuid) -> Result<Option<LinkCodeRow>, sqlx::Error> {
    sqlx::query_as(
        "select citizen_account_id, code, expires_at, redeemed_at from bot_link_codes where citizen_account_id = $1 for update",
    )
    .bind(citizen)
    .fetch_optional(conn)
    .await
}

pub async fn find_link_code(conn: &mut PgConnection, code: &str) -> Result<Option<LinkCodeRow>, sqlx::Error> {
    sqlx::query_as(
        "select citizen_account_id, code, expires_at, redeemed_at from bot_link_codes where code = $1 for update",
    )
    .bind(code)
    .fetch_optional(conn)
    .await
}

pub async fn set_link_expiry(
    conn: &mut PgConnection,
    citizen: Uuid,
    expires_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query("update bot_link_codes set expires_at = $2 where citizen_account_id = $1")
        .bind(citizen)
        .bind(expires_at)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn redeem_link(
    conn: &mut PgConnection,
    citizen: Uuid,
    chat_id: i64,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query("update accounts set telegram_chat_id = $2, updated_at = $3 where id = $1")
        .bind(citizen)
        .bind(chat_id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    sqlx::query("update bot_link_codes set redeemed_at = $3, telegram_chat_id = $2 where citizen_account_id = $1")
        .bind(citizen)
        .bind(chat_id)
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}

// ---- organisations and districts ----

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OrganisationRow {
    pub id: Uuid,
    pub name: String,
    pub kind: String,
    pub parent_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

pub async fn insert_organisation(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    o: &OrganisationRow,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into organisations (id, tenant_id, name, kind, parent_id, created_at) values ($1,$2,$3,$4,$5,$6)",
    )
    .bind(o.id)
    .bind(tenant_id)
    .bind(&o.name)
    .bind(&o.kind)
    .bind(o.parent_id)
    .bind(o.created_at)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn list_organisations(
    conn: &mut PgConnection,
    kind: Option<&str>,
) -> Result<Vec<OrganisationRow>, sqlx::Error> {
    sqlx::query_as(
        "select id, name, kind, parent_id, created_at from organisations where ($1::text is null or kind = $1) order by name",
    )
    .bind(kind)
    .fetch_all(conn)
    .await
}

pub async fn organisation_exists(conn: &mut PgConnection, id: Uuid) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("select exists(select 1 from organisations where id = $1)").bind(id).fetch_one(conn).await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DistrictRow {
    pub id: Uuid,
    pub name: String,
}

pub async fn insert_district(conn: &mut PgConnection, tenant_id: Uuid, d: &DistrictRow) -> Result<(), sqlx::Error> {
    sqlx::query("insert into districts (id, tenant_id, name) values ($1,$2,$3)")
        .bind(d.id)
        .bind(tenant_id)
        .bind(&d.name)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn rename_district(conn: &mut PgConnection, id: Uuid, name: &str) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query("update districts set name = $2 where id = $1")
        .bind(id)
        .bind(name)
        .execute(conn)
        .await?
        .rows_affected()
        == 1)
}

pub async fn list_districts(conn: &mut PgConnection, query: Option<&str>) -> Result<Vec<DistrictRow>, sqlx::Error> {
    let pattern = query.map(|q| format!("%{}%", q.trim().to_lowercase()));
    sqlx::query_as(
        "select id, name from districts where ($1::text is null or lower(name) like $1) order by lower(name)",
    )
    .bind(pattern)
    .fetch_all(conn)
    .await
}

pub async fn district_exists(conn: &mut PgConnection, id: Uuid) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("select exists(select 1 from districts where id = $1)").bind(id).fetch_one(conn).await
}

// ---- audit ----

pub use opeka_platform::audit::{Entry as AuditEntry, record as audit};

#[derive(Debug, sqlx::FromRow)]
pub struct AuditRow {
    pub id: Uuid,
    pub actor_id: String,
    pub action: String,
    pub entity: String,
    pub entity_id: String,
    pub details: serde_json::Value,
    pub occurred_at: DateTime<Utc>,
}

pub async fn list_audit(
    conn: &mut PgConnection,
    entity_id: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<Vec<AuditRow>, sqlx::Error> {
    sqlx::query_as(
        "select id, actor_id, action, entity, entity_id, details, occurred_at from audit_log
         where ($1::text is null or entity_id = $1) order by occurred_at desc, id desc limit $2 offset $3",
    )
    .bind(entity_id)
    .bind(limit)
    .bind(offset)
    .fetch_all(conn)
    .await
}
