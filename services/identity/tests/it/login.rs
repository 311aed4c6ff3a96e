//! Signing in (S0-3, S0-4/S0-5 with the deliberate single message, S2-5,
//! S2-6): login or e-mail, case-insensitive; no account enumeration;
//! lockout after repeated failures; deleted accounts cannot sign in.
use chrono::Duration;
use opeka_proto::identity as pb;
use tonic::Code;

use crate::helpers::{PASSWORD, TestApp, expect_code, staff_request};

#[tokio::test]
async fn staff_sign_in_by_login_or_email_in_any_case() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let admin = app.admin(&t).await;
    let mut req = staff_request("Ivanova.M", "Иванова", &[pb::Role::Consultant]);
    req.email = "Ivanova@Example.RU".into();
    let created = admin.client.clone().create_staff_account(req).await.unwrap().into_inner();
    assert_eq!(created.email, "ivanova@example.ru", "e-mails are stored lower-case");

    for login in ["Ivanova.M", "ivanova.m", "IVANOVA.M", " ivanova.m ", "ivanova@example.ru", "IVANOVA@EXAMPLE.RU"] {
        let pair = app.login(&t.slug, login, PASSWORD).await.unwrap_or_else(|e| panic!("{login}: {e:?}"));
        let account = pair.account.expect("account in the pair");
        assert_eq!(account.id, created.id, "{login}");
        assert_eq!(pair.token_type, "Bearer");
        let ttl = crate::helpers::ts(&pair.access_expires_at) - app.now();
        assert_eq!(ttl, Duration::seconds(app.settings.access_token_ttl_secs), "short-lived access token");
        let me = app.client(&pair.access_token, &t.slug).who_am_i(pb::WhoAmIRequest {}).await.unwrap().into_inner();
        assert_eq!(me.roles, vec![pb::Role::Consultant as i32]);
    }
    // The tenant may be named by id as well as by slug.
    app.login(&t.id.to_string(), "ivanova.m", PASSWORD).await.expect("tenant by id");
    // The password is case-sensitive.
    expect_code(app.login(&t.slug, "ivanova.m", &PASSWORD.to_uppercase()).await, Code::Unauthenticated);
}

#[tokio::test]
async fn unknown_login_and_wrong_password_look_the_same() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let admin = app.admin(&t).await;
    admin.client.clone().create_staff_account(staff_request("petrova", "Петрова", &[pb::Role::Curator])).await.unwrap();

    let wrong_password = expect_code(app.login(&t.slug, "petrova", "не-тот-пароль").await, Code::Unauthenticated);
    let unknown_login = expect_code(app.login(&t.slug, "nobody", "не-тот-пароль").await, Code::Unauthenticated);
    let unknown_tenant = expect_code(app.login("no-such-agency", "petrova", PASSWORD).await, Code::Unauthenticated);
    let empty = expect_code(app.login(&t.slug, "", "").await, Code::Unauthenticated);
    for s in [&wrong_password, &unknown_login, &unknown_tenant, &empty] {
        assert_eq!(s.message(), opeka_identity::strings::BAD_CREDENTIALS);
        assert!(opeka_platform::error::violations(s).is_empty());
    }
    assert_eq!(wrong_password.message(), unknown_login.message());
    assert!(wrong_password.message().to_lowercase().contains("логин или пароль"));
}

