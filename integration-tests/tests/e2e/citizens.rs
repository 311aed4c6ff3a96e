//! The patronage pages of the gateway over HTTP, as a browser without
//! JavaScript would use them, against identity, cases, files and
//! notifications started by the harness. Covers S0-16, S0-26…S0-38,
//! S0-40, S0-41, S0-81…S0-86, S0-98…S0-117.
use std::time::Duration;

use opeka_integration_tests::Suite;
use opeka_integration_tests::web::{base, csrf, field_block, get, post, signed_in, submit, text_of, unescape};
use opeka_proto::cases::{CreateCitizenRequest, cases_service_client::CasesServiceClient};
use opeka_proto::files::{UploadFileRequest, files_service_client::FilesServiceClient};
use opeka_proto::identity::{CreateStaffAccountRequest, Role};
use opeka_testkit::{Service, wait_within};
use reqwest::StatusCode;

/// A curator account; returns its id.
async fn curator(s: &Suite, login: &str, surname: &str) -> String {
    let token = s.admin_token().await;
    let msg = CreateStaffAccountRequest {
        surname: surname.into(),
        name: "Вера".into(),
        login: login.into(),
        password: "Secret-123".into(),
        password_repeat: "Secret-123".into(),
        roles: vec![Role::Curator as i32],
        ..Default::default()
    };
    s.identity().create_staff_account(s.request(&token, msg)).await.expect("create curator").into_inner().id
}

/// A citizen of the curator `login`, created through cases; returns (id, account id).
async fn citizen_of(s: &Suite, login: &str, surname: &str) -> (String, String) {
    let token = s.access_token(login, "Secret-123").await;
    let mut cases = CasesServiceClient::new(s.channel(Service::Cases));
    let msg = CreateCitizenRequest {
        surname: surname.into(),
        name: "Пётр".into(),
        phone: "+7 900 111-22-33".into(),
        ..Default::default()
    };
    let c = cases.create_citizen(s.request(&token, msg)).await.expect("create citizen").into_inner();
    (c.id, c.account_id)
}

fn citizen_form<'a>(surname: &'a str, inn: &'a str, phone: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("surname", surname),
        ("name", "Иван"),
        ("patronymic", "Петрович"),
        ("birth_date", "1980-04-12"),
        ("inn", inn),
        ("phone", phone),
        ("email", ""),
        ("district_id", ""),
        ("situation", "Нужна помощь с оформлением пособия"),
    ]
}

// S0-16: the curator's own menu; the admin's has the whole S0-16 list.
#[tokio::test]
async fn s0_16_menus_of_the_admin_and_the_curator() {
    let s = Suite::start().await;
    curator(&s, "menu-curator", "Меню").await;
    let admin = signed_in(&s, &s.admin_login, &s.admin_password).await;
    let home = get(&admin, &format!("{}/", base(&s))).await;
    for item in ["Пользователи", "Соц. кураторы", "Активность", "Районы", "Типы сообщений (файлов)", "Особые группы"]
    {
        assert!(home.html.contains(item), "admin menu lacks {item}");
    }
    assert!(home.html.contains("/settings"), "admin menu lacks «Настройки»");
    let cur = signed_in(&s, "menu-curator", "Secret-123").await;
    let home = get(&cur, &format!("{}/", base(&s))).await;
    for item in ["Пользователи", "Активность", "Районы", "Типы сообщений (файлов)", "Особые группы", "Выйти"]
    {
        assert!(home.html.contains(item), "curator menu lacks {item}");
    }
    assert!(!home.html.contains("/curators\""), "curator sees «Соц. кураторы»");
    assert!(!home.html.contains("/settings\""), "curator sees «Настройки»");
}

