//! Calls to identity on the caller's behalf. The caller's own bearer token is
//! forwarded, so identity applies its rules too (a curator can read districts
//! and staff, create citizen accounts and manage their bot link codes; only an
//! admin deletes accounts). Districts and accounts live there, not here.
use std::time::Duration;

use opeka_platform::error::{AppError, FieldViolation};
use opeka_proto::identity::{self as pb, identity_service_client::IdentityServiceClient};
use tonic::metadata::{AsciiMetadataValue, MetadataMap};
use tonic::transport::Channel;
use tonic::{Code, Request, Status};
use uuid::Uuid;

use crate::domain::CitizenDraft;
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

/// What identity says about a would-be curator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CuratorCheck {
    /// A live staff account with the curator role.
    Curator,
    /// Unknown, deleted, not staff, or without the curator role.
    NotACurator,
}

#[derive(Clone)]
pub struct Identity {
    channel: Channel,
}

impl Identity {
    pub fn new(channel: Channel) -> Self {
        Self { channel }
    }

    pub(crate) fn client(&self) -> IdentityServiceClient<Channel> {
        IdentityServiceClient::new(self.channel.clone())
    }

    pub(crate) fn request<T>(&self, bearer: &Bearer, msg: T) -> Request<T> {
        let mut r = Request::new(msg);
        r.metadata_mut().insert("authorization", bearer.0.clone());
        opeka_platform::telemetry::inject_metadata(r.metadata_mut());
        r.set_timeout(CALL_TIMEOUT);
        r
    }

    /// Whether `id` is one of the tenant's districts.
    pub async fn district_exists(&self, bearer: &Bearer, id: Uuid) -> Result<bool, AppError> {
        let r = self.client().list_districts(self.request(bearer, pb::ListDistrictsRequest::default())).await;
        let districts = r.map_err(from_status)?.into_inner().districts;
        Ok(districts.iter().any(|d| d.id == id.to_string()))
    }

    pub async fn check_curator(&self, bearer: &Bearer, id: Uuid) -> Result<CuratorCheck, AppError> {
        let r = self.client().get_account(self.request(bearer, pb::GetAccountRequest { id: id.to_string() })).await;
        let a = match r {
            Ok(a) => a.into_inner(),
            Err(st) if st.code() == Code::NotFound => return Ok(CuratorCheck::NotACurator),
            Err(st) => return Err(from_status(st)),
        };
        let live = a.kind == pb::AccountKind::Staff as i32
            && a.status != pb::AccountStatus::Deleted as i32
            && a.deleted_at.is_none()
            && a.roles.contains(&(pb::Role::Curator as i32));
        Ok(if live { CuratorCheck::Curator } else { CuratorCheck::NotACurator })
    }

    /// Creates the citizen's account (identity also issues its bot link code).
    /// `request_id` makes the call idempotent: a retry with the same id gets
    /// the account the first call created instead of a second one.
    pub async fn create_citizen_account(
        &self,
        bearer: &Bearer,
        d: &CitizenDraft,
        request_id: Uuid,
    ) -> Result<Uuid, AppError> {
        let req = pb::CreateCitizenAccountRequest {
            surname: d.surname.clone(),
            name: d.name.clone(),
            patronymic: d.patronymic.clone(),
            phone: d.phone.as_str().to_string(),
            email: d.email.as_ref().map(|e| e.as_str().to_string()).unwrap_or_default(),
            request_id: request_id.to_string(),
        };
        let a = self.client().create_citizen_account(self.request(bearer, req)).await.map_err(from_status)?;
        a.into_inner().id.parse().map_err(|e| AppError::internal(anyhow::anyhow!("identity returned a bad id: {e}")))
    }

    /// Brings identity's copy of the citizen's name and contacts in step with the card.
    pub async fn update_citizen_account(
        &self,
        bearer: &Bearer,
        account: Uuid,
        d: &CitizenDraft,
    ) -> Result<(), AppError> {
        let req = pb::UpdateCitizenAccountRequest {
            id: account.to_string(),
            surname: d.surname.clone(),
            name: d.name.clone(),
            patronymic: d.patronymic.clone(),
            phone: d.phone.as_str().to_string(),
            email: d.email.as_ref().map(|e| e.as_str().to_string()).unwrap_or_default(),
        };
        self.client().update_citizen_account(self.request(bearer, req)).await.map_err(from_status)?;
        Ok(())
    }

    pub async fn bot_link(&self, bearer: &Bearer, account: Uuid) -> Result<pb::BotLinkCode, AppError> {
        let req = pb::GetBotLinkCodeRequest { citizen_account_id: account.to_string() };
        Ok(self.client().get_bot_link_code(self.request(bearer, req)).await.map_err(from_status)?.into_inner())
    }

    pub async fn extend_bot_link(&self, bearer: &Bearer, account: Uuid) -> Result<pb::BotLinkCode, AppError> {
        let req = pb::ExtendBotLinkCodeRequest { citizen_account_id: account.to_string() };
        Ok(self.client().extend_bot_link_code(self.request(bearer, req)).await.map_err(from_status)?.into_inner())
    }

    /// Deletes the citizen's account; an account already gone is fine.
    pub async fn delete_account(&self, bearer: &Bearer, account: Uuid) -> Result<(), AppError> {
        let req = pb::DeleteAccountRequest { id: account.to_string() };
        match self.client().delete_account(self.request(bearer, req)).await {
            Ok(_) => Ok(()),
            Err(st) if matches!(st.code(), Code::NotFound | Code::FailedPrecondition) => Ok(()),
            Err(st) => Err(from_status(st)),
        }
    }

    /// The caller's full name, for «Отредактировано: …» stamps and diary authors.
    pub async fn full_name(&self, bearer: &Bearer) -> Result<String, AppError> {
        let a = self.client().who_am_i(self.request(bearer, pb::WhoAmIRequest {})).await.map_err(from_status)?;
        let a = a.into_inner();
        Ok(crate::domain::full_name(&a.surname, &a.name, &a.patronymic))
    }

    /// The tenant's organisations of `kind` (legal aid: its centres).
    pub async fn organisations(
        &self,
        bearer: &Bearer,
        kind: pb::OrganisationKind,
    ) -> Result<Vec<pb::Organisation>, AppError> {
        let req = pb::ListOrganisationsRequest { kind: kind as i32, ..Default::default() };
        let r = self.client().list_organisations(self.request(bearer, req)).await.map_err(from_status)?;
        Ok(r.into_inner().organisations)
    }
}

/// Identity's answer in cases' vocabulary: its field violations pass through
/// (the citizen fields have the same names); an outage is UNAVAILABLE.
pub(crate) fn from_status(st: Status) -> AppError {
    let msg = st.message().to_string();
    match st.code() {
        Code::InvalidArgument => {
            let v = opeka_platform::error::violations(&st);
            if v.is_empty() { AppError::Invalid(vec![FieldViolation::new("", msg)]) } else { AppError::Invalid(v) }
        }
        Code::NotFound => AppError::NotFound(msg),
        Code::AlreadyExists => AppError::AlreadyExists(msg),
        Code::FailedPrecondition => AppError::FailedPrecondition(msg),
        Code::PermissionDenied => AppError::PermissionDenied(msg),
        Code::Unauthenticated => AppError::Unauthenticated(msg),
        Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled | Code::Unknown => {
            tracing::warn!(code = ?st.code(), error = %msg, "identity call failed");
            AppError::Unavailable(s::IDENTITY_UNAVAILABLE.into())
        }
        _ => AppError::internal(anyhow::anyhow!("identity: {st:?}")),
    }
}
