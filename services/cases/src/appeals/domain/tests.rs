use std::collections::{BTreeMap, BTreeSet};

use super::*;

const ORG: Uuid = Uuid::from_u128(0xA);
const ORG_B: Uuid = Uuid::from_u128(0xB);
const EXEC: Uuid = Uuid::from_u128(1);
const EXEC_2: Uuid = Uuid::from_u128(2);
const EXEC_B: Uuid = Uuid::from_u128(3);
const STAFF: Uuid = Uuid::from_u128(100);

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 3, 10).unwrap()
}

fn actor(role: Role) -> Actor {
    match role {
        Role::Executor => Actor { id: EXEC, role, org: Some(ORG) },
        _ => Actor { id: STAFF, role, org: None },
    }
}

fn exec(id: Uuid) -> Actor {
    Actor { id, role: Role::Executor, org: Some(if id == EXEC_B { ORG_B } else { ORG }) }
}

/// A consistent card in `status`, last worked on by `EXEC_2`.
fn card(status: Status) -> CardState {
    CardState {
        number: 376,
        status,
        holder: None,
        last_executor: (status != Status::New).then_some(EXEC_2),
        executor_org: Some(ORG),
        federal: status == Status::Federal,
        postponed_until: (status == Status::Postponed).then_some(today()),
        close_reason: matches!(status, Status::CloseRequested | Status::Closed).then_some(CloseReason::CitizenRefused),
    }
}

fn held(by: Uuid) -> CardState {
    CardState { holder: Some(by), last_executor: Some(by), ..card(Status::InWork) }
}

/// A complete, valid payload for each kind.
fn valid(kind: ActionKind) -> Action {
    match kind {
        ActionKind::SubmitToModeration => Action::SubmitToModeration,
        ActionKind::Route => Action::Route { org: ORG },
        ActionKind::Assign => Action::Assign { executor: EXEC },
        ActionKind::Take => Action::Take,
        ActionKind::Release => Action::Release,
        ActionKind::MarkDone => {
            Action::MarkDone { solution: "Консультация дана".into(), media: vec![] }
        }
        ActionKind::RequestClose => Action::RequestClose(CloseRequest {
            reason: CloseReason::CitizenRefused,
            comment: String::new(),
            duplicate_of: None,
        }),
        ActionKind::Postpone => Action::Postpone {
            reason: PostponeReason::WorksInProgress,
            until: today() + chrono::Duration::days(30),
            comment: String::new(),
        },
        ActionKind::Resume => Action::Resume,
        ActionKind::RequestRereview => {
            Action::RequestRereview { reason: RereviewReason::WrongRegion, comment: String::new() }
        }
        ActionKind::Federal => Action::Federal { comment: String::new() },
        ActionKind::RequestTechSupport => {
            Action::RequestTechSupport { fields: "Телефон: +7 917 000-00-00".into() }
        }
        ActionKind::SupportReturn => Action::SupportReturn { note: String::new() },
        ActionKind::CuratorAccept => Action::CuratorAccept,
        ActionKind::CuratorReturn => {
            Action::CuratorReturn { comment: "Заявитель не подтвердил помощь".into() }
        }
    }
}

/// The card a triple is tried on: every lock, area and date precondition met, so only the table decides.
fn fixture(status: Status, kind: ActionKind, role: Role) -> CardState {
    match (status, kind, role) {
        (Status::InWork, ActionKind::Take, _) => card(Status::InWork),
        (Status::InWork, _, Role::Executor) => held(EXEC),
        (Status::InWork, _, _) => held(EXEC_2),
        _ => card(status),
    }
}

/// The allowed triples, spelled out independently of `RULES` (S1-5…S1-11, S1-29…S1-47).
fn expected() -> BTreeMap<(Status, ActionKind, Role), Status> {
    use ActionKind as A;
    use Role as R;
    use Status as S;
    let lines: &[(S, A, &[R], S)] = &[
        (S::New, A::SubmitToModeration, &[R::Moderator, R::Admin], S::Moderation),
        (S::New, A::Take, &[R::Executor], S::InWork),
        (S::New, A::Assign, &[R::Supervisor, R::Admin], S::InWork),
        (S::Moderation, A::Route, &[R::Moderator, R::Admin], S::InWork),
        (S::Rereview, A::Route, &[R::Moderator, R::Admin], S::InWork),
        (S::Federal, A::Route, &[R::Moderator, R::Admin], S::InWork),
        (S::InWork, A::Take, &[R::Executor], S::InWork),
        (S::InWork, A::Assign, &[R::Supervisor, R::Admin], S::InWork),
        (S::InWork, A::Release, &[R::Executor, R::Supervisor, R::Admin], S::InWork),
        (S::InWork, A::MarkDone, &[R::Executor], S::DoneReview),
        (S::InWork, A::RequestClose, &[R::Executor], S::CloseRequested),
        (S::InWork, A::Postpone, &[R::Executor], S::Postponed),
        (S::InWork, A::RequestRereview, &[R::Executor], S::Rereview),
        (S::InWork, A::Federal, &[R::Executor], S::Federal),
        (S::InWork, A::RequestTechSupport, &[R::Executor], S::TechSupport),
        (S::TechSupport, A::SupportReturn, &[R::Support, R::Admin], S::InWork),
        (S::Postponed, A::Resume, &[R::System, R::Supervisor, R::Admin], S::InWork),
        (S::DoneReview, A::CuratorAccept, &[R::Curator, R::Admin], S::Done),
        (S::DoneReview, A::CuratorReturn, &[R::Curator, R::Admin], S::InWork),
        (S::CloseRequested, A::CuratorAccept, &[R::Curator, R::Admin], S::Closed),
        (S::CloseRequested, A::CuratorReturn, &[R::Curator, R::Admin], S::InWork),
    ];
    let mut m = BTreeMap::new();
    for (from, a, roles, to) in lines {
        for r in *roles {
            assert!(m.insert((*from, *a, *r), *to).is_none(), "duplicate line {from:?} {a:?} {r:?}");
        }
    }
    m
}

