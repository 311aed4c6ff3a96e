//! Identity's types and rules: parsed values, roles and the role → permission
//! table. No I/O here.
pub mod values;

pub use values::*;

use opeka_proto::identity as pb;

/// Staff and machine roles. Names are the strings stored and put in tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Admin,
    Curator,
    Executor,
    Moderator,
    Supervisor,
    Consultant,
    Provider,
    SocialWorker,
    Analyst,
    Citizen,
    Integration,
    Bot,
}

impl Role {
    pub const STAFF: [Role; 9] = [
        Role::Admin,
        Role::Curator,
        Role::Executor,
        Role::Moderator,
        Role::Supervisor,
        Role::Consultant,
        Role::Provider,
        Role::SocialWorker,
        Role::Analyst,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Curator => "curator",
            Role::Executor => "executor",
            Role::Moderator => "moderator",
            Role::Supervisor => "supervisor",
            Role::Consultant => "consultant",
            Role::Provider => "provider",
            Role::SocialWorker => "social_worker",
            Role::Analyst => "analyst",
            Role::Citizen => "citizen",
            Role::Integration => "integration",
            Role::Bot => "bot",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        [Role::Citizen, Role::Integration, Role::Bot].into_iter().chain(Role::STAFF).find(|r| r.as_str() == s)
    }

    pub fn from_pb(v: i32) -> Option<Role> {
        Some(match pb::Role::try_from(v).ok()? {
            pb::Role::Unspecified => return None,
            pb::Role::Admin => Role::Admin,
            pb::Role::Curator => Role::Curator,
            pb::Role::Executor => Role::Executor,
            pb::Role::Moderator => Role::Moderator,
            pb::Role::Supervisor => Role::Supervisor,
            pb::Role::Consultant => Role::Consultant,
            pb::Role::Provider => Role::Provider,
            pb::Role::SocialWorker => Role::SocialWorker,
            pb::Role::Analyst => Role::Analyst,
            pb::Role::Citizen => Role::Citizen,
            pb::Role::Integration => Role::Integration,
            pb::Role::Bot => Role::Bot,
        })
    }

    pub fn to_pb(self) -> pb::Role {
        match self {
            Role::Admin => pb::Role::Admin,
            Role::Curator => pb::Role::Curator,
            Role::Executor => pb::Role::Executor,
            Role::Moderator => pb::Role::Moderator,
            Role::Supervisor => pb::Role::Supervisor,
            Role::Consultant => pb::Role::Consultant,
            Role::Provider => pb::Role::Provider,
            Role::SocialWorker => pb::Role::SocialWorker,
            Role::Analyst => pb::Role::Analyst,
            Role::Citizen => pb::Role::Citizen,
            Role::Integration => pb::Role::Integration,
            Role::Bot => pb::Role::Bot,
        }
    }
}

/// What a caller may do in identity. Checked here, in the service that owns
/// the data; the gateway only hides what is not allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    ReadReference,
    ManageReference,
    ReadStaff,
    ManageStaff,
    ManageCitizenAccounts,
    ManageBotLinks,
    RedeemBotLinks,
    ManageServiceAccounts,
    ReadAudit,
}

pub fn role_allows(role: Role, p: Permission) -> bool {
    use Permission::*;
    match role {
        Role::Admin => p != RedeemBotLinks,
        Role::Curator => matches!(p, ReadReference | ReadStaff | ManageCitizenAccounts | ManageBotLinks),
        Role::Supervisor => matches!(p, ReadReference | ReadStaff),
        Role::Executor | Role::Moderator | Role::Consultant | Role::Provider | Role::SocialWorker | Role::Analyst => {
            matches!(p, ReadReference)
        }
        Role::Integration => matches!(p, ReadReference | ManageCitizenAccounts),
        // The messaging service's account (bot and mail): it links chats and
        // reads staff addresses for mail copies.
        Role::Bot => matches!(p, ReadReference | RedeemBotLinks | ReadStaff),
        Role::Citizen => false,
    }
}

pub fn roles_allow(roles: &[String], p: Permission) -> bool {
    roles.iter().filter_map(|r| Role::parse(r)).any(|r| role_allows(r, p))
}

/// Over which citizens `ManageCitizenAccounts` and `ManageBotLinks` hold:
/// the citizen accounts (names, phones, e-mails) and bot link codes a caller
/// may read or change. Mirrors cases' table: an admin reaches every citizen,
/// a curator only their own (cases' `Scope::Own` for personal data, even
/// where curators may read every card); an integration account only the
/// citizens of the districts its token names (none, unless its account has
/// them). Who curates whom comes from `opeka_platform::curators`.
pub fn citizen_scope(p: &opeka_platform::auth::Principal) -> CitizenScope {
    let has = |r: Role| p.roles.iter().any(|x| Role::parse(x) == Some(r));
    if has(Role::Admin) {
        return CitizenScope::All;
    }
    CitizenScope::Only {
        curator: has(Role::Curator).then_some(p.account_id),
        districts: if has(Role::Integration) { p.districts.clone() } else { Vec::new() },
    }
}

pub use opeka_platform::curators::CitizenScope;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_manages_staff_curator_does_not() {
        assert!(role_allows(Role::Admin, Permission::ManageStaff));
        assert!(!role_allows(Role::Curator, Permission::ManageStaff));
        assert!(!role_allows(Role::Citizen, Permission::ReadReference));
    }

    #[test]
    fn curators_reach_their_own_citizens_integrations_their_districts() {
        let p = |roles: &[&str], districts: Vec<uuid::Uuid>| opeka_platform::auth::Principal {
            account_id: uuid::Uuid::from_u128(7),
            tenant_id: uuid::Uuid::nil(),
            tenant_slug: "t".into(),
            kind: "staff".into(),
            roles: roles.iter().map(|r| r.to_string()).collect(),
            session_id: None,
            organisation_id: None,
            districts,
        };
        assert_eq!(citizen_scope(&p(&["admin", "curator"], vec![])), CitizenScope::All);
        assert_eq!(
            citizen_scope(&p(&["curator"], vec![])),
            CitizenScope::Only { curator: Some(uuid::Uuid::from_u128(7)), districts: vec![] }
        );
        assert!(citizen_scope(&p(&["integration"], vec![])).is_none());
        assert!(citizen_scope(&p(&["supervisor"], vec![uuid::Uuid::nil()])).is_none());
        assert!(!citizen_scope(&p(&["integration"], vec![uuid::Uuid::nil()])).is_none());
    }

    #[test]
    fn only_the_bot_redeems_link_codes() {
        assert!(role_allows(Role::Bot, Permission::RedeemBotLinks));
        assert!(!role_allows(Role::Admin, Permission::RedeemBotLinks));
    }

    #[test]
    fn roles_round_trip() {
        for r in Role::STAFF {
            assert_eq!(Role::parse(r.as_str()), Some(r));
            assert_eq!(Role::from_pb(r.to_pb() as i32), Some(r));
        }
    }
}
