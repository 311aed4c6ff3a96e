//! «Справочники обращений» through the gateway over HTTP, against identity and cases started by
//! the harness: the admin loads the geography tree (S1-21) from a CSV file and the topics tree
//! (S1-24: ОГВ / НКО-волонтёр → category → subcategory) from pasted lines, sees both nested with
//! their codes and downloads them back; a bad line is named by its number and nothing is stored;
//! other roles are refused (issue 5: «reference data loadable per tenant»).
use opeka_integration_tests::web::{base, csrf, get, post, signed_in, unescape};
use opeka_integration_tests::{PASSWORD, Suite};
use opeka_proto::cases::ListReferenceNodesRequest;
use opeka_proto::cases::appeals_service_client::AppealsServiceClient;
use opeka_proto::identity::{CreateStaffAccountRequest, Role};
use opeka_testkit::Service;
use reqwest::{Client, StatusCode};

const GEOGRAPHY: &str = "\u{feff}level;code;name;parent_code\r\n\
    federal_district;cfo;Центральный федеральный округ;\r\n\
    region;msk;Москва;cfo\r\n\
    municipality;lublino;муниципальный округ Люблино;msk\r\n\
    federal_district;dfo;Дальневосточный федеральный округ;\r\n\
    region;zab;Забайкальский край;dfo\r\n\
    municipality;chita;город Чита;zab\r\n";

const TOPICS: &str = "category_type,ogv,ОГВ,\n\
    category_type,nko,НКО/волонтер,\n\
    category,roads,Автомобильные дороги,ogv\n\
    subcategory,ramps,Среда для инвалидов,roads\n\
    category,help,\"Адресная помощь волонтеров и некоммерческих организаций\",nko\n";

fn page_url(s: &Suite) -> String {
    format!("{}/appeal-references", base(s))
}

/// Posts the page's form as a browser does (multipart/form-data): the csrf field, the textarea
/// and, when given, a chosen file.
async fn upload(c: &Client, s: &Suite, tree: &str, file: Option<&str>, text: &str) -> (StatusCode, String, String) {
    let page = get(c, &page_url(s)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    let token = csrf(&page.html);
    let boundary = "----opeka-test-boundary-7d1f";
    let mut body = String::new();
    let mut part = |disposition: &str, extra: &str, value: &str| {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; {disposition}\r\n{extra}\r\n{value}\r\n"
        ));
    };
    part("name=\"csrf\"", "", &token);
    part("name=\"file\"; filename=\"tree.csv\"", "Content-Type: text/csv\r\n", file.unwrap_or(""));
    part("name=\"text\"", "", text);
    body.push_str(&format!("--{boundary}--\r\n"));
    let r = c
        .post(format!("{}/{tree}", page_url(s)))
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .body(body)
        .send()
        .await
        .expect("POST");
    let (status, url) = (r.status(), r.url().to_string());
    (status, url, r.text().await.expect("body"))
}

async fn stored(s: &Suite, tree: &str) -> Vec<(String, String, String)> {
    let token = s.admin_token().await;
    let mut client = AppealsServiceClient::new(s.channel(Service::Cases));
    let msg = ListReferenceNodesRequest { tree: tree.into(), parent_id: String::new(), ..Default::default() };
    let nodes = client.list_reference_nodes(s.request(&token, msg)).await.expect("list nodes").into_inner().nodes;
    nodes.into_iter().map(|n| (n.level, n.code, n.parent_code)).collect()
}

fn tree_count(html: &str, tree: &str) -> String {
    let section = &html[html.find(&format!("id=\"{tree}\"")).unwrap_or_else(|| panic!("no {tree} section"))..];
    let marker = "class=\"tree-count\">";
    let start = section.find(marker).expect("count") + marker.len();
    section[start..start + section[start..].find('<').expect("count ends")].to_string()
}

