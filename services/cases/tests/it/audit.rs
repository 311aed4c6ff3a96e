//! The audit trail (DESIGN.md §3): every opening of a card and every change
//! is written to an append-only table that the tenant admin reads and that
//! refuses UPDATE and DELETE even to the service's own database role.
use chrono::Duration;
use opeka_platform::wire::from_ts;
use opeka_proto::cases as pb;
use sqlx::Connection;
use tonic::Code;

use crate::helpers::{TestApp, citizen, expect_code};

#[tokio::test]
async fn opening_a_card_is_audited_and_only_admins_read_the_trail() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let curator = app.curator(&t, "kuratova", "Куратова").await;
    let mut c = curator.cases.clone();
    let card = c.create_citizen(citizen("Иванова", "Мария")).await.unwrap().into_inner();
    app.clock.advance(Duration::minutes(3));
    c.get_citizen(pb::GetCitizenRequest { id: card.id.clone() }).await.unwrap();
    app.clock.advance(Duration::minutes(1));
    t.admin.cases.clone().get_citizen(pb::GetCitizenRequest { id: card.id.clone() }).await.unwrap();

    let trail = t
        .admin
        .cases
        .clone()
        .list_audit_events(pb::ListAuditEventsRequest { citizen_id: card.id.clone(), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    let seen: Vec<(&str, &str)> = trail.events.iter().map(|e| (e.action.as_str(), e.actor_id.as_str())).collect();
    assert_eq!(
        seen,
        [
            ("citizen.open", t.admin.id.as_str()),
            ("citizen.open", curator.id.as_str()),
            ("citizen.create", curator.id.as_str())
        ]
    );
    assert_eq!(from_ts(&trail.events[0].occurred_at).unwrap(), app.now());
    assert_eq!(from_ts(&trail.events[1].occurred_at).unwrap(), app.now() - Duration::minutes(1));
    assert!(trail.events.iter().all(|e| e.citizen_id == card.id && e.entity == "citizen"));
    assert!(trail.events[2].fields.contains(&"phone".to_string()));
    // Paging.
    let page = t
        .admin
        .cases
        .clone()
        .list_audit_events(pb::ListAuditEventsRequest {
            citizen_id: card.id.clone(),
            page_size: 2,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((page.events.len(), page.next_page_token.as_str()), (2, "2"));

    expect_code(c.list_audit_events(pb::ListAuditEventsRequest::default()).await, Code::PermissionDenied);
}

/// `SchemaSpec.append_only`: the service role may insert and read the audit
/// table, never change or remove a line.
#[tokio::test]
async fn the_audit_table_refuses_update_and_delete_to_the_service_role() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let card = t.admin.cases.clone().create_citizen(citizen("Иванова", "Мария")).await.unwrap().into_inner();
    t.admin.cases.clone().get_citizen(pb::GetCitizenRequest { id: card.id.clone() }).await.unwrap();
    let lines = app.count("select count(*) from cases.audit_log").await;
    assert_eq!(lines, 2);

    let mut conn = app.app_pool.acquire().await.unwrap();
    let role: (String, bool, bool) =
        sqlx::query_as("select current_user::text, rolsuper, rolbypassrls from pg_roles where rolname = current_user")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
    assert_eq!(role, ("opeka_cases".to_string(), false, false), "a plain service role");
    for sql in [
        "update cases.audit_log set action = 'citizen.nothing'",
        "delete from cases.audit_log",
        "truncate cases.audit_log",
    ] {
        let mut tx = conn.begin().await.unwrap();
        opeka_platform::db::set_tenant(&mut tx, t.id).await.unwrap();
        let err = sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut *tx).await.expect_err(sql);
        let code = err.as_database_error().and_then(|d| d.code()).map(|c| c.to_string());
        assert_eq!(code.as_deref(), Some("42501"), "{sql}: {err}");
        tx.rollback().await.unwrap();
    }
    // Appending still works (that is how the service writes it).
    let mut tx = conn.begin().await.unwrap();
    opeka_platform::db::set_tenant(&mut tx, t.id).await.unwrap();
    sqlx::query(
        "insert into cases.audit_log (id, tenant_id, actor_id, action, entity, entity_id, occurred_at)
         values (gen_random_uuid(), $1, 'test', 'test.append', 'test', 'x', now())",
    )
    .bind(t.id)
    .execute(&mut *tx)
    .await
    .expect("insert is allowed");
    tx.rollback().await.unwrap();
    assert_eq!(app.count("select count(*) from cases.audit_log").await, lines);
}
