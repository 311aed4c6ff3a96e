//! «Справочники обращений» (issue 5: «reference data loadable per tenant»): the admin sees the
//! tenant's geography and topics trees, loads either one from a CSV file or pasted lines through
//! ImportReferenceNodes (all or nothing; a refusal names the line) and downloads it in the same
//! format. Cases checks the role again.
//!
//! The `csv` crate is not in the workspace, and the format is four short columns without
//! embedded line breaks, so a small quote-aware splitter below reads it.
use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum_extra::extract::Query;
use opeka_proto::cases::{ImportReferenceNodesRequest, ListReferenceNodesRequest, ReferenceNode};
use serde::{Deserialize, Serialize};
use tonic::Code;

use crate::pages::common::{self, Page, http};
use crate::session::{Auth, same_secret};
use crate::strings::appeal_references::AppealReferencesStrings;
use crate::{AppState, tenancy};

/// The trees, as cases names them (and this page's anchors and paths).
const TREES: [&str; 2] = ["geography", "topics"];
/// A load at once: fits the gRPC message limit with room to spare.
const MAX_LINES: usize = 20_000;
const MAX_BODY: usize = 4 * 1024 * 1024;
/// Refusals listed on the page; the rest are counted.
const SHOWN_ERRORS: usize = 50;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/t/{tenant}/appeal-references", get(page))
        .route("/t/{tenant}/appeal-references/{tree}", post(import).layer(DefaultBodyLimit::max(MAX_BODY)))
        .route("/t/{tenant}/appeal-references/{tree}/export", get(export))
}

/// The levels of a tree, top down, with their labels.
fn levels(tree: &str, t: &'static AppealReferencesStrings) -> Option<[(&'static str, &'static str); 3]> {
    match tree {
        "geography" => {
            Some([("federal_district", t.federal_district), ("region", t.region), ("municipality", t.municipality)])
        }
        "topics" => {
            Some([("category_type", t.category_type), ("category", t.category), ("subcategory", t.subcategory)])
        }
        _ => None,
    }
}

