//! The gateway's side of the trust boundary (issue 9): who the client is
//! (the TCP peer, or what a trusted reverse proxy says in `X-Forwarded-For`),
//! forwarded to every service call a request makes so services can throttle
//! per address; HSTS behind an https public URL; and form bodies that are not
//! UTF-8 refused before any handler sees them (a browser always sends UTF-8:
//! anything else would be stored as «���»).
use std::net::{IpAddr, SocketAddr};

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use opeka_platform::throttle::{self, Networks};

use crate::{AppState, tenancy};

/// Form bodies larger than this are refused (the same cap as axum's `Form`).
const MAX_FORM_BODY: usize = 2 * 1024 * 1024;

/// The end user's address: the TCP peer, unless the peer is a trusted proxy;
/// then `X-Forwarded-For` read from the right, skipping trusted proxies, so
/// a client cannot prepend an address of its choosing.
pub fn client_address(peer: IpAddr, headers: &HeaderMap, proxies: &Networks) -> IpAddr {
    if !proxies.contains(peer) {
        return peer;
    }
    let hops: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|h| h.trim().parse().ok())
        .collect();
    hops.into_iter().rev().find(|hop| !proxies.contains(*hop)).unwrap_or(peer)
}

/// Runs the request with its client address set for outgoing gRPC calls
/// (`x-opeka-client-ip`, read by services that trust the gateway).
pub async fn forward_client(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    match peer {
        Some(peer) => {
            let client = client_address(peer, req.headers(), &state.proxies);
            throttle::forwarding(client, next.run(req)).await
        }
        None => next.run(req).await,
    }
}

/// `Strict-Transport-Security` whenever the public URL is https.
pub async fn hsts(State(state): State<AppState>, mut res: Response) -> Response {
    if state.settings.https() {
        res.headers_mut()
            .entry(header::STRICT_TRANSPORT_SECURITY)
            .or_insert(HeaderValue::from_static("max-age=31536000; includeSubDomains"));
    }
    res
}

/// Refuses a url-encoded form whose field name or value is not UTF-8 once
/// percent-decoded, naming the field, before any handler decodes it lossily.
pub async fn utf8_forms(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let is_form = req.method() == Method::POST
        && req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return next.run(req).await;
    }
    let tenant = tenant_of(req.uri().path());
    let (parts, body) = req.into_parts();
    let t = state.strings();
    let bytes = match axum::body::to_bytes(body, MAX_FORM_BODY).await {
        Ok(b) => b,
        Err(_) => return refuse(&state, tenant.as_deref(), StatusCode::PAYLOAD_TOO_LARGE, t.form_too_large.into()),
    };
    if let Some(field) = non_utf8_field(&bytes) {
        tracing::info!(field = %field, "form with a field that is not UTF-8 refused");
        let message = if field.is_empty() {
            t.form_bad_encoding.to_string()
        } else {
            format!("{} ({}: «{}»)", t.form_bad_encoding, t.field_word, field)
        };
        return refuse(&state, tenant.as_deref(), StatusCode::BAD_REQUEST, message);
    }
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

fn refuse(state: &AppState, tenant: Option<&str>, status: StatusCode, message: String) -> Response {
    match tenant {
        Some(t) => state.error_page(t, None, status, &message),
        None => (status, message).into_response(),
    }
}

fn tenant_of(path: &str) -> Option<String> {
    let rest = path.strip_prefix("/t/")?;
    let slug = rest.split('/').next()?;
    tenancy::is_valid_slug(slug).then(|| slug.to_string())
}

/// The first field whose name or value does not decode to UTF-8: its name,
/// or "" when the name itself is not UTF-8 (or only a short, printable
/// prefix of it is shown: the name comes from the client).
pub fn non_utf8_field(body: &[u8]) -> Option<String> {
    for pair in body.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
        let (k, v) = match pair.iter().position(|b| *b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &[][..]),
        };
        let key = percent_decode(k);
        let value = percent_decode(v);
        match (std::str::from_utf8(&key), std::str::from_utf8(&value)) {
            (Ok(_), Ok(_)) => {}
            (Ok(name), Err(_)) => {
                let safe = name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') && name.len() <= 40;
                return Some(if safe { name.to_string() } else { String::new() });
            }
            _ => return Some(String::new()),
        }
    }
    None
}

fn percent_decode(s: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < s.len() => match (hex(s[i + 1]), hex(s[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_trusted_proxies_name_the_client() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "198.51.100.1, 203.0.113.7, 10.0.0.2".parse().unwrap());
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let proxies: Networks = "10.0.0.0/8".parse().unwrap();
        // The rightmost untrusted hop, not the client-supplied first one.
        assert_eq!(client_address(proxy, &h, &proxies), "203.0.113.7".parse::<IpAddr>().unwrap());
        let direct: IpAddr = "192.0.2.9".parse().unwrap();
        assert_eq!(client_address(direct, &h, &proxies), direct);
        assert_eq!(client_address(proxy, &h, &Networks::default()), proxy);
    }

    #[test]
    fn forms_that_are_not_utf8_are_found() {
        assert_eq!(non_utf8_field(b"login=%D0%B0%D0%B1&password=x+y"), None);
        assert_eq!(non_utf8_field(b"csrf=1&login=%FF%FE"), Some("login".into()));
        assert_eq!(non_utf8_field(b"%FF=1"), Some(String::new()));
        assert_eq!(non_utf8_field(b"a=%"), None);
        assert_eq!(non_utf8_field(b"a=%4"), None);
    }
}
