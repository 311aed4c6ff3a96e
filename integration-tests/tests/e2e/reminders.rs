//! Issue 4 end to end: identity, cases, notifications (against a fake Bot API),
//! scheduler and the gateway. The scheduler runs on a manual clock, so a test
//! moves its time instead of sleeping through it; the other services keep the
//! system clock (access tokens stay valid). Covers S0-57, S0-63, S0-64,
//! S0-75…S0-78, S0-90, S0-95 and the dispatcher's guarantees (one delivery
//! per occurrence with two replicas; nothing lost while NATS is down).
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use opeka_integration_tests::{OwnNats, PASSWORD, Suite};
use opeka_notifications::testing::FakeTelegram;
use opeka_proto::cases::{self as cpb, cases_service_client::CasesServiceClient};
use opeka_proto::identity::{self as ipb};
use opeka_proto::notifications::{self as npb, notifications_service_client::NotificationsServiceClient};
use opeka_proto::scheduler::{self as spb, scheduler_service_client::SchedulerServiceClient};
use opeka_testkit::{Service, wait_within};
use tonic::transport::Channel;

/// How long a reminder may take through scheduler, NATS and notifications.
const PATIENCE: Duration = Duration::from_secs(30);

/// 2027-03-01 at `h:m` Moscow time (UTC+3, no DST).
fn msk(day: u32, h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 3, day, h, m, 0).unwrap() - chrono::Duration::hours(3)
}

struct World {
    suite: Suite,
    telegram: FakeTelegram,
    bot_token: String,
    curator: String,
}

/// The suite with the scheduler (and its `replicas`) on a manual clock at
/// `clock_at`, notifications against a fake Bot API, every service on `nats`
/// when given.
async fn world(clock_at: DateTime<Utc>, nats: Option<String>, replicas: usize) -> World {
    let telegram = FakeTelegram::start().await;
    let api = telegram.url.clone();
    let suite = Suite::start_with(|b| {
        b.manual_clock(clock_at, &[Service::Scheduler]).replicas(Service::Scheduler, replicas).tweak(move |s| {
            if let Some(url) = nats {
                s.platform.nats_url = url;
            }
            s.notifications.telegram_api_url = api;
            s.notifications.poll_timeout_secs = 1;
            s.scheduler.dispatch_interval_ms = 100;
            s.scheduler.sweep_interval_secs = 1;
            s.scheduler.detector_cron = "* * * * * *".into();
        })
    })
    .await;
    let admin = suite.admin_token().await;
    suite
        .identity()
        .create_staff_account(suite.request(
            &admin,
            ipb::CreateStaffAccountRequest {
                surname: "Кураторова".into(),
                name: "Анна".into(),
                login: "kuratorova".into(),
                password: PASSWORD.into(),
                password_repeat: PASSWORD.into(),
                roles: vec![ipb::Role::Curator as i32],
                ..Default::default()
            },
        ))
        .await
        .expect("curator");
    let bot_token = format!("123456789:AAH{}", uuid::Uuid::new_v4().simple());
    telegram.add_bot(&bot_token, "opeka_reminders_bot");
    notifications(&suite)
        .set_bot_token(suite.request(&admin, npb::SetBotTokenRequest { token: bot_token.clone() }))
        .await
        .expect("bot token");
    let curator = suite.access_token("kuratorova", PASSWORD).await;
    World { suite, telegram, bot_token, curator }
}

fn notifications(s: &Suite) -> NotificationsServiceClient<Channel> {
    NotificationsServiceClient::new(s.channel(Service::Notifications))
}

impl World {
    fn scheduler(&self) -> SchedulerServiceClient<Channel> {
        SchedulerServiceClient::new(self.suite.channel(Service::Scheduler))
    }

    fn cases(&self) -> CasesServiceClient<Channel> {
        CasesServiceClient::new(self.suite.channel(Service::Cases))
    }

    /// A citizen of the curator whose bot is linked to `chat`.
    async fn citizen(&self, surname: &str, chat: i64) -> cpb::Citizen {
        let s = &self.suite;
        let citizen = self
            .cases()
            .create_citizen(s.request(
                &self.curator,
                cpb::CreateCitizenRequest {
                    surname: surname.into(),
                    name: "Мария".into(),
                    phone: format!("+7 912 345-{:02}-{:02}", chat % 100, (chat / 100) % 100),
                    ..Default::default()
                },
            ))
            .await
            .expect("citizen")
            .into_inner();
        let link = self
            .cases()
            .get_citizen_bot_link(
                s.request(&self.curator, cpb::GetCitizenBotLinkRequest { citizen_id: citizen.id.clone() }),
            )
            .await
            .expect("link")
            .into_inner();
        self.telegram.send_text(&self.bot_token, chat, "/start");
        self.telegram.wait_for_text(chat, "Введите код активации").await;
        self.telegram.send_text(&self.bot_token, chat, &link.code);
        self.telegram.wait_for_text(chat, "Успешная активация").await;
        wait_within("«Бот активирован»", PATIENCE, async || {
            let req = s.request(&self.curator, cpb::GetCitizenRequest { id: citizen.id.clone() });
            self.cases().get_citizen(req).await.ok()?.into_inner().bot_activated.then_some(())
        })
        .await;
        citizen
    }

