//! Applying an action: the refusals (`WorkflowError`), the effects a step records and `apply` itself.
use super::*;

/// Why an action was refused. `code` is its kind, `reason` its stable name; `Display` is the Russian
/// message for the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkflowError {
    /// Not possible in the card's current status (named in the message).
    #[error("{}", text::illegal(action.label(), status.label()))]
    IllegalTransition { status: Status, action: ActionKind },
    /// The role may never take this action.
    #[error("{}", text::forbidden(action.label(), role.label()))]
    Forbidden { role: Role, action: ActionKind },
    /// The card is outside the executor's organisation.
    #[error("{}", text::OUT_OF_AREA)]
    OutOfArea,
    /// An executor acted on a card they do not hold.
    #[error("{}", if *held_by_other { text::HELD_BY_OTHER } else { text::TAKE_FIRST })]
    NotHolder { held_by_other: bool },
    /// «Взять» on a card somebody holds, or «Назначить» to its holder.
    #[error("{}", match (by_actor, assign) {
        (_, true) => text::ALREADY_ASSIGNED,
        (true, false) => text::ALREADY_YOURS,
        (false, false) => text::HELD_BY_OTHER,
    })]
    AlreadyHeld { by_actor: bool, assign: bool },
    /// A supervisor releasing a card nobody holds.
    #[error("{}", text::NOT_HELD)]
    NotHeld,
    #[error("{}", text::not_due(*until))]
    NotDue { until: NaiveDate },
    /// A curator reviewing a card they executed.
    #[error("{}", text::SELF_REVIEW)]
    SelfReview,
    /// A form field is wrong; `field` is the request field's name.
    #[error("{description}")]
    Invalid { field: &'static str, description: &'static str },
}

impl WorkflowError {
    pub(super) fn invalid(field: &'static str, description: &'static str) -> Self {
        WorkflowError::Invalid { field, description }
    }

    /// The kind of refusal, which the API turns into a gRPC code.
    pub fn code(&self) -> WorkflowCode {
        match self {
            WorkflowError::IllegalTransition { .. }
            | WorkflowError::NotHolder { .. }
            | WorkflowError::AlreadyHeld { .. }
            | WorkflowError::NotHeld
            | WorkflowError::NotDue { .. } => WorkflowCode::FailedPrecondition,
            WorkflowError::Forbidden { .. } | WorkflowError::OutOfArea | WorkflowError::SelfReview => {
                WorkflowCode::PermissionDenied
            }
            WorkflowError::Invalid { .. } => WorkflowCode::InvalidArgument,
        }
    }

    /// The stable reason an integrator branches on (never changed once released).
    pub fn reason(&self) -> &'static str {
        match self {
            WorkflowError::IllegalTransition { .. } => "ILLEGAL_TRANSITION",
            WorkflowError::Forbidden { .. } => "ROLE_FORBIDDEN",
            WorkflowError::OutOfArea => "OUT_OF_AREA",
            WorkflowError::NotHolder { .. } => "NOT_HOLDER",
            WorkflowError::AlreadyHeld { .. } => "ALREADY_HELD",
            WorkflowError::NotHeld => "NOT_HELD",
            WorkflowError::NotDue { .. } => "NOT_DUE",
            WorkflowError::SelfReview => "SELF_REVIEW",
            WorkflowError::Invalid { .. } => "INVALID_ARGUMENT",
        }
    }
}

/// The kinds of workflow refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum WorkflowCode {
    FailedPrecondition,
    PermissionDenied,
    InvalidArgument,
}

/// What a step changed or recorded, in the order the timeline («Ход решения», S1-32) shows it; each is
/// also an event. Who and when come from the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    SolutionRecorded {
        solution: String,
        media: Vec<Uuid>,
    },
    CloseRequested {
        reason: CloseReason,
        comment: String,
        duplicate_of: Option<u64>,
    },
    /// The request went straight back to the executor, who keeps the card (S1-45).
    CloseRequestReturned {
        reason: CloseReason,
        defect: CloseDefect,
    },
    Postponed {
        reason: PostponeReason,
        until: NaiveDate,
        comment: String,
    },
    RereviewRequested {
        reason: RereviewReason,
        comment: String,
    },
    TechSupportRequested {
        fields: String,
    },
    SupportResolved {
        note: String,
    },
    FederalRequested {
        comment: String,
    },
    ReturnedForRework {
        comment: String,
    },
    StatusChanged {
        from: Status,
        to: Status,
    },
    LockReleased {
        executor: Uuid,
    },
    LockTaken {
        executor: Uuid,
    },
    LabelAdded(Label),
    ExecutorOrgChanged {
        from: Option<Uuid>,
        to: Option<Uuid>,
    },
    QueueChanged(Queue),
    WorkQueueItem {
        recipient: Recipient,
        item: WorkItem,
    },
}