#[test]
fn table_matches_the_spelled_out_workflow() {
    let mut from_table = BTreeMap::new();
    for r in RULES {
        for role in r.roles {
            assert!(from_table.insert((r.from, r.action, *role), r.to).is_none(), "{r:?} repeats a triple");
        }
    }
    assert_eq!(from_table, expected());
}

// S1-5…S1-11, S1-12, S1-29…S1-47: all 11 × 15 × 7 = 1155 (status, action, role) triples.
#[test]
fn every_status_action_role_triple_succeeds_or_fails_as_the_table_says() {
    let expected = expected();
    let mut tried = 0;
    for status in Status::ALL {
        for kind in ActionKind::ALL {
            for role in Role::ALL {
                tried += 1;
                let card = fixture(status, kind, role);
                let got = apply(&card, &actor(role), valid(kind), today());
                let ever = expected.keys().any(|(_, a, r)| *a == kind && *r == role);
                match (expected.get(&(status, kind, role)), got) {
                    (Some(to), Ok(t)) => {
                        assert_eq!(t.state.status, *to, "{status:?} {kind:?} {role:?}");
                        let changed = t.effects.contains(&Effect::StatusChanged { from: status, to: *to });
                        assert_eq!(changed, status != *to, "{status:?} {kind:?} {role:?}: {:?}", t.effects);
                    }
                    (Some(_), Err(e)) => panic!("{status:?} {kind:?} {role:?} refused: {e:?}"),
                    (None, Ok(t)) => panic!("{status:?} {kind:?} {role:?} allowed: {t:?}"),
                    (None, Err(e)) if ever => {
                        assert_eq!(e, WorkflowError::IllegalTransition { status, action: kind });
                        assert_eq!(e.code(), WorkflowCode::FailedPrecondition);
                        let msg = e.to_string();
                        assert!(msg.contains(&format!("«{}»", status.label())), "{msg}");
                        assert!(msg.contains(kind.label()), "{msg}");
                    }
                    (None, Err(e)) => {
                        assert_eq!(e, WorkflowError::Forbidden { role, action: kind });
                        assert_eq!(e.code(), WorkflowCode::PermissionDenied);
                        assert!(e.to_string().contains(role.label()), "{e}");
                    }
                }
            }
        }
    }
    assert_eq!(tried, 1155);
}

#[test]
fn names_round_trip_and_labels_are_distinct() {
    for s in Status::ALL {
        assert_eq!(Status::parse(s.as_str()), Some(s));
    }
    for r in Role::ALL {
        assert_eq!(Role::parse(r.as_str()), Some(r));
    }
    for k in ActionKind::ALL {
        assert_eq!(ActionKind::parse(k.as_str()), Some(k));
    }
    for r in CloseReason::ALL {
        assert_eq!(CloseReason::parse(r.as_str()), Some(r));
    }
    for r in PostponeReason::ALL {
        assert_eq!(PostponeReason::parse(r.as_str()), Some(r));
    }
    for r in RereviewReason::ALL {
        assert_eq!(RereviewReason::parse(r.as_str()), Some(r));
    }
    assert_eq!(Status::parse("resolved"), None);
    let labels: BTreeSet<&str> = Status::ALL.iter().map(|s| s.label()).collect();
    assert_eq!(labels.len(), Status::ALL.len());
    let actions: BTreeSet<&str> = ActionKind::ALL.iter().map(|k| k.label()).collect();
    assert_eq!(actions.len(), ActionKind::ALL.len());
    // S1-8…S1-12: the seed's six statuses keep the seed's words.
    let seed = ["Новое", "На модерации", "В работе", "Выполнено", "Закрыто", "Отложенное решение"];
    for w in seed {
        assert!(labels.contains(w), "{w}");
    }
    assert_eq!(ActionKind::Release.roles(), [Role::Executor, Role::Supervisor, Role::Admin]);
}

