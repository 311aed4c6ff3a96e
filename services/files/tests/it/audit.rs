//! The audit trail (DESIGN.md §3): every change of files and types, and every
//! download of a citizen's file, is appended; the service role can never
//! change or remove an entry.
use opeka_proto::files as pb;
use uuid::Uuid;

use crate::helpers::{TestApp, download, header, samples, upload};

#[tokio::test]
async fn writes_and_downloads_are_audited_and_the_log_is_append_only() {
    let app = TestApp::start().await;
    let t = app.tenant("agency-a").await;
    let admin = app.admin(&t).await;
    let citizen = app.citizen(&admin, "Петров").await;
    let mut files = admin.files.clone();
    let kind = files.create_file_type(pb::CreateFileTypeRequest { name: "Справка".into() }).await.unwrap().into_inner();
    files.rename_file_type(pb::RenameFileTypeRequest { id: kind.id.clone(), name: "Счёт".into() }).await.unwrap();
    let file = upload(&admin.files, header(citizen, "a.pdf"), &samples::pdf(100)).await.unwrap();
    files.set_file_type(pb::SetFileTypeRequest { id: file.id.clone(), file_type_id: kind.id.clone() }).await.unwrap();
    download(&admin.files, &file.id).await.unwrap();
    files.delete_file_type(pb::DeleteFileTypeRequest { id: kind.id.clone() }).await.unwrap();

    let rows: Vec<(Uuid, String, String, String, String, serde_json::Value)> = sqlx::query_as(
        "select tenant_id, actor_id, action, entity, entity_id, details from files.audit_log order by id",
    )
    .fetch_all(&app.owner_pool)
    .await
    .unwrap();
    let actions: Vec<(&str, &str)> = rows.iter().map(|r| (r.2.as_str(), r.4.as_str())).collect();
    assert_eq!(
        actions,
        vec![
            ("file_type.create", kind.id.as_str()),
            ("file_type.rename", kind.id.as_str()),
            ("file.upload", file.id.as_str()),
            ("file.set_type", file.id.as_str()),
            ("file.download", file.id.as_str()),
            ("file_type.delete", kind.id.as_str()),
        ]
    );
    assert!(rows.iter().all(|r| r.0 == t.id && r.1 == admin.account_id.to_string()));
    assert_eq!(rows[1].5, serde_json::json!({"from": "Справка", "to": "Счёт"}));
    assert_eq!(rows[2].5["sha256"], file.sha256);
    assert_eq!(rows[2].5["citizen_id"], citizen.to_string());
    assert_eq!(rows[3].5["to"], kind.id);

    // The service role may append and read, never change or delete.
    let mut tx = opeka_platform::db::tenant_tx(&app.app_pool, t.id).await.unwrap();
    let n: i64 = sqlx::query_scalar("select count(*) from audit_log").fetch_one(&mut *tx).await.unwrap();
    assert_eq!(n, 6);
    drop(tx);
    for sql in ["update audit_log set action = 'forged'", "delete from audit_log", "truncate audit_log"] {
        let mut tx = opeka_platform::db::tenant_tx(&app.app_pool, t.id).await.unwrap();
        let err = sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut *tx).await.expect_err(sql);
        assert!(err.to_string().contains("permission denied"), "{sql}: {err}");
    }
    let n: i64 = sqlx::query_scalar("select count(*) from files.audit_log").fetch_one(&app.owner_pool).await.unwrap();
    assert_eq!(n, 6);
}

/// A refused upload is not a change: no audit entry.
#[tokio::test]
async fn refused_calls_leave_no_audit_entry() {
    let app = TestApp::start_with(|s| s.max_file_bytes = 1024).await;
    let t = app.tenant("agency-a").await;
    let admin = app.admin(&t).await;
    let citizen = app.citizen(&admin, "Петров").await;
    assert!(upload(&admin.files, header(citizen, "a.pdf"), &samples::pdf(5000)).await.is_err());
    let mut files = admin.files.clone();
    assert!(files.create_file_type(pb::CreateFileTypeRequest { name: String::new() }).await.is_err());
    let n: i64 = sqlx::query_scalar("select count(*) from files.audit_log").fetch_one(&app.owner_pool).await.unwrap();
    assert_eq!(n, 0);
}
