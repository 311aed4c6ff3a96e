//! All SQL of appeals but the journal's filter query (`journal.rs`): cards,
//! numbers, reference nodes, the timeline, work items, preferences, request
//! ids. Queries run in a tenant transaction (RLS) and name `tenant_id` where
//! an index starts with it.
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::kit::search;

// ----------------------------------------------------------------- tenants

/// Remembers the tenant's slug for the postponement job (no RLS there).
pub async fn register_tenant(pool: &PgPool, tenant_id: Uuid, slug: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into appeal_tenants (tenant_id, slug) values ($1, $2)
         on conflict (tenant_id) do update set slug = excluded.slug where appeal_tenants.slug <> excluded.slug",
    )
    .bind(tenant_id)
    .bind(slug)
    .execute(pool)
    .await?;
    Ok(())
}

/// Every tenant with appeals: (id, slug).
pub async fn tenants(pool: &PgPool) -> Result<Vec<(Uuid, String)>, sqlx::Error> {
    sqlx::query_as("select tenant_id, slug from appeal_tenants order by tenant_id").fetch_all(pool).await
}

// ------------------------------------------------------------- request ids

/// What a request id stands for: the card, and for a comment its entry.
#[derive(Debug, Clone, Copy, sqlx::FromRow)]
pub struct Recalled {
    pub appeal_id: Uuid,
    pub entry_id: Option<Uuid>,
}

/// Claims `request_id` for this call. `None`: claimed now; `Some`: an
/// earlier call (committed, or waited for) already used it.
pub async fn claim_request(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    request_id: &str,
    appeal_id: Uuid,
    entry_id: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<Option<Recalled>, sqlx::Error> {
    let inserted = sqlx::query(
        "insert into appeal_requests (tenant_id, request_id, appeal_id, entry_id, created_at)
         values ($1, $2, $3, $4, $5) on conflict do nothing",
    )
    .bind(tenant_id)
    .bind(request_id)
    .bind(appeal_id)
    .bind(entry_id)
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if inserted == 1 {
        return Ok(None);
    }
    sqlx::query_as("select appeal_id, entry_id from appeal_requests where tenant_id = $1 and request_id = $2")
        .bind(tenant_id)
        .bind(request_id)
        .fetch_optional(conn)
        .await
}

// ----------------------------------------------------------------- appeals

/// A file of the files service on a solution or a comment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentRef {
    pub file_id: Uuid,
    #[serde(default)]
    pub name: String,
}

/// A card with the names of the reference nodes it points to.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AppealRow {
    pub id: Uuid,
    pub number: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub deadline: Option<NaiveDate>,
    pub citizen_name: String,
    pub citizen_email: String,
    pub citizen_phone: String,
    pub source_address: String,
    pub federal_district_id: Option<Uuid>,
    pub region_id: Uuid,
    pub municipality_id: Option<Uuid>,
    pub address: String,
    pub executor_org_id: Option<Uuid>,
    pub executor_org_name: String,
    pub executor_sub_org: String,
    pub category_type_id: Option<Uuid>,
    pub category_id: Option<Uuid>,
    pub subcategory_id: Option<Uuid>,
    pub urgent: bool,
    pub talked_before: bool,
    pub labels: Vec<String>,
    pub source_system: String,
    pub source_id: String,
    pub channel: String,
    pub stream: String,
    pub text: String,
    pub solution: String,
    pub answer: String,
    pub solution_attachments: Json<Vec<AttachmentRef>>,
    pub status: String,
    pub holder_id: Option<Uuid>,
    pub holder_name: String,
    pub last_executor_id: Option<Uuid>,
    pub last_executor_name: String,
    pub federal: bool,
    pub postponed_until: Option<NaiveDate>,
    pub postpone_reason: Option<String>,
    pub close_reason: Option<String>,
    pub close_comment: String,
    pub close_duplicate_of: Option<i64>,
    pub queue: Option<String>,
    pub version: i64,
    pub federal_district_name: Option<String>,
    pub region_name: Option<String>,
    pub municipality_name: Option<String>,
    pub category_type_name: Option<String>,
    pub category_name: Option<String>,
    pub subcategory_name: Option<String>,
}

