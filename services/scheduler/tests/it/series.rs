//! Series CRUD (S0-59…S0-80): the form's validation, who may touch whose
//! citizens, tenant isolation, the bot-activation precondition (S0-38).
use opeka_proto::scheduler as pb;
use tonic::Code;

use crate::helpers::*;

#[tokio::test]
async fn s0_59_s0_72_a_curator_creates_a_daily_series_for_their_citizen() {
    let app = TestApp::start().await;
    let t = app.tenant("s1").await;
    let curator = app.curator(&t, "petrova", "Петрова").await;
    let c = app.citizen(&t, &curator, "Иванова").await;
    let mut sched = curator.scheduler.clone();

    let created = sched.create_series(daily(&c, "2031-01-10", "09:00", 10)).await.expect("create").into_inner();
    assert_eq!(created.citizen_id, c.id);
    assert_eq!(created.kind, pb::ReminderKind::Support as i32);
    assert_eq!(created.description, "Принять лекарство");
    assert_eq!(created.start_date, "2031-01-10");
    assert_eq!(created.time_of_day, "09:00");
    assert_eq!(created.time_zone, "Europe/Moscow", "the tenant's zone when the form names none");
    assert_eq!(created.last_date, "2031-01-19");
    assert_eq!(created.curator_id, curator.id);
    assert!(!created.rrule.is_empty());
    let rec = created.recurrence.clone().expect("recurrence");
    assert_eq!((rec.frequency, rec.interval, rec.count), (pb::Frequency::Daily as i32, 1, 10));

    let got = sched.get_series(pb::GetSeriesRequest { id: created.id.clone() }).await.expect("get").into_inner();
    assert_eq!(got, created);

    // S0-75: ten blue markers, 09:00 Moscow each day.
    let cal = calendar(&curator, &c, "2031-01-01", "2031-02-01").await;
    assert_eq!(cal.len(), 10);
    assert!(cal.iter().all(|o| o.colour == "blue" && o.status == pb::OccurrenceStatus::Planned as i32));
    assert_eq!(cal[0].local_date, "2031-01-10");
    assert_eq!(cal[0].local_time, "09:00");
    assert_eq!(ts(&cal[0].due_at), utc("2031-01-10T06:00:00Z"));
    assert_eq!(cal[0].citizen_full_name, "Иванова Мария");
    assert_eq!(cal[9].local_date, "2031-01-19");

    let audited = app
        .count(&format!(
            "select count(*) from audit_log where action = 'series.create' and entity_id = '{}'",
            created.id
        ))
        .await;
    assert_eq!(audited, 1);
}

#[tokio::test]
async fn s0_70_rules_outside_the_limits_are_field_violations() {
    let app = TestApp::start().await;
    let t = app.tenant("s2").await;
    let c = app.citizen(&t, &t.admin, "Иванова").await;
    let mut sched = t.admin.scheduler.clone();

    expect_invalid(sched.create_series(daily(&c, "2031-01-10", "09:00", 501)).await, "recurrence.count");
    let mut until = daily(&c, "2031-01-10", "09:00", 0);
    until.recurrence.as_mut().unwrap().until_date = "2100-01-01".into();
    expect_invalid(sched.create_series(until).await, "recurrence.until_date");
    let mut both = daily(&c, "2031-01-10", "09:00", 5);
    both.recurrence.as_mut().unwrap().until_date = "2031-02-01".into();
    expect_invalid(sched.create_series(both).await, "recurrence.until_date");
    let mut r = daily(&c, "2031-01-10", "09:00", 5);
    r.description = "   ".into();
    expect_invalid(sched.create_series(r).await, "description");
    expect_invalid(sched.create_series(daily(&c, "2031-01-10", "9 утра", 5)).await, "time_of_day");
    expect_invalid(sched.create_series(daily(&c, "10.01.2031", "09:00", 5)).await, "start_date");
    let mut r = daily(&c, "2031-01-10", "09:00", 5);
    r.time_zone = "Moscow".into();
    expect_invalid(sched.create_series(r).await, "time_zone");
    let mut r = daily(&c, "2031-01-10", "09:00", 5);
    r.kind = pb::ReminderKind::Unspecified as i32;
    expect_invalid(sched.create_series(r).await, "kind");
    let mut r = daily(&c, "2031-01-10", "09:00", 5);
    r.pauses = vec![pb::Pause { from_date: "2031-01-15".into(), to_date: "2031-01-12".into() }];
    expect_invalid(sched.create_series(r).await, "pauses[0].to_date");
    let mut r = daily(&c, "2031-01-10", "09:00", 5);
    r.citizen_id = "not-an-id".into();
    expect_invalid(sched.create_series(r).await, "citizen_id");

    assert_eq!(app.count("select count(*) from series").await, 0, "nothing is written");
    assert_eq!(app.count("select count(*) from occurrences").await, 0);

    // Exactly 500 is allowed, and 2099-12-31 too.
    sched.create_series(daily(&c, "2031-01-10", "09:00", 500)).await.expect("count 500");
    let mut until = daily(&c, "2031-01-10", "09:00", 0);
    until.recurrence.as_mut().unwrap().until_date = "2099-12-31".into();
    let s = sched.create_series(until).await.expect("until 2099-12-31").into_inner();
    assert_eq!(s.last_date, "2099-12-31");
}

