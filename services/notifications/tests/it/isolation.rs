//! Tenant isolation (DESIGN.md §3, §8): every notifications table is behind
//! RLS for the service role; one agency never reaches another's settings,
//! chats or deliveries.
use opeka_proto::notifications as pb;
use sqlx::Acquire;
use uuid::Uuid;

use crate::helpers::{TENANT_TABLES, TestApp};

/// One row in every tenant table for `tenant`, written as the service role.
async fn seed(app: &TestApp, tenant: Uuid, chat: i64) {
    let mut tx = opeka_platform::db::tenant_tx(&app.app_pool, tenant).await.unwrap();
    let now = chrono::Utc::now();
    let (citizen, file) = (Uuid::now_v7(), Uuid::now_v7());
    sqlx::query("insert into channel_settings (tenant_id, tenant_slug, admin_copy_email) values ($1, 'x', 'a@b.ru') on conflict do nothing")
        .bind(tenant)
        .execute(&mut *tx)
        .await
        .unwrap();
    opeka_notifications::store::link_chat(&mut tx, tenant, chat, citizen, now).await.unwrap();
    let upload = opeka_notifications::store::UploadRow {
        file_id: file,
        chat_id: chat,
        citizen_account_id: citizen,
        original_name: "a.pdf".into(),
        file_type_id: None,
    };
    opeka_notifications::store::insert_upload(&mut tx, tenant, &upload, now).await.unwrap();
    opeka_notifications::store::upsert_citizen_curator(&mut tx, tenant, Uuid::now_v7(), citizen, None, now)
        .await
        .unwrap();
    opeka_notifications::store::record_attempt(
        &mut tx,
        opeka_notifications::store::Attempt {
            tenant_id: tenant,
            channel: "mail",
            recipient: "a@b.ru",
            source_event_id: Uuid::now_v7(),
            kind: "activation",
            tries: 1,
            outcome: Ok(()),
            at: now,
            reference_id: None,
        },
    )
    .await
    .unwrap();
    opeka_notifications::store::enqueue_telegram(
        &mut tx,
        opeka_notifications::store::NewQueued {
            tenant_id: tenant,
            source_event_id: Uuid::now_v7(),
            kind: "reminder",
            reference_id: &Uuid::now_v7().to_string(),
            citizen_account_id: citizen,
            chat_id: chat,
            body: "25.11.2026 09:00 — Меры поддержки: текст",
            markup: None,
        },
        now,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn every_table_shows_the_service_role_only_its_tenants_rows() {
    let app = TestApp::start().await;
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    seed(&app, a, 1).await;
    seed(&app, b, 2).await;
    for table in TENANT_TABLES {
        // In A's transaction: A's rows only, and none of B's can be touched.
        let mut tx = opeka_platform::db::tenant_tx(&app.app_pool, a).await.unwrap();
        let seen: Vec<Uuid> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("select tenant_id from {table}")))
            .fetch_all(&mut *tx)
            .await
            .unwrap();
        assert!(!seen.is_empty() && seen.iter().all(|t| *t == a), "{table}: {seen:?}");
        let changed =
            sqlx::query(sqlx::AssertSqlSafe(format!("update {table} set tenant_id = tenant_id where tenant_id = $1")))
                .bind(b)
                .execute(&mut *tx)
                .await
                .unwrap()
                .rows_affected();
        assert_eq!(changed, 0, "{table}: A changed B's rows");
        let deleted = sqlx::query(sqlx::AssertSqlSafe(format!("delete from {table} where tenant_id = $1")))
            .bind(b)
            .execute(&mut *tx)
            .await
            .unwrap()
            .rows_affected();
        assert_eq!(deleted, 0, "{table}: A deleted B's rows");
        // Writing a row for B from A's transaction is refused by the policy.
        let mut sp = tx.begin().await.unwrap();
        let moved = sqlx::query(sqlx::AssertSqlSafe(format!("update {table} set tenant_id = $1")))
            .bind(b)
            .execute(&mut *sp)
            .await;
        assert!(moved.is_err(), "{table}: a row was moved to another tenant");
        drop(sp);
        tx.rollback().await.unwrap();

        // Outside a tenant transaction: nothing at all.
        let none: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("select count(*) from {table}")))
            .fetch_one(&app.app_pool)
            .await
            .unwrap();
        assert_eq!(none, 0, "{table} without a tenant");
        // The owner sees both (the rows exist).
        let all: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("select count(*) from notifications.{table}")))
            .fetch_one(&app.owner_pool)
            .await
            .unwrap();
        assert_eq!(all, 2, "{table}");
    }
}

#[tokio::test]
async fn an_admin_sees_only_their_own_tenants_settings_and_deliveries() {
    let app = TestApp::start().await;
    let a = app.tenant("agency-a").await;
    let b = app.tenant("agency-b").await;
    app.configure_smtp(&a).await;
    app.admin(&a).set_admin_copy_email(pb::SetAdminCopyEmailRequest { email: "boss@a.test".into() }).await.unwrap();
    seed(&app, a.id, 10).await;
    let settings_b = app.admin(&b).get_channel_settings(pb::GetChannelSettingsRequest {}).await.unwrap().into_inner();
    assert!(settings_b.smtp.is_none() && settings_b.admin_copy_email.is_empty(), "{settings_b:?}");
    assert!(app.deliveries(&b).await.is_empty());
    assert_eq!(app.deliveries(&a).await.len(), 1);
    // A's token presented for B is refused.
    let mut wrong = app.notifications(&a.admin_token, &b.slug);
    let r = wrong.get_channel_settings(pb::GetChannelSettingsRequest {}).await;
    assert_eq!(r.unwrap_err().code(), tonic::Code::Unauthenticated);
}
