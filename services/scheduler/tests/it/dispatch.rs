//! The dispatcher: a due reminder is released once (outbox row, NATS
//! message), two dispatchers on one database never release one twice,
//! catch-up after downtime marks the long-overdue missed, and the
//! capacity-aware send-ahead starts a burst early enough while a lone
//! reminder waits for its time. The scheduler's own background dispatcher
//! runs too (on the same manual clock): a third replica, in effect.
use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use opeka_proto::events::envelope::Body;
use opeka_proto::scheduler as pb;
use opeka_scheduler::jobs::Engine;
use uuid::Uuid;

use crate::helpers::*;

/// Dispatches at the clock's "now" until the series has `expected` sent
/// occurrences (another dispatcher may hold some rows a moment), then checks
/// that no more leave at this moment.
async fn settles_at(app: &TestApp, series: Uuid, expected: i64) {
    let sql = format!("select count(*) from occurrences where series_id = '{series}' and status = 'sent'");
    let now = app.now();
    app.eventually(&format!("{expected} sent at {now}"), || async {
        app.engine.dispatch(now).await.expect("dispatch");
        let n = app.count(&sql).await;
        assert!(n <= expected, "{n} released at {now}, more than the {expected} due by then");
        (n == expected).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_reminder_due_in_the_next_minute_is_released_once() {
    let app = TestApp::start().await;
    let t = app.tenant("d1").await;
    let c = app.citizen(&t, &t.admin, "Иванова").await;
    let mut events = app.events(&t.slug, "reminder_due").await;
    let req = series_req(&c, pb::ReminderKind::Meeting, "2031-01-10", "08:01");
    let s = t.admin.scheduler.clone().create_series(req).await.expect("create").into_inner();

    // 08:00:00: not yet (the bot is idle, no reason to send early).
    app.engine.dispatch(app.now()).await.expect("dispatch");
    assert!(app.outbox("reminder_due").await.is_empty());
    // Within the last tick before 08:01 it leaves.
    app.set_now(utc("2031-01-10T05:00:59Z"));
    app.engine.dispatch(app.now()).await.expect("dispatch");
    let out = app.outbox("reminder_due").await;
    assert_eq!(out.len(), 1);
    let Some(Body::ReminderDue(r)) = &out[0].body else { panic!("not a reminder_due: {:?}", out[0]) };
    assert_eq!(r.series_id, s.id);
    assert_eq!(r.citizen_id, c.id);
    assert_eq!(r.citizen_account_id, c.account_id);
    assert_eq!(r.kind, "meeting");
    assert_eq!(r.text, "Принять лекарство");
    assert_eq!((r.local_date.as_str(), r.local_time.as_str()), ("10.01.2031", "08:01"));
    assert_eq!(r.time_zone, "Europe/Moscow");
    assert_eq!(ts(&r.due_at), utc("2031-01-10T05:01:00Z"));
    assert_eq!(app.statuses(&s.id).await[0].1, "sent");

    // Later passes do not send it again; the relay publishes it once.
    app.set_now(utc("2031-01-10T05:02:00Z"));
    app.engine.dispatch(app.now()).await.expect("dispatch");
    assert_eq!(app.outbox("reminder_due").await.len(), 1);
    let published = events.next().await;
    assert_eq!(published.event_id, out[0].event_id);
    assert!(events.next_within(std::time::Duration::from_millis(700)).await.is_none());
}

#[tokio::test]
async fn two_dispatchers_on_one_database_release_each_occurrence_exactly_once() {
    let app = TestApp::start().await;
    let t = app.tenant("d2").await;
    let due = app.now() + Duration::minutes(10);
    let series = app.seed_burst(&t, "support", due, 3000).await;
    let mut events = app.events(&t.slug, "reminder_due").await;
    app.set_now(due);

    let small = opeka_scheduler::Settings { dispatch_batch: 100, ..app.settings.clone() };
    let outbox = || opeka_platform::bus::Outbox::new(app.platform.bus.root.clone(), opeka_scheduler::SERVICE);
    let a = Arc::new(Engine::new(app.app_pool.clone(), outbox(), small.clone()).expect("engine a"));
    let b = Arc::new(Engine::new(app.app_pool.clone(), outbox(), small).expect("engine b"));
    let now = app.now();
    let (ra, rb) = tokio::join!(
        async { a.dispatch(now).await.expect("a").released + a.dispatch(now).await.expect("a").released },
        async { b.dispatch(now).await.expect("b").released + b.dispatch(now).await.expect("b").released },
    );
    assert!(ra + rb <= 3000);
    settles_at(&app, series, 3000).await;

    let out = app.outbox("reminder_due").await;
    let ids: HashSet<String> = out
        .iter()
        .map(|e| match &e.body {
            Some(Body::ReminderDue(r)) => r.occurrence_id.clone(),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(out.len(), 3000, "one outbox row per occurrence");
    assert_eq!(ids.len(), 3000, "no occurrence twice");
    let mut seen = HashSet::new();
    while seen.len() < 3000 {
        let e = events.next().await;
        assert!(seen.insert(e.event_id.clone()), "published twice: {}", e.event_id);
    }
    assert!(events.next_within(std::time::Duration::from_millis(700)).await.is_none());
}

#[tokio::test]
async fn after_downtime_the_long_overdue_are_missed_and_the_recent_are_sent() {
    let app = TestApp::start().await;
    let t = app.tenant("d3").await;
    let old = app.seed_burst(&t, "support", utc("2031-01-10T06:00:00Z"), 5).await;
    let recent = app.seed_burst(&t, "info", utc("2031-01-10T08:00:00Z"), 5).await;
    let note = app.seed_burst(&t, "curator_note", utc("2031-01-10T06:30:00Z"), 1).await;

    // Down from 08:00 to 11:30 Moscow: the catch-up window is 60 minutes.
    app.set_now(utc("2031-01-10T08:30:00Z"));
    app.engine.dispatch(app.now()).await.expect("dispatch");
    app.eventually("the recent ones sent", || async {
        app.engine.dispatch(app.now()).await.expect("dispatch");
        let s = app.statuses(&recent.to_string()).await;
        s.iter().all(|(_, st)| st == "sent").then_some(())
    })
    .await;
    assert!(app.statuses(&old.to_string()).await.iter().all(|(_, st)| st == "missed"));
    assert_eq!(app.statuses(&note.to_string()).await[0].1, "missed");
    assert_eq!(app.outbox("reminder_due").await.len(), 5);
    assert!(app.outbox("curator_reminder_due").await.is_empty());
    let missed = app.count("select count(*) from occurrences where status = 'missed'").await;
    assert_eq!(missed, 6);
}

#[tokio::test]
async fn send_ahead_starts_a_burst_early_enough_while_a_lone_reminder_waits() {
    let app = TestApp::start().await;
    let t = app.tenant("d4").await;
    // 2,000 reminders at 09:00 Moscow; the bot sends 30 a second and may
    // start up to 30 minutes early (the defaults).
    let nine: DateTime<Utc> = utc("2031-01-10T06:00:00Z");
    let burst = app.seed_burst(&t, "support", nine, 2000).await;
    let lone = app.seed_burst(&t, "info", utc("2031-01-10T07:00:00Z"), 1).await;

    // The last of them needs 1999/30 ≈ 66.6 s after the first: nothing
    // leaves at 08:58:52, twenty leave at 08:58:53 (before 09:00 − 2000/30 s).
    for (at, expected) in [
        ("2031-01-10T05:30:00Z", 0),
        ("2031-01-10T05:58:52Z", 0),
        ("2031-01-10T05:58:53Z", 20),
        ("2031-01-10T05:59:00Z", 230),
        ("2031-01-10T05:59:30Z", 1130),
        ("2031-01-10T06:00:00Z", 2000),
    ] {
        app.set_now(utc(at));
        settles_at(&app, burst, expected).await;
    }
    // Each message still states 09:00, its own time.
    let out = app.outbox("reminder_due").await;
    assert!(out.iter().all(|e| matches!(&e.body, Some(Body::ReminderDue(r)) if r.local_time == "09:00")));

    // A lone reminder is not sent early: at 09:59:58 it waits, at 09:59:59
    // (the last tick before 10:00) it leaves.
    app.set_now(utc("2031-01-10T06:59:58Z"));
    settles_at(&app, lone, 0).await;
    app.set_now(utc("2031-01-10T06:59:59Z"));
    settles_at(&app, lone, 1).await;
}

#[tokio::test]
async fn s0_64_s0_94_a_curator_note_is_notified_at_its_time_and_never_reaches_the_bot() {
    let app = TestApp::start().await;
    let t = app.tenant("d5").await;
    let curator = app.curator(&t, "petrova", "Петрова").await;
    let c = app.citizen_without_bot(&curator, "Иванова").await;
    let req = series_req(&c, pb::ReminderKind::CuratorNote, "2031-01-10", "09:00");
    let s = curator.scheduler.clone().create_series(req).await.expect("create").into_inner();

    app.set_now(utc("2031-01-10T05:59:00Z"));
    app.engine.dispatch(app.now()).await.expect("dispatch");
    assert_eq!(app.statuses(&s.id).await[0].1, "planned", "no send-ahead for notes");
    app.set_now(utc("2031-01-10T06:00:00Z"));
    app.eventually("the note notified", || async {
        app.engine.dispatch(app.now()).await.expect("dispatch");
        (app.statuses(&s.id).await[0].1 == "notified").then_some(())
    })
    .await;
    let out = app.outbox("curator_reminder_due").await;
    assert_eq!(out.len(), 1);
    let Some(Body::CuratorReminderDue(n)) = &out[0].body else { panic!("not a curator_reminder_due") };
    assert_eq!(n.curator_id, curator.id);
    assert_eq!(n.text, "Принять лекарство");
    assert_eq!((n.local_date.as_str(), n.local_time.as_str()), ("10.01.2031", "09:00"));
    assert!(app.outbox("reminder_due").await.is_empty(), "S0-64: never to the citizen");
    let cal = calendar(&curator, &c, "2031-01-10", "2031-01-11").await;
    assert_eq!((cal[0].status, cal[0].colour.as_str()), (pb::OccurrenceStatus::Notified as i32, "blue"));
}

#[tokio::test]
async fn the_form_shows_the_slot_load_and_warns_over_capacity() {
    let app = TestApp::start().await;
    let t = app.tenant("d6").await;
    app.seed_burst(&t, "support", utc("2031-01-10T06:00:00Z"), 2000).await;
    app.seed_burst(&t, "curator_note", utc("2031-01-10T06:00:00Z"), 50).await;
    let mut admin = t.admin.scheduler.clone();
    let slot = |time: &str| pb::GetSlotLoadRequest {
        local_date: "2031-01-10".into(),
        local_time: time.into(),
        time_zone: String::new(),
    };
    let load = admin.get_slot_load(slot("09:00")).await.expect("load").into_inner();
    assert_eq!((load.reminders, load.capacity, load.over_capacity), (2000, 54_000, false));
    assert_eq!((load.send_ahead_minutes, load.bot_rate_per_second), (30, 30));
    let later = admin.get_slot_load(slot("09:31")).await.expect("load").into_inner();
    assert_eq!(later.reminders, 0);

    // A slow bot: one message a second, 30 minutes → 1,800 fit.
    let upd = pb::UpdateSchedulerSettingsRequest {
        bot_rate_per_second: 1,
        no_assignments_enabled: true,
        ..Default::default()
    };
    admin.update_scheduler_settings(upd).await.expect("settings");
    let load = admin.get_slot_load(slot("09:00")).await.expect("load").into_inner();
    assert_eq!((load.reminders, load.capacity, load.over_capacity), (2000, 1800, true));
    expect_invalid(admin.get_slot_load(slot("9")).await, "local_time");
}

/// A throughput check, not part of the regular run (`cargo nextest run -p
/// opeka-scheduler --run-ignored only`): 100,000 reminders due in the same
/// minute are all released, with their outbox rows, in seconds.
#[tokio::test]
#[ignore = "heavy: 100,000 rows; run by hand"]
async fn a_hundred_thousand_due_in_one_minute_are_released_in_seconds() {
    let app = TestApp::start().await;
    let t = app.tenant("d7").await;
    let due = utc("2031-01-10T06:00:00Z");
    let mut series = Vec::new();
    for s in 0..60 {
        series.push(app.seed_burst(&t, "support", due + Duration::seconds(s), 100_000 / 60 + 1).await);
    }
    let total = app.count("select count(*) from occurrences").await;
    // The end of that minute: every one of them is due (the background
    // dispatcher joins in, as a second replica would).
    app.set_now(due + Duration::minutes(1));
    let started = std::time::Instant::now();
    let sent = "select count(*) from occurrences where status = 'sent'";
    loop {
        app.engine.dispatch(app.now()).await.expect("dispatch");
        let n = app.count(sent).await;
        if n == total {
            break;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(120), "too slow: {n} in 2 minutes");
    }
    let took = started.elapsed();
    let rows = app.count("select count(*) from outbox where subject like '%.reminder_due'").await;
    println!("released {total} reminders with {rows} outbox rows in {took:?}");
    assert_eq!(rows, total);
}
