//! `opeka.cases.v1.AppealsService`: decode, authorise, ask identity what
//! only it knows (names, organisations, an assignee's account) outside the
//! transaction, call the service layer, encode. Roles come from the token:
//! moderator, executor (area = the token's organisation), supervisor,
//! curator, admin (also tech support); integration only brings appeals in.
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use opeka_platform::auth::{self, Principal};
use opeka_platform::call::Bearer;
use opeka_platform::db::Tx;
use opeka_platform::error::{AppError, Violations};
use opeka_platform::wire::{self, NumberedPage, opt_text};
use opeka_proto::cases::{self as pb, appeals_service_server::AppealsService};
use opeka_proto::identity as idpb;
use tonic::{Code, Request};
use uuid::Uuid;

use super::convert;
use super::journal::{self, JournalQuery, Lock, Order, Total};
use super::service::{self, Assignee, Correction, Lookups, NewComment, Scope, Updated, When, Who};
use super::store::{self, Key};
use super::strings as s;
use crate::State;
use crate::appeals::domain::{Action, Role};
use crate::kit::Res;
use crate::kit::identity::{CALL_TIMEOUT, from_status};
use crate::kit::period;
use crate::kit::search;

pub struct AppealsApi {
    st: Arc<State>,
}

impl AppealsApi {
    pub fn new(st: Arc<State>) -> Self {
        Self { st }
    }
}

/// Who may call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Permission {
    /// Cards, the journal, reference data, options: integration too.
    Read,
    /// Intake: integration, moderators, admins.
    Intake,
    /// Workflow steps, comments, the timeline, preferences: staff with a workflow role.
    Work,
    /// Field corrections: moderators and admins.
    Correct,
    /// Reference import.
    Admin,
}

/// The caller's workflow roles and the cards they see.
struct Standing {
    roles: Vec<Role>,
    integration: bool,
    scope: Scope,
}

type Call = opeka_platform::call::Call<Standing>;

fn denied() -> AppError {
    AppError::PermissionDenied(s::PERMISSION_DENIED.into())
}

/// The workflow roles of a token's roles, in the workflow's order.
fn workflow_roles(p: &Principal) -> Vec<Role> {
    let mut out = Vec::new();
    for (name, role) in [
        ("moderator", Role::Moderator),
        ("executor", Role::Executor),
        ("supervisor", Role::Supervisor),
        ("curator", Role::Curator),
        ("admin", Role::Admin),
    ] {
        if p.has_role(name) {
            out.push(role);
        }
    }
    out
}

impl Standing {
    fn of(p: &Principal) -> Self {
        let roles = workflow_roles(p);
        let integration = p.has_role("integration");
        let tenant_wide = integration || roles.iter().any(|r| *r != Role::Executor);
        let scope = if tenant_wide { Scope::Tenant } else { p.organisation_id.map_or(Scope::Nothing, Scope::Org) };
        Self { roles, integration, scope }
    }

    fn allows(&self, perm: Permission) -> bool {
        let has = |r: Role| self.roles.contains(&r);
        match perm {
            Permission::Read => self.integration || !self.roles.is_empty(),
            Permission::Intake => self.integration || has(Role::Moderator) || has(Role::Admin),
            Permission::Work => !self.roles.is_empty(),
            Permission::Correct => has(Role::Moderator) || has(Role::Admin),
            Permission::Admin => has(Role::Admin),
        }
    }
}

/// The caller as the service layer records them, named `name`.
fn who(call: &Call, name: String) -> Who {
    let p = &call.principal;
    Who {
        tenant_id: p.tenant_id,
        tenant_slug: p.tenant_slug.clone(),
        id: p.account_id,
        name,
        roles: call.extra.roles.clone(),
        org: p.organisation_id,
        scope: call.extra.scope,
    }
}

impl AppealsApi {
    fn now(&self) -> DateTime<Utc> {
        self.st.kit.now()
    }

    /// Authenticates, checks the caller's roles allow `perm` and opens the
    /// tenant transaction.
    async fn open<T>(&self, req: &Request<T>, perm: Permission) -> Result<Call, AppError> {
        let principal = auth::principal(req)?;
        let standing = Standing::of(&principal);
        if !standing.allows(perm) {
            return Err(denied());
        }
        Ok(self.st.kit.open_as(principal, Bearer::of(req.metadata()).ok()).await?.with(standing))
    }

