//! Citizen appeals (issue 5, seed 001; S1-1…S1-47): the workflow over gRPC
//! against the real database and broker — one card per executor under
//! concurrency, close requests, the full path with its events, postponement
//! coming back, refusals, isolation. `Desk` is the appeals sandbox the
//! journal tests share.
use std::collections::{BTreeMap, BTreeSet};

use chrono::{Duration, NaiveDate};
use opeka_proto::cases::{self as pb, act_on_appeal_request::Action, appeals_service_client::AppealsServiceClient};
use opeka_proto::events::envelope::Body;
use opeka_proto::identity as idpb;
use opeka_testkit::{Authed, Service};
use tonic::{Code, Status};

use crate::helpers::{PASSWORD, TestApp, TestTenant, expect_code, expect_invalid, invalid_fields};

pub type Appeals = AppealsServiceClient<Authed>;

/// A signed-in account with an appeals client.
#[derive(Clone)]
pub struct Person {
    pub id: String,
    pub appeals: Appeals,
}

impl Person {
    pub async fn act(&self, id: &str, action: Action) -> Result<pb::Appeal, Status> {
        let req = pb::ActOnAppealRequest { id: id.into(), request_id: String::new(), action: Some(action) };
        self.appeals.clone().act_on_appeal(req).await.map(|r| r.into_inner())
    }

    pub async fn get(&self, id: &str) -> Result<pb::Appeal, Status> {
        self.appeals.clone().get_appeal(pb::GetAppealRequest { id: id.into(), number: 0 }).await.map(|r| r.into_inner())
    }

    pub async fn create(&self, req: pb::CreateAppealRequest) -> pb::Appeal {
        self.appeals.clone().create_appeal(req).await.expect("create appeal").into_inner()
    }

    pub async fn timeline(&self, id: &str) -> Vec<pb::AppealTimelineEntry> {
        let req = pb::ListAppealTimelineRequest { appeal_id: id.into(), ..Default::default() };
        self.appeals.clone().list_appeal_timeline(req).await.expect("timeline").into_inner().entries
    }

    pub async fn journal(&self, filter: pb::AppealFilter) -> pb::ListAppealsResponse {
        self.list(pb::ListAppealsRequest { filter: Some(filter), page_size: 100, ..Default::default() }).await
    }

    pub async fn list(&self, req: pb::ListAppealsRequest) -> pb::ListAppealsResponse {
        self.appeals.clone().list_appeals(req).await.expect("list appeals").into_inner()
    }
}

pub fn none() -> pb::AppealNoFields {
    pb::AppealNoFields {}
}

/// The appeals sandbox: a tenant with two executive bodies, reference trees
/// loaded, and an admin who may do everything.
pub struct Desk {
    pub app: TestApp,
    pub t: TestTenant,
    pub org: String,
    pub org_b: String,
    pub admin: Person,
    /// Reference node ids by code.
    pub node: BTreeMap<String, String>,
}

impl Desk {
    pub async fn start() -> Self {
        Self::start_with_cases(|_| {}).await
    }

    /// A desk whose cases service has `tweak`ed settings.
    pub async fn start_with_cases(tweak: impl FnOnce(&mut opeka_cases::Settings) + Send + 'static) -> Self {
        let app = TestApp::start_tweaked(move |s| tweak(&mut s.cases)).await;
        let t = app.tenant("appeals").await;
        let org = Self::organisation(&t, "Министерство социальной защиты").await;
        let org_b = Self::organisation(&t, "Комитет по здравоохранению").await;
        let mut desk = Desk {
            admin: Self::signed_in(&app, &t, "root", "Главный", &[idpb::Role::Admin], None).await,
            app,
            t,
            org,
            org_b,
            node: BTreeMap::new(),
        };
        desk.load_reference().await;
        desk
    }

    async fn organisation(t: &TestTenant, name: &str) -> String {
        let req = idpb::CreateOrganisationRequest {
            name: name.into(),
            kind: idpb::OrganisationKind::ExecutiveBody as i32,
            parent_id: String::new(),
        };
        t.admin.identity.clone().create_organisation(req).await.expect("create organisation").into_inner().id
    }

