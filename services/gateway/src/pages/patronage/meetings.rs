//! «Дата встречи с соц. куратором» (S0-96, S0-97): a calendar of the
//! meetings across the user's citizens (a curator: their own; the admin: the
//! tenant, or one curator's). Meetings are made in a card's «Программа
//! поддержки»; here they are only seen and opened.
use axum::extract::State;
use axum::http::StatusCode;
use axum_extra::extract::Query;
use minijinja::context;
use minijinja::value::{Serde, Value};
use opeka_proto::scheduler::{ListOccurrencesRequest, ReminderKind};

use super::calendar::{self, Period, View};
use super::program::{self, CalendarQuery};
use crate::pages::common::{self, Page, uuid};
use crate::session::Auth;
use crate::{AppState, tenancy};

fn curator_filter(auth: &Auth, q: &CalendarQuery) -> String {
    // S0-84's rule: only the admin looks across curators.
    if auth.is_admin() { uuid(&q.curator_id).unwrap_or_default() } else { String::new() }
}

pub async fn page(State(state): State<AppState>, auth: Auth, Query(q): Query<CalendarQuery>) -> Page {
    let t = state.strings();
    let terms = state.terms(&auth).await;
    let today = program::today(&state, &terms);
    let view = View::parse(&q.view);
    let period = Period::new(view, calendar::parse_date(&q.date).unwrap_or(today));
    let curator_id = curator_filter(&auth, &q);
    let curators = if auth.is_admin() { common::curators(&state, &auth).await.unwrap_or_default() } else { vec![] };
    let msg = ListOccurrencesRequest {
        citizen_id: String::new(),
        from_date: period.from.to_string(),
        to_date: period.to.to_string(),
        kinds: vec![ReminderKind::Meeting as i32],
        curator_id: curator_id.clone(),
        ..Default::default()
    };
    let (rows, unavailable) = match program::period_rows(&state, &auth, msg).await? {
        Ok(rows) => (rows, None),
        Err(words) => (Vec::new(), Some(words)),
    };
    let base = tenancy::base(&auth.tenant);
    let extra = if curator_id.is_empty() { String::new() } else { format!("&curator_id={curator_id}") };
    let nav = program::nav(t, &period, today, &format!("{base}/meetings?"), &extra);
    let events_url = if curator_id.is_empty() {
        format!("{base}/meetings/events")
    } else {
        format!("{base}/meetings/events?curator_id={curator_id}")
    };
    let ctx = context! {
        title => t.menu_meetings,
        active => "meetings",
        nav => Value::from(Serde(&nav)),
        days => Value::from(Serde(calendar::by_day(t, rows, today))),
        unavailable => unavailable,
        legend => Value::from(Serde(calendar::legend(t))),
        events_url => events_url,
        curators => Value::from(Serde(&curators)),
        curator_id => curator_id,
        curator_title => terms.curator_title,
        time_zone => terms.time_zone,
    };
    Ok(state.page(&auth.tenant, Some(&auth), StatusCode::OK, "patronage/meetings.html", ctx))
}

/// GET `/t/{tenant}/meetings/events?start=…&end=…[&curator_id=…]`.
pub async fn events(State(state): State<AppState>, auth: Auth, Query(q): Query<CalendarQuery>) -> Page {
    let Some((from, to)) = program::requested_period(&q) else { return Err(program::bad_period(state.strings())) };
    let msg = ListOccurrencesRequest {
        citizen_id: String::new(),
        from_date: from.to_string(),
        to_date: to.to_string(),
        kinds: vec![ReminderKind::Meeting as i32],
        curator_id: curator_filter(&auth, &q),
        ..Default::default()
    };
    program::events_json(&state, &auth, msg, true).await
}