/// The card after a step and what to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub state: CardState,
    pub effects: Vec<Effect>,
}

/// Whether `actor` may start `action` on `card` today, payload aside: role, status, lock, area, date.
/// Role first (an action the role never has is refused the same way in every status), then the status.
pub(super) fn authorize(
    card: &CardState,
    actor: &Actor,
    action: ActionKind,
    today: NaiveDate,
) -> Result<Rule, WorkflowError> {
    if !RULES.iter().any(|r| r.action == action && r.roles.contains(&actor.role)) {
        return Err(WorkflowError::Forbidden { role: actor.role, action });
    }
    let rule = *rule_for(card.status, action, actor.role)
        .ok_or(WorkflowError::IllegalTransition { status: card.status, action })?;
    let holds = card.holder == Some(actor.id);
    let not_holder = WorkflowError::NotHolder { held_by_other: card.holder.is_some() };
    let executor = actor.role == Role::Executor;
    match action {
        ActionKind::Take if actor.org.is_none() || card.executor_org != actor.org => Err(WorkflowError::OutOfArea),
        ActionKind::Take if card.holder.is_some() => Err(WorkflowError::AlreadyHeld { by_actor: holds, assign: false }),
        ActionKind::Release if executor && !holds => Err(not_holder),
        // Supervisors and admins free anyone's card (a stuck lock), but there must be one.
        ActionKind::Release if card.holder.is_none() => Err(WorkflowError::NotHeld),
        a if a.needs_holder() && !holds => Err(not_holder),
        ActionKind::Resume => match card.postponed_until {
            Some(until) if until > today => Err(WorkflowError::NotDue { until }),
            _ => Ok(()),
        },
        ActionKind::CuratorAccept | ActionKind::CuratorReturn if card.last_executor == Some(actor.id) => {
            Err(WorkflowError::SelfReview)
        }
        _ => Ok(()),
    }?;
    Ok(rule)
}

/// The actions `actor` can start on `card` today, for the card's buttons and «Действие» menu (S1-34).
pub fn available(card: &CardState, actor: &Actor, today: NaiveDate) -> Vec<ActionKind> {
    ActionKind::ALL.into_iter().filter(|a| authorize(card, actor, *a, today).is_ok()).collect()
}

/// Takes one step of the workflow. Refusals come in the order: role, status, lock/area/date, form fields.
pub fn apply(card: &CardState, actor: &Actor, action: Action, today: NaiveDate) -> Result<Transition, WorkflowError> {
    let rule = authorize(card, actor, action.kind(), today)?;
    let mut next = card.clone();
    next.status = rule.to;
    let mut records = Vec::new();
    let mut item = None;
    match action {
        Action::SubmitToModeration | Action::CuratorAccept => {}
        Action::Route { org } => {
            if org.is_nil() {
                return Err(WorkflowError::invalid("org", text::ORG_REQUIRED));
            }
            next.executor_org = Some(org);
            // Back from moderators or the federal queue: tell whoever worked on it, if it stays in their area.
            let returned = match card.status {
                Status::Rereview => Some(WorkItem::ReturnedFromRereview),
                Status::Federal => Some(WorkItem::ReturnedFromFederal),
                _ => None,
            };
            if let Some(kind) = returned {
                item = if card.executor_org == Some(org) { recipient(card) } else { Some(Recipient::Org(org)) }
                    .map(|r| (r, kind));
            }
        }
        Action::Assign { executor } => {
            if executor.is_nil() {
                return Err(WorkflowError::invalid("executor_id", text::EXECUTOR_REQUIRED));
            }
            if card.holder == Some(executor) {
                return Err(WorkflowError::AlreadyHeld { by_actor: false, assign: true });
            }
            next.holder = Some(executor);
            next.last_executor = Some(executor);
        }
        Action::Take => {
            next.holder = Some(actor.id);
            next.last_executor = Some(actor.id);
        }
        Action::Release => next.holder = None,
        Action::MarkDone { solution, media } => {
            let solution = required("solution", &solution, text::SOLUTION_REQUIRED)?;
            next.holder = None;
            records.push(Effect::SolutionRecorded { solution, media });
        }
        Action::RequestClose(request) => {
            check_len("comment", &request.comment)?;
            if let Some(defect) = request.defect(card.number) {
                // S1-45: the request does not reach the curator; the executor keeps the card.
                let back = Transition {
                    state: card.clone(),
                    effects: vec![Effect::CloseRequestReturned { reason: request.reason, defect }],
                };
                return Ok(back);
            }
            next.holder = None;
            next.close_reason = Some(request.reason);
            records.push(Effect::CloseRequested {
                reason: request.reason,
                comment: request.comment.trim().to_string(),
                duplicate_of: request.duplicate_of,
            });
        }
        Action::Postpone { reason, until, comment } => {
            if until <= today {
                return Err(WorkflowError::invalid("until", text::UNTIL_NOT_FUTURE));
            }
            let comment = if reason == PostponeReason::Other {
                required("comment", &comment, text::REASON_COMMENT_REQUIRED)?
            } else {
                optional("comment", &comment)?
            };
            next.holder = None;
            next.postponed_until = Some(until);
            records.push(Effect::Postponed { reason, until, comment });
        }
        Action::Resume => {
            next.postponed_until = None;
            item = recipient(card).map(|r| (r, WorkItem::PostponedDue));
        }
        Action::RequestRereview { reason, comment } => {
            let comment = optional("comment", &comment)?;
            next.holder = None;
            records.push(Effect::RereviewRequested { reason, comment });
        }
        Action::Federal { comment } => {
            let comment = optional("comment", &comment)?;
            next.holder = None;
            next.federal = true;
            records.push(Effect::FederalRequested { comment });
        }
        Action::RequestTechSupport { fields } => {
            let fields = required("fields", &fields, text::FIELDS_REQUIRED)?;
            next.holder = None;
            records.push(Effect::TechSupportRequested { fields });
        }
        Action::SupportReturn { note } => {
            let note = optional("note", &note)?;
            records.push(Effect::SupportResolved { note });
            item = recipient(card).map(|r| (r, WorkItem::ReturnedFromSupport));
        }
        Action::CuratorReturn { comment } => {
            let comment = required("comment", &comment, text::REWORK_COMMENT_REQUIRED)?;
            next.close_reason = None;
            records.push(Effect::ReturnedForRework { comment });
            item = recipient(card).map(|r| (r, WorkItem::ReturnedForRework));
        }
    }
    Ok(finish(card, next, records, item))
}

