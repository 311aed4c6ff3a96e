//! «Типы сообщений (файлов)» (S0-102…S0-106): search on top, the list
//! alphabetical, add, rename, delete; names unique within a tenant.
use opeka_proto::files as pb;
use tonic::Code;
use uuid::Uuid;

use crate::helpers::{TestApp, expect_code, expect_invalid, header, samples, upload};

fn names(r: &pb::ListFileTypesResponse) -> Vec<&str> {
    r.file_types.iter().map(|t| t.name.as_str()).collect()
}

/// S0-105: a new type appears in alphabetical order (ё sorts as е, case does
/// not matter); S0-102: search by part of the name, case and ё/е insensitive.
#[tokio::test]
async fn types_list_alphabetically_and_are_found_by_part_of_the_name() {
    let app = TestApp::start().await;
    let t = app.tenant("agency-a").await;
    let mut files = app.admin(&t).await.files;
    for name in ["Справка", "акт обследования", "Ёлочная справка", "Заявление", "Чек", "Выписка"]
    {
        let created = files.create_file_type(pb::CreateFileTypeRequest { name: name.into() }).await.unwrap();
        assert_eq!(created.into_inner().name, name);
    }
    let all = files.list_file_types(pb::ListFileTypesRequest::default()).await.unwrap().into_inner();
    assert_eq!(names(&all), vec!["акт обследования", "Выписка", "Ёлочная справка", "Заявление", "Справка", "Чек"]);
    let found = files
        .list_file_types(pb::ListFileTypesRequest { query: " СПРАВ ".into(), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(names(&found.into_inner()), vec!["Ёлочная справка", "Справка"]);
    let found =
        files.list_file_types(pb::ListFileTypesRequest { query: "елоч".into(), ..Default::default() }).await.unwrap();
    assert_eq!(names(&found.into_inner()), vec!["Ёлочная справка"]);
    // LIKE wildcards in the query are plain characters.
    let found =
        files.list_file_types(pb::ListFileTypesRequest { query: "%".into(), ..Default::default() }).await.unwrap();
    assert!(found.into_inner().file_types.is_empty());
}

/// S0-104 «Изменить» → «Сохранить», S0-105 «Наименование типа файла»:
/// names are required, bounded and unique (case-insensitively).
#[tokio::test]
async fn types_are_created_renamed_and_names_checked() {
    let app = TestApp::start().await;
    let t = app.tenant("agency-a").await;
    let mut files = app.admin(&t).await.files;
    let a = files.create_file_type(pb::CreateFileTypeRequest { name: "  Справка  ".into() }).await.unwrap();
    let a = a.into_inner();
    assert_eq!(a.name, "Справка");
    assert!(a.created_at.is_some() && a.deleted_at.is_none());
    let b = files.create_file_type(pb::CreateFileTypeRequest { name: "Чек".into() }).await.unwrap().into_inner();

    expect_invalid(files.create_file_type(pb::CreateFileTypeRequest { name: " ".into() }).await, "name");
    let long = "я".repeat(101);
    expect_invalid(files.create_file_type(pb::CreateFileTypeRequest { name: long }).await, "name");
    let dup = expect_code(
        files.create_file_type(pb::CreateFileTypeRequest { name: "СПРАВКА".into() }).await,
        Code::AlreadyExists,
    );
    let v = opeka_platform::error::violations(&dup);
    assert_eq!(v.first().map(|v| v.field.as_str()), Some("name"), "{dup:?}");

    let renamed = files
        .rename_file_type(pb::RenameFileTypeRequest { id: b.id.clone(), name: "Кассовый чек".into() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((renamed.id.as_str(), renamed.name.as_str()), (b.id.as_str(), "Кассовый чек"));
    let got = files.get_file_type(pb::GetFileTypeRequest { id: b.id.clone() }).await.unwrap().into_inner();
    assert_eq!(got.name, "Кассовый чек");
    let clash = pb::RenameFileTypeRequest { id: b.id.clone(), name: "справка".into() };
    expect_code(files.rename_file_type(clash).await, Code::AlreadyExists);
    let missing = pb::RenameFileTypeRequest { id: Uuid::now_v7().to_string(), name: "Новое".into() };
    expect_code(files.rename_file_type(missing).await, Code::NotFound);
    let bad = pb::RenameFileTypeRequest { id: "x".into(), name: "Новое".into() };
    expect_invalid(files.rename_file_type(bad).await, "id");
    expect_code(files.get_file_type(pb::GetFileTypeRequest { id: Uuid::now_v7().to_string() }).await, Code::NotFound);
}

/// S0-103 «Корзина»: deleting is soft — the type leaves the list and cannot
/// be given to new files, files that have it keep it and show its name, and
/// the name can be used again.
#[tokio::test]
async fn a_deleted_type_leaves_the_list_but_files_keep_it() {
    let app = TestApp::start().await;
    let t = app.tenant("agency-a").await;
    let admin = app.admin(&t).await;
    let citizen = app.citizen(&admin, "Петров").await;
    let mut files = admin.files.clone();
    let kind = files.create_file_type(pb::CreateFileTypeRequest { name: "Справка".into() }).await.unwrap();
    let kind = kind.into_inner();
    let mut head = header(citizen, "a.pdf");
    head.file_type_id = kind.id.clone();
    let file = upload(&admin.files, head, &samples::pdf(100)).await.unwrap();

    files.delete_file_type(pb::DeleteFileTypeRequest { id: kind.id.clone() }).await.unwrap();
    let list = files.list_file_types(pb::ListFileTypesRequest::default()).await.unwrap().into_inner();
    assert!(list.file_types.is_empty());
    let got = files.get_file_type(pb::GetFileTypeRequest { id: kind.id.clone() }).await.unwrap().into_inner();
    assert!(got.deleted_at.is_some(), "a deleted type can still be shown");
    let kept = files.get_file(pb::GetFileRequest { id: file.id.clone() }).await.unwrap().into_inner();
    assert_eq!((kept.file_type_id.as_str(), kept.file_type_name.as_str()), (kind.id.as_str(), "Справка"));

    expect_code(files.delete_file_type(pb::DeleteFileTypeRequest { id: kind.id.clone() }).await, Code::NotFound);
    let rename = pb::RenameFileTypeRequest { id: kind.id.clone(), name: "Другое".into() };
    expect_code(files.rename_file_type(rename).await, Code::NotFound);
    let set = pb::SetFileTypeRequest { id: file.id.clone(), file_type_id: kind.id.clone() };
    expect_invalid(files.set_file_type(set).await, "file_type_id");
    let again = files.create_file_type(pb::CreateFileTypeRequest { name: "Справка".into() }).await.unwrap();
    assert_ne!(again.into_inner().id, kind.id);
}
