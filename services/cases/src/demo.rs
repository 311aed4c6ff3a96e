//! Cases' part of `opeka demo`: reference trees, legal aid's centre and routes,
//! sample appeals. Each runs the same service code as the gRPC handlers, in a
//! tenant transaction on the app pool, so the demo needs no running service.
//! Every call is idempotent: trees upsert by code, appeals carry a request id.
use std::collections::HashMap;

use chrono::Utc;
use opeka_platform::bus::Outbox;
use opeka_platform::db;
use opeka_platform::error::{AppError, Violations};
use opeka_proto::cases as pb;
use sqlx::PgPool;
use uuid::Uuid;

use crate::appeals::domain::Role;
use crate::appeals::service::{self, Intake, Scope, Who};
use crate::appeals::{convert, store};
use crate::kit::cache::Caches;
use crate::legal_aid::domain::{CentreDetails, RefKind};
use crate::legal_aid::{store as legal_aid_store, strings as legal_aid_text};

/// The tenant as the outbox's subjects name it.
#[derive(Debug, Clone, Copy)]
pub struct Tenant<'a> {
    pub id: Uuid,
    pub slug: &'a str,
}

/// Loads `nodes` into `tree` (`geography` | `topics`) as ImportReferenceNodes
/// does: all or nothing, upserting by code. Returns (created, updated).
pub async fn import_tree(
    pool: &PgPool,
    tenant: Tenant<'_>,
    tree: &str,
    nodes: &[pb::ReferenceNode],
) -> Result<(i32, i32), AppError> {
    let levels = service::tree_levels(tree).ok_or_else(|| AppError::invalid("tree", "unknown tree"))?;
    let mut tx = db::tenant_tx(pool, tenant.id).await?;
    let counts = service::import_nodes(&mut tx, tenant.id, (tree, levels), nodes, Utc::now()).await?;
    tx.commit().await?;
    Ok(counts)
}

/// The tree's node ids by code.
pub async fn node_ids(pool: &PgPool, tenant: Tenant<'_>, tree: &str) -> Result<HashMap<String, Uuid>, AppError> {
    let mut tx = db::tenant_tx(pool, tenant.id).await?;
    let nodes = store::list_nodes(&mut tx, tenant.id, tree, None).await?;
    Ok(nodes.into_iter().map(|n| (n.code, n.id)).collect())
}

/// A legal-aid centre (an identity organisation of kind `legal_aid_centre`).
pub struct Centre<'a> {
    pub id: Uuid,
    pub name: &'a str,
    pub details: CentreDetails,
}

/// Legal aid as an admin would set it up: the tenant's default lists (as on
/// its first legal-aid call), the centre with its details, the centre as the
/// fallback for online questions and as the route of `districts` (codes of
/// the district list, S2-33).
pub async fn legal_aid(
    pool: &PgPool,
    tenant: Tenant<'_>,
    centre: &Centre<'_>,
    districts: &[&str],
) -> Result<(), AppError> {
    let now = Utc::now();
    let mut tx = db::tenant_tx(pool, tenant.id).await?;
    legal_aid_store::ensure_tenant(&mut tx, tenant.id, tenant.slug, now).await?;
    // `on conflict do nothing`: entries the tenant edited stay as they are.
    legal_aid_store::insert_default_refs(&mut tx, tenant.id, legal_aid_text::DEFAULT_REFS, now).await?;
    legal_aid_store::upsert_centre_names(&mut tx, tenant.id, &[(centre.id, centre.name.to_string())], now).await?;
    legal_aid_store::update_centre(&mut tx, tenant.id, centre.id, &centre.details, now).await?;
    legal_aid_store::set_fallback_centre(&mut tx, tenant.id, centre.id, now).await?;
    let refs = legal_aid_store::refs(&mut tx, tenant.id).await?;
    let mut errs = Violations::new();
    for (i, d) in districts.iter().enumerate() {
        if !refs.iter().any(|e| e.kind == RefKind::District && e.code == *d) {
            errs.add(&format!("districts[{i}]"), legal_aid_text::UNKNOWN_CODE);
        }
    }
    errs.into_result()?;
    for d in districts {
        legal_aid_store::set_route(&mut tx, tenant.id, d, Some(centre.id), now, "system").await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Who brings the demo's appeals in: a moderator's account.
pub struct Author<'a> {
    pub id: Uuid,
    pub name: &'a str,
}

/// Intake as CreateAppeal does it (the request's checks, the references
/// resolved against the trees, number, timeline line, `appeal_created` in
/// the outbox), routed to `org`. A request id seen before returns that
/// card. Returns the card's number.
pub async fn create_appeal(
    pool: &PgPool,
    outbox: &Outbox,
    tenant: Tenant<'_>,
    author: &Author<'_>,
    org: (Uuid, &str),
    req: &pb::CreateAppealRequest,
) -> Result<i64, AppError> {
    let mut errs = Violations::new();
    let fields = convert::fields(req, &mut errs);
    errs.into_result()?;
    let fields = fields.ok_or_else(|| AppError::internal(anyhow::anyhow!("intake fields without violations")))?;
    let who = Who {
        tenant_id: tenant.id,
        tenant_slug: tenant.slug.to_string(),
        id: author.id,
        name: author.name.to_string(),
        roles: vec![Role::Moderator],
        org: None,
        scope: Scope::Tenant,
    };
    let request_id = req.request_id.trim();
    let intake = Intake {
        fields,
        executor_org: Some((org.0, org.1.to_string())),
        request_id: (!request_id.is_empty()).then_some(request_id),
    };
    // The demo runs once, outside a serving replica: nothing to keep.
    let caches = Caches::new(std::time::Duration::ZERO);
    caches.register_appeal_tenant(pool, tenant.id, tenant.slug).await?;
    let mut tx = db::tenant_tx(pool, tenant.id).await?;
    let row = service::create(&mut tx, outbox, &caches, &who, intake, Utc::now()).await?;
    outbox.commit(tx).await?;
    Ok(row.number)
}