// S0-26, S0-28…S0-35, S0-38, S0-111: the curator adds a citizen with the
// form, lands on the card with the activation code and its expiry; the
// bot tabs are unavailable with the reason; a part of the surname finds it.
#[tokio::test]
async fn s0_35_curator_creates_a_citizen_and_sees_the_activation_code() {
    let s = Suite::start().await;
    curator(&s, "kurator1", "Кураторова").await;
    let c = signed_in(&s, "kurator1", "Secret-123").await;

    let list = get(&c, &format!("{}/citizens", base(&s))).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.html);
    assert!(list.html.contains("Добавить"), "S0-26");
    let form = get(&c, &format!("{}/citizens/new", base(&s))).await;
    for label in [
        "Фамилия",
        "Имя",
        "Отчество",
        "Дата рождения",
        "ИНН",
        "Номер телефона",
        "Электронная почта",
        "Описание ситуации",
    ] {
        assert!(form.html.contains(label), "form lacks {label}");
    }
    assert!(form.html.contains("Показать особые группы"), "S0-109");
    assert!(form.html.contains("Неактивный пользователь"), "S0-31");
    // S0-32: surname, name and phone carry the required mark.
    for f in ["surname", "name", "phone"] {
        assert!(field_block(&form.html, f).contains("class=\"req\""), "{f} not marked required");
    }

    let new = format!("{}/citizens/new", base(&s));
    let card = submit(&c, &new, &new, &citizen_form("Ёлкина", "", "8 (900) 555-44-33")).await;
    assert_eq!(card.status, StatusCode::OK, "{}", card.html);
    assert!(card.url.contains("/citizens/"), "landed on {}", card.url);
    assert!(card.html.contains("Карточка создана."), "{}", card.html);
    assert!(card.html.contains("Код активации"), "S0-35: {}", card.html);
    let code = text_of(&card.html, "activation-code").expect("activation code shown");
    assert!(!code.is_empty(), "empty activation code");
    let expires = text_of(&card.html, "activation-expires").expect("expiry shown");
    assert!(expires.contains('.'), "expiry not a date: {expires}");
    assert!(card.html.contains("Продлить срок действия кода"), "S0-36");
    // S0-38: tabs needing the bot are shown but unavailable, with the reason.
    for tab in ["Программа поддержки", "Файлы пользователя", "История взаимодействия", "Отклонения"]
    {
        assert!(card.html.contains(tab), "tab {tab} missing");
    }
    assert!(card.html.contains("tab unavailable"), "bot tabs not marked unavailable");
    assert!(card.html.contains("Станет доступно после активации бота"), "no reason given");
    let files_tab = get(&c, &format!("{}?tab=files", card.url.split('?').next().unwrap())).await;
    assert!(!files_tab.html.contains("id=\"files-heading\""), "files tab opened before activation");

    // S0-36: «Продлить» works and the code stays shown.
    let card_url = card.url.split('?').next().unwrap().to_string();
    let extended = submit(&c, &card_url, &format!("{card_url}/bot-link"), &[]).await;
    assert!(extended.html.contains("Срок действия кода продлён."), "{}", extended.html);
    assert!(text_of(&extended.html, "activation-code").is_some());

    // S0-111: a part of the surname finds it (ё/е and case do not matter).
    let found = get(&c, &format!("{}/citizens?query=елк", base(&s))).await;
    assert!(found.html.contains("Ёлкина Иван Петрович"), "{}", found.html);
    let none = get(&c, &format!("{}/citizens?query=zzzz", base(&s))).await;
    assert!(!none.html.contains("Ёлкина"), "search found a stranger");
    // S0-111: by the situation text too.
    let by_situation = get(&c, &format!("{}/citizens?situation=пособ", base(&s))).await;
    assert!(by_situation.html.contains("Ёлкина Иван Петрович"), "{}", by_situation.html);
}

// S0-33: new citizens at the end of the list.
#[tokio::test]
async fn s0_33_new_citizens_are_listed_last() {
    let s = Suite::start().await;
    curator(&s, "kurator-order", "Порядкова").await;
    for surname in ["Яковлев", "Абрамов", "Михайлов"] {
        citizen_of(&s, "kurator-order", surname).await;
    }
    let c = signed_in(&s, "kurator-order", "Secret-123").await;
    let list = get(&c, &format!("{}/citizens", base(&s))).await;
    let pos = |n: &str| list.html.find(n).unwrap_or_else(|| panic!("{n} missing"));
    assert!(pos("Яковлев") < pos("Абрамов") && pos("Абрамов") < pos("Михайлов"), "not in creation order");
}

// S0-32 and bad input: a bad INN and a bad phone, a missing surname — each
// message beside its field, the input kept, nothing stored.
#[tokio::test]
async fn s0_32_bad_inn_and_phone_show_field_errors() {
    let s = Suite::start().await;
    curator(&s, "kurator-bad", "Ошибкина").await;
    let c = signed_in(&s, "kurator-bad", "Secret-123").await;
    let new = format!("{}/citizens/new", base(&s));
    let page = submit(&c, &new, &new, &citizen_form("Неверный", "123456789012", "12345")).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.html);
    assert!(field_block(&page.html, "inn").contains("field-error"), "{}", field_block(&page.html, "inn"));
    assert!(field_block(&page.html, "phone").contains("field-error"), "{}", field_block(&page.html, "phone"));
    assert!(field_block(&page.html, "inn").contains("ИНН"), "{}", field_block(&page.html, "inn"));
    assert!(page.html.contains("value=\"Неверный\""), "input not kept");

    let page = submit(&c, &new, &new, &citizen_form("", "", "")).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(field_block(&page.html, "surname").contains("Укажите фамилию."));
    assert!(field_block(&page.html, "phone").contains("Укажите номер телефона."));

    let list = get(&c, &format!("{}/citizens", base(&s))).await;
    assert!(!list.html.contains("Неверный"), "a refused card was stored");
}