#[tokio::test]
async fn s0_38_no_reminders_before_the_bot_is_activated_but_curator_notes_are_fine() {
    let app = TestApp::start().await;
    let t = app.tenant("s3").await;
    let curator = app.curator(&t, "petrova", "Петрова").await;
    let c = app.citizen_without_bot(&curator, "Иванова").await;
    let mut sched = curator.scheduler.clone();

    let st = expect_code(sched.create_series(daily(&c, "2031-01-10", "09:00", 3)).await, Code::FailedPrecondition);
    assert!(st.message().contains("не активирован"), "{}", st.message());

    // S0-64: a note to oneself needs no bot.
    let note = series_req(&c, pb::ReminderKind::CuratorNote, "2031-01-11", "10:00");
    let s = sched.create_series(note).await.expect("curator note").into_inner();
    assert_eq!(s.kind, pb::ReminderKind::CuratorNote as i32);
    assert_eq!(s.curator_id, curator.id);
}

#[tokio::test]
async fn a_curator_cannot_touch_another_curators_citizen() {
    let app = TestApp::start().await;
    let t = app.tenant("s4").await;
    let mine = app.curator(&t, "petrova", "Петрова").await;
    let other = app.curator(&t, "sidorova", "Сидорова").await;
    let c = app.citizen(&t, &mine, "Иванова").await;
    let s =
        mine.scheduler.clone().create_series(daily(&c, "2031-01-10", "09:00", 3)).await.expect("create").into_inner();
    let occ = calendar(&mine, &c, "2031-01-10", "2031-01-11").await.remove(0);

    let mut theirs = other.scheduler.clone();
    let denied = Code::PermissionDenied;
    expect_code(theirs.get_series(pb::GetSeriesRequest { id: s.id.clone() }).await, denied);
    expect_code(theirs.create_series(daily(&c, "2031-01-10", "10:00", 3)).await, denied);
    let upd = pb::UpdateSeriesRequest {
        id: s.id.clone(),
        kind: s.kind,
        description: "Чужое".into(),
        start_date: s.start_date.clone(),
        time_of_day: s.time_of_day.clone(),
        recurrence: s.recurrence.clone(),
        ..Default::default()
    };
    expect_code(theirs.update_series(upd.clone()).await, denied);
    expect_code(theirs.delete_series(pb::DeleteSeriesRequest { id: s.id.clone() }).await, denied);
    let cancel = pb::UpdateOccurrenceRequest { id: occ.id.clone(), cancel: true, ..Default::default() };
    expect_code(theirs.update_occurrence(cancel).await, denied);
    let list = pb::ListOccurrencesRequest {
        citizen_id: c.id.clone(),
        from_date: "2031-01-01".into(),
        to_date: "2031-02-01".into(),
        ..Default::default()
    };
    expect_code(theirs.list_occurrences(list.clone()).await, denied);
    // Across citizens, the other curator sees nothing of it.
    let all = pb::ListOccurrencesRequest { citizen_id: String::new(), ..list.clone() };
    assert!(theirs.list_occurrences(all.clone()).await.expect("own list").into_inner().occurrences.is_empty());
    // The bot's account cannot use the staff calls at all; no token, no call.
    expect_code(t.bot.scheduler.clone().get_series(pb::GetSeriesRequest { id: s.id.clone() }).await, denied);
    expect_code(app.anonymous().get_series(pb::GetSeriesRequest { id: s.id.clone() }).await, Code::Unauthenticated);

    // The admin may (S0-27 role table: admins manage every citizen).
    let mut admin = t.admin.scheduler.clone();
    assert_eq!(admin.list_occurrences(all).await.expect("admin list").into_inner().occurrences.len(), 3);
    admin.update_series(upd).await.expect("admin updates");
    assert_eq!(
        mine.scheduler.clone().get_series(pb::GetSeriesRequest { id: s.id }).await.unwrap().into_inner().description,
        "Чужое"
    );
}

