//! Wire ↔ domain for appeals: requests become checked fields and workflow
//! actions (or field violations named by their request paths), rows become
//! messages.
use std::collections::HashMap;

use chrono::NaiveDate;
use opeka_platform::error::{AppError, Violations};
use opeka_platform::wire::{self, date_str, opt_id, opt_text, opt_uuid, ts};
use opeka_proto::cases as pb;
use uuid::Uuid;

use super::journal::{JournalRow, PhoneQuery};
use super::store::{AppealRow, AttachmentRef, EditRow, Fields, NodeRow, TimelineRow};
use super::strings as s;
use crate::appeals::domain::{
    self as wf, Action, ActionKind, CardState, Channel, CloseReason, CloseRequest, CloseRequirement, Label,
    PostponeReason, RereviewReason, Status, WorkflowCode, WorkflowError,
};
use crate::kit::values::{self, Email, Phone};

const MAX_SHORT: usize = 300;
const MAX_ADDRESS: usize = 1000;
const MAX_LABEL: usize = 100;
const MAX_LABELS: usize = 50;

fn short(field: &str, v: &str, max: usize, errs: &mut Violations) -> String {
    errs.check(field, values::text(v, max)).unwrap_or_default()
}

/// The phone's digits in international form: 8 (912) … and +7 912 … both
/// give 7912…; what the journal's phone filter compares.
pub fn phone_digits(v: &str) -> String {
    let d: String = v.chars().filter(char::is_ascii_digit).collect();
    match d.len() {
        11 if d.starts_with('8') => format!("7{}", &d[1..]),
        10 if d.starts_with('9') => format!("7{d}"),
        _ => d,
    }
}

/// The phone filter: a whole Russian number compares equal, anything else is
/// a fragment of digits; no digits, no filter.
pub fn phone_query(v: &str) -> Option<PhoneQuery> {
    let d = phone_digits(v);
    match d.len() {
        0 => None,
        11 => Some(PhoneQuery::Exact(d)),
        _ => Some(PhoneQuery::Contains(d)),
    }
}

/// Labels as codes: trimmed, distinct, in order.
fn labels(field: &str, v: &[String], errs: &mut Violations) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (i, l) in v.iter().enumerate() {
        let l = l.trim();
        if l.is_empty() || l.chars().count() > MAX_LABEL {
            errs.add(&format!("{field}[{i}]"), s::LABEL_INVALID);
        } else if !out.iter().any(|o| o == l) {
            out.push(l.to_string());
        }
    }
    if out.len() > MAX_LABELS {
        errs.add(field, s::TOO_MANY_LABELS);
    }
    out
}

