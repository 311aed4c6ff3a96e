//! Legal aid (seed 002) through the gateway over HTTP, as a browser without JavaScript would use
//! the pages, against identity and cases started by the harness: a consultant records, filters,
//! edits and deletes consultations; a referral is printed with the centre's letterhead and the
//! corrected form; a question asked on the public page reaches the district's centre (the menu
//! shows it waiting in red), is answered, and is public only once a moderator approved it.
//! Covers S2-6, S2-7, S2-9…S2-36, S2-41, S2-42.
use opeka_integration_tests::web::{base, browser, csrf, field_block, get, post, signed_in, submit, unescape};
use opeka_integration_tests::{PASSWORD, Suite};
use opeka_proto::identity::{CreateOrganisationRequest, CreateStaffAccountRequest, OrganisationKind, Role};
use reqwest::{Client, StatusCode};

/// A legal-aid centre (an identity organisation of that kind); returns its id.
async fn centre(s: &Suite, name: &str) -> String {
    let token = s.admin_token().await;
    let msg = CreateOrganisationRequest {
        name: name.into(),
        kind: OrganisationKind::LegalAidCentre as i32,
        parent_id: String::new(),
    };
    s.identity().create_organisation(s.request(&token, msg)).await.expect("centre").into_inner().id
}

/// A staff account that signs in with its e-mail (S2-6).
async fn staff(s: &Suite, email: &str, surname: &str, role: Role, org: &str) {
    let token = s.admin_token().await;
    let msg = CreateStaffAccountRequest {
        surname: surname.into(),
        name: "Тест".into(),
        email: email.into(),
        password: PASSWORD.into(),
        password_repeat: PASSWORD.into(),
        roles: vec![role as i32],
        organisation_id: org.into(),
        ..Default::default()
    };
    s.identity().create_staff_account(s.request(&token, msg)).await.expect("create staff");
}

/// The value of the hidden input `name` in a rendered form.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no {name} in:\n{html}")) + marker.len();
    let end = html[start..].find('"').expect("value ends");
    html[start..start + end].to_string()
}

/// The ids linked as `{prefix}{id}` on a page, in page order, without repeats.
fn ids_after(html: &str, prefix: &str) -> Vec<String> {
    let page = unescape(html);
    let mut ids: Vec<String> = Vec::new();
    for (at, _) in page.match_indices(prefix) {
        let id: String = page[at + prefix.len()..].chars().take(36).collect();
        if uuid::Uuid::parse_str(&id).is_ok() && !ids.contains(&id) {
            ids.push(id);
        }
    }
    ids
}

/// The text of the first `<textarea>` on a page.
fn textarea(html: &str) -> String {
    let open = html.find("<textarea").expect("a textarea");
    let start = html[open..].find('>').expect("tag ends") + open + 1;
    let end = html[start..].find("</textarea>").expect("textarea ends") + start;
    html[start..end].replace("&quot;", "\"").replace("&#x27;", "'").replace("&amp;", "&")
}

fn consultation_fields<'a>(full_name: &'a str, age: &'a str, date: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("full_name", full_name),
        ("age", age),
        ("gender_code", "male"),
        ("citizenship_code", "kg"),
        ("social_status_code", "low_income"),
        ("phone", "+996 555 123 456"),
        ("whatsapp", ""),
        ("email", ""),
        ("region_code", "issyk_kul"),
        ("district_code", "karakol"),
        ("city", "Каракол"),
        ("category_codes", "inheritance"),
        ("category_codes", "land"),
        ("help_type_code", "oral"),
        ("written_appeal", "1"),
        ("date", date),
    ]
}

/// Posts the «Добавить обращение» form as a browser would (its csrf and request id).
async fn add_consultation(c: &Client, s: &Suite, fields: &[(&str, &str)]) -> opeka_integration_tests::web::Page {
    let url = format!("{}/legal-aid/consultations/new", base(s));
    let form = get(c, &url).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.html);
    let token = csrf(&form.html);
    let request_id = hidden(&form.html, "request_id");
    let mut all = vec![("csrf", token.as_str()), ("request_id", request_id.as_str())];
    all.extend_from_slice(fields);
    post(c, &url, &all).await
}

