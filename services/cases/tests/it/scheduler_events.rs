//! The scheduler's detectors and curator reminders in «Активность»
//! (S0-90…S0-92, S0-94, S0-95, S0-12): each event becomes one work-queue item
//! of its kind, once per event and per episode or occurrence, for the
//! citizen's current curator, with the threshold the tenant set.
use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use opeka_platform::wire::from_ts;
use opeka_proto::cases as pb;
use opeka_proto::events::{self as ev, Envelope, envelope::Body};
use tonic::Code;
use uuid::Uuid;

use crate::helpers::{Staff, TestApp, TestTenant, citizen, expect_code, wait_until};

fn detector(t: &TestTenant, citizen: &str, curator: &str, kind: &str, days: u32, summary: &str) -> Envelope {
    detector_episode(t, &Uuid::now_v7().to_string(), citizen, curator, kind, days, summary)
}

fn detector_episode(
    t: &TestTenant,
    episode: &str,
    citizen: &str,
    curator: &str,
    kind: &str,
    days: u32,
    summary: &str,
) -> Envelope {
    TestApp::envelope(
        t,
        Utc::now(),
        Body::DetectorRaised(ev::DetectorRaised {
            episode_id: episode.into(),
            citizen_id: citizen.into(),
            curator_id: curator.into(),
            kind: kind.into(),
            summary: summary.into(),
            days,
        }),
    )
}

fn reminder(t: &TestTenant, citizen: &str, curator: &str, text: &str, due_at: DateTime<Utc>) -> Envelope {
    TestApp::envelope(
        t,
        due_at - Duration::minutes(30),
        Body::CuratorReminderDue(ev::CuratorReminderDue {
            occurrence_id: Uuid::now_v7().to_string(),
            series_id: Uuid::now_v7().to_string(),
            citizen_id: citizen.into(),
            curator_id: curator.into(),
            text: text.into(),
            due_at: Some(prost_types::Timestamp { seconds: due_at.timestamp(), nanos: 0 }),
            local_date: "05.03.2026".into(),
            local_time: "09:00".into(),
        }),
    )
}

async fn activities(who: &Staff, req: pb::ListActivitiesRequest) -> pb::ListActivitiesResponse {
    who.cases.clone().list_activities(req).await.expect("list activities").into_inner()
}

fn of_kind(kind: pb::ActivityKind) -> pb::ListActivitiesRequest {
    pb::ListActivitiesRequest { kind: kind as i32, ..Default::default() }
}

/// Waits until `who` sees `n` activities in all.
async fn wait_for(who: &Staff, n: i64) -> pb::ListActivitiesResponse {
    wait_until(&format!("{n} activities"), || async move {
        let list = activities(who, pb::ListActivitiesRequest::default()).await;
        (list.total_size >= n).then_some(list)
    })
    .await
}

/// The one activity of `kind` that `who` sees.
async fn only(who: &Staff, kind: pb::ActivityKind) -> pb::Activity {
    let list = activities(who, of_kind(kind)).await;
    assert_eq!(list.total_size, 1, "exactly one {kind:?}: {:?}", list.activities);
    list.activities.into_iter().next().expect("one activity")
}

