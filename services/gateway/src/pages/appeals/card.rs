//! The appeal card (S1-18…S1-28, S1-32, S1-36), its «Действие» menu with one form per action the
//! caller may take now (S1-29…S1-47, S1-5, S1-6), and «Ход решения» with comments (S1-31…S1-33).
//! A refused step re-renders the card with what was typed: a bad field beside the field, a refusal
//! of the workflow (naming the card's status or the card the executor holds) above everything.
//! «Отметить исполнение» and comments carry documents and photos (S1-38): the form streams them to
//! files as the appeal's, then sends their ids with the step; the card links them for download.
use std::collections::BTreeMap;

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum_extra::extract::Query;
use minijinja::context;
use minijinja::value::{Serde, Value};
use opeka_proto::cases::act_on_appeal_request::Action;
use opeka_proto::cases::{
    ActOnAppealRequest, AddAppealCommentRequest, Appeal, AppealNoFields, AppealOptions, AssignAction,
    CloseRequestAction, CommentAction, EditAppealCommentRequest, ListAppealTimelineRequest, MarkDoneAction,
    PostponeAction, RereviewAction, RouteAction, TechSupportAction,
};
use opeka_proto::identity::{AccountKind, ListAccountsRequest, Role};
use serde::{Deserialize, Serialize};
use tonic::Code;

use super::{can_edit_cards, card_url, form_errors, label_of, load, new_request_id, opts};
use crate::pages::common::{self, FileOwner, Opt, Page, Posted, Uploaded, all, one, trimmed, uuid};
use crate::session::{Auth, AuthForm};
use crate::strings::appeals::AppealsStrings;
use crate::terms::{self, Terms};
use crate::views::FormErrors;
use crate::{AppState, identity};

/// The «Действие» menu in the seed's order (S1-34, S1-35), then the other roles' steps.
const MENU_ORDER: &[&str] = &[
    "request_rereview",
    "federal",
    "mark_done",
    "request_tech_support",
    "request_close",
    "postpone",
    "release",
    "curator_accept",
    "curator_return",
    "submit_to_moderation",
    "route",
    "assign",
    "support_return",
    "resume",
];

/// The inputs of an action's form, named as the proto's action fields; none for a plain button.
pub fn action_fields(action: &str) -> Option<&'static [&'static str]> {
    Some(match action {
        "take" | "release" | "submit_to_moderation" | "resume" | "curator_accept" => &[],
        "mark_done" => &["solution", "answer"],
        "request_close" => &["reason", "comment", "duplicate_of"],
        "postpone" => &["reason", "until", "comment"],
        "request_rereview" => &["reason", "comment"],
        "federal" | "support_return" | "curator_return" => &["comment"],
        "request_tech_support" => &["fields"],
        "route" => &["executor_org_id"],
        "assign" => &["executor_id"],
        _ => return None,
    })
}

/// The step a submitted action form asks for, or the fields the gateway can tell are wrong.
pub fn action(t: &AppealsStrings, code: &str, v: &BTreeMap<String, String>) -> Result<Action, FormErrors> {
    let get = |k: &str| v.get(k).cloned().unwrap_or_default();
    let comment = || CommentAction { comment: get("comment") };
    let none = AppealNoFields {};
    Ok(match code {
        "take" => Action::Take(none),
        "release" => Action::Release(none),
        "submit_to_moderation" => Action::SubmitToModeration(none),
        "resume" => Action::Resume(none),
        "curator_accept" => Action::CuratorAccept(none),
        "mark_done" => {
            Action::MarkDone(MarkDoneAction { solution: get("solution"), answer: get("answer"), file_ids: vec![] })
        }
        "request_close" => {
            let raw = get("duplicate_of");
            let digits = raw.trim().trim_start_matches('№').trim();
            let duplicate_of = if digits.is_empty() {
                0
            } else {
                match digits.parse::<i64>() {
                    Ok(n) if n > 0 => n,
                    _ => {
                        let mut errors = FormErrors::default();
                        errors.field("duplicate_of", t.number_digits);
                        return Err(errors);
                    }
                }
            };
            Action::RequestClose(CloseRequestAction { reason: get("reason"), comment: get("comment"), duplicate_of })
        }
        "postpone" => {
            Action::Postpone(PostponeAction { reason: get("reason"), until: get("until"), comment: get("comment") })
        }
        "request_rereview" => {
            Action::RequestRereview(RereviewAction { reason: get("reason"), comment: get("comment") })
        }
        "federal" => Action::Federal(comment()),
        "support_return" => Action::SupportReturn(comment()),
        "curator_return" => Action::CuratorReturn(comment()),
        "request_tech_support" => Action::RequestTechSupport(TechSupportAction { fields: get("fields") }),
        "route" => Action::Route(RouteAction { executor_org_id: get("executor_org_id") }),
        "assign" => Action::Assign(AssignAction { executor_id: get("executor_id") }),
        _ => return Err(FormErrors::default()),
    })
}