// S2-9…S2-28, S2-41: «Обращения» → «Добавить обращение» → «Сохранить»; the list with the seed's
// columns, «Период» and «Возраст» filters and sorting; the detail view, «Редактировать», «Удалить».
#[tokio::test]
async fn s2_10_to_s2_28_a_consultant_records_filters_edits_and_deletes_consultations() {
    let s = Suite::start().await;
    let karakol = centre(&s, "ЦБЮП г. Каракол").await;
    staff(&s, "konsultant@cbyp.kg", "Консультантова", Role::Consultant, &karakol).await;
    // S2-6: the e-mail is the login.
    let c = signed_in(&s, "konsultant@cbyp.kg", PASSWORD).await;
    let list_url = format!("{}/legal-aid/consultations", base(&s));

    // S2-7: the panel, with «Выход» (S2-42).
    let home = get(&c, &format!("{}/", base(&s))).await;
    for item in ["Панель управления", ">Обращения<", ">Перенаправления<", "Онлайн-консультация", ">Выход<"]
    {
        assert!(home.html.contains(item), "the panel lacks {item}: {}", home.html);
    }
    let empty = get(&c, &list_url).await;
    assert_eq!(empty.status, StatusCode::OK, "{}", empty.html);
    assert!(empty.html.contains("Обращений пока нет") && empty.html.contains("Добавить обращение"));

    // S2-11…S2-20: every field of the form.
    let form = get(&c, &format!("{list_url}/new")).await;
    for words in [
        "placeholder=\"Введите ФИО клиента\"",
        "Возраст",
        "Мужской",
        "Кыргызстан",
        "Малоимущие",
        "WhatsApp",
        "Место проживания",
        "Выберите категории",
        "Письменное обращение",
        "Оказано содействие в обеспечении бесплатного адвоката с ЦКГГЮП",
        "Вид помощи",
    ] {
        assert!(form.html.contains(words), "the form lacks {words}");
    }

    // A bad age: the message beside «Возраст», everything typed kept — first the gateway's own
    // check, then cases' range.
    let refused = add_consultation(&c, &s, &consultation_fields("Асанов Бакыт", "сто", "2019-05-03")).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.html);
    let age = field_block(&refused.html, "age");
    assert!(age.contains("field-error") && age.contains("value=\"сто\""), "{age}");
    assert!(refused.html.contains("value=\"Асанов Бакыт\"") && refused.html.contains("value=\"land\" checked"));
    let refused = add_consultation(&c, &s, &consultation_fields("Асанов Бакыт", "150", "2019-05-03")).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.html);
    let age = field_block(&refused.html, "age");
    assert!(age.contains("field-error") && age.contains("value=\"150\""), "{age}");

    let listed = add_consultation(&c, &s, &consultation_fields("Асанов Бакыт", "18", "2019-05-03")).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.html);
    assert!(listed.url.contains("notice=created"), "landed on {}", listed.url);
    for words in
        ["Асанов Бакыт", "03.05.2019", "Мужской", "Малоимущие", "Кыргызстан", "ЦБЮП г. Каракол", "Земельные вопросы"]
    {
        assert!(listed.html.contains(words), "the list lacks {words}");
    }
    let second = add_consultation(&c, &s, &consultation_fields("Осмонова Жылдыз", "40", "2020-01-10")).await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.html);

    // S2-24: «Дата ↓» by default, other columns on request.
    let all = get(&c, &list_url).await.html;
    assert!(all.find("Осмонова Жылдыз").unwrap() < all.find("Асанов Бакыт").unwrap(), "newest first");
    let by_name = get(&c, &format!("{list_url}?sort=full_name&dir=desc")).await.html;
    assert!(by_name.find("Осмонова Жылдыз").unwrap() < by_name.find("Асанов Бакыт").unwrap());
    let by_name = get(&c, &format!("{list_url}?sort=full_name&dir=asc")).await.html;
    assert!(by_name.find("Асанов Бакыт").unwrap() < by_name.find("Осмонова Жылдыз").unwrap());

    // S2-22: «Период» and «Возраст» narrow the list; the filter stays in the URL and the form.
    let period = get(&c, &format!("{list_url}?date_from=2019-01-01&date_to=2019-12-31")).await;
    assert!(period.html.contains("Асанов Бакыт") && !period.html.contains("Осмонова Жылдыз"), "{}", period.html);
    assert!(period.html.contains("value=\"2019-01-01\""));
    let ages = get(&c, &format!("{list_url}?age_from=30&age_to=50")).await;
    assert!(ages.html.contains("Осмонова Жылдыз") && !ages.html.contains("Асанов Бакыт"), "{}", ages.html);
    let bad = get(&c, &format!("{list_url}?age_from=abc")).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.html.contains("id=\"e-age_from\"") && bad.html.contains("value=\"abc\""), "{}", bad.html);

    // S2-26: the detail view.
    let ids = ids_after(&period.html, "/legal-aid/consultations/");
    assert_eq!(ids.len(), 1, "{ids:?}");
    let id = &ids[0];
    let card = get(&c, &format!("{list_url}/{id}")).await;
    assert_eq!(card.status, StatusCode::OK, "{}", card.html);
    for words in
        ["Асанов Бакыт", "+996 555 123 456", "Иссык-Кульская область", "Устная консультация", "Письменное обращение"]
    {
        assert!(card.html.contains(words), "the card lacks {words}");
    }

    // S2-27: «Редактировать» → «Сохранить».
    let edit_url = format!("{list_url}/{id}/edit");
    let edit = get(&c, &edit_url).await;
    assert!(edit.html.contains("value=\"Асанов Бакыт\"") && edit.html.contains("value=\"18\""), "{}", edit.html);
    let version = hidden(&edit.html, "version");
    let mut fields = consultation_fields("Асанов Бакыт Маратович", "19", "2019-05-03");
    fields.push(("version", &version));
    let saved = submit(&c, &edit_url, &edit_url, &fields).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.html);
    assert!(saved.html.contains("Изменения сохранены.") && saved.html.contains("Асанов Бакыт Маратович"));
    // The old version is stale now: the form says so and keeps what was typed.
    let stale = submit(&c, &edit_url, &edit_url, &fields).await;
    assert_eq!(stale.status, StatusCode::CONFLICT, "{}", stale.html);
    assert!(stale.html.contains("Обновите страницу") && stale.html.contains("value=\"Асанов Бакыт Маратович\""));

    // S2-28: «Удалить» after a confirmation.
    let delete_url = format!("{list_url}/{id}/delete");
    let confirm = get(&c, &delete_url).await;
    assert!(confirm.html.contains("Удалить обращение"), "{}", confirm.html);
    let gone = submit(&c, &delete_url, &delete_url, &[]).await;
    assert!(gone.url.contains("notice=deleted"), "landed on {}", gone.url);
    assert!(!gone.html.contains("Асанов Бакыт") && gone.html.contains("Осмонова Жылдыз"));
    assert_eq!(get(&c, &format!("{list_url}/{id}")).await.status, StatusCode::NOT_FOUND);
}

