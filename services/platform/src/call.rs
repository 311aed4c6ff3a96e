//! The per-call unit of work every gRPC handler opens (issue 10 point 1; the
//! idea of svix's `Permissions` extractor): the verified caller, their
//! tenant transaction, the time of the call, and the outbox and audit log
//! written in that transaction. Services keep their own permission enum and
//! put domain extras (tenant settings, the caller's standing) in `extra`.
use std::sync::Arc;

use chrono::{DateTime, Utc};
use opeka_proto::events::envelope::Body;
use sqlx::PgPool;
use tonic::Request;
use tonic::metadata::{AsciiMetadataValue, MetadataMap};
use uuid::Uuid;

use crate::auth::{self, AuthError, Principal, TENANT_HEADER};
use crate::bus::Outbox;
use crate::clock::SharedClock;
use crate::db::{self, Tx};
use crate::error::AppError;

/// What a service needs to open calls: its pool, its outbox and its clock.
#[derive(Clone)]
pub struct Kit {
    pub pool: PgPool,
    pub outbox: Arc<Outbox>,
    pub clock: SharedClock,
}

impl Kit {
    pub fn new(pool: PgPool, outbox: Outbox, clock: SharedClock) -> Self {
        Self { pool, outbox: Arc::new(outbox), clock }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Authenticates `req` and opens the caller's tenant transaction.
    pub async fn open<T>(&self, req: &Request<T>) -> Result<Call, AppError> {
        let principal = auth::principal(req)?;
        let bearer = Bearer::of(req.metadata()).ok();
        self.open_as(principal, bearer).await
    }

    /// As `open`, refused with `denied` unless `allowed` says yes, before
    /// any transaction is opened.
    pub async fn open_if<T>(
        &self,
        req: &Request<T>,
        allowed: impl FnOnce(&Principal) -> bool,
        denied: impl FnOnce() -> AppError,
    ) -> Result<Call, AppError> {
        let principal = auth::principal(req)?;
        if !allowed(&principal) {
            return Err(denied());
        }
        let bearer = Bearer::of(req.metadata()).ok();
        self.open_as(principal, bearer).await
    }

    /// A call for a caller already authenticated (a bot turn, a job acting
    /// for a service account).
    pub async fn open_as(&self, principal: Principal, bearer: Option<Bearer>) -> Result<Call, AppError> {
        let outbox_mark = self.outbox.mark();
        let tx = db::tenant_tx(&self.pool, principal.tenant_id).await?;
        Ok(Call { principal, bearer, tx, now: self.now(), outbox: self.outbox.clone(), outbox_mark, extra: () })
    }
}

/// One call's unit of work. Nothing it wrote is kept unless `commit` is
/// called: an error returned with `?` rolls the transaction back.
pub struct Call<X = ()> {
    pub principal: Principal,
    /// The caller's own headers, forwarded when this call asks another
    /// service on their behalf (that service applies its own rules too).
    pub bearer: Option<Bearer>,
    pub tx: Tx,
    /// The time of the call, read once.
    pub now: DateTime<Utc>,
    outbox: Arc<Outbox>,
    /// The outbox's count when the call opened: events written in its
    /// transaction (through `emit` or the shared outbox directly) move it,
    /// and `commit` then wakes the relay.
    outbox_mark: u64,
    pub extra: X,
}

impl<X> Call<X> {
    /// The audit log's and events' actor: the caller's account id.
    pub fn actor(&self) -> String {
        self.principal.account_id.to_string()
    }

    pub fn tenant_id(&self) -> Uuid {
        self.principal.tenant_id
    }

    pub fn has_role(&self, role: &str) -> bool {
        self.principal.has_role(role)
    }

    /// The same call carrying `extra` instead.
    pub fn with<Y>(self, extra: Y) -> Call<Y> {
        Call {
            principal: self.principal,
            bearer: self.bearer,
            tx: self.tx,
            now: self.now,
            outbox: self.outbox,
            outbox_mark: self.outbox_mark,
            extra,
        }
    }