// S1-42…S1-44: the seven reasons and what each needs.
#[test]
fn close_reasons_are_the_seeds_seven_with_their_requirements() {
    let labels: Vec<&str> = CloseReason::ALL.iter().map(|r| r.label()).collect();
    assert_eq!(
        labels,
        [
            "Заявитель отказался от помощи",
            "В обращении указан неверный номер телефона",
            "Не удалось связаться с заявителем",
            "Обращение дублирует другое обращение",
            "Заявитель не обращался за помощью",
            "Обращение не может быть выполнено по объективным причинам",
            "Заявителю дан мотивированный отказ",
        ]
    );
    let needs: Vec<CloseRequirement> = CloseReason::ALL.iter().map(|r| r.requires()).collect();
    use CloseRequirement::*;
    assert_eq!(needs, [Nothing, Nothing, Nothing, DuplicateNumber, Nothing, Comment, Comment]);
}

fn close(reason: CloseReason, comment: &str, duplicate_of: Option<u64>) -> Action {
    Action::RequestClose(CloseRequest { reason, comment: comment.into(), duplicate_of })
}

// S1-43, S1-45: a duplicate without the other number comes straight back; the executor keeps the card.
#[test]
fn duplicate_without_number_returns_to_the_executor() {
    let c = held(EXEC);
    let t = apply(&c, &exec(EXEC), close(CloseReason::Duplicate, "тот же гражданин", None), today()).unwrap();
    assert_eq!(t.state, c);
    assert_eq!(t.state.status, Status::InWork);
    assert_eq!(t.state.holder, Some(EXEC));
    assert_eq!(
        t.effects,
        [Effect::CloseRequestReturned { reason: CloseReason::Duplicate, defect: CloseDefect::NoDuplicateNumber }]
    );
    // Its own number is no better (S1-43).
    let t = apply(&c, &exec(EXEC), close(CloseReason::Duplicate, "", Some(c.number)), today()).unwrap();
    assert_eq!(t.state.status, Status::InWork);
    assert!(matches!(t.effects[..], [Effect::CloseRequestReturned { defect: CloseDefect::SelfDuplicate, .. }]));
}

// S1-43, S1-45, S1-10: with the number it waits for the curator, who closes it.
#[test]
fn duplicate_with_number_waits_for_the_curator_who_closes_it() {
    let c = held(EXEC);
    let t = apply(&c, &exec(EXEC), close(CloseReason::Duplicate, "", Some(321_392)), today()).unwrap();
    assert_eq!(t.state.status, Status::CloseRequested);
    assert_eq!(t.state.holder, None, "the request ends the executor's work on the card");
    assert_eq!(t.state.close_reason, Some(CloseReason::Duplicate));
    assert_eq!(
        t.effects,
        [
            Effect::CloseRequested {
                reason: CloseReason::Duplicate,
                comment: String::new(),
                duplicate_of: Some(321_392)
            },
            Effect::StatusChanged { from: Status::InWork, to: Status::CloseRequested },
            Effect::LockReleased { executor: EXEC },
            Effect::QueueChanged(Queue::Curators),
        ]
    );
    let curator = actor(Role::Curator);
    assert_eq!(available(&t.state, &curator, today()), [ActionKind::CuratorAccept, ActionKind::CuratorReturn]);
    let done = apply(&t.state, &curator, Action::CuratorAccept, today()).unwrap();
    assert_eq!(done.state.status, Status::Closed);
    assert_eq!(done.state.close_reason, Some(CloseReason::Duplicate));
    assert_eq!(done.effects, [Effect::StatusChanged { from: Status::CloseRequested, to: Status::Closed }]);
    // Closed is final: nobody can do anything more.
    for role in Role::ALL {
        let a = Actor { id: Uuid::from_u128(500), role, org: Some(ORG) };
        assert!(available(&done.state, &a, today()).is_empty(), "{role:?}");
    }
}

// S1-44, S1-45: objective reasons and a motivated refusal need the reason written in the comment.
#[test]
fn objective_reasons_or_motivated_refusal_without_comment_return_to_the_executor() {
    for reason in [CloseReason::ObjectiveReasons, CloseReason::MotivatedRefusal] {
        let c = held(EXEC);
        for blank in ["", "   \n"] {
            let t = apply(&c, &exec(EXEC), close(reason, blank, None), today()).unwrap();
            assert_eq!(t.state, c, "{reason:?}");
            assert_eq!(t.effects, [Effect::CloseRequestReturned { reason, defect: CloseDefect::NoComment }]);
        }
        let t = apply(&c, &exec(EXEC), close(reason, " Нет правовых оснований ", None), today()).unwrap();
        assert_eq!(t.state.status, Status::CloseRequested);
        assert!(t.effects.contains(&Effect::CloseRequested {
            reason,
            comment: "Нет правовых оснований".into(),
            duplicate_of: None
        }));
    }
    // Reasons that need nothing go to the curator as they are.
    for reason in [CloseReason::CitizenRefused, CloseReason::WrongPhone, CloseReason::Unreachable] {
        let t = apply(&held(EXEC), &exec(EXEC), close(reason, "", None), today()).unwrap();
        assert_eq!(t.state.status, Status::CloseRequested, "{reason:?}");
    }
}