const APPEAL_COLUMNS: &str = "a.id, a.number, a.created_at, a.updated_at, a.deadline, a.citizen_name,
    a.citizen_email, a.citizen_phone, a.source_address, a.federal_district_id, a.region_id, a.municipality_id,
    a.address, a.executor_org_id, a.executor_org_name, a.executor_sub_org, a.category_type_id, a.category_id,
    a.subcategory_id, a.urgent, a.talked_before, a.labels, a.source_system, a.source_id, a.channel, a.stream, a.text,
    a.solution, a.answer, a.solution_attachments, a.status, a.holder_id, a.holder_name, a.last_executor_id,
    a.last_executor_name, a.federal, a.postponed_until, a.postpone_reason, a.close_reason, a.close_comment,
    a.close_duplicate_of, a.queue, a.version,
    fd.name as federal_district_name, r.name as region_name, m.name as municipality_name,
    ct.name as category_type_name, c.name as category_name, sc.name as subcategory_name";

const APPEAL_JOINS: &str = "from appeals a
    left join reference_nodes fd on fd.id = a.federal_district_id
    left join reference_nodes r on r.id = a.region_id
    left join reference_nodes m on m.id = a.municipality_id
    left join reference_nodes ct on ct.id = a.category_type_id
    left join reference_nodes c on c.id = a.category_id
    left join reference_nodes sc on sc.id = a.subcategory_id";

/// Which card: by id or by the tenant's number.
#[derive(Debug, Clone, Copy)]
pub enum Key {
    Id(Uuid),
    Number(i64),
}

/// A card; `lock` takes its row lock for a change (FOR UPDATE of the card only).
pub async fn get_appeal(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    key: Key,
    lock: bool,
) -> Result<Option<AppealRow>, sqlx::Error> {
    let cond = match key {
        Key::Id(_) => "a.id = $1 and a.tenant_id = $2",
        Key::Number(_) => "a.number = $1 and a.tenant_id = $2",
    };
    let sql =
        format!("select {APPEAL_COLUMNS} {APPEAL_JOINS} where {cond} {}", if lock { "for update of a" } else { "" });
    let q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
    match key {
        Key::Id(id) => q.bind(id).bind(tenant_id).fetch_optional(conn).await,
        Key::Number(n) => q.bind(n).bind(tenant_id).fetch_optional(conn).await,
    }
}

/// The card's fields as intake or an update leaves them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fields {
    pub citizen_name: String,
    pub citizen_email: String,
    pub citizen_phone: String,
    pub phone_digits: String,
    pub source_address: String,
    pub federal_district_id: Option<Uuid>,
    pub region_id: Uuid,
    pub municipality_id: Option<Uuid>,
    pub address: String,
    pub executor_sub_org: String,
    pub category_type_id: Option<Uuid>,
    pub category_id: Option<Uuid>,
    pub subcategory_id: Option<Uuid>,
    pub urgent: bool,
    pub talked_before: bool,
    pub labels: Vec<String>,
    pub source_system: String,
    pub source_id: String,
    pub channel: String,
    pub stream: String,
    pub text: String,
    pub deadline: Option<NaiveDate>,
}

pub struct NewAppeal<'a> {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub fields: &'a Fields,
    pub executor_org: Option<(Uuid, String)>,
    pub status: &'a str,
    pub created_by: &'a str,
    pub now: DateTime<Utc>,
}

