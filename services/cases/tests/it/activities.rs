//! «Активность» (S0-81…S0-88, S0-95): events from files and the bot become
//! work-queue activities (once, even when redelivered), filtered by citizen,
//! curator, district, kind, the processed tick and days of the tenant's
//! time zone.
use chrono::{DateTime, Duration, Utc};
use opeka_platform::wire::from_ts;
use opeka_proto::cases as pb;
use opeka_proto::events::{self as ev, Envelope, envelope::Body};
use tonic::Code;

use crate::helpers::{Staff, TestApp, TestTenant, citizen, expect_code, expect_invalid, wait_until};

fn file(t: &TestTenant, citizen: &str, name: &str, at: DateTime<Utc>) -> Envelope {
    TestApp::envelope(
        t,
        at,
        Body::FileReceived(ev::FileReceived {
            file_id: uuid::Uuid::now_v7().to_string(),
            citizen_id: citizen.into(),
            original_name: name.into(),
            file_type_name: "Справка".into(),
            content_type: "application/pdf".into(),
            size: 1024,
            uploaded_by: citizen.into(),
            channel: "bot".into(),
            ..Default::default()
        }),
    )
}

fn contact(t: &TestTenant, account: &str, text: &str, at: DateTime<Utc>) -> Envelope {
    TestApp::envelope(
        t,
        at,
        Body::ContactRequested(ev::ContactRequested {
            citizen_account_id: account.into(),
            telegram_chat_id: 777,
            text: text.into(),
        }),
    )
}

async fn activities(who: &Staff, req: pb::ListActivitiesRequest) -> pb::ListActivitiesResponse {
    who.cases.clone().list_activities(req).await.expect("list activities").into_inner()
}

/// Waits until `who` sees `n` activities in all.
async fn wait_for(who: &Staff, n: i64) -> pb::ListActivitiesResponse {
    wait_until(&format!("{n} activities"), || async move {
        let list = activities(who, pb::ListActivitiesRequest::default()).await;
        (list.total_size >= n).then_some(list)
    })
    .await
}

/// S0-85, S0-86, S0-87: a file the citizen sent becomes a «файл» activity
/// carrying the file id, and `activity_created` goes out for the mail copy;
/// a redelivered event changes nothing; an event for an unknown citizen is
/// dropped.
#[tokio::test]
async fn a_received_file_becomes_one_activity_even_when_redelivered() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let curator = app.curator(&t, "kuratova", "Куратова").await;
    let card = curator.cases.clone().create_citizen(citizen("Иванова", "Мария")).await.unwrap().into_inner();
    let mut created = app.sandbox.events("cases", &t.slug, "activity_created").await;

    let at = app.now() - Duration::hours(1);
    let first = file(&t, &card.account_id, "справка.pdf", at);
    app.sandbox.publish("files", &t.slug, &first, "m1").await;
    let list = wait_for(&curator, 1).await;
    let a = &list.activities[0];
    assert_eq!(a.kind, pb::ActivityKind::FileReceived as i32);
    assert_eq!(a.summary, "Получен файл «справка.pdf» (Справка)");
    let Some(Body::FileReceived(f)) = &first.body else { unreachable!() };
    assert_eq!(a.file_id, f.file_id, "S0-86: the row opens the file");
    assert_eq!((a.citizen_id.as_str(), a.curator_id.as_str()), (card.id.as_str(), curator.id.as_str()));
    assert_eq!(a.citizen_full_name, "Иванова Мария Петровна");
    assert_eq!(from_ts(&a.occurred_at).unwrap(), at);
    assert!(!a.processed);
    let event = created.next().await;
    let Some(Body::ActivityCreated(body)) = event.body else { panic!("activity_created expected") };
    assert_eq!((body.activity_id.as_str(), body.kind.as_str()), (a.id.as_str(), "file_received"));
    assert_eq!((body.curator_id.as_str(), body.file_id.as_str()), (curator.id.as_str(), f.file_id.as_str()));
    assert_eq!(body.citizen_full_name, "Иванова Мария Петровна");

    // The same event again (a redelivery past the broker's de-duplication),
    // one for a citizen nobody knows, then a new one naming the card by id.
    app.sandbox.publish("files", &t.slug, &first, "m1-again").await;
    app.sandbox.publish("files", &t.slug, &file(&t, &uuid::Uuid::now_v7().to_string(), "x.pdf", at), "m2").await;
    app.sandbox.publish("files", &t.slug, &file(&t, &card.id, "паспорт.jpg", at + Duration::minutes(1)), "m3").await;
    let list = wait_for(&curator, 2).await;
    // The consumer handles a stream in order: m3 seen means m1-again and m2 were too.
    let summaries: Vec<&str> = list.activities.iter().map(|a| a.summary.as_str()).collect();
    assert_eq!(summaries, ["Получен файл «паспорт.jpg» (Справка)", "Получен файл «справка.pdf» (Справка)"]);
    assert_eq!(app.count("select count(*) from cases.activities").await, 2);
    assert_eq!(
        app.count("select count(*) from cases.processed_events where consumer = 'cases-file-received'").await,
        3
    );
}

