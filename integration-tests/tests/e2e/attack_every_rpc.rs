//! The attack suite's core (issue 9, «The attack suite», first point): every RPC, found by itself.
//! The descriptor set names every method of every opeka.* service; each is called with an empty
//! request by nobody, by expired and forged tokens, by another tenant's admin (addressed here and at
//! home) and by an account of every role, and each answer is judged by the checked-in table
//! `tests/authz_table.txt`. A method missing from the table, or a row naming no method, fails.
//! Then the probes: real ids of tenant A asked for by tenant B's admin must be NOT_FOUND, and a
//! curator must not reach another curator's citizen (issue 9 point 4, pending until scoping lands).
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use aws_lc_rs::signature::Ed25519KeyPair;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use futures::StreamExt;
use opeka_identity::domain::Role;
use opeka_integration_tests::attack::{self, Answer, Method, Seen, Table, Who};
use opeka_integration_tests::{PASSWORD, Suite, request};
use opeka_proto::cases::appeals_service_client::AppealsServiceClient;
use opeka_proto::cases::cases_service_client::CasesServiceClient;
use opeka_proto::cases::legal_aid_service_client::LegalAidServiceClient;
use opeka_proto::files::files_service_client::FilesServiceClient;
use opeka_proto::identity::identity_service_client::IdentityServiceClient;
use opeka_proto::notifications::notifications_service_client::NotificationsServiceClient;
use opeka_proto::scheduler::scheduler_service_client::SchedulerServiceClient;
use opeka_proto::{cases as cpb, files as fpb, identity as ipb, notifications as npb, scheduler as spb};
use opeka_testkit::Service;
use tonic::transport::Channel;
use tonic::{Code, Status};

const TABLE: &str = include_str!("../authz_table.txt");
/// Calls in flight at once: enough to finish in seconds, few enough for 5-connection pools.
const PARALLEL: usize = 8;
const CALL_TIMEOUT: Duration = Duration::from_secs(20);

/// Every role identity knows, by the name tokens carry.
fn all_roles() -> Vec<String> {
    Role::STAFF.iter().chain(&[Role::Citizen, Role::Integration, Role::Bot]).map(|r| r.as_str().to_string()).collect()
}

fn staff_roles() -> Vec<String> {
    Role::STAFF.iter().map(|r| r.as_str().to_string()).collect()
}

fn table() -> Table {
    match attack::parse_table(TABLE, &all_roles(), &staff_roles()) {
        Ok(t) => t,
        Err(errors) => panic!("tests/authz_table.txt:\n{}", errors.join("\n")),
    }
}

fn seen<T>(r: Result<T, Status>) -> Seen {
    Seen::Code(r.map_or_else(|s| s.code(), |_| Code::Ok))
}

fn listed(found: Result<bool, Status>) -> Seen {
    match found {
        Ok(true) => Seen::Present,
        Ok(false) => Seen::Absent,
        Err(s) => Seen::Code(s.code()),
    }
}

/// Who makes a call, and how its answer is judged.
#[derive(Debug, Clone)]
struct Caller {
    label: String,
    token: Option<String>,
    tenant: Option<String>,
    /// `None`: must be refused as unauthenticated; `Some(role)`: judged as that role.
    role: Option<String>,
}

/// Typed clients of every service (one connection each, shared by every call).
#[derive(Clone)]
struct Clients {
    identity: IdentityServiceClient<Channel>,
    cases: CasesServiceClient<Channel>,
    appeals: AppealsServiceClient<Channel>,
    legal_aid: LegalAidServiceClient<Channel>,
    files: FilesServiceClient<Channel>,
    notifications: NotificationsServiceClient<Channel>,
    scheduler: SchedulerServiceClient<Channel>,
    by_package: HashMap<&'static str, Channel>,
}

impl Clients {
    fn new(s: &Suite) -> Self {
        let identity = s.channel(Service::Identity);
        let cases = s.channel(Service::Cases);
        let files = s.channel(Service::Files);
        let notifications = s.channel(Service::Notifications);
        let scheduler = s.channel(Service::Scheduler);
        Self {
            identity: IdentityServiceClient::new(identity.clone()),
            cases: CasesServiceClient::new(cases.clone()),
            appeals: AppealsServiceClient::new(cases.clone()),
            legal_aid: LegalAidServiceClient::new(cases.clone()),
            files: FilesServiceClient::new(files.clone()),
            notifications: NotificationsServiceClient::new(notifications.clone()),
            scheduler: SchedulerServiceClient::new(scheduler.clone()),
            by_package: HashMap::from([
                ("opeka.identity.v1", identity),
                ("opeka.cases.v1", cases),
                ("opeka.files.v1", files),
                ("opeka.notifications.v1", notifications),
                ("opeka.scheduler.v1", scheduler),
            ]),
        }
    }
}

/// Tenant A (the suite's) with an account of every role and one object of each kind the probes ask
/// for; tenant B with its admin.
struct World {
    tenant: String,
    admin: String,
    /// An admin's token whose session has ended (logout).
    logged_out: String,
    tokens: BTreeMap<String, String>,
    curator_id: String,
    other_tenant: String,
    other_admin: String,
    other_curator_id: String,
    kid: String,
    jwks_x: String,
    district_id: String,
    centre_id: String,
    /// Citizen 1 (the curator's) and citizen 2 (curator 2's): card id and identity account id.
    citizen1: (String, String),
    citizen2: (String, String),
    file_type_id: String,
    /// A file of citizen 2, uploaded by curator 2.
    file_id: String,
    /// A series of citizen 2, made by curator 2.
    series_id: String,
    appeal_id: String,
}

