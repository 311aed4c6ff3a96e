//! The executors' work queue of appeals (issue 5 point 2, S1-9, S1-11, S1-39, S1-40): a card coming back to
//! an executor — returned for rework by the curator, its postponement due, back from re-review — is an
//! item for them (or their organisation), listed by ListAppealWorkItems and marked «Обработано».
use chrono::Duration;
use opeka_proto::cases::{self as pb, act_on_appeal_request::Action};
use opeka_proto::identity as idpb;
use tonic::{Code, Status};

use crate::appeals::{Desk, Person, none};
use crate::helpers::{expect_code, expect_invalid};

async fn items(p: &Person, include_processed: bool) -> Result<pb::ListAppealWorkItemsResponse, Status> {
    let req = pb::ListAppealWorkItemsRequest { include_processed, page_size: 0, page: 0, ..Default::default() };
    p.appeals.clone().list_appeal_work_items(req).await.map(|r| r.into_inner())
}

async fn waiting(p: &Person) -> Vec<pb::AppealWorkItem> {
    items(p, false).await.expect("list work items").items
}

async fn process(p: &Person, id: &str) -> Result<pb::AppealWorkItem, Status> {
    let req = pb::MarkAppealWorkItemProcessedRequest { id: id.into() };
    p.appeals.clone().mark_appeal_work_item_processed(req).await.map(|r| r.into_inner())
}

fn mark_done() -> Action {
    Action::MarkDone(pb::MarkDoneAction {
        solution: "Записали к врачу".into(),
        answer: "Заявителю помогли".into(),
        file_ids: vec![],
    })
}

// S1-9 (issue 5 point 2): the curator returns a done card for rework → its executor finds one item
// «Обращение возвращено на доработку» naming the card; a colleague, another organisation's executor and
// the curator do not (the curator is refused); «Обработано» is idempotent and only the recipient's.
#[tokio::test]
async fn s1_9_a_card_returned_for_rework_is_an_item_for_its_executor() {
    let d = Desk::start().await;
    let a = d.executor("exec-a", "Агеева").await;
    let colleague = d.executor("exec-c", "Васильева").await;
    let other = d.person("exec-b", "Белова", &[idpb::Role::Executor], Some(&d.org_b.clone())).await;
    let curator = d.person("cur", "Кузнецова", &[idpb::Role::Curator], None).await;
    let sup = d.person("sup", "Смирнова", &[idpb::Role::Supervisor], None).await;
    let card = d.routed("Тестов Тест").await;
    a.act(&card.id, Action::Take(none())).await.expect("take");
    a.act(&card.id, mark_done()).await.expect("mark done");
    assert!(waiting(&a).await.is_empty(), "nothing came back yet");
    let comment = pb::CommentAction { comment: "Заявитель не подтвердил".into() };
    curator.act(&card.id, Action::CuratorReturn(comment)).await.expect("return for rework");

    let list = items(&a, false).await.expect("list");
    assert_eq!((list.total, list.unprocessed, list.items.len()), (1, 1, 1));
    let it = &list.items[0];
    assert_eq!(
        (it.kind.as_str(), it.kind_label.as_str()),
        ("returned_for_rework", "Обращение возвращено на доработку")
    );
    assert_eq!((it.appeal_id.as_str(), it.appeal_number), (card.id.as_str(), card.number));
    assert_eq!((it.executor_id.as_str(), it.org_id.as_str()), (a.id.as_str(), d.org.as_str()));
    assert!(it.created_at.is_some() && it.processed_at.is_none() && it.processed_by_name.is_empty());
    // Addressed to her alone: not to her colleague, nor to another organisation.
    assert!(waiting(&colleague).await.is_empty());
    assert!(waiting(&other).await.is_empty());
    expect_code(process(&other, &it.id).await, Code::NotFound);
    expect_code(process(&colleague, &it.id).await, Code::NotFound);
    // Neither a curator nor integration works the queue.
    expect_code(items(&curator, false).await, Code::PermissionDenied);
    expect_code(process(&curator, &it.id).await, Code::PermissionDenied);
    expect_code(items(&d.integration().await, true).await, Code::PermissionDenied);
    // Supervisors and admins see the tenant's.
    assert_eq!(waiting(&sup).await.len(), 1);
    assert_eq!(waiting(&d.admin).await.len(), 1);
    expect_invalid(process(&a, "not-an-id").await, "id");

    let done = process(&a, &it.id).await.expect("processed");
    assert_eq!(done.processed_by_name, "Агеева Анна");
    let at = done.processed_at.expect("processed at");
    let again = process(&a, &it.id).await.expect("processed twice");
    assert_eq!((again.processed_at, again.processed_by_name.as_str()), (Some(at), "Агеева Анна"));
    let list = items(&a, false).await.expect("list");
    assert_eq!((list.total, list.unprocessed, list.items.len()), (0, 0, 0));
    let all = items(&a, true).await.expect("list with processed");
    assert_eq!((all.total, all.unprocessed), (1, 0));
    assert_eq!(all.items[0].processed_by_name, "Агеева Анна");
    assert!(waiting(&sup).await.is_empty());
}

