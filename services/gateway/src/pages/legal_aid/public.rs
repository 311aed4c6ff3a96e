//! The public «Онлайн-консультация» (S2-32, S2-33, S2-36): anyone asks a question with their
//! place of residence, without an account, and is told which centre will answer; the answers a
//! moderator approved are listed on a page of their own. No session here: the form's CSRF token
//! is a double-submit cookie, as on the login page.
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{AppendHeaders, IntoResponse, Response};
use axum_extra::extract::Form;
use axum_extra::extract::Query;
use minijinja::context;
use minijinja::value::{Serde, Value};
use opeka_proto::cases::{
    AskQuestionRequest, AskQuestionResponse, LegalAidResidence, ListPublishedQuestionsRequest,
    ListPublishedQuestionsResponse, ListResidenceOptionsRequest, ListResidenceOptionsResponse,
};
use serde::{Deserialize, Serialize};
use tonic::Code;

use super::{Pager, Refs, form_errors, new_request_id, page_number, pager, query_prefix, words};
use crate::pages::common::{Page, trimmed, uuid};
use crate::strings::legal_aid::LegalAidStrings;
use crate::views::FormErrors;
use crate::{AppState, identity, session, tenancy};

/// Double-submit cookie of the public question form.
const PUBLIC_CSRF_COOKIE: &str = "opeka_public_csrf";
/// How long the question form stays usable.
const FORM_TTL_SECS: u64 = 4 * 60 * 60;
const PAGE_SIZE: i32 = 20;
const FORM_FIELDS: &[&str] =
    &["name", "contact_email", "contact_phone", "region_code", "district_code", "city", "text"];

/// What the public form holds, as typed.
#[serde_with::apply(String => #[serde(deserialize_with = "trimmed")])]
#[derive(Serialize, Default, Debug, Clone, Deserialize)]
#[serde(default)]
pub(super) struct AskForm {
    /// The double-submit token (checked against the cookie, never shown).
    #[serde(skip_serializing)]
    pub csrf: String,
    pub request_id: String,
    pub name: String,
    pub contact_email: String,
    pub contact_phone: String,
    pub region_code: String,
    pub district_code: String,
    pub city: String,
    pub text: String,
}

fn refs_of(options: &ListResidenceOptionsResponse) -> Refs {
    let all: Vec<_> = options.regions.iter().chain(options.districts.iter()).cloned().collect();
    Refs::from_refs(&all)
}

/// The ask page's own context; `sent` is the answer to a question just asked.
pub(super) fn ask_ctx(
    t: &LegalAidStrings,
    base: &str,
    options: &ListResidenceOptionsResponse,
    form: &AskForm,
    errors: &FormErrors,
    sent: Option<&AskQuestionResponse>,
    csrf: &str,
) -> Value {
    let refs = refs_of(options);
    context! {
        title => t.online_title,
        public_active => "ask",
        online_base => base,
        accepting => options.accepting_questions,
        regions => Value::from(Serde(&refs.regions)),
        district_groups => Value::from(Serde(&refs.district_groups)),
        form => Value::from(Serde(form)),
        errors => Value::from(Serde(errors)),
        sent => sent.map(|s| context! { centre => s.centre_name.clone() }),
        public_csrf => csrf,
    }
}

/// The form token the browser holds already (two open tabs keep working), or a new one.
fn form_token(headers: &HeaderMap) -> String {
    session::cookie(headers, PUBLIC_CSRF_COOKIE)
        .filter(|v| v.len() == 43)
        .map(str::to_string)
        .unwrap_or_else(session::random_token)
}

fn not_found(state: &AppState, tenant: &str) -> Response {
    state.error_page(tenant, None, StatusCode::NOT_FOUND, state.strings().not_found)
}

