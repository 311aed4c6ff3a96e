//! «Обращения» (issue 5, seed 001): the journal with its filters, the card with the «Действие» menu
//! and «Ход решения», intake and the moderator's edit. Cases owns the workflow and every word of it
//! (statuses, actions, reasons arrive with `GetAppealOptions` and the card); the gateway turns forms
//! into `AppealsService` calls and refusals back into messages beside the fields.
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::response::Response;
use axum::routing::{get, post};
use opeka_proto::cases::{
    Appeal, AppealOptions, GetAppealOptionsRequest, GetAppealRequest, ListReferenceNodesRequest, ReferenceNode,
};
use opeka_proto::identity::{ListOrganisationsRequest, OrganisationKind};
use serde::Serialize;

use crate::pages::common::{self, Opt};
use crate::session::Auth;
use crate::{AppState, tenancy};

mod card;
mod form;
mod journal;
mod references;
#[cfg(test)]
mod render_tests;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/t/{tenant}/appeals", get(journal::page))
        .route("/t/{tenant}/appeals/filters", post(journal::save_filters))
        .route("/t/{tenant}/appeals/tasks/{id}/processed", post(journal::mark_task_processed))
        .route("/t/{tenant}/appeals/new", get(form::new_form).post(form::create))
        .route("/t/{tenant}/appeals/{id}", get(card::page))
        // These two forms carry documents and photos (S1-38), streamed on to files.
        .route(
            "/t/{tenant}/appeals/{id}/act",
            post(card::act).layer(DefaultBodyLimit::max(common::MAX_FILES_POST_BYTES)),
        )
        .route(
            "/t/{tenant}/appeals/{id}/comments",
            post(card::add_comment).layer(DefaultBodyLimit::max(common::MAX_FILES_POST_BYTES)),
        )
        .route("/t/{tenant}/appeals/{id}/files/{file_id}", get(card::download))
        .route("/t/{tenant}/appeals/{id}/comments/{comment_id}", post(card::edit_comment))
        .route("/t/{tenant}/appeals/{id}/edit", get(form::edit_form).post(form::update))
        .merge(references::routes())
}

type Pairs = Vec<(String, String)>;

/// `/t/{tenant}/appeals`.
fn journal_url(auth: &Auth) -> String {
    format!("{}/appeals", tenancy::base(&auth.tenant))
}

fn card_url(auth: &Auth, id: &str) -> String {
    format!("{}/{id}", journal_url(auth))
}

fn has_role(auth: &Auth, role: &str) -> bool {
    auth.row.roles.iter().any(|r| r == role)
}

/// Moderators and admins take in and correct cards (S1-6).
fn can_edit_cards(auth: &Auth) -> bool {
    has_role(auth, "moderator") || auth.is_admin()
}

/// The card named in a path: its id, or its number (a typed-in `/appeals/340820` works too).
async fn load(state: &AppState, auth: &Auth, key: &str) -> Result<Appeal, Response> {
    let msg = if let Some(id) = common::uuid(key) {
        GetAppealRequest { id, number: 0 }
    } else if let Ok(number) = key.trim().parse::<i64>()
        && number > 0
    {
        GetAppealRequest { id: String::new(), number }
    } else {
        return Err(common::not_found(state, auth));
    };
    state.call(auth, state.appeals.clone().get_appeal(auth.req(msg))).await
}

/// The workflow's words (statuses, reasons, channels, labels, actions) as cases names them.
async fn options(state: &AppState, auth: &Auth) -> Result<AppealOptions, Response> {
    state.call(auth, state.appeals.clone().get_appeal_options(auth.req(GetAppealOptionsRequest {}))).await
}

/// A code's label in one of the option lists; the code itself when cases does not know it.
fn label_of(list: &[opeka_proto::cases::AppealOption], code: &str) -> String {
    list.iter().find(|o| o.code == code).map(|o| o.label.clone()).unwrap_or_else(|| code.to_string())
}

fn opts(list: &[opeka_proto::cases::AppealOption]) -> Vec<Opt> {
    list.iter().map(|o| Opt { id: o.code.clone(), name: o.label.clone() }).collect()
}

/// A select's options under headings (a region's municipalities under the region's name).
#[derive(Debug, Clone, Serialize)]
pub struct Group {
    pub label: String,
    pub options: Vec<Opt>,
}

/// One reference tree of the tenant (geography or topics), for the selects of filters and forms.
#[derive(Debug, Default, Clone)]
pub struct Tree {
    nodes: Vec<ReferenceNode>,
}

impl Tree {
    pub fn new(nodes: Vec<ReferenceNode>) -> Self {
        Self { nodes }
    }

    /// The tenant's tree; empty (selects without choices) when cases cannot say.
    async fn load(state: &AppState, auth: &Auth, tree: &str) -> Self {
        let msg = ListReferenceNodesRequest { tree: tree.to_string(), parent_id: String::new(), ..Default::default() };
        match state.appeals.clone().list_reference_nodes(auth.req(msg)).await {
            Ok(r) => Self::new(r.into_inner().nodes),
            Err(status) => {
                tracing::warn!(code = ?status.code(), message = status.message(), tree, "reference nodes unavailable");
                Self::default()
            }
        }
    }