// S2-29…S2-31: a referral's generated form, corrected and printed with the centre's details.
#[tokio::test]
async fn s2_29_to_s2_31_a_referral_prints_with_the_centre_details_and_the_corrected_form() {
    let s = Suite::start().await;
    let karakol = centre(&s, "ЦБЮП г. Каракол").await;
    staff(&s, "konsultant@cbyp.kg", "Консультантова", Role::Consultant, &karakol).await;

    // The admin fills in the centre's details (the letterhead).
    let admin = signed_in(&s, &s.admin_login, &s.admin_password).await;
    let centre_url = format!("{}/legal-aid/centres/{karakol}", base(&s));
    let details = [
        ("address", "г. Каракол, ул. Абдрахманова, 130"),
        ("phone", "+996 3922 5-00-00"),
        ("email", "karakol@cbyp.kg"),
        ("head", "Иманалиева Ж. К."),
    ];
    let saved = submit(&admin, &centre_url, &centre_url, &details).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.html);
    assert!(saved.html.contains("Реквизиты центра сохранены.") && saved.html.contains("ул. Абдрахманова"));

    let c = signed_in(&s, "konsultant@cbyp.kg", PASSWORD).await;
    let list_url = format!("{}/legal-aid/referrals", base(&s));
    let new_url = format!("{list_url}/new");
    let form = get(&c, &new_url).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.html);
    let request_id = hidden(&form.html, "request_id");
    let token = csrf(&form.html);
    let fields = [
        ("csrf", token.as_str()),
        ("request_id", request_id.as_str()),
        ("client_full_name", "Асанов Бакыт"),
        ("client_age", "18"),
        ("client_phone", ""),
        ("client_address", "Иссык-Кульская область, г. Каракол"),
        ("to_organisation", "Управление социального развития"),
        ("to_address", ""),
        ("reason", "Оформление пособия"),
        ("date", "2019-05-03"),
    ];
    let refused = post(&c, &new_url, &[&fields[..6], &[("to_organisation", "")], &fields[7..]].concat()).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.html);
    assert!(field_block(&refused.html, "to_organisation").contains("field-error"), "{}", refused.html);
    let listed = post(&c, &new_url, &fields).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.html);
    assert!(listed.html.contains("Асанов Бакыт") && listed.html.contains("Распечатать"), "{}", listed.html);
    let ids = ids_after(&listed.html, "/legal-aid/referrals/");
    assert_eq!(ids.len(), 1, "{ids:?}");
    let id = &ids[0];

    // S2-30, S2-31: «Распечатать» shows the generated form to correct.
    let form_url = format!("{list_url}/{id}/form");
    let print_form = get(&c, &form_url).await;
    assert_eq!(print_form.status, StatusCode::OK, "{}", print_form.html);
    let text = textarea(&print_form.html);
    for line in
        ["Кому: Управление социального развития", "ФИО: Асанов Бакыт", "Причина перенаправления: Оформление пособия"]
    {
        assert!(text.contains(line), "the form lacks {line}:\n{text}");
    }
    let print_url = format!("{list_url}/{id}/print");
    let print = get(&c, &print_url).await;
    assert_eq!(print.status, StatusCode::OK, "{}", print.html);
    assert!(!print.html.contains("id=\"menu\""), "the print page has no menu");
    for words in [
        "class=\"letterhead\"",
        "ЦБЮП г. Каракол",
        "г. Каракол, ул. Абдрахманова, 130",
        "+996 3922 5-00-00",
        "Асанов Бакыт",
    ] {
        assert!(print.html.contains(words), "the print page lacks {words}: {}", print.html);
    }

    // «Сохранить» keeps the corrected text and opens the print page with it.
    let corrected = format!("{text}\nПри себе иметь паспорт.");
    let version = hidden(&print_form.html, "version");
    let printed = post(
        &c,
        &form_url,
        &[("csrf", &csrf(&print_form.html)), ("version", &version), ("form_text", &corrected), ("action", "save")],
    )
    .await;
    assert_eq!(printed.status, StatusCode::OK, "{}", printed.html);
    assert!(printed.url.ends_with("/print"), "landed on {}", printed.url);
    assert!(printed.html.contains("При себе иметь паспорт."), "{}", printed.html);
    assert!(get(&c, &form_url).await.html.contains("При себе иметь паспорт."), "the form keeps the correction");
}