/// The card fields of an intake request (also used, merged with the card,
/// for UpdateAppeal). References are checked against the trees separately.
pub fn fields(r: &pb::CreateAppealRequest, errs: &mut Violations) -> Option<Fields> {
    let citizen = r.citizen.clone().unwrap_or_default();
    let geo = r.geography.clone().unwrap_or_default();
    let topic = r.topic.clone().unwrap_or_default();
    let citizen_name = short("citizen.full_name", &citizen.full_name, MAX_SHORT, errs);
    if citizen.full_name.trim().is_empty() {
        errs.add("citizen.full_name", s::NAME_REQUIRED);
    }
    let citizen_email = match opt_text(&citizen.email) {
        None => String::new(),
        Some(e) => errs.check("citizen.email", Email::parse(e).map(|e| e.as_str().to_string())).unwrap_or_default(),
    };
    let phone = errs.check("citizen.phone", Phone::parse(&citizen.phone).map(|_| citizen.phone.trim().to_string()));
    let region = match opt_text(&geo.region_id) {
        None => {
            errs.add("geography.region_id", s::REGION_REQUIRED);
            None
        }
        Some(v) => opt_id("geography.region_id", v, errs),
    };
    let channel = match opt_text(&r.channel) {
        None => {
            errs.add("channel", s::CHANNEL_REQUIRED);
            None
        }
        Some(c) => errs.check("channel", Channel::parse(c).ok_or_else(|| s::CHANNEL_UNKNOWN.to_string())),
    };
    let deadline =
        opt_text(&r.deadline).and_then(|d| errs.check("deadline", values::date(d).map_err(|_| s::DATE_INVALID.into())));
    let f = Fields {
        citizen_name,
        citizen_email,
        phone_digits: phone.as_deref().map(phone_digits).unwrap_or_default(),
        citizen_phone: phone.unwrap_or_default(),
        source_address: short("geography.source_address", &geo.source_address, MAX_ADDRESS, errs),
        federal_district_id: opt_id("geography.federal_district_id", &geo.federal_district_id, errs),
        region_id: region.unwrap_or_default(),
        municipality_id: opt_id("geography.municipality_id", &geo.municipality_id, errs),
        address: short("geography.address", &geo.address, MAX_ADDRESS, errs),
        executor_sub_org: short("executor_sub_org", &r.executor_sub_org, MAX_SHORT, errs),
        category_type_id: opt_id("topic.category_type_id", &topic.category_type_id, errs),
        category_id: opt_id("topic.category_id", &topic.category_id, errs),
        subcategory_id: opt_id("topic.subcategory_id", &topic.subcategory_id, errs),
        urgent: r.urgent,
        talked_before: r.talked_before,
        labels: labels("labels", &r.labels, errs),
        source_system: short("source_system", &r.source_system, MAX_SHORT, errs),
        source_id: short("source_id", &r.source_id, MAX_SHORT, errs),
        channel: channel.map(|c| c.as_str().to_string()).unwrap_or_default(),
        stream: short("stream", &r.stream, MAX_SHORT, errs),
        text: short("text", &r.text, wf::MAX_TEXT, errs),
        deadline,
    };
    errs.is_empty().then_some(f)
}

/// The card as an intake request: the base UpdateAppeal merges masked fields into.
pub fn as_request(a: &AppealRow) -> pb::CreateAppealRequest {
    pb::CreateAppealRequest {
        request_id: String::new(),
        citizen: Some(pb::AppealCitizen {
            full_name: a.citizen_name.clone(),
            email: a.citizen_email.clone(),
            phone: a.citizen_phone.clone(),
        }),
        geography: Some(pb::AppealGeography {
            source_address: a.source_address.clone(),
            federal_district_id: opt_uuid(a.federal_district_id),
            region_id: a.region_id.to_string(),
            municipality_id: opt_uuid(a.municipality_id),
            address: a.address.clone(),
            ..Default::default()
        }),
        executor_org_id: opt_uuid(a.executor_org_id),
        executor_sub_org: a.executor_sub_org.clone(),
        topic: Some(pb::AppealTopic {
            category_type_id: opt_uuid(a.category_type_id),
            category_id: opt_uuid(a.category_id),
            subcategory_id: opt_uuid(a.subcategory_id),
            ..Default::default()
        }),
        urgent: a.urgent,
        talked_before: a.talked_before,
        labels: a.labels.clone(),
        source_system: a.source_system.clone(),
        source_id: a.source_id.clone(),
        channel: a.channel.clone(),
        stream: a.stream.clone(),
        text: a.text.clone(),
        deadline: date_str(a.deadline),
    }
}

/// The field paths UpdateAppeal accepts.
pub const UPDATABLE: &[&str] = &[
    "citizen.full_name",
    "citizen.email",
    "citizen.phone",
    "geography.source_address",
    "geography.federal_district_id",
    "geography.region_id",
    "geography.municipality_id",
    "geography.address",
    "executor_sub_org",
    "topic.category_type_id",
    "topic.category_id",
    "topic.subcategory_id",
    "urgent",
    "talked_before",
    "labels",
    "source_system",
    "source_id",
    "channel",
    "stream",
    "text",
    "deadline",
];