// Access: a curator cannot open another curator's citizen, nor its files.
#[tokio::test]
async fn a_curator_cannot_open_another_curators_citizen() {
    let s = Suite::start().await;
    curator(&s, "kurator-a", "Первая").await;
    curator(&s, "kurator-b", "Вторая").await;
    let (id, _) = citizen_of(&s, "kurator-a", "Чужой").await;
    let b = signed_in(&s, "kurator-b", "Secret-123").await;
    let card = get(&b, &format!("{}/citizens/{id}", base(&s))).await;
    assert_eq!(card.status, StatusCode::NOT_FOUND, "{}", card.html);
    assert!(!card.html.contains("Чужой"));
    let edit = get(&b, &format!("{}/citizens/{id}/edit", base(&s))).await;
    assert_eq!(edit.status, StatusCode::NOT_FOUND);
    let list = get(&b, &format!("{}/citizens", base(&s))).await;
    assert!(!list.html.contains("Чужой"), "another curator's citizen listed");
    // The owner opens it.
    let a = signed_in(&s, "kurator-a", "Secret-123").await;
    assert_eq!(get(&a, &format!("{}/citizens/{id}", base(&s))).await.status, StatusCode::OK);
}

// S0-114…S0-117: the admin ticks citizens, «Перевод пользователей» shows how
// many, «Кому перевести», «Перевести»; the list shows the new curator.
#[tokio::test]
async fn s0_116_admin_transfers_citizens_to_another_curator() {
    let s = Suite::start().await;
    curator(&s, "kurator-from", "Отдающая").await;
    curator(&s, "kurator-to", "Принимающая").await;
    let to_id = {
        let token = s.admin_token().await;
        let msg = opeka_proto::identity::ListAccountsRequest {
            kind: opeka_proto::identity::AccountKind::Staff as i32,
            query: "kurator-to".into(),
            page_size: 10,
            ..Default::default()
        };
        s.identity().list_accounts(s.request(&token, msg)).await.unwrap().into_inner().accounts[0].id.clone()
    };
    let (a, _) = citizen_of(&s, "kurator-from", "Переводимый").await;
    let (b, _) = citizen_of(&s, "kurator-from", "Переводимая").await;
    let (stay, _) = citizen_of(&s, "kurator-from", "Остающийся").await;
    let admin = signed_in(&s, &s.admin_login, &s.admin_password).await;
    let list = get(&admin, &format!("{}/citizens", base(&s))).await;
    assert!(list.html.contains("Перевести выбранных пользователей другому соц. куратору"), "S0-115");
    assert!(list.html.contains("name=\"citizen_id\""), "no checkboxes");

    let form_url = format!("{}/citizens/transfer?citizen_id={a}&citizen_id={b}", base(&s));
    let form = get(&admin, &form_url).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.html);
    assert!(form.html.contains("Перевод пользователей"));
    assert_eq!(text_of(&form.html, "transfer-count").as_deref(), Some("2"), "S0-116 count");
    assert!(form.html.contains("Кому перевести") && form.html.contains(">Перевести<"), "S0-116");

    // Without a curator: the error beside «Кому перевести».
    let token = csrf(&form.html);
    let action = format!("{}/citizens/transfer", base(&s));
    let refused =
        post(&admin, &action, &[("csrf", &token), ("citizen_id", &a), ("citizen_id", &b), ("to_curator_id", "")]).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.html);
    assert!(field_block(&refused.html, "to_curator_id").contains("Выберите, кому перевести."));

    let done =
        post(&admin, &action, &[("csrf", &token), ("citizen_id", &a), ("citizen_id", &b), ("to_curator_id", &to_id)])
            .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.html);
    assert!(done.html.contains("Перевод выполнен."), "{}", done.html);
    // S0-117: the column shows the new curator.
    for (id, who) in [(&a, "Принимающая"), (&b, "Принимающая"), (&stay, "Отдающая")] {
        let at = done.html.find(&format!("/citizens/{id}\"")).expect("row");
        let cell = text_of(&done.html[at..], "curator-cell").expect("curator cell");
        assert!(cell.starts_with(who), "{id}: {cell}");
    }
    // A curator cannot transfer.
    let cur = signed_in(&s, "kurator-from", "Secret-123").await;
    assert_eq!(get(&cur, &form_url).await.status, StatusCode::FORBIDDEN);
}

