//! «Программа поддержки», «Отклонения» and «Дата встречи с соц. куратором»
//! through the gateway over HTTP, as a browser without JavaScript (and the
//! calendar widget's JSON) would use them, against identity, cases and
//! scheduler started by the harness. Covers S0-46, S0-58…S0-80, S0-96,
//! S0-97, S0-110.
use std::time::Duration;

use chrono::{Days, Utc};
use opeka_integration_tests::web::{base, csrf, field_block, get, post, signed_in, unescape};
use opeka_integration_tests::{PASSWORD, Suite};
use opeka_proto::cases::{
    CreateCitizenRequest, GetCitizenBotLinkRequest, GetCitizenRequest, cases_service_client::CasesServiceClient,
};
use opeka_proto::identity::{
    CreateServiceAccountRequest, CreateStaffAccountRequest, IssueServiceTokenRequest, RedeemBotLinkCodeRequest, Role,
};
use opeka_testkit::{Service, wait_within};
use reqwest::{Client, StatusCode};

async fn curator(s: &Suite, login: &str) {
    let token = s.admin_token().await;
    let msg = CreateStaffAccountRequest {
        surname: "Кураторова".into(),
        name: "Вера".into(),
        login: login.into(),
        password: PASSWORD.into(),
        password_repeat: PASSWORD.into(),
        roles: vec![Role::Curator as i32],
        ..Default::default()
    };
    s.identity().create_staff_account(s.request(&token, msg)).await.expect("create curator");
}

/// A citizen of curator `login` who has activated the bot (the code
/// redeemed by a BOT service account, as the bot does); returns the card id.
async fn activated_citizen(s: &Suite, login: &str, surname: &str, chat: i64) -> String {
    let token = s.access_token(login, PASSWORD).await;
    let mut cases = CasesServiceClient::new(s.channel(Service::Cases));
    let msg = CreateCitizenRequest {
        surname: surname.into(),
        name: "Мария".into(),
        phone: "+7 900 111-22-33".into(),
        ..Default::default()
    };
    let c = cases.create_citizen(s.request(&token, msg)).await.expect("create citizen").into_inner();
    let link = cases
        .get_citizen_bot_link(s.request(&token, GetCitizenBotLinkRequest { citizen_id: c.id.clone() }))
        .await
        .expect("bot link")
        .into_inner();
    let admin = s.admin_token().await;
    let msg = CreateServiceAccountRequest { name: format!("Бот {chat}"), roles: vec![Role::Bot as i32] };
    let acc = s.identity().create_service_account(s.request(&admin, msg)).await.expect("bot account").into_inner();
    let msg = IssueServiceTokenRequest {
        tenant: s.tenant.clone(),
        client_id: acc.client_id,
        client_secret: acc.client_secret,
    };
    let bot = s.identity().issue_service_token(msg).await.expect("bot token").into_inner().access_token;
    let msg = RedeemBotLinkCodeRequest { code: link.code, telegram_chat_id: chat };
    s.identity().redeem_bot_link_code(s.request(&bot, msg)).await.expect("redeem");
    wait_within("the citizen's bot shown as activated", Duration::from_secs(10), async || {
        let got = cases.clone().get_citizen(s.request(&token, GetCitizenRequest { id: c.id.clone() })).await;
        got.ok()?.into_inner().bot_activated.then_some(())
    })
    .await;
    c.id
}

/// `days` from today, as the form's date inputs send it.
fn day(days: u64) -> String {
    (Utc::now().date_naive() + Days::new(days)).to_string()
}

fn series_fields<'a>(
    kind: &'a str,
    description: &'a str,
    frequency: &'a str,
    start: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("kind", kind),
        ("description", description),
        ("frequency", frequency),
        ("interval", "1"),
        ("start_date", start),
        ("end", "count"),
        ("count", "3"),
        ("until_date", ""),
        ("time_of_day", "10:30"),
        ("pause_from", ""),
        ("pause_to", ""),
    ]
}

/// The value of the hidden input `name` in a rendered form.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no {name} in:\n{html}")) + marker.len();
    let end = html[start..].find('"').expect("value ends");
    html[start..start + end].to_string()
}