/// `base` with the masked fields taken from `new`. A changed lower level of
/// a tree whose upper level is not in the mask takes its parents from the tree.
pub fn merge(base: &mut pb::CreateAppealRequest, new: &pb::Appeal, mask: &[String]) {
    let nc = new.citizen.clone().unwrap_or_default();
    let ng = new.geography.clone().unwrap_or_default();
    let nt = new.topic.clone().unwrap_or_default();
    let c = base.citizen.get_or_insert_default();
    let g = base.geography.get_or_insert_default();
    let t = base.topic.get_or_insert_default();
    let has = |p: &str| mask.iter().any(|m| m == p);
    for p in mask {
        match p.as_str() {
            "citizen.full_name" => c.full_name = nc.full_name.clone(),
            "citizen.email" => c.email = nc.email.clone(),
            "citizen.phone" => c.phone = nc.phone.clone(),
            "geography.source_address" => g.source_address = ng.source_address.clone(),
            "geography.federal_district_id" => g.federal_district_id = ng.federal_district_id.clone(),
            "geography.region_id" => g.region_id = ng.region_id.clone(),
            "geography.municipality_id" => g.municipality_id = ng.municipality_id.clone(),
            "geography.address" => g.address = ng.address.clone(),
            "executor_sub_org" => base.executor_sub_org = new.executor_sub_org.clone(),
            "topic.category_type_id" => t.category_type_id = nt.category_type_id.clone(),
            "topic.category_id" => t.category_id = nt.category_id.clone(),
            "topic.subcategory_id" => t.subcategory_id = nt.subcategory_id.clone(),
            "urgent" => base.urgent = new.urgent,
            "talked_before" => base.talked_before = new.talked_before,
            "labels" => base.labels = new.labels.clone(),
            "source_system" => base.source_system = new.source_system.clone(),
            "source_id" => base.source_id = new.source_id.clone(),
            "channel" => base.channel = new.channel.clone(),
            "stream" => base.stream = new.stream.clone(),
            "text" => base.text = new.text.clone(),
            "deadline" => base.deadline = new.deadline.clone(),
            _ => {}
        }
    }
    if has("geography.region_id") && !has("geography.federal_district_id") {
        g.federal_district_id.clear();
    }
    if has("topic.subcategory_id") && !has("topic.category_id") && !t.subcategory_id.trim().is_empty() {
        t.category_id.clear();
    }
    if (has("topic.category_id") || t.category_id.is_empty()) && !has("topic.category_type_id") {
        let derivable = !t.category_id.trim().is_empty() || !t.subcategory_id.trim().is_empty();
        if derivable {
            t.category_type_id.clear();
        }
    }
}

/// The paths of `mask` whose values differ between the two field sets.
pub fn changed(before: &Fields, after: &Fields) -> Vec<&'static str> {
    let pairs: [(&'static str, bool); 21] = [
        ("citizen.full_name", before.citizen_name != after.citizen_name),
        ("citizen.email", before.citizen_email != after.citizen_email),
        ("citizen.phone", before.citizen_phone != after.citizen_phone),
        ("geography.source_address", before.source_address != after.source_address),
        ("geography.federal_district_id", before.federal_district_id != after.federal_district_id),
        ("geography.region_id", before.region_id != after.region_id),
        ("geography.municipality_id", before.municipality_id != after.municipality_id),
        ("geography.address", before.address != after.address),
        ("executor_sub_org", before.executor_sub_org != after.executor_sub_org),
        ("topic.category_type_id", before.category_type_id != after.category_type_id),
        ("topic.category_id", before.category_id != after.category_id),
        ("topic.subcategory_id", before.subcategory_id != after.subcategory_id),
        ("urgent", before.urgent != after.urgent),
        ("talked_before", before.talked_before != after.talked_before),
        ("labels", before.labels != after.labels),
        ("source_system", before.source_system != after.source_system),
        ("source_id", before.source_id != after.source_id),
        ("channel", before.channel != after.channel),
        ("stream", before.stream != after.stream),
        ("text", before.text != after.text),
        ("deadline", before.deadline != after.deadline),
    ];
    pairs.iter().filter(|(_, c)| *c).map(|(p, _)| *p).collect()
}

