//! Occurrences: materialised rule instants, their status, the calendars and
//! lists built on them, and the dispatcher's claims.
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

/// An occurrence with what the calendars show beside it: the series' text
/// and zone, the citizen's curator, name and bot account.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OccurrenceView {
    pub id: Uuid,
    pub series_id: Uuid,
    pub citizen_id: Uuid,
    pub kind: String,
    pub description: String,
    pub due_at: DateTime<Utc>,
    pub local_date: NaiveDate,
    pub local_time: NaiveTime,
    pub status: String,
    pub sent_at: Option<DateTime<Utc>>,
    pub answered_at: Option<DateTime<Utc>>,
    pub detached: bool,
    pub curator_id: Option<Uuid>,
    pub full_name: String,
    pub time_zone: String,
    pub account_id: Option<Uuid>,
    pub series_deleted: bool,
}

macro_rules! view {
    () => {
        "select o.id, o.series_id, o.citizen_id, o.kind, coalesce(o.description, s.description) as description,
                o.due_at, o.local_date, o.local_time, o.status, o.sent_at, o.answered_at, o.detached,
                c.curator_id, coalesce(c.full_name, '') as full_name, s.time_zone, c.account_id,
                (s.deleted_at is not null) as series_deleted
         from occurrences o
         join series s on s.id = o.series_id
         left join citizens c on c.tenant_id = o.tenant_id and c.citizen_id = o.citizen_id "
    };
}

/// One rule instant about to become a row.
#[derive(Debug, Clone)]
pub struct NewOccurrence {
    pub original_at: DateTime<Utc>,
    pub local_date: NaiveDate,
    pub local_time: NaiveTime,
    /// planned, or paused (an exception covers it).
    pub status: &'static str,
}

/// Inserts the instants a series does not have yet (a row's identity is
/// its series and rule instant); returns how many were new.
pub async fn insert_occurrences(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    series_id: Uuid,
    citizen_id: Uuid,
    kind: &str,
    rows: &[NewOccurrence],
    now: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    if rows.is_empty() {
        return Ok(0);
    }
    let ids: Vec<Uuid> = rows.iter().map(|_| Uuid::now_v7()).collect();
    let at: Vec<DateTime<Utc>> = rows.iter().map(|r| r.original_at).collect();
    let dates: Vec<NaiveDate> = rows.iter().map(|r| r.local_date).collect();
    let times: Vec<NaiveTime> = rows.iter().map(|r| r.local_time).collect();
    let statuses: Vec<&str> = rows.iter().map(|r| r.status).collect();
    let r = sqlx::query(
        "insert into occurrences (id, tenant_id, series_id, citizen_id, kind, original_at, due_at, local_date,
            local_time, status, created_at, updated_at)
         select u.id, $1, $2, $3, $4, u.at, u.at, u.local_date, u.local_time, u.status, $10, $10
         from unnest($5::uuid[], $6::timestamptz[], $7::date[], $8::time[], $9::text[])
              as u (id, at, local_date, local_time, status)
         on conflict (series_id, original_at) do nothing",
    )
    .bind(tenant_id)
    .bind(series_id)
    .bind(citizen_id)
    .bind(kind)
    .bind(&ids)
    .bind(&at)
    .bind(&dates)
    .bind(&times)
    .bind(&statuses)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(r.rows_affected())
}

/// Removes the series' planned and paused occurrences from `from` on that
/// were not edited apart (an update of the whole series replaces them).
pub async fn drop_pending_from(
    conn: &mut PgConnection,
    series_id: Uuid,
    from: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    let r = sqlx::query(
        "delete from occurrences
         where series_id = $1 and status in ('planned', 'paused') and not detached and original_at >= $2",
    )
    .bind(series_id)
    .bind(from)
    .execute(conn)
    .await?;
    Ok(r.rows_affected())
}

/// Occurrences that already happened keep the text they were sent with
/// when the series' text changes.
pub async fn keep_text(conn: &mut PgConnection, series_id: Uuid, text: &str) -> Result<u64, sqlx::Error> {
    let r = sqlx::query(
        "update occurrences set description = $2
         where series_id = $1 and description is null and status not in ('planned', 'paused')",
    )
    .bind(series_id)
    .bind(text)
    .execute(conn)
    .await?;
    Ok(r.rows_affected())
}

/// Cancels every planned or paused occurrence of the series (deletion).
pub async fn cancel_pending(
    conn: &mut PgConnection,
    series_ids: &[Uuid],
    now: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    let r = sqlx::query(
        "update occurrences set status = 'cancelled', updated_at = $2
         where series_id = any($1) and status in ('planned', 'paused')",
    )
    .bind(series_ids)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(r.rows_affected())
}