// S1-43, S1-44: the same rules as field errors for a form that validates before sending.
#[test]
fn close_request_direct_validation_names_the_field() {
    let req = |reason, comment: &str, duplicate_of| CloseRequest { reason, comment: comment.into(), duplicate_of };
    let e = req(CloseReason::Duplicate, "", None).check(376).unwrap_err();
    assert_eq!(e, WorkflowError::Invalid { field: "duplicate_of", description: text::DUPLICATE_REQUIRED });
    assert_eq!(e.code(), WorkflowCode::InvalidArgument);
    assert_eq!(e.to_string(), text::DUPLICATE_REQUIRED);
    assert_eq!(req(CloseReason::Duplicate, "", Some(376)).check(376).unwrap_err().to_string(), text::DUPLICATE_SELF);
    let e = req(CloseReason::MotivatedRefusal, " ", None).check(376).unwrap_err();
    assert_eq!(e, WorkflowError::Invalid { field: "comment", description: text::REASON_COMMENT_REQUIRED });
    assert_eq!(req(CloseReason::Duplicate, "", Some(375)).check(376), Ok(()));
    assert_eq!(req(CloseReason::WrongPhone, "", None).check(376), Ok(()));
    let long = "я".repeat(MAX_TEXT + 1);
    assert_eq!(req(CloseReason::WrongPhone, &long, None).check(376).unwrap_err().code(), WorkflowCode::InvalidArgument);
}

// S1-4, S1-45: the curator can also send a close request back, with a comment.
#[test]
fn curator_returns_a_close_request_to_work() {
    let asked = apply(&held(EXEC), &exec(EXEC), close(CloseReason::Unreachable, "", None), today()).unwrap().state;
    let curator = actor(Role::Curator);
    let e = apply(&asked, &curator, Action::CuratorReturn { comment: " ".into() }, today()).unwrap_err();
    assert_eq!(e, WorkflowError::Invalid { field: "comment", description: text::REWORK_COMMENT_REQUIRED });
    let t = apply(&asked, &curator, Action::CuratorReturn { comment: "Было две попытки, нужно три".into() }, today())
        .unwrap();
    assert_eq!(t.state.status, Status::InWork);
    assert_eq!(t.state.close_reason, None);
    assert_eq!(t.state.holder, None);
    assert!(
        t.effects.contains(&Effect::WorkQueueItem {
            recipient: Recipient::Executor(EXEC),
            item: WorkItem::ReturnedForRework
        })
    );
}

// S1-11, S1-39: the date must lie ahead; a reason is picked from the list.
#[test]
fn postpone_needs_a_future_date() {
    let postpone =
        |until: NaiveDate, reason, comment: &str| Action::Postpone { reason, until, comment: comment.into() };
    let c = held(EXEC);
    for until in [today() - chrono::Duration::days(1), today()] {
        let e = apply(&c, &exec(EXEC), postpone(until, PostponeReason::WorksPlanned, ""), today()).unwrap_err();
        assert_eq!(e, WorkflowError::Invalid { field: "until", description: text::UNTIL_NOT_FUTURE });
        assert_eq!(e.code(), WorkflowCode::InvalidArgument);
    }
    let e = apply(&c, &exec(EXEC), postpone(today().succ_opt().unwrap(), PostponeReason::Other, ""), today());
    assert_eq!(e.unwrap_err(), WorkflowError::Invalid { field: "comment", description: text::REASON_COMMENT_REQUIRED });
    let until = NaiveDate::from_ymd_opt(2025, 12, 31).unwrap();
    let t = apply(&c, &exec(EXEC), postpone(until, PostponeReason::WorksInProgress, "Строят школу"), today()).unwrap();
    assert_eq!(t.state.status, Status::Postponed);
    assert_eq!(t.state.postponed_until, Some(until));
    assert_eq!(t.state.holder, None);
    assert_eq!(
        t.effects,
        [
            Effect::Postponed {
                reason: PostponeReason::WorksInProgress, until, comment: "Строят школу".into()
            },
            Effect::StatusChanged { from: Status::InWork, to: Status::Postponed },
            Effect::LockReleased { executor: EXEC },
        ]
    );
}

