//! Calls to cases on the caller's behalf: whether cases shows the caller an
//! appeal, before any of that appeal's files is stored or read. The caller's
//! own bearer token is forwarded (as cases does towards identity), so the
//! answer is cases' own rule: an executor sees the cards of their
//! organisation, the other workflow roles the tenant's.
use std::time::Duration;

use opeka_platform::error::AppError;
use opeka_proto::cases::{GetAppealRequest, appeals_service_client::AppealsServiceClient};
use tonic::Code;
use tonic::transport::Channel;
use uuid::Uuid;

use crate::strings as s;

const CALL_TIMEOUT: Duration = Duration::from_secs(5);

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
    pub async fn sees_appeal(&self, bearer: &opeka_platform::call::Bearer, id: Uuid) -> Result<bool, AppError> {
        let req = bearer.request(GetAppealRequest { id: id.to_string(), number: 0 }, CALL_TIMEOUT);
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