/// An entry of the «Действие» menu (or the header's «Взять в работу…»).
#[derive(Debug, Serialize)]
pub struct ActionView {
    pub code: String,
    pub label: String,
    /// Has inputs: shown as a form that opens, not a single button.
    pub form: bool,
    /// Reopened after a refusal, with what was typed.
    pub open: bool,
    pub values: BTreeMap<String, String>,
    pub errors: FormErrors,
    /// A fresh idempotency key per rendered form: a double click posts one step.
    pub request_id: String,
}

/// A form to reopen on the card: the action (or comment) that failed, as typed.
#[derive(Debug, Default)]
pub struct Failed {
    pub action: String,
    pub values: BTreeMap<String, String>,
    pub errors: FormErrors,
}

/// The menu for the card's `available` actions; `failed` stays open (and is shown even if the
/// card no longer offers it, so nothing typed is lost).
pub fn menu(
    options: &AppealOptions,
    available: &[String],
    failed: Option<&Failed>,
) -> (Option<ActionView>, Vec<ActionView>) {
    let view = |code: &str| {
        let f = failed.filter(|f| f.action == code);
        ActionView {
            code: code.to_string(),
            label: label_of(&options.actions, code),
            form: action_fields(code).is_some_and(|f| !f.is_empty()),
            open: f.is_some(),
            // Every input has a value (empty when new), so the template never reads a missing one.
            values: action_fields(code)
                .unwrap_or_default()
                .iter()
                .map(|k| (k.to_string(), f.and_then(|f| f.values.get(*k).cloned()).unwrap_or_default()))
                .collect(),
            errors: f
                .map(|f| FormErrors { fields: f.errors.fields.clone(), general: f.errors.general.clone() })
                .unwrap_or_default(),
            request_id: new_request_id(),
        }
    };
    let take = available.iter().any(|a| a == "take").then(|| view("take"));
    let mut items: Vec<ActionView> = MENU_ORDER
        .iter()
        .filter(|code| {
            available.iter().any(|a| a == *code)
                || failed.is_some_and(|f| f.action == **code && action_fields(code).is_some_and(|x| !x.is_empty()))
        })
        .map(|code| view(code))
        .collect();
    // Whatever cases offers that the menu does not know yet still appears, after the rest.
    for a in available {
        if a != "take" && !MENU_ORDER.contains(&a.as_str()) && action_fields(a).is_some() {
            items.push(view(a));
        }
    }
    (take, items)
}

#[derive(Debug, Serialize)]
pub struct EditView {
    pub at: String,
    pub previous_text: String,
}

/// An attachment as the card links it (`/appeals/{id}/files/{file_id}`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AttachmentView {
    pub id: String,
    pub name: String,
}

fn attachment_views(v: &[opeka_proto::cases::AppealAttachment]) -> Vec<AttachmentView> {
    v.iter().map(|x| AttachmentView { id: x.file_id.clone(), name: x.name.clone() }).collect()
}

#[derive(Debug, Serialize)]
pub struct EntryView {
    pub id: String,
    pub at: String,
    pub author: String,
    pub kind: String,
    pub summary: String,
    pub text: String,
    pub attachments: Vec<AttachmentView>,
    pub edits: Vec<EditView>,
    pub editable: bool,
}