// S1-11: back to work on its date, with a work-queue item for the executor who postponed it.
#[test]
fn resume_when_due_returns_to_work_with_a_work_queue_item() {
    let until = NaiveDate::from_ymd_opt(2025, 12, 31).unwrap();
    let postponed = CardState { postponed_until: Some(until), last_executor: Some(EXEC), ..card(Status::Postponed) };
    let system = actor(Role::System);
    let early = apply(&postponed, &system, Action::Resume, until.pred_opt().unwrap()).unwrap_err();
    assert_eq!(early, WorkflowError::NotDue { until });
    assert_eq!(early.code(), WorkflowCode::FailedPrecondition);
    assert!(early.to_string().contains("31.12.2025"), "{early}");
    for day in [until, until + chrono::Duration::days(3)] {
        let t = apply(&postponed, &system, Action::Resume, day).unwrap();
        assert_eq!(t.state.status, Status::InWork);
        assert_eq!(t.state.postponed_until, None);
        assert_eq!(t.state.holder, None);
        assert_eq!(
            t.effects,
            [
                Effect::StatusChanged { from: Status::Postponed, to: Status::InWork },
                Effect::QueueChanged(Queue::Executors),
                Effect::WorkQueueItem { recipient: Recipient::Executor(EXEC), item: WorkItem::PostponedDue },
            ]
        );
    }
    // Executors cannot bring it back themselves.
    assert_eq!(
        apply(&postponed, &exec(EXEC), Action::Resume, until).unwrap_err(),
        WorkflowError::Forbidden { role: Role::Executor, action: ActionKind::Resume }
    );
}

// S1-29, S1-30, S1-1: take a free card of one's area; nothing without holding it.
#[test]
fn executors_work_only_on_the_card_they_hold() {
    let free = card(Status::InWork);
    let e = apply(&free, &exec(EXEC), valid(ActionKind::MarkDone), today()).unwrap_err();
    assert_eq!(e, WorkflowError::NotHolder { held_by_other: false });
    assert_eq!((e.code(), e.to_string().as_str()), (WorkflowCode::FailedPrecondition, text::TAKE_FIRST));
    assert_eq!(apply(&free, &exec(EXEC_B), Action::Take, today()).unwrap_err(), WorkflowError::OutOfArea);
    assert_eq!(WorkflowError::OutOfArea.code(), WorkflowCode::PermissionDenied);
    let t = apply(&free, &exec(EXEC), Action::Take, today()).unwrap();
    assert_eq!(t.effects, [Effect::LockTaken { executor: EXEC }]);
    let mine = t.state;
    let e = apply(&mine, &exec(EXEC_2), Action::Take, today()).unwrap_err();
    assert_eq!(e, WorkflowError::AlreadyHeld { by_actor: false, assign: false });
    assert_eq!(e.to_string(), text::HELD_BY_OTHER);
    assert_eq!(apply(&mine, &exec(EXEC), Action::Take, today()).unwrap_err().to_string(), text::ALREADY_YOURS);
    for kind in [ActionKind::MarkDone, ActionKind::Federal, ActionKind::Release] {
        let e = apply(&mine, &exec(EXEC_2), valid(kind), today()).unwrap_err();
        assert_eq!(e, WorkflowError::NotHolder { held_by_other: true }, "{kind:?}");
    }
    // A «Новое» card already routed to the area can be taken straight away (seed 001 §5); an unrouted one not.
    let t = apply(&card(Status::New), &exec(EXEC), Action::Take, today()).unwrap();
    assert_eq!(t.state.status, Status::InWork);
    let unrouted = CardState::new(1, None);
    assert_eq!(apply(&unrouted, &exec(EXEC), Action::Take, today()).unwrap_err(), WorkflowError::OutOfArea);
}

// S1-35: «Завершить работу над карточкой» lets go without touching the status; a supervisor frees stuck locks.
#[test]
fn release_keeps_the_status_and_frees_the_card() {
    let t = apply(&held(EXEC), &exec(EXEC), Action::Release, today()).unwrap();
    assert_eq!(t.state.status, Status::InWork);
    assert_eq!(t.state.holder, None);
    assert_eq!(t.state.last_executor, Some(EXEC));
    assert_eq!(t.effects, [Effect::LockReleased { executor: EXEC }]);
    let sup = actor(Role::Supervisor);
    let t = apply(&held(EXEC), &sup, Action::Release, today()).unwrap();
    assert_eq!(t.effects, [Effect::LockReleased { executor: EXEC }]);
    assert_eq!(apply(&t.state, &sup, Action::Release, today()).unwrap_err(), WorkflowError::NotHeld);
}

// S1-5: a supervisor assigns a specific executor, also taking a card from another one.
#[test]
fn supervisor_assigns_and_reassigns() {
    let sup = actor(Role::Supervisor);
    let t = apply(&card(Status::New), &sup, Action::Assign { executor: EXEC }, today()).unwrap();
    assert_eq!(t.state.status, Status::InWork);
    assert_eq!(t.state.holder, Some(EXEC));
    assert_eq!(
        t.effects,
        [
            Effect::StatusChanged { from: Status::New, to: Status::InWork },
            Effect::LockTaken { executor: EXEC },
            Effect::QueueChanged(Queue::Executors),
        ]
    );
    let t2 = apply(&t.state, &sup, Action::Assign { executor: EXEC_2 }, today()).unwrap();
    assert_eq!(t2.effects, [Effect::LockReleased { executor: EXEC }, Effect::LockTaken { executor: EXEC_2 }]);
    let again = apply(&t2.state, &sup, Action::Assign { executor: EXEC_2 }, today()).unwrap_err();
    assert_eq!(again.to_string(), text::ALREADY_ASSIGNED);
    let nil = apply(&t.state, &sup, Action::Assign { executor: Uuid::nil() }, today()).unwrap_err();
    assert_eq!(nil, WorkflowError::Invalid { field: "executor_id", description: text::EXECUTOR_REQUIRED });
}