    async fn signed_in(
        app: &TestApp,
        t: &TestTenant,
        login: &str,
        surname: &str,
        roles: &[idpb::Role],
        org: Option<&str>,
    ) -> Person {
        let req = idpb::CreateStaffAccountRequest {
            surname: surname.into(),
            name: "Анна".into(),
            login: login.into(),
            password: PASSWORD.into(),
            password_repeat: PASSWORD.into(),
            roles: roles.iter().map(|r| *r as i32).collect(),
            organisation_id: org.unwrap_or_default().into(),
            ..Default::default()
        };
        t.admin.identity.clone().create_staff_account(req).await.expect("create staff");
        let pair = app.sandbox.sign_in(&t.slug, login, PASSWORD).await;
        Self::client(app, t, pair)
    }

    /// A service account with the integration role (intake from a source system).
    pub async fn integration(&self) -> Person {
        let roles = [idpb::Role::Integration];
        let pair = self.app.sandbox.service_token(&self.t.slug, &self.t.admin.token, "Ростелеком", &roles).await;
        Self::client(&self.app, &self.t, pair)
    }

    fn client(app: &TestApp, t: &TestTenant, pair: idpb::TokenPair) -> Person {
        Person {
            id: pair.account.expect("account").id,
            appeals: AppealsServiceClient::new(app.sandbox.authed(Service::Cases, &pair.access_token, &t.slug)),
        }
    }

    /// An account of this tenant with `roles` (and an organisation for executors).
    pub async fn person(&self, login: &str, surname: &str, roles: &[idpb::Role], org: Option<&str>) -> Person {
        Self::signed_in(&self.app, &self.t, login, surname, roles, org).await
    }

    pub async fn executor(&self, login: &str, surname: &str) -> Person {
        self.person(login, surname, &[idpb::Role::Executor], Some(&self.org.clone())).await
    }

    async fn load_reference(&mut self) {
        let n = |level: &str, code: &str, name: &str, parent: &str| pb::ReferenceNode {
            level: level.into(),
            code: code.into(),
            name: name.into(),
            parent_code: parent.into(),
            ..Default::default()
        };
        let geography = vec![
            n("federal_district", "cfo", "Центральный федеральный округ", ""),
            n("federal_district", "szfo", "Северо-Западный федеральный округ", ""),
            n("region", "msk", "Москва", "cfo"),
            n("region", "mo", "Московская область", "cfo"),
            n("region", "spb", "Санкт-Петербург", "szfo"),
            n("municipality", "lublino", "муниципальный округ Люблино", "msk"),
            n("municipality", "khimki", "городской округ Химки", "mo"),
        ];
        let topics = vec![
            n("category_type", "ogv", "ОГВ", ""),
            n("category_type", "nko", "НКО/волонтер", ""),
            n("category", "roads", "Автомобильные дороги", "ogv"),
            n("category", "health", "Здравоохранение", "ogv"),
            n("category", "help", "Социальная помощь", "nko"),
            n("subcategory", "disabled", "Среда для инвалидов", "roads"),
            n("subcategory", "pits", "Ямы на дорогах", "roads"),
        ];
        for (tree, nodes) in [("geography", geography), ("topics", topics)] {
            let req = pb::ImportReferenceNodesRequest { tree: tree.into(), nodes };
            self.admin.appeals.clone().import_reference_nodes(req).await.expect("import reference");
            let list =
                pb::ListReferenceNodesRequest { tree: tree.into(), parent_id: String::new(), ..Default::default() };
            for node in self.admin.appeals.clone().list_reference_nodes(list).await.expect("list").into_inner().nodes {
                self.node.insert(node.code, node.id);
            }
        }
    }

    pub fn id(&self, code: &str) -> String {
        self.node.get(code).unwrap_or_else(|| panic!("no reference node {code}")).clone()
    }

    /// A valid intake request (S1-28: name, phone and region), routed to `org`.
    pub fn request(&self, name: &str, org: Option<&str>) -> pb::CreateAppealRequest {
        pb::CreateAppealRequest {
            citizen: Some(pb::AppealCitizen {
                full_name: name.into(),
                email: String::new(),
                phone: "+7 (917) 561-89-18".into(),
            }),
            geography: Some(pb::AppealGeography {
                source_address: "Москва".into(),
                region_id: self.id("msk"),
                address: "г Москва, ул Белореченская, д 12".into(),
                ..Default::default()
            }),
            executor_org_id: org.unwrap_or_default().into(),
            topic: Some(pb::AppealTopic { subcategory_id: self.id("disabled"), ..Default::default() }),
            channel: "call_centre".into(),
            stream: "Прямая линия".into(),
            text: "Прошу помощи с ремонтом дороги у дома".into(),
            ..Default::default()
        }
    }

