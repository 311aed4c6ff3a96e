//! Issue 5 point 7 over HTTP, as a browser without JavaScript would use the
//! pages, with mail delivered to a real SMTP listener: the admin registers a
//! consultant, the activation link sets the password and signs in, the
//! e-mail works as the login (S2-1…S2-6); «Забыли пароль?» mails a link that
//! also shows the code, and both the link and the typed code set a new
//! password (S1-13, S1-14, S2-8).
use opeka_integration_tests::Suite;
use opeka_integration_tests::web::{base, browser, csrf, field_block, get, post, signed_in, submit, text_of, unescape};
use opeka_notifications::testing::SmtpSink;
use opeka_proto::identity::{CreateOrganisationRequest, CreateStaffAccountRequest, OrganisationKind, Role};
use opeka_proto::notifications::{
    SmtpTls, UpdateSmtpSettingsRequest, notifications_service_client::NotificationsServiceClient,
};
use opeka_testkit::{Service, wait_within};
use reqwest::StatusCode;

/// Points the tenant's mail at `sink` (as «Настройка системы» would).
async fn mail_to(s: &Suite, sink: &SmtpSink) {
    let token = s.admin_token().await;
    let mut n = NotificationsServiceClient::new(s.channel(Service::Notifications));
    let msg = UpdateSmtpSettingsRequest {
        host: sink.host.clone(),
        port: u32::from(sink.port),
        tls: SmtpTls::None as i32,
        sender_address: "robot@agency.test".into(),
        sender_name: "Опека".into(),
        username: String::new(),
        password: "smtp-secret".into(),
    };
    n.update_smtp_settings(s.request(&token, msg)).await.expect("smtp settings");
}

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

/// The link of a mail body that points at `/t/{tenant}/{page}?…`, rebased on
/// the gateway under test (notifications knows only its public URL).
fn link_in(s: &Suite, body: &str, page: &str) -> String {
    let marker = format!("/t/{}/{page}?", s.tenant);
    let start = body.find(&marker).unwrap_or_else(|| panic!("no {page} link in:\n{body}"));
    let end = body[start..].find(char::is_whitespace).map_or(body.len(), |e| start + e);
    format!("{}{}", s.url(Service::Gateway), &body[start..end])
}

/// The value of the input `name` on a page.
fn input_value(html: &str, name: &str) -> String {
    let block = field_block(html, name);
    let marker = "value=\"";
    let start = block.find(marker).unwrap_or_else(|| panic!("no value for {name} in:\n{block}")) + marker.len();
    let end = block[start..].find('"').expect("value ends");
    block[start..start + end].to_string()
}

async fn sign_out(c: &reqwest::Client, s: &Suite) {
    let url = format!("{}/logout", base(s));
    let page = submit(c, &url, &url, &[]).await;
    assert!(page.url.contains("/login"), "landed on {}", page.url);
}