async fn login(c: &Clients, tenant: &str, login: &str, password: &str) -> ipb::TokenPair {
    let msg = ipb::LoginRequest { tenant: tenant.into(), login: login.into(), password: password.into() };
    c.identity.clone().login(msg).await.unwrap_or_else(|e| panic!("login {login}: {e}")).into_inner()
}

async fn organisation(c: &Clients, w: (&str, &str), name: &str, kind: ipb::OrganisationKind) -> String {
    let msg = ipb::CreateOrganisationRequest { name: name.into(), kind: kind as i32, parent_id: String::new() };
    c.identity.clone().create_organisation(request(w.0, w.1, msg)).await.expect("organisation").into_inner().id
}

/// A staff account with `role` (and `org`), signed in.
async fn staff(c: &Clients, w: (&str, &str), login_name: &str, role: Role, org: &str) -> ipb::TokenPair {
    let msg = ipb::CreateStaffAccountRequest {
        surname: "Сотрудникова".into(),
        name: "Анна".into(),
        login: login_name.into(),
        password: PASSWORD.into(),
        password_repeat: PASSWORD.into(),
        roles: vec![role.to_pb() as i32],
        organisation_id: org.into(),
        ..Default::default()
    };
    c.identity
        .clone()
        .create_staff_account(request(w.0, w.1, msg))
        .await
        .unwrap_or_else(|e| panic!("{login_name}: {e}"));
    login(c, w.1, login_name, PASSWORD).await
}

/// A service account with `role`, and its token.
async fn service(c: &Clients, w: (&str, &str), role: ipb::Role) -> String {
    let msg = ipb::CreateServiceAccountRequest {
        name: format!("Учётная запись {role:?}"), roles: vec![role as i32]
    };
    let created = c.identity.clone().create_service_account(request(w.0, w.1, msg)).await.expect("service account");
    let created = created.into_inner();
    let msg = ipb::IssueServiceTokenRequest {
        tenant: w.1.into(),
        client_id: created.client_id,
        client_secret: created.client_secret,
    };
    c.identity.clone().issue_service_token(msg).await.expect("service token").into_inner().access_token
}

async fn citizen(c: &Clients, token: &str, tenant: &str, surname: &str, phone: &str) -> (String, String) {
    let msg = cpb::CreateCitizenRequest {
        surname: surname.into(),
        name: "Пётр".into(),
        phone: phone.into(),
        ..Default::default()
    };
    let card = c.cases.clone().create_citizen(request(token, tenant, msg)).await.expect("citizen").into_inner();
    (card.id, card.account_id)
}

fn pdf() -> Vec<u8> {
    let mut v = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n".to_vec();
    v.extend_from_slice(b"trailer << /Root 1 0 R >>\n%%EOF\n");
    v
}

fn upload_messages(citizen_id: &str) -> Vec<fpb::UploadFileRequest> {
    vec![
        fpb::UploadFileRequest { citizen_id: citizen_id.into(), original_name: "akt.pdf".into(), ..Default::default() },
        fpb::UploadFileRequest { chunk: pdf(), ..Default::default() },
    ]
}

/// An appeal of tenant A (intake needs a region loaded first).
async fn appeal(c: &Clients, w: (&str, &str), org: &str) -> String {
    let mut a = c.appeals.clone();
    let node = |level: &str, code: &str, name: &str, parent: &str| cpb::ReferenceNode {
        level: level.into(),
        code: code.into(),
        name: name.into(),
        parent_code: parent.into(),
        ..Default::default()
    };
    let nodes = vec![
        node("federal_district", "cfd", "Центральный федеральный округ", ""),
        node("region", "msk", "Москва", "cfd"),
    ];
    let msg = cpb::ImportReferenceNodesRequest { tree: "geography".into(), nodes };
    a.import_reference_nodes(request(w.0, w.1, msg)).await.expect("import geography");
    let msg =
        cpb::ListReferenceNodesRequest { tree: "geography".into(), parent_id: String::new(), ..Default::default() };
    let nodes = a.list_reference_nodes(request(w.0, w.1, msg)).await.expect("geography").into_inner().nodes;
    let msk = nodes.into_iter().find(|n| n.code == "msk").expect("Москва").id;
    let msg = cpb::CreateAppealRequest {
        citizen: Some(cpb::AppealCitizen {
            full_name: "Иванова Мария Петровна".into(),
            email: String::new(),
            phone: "+7 (917) 561-89-18".into(),
        }),
        geography: Some(cpb::AppealGeography { region_id: msk, ..Default::default() }),
        executor_org_id: org.into(),
        channel: "call_centre".into(),
        text: "Прошу установить пандус у подъезда".into(),
        ..Default::default()
    };
    a.create_appeal(request(w.0, w.1, msg)).await.expect("create appeal").into_inner().id
}

/// Signs `claims` with the key identity signs with (read from its table, as identity does).
async fn sign_with_identity_key(s: &Suite, claims: &opeka_platform::auth::Claims) -> String {
    let pool = s.service_pool(Service::Identity).await;
    let ring = opeka_identity::tokens::KeyRing::load_or_create(
        &pool,
        &s.settings.identity.secret_box().expect("identity key"),
    )
    .await
    .expect("signing key");
    pool.close().await;
    ring.sign(claims).expect("sign")
}

