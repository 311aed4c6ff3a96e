//! The admin's channel settings (S0-9, S0-13, S0-14): SMTP with a write-only
//! encrypted password, the admin copy address, the bot token; only admins.
use opeka_proto::identity as ipb;
use opeka_proto::notifications as pb;
use tonic::Code;

use crate::helpers::{SMTP_PASSWORD, TestApp, expect_code, expect_invalid};

#[tokio::test]
async fn smtp_settings_are_saved_and_the_password_never_comes_back() {
    // S0-13: host, port, sender address, app password, sender name; «Сохранить».
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let saved = app.configure_smtp(&t).await;
    let smtp = saved.smtp.clone().expect("smtp settings");
    assert_eq!(smtp.host, "127.0.0.1");
    assert_eq!(smtp.port, u32::from(app.smtp.port));
    assert_eq!(smtp.tls, pb::SmtpTls::None as i32);
    assert_eq!(smtp.sender_address, "robot@agency.test");
    assert_eq!(smtp.sender_name, "Опека");
    assert!(smtp.password_set);
    // A service account for the bot and mail was created in identity with the admin's token.
    let svc = saved.bot.clone().expect("bot settings").service_account_id;
    let account = app
        .identity(&t.admin_token, &t.slug)
        .get_account(ipb::GetAccountRequest { id: svc.clone() })
        .await
        .expect("service account exists")
        .into_inner();
    assert_eq!(account.roles, vec![ipb::Role::Bot as i32]);

    let got = app.admin(&t).get_channel_settings(pb::GetChannelSettingsRequest {}).await.unwrap().into_inner();
    assert_eq!(got.smtp, saved.smtp);
    let debug = format!("{got:?}");
    assert!(!debug.contains(SMTP_PASSWORD), "the password came back: {debug}");

    // Stored encrypted: the row holds neither the password nor the client secret in clear.
    let (enc, secret): (Vec<u8>, Vec<u8>) = sqlx::query_as(
        "select smtp_password_enc, service_client_secret_enc from notifications.channel_settings where tenant_id = $1",
    )
    .bind(t.id)
    .fetch_one(&app.owner_pool)
    .await
    .unwrap();
    assert!(!String::from_utf8_lossy(&enc).contains(SMTP_PASSWORD));
    assert!(enc.len() > SMTP_PASSWORD.len() + 12 && secret.len() > 16);

    // An empty password keeps the stored one (same host and port); a second
    // save creates no second account.
    let mut c = app.admin(&t);
    let again = c
        .update_smtp_settings(pb::UpdateSmtpSettingsRequest {
            host: app.smtp.host.to_uppercase(),
            port: u32::from(app.smtp.port),
            tls: pb::SmtpTls::None as i32,
            sender_address: "robot@agency.test".into(),
            sender_name: "Опека и попечительство".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let smtp = again.smtp.expect("smtp");
    assert!(smtp.password_set);
    assert_eq!(smtp.sender_name, "Опека и попечительство");
    assert_eq!(again.bot.expect("bot").service_account_id, svc);
    let enc_after: Vec<u8> =
        sqlx::query_scalar("select smtp_password_enc from notifications.channel_settings where tenant_id = $1")
            .bind(t.id)
            .fetch_one(&app.owner_pool)
            .await
            .unwrap();
    assert_eq!(enc_after, enc);
}

#[tokio::test]
async fn smtp_form_errors_name_their_fields_and_store_nothing() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let mut c = app.admin(&t);
    let r = c
        .update_smtp_settings(pb::UpdateSmtpSettingsRequest {
            host: "smtp mail.ru".into(),
            port: 0,
            tls: 0,
            sender_address: "robot-at-agency".into(),
            ..Default::default()
        })
        .await;
    let st = expect_invalid(r, "host");
    let fields: Vec<String> = opeka_platform::error::violations(&st).into_iter().map(|v| v.field).collect();
    for f in ["host", "port", "tls", "sender_address"] {
        assert!(fields.contains(&f.to_string()), "{fields:?}");
    }
    let rows: i64 = sqlx::query_scalar("select count(*) from notifications.channel_settings")
        .fetch_one(&app.owner_pool)
        .await
        .unwrap();
    assert_eq!(rows, 0);
    expect_invalid(c.set_admin_copy_email(pb::SetAdminCopyEmailRequest { email: "admin@".into() }).await, "email");
    expect_invalid(c.set_bot_token(pb::SetBotTokenRequest { token: "not-a-token".into() }).await, "token");
    // A well-formed token Telegram does not know.
    let unknown = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw";
    let st = expect_invalid(c.set_bot_token(pb::SetBotTokenRequest { token: unknown.into() }).await, "token");
    assert!(st.message().contains("Telegram не принял"), "{}", st.message());
}

#[tokio::test]
async fn check_connection_answers_success_against_the_sink_and_the_reason_against_a_closed_port() {
    // S0-14: «Проверить соединение» → «Успешно» / «Соединение отсутствует».
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let mut c = app.admin(&t);
    let none = c.check_smtp(pb::CheckSmtpRequest {}).await.unwrap().into_inner();
    assert!(!none.ok);
    assert!(none.message.starts_with("Соединение отсутствует"), "{}", none.message);

    app.configure_smtp(&t).await;
    let ok = c.check_smtp(pb::CheckSmtpRequest {}).await.unwrap().into_inner();
    assert!(ok.ok, "{}", ok.message);
    assert_eq!(ok.message, "Успешно");

    let closed = opeka_platform::testing::free_port();
    c.update_smtp_settings(pb::UpdateSmtpSettingsRequest {
        host: "127.0.0.1".into(),
        port: u32::from(closed),
        tls: pb::SmtpTls::None as i32,
        sender_address: "robot@agency.test".into(),
        password: "новый-пароль".into(),
        ..Default::default()
    })
    .await
    .unwrap();
    let failed = c.check_smtp(pb::CheckSmtpRequest {}).await.unwrap().into_inner();
    assert!(!failed.ok);
    assert!(failed.message.starts_with("Соединение отсутствует: "), "{}", failed.message);
}

#[tokio::test]
async fn a_curator_cannot_see_or_change_channel_settings() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    app.configure_smtp(&t).await;
    let curator = app.curator(&t, "kuratorova").await;
    let mut c = app.notifications(&curator.token, &t.slug);
    expect_code(c.get_channel_settings(pb::GetChannelSettingsRequest {}).await, Code::PermissionDenied);
    let r = c
        .update_smtp_settings(pb::UpdateSmtpSettingsRequest {
            host: "evil.example".into(),
            port: 25,
            tls: pb::SmtpTls::None as i32,
            sender_address: "evil@example.ru".into(),
            ..Default::default()
        })
        .await;
    expect_code(r, Code::PermissionDenied);
    expect_code(
        c.set_admin_copy_email(pb::SetAdminCopyEmailRequest { email: "me@x.ru".into() }).await,
        Code::PermissionDenied,
    );
    expect_code(c.set_bot_token(pb::SetBotTokenRequest { token: String::new() }).await, Code::PermissionDenied);
    expect_code(c.check_smtp(pb::CheckSmtpRequest {}).await, Code::PermissionDenied);
    expect_code(c.list_deliveries(pb::ListDeliveriesRequest::default()).await, Code::PermissionDenied);
    let host: String = sqlx::query_scalar("select smtp_host from notifications.channel_settings where tenant_id = $1")
        .bind(t.id)
        .fetch_one(&app.owner_pool)
        .await
        .unwrap();
    assert_eq!(host, "127.0.0.1");
    // No token at all.
    let mut anon = opeka_proto::notifications::notifications_service_client::NotificationsServiceClient::new(
        tonic::transport::Endpoint::from_shared(app.sandbox.url(opeka_testkit::Service::Notifications))
            .unwrap()
            .connect_lazy(),
    );
    expect_code(anon.get_channel_settings(pb::GetChannelSettingsRequest {}).await, Code::Unauthenticated);
}

