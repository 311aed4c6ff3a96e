//! «Обращения» through the gateway over HTTP, as a browser without JavaScript would use them,
//! against identity and cases started by the harness: the journal with its filters in the URL, the
//! card's sections, the workflow's steps as form posts (take → done → curator return → done →
//! accept), refusals shown beside the field or above the card with nothing typed lost, one card per
//! executor, comments and their edit history. Covers S1-5, S1-9, S1-15…S1-37, S1-48…S1-62, S1-64.
use opeka_integration_tests::web::{base, csrf, get, post, signed_in, unescape};
use opeka_integration_tests::{PASSWORD, Suite};
use opeka_proto::cases::appeals_service_client::AppealsServiceClient;
use opeka_proto::cases::{
    Appeal, AppealCitizen, AppealGeography, AppealTopic, CreateAppealRequest, ImportReferenceNodesRequest,
    ListReferenceNodesRequest, ReferenceNode,
};
use opeka_proto::identity::{CreateOrganisationRequest, OrganisationKind, Role};
use opeka_testkit::Service;
use reqwest::{Client, StatusCode};

/// The tenant's reference data and organisation, by name.
struct World {
    org: String,
    district: String,
    moscow: String,
    oblast: String,
    lublino: String,
    ogv: String,
    roads: String,
    ramps: String,
}

fn node(level: &str, code: &str, name: &str, parent: &str) -> ReferenceNode {
    ReferenceNode {
        level: level.into(),
        code: code.into(),
        name: name.into(),
        parent_code: parent.into(),
        ..Default::default()
    }
}

async fn appeals(s: &Suite) -> AppealsServiceClient<tonic::transport::Channel> {
    AppealsServiceClient::new(s.channel(Service::Cases))
}

/// Geography and topics as an admin loads them, an executive body, and the staff: two executors
/// of that body, a curator, a moderator and a supervisor.
async fn world(s: &Suite) -> World {
    let admin = s.admin_token().await;
    let msg = CreateOrganisationRequest {
        name: "РИК ОНФ".into(),
        kind: OrganisationKind::ExecutiveBody as i32,
        parent_id: String::new(),
    };
    let org = s.identity().create_organisation(s.request(&admin, msg)).await.expect("org").into_inner().id;
    let mut a = appeals(s).await;
    let geography = vec![
        node("federal_district", "cfd", "Центральный федеральный округ", ""),
        node("region", "msk", "Москва", "cfd"),
        node("region", "mo", "Московская область", "cfd"),
        node("municipality", "lublino", "муниципальный округ Люблино", "msk"),
    ];
    let topics = vec![
        node("category_type", "ogv", "ОГВ", ""),
        node("category", "roads", "Автомобильные дороги", "ogv"),
        node("subcategory", "ramps", "Среда для инвалидов", "roads"),
    ];
    for (tree, nodes) in [("geography", geography), ("topics", topics)] {
        let msg = ImportReferenceNodesRequest { tree: tree.into(), nodes };
        a.import_reference_nodes(s.request(&admin, msg)).await.expect("import reference nodes");
    }
    let mut ids = std::collections::HashMap::new();
    for tree in ["geography", "topics"] {
        let msg = ListReferenceNodesRequest { tree: tree.into(), parent_id: String::new(), ..Default::default() };
        for n in a.list_reference_nodes(s.request(&admin, msg)).await.expect("list nodes").into_inner().nodes {
            ids.insert(n.code, n.id);
        }
    }
    s.staff("exec1", "Исполнителев", Role::Executor, &org).await;
    s.staff("exec2", "Вторых", Role::Executor, &org).await;
    s.staff("cur", "Кураторов", Role::Curator, "").await;
    s.staff("moder", "Модераторов", Role::Moderator, "").await;
    s.staff("super", "Супервайзеров", Role::Supervisor, "").await;
    World {
        org,
        district: ids["cfd"].clone(),
        moscow: ids["msk"].clone(),
        oblast: ids["mo"].clone(),
        lublino: ids["lublino"].clone(),
        ogv: ids["ogv"].clone(),
        roads: ids["roads"].clone(),
        ramps: ids["ramps"].clone(),
    }
}

