//! The registry's types and rules: the citizen card's draft, tenant
//! settings and who may do what (the role → permission table). No I/O here.

use chrono::NaiveDate;
use uuid::Uuid;

pub use crate::kit::values::*;

use super::strings as s;

/// The roles cases knows, by the names identity puts in tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Admin,
    Curator,
    Supervisor,
    /// Ministry integrations (service accounts).
    Integration,
    /// Staff of other modules (executor, moderator, consultant, provider,
    /// social worker, analyst): reference lists and terminology only.
    OtherStaff,
    /// The tenant's Telegram bot (a notifications service account): reads
    /// the terminology (S0-2) to name the curator as the tenant does.
    Bot,
}

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "admin" => Role::Admin,
            "curator" => Role::Curator,
            "supervisor" => Role::Supervisor,
            "integration" => Role::Integration,
            "executor" | "moderator" | "consultant" | "provider" | "social_worker" | "analyst" => Role::OtherStaff,
            "bot" => Role::Bot,
            // Citizens reach cases only through events.
            _ => return None,
        })
    }
}

/// What a caller may do in cases. Checked here, in the service that owns
/// the data; the gateway only hides what is not allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Create a citizen (`Own`: assigned to oneself).
    CreateCitizens,
    /// Open cards and list the registry, incl. diary and interactions.
    ReadCitizens,
    /// Change a card, add diary entries and interactions, record results.
    EditCitizens,
    /// INN, birth date, phone and email on the card.
    ReadPersonalData,
    DeleteCitizens,
    TransferCitizens,
    /// Assign a card to any curator (`Own`: only oneself).
    AssignCurator,
    /// Special groups and terminology.
    ReadReference,
    ManageReference,
    ReadActivities,
    ProcessActivities,
    ReadAudit,
}

/// Over which citizens a permission holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    None,
    /// Citizens whose curator is the caller.
    Own,
    All,
}

/// The role → permission table (S0-1, S0-27, S0-84, S0-95, S0-108, S0-114, S0-115).
pub fn role_scope(role: Role, p: Permission) -> Scope {
    use Permission::*;
    match role {
        Role::Admin => Scope::All,
        Role::Curator => match p {
            CreateCitizens | ReadCitizens | EditCitizens | ReadPersonalData | AssignCurator | ReadActivities
            | ProcessActivities => Scope::Own,
            ReadReference => Scope::All,
            DeleteCitizens | TransferCitizens | ManageReference | ReadAudit => Scope::None,
        },
        Role::Supervisor => match p {
            ReadCitizens | ReadActivities | ReadReference => Scope::All,
            _ => Scope::None,
        },
        Role::Integration => match p {
            ReadCitizens | ReadReference => Scope::All,
            _ => Scope::None,
        },
        Role::OtherStaff | Role::Bot => match p {
            ReadReference => Scope::All,
            _ => Scope::None,
        },
    }
}

/// The tenant settings that change access.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AccessSettings {
    /// Curators may read (not change) every citizen of the tenant.
    pub curators_read_all: bool,
}

/// A caller's standing: their account and roles, with the tenant's access settings.
#[derive(Debug, Clone)]
pub struct Access {
    pub account_id: Uuid,
    roles: Vec<Role>,
    settings: AccessSettings,
}

impl Access {
    pub fn new(account_id: Uuid, roles: &[String], settings: AccessSettings) -> Self {
        Self { account_id, roles: roles.iter().filter_map(|r| Role::parse(r)).collect(), settings }
    }

    pub fn is_admin(&self) -> bool {
        self.roles.contains(&Role::Admin)
    }

    /// The widest scope any of the caller's roles gives.
    pub fn scope(&self, p: Permission) -> Scope {
        let base = self.roles.iter().map(|r| role_scope(*r, p)).max().unwrap_or(Scope::None);
        if p == Permission::ReadCitizens && self.settings.curators_read_all && self.roles.contains(&Role::Curator) {
            return Scope::All;
        }
        base
    }

    pub fn allows(&self, p: Permission) -> bool {
        self.scope(p) != Scope::None
    }

