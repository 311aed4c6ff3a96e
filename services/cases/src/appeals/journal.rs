//! The journal query (S1-15, S1-16, S1-48…S1-61): every filter of
//! `AppealFilter` as bound SQL, the orders, numbered pages and the total.
//! Word filters go through `appeal_terms` (see the migration): under RLS
//! that is what keeps a text search an index scan on a million cards.
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::kit::period::Window;
use crate::kit::search::PrefixRange;

/// «Блокировка» (S1-50).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lock {
    #[default]
    Any,
    MineAndFree,
    Mine,
    Free,
}

/// A phone filter: a whole number compares equal (index), a fragment is
/// looked for inside the digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhoneQuery {
    Exact(String),
    Contains(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Order {
    Number,
    #[default]
    CreatedAt,
    Status,
    CitizenName,
    Region,
}

impl Order {
    pub fn parse(v: &str) -> Option<(Order, bool)> {
        let (desc, name) = match v.strip_prefix('-') {
            Some(n) => (true, n),
            None => (false, v),
        };
        let o = match name {
            "number" => Order::Number,
            "created_at" => Order::CreatedAt,
            "status" => Order::Status,
            "citizen_name" => Order::CitizenName,
            "region" => Order::Region,
            _ => return None,
        };
        Some((o, desc))
    }
}

/// The journal's question, parsed and authorised.
#[derive(Debug, Clone, Default)]
pub struct JournalQuery {
    pub tenant_id: Uuid,
    /// The caller (the lock filter's «мои»).
    pub me: Uuid,
    /// An executor's area (S1-1): only cards routed to it.
    pub org_scope: Option<Uuid>,
    pub number: Option<i64>,
    pub statuses: Vec<String>,
    pub lock: Lock,
    pub name: Option<Vec<PrefixRange>>,
    pub phone: Option<PhoneQuery>,
    /// Russian stems of the text query (all must occur).
    pub text: Vec<String>,
    pub talked_before: Option<bool>,
    pub channels: Vec<String>,
    pub federal_district_id: Option<Uuid>,
    pub region_id: Option<Uuid>,
    pub municipality_id: Option<Uuid>,
    /// Folded address fragment.
    pub address: Option<String>,
    pub category_type_id: Option<Uuid>,
    pub category_id: Option<Uuid>,
    pub subcategory_id: Option<Uuid>,
    pub created: Window,
    pub labels_present: Vec<String>,
    pub labels_absent: Vec<String>,
    pub source_id: Option<String>,
    pub urgent: Option<bool>,
    pub executor_org_id: Option<Uuid>,
    pub holder_id: Option<Uuid>,
    /// The executor's default view (S1-15): cards they work on.
    pub last_executor_id: Option<Uuid>,
    pub order: Order,
    pub descending: bool,
    pub limit: i64,
    pub offset: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct JournalRow {
    pub id: Uuid,
    pub number: i64,
    pub citizen_name: String,
    pub status: String,
    pub category_name: Option<String>,
    pub federal_district_name: Option<String>,
    pub region_name: Option<String>,
    pub municipality_name: Option<String>,
    pub executor_org_name: String,
    pub last_executor_name: String,
    pub created_at: DateTime<Utc>,
    pub holder_id: Option<Uuid>,
    pub urgent: bool,
    pub labels: Vec<String>,
}

/// Statuses in the workflow's order, for sorting by status.
const STATUS_ORDER: &str = "array['new', 'moderation', 'in_work', 'done_review', 'close_requested', 'rereview',
    'tech_support', 'federal', 'postponed', 'done', 'closed']";

fn push_where(qb: &mut QueryBuilder<Postgres>, q: &JournalQuery) {
    qb.push(" where a.tenant_id = ");
    qb.push_bind(q.tenant_id);
    let eq_uuid = |qb: &mut QueryBuilder<Postgres>, col: &str, v: Option<Uuid>| {
        if let Some(v) = v {
            qb.push(format!(" and {col} = "));
            qb.push_bind(v);
        }
    };
    eq_uuid(qb, "a.executor_org_id", q.org_scope);
    eq_uuid(qb, "a.executor_org_id", q.executor_org_id);
    eq_uuid(qb, "a.holder_id", q.holder_id);
    eq_uuid(qb, "a.last_executor_id", q.last_executor_id);
    eq_uuid(qb, "a.federal_district_id", q.federal_district_id);
    eq_uuid(qb, "a.region_id", q.region_id);
    eq_uuid(qb, "a.municipality_id", q.municipality_id);
    eq_uuid(qb, "a.category_type_id", q.category_type_id);
    eq_uuid(qb, "a.category_id", q.category_id);
    eq_uuid(qb, "a.subcategory_id", q.subcategory_id);
    if let Some(n) = q.number {
        qb.push(" and a.number = ");
        qb.push_bind(n);
    }
    if !q.statuses.is_empty() {
        qb.push(" and a.status = any(");
        qb.push_bind(q.statuses.clone());
        qb.push(")");
    }
    match q.lock {
        Lock::Any => {}
        Lock::MineAndFree => {
            qb.push(" and (a.holder_id is null or a.holder_id = ");
            qb.push_bind(q.me);
            qb.push(")");
        }
        Lock::Mine => {
            qb.push(" and a.holder_id = ");
            qb.push_bind(q.me);
        }
        Lock::Free => {
            qb.push(" and a.holder_id is null");
        }
    }
    match &q.phone {
        None => {}
        Some(PhoneQuery::Exact(d)) => {
            qb.push(" and a.phone_digits = ");
            qb.push_bind(d.clone());
        }
        Some(PhoneQuery::Contains(d)) => {
            qb.push(" and strpos(a.phone_digits, ");
            qb.push_bind(d.clone());
            qb.push(") > 0");
        }
    }
    if let Some(v) = q.talked_before {
        qb.push(" and a.talked_before = ");
        qb.push_bind(v);
    }
    if let Some(v) = q.urgent {
        qb.push(" and a.urgent = ");
        qb.push_bind(v);
    }
    if !q.channels.is_empty() {
        qb.push(" and a.channel = any(");
        qb.push_bind(q.channels.clone());
        qb.push(")");
    }
    if let Some(a) = &q.address {
        qb.push(" and strpos(a.address_key, ");
        qb.push_bind(a.clone());
        qb.push(") > 0");
    }
    if let Some(from) = q.created.from {
        qb.push(" and a.created_at >= ");
        qb.push_bind(from);
    }
    if let Some(to) = q.created.to {
        qb.push(" and a.created_at < ");
        qb.push_bind(to);
    }
    if !q.labels_present.is_empty() {
        qb.push(" and a.labels @> ");
        qb.push_bind(q.labels_present.clone());
        qb.push("::text[]");
    }
    if !q.labels_absent.is_empty() {
        qb.push(" and not (a.labels && ");
        qb.push_bind(q.labels_absent.clone());
        qb.push("::text[])");
    }
    if let Some(s) = &q.source_id {
        qb.push(" and a.source_id = ");
        qb.push_bind(s.clone());
    }
    push_terms(qb, q);
}

/// One `exists` per name word (a term beginning with it) and per text stem
/// (the term itself): each is a primary-key probe of `appeal_terms`, so the
/// planner may walk the cards in the page's order and stop at a page, or
/// start from a rare term's few cards — an `in (… intersect …)` would make
/// it collect every card of a common word first.
fn push_terms(qb: &mut QueryBuilder<Postgres>, q: &JournalQuery) {
    let names: &[PrefixRange] = q.name.as_deref().unwrap_or_default();
    for w in names {
        qb.push(" and exists (select 1 from appeal_terms t where t.tenant_id = a.tenant_id and t.field = 'name'");
        qb.push(" and t.term >= ");
        qb.push_bind(w.from.clone());
        qb.push(" and t.term < ");
        qb.push_bind(w.to.clone());
        qb.push(" and t.appeal_id = a.id)");
    }
    for stem in &q.text {
        qb.push(" and exists (select 1 from appeal_terms t where t.tenant_id = a.tenant_id and t.field = 'text'");
        qb.push(" and t.term = ");
        qb.push_bind(stem.clone());
        qb.push(" and t.appeal_id = a.id)");
    }
}

/// How many cards match: exact up to `cap`, `Total::AtLeast(cap)` beyond.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Total {
    Exact(i64),
    AtLeast(i64),
}

