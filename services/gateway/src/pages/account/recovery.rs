//! The public account pages of issue 5 point 7: the activation link sets the
//! first password and signs in (S2-3, S2-4); «Забыли пароль?» mails a link
//! and a code, and either sets a new password (S1-14, S2-8).
//!
//! Nobody is signed in here, so each form's CSRF token is the login form's
//! double-submit cookie (see `auth.rs`).
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{AppendHeaders, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use axum_extra::extract::Query;
use opeka_proto::identity::{
    ActivateAccountRequest, RequestPasswordResetRequest, ResetPasswordRequest, TokenPair, WhoAmIRequest,
};
use serde::{Deserialize, Serialize};
use tonic::Code;

use crate::pages::common::Page;
use crate::session::{self, LOGIN_CSRF_COOKIE};
use crate::views::FormErrors;
use crate::{AppState, identity, tenancy};

/// How long a public form stays usable (as the login form).
const FORM_TTL_SECS: u64 = 2 * 60 * 60;
const ACTIVATE_FIELDS: &[&str] = &["password", "password_repeat"];
const RESET_FIELDS: &[&str] = &["login", "code", "password", "password_repeat"];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/t/{tenant}/activate", get(activate_page).post(activate))
        .route("/t/{tenant}/forgot", get(forgot_page).post(forgot))
        .route("/t/{tenant}/reset", get(reset_page).post(reset))
}

/// The form token the browser already holds (so two open tabs do not
/// invalidate each other), or a fresh one.
fn form_token(headers: &HeaderMap) -> String {
    session::cookie(headers, LOGIN_CSRF_COOKIE)
        .filter(|v| v.len() == 43)
        .map(str::to_string)
        .unwrap_or_else(session::random_token)
}

/// Whether a posted form carries the token of the browser's cookie.
fn csrf_ok(headers: &HeaderMap, posted: &str) -> bool {
    session::same_secret(posted, session::cookie(headers, LOGIN_CSRF_COOKIE).unwrap_or(""))
}

fn csrf_refused(state: &AppState, tenant: &str) -> Response {
    tracing::info!("public account form without a valid csrf token refused");
    state.error_page(tenant, None, StatusCode::FORBIDDEN, state.strings().csrf_failed)
}

/// A public page with its form token cookie set.
fn render(state: &AppState, tenant: &str, status: StatusCode, template: &str, ctx: Public<impl Serialize>) -> Response {
    let cookie = session::set_cookie(state, tenant, LOGIN_CSRF_COOKIE, ctx.form_csrf, FORM_TTL_SECS);
    let page = state.page(tenant, None, status, template, ctx);
    (AppendHeaders([(header::SET_COOKIE, cookie)]), page).into_response()
}

/// A public page's context: its own under its title and the form token (the cookie's value).
#[derive(Serialize)]
struct Public<'a, P> {
    title: &'static str,
    form_csrf: &'a str,
    #[serde(flatten)]
    page: P,
}

/// A failure that is nobody's typing error: identity away, or a bug.
fn service_failure(state: &AppState, status: &tonic::Status, what: &str) -> FormErrors {
    let t = state.strings();
    let message = match status.code() {
        // A throttle (issue 9): identity's Russian sentence says what to do.
        Code::ResourceExhausted => status.message().to_string(),
        Code::Unavailable | Code::DeadlineExceeded => {
            tracing::warn!(message = status.message(), what, "identity unavailable");
            t.unavailable.to_string()
        }
        _ => {
            let trace_id = opeka_platform::telemetry::current_trace_id();
            tracing::error!(code = ?status.code(), message = status.message(), %trace_id, what, "account call failed");
            format!("{} {trace_id}.", t.internal)
        }
    };
    FormErrors { general: vec![message], ..Default::default() }
}

/// The passwords a form must carry before identity is asked.
fn password_errors(state: &AppState, password: &str, repeat: &str, errors: &mut FormErrors) {
    let t = state.strings();
    if password.is_empty() {
        errors.field("password", t.password_required);
    }
    if password != repeat {
        errors.field("password_repeat", t.passwords_differ);
    }
}

// ---- Activation (S2-3, S2-4) ----

#[derive(Deserialize, Default)]
pub struct ActivateQuery {
    #[serde(default)]
    token: String,
}

#[derive(Deserialize)]
pub struct ActivateForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_repeat: String,
    #[serde(default)]
    csrf: String,
}

/// What the activation page shows: the password form, or (`dead`) why the
/// link cannot be used and the way on.
#[derive(Serialize)]
struct Activation<'a> {
    #[serde(rename = "link_token")]
    link: &'a str,
    errors: FormErrors,
    dead: Option<String>,
}