// S1-11, S1-39 (issue 5 point 2): a postponed card whose date came is an item «Наступил срок отложенного
// решения» for the executor who worked on it last; a supervisor may process it for her.
#[tokio::test]
async fn s1_39_a_postponed_card_due_is_an_item_for_its_last_executor() {
    let d = Desk::start().await;
    let a = d.executor("exec-a", "Агеева").await;
    let other = d.person("exec-b", "Белова", &[idpb::Role::Executor], Some(&d.org_b.clone())).await;
    let sup = d.person("sup", "Смирнова", &[idpb::Role::Supervisor], None).await;
    let card = d.routed("Фёдоров Фёдор").await;
    a.act(&card.id, Action::Take(none())).await.expect("take");
    let postpone = Action::Postpone(pb::PostponeAction {
        reason: "works_planned".into(),
        until: (d.today() + Duration::days(3)).format("%Y-%m-%d").to_string(),
        comment: "Ремонт в плане на лето".into(),
    });
    a.act(&card.id, postpone).await.expect("postpone");
    assert!(waiting(&a).await.is_empty());

    let outbox =
        opeka_platform::bus::Outbox::new(d.app.sandbox.settings.platform.bus.root.clone(), opeka_cases::SERVICE);
    let tz: chrono_tz::Tz = "Europe/Moscow".parse().unwrap();
    let resumed = opeka_cases::appeals::resume_due(&d.app.app_pool, &outbox, tz, d.app.now() + Duration::days(4));
    assert_eq!(resumed.await.expect("job"), 1);

    let mine = waiting(&a).await;
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert_eq!(
        (mine[0].kind.as_str(), mine[0].kind_label.as_str()),
        ("postponed_due", "Наступил срок отложенного решения")
    );
    assert_eq!((mine[0].appeal_number, mine[0].executor_id.as_str()), (card.number, a.id.as_str()));
    assert!(waiting(&other).await.is_empty());
    let done = process(&sup, &mine[0].id).await.expect("the supervisor processes it");
    assert_eq!(done.processed_by_name, "Смирнова Анна");
    assert!(waiting(&a).await.is_empty());
    // The executor's «Обработано» afterwards changes nothing: it was processed.
    let again = process(&a, &mine[0].id).await.expect("idempotent");
    assert_eq!((again.processed_by_name.as_str(), again.processed_at), ("Смирнова Анна", done.processed_at));
}

// S1-40 (issue 5 point 2): a card re-reviewed into another organisation's area is an item for that
// organisation — any of its executors sees and processes it; the first organisation's do not.
#[tokio::test]
async fn s1_40_a_card_rerouted_after_rereview_is_an_item_for_the_new_organisation() {
    let d = Desk::start().await;
    let a = d.executor("exec-a", "Агеева").await;
    let b1 = d.person("exec-b1", "Белова", &[idpb::Role::Executor], Some(&d.org_b.clone())).await;
    let b2 = d.person("exec-b2", "Борисова", &[idpb::Role::Executor], Some(&d.org_b.clone())).await;
    let moderator = d.person("mod", "Морозова", &[idpb::Role::Moderator], None).await;
    let card = d.routed("Лебедева Лидия").await;
    a.act(&card.id, Action::Take(none())).await.expect("take");
    let rereview = pb::RereviewAction { reason: "wrong_region".into(), comment: "Это Петербург".into() };
    a.act(&card.id, Action::RequestRereview(rereview)).await.expect("re-review");
    let route = pb::RouteAction { executor_org_id: d.org_b.clone() };
    moderator.act(&card.id, Action::Route(route)).await.expect("route to the other organisation");

    assert!(waiting(&a).await.is_empty(), "the card left her area");
    let theirs = waiting(&b1).await;
    assert_eq!(theirs.len(), 1, "{theirs:?}");
    let it = &theirs[0];
    assert_eq!(
        (it.kind.as_str(), it.executor_id.as_str(), it.org_id.as_str()),
        ("returned_from_rereview", "", d.org_b.as_str())
    );
    assert_eq!(waiting(&b2).await.len(), 1);
    expect_code(process(&a, &it.id).await, Code::NotFound);
    let done = process(&b2, &it.id).await.expect("a colleague processes it");
    assert_eq!(done.processed_by_name, "Борисова Анна");
    assert!(waiting(&b1).await.is_empty());
}