/// One page of the journal and how many cards match. A first page that is
/// not full is the whole answer; otherwise the count reads at most `cap`
/// matches (issue 11: an exact count of a million cards was the journal's
/// whole cost).
pub async fn list(
    conn: &mut PgConnection,
    q: &JournalQuery,
    cap: i64,
) -> Result<(Vec<JournalRow>, Total), sqlx::Error> {
    let mut page = QueryBuilder::<Postgres>::new(
        "select a.id, a.number, a.citizen_name, a.status, c.name as category_name,
            fd.name as federal_district_name, r.name as region_name, m.name as municipality_name,
            a.executor_org_name, a.last_executor_name, a.created_at, a.holder_id, a.urgent, a.labels
         from appeals a
         left join reference_nodes c on c.id = a.category_id
         left join reference_nodes fd on fd.id = a.federal_district_id
         left join reference_nodes r on r.id = a.region_id
         left join reference_nodes m on m.id = a.municipality_id",
    );
    push_where(&mut page, q);
    let dir = if q.descending { "desc" } else { "asc" };
    // Every key ends in the card's id, and the two common orders are the
    // indexes' own (`appeals_created_idx`, `appeals_number_key`).
    let key = match q.order {
        Order::Number => format!("a.number {dir}"),
        Order::CreatedAt => format!("a.created_at {dir}"),
        Order::Status => format!("array_position({STATUS_ORDER}, a.status) {dir}, a.created_at desc"),
        Order::CitizenName => format!("a.citizen_name_key {dir}, a.number {dir}"),
        Order::Region => format!("r.name {dir} nulls last, a.created_at desc"),
    };
    page.push(format!(" order by {key}, a.id {dir} limit "));
    page.push_bind(q.limit);
    page.push(" offset ");
    page.push_bind(q.offset);
    let rows: Vec<JournalRow> = page.build_query_as().fetch_all(&mut *conn).await?;
    let got = rows.len() as i64;
    if got < q.limit && (got > 0 || q.offset == 0) {
        return Ok((rows, Total::Exact(q.offset + got)));
    }
    let mut count = QueryBuilder::<Postgres>::new("select count(*) from (select 1 from appeals a");
    push_where(&mut count, q);
    count.push(" limit ");
    count.push_bind(cap + 1);
    count.push(") matching");
    let n: i64 = count.build_query_scalar().fetch_one(conn).await?;
    Ok((rows, if n > cap { Total::AtLeast(cap) } else { Total::Exact(n) }))
}