    /// Today in the tenant's time zone.
    async fn today(&self, tx: &mut Tx, tenant: Uuid) -> Result<NaiveDate, AppError> {
        Ok(period::local_today(self.now(), self.st.caches.time_zone(tx, tenant, self.st.default_tz).await?))
    }

    /// The caller as the timeline names them (identity's full name).
    async fn who(&self, call: &Call) -> Result<Who, AppError> {
        let roles = &call.extra.roles;
        if roles.is_empty() {
            return Ok(who(call, s::INTEGRATION.to_string()));
        }
        let name = self.st.identity.full_name(&call.principal, call.bearer()?).await?;
        let name = if name.trim().is_empty() { roles[0].label().to_string() } else { name };
        Ok(who(call, name))
    }

    /// The organisation's name, if identity knows it.
    async fn org_name(&self, call: &Call, id: Uuid) -> Result<Option<String>, AppError> {
        self.st.identity.organisation_name(call.bearer()?, call.principal.tenant_id, id).await
    }

    /// An account a supervisor assigns, as identity has it.
    async fn assignee(&self, call: &Call, id: Uuid) -> Result<Option<Assignee>, AppError> {
        let req = call.bearer()?.request(idpb::GetAccountRequest { id: id.to_string() }, CALL_TIMEOUT);
        let a = match self.st.identity.client().get_account(req).await {
            Ok(a) => a.into_inner(),
            Err(st) if st.code() == Code::NotFound => return Ok(None),
            Err(st) => return Err(from_status(st)),
        };
        let live = a.kind == idpb::AccountKind::Staff as i32
            && a.status != idpb::AccountStatus::Deleted as i32
            && a.deleted_at.is_none();
        Ok(Some(Assignee {
            id,
            name: crate::registry::domain::full_name(&a.surname, &a.name, &a.patronymic),
            is_executor: live && a.roles.contains(&(idpb::Role::Executor as i32)),
            org: a.organisation_id.parse().ok(),
        }))
    }

    fn view(who: &Who, row: &store::AppealRow, today: NaiveDate) -> pb::Appeal {
        convert::appeal(row, &service::available(who, row, today))
    }
}

impl AppealsApi {
    async fn create_appeal(&self, req: Request<pb::CreateAppealRequest>) -> Res<pb::Appeal> {
        let mut call = self.open(&req, Permission::Intake).await?;
        let r = req.get_ref();
        let mut errs = Violations::new();
        let fields = convert::fields(r, &mut errs);
        let org = wire::opt_id("executor_org_id", &r.executor_org_id, &mut errs);
        errs.into_result()?;
        let fields = fields.ok_or_else(|| AppError::internal(anyhow::anyhow!("intake fields without violations")))?;
        let executor_org = match org {
            Some(o) => {
                let name = self.org_name(&call, o).await?;
                Some((o, name.ok_or_else(|| AppError::invalid("executor_org_id", s::ORG_UNKNOWN))?))
            }
            None => None,
        };
        let who = if call.extra.roles.is_empty() { who(&call, s::INTEGRATION.into()) } else { self.who(&call).await? };
        let intake = service::Intake { fields, executor_org, request_id: opt_text(&r.request_id) };
        self.st.caches.register_appeal_tenant(&self.st.kit.pool, who.tenant_id, &who.tenant_slug).await?;
        let row = service::create(&mut call.tx, &self.st.kit.outbox, &self.st.caches, &who, intake, call.now).await?;
        let today = self.today(&mut call.tx, who.tenant_id).await?;
        call.commit().await?;
        tracing::info!(appeal_id = %row.id, number = row.number, "appeal created");
        Ok(Self::view(&who, &row, today))
    }

    async fn get_appeal(&self, req: Request<pb::GetAppealRequest>) -> Res<pb::Appeal> {
        let mut call = self.open(&req, Permission::Read).await?;
        let r = req.get_ref();
        let key = match (opt_text(&r.id), r.number) {
            (Some(id), _) => Key::Id(wire::id("id", id)?),
            (None, n) if n > 0 => Key::Number(n),
            _ => return Err(AppError::invalid("id", s::NUMBER_OR_ID)),
        };
        let who = who(&call, String::new());
        let row = service::visible(&mut call.tx, &who, key, false).await?;
        let today = self.today(&mut call.tx, call.principal.tenant_id).await?;
        Ok(Self::view(&who, &row, today))
    }