// S2-1…S2-6: the admin registers a consultant (e-mail, ФИО, centre) on
// «Консультанты»; the activation mail arrives; its link asks for a password,
// saving it activates the account and signs the consultant in; after
// logging out the e-mail works as the login.
#[tokio::test]
async fn s2_1_to_s2_6_a_registered_consultant_activates_by_link_and_signs_in_with_the_email() {
    let s = Suite::start().await;
    let sink = SmtpSink::start().await;
    mail_to(&s, &sink).await;
    let centre_id = centre(&s, "ЦБЮП Первомайского района").await;
    let admin = signed_in(&s, &s.admin_login, &s.admin_password).await;
    let list_url = format!("{}/consultants", base(&s));
    let form_url = format!("{list_url}/new");

    let home = get(&admin, &format!("{}/", base(&s))).await;
    assert!(
        unescape(&home.html).contains(&format!("href=\"/t/{}/consultants\"", s.tenant)),
        "no «Консультанты» in the menu"
    );
    let empty = get(&admin, &list_url).await;
    assert_eq!(empty.status, StatusCode::OK, "{}", empty.html);
    assert!(empty.html.contains("Консультантов пока нет"), "{}", empty.html);

    // S2-1: e-mail is needed for the link; the error stands beside the field.
    let fields = [
        ("email", ""),
        ("surname", "Консультантова"),
        ("name", "Айгуль"),
        ("patronymic", "Маратовна"),
        ("organisation_id", centre_id.as_str()),
    ];
    let refused = submit(&admin, &form_url, &form_url, &fields).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.html);
    assert!(field_block(&refused.html, "email").contains("field-error"), "{}", field_block(&refused.html, "email"));
    assert!(refused.html.contains("value=\"Консультантова\""), "input not kept");
    // Without the session's token nothing is created.
    let forged = post(&admin, &form_url, &[("email", "x@agency.test"), ("surname", "Подделкина")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    let email = "konsultant@agency.test";
    let mut fields = fields;
    fields[0] = ("email", email);
    let listed = submit(&admin, &form_url, &form_url, &fields).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.html);
    assert!(listed.url.contains("notice=registered"), "landed on {}", listed.url);
    assert!(listed.html.contains("Консультантова Айгуль Маратовна"), "{}", listed.html);
    assert!(listed.html.contains("ЦБЮП Первомайского района"), "centre not shown");
    assert!(listed.html.contains("Ожидает активации"), "status not shown");
    assert!(!listed.html.contains("Подделкина"), "a forged post created an account");

    // S2-2: the mail with instructions and the activation link.
    let mail = sink.wait_for(email).await;
    let body = mail.body();
    assert!(mail.subject().contains("Активация"), "{}", mail.subject());
    let link = link_in(&s, &body, "activate");

    // S2-3: the link asks for a password; a mismatch is shown beside the repeat.
    let c = browser();
    let page = get(&c, &link).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(page.html.contains("Придумайте пароль"), "{}", page.html);
    let action = format!("{}/activate", base(&s));
    let token = input_hidden(&page.html, "token");
    let password = "Пароль-консультанта-1";
    let differ =
        submit(&c, &link, &action, &[("token", &token), ("password", password), ("password_repeat", "другой")]).await;
    assert_eq!(differ.status, StatusCode::BAD_REQUEST, "{}", differ.html);
    assert!(field_block(&differ.html, "password_repeat").contains("Пароли не совпадают"), "{}", differ.html);
    // CSRF: the form's token must match the browser's cookie.
    let forged =
        post(&c, &action, &[("csrf", "x"), ("token", &token), ("password", password), ("password_repeat", password)])
            .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    // S2-3, S2-4: saving activates the account and signs the consultant in.
    let fields = [("token", token.as_str()), ("password", password), ("password_repeat", password)];
    let home = submit(&c, &link, &action, &fields).await;
    assert_eq!(home.status, StatusCode::OK, "{}", home.html);
    assert!(home.url.ends_with(&format!("/t/{}/", s.tenant)), "landed on {}", home.url);
    let greeting = text_of(&home.html, "greeting").expect("greeting");
    assert!(greeting.contains("Консультантова Айгуль Маратовна"), "{greeting}");

    // The link is single-use: the page says so and offers «Забыли пароль?».
    let again = submit(&c, &link, &action, &fields).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST, "{}", again.html);
    assert!(again.html.contains("Ссылка недействительна или устарела"), "{}", again.html);
    assert!(unescape(&again.html).contains(&format!("/t/{}/forgot", s.tenant)), "no «Забыли пароль?» link");

    // S2-6: out, and in again with the e-mail as the login.
    let c = signed_in(&s, email, password).await;
    sign_out(&c, &s).await;
    let c = signed_in(&s, "Konsultant@Agency.test", password).await;
    let home = get(&c, &format!("{}/", base(&s))).await;
    assert!(text_of(&home.html, "greeting").unwrap_or_default().contains("Консультантова"), "{}", home.html);
    // «Консультанты» is the admin's: hidden from the consultant and refused.
    assert!(!unescape(&home.html).contains(&format!("href=\"/t/{}/consultants\"", s.tenant)));
    assert_eq!(get(&c, &list_url).await.status, StatusCode::FORBIDDEN);

    let listed = get(&admin, &list_url).await;
    assert!(listed.html.contains("Активна"), "{}", listed.html);
    assert!(!listed.html.contains("Ожидает активации"), "{}", listed.html);
}

/// `submit` for fields held as owned strings.
async fn submit_owned(c: &reqwest::Client, url: &str, fields: &[(&str, String)]) -> opeka_integration_tests::web::Page {
    let borrowed: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    submit(c, url, url, &borrowed).await
}

/// The value of the hidden input `name`.
fn input_hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no hidden {name} in:\n{html}")) + marker.len();
    let end = html[start..].find('"').expect("value ends");
    html[start..start + end].to_string()
}

/// The code the reset mail shows («Код: 123456»).
fn code_in(body: &str) -> String {
    let start = body.find("Код: ").unwrap_or_else(|| panic!("no code in:\n{body}")) + "Код: ".len();
    body[start..].chars().take_while(char::is_ascii_digit).collect()
}

/// Whether the login page accepts `login` with `password`.
async fn can_sign_in(s: &Suite, login: &str, password: &str) -> bool {
    let c = browser();
    let url = format!("{}/login", base(s));
    let page = submit(&c, &url, &url, &[("login", login), ("password", password)]).await;
    page.url.ends_with(&format!("/t/{}/", s.tenant))
}

