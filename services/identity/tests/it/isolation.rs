//! Tenant isolation (DESIGN.md §3, §8 "Tenant transaction"): one agency never
//! sees or changes another's accounts, through the API or through a query
//! run as the service role.
use opeka_proto::identity as pb;
use sqlx::{Acquire, Connection};
use tonic::Code;
use uuid::Uuid;

use crate::helpers::{PASSWORD, TestApp, expect_code, staff_request, update_from};

/// The row of an account as the owner sees it, to prove it did not change.
async fn account_row(app: &TestApp, id: &str) -> String {
    sqlx::query_scalar("select a::text from identity.accounts a where id = $1::uuid")
        .bind(id)
        .fetch_one(&app.owner_pool)
        .await
        .expect("account row")
}

#[tokio::test]
async fn an_admin_of_one_tenant_cannot_read_or_change_another_tenants_accounts() {
    let app = TestApp::start().await;
    let (a, b) = (app.tenant("agency-a").await, app.tenant("agency-b").await);
    let admin_a = app.admin(&a).await;
    let admin_b = app.admin(&b).await;
    let mut ca = admin_a.client.clone();
    let mut cb = admin_b.client.clone();
    let a_staff =
        ca.create_staff_account(staff_request("ivanova", "Иванова", &[pb::Role::Curator])).await.unwrap().into_inner();
    // Same login in B: logins are unique within a tenant, not globally (§3).
    let b_staff =
        cb.create_staff_account(staff_request("ivanova", "Петрова", &[pb::Role::Curator])).await.unwrap().into_inner();
    let b_before = account_row(&app, &b_staff.id).await;
    let b_admin_before = account_row(&app, &b.admin_id.to_string()).await;

    // ListAccounts shows A's staff only.
    let listed = ca
        .list_accounts(pb::ListAccountsRequest { include_deleted: true, ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    let ids: Vec<&str> = listed.accounts.iter().map(|x| x.id.as_str()).collect();
    assert!(ids.contains(&a_staff.id.as_str()) && ids.contains(&a.admin_id.to_string().as_str()), "{ids:?}");
    assert!(!ids.contains(&b_staff.id.as_str()) && !ids.contains(&b.admin_id.to_string().as_str()), "{ids:?}");
    assert!(listed.accounts.iter().all(|x| x.tenant_id == a.id.to_string()));
    assert_eq!(listed.total_size, 2);
    let searched = ca
        .list_accounts(pb::ListAccountsRequest { query: "петрова".into(), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert!(searched.accounts.is_empty() && searched.total_size == 0, "{searched:?}");

    // Every call on B's ids answers as if they did not exist.
    for id in [b_staff.id.clone(), b.admin_id.to_string()] {
        expect_code(ca.get_account(pb::GetAccountRequest { id: id.clone() }).await, Code::NotFound);
        let mut update = update_from(&b_staff);
        update.id = id.clone();
        update.surname = "Взломанная".into();
        expect_code(ca.update_staff_account(update).await, Code::NotFound);
        let set = pb::SetPasswordRequest {
            id: id.clone(),
            password: "Чужой-пароль-1".into(),
            password_repeat: "Чужой-пароль-1".into(),
        };
        expect_code(ca.set_password(set).await, Code::NotFound);
        expect_code(ca.delete_account(pb::DeleteAccountRequest { id: id.clone() }).await, Code::NotFound);
    }
    assert_eq!(account_row(&app, &b_staff.id).await, b_before, "B's curator was changed by A");
    assert_eq!(account_row(&app, &b.admin_id.to_string()).await, b_admin_before, "B's admin was changed by A");
    // B's people still sign in with their own passwords.
    app.sign_in(&b, "ivanova", PASSWORD).await;
    app.sign_in(&b, &b.admin_login, &b.admin_password).await;
    // A's credentials do not open B.
    let err = expect_code(app.login(&b.slug, &a.admin_login, &a.admin_password).await, Code::Unauthenticated);
    assert_eq!(err.message(), opeka_identity::strings::BAD_CREDENTIALS);
}

#[tokio::test]
async fn a_token_of_one_tenant_presented_for_another_is_unauthenticated() {
    let app = TestApp::start().await;
    let (a, b) = (app.tenant("agency-a").await, app.tenant("agency-b").await);
    let admin_a = app.admin(&a).await;
    for tenant in [b.slug.clone(), b.id.to_string()] {
        let mut wrong = app.client(&admin_a.tokens.access_token, &tenant);
        expect_code(wrong.who_am_i(pb::WhoAmIRequest {}).await, Code::Unauthenticated);
        expect_code(wrong.list_accounts(pb::ListAccountsRequest::default()).await, Code::Unauthenticated);
        let req = staff_request("intruder", "Чужая", &[pb::Role::Admin]);
        expect_code(wrong.create_staff_account(req).await, Code::Unauthenticated);
    }
    // The same token addressed to its own tenant, by slug or id, works.
    for tenant in [a.slug.clone(), a.id.to_string()] {
        let me = app.client(&admin_a.tokens.access_token, &tenant).who_am_i(pb::WhoAmIRequest {}).await.unwrap();
        assert_eq!(me.into_inner().id, a.admin_id.to_string());
    }
    // A refresh token of A is unknown to B.
    let refresh = pb::RefreshRequest { tenant: b.slug.clone(), refresh_token: admin_a.tokens.refresh_token.clone() };
    expect_code(app.public().refresh(refresh).await, Code::Unauthenticated);
    assert_eq!(
        app.count("select count(*) from identity.accounts where tenant_id = $1 and login = 'intruder'", b.id).await,
        0
    );
}

/// DESIGN.md §8: the service role inside tenant A's transaction sees no row of
/// B, even when the query asks for B by id; outside any tenant transaction it
/// sees no tenant rows at all (missing setting → empty, never everything).
#[tokio::test]
async fn the_service_role_sees_only_the_current_tenants_rows() {
    let app = TestApp::start().await;
    let (a, b) = (app.tenant("agency-a").await, app.tenant("agency-b").await);
    let admin_b = app.admin(&b).await;
    let mut cb = admin_b.client.clone();
    cb.create_staff_account(staff_request("petrova", "Петрова", &[pb::Role::Curator])).await.unwrap();
    cb.create_district(pb::CreateDistrictRequest { name: "Северный".into() }).await.unwrap();
    let b_rows = app.count("select count(*) from identity.accounts where tenant_id = $1", b.id).await;
    assert_eq!(b_rows, 2, "B has its admin and a curator");

    let mut conn = app.app_pool.acquire().await.expect("connection");
    let role: (String, bool, bool) =
        sqlx::query_as("select current_user::text, rolsuper, rolbypassrls from pg_roles where rolname = current_user")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
    assert_eq!(role, ("opeka_identity".to_string(), false, false), "tests must run as the plain service role");

    {
        let mut tx = conn.begin().await.unwrap();
        opeka_platform::db::set_tenant(&mut tx, a.id).await.unwrap();
        for table in ["accounts", "sessions", "refresh_tokens", "districts", "audit_log"] {
            let sql = format!("select count(*) from {table} where tenant_id = $1");
            let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(b.id).fetch_one(&mut *tx).await.unwrap();
            assert_eq!(n, 0, "tenant A's transaction sees B's rows in {table}");
        }
        let by_id: i64 = sqlx::query_scalar("select count(*) from accounts where id = $1")
            .bind(admin_b.account_id().parse::<Uuid>().unwrap())
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert_eq!(by_id, 0);
        let all: Vec<Uuid> = sqlx::query_scalar("select tenant_id from accounts").fetch_all(&mut *tx).await.unwrap();
        assert_eq!(all, vec![a.id], "A sees exactly its admin");
        // Writes are checked too: a row for B cannot be slipped in from A's transaction.
        let insert = sqlx::query("insert into districts (id, tenant_id, name) values ($1, $2, 'Подброшенный')")
            .bind(Uuid::now_v7())
            .bind(b.id)
            .execute(&mut *tx)
            .await;
        let err = insert.expect_err("RLS WITH CHECK rejects another tenant's row");
        assert!(err.to_string().contains("row-level security"), "{err}");
        tx.rollback().await.unwrap();
    }
    // Same pooled connection after the tenant transaction ended: nothing.
    for table in ["accounts", "sessions", "districts", "audit_log", "bot_link_codes", "one_time_codes"] {
        let sql = format!("select count(*) from {table}");
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_one(&mut *conn).await.unwrap();
        assert_eq!(n, 0, "{table} is visible outside a tenant transaction");
    }
    // And on a fresh connection that never set a tenant.
    let mut fresh = sqlx::PgConnection::connect(&app.sandbox.db.url("identity")).await.unwrap();
    let n: i64 = sqlx::query_scalar("select count(*) from identity.accounts").fetch_one(&mut fresh).await.unwrap();
    assert_eq!(n, 0);
    // The platform-level table is shared (it holds no tenant data).
    let tenants: i64 = sqlx::query_scalar("select count(*) from tenants").fetch_one(&app.app_pool).await.unwrap();
    assert_eq!(tenants, 2);

    // The same check through the platform helper the service itself uses.
    let mut tx = opeka_platform::db::tenant_tx(&app.app_pool, a.id).await.unwrap();
    let n: i64 = sqlx::query_scalar("select count(*) from accounts where tenant_id = $1")
        .bind(b.id)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(n, 0);
    let mut tx = opeka_platform::db::tenant_tx(&app.app_pool, b.id).await.unwrap();
    let n: i64 = sqlx::query_scalar("select count(*) from accounts").fetch_one(&mut *tx).await.unwrap();
    assert_eq!(n, b_rows, "B's own transaction sees B's rows");
}

/// Foreign keys alone would accept another tenant's district or organisation;
/// the lookups run under RLS, so such references are unknown.
#[tokio::test]
async fn references_to_another_tenants_rows_are_unknown() {
    let app = TestApp::start().await;
    let (a, b) = (app.tenant("agency-a").await, app.tenant("agency-b").await);
    let mut ca = app.admin(&a).await.client;
    let mut cb = app.admin(&b).await.client;
    let b_district =
        cb.create_district(pb::CreateDistrictRequest { name: "Северный".into() }).await.unwrap().into_inner();
    let b_org = cb
        .create_organisation(pb::CreateOrganisationRequest {
            name: "Чужой центр".into(),
            kind: pb::OrganisationKind::Agency as i32,
            parent_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let b_citizen = cb
        .create_citizen_account(pb::CreateCitizenAccountRequest {
            surname: "Чужой".into(),
            phone: "+79001234567".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let before = app.snapshot().await;

    let mut r = staff_request("ivanova", "Иванова", &[pb::Role::Curator]);
    r.district_id = b_district.id.clone();
    crate::helpers::expect_invalid(ca.create_staff_account(r).await, "district_id");
    let mut r = staff_request("ivanova", "Иванова", &[pb::Role::Curator]);
    r.organisation_id = b_org.id.clone();
    crate::helpers::expect_invalid(ca.create_staff_account(r).await, "organisation_id");
    let org = pb::CreateOrganisationRequest {
        name: "Филиал".into(),
        kind: pb::OrganisationKind::Agency as i32,
        parent_id: b_org.id.clone(),
    };
    crate::helpers::expect_invalid(ca.create_organisation(org).await, "parent_id");
    let rename = pb::RenameDistrictRequest { id: b_district.id.clone(), name: "Захваченный".into() };
    expect_code(ca.rename_district(rename).await, Code::NotFound);
    let code = pb::GetBotLinkCodeRequest { citizen_account_id: b_citizen.id.clone() };
    expect_code(ca.get_bot_link_code(code).await, Code::NotFound);
    let extend = pb::ExtendBotLinkCodeRequest { citizen_account_id: b_citizen.id.clone() };
    expect_code(ca.extend_bot_link_code(extend).await, Code::NotFound);
    let audit = pb::ListAuditEventsRequest { entity_id: b_citizen.id.clone(), ..Default::default() };
    assert!(ca.list_audit_events(audit).await.unwrap().into_inner().events.is_empty());
    assert_eq!(app.snapshot().await, before, "A changed something of B's");

    // Reference lists are per tenant.
    assert!(ca.list_districts(pb::ListDistrictsRequest::default()).await.unwrap().into_inner().districts.is_empty());
    let orgs = ca.list_organisations(pb::ListOrganisationsRequest::default()).await.unwrap().into_inner();
    assert!(orgs.organisations.is_empty());
    let citizens = pb::ListAccountsRequest { kind: pb::AccountKind::Citizen as i32, ..Default::default() };
    assert_eq!(ca.list_accounts(citizens).await.unwrap().into_inner().total_size, 0);
}
