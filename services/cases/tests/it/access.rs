//! Who sees and changes which card (DESIGN.md §3; S0-1, S0-2, S0-26):
//! curators work on their own citizens; another curator's card answers
//! NOT_FOUND (its existence is not revealed) unless the tenant lets curators
//! read the whole registry, when it is readable but PERMISSION_DENIED to
//! change; personal data is shown only to the card's curator and admins.
use opeka_proto::cases as pb;
use opeka_proto::identity as idpb;
use tonic::Code;

use crate::helpers::{TestApp, citizen, expect_code, inn, update_from};

#[tokio::test]
async fn a_curator_neither_sees_nor_changes_another_curators_citizen() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let a = app.curator(&t, "kuratova", "Куратова").await;
    let b = app.curator(&t, "drugova", "Другова").await;
    let mine = a.cases.clone().create_citizen(citizen("Иванова", "Мария")).await.unwrap().into_inner();
    let theirs = b.cases.clone().create_citizen(citizen("Петрова", "Ольга")).await.unwrap().into_inner();
    let before = app.snapshot().await;
    let mut c = a.cases.clone();

    let id = theirs.id.clone();
    expect_code(c.get_citizen(pb::GetCitizenRequest { id: id.clone() }).await, Code::NotFound);
    let mut up = update_from(&theirs);
    up.situation = "Чужая правка".into();
    expect_code(c.update_citizen(up).await, Code::NotFound);
    let diary = pb::AddDiaryEntryRequest { citizen_id: id.clone(), text: "Заметка".into() };
    expect_code(c.add_diary_entry(diary).await, Code::NotFound);
    expect_code(
        c.list_diary_entries(pb::ListDiaryEntriesRequest { citizen_id: id.clone(), ..Default::default() }).await,
        Code::NotFound,
    );
    let add = pb::AddInteractionRequest { citizen_id: id.clone(), result: "Звонок".into() };
    expect_code(c.add_interaction(add).await, Code::NotFound);
    expect_code(
        c.list_interactions(pb::ListInteractionsRequest { citizen_id: id.clone(), ..Default::default() }).await,
        Code::NotFound,
    );
    expect_code(c.get_citizen_bot_link(pb::GetCitizenBotLinkRequest { citizen_id: id.clone() }).await, Code::NotFound);
    let ext = pb::ExtendCitizenBotLinkRequest { citizen_id: id.clone() };
    expect_code(c.extend_citizen_bot_link(ext).await, Code::NotFound);
    assert_eq!(app.snapshot().await, before, "nothing changed, not even an audit entry");

    // The registry shows only one's own, whatever the filter says.
    let all = c.list_citizens(pb::ListCitizensRequest::default()).await.unwrap().into_inner();
    assert_eq!(all.citizens.iter().map(|x| x.id.as_str()).collect::<Vec<_>>(), [mine.id.as_str()]);
    let theirs_filter = pb::ListCitizensRequest { curator_id: b.id.clone(), ..Default::default() };
    assert_eq!(c.list_citizens(theirs_filter).await.unwrap().into_inner().total_size, 0);
    let by_name = pb::ListCitizensRequest { name_query: "петрова".into(), ..Default::default() };
    assert_eq!(c.list_citizens(by_name).await.unwrap().into_inner().total_size, 0);
}