    async fn series(&self, req: spb::CreateSeriesRequest) -> spb::Series {
        self.scheduler()
            .create_series(self.suite.request(&self.curator, req))
            .await
            .expect("create series")
            .into_inner()
    }

    async fn occurrences(&self, citizen_id: &str, from: &str, to: &str) -> Vec<spb::Occurrence> {
        let req = spb::ListOccurrencesRequest {
            citizen_id: citizen_id.into(),
            from_date: from.into(),
            to_date: to.into(),
            ..Default::default()
        };
        self.scheduler()
            .list_occurrences(self.suite.request(&self.curator, req))
            .await
            .expect("list")
            .into_inner()
            .occurrences
    }

    /// The reminder message for `needle` in `chat`, and the callback data of its button `label`.
    async fn reminder(&self, chat: i64, needle: &str, label: &str) -> String {
        let call = self.telegram.wait_for_text(chat, needle).await;
        let buttons = call.inline_buttons();
        let labels: Vec<&str> = buttons.iter().map(|(l, _)| l.as_str()).collect();
        assert_eq!(labels, ["Выполнено", "Пропущено"], "S0-57: both buttons under the reminder");
        buttons.into_iter().find(|(l, _)| l == label).expect("button").1
    }

    fn press(&self, chat: i64, data: &str) {
        self.telegram.press_button(&self.bot_token, chat, 1, data);
    }

    fn reminder_messages(&self, chat: i64) -> usize {
        self.telegram.sent_to(chat).iter().filter(|c| !c.inline_buttons().is_empty()).count()
    }
}

fn once(citizen_id: &str, kind: spb::ReminderKind, text: &str, date: &str, time: &str) -> spb::CreateSeriesRequest {
    spb::CreateSeriesRequest {
        citizen_id: citizen_id.into(),
        kind: kind as i32,
        description: text.into(),
        start_date: date.into(),
        time_of_day: time.into(),
        recurrence: Some(spb::Recurrence { frequency: spb::Frequency::Once as i32, ..Default::default() }),
        ..Default::default()
    }
}

// S0-57, S0-75…S0-77: delivered with both buttons at its time, «Выполнено»
// turns it green in the gateway's calendar data; an unanswered one turns
// yellow after the grace period.
#[tokio::test]
async fn a_reminder_is_delivered_answered_green_and_an_unanswered_one_turns_yellow() {
    let w = world(msk(1, 8, 0), None, 0).await;
    let chat = 7_100_001;
    let citizen = w.citizen("Иванова", chat).await;
    w.series(once(&citizen.id, spb::ReminderKind::Support, "Принять лекарство", "2027-03-01", "09:00")).await;
    w.series(once(&citizen.id, spb::ReminderKind::Info, "Приходите на приём?", "2027-03-01", "10:00")).await;
    let planned = w.occurrences(&citizen.id, "2027-03-01", "2027-03-02").await;
    assert_eq!(planned.iter().map(|o| o.colour.as_str()).collect::<Vec<_>>(), ["blue", "blue"], "S0-75");

    // Nothing is sent long before its time when the bot is idle.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(w.reminder_messages(chat), 0);

    w.suite.clock.set(msk(1, 9, 0));
    let done = w.reminder(chat, "01.03.2027 09:00 — Меры поддержки: Принять лекарство", "Выполнено").await;
    w.press(chat, &done);
    let (s, c) = (&w.suite, &citizen);
    wait_within("green in the calendar data", PATIENCE, async || {
        let url = format!(
            "{}/t/{}/citizens/{}/program/events?start=2027-03-01&end=2027-03-02",
            s.url(Service::Gateway),
            s.tenant,
            c.id
        );
        let json = curator_json(s, &url).await?;
        let colours: Vec<String> = json
            .as_array()?
            .iter()
            .filter_map(|e| e.get("colour").or_else(|| e.get("color")).and_then(|v| v.as_str()).map(str::to_string))
            .collect();
        colours.iter().any(|c| c == "green").then_some(())
    })
    .await;
    // A second press is answered politely and changes nothing.
    w.press(chat, &done);
    w.telegram
        .wait_for(Duration::from_secs(10), "a polite second answer", |c| {
            c.method == "answerCallbackQuery"
                && c.params.get("text").and_then(|t| t.as_str()).is_some_and(|t| t.contains("уже"))
        })
        .await;

    // The 10:00 question: delivered, never answered → yellow after the grace period.
    w.suite.clock.set(msk(1, 10, 0));
    w.reminder(chat, "01.03.2027 10:00 — Информация для Вас: Приходите на приём?", "Пропущено").await;
    w.suite.clock.set(msk(1, 13, 0));
    wait_within("yellow after the grace period (S0-76)", PATIENCE, async || {
        let o = w.occurrences(&citizen.id, "2027-03-01", "2027-03-02").await;
        let colours: Vec<&str> = o.iter().map(|o| o.colour.as_str()).collect();
        (colours == ["green", "yellow"]).then_some(())
    })
    .await;
}

