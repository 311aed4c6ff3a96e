//! The registry «Пользователи» (S0-33, S0-111…S0-113): Russian-aware search
//! by full name and situation, filters, paging and sorting.
use chrono::Duration;
use opeka_proto::cases as pb;

use crate::helpers::{TestApp, TestTenant, expect_invalid, names};

async fn add(
    app: &TestApp,
    t: &TestTenant,
    surname: &str,
    name: &str,
    patronymic: &str,
    situation: &str,
) -> pb::Citizen {
    app.clock.advance(Duration::minutes(1));
    let req = pb::CreateCitizenRequest {
        surname: surname.into(),
        name: name.into(),
        patronymic: patronymic.into(),
        phone: "+79123456789".into(),
        situation: situation.into(),
        ..Default::default()
    };
    t.admin.cases.clone().create_citizen(req).await.expect("create citizen").into_inner()
}

async fn search(t: &TestTenant, name: &str, situation: &str) -> Vec<String> {
    let req =
        pb::ListCitizensRequest { name_query: name.into(), situation_query: situation.into(), ..Default::default() };
    let list = t.admin.cases.clone().list_citizens(req).await.expect("list").into_inner();
    assert_eq!(list.total_size as usize, list.citizens.len());
    let mut n = names(&list);
    n.sort();
    n
}

/// S0-111: «ФИО» matches word beginnings of surname, name and patronymic,
/// whatever the case, with ё and е interchangeable.
#[tokio::test]
async fn search_by_part_of_the_full_name_ignores_case_and_yo() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    add(&app, &t, "Семёнова", "Алёна", "Игоревна", "").await;
    add(&app, &t, "Семенов", "Пётр", "Ильич", "").await;
    add(&app, &t, "Иванова", "Мария", "Семёновна", "").await;
    add(&app, &t, "Орлова", "Елена", "Петровна", "").await;

    assert_eq!(search(&t, "семен", "").await, ["Иванова", "Семенов", "Семёнова"], "patronymic «Семёновна» too");
    assert_eq!(search(&t, "СЕМЁН", "").await, ["Иванова", "Семенов", "Семёнова"]);
    assert_eq!(search(&t, "Семёнова", "").await, ["Семёнова"]);
    assert_eq!(search(&t, "семенова ал", "").await, ["Семёнова"], "every word must match");
    assert_eq!(search(&t, "ал семен", "").await, ["Семёнова"], "in any order");
    assert_eq!(search(&t, "петр", "").await, ["Орлова", "Семенов"], "«Пётр» and «Петровна»");
    assert_eq!(search(&t, "елена", "").await, ["Орлова"]);
    assert_eq!(search(&t, "Ёлена", "").await, ["Орлова"]);
    assert!(search(&t, "семенова петр", "").await.is_empty());
    assert!(search(&t, "ванова", "").await.is_empty(), "word beginnings, not the middle");
    assert_eq!(search(&t, " ,. ", "").await.len(), 4, "an empty query lists everyone");
}

/// S0-111: «Описание ситуации» is searched the same way, and both fields
/// combine.
#[tokio::test]
async fn search_by_situation_text() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    add(&app, &t, "Иванова", "Мария", "", "Потеря кормильца; нужна помощь с оформлением пенсии.").await;
    add(&app, &t, "Петрова", "Ольга", "", "Инвалидность 2-й группы, нужна коляска").await;
    add(&app, &t, "Сидорова", "Анна", "", "Многодетная семья, ПЕНСИОННЫЕ вопросы").await;

    assert_eq!(search(&t, "", "пенси").await, ["Иванова", "Сидорова"]);
    assert_eq!(search(&t, "", "инвалид").await, ["Петрова"]);
    assert_eq!(search(&t, "", "нужна коляск").await, ["Петрова"]);
    assert_eq!(search(&t, "сидор", "пенси").await, ["Сидорова"]);
    assert!(search(&t, "", "пожар").await.is_empty());

    // Editing the text re-indexes it.
    let list = t.admin.cases.clone().list_citizens(pb::ListCitizensRequest::default()).await.unwrap().into_inner();
    let petrova = list.citizens.iter().find(|c| c.surname == "Петрова").unwrap();
    let mut up = crate::helpers::update_from(petrova);
    up.situation = "Переехала, ищет работу".into();
    t.admin.cases.clone().update_citizen(up).await.unwrap();
    assert!(search(&t, "", "инвалид").await.is_empty());
    assert_eq!(search(&t, "", "работ").await, ["Петрова"]);
}

