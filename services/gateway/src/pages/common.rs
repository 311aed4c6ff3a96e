//! What several pages share: option lists for selects (districts, curators,
//! special groups, file types), id checks, form helpers, and files: a form
//! that carries files (streamed to the files service as it is read) and a
//! file streamed back as a download.
use axum::body::Body;
use axum::extract::multipart::{Field, MultipartError};
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use opeka_proto::cases::ListSpecialGroupsRequest;
use opeka_proto::files::download_file_response::Part;
use opeka_proto::files::{DownloadFileRequest, File, ListFileTypesRequest, UploadFileRequest};
use opeka_proto::identity::{AccountKind, ListAccountsRequest, ListDistrictsRequest, Role};
use serde::de::{Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use tonic::Code;

use crate::session::{self, Auth};
use crate::{AppState, identity};

/// `confirm.html`: the question before a deletion (or signing out), and the button that does it.
#[derive(Debug, Default, Serialize)]
pub struct Confirm<'a> {
    pub title: &'a str,
    /// The menu item to mark.
    pub active: &'a str,
    pub question: &'a str,
    pub subject: &'a str,
    pub note: &'a str,
    /// Where the form posts.
    pub action: &'a str,
    pub confirm_label: &'a str,
    /// A red button (a deletion) rather than the primary one.
    pub danger: bool,
    pub cancel_href: &'a str,
}

/// One entry of a select or a reference list.
#[derive(Debug, Clone, Serialize)]
pub struct Opt {
    pub id: String,
    pub name: String,
}

pub fn name_of(opts: &[Opt], id: &str) -> String {
    opts.iter().find(|o| o.id == id).map(|o| o.name.clone()).unwrap_or_default()
}

/// A well-formed UUID in its canonical spelling; only such ids go to the
/// services and into links.
pub fn uuid(id: &str) -> Option<String> {
    uuid::Uuid::parse_str(id.trim()).ok().map(|u| u.to_string())
}

pub fn not_found(state: &AppState, auth: &Auth) -> Response {
    state.error_page(&auth.tenant, Some(auth), StatusCode::NOT_FOUND, state.strings().not_found)
}

pub fn forbidden(state: &AppState, auth: &Auth) -> Response {
    state.error_page(&auth.tenant, Some(auth), StatusCode::FORBIDDEN, state.strings().forbidden)
}

/// Statuses that mean "fix the form" rather than "something broke" (ABORTED:
/// the record changed since the form was loaded).
pub fn is_form_error(status: &tonic::Status) -> bool {
    matches!(status.code(), Code::InvalidArgument | Code::AlreadyExists | Code::FailedPrecondition | Code::Aborted)
}

/// What a page handler answers: the page, or (as `Err`, so `?` can end a handler early) the page
/// that says why not. Both are finished responses: the error pages are rendered where the failure
/// is known (docs.rs's `AxumNope`, with the rendered page as the error).
pub type Page = Result<Response, Response>;

/// The HTTP status a refused call is shown with (platform's one table).
pub fn http(status: &tonic::Status) -> StatusCode {
    opeka_platform::error::http_status(status.code())
}

impl AppState {
    /// The answer of a service call made for `auth`, or its failure as the error page
    /// (`grpc_error`): `let x = state.call(&auth, client.method(auth.req(msg))).await?;`.
    pub async fn call<T>(
        &self,
        auth: &Auth,
        call: impl Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    ) -> Result<T, Response> {
        match call.await {
            Ok(answer) => Ok(answer.into_inner()),
            Err(status) => Err(self.grpc_error(auth, status).await),
        }
    }

    /// Submits a form's call: on success `done` (a redirect, as a rule); when the service refused
    /// the input (`is_form_error`) `again` shows the form once more with the refusal beside its
    /// fields; any other failure is the error page.
    pub async fn submit<T, R: IntoResponse, A: IntoResponse>(
        &self,
        auth: &Auth,
        call: impl Future<Output = Result<tonic::Response<T>, tonic::Status>>,
        done: impl AsyncFnOnce(T) -> R,
        again: impl AsyncFnOnce(tonic::Status) -> A,
    ) -> Page {
        self.submit_also(auth, &[], call, done, again).await
    }

    /// `submit`, with `also` refusals (beyond `is_form_error`) shown on the form too.
    pub async fn submit_also<T, R: IntoResponse, A: IntoResponse>(
        &self,
        auth: &Auth,
        also: &[Code],
        call: impl Future<Output = Result<tonic::Response<T>, tonic::Status>>,
        done: impl AsyncFnOnce(T) -> R,
        again: impl AsyncFnOnce(tonic::Status) -> A,
    ) -> Page {
        match call.await {
            Ok(answer) => Ok(done(answer.into_inner()).await.into_response()),
            Err(status) if is_form_error(&status) || also.contains(&status.code()) => {
                Ok(again(status).await.into_response())
            }
            Err(status) => Err(self.grpc_error(auth, status).await),
        }
    }
}

