//! `make bench`: the reminder pipeline under a morning burst.
//!
//! 1. Dispatch: 100,000 citizens with a reminder due in the same minute. The
//!    scheduler's dispatcher and outbox relay run for real (PostgreSQL, NATS
//!    2.15); the time from the due moment until every `reminder_due` is on
//!    the broker; the p50/p95/p99 lateness of the publications, where the
//!    time went (claims, publication) and the peak RSS. Baseline in the same
//!    run, drained before the burst: bare pipelined JetStream publishes of as
//!    many messages of the same size, each with its own `Nats-Msg-Id`, with a
//!    subscriber attached (what the relay cannot beat).
//! 2. Telegram: the notifications service sending released reminders to a
//!    fake Bot API that answers 429 above 30 messages a second; the achieved
//!    rate ÷ the limit, and the 429 count (goal: at the limit, zero 429s).
//! 3. Send-ahead: a 20,000-citizen region, 60 % of reminders at 09:00 and the
//!    rest spread from 07:00 to 12:00. The real dispatcher runs against
//!    PostgreSQL on a simulated clock (10-second ticks); the bot is modelled
//!    as a FIFO queue draining 30 messages a second. Share delivered by its
//!    own time with the 30-minute send-ahead window, against sending at the
//!    due time (the baseline) — goal: all of it.
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use futures::StreamExt;
use opeka_platform::{bus, db, testing};
use sqlx::Row;
use uuid::Uuid;

fn main() {
    opeka_platform::install_crypto_provider();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    // `cargo bench --bench reminders -- send_ahead` runs one part.
    let only: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let run = |part: &str| only.is_empty() || only.iter().any(|o| o == part);
    rt.block_on(async {
        testing::require_nats().await;
        if run("dispatch") {
            dispatch_burst(100_000).await;
        }
        if run("telegram") {
            telegram_rate().await;
        }
        if run("send_ahead") {
            send_ahead(20_000).await;
        }
    });
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// A tenant of the scheduler with its settings, `n` citizens with a bot
/// account, and one once-series each whose occurrence is due at `due(i)`.
async fn seed(owner: &sqlx::PgPool, tenant: Uuid, slug: &str, send_ahead: i32, n: i64, due_sql: &str, salt: i32) {
    // Bench-only SQL built from numbers and uuids this function made.
    let q = |sql: String| sqlx::query(sqlx::AssertSqlSafe(sql));
    let mut tx = owner.begin().await.expect("tx");
    q("set local search_path to scheduler, public".into()).execute(&mut *tx).await.expect("path");
    q(format!("insert into tenants values ('{tenant}', '{slug}', now())")).execute(&mut *tx).await.expect("tenant");
    q(format!(
        "insert into tenant_settings values ('{tenant}', 'Europe/Moscow', {send_ahead}, 120, 5, 10, 2, true, 30, now(), 'bench')"
    ))
    .execute(&mut *tx)
    .await
    .expect("settings");
    q(format!(
        "insert into citizens (tenant_id, citizen_id, account_id, curator_id, full_name, updated_at)
         select '{tenant}', uuid_generate_v4_compat(i, {salt} + 1), uuid_generate_v4_compat(i, {salt} + 2), null, 'Гражданин ' || i, now()
         from generate_series(1, {n}) i"
    ))
    .execute(&mut *tx)
    .await
    .expect("citizens");
    q(format!(
        "insert into series (id, tenant_id, citizen_id, kind, description, start_date, time_of_day, time_zone,
             frequency, interval, count, rrule, materialised_until, created_by, created_at, updated_at)
         select uuid_generate_v4_compat(i, {salt} + 3), '{tenant}', uuid_generate_v4_compat(i, {salt} + 1), 'support', 'Принять лекарство',
             (({due_sql}) at time zone 'Europe/Moscow')::date, (({due_sql}) at time zone 'Europe/Moscow')::time,
             'Europe/Moscow', 'once', 1, 1, 'bench', 'infinity', 'bench', now(), now()
         from generate_series(1, {n}) i"
    ))
    .execute(&mut *tx)
    .await
    .expect("series");
    q(format!(
        "insert into occurrences (id, tenant_id, series_id, citizen_id, kind, original_at, due_at, local_date,
             local_time, status, created_at, updated_at)
         select uuid_generate_v4_compat(i, {salt} + 4), '{tenant}', uuid_generate_v4_compat(i, {salt} + 3), uuid_generate_v4_compat(i, {salt} + 1),
             'support', {due_sql}, {due_sql}, (({due_sql}) at time zone 'Europe/Moscow')::date,
             (({due_sql}) at time zone 'Europe/Moscow')::time, 'planned', now(), now()
         from generate_series(1, {n}) i"
    ))
    .execute(&mut *tx)
    .await
    .expect("occurrences");
    tx.commit().await.expect("commit");
}

