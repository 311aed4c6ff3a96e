//! «Соц. кураторы» (S0-17…S0-25): the admin's list of curator accounts,
//! the curator form, the card, password change and deletion. The menu
//! item is hidden from other roles and the pages refuse them; identity
//! refuses them again (PERMISSION_DENIED), whatever the gateway does.
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::Query;
use minijinja::context;
use minijinja::value::{Serde, Value};
use opeka_proto::identity::{
    Account, AccountKind, AccountStatus, CreateStaffAccountRequest, DeleteAccountRequest, GetAccountRequest,
    ListAccountsRequest, ListDistrictsRequest, Role, SetPasswordRequest, UpdateStaffAccountRequest,
};
use serde::{Deserialize, Serialize};

use super::Accounts;
use super::ListQuery;
use crate::pages::NoFields;
use crate::pages::common::{Confirm, Page, http};
use crate::session::{Auth, AuthForm};
use crate::views::FormErrors;
use crate::{AppState, identity, tenancy};

const PAGE_SIZE: i32 = 50;
/// Form fields, named as identity's proto fields so violations land beside them.
const FORM_FIELDS: &[&str] = &[
    "surname",
    "name",
    "patronymic",
    "email",
    "phone",
    "telegram_username",
    "district_id",
    "login",
    "password",
    "password_repeat",
];
const PASSWORD_FIELDS: &[&str] = &["password", "password_repeat"];

/// Only the admin works here (S0-17): the refusal page for anyone else.
/// Identity checks again.
fn refuse_non_admin(state: &AppState, auth: &Auth) -> Option<Response> {
    (!auth.is_admin())
        .then(|| state.error_page(&auth.tenant, Some(auth), StatusCode::FORBIDDEN, state.strings().forbidden))
}

fn list_url(tenant: &str, notice: &str) -> String {
    format!("{}/curators?notice={notice}", tenancy::base(tenant))
}

#[derive(Serialize)]
struct Row {
    id: String,
    full_name: String,
    login: String,
    email: String,
    phone: String,
    telegram_username: String,
}

/// S0-17, S0-22: the list, searchable, 50 to a page.
pub async fn list(State(state): State<AppState>, auth: Auth, Query(q): Query<ListQuery>) -> Page {
    if let Some(r) = refuse_non_admin(&state, &auth) {
        return Err(r);
    }
    let query = q.query.trim().to_string();
    let msg = ListAccountsRequest {
        kind: AccountKind::Staff as i32,
        role: Role::Curator as i32,
        query: query.clone(),
        include_deleted: false,
        page_size: PAGE_SIZE,
        page_token: q.page_token.clone(),
    };
    let res = state.call(&auth, state.identity.clone().list_accounts(auth.req(msg))).await?;
    let rows: Vec<Row> = res
        .accounts
        .iter()
        .map(|a| Row {
            id: a.id.clone(),
            full_name: identity::full_name(a),
            login: a.login.clone(),
            email: a.email.clone(),
            phone: a.phone.clone(),
            telegram_username: a.telegram_username.clone(),
        })
        .collect();
    let t = state.strings();
    let notice = match q.notice.as_str() {
        "created" => Some(t.notice_created),
        "saved" => Some(t.notice_saved),
        "deleted" => Some(t.notice_deleted),
        "password" => Some(t.notice_password_set),
        _ => None,
    };
    let page = Accounts {
        title: t.curators_title,
        active: "curators",
        query,
        rows,
        total: res.total_size,
        next_page_token: res.next_page_token,
        page_token: q.page_token,
        notice,
    };
    Ok(state.page(&auth.tenant, Some(&auth), StatusCode::OK, "admin/curators.html", page))
}

/// What the curator form holds. Passwords are never sent back to the page.
#[derive(Deserialize, Serialize, Default)]
pub struct CuratorForm {
    #[serde(default)]
    surname: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    patronymic: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    telegram_username: String,
    #[serde(default)]
    district_id: String,
    #[serde(default)]
    login: String,
    #[serde(default, skip_serializing)]
    password: String,
    #[serde(default, skip_serializing)]
    password_repeat: String,
}

