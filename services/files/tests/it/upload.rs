//! Upload and download (issue 3 item 3; S0-85…S0-87, S0-106): the bytes come
//! back as they went in, the type is sniffed, `file_received` is published,
//! and an upload refused or broken midway leaves neither a row nor a blob.
use std::time::Duration;

use opeka_proto::events::envelope::Body;
use opeka_proto::files as pb;
use opeka_proto::identity::Role;
use tonic::Code;
use uuid::Uuid;

use crate::helpers::{
    TEST_BUFFER, TestApp, download, expect_code, expect_invalid, header, messages, samples, sha256_hex, upload,
};

/// S0-106, S0-86: a curator's upload downloads byte for byte, in 64 KiB
/// chunks after the metadata; the stored type is what the bytes are (a PDF),
/// not what the client claimed (PNG).
#[tokio::test]
async fn an_upload_downloads_byte_for_byte_with_the_sniffed_type() {
    let app = TestApp::start().await;
    let t = app.tenant("agency-a").await;
    let admin = app.admin(&t).await;
    let curator = app.staff(&t, &admin, "kuratova", Role::Curator).await;
    let citizen = app.citizen(&admin, "Петров").await;
    app.curate(&t, citizen, &curator).await;
    let kind = admin
        .files
        .clone()
        .create_file_type(pb::CreateFileTypeRequest { name: "Справка".into() })
        .await
        .unwrap()
        .into_inner();

    let content = samples::pdf(200 * 1024 + 123);
    let mut head = header(citizen, "scan.png");
    head.file_type_id = kind.id.clone();
    head.declared_content_type = "image/png".into();
    head.declared_size = Some(content.len() as i64);
    let file = upload(&curator.files, head, &content).await.expect("upload");

    assert_eq!(file.content_type, "application/pdf", "sniffed from the bytes, not the claim");
    assert_eq!(file.declared_content_type, "image/png");
    assert_eq!(file.size, content.len() as i64);
    assert_eq!(file.sha256, sha256_hex(&content));
    assert_eq!(file.citizen_id, citizen.to_string());
    assert_eq!((file.file_type_id.as_str(), file.file_type_name.as_str()), (kind.id.as_str(), "Справка"));
    assert_eq!(file.original_name, "scan.png");
    assert_eq!(file.uploaded_by, curator.account_id.to_string());
    assert_eq!(file.channel, pb::Channel::Web as i32);

    let (meta, bytes, sizes) = download(&curator.files, &file.id).await.expect("download");
    assert_eq!(meta, file);
    assert_eq!(sha256_hex(&bytes), file.sha256);
    assert!(bytes == content, "the same bytes come back");
    let (last, full) = sizes.split_last().expect("chunks");
    assert!(full.iter().all(|s| *s == 64 * 1024) && *last <= 64 * 1024, "{sizes:?}");
    assert_eq!(sizes.len(), content.len().div_ceil(64 * 1024));
    let got = curator.files.clone().get_file(pb::GetFileRequest { id: file.id.clone() }).await.unwrap().into_inner();
    assert_eq!(got, file);

    // The blob's key carries the tenant; nothing else is in the store.
    let expected = app.store_dir.path().join(format!("tenants/{}/files/{}", t.id, file.id));
    assert_eq!(app.stored_blobs(), vec![expected]);
    let key: String = sqlx::query_scalar("select storage_key from files.files where id = $1::uuid")
        .bind(&file.id)
        .fetch_one(&app.owner_pool)
        .await
        .unwrap();
    assert_eq!(key, format!("tenants/{}/files/{}", t.id, file.id));
}