/// Deterministic distinct uuids from (i, kind), as SQL.
async fn install_uuid_fn(owner: &sqlx::PgPool) {
    sqlx::query(
        "create or replace function public.uuid_generate_v4_compat(i bigint, k int) returns uuid
         language sql immutable as $$ select (lpad(to_hex(k), 8, '0') || '-0000-4000-8000-' || lpad(to_hex(i), 12, '0'))::uuid $$",
    )
    .execute(owner)
    .await
    .expect("uuid fn");
}

/// `show` of the PostgreSQL settings the figures depend on.
async fn print_pg_settings(pool: &sqlx::PgPool) {
    let mut shown = Vec::new();
    for name in ["jit", "random_page_cost", "shared_buffers", "work_mem"] {
        let value: String =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("show {name}"))).fetch_one(pool).await.expect("show");
        shown.push(format!("{name} = {value}"));
    }
    println!("  PostgreSQL: {}", shown.join(", "));
}

/// This process's peak resident set (`VmHWM`): the dispatcher, the relay
/// and the bench's own subscriber all run in it.
fn peak_rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(|l| l["VmHWM:".len()..].trim().to_string()))
        .unwrap_or_else(|| "unknown".into())
}

/// Counts messages on `subject` as they arrive, with the instant of each.
fn attach_subscriber(
    mut sub: async_nats::Subscriber,
    n: usize,
) -> tokio::task::JoinHandle<Vec<(Instant, DateTime<Utc>)>> {
    tokio::spawn(async move {
        let mut seen = Vec::with_capacity(n);
        while seen.len() < n {
            match tokio::time::timeout(Duration::from_secs(120), sub.next()).await {
                Ok(Some(_)) => seen.push((Instant::now(), Utc::now())),
                _ => panic!("only {} of {n} messages arrived", seen.len()),
            }
        }
        seen
    })
}

/// The baseline: `n` messages of `size` bytes published to JetStream
/// pipelined (256 awaiting acks), each with its own `Nats-Msg-Id` as the
/// relay sends them, with a subscriber attached; drained (every message
/// received) before it returns. The rate counts from the first publish to
/// the last of the acks and receipts.
async fn bare_publish_rate(bus: &bus::Bus, n: i64, size: usize) -> f64 {
    let subject = format!("{}.bench.scheduler.baseline", bus.settings.root);
    let sub = bus.client.subscribe(subject.clone()).await.expect("sub");
    bus.client.flush().await.expect("flush");
    let receipts = attach_subscriber(sub, n as usize);
    let payload = bytes::Bytes::from(vec![7u8; size]);
    let start = Instant::now();
    let mut acks = std::collections::VecDeque::new();
    for _ in 0..n {
        let mut headers = async_nats::HeaderMap::new();
        headers.insert(async_nats::header::NATS_MESSAGE_ID, Uuid::now_v7().to_string().as_str());
        acks.push_back(bus.js.publish_with_headers(subject.clone(), headers, payload.clone()).await.expect("publish"));
        if acks.len() >= 256 {
            acks.pop_front().expect("ack").await.expect("acked");
        }
    }
    for a in acks {
        a.await.expect("acked");
    }
    let acked = start.elapsed();
    let received = receipts.await.expect("subscriber").last().map(|r| r.0 - start).unwrap_or_default();
    n as f64 / acked.max(received).as_secs_f64()
}

