//! All of cases' SQL. Every table is tenant-owned: queries run inside a
//! tenant transaction (RLS) and also name `tenant_id` where an index starts
//! with it, so the planner can use it.
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

use super::domain::{CitizenDraft, TenantSettings};
use crate::kit::period::Window;
use crate::kit::search::{self, PrefixRange};

// ---------------------------------------------------------------- settings

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SettingsRow {
    pub citizen_term: String,
    pub citizens_section: String,
    pub curator_term: String,
    pub curators_section: String,
    pub curators_read_all: bool,
    pub time_zone: String,
    pub updated_at: DateTime<Utc>,
}

pub async fn tenant_settings(conn: &mut PgConnection) -> Result<Option<SettingsRow>, sqlx::Error> {
    sqlx::query_as(
        "select citizen_term, citizens_section, curator_term, curators_section, curators_read_all, time_zone,
                updated_at
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
    sqlx::query(
        "insert into tenant_settings (tenant_id, citizen_term, citizens_section, curator_term, curators_section,
            curators_read_all, time_zone, updated_at, updated_by)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         on conflict (tenant_id) do update set citizen_term = excluded.citizen_term,
            citizens_section = excluded.citizens_section, curator_term = excluded.curator_term,
            curators_section = excluded.curators_section, curators_read_all = excluded.curators_read_all,
            time_zone = excluded.time_zone, updated_at = excluded.updated_at, updated_by = excluded.updated_by",
    )
    .bind(tenant_id)
    .bind(&s.citizen_term)
    .bind(&s.citizens_section)
    .bind(&s.curator_term)
    .bind(&s.curators_section)
    .bind(s.curators_read_all)
    .bind(s.time_zone.name())
    .bind(now)
    .bind(by)
    .execute(conn)
    .await?;
    Ok(())
}

