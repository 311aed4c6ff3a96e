//! The journal (S1-15…S1-17, S1-48…S1-62, S1-64): every filter of `AppealFilter` in a GET form, so a
//! filtered, sorted page is a URL that can be bookmarked (and exported later, S1-63); the columns of
//! S1-16, numbered pages, and the user's choice of filter fields (S1-62). Above it, «Задачи»: the
//! cards that came back to the executor (issue 5 point 2), each with «Обработано».
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum_extra::extract::Query;
use minijinja::context;
use minijinja::value::{Serde, Value};
use opeka_proto::cases::{
    AppealFilter, AppealTriState, GetJournalPreferencesRequest, ListAppealWorkItemsRequest, ListAppealsRequest,
    LockFilter, MarkAppealWorkItemProcessedRequest, SaveJournalPreferencesRequest,
};
use serde::Serialize;

use super::{Pairs, Tree, can_edit_cards, has_role, journal_url, opts};
use crate::pages::common::{self, Opt, Page, all, one};
use crate::session::{Auth, AuthForm};
use crate::strings::appeals::AppealsStrings;
use crate::terms::Terms;
use crate::views::FormErrors;
use crate::{AppState, Strings};

/// The filter fields, named as `AppealFilter`'s (the URL, the form and the saved preferences use
/// these names), in the seed's order (S1-48…S1-60), ours after.
pub const FILTER_FIELDS: &[&str] = &[
    "number",
    "statuses",
    "lock",
    "citizen_name",
    "phone",
    "text",
    "talked_before",
    "channels",
    "federal_district_id",
    "region_id",
    "municipality_id",
    "address",
    "category_type_id",
    "category_id",
    "subcategory_id",
    "created_from",
    "created_to",
    "labels_present",
    "labels_absent",
    "source_id",
    "urgent",
    "executor_org_id",
];
/// The panel of seed 001 §12, shown until the user chooses otherwise.
const DEFAULT_VISIBLE: usize = 20;
/// Columns the journal sorts by (cases' `order_by` names).
const SORTABLE: &[&str] = &["number", "citizen_name", "status", "region", "created_at"];
const PAGE_SIZE: i32 = 50;
/// How many waiting tasks «Задачи» lists (the newest).
const TASKS_SHOWN: i32 = 20;

/// What the URL asks the journal for, as typed.
#[derive(Debug, Default, Clone, Serialize, PartialEq, Eq)]
pub struct JournalQuery {
    pub number: String,
    pub statuses: Vec<String>,
    /// `any`, `mine_and_free`, `mine`, `free`; empty: the role's default.
    pub lock: String,
    pub citizen_name: String,
    pub phone: String,
    pub text: String,
    /// `yes`, `no`, or anything else for «Не важно».
    pub talked_before: String,
    pub channels: Vec<String>,
    pub federal_district_id: String,
    pub region_id: String,
    pub municipality_id: String,
    pub address: String,
    pub category_type_id: String,
    pub category_id: String,
    pub subcategory_id: String,
    pub created_from: String,
    pub created_to: String,
    pub labels_present: Vec<String>,
    pub labels_absent: Vec<String>,
    pub source_id: String,
    pub urgent: String,
    pub executor_org_id: String,
    pub order_by: String,
    pub page: i32,
    /// No filter field in the URL at all: the user just opened the journal.
    pub untouched: bool,
}

fn tri(v: &str) -> AppealTriState {
    match v {
        "yes" => AppealTriState::Yes,
        "no" => AppealTriState::No,
        _ => AppealTriState::Unspecified,
    }
}

/// A yes/no choice as the URL keeps it; «Не важно» is no value at all.
fn yes_no(v: &str) -> &str {
    if matches!(v, "yes" | "no") { v } else { "" }
}

fn lock(v: &str) -> LockFilter {
    match v {
        "mine_and_free" => LockFilter::MineAndFree,
        "mine" => LockFilter::Mine,
        "free" => LockFilter::Free,
        _ => LockFilter::Unspecified,
    }
}

