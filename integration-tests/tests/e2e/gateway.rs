//! The web gateway over HTTP, as a browser without JavaScript would use it:
//! plain GETs and form posts against identity and the gateway started by
//! the harness. Covers S0-3, S0-5…S0-8, S0-15…S0-25.
use opeka_integration_tests::Suite;
use opeka_integration_tests::web::{Page, base, browser, csrf, field_block, get, post, submit};
use opeka_proto::identity::{AccountKind, CreateStaffAccountRequest, ListAccountsRequest, Role};
use opeka_testkit::Service;
use reqwest::{Client, StatusCode};

/// A client that shows redirects instead of following them.
fn raw_client() -> Client {
    Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("http client")
}

async fn sign_in(s: &Suite, c: &Client, login: &str, password: &str) -> Page {
    let url = format!("{}/login", base(s));
    submit(c, &url, &url, &[("login", login), ("password", password)]).await
}

async fn admin_browser(s: &Suite) -> Client {
    let c = browser();
    let home = sign_in(s, &c, &s.admin_login, &s.admin_password).await;
    assert_eq!(home.status, StatusCode::OK, "{}", home.html);
    assert!(home.url.ends_with(&format!("/t/{}/", s.tenant)), "landed on {}", home.url);
    c
}

async fn curators_total(s: &Suite) -> i64 {
    let token = s.admin_token().await;
    let msg = ListAccountsRequest {
        kind: AccountKind::Staff as i32,
        role: Role::Curator as i32,
        page_size: 50,
        ..Default::default()
    };
    s.identity().list_accounts(s.request(&token, msg)).await.expect("list").into_inner().total_size
}

async fn create_curator_via_grpc(s: &Suite, login: &str, password: &str) {
    let token = s.admin_token().await;
    let msg = CreateStaffAccountRequest {
        surname: "Кураторова".into(),
        name: "Вера".into(),
        login: login.into(),
        password: password.into(),
        password_repeat: password.into(),
        roles: vec![Role::Curator as i32],
        ..Default::default()
    };
    s.identity().create_staff_account(s.request(&token, msg)).await.expect("create curator");
}

fn curator_form<'a>(surname: &'a str, login: &'a str, pw: &'a str, repeat: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("surname", surname),
        ("name", "Анна"),
        ("patronymic", "Сергеевна"),
        ("email", ""),
        ("phone", "+7 900 123-45-67"),
        ("telegram_username", "anna_kurator"),
        ("district_id", ""),
        ("login", login),
        ("password", pw),
        ("password_repeat", repeat),
    ]
}

// S0-3: the root leads to the login window; «Войти» opens the main window,
// which greets the user by name and shows the admin's menu (S0-16).
#[tokio::test]
async fn s0_3_login_opens_the_main_window() {
    let s = Suite::start().await;
    let c = browser();
    let login = get(&c, &format!("{}/", s.url(Service::Gateway))).await;
    assert_eq!(login.status, StatusCode::OK);
    assert!(login.url.ends_with(&format!("/t/{}/login", s.tenant)), "root led to {}", login.url);
    assert!(login.html.contains("Войти"), "{}", login.html);
    assert!(login.html.contains("for=\"f-login\"") && login.html.contains("for=\"f-password\""));

    let home = sign_in(&s, &c, &s.admin_login, &s.admin_password).await;
    assert_eq!(home.status, StatusCode::OK, "{}", home.html);
    assert!(home.html.contains("Здравствуйте"), "{}", home.html);
    for item in ["Главная", "Соц. кураторы", "Настройки", "Выйти"] {
        assert!(home.html.contains(item), "menu lacks {item}");
    }
}