/// S0-85/S0-87: the upload publishes `file_received` on
/// `<root>.<tenant>.files.file_received` from the outbox.
#[tokio::test]
async fn an_upload_publishes_file_received() {
    let app = TestApp::start().await;
    let t = app.tenant("agency-a").await;
    let admin = app.admin(&t).await;
    let bot = app.bot(&t, &admin).await;
    let citizen = app.citizen(&admin, "Петров").await;
    let mut events = app.events(&t.slug, "file_received").await;
    let photo = samples::png();
    let file = upload(&bot.files, header(citizen, ""), &photo).await.expect("upload");

    let env = events.next().await;
    assert_eq!(events.subject, format!("{}.{}.files.file_received", app.platform.bus.root, t.id));
    assert_eq!(env.tenant_id, t.id.to_string());
    assert_eq!(env.actor, bot.account_id.to_string());
    assert!(env.event_id.parse::<Uuid>().is_ok() && env.occurred_at.is_some());
    let Some(Body::FileReceived(ev)) = env.body else { panic!("not a FileReceived: {env:?}") };
    assert_eq!(ev.file_id, file.id);
    assert_eq!(ev.citizen_id, citizen.to_string());
    assert_eq!(ev.content_type, "image/png");
    assert_eq!(ev.size, photo.len() as i64);
    assert_eq!(ev.sha256, sha256_hex(&photo));
    assert_eq!(ev.uploaded_by, bot.account_id.to_string());
    assert_eq!(ev.channel, "bot");
    assert_eq!(ev.file_type_id, "");
    // A photo from Telegram has no name: it gets one from its type.
    assert_eq!(ev.original_name, "файл.png");
}

/// Issue 3 "a file over the limit": refused with a field violation once the
/// limit is crossed, after parts were already streamed to the store; the
/// multipart upload is aborted and no row, event or audit entry is written.
#[tokio::test]
async fn an_upload_over_the_limit_is_refused_and_leaves_nothing() {
    let app = TestApp::start_with(|s| s.max_file_bytes = 100 * 1024).await;
    let t = app.tenant("agency-a").await;
    let admin = app.admin(&t).await;
    let citizen = app.citizen(&admin, "Петров").await;
    let before = app.counts().await;

    let big = samples::pdf(100 * 1024 + 1);
    let msg = expect_invalid(upload(&admin.files, header(citizen, "big.pdf"), &big).await, "chunk");
    assert!(msg.contains("100 КБ"), "the limit is named: {msg}");
    app.assert_no_blobs().await;
    assert_eq!(app.counts().await, before, "nothing written");

    // Declared too big: refused before a byte is read.
    let mut head = header(citizen, "big.pdf");
    head.declared_size = Some(100 * 1024 + 1);
    expect_invalid(upload(&admin.files, head, &samples::pdf(10)).await, "declared_size");
    // Declared smaller than sent: the file is not what the client said.
    let mut head = header(citizen, "small.pdf");
    head.declared_size = Some(10);
    expect_invalid(upload(&admin.files, head, &samples::pdf(50 * 1024)).await, "declared_size");
    app.assert_no_blobs().await;
    assert_eq!(app.counts().await, before);

    // Exactly the limit is fine.
    upload(&admin.files, header(citizen, "ok.pdf"), &samples::pdf(100 * 1024)).await.expect("at the limit");
    assert_eq!(app.stored_blobs().len(), 1);
}

/// A type the settings do not allow (an executable named like a PDF; HTML
/// named .txt) is refused with a Russian sentence; nothing is kept.
#[tokio::test]
async fn a_disallowed_type_is_refused_and_leaves_nothing() {
    let app = TestApp::start().await;
    let t = app.tenant("agency-a").await;
    let admin = app.admin(&t).await;
    let citizen = app.citizen(&admin, "Петров").await;
    let before = app.counts().await;
    let mut head = header(citizen, "справка.pdf");
    head.declared_content_type = "application/pdf".into();
    // Big enough to be refused mid-stream, after parts reached the store.
    let msg = expect_invalid(upload(&admin.files, head, &samples::exe(200 * 1024)).await, "chunk");
    assert!(msg.contains("не принимаются") && msg.contains("PDF"), "{msg}");
    let html = b"<html><body><script>alert(1)</script></body></html>".to_vec();
    expect_invalid(upload(&admin.files, header(citizen, "note.txt"), &html).await, "chunk");
    app.assert_no_blobs().await;
    assert_eq!(app.counts().await, before);

    // A narrower setting is honoured.
    let app = TestApp::start_with(|s| s.allowed_content_types = vec!["image/png".into()]).await;
    let t = app.tenant("agency-a").await;
    let admin = app.admin(&t).await;
    let msg = expect_invalid(upload(&admin.files, header(citizen, "a.pdf"), &samples::pdf(100)).await, "chunk");
    assert!(msg.contains("PNG") && !msg.contains("Word"), "{msg}");
    upload(&admin.files, header(citizen, "a.png"), &samples::png()).await.expect("png allowed");
}

