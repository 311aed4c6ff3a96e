//! The appeal steps as transactions: intake, a workflow step (card locked,
//! `domain::appeal::apply`, state and effects stored, timeline, work items
//! and events written in the same transaction), field corrections, comments
//! and reference checks. The API and the postponement job both come here.
use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use opeka_platform::bus::{self, Outbox};
use opeka_platform::error::{AppError, Violations};
use opeka_proto::events::{self as ev, envelope::Body};
use sqlx::PgConnection;
use sqlx::types::Json;
use uuid::Uuid;

use super::convert::{self, Step};
use super::store::{self, AppealRow, AttachmentRef, EditRow, Fields, Key, NodeRow, TimelineRow};
use super::strings as s;
use crate::appeals::domain::{self as wf, Action, ActionKind, Actor, Effect, Label, Recipient, Role, Status};
use crate::kit::cache::Caches;

/// What part of the tenant's cards a caller sees (S1-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Tenant,
    /// An executor: the cards routed to their organisation.
    Org(Uuid),
    /// An executor without an organisation: none.
    Nothing,
}

impl Scope {
    pub fn sees(self, a: &AppealRow) -> bool {
        match self {
            Scope::Tenant => true,
            Scope::Org(o) => a.executor_org_id == Some(o),
            Scope::Nothing => false,
        }
    }
}

/// Who acts, as the service records it.
#[derive(Debug, Clone)]
pub struct Who {
    pub tenant_id: Uuid,
    pub tenant_slug: String,
    /// The account; nil for the system.
    pub id: Uuid,
    pub name: String,
    /// The workflow roles the account may act in.
    pub roles: Vec<Role>,
    pub org: Option<Uuid>,
    pub scope: Scope,
}

impl Who {
    /// The postponement job.
    pub fn system(tenant_id: Uuid, tenant_slug: String) -> Self {
        Self {
            tenant_id,
            tenant_slug,
            id: Uuid::nil(),
            name: s::SYSTEM.into(),
            roles: vec![Role::System],
            org: None,
            scope: Scope::Tenant,
        }
    }

    fn author_id(&self) -> String {
        if self.id.is_nil() { String::new() } else { self.id.to_string() }
    }

    fn actor_label(&self) -> String {
        if self.id.is_nil() { "system".into() } else { self.id.to_string() }
    }

    fn actor(&self, role: Role) -> Actor {
        Actor { id: self.id, role, org: self.org }
    }
}

pub fn not_found() -> AppError {
    AppError::NotFound(s::APPEAL_NOT_FOUND.into())
}

/// A card the caller sees, or NOT_FOUND (another tenant's and another area's alike).
pub async fn visible(conn: &mut PgConnection, who: &Who, key: Key, lock: bool) -> Result<AppealRow, AppError> {
    let row = store::get_appeal(conn, who.tenant_id, key, lock).await?.ok_or_else(not_found)?;
    if who.scope.sees(&row) { Ok(row) } else { Err(not_found()) }
}

/// The actions the caller may take on the card today, in any of their roles (S1-34).
pub fn available(who: &Who, row: &AppealRow, today: NaiveDate) -> Vec<ActionKind> {
    let Ok(card) = convert::card_state(row) else { return Vec::new() };
    let mut out: Vec<ActionKind> = Vec::new();
    for role in &who.roles {
        for k in wf::available(&card, &who.actor(*role), today) {
            if !out.contains(&k) {
                out.push(k);
            }
        }
    }
    ActionKind::ALL.into_iter().filter(|k| out.contains(k)).collect()
}

async fn emit(
    conn: &mut PgConnection,
    outbox: &Outbox,
    who: &Who,
    now: DateTime<Utc>,
    body: Body,
) -> Result<(), AppError> {
    let env = bus::envelope(who.tenant_id, &who.actor_label(), now, body);
    outbox.enqueue(conn, &who.tenant_slug, &env).await?;
    Ok(())
}

fn entry(who: &Who, appeal_id: Uuid, now: DateTime<Utc>, kind: &str, action: &str, summary: String) -> TimelineRow {
    TimelineRow {
        id: Uuid::now_v7(),
        appeal_id,
        at: now,
        author_id: who.author_id(),
        author_name: who.name.clone(),
        kind: kind.into(),
        action: action.into(),
        summary,
        text: String::new(),
        attachments: Json(Vec::new()),
    }
}

// ---------------------------------------------------------------- references

