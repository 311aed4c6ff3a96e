//! The files sandbox: identity and files (and cases, for appeals' files) on
//! port 0 over one fresh database, a temporary blob directory, a settable
//! clock, typed clients, raw pools.
use std::path::PathBuf;
use std::time::Duration;

use chrono::{SubsecRound, Utc};
use opeka_platform::ManualClock;
use opeka_platform::testing;
use opeka_proto::cases::{self as cpb, appeals_service_client::AppealsServiceClient};
use opeka_proto::files::{self as pb, files_service_client::FilesServiceClient};
use opeka_proto::identity::{self as ipb, identity_service_client::IdentityServiceClient};
use opeka_testkit::{Authed, Meta, Sandbox, Service};
use sqlx::PgPool;
use tokio::task::JoinHandle;
use tonic::{Code, Status};
use uuid::Uuid;

pub use opeka_testkit::{PASSWORD, expect_code};
/// Small enough that uploads of a few dozen KiB stream as multipart uploads.
pub const TEST_BUFFER: u64 = 16 * 1024;

pub type Files = FilesServiceClient<Authed>;
pub type Identity = IdentityServiceClient<Authed>;
pub type Appeals = AppealsServiceClient<Authed>;

#[derive(Debug, Clone)]
pub struct TestTenant {
    pub id: Uuid,
    pub slug: String,
    pub admin_login: String,
    pub admin_password: String,
}

/// A signed-in account: a files client and an identity client with its token.
#[derive(Clone)]
pub struct Session {
    pub files: Files,
    pub identity: Identity,
    pub account_id: Uuid,
    pub token: String,
}

pub struct TestApp {
    pub sandbox: Sandbox,
    pub clock: ManualClock,
    pub platform: opeka_platform::settings::PlatformSettings,
    pub store_dir: tempfile::TempDir,
    files_addr: String,
    /// The service role (NOSUPERUSER NOBYPASSRLS): RLS applies.
    pub app_pool: PgPool,
    /// The owner (superuser): sees every row; for checks only.
    pub owner_pool: PgPool,
}

impl TestApp {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Files with a 16 KiB upload buffer and its store in a temporary
    /// directory; `tweak` may change the rest.
    pub async fn start_with(tweak: impl FnOnce(&mut opeka_files::Settings) + Send + 'static) -> Self {
        Self::start_opts(tweak, false).await
    }

    /// As `start`, with cases served too: files and cases know each other's
    /// address, as in production (appeals' files, S1-38).
    pub async fn start_with_cases() -> Self {
        Self::start_opts(|_| {}, true).await
    }

    async fn start_opts(tweak: impl FnOnce(&mut opeka_files::Settings) + Send + 'static, with_cases: bool) -> Self {
        let store_dir = tempfile::tempdir().expect("blob directory");
        let store_url = format!("file://{}", store_dir.path().display());
        let mut builder = Sandbox::builder().with(Service::Identity).with(Service::Files);
        let mut clocked = vec![Service::Identity, Service::Files];
        if with_cases {
            builder = builder.with(Service::Cases);
            clocked.push(Service::Cases);
        }
        let sandbox = builder
            .manual_clock(Utc::now().trunc_subsecs(0), &clocked)
            .tweak(move |s| {
                s.files.store_url = store_url;
                s.files.upload_buffer_bytes = TEST_BUFFER;
                tweak(&mut s.files);
                s.files.validate().expect("test files settings are valid");
            })
            .start()
            .await;
        let app_pool = sandbox.service_pool(Service::Files).await;
        let owner_pool = sandbox.owner_pool_in("files").await;
        Self {
            clock: sandbox.clock.clone(),
            platform: sandbox.settings.platform.clone(),
            store_dir,
            files_addr: sandbox.url(Service::Files).trim_start_matches("http://").to_string(),
            app_pool,
            owner_pool,
            sandbox,
        }
    }

    /// A files client presenting `token` for `tenant`.
    pub fn files(&self, token: &str, tenant: &str) -> Files {
        FilesServiceClient::new(self.sandbox.authed(Service::Files, token, tenant))
    }

