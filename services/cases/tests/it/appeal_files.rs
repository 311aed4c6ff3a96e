//! Attachments of appeals (issue 5 point 1; S1-38, S1-2): the executor's solution and comments
//! carry files uploaded to the files service for that appeal. Cases looks each one up in files
//! with the caller's own token and keeps its original name; a file of another appeal, of a
//! citizen, or one that does not exist is a field violation naming its place in the request.
use opeka_proto::cases::{self as pb, act_on_appeal_request::Action};
use opeka_proto::files::{self as fpb, files_service_client::FilesServiceClient};
use opeka_proto::identity as idpb;
use opeka_testkit::{Authed, Service};
use tonic::Status;

use crate::appeals::{Desk, Person, none};
use crate::helpers::{PASSWORD, expect_invalid};

type Files = FilesServiceClient<Authed>;

/// A files client for `login` (signed in again: `Person` keeps no token).
async fn files_of(d: &Desk, login: &str) -> Files {
    let pair = d.app.sandbox.sign_in(&d.t.slug, login, PASSWORD).await;
    FilesServiceClient::new(d.app.sandbox.authed(Service::Files, &pair.access_token, &d.t.slug))
}

fn pdf() -> Vec<u8> {
    b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n".to_vec()
}

fn png() -> Vec<u8> {
    let mut v = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, b'I', b'H', b'D', b'R'];
    v.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0, 0x90, 0x77, 0x53, 0xde]);
    v
}

/// Uploads `content` as a file of appeal `appeal_id` (or, with `citizen`, of that citizen).
async fn upload(files: &Files, owner: (&str, &str), name: &str, content: Vec<u8>) -> fpb::File {
    let (field, id) = owner;
    let mut m = fpb::UploadFileRequest { original_name: name.into(), chunk: content, ..Default::default() };
    match field {
        "appeal" => m.appeal_id = id.into(),
        _ => m.citizen_id = id.into(),
    }
    files.clone().upload_file(futures::stream::iter(vec![m])).await.expect("upload").into_inner()
}

fn done(file_ids: Vec<String>) -> Action {
    Action::MarkDone(pb::MarkDoneAction {
        solution: "Пандус установлен, фото и акт приложены".into(),
        answer: "Заявителю сообщили".into(),
        file_ids,
    })
}

async fn comment(p: &Person, appeal_id: &str, file_ids: Vec<String>) -> Result<pb::AppealTimelineEntry, Status> {
    let req = pb::AddAppealCommentRequest {
        appeal_id: appeal_id.into(),
        text: "Фото до ремонта".into(),
        file_ids,
        request_id: String::new(),
    };
    p.appeals.clone().add_appeal_comment(req).await.map(|r| r.into_inner())
}

fn names(v: &[pb::AppealAttachment]) -> Vec<&str> {
    v.iter().map(|a| a.name.as_str()).collect()
}

// S1-38 (issue 5 point 1): «Отметить исполнение» with the appeal's own photo and document keeps
// their ids and original names; another appeal's file, a citizen's file and an unknown id are
// refused as `mark_done.file_ids[i]` and the card stays «В работе».
#[tokio::test]
async fn s1_38_mark_done_keeps_the_names_of_the_appeals_own_files_only() {
    let d = Desk::start().await;
    let a = d.executor("exec-a", "Агеева").await;
    let files = files_of(&d, "exec-a").await;
    let admin_files = files_of(&d, "root").await;
    let card = d.routed("Иванов Иван").await;
    let other = d.routed("Петров Пётр").await;
    a.act(&card.id, Action::Take(none())).await.expect("take");

    let photo = upload(&files, ("appeal", &card.id), "фото подъезда.png", png()).await;
    let act = upload(&files, ("appeal", &card.id), "акт выполненных работ.pdf", pdf()).await;
    let foreign = upload(&files, ("appeal", &other.id), "чужой акт.pdf", pdf()).await;
    let citizens = upload(&admin_files, ("citizen", &uuid::Uuid::now_v7().to_string()), "паспорт.pdf", pdf()).await;

    let refused = a.act(&card.id, done(vec![act.id.clone(), foreign.id.clone()])).await;
    expect_invalid(refused, "mark_done.file_ids[1]");
    let refused = a.act(&card.id, done(vec![citizens.id.clone()])).await;
    expect_invalid(refused, "mark_done.file_ids[0]");
    let refused = a.act(&card.id, done(vec![photo.id.clone(), uuid::Uuid::now_v7().to_string()])).await;
    expect_invalid(refused, "mark_done.file_ids[1]");
    let now = a.get(&card.id).await.expect("card");
    assert_eq!((now.status_label.as_str(), now.solution_attachments.len()), ("В работе", 0));

    // A repeated id is kept once.
    let ids = vec![photo.id.clone(), act.id.clone(), photo.id.clone()];
    let review = a.act(&card.id, done(ids)).await.expect("mark done");
    assert_eq!(review.status_label, "Исполнено, на проверке у куратора");
    assert_eq!(names(&review.solution_attachments), ["фото подъезда.png", "акт выполненных работ.pdf"]);
    let ids: Vec<&str> = review.solution_attachments.iter().map(|x| x.file_id.as_str()).collect();
    assert_eq!(ids, [photo.id.as_str(), act.id.as_str()]);
    // The curator reviewing the card sees the same (S1-38: the solution's media on the card).
    let curator = d.person("kurator", "Кураторова", &[idpb::Role::Curator], None).await;
    let seen = curator.get(&card.id).await.expect("curator opens the card");
    assert_eq!(names(&seen.solution_attachments), ["фото подъезда.png", "акт выполненных работ.pdf"]);
}

// S1-31, S1-38: a comment carries the appeal's files with their names into «Ход решения»; a
// file of another appeal is refused as `file_ids[i]` and no comment is added.
#[tokio::test]
async fn s1_38_comments_carry_the_appeals_files() {
    let d = Desk::start().await;
    let a = d.executor("exec-a", "Агеева").await;
    let files = files_of(&d, "exec-a").await;
    let card = d.routed("Иванов Иван").await;
    let other = d.routed("Петров Пётр").await;
    a.act(&card.id, Action::Take(none())).await.expect("take");
    let photo = upload(&files, ("appeal", &card.id), "до ремонта.png", png()).await;
    let foreign = upload(&files, ("appeal", &other.id), "чужое.png", png()).await;

    expect_invalid(comment(&a, &card.id, vec![photo.id.clone(), foreign.id.clone()]).await, "file_ids[1]");
    expect_invalid(comment(&a, &card.id, vec!["не файл".into()]).await, "file_ids[0]");
    assert!(a.timeline(&card.id).await.iter().all(|e| e.kind != "comment"), "nothing was posted");

    let posted = comment(&a, &card.id, vec![photo.id.clone()]).await.expect("comment with a photo");
    assert_eq!(names(&posted.attachments), ["до ремонта.png"]);
    let line = a.timeline(&card.id).await.into_iter().find(|e| e.kind == "comment").expect("the comment");
    assert_eq!(
        (line.attachments[0].file_id.as_str(), names(&line.attachments)),
        (photo.id.as_str(), vec!["до ремонта.png"])
    );
}