// S0-98…S0-108: «Районы», «Типы сообщений (файлов)», «Особые группы».
#[tokio::test]
async fn s0_98_reference_pages_add_rename_delete() {
    let s = Suite::start().await;
    let admin = signed_in(&s, &s.admin_login, &s.admin_password).await;
    let b = base(&s);

    // «Районы»: add twice (the new one last, S0-101), rename (S0-99), search (S0-98).
    for name in ["Центральный", "Адмиралтейский"] {
        let done =
            submit(&admin, &format!("{b}/districts/new"), &format!("{b}/districts/new"), &[("name", name)]).await;
        assert_eq!(done.status, StatusCode::OK, "{}", done.html);
        assert!(done.url.contains("/districts"), "{}", done.url);
    }
    let list = get(&admin, &format!("{b}/districts")).await;
    assert!(list.html.find("Центральный").unwrap() < list.html.find("Адмиралтейский").unwrap(), "S0-101");
    let at = list.html.find(">Центральный<").unwrap();
    let href_start = list.html[..at].rfind("href=\"").unwrap() + 6;
    let edit = &list.html[href_start..at - 1];
    let edit_url = format!("{}{}", s.url(Service::Gateway), unescape(edit));
    let renamed = submit(&admin, &edit_url, &edit_url, &[("name", "Центральный-2")]).await;
    assert!(renamed.html.contains("Центральный-2"), "{}", renamed.html);
    let found = get(&admin, &format!("{b}/districts?query=адмирал")).await;
    assert!(found.html.contains("Адмиралтейский") && !found.html.contains("Центральный-2"), "{}", found.html);
    let empty = submit(&admin, &format!("{b}/districts/new"), &format!("{b}/districts/new"), &[("name", " ")]).await;
    assert_eq!(empty.status, StatusCode::BAD_REQUEST);
    assert!(field_block(&empty.html, "name").contains("field-error"));

    // «Типы сообщений (файлов)»: alphabetical (S0-105), delete with «Корзина» (S0-103).
    for name in ["Справка", "Акт", "Выписка"] {
        let url = format!("{b}/file-types/new");
        assert_eq!(submit(&admin, &url, &url, &[("name", name)]).await.status, StatusCode::OK);
    }
    let list = get(&admin, &format!("{b}/file-types")).await;
    let p = |n: &str| list.html.find(&format!(">{n}<")).unwrap_or_else(|| panic!("{n} missing"));
    assert!(p("Акт") < p("Выписка") && p("Выписка") < p("Справка"), "not alphabetical");
    assert!(list.html.contains("Корзина"));
    let at = p("Акт");
    let row_end = list.html[at..].find("</tr>").unwrap() + at;
    let del_start = list.html[at..row_end].find("/delete").unwrap() + at;
    let href_start = list.html[..del_start].rfind("href=\"").unwrap() + 6;
    let del_url =
        format!("{}{}", s.url(Service::Gateway), unescape(&list.html[href_start..del_start + "/delete".len()]));
    let confirm = get(&admin, &del_url).await;
    assert!(confirm.html.contains("Удалить тип файла?"), "{}", confirm.html);
    let deleted = post(&admin, &del_url, &[("csrf", &csrf(&confirm.html))]).await;
    assert!(deleted.html.contains("Запись удалена.") && !deleted.html.contains(">Акт<"), "{}", deleted.html);

    // «Особые группы»: the admin adds; a curator reads without the buttons (S0-107, S0-108).
    let url = format!("{b}/special-groups/new");
    assert_eq!(submit(&admin, &url, &url, &[("name", "Многодетные семьи")]).await.status, StatusCode::OK);
    curator(&s, "kurator-ref", "Справочная").await;
    let cur = signed_in(&s, "kurator-ref", "Secret-123").await;
    let groups = get(&cur, &format!("{b}/special-groups")).await;
    assert!(groups.html.contains("Многодетные семьи"), "{}", groups.html);
    assert!(groups.html.contains("только администратор"), "S0-108 note");
    assert!(!groups.html.contains("/special-groups/new"), "curator offered «Добавить»");
    assert_eq!(get(&cur, &url).await.status, StatusCode::FORBIDDEN);
    // S0-109: the group is offered on the citizen form.
    let form = get(&cur, &format!("{b}/citizens/new")).await;
    assert!(form.html.contains("Многодетные семьи"));
}