/// The card's fields as the template shows them (names resolved, dates in the tenant's words).
pub fn appeal_view(a: &Appeal, options: &AppealOptions, me: &str, terms: &Terms) -> Value {
    let citizen = a.citizen.clone().unwrap_or_default();
    let geo = a.geography.clone().unwrap_or_default();
    let topic = a.topic.clone().unwrap_or_default();
    let labels: Vec<String> = a.labels.iter().map(|l| label_of(&options.labels, l)).collect();
    context! {
        id => a.id.clone(),
        number => a.number,
        created_at => terms.time(a.created_at.as_ref()),
        deadline => if a.deadline.is_empty() { String::new() } else { terms::date(&a.deadline) },
        citizen => context! { full_name => citizen.full_name, email => citizen.email, phone => citizen.phone },
        geography => context! {
            source_address => geo.source_address, federal_district => geo.federal_district, region => geo.region,
            municipality => geo.municipality, address => geo.address,
        },
        executor_org => a.executor_org.clone(),
        executor_sub_org => a.executor_sub_org.clone(),
        solution => a.solution.clone(),
        answer => a.answer.clone(),
        attachments => Value::from(Serde(attachment_views(&a.solution_attachments))),
        topic => context! { category_type => topic.category_type, category => topic.category, subcategory => topic.subcategory },
        urgent => a.urgent,
        talked_before => a.talked_before,
        labels => labels,
        source_system => a.source_system.clone(),
        source_id => a.source_id.clone(),
        channel => if a.channel.is_empty() { String::new() } else { label_of(&options.channels, &a.channel) },
        stream => a.stream.clone(),
        text => a.text.clone(),
        status => a.status.clone(),
        status_label => a.status_label.clone(),
        holder_name => a.holder_name.clone(),
        held_by_me => !a.holder_id.is_empty() && a.holder_id == me,
        last_executor_name => a.last_executor_name.clone(),
        postponed_until => if a.postponed_until.is_empty() { String::new() } else { terms::date(&a.postponed_until) },
        close_reason => if a.close_reason.is_empty() { String::new() } else { label_of(&options.close_reasons, &a.close_reason) },
    }
}

/// What a card page shows besides the card itself.
#[derive(Default)]
struct Extra {
    /// The `?notice=` code of the step just taken.
    notice: String,
    /// A refusal of the workflow (FAILED_PRECONDITION, PERMISSION_DENIED…), above the card.
    message: Option<String>,
    failed: Option<Failed>,
    /// The new comment's text and error.
    comment: Failed,
    /// The comment being edited: its id, the text, the error.
    edit: Option<(String, Failed)>,
    /// Files the refused form (`failed`'s action, or the comment) already stored: sent again with it.
    kept: Vec<Uploaded>,
}

fn notice(t: &AppealsStrings, options: &AppealOptions, code: &str) -> Option<String> {
    match code {
        "" => None,
        "created" => Some(t.notice_created.into()),
        "updated" => Some(t.notice_updated.into()),
        "comment" => Some(t.notice_comment_added.into()),
        "comment_saved" => Some(t.notice_comment_saved.into()),
        code if action_fields(code).is_some() => {
            Some(format!("{}: «{}».", t.notice_action, label_of(&options.actions, code)))
        }
        _ => None,
    }
}

/// The executors a supervisor may assign (S1-5): those of the card's organisation, if it has any.
async fn executors(state: &AppState, auth: &Auth, org: &str) -> Vec<Opt> {
    let msg = ListAccountsRequest {
        kind: AccountKind::Staff as i32,
        role: Role::Executor as i32,
        page_size: 500,
        ..Default::default()
    };
    match state.identity.clone().list_accounts(auth.req(msg)).await {
        Ok(r) => r
            .into_inner()
            .accounts
            .iter()
            .filter(|a| org.is_empty() || a.organisation_id == org)
            .map(|a| Opt { id: a.id.clone(), name: identity::full_name(a) })
            .collect(),
        Err(status) => {
            tracing::info!(code = ?status.code(), message = status.message(), "executors unavailable");
            Vec::new()
        }
    }
}