/// S0-42, S0-56, S0-88: «Запросить связь» in the bot (the event names the
/// citizen's account) lands in «История взаимодействия» and in the work
/// queue as «связь с соц. куратором».
#[tokio::test]
async fn a_contact_request_lands_in_the_history_and_the_work_queue() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let curator = app.curator(&t, "kuratova", "Куратова").await;
    let mut c = curator.cases.clone();
    let card = c.create_citizen(citizen("Иванова", "Мария")).await.unwrap().into_inner();
    let mut recorded = app.sandbox.events("cases", &t.slug, "interaction_recorded").await;
    let at = app.now() - Duration::minutes(5);
    let request = contact(&t, &card.account_id, "Перезвоните после обеда", at);
    app.sandbox.publish("notifications", &t.slug, &request, "c1").await;

    let list = wait_for(&curator, 1).await;
    let a = &list.activities[0];
    assert_eq!(a.kind, pb::ActivityKind::ContactRequested as i32);
    assert_eq!(a.summary, "Запрос на связь с соц. куратором");
    let history = c
        .list_interactions(pb::ListInteractionsRequest { citizen_id: card.id.clone(), ..Default::default() })
        .await
        .unwrap();
    let history = history.into_inner().interactions;
    assert_eq!(history.len(), 1);
    let i = &history[0];
    assert_eq!(i.kind, pb::InteractionKind::ContactRequest as i32);
    assert_eq!(i.request_text, "Перезвоните после обеда");
    assert_eq!(
        (i.created_by.as_str(), i.created_by_name.as_str()),
        (card.account_id.as_str(), "Иванова Мария Петровна")
    );
    assert_eq!(from_ts(&i.created_at).unwrap(), at);
    assert!(i.result.is_empty(), "no contact yet");
    assert_eq!(a.interaction_id, i.id);
    let event = recorded.next().await;
    let Some(Body::InteractionRecorded(body)) = event.body else { panic!("interaction_recorded expected") };
    assert_eq!((body.interaction_id.as_str(), body.kind.as_str()), (i.id.as_str(), "contact_request"));

    // Redelivered: still one entry and one activity.
    app.sandbox.publish("notifications", &t.slug, &request, "c1-again").await;
    app.sandbox.publish("notifications", &t.slug, &contact(&t, &card.account_id, "Ещё раз", at), "c2").await;
    wait_for(&curator, 2).await;
    assert_eq!(app.count("select count(*) from cases.interactions").await, 2);
    assert_eq!(app.count("select count(*) from cases.activities").await, 2);

    // The curator calls back and writes the result (S0-43).
    let done = c
        .record_interaction_result(pb::RecordInteractionResultRequest {
            id: i.id.clone(),
            result: "Дозвонилась".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(done.edited_by_name, "Куратова Анна");
}

/// S0-82, S0-83, S0-84: filters, and «За сегодня», «За вчера», «За эту
/// неделю» in Moscow time (the tenant's default), whatever UTC says.
#[tokio::test]
async fn activity_filters_and_quick_periods_in_the_tenants_time_zone() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let north = app.district(&t, "Северный").await;
    let south = app.district(&t, "Южный").await;
    let a = app.curator(&t, "kuratova", "Куратова").await;
    let b = app.curator(&t, "drugova", "Другова").await;
    let mut admin = t.admin.cases.clone();
    let card = |surname: &str, curator: &Staff, district: &str| {
        let req = pb::CreateCitizenRequest {
            curator_id: curator.id.clone(),
            district_id: district.to_string(),
            ..citizen(surname, "Тест")
        };
        let mut admin = admin.clone();
        async move { admin.create_citizen(req).await.unwrap().into_inner() }
    };
    let alpha = card("Альфа", &a, &north).await;
    let beta = card("Бета", &b, &south).await;
    // Wednesday 25 November 2026, 12:00 in Moscow (09:00 UTC).
    let utc = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
    app.clock.set(utc("2026-11-25T09:00:00Z"));
    let events = [
        ("today 10:00", file(&t, &alpha.account_id, "e1", utc("2026-11-25T07:00:00Z"))),
        ("today 00:10 MSK, still Tuesday in UTC", file(&t, &alpha.account_id, "e2", utc("2026-11-24T21:10:00Z"))),
        ("yesterday 23:30", contact(&t, &alpha.account_id, "e3", utc("2026-11-24T20:30:00Z"))),
        ("Monday 00:30", file(&t, &beta.account_id, "e4", utc("2026-11-22T21:30:00Z"))),
        ("last Sunday 23:00", contact(&t, &beta.account_id, "e5", utc("2026-11-22T20:00:00Z"))),
    ];
    for (i, (_, e)) in events.iter().enumerate() {
        app.sandbox
            .publish(if i == 2 || i == 4 { "notifications" } else { "files" }, &t.slug, e, &format!("e{i}"))
            .await;
    }
    let all = wait_for(&t.admin, 5).await;
    let at = |list: &pb::ListActivitiesResponse| -> Vec<DateTime<Utc>> {
        list.activities.iter().map(|a| from_ts(&a.occurred_at).unwrap()).collect()
    };
    let times: Vec<DateTime<Utc>> = events.iter().map(|(_, e)| from_ts(&e.occurred_at).unwrap()).collect();
    assert_eq!(at(&all), times, "newest first");

    let q = |f: fn(&mut pb::ListActivitiesRequest)| {
        let mut r = pb::ListActivitiesRequest::default();
        f(&mut r);
        r
    };
    let run = |who: Staff, req: pb::ListActivitiesRequest| async move { activities(&who, req).await };
    let today = run(t.admin.clone(), q(|r| r.period = pb::Period::Today as i32)).await;
    assert_eq!(at(&today), times[..2], "«За сегодня»");
    let yesterday = run(t.admin.clone(), q(|r| r.period = pb::Period::Yesterday as i32)).await;
    assert_eq!(at(&yesterday), times[2..3], "«За вчера»");
    let week = run(t.admin.clone(), q(|r| r.period = pb::Period::ThisWeek as i32)).await;
    assert_eq!(at(&week), times[..4], "«За эту неделю» starts on Monday");
    let files = run(t.admin.clone(), q(|r| r.kind = pb::ActivityKind::FileReceived as i32)).await;
    assert_eq!(files.total_size, 3, "«Тип»: файл");
    let contacts = run(t.admin.clone(), q(|r| r.kind = pb::ActivityKind::ContactRequested as i32)).await;
    assert_eq!(contacts.total_size, 2);
    let mut by_curator = pb::ListActivitiesRequest { curator_id: a.id.clone(), ..Default::default() };
    assert_eq!(at(&run(t.admin.clone(), by_curator.clone()).await), times[..3]);
    by_curator.period = pb::Period::Yesterday as i32;
    assert_eq!(run(t.admin.clone(), by_curator).await.total_size, 1);
    let south_only = pb::ListActivitiesRequest { district_id: south.clone(), ..Default::default() };
    assert_eq!(at(&run(t.admin.clone(), south_only).await), times[3..]);
    let by_citizen = pb::ListActivitiesRequest { citizen_id: beta.id.clone(), ..Default::default() };
    assert_eq!(run(t.admin.clone(), by_citizen).await.total_size, 2);
    let by_name = pb::ListActivitiesRequest { citizen_query: "альф".into(), ..Default::default() };
    assert_eq!(run(t.admin.clone(), by_name).await.total_size, 3, "«ФИО пользователя»");
    let monday = pb::ListActivitiesRequest {
        from_date: "2026-11-23".into(),
        to_date: "23.11.2026".into(),
        ..Default::default()
    };
    assert_eq!(at(&run(t.admin.clone(), monday).await), times[3..4], "«Дата начала» … «Дата окончания»");
    let range_and_period = pb::ListActivitiesRequest {
        from_date: "2026-11-24".into(),
        period: pb::Period::ThisWeek as i32,
        ..Default::default()
    };
    assert_eq!(at(&run(t.admin.clone(), range_and_period).await), times[..3]);
    let reversed = pb::ListActivitiesRequest {
        from_date: "2026-11-25".into(),
        to_date: "2026-11-24".into(),
        ..Default::default()
    };
    expect_invalid(admin.list_activities(reversed).await, "to_date");
    let paged = pb::ListActivitiesRequest { page_size: 2, page_token: "2".into(), ..Default::default() };
    let page = run(t.admin.clone(), paged).await;
    assert_eq!((at(&page), page.next_page_token.as_str()), (times[2..4].to_vec(), "4"));

    // S0-84: a curator sees their own citizens' activities only.
    assert_eq!(at(&run(a.clone(), pb::ListActivitiesRequest::default()).await), times[..3]);
    let others = pb::ListActivitiesRequest { curator_id: b.id.clone(), ..Default::default() };
    assert_eq!(run(a.clone(), others).await.total_size, 0);

    // «Фильтр Просмотрено».
    let first = all.activities[0].id.clone();
    a.cases
        .clone()
        .mark_activity_processed(pb::MarkActivityProcessedRequest { id: first.clone(), processed: true })
        .await
        .unwrap();
    let processed = run(t.admin.clone(), q(|r| r.processed = pb::ProcessedFilter::Processed as i32)).await;
    assert_eq!(processed.activities.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(), [first.as_str()]);
    let open = run(t.admin.clone(), q(|r| r.processed = pb::ProcessedFilter::Unprocessed as i32)).await;
    assert_eq!(open.total_size, 4);
}