/// Stores a new card with the tenant's next number (its sequence, migration
/// 0005: no lock held to commit, so a number taken by an intake that fails is
/// skipped) and its search terms; returns it as `get_appeal` would, read
/// back by the same statement.
pub async fn insert_appeal(conn: &mut PgConnection, a: &NewAppeal<'_>) -> Result<AppealRow, sqlx::Error> {
    let f = a.fields;
    let joins = APPEAL_JOINS.replacen("from appeals a", "from a", 1);
    let sql = format!(
        "with a as (insert into appeals (id, tenant_id, number, created_at, updated_at, created_by, deadline,
            citizen_name, citizen_name_key, citizen_email, citizen_phone, phone_digits, source_address,
            federal_district_id, region_id, municipality_id, address, address_key, executor_org_id, executor_org_name,
            executor_sub_org, category_type_id, category_id, subcategory_id, urgent, talked_before, labels,
            source_system, source_id, channel, stream, text, status)
         values ($1, $2, next_appeal_number($2), $3, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
            $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31)
         returning *)
         select {APPEAL_COLUMNS} {joins}"
    );
    let row: AppealRow = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(a.id)
        .bind(a.tenant_id)
        .bind(a.now)
        .bind(a.created_by)
        .bind(f.deadline)
        .bind(&f.citizen_name)
        .bind(search::fold(&f.citizen_name))
        .bind(&f.citizen_email)
        .bind(&f.citizen_phone)
        .bind(&f.phone_digits)
        .bind(&f.source_address)
        .bind(f.federal_district_id)
        .bind(f.region_id)
        .bind(f.municipality_id)
        .bind(&f.address)
        .bind(search::fold(&f.address))
        .bind(a.executor_org.as_ref().map(|o| o.0))
        .bind(a.executor_org.as_ref().map(|o| o.1.as_str()).unwrap_or_default())
        .bind(&f.executor_sub_org)
        .bind(f.category_type_id)
        .bind(f.category_id)
        .bind(f.subcategory_id)
        .bind(f.urgent)
        .bind(f.talked_before)
        .bind(&f.labels)
        .bind(&f.source_system)
        .bind(&f.source_id)
        .bind(&f.channel)
        .bind(&f.stream)
        .bind(&f.text)
        .bind(a.status)
        .fetch_one(&mut *conn)
        .await?;
    insert_terms(conn, a.tenant_id, a.id, &f.citizen_name, &f.text).await?;
    Ok(row)
}

/// Replaces the editable fields (UpdateAppeal) and bumps the version.
pub async fn update_fields(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    f: &Fields,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update appeals set deadline = $2, citizen_name = $3, citizen_name_key = $4, citizen_email = $5,
            citizen_phone = $6, phone_digits = $7, source_address = $8, federal_district_id = $9, region_id = $10,
            municipality_id = $11, address = $12, address_key = $13, executor_sub_org = $14, category_type_id = $15,
            category_id = $16, subcategory_id = $17, urgent = $18, talked_before = $19, labels = $20,
            source_system = $21, source_id = $22, channel = $23, stream = $24, text = $25, updated_at = $26,
            version = version + 1
         where id = $1",
    )
    .bind(id)
    .bind(f.deadline)
    .bind(&f.citizen_name)
    .bind(search::fold(&f.citizen_name))
    .bind(&f.citizen_email)
    .bind(&f.citizen_phone)
    .bind(&f.phone_digits)
    .bind(&f.source_address)
    .bind(f.federal_district_id)
    .bind(f.region_id)
    .bind(f.municipality_id)
    .bind(&f.address)
    .bind(search::fold(&f.address))
    .bind(&f.executor_sub_org)
    .bind(f.category_type_id)
    .bind(f.category_id)
    .bind(f.subcategory_id)
    .bind(f.urgent)
    .bind(f.talked_before)
    .bind(&f.labels)
    .bind(&f.source_system)
    .bind(&f.source_id)
    .bind(&f.channel)
    .bind(&f.stream)
    .bind(&f.text)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    replace_terms(conn, tenant_id, id, &f.citizen_name, &f.text).await
}

/// The journal's search terms of a card (see the migration): folded name
/// words, and the Russian stems of the folded text as Postgres makes them.
async fn replace_terms(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    appeal_id: Uuid,
    name: &str,
    text: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("delete from appeal_terms where tenant_id = $1 and appeal_id = $2")
        .bind(tenant_id)
        .bind(appeal_id)
        .execute(&mut *conn)
        .await?;
    insert_terms(conn, tenant_id, appeal_id, name, text).await
}

