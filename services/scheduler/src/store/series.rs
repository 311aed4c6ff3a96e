//! Reminder series: the rule as columns plus its RFC 5545 text, the horizon
//! up to which occurrences exist, soft deletion.
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SeriesRow {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub citizen_id: Uuid,
    pub kind: String,
    pub description: String,
    pub start_date: NaiveDate,
    pub time_of_day: NaiveTime,
    pub time_zone: String,
    pub frequency: String,
    pub interval: i32,
    pub weekdays: Vec<i16>,
    pub count: Option<i32>,
    pub until_date: Option<NaiveDate>,
    pub pauses: serde_json::Value,
    pub rrule: String,
    pub last_date: Option<NaiveDate>,
    pub materialised_until: DateTime<Utc>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

macro_rules! series_columns {
    () => {
        "id, tenant_id, citizen_id, kind, description, start_date, time_of_day, time_zone, frequency, interval,
         weekdays, count, until_date, pauses, rrule, last_date, materialised_until, created_by, created_at, updated_at"
    };
}

/// The rule and text of a series as stored (create and update alike).
#[derive(Debug, Clone)]
pub struct SeriesValues {
    pub kind: &'static str,
    pub description: String,
    pub start_date: NaiveDate,
    pub time_of_day: NaiveTime,
    pub time_zone: String,
    pub frequency: &'static str,
    pub interval: i32,
    pub weekdays: Vec<i16>,
    pub count: Option<i32>,
    pub until_date: Option<NaiveDate>,
    pub pauses: serde_json::Value,
    pub rrule: String,
    pub last_date: Option<NaiveDate>,
}

/// A series about to be stored.
pub struct NewSeries<'a> {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub citizen_id: Uuid,
    pub values: &'a SeriesValues,
    pub materialised_until: DateTime<Utc>,
    pub request_id: Option<&'a str>,
    pub created_by: &'a str,
    pub now: DateTime<Utc>,
}

/// Inserts a series; `None` when a series with the same `request_id`
/// exists already (a retried form).
pub async fn insert_series(conn: &mut PgConnection, n: &NewSeries<'_>) -> Result<Option<Uuid>, sqlx::Error> {
    let v = n.values;
    sqlx::query_scalar(
        "insert into series (id, tenant_id, citizen_id, kind, description, start_date, time_of_day, time_zone,
            frequency, interval, weekdays, count, until_date, pauses, rrule, last_date, materialised_until,
            request_id, created_by, created_at, updated_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $20)
         on conflict (tenant_id, request_id) where request_id is not null do nothing
         returning id",
    )
    .bind(n.id)
    .bind(n.tenant_id)
    .bind(n.citizen_id)
    .bind(v.kind)
    .bind(&v.description)
    .bind(v.start_date)
    .bind(v.time_of_day)
    .bind(&v.time_zone)
    .bind(v.frequency)
    .bind(v.interval)
    .bind(&v.weekdays)
    .bind(v.count)
    .bind(v.until_date)
    .bind(&v.pauses)
    .bind(&v.rrule)
    .bind(v.last_date)
    .bind(n.materialised_until)
    .bind(n.request_id)
    .bind(n.created_by)
    .bind(n.now)
    .fetch_optional(conn)
    .await
}

pub async fn update_series(
    conn: &mut PgConnection,
    id: Uuid,
    v: &SeriesValues,
    materialised_until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update series set kind = $2, description = $3, start_date = $4, time_of_day = $5, time_zone = $6,
            frequency = $7, interval = $8, weekdays = $9, count = $10, until_date = $11, pauses = $12, rrule = $13,
            last_date = $14, materialised_until = $15, updated_at = $16
         where id = $1",
    )
    .bind(id)
    .bind(v.kind)
    .bind(&v.description)
    .bind(v.start_date)
    .bind(v.time_of_day)
    .bind(&v.time_zone)
    .bind(v.frequency)
    .bind(v.interval)
    .bind(&v.weekdays)
    .bind(v.count)
    .bind(v.until_date)
    .bind(&v.pauses)
    .bind(&v.rrule)
    .bind(v.last_date)
    .bind(materialised_until)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// A live (not deleted) series; `lock` takes the row for an update.
pub async fn get_series(conn: &mut PgConnection, id: Uuid, lock: bool) -> Result<Option<SeriesRow>, sqlx::Error> {
    let sql = if lock {
        concat!("select ", series_columns!(), " from series where id = $1 and deleted_at is null for update")
    } else {
        concat!("select ", series_columns!(), " from series where id = $1 and deleted_at is null")
    };
    sqlx::query_as(sql).bind(id).fetch_optional(conn).await
}

pub async fn series_by_request(conn: &mut PgConnection, request_id: &str) -> Result<Option<SeriesRow>, sqlx::Error> {
    sqlx::query_as(concat!("select ", series_columns!(), " from series where request_id = $1 and deleted_at is null"))
        .bind(request_id)
        .fetch_optional(conn)
        .await
}

pub async fn soft_delete_series(
    conn: &mut PgConnection,
    id: Uuid,
    by: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update series set deleted_at = $2, deleted_by = $3, updated_at = $2 where id = $1 and deleted_at is null",
    )
    .bind(id)
    .bind(now)
    .bind(by)
    .execute(conn)
    .await?;
    Ok(())
}

/// Every live series of a deleted citizen: soft-deleted, ids returned.
pub async fn soft_delete_citizen_series(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    citizen: Uuid,
    now: DateTime<Utc>,
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "update series set deleted_at = $3, deleted_by = 'system', updated_at = $3
         where tenant_id = $1 and citizen_id = $2 and deleted_at is null returning id",
    )
    .bind(tenant_id)
    .bind(citizen)
    .bind(now)
    .fetch_all(conn)
    .await
}

/// Live series whose occurrences stop short of `target` and whose rule still
/// yields instants after that point, claimed for extension (other replicas
/// skip them).
pub async fn series_to_extend(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    target: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<SeriesRow>, sqlx::Error> {
    sqlx::query_as(concat!(
        "select ",
        series_columns!(),
        " from series
         where tenant_id = $1 and deleted_at is null and materialised_until < $2
           and last_date is not null
           and last_date >= (materialised_until at time zone time_zone)::date
         order by materialised_until, id
         limit $3
         for update skip locked"
    ))
    .bind(tenant_id)
    .bind(target)
    .bind(limit)
    .fetch_all(conn)
    .await
}

pub async fn set_materialised(conn: &mut PgConnection, id: Uuid, until: DateTime<Utc>) -> Result<(), sqlx::Error> {
    sqlx::query("update series set materialised_until = $2 where id = $1").bind(id).bind(until).execute(conn).await?;
    Ok(())
}
