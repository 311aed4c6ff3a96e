//! The detectors (S0-90…S0-93): each opens an episode and raises
//! `detector_raised` once, however often the pass runs; the episode closes
//! when its condition ends, so a later one can raise again.
use opeka_proto::events::DetectorRaised;
use opeka_proto::events::envelope::Body;
use opeka_proto::scheduler as pb;

use crate::helpers::*;

fn raised(app_out: &[opeka_proto::events::Envelope]) -> Vec<DetectorRaised> {
    app_out
        .iter()
        .map(|e| match &e.body {
            Some(Body::DetectorRaised(d)) => d.clone(),
            other => panic!("unexpected {other:?}"),
        })
        .collect()
}

/// Day `d` of January 2031 at 09:00 Moscow: the reminder is released and
/// the citizen presses `answer` (or nothing); then the detectors run at
/// 10:00. Returns how many episodes the pass raised.
async fn live_day(app: &TestApp, t: &TestTenant, c: &Citizen, d: u32, answer: Option<pb::Answer>) -> u64 {
    app.set_now(utc(&format!("2031-01-{d:02}T06:00:00Z")));
    app.engine.dispatch(app.now()).await.expect("dispatch");
    if let Some(a) = answer {
        let cal = calendar(&t.admin, c, &format!("2031-01-{d:02}"), &format!("2031-01-{:02}", d + 1)).await;
        press(t, c, &cal[0].id, a).await;
    }
    app.set_now(utc(&format!("2031-01-{d:02}T07:00:00Z")));
    app.engine.run_detectors(app.now()).await.expect("detectors").raised
}

#[tokio::test]
async fn s0_90_five_skipped_days_in_a_row_raise_exactly_one_activity_per_episode() {
    let app = TestApp::start().await;
    let t = app.tenant("x1").await;
    let curator = app.curator(&t, "petrova", "Петрова").await;
    let c = app.citizen(&t, &curator, "Иванова").await;
    curator.scheduler.clone().create_series(daily(&c, "2031-01-10", "09:00", 30)).await.expect("create");
    let skip = Some(pb::Answer::Skipped);

    for d in 10..14 {
        assert_eq!(live_day(&app, &t, &c, d, skip).await, 0, "day {d}: not five yet");
    }
    assert_eq!(live_day(&app, &t, &c, 14, skip).await, 1, "the fifth day in a row");
    assert_eq!(app.engine.run_detectors(app.now()).await.expect("again").raised, 0, "raised once, not every run");
    let out = raised(&app.outbox("detector_raised").await);
    assert_eq!(out.len(), 1);
    assert_eq!((out[0].kind.as_str(), out[0].days), ("skipped_days", 5));
    assert_eq!((out[0].citizen_id.as_str(), out[0].curator_id.as_str()), (c.id.as_str(), curator.id.as_str()));
    assert!(out[0].summary.contains("5 дней"), "{}", out[0].summary);
    // The relay publishes it once.
    let mut events = app.events(&t.slug, "detector_raised").await;
    assert_eq!(events.next().await.event_id, app.outbox("detector_raised").await[0].event_id);
    assert!(events.next_within(std::time::Duration::from_millis(500)).await.is_none());

    // A sixth skip: the same episode.
    assert_eq!(live_day(&app, &t, &c, 15, skip).await, 0);
    // «Выполнено» ends it; five more skips open a new one.
    assert_eq!(live_day(&app, &t, &c, 16, Some(pb::Answer::Done)).await, 0);
    assert_eq!(app.count("select count(*) from detector_episodes where closed_at is not null").await, 1);
    for d in 17..21 {
        assert_eq!(live_day(&app, &t, &c, d, skip).await, 0, "day {d}");
    }
    assert_eq!(live_day(&app, &t, &c, 21, skip).await, 1, "a new episode");
    assert_eq!(raised(&app.outbox("detector_raised").await).len(), 2);
}

#[tokio::test]
async fn s0_91_ten_days_without_any_answer_raise_inactive_and_an_answer_ends_it() {
    let app = TestApp::start().await;
    let t = app.tenant("x2").await;
    let c = app.citizen(&t, &t.admin, "Иванова").await;
    t.admin.scheduler.clone().create_series(daily(&c, "2031-01-10", "09:00", 30)).await.expect("create");
    for d in 10..20 {
        assert_eq!(live_day(&app, &t, &c, d, None).await, 0, "day {d}");
    }
    // On the 20th, the 10th's reminder has been unanswered for ten days.
    assert_eq!(live_day(&app, &t, &c, 20, None).await, 1);
    assert_eq!(live_day(&app, &t, &c, 21, None).await, 0, "the same episode");
    let out = raised(&app.outbox("detector_raised").await);
    assert_eq!((out[0].kind.as_str(), out[0].days), ("silent_days", 10));
    // Any answer ends it, and the count starts again from there.
    assert_eq!(live_day(&app, &t, &c, 22, Some(pb::Answer::Skipped)).await, 0);
    assert_eq!(app.count("select count(*) from detector_episodes where closed_at is null").await, 0);
    assert_eq!(live_day(&app, &t, &c, 23, None).await, 0);
}

#[tokio::test]
async fn s0_92_s0_93_no_assignments_within_two_days_unless_the_tenant_switched_it_off() {
    let app = TestApp::start().await;
    let t = app.tenant("x3").await;
    let c = app.citizen(&t, &t.admin, "Иванова").await;
    let mut sched = t.admin.scheduler.clone();
    // The last reminder is on the 12th; today is the 10th.
    sched.create_series(daily(&c, "2031-01-10", "09:00", 3)).await.expect("create");
    let r = app.engine.run_detectors(app.now()).await.expect("detectors");
    assert_eq!(r.raised, 1);
    assert_eq!(app.engine.run_detectors(app.now()).await.expect("again").raised, 0);
    let out = raised(&app.outbox("detector_raised").await);
    assert_eq!((out[0].kind.as_str(), out[0].days), ("no_assignments", 2));
    // A new series beyond the window ends the episode.
    sched.create_series(daily(&c, "2031-01-12", "19:00", 10)).await.expect("more");
    let r = app.engine.run_detectors(app.now()).await.expect("detectors");
    assert_eq!((r.raised, r.closed), (0, 1));

    // S0-93: switched off for this tenant, nobody is raised.
    let upd = pb::UpdateSchedulerSettingsRequest { no_assignments_enabled: false, ..Default::default() };
    sched.update_scheduler_settings(upd).await.expect("settings");
    let other = app.citizen(&t, &t.admin, "Кузнецова").await;
    sched.create_series(daily(&other, "2031-01-10", "09:00", 2)).await.expect("short");
    assert_eq!(app.engine.run_detectors(app.now()).await.expect("detectors").raised, 0);
    // A citizen with only a curator note has no assignments to run out of.
    let upd = pb::UpdateSchedulerSettingsRequest { no_assignments_enabled: true, ..Default::default() };
    sched.update_scheduler_settings(upd).await.expect("settings");
    assert_eq!(app.engine.run_detectors(app.now()).await.expect("detectors").raised, 1, "the short one, now on");
    let notes_only = app.citizen(&t, &t.admin, "Смирнова").await;
    sched.create_series(series_req(&notes_only, pb::ReminderKind::CuratorNote, "2031-01-11", "10:00")).await.unwrap();
    assert_eq!(app.engine.run_detectors(app.now()).await.expect("detectors").raised, 0);
}
