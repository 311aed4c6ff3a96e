//! Calendars and lists: one citizen's «Программа поддержки» filtered by type
//! (S0-58, S0-60), the meetings calendar across citizens (S0-96, S0-97) and
//! «Отклонения» (S0-46, S0-110).
use opeka_proto::scheduler as pb;

use crate::helpers::*;

fn period(citizen: &str, kinds: &[pb::ReminderKind]) -> pb::ListOccurrencesRequest {
    pb::ListOccurrencesRequest {
        citizen_id: citizen.into(),
        from_date: "2031-01-01".into(),
        to_date: "2031-02-01".into(),
        kinds: kinds.iter().map(|k| *k as i32).collect(),
        curator_id: String::new(),
        ..Default::default()
    }
}

#[tokio::test]
async fn s0_60_s0_96_calendars_filter_by_type_and_span_the_callers_citizens() {
    let app = TestApp::start().await;
    let t = app.tenant("c1").await;
    let petrova = app.curator(&t, "petrova", "Петрова").await;
    let sidorova = app.curator(&t, "sidorova", "Сидорова").await;
    let a = app.citizen(&t, &petrova, "Иванова").await;
    let b = app.citizen(&t, &sidorova, "Кузнецова").await;
    let meeting = |c: &Citizen, day: &str| series_req(c, pb::ReminderKind::Meeting, day, "11:00");
    petrova.scheduler.clone().create_series(meeting(&a, "2031-01-15")).await.expect("a meeting");
    petrova.scheduler.clone().create_series(daily(&a, "2031-01-10", "09:00", 3)).await.expect("a support");
    sidorova.scheduler.clone().create_series(meeting(&b, "2031-01-16")).await.expect("b meeting");

    // One citizen, one type.
    let mut p = petrova.scheduler.clone();
    let only = p.list_occurrences(period(&a.id, &[pb::ReminderKind::Meeting])).await.unwrap().into_inner();
    assert_eq!(only.occurrences.len(), 1);
    assert_eq!(p.list_occurrences(period(&a.id, &[])).await.unwrap().into_inner().occurrences.len(), 4);
    // The left-menu meetings calendar: a curator's own citizens…
    let own = p.list_occurrences(period("", &[pb::ReminderKind::Meeting])).await.unwrap().into_inner();
    let names: Vec<&str> = own.occurrences.iter().map(|o| o.citizen_full_name.as_str()).collect();
    assert_eq!(names, ["Иванова Мария"]);
    assert_eq!(own.occurrences[0].curator_id, petrova.id);
    // …the whole tenant for an admin, by due time, or one curator's.
    let mut admin = t.admin.scheduler.clone();
    let all = admin.list_occurrences(period("", &[pb::ReminderKind::Meeting])).await.unwrap().into_inner();
    let days: Vec<&str> = all.occurrences.iter().map(|o| o.local_date.as_str()).collect();
    assert_eq!(days, ["2031-01-15", "2031-01-16"]);
    let one =
        pb::ListOccurrencesRequest { curator_id: sidorova.id.clone(), ..period("", &[pb::ReminderKind::Meeting]) };
    let one = admin.list_occurrences(one).await.unwrap().into_inner();
    assert_eq!(one.occurrences.len(), 1);
    assert_eq!(one.occurrences[0].citizen_id, b.id);
    // A curator cannot widen their view by naming another curator.
    let sneaky = pb::ListOccurrencesRequest { curator_id: sidorova.id.clone(), ..period("", &[]) };
    assert!(p.list_occurrences(sneaky).await.unwrap().into_inner().occurrences.iter().all(|o| o.citizen_id == a.id));

    let mut reversed = period(&a.id, &[]);
    reversed.to_date = "2030-12-01".into();
    expect_invalid(p.list_occurrences(reversed).await, "to_date");
    let mut missing = period(&a.id, &[]);
    missing.from_date.clear();
    expect_invalid(p.list_occurrences(missing).await, "from_date");
}

#[tokio::test]
async fn s0_46_s0_110_deviations_are_skipped_or_unanswered_reminders() {
    let app = TestApp::start().await;
    let t = app.tenant("c2").await;
    let curator = app.curator(&t, "petrova", "Петрова").await;
    let a = app.citizen(&t, &curator, "Иванова").await;
    curator.scheduler.clone().create_series(daily(&a, "2031-01-10", "09:00", 10)).await.expect("create");

    // Day 1 skipped, day 2 unanswered (yellow), day 3 done, … day 6 skipped.
    let plan: [(u32, Option<pb::Answer>); 4] =
        [(10, Some(pb::Answer::Skipped)), (11, None), (12, Some(pb::Answer::Done)), (15, Some(pb::Answer::Skipped))];
    for (d, answer) in plan {
        app.set_now(utc(&format!("2031-01-{d}T06:00:00Z")));
        app.engine.dispatch(app.now()).await.expect("dispatch");
        let date = format!("2031-01-{d}");
        let next = format!("2031-01-{}", d + 1);
        let o = calendar(&curator, &a, &date, &next).await.remove(0);
        if let Some(ans) = answer {
            press(&t, &a, &o.id, ans).await;
        }
        app.set_now(utc(&format!("2031-01-{d}T09:00:00Z")));
        app.engine.sweep(app.now()).await.expect("sweep");
    }
    app.set_now(utc("2031-01-15T10:00:00Z"));
    let mut sched = curator.scheduler.clone();
    // «Отклонения» (S0-110): the last 72 hours, across the caller's citizens.
    let recent = sched.list_deviations(pb::ListDeviationsRequest::default()).await.unwrap().into_inner();
    let days: Vec<(&str, &str)> =
        recent.occurrences.iter().map(|o| (o.local_date.as_str(), o.colour.as_str())).collect();
    assert_eq!(days, [("2031-01-15", "red")], "newest first, three days back only");
    // The card's tab (S0-46): all of the citizen's history.
    let card = pb::ListDeviationsRequest {
        citizen_id: a.id.clone(),
        hours: 0,
        curator_id: String::new(),
        ..Default::default()
    };
    let all = sched.list_deviations(card).await.unwrap().into_inner();
    let days: Vec<(&str, &str)> = all.occurrences.iter().map(|o| (o.local_date.as_str(), o.colour.as_str())).collect();
    assert_eq!(days, [("2031-01-15", "red"), ("2031-01-11", "yellow"), ("2031-01-10", "red")]);
    // A longer window on request.
    let week = pb::ListDeviationsRequest { hours: 24 * 7, ..Default::default() };
    assert_eq!(sched.list_deviations(week).await.unwrap().into_inner().occurrences.len(), 3);
    // Another curator sees none of them.
    let other = app.curator(&t, "sidorova", "Сидорова").await;
    let theirs = other.scheduler.clone().list_deviations(pb::ListDeviationsRequest::default()).await.unwrap();
    assert!(theirs.into_inner().occurrences.is_empty());
}