// S0-5 (one message for unknown login and wrong password): the message is
// shown on the login form, the login kept, the password not echoed.
#[tokio::test]
async fn s0_5_wrong_password_shows_the_message_on_the_form() {
    let s = Suite::start().await;
    let c = browser();
    for (login, password) in [(s.admin_login.as_str(), "wrong-password-1"), ("nobody-here", "whatever-1")] {
        let page = sign_in(&s, &c, login, password).await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED, "{}", page.html);
        assert!(page.html.contains("Логин или пароль неверный"), "{}", page.html);
        assert!(page.html.contains(&format!("value=\"{login}\"")), "login not kept");
        assert!(!page.html.contains(password), "password echoed");
        // Still on the login page, with no session.
        let home = get(&c, &format!("{}/", base(&s))).await;
        assert!(home.url.ends_with("/login"), "{}", home.url);
    }
}

// CSRF: a POST without the form's token is refused with 403 and a Russian
// message, both at login (double-submit cookie) and inside a session.
#[tokio::test]
async fn post_without_csrf_token_is_refused() {
    let s = Suite::start().await;
    let c = browser();
    let url = format!("{}/login", base(&s));
    get(&c, &url).await;
    let page = post(&c, &url, &[("login", &s.admin_login), ("password", &s.admin_password)]).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.html.contains("Форма устарела"), "{}", page.html);
    let page = post(&c, &url, &[("csrf", "forged"), ("login", &s.admin_login), ("password", &s.admin_password)]).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);

    let c = admin_browser(&s).await;
    let new = format!("{}/curators/new", base(&s));
    let page = post(&c, &new, &curator_form("Безтокенова", "no-token", "Secret-123", "Secret-123")).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.html);
    assert!(page.html.contains("Форма устарела"), "{}", page.html);
    let mut forged = curator_form("Безтокенова", "no-token", "Secret-123", "Secret-123");
    forged.push(("csrf", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
    assert_eq!(post(&c, &new, &forged).await.status, StatusCode::FORBIDDEN);
    let logout = post(&c, &format!("{}/logout", base(&s)), &[]).await;
    assert_eq!(logout.status, StatusCode::FORBIDDEN);
    assert_eq!(curators_total(&s).await, 0, "nothing may be created without a token");
}

// S0-17…S0-22: the admin adds a curator with «Добавить соц. куратора»; it
// appears in «Соц. кураторы» and the search finds it.
#[tokio::test]
async fn s0_22_admin_creates_a_curator_that_appears_in_the_list() {
    let s = Suite::start().await;
    let c = admin_browser(&s).await;
    let list = get(&c, &format!("{}/curators", base(&s))).await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.html.contains("Добавить соц. куратора"), "S0-18");

    let form = get(&c, &format!("{}/curators/new", base(&s))).await;
    for label in [
        "Фамилия",
        "Имя",
        "Отчество",
        "Электронная почта",
        "Номер телефона",
        "Имя пользователя Telegram",
        "Район",
        "Логин",
        "Пароль",
        "Повторите пароль",
    ] {
        assert!(form.html.contains(label), "S0-19: the form lacks {label}");
    }
    let new = format!("{}/curators/new", base(&s));
    let done = submit(&c, &new, &new, &curator_form("Петрова", "petrova", "Secret-123", "Secret-123")).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.html);
    assert!(done.url.contains("/curators"), "{}", done.url);
    assert!(done.html.contains("Соц. куратор добавлен."), "{}", done.html);
    assert!(done.html.contains("Петрова Анна Сергеевна"), "{}", done.html);
    assert!(done.html.contains("petrova") && done.html.contains("@anna_kurator"));
    assert_eq!(curators_total(&s).await, 1);

    let found = get(&c, &format!("{}/curators?query=петро", base(&s))).await;
    assert!(found.html.contains("Петрова Анна Сергеевна"), "search by surname: {}", found.html);
    let none = get(&c, &format!("{}/curators?query=zzz-nobody", base(&s))).await;
    assert!(!none.html.contains("Петрова"), "{}", none.html);
    assert!(none.html.contains("Ничего не найдено"), "{}", none.html);

    // The new curator can sign in with the password the admin gave.
    let cur = browser();
    let home = sign_in(&s, &cur, "petrova", "Secret-123").await;
    assert!(home.html.contains("Здравствуйте, Петрова Анна Сергеевна!"), "{}", home.html);
}