/// The node `id` names, if it exists on `level`; a violation on `field` otherwise.
fn node_at(
    cache: &HashMap<Uuid, NodeRow>,
    errs: &mut Violations,
    field: &str,
    id: Option<Uuid>,
    level: &str,
) -> Option<NodeRow> {
    match cache.get(&id?) {
        None => {
            errs.add(field, s::NODE_UNKNOWN);
            None
        }
        Some(n) if n.level != level => {
            errs.add(field, s::NODE_WRONG_LEVEL);
            None
        }
        Some(n) => Some(n.clone()),
    }
}

/// Checks the card's references against the tenant's trees and fills in
/// parents left empty (a region names its federal district, a subcategory
/// its category and type). Violations name the request paths.
pub async fn resolve_references(
    conn: &mut PgConnection,
    caches: &Caches,
    tenant: Uuid,
    f: &mut Fields,
    errs: &mut Violations,
) -> Result<(), AppError> {
    let wanted: Vec<Uuid> = [
        f.federal_district_id,
        Some(f.region_id),
        f.municipality_id,
        f.category_type_id,
        f.category_id,
        f.subcategory_id,
    ]
    .into_iter()
    .flatten()
    .collect();
    let mut cache: HashMap<Uuid, NodeRow> =
        caches.nodes(conn, tenant, &wanted).await?.into_iter().map(|n| (n.id, n)).collect();
    // Geography.
    if let Some(region) = node_at(&cache, errs, "geography.region_id", Some(f.region_id), "region") {
        match f.federal_district_id {
            Some(fd) => {
                let known = node_at(&cache, errs, "geography.federal_district_id", Some(fd), "federal_district");
                if known.is_some() && region.parent_id != Some(fd) {
                    errs.add("geography.federal_district_id", s::DISTRICT_MISMATCH);
                }
            }
            None => f.federal_district_id = region.parent_id,
        }
        if let Some(m) = node_at(&cache, errs, "geography.municipality_id", f.municipality_id, "municipality")
            && m.parent_id != Some(region.id)
        {
            errs.add("geography.municipality_id", s::MUNICIPALITY_MISMATCH);
        }
    }
    // Topics: the parents of a given child are derived when not given.
    if let Some(sc) = node_at(&cache, errs, "topic.subcategory_id", f.subcategory_id, "subcategory") {
        match f.category_id {
            Some(c) if sc.parent_id != Some(c) => errs.add("topic.subcategory_id", s::SUBCATEGORY_MISMATCH),
            Some(_) => {}
            None => f.category_id = sc.parent_id,
        }
    }
    if let Some(c) = f.category_id
        && !cache.contains_key(&c)
    {
        cache.extend(caches.nodes(conn, tenant, &[c]).await?.into_iter().map(|n| (n.id, n)));
    }
    if let Some(c) = node_at(&cache, errs, "topic.category_id", f.category_id, "category") {
        match f.category_type_id {
            Some(ct) if c.parent_id != Some(ct) => errs.add("topic.category_id", s::CATEGORY_MISMATCH),
            Some(_) => {}
            None => f.category_type_id = c.parent_id,
        }
    }
    if let Some(ct) = f.category_type_id
        && cache.contains_key(&ct)
    {
        node_at(&cache, errs, "topic.category_type_id", Some(ct), "category_type");
    } else if f.category_type_id.is_some() && f.category_id.is_none() {
        errs.add("topic.category_type_id", s::NODE_UNKNOWN);
    }
    Ok(())
}

// -------------------------------------------------------------------- intake

pub struct Intake<'a> {
    pub fields: Fields,
    pub executor_org: Option<(Uuid, String)>,
    pub request_id: Option<&'a str>,
}

