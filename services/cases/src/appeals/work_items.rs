//! The executors' work queue (issue 5 point 2): the items `service::act` leaves when a card comes
//! back to an executor, listed for their recipients and marked «Обработано». `api.rs` delegates here.
use opeka_platform::auth::Principal;
use opeka_platform::error::AppError;
use opeka_platform::wire::{self, opt_uuid, ts};
use opeka_proto::cases as pb;
use tonic::Request;

use super::store::{self, WorkItemView, WorkItemsFor};
use super::strings as s;
use crate::State;
use crate::appeals::domain::{Role, WorkItem};

/// Kept here rather than in `strings.rs`: only this module speaks of the queue's items.
const ITEM_NOT_FOUND: &str = "Задача не найдена";

const KINDS: [WorkItem; 5] = [
    WorkItem::PostponedDue,
    WorkItem::ReturnedForRework,
    WorkItem::ReturnedFromRereview,
    WorkItem::ReturnedFromSupport,
    WorkItem::ReturnedFromFederal,
];

/// Whose items the caller sees, and the role that lets them: supervisors and admins the tenant's,
/// an executor theirs and their organisation's; nobody else any.
fn whom(p: &Principal) -> Result<(WorkItemsFor, Role), AppError> {
    if p.has_role("admin") {
        Ok((WorkItemsFor::All, Role::Admin))
    } else if p.has_role("supervisor") {
        Ok((WorkItemsFor::All, Role::Supervisor))
    } else if p.has_role("executor") {
        Ok((WorkItemsFor::Executor { id: p.account_id, org: p.organisation_id }, Role::Executor))
    } else {
        Err(AppError::PermissionDenied(s::PERMISSION_DENIED.into()))
    }
}

fn item(w: &WorkItemView) -> pb::AppealWorkItem {
    let label = KINDS.iter().find(|k| k.as_str() == w.kind).map_or_else(|| w.summary.clone(), |k| k.label().into());
    pb::AppealWorkItem {
        id: w.id.to_string(),
        appeal_id: w.appeal_id.to_string(),
        appeal_number: w.appeal_number,
        kind: w.kind.clone(),
        kind_label: label,
        summary: w.summary.clone(),
        created_at: Some(ts(w.created_at)),
        processed_at: w.processed_at.map(ts),
        processed_by_name: w.processed_by.clone().unwrap_or_default(),
        executor_id: opt_uuid(w.executor_id),
        org_id: opt_uuid(w.org_id),
    }
}

/// ListAppealWorkItems: newest first, the waiting ones unless `include_processed`.
pub async fn list(
    st: &State,
    req: Request<pb::ListAppealWorkItemsRequest>,
) -> Result<pb::ListAppealWorkItemsResponse, AppError> {
    let mut call = st.kit.open(&req).await?;
    let (whom, _) = whom(&call.principal)?;
    let r = req.get_ref();
    let page = opeka_platform::wire::NumberedPage::parse(r.page, &r.page_token, r.page_size, 50, 500)?;
    let window = (page.size, page.offset());
    let tenant = call.principal.tenant_id;
    let (rows, total, unprocessed) =
        store::list_work_items(&mut call.tx, tenant, whom, r.include_processed, window).await?;
    let next_page_token = page.next_token(total);
    Ok(pb::ListAppealWorkItemsResponse { items: rows.iter().map(item).collect(), total, unprocessed, next_page_token })
}

/// MarkAppealWorkItemProcessed: the recipient (an executor it is addressed to, or one of the
/// organisation it is addressed to), a supervisor or an admin. An item processed before comes back
/// as it was processed; one the caller does not see is NOT_FOUND.
pub async fn mark_processed(
    st: &State,
    req: Request<pb::MarkAppealWorkItemProcessedRequest>,
) -> Result<pb::AppealWorkItem, AppError> {
    let mut call = st.kit.open(&req).await?;
    let (whom, role) = whom(&call.principal)?;
    let id = wire::id("id", &req.get_ref().id)?;
    let name = st.identity.full_name(&call.principal, call.bearer()?).await?;
    let name = if name.trim().is_empty() { role.label().to_string() } else { name };
    let tenant = call.principal.tenant_id;
    let found = store::lock_work_item(&mut call.tx, tenant, whom, id).await?;
    let mut w = found.ok_or_else(|| AppError::NotFound(ITEM_NOT_FOUND.into()))?;
    if w.processed_at.is_none() {
        let now = call.now;
        store::mark_work_item_processed(&mut call.tx, tenant, id, &name, now).await?;
        call.commit().await?;
        tracing::info!(work_item_id = %id, appeal_id = %w.appeal_id, "appeal work item processed");
        w.processed_at = Some(now);
        w.processed_by = Some(name);
    }
    Ok(item(&w))
}
