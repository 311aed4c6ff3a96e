//! Account mail through events (S2-1…S2-4, S2-6, S2-8, S1-13, S1-14): a new
//! account without a password gets an activation link, a forgotten password a
//! one-time code; both travel as identity events on NATS for the mail
//! channel, and both are single-use and expire.
use chrono::{DateTime, Duration, Utc};
use opeka_proto::events::{ActivationRequested, Envelope, PasswordResetRequested, envelope::Body};
use opeka_proto::identity as pb;
use tonic::Code;

use crate::helpers::{Events, PASSWORD, TestApp, TestTenant, expect_code, expect_invalid, staff_request, ts};

fn rfc3339(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).expect("rfc3339 expiry").with_timezone(&Utc)
}

/// The bus key tests run with (the development default).
fn seal_box() -> opeka_platform::crypto::SecretBox {
    opeka_platform::settings::BusSettings::default().seal_box().expect("bus key")
}

/// The next activation event, its token opened as notifications would
/// (it travels sealed; the clear field stays empty).
async fn activation(events: &mut Events) -> (Envelope, ActivationRequested) {
    let (_, env) = events.next().await;
    match env.body.clone() {
        Some(Body::ActivationRequested(mut a)) => {
            assert!(a.token.is_empty(), "the activation token must not travel in clear");
            let tenant = env.tenant_id.parse().expect("tenant id");
            a.token = seal_box()
                .open(tenant, opeka_identity::events::SEALED_ACTIVATION_TOKEN, &a.token_sealed)
                .expect("the sealed token opens with the bus key");
            (env, a)
        }
        other => panic!("expected activation_requested, got {other:?}"),
    }
}

/// The next reset event, its code opened as notifications would.
pub(crate) async fn reset_code(events: &mut Events) -> PasswordResetRequested {
    let (_, env) = events.next().await;
    match env.body {
        Some(Body::PasswordResetRequested(mut r)) => {
            assert!(r.code.is_empty(), "the reset code must not travel in clear");
            let tenant = env.tenant_id.parse().expect("tenant id");
            r.code = seal_box()
                .open(tenant, opeka_identity::events::SEALED_RESET_CODE, &r.code_sealed)
                .expect("the sealed code opens with the bus key");
            r
        }
        other => panic!("expected password_reset_requested, got {other:?}"),
    }
}

/// Issue 9, point 2: a subscriber that reads identity's stream (every stored
/// message, raw) finds neither the reset code nor the activation token, and
/// a sealed value copied into another tenant's event does not open.
#[tokio::test]
async fn issue9_point2_reset_code_and_activation_token_are_not_readable_in_the_stream() {
    let app = TestApp::start().await;
    let t = app.tenant("legal-aid").await;
    let admin = app.admin(&t).await;
    let mut activations = app.events(&t.slug, "activation_requested").await;
    let mut resets = app.events(&t.slug, "password_reset_requested").await;
    admin.client.clone().create_staff_account(consultant("konsultant", "k@example.ru")).await.expect("staff");
    let (_, a) = activation(&mut activations).await;
    // A reset needs an active account.
    app.public().activate_account(activate(&t, &a.token, "new-password-1")).await.expect("activate");
    app.public()
        .request_password_reset(pb::RequestPasswordResetRequest { tenant: t.slug.clone(), login: "konsultant".into() })
        .await
        .expect("reset requested");
    let r = reset_code(&mut resets).await;

    let bus = opeka_platform::testing::harness_bus(&app.platform).await;
    let mut stream = bus.ensure_stream(opeka_identity::SERVICE).await.expect("stream");
    let last = stream.info().await.expect("stream info").state.last_sequence;
    let mut raw = Vec::new();
    for seq in 1..=last {
        if let Ok(m) = stream.get_raw_message(seq).await {
            raw.extend_from_slice(&m.payload);
        }
    }
    let contains = |needle: &str| raw.windows(needle.len()).any(|w| w == needle.as_bytes());
    assert!(!contains(&a.token), "the activation token is readable in the stream");
    assert!(!contains(&r.code), "the reset code is readable in the stream");
    let other_tenant = uuid::Uuid::now_v7();
    assert!(seal_box().open(other_tenant, opeka_identity::events::SEALED_RESET_CODE, &r.code_sealed).is_err());
}

/// S2-1: the admin registers a consultant with e-mail and ФИО, no password.
fn consultant(login: &str, email: &str) -> pb::CreateStaffAccountRequest {
    let mut r = staff_request(login, "Консультантова", &[pb::Role::Consultant]);
    r.patronymic = "Игоревна".into();
    r.email = email.into();
    r.password.clear();
    r.password_repeat.clear();
    r
}