async fn options(state: &AppState, tenant: &str) -> Result<ListResidenceOptionsResponse, Response> {
    let msg = ListResidenceOptionsRequest { tenant: tenant.to_string() };
    match state.legal_aid.clone().list_residence_options(identity::request(msg, tenant, None)).await {
        Ok(r) => Ok(r.into_inner()),
        Err(status) => Err(public_error(state, tenant, &status)),
    }
}

/// A failed call on a page without a session: no login to send anyone to.
fn public_error(state: &AppState, tenant: &str, status: &tonic::Status) -> Response {
    let t = state.strings();
    match status.code() {
        Code::NotFound => not_found(state, tenant),
        Code::Unavailable | Code::DeadlineExceeded => {
            tracing::warn!(code = ?status.code(), message = status.message(), "legal aid unavailable");
            state.error_page(tenant, None, StatusCode::SERVICE_UNAVAILABLE, t.unavailable)
        }
        Code::InvalidArgument | Code::FailedPrecondition => {
            let http = opeka_platform::error::http_status(status.code());
            state.error_page(tenant, None, http, status.message())
        }
        _ => state.internal_error(tenant, None, status),
    }
}

fn render_ask(state: &AppState, tenant: &str, ctx: Value, token: &str, status: StatusCode) -> Response {
    let page = state.page(tenant, None, status, "legal_aid/online.html", ctx);
    let cookie = session::set_cookie(state, tenant, PUBLIC_CSRF_COOKIE, token, FORM_TTL_SECS);
    (AppendHeaders([(header::SET_COOKIE, cookie)]), page).into_response()
}

/// S2-32: the public question form.
pub async fn ask_page(State(state): State<AppState>, Path(tenant): Path<String>, headers: HeaderMap) -> Page {
    if !tenancy::is_valid_slug(&tenant) {
        return Err(StatusCode::NOT_FOUND.into_response());
    }
    let options = options(&state, &tenant).await?;
    let token = form_token(&headers);
    let form = AskForm { request_id: new_request_id(), ..AskForm::default() };
    let base = format!("{}/online", tenancy::base(&tenant));
    let ctx = ask_ctx(words(&state), &base, &options, &form, &FormErrors::default(), None, &token);
    Ok(render_ask(&state, &tenant, ctx, &token, StatusCode::OK))
}

/// S2-33: the question goes to the centre of the asker's district; the page names it.
pub async fn ask(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    Form(mut form): Form<AskForm>,
) -> Page {
    if !tenancy::is_valid_slug(&tenant) {
        return Err(StatusCode::NOT_FOUND.into_response());
    }
    let expected = session::cookie(&headers, PUBLIC_CSRF_COOKIE).unwrap_or("");
    if !session::same_secret(&form.csrf, expected) {
        tracing::info!("public question without a valid csrf token refused");
        return Err(state.error_page(&tenant, None, StatusCode::FORBIDDEN, state.strings().csrf_failed));
    }
    let options = options(&state, &tenant).await?;
    form.text = form.text.replace("\r\n", "\n");
    if uuid(&form.request_id).is_none() {
        form.request_id = new_request_id();
    }
    let refs = refs_of(&options);
    let region_code = if form.region_code.is_empty() && !form.district_code.is_empty() {
        refs.region_of(&form.district_code)
    } else {
        form.region_code.clone()
    };
    let msg = AskQuestionRequest {
        tenant: tenant.clone(),
        name: form.name.clone(),
        contact_email: form.contact_email.clone(),
        contact_phone: form.contact_phone.clone(),
        residence: Some(LegalAidResidence {
            region_code,
            district_code: form.district_code.clone(),
            city: form.city.clone(),
            ..Default::default()
        }),
        text: form.text.clone(),
        request_id: form.request_id.clone(),
    };
    let token = form.csrf.clone();
    let base = format!("{}/online", tenancy::base(&tenant));
    let t = words(&state);
    match state.legal_aid.clone().ask_question(identity::request(msg, &tenant, None)).await {
        Ok(r) => {
            let r = r.into_inner();
            tracing::info!(question_id = %r.question_id, centre_id = %r.centre_id, "online question asked");
            // A fresh form below the confirmation, for the next question.
            let next = AskForm { request_id: new_request_id(), ..AskForm::default() };
            let ctx = ask_ctx(t, &base, &options, &next, &FormErrors::default(), Some(&r), &token);
            Ok(render_ask(&state, &tenant, ctx, &token, StatusCode::OK))
        }
        Err(status) if matches!(status.code(), Code::InvalidArgument | Code::FailedPrecondition) => {
            let errors = form_errors(&status, FORM_FIELDS);
            let http = opeka_platform::error::http_status(status.code());
            let ctx = ask_ctx(t, &base, &options, &form, &errors, None, &token);
            Ok(render_ask(&state, &tenant, ctx, &token, http))
        }
        Err(status) if status.code() == Code::ResourceExhausted => {
            // A throttle (issue 9): the form stays filled in, cases' sentence above it.
            let errors = FormErrors { general: vec![status.message().to_string()], ..Default::default() };
            let http = opeka_platform::error::http_status(status.code());
            let ctx = ask_ctx(t, &base, &options, &form, &errors, None, &token);
            Ok(render_ask(&state, &tenant, ctx, &token, http))
        }
        Err(status) => Ok(public_error(&state, &tenant, &status)),
    }
}