// ---- typed forms ----
//
// Forms are `#[derive(Deserialize)]` structs read with `serde_html_form` (by `AuthForm`, and by
// axum-extra's `Query` for filters): a repeated key (multi-selects, checkboxes) is a `Vec`. These
// read a field the way the pages always have: the first value of its key, trimmed.

/// `#[serde(deserialize_with = "trimmed")]`: the field's first value, without surrounding blanks.
pub fn trimmed<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(d.deserialize_any(First)?.trim().to_string())
}

/// `#[serde(deserialize_with = "checked")]`: a checkbox, ticked when it sent any value.
pub fn checked<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(!d.deserialize_any(First)?.trim().is_empty())
}

/// `#[serde(deserialize_with = "filled")]`: every value of a repeated field, trimmed, blanks left out.
pub fn filled<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let values = Vec::<String>::deserialize(d)?;
    Ok(values.iter().map(|v| v.trim()).filter(|v| !v.is_empty()).map(String::from).collect())
}

/// The first of a field's values (a key may come more than once).
struct First;

impl<'de> Visitor<'de> for First {
    type Value = String;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a form value")
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut values: A) -> Result<String, A::Error> {
        let first = values.next_element::<String>()?.unwrap_or_default();
        while values.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(first)
    }
}

/// Every value of `key` in a posted form (for multi-selects and checkboxes).
pub fn all<'a>(pairs: &'a [(String, String)], key: &str) -> Vec<&'a str> {
    pairs.iter().filter(|(k, _)| k == key).map(|(_, v)| v.as_str()).collect()
}

/// The first value of `key`, trimmed; empty when absent.
pub fn one(pairs: &[(String, String)], key: &str) -> String {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.trim().to_string()).unwrap_or_default()
}

pub async fn districts(state: &AppState, auth: &Auth, query: &str) -> Result<Vec<Opt>, tonic::Status> {
    let msg = ListDistrictsRequest { query: query.to_string(), ..Default::default() };
    let r = state.identity.clone().list_districts(auth.req(msg)).await?.into_inner();
    Ok(r.districts.into_iter().map(|d| Opt { id: d.id, name: d.name }).collect())
}

/// The tenant's live curators, alphabetical as identity lists them.
pub async fn curators(state: &AppState, auth: &Auth) -> Result<Vec<Opt>, tonic::Status> {
    let msg = ListAccountsRequest {
        kind: AccountKind::Staff as i32,
        role: Role::Curator as i32,
        page_size: 500,
        ..Default::default()
    };
    let r = state.identity.clone().list_accounts(auth.req(msg)).await?.into_inner();
    Ok(r.accounts.iter().map(|a| Opt { id: a.id.clone(), name: identity::full_name(a) }).collect())
}

pub async fn special_groups(state: &AppState, auth: &Auth, query: &str) -> Result<Vec<Opt>, tonic::Status> {
    let msg = ListSpecialGroupsRequest { query: query.to_string(), ..Default::default() };
    let r = state.cases.clone().list_special_groups(auth.req(msg)).await?.into_inner();
    Ok(r.groups.into_iter().map(|g| Opt { id: g.id, name: g.name }).collect())
}

pub async fn file_types(state: &AppState, auth: &Auth, query: &str) -> Result<Vec<Opt>, tonic::Status> {
    let msg = ListFileTypesRequest { query: query.to_string(), ..Default::default() };
    let r = state.files.clone().list_file_types(auth.req(msg)).await?.into_inner();
    Ok(r.file_types.into_iter().map(|t| Opt { id: t.id, name: t.name }).collect())
}

/// `Content-Disposition` filename (RFC 5987): every byte outside the
/// unreserved set percent-encoded, so any name is safe in the header.
pub fn attachment(name: &str) -> String {
    let mut enc = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            enc.push(b as char);
        } else {
            enc.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename*=UTF-8''{enc}")
}

// ---- files on forms and downloads ----

/// The largest form post that may carry files (a few documents and photos;
/// each file's own limit and type are checked by files). Routes that take
/// such forms raise axum's body limit to this.
pub const MAX_FILES_POST_BYTES: usize = 128 * 1024 * 1024;
/// A text field of such a form (an urlencoded form as a whole, too).
const MAX_TEXT_BYTES: usize = 64 * 1024;
/// One message of the upload stream to files (it refuses messages over 1 MiB).
const UPLOAD_CHUNK_BYTES: usize = 64 * 1024;

