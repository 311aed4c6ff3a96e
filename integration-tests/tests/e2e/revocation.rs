//! Issue 9, point 5: a session ended in identity — logout, a password change,
//! a password reset (by the user, or set by an admin), the account's
//! deletion — ends everywhere within seconds: cases, files, scheduler and
//! notifications refuse its old access token (`UNAUTHENTICATED`) although
//! they verify tokens locally and the token has not expired.
use std::time::Duration;

use opeka_integration_tests::{PASSWORD, Suite};
use opeka_proto::cases::{ListCitizensRequest, cases_service_client::CasesServiceClient};
use opeka_proto::files::{ListFileTypesRequest, files_service_client::FilesServiceClient};
use opeka_proto::identity::{
    ChangeOwnPasswordRequest, CreateStaffAccountRequest, DeleteAccountRequest, LoginRequest, LogoutRequest,
    RequestPasswordResetRequest, ResetPasswordRequest, Role, SetPasswordRequest,
};
use opeka_proto::notifications::{GetChannelSettingsRequest, notifications_service_client::NotificationsServiceClient};
use opeka_proto::scheduler::{GetSeriesRequest, scheduler_service_client::SchedulerServiceClient};
use opeka_testkit::Service;
use tonic::Code;

/// How long a revocation may take to reach every service.
const WITHIN: Duration = Duration::from_secs(5);

/// A curator with an e-mail (so they can reset their password); returns the id.
async fn curator(s: &Suite, login: &str) -> String {
    let token = s.admin_token().await;
    let msg = CreateStaffAccountRequest {
        surname: "Кураторова".into(),
        name: "Вера".into(),
        login: login.into(),
        email: format!("{login}@example.ru"),
        password: PASSWORD.into(),
        password_repeat: PASSWORD.into(),
        roles: vec![Role::Curator as i32],
        ..Default::default()
    };
    s.identity().create_staff_account(s.request(&token, msg)).await.expect("create curator").into_inner().id
}

/// What each verifying service answers `token`: only whether the token
/// itself was accepted matters (a refusal of the role is fine).
async fn codes(s: &Suite, token: &str) -> [(&'static str, Code); 4] {
    let code = |r: Result<(), tonic::Status>| r.err().map(|e| e.code()).unwrap_or(Code::Ok);
    let mut cases = CasesServiceClient::new(s.channel(Service::Cases));
    let mut files = FilesServiceClient::new(s.channel(Service::Files));
    let mut scheduler = SchedulerServiceClient::new(s.channel(Service::Scheduler));
    let mut notifications = NotificationsServiceClient::new(s.channel(Service::Notifications));
    let series = GetSeriesRequest { id: uuid::Uuid::now_v7().to_string() };
    [
        ("cases", code(cases.list_citizens(s.request(token, ListCitizensRequest::default())).await.map(|_| ()))),
        ("files", code(files.list_file_types(s.request(token, ListFileTypesRequest::default())).await.map(|_| ()))),
        ("scheduler", code(scheduler.get_series(s.request(token, series)).await.map(|_| ()))),
        (
            "notifications",
            code(notifications.get_channel_settings(s.request(token, GetChannelSettingsRequest {})).await.map(|_| ())),
        ),
    ]
}

async fn accepted_everywhere(s: &Suite, token: &str) {
    for (service, code) in codes(s, token).await {
        assert_ne!(code, Code::Unauthenticated, "{service} refused a live token");
    }
}

/// Polls until every service refuses `token`; fails after [`WITHIN`].
async fn refused_everywhere(s: &Suite, token: &str, what: &str) {
    let deadline = tokio::time::Instant::now() + WITHIN;
    loop {
        let got = codes(s, token).await;
        if got.iter().all(|(_, c)| *c == Code::Unauthenticated) {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "after {what}, still accepted within {WITHIN:?}: {got:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn login(s: &Suite, login: &str, password: &str) -> String {
    let msg = LoginRequest { tenant: s.tenant.clone(), login: login.into(), password: password.into() };
    s.identity().login(msg).await.expect("login").into_inner().access_token
}

#[tokio::test]
async fn issue9_point5_ended_sessions_are_refused_by_every_service_within_seconds() {
    let s = Suite::start().await;
    let admin = s.admin_token().await;
    let mut identity = s.identity();

    // Logout.
    curator(&s, "vyhod").await;
    let token = login(&s, "vyhod", PASSWORD).await;
    accepted_everywhere(&s, &token).await;
    identity.logout(s.request(&token, LogoutRequest {})).await.expect("logout");
    refused_everywhere(&s, &token, "logout").await;

    // A password change ends the other sessions (the one changing it stays).
    curator(&s, "smena").await;
    let here = login(&s, "smena", PASSWORD).await;
    let elsewhere = login(&s, "smena", PASSWORD).await;
    accepted_everywhere(&s, &elsewhere).await;
    let change = ChangeOwnPasswordRequest {
        old_password: PASSWORD.into(),
        new_password: "Novyi-parol-1".into(),
        new_password_repeat: "Novyi-parol-1".into(),
    };
    identity.change_own_password(s.request(&here, change)).await.expect("change password");
    refused_everywhere(&s, &elsewhere, "a password change").await;
    accepted_everywhere(&s, &here).await;

    // A password set by the admin.
    let id = curator(&s, "sbros").await;
    let token = login(&s, "sbros", PASSWORD).await;
    accepted_everywhere(&s, &token).await;
    let set = SetPasswordRequest { id, password: "Novyi-parol-2".into(), password_repeat: "Novyi-parol-2".into() };
    identity.set_password(s.request(&admin, set)).await.expect("set password");
    refused_everywhere(&s, &token, "a password set by the admin").await;

    // A reset by the user (the mailed code is replaced by a known one here,
    // so the test does not depend on how the mail carries it).
    let id = curator(&s, "zabyla").await;
    let token = login(&s, "zabyla", PASSWORD).await;
    accepted_everywhere(&s, &token).await;
    let request = RequestPasswordResetRequest { tenant: s.tenant.clone(), login: "zabyla".into() };
    identity.request_password_reset(request).await.expect("request reset");
    let owner = opeka_platform::db::connect(&s.db.owner_url, "identity", 1).await.expect("owner pool");
    let hash = opeka_identity::tokens::hash_secret(&format!("{id}:123456"));
    let changed =
        sqlx::query("update one_time_codes set code_hash = $2 where account_id = $1::uuid and purpose = 'reset'")
            .bind(&id)
            .bind(&hash)
            .execute(&owner)
            .await
            .expect("known code")
            .rows_affected();
    assert_eq!(changed, 1);
    let reset = ResetPasswordRequest {
        tenant: s.tenant.clone(),
        login: "zabyla".into(),
        code: "123456".into(),
        password: "Novyi-parol-3".into(),
        password_repeat: "Novyi-parol-3".into(),
    };
    identity.reset_password(reset).await.expect("reset");
    refused_everywhere(&s, &token, "a password reset").await;

    // Deletion of the account.
    let id = curator(&s, "udalena").await;
    let token = login(&s, "udalena", PASSWORD).await;
    accepted_everywhere(&s, &token).await;
    identity.delete_account(s.request(&admin, DeleteAccountRequest { id })).await.expect("delete");
    refused_everywhere(&s, &token, "the account's deletion").await;

    // The admin, untouched by all of it, still works everywhere.
    accepted_everywhere(&s, &admin).await;
}