fn claims_of(
    account: &str,
    tenant_id: uuid::Uuid,
    slug: &str,
    kind: &str,
    roles: &[&str],
    iat: i64,
    ttl: i64,
) -> opeka_platform::auth::Claims {
    let account_id: uuid::Uuid = account.parse().expect("account id");
    opeka_identity::tokens::claims(
        opeka_identity::tokens::Subject {
            account_id,
            tenant_id,
            tenant_slug: slug,
            kind,
            roles: roles.iter().map(|r| r.to_string()).collect(),
            session_id: None,
            organisation_id: None,
            districts: Vec::new(),
        },
        chrono::DateTime::from_timestamp(iat, 0).expect("time"),
        ttl,
    )
}

async fn build_world(s: &Suite, c: &Clients) -> World {
    let tenant = s.tenant.clone();
    let admin_pair = login(c, &tenant, &s.admin_login, &s.admin_password).await;
    let admin = admin_pair.access_token.clone();
    let a = (admin.as_str(), tenant.as_str());
    let logged_out = login(c, &tenant, &s.admin_login, &s.admin_password).await.access_token;
    c.identity.clone().logout(request(&logged_out, &tenant, ipb::LogoutRequest {})).await.expect("logout");
    let exec_org = organisation(c, a, "Департамент ЖКХ", ipb::OrganisationKind::ExecutiveBody).await;
    let centre_id = organisation(c, a, "Центр правовой помощи", ipb::OrganisationKind::LegalAidCentre).await;

    let mut tokens = BTreeMap::new();
    tokens.insert("admin".to_string(), admin.clone());
    let mut curator_id = String::new();
    for role in Role::STAFF.into_iter().filter(|r| *r != Role::Admin) {
        let org = match role {
            Role::Executor => exec_org.as_str(),
            Role::Consultant => centre_id.as_str(),
            _ => "",
        };
        let pair = staff(c, a, &format!("attack-{}", role.as_str().replace('_', "-")), role, org).await;
        if role == Role::Curator {
            curator_id = pair.account.as_ref().expect("account").id.clone();
        }
        tokens.insert(role.as_str().to_string(), pair.access_token);
    }
    let curator2 = staff(c, a, "attack-curator-two", Role::Curator, "").await.access_token;
    tokens.insert("integration".into(), service(c, a, ipb::Role::Integration).await);
    tokens.insert("bot".into(), service(c, a, ipb::Role::Bot).await);

    let citizen1 = citizen(c, &tokens["curator"], &tenant, "Первова", "+7 900 111-22-33").await;
    let citizen2 = citizen(c, &curator2, &tenant, "Вторая", "+7 900 444-55-66").await;
    // Citizens have no sign-in of their own yet: their token is what identity would sign for them.
    let now = chrono::Utc::now().timestamp();
    let citizen_claims = claims_of(&citizen1.1, s.tenant_id, &tenant, "citizen", &["citizen"], now, 600);
    tokens.insert("citizen".into(), sign_with_identity_key(s, &citizen_claims).await);
    let missing: Vec<_> = all_roles().into_iter().filter(|r| !tokens.contains_key(r)).collect();
    assert!(missing.is_empty(), "no account made for roles {missing:?}: teach build_world to make them");

    let msg = ipb::CreateDistrictRequest { name: "Центральный район".into() };
    let district_id =
        c.identity.clone().create_district(request(a.0, a.1, msg)).await.expect("district").into_inner().id;
    let msg = fpb::CreateFileTypeRequest { name: "Акт обследования".into() };
    let file_type_id =
        c.files.clone().create_file_type(request(a.0, a.1, msg)).await.expect("file type").into_inner().id;
    let upload = request(&curator2, &tenant, futures::stream::iter(upload_messages(&citizen2.1)));
    let file_id = c.files.clone().upload_file(upload).await.expect("upload").into_inner().id;
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1)).format("%Y-%m-%d").to_string();
    let msg = spb::CreateSeriesRequest {
        citizen_id: citizen2.0.clone(),
        kind: spb::ReminderKind::CuratorNote as i32,
        description: "Позвонить".into(),
        start_date: tomorrow,
        time_of_day: "10:00".into(),
        recurrence: Some(spb::Recurrence { frequency: spb::Frequency::Once as i32, ..Default::default() }),
        ..Default::default()
    };
    let series_id =
        c.scheduler.clone().create_series(request(&curator2, &tenant, msg)).await.expect("series").into_inner().id;
    let appeal_id = appeal(c, a, &exec_org).await;

    let jwks = c.identity.clone().get_jwks(ipb::GetJwksRequest {}).await.expect("jwks").into_inner().jwks_json;
    let jwks: serde_json::Value = serde_json::from_str(&jwks).expect("jwks json");
    let kid = jwks["keys"][0]["kid"].as_str().expect("kid").to_string();
    let jwks_x = jwks["keys"][0]["x"].as_str().expect("x").to_string();

    let (other, other_admin) = s.tenant(&format!("t-{}", &uuid::Uuid::new_v4().simple().to_string()[..10])).await;
    let other_pair = login(c, &other.slug, &other_admin.login, &other_admin.password).await;
    // A curator of tenant B to transfer tenant A's citizens to.
    let b = (other_pair.access_token.as_str(), other.slug.as_str());
    let other_curator = staff(c, b, "attack-b-curator", Role::Curator, "").await;

    World {
        tenant,
        admin,
        logged_out,
        tokens,
        curator_id,
        other_tenant: other.slug,
        other_admin: other_pair.access_token,
        other_curator_id: other_curator.account.expect("account").id,
        kid,
        jwks_x,
        district_id,
        centre_id,
        citizen1,
        citizen2,
        file_type_id,
        file_id,
        series_id,
        appeal_id,
    }
}

