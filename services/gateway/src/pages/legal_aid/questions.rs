//! «Онлайн-консультация» for staff (S2-34…S2-36): the questions routed to the centre with
//! «Ответить» (full text, the answer, «Сохранить»), and the moderators' check that publishes an
//! answer or returns it to the centre with a comment.
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Redirect, Response};
use axum_extra::extract::Query;
use minijinja::context;
use minijinja::value::{Serde, Value};
use opeka_proto::cases::{
    AnswerQuestionRequest, GetQuestionRequest, ListQuestionsRequest, ListQuestionsResponse, ModerateAnswerRequest,
    OnlineQuestion, QuestionStatus,
};
use serde::{Deserialize, Serialize};

use super::{
    form_errors, is_consultant, may_moderate, may_record, may_see_questions, page, page_number, pager, query_prefix,
    root, words,
};
use crate::AppState;
use crate::pages::common::{self, Opt, Page, http, trimmed, uuid};
use crate::session::{Auth, AuthForm};
use crate::strings::legal_aid::LegalAidStrings;
use crate::terms::Terms;
use crate::views::FormErrors;

const PAGE_SIZE: i32 = 20;
/// How much of a question the list shows.
const EXCERPT_CHARS: usize = 160;

/// The list's tabs, by the code the URL carries.
const TABS: &[(&str, QuestionStatus)] = &[
    ("waiting", QuestionStatus::Waiting),
    ("rejected", QuestionStatus::Rejected),
    ("answered", QuestionStatus::Answered),
    ("published", QuestionStatus::Published),
    ("all", QuestionStatus::Unspecified),
];

fn list_url(auth: &Auth) -> String {
    format!("{}/questions", root(auth))
}

pub(super) fn status_code(s: i32) -> &'static str {
    match QuestionStatus::try_from(s).unwrap_or_default() {
        QuestionStatus::Waiting => "waiting",
        QuestionStatus::Answered => "answered",
        QuestionStatus::Published => "published",
        QuestionStatus::Rejected => "rejected",
        QuestionStatus::Unspecified => "",
    }
}

pub(super) fn status_label(t: &LegalAidStrings, code: &str) -> &'static str {
    match code {
        "waiting" => t.status_waiting,
        "answered" => t.status_answered,
        "published" => t.status_published,
        "rejected" => t.status_rejected,
        _ => t.status_all,
    }
}

fn residence_text(q: &OnlineQuestion) -> String {
    let r = q.residence.clone().unwrap_or_default();
    let parts: Vec<&str> = [r.region_name.as_str(), r.district_name.as_str(), r.city.as_str()]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect();
    parts.join(", ")
}

fn excerpt(text: &str) -> String {
    let mut chars = text.chars();
    let head: String = chars.by_ref().take(EXCERPT_CHARS).collect();
    if chars.next().is_some() { format!("{}…", head.trim_end()) } else { head }
}

// ---------------------------------------------------------------- the list

#[derive(Deserialize, Default, Debug, Clone)]
pub struct ListQuery {
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub centre_id: String,
    #[serde(default)]
    pub page: String,
    #[serde(default)]
    pub notice: String,
}

#[derive(Serialize, Debug)]
struct Row {
    id: String,
    asked_at: String,
    excerpt: String,
    residence: String,
    centre: String,
    fallback: bool,
    status: &'static str,
    status_label: &'static str,
    /// «Ответить», «Проверить» or «Открыть».
    action: &'static str,
}

#[derive(Serialize, Debug)]
struct Tab {
    code: &'static str,
    label: &'static str,
    href: String,
    current: bool,
}

/// What this user sees first: a consultant the questions waiting for an answer, a moderator
/// the answers waiting for the check.
fn default_tab(consultant: bool) -> &'static str {
    if consultant { "waiting" } else { "answered" }
}

/// Who may do what with the list's questions, as the gateway shows it (cases decides).
#[derive(Clone, Copy, Debug)]
pub(super) struct Powers {
    pub answer: bool,
    pub moderate: bool,
    pub consultant: bool,
    /// Admins and moderators see every centre and pick one.
    pub all_centres: bool,
}

impl Powers {
    fn of(auth: &Auth) -> Self {
        Self {
            answer: may_record(auth),
            moderate: may_moderate(auth),
            consultant: is_consultant(auth),
            all_centres: auth.is_admin() || (may_moderate(auth) && !is_consultant(auth)),
        }
    }
}

