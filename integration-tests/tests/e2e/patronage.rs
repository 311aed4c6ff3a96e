//! Issue 3, end to end across identity, cases, files and notifications: a
//! tenant, a curator and a citizen created through the APIs; the citizen's
//! bot conversation against a local fake Telegram Bot API (teloxide reaches it
//! through `set_api_url`); a document lands in files and in the curator's work
//! queue; a contact request lands in the interaction history and the queue;
//! mail copies reach a real SMTP listener (S0-35, S0-40, S0-42, S0-49, S0-81…
//! S0-88, S0-106).
use std::time::Duration;

use opeka_notifications::testing::{FakeTelegram, SmtpSink};
use opeka_platform::{Context, testing};
use opeka_proto::cases::{self as cpb, cases_service_client::CasesServiceClient};
use opeka_proto::identity::{self as ipb, identity_service_client::IdentityServiceClient};
use opeka_proto::notifications::{self as npb, notifications_service_client::NotificationsServiceClient};
use tonic::transport::Channel;

struct Authed {
    token: String,
    tenant: String,
}

impl Authed {
    fn req<T>(&self, msg: T) -> tonic::Request<T> {
        let mut r = tonic::Request::new(msg);
        r.metadata_mut().insert("authorization", format!("Bearer {}", self.token).parse().unwrap());
        r.metadata_mut().insert("x-opeka-tenant", self.tenant.parse().unwrap());
        r
    }
}

async fn bind() -> (tokio::net::TcpListener, String) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    (l, url)
}