    /// A files client whose one connection to the service runs through a
    /// relay the test can cut (`JoinHandle::abort`), as a client vanishing
    /// from the network would.
    pub async fn files_via_relay(&self, token: &str, tenant: &str) -> (Files, JoinHandle<()>) {
        let relay = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind relay");
        let relay_addr = relay.local_addr().expect("relay address");
        let target = self.files_addr.clone();
        let task = tokio::spawn(async move {
            let (mut client, _) = relay.accept().await.expect("accept");
            let mut server = tokio::net::TcpStream::connect(target).await.expect("connect to files");
            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
        });
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{relay_addr}"))
            .expect("endpoint")
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(30))
            .connect_lazy();
        let client = FilesServiceClient::with_interceptor(channel, Meta::new(token, tenant));
        (client, task)
    }

    /// An appeals client (cases) presenting `token` for `tenant`; needs `start_with_cases`.
    pub fn appeals(&self, token: &str, tenant: &str) -> Appeals {
        AppealsServiceClient::new(self.sandbox.authed(Service::Cases, token, tenant))
    }

    /// A files client without a token.
    pub fn anonymous(&self) -> Files {
        FilesServiceClient::new(self.sandbox.anonymous(Service::Files))
    }

    fn identity_public(&self) -> Identity {
        IdentityServiceClient::new(self.sandbox.anonymous(Service::Identity))
    }

    fn session(&self, tokens: ipb::TokenPair, tenant: &str) -> Session {
        let account_id = tokens.account.as_ref().expect("account").id.parse().expect("account id");
        Session {
            files: self.files(&tokens.access_token, tenant),
            identity: IdentityServiceClient::new(self.sandbox.authed(Service::Identity, &tokens.access_token, tenant)),
            account_id,
            token: tokens.access_token.clone(),
        }
    }

    /// A tenant with its first admin, as `opeka tenant create` makes it.
    pub async fn tenant(&self, slug: &str) -> TestTenant {
        let (t, admin) = self.sandbox.tenant(slug).await;
        TestTenant { id: t.id, slug: t.slug, admin_login: admin.login, admin_password: admin.password }
    }

    pub async fn sign_in(&self, tenant: &TestTenant, login: &str, password: &str) -> Session {
        let req = ipb::LoginRequest { tenant: tenant.slug.clone(), login: login.into(), password: password.into() };
        let tokens = self.identity_public().login(req).await.unwrap_or_else(|e| panic!("login {login}: {e:?}"));
        self.session(tokens.into_inner(), &tenant.slug)
    }

    pub async fn admin(&self, tenant: &TestTenant) -> Session {
        self.sign_in(tenant, &tenant.admin_login, &tenant.admin_password).await
    }

    /// A staff account with `role`, signed in.
    pub async fn staff(&self, tenant: &TestTenant, admin: &Session, login: &str, role: ipb::Role) -> Session {
        self.staff_in(tenant, admin, login, role, "").await
    }

    /// A staff account with `role` in organisation `org` (empty: none), signed in.
    pub async fn staff_in(
        &self,
        tenant: &TestTenant,
        admin: &Session,
        login: &str,
        role: ipb::Role,
        org: &str,
    ) -> Session {
        let req = ipb::CreateStaffAccountRequest {
            surname: "Сотрудникова".into(),
            name: "Анна".into(),
            login: login.into(),
            password: PASSWORD.into(),
            password_repeat: PASSWORD.into(),
            roles: vec![role as i32],
            organisation_id: org.into(),
            ..Default::default()
        };
        admin.identity.clone().create_staff_account(req).await.expect("create staff");
        self.sign_in(tenant, login, PASSWORD).await
    }

    /// An executive body (the organisation an appeal is routed to).
    pub async fn organisation(&self, admin: &Session, name: &str) -> String {
        let req = ipb::CreateOrganisationRequest {
            name: name.into(),
            kind: ipb::OrganisationKind::ExecutiveBody as i32,
            parent_id: String::new(),
        };
        admin.identity.clone().create_organisation(req).await.expect("create organisation").into_inner().id
    }

    /// An appeal routed to organisation `org`, taken in by the admin (a
    /// region is loaded first: intake needs one). Needs `start_with_cases`.
    pub async fn appeal(&self, tenant: &TestTenant, admin: &Session, org: &str) -> String {
        let mut appeals = self.appeals(&admin.token, &tenant.slug);
        let region = |level: &str, code: &str, name: &str, parent: &str| cpb::ReferenceNode {
            level: level.into(),
            code: code.into(),
            name: name.into(),
            parent_code: parent.into(),
            ..Default::default()
        };
        let nodes = vec![
            region("federal_district", "cfo", "Центральный федеральный округ", ""),
            region("region", "msk", "Москва", "cfo"),
        ];
        let import = cpb::ImportReferenceNodesRequest { tree: "geography".into(), nodes };
        appeals.import_reference_nodes(import).await.expect("import geography");
        let list =
            cpb::ListReferenceNodesRequest { tree: "geography".into(), parent_id: String::new(), ..Default::default() };
        let nodes = appeals.list_reference_nodes(list).await.expect("geography").into_inner().nodes;
        let msk = nodes.into_iter().find(|n| n.code == "msk").expect("Москва loaded").id;
        let req = cpb::CreateAppealRequest {
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
        appeals.create_appeal(req).await.expect("create appeal").into_inner().id
    }

    /// The tenant's bot: a service account with role BOT and its token.
    pub async fn bot(&self, tenant: &TestTenant, admin: &Session) -> Session {
        let req = ipb::CreateServiceAccountRequest {
            name: "Телеграм-бот".into(), roles: vec![ipb::Role::Bot as i32]
        };
        let created = admin.identity.clone().create_service_account(req).await.expect("service account").into_inner();
        let tokens = self
            .identity_public()
            .issue_service_token(ipb::IssueServiceTokenRequest {
                tenant: tenant.slug.clone(),
                client_id: created.client_id,
                client_secret: created.client_secret,
            })
            .await
            .expect("service token")
            .into_inner();
        self.session(tokens, &tenant.slug)
    }

    /// A citizen account (the owner of uploaded files).
    pub async fn citizen(&self, admin: &Session, surname: &str) -> Uuid {
        let req = ipb::CreateCitizenAccountRequest {
            surname: surname.into(),
            name: "Иван".into(),
            phone: "+79001234567".into(),
            ..Default::default()
        };
        let a = admin.identity.clone().create_citizen_account(req).await.expect("create citizen").into_inner();
        a.id.parse().expect("citizen id")
    }

    /// Makes `curator` the curator of citizen account `citizen`, as cases'
    /// `citizen_created` does, once files' projection has it (a curator
    /// reaches only their own citizens' files). Returns the card id.
    pub async fn curate(&self, tenant: &TestTenant, citizen: Uuid, curator: &Session) -> Uuid {
        testing::curate(&self.platform, &self.owner_pool, (tenant.id, &tenant.slug), citizen, curator.account_id).await
    }

    /// A JetStream consumer on the files stream for `event` of tenant `slug`.
    pub async fn events(&self, slug: &str, event: &str) -> opeka_testkit::Events {
        self.sandbox.events(opeka_files::SERVICE, slug, event).await
    }

    /// Every regular file under the blob directory (staging files included).
    pub fn stored_blobs(&self) -> Vec<PathBuf> {
        fn walk(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
            for e in std::fs::read_dir(dir).expect("read blob dir") {
                let p = e.expect("dir entry").path();
                if p.is_dir() { walk(&p, out) } else { out.push(p) }
            }
        }
        let mut out = Vec::new();
        walk(self.store_dir.path(), &mut out);
        out
    }

    /// Waits until the blob directory holds no file (clean-up may run in the background).
    pub async fn assert_no_blobs(&self) {
        for _ in 0..100 {
            if self.stored_blobs().is_empty() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("blobs left behind: {:?}", self.stored_blobs());
    }

    /// Row counts of the service's tables, seen by the owner (all tenants).
    pub async fn counts(&self) -> [(&'static str, i64); 4] {
        let mut out = [("file_types", 0), ("files", 0), ("audit_log", 0), ("outbox", 0)];
        for (t, n) in out.iter_mut() {
            let sql = format!("select count(*) from files.{t}");
            *n = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_one(&self.owner_pool).await.expect("count");
        }
        out
    }

    pub async fn count_files(&self) -> i64 {
        sqlx::query_scalar("select count(*) from files.files").fetch_one(&self.owner_pool).await.expect("count")
    }
}

/// An upload's header; tests change one field at a time.
pub fn header(citizen_id: Uuid, name: &str) -> pb::UploadFileRequest {
    pb::UploadFileRequest { citizen_id: citizen_id.to_string(), original_name: name.into(), ..Default::default() }
}

/// The header of an appeal's file.
pub fn appeal_header(appeal_id: &str, name: &str) -> pb::UploadFileRequest {
    pb::UploadFileRequest { appeal_id: appeal_id.into(), original_name: name.into(), ..Default::default() }
}

/// The messages of an upload: the header carries the first chunk.
pub fn messages(head: pb::UploadFileRequest, content: &[u8], chunk: usize) -> Vec<pb::UploadFileRequest> {
    let mut pieces = content.chunks(chunk.max(1));
    let mut first = head;
    first.chunk = pieces.next().map(<[u8]>::to_vec).unwrap_or_default();
    std::iter::once(first)
        .chain(pieces.map(|p| pb::UploadFileRequest { chunk: p.to_vec(), ..Default::default() }))
        .collect()
}

pub async fn upload(client: &Files, head: pb::UploadFileRequest, content: &[u8]) -> Result<pb::File, Status> {
    let msgs = messages(head, content, 8 * 1024);
    client.clone().upload_file(futures::stream::iter(msgs)).await.map(|r| r.into_inner())
}

/// Downloads: the metadata message, the content and the size of each chunk.
pub async fn download(client: &Files, id: &str) -> Result<(pb::File, Vec<u8>, Vec<usize>), Status> {
    use pb::download_file_response::Part;
    let mut stream = client.clone().download_file(pb::DownloadFileRequest { id: id.into() }).await?.into_inner();
    let first = stream.message().await?.expect("a first message");
    let Some(Part::File(meta)) = first.part else { panic!("the first message must be the metadata: {first:?}") };
    let (mut bytes, mut sizes) = (Vec::new(), Vec::new());
    while let Some(m) = stream.message().await? {
        match m.part {
            Some(Part::Chunk(c)) => {
                sizes.push(c.len());
                bytes.extend_from_slice(&c);
            }
            other => panic!("expected a chunk, got {other:?}"),
        }
    }
    Ok((meta, bytes, sizes))
}

pub fn sha256_hex(b: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(b))
}

/// INVALID_ARGUMENT with a Russian field violation naming `field`.
#[track_caller]
pub fn expect_invalid<T: std::fmt::Debug>(r: Result<T, Status>, field: &str) -> String {
    let s = expect_code(r, Code::InvalidArgument);
    let v = opeka_platform::error::violations(&s);
    let found = v.iter().find(|v| v.field == field).unwrap_or_else(|| panic!("no violation of `{field}`: {v:?}"));
    assert!(
        found.description.chars().any(|c| matches!(c, 'А'..='я' | 'ё' | 'Ё')),
        "the description is a Russian sentence: {found:?}"
    );
    found.description.clone()
}

/// Sample contents: genuine headers of each format, padded.
pub mod samples {
    pub fn pdf(len: usize) -> Vec<u8> {
        let mut v = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n".to_vec();
        while v.len() < len {
            v.extend_from_slice(b"% filler line of a test document\n");
        }
        v.truncate(len.max(16));
        v
    }
    pub fn png() -> Vec<u8> {
        let mut v = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, b'I', b'H', b'D', b'R'];
        v.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0, 0x90, 0x77, 0x53, 0xde]);
        v
    }
    pub fn exe(len: usize) -> Vec<u8> {
        let mut v = b"MZ".to_vec();
        v.resize(0x3c, 0x90);
        v.extend_from_slice(&[0x40, 0, 0, 0]);
        v.extend_from_slice(b"PE\0\0");
        v.resize(len.max(v.len()), 0);
        v
    }
}