    /// A card «Новое» routed to the first organisation.
    pub async fn routed(&self, name: &str) -> pb::Appeal {
        self.admin.create(self.request(name, Some(&self.org.clone()))).await
    }

    pub fn today(&self) -> NaiveDate {
        let tz: chrono_tz::Tz = "Europe/Moscow".parse().expect("tz");
        self.app.now().with_timezone(&tz).date_naive()
    }
}

#[track_caller]
fn failed_naming(r: Result<pb::Appeal, Status>, words: &[&str]) {
    let st = expect_code(r, Code::FailedPrecondition);
    for w in words {
        assert!(st.message().contains(w), "«{}» does not name {w}", st.message());
    }
}

// S1-29, S1-30 (issue 5 tests): two executors race for the same free card — exactly one takes it, the
// other is refused; twenty rounds with real concurrent calls.
#[tokio::test]
async fn s1_30_two_executors_racing_for_one_free_card_exactly_one_wins() {
    let d = Desk::start().await;
    let a = d.executor("exec-a", "Агеева").await;
    let b = d.executor("exec-b", "Белова").await;
    for round in 0..20 {
        let card = d.routed(&format!("Гражданин {round}")).await;
        let (ra, rb) = tokio::join!(a.act(&card.id, Action::Take(none())), b.act(&card.id, Action::Take(none())));
        let (winner, loser) = match (ra, rb) {
            (Ok(w), Err(l)) => ((w, &a), l),
            (Err(l), Ok(w)) => ((w, &b), l),
            other => panic!("round {round}: exactly one take must succeed, got {other:?}"),
        };
        assert_eq!(loser.code(), Code::FailedPrecondition, "round {round}: {loser:?}");
        assert_eq!(winner.0.holder_id, winner.1.id);
        assert_eq!(winner.0.status_label, "В работе");
        winner.1.act(&card.id, Action::Release(none())).await.expect("release");
    }
}

// S1-30 (issue 5 tests): one executor racing to take two cards at once gets exactly one; the other
// refusal names the card they hold.
#[tokio::test]
async fn s1_30_one_executor_racing_for_two_cards_gets_exactly_one() {
    let d = Desk::start().await;
    let a = d.executor("exec-a", "Агеева").await;
    for round in 0..10 {
        let one = d.routed(&format!("Первый {round}")).await;
        let two = d.routed(&format!("Второй {round}")).await;
        let (r1, r2) = tokio::join!(a.act(&one.id, Action::Take(none())), a.act(&two.id, Action::Take(none())));
        let (held, refused) = match (r1, r2) {
            (Ok(h), Err(e)) | (Err(e), Ok(h)) => (h, e),
            other => panic!("round {round}: exactly one take must succeed, got {other:?}"),
        };
        assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
        let number = format!("№ {}", held.number);
        assert!(refused.message().contains(&number), "«{}» must name {number}", refused.message());
        a.act(&held.id, Action::Release(none())).await.expect("release");
    }
    // Sequentially too: the second take is refused naming the first card (S1-30).
    let one = d.routed("Третий").await;
    let two = d.routed("Четвёртый").await;
    a.act(&one.id, Action::Take(none())).await.expect("take the first");
    // The database itself refuses a second card, whatever the code does (issue 5 point 3).
    let clash = sqlx::query("update cases.appeals set status = 'in_work', holder_id = $1::uuid where id = $2::uuid")
        .bind(&a.id)
        .bind(&two.id)
        .execute(&d.app.owner_pool)
        .await
        .expect_err("a second held card");
    assert!(clash.to_string().contains("appeals_holder_key"), "{clash}");
    failed_naming(a.act(&two.id, Action::Take(none())).await, &[&format!("№ {}", one.number), "Вы уже работаете"]);
}

