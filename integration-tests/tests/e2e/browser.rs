//! The web UI in a real headless Chromium driven over WebDriver: the admin
//! signs in, adds a curator through the form (with its little script) and
//! finds the curator in «Соц. кураторы». Covers S0-3, S0-17…S0-22.
//! Needs `/usr/bin/chromedriver` and `/usr/bin/chromium` (scripts/chromium.sh);
//! without them the test fails, it never skips.

use fantoccini::{Client, Locator};
use opeka_integration_tests::Suite;
use opeka_integration_tests::browser::{Driver, snap, wait_css};
use opeka_testkit::Service;

#[tokio::test]
async fn s0_22_admin_adds_a_curator_in_the_browser() {
    let s = Suite::start().await;
    let driver = Driver::start().await;
    let b = driver.browser().await;
    let result = scenario(&s, &b).await;
    snap(&b, "last").await;
    b.close().await.ok();
    result.unwrap();
}

async fn scenario(s: &Suite, b: &Client) -> Result<(), fantoccini::error::CmdError> {
    // S0-3: the address leads to the login window; «Войти» opens the main window.
    b.goto(&format!("{}/", s.url(Service::Gateway))).await?;
    wait_css(b, "#f-login").await.send_keys(&s.admin_login).await?;
    b.find(Locator::Css("#f-password")).await?.send_keys(&s.admin_password).await?;
    snap(b, "login").await;
    b.find(Locator::Css("form button[type=submit]")).await?.click().await?;
    let greeting = wait_css(b, ".greeting").await.text().await?;
    assert!(greeting.contains("Здравствуйте"), "{greeting}");
    snap(b, "home").await;

    // S0-17, S0-18: the menu's «Соц. кураторы», then «Добавить соц. куратора».
    b.find(Locator::LinkText("Соц. кураторы")).await?.click().await?;
    wait_css(b, "#curator-list").await;
    b.find(Locator::LinkText("Добавить соц. куратора")).await?.click().await?;
    let surname = wait_css(b, "#f-surname").await;
    let save = b.find(Locator::Css("form.curator-form button[type=submit]")).await?;
    // S0-20: «Сохранить» is disabled until the surname is filled.
    assert!(!save.is_enabled().await?, "«Сохранить» enabled with an empty surname");
    surname.send_keys("Лебедева").await?;
    assert!(save.is_enabled().await?, "«Сохранить» still disabled after the surname");

    b.find(Locator::Css("#f-name")).await?.send_keys("Ольга").await?;
    b.find(Locator::Css("#f-patronymic")).await?.send_keys("Ивановна").await?;
    b.find(Locator::Css("#f-phone")).await?.send_keys("+7 900 765-43-21").await?;
    b.find(Locator::Css("#f-login")).await?.send_keys("lebedeva").await?;
    b.find(Locator::Css("#f-password")).await?.send_keys("Secret-123").await?;
    // S0-21: a different repeat is caught before the form leaves the page.
    let repeat = b.find(Locator::Css("#f-password_repeat")).await?;
    repeat.send_keys("Secret-12").await?;
    let valid = b.execute("return document.getElementById('f-password_repeat').checkValidity();", vec![]).await?;
    assert_eq!(valid, serde_json::json!(false), "a mismatched repeat passed the browser's check");
    repeat.send_keys("3").await?;
    let valid = b.execute("return document.getElementById('f-password_repeat').checkValidity();", vec![]).await?;
    assert_eq!(valid, serde_json::json!(true));
    snap(b, "curator_form").await;
    save.click().await?;

    // S0-22: the saved curator appears in the list.
    let notice = wait_css(b, ".notice").await.text().await?;
    assert!(notice.contains("Соц. куратор добавлен."), "{notice}");
    let names: Vec<String> = {
        let mut v = Vec::new();
        for e in b.find_all(Locator::Css("a.curator-name")).await? {
            v.push(e.text().await?);
        }
        v
    };
    assert!(names.iter().any(|n| n == "Лебедева Ольга Ивановна"), "{names:?}");
    snap(b, "curators").await;

    // htmx (served from /assets) narrows the list while the user types;
    // without it the «Найти» button does the same with a page load.
    let loaded = b.execute("return typeof window.htmx !== 'undefined';", vec![]).await?;
    assert_eq!(loaded, serde_json::json!(true), "htmx did not load from /assets");
    b.execute("document.body.dataset.marker = 'same-page';", vec![]).await?;
    b.find(Locator::Css("#q")).await?.send_keys("zzz-nobody").await?;
    wait_css(b, "#curator-list .empty").await;
    let same = b.execute("return document.body.dataset.marker === 'same-page';", vec![]).await?;
    assert_eq!(same, serde_json::json!(true), "the search reloaded the page instead of swapping the list");
    b.find(Locator::Css("#q")).await?.clear().await?;
    b.find(Locator::Css("#q")).await?.send_keys("Лебед").await?;
    wait_css(b, "a.curator-name").await;

    // S0-23: the full name opens the card.
    b.find(Locator::LinkText("Лебедева Ольга Ивановна")).await?.click().await?;
    let h2 = wait_css(b, ".card h2").await.text().await?;
    assert_eq!(h2, "Лебедева Ольга Ивановна");
    snap(b, "curator_card").await;

    // On a phone-sized window the page is one column and the menu hides
    // behind its toggle, which opens it (keyboard: Enter on the button).
    b.set_window_size(400, 800).await?;
    b.goto(&format!("{}/t/{}/curators", s.url(Service::Gateway), s.tenant)).await?;
    let toggle = wait_css(b, ".menu-toggle").await;
    let menu = b.find(Locator::Css("#menu")).await?;
    assert!(toggle.is_displayed().await?, "no menu toggle on a narrow screen");
    assert!(!menu.is_displayed().await?, "menu not folded on a narrow screen");
    snap(b, "narrow_closed").await;
    toggle.send_keys("\u{e007}").await?;
    assert!(menu.is_displayed().await?, "the toggle did not open the menu");
    assert_eq!(toggle.attr("aria-expanded").await?.as_deref(), Some("true"));
    snap(b, "narrow_open").await;
    Ok(())
}