impl JournalQuery {
    /// `executor`: the caller works cards, so «Блокировка» starts at «Мои и свободные» (S1-50).
    pub fn from_pairs(p: &Pairs, executor: bool) -> Self {
        let many = |k: &str| all(p, k).into_iter().map(str::trim).filter(|v| !v.is_empty()).map(String::from).collect();
        let id = |k: &str| common::uuid(&one(p, k)).unwrap_or_default();
        let untouched = !p.iter().any(|(k, _)| FILTER_FIELDS.contains(&k.as_str()));
        let lock = match one(p, "lock").as_str() {
            v @ ("any" | "mine_and_free" | "mine" | "free") => v.to_string(),
            _ if executor => "mine_and_free".into(),
            _ => "any".into(),
        };
        let order_by = one(p, "order_by");
        let order_by = if SORTABLE.contains(&order_by.trim_start_matches('-')) { order_by } else { String::new() };
        Self {
            number: one(p, "number"),
            statuses: many("statuses"),
            lock,
            citizen_name: one(p, "citizen_name"),
            phone: one(p, "phone"),
            text: one(p, "text"),
            talked_before: one(p, "talked_before"),
            channels: many("channels"),
            federal_district_id: id("federal_district_id"),
            region_id: id("region_id"),
            municipality_id: id("municipality_id"),
            address: one(p, "address"),
            category_type_id: id("category_type_id"),
            category_id: id("category_id"),
            subcategory_id: id("subcategory_id"),
            created_from: one(p, "created_from"),
            created_to: one(p, "created_to"),
            labels_present: many("labels_present"),
            labels_absent: many("labels_absent"),
            source_id: one(p, "source_id"),
            urgent: one(p, "urgent"),
            executor_org_id: id("executor_org_id"),
            order_by,
            page: one(p, "page").parse::<i32>().ok().filter(|n| *n >= 1).unwrap_or(1),
            untouched,
        }
    }

    /// The filter fields holding a value (the panel always shows them).
    pub fn filled(&self) -> Vec<&'static str> {
        self.pairs().into_iter().map(|(k, _)| k).filter(|k| *k != "lock").collect()
    }

    /// The filter as `(field, value)` pairs; `lock` always, the rest when set.
    fn pairs(&self) -> Vec<(&'static str, &str)> {
        let mut p: Vec<(&'static str, &str)> = vec![
            ("number", &self.number),
            ("lock", &self.lock),
            ("citizen_name", &self.citizen_name),
            ("phone", &self.phone),
            ("text", &self.text),
            ("talked_before", yes_no(&self.talked_before)),
            ("federal_district_id", &self.federal_district_id),
            ("region_id", &self.region_id),
            ("municipality_id", &self.municipality_id),
            ("address", &self.address),
            ("category_type_id", &self.category_type_id),
            ("category_id", &self.category_id),
            ("subcategory_id", &self.subcategory_id),
            ("created_from", &self.created_from),
            ("created_to", &self.created_to),
            ("source_id", &self.source_id),
            ("urgent", yes_no(&self.urgent)),
            ("executor_org_id", &self.executor_org_id),
        ];
        p.retain(|(_, v)| !v.is_empty());
        for (k, vs) in [
            ("statuses", &self.statuses),
            ("channels", &self.channels),
            ("labels_present", &self.labels_present),
            ("labels_absent", &self.labels_absent),
        ] {
            p.extend(vs.iter().map(|v| (k, v.as_str())));
        }
        p
    }

    /// `field=value&…` of the filter alone (no sort, no page), for links that keep it. Empty for an
    /// untouched journal, so its sort and page links keep the default view.
    pub fn filter_query(&self) -> String {
        if self.untouched {
            return String::new();
        }
        serde_urlencoded::to_string(self.pairs()).unwrap_or_default()
    }

    /// The request's filter, or the fields the gateway can already tell are wrong.
    pub fn filter(&self, t: &AppealsStrings) -> Result<AppealFilter, FormErrors> {
        let mut errors = FormErrors::default();
        let number = if self.number.is_empty() {
            0
        } else {
            match self.number.trim_start_matches('№').trim().parse::<i64>() {
                Ok(n) if n > 0 => n,
                _ => {
                    errors.field("number", t.number_digits);
                    0
                }
            }
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        if self.untouched {
            // The executor's default view (S1-15) is cases' to define: no field set.
            return Ok(AppealFilter::default());
        }
        Ok(AppealFilter {
            number,
            statuses: self.statuses.clone(),
            lock: lock(&self.lock) as i32,
            citizen_name: self.citizen_name.clone(),
            phone: self.phone.clone(),
            text: self.text.clone(),
            talked_before: tri(&self.talked_before) as i32,
            channels: self.channels.clone(),
            federal_district_id: self.federal_district_id.clone(),
            region_id: self.region_id.clone(),
            municipality_id: self.municipality_id.clone(),
            address: self.address.clone(),
            category_type_id: self.category_type_id.clone(),
            category_id: self.category_id.clone(),
            subcategory_id: self.subcategory_id.clone(),
            created_from: self.created_from.clone(),
            created_to: self.created_to.clone(),
            labels_present: self.labels_present.clone(),
            labels_absent: self.labels_absent.clone(),
            source_id: self.source_id.clone(),
            urgent: tri(&self.urgent) as i32,
            executor_org_id: self.executor_org_id.clone(),
            holder_id: String::new(),
        })
    }
}