    async fn update_appeal(&self, req: Request<pb::UpdateAppealRequest>) -> Res<pb::Appeal> {
        let mut call = self.open(&req, Permission::Correct).await?;
        let r = req.get_ref();
        let id = wire::id("id", &r.id)?;
        let mut errs = Violations::new();
        if r.update_mask.is_empty() {
            errs.add("update_mask", s::MASK_REQUIRED);
        }
        for (i, p) in r.update_mask.iter().enumerate() {
            if !convert::UPDATABLE.contains(&p.as_str()) {
                errs.add(&format!("update_mask[{i}]"), s::MASK_UNKNOWN);
            }
        }
        errs.into_result()?;
        let appeal = r.appeal.clone().unwrap_or_default();
        let who = self.who(&call).await?;
        let correction = Correction { id, version: r.version, mask: &r.update_mask, appeal: &appeal };
        let row = match service::update(&mut call.tx, &self.st.kit.outbox, &self.st.caches, &who, correction, call.now)
            .await?
        {
            Updated::Done(row) => *row,
            Updated::Stale => return Err(AppError::Stale(s::VERSION_MISMATCH.into())),
        };
        let today = self.today(&mut call.tx, call.principal.tenant_id).await?;
        call.commit().await?;
        Ok(Self::view(&who, &row, today))
    }

    async fn list_appeals(&self, req: Request<pb::ListAppealsRequest>) -> Res<pb::ListAppealsResponse> {
        let mut call = self.open(&req, Permission::Read).await?;
        let r = req.get_ref();
        let f = r.filter.clone().unwrap_or_default();
        let mut errs = Violations::new();
        let ff = |name: &str| format!("filter.{name}");
        for (i, st) in f.statuses.iter().enumerate() {
            if crate::appeals::domain::Status::parse(st).is_none() {
                errs.add(&format!("filter.statuses[{i}]"), s::STATUS_UNKNOWN);
            }
        }
        for (i, ch) in f.channels.iter().enumerate() {
            if crate::appeals::domain::Channel::parse(ch).is_none() {
                errs.add(&format!("filter.channels[{i}]"), s::CHANNEL_UNKNOWN);
            }
        }
        let mut id = |name: &str, v: &str| wire::opt_id(&ff(name), v, &mut errs);
        let federal_district_id = id("federal_district_id", &f.federal_district_id);
        let region_id = id("region_id", &f.region_id);
        let municipality_id = id("municipality_id", &f.municipality_id);
        let category_type_id = id("category_type_id", &f.category_type_id);
        let category_id = id("category_id", &f.category_id);
        let subcategory_id = id("subcategory_id", &f.subcategory_id);
        let executor_org_id = id("executor_org_id", &f.executor_org_id);
        let holder_id = id("holder_id", &f.holder_id);
        let from = convert::filter_date("filter.created_from", &f.created_from, &mut errs);
        let to = convert::filter_date("filter.created_to", &f.created_to, &mut errs);
        if let (Some(a), Some(b)) = (from, to)
            && b < a
        {
            errs.add("filter.created_to", s::DATE_RANGE_REVERSED);
        }
        let order = match opt_text(&r.order_by) {
            None => Some((Order::CreatedAt, true)),
            Some(o) => errs.check("order_by", Order::parse(o).ok_or_else(|| s::ORDER_UNKNOWN.to_string())),
        };
        errs.into_result()?;
        let (order, descending) = order.unwrap_or_default();
        let page = NumberedPage::parse(r.page, &r.page_token, r.page_size, 50, 500)?;
        let (page_number, page_size) = (page.number, page.size_i32());
        let empty =
            pb::ListAppealsResponse { rows: Vec::new(), total: 0, page: page_number, page_size, ..Default::default() };
        let org_scope = match call.extra.scope {
            Scope::Tenant => None,
            Scope::Org(o) => Some(o),
            Scope::Nothing => return Ok(empty),
        };
        let lock = match pb::LockFilter::try_from(f.lock).unwrap_or(pb::LockFilter::Unspecified) {
            pb::LockFilter::Unspecified => Lock::Any,
            pb::LockFilter::MineAndFree => Lock::MineAndFree,
            pb::LockFilter::Mine => Lock::Mine,
            pb::LockFilter::Free => Lock::Free,
        };
        let labels = |v: &[String]| -> Vec<String> {
            v.iter().map(|l| l.trim().to_string()).filter(|l| !l.is_empty()).collect()
        };
        let mut q = JournalQuery {
            tenant_id: call.principal.tenant_id,
            me: call.principal.account_id,
            org_scope,
            number: (f.number > 0).then_some(f.number),
            statuses: f.statuses.clone(),
            lock,
            name: search::query(&f.citizen_name),
            phone: convert::phone_query(&f.phone),
            text: Vec::new(),
            talked_before: convert::tri(f.talked_before),
            channels: f.channels.clone(),
            federal_district_id,
            region_id,
            municipality_id,
            address: opt_text(&search::fold(&f.address)).map(str::to_string),
            category_type_id,
            category_id,
            subcategory_id,
            created: Default::default(),
            labels_present: labels(&f.labels_present),
            labels_absent: labels(&f.labels_absent),
            source_id: opt_text(&f.source_id).map(str::to_string),
            urgent: convert::tri(f.urgent),
            executor_org_id,
            holder_id,
            last_executor_id: None,
            order,
            descending,
            limit: page.size,
            offset: page.offset(),
        };
        // S1-15: an executor's default journal is their own cards «В работе»;
        // the lock filter's default (S1-50) does not count as a choice.
        let chosen = pb::AppealFilter { lock: 0, ..f.clone() } != pb::AppealFilter::default();
        if r.default_view && !chosen && call.extra.roles.contains(&Role::Executor) {
            q.statuses = vec![crate::appeals::domain::Status::InWork.as_str().to_string()];
            q.last_executor_id = Some(call.principal.account_id);
        }
        if let Some(text) = opt_text(&f.text) {
            q.text = store::text_stems(&mut call.tx, text).await?;
        }
        q.created = period::dates(
            from,
            to,
            self.st.caches.time_zone(&mut call.tx, call.principal.tenant_id, self.st.default_tz).await?,
        );
        let (rows, total) = journal::list(&mut call.tx, &q, self.st.settings.journal_count_cap).await?;
        let (total, total_is_lower_bound) = match total {
            Total::Exact(n) => (n, false),
            Total::AtLeast(n) => (n, true),
        };
        let full = rows.len() as i64 == page.size;
        Ok(pb::ListAppealsResponse {
            rows: rows.iter().map(convert::journal_row).collect(),
            total,
            page: page_number,
            page_size,
            next_page_token: if total_is_lower_bound && full {
                (page.number + 1).to_string()
            } else {
                page.next_token(total)
            },
            total_is_lower_bound,
        })
    }