/// Whose the files of a form are (`UploadFileRequest` names exactly one owner; a citizen's card
/// that takes files adds `Citizen` here).
#[derive(Debug, Clone, Copy)]
pub enum FileOwner<'a> {
    Appeal(&'a str),
}

/// A file a form carried, stored in files.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Uploaded {
    pub id: String,
    pub name: String,
}

/// A posted form that may carry files.
#[derive(Debug, Default)]
pub struct Posted {
    /// The text fields, as `AuthForm<Pairs>` has them.
    pub pairs: Vec<(String, String)>,
    /// Stored in files, in the order the form carried them.
    pub uploaded: Vec<Uploaded>,
    /// Files that files refused, one sentence each («name»: why), for beside the file input.
    pub refused: Vec<String>,
}

/// Reads a form posted as `multipart/form-data` (or urlencoded, which carries no file): its text
/// fields, with the csrf token checked as `AuthForm` does, and every chosen file streamed to
/// files as `owner`'s while the form is read — nothing is held in memory. The csrf field must
/// come before the file inputs (the templates put it first); a file before it refuses the form.
pub async fn posted_with_files(
    state: &AppState,
    auth: &Auth,
    req: Request,
    owner: FileOwner<'_>,
) -> Result<Posted, Response> {
    let strings = state.strings();
    let page = |code: StatusCode, msg: &str| state.error_page(&auth.tenant, Some(auth), code, msg);
    let csrf_refused = || {
        tracing::info!("post without a valid csrf token refused");
        page(StatusCode::FORBIDDEN, strings.csrf_failed)
    };
    let unreadable = |e: MultipartError| {
        tracing::info!(error = %e, "malformed multipart form");
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            page(StatusCode::PAYLOAD_TOO_LARGE, strings.form_too_large)
        } else {
            page(StatusCode::BAD_REQUEST, strings.form_malformed)
        }
    };
    let multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("multipart/form-data"));
    if !multipart {
        let bytes = axum::body::to_bytes(req.into_body(), MAX_TEXT_BYTES)
            .await
            .map_err(|_| page(StatusCode::PAYLOAD_TOO_LARGE, strings.form_too_large))?;
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes).map_err(|e| {
            tracing::info!(error = %e, "malformed form");
            page(StatusCode::BAD_REQUEST, strings.form_malformed)
        })?;
        let token = pairs.iter().find(|(k, _)| k == "csrf").map(|(_, v)| v.as_str()).unwrap_or_default();
        if !session::same_secret(token, &auth.row.csrf_token) {
            return Err(csrf_refused());
        }
        return Ok(Posted { pairs, ..Posted::default() });
    }
    let mut form = Multipart::from_request(req, state).await.map_err(|e| {
        tracing::info!(error = %e, "not a multipart form");
        page(StatusCode::BAD_REQUEST, strings.form_malformed)
    })?;
    let mut posted = Posted::default();
    let mut checked = false;
    while let Some(mut field) = form.next_field().await.map_err(unreadable)? {
        let name = field.name().unwrap_or_default().to_string();
        if let Some(file_name) = field.file_name().map(str::to_string) {
            if !checked {
                return Err(csrf_refused());
            }
            // An input with no file chosen still sends an empty, nameless part.
            if file_name.trim().is_empty() {
                continue;
            }
            match upload(state, auth, owner, &mut field, &file_name).await {
                Ok(u) => posted.uploaded.push(u),
                Err(Refused::File(why)) => posted.refused.push(why),
                Err(Refused::Form(e)) => return Err(unreadable(e)),
            }
            continue;
        }
        let mut text = Vec::new();
        while let Some(piece) = field.chunk().await.map_err(unreadable)? {
            if text.len() + piece.len() > MAX_TEXT_BYTES {
                return Err(page(StatusCode::PAYLOAD_TOO_LARGE, strings.form_too_large));
            }
            text.extend_from_slice(&piece);
        }
        let Ok(value) = String::from_utf8(text) else {
            return Err(page(StatusCode::BAD_REQUEST, strings.form_malformed));
        };
        if name == "csrf" {
            if !session::same_secret(&value, &auth.row.csrf_token) {
                return Err(csrf_refused());
            }
            checked = true;
        }
        posted.pairs.push((name, value));
    }
    if !checked {
        return Err(csrf_refused());
    }
    Ok(posted)
}

/// Why a file of a form was not stored.
enum Refused {
    /// Files refused it (or could not be reached): a sentence for the form.
    File(String),
    /// The form itself broke off.
    Form(MultipartError),
}