// S1-21, S1-24: both trees loaded (a file with `;`, a header and a byte-order mark; pasted lines
// with `,` and quotes), shown nested with codes, downloaded in the same format and loaded back.
#[tokio::test]
async fn s1_21_s1_24_the_admin_loads_both_trees_and_downloads_them() {
    let s = Suite::start().await;
    let c = signed_in(&s, &s.admin_login, &s.admin_password).await;
    let home = get(&c, &format!("{}/", base(&s))).await;
    assert!(home.html.contains(">Справочники обращений</a>"), "the admin's menu has the page");
    let page = get(&c, &page_url(&s)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(page.html.contains("Справочник пока пуст"), "{}", page.html);

    let (status, url, html) = upload(&c, &s, "geography", Some(GEOGRAPHY), "").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(url.contains("loaded=geography"), "back on the page: {url}");
    assert!(html.contains("Справочник загружен.") && html.contains("Добавлено записей: 6, обновлено: 0"), "{html}");
    let (status, _, html) = upload(&c, &s, "topics", None, TOPICS).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("Добавлено записей: 5, обновлено: 0"), "{html}");

    // Both trees, nested under their parents, with codes.
    for (name, code) in [
        ("Центральный федеральный округ", "cfo"),
        ("муниципальный округ Люблино", "lublino"),
        ("город Чита", "chita"),
        ("ОГВ", "ogv"),
        ("НКО/волонтер", "nko"),
        ("Среда для инвалидов", "ramps"),
        ("Адресная помощь волонтеров и некоммерческих организаций", "help"),
    ] {
        assert!(unescape(&html).contains(&format!("<span class=\"ref-name\">{name}</span>")), "{name} listed");
        assert!(html.contains(&format!(">{code}</code>")), "{code} shown");
    }
    // Roots by name (Дальневосточный before Центральный), each followed by its own descendants.
    let at = |code: &str| html.find(&format!(">{code}</code>")).unwrap_or_else(|| panic!("{code}"));
    assert!(at("dfo") < at("chita") && at("chita") < at("cfo") && at("cfo") < at("lublino"), "nested: {html}");
    assert_eq!(tree_count(&html, "geography"), "6");
    assert_eq!(tree_count(&html, "topics"), "5");
    assert_eq!(stored(&s, "topics").await.len(), 5);

    // «Скачать CSV»: the same columns, parents first; loading it back changes nothing.
    let r = c.get(format!("{}/geography/export", page_url(&s))).send().await.expect("export");
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    assert!(r.headers()["content-disposition"].to_str().unwrap().contains("geography.csv"));
    let csv = r.text().await.expect("csv");
    assert!(csv.starts_with("\u{feff}level;code;name;parent_code\r\n"), "{csv}");
    assert!(csv.contains("region;msk;Москва;cfo\r\n") && csv.contains("municipality;chita;город Чита;zab\r\n"));
    let (status, _, html) = upload(&c, &s, "geography", Some(&csv), "").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("Добавлено записей: 0, обновлено: 6"), "{html}");
}

// A line whose parent is unknown: the refusal names the line, nothing of the load is stored, and
// the pasted lines are still in the form. A line with too few columns is named before any call.
#[tokio::test]
async fn a_bad_line_is_named_and_nothing_is_stored() {
    let s = Suite::start().await;
    let c = signed_in(&s, &s.admin_login, &s.admin_password).await;
    let bad = "level;code;name;parent_code\n\
        federal_district;cfo;Центральный федеральный округ;\n\
        region;msk;Москва;cfo\n\
        region;spb;Санкт-Петербург;szfo\n";
    let (status, _, html) = upload(&c, &s, "geography", None, bad).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{html}");
    assert!(html.contains("Ничего не сохранено"), "{html}");
    assert!(html.contains("Строка 4 (parent_code): Родитель с таким кодом не найден"), "line 4 named: {html}");
    assert!(!html.contains("Строка 3"), "the good lines are not blamed");
    assert!(unescape(&html).contains("region;spb;Санкт-Петербург;szfo"), "the pasted lines stay in the form");
    assert!(stored(&s, "geography").await.is_empty(), "all or nothing");
    assert_eq!(tree_count(&html, "geography"), "0");

    let (status, _, html) = upload(&c, &s, "topics", Some("category_type;ogv;ОГВ\ncategory;roads\n"), "").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{html}");
    assert!(html.contains("Строка 2: нужно 3 или 4 столбца"), "{html}");
    assert!(stored(&s, "topics").await.is_empty());

    let (status, _, html) = upload(&c, &s, "topics", None, "  \n").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("Выберите файл или вставьте строки CSV."), "{html}");
}

// Only admins: a moderator is refused the page, the download and the upload, and has no menu item.
#[tokio::test]
async fn other_roles_are_refused() {
    let s = Suite::start().await;
    let token = s.admin_token().await;
    let msg = CreateStaffAccountRequest {
        surname: "Модераторов".into(),
        name: "Тест".into(),
        login: "moder".into(),
        password: PASSWORD.into(),
        password_repeat: PASSWORD.into(),
        roles: vec![Role::Moderator as i32],
        ..Default::default()
    };
    s.identity().create_staff_account(s.request(&token, msg)).await.expect("create moderator");
    let c = signed_in(&s, "moder", PASSWORD).await;
    let home = get(&c, &format!("{}/", base(&s))).await;
    assert!(!home.html.contains("Справочники обращений"), "no menu item for a moderator");
    let page = get(&c, &page_url(&s)).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.html);
    let export = get(&c, &format!("{}/geography/export", page_url(&s))).await;
    assert_eq!(export.status, StatusCode::FORBIDDEN);
    // The moderator's own csrf token (from any page with a form), so only the role refuses.
    let settings = get(&c, &format!("{}/settings", base(&s))).await;
    let token = csrf(&settings.html);
    let lines = "federal_district;cfo;Центральный федеральный округ;";
    let posted = post(&c, &format!("{}/geography", page_url(&s)), &[("csrf", token.as_str()), ("text", lines)]).await;
    assert_eq!(posted.status, StatusCode::FORBIDDEN, "{}", posted.html);
    assert!(stored(&s, "geography").await.is_empty());
}
