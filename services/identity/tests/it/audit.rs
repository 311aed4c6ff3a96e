//! The audit trail (DESIGN.md §3: "every change is written to an append-only
//! audit table"): admins read it, the service role can only append.
use chrono::Duration;
use opeka_proto::identity as pb;
use tonic::Code;
use uuid::Uuid;

use crate::helpers::{TestApp, expect_code, staff_request, ts, update_from};

#[tokio::test]
async fn create_update_and_delete_are_audited_for_admins() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let admin = app.admin(&t).await;
    let mut c = admin.client.clone();
    let created_at = app.now();
    let a =
        c.create_staff_account(staff_request("auditova", "Аудитова", &[pb::Role::Curator])).await.unwrap().into_inner();
    app.clock.advance(Duration::minutes(1));
    let mut up = update_from(&a);
    up.surname = "Проверкина".into();
    c.update_staff_account(up).await.unwrap();
    app.clock.advance(Duration::minutes(1));
    c.delete_account(pb::DeleteAccountRequest { id: a.id.clone() }).await.unwrap();
    let district =
        c.create_district(pb::CreateDistrictRequest { name: "Аудиторский".into() }).await.unwrap().into_inner();

    let trail = c
        .list_audit_events(pb::ListAuditEventsRequest { entity_id: a.id.clone(), ..Default::default() })
        .await
        .expect("admin reads the audit")
        .into_inner();
    let actions: Vec<&str> = trail.events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["account.delete", "account.update", "account.create"], "newest first");
    for e in &trail.events {
        assert_eq!(e.actor_id, t.admin_id.to_string());
        assert_eq!(e.entity, "account");
        assert_eq!(e.entity_id, a.id);
        assert!(e.id.parse::<Uuid>().is_ok());
    }
    assert_eq!(ts(&trail.events[2].occurred_at), created_at);
    assert_eq!(ts(&trail.events[0].occurred_at), created_at + Duration::minutes(2));
    let create: serde_json::Value = serde_json::from_str(&trail.events[2].details_json).unwrap();
    assert_eq!(create["login"], "auditova");
    assert_eq!(create["surname"], "Аудитова");
    assert!(
        create.get("password_hash").is_none() && !trail.events[2].details_json.contains("argon2"),
        "no secrets in the audit"
    );
    let update: serde_json::Value = serde_json::from_str(&trail.events[1].details_json).unwrap();
    assert_eq!(update["changed"], serde_json::json!(["surname"]));

    let d = c
        .list_audit_events(pb::ListAuditEventsRequest { entity_id: district.id.clone(), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(d.events.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), ["district.create"]);

    // The whole trail pages: sign-ins are in it too.
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = c
            .list_audit_events(pb::ListAuditEventsRequest {
                page_size: 2,
                page_token: token.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(page.events.len() <= 2);
        seen.extend(page.events.into_iter().map(|e| (e.id, e.action)));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
        assert!(seen.len() < 100, "paging does not end");
    }
    let ids: std::collections::HashSet<&String> = seen.iter().map(|(id, _)| id).collect();
    assert_eq!(ids.len(), seen.len(), "no event on two pages");
    let total = app.count("select count(*) from identity.audit_log where tenant_id = $1", t.id).await;
    assert_eq!(seen.len() as i64, total);
    assert!(seen.iter().any(|(_, a)| a == "login"));
    assert!(seen.iter().any(|(_, a)| a == "account.create"));

    // Only admins read it; another tenant's admin sees nothing of this one.
    let curator = app.staff_session(&t, &admin, "kuratorova", pb::Role::Curator).await;
    expect_code(
        curator.client.clone().list_audit_events(pb::ListAuditEventsRequest::default()).await,
        Code::PermissionDenied,
    );
    let other = app.tenant("other").await;
    let other_admin = app.admin(&other).await;
    let foreign = other_admin
        .client
        .clone()
        .list_audit_events(pb::ListAuditEventsRequest { entity_id: a.id.clone(), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert!(foreign.events.is_empty());
    let all_other =
        other_admin.client.clone().list_audit_events(pb::ListAuditEventsRequest::default()).await.unwrap().into_inner();
    assert!(all_other.events.iter().all(|e| e.entity_id != a.id && e.actor_id != t.admin_id.to_string()));
}

/// The service role may append to and read `audit_log`, never change or remove rows.
#[tokio::test]
async fn the_service_role_cannot_rewrite_the_audit_log() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let admin = app.admin(&t).await;
    admin
        .client
        .clone()
        .create_staff_account(staff_request("auditova", "Аудитова", &[pb::Role::Curator]))
        .await
        .unwrap();
    let before = app.snapshot().await["audit_log"].clone();
    assert!(before.0 >= 3, "bootstrap, sign-in and create are audited");

    for sql in [
        "update audit_log set action = 'nothing.happened'",
        "update audit_log set details = '{}'::jsonb where action = 'account.create'",
        "delete from audit_log",
        "delete from audit_log where action = 'login'",
        "truncate audit_log",
    ] {
        let mut tx = opeka_platform::db::tenant_tx(&app.app_pool, t.id).await.unwrap();
        let err = sqlx::query(sql).execute(&mut *tx).await.expect_err(sql);
        let code = match &err {
            sqlx::Error::Database(d) => d.code().map(|c| c.to_string()),
            _ => None,
        };
        assert_eq!(code.as_deref(), Some("42501"), "{sql}: {err}");
        assert!(err.to_string().contains("permission denied"), "{sql}: {err}");
        tx.rollback().await.unwrap();
    }
    // Appending works (that is how the service writes it).
    let mut tx = opeka_platform::db::tenant_tx(&app.app_pool, t.id).await.unwrap();
    sqlx::query(
        "insert into audit_log (id, tenant_id, actor_id, action, entity, entity_id, occurred_at)
         values ($1, $2, 'system', 'test.append', 'test', 'x', now())",
    )
    .bind(Uuid::now_v7())
    .bind(t.id)
    .execute(&mut *tx)
    .await
    .expect("append");
    let n: i64 = sqlx::query_scalar("select count(*) from audit_log").fetch_one(&mut *tx).await.unwrap();
    assert_eq!(n, before.0 + 1);
    tx.rollback().await.unwrap();
    assert_eq!(app.snapshot().await["audit_log"], before, "the audit log changed");
}
