//! Issue 9, points 3 and 7: reset-code guesses bounded per account across
//! reissued codes, the reset mail bounded per account, per-address throttles
//! on the anonymous entry points that a spoofed `x-opeka-client-ip` from an
//! untrusted peer cannot get around, and 50 concurrent logins against a pool
//! of 10 connections.
use std::time::Duration;

use chrono::Duration as Span;
use opeka_platform::throttle::CLIENT_IP_HEADER;
use opeka_proto::identity as pb;
use opeka_proto::identity::identity_service_client::IdentityServiceClient;
use tonic::Code;

use crate::helpers::{Events, PASSWORD, TestApp, expect_code, expect_invalid, staff_request};

/// The next reset code, opened from its sealed field as notifications would.
async fn reset_code(events: &mut Events) -> String {
    crate::activation::reset_code(events).await.code
}

fn with_client_ip<T>(msg: T, ip: &str) -> tonic::Request<T> {
    let mut req = tonic::Request::new(msg);
    req.metadata_mut().insert(CLIENT_IP_HEADER, ip.parse().expect("ascii"));
    req
}

#[tokio::test]
async fn issue9_point3_reset_guesses_are_bounded_across_reissued_codes() {
    let app = TestApp::start_with(|s| s.reset_codes_per_hour = 100).await;
    let t = app.tenant("agency").await;
    let admin = app.admin(&t).await;
    let mut r = staff_request("perebor", "Переборова", &[pb::Role::Executor]);
    r.email = "perebor@example.ru".into();
    admin.client.clone().create_staff_account(r).await.unwrap();
    let mut events = app.events(&t.slug, "password_reset_requested").await;
    let mut public = app.public();
    let request = pb::RequestPasswordResetRequest { tenant: t.slug.clone(), login: "perebor".into() };
    let reset = |code: &str| pb::ResetPasswordRequest {
        tenant: t.slug.clone(),
        login: "perebor".into(),
        code: code.into(),
        password: "Подобранный-1".into(),
        password_repeat: "Подобранный-1".into(),
    };
    let limit = app.settings.reset_guess_limit;
    let per_code = app.settings.reset_code_max_attempts;
    assert!(limit > per_code, "the test needs more than one code's worth of guesses");

    // An attacker asks for a new code every time the old one is used up.
    let (mut refused_as_wrong, mut throttled) = (0, 0);
    for _round in 0..4 {
        public.request_password_reset(request.clone()).await.unwrap();
        let code = reset_code(&mut events).await;
        let wrong = if code == "000000" { "111111" } else { "000000" };
        for _ in 0..per_code {
            match public.reset_password(reset(wrong)).await {
                Err(s) if s.code() == Code::InvalidArgument => refused_as_wrong += 1,
                Err(s) if s.code() == Code::ResourceExhausted => {
                    assert!(s.message().contains("попыток"), "{}", s.message());
                    throttled += 1;
                }
                other => panic!("unexpected answer to a wrong code: {other:?}"),
            }
        }
    }
    assert_eq!(refused_as_wrong, limit, "wrong guesses past the account's limit are not even compared");
    assert!(throttled > 0);

    // Even the right code of a fresh issue is refused until the window ends.
    public.request_password_reset(request.clone()).await.unwrap();
    let code = reset_code(&mut events).await;
    expect_code(public.reset_password(reset(&code)).await, Code::ResourceExhausted);
    app.login(&t.slug, "perebor", PASSWORD).await.expect("password unchanged");

    // The count is in the table: it survives a restart of the process, and
    // it ends with its window.
    let stored: i32 = sqlx::query_scalar("select reset_guesses from identity.accounts where login = 'perebor'")
        .fetch_one(&app.owner_pool)
        .await
        .unwrap();
    assert_eq!(stored, limit);
    app.clock.advance(Span::hours(app.settings.reset_guess_window_hours) + Span::seconds(1));
    public.request_password_reset(request.clone()).await.unwrap();
    let code = reset_code(&mut events).await;
    public.reset_password(reset(&code)).await.expect("a new window, the right code");
    app.login(&t.slug, "perebor", "Подобранный-1").await.expect("reset");
}

#[tokio::test]
async fn issue9_point10_reset_mail_is_bounded_per_account() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let admin = app.admin(&t).await;
    let mut r = staff_request("pochta", "Почтова", &[pb::Role::Executor]);
    r.email = "pochta@example.ru".into();
    admin.client.clone().create_staff_account(r).await.unwrap();
    let mut public = app.public();
    let request = pb::RequestPasswordResetRequest { tenant: t.slug.clone(), login: "pochta".into() };
    for _ in 0..(app.settings.reset_codes_per_hour + 5) {
        // The answer never changes: it tells nothing about the account.
        public.request_password_reset(request.clone()).await.expect("same answer");
    }
    let issued: i64 = sqlx::query_scalar("select count(*) from identity.one_time_codes where purpose = 'reset'")
        .fetch_one(&app.owner_pool)
        .await
        .unwrap();
    assert_eq!(issued, app.settings.reset_codes_per_hour, "codes mailed to one account in an hour");
}

