//! Webhook mode (`OPEKA_NOTIFICATIONS__WEBHOOK_BASE_URL`): the bot registers
//! `<base>/telegram/<tenant_id>` with a secret token, the endpoint takes
//! Telegram's posts only with that secret and runs the same dialogue as long
//! polling (S0-35); going back to polling deletes the webhook.
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::TestApp;

/// A free local address for the webhook endpoint.
fn free_addr() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("address").to_string()
}

/// POSTs `body` as Telegram would; returns the HTTP status.
async fn post(addr: &str, path: &str, secret: Option<&str>, body: &Value) -> u16 {
    let body = body.to_string();
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    if let Some(s) = secret {
        req.push_str(&format!("X-Telegram-Bot-Api-Secret-Token: {s}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(&body);
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect to the webhook endpoint");
    stream.write_all(req.as_bytes()).await.expect("send");
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer))
        .await
        .expect("webhook answers within 10 s")
        .expect("read");
    let answer = String::from_utf8_lossy(&answer);
    answer.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("not HTTP: {answer}"))
}

async fn webhook_app() -> (TestApp, String) {
    let addr = free_addr();
    let a = addr.clone();
    let app = TestApp::start_with(move |s| {
        s.webhook_base_url = format!("http://{a}/");
        s.webhook_addr = a;
    })
    .await;
    (app, addr)
}

#[tokio::test]
async fn setting_the_token_sets_the_webhook_and_posted_updates_run_the_dialogue() {
    let (mut app, addr) = webhook_app().await;
    let t = app.tenant("agency").await;
    let token = app.configure_bot(&t).await;
    let (_, code) = app.citizen(&t, "Петров").await;

    let set = app.telegram.wait_for(Duration::from_secs(15), "setWebhook", |c| c.method == "setWebhook").await;
    assert_eq!(set.token, token);
    assert_eq!(set.params["url"], json!(format!("http://{addr}/telegram/{}", t.id)));
    assert_eq!(set.params["allowed_updates"], json!(["message", "callback_query"]));
    let secret = set.params["secret_token"].as_str().expect("a secret token").to_string();
    assert!(
        (16..=256).contains(&secret.len()) && secret.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'),
        "Telegram's secret token alphabet: {secret}"
    );
    // Stored encrypted, never in clear.
    let stored: Vec<u8> = sqlx::query_scalar("select webhook_secret_enc from notifications.channel_settings")
        .fetch_one(&app.owner_pool)
        .await
        .unwrap();
    assert!(!String::from_utf8_lossy(&stored).contains(&secret));
    assert!(app.telegram.calls_of(&token, "getUpdates").is_empty(), "no polling in webhook mode");

    let chat = 6_660_001;
    let path = format!("/telegram/{}", t.id);
    assert_eq!(post(&addr, &path, Some(&secret), &app.telegram.text_update(chat, "/start")).await, 200);
    app.telegram.wait_for_text(chat, "Введите код активации").await;
    assert_eq!(post(&addr, &path, Some(&secret), &app.telegram.text_update(chat, &code)).await, 200);
    app.telegram.wait_for_text(chat, "Успешная активация").await;

    // Another replica (here: a restart) accepts the same, stored secret.
    app.restart_notifications().await;
    app.telegram
        .wait_for(Duration::from_secs(15), "a second setWebhook", |_| {
            app.telegram.calls_of(&token, "setWebhook").len() >= 2
        })
        .await;
    let again = app.telegram.calls_of(&token, "setWebhook");
    assert_eq!(again[1].params["secret_token"], json!(secret));
    let other = 6_660_002;
    assert_eq!(post(&addr, &path, Some(&secret), &app.telegram.text_update(other, "/start")).await, 200);
    app.telegram.wait_for_text(other, "Введите код активации").await;
}

#[tokio::test]
async fn a_wrong_or_missing_secret_is_401_and_an_unknown_tenant_404_and_nothing_is_sent() {
    let (app, addr) = webhook_app().await;
    let t = app.tenant("agency").await;
    let token = app.configure_bot(&t).await;
    app.telegram.wait_for(Duration::from_secs(15), "setWebhook", |c| c.method == "setWebhook").await;
    let chat = 6_670_001;
    let path = format!("/telegram/{}", t.id);
    let update = app.telegram.text_update(chat, "/start");

    assert_eq!(post(&addr, &path, Some("wrong-secret"), &update).await, 401);
    assert_eq!(post(&addr, &path, None, &update).await, 401);
    let unknown = format!("/telegram/{}", uuid::Uuid::new_v4());
    assert_eq!(post(&addr, &unknown, Some("wrong-secret"), &update).await, 404);
    assert_eq!(post(&addr, "/telegram/not-a-tenant", Some("x"), &update).await, 404);

    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(app.telegram.sent_to(chat).is_empty(), "nothing sent for refused posts");
    assert!(app.telegram.calls_of(&token, "sendMessage").is_empty());
}

#[tokio::test]
async fn going_back_to_long_polling_deletes_the_webhook() {
    let (mut app, _addr) = webhook_app().await;
    let t = app.tenant("agency").await;
    let token = app.configure_bot(&t).await;
    app.telegram.wait_for(Duration::from_secs(15), "setWebhook", |c| c.method == "setWebhook").await;

    app.sandbox.settings.notifications.webhook_base_url.clear();
    app.restart_notifications().await;
    app.telegram.wait_for(Duration::from_secs(15), "deleteWebhook", |c| c.method == "deleteWebhook").await;
    let (_, code) = app.citizen(&t, "Петров").await;
    app.activate(&token, 6_680_001, &code).await;
}