#[tokio::test]
async fn repeated_failures_lock_the_account_until_the_lockout_passes() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let admin = app.admin(&t).await;
    admin
        .client
        .clone()
        .create_staff_account(staff_request("sidorova", "Сидорова", &[pb::Role::Curator]))
        .await
        .unwrap();
    assert_eq!(app.settings.lockout_threshold, 3);

    for _ in 0..3 {
        expect_code(app.login(&t.slug, "sidorova", "неверный-пароль").await, Code::Unauthenticated);
    }
    // Locked: even the right password fails, with the same message.
    let locked = expect_code(app.login(&t.slug, "sidorova", PASSWORD).await, Code::Unauthenticated);
    assert_eq!(locked.message(), opeka_identity::strings::BAD_CREDENTIALS);
    // Signing in by e-mail or another case of the login does not get round it.
    expect_code(app.login(&t.slug, "SIDOROVA", PASSWORD).await, Code::Unauthenticated);
    // Other accounts are not affected.
    app.admin(&t).await;

    app.clock.advance(Duration::seconds(app.settings.lockout_secs - 1));
    expect_code(app.login(&t.slug, "sidorova", PASSWORD).await, Code::Unauthenticated);
    app.clock.advance(Duration::seconds(2));
    app.login(&t.slug, "sidorova", PASSWORD).await.expect("lockout over");

    // A success resets the counter: two more failures do not lock.
    for _ in 0..2 {
        expect_code(app.login(&t.slug, "sidorova", "неверный-пароль").await, Code::Unauthenticated);
    }
    app.login(&t.slug, "sidorova", PASSWORD).await.expect("below the threshold");

    // The attempts are in the audit trail.
    let actions: Vec<String> = sqlx::query_scalar(
        "select action from identity.audit_log where tenant_id = $1 and action like 'login%' order by occurred_at, id",
    )
    .bind(t.id)
    .fetch_all(&app.owner_pool)
    .await
    .unwrap();
    assert_eq!(actions.iter().filter(|a| *a == "login.failed").count(), 5, "{actions:?}");
    assert_eq!(actions.iter().filter(|a| *a == "login.locked").count(), 3, "{actions:?}");
}

#[tokio::test]
async fn an_admin_setting_a_new_password_lifts_a_lockout() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let admin = app.admin(&t).await;
    let a = admin
        .client
        .clone()
        .create_staff_account(staff_request("smirnova", "Смирнова", &[pb::Role::Curator]))
        .await
        .unwrap()
        .into_inner();
    for _ in 0..4 {
        expect_code(app.login(&t.slug, "smirnova", "неверный-пароль").await, Code::Unauthenticated);
    }
    let set = pb::SetPasswordRequest {
        id: a.id,
        password: "Новый-пароль-7".into(),
        password_repeat: "Новый-пароль-7".into(),
    };
    admin.client.clone().set_password(set).await.unwrap();
    app.login(&t.slug, "smirnova", "Новый-пароль-7").await.expect("unlocked by the new password");
}

#[tokio::test]
async fn deleted_and_pending_accounts_cannot_sign_in() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let admin = app.admin(&t).await;
    let mut c = admin.client.clone();
    let mut req = staff_request("udalennaya", "Удалённая", &[pb::Role::Curator]);
    req.email = "deleted@example.ru".into();
    let a = c.create_staff_account(req).await.unwrap().into_inner();
    app.login(&t.slug, "udalennaya", PASSWORD).await.expect("signs in before deletion");
    c.delete_account(pb::DeleteAccountRequest { id: a.id.clone() }).await.unwrap();
    for login in ["udalennaya", "deleted@example.ru"] {
        let s = expect_code(app.login(&t.slug, login, PASSWORD).await, Code::Unauthenticated);
        assert_eq!(s.message(), opeka_identity::strings::BAD_CREDENTIALS);
    }

    // Waiting for activation: no password yet, nothing to sign in with.
    let mut pending = staff_request("ozhidayushaya", "Ожидающая", &[pb::Role::Consultant]);
    pending.email = "pending@example.ru".into();
    pending.password.clear();
    pending.password_repeat.clear();
    c.create_staff_account(pending).await.unwrap();
    expect_code(app.login(&t.slug, "ozhidayushaya", "").await, Code::Unauthenticated);
    expect_code(app.login(&t.slug, "pending@example.ru", PASSWORD).await, Code::Unauthenticated);

    // Citizens and service accounts do not sign in with a password.
    let citizen = c
        .create_citizen_account(pb::CreateCitizenAccountRequest {
            surname: "Гражданкин".into(),
            phone: "+79001234567".into(),
            email: "citizen@example.ru".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(citizen.kind, pb::AccountKind::Citizen as i32);
    expect_code(app.login(&t.slug, "citizen@example.ru", "").await, Code::Unauthenticated);
}