fn activate(t: &TestTenant, token: &str, password: &str) -> pb::ActivateAccountRequest {
    pb::ActivateAccountRequest {
        tenant: t.slug.clone(),
        token: token.into(),
        password: password.into(),
        password_repeat: password.into(),
    }
}

#[tokio::test]
async fn an_activation_link_sets_the_first_password_once() {
    let app = TestApp::start().await;
    let t = app.tenant("legal-aid").await;
    let admin = app.admin(&t).await;
    let mut events = app.events(&t.slug, "activation_requested").await;

    let a = admin
        .client
        .clone()
        .create_staff_account(consultant("konsultant", "Konsultant@Example.RU"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(a.status, pb::AccountStatus::PendingActivation as i32);
    expect_code(app.login(&t.slug, "konsultant@example.ru", "").await, Code::Unauthenticated);

    // S2-2: the mail channel gets the link's token on NATS.
    let (env, ev) = activation(&mut events).await;
    assert_eq!(events.subject, format!("{}.{}.identity.activation_requested", app.platform.bus.root, t.id));
    assert!(env.event_id.parse::<uuid::Uuid>().is_ok());
    assert_eq!(env.tenant_id, t.id.to_string());
    assert_eq!(env.actor, t.admin_id.to_string());
    assert_eq!(ts(&env.occurred_at), app.now());
    assert_eq!(ev.account_id, a.id);
    assert_eq!(ev.email, "konsultant@example.ru");
    assert_eq!(ev.full_name, "Консультантова Анна Игоревна");
    assert!(ev.token.len() >= 32, "an unguessable token");
    assert_eq!(rfc3339(&ev.expires_at), app.now() + Duration::hours(app.settings.activation_ttl_hours));
    let stored: i64 = sqlx::query_scalar("select count(*) from identity.one_time_codes where code_hash = $1")
        .bind(&ev.token)
        .fetch_one(&app.owner_pool)
        .await
        .unwrap();
    assert_eq!(stored, 0, "tokens are stored hashed");

    // S2-3: the link asks for a new password; saving it activates the account.
    let mut public = app.public();
    let activated = public.activate_account(activate(&t, &ev.token, "Первый-пароль-1")).await.expect("activate");
    let card = admin.client.clone().get_account(pb::GetAccountRequest { id: a.id.clone() }).await.unwrap().into_inner();
    assert_eq!(card.status, pb::AccountStatus::Active as i32);
    // S2-4: signed in right after activation.
    let tokens = activated.into_inner().tokens.expect("S2-4: tokens after activation");
    assert_eq!(tokens.account.as_ref().map(|x| x.id.as_str()), Some(a.id.as_str()));
    let me = app.client(&tokens.access_token, &t.slug).who_am_i(pb::WhoAmIRequest {}).await.expect("signed in");
    assert_eq!(me.into_inner().status, pb::AccountStatus::Active as i32);
    // S2-6: sign in with the e-mail as login.
    let session = app.sign_in(&t, "Konsultant@example.ru", "Первый-пароль-1").await;
    assert_eq!(session.account.id, a.id);

    // Single use: the same link cannot set another password.
    let s = expect_invalid(public.activate_account(activate(&t, &ev.token, "Второй-пароль-2")).await, "token");
    assert_eq!(opeka_platform::error::violations(&s)[0].description, opeka_identity::strings::TOKEN_INVALID);
    expect_code(app.login(&t.slug, "konsultant", "Второй-пароль-2").await, Code::Unauthenticated);
    app.login(&t.slug, "konsultant", "Первый-пароль-1").await.expect("first password stands");

    // The link belongs to its tenant.
    let other = app.tenant("other").await;
    let mut other_events = app.events(&other.slug, "activation_requested").await;
    let other_admin = app.admin(&other).await;
    other_admin.client.clone().create_staff_account(consultant("drugoy", "drugoy@example.ru")).await.unwrap();
    let (_, other_ev) = activation(&mut other_events).await;
    expect_invalid(public.activate_account(activate(&t, &other_ev.token, "Чужой-пароль-3")).await, "token");
    public.activate_account(activate(&other, &other_ev.token, "Свой-пароль-3")).await.expect("its own tenant");
}

#[tokio::test]
async fn activation_links_expire() {
    let app = TestApp::start().await;
    let t = app.tenant("legal-aid").await;
    let admin = app.admin(&t).await;
    let mut events = app.events(&t.slug, "activation_requested").await;
    let a = admin
        .client
        .clone()
        .create_staff_account(consultant("pozdnyaya", "late@example.ru"))
        .await
        .unwrap()
        .into_inner();
    let (_, ev) = activation(&mut events).await;

    app.clock.advance(Duration::hours(app.settings.activation_ttl_hours) + Duration::seconds(1));
    expect_invalid(app.public().activate_account(activate(&t, &ev.token, "Поздний-пароль-1")).await, "token");
    let card = admin.client.clone().get_account(pb::GetAccountRequest { id: a.id }).await.unwrap().into_inner();
    assert_eq!(card.status, pb::AccountStatus::PendingActivation as i32);
    expect_code(app.login(&t.slug, "pozdnyaya", "Поздний-пароль-1").await, Code::Unauthenticated);
}

#[tokio::test]
async fn a_forgotten_password_is_reset_with_the_emailed_code() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let admin = app.admin(&t).await;
    let mut r = staff_request("zabyvchivaya", "Забывчивая", &[pb::Role::Executor]);
    r.email = "forgetful@example.ru".into();
    let a = admin.client.clone().create_staff_account(r).await.unwrap().into_inner();
    let mut events = app.events(&t.slug, "password_reset_requested").await;
    let mut public = app.public();

    // S1-14/S2-8: e-mail → code by e-mail → code → new password.
    let request = |login: &str| pb::RequestPasswordResetRequest { tenant: t.slug.clone(), login: login.into() };
    public.request_password_reset(request("FORGETFUL@example.ru")).await.expect("request reset");
    let ev = reset_code(&mut events).await;
    assert_eq!(ev.account_id, a.id);
    assert_eq!(ev.email, "forgetful@example.ru");
    assert_eq!(ev.full_name, "Забывчивая Анна");
    assert_eq!(ev.login, "zabyvchivaya", "the mail's link fills in the login");
    assert!(ev.code.len() == 6 && ev.code.chars().all(|c| c.is_ascii_digit()), "{}", ev.code);
    assert_eq!(rfc3339(&ev.expires_at), app.now() + Duration::minutes(app.settings.reset_code_ttl_minutes));

    let reset = |code: &str, password: &str| pb::ResetPasswordRequest {
        tenant: t.slug.clone(),
        login: "forgetful@example.ru".into(),
        code: code.into(),
        password: password.into(),
        password_repeat: password.into(),
    };
    public.reset_password(reset(&format!(" {} ", ev.code), "Новый-пароль-1")).await.expect("reset");
    expect_code(app.login(&t.slug, "zabyvchivaya", PASSWORD).await, Code::Unauthenticated);
    app.sign_in(&t, "zabyvchivaya", "Новый-пароль-1").await;

    // Single use.
    expect_invalid(public.reset_password(reset(&ev.code, "Новый-пароль-2")).await, "code");
    app.login(&t.slug, "zabyvchivaya", "Новый-пароль-1").await.expect("the reset password stands");

    // A newer request replaces the earlier code.
    public.request_password_reset(request("zabyvchivaya")).await.unwrap();
    let first = reset_code(&mut events).await;
    public.request_password_reset(request("zabyvchivaya")).await.unwrap();
    let second = reset_code(&mut events).await;
    if first.code != second.code {
        expect_invalid(public.reset_password(reset(&first.code, "Новый-пароль-3")).await, "code");
    }
    public.reset_password(reset(&second.code, "Новый-пароль-3")).await.expect("latest code works");
    app.sign_in(&t, "zabyvchivaya", "Новый-пароль-3").await;
}

#[tokio::test]
async fn reset_codes_count_wrong_attempts_and_expire() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let admin = app.admin(&t).await;
    let mut r = staff_request("ugadayka", "Угадайкина", &[pb::Role::Executor]);
    r.email = "guess@example.ru".into();
    admin.client.clone().create_staff_account(r).await.unwrap();
    let mut events = app.events(&t.slug, "password_reset_requested").await;
    let mut public = app.public();
    let request = pb::RequestPasswordResetRequest { tenant: t.slug.clone(), login: "ugadayka".into() };
    let reset = |code: &str| pb::ResetPasswordRequest {
        tenant: t.slug.clone(),
        login: "ugadayka".into(),
        code: code.into(),
        password: "Подобранный-1".into(),
        password_repeat: "Подобранный-1".into(),
    };
    let attempts = || async {
        let n: i32 = sqlx::query_scalar(
            "select attempts from identity.one_time_codes where purpose = 'reset' order by created_at desc limit 1",
        )
        .fetch_one(&app.owner_pool)
        .await
        .unwrap();
        n
    };

    public.request_password_reset(request.clone()).await.unwrap();
    let ev = reset_code(&mut events).await;
    let wrong = if ev.code == "000000" { "111111" } else { "000000" };
    let max = app.settings.reset_code_max_attempts;
    for i in 1..=max {
        expect_invalid(public.reset_password(reset(wrong)).await, "code");
        assert_eq!(attempts().await, i, "each wrong code is counted");
    }
    // Attempts used up: even the right code fails now.
    expect_invalid(public.reset_password(reset(&ev.code)).await, "code");
    expect_code(app.login(&t.slug, "ugadayka", "Подобранный-1").await, Code::Unauthenticated);
    app.login(&t.slug, "ugadayka", PASSWORD).await.expect("password unchanged");

    // A fresh code, a wrong guess, then the right one: fine below the limit.
    public.request_password_reset(request.clone()).await.unwrap();
    let ev = reset_code(&mut events).await;
    let wrong = if ev.code == "000000" { "111111" } else { "000000" };
    expect_invalid(public.reset_password(reset(wrong)).await, "code");
    public.reset_password(reset(&ev.code)).await.expect("right code within the limit");
    app.login(&t.slug, "ugadayka", "Подобранный-1").await.expect("reset");

    // An expired code fails.
    public.request_password_reset(request.clone()).await.unwrap();
    let ev = reset_code(&mut events).await;
    app.clock.advance(Duration::minutes(app.settings.reset_code_ttl_minutes) + Duration::seconds(1));
    let mut late = reset(&ev.code);
    late.password = "Опоздавший-2".into();
    late.password_repeat = "Опоздавший-2".into();
    expect_invalid(public.reset_password(late).await, "code");
    app.login(&t.slug, "ugadayka", "Подобранный-1").await.expect("password unchanged");
}