pub(super) fn list_ctx(
    t: &LegalAidStrings,
    terms: &Terms,
    path: &str,
    q: &ListQuery,
    res: &ListQuestionsResponse,
    centres: &[Opt],
    powers: Powers,
) -> Value {
    let tab =
        TABS.iter().find(|(c, _)| *c == q.status).map(|(c, _)| *c).unwrap_or_else(|| default_tab(powers.consultant));
    let centre = q.centre_id.trim();
    let tabs: Vec<Tab> = TABS
        .iter()
        .map(|(code, _)| Tab {
            code,
            label: status_label(t, code),
            href: query_prefix(path, &[("status", code), ("centre_id", centre)])
                .trim_end_matches(['&', '?'])
                .to_string(),
            current: *code == tab,
        })
        .collect();
    let rows: Vec<Row> = res
        .questions
        .iter()
        .map(|x| {
            let status = status_code(x.status);
            let action = match status {
                "waiting" | "rejected" if powers.answer => t.answer_action,
                "answered" if powers.moderate => t.moderate_action,
                _ => t.open_action,
            };
            Row {
                id: x.id.clone(),
                asked_at: terms.time(x.asked_at.as_ref()),
                excerpt: excerpt(&x.text),
                residence: residence_text(x),
                centre: x.centre_name.clone(),
                fallback: x.fallback,
                status,
                status_label: status_label(t, status),
                action,
            }
        })
        .collect();
    let notice = match q.notice.as_str() {
        "answered" => Some(t.notice_answered),
        "approved" => Some(t.notice_approved),
        "rejected" => Some(t.notice_rejected),
        _ => None,
    };
    let prefix = query_prefix(path, &[("status", tab), ("centre_id", centre)]);
    context! {
        title => t.questions_title,
        active => "la-questions",
        path => path,
        tab => tab,
        tabs => Value::from(Serde(&tabs)),
        q => context! { centre_id => centre },
        rows => Value::from(Serde(&rows)),
        total => res.total_size,
        pager => Value::from(Serde(pager(&prefix, res.page.max(1), res.page_count))),
        centres => Value::from(Serde(centres)),
        all_centres => powers.all_centres,
        notice => notice,
    }
}

/// S2-35: the questions of the centre (moderators and admins: of every centre or the chosen one).
pub async fn list(State(state): State<AppState>, auth: Auth, Query(q): Query<ListQuery>) -> Page {
    if !may_see_questions(&auth) {
        return Err(common::forbidden(&state, &auth));
    }
    let powers = Powers::of(&auth);
    let tab = TABS.iter().find(|(c, _)| *c == q.status).copied();
    let status = tab.map(|(_, s)| s).unwrap_or(if powers.consultant {
        QuestionStatus::Waiting
    } else {
        QuestionStatus::Answered
    });
    let centres = if powers.all_centres { super::centres(&state, &auth).await } else { Vec::new() };
    let msg = ListQuestionsRequest {
        centre_id: if powers.all_centres { uuid(&q.centre_id).unwrap_or_default() } else { String::new() },
        status: status as i32,
        page: page_number(&q.page),
        page_size: PAGE_SIZE,
        ..Default::default()
    };
    let res = state.call(&auth, state.legal_aid.clone().list_questions(auth.req(msg))).await?;
    let terms = state.terms(&auth).await;
    let ctx = list_ctx(words(&state), &terms, &list_url(&auth), &q, &res, &centres, powers);
    page(&state, &auth, StatusCode::OK, "legal_aid/questions.html", ctx).await
}

// ---------------------------------------------------------------- one question

/// What was typed into the page's forms, kept when cases refuses it.
#[derive(Default, Debug)]
pub(super) struct Typed {
    pub answer: Option<String>,
    pub comment: String,
    pub answer_errors: FormErrors,
    pub moderation_errors: FormErrors,
}