/// S0-2 (tenant setting) and DESIGN.md §3 (personal data): with
/// `curators_read_all` a curator reads every card, without INN, birth date,
/// phone and e-mail of others' citizens, and still changes only their own.
#[tokio::test]
async fn curators_read_all_opens_the_registry_read_only_without_personal_data() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let a = app.curator(&t, "kuratova", "Куратова").await;
    let b = app.curator(&t, "drugova", "Другова").await;
    let full = pb::CreateCitizenRequest {
        inn: inn("7712345678"),
        birth_date: "1975-03-08".into(),
        email: "petrova@example.ru".into(),
        ..citizen("Петрова", "Ольга")
    };
    let theirs = b.cases.clone().create_citizen(full).await.unwrap().into_inner();
    assert!(!theirs.inn.is_empty() && !theirs.personal_data_hidden);
    a.cases.clone().create_citizen(citizen("Иванова", "Мария")).await.unwrap();

    let mut admin = t.admin.cases.clone();
    let settings = admin.get_tenant_settings(pb::GetTenantSettingsRequest {}).await.unwrap().into_inner();
    assert!(!settings.curators_read_all, "off by default");
    admin
        .update_tenant_settings(pb::UpdateTenantSettingsRequest { curators_read_all: true, ..Default::default() })
        .await
        .unwrap();

    let mut c = a.cases.clone();
    let seen = c.get_citizen(pb::GetCitizenRequest { id: theirs.id.clone() }).await.expect("readable").into_inner();
    assert!(seen.personal_data_hidden && !seen.can_edit);
    assert_eq!(
        (seen.inn.as_str(), seen.phone.as_str(), seen.email.as_str(), seen.birth_date.as_str()),
        ("", "", "", "")
    );
    assert_eq!(seen.surname, "Петрова");
    let list = c.list_citizens(pb::ListCitizensRequest::default()).await.unwrap().into_inner();
    assert_eq!(list.total_size, 2);
    for row in &list.citizens {
        let own = row.curator_id == a.id;
        assert_eq!(row.personal_data_hidden, !own, "{row:?}");
        assert_eq!(row.phone.is_empty(), !own);
    }
    // Readable, not changeable: PERMISSION_DENIED now, not NOT_FOUND.
    let mut up = update_from(&seen);
    up.phone = "+79000000000".into();
    expect_code(c.update_citizen(up).await, Code::PermissionDenied);
    let add = pb::AddInteractionRequest { citizen_id: theirs.id.clone(), result: "Звонок".into() };
    expect_code(c.add_interaction(add).await, Code::PermissionDenied);
    let link = pb::GetCitizenBotLinkRequest { citizen_id: theirs.id.clone() };
    expect_code(c.get_citizen_bot_link(link).await, Code::PermissionDenied);
    // The card's own curator and the admin still see everything.
    let own = b.cases.clone().get_citizen(pb::GetCitizenRequest { id: theirs.id.clone() }).await.unwrap();
    assert_eq!(own.into_inner().inn, theirs.inn);
    let by_admin = admin.get_citizen(pb::GetCitizenRequest { id: theirs.id.clone() }).await.unwrap().into_inner();
    assert!(!by_admin.personal_data_hidden && by_admin.phone == "+79123456789");
}

/// The role → permission table beyond admins and curators, and callers
/// without a valid token.
#[tokio::test]
async fn other_roles_and_anonymous_callers_are_refused() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let created = t.admin.cases.clone().create_citizen(citizen("Иванова", "Мария")).await.unwrap().into_inner();
    let executor = app.staff_member(&t, "ispolnitel", "Исполнитель", &[idpb::Role::Executor]).await;
    let supervisor = app.staff_member(&t, "nablyudatel", "Наблюдатель", &[idpb::Role::Supervisor]).await;

    let mut e = executor.cases.clone();
    expect_code(e.list_citizens(pb::ListCitizensRequest::default()).await, Code::PermissionDenied);
    expect_code(e.get_citizen(pb::GetCitizenRequest { id: created.id.clone() }).await, Code::PermissionDenied);
    e.list_special_groups(pb::ListSpecialGroupsRequest::default()).await.expect("reference lists are readable");
    e.get_tenant_settings(pb::GetTenantSettingsRequest {}).await.expect("terminology is readable");

    // A supervisor reads the registry, never personal data, changes nothing.
    let mut s = supervisor.cases.clone();
    let seen = s.get_citizen(pb::GetCitizenRequest { id: created.id.clone() }).await.unwrap().into_inner();
    assert!(seen.personal_data_hidden && seen.phone.is_empty() && !seen.can_edit);
    expect_code(s.update_citizen(update_from(&seen)).await, Code::PermissionDenied);
    expect_code(s.create_citizen(citizen("Петрова", "Ольга")).await, Code::PermissionDenied);

    let mut anon = app.anonymous();
    expect_code(anon.list_citizens(pb::ListCitizensRequest::default()).await, Code::Unauthenticated);
    let forged = app.staff(&t.admin.id, "not-a-token", &t.slug);
    expect_code(forged.cases.clone().list_citizens(pb::ListCitizensRequest::default()).await, Code::Unauthenticated);
}