    /// The caller's headers to forward, or `UNAUTHENTICATED`.
    pub fn bearer(&self) -> Result<&Bearer, AppError> {
        self.bearer.as_ref().ok_or_else(|| AuthError::Missing.into())
    }

    /// Queues `body` as an event of the caller's tenant, published once the
    /// transaction commits.
    pub async fn emit(&mut self, body: Body) -> Result<(), AppError> {
        let envelope = crate::bus::envelope(self.principal.tenant_id, &self.actor(), self.now, body);
        self.outbox.enqueue(&mut self.tx, &self.principal.tenant_slug, &envelope).await?;
        Ok(())
    }

    /// Queues several events in one statement.
    pub async fn emit_all(&mut self, bodies: impl IntoIterator<Item = Body>) -> Result<(), AppError> {
        let actor = self.actor();
        let (tenant, now) = (self.principal.tenant_id, self.now);
        let envelopes: Vec<_> = bodies.into_iter().map(|b| crate::bus::envelope(tenant, &actor, now, b)).collect();
        self.outbox.enqueue_many(&mut self.tx, &self.principal.tenant_slug, &envelopes).await?;
        Ok(())
    }

    /// Appends an audit entry in the same transaction.
    pub async fn audit(
        &mut self,
        action: &str,
        entity: &str,
        entity_id: impl ToString,
        details: serde_json::Value,
    ) -> Result<(), AppError> {
        let actor = self.actor();
        let entry = crate::audit::Entry {
            tenant_id: self.principal.tenant_id,
            actor_id: &actor,
            action,
            entity,
            entity_id: entity_id.to_string(),
            details,
            at: self.now,
        };
        crate::audit::record(&mut self.tx, entry).await?;
        Ok(())
    }

    /// Commits, then wakes the outbox relay of this process if events were
    /// written, so they leave at once rather than at the next poll.
    pub async fn commit(self) -> Result<(), AppError> {
        self.tx.commit().await?;
        self.outbox.wake_if_enqueued_since(self.outbox_mark);
        Ok(())
    }
}

/// The caller's `authorization` (and `x-opeka-tenant`) headers, forwarded
/// as they came.
#[derive(Clone, Debug)]
pub struct Bearer {
    authorization: AsciiMetadataValue,
    tenant: Option<AsciiMetadataValue>,
}

impl Bearer {
    pub fn of(metadata: &MetadataMap) -> Result<Self, AppError> {
        let authorization = metadata.get("authorization").cloned().ok_or(AuthError::Missing)?;
        Ok(Self { authorization, tenant: metadata.get(TENANT_HEADER).cloned() })
    }

    /// A request carrying these headers and the trace context, with `timeout`.
    pub fn request<T>(&self, message: T, timeout: std::time::Duration) -> Request<T> {
        let mut r = Request::new(message);
        r.metadata_mut().insert("authorization", self.authorization.clone());
        if let Some(t) = &self.tenant {
            r.metadata_mut().insert(TENANT_HEADER, t.clone());
        }
        crate::telemetry::inject_metadata(r.metadata_mut());
        r.set_timeout(timeout);
        r
    }
}

/// Implements a tonic service trait by forwarding every unary method to the
/// service's inherent method of the same name, which returns
/// `Result<Message, AppError>`: errors become a `Status` once, here (issue 10
/// point 2; quickwit's `convert_to_grpc_result`). A streaming response's
/// associated type is written out after the list.
///
/// ```ignore
/// opeka_platform::grpc_handlers!(pb::scheduler_service_server::SchedulerService for Api {
///     get_series(pb::GetSeriesRequest) -> pb::Series;
/// });
/// ```
#[macro_export]
macro_rules! grpc_handlers {
    ($service:ident for $api:ty { $( $method:ident($request:ty) -> $response:ty; )* } $($rest:tt)*) => {
        #[tonic::async_trait]
        impl $service for $api {
            $(
                async fn $method(
                    &self,
                    request: tonic::Request<$request>,
                ) -> Result<tonic::Response<$response>, tonic::Status> {
                    <$api>::$method(self, request).await.map(tonic::Response::new).map_err(tonic::Status::from)
                }
            )*
            $($rest)*
        }
    };
}
