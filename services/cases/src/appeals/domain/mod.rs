//! The appeal workflow (issue 5, point 2): statuses, who may do what in which status, and what each step
//! records. Pure: the service loads a `CardState`, calls `apply`, then stores the state and the effects.
use std::fmt;

use chrono::NaiveDate;
use uuid::Uuid;

use super::strings as text;

mod rules;
#[cfg(test)]
mod tests;
mod workflow;

pub use rules::*;
pub use workflow::*;

/// Longest solution, comment or request text.
pub const MAX_TEXT: usize = 10_000;

/// Where an appeal is in its life. `Done` and `Closed` are final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    New,
    Moderation,
    InWork,
    /// The executor marked it done; the curator checks the answer (S1-9).
    DoneReview,
    /// The executor asked to close it; the curator checks the reason (S1-45).
    CloseRequested,
    /// Sent back to moderators for a wrong region or category (S1-40).
    Rereview,
    /// Waiting for tech support to correct fields (S1-47).
    TechSupport,
    /// In the federal-level queue (S1-46).
    Federal,
    Postponed,
    Done,
    Closed,
}

impl Status {
    pub const ALL: [Status; 11] = [
        Status::New,
        Status::Moderation,
        Status::InWork,
        Status::DoneReview,
        Status::CloseRequested,
        Status::Rereview,
        Status::TechSupport,
        Status::Federal,
        Status::Postponed,
        Status::Done,
        Status::Closed,
    ];

    /// Stable wire and database name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Moderation => "moderation",
            Status::InWork => "in_work",
            Status::DoneReview => "done_review",
            Status::CloseRequested => "close_requested",
            Status::Rereview => "rereview",
            Status::TechSupport => "tech_support",
            Status::Federal => "federal",
            Status::Postponed => "postponed",
            Status::Done => "done",
            Status::Closed => "closed",
        }
    }

    pub fn parse(v: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == v)
    }

    pub fn label(self) -> &'static str {
        match self {
            Status::New => text::STATUS_NEW,
            Status::Moderation => text::STATUS_MODERATION,
            Status::InWork => text::STATUS_IN_WORK,
            Status::DoneReview => text::STATUS_DONE_REVIEW,
            Status::CloseRequested => text::STATUS_CLOSE_REQUESTED,
            Status::Rereview => text::STATUS_REREVIEW,
            Status::TechSupport => text::STATUS_TECH_SUPPORT,
            Status::Federal => text::STATUS_FEDERAL,
            Status::Postponed => text::STATUS_POSTPONED,
            Status::Done => text::STATUS_DONE,
            Status::Closed => text::STATUS_CLOSED,
        }
    }

    pub fn is_final(self) -> bool {
        matches!(self, Status::Done | Status::Closed)
    }

    /// Whose list the card waits in; `None` for intake, sleeping and finished cards.
    pub fn queue(self) -> Option<Queue> {
        match self {
            Status::Moderation | Status::Rereview => Some(Queue::Moderators),
            Status::InWork => Some(Queue::Executors),
            Status::DoneReview | Status::CloseRequested => Some(Queue::Curators),
            Status::Federal => Some(Queue::Federal),
            Status::TechSupport => Some(Queue::Support),
            Status::New | Status::Postponed | Status::Done | Status::Closed => None,
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// The role a caller acts in. An account with several roles acts in one per call: the service passes the
/// role the action needs (`ActionKind::roles`), so a curator who also executes never reviews by accident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    Moderator,
    Executor,
    Supervisor,
    /// Checks executors' answers and close requests («Куратор», seed 001 §2).
    Curator,
    Support,
    Admin,
    /// The scheduler, bringing postponed cards back when due.
    System,
}

impl Role {
    pub const ALL: [Role; 7] =
        [Role::Moderator, Role::Executor, Role::Supervisor, Role::Curator, Role::Support, Role::Admin, Role::System];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Moderator => "moderator",
            Role::Executor => "executor",
            Role::Supervisor => "supervisor",
            Role::Curator => "curator",
            Role::Support => "support",
            Role::Admin => "admin",
            Role::System => "system",
        }
    }

    pub fn parse(v: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == v)
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Moderator => text::ROLE_MODERATOR,
            Role::Executor => text::ROLE_EXECUTOR,
            Role::Supervisor => text::ROLE_SUPERVISOR,
            Role::Curator => text::ROLE_CURATOR,
            Role::Support => text::ROLE_SUPPORT,
            Role::Admin => text::ROLE_ADMIN,
            Role::System => text::ROLE_SYSTEM,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// Who acts: an account, the role it acts in, and its executor organisation (an executor's area, S1-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    pub id: Uuid,
    pub role: Role,
    pub org: Option<Uuid>,
}

