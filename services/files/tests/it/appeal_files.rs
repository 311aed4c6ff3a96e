//! Files of appeals (issue 5 point 1; S1-38, S1-2): documents and photos on an executor's solution
//! and on comments belong to the appeal, not to a citizen. Whoever uploads, reads or downloads
//! them, files first asks cases — with the caller's own token — whether it shows the caller that
//! appeal: the executor of the appeal's organisation may, an executor of another one may not and
//! learns nothing. Exactly one owner per file. The intake rules (sniffing, types, limits) are the
//! same as for a citizen's files.
use opeka_proto::files as pb;
use opeka_proto::identity::Role;
use tonic::Code;
use uuid::Uuid;

use crate::helpers::{TestApp, appeal_header, download, expect_code, expect_invalid, header, samples, upload};

// S1-38: the executor who sees the appeal attaches a photo and a PDF; they read them back.
// An executor of another organisation is refused at upload, and for reading the files are
// «not found» to them. Nothing of a refused upload is stored; no `file_received` is published.
#[tokio::test]
async fn s1_38_the_executor_who_sees_the_appeal_attaches_files_another_organisation_cannot() {
    let app = TestApp::start_with_cases().await;
    let t = app.tenant("agency-a").await;
    let admin = app.admin(&t).await;
    let org = app.organisation(&admin, "Министерство социальной защиты").await;
    let org_b = app.organisation(&admin, "Комитет по здравоохранению").await;
    let mine = app.staff_in(&t, &admin, "exec-a", Role::Executor, &org).await;
    let stranger = app.staff_in(&t, &admin, "exec-b", Role::Executor, &org_b).await;
    let appeal = app.appeal(&t, &admin, &org).await;

    let photo = upload(&mine.files, appeal_header(&appeal, "фото подъезда.png"), &samples::png()).await.expect("photo");
    let pdf = upload(&mine.files, appeal_header(&appeal, "акт.pdf"), &samples::pdf(3000)).await.expect("pdf");
    assert_eq!((photo.appeal_id.as_str(), photo.citizen_id.as_str()), (appeal.as_str(), ""));
    assert_eq!((photo.content_type.as_str(), pdf.content_type.as_str()), ("image/png", "application/pdf"));
    assert_eq!((pdf.uploaded_by.clone(), pdf.channel), (mine.account_id.to_string(), pb::Channel::Web as i32));

    let (meta, bytes, _) = download(&mine.files, &pdf.id).await.expect("the executor downloads");
    assert_eq!((meta.original_name.as_str(), bytes), ("акт.pdf", samples::pdf(3000)));
    let got = mine.files.clone().get_file(pb::GetFileRequest { id: photo.id.clone() }).await.expect("get");
    assert_eq!(got.into_inner().original_name, "фото подъезда.png");
    let listed = mine
        .files
        .clone()
        .list_files(pb::ListFilesRequest { appeal_id: appeal.clone(), ..Default::default() })
        .await
        .expect("the appeal's files")
        .into_inner();
    assert_eq!(
        listed.files.iter().map(|f| f.original_name.as_str()).collect::<Vec<_>>(),
        ["акт.pdf", "фото подъезда.png"]
    );

    // Another organisation's executor: refused, and told nothing about the card or its files.
    let refused = upload(&stranger.files, appeal_header(&appeal, "чужое.pdf"), &samples::pdf(100)).await;
    expect_invalid(refused, "appeal_id");
    expect_code(stranger.files.clone().get_file(pb::GetFileRequest { id: pdf.id.clone() }).await, Code::NotFound);
    expect_code(download(&stranger.files, &pdf.id).await, Code::NotFound);
    let list = pb::ListFilesRequest { appeal_id: appeal.clone(), ..Default::default() };
    expect_invalid(stranger.files.clone().list_files(list).await, "appeal_id");
    // An appeal that does not exist is the same answer.
    let unknown = upload(&mine.files, appeal_header(&Uuid::now_v7().to_string(), "x.pdf"), &samples::pdf(100)).await;
    expect_invalid(unknown, "appeal_id");

    // Appeal files are not a citizen's: the tenant-wide list (curators, admins) leaves them out,
    // no `file_received` went to the outbox, and the refused uploads left no row and no blob.
    let all = admin.files.clone().list_files(pb::ListFilesRequest::default()).await.expect("list").into_inner();
    assert_eq!(all.total_size, 0);
    let counts = app.counts().await;
    assert_eq!((counts[1], counts[3]), (("files", 2), ("outbox", 0)));
    blobs_settle_at(&app, 2).await;
}

// S1-38: exactly one owner — a citizen or an appeal; both, neither or a malformed id is a field
// violation before anything is stored. An executor still cannot touch a citizen's files.
#[tokio::test]
async fn s1_38_a_file_has_exactly_one_owner() {
    let app = TestApp::start_with_cases().await;
    let t = app.tenant("agency-a").await;
    let admin = app.admin(&t).await;
    let org = app.organisation(&admin, "Министерство социальной защиты").await;
    let executor = app.staff_in(&t, &admin, "exec-a", Role::Executor, &org).await;
    let appeal = app.appeal(&t, &admin, &org).await;
    let citizen = app.citizen(&admin, "Петров").await;

    let both = pb::UploadFileRequest { citizen_id: citizen.to_string(), ..appeal_header(&appeal, "a.pdf") };
    expect_invalid(upload(&admin.files, both.clone(), &samples::pdf(100)).await, "appeal_id");
    expect_invalid(upload(&executor.files, both, &samples::pdf(100)).await, "appeal_id");
    let neither = pb::UploadFileRequest { original_name: "a.pdf".into(), ..Default::default() };
    expect_invalid(upload(&admin.files, neither, &samples::pdf(100)).await, "citizen_id");
    expect_invalid(upload(&admin.files, appeal_header("№ 12", "a.pdf"), &samples::pdf(100)).await, "appeal_id");
    let list =
        pb::ListFilesRequest { citizen_id: citizen.to_string(), appeal_id: appeal.clone(), ..Default::default() };
    expect_invalid(admin.files.clone().list_files(list).await, "appeal_id");

    // The same intake rules as a citizen's file: a program is refused by its bytes.
    expect_invalid(upload(&executor.files, appeal_header(&appeal, "акт.pdf"), &samples::exe(4096)).await, "chunk");
    // An executor uploads to appeals only; a citizen's file stays out of reach.
    let denied = upload(&executor.files, header(citizen, "справка.pdf"), &samples::pdf(100)).await;
    expect_code(denied, Code::PermissionDenied);
    let theirs = upload(&admin.files, header(citizen, "справка.pdf"), &samples::pdf(100)).await.expect("admin");
    expect_code(executor.files.clone().get_file(pb::GetFileRequest { id: theirs.id }).await, Code::PermissionDenied);
    // The admin (a workflow role too) attaches to the appeal; only the two good files exist.
    upload(&admin.files, appeal_header(&appeal, "ответ.docx.pdf"), &samples::pdf(100)).await.expect("admin attaches");
    assert_eq!(app.count_files().await, 2);
    blobs_settle_at(&app, 2).await;
}

/// Waits until exactly `n` blobs are stored (an aborted upload is cleaned up in the background).
async fn blobs_settle_at(app: &TestApp, n: usize) {
    for _ in 0..100 {
        if app.stored_blobs().len() == n {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("expected {n} blobs, found {:?}", app.stored_blobs());
}
