//! Access and refresh tokens (DESIGN.md §3): EdDSA-signed, short-lived,
//! bound to one tenant and one session; refresh tokens rotate and a reused one
//! ends the session. Roles are checked in identity itself (S0-1, S0-17).
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use chrono::Duration;
use opeka_proto::identity as pb;
use tonic::Code;

use crate::helpers::{PASSWORD, TestApp, expect_code, staff_request};

fn who(app: &TestApp, token: &str, tenant: &str) -> crate::helpers::Client {
    app.client(token, tenant)
}

/// Flips one character in the middle of a JWT segment (0 header, 1 claims,
/// 2 signature); the middle character carries no padding bits.
fn flip(token: &str, segment: usize) -> String {
    let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
    let s = &mut parts[segment];
    let i = s.len() / 2;
    let c = s.as_bytes()[i];
    let replacement = if c == b'A' { 'B' } else { 'A' };
    s.replace_range(i..i + 1, &replacement.to_string());
    parts.join(".")
}

#[tokio::test]
async fn expired_tampered_and_foreign_tokens_are_unauthenticated() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let admin = app.admin(&t).await;
    let token = admin.tokens.access_token.clone();
    who(&app, &token, &t.slug).who_am_i(pb::WhoAmIRequest {}).await.expect("the untouched token works");

    // Expired: issued by an identity whose clock ran an hour behind; tokens
    // are verified against real time with no leeway.
    let now = app.now();
    app.clock.set(now - Duration::hours(1));
    let old = app.sign_in(&t, &t.admin_login, &t.admin_password).await;
    app.clock.set(now);
    assert!(crate::helpers::ts(&old.tokens.access_expires_at) < chrono::Utc::now());
    let s = expect_code(
        who(&app, &old.tokens.access_token, &t.slug).who_am_i(pb::WhoAmIRequest {}).await,
        Code::Unauthenticated,
    );
    assert!(s.message().contains("ExpiredSignature") || s.message().contains("токен"), "{}", s.message());

    // Tampered signature, tampered claims (a curator promoting itself).
    expect_code(who(&app, &flip(&token, 2), &t.slug).who_am_i(pb::WhoAmIRequest {}).await, Code::Unauthenticated);
    let curator = app.staff_session(&t, &admin, "kuratorova", pb::Role::Curator).await;
    let parts: Vec<&str> = curator.tokens.access_token.split('.').collect();
    let mut claims: serde_json::Value = serde_json::from_slice(&B64.decode(parts[1]).unwrap()).unwrap();
    claims["roles"] = serde_json::json!(["admin"]);
    let forged = format!("{}.{}.{}", parts[0], B64.encode(serde_json::to_vec(&claims).unwrap()), parts[2]);
    let mut forged_client = who(&app, &forged, &t.slug);
    expect_code(
        forged_client.create_staff_account(staff_request("forged", "Подделкина", &[pb::Role::Admin])).await,
        Code::Unauthenticated,
    );

    // Algorithm confusion: HS256 keyed with the public key is refused.
    let header: serde_json::Value = serde_json::from_slice(&B64.decode(parts[0]).unwrap()).unwrap();
    let mut hs = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    hs.kid = header["kid"].as_str().map(str::to_string);
    let jwks = app.public().get_jwks(pb::GetJwksRequest {}).await.unwrap().into_inner().jwks_json;
    let x = serde_json::from_str::<serde_json::Value>(&jwks).unwrap()["keys"][0]["x"].as_str().unwrap().to_string();
    let hs_token = jsonwebtoken::encode(&hs, &claims, &jsonwebtoken::EncodingKey::from_secret(x.as_bytes())).unwrap();
    expect_code(who(&app, &hs_token, &t.slug).who_am_i(pb::WhoAmIRequest {}).await, Code::Unauthenticated);

    // Garbage, a missing token, a non-Bearer scheme.
    expect_code(who(&app, "not.a.token", &t.slug).who_am_i(pb::WhoAmIRequest {}).await, Code::Unauthenticated);
    expect_code(app.public().who_am_i(pb::WhoAmIRequest {}).await, Code::Unauthenticated);
    let mut basic = tonic::Request::new(pb::WhoAmIRequest {});
    basic.metadata_mut().insert("authorization", format!("Basic {token}").parse().unwrap());
    expect_code(app.public().who_am_i(basic).await, Code::Unauthenticated);

    // A valid token of another tenant, addressed to this tenant.
    let other = app.tenant("other").await;
    let other_admin = app.admin(&other).await;
    expect_code(
        who(&app, &other_admin.tokens.access_token, &t.slug).who_am_i(pb::WhoAmIRequest {}).await,
        Code::Unauthenticated,
    );

    // The JWK set is public and carries only public Ed25519 material.
    let set: serde_json::Value = serde_json::from_str(&jwks).unwrap();
    let key = &set["keys"][0];
    assert_eq!(
        (key["kty"].as_str(), key["crv"].as_str(), key["alg"].as_str()),
        (Some("OKP"), Some("Ed25519"), Some("EdDSA"))
    );
    assert!(key.get("d").is_none(), "private key material in the JWKS");
}