// S1-2, S1-3, S1-4, S1-9, S1-37, S1-38: done needs a solution; only the curator's acceptance makes it «Выполнено».
#[test]
fn done_goes_through_the_curator_and_can_come_back_for_rework() {
    let curator = actor(Role::Curator);
    let photo = Uuid::from_u128(77);
    let e = apply(&held(EXEC), &exec(EXEC), Action::MarkDone { solution: "  ".into(), media: vec![photo] }, today());
    assert_eq!(e.unwrap_err(), WorkflowError::Invalid { field: "solution", description: text::SOLUTION_REQUIRED });
    let done = Action::MarkDone { solution: " Записали к врачу ".into(), media: vec![photo] };
    let t = apply(&held(EXEC), &exec(EXEC), done, today()).unwrap();
    assert_eq!(t.state.status, Status::DoneReview);
    assert_eq!(t.effects[0], Effect::SolutionRecorded { solution: "Записали к врачу".into(), media: vec![photo] });
    assert!(t.effects.contains(&Effect::QueueChanged(Queue::Curators)));
    let back = apply(&t.state, &curator, Action::CuratorReturn { comment: "Нет подтверждения".into() }, today());
    let back = back.unwrap();
    assert_eq!(back.state.status, Status::InWork);
    assert!(back.effects.contains(&Effect::ReturnedForRework { comment: "Нет подтверждения".into() }));
    let retaken = apply(&back.state, &exec(EXEC), Action::Take, today()).unwrap().state;
    let fixed = Action::MarkDone {
        solution: "Записали, заявитель подтвердил".into(), media: vec![]
    };
    let review = apply(&retaken, &exec(EXEC), fixed, today()).unwrap().state;
    let t = apply(&review, &curator, Action::CuratorAccept, today()).unwrap();
    assert_eq!(t.state.status, Status::Done);
    assert_eq!(t.state.status.label(), "Выполнено");
    // A curator who executed the card does not review it.
    let own = Actor { id: EXEC, role: Role::Curator, org: None };
    assert_eq!(apply(&review, &own, Action::CuratorAccept, today()).unwrap_err(), WorkflowError::SelfReview);
}

// S1-6, S1-40: re-review goes to moderators, who fix it and send it back.
#[test]
fn rereview_goes_to_moderators_and_back() {
    let ask = Action::RequestRereview { reason: RereviewReason::WrongCategory, comment: "Это ЖКХ".into() };
    let t = apply(&held(EXEC), &exec(EXEC), ask, today()).unwrap();
    assert_eq!(t.state.status, Status::Rereview);
    assert!(t.effects.contains(&Effect::QueueChanged(Queue::Moderators)));
    let moderator = actor(Role::Moderator);
    let nil = apply(&t.state, &moderator, Action::Route { org: Uuid::nil() }, today()).unwrap_err();
    assert_eq!(nil.code(), WorkflowCode::InvalidArgument);
    // Same organisation: the executor hears of it.
    let same = apply(&t.state, &moderator, Action::Route { org: ORG }, today()).unwrap();
    assert_eq!(same.state.status, Status::InWork);
    assert_eq!(
        same.effects.last(),
        Some(&Effect::WorkQueueItem { recipient: Recipient::Executor(EXEC), item: WorkItem::ReturnedFromRereview })
    );
    // Another region: it goes to the new organisation's executors.
    let moved = apply(&t.state, &moderator, Action::Route { org: ORG_B }, today()).unwrap();
    assert_eq!(moved.state.executor_org, Some(ORG_B));
    assert!(moved.effects.contains(&Effect::ExecutorOrgChanged { from: Some(ORG), to: Some(ORG_B) }));
    assert_eq!(
        moved.effects.last(),
        Some(&Effect::WorkQueueItem { recipient: Recipient::Org(ORG_B), item: WorkItem::ReturnedFromRereview })
    );
    assert_eq!(apply(&moved.state, &exec(EXEC), Action::Take, today()).unwrap_err(), WorkflowError::OutOfArea);
    assert!(apply(&moved.state, &exec(EXEC_B), Action::Take, today()).is_ok());
}

// S1-46, S1-59: the federal level adds the label (kept afterwards, for the labels filter) and the queue.
#[test]
fn federal_level_labels_and_queues_the_card() {
    let t = apply(&held(EXEC), &exec(EXEC), Action::Federal { comment: String::new() }, today()).unwrap();
    assert_eq!(t.state.status, Status::Federal);
    assert!(t.state.federal);
    assert!(t.effects.contains(&Effect::LabelAdded(Label::Federal)));
    assert!(t.effects.contains(&Effect::QueueChanged(Queue::Federal)));
    let back = apply(&t.state, &actor(Role::Moderator), Action::Route { org: ORG }, today()).unwrap();
    assert!(back.state.federal);
    assert!(!back.effects.iter().any(|e| matches!(e, Effect::LabelAdded(_))));
}

