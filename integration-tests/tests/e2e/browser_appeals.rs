//! Issue 5's browser test in a real headless Chromium over WebDriver: an executor signs in, opens
//! the journal and a card, takes it, posts a comment with Enter, marks it done; the curator (after
//! the executor logs out) returns it with a comment; the executor takes it again and marks it done;
//! the curator accepts; the journal shows «Выполнено». Covers S1-3, S1-4, S1-9, S1-15…S1-18,
//! S1-29, S1-31, S1-32, S1-36, S1-37. Needs `/usr/bin/chromedriver` and `/usr/bin/chromium`
//! (scripts/chromium.sh); without them the test fails, it never skips.
use std::time::Duration;

use fantoccini::key::Key;
use fantoccini::{Client, Locator};
use opeka_integration_tests::browser::{Driver, snap, wait_css};
use opeka_integration_tests::{PASSWORD, Suite};
use opeka_proto::cases::appeals_service_client::AppealsServiceClient;
use opeka_proto::cases::{
    Appeal, AppealCitizen, AppealGeography, CreateAppealRequest, ImportReferenceNodesRequest,
    ListReferenceNodesRequest, ReferenceNode,
};
use opeka_proto::identity::{CreateOrganisationRequest, OrganisationKind, Role};
use opeka_testkit::Service;

/// An executive body with an executor, a curator, a region, and one card routed to the body.
async fn seed(s: &Suite) -> Appeal {
    let admin = s.admin_token().await;
    let msg = CreateOrganisationRequest {
        name: "РИК ОНФ".into(),
        kind: OrganisationKind::ExecutiveBody as i32,
        parent_id: String::new(),
    };
    let org = s.identity().create_organisation(s.request(&admin, msg)).await.expect("org").into_inner().id;
    s.staff("ispolnitel", "Исполнителев", Role::Executor, &org).await;
    s.staff("kurator", "Кураторов", Role::Curator, "").await;
    s.staff("moderator", "Модераторов", Role::Moderator, "").await;
    let mut appeals = AppealsServiceClient::new(s.channel(Service::Cases));
    let node = |level: &str, code: &str, name: &str, parent: &str| ReferenceNode {
        level: level.into(),
        code: code.into(),
        name: name.into(),
        parent_code: parent.into(),
        ..Default::default()
    };
    let nodes = vec![
        node("federal_district", "dfo", "Дальневосточный федеральный округ", ""),
        node("region", "zab", "Забайкальский край", "dfo"),
    ];
    let msg = ImportReferenceNodesRequest { tree: "geography".into(), nodes };
    appeals.import_reference_nodes(s.request(&admin, msg)).await.expect("import geography");
    let msg = ListReferenceNodesRequest { tree: "geography".into(), parent_id: String::new(), ..Default::default() };
    let nodes = appeals.list_reference_nodes(s.request(&admin, msg)).await.expect("nodes").into_inner().nodes;
    let region = nodes.iter().find(|n| n.code == "zab").expect("region").id.clone();
    let moderator = s.access_token("moderator", PASSWORD).await;
    let msg = CreateAppealRequest {
        request_id: uuid::Uuid::new_v4().to_string(),
        citizen: Some(AppealCitizen {
            full_name: "Сукарева Алена".into(),
            email: String::new(),
            phone: "+7 (914) 000-12-34".into(),
        }),
        geography: Some(AppealGeography {
            region_id: region, address: "город Чита".into(), ..Default::default()
        }),
        executor_org_id: org,
        channel: "call_centre".into(),
        stream: "Прямая линия".into(),
        text: "Просим помочь с ремонтом крыльца социального центра".into(),
        ..Default::default()
    };
    appeals.create_appeal(s.request(&moderator, msg)).await.expect("create appeal").into_inner()
}

#[tokio::test]
async fn s1_9_executor_and_curator_work_a_card_in_the_browser() {
    let s = Suite::start().await;
    let a = seed(&s).await;
    let driver = Driver::start().await;
    let b = driver.browser().await;
    let result = scenario(&s, &b, &a).await;
    snap(&b, "appeals_last").await;
    b.close().await.ok();
    result.unwrap();
}

async fn sign_in(s: &Suite, b: &Client, login: &str) -> Result<(), fantoccini::error::CmdError> {
    b.goto(&format!("{}/t/{}/login", s.url(Service::Gateway), s.tenant)).await?;
    wait_css(b, "#f-login").await.send_keys(login).await?;
    b.find(Locator::Css("#f-password")).await?.send_keys(PASSWORD).await?;
    b.find(Locator::Css("form button[type=submit]")).await?.click().await?;
    wait_css(b, ".greeting").await;
    Ok(())
}

async fn sign_out(b: &Client) -> Result<(), fantoccini::error::CmdError> {
    b.find(Locator::LinkText("Выйти")).await?.click().await?;
    wait_css(b, "#confirm-heading").await;
    b.find(Locator::Css("form.buttons button[type=submit]")).await?.click().await?;
    wait_css(b, "#f-login").await;
    Ok(())
}