/// A card routed to the world's organisation, as intake creates it (status «Новое»).
async fn appeal(s: &Suite, w: &World, name: &str, phone: &str, region: &str, text: &str) -> Appeal {
    let token = s.access_token("moder", PASSWORD).await;
    let msg = CreateAppealRequest {
        request_id: uuid::Uuid::new_v4().to_string(),
        citizen: Some(AppealCitizen {
            full_name: name.into(),
            email: "citizen@example.org".into(),
            phone: phone.into(),
        }),
        geography: Some(AppealGeography {
            source_address: "Новосибирская область".into(),
            federal_district_id: w.district.clone(),
            region_id: region.into(),
            municipality_id: if region == w.moscow { w.lublino.clone() } else { String::new() },
            address: "г Москва, ул Белореченская, д 12".into(),
            ..Default::default()
        }),
        executor_org_id: w.org.clone(),
        topic: Some(AppealTopic {
            category_type_id: w.ogv.clone(),
            category_id: w.roads.clone(),
            subcategory_id: w.ramps.clone(),
            ..Default::default()
        }),
        talked_before: true,
        source_system: "Ростелеком".into(),
        source_id: "3072039".into(),
        channel: "call_centre".into(),
        stream: "Прямая линия".into(),
        text: text.into(),
        ..Default::default()
    };
    appeals(s).await.create_appeal(s.request(&token, msg)).await.expect("create appeal").into_inner()
}

fn rows(html: &str) -> usize {
    html.matches("class=\"appeal-row\"").count()
}

/// The value of the hidden input `name` (the first one) in a page.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no {name} in:\n{html}")) + marker.len();
    html[start..start + html[start..].find('"').expect("value ends")].to_string()
}

/// The card's status as its header shows it.
fn status(html: &str) -> String {
    let start = html.find("class=\"appeal-status\"").unwrap_or_else(|| panic!("no status in:\n{html}"));
    let open = start + html[start..].find('>').expect("tag ends") + 1;
    html[open..open + html[open..].find('<').expect("text ends")].to_string()
}

/// Posts one step of the «Действие» menu as the card's form does (csrf and a fresh request id).
async fn act(c: &Client, s: &Suite, id: &str, action: &str, fields: &[(&str, &str)]) -> (StatusCode, String) {
    let card = get(c, &format!("{}/appeals/{id}", base(s))).await;
    assert_eq!(card.status, StatusCode::OK, "{}", card.html);
    let token = csrf(&card.html);
    let request_id = uuid::Uuid::new_v4().to_string();
    let mut all = vec![("csrf", token.as_str()), ("action", action), ("request_id", request_id.as_str())];
    all.extend_from_slice(fields);
    let page = post(c, &format!("{}/appeals/{id}/act", base(s)), &all).await;
    (page.status, page.html)
}