#[tokio::test]
async fn the_bot_token_is_checked_with_telegram_stored_encrypted_and_shown_only_as_a_hint() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let token = app.configure_bot(&t).await;
    let got = app.admin(&t).get_channel_settings(pb::GetChannelSettingsRequest {}).await.unwrap().into_inner();
    let bot = got.bot.expect("bot");
    assert!(bot.configured);
    assert_eq!(bot.username, "opeka_agency_bot");
    assert!(bot.token_hint.ends_with(&token[token.len() - 4..]) && !bot.token_hint.contains(&token[12..30]));
    assert!(!format!("{bot:?}").contains(&token));
    let enc: Vec<u8> = sqlx::query_scalar("select bot_token_enc from notifications.channel_settings")
        .fetch_one(&app.owner_pool)
        .await
        .unwrap();
    assert!(!String::from_utf8_lossy(&enc).contains(&token[12..]));
    // getMe was asked; the bot polls for updates.
    app.telegram.wait_for(std::time::Duration::from_secs(5), "getMe", |c| c.method == "getMe").await;
    app.telegram.wait_for(std::time::Duration::from_secs(5), "getUpdates", |c| c.method == "getUpdates").await;

    // S0-9: the admin copy address.
    let saved = app
        .admin(&t)
        .set_admin_copy_email(pb::SetAdminCopyEmailRequest { email: "boss@agency.test".into() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(saved.admin_copy_email, "boss@agency.test");
    let cleared = app
        .admin(&t)
        .set_admin_copy_email(pb::SetAdminCopyEmailRequest { email: String::new() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(cleared.admin_copy_email, "");

    // Removing the token stops the bot.
    let removed =
        app.admin(&t).set_bot_token(pb::SetBotTokenRequest { token: String::new() }).await.unwrap().into_inner();
    assert!(!removed.bot.expect("bot").configured);
    let in_registry: i64 =
        sqlx::query_scalar("select count(*) from notifications.bot_registry").fetch_one(&app.owner_pool).await.unwrap();
    assert_eq!(in_registry, 0);
}
