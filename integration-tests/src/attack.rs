//! The attack suite's tools: every RPC the descriptor set declares, a call to any of them with raw
//! bytes (no per-method code), and the checked-in authorisation table (`tests/authz_table.txt`)
//! the calls are judged by.
use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes};
use prost::Message;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::Channel;
use tonic::{Code, Status};

/// One RPC as the descriptor set declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Method {
    /// `opeka.cases.v1.CasesService`
    pub service: String,
    /// `GetCitizen`
    pub name: String,
    pub client_streaming: bool,
    pub server_streaming: bool,
}

impl Method {
    /// `opeka.cases.v1.CasesService/GetCitizen`: the table's key.
    pub fn key(&self) -> String {
        format!("{}/{}", self.service, self.name)
    }

    /// The package, e.g. `opeka.cases.v1`.
    pub fn package(&self) -> &str {
        self.service.rsplit_once('.').map_or("", |(p, _)| p)
    }
}

/// Every method of every service under `opeka.*` in `opeka_proto::FILE_DESCRIPTOR_SET` (health and
/// reflection are not there: they are tonic's own).
pub fn methods() -> Vec<Method> {
    let set = prost_types::FileDescriptorSet::decode(opeka_proto::FILE_DESCRIPTOR_SET).expect("descriptor set");
    let mut out = Vec::new();
    for file in &set.file {
        let package = file.package();
        if !package.starts_with("opeka.") {
            continue;
        }
        for service in &file.service {
            for m in &service.method {
                out.push(Method {
                    service: format!("{package}.{}", service.name()),
                    name: m.name().to_string(),
                    client_streaming: m.client_streaming(),
                    server_streaming: m.server_streaming(),
                });
            }
        }
    }
    out
}

/// Messages as opaque bytes: enough to send an empty (all-default) request to any method and to
/// read a status back, without generated code per method.
#[derive(Debug, Clone, Copy, Default)]
pub struct RawCodec;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> Self::Encoder {
        RawCodec
    }

    fn decoder(&mut self) -> Self::Decoder {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        let n = src.remaining();
        Ok(Some(src.copy_to_bytes(n)))
    }
}

/// What a call answered: a status code (OK for a successful call or a stream that ended cleanly)
/// and the message, for the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub code: Code,
    pub message: String,
}

impl Answer {
    fn of(s: &Status) -> Self {
        Self { code: s.code(), message: s.message().to_string() }
    }
}

/// Calls `m` with one empty request message (a stream of one for client streaming), carrying
/// `authorization: Bearer <token>` and `x-opeka-tenant: <tenant>` when given. A server stream is
/// read to its end: a refusal may come as its first item.
pub async fn call_empty(
    channel: Channel,
    m: &Method,
    token: Option<&str>,
    tenant: Option<&str>,
    timeout: Duration,
) -> Answer {
    let work = async {
        let mut grpc = tonic::client::Grpc::new(channel);
        grpc.ready().await.map_err(|e| Status::unavailable(format!("not ready: {e}")))?;
        let path = PathAndQuery::from_str(&format!("/{}", m.key())).expect("path");
        let with_metadata = |r: tonic::Request<Bytes>| with_auth(r, token, tenant);
        match (m.client_streaming, m.server_streaming) {
            (false, false) => {
                grpc.unary(with_metadata(tonic::Request::new(Bytes::new())), path, RawCodec).await?;
            }
            (false, true) => {
                let mut stream =
                    grpc.server_streaming(with_metadata(tonic::Request::new(Bytes::new())), path, RawCodec).await?;
                while stream.get_mut().message().await?.is_some() {}
            }
            (true, false) => {
                let body = futures::stream::iter(vec![Bytes::new()]);
                grpc.client_streaming(with_auth(tonic::Request::new(body), token, tenant), path, RawCodec).await?;
            }
            (true, true) => {
                let body = futures::stream::iter(vec![Bytes::new()]);
                let request = with_auth(tonic::Request::new(body), token, tenant);
                let mut stream = grpc.streaming(request, path, RawCodec).await?;
                while stream.get_mut().message().await?.is_some() {}
            }
        }
        Ok::<(), Status>(())
    };
    match tokio::time::timeout(timeout, work).await {
        Ok(Ok(())) => Answer { code: Code::Ok, message: String::new() },
        Ok(Err(s)) => Answer::of(&s),
        Err(_) => Answer { code: Code::DeadlineExceeded, message: format!("no answer within {timeout:?}") },
    }
}

/// Adds `authorization: Bearer <token>` and the tenant header when given.
fn with_auth<T>(mut r: tonic::Request<T>, token: Option<&str>, tenant: Option<&str>) -> tonic::Request<T> {
    if let Some(t) = token {
        r.metadata_mut().insert("authorization", format!("Bearer {t}").parse().expect("header"));
    }
    if let Some(t) = tenant {
        r.metadata_mut().insert(opeka_platform::auth::TENANT_HEADER, t.parse().expect("header"));
    }
    r
}