/// The card's name words and text stems (see the migration's `appeal_terms`).
async fn insert_terms(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    appeal_id: Uuid,
    name: &str,
    text: &str,
) -> Result<(), sqlx::Error> {
    let names = search::words(name, search::MAX_TERMS);
    sqlx::query(
        "insert into appeal_terms (tenant_id, field, term, appeal_id)
         select $1, 'name', t, $2 from unnest($3::text[]) as t
         union
         select $1, 'text', left(l.lexeme, 64), $2 from unnest(to_tsvector('russian', $4)) as l
         on conflict do nothing",
    )
    .bind(tenant_id)
    .bind(appeal_id)
    .bind(&names)
    .bind(search::fold(text))
    .execute(conn)
    .await?;
    Ok(())
}

/// The Russian stems of a query, made the way the terms were.
pub async fn text_stems(conn: &mut PgConnection, query: &str) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "select distinct left(l.lexeme, 64) from unnest(to_tsvector('russian', $1)) as l order by 1 limit 8",
    )
    .bind(search::fold(query))
    .fetch_all(conn)
    .await
}

/// The card an executor holds other than `except`: (id, number).
pub async fn held_by(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    executor: Uuid,
    except: Option<Uuid>,
) -> Result<Option<(Uuid, i64)>, sqlx::Error> {
    sqlx::query_as(
        "select id, number from appeals where tenant_id = $1 and holder_id = $2 and ($3::uuid is null or id <> $3)",
    )
    .bind(tenant_id)
    .bind(executor)
    .bind(except)
    .fetch_optional(conn)
    .await
}

pub async fn number_exists(conn: &mut PgConnection, tenant_id: Uuid, number: i64) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("select exists(select 1 from appeals where tenant_id = $1 and number = $2)")
        .bind(tenant_id)
        .bind(number)
        .fetch_one(conn)
        .await
}

/// The card after a workflow step.
pub struct StepUpdate<'a> {
    pub id: Uuid,
    pub status: &'a str,
    pub holder: Option<(Uuid, String)>,
    pub last_executor: Option<(Uuid, String)>,
    pub executor_org: Option<(Uuid, String)>,
    pub federal: bool,
    pub labels: &'a [String],
    pub postponed: Option<(NaiveDate, String, String)>,
    pub close: Option<(String, String, Option<i64>)>,
    pub solution: Option<(&'a str, &'a str, &'a [AttachmentRef])>,
    pub queue: Option<&'a str>,
    pub now: DateTime<Utc>,
}

pub async fn save_step(conn: &mut PgConnection, u: &StepUpdate<'_>) -> Result<(), sqlx::Error> {
    let (holder, holder_name) = split(&u.holder);
    let (last, last_name) = split(&u.last_executor);
    let (org, org_name) = split(&u.executor_org);
    let (until, postpone_reason, postpone_comment) = match &u.postponed {
        Some((d, r, c)) => (Some(*d), Some(r.as_str()), c.as_str()),
        None => (None, None, ""),
    };
    let (close_reason, close_comment, duplicate_of) = match &u.close {
        Some((r, c, d)) => (Some(r.as_str()), c.as_str(), *d),
        None => (None, "", None),
    };
    sqlx::query(
        "update appeals set status = $2, holder_id = $3, holder_name = $4, last_executor_id = $5,
            last_executor_name = $6, executor_org_id = $7, executor_org_name = $8, federal = $9, labels = $10,
            postponed_until = $11, postpone_reason = $12, postpone_comment = $13, close_reason = $14,
            close_comment = $15, close_duplicate_of = $16, queue = $17, updated_at = $18, version = version + 1,
            solution = coalesce($19, solution), answer = coalesce($20, answer),
            solution_attachments = coalesce($21, solution_attachments)
         where id = $1",
    )
    .bind(u.id)
    .bind(u.status)
    .bind(holder)
    .bind(holder_name)
    .bind(last)
    .bind(last_name)
    .bind(org)
    .bind(org_name)
    .bind(u.federal)
    .bind(u.labels)
    .bind(until)
    .bind(postpone_reason)
    .bind(postpone_comment)
    .bind(close_reason)
    .bind(close_comment)
    .bind(duplicate_of)
    .bind(u.queue)
    .bind(u.now)
    .bind(u.solution.map(|s| s.0))
    .bind(u.solution.map(|s| s.1))
    .bind(u.solution.map(|s| Json(s.2.to_vec())))
    .execute(conn)
    .await?;
    Ok(())
}