// S1-5, S1-30 (issue 5 tests): a supervisor assigning a card to an executor who already holds one is refused
// with the held card's number; an executor of another organisation is refused too.
#[tokio::test]
async fn s1_5_supervisor_cannot_assign_a_busy_executor() {
    let d = Desk::start().await;
    let a = d.executor("exec-a", "Агеева").await;
    let other = d.person("exec-b", "Белова", &[idpb::Role::Executor], Some(&d.org_b.clone())).await;
    let sup = d.person("sup", "Смирнова", &[idpb::Role::Supervisor], None).await;
    let held = d.routed("Иванов Иван").await;
    let free = d.routed("Петров Пётр").await;
    a.act(&held.id, Action::Take(none())).await.expect("take");
    let assign = |who: &str| Action::Assign(pb::AssignAction { executor_id: who.into() });
    failed_naming(sup.act(&free.id, assign(&a.id)).await, &[&format!("№ {}", held.number), "Исполнитель уже работает"]);
    expect_invalid(sup.act(&free.id, assign(&other.id)).await, "assign.executor_id");
    // Once released by the supervisor (a stuck lock, S1-35), the assignment goes through: «В работе» (S1-5).
    let released = sup.act(&held.id, Action::Release(none())).await.expect("supervisor releases");
    assert_eq!(released.holder_id, "");
    let assigned = sup.act(&free.id, assign(&a.id)).await.expect("assign");
    assert_eq!((assigned.holder_id.as_str(), assigned.status.as_str()), (a.id.as_str(), "in_work"));
    assert_eq!(assigned.holder_name, "Агеева Анна");
    let lines: Vec<String> = sup.timeline(&free.id).await.into_iter().map(|e| e.summary).collect();
    assert!(lines.contains(&"Назначен исполнитель: Агеева Анна".to_string()), "{lines:?}");
}

// S1-41…S1-45 (issue 5 tests): «Обращение дублирует другое обращение» without the number goes back to the
// executor («В работе», with a line saying why); with it the curator checks it and accepting closes it.
#[tokio::test]
async fn s1_45_duplicate_close_request_needs_the_number_and_the_curator() {
    let d = Desk::start().await;
    let a = d.executor("exec-a", "Агеева").await;
    let curator = d.person("cur", "Кузнецова", &[idpb::Role::Curator], None).await;
    let original = d.routed("Сидоров Сидор").await;
    let card = d.routed("Сидоров Сидор").await;
    a.act(&card.id, Action::Take(none())).await.expect("take");
    let close = |dup: i64| {
        Action::RequestClose(pb::CloseRequestAction {
            reason: "duplicate".into(),
            comment: String::new(),
            duplicate_of: dup,
        })
    };
    let back = a.act(&card.id, close(0)).await.expect("an incomplete request is returned, not refused");
    assert_eq!((back.status_label.as_str(), back.holder_id.as_str()), ("В работе", a.id.as_str()));
    let last = a.timeline(&card.id).await.pop().expect("a line");
    assert_eq!(last.kind, "close_returned");
    assert!(last.summary.contains("не указан номер обращения"), "{}", last.summary);
    // A number that no appeal has is a form error.
    expect_invalid(a.act(&card.id, close(999_999)).await, "request_close.duplicate_of");
    let asked = a.act(&card.id, close(original.number)).await.expect("close request");
    assert_eq!(asked.status_label, "Запрос на закрытие");
    assert_eq!((asked.holder_id.as_str(), asked.queue.as_str()), ("", "curators"));
    assert!(curator.get(&card.id).await.unwrap().available_actions.contains(&"curator_accept".to_string()));
    let closed = curator.act(&card.id, Action::CuratorAccept(none())).await.expect("accept");
    assert_eq!((closed.status_label.as_str(), closed.close_reason.as_str()), ("Закрыто", "duplicate"));
    // S1-44: a reason that needs a comment comes back without one, too.
    let other = d.routed("Орлова Ольга").await;
    a.act(&other.id, Action::Take(none())).await.expect("take");
    let motivated = Action::RequestClose(pb::CloseRequestAction {
        reason: "motivated_refusal".into(),
        comment: " ".into(),
        duplicate_of: 0,
    });
    assert_eq!(a.act(&other.id, motivated).await.expect("returned").status, "in_work");
}

/// The next `appeal_changed` events until every action of `wanted` was seen
/// (an action's step may publish several lines).
async fn actions_on_the_bus(d: &Desk, appeal_id: &str, wanted: &[&str]) {
    let mut events = d.app.sandbox.events("cases", &d.t.slug, "appeal_changed").await;
    let mut missing: BTreeSet<&str> = wanted.iter().copied().collect();
    while !missing.is_empty() {
        let env = events.next().await;
        let Some(Body::AppealChanged(e)) = env.body else { panic!("not an appeal_changed: {env:?}") };
        if e.appeal_id == appeal_id {
            assert!(!e.summary.is_empty(), "{e:?}");
            missing.remove(e.action.as_str());
        }
    }
}