// ------------------------------------------------------------------ the table

/// Who may call a method with an empty request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Who {
    /// No token needed; the answer must not depend on the token.
    Public,
    /// Any authenticated caller of the tenant (every role).
    Any,
    /// These roles (a caller with any other role is refused).
    Roles(Vec<String>),
}

/// A row of the table about one RPC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub who: Who,
    /// A role outside `who` gets NOT_FOUND rather than PERMISSION_DENIED (the service hides existence).
    pub hides: bool,
    /// The service validates the request before it authorises, so an empty request from a role
    /// outside `who` may get INVALID_ARGUMENT (or NOT_FOUND); it must still never succeed.
    pub late: bool,
    /// The call ends the caller's session: it is made after every other call.
    pub last: bool,
    /// A known disagreement between the code and the intended rule (the tag says which issue):
    /// failures are reported, not fatal; a pending row that holds fails the run, so the mark is
    /// dropped once the fix lands.
    pub pending: Option<String>,
    pub line: usize,
}

impl Rule {
    pub fn allows(&self, role: &str) -> bool {
        match &self.who {
            Who::Public | Who::Any => true,
            Who::Roles(r) => r.iter().any(|x| x == role),
        }
    }
}

/// What a probe (a call with a real id, or a list that must not show something) must answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// NOT_FOUND: the object is not revealed.
    NotFound,
    /// NOT_FOUND or PERMISSION_DENIED.
    Refused,
    /// NOT_FOUND, or INVALID_ARGUMENT on the id (an upload naming a citizen
    /// the caller may not reach is told what a made-up id is told).
    Unknown,
    /// A list that does not show the object (or a refusal to list).
    Absent,
    /// UNAUTHENTICATED (a token that must no longer work).
    Unauthenticated,
}

impl Expect {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "not_found" => Expect::NotFound,
            "refused" => Expect::Refused,
            "unknown" => Expect::Unknown,
            "absent" => Expect::Absent,
            "unauthenticated" => Expect::Unauthenticated,
            _ => return None,
        })
    }

    /// Whether `seen` (a status code name, or `present`/`absent` for a list) meets the expectation.
    pub fn met_by(self, seen: &Seen) -> bool {
        matches!(
            (self, seen),
            (Expect::NotFound, Seen::Code(Code::NotFound))
                | (Expect::Refused, Seen::Code(Code::NotFound | Code::PermissionDenied))
                | (Expect::Unknown, Seen::Code(Code::NotFound | Code::InvalidArgument))
                | (Expect::Absent, Seen::Absent | Seen::Code(Code::PermissionDenied))
                | (Expect::Unauthenticated, Seen::Code(Code::Unauthenticated))
        )
    }
}

/// What a probe saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    Code(Code),
    /// A list showed the object.
    Present,
    /// A list did not show the object.
    Absent,
}

impl std::fmt::Display for Seen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Seen::Code(c) => write!(f, "{c:?}"),
            Seen::Present => f.write_str("listed"),
            Seen::Absent => f.write_str("not listed"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeRule {
    pub expect: Expect,
    pub pending: Option<String>,
    pub line: usize,
}

/// The parsed table: RPC rows by `package.Service/Method`, probe rows by name.
#[derive(Debug, Default)]
pub struct Table {
    pub rpcs: BTreeMap<String, Rule>,
    pub probes: BTreeMap<String, ProbeRule>,
}

/// Parses the table. `roles` are the role names a row may use (any other word is an error, so a
/// typo cannot silently deny a role); `staff` expands to `staff_roles`.
pub fn parse_table(text: &str, roles: &[String], staff_roles: &[String]) -> Result<Table, Vec<String>> {
    let mut table = Table::default();
    let mut errors = Vec::new();
    let mut section: Option<String> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let content = raw.split('#').next().unwrap_or("").trim();
        if content.is_empty() {
            continue;
        }
        if let Some(name) = content.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            section = Some(name.trim().to_string());
            continue;
        }
        let mut words = content.split_whitespace();
        let Some(first) = words.next() else { continue };
        let Some(section) = section.as_deref() else {
            errors.push(format!("line {line}: `{first}` before any [section]"));
            continue;
        };
        let mut pending = None;
        if section == "probes" {
            let mut expect = None;
            for w in words {
                if let Some(tag) = w.strip_prefix("pending:") {
                    pending = Some(tag.to_string());
                } else if let Some(e) = Expect::parse(w) {
                    expect = Some(e);
                } else {
                    errors.push(format!("line {line}: unknown word `{w}` in probe `{first}`"));
                }
            }
            match expect {
                Some(expect) => {
                    if table.probes.insert(first.to_string(), ProbeRule { expect, pending, line }).is_some() {
                        errors.push(format!("line {line}: probe `{first}` listed twice"));
                    }
                }
                None => errors.push(format!(
                    "line {line}: probe `{first}` expects nothing (not_found, refused, absent, unauthenticated)"
                )),
            }
            continue;
        }
        let key = format!("{section}/{first}");
        let (mut public, mut any, mut hides, mut late, mut last) = (false, false, false, false, false);
        let mut listed: Vec<String> = Vec::new();
        for w in words {
            match w {
                "public" => public = true,
                "any" => any = true,
                "hides" => hides = true,
                "late" => late = true,
                "last" => last = true,
                "staff" => listed.extend(staff_roles.iter().cloned()),
                w if w.starts_with("pending:") => pending = Some(w["pending:".len()..].to_string()),
                w if roles.iter().any(|r| r == w) => listed.push(w.to_string()),
                w => errors.push(format!("line {line}: unknown word `{w}` in the row of {key}")),
            }
        }
        let who = match (public, any, listed.is_empty()) {
            (true, false, true) => Who::Public,
            (false, true, true) => Who::Any,
            (false, false, false) => Who::Roles(listed),
            (false, false, true) => {
                errors.push(format!("line {line}: {key} names nobody (write `public`, `any` or roles)"));
                continue;
            }
            _ => {
                errors.push(format!("line {line}: {key} mixes `public`, `any` and roles"));
                continue;
            }
        };
        let rule = Rule { who, hides, late, last, pending, line };
        if table.rpcs.insert(key.clone(), rule).is_some() {
            errors.push(format!("line {line}: {key} listed twice"));
        }
    }
    if errors.is_empty() { Ok(table) } else { Err(errors) }
}