/// The card's fields as stored, for comparing with an update.
pub fn stored_fields(a: &AppealRow) -> Fields {
    Fields {
        citizen_name: a.citizen_name.clone(),
        citizen_email: a.citizen_email.clone(),
        citizen_phone: a.citizen_phone.clone(),
        phone_digits: phone_digits(&a.citizen_phone),
        source_address: a.source_address.clone(),
        federal_district_id: a.federal_district_id,
        region_id: a.region_id,
        municipality_id: a.municipality_id,
        address: a.address.clone(),
        executor_sub_org: a.executor_sub_org.clone(),
        category_type_id: a.category_type_id,
        category_id: a.category_id,
        subcategory_id: a.subcategory_id,
        urgent: a.urgent,
        talked_before: a.talked_before,
        labels: a.labels.clone(),
        source_system: a.source_system.clone(),
        source_id: a.source_id.clone(),
        channel: a.channel.clone(),
        stream: a.stream.clone(),
        text: a.text.clone(),
        deadline: a.deadline,
    }
}

/// The workflow's view of a stored card.
pub fn card_state(a: &AppealRow) -> Result<CardState, AppError> {
    let status = Status::parse(&a.status)
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("appeal {} has unknown status {}", a.id, a.status)))?;
    Ok(CardState {
        number: u64::try_from(a.number).unwrap_or_default(),
        status,
        holder: a.holder_id,
        last_executor: a.last_executor_id,
        executor_org: a.executor_org_id,
        federal: a.federal,
        postponed_until: a.postponed_until,
        close_reason: a.close_reason.as_deref().and_then(CloseReason::parse),
    })
}

/// An action with what the service needs besides the workflow's payload.
#[derive(Debug, Clone)]
pub struct Step {
    pub action: Action,
    /// The request field of the action (`mark_done`, `request_close`…), for violation paths.
    pub field: &'static str,
    pub answer: String,
    pub attachments: Vec<AttachmentRef>,
}