/// The executor who worked on the card last, else its organisation.
pub(super) fn recipient(card: &CardState) -> Option<Recipient> {
    card.last_executor.map(Recipient::Executor).or_else(|| card.executor_org.map(Recipient::Org))
}

/// Derives the bookkeeping effects from the difference between the states, so they cannot disagree.
pub(super) fn finish(
    before: &CardState,
    next: CardState,
    mut effects: Vec<Effect>,
    item: Option<(Recipient, WorkItem)>,
) -> Transition {
    if before.status != next.status {
        effects.push(Effect::StatusChanged { from: before.status, to: next.status });
    }
    if before.holder != next.holder {
        if let Some(executor) = before.holder {
            effects.push(Effect::LockReleased { executor });
        }
        if let Some(executor) = next.holder {
            effects.push(Effect::LockTaken { executor });
        }
    }
    if next.federal && !before.federal {
        effects.push(Effect::LabelAdded(Label::Federal));
    }
    if before.executor_org != next.executor_org {
        effects.push(Effect::ExecutorOrgChanged { from: before.executor_org, to: next.executor_org });
    }
    if let Some(queue) = next.status.queue().filter(|q| before.status.queue() != Some(*q)) {
        effects.push(Effect::QueueChanged(queue));
    }
    if let Some((recipient, item)) = item {
        effects.push(Effect::WorkQueueItem { recipient, item });
    }
    Transition { state: next, effects }
}

pub(super) fn check_len(field: &'static str, v: &str) -> Result<(), WorkflowError> {
    if v.chars().count() > MAX_TEXT { Err(WorkflowError::invalid(field, text::TOO_LONG)) } else { Ok(()) }
}

pub(super) fn optional(field: &'static str, v: &str) -> Result<String, WorkflowError> {
    check_len(field, v)?;
    Ok(v.trim().to_string())
}

pub(super) fn required(field: &'static str, v: &str, missing: &'static str) -> Result<String, WorkflowError> {
    let v = optional(field, v)?;
    if v.is_empty() { Err(WorkflowError::invalid(field, missing)) } else { Ok(v) }
}

/// The role an account with `roles` acts in for `action` on a card in `status`: one the table allows there,
/// else one that may take the action somewhere (the refusal then names the status), else its first role
/// (refused as forbidden). `None` only for an account without workflow roles.
pub fn acting_role(roles: &[Role], action: ActionKind, status: Status) -> Option<Role> {
    let may = action.roles();
    roles
        .iter()
        .find(|r| rule_for(status, action, **r).is_some())
        .or_else(|| roles.iter().find(|r| may.contains(r)))
        .or_else(|| roles.first())
        .copied()
}