/// Issue 3 "an unknown file type": a random id, a malformed one, another
/// tenant's type and a deleted type are all INVALID_ARGUMENT on `file_type_id`.
#[tokio::test]
async fn an_unknown_file_type_is_refused_and_leaves_nothing() {
    let app = TestApp::start().await;
    let (a, b) = (app.tenant("agency-a").await, app.tenant("agency-b").await);
    let admin = app.admin(&a).await;
    let admin_b = app.admin(&b).await;
    let citizen = app.citizen(&admin, "Петров").await;
    let b_type = admin_b
        .files
        .clone()
        .create_file_type(pb::CreateFileTypeRequest { name: "Чужой".into() })
        .await
        .unwrap()
        .into_inner();
    let gone = admin
        .files
        .clone()
        .create_file_type(pb::CreateFileTypeRequest { name: "Удалённый".into() })
        .await
        .unwrap()
        .into_inner();
    admin.files.clone().delete_file_type(pb::DeleteFileTypeRequest { id: gone.id.clone() }).await.unwrap();
    let before = app.counts().await;
    for id in [Uuid::now_v7().to_string(), "не-uuid".to_string(), b_type.id.clone(), gone.id.clone()] {
        let mut head = header(citizen, "a.pdf");
        head.file_type_id = id;
        expect_invalid(upload(&admin.files, head, &samples::pdf(40 * 1024)).await, "file_type_id");
    }
    app.assert_no_blobs().await;
    assert_eq!(app.counts().await, before);
}

/// Issue 3 "an upload that fails midway leaves nothing behind": the client
/// goes away after parts of a multipart upload reached the store; the
/// staging data is removed and no row is written.
#[tokio::test]
async fn a_client_that_aborts_mid_stream_leaves_nothing() {
    let app = TestApp::start().await;
    let t = app.tenant("agency-a").await;
    let admin = app.admin(&t).await;
    let citizen = app.citizen(&admin, "Петров").await;
    let before = app.counts().await;

    let (mut client, relay) = app.files_via_relay(&admin.token, &t.slug).await;
    let (tx, rx) = tokio::sync::mpsc::channel::<pb::UploadFileRequest>(16);
    let call = tokio::spawn(async move { client.upload_file(tokio_stream::wrappers::ReceiverStream::new(rx)).await });
    let content = samples::pdf(4 * TEST_BUFFER as usize);
    for m in messages(header(citizen, "a.pdf"), &content, 8 * 1024) {
        tx.send(m).await.expect("send chunk");
    }
    // Wait until the multipart upload has written to the store …
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while app.stored_blobs().is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "the upload never reached the store");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(app.stored_blobs().iter().all(|p| p.to_string_lossy().contains('#')), "only a staging file so far");
    // … then the client vanishes without ending its stream.
    relay.abort();
    let _ = relay.await;
    app.assert_no_blobs().await;
    let outcome = call.await.expect("client task");
    assert!(outcome.is_err(), "the cut call cannot have succeeded: {outcome:?}");
    drop(tx);
    assert_eq!(app.counts().await, before, "no row, event or audit entry");
}

/// The stream's shape is checked: the header comes first and only once, and
/// a file with no bytes is refused.
#[tokio::test]
async fn malformed_upload_streams_are_refused() {
    let app = TestApp::start().await;
    let t = app.tenant("agency-a").await;
    let admin = app.admin(&t).await;
    let citizen = app.citizen(&admin, "Петров").await;
    let mut files = admin.files.clone();
    let before = app.counts().await;
    // No message at all: the header (its citizen) is missing.
    let empty: Vec<pb::UploadFileRequest> = Vec::new();
    expect_invalid(files.upload_file(futures::stream::iter(empty)).await, "citizen_id");
    expect_invalid(upload(&admin.files, header(citizen, "a.pdf"), b"").await, "chunk");
    let mut msgs = messages(header(citizen, "a.pdf"), &samples::pdf(30 * 1024), 8 * 1024);
    msgs[2].original_name = "другое.pdf".into();
    expect_invalid(files.upload_file(futures::stream::iter(msgs)).await, "original_name");
    let mut head = header(citizen, "a.pdf");
    head.citizen_id = "кто-то".into();
    expect_invalid(upload(&admin.files, head, &samples::pdf(10)).await, "citizen_id");
    app.assert_no_blobs().await;
    assert_eq!(app.counts().await, before);
}