    /// Whether `p` holds for a citizen whose curator is `curator`.
    pub fn allows_for(&self, p: Permission, curator: Option<Uuid>) -> bool {
        match self.scope(p) {
            Scope::All => true,
            Scope::Own => curator == Some(self.account_id),
            Scope::None => false,
        }
    }

    /// A curator filter the registry must apply (`Own` scope), if any.
    pub fn own_only(&self, p: Permission) -> Option<Uuid> {
        (self.scope(p) == Scope::Own).then_some(self.account_id)
    }
}

/// Why a citizen-level action is refused: a card the caller cannot even
/// read answers NOT_FOUND (its existence is not revealed); a card they may
/// read but not change answers PERMISSION_DENIED.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Invisible,
    ReadOnly,
}

pub fn check_citizen(access: &Access, p: Permission, curator: Option<Uuid>) -> Result<(), Refusal> {
    if !access.allows_for(Permission::ReadCitizens, curator) {
        return Err(Refusal::Invisible);
    }
    if !access.allows_for(p, curator) {
        return Err(Refusal::ReadOnly);
    }
    Ok(())
}

/// A work-queue item's kind: files and the bot (S0-85, S0-88), the
/// scheduler's detectors (S0-90…S0-92) and curator reminders (S0-94). The
/// numbers in the wire names are the seed's default thresholds; an item's
/// own threshold is its `days`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActivityKind {
    FileReceived,
    ContactRequested,
    Skipped5Days,
    Inactive10Days,
    NoAssignments2Days,
    CuratorReminder,
}

impl ActivityKind {
    pub const ALL: [ActivityKind; 6] = [
        ActivityKind::FileReceived,
        ActivityKind::ContactRequested,
        ActivityKind::Skipped5Days,
        ActivityKind::Inactive10Days,
        ActivityKind::NoAssignments2Days,
        ActivityKind::CuratorReminder,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ActivityKind::FileReceived => "file_received",
            ActivityKind::ContactRequested => "contact_requested",
            ActivityKind::Skipped5Days => "skipped_5_days",
            ActivityKind::Inactive10Days => "inactive_10_days",
            ActivityKind::NoAssignments2Days => "no_assignments_2_days",
            ActivityKind::CuratorReminder => "curator_reminder",
        }
    }

    pub fn parse(v: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == v)
    }

    /// The kind a scheduler detector raises (`DetectorRaised.kind`).
    pub fn from_detector(v: &str) -> Option<Self> {
        match v {
            "skipped_days" => Some(Self::Skipped5Days),
            "silent_days" => Some(Self::Inactive10Days),
            "no_assignments" => Some(Self::NoAssignments2Days),
            _ => None,
        }
    }

    /// The seed's threshold in days for a detector kind (S0-90…S0-92).
    pub fn default_days(self) -> Option<u32> {
        match self {
            Self::Skipped5Days => Some(5),
            Self::Inactive10Days => Some(10),
            Self::NoAssignments2Days => Some(2),
            Self::FileReceived | Self::ContactRequested | Self::CuratorReminder => None,
        }
    }

    /// The threshold an item of this kind is raised with: the detector's own
    /// (tenants change theirs), the seed's when the event left it out.
    pub fn threshold(self, days: u32) -> Option<u32> {
        self.default_days().map(|d| if days == 0 { d } else { days })
    }

    /// The work-queue type as the seed names it, with the item's threshold:
    /// «пропуск (7 дней)»; detector kinds without one show the seed's.
    pub fn label(self, days: Option<u32>) -> String {
        let n = days.or_else(|| self.default_days()).unwrap_or_default();
        match self {
            Self::FileReceived => s::KIND_FILE.into(),
            Self::ContactRequested => s::KIND_CONTACT.into(),
            Self::Skipped5Days => s::kind_skipped(n),
            Self::Inactive10Days => s::kind_inactive(n),
            Self::NoAssignments2Days => s::kind_no_assignments(n),
            Self::CuratorReminder => s::KIND_CURATOR_REMINDER.into(),
        }
    }
}