// ---------------------------------------------------------- special groups

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct GroupRow {
    pub id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

pub async fn insert_group(conn: &mut PgConnection, tenant_id: Uuid, g: &GroupRow) -> Result<(), sqlx::Error> {
    sqlx::query("insert into special_groups (id, tenant_id, name, name_key, created_at) values ($1, $2, $3, $4, $5)")
        .bind(g.id)
        .bind(tenant_id)
        .bind(&g.name)
        .bind(search::fold(&g.name))
        .bind(g.created_at)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn rename_group(conn: &mut PgConnection, id: Uuid, name: &str) -> Result<Option<GroupRow>, sqlx::Error> {
    sqlx::query_as("update special_groups set name = $2, name_key = $3 where id = $1 returning id, name, created_at")
        .bind(id)
        .bind(name)
        .bind(search::fold(name))
        .fetch_optional(conn)
        .await
}

/// Deletes the group and, by cascade, its place on every card; returns the
/// live cards that had it: (citizen, curator).
pub async fn delete_group(conn: &mut PgConnection, id: Uuid) -> Result<Option<Vec<(Uuid, Option<Uuid>)>>, sqlx::Error> {
    let had: Vec<(Uuid, Option<Uuid>)> = sqlx::query_as(
        "select c.id, c.curator_id from citizen_special_groups g
         join citizens c on c.id = g.citizen_id and c.tenant_id = g.tenant_id
         where g.group_id = $1 and c.deleted_at is null",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let deleted = sqlx::query("delete from special_groups where id = $1").bind(id).execute(&mut *conn).await?;
    Ok((deleted.rows_affected() == 1).then_some(had))
}

/// Alphabetical; `query` matches any part of the name, ignoring case and ё/е
/// (a short reference list: no index needed).
pub async fn list_groups(conn: &mut PgConnection, query: Option<&str>) -> Result<Vec<GroupRow>, sqlx::Error> {
    // Folding leaves letters, digits and spaces only: no LIKE wildcards get through.
    let pattern = query.map(search::fold).filter(|q| !q.is_empty()).map(|q| format!("%{q}%"));
    sqlx::query_as(
        "select id, name, created_at from special_groups
         where $1::text is null or name_key like $1
         order by name_key, id",
    )
    .bind(pattern)
    .fetch_all(conn)
    .await
}

/// The ids among `ids` that name existing groups.
pub async fn existing_groups(conn: &mut PgConnection, ids: &[Uuid]) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar("select id from special_groups where id = any($1)").bind(ids).fetch_all(conn).await
}

// ---------------------------------------------------------------- citizens

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CitizenRow {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub account_id: Uuid,
    pub surname: String,
    pub name: String,
    pub patronymic: String,
    pub birth_date: Option<NaiveDate>,
    pub inn: Option<String>,
    pub phone: String,
    pub email: Option<String>,
    pub curator_id: Option<Uuid>,
    pub district_id: Option<Uuid>,
    pub situation: String,
    pub inactive: bool,
    pub inactive_until: Option<NaiveDate>,
    pub bot_activated_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub special_group_ids: Vec<Uuid>,
}

impl CitizenRow {
    pub fn full_name(&self) -> String {
        super::domain::full_name(&self.surname, &self.name, &self.patronymic)
    }
}

const CITIZEN_COLUMNS: &str = "c.id, c.tenant_id, c.account_id, c.surname, c.name, c.patronymic, c.birth_date, c.inn,
    c.phone, c.email, c.curator_id, c.district_id, c.situation, c.inactive, c.inactive_until, c.bot_activated_at,
    c.created_at, c.updated_at,
    array(select g.group_id from citizen_special_groups g
          where g.tenant_id = c.tenant_id and g.citizen_id = c.id order by g.group_id) as special_group_ids";

/// A new card: the draft plus what the service decided.
pub struct NewCitizen<'a> {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub account_id: Uuid,
    pub curator_id: Option<Uuid>,
    pub draft: &'a CitizenDraft,
    pub now: DateTime<Utc>,
}

pub async fn insert_citizen(conn: &mut PgConnection, c: &NewCitizen<'_>) -> Result<(), sqlx::Error> {
    let d = c.draft;
    sqlx::query(
        "insert into citizens (id, tenant_id, account_id, surname, name, patronymic, birth_date, inn, phone, email,
            curator_id, district_id, situation, inactive, inactive_until, sort_name, created_at, updated_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17)",
    )
    .bind(c.id)
    .bind(c.tenant_id)
    .bind(c.account_id)
    .bind(&d.surname)
    .bind(&d.name)
    .bind(&d.patronymic)
    .bind(d.birth_date)
    .bind(d.inn.as_ref().map(|i| i.as_str()))
    .bind(d.phone.as_str())
    .bind(d.email.as_ref().map(|e| e.as_str()))
    .bind(c.curator_id)
    .bind(d.district_id)
    .bind(&d.situation)
    .bind(d.inactive)
    .bind(d.inactive_until)
    .bind(search::sort_name(&d.surname, &d.name, &d.patronymic))
    .bind(c.now)
    .execute(&mut *conn)
    .await?;
    replace_terms(conn, c.tenant_id, c.id, d).await?;
    replace_groups(conn, c.tenant_id, c.id, &d.special_group_ids).await
}

/// Replaces every editable field; the curator is kept when `curator_id` is `None`.
pub async fn update_citizen(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    d: &CitizenDraft,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update citizens set surname = $2, name = $3, patronymic = $4, birth_date = $5, inn = $6, phone = $7,
            email = $8, curator_id = coalesce($9, curator_id), district_id = $10, situation = $11, inactive = $12,
            inactive_until = $13, sort_name = $14, updated_at = $15
         where id = $1",
    )
    .bind(id)
    .bind(&d.surname)
    .bind(&d.name)
    .bind(&d.patronymic)
    .bind(d.birth_date)
    .bind(d.inn.as_ref().map(|i| i.as_str()))
    .bind(d.phone.as_str())
    .bind(d.email.as_ref().map(|e| e.as_str()))
    .bind(d.curator_id)
    .bind(d.district_id)
    .bind(&d.situation)
    .bind(d.inactive)
    .bind(d.inactive_until)
    .bind(search::sort_name(&d.surname, &d.name, &d.patronymic))
    .bind(now)
    .execute(&mut *conn)
    .await?;
    replace_terms(conn, tenant_id, id, d).await?;
    replace_groups(conn, tenant_id, id, &d.special_group_ids).await
}