/// Posts the «Создать задание» form as a browser would: csrf and the form's
/// own request id from the page that showed it.
async fn post_series(
    c: &Client,
    form_page: &str,
    action: &str,
    fields: &[(&str, &str)],
    button: &str,
) -> (String, StatusCode, String) {
    let token = csrf(form_page);
    let request_id = hidden(form_page, "request_id");
    let mut all = vec![("csrf", token.as_str()), ("request_id", request_id.as_str()), ("action", button)];
    all.extend_from_slice(fields);
    let page = post(c, action, &all).await;
    (page.html, page.status, page.url)
}

async fn events(c: &Client, s: &Suite, citizen: &str, query: &str) -> Vec<serde_json::Value> {
    let url = format!("{}/citizens/{citizen}/program/events?start={}&end={}{query}", base(s), day(0), day(40));
    let r = c.get(&url).send().await.expect("GET events");
    assert_eq!(r.status(), StatusCode::OK, "{url}");
    let ct = r.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    assert!(ct.starts_with("application/json"), "calendar data is JSON, got {ct}");
    r.json::<serde_json::Value>().await.expect("json").as_array().expect("an array of events").clone()
}

// S0-58, S0-59, S0-62, S0-65, S0-72…S0-75: the curator opens the tab, adds a
// task with «Сохранить и продолжить» (the form stays, the text is cleared),
// then another with «Сохранить и закрыть»; the calendar data lists them blue.
#[tokio::test]
async fn s0_73_create_through_the_form_continue_then_close() {
    let s = Suite::start().await;
    curator(&s, "prog1").await;
    let id = activated_citizen(&s, "prog1", "Программова", 910_001).await;
    let c = signed_in(&s, "prog1", PASSWORD).await;

    // S0-58: the tab opens a calendar page with «Добавить».
    let tab = get(&c, &format!("{}/citizens/{id}?tab=program", base(&s))).await;
    assert_eq!(tab.status, StatusCode::OK, "{}", tab.html);
    assert!(tab.html.contains("data-calendar"), "the calendar's mount point");
    for words in ["Добавить", "Назад", "Вперед", "Сегодня", "Месяц", "Неделя", "День", "Тип задания"]
    {
        assert!(tab.html.contains(words), "the tab lacks «{words}»");
    }

    // S0-59: «Добавить» (or a clicked slot) opens «Создать задание».
    let new_url = format!("{}/citizens/{id}/program/new", base(&s));
    let form = get(&c, &format!("{new_url}?date={}&time=10:30", day(2))).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.html);
    assert!(form.html.contains("Создать задание"));
    for label in ["Тип задания", "Описание задания", "Повторение", "Время напоминания", "Исключение"]
    {
        assert!(form.html.contains(label), "form lacks {label}");
    }
    for kind in
        ["Меры поддержки", "Информация для Вас", "Дата встречи с соц. куратором", "Напоминание для соц. куратора"]
    {
        assert!(form.html.contains(kind), "S0-62: no «{kind}»");
    }
    assert!(form.html.contains(&format!("value=\"{}\"", day(2))), "the clicked date is taken");

    // S0-73: «Сохранить и продолжить» saves and keeps the form, text cleared.
    let start = day(2);
    let fields = series_fields("info", "Принести справку о доходах", "daily", &start);
    let (html, status, _) = post_series(&c, &form.html, &new_url, &fields, "continue").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("Задание сохранено. Можно вносить следующее."), "{html}");
    assert!(!html.contains("Принести справку о доходах"), "the description is cleared");
    assert!(html.contains("value=\"daily\" selected"), "repetition kept");
    assert!(html.contains("value=\"info\" selected"), "type kept");
    assert!(html.contains("value=\"10:30\""), "time kept");
    assert!(html.contains(&format!("value=\"{start}\"")), "date kept");
    assert_ne!(hidden(&html, "request_id"), hidden(&form.html, "request_id"), "the next task is a new request");

    // S0-74: «Сохранить и закрыть» returns to the calendar.
    let fields = series_fields("support", "Оформить субсидию", "once", &start);
    let (card, status, url) = post_series(&c, &html, &new_url, &fields, "close").await;
    assert_eq!(status, StatusCode::OK, "{card}");
    assert!(url.contains("tab=program"), "landed on {url}");
    for words in ["Задание сохранено.", "Оформить субсидию", "Принести справку о доходах"]
    {
        assert!(card.contains(words), "the card lacks «{words}»: {card}");
    }

    // S0-75: the calendar data lists 3 + 1 occurrences, all blue (planned).
    let all = events(&c, &s, &id, "").await;
    assert_eq!(all.len(), 4, "{all:?}");
    assert!(all.iter().all(|e| e["colour"] == "blue"), "{all:?}");
    assert!(all.iter().all(|e| e["url"].as_str().is_some_and(|u| u.contains("/program/series/"))));
    // S0-60: filtered by type.
    let info = events(&c, &s, &id, "&kind=info").await;
    assert_eq!(info.len(), 3, "{info:?}");
    assert!(events(&c, &s, &id, "&kind=meeting").await.is_empty());
}

