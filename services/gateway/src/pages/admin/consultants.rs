//! «Консультанты» (S2-1, S2-2): the admin's list of legal-aid consultants and
//! their registration with e-mail, ФИО and centre; identity mails the
//! activation link. Only admins see the menu item; identity checks again.
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Redirect, Response};
use axum::routing::get;
use axum_extra::extract::Query;
use opeka_proto::identity::{
    AccountKind, AccountStatus, CreateStaffAccountRequest, ListAccountsRequest, ListOrganisationsRequest,
    OrganisationKind, Role,
};
use serde::{Deserialize, Serialize};

use super::Accounts;
use super::ListQuery;
use crate::pages::common::{self, Opt, Page, http};
use crate::session::{Auth, AuthForm};
use crate::views::FormErrors;
use crate::{AppState, identity, tenancy};

const PAGE_SIZE: i32 = 50;
/// Form fields, named as identity's proto fields so violations land beside them.
const FORM_FIELDS: &[&str] = &["surname", "name", "patronymic", "email", "organisation_id"];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/t/{tenant}/consultants", get(list))
        .route("/t/{tenant}/consultants/new", get(new_form).post(create))
}

/// The tenant's legal-aid centres (identity organisations of that kind).
async fn centres(state: &AppState, auth: &Auth) -> Result<Vec<Opt>, Response> {
    let msg = ListOrganisationsRequest { kind: OrganisationKind::LegalAidCentre as i32, ..Default::default() };
    let r = state.call(auth, state.identity.clone().list_organisations(auth.req(msg))).await?;
    Ok(r.organisations.into_iter().map(|o| Opt { id: o.id, name: o.name }).collect())
}

#[derive(Serialize)]
struct Row {
    full_name: String,
    email: String,
    centre: String,
    pending: bool,
}

/// S2-1: the consultants, searchable, 50 to a page, with whether each has
/// activated the account yet.
pub async fn list(State(state): State<AppState>, auth: Auth, Query(q): Query<ListQuery>) -> Page {
    if !auth.is_admin() {
        return Err(common::forbidden(&state, &auth));
    }
    let query = q.query.trim().to_string();
    let msg = ListAccountsRequest {
        kind: AccountKind::Staff as i32,
        role: Role::Consultant as i32,
        query: query.clone(),
        include_deleted: false,
        page_size: PAGE_SIZE,
        page_token: q.page_token.clone(),
    };
    let res = state.call(&auth, state.identity.clone().list_accounts(auth.req(msg))).await?;
    let centres = centres(&state, &auth).await?;
    let rows: Vec<Row> = res
        .accounts
        .iter()
        .map(|a| Row {
            full_name: identity::full_name(a),
            email: a.email.clone(),
            centre: common::name_of(&centres, &a.organisation_id),
            pending: a.status == AccountStatus::PendingActivation as i32,
        })
        .collect();
    let t = state.strings();
    let page = Accounts {
        title: t.recovery.consultants_title,
        active: "consultants",
        query,
        rows,
        total: res.total_size,
        next_page_token: res.next_page_token,
        page_token: q.page_token,
        notice: (q.notice == "registered").then_some(t.recovery.notice_registered),
    };
    Ok(state.page(&auth.tenant, Some(&auth), StatusCode::OK, "admin/consultants.html", page))
}

/// What the registration form holds: S2-1's e-mail and ФИО, and the centre.
#[derive(Deserialize, Serialize, Default)]
pub struct ConsultantForm {
    #[serde(default)]
    surname: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    patronymic: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    organisation_id: String,
}

impl ConsultantForm {
    fn trimmed(mut self) -> Self {
        for f in [&mut self.surname, &mut self.name, &mut self.patronymic, &mut self.email, &mut self.organisation_id] {
            *f = f.trim().to_string();
        }
        self
    }

    /// What the gateway checks before asking identity: the activation link
    /// needs an address, and the centre must be one of the tenant's.
    fn local_errors(&self, state: &AppState, centres: &[Opt]) -> FormErrors {
        let t = state.strings();
        let mut errors = FormErrors::default();
        if self.surname.is_empty() {
            errors.field("surname", t.surname_required);
        }
        if self.email.is_empty() {
            errors.field("email", t.recovery.email_required);
        }
        if !centres.iter().any(|c| c.id == self.organisation_id) {
            errors.field("organisation_id", t.recovery.centre_required);
        }
        errors
    }
}