/// The words the registry search finds a card by (see the migration for
/// why this is a table and not a trigram index).
async fn replace_terms(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    citizen_id: Uuid,
    d: &CitizenDraft,
) -> Result<(), sqlx::Error> {
    let mut fields = Vec::new();
    let mut terms = Vec::new();
    for w in search::words(&d.full_name(), search::MAX_TERMS) {
        fields.push("name");
        terms.push(w);
    }
    for w in search::words(&d.situation, search::MAX_TERMS) {
        fields.push("situation");
        terms.push(w);
    }
    sqlx::query("delete from citizen_terms where tenant_id = $1 and citizen_id = $2")
        .bind(tenant_id)
        .bind(citizen_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "insert into citizen_terms (tenant_id, field, term, citizen_id)
         select $1, f, t, $2 from unnest($3::text[], $4::text[]) as x(f, t)",
    )
    .bind(tenant_id)
    .bind(citizen_id)
    .bind(&fields)
    .bind(&terms)
    .execute(conn)
    .await?;
    Ok(())
}

async fn replace_groups(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    citizen_id: Uuid,
    groups: &[Uuid],
) -> Result<(), sqlx::Error> {
    sqlx::query("delete from citizen_special_groups where tenant_id = $1 and citizen_id = $2")
        .bind(tenant_id)
        .bind(citizen_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "insert into citizen_special_groups (tenant_id, citizen_id, group_id)
         select $1, $2, g from unnest($3::uuid[]) as g on conflict do nothing",
    )
    .bind(tenant_id)
    .bind(citizen_id)
    .bind(groups)
    .execute(conn)
    .await?;
    Ok(())
}

/// A live (not deleted) card; `lock` takes a row lock for a change.
pub async fn get_citizen(conn: &mut PgConnection, id: Uuid, lock: bool) -> Result<Option<CitizenRow>, sqlx::Error> {
    let sql = format!(
        "select {CITIZEN_COLUMNS} from citizens c where c.id = $1 and c.deleted_at is null {}",
        if lock { "for update of c" } else { "" }
    );
    sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(conn).await
}

/// Whether another live card has this INN (checked before identity creates
/// an account, so a clash does not leave an account behind; the unique
/// index `citizens_inn_key` still decides races).
pub async fn inn_in_use(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    inn: &str,
    except: Option<Uuid>,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "select exists(select 1 from citizens where tenant_id = $1 and inn = $2 and deleted_at is null
                       and ($3::uuid is null or id <> $3))",
    )
    .bind(tenant_id)
    .bind(inn)
    .bind(except)
    .fetch_one(conn)
    .await
}

/// The live card a bot or file event names: by citizen account id (what the
/// bot knows) or by citizen id.
pub async fn citizen_by_account_or_id(conn: &mut PgConnection, id: Uuid) -> Result<Option<CitizenRow>, sqlx::Error> {
    let sql = format!(
        "select {CITIZEN_COLUMNS} from citizens c where (c.account_id = $1 or c.id = $1) and c.deleted_at is null
         order by (c.account_id = $1) desc limit 1"
    );
    sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(conn).await
}

/// Marks the card deleted; its search terms go (a deleted card is never found).
pub async fn soft_delete_citizen(
    conn: &mut PgConnection,
    id: Uuid,
    by: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query("update citizens set deleted_at = $2, deleted_by = $3, updated_at = $2 where id = $1")
        .bind(id)
        .bind(now)
        .bind(by)
        .execute(&mut *conn)
        .await?;
    sqlx::query("delete from citizen_terms where citizen_id = $1").bind(id).execute(conn).await?;
    Ok(())
}