// S1-2…S1-4, S1-6, S1-8, S1-9, S1-29, S1-31…S1-33, S1-37 (issue 5 tests; the browser test's path over gRPC):
// intake → moderation → route → take → comment → edit (history kept) → mark done → the curator returns it →
// the executor fixes it → the curator accepts → «Выполнено»; every step is an event on NATS.
#[tokio::test]
async fn s1_9_full_path_from_intake_to_done_with_events() {
    let d = Desk::start().await;
    let moderator = d.person("mod", "Морозова", &[idpb::Role::Moderator], None).await;
    let a = d.executor("exec-a", "Агеева").await;
    let curator = d.person("cur", "Кузнецова", &[idpb::Role::Curator], None).await;
    let mut created_events = d.app.sandbox.events("cases", &d.t.slug, "appeal_created").await;
    let card = moderator.create(d.request("Тестов Тест", None)).await;
    assert_eq!((card.status_label.as_str(), card.number), ("Новое", 1));
    assert_eq!(card.geography.as_ref().unwrap().federal_district, "Центральный федеральный округ");
    assert_eq!(card.topic.as_ref().unwrap().category, "Автомобильные дороги");
    assert_eq!(card.topic.as_ref().unwrap().category_type, "ОГВ");
    let Some(Body::AppealCreated(ev)) = created_events.next().await.body else { panic!("appeal_created expected") };
    assert_eq!((ev.appeal_id.as_str(), ev.number), (card.id.as_str(), 1));

    let m = moderator.act(&card.id, Action::SubmitToModeration(none())).await.expect("submit");
    assert_eq!(m.status_label, "На модерации");
    // Executors see only their organisation's cards (S1-1): not this one yet.
    expect_code(a.get(&card.id).await, Code::NotFound);
    let routed = moderator
        .act(&card.id, Action::Route(pb::RouteAction { executor_org_id: d.org.clone() }))
        .await
        .expect("route");
    assert_eq!(
        (routed.status_label.as_str(), routed.executor_org.as_str()),
        ("В работе", "Министерство социальной защиты")
    );
    assert_eq!(a.get(&card.id).await.unwrap().available_actions, ["take"]);
    let taken = a.act(&card.id, Action::Take(none())).await.expect("take");
    assert_eq!(taken.holder_name, "Агеева Анна");
    assert!(taken.available_actions.contains(&"mark_done".to_string()), "{:?}", taken.available_actions);

    let comment = a
        .appeals
        .clone()
        .add_appeal_comment(pb::AddAppealCommentRequest {
            appeal_id: card.id.clone(),
            text: "Позвонила заявителю".into(),
            file_ids: vec![],
            request_id: "c-1".into(),
        })
        .await
        .expect("comment")
        .into_inner();
    assert!(comment.editable);
    let edited = a
        .appeals
        .clone()
        .edit_appeal_comment(pb::EditAppealCommentRequest {
            appeal_id: card.id.clone(),
            comment_id: comment.id.clone(),
            text: "Позвонила заявителю, договорились о встрече".into(),
        })
        .await
        .expect("edit")
        .into_inner();
    assert_eq!(edited.edits.len(), 1);
    assert_eq!(edited.edits[0].previous_text, "Позвонила заявителю");
    // Only the author edits (S1-33).
    let not_mine = curator
        .appeals
        .clone()
        .edit_appeal_comment(pb::EditAppealCommentRequest {
            appeal_id: card.id.clone(),
            comment_id: comment.id.clone(),
            text: "Чужая правка".into(),
        })
        .await;
    expect_code(not_mine, Code::PermissionDenied);

    // Attachments of the solution are checked in files: see appeal_files.rs (S1-38).
    let done = |solution: &str| {
        Action::MarkDone(pb::MarkDoneAction {
            solution: solution.into(),
            answer: "Заявителю помогли".into(),
            file_ids: vec![],
        })
    };
    let review = a.act(&card.id, done("Записали к врачу")).await.expect("mark done");
    assert_eq!(review.status_label, "Исполнено, на проверке у куратора");
    let back = curator
        .act(&card.id, Action::CuratorReturn(pb::CommentAction { comment: "Заявитель не подтвердил".into() }))
        .await
        .expect("return");
    assert_eq!(back.status_label, "В работе");
    a.act(&card.id, Action::Take(none())).await.expect("take again");
    a.act(&card.id, done("Записали к врачу, заявитель подтвердил")).await.expect("mark done again");
    let accepted = curator.act(&card.id, Action::CuratorAccept(none())).await.expect("accept");
    assert_eq!(accepted.status_label, "Выполнено");
    assert_eq!(accepted.solution, "Записали к врачу, заявитель подтвердил");
    assert!(accepted.available_actions.is_empty());

    let wanted = ["submit_to_moderation", "route", "take", "mark_done", "curator_return", "curator_accept"];
    actions_on_the_bus(&d, &card.id, &wanted).await;
    let mut commented = d.app.sandbox.events("cases", &d.t.slug, "appeal_commented").await;
    let Some(Body::AppealCommented(c1)) = commented.next().await.body else { panic!("appeal_commented expected") };
    let Some(Body::AppealCommented(c2)) = commented.next().await.body else { panic!("appeal_commented expected") };
    assert_eq!((c1.edited, c2.edited, c2.comment_id.as_str()), (false, true, comment.id.as_str()));

    // «Ход решения» (S1-32): every step with who, and the comment with its history.
    let lines = a.timeline(&card.id).await;
    let kinds: Vec<&str> = lines.iter().map(|e| e.kind.as_str()).collect();
    for k in ["created", "status_changed", "org_changed", "lock_taken", "comment", "solution", "returned_for_rework"] {
        assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
    }
    let c = lines.iter().find(|e| e.kind == "comment").unwrap();
    assert_eq!((c.edits.len(), c.author_name.as_str()), (1, "Агеева Анна"));
    assert!(lines.iter().any(|e| e.summary == "Исполнено, на проверке у куратора → Выполнено"));
    // The retried comment (same request id) is the same line.
    let again = a
        .appeals
        .clone()
        .add_appeal_comment(pb::AddAppealCommentRequest {
            appeal_id: card.id.clone(),
            text: "Позвонила заявителю".into(),
            file_ids: vec![],
            request_id: "c-1".into(),
        })
        .await
        .expect("retry")
        .into_inner();
    assert_eq!(again.id, comment.id);
}

