//! All of the files service's SQL. Every table is tenant-owned: queries run
//! only inside a tenant transaction (`db::tenant_tx`), where RLS hides every
//! other tenant's rows.
use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

// ---- file types ----

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FileTypeRow {
    pub id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

pub async fn insert_file_type(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    name: &str,
    now: DateTime<Utc>,
) -> Result<FileTypeRow, sqlx::Error> {
    sqlx::query_as(
        "insert into file_types (id, tenant_id, name, created_at) values ($1, $2, $3, $4)
         returning id, name, created_at, deleted_at",
    )
    .bind(id)
    .bind(tenant_id)
    .bind(name)
    .bind(now)
    .fetch_one(conn)
    .await
}

/// Renames a live type; `None` when there is none with that id.
pub async fn rename_file_type(
    conn: &mut PgConnection,
    id: Uuid,
    name: &str,
) -> Result<Option<FileTypeRow>, sqlx::Error> {
    sqlx::query_as(
        "update file_types set name = $2 where id = $1 and deleted_at is null
         returning id, name, created_at, deleted_at",
    )
    .bind(id)
    .bind(name)
    .fetch_optional(conn)
    .await
}

/// Soft-deletes a live type; `None` when there is none with that id.
pub async fn delete_file_type(
    conn: &mut PgConnection,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<FileTypeRow>, sqlx::Error> {
    sqlx::query_as(
        "update file_types set deleted_at = $2 where id = $1 and deleted_at is null
         returning id, name, created_at, deleted_at",
    )
    .bind(id)
    .bind(now)
    .fetch_optional(conn)
    .await
}

/// A type by id, deleted or not.
pub async fn get_file_type(conn: &mut PgConnection, id: Uuid) -> Result<Option<FileTypeRow>, sqlx::Error> {
    sqlx::query_as("select id, name, created_at, deleted_at from file_types where id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// A live type, share-locked so it cannot be deleted before the caller's
/// transaction (which gives it to a file) commits.
pub async fn live_file_type(conn: &mut PgConnection, id: Uuid) -> Result<Option<FileTypeRow>, sqlx::Error> {
    sqlx::query_as(
        "select id, name, created_at, deleted_at from file_types where id = $1 and deleted_at is null for share",
    )
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// Live types, alphabetical (ё sorted as е); `search` is a `search_key`.
pub async fn list_file_types(conn: &mut PgConnection, search: Option<&str>) -> Result<Vec<FileTypeRow>, sqlx::Error> {
    let pattern = search.filter(|s| !s.is_empty()).map(|s| format!("%{}%", escape_like(s)));
    sqlx::query_as(
        "select id, name, created_at, deleted_at from file_types
         where deleted_at is null and ($1::text is null or replace(lower(name), 'ё', 'е') like $1)
         order by replace(lower(name), 'ё', 'е'), name, id",
    )
    .bind(pattern)
    .fetch_all(conn)
    .await
}

fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

// ---- files ----

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FileRow {
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// Exactly one of `citizen_id` and `appeal_id` is set (`files_owner_check`).
    pub citizen_id: Option<Uuid>,
    pub appeal_id: Option<Uuid>,
    pub file_type_id: Option<Uuid>,
    pub file_type_name: Option<String>,
    pub original_name: String,
    pub content_type: String,
    pub declared_content_type: String,
    pub size: i64,
    pub sha256: String,
    pub storage_key: String,
    pub uploaded_by: Uuid,
    pub channel: String,
    pub created_at: DateTime<Utc>,
    pub type_changed_by: Option<Uuid>,
    pub type_changed_at: Option<DateTime<Utc>>,
}

macro_rules! file_select {
    () => {
        "select f.id, f.tenant_id, f.citizen_id, f.appeal_id, f.file_type_id, t.name as file_type_name, f.original_name,
            f.content_type, f.declared_content_type, f.size, f.sha256, f.storage_key, f.uploaded_by, f.channel,
            f.created_at, f.type_changed_by, f.type_changed_at
         from files f left join file_types t on t.id = f.file_type_id"
    };
}

/// The metadata of a stored blob.
#[derive(Debug, Clone)]
pub struct NewFile<'a> {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub citizen_id: Option<Uuid>,
    pub appeal_id: Option<Uuid>,
    pub file_type_id: Option<Uuid>,
    pub original_name: &'a str,
    pub content_type: &'a str,
    pub declared_content_type: &'a str,
    pub size: i64,
    pub sha256: &'a str,
    pub storage_key: &'a str,
    pub uploaded_by: Uuid,
    pub channel: &'a str,
    pub created_at: DateTime<Utc>,
}

pub async fn insert_file(conn: &mut PgConnection, f: &NewFile<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into files (id, tenant_id, citizen_id, file_type_id, original_name, content_type,
            declared_content_type, size, sha256, storage_key, uploaded_by, channel, created_at, appeal_id)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(f.id)
    .bind(f.tenant_id)
    .bind(f.citizen_id)
    .bind(f.file_type_id)
    .bind(f.original_name)
    .bind(f.content_type)
    .bind(f.declared_content_type)
    .bind(f.size)
    .bind(f.sha256)
    .bind(f.storage_key)
    .bind(f.uploaded_by)
    .bind(f.channel)
    .bind(f.created_at)
    .bind(f.appeal_id)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn get_file(conn: &mut PgConnection, id: Uuid) -> Result<Option<FileRow>, sqlx::Error> {
    sqlx::query_as(concat!(file_select!(), " where f.id = $1")).bind(id).fetch_optional(conn).await
}

/// The file row locked for a change.
pub async fn lock_file(conn: &mut PgConnection, id: Uuid) -> Result<Option<FileRow>, sqlx::Error> {
    sqlx::query_as(concat!(file_select!(), " where f.id = $1 for update of f")).bind(id).fetch_optional(conn).await
}

pub async fn set_file_type(
    conn: &mut PgConnection,
    id: Uuid,
    file_type_id: Option<Uuid>,
    by: Uuid,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query("update files set file_type_id = $2, type_changed_by = $3, type_changed_at = $4 where id = $1")
        .bind(id)
        .bind(file_type_id)
        .bind(by)
        .bind(at)
        .execute(conn)
        .await?;
    Ok(())
}

/// Where a page of files ends: the (created_at, id) of its last row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileCursor {
    pub created_at: DateTime<Utc>,
    pub id: Uuid,
}

/// With neither `citizen_id` nor `appeal_id`: the tenant's citizens' files
/// (an appeal's files are listed per appeal).
#[derive(Debug, Clone, Default)]
pub struct FileFilter {
    pub citizen_id: Option<Uuid>,
    pub appeal_id: Option<Uuid>,
    /// Whose citizens' files may be listed (`All` for an appeal's files).
    pub citizens: crate::domain::CitizenScope,
    pub file_type_id: Option<Uuid>,
    pub after: Option<FileCursor>,
    pub limit: i64,
}

macro_rules! file_filter {
    () => {
        " where ($1::uuid is null or f.citizen_id = $1) and ($2::uuid is null or f.file_type_id = $2)
           and (($3::uuid is null and f.citizen_id is not null) or f.appeal_id = $3)
           and ($4::bool or f.citizen_id in (select account_id from citizen_curators
                                              where curator_id = $5 or district_id = any($6)))"
    };
}

/// Newest first, keyset-paged; also the total matching the filter.
pub async fn list_files(conn: &mut PgConnection, f: &FileFilter) -> Result<(Vec<FileRow>, i64), sqlx::Error> {
    let (all, curator, districts) = f.citizens.binds();
    let total: i64 = sqlx::query_scalar(concat!("select count(*) from files f", file_filter!()))
        .bind(f.citizen_id)
        .bind(f.file_type_id)
        .bind(f.appeal_id)
        .bind(all)
        .bind(curator)
        .bind(&districts)
        .fetch_one(&mut *conn)
        .await?;
    let rows = sqlx::query_as(concat!(
        file_select!(),
        file_filter!(),
        " and ($7::timestamptz is null or (f.created_at, f.id) < ($7, $8))
         order by f.created_at desc, f.id desc limit $9"
    ))
    .bind(f.citizen_id)
    .bind(f.file_type_id)
    .bind(f.appeal_id)
    .bind(all)
    .bind(curator)
    .bind(&districts)
    .bind(f.after.map(|c| c.created_at))
    .bind(f.after.map(|c| c.id))
    .bind(f.limit)
    .fetch_all(conn)
    .await?;
    Ok((rows, total))
}

// ---- audit ----

pub use opeka_platform::audit::{Entry as AuditEntry, record as audit};