fn render_activate(state: &AppState, tenant: &str, token: &str, a: Activation<'_>, status: StatusCode) -> Response {
    let page = Public { title: state.strings().recovery.activate_title, form_csrf: token, page: a };
    render(state, tenant, status, "account/activate.html", page)
}

/// S2-3: the emailed link asks for a new password.
pub async fn activate_page(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    Query(q): Query<ActivateQuery>,
    headers: HeaderMap,
) -> Page {
    if !tenancy::is_valid_slug(&tenant) {
        return Err(StatusCode::NOT_FOUND.into_response());
    }
    let link = q.token.trim();
    let dead = link.is_empty().then(|| state.strings().recovery.token_missing.to_string());
    let status = if dead.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    let a = Activation { link, errors: FormErrors::default(), dead };
    Ok(render_activate(&state, &tenant, &form_token(&headers), a, status))
}

/// S2-3, S2-4: saving the password activates the account and signs in.
pub async fn activate(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    Form(form): Form<ActivateForm>,
) -> Page {
    if !tenancy::is_valid_slug(&tenant) {
        return Err(StatusCode::NOT_FOUND.into_response());
    }
    if !csrf_ok(&headers, &form.csrf) {
        return Err(csrf_refused(&state, &tenant));
    }
    let link = form.token.trim();
    if link.is_empty() {
        let dead = Some(state.strings().recovery.token_missing.to_string());
        let a = Activation { link, errors: FormErrors::default(), dead };
        return Err(render_activate(&state, &tenant, &form.csrf, a, StatusCode::BAD_REQUEST));
    }
    let mut errors = FormErrors::default();
    password_errors(&state, &form.password, &form.password_repeat, &mut errors);
    if !errors.is_empty() {
        let a = Activation { link, errors, dead: None };
        return Err(render_activate(&state, &tenant, &form.csrf, a, StatusCode::BAD_REQUEST));
    }
    let msg = ActivateAccountRequest {
        tenant: tenant.clone(),
        token: link.to_string(),
        password: form.password,
        password_repeat: form.password_repeat,
    };
    let status = match state.identity.clone().activate_account(identity::request(msg, &tenant, None)).await {
        Ok(r) => match r.into_inner().tokens {
            Some(pair) => return sign_in(&state, &tenant, &headers, pair).await,
            None => return Err(state.internal_error(&tenant, None, &"activation answered without tokens")),
        },
        Err(status) => status,
    };
    let http = opeka_platform::error::http_status(status.code());
    let a = match status.code() {
        // A used, expired or foreign link names the `token` field; the
        // password rules name theirs.
        Code::InvalidArgument => {
            let violations = opeka_platform::error::violations(&status);
            match violations.iter().find(|v| v.field == "token") {
                Some(v) => Activation { link, errors: FormErrors::default(), dead: Some(v.description.clone()) },
                None => Activation { link, errors: FormErrors::from_status(&status, ACTIVATE_FIELDS), dead: None },
            }
        }
        // Already activated.
        Code::FailedPrecondition | Code::NotFound => {
            Activation { link, errors: FormErrors::default(), dead: Some(status.message().to_string()) }
        }
        _ => Activation { link, errors: service_failure(&state, &status, "activate"), dead: None },
    };
    Ok(render_activate(&state, &tenant, &form.csrf, a, http))
}

/// Opens a session for a fresh token pair exactly as the login page does
/// (`auth::login`): the previous session of this browser ends, the session
/// cookie is set, the form token cleared, and the browser goes home.
async fn sign_in(state: &AppState, tenant: &str, headers: &HeaderMap, pair: TokenPair) -> Page {
    let now = state.clock.now();
    let account = match pair.account.clone() {
        Some(a) => a,
        None => {
            let req = identity::request(WhoAmIRequest {}, tenant, Some(&pair.access_token));
            match state.identity.clone().who_am_i(req).await {
                Ok(a) => a.into_inner(),
                Err(status) => return Err(state.internal_error(tenant, None, &status)),
            }
        }
    };
    let tokens = identity::tokens(pair, &account, now);
    session::close_presented(state, headers).await;
    let cookie = match session::open(state, tenant, &tokens).await {
        Ok(c) => c,
        Err(e) => return Err(state.internal_error(tenant, None, &e)),
    };
    tracing::info!(account_id = %tokens.account_id, tenant = %tenant, "activated and signed in");
    let clear: HeaderValue = session::set_cookie(state, tenant, LOGIN_CSRF_COOKIE, "", 0);
    Ok((
        AppendHeaders([(header::SET_COOKIE, cookie), (header::SET_COOKIE, clear)]),
        Redirect::to(&format!("{}/", tenancy::base(tenant))),
    )
        .into_response())
}