/// A request's action, parsed. Payload rules beyond parsing stay with the workflow.
pub fn step(r: &pb::ActOnAppealRequest) -> Result<Step, AppError> {
    use pb::act_on_appeal_request::Action as A;
    let Some(a) = &r.action else { return Err(AppError::invalid("action", s::ACTION_REQUIRED)) };
    let mut errs = Violations::new();
    let mut answer = String::new();
    let mut attachments = Vec::new();
    let (field, action) = match a {
        A::SubmitToModeration(_) => ("submit_to_moderation", Some(Action::SubmitToModeration)),
        A::Route(x) => {
            let org = match opt_text(&x.executor_org_id) {
                None => Some(Uuid::nil()),
                Some(v) => errs.check("route.executor_org_id", v.parse().map_err(|_| wire::ID_INVALID.to_string())),
            };
            ("route", org.map(|org| Action::Route { org }))
        }
        A::Assign(x) => {
            let executor = match opt_text(&x.executor_id) {
                None => Some(Uuid::nil()),
                Some(v) => errs.check("assign.executor_id", v.parse().map_err(|_| wire::ID_INVALID.to_string())),
            };
            ("assign", executor.map(|executor| Action::Assign { executor }))
        }
        A::Take(_) => ("take", Some(Action::Take)),
        A::Release(_) => ("release", Some(Action::Release)),
        A::MarkDone(x) => {
            answer = errs.check("mark_done.answer", values::text(&x.answer, wf::MAX_TEXT)).unwrap_or_default();
            attachments = file_refs("mark_done.file_ids", &x.file_ids, &mut errs);
            let media = attachments.iter().map(|a| a.file_id).collect();
            ("mark_done", Some(Action::MarkDone { solution: x.solution.clone(), media }))
        }
        A::RequestClose(x) => {
            let reason = errs
                .check("request_close.reason", CloseReason::parse(&x.reason).ok_or_else(|| s::REASON_UNKNOWN.into()));
            let duplicate_of = u64::try_from(x.duplicate_of).ok().filter(|n| *n > 0);
            let req = reason.map(|reason| CloseRequest { reason, comment: x.comment.clone(), duplicate_of });
            ("request_close", req.map(Action::RequestClose))
        }
        A::Postpone(x) => {
            let reason =
                errs.check("postpone.reason", PostponeReason::parse(&x.reason).ok_or_else(|| s::REASON_UNKNOWN.into()));
            let until = errs.check("postpone.until", values::date(&x.until).map_err(|_| s::DATE_INVALID.into()));
            let action =
                reason.zip(until).map(|(reason, until)| Action::Postpone { reason, until, comment: x.comment.clone() });
            ("postpone", action)
        }
        A::Resume(_) => ("resume", Some(Action::Resume)),
        A::RequestRereview(x) => {
            let reason = errs.check(
                "request_rereview.reason",
                RereviewReason::parse(&x.reason).ok_or_else(|| s::REASON_UNKNOWN.into()),
            );
            ("request_rereview", reason.map(|reason| Action::RequestRereview { reason, comment: x.comment.clone() }))
        }
        A::Federal(x) => ("federal", Some(Action::Federal { comment: x.comment.clone() })),
        A::RequestTechSupport(x) => {
            ("request_tech_support", Some(Action::RequestTechSupport { fields: x.fields.clone() }))
        }
        A::SupportReturn(x) => ("support_return", Some(Action::SupportReturn { note: x.comment.clone() })),
        A::CuratorAccept(_) => ("curator_accept", Some(Action::CuratorAccept)),
        A::CuratorReturn(x) => ("curator_return", Some(Action::CuratorReturn { comment: x.comment.clone() })),
    };
    errs.into_result()?;
    let action = action.ok_or_else(|| AppError::invalid("action", s::ACTION_REQUIRED))?;
    Ok(Step { action, field, answer, attachments })
}

pub fn file_refs(field: &str, ids: &[String], errs: &mut Violations) -> Vec<AttachmentRef> {
    let mut out: Vec<AttachmentRef> = Vec::new();
    for (i, v) in ids.iter().enumerate() {
        match v.trim().parse::<Uuid>() {
            Ok(file_id) if !out.iter().any(|a| a.file_id == file_id) => {
                out.push(AttachmentRef { file_id, name: String::new() })
            }
            Ok(_) => {}
            Err(_) => errs.add(&format!("{field}[{i}]"), s::FILE_ID_INVALID),
        }
    }
    out
}

/// A workflow refusal as the API's error; a form field is named by its
/// request path (`mark_done.solution`).
pub fn workflow_error(e: WorkflowError, step_field: &str) -> AppError {
    match e {
        WorkflowError::Invalid { field, description } => {
            let field = match field {
                "org" => "executor_org_id",
                "note" => "comment",
                f => f,
            };
            AppError::invalid(format!("{step_field}.{field}"), description)
        }
        e => {
            let code = match e.code() {
                WorkflowCode::PermissionDenied => tonic::Code::PermissionDenied,
                WorkflowCode::FailedPrecondition | WorkflowCode::InvalidArgument => tonic::Code::FailedPrecondition,
            };
            AppError::Rule { code, reason: e.reason(), message: e.to_string() }
        }
    }
}

fn attachments(v: &[AttachmentRef]) -> Vec<pb::AppealAttachment> {
    v.iter().map(|a| pb::AppealAttachment { file_id: a.file_id.to_string(), name: a.name.clone() }).collect()
}

