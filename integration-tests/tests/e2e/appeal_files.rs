//! Documents and photos on an appeal (issue 5 point 1; S1-38, S1-2) through the gateway, as a browser
//! without JavaScript sends them: the executor's «Отметить исполнение» form posts a photo and a PDF as
//! `multipart/form-data`; the gateway streams them to files as the appeal's and sends their ids with
//! the step; cases keeps their names. The curator's card lists both and downloads the same bytes; a
//! comment carries a file into «Ход решения»; a file files refuses is named beside the file input
//! and nothing happens to the card; an executor of another organisation gets neither card nor file.
use opeka_integration_tests::web::{base, csrf, get, post, signed_in, unescape};
use opeka_integration_tests::{PASSWORD, Suite};
use opeka_proto::cases::appeals_service_client::AppealsServiceClient;
use opeka_proto::cases::{AppealCitizen, AppealGeography, CreateAppealRequest, ImportReferenceNodesRequest};
use opeka_proto::cases::{ListReferenceNodesRequest, ReferenceNode};
use opeka_proto::identity::{CreateOrganisationRequest, CreateStaffAccountRequest, OrganisationKind, Role};
use opeka_testkit::Service;
use reqwest::{Client, StatusCode};

fn jpeg() -> Vec<u8> {
    let mut v = vec![0xff, 0xd8, 0xff, 0xe0, 0, 0x10, b'J', b'F', b'I', b'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0];
    v.extend((0..4000u32).map(|i| (i % 251) as u8));
    v.extend_from_slice(&[0xff, 0xd9]);
    v
}

fn pdf() -> Vec<u8> {
    let mut v = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n".to_vec();
    while v.len() < 150_000 {
        v.extend_from_slice(b"% a line of the act of completed works\n");
    }
    v.extend_from_slice(b"trailer << /Root 1 0 R >>\n%%EOF\n");
    v
}

async fn organisation(s: &Suite, admin: &str, name: &str) -> String {
    let msg = CreateOrganisationRequest {
        name: name.into(),
        kind: OrganisationKind::ExecutiveBody as i32,
        parent_id: String::new(),
    };
    s.identity().create_organisation(s.request(admin, msg)).await.expect("organisation").into_inner().id
}

async fn staff(s: &Suite, admin: &str, login: &str, role: Role, org: &str) {
    let msg = CreateStaffAccountRequest {
        surname: "Сотрудникова".into(),
        name: "Анна".into(),
        login: login.into(),
        password: PASSWORD.into(),
        password_repeat: PASSWORD.into(),
        roles: vec![role as i32],
        organisation_id: org.into(),
        ..Default::default()
    };
    s.identity().create_staff_account(s.request(admin, msg)).await.expect("create staff");
}

/// A card routed to `org`, taken in by the admin (a region loaded first: intake needs one).
async fn appeal(s: &Suite, admin: &str, org: &str) -> String {
    let mut a = AppealsServiceClient::new(s.channel(Service::Cases));
    let node = |level: &str, code: &str, name: &str, parent: &str| ReferenceNode {
        level: level.into(),
        code: code.into(),
        name: name.into(),
        parent_code: parent.into(),
        ..Default::default()
    };
    let nodes = vec![
        node("federal_district", "cfd", "Центральный федеральный округ", ""),
        node("region", "msk", "Москва", "cfd"),
    ];
    let msg = ImportReferenceNodesRequest { tree: "geography".into(), nodes };
    a.import_reference_nodes(s.request(admin, msg)).await.expect("import geography");
    let msg = ListReferenceNodesRequest { tree: "geography".into(), parent_id: String::new(), ..Default::default() };
    let nodes = a.list_reference_nodes(s.request(admin, msg)).await.expect("geography").into_inner().nodes;
    let msk = nodes.into_iter().find(|n| n.code == "msk").expect("Москва").id;
    let msg = CreateAppealRequest {
        citizen: Some(AppealCitizen {
            full_name: "Иванова Мария Петровна".into(),
            email: String::new(),
            phone: "+7 (917) 561-89-18".into(),
        }),
        geography: Some(AppealGeography { region_id: msk, ..Default::default() }),
        executor_org_id: org.into(),
        channel: "call_centre".into(),
        text: "Прошу установить пандус у подъезда".into(),
        ..Default::default()
    };
    a.create_appeal(s.request(admin, msg)).await.expect("create appeal").into_inner().id
}

/// A `multipart/form-data` body as a browser builds it: text fields, then files
/// (input name, file name, content type, bytes). Returns the content type and the body.
fn multipart(fields: &[(&str, &str)], files: &[(&str, &str, &str, Vec<u8>)]) -> (String, Vec<u8>) {
    let boundary = format!("----OpekaFormBoundary{}", uuid::Uuid::new_v4().simple());
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
        );
    }
    for (input, file_name, content_type, bytes) in files {
        let head = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{input}\"; filename=\"{file_name}\"\r\nContent-Type: {content_type}\r\n\r\n"
        );
        body.extend_from_slice(head.as_bytes());
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn post_multipart(c: &Client, url: &str, body: (String, Vec<u8>)) -> (StatusCode, String) {
    let r = c.post(url).header("content-type", body.0).body(body.1).send().await.expect("POST");
    (r.status(), r.text().await.expect("body"))
}