/// Creates a card «Новое» with the next number, its «created» line and
/// `appeal_created`. A request id seen before returns that call's card.
/// The caller has registered the tenant (`Caches::register_appeal_tenant`).
pub async fn create(
    conn: &mut PgConnection,
    outbox: &Outbox,
    caches: &Caches,
    who: &Who,
    mut intake: Intake<'_>,
    now: DateTime<Utc>,
) -> Result<AppealRow, AppError> {
    let id = Uuid::now_v7();
    if let Some(rid) = intake.request_id
        && let Some(prev) = store::claim_request(conn, who.tenant_id, rid, id, None, now).await?
    {
        return visible(conn, who, Key::Id(prev.appeal_id), false).await;
    }
    let mut errs = Violations::new();
    resolve_references(conn, caches, who.tenant_id, &mut intake.fields, &mut errs).await?;
    errs.into_result()?;
    let f = &intake.fields;
    let new = store::NewAppeal {
        id,
        tenant_id: who.tenant_id,
        fields: f,
        executor_org: intake.executor_org.clone(),
        status: Status::New.as_str(),
        created_by: &who.author_id(),
        now,
    };
    let row = store::insert_appeal(conn, &new).await?;
    let channel = wf::Channel::parse(&f.channel).map(|c| c.label()).unwrap_or_default();
    let line = entry(who, id, now, "created", "", s::created(channel));
    store::insert_timeline(conn, who.tenant_id, std::slice::from_ref(&line)).await?;
    let body = Body::AppealCreated(ev::AppealCreated {
        appeal_id: id.to_string(),
        number: row.number,
        status: Status::New.as_str().into(),
        executor_org_id: intake.executor_org.as_ref().map(|o| o.0.to_string()).unwrap_or_default(),
        channel: f.channel.clone(),
        region_id: f.region_id.to_string(),
        category_id: f.category_id.map(|c| c.to_string()).unwrap_or_default(),
        urgent: f.urgent,
    });
    emit(conn, outbox, who, now, body).await?;
    Ok(row)
}

// ------------------------------------------------------------ workflow steps

/// What identity said about an executor a supervisor assigns.
#[derive(Debug, Clone)]
pub struct Assignee {
    pub id: Uuid,
    pub name: String,
    /// A live staff account with the executor role.
    pub is_executor: bool,
    pub org: Option<Uuid>,
}

/// Facts the API looked up outside the transaction.
#[derive(Debug, Clone, Default)]
pub struct Lookups {
    pub assignee: Option<Assignee>,
    /// The name of the organisation a route names; `None`: identity does not know it.
    pub route_org_name: Option<String>,
}

/// When a step happens: the instant and the tenant's local date.
#[derive(Debug, Clone, Copy)]
pub struct When {
    pub now: DateTime<Utc>,
    pub today: NaiveDate,
}