async fn render(state: &AppState, auth: &Auth, a: &Appeal, extra: Extra, status: StatusCode) -> Page {
    let s = state.strings();
    let t = s.appeals;
    let options = super::options(state, auth).await?;
    let terms = state.terms(auth).await;
    let msg = ListAppealTimelineRequest { appeal_id: a.id.clone(), ..Default::default() };
    let entries = state.call(auth, state.appeals.clone().list_appeal_timeline(auth.req(msg))).await?.entries;
    let timeline: Vec<EntryView> = entries
        .iter()
        .map(|e| EntryView {
            id: e.id.clone(),
            at: terms.time(e.at.as_ref()),
            author: e.author_name.clone(),
            kind: e.kind.clone(),
            summary: e.summary.clone(),
            text: e.text.clone(),
            attachments: attachment_views(&e.attachments),
            edits: e
                .edits
                .iter()
                .map(|x| EditView { at: terms.time(x.at.as_ref()), previous_text: x.previous_text.clone() })
                .collect(),
            editable: e.editable,
        })
        .collect();
    let (take, actions) = menu(&options, &a.available_actions, extra.failed.as_ref());
    let route = actions.iter().any(|x| x.code == "route");
    let assign = actions.iter().any(|x| x.code == "assign");
    let orgs = if route { super::organisations(state, auth).await } else { Vec::new() };
    let executors = if assign { executors(state, auth, &a.executor_org_id).await } else { Vec::new() };
    let close_reasons: Vec<Value> = options
        .close_reasons
        .iter()
        .map(|o| context! { id => o.code.clone(), name => o.label.clone(), requires => o.requires.clone() })
        .collect();
    let kept_for = match (&extra.failed, extra.comment.action.as_str()) {
        (Some(f), _) => f.action.clone(),
        (None, "comment") => "comment".to_string(),
        _ => String::new(),
    };
    let edit = extra.edit.map(|(id, f)| context! { id => id, text => f.values.get("text").cloned().unwrap_or_default(), errors => Value::from(Serde(&f.errors)) });
    let ctx = context! {
        title => format!("{} {}", t.appeal_no, a.number),
        active => "appeals",
        a => appeal_view(a, &options, &auth.row.account_id, &terms),
        act_url => format!("{}/act", card_url(auth, &a.id)),
        take => take.map(|x| Value::from(Serde(x))),
        actions => Value::from(Serde(&actions)),
        close_reasons => close_reasons,
        postpone_reasons => Value::from(Serde(opts(&options.postpone_reasons))),
        rereview_reasons => Value::from(Serde(opts(&options.rereview_reasons))),
        orgs => Value::from(Serde(&orgs)),
        executors => Value::from(Serde(&executors)),
        timeline => Value::from(Serde(&timeline)),
        comment => context! {
            text => extra.comment.values.get("text").cloned().unwrap_or_default(),
            errors => Value::from(Serde(&extra.comment.errors)),
            request_id => new_request_id(),
        },
        edit => edit,
        kept => Value::from(Serde(&extra.kept)),
        kept_for => kept_for,
        notice => notice(t, &options, &extra.notice),
        message => extra.message,
        can_edit => can_edit_cards(auth),
    };
    Ok(state.page(&auth.tenant, Some(auth), status, "appeals/card.html", ctx))
}

/// The card's query, and the comment editor's form (`text`).
#[serde_with::apply(String => #[serde(deserialize_with = "trimmed")])]
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CardQuery {
    notice: String,
    edit: String,
    text: String,
}

/// S1-17…S1-28: the card; `?notice=` after a step, `?edit=<comment>` opens a comment's editor.
pub async fn page(
    State(state): State<AppState>,
    auth: Auth,
    Path((_, id)): Path<(String, String)>,
    Query(q): Query<CardQuery>,
) -> Page {
    let a = load(&state, &auth, &id).await?;
    let edit = uuid(&q.edit).map(|cid| (cid, Failed::default()));
    let extra = Extra { notice: q.notice, edit, ..Extra::default() };
    render(&state, &auth, &a, extra, StatusCode::OK).await
}

/// A refusal that belongs on the card rather than on an error page.
fn is_refusal(code: Code) -> bool {
    matches!(
        code,
        Code::FailedPrecondition | Code::PermissionDenied | Code::AlreadyExists | Code::Aborted | Code::OutOfRange
    )
}