#[tokio::test]
async fn a_reset_request_never_reveals_whether_the_account_exists() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let admin = app.admin(&t).await;
    let mut c = admin.client.clone();
    // No e-mail to send to; waiting for activation; deleted.
    c.create_staff_account(staff_request("bezpochty", "Безпочтова", &[pb::Role::Curator])).await.unwrap();
    let mut pending = staff_request("ozhidanie", "Ожидающая", &[pb::Role::Curator]);
    pending.email = "pending@example.ru".into();
    pending.password.clear();
    pending.password_repeat.clear();
    c.create_staff_account(pending).await.unwrap();
    let mut gone = staff_request("udalena", "Удалённая", &[pb::Role::Curator]);
    gone.email = "gone@example.ru".into();
    let gone = c.create_staff_account(gone).await.unwrap().into_inner();
    c.delete_account(pb::DeleteAccountRequest { id: gone.id }).await.unwrap();
    let before = app.snapshot().await;

    let mut public = app.public();
    for (tenant, login) in [
        (t.slug.as_str(), "nobody"),
        (t.slug.as_str(), "nobody@example.ru"),
        (t.slug.as_str(), ""),
        (t.slug.as_str(), "bezpochty"),
        (t.slug.as_str(), "pending@example.ru"),
        (t.slug.as_str(), "gone@example.ru"),
        ("no-such-agency", "admin"),
    ] {
        let req = pb::RequestPasswordResetRequest { tenant: tenant.into(), login: login.into() };
        public.request_password_reset(req).await.unwrap_or_else(|e| panic!("{tenant}/{login}: {e:?}"));
    }
    assert_eq!(app.snapshot().await, before, "no code and no event for accounts that cannot reset");
}