/// The value of the first hidden input `name` of a page.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no {name} in:\n{html}")) + marker.len();
    unescape(&html[start..start + html[start..].find('"').expect("value ends")])
}

/// The download links of a card page: (href, file name), in page order.
fn links(html: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(at) = rest.find("<a class=\"attachment\" href=\"") {
        rest = &rest[at + "<a class=\"attachment\" href=\"".len()..];
        let href = unescape(&rest[..rest.find('"').expect("href ends")]);
        let open = rest.find('>').expect("tag ends") + 1;
        let name = unescape(&rest[open..open + rest[open..].find('<').expect("name ends")]);
        out.push((href, name));
    }
    out
}

// S1-38 (issue 5 point 1): the executor marks the card done with a photo and a PDF; the curator's
// card shows both and downloads exactly the bytes sent; a comment carries a file as well.
#[tokio::test]
async fn s1_38_the_executor_attaches_a_photo_and_a_pdf_the_curator_downloads_them() {
    let s = Suite::start().await;
    let admin = s.admin_token().await;
    let org = organisation(&s, &admin, "Министерство социальной защиты").await;
    let other_org = organisation(&s, &admin, "Комитет по здравоохранению").await;
    staff(&s, &admin, "exec1", Role::Executor, &org).await;
    staff(&s, &admin, "exec-other", Role::Executor, &other_org).await;
    staff(&s, &admin, "cur", Role::Curator, "").await;
    let id = appeal(&s, &admin, &org).await;
    let card_url = format!("{}/appeals/{id}", base(&s));
    let act_url = format!("{card_url}/act");

    let e = signed_in(&s, "exec1", PASSWORD).await;
    let card = get(&e, &card_url).await;
    let token = csrf(&card.html);
    let took =
        post(&e, &act_url, &[("csrf", &token), ("action", "take"), ("request_id", &uuid::Uuid::new_v4().to_string())])
            .await;
    assert_eq!(took.status, StatusCode::OK, "{}", took.html);
    assert!(took.html.contains("enctype=\"multipart/form-data\""), "the mark-done form takes files");
    assert!(took.html.contains("name=\"file_ids\" type=\"file\" multiple"), "a file input for photos and documents");

    // A file files refuses (a program, whatever its name says) is named beside the input and the step
    // waits; the photo sent with it is already stored and goes again with the reopened form.
    let (photo, act) = (jpeg(), pdf());
    let exe = [b"MZ".to_vec(), vec![0x90; 0x3a], vec![0x40, 0, 0, 0], b"PE\0\0".to_vec(), vec![0; 600]].concat();
    let rid = uuid::Uuid::new_v4().to_string();
    let fields = [
        ("csrf", token.as_str()),
        ("request_id", &rid),
        ("action", "mark_done"),
        ("solution", "Пандус установлен, фото и акт приложены"),
        ("answer", "Заявителю сообщили"),
    ];
    let files =
        [("file_ids", "пандус.jpg", "image/jpeg", photo.clone()), ("file_ids", "акт.pdf", "application/pdf", exe)];
    let (status, html) = post_multipart(&e, &act_url, multipart(&fields, &files)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{html}");
    assert!(html.contains("id=\"e-mark_done-file_ids\">«акт.pdf»: Файлы"), "the refusal names the file: {html}");
    assert!(html.contains("Пандус установлен, фото и акт приложены</textarea>"), "what was typed is kept");
    let kept_id = hidden(&html, "kept_id");
    assert_eq!(hidden(&html, "kept_name"), "пандус.jpg");
    assert!(get(&e, &card_url).await.html.contains(">В работе<"), "the card did not move");

    // «Отметить исполнение» again: the kept photo and the PDF.
    let rid = uuid::Uuid::new_v4().to_string();
    let mut fields = fields.to_vec();
    fields[1] = ("request_id", &rid);
    fields.extend([("kept_id", kept_id.as_str()), ("kept_name", "пандус.jpg")]);
    let files = [("file_ids", "акт выполненных работ.pdf", "application/pdf", act.clone())];
    let (status, html) = post_multipart(&e, &act_url, multipart(&fields, &files)).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("Исполнено, на проверке у куратора"), "{html}");

    // A comment with a photo goes into «Ход решения» with its link.
    let rid = uuid::Uuid::new_v4().to_string();
    let fields = [("csrf", token.as_str()), ("request_id", &rid), ("text", "Фото после установки")];
    let files =
        [("file_ids", "после.jpg", "image/jpeg", photo.clone()), ("file_ids", "", "application/octet-stream", vec![])];
    let (status, html) = post_multipart(&e, &format!("{card_url}/comments"), multipart(&fields, &files)).await;
    assert_eq!(status, StatusCode::OK, "{html}");

    // The curator's card: both names of the solution, the comment's photo, and the same bytes back.
    let cur = signed_in(&s, "cur", PASSWORD).await;
    let page = get(&cur, &card_url).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    let found = links(&page.html);
    let names: Vec<&str> = found.iter().map(|(_, n)| n.as_str()).collect();
    // The solution's files under «Информация об исполнителе», again on the solution's line of
    // «Ход решения», then the comment's photo.
    let solution = ["пандус.jpg", "акт выполненных работ.pdf"];
    assert_eq!(names, [&solution[..], &solution[..], &["после.jpg"]].concat(), "{}", page.html);
    assert_eq!(found[0].0, found[2].0, "one file, one link");
    let wanted = [(&photo, "image/jpeg"), (&act, "application/pdf"), (&photo, "image/jpeg")];
    for ((href, name), (want, content_type)) in [&found[0], &found[1], &found[4]].into_iter().zip(wanted) {
        assert!(href.starts_with(&format!("/t/{}/appeals/{id}/files/", s.tenant)), "{href}");
        let r = cur.get(format!("{}{href}", s.url(Service::Gateway))).send().await.expect("download");
        assert_eq!(r.status(), StatusCode::OK, "{name}");
        assert_eq!(r.headers()["content-type"], content_type, "{name}");
        let disposition = r.headers()["content-disposition"].to_str().expect("ascii").to_string();
        assert!(disposition.starts_with("attachment; filename*=UTF-8''"), "{disposition}");
        assert_eq!(&r.bytes().await.expect("bytes")[..], &want[..], "{name} comes back byte for byte");
    }

    // An executor of another organisation: neither the card nor its files.
    let stranger = signed_in(&s, "exec-other", PASSWORD).await;
    assert_eq!(get(&stranger, &card_url).await.status, StatusCode::NOT_FOUND);
    let r = stranger.get(format!("{}{}", s.url(Service::Gateway), found[1].0)).send().await.expect("download");
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}
