//! The files service's types and rules: parsed values, content sniffing, and
//! the role → permission table. No I/O here.
pub mod intake;
pub mod sniff;
pub mod values;

pub use sniff::{Sniffed, sniff};
pub use values::*;

use uuid::Uuid;

/// The roles identity puts in access tokens, as far as files cares. A role
/// string files does not know grants nothing.
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
    pub const ALL: [Role; 12] = [
        Role::Admin,
        Role::Curator,
        Role::Executor,
        Role::Moderator,
        Role::Supervisor,
        Role::Consultant,
        Role::Provider,
        Role::SocialWorker,
        Role::Analyst,
        Role::Citizen,
        Role::Integration,
        Role::Bot,
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
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// What a caller may do in files. Checked here, in the service that owns the
/// data; the gateway only hides what is not allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// List and open file types (reference data).
    ReadFileTypes,
    /// Create, rename and delete file types.
    ManageFileTypes,
    /// Upload a file for a citizen.
    Upload,
    /// Upload files to an appeal and read an appeal's files — each time only
    /// for an appeal cases shows the caller (S1-38).
    AppealFiles,
    /// List files, read their metadata and download them.
    ReadFiles,
    /// Change the type of any file of the tenant.
    SetAnyFileType,
    /// Change the type of a file the caller uploaded itself (the bot asks the
    /// citizen what the file is after storing it).
    SetOwnUploadType,
}

/// The table (DESIGN.md §3: authorisation in the owning service):
///
/// | role | file types | manage types | upload | list/get/download | appeals' files | set type |
/// |---|---|---|---|---|---|---|
/// | admin | ✓ | ✓ | ✓ | ✓ | ✓ | any file |
/// | curator | ✓ | – | ✓ | ✓ | ✓ | any file |
/// | bot | ✓ | – | ✓ | – | – | own uploads |
/// | supervisor, executor, moderator | ✓ | – | – | – | ✓ | – |
/// | consultant, provider, social_worker, analyst, integration | ✓ | – | – | – | – | – |
/// | citizen | – | – | – | – | – | – |
///
/// A citizen's files are further scoped by [`citizen_scope`] (a curator: only
/// their own citizens', from the projection of cases' curator ↔ citizen
/// link), here and not only in cases in front of these calls. An appeal's
/// files go further: the appeal
/// is cases', so every call on them asks cases (with the caller's token)
/// whether it shows the caller that appeal.
pub fn role_allows(role: Role, p: Permission) -> bool {
    use Permission::*;
    match role {
        Role::Admin => p != SetOwnUploadType,
        Role::Curator => matches!(p, ReadFileTypes | Upload | ReadFiles | AppealFiles | SetAnyFileType),
        Role::Bot => matches!(p, ReadFileTypes | Upload | SetOwnUploadType),
        Role::Supervisor | Role::Executor | Role::Moderator => matches!(p, ReadFileTypes | AppealFiles),
        Role::Consultant | Role::Provider | Role::SocialWorker | Role::Analyst | Role::Integration => {
            matches!(p, ReadFileTypes)
        }
        Role::Citizen => false,
    }
}

pub fn roles_allow(roles: &[String], p: Permission) -> bool {
    roles.iter().filter_map(|r| Role::parse(r)).any(|r| role_allows(r, p))
}

/// Over which citizens a citizen-file permission holds (DESIGN §3: checked
/// here, not only in cases in front of us). Mirrors cases' table for
/// personal data: an admin reaches every citizen, a curator only their own
/// (even where curators may read every card, documents stay their
/// curator's); the bot's account stores what any citizen sends it. Who
/// curates whom comes from `opeka_platform::curators`.
pub fn citizen_scope(p: &opeka_platform::auth::Principal) -> CitizenScope {
    let has = |r: Role| p.roles.iter().any(|x| Role::parse(x) == Some(r));
    if has(Role::Admin) || has(Role::Bot) {
        return CitizenScope::All;
    }
    CitizenScope::Only { curator: has(Role::Curator).then_some(p.account_id), districts: Vec::new() }
}