/// One workflow step on a card, all in the caller's transaction.
pub async fn act(
    conn: &mut PgConnection,
    outbox: &Outbox,
    who: &Who,
    id: Uuid,
    step: Step,
    lookups: &Lookups,
    when: When,
) -> Result<AppealRow, AppError> {
    let When { now, today } = when;
    let row = visible(conn, who, Key::Id(id), true).await?;
    let card = convert::card_state(&row)?;
    let kind = step.action.kind();
    // The role the step works in (a supervisor who also executes frees a stuck lock as a supervisor);
    // failing that, the one whose refusal explains best.
    let role = who.roles.iter().copied().find(|r| wf::available(&card, &who.actor(*r), today).contains(&kind));
    let role = role
        .or_else(|| wf::acting_role(&who.roles, kind, card.status))
        .ok_or_else(|| AppError::PermissionDenied(s::PERMISSION_DENIED.into()))?;
    let t = wf::apply(&card, &who.actor(role), step.action.clone(), today)
        .map_err(|e| convert::workflow_error(e, step.field))?;

    // What the workflow leaves to the service: the people and places named exist.
    let mut org_name = None;
    match &step.action {
        Action::Assign { executor } => {
            let field = "assign.executor_id";
            let a = lookups.assignee.as_ref().filter(|a| a.id == *executor && a.is_executor);
            let a = a.ok_or_else(|| AppError::invalid(field, s::EXECUTOR_UNKNOWN))?;
            if a.org.is_none() || a.org != card.executor_org {
                return Err(AppError::invalid(field, s::EXECUTOR_OTHER_ORG));
            }
        }
        Action::Route { .. } => {
            let name = lookups.route_org_name.clone();
            org_name = Some(name.ok_or_else(|| AppError::invalid("route.executor_org_id", s::ORG_UNKNOWN))?);
        }
        _ => {}
    }
    for e in &t.effects {
        if let Effect::CloseRequested { duplicate_of: Some(n), .. } = e {
            let n = i64::try_from(*n).unwrap_or(i64::MAX);
            if !store::number_exists(conn, who.tenant_id, n).await? {
                return Err(AppError::invalid("request_close.duplicate_of", s::DUPLICATE_UNKNOWN));
            }
        }
    }
    let name_of = |person: Uuid| -> String {
        if Some(person) == row.holder_id {
            row.holder_name.clone()
        } else if person == who.id {
            who.name.clone()
        } else if let Some(a) = lookups.assignee.as_ref().filter(|a| a.id == person) {
            a.name.clone()
        } else if Some(person) == row.last_executor_id {
            row.last_executor_name.clone()
        } else {
            String::new()
        }
    };

    // One card per executor (S1-30): a friendly refusal first; the unique
    // index decides a race (two takes at once), read back after a savepoint.
    let taker = t.state.holder.filter(|h| Some(*h) != row.holder_id);
    let busy = |taker: Uuid, number: i64| {
        AppError::FailedPrecondition(if taker == who.id {
            s::already_working(number)
        } else {
            s::executor_busy(number)
        })
    };
    if let Some(h) = taker
        && let Some((_, number)) = store::held_by(conn, who.tenant_id, h, Some(id)).await?
    {
        return Err(busy(h, number));
    }

    let mut labels = row.labels.clone();
    if t.effects.contains(&Effect::LabelAdded(Label::Federal)) && !labels.iter().any(|l| l == Label::Federal.as_str()) {
        labels.push(Label::Federal.as_str().into());
    }
    let mut postponed =
        t.state.postponed_until.map(|d| (d, row.postpone_reason.clone().unwrap_or_default(), String::new()));
    let mut close =
        t.state.close_reason.map(|r| (r.as_str().to_string(), row.close_comment.clone(), row.close_duplicate_of));
    let mut solution = None;
    for e in &t.effects {
        match e {
            Effect::Postponed { reason, until, comment } => {
                postponed = Some((*until, reason.as_str().into(), comment.clone()));
            }
            Effect::CloseRequested { reason, comment, duplicate_of } => {
                let dup = duplicate_of.and_then(|n| i64::try_from(n).ok());
                close = Some((reason.as_str().into(), comment.clone(), dup));
            }
            Effect::SolutionRecorded { solution: text, .. } => solution = Some(text.clone()),
            _ => {}
        }
    }
    let org = t.state.executor_org.map(|o| {
        let name = if Some(o) == row.executor_org_id && org_name.is_none() {
            row.executor_org_name.clone()
        } else {
            org_name.clone().unwrap_or_default()
        };
        (o, name)
    });
    let update = store::StepUpdate {
        id,
        status: t.state.status.as_str(),
        holder: t.state.holder.map(|h| (h, name_of(h))),
        last_executor: t.state.last_executor.map(|h| (h, name_of(h))),
        executor_org: org.clone(),
        federal: t.state.federal,
        labels: &labels,
        postponed,
        close,
        solution: solution.as_deref().map(|sol| (sol, step.answer.as_str(), step.attachments.as_slice())),
        queue: t.state.status.queue().map(|q| q.as_str()),
        now,
    };
    store::savepoint(conn).await?;
    if let Err(e) = store::save_step(conn, &update).await {
        let clash = matches!(&e, sqlx::Error::Database(d) if d.constraint() == Some("appeals_holder_key"));
        if let (true, Some(h)) = (clash, taker) {
            store::rollback_to_savepoint(conn).await?;
            let held = store::held_by(conn, who.tenant_id, h, Some(id)).await?;
            return Err(busy(h, held.map(|x| x.1).unwrap_or_default()));
        }
        return Err(e.into());
    }
    store::release_savepoint(conn).await?;

    // «Ход решения», work items and events.
    let action = kind.as_str();
    let mut lines = Vec::new();
    let mut work_item: Option<(wf::WorkItem, Recipient)> = None;
    for e in &t.effects {
        let line = |kind: &str, summary: String| entry(who, id, now, kind, action, summary);
        let l = match e {
            Effect::SolutionRecorded { solution, .. } => {
                let mut l = line("solution", s::SOLUTION.into());
                l.text = solution.clone();
                l.attachments = Json(step.attachments.clone());
                Some(l)
            }
            Effect::CloseRequested { reason, comment, duplicate_of } => {
                let mut l = line("close_requested", s::close_requested(reason.label(), *duplicate_of));
                l.text = comment.clone();
                Some(l)
            }
            Effect::CloseRequestReturned { reason, defect } => {
                Some(line("close_returned", s::close_returned(reason.label(), defect.label())))
            }
            Effect::Postponed { reason, until, comment } => {
                let mut l = line("postponed", s::postponed(reason.label(), *until));
                l.text = comment.clone();
                Some(l)
            }
            Effect::RereviewRequested { reason, comment } => {
                let mut l = line("rereview", s::rereview(reason.label()));
                l.text = comment.clone();
                Some(l)
            }
            Effect::TechSupportRequested { fields } => {
                let mut l = line("tech_support", s::TECH_SUPPORT.into());
                l.text = fields.clone();
                Some(l)
            }
            Effect::SupportResolved { note } => {
                let mut l = line("support_resolved", s::SUPPORT_RESOLVED.into());
                l.text = note.clone();
                Some(l)
            }
            Effect::FederalRequested { comment } => {
                let mut l = line("federal", s::FEDERAL.into());
                l.text = comment.clone();
                Some(l)
            }
            Effect::ReturnedForRework { comment } => {
                let mut l = line("returned_for_rework", s::RETURNED_FOR_REWORK.into());
                l.text = comment.clone();
                Some(l)
            }
            Effect::StatusChanged { from, to } => {
                Some(line("status_changed", s::status_changed(from.label(), to.label())))
            }
            Effect::LockReleased { executor } => Some(line("lock_released", s::lock_released(&name_of(*executor)))),
            Effect::LockTaken { executor } => {
                let assigned = kind == ActionKind::Assign;
                Some(line("lock_taken", s::lock_taken(&name_of(*executor), assigned)))
            }
            Effect::LabelAdded(label) => Some(line("label_added", s::label_added(label.label()))),
            Effect::ExecutorOrgChanged { .. } => {
                Some(line("org_changed", s::org_changed(&org.as_ref().map(|o| o.1.clone()).unwrap_or_default())))
            }
            Effect::QueueChanged(_) => None,
            Effect::WorkQueueItem { recipient, item } => {
                work_item = Some((*item, *recipient));
                None
            }
        };
        lines.extend(l);
    }
    store::insert_timeline(conn, who.tenant_id, &lines).await?;
    if let Some((item, recipient)) = work_item {
        let (executor_id, org_id) = match recipient {
            Recipient::Executor(e) => (Some(e), t.state.executor_org),
            Recipient::Org(o) => (None, Some(o)),
        };
        let w =
            store::WorkItemRow { appeal_id: id, kind: item.as_str(), summary: item.label(), executor_id, org_id, now };
        store::insert_work_item(conn, who.tenant_id, &w).await?;
    }
    let last = lines.len().saturating_sub(1);
    for (i, l) in lines.iter().enumerate() {
        let (item, item_executor) = match work_item {
            Some((item, recipient)) if i == last => (
                item.as_str().to_string(),
                match recipient {
                    Recipient::Executor(e) => e.to_string(),
                    Recipient::Org(_) => String::new(),
                },
            ),
            _ => (String::new(), String::new()),
        };
        let body = Body::AppealChanged(ev::AppealChanged {
            appeal_id: id.to_string(),
            number: row.number,
            kind: l.kind.clone(),
            action: action.into(),
            status_from: card.status.as_str().into(),
            status_to: t.state.status.as_str().into(),
            holder_id: t.state.holder.map(|h| h.to_string()).unwrap_or_default(),
            executor_org_id: t.state.executor_org.map(|o| o.to_string()).unwrap_or_default(),
            summary: l.summary.clone(),
            work_item: item,
            work_item_executor_id: item_executor,
        });
        emit(conn, outbox, who, now, body).await?;
    }
    store::get_appeal(conn, who.tenant_id, Key::Id(id), false).await?.ok_or_else(not_found)
}

