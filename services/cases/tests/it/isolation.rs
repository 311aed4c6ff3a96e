//! Tenant isolation (DESIGN.md §3, §8 "Tenant transaction") on every cases
//! table: through the API, through events, and through raw queries run as
//! the service role, which Row-Level Security confines to one tenant.
use chrono::Duration;
use opeka_proto::cases as pb;
use opeka_proto::events::{self as ev, envelope::Body};
use sqlx::Connection;
use tonic::Code;
use uuid::Uuid;

use crate::helpers::{TABLES, TestApp, TestTenant, citizen, expect_code, update_from, wait_until};

/// Fills every cases table for tenant `t`; returns (citizen, interaction, activity, group).
async fn populate(app: &TestApp, t: &TestTenant) -> (pb::Citizen, String, String, String) {
    let mut admin = t.admin.cases.clone();
    admin
        .update_tenant_settings(pb::UpdateTenantSettingsRequest {
            citizen_term: "гражданин".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let group = admin
        .create_special_group(pb::CreateSpecialGroupRequest { name: "Ветераны".into() })
        .await
        .unwrap()
        .into_inner()
        .id;
    let card = admin
        .create_citizen(pb::CreateCitizenRequest {
            special_group_ids: vec![group.clone()],
            situation: "Секретная ситуация".into(),
            ..citizen("Петрова", "Ольга")
        })
        .await
        .unwrap()
        .into_inner();
    admin
        .add_diary_entry(pb::AddDiaryEntryRequest { citizen_id: card.id.clone(), text: "Заметка".into() })
        .await
        .unwrap();
    let body = Body::ContactRequested(ev::ContactRequested {
        citizen_account_id: card.account_id.clone(),
        telegram_chat_id: 1,
        text: "Позвоните".into(),
    });
    app.sandbox
        .publish("notifications", &t.slug, &TestApp::envelope(t, app.now(), body), &Uuid::now_v7().to_string())
        .await;
    let activity = wait_until("the contact request of the populated tenant", || {
        let mut admin = admin.clone();
        async move {
            let list = admin.list_activities(pb::ListActivitiesRequest::default()).await.unwrap().into_inner();
            list.activities.first().cloned()
        }
    })
    .await;
    (card, activity.interaction_id, activity.id, group)
}

#[tokio::test]
async fn an_admin_of_one_tenant_cannot_reach_another_tenants_cases() {
    let app = TestApp::start().await;
    let (a, b) = (app.tenant("agency-a").await, app.tenant("agency-b").await);
    let (card, interaction, activity, group) = populate(&app, &b).await;
    let before = app.snapshot().await;
    let mut ca = a.admin.cases.clone();

    expect_code(ca.get_citizen(pb::GetCitizenRequest { id: card.id.clone() }).await, Code::NotFound);
    let mut up = update_from(&card);
    up.surname = "Взломанная".into();
    expect_code(ca.update_citizen(up).await, Code::NotFound);
    expect_code(ca.delete_citizen(pb::DeleteCitizenRequest { id: card.id.clone() }).await, Code::NotFound);
    let diary = pb::AddDiaryEntryRequest { citizen_id: card.id.clone(), text: "x".into() };
    expect_code(ca.add_diary_entry(diary).await, Code::NotFound);
    let result = pb::RecordInteractionResultRequest { id: interaction.clone(), result: "x".into() };
    expect_code(ca.record_interaction_result(result).await, Code::NotFound);
    let tick = pb::MarkActivityProcessedRequest { id: activity.clone(), processed: true };
    expect_code(ca.mark_activity_processed(tick).await, Code::NotFound);
    let rename = pb::RenameSpecialGroupRequest { id: group.clone(), name: "Чужая".into() };
    expect_code(ca.rename_special_group(rename).await, Code::NotFound);
    expect_code(ca.delete_special_group(pb::DeleteSpecialGroupRequest { id: group.clone() }).await, Code::NotFound);
    let curator = app.curator(&a, "kuratova", "Куратова").await;
    let transfer =
        pb::TransferCitizensRequest { citizen_ids: vec![card.id.clone()], to_curator_id: curator.id.clone() };
    expect_code(ca.transfer_citizens(transfer).await, Code::NotFound);
    // A's card may not carry B's special group.
    let foreign =
        pb::CreateCitizenRequest { special_group_ids: vec![group.clone()], ..citizen("Иванова", "Мария") };
    crate::helpers::expect_invalid(ca.create_citizen(foreign).await, "special_group_ids[0]");

    // Lists, searches and the audit of A show nothing of B.
    let search = pb::ListCitizensRequest { name_query: "петрова".into(), ..Default::default() };
    assert_eq!(ca.list_citizens(search).await.unwrap().into_inner().total_size, 0);
    let situation = pb::ListCitizensRequest { situation_query: "секретн".into(), ..Default::default() };
    assert_eq!(ca.list_citizens(situation).await.unwrap().into_inner().total_size, 0);
    assert_eq!(ca.list_activities(pb::ListActivitiesRequest::default()).await.unwrap().into_inner().total_size, 0);
    assert!(
        ca.list_special_groups(pb::ListSpecialGroupsRequest::default()).await.unwrap().into_inner().groups.is_empty()
    );
    let settings = ca.get_tenant_settings(pb::GetTenantSettingsRequest {}).await.unwrap().into_inner();
    assert_eq!(settings.citizen_term, "пользователь", "B's terminology is B's");
    let audit = ca.list_audit_events(pb::ListAuditEventsRequest::default()).await.unwrap().into_inner();
    assert!(audit.events.iter().all(|e| e.citizen_id != card.id), "{audit:?}");

    // An event of tenant A that names B's citizen account reaches nothing.
    let body = Body::FileReceived(ev::FileReceived { citizen_id: card.account_id.clone(), ..Default::default() });
    app.sandbox.publish("files", &a.slug, &TestApp::envelope(&a, app.now(), body), "cross").await;
    let mine = ca.create_citizen(citizen("Иванова", "Мария")).await.unwrap().into_inner();
    let body = Body::FileReceived(ev::FileReceived { citizen_id: mine.account_id.clone(), ..Default::default() });
    app.sandbox.publish("files", &a.slug, &TestApp::envelope(&a, app.now() + Duration::seconds(1), body), "own").await;
    let listed = wait_until("A's own file activity", || {
        let mut ca = ca.clone();
        async move {
            let list = ca.list_activities(pb::ListActivitiesRequest::default()).await.unwrap().into_inner();
            (list.total_size > 0).then_some(list)
        }
    })
    .await;
    assert_eq!(listed.total_size, 1);
    assert_eq!(listed.activities[0].citizen_id, mine.id);
    let after = app.snapshot().await;
    for t in TABLES.iter().filter(|t| !["citizens", "citizen_terms", "activities", "audit_log"].contains(t)) {
        let key = format!("cases.{t}");
        assert_eq!(after.get(&key), before.get(&key), "{key} changed");
    }
    let b_rows = app.count(&format!("select count(*) from cases.activities where tenant_id = '{}'", b.id)).await;
    assert_eq!(b_rows, 1, "B's queue untouched");
}

/// DESIGN.md §8: as the service role, inside tenant A's transaction, no row
/// of B is visible or writable in any cases table, even asked for by id;
/// outside a tenant transaction no tenant row is visible at all.
#[tokio::test]
async fn the_service_role_sees_only_the_current_tenants_rows_in_every_table() {
    let app = TestApp::start().await;
    let (a, b) = (app.tenant("agency-a").await, app.tenant("agency-b").await);
    let (card, ..) = populate(&app, &b).await;
    for t in TABLES {
        let n = app.count(&format!("select count(*) from cases.{t} where tenant_id = '{}'", b.id)).await;
        assert!(n > 0, "B has rows in {t}, so the checks below mean something");
    }

    let mut conn = app.app_pool.acquire().await.unwrap();
    let role: (bool, bool) = sqlx::query_as("select rolsuper, rolbypassrls from pg_roles where rolname = current_user")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(role, (false, false), "RLS only binds a plain role");
    for t in TABLES {
        // No tenant set: nothing at all.
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("select count(*) from cases.{t}")))
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(n, 0, "{t} without a tenant");

        let mut tx = conn.begin().await.unwrap();
        opeka_platform::db::set_tenant(&mut tx, a.id).await.unwrap();
        let sql = format!("select count(*) from cases.{t} where tenant_id = $1");
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(b.id).fetch_one(&mut *tx).await.unwrap();
        assert_eq!(n, 0, "{t}: B's rows asked for by tenant id inside A");
        if *t != "audit_log" {
            let sql = format!("update cases.{t} set tenant_id = tenant_id where tenant_id = $1");
            let changed = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(b.id).execute(&mut *tx).await.unwrap();
            assert_eq!(changed.rows_affected(), 0, "{t}: B's rows updated from A");
        }
        tx.rollback().await.unwrap();
    }
    // B's card by id, from A: invisible; writing a row for B from A: refused.
    let mut tx = conn.begin().await.unwrap();
    opeka_platform::db::set_tenant(&mut tx, a.id).await.unwrap();
    let seen: Option<String> = sqlx::query_scalar("select surname from cases.citizens where id = $1::uuid")
        .bind(&card.id)
        .fetch_optional(&mut *tx)
        .await
        .unwrap();
    assert_eq!(seen, None);
    let err = sqlx::query(
        "insert into cases.special_groups (id, tenant_id, name, name_key, created_at)
         values (gen_random_uuid(), $1, 'Чужая', 'чужая', now())",
    )
    .bind(b.id)
    .execute(&mut *tx)
    .await
    .expect_err("RLS WITH CHECK refuses B's row inside A");
    assert!(err.to_string().contains("row-level security"), "{err}");
    tx.rollback().await.unwrap();
    let mut tx = conn.begin().await.unwrap();
    opeka_platform::db::set_tenant(&mut tx, a.id).await.unwrap();
    let err = sqlx::query(
        "insert into cases.audit_log (id, tenant_id, actor_id, action, entity, entity_id, occurred_at)
         values (gen_random_uuid(), $1, 'x', 'x', 'x', 'x', now())",
    )
    .bind(b.id)
    .execute(&mut *tx)
    .await
    .expect_err("no audit lines for another tenant");
    assert!(err.to_string().contains("row-level security"), "{err}");
    tx.rollback().await.unwrap();
}