pub use opeka_platform::curators::CitizenScope;

/// May a caller with `roles` change the type of a file `uploaded_by` someone?
pub fn may_set_type(roles: &[String], caller: Uuid, uploaded_by: Uuid) -> bool {
    roles_allow(roles, Permission::SetAnyFileType)
        || (caller == uploaded_by && roles_allow(roles, Permission::SetOwnUploadType))
}

/// Where an upload came from, told by who sent it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Bot,
    Web,
    Api,
}

impl Channel {
    /// The bot's service account → bot; other service accounts → api; staff → web.
    pub fn of(kind: &str, roles: &[String]) -> Channel {
        if roles.iter().any(|r| r == Role::Bot.as_str()) {
            Channel::Bot
        } else if kind == "service" {
            Channel::Api
        } else {
            Channel::Web
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Bot => "bot",
            Channel::Web => "web",
            Channel::Api => "api",
        }
    }

    pub fn parse(s: &str) -> Option<Channel> {
        [Channel::Bot, Channel::Web, Channel::Api].into_iter().find(|c| c.as_str() == s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roles(r: &[Role]) -> Vec<String> {
        r.iter().map(|r| r.as_str().to_string()).collect()
    }

    #[test]
    fn only_admins_manage_file_types_everyone_on_staff_reads_them() {
        for r in Role::ALL {
            assert_eq!(role_allows(r, Permission::ManageFileTypes), r == Role::Admin, "{r:?}");
            assert_eq!(role_allows(r, Permission::ReadFileTypes), r != Role::Citizen, "{r:?}");
        }
    }

    #[test]
    fn curators_and_the_bot_upload_only_staff_with_files_read_them() {
        let uploaders: Vec<Role> = Role::ALL.into_iter().filter(|r| role_allows(*r, Permission::Upload)).collect();
        assert_eq!(uploaders, vec![Role::Admin, Role::Curator, Role::Bot]);
        let readers: Vec<Role> = Role::ALL.into_iter().filter(|r| role_allows(*r, Permission::ReadFiles)).collect();
        assert_eq!(readers, vec![Role::Admin, Role::Curator]);
    }

    // S1-38: the appeal workflow's roles attach files to appeals; the bot and
    // roles outside the workflow do not.
    #[test]
    fn the_appeal_workflow_roles_work_with_appeal_files() {
        let allowed: Vec<Role> = Role::ALL.into_iter().filter(|r| role_allows(*r, Permission::AppealFiles)).collect();
        assert_eq!(allowed, vec![Role::Admin, Role::Curator, Role::Executor, Role::Moderator, Role::Supervisor]);
    }

    #[test]
    fn the_bot_classifies_only_what_it_uploaded() {
        let (bot, other) = (Uuid::now_v7(), Uuid::now_v7());
        assert!(may_set_type(&roles(&[Role::Bot]), bot, bot));
        assert!(!may_set_type(&roles(&[Role::Bot]), bot, other));
        assert!(may_set_type(&roles(&[Role::Curator]), bot, other));
        assert!(may_set_type(&roles(&[Role::Admin]), bot, other));
        assert!(!may_set_type(&roles(&[Role::Supervisor]), bot, bot));
        assert!(!may_set_type(&["hacker".to_string()], bot, bot));
    }

    #[test]
    fn the_channel_follows_the_caller() {
        assert_eq!(Channel::of("service", &roles(&[Role::Bot])), Channel::Bot);
        assert_eq!(Channel::of("service", &roles(&[Role::Integration])), Channel::Api);
        assert_eq!(Channel::of("staff", &roles(&[Role::Curator])), Channel::Web);
        for c in [Channel::Bot, Channel::Web, Channel::Api] {
            assert_eq!(Channel::parse(c.as_str()), Some(c));
        }
    }
}