/// One occurrence (any status); `lock` takes its row for an update.
pub async fn get(conn: &mut PgConnection, id: Uuid, lock: bool) -> Result<Option<OccurrenceView>, sqlx::Error> {
    let sql =
        if lock { concat!(view!(), "where o.id = $1 for update of o") } else { concat!(view!(), "where o.id = $1") };
    sqlx::query_as(sql).bind(id).fetch_optional(conn).await
}

/// One occurrence edited apart from its series.
pub struct OccurrenceEdit {
    pub description: Option<String>,
    pub due_at: DateTime<Utc>,
    pub local_date: NaiveDate,
    pub local_time: NaiveTime,
    pub status: &'static str,
}

pub async fn edit(
    conn: &mut PgConnection,
    id: Uuid,
    e: &OccurrenceEdit,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update occurrences set description = $2, due_at = $3, local_date = $4, local_time = $5, status = $6,
            detached = true, updated_at = $7
         where id = $1",
    )
    .bind(id)
    .bind(&e.description)
    .bind(e.due_at)
    .bind(e.local_date)
    .bind(e.local_time)
    .bind(e.status)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn set_status(
    conn: &mut PgConnection,
    id: Uuid,
    status: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query("update occurrences set status = $2, detached = true, updated_at = $3 where id = $1")
        .bind(id)
        .bind(status)
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}

/// Records «Выполнено» / «Пропущено».
pub async fn answer(conn: &mut PgConnection, id: Uuid, status: &str, at: DateTime<Utc>) -> Result<(), sqlx::Error> {
    sqlx::query("update occurrences set status = $2, answered_at = $3, updated_at = $3 where id = $1")
        .bind(id)
        .bind(status)
        .bind(at)
        .execute(conn)
        .await?;
    Ok(())
}

/// notifications delivered the reminder to the chat.
pub async fn set_delivered(conn: &mut PgConnection, id: Uuid, at: DateTime<Utc>) -> Result<bool, sqlx::Error> {
    let r = sqlx::query("update occurrences set delivered_at = coalesce(delivered_at, $2) where id = $1")
        .bind(id)
        .bind(at)
        .execute(conn)
        .await?;
    Ok(r.rows_affected() > 0)
}

// --------------------------------------------------------------- calendars

/// Who and what a calendar or list covers.
pub struct ListFilter<'a> {
    pub tenant_id: Uuid,
    pub citizen_id: Option<Uuid>,
    /// A curator's own citizens (or an admin's choice of curator).
    pub curator_id: Option<Uuid>,
    /// Empty: every kind.
    pub kinds: &'a [&'static str],
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// The calendar (S0-58, S0-60, S0-75…S0-78, S0-96): every shown occurrence
/// due in [from, to), by due time. Cancelled ones are not shown; across
/// citizens, deleted cards are left out.
pub async fn calendar(conn: &mut PgConnection, f: &ListFilter<'_>) -> Result<Vec<OccurrenceView>, sqlx::Error> {
    sqlx::query_as(concat!(
        view!(),
        "where o.tenant_id = $1 and o.status <> 'cancelled'
           and ($2::uuid is null or o.citizen_id = $2)
           and ($3::uuid is null or c.curator_id = $3)
           and ($2::uuid is not null or c.deleted_at is null)
           and (cardinality($4::text[]) = 0 or o.kind = any($4))
           and ($5::timestamptz is null or o.due_at >= $5)
           and ($6::timestamptz is null or o.due_at < $6)
         order by o.due_at, o.id
         limit 20000"
    ))
    .bind(f.tenant_id)
    .bind(f.citizen_id)
    .bind(f.curator_id)
    .bind(f.kinds)
    .bind(f.from)
    .bind(f.to)
    .fetch_all(conn)
    .await
}

/// «Отклонения» (S0-46, S0-110): skipped or unanswered, newest first.
pub async fn deviations(conn: &mut PgConnection, f: &ListFilter<'_>) -> Result<Vec<OccurrenceView>, sqlx::Error> {
    sqlx::query_as(concat!(
        view!(),
        "where o.tenant_id = $1 and o.status in ('skipped', 'no_reaction')
           and ($2::uuid is null or o.citizen_id = $2)
           and ($3::uuid is null or c.curator_id = $3)
           and ($2::uuid is not null or c.deleted_at is null)
           and (cardinality($4::text[]) = 0 or o.kind = any($4))
           and ($5::timestamptz is null or o.due_at >= $5)
           and ($6::timestamptz is null or o.due_at < $6)
         order by o.due_at desc, o.id desc
         limit 5000"
    ))
    .bind(f.tenant_id)
    .bind(f.citizen_id)
    .bind(f.curator_id)
    .bind(f.kinds)
    .bind(f.from)
    .bind(f.to)
    .fetch_all(conn)
    .await
}