// S0-70: more than 500 repetitions is refused beside «Количество повторений»,
// and the form keeps what was typed; a repeated post of one form makes one task.
#[tokio::test]
async fn s0_70_a_violation_is_shown_beside_its_field_and_retries_are_idempotent() {
    let s = Suite::start().await;
    curator(&s, "prog2").await;
    let id = activated_citizen(&s, "prog2", "Нарушенова", 910_002).await;
    let c = signed_in(&s, "prog2", PASSWORD).await;
    let new_url = format!("{}/citizens/{id}/program/new", base(&s));
    let form = get(&c, &new_url).await;

    let start = day(3);
    let mut fields = series_fields("support", "Слишком много раз", "daily", &start);
    fields.retain(|(k, _)| *k != "count");
    fields.push(("count", "501"));
    let (html, status, _) = post_series(&c, &form.html, &new_url, &fields, "continue").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{html}");
    let count = field_block(&html, "count");
    assert!(count.contains("field-error"), "no error beside «count»: {count}");
    assert!(count.contains("value=\"501\""), "the typed count is kept");
    assert!(html.contains("Слишком много раз"), "the typed description is kept");
    assert!(events(&c, &s, &id, "").await.is_empty(), "nothing was saved");

    // The same form posted twice (a double click, a reload): one task.
    let fields = series_fields("support", "Один раз", "once", &start);
    let (first, status, _) = post_series(&c, &form.html, &new_url, &fields, "continue").await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let (again, status, _) = post_series(&c, &form.html, &new_url, &fields, "continue").await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(events(&c, &s, &id, "").await.len(), 1, "the request id made the retry harmless");
}