#[tokio::test]
async fn issue9_point7_per_address_throttles_ignore_a_spoofed_client_ip_from_an_untrusted_peer() {
    let app = TestApp::start_full(
        |p| {
            // This test's own connection (127.0.0.1) is not a trusted forwarder.
            p.trusted_forwarders = String::new();
            p.throttle.login_per_address = "5/h".parse().unwrap();
            p.throttle.reset_request_per_address = "3/h".parse().unwrap();
            p.throttle.reset_guess_per_address = "4/h".parse().unwrap();
        },
        |_| {},
    )
    .await;
    let t = app.tenant("agency").await;
    let mut public = app.public();

    let login = |n: u32| pb::LoginRequest {
        tenant: t.slug.clone(),
        login: format!("nikto{n}"),
        password: "Не-тот-пароль".into(),
    };
    for n in 0..5 {
        let ip = format!("203.0.113.{n}");
        expect_code(public.login(with_client_ip(login(n), &ip)).await, Code::Unauthenticated);
    }
    let s = expect_code(public.login(with_client_ip(login(9), "198.51.100.77")).await, Code::ResourceExhausted);
    assert!(s.message().contains("Слишком много"), "{}", s.message());
    // The right password of a real account from the same address waits too.
    expect_code(
        public
            .login(with_client_ip(
                pb::LoginRequest {
                    tenant: t.slug.clone(),
                    login: t.admin_login.clone(),
                    password: t.admin_password.clone(),
                },
                "198.51.100.78",
            ))
            .await,
        Code::ResourceExhausted,
    );

    let reset_request = |n: u32| pb::RequestPasswordResetRequest { tenant: t.slug.clone(), login: format!("nikto{n}") };
    for n in 0..3 {
        public.request_password_reset(with_client_ip(reset_request(n), &format!("192.0.2.{n}"))).await.unwrap();
    }
    expect_code(
        public.request_password_reset(with_client_ip(reset_request(7), "192.0.2.200")).await,
        Code::ResourceExhausted,
    );

    let guess = |n: u32| pb::ResetPasswordRequest {
        tenant: t.slug.clone(),
        login: format!("nikto{n}"),
        code: "123456".into(),
        password: "Подобранный-1".into(),
        password_repeat: "Подобранный-1".into(),
    };
    for n in 0..4 {
        expect_invalid(public.reset_password(with_client_ip(guess(n), &format!("192.0.2.{n}"))).await, "code");
    }
    expect_code(public.reset_password(with_client_ip(guess(8), "192.0.2.201")).await, Code::ResourceExhausted);
}

#[tokio::test]
async fn issue9_point7_a_trusted_forwarder_names_the_client_address() {
    let app = TestApp::start_full(|p| p.throttle.login_per_address = "3/h".parse().unwrap(), |_| {}).await;
    let t = app.tenant("agency").await;
    let mut public = app.public();
    let login =
        pb::LoginRequest { tenant: t.slug.clone(), login: "nikto".into(), password: "Не-тот-пароль".into() };
    // Loopback is trusted by default: the gateway's header is believed, so
    // one user's burst does not lock out everybody behind the gateway.
    for _ in 0..3 {
        expect_code(public.login(with_client_ip(login.clone(), "203.0.113.5")).await, Code::Unauthenticated);
    }
    expect_code(public.login(with_client_ip(login.clone(), "203.0.113.5")).await, Code::ResourceExhausted);
    expect_code(public.login(with_client_ip(login.clone(), "203.0.113.6")).await, Code::Unauthenticated);
    // An IPv6 client is throttled by its /64.
    for i in 1..=3 {
        let ip = format!("2001:db8:5::{i}");
        expect_code(public.login(with_client_ip(login.clone(), &ip)).await, Code::Unauthenticated);
    }
    expect_code(public.login(with_client_ip(login.clone(), "2001:db8:5::ff")).await, Code::ResourceExhausted);
}

#[tokio::test]
async fn issue9_point7_fifty_concurrent_logins_never_fail_for_lack_of_connections() {
    // argon2 costly enough that a login holding a connection while hashing
    // (before the fix) keeps the pool of 10 busy past its 5 s acquire timeout.
    let app = TestApp::start_with(|s| {
        s.db_max_connections = 10;
        s.argon2_memory_kib = 8 * 1024;
        s.argon2_iterations = 3;
        s.lockout_threshold = 1000;
    })
    .await;
    let t = app.tenant("agency").await;
    let admin = app.admin(&t).await;
    for login in ["napor", "obychny"] {
        admin
            .client
            .clone()
            .create_staff_account(staff_request(login, "Напорова", &[pb::Role::Executor]))
            .await
            .unwrap();
    }
    let channel = tonic::transport::Endpoint::from_shared(app.url.clone())
        .unwrap()
        .timeout(Duration::from_secs(300))
        .connect_lazy();
    let mut calls = tokio::task::JoinSet::new();
    for i in 0..50 {
        let (right, slug) = (i % 2 == 0, t.slug.clone());
        let mut c = IdentityServiceClient::new(channel.clone());
        calls.spawn(async move {
            let req = if right {
                pb::LoginRequest { tenant: slug, login: "obychny".into(), password: PASSWORD.into() }
            } else {
                pb::LoginRequest { tenant: slug, login: "napor".into(), password: "Не-тот-пароль".into() }
            };
            (right, c.login(req).await.map(|_| ()))
        });
    }
    let (mut ok, mut refused) = (0, 0);
    while let Some(done) = calls.join_next().await {
        match done.unwrap() {
            (true, Ok(())) => ok += 1,
            (false, Err(s)) if s.code() == Code::Unauthenticated => refused += 1,
            (right, other) => panic!("login (right password: {right}) answered {other:?}"),
        }
    }
    assert_eq!((ok, refused), (25, 25));
}