/// The card for its reader; `actions` are what they may do now.
pub fn appeal(a: &AppealRow, actions: &[ActionKind]) -> pb::Appeal {
    let name = |v: &Option<String>| v.clone().unwrap_or_default();
    pb::Appeal {
        id: a.id.to_string(),
        number: a.number,
        created_at: Some(ts(a.created_at)),
        deadline: date_str(a.deadline),
        citizen: Some(pb::AppealCitizen {
            full_name: a.citizen_name.clone(),
            email: a.citizen_email.clone(),
            phone: a.citizen_phone.clone(),
        }),
        geography: Some(pb::AppealGeography {
            source_address: a.source_address.clone(),
            federal_district_id: opt_uuid(a.federal_district_id),
            region_id: a.region_id.to_string(),
            municipality_id: opt_uuid(a.municipality_id),
            address: a.address.clone(),
            federal_district: name(&a.federal_district_name),
            region: name(&a.region_name),
            municipality: name(&a.municipality_name),
        }),
        executor_org_id: opt_uuid(a.executor_org_id),
        executor_org: a.executor_org_name.clone(),
        executor_sub_org: a.executor_sub_org.clone(),
        topic: Some(pb::AppealTopic {
            category_type_id: opt_uuid(a.category_type_id),
            category_id: opt_uuid(a.category_id),
            subcategory_id: opt_uuid(a.subcategory_id),
            category_type: name(&a.category_type_name),
            category: name(&a.category_name),
            subcategory: name(&a.subcategory_name),
        }),
        urgent: a.urgent,
        talked_before: a.talked_before,
        labels: a.labels.clone(),
        source_system: a.source_system.clone(),
        source_id: a.source_id.clone(),
        channel: a.channel.clone(),
        stream: a.stream.clone(),
        text: a.text.clone(),
        solution: a.solution.clone(),
        answer: a.answer.clone(),
        solution_attachments: attachments(&a.solution_attachments.0),
        status: a.status.clone(),
        status_label: Status::parse(&a.status).map(|s| s.label()).unwrap_or_default().to_string(),
        holder_id: opt_uuid(a.holder_id),
        holder_name: a.holder_name.clone(),
        last_executor_id: opt_uuid(a.last_executor_id),
        last_executor_name: a.last_executor_name.clone(),
        postponed_until: date_str(a.postponed_until),
        close_reason: a.close_reason.clone().unwrap_or_default(),
        queue: a.queue.clone().unwrap_or_default(),
        available_actions: actions.iter().map(|k| k.as_str().to_string()).collect(),
        updated_at: Some(ts(a.updated_at)),
        version: a.version,
    }
}

pub fn journal_row(r: &JournalRow) -> pb::JournalRow {
    let name = |v: &Option<String>| v.clone().unwrap_or_default();
    pb::JournalRow {
        id: r.id.to_string(),
        number: r.number,
        citizen_name: r.citizen_name.clone(),
        status: r.status.clone(),
        status_label: Status::parse(&r.status).map(|s| s.label()).unwrap_or_default().to_string(),
        category: name(&r.category_name),
        federal_district: name(&r.federal_district_name),
        region: name(&r.region_name),
        municipality: name(&r.municipality_name),
        executor: if r.executor_org_name.is_empty() {
            r.last_executor_name.clone()
        } else {
            r.executor_org_name.clone()
        },
        created_at: Some(ts(r.created_at)),
        holder_id: opt_uuid(r.holder_id),
        urgent: r.urgent,
        labels: r.labels.clone(),
    }
}

/// Timeline entries with their edit histories; `me` may edit their own comments.
pub fn timeline(rows: &[TimelineRow], edits: &[EditRow], me: &str) -> Vec<pb::AppealTimelineEntry> {
    let mut by_entry: HashMap<Uuid, Vec<pb::AppealCommentEdit>> = HashMap::new();
    for e in edits {
        by_entry
            .entry(e.entry_id)
            .or_default()
            .push(pb::AppealCommentEdit { at: Some(ts(e.at)), previous_text: e.previous_text.clone() });
    }
    rows.iter().map(|r| entry(r, by_entry.remove(&r.id).unwrap_or_default(), me)).collect()
}

