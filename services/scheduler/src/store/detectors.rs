//! The detectors' queries (S0-90…S0-93) and their episodes: one open episode
//! per citizen and detector (a unique index), closed when the condition ends.
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

/// Per live citizen and local day: how many citizen-facing reminders were
/// skipped and done, over [from, to].
pub async fn answers_by_day(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<(Uuid, NaiveDate, i64, i64)>, sqlx::Error> {
    sqlx::query_as(
        "select o.citizen_id, o.local_date,
                count(*) filter (where o.status = 'skipped'), count(*) filter (where o.status = 'done')
         from occurrences o
         join citizens c on c.tenant_id = o.tenant_id and c.citizen_id = o.citizen_id and c.deleted_at is null
         where o.tenant_id = $1 and o.local_date between $2 and $3 and o.kind <> 'curator_note'
           and o.status in ('skipped', 'done')
         group by o.citizen_id, o.local_date",
    )
    .bind(tenant_id)
    .bind(from)
    .bind(to)
    .fetch_all(conn)
    .await
}

/// Per live citizen: the due time of the oldest reminder received (sent, or
/// turned «no reaction») after their last answer, if it is before `cutoff`.
pub async fn silent_since(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    cutoff: DateTime<Utc>,
) -> Result<Vec<(Uuid, DateTime<Utc>)>, sqlx::Error> {
    sqlx::query_as(include_str!("sql/silent_since.sql")).bind(tenant_id).bind(cutoff).fetch_all(conn).await
}

/// Per live citizen with live citizen-facing series: the last date any of
/// them yields, when it lies in [lo, hi] and nothing is planned after `hi`.
pub async fn assignments_ending(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    lo: NaiveDate,
    hi: NaiveDate,
) -> Result<Vec<(Uuid, NaiveDate)>, sqlx::Error> {
    sqlx::query_as(include_str!("sql/assignments_ending.sql")).bind(tenant_id).bind(lo).bind(hi).fetch_all(conn).await
}

/// Opens an episode unless one is open; the new episode's id, or `None`.
pub async fn open_episode(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    citizen_id: Uuid,
    kind: &str,
    days: i32,
    now: DateTime<Utc>,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "insert into detector_episodes (id, tenant_id, citizen_id, kind, days, opened_at)
         values ($1, $2, $3, $4, $5, $6)
         on conflict (tenant_id, citizen_id, kind) where closed_at is null do nothing
         returning id",
    )
    .bind(Uuid::now_v7())
    .bind(tenant_id)
    .bind(citizen_id)
    .bind(kind)
    .bind(days)
    .bind(now)
    .fetch_optional(conn)
    .await
}

/// Open episodes of one detector: (id, citizen).
pub async fn open_episodes(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    kind: &str,
) -> Result<Vec<(Uuid, Uuid)>, sqlx::Error> {
    sqlx::query_as(
        "select id, citizen_id from detector_episodes where tenant_id = $1 and kind = $2 and closed_at is null",
    )
    .bind(tenant_id)
    .bind(kind)
    .fetch_all(conn)
    .await
}

pub async fn close_episodes(conn: &mut PgConnection, ids: &[Uuid], now: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    let r = sqlx::query("update detector_episodes set closed_at = $2 where id = any($1) and closed_at is null")
        .bind(ids)
        .bind(now)
        .execute(conn)
        .await?;
    Ok(r.rows_affected())
}

/// Closes a citizen's open episodes of the given kinds (an answer ends
/// «пропуск» when it is «Выполнено» and «неактивный» whatever it is).
pub async fn close_citizen_episodes(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    citizen_id: Uuid,
    kinds: &[&str],
    now: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    let r = sqlx::query(
        "update detector_episodes set closed_at = $4
         where tenant_id = $1 and citizen_id = $2 and kind = any($3) and closed_at is null",
    )
    .bind(tenant_id)
    .bind(citizen_id)
    .bind(kinds)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(r.rows_affected())
}

/// Open episodes whose condition ended by an answer after they opened:
/// «пропуск» by a «Выполнено», «неактивный» by any answer.
pub async fn close_answered(conn: &mut PgConnection, tenant_id: Uuid, now: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    let r = sqlx::query(
        "update detector_episodes e set closed_at = $2
         where e.tenant_id = $1 and e.closed_at is null and e.kind in ('skipped_days', 'silent_days')
           and exists (select 1 from occurrences o
                       where o.tenant_id = e.tenant_id and o.citizen_id = e.citizen_id
                         and o.answered_at >= e.opened_at
                         and (e.kind = 'silent_days' or o.status = 'done'))",
    )
    .bind(tenant_id)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(r.rows_affected())
}
