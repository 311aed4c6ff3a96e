//! The citizen's answers from the bot (S0-57, S0-63, S0-77, S0-78), the
//! grace period (S0-76) and the bot's lists (S0-51…S0-54).
use chrono::Duration;
use opeka_proto::events::envelope::Body;
use opeka_proto::scheduler as pb;
use tonic::Code;

use crate::helpers::*;

#[tokio::test]
async fn s0_57_s0_77_s0_78_done_is_green_skipped_is_red_and_a_second_press_changes_nothing() {
    let app = TestApp::start().await;
    let t = app.tenant("a1").await;
    let curator = app.curator(&t, "petrova", "Петрова").await;
    let c = app.citizen(&t, &curator, "Иванова").await;
    curator.scheduler.clone().create_series(daily(&c, "2031-01-10", "09:00", 2)).await.expect("create");
    app.set_now(utc("2031-01-10T06:00:00Z"));
    app.engine.dispatch(app.now()).await.expect("dispatch");
    let first = calendar(&curator, &c, "2031-01-10", "2031-01-11").await.remove(0);
    assert_eq!(first.status, pb::OccurrenceStatus::Sent as i32);

    let r = press(&t, &c, &first.id, pb::Answer::Done).await;
    assert_eq!((r.outcome, r.answer), (pb::AnswerOutcome::Recorded as i32, pb::Answer::Done as i32));
    let o = r.occurrence.expect("occurrence");
    assert_eq!((o.colour.as_str(), o.status), ("green", pb::OccurrenceStatus::Done as i32));
    assert_eq!(ts(&o.answered_at), app.now());
    // The answer reaches the curator (S0-57) through the outbox.
    let answered = app.outbox("reminder_answered").await;
    assert_eq!(answered.len(), 1);
    let Some(Body::ReminderAnswered(a)) = &answered[0].body else { panic!("not reminder_answered") };
    assert_eq!((a.occurrence_id.as_str(), a.answer.as_str()), (first.id.as_str(), "done"));
    assert_eq!(a.curator_id, curator.id);

    // A second press, either button: nothing changes, the first answer is told.
    let again = press(&t, &c, &first.id, pb::Answer::Skipped).await;
    assert_eq!((again.outcome, again.answer), (pb::AnswerOutcome::AlreadyAnswered as i32, pb::Answer::Done as i32));
    assert_eq!(calendar(&curator, &c, "2031-01-10", "2031-01-11").await[0].colour, "green");
    assert_eq!(app.outbox("reminder_answered").await.len(), 1);

    app.set_now(utc("2031-01-11T06:00:00Z"));
    app.engine.dispatch(app.now()).await.expect("dispatch");
    let second = calendar(&curator, &c, "2031-01-11", "2031-01-12").await.remove(0);
    let r = press(&t, &c, &second.id, pb::Answer::Skipped).await;
    assert_eq!(r.occurrence.expect("occurrence").colour, "red");

    // Only the citizen's own chat may answer, and only the bot.
    let stranger = app.citizen(&t, &curator, "Сидорова").await;
    let mut bot = t.bot.scheduler.clone();
    let req = pb::AnswerOccurrenceRequest {
        occurrence_id: second.id.clone(),
        citizen_account_id: stranger.account_id.clone(),
        answer: pb::Answer::Done as i32,
    };
    expect_code(bot.answer_occurrence(req.clone()).await, Code::PermissionDenied);
    expect_code(curator.scheduler.clone().answer_occurrence(req).await, Code::PermissionDenied);
    // An unknown occurrence: gone, not an error.
    let r = press(&t, &c, &uuid::Uuid::now_v7().to_string(), pb::Answer::Done).await;
    assert_eq!(r.outcome, pb::AnswerOutcome::Gone as i32);
}

