//! «Отклонения»: the left-menu page of citizens and reminders with no
//! reaction or «Пропущено» in the last 72 hours (S0-110), and the card tab
//! with one citizen's whole history of them (S0-46). Scheduler decides
//! whose citizens a user sees; the admin may narrow the page to a curator.
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum_extra::extract::Query;
use minijinja::context;
use minijinja::value::{Serde, Value};
use opeka_proto::cases::Citizen;
use opeka_proto::scheduler::ListDeviationsRequest;
use serde::Serialize;
use tonic::Code;

use super::calendar::{self, Row};
use super::program::CalendarQuery;
use crate::pages::common::{self, Page, uuid};
use crate::session::Auth;
use crate::{AppState, tenancy};

/// S0-110: «за последние 72 часа».
const PAGE_HOURS: u32 = 72;

/// One citizen's deviations on the page.
#[derive(Debug, Serialize)]
pub struct Group {
    pub citizen_id: String,
    pub citizen: String,
    pub rows: Vec<Row>,
}

/// Rows grouped by citizen; the citizen with the newest deviation first,
/// each citizen's rows newest first (scheduler's order).
pub fn by_citizen(rows: Vec<Row>) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    for r in rows {
        match groups.iter_mut().find(|g| g.citizen_id == r.citizen_id) {
            Some(g) => g.rows.push(r),
            None => groups.push(Group { citizen_id: r.citizen_id.clone(), citizen: r.citizen.clone(), rows: vec![r] }),
        }
    }
    groups
}

async fn list(
    state: &AppState,
    auth: &Auth,
    msg: ListDeviationsRequest,
) -> Result<Result<Vec<Row>, &'static str>, Response> {
    let base = tenancy::base(&auth.tenant);
    match state.scheduler.clone().list_deviations(auth.req(msg)).await {
        Ok(r) => Ok(Ok(r.into_inner().occurrences.iter().map(|o| calendar::row(state.strings(), &base, o)).collect())),
        Err(status) if matches!(status.code(), Code::Unavailable | Code::DeadlineExceeded) => {
            tracing::warn!(code = ?status.code(), message = status.message(), "scheduler unavailable");
            Ok(Err(state.strings().scheduler_unavailable))
        }
        Err(status) => Err(state.grpc_error(auth, status).await),
    }
}

/// S0-46: the card tab — every reminder this citizen ignored or skipped (or why not shown).
pub async fn tab(state: &AppState, auth: &Auth, c: &Citizen) -> Result<(Vec<Row>, Option<&'static str>), Response> {
    let msg =
        ListDeviationsRequest { citizen_id: c.id.clone(), hours: 0, curator_id: String::new(), ..Default::default() };
    Ok(match list(state, auth, msg).await? {
        Ok(rows) => (rows, None),
        Err(words) => (Vec::new(), Some(words)),
    })
}

/// S0-110: the left-menu page.
pub async fn page(State(state): State<AppState>, auth: Auth, Query(q): Query<CalendarQuery>) -> Page {
    let t = state.strings();
    let terms = state.terms(&auth).await;
    let curator_id = if auth.is_admin() { uuid(&q.curator_id).unwrap_or_default() } else { String::new() };
    let curators = if auth.is_admin() { common::curators(&state, &auth).await.unwrap_or_default() } else { vec![] };
    let msg = ListDeviationsRequest { hours: PAGE_HOURS, curator_id: curator_id.clone(), ..Default::default() };
    let (rows, unavailable) = match list(&state, &auth, msg).await? {
        Ok(rows) => (rows, None),
        Err(words) => (Vec::new(), Some(words)),
    };
    let total = rows.len();
    let ctx = context! {
        title => t.deviations_title,
        active => "deviations",
        groups => Value::from(Serde(by_citizen(rows))),
        total => total,
        unavailable => unavailable,
        curators => Value::from(Serde(&curators)),
        curator_id => curator_id,
        curator_title => terms.curator_title,
        legend => Value::from(Serde(calendar::legend(t))),
    };
    Ok(state.page(&auth.tenant, Some(&auth), StatusCode::OK, "patronage/deviations.html", ctx))
}

#[cfg(test)]
mod tests {
    use super::*;
    use opeka_proto::scheduler::{Occurrence, OccurrenceStatus};

    fn occ(id: &str, citizen: &str, status: OccurrenceStatus) -> Occurrence {
        Occurrence {
            id: id.into(),
            series_id: "s".into(),
            citizen_id: citizen.into(),
            citizen_full_name: format!("Гражданин {citizen}"),
            local_date: "2025-11-20".into(),
            local_time: "09:00".into(),
            status: status as i32,
            ..Default::default()
        }
    }

    #[test]
    fn deviations_group_by_citizen_newest_first() {
        let t = &crate::strings::RU;
        let rows = [
            occ("1", "a", OccurrenceStatus::Skipped),
            occ("2", "b", OccurrenceStatus::NoReaction),
            occ("3", "a", OccurrenceStatus::NoReaction),
        ]
        .iter()
        .map(|o| calendar::row(t, "/t/x", o))
        .collect();
        let g = by_citizen(rows);
        assert_eq!(g.len(), 2);
        assert_eq!((g[0].citizen_id.as_str(), g[0].rows.len()), ("a", 2));
        assert_eq!(g[0].rows[0].marker.colour, "red");
        assert_eq!(g[0].rows[1].marker.colour, "yellow");
        assert_eq!(g[1].citizen, "Гражданин b");
    }
}