// ---- «Забыли пароль?» (S1-14, S2-8) ----

#[derive(Deserialize, Default)]
pub struct ForgotQuery {
    #[serde(default)]
    login: String,
}

#[derive(Deserialize)]
pub struct ForgotForm {
    #[serde(default)]
    login: String,
    #[serde(default)]
    csrf: String,
}

/// `account/forgot.html`.
#[derive(Serialize)]
struct Forgot<'a> {
    login: &'a str,
    errors: FormErrors,
}

fn render_forgot(state: &AppState, tenant: &str, token: &str, f: Forgot<'_>, status: StatusCode) -> Response {
    let page = Public { title: state.strings().recovery.forgot_title, form_csrf: token, page: f };
    render(state, tenant, status, "account/forgot.html", page)
}

/// S2-8: «Забыли пароль» opens the e-mail form.
pub async fn forgot_page(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    Query(q): Query<ForgotQuery>,
    headers: HeaderMap,
) -> Page {
    if !tenancy::is_valid_slug(&tenant) {
        return Err(StatusCode::NOT_FOUND.into_response());
    }
    let f = Forgot { login: q.login.trim(), errors: FormErrors::default() };
    Ok(render_forgot(&state, &tenant, &form_token(&headers), f, StatusCode::OK))
}

/// S1-14, S2-8: identity mails the link and the code; the page says the same
/// whether or not the address is known, and offers to enter the code.
pub async fn forgot(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    Form(form): Form<ForgotForm>,
) -> Page {
    if !tenancy::is_valid_slug(&tenant) {
        return Err(StatusCode::NOT_FOUND.into_response());
    }
    if !csrf_ok(&headers, &form.csrf) {
        return Err(csrf_refused(&state, &tenant));
    }
    let login = form.login.trim();
    if login.is_empty() {
        let mut errors = FormErrors::default();
        errors.field("login", state.strings().recovery.forgot_required);
        return Err(render_forgot(&state, &tenant, &form.csrf, Forgot { login, errors }, StatusCode::BAD_REQUEST));
    }
    if login.chars().count() > super::auth::MAX_LOGIN_CHARS {
        let mut errors = FormErrors::default();
        errors.field("login", state.strings().login_too_long);
        return Err(render_forgot(&state, &tenant, &form.csrf, Forgot { login: "", errors }, StatusCode::BAD_REQUEST));
    }
    let msg = RequestPasswordResetRequest { tenant: tenant.clone(), login: login.to_string() };
    if let Err(status) = state.identity.clone().request_password_reset(identity::request(msg, &tenant, None)).await {
        let errors = service_failure(&state, &status, "request password reset");
        let http = opeka_platform::error::http_status(status.code());
        return Err(render_forgot(&state, &tenant, &form.csrf, Forgot { login, errors }, http));
    }
    // Post/redirect/get: a reload does not mail another code.
    let to = format!("{}/reset?sent=1&login={}", tenancy::base(&tenant), urlencode(login));
    Ok(Redirect::to(&to).into_response())
}

// ---- The code and the new password (S1-14) ----

#[derive(Deserialize, Default)]
pub struct ResetQuery {
    #[serde(default)]
    login: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    sent: String,
}

#[derive(Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    login: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_repeat: String,
    #[serde(default)]
    csrf: String,
}

/// `account/reset.html`.
#[derive(Serialize)]
struct ResetView<'a> {
    login: &'a str,
    code: &'a str,
    sent: bool,
    errors: FormErrors,
}

fn render_reset(state: &AppState, tenant: &str, token: &str, v: ResetView<'_>, status: StatusCode) -> Response {
    let page = Public { title: state.strings().recovery.reset_title, form_csrf: token, page: v };
    render(state, tenant, status, "account/reset.html", page)
}

/// S1-14, S2-8: the mail's link fills in the login and the code; typed by
/// hand, the code works the same.
pub async fn reset_page(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    Query(q): Query<ResetQuery>,
    headers: HeaderMap,
) -> Page {
    if !tenancy::is_valid_slug(&tenant) {
        return Err(StatusCode::NOT_FOUND.into_response());
    }
    let v =
        ResetView { login: q.login.trim(), code: q.code.trim(), sent: q.sent == "1", errors: FormErrors::default() };
    Ok(render_reset(&state, &tenant, &form_token(&headers), v, StatusCode::OK))
}