// S1-7, S1-47: tech support corrects the fields and returns the card to work.
#[test]
fn tech_support_request_and_return() {
    let e = apply(&held(EXEC), &exec(EXEC), Action::RequestTechSupport { fields: "\t".into() }, today());
    assert_eq!(e.unwrap_err(), WorkflowError::Invalid { field: "fields", description: text::FIELDS_REQUIRED });
    let ask = Action::RequestTechSupport { fields: "Телефон заявителя: +7 917 561-89-18".into() };
    let t = apply(&held(EXEC), &exec(EXEC), ask, today()).unwrap();
    assert_eq!(t.state.status, Status::TechSupport);
    assert!(t.effects.contains(&Effect::QueueChanged(Queue::Support)));
    let back = apply(&t.state, &actor(Role::Support), Action::SupportReturn { note: "Исправлено".into() }, today());
    let back = back.unwrap();
    assert_eq!(back.state.status, Status::InWork);
    assert_eq!(
        back.effects.last(),
        Some(&Effect::WorkQueueItem { recipient: Recipient::Executor(EXEC), item: WorkItem::ReturnedFromSupport })
    );
}

// S1-34, S1-35, S1-18: the holder's «Действие» menu and the free card's button.
#[test]
fn available_actions_match_the_card_menu() {
    use ActionKind::*;
    assert_eq!(
        available(&held(EXEC), &exec(EXEC), today()),
        [Release, MarkDone, RequestClose, Postpone, RequestRereview, Federal, RequestTechSupport]
    );
    assert_eq!(available(&held(EXEC), &exec(EXEC_2), today()), []);
    assert_eq!(available(&card(Status::InWork), &exec(EXEC), today()), [Take]);
    assert_eq!(available(&card(Status::InWork), &exec(EXEC_B), today()), []);
    assert_eq!(available(&held(EXEC), &actor(Role::Supervisor), today()), [Assign, Release]);
}

// An account with several roles acts in the one the table allows for the action (S1-3: a curator who
// also executes reviews as a curator, takes as an executor).
#[test]
fn several_roles_act_in_the_one_the_table_allows() {
    let roles = [Role::Executor, Role::Curator];
    assert_eq!(acting_role(&roles, ActionKind::CuratorAccept, Status::DoneReview), Some(Role::Curator));
    assert_eq!(acting_role(&roles, ActionKind::Take, Status::InWork), Some(Role::Executor));
    assert_eq!(acting_role(&roles, ActionKind::CuratorAccept, Status::New), Some(Role::Curator));
    assert_eq!(acting_role(&[Role::Executor], ActionKind::Route, Status::Moderation), Some(Role::Executor));
    assert_eq!(acting_role(&[], ActionKind::Take, Status::New), None);
    for c in Channel::ALL {
        assert_eq!(Channel::parse(c.as_str()), Some(c));
    }
}

/// xorshift64*: a tiny deterministic generator. The workspace has no `proptest`, so the property test
/// draws its cases from this with a fixed seed: reproducible, and a failure prints the step that broke.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len())]
    }
}

/// An action of `kind` with a payload that is sometimes complete, sometimes not.
fn random_action(rng: &mut Rng, kind: ActionKind, card: &CardState, today: NaiveDate) -> Action {
    let text = |rng: &mut Rng| rng.pick(&["", "  ", "Комментарий"]).to_string();
    match kind {
        ActionKind::SubmitToModeration => Action::SubmitToModeration,
        ActionKind::Route => Action::Route { org: rng.pick(&[ORG, ORG, ORG_B, Uuid::nil()]) },
        ActionKind::Assign => Action::Assign { executor: rng.pick(&[EXEC, EXEC_2, EXEC_B, Uuid::nil()]) },
        ActionKind::Take => Action::Take,
        ActionKind::Release => Action::Release,
        ActionKind::MarkDone => Action::MarkDone { solution: text(rng), media: vec![] },
        ActionKind::RequestClose => Action::RequestClose(CloseRequest {
            reason: rng.pick(&CloseReason::ALL),
            comment: text(rng),
            duplicate_of: rng.pick(&[None, Some(card.number), Some(42)]),
        }),
        ActionKind::Postpone => Action::Postpone {
            reason: rng.pick(&PostponeReason::ALL),
            until: today + chrono::Duration::days(rng.below(12) as i64 - 2),
            comment: text(rng),
        },
        ActionKind::Resume => Action::Resume,
        ActionKind::RequestRereview => {
            Action::RequestRereview { reason: rng.pick(&RereviewReason::ALL), comment: text(rng) }
        }
        ActionKind::Federal => Action::Federal { comment: text(rng) },
        ActionKind::RequestTechSupport => Action::RequestTechSupport { fields: text(rng) },
        ActionKind::SupportReturn => Action::SupportReturn { note: text(rng) },
        ActionKind::CuratorAccept => Action::CuratorAccept,
        ActionKind::CuratorReturn => Action::CuratorReturn { comment: text(rng) },
    }
}