// S1-15…S1-17, S1-48…S1-62, S1-64: the filters come from the URL and narrow the rows; the form
// shows what the URL holds; the user's choice of filter fields is remembered.
#[tokio::test]
async fn s1_48_the_journal_filters_from_the_url() {
    let s = Suite::start().await;
    let w = world(&s).await;
    let a1 = appeal(&s, &w, "Ходковский Александр", "+7 (983) 413-00-01", &w.moscow, "Просим помощи с пандусом").await;
    let a2 = appeal(&s, &w, "Алмаз Толя", "+7 (917) 561-89-18", &w.oblast, "Яма на дороге").await;
    appeal(&s, &w, "Сукарева Алена", "+7 (900) 000-00-03", &w.moscow, "Нет освещения").await;
    let c = signed_in(&s, "moder", PASSWORD).await;
    let j = format!("{}/appeals", base(&s));

    let page = get(&c, &j).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(page.html.contains(">Обращения</a>"), "the menu has «Обращения»");
    assert_eq!(rows(&page.html), 3, "a moderator sees every card: {}", page.html);
    for col in ["№ обращения", "ФИО гражданина", "Статус обращения", "Категория", "Федеральный округ", "Регион"]
    {
        assert!(page.html.contains(col), "column «{col}»");
    }
    assert!(page.html.contains("Автомобильные дороги") && page.html.contains("муниципальный округ Люблино"));
    assert!(page.html.contains("РИК ОНФ"), "«Исполнитель»: the organisation");
    assert!(page.html.contains("name=\"appeal_id\""), "S1-64: checkboxes");
    assert!(page.html.contains("placeholder=\"+7() - -\""), "S1-52: the phone mask");

    // S1-51: the citizen's name; the form keeps it.
    let page = get(&c, &format!("{j}?lock=any&citizen_name=%D0%A5%D0%BE%D0%B4%D0%BA%D0%BE%D0%B2")).await;
    assert_eq!(rows(&page.html), 1, "{}", page.html);
    assert!(page.html.contains(&format!(">{}</a>", a1.number)));
    assert!(page.html.contains("value=\"Ходков\""));
    // S1-52: digits of the phone, whatever the spelling.
    let page = get(&c, &format!("{j}?lock=any&phone=79175618918")).await;
    assert_eq!(rows(&page.html), 1);
    assert!(page.html.contains(&format!(">{}</a>", a2.number)));
    // S1-56: the region.
    let page = get(&c, &format!("{j}?lock=any&region_id={}", w.moscow)).await;
    assert_eq!(rows(&page.html), 2);
    assert!(page.html.contains(&format!("value=\"{}\" selected", w.moscow)));
    // S1-53: Russian word forms («помощь» finds «помощи»).
    let page = get(&c, &format!("{j}?lock=any&text=%D0%BF%D0%BE%D0%BC%D0%BE%D1%89%D1%8C")).await;
    assert_eq!(rows(&page.html), 1, "{}", page.html);
    // S1-48: the number; a number that is not one is refused beside the field.
    let page = get(&c, &format!("{j}?lock=any&number={}", a2.number)).await;
    assert_eq!(rows(&page.html), 1);
    let page = get(&c, &format!("{j}?lock=any&number=12a")).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.html.contains("id=\"e-number\""), "{}", page.html);
    // S1-49: the status.
    let page = get(&c, &format!("{j}?lock=any&statuses=done")).await;
    assert_eq!(rows(&page.html), 0);
    assert!(page.html.contains("По этим фильтрам обращений не найдено."));
    // Sorting by a column head keeps the filter.
    let page = get(&c, &format!("{j}?lock=any&region_id={}&order_by=-number", w.moscow)).await;
    assert_eq!(rows(&page.html), 2);
    let first = page.html.find(&format!(">{}</a>", a1.number)).expect("a1");
    let third = page.html.find("Сукарева").expect("a3");
    assert!(third < first, "descending by number");
    assert!(unescape(&page.html).contains(&format!("region_id={}&order_by=number", w.moscow)));

    // S1-62: «Настроить фильтры» keeps only the chosen fields (and one that has a value).
    let token = csrf(&page.html);
    let back = "lock=any&phone=7917";
    let saved = post(
        &c,
        &format!("{j}/filters"),
        &[("csrf", token.as_str()), ("visible", "number"), ("visible", "statuses"), ("back", back)],
    )
    .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.html);
    assert!(saved.html.contains("Набор фильтров сохранён."));
    assert!(saved.html.contains("id=\"f-number\"") && saved.html.contains("id=\"f-phone\""), "chosen and filled");
    assert!(!saved.html.contains("id=\"f-address\""), "a hidden field stays hidden");
    assert_eq!(rows(&saved.html), 1, "the journal came back with its filter");
}

// S1-15: an executor's journal opens on their own cards «В работе».
#[tokio::test]
async fn s1_15_the_executor_starts_with_own_cards_in_work() {
    let s = Suite::start().await;
    let w = world(&s).await;
    let a1 = appeal(&s, &w, "Ходковский Александр", "+7 983 413-00-01", &w.moscow, "Пандус").await;
    appeal(&s, &w, "Алмаз Толя", "+7 917 561-89-18", &w.oblast, "Яма").await;
    let c = signed_in(&s, "exec1", PASSWORD).await;
    let j = format!("{}/appeals", base(&s));
    let page = get(&c, &j).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(page.html.contains("Показаны ваши обращения в статусе «В работе»"));
    assert_eq!(rows(&page.html), 0, "nothing in work yet");
    assert!(page.html.contains("value=\"mine_and_free\" selected"), "S1-50: «Мои и свободные» by default");
    let (code, _) = act(&c, &s, &a1.id, "take", &[]).await;
    assert_eq!(code, StatusCode::OK);
    let page = get(&c, &j).await;
    assert_eq!(rows(&page.html), 1, "{}", page.html);
    assert!(page.html.contains(&format!(">{}</a>", a1.number)));
    // «Применить» with «Мои и свободные»: the free card of the area too.
    let page = get(&c, &format!("{j}?lock=mine_and_free")).await;
    assert_eq!(rows(&page.html), 2, "{}", page.html);
}