// S0-81…S0-86, S0-95: a file received for a citizen appears in «Активность»;
// the filters narrow it; the file opens straight from the row; the tick.
#[tokio::test]
async fn s0_82_activity_filters_tick_and_file_from_the_row() {
    let s = Suite::start().await;
    curator(&s, "kurator-act", "Активная").await;
    let (id, account) = citizen_of(&s, "kurator-act", "Файлов").await;
    let token = s.access_token("kurator-act", "Secret-123").await;
    let mut files = FilesServiceClient::new(s.channel(Service::Files));
    let body = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n".to_vec();
    let msg = UploadFileRequest {
        citizen_id: account.clone(),
        original_name: "справка.pdf".into(),
        declared_content_type: "application/pdf".into(),
        chunk: body.clone(),
        ..Default::default()
    };
    let file =
        files.upload_file(s.request(&token, futures::stream::iter(vec![msg]))).await.expect("upload").into_inner();

    let c = signed_in(&s, "kurator-act", "Secret-123").await;
    let b = base(&s);
    let page = wait_within("the file's activity row", Duration::from_secs(10), async || {
        Some(get(&c, &format!("{b}/activity")).await).filter(|page| page.html.contains("open-file"))
    })
    .await;
    assert!(page.html.contains("Файлов Пётр"), "activity did not arrive: {}", page.html);
    for label in [
        "ФИО пользователя",
        "Район",
        "Фильтр Просмотрено",
        "Тип",
        "Дата начала",
        "Дата окончания",
        "За сегодня",
        "За вчера",
        "За эту неделю",
    ] {
        assert!(page.html.contains(label), "filter {label} missing");
    }
    // S0-86: the file opens from the row.
    let file_href = format!("/citizens/{id}/files/{}", file.id);
    assert!(page.html.contains(&file_href), "no file link in the row");
    let r = c.get(format!("{b}{file_href}")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()["content-disposition"].to_str().unwrap().starts_with("attachment;"));
    assert_eq!(r.bytes().await.unwrap().to_vec(), body);

    let has = |html: &str| html.contains("Файлов Пётр");
    assert!(has(&get(&c, &format!("{b}/activity?kind=file")).await.html));
    assert!(!has(&get(&c, &format!("{b}/activity?kind=contact")).await.html));
    assert!(has(&get(&c, &format!("{b}/activity?period=today")).await.html));
    assert!(!has(&get(&c, &format!("{b}/activity?period=yesterday")).await.html));
    assert!(has(&get(&c, &format!("{b}/activity?citizen=файл")).await.html));
    assert!(!has(&get(&c, &format!("{b}/activity?citizen=никто")).await.html));
    assert!(!has(&get(&c, &format!("{b}/activity?from=2000-01-01&to=2000-01-02")).await.html));
    assert!(!has(&get(&c, &format!("{b}/activity?processed=yes")).await.html));

    // S0-95: the tick, then «Отработанные» shows it.
    let page = get(&c, &format!("{b}/activity?kind=file")).await;
    let at = page.html.find("/processed\"").expect("tick form");
    let action_start = page.html[..at].rfind("action=\"").unwrap() + 8;
    let action = format!("{}{}", s.url(Service::Gateway), unescape(&page.html[action_start..at + "/processed".len()]));
    let ticked = post(&c, &action, &[("csrf", &csrf(&page.html)), ("processed", "1"), ("back", "kind=file")]).await;
    assert_eq!(ticked.status, StatusCode::OK, "{}", ticked.html);
    assert!(ticked.url.contains("kind=file"), "filters lost: {}", ticked.url);
    assert!(ticked.html.contains("✓ Отработано"), "{}", ticked.html);
    assert!(has(&get(&c, &format!("{b}/activity?processed=yes")).await.html));
    assert!(!has(&get(&c, &format!("{b}/activity?processed=no")).await.html));

    // S0-40: the same file is listed in «Файлы пользователя» once the bot is
    // active; before that the tab is unavailable (S0-38).
    let card = get(&c, &format!("{b}/citizens/{id}?tab=files")).await;
    assert!(card.html.contains("tab unavailable"));
}
