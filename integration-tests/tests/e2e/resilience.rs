//! Issue 9, points 8 and 9: background work that survives. The fault drill
//! (a broker outage across a burst, a graceful stop and a hard kill of
//! notifications mid-burst) and the burst test (200 reminders and 50 bot
//! interactions at once under the production tracing subscriber, then a task
//! killed on purpose and seen restarted). Real PostgreSQL, a NATS server of
//! the test's own, the fake Bot API; the scheduler runs on a manual clock.
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use futures::StreamExt as _;
use opeka_integration_tests::{OwnNats, PASSWORD, Suite};
use opeka_notifications::testing::FakeTelegram;
use opeka_proto::cases::{self as cpb, cases_service_client::CasesServiceClient};
use opeka_proto::identity as ipb;
use opeka_proto::notifications::{self as npb, notifications_service_client::NotificationsServiceClient};
use opeka_proto::scheduler::{self as spb, scheduler_service_client::SchedulerServiceClient};
use opeka_testkit::{Service, wait_within};
use tonic::transport::Channel;

/// 2027-03-01 at `h:m` Moscow time (UTC+3, no DST).
fn msk(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 3, 1, h, m, 0).unwrap() - chrono::Duration::hours(3)
}

struct World {
    suite: Suite,
    telegram: FakeTelegram,
    bot_token: String,
    curator: String,
    /// `/readyz` of an admin server with the process's checks (broker, tasks).
    readyz: String,
    metrics: String,
}