pub(super) fn question_ctx(
    t: &LegalAidStrings,
    terms: &Terms,
    path: &str,
    x: &OnlineQuestion,
    powers: Powers,
    typed: &Typed,
) -> Value {
    let status = status_code(x.status);
    context! {
        title => t.question_title,
        active => "la-questions",
        path => path,
        x => context! {
            id => x.id.clone(),
            text => x.text.clone(),
            asker => x.asker_name.clone(),
            email => x.contact_email.clone(),
            phone => x.contact_phone.clone(),
            residence => residence_text(x),
            centre => x.centre_name.clone(),
            fallback => x.fallback,
            asked_at => terms.time(x.asked_at.as_ref()),
            status => status,
            status_label => status_label(t, status),
            answer => x.answer.clone(),
            answered_at => terms.time(x.answered_at.as_ref()),
            moderation_comment => x.moderation_comment.clone(),
            moderated_at => terms.time(x.moderated_at.as_ref()),
        },
        can_answer => powers.answer && status != "published",
        can_moderate => powers.moderate && status == "answered",
        answer => typed.answer.clone().unwrap_or_else(|| x.answer.clone()),
        comment => typed.comment.clone(),
        answer_errors => Value::from(Serde(&typed.answer_errors)),
        moderation_errors => Value::from(Serde(&typed.moderation_errors)),
    }
}

async fn load(state: &AppState, auth: &Auth, id: &str) -> Result<OnlineQuestion, Response> {
    let Some(id) = uuid(id) else { return Err(common::not_found(state, auth)) };
    state.call(auth, state.legal_aid.clone().get_question(auth.req(GetQuestionRequest { id }))).await
}

async fn render(state: &AppState, auth: &Auth, x: &OnlineQuestion, typed: &Typed, status: StatusCode) -> Page {
    let terms = state.terms(auth).await;
    let ctx = question_ctx(words(state), &terms, &list_url(auth), x, Powers::of(auth), typed);
    page(state, auth, status, "legal_aid/question.html", ctx).await
}

/// S2-35: «Ответить» — the full question and the answer field.
pub async fn show(State(state): State<AppState>, auth: Auth, Path((_, id)): Path<(String, String)>) -> Page {
    let x = load(&state, &auth, &id).await?;
    render(&state, &auth, &x, &Typed::default(), StatusCode::OK).await
}

#[serde_with::apply(String => #[serde(deserialize_with = "trimmed")])]
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AnswerForm {
    answer: String,
    /// `approve`, or anything else to return the answer.
    decision: String,
    comment: String,
}

/// S2-35: «Сохранить» sends the answer to moderation.
pub async fn answer(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    AuthForm { auth, form }: AuthForm<AnswerForm>,
) -> Page {
    let x = load(&state, &auth, &id).await?;
    let text = form.answer.replace("\r\n", "\n");
    let msg = AnswerQuestionRequest { id: x.id.clone(), answer: text.clone() };
    state
        .submit(
            &auth,
            state.legal_aid.clone().answer_question(auth.req(msg)),
            async |_| Redirect::to(&format!("{}?notice=answered", list_url(&auth))),
            async |status| {
                let typed =
                    Typed { answer: Some(text), answer_errors: form_errors(&status, &["answer"]), ..Typed::default() };
                render(&state, &auth, &x, &typed, http(&status)).await
            },
        )
        .await
}

/// S2-36: a moderator publishes the answer, or returns it with a comment.
pub async fn moderate(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    AuthForm { auth, form }: AuthForm<AnswerForm>,
) -> Page {
    let x = load(&state, &auth, &id).await?;
    let approve = form.decision == "approve";
    let comment = form.comment;
    let msg = ModerateAnswerRequest {
        id: x.id.clone(),
        approve,
        comment: if approve { String::new() } else { comment.clone() },
    };
    state
        .submit(
            &auth,
            state.legal_aid.clone().moderate_answer(auth.req(msg)),
            async |_| {
                let notice = if approve { "approved" } else { "rejected" };
                Redirect::to(&format!("{}?status=answered&notice={notice}", list_url(&auth)))
            },
            async |status| {
                let typed =
                    Typed { comment, moderation_errors: form_errors(&status, &["comment"]), ..Typed::default() };
                render(&state, &auth, &x, &typed, http(&status)).await
            },
        )
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_questions_are_cut_in_the_list() {
        assert_eq!(excerpt("Короткий вопрос"), "Короткий вопрос");
        let long = "слово ".repeat(60);
        let e = excerpt(&long);
        assert!(e.ends_with('…') && e.chars().count() <= EXCERPT_CHARS + 1, "{e}");
    }
}