// S0-21: mismatched passwords → «Пароли не совпадают.» beside «Повторите
// пароль», the input kept (never the passwords), nothing created.
#[tokio::test]
async fn s0_21_mismatched_passwords_are_refused_beside_the_repeat_field() {
    let s = Suite::start().await;
    let c = admin_browser(&s).await;
    let new = format!("{}/curators/new", base(&s));
    let page = submit(&c, &new, &new, &curator_form("Сидорова", "sidorova", "Secret-123", "Secret-456")).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.html);
    let repeat = field_block(&page.html, "password_repeat");
    assert!(repeat.contains("Пароли не совпадают."), "error not beside the repeat field: {repeat}");
    assert!(repeat.contains("id=\"e-password_repeat\""));
    assert!(page.html.contains("value=\"Сидорова\""), "surname not kept");
    assert!(page.html.contains("value=\"sidorova\""), "login not kept");
    assert!(!page.html.contains("Secret-123") && !page.html.contains("Secret-456"), "a password was echoed");
    assert_eq!(curators_total(&s).await, 0);
}

// S0-20: no surname, no curator; the error stands beside «Фамилия». Other
// fields identity refuses get their messages beside them too.
#[tokio::test]
async fn s0_20_missing_surname_and_invalid_fields_are_shown_beside_them() {
    let s = Suite::start().await;
    let c = admin_browser(&s).await;
    let new = format!("{}/curators/new", base(&s));
    let page = submit(&c, &new, &new, &curator_form("", "nosurname", "Secret-123", "Secret-123")).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.html);
    assert!(field_block(&page.html, "surname").contains("Укажите фамилию."), "{}", page.html);
    assert!(page.html.contains("value=\"nosurname\""));

    let mut bad = curator_form("Иванова", "ivanova", "Secret-123", "Secret-123");
    bad[3] = ("email", "not-an-email");
    let page = submit(&c, &new, &new, &bad).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.html);
    let email = field_block(&page.html, "email");
    assert!(email.contains("class=\"field-error\""), "identity's violation not beside e-mail: {}", page.html);
    assert!(email.contains("value=\"not-an-email\""), "input not kept");
    assert_eq!(curators_total(&s).await, 0);
}

// S0-17: a curator neither sees «Соц. кураторы» nor can open it (403).
#[tokio::test]
async fn s0_17_non_admin_cannot_open_curators() {
    let s = Suite::start().await;
    create_curator_via_grpc(&s, "kurator", "Kurator-pass-1").await;
    let c = browser();
    let home = sign_in(&s, &c, "kurator", "Kurator-pass-1").await;
    assert_eq!(home.status, StatusCode::OK, "{}", home.html);
    assert!(home.html.contains("Здравствуйте, Кураторова Вера!"), "{}", home.html);
    assert!(!home.html.contains("Соц. кураторы"), "menu item shown to a curator");
    assert!(!home.html.contains("/curators"), "link to curators shown to a curator");
    assert!(home.html.contains("Выйти"));
    for path in ["/curators", "/curators/new"] {
        let page = get(&c, &format!("{}{path}", base(&s))).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}");
        assert!(page.html.contains("Недостаточно прав"), "{}", page.html);
    }
    // And identity refuses it whatever the gateway shows.
    let token = s.access_token("kurator", "Kurator-pass-1").await;
    let msg =
        CreateStaffAccountRequest { surname: "X".into(), roles: vec![Role::Curator as i32], ..Default::default() };
    let err = s.identity().create_staff_account(s.request(&token, msg)).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::PermissionDenied);
}