/// Reasons to close (S1-42) with what each requires (S1-43, S1-44).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CloseReason {
    CitizenRefused,
    WrongPhone,
    /// At least three attempts on different days (seed 001 §9); not checkable here.
    Unreachable,
    Duplicate,
    DidNotApply,
    ObjectiveReasons,
    MotivatedRefusal,
}

/// What a close reason needs besides itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseRequirement {
    Nothing,
    /// The number of the appeal this one duplicates.
    DuplicateNumber,
    /// The reason written out in «Комментарий».
    Comment,
}

impl CloseReason {
    pub const ALL: [CloseReason; 7] = [
        CloseReason::CitizenRefused,
        CloseReason::WrongPhone,
        CloseReason::Unreachable,
        CloseReason::Duplicate,
        CloseReason::DidNotApply,
        CloseReason::ObjectiveReasons,
        CloseReason::MotivatedRefusal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::CitizenRefused => "citizen_refused",
            CloseReason::WrongPhone => "wrong_phone",
            CloseReason::Unreachable => "unreachable",
            CloseReason::Duplicate => "duplicate",
            CloseReason::DidNotApply => "did_not_apply",
            CloseReason::ObjectiveReasons => "objective_reasons",
            CloseReason::MotivatedRefusal => "motivated_refusal",
        }
    }

    pub fn parse(v: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == v)
    }

    pub fn label(self) -> &'static str {
        match self {
            CloseReason::CitizenRefused => text::CLOSE_CITIZEN_REFUSED,
            CloseReason::WrongPhone => text::CLOSE_WRONG_PHONE,
            CloseReason::Unreachable => text::CLOSE_UNREACHABLE,
            CloseReason::Duplicate => text::CLOSE_DUPLICATE,
            CloseReason::DidNotApply => text::CLOSE_DID_NOT_APPLY,
            CloseReason::ObjectiveReasons => text::CLOSE_OBJECTIVE,
            CloseReason::MotivatedRefusal => text::CLOSE_MOTIVATED_REFUSAL,
        }
    }

    pub fn requires(self) -> CloseRequirement {
        match self {
            CloseReason::Duplicate => CloseRequirement::DuplicateNumber,
            CloseReason::ObjectiveReasons | CloseReason::MotivatedRefusal => CloseRequirement::Comment,
            CloseReason::CitizenRefused
            | CloseReason::WrongPhone
            | CloseReason::Unreachable
            | CloseReason::DidNotApply => CloseRequirement::Nothing,
        }
    }
}

/// Why a close request went back to the executor without reaching the curator (S1-45).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseDefect {
    NoDuplicateNumber,
    SelfDuplicate,
    NoComment,
}

impl CloseDefect {
    pub fn as_str(self) -> &'static str {
        match self {
            CloseDefect::NoDuplicateNumber => "no_duplicate_number",
            CloseDefect::SelfDuplicate => "self_duplicate",
            CloseDefect::NoComment => "no_comment",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            CloseDefect::NoDuplicateNumber => text::DEFECT_NO_DUPLICATE,
            CloseDefect::SelfDuplicate => text::DEFECT_SELF_DUPLICATE,
            CloseDefect::NoComment => text::DEFECT_NO_COMMENT,
        }
    }

    /// The same finding as a form error, for validating before submitting.
    fn invalid(self) -> WorkflowError {
        match self {
            CloseDefect::NoDuplicateNumber => WorkflowError::invalid("duplicate_of", text::DUPLICATE_REQUIRED),
            CloseDefect::SelfDuplicate => WorkflowError::invalid("duplicate_of", text::DUPLICATE_SELF),
            CloseDefect::NoComment => WorkflowError::invalid("comment", text::REASON_COMMENT_REQUIRED),
        }
    }
}

/// «Отметить невозможность исполнения»: a reason, the comment, and for a duplicate the other appeal's
/// number (a field of its own rather than digits fished out of the comment, as seed 001 §9 has it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseRequest {
    pub reason: CloseReason,
    pub comment: String,
    pub duplicate_of: Option<u64>,
}