fn title(tree: &str, t: &'static AppealReferencesStrings) -> &'static str {
    if tree == "geography" { t.geography_title } else { t.topics_title }
}

// ------------------------------------------------------------------- the page

/// A node with its children, as the page nests them.
#[derive(Debug, Serialize)]
struct NodeView {
    code: String,
    name: String,
    level: &'static str,
    children: Vec<NodeView>,
}

/// The nodes under `parent` (roots: no parent, or one not in the list), in the service's order.
fn nest(
    nodes: &[ReferenceNode],
    parent: Option<&str>,
    labels: &[(&str, &'static str); 3],
    depth: usize,
) -> Vec<NodeView> {
    if depth >= labels.len() {
        return Vec::new();
    }
    let is_child = |n: &ReferenceNode| match parent {
        Some(p) => n.parent_id == p,
        None => n.parent_id.is_empty() || !nodes.iter().any(|o| o.id == n.parent_id),
    };
    nodes
        .iter()
        .filter(|n| is_child(n))
        .map(|n| NodeView {
            code: n.code.clone(),
            name: n.name.clone(),
            level: labels.iter().find(|(code, _)| *code == n.level).map(|(_, l)| *l).unwrap_or_default(),
            children: nest(nodes, Some(&n.id), labels, depth + 1),
        })
        .collect()
}

/// One tree's section: its nodes, and the state of its upload form.
#[derive(Debug, Serialize)]
struct TreeView {
    tree: &'static str,
    title: &'static str,
    levels: Vec<(&'static str, &'static str)>,
    count: usize,
    roots: Vec<NodeView>,
    errors: Vec<String>,
    text: String,
}

/// A refused load, shown in its tree's form.
struct Refused {
    tree: String,
    errors: Vec<String>,
    text: String,
}

#[derive(Deserialize, Default)]
pub struct PageQuery {
    #[serde(default)]
    loaded: String,
    #[serde(default)]
    created: i32,
    #[serde(default)]
    updated: i32,
}

async fn page(State(state): State<AppState>, auth: Auth, Query(q): Query<PageQuery>) -> Page {
    if !auth.is_admin() {
        return Err(common::forbidden(&state, &auth));
    }
    render(&state, &auth, StatusCode::OK, None, &q).await
}

async fn list(state: &AppState, auth: &Auth, tree: &str) -> Result<Vec<ReferenceNode>, tonic::Status> {
    let msg = ListReferenceNodesRequest { tree: tree.to_string(), parent_id: String::new(), ..Default::default() };
    Ok(state.appeals.clone().list_reference_nodes(auth.req(msg)).await?.into_inner().nodes)
}

async fn render(state: &AppState, auth: &Auth, status: StatusCode, refused: Option<Refused>, q: &PageQuery) -> Page {
    let t = state.strings().appeal_references;
    let mut trees = Vec::new();
    for tree in TREES {
        let nodes = match list(state, auth, tree).await {
            Ok(n) => n,
            Err(status) => return Err(state.grpc_error(auth, status).await),
        };
        let labels = levels(tree, t).unwrap_or_default();
        let (errors, text) = match &refused {
            Some(r) if r.tree == tree => (r.errors.clone(), r.text.clone()),
            _ => (Vec::new(), String::new()),
        };
        trees.push(TreeView {
            tree,
            title: title(tree, t),
            levels: labels.to_vec(),
            count: nodes.len(),
            roots: nest(&nodes, None, &labels, 0),
            errors,
            text,
        });
    }
    let loaded = TREES.iter().find(|tr| **tr == q.loaded).map(|tr| title(tr, t));
    let (created, updated) = (q.created, q.updated);
    let page = RefsPage { title: t.menu, active: "appeal-references", trees, loaded, created, updated };
    Ok(state.page(&auth.tenant, Some(auth), status, "appeals/references.html", page))
}

/// `appeals/references.html`.
#[derive(Serialize)]
struct RefsPage {
    title: &'static str,
    active: &'static str,
    trees: Vec<TreeView>,
    loaded: Option<&'static str>,
    created: i32,
    updated: i32,
}

// --------------------------------------------------------------------- export

/// The tree as the upload reads it: a header, then parents before children.
async fn export(State(state): State<AppState>, Path((_, tree)): Path<(String, String)>, auth: Auth) -> Page {
    if !auth.is_admin() {
        return Err(common::forbidden(&state, &auth));
    }
    if !TREES.contains(&tree.as_str()) {
        return Err(common::not_found(&state, &auth));
    }
    let nodes = match list(&state, &auth, &tree).await {
        Ok(n) => n,
        Err(status) => return Err(state.grpc_error(&auth, status).await),
    };
    let body = to_csv(&nodes);
    let mut res = body.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&common::attachment(&format!("{tree}.csv"))) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}

/// `;`-separated with a byte-order mark, so that a spreadsheet opened on a Russian desktop shows
/// the names; fields with a separator or a quote are quoted.
fn to_csv(nodes: &[ReferenceNode]) -> String {
    let field = |v: &str| {
        if v.contains([';', '"', '\n', '\r']) { format!("\"{}\"", v.replace('"', "\"\"")) } else { v.to_string() }
    };
    let mut out = String::from("\u{feff}level;code;name;parent_code\r\n");
    for n in nodes {
        let cols = [&n.level, &n.code, &n.name, &n.parent_code].map(|v| field(v));
        out.push_str(&cols.join(";"));
        out.push_str("\r\n");
    }
    out
}

// --------------------------------------------------------------------- import

/// What the form sent: the file's bytes (if one was chosen) and the textarea.
#[derive(Default)]
struct Upload {
    csrf: String,
    file: Vec<u8>,
    text: String,
}

/// Reads the form, multipart (the page's form) or urlencoded (pasted lines only).
async fn read_upload(state: &AppState, req: Request) -> Result<Upload, StatusCode> {
    let multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let mut u = Upload::default();
    if !multipart {
        let bytes = axum::body::to_bytes(req.into_body(), MAX_BODY).await.map_err(|_| StatusCode::PAYLOAD_TOO_LARGE)?;
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes).map_err(|_| StatusCode::BAD_REQUEST)?;
        u.csrf = common::one(&pairs, "csrf");
        u.text = pairs.into_iter().find(|(k, _)| k == "text").map(|(_, v)| v).unwrap_or_default();
        return Ok(u);
    }
    let mut form = Multipart::from_request(req, state).await.map_err(|e| e.status())?;
    while let Some(field) = form.next_field().await.map_err(|e| e.status())? {
        match field.name().unwrap_or_default() {
            "csrf" => u.csrf = field.text().await.map_err(|e| e.status())?,
            "text" => u.text = field.text().await.map_err(|e| e.status())?,
            "file" => u.file = field.bytes().await.map_err(|e| e.status())?.to_vec(),
            _ => {}
        }
    }
    Ok(u)
}

/// «Загрузить»: the file if one was chosen, else the pasted lines → ImportReferenceNodes.
async fn import(
    State(state): State<AppState>,
    Path((_, tree)): Path<(String, String)>,
    auth: Auth,
    req: Request,
) -> Page {
    let s = state.strings();
    let u = match read_upload(&state, req).await {
        Ok(u) => u,
        Err(StatusCode::PAYLOAD_TOO_LARGE) => {
            return Err(state.error_page(&auth.tenant, Some(&auth), StatusCode::PAYLOAD_TOO_LARGE, s.form_too_large));
        }
        Err(code) => return Err(state.error_page(&auth.tenant, Some(&auth), code, s.form_malformed)),
    };
    if !same_secret(&u.csrf, &auth.row.csrf_token) {
        tracing::info!("post without a valid csrf token refused");
        return Err(state.error_page(&auth.tenant, Some(&auth), StatusCode::FORBIDDEN, s.csrf_failed));
    }
    if !auth.is_admin() {
        return Err(common::forbidden(&state, &auth));
    }
    let t = s.appeal_references;
    if levels(&tree, t).is_none() {
        return Err(common::not_found(&state, &auth));
    }
    let refuse = |errors: Vec<String>, text: String| Refused { tree: tree.clone(), errors, text };
    let none = PageQuery::default();
    let source = if u.file.is_empty() {
        u.text.clone()
    } else {
        match String::from_utf8(u.file) {
            Ok(text) => text,
            Err(_) => {
                let r = refuse(vec![t.not_utf8.to_string()], u.text);
                return render(&state, &auth, StatusCode::BAD_REQUEST, Some(r), &none).await;
            }
        }
    };
    let rows = match parse(&source) {
        Ok(rows) if rows.is_empty() => {
            let r = refuse(vec![t.nothing_to_load.to_string()], u.text);
            return render(&state, &auth, StatusCode::BAD_REQUEST, Some(r), &none).await;
        }
        Ok(rows) => rows,
        Err(e) => {
            let r = refuse(parse_messages(&e, t), u.text);
            return render(&state, &auth, StatusCode::BAD_REQUEST, Some(r), &none).await;
        }
    };
    let msg = ImportReferenceNodesRequest { tree: tree.clone(), nodes: rows.iter().map(|r| r.node.clone()).collect() };
    state
        .submit(
            &auth,
            state.appeals.clone().import_reference_nodes(auth.req(msg)),
            async |r| {
                let url = format!(
                    "{}/appeal-references?loaded={tree}&created={}&updated={}#{tree}",
                    tenancy::base(&auth.tenant),
                    r.created,
                    r.updated
                );
                Redirect::to(&url)
            },
            async |status| {
                let r = refuse(refusal_messages(&status, &rows, t), u.text);
                render(&state, &auth, http(&status), Some(r), &none).await
            },
        )
        .await
}

/// Cases' violations (`nodes[i].field`) as «Строка N (field): …», in line order.
fn refusal_messages(status: &tonic::Status, rows: &[Row], t: &AppealReferencesStrings) -> Vec<String> {
    let violations = opeka_platform::error::violations(status);
    if violations.is_empty() || status.code() != Code::InvalidArgument {
        return vec![status.message().to_string()];
    }
    let mut lines: Vec<(usize, String)> = violations
        .into_iter()
        .map(|v| match node_field(&v.field).and_then(|(i, f)| Some((rows.get(i)?.line, f))) {
            Some((line, field)) => (line, format!("{} {line} ({field}): {}", t.line, v.description)),
            None => (0, v.description),
        })
        .collect();
    lines.sort_by_key(|(line, _)| *line);
    shown(lines.into_iter().map(|(_, m)| m).collect(), t)
}

/// `nodes[3].parent_code` → (3, "parent_code").
fn node_field(field: &str) -> Option<(usize, &str)> {
    let rest = field.strip_prefix("nodes[")?;
    let (index, rest) = rest.split_once(']')?;
    Some((index.parse().ok()?, rest.strip_prefix('.').unwrap_or(rest)))
}

fn parse_messages(e: &ParseError, t: &AppealReferencesStrings) -> Vec<String> {
    match e {
        ParseError::TooMany => vec![t.too_many_lines.to_string()],
        ParseError::Lines(lines) => shown(
            lines
                .iter()
                .map(|(line, p)| {
                    let what = match p {
                        Problem::Columns => t.columns_expected,
                        Problem::Quote => t.quote_unclosed,
                    };
                    format!("{} {line}: {what}", t.line)
                })
                .collect(),
            t,
        ),
    }
}

/// The first refusals, and how many more there are.
fn shown(mut all: Vec<String>, t: &AppealReferencesStrings) -> Vec<String> {
    if all.len() > SHOWN_ERRORS {
        let more = all.len() - SHOWN_ERRORS;
        all.truncate(SHOWN_ERRORS);
        all.push(format!("{} {more}", t.more_errors));
    }
    all
}

// ------------------------------------------------------------------------ CSV

/// A data line of a loaded file: its number in the file (1-based) and the node it names.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    line: usize,
    node: ReferenceNode,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Problem {
    /// Not 3 or 4 columns.
    Columns,
    /// A quoted field without its closing quote.
    Quote,
}

#[derive(Debug, PartialEq, Eq)]
enum ParseError {
    /// Every line that could not be read, with its number.
    Lines(Vec<(usize, Problem)>),
    TooMany,
}

/// Reads `level;code;name;parent_code` lines (or `,`-separated: the separator that splits the
/// first line into more fields wins), an optional header (first field `level`), a leading
/// byte-order mark, blank lines, RFC 4180 quotes within a line. `parent_code` may be left out.
fn parse(text: &str) -> Result<Vec<Row>, ParseError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l)).filter(|(_, l)| !l.trim().is_empty());
    let Some((first_no, first)) = lines.next() else { return Ok(Vec::new()) };
    let count = |d| split(first, d).map_or(0, |f| f.len());
    let delimiter = if count(',') > count(';') { ',' } else { ';' };
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    for (no, line) in std::iter::once((first_no, first)).chain(lines) {
        let Some(fields) = split(line, delimiter) else {
            problems.push((no, Problem::Quote));
            continue;
        };
        if no == first_no && fields.first().is_some_and(|f| f.eq_ignore_ascii_case("level")) {
            continue;
        }
        if !(3..=4).contains(&fields.len()) {
            problems.push((no, Problem::Columns));
            continue;
        }
        if rows.len() == MAX_LINES {
            return Err(ParseError::TooMany);
        }
        let mut f = fields.into_iter();
        let mut next = || f.next().unwrap_or_default();
        let node =
            ReferenceNode { level: next(), code: next(), name: next(), parent_code: next(), ..Default::default() };
        rows.push(Row { line: no, node });
    }
    if problems.is_empty() { Ok(rows) } else { Err(ParseError::Lines(problems)) }
}