// S1-13, S1-14, S2-8: «Забыли пароль?» on the login page → the e-mail form →
// a mail with a link and the code. (a) The link's page comes with the code
// filled in and sets a new password; (b) the code typed by hand on the
// empty page does the same; a wrong code is refused beside the code field.
// The page never tells whether the address is known.
#[tokio::test]
async fn s1_14_s2_8_a_forgotten_password_is_reset_by_the_link_and_by_the_typed_code() {
    let s = Suite::start().await;
    let sink = SmtpSink::start().await;
    mail_to(&s, &sink).await;
    let email = "zabyvchivaya@agency.test";
    let first_password = "Первый-пароль-1";
    let token = s.admin_token().await;
    let msg = CreateStaffAccountRequest {
        surname: "Забывчивая".into(),
        name: "Анна".into(),
        email: email.into(),
        login: "zabyvchivaya".into(),
        password: first_password.into(),
        password_repeat: first_password.into(),
        roles: vec![Role::Executor as i32],
        ..Default::default()
    };
    s.identity().create_staff_account(s.request(&token, msg)).await.expect("executor");

    // S2-6, S2-8: the login page labels the field and links «Забыли пароль?».
    let c = browser();
    let login = get(&c, &format!("{}/login", base(&s))).await;
    assert!(login.html.contains("Логин или Email"), "{}", login.html);
    let forgot_url = format!("{}/forgot", base(&s));
    assert!(unescape(&login.html).contains(&format!("href=\"/t/{}/forgot\"", s.tenant)), "no «Забыли пароль?» link");
    assert!(login.html.contains("Забыли пароль?"));

    // CSRF as on the login form.
    let forged = post(&c, &forgot_url, &[("csrf", "x"), ("login", email)]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(sink.to(email).is_empty(), "a forged post sent mail");
    let empty = submit(&c, &forgot_url, &forgot_url, &[("login", " ")]).await;
    assert_eq!(empty.status, StatusCode::BAD_REQUEST);
    assert!(field_block(&empty.html, "login").contains("field-error"), "{}", empty.html);

    // An unknown address and a known one get the same answer.
    let unknown = submit(&c, &forgot_url, &forgot_url, &[("login", "nobody@agency.test")]).await;
    let sent = submit(&c, &forgot_url, &forgot_url, &[("login", email)]).await;
    for p in [&unknown, &sent] {
        assert_eq!(p.status, StatusCode::OK, "{}", p.html);
        assert!(p.url.contains("/reset?sent=1"), "landed on {}", p.url);
        assert!(text_of(&p.html, "notice").unwrap_or_default().contains("отправлено письмо"), "{}", p.html);
    }
    assert_eq!(input_value(&sent.html, "login"), email);
    assert_eq!(input_value(&unknown.html, "login"), "nobody@agency.test");

    // S1-13: the mail shows the code and a link that fills it in.
    let mail = sink.wait_for(email).await;
    let body = mail.body();
    let code = code_in(&body);
    assert_eq!(code.len(), 6, "{body}");
    let link = link_in(&s, &body, "reset");
    assert!(link.contains(&format!("code={code}")), "{link}");

    // (a) The link flow: login and code come filled in.
    let c = browser();
    let page = get(&c, &link).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert_eq!(input_value(&page.html, "code"), code);
    let login_value = input_value(&page.html, "login");
    assert_eq!(login_value, "zabyvchivaya");
    let second_password = "Второй-пароль-2";
    let reset_url = format!("{}/reset", base(&s));
    let token = csrf(&page.html);
    let done = post(
        &c,
        &reset_url,
        &[
            ("csrf", &token),
            ("login", &login_value),
            ("code", &code),
            ("password", second_password),
            ("password_repeat", second_password),
        ],
    )
    .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.html);
    assert!(done.url.contains("/login?note=reset"), "landed on {}", done.url);
    assert!(text_of(&done.html, "notice").unwrap_or_default().contains("Пароль изменён"), "{}", done.html);
    assert!(!can_sign_in(&s, email, first_password).await, "the old password still works");
    assert!(can_sign_in(&s, email, second_password).await, "the new password does not work");

    // (b) The code flow: a new request, the code typed on the empty page.
    let c = browser();
    submit(&c, &forgot_url, &forgot_url, &[("login", email)]).await;
    wait_within("a second reset mail", std::time::Duration::from_secs(15), async || {
        (sink.to(email).len() >= 2).then_some(())
    })
    .await;
    let code = code_in(&sink.to(email)[1].body());
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let third_password = "Третий-пароль-3";
    let form = |code: &str| {
        [("login", email), ("code", code), ("password", third_password), ("password_repeat", third_password)]
            .map(|(k, v)| (k, v.to_string()))
    };
    let refused = submit_owned(&c, &reset_url, &form(wrong)).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.html);
    let block = field_block(&refused.html, "code");
    assert!(block.contains("field-error") && block.contains("Код неверен или устарел"), "{block}");
    assert_eq!(input_value(&refused.html, "login"), email, "input kept");
    assert!(!refused.html.contains(third_password), "password echoed");
    let done = submit_owned(&c, &reset_url, &form(&code)).await;
    assert!(done.url.contains("/login?note=reset"), "landed on {}: {}", done.url, done.html);
    assert!(!can_sign_in(&s, "zabyvchivaya", second_password).await, "the previous password still works");
    assert!(can_sign_in(&s, "zabyvchivaya", third_password).await, "the typed code did not set the password");
}