impl CloseRequest {
    /// What is missing for the reason, if anything; `own_number` is the card's.
    pub fn defect(&self, own_number: u64) -> Option<CloseDefect> {
        match self.reason.requires() {
            CloseRequirement::Nothing => None,
            CloseRequirement::DuplicateNumber => match self.duplicate_of {
                None => Some(CloseDefect::NoDuplicateNumber),
                Some(n) if n == own_number => Some(CloseDefect::SelfDuplicate),
                Some(_) => None,
            },
            CloseRequirement::Comment => self.comment.trim().is_empty().then_some(CloseDefect::NoComment),
        }
    }

    /// Direct validation for a form: the defect as `Invalid` on its field. `apply` does not reject an
    /// incomplete request; it returns it to the executor, as the seed's process does (S1-45).
    pub fn check(&self, own_number: u64) -> Result<(), WorkflowError> {
        check_len("comment", &self.comment)?;
        self.defect(own_number).map_or(Ok(()), |d| Err(d.invalid()))
    }
}

/// Reasons to postpone (S1-39). The seed names a dropdown but not its entries; these are ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PostponeReason {
    WorksPlanned,
    WorksInProgress,
    AwaitingFunding,
    AwaitingAgencyReply,
    Seasonal,
    /// Needs the reason in the comment.
    Other,
}

impl PostponeReason {
    pub const ALL: [PostponeReason; 6] = [
        PostponeReason::WorksPlanned,
        PostponeReason::WorksInProgress,
        PostponeReason::AwaitingFunding,
        PostponeReason::AwaitingAgencyReply,
        PostponeReason::Seasonal,
        PostponeReason::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PostponeReason::WorksPlanned => "works_planned",
            PostponeReason::WorksInProgress => "works_in_progress",
            PostponeReason::AwaitingFunding => "awaiting_funding",
            PostponeReason::AwaitingAgencyReply => "awaiting_agency_reply",
            PostponeReason::Seasonal => "seasonal",
            PostponeReason::Other => "other",
        }
    }

    pub fn parse(v: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == v)
    }

    pub fn label(self) -> &'static str {
        match self {
            PostponeReason::WorksPlanned => text::POSTPONE_WORKS_PLANNED,
            PostponeReason::WorksInProgress => text::POSTPONE_WORKS_IN_PROGRESS,
            PostponeReason::AwaitingFunding => text::POSTPONE_FUNDING,
            PostponeReason::AwaitingAgencyReply => text::POSTPONE_AGENCY_REPLY,
            PostponeReason::Seasonal => text::POSTPONE_SEASONAL,
            PostponeReason::Other => text::POSTPONE_OTHER,
        }
    }
}

/// «На повторное рассмотрение» reasons (S1-40).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RereviewReason {
    WrongRegion,
    WrongCategory,
    WrongRegionAndCategory,
}

impl RereviewReason {
    pub const ALL: [RereviewReason; 3] =
        [RereviewReason::WrongRegion, RereviewReason::WrongCategory, RereviewReason::WrongRegionAndCategory];

    pub fn as_str(self) -> &'static str {
        match self {
            RereviewReason::WrongRegion => "wrong_region",
            RereviewReason::WrongCategory => "wrong_category",
            RereviewReason::WrongRegionAndCategory => "wrong_region_and_category",
        }
    }

    pub fn parse(v: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == v)
    }

    pub fn label(self) -> &'static str {
        match self {
            RereviewReason::WrongRegion => text::REREVIEW_REGION,
            RereviewReason::WrongCategory => text::REREVIEW_CATEGORY,
            RereviewReason::WrongRegionAndCategory => text::REREVIEW_BOTH,
        }
    }
}

/// Labels the workflow itself puts on a card; tenant labels («Особые метки») live with the card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Label {
    Federal,
}

impl Label {
    pub fn as_str(self) -> &'static str {
        match self {
            Label::Federal => "federal",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Label::Federal => text::LABEL_FEDERAL,
        }
    }
}

/// Whose list a card waits in. `Executors` means the card's executor organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Queue {
    Moderators,
    Executors,
    Curators,
    Federal,
    Support,
}

impl Queue {
    pub fn as_str(self) -> &'static str {
        match self {
            Queue::Moderators => "moderators",
            Queue::Executors => "executors",
            Queue::Curators => "curators",
            Queue::Federal => "federal",
            Queue::Support => "support",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Queue::Moderators => text::QUEUE_MODERATORS,
            Queue::Executors => text::QUEUE_EXECUTORS,
            Queue::Curators => text::QUEUE_CURATORS,
            Queue::Federal => text::QUEUE_FEDERAL,
            Queue::Support => text::QUEUE_SUPPORT,
        }
    }
}

