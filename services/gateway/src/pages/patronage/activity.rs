//! «Активность» (S0-81…S0-88, S0-95): the curator's work queue with every
//! filter of the seed, quick periods, and the «отработано» tick. A received
//! file opens straight from its row (S0-86) through the card's file link.
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum_extra::extract::Query;
use minijinja::context;
use minijinja::value::{Serde, Value};
use opeka_proto::cases::{ActivityKind, ListActivitiesRequest, MarkActivityProcessedRequest, Period, ProcessedFilter};
use serde::{Deserialize, Serialize};

use crate::pages::common::{self, Page, name_of, uuid};
use crate::session::{Auth, AuthForm};
use crate::{AppState, Strings, tenancy};

const PAGE_SIZE: i32 = 50;

#[derive(Deserialize, Serialize, Default)]
pub struct Filters {
    #[serde(default)]
    citizen: String,
    #[serde(default)]
    curator_id: String,
    #[serde(default)]
    district_id: String,
    /// `yes`, `no` or empty.
    #[serde(default)]
    processed: String,
    /// `file`, `contact`, … (see `kinds`) or empty.
    #[serde(default)]
    kind: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    /// `today`, `yesterday`, `week` or empty.
    #[serde(default)]
    period: String,
    #[serde(default)]
    page_token: String,
}

impl Filters {
    /// The filters as a query string, for links that keep them.
    fn query(&self) -> String {
        let mut f = serde_urlencoded::to_string(self).unwrap_or_default();
        // The page is not part of "what I filtered by".
        if let Some(i) = f.find("&page_token=") {
            f.truncate(i);
        }
        f
    }
}

/// (code, wire kind, label) of every activity type, in the seed's order.
fn kinds(t: &Strings) -> [(&'static str, ActivityKind, &'static str); 6] {
    [
        ("file", ActivityKind::FileReceived, t.kind_file),
        ("contact", ActivityKind::ContactRequested, t.kind_contact),
        ("skipped", ActivityKind::Skipped5Days, t.kind_skipped),
        ("inactive", ActivityKind::Inactive10Days, t.kind_inactive),
        ("no_assignments", ActivityKind::NoAssignments2Days, t.kind_no_assignments),
        ("reminder", ActivityKind::CuratorReminder, t.kind_reminder),
    ]
}

#[derive(Serialize)]
struct Row {
    id: String,
    citizen_id: String,
    citizen: String,
    curator: String,
    district: String,
    kind: String,
    summary: String,
    when: String,
    file_id: String,
    interaction_id: String,
    processed: bool,
    processed_at: String,
}

pub async fn list(State(state): State<AppState>, auth: Auth, Query(f): Query<Filters>) -> Page {
    let t = state.strings();
    let terms = state.terms(&auth).await;
    let kinds = kinds(t);
    let districts = common::districts(&state, &auth, "").await.unwrap_or_default();
    let curators = common::curators(&state, &auth).await.unwrap_or_default();
    let msg = ListActivitiesRequest {
        citizen_query: f.citizen.trim().to_string(),
        // S0-84: only the admin looks across curators; cases limits a curator anyway.
        curator_id: if auth.is_admin() { uuid(&f.curator_id).unwrap_or_default() } else { String::new() },
        district_id: uuid(&f.district_id).unwrap_or_default(),
        kind: kinds.iter().find(|k| k.0 == f.kind).map(|k| k.1 as i32).unwrap_or(0),
        processed: match f.processed.as_str() {
            "yes" => ProcessedFilter::Processed as i32,
            "no" => ProcessedFilter::Unprocessed as i32,
            _ => ProcessedFilter::Unspecified as i32,
        },
        from_date: f.from.trim().to_string(),
        to_date: f.to.trim().to_string(),
        period: match f.period.as_str() {
            "today" => Period::Today as i32,
            "yesterday" => Period::Yesterday as i32,
            "week" => Period::ThisWeek as i32,
            _ => Period::Unspecified as i32,
        },
        page_size: PAGE_SIZE,
        page_token: f.page_token.clone(),
        ..Default::default()
    };
    let (res, error) = match state.cases.clone().list_activities(auth.req(msg)).await {
        Ok(r) => (r.into_inner(), None),
        // A bad date range is the user's to fix, on the same page.
        Err(status) if common::is_form_error(&status) => {
            let v = opeka_platform::error::violations(&status);
            let msg = v.into_iter().map(|v| v.description).next().unwrap_or_else(|| status.message().to_string());
            (Default::default(), Some(msg))
        }
        Err(status) => return Err(state.grpc_error(&auth, status).await),
    };
    let rows: Vec<Row> = res
        .activities
        .iter()
        .map(|a| Row {
            id: a.id.clone(),
            citizen_id: a.citizen_id.clone(),
            citizen: a.citizen_full_name.clone(),
            curator: name_of(&curators, &a.curator_id),
            district: name_of(&districts, &a.district_id),
            kind: kinds.iter().find(|k| k.1 as i32 == a.kind).map(|k| k.2).unwrap_or_default().to_string(),
            summary: a.summary.clone(),
            when: terms.time(a.occurred_at.as_ref()),
            file_id: a.file_id.clone(),
            interaction_id: a.interaction_id.clone(),
            processed: a.processed,
            processed_at: terms.time(a.processed_at.as_ref()),
        })
        .collect();
    let kind_opts: Vec<common::Opt> =
        kinds.iter().map(|k| common::Opt { id: k.0.to_string(), name: k.2.to_string() }).collect();
    let ctx = context! {
        title => t.activity_title,
        active => "activity",
        f => Value::from(Serde(&f)),
        back => f.query(),
        rows => Value::from(Serde(&rows)),
        total => res.total_size,
        next_page_token => res.next_page_token,
        districts => Value::from(Serde(&districts)),
        curators => Value::from(Serde(&curators)),
        kinds => Value::from(Serde(&kind_opts)),
        error => error,
        curator_title => terms.curator_title,
    };
    Ok(state.page(&auth.tenant, Some(&auth), StatusCode::OK, "patronage/activity.html", ctx))
}

#[derive(Deserialize)]
pub struct Tick {
    #[serde(default)]
    processed: String,
    /// The list's filters, to come back to the same view.
    #[serde(default)]
    back: String,
}

/// S0-95: the «отработано» tick (or its removal); an admin may tick any.
pub async fn mark(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    AuthForm { auth, form }: AuthForm<Tick>,
) -> Page {
    let Some(id) = uuid(&id) else { return Err(common::not_found(&state, &auth)) };
    let msg = MarkActivityProcessedRequest { id, processed: form.processed == "1" };
    state.call(&auth, state.cases.clone().mark_activity_processed(auth.req(msg))).await?;
    // Only our own filter query goes back into the address.
    let back: Filters = serde_urlencoded::from_str(&form.back).unwrap_or_default();
    Ok(Redirect::to(&format!("{}/activity?{}", tenancy::base(&auth.tenant), back.query())).into_response())
}