// S1-18…S1-28: the card's header and sections.
#[tokio::test]
async fn s1_19_the_card_shows_the_seed_sections() {
    let s = Suite::start().await;
    let w = world(&s).await;
    let a = appeal(&s, &w, "Тестов Тест", "+7(917)561-89-18", &w.moscow, "Нужен пандус у подъезда").await;
    let c = signed_in(&s, "exec1", PASSWORD).await;
    let card = get(&c, &format!("{}/appeals/{}", base(&s), a.id)).await;
    assert_eq!(card.status, StatusCode::OK, "{}", card.html);
    assert_eq!(status(&card.html), "Новое");
    for words in [
        "Вернуться в журнал обращений",
        "Взять в работу карточку обращения",
        &format!("Обращение № <span class=\"appeal-no\">{}</span>", a.number),
        "Дата создания",
        "Не определена",
        "Информация о гражданине",
        "citizen@example.org",
        "+7(917)561-89-18",
        "Адрес источника",
        "Новосибирская область",
        "Центральный федеральный округ",
        "Москва",
        "муниципальный округ Люблино",
        "г Москва, ул Белореченская, д 12",
        "Информация об исполнителе",
        "РИК ОНФ",
        "Тематика обращения",
        "ОГВ",
        "Автомобильные дороги",
        "Среда для инвалидов",
        "Дополнительная информация",
        "Ростелеком",
        "3072039",
        "Источник обращения",
        "Колл-центр",
        "Прямая линия",
        "Нужен пандус у подъезда",
        "Ход решения",
    ] {
        assert!(card.html.contains(words), "the card lacks «{words}»");
    }
    // The number works as the card's address too.
    let by_number = get(&c, &format!("{}/appeals/{}", base(&s), a.number)).await;
    assert_eq!(by_number.status, StatusCode::OK);
    assert!(by_number.html.contains("Нужен пандус у подъезда"));
}

// S1-4, S1-9, S1-29, S1-31…S1-33, S1-37: take → comment → edit it → done → the curator returns it
// → take → done → the curator accepts; every step a plain form post.
#[tokio::test]
async fn s1_9_take_done_return_done_accept_through_the_forms() {
    let s = Suite::start().await;
    let w = world(&s).await;
    let a = appeal(&s, &w, "Тестов Тест", "+7(917)561-89-18", &w.moscow, "Нужен пандус").await;
    let card_url = format!("{}/appeals/{}", base(&s), a.id);
    let exec = signed_in(&s, "exec1", PASSWORD).await;

    let (code, html) = act(&exec, &s, &a.id, "take", &[]).await;
    assert_eq!(code, StatusCode::OK, "{html}");
    assert_eq!(status(&html), "В работе");
    assert!(html.contains("Активные задачи не закрыты"), "S1-36");
    for label in ["Отметить исполнение", "Отметить невозможность исполнения", "Завершить работу над карточкой"]
    {
        assert!(html.contains(label), "the menu lacks «{label}»");
    }

    // S1-31: a comment; S1-33: its author edits it, the old text stays in the history.
    let token = csrf(&html);
    let rid = hidden(&html[html.find("comment-form").expect("comment form")..], "request_id");
    let page = post(
        &exec,
        &format!("{card_url}/comments"),
        &[("csrf", token.as_str()), ("request_id", rid.as_str()), ("text", "Дозвонился до заявителя")],
    )
    .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(page.html.contains("Комментарий добавлен.") && page.html.contains("Дозвонился до заявителя"));
    let edit_href = {
        let marker = "class=\"comment-edit\" href=\"";
        let at = page.html.find(marker).expect("«Изменить»") + marker.len();
        unescape(&page.html[at..at + page.html[at..].find('"').expect("href ends")])
    };
    let comment_id = edit_href.split("edit=").nth(1).and_then(|v| v.split('#').next()).expect("comment id").to_string();
    let editor = get(&exec, &format!("{}{edit_href}", s.url(Service::Gateway))).await;
    assert!(editor.html.contains("comment-edit-form") && editor.html.contains(">Отменить<"));
    let page = post(
        &exec,
        &format!("{card_url}/comments/{comment_id}"),
        &[("csrf", token.as_str()), ("text", "Дозвонился до заявителя, уточнил адрес")],
    )
    .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(page.html.contains("Комментарий изменён.") && page.html.contains("уточнил адрес"));
    assert!(page.html.contains("История изменений (1)"), "{}", page.html);

    let (code, html) =
        act(&exec, &s, &a.id, "mark_done", &[("solution", "Пандус установлен"), ("answer", "Готово")]).await;
    assert_eq!(code, StatusCode::OK, "{html}");
    assert_eq!(status(&html), "Исполнено, на проверке у куратора");
    assert!(html.contains("Пандус установлен"), "«Решение исполнителя»");

    // S1-3, S1-4: the curator sees the answer and returns it with a comment.
    let cur = signed_in(&s, "cur", PASSWORD).await;
    let (code, html) = act(&cur, &s, &a.id, "curator_return", &[("comment", "Нет подтверждения заявителя")]).await;
    assert_eq!(code, StatusCode::OK, "{html}");
    assert_eq!(status(&html), "В работе");
    assert!(html.contains("Нет подтверждения заявителя"), "the return's comment is in «Ход решения»");

    let (code, html) = act(&exec, &s, &a.id, "take", &[]).await;
    assert_eq!(code, StatusCode::OK, "{html}");
    let (code, html) =
        act(&exec, &s, &a.id, "mark_done", &[("solution", "Пандус установлен, заявитель подтвердил"), ("answer", "")])
            .await;
    assert_eq!(code, StatusCode::OK, "{html}");
    let (code, html) = act(&cur, &s, &a.id, "curator_accept", &[]).await;
    assert_eq!(code, StatusCode::OK, "{html}");
    assert_eq!(status(&html), "Выполнено");

    let journal = get(&cur, &format!("{}/appeals?lock=any&statuses=done", base(&s))).await;
    assert_eq!(rows(&journal.html), 1, "{}", journal.html);
    assert!(journal.html.contains(">Выполнено<"));
}