/// The bot's lists (S0-51…S0-54): citizen-facing, planned or sent, due in
/// [from, to), by due time.
pub async fn upcoming(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    citizen_id: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    kind: Option<&str>,
) -> Result<Vec<OccurrenceView>, sqlx::Error> {
    sqlx::query_as(concat!(
        view!(),
        "where o.tenant_id = $1 and o.citizen_id = $2 and o.due_at >= $3 and o.due_at < $4
           and o.status in ('planned', 'sent') and o.kind <> 'curator_note' and s.deleted_at is null
           and ($5::text is null or o.kind = $5)
         order by o.due_at, o.id"
    ))
    .bind(tenant_id)
    .bind(citizen_id)
    .bind(from)
    .bind(to)
    .bind(kind)
    .fetch_all(conn)
    .await
}

/// Citizen-facing reminders (planned or already released) due in (after, upto].
pub async fn slot_load(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    after: DateTime<Utc>,
    upto: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "select count(*) from occurrences
         where tenant_id = $1 and due_at > $2 and due_at <= $3
           and kind <> 'curator_note' and status in ('planned', 'sent')",
    )
    .bind(tenant_id)
    .bind(after)
    .bind(upto)
    .fetch_one(conn)
    .await
}

// -------------------------------------------------------------- dispatcher

/// An occurrence just released (or a curator note come due), with what its
/// event carries.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Released {
    pub id: Uuid,
    pub series_id: Uuid,
    pub citizen_id: Uuid,
    pub kind: String,
    pub description: String,
    pub due_at: DateTime<Utc>,
    pub local_date: NaiveDate,
    pub local_time: NaiveTime,
    pub time_zone: String,
    pub account_id: Option<Uuid>,
    pub curator_id: Option<Uuid>,
}

/// Planned occurrences overdue beyond the catch-up window become missed.
pub async fn mark_missed(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    before: DateTime<Utc>,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<u64, sqlx::Error> {
    let r = sqlx::query(
        "update occurrences set status = 'missed', updated_at = $3
         where id in (select id from occurrences
                      where tenant_id = $1 and status = 'planned' and due_at < $2
                      order by due_at limit $4 for update skip locked)",
    )
    .bind(tenant_id)
    .bind(before)
    .bind(now)
    .bind(limit)
    .execute(conn)
    .await?;
    Ok(r.rows_affected())
}

/// Curator notes whose time has come (no send-ahead): claimed, notified.
pub async fn claim_curator_notes(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<Released>, sqlx::Error> {
    sqlx::query_as(include_str!("sql/claim_curator_notes.sql"))
        .bind(tenant_id)
        .bind(now)
        .bind(limit)
        .fetch_all(conn)
        .await
}

/// The tenant's planned citizen-facing occurrences due by `until`, in due
/// order: the send-ahead computation's input.
pub async fn release_candidates(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    until: DateTime<Utc>,
) -> Result<Vec<(Uuid, DateTime<Utc>)>, sqlx::Error> {
    sqlx::query_as(
        "select id, due_at from occurrences
         where tenant_id = $1 and status = 'planned' and kind <> 'curator_note' and due_at <= $2
         order by due_at, id",
    )
    .bind(tenant_id)
    .bind(until)
    .fetch_all(conn)
    .await
}

/// Claims the given occurrences if still planned (other replicas skip what
/// this one holds) and marks them sent.
pub async fn claim_release(
    conn: &mut PgConnection,
    ids: &[Uuid],
    now: DateTime<Utc>,
) -> Result<Vec<Released>, sqlx::Error> {
    sqlx::query_as(
        // A join on the ids, not `id = any($1)`: with a generic plan the
        // latter can scan every planned row and test each against the array.
        include_str!("sql/claim_release.sql"),
    )
    .bind(ids)
    .bind(now)
    .fetch_all(conn)
    .await
}

/// Sent and unanswered past their grace period → no reaction (S0-76).
pub async fn sweep_no_reaction(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    due_before: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    let r = sqlx::query(
        "update occurrences set status = 'no_reaction', updated_at = $3
         where tenant_id = $1 and status = 'sent' and due_at < $2",
    )
    .bind(tenant_id)
    .bind(due_before)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(r.rows_affected())
}