/// S0-38, S0-49: the bot was linked to the citizen's account.
pub async fn mark_bot_activated(
    conn: &mut PgConnection,
    account_id: Uuid,
    at: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let r = sqlx::query("update citizens set bot_activated_at = coalesce(bot_activated_at, $2) where account_id = $1")
        .bind(account_id)
        .bind(at)
        .execute(conn)
        .await?;
    Ok(r.rows_affected() > 0)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CitizenOrder {
    #[default]
    CreatedAt,
    Name,
}

/// The registry query (S0-111, S0-112).
#[derive(Debug, Clone, Default)]
pub struct CitizenFilter {
    pub tenant_id: Uuid,
    pub name: Option<Vec<PrefixRange>>,
    pub situation: Option<Vec<PrefixRange>>,
    /// The curator filter the caller chose.
    pub curator_id: Option<Uuid>,
    /// The caller's own id when they may see only their own citizens.
    pub only_curator: Option<Uuid>,
    pub district_id: Option<Uuid>,
    pub group_id: Option<Uuid>,
    pub order: CitizenOrder,
    pub descending: bool,
    pub limit: i64,
    pub offset: i64,
}

/// `c.id in (citizens having, for every query word, a term of its field that
/// begins with it)`. One INTERSECT of index range scans: each word's
/// matches are read once from the primary key of `citizen_terms`, and only
/// the intersection is looked up in `citizens`.
fn push_terms(qb: &mut QueryBuilder<Postgres>, tenant_id: Uuid, words: &[(&'static str, &PrefixRange)]) {
    if words.is_empty() {
        return;
    }
    qb.push(" and c.id in (");
    for (i, (field, w)) in words.iter().enumerate() {
        if i > 0 {
            qb.push(" intersect ");
        }
        qb.push("select t.citizen_id from citizen_terms t where t.tenant_id = ");
        qb.push_bind(tenant_id);
        qb.push(" and t.field = ");
        qb.push_bind(*field);
        qb.push(" and t.term >= ");
        qb.push_bind(w.from.clone());
        qb.push(" and t.term < ");
        qb.push_bind(w.to.clone());
    }
    qb.push(")");
}

/// The (field, word) pairs of a registry search.
fn term_words<'a>(
    name: &'a Option<Vec<PrefixRange>>,
    situation: &'a Option<Vec<PrefixRange>>,
) -> Vec<(&'static str, &'a PrefixRange)> {
    let name = name.iter().flatten().map(|w| ("name", w));
    let situation = situation.iter().flatten().map(|w| ("situation", w));
    name.chain(situation).collect()
}

fn push_citizen_where(qb: &mut QueryBuilder<Postgres>, f: &CitizenFilter) {
    qb.push(" where c.tenant_id = ");
    qb.push_bind(f.tenant_id);
    qb.push(" and c.deleted_at is null");
    for curator in [f.curator_id, f.only_curator].into_iter().flatten() {
        qb.push(" and c.curator_id = ");
        qb.push_bind(curator);
    }
    if let Some(d) = f.district_id {
        qb.push(" and c.district_id = ");
        qb.push_bind(d);
    }
    if let Some(g) = f.group_id {
        qb.push(" and c.id in (select g.citizen_id from citizen_special_groups g where g.tenant_id = ");
        qb.push_bind(f.tenant_id);
        qb.push(" and g.group_id = ");
        qb.push_bind(g);
        qb.push(")");
    }
    push_terms(qb, f.tenant_id, &term_words(&f.name, &f.situation));
}

/// One page of the registry and the number of matches over all pages.
pub async fn list_citizens(conn: &mut PgConnection, f: &CitizenFilter) -> Result<(Vec<CitizenRow>, i64), sqlx::Error> {
    let mut count = QueryBuilder::<Postgres>::new("select count(*) from citizens c");
    push_citizen_where(&mut count, f);
    let total: i64 = count.build_query_scalar().fetch_one(&mut *conn).await?;
    if total <= f.offset {
        return Ok((Vec::new(), total));
    }
    let rows = citizen_page("", f).build_query_as().fetch_all(conn).await?;
    Ok((rows, total))
}

/// The plan Postgres runs for a registry page (the benchmark checks that
/// searches go through the term index).
pub async fn explain_list_citizens(conn: &mut PgConnection, f: &CitizenFilter) -> Result<String, sqlx::Error> {
    let lines: Vec<String> =
        citizen_page("explain (analyze, costs off) ", f).build_query_scalar().fetch_all(conn).await?;
    Ok(lines.join("\n"))
}

fn citizen_page(prefix: &str, f: &CitizenFilter) -> QueryBuilder<Postgres> {
    let mut q = QueryBuilder::new(format!("{prefix}select {CITIZEN_COLUMNS} from citizens c"));
    push_citizen_where(&mut q, f);
    let dir = if f.descending { "desc" } else { "asc" };
    match f.order {
        CitizenOrder::CreatedAt => q.push(format!(" order by c.created_at {dir}, c.id {dir}")),
        CitizenOrder::Name => q.push(format!(" order by c.sort_name {dir}, c.id {dir}")),
    };
    q.push(" limit ");
    q.push_bind(f.limit);
    q.push(" offset ");
    q.push_bind(f.offset);
    q
}

/// The live cards among `ids`, locked for a transfer: (id, curator).
pub async fn lock_for_transfer(
    conn: &mut PgConnection,
    ids: &[Uuid],
) -> Result<Vec<(Uuid, Option<Uuid>)>, sqlx::Error> {
    sqlx::query_as(
        "select id, curator_id from citizens where id = any($1) and deleted_at is null order by id for update",
    )
    .bind(ids)
    .fetch_all(conn)
    .await
}

pub async fn set_curator(
    conn: &mut PgConnection,
    ids: &[Uuid],
    curator: Uuid,
    now: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    let r = sqlx::query("update citizens set curator_id = $2, updated_at = $3 where id = any($1)")
        .bind(ids)
        .bind(curator)
        .bind(now)
        .execute(conn)
        .await?;
    Ok(r.rows_affected())
}

// ------------------------------------------------------------------- diary

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DiaryRow {
    pub id: Uuid,
    pub citizen_id: Uuid,
    pub text: String,
    pub author_id: String,
    pub author_name: String,
    pub created_at: DateTime<Utc>,
}

pub async fn insert_diary(conn: &mut PgConnection, tenant_id: Uuid, e: &DiaryRow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into diary_entries (id, tenant_id, citizen_id, text, author_id, author_name, created_at)
         values ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(e.id)
    .bind(tenant_id)
    .bind(e.citizen_id)
    .bind(&e.text)
    .bind(&e.author_id)
    .bind(&e.author_name)
    .bind(e.created_at)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn list_diary(conn: &mut PgConnection, tenant_id: Uuid, citizen: Uuid) -> Result<Vec<DiaryRow>, sqlx::Error> {
    sqlx::query_as(
        "select id, citizen_id, text, author_id, author_name, created_at from diary_entries
         where tenant_id = $1 and citizen_id = $2 order by created_at desc, id desc",
    )
    .bind(tenant_id)
    .bind(citizen)
    .fetch_all(conn)
    .await
}

// ------------------------------------------------------------ interactions

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InteractionRow {
    pub id: Uuid,
    pub citizen_id: Uuid,
    pub kind: String,
    pub request_text: String,
    pub result: String,
    pub created_by: String,
    pub created_by_name: String,
    pub created_at: DateTime<Utc>,
    pub edited_by: Option<String>,
    pub edited_by_name: Option<String>,
    pub edited_at: Option<DateTime<Utc>>,
}

const INTERACTION_COLUMNS: &str = "id, citizen_id, kind, request_text, result, created_by, created_by_name,
    created_at, edited_by, edited_by_name, edited_at";

pub async fn insert_interaction(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    i: &InteractionRow,
    source_event_id: Option<Uuid>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into interactions (id, tenant_id, citizen_id, kind, request_text, result, created_by,
            created_by_name, created_at, source_event_id)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(i.id)
    .bind(tenant_id)
    .bind(i.citizen_id)
    .bind(&i.kind)
    .bind(&i.request_text)
    .bind(&i.result)
    .bind(&i.created_by)
    .bind(&i.created_by_name)
    .bind(i.created_at)
    .bind(source_event_id)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn get_interaction(
    conn: &mut PgConnection,
    id: Uuid,
    lock: bool,
) -> Result<Option<InteractionRow>, sqlx::Error> {
    let sql = format!(
        "select {INTERACTION_COLUMNS} from interactions where id = $1 {}",
        if lock { "for update" } else { "" }
    );
    sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(conn).await
}

/// S0-43, S0-44: the result, stamped with who wrote it and when.
pub async fn set_interaction_result(
    conn: &mut PgConnection,
    id: Uuid,
    result: &str,
    by: &str,
    by_name: &str,
    at: DateTime<Utc>,
) -> Result<InteractionRow, sqlx::Error> {
    let sql = format!(
        "update interactions set result = $2, edited_by = $3, edited_by_name = $4, edited_at = $5 where id = $1
         returning {INTERACTION_COLUMNS}"
    );
    sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).bind(result).bind(by).bind(by_name).bind(at).fetch_one(conn).await
}

pub async fn list_interactions(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    citizen: Uuid,
) -> Result<Vec<InteractionRow>, sqlx::Error> {
    let sql = format!(
        "select {INTERACTION_COLUMNS} from interactions where tenant_id = $1 and citizen_id = $2
         order by created_at desc, id desc"
    );
    sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(tenant_id).bind(citizen).fetch_all(conn).await
}

// -------------------------------------------------------------- activities

pub struct NewActivity<'a> {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub citizen_id: Uuid,
    pub kind: &'static str,
    pub summary: &'a str,
    pub occurred_at: DateTime<Utc>,
    pub file_id: Option<Uuid>,
    pub interaction_id: Option<Uuid>,
    pub source_event_id: Option<Uuid>,
    /// The threshold a detector item was raised with.
    pub days: Option<i32>,
    /// The scheduler's episode or occurrence: one item each.
    pub source_ref: Option<Uuid>,
    pub now: DateTime<Utc>,
}

/// Inserts the item; `false` when its `source_ref` already has one.
pub async fn insert_activity(conn: &mut PgConnection, a: &NewActivity<'_>) -> Result<bool, sqlx::Error> {
    let r = sqlx::query(
        "insert into activities (id, tenant_id, citizen_id, kind, summary, occurred_at, file_id, interaction_id,
            source_event_id, days, source_ref, created_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         on conflict (tenant_id, source_ref) where source_ref is not null do nothing",
    )
    .bind(a.id)
    .bind(a.tenant_id)
    .bind(a.citizen_id)
    .bind(a.kind)
    .bind(a.summary)
    .bind(a.occurred_at)
    .bind(a.file_id)
    .bind(a.interaction_id)
    .bind(a.source_event_id)
    .bind(a.days)
    .bind(a.source_ref)
    .bind(a.now)
    .execute(conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// An activity with its citizen's name, current curator and district.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ActivityRow {
    pub id: Uuid,
    pub citizen_id: Uuid,
    pub kind: String,
    pub summary: String,
    pub occurred_at: DateTime<Utc>,
    pub file_id: Option<Uuid>,
    pub interaction_id: Option<Uuid>,
    pub processed_at: Option<DateTime<Utc>>,
    pub processed_by: Option<String>,
    pub surname: String,
    pub name: String,
    pub patronymic: String,
    pub curator_id: Option<Uuid>,
    pub district_id: Option<Uuid>,
}

const ACTIVITY_SELECT: &str = "select a.id, a.citizen_id, a.kind, a.summary, a.occurred_at, a.file_id,
    a.interaction_id, a.processed_at, a.processed_by, c.surname, c.name, c.patronymic, c.curator_id, c.district_id
    from activities a join citizens c on c.id = a.citizen_id and c.tenant_id = a.tenant_id";

pub async fn get_activity(conn: &mut PgConnection, id: Uuid) -> Result<Option<ActivityRow>, sqlx::Error> {
    let sql = format!("{ACTIVITY_SELECT} where a.id = $1 and c.deleted_at is null for update of a");
    sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(conn).await
}

/// Ticks (or unticks) an activity as processed (S0-95).
pub async fn set_processed(
    conn: &mut PgConnection,
    id: Uuid,
    by: Option<&str>,
    at: Option<DateTime<Utc>>,
) -> Result<(), sqlx::Error> {
    sqlx::query("update activities set processed_by = $2, processed_at = $3 where id = $1")
        .bind(id)
        .bind(by)
        .bind(at)
        .execute(conn)
        .await?;
    Ok(())
}

/// The work-queue query (S0-82, S0-83).
#[derive(Debug, Clone, Default)]
pub struct ActivityFilter {
    pub tenant_id: Uuid,
    pub citizen_id: Option<Uuid>,
    pub citizen_name: Option<Vec<PrefixRange>>,
    pub curator_id: Option<Uuid>,
    /// The caller's own id when they may see only their citizens' activities.
    pub only_curator: Option<Uuid>,
    pub district_id: Option<Uuid>,
    pub kind: Option<&'static str>,
    pub processed: Option<bool>,
    pub window: Window,
    pub limit: i64,
    pub offset: i64,
}

fn push_activity_where(qb: &mut QueryBuilder<Postgres>, f: &ActivityFilter) {
    qb.push(" where a.tenant_id = ");
    qb.push_bind(f.tenant_id);
    qb.push(" and c.deleted_at is null");
    if let Some(c) = f.citizen_id {
        qb.push(" and a.citizen_id = ");
        qb.push_bind(c);
    }
    for curator in [f.curator_id, f.only_curator].into_iter().flatten() {
        qb.push(" and c.curator_id = ");
        qb.push_bind(curator);
    }
    if let Some(d) = f.district_id {
        qb.push(" and c.district_id = ");
        qb.push_bind(d);
    }
    if let Some(k) = f.kind {
        qb.push(" and a.kind = ");
        qb.push_bind(k);
    }
    match f.processed {
        Some(true) => qb.push(" and a.processed_at is not null"),
        Some(false) => qb.push(" and a.processed_at is null"),
        None => qb,
    };
    if let Some(from) = f.window.from {
        qb.push(" and a.occurred_at >= ");
        qb.push_bind(from);
    }
    if let Some(to) = f.window.to {
        qb.push(" and a.occurred_at < ");
        qb.push_bind(to);
    }
    push_terms(qb, f.tenant_id, &term_words(&f.citizen_name, &None));
}

/// One page of the work queue, newest first, and the number of matches.
pub async fn list_activities(
    conn: &mut PgConnection,
    f: &ActivityFilter,
) -> Result<(Vec<ActivityRow>, i64), sqlx::Error> {
    let mut count = QueryBuilder::<Postgres>::new(
        "select count(*) from activities a join citizens c on c.id = a.citizen_id and c.tenant_id = a.tenant_id",
    );
    push_activity_where(&mut count, f);
    let total: i64 = count.build_query_scalar().fetch_one(&mut *conn).await?;
    if total <= f.offset {
        return Ok((Vec::new(), total));
    }
    let mut page = QueryBuilder::<Postgres>::new(ACTIVITY_SELECT);
    push_activity_where(&mut page, f);
    page.push(" order by a.occurred_at desc, a.id desc limit ");
    page.push_bind(f.limit);
    page.push(" offset ");
    page.push_bind(f.offset);
    let rows = page.build_query_as().fetch_all(conn).await?;
    Ok((rows, total))
}

// ------------------------------------------------------------------- audit

pub struct AuditEntry<'a> {
    pub tenant_id: Uuid,
    pub actor_id: &'a str,
    pub action: &'a str,
    pub entity: &'a str,
    pub entity_id: String,
    pub citizen_id: Option<Uuid>,
    pub fields: Vec<String>,
    pub details: serde_json::Value,
    pub at: DateTime<Utc>,
}

pub async fn audit(conn: &mut PgConnection, e: AuditEntry<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into audit_log (id, tenant_id, actor_id, action, entity, entity_id, citizen_id, fields, details,
            occurred_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(Uuid::now_v7())
    .bind(e.tenant_id)
    .bind(e.actor_id)
    .bind(e.action)
    .bind(e.entity)
    .bind(e.entity_id)
    .bind(e.citizen_id)
    .bind(&e.fields)
    .bind(e.details)
    .bind(e.at)
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditRow {
    pub id: Uuid,
    pub actor_id: String,
    pub action: String,
    pub entity: String,
    pub entity_id: String,
    pub citizen_id: Option<Uuid>,
    pub fields: Vec<String>,
    pub details: serde_json::Value,
    pub occurred_at: DateTime<Utc>,
}

/// Newest first.
pub async fn list_audit(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    citizen: Option<Uuid>,
    limit: i64,
    offset: i64,
) -> Result<Vec<AuditRow>, sqlx::Error> {
    sqlx::query_as(
        "select id, actor_id, action, entity, entity_id, citizen_id, fields, details, occurred_at from audit_log
         where tenant_id = $1 and ($2::uuid is null or citizen_id = $2)
         order by occurred_at desc, id desc limit $3 offset $4",
    )
    .bind(tenant_id)
    .bind(citizen)
    .bind(limit)
    .bind(offset)
    .fetch_all(conn)
    .await
}