#[tokio::test]
async fn logout_revokes_the_access_token_and_the_refresh_token() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let admin = app.admin(&t).await;
    let mut c = admin.client.clone();
    c.who_am_i(pb::WhoAmIRequest {}).await.unwrap();
    // A second, independent session of the same person survives the logout.
    let other = app.admin(&t).await;
    c.logout(pb::LogoutRequest {}).await.expect("logout");
    let s = expect_code(c.who_am_i(pb::WhoAmIRequest {}).await, Code::Unauthenticated);
    assert_eq!(s.message(), opeka_identity::strings::SESSION_ENDED);
    expect_code(c.list_accounts(pb::ListAccountsRequest::default()).await, Code::Unauthenticated);
    let refresh = pb::RefreshRequest { tenant: t.slug.clone(), refresh_token: admin.tokens.refresh_token.clone() };
    expect_code(app.public().refresh(refresh).await, Code::Unauthenticated);
    other.client.clone().who_am_i(pb::WhoAmIRequest {}).await.expect("other session still live");
}

#[tokio::test]
async fn only_admins_manage_staff() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let admin = app.admin(&t).await;
    let curator = app.staff_session(&t, &admin, "kuratorova", pb::Role::Curator).await;
    let executor = app.staff_session(&t, &admin, "ispolnitel", pb::Role::Executor).await;
    let bot = app.service_session(&t, &admin, "Бот", pb::Role::Bot).await;
    let integration = app.service_session(&t, &admin, "Минтруд", pb::Role::Integration).await;

    // A staff account whose roles became "citizen" or nothing at all (set
    // directly in the database: the API never allows it).
    let mut c = admin.client.clone();
    for (login, roles) in [("grazhdanin", "{citizen}"), ("nikto", "{}")] {
        c.create_staff_account(staff_request(login, "Безролев", &[pb::Role::Executor])).await.unwrap();
        sqlx::query("update identity.accounts set roles = $1::text[] where login = $2")
            .bind(roles)
            .bind(login)
            .execute(&app.owner_pool)
            .await
            .unwrap();
    }
    let citizen_like = app.sign_in(&t, "grazhdanin", PASSWORD).await;
    let no_role = app.sign_in(&t, "nikto", PASSWORD).await;

    let target =
        c.create_staff_account(staff_request("target", "Целевая", &[pb::Role::Curator])).await.unwrap().into_inner();
    let before = app.snapshot().await;
    for (who, session) in [
        ("curator", &curator),
        ("executor", &executor),
        ("bot", &bot),
        ("integration", &integration),
        ("citizen role", &citizen_like),
        ("no role", &no_role),
    ] {
        let mut c = session.client.clone();
        let denied = |r: Result<_, tonic::Status>| {
            let s = r.expect_err(who);
            assert_eq!(s.code(), Code::PermissionDenied, "{who}: {s:?}");
            assert_eq!(s.message(), opeka_identity::strings::PERMISSION_DENIED);
        };
        denied(c.create_staff_account(staff_request("sneaky", "Хитрая", &[pb::Role::Admin])).await.map(|_| ()));
        let mut up = crate::helpers::update_from(&target);
        up.roles = vec![pb::Role::Admin as i32];
        denied(c.update_staff_account(up).await.map(|_| ()));
        let set = pb::SetPasswordRequest {
            id: target.id.clone(),
            password: "Новый-пароль-1".into(),
            password_repeat: "Новый-пароль-1".into(),
        };
        denied(c.set_password(set).await.map(|_| ()));
        denied(c.delete_account(pb::DeleteAccountRequest { id: target.id.clone() }).await.map(|_| ()));
        denied(
            c.create_service_account(pb::CreateServiceAccountRequest {
                name: "x".into(),
                roles: vec![pb::Role::Bot as i32],
            })
            .await
            .map(|_| ()),
        );
        denied(c.create_district(pb::CreateDistrictRequest { name: "Тайный".into() }).await.map(|_| ()));
        denied(c.list_audit_events(pb::ListAuditEventsRequest::default()).await.map(|_| ()));
    }
    assert_eq!(app.snapshot().await, before, "a denied call wrote something");

    // Citizens and no-role accounts are not even allowed to read reference lists.
    for s in [&citizen_like, &no_role] {
        expect_code(s.client.clone().list_districts(pb::ListDistrictsRequest::default()).await, Code::PermissionDenied);
        expect_code(s.client.clone().list_accounts(pb::ListAccountsRequest::default()).await, Code::PermissionDenied);
    }
    // But everyone may look at themselves.
    let me = no_role.client.clone().who_am_i(pb::WhoAmIRequest {}).await.unwrap().into_inner();
    assert_eq!(me.login, "nikto");
    // A curator reads the staff list (S0-23 card) but cannot change it.
    curator.client.clone().list_accounts(pb::ListAccountsRequest::default()).await.expect("curator reads staff");
}