async fn dispatch_burst(n: i64) {
    let db = testing::migrated_db(&[&opeka_scheduler::SCHEMA]).await;
    let owner = sqlx::PgPool::connect(&db.owner_url).await.expect("owner pool");
    install_uuid_fn(&owner).await;
    let bus_settings = opeka_platform::settings::BusSettings { max_bytes: 1 << 30, ..testing::unique_bus() };
    let mut platform = opeka_platform::settings::PlatformSettings {
        nats_url: testing::nats_url(),
        nats: testing::test_credentials(),
        ..Default::default()
    };
    platform.bus = bus_settings.clone();
    let bus = testing::harness_bus(&platform).await;
    bus.ensure_stream(opeka_scheduler::SERVICE).await.expect("stream");

    // The size of a real `reminder_due` row's payload, for the baseline.
    let sample = bus::envelope(
        Uuid::new_v4(),
        "system",
        Utc::now(),
        opeka_proto::events::envelope::Body::ReminderDue(opeka_proto::events::ReminderDue {
            occurrence_id: Uuid::new_v4().to_string(),
            series_id: Uuid::new_v4().to_string(),
            citizen_id: Uuid::new_v4().to_string(),
            citizen_account_id: Uuid::new_v4().to_string(),
            kind: "support".into(),
            text: "Принять лекарство".into(),
            local_date: "01.03.2027".into(),
            local_time: "09:00".into(),
            time_zone: "Europe/Moscow".into(),
            ..Default::default()
        }),
    );
    let size = prost::Message::encoded_len(&sample) + "bench".len();
    let bare_rate = bare_publish_rate(&bus, n, size).await;

    let tenant = Uuid::new_v4();
    let due: DateTime<Utc> = Utc::now() + chrono::Duration::seconds(40);
    let due_sql = format!("timestamptz '{}'", due.to_rfc3339());
    seed(&owner, tenant, "bench", 0, n, &due_sql, 0).await;
    for table in ["tenants", "tenant_settings", "citizens", "series", "occurrences", "outbox"] {
        sqlx::query(sqlx::AssertSqlSafe(format!("vacuum analyze scheduler.{table}")))
            .execute(&owner)
            .await
            .expect("vacuum analyze");
    }
    let setup_left = due - Utc::now();
    assert!(setup_left > chrono::Duration::seconds(2), "seeding took longer than the lead time");

    let sub = bus.client.subscribe(format!("{}.*.scheduler.reminder_due", bus_settings.root)).await.expect("sub");
    bus.client.flush().await.expect("flush");
    let receipts = attach_subscriber(sub, n as usize);
    let settings = opeka_scheduler::Settings { dispatch_interval_ms: 200, ..Default::default() };
    // The service's own pool size, as `opeka serve` opens it.
    let pool = db::connect(&db.url(opeka_scheduler::SERVICE), opeka_scheduler::SERVICE, settings.db_max_connections)
        .await
        .expect("app pool");
    let outbox = bus::Outbox::new(bus_settings.root.clone(), opeka_scheduler::SERVICE);
    let engine = Arc::new(opeka_scheduler::jobs::Engine::new(pool.clone(), outbox.clone(), settings).expect("engine"));
    let cancel = tokio_util::sync::CancellationToken::new();
    tokio::spawn(bus::run_relay(pool.clone(), bus.clone(), outbox, cancel.clone()));
    tokio::spawn(opeka_scheduler::jobs::dispatch_loop(engine, opeka_platform::clock::system(), cancel.clone()));

    let seen = receipts.await.expect("subscriber");
    cancel.cancel();
    let mut lateness: Vec<f64> = seen.iter().map(|(_, at)| (*at - due).num_milliseconds() as f64 / 1000.0).collect();
    let all_out = lateness.iter().cloned().fold(f64::MIN, f64::max);
    lateness.sort_by(|a, b| a.partial_cmp(b).expect("number"));
    let span = (seen[seen.len() - 1].0 - seen[0].0).as_secs_f64();
    let rate = n as f64 / span.max(0.001);
    let phases: (f64, f64, f64, f64) = sqlx::query_as(
        "select extract(epoch from min(created_at) - $1)::float8, extract(epoch from max(created_at) - $1)::float8,
                extract(epoch from min(published_at) - $1)::float8, extract(epoch from max(published_at) - $1)::float8
         from scheduler.outbox",
    )
    .bind(due)
    .fetch_one(&owner)
    .await
    .expect("phases");
    println!("dispatch: {n} reminders due in the same minute");
    print_pg_settings(&owner).await;
    println!("  due → all {n} `reminder_due` on the broker: {all_out:.2} s (goal ≤ 5 s)");
    println!(
        "  due → published: p50 {:.2} s, p95 {:.2} s, p99 {:.2} s",
        percentile(&lateness, 0.5),
        percentile(&lateness, 0.95),
        percentile(&lateness, 0.99)
    );
    println!(
        "  phases after due: first batch claimed {:.2} s, last batch claimed {:.2} s; first marked published {:.2} s, last {:.2} s",
        phases.0, phases.1, phases.2, phases.3
    );
    println!(
        "  throughput {rate:.0}/s ÷ bare pipelined JetStream publish (Nats-Msg-Id, subscriber attached) {bare_rate:.0}/s = {:.2} (goal ≥ 0.2)",
        rate / bare_rate
    );
    println!("  peak RSS (VmHWM) of the process running dispatcher and relay: {}", peak_rss());
}