// S0-7, S0-8: «Настройки» → «Настройка системы»: old password, new twice;
// afterwards the new password signs in and the old one does not.
#[tokio::test]
async fn s0_8_admin_changes_own_password() {
    let s = Suite::start().await;
    let c = admin_browser(&s).await;
    let url = format!("{}/settings", base(&s));
    let page = get(&c, &url).await;
    assert!(page.html.contains("Настройка системы"), "{}", page.html);

    let wrong = submit(
        &c,
        &url,
        &url,
        &[
            ("old_password", "not-the-password"),
            ("new_password", "New-secret-1"),
            ("new_password_repeat", "New-secret-1"),
        ],
    )
    .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert!(field_block(&wrong.html, "old_password").contains("class=\"field-error\""), "{}", wrong.html);

    let differ = submit(
        &c,
        &url,
        &url,
        &[
            ("old_password", &s.admin_password),
            ("new_password", "New-secret-1"),
            ("new_password_repeat", "New-secret-2"),
        ],
    )
    .await;
    assert!(field_block(&differ.html, "new_password_repeat").contains("Пароли не совпадают."));

    let done = submit(
        &c,
        &url,
        &url,
        &[
            ("old_password", &s.admin_password),
            ("new_password", "New-secret-1"),
            ("new_password_repeat", "New-secret-1"),
        ],
    )
    .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.html);
    assert!(done.html.contains("Пароль изменён."), "{}", done.html);

    let fresh = browser();
    let home = sign_in(&s, &fresh, &s.admin_login, "New-secret-1").await;
    assert!(home.html.contains("Здравствуйте"), "{}", home.html);
    let old = sign_in(&s, &browser(), &s.admin_login, &s.admin_password).await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED);
}

