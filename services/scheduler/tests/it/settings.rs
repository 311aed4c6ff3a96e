//! The tenant's scheduler settings: defaults until saved, ranges checked,
//! only an admin writes (S0-93 switch included).
use opeka_proto::scheduler as pb;
use tonic::Code;

use crate::helpers::*;

#[tokio::test]
async fn settings_have_defaults_and_only_an_admin_changes_them() {
    let app = TestApp::start().await;
    let t = app.tenant("st1").await;
    let curator = app.curator(&t, "petrova", "Петрова").await;
    let mut admin = t.admin.scheduler.clone();

    let d = admin.get_scheduler_settings(pb::GetSchedulerSettingsRequest {}).await.expect("get").into_inner();
    assert_eq!(d.time_zone, "Europe/Moscow");
    assert_eq!(
        (d.send_ahead_minutes, d.grace_minutes, d.skipped_days, d.silent_days, d.no_assignments_days),
        (30, 120, 5, 10, 2)
    );
    assert!(d.no_assignments_enabled);
    assert_eq!(d.bot_rate_per_second, 30);
    assert!(d.updated_at.is_none());

    let upd = pb::UpdateSchedulerSettingsRequest {
        time_zone: "Asia/Kamchatka".into(),
        skipped_days: 3,
        no_assignments_enabled: false,
        ..Default::default()
    };
    expect_code(curator.scheduler.clone().update_scheduler_settings(upd.clone()).await, Code::PermissionDenied);
    expect_code(t.bot.scheduler.clone().update_scheduler_settings(upd.clone()).await, Code::PermissionDenied);
    let saved = admin.update_scheduler_settings(upd).await.expect("update").into_inner();
    assert_eq!((saved.time_zone.as_str(), saved.skipped_days, saved.silent_days), ("Asia/Kamchatka", 3, 10));
    assert!(!saved.no_assignments_enabled);
    let read = curator.scheduler.clone().get_scheduler_settings(pb::GetSchedulerSettingsRequest {}).await.unwrap();
    assert_eq!(read.into_inner(), saved);

    let bad = pb::UpdateSchedulerSettingsRequest {
        grace_minutes: 20_000,
        time_zone: "Kamchatka".into(),
        ..Default::default()
    };
    expect_invalid(admin.update_scheduler_settings(bad.clone()).await, "grace_minutes");
    expect_invalid(admin.update_scheduler_settings(bad).await, "time_zone");
    assert_eq!(app.count("select count(*) from audit_log where action = 'settings.update'").await, 1);

    // A series with no zone of its own takes the tenant's.
    let c = app.citizen(&t, &curator, "Иванова").await;
    let s = curator.scheduler.clone().create_series(daily(&c, "2031-01-11", "09:00", 2)).await.unwrap().into_inner();
    assert_eq!(s.time_zone, "Asia/Kamchatka");
    let cal = calendar(&curator, &c, "2031-01-11", "2031-01-12").await;
    assert_eq!(ts(&cal[0].due_at), utc("2031-01-10T21:00:00Z"), "09:00 in Kamchatka (UTC+12)");
}
