//! Calls to identity on the caller's behalf. The caller's own bearer token is
//! forwarded, so identity applies its rules too (a curator can read districts
//! and staff, create citizen accounts and manage their bot link codes; only an
//! admin deletes accounts). Districts and accounts live there, not here.
use std::time::Duration;

use opeka_platform::auth::Principal;
use opeka_platform::call::Bearer;
use opeka_platform::error::{AppError, FieldViolation};
use opeka_proto::identity::{self as pb, identity_service_client::IdentityServiceClient};
use tonic::transport::Channel;
use tonic::{Code, Status};
use uuid::Uuid;

use crate::registry::domain::CitizenDraft;
use crate::registry::strings as s;

pub(crate) const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// What identity says about a would-be curator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CuratorCheck {
    /// A live staff account with the curator role.
    Curator,
    /// Unknown, deleted, not staff, or without the curator role.
    NotACurator,
}

/// Answers kept for `cache_for` (`OPEKA_CASES__CACHE_SECONDS`): a caller's
/// full name and an organisation's name change rarely, and asking identity
/// twice on every intake was most of an intake's time (issue 11). Keys carry
/// the tenant; only names found are kept, so a new organisation is seen at once.
#[derive(Clone)]
pub struct Identity {
    channel: Channel,
    names: moka::sync::Cache<(Uuid, Uuid), String>,
    organisations: moka::sync::Cache<(Uuid, Uuid), String>,
}

impl Identity {
    pub fn new(channel: Channel, cache_for: Duration) -> Self {
        let cache = || moka::sync::Cache::builder().max_capacity(10_000).time_to_live(cache_for).build();
        Self { channel, names: cache(), organisations: cache() }
    }

    pub(crate) fn client(&self) -> IdentityServiceClient<Channel> {
        IdentityServiceClient::new(self.channel.clone())
    }

    /// Whether `id` is one of the tenant's districts.
    pub async fn district_exists(&self, bearer: &Bearer, id: Uuid) -> Result<bool, AppError> {
        let r = self.client().list_districts(bearer.request(pb::ListDistrictsRequest::default(), CALL_TIMEOUT)).await;
        let districts = r.map_err(from_status)?.into_inner().districts;
        Ok(districts.iter().any(|d| d.id == id.to_string()))
    }

    pub async fn check_curator(&self, bearer: &Bearer, id: Uuid) -> Result<CuratorCheck, AppError> {
        let r =
            self.client().get_account(bearer.request(pb::GetAccountRequest { id: id.to_string() }, CALL_TIMEOUT)).await;
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
        let a = self.client().create_citizen_account(bearer.request(req, CALL_TIMEOUT)).await.map_err(from_status)?;
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
        self.client().update_citizen_account(bearer.request(req, CALL_TIMEOUT)).await.map_err(from_status)?;
        Ok(())
    }

    pub async fn bot_link(&self, bearer: &Bearer, account: Uuid) -> Result<pb::BotLinkCode, AppError> {
        let req = pb::GetBotLinkCodeRequest { citizen_account_id: account.to_string() };
        Ok(self.client().get_bot_link_code(bearer.request(req, CALL_TIMEOUT)).await.map_err(from_status)?.into_inner())
    }

    pub async fn extend_bot_link(&self, bearer: &Bearer, account: Uuid) -> Result<pb::BotLinkCode, AppError> {
        let req = pb::ExtendBotLinkCodeRequest { citizen_account_id: account.to_string() };
        Ok(self
            .client()
            .extend_bot_link_code(bearer.request(req, CALL_TIMEOUT))
            .await
            .map_err(from_status)?
            .into_inner())
    }

    /// Deletes the citizen's account; an account already gone is fine.
    pub async fn delete_account(&self, bearer: &Bearer, account: Uuid) -> Result<(), AppError> {
        let req = pb::DeleteAccountRequest { id: account.to_string() };
        match self.client().delete_account(bearer.request(req, CALL_TIMEOUT)).await {
            Ok(_) => Ok(()),
            Err(st) if matches!(st.code(), Code::NotFound | Code::FailedPrecondition) => Ok(()),
            Err(st) => Err(from_status(st)),
        }
    }

    /// The caller's full name, for «Отредактировано: …» stamps and diary authors.
    pub async fn full_name(&self, caller: &Principal, bearer: &Bearer) -> Result<String, AppError> {
        let key = (caller.tenant_id, caller.account_id);
        if let Some(name) = self.names.get(&key) {
            return Ok(name);
        }
        let a =
            self.client().who_am_i(bearer.request(pb::WhoAmIRequest {}, CALL_TIMEOUT)).await.map_err(from_status)?;
        let a = a.into_inner();
        let name = crate::registry::domain::full_name(&a.surname, &a.name, &a.patronymic);
        self.names.insert(key, name.clone());
        Ok(name)
    }

    /// The name of the tenant's organisation `id`, if identity knows it.
    pub async fn organisation_name(&self, bearer: &Bearer, tenant: Uuid, id: Uuid) -> Result<Option<String>, AppError> {
        if let Some(name) = self.organisations.get(&(tenant, id)) {
            return Ok(Some(name));
        }
        let orgs = self.organisations(bearer, pb::OrganisationKind::Unspecified).await?;
        for o in &orgs {
            if let Ok(org) = o.id.parse() {
                self.organisations.insert((tenant, org), o.name.clone());
            }
        }
        Ok(orgs.into_iter().find(|o| o.id == id.to_string()).map(|o| o.name))
    }

    /// The tenant's organisations of `kind` (legal aid: its centres).
    pub async fn organisations(
        &self,
        bearer: &Bearer,
        kind: pb::OrganisationKind,
    ) -> Result<Vec<pb::Organisation>, AppError> {
        let req = pb::ListOrganisationsRequest { kind: kind as i32, ..Default::default() };
        let r = self.client().list_organisations(bearer.request(req, CALL_TIMEOUT)).await.map_err(from_status)?;
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