/// Who a work-queue item is for: the executor who last worked on the card, or failing that its organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recipient {
    Executor(Uuid),
    Org(Uuid),
}

/// Why a card comes back to an executor's work queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WorkItem {
    PostponedDue,
    ReturnedForRework,
    ReturnedFromRereview,
    ReturnedFromSupport,
    ReturnedFromFederal,
}

impl WorkItem {
    pub fn as_str(self) -> &'static str {
        match self {
            WorkItem::PostponedDue => "postponed_due",
            WorkItem::ReturnedForRework => "returned_for_rework",
            WorkItem::ReturnedFromRereview => "returned_from_rereview",
            WorkItem::ReturnedFromSupport => "returned_from_support",
            WorkItem::ReturnedFromFederal => "returned_from_federal",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            WorkItem::PostponedDue => text::ITEM_POSTPONED_DUE,
            WorkItem::ReturnedForRework => text::ITEM_RETURNED_FOR_REWORK,
            WorkItem::ReturnedFromRereview => text::ITEM_RETURNED_FROM_REREVIEW,
            WorkItem::ReturnedFromSupport => text::ITEM_RETURNED_FROM_SUPPORT,
            WorkItem::ReturnedFromFederal => text::ITEM_RETURNED_FROM_FEDERAL,
        }
    }
}

/// The workflow's part of an appeal card: what decides which actions are possible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardState {
    /// The tenant's human-readable number (to reject a card duplicating itself).
    pub number: u64,
    pub status: Status,
    /// The executor working on the card now (the lock, S1-30); only ever set «В работе».
    pub holder: Option<Uuid>,
    /// The executor who held it last: returns and due postponements are addressed to them.
    pub last_executor: Option<Uuid>,
    /// The executor organisation (area) whose executors may take the card.
    pub executor_org: Option<Uuid>,
    pub federal: bool,
    /// Set exactly while «Отложенное решение».
    pub postponed_until: Option<NaiveDate>,
    /// The reason of a close request under review, kept once «Закрыто».
    pub close_reason: Option<CloseReason>,
}

impl CardState {
    /// A card as intake creates it: «Новое», routed to `executor_org` when intake already knows the area.
    pub fn new(number: u64, executor_org: Option<Uuid>) -> Self {
        Self {
            number,
            status: Status::New,
            holder: None,
            last_executor: None,
            executor_org,
            federal: false,
            postponed_until: None,
            close_reason: None,
        }
    }
}

/// What a caller asks for, with what the form collected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    SubmitToModeration,
    /// Moderators send a card to an executor organisation: after moderation, after fixing the region or
    /// category of a re-review (S1-6), or out of the federal queue.
    Route {
        org: Uuid,
    },
    /// A supervisor gives the card to a specific executor (S1-5); the service checks the executor's area.
    Assign {
        executor: Uuid,
    },
    Take,
    /// «Завершить работу над карточкой» (S1-35): lets go of the card, status unchanged.
    Release,
    MarkDone {
        solution: String,
        media: Vec<Uuid>,
    },
    RequestClose(CloseRequest),
    Postpone {
        reason: PostponeReason,
        until: NaiveDate,
        comment: String,
    },
    /// A postponed card comes back to work on its date.
    Resume,
    RequestRereview {
        reason: RereviewReason,
        comment: String,
    },
    Federal {
        comment: String,
    },
    RequestTechSupport {
        fields: String,
    },
    SupportReturn {
        note: String,
    },
    CuratorAccept,
    CuratorReturn {
        comment: String,
    },
}

/// An action without its payload: what the table and the errors speak of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ActionKind {
    SubmitToModeration,
    Route,
    Assign,
    Take,
    Release,
    MarkDone,
    RequestClose,
    Postpone,
    Resume,
    RequestRereview,
    Federal,
    RequestTechSupport,
    SupportReturn,
    CuratorAccept,
    CuratorReturn,
}

impl Action {
    pub fn kind(&self) -> ActionKind {
        match self {
            Action::SubmitToModeration => ActionKind::SubmitToModeration,
            Action::Route { .. } => ActionKind::Route,
            Action::Assign { .. } => ActionKind::Assign,
            Action::Take => ActionKind::Take,
            Action::Release => ActionKind::Release,
            Action::MarkDone { .. } => ActionKind::MarkDone,
            Action::RequestClose(_) => ActionKind::RequestClose,
            Action::Postpone { .. } => ActionKind::Postpone,
            Action::Resume => ActionKind::Resume,
            Action::RequestRereview { .. } => ActionKind::RequestRereview,
            Action::Federal { .. } => ActionKind::Federal,
            Action::RequestTechSupport { .. } => ActionKind::RequestTechSupport,
            Action::SupportReturn { .. } => ActionKind::SupportReturn,
            Action::CuratorAccept => ActionKind::CuratorAccept,
            Action::CuratorReturn { .. } => ActionKind::CuratorReturn,
        }
    }
}