// ---------------------------------------------------------------- corrections

pub enum Updated {
    Done(Box<AppealRow>),
    /// The card changed since the caller read `version`.
    Stale,
}

/// What UpdateAppeal asks for.
pub struct Correction<'a> {
    pub id: Uuid,
    pub version: i64,
    pub mask: &'a [String],
    pub appeal: &'a opeka_proto::cases::Appeal,
}

/// UpdateAppeal (S1-6, S1-7): the masked fields, checked like intake; the
/// timeline names what changed.
pub async fn update(
    conn: &mut PgConnection,
    outbox: &Outbox,
    caches: &Caches,
    who: &Who,
    c: Correction<'_>,
    now: DateTime<Utc>,
) -> Result<Updated, AppError> {
    let Correction { id, version, mask, appeal: new } = c;
    let row = visible(conn, who, Key::Id(id), true).await?;
    if row.version != version {
        return Ok(Updated::Stale);
    }
    let status = Status::parse(&row.status).unwrap_or(Status::New);
    if status.is_final() {
        return Err(AppError::FailedPrecondition(s::final_status(status.label())));
    }
    let mut merged = convert::as_request(&row);
    convert::merge(&mut merged, new, mask);
    let mut errs = Violations::new();
    let fields = convert::fields(&merged, &mut errs);
    errs.into_result()?;
    let mut fields = fields.ok_or_else(|| AppError::internal(anyhow::anyhow!("card fields without violations")))?;
    let mut errs = Violations::new();
    resolve_references(conn, caches, who.tenant_id, &mut fields, &mut errs).await?;
    errs.into_result()?;
    let before = convert::stored_fields(&row);
    let changed = convert::changed(&before, &fields);
    if changed.is_empty() {
        return Ok(Updated::Done(Box::new(row)));
    }
    store::update_fields(conn, who.tenant_id, id, &fields, now).await?;
    let labels: Vec<&str> = changed.iter().map(|p| s::field_label(p)).collect();
    let line = entry(who, id, now, "fields_updated", "", s::fields_updated(&labels));
    store::insert_timeline(conn, who.tenant_id, std::slice::from_ref(&line)).await?;
    let body = Body::AppealChanged(ev::AppealChanged {
        appeal_id: id.to_string(),
        number: row.number,
        kind: line.kind.clone(),
        action: String::new(),
        status_from: row.status.clone(),
        status_to: row.status.clone(),
        holder_id: row.holder_id.map(|h| h.to_string()).unwrap_or_default(),
        executor_org_id: row.executor_org_id.map(|o| o.to_string()).unwrap_or_default(),
        summary: line.summary.clone(),
        work_item: String::new(),
        work_item_executor_id: String::new(),
    });
    emit(conn, outbox, who, now, body).await?;
    let after = store::get_appeal(conn, who.tenant_id, Key::Id(id), false).await?.ok_or_else(not_found)?;
    Ok(Updated::Done(Box::new(after)))
}