/// A savepoint inside the caller's transaction: a failed statement after it
/// can be undone without losing the transaction.
pub async fn savepoint(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query("savepoint appeal_step").execute(conn).await?;
    Ok(())
}

pub async fn rollback_to_savepoint(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query("rollback to savepoint appeal_step").execute(conn).await?;
    Ok(())
}

pub async fn release_savepoint(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query("release savepoint appeal_step").execute(conn).await?;
    Ok(())
}

fn split(v: &Option<(Uuid, String)>) -> (Option<Uuid>, &str) {
    match v {
        Some((id, name)) => (Some(*id), name.as_str()),
        None => (None, ""),
    }
}

/// Postponed cards whose date has come (the job's list).
pub async fn due_postponed(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    today: NaiveDate,
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "select id from appeals where tenant_id = $1 and status = 'postponed' and postponed_until <= $2
         order by postponed_until, id limit 500",
    )
    .bind(tenant_id)
    .bind(today)
    .fetch_all(conn)
    .await
}

// ---------------------------------------------------------------- timeline

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TimelineRow {
    pub id: Uuid,
    pub appeal_id: Uuid,
    pub at: DateTime<Utc>,
    pub author_id: String,
    pub author_name: String,
    pub kind: String,
    pub action: String,
    pub summary: String,
    pub text: String,
    pub attachments: Json<Vec<AttachmentRef>>,
}

