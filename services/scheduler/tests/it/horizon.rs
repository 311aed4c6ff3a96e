//! Materialisation over a rolling horizon (not all 500 up front), its
//! extension by the periodic job, and what an update or a deletion does to
//! occurrences that already happened (S0-79, S0-80).
use chrono::Duration;
use opeka_proto::scheduler as pb;
use tonic::Code;

use crate::helpers::*;

#[tokio::test]
async fn occurrences_exist_only_within_the_horizon_and_the_job_extends_it() {
    let app = TestApp::start().await;
    let t = app.tenant("h1").await;
    let c = app.citizen(&t, &t.admin, "Иванова").await;
    let mut sched = t.admin.scheduler.clone();
    let s = sched.create_series(daily(&c, "2031-01-10", "09:00", 500)).await.expect("create").into_inner();
    assert_eq!(s.last_date, "2032-05-23", "the rule's own end, though not materialised");

    // [now, now + 42 days): 10 January … 20 February, 42 rows, not 500.
    let rows = app.statuses(&s.id).await;
    assert_eq!(rows.len(), 42);
    assert_eq!(rows.first().unwrap().0, utc("2031-01-10T06:00:00Z"));
    assert_eq!(rows.last().unwrap().0, utc("2031-02-20T06:00:00Z"));

    // Ten days on, the job adds the next ten; running it again adds nothing.
    app.set_now(app.now() + Duration::days(10));
    assert_eq!(app.engine.extend_horizon(app.now()).await.expect("extend"), 10);
    assert_eq!(app.engine.extend_horizon(app.now()).await.expect("extend again"), 0);
    let rows = app.statuses(&s.id).await;
    assert_eq!(rows.len(), 52);
    assert_eq!(rows.last().unwrap().0, utc("2031-03-02T06:00:00Z"));
}

#[tokio::test]
async fn instants_before_creation_are_not_created_and_ended_rules_are_left_alone() {
    let app = TestApp::start().await;
    let t = app.tenant("h2").await;
    let c = app.citizen(&t, &t.admin, "Иванова").await;
    let mut sched = t.admin.scheduler.clone();
    // Started on the 5th, ten days: only the 10th (09:00, after "now") … 14th remain.
    let s = sched.create_series(daily(&c, "2031-01-05", "09:00", 10)).await.expect("create").into_inner();
    let rows = app.statuses(&s.id).await;
    assert_eq!(rows.len(), 5);
    assert_eq!(rows[0].0, utc("2031-01-10T06:00:00Z"));
    app.set_now(app.now() + Duration::days(30));
    assert_eq!(app.engine.extend_horizon(app.now()).await.expect("extend"), 0);
}

#[tokio::test]
async fn s0_79_an_update_replaces_what_is_planned_and_keeps_what_was_answered() {
    let app = TestApp::start().await;
    let t = app.tenant("h3").await;
    let c = app.citizen(&t, &t.admin, "Иванова").await;
    let mut sched = t.admin.scheduler.clone();
    let s = sched.create_series(daily(&c, "2031-01-10", "09:00", 10)).await.expect("create").into_inner();

    // The 10th is sent and answered; the 11th is sent, unanswered.
    app.set_now(utc("2031-01-10T06:00:00Z"));
    app.engine.dispatch(app.now()).await.expect("dispatch");
    let first = calendar(&t.admin, &c, "2031-01-10", "2031-01-11").await.remove(0);
    press(&t, &c, &first.id, pb::Answer::Done).await;
    app.set_now(utc("2031-01-11T06:00:00Z"));
    app.engine.dispatch(app.now()).await.expect("dispatch");
    app.set_now(utc("2031-01-11T07:00:00Z"));

    // «Изменить»: 18:00 with a new text.
    let upd = pb::UpdateSeriesRequest {
        id: s.id.clone(),
        kind: s.kind,
        description: "Вечерний приём".into(),
        start_date: s.start_date.clone(),
        time_of_day: "18:00".into(),
        recurrence: s.recurrence.clone(),
        ..Default::default()
    };
    let after = sched.update_series(upd).await.expect("update").into_inner();
    assert_eq!((after.time_of_day.as_str(), after.description.as_str()), ("18:00", "Вечерний приём"));

    let cal = calendar(&t.admin, &c, "2031-01-01", "2031-02-01").await;
    let shown: Vec<(String, String, String)> =
        cal.iter().map(|o| (o.local_date.clone(), o.local_time.clone(), o.colour.clone())).collect();
    // History stays: the green 10th and the sent 11th at 09:00 with the old text.
    assert_eq!(shown[0], ("2031-01-10".into(), "09:00".into(), "green".into()));
    assert_eq!(cal[0].description, "Принять лекарство");
    assert_eq!(shown[1], ("2031-01-11".into(), "09:00".into(), "blue".into()));
    assert_eq!(cal[1].status, pb::OccurrenceStatus::Sent as i32);
    // The rest is the new rule from now on: 11th … 19th at 18:00.
    let rest: Vec<&(String, String, String)> = shown[2..].iter().collect();
    assert_eq!(rest.len(), 9);
    assert!(rest.iter().all(|(_, time, colour)| time == "18:00" && colour == "blue"));
    assert_eq!(rest.first().unwrap().0, "2031-01-11");
    assert_eq!(rest.last().unwrap().0, "2031-01-19");
    assert!(cal[2..].iter().all(|o| o.description == "Вечерний приём"));
    assert_eq!(
        app.count("select count(*) from occurrences where local_time = '09:00' and status = 'planned'").await,
        0
    );
}

#[tokio::test]
async fn s0_80_deleting_a_series_cancels_what_is_planned_and_keeps_history() {
    let app = TestApp::start().await;
    let t = app.tenant("h4").await;
    let c = app.citizen(&t, &t.admin, "Иванова").await;
    let mut sched = t.admin.scheduler.clone();
    let s = sched.create_series(daily(&c, "2031-01-10", "09:00", 5)).await.expect("create").into_inner();
    app.set_now(utc("2031-01-10T06:00:00Z"));
    app.engine.dispatch(app.now()).await.expect("dispatch");
    let first = calendar(&t.admin, &c, "2031-01-10", "2031-01-11").await.remove(0);
    press(&t, &c, &first.id, pb::Answer::Skipped).await;
    app.set_now(utc("2031-01-11T06:00:00Z"));
    app.engine.dispatch(app.now()).await.expect("dispatch");
    let second = calendar(&t.admin, &c, "2031-01-11", "2031-01-12").await.remove(0);

    sched.delete_series(pb::DeleteSeriesRequest { id: s.id.clone() }).await.expect("delete");
    expect_code(sched.get_series(pb::GetSeriesRequest { id: s.id.clone() }).await, Code::NotFound);
    expect_code(sched.delete_series(pb::DeleteSeriesRequest { id: s.id.clone() }).await, Code::NotFound);
    let cal = calendar(&t.admin, &c, "2031-01-01", "2031-02-01").await;
    let colours: Vec<&str> = cal.iter().map(|o| o.colour.as_str()).collect();
    assert_eq!(colours, ["red", "blue"], "the answered and the sent one stay; planned ones are gone");
    assert_eq!(app.count("select count(*) from occurrences where status = 'cancelled'").await, 3);
    // A press on the sent one after the deletion: gone, politely.
    let r = press(&t, &c, &second.id, pb::Answer::Done).await;
    assert_eq!(r.outcome, pb::AnswerOutcome::Gone as i32);
    // Nothing is released any more.
    app.set_now(utc("2031-01-12T06:00:00Z"));
    assert_eq!(app.engine.dispatch(app.now()).await.expect("dispatch").released, 0);
}