/// Nobody, expired and forged tokens, tenant B's admin (addressed to A, and at home), every role.
async fn callers(s: &Suite, w: &World) -> Vec<Caller> {
    let admin_id = {
        let part = w.admin.split('.').nth(1).expect("claims");
        let claims: serde_json::Value = serde_json::from_slice(&B64.decode(part).expect("b64")).expect("json");
        claims["sub"].as_str().expect("sub").to_string()
    };
    let now = chrono::Utc::now().timestamp();
    let admin_claims = |iat: i64, ttl: i64| claims_of(&admin_id, s.tenant_id, &w.tenant, "staff", &["admin"], iat, ttl);
    // Expired a minute ago, signed with identity's own key.
    let expired = sign_with_identity_key(s, &admin_claims(now - 3600, 3540)).await;
    // A key identity never issued, presented under identity's real kid.
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&aws_lc_rs::rand::SystemRandom::new()).expect("key");
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
    header.kid = Some(w.kid.clone());
    let key = jsonwebtoken::EncodingKey::from_ed_der(pkcs8.as_ref());
    let foreign_key = jsonwebtoken::encode(&header, &admin_claims(now, 600), &key).expect("encode");
    // alg none: no signature at all.
    let none_header = serde_json::json!({"alg": "none", "typ": "JWT", "kid": w.kid});
    let body = serde_json::to_vec(&admin_claims(now, 600)).expect("claims");
    let alg_none = format!("{}.{}.", B64.encode(none_header.to_string()), B64.encode(body));
    // HS256 keyed with the public key (algorithm confusion).
    let mut hs = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    hs.kid = Some(w.kid.clone());
    let hs_key = jsonwebtoken::EncodingKey::from_secret(w.jwks_x.as_bytes());
    let hs256 = jsonwebtoken::encode(&hs, &admin_claims(now, 600), &hs_key).expect("encode");

    let stranger = |label: &str, token: Option<&str>, tenant: &str| Caller {
        label: label.into(),
        token: token.map(str::to_string),
        tenant: Some(tenant.to_string()),
        role: None,
    };
    let mut out = vec![
        stranger("no token", None, &w.tenant),
        stranger("expired token", Some(&expired), &w.tenant),
        stranger("token signed with an unknown key", Some(&foreign_key), &w.tenant),
        stranger("alg none token", Some(&alg_none), &w.tenant),
        stranger("HS256 token", Some(&hs256), &w.tenant),
        stranger("tenant B's admin addressed to tenant A", Some(&w.other_admin), &w.tenant),
        Caller {
            label: "tenant B's admin at home".into(),
            token: Some(w.other_admin.clone()),
            tenant: Some(w.other_tenant.clone()),
            role: Some("admin".into()),
        },
    ];
    for (role, token) in &w.tokens {
        out.push(Caller {
            label: role.clone(),
            token: Some(token.clone()),
            tenant: Some(w.tenant.clone()),
            role: Some(role.clone()),
        });
    }
    out
}

/// Calls every method (the `last` ones after the rest) as every caller, `PARALLEL` at a time.
async fn sweep(c: &Clients, methods: &[Method], table: &Table, callers: &[Caller]) -> Vec<(Method, Caller, Answer)> {
    let mut answers = Vec::new();
    for last in [false, true] {
        let jobs: Vec<(Method, Caller)> = methods
            .iter()
            .filter(|m| table.rpcs.get(&m.key()).is_some_and(|r| r.last == last))
            .flat_map(|m| callers.iter().map(move |k| (m.clone(), k.clone())))
            .collect();
        let done: Vec<_> = futures::stream::iter(jobs)
            .map(|(m, k)| {
                let channel = c.by_package.get(m.package()).cloned();
                async move {
                    let answer = match channel {
                        Some(ch) => {
                            attack::call_empty(ch, &m, k.token.as_deref(), k.tenant.as_deref(), CALL_TIMEOUT).await
                        }
                        None => Answer { code: Code::Unimplemented, message: format!("no address for {}", m.service) },
                    };
                    (m, k, answer)
                }
            })
            .buffer_unordered(PARALLEL)
            .collect()
            .await;
        answers.extend(done);
    }
    answers
}

/// The failures of one answer under its row (empty: it holds).
fn judge(rule: &attack::Rule, caller: &Caller, a: &Answer) -> Option<String> {
    let got = format!("{:?} «{}»", a.code, a.message);
    if matches!(a.code, Code::Unimplemented | Code::DeadlineExceeded) {
        return Some(format!("{}: {got} (not served, or hung)", caller.label));
    }
    if rule.who == Who::Public {
        // Judged across callers (see `judge_public`); a refusal is never right.
        return (a.code == Code::PermissionDenied).then(|| format!("{}: {got} on a public method", caller.label));
    }
    let Some(role) = &caller.role else {
        return (a.code != Code::Unauthenticated).then(|| format!("{}: {got}, expected Unauthenticated", caller.label));
    };
    if rule.allows(role) {
        return matches!(a.code, Code::Unauthenticated | Code::PermissionDenied)
            .then(|| format!("{}: {got}, but the table lets {role} call it", caller.label));
    }
    let ok = if rule.hides {
        a.code == Code::NotFound
    } else if rule.late {
        !matches!(a.code, Code::Ok | Code::Unauthenticated)
    } else {
        a.code == Code::PermissionDenied
    };
    let expected = if rule.hides {
        "NotFound"
    } else if rule.late {
        "a refusal (late)"
    } else {
        "PermissionDenied"
    };
    (!ok).then(|| format!("{}: {got}, expected {expected} ({role} is not in the row)", caller.label))
}