// S0-15: «Выйти» asks «Вы действительно хотите выйти?»; confirming returns
// to the login page, and the session no longer opens any page.
#[tokio::test]
async fn s0_15_logout_asks_then_ends_the_session() {
    let s = Suite::start().await;
    // Sign in by hand to keep the session cookie for a replay afterwards.
    let raw = raw_client();
    let url = format!("{}/login", base(&s));
    let r = raw.get(&url).send().await.expect("login page");
    let login_cookie =
        r.headers()[reqwest::header::SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_string();
    let token = csrf(&r.text().await.unwrap());
    let r = raw
        .post(&url)
        .header(reqwest::header::COOKIE, &login_cookie)
        .form(&[("csrf", token.as_str()), ("login", &s.admin_login), ("password", &s.admin_password)])
        .send()
        .await
        .expect("login");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let session = r
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|v| v.starts_with("opeka_session="))
        .expect("session cookie");
    assert!(session.contains("HttpOnly") && session.contains("SameSite=Lax"), "{session}");
    let session = session.split(';').next().unwrap().to_string();

    let confirm =
        raw.get(format!("{}/logout", base(&s))).header(reqwest::header::COOKIE, &session).send().await.unwrap();
    assert_eq!(confirm.status(), StatusCode::OK);
    let html = confirm.text().await.unwrap();
    assert!(html.contains("Вы действительно хотите выйти?"), "{html}");
    assert!(html.contains(">Выйти</button>") && html.contains("Отмена"), "{html}");

    let bye = raw
        .post(format!("{}/logout", base(&s)))
        .header(reqwest::header::COOKIE, &session)
        .form(&[("csrf", csrf(&html).as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(bye.status(), StatusCode::SEE_OTHER);
    assert!(bye.headers()[reqwest::header::LOCATION].to_str().unwrap().ends_with("/login?note=bye"));

    // The old cookie opens nothing any more.
    let again = raw.get(format!("{}/", base(&s))).header(reqwest::header::COOKIE, &session).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
    assert!(again.headers()[reqwest::header::LOCATION].to_str().unwrap().contains("/login"));
}

// A session belongs to its tenant: under another tenant's path it is
// refused and the browser goes to that tenant's login.
#[tokio::test]
async fn a_session_is_refused_under_another_tenant() {
    let s = Suite::start().await;
    let raw = raw_client();
    let url = format!("{}/login", base(&s));
    let r = raw.get(&url).send().await.unwrap();
    let login_cookie =
        r.headers()[reqwest::header::SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_string();
    let token = csrf(&r.text().await.unwrap());
    let r = raw
        .post(&url)
        .header(reqwest::header::COOKIE, &login_cookie)
        .form(&[("csrf", token.as_str()), ("login", &s.admin_login), ("password", &s.admin_password)])
        .send()
        .await
        .unwrap();
    let set = r
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect::<Vec<_>>();
    let session = set.iter().find(|v| v.starts_with("opeka_session=")).expect("session cookie");
    assert!(session.contains(&format!("Path=/t/{}", s.tenant)), "cookie not scoped to the tenant: {session}");
    let session = session.split(';').next().unwrap().to_string();

    let own = raw.get(format!("{}/", base(&s))).header(reqwest::header::COOKIE, &session).send().await.unwrap();
    assert_eq!(own.status(), StatusCode::OK);
    let other = raw
        .get(format!("{}/t/other-agency/", s.url(Service::Gateway)))
        .header(reqwest::header::COOKIE, &session)
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::SEE_OTHER);
    assert_eq!(other.headers()[reqwest::header::LOCATION], "/t/other-agency/login");
}

// S0-23…S0-25 and S0-6: open the card from the full name, «Изменить» →
// «Сохранить» returns to the list; «Сменить пароль»; «Корзина» after a
// confirmation removes the curator.
#[tokio::test]
async fn s0_24_s0_25_admin_edits_sets_password_and_deletes_a_curator() {
    let s = Suite::start().await;
    let c = admin_browser(&s).await;
    let new = format!("{}/curators/new", base(&s));
    let created = submit(&c, &new, &new, &curator_form("Орлова", "orlova", "Secret-123", "Secret-123")).await;
    assert!(created.html.contains("Соц. куратор добавлен."), "{}", created.html);
    let list = get(&c, &format!("{}/curators", base(&s))).await;
    // The card link of the one curator (minijinja writes `/` as `&#x2f;`).
    let marker = "class=\"curator-name\" href=\"";
    let at = list.html.find(marker).expect("card link") + marker.len();
    let href = list.html[at..].split('"').next().unwrap().replace("&#x2f;", "/");
    let id = href.rsplit('/').next().unwrap().to_string();

    let card = get(&c, &format!("{}/curators/{id}", base(&s))).await;
    assert_eq!(card.status, StatusCode::OK);
    assert!(
        card.html.contains("Орлова Анна Сергеевна") && card.html.contains("Изменить") && card.html.contains("Корзина")
    );

    let edit = format!("{}/curators/{id}/edit", base(&s));
    let form = get(&c, &edit).await;
    assert!(form.html.contains("Сменить пароль"), "S0-24: the edit form offers «Сменить пароль»");
    assert!(!form.html.contains("name=\"password\""), "the edit form has no password fields");
    let mut fields = curator_form("Орлова-Белова", "orlova", "", "");
    fields.truncate(8);
    let saved = submit(&c, &edit, &edit, &fields).await;
    assert!(saved.url.contains("/curators?notice=saved"), "{}", saved.url);
    assert!(saved.html.contains("Орлова-Белова Анна Сергеевна"), "{}", saved.html);

    let pw = format!("{}/curators/{id}/password", base(&s));
    let differ = submit(&c, &pw, &pw, &[("password", "Other-pass-1"), ("password_repeat", "Other-pass-2")]).await;
    assert!(field_block(&differ.html, "password_repeat").contains("Пароли не совпадают."));
    let set = submit(&c, &pw, &pw, &[("password", "Other-pass-1"), ("password_repeat", "Other-pass-1")]).await;
    assert!(set.html.contains("Пароль соц. куратора изменён."), "{}", set.html);
    s.access_token("orlova", "Other-pass-1").await;

    let del = format!("{}/curators/{id}/delete", base(&s));
    let ask = get(&c, &del).await;
    assert!(ask.html.contains("Удалить учётную запись соц. куратора?"), "{}", ask.html);
    assert_eq!(curators_total(&s).await, 1, "asking deletes nothing");
    let gone = submit(&c, &del, &del, &[]).await;
    assert!(gone.html.contains("Соц. куратор удалён."), "{}", gone.html);
    assert!(!gone.html.contains("Орлова-Белова"), "{}", gone.html);
    assert_eq!(curators_total(&s).await, 0);
    assert_eq!(get(&c, &format!("{}/curators/{id}", base(&s))).await.status, StatusCode::NOT_FOUND);
}

// The stylesheet and htmx are served, and pages forbid inline scripts.
#[tokio::test]
async fn assets_are_served_and_pages_carry_security_headers() {
    let s = Suite::start().await;
    let c = browser();
    let css = c.get(format!("{}/static/style.css", s.url(Service::Gateway))).send().await.unwrap();
    assert_eq!(css.status(), StatusCode::OK);
    assert!(css.headers()[reqwest::header::CONTENT_TYPE].to_str().unwrap().starts_with("text/css"));
    let htmx = c.get(format!("{}/assets/htmx.org/dist/htmx.min.js", s.url(Service::Gateway))).send().await.unwrap();
    assert_eq!(htmx.status(), StatusCode::OK, "run `npm ci` in services/gateway/web (scripts/web.sh)");
    let page = c.get(format!("{}/login", base(&s))).send().await.unwrap();
    let csp = page.headers()[reqwest::header::CONTENT_SECURITY_POLICY].to_str().unwrap().to_string();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert_eq!(page.headers()[reqwest::header::CACHE_CONTROL], "no-store");
    let html = page.text().await.unwrap();
    assert!(!html.contains("style=\""), "inline style in a page");
    assert!(!html.contains("<script>"), "inline script in a page");
}

// Identity's access tokens are short-lived; the gateway refreshes them
// shortly before they end (here: on every request, the token living less
// than the refresh margin). Parallel requests of one session must not spend
// the same refresh token twice (identity would end the session).
#[tokio::test]
async fn short_lived_access_tokens_are_refreshed_without_losing_the_session() {
    let s = Suite::start_with(|b| b.tweak(|s| s.identity.access_token_ttl_secs = 30)).await;
    let c = admin_browser(&s).await;
    for _ in 0..3 {
        let page = get(&c, &format!("{}/", base(&s))).await;
        assert!(page.html.contains("Здравствуйте"), "{}", page.url);
    }
    let url = format!("{}/curators", base(&s));
    let pages = futures::future::join_all((0..5).map(|_| get(&c, &url))).await;
    for p in pages {
        assert_eq!(p.status, StatusCode::OK, "{}", p.url);
        assert!(p.url.ends_with("/curators"), "a parallel request lost the session: {}", p.url);
    }
}

// When identity refuses the refresh (the session was revoked), the user
// lands on the login page with «Сеанс завершён. Войдите снова.»
#[tokio::test]
async fn a_refused_refresh_sends_the_user_to_the_login_page() {
    let s = Suite::start().await;
    let c = admin_browser(&s).await;
    let mut db = <sqlx::PgConnection as sqlx::Connection>::connect(&s.db.owner_url).await.expect("db");
    sqlx::query("update identity.sessions set revoked_at = now()").execute(&mut db).await.expect("revoke");
    sqlx::query("update gateway.sessions set access_expires_at = now()")
        .execute(&mut db)
        .await
        .expect("expire the access token");
    let page = get(&c, &format!("{}/", base(&s))).await;
    assert!(page.url.ends_with("/login?note=expired"), "{}", page.url);
    assert!(page.html.contains("Сеанс завершён. Войдите снова."), "{}", page.html);
    let left: i64 = sqlx::query_scalar("select count(*) from gateway.sessions").fetch_one(&mut db).await.unwrap();
    assert_eq!(left, 0, "the dead session was not removed");
}

// Issue 9, point 1: the gateway's sessions table holds the cookie only as a
// sha256 and identity's tokens only sealed (OPEKA_GATEWAY__SECRET_KEY): a
// reader of the table can act as nobody.
#[tokio::test]
async fn issue9_point1_gateway_sessions_hold_no_clear_token() {
    let s = Suite::start().await;
    let c = admin_browser(&s).await;
    let mut db = <sqlx::PgConnection as sqlx::Connection>::connect(&s.db.owner_url).await.expect("db");
    let (id_hash, access, refresh, whole): (Vec<u8>, Vec<u8>, Vec<u8>, String) =
        sqlx::query_as("select id_hash, access_token_sealed, refresh_token_sealed, s::text from gateway.sessions s")
            .fetch_one(&mut db)
            .await
            .expect("one session");
    assert_eq!(id_hash.len(), 32, "the cookie's sha256, not the cookie");
    let secrets = opeka_gateway::Settings::default().secret_box().unwrap();
    let field = |which: &str| format!("gateway.sessions.{which}:{}", hex::encode(&id_hash));
    let access = secrets.open(uuid::Uuid::nil(), &field("access_token"), &access).expect("the access token opens");
    let refresh = secrets.open(uuid::Uuid::nil(), &field("refresh_token"), &refresh).expect("the refresh token opens");
    assert!(access.starts_with("eyJ"), "a JWT was sealed");
    assert!(!whole.contains("eyJ") && !whole.contains(&access), "a clear access token in {whole}");
    assert!(!whole.contains(&refresh), "a clear refresh token in {whole}");
    // The session still works (and a refresh re-seals).
    sqlx::query("update gateway.sessions set access_expires_at = now()").execute(&mut db).await.unwrap();
    let page = get(&c, &format!("{}/", base(&s))).await;
    assert!(page.html.contains("Здравствуйте"), "{}", page.url);
    let whole: String = sqlx::query_scalar("select s::text from gateway.sessions s").fetch_one(&mut db).await.unwrap();
    assert!(!whole.contains("eyJ"), "a clear access token after a refresh: {whole}");
}

// S0-17: the list pages by 50, with a link to the next page and back.
#[tokio::test]
async fn s0_17_the_curator_list_pages_by_fifty() {
    let s = Suite::start().await;
    let token = s.admin_token().await;
    let mut identity = s.identity();
    for i in 0..51 {
        let msg = CreateStaffAccountRequest {
            surname: format!("Куратор{i:02}"),
            login: format!("curator{i:02}"),
            password: "Secret-123".into(),
            password_repeat: "Secret-123".into(),
            roles: vec![Role::Curator as i32],
            ..Default::default()
        };
        identity.create_staff_account(s.request(&token, msg)).await.expect("create curator");
    }
    let c = admin_browser(&s).await;
    let first = get(&c, &format!("{}/curators", base(&s))).await;
    assert_eq!(first.html.matches("class=\"curator-name\"").count(), 50);
    assert!(first.html.contains("Всего: 51"), "{}", first.html);
    let marker = "rel=\"next\" href=\"";
    let at = first.html.find(marker).expect("a next-page link") + marker.len();
    let next = first.html[at..].split('"').next().unwrap().replace("&#x2f;", "/").replace("&amp;", "&");
    let second = get(&c, &format!("{}{next}", s.url(Service::Gateway))).await;
    assert_eq!(second.status, StatusCode::OK, "{next}");
    assert_eq!(second.html.matches("class=\"curator-name\"").count(), 1);
    assert!(second.html.contains("В начало списка") && !second.html.contains("rel=\"next\""));
}

// An htmx request (the live search) without a session is told to navigate
// to the login page rather than handed a redirect it would swap into the list.
#[tokio::test]
async fn an_htmx_request_without_a_session_is_sent_to_the_login_page() {
    let s = Suite::start().await;
    let r =
        raw_client().get(format!("{}/curators?query=x", base(&s))).header("hx-request", "true").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["hx-redirect"], format!("/t/{}/login", s.tenant).as_str());
    let r = raw_client().get(format!("{}/curators", base(&s))).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
}