// S1-37, S1-39: a bad form is shown again with the message beside the field and the text kept.
#[tokio::test]
async fn s1_37_a_bad_form_keeps_the_typed_text() {
    let s = Suite::start().await;
    let w = world(&s).await;
    let a = appeal(&s, &w, "Тестов Тест", "+7(917)561-89-18", &w.moscow, "Нужен пандус").await;
    let exec = signed_in(&s, "exec1", PASSWORD).await;
    let (code, _) = act(&exec, &s, &a.id, "take", &[]).await;
    assert_eq!(code, StatusCode::OK);

    let (code, html) = act(&exec, &s, &a.id, "mark_done", &[("solution", "   "), ("answer", "Ответ гражданину")]).await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{html}");
    assert!(html.contains("id=\"action-mark_done\" open"));
    assert!(html.contains("id=\"e-mark_done-solution\""), "the message beside «solution»: {html}");
    assert!(html.contains(">Ответ гражданину</textarea>"), "the answer typed stays");
    assert_eq!(status(&html), "В работе");

    let (code, html) = act(
        &exec,
        &s,
        &a.id,
        "postpone",
        &[("reason", "works_planned"), ("until", "2001-01-01"), ("comment", "Стройка до конца года")],
    )
    .await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{html}");
    assert!(html.contains("id=\"e-postpone-until\""), "{html}");
    assert!(html.contains("Стройка до конца года</textarea>"));

    // S1-43: a duplicate without the number is returned, not sent to the curator.
    let (code, html) =
        act(&exec, &s, &a.id, "request_close", &[("reason", "duplicate"), ("duplicate_of", "сорок"), ("comment", "")])
            .await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert!(html.contains("id=\"e-request_close-duplicate_of\""), "{html}");
}