#[tokio::test]
async fn s0_76_sent_and_unanswered_past_the_grace_period_turns_yellow() {
    let app = TestApp::start().await;
    let t = app.tenant("a2").await;
    let c = app.citizen(&t, &t.admin, "Иванова").await;
    t.admin.scheduler.clone().create_series(daily(&c, "2031-01-10", "09:00", 2)).await.expect("create");
    app.set_now(utc("2031-01-10T06:00:00Z"));
    app.engine.dispatch(app.now()).await.expect("dispatch");

    // The default grace period is 120 minutes.
    app.set_now(utc("2031-01-10T07:59:00Z"));
    app.engine.sweep(app.now()).await.expect("sweep");
    assert_eq!(calendar(&t.admin, &c, "2031-01-10", "2031-01-11").await[0].colour, "blue");
    app.set_now(utc("2031-01-10T08:00:01Z"));
    assert_eq!(app.engine.sweep(app.now()).await.expect("sweep"), 1);
    let o = calendar(&t.admin, &c, "2031-01-10", "2031-01-11").await.remove(0);
    assert_eq!((o.colour.as_str(), o.status), ("yellow", pb::OccurrenceStatus::NoReaction as i32));
    // The planned one tomorrow is untouched; a late press still counts.
    assert_eq!(calendar(&t.admin, &c, "2031-01-11", "2031-01-12").await[0].colour, "blue");
    let r = press(&t, &c, &o.id, pb::Answer::Done).await;
    assert_eq!(r.occurrence.expect("occurrence").colour, "green");

    // A tenant's own grace period.
    let upd =
        pb::UpdateSchedulerSettingsRequest { grace_minutes: 5, no_assignments_enabled: true, ..Default::default() };
    t.admin.scheduler.clone().update_scheduler_settings(upd).await.expect("settings");
    app.set_now(utc("2031-01-11T06:00:00Z"));
    app.engine.dispatch(app.now()).await.expect("dispatch");
    app.set_now(app.now() + Duration::minutes(6));
    assert_eq!(app.engine.sweep(app.now()).await.expect("sweep"), 1);
}

#[tokio::test]
async fn s0_51_s0_54_the_bot_lists_the_citizens_upcoming_reminders() {
    let app = TestApp::start().await;
    let t = app.tenant("a3").await;
    let c = app.citizen(&t, &t.admin, "Иванова").await;
    let mut sched = t.admin.scheduler.clone();
    sched.create_series(daily(&c, "2031-01-10", "09:00", 10)).await.expect("support");
    let mut info = series_req(&c, pb::ReminderKind::Info, "2031-01-12", "08:30");
    info.description = "Придёте на приём?".into();
    sched.create_series(info).await.expect("info");
    sched.create_series(series_req(&c, pb::ReminderKind::Meeting, "2031-01-20", "11:00")).await.expect("meeting");
    sched.create_series(series_req(&c, pb::ReminderKind::CuratorNote, "2031-01-11", "10:00")).await.expect("note");

    let mut bot = t.bot.scheduler.clone();
    let list = |days: u32, kind: pb::ReminderKind| pb::ListUpcomingRequest {
        citizen_account_id: c.account_id.clone(),
        days,
        kind: kind as i32,
        ..Default::default()
    };
    // «3 дня»: the 10th … 12th, never the curator's note.
    let three = bot.list_upcoming(list(3, pb::ReminderKind::Unspecified)).await.expect("3 days").into_inner();
    let shown: Vec<(String, String, i32)> =
        three.occurrences.iter().map(|o| (o.local_date.clone(), o.local_time.clone(), o.kind)).collect();
    let support = pb::ReminderKind::Support as i32;
    assert_eq!(
        shown,
        [
            ("2031-01-10".into(), "09:00".into(), support),
            ("2031-01-11".into(), "09:00".into(), support),
            ("2031-01-12".into(), "08:30".into(), pb::ReminderKind::Info as i32),
            ("2031-01-12".into(), "09:00".into(), support),
        ]
    );
    assert_eq!(three.occurrences[2].description, "Придёте на приём?");
    // «Дата встречи с соц. куратором»: the next 30 days of that kind.
    let meetings = bot.list_upcoming(list(0, pb::ReminderKind::Meeting)).await.expect("meetings").into_inner();
    assert_eq!(meetings.occurrences.len(), 1);
    assert_eq!(meetings.occurrences[0].local_date, "2031-01-20");
    let notes = bot.list_upcoming(list(0, pb::ReminderKind::CuratorNote)).await.expect("notes").into_inner();
    assert!(notes.occurrences.is_empty());
    // Answered ones leave the list.
    app.set_now(utc("2031-01-10T06:00:00Z"));
    app.engine.dispatch(app.now()).await.expect("dispatch");
    let first = &three.occurrences[0];
    press(&t, &c, &first.id, pb::Answer::Done).await;
    let after = bot.list_upcoming(list(3, pb::ReminderKind::Support)).await.expect("again").into_inner();
    assert!(after.occurrences.iter().all(|o| o.id != first.id));

    expect_invalid(bot.list_upcoming(list(0, pb::ReminderKind::Unspecified)).await, "days");
    let unknown = pb::ListUpcomingRequest {
        citizen_account_id: uuid::Uuid::now_v7().to_string(),
        days: 7,
        kind: 0,
        ..Default::default()
    };
    assert!(bot.list_upcoming(unknown).await.expect("unknown").into_inner().occurrences.is_empty());
    expect_code(sched.list_upcoming(list(3, pb::ReminderKind::Unspecified)).await, Code::PermissionDenied);
}
