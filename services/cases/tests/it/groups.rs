//! «Особые группы» (S0-107…S0-109): admins manage the list, curators read
//! and search it and pick groups on the card.
use opeka_proto::cases as pb;
use tonic::Code;

use crate::helpers::{TestApp, citizen, expect_code, expect_invalid, update_from};

fn group_names(r: &pb::ListSpecialGroupsResponse) -> Vec<&str> {
    r.groups.iter().map(|g| g.name.as_str()).collect()
}

#[tokio::test]
async fn special_groups_are_managed_by_admins_and_read_by_curators() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let curator = app.curator(&t, "kuratova", "Куратова").await;
    let mut admin = t.admin.cases.clone();
    let mut c = curator.cases.clone();
    let create = |name: &str| pb::CreateSpecialGroupRequest { name: name.into() };

    let veterans = admin.create_special_group(create("Ветераны боевых действий")).await.unwrap().into_inner();
    let large = admin.create_special_group(create("Многодетные семьи")).await.unwrap().into_inner();
    admin.create_special_group(create("Ёжики")).await.unwrap();
    expect_invalid(admin.create_special_group(create("  ")).await, "name");
    let dup = expect_code(admin.create_special_group(create("многодетные СЕМЬИ")).await, Code::AlreadyExists);
    assert_eq!(opeka_platform::error::violations(&dup)[0].field, "name");
    expect_code(admin.create_special_group(create("Ежики")).await, Code::AlreadyExists);

    // S0-107: curators read the list, alphabetically, with search; S0-108: no changes.
    let all = c.list_special_groups(pb::ListSpecialGroupsRequest::default()).await.unwrap().into_inner();
    assert_eq!(group_names(&all), ["Ветераны боевых действий", "Ёжики", "Многодетные семьи"]);
    let found = c
        .list_special_groups(pb::ListSpecialGroupsRequest { query: "СЕМ".into(), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(group_names(&found), ["Многодетные семьи"]);
    let found = c
        .list_special_groups(pb::ListSpecialGroupsRequest { query: "ежик".into(), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(group_names(&found.into_inner()), ["Ёжики"]);
    expect_code(c.create_special_group(create("Кураторская")).await, Code::PermissionDenied);
    let rename = pb::RenameSpecialGroupRequest { id: large.id.clone(), name: "Семьи".into() };
    expect_code(c.rename_special_group(rename).await, Code::PermissionDenied);
    expect_code(
        c.delete_special_group(pb::DeleteSpecialGroupRequest { id: large.id.clone() }).await,
        Code::PermissionDenied,
    );

    // S0-109: one or several groups on a card.
    let card = pb::CreateCitizenRequest {
        special_group_ids: vec![veterans.id.clone(), large.id.clone()],
        ..citizen("Иванова", "Мария")
    };
    let created = c.create_citizen(card).await.unwrap().into_inner();
    let mut expected = vec![veterans.id.clone(), large.id.clone()];
    expected.sort();
    assert_eq!(created.special_group_ids, expected);
    let filter = pb::ListCitizensRequest { special_group_id: large.id.clone(), ..Default::default() };
    assert_eq!(c.list_citizens(filter.clone()).await.unwrap().into_inner().total_size, 1);

    let renamed = admin
        .rename_special_group(pb::RenameSpecialGroupRequest {
            id: large.id.clone(), name: "Большие семьи".into()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(renamed.name, "Большие семьи");
    let clash = pb::RenameSpecialGroupRequest {
        id: large.id.clone(), name: "ветераны боевых действий".into()
    };
    expect_code(admin.rename_special_group(clash).await, Code::AlreadyExists);
    let missing = pb::RenameSpecialGroupRequest { id: uuid::Uuid::now_v7().to_string(), name: "Нет".into() };
    expect_code(admin.rename_special_group(missing).await, Code::NotFound);

    // Deleting a group takes it off every card, and the cards' audit says so.
    admin.delete_special_group(pb::DeleteSpecialGroupRequest { id: large.id.clone() }).await.unwrap();
    let card = c.get_citizen(pb::GetCitizenRequest { id: created.id.clone() }).await.unwrap().into_inner();
    assert_eq!(card.special_group_ids, vec![veterans.id.clone()]);
    assert_eq!(c.list_citizens(filter).await.unwrap().into_inner().total_size, 0);
    let audit = admin
        .list_audit_events(pb::ListAuditEventsRequest { citizen_id: created.id.clone(), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert!(audit.events.iter().any(|e| e.action == "citizen.update" && e.fields == ["special_group_ids"]));
    expect_code(
        admin.delete_special_group(pb::DeleteSpecialGroupRequest { id: large.id.clone() }).await,
        Code::NotFound,
    );
    // A card may drop its groups again.
    let mut up = update_from(&card);
    up.special_group_ids.clear();
    assert!(c.update_citizen(up).await.unwrap().into_inner().special_group_ids.is_empty());
}