// S2-1, S2-6, S2-8: a consultant registered with only an e-mail and ФИО (no
// login) activates, signs in with the e-mail, and the reset mail's link
// carries the e-mail where a login would be.
#[tokio::test]
async fn a_consultant_without_a_login_uses_the_email_throughout() {
    let app = TestApp::start().await;
    let t = app.tenant("legal-aid").await;
    let admin = app.admin(&t).await;
    let mut events = app.events(&t.slug, "activation_requested").await;
    let a = admin
        .client
        .clone()
        .create_staff_account(consultant("", "bezlogina@example.ru"))
        .await
        .expect("no login needed with an e-mail")
        .into_inner();
    assert_eq!(a.login, "");
    let (_, ev) = activation(&mut events).await;
    app.public().activate_account(activate(&t, &ev.token, "Пароль-без-логина-1")).await.expect("activate");
    let session = app.sign_in(&t, "BEZLOGINA@example.ru", "Пароль-без-логина-1").await;
    assert_eq!(session.account.id, a.id);

    let mut resets = app.events(&t.slug, "password_reset_requested").await;
    let req = pb::RequestPasswordResetRequest { tenant: t.slug.clone(), login: "bezlogina@example.ru".into() };
    app.public().request_password_reset(req).await.expect("request reset");
    let r = reset_code(&mut resets).await;
    assert_eq!(r.login, "bezlogina@example.ru", "the link fills in the e-mail");
}