    async fn act_on_appeal(&self, req: Request<pb::ActOnAppealRequest>) -> Res<pb::Appeal> {
        let mut call = self.open(&req, Permission::Work).await?;
        let r = req.get_ref();
        let id = wire::id("id", &r.id)?;
        let mut step = convert::step(r)?;
        // S1-38: the solution's files are this appeal's files in the files service.
        if let Some(pb::act_on_appeal_request::Action::MarkDone(x)) = &r.action
            && !step.attachments.is_empty()
        {
            let field = ("mark_done.file_ids", x.file_ids.as_slice());
            self.st.files.name(call.bearer()?, id, field, &mut step.attachments).await?;
        }
        let mut lookups = Lookups::default();
        match &step.action {
            Action::Assign { executor } if !executor.is_nil() => {
                lookups.assignee = self.assignee(&call, *executor).await?;
            }
            Action::Route { org } if !org.is_nil() => lookups.route_org_name = self.org_name(&call, *org).await?,
            _ => {}
        }
        let who = self.who(&call).await?;
        let now = call.now;
        let today = self.today(&mut call.tx, call.principal.tenant_id).await?;
        if let Some(rid) = opt_text(&r.request_id)
            && store::claim_request(&mut call.tx, call.principal.tenant_id, rid, id, None, now).await?.is_some()
        {
            let row = service::visible(&mut call.tx, &who, Key::Id(id), false).await?;
            return Ok(Self::view(&who, &row, today));
        }
        let kind = step.action.kind();
        let row =
            service::act(&mut call.tx, &self.st.kit.outbox, &who, id, step, &lookups, When { now, today }).await?;
        call.commit().await?;
        tracing::info!(appeal_id = %id, action = kind.as_str(), status = %row.status, "appeal step");
        Ok(Self::view(&who, &row, today))
    }