// S1-11, S1-39 (issue 5 tests): a postponed card sleeps until its date, then the job brings it back
// «В работе» as the system, with a work-queue item for the executor.
#[tokio::test]
async fn s1_11_postponed_card_comes_back_when_due_with_a_work_item() {
    let d = Desk::start().await;
    let a = d.executor("exec-a", "Агеева").await;
    let card = d.routed("Фёдоров Фёдор").await;
    a.act(&card.id, Action::Take(none())).await.expect("take");
    let until = d.today() + Duration::days(3);
    let postpone = |until: NaiveDate| {
        Action::Postpone(pb::PostponeAction {
            reason: "works_planned".into(),
            until: until.format("%Y-%m-%d").to_string(),
            comment: "Ремонт в плане на лето".into(),
        })
    };
    expect_invalid(a.act(&card.id, postpone(d.today())).await, "postpone.until");
    let slept = a.act(&card.id, postpone(until)).await.expect("postpone");
    assert_eq!((slept.status_label.as_str(), slept.postponed_until.clone()), ("Отложенное решение", until.to_string()));
    assert_eq!(slept.holder_id, "");
    // The executor is free for another card meanwhile (S1-30).
    let next = d.routed("Другой гражданин").await;
    a.act(&next.id, Action::Take(none())).await.expect("take another");
    a.act(&next.id, Action::Release(none())).await.expect("release");

    let outbox =
        opeka_platform::bus::Outbox::new(d.app.sandbox.settings.platform.bus.root.clone(), opeka_cases::SERVICE);
    let tz: chrono_tz::Tz = "Europe/Moscow".parse().unwrap();
    let resume = |at| opeka_cases::appeals::resume_due(&d.app.app_pool, &outbox, tz, at);
    assert_eq!(resume(d.app.now() + Duration::days(2)).await.expect("job"), 0, "not due yet");
    assert_eq!(resume(d.app.now() + Duration::days(4)).await.expect("job"), 1);
    assert_eq!(resume(d.app.now() + Duration::days(4)).await.expect("job"), 0, "once");
    let back = a.get(&card.id).await.unwrap();
    assert_eq!((back.status_label.as_str(), back.postponed_until.as_str()), ("В работе", ""));
    assert_eq!(back.available_actions, ["take"]);
    let items = d
        .app
        .count(&format!(
            "select count(*) from cases.appeal_work_items where kind = 'postponed_due' and executor_id = '{}'",
            a.id
        ))
        .await;
    assert_eq!(items, 1);
    let last = a.timeline(&card.id).await.into_iter().rev().find(|e| e.kind == "status_changed").unwrap();
    assert_eq!((last.summary.as_str(), last.author_name.as_str()), ("Отложенное решение → В работе", "Система"));
}