/// The label of filter field `name` in the panel and in «Настроить фильтры».
fn field_label(t: &AppealsStrings, name: &str) -> &'static str {
    match name {
        "number" => t.f_number,
        "statuses" => t.f_statuses,
        "lock" => t.f_lock,
        "citizen_name" => t.f_citizen_name,
        "phone" => t.f_phone,
        "text" => t.f_text,
        "talked_before" => t.f_talked_before,
        "channels" => t.f_channels,
        "federal_district_id" => t.f_federal_district,
        "region_id" => t.f_region,
        "municipality_id" => t.f_municipality,
        "address" => t.f_address,
        "category_type_id" => t.f_category_type,
        "category_id" => t.f_category,
        "subcategory_id" => t.f_subcategory,
        "created_from" => t.f_created_from,
        "created_to" => t.f_created_to,
        "labels_present" => t.f_labels_present,
        "labels_absent" => t.f_labels_absent,
        "source_id" => t.f_source_id,
        "urgent" => t.f_urgent,
        "executor_org_id" => t.f_executor_org,
        _ => "",
    }
}

/// The fields the panel shows: the user's choice (or the seed's panel), plus every filled one.
pub fn shown_fields(saved: &[String], filled: &[&str]) -> Vec<&'static str> {
    let chosen: Vec<&str> = if saved.is_empty() {
        FILTER_FIELDS[..DEFAULT_VISIBLE].to_vec()
    } else {
        saved.iter().map(String::as_str).collect()
    };
    FILTER_FIELDS.iter().copied().filter(|f| chosen.contains(f) || filled.contains(f)).collect()
}

#[derive(Debug, Serialize)]
pub struct Row {
    pub id: String,
    pub number: i64,
    pub citizen_name: String,
    pub status: String,
    pub status_label: String,
    pub category: String,
    pub federal_district: String,
    pub region: String,
    pub municipality: String,
    pub executor: String,
    pub urgent: bool,
    /// Somebody works on the card now; `mine`: the caller.
    pub held: bool,
    pub mine: bool,
    pub labels: Vec<String>,
}

/// A column head: its words, and for a sortable one the link and the current direction.
#[derive(Debug, Serialize)]
pub struct Column {
    pub label: &'static str,
    pub href: Option<String>,
    /// `ascending`, `descending` or `none` (the `aria-sort` value).
    pub sort: &'static str,
}