/// The files a form carries: those it kept from a refused post (`kept_id`/`kept_name`, stored
/// already), then those just stored.
fn form_files(posted: &Posted) -> Vec<Uploaded> {
    let ids = all(&posted.pairs, "kept_id");
    let names = all(&posted.pairs, "kept_name");
    let kept = ids
        .iter()
        .zip(names.iter().chain(std::iter::repeat(&"")))
        .filter_map(|(id, name)| uuid(id).map(|id| Uploaded { id, name: name.to_string() }));
    let mut files: Vec<Uploaded> = Vec::new();
    for f in kept.chain(posted.uploaded.iter().cloned()) {
        if !files.iter().any(|x| x.id == f.id) {
            files.push(f);
        }
    }
    files
}

/// Files refused, beside the file input.
fn refused_files(posted: &Posted) -> Option<FormErrors> {
    if posted.refused.is_empty() {
        return None;
    }
    let mut errors = FormErrors::default();
    errors.field(FILES_FIELD, posted.refused.join(" "));
    Some(errors)
}

/// The file input's name, as cases names the ids it becomes (`mark_done.file_ids[i]`, `file_ids[i]`).
const FILES_FIELD: &str = "file_ids";

/// One workflow step from the «Действие» menu or the header's button; «Отметить исполнение» comes
/// as `multipart/form-data` with its files (S1-38).
pub async fn act(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    auth: Auth,
    req: Request,
) -> Page {
    let a = load(&state, &auth, &id).await?;
    let posted = common::posted_with_files(&state, &auth, req, FileOwner::Appeal(&a.id)).await?;
    let form = &posted.pairs;
    let t = state.strings().appeals;
    let code = one(form, "action");
    let Some(fields) = action_fields(&code) else {
        return Err(state.error_page(
            &auth.tenant,
            Some(&auth),
            StatusCode::BAD_REQUEST,
            state.strings().form_malformed,
        ));
    };
    // Free text keeps its line breaks; only the ends are trimmed.
    let values: BTreeMap<String, String> = fields.iter().map(|f| (f.to_string(), one(form, f))).collect();
    let files = form_files(&posted);
    let fail = |errors: FormErrors| Failed { action: code.clone(), values: values.clone(), errors };
    let refuse = |errors: FormErrors| Extra { failed: Some(fail(errors)), kept: files.clone(), ..Extra::default() };
    if let Some(errors) = refused_files(&posted) {
        return render(&state, &auth, &a, refuse(errors), StatusCode::BAD_REQUEST).await;
    }
    let step = match action(t, &code, &values) {
        Ok(Action::MarkDone(m)) => {
            Action::MarkDone(MarkDoneAction { file_ids: files.iter().map(|f| f.id.clone()).collect(), ..m })
        }
        Ok(step) => step,
        Err(errors) => return render(&state, &auth, &a, refuse(errors), StatusCode::BAD_REQUEST).await,
    };
    let request_id = uuid(&one(form, "request_id")).unwrap_or_else(new_request_id);
    let msg = ActOnAppealRequest { id: a.id.clone(), request_id, action: Some(step) };
    match state.appeals.clone().act_on_appeal(auth.req(msg)).await {
        Ok(after) => {
            let after = after.into_inner();
            tracing::info!(appeal_id = %after.id, action = %code, status = %after.status, "appeal step taken");
            Ok(Redirect::to(&format!("{}?notice={code}", card_url(&auth, &after.id))).into_response())
        }
        Err(status) if status.code() == Code::InvalidArgument => {
            let http = opeka_platform::error::http_status(status.code());
            let with_files: Vec<&'static str> = fields.iter().copied().chain([FILES_FIELD]).collect();
            render(&state, &auth, &a, refuse(form_errors(&status, &with_files)), http).await
        }
        Err(status) if is_refusal(status.code()) => {
            // The card may have moved on (somebody else took it): show it as it is now.
            let now = load(&state, &auth, &a.id).await?;
            let http = opeka_platform::error::http_status(status.code());
            let failed = (!fields.is_empty()).then(|| fail(FormErrors::default()));
            let extra = Extra { message: Some(status.message().to_string()), failed, kept: files, ..Extra::default() };
            render(&state, &auth, &now, extra, http).await
        }
        Err(status) => Err(state.grpc_error(&auth, status).await),
    }
}