/// What does not match between the methods the descriptor set declares and the table's rows: a
/// method without a row (it shipped unclassified) or a row naming no method (a typo or a removed RPC).
pub fn coverage(methods: &[Method], table: &Table) -> Vec<String> {
    let declared: std::collections::BTreeSet<String> = methods.iter().map(Method::key).collect();
    let mut out: Vec<String> = declared
        .iter()
        .filter(|m| !table.rpcs.contains_key(*m))
        .map(|m| format!("{m}: not in tests/authz_table.txt — classify it (who may call it?)"))
        .collect();
    out.extend(table.rpcs.iter().filter(|(key, _)| !declared.contains(*key)).map(|(key, rule)| {
        format!("tests/authz_table.txt line {}: {key} is no method of the descriptor set", rule.line)
    }));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roles() -> Vec<String> {
        ["admin", "curator", "citizen"].map(String::from).to_vec()
    }

    #[test]
    fn rows_parse_with_sections_flags_and_comments() {
        let text = "\
# comment
[opeka.x.v1.X]
Login        public
WhoAmI       any  last
Get          admin curator  hides   # a comment
Make         staff late pending:issue9
[probes]
x-tenant/x.Get   not_found
x-curator/x.List absent pending:point4
";
        let t = parse_table(text, &roles(), &["admin".into(), "curator".into()]).expect("parses");
        assert_eq!(t.rpcs["opeka.x.v1.X/Login"].who, Who::Public);
        assert!(t.rpcs["opeka.x.v1.X/WhoAmI"].last);
        let get = &t.rpcs["opeka.x.v1.X/Get"];
        assert!(get.hides && get.allows("curator") && !get.allows("citizen"));
        assert_eq!(t.rpcs["opeka.x.v1.X/Make"].pending.as_deref(), Some("issue9"));
        assert_eq!(t.probes["x-curator/x.List"].expect, Expect::Absent);
    }

    #[test]
    fn typos_and_empty_rows_are_errors() {
        let text = "[opeka.x.v1.X]\nGet admn\nPut\n[probes]\np maybe\n";
        let errors = parse_table(text, &roles(), &[]).expect_err("errors");
        // The typo, the row it leaves empty, the empty row, the unknown word, the empty probe.
        assert_eq!(errors.len(), 5, "{errors:?}");
        assert!(errors[0].contains("`admn`") && errors[2].contains("Put names nobody"), "{errors:?}");
    }

    #[test]
    fn an_unclassified_method_and_a_stray_row_are_both_named() {
        let method = |name: &str| Method {
            service: "opeka.x.v1.X".into(),
            name: name.into(),
            client_streaming: false,
            server_streaming: false,
        };
        let t = parse_table("[opeka.x.v1.X]\nGet admin\nGone admin\n", &roles(), &[]).expect("parses");
        let gaps = coverage(&[method("Get"), method("New")], &t);
        assert_eq!(gaps.len(), 2, "{gaps:?}");
        assert!(gaps[0].starts_with("opeka.x.v1.X/New: not in"), "{gaps:?}");
        assert!(gaps[1].contains("line 3: opeka.x.v1.X/Gone is no method"), "{gaps:?}");
    }

    #[test]
    fn the_descriptor_set_has_every_service() {
        let services: std::collections::BTreeSet<String> = methods().into_iter().map(|m| m.service).collect();
        for s in ["opeka.identity.v1.IdentityService", "opeka.cases.v1.LegalAidService", "opeka.files.v1.FilesService"]
        {
            assert!(services.contains(s), "{s} missing from {services:?}");
        }
    }
}