/// S0-90, S0-91, S0-92, S0-94, S0-12: each detector kind and a curator
/// reminder become one activity of their kind (the type filter finds each),
/// with the threshold in the summary, and `activity_created` goes out for
/// the mail copies to the curator and the admin's copy address.
#[tokio::test]
async fn each_scheduler_event_becomes_one_activity_of_its_kind() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let curator = app.curator(&t, "kuratova", "Куратова").await;
    let card = curator.cases.clone().create_citizen(citizen("Иванова", "Мария")).await.unwrap().into_inner();
    let mut created = app.sandbox.events("cases", &t.slug, "activity_created").await;
    let due = app.now() + Duration::minutes(20);
    let sent = [
        detector(&t, &card.id, &curator.id, "skipped_days", 5, "«Пропущено» 5 дней подряд: 01.03–05.03"),
        detector(&t, &card.id, &curator.id, "silent_days", 10, ""),
        detector(&t, &card.id, &curator.id, "no_assignments", 2, "Назначения заканчиваются 07.03.2026"),
        reminder(&t, &card.id, &curator.id, "Позвонить в МФЦ", due),
    ];
    for (i, e) in sent.iter().enumerate() {
        app.sandbox.publish("scheduler", &t.slug, e, &format!("s{i}")).await;
    }
    wait_for(&curator, 4).await;

    let expected = [
        (pb::ActivityKind::Skipped5Days, "skipped_5_days", "пропуск (5 дней): «Пропущено» 5 дней подряд: 01.03–05.03"),
        (
            pb::ActivityKind::Inactive10Days,
            "inactive_10_days",
            "неактивный (10 дней): Нет ответа на напоминания 10 дней подряд",
        ),
        (
            pb::ActivityKind::NoAssignments2Days,
            "no_assignments_2_days",
            "без назначений (2 дня): Назначения заканчиваются 07.03.2026",
        ),
        (pb::ActivityKind::CuratorReminder, "curator_reminder", "Напоминание на 05.03.2026 09:00: Позвонить в МФЦ"),
    ];
    let mut ids = BTreeMap::new();
    for (kind, _, summary) in expected {
        let a = only(&curator, kind).await;
        assert_eq!(a.summary, summary);
        assert_eq!((a.citizen_id.as_str(), a.curator_id.as_str()), (card.id.as_str(), curator.id.as_str()));
        assert_eq!(a.citizen_full_name, "Иванова Мария Петровна");
        assert!(!a.processed);
        // The admin sees it too (S0-90, S0-91, S0-94: «admin can view»).
        assert_eq!(activities(&t.admin, of_kind(kind)).await.total_size, 1);
        ids.insert(a.id.clone(), a);
    }
    let reminder_item = only(&curator, pb::ActivityKind::CuratorReminder).await;
    assert_eq!(from_ts(&reminder_item.occurred_at).unwrap(), due, "dated by the reminder's own time");

    // S0-12, S0-94: what notifications mails from.
    let mut kinds = Vec::new();
    for _ in 0..4 {
        let Some(Body::ActivityCreated(body)) = created.next().await.body else { panic!("activity_created expected") };
        let a = ids.get(&body.activity_id).expect("an event per activity");
        assert_eq!((body.curator_id.as_str(), body.citizen_id.as_str()), (curator.id.as_str(), card.id.as_str()));
        assert_eq!(
            (body.summary.as_str(), body.citizen_full_name.as_str()),
            (a.summary.as_str(), "Иванова Мария Петровна")
        );
        kinds.push(body.kind);
    }
    kinds.sort();
    let mut wire: Vec<&str> = expected.iter().map(|e| e.1).collect();
    wire.sort();
    assert_eq!(kinds, wire);

    // Redelivered events (same event ids, past the broker's de-duplication)
    // and an episode announced again under a new event id create nothing; a
    // tenant that raised its threshold to 7 days gets «пропуск (7 дней)».
    for (i, e) in sent.iter().enumerate() {
        app.sandbox.publish("scheduler", &t.slug, e, &format!("s{i}-again")).await;
    }
    let Some(Body::DetectorRaised(first)) = &sent[0].body else { unreachable!() };
    let again = detector_episode(&t, &first.episode_id, &card.id, &curator.id, "skipped_days", 5, "");
    app.sandbox.publish("scheduler", &t.slug, &again, "episode-again").await;
    // Newer events behind them on each consumer: seen means the rest were too.
    app.sandbox.publish("scheduler", &t.slug, &detector(&t, &card.id, &curator.id, "skipped_days", 7, ""), "s7").await;
    let later = reminder(&t, &card.id, &curator.id, "Проверить справку", due + Duration::days(1));
    app.sandbox.publish("scheduler", &t.slug, &later, "r2").await;
    let list = wait_for(&curator, 6).await;
    let summaries: Vec<&str> = list.activities.iter().map(|a| a.summary.as_str()).collect();
    assert!(summaries.contains(&"пропуск (7 дней): «Пропущено» 7 дней подряд"), "{summaries:?}");
    assert!(summaries.contains(&"Напоминание на 05.03.2026 09:00: Проверить справку"), "{summaries:?}");
    assert_eq!(activities(&curator, of_kind(pb::ActivityKind::Skipped5Days)).await.total_size, 2);
    assert_eq!(app.count("select count(*) from cases.activities").await, 6);
    assert_eq!(
        app.count("select count(*) from cases.activities where days is not null and source_ref is not null").await,
        4
    );
    assert_eq!(
        app.count("select count(*) from cases.processed_events where consumer = 'cases-detector-raised'").await,
        5,
        "three events, the re-announced episode and the 7-day one"
    );
    assert_eq!(
        app.count("select count(*) from cases.processed_events where consumer = 'cases-curator-reminder-due'").await,
        2
    );
    for _ in 0..2 {
        let Some(Body::ActivityCreated(body)) = created.next().await.body else { panic!("activity_created expected") };
        assert!(["skipped_5_days", "curator_reminder"].contains(&body.kind.as_str()), "{}", body.kind);
    }
}