pub fn columns(t: &AppealsStrings, order_by: &str, prefix: &str) -> Vec<Column> {
    let defs: [(&'static str, Option<&str>); 8] = [
        (t.col_number, Some("number")),
        (t.col_citizen, Some("citizen_name")),
        (t.col_status, Some("status")),
        (t.col_category, None),
        (t.col_federal_district, None),
        (t.col_region, Some("region")),
        (t.col_municipality, None),
        (t.col_executor, None),
    ];
    defs.into_iter()
        .map(|(label, key)| match key {
            None => Column { label, href: None, sort: "none" },
            Some(key) => {
                let (sort, next) = if order_by == key {
                    ("ascending", format!("-{key}"))
                } else if order_by.strip_prefix('-') == Some(key) {
                    ("descending", key.to_string())
                } else {
                    ("none", key.to_string())
                };
                Column { label, href: Some(format!("{prefix}order_by={next}")), sort }
            }
        })
        .collect()
}

/// One link of the numbered pager; `None` pages are the gaps («…»).
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct PageLink {
    pub n: Option<i32>,
    pub href: String,
    pub current: bool,
}

/// The first and last pages, and two either side of the current one. With
/// `open_end` the total is only a lower bound («более N»): the pages after
/// the current one are offered, but no last page is named.
pub fn pager(page: i32, total: i64, page_size: i32, open_end: bool, prefix: &str) -> Vec<PageLink> {
    let size = i64::from(page_size.max(1));
    let counted = i32::try_from((total + size - 1) / size).unwrap_or(i32::MAX);
    let pages = if open_end { counted.max(page + 2) } else { counted };
    if pages <= 1 {
        return Vec::new();
    }
    let mut links = Vec::new();
    let mut gap = false;
    for n in 1..=pages {
        if n == 1 || (n == pages && !open_end) || (n - page).abs() <= 2 {
            links.push(PageLink { n: Some(n), href: format!("{prefix}page={n}"), current: n == page });
            gap = false;
        } else if !gap {
            links.push(PageLink { n: None, href: String::new(), current: false });
            gap = true;
        }
    }
    links
}

/// One waiting item of the work queue, as «Задачи» shows it.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Task {
    pub id: String,
    pub appeal_id: String,
    pub number: i64,
    pub label: String,
    /// Shown only when it says more than the label.
    pub summary: String,
    pub at: String,
}

impl Task {
    pub fn from_item(it: opeka_proto::cases::AppealWorkItem, terms: &Terms) -> Self {
        let summary = if it.summary == it.kind_label { String::new() } else { it.summary };
        Self {
            at: terms.time(it.created_at.as_ref()),
            id: it.id,
            appeal_id: it.appeal_id,
            number: it.appeal_number,
            label: it.kind_label,
            summary,
        }
    }
}

/// The caller's waiting tasks (the newest `TASKS_SHOWN`) and how many wait in all. Only executors,
/// supervisors and admins have a queue; cases being unable to say hides the block, not the journal.
async fn tasks(state: &AppState, auth: &Auth) -> (Vec<Task>, i64) {
    if !(has_role(auth, "executor") || has_role(auth, "supervisor") || auth.is_admin()) {
        return (Vec::new(), 0);
    }
    let msg =
        ListAppealWorkItemsRequest { include_processed: false, page_size: TASKS_SHOWN, page: 1, ..Default::default() };
    match state.appeals.clone().list_appeal_work_items(auth.req(msg)).await {
        Ok(r) => {
            let r = r.into_inner();
            let terms = state.terms(auth).await;
            (r.items.into_iter().map(|it| Task::from_item(it, &terms)).collect(), r.unprocessed)
        }
        Err(status) => {
            tracing::info!(code = ?status.code(), message = status.message(), "appeal work items unavailable");
            (Vec::new(), 0)
        }
    }
}

/// The journal's own part of a query (filter fields, sort, page), for a form that returns to it.
pub fn journal_query(p: &Pairs) -> String {
    let keep: Pairs = p
        .iter()
        .filter(|(k, _)| FILTER_FIELDS.contains(&k.as_str()) || k == "order_by" || k == "page")
        .cloned()
        .collect();
    serde_urlencoded::to_string(&keep).unwrap_or_default()
}

