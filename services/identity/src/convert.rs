//! Wire ↔ domain conversions for identity, so handlers stay short.
use opeka_proto::identity as pb;
use uuid::Uuid;

use crate::domain::Role;
use crate::store::{AccountRow, DistrictRow, LinkCodeRow, OrganisationRow};

pub use opeka_platform::wire::ts;

pub fn opt_uuid(v: &Option<Uuid>) -> String {
    v.map(|u| u.to_string()).unwrap_or_default()
}

impl From<&AccountRow> for pb::Account {
    fn from(a: &AccountRow) -> Self {
        pb::Account {
            id: a.id.to_string(),
            tenant_id: a.tenant_id.to_string(),
            kind: match a.kind.as_str() {
                "staff" => pb::AccountKind::Staff,
                "citizen" => pb::AccountKind::Citizen,
                "service" => pb::AccountKind::Service,
                _ => pb::AccountKind::Unspecified,
            } as i32,
            status: match a.status.as_str() {
                "active" => pb::AccountStatus::Active,
                "pending_activation" => pb::AccountStatus::PendingActivation,
                "deleted" => pb::AccountStatus::Deleted,
                _ => pb::AccountStatus::Unspecified,
            } as i32,
            roles: a.roles.iter().filter_map(|r| Role::parse(r)).map(|r| r.to_pb() as i32).collect(),
            login: a.login.clone().unwrap_or_default(),
            surname: a.surname.clone(),
            name: a.name.clone(),
            patronymic: a.patronymic.clone(),
            email: a.email.clone().unwrap_or_default(),
            phone: a.phone.clone().unwrap_or_default(),
            telegram_username: a.telegram_username.clone().unwrap_or_default(),
            district_id: opt_uuid(&a.district_id),
            organisation_id: opt_uuid(&a.organisation_id),
            created_at: Some(ts(a.created_at)),
            updated_at: Some(ts(a.updated_at)),
            deleted_at: a.deleted_at.map(ts),
            bot_linked: a.telegram_chat_id.is_some(),
            client_id: a.client_id.clone().unwrap_or_default(),
        }
    }
}

pub fn org_kind_str(k: i32) -> Option<&'static str> {
    Some(match pb::OrganisationKind::try_from(k).ok()? {
        pb::OrganisationKind::Unspecified => return None,
        pb::OrganisationKind::Agency => "agency",
        pb::OrganisationKind::ExecutiveBody => "executive_body",
        pb::OrganisationKind::Municipality => "municipality",
        pb::OrganisationKind::LegalAidCentre => "legal_aid_centre",
        pb::OrganisationKind::Provider => "provider",
    })
}

fn org_kind_pb(s: &str) -> pb::OrganisationKind {
    match s {
        "agency" => pb::OrganisationKind::Agency,
        "executive_body" => pb::OrganisationKind::ExecutiveBody,
        "municipality" => pb::OrganisationKind::Municipality,
        "legal_aid_centre" => pb::OrganisationKind::LegalAidCentre,
        "provider" => pb::OrganisationKind::Provider,
        _ => pb::OrganisationKind::Unspecified,
    }
}

impl From<&OrganisationRow> for pb::Organisation {
    fn from(o: &OrganisationRow) -> Self {
        pb::Organisation {
            id: o.id.to_string(),
            name: o.name.clone(),
            kind: org_kind_pb(&o.kind) as i32,
            parent_id: opt_uuid(&o.parent_id),
            created_at: Some(ts(o.created_at)),
        }
    }
}

impl From<&DistrictRow> for pb::District {
    fn from(d: &DistrictRow) -> Self {
        pb::District { id: d.id.to_string(), name: d.name.clone() }
    }
}

impl From<&LinkCodeRow> for pb::BotLinkCode {
    fn from(l: &LinkCodeRow) -> Self {
        pb::BotLinkCode {
            citizen_account_id: l.citizen_account_id.to_string(),
            code: l.code.clone(),
            expires_at: Some(ts(l.expires_at)),
            redeemed: l.redeemed_at.is_some(),
            redeemed_at: l.redeemed_at.map(ts),
        }
    }
}