/// S0-95: the curator ticks their own activities; the admin any; the tick
/// records who and when and can be taken back.
#[tokio::test]
async fn the_processed_tick_records_who_and_when() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let a = app.curator(&t, "kuratova", "Куратова").await;
    let b = app.curator(&t, "drugova", "Другова").await;
    let card = a.cases.clone().create_citizen(citizen("Иванова", "Мария")).await.unwrap().into_inner();
    app.sandbox.publish("files", &t.slug, &file(&t, &card.account_id, "a.pdf", app.now()), "f1").await;
    app.sandbox.publish("files", &t.slug, &file(&t, &card.account_id, "b.pdf", app.now()), "f2").await;
    let list = wait_for(&a, 2).await;
    let (x, y) = (list.activities[0].id.clone(), list.activities[1].id.clone());
    let tick = |id: &str, processed: bool| pb::MarkActivityProcessedRequest { id: id.into(), processed };

    app.clock.advance(Duration::minutes(30));
    let done = a.cases.clone().mark_activity_processed(tick(&x, true)).await.unwrap().into_inner();
    assert!(done.processed);
    assert_eq!((done.processed_by.as_str(), from_ts(&done.processed_at).unwrap()), (a.id.as_str(), app.now()));
    // Another curator may not tick it — not even when the registry is open to all.
    t.admin
        .cases
        .clone()
        .update_tenant_settings(pb::UpdateTenantSettingsRequest { curators_read_all: true, ..Default::default() })
        .await
        .unwrap();
    expect_code(b.cases.clone().mark_activity_processed(tick(&y, true)).await, Code::NotFound);
    // The admin may take any over.
    let by_admin = t.admin.cases.clone().mark_activity_processed(tick(&y, true)).await.unwrap().into_inner();
    assert_eq!(by_admin.processed_by, t.admin.id);
    let undone = a.cases.clone().mark_activity_processed(tick(&x, false)).await.unwrap().into_inner();
    assert!(!undone.processed && undone.processed_by.is_empty() && undone.processed_at.is_none());
    let missing = tick(&uuid::Uuid::now_v7().to_string(), true);
    expect_code(a.cases.clone().mark_activity_processed(missing).await, Code::NotFound);
    let audit = t
        .admin
        .cases
        .clone()
        .list_audit_events(pb::ListAuditEventsRequest { citizen_id: card.id.clone(), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    let actions: Vec<&str> = audit.events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(&actions[..3], ["activity.unprocess", "activity.process", "activity.process"]);
}