/// GET `url` as the curator through the gateway's login form; the JSON body.
async fn curator_json(s: &Suite, url: &str) -> Option<serde_json::Value> {
    let client = opeka_integration_tests::web::signed_in(s, "kuratorova", PASSWORD).await;
    let r = client.get(url).send().await.ok()?;
    if !r.status().is_success() {
        return None;
    }
    r.json().await.ok()
}

// S0-90, S0-95: «Пропущено» five days in a row raises exactly one «пропуск
// (5 дней)» work-queue item, however often the detector runs.
#[tokio::test]
async fn five_skipped_days_raise_exactly_one_activity() {
    let w = world(msk(1, 8, 0), None, 0).await;
    let chat = 7_100_002;
    let citizen = w.citizen("Петрова", chat).await;
    let mut daily = once(&citizen.id, spb::ReminderKind::Support, "Зарядка", "2027-03-01", "09:00");
    daily.recurrence =
        Some(spb::Recurrence { frequency: spb::Frequency::Daily as i32, count: 10, ..Default::default() });
    w.series(daily).await;

    for day in 1..=5 {
        w.suite.clock.set(msk(day, 9, 0));
        let skip = w.reminder(chat, &format!("0{day}.03.2027 09:00 — Меры поддержки: Зарядка"), "Пропущено").await;
        w.press(chat, &skip);
        let date = format!("2027-03-0{day}");
        let next = format!("2027-03-0{}", day + 1);
        wait_within("red (S0-78)", PATIENCE, async || {
            let o = w.occurrences(&citizen.id, &date, &next).await;
            (o.len() == 1 && o[0].colour == "red").then_some(())
        })
        .await;
        w.suite.clock.set(msk(day, 20, 0));
    }
    let activities = async || {
        let req = w.suite.request(
            &w.curator,
            cpb::ListActivitiesRequest {
                citizen_id: citizen.id.clone(),
                kind: cpb::ActivityKind::Skipped5Days as i32,
                ..Default::default()
            },
        );
        w.cases().list_activities(req).await.expect("activities").into_inner().activities
    };
    wait_within("«пропуск (5 дней)»", PATIENCE, async || (!activities().await.is_empty()).then_some(())).await;
    // The detector runs every second here: still one item after several runs.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let raised = activities().await;
    assert_eq!(raised.len(), 1, "raised once per episode: {raised:?}");
}

// Two scheduler replicas on one database: every occurrence reaches the
// citizen exactly once (the fake Bot API counts the messages).
#[tokio::test]
async fn two_schedulers_deliver_each_occurrence_exactly_once() {
    let w = world(msk(1, 8, 0), None, 1).await;
    let chats = [7_100_010_i64, 7_100_011, 7_100_012];
    for (i, chat) in chats.iter().enumerate() {
        let citizen = w.citizen(&format!("Сидорова{i}"), *chat).await;
        let mut daily = once(&citizen.id, spb::ReminderKind::Support, "Прогулка", "2027-03-01", "09:00");
        daily.recurrence =
            Some(spb::Recurrence { frequency: spb::Frequency::Daily as i32, count: 3, ..Default::default() });
        w.series(daily).await;
    }
    for day in 1..=3 {
        w.suite.clock.set(msk(day, 9, 0));
        for chat in chats {
            w.telegram.wait_for_text(chat, &format!("0{day}.03.2027 09:00 — Меры поддержки: Прогулка")).await;
        }
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    for chat in chats {
        assert_eq!(w.reminder_messages(chat), 3, "chat {chat}: each of three occurrences once");
    }
}

// NATS down for a while: the dispatcher keeps working into the outbox; when
// the broker returns, the reminder is delivered (within the catch-up window).
#[tokio::test]
async fn a_reminder_due_while_nats_is_down_arrives_when_it_returns() {
    let mut nats = OwnNats::start();
    let w = world(msk(1, 8, 0), Some(nats.url()), 0).await;
    let chat = 7_100_020;
    let citizen = w.citizen("Козлова", chat).await;
    w.series(once(&citizen.id, spb::ReminderKind::Meeting, "Встреча в центре", "2027-03-01", "09:00")).await;

    nats.stop();
    w.suite.clock.set(msk(1, 9, 0));
    let s = &w.suite;
    wait_within("the occurrence released into the outbox", PATIENCE, async || {
        let o = w.occurrences(&citizen.id, "2027-03-01", "2027-03-02").await;
        (o.len() == 1 && o[0].status == spb::OccurrenceStatus::Sent as i32).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(w.reminder_messages(chat), 0, "nothing can be delivered while the broker is down");
    nats.restart();
    let call = w.telegram.wait_for(Duration::from_secs(60), "the reminder after the outage", |c| {
        c.method == "sendMessage" && c.chat_id() == Some(chat) && c.text().contains("Встреча в центре")
    });
    let call = call.await;
    assert!(call.text().starts_with("01.03.2027 09:00"), "the message states its own time: {}", call.text());
    let _ = s;
}