/// What the «Блокировка» and yes/no selects offer.
fn choices(s: &Strings) -> (Vec<Opt>, Vec<Opt>) {
    let t = s.appeals;
    let opt = |id: &str, name: &str| Opt { id: id.into(), name: name.into() };
    let locks = vec![
        opt("mine_and_free", t.lock_mine_and_free),
        opt("mine", t.lock_mine),
        opt("free", t.lock_free),
        opt("any", t.lock_any),
    ];
    let tri = vec![opt("", t.tri_any), opt("yes", s.yes), opt("no", s.no)];
    (locks, tri)
}

/// S1-15…S1-17, S1-48…S1-61, S1-64: the journal.
pub async fn page(State(state): State<AppState>, auth: Auth, Query(p): Query<Pairs>) -> Page {
    let s = state.strings();
    let t = s.appeals;
    let executor = has_role(&auth, "executor");
    let q = JournalQuery::from_pairs(&p, executor);
    let options = super::options(&state, &auth).await?;
    let saved = match state.appeals.clone().get_journal_preferences(auth.req(GetJournalPreferencesRequest {})).await {
        Ok(p) => p.into_inner().visible_filters,
        Err(status) => {
            tracing::info!(code = ?status.code(), message = status.message(), "journal preferences unavailable");
            Vec::new()
        }
    };
    let geography = Tree::load(&state, &auth, "geography").await;
    let topics = Tree::load(&state, &auth, "topics").await;
    let filled = q.filled();
    let shown = shown_fields(&saved, &filled);
    // Identity is asked for the organisations only when their filter is on the panel.
    let orgs = if shown.contains(&"executor_org_id") { super::organisations(&state, &auth).await } else { Vec::new() };

    let default_view = q.untouched && executor;
    let mut errors = FormErrors::default();
    let mut rows = Vec::new();
    let mut total = 0;
    // «более N»: the service counted up to its cap.
    let mut more = false;
    match q.filter(t) {
        Err(e) => errors = e,
        Ok(filter) => {
            let msg = ListAppealsRequest {
                filter: Some(filter),
                order_by: q.order_by.clone(),
                page_size: PAGE_SIZE,
                page: q.page,
                default_view,
                ..Default::default()
            };
            match state.appeals.clone().list_appeals(auth.req(msg)).await {
                Ok(r) => {
                    let r = r.into_inner();
                    (total, more) = (r.total, r.total_is_lower_bound);
                    rows = r
                        .rows
                        .into_iter()
                        .map(|r| Row {
                            held: !r.holder_id.is_empty(),
                            mine: r.holder_id == auth.row.account_id,
                            labels: r.labels.iter().map(|l| super::label_of(&options.labels, l)).collect(),
                            id: r.id,
                            number: r.number,
                            citizen_name: r.citizen_name,
                            status: r.status,
                            status_label: r.status_label,
                            category: r.category,
                            federal_district: r.federal_district,
                            region: r.region,
                            municipality: r.municipality,
                            executor: r.executor,
                            urgent: r.urgent,
                        })
                        .collect();
                }
                Err(status) if status.code() == tonic::Code::InvalidArgument => {
                    errors = super::form_errors(&status, FILTER_FIELDS);
                }
                Err(status) => return Err(state.grpc_error(&auth, status).await),
            }
        }
    }

    let filter_query = q.filter_query();
    let with_filter = |extra: &str| {
        let mut u = format!("{}?", journal_url(&auth));
        if !filter_query.is_empty() {
            u.push_str(&filter_query);
            u.push('&');
        }
        u.push_str(extra);
        u
    };
    let sort_prefix = with_filter("");
    let page_prefix =
        if q.order_by.is_empty() { with_filter("") } else { with_filter(&format!("order_by={}&", q.order_by)) };
    let visible = shown_fields(&saved, &[]);
    let fields: Vec<Value> = FILTER_FIELDS
        .iter()
        .map(|f| context! { name => *f, label => field_label(t, f), visible => visible.contains(f) })
        .collect();
    let (locks, tri) = choices(s);
    let notice = match one(&p, "notice").as_str() {
        "filters_saved" => Some(t.notice_filters_saved),
        "task_processed" => Some(t.notice_task_processed),
        _ => None,
    };
    let (tasks, tasks_waiting) = tasks(&state, &auth).await;
    let ctx = context! {
        title => t.journal_title,
        active => "appeals",
        q => Value::from(Serde(&q)),
        shown => shown,
        fields => fields,
        back => filter_query.clone(),
        errors => Value::from(Serde(&errors)),
        default_view => default_view,
        filtered => !q.untouched,
        rows => Value::from(Serde(&rows)),
        total => total,
        more => more,
        columns => Value::from(Serde(columns(t, &q.order_by, &sort_prefix))),
        pages => Value::from(Serde(pager(q.page, total, PAGE_SIZE, more, &page_prefix))),
        prev => (q.page > 1).then(|| format!("{page_prefix}page={}", q.page - 1)),
        next => (more && rows.len() == PAGE_SIZE as usize || i64::from(q.page) * i64::from(PAGE_SIZE) < total)
            .then(|| format!("{page_prefix}page={}", q.page + 1)),
        statuses => Value::from(Serde(opts(&options.statuses))),
        channels => Value::from(Serde(opts(&options.channels))),
        labels => Value::from(Serde(opts(&options.labels))),
        locks => Value::from(Serde(&locks)),
        tri => Value::from(Serde(&tri)),
        districts => Value::from(Serde(geography.groups("federal_district", ""))),
        regions => Value::from(Serde(geography.groups("region", &q.federal_district_id))),
        municipalities => Value::from(Serde(geography.groups("municipality", &q.region_id))),
        category_types => Value::from(Serde(topics.groups("category_type", ""))),
        categories => Value::from(Serde(topics.groups("category", &q.category_type_id))),
        subcategories => Value::from(Serde(topics.groups("subcategory", &q.category_id))),
        orgs => Value::from(Serde(&orgs)),
        can_create => can_edit_cards(&auth),
        notice => notice,
        tasks => Value::from(Serde(&tasks)),
        tasks_waiting => tasks_waiting,
        tasks_back => journal_query(&p),
    };
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    Ok(state.page(&auth.tenant, Some(&auth), status, "appeals/journal.html", ctx))
}

