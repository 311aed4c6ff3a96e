//! Tenant isolation (DESIGN.md §3, §8 "Tenant transaction"): one agency never
//! sees or changes another's files or types, through the API or through a
//! query run as the service role.
use opeka_proto::files as pb;
use sqlx::{Acquire, Connection};
use tonic::Code;
use uuid::Uuid;

use crate::helpers::{TestApp, download, expect_code, expect_invalid, header, samples, upload};

async fn file_row(app: &TestApp, id: &str) -> String {
    sqlx::query_scalar("select f::text from files.files f where id = $1::uuid")
        .bind(id)
        .fetch_one(&app.owner_pool)
        .await
        .expect("file row")
}

#[tokio::test]
async fn another_tenants_admin_cannot_list_download_or_retype_a_file() {
    let app = TestApp::start().await;
    let (a, b) = (app.tenant("agency-a").await, app.tenant("agency-b").await);
    let admin_a = app.admin(&a).await;
    let admin_b = app.admin(&b).await;
    let citizen = app.citizen(&admin_a, "Петров").await;
    let mut fa = admin_a.files.clone();
    let mut fb = admin_b.files.clone();
    let a_type = fa.create_file_type(pb::CreateFileTypeRequest { name: "Справка".into() }).await.unwrap().into_inner();
    let b_type = fb.create_file_type(pb::CreateFileTypeRequest { name: "Справка".into() }).await.unwrap().into_inner();
    let file = upload(&admin_a.files, header(citizen, "a.pdf"), &samples::pdf(5000)).await.unwrap();
    let before = file_row(&app, &file.id).await;

    let listed = fb
        .list_files(pb::ListFilesRequest { citizen_id: citizen.to_string(), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert!(listed.files.is_empty() && listed.total_size == 0, "{listed:?}");
    assert_eq!(fb.list_files(pb::ListFilesRequest::default()).await.unwrap().into_inner().total_size, 0);
    expect_code(fb.get_file(pb::GetFileRequest { id: file.id.clone() }).await, Code::NotFound);
    expect_code(download(&admin_b.files, &file.id).await, Code::NotFound);
    let retype = pb::SetFileTypeRequest { id: file.id.clone(), file_type_id: b_type.id.clone() };
    expect_code(fb.set_file_type(retype).await, Code::NotFound);
    // A's type is unknown to B, and B's to A.
    let rename = pb::RenameFileTypeRequest { id: a_type.id.clone(), name: "Захвачено".into() };
    expect_code(fb.rename_file_type(rename).await, Code::NotFound);
    expect_code(fb.delete_file_type(pb::DeleteFileTypeRequest { id: a_type.id.clone() }).await, Code::NotFound);
    expect_code(fb.get_file_type(pb::GetFileTypeRequest { id: a_type.id.clone() }).await, Code::NotFound);
    let names = fb.list_file_types(pb::ListFileTypesRequest::default()).await.unwrap().into_inner();
    assert_eq!(names.file_types.iter().map(|t| t.id.clone()).collect::<Vec<_>>(), vec![b_type.id.clone()]);
    let retype = pb::SetFileTypeRequest { id: file.id.clone(), file_type_id: b_type.id.clone() };
    expect_invalid(fa.set_file_type(retype).await, "file_type_id");
    assert_eq!(file_row(&app, &file.id).await, before, "A's file was changed from B");

    // A token of A addressed to B is refused outright.
    let mut wrong = app.files(&admin_a.token, &b.slug);
    expect_code(wrong.list_files(pb::ListFilesRequest::default()).await, Code::Unauthenticated);
}

/// DESIGN.md §8: the service role in tenant A's transaction sees none of B's
/// rows, cannot write one for B, and outside a tenant transaction sees nothing.
#[tokio::test]
async fn the_service_role_sees_only_the_current_tenants_rows() {
    let app = TestApp::start().await;
    let (a, b) = (app.tenant("agency-a").await, app.tenant("agency-b").await);
    let admin_b = app.admin(&b).await;
    let citizen = app.citizen(&admin_b, "Петров").await;
    let mut fb = admin_b.files.clone();
    let kind = fb.create_file_type(pb::CreateFileTypeRequest { name: "Справка".into() }).await.unwrap().into_inner();
    let mut head = header(citizen, "a.pdf");
    head.file_type_id = kind.id.clone();
    let file = upload(&admin_b.files, head, &samples::pdf(100)).await.unwrap();

    let mut conn = app.app_pool.acquire().await.expect("connection");
    let role: (String, bool, bool) =
        sqlx::query_as("select current_user::text, rolsuper, rolbypassrls from pg_roles where rolname = current_user")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
    assert_eq!(role, ("opeka_files".to_string(), false, false), "the check must run as the plain service role");
    {
        let mut tx = conn.begin().await.unwrap();
        opeka_platform::db::set_tenant(&mut tx, a.id).await.unwrap();
        for table in ["file_types", "files", "audit_log"] {
            let sql = format!("select count(*) from {table}");
            let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_one(&mut *tx).await.unwrap();
            assert_eq!(n, 0, "tenant A's transaction sees B's rows in {table}");
        }
        let by_id: i64 = sqlx::query_scalar("select count(*) from files where id = $1")
            .bind(file.id.parse::<Uuid>().unwrap())
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert_eq!(by_id, 0);
        let insert = sqlx::query(
            "insert into file_types (id, tenant_id, name, created_at) values ($1, $2, 'Подброшенный', now())",
        )
        .bind(Uuid::now_v7())
        .bind(b.id)
        .execute(&mut *tx)
        .await;
        let err = insert.expect_err("RLS WITH CHECK rejects another tenant's row");
        assert!(err.to_string().contains("row-level security"), "{err}");
        tx.rollback().await.unwrap();
    }
    for table in ["file_types", "files", "audit_log"] {
        let sql = format!("select count(*) from {table}");
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_one(&mut *conn).await.unwrap();
        assert_eq!(n, 0, "{table} is visible outside a tenant transaction");
    }
    let mut fresh = sqlx::PgConnection::connect(&app.sandbox.db.url("files")).await.unwrap();
    let n: i64 = sqlx::query_scalar("select count(*) from files.files").fetch_one(&mut fresh).await.unwrap();
    assert_eq!(n, 0);
    // B's own transaction sees B's rows.
    let mut tx = opeka_platform::db::tenant_tx(&app.app_pool, b.id).await.unwrap();
    let n: i64 = sqlx::query_scalar("select count(*) from files").fetch_one(&mut *tx).await.unwrap();
    assert_eq!(n, 1);
    // Even the owner cannot point A's file at B's type: the foreign key
    // includes the tenant.
    let mut owner = app.owner_pool.acquire().await.unwrap();
    let other_tenant = sqlx::query("update files.files set tenant_id = $1 where id = $2")
        .bind(a.id)
        .bind(file.id.parse::<Uuid>().unwrap())
        .execute(&mut *owner)
        .await;
    assert!(other_tenant.expect_err("composite foreign key").to_string().contains("files_file_type_fkey"));
}