impl ActionKind {
    pub const ALL: [ActionKind; 15] = [
        ActionKind::SubmitToModeration,
        ActionKind::Route,
        ActionKind::Assign,
        ActionKind::Take,
        ActionKind::Release,
        ActionKind::MarkDone,
        ActionKind::RequestClose,
        ActionKind::Postpone,
        ActionKind::Resume,
        ActionKind::RequestRereview,
        ActionKind::Federal,
        ActionKind::RequestTechSupport,
        ActionKind::SupportReturn,
        ActionKind::CuratorAccept,
        ActionKind::CuratorReturn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::SubmitToModeration => "submit_to_moderation",
            ActionKind::Route => "route",
            ActionKind::Assign => "assign",
            ActionKind::Take => "take",
            ActionKind::Release => "release",
            ActionKind::MarkDone => "mark_done",
            ActionKind::RequestClose => "request_close",
            ActionKind::Postpone => "postpone",
            ActionKind::Resume => "resume",
            ActionKind::RequestRereview => "request_rereview",
            ActionKind::Federal => "federal",
            ActionKind::RequestTechSupport => "request_tech_support",
            ActionKind::SupportReturn => "support_return",
            ActionKind::CuratorAccept => "curator_accept",
            ActionKind::CuratorReturn => "curator_return",
        }
    }

    pub fn parse(v: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == v)
    }

    pub fn label(self) -> &'static str {
        match self {
            ActionKind::SubmitToModeration => text::ACTION_SUBMIT,
            ActionKind::Route => text::ACTION_ROUTE,
            ActionKind::Assign => text::ACTION_ASSIGN,
            ActionKind::Take => text::ACTION_TAKE,
            ActionKind::Release => text::ACTION_RELEASE,
            ActionKind::MarkDone => text::ACTION_MARK_DONE,
            ActionKind::RequestClose => text::ACTION_REQUEST_CLOSE,
            ActionKind::Postpone => text::ACTION_POSTPONE,
            ActionKind::Resume => text::ACTION_RESUME,
            ActionKind::RequestRereview => text::ACTION_REREVIEW,
            ActionKind::Federal => text::ACTION_FEDERAL,
            ActionKind::RequestTechSupport => text::ACTION_TECH_SUPPORT,
            ActionKind::SupportReturn => text::ACTION_SUPPORT_RETURN,
            ActionKind::CuratorAccept => text::ACTION_ACCEPT,
            ActionKind::CuratorReturn => text::ACTION_RETURN,
        }
    }

    /// The roles that may take this action in some status, in `Role::ALL` order.
    pub fn roles(self) -> Vec<Role> {
        Role::ALL
            .into_iter()
            .filter(|r| RULES.iter().any(|rule| rule.action == self && rule.roles.contains(r)))
            .collect()
    }

    /// Actions only the executor holding the card may take.
    fn needs_holder(self) -> bool {
        matches!(
            self,
            ActionKind::MarkDone
                | ActionKind::RequestClose
                | ActionKind::Postpone
                | ActionKind::RequestRereview
                | ActionKind::Federal
                | ActionKind::RequestTechSupport
        )
    }
}

impl fmt::Display for ActionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// Where an appeal came in («Канал», S1-26): the call centre, direct line, web, bot and API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    CallCentre,
    DirectLine,
    Web,
    Bot,
    Api,
}

impl Channel {
    pub const ALL: [Channel; 5] = [Channel::CallCentre, Channel::DirectLine, Channel::Web, Channel::Bot, Channel::Api];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::CallCentre => "call_centre",
            Channel::DirectLine => "direct_line",
            Channel::Web => "web",
            Channel::Bot => "bot",
            Channel::Api => "api",
        }
    }

    pub fn parse(v: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == v)
    }

    pub fn label(self) -> &'static str {
        match self {
            Channel::CallCentre => text::CHANNEL_CALL_CENTRE,
            Channel::DirectLine => text::CHANNEL_DIRECT_LINE,
            Channel::Web => text::CHANNEL_WEB,
            Channel::Bot => text::CHANNEL_BOT,
            Channel::Api => text::CHANNEL_API,
        }
    }
}
