//! The cases sandbox: a fresh database with identity's and cases' schemas,
//! identity and cases served on port 0 with a unique bus root, a settable
//! clock for cases, typed clients per signed-in account, and raw pools.
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, pull};
use chrono::{DateTime, SubsecRound, Utc};
use futures::StreamExt;
use opeka_platform::bus::Bus;
use opeka_platform::testing::{self, TestDb};
use opeka_platform::{Context, ManualClock};
use opeka_proto::cases::{self as pb, cases_service_client::CasesServiceClient};
use opeka_proto::events::{Envelope, envelope::Body};
use opeka_proto::identity::{self as idpb, identity_service_client::IdentityServiceClient};
use prost::Message as _;
use sqlx::PgPool;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tonic::metadata::{AsciiMetadataValue, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic::{Code, Status};
use uuid::Uuid;

/// The password every helper-created staff account gets.
pub const PASSWORD: &str = "Пароль-надёжный-1";
/// How long a test waits for something asynchronous (an event, a consumer).
pub const WAIT: Duration = Duration::from_secs(15);

/// Cases' tables, for snapshots and the isolation test.
pub const TABLES: &[&str] = &[
    "tenant_settings",
    "special_groups",
    "citizens",
    "citizen_terms",
    "citizen_special_groups",
    "diary_entries",
    "interactions",
    "activities",
    "audit_log",
];

/// Adds `authorization: Bearer …` and `x-opeka-tenant` to every call.
#[derive(Clone, Default)]
pub struct Meta {
    bearer: Option<AsciiMetadataValue>,
    tenant: Option<AsciiMetadataValue>,
}

impl Interceptor for Meta {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, Status> {
        if let Some(b) = &self.bearer {
            req.metadata_mut().insert("authorization", b.clone());
        }
        if let Some(t) = &self.tenant {
            req.metadata_mut().insert(opeka_platform::auth::TENANT_HEADER, t.clone());
        }
        Ok(req)
    }
}

pub type Cases = CasesServiceClient<InterceptedService<Channel, Meta>>;
pub type Identity = IdentityServiceClient<InterceptedService<Channel, Meta>>;

/// A signed-in staff account with clients for both services.
#[derive(Clone)]
pub struct Staff {
    pub id: String,
    pub cases: Cases,
    pub identity: Identity,
}

/// A tenant made by `opeka tenant create`, with its admin signed in.
#[derive(Clone)]
pub struct TestTenant {
    pub id: Uuid,
    pub slug: String,
    pub admin: Staff,
}

pub struct TestApp {
    pub db: TestDb,
    /// Cases' clock (identity keeps real time: tokens are checked against it).
    pub clock: ManualClock,
    pub identity_settings: opeka_identity::Settings,
    identity_channel: Channel,
    pub cases_channel: Channel,
    /// Files, which cases asks about appeals' attachments (blobs in `_files_dir`).
    pub files_channel: Channel,
    _files_dir: tempfile::TempDir,
    /// The service role (NOSUPERUSER NOBYPASSRLS), search path `cases`: RLS applies.
    pub app_pool: PgPool,
    /// The owner (superuser): sees every row; for snapshots and set-up only.
    pub owner_pool: PgPool,
    pub bus: Bus,
    shutdown: CancellationToken,
    servers: Vec<(&'static str, JoinHandle<anyhow::Result<()>>)>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

fn endpoint(addr: std::net::SocketAddr) -> Channel {
    tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .expect("endpoint")
        .connect_timeout(Duration::from_secs(5))
        // A stuck call fails the test instead of hanging the run.
        .timeout(Duration::from_secs(30))
        .connect_lazy()
}

impl TestApp {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Like `start`, with the process settings (throttles, trusted
    /// forwarders) tweaked first.
    pub async fn start_with(tweak: impl FnOnce(&mut opeka_platform::settings::PlatformSettings)) -> Self {
        opeka_platform::install_crypto_provider();
        opeka_platform::telemetry::init_for_tests();
        testing::require_nats().await;
        let db = testing::migrated_db(&[&opeka_identity::SCHEMA, &opeka_cases::SCHEMA, &opeka_files::SCHEMA]).await;
        let clock = ManualClock::new(Utc::now().trunc_subsecs(0));
        let identity_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind identity");
        let cases_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind cases");
        let identity_addr = identity_listener.local_addr().expect("identity address");
        let cases_addr = cases_listener.local_addr().expect("cases address");
        let files_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind files");
        let files_addr = files_listener.local_addr().expect("files address");
        let files_dir = tempfile::tempdir().expect("blob directory");
        let files_settings = opeka_files::Settings {
            store_url: format!("file://{}", files_dir.path().display()),
            cases_url: format!("http://{cases_addr}"),
            db_max_connections: 5,
            ..Default::default()
        };
        let mut platform = testing::settings(&db);
        platform.identity_url = format!("http://{identity_addr}");
        tweak(&mut platform);
        // Cheap argon2, as in integration-tests' `test_identity_settings`.
        let identity_settings = opeka_identity::Settings {
            argon2_memory_kib: 1024,
            argon2_iterations: 1,
            db_max_connections: 5,
            ..Default::default()
        };
        let cases_settings = opeka_cases::Settings {
            db_max_connections: 5,
            files_url: format!("http://{files_addr}"),
            ..Default::default()
        };
        let shutdown = CancellationToken::new();
        let identity_ctx = Context {
            settings: platform.clone(),
            clock: opeka_platform::clock::system(),
            shutdown: shutdown.clone(),
            tasks: Default::default(),
        };
        let cases_ctx = Context {
            settings: platform.clone(),
            clock: Arc::new(clock.clone()),
            shutdown: shutdown.clone(),
            tasks: Default::default(),
        };
        let files_ctx = identity_ctx.clone();
        let servers = vec![
            ("identity", tokio::spawn(opeka_identity::run(identity_ctx, identity_settings.clone(), identity_listener))),
            ("cases", tokio::spawn(opeka_cases::run(cases_ctx, cases_settings, cases_listener))),
            ("files", tokio::spawn(opeka_files::run(files_ctx, files_settings, files_listener))),
        ];
        let app_pool = opeka_platform::db::connect(&db.url("cases"), "cases", 5).await.expect("app pool");
        let owner_pool = opeka_platform::db::connect(&db.owner_url, "cases", 2).await.expect("owner pool");
        let bus = opeka_platform::testing::harness_bus(&platform).await;
        let mut app = Self {
            db,
            clock,
            identity_settings,
            identity_channel: endpoint(identity_addr),
            cases_channel: endpoint(cases_addr),
            files_channel: endpoint(files_addr),
            _files_dir: files_dir,
            app_pool,
            owner_pool,
            bus,
            shutdown,
            servers,
        };
        app.wait_serving(opeka_identity::GRPC_NAME, 0).await;
        app.wait_serving(opeka_cases::GRPC_NAME, 1).await;
        app.wait_serving(opeka_files::GRPC_NAME, 2).await;
        app
    }

    /// Waits for health to report SERVING; fails with `run`'s error if it ended.
    async fn wait_serving(&mut self, name: &str, i: usize) {
        use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient};
        let channel = match i {
            0 => self.identity_channel.clone(),
            1 => self.cases_channel.clone(),
            _ => self.files_channel.clone(),
        };
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if self.servers[i].1.is_finished() {
                let (who, handle) = self.servers.remove(i);
                panic!("{who} stopped during start-up: {:?}", handle.await);
            }
            let mut health = HealthClient::new(channel.clone());
            if let Ok(r) = health.check(HealthCheckRequest { service: name.into() }).await
                && r.into_inner().status == ServingStatus::Serving as i32
            {
                return;
            }
            assert!(tokio::time::Instant::now() < deadline, "{name} did not become healthy");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        opeka_platform::Clock::now(&self.clock)
    }

    fn meta(token: &str, tenant: &str) -> Meta {
        Meta {
            bearer: Some(MetadataValue::try_from(format!("Bearer {token}")).expect("ascii token")),
            tenant: Some(MetadataValue::try_from(tenant).expect("ascii tenant")),
        }
    }

    /// Clients presenting `token` for tenant `tenant`.
    pub fn staff(&self, id: &str, token: &str, tenant: &str) -> Staff {
        Staff {
            id: id.to_string(),
            cases: CasesServiceClient::with_interceptor(self.cases_channel.clone(), Self::meta(token, tenant)),
            identity: IdentityServiceClient::with_interceptor(self.identity_channel.clone(), Self::meta(token, tenant)),
        }
    }

    /// An identity client without a token (public RPCs).
    pub fn public_identity(&self) -> IdentityServiceClient<Channel> {
        IdentityServiceClient::new(self.identity_channel.clone())
    }

    /// A cases client without a token.
    pub fn anonymous(&self) -> Cases {
        CasesServiceClient::with_interceptor(self.cases_channel.clone(), Meta::default())
    }

    pub async fn sign_in(&self, tenant: &str, login: &str, password: &str) -> Staff {
        let mut public = self.public_identity();
        let req = idpb::LoginRequest { tenant: tenant.into(), login: login.into(), password: password.into() };
        let pair = public.login(req).await.unwrap_or_else(|e| panic!("login {login}: {e:?}")).into_inner();
        let account = pair.account.expect("token pair carries the account");
        self.staff(&account.id, &pair.access_token, tenant)
    }

    /// Creates a tenant with its admin, as `opeka tenant create` does.
    pub async fn tenant(&self, slug: &str) -> TestTenant {
        let pool = opeka_platform::db::connect(&self.db.url("identity"), "identity", 2).await.expect("identity pool");
        let (t, admin) = opeka_identity::bootstrap::create_tenant(
            &pool,
            &self.identity_settings,
            slug,
            &format!("Агентство {slug}"),
            "admin",
        )
        .await
        .expect("create tenant");
        pool.close().await;
        let admin = self.sign_in(&t.slug, &admin.login, &admin.password).await;
        TestTenant { id: t.id, slug: t.slug, admin }
    }

    /// An active staff account with `roles`, created by the admin and signed in.
    pub async fn staff_member(&self, t: &TestTenant, login: &str, surname: &str, roles: &[idpb::Role]) -> Staff {
        let req = idpb::CreateStaffAccountRequest {
            surname: surname.into(),
            name: "Анна".into(),
            login: login.into(),
            password: PASSWORD.into(),
            password_repeat: PASSWORD.into(),
            roles: roles.iter().map(|r| *r as i32).collect(),
            ..Default::default()
        };
        t.admin.identity.clone().create_staff_account(req).await.expect("create staff");
        self.sign_in(&t.slug, login, PASSWORD).await
    }

    pub async fn curator(&self, t: &TestTenant, login: &str, surname: &str) -> Staff {
        self.staff_member(t, login, surname, &[idpb::Role::Curator]).await
    }

    pub async fn district(&self, t: &TestTenant, name: &str) -> String {
        let req = idpb::CreateDistrictRequest { name: name.into() };
        t.admin.identity.clone().create_district(req).await.expect("create district").into_inner().id
    }

    /// Publishes `body` as an event of `service` in tenant `slug`, as that
    /// service's relay would (stream created first). `msg_id` is the broker
    /// de-duplication id; a redelivery test sends one envelope under two.
    pub async fn publish(&self, slug: &str, service: &str, envelope: &Envelope, msg_id: &str) {
        self.bus.ensure_stream(service).await.expect("stream");
        let (subject, payload) = self.bus.event_wire(service, slug, envelope);
        let mut h = async_nats::HeaderMap::new();
        h.insert(async_nats::header::NATS_MESSAGE_ID, msg_id);
        let ack = self.bus.js.publish_with_headers(subject, h, payload.into()).await.expect("publish");
        ack.await.expect("publish ack");
    }

    /// An envelope for tenant `t` that occurred at `at`.
    pub fn envelope(t: &TestTenant, at: DateTime<Utc>, body: Body) -> Envelope {
        opeka_platform::bus::envelope(t.id, "system", at, body)
    }

    /// A JetStream consumer on cases' stream, delivering every `event` of
    /// tenant `slug` from the start of the stream.
    pub async fn events(&self, slug: &str, event: &str) -> Events {
        let stream = self.bus.ensure_stream(opeka_cases::SERVICE).await.expect("cases stream");
        let tenant = opeka_platform::testing::tenant_token(&self.owner_pool, slug).await;
        let subject = self.bus.subject(&tenant, opeka_cases::SERVICE, event);
        let consumer = stream
            .create_consumer(pull::Config {
                filter_subject: subject.clone(),
                deliver_policy: DeliverPolicy::All,
                ack_policy: AckPolicy::Explicit,
                inactive_threshold: Duration::from_secs(60),
                ..Default::default()
            })
            .await
            .expect("create consumer");
        Events { subject, messages: consumer.messages().await.expect("consumer messages") }
    }

    /// Row count and content digest of every cases table plus identity's
    /// accounts, seen by the owner: equal snapshots mean nothing was written.
    pub async fn snapshot(&self) -> BTreeMap<String, (i64, String)> {
        let mut out = BTreeMap::new();
        let tables = TABLES.iter().map(|t| format!("cases.{t}")).chain(["identity.accounts".to_string()]);
        for t in tables {
            let sql =
                format!("select count(*), coalesce(md5(string_agg(x::text, '|' order by x::text)), '') from {t} x");
            let row: (i64, String) =
                sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_one(&self.owner_pool).await.expect("snapshot");
            out.insert(t, row);
        }
        out
    }

    pub async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string())).fetch_one(&self.owner_pool).await.expect("count")
    }

    /// Polls `f` until it returns `Some` (fails after `WAIT`).
    pub async fn eventually<T, F, Fut>(&self, what: &str, mut f: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Some(v) = f().await {
                return v;
            }
            assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

pub struct Events {
    pub subject: String,
    messages: pull::Stream,
}

impl Events {
    /// The next event on the subject (fails after `WAIT`).
    pub async fn next(&mut self) -> Envelope {
        let msg = tokio::time::timeout(WAIT, self.messages.next())
            .await
            .unwrap_or_else(|_| panic!("no event on {} within {WAIT:?}", self.subject))
            .expect("consumer stream ended")
            .expect("receive event");
        msg.ack().await.expect("ack");
        Envelope::decode(msg.payload.as_ref()).expect("event is an Envelope")
    }
}

/// A valid 12-digit personal INN made from 10 digits (check digits computed).
pub fn inn(first10: &str) -> String {
    const W11: [u32; 10] = [7, 2, 4, 10, 3, 5, 9, 4, 6, 8];
    const W12: [u32; 11] = [3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8];
    let mut d: Vec<u32> = first10.chars().map(|c| c.to_digit(10).expect("digit")).collect();
    assert_eq!(d.len(), 10);
    let c11 = W11.iter().zip(&d).map(|(w, x)| w * x).sum::<u32>() % 11 % 10;
    d.push(c11);
    let c12 = W12.iter().zip(&d).map(|(w, x)| w * x).sum::<u32>() % 11 % 10;
    d.push(c12);
    d.iter().map(|x| char::from_digit(*x, 10).expect("digit")).collect()
}

/// A valid card request; tests change one field at a time.
pub fn citizen(surname: &str, name: &str) -> pb::CreateCitizenRequest {
    pb::CreateCitizenRequest {
        surname: surname.into(),
        name: name.into(),
        patronymic: "Петровна".into(),
        phone: "8 (912) 345-67-89".into(),
        ..Default::default()
    }
}

/// The update that keeps `c` as it is (UpdateCitizen replaces every field).
pub fn update_from(c: &pb::Citizen) -> pb::UpdateCitizenRequest {
    pb::UpdateCitizenRequest {
        id: c.id.clone(),
        surname: c.surname.clone(),
        name: c.name.clone(),
        patronymic: c.patronymic.clone(),
        birth_date: c.birth_date.clone(),
        inn: c.inn.clone(),
        phone: c.phone.clone(),
        email: c.email.clone(),
        curator_id: c.curator_id.clone(),
        district_id: c.district_id.clone(),
        special_group_ids: c.special_group_ids.clone(),
        situation: c.situation.clone(),
        inactive: c.inactive,
        inactive_until: c.inactive_until.clone(),
    }
}

/// The error of a call that must fail with `code`.
#[track_caller]
pub fn expect_code<T: std::fmt::Debug>(r: Result<T, Status>, code: Code) -> Status {
    match r {
        Ok(v) => panic!("expected {code:?}, got Ok({v:?})"),
        Err(s) => {
            assert_eq!(s.code(), code, "unexpected status: {s:?}");
            s
        }
    }
}

/// INVALID_ARGUMENT with a field violation naming `field` (and a sentence).
#[track_caller]
pub fn expect_invalid<T: std::fmt::Debug>(r: Result<T, Status>, field: &str) -> Vec<String> {
    let s = expect_code(r, Code::InvalidArgument);
    let v = opeka_platform::error::violations(&s);
    assert!(
        v.iter().any(|v| v.field == field && !v.description.trim().is_empty()),
        "expected a violation of `{field}`, got {v:?} ({})",
        s.message()
    );
    v.into_iter().map(|v| v.field).collect()
}

pub fn ts(t: &Option<prost_types::Timestamp>) -> DateTime<Utc> {
    let t = t.as_ref().expect("timestamp present");
    DateTime::from_timestamp(t.seconds, t.nanos as u32).expect("valid timestamp")
}

pub fn names(list: &pb::ListCitizensResponse) -> Vec<String> {
    list.citizens.iter().map(|c| c.surname.clone()).collect()
}