impl CuratorForm {
    fn from_account(a: &Account) -> Self {
        Self {
            surname: a.surname.clone(),
            name: a.name.clone(),
            patronymic: a.patronymic.clone(),
            email: a.email.clone(),
            phone: a.phone.clone(),
            telegram_username: a.telegram_username.clone(),
            district_id: a.district_id.clone(),
            login: a.login.clone(),
            ..Default::default()
        }
    }

    fn trimmed(mut self) -> Self {
        for f in [
            &mut self.surname,
            &mut self.name,
            &mut self.patronymic,
            &mut self.email,
            &mut self.phone,
            &mut self.telegram_username,
            &mut self.district_id,
            &mut self.login,
        ] {
            *f = f.trim().to_string();
        }
        self
    }

    /// What the gateway checks before asking identity (which checks it all
    /// again): S0-20 surname required, S0-21 passwords match.
    fn local_errors(&self, state: &AppState, with_passwords: bool) -> FormErrors {
        let t = state.strings();
        let mut errors = FormErrors::default();
        if self.surname.is_empty() {
            errors.field("surname", t.surname_required);
        }
        if with_passwords && self.password != self.password_repeat {
            errors.field("password_repeat", t.passwords_differ);
        }
        errors
    }
}

#[derive(Serialize)]
struct DistrictOption {
    id: String,
    name: String,
}

async fn districts(state: &AppState, auth: &Auth) -> Result<Vec<DistrictOption>, Response> {
    let r = state.call(auth, state.identity.clone().list_districts(auth.req(ListDistrictsRequest::default()))).await?;
    Ok(r.districts.into_iter().map(|d| DistrictOption { id: d.id, name: d.name }).collect())
}

/// The curator account `id`, or a 404 page when it is no live curator.
async fn curator(state: &AppState, auth: &Auth, id: &str) -> Result<Account, Response> {
    let not_found = || state.error_page(&auth.tenant, Some(auth), StatusCode::NOT_FOUND, state.strings().not_found);
    // Only a well-formed id goes to identity (and into links on the page).
    let Ok(id) = uuid::Uuid::parse_str(id).map(|u| u.to_string()) else {
        return Err(not_found());
    };
    let account = state.call(auth, state.identity.clone().get_account(auth.req(GetAccountRequest { id }))).await?;
    let is_curator = account.kind == AccountKind::Staff as i32
        && account.status != AccountStatus::Deleted as i32
        && account.roles.contains(&(Role::Curator as i32));
    if is_curator { Ok(account) } else { Err(not_found()) }
}

enum Mode<'a> {
    New,
    Edit(&'a Account),
}

async fn render_form(
    state: &AppState,
    auth: &Auth,
    mode: Mode<'_>,
    form: &CuratorForm,
    errors: &FormErrors,
    status: StatusCode,
) -> Page {
    let districts = districts(state, auth).await?;
    let t = state.strings();
    let base = tenancy::base(&auth.tenant);
    let (title, action, id) = match mode {
        Mode::New => (t.curator_new_title, format!("{base}/curators/new"), None),
        Mode::Edit(a) => (t.curator_edit_title, format!("{base}/curators/{}/edit", a.id), Some(a.id.clone())),
    };
    let with_passwords = matches!(mode, Mode::New);
    let page = FormPage { title, active: "curators", action, id, with_passwords, form, errors, districts };
    Ok(state.page(&auth.tenant, Some(auth), status, "admin/curator_form.html", page))
}

/// `admin/curator_form.html`.
#[derive(Serialize)]
struct FormPage<'a> {
    title: &'static str,
    active: &'static str,
    action: String,
    id: Option<String>,
    with_passwords: bool,
    form: &'a CuratorForm,
    errors: &'a FormErrors,
    districts: Vec<DistrictOption>,
}

/// S0-18, S0-19: «Добавить соц. куратора» opens the form.
pub async fn new_form(State(state): State<AppState>, auth: Auth) -> Page {
    if let Some(r) = refuse_non_admin(&state, &auth) {
        return Err(r);
    }
    render_form(&state, &auth, Mode::New, &CuratorForm::default(), &FormErrors::default(), StatusCode::OK).await
}

