//! Outbound Telegram sends: «Написать сообщение» (S0-89), Telegram's limits
//! (≤ 1 message a second per chat), 429 with `retry_after` honoured.
use std::time::Duration;

use opeka_proto::events::{self as ev, envelope::Body};
use opeka_proto::notifications as pb;
use tonic::Code;

use crate::helpers::{Staff, Tenant, TestApp, expect_code, expect_invalid, wait_until};

/// Tells notifications (as cases would) that `curator` curates `account`.
async fn assign(app: &TestApp, t: &Tenant, account: &str, curator: &Staff) {
    let citizen_id = uuid::Uuid::now_v7().to_string();
    let env = opeka_platform::bus::envelope(
        t.id,
        "system",
        chrono::Utc::now(),
        Body::CitizenCreated(ev::CitizenCreated {
            citizen_id,
            account_id: account.into(),
            curator_id: curator.id.clone(),
            ..Default::default()
        }),
    );
    app.sandbox.publish("cases", &t.slug, &env, &env.event_id).await;
    wait_until("the citizen's curator to be known", || async {
        let n: i64 = sqlx::query_scalar(
            "select count(*) from notifications.citizen_curators where citizen_account_id = $1::uuid",
        )
        .bind(account)
        .fetch_one(&app.owner_pool)
        .await
        .unwrap();
        (n == 1).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_curator_writes_to_their_citizen_and_the_send_is_logged() {
    // S0-89: the curator leaves a short message when the citizen cannot be reached.
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let token = app.configure_bot(&t).await;
    let curator = app.curator(&t, "kuratorova").await;
    let other = app.curator(&t, "drugaya").await;
    let (citizen, code) = app.citizen(&t, "Петров").await;
    let (unlinked, _) = app.citizen(&t, "Сидоров").await;
    assign(&app, &t, &citizen, &curator).await;
    assign(&app, &t, &unlinked, &curator).await;
    let mut c = app.notifications(&curator.token, &t.slug);
    let msg = |id: &str| pb::SendMessageToCitizenRequest {
        citizen_account_id: id.into(),
        text: "Не дозвонилась до вас, перезвоните, пожалуйста.".into(),
    };

    // Not activated yet.
    let st = expect_code(c.send_message_to_citizen(msg(&citizen)).await, Code::FailedPrecondition);
    assert!(st.message().contains("не активировал"), "{}", st.message());
    app.activate(&token, 6001, &code).await;

    let sent = c.send_message_to_citizen(msg(&citizen)).await.expect("sent").into_inner();
    let call = app.telegram.wait_for_text(6001, "Не дозвонилась до вас").await;
    assert!(call.text().starts_with("Сообщение от соц. куратора"));
    let log = app.deliveries(&t).await;
    let d = log.iter().find(|d| d.id == sent.delivery_id).expect("logged");
    assert_eq!(
        (d.channel, d.status, d.recipient.as_str(), d.kind.as_str()),
        (pb::DeliveryChannel::Telegram as i32, pb::DeliveryStatus::Sent as i32, "6001", "citizen_message")
    );
    let mut delivered = app.sandbox.events("notifications", &t.slug, "message_delivered").await;
    match delivered.next().await.body {
        Some(Body::MessageDelivered(m)) => {
            assert_eq!((m.citizen_account_id, m.delivery_id), (citizen.clone(), sent.delivery_id))
        }
        other => panic!("expected message_delivered, got {other:?}"),
    }

    // Another curator's citizen, bad input, a citizen without the bot.
    let mut o = app.notifications(&other.token, &t.slug);
    expect_code(o.send_message_to_citizen(msg(&citizen)).await, Code::PermissionDenied);
    expect_invalid(
        c.send_message_to_citizen(pb::SendMessageToCitizenRequest {
            citizen_account_id: citizen.clone(),
            text: "  ".into(),
        })
        .await,
        "text",
    );
    expect_invalid(c.send_message_to_citizen(msg("nope")).await, "citizen_account_id");
    expect_code(c.send_message_to_citizen(msg(&unlinked)).await, Code::FailedPrecondition);
    // The admin may write to anyone in the tenant.
    app.admin(&t).send_message_to_citizen(msg(&citizen)).await.expect("admin writes");
}

#[tokio::test]
async fn without_a_bot_the_message_cannot_be_sent() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let (citizen, _) = app.citizen(&t, "Петров").await;
    let curator = app.curator(&t, "kuratorova").await;
    assign(&app, &t, &citizen, &curator).await;
    let msg = |id: String| pb::SendMessageToCitizenRequest { citizen_account_id: id, text: "Привет".into() };
    let st = expect_code(app.admin(&t).send_message_to_citizen(msg(citizen)).await, Code::FailedPrecondition);
    assert_eq!(opeka_platform::error::reason(&st).as_deref(), Some("BOT_NOT_ACTIVATED"));
    // A citizen nobody here knows of (a made-up id, or another tenant's)
    // is not found, whatever the bot.
    let unknown = uuid::Uuid::now_v7().to_string();
    expect_code(app.admin(&t).send_message_to_citizen(msg(unknown)).await, Code::NotFound);
}

#[tokio::test]
async fn a_429_with_retry_after_delays_the_message_but_it_arrives() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let token = app.configure_bot(&t).await;
    let (citizen, code) = app.citizen(&t, "Петров").await;
    app.activate(&token, 7001, &code).await;
    app.telegram.throttle("sendMessage", 1, 2);
    let started = std::time::Instant::now();
    app.admin(&t)
        .send_message_to_citizen(pb::SendMessageToCitizenRequest {
            citizen_account_id: citizen,
            text: "После паузы".into(),
        })
        .await
        .expect("delivered after the pause");
    let calls: Vec<_> = app
        .telegram
        .calls()
        .into_iter()
        .filter(|c| c.method == "sendMessage" && c.text().contains("После паузы"))
        .collect();
    assert_eq!(calls.len(), 2, "one refused, one accepted: {calls:?}");
    assert!(calls[0].throttled && !calls[1].throttled);
    assert!(calls[1].at.duration_since(calls[0].at) >= Duration::from_millis(1900), "retry_after honoured");
    assert!(started.elapsed() >= Duration::from_secs(2));
    let log = app.deliveries(&t).await;
    assert_eq!((log[0].status, log[0].attempts), (pb::DeliveryStatus::Sent as i32, 2));
}

#[tokio::test]
async fn a_burst_to_one_chat_is_paced_one_a_second_and_nothing_is_lost() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let token = app.configure_bot(&t).await;
    let (citizen, code) = app.citizen(&t, "Петров").await;
    app.activate(&token, 8001, &code).await;
    let sends = (0..4).map(|i| {
        let mut c = app.admin(&t);
        let citizen = citizen.clone();
        async move {
            c.send_message_to_citizen(pb::SendMessageToCitizenRequest {
                citizen_account_id: citizen,
                text: format!("пачка {i}"),
            })
            .await
        }
    });
    for r in futures::future::join_all(sends).await {
        r.expect("every message of the burst is sent");
    }
    let burst: Vec<_> = app.telegram.sent_to(8001).into_iter().filter(|c| c.text().contains("пачка")).collect();
    assert_eq!(burst.len(), 4);
    for pair in burst.windows(2) {
        let gap = pair[1].at.duration_since(pair[0].at);
        assert!(gap >= Duration::from_millis(950), "messages to one chat {gap:?} apart");
    }
}

