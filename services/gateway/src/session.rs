//! Sessions and CSRF. The browser holds only a random id in an HttpOnly
//! cookie scoped to its tenant's path; identity's tokens stay in the
//! `sessions` table and are refreshed here, shortly before they expire.
use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use opeka_proto::identity::RefreshRequest;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use tonic::Code;

use crate::store::{self, SessionRow, Tokens};
use crate::{AppState, identity, tenancy};

pub const SESSION_COOKIE: &str = "opeka_session";
/// Double-submit cookie of the login form (there is no session yet).
pub const LOGIN_CSRF_COOKIE: &str = "opeka_login_csrf";
/// Refresh the access token when less than this is left of it.
const REFRESH_MARGIN: chrono::Duration = chrono::Duration::seconds(60);
/// Largest form body accepted.
const MAX_FORM_BYTES: usize = 64 * 1024;

/// A fresh unguessable token: 256 bits from the thread's CSPRNG, base64url.
pub fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

pub fn hash_id(session_id: &str) -> Vec<u8> {
    Sha256::digest(session_id.as_bytes()).to_vec()
}

/// Compares secrets without leaking where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && !a.is_empty() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The value of cookie `name`, if the request has it.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value scoped to the tenant's pages; `max_age` 0 clears it.
pub fn set_cookie(state: &AppState, tenant: &str, name: &str, value: &str, max_age: u64) -> HeaderValue {
    let secure = if state.settings.secure() { "; Secure" } else { "" };
    let path = tenancy::base(tenant);
    let v = format!("{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}");
    HeaderValue::from_str(&v).expect("cookie values are base64url and slugs")
}

/// Sends the browser to its tenant's login page (`reason` picks the note
/// shown there).
pub fn to_login(tenant: &str, reason: Option<&str>) -> Response {
    Redirect::to(&login_url(tenant, reason)).into_response()
}

fn login_url(tenant: &str, reason: Option<&str>) -> String {
    match reason {
        Some(r) => format!("{}/login?note={r}", tenancy::base(tenant)),
        None => format!("{}/login", tenancy::base(tenant)),
    }
}

/// Like `to_login`, but an htmx request (which would follow a redirect and
/// swap the login form into part of a page) is told to navigate instead.
fn refuse(headers: &HeaderMap, tenant: &str, reason: Option<&str>) -> Response {
    if !headers.contains_key("hx-request") {
        return to_login(tenant, reason);
    }
    let mut res = StatusCode::OK.into_response();
    if let Ok(v) = HeaderValue::from_str(&login_url(tenant, reason)) {
        res.headers_mut().insert("hx-redirect", v);
    }
    res
}

/// The tenant slug of the request's path, or a 404 for a malformed one.
pub async fn path_tenant(parts: &mut Parts) -> Result<String, Response> {
    let params = RawPathParams::from_request_parts(parts, &()).await.ok();
    let tenant = params.and_then(|p| p.iter().find(|(k, _)| *k == "tenant").map(|(_, v)| v.to_string()));
    match tenant {
        Some(t) if tenancy::is_valid_slug(&t) => Ok(t),
        _ => Err((StatusCode::NOT_FOUND, "not found").into_response()),
    }
}

/// The signed-in user of a request under `/t/{tenant}/…`. Extracting it
/// refuses (redirects to that tenant's login) a missing or ended session
/// and a session of another tenant, and refreshes a nearly expired token.
pub struct Auth {
    pub tenant: String,
    pub row: SessionRow,
    id_hash: Vec<u8>,
}

impl Auth {
    pub fn is_admin(&self) -> bool {
        self.row.roles.iter().any(|r| r == "admin")
    }

    /// An identity request on behalf of this user.
    pub fn req<T>(&self, msg: T) -> tonic::Request<T> {
        identity::request(msg, &self.tenant, Some(&self.row.access_token))
    }

    /// Ends the session on the gateway's side (identity's tokens are
    /// revoked separately by Logout).
    pub async fn end(&self, state: &AppState) {
        if let Err(e) = store::delete(&state.pool, &self.id_hash).await {
            tracing::warn!(error = %e, "cannot delete session");
        }
    }

    /// Clears the session cookie in the browser.
    pub fn clear_cookie(&self, state: &AppState) -> HeaderValue {
        set_cookie(state, &self.tenant, SESSION_COOKIE, "", 0)
    }
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let tenant = path_tenant(parts).await?;
        let Some(session_id) = cookie(&parts.headers, SESSION_COOKIE).filter(|v| !v.is_empty()) else {
            return Err(refuse(&parts.headers, &tenant, None));
        };
        let id_hash = hash_id(session_id);
        let now = state.clock.now();
        let row = match store::find(&state.pool, &state.secrets, &id_hash, now).await {
            Ok(Some(row)) => row,
            Ok(None) => return Err(refuse(&parts.headers, &tenant, Some("expired"))),
            Err(e) => return Err(state.internal_error(&tenant, None, &e)),
        };
        // A session belongs to the tenant it was opened in; under another
        // tenant's path it is no session at all.
        if row.tenant != tenant {
            return Err(refuse(&parts.headers, &tenant, None));
        }
        let row = if row.access_expires_at - now <= REFRESH_MARGIN {
            match refresh(state, &id_hash, &tenant, now).await {
                Ok(Some(row)) => row,
                Ok(None) => return Err(refuse(&parts.headers, &tenant, Some("expired"))),
                Err(resp) => return Err(resp),
            }
        } else {
            row
        };
        Ok(Auth { tenant, row, id_hash })
    }
}