// S2-32…S2-36: the public question reaches the district's centre (the fallback for a district
// without a route), the panel shows it waiting in red, the consultant answers, and the answer is
// public only after a moderator approves it.
#[tokio::test]
async fn s2_32_to_s2_36_a_public_question_is_answered_and_published_after_moderation() {
    let s = Suite::start().await;
    let karakol = centre(&s, "ЦБЮП г. Каракол").await;
    let bishkek = centre(&s, "ЦБЮП г. Бишкек").await;
    staff(&s, "karakol@cbyp.kg", "Консультантова", Role::Consultant, &karakol).await;
    staff(&s, "bishkek@cbyp.kg", "Бишкекова", Role::Consultant, &bishkek).await;
    staff(&s, "moderator@cbyp.kg", "Модераторова", Role::Moderator, "").await;

    // The admin routes Karakol to its centre and makes Bishkek's the fallback.
    let admin = signed_in(&s, &s.admin_login, &s.admin_password).await;
    let centres_url = format!("{}/legal-aid/centres", base(&s));
    let page = get(&admin, &centres_url).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(page.html.contains("name=\"route:karakol\""), "{}", page.html);
    let token = csrf(&page.html);
    let fallback =
        post(&admin, &format!("{}/legal-aid/fallback", base(&s)), &[("csrf", &token), ("centre_id", &bishkek)]).await;
    assert!(fallback.html.contains("Резервный центр сохранён."), "{}", fallback.html);
    let routes =
        post(&admin, &format!("{}/legal-aid/routes", base(&s)), &[("csrf", &token), ("route:karakol", &karakol)]).await;
    assert!(routes.html.contains("Распределение по районам сохранено."), "{}", routes.html);
    assert!(routes.html.contains(&format!("<option value=\"{karakol}\" selected>")), "{}", routes.html);

    // S2-32: no session needed; S2-33: the page names the centre the question went to.
    let public = browser();
    let ask_url = format!("{}/online", base(&s));
    let form = get(&public, &ask_url).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.html);
    assert!(form.html.contains("Вход в личный кабинет") && !form.html.contains("id=\"menu\""));
    let forged = post(&public, &ask_url, &[("csrf", "forged"), ("text", "?")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let question = "Как оформить наследство после отца?";
    let ask = |district: &'static str, text: &'static str, page: String| {
        let public = public.clone();
        let ask_url = ask_url.clone();
        async move {
            let fields = [
                ("csrf", csrf(&page)),
                ("request_id", hidden(&page, "request_id")),
                ("text", text.to_string()),
                ("region_code", String::new()),
                ("district_code", district.to_string()),
                ("city", "село".to_string()),
                ("name", "Айбек".to_string()),
                ("contact_email", String::new()),
                ("contact_phone", String::new()),
            ];
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            post(&public, &ask_url, &fields).await
        }
    };
    let empty = ask("karakol", "", form.html.clone()).await;
    assert_eq!(empty.status, StatusCode::BAD_REQUEST, "{}", empty.html);
    assert!(empty.html.contains("id=\"e-text\""), "{}", empty.html);
    let sent = ask("karakol", question, form.html.clone()).await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.html);
    assert!(
        sent.html.contains("Ваш вопрос принят.") && sent.html.contains("sent-centre\">ЦБЮП г. Каракол<"),
        "{}",
        sent.html
    );
    let other = ask("ton", "Вопрос из Тонского района", sent.html.clone()).await;
    assert!(other.html.contains("sent-centre\">ЦБЮП г. Бишкек<"), "the fallback centre: {}", other.html);

    // S2-34: the panel's «Онлайн-консультация» is red with the count in brackets.
    let c = signed_in(&s, "karakol@cbyp.kg", PASSWORD).await;
    let panel = get(&c, &format!("{}/legal-aid/consultations", base(&s))).await;
    assert!(
        panel.html.contains("class=\"la-waiting\">Онлайн-консультация <span class=\"la-count\">(1)</span>"),
        "{}",
        panel.html
    );
    // Other pages load the same link (htmx).
    let link = get(&c, &format!("{}/legal-aid/menu-link", base(&s))).await;
    assert!(link.html.contains("(1)") && link.html.contains("la-waiting"), "{}", link.html);

    // S2-35: the centre's list with «Ответить»; the other district's question is not here.
    let list_url = format!("{}/legal-aid/questions", base(&s));
    let list = get(&c, &list_url).await;
    assert!(list.html.contains(question) && list.html.contains(">Ответить<"), "{}", list.html);
    assert!(!list.html.contains("Тонского"), "another centre's question");
    let ids = ids_after(&list.html, "/legal-aid/questions/");
    assert_eq!(ids.len(), 1, "{ids:?}");
    let q_url = format!("{list_url}/{}", ids[0]);
    let q_page = get(&c, &q_url).await;
    assert!(q_page.html.contains(question) && q_page.html.contains("name=\"answer\""), "{}", q_page.html);
    let answer = "Обратитесь к нотариусу по месту открытия наследства.";
    let answered = post(&c, &format!("{q_url}/answer"), &[("csrf", &csrf(&q_page.html)), ("answer", answer)]).await;
    assert_eq!(answered.status, StatusCode::OK, "{}", answered.html);
    assert!(answered.html.contains("Ответ сохранён и отправлен на модерацию."), "{}", answered.html);
    assert!(!answered.html.contains("la-count"), "nothing waits any more: {}", answered.html);

    // S2-36: not public before the moderator approves.
    let answers_url = format!("{}/online/answers", base(&s));
    let before = get(&public, &answers_url).await;
    assert_eq!(before.status, StatusCode::OK, "{}", before.html);
    assert!(!before.html.contains(answer) && !before.html.contains(question), "{}", before.html);

    let m = signed_in(&s, "moderator@cbyp.kg", PASSWORD).await;
    let queue = get(&m, &list_url).await;
    assert!(queue.html.contains(question) && queue.html.contains(">Проверить<"), "{}", queue.html);
    let check = get(&m, &q_url).await;
    assert!(check.html.contains(answer) && check.html.contains("Одобрить и опубликовать"), "{}", check.html);
    let token = csrf(&check.html);
    let no_comment =
        post(&m, &format!("{q_url}/moderate"), &[("csrf", &token), ("decision", "reject"), ("comment", "")]).await;
    assert_eq!(no_comment.status, StatusCode::BAD_REQUEST, "{}", no_comment.html);
    assert!(no_comment.html.contains("id=\"e-comment\""), "{}", no_comment.html);
    let approved = post(&m, &format!("{q_url}/moderate"), &[("csrf", &token), ("decision", "approve")]).await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.html);
    assert!(approved.html.contains("Вопрос-ответ опубликован на сайте."), "{}", approved.html);

    let after = get(&public, &answers_url).await;
    assert!(after.html.contains(question) && after.html.contains(answer), "{}", after.html);
    assert!(!after.html.contains("Айбек"), "the asker's name is never published");
}