// Issue 5 point 2: an illegal step is FAILED_PRECONDITION naming the status, a role that never may is
// PERMISSION_DENIED, bad input INVALID_ARGUMENT with field violations — and nothing changes.
#[tokio::test]
async fn s1_28_refusals_have_the_right_codes_and_change_nothing() {
    let d = Desk::start().await;
    let a = d.executor("exec-a", "Агеева").await;
    let curator = d.person("cur", "Кузнецова", &[idpb::Role::Curator], None).await;
    let integration = d.integration().await;
    let card = d.routed("Ершов Егор").await;
    failed_naming(curator.act(&card.id, Action::CuratorAccept(none())).await, &["«Новое»"]);
    expect_code(a.act(&card.id, Action::SubmitToModeration(none())).await, Code::PermissionDenied);
    expect_code(integration.act(&card.id, Action::Take(none())).await, Code::PermissionDenied);
    a.act(&card.id, Action::Take(none())).await.expect("take");
    let before = a.get(&card.id).await.unwrap();
    let blank = Action::MarkDone(pb::MarkDoneAction { solution: "  ".into(), answer: String::new(), file_ids: vec![] });
    expect_invalid(a.act(&card.id, blank).await, "mark_done.solution");
    let bad_reason = Action::RequestClose(pb::CloseRequestAction { reason: "boredom".into(), ..Default::default() });
    expect_invalid(a.act(&card.id, bad_reason).await, "request_close.reason");
    expect_invalid(
        a.act(&card.id, Action::Route(pb::RouteAction { executor_org_id: "x".into() })).await,
        "route.executor_org_id",
    );
    let after = a.get(&card.id).await.unwrap();
    assert_eq!((after.version, after.status), (before.version, before.status));
    // Intake (S1-28): name, phone and region are required; the channel comes from the list.
    let appeals_before = d.app.count("select count(*) from cases.appeals").await;
    let mut bad = d.request("", None);
    bad.citizen.as_mut().unwrap().phone = "позвоните".into();
    bad.geography.as_mut().unwrap().region_id.clear();
    bad.channel = "pigeon".into();
    let fields = invalid_fields(integration.appeals.clone().create_appeal(bad).await, "citizen.full_name");
    for f in ["citizen.phone", "geography.region_id", "channel"] {
        assert!(fields.contains(&f.to_string()), "{f} missing from {fields:?}");
    }
    let mut inconsistent = d.request("Ершов Егор", None);
    inconsistent.geography.as_mut().unwrap().municipality_id = d.id("khimki");
    inconsistent.topic.as_mut().unwrap().category_id = d.id("health");
    let fields =
        invalid_fields(integration.appeals.clone().create_appeal(inconsistent).await, "geography.municipality_id");
    assert!(fields.contains(&"topic.subcategory_id".to_string()), "{fields:?}");
    assert_eq!(d.app.count("select count(*) from cases.appeals").await, appeals_before);
    // Integration brings appeals in (idempotently by request id) and reads them, nothing else.
    let mut req = d.request("Ершов Егор", None);
    req.request_id = "rtk-3072039".into();
    let first = integration.create(req.clone()).await;
    let second = integration.create(req).await;
    assert_eq!((first.id.as_str(), first.number), (second.id.as_str(), second.number));
    assert!(first.available_actions.is_empty());
    let timeline = integration
        .appeals
        .clone()
        .list_appeal_timeline(pb::ListAppealTimelineRequest { appeal_id: first.id.clone(), ..Default::default() })
        .await;
    expect_code(timeline, Code::PermissionDenied);
}