/// S0-19…S0-22: saves a new curator; errors appear beside their fields
/// and the input is kept (never the passwords).
pub async fn create(State(state): State<AppState>, AuthForm { auth, form }: AuthForm<CuratorForm>) -> Page {
    if let Some(r) = refuse_non_admin(&state, &auth) {
        return Err(r);
    }
    let form = form.trimmed();
    let errors = form.local_errors(&state, true);
    if !errors.is_empty() {
        return render_form(&state, &auth, Mode::New, &form, &errors, StatusCode::BAD_REQUEST).await;
    }
    let msg = CreateStaffAccountRequest {
        surname: form.surname.clone(),
        name: form.name.clone(),
        patronymic: form.patronymic.clone(),
        email: form.email.clone(),
        phone: form.phone.clone(),
        telegram_username: form.telegram_username.clone(),
        district_id: form.district_id.clone(),
        organisation_id: String::new(),
        login: form.login.clone(),
        password: form.password.clone(),
        password_repeat: form.password_repeat.clone(),
        roles: vec![Role::Curator as i32],
    };
    state
        .submit(
            &auth,
            state.identity.clone().create_staff_account(auth.req(msg)),
            async |a| {
                tracing::info!(account_id = %a.id, "curator created");
                Redirect::to(&list_url(&auth.tenant, "created"))
            },
            async |status| {
                let errors = FormErrors::from_status(&status, FORM_FIELDS);
                render_form(&state, &auth, Mode::New, &form, &errors, http(&status)).await
            },
        )
        .await
}

/// S0-23: the curator's card, opened from the full name in the list.
pub async fn card(State(state): State<AppState>, auth: Auth, Path((_, id)): Path<(String, String)>) -> Page {
    if let Some(r) = refuse_non_admin(&state, &auth) {
        return Err(r);
    }
    let account = curator(&state, &auth, &id).await?;
    let district = if account.district_id.is_empty() {
        String::new()
    } else {
        let ds = districts(&state, &auth).await?;
        ds.into_iter().find(|d| d.id == account.district_id).map(|d| d.name).unwrap_or_default()
    };
    let t = state.strings();
    let ctx = context! {
        title => t.curator_card_title,
        active => "curators",
        id => account.id.clone(),
        full_name => identity::full_name(&account),
        account => Value::from(Serde(CuratorForm::from_account(&account))),
        district => district,
    };
    Ok(state.page(&auth.tenant, Some(&auth), StatusCode::OK, "admin/curator_card.html", ctx))
}

/// S0-24: «Изменить» opens the card for editing.
pub async fn edit_form(State(state): State<AppState>, auth: Auth, Path((_, id)): Path<(String, String)>) -> Page {
    if let Some(r) = refuse_non_admin(&state, &auth) {
        return Err(r);
    }
    let account = curator(&state, &auth, &id).await?;
    let form = CuratorForm::from_account(&account);
    render_form(&state, &auth, Mode::Edit(&account), &form, &FormErrors::default(), StatusCode::OK).await
}

/// S0-24: «Сохранить» saves and returns to the list.
pub async fn update(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    AuthForm { auth, form }: AuthForm<CuratorForm>,
) -> Page {
    if let Some(r) = refuse_non_admin(&state, &auth) {
        return Err(r);
    }
    let account = curator(&state, &auth, &id).await?;
    let form = form.trimmed();
    let errors = form.local_errors(&state, false);
    if !errors.is_empty() {
        return render_form(&state, &auth, Mode::Edit(&account), &form, &errors, StatusCode::BAD_REQUEST).await;
    }
    let msg = UpdateStaffAccountRequest {
        id: account.id.clone(),
        surname: form.surname.clone(),
        name: form.name.clone(),
        patronymic: form.patronymic.clone(),
        email: form.email.clone(),
        phone: form.phone.clone(),
        telegram_username: form.telegram_username.clone(),
        district_id: form.district_id.clone(),
        organisation_id: account.organisation_id.clone(),
        login: form.login.clone(),
        // The form does not edit roles: keep the account's own.
        roles: account.roles.clone(),
    };
    state
        .submit(
            &auth,
            state.identity.clone().update_staff_account(auth.req(msg)),
            async |_| Redirect::to(&list_url(&auth.tenant, "saved")),
            async |status| {
                let errors = FormErrors::from_status(&status, FORM_FIELDS);
                render_form(&state, &auth, Mode::Edit(&account), &form, &errors, http(&status)).await
            },
        )
        .await
}