/// S1-31, S1-38: a comment («Комментарий», Enter posts it), with documents and photos.
pub async fn add_comment(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    auth: Auth,
    req: Request,
) -> Page {
    let a = load(&state, &auth, &id).await?;
    let posted = common::posted_with_files(&state, &auth, req, FileOwner::Appeal(&a.id)).await?;
    let text = one(&posted.pairs, "text");
    let files = form_files(&posted);
    let typed = |errors: FormErrors| Extra {
        comment: Failed {
            action: "comment".into(),
            values: BTreeMap::from([("text".to_string(), text.clone())]),
            errors,
        },
        kept: files.clone(),
        ..Extra::default()
    };
    if let Some(errors) = refused_files(&posted) {
        return render(&state, &auth, &a, typed(errors), StatusCode::BAD_REQUEST).await;
    }
    if text.is_empty() {
        let mut errors = FormErrors::default();
        errors.field("text", state.strings().appeals.comment_required);
        return render(&state, &auth, &a, typed(errors), StatusCode::BAD_REQUEST).await;
    }
    let request_id = uuid(&one(&posted.pairs, "request_id")).unwrap_or_else(new_request_id);
    let file_ids = files.iter().map(|f| f.id.clone()).collect();
    let msg = AddAppealCommentRequest { appeal_id: a.id.clone(), text: text.clone(), file_ids, request_id };
    match state.appeals.clone().add_appeal_comment(auth.req(msg)).await {
        Ok(_) => Ok(Redirect::to(&format!("{}?notice=comment#timeline", card_url(&auth, &a.id))).into_response()),
        Err(status) if status.code() == Code::InvalidArgument || is_refusal(status.code()) => {
            let http = opeka_platform::error::http_status(status.code());
            render(&state, &auth, &a, typed(form_errors(&status, &["text", FILES_FIELD])), http).await
        }
        Err(status) => Err(state.grpc_error(&auth, status).await),
    }
}

/// S1-38: a file of the appeal's solution or comments, streamed from files once cases has let this
/// user open the card (and files has asked cases again).
pub async fn download(
    State(state): State<AppState>,
    auth: Auth,
    Path((_, id, file_id)): Path<(String, String, String)>,
) -> Page {
    let a = load(&state, &auth, &id).await?;
    let Some(file_id) = uuid(&file_id) else { return Err(common::not_found(&state, &auth)) };
    common::download(&state, &auth, file_id, |f| f.appeal_id == a.id).await
}