/// A public method answers the same whoever calls (a throttle aside).
fn judge_public(answers: &[&(Method, Caller, Answer)]) -> Option<String> {
    let codes: BTreeSet<String> = answers
        .iter()
        .filter(|(_, _, a)| a.code != Code::ResourceExhausted)
        .map(|(_, _, a)| format!("{:?}", a.code))
        .collect();
    (codes.len() > 1).then(|| {
        let by: Vec<String> = answers.iter().map(|(_, k, a)| format!("{} → {:?}", k.label, a.code)).collect();
        format!("the answer depends on the token: {}", by.join(", "))
    })
}

/// Runs every probe; returns (name, what it saw).
async fn probes(c: &Clients, w: &World) -> Vec<(&'static str, Seen)> {
    let mut out: Vec<(&'static str, Seen)> = Vec::new();
    let (t, b, bt) = (&w.tenant, &w.other_admin, &w.other_tenant);
    let cur = &w.tokens["curator"];
    let (mut id, mut cases, mut appeals, mut legal, mut files, mut notes, mut sched) = (
        c.identity.clone(),
        c.cases.clone(),
        c.appeals.clone(),
        c.legal_aid.clone(),
        c.files.clone(),
        c.notifications.clone(),
        c.scheduler.clone(),
    );
    let (card2, account2) = (&w.citizen2.0, &w.citizen2.1);
    let (card1, account1) = (&w.citizen1.0, &w.citizen1.1);
    let citizen_update = |id: &str| ipb::UpdateCitizenAccountRequest {
        id: id.into(),
        surname: "Подменова".into(),
        phone: "+7 900 999-99-99".into(),
        ..Default::default()
    };

    // A curator and another curator's citizen (issue 9 point 4), before anything is deleted.
    let msg = cpb::GetCitizenRequest { id: card2.clone() };
    out.push(("x-curator/cases.GetCitizen", seen(cases.get_citizen(request(cur, t, msg)).await)));
    let r = cases.list_citizens(request(cur, t, cpb::ListCitizensRequest::default())).await;
    out.push((
        "x-curator/cases.ListCitizens",
        listed(r.map(|l| l.into_inner().citizens.iter().any(|x| &x.id == card2))),
    ));
    let msg = ipb::ListAccountsRequest { kind: ipb::AccountKind::Citizen as i32, page_size: 500, ..Default::default() };
    let r = id.list_accounts(request(cur, t, msg.clone())).await;
    out.push((
        "x-curator/identity.ListAccounts",
        listed(r.map(|l| l.into_inner().accounts.iter().any(|x| &x.id == account2))),
    ));
    let r = id.list_accounts(request(&w.tokens["integration"], t, msg)).await;
    let all = [account1.as_str(), account2.as_str()];
    out.push((
        "x-scope/identity.ListAccounts",
        listed(r.map(|l| l.into_inner().accounts.iter().any(|x| all.contains(&x.id.as_str())))),
    ));
    let msg = ipb::GetAccountRequest { id: account2.clone() };
    out.push(("x-curator/identity.GetAccount", seen(id.get_account(request(cur, t, msg)).await)));
    out.push((
        "x-curator/identity.UpdateCitizenAccount",
        seen(id.update_citizen_account(request(cur, t, citizen_update(account2))).await),
    ));
    let msg = ipb::GetBotLinkCodeRequest { citizen_account_id: account2.clone() };
    out.push(("x-curator/identity.GetBotLinkCode", seen(id.get_bot_link_code(request(cur, t, msg)).await)));
    let msg = ipb::ExtendBotLinkCodeRequest { citizen_account_id: account2.clone() };
    out.push(("x-curator/identity.ExtendBotLinkCode", seen(id.extend_bot_link_code(request(cur, t, msg)).await)));
    let msg = ipb::IssueBotLinkCodeRequest { citizen_account_id: account2.clone() };
    out.push(("x-curator/identity.IssueBotLinkCode", seen(id.issue_bot_link_code(request(cur, t, msg)).await)));
    let r = files.list_files(request(cur, t, fpb::ListFilesRequest { page_size: 500, ..Default::default() })).await;
    out.push(("x-curator/files.ListFiles", listed(r.map(|l| l.into_inner().files.iter().any(|f| f.id == w.file_id)))));
    let msg = fpb::GetFileRequest { id: w.file_id.clone() };
    out.push(("x-curator/files.GetFile", seen(files.get_file(request(cur, t, msg)).await)));
    out.push((
        "x-curator/files.DownloadFile",
        download(&mut files, request(cur, t, fpb::DownloadFileRequest { id: w.file_id.clone() })).await,
    ));
    let msg = fpb::SetFileTypeRequest { id: w.file_id.clone(), file_type_id: w.file_type_id.clone() };
    out.push(("x-curator/files.SetFileType", seen(files.set_file_type(request(cur, t, msg)).await)));
    let upload = request(cur, t, futures::stream::iter(upload_messages(account2)));
    out.push(("x-curator/files.UploadFile", seen(files.upload_file(upload).await)));
    let msg = spb::GetSeriesRequest { id: w.series_id.clone() };
    out.push(("x-curator/scheduler.GetSeries", seen(sched.get_series(request(cur, t, msg)).await)));
    let msg = npb::SendMessageToCitizenRequest {
        citizen_account_id: account2.clone(), text: "Здравствуйте".into()
    };
    out.push((
        "x-curator/notifications.SendMessageToCitizen",
        seen(notes.send_message_to_citizen(request(cur, t, msg)).await),
    ));

    // A token whose session ended (issue 9 point 5): refused by every service, not only identity.
    let gone = w.logged_out.as_str();
    out.push(("revoked/identity.WhoAmI", seen(id.who_am_i(request(gone, t, ipb::WhoAmIRequest {})).await)));
    let r = cases.get_tenant_settings(request(gone, t, cpb::GetTenantSettingsRequest::default())).await;
    out.push(("revoked/cases.GetTenantSettings", seen(r)));
    let r = appeals.get_appeal_options(request(gone, t, cpb::GetAppealOptionsRequest::default())).await;
    out.push(("revoked/appeals.GetAppealOptions", seen(r)));
    let r = legal.list_legal_aid_centres(request(gone, t, cpb::ListLegalAidCentresRequest::default())).await;
    out.push(("revoked/legal_aid.ListLegalAidCentres", seen(r)));
    let r = files.list_file_types(request(gone, t, fpb::ListFileTypesRequest::default())).await;
    out.push(("revoked/files.ListFileTypes", seen(r)));
    let r = notes.get_channel_settings(request(gone, t, npb::GetChannelSettingsRequest::default())).await;
    out.push(("revoked/notifications.GetChannelSettings", seen(r)));
    let r = sched.get_scheduler_settings(request(gone, t, spb::GetSchedulerSettingsRequest::default())).await;
    out.push(("revoked/scheduler.GetSchedulerSettings", seen(r)));

    // Tenant B's admin, at home, with tenant A's ids. Deletions come last.
    let msg = ipb::GetAccountRequest { id: account1.clone() };
    out.push(("x-tenant/identity.GetAccount", seen(id.get_account(request(b, bt, msg)).await)));
    out.push((
        "x-tenant/identity.UpdateCitizenAccount",
        seen(id.update_citizen_account(request(b, bt, citizen_update(account1))).await),
    ));
    let msg = ipb::GetBotLinkCodeRequest { citizen_account_id: account1.clone() };
    out.push(("x-tenant/identity.GetBotLinkCode", seen(id.get_bot_link_code(request(b, bt, msg)).await)));
    let msg = ipb::IssueBotLinkCodeRequest { citizen_account_id: account1.clone() };
    out.push(("x-tenant/identity.IssueBotLinkCode", seen(id.issue_bot_link_code(request(b, bt, msg)).await)));
    let msg = ipb::SetPasswordRequest {
        id: w.curator_id.clone(),
        password: "Another-456".into(),
        password_repeat: "Another-456".into(),
    };
    out.push(("x-tenant/identity.SetPassword", seen(id.set_password(request(b, bt, msg)).await)));
    let msg = ipb::UpdateStaffAccountRequest {
        id: w.curator_id.clone(),
        surname: "Захватова".into(),
        login: "attack-curator".into(),
        roles: vec![ipb::Role::Admin as i32],
        ..Default::default()
    };
    out.push(("x-tenant/identity.UpdateStaffAccount", seen(id.update_staff_account(request(b, bt, msg)).await)));
    let msg =
        ipb::RenameDistrictRequest { id: w.district_id.clone(), name: "Захваченный район".into() };
    out.push(("x-tenant/identity.RenameDistrict", seen(id.rename_district(request(b, bt, msg)).await)));
    let msg = ipb::ListAccountsRequest { kind: ipb::AccountKind::Citizen as i32, page_size: 500, ..Default::default() };
    let r = id.list_accounts(request(b, bt, msg)).await;
    out.push((
        "x-tenant/identity.ListAccounts",
        listed(r.map(|l| l.into_inner().accounts.iter().any(|x| &x.id == account1))),
    ));

    let msg = cpb::GetCitizenRequest { id: card1.clone() };
    out.push(("x-tenant/cases.GetCitizen", seen(cases.get_citizen(request(b, bt, msg)).await)));
    let msg = cpb::UpdateCitizenRequest {
        id: card1.clone(),
        surname: "Подменова".into(),
        name: "Пётр".into(),
        phone: "+7 900 999-99-99".into(),
        ..Default::default()
    };
    out.push(("x-tenant/cases.UpdateCitizen", seen(cases.update_citizen(request(b, bt, msg)).await)));
    let msg = cpb::GetCitizenBotLinkRequest { citizen_id: card1.clone() };
    out.push(("x-tenant/cases.GetCitizenBotLink", seen(cases.get_citizen_bot_link(request(b, bt, msg)).await)));
    let msg = cpb::ExtendCitizenBotLinkRequest { citizen_id: card1.clone() };
    out.push(("x-tenant/cases.ExtendCitizenBotLink", seen(cases.extend_citizen_bot_link(request(b, bt, msg)).await)));
    let msg = cpb::AddDiaryEntryRequest { citizen_id: card1.clone(), text: "Чужая запись".into() };
    out.push(("x-tenant/cases.AddDiaryEntry", seen(cases.add_diary_entry(request(b, bt, msg)).await)));
    let msg = cpb::ListDiaryEntriesRequest { citizen_id: card1.clone(), ..Default::default() };
    out.push(("x-tenant/cases.ListDiaryEntries", seen(cases.list_diary_entries(request(b, bt, msg)).await)));
    let msg = cpb::ListInteractionsRequest { citizen_id: card1.clone(), ..Default::default() };
    out.push(("x-tenant/cases.ListInteractions", seen(cases.list_interactions(request(b, bt, msg)).await)));
    let msg =
        cpb::TransferCitizensRequest { citizen_ids: vec![card1.clone()], to_curator_id: w.other_curator_id.clone() };
    out.push(("x-tenant/cases.TransferCitizens", seen(cases.transfer_citizens(request(b, bt, msg)).await)));
    let r = cases.list_citizens(request(b, bt, cpb::ListCitizensRequest::default())).await;
    out.push((
        "x-tenant/cases.ListCitizens",
        listed(r.map(|l| l.into_inner().citizens.iter().any(|x| &x.id == card1))),
    ));

    let msg = cpb::GetAppealRequest { id: w.appeal_id.clone(), ..Default::default() };
    out.push(("x-tenant/appeals.GetAppeal", seen(appeals.get_appeal(request(b, bt, msg)).await)));
    let msg = cpb::ListAppealTimelineRequest { appeal_id: w.appeal_id.clone(), ..Default::default() };
    out.push(("x-tenant/appeals.ListAppealTimeline", seen(appeals.list_appeal_timeline(request(b, bt, msg)).await)));
    let msg = cpb::AddAppealCommentRequest {
        appeal_id: w.appeal_id.clone(),
        text: "Чужой комментарий".into(),
        request_id: uuid::Uuid::now_v7().to_string(),
        ..Default::default()
    };
    out.push(("x-tenant/appeals.AddAppealComment", seen(appeals.add_appeal_comment(request(b, bt, msg)).await)));
    let r = appeals.list_appeals(request(b, bt, cpb::ListAppealsRequest::default())).await;
    out.push((
        "x-tenant/appeals.ListAppeals",
        listed(r.map(|l| l.into_inner().rows.iter().any(|x| x.id == w.appeal_id))),
    ));
    let msg = cpb::GetLegalAidCentreRequest { id: w.centre_id.clone() };
    out.push(("x-tenant/legal_aid.GetLegalAidCentre", seen(legal.get_legal_aid_centre(request(b, bt, msg)).await)));

    let msg = fpb::GetFileRequest { id: w.file_id.clone() };
    out.push(("x-tenant/files.GetFile", seen(files.get_file(request(b, bt, msg)).await)));
    out.push((
        "x-tenant/files.DownloadFile",
        download(&mut files, request(b, bt, fpb::DownloadFileRequest { id: w.file_id.clone() })).await,
    ));
    let msg = fpb::SetFileTypeRequest { id: w.file_id.clone(), file_type_id: String::new() };
    out.push(("x-tenant/files.SetFileType", seen(files.set_file_type(request(b, bt, msg)).await)));
    let msg = fpb::GetFileTypeRequest { id: w.file_type_id.clone() };
    out.push(("x-tenant/files.GetFileType", seen(files.get_file_type(request(b, bt, msg)).await)));
    let msg = fpb::RenameFileTypeRequest { id: w.file_type_id.clone(), name: "Захваченный тип".into() };
    out.push(("x-tenant/files.RenameFileType", seen(files.rename_file_type(request(b, bt, msg)).await)));
    let msg = fpb::ListFilesRequest { citizen_id: card2.clone(), page_size: 500, ..Default::default() };
    let r = files.list_files(request(b, bt, msg)).await;
    out.push(("x-tenant/files.ListFiles", listed(r.map(|l| l.into_inner().files.iter().any(|f| f.id == w.file_id)))));

    let msg = spb::GetSeriesRequest { id: w.series_id.clone() };
    out.push(("x-tenant/scheduler.GetSeries", seen(sched.get_series(request(b, bt, msg)).await)));
    let today = chrono::Utc::now().date_naive();
    let msg = spb::ListOccurrencesRequest {
        citizen_id: card2.clone(),
        from_date: today.format("%Y-%m-%d").to_string(),
        to_date: (today + chrono::Duration::days(7)).format("%Y-%m-%d").to_string(),
        ..Default::default()
    };
    let r = sched.list_occurrences(request(b, bt, msg)).await;
    out.push((
        "x-tenant/scheduler.ListOccurrences",
        listed(r.map(|l| l.into_inner().occurrences.iter().any(|o| o.series_id == w.series_id))),
    ));
    let msg = npb::SendMessageToCitizenRequest {
        citizen_account_id: account1.clone(), text: "Здравствуйте".into()
    };
    out.push((
        "x-tenant/notifications.SendMessageToCitizen",
        seen(notes.send_message_to_citizen(request(b, bt, msg)).await),
    ));

    let msg = fpb::DeleteFileTypeRequest { id: w.file_type_id.clone() };
    out.push(("x-tenant/files.DeleteFileType", seen(files.delete_file_type(request(b, bt, msg)).await)));
    let msg = spb::DeleteSeriesRequest { id: w.series_id.clone() };
    out.push(("x-tenant/scheduler.DeleteSeries", seen(sched.delete_series(request(b, bt, msg)).await)));
    let msg = cpb::DeleteCitizenRequest { id: card1.clone() };
    out.push(("x-tenant/cases.DeleteCitizen", seen(cases.delete_citizen(request(b, bt, msg)).await)));
    let msg = ipb::DeleteAccountRequest { id: w.curator_id.clone() };
    out.push(("x-tenant/identity.DeleteAccount", seen(id.delete_account(request(b, bt, msg)).await)));
    out
}

/// A download read to its end: a refusal may come as the stream's first item.
async fn download(files: &mut FilesServiceClient<Channel>, req: tonic::Request<fpb::DownloadFileRequest>) -> Seen {
    let stream = match files.download_file(req).await {
        Ok(s) => s,
        Err(e) => return Seen::Code(e.code()),
    };
    let mut stream = stream.into_inner();
    loop {
        match stream.message().await {
            Ok(Some(_)) => {}
            Ok(None) => return Seen::Code(Code::Ok),
            Err(e) => return Seen::Code(e.code()),
        }
    }
}

#[test]
fn the_table_parses_and_knows_every_role() {
    let t = table();
    assert!(!t.rpcs.is_empty() && !t.probes.is_empty());
}

/// Issue 9, «The attack suite»: every RPC, found by itself, judged by the table.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn issue9_every_rpc_is_classified_and_refuses_who_it_must() {
    let table = table();
    let methods = attack::methods();

    // The table and the descriptor set name the same methods.
    let mut failures = attack::coverage(&methods, &table);

    let started = Instant::now();
    let s = Suite::start().await;
    let c = Clients::new(&s);
    let w = build_world(&s, &c).await;
    let callers = callers(&s, &w).await;
    eprintln!("set-up: {:?}", started.elapsed());

    // Probes first: the sweep's empty calls change tenant settings.
    let seen_probes = probes(&c, &w).await;
    let mut pending_report: Vec<String> = Vec::new();
    let names: BTreeSet<&str> = seen_probes.iter().map(|(n, _)| *n).collect();
    for (name, rule) in &table.probes {
        if !names.contains(name.as_str()) {
            failures.push(format!("tests/authz_table.txt line {}: probe {name} is not run by the test", rule.line));
        }
    }
    for (name, got) in &seen_probes {
        let Some(rule) = table.probes.get(*name) else {
            failures.push(format!("probe {name}: not in tests/authz_table.txt"));
            continue;
        };
        let holds = rule.expect.met_by(got);
        match (&rule.pending, holds) {
            (None, true) => {}
            (None, false) => failures.push(format!("probe {name}: {got}, expected {:?}", rule.expect)),
            (Some(tag), false) => {
                pending_report.push(format!("probe {name}: {got}, expected {:?} [{tag}]", rule.expect))
            }
            (Some(tag), true) => failures.push(format!(
                "probe {name} now holds: remove `pending:{tag}` from line {} of tests/authz_table.txt",
                rule.line
            )),
        }
    }
    let after_probes = started.elapsed();

    let answers = sweep(&c, &methods, &table, &callers).await;
    eprintln!("{} calls: {:?} (probes done at {after_probes:?})", answers.len(), started.elapsed());
    // OPEKA_ATTACK_MATRIX=<file>: every answer, one line each, to read the table against.
    if let Ok(path) = std::env::var("OPEKA_ATTACK_MATRIX") {
        let mut lines: Vec<String> =
            answers.iter().map(|(m, k, a)| format!("{}\t{}\t{:?}\t{}", m.key(), k.label, a.code, a.message)).collect();
        lines.sort();
        std::fs::write(&path, lines.join("\n") + "\n").expect("write the matrix");
    }
    let mut by_method: BTreeMap<String, Vec<&(Method, Caller, Answer)>> = BTreeMap::new();
    for answer in &answers {
        by_method.entry(answer.0.key()).or_default().push(answer);
    }
    for (key, mut answers) in by_method {
        let rule = &table.rpcs[&key];
        answers.sort_by(|x, y| x.1.label.cmp(&y.1.label));
        let mut wrong: Vec<String> = answers.iter().filter_map(|(_, k, a)| judge(rule, k, a)).collect();
        if rule.who == Who::Public {
            wrong.extend(judge_public(&answers));
        }
        match (&rule.pending, wrong.is_empty()) {
            (None, true) => {}
            (None, false) => failures.extend(wrong.into_iter().map(|x| format!("{key}: {x}"))),
            (Some(tag), false) => pending_report.extend(wrong.into_iter().map(|x| format!("{key}: {x} [{tag}]"))),
            (Some(tag), true) => failures.push(format!(
                "{key} now holds: remove `pending:{tag}` from line {} of tests/authz_table.txt",
                rule.line
            )),
        }
    }
    if !pending_report.is_empty() {
        eprintln!("known disagreements (pending rows):\n  {}", pending_report.join("\n  "));
    }
    assert!(failures.is_empty(), "{} authorisation failures:\n  {}", failures.len(), failures.join("\n  "));
    assert!(started.elapsed() < Duration::from_secs(60), "the attack suite took {:?}", started.elapsed());
}
