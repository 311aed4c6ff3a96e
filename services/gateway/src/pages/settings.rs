//! «Настройка системы» (S0-7, S0-8): the signed-in user changes their own
//! password — the old one, then the new one twice.
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use minijinja::value::{Serde, Value};
use opeka_proto::identity::ChangeOwnPasswordRequest;
use serde::Deserialize;
use tonic::Code;

use crate::session::{Auth, AuthForm};
use crate::views::FormErrors;
use crate::{AppState, tenancy};

const FIELDS: &[&str] = &["old_password", "new_password", "new_password_repeat"];

#[derive(Deserialize, Default)]
pub struct SettingsQuery {
    #[serde(default)]
    changed: Option<String>,
}

#[derive(Deserialize)]
pub struct PasswordChange {
    #[serde(default)]
    old_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    new_password_repeat: String,
}

pub async fn page(State(state): State<AppState>, auth: Auth, Query(q): Query<SettingsQuery>) -> Response {
    render(&state, &auth, &FormErrors::default(), q.changed.is_some(), StatusCode::OK)
}

fn render(state: &AppState, auth: &Auth, errors: &FormErrors, changed: bool, status: StatusCode) -> Response {
    let t = state.strings();
    let ctx = context! {
        title => t.settings_title,
        active => "settings",
        errors => Value::from(Serde(errors)),
        notice => changed.then_some(t.password_changed),
    };
    state.page(&auth.tenant, Some(auth), status, "settings.html", ctx)
}

pub async fn change_password(
    State(state): State<AppState>,
    AuthForm { auth, form }: AuthForm<PasswordChange>,
) -> Response {
    let t = state.strings();
    let mut errors = FormErrors::default();
    if form.old_password.is_empty() {
        errors.field("old_password", t.password_required);
    }
    if form.new_password.is_empty() {
        errors.field("new_password", t.password_required);
    }
    if form.new_password != form.new_password_repeat {
        errors.field("new_password_repeat", t.passwords_differ);
    }
    if !errors.is_empty() {
        return render(&state, &auth, &errors, false, StatusCode::BAD_REQUEST);
    }
    let msg = ChangeOwnPasswordRequest {
        old_password: form.old_password,
        new_password: form.new_password,
        new_password_repeat: form.new_password_repeat,
    };
    match state.identity.clone().change_own_password(auth.req(msg)).await {
        Ok(_) => {
            tracing::info!(account_id = %auth.row.account_id, "own password changed");
            Redirect::to(&format!("{}/settings?changed=1", tenancy::base(&auth.tenant))).into_response()
        }
        Err(status) if matches!(status.code(), Code::InvalidArgument | Code::FailedPrecondition) => {
            let errors = FormErrors::from_status(&status, FIELDS);
            render(&state, &auth, &errors, false, opeka_platform::error::http_status(status.code()))
        }
        Err(status) => state.grpc_error(&auth, status).await,
    }
}