/// S1-33: the author changes a comment («Отменить» / «Сохранить»); cases keeps the old text.
pub async fn edit_comment(
    State(state): State<AppState>,
    Path((_, id, comment_id)): Path<(String, String, String)>,
    AuthForm { auth, form }: AuthForm<CardQuery>,
) -> Page {
    let a = load(&state, &auth, &id).await?;
    let Some(comment_id) = uuid(&comment_id) else { return Err(common::not_found(&state, &auth)) };
    let text = form.text;
    let typed = |errors: FormErrors| {
        let f = Failed { action: "edit".into(), values: BTreeMap::from([("text".to_string(), text.clone())]), errors };
        Some((comment_id.clone(), f))
    };
    if text.is_empty() {
        let mut errors = FormErrors::default();
        errors.field("text", state.strings().appeals.comment_required);
        let extra = Extra { edit: typed(errors), ..Extra::default() };
        return render(&state, &auth, &a, extra, StatusCode::BAD_REQUEST).await;
    }
    let msg = EditAppealCommentRequest { appeal_id: a.id.clone(), comment_id: comment_id.clone(), text: text.clone() };
    match state.appeals.clone().edit_appeal_comment(auth.req(msg)).await {
        Ok(_) => Ok(Redirect::to(&format!("{}?notice=comment_saved#entry-{comment_id}", card_url(&auth, &a.id)))
            .into_response()),
        Err(status) if status.code() == Code::InvalidArgument || is_refusal(status.code()) => {
            let http = opeka_platform::error::http_status(status.code());
            let extra = Extra { edit: typed(form_errors(&status, &["text"])), ..Extra::default() };
            render(&state, &auth, &a, extra, http).await
        }
        Err(status) => Err(state.grpc_error(&auth, status).await),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strings::appeals::RU;
    use opeka_proto::cases::AppealOption;

    fn values(v: &[(&str, &str)]) -> BTreeMap<String, String> {
        v.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    // S1-37, S1-41…S1-43: the forms become the proto's steps.
    #[test]
    fn forms_become_steps() {
        let step = action(&RU, "mark_done", &values(&[("solution", "Помогли"), ("answer", "Ответ")])).unwrap();
        assert_eq!(
            step,
            Action::MarkDone(MarkDoneAction {
                solution: "Помогли".into(), answer: "Ответ".into(), file_ids: vec![]
            })
        );
        let step = action(
            &RU,
            "request_close",
            &values(&[("reason", "duplicate"), ("comment", ""), ("duplicate_of", "№ 42")]),
        )
        .unwrap();
        assert_eq!(
            step,
            Action::RequestClose(CloseRequestAction {
                reason: "duplicate".into(),
                comment: String::new(),
                duplicate_of: 42
            })
        );
        let e = action(&RU, "request_close", &values(&[("duplicate_of", "сорок два")])).unwrap_err();
        assert_eq!(e.fields["duplicate_of"], RU.number_digits);
        assert_eq!(action(&RU, "take", &values(&[])).unwrap(), Action::Take(AppealNoFields {}));
        assert_eq!(
            action(&RU, "curator_return", &values(&[("comment", "Нет подтверждения")])).unwrap(),
            Action::CuratorReturn(CommentAction { comment: "Нет подтверждения".into() })
        );
        assert!(action_fields("drop").is_none());
    }

    // S1-38: files a refused form already stored come back with it, ahead of the new ones, once each.
    #[test]
    fn a_forms_files_are_the_kept_then_the_new() {
        let (a, b) = (uuid::Uuid::now_v7().to_string(), uuid::Uuid::now_v7().to_string());
        let pair = |k: &str, v: &str| (k.to_string(), v.to_string());
        let posted = Posted {
            pairs: vec![
                pair("kept_id", &a),
                pair("kept_name", "фото.jpg"),
                pair("kept_id", "не файл"),
                pair("kept_name", "x"),
                pair("kept_id", &b),
            ],
            uploaded: vec![
                Uploaded { id: a.clone(), name: "фото.jpg".into() },
                Uploaded { id: "c".into(), name: "акт.pdf".into() },
            ],
            refused: vec![],
        };
        let files = form_files(&posted);
        let ids: Vec<&str> = files.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(ids, [a.as_str(), b.as_str(), "c"]);
        assert_eq!(files[1].name, "");
        assert!(refused_files(&posted).is_none());
        let posted = Posted { refused: vec!["«a.exe»: не принимается.".into()], ..Posted::default() };
        assert_eq!(refused_files(&posted).unwrap().fields[FILES_FIELD], "«a.exe»: не принимается.");
    }

    fn options() -> AppealOptions {
        let o =
            |code: &str, label: &str| AppealOption { code: code.into(), label: label.into(), requires: String::new() };
        AppealOptions {
            actions: vec![
                o("take", "Взять в работу карточку обращения"),
                o("release", "Завершить работу над карточкой"),
                o("mark_done", "Отметить исполнение"),
                o("request_rereview", "На повторное рассмотрение"),
            ],
            ..Default::default()
        }
    }

    // S1-18, S1-34: «Взять…» goes to the header; the menu keeps the seed's order; a failed form
    // stays open with its text even when the card stopped offering it.
    #[test]
    fn the_menu_follows_the_seed() {
        let available: Vec<String> = ["take", "release", "mark_done", "request_rereview"].map(String::from).to_vec();
        let (take, items) = menu(&options(), &available, None);
        assert_eq!(take.unwrap().label, "Взять в работу карточку обращения");
        let codes: Vec<&str> = items.iter().map(|x| x.code.as_str()).collect();
        assert_eq!(codes, ["request_rereview", "mark_done", "release"]);
        assert!(items[1].form && !items[2].form);

        let failed = Failed {
            action: "mark_done".into(),
            values: values(&[("solution", "Набрано")]),
            errors: FormErrors::default(),
        };
        let (take, items) = menu(&options(), &["release".to_string()], Some(&failed));
        assert!(take.is_none());
        let done = items.iter().find(|x| x.code == "mark_done").expect("the failed form stays");
        assert!(done.open && done.values["solution"] == "Набрано");
    }
}