#[tokio::test]
async fn one_bot_sends_at_most_thirty_messages_a_second_across_chats() {
    use opeka_notifications::telegram::{Limits, Outgoing, Sender, make_bot};
    let fake = opeka_notifications::testing::FakeTelegram::start().await;
    let token = "424242:AAHlimitsLimitsLimitsLimitsLimits";
    fake.add_bot(token, "limits_bot");
    let limits = Limits { per_bot_per_sec: 30, per_chat_interval: Duration::from_secs(1), max_attempts: 3 };
    let sender = Sender::new(make_bot(&fake.url, token).unwrap(), limits, tokio_util::sync::CancellationToken::new());
    let sends = (1..=40).map(|chat| sender.send(Outgoing::text(chat, format!("всем {chat}"))));
    for r in futures::future::join_all(sends).await {
        r.expect("sent");
    }
    let mut at: Vec<std::time::Instant> =
        fake.calls().iter().filter(|c| c.method == "sendMessage").map(|c| c.at).collect();
    at.sort();
    assert_eq!(at.len(), 40);
    for (i, t) in at.iter().enumerate() {
        let in_window = at[i..].iter().take_while(|u| u.duration_since(*t) < Duration::from_millis(990)).count();
        assert!(in_window <= 30, "{in_window} messages within a second");
    }
}