// S1-30: a second card while holding one is refused with the held card's number, on the card.
#[tokio::test]
async fn s1_30_one_card_at_a_time() {
    let s = Suite::start().await;
    let w = world(&s).await;
    let first = appeal(&s, &w, "Первый Заявитель", "+7 900 000-00-01", &w.moscow, "Первое").await;
    let second = appeal(&s, &w, "Второй Заявитель", "+7 900 000-00-02", &w.moscow, "Второе").await;
    let exec = signed_in(&s, "exec1", PASSWORD).await;
    let (code, _) = act(&exec, &s, &first.id, "take", &[]).await;
    assert_eq!(code, StatusCode::OK);
    let (code, html) = act(&exec, &s, &second.id, "take", &[]).await;
    assert_eq!(code, StatusCode::CONFLICT, "{html}");
    assert!(html.contains("appeal-refusal"), "{html}");
    assert!(html.contains(&format!("№ {}", first.number)), "the message names the held card: {html}");
    assert_eq!(status(&html), "Новое", "the second card is untouched");

    // The other executor cannot take the held card either.
    let other = signed_in(&s, "exec2", PASSWORD).await;
    let card = get(&other, &format!("{}/appeals/{}", base(&s), first.id)).await;
    assert!(!card.html.contains("class=\"primary take\""), "no «Взять…» on a held card");

    // «Завершить работу над карточкой» frees the executor for the next one (S1-35).
    let (code, html) = act(&exec, &s, &first.id, "release", &[]).await;
    assert_eq!(code, StatusCode::OK, "{html}");
    assert!(!html.contains("Активные задачи не закрыты"));
    let (code, html) = act(&exec, &s, &second.id, "take", &[]).await;
    assert_eq!(code, StatusCode::OK, "{html}");
    assert_eq!(status(&html), "В работе");
}

// S1-6, S1-28: a moderator takes an appeal in through the form; a double submit makes one card;
// a missing region is refused beside the field with the text kept.
#[tokio::test]
async fn s1_28_intake_through_the_form() {
    let s = Suite::start().await;
    let w = world(&s).await;
    let c = signed_in(&s, "moder", PASSWORD).await;
    let form = get(&c, &format!("{}/appeals/new", base(&s))).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.html);
    let token = csrf(&form.html);
    let rid = hidden(&form.html, "request_id");
    let mut fields = vec![
        ("csrf", token.as_str()),
        ("request_id", rid.as_str()),
        ("citizen_full_name", "Зуева Ольга"),
        ("citizen_phone", "+7 (912) 000-11-22"),
        ("geography_federal_district_id", w.district.as_str()),
        ("geography_region_id", ""),
        ("executor_org_id", w.org.as_str()),
        ("channel", "call_centre"),
        ("text", "Не вывозят мусор"),
    ];
    let bad = post(&c, &format!("{}/appeals/new", base(&s)), &fields).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.html);
    assert!(bad.html.contains("id=\"e-geography_region_id\""), "{}", bad.html);
    assert!(bad.html.contains("Не вывозят мусор</textarea>"));
    fields[5] = ("geography_region_id", w.oblast.as_str());
    let card = post(&c, &format!("{}/appeals/new", base(&s)), &fields).await;
    assert_eq!(card.status, StatusCode::OK, "{}", card.html);
    assert!(card.html.contains("Обращение создано.") && card.html.contains("Зуева Ольга"));
    let again = post(&c, &format!("{}/appeals/new", base(&s)), &fields).await;
    assert_eq!(again.url, card.url, "the same request id opens the same card");
    let journal = get(&c, &format!("{}/appeals?lock=any&citizen_name=%D0%97%D1%83%D0%B5%D0%B2%D0%B0", base(&s))).await;
    assert_eq!(rows(&journal.html), 1, "one card for a double submit");
}

/// Every field a browser would post from the form at `marker` in `html`: inputs with their values
/// (checkboxes only when ticked), the selected option of each select, the text of each textarea.
fn form_fields(html: &str, marker: &str) -> Vec<(String, String)> {
    let start = html.find(marker).unwrap_or_else(|| panic!("no form {marker} in:\n{html}"));
    let form = &html[start..start + html[start..].find("</form>").expect("form ends")];
    let attr = |tag: &str, name: &str| -> Option<String> {
        let m = format!(" {name}=\"");
        let at = tag.find(&m)? + m.len();
        Some(unescape(&tag[at..at + tag[at..].find('"')?]))
    };
    let mut out = Vec::new();
    for (i, _) in form.match_indices("<input") {
        let tag = &form[i..i + form[i..].find('>').expect("tag ends")];
        let Some(name) = attr(tag, "name") else { continue };
        if attr(tag, "type").as_deref() == Some("checkbox") && !tag.contains(" checked") {
            continue;
        }
        out.push((name, attr(tag, "value").unwrap_or_default()));
    }
    for (i, _) in form.match_indices("<select") {
        let body = &form[i..i + form[i..].find("</select>").expect("select ends")];
        let name = attr(&body[..body.find('>').expect("tag ends")], "name").expect("select name");
        let value = body
            .match_indices("<option")
            .map(|(j, _)| &body[j..j + body[j..].find('>').expect("option ends")])
            .find(|o| o.contains(" selected"))
            .and_then(|o| attr(o, "value"))
            .unwrap_or_default();
        out.push((name, value));
    }
    for (i, _) in form.match_indices("<textarea") {
        let open = i + form[i..].find('>').expect("tag ends") + 1;
        let name = attr(&form[i..open], "name").expect("textarea name");
        let text = &form[open..open + form[open..].find("</textarea>").expect("textarea ends")];
        out.push((name, unescape(text)));
    }
    out
}