fn render_password(
    state: &AppState,
    auth: &Auth,
    account: &Account,
    errors: &FormErrors,
    status: StatusCode,
) -> Response {
    let title = state.strings().curator_password_title;
    let page =
        PasswordPage { title, active: "curators", id: &account.id, full_name: identity::full_name(account), errors };
    state.page(&auth.tenant, Some(auth), status, "admin/curator_password.html", page)
}

/// `admin/curator_password.html`.
#[derive(Serialize)]
struct PasswordPage<'a> {
    title: &'static str,
    active: &'static str,
    id: &'a str,
    full_name: String,
    errors: &'a FormErrors,
}

/// S0-6, S0-24: «Сменить пароль» — the admin sets a curator's password.
pub async fn password_form(State(state): State<AppState>, auth: Auth, Path((_, id)): Path<(String, String)>) -> Page {
    if let Some(r) = refuse_non_admin(&state, &auth) {
        return Err(r);
    }
    let account = curator(&state, &auth, &id).await?;
    Ok(render_password(&state, &auth, &account, &FormErrors::default(), StatusCode::OK))
}

#[derive(Deserialize)]
pub struct NewPassword {
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_repeat: String,
}

pub async fn set_password(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    AuthForm { auth, form }: AuthForm<NewPassword>,
) -> Page {
    if let Some(r) = refuse_non_admin(&state, &auth) {
        return Err(r);
    }
    let account = curator(&state, &auth, &id).await?;
    let t = state.strings();
    let mut errors = FormErrors::default();
    if form.password.is_empty() {
        errors.field("password", t.password_required);
    }
    if form.password != form.password_repeat {
        errors.field("password_repeat", t.passwords_differ);
    }
    if !errors.is_empty() {
        return Err(render_password(&state, &auth, &account, &errors, StatusCode::BAD_REQUEST));
    }
    let msg =
        SetPasswordRequest { id: account.id.clone(), password: form.password, password_repeat: form.password_repeat };
    state
        .submit(
            &auth,
            state.identity.clone().set_password(auth.req(msg)),
            async |_| Redirect::to(&list_url(&auth.tenant, "password")),
            async |status| {
                let errors = FormErrors::from_status(&status, PASSWORD_FIELDS);
                render_password(&state, &auth, &account, &errors, http(&status))
            },
        )
        .await
}

/// S0-25: «Корзина» asks before deleting.
pub async fn delete_confirm(State(state): State<AppState>, auth: Auth, Path((_, id)): Path<(String, String)>) -> Page {
    if let Some(r) = refuse_non_admin(&state, &auth) {
        return Err(r);
    }
    let account = curator(&state, &auth, &id).await?;
    let t = state.strings();
    let base = tenancy::base(&auth.tenant);
    let confirm = Confirm {
        title: t.delete_title,
        active: "curators",
        question: t.delete_question,
        subject: &identity::full_name(&account),
        note: t.delete_note,
        action: &format!("{base}/curators/{}/delete", account.id),
        confirm_label: t.delete_confirm,
        danger: true,
        cancel_href: &format!("{base}/curators/{}", account.id),
    };
    Ok(state.page(&auth.tenant, Some(&auth), StatusCode::OK, "confirm.html", confirm))
}

pub async fn delete(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    AuthForm { auth, .. }: AuthForm<NoFields>,
) -> Page {
    if let Some(r) = refuse_non_admin(&state, &auth) {
        return Err(r);
    }
    let account = curator(&state, &auth, &id).await?;
    state
        .call(&auth, state.identity.clone().delete_account(auth.req(DeleteAccountRequest { id: account.id.clone() })))
        .await?;
    tracing::info!(account_id = %account.id, "curator deleted");
    Ok(Redirect::to(&list_url(&auth.tenant, "deleted")).into_response())
}