// S0-79, S0-80: a reminder's line opens its form; «Изменить» saves the whole
// series; «Удалить» (after a confirmation) removes it.
#[tokio::test]
async fn s0_79_s0_80_edit_and_delete_a_task() {
    let s = Suite::start().await;
    curator(&s, "prog3").await;
    let id = activated_citizen(&s, "prog3", "Правкина", 910_003).await;
    let c = signed_in(&s, "prog3", PASSWORD).await;
    let new_url = format!("{}/citizens/{id}/program/new", base(&s));
    let form = get(&c, &new_url).await;
    let start = day(4);
    let fields = series_fields("support", "Старый текст", "daily", &start);
    let (_, status, _) = post_series(&c, &form.html, &new_url, &fields, "close").await;
    assert_eq!(status, StatusCode::OK);

    // The no-JS list links every reminder to its form.
    let tab = get(&c, &format!("{}/citizens/{id}?tab=program&view=month&date={start}", base(&s))).await;
    assert!(tab.html.contains("data-colour=\"blue\""), "S0-75 marker in the list: {}", tab.html);
    let first = events(&c, &s, &id, "").await;
    let link = first[0]["url"].as_str().expect("an event links its form").to_string();
    let edit = get(&c, &format!("{}{}", s.url(Service::Gateway), unescape(&link))).await;
    assert_eq!(edit.status, StatusCode::OK, "{}", edit.html);
    assert!(edit.html.contains("Изменить") && edit.html.contains("Удалить"), "{}", edit.html);
    assert!(edit.html.contains("Только это напоминание"), "one occurrence can be changed alone");

    let series_url = format!("{}{}", s.url(Service::Gateway), unescape(&link).split('?').next().unwrap());
    let token = csrf(&edit.html);
    let mut all = vec![("csrf", token.as_str()), ("action", "save")];
    let fields = series_fields("support", "Новый текст", "daily", &start);
    all.extend_from_slice(&fields);
    let saved = post(&c, &series_url, &all).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.html);
    assert!(saved.html.contains("Задание изменено."), "{}", saved.html);
    let now = events(&c, &s, &id, "").await;
    assert!(!now.is_empty() && now.iter().all(|e| e["description"] == "Новый текст"), "{now:?}");

    let confirm = get(&c, &format!("{series_url}/delete")).await;
    assert!(confirm.html.contains("Удалить задание"), "{}", confirm.html);
    let token = csrf(&confirm.html);
    let deleted = post(&c, &format!("{series_url}/delete"), &[("csrf", token.as_str())]).await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.html);
    assert!(deleted.html.contains("Задание удалено."), "{}", deleted.html);
    assert!(events(&c, &s, &id, "").await.is_empty(), "planned occurrences are gone");
}

// S0-46, S0-110, S0-96, S0-97: the deviations page and tab render for the
// curator; a meeting set in the card appears on «Дата встречи с соц.
// куратором» with the citizen's name, in its list and its calendar data.
#[tokio::test]
async fn s0_110_s0_96_deviations_and_meetings_pages() {
    let s = Suite::start().await;
    curator(&s, "prog4").await;
    let id = activated_citizen(&s, "prog4", "Встречина", 910_004).await;
    let c = signed_in(&s, "prog4", PASSWORD).await;

    let home = get(&c, &format!("{}/", base(&s))).await;
    assert!(home.html.contains("/deviations\"") && home.html.contains("/meetings\""), "left-menu items");

    let dev = get(&c, &format!("{}/deviations", base(&s))).await;
    assert_eq!(dev.status, StatusCode::OK, "{}", dev.html);
    assert!(dev.html.contains("Отклонения") && dev.html.contains("72 часа"), "{}", dev.html);
    assert!(dev.html.contains("За последние 72 часа отклонений нет."), "nothing answered yet");
    let tab = get(&c, &format!("{}/citizens/{id}?tab=deviations", base(&s))).await;
    assert_eq!(tab.status, StatusCode::OK, "{}", tab.html);
    assert!(tab.html.contains("id=\"deviations-heading\""), "S0-46: {}", tab.html);

    // S0-97: the meeting is set in the card's program.
    let new_url = format!("{}/citizens/{id}/program/new", base(&s));
    let form = get(&c, &format!("{new_url}?kind=meeting")).await;
    let start = day(5);
    let fields = series_fields("meeting", "Встреча в центре соцзащиты", "once", &start);
    let (_, status, _) = post_series(&c, &form.html, &new_url, &fields, "close").await;
    assert_eq!(status, StatusCode::OK);

    // S0-96: the left-menu calendar of meetings.
    let page = get(&c, &format!("{}/meetings?view=month&date={start}", base(&s))).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(page.html.contains("Дата встречи с соц. куратором"));
    assert!(page.html.contains("Встреча в центре соцзащиты"), "{}", page.html);
    assert!(page.html.contains("Встречина"), "the meeting names the citizen");
    let url = format!("{}/meetings/events?start={}&end={}", base(&s), day(0), day(40));
    let json: serde_json::Value = c.get(&url).send().await.expect("GET").json().await.expect("json");
    let list = json.as_array().expect("array");
    assert_eq!(list.len(), 1, "{json}");
    assert_eq!(list[0]["kind"], "meeting");
    assert_eq!(list[0]["colour"], "blue");
    assert!(list[0]["title"].as_str().is_some_and(|t| t.contains("Встречина")), "{json}");
}
