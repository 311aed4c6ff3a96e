//! Signing in and out (S0-3, S0-5, S0-15). The login form has no session
//! yet, so its CSRF token is a double-submit cookie; logout asks first.
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{AppendHeaders, IntoResponse, Redirect, Response};
use axum_extra::extract::Query;
use opeka_proto::identity::{LoginRequest, LogoutRequest, WhoAmIRequest};
use serde::{Deserialize, Serialize};
use tonic::Code;

use crate::pages::NoFields;
use crate::pages::common::{Confirm, Page};
use crate::session::{self, Auth, AuthForm, LOGIN_CSRF_COOKIE, SESSION_COOKIE};
use crate::views::FormErrors;
use crate::{AppState, identity, store, tenancy};

/// How long a login form stays usable.
const LOGIN_FORM_TTL_SECS: u64 = 2 * 60 * 60;
/// No account signs in with more (an e-mail address is at most 254); a
/// longer value is refused and never echoed into the page.
pub const MAX_LOGIN_CHARS: usize = 254;

#[derive(Deserialize, Default)]
pub struct LoginQuery {
    #[serde(default)]
    note: String,
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

pub async fn login_page(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    Query(q): Query<LoginQuery>,
    headers: HeaderMap,
) -> Page {
    if !tenancy::is_valid_slug(&tenant) {
        return Err(StatusCode::NOT_FOUND.into_response());
    }
    if let Some(id) = session::cookie(&headers, SESSION_COOKIE).filter(|v| !v.is_empty())
        && let Ok(Some(row)) = store::find(&state.pool, &state.secrets, &session::hash_id(id), state.clock.now()).await
        && row.tenant == tenant
    {
        return Ok(Redirect::to(&format!("{}/", tenancy::base(&tenant))).into_response());
    }
    let t = state.strings();
    let note = match q.note.as_str() {
        "expired" => Some(t.session_expired),
        "bye" => Some(t.logged_out),
        "reset" => Some(t.recovery.password_changed),
        _ => None,
    };
    // Keep a well-formed token the browser already has, so two open login
    // tabs do not invalidate each other.
    let token = session::cookie(&headers, LOGIN_CSRF_COOKIE)
        .filter(|v| v.len() == 43)
        .map(str::to_string)
        .unwrap_or_else(session::random_token);
    Ok(render_login(&state, &tenant, &token, "", &FormErrors::default(), note, StatusCode::OK))
}

fn render_login(
    state: &AppState,
    tenant: &str,
    token: &str,
    login: &str,
    errors: &FormErrors,
    note: Option<&str>,
    status: StatusCode,
) -> Response {
    let t = state.strings();
    let ctx = LoginPage { title: t.login_title, login_csrf: token, login, errors, note };
    let page = state.page(tenant, None, status, "account/login.html", ctx);
    let cookie = session::set_cookie(state, tenant, LOGIN_CSRF_COOKIE, token, LOGIN_FORM_TTL_SECS);
    (AppendHeaders([(header::SET_COOKIE, cookie)]), page).into_response()
}

/// `account/login.html`.
#[derive(Serialize)]
struct LoginPage<'a> {
    title: &'static str,
    login_csrf: &'a str,
    login: &'a str,
    errors: &'a FormErrors,
    note: Option<&'a str>,
}