/// Waits until the card's header shows `status` (pages reload after each post).
async fn wait_status(b: &Client, status: &str) {
    for _ in 0..100 {
        if let Ok(el) = b.find(Locator::Css("strong.appeal-status")).await
            && el.text().await.is_ok_and(|t| t.trim() == status)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let shown = match b.find(Locator::Css("strong.appeal-status")).await {
        Ok(el) => el.text().await.unwrap_or_default(),
        Err(_) => String::from("(no status on the page)"),
    };
    panic!("the card never showed «{status}»; it shows «{shown}»");
}

/// Opens the form of the «Действие» menu entry `code`, types `fields` and submits it.
async fn act_with_form(b: &Client, code: &str, fields: &[(&str, &str)]) -> Result<(), fantoccini::error::CmdError> {
    b.find(Locator::Css(&format!("#action-{code} > summary"))).await?.click().await?;
    for (name, value) in fields {
        let input = wait_css(b, &format!("#f-{code}-{name}")).await;
        input.clear().await?;
        input.send_keys(value).await?;
    }
    b.find(Locator::Css(&format!("#action-{code} button[type=submit]"))).await?.click().await?;
    Ok(())
}

async fn scenario(s: &Suite, b: &Client, a: &Appeal) -> Result<(), fantoccini::error::CmdError> {
    let number = a.number.to_string();
    let card_url = format!("{}/t/{}/appeals/{}", s.url(Service::Gateway), s.tenant, a.id);

    // S1-15: the executor's journal opens on their own cards «В работе» — none yet; «Применить»
    // with «Мои и свободные» (S1-50) lists the free card of their area.
    sign_in(s, b, "ispolnitel").await?;
    b.find(Locator::LinkText("Обращения")).await?.click().await?;
    wait_css(b, "#appeal-list .default-view").await;
    b.find(Locator::Css("form.appeal-filter button.apply")).await?.click().await?;
    let link = b
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::LinkText(&number))
        .await
        .unwrap_or_else(|e| panic!("the journal does not list № {number}: {e}"));
    snap(b, "appeals_journal_executor").await;
    // S1-17, S1-18: the number opens the card; «Взять в работу карточку обращения».
    link.click().await?;
    wait_status(b, "Новое").await;
    b.find(Locator::Css("button.take")).await?.click().await?;
    wait_status(b, "В работе").await;
    wait_css(b, ".active-tasks").await;

    // S1-31: a comment posted with Enter.
    let comment = wait_css(b, "#f-comment-text").await;
    comment.send_keys("Связался с заявителем, договорились о ремонте").await?;
    comment.send_keys(&Key::Enter.to_string()).await?;
    b.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::XPath("//p[contains(@class,'entry-text') and contains(., 'договорились о ремонте')]"))
        .await
        .unwrap_or_else(|e| panic!("Enter did not post the comment: {e}"));
    snap(b, "appeals_card_comment").await;

    // S1-37: «Отметить исполнение» with the solution.
    act_with_form(b, "mark_done", &[("solution", "Крыльцо отремонтировано")]).await?;
    wait_status(b, "Исполнено, на проверке у куратора").await;
    sign_out(b).await?;

    // S1-3, S1-4: the curator sees the answer and returns it with a comment.
    sign_in(s, b, "kurator").await?;
    b.goto(&card_url).await?;
    wait_status(b, "Исполнено, на проверке у куратора").await;
    let solution = b.find(Locator::Css("dd.solution")).await?.text().await?;
    assert!(solution.contains("Крыльцо отремонтировано"), "the curator sees the solution: {solution}");
    act_with_form(b, "curator_return", &[("comment", "Заявитель не подтвердил ремонт")]).await?;
    wait_status(b, "В работе").await;
    snap(b, "appeals_card_returned").await;
    sign_out(b).await?;

    // The executor fixes it: takes the card again and marks it done.
    sign_in(s, b, "ispolnitel").await?;
    b.goto(&card_url).await?;
    wait_status(b, "В работе").await;
    let returned = b.find(Locator::Css("#timeline")).await?.text().await?;
    assert!(returned.contains("Заявитель не подтвердил ремонт"), "the return's comment in «Ход решения»");
    b.find(Locator::Css("button.take")).await?.click().await?;
    wait_css(b, ".active-tasks").await;
    act_with_form(b, "mark_done", &[("solution", "Крыльцо отремонтировано, заявитель подтвердил по телефону")]).await?;
    wait_status(b, "Исполнено, на проверке у куратора").await;
    sign_out(b).await?;

    // S1-9: the curator accepts; the journal shows «Выполнено».
    sign_in(s, b, "kurator").await?;
    b.goto(&card_url).await?;
    wait_status(b, "Исполнено, на проверке у куратора").await;
    b.find(Locator::Css("button[value=curator_accept]")).await?.click().await?;
    wait_status(b, "Выполнено").await;
    b.find(Locator::LinkText("Обращения")).await?.click().await?;
    let row = wait_css(b, "tr.appeal-row").await;
    let text = row.text().await?;
    assert!(text.contains(&number) && text.contains("Выполнено"), "the journal row: {text}");
    snap(b, "appeals_journal_done").await;
    Ok(())
}
