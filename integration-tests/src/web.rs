//! Driving the gateway over HTTP as a browser without JavaScript would:
//! a cookie-keeping client, CSRF tokens scraped from forms, form posts, and
//! small readers of the rendered HTML.
use reqwest::{Client, StatusCode};

use crate::Suite;
use opeka_testkit::Service;

pub fn browser() -> Client {
    Client::builder().cookie_store(true).build().expect("http client")
}

pub fn base(s: &Suite) -> String {
    format!("{}/t/{}", s.url(Service::Gateway), s.tenant)
}

pub fn csrf(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).unwrap_or_else(|| panic!("no csrf field in page:\n{html}")) + marker.len();
    let end = html[start..].find('"').expect("csrf value ends");
    html[start..start + end].to_string()
}

/// The HTML of the field block (label, input, error) of form field `name`.
pub fn field_block<'a>(html: &'a str, name: &str) -> &'a str {
    let start = html.find(&format!("for=\"f-{name}\"")).unwrap_or_else(|| panic!("no field {name} in:\n{html}"));
    let rest = &html[start..];
    let end = rest.find("<div class=\"field").unwrap_or(rest.len());
    &rest[..end]
}

/// The text of the first element carrying `class="{class}"`.
pub fn text_of(html: &str, class: &str) -> Option<String> {
    let start = html.find(&format!("class=\"{class}\""))?;
    let open = html[start..].find('>')? + start + 1;
    let close = html[open..].find('<')? + open;
    Some(html[open..close].trim().to_string())
}

/// An attribute value as the browser reads it (minijinja escapes `/` too).
pub fn unescape(v: &str) -> String {
    v.replace("&#x2f;", "/").replace("&#x27;", "'").replace("&quot;", "\"").replace("&amp;", "&")
}

pub struct Page {
    pub status: StatusCode,
    pub url: String,
    pub html: String,
}

pub async fn get(c: &Client, url: &str) -> Page {
    let r = c.get(url).send().await.expect("GET");
    Page { status: r.status(), url: r.url().to_string(), html: r.text().await.expect("body") }
}

pub async fn post(c: &Client, url: &str, form: &[(&str, &str)]) -> Page {
    let r = c.post(url).form(form).send().await.expect("POST");
    Page { status: r.status(), url: r.url().to_string(), html: r.text().await.expect("body") }
}

pub async fn submit(c: &Client, form_url: &str, action: &str, fields: &[(&str, &str)]) -> Page {
    let page = get(c, form_url).await;
    assert_eq!(page.status, StatusCode::OK, "{form_url}: {}", page.html);
    let token = csrf(&page.html);
    let mut all = vec![("csrf", token.as_str())];
    all.extend_from_slice(fields);
    post(c, action, &all).await
}

pub async fn signed_in(s: &Suite, login: &str, password: &str) -> Client {
    let c = browser();
    let url = format!("{}/login", base(s));
    let home = submit(&c, &url, &url, &[("login", login), ("password", password)]).await;
    assert_eq!(home.status, StatusCode::OK, "{}", home.html);
    assert!(home.url.ends_with(&format!("/t/{}/", s.tenant)), "landed on {}", home.url);
    c
}
