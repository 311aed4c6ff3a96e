//! Issue 9, point 10: the gateway's own hardening, checked on its router
//! with no service behind it (the requests here never reach one): `Secure`
//! cookies and HSTS under an https public URL, a form that is not UTF-8
//! refused before anything stores it, an oversized login refused beside the
//! field and never echoed back.
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use opeka_gateway::{AppState, Settings, clients::Clients, router};
use tower::ServiceExt;

const CSRF: &str = "Zm9ybS10b2tlbi1mb3ItdGhlLWxvZ2luLXBhZ2UtMTIz";

async fn app(public_url: &str) -> axum::Router {
    opeka_platform::install_crypto_provider();
    let settings = Settings { public_url: public_url.into(), ..Settings::default() };
    // Nothing here talks to the database or a service: both are lazy.
    let pool = sqlx::PgPool::connect_lazy("postgres://nobody@127.0.0.1:9/none").expect("lazy pool");
    let clients = Clients::connect("http://127.0.0.1:9", &settings).await.expect("lazy clients");
    let state = AppState::new(settings, pool, clients, opeka_platform::clock::system()).expect("state");
    router(state)
}

async fn body(res: axum::response::Response) -> String {
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20).await.unwrap();
    String::from_utf8(bytes.to_vec()).unwrap()
}

fn login_post(form: &'static [u8]) -> Request<Body> {
    Request::post("/t/demo/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, format!("opeka_login_csrf={CSRF}"))
        .body(Body::from(form))
        .unwrap()
}

#[tokio::test]
async fn issue9_point10_secure_cookies_and_hsts_under_an_https_public_url() {
    let res = app("https://opeka.example.ru")
        .await
        .oneshot(Request::get("/t/demo/login").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let hsts = res.headers().get(header::STRICT_TRANSPORT_SECURITY).expect("HSTS header");
    assert!(hsts.to_str().unwrap().contains("max-age="), "{hsts:?}");
    let cookies: Vec<_> =
        res.headers().get_all(header::SET_COOKIE).iter().map(|v| v.to_str().unwrap().to_string()).collect();
    assert!(!cookies.is_empty());
    for c in &cookies {
        assert!(c.contains("; Secure"), "cookie without Secure: {c}");
    }

    // Plain http (make run): neither, or the cookie would never come back.
    let res = app("http://127.0.0.1:8080")
        .await
        .oneshot(Request::get("/t/demo/login").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert!(res.headers().get(header::STRICT_TRANSPORT_SECURITY).is_none());
    for c in res.headers().get_all(header::SET_COOKIE) {
        assert!(!c.to_str().unwrap().contains("Secure"), "{c:?}");
    }
}

#[tokio::test]
async fn issue9_point10_a_form_that_is_not_utf8_is_a_clear_error_and_nothing_is_kept() {
    let res = app("http://127.0.0.1:8080")
        .await
        .oneshot(login_post(b"csrf=Zm9ybS10b2tlbi1mb3ItdGhlLWxvZ2luLXBhZ2UtMTIz&login=%D0%B8%FF%FEvan&password=x"))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let html = body(res).await;
    assert!(html.contains("неверной кодировке"), "{html}");
    assert!(html.contains("«login»"), "the field is named: {html}");
    assert!(!html.contains('\u{FFFD}'), "a replacement character reached the page");
}

#[tokio::test]
async fn issue9_point10_an_oversized_login_is_a_field_error_and_is_not_echoed() {
    static FORM: std::sync::LazyLock<Vec<u8>> =
        std::sync::LazyLock::new(|| format!("csrf={CSRF}&login={}&password=x", "q".repeat(10 * 1024)).into_bytes());
    let res = app("http://127.0.0.1:8080").await.oneshot(login_post(FORM.as_slice())).await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let html = body(res).await;
    assert!(html.contains("не длиннее 254"), "field error shown: {html}");
    assert!(!html.contains(&"q".repeat(300)), "the oversized login was echoed into the page");
}