pub async fn insert_timeline(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    rows: &[TimelineRow],
) -> Result<(), sqlx::Error> {
    for r in rows {
        sqlx::query(
            "insert into appeal_timeline (id, tenant_id, appeal_id, at, author_id, author_name, kind, action, summary,
                text, attachments)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(r.id)
        .bind(tenant_id)
        .bind(r.appeal_id)
        .bind(r.at)
        .bind(&r.author_id)
        .bind(&r.author_name)
        .bind(&r.kind)
        .bind(&r.action)
        .bind(&r.summary)
        .bind(&r.text)
        .bind(&r.attachments)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

const TIMELINE_COLUMNS: &str = "id, appeal_id, at, author_id, author_name, kind, action, summary, text, attachments";

pub async fn list_timeline(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    appeal_id: Uuid,
) -> Result<Vec<TimelineRow>, sqlx::Error> {
    let sql =
        format!("select {TIMELINE_COLUMNS} from appeal_timeline where tenant_id = $1 and appeal_id = $2 order by seq");
    sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(tenant_id).bind(appeal_id).fetch_all(conn).await
}

pub async fn get_entry(conn: &mut PgConnection, id: Uuid, lock: bool) -> Result<Option<TimelineRow>, sqlx::Error> {
    let sql = format!(
        "select {TIMELINE_COLUMNS} from appeal_timeline where id = $1 {}",
        if lock { "for update" } else { "" }
    );
    sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(conn).await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EditRow {
    pub entry_id: Uuid,
    pub at: DateTime<Utc>,
    pub previous_text: String,
}

/// Edits of the given entries, oldest first.
pub async fn list_edits(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    entries: &[Uuid],
) -> Result<Vec<EditRow>, sqlx::Error> {
    sqlx::query_as(
        "select entry_id, at, previous_text from appeal_comment_edits
         where tenant_id = $1 and entry_id = any($2) order by at, id",
    )
    .bind(tenant_id)
    .bind(entries)
    .fetch_all(conn)
    .await
}

/// Replaces a comment's text, keeping the previous one in the history.
pub async fn edit_comment(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    entry: &TimelineRow,
    text: &str,
    by: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into appeal_comment_edits (id, tenant_id, entry_id, at, previous_text, edited_by)
         values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(Uuid::now_v7())
    .bind(tenant_id)
    .bind(entry.id)
    .bind(now)
    .bind(&entry.text)
    .bind(by)
    .execute(&mut *conn)
    .await?;
    sqlx::query("update appeal_timeline set text = $2, edited_at = $3 where id = $1")
        .bind(entry.id)
        .bind(text)
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}

// -------------------------------------------------------------- work items

pub struct WorkItemRow<'a> {
    pub appeal_id: Uuid,
    pub kind: &'a str,
    pub summary: &'a str,
    pub executor_id: Option<Uuid>,
    pub org_id: Option<Uuid>,
    pub now: DateTime<Utc>,
}

pub async fn insert_work_item(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    w: &WorkItemRow<'_>,
) -> Result<Uuid, sqlx::Error> {
    let id = Uuid::now_v7();
    sqlx::query(
        "insert into appeal_work_items (id, tenant_id, appeal_id, kind, summary, executor_id, org_id, created_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(id)
    .bind(tenant_id)
    .bind(w.appeal_id)
    .bind(w.kind)
    .bind(w.summary)
    .bind(w.executor_id)
    .bind(w.org_id)
    .bind(w.now)
    .execute(conn)
    .await?;
    Ok(id)
}

// ------------------------------------------------------------- preferences

pub async fn preferences(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    account: Uuid,
) -> Result<Option<Vec<String>>, sqlx::Error> {
    sqlx::query_scalar("select visible_filters from journal_preferences where tenant_id = $1 and account_id = $2")
        .bind(tenant_id)
        .bind(account)
        .fetch_optional(conn)
        .await
}

pub async fn save_preferences(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    account: Uuid,
    visible: &[String],
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into journal_preferences (tenant_id, account_id, visible_filters, updated_at) values ($1, $2, $3, $4)
         on conflict (tenant_id, account_id) do update set visible_filters = excluded.visible_filters,
            updated_at = excluded.updated_at",
    )
    .bind(tenant_id)
    .bind(account)
    .bind(visible)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

// ---------------------------------------------------------- reference data

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct NodeRow {
    pub id: Uuid,
    pub level: String,
    pub code: String,
    pub name: String,
    pub parent_id: Option<Uuid>,
    pub parent_code: Option<String>,
}

const NODE_COLUMNS: &str = "n.id, n.level, n.code, n.name, n.parent_id, p.code as parent_code
    from reference_nodes n left join reference_nodes p on p.id = n.parent_id";

pub async fn nodes_by_ids(conn: &mut PgConnection, ids: &[Uuid]) -> Result<Vec<NodeRow>, sqlx::Error> {
    let sql = format!("select {NODE_COLUMNS} where n.id = any($1)");
    sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(ids).fetch_all(conn).await
}

pub async fn nodes_by_codes(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    tree: &str,
    codes: &[String],
) -> Result<Vec<NodeRow>, sqlx::Error> {
    let sql = format!("select {NODE_COLUMNS} where n.tenant_id = $1 and n.tree = $2 and n.code = any($3)");
    sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(tenant_id).bind(tree).bind(codes).fetch_all(conn).await
}

/// A tree (or one node's children), parents before children, by name.
pub async fn list_nodes(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    tree: &str,
    parent: Option<Uuid>,
) -> Result<Vec<NodeRow>, sqlx::Error> {
    let sql = format!(
        "select {NODE_COLUMNS} where n.tenant_id = $1 and n.tree = $2 and ($3::uuid is null or n.parent_id = $3)
         order by array_position(array['federal_district', 'region', 'municipality', 'category_type', 'category',
                                       'subcategory'], n.level), n.name, n.code"
    );
    sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(tenant_id).bind(tree).bind(parent).fetch_all(conn).await
}

/// A node of an import, its parent already resolved.
pub struct NodeUpsert<'a> {
    pub tree: &'a str,
    pub level: &'a str,
    pub code: &'a str,
    pub name: &'a str,
    pub parent: Option<Uuid>,
}

/// Inserts or renames/moves a node by code; true when it was new.
pub async fn upsert_node(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    n: &NodeUpsert<'_>,
    now: DateTime<Utc>,
) -> Result<(Uuid, bool), sqlx::Error> {
    sqlx::query_as(
        "insert into reference_nodes (id, tenant_id, tree, level, code, name, parent_id, created_at, updated_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $8)
         on conflict (tenant_id, tree, code) do update set level = excluded.level, name = excluded.name,
            parent_id = excluded.parent_id, updated_at = excluded.updated_at
         returning id, (xmax = 0) as inserted",
    )
    .bind(Uuid::now_v7())
    .bind(tenant_id)
    .bind(n.tree)
    .bind(n.level)
    .bind(n.code)
    .bind(n.name)
    .bind(n.parent)
    .bind(now)
    .fetch_one(conn)
    .await
}

// ------------------------------------------------------- the work queue

/// Whose work items a caller sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkItemsFor {
    /// Supervisors and admins: the whole tenant's.
    All,
    /// An executor: the items addressed to them, and their organisation's addressed to nobody in particular.
    Executor { id: Uuid, org: Option<Uuid> },
}

impl WorkItemsFor {
    /// `(executor, org)` binds of the recipient condition; `None` for the whole tenant.
    fn binds(self) -> (Option<Uuid>, Option<Uuid>) {
        match self {
            WorkItemsFor::All => (None, None),
            WorkItemsFor::Executor { id, org } => (Some(id), org),
        }
    }
}

/// The recipient condition on `w` with the executor in `$2` and the organisation in `$3`.
const WORK_ITEM_RECIPIENT: &str =
    "($2::uuid is null or w.executor_id = $2 or (w.executor_id is null and w.org_id = $3::uuid))";

/// A work item with its card's number.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WorkItemView {
    pub id: Uuid,
    pub appeal_id: Uuid,
    pub appeal_number: i64,
    pub kind: String,
    pub summary: String,
    pub created_at: DateTime<Utc>,
    pub processed_at: Option<DateTime<Utc>>,
    /// The name of who processed it.
    pub processed_by: Option<String>,
    pub executor_id: Option<Uuid>,
    pub org_id: Option<Uuid>,
}