fn check_invariants(c: &CardState, executors: &[Uuid], ctx: &str) {
    assert_eq!(Status::parse(c.status.as_str()), Some(c.status), "{ctx}");
    if let Some(h) = c.holder {
        assert!(executors.contains(&h), "holder {h} is not an executor: {ctx}");
        assert_eq!(c.status, Status::InWork, "held outside «В работе»: {ctx}");
        assert_eq!(c.last_executor, Some(h), "{ctx}");
    }
    assert!(!(c.status.is_final() && c.holder.is_some()), "held while final: {ctx}");
    assert_eq!(c.postponed_until.is_some(), c.status == Status::Postponed, "{ctx}");
    assert_eq!(c.close_reason.is_some(), matches!(c.status, Status::CloseRequested | Status::Closed), "{ctx}");
    if c.status == Status::Federal {
        assert!(c.federal, "{ctx}");
    }
}

// Property (issue 5 tests; S1-8…S1-12, S1-30, S1-35): 4000 random sequences of 60 (actor, action) pairs
// from «Новое». Whatever happens, the card is in a defined status reached by a line of the table, never
// held while «Выполнено»/«Закрыто» (or anywhere but «В работе»), only ever held by an executor, and the
// effects agree with the change. Hand-rolled over `Rng` because proptest is not in the workspace.
#[test]
fn random_action_sequences_keep_the_card_consistent() {
    let executors = [EXEC, EXEC_2, EXEC_B];
    let actors = [
        exec(EXEC),
        exec(EXEC_2),
        exec(EXEC_B),
        actor(Role::Moderator),
        actor(Role::Supervisor),
        actor(Role::Curator),
        Actor { id: EXEC, role: Role::Curator, org: None },
        actor(Role::Support),
        actor(Role::Admin),
        actor(Role::System),
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut reached = BTreeSet::new();
    let mut fired = BTreeSet::new();
    let (mut ok, mut refused) = (0u32, BTreeMap::<WorkflowCode, u32>::new());
    for seq in 0..4000 {
        let mut c = CardState::new(1000 + seq, rng.pick(&[None, Some(ORG), Some(ORG_B)]));
        let mut day = today();
        for step in 0..60 {
            day += chrono::Duration::days(rng.below(3) as i64);
            let who = rng.pick(&actors);
            // Half the time anything at all, half the time something the menu offers, so the walk gets deep.
            let offered = available(&c, &who, day);
            let kind =
                if offered.is_empty() || rng.below(2) == 0 { rng.pick(&ActionKind::ALL) } else { rng.pick(&offered) };
            let action = random_action(&mut rng, kind, &c, day);
            let ctx = format!("seq {seq} step {step}: {who:?} {action:?} on {c:?}");
            match apply(&c, &who, action, day) {
                Ok(t) => {
                    ok += 1;
                    let rule = rule_for(c.status, kind, who.role).unwrap_or_else(|| panic!("no line: {ctx}"));
                    let bounced = matches!(t.effects[..], [Effect::CloseRequestReturned { .. }]);
                    assert!(t.state.status == rule.to || bounced && t.state == c, "{ctx}");
                    fired.insert((rule.from, rule.action, who.role));
                    let status_effects: Vec<&Effect> =
                        t.effects.iter().filter(|e| matches!(e, Effect::StatusChanged { .. })).collect();
                    if c.status == t.state.status {
                        assert!(status_effects.is_empty(), "{ctx}");
                    } else {
                        assert_eq!(status_effects, [&Effect::StatusChanged { from: c.status, to: t.state.status }]);
                    }
                    let took = t.effects.iter().any(|e| matches!(e, Effect::LockTaken { .. }));
                    assert_eq!(took, t.state.holder.is_some() && t.state.holder != c.holder, "{ctx}");
                    assert!(!c.status.is_final() || t.state == c, "a final card changed: {ctx}");
                    c = t.state;
                }
                Err(e) => {
                    *refused.entry(e.code()).or_default() += 1;
                    if let WorkflowError::IllegalTransition { status, .. } = e {
                        assert_eq!(status, c.status, "{ctx}");
                        assert!(e.to_string().contains(c.status.label()), "{ctx}");
                    }
                }
            }
            check_invariants(&c, &executors, &ctx);
            reached.insert(c.status);
        }
    }
    // The walk went everywhere: every status reached, every line of the table taken by every role.
    assert_eq!(reached.len(), Status::ALL.len(), "{reached:?}");
    let all: BTreeSet<_> = expected().into_keys().collect();
    assert_eq!(fired, all, "lines never taken: {:?}", all.difference(&fired).collect::<Vec<_>>());
    assert!(ok > 20_000, "only {ok} steps succeeded");
    assert_eq!(refused.len(), 3, "{refused:?}");
}