/// S0-112, S0-113: filters by district, curator and special group combine
/// with each other and with the search; an empty filter resets.
#[tokio::test]
async fn filters_by_district_curator_and_group() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let north = app.district(&t, "Северный").await;
    let south = app.district(&t, "Южный").await;
    let a = app.curator(&t, "kuratova", "Куратова").await;
    let b = app.curator(&t, "drugova", "Другова").await;
    let group = t
        .admin
        .cases
        .clone()
        .create_special_group(pb::CreateSpecialGroupRequest { name: "Ветераны".into() })
        .await
        .unwrap()
        .into_inner();
    let mut admin = t.admin.cases.clone();
    for (surname, curator, district, grouped) in [
        ("Альфа", &a, &north, true),
        ("Бета", &a, &south, false),
        ("Гамма", &b, &north, false),
        ("Дельта", &b, &south, true),
    ] {
        let req = pb::CreateCitizenRequest {
            surname: surname.into(),
            name: "Тест".into(),
            phone: "+79123456789".into(),
            curator_id: curator.id.clone(),
            district_id: district.clone(),
            special_group_ids: if grouped { vec![group.id.clone()] } else { vec![] },
            ..Default::default()
        };
        admin.create_citizen(req).await.unwrap();
    }
    let list = |district: &str, curator: &str, group: &str, q: &str| pb::ListCitizensRequest {
        district_id: district.into(),
        curator_id: curator.into(),
        special_group_id: group.into(),
        name_query: q.into(),
        ..Default::default()
    };
    let run = |req: pb::ListCitizensRequest| {
        let mut admin = admin.clone();
        async move { names(&admin.list_citizens(req).await.unwrap().into_inner()) }
    };
    assert_eq!(run(list(&north, "", "", "")).await, ["Альфа", "Гамма"]);
    assert_eq!(run(list("", &a.id, "", "")).await, ["Альфа", "Бета"]);
    assert_eq!(run(list(&south, &b.id, "", "")).await, ["Дельта"]);
    assert_eq!(run(list("", "", &group.id, "")).await, ["Альфа", "Дельта"]);
    assert_eq!(run(list(&north, "", &group.id, "")).await, ["Альфа"]);
    assert_eq!(run(list(&north, "", "", "гам")).await, ["Гамма"]);
    assert_eq!(run(list("", "", "", "")).await.len(), 4, "reset");
    expect_invalid(admin.list_citizens(list("north", "", "", "")).await, "district_id");
}

/// S0-33: new citizens come at the end by default; sorting by name (ё as
/// е); paging with a total over all pages.
#[tokio::test]
async fn paging_and_sorting_with_new_citizens_last() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    for surname in ["Яковлева", "Ёлкина", "Абрамова", "Елисеева", "Борисова"] {
        add(&app, &t, surname, "Анна", "", "").await;
    }
    let mut admin = t.admin.cases.clone();
    let all = admin.list_citizens(pb::ListCitizensRequest::default()).await.unwrap().into_inner();
    assert_eq!(names(&all), ["Яковлева", "Ёлкина", "Абрамова", "Елисеева", "Борисова"], "creation order");

    let by_name = pb::ListCitizensRequest { sort: pb::CitizenSort::Name as i32, ..Default::default() };
    let sorted = admin.list_citizens(by_name.clone()).await.unwrap().into_inner();
    assert_eq!(names(&sorted), ["Абрамова", "Борисова", "Елисеева", "Ёлкина", "Яковлева"]);
    let newest_first = pb::ListCitizensRequest { descending: true, ..Default::default() };
    let desc = admin.list_citizens(newest_first).await.unwrap().into_inner();
    assert_eq!(names(&desc)[0], "Борисова");

    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let req = pb::ListCitizensRequest { page_size: 2, page_token: token.clone(), ..by_name.clone() };
        let page = admin.list_citizens(req).await.unwrap().into_inner();
        assert_eq!(page.total_size, 5);
        assert!(page.citizens.len() <= 2);
        seen.extend(names(&page));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(seen, names(&sorted));
    let beyond = pb::ListCitizensRequest { page_token: "10".into(), ..Default::default() };
    let empty = admin.list_citizens(beyond).await.unwrap().into_inner();
    assert!(empty.citizens.is_empty() && empty.total_size == 5 && empty.next_page_token.is_empty());
    let bad = pb::ListCitizensRequest { page_token: "abc".into(), ..Default::default() };
    expect_invalid(admin.list_citizens(bad).await, "page_token");
}