const WORK_ITEM_COLUMNS: &str = "w.id, w.appeal_id, a.number as appeal_number, w.kind, w.summary, w.created_at,
    w.processed_at, w.processed_by, w.executor_id, w.org_id
    from appeal_work_items w join appeals a on a.id = w.appeal_id";

/// A page of the items `whom` sees, newest first (only waiting ones unless `include_processed`),
/// with the number of rows matching and the number waiting.
pub async fn list_work_items(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    whom: WorkItemsFor,
    include_processed: bool,
    (limit, offset): (i64, i64),
) -> Result<(Vec<WorkItemView>, i64, i64), sqlx::Error> {
    let (executor, org) = whom.binds();
    let sql = format!(
        "select {WORK_ITEM_COLUMNS}
         where w.tenant_id = $1 and {WORK_ITEM_RECIPIENT} and ($4 or w.processed_at is null)
         order by w.created_at desc, w.id desc limit $5 offset $6"
    );
    let rows = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(tenant_id)
        .bind(executor)
        .bind(org)
        .bind(include_processed)
        .bind(limit)
        .bind(offset)
        .fetch_all(&mut *conn)
        .await?;
    let sql = format!(
        "select count(*) filter (where $4 or w.processed_at is null), count(*) filter (where w.processed_at is null)
         from appeal_work_items w where w.tenant_id = $1 and {WORK_ITEM_RECIPIENT}"
    );
    let (total, waiting): (i64, i64) = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(tenant_id)
        .bind(executor)
        .bind(org)
        .bind(include_processed)
        .fetch_one(conn)
        .await?;
    Ok((rows, total, waiting))
}

/// One item `whom` sees, locked for the rest of the transaction; `None`: no such item, or not theirs.
pub async fn lock_work_item(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    whom: WorkItemsFor,
    id: Uuid,
) -> Result<Option<WorkItemView>, sqlx::Error> {
    let (executor, org) = whom.binds();
    let sql = format!(
        "select {WORK_ITEM_COLUMNS} where w.tenant_id = $1 and {WORK_ITEM_RECIPIENT} and w.id = $4 for update of w"
    );
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(tenant_id)
        .bind(executor)
        .bind(org)
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// Marks a waiting item processed by `by` (a name); an item processed before keeps its first mark.
pub async fn mark_work_item_processed(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    by: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update appeal_work_items set processed_at = $3, processed_by = $4
         where tenant_id = $1 and id = $2 and processed_at is null",
    )
    .bind(tenant_id)
    .bind(id)
    .bind(now)
    .bind(by)
    .execute(conn)
    .await?;
    Ok(())
}
