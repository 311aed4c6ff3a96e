//! «Перевести выбранных пользователей другому соц. куратору» (S0-115…S0-117):
//! admin only, all or nothing.
use opeka_proto::cases as pb;
use opeka_proto::events::envelope::Body;
use opeka_proto::identity as idpb;
use tonic::Code;

use crate::helpers::{TestApp, citizen, expect_code, expect_invalid};

/// S0-115, S0-116, S0-117: the selected citizens move to the chosen curator;
/// the registry's «Соц. куратор» column shows the new one.
#[tokio::test]
async fn an_admin_transfers_selected_citizens_to_another_curator() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let a = app.curator(&t, "kuratova", "Куратова").await;
    let b = app.curator(&t, "drugova", "Другова").await;
    let mut ids = Vec::new();
    for surname in ["Альфа", "Бета", "Гамма"] {
        ids.push(a.cases.clone().create_citizen(citizen(surname, "Тест")).await.unwrap().into_inner().id);
    }
    let mut events = app.sandbox.events("cases", &t.slug, "citizens_transferred").await;
    let mut admin = t.admin.cases.clone();
    let req = pb::TransferCitizensRequest { citizen_ids: ids[..2].to_vec(), to_curator_id: b.id.clone() };
    let done = admin.transfer_citizens(req).await.expect("transfer").into_inner();
    assert_eq!(done.transferred, 2);

    let list = admin.list_citizens(pb::ListCitizensRequest::default()).await.unwrap().into_inner();
    let curators: Vec<(&str, &str)> =
        list.citizens.iter().map(|c| (c.surname.as_str(), c.curator_id.as_str())).collect();
    assert_eq!(curators, [("Альфа", b.id.as_str()), ("Бета", b.id.as_str()), ("Гамма", a.id.as_str())]);
    // The new curator now works on them; the old one no longer sees them.
    let theirs = b.cases.clone().list_citizens(pb::ListCitizensRequest::default()).await.unwrap().into_inner();
    assert_eq!(theirs.total_size, 2);
    expect_code(a.cases.clone().get_citizen(pb::GetCitizenRequest { id: ids[0].clone() }).await, Code::NotFound);

    let ev = events.next().await;
    let Some(Body::CitizensTransferred(body)) = ev.body else { panic!("citizens_transferred expected") };
    assert_eq!(body.citizen_ids, ids[..2].to_vec());
    assert_eq!((body.from_curator_id, body.to_curator_id), (a.id.clone(), b.id.clone()));
    let audit = admin
        .list_audit_events(pb::ListAuditEventsRequest { citizen_id: ids[0].clone(), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(audit.events[0].action, "citizen.transfer");
    assert_eq!(audit.events[0].fields, ["curator_id"]);

    // Transferring to the curator they already have changes nothing.
    let again = pb::TransferCitizensRequest { citizen_ids: ids[..2].to_vec(), to_curator_id: b.id.clone() };
    assert_eq!(admin.transfer_citizens(again).await.unwrap().into_inner().transferred, 0);
}

/// S0-115: one unknown, deleted or malformed id, a target that is not a
/// curator, or a caller who is not an admin — and nothing moves.
#[tokio::test]
async fn a_transfer_with_one_bad_id_moves_nothing() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let a = app.curator(&t, "kuratova", "Куратова").await;
    let b = app.curator(&t, "drugova", "Другова").await;
    let executor = app.staff_member(&t, "ispolnitel", "Исполнитель", &[idpb::Role::Executor]).await;
    let mut ids = Vec::new();
    for surname in ["Альфа", "Бета"] {
        ids.push(a.cases.clone().create_citizen(citizen(surname, "Тест")).await.unwrap().into_inner().id);
    }
    let mut admin = t.admin.cases.clone();
    let deleted = admin.create_citizen(citizen("Удалённая", "Тест")).await.unwrap().into_inner().id;
    admin.delete_citizen(pb::DeleteCitizenRequest { id: deleted.clone() }).await.unwrap();
    let before = app.snapshot().await;

    let with = |extra: &str, to: &str| pb::TransferCitizensRequest {
        citizen_ids: vec![ids[0].clone(), extra.to_string(), ids[1].clone()],
        to_curator_id: to.to_string(),
    };
    expect_code(admin.transfer_citizens(with(&uuid::Uuid::now_v7().to_string(), &b.id)).await, Code::NotFound);
    expect_code(admin.transfer_citizens(with(&deleted, &b.id)).await, Code::NotFound);
    expect_invalid(admin.transfer_citizens(with("не-идентификатор", &b.id)).await, "citizen_ids[1]");
    expect_invalid(admin.transfer_citizens(with(&ids[0], &executor.id)).await, "to_curator_id");
    expect_invalid(admin.transfer_citizens(with(&ids[0], "")).await, "to_curator_id");
    let empty = pb::TransferCitizensRequest { citizen_ids: vec![], to_curator_id: b.id.clone() };
    expect_invalid(admin.transfer_citizens(empty).await, "citizen_ids");
    // Curators do not transfer, not even their own citizens.
    expect_code(a.cases.clone().transfer_citizens(with(&ids[0], &b.id)).await, Code::PermissionDenied);
    assert_eq!(app.snapshot().await, before, "nothing moved");
}