/// A detector item's summary: its type with the threshold, so the number
/// reaches the queue and the mail copy whatever the tenant set, then the
/// scheduler's sentence (or ours when it sent none).
pub fn detector_summary(kind: ActivityKind, days: u32, detail: &str) -> String {
    let detail = match detail.trim() {
        "" => match kind {
            ActivityKind::Skipped5Days => s::skipped_detail(days),
            ActivityKind::Inactive10Days => s::inactive_detail(days),
            _ => s::no_assignments_detail(days),
        },
        d => d.to_string(),
    };
    format!("{}: {detail}", kind.label(Some(days)))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InteractionKind {
    /// «Запросить связь» in the bot.
    ContactRequest,
    /// A contact the curator initiated («Добавить»).
    CuratorEntry,
}

impl InteractionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            InteractionKind::ContactRequest => "contact_request",
            InteractionKind::CuratorEntry => "curator_entry",
        }
    }
    pub fn parse(v: &str) -> Option<Self> {
        match v {
            "contact_request" => Some(Self::ContactRequest),
            "curator_entry" => Some(Self::CuratorEntry),
            _ => None,
        }
    }
}

/// A valid citizen card, as created or updated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CitizenDraft {
    pub surname: String,
    pub name: String,
    pub patronymic: String,
    pub birth_date: Option<NaiveDate>,
    pub inn: Option<Inn>,
    pub phone: Phone,
    pub email: Option<Email>,
    /// `None`: the caller (create) or unchanged (update).
    pub curator_id: Option<Uuid>,
    pub district_id: Option<Uuid>,
    pub special_group_ids: Vec<Uuid>,
    pub situation: String,
    pub inactive: bool,
    pub inactive_until: Option<NaiveDate>,
}

impl CitizenDraft {
    pub fn full_name(&self) -> String {
        full_name(&self.surname, &self.name, &self.patronymic)
    }
}

pub fn full_name(surname: &str, name: &str, patronymic: &str) -> String {
    [surname, name, patronymic].iter().filter(|s| !s.is_empty()).copied().collect::<Vec<_>>().join(" ")
}

/// Longest «Описание ситуации», diary entry and call result.
pub const MAX_TEXT: usize = 10_000;

/// Tenant terminology (S0-2) and settings, with the seed's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantSettings {
    pub citizen_term: String,
    pub citizens_section: String,
    pub curator_term: String,
    pub curators_section: String,
    pub curators_read_all: bool,
    pub time_zone: chrono_tz::Tz,
}

impl TenantSettings {
    pub fn defaults(time_zone: chrono_tz::Tz) -> Self {
        Self {
            citizen_term: s::DEFAULT_CITIZEN_TERM.into(),
            citizens_section: s::DEFAULT_CITIZENS_SECTION.into(),
            curator_term: s::DEFAULT_CURATOR_TERM.into(),
            curators_section: s::DEFAULT_CURATORS_SECTION.into(),
            curators_read_all: false,
            time_zone,
        }
    }

    pub fn access(&self) -> AccessSettings {
        AccessSettings { curators_read_all: self.curators_read_all }
    }
}

/// A term as the admin typed it, or the default when left empty.
pub fn term(v: &str, default: &str) -> Result<String, String> {
    let v = v.trim();
    if v.is_empty() {
        return Ok(default.to_string());
    }
    if v.chars().count() > 60 {
        return Err(s::TERM_TOO_LONG.into());
    }
    Ok(v.to_string())
}