/// S0-3: «Войти» opens the main window; S0-5: a failed login shows
/// identity's message on the form, the login kept, the password not.
pub async fn login(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Page {
    if !tenancy::is_valid_slug(&tenant) {
        return Err(StatusCode::NOT_FOUND.into_response());
    }
    let t = state.strings();
    let expected = session::cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or("");
    if !session::same_secret(&form.csrf, expected) {
        tracing::info!("login post without a valid csrf token refused");
        return Err(state.error_page(&tenant, None, StatusCode::FORBIDDEN, t.csrf_failed));
    }
    let mut login = form.login.trim();
    let mut errors = FormErrors::default();
    if login.is_empty() {
        errors.field("login", t.login_required);
    } else if login.chars().count() > MAX_LOGIN_CHARS {
        errors.field("login", t.login_too_long);
        login = "";
    }
    if form.password.is_empty() {
        errors.field("password", t.password_required);
    }
    if !errors.is_empty() {
        return Err(render_login(&state, &tenant, &form.csrf, login, &errors, None, StatusCode::BAD_REQUEST));
    }

    let msg = LoginRequest { tenant: tenant.clone(), login: login.to_string(), password: form.password };
    let pair = match state.identity.clone().login(identity::request(msg, &tenant, None)).await {
        Ok(pair) => pair.into_inner(),
        Err(status) => {
            let errors = match status.code() {
                Code::InvalidArgument => FormErrors::from_status(&status, &["login", "password"]),
                Code::Unauthenticated
                | Code::NotFound
                | Code::PermissionDenied
                | Code::FailedPrecondition
                | Code::ResourceExhausted => {
                    FormErrors { general: vec![status.message().to_string()], ..Default::default() }
                }
                Code::Unavailable | Code::DeadlineExceeded => {
                    tracing::warn!(message = status.message(), "identity unavailable at login");
                    FormErrors { general: vec![t.unavailable.to_string()], ..Default::default() }
                }
                _ => {
                    let trace_id = opeka_platform::telemetry::current_trace_id();
                    tracing::error!(code = ?status.code(), message = status.message(), %trace_id, "login failed");
                    FormErrors { general: vec![format!("{} {trace_id}.", t.internal)], ..Default::default() }
                }
            };
            let http = opeka_platform::error::http_status(status.code());
            return Err(render_login(&state, &tenant, &form.csrf, login, &errors, None, http));
        }
    };

    let now = state.clock.now();
    let account = match pair.account.clone() {
        Some(a) => a,
        None => {
            let req = identity::request(WhoAmIRequest {}, &tenant, Some(&pair.access_token));
            match state.identity.clone().who_am_i(req).await {
                Ok(a) => a.into_inner(),
                Err(status) => return Err(state.internal_error(&tenant, None, &status)),
            }
        }
    };
    let tokens = identity::tokens(pair, &account, now);
    session::close_presented(&state, &headers).await;
    let cookie = match session::open(&state, &tenant, &tokens).await {
        Ok(c) => c,
        Err(e) => return Err(state.internal_error(&tenant, None, &e)),
    };
    tracing::info!(account_id = %tokens.account_id, tenant = %tenant, "signed in");
    let clear_login_csrf = session::set_cookie(&state, &tenant, LOGIN_CSRF_COOKIE, "", 0);
    Ok((
        AppendHeaders([(header::SET_COOKIE, cookie), (header::SET_COOKIE, clear_login_csrf)]),
        Redirect::to(&format!("{}/", tenancy::base(&tenant))),
    )
        .into_response())
}

/// S0-15: «Выйти» in the menu opens a confirmation first.
pub async fn logout_page(State(state): State<AppState>, auth: Auth) -> Page {
    let t = state.strings();
    let base = tenancy::base(&auth.tenant);
    let confirm = Confirm {
        title: t.logout_title,
        active: "logout",
        question: t.logout_question,
        action: &format!("{base}/logout"),
        confirm_label: t.logout_confirm,
        cancel_href: &format!("{base}/"),
        ..Confirm::default()
    };
    Ok(state.page(&auth.tenant, Some(&auth), StatusCode::OK, "confirm.html", confirm))
}

/// Confirmed logout: identity revokes the tokens, the session row goes,
/// the browser returns to the login page.
pub async fn logout(State(state): State<AppState>, AuthForm { auth, .. }: AuthForm<NoFields>) -> Page {
    if let Err(status) = state.identity.clone().logout(auth.req(LogoutRequest {})).await {
        // The local session ends regardless; identity's tokens expire soon.
        tracing::warn!(code = ?status.code(), message = status.message(), "logout rpc failed");
    }
    auth.end(&state).await;
    let clear = auth.clear_cookie(&state);
    Ok((
        AppendHeaders([(header::SET_COOKIE, clear)]),
        Redirect::to(&format!("{}/login?note=bye", tenancy::base(&auth.tenant))),
    )
        .into_response())
}