async fn eventually<T>(what: &str, mut f: impl AsyncFnMut() -> Option<T>) -> T {
    for _ in 0..300 {
        if let Some(v) = f().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test]
async fn a_citizen_activates_the_bot_sends_a_file_and_asks_for_contact() {
    opeka_platform::install_crypto_provider();
    opeka_platform::telemetry::init_for_tests();
    testing::require_nats().await;
    let db = testing::migrated_db(&[
        &opeka_identity::SCHEMA,
        &opeka_cases::SCHEMA,
        &opeka_files::SCHEMA,
        &opeka_notifications::SCHEMA,
    ])
    .await;
    let telegram = FakeTelegram::start().await;
    let smtp = SmtpSink::start().await;
    let store = tempfile::tempdir().unwrap();

    let (identity_l, identity_url) = bind().await;
    let (cases_l, cases_url) = bind().await;
    let (files_l, files_url) = bind().await;
    let (notifications_l, notifications_url) = bind().await;
    let mut platform = testing::settings(&db);
    platform.identity_url = identity_url.clone();
    let ctx = Context::new(platform);
    let _stop = ctx.shutdown.clone().drop_guard();
    let identity_settings = opeka_integration_tests::test_identity_settings();
    tokio::spawn(opeka_identity::run(ctx.clone(), identity_settings.clone(), identity_l));
    tokio::spawn(opeka_cases::run(ctx.clone(), opeka_cases::Settings::default(), cases_l));
    let files_settings =
        opeka_files::Settings { store_url: format!("file://{}", store.path().display()), ..Default::default() };
    tokio::spawn(opeka_files::run(ctx.clone(), files_settings, files_l));
    let notifications_settings = opeka_notifications::Settings {
        telegram_api_url: telegram.url.clone(),
        files_url: files_url.clone(),
        cases_url: cases_url.clone(),
        public_url: "http://opeka.test".into(),
        poll_timeout_secs: 1,
        // The SMTP sink listens on loopback, which production refuses.
        smtp_allow_loopback: true,
        ..Default::default()
    };
    tokio::spawn(opeka_notifications::run(ctx.clone(), notifications_settings, notifications_l));

    // A tenant with its admin (CLI path), then everything else through the APIs.
    let pool = opeka_platform::db::connect(&db.url("identity"), "identity", 2).await.unwrap();
    let slug = format!("t-{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let (_tenant, admin) =
        opeka_identity::bootstrap::create_tenant(&pool, &identity_settings, &slug, "Агентство", "admin").await.unwrap();
    let channel = |url: String| Channel::from_shared(url).unwrap().connect_lazy();
    let mut identity = IdentityServiceClient::new(channel(identity_url));
    let mut cases = CasesServiceClient::new(channel(cases_url));
    let mut notifications = NotificationsServiceClient::new(channel(notifications_url));
    let signer = identity.clone();
    let login = |login: String, password: String| {
        let (mut identity, slug) = (signer.clone(), slug.clone());
        async move {
            eventually("login", async || {
                identity
                    .login(ipb::LoginRequest { tenant: slug.clone(), login: login.clone(), password: password.clone() })
                    .await
                    .ok()
            })
            .await
            .into_inner()
            .access_token
        }
    };
    let admin = Authed { token: login(admin.login, admin.password).await, tenant: slug.clone() };

    let curator_email = "kuratorova@agency.test";
    identity
        .create_staff_account(admin.req(ipb::CreateStaffAccountRequest {
            surname: "Кураторова".into(),
            name: "Анна".into(),
            email: curator_email.into(),
            login: "kuratorova".into(),
            password: "пароль-куратора".into(),
            password_repeat: "пароль-куратора".into(),
            roles: vec![ipb::Role::Curator as i32],
            ..Default::default()
        }))
        .await
        .expect("curator");
    let curator = Authed {
        token: login("kuratorova".into(), "пароль-куратора".into()).await, tenant: slug.clone()
    };

    // The admin sets up mail (the sink), the admin copy address and the bot.
    notifications
        .update_smtp_settings(admin.req(npb::UpdateSmtpSettingsRequest {
            host: smtp.host.clone(),
            port: u32::from(smtp.port),
            tls: npb::SmtpTls::None as i32,
            sender_address: "robot@agency.test".into(),
            sender_name: "Опека".into(),
            username: String::new(),
            password: "smtp-secret".into(),
        }))
        .await
        .expect("smtp settings");
    let admin_copy = "admin@agency.test";
    notifications
        .set_admin_copy_email(admin.req(npb::SetAdminCopyEmailRequest { email: admin_copy.into() }))
        .await
        .expect("admin copy");
    let bot_token = &format!("123456789:AAH{}", uuid::Uuid::new_v4().simple());
    telegram.add_bot(bot_token, "opeka_e2e_bot");
    notifications.set_bot_token(admin.req(npb::SetBotTokenRequest { token: bot_token.into() })).await.expect("bot");

    // A curator registers a citizen; the card shows the activation code.
    let citizen = cases
        .create_citizen(curator.req(cpb::CreateCitizenRequest {
            surname: "Иванова".into(),
            name: "Мария".into(),
            phone: "8 912 345-67-89".into(),
            ..Default::default()
        }))
        .await
        .expect("citizen")
        .into_inner();
    let link = cases
        .get_citizen_bot_link(curator.req(cpb::GetCitizenBotLinkRequest { citizen_id: citizen.id.clone() }))
        .await
        .expect("bot link")
        .into_inner();
    assert!(!link.activated && !link.code.is_empty());

    // The citizen talks to the bot.
    let chat = 7_000_123;
    telegram.send_text(bot_token, chat, "/start");
    telegram.wait_for_text(chat, "Введите код активации").await;
    telegram.send_text(bot_token, chat, &link.code);
    telegram.wait_for_text(chat, "Успешная активация").await;
    eventually("«Бот активирован» on the card", async || {
        let c =
            cases.get_citizen(curator.req(cpb::GetCitizenRequest { id: citizen.id.clone() })).await.ok()?.into_inner();
        c.bot_activated.then_some(())
    })
    .await;

    // A document: stored by files, queued for the curator, mailed to both.
    telegram.send_document(bot_token, chat, "справка.pdf", "application/pdf", b"%PDF-1.4\n% e2e\n%%EOF\n");
    let activities = |kind: cpb::ActivityKind| {
        let (mut cases, req) = (
            cases.clone(),
            curator.req(cpb::ListActivitiesRequest {
                citizen_id: citizen.id.clone(),
                kind: kind as i32,
                ..Default::default()
            }),
        );
        async move { cases.list_activities(req).await.ok().map(|r| r.into_inner().activities).filter(|a| !a.is_empty()) }
    };
    let file_activity = eventually("a file activity", async || activities(cpb::ActivityKind::FileReceived).await).await;
    assert!(!file_activity[0].file_id.is_empty(), "the row opens the file (S0-86)");
    smtp.wait_for(curator_email).await;
    smtp.wait_for(admin_copy).await;

    // «Запросить связь»: history entry, queue item, mail copies.
    telegram.send_text(bot_token, chat, "Запросить связь");
    eventually("a contact activity", async || activities(cpb::ActivityKind::ContactRequested).await).await;
    let history = cases
        .list_interactions(
            curator.req(cpb::ListInteractionsRequest { citizen_id: citizen.id.clone(), ..Default::default() }),
        )
        .await
        .expect("history")
        .into_inner();
    assert!(!history.interactions.is_empty(), "the contact request is in «История взаимодействия»");
    eventually("two copies for the curator", async || (smtp.to(curator_email).len() >= 2).then_some(())).await;
}