/// Names the fields whose values differ between two versions of a card.
pub fn changed_fields(pairs: &[(&'static str, bool)]) -> Vec<String> {
    pairs.iter().filter(|(_, changed)| *changed).map(|(f, _)| f.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(roles: &[&str], read_all: bool) -> Access {
        let roles: Vec<String> = roles.iter().map(|r| r.to_string()).collect();
        Access::new(Uuid::from_u128(1), &roles, AccessSettings { curators_read_all: read_all })
    }

    #[test]
    fn curators_work_on_their_own_citizens_only() {
        let me = Some(Uuid::from_u128(1));
        let other = Some(Uuid::from_u128(2));
        let c = access(&["curator"], false);
        assert_eq!(check_citizen(&c, Permission::EditCitizens, me), Ok(()));
        assert_eq!(check_citizen(&c, Permission::ReadCitizens, other), Err(Refusal::Invisible));
        assert_eq!(check_citizen(&c, Permission::EditCitizens, other), Err(Refusal::Invisible));
        assert_eq!(c.own_only(Permission::ReadCitizens), me);
        assert!(!c.allows(Permission::DeleteCitizens) && !c.allows(Permission::TransferCitizens));
        assert!(!c.allows(Permission::ManageReference) && c.allows(Permission::ReadReference));
    }

    #[test]
    fn read_all_lets_curators_read_but_not_change_or_see_personal_data() {
        let other = Some(Uuid::from_u128(2));
        let c = access(&["curator"], true);
        assert_eq!(check_citizen(&c, Permission::ReadCitizens, other), Ok(()));
        assert_eq!(check_citizen(&c, Permission::EditCitizens, other), Err(Refusal::ReadOnly));
        assert!(!c.allows_for(Permission::ReadPersonalData, other));
        assert_eq!(c.own_only(Permission::ReadCitizens), None);
        assert_eq!(c.own_only(Permission::ReadActivities), Some(Uuid::from_u128(1)), "the queue stays personal");
    }

    #[test]
    fn admins_do_everything_other_roles_little() {
        let a = access(&["admin"], false);
        for p in [Permission::DeleteCitizens, Permission::TransferCitizens, Permission::ReadAudit] {
            assert_eq!(a.scope(p), Scope::All);
        }
        let sup = access(&["supervisor"], false);
        assert!(sup.allows_for(Permission::ReadCitizens, None));
        assert!(!sup.allows_for(Permission::ReadPersonalData, None));
        let citizen = access(&["citizen"], true);
        assert!(!citizen.allows(Permission::ReadCitizens) && !citizen.allows(Permission::ReadReference));
        let both = access(&["curator", "admin"], false);
        assert_eq!(both.scope(Permission::EditCitizens), Scope::All);
        // The bot reads the terminology (S0-2) and nothing else.
        let bot = access(&["bot"], true);
        assert_eq!(bot.scope(Permission::ReadReference), Scope::All);
        for p in [Permission::ReadCitizens, Permission::ReadPersonalData, Permission::ManageReference] {
            assert!(!bot.allows(p), "{p:?}");
        }
    }

    #[test]
    fn detector_kinds_carry_their_thresholds() {
        use ActivityKind::*;
        assert_eq!(ActivityKind::from_detector("skipped_days"), Some(Skipped5Days));
        assert_eq!(ActivityKind::from_detector("silent_days"), Some(Inactive10Days));
        assert_eq!(ActivityKind::from_detector("no_assignments"), Some(NoAssignments2Days));
        assert_eq!(ActivityKind::from_detector("curator_reminder"), None);
        assert_eq!(Skipped5Days.threshold(0), Some(5), "the seed's when the event names none");
        assert_eq!(Skipped5Days.threshold(7), Some(7));
        assert_eq!(FileReceived.threshold(7), None);
        // S0-90…S0-92, S0-94: the seed's labels, then a tenant's own thresholds.
        let labels: Vec<String> = ActivityKind::ALL.into_iter().map(|k| k.label(None)).collect();
        assert_eq!(
            labels,
            [
                "файл",
                "связь с соц. куратором",
                "пропуск (5 дней)",
                "неактивный (10 дней)",
                "без назначений (2 дня)",
                "напоминания для соц. куратора"
            ]
        );
        assert_eq!(Skipped5Days.label(Some(1)), "пропуск (1 день)");
        assert_eq!(Inactive10Days.label(Some(21)), "неактивный (21 день)");
        assert_eq!(NoAssignments2Days.label(Some(3)), "без назначений (3 дня)");
        assert_eq!(NoAssignments2Days.label(Some(12)), "без назначений (12 дней)");
        assert_eq!(detector_summary(Skipped5Days, 7, "  "), "пропуск (7 дней): «Пропущено» 7 дней подряд");
        assert_eq!(
            detector_summary(NoAssignments2Days, 2, " Назначения заканчиваются 05.03 "),
            "без назначений (2 дня): Назначения заканчиваются 05.03"
        );
    }

    #[test]
    fn kinds_round_trip_and_terms_default() {
        for k in ActivityKind::ALL {
            assert_eq!(ActivityKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(term("  ", "пользователь").unwrap(), "пользователь");
        assert_eq!(term(" пациент ", "пользователь").unwrap(), "пациент");
        assert!(term(&"я".repeat(61), "x").is_err());
    }
}