/// One line's fields, trimmed; `None` when a quoted field is not closed.
fn split(line: &str, delimiter: char) -> Option<Vec<String>> {
    let mut fields = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        let mut field = String::new();
        while chars.peek().is_some_and(|c| *c == ' ' || *c == '\t') {
            chars.next();
        }
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    None => return None,
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    Some('"') => break,
                    Some(c) => field.push(c),
                }
            }
            // Anything between the closing quote and the separator is kept as typed.
            while let Some(c) = chars.next_if(|c| *c != delimiter) {
                field.push(c);
            }
        } else {
            while let Some(c) = chars.next_if(|c| *c != delimiter) {
                field.push(c);
            }
        }
        fields.push(field.trim().to_string());
        if chars.next().is_none() {
            return Some(fields);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(rows: &[Row]) -> Vec<(usize, &str, &str, &str, &str)> {
        rows.iter()
            .map(|r| {
                (r.line, r.node.level.as_str(), r.node.code.as_str(), r.node.name.as_str(), r.node.parent_code.as_str())
            })
            .collect()
    }

    #[test]
    fn semicolons_with_a_header_and_a_byte_order_mark() {
        let rows = parse(
            "\u{feff}level;code;name;parent_code\r\nfederal_district;cfo;ЦФО;\r\n\r\nregion;msk; Москва ;cfo\r\n",
        )
        .unwrap();
        assert_eq!(
            codes(&rows),
            vec![(2, "federal_district", "cfo", "ЦФО", ""), (4, "region", "msk", "Москва", "cfo")]
        );
    }

    #[test]
    fn commas_without_a_header_and_quoted_names() {
        let rows = parse("category_type,ogv,ОГВ\ncategory,roads,\"Дороги, мосты и \"\"тротуары\"\"\",ogv\n").unwrap();
        assert_eq!(
            codes(&rows),
            vec![
                (1, "category_type", "ogv", "ОГВ", ""),
                (2, "category", "roads", "Дороги, мосты и \"тротуары\"", "ogv")
            ]
        );
        // A `;` file whose names hold commas stays a `;` file.
        let rows = parse("region;msk;Москва, столица;cfo").unwrap();
        assert_eq!(rows[0].node.name, "Москва, столица");
    }

    #[test]
    fn bad_lines_are_named_by_number() {
        let e = parse("level;code;name;parent_code\nregion;msk\nregion;x;\"open;cfo\nregion;a;b;c;d\n").unwrap_err();
        assert_eq!(e, ParseError::Lines(vec![(2, Problem::Columns), (3, Problem::Quote), (4, Problem::Columns)]));
        assert_eq!(parse("\n \n").unwrap(), Vec::new());
    }

    #[test]
    fn too_many_lines_are_refused_whole() {
        let text: String = (0..=MAX_LINES).map(|i| format!("federal_district;c{i};n{i};\n")).collect();
        assert_eq!(parse(&text).unwrap_err(), ParseError::TooMany);
    }

    #[test]
    fn the_export_reads_back() {
        let node = |level: &str, code: &str, name: &str, parent: &str| ReferenceNode {
            level: level.into(),
            code: code.into(),
            name: name.into(),
            parent_code: parent.into(),
            ..Default::default()
        };
        let nodes = vec![
            node("category_type", "nko", "НКО/волонтер", ""),
            node("category", "q", "Кавычки \"и\"; точка с запятой", "nko"),
        ];
        let rows = parse(&to_csv(&nodes)).unwrap();
        assert_eq!(rows.into_iter().map(|r| r.node).collect::<Vec<_>>(), nodes);
    }

    #[test]
    fn violations_point_at_lines() {
        assert_eq!(node_field("nodes[12].parent_code"), Some((12, "parent_code")));
        assert_eq!(node_field("tree"), None);
    }

    #[test]
    fn the_trees_nest_by_parent() {
        let t = &crate::strings::appeal_references::RU;
        let n = |id: &str, level: &str, parent: &str| ReferenceNode {
            id: id.into(),
            level: level.into(),
            code: id.into(),
            name: id.into(),
            parent_id: parent.into(),
            ..Default::default()
        };
        let nodes = vec![
            n("fd", "federal_district", ""),
            n("r", "region", "fd"),
            n("m", "municipality", "r"),
            n("orphan", "region", "gone"),
        ];
        let roots = nest(&nodes, None, &levels("geography", t).unwrap(), 0);
        assert_eq!(roots.iter().map(|r| r.code.as_str()).collect::<Vec<_>>(), vec!["fd", "orphan"]);
        assert_eq!(roots[0].children[0].children[0].code, "m");
        assert_eq!(roots[0].children[0].level, "Регион");
    }
}
