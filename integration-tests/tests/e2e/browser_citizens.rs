//! The patronage pages in a real headless Chromium over WebDriver: a curator
//! signs in, adds a citizen with the form, sees the activation code; after a
//! simulated activation (the code redeemed through identity by a BOT service
//! account, as the bot does) the card shows «Бот активирован»; a part of the
//! surname finds the citizen. Covers S0-26, S0-32, S0-35, S0-38, S0-49,
//! S0-111. Needs `/usr/bin/chromedriver` and `/usr/bin/chromium`
//! (scripts/chromium.sh); without them the test fails, it never skips.
use std::time::Duration;

use fantoccini::{Client, Locator};
use opeka_integration_tests::Suite;
use opeka_integration_tests::browser::{Driver, snap, wait_css};
use opeka_proto::identity::{
    CreateServiceAccountRequest, CreateStaffAccountRequest, IssueServiceTokenRequest, RedeemBotLinkCodeRequest, Role,
};
use opeka_testkit::Service;

async fn create_curator(s: &Suite) {
    let token = s.admin_token().await;
    let msg = CreateStaffAccountRequest {
        surname: "Кураторова".into(),
        name: "Вера".into(),
        login: "vera".into(),
        password: "Secret-123".into(),
        password_repeat: "Secret-123".into(),
        roles: vec![Role::Curator as i32],
        ..Default::default()
    };
    s.identity().create_staff_account(s.request(&token, msg)).await.expect("create curator");
}

/// What the bot does when a citizen sends the code: a BOT service account
/// redeems it for a Telegram chat.
async fn redeem_as_bot(s: &Suite, code: &str) {
    let admin = s.admin_token().await;
    let msg = CreateServiceAccountRequest { name: "Тестовый бот".into(), roles: vec![Role::Bot as i32] };
    let acc = s.identity().create_service_account(s.request(&admin, msg)).await.expect("bot account").into_inner();
    let msg = IssueServiceTokenRequest {
        tenant: s.tenant.clone(),
        client_id: acc.client_id,
        client_secret: acc.client_secret,
    };
    let bot = s.identity().issue_service_token(msg).await.expect("bot token").into_inner().access_token;
    let msg = RedeemBotLinkCodeRequest { code: code.to_string(), telegram_chat_id: 424_242 };
    s.identity().redeem_bot_link_code(s.request(&bot, msg)).await.expect("redeem");
}

#[tokio::test]
async fn s0_49_curator_creates_a_citizen_and_sees_the_bot_activated() {
    let s = Suite::start().await;
    create_curator(&s).await;
    let driver = Driver::start().await;
    let b = driver.browser().await;
    let result = scenario(&s, &b).await;
    snap(&b, "citizens_last").await;
    b.close().await.ok();
    result.unwrap();
}

async fn scenario(s: &Suite, b: &Client) -> Result<(), fantoccini::error::CmdError> {
    b.goto(&format!("{}/", s.url(Service::Gateway))).await?;
    wait_css(b, "#f-login").await.send_keys("vera").await?;
    b.find(Locator::Css("#f-password")).await?.send_keys("Secret-123").await?;
    b.find(Locator::Css("form button[type=submit]")).await?.click().await?;
    wait_css(b, ".greeting").await;

    // S0-26: «Пользователи» → «Добавить».
    b.find(Locator::LinkText("Пользователи")).await?.click().await?;
    wait_css(b, "#citizen-list").await;
    b.find(Locator::Css(".page-head a.button.primary")).await?.click().await?;
    let surname = wait_css(b, "#f-surname").await;
    let save = b.find(Locator::Css("form.citizen-form button[type=submit]")).await?;
    // S0-32: «Сохранить» waits for surname, name and phone.
    assert!(!save.is_enabled().await?, "«Сохранить» enabled on an empty form");
    surname.send_keys("Соколова").await?;
    b.find(Locator::Css("#f-name")).await?.send_keys("Мария").await?;
    assert!(!save.is_enabled().await?, "«Сохранить» enabled without the phone");
    b.find(Locator::Css("#f-patronymic")).await?.send_keys("Андреевна").await?;
    b.find(Locator::Css("#f-phone")).await?.send_keys("+7 912 345-67-89").await?;
    assert!(save.is_enabled().await?, "«Сохранить» still disabled");
    b.find(Locator::Css("#f-situation")).await?.send_keys("Одинокая пенсионерка, нужен уход").await?;
    snap(b, "citizen_form").await;
    save.click().await?;

    // S0-35: the card shows the activation code and its expiry.
    let code = wait_css(b, ".activation-code").await.text().await?;
    assert!(!code.trim().is_empty(), "empty activation code");
    let expires = b.find(Locator::Css(".activation-expires")).await?.text().await?;
    assert!(!expires.trim().is_empty(), "no expiry");
    // S0-38: the bot tabs are unavailable until activation.
    let locked = b.find_all(Locator::Css(".tab.unavailable")).await?;
    assert_eq!(locked.len(), 4, "bot tabs not all unavailable");
    snap(b, "citizen_card_code").await;
    let card_url = b.current_url().await?;

    // S0-48, S0-49: the bot redeems the code; after a refresh «Бот активирован».
    redeem_as_bot(s, code.trim()).await;
    b.goto(card_url.as_str()).await?;
    let activated = wait_css(b, ".bot-activated").await.text().await?;
    assert!(activated.contains("Бот активирован"), "{activated}");
    assert!(b.find_all(Locator::Css(".activation-code")).await?.is_empty(), "code still shown after activation");
    // The tabs follow the card's own flag, which cases sets from identity's
    // `bot_linked` event a moment later (eventual consistency): reload until then.
    let mut tries = 0;
    while !b.find_all(Locator::Css(".tab.unavailable")).await?.is_empty() {
        tries += 1;
        assert!(tries < 50, "tabs still unavailable");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        b.goto(card_url.as_str()).await?;
    }
    snap(b, "citizen_card_activated").await;

    // S0-42…S0-45: «История взаимодействия» opens now; «Добавить» records a
    // contact with the result, stamped with who and when.
    b.find(Locator::LinkText("История взаимодействия")).await?.click().await?;
    wait_css(b, "#history-heading").await;
    b.find(Locator::Css("details.add-entry summary")).await?.click().await?;
    b.find(Locator::Css("#f-new-result")).await?.send_keys("Дозвонились, договорились о визите").await?;
    b.find(Locator::Css("details.add-entry button[type=submit]")).await?.click().await?;
    let entry = wait_css(b, "article.interaction").await.text().await?;
    assert!(entry.contains("Запись соц. куратора"), "{entry}");
    snap(b, "citizen_history").await;
    // S0-40: «Файлы пользователя» opens too (empty so far).
    b.find(Locator::LinkText("Файлы пользователя")).await?.click().await?;
    wait_css(b, "#files-heading").await;

    // S0-111: a part of the surname finds the citizen.
    b.goto(&format!("{}/t/{}/citizens", s.url(Service::Gateway), s.tenant)).await?;
    wait_css(b, "#q").await.send_keys("сокол").await?;
    b.find(Locator::Css("form.search button[type=submit]")).await?.click().await?;
    b.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::LinkText("Соколова Мария Андреевна"))
        .await
        .unwrap_or_else(|e| panic!("search did not find the citizen: {e}"));
    snap(b, "citizens_found").await;
    Ok(())
}
