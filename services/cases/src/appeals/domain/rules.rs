//! The transition table: in which status which roles may take which action, and where it lands.
use super::*;

/// One line of the transition table: in `from`, any of `roles` may take `action`, landing in `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub from: Status,
    pub action: ActionKind,
    pub roles: &'static [Role],
    pub to: Status,
}

const fn rule(from: Status, action: ActionKind, roles: &'static [Role], to: Status) -> Rule {
    Rule { from, action, roles, to }
}

const MODERATORS: &[Role] = &[Role::Moderator, Role::Admin];
const SUPERVISORS: &[Role] = &[Role::Supervisor, Role::Admin];
const EXECUTOR: &[Role] = &[Role::Executor];
const RELEASERS: &[Role] = &[Role::Executor, Role::Supervisor, Role::Admin];
const RESUMERS: &[Role] = &[Role::System, Role::Supervisor, Role::Admin];
const SUPPORT: &[Role] = &[Role::Support, Role::Admin];
const CURATORS: &[Role] = &[Role::Curator, Role::Admin];

/// The workflow, all of it. Besides the table: executors' actions need the card's lock, «Взять» needs a
/// free card of the executor's area, «Вернуть в работу по сроку» needs the date reached, curators do not
/// review their own work — and an incomplete close request lands back «В работе» instead (S1-45).
pub const RULES: &[Rule] = &[
    // Intake. A «Новое» card already routed to an area may be taken or assigned at once: the seed shows
    // «Взять в работу карточку обращения» on a «Новое» card (§5) and «В работе» as set by a supervisor (§3).
    rule(Status::New, ActionKind::SubmitToModeration, MODERATORS, Status::Moderation),
    rule(Status::New, ActionKind::Take, EXECUTOR, Status::InWork),
    rule(Status::New, ActionKind::Assign, SUPERVISORS, Status::InWork),
    // Moderators route to an executor organisation (S1-6, S1-46).
    rule(Status::Moderation, ActionKind::Route, MODERATORS, Status::InWork),
    rule(Status::Rereview, ActionKind::Route, MODERATORS, Status::InWork),
    rule(Status::Federal, ActionKind::Route, MODERATORS, Status::InWork),
    // Work (S1-5, S1-29…S1-47).
    rule(Status::InWork, ActionKind::Take, EXECUTOR, Status::InWork),
    rule(Status::InWork, ActionKind::Assign, SUPERVISORS, Status::InWork),
    rule(Status::InWork, ActionKind::Release, RELEASERS, Status::InWork),
    rule(Status::InWork, ActionKind::MarkDone, EXECUTOR, Status::DoneReview),
    rule(Status::InWork, ActionKind::RequestClose, EXECUTOR, Status::CloseRequested),
    rule(Status::InWork, ActionKind::Postpone, EXECUTOR, Status::Postponed),
    rule(Status::InWork, ActionKind::RequestRereview, EXECUTOR, Status::Rereview),
    rule(Status::InWork, ActionKind::Federal, EXECUTOR, Status::Federal),
    rule(Status::InWork, ActionKind::RequestTechSupport, EXECUTOR, Status::TechSupport),
    rule(Status::TechSupport, ActionKind::SupportReturn, SUPPORT, Status::InWork),
    rule(Status::Postponed, ActionKind::Resume, RESUMERS, Status::InWork),
    // Curator review (S1-3, S1-4, S1-9, S1-45).
    rule(Status::DoneReview, ActionKind::CuratorAccept, CURATORS, Status::Done),
    rule(Status::DoneReview, ActionKind::CuratorReturn, CURATORS, Status::InWork),
    rule(Status::CloseRequested, ActionKind::CuratorAccept, CURATORS, Status::Closed),
    rule(Status::CloseRequested, ActionKind::CuratorReturn, CURATORS, Status::InWork),
];

/// The table's line for a status, action and role.
pub fn rule_for(status: Status, action: ActionKind, role: Role) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.from == status && r.action == action && r.roles.contains(&role))
}