/// S1-62: «Настроить фильтры» saves which fields the panel shows, then returns to the same journal.
pub async fn save_filters(State(state): State<AppState>, AuthForm { auth, form }: AuthForm<Pairs>) -> Page {
    let visible: Vec<String> =
        all(&form, "visible").into_iter().filter(|f| FILTER_FIELDS.contains(f)).map(String::from).collect();
    let msg = SaveJournalPreferencesRequest { visible_filters: visible };
    state.call(&auth, state.appeals.clone().save_journal_preferences(auth.req(msg))).await?;
    // The journal's own filter, rebuilt from its fields only: the redirect never leaves the journal.
    let back: Pairs = serde_urlencoded::from_str(&one(&form, "back")).unwrap_or_default();
    let back: Pairs = back.into_iter().filter(|(k, _)| FILTER_FIELDS.contains(&k.as_str())).collect();
    let mut url = format!("{}?", journal_url(&auth));
    if !back.is_empty() {
        url.push_str(&serde_urlencoded::to_string(&back).unwrap_or_default());
        url.push('&');
    }
    url.push_str("notice=filters_saved");
    Ok(Redirect::to(&url).into_response())
}

/// «Обработано» on a task above the journal (issue 5 point 2), then back to the journal as it was.
pub async fn mark_task_processed(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    AuthForm { auth, form }: AuthForm<Pairs>,
) -> Page {
    let Some(id) = common::uuid(&id) else {
        return Err(common::not_found(&state, &auth));
    };
    let msg = MarkAppealWorkItemProcessedRequest { id };
    match state.appeals.clone().mark_appeal_work_item_processed(auth.req(msg)).await {
        Ok(item) => tracing::info!(work_item_id = %item.get_ref().id, "appeal work item processed"),
        Err(status) => return Err(state.grpc_error(&auth, status).await),
    }
    let back: Pairs = serde_urlencoded::from_str(&one(&form, "back")).unwrap_or_default();
    let back = journal_query(&back);
    let mut url = format!("{}?", journal_url(&auth));
    if !back.is_empty() {
        url.push_str(&back);
        url.push('&');
    }
    url.push_str("notice=task_processed");
    Ok(Redirect::to(&url).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strings::appeals::RU;

    fn pairs(v: &[(&str, &str)]) -> Pairs {
        v.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    // S1-15, S1-50: an executor arriving with no query gets cases' default view, the lock select at
    // «Мои и свободные»; a submitted form is a filter, whatever it holds.
    #[test]
    fn an_empty_query_is_the_default_view() {
        let q = JournalQuery::from_pairs(&pairs(&[("order_by", "-number"), ("page", "2")]), true);
        assert!(q.untouched);
        assert_eq!(q.lock, "mine_and_free");
        assert_eq!(q.filter(&RU).unwrap(), AppealFilter::default());
        assert_eq!(q.filter_query(), "");
        assert_eq!((q.order_by.as_str(), q.page), ("-number", 2));

        let q = JournalQuery::from_pairs(&pairs(&[("lock", "any"), ("number", "")]), true);
        assert!(!q.untouched);
        assert_eq!(q.filter(&RU).unwrap().lock, LockFilter::Unspecified as i32);
        let q = JournalQuery::from_pairs(&pairs(&[]), false);
        assert_eq!(q.lock, "any", "only executors start at «Мои и свободные»");
    }

    // S1-48…S1-60: every field of the form reaches the filter, and the URL keeps all of them.
    #[test]
    fn every_field_reaches_the_filter() {
        let d = "0195f3a4-0000-7000-8000-000000000001";
        let p = pairs(&[
            ("number", "№ 340820"),
            ("statuses", "in_work"),
            ("statuses", "done"),
            ("statuses", ""),
            ("lock", "free"),
            ("citizen_name", " Ходковский "),
            ("phone", "+7(983)413-00-00"),
            ("text", "помощь"),
            ("talked_before", "yes"),
            ("channels", "call_centre"),
            ("federal_district_id", d),
            ("region_id", "not-a-uuid"),
            ("address", "Белореченская"),
            ("created_from", "2025-01-01"),
            ("created_to", "2025-12-31"),
            ("labels_present", "federal"),
            ("labels_absent", "vip"),
            ("source_id", "3072039"),
            ("urgent", "no"),
            ("order_by", "drop table"),
            ("page", "-3"),
        ]);
        let q = JournalQuery::from_pairs(&p, false);
        let f = q.filter(&RU).unwrap();
        assert_eq!(f.number, 340_820);
        assert_eq!(f.statuses, ["in_work", "done"]);
        assert_eq!(f.lock, LockFilter::Free as i32);
        assert_eq!(f.citizen_name, "Ходковский");
        assert_eq!(f.phone, "+7(983)413-00-00");
        assert_eq!(f.text, "помощь");
        assert_eq!(f.talked_before, AppealTriState::Yes as i32);
        assert_eq!(f.channels, ["call_centre"]);
        assert_eq!(f.federal_district_id, d);
        assert_eq!(f.region_id, "", "a malformed id is no filter");
        assert_eq!(f.address, "Белореченская");
        assert_eq!((f.created_from.as_str(), f.created_to.as_str()), ("2025-01-01", "2025-12-31"));
        assert_eq!((f.labels_present.clone(), f.labels_absent.clone()), (vec!["federal".into()], vec!["vip".into()]));
        assert_eq!(f.source_id, "3072039");
        assert_eq!(f.urgent, AppealTriState::No as i32);
        assert_eq!((q.order_by.as_str(), q.page), ("", 1), "unknown sort and page fall back");
        let url = q.filter_query();
        let back: Pairs = serde_urlencoded::from_str(&url).unwrap();
        assert_eq!(JournalQuery::from_pairs(&back, false), q, "the URL round-trips: {url}");
        assert!(q.filled().contains(&"labels_absent") && !q.filled().contains(&"lock"));
    }

    #[test]
    fn a_bad_number_is_an_error_beside_it() {
        let q = JournalQuery::from_pairs(&pairs(&[("number", "12a")]), false);
        let e = q.filter(&RU).unwrap_err();
        assert_eq!(e.fields["number"], RU.number_digits);
    }

    // S1-62: the saved choice, else the seed's panel; a filled field shows either way.
    #[test]
    fn the_panel_shows_the_chosen_and_the_filled() {
        let all = shown_fields(&[], &[]);
        assert_eq!(all.len(), 20);
        assert!(all.contains(&"source_id") && !all.contains(&"urgent"));
        let mine = shown_fields(&["number".into(), "statuses".into()], &["phone"]);
        assert_eq!(mine, ["number", "statuses", "phone"]);
    }

    #[test]
    fn sort_links_toggle_the_direction() {
        let cols = columns(&RU, "-number", "/j?");
        assert_eq!((cols[0].sort, cols[0].href.as_deref()), ("descending", Some("/j?order_by=number")));
        let cols = columns(&RU, "number", "/j?");
        assert_eq!((cols[0].sort, cols[0].href.as_deref()), ("ascending", Some("/j?order_by=-number")));
        assert_eq!((cols[1].sort, cols[1].href.as_deref()), ("none", Some("/j?order_by=citizen_name")));
        assert!(cols[3].href.is_none(), "«Категория» does not sort");
    }

    #[test]
    fn the_pager_numbers_pages_with_gaps() {
        assert!(pager(1, 50, 50, false, "?").is_empty());
        let p = pager(6, 1000, 50, false, "/j?");
        let ns: Vec<Option<i32>> = p.iter().map(|l| l.n).collect();
        assert_eq!(ns, [Some(1), None, Some(4), Some(5), Some(6), Some(7), Some(8), None, Some(20)]);
        assert!(p[4].current && p[4].href == "/j?page=6");
        // Issue 11: past the service's count cap no last page is named.
        let open = pager(6, 1000, 50, true, "/j?");
        let ns: Vec<Option<i32>> = open.iter().map(|l| l.n).collect();
        assert_eq!(ns, [Some(1), None, Some(4), Some(5), Some(6), Some(7), Some(8), None]);
        let at_the_cap = pager(20, 1000, 50, true, "/j?");
        assert_eq!(at_the_cap.last().and_then(|l| l.n), Some(22), "the pages go on past the cap");
    }

    // Issue 5 point 2: «Обработано» comes back to the journal with its filter, sort and page, nothing else.
    #[test]
    fn a_processed_task_returns_to_the_same_journal() {
        let p = pairs(&[
            ("statuses", "in_work"),
            ("citizen_name", "Ходковский"),
            ("order_by", "-number"),
            ("page", "2"),
            ("notice", "filters_saved"),
            ("next", "https://evil.example"),
        ]);
        let back: Pairs = serde_urlencoded::from_str(&journal_query(&p)).unwrap();
        assert_eq!(back, p[..4].to_vec());
        assert_eq!(journal_query(&pairs(&[("notice", "task_processed")])), "");
    }

    #[test]
    fn a_task_shows_its_summary_only_when_it_says_more() {
        let terms = Terms::defaults(&crate::strings::RU);
        let item = |summary: &str| opeka_proto::cases::AppealWorkItem {
            id: "w".into(),
            appeal_id: "a".into(),
            appeal_number: 340_820,
            kind: "returned_for_rework".into(),
            kind_label: "Обращение возвращено на доработку".into(),
            summary: summary.into(),
            created_at: Some(prost_types::Timestamp { seconds: 1_767_225_600, nanos: 0 }),
            ..Default::default()
        };
        let t = Task::from_item(item("Обращение возвращено на доработку"), &terms);
        assert_eq!((t.number, t.summary.as_str(), t.at.as_str()), (340_820, "", "01.01.2026 03:00"));
        assert_eq!(Task::from_item(item("Нет подтверждения"), &terms).summary, "Нет подтверждения");
    }
}