// ------------------------------------------------------------------ comments

/// A trimmed, non-empty comment of at most 10000 characters.
pub fn comment_text(v: &str) -> Result<String, AppError> {
    let t = v.trim();
    if t.is_empty() {
        return Err(AppError::invalid("text", s::COMMENT_REQUIRED));
    }
    if t.chars().count() > wf::MAX_TEXT {
        return Err(AppError::invalid("text", s::TEXT_TOO_LONG));
    }
    Ok(t.to_string())
}

pub struct NewComment<'a> {
    pub appeal_id: Uuid,
    pub text: String,
    pub attachments: Vec<AttachmentRef>,
    pub request_id: Option<&'a str>,
}

/// Posts a comment (S1-31); a request id seen before returns that comment.
pub async fn add_comment(
    conn: &mut PgConnection,
    outbox: &Outbox,
    who: &Who,
    c: NewComment<'_>,
    now: DateTime<Utc>,
) -> Result<TimelineRow, AppError> {
    let NewComment { appeal_id, text, attachments, request_id } = c;
    let row = visible(conn, who, Key::Id(appeal_id), false).await?;
    let mut line = entry(who, appeal_id, now, "comment", "", String::new());
    line.text = text;
    line.attachments = Json(attachments);
    if let Some(rid) = request_id
        && let Some(prev) = store::claim_request(conn, who.tenant_id, rid, appeal_id, Some(line.id), now).await?
        && let Some(entry_id) = prev.entry_id
    {
        return store::get_entry(conn, entry_id, false).await?.ok_or_else(not_found);
    }
    store::insert_timeline(conn, who.tenant_id, std::slice::from_ref(&line)).await?;
    commented(conn, outbox, who, &row, line.id, false, now).await?;
    Ok(line)
}

/// The author edits their comment (S1-33); the old text goes to the history.
pub async fn edit_comment(
    conn: &mut PgConnection,
    outbox: &Outbox,
    who: &Who,
    (appeal_id, comment_id): (Uuid, Uuid),
    text: String,
    now: DateTime<Utc>,
) -> Result<(TimelineRow, Vec<EditRow>), AppError> {
    let row = visible(conn, who, Key::Id(appeal_id), false).await?;
    let missing = || AppError::NotFound(s::COMMENT_NOT_FOUND.into());
    let entry = store::get_entry(conn, comment_id, true).await?.ok_or_else(missing)?;
    if entry.appeal_id != appeal_id || entry.kind != "comment" {
        return Err(missing());
    }
    if entry.author_id != who.author_id() {
        return Err(AppError::PermissionDenied(s::COMMENT_NOT_YOURS.into()));
    }
    if entry.text != text {
        store::edit_comment(conn, who.tenant_id, &entry, &text, &who.author_id(), now).await?;
        commented(conn, outbox, who, &row, comment_id, true, now).await?;
    }
    let after = store::get_entry(conn, comment_id, false).await?.ok_or_else(missing)?;
    let edits = store::list_edits(conn, who.tenant_id, &[comment_id]).await?;
    Ok((after, edits))
}

