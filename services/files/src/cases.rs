//! Calls to cases on the caller's behalf: whether cases shows the caller an
//! appeal, before any of that appeal's files is stored or read. The caller's
//! own bearer token is forwarded (as cases does towards identity), so the
//! answer is cases' own rule: an executor sees the cards of their
//! organisation, the other workflow roles the tenant's.
use std::time::Duration;

use opeka_platform::error::AppError;
use opeka_proto::cases::{GetAppealRequest, appeals_service_client::AppealsServiceClient};
use tonic::metadata::{AsciiMetadataValue, MetadataMap};
use tonic::transport::Channel;
use tonic::{Code, Request};
use uuid::Uuid;

use crate::strings as s;

const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// The caller's `authorization` header, forwarded as is.
#[derive(Clone)]
pub struct Bearer(AsciiMetadataValue);

impl Bearer {
    pub fn of(metadata: &MetadataMap) -> Result<Self, AppError> {
        metadata
            .get("authorization")
            .cloned()
            .map(Self)
            .ok_or_else(|| AppError::Unauthenticated(opeka_platform::auth::AuthError::Missing.to_string()))
    }
}

#[derive(Clone)]
pub struct Cases {
    channel: Channel,
}

impl Cases {
    pub fn new(channel: Channel) -> Self {
        Self { channel }
    }

    /// Whether cases shows the bearer appeal `id`. A card that does not exist
    /// and one the caller may not see are the same `false`, so nobody learns
    /// of another organisation's cards through files.
    pub async fn sees_appeal(&self, bearer: &Bearer, id: Uuid) -> Result<bool, AppError> {
        let mut req = Request::new(GetAppealRequest { id: id.to_string(), number: 0 });
        req.metadata_mut().insert("authorization", bearer.0.clone());
        opeka_platform::telemetry::inject_metadata(req.metadata_mut());
        req.set_timeout(CALL_TIMEOUT);
        match AppealsServiceClient::new(self.channel.clone()).get_appeal(req).await {
            Ok(_) => Ok(true),
            Err(st) if matches!(st.code(), Code::NotFound | Code::PermissionDenied | Code::InvalidArgument) => {
                Ok(false)
            }
            Err(st) if st.code() == Code::Unauthenticated => Err(AppError::Unauthenticated(st.message().to_string())),
            Err(st) => {
                tracing::warn!(code = ?st.code(), error = %st.message(), appeal_id = %id, "cases call failed");
                Err(AppError::Unavailable(s::CASES_UNAVAILABLE.into()))
            }
        }
    }
}