    /// The nodes of `level`, grouped under their parents' names; with `parent` chosen, only its
    /// children (a chosen region narrows the municipalities). A node whose parent is missing goes
    /// into a group without a heading.
    pub fn groups(&self, level: &str, parent: &str) -> Vec<Group> {
        let mut groups: Vec<Group> = Vec::new();
        for n in self.nodes.iter().filter(|n| n.level == level) {
            if !parent.is_empty() && n.parent_id != parent {
                continue;
            }
            let label = self.nodes.iter().find(|p| p.id == n.parent_id).map(|p| p.name.clone()).unwrap_or_default();
            let opt = Opt { id: n.id.clone(), name: n.name.clone() };
            match groups.iter_mut().find(|g| g.label == label) {
                Some(g) => g.options.push(opt),
                None => groups.push(Group { label, options: vec![opt] }),
            }
        }
        groups
    }
}

/// The executive bodies cards are routed to (identity's organisations).
async fn organisations(state: &AppState, auth: &Auth) -> Vec<Opt> {
    let msg = ListOrganisationsRequest { kind: OrganisationKind::ExecutiveBody as i32, ..Default::default() };
    match state.identity.clone().list_organisations(auth.req(msg)).await {
        Ok(r) => r.into_inner().organisations.into_iter().map(|o| Opt { id: o.id, name: o.name }).collect(),
        Err(status) => {
            tracing::info!(code = ?status.code(), message = status.message(), "organisations unavailable");
            Vec::new()
        }
    }
}

/// Where a cases violation goes on a form: `mark_done.solution`, `request_close.duplicate_of` or
/// `solution` beside «solution»; `citizen.full_name` beside «citizen_full_name» (intake);
/// the domain's own names («org», «executor», «note») beside the inputs that carry them.
fn form_field(proto_field: &str, fields: &[&'static str]) -> Option<&'static str> {
    let head = proto_field.split('[').next().unwrap_or_default();
    let flat = head.replace('.', "_");
    let last = head.rsplit('.').next().unwrap_or_default();
    let last = match last {
        "org" => "executor_org_id",
        "executor" => "executor_id",
        "note" => "comment",
        other => other,
    };
    fields.iter().find(|f| **f == flat).or_else(|| fields.iter().find(|f| **f == last)).copied()
}

/// Cases' refusal spread over a form's `fields`; anything else above the form.
fn form_errors(status: &tonic::Status, fields: &[&'static str]) -> crate::views::FormErrors {
    let mut errors = crate::views::FormErrors::default();
    let violations = opeka_platform::error::violations(status);
    if violations.is_empty() {
        errors.general.push(status.message().to_string());
    }
    for v in violations {
        match form_field(&v.field, fields) {
            Some(f) => errors.field(f, v.description),
            None => errors.general.push(v.description),
        }
    }
    errors
}

fn new_request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn violations_find_their_inputs() {
        let act = &["solution", "answer", "comment", "executor_org_id", "executor_id", "duplicate_of"];
        assert_eq!(form_field("mark_done.solution", act), Some("solution"));
        assert_eq!(form_field("solution", act), Some("solution"));
        assert_eq!(form_field("request_close.duplicate_of", act), Some("duplicate_of"));
        assert_eq!(form_field("org", act), Some("executor_org_id"));
        assert_eq!(form_field("route.executor_org_id", act), Some("executor_org_id"));
        assert_eq!(form_field("note", act), Some("comment"));
        assert_eq!(form_field("id", act), None);
        let intake = &["citizen_full_name", "citizen_phone", "geography_region_id", "labels"];
        assert_eq!(form_field("citizen.full_name", intake), Some("citizen_full_name"));
        assert_eq!(form_field("geography.region_id", intake), Some("geography_region_id"));
        assert_eq!(form_field("labels[2]", intake), Some("labels"));
    }

    fn node(id: &str, level: &str, name: &str, parent: &str) -> ReferenceNode {
        ReferenceNode {
            id: id.into(),
            level: level.into(),
            code: id.into(),
            name: name.into(),
            parent_id: parent.into(),
            parent_code: parent.into(),
        }
    }

    #[test]
    fn trees_group_under_parents() {
        let t = Tree::new(vec![
            node("d1", "federal_district", "Сибирский", ""),
            node("r1", "region", "Новосибирская область", "d1"),
            node("r2", "region", "Республика Хакасия", "d1"),
            node("m1", "municipality", "город Абакан", "r2"),
            node("m2", "municipality", "город Новосибирск", "r1"),
        ]);
        let regions = t.groups("region", "");
        assert_eq!(regions.len(), 1);
        assert_eq!(regions[0].label, "Сибирский");
        assert_eq!(regions[0].options.len(), 2);
        let munis = t.groups("municipality", "r2");
        assert_eq!(munis.len(), 1);
        assert_eq!(munis[0].label, "Республика Хакасия");
        assert_eq!(munis[0].options.iter().map(|o| o.id.as_str()).collect::<Vec<_>>(), ["m1"]);
        assert_eq!(t.groups("municipality", "").len(), 2);
    }
}