#[derive(Deserialize, Default)]
pub struct AnswersQuery {
    #[serde(default)]
    page: String,
}

#[derive(Serialize, Debug)]
struct Published {
    id: String,
    text: String,
    answer: String,
    centre: String,
    region: String,
    asked_on: String,
}

pub(super) fn answers_ctx(
    t: &LegalAidStrings,
    base: &str,
    res: &ListPublishedQuestionsResponse,
    tz: chrono_tz::Tz,
) -> Value {
    let day = |ts: Option<&prost_types::Timestamp>| {
        identity::timestamp(ts).map(|d| d.with_timezone(&tz).format("%d.%m.%Y").to_string()).unwrap_or_default()
    };
    let items: Vec<Published> = res
        .questions
        .iter()
        .map(|q| Published {
            id: q.id.clone(),
            text: q.text.clone(),
            answer: q.answer.clone(),
            centre: q.centre_name.clone(),
            region: q.region_name.clone(),
            asked_on: day(q.asked_at.as_ref()),
        })
        .collect();
    let pages = pager(&query_prefix(&format!("{base}/answers"), &[]), res.page.max(1), res.page_count);
    let (title, total) = (t.answers_title, res.total_size);
    Value::from(Serde(AnswersPage { title, public_active: "answers", online_base: base, items, total, pager: pages }))
}

/// `legal_aid/answers.html`.
#[derive(Serialize)]
struct AnswersPage<'a> {
    title: &'static str,
    public_active: &'static str,
    online_base: &'a str,
    items: Vec<Published>,
    total: i64,
    pager: Pager,
}

/// S2-36: the approved questions and answers, newest first; nothing unapproved is ever here.
pub async fn answers(State(state): State<AppState>, Path(tenant): Path<String>, Query(q): Query<AnswersQuery>) -> Page {
    if !tenancy::is_valid_slug(&tenant) {
        return Err(StatusCode::NOT_FOUND.into_response());
    }
    let msg = ListPublishedQuestionsRequest {
        tenant: tenant.clone(),
        page: page_number(&q.page),
        page_size: PAGE_SIZE,
        ..Default::default()
    };
    let res = match state.legal_aid.clone().list_published_questions(identity::request(msg, &tenant, None)).await {
        Ok(r) => r.into_inner(),
        Err(status) => return Err(public_error(&state, &tenant, &status)),
    };
    let base = format!("{}/online", tenancy::base(&tenant));
    let tz = state.cached_terms(&tenant).tz();
    let ctx = answers_ctx(words(&state), &base, &res, tz);
    Ok(state.page(&tenant, None, StatusCode::OK, "legal_aid/answers.html", ctx))
}
