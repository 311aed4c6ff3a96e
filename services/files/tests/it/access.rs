//! Authorisation in the owning service (DESIGN.md §3): the role → permission
//! table of `opeka_files::domain`, checked on every call.
use opeka_proto::files as pb;
use opeka_proto::identity::Role;
use tonic::Code;
use uuid::Uuid;

use crate::helpers::{TestApp, download, expect_code, header, samples, upload};

#[tokio::test]
async fn calls_without_a_valid_token_are_unauthenticated() {
    let app = TestApp::start().await;
    let t = app.tenant("agency-a").await;
    let mut anon = app.anonymous();
    expect_code(anon.list_file_types(pb::ListFileTypesRequest::default()).await, Code::Unauthenticated);
    expect_code(upload(&anon, header(Uuid::now_v7(), "a.pdf"), &samples::pdf(100)).await, Code::Unauthenticated);
    let mut forged = app.files("not.a.token", &t.slug);
    expect_code(forged.list_files(pb::ListFilesRequest::default()).await, Code::Unauthenticated);
    assert_eq!(app.count_files().await, 0);
}

/// S0-108-like rule for file types: curators read the list, only the admin
/// changes it; roles without file access (an executor) are refused files.
#[tokio::test]
async fn roles_get_what_the_table_grants() {
    let app = TestApp::start().await;
    let t = app.tenant("agency-a").await;
    let admin = app.admin(&t).await;
    let curator = app.staff(&t, &admin, "kuratova", Role::Curator).await;
    let executor = app.staff(&t, &admin, "ispolnitel", Role::Executor).await;
    let citizen = app.citizen(&admin, "Петров").await;
    app.curate(&t, citizen, &curator).await;
    let kind = admin
        .files
        .clone()
        .create_file_type(pb::CreateFileTypeRequest { name: "Справка".into() })
        .await
        .unwrap()
        .into_inner();
    let file = upload(&admin.files, header(citizen, "a.pdf"), &samples::pdf(100)).await.unwrap();

    // The curator reads types but does not manage them.
    let mut cf = curator.files.clone();
    assert_eq!(cf.list_file_types(pb::ListFileTypesRequest::default()).await.unwrap().into_inner().file_types.len(), 1);
    let denied = Code::PermissionDenied;
    let st = expect_code(cf.create_file_type(pb::CreateFileTypeRequest { name: "Своё".into() }).await, denied);
    assert_eq!(st.message(), opeka_files::strings::PERMISSION_DENIED);
    expect_code(cf.rename_file_type(pb::RenameFileTypeRequest { id: kind.id.clone(), name: "Х".into() }).await, denied);
    expect_code(cf.delete_file_type(pb::DeleteFileTypeRequest { id: kind.id.clone() }).await, denied);
    // … and works with files.
    download(&curator.files, &file.id).await.expect("curator downloads");
    upload(&curator.files, header(citizen, "b.pdf"), &samples::pdf(100)).await.expect("curator uploads");

    // An executor sees the reference list and nothing of the files.
    let mut ef = executor.files.clone();
    ef.list_file_types(pb::ListFileTypesRequest::default()).await.expect("executor reads types");
    expect_code(upload(&executor.files, header(citizen, "c.pdf"), &samples::pdf(100)).await, denied);
    expect_code(ef.list_files(pb::ListFilesRequest::default()).await, denied);
    expect_code(ef.get_file(pb::GetFileRequest { id: file.id.clone() }).await, denied);
    expect_code(download(&executor.files, &file.id).await, denied);
    let set = pb::SetFileTypeRequest { id: file.id.clone(), file_type_id: kind.id.clone() };
    expect_code(ef.set_file_type(set).await, denied);
    assert_eq!((app.count_files().await, app.stored_blobs().len()), (2, 2));
}

/// The Telegram bot (role BOT) uploads a citizen's file and reads the types
/// to ask what it is; it may classify what it uploaded, nothing else, and
/// cannot read files back.
#[tokio::test]
async fn the_bot_uploads_and_classifies_its_own_uploads_only() {
    let app = TestApp::start().await;
    let t = app.tenant("agency-a").await;
    let admin = app.admin(&t).await;
    let bot = app.bot(&t, &admin).await;
    let citizen = app.citizen(&admin, "Петров").await;
    let kind = admin
        .files
        .clone()
        .create_file_type(pb::CreateFileTypeRequest { name: "Справка".into() })
        .await
        .unwrap()
        .into_inner();
    let mut bf = bot.files.clone();
    let types = bf.list_file_types(pb::ListFileTypesRequest::default()).await.unwrap().into_inner();
    assert_eq!(types.file_types.len(), 1);

    let mine = upload(&bot.files, header(citizen, "photo.jpg"), &samples::png()).await.expect("the bot uploads");
    assert_eq!((mine.channel, mine.uploaded_by.clone()), (pb::Channel::Bot as i32, bot.account_id.to_string()));
    let set = pb::SetFileTypeRequest { id: mine.id.clone(), file_type_id: kind.id.clone() };
    assert_eq!(bf.set_file_type(set).await.expect("own upload").into_inner().file_type_name, "Справка");

    let staffs = upload(&admin.files, header(citizen, "a.pdf"), &samples::pdf(100)).await.unwrap();
    let set = pb::SetFileTypeRequest { id: staffs.id.clone(), file_type_id: kind.id.clone() };
    expect_code(bf.set_file_type(set).await, Code::PermissionDenied);
    expect_code(bf.list_files(pb::ListFilesRequest::default()).await, Code::PermissionDenied);
    expect_code(download(&bot.files, &mine.id).await, Code::PermissionDenied);
    expect_code(bf.create_file_type(pb::CreateFileTypeRequest { name: "Бот".into() }).await, Code::PermissionDenied);
}