// S1-1 and tenant isolation: another tenant's admin and an executor of another organisation neither see
// nor act on the card (NOT_FOUND, and the journal does not list it).
#[tokio::test]
async fn s1_1_other_tenants_and_other_areas_cannot_see_the_card() {
    let d = Desk::start().await;
    let card = d.routed("Лебедева Лидия").await;
    let other_org = d.person("exec-b", "Белова", &[idpb::Role::Executor], Some(&d.org_b.clone())).await;
    expect_code(other_org.get(&card.id).await, Code::NotFound);
    expect_code(other_org.act(&card.id, Action::Take(none())).await, Code::NotFound);
    assert_eq!(other_org.journal(pb::AppealFilter::default()).await.total, 0);
    let mine = d.executor("exec-a", "Агеева").await;
    assert_eq!(mine.journal(pb::AppealFilter::default()).await.total, 1);

    let t2 = d.app.tenant("other").await;
    let stranger = Desk::signed_in(&d.app, &t2, "root2", "Чужой", &[idpb::Role::Admin], None).await;
    expect_code(stranger.get(&card.id).await, Code::NotFound);
    expect_code(stranger.act(&card.id, Action::Release(none())).await, Code::NotFound);
    let by_number =
        stranger.appeals.clone().get_appeal(pb::GetAppealRequest { id: String::new(), number: card.number }).await;
    expect_code(by_number, Code::NotFound);
    assert_eq!(stranger.journal(pb::AppealFilter::default()).await.total, 0);
    // Below the API too: as the service role (RLS applies), the other tenant's transaction sees no row of
    // any appeals table, while this tenant's sees its own.
    let rows = |tenant: uuid::Uuid, table: &'static str| {
        let pool = d.app.app_pool.clone();
        async move {
            let mut tx = opeka_platform::db::tenant_tx(&pool, tenant).await.expect("tenant tx");
            let sql = format!("select count(*) from {table}");
            sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql)).fetch_one(&mut *tx).await.expect("count")
        }
    };
    for table in ["appeals", "appeal_terms", "appeal_timeline", "reference_nodes"] {
        assert!(rows(d.t.id, table).await > 0, "{table}");
        assert_eq!(rows(t2.id, table).await, 0, "{table}");
    }
    // Nor can the other tenant point its cards at this tenant's reference data.
    expect_invalid(
        stranger.appeals.clone().create_appeal(d.request("Чужой гражданин", None)).await,
        "geography.region_id",
    );
}

// S1-6, S1-7: moderators correct fields by mask with the card's version; a stale version is ABORTED; the
// timeline names the changed fields; a region change brings its federal district along.
#[tokio::test]
async fn s1_6_moderator_corrects_fields_with_optimistic_versions() {
    let d = Desk::start().await;
    let moderator = d.person("mod", "Морозова", &[idpb::Role::Moderator], None).await;
    let a = d.executor("exec-a", "Агеева").await;
    let card = d.routed("Захаров Захар").await;
    let mut change = card.clone();
    change.geography.as_mut().unwrap().region_id = d.id("spb");
    change.citizen.as_mut().unwrap().phone = "8 912 345 67 89".into();
    let update = |version: i64, mask: &[&str], appeal: &pb::Appeal| pb::UpdateAppealRequest {
        id: card.id.clone(),
        version,
        update_mask: mask.iter().map(|m| m.to_string()).collect(),
        appeal: Some(appeal.clone()),
    };
    let denied = a.appeals.clone().update_appeal(update(card.version, &["citizen.phone"], &change)).await;
    expect_code(denied, Code::PermissionDenied);
    let unknown = moderator.appeals.clone().update_appeal(update(card.version, &["status"], &change)).await;
    expect_invalid(unknown, "update_mask[0]");
    let ok = moderator
        .appeals
        .clone()
        .update_appeal(update(card.version, &["geography.region_id", "citizen.phone"], &change))
        .await
        .expect("update")
        .into_inner();
    let geo = ok.geography.clone().unwrap();
    assert_eq!(
        (geo.region.as_str(), geo.federal_district.as_str()),
        ("Санкт-Петербург", "Северо-Западный федеральный округ")
    );
    assert_eq!((ok.citizen.unwrap().phone.as_str(), ok.version), ("8 912 345 67 89", card.version + 1));
    let stale = moderator.appeals.clone().update_appeal(update(card.version, &["citizen.phone"], &change)).await;
    expect_code(stale, Code::Aborted);
    let line = moderator.timeline(&card.id).await.pop().unwrap();
    assert_eq!(line.kind, "fields_updated");
    for f in ["Номер телефона", "Регион", "Федеральный округ"] {
        assert!(line.summary.contains(f), "{f} missing from {}", line.summary);
    }
    // The phone filter finds the card by its new number in any writing (S1-52).
    let found = moderator.journal(pb::AppealFilter { phone: "+7 (912) 345-67-89".into(), ..Default::default() }).await;
    assert_eq!(found.rows.iter().map(|r| r.number).collect::<Vec<_>>(), [card.number]);
}