#[tokio::test]
async fn another_tenants_ids_are_not_found() {
    let app = TestApp::start().await;
    let t1 = app.tenant("iso1").await;
    let t2 = app.tenant("iso2").await;
    let c = app.citizen(&t1, &t1.admin, "Иванова").await;
    let s = t1.admin.scheduler.clone().create_series(daily(&c, "2031-01-10", "09:00", 3)).await.unwrap().into_inner();
    let occ = calendar(&t1.admin, &c, "2031-01-10", "2031-01-11").await.remove(0);

    let mut other = t2.admin.scheduler.clone();
    expect_code(other.get_series(pb::GetSeriesRequest { id: s.id.clone() }).await, Code::NotFound);
    expect_code(other.delete_series(pb::DeleteSeriesRequest { id: s.id.clone() }).await, Code::NotFound);
    expect_code(other.create_series(daily(&c, "2031-01-10", "09:00", 3)).await, Code::NotFound);
    let edit = pb::UpdateOccurrenceRequest { id: occ.id.clone(), paused: true, ..Default::default() };
    expect_code(other.update_occurrence(edit).await, Code::NotFound);
    let all = pb::ListOccurrencesRequest {
        from_date: "2031-01-01".into(),
        to_date: "2031-02-01".into(),
        ..Default::default()
    };
    assert!(other.list_occurrences(all).await.unwrap().into_inner().occurrences.is_empty());
    // The other tenant's bot presses a button of this tenant's reminder: gone.
    let r = press(&t2, &c, &occ.id, pb::Answer::Done).await;
    assert_eq!(r.outcome, pb::AnswerOutcome::Gone as i32);
    assert_eq!(app.count("select count(*) from occurrences where status = 'done'").await, 0);
}

#[tokio::test]
async fn a_retried_form_returns_the_same_series() {
    let app = TestApp::start().await;
    let t = app.tenant("s5").await;
    let c = app.citizen(&t, &t.admin, "Иванова").await;
    let mut sched = t.admin.scheduler.clone();
    let req = pb::CreateSeriesRequest { request_id: "form-42".into(), ..daily(&c, "2031-01-10", "09:00", 3) };
    let a = sched.create_series(req.clone()).await.expect("first").into_inner();
    let b = sched.create_series(req).await.expect("retry").into_inner();
    assert_eq!(a.id, b.id);
    assert_eq!(app.count("select count(*) from series").await, 1);
    assert_eq!(app.count("select count(*) from occurrences").await, 3);
}

#[tokio::test]
async fn s0_71_s0_79_one_occurrence_is_moved_paused_and_cancelled() {
    let app = TestApp::start().await;
    let t = app.tenant("s6").await;
    let c = app.citizen(&t, &t.admin, "Иванова").await;
    let mut sched = t.admin.scheduler.clone();
    let mut req = daily(&c, "2031-01-10", "09:00", 5);
    // «Исключение»: 12–13 January paused (black).
    req.pauses = vec![pb::Pause { from_date: "2031-01-12".into(), to_date: "2031-01-13".into() }];
    sched.create_series(req).await.expect("create");
    let cal = calendar(&t.admin, &c, "2031-01-01", "2031-02-01").await;
    let colours: Vec<&str> = cal.iter().map(|o| o.colour.as_str()).collect();
    assert_eq!(colours, ["blue", "blue", "black", "black", "blue"]);

    // Move the 11th to 18:30 with its own text.
    let moved = sched
        .update_occurrence(pb::UpdateOccurrenceRequest {
            id: cal[1].id.clone(),
            description: "Сегодня вечером".into(),
            local_time: "18:30".into(),
            ..Default::default()
        })
        .await
        .expect("move")
        .into_inner();
    assert_eq!((moved.local_date.as_str(), moved.local_time.as_str()), ("2031-01-11", "18:30"));
    assert_eq!(ts(&moved.due_at), utc("2031-01-11T15:30:00Z"));
    assert_eq!(moved.description, "Сегодня вечером");
    assert!(moved.detached);

    // Un-pause the 12th, pause the 14th, cancel the 10th.
    let unpaused = sched
        .update_occurrence(pb::UpdateOccurrenceRequest { id: cal[2].id.clone(), paused: false, ..Default::default() })
        .await
        .expect("unpause")
        .into_inner();
    assert_eq!(unpaused.colour, "blue");
    let paused = sched
        .update_occurrence(pb::UpdateOccurrenceRequest { id: cal[4].id.clone(), paused: true, ..Default::default() })
        .await
        .expect("pause")
        .into_inner();
    assert_eq!((paused.status, paused.colour.as_str()), (pb::OccurrenceStatus::Paused as i32, "black"));
    sched
        .update_occurrence(pb::UpdateOccurrenceRequest { id: cal[0].id.clone(), cancel: true, ..Default::default() })
        .await
        .expect("cancel");
    let cal = calendar(&t.admin, &c, "2031-01-01", "2031-02-01").await;
    let shown: Vec<(&str, &str)> = cal.iter().map(|o| (o.local_date.as_str(), o.colour.as_str())).collect();
    assert_eq!(
        shown,
        [("2031-01-11", "blue"), ("2031-01-12", "blue"), ("2031-01-13", "black"), ("2031-01-14", "black")]
    );

    // Moving into the past is refused; a sent one cannot be edited.
    let past =
        pb::UpdateOccurrenceRequest { id: cal[1].id.clone(), local_date: "2031-01-01".into(), ..Default::default() };
    expect_invalid(sched.update_occurrence(past).await, "local_date");
    app.set_now(utc("2031-01-11T15:30:00Z"));
    app.engine.dispatch(app.now()).await.expect("dispatch");
    let edit = pb::UpdateOccurrenceRequest { id: cal[0].id.clone(), paused: true, ..Default::default() };
    expect_code(sched.update_occurrence(edit).await, Code::FailedPrecondition);
}