/// A citizen transferred before the event: the item goes to the new curator
/// whatever curator the scheduler named; events for deleted or unknown
/// citizens are acknowledged and dropped.
#[tokio::test]
async fn an_item_goes_to_the_citizens_current_curator() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let a = app.curator(&t, "kuratova", "Куратова").await;
    let b = app.curator(&t, "drugova", "Другова").await;
    let card = a.cases.clone().create_citizen(citizen("Иванова", "Мария")).await.unwrap().into_inner();
    let gone = a.cases.clone().create_citizen(citizen("Удалённая", "Анна")).await.unwrap().into_inner();
    let mut admin = t.admin.cases.clone();
    admin.delete_citizen(pb::DeleteCitizenRequest { id: gone.id.clone() }).await.unwrap();
    let req = pb::TransferCitizensRequest { citizen_ids: vec![card.id.clone()], to_curator_id: b.id.clone() };
    admin.transfer_citizens(req).await.unwrap();
    let mut created = app.sandbox.events("cases", &t.slug, "activity_created").await;

    let nobody = Uuid::now_v7().to_string();
    let due = app.now() + Duration::hours(1);
    let sent = [
        detector(&t, &gone.id, &a.id, "silent_days", 10, ""),
        detector(&t, &nobody, &a.id, "silent_days", 10, ""),
        reminder(&t, &gone.id, &a.id, "Удалённой", due),
        reminder(&t, &nobody, &a.id, "Никому", due),
        reminder(&t, "не-идентификатор", &a.id, "Никому", due),
        // The scheduler still names the former curator.
        detector(&t, &card.id, &a.id, "silent_days", 10, ""),
        reminder(&t, &card.id, &a.id, "Позвонить", due),
    ];
    for (i, e) in sent.iter().enumerate() {
        app.sandbox.publish("scheduler", &t.slug, e, &format!("t{i}")).await;
    }
    let list = wait_for(&b, 2).await;
    assert!(list.activities.iter().all(|x| x.curator_id == b.id && x.citizen_id == card.id), "{list:?}");
    assert_eq!(activities(&a, pb::ListActivitiesRequest::default()).await.total_size, 0);
    for _ in 0..2 {
        let Some(Body::ActivityCreated(body)) = created.next().await.body else { panic!("activity_created expected") };
        assert_eq!(body.curator_id, b.id, "the copy goes to the new curator");
    }
    assert_eq!(app.count("select count(*) from cases.activities").await, 2);
    let consumers = "('cases-detector-raised', 'cases-curator-reminder-due')";
    let seen = format!("select count(*) from cases.processed_events where consumer in {consumers}");
    assert_eq!(app.count(&seen).await, 7, "every event acknowledged, skipped ones too");
}

/// S0-95: the processed tick on the new kinds — the curator ticks their own,
/// the admin any, another curator none; «Фильтр Просмотрено» with «Тип».
#[tokio::test]
async fn scheduler_items_take_the_processed_tick() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let a = app.curator(&t, "kuratova", "Куратова").await;
    let b = app.curator(&t, "drugova", "Другова").await;
    let card = a.cases.clone().create_citizen(citizen("Иванова", "Мария")).await.unwrap().into_inner();
    let sent = [
        detector(&t, &card.id, &a.id, "skipped_days", 5, ""),
        detector(&t, &card.id, &a.id, "silent_days", 10, ""),
        detector(&t, &card.id, &a.id, "no_assignments", 2, ""),
        reminder(&t, &card.id, &a.id, "Позвонить", app.now()),
    ];
    for (i, e) in sent.iter().enumerate() {
        app.sandbox.publish("scheduler", &t.slug, e, &format!("p{i}")).await;
    }
    wait_for(&a, 4).await;
    let skipped = only(&a, pb::ActivityKind::Skipped5Days).await;
    let reminder_item = only(&a, pb::ActivityKind::CuratorReminder).await;
    let tick = |id: &str, processed: bool| pb::MarkActivityProcessedRequest { id: id.into(), processed };

    app.clock.advance(Duration::minutes(10));
    let done = a.cases.clone().mark_activity_processed(tick(&skipped.id, true)).await.unwrap().into_inner();
    assert!(done.processed);
    assert_eq!((done.processed_by.as_str(), from_ts(&done.processed_at).unwrap()), (a.id.as_str(), app.now()));
    assert_eq!(done.kind, pb::ActivityKind::Skipped5Days as i32);
    expect_code(b.cases.clone().mark_activity_processed(tick(&reminder_item.id, true)).await, Code::NotFound);
    let by_admin =
        t.admin.cases.clone().mark_activity_processed(tick(&reminder_item.id, true)).await.unwrap().into_inner();
    assert_eq!((by_admin.processed, by_admin.processed_by.as_str()), (true, t.admin.id.as_str()));

    let filtered = |kind: pb::ActivityKind, processed: pb::ProcessedFilter| pb::ListActivitiesRequest {
        kind: kind as i32,
        processed: processed as i32,
        ..Default::default()
    };
    let ticked = activities(&a, filtered(pb::ActivityKind::CuratorReminder, pb::ProcessedFilter::Processed)).await;
    assert_eq!(ticked.activities.iter().map(|x| x.id.as_str()).collect::<Vec<_>>(), [reminder_item.id.as_str()]);
    let open = activities(&t.admin, filtered(pb::ActivityKind::Unspecified, pb::ProcessedFilter::Unprocessed)).await;
    let open_kinds: Vec<i32> = open.activities.iter().map(|x| x.kind).collect();
    assert_eq!(open.total_size, 2);
    assert!(open_kinds.contains(&(pb::ActivityKind::Inactive10Days as i32)));
    assert!(open_kinds.contains(&(pb::ActivityKind::NoAssignments2Days as i32)));

    let undone = a.cases.clone().mark_activity_processed(tick(&skipped.id, false)).await.unwrap().into_inner();
    assert!(!undone.processed && undone.processed_by.is_empty());
    let skipped_open = activities(&a, filtered(pb::ActivityKind::Skipped5Days, pb::ProcessedFilter::Unprocessed)).await;
    assert_eq!(skipped_open.total_size, 1);
}
