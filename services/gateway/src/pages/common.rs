//! What several pages share: option lists for selects (districts, curators,
//! special groups, file types), id checks and form helpers.
use axum::http::StatusCode;
use axum::response::Response;
use opeka_proto::cases::ListSpecialGroupsRequest;
use opeka_proto::files::ListFileTypesRequest;
use opeka_proto::identity::{AccountKind, ListAccountsRequest, ListDistrictsRequest, Role};
use serde::Serialize;
use tonic::Code;

use crate::session::Auth;
use crate::{AppState, identity};

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

/// Statuses that mean "fix the form" rather than "something broke".
pub fn is_form_error(status: &tonic::Status) -> bool {
    matches!(status.code(), Code::InvalidArgument | Code::AlreadyExists | Code::FailedPrecondition)
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
    let msg = ListDistrictsRequest { query: query.to_string() };
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
    let msg = ListSpecialGroupsRequest { query: query.to_string() };
    let r = state.cases.clone().list_special_groups(auth.req(msg)).await?.into_inner();
    Ok(r.groups.into_iter().map(|g| Opt { id: g.id, name: g.name }).collect())
}

pub async fn file_types(state: &AppState, auth: &Auth, query: &str) -> Result<Vec<Opt>, tonic::Status> {
    let msg = ListFileTypesRequest { query: query.to_string() };
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