async fn commented(
    conn: &mut PgConnection,
    outbox: &Outbox,
    who: &Who,
    row: &AppealRow,
    comment: Uuid,
    edited: bool,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let body = Body::AppealCommented(ev::AppealCommented {
        appeal_id: row.id.to_string(),
        number: row.number,
        comment_id: comment.to_string(),
        edited,
    });
    emit(conn, outbox, who, now, body).await
}

// ------------------------------------------------------------ reference data

/// The levels of a reference tree, top down.
pub fn tree_levels(tree: &str) -> Option<[&'static str; 3]> {
    match tree {
        "geography" => Some(["federal_district", "region", "municipality"]),
        "topics" => Some(["category_type", "category", "subcategory"]),
        _ => None,
    }
}

/// Loads nodes into a tree, parents before children, by code: all of them
/// or, with any violation (`nodes[i].field`), none. Returns (created, updated).
pub async fn import_nodes(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    (tree, levels): (&str, [&str; 3]),
    nodes: &[opeka_proto::cases::ReferenceNode],
    now: DateTime<Utc>,
) -> Result<(i32, i32), AppError> {
    let parents: Vec<String> =
        nodes.iter().map(|n| n.parent_code.trim().to_string()).filter(|p| !p.is_empty()).collect();
    let stored = store::nodes_by_codes(conn, tenant_id, tree, &parents).await?;
    let mut ids: HashMap<String, Uuid> = stored.iter().map(|n| (n.code.clone(), n.id)).collect();
    // code → level of possible parents: the stored tree, then this load in order.
    let mut known: HashMap<String, String> = stored.into_iter().map(|n| (n.code, n.level)).collect();
    let mut seen = std::collections::HashSet::new();
    let mut errs = Violations::new();
    for (i, n) in nodes.iter().enumerate() {
        let field = |f: &str| format!("nodes[{i}].{f}");
        let (code, level, parent) = (n.code.trim(), n.level.trim(), n.parent_code.trim());
        let depth = levels.iter().position(|l| *l == level);
        if depth.is_none() {
            errs.add(&field("level"), s::LEVEL_UNKNOWN);
        }
        if code.is_empty() || code.chars().count() > 100 {
            errs.add(&field("code"), s::CODE_REQUIRED);
        } else if !seen.insert(code.to_string()) {
            errs.add(&field("code"), s::CODE_REPEATED);
        }
        if n.name.trim().is_empty() || n.name.trim().chars().count() > 300 {
            errs.add(&field("name"), s::NODE_NAME_REQUIRED);
        }
        match depth {
            Some(0) if !parent.is_empty() => errs.add(&field("parent_code"), s::ROOT_HAS_NO_PARENT),
            Some(0) | None => {}
            Some(_) if parent.is_empty() => errs.add(&field("parent_code"), s::PARENT_REQUIRED),
            Some(d) => match known.get(parent) {
                None => errs.add(&field("parent_code"), s::PARENT_UNKNOWN),
                Some(l) if l != levels[d - 1] => errs.add(&field("parent_code"), s::PARENT_WRONG_LEVEL),
                Some(_) => {}
            },
        }
        if depth.is_some() && !code.is_empty() {
            known.insert(code.to_string(), level.to_string());
        }
    }
    errs.into_result()?;
    let (mut created, mut updated) = (0, 0);
    for n in nodes {
        let code = n.code.trim();
        let parent = ids.get(n.parent_code.trim()).copied().filter(|_| !n.parent_code.trim().is_empty());
        let node = store::NodeUpsert { tree, level: n.level.trim(), code, name: n.name.trim(), parent };
        let (id, new) = store::upsert_node(conn, tenant_id, &node, now).await?;
        ids.insert(code.to_string(), id);
        if new { created += 1 } else { updated += 1 }
    }
    Ok((created, updated))
}
