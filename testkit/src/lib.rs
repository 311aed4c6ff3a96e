//! The one test sandbox (issue 10 point 6; quickwit's `ClusterSandbox`,
//! zero-to-production's `spawn_app`): a fresh database with every schema
//! and per-service role, a unique bus root, any set of services started on
//! port 0 with the production tracing subscriber, a manual clock for the
//! services that ask for it, typed clients that present a token, and
//! `wait_until`. Each crate's `tests/it/helpers.rs` adds only its domain
//! helpers on top.
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use opeka_platform::settings::PlatformSettings;
use opeka_platform::testing::{self, TestDb};
use opeka_platform::{Context, ManualClock};
use opeka_proto::identity::{self as idpb, identity_service_client::IdentityServiceClient};
use sqlx::PgPool;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tonic::Status;
use tonic::metadata::{AsciiMetadataValue, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

/// How long `wait_until` and start-up wait before failing the test.
pub const WAIT: Duration = Duration::from_secs(20);
/// The password every helper-created staff account gets.
pub const PASSWORD: &str = "Пароль-надёжный-1";

/// The services a sandbox can start, in start-up order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Service {
    Identity,
    Files,
    Cases,
    Scheduler,
    Notifications,
    /// The web UI (HTTP, not gRPC): `url` gives its base.
    Gateway,
}

impl Service {
    pub fn name(self) -> &'static str {
        match self {
            Self::Identity => "identity",
            Self::Files => "files",
            Self::Cases => "cases",
            Self::Scheduler => "scheduler",
            Self::Notifications => "notifications",
            Self::Gateway => "gateway",
        }
    }

    /// The gRPC service health reports for it (the gateway has none: empty).
    pub fn grpc_name(self) -> &'static str {
        match self {
            Self::Identity => opeka_identity::GRPC_NAME,
            Self::Files => opeka_files::GRPC_NAME,
            Self::Cases => opeka_cases::GRPC_NAME,
            Self::Scheduler => opeka_scheduler::GRPC_NAME,
            Self::Notifications => opeka_notifications::GRPC_NAME,
            Self::Gateway => "",
        }
    }

    fn schema(self) -> &'static opeka_platform::db::SchemaSpec {
        match self {
            Self::Identity => &opeka_identity::SCHEMA,
            Self::Files => &opeka_files::SCHEMA,
            Self::Cases => &opeka_cases::SCHEMA,
            Self::Scheduler => &opeka_scheduler::SCHEMA,
            Self::Notifications => &opeka_notifications::SCHEMA,
            Self::Gateway => &opeka_gateway::SCHEMA,
        }
    }
}

/// Adds `authorization: Bearer …` and `x-opeka-tenant` to every call.
#[derive(Clone, Default)]
pub struct Meta {
    bearer: Option<AsciiMetadataValue>,
    tenant: Option<AsciiMetadataValue>,
}

impl Meta {
    /// Presents `token` for `tenant` (slug or id).
    pub fn new(token: &str, tenant: &str) -> Self {
        Self {
            bearer: Some(MetadataValue::try_from(format!("Bearer {token}")).expect("ascii token")),
            tenant: Some(MetadataValue::try_from(tenant).expect("ascii tenant")),
        }
    }
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

/// A channel that presents a token: `XServiceClient::new(sandbox.authed(…))`.
pub type Authed = InterceptedService<Channel, Meta>;

/// Every service's settings, cheap for tests (argon2 at 1 MiB, small pools).
#[derive(Clone)]
pub struct Settings {
    pub platform: PlatformSettings,
    pub identity: opeka_identity::Settings,
    pub files: opeka_files::Settings,
    pub cases: opeka_cases::Settings,
    pub scheduler: opeka_scheduler::Settings,
    pub notifications: opeka_notifications::Settings,
    pub gateway: opeka_gateway::Settings,
}

/// A change to the settings, made before start.
type Tweak = Box<dyn FnOnce(&mut Settings) + Send>;

pub struct Builder {
    services: Vec<Service>,
    /// The schemas migrated besides those of the started services.
    schemas: Vec<Service>,
    manual: Vec<Service>,
    start_at: DateTime<Utc>,
    nats: BTreeMap<Service, String>,
    tweaks: Vec<Tweak>,
    /// Services run in a runtime of their own (`apart`).
    apart: Vec<Service>,
    /// Extra instances of a service over the same database (`replicas`).
    replicas: BTreeMap<Service, usize>,
}

impl Builder {
    /// Starts `service` (dependencies are not added on their own).
    pub fn with(mut self, service: Service) -> Self {
        if !self.services.contains(&service) {
            self.services.push(service);
        }
        self
    }