// S1-5, S1-30: a supervisor assigns an executor; one who already holds a card is refused with
// that card's number. S1-6: a moderator corrects a card's field with «Изменить».
#[tokio::test]
async fn s1_5_the_supervisor_assigns_and_the_moderator_corrects() {
    let s = Suite::start().await;
    let w = world(&s).await;
    let held = appeal(&s, &w, "Первый Заявитель", "+7 900 000-00-01", &w.moscow, "Первое").await;
    let free = appeal(&s, &w, "Второй Заявитель", "+7 900 000-00-02", &w.moscow, "Второе").await;
    let exec2 = signed_in(&s, "exec2", PASSWORD).await;
    let (code, _) = act(&exec2, &s, &held.id, "take", &[]).await;
    assert_eq!(code, StatusCode::OK);

    let sup = signed_in(&s, "super", PASSWORD).await;
    let card = get(&sup, &format!("{}/appeals/{}", base(&s), free.id)).await;
    assert!(card.html.contains("id=\"action-assign\""), "«Назначить исполнителя» offered: {}", card.html);
    let option = |surname: &str| {
        let at = card.html.find(&format!(">{surname} Тест</option>")).unwrap_or_else(|| panic!("no {surname}"));
        let open = card.html[..at].rfind("value=\"").expect("option value") + 7;
        card.html[open..open + card.html[open..].find('"').expect("value ends")].to_string()
    };
    let (busy, idle) = (option("Вторых"), option("Исполнителев"));
    let (code, html) = act(&sup, &s, &free.id, "assign", &[("executor_id", busy.as_str())]).await;
    assert_eq!(code, StatusCode::CONFLICT, "{html}");
    assert!(html.contains(&format!("№ {}", held.number)), "the refusal names the held card: {html}");
    assert!(html.contains("id=\"action-assign\" open"), "the form stays open");
    let (code, html) = act(&sup, &s, &free.id, "assign", &[("executor_id", idle.as_str())]).await;
    assert_eq!(code, StatusCode::OK, "{html}");
    assert_eq!(status(&html), "В работе");
    assert!(html.contains("class=\"holder\">Исполнителев Тест"), "{html}");

    let moder = signed_in(&s, "moder", PASSWORD).await;
    let form = get(&moder, &format!("{}/appeals/{}/edit", base(&s), free.id)).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.html);
    let mut fields = form_fields(&form.html, "class=\"form appeal-form\"");
    for (k, v) in fields.iter_mut() {
        if k == "citizen_phone" {
            *v = "+7 (900) 999-88-77".into();
        }
    }
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let saved = post(&moder, &format!("{}/appeals/{}/edit", base(&s), free.id), &fields).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.html);
    assert!(saved.html.contains("Карточка обращения сохранена."), "{}", saved.html);
    assert!(saved.html.contains("+7 (900) 999-88-77") && saved.html.contains("Второй Заявитель"));
    assert!(saved.html.contains("Второе"), "the other fields are kept");
    // The same form, opened before that save, carries the old version: refused, the typed text kept.
    let stale: Vec<(&str, &str)> =
        fields.iter().map(|(k, v)| if *k == "citizen_phone" { (*k, "+7 (900) 111-11-11") } else { (*k, *v) }).collect();
    let refused = post(&moder, &format!("{}/appeals/{}/edit", base(&s), free.id), &stale).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.html);
    assert!(refused.html.contains("Карточку только что изменил другой пользователь"), "{}", refused.html);
    assert!(refused.html.contains("value=\"+7 (900) 111-11-11\""), "the typed phone stays");
}