/// The suite with the scheduler on a manual clock at 08:00, notifications
/// against a fake Bot API (in a runtime of its own when `apart`), every
/// service on `nats` when given, and the admin server `opeka serve` runs.
async fn world(nats: Option<String>, apart: bool) -> World {
    let telegram = FakeTelegram::start().await;
    let api = telegram.url.clone();
    let suite = Suite::start_with(|mut b| {
        if apart {
            b = b.apart(Service::Notifications);
        }
        b.manual_clock(msk(8, 0), &[Service::Scheduler]).tweak(move |s| {
            if let Some(url) = nats {
                s.platform.nats_url = url;
            }
            s.notifications.telegram_api_url = api;
            s.notifications.poll_timeout_secs = 1;
            // A burst that lasts long enough to stop a process in the middle of it.
            s.notifications.telegram_per_bot_per_sec = 20;
            s.notifications.db_max_connections = 10;
            s.scheduler.dispatch_interval_ms = 100;
            s.scheduler.sweep_interval_secs = 1;
        })
    })
    .await;
    // The admin server `opeka serve` runs: broker connection and supervised tasks.
    let bus = opeka_platform::bus::Bus::connect(&suite.settings.platform, "admin").await.expect("bus");
    let admin = opeka_platform::admin::Admin::new()
        .check("nats", opeka_platform::admin::bus_check(bus))
        .check("tasks", suite.tasks.check());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind admin");
    let admin_url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(admin.serve(listener, suite.stop_token()));

    let admin_token = suite.admin_token().await;
    suite
        .identity()
        .create_staff_account(suite.request(
            &admin_token,
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
    NotificationsServiceClient::new(suite.channel(Service::Notifications))
        .set_bot_token(suite.request(&admin_token, npb::SetBotTokenRequest { token: bot_token.clone() }))
        .await
        .expect("bot token");
    let curator = suite.access_token("kuratorova", PASSWORD).await;
    World {
        suite,
        telegram,
        bot_token,
        curator,
        readyz: format!("{admin_url}/readyz"),
        metrics: format!("{admin_url}/metrics"),
    }
}

impl World {
    fn cases(&self) -> CasesServiceClient<Channel> {
        CasesServiceClient::new(self.suite.channel(Service::Cases))
    }

    fn scheduler(&self) -> SchedulerServiceClient<Channel> {
        SchedulerServiceClient::new(self.suite.channel(Service::Scheduler))
    }

    /// A citizen whose bot is activated in `chat`, with a one-off reminder
    /// at each of `times` on 2027-03-01.
    async fn citizen(&self, i: usize, chat: i64, times: &[&str]) {
        let s = &self.suite;
        let citizen = self
            .cases()
            .create_citizen(s.request(
                &self.curator,
                cpb::CreateCitizenRequest {
                    surname: format!("Гражданинова{i}"),
                    name: "Мария".into(),
                    phone: format!("+7 913 {:03}-{:02}-{:02}", i / 10000, (i / 100) % 100, i % 100),
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
        wait_within("«Бот активирован»", Duration::from_secs(30), async || {
            let req = s.request(&self.curator, cpb::GetCitizenRequest { id: citizen.id.clone() });
            self.cases().get_citizen(req).await.ok()?.into_inner().bot_activated.then_some(())
        })
        .await;
        for time in times {
            let req = spb::CreateSeriesRequest {
                citizen_id: citizen.id.clone(),
                kind: spb::ReminderKind::Support as i32,
                description: "Принять лекарство".into(),
                start_date: "2027-03-01".into(),
                time_of_day: (*time).into(),
                recurrence: Some(spb::Recurrence { frequency: spb::Frequency::Once as i32, ..Default::default() }),
                ..Default::default()
            };
            self.scheduler().create_series(s.request(&self.curator, req)).await.expect("series");
        }
    }

    /// `n` citizens in chats `base..base+n`, ten set up at a time.
    async fn citizens(&self, base: i64, n: usize, times: &[&str]) -> Vec<i64> {
        let chats: Vec<i64> = (0..n).map(|i| base + i as i64).collect();
        futures::stream::iter(chats.iter().enumerate())
            .map(|(i, chat)| self.citizen(i, *chat, times))
            .buffer_unordered(10)
            .collect::<Vec<()>>()
            .await;
        chats
    }

    /// How many copies of the reminder at `hhmm` each chat received.
    fn copies(&self, chats: &[i64], hhmm: &str) -> BTreeMap<i64, usize> {
        let needle = format!("01.03.2027 {hhmm} — ");
        let mut counts: BTreeMap<i64, usize> = chats.iter().map(|c| (*c, 0)).collect();
        for call in self.telegram.calls() {
            if call.method == "sendMessage"
                && !call.throttled
                && call.text().contains(&needle)
                && let Some(n) = call.chat_id().and_then(|c| counts.get_mut(&c))
            {
                *n += 1;
            }
        }
        counts
    }

    async fn all_arrived(&self, chats: &[i64], hhmm: &str, within: Duration) -> BTreeMap<i64, usize> {
        wait_within(&format!("every {hhmm} reminder"), within, async || {
            let copies = self.copies(chats, hhmm);
            copies.values().all(|n| *n >= 1).then_some(copies)
        })
        .await
    }

    async fn first_arrived(&self, chats: &[i64], hhmm: &str) {
        wait_within(&format!("the first {hhmm} reminder"), Duration::from_secs(60), async || {
            self.copies(chats, hhmm).values().any(|n| *n >= 1).then_some(())
        })
        .await;
    }

    /// `opeka_task_restarts_total{task="<task>"}` as `/metrics` shows it.
    async fn restarts_metric(&self, task: &str) -> u64 {
        let text = reqwest::get(&self.metrics).await.expect("metrics").text().await.expect("body");
        let series = format!("opeka_task_restarts_total{{task=\"{task}\"}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(&series))
            .unwrap_or_else(|| panic!("no {series} in /metrics"))
            .trim()
            .parse()
            .expect("a count")
    }

    async fn ready(&self) -> (bool, String) {
        match reqwest::get(&self.readyz).await {
            Ok(r) => (r.status().is_success(), r.text().await.unwrap_or_default()),
            Err(e) => (false, e.to_string()),
        }
    }
}

/// Duplicates: the chats that got more than one copy.
fn duplicates(copies: &BTreeMap<i64, usize>) -> usize {
    copies.values().filter(|n| **n > 1).count()
}

/// Issue 9, point 9: the fault drill. 100 activated citizens, a reminder each
/// at 09:00, 10:00 and 11:00. NATS is down for 60 s across the 09:00 burst;
/// notifications is stopped gracefully (its token, as SIGTERM) in the middle
/// of the 10:00 burst and started again; it is killed (its runtime dropped,
/// as SIGKILL) in the middle of the 11:00 burst and started again. Every
/// reminder arrives with no manual step, none more than twice, none twice
/// after the graceful stop, the last within 2 minutes of recovery; `/readyz`
/// is red while the broker is away.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn issue9_point9_fault_drill_outage_graceful_stop_and_kill_mid_burst() {
    let mut nats = OwnNats::start();
    let w = world(Some(nats.url()), true).await;
    let chats = w.citizens(7_900_000, 100, &["09:00", "10:00", "11:00"]).await;
    assert!(w.ready().await.0, "ready before the drill: {}", w.ready().await.1);

    // 1. The broker goes away 30 s of test time before the burst and comes
    //    back 60 s after it stopped.
    nats.stop();
    let down_at = Instant::now();
    wait_within("/readyz red without the broker", Duration::from_secs(15), async || {
        let (ok, body) = w.ready().await;
        (!ok && body.contains("nats")).then_some(())
    })
    .await;
    w.suite.clock.set(msk(9, 0));
    tokio::time::sleep(Duration::from_secs(60).saturating_sub(down_at.elapsed())).await;
    assert!(!w.ready().await.0, "/readyz stays red while the broker is away");
    nats.restart();
    let recovered = Instant::now();
    let copies = w.all_arrived(&chats, "09:00", Duration::from_secs(120)).await;
    let outage_last = recovered.elapsed();
    let outage_dups = duplicates(&copies);
    wait_within("/readyz green again", Duration::from_secs(30), async || w.ready().await.0.then_some(())).await;

    // 2. A graceful stop in the middle of the burst: nothing lost, nothing twice.
    w.suite.clock.set(msk(10, 0));
    w.first_arrived(&chats, "10:00").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before_stop = w.copies(&chats, "10:00").values().filter(|n| **n > 0).count();
    w.suite.stop_service(Service::Notifications).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    w.suite.restart_service(Service::Notifications).await;
    let restarted = Instant::now();
    let copies = w.all_arrived(&chats, "10:00", Duration::from_secs(120)).await;
    let graceful_last = restarted.elapsed();
    let graceful_dups = duplicates(&copies);

    // 3. A kill in the middle of the burst: everything arrives, at most twice.
    w.suite.clock.set(msk(11, 0));
    w.first_arrived(&chats, "11:00").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before_kill = w.copies(&chats, "11:00").values().filter(|n| **n > 0).count();
    w.suite.kill_service(Service::Notifications);
    tokio::time::sleep(Duration::from_secs(2)).await;
    w.suite.restart_service(Service::Notifications).await;
    let restarted = Instant::now();
    let copies = w.all_arrived(&chats, "11:00", Duration::from_secs(120)).await;
    let kill_last = restarted.elapsed();
    // Late copies of a resent claim would show up after the last first copy.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let copies = {
        let again = w.copies(&chats, "11:00");
        assert!(again.values().zip(copies.values()).all(|(a, b)| a >= b));
        again
    };
    let kill_dups = duplicates(&copies);

    println!(
        "fault drill: outage — all 100 within {outage_last:?} of the broker's return, {outage_dups} twice; \
         graceful stop after {before_stop}/100 — all within {graceful_last:?}, {graceful_dups} twice; \
         kill after {before_kill}/100 — all within {kill_last:?}, {kill_dups} twice"
    );
    assert!(outage_last <= Duration::from_secs(120));
    assert!(graceful_last <= Duration::from_secs(120));
    assert!(kill_last <= Duration::from_secs(120));
    assert_eq!(graceful_dups, 0, "a graceful stop sends nothing twice");
    assert!(copies.values().all(|n| *n <= 2), "no reminder more than twice after a kill: {copies:?}");
    let outage_copies = w.copies(&chats, "09:00");
    assert!(outage_copies.values().all(|n| *n <= 2), "no reminder more than twice after the outage");
}

/// Issue 9, point 8: the burst test under the production tracing subscriber
/// (the suite installs it). 200 reminders to 200 chats and 50 bot
/// interactions at once: every task survives, no outbox keeps a row, every
/// reminder arrives once. Then a task is killed on purpose and is seen
/// restarted, with `/readyz` red in between.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn issue9_point8_burst_under_the_production_subscriber_then_a_task_killed_and_restarted() {
    let w = world(None, false).await;
    assert!(tracing::dispatcher::has_been_set(), "the production subscriber is installed");
    let chats = w.citizens(7_800_000, 200, &["09:00"]).await;
    let tasks = w.suite.tasks.clone();
    let restarts_before: BTreeMap<String, u64> =
        tasks.names().into_iter().map(|n| (n.clone(), tasks.restarts(&n).unwrap_or(0))).collect();
    assert!(restarts_before.contains_key("notifications.outbox-relay"), "tasks: {restarts_before:?}");

    // The burst and the interactions together.
    w.suite.clock.set(msk(9, 0));
    for chat in &chats[..50] {
        w.telegram.send_text(&w.bot_token, *chat, "/start");
    }
    let copies = w.all_arrived(&chats, "09:00", Duration::from_secs(120)).await;
    for chat in &chats[..50] {
        w.telegram.wait_for_text(*chat, "Бот уже активирован").await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let copies = {
        let again = w.copies(&chats, "09:00");
        assert!(again.values().zip(copies.values()).all(|(a, b)| a >= b));
        again
    };
    assert!(copies.values().all(|n| *n == 1), "every reminder exactly once: {copies:?}");
    let restarts_after: BTreeMap<String, u64> =
        tasks.names().into_iter().map(|n| (n.clone(), tasks.restarts(&n).unwrap_or(0))).collect();
    assert_eq!(restarts_after, restarts_before, "no task died during the burst");
    for schema in ["identity", "cases", "files", "notifications", "scheduler", "gateway"] {
        let query = format!("select count(*) from {schema}.outbox where published_at is null");
        wait_within(&format!("{schema}'s outbox published"), Duration::from_secs(10), async || {
            let left: i64 =
                sqlx::query_scalar(sqlx::AssertSqlSafe(query.clone())).fetch_one(&w.suite.owner_pool).await.ok()?;
            (left == 0).then_some(())
        })
        .await;
    }
    assert!(w.ready().await.0, "ready after the burst: {}", w.ready().await.1);

    // A task killed on purpose: red while down, restarted, counted.
    let relay = "notifications.outbox-relay";
    let counted_before = w.restarts_metric(relay).await;
    assert!(tasks.kill_for_test(relay));
    let red = wait_within("/readyz red naming the dead task", Duration::from_secs(5), async || {
        let (ok, body) = w.ready().await;
        (!ok && body.contains(relay)).then_some(body)
    })
    .await;
    assert!(red.contains("killed on purpose"), "the reason is shown: {red}");
    wait_within("the task restarted", Duration::from_secs(10), async || {
        (tasks.restarts(relay) == Some(1) && w.ready().await.0).then_some(())
    })
    .await;
    assert_eq!(w.restarts_metric(relay).await, counted_before + 1, "the restart is counted in /metrics");
}