pub fn entry(r: &TimelineRow, edits: Vec<pb::AppealCommentEdit>, me: &str) -> pb::AppealTimelineEntry {
    pb::AppealTimelineEntry {
        id: r.id.to_string(),
        at: Some(ts(r.at)),
        author_id: r.author_id.clone(),
        author_name: r.author_name.clone(),
        kind: r.kind.clone(),
        summary: r.summary.clone(),
        text: r.text.clone(),
        attachments: attachments(&r.attachments.0),
        edits,
        editable: r.kind == "comment" && r.author_id == me,
    }
}

pub fn node(n: &NodeRow) -> pb::ReferenceNode {
    pb::ReferenceNode {
        id: n.id.to_string(),
        level: n.level.clone(),
        code: n.code.clone(),
        name: n.name.clone(),
        parent_id: opt_uuid(n.parent_id),
        parent_code: n.parent_code.clone().unwrap_or_default(),
    }
}

fn option(code: &str, label: &str, requires: &str) -> pb::AppealOption {
    pb::AppealOption { code: code.into(), label: label.into(), requires: requires.into() }
}

/// The lists the card's forms offer, from the workflow's enums.
pub fn options() -> pb::AppealOptions {
    pb::AppealOptions {
        statuses: Status::ALL.iter().map(|s| option(s.as_str(), s.label(), "")).collect(),
        close_reasons: CloseReason::ALL
            .iter()
            .map(|r| {
                let requires = match r.requires() {
                    CloseRequirement::Nothing => "",
                    CloseRequirement::DuplicateNumber => "duplicate_number",
                    CloseRequirement::Comment => "comment",
                };
                option(r.as_str(), r.label(), requires)
            })
            .collect(),
        postpone_reasons: PostponeReason::ALL
            .iter()
            .map(|r| option(r.as_str(), r.label(), if *r == PostponeReason::Other { "comment" } else { "" }))
            .collect(),
        rereview_reasons: RereviewReason::ALL.iter().map(|r| option(r.as_str(), r.label(), "")).collect(),
        channels: Channel::ALL.iter().map(|c| option(c.as_str(), c.label(), "")).collect(),
        actions: ActionKind::ALL.iter().map(|a| option(a.as_str(), a.label(), "")).collect(),
        labels: vec![option(Label::Federal.as_str(), Label::Federal.label(), "")],
    }
}

/// The AppealFilter field names (S1-62 preferences name these).
pub const FILTER_FIELDS: &[&str] = &[
    "number",
    "statuses",
    "lock",
    "citizen_name",
    "phone",
    "text",
    "talked_before",
    "channels",
    "federal_district_id",
    "region_id",
    "municipality_id",
    "address",
    "category_type_id",
    "category_id",
    "subcategory_id",
    "created_from",
    "created_to",
    "labels_present",
    "labels_absent",
    "source_id",
    "urgent",
    "executor_org_id",
    "holder_id",
];

pub fn tri(v: i32) -> Option<bool> {
    match pb::AppealTriState::try_from(v).unwrap_or(pb::AppealTriState::Unspecified) {
        pb::AppealTriState::Unspecified => None,
        pb::AppealTriState::Yes => Some(true),
        pb::AppealTriState::No => Some(false),
    }
}

/// A date of a filter, `YYYY-MM-DD` or `DD.MM.YYYY`.
pub fn filter_date(field: &str, v: &str, errs: &mut Violations) -> Option<NaiveDate> {
    opt_text(v).and_then(|d| errs.check(field, values::date(d).map_err(|_| s::DATE_INVALID.into())))
}