/// A new password with the code; on success the login page says so.
pub async fn reset(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    Form(form): Form<ResetForm>,
) -> Page {
    if !tenancy::is_valid_slug(&tenant) {
        return Err(StatusCode::NOT_FOUND.into_response());
    }
    if !csrf_ok(&headers, &form.csrf) {
        return Err(csrf_refused(&state, &tenant));
    }
    let t = state.strings();
    let (login, code) = (form.login.trim(), form.code.trim());
    let mut errors = FormErrors::default();
    if login.is_empty() {
        errors.field("login", t.recovery.forgot_required);
    }
    if code.is_empty() {
        errors.field("code", t.recovery.code_required);
    }
    password_errors(&state, &form.password, &form.password_repeat, &mut errors);
    if !errors.is_empty() {
        let v = ResetView { login, code, sent: false, errors };
        return Err(render_reset(&state, &tenant, &form.csrf, v, StatusCode::BAD_REQUEST));
    }
    let msg = ResetPasswordRequest {
        tenant: tenant.clone(),
        login: login.to_string(),
        code: code.to_string(),
        password: form.password,
        password_repeat: form.password_repeat,
    };
    match state.identity.clone().reset_password(identity::request(msg, &tenant, None)).await {
        Ok(_) => {
            tracing::info!(tenant = %tenant, "password reset with a code");
            Ok(Redirect::to(&format!("{}/login?note=reset", tenancy::base(&tenant))).into_response())
        }
        Err(status) => {
            let errors = match status.code() {
                Code::InvalidArgument | Code::FailedPrecondition => FormErrors::from_status(&status, RESET_FIELDS),
                _ => service_failure(&state, &status, "reset password"),
            };
            let http = opeka_platform::error::http_status(status.code());
            let v = ResetView { login, code, sent: false, errors };
            Ok(render_reset(&state, &tenant, &form.csrf, v, http))
        }
    }
}

/// Percent-encodes a query value (everything but the unreserved set).
fn urlencode(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strings::RU;
    use crate::views::tests::render;
    use minijinja::context;
    use minijinja::value::{Serde, Value};

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(urlencode("konsultant@example.ru"), "konsultant%40example.ru");
        assert_eq!(urlencode("a b&c=д"), "a%20b%26c%3D%D0%B4");
    }

    fn errors(fields: &[(&str, &str)]) -> Value {
        let mut e = FormErrors::default();
        for (f, m) in fields {
            e.field(f, *m);
        }
        Value::from(Serde(e))
    }

    #[test]
    fn the_activation_page_asks_for_a_password_or_explains_a_dead_link() {
        let form = render(
            "account/activate.html",
            context! { link_token => "tok-1", form_csrf => "c", errors => errors(&[("password_repeat", "Пароли не совпадают.")]) },
        );
        assert!(form.contains("Придумайте пароль"), "{form}");
        assert!(form.contains("name=\"token\" value=\"tok-1\""), "{form}");
        assert!(form.contains("id=\"e-password_repeat\""), "{form}");
        assert!(form.contains(RU.recovery.save), "{form}");
        let dead = render(
            "account/activate.html",
            context! { link_token => "tok-1", form_csrf => "c", errors => errors(&[]), dead => "Ссылка устарела." },
        );
        assert!(dead.contains("Ссылка устарела."), "{dead}");
        assert!(!dead.contains("name=\"password\""), "no form under a dead link: {dead}");
        assert!(dead.replace("&#x2f;", "/").contains("/t/demo/forgot"), "S2-8 link offered: {dead}");
    }

    #[test]
    fn the_reset_page_prefills_the_link_and_shows_errors_beside_fields() {
        let page = render(
            "account/reset.html",
            context! {
                form_csrf => "c", login => "ivanova", code => "123456", sent => true,
                errors => errors(&[("code", "Код неверен или устарел. Запросите новый код.")]),
            },
        );
        assert!(page.contains("value=\"ivanova\""), "{page}");
        assert!(page.contains("value=\"123456\""), "{page}");
        assert!(page.contains(RU.recovery.sent_notice), "{page}");
        assert!(page.contains("id=\"e-code\""), "{page}");
        let forgot = render("account/forgot.html", context! { form_csrf => "c", login => "", errors => errors(&[]) });
        assert!(forgot.contains("name=\"login\""), "{forgot}");
        assert!(forgot.contains(RU.recovery.forgot_title), "{forgot}");
    }
}