    async fn add_appeal_comment(&self, req: Request<pb::AddAppealCommentRequest>) -> Res<pb::AppealTimelineEntry> {
        let mut call = self.open(&req, Permission::Work).await?;
        let r = req.get_ref();
        let appeal_id = wire::id("appeal_id", &r.appeal_id)?;
        let text = service::comment_text(&r.text)?;
        let mut errs = Violations::new();
        let mut attachments = convert::file_refs("file_ids", &r.file_ids, &mut errs);
        errs.into_result()?;
        if !attachments.is_empty() {
            let field = ("file_ids", r.file_ids.as_slice());
            self.st.files.name(call.bearer()?, appeal_id, field, &mut attachments).await?;
        }
        let who = self.who(&call).await?;
        let new = NewComment { appeal_id, text, attachments, request_id: opt_text(&r.request_id) };
        let entry = service::add_comment(&mut call.tx, &self.st.kit.outbox, &who, new, call.now).await?;
        let me = call.actor();
        call.commit().await?;
        Ok(convert::entry(&entry, Vec::new(), &me))
    }

    async fn edit_appeal_comment(&self, req: Request<pb::EditAppealCommentRequest>) -> Res<pb::AppealTimelineEntry> {
        let mut call = self.open(&req, Permission::Work).await?;
        let r = req.get_ref();
        let appeal_id = wire::id("appeal_id", &r.appeal_id)?;
        let comment_id = wire::id("comment_id", &r.comment_id)?;
        let text = service::comment_text(&r.text)?;
        let who = who(&call, String::new());
        let (entry, edits) =
            service::edit_comment(&mut call.tx, &self.st.kit.outbox, &who, (appeal_id, comment_id), text, call.now)
                .await?;
        let me = call.actor();
        call.commit().await?;
        Ok(convert::timeline(std::slice::from_ref(&entry), &edits, &me).remove(0))
    }

    async fn list_appeal_timeline(
        &self,
        req: Request<pb::ListAppealTimelineRequest>,
    ) -> Res<pb::ListAppealTimelineResponse> {
        let mut call = self.open(&req, Permission::Work).await?;
        let appeal_id = wire::id("appeal_id", &req.get_ref().appeal_id)?;
        let who = who(&call, String::new());
        service::visible(&mut call.tx, &who, Key::Id(appeal_id), false).await?;
        let rows = store::list_timeline(&mut call.tx, call.principal.tenant_id, appeal_id).await?;
        let ids: Vec<Uuid> = rows.iter().filter(|r| r.kind == "comment").map(|r| r.id).collect();
        let edits = store::list_edits(&mut call.tx, call.principal.tenant_id, &ids).await?;
        let entries = convert::timeline(&rows, &edits, &call.actor());
        let (entries, next_page_token) =
            opeka_platform::wire::slice(entries, req.get_ref().page_size, &req.get_ref().page_token)?;
        Ok(pb::ListAppealTimelineResponse { entries, next_page_token })
    }

    async fn get_journal_preferences(
        &self,
        req: Request<pb::GetJournalPreferencesRequest>,
    ) -> Res<pb::JournalPreferences> {
        let mut call = self.open(&req, Permission::Work).await?;
        let visible = store::preferences(&mut call.tx, call.principal.tenant_id, call.principal.account_id).await?;
        Ok(pb::JournalPreferences { visible_filters: visible.unwrap_or_default() })
    }

    async fn save_journal_preferences(
        &self,
        req: Request<pb::SaveJournalPreferencesRequest>,
    ) -> Res<pb::JournalPreferences> {
        let mut call = self.open(&req, Permission::Work).await?;
        let mut errs = Violations::new();
        let mut visible: Vec<String> = Vec::new();
        for (i, name) in req.get_ref().visible_filters.iter().enumerate() {
            let name = name.trim();
            if !convert::FILTER_FIELDS.contains(&name) {
                errs.add(&format!("visible_filters[{i}]"), s::FILTER_UNKNOWN);
            } else if !visible.iter().any(|v| v == name) {
                visible.push(name.to_string());
            }
        }
        errs.into_result()?;
        store::save_preferences(&mut call.tx, call.principal.tenant_id, call.principal.account_id, &visible, call.now)
            .await?;
        call.commit().await?;
        Ok(pb::JournalPreferences { visible_filters: visible })
    }