async fn telegram_rate() {
    use opeka_integration_tests::Suite;
    use opeka_notifications::testing::FakeTelegram;
    use opeka_proto::events::{self as ev, envelope::Body};
    use opeka_testkit::Service;

    const N: i64 = 600;
    const LIMIT: f64 = 30.0;
    let telegram = FakeTelegram::start().await;
    let api = telegram.url.clone();
    let suite = Suite::start_with(|b| {
        b.tweak(move |s| {
            s.notifications.telegram_api_url = api;
            s.notifications.poll_timeout_secs = 1;
        })
    })
    .await;
    let admin = suite.admin_token().await;
    let token = format!("123456789:AAH{}", Uuid::new_v4().simple());
    telegram.add_bot(&token, "opeka_bench_bot");
    opeka_proto::notifications::notifications_service_client::NotificationsServiceClient::new(
        suite.channel(Service::Notifications),
    )
    .set_bot_token(suite.request(&admin, opeka_proto::notifications::SetBotTokenRequest { token: token.clone() }))
    .await
    .expect("bot token");
    telegram.enforce_limits(LIMIT as u32, Duration::from_secs(1));

    // N citizens whose chats are linked (as a redeemed code would link them).
    let pool = db::connect(&suite.db.url("notifications"), "notifications", 2).await.expect("pool");
    let mut accounts = Vec::new();
    let mut tx = db::tenant_tx(&pool, suite.tenant_id).await.expect("tx");
    for i in 0..N {
        let account = Uuid::now_v7();
        opeka_notifications::store::link_chat(&mut tx, suite.tenant_id, 8_000_000 + i, account, Utc::now())
            .await
            .expect("link");
        accounts.push(account);
    }
    tx.commit().await.expect("commit");

    let bus = testing::harness_bus(&suite.settings.platform).await;
    bus.ensure_stream("scheduler").await.expect("stream");
    let started = Instant::now();
    let mut acks = Vec::new();
    for account in &accounts {
        let env = bus::envelope(
            suite.tenant_id,
            "system",
            Utc::now(),
            Body::ReminderDue(ev::ReminderDue {
                occurrence_id: Uuid::now_v7().to_string(),
                series_id: Uuid::now_v7().to_string(),
                citizen_id: Uuid::now_v7().to_string(),
                citizen_account_id: account.to_string(),
                kind: "support".into(),
                text: "Принять лекарство".into(),
                local_date: "01.03.2027".into(),
                local_time: "09:00".into(),
                time_zone: "Europe/Moscow".into(),
                ..Default::default()
            }),
        );
        let mut h = async_nats::HeaderMap::new();
        h.insert(async_nats::header::NATS_MESSAGE_ID, env.event_id.as_str());
        let (subject, payload) = bus.event_wire("scheduler", &suite.tenant, &env);
        acks.push(bus.js.publish_with_headers(subject, h, payload.into()).await.expect("publish"));
    }
    for a in acks {
        a.await.expect("ack");
    }
    let sent = loop {
        let sent: Vec<_> = telegram
            .calls()
            .into_iter()
            .filter(|c| c.method == "sendMessage" && !c.throttled && !c.inline_buttons().is_empty())
            .collect();
        if sent.len() as i64 >= N {
            break sent;
        }
        assert!(started.elapsed() < Duration::from_secs(N as u64), "only {} of {N} sent", sent.len());
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let first = sent.iter().map(|c| c.at).min().expect("first");
    let last = sent.iter().map(|c| c.at).max().expect("last");
    let rate = (N - 1) as f64 / last.duration_since(first).as_secs_f64();
    println!(
        "telegram: {N} reminders to {N} chats through notifications, fake Bot API refusing (429) above {LIMIT:.0}/s"
    );
    println!(
        "  send rate {rate:.1}/s ÷ Telegram's limit {LIMIT:.0}/s = {:.3}; 429 answers: {}; all {N} delivered in {:.1} s",
        rate / LIMIT,
        telegram.refused().len(),
        started.elapsed().as_secs_f64()
    );
    suite.stop();
}

/// The bot as a FIFO queue draining `rate` messages a second: each
/// message's delivery time, given release times in release order.
fn deliveries(released: &[(DateTime<Utc>, DateTime<Utc>)], rate: f64) -> Vec<f64> {
    // (released_at, due_at) sorted by release then due; returns lateness in seconds.
    let mut free_at = f64::MIN;
    released
        .iter()
        .map(|(rel, due)| {
            let rel = rel.timestamp_millis() as f64 / 1000.0;
            let start = free_at.max(rel);
            free_at = start + 1.0 / rate;
            let delivered = free_at;
            delivered - due.timestamp_millis() as f64 / 1000.0
        })
        .collect()
}

async fn send_ahead(n: i64) {
    let db = testing::migrated_db(&[&opeka_scheduler::SCHEMA]).await;
    let owner = sqlx::PgPool::connect(&db.owner_url).await.expect("owner pool");
    install_uuid_fn(&owner).await;
    let day = Utc.with_ymd_and_hms(2027, 3, 1, 0, 0, 0).unwrap();
    // 60 % at 09:00 Moscow (06:00 UTC), the rest on whole minutes 07:00–12:00.
    let due_sql = format!(
        "case when i % 10 < 6 then timestamptz '{d}' + interval '6 hours'
              else timestamptz '{d}' + interval '4 hours' + ((i * 7919) % 300) * interval '1 minute' end",
        d = day.to_rfc3339()
    );
    let (ahead, at_due) = (Uuid::new_v4(), Uuid::new_v4());
    seed(&owner, ahead, "ahead", 30, n, &due_sql, 0).await;
    seed(&owner, at_due, "atdue", 0, n, &due_sql, 10).await;

    let pool = db::connect(&db.url(opeka_scheduler::SERVICE), opeka_scheduler::SERVICE, 4).await.expect("app pool");
    let tick = 10;
    let settings = opeka_scheduler::Settings {
        dispatch_interval_ms: tick * 1000,
        dispatch_batch: 5000,
        catch_up_minutes: 24 * 60,
        ..Default::default()
    };
    let outbox = bus::Outbox::new("bench", opeka_scheduler::SERVICE);
    let engine = opeka_scheduler::jobs::Engine::new(pool.clone(), outbox, settings).expect("engine");
    let started = Instant::now();
    let mut now = day + chrono::Duration::hours(3);
    let end = day + chrono::Duration::hours(10);
    while now < end {
        engine.dispatch(now).await.expect("dispatch");
        now += chrono::Duration::seconds(tick as i64);
    }
    let wall = started.elapsed();
    println!("send-ahead: {n} citizens per tenant, 60 % at 09:00, the rest 07:00–12:00; bot 30 msg/s");
    for (tenant, label) in [(at_due, "sent at the due time (baseline)"), (ahead, "30-minute send-ahead window")] {
        let mut tx = db::tenant_tx(&pool, tenant).await.expect("tx");
        let rows =
            sqlx::query("select sent_at, due_at from occurrences where sent_at is not null order by sent_at, due_at")
                .fetch_all(&mut *tx)
                .await
                .expect("released");
        let released: Vec<(DateTime<Utc>, DateTime<Utc>)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        assert_eq!(released.len() as i64, n, "{label}: every occurrence released");
        let mut late = deliveries(&released, 30.0);
        late.sort_by(|a, b| a.partial_cmp(b).expect("number"));
        let on_time = late.iter().filter(|l| **l <= 0.0).count() as f64 / n as f64;
        let over5 = late.iter().filter(|l| **l > 300.0).count() as f64 / n as f64;
        println!(
            "  {label}: {:.1} % by their time, {:.1} % more than 5 min late; lateness median {:+.1} min, worst {:+.1} min (negative: early)",
            on_time * 100.0,
            over5 * 100.0,
            percentile(&late, 0.5) / 60.0,
            late.last().copied().unwrap_or(0.0) / 60.0
        );
    }
    println!("  (simulated 7 hours of dispatching in {:.1} s of wall time)", wall.as_secs_f64());
}