/// Streams one file input to files while reading it. If files refuses early (a type it does not
/// take, over the limit), the rest of the input is left for the next field to skip.
async fn upload(
    state: &AppState,
    auth: &Auth,
    owner: FileOwner<'_>,
    field: &mut Field<'_>,
    file_name: &str,
) -> Result<Uploaded, Refused> {
    let mut head = UploadFileRequest {
        original_name: file_name.to_string(),
        declared_content_type: field.content_type().unwrap_or_default().to_string(),
        ..Default::default()
    };
    let FileOwner::Appeal(id) = owner;
    head.appeal_id = id.to_string();
    let (tx, rx) = tokio::sync::mpsc::channel::<UploadFileRequest>(4);
    let messages = futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|m| (m, rx)) });
    let mut files = state.files.clone();
    let req = auth.req(messages);
    let mut call = tokio::spawn(async move { files.upload_file(req).await });
    let mut head = Some(head);
    let mut answered = None;
    'feed: loop {
        let bytes = match field.chunk().await {
            Ok(Some(b)) => b,
            Ok(None) => break,
            Err(e) => {
                // Cut the call short: files then stores nothing of a file that did not arrive whole.
                call.abort();
                return Err(Refused::Form(e));
            }
        };
        for piece in bytes.chunks(UPLOAD_CHUNK_BYTES) {
            let mut m = head.take().unwrap_or_default();
            m.chunk = piece.to_vec();
            tokio::select! {
                sent = tx.send(m) => if sent.is_err() { break 'feed },
                r = &mut call => {
                    answered = Some(r);
                    break 'feed;
                }
            }
        }
    }
    if let Some(h) = head.take() {
        // An empty file: the header alone, which files refuses with its own words.
        let _ = tx.send(h).await;
    }
    drop(tx);
    let answer = match answered {
        Some(r) => r,
        None => call.await,
    };
    let why = |reason: String| Refused::File(format!("«{file_name}»: {reason}"));
    match answer {
        Ok(Ok(f)) => {
            let f = f.into_inner();
            Ok(Uploaded { id: f.id, name: f.original_name })
        }
        Ok(Err(status)) => {
            tracing::info!(code = ?status.code(), message = status.message(), "file of a form not stored");
            let v = opeka_platform::error::violations(&status);
            let reason = if v.is_empty() {
                status.message().to_string()
            } else {
                v.into_iter().map(|v| v.description).collect::<Vec<_>>().join(" ")
            };
            Err(why(reason))
        }
        Err(e) => {
            tracing::error!(error = %e, "upload task failed");
            Err(why(state.strings().form_malformed.to_string()))
        }
    }
}

/// Streams file `file_id` from files as a download, when `belongs` says it is a file of the page
/// the caller was just allowed to open (a citizen's card, an appeal); otherwise «not found». Always
/// an attachment: the bytes came from outside and must never run as a page of ours.
pub async fn download(state: &AppState, auth: &Auth, file_id: String, belongs: impl FnOnce(&File) -> bool) -> Page {
    let mut stream =
        state.call(auth, state.files.clone().download_file(auth.req(DownloadFileRequest { id: file_id }))).await?;
    let file = match stream.message().await {
        Ok(Some(m)) => match m.part {
            Some(Part::File(f)) => f,
            _ => return Err(state.internal_error(&auth.tenant, Some(auth), &"download began without metadata")),
        },
        Ok(None) => return Err(not_found(state, auth)),
        Err(status) => return Err(state.grpc_error(auth, status).await),
    };
    if !belongs(&file) {
        return Err(not_found(state, auth));
    }
    let body = Body::from_stream(stream.map(|m| match m {
        Ok(m) => match m.part {
            Some(Part::Chunk(b)) => Ok(b),
            _ => Ok(Vec::new()),
        },
        Err(status) => Err(std::io::Error::other(status.message().to_string())),
    }));
    let mut res = body.into_response();
    let h = res.headers_mut();
    let ct = HeaderValue::from_str(&file.content_type)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
    h.insert(header::CONTENT_TYPE, ct);
    if let Ok(v) = HeaderValue::from_str(&attachment(&file.original_name)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    if let Ok(v) = HeaderValue::from_str(&file.size.to_string()) {
        h.insert(header::CONTENT_LENGTH, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("sandbox; default-src 'none'"));
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attachment_names_are_encoded() {
        assert_eq!(
            attachment("справка 1.pdf"),
            "attachment; filename*=UTF-8''%D1%81%D0%BF%D1%80%D0%B0%D0%B2%D0%BA%D0%B0%201.pdf"
        );
        assert_eq!(attachment("a\"b\r\n"), "attachment; filename*=UTF-8''a%22b%0D%0A");
    }

    #[test]
    fn form_pairs() {
        let p = vec![("g".to_string(), "1".to_string()), ("g".into(), "2".into()), ("x".into(), " y ".into())];
        assert_eq!(all(&p, "g"), vec!["1", "2"]);
        assert_eq!(one(&p, "x"), "y");
        assert_eq!(one(&p, "z"), "");
    }
}