#[tokio::test]
async fn refresh_tokens_rotate_and_reuse_ends_the_session() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let admin = app.admin(&t).await;
    let first = admin.tokens.clone();
    assert_eq!(first.token_type, "Bearer");
    assert!(!first.refresh_token.is_empty());

    let refresh = |token: &str| pb::RefreshRequest { tenant: t.slug.clone(), refresh_token: token.to_string() };
    let second = app.public().refresh(refresh(&first.refresh_token)).await.expect("rotate").into_inner();
    assert_ne!(second.refresh_token, first.refresh_token);
    assert_ne!(second.access_token, first.access_token);
    assert_eq!(second.account.as_ref().unwrap().id, t.admin_id.to_string());
    let mut c2 = app.client(&second.access_token, &t.slug);
    c2.who_am_i(pb::WhoAmIRequest {}).await.expect("the new access token works");
    // Only its hash is stored.
    let stored = app.count("select count(*) from identity.refresh_tokens where tenant_id = $1", t.id).await;
    assert_eq!(stored, 2);
    let plain: i64 = sqlx::query_scalar("select count(*) from identity.refresh_tokens where token_hash = $1")
        .bind(&second.refresh_token)
        .fetch_one(&app.owner_pool)
        .await
        .unwrap();
    assert_eq!(plain, 0, "refresh tokens must be stored hashed");

    // The rotated token comes back: someone holds a copy, so the whole
    // session ends — the new refresh and access tokens stop working too.
    expect_code(app.public().refresh(refresh(&first.refresh_token)).await, Code::Unauthenticated);
    expect_code(app.public().refresh(refresh(&second.refresh_token)).await, Code::Unauthenticated);
    expect_code(c2.who_am_i(pb::WhoAmIRequest {}).await, Code::Unauthenticated);
    // Unknown and empty refresh tokens, and unknown tenants.
    expect_code(app.public().refresh(refresh("nonsense")).await, Code::Unauthenticated);
    expect_code(app.public().refresh(refresh("")).await, Code::Unauthenticated);
    let third = app.admin(&t).await.tokens;
    let wrong_tenant = pb::RefreshRequest { tenant: "nowhere".into(), refresh_token: third.refresh_token.clone() };
    expect_code(app.public().refresh(wrong_tenant).await, Code::Unauthenticated);
    // A fresh sign-in is unaffected by the revoked session.
    app.public().refresh(refresh(&third.refresh_token)).await.expect("independent session");
}

#[tokio::test]
async fn refresh_tokens_expire() {
    let app = TestApp::start_with(|s| s.refresh_token_ttl_secs = 3600).await;
    let t = app.tenant("agency").await;
    let admin = app.admin(&t).await;
    app.clock.advance(Duration::seconds(3601));
    let req = pb::RefreshRequest { tenant: t.slug.clone(), refresh_token: admin.tokens.refresh_token.clone() };
    expect_code(app.public().refresh(req).await, Code::Unauthenticated);
}