    async fn list_reference_nodes(
        &self,
        req: Request<pb::ListReferenceNodesRequest>,
    ) -> Res<pb::ListReferenceNodesResponse> {
        let mut call = self.open(&req, Permission::Read).await?;
        let r = req.get_ref();
        let tree = r.tree.trim();
        if service::tree_levels(tree).is_none() {
            return Err(AppError::invalid("tree", s::TREE_UNKNOWN));
        }
        let mut errs = Violations::new();
        let parent = wire::opt_id("parent_id", &r.parent_id, &mut errs);
        errs.into_result()?;
        let nodes = store::list_nodes(&mut call.tx, call.principal.tenant_id, tree, parent).await?;
        let (nodes, next_page_token) = opeka_platform::wire::slice(nodes, r.page_size, &r.page_token)?;
        Ok(pb::ListReferenceNodesResponse { nodes: nodes.iter().map(convert::node).collect(), next_page_token })
    }

    async fn import_reference_nodes(
        &self,
        req: Request<pb::ImportReferenceNodesRequest>,
    ) -> Res<pb::ImportReferenceNodesResponse> {
        let mut call = self.open(&req, Permission::Admin).await?;
        let r = req.get_ref();
        let tree = r.tree.trim();
        let levels = service::tree_levels(tree).ok_or_else(|| AppError::invalid("tree", s::TREE_UNKNOWN))?;
        let (created, updated) =
            service::import_nodes(&mut call.tx, call.principal.tenant_id, (tree, levels), &r.nodes, call.now).await?;
        call.commit().await?;
        self.st.caches.forget_nodes();
        tracing::info!(tree, created, updated, "reference nodes imported");
        Ok(pb::ImportReferenceNodesResponse { created, updated })
    }

    async fn get_appeal_options(&self, req: Request<pb::GetAppealOptionsRequest>) -> Res<pb::AppealOptions> {
        if !Standing::of(&auth::principal(&req)?).allows(Permission::Read) {
            return Err(denied());
        }
        Ok(convert::options())
    }

    async fn list_appeal_work_items(
        &self,
        req: Request<pb::ListAppealWorkItemsRequest>,
    ) -> Res<pb::ListAppealWorkItemsResponse> {
        super::work_items::list(&self.st, req).await
    }

    async fn mark_appeal_work_item_processed(
        &self,
        req: Request<pb::MarkAppealWorkItemProcessedRequest>,
    ) -> Res<pb::AppealWorkItem> {
        super::work_items::mark_processed(&self.st, req).await
    }
}

opeka_platform::grpc_handlers!(AppealsService for AppealsApi {
    create_appeal(pb::CreateAppealRequest) -> pb::Appeal;
    get_appeal(pb::GetAppealRequest) -> pb::Appeal;
    update_appeal(pb::UpdateAppealRequest) -> pb::Appeal;
    list_appeals(pb::ListAppealsRequest) -> pb::ListAppealsResponse;
    act_on_appeal(pb::ActOnAppealRequest) -> pb::Appeal;
    add_appeal_comment(pb::AddAppealCommentRequest) -> pb::AppealTimelineEntry;
    edit_appeal_comment(pb::EditAppealCommentRequest) -> pb::AppealTimelineEntry;
    list_appeal_timeline(pb::ListAppealTimelineRequest) -> pb::ListAppealTimelineResponse;
    get_journal_preferences(pb::GetJournalPreferencesRequest) -> pb::JournalPreferences;
    save_journal_preferences(pb::SaveJournalPreferencesRequest) -> pb::JournalPreferences;
    list_reference_nodes(pb::ListReferenceNodesRequest) -> pb::ListReferenceNodesResponse;
    import_reference_nodes(pb::ImportReferenceNodesRequest) -> pb::ImportReferenceNodesResponse;
    get_appeal_options(pb::GetAppealOptionsRequest) -> pb::AppealOptions;
    list_appeal_work_items(pb::ListAppealWorkItemsRequest) -> pb::ListAppealWorkItemsResponse;
    mark_appeal_work_item_processed(pb::MarkAppealWorkItemProcessedRequest) -> pb::AppealWorkItem;
});