    /// Migrates `service`'s schema without starting it (a projection fed by
    /// hand, a table a test fills).
    pub fn schema(mut self, service: Service) -> Self {
        self.schemas.push(service);
        self
    }

    /// Gives `services` the sandbox's manual clock, set to `at`; the others
    /// keep real time (tokens are checked against it).
    pub fn manual_clock(mut self, at: DateTime<Utc>, services: &[Service]) -> Self {
        self.start_at = at;
        self.manual.extend_from_slice(services);
        self
    }

    /// Points `service` (only) at another broker (a drill's own server).
    pub fn nats_url_for(mut self, service: Service, url: impl Into<String>) -> Self {
        self.nats.insert(service, url.into());
        self
    }

    /// Changes any settings before start.
    pub fn tweak(mut self, f: impl FnOnce(&mut Settings) + Send + 'static) -> Self {
        self.tweaks.push(Box::new(f));
        self
    }

    pub async fn start(self) -> Sandbox {
        // Boxed: the start-up future holds every service's settings, more
        // than clippy's large_futures bound for each caller to carry.
        Box::pin(self.start_boxed()).await
    }

    async fn start_boxed(self) -> Sandbox {
        opeka_platform::install_crypto_provider();
        opeka_platform::telemetry::init_for_tests();
        testing::require_nats().await;
        let mut services = self.services.clone();
        services.sort();
        let mut schemas: Vec<Service> = services.iter().chain(&self.schemas).copied().collect();
        schemas.sort();
        schemas.dedup();
        let specs: Vec<_> = schemas.iter().map(|s| s.schema()).collect();
        let db = testing::migrated_db(&specs).await;
        let clock = ManualClock::new(self.start_at);
        let mut listeners = BTreeMap::new();
        for s in &services {
            listeners.insert(*s, tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind"));
        }
        let url = |s: Service| {
            listeners.get(&s).map(|l| format!("http://{}", l.local_addr().expect("address"))).unwrap_or_default()
        };
        let mut settings = Settings {
            platform: testing::settings(&db),
            identity: opeka_identity::Settings {
                argon2_memory_kib: 1024,
                argon2_iterations: 1,
                db_max_connections: 5,
                ..Default::default()
            },
            files: opeka_files::Settings { db_max_connections: 5, ..Default::default() },
            cases: opeka_cases::Settings { db_max_connections: 5, ..Default::default() },
            scheduler: opeka_scheduler::Settings { db_max_connections: 8, ..Default::default() },
            notifications: opeka_notifications::Settings { db_max_connections: 5, ..Default::default() },
            gateway: opeka_gateway::Settings {
                assets_dir: concat!(env!("CARGO_MANIFEST_DIR"), "/../services/gateway/web/node_modules").into(),
                ..Default::default()
            },
        };
        // Each started service is where the others look for it; a service
        // not started keeps its default address (nothing answers there).
        let set = |field: &mut String, s: Service| {
            let u = url(s);
            if !u.is_empty() {
                *field = u;
            }
        };
        set(&mut settings.platform.identity_url, Service::Identity);
        set(&mut settings.cases.files_url, Service::Files);
        set(&mut settings.files.cases_url, Service::Cases);
        set(&mut settings.scheduler.cases_url, Service::Cases);
        set(&mut settings.notifications.files_url, Service::Files);
        set(&mut settings.notifications.cases_url, Service::Cases);
        set(&mut settings.notifications.scheduler_url, Service::Scheduler);
        set(&mut settings.gateway.public_url, Service::Gateway);
        set(&mut settings.gateway.cases_url, Service::Cases);
        set(&mut settings.gateway.files_url, Service::Files);
        set(&mut settings.gateway.notifications_url, Service::Notifications);
        set(&mut settings.gateway.scheduler_url, Service::Scheduler);
        for tweak in self.tweaks {
            tweak(&mut settings);
        }
        let shutdown = CancellationToken::new();
        // One registry, as in one `opeka serve` process (`/readyz` reads it).
        let tasks = opeka_platform::supervise::Tasks::new();
        let (mut contexts, mut apart) = (BTreeMap::new(), BTreeMap::new());
        let mut channels = BTreeMap::new();
        let mut servers = Vec::new();
        let urls: BTreeMap<Service, String> = services.iter().map(|s| (*s, url(*s))).collect();
        for (service, listener) in listeners {
            let mut platform = settings.platform.clone();
            if let Some(url) = self.nats.get(&service) {
                platform.nats_url = url.clone();
            }
            let ctx = Context {
                settings: platform,
                clock: if self.manual.contains(&service) {
                    Arc::new(clock.clone())
                } else {
                    opeka_platform::clock::system()
                },
                // Its own child of `shutdown`: `restart` stops it alone.
                shutdown: shutdown.child_token(),
                tasks: tasks.clone(),
            };
            channels.insert(service, endpoint(&format!("http://{}", listener.local_addr().expect("address"))));
            for _ in 0..self.replicas.get(&service).copied().unwrap_or(0) {
                let replica = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
                servers.push((service, tokio::spawn(serve(service, ctx.clone(), &settings, replica))));
            }
            contexts.insert(service, ctx.clone());
            if self.apart.contains(&service) {
                apart.insert(
                    service,
                    Apart::start(service, &ctx, &settings, listener.into_std().expect("std listener")),
                );
            } else {
                servers.push((service, tokio::spawn(serve(service, ctx, &settings, listener))));
            }
        }
        let owner_pool = opeka_platform::db::connect(&db.owner_url, "public", 4).await.expect("owner pool");
        let apart = std::sync::Mutex::new(apart);
        let mut sandbox =
            Sandbox { db, clock, settings, owner_pool, tasks, urls, channels, shutdown, servers, contexts, apart };
        for service in services {
            sandbox.wait_serving(service).await;
        }
        sandbox
    }
}

/// `service`'s `run` on `listener`.
fn serve(
    service: Service,
    ctx: Context,
    settings: &Settings,
    listener: tokio::net::TcpListener,
) -> futures::future::BoxFuture<'static, anyhow::Result<()>> {
    let s = settings.clone();
    match service {
        Service::Identity => Box::pin(opeka_identity::run(ctx, s.identity, listener)),
        Service::Files => Box::pin(opeka_files::run(ctx, s.files, listener)),
        Service::Cases => Box::pin(opeka_cases::run(ctx, s.cases, listener)),
        Service::Scheduler => Box::pin(opeka_scheduler::run(ctx, s.scheduler, listener)),
        Service::Notifications => Box::pin(opeka_notifications::run(ctx, s.notifications, listener)),
        Service::Gateway => Box::pin(opeka_gateway::run(ctx, s.gateway, listener)),
    }
}

fn endpoint(url: &str) -> Channel {
    tonic::transport::Endpoint::from_shared(url.to_string())
        .expect("endpoint")
        .connect_timeout(Duration::from_secs(5))
        // A stuck call fails the test instead of hanging the run.
        .timeout(Duration::from_secs(30))
        .connect_lazy()
}

pub struct Sandbox {
    pub db: TestDb,
    /// The clock of the services given `manual_clock`.
    pub clock: ManualClock,
    /// The settings the services were started with.
    pub settings: Settings,
    /// The owner (superuser): sees every row; for set-up and checks only.
    pub owner_pool: PgPool,
    /// The supervised tasks of every started service (one registry, as in
    /// one `opeka serve` process).
    pub tasks: opeka_platform::supervise::Tasks,
    urls: BTreeMap<Service, String>,
    channels: BTreeMap<Service, Channel>,
    shutdown: CancellationToken,
    servers: Vec<(Service, JoinHandle<anyhow::Result<()>>)>,
    /// The context each service was started with (to start it again).
    contexts: BTreeMap<Service, Context>,
    /// The services running in a runtime of their own, while they run.
    apart: std::sync::Mutex<BTreeMap<Service, Apart>>,
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl Sandbox {
    pub fn builder() -> Builder {
        Builder {
            services: Vec::new(),
            schemas: Vec::new(),
            manual: Vec::new(),
            start_at: Utc::now().trunc_subsecs(0),
            nats: BTreeMap::new(),
            tweaks: Vec::new(),
            apart: Vec::new(),
            replicas: BTreeMap::new(),
        }
    }

    /// The channel to a started service.
    pub fn channel(&self, service: Service) -> Channel {
        self.channels.get(&service).unwrap_or_else(|| panic!("{} was not started", service.name())).clone()
    }

    /// `http://127.0.0.1:<port>` of a started service.
    pub fn url(&self, service: Service) -> String {
        self.urls.get(&service).unwrap_or_else(|| panic!("{} was not started", service.name())).clone()
    }

    /// A channel to `service` presenting `token` for `tenant`.
    pub fn authed(&self, service: Service, token: &str, tenant: &str) -> Authed {
        InterceptedService::new(self.channel(service), Meta::new(token, tenant))
    }

    /// A channel to `service` presenting nothing.
    pub fn anonymous(&self, service: Service) -> Authed {
        InterceptedService::new(self.channel(service), Meta::default())
    }

    /// A pool of the owner (superuser, sees every row) with `schema` first
    /// on the search path: for set-up and checks only.
    pub async fn owner_pool_in(&self, schema: &str) -> PgPool {
        opeka_platform::db::connect(&self.db.owner_url, schema, 4).await.expect("owner pool")
    }

    /// A pool of `service`'s own role (RLS applies), search path its schema.
    pub async fn service_pool(&self, service: Service) -> PgPool {
        opeka_platform::db::connect(&self.db.url(service.name()), service.name(), 4).await.expect("service pool")
    }

    pub fn now(&self) -> DateTime<Utc> {
        opeka_platform::Clock::now(&self.clock)
    }

    /// Stops the sandbox's services now (they stop by themselves on drop).
    pub fn stop(&self) {
        self.shutdown.cancel();
    }

    /// Waits for health to report SERVING; fails with `run`'s error if it ended.
    async fn wait_serving(&mut self, service: Service) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Some(i) = self.servers.iter().position(|(s, h)| *s == service && h.is_finished()) {
                let (_, handle) = self.servers.remove(i);
                panic!("{} stopped during start-up: {:?}", service.name(), handle.await);
            }
            if self.serving(service).await {
                return;
            }
            assert!(tokio::time::Instant::now() < deadline, "{} did not become healthy", service.name());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Creates a tenant and its first admin, as `opeka tenant create` does.
    pub async fn tenant(
        &self,
        slug: &str,
    ) -> (opeka_identity::store::Tenant, opeka_identity::bootstrap::CreatedAccount) {
        let pool = opeka_platform::db::connect(&self.db.url("identity"), "identity", 2).await.expect("identity pool");
        let created = opeka_identity::bootstrap::create_tenant(
            &pool,
            &self.settings.identity,
            slug,
            &format!("Агентство {slug}"),
            "admin",
        )
        .await
        .expect("create tenant");
        pool.close().await;
        created
    }

    /// Signs in; the token pair (with its account).
    pub async fn login(&self, tenant: &str, login: &str, password: &str) -> Result<idpb::TokenPair, Status> {
        let mut public = IdentityServiceClient::new(self.channel(Service::Identity));
        let req = idpb::LoginRequest { tenant: tenant.into(), login: login.into(), password: password.into() };
        public.login(req).await.map(|r| r.into_inner())
    }

    /// Signs in and panics on failure.
    pub async fn sign_in(&self, tenant: &str, login: &str, password: &str) -> idpb::TokenPair {
        self.login(tenant, login, password).await.unwrap_or_else(|e| panic!("login {login} in {tenant}: {e:?}"))
    }

    /// A service account with `roles`, created by `admin_token`, and its token.
    pub async fn service_token(
        &self,
        tenant: &str,
        admin_token: &str,
        name: &str,
        roles: &[idpb::Role],
    ) -> idpb::TokenPair {
        let mut admin = IdentityServiceClient::new(self.authed(Service::Identity, admin_token, tenant));
        let req =
            idpb::CreateServiceAccountRequest { name: name.into(), roles: roles.iter().map(|r| *r as i32).collect() };
        let created = admin.create_service_account(req).await.expect("service account").into_inner();
        let mut public = IdentityServiceClient::new(self.channel(Service::Identity));
        let req = idpb::IssueServiceTokenRequest {
            tenant: tenant.into(),
            client_id: created.client_id,
            client_secret: created.client_secret,
        };
        public.issue_service_token(req).await.expect("service token").into_inner()
    }

    /// Polls `probe` until it gives `Some`, failing the test after `WAIT`.
    pub async fn wait_until<T, F, Fut>(&self, what: &str, probe: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Option<T>>,
    {
        wait_until(what, probe).await
    }
}

// notifications/cases (task A)
impl Sandbox {
    /// Stops `service` alone (it must end cleanly within 15 s) and starts it
    /// again on a new port over the same database and bus, with its settings
    /// as `self.settings` holds them now (a test may change them first).
    /// `channel`, `url` and `authed` give the new port; clients made before,
    /// and the other services' settings, keep the old one.
    pub async fn restart(&mut self, service: Service) {
        let ctx = self.contexts.get(&service).unwrap_or_else(|| panic!("{} was not started", service.name())).clone();
        ctx.shutdown.cancel();
        if let Some(i) = self.servers.iter().position(|(s, _)| *s == service) {
            let (_, server) = self.servers.remove(i);
            let stopped = tokio::time::timeout(Duration::from_secs(15), server).await;
            let stopped = stopped.unwrap_or_else(|_| panic!("{} did not stop within 15 s", service.name()));
            stopped.expect("join").unwrap_or_else(|e| panic!("{} did not stop cleanly: {e:?}", service.name()));
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let ctx = Context { shutdown: self.shutdown.child_token(), tasks: Default::default(), ..ctx };
        self.contexts.insert(service, ctx.clone());
        self.channels.insert(service, endpoint(&url));
        self.urls.insert(service, url);
        self.servers.push((service, tokio::spawn(serve(service, ctx, &self.settings, listener))));
        self.wait_serving(service).await;
    }

    /// The test harness's own connection to the sandbox's bus.
    pub async fn bus(&self) -> opeka_platform::bus::Bus {
        testing::harness_bus(&self.settings.platform).await
    }

    /// `events_on` for tenant `slug` (needs identity's schema).
    pub async fn events(&self, service: &str, slug: &str, event: &str) -> Events {
        let tenant = testing::tenant_token(&self.owner_pool, slug).await;
        events_on(&self.bus().await, service, &tenant, event).await
    }

    /// Publishes `envelope` as `service`'s relay would for tenant `slug`
    /// (its stream made first); `msg_id` is the broker's de-duplication id
    /// (`Nats-Msg-Id`): a redelivery test sends one envelope under two.
    pub async fn publish(&self, service: &str, slug: &str, envelope: &opeka_proto::events::Envelope, msg_id: &str) {
        let bus = self.bus().await;
        bus.ensure_stream(service).await.expect("stream");
        let (subject, payload) = bus.event_wire(service, slug, envelope);
        let mut headers = async_nats::HeaderMap::new();
        headers.insert(async_nats::header::NATS_MESSAGE_ID, msg_id);
        let ack = bus.js.publish_with_headers(subject, headers, payload.into()).await.expect("publish");
        ack.await.expect("publish ack");
    }
}

// gateway and e2e (task B)

impl Builder {
    /// Runs `service` in a runtime of its own, so the test can stop it as
    /// SIGTERM does, kill it as SIGKILL does, and start it again
    /// (`Sandbox::stop_service`, `kill_service`, `restart_service`).
    pub fn apart(mut self, service: Service) -> Self {
        self.apart.push(service);
        self
    }

    /// Starts `n` more instances of `service` over the same database and bus
    /// (replicas, reached by nobody: `channel` and `url` name the first).
    pub fn replicas(mut self, service: Service, n: usize) -> Self {
        self.replicas.insert(service, n);
        self
    }
}

impl Sandbox {
    /// A token cancelled when the sandbox stops, for a server the test runs
    /// beside the services (an admin endpoint).
    pub fn stop_token(&self) -> CancellationToken {
        self.shutdown.child_token()
    }

    /// Does `service` answer: health SERVING for a gRPC service, a page for
    /// the gateway.
    pub async fn serving(&self, service: Service) -> bool {
        use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient};
        if service == Service::Gateway {
            let page = reqwest::get(format!("{}/static/style.css", self.url(service)));
            let page = tokio::time::timeout(Duration::from_secs(5), page).await;
            return page.is_ok_and(|r| r.is_ok_and(|r| r.status().is_success()));
        }
        let mut health = HealthClient::new(self.channel(service));
        let r = health.check(HealthCheckRequest { service: service.grpc_name().into() }).await;
        r.is_ok_and(|r| r.into_inner().status == ServingStatus::Serving as i32)
    }

    /// Stops `service` (started `apart`) as SIGTERM does: its token is
    /// cancelled and `run` returns once its tasks let go.
    pub async fn stop_service(&self, service: Service) {
        let mut apart = self.take_apart(service);
        apart.cancel.cancel();
        let done = apart.done.take().expect("a running service");
        let stopped = tokio::time::timeout(Duration::from_secs(30), done).await;
        let name = service.name();
        let result = stopped.unwrap_or_else(|_| panic!("{name} did not stop within 30 s")).expect("join");
        result.unwrap_or_else(|e| panic!("{name} did not stop cleanly: {e:#}"));
    }

    /// Kills `service` (started `apart`) as SIGKILL does: its runtime is
    /// dropped at once, nothing it holds is released or recorded.
    pub fn kill_service(&self, service: Service) {
        drop(self.take_apart(service));
    }

    /// Starts `service` (started `apart`, then stopped or killed) again on
    /// its port over the same data, and waits until it serves.
    pub async fn restart_service(&self, service: Service) {
        let addr = self.url(service).trim_start_matches("http://").to_string();
        let what = format!("{}'s port free again", service.name());
        let listener = wait_until(&what, || async { std::net::TcpListener::bind(&addr).ok() }).await;
        listener.set_nonblocking(true).expect("nonblocking listener");
        let apart = Apart::start(service, &self.contexts[&service], &self.settings, listener);
        self.apart.lock().expect("apart lock").insert(service, apart);
        let what = format!("{} serving again", service.name());
        wait_until(&what, || async { self.serving(service).await.then_some(()) }).await;
    }

    fn take_apart(&self, service: Service) -> Apart {
        let mut apart = self.apart.lock().expect("apart lock");
        apart.remove(&service).unwrap_or_else(|| panic!("{} is not running apart", service.name()))
    }
}

/// A service in a runtime of its own (`Builder::apart`); dropping it drops
/// the runtime without waiting for anything, as SIGKILL would.
struct Apart {
    runtime: Option<tokio::runtime::Runtime>,
    cancel: CancellationToken,
    done: Option<JoinHandle<anyhow::Result<()>>>,
}

impl Apart {
    fn start(service: Service, ctx: &Context, settings: &Settings, listener: std::net::TcpListener) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime of its own");
        let cancel = ctx.shutdown.child_token();
        let ctx = Context { shutdown: cancel.clone(), ..ctx.clone() };
        let settings = settings.clone();
        let done = runtime.spawn(async move {
            // The listener joins this runtime's reactor.
            let listener = tokio::net::TcpListener::from_std(listener)?;
            serve(service, ctx, &settings, listener).await
        });
        Self { runtime: Some(runtime), cancel, done: Some(done) }
    }
}

impl Drop for Apart {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// A timestamp the service must have set (fails the test when it is absent).
pub fn at(t: &Option<prost_types::Timestamp>) -> DateTime<Utc> {
    opeka_platform::wire::from_ts(t).expect("timestamp present")
}

/// Polls `probe` every 50 ms until it gives `Some`, failing after `WAIT`.
pub async fn wait_until<T, F, Fut>(what: &str, probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    wait_within(what, WAIT, probe).await
}

/// `wait_until` with its own patience.
pub async fn wait_within<T, F, Fut>(what: &str, wait: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The error of a call that must fail with `code`.
#[track_caller]
pub fn expect_code<T: std::fmt::Debug>(r: Result<T, Status>, code: tonic::Code) -> Status {
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
pub fn expect_invalid<T: std::fmt::Debug>(r: Result<T, Status>, field: &str) -> Status {
    let s = expect_code(r, tonic::Code::InvalidArgument);
    let v = opeka_platform::error::violations(&s);
    assert!(
        v.iter().any(|v| v.field == field && !v.description.trim().is_empty()),
        "expected a violation of `{field}`, got {v:?} ({})",
        s.message()
    );
    s
}

/// A JetStream consumer delivering every `event` of `service` for tenant
/// `tenant` (the subject's tenant token: the tenant's id) from the start of
/// the stream.
pub async fn events_on(bus: &opeka_platform::bus::Bus, service: &str, tenant: &str, event: &str) -> Events {
    use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, pull};
    let stream = bus.ensure_stream(service).await.expect("stream");
    let subject = bus.subject(tenant, service, event);
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

/// Events read by `events_on`.
pub struct Events {
    pub subject: String,
    messages: async_nats::jetstream::consumer::pull::Stream,
}

impl Events {
    /// The next event on the subject (fails after `WAIT`).
    pub async fn next(&mut self) -> opeka_proto::events::Envelope {
        self.next_within(WAIT).await.unwrap_or_else(|| panic!("no event on {} within {WAIT:?}", self.subject))
    }

    /// The next event, or `None` when none comes within `wait`.
    pub async fn next_within(&mut self, wait: Duration) -> Option<opeka_proto::events::Envelope> {
        use futures::StreamExt;
        use prost::Message as _;
        let msg = tokio::time::timeout(wait, self.messages.next()).await.ok()?;
        let msg = msg.expect("consumer stream ended").expect("receive event");
        msg.ack().await.expect("ack");
        Some(opeka_proto::events::Envelope::decode(msg.payload.as_ref()).expect("event is an Envelope"))
    }
}
