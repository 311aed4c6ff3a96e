//! Issue 3, end to end across identity, cases, files and notifications: a
//! tenant, a curator and a citizen created through the APIs; the citizen's
//! bot conversation against a local fake Telegram Bot API (teloxide reaches it
//! through `set_api_url`); a document lands in files and in the curator's work
//! queue; a contact request lands in the interaction history and the queue;
//! mail copies reach a real SMTP listener (S0-35, S0-40, S0-42, S0-49, S0-81…
//! S0-88, S0-106).
use std::time::Duration;

use opeka_integration_tests::Suite;
use opeka_notifications::testing::{FakeTelegram, SmtpSink};
use opeka_proto::cases::{self as cpb, cases_service_client::CasesServiceClient};
use opeka_proto::identity as ipb;
use opeka_proto::notifications::{self as npb, notifications_service_client::NotificationsServiceClient};
use opeka_testkit::{Service, wait_within};

/// How long the bot, the bus and the mail may take.
const PATIENCE: Duration = Duration::from_secs(30);

#[tokio::test]
async fn a_citizen_activates_the_bot_sends_a_file_and_asks_for_contact() {
    let telegram = FakeTelegram::start().await;
    let smtp = SmtpSink::start().await;
    let api = telegram.url.clone();
    // A tenant with its admin (CLI path), then everything else through the APIs.
    let s = Suite::start_with(|b| {
        b.tweak(move |s| {
            s.notifications.telegram_api_url = api;
            s.notifications.public_url = "http://opeka.test".into();
            s.notifications.poll_timeout_secs = 1;
        })
    })
    .await;
    let mut identity = s.identity();
    let mut cases = CasesServiceClient::new(s.channel(Service::Cases));
    let mut notifications = NotificationsServiceClient::new(s.channel(Service::Notifications));
    let admin = s.admin_token().await;

    let curator_email = "kuratorova@agency.test";
    identity
        .create_staff_account(s.request(
            &admin,
            ipb::CreateStaffAccountRequest {
                surname: "Кураторова".into(),
                name: "Анна".into(),
                email: curator_email.into(),
                login: "kuratorova".into(),
                password: "пароль-куратора".into(),
                password_repeat: "пароль-куратора".into(),
                roles: vec![ipb::Role::Curator as i32],
                ..Default::default()
            },
        ))
        .await
        .expect("curator");
    let curator = s.access_token("kuratorova", "пароль-куратора").await;

    // The admin sets up mail (the sink), the admin copy address and the bot.
    notifications
        .update_smtp_settings(s.request(
            &admin,
            npb::UpdateSmtpSettingsRequest {
                host: smtp.host.clone(),
                port: u32::from(smtp.port),
                tls: npb::SmtpTls::None as i32,
                sender_address: "robot@agency.test".into(),
                sender_name: "Опека".into(),
                username: String::new(),
                password: "smtp-secret".into(),
            },
        ))
        .await
        .expect("smtp settings");
    let admin_copy = "admin@agency.test";
    notifications
        .set_admin_copy_email(s.request(&admin, npb::SetAdminCopyEmailRequest { email: admin_copy.into() }))
        .await
        .expect("admin copy");
    let bot_token = &format!("123456789:AAH{}", uuid::Uuid::new_v4().simple());
    telegram.add_bot(bot_token, "opeka_e2e_bot");
    notifications
        .set_bot_token(s.request(&admin, npb::SetBotTokenRequest { token: bot_token.into() }))
        .await
        .expect("bot");

    // A curator registers a citizen; the card shows the activation code.
    let citizen = cases
        .create_citizen(s.request(
            &curator,
            cpb::CreateCitizenRequest {
                surname: "Иванова".into(),
                name: "Мария".into(),
                phone: "8 912 345-67-89".into(),
                ..Default::default()
            },
        ))
        .await
        .expect("citizen")
        .into_inner();
    let link = cases
        .get_citizen_bot_link(s.request(&curator, cpb::GetCitizenBotLinkRequest { citizen_id: citizen.id.clone() }))
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
    wait_within("«Бот активирован» on the card", PATIENCE, async || {
        let c = cases
            .clone()
            .get_citizen(s.request(&curator, cpb::GetCitizenRequest { id: citizen.id.clone() }))
            .await
            .ok()?
            .into_inner();
        c.bot_activated.then_some(())
    })
    .await;

    // A document: stored by files, queued for the curator, mailed to both.
    telegram.send_document(bot_token, chat, "справка.pdf", "application/pdf", b"%PDF-1.4\n% e2e\n%%EOF\n");
    let activities = |kind: cpb::ActivityKind| {
        let (mut cases, req) = (
            cases.clone(),
            s.request(
                &curator,
                cpb::ListActivitiesRequest { citizen_id: citizen.id.clone(), kind: kind as i32, ..Default::default() },
            ),
        );
        async move { cases.list_activities(req).await.ok().map(|r| r.into_inner().activities).filter(|a| !a.is_empty()) }
    };
    let file_activity =
        wait_within("a file activity", PATIENCE, async || activities(cpb::ActivityKind::FileReceived).await).await;
    assert!(!file_activity[0].file_id.is_empty(), "the row opens the file (S0-86)");
    smtp.wait_for(curator_email).await;
    smtp.wait_for(admin_copy).await;

    // «Запросить связь»: history entry, queue item, mail copies.
    telegram.send_text(bot_token, chat, "Запросить связь");
    wait_within("a contact activity", PATIENCE, async || activities(cpb::ActivityKind::ContactRequested).await).await;
    let history = cases
        .list_interactions(
            s.request(&curator, cpb::ListInteractionsRequest { citizen_id: citizen.id.clone(), ..Default::default() }),
        )
        .await
        .expect("history")
        .into_inner();
    assert!(!history.interactions.is_empty(), "the contact request is in «История взаимодействия»");
    wait_within("two copies for the curator", PATIENCE, async || (smtp.to(curator_email).len() >= 2).then_some(()))
        .await;
}