/// Rotates the session's tokens under a row lock, so that of two parallel
/// requests only one spends the refresh token and the other reuses the
/// result. `Ok(None)`: identity refused, the session is over.
async fn refresh(
    state: &AppState,
    id_hash: &[u8],
    tenant: &str,
    now: DateTime<Utc>,
) -> Result<Option<SessionRow>, Response> {
    let db_err = |e: sqlx::Error| state.internal_error(tenant, None, &e);
    let mut tx = state.pool.begin().await.map_err(db_err)?;
    let Some(row) = store::lock(&mut tx, &state.secrets, id_hash, now).await.map_err(db_err)? else {
        return Ok(None);
    };
    if row.access_expires_at - now > REFRESH_MARGIN {
        tx.commit().await.map_err(db_err)?;
        return Ok(Some(row));
    }
    let msg = RefreshRequest { tenant: tenant.to_string(), refresh_token: row.refresh_token.clone() };
    match state.identity.clone().refresh(identity::request(msg, tenant, None)).await {
        Ok(pair) => {
            let pair = pair.into_inner();
            let tokens = match pair.account.clone() {
                Some(account) => identity::tokens(pair, &account, now),
                None => Tokens {
                    account_id: row.account_id.clone(),
                    display_name: row.display_name.clone(),
                    roles: row.roles.clone(),
                    access_expires_at: identity::timestamp(pair.access_expires_at.as_ref()).unwrap_or(now),
                    access_token: pair.access_token,
                    refresh_token: pair.refresh_token,
                },
            };
            store::update_tokens(&mut tx, &state.secrets, id_hash, &tokens).await.map_err(db_err)?;
            tx.commit().await.map_err(db_err)?;
            Ok(Some(SessionRow {
                account_id: tokens.account_id,
                display_name: tokens.display_name,
                roles: tokens.roles,
                access_token: tokens.access_token,
                access_expires_at: tokens.access_expires_at,
                refresh_token: tokens.refresh_token,
                ..row
            }))
        }
        Err(status) if matches!(status.code(), Code::Unavailable | Code::DeadlineExceeded) => {
            // Identity is briefly away: keep the session, and go on with the
            // old token while it still lives.
            tx.rollback().await.ok();
            if row.access_expires_at > now {
                Ok(Some(row))
            } else {
                Err(state.error_page(tenant, None, StatusCode::SERVICE_UNAVAILABLE, state.strings().unavailable))
            }
        }
        Err(status) => {
            tracing::info!(code = ?status.code(), "refresh refused; session ended");
            store::delete_in(&mut tx, id_hash).await.map_err(db_err)?;
            tx.commit().await.map_err(db_err)?;
            Ok(None)
        }
    }
}

#[derive(Deserialize, Default)]
struct CsrfField {
    #[serde(default)]
    csrf: String,
}

/// A form posted by a signed-in user: the session is checked first, then
/// the synchroniser token in the form's hidden `csrf` field. Without a
/// matching token the answer is 403 and nothing is done.
pub struct AuthForm<T> {
    pub auth: Auth,
    pub form: T,
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for AuthForm<T> {
    type Rejection = Response;

    async fn from_request(req: Request<Body>, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let auth = Auth::from_request_parts(&mut parts, state).await?;
        let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES).await.map_err(|_| {
            state.error_page(&auth.tenant, Some(&auth), StatusCode::PAYLOAD_TOO_LARGE, state.strings().form_too_large)
        })?;
        let token: CsrfField = serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
        if !same_secret(&token.csrf, &auth.row.csrf_token) {
            tracing::info!("post without a valid csrf token refused");
            return Err(state.error_page(
                &auth.tenant,
                Some(&auth),
                StatusCode::FORBIDDEN,
                state.strings().csrf_failed,
            ));
        }
        let form = serde_html_form::from_bytes(&bytes).map_err(|e| {
            tracing::info!(error = %e, "malformed form");
            state.error_page(&auth.tenant, Some(&auth), StatusCode::BAD_REQUEST, state.strings().form_malformed)
        })?;
        Ok(AuthForm { auth, form })
    }
}

/// Opens a session for a successful login; returns the cookie to set.
pub async fn open(state: &AppState, tenant: &str, tokens: &Tokens) -> Result<HeaderValue, sqlx::Error> {
    let session_id = random_token();
    let now = state.clock.now();
    let ttl = state.settings.session_ttl_secs;
    let expires_at = now + chrono::Duration::seconds(i64::try_from(ttl).unwrap_or(i64::MAX / 2));
    store::insert(&state.pool, &state.secrets, &hash_id(&session_id), tenant, tokens, &random_token(), now, expires_at)
        .await?;
    Ok(set_cookie(state, tenant, SESSION_COOKIE, &session_id, ttl))
}

/// Drops the session a browser presents, if any (on a new login).
pub async fn close_presented(state: &AppState, headers: &HeaderMap) {
    if let Some(id) = cookie(headers, SESSION_COOKIE).filter(|v| !v.is_empty())
        && let Err(e) = store::delete(&state.pool, &hash_id(id)).await
    {
        tracing::warn!(error = %e, "cannot delete the previous session");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_among_many() {
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, HeaderValue::from_static("a=1; opeka_session=xyz"));
        h.append(header::COOKIE, HeaderValue::from_static("b=2"));
        assert_eq!(cookie(&h, "opeka_session"), Some("xyz"));
        assert_eq!(cookie(&h, "b"), Some("2"));
        assert_eq!(cookie(&h, "c"), None);
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "ab"));
        assert!(!same_secret("", ""));
    }

    #[test]
    fn tokens_are_random_and_urlsafe() {
        let a = random_token();
        assert_ne!(a, random_token());
        assert_eq!(a.len(), 43);
        assert!(a.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    }
}