/// ListFiles (S0-86 «Файлы пользователя»): a citizen's files, newest first,
/// page by page with a total.
#[tokio::test]
async fn a_citizens_files_list_newest_first_in_pages() {
    let app = TestApp::start().await;
    let t = app.tenant("agency-a").await;
    let admin = app.admin(&t).await;
    let (ivanov, petrov) = (app.citizen(&admin, "Иванов").await, app.citizen(&admin, "Петров").await);
    let mut ids = Vec::new();
    for i in 0..5 {
        let f = upload(&admin.files, header(ivanov, &format!("{i}.pdf")), &samples::pdf(100 + i)).await.unwrap();
        ids.push(f.id);
        app.clock.advance(chrono::Duration::seconds(1));
    }
    upload(&admin.files, header(petrov, "p.pdf"), &samples::pdf(100)).await.unwrap();
    ids.reverse();

    let mut files = admin.files.clone();
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let req = pb::ListFilesRequest {
            citizen_id: ivanov.to_string(),
            page_size: 2,
            page_token: token.clone(),
            ..Default::default()
        };
        let page = files.list_files(req).await.unwrap().into_inner();
        assert_eq!(page.total_size, 5);
        assert!(page.files.iter().all(|f| f.citizen_id == ivanov.to_string()));
        seen.extend(page.files.into_iter().map(|f| f.id));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(seen, ids, "newest first, each once");
    let all = files.list_files(pb::ListFilesRequest::default()).await.unwrap().into_inner();
    assert_eq!(all.total_size, 6);
    let bad = pb::ListFilesRequest { page_token: "мусор".into(), ..Default::default() };
    expect_invalid(files.list_files(bad).await, "page_token");
    expect_code(files.get_file(pb::GetFileRequest { id: Uuid::now_v7().to_string() }).await, Code::NotFound);
    expect_code(download(&admin.files, &Uuid::now_v7().to_string()).await, Code::NotFound);
}

/// S0-106: the curator sets or changes the type later; who and when are kept.
#[tokio::test]
async fn a_curator_sets_the_type_later() {
    let app = TestApp::start().await;
    let t = app.tenant("agency-a").await;
    let admin = app.admin(&t).await;
    let curator = app.staff(&t, &admin, "kuratova", Role::Curator).await;
    let citizen = app.citizen(&admin, "Петров").await;
    app.curate(&t, citizen, &curator).await;
    let mut af = admin.files.clone();
    let bill = af.create_file_type(pb::CreateFileTypeRequest { name: "Счёт".into() }).await.unwrap().into_inner();
    let file = upload(&curator.files, header(citizen, "a.pdf"), &samples::pdf(100)).await.unwrap();
    assert!(file.file_type_id.is_empty() && file.type_changed_at.is_none());

    let mut cf = curator.files.clone();
    let set = pb::SetFileTypeRequest { id: file.id.clone(), file_type_id: bill.id.clone() };
    let changed = cf.set_file_type(set).await.unwrap().into_inner();
    assert_eq!((changed.file_type_id.as_str(), changed.file_type_name.as_str()), (bill.id.as_str(), "Счёт"));
    assert_eq!(changed.type_changed_by, curator.account_id.to_string());
    assert!(changed.type_changed_at.is_some());
    let by_type = pb::ListFilesRequest { file_type_id: bill.id.clone(), ..Default::default() };
    assert_eq!(cf.list_files(by_type).await.unwrap().into_inner().total_size, 1);

    let unknown = pb::SetFileTypeRequest { id: file.id.clone(), file_type_id: Uuid::now_v7().to_string() };
    expect_invalid(cf.set_file_type(unknown).await, "file_type_id");
    let missing = pb::SetFileTypeRequest { id: Uuid::now_v7().to_string(), file_type_id: bill.id.clone() };
    expect_code(cf.set_file_type(missing).await, Code::NotFound);
    let cleared = cf.set_file_type(pb::SetFileTypeRequest { id: file.id.clone(), ..Default::default() }).await;
    assert_eq!(cleared.unwrap().into_inner().file_type_id, "");
}
