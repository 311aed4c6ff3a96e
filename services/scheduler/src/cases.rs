//! Calls to cases on the caller's behalf, for a citizen card the scheduler
//! has not heard of through events yet (or whose bot activation has not
//! reached it). The caller's bearer token and tenant header are forwarded,
//! so cases applies its own rules too.
use std::time::Duration;

use chrono::{DateTime, Utc};

use opeka_platform::error::AppError;
use opeka_proto::cases::{self as pb, cases_service_client::CasesServiceClient};
use tonic::transport::Channel;
use tonic::{Code, Status};
use uuid::Uuid;

use crate::strings as s;

const CALL_TIMEOUT: Duration = Duration::from_secs(5);

pub use opeka_platform::call::Bearer;

/// What the scheduler needs of a card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CitizenCard {
    pub id: Uuid,
    pub account_id: Uuid,
    pub curator_id: Option<Uuid>,
    pub full_name: String,
    pub bot_activated: bool,
    /// As of when cases says so (the card's last change), comparable with
    /// the `occurred_at` of cases' events.
    pub as_of: Option<DateTime<Utc>>,
}

#[derive(Clone)]
pub struct Cases {
    channel: Channel,
}

impl Cases {
    pub fn new(channel: Channel) -> Self {
        Self { channel }
    }

    /// The card, or `None` when cases does not know it (or the caller may not see it).
    pub async fn citizen(&self, bearer: &Bearer, id: Uuid) -> Result<Option<CitizenCard>, AppError> {
        let r = bearer.request(pb::GetCitizenRequest { id: id.to_string() }, CALL_TIMEOUT);
        let c = match CasesServiceClient::new(self.channel.clone()).get_citizen(r).await {
            Ok(c) => c.into_inner(),
            Err(st) if st.code() == Code::NotFound => return Ok(None),
            Err(st) => return Err(from_status(st)),
        };
        let bad = |e: uuid::Error| AppError::internal(anyhow::anyhow!("cases returned a bad id: {e}"));
        Ok(Some(CitizenCard {
            id: c.id.parse().map_err(bad)?,
            account_id: c.account_id.parse().map_err(bad)?,
            curator_id: match c.curator_id.trim() {
                "" => None,
                v => Some(v.parse().map_err(bad)?),
            },
            full_name: c.full_name,
            bot_activated: c.bot_activated,
            as_of: c
                .updated_at
                .or(c.created_at)
                .and_then(|t| DateTime::from_timestamp(t.seconds, t.nanos.max(0) as u32)),
        }))
    }
}

/// Cases' refusal in the scheduler's words; an outage is UNAVAILABLE.
fn from_status(st: Status) -> AppError {
    let msg = st.message().to_string();
    match st.code() {
        Code::PermissionDenied => AppError::PermissionDenied(msg),
        Code::Unauthenticated => AppError::Unauthenticated(msg),
        Code::InvalidArgument => AppError::invalid("citizen_id", s::ID_INVALID),
        Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled | Code::Unknown => {
            tracing::warn!(code = ?st.code(), error = %msg, "cases call failed");
            AppError::Unavailable(s::CASES_UNAVAILABLE.into())
        }
        _ => AppError::internal(anyhow::anyhow!("cases: {st:?}")),
    }
}