fn render_form(
    state: &AppState,
    auth: &Auth,
    form: &ConsultantForm,
    centres: &[Opt],
    errors: &FormErrors,
    status: StatusCode,
) -> Response {
    let title = state.strings().recovery.consultant_new_title;
    let page = FormPage { title, active: "consultants", form, centres, errors };
    state.page(&auth.tenant, Some(auth), status, "admin/consultant_form.html", page)
}

/// `admin/consultant_form.html`.
#[derive(Serialize)]
struct FormPage<'a> {
    title: &'static str,
    active: &'static str,
    form: &'a ConsultantForm,
    centres: &'a [Opt],
    errors: &'a FormErrors,
}

pub async fn new_form(State(state): State<AppState>, auth: Auth) -> Page {
    if !auth.is_admin() {
        return Err(common::forbidden(&state, &auth));
    }
    let centres = centres(&state, &auth).await?;
    Ok(render_form(&state, &auth, &ConsultantForm::default(), &centres, &FormErrors::default(), StatusCode::OK))
}

/// S2-1, S2-2: the account is created without a password, so identity
/// mails the activation link; errors appear beside their fields.
pub async fn create(State(state): State<AppState>, AuthForm { auth, form }: AuthForm<ConsultantForm>) -> Page {
    if !auth.is_admin() {
        return Err(common::forbidden(&state, &auth));
    }
    let centres = centres(&state, &auth).await?;
    let form = form.trimmed();
    let errors = form.local_errors(&state, &centres);
    if !errors.is_empty() {
        return Err(render_form(&state, &auth, &form, &centres, &errors, StatusCode::BAD_REQUEST));
    }
    let msg = CreateStaffAccountRequest {
        surname: form.surname.clone(),
        name: form.name.clone(),
        patronymic: form.patronymic.clone(),
        email: form.email.clone(),
        organisation_id: form.organisation_id.clone(),
        roles: vec![Role::Consultant as i32],
        // No login (S2-6: the e-mail is the login) and no password (S2-2:
        // the consultant chooses it from the activation link).
        ..Default::default()
    };
    state
        .submit(
            &auth,
            state.identity.clone().create_staff_account(auth.req(msg)),
            async |a| {
                tracing::info!(account_id = %a.id, "consultant registered");
                Redirect::to(&format!("{}/consultants?notice=registered", tenancy::base(&auth.tenant)))
            },
            async |status| {
                let errors = FormErrors::from_status(&status, FORM_FIELDS);
                render_form(&state, &auth, &form, &centres, &errors, http(&status))
            },
        )
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strings::RU;
    use crate::views::tests::render;
    use minijinja::context;
    use minijinja::value::{Serde, Value};

    #[test]
    fn the_list_marks_accounts_waiting_for_activation_in_words() {
        let rows = vec![
            Row {
                full_name: "Консультантова Анна".into(),
                email: "a@x.ru".into(),
                centre: "ЦБЮП №1".into(),
                pending: true,
            },
            Row {
                full_name: "Юристов Пётр".into(), email: "p@x.ru".into(), centre: "ЦБЮП №2".into(), pending: false
            },
        ];
        let html = render(
            "admin/consultants.html",
            context! {
                query => "", rows => Value::from(Serde(&rows)), total => 2, next_page_token => "", page_token => "",
                notice => RU.recovery.notice_registered, active => "consultants",
            },
        );
        assert!(html.contains(RU.recovery.status_pending), "{html}");
        assert!(html.contains(RU.recovery.status_active), "{html}");
        assert!(html.contains("ЦБЮП №1"), "{html}");
        assert!(html.contains(RU.recovery.notice_registered), "{html}");
        assert!(html.replace("&#x2f;", "/").contains("href=\"/t/demo/consultants\" aria-current=\"page\""), "{html}");
    }

    #[test]
    fn the_form_offers_the_centres_and_shows_errors_beside_fields() {
        let centres = vec![Opt { id: "c-1".into(), name: "ЦБЮП №1".into() }];
        let mut errors = FormErrors::default();
        errors.field("email", RU.recovery.email_required);
        let form = ConsultantForm { surname: "Иванова".into(), ..Default::default() };
        let page = FormPage { title: "", active: "", form: &form, centres: &centres, errors: &errors };
        let html = render("admin/consultant_form.html", page);
        assert!(html.contains("<option value=\"c-1\">ЦБЮП №1</option>"), "{html}");
        assert!(html.contains("id=\"e-email\""), "{html}");
        assert!(html.contains("value=\"Иванова\""), "{html}");
        assert!(!html.contains("name=\"password\""), "no password: the link sets it");
    }
}
