//! Service accounts for ministry integrations and the bot (DESIGN.md §1, §3:
//! "Ministry integrations use service accounts (client credentials)").
use opeka_proto::identity as pb;
use tonic::Code;

use crate::helpers::{TestApp, expect_code, staff_request};

#[tokio::test]
async fn client_credentials_give_a_working_token() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let admin = app.admin(&t).await;
    let mut c = admin.client.clone();
    let created = c
        .create_service_account(pb::CreateServiceAccountRequest {
            name: " Минтруд региона ".into(),
            roles: vec![pb::Role::Integration as i32],
        })
        .await
        .expect("create service account")
        .into_inner();
    let account = created.account.clone().expect("account");
    assert!(created.client_id.starts_with("svc-"), "{}", created.client_id);
    assert!(created.client_secret.len() >= 32);
    assert_eq!(account.client_id, created.client_id);
    assert_eq!(account.kind, pb::AccountKind::Service as i32);
    assert_eq!(account.roles, vec![pb::Role::Integration as i32]);
    assert_eq!(account.surname, "Минтруд региона");
    // The secret is shown once; only its hash is kept.
    let stored: Option<String> =
        sqlx::query_scalar("select client_secret_hash from identity.accounts where id = $1::uuid")
            .bind(&account.id)
            .fetch_one(&app.owner_pool)
            .await
            .unwrap();
    assert!(stored.is_some_and(|h| !h.is_empty() && h != created.client_secret));

    let issue = |tenant: &str, id: &str, secret: &str| pb::IssueServiceTokenRequest {
        tenant: tenant.into(),
        client_id: id.into(),
        client_secret: secret.into(),
    };
    let mut public = app.public();
    let pair = public
        .issue_service_token(issue(&t.slug, &created.client_id, &created.client_secret))
        .await
        .expect("token")
        .into_inner();
    assert_eq!(pair.token_type, "Bearer");
    assert!(pair.refresh_token.is_empty(), "client credentials are presented again instead of refreshing");
    assert_eq!(pair.account.as_ref().map(|a| a.id.as_str()), Some(account.id.as_str()));
    let claims = crate::helpers::claims(&pair.access_token);
    assert_eq!(claims["kind"], "service");
    assert_eq!(claims["roles"], serde_json::json!(["integration"]));

    // The token works, within what the role allows.
    let mut svc = app.client(&pair.access_token, &t.slug);
    let me = svc.who_am_i(pb::WhoAmIRequest {}).await.expect("who am i").into_inner();
    assert_eq!(me.id, account.id);
    let citizen = svc
        .create_citizen_account(pb::CreateCitizenAccountRequest {
            surname: "Импортированный".into(),
            phone: "+79007770000".into(),
            ..Default::default()
        })
        .await
        .expect("an integration registers citizens")
        .into_inner();
    let listed = svc
        .list_accounts(pb::ListAccountsRequest { kind: pb::AccountKind::Citizen as i32, ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    // … but reads back only the citizens its scope names (issue 9, point 4):
    // this one names no district, so not even the one it registered.
    assert!(!citizen.id.is_empty());
    assert!(listed.accounts.is_empty());
    expect_code(
        svc.create_staff_account(staff_request("robot", "Роботов", &[pb::Role::Admin])).await,
        Code::PermissionDenied,
    );
    svc.logout(pb::LogoutRequest {}).await.expect("logout without a session is a no-op");

    // The admin sees it among service accounts.
    let services = c
        .list_accounts(pb::ListAccountsRequest { kind: pb::AccountKind::Service as i32, ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(services.accounts.len(), 1);
    assert_eq!(services.accounts[0].client_id, created.client_id);

    // Wrong secret, unknown client, wrong tenant, nothing: the same answer.
    let other = app.tenant("other").await;
    for req in [
        issue(&t.slug, &created.client_id, "wrong-secret"),
        issue(&t.slug, &created.client_id, ""),
        issue(&t.slug, &created.client_id, &created.client_secret[..created.client_secret.len() - 1]),
        issue(&t.slug, "svc-unknown", &created.client_secret),
        issue(&other.slug, &created.client_id, &created.client_secret),
        issue("no-such-agency", &created.client_id, &created.client_secret),
        issue(&t.slug, "", ""),
    ] {
        let s = expect_code(public.issue_service_token(req).await, Code::Unauthenticated);
        assert_eq!(s.message(), opeka_identity::strings::BAD_CLIENT);
    }
    // A client id is not a login.
    expect_code(app.login(&t.slug, &created.client_id, &created.client_secret).await, Code::Unauthenticated);

    // A deleted service account gets no new tokens.
    c.delete_account(pb::DeleteAccountRequest { id: account.id.clone() }).await.unwrap();
    expect_code(
        public.issue_service_token(issue(&t.slug, &created.client_id, &created.client_secret)).await,
        Code::Unauthenticated,
    );
}
