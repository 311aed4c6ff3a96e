//! «Задачи» above the appeals journal (issue 5 point 2) through the gateway over HTTP, against
//! identity and cases started by the harness: a card the curator returns for rework is a task on its
//! executor's journal, and «Обработано» (a form post with CSRF) removes it and comes back to the same
//! journal. The workflow's steps are taken over gRPC: the forms have their own tests in
//! `appeals_pages.rs`.
use opeka_integration_tests::web::{base, csrf, get, post, signed_in, unescape};
use opeka_integration_tests::{PASSWORD, Suite};
use opeka_proto::cases::act_on_appeal_request::Action;
use opeka_proto::cases::appeals_service_client::AppealsServiceClient;
use opeka_proto::cases::{
    ActOnAppealRequest, AppealCitizen, AppealGeography, AppealNoFields, CommentAction, CreateAppealRequest,
    ImportReferenceNodesRequest, ListReferenceNodesRequest, MarkDoneAction, ReferenceNode,
};
use opeka_proto::identity::{CreateOrganisationRequest, OrganisationKind, Role};
use opeka_testkit::Service;
use reqwest::StatusCode;

async fn appeals(s: &Suite) -> AppealsServiceClient<tonic::transport::Channel> {
    AppealsServiceClient::new(s.channel(Service::Cases))
}

/// An executive body with an executor, a curator, one region; and a card routed to the body.
async fn card(s: &Suite) -> (String, i64) {
    let admin = s.admin_token().await;
    let msg = CreateOrganisationRequest {
        name: "РИК ОНФ".into(),
        kind: OrganisationKind::ExecutiveBody as i32,
        parent_id: String::new(),
    };
    let org = s.identity().create_organisation(s.request(&admin, msg)).await.expect("org").into_inner().id;
    s.staff("exec1", "Исполнителев", Role::Executor, &org).await;
    s.staff("cur", "Кураторов", Role::Curator, "").await;
    let mut a = appeals(s).await;
    let node = |level: &str, code: &str, name: &str, parent: &str| ReferenceNode {
        level: level.into(),
        code: code.into(),
        name: name.into(),
        parent_code: parent.into(),
        ..Default::default()
    };
    let nodes = vec![
        node("federal_district", "cfd", "Центральный федеральный округ", ""),
        node("region", "msk", "Москва", "cfd"),
    ];
    let msg = ImportReferenceNodesRequest { tree: "geography".into(), nodes };
    a.import_reference_nodes(s.request(&admin, msg)).await.expect("import geography");
    let msg = ListReferenceNodesRequest { tree: "geography".into(), parent_id: String::new(), ..Default::default() };
    let nodes = a.list_reference_nodes(s.request(&admin, msg)).await.expect("list nodes").into_inner().nodes;
    let region = nodes.into_iter().find(|n| n.code == "msk").expect("region").id;
    let msg = CreateAppealRequest {
        citizen: Some(AppealCitizen {
            full_name: "Тестов Тест".into(),
            email: String::new(),
            phone: "+7 (917) 561-89-18".into(),
        }),
        geography: Some(AppealGeography {
            source_address: "Москва".into(),
            region_id: region,
            address: "г Москва, ул Белореченская, д 12".into(),
            ..Default::default()
        }),
        executor_org_id: org,
        channel: "call_centre".into(),
        text: "Нужен пандус".into(),
        ..Default::default()
    };
    let created = a.create_appeal(s.request(&admin, msg)).await.expect("create appeal").into_inner();
    (created.id, created.number)
}

async fn act(s: &Suite, login: &str, id: &str, action: Action) {
    let token = s.access_token(login, PASSWORD).await;
    let msg = ActOnAppealRequest { id: id.into(), request_id: String::new(), action: Some(action) };
    appeals(s).await.act_on_appeal(s.request(&token, msg)).await.expect("appeal step");
}

/// The first value of attribute `attr` after `marker` in a page, as the browser reads it.
fn attr_after(html: &str, marker: &str, attr: &str) -> String {
    let from = html.find(marker).unwrap_or_else(|| panic!("no {marker} in:\n{html}"));
    let rest = &html[from..];
    let at = rest.find(&format!("{attr}=\"")).unwrap_or_else(|| panic!("no {attr} after {marker}")) + attr.len() + 2;
    unescape(&rest[at..at + rest[at..].find('"').expect("value ends")])
}

// S1-9 and issue 5 point 2: the curator returns a done card → the executor's journal shows the task
// with the card's number (a link to the card), its kind and time; «Обработано» removes it and the
// journal keeps its query. The curator, who has no queue, sees no «Задачи».
#[tokio::test]
async fn s1_9_a_returned_card_is_a_task_on_the_journal_until_processed() {
    let s = Suite::start().await;
    let (id, number) = card(&s).await;
    let exec = signed_in(&s, "exec1", PASSWORD).await;
    let journal = format!("{}/appeals?lock=any&order_by=-number", base(&s));
    let page = get(&exec, &journal).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(!page.html.contains("appeal-task"), "nothing came back yet: {}", page.html);

    act(&s, "exec1", &id, Action::Take(AppealNoFields {})).await;
    let done = MarkDoneAction {
        solution: "Пандус установлен".into(), answer: "Готово".into(), file_ids: vec![]
    };
    act(&s, "exec1", &id, Action::MarkDone(done)).await;
    act(&s, "cur", &id, Action::CuratorReturn(CommentAction { comment: "Нет подтверждения заявителя".into() })).await;

    let page = get(&exec, &journal).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    let html = &page.html;
    assert!(html.contains(">Задачи <span class=\"tasks-count\">(1)</span>"), "{html}");
    let task = &html[html.find("class=\"appeal-task\"").expect("a task")..];
    assert!(task.contains("Обращение возвращено на доработку"), "{task}");
    assert!(task.contains(&format!("Обращение № {number}")), "{task}");
    let card_href = attr_after(task, "appeal-number", "href");
    assert!(card_href.ends_with(&format!("/appeals/{id}")), "{card_href}");
    assert!(task.contains("class=\"hint task-at\">") && task.contains(">Обработано</button>"), "{task}");
    let action = attr_after(task, "<form", "action");
    assert!(action.contains("/appeals/tasks/") && action.ends_with("/processed"), "{action}");
    let back = attr_after(task, "name=\"back\"", "value");

    // A post without the CSRF token is refused and changes nothing.
    let forged = post(&exec, &format!("{}{action}", s.url(Service::Gateway)), &[("back", back.as_str())]).await;
    assert_ne!(forged.status, StatusCode::OK, "{}", forged.html);
    assert!(get(&exec, &journal).await.html.contains("class=\"appeal-task\""));

    let token = csrf(html);
    let after = post(
        &exec,
        &format!("{}{action}", s.url(Service::Gateway)),
        &[("csrf", token.as_str()), ("back", back.as_str())],
    )
    .await;
    assert_eq!(after.status, StatusCode::OK, "{}", after.html);
    assert!(after.url.contains("lock=any") && after.url.contains("order_by=-number"), "{}", after.url);
    assert!(after.html.contains("Задача отмечена как обработанная."), "{}", after.html);
    assert!(!after.html.contains("appeal-task"), "the task is gone: {}", after.html);
    assert!(after.html.contains("class=\"appeal-row\""), "the journal is still there");

    let cur = signed_in(&s, "cur", PASSWORD).await;
    let page = get(&cur, &format!("{}/appeals", base(&s))).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(!page.html.contains("appeal-tasks"), "a curator has no queue");
}
