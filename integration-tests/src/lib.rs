//! The end-to-end harness: a fresh database, identity, cases, files,
//! notifications, scheduler and the gateway started in-process on port 0 with a unique
//! NATS root, and a tenant with an admin. `attack` holds the tools of the attack suite (every RPC
//! called by itself and judged by the authorisation table).
pub mod attack;
pub mod browser;
pub mod web;

use std::net::SocketAddr;
use std::sync::Arc;

use opeka_platform::{Context, testing};
use opeka_proto::identity::{LoginRequest, identity_service_client::IdentityServiceClient};
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

pub struct Suite {
    pub db: testing::TestDb,
    pub ctx: Context,
    pub identity_addr: SocketAddr,
    pub identity_url: String,
    pub gateway_url: String,
    pub tenant: String,
    pub tenant_id: uuid::Uuid,
    pub admin_login: String,
    pub admin_password: String,
    pub identity_settings: opeka_identity::Settings,
    pub cases_url: String,
    pub files_url: String,
    pub notifications_url: String,
    pub scheduler_url: String,
    /// Replicas started with `Options::extra_schedulers`.
    pub extra_scheduler_urls: Vec<String>,
    /// Where the files service keeps blobs (removed with the suite).
    pub files_dir: std::path::PathBuf,
    /// Notifications' settings (to start it again apart).
    pub notifications_settings: opeka_notifications::Settings,
    /// Notifications in its own runtime (`Options::notifications_apart`).
    apart: std::sync::Mutex<Option<Apart>>,
    shutdown: CancellationToken,
}

/// A service running in a runtime of its own, so a test can stop it as
/// SIGTERM does (its token) or kill it as SIGKILL does (the runtime dropped
/// with no cleanup: no release, no last records).
pub struct Apart {
    runtime: tokio::runtime::Runtime,
    cancel: CancellationToken,
    done: tokio::task::JoinHandle<anyhow::Result<()>>,
}

/// Cheap hashing for tests; production defaults are in `Settings::default`.
pub fn test_identity_settings() -> opeka_identity::Settings {
    opeka_identity::Settings {
        argon2_memory_kib: 1024,
        argon2_iterations: 1,
        db_max_connections: 5,
        ..Default::default()
    }
}

/// What a test may change before the suite starts.
pub struct Options {
    pub platform: Box<dyn FnOnce(&mut opeka_platform::settings::PlatformSettings) + Send>,
    pub identity: opeka_identity::Settings,
    pub notifications: Box<dyn FnOnce(&mut opeka_notifications::Settings) + Send>,
    pub scheduler: Box<dyn FnOnce(&mut opeka_scheduler::Settings) + Send>,
    /// The scheduler's clock (the other services keep the system clock, so
    /// tokens stay valid while a test moves the scheduler's time).
    pub scheduler_clock: Option<opeka_platform::clock::SharedClock>,
    /// Extra scheduler instances against the same database (replicas).
    pub extra_schedulers: usize,
    /// Runs notifications in a runtime of its own, so the test can stop or
    /// kill it and start it again (`Suite::stop_notifications` …).
    pub notifications_apart: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            platform: Box::new(|_| {}),
            identity: test_identity_settings(),
            notifications: Box::new(|_| {}),
            scheduler: Box::new(|_| {}),
            scheduler_clock: None,
            extra_schedulers: 0,
            notifications_apart: false,
        }
    }
}

impl Suite {
    pub async fn start() -> Suite {
        Self::start_opts(Options::default()).await
    }

    /// Starts everything; `tweak` may change the process settings first
    /// (e.g. point NATS at a broker the test controls).
    pub async fn start_with(
        tweak: impl FnOnce(&mut opeka_platform::settings::PlatformSettings) + Send + 'static,
    ) -> Suite {
        Self::start_opts(Options { platform: Box::new(tweak), ..Default::default() }).await
    }

    pub async fn start_full(
        tweak: impl FnOnce(&mut opeka_platform::settings::PlatformSettings) + Send + 'static,
        identity_settings: opeka_identity::Settings,
    ) -> Suite {
        Self::start_opts(Options { platform: Box::new(tweak), identity: identity_settings, ..Default::default() }).await
    }

    /// Like [`Suite::start`], but `tweak` may change the notifications
    /// settings first (e.g. point `telegram_api_url` at a `FakeTelegram`).
    pub async fn start_with_notifications(
        tweak: impl FnOnce(&mut opeka_notifications::Settings) + Send + 'static,
    ) -> Suite {
        Self::start_opts(Options { notifications: Box::new(tweak), ..Default::default() }).await
    }

    pub async fn start_opts(opts: Options) -> Suite {
        let Options {
            platform: tweak,
            identity: identity_settings,
            notifications: notifications_tweak,
            scheduler: scheduler_tweak,
            scheduler_clock,
            extra_schedulers,
            notifications_apart,
        } = opts;
        opeka_platform::install_crypto_provider();
        opeka_platform::telemetry::init_for_tests();
        let db = testing::migrated_db(&[
            &opeka_identity::SCHEMA,
            &opeka_cases::SCHEMA,
            &opeka_files::SCHEMA,
            &opeka_notifications::SCHEMA,
            &opeka_scheduler::SCHEMA,
            &opeka_gateway::SCHEMA,
        ])
        .await;
        let mut settings = testing::settings(&db);
        tweak(&mut settings);
        let identity_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind identity");
        let gateway_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind gateway");
        let cases_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind cases");
        let files_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind files");
        let notifications_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind notifications");
        let scheduler_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind scheduler");
        let scheduler_url = format!("http://{}", scheduler_listener.local_addr().expect("addr"));
        let identity_addr = identity_listener.local_addr().expect("addr");
        let gateway_addr = gateway_listener.local_addr().expect("addr");
        let cases_url = format!("http://{}", cases_listener.local_addr().expect("addr"));
        let files_url = format!("http://{}", files_listener.local_addr().expect("addr"));
        let notifications_url = format!("http://{}", notifications_listener.local_addr().expect("addr"));
        let files_dir = std::env::temp_dir().join(format!("opeka-files-{}", uuid::Uuid::new_v4().simple()));
        settings.identity_url = format!("http://{identity_addr}");
        let ctx = Context::new(settings);
        let shutdown = ctx.shutdown.clone();

        let pool = opeka_platform::db::connect(&db.url(opeka_identity::SERVICE), opeka_identity::SERVICE, 2)
            .await
            .expect("pool");
        let slug = format!("t-{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
        let (tenant, admin) =
            opeka_identity::bootstrap::create_tenant(&pool, &identity_settings, &slug, "Тестовое агентство", "admin")
                .await
                .expect("create tenant");
        pool.close().await;

        {
            let (ctx, s) = (ctx.clone(), identity_settings.clone());
            tokio::spawn(async move {
                if let Err(e) = opeka_identity::run(ctx, s, identity_listener).await {
                    eprintln!("identity stopped: {e:#}");
                }
            });
        }
        {
            let ctx = ctx.clone();
            let s = opeka_cases::Settings { db_max_connections: 5, files_url: files_url.clone(), ..Default::default() };
            tokio::spawn(async move {
                if let Err(e) = opeka_cases::run(ctx, s, cases_listener).await {
                    eprintln!("cases stopped: {e:#}");
                }
            });
        }
        {
            let ctx = ctx.clone();
            let s = opeka_files::Settings {
                store_url: format!("file://{}", files_dir.display()),
                cases_url: cases_url.clone(),
                db_max_connections: 5,
                ..Default::default()
            };
            tokio::spawn(async move {
                if let Err(e) = opeka_files::run(ctx, s, files_listener).await {
                    eprintln!("files stopped: {e:#}");
                }
            });
        }
        let notifications_settings = {
            let mut s = opeka_notifications::Settings {
                files_url: files_url.clone(),
                cases_url: cases_url.clone(),
                scheduler_url: scheduler_url.clone(),
                db_max_connections: 5,
                // No tenant has a bot here unless a test points this at a fake.
                telegram_api_url: "http://127.0.0.1:9".into(),
                // Tests' SMTP sinks listen on loopback.
                smtp_allow_loopback: true,
                ..Default::default()
            };
            notifications_tweak(&mut s);
            s
        };
        let mut apart = None;
        if notifications_apart {
            let listener = notifications_listener.into_std().expect("std listener");
            apart = Some(Apart::start(&ctx, &notifications_settings, listener));
        } else {
            let (ctx, s) = (ctx.clone(), notifications_settings.clone());
            tokio::spawn(async move {
                if let Err(e) = opeka_notifications::run(ctx, s, notifications_listener).await {
                    eprintln!("notifications stopped: {e:#}");
                }
            });
        }
        let scheduler_settings = {
            let mut s =
                opeka_scheduler::Settings { cases_url: cases_url.clone(), db_max_connections: 5, ..Default::default() };
            scheduler_tweak(&mut s);
            s
        };
        let scheduler_ctx =
            Context { clock: scheduler_clock.clone().unwrap_or_else(|| ctx.clock.clone()), ..ctx.clone() };
        {
            let (ctx, s) = (scheduler_ctx.clone(), scheduler_settings.clone());
            tokio::spawn(async move {
                if let Err(e) = opeka_scheduler::run(ctx, s, scheduler_listener).await {
                    eprintln!("scheduler stopped: {e:#}");
                }
            });
        }
        let mut extra_scheduler_urls = Vec::new();
        for _ in 0..extra_schedulers {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind scheduler");
            extra_scheduler_urls.push(format!("http://{}", listener.local_addr().expect("addr")));
            let (ctx, s) = (scheduler_ctx.clone(), scheduler_settings.clone());
            tokio::spawn(async move {
                if let Err(e) = opeka_scheduler::run(ctx, s, listener).await {
                    eprintln!("scheduler replica stopped: {e:#}");
                }
            });
        }
        let gateway_url = format!("http://{gateway_addr}");
        {
            let web = concat!(env!("CARGO_MANIFEST_DIR"), "/../services/gateway/web/node_modules");
            let s = opeka_gateway::Settings {
                public_url: gateway_url.clone(),
                default_tenant: tenant.slug.clone(),
                assets_dir: web.into(),
                cases_url: cases_url.clone(),
                files_url: files_url.clone(),
                notifications_url: notifications_url.clone(),
                scheduler_url: scheduler_url.clone(),
                ..Default::default()
            };
            let ctx = ctx.clone();
            tokio::spawn(async move {
                if let Err(e) = opeka_gateway::run(ctx, s, gateway_listener).await {
                    eprintln!("gateway stopped: {e:#}");
                }
            });
        }
        let suite = Suite {
            identity_url: format!("http://{identity_addr}"),
            identity_addr,
            gateway_url,
            tenant: tenant.slug,
            tenant_id: tenant.id,
            admin_login: admin.login,
            admin_password: admin.password,
            identity_settings,
            cases_url,
            files_url,
            notifications_url,
            scheduler_url,
            extra_scheduler_urls,
            files_dir,
            db,
            ctx,
            notifications_settings,
            apart: std::sync::Mutex::new(apart),
            shutdown,
        };
        suite.wait_ready().await;
        suite
    }

    async fn wait_ready(&self) {
        for _ in 0..100 {
            if let Ok(mut c) = IdentityServiceClient::connect(self.identity_url.clone()).await
                && c.get_jwks(opeka_proto::identity::GetJwksRequest {}).await.is_ok()
                && reqwest_like_ok(&self.gateway_url).await
                && reqwest_like_ok(&self.cases_url).await
                && reqwest_like_ok(&self.files_url).await
                && reqwest_like_ok(&self.notifications_url).await
                && reqwest_like_ok(&self.scheduler_url).await
            {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("services did not become ready");
    }

    pub async fn identity(&self) -> IdentityServiceClient<Channel> {
        IdentityServiceClient::connect(self.identity_url.clone()).await.expect("identity client")
    }

    /// Signs in and returns the access token.
    pub async fn login(&self, login: &str, password: &str) -> String {
        self.identity()
            .await
            .login(LoginRequest { tenant: self.tenant.clone(), login: login.into(), password: password.into() })
            .await
            .expect("login")
            .into_inner()
            .access_token
    }

    pub async fn admin_token(&self) -> String {
        self.login(&self.admin_login, &self.admin_password).await
    }

    /// A request carrying the bearer token and the tenant header.
    pub fn authed<T>(&self, token: &str, msg: T) -> tonic::Request<T> {
        let mut r = tonic::Request::new(msg);
        r.metadata_mut().insert("authorization", format!("Bearer {token}").parse().expect("header"));
        r.metadata_mut().insert("x-opeka-tenant", self.tenant.parse().expect("header"));
        r
    }

    pub fn stop(&self) {
        self.shutdown.cancel();
    }

    /// Stops notifications as SIGTERM does (its token cancelled; `run`
    /// returns after its tasks let go) and waits for it.
    pub async fn stop_notifications(&self) {
        let apart = self.apart.lock().expect("apart lock").take().expect("notifications run apart");
        apart.cancel.cancel();
        let stopped = tokio::time::timeout(std::time::Duration::from_secs(30), apart.done).await;
        stopped.expect("notifications stops within 30 s").expect("join").expect("clean stop");
        apart.runtime.shutdown_background();
    }

    /// Kills notifications as SIGKILL does: its runtime is dropped at once,
    /// nothing it holds is released or recorded.
    pub fn kill_notifications(&self) {
        let apart = self.apart.lock().expect("apart lock").take().expect("notifications run apart");
        apart.runtime.shutdown_background();
    }

    /// Starts notifications again (apart) on a new port over the same data.
    pub fn start_notifications(&self) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind notifications");
        listener.set_nonblocking(true).expect("nonblocking");
        let apart = Apart::start(&self.ctx, &self.notifications_settings, listener);
        *self.apart.lock().expect("apart lock") = Some(apart);
    }
}

impl Apart {
    fn start(ctx: &Context, settings: &opeka_notifications::Settings, listener: std::net::TcpListener) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("notifications runtime");
        let cancel = ctx.shutdown.child_token();
        let ctx = Context { shutdown: cancel.clone(), ..ctx.clone() };
        let settings = settings.clone();
        let done = runtime.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener)?;
            opeka_notifications::run(ctx, settings, listener).await
        });
        Self { runtime, cancel, done }
    }
}

impl Drop for Suite {
    fn drop(&mut self) {
        self.shutdown.cancel();
        if let Some(apart) = self.apart.lock().ok().and_then(|mut a| a.take()) {
            apart.runtime.shutdown_background();
        }
        let _ = std::fs::remove_dir_all(&self.files_dir);
    }
}

/// Is something answering HTTP on `url`? (plain TCP connect is enough here)
async fn reqwest_like_ok(url: &str) -> bool {
    let addr = url.trim_start_matches("http://").to_string();
    tokio::net::TcpStream::connect(addr).await.is_ok()
}

/// A nats-server process the test owns (started, stopped, restarted).
pub struct OwnNats {
    pub port: u16,
    pub dir: std::path::PathBuf,
    /// The server's authorization block (`None`: anonymous clients welcome).
    config: Option<std::path::PathBuf>,
    child: Option<std::process::Child>,
}

impl OwnNats {
    pub fn start() -> Self {
        Self::start_with(None)
    }

    /// A server that refuses anonymous clients: `authorization` is a block
    /// rendered by `opeka_platform::bus::permissions`.
    pub fn start_with_authorization(authorization: &str) -> Self {
        Self::start_with(Some(authorization))
    }

    fn start_with(authorization: Option<&str>) -> Self {
        let port = testing::free_port();
        let dir = std::env::temp_dir().join(format!("opeka-nats-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("nats dir");
        let config = authorization.map(|a| {
            let path = dir.join("auth.conf");
            std::fs::write(&path, a).expect("write the authorization block");
            path
        });
        let mut n = OwnNats { port, dir, config, child: None };
        n.restart();
        n
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    pub fn restart(&mut self) {
        let bin = testing::nats_server_bin();
        let mut command = std::process::Command::new(&bin);
        if let Some(config) = &self.config {
            command.arg("-c").arg(config);
        }
        let child = command
            .args(["-a", "127.0.0.1", "-p", &self.port.to_string(), "-js", "-sd"])
            .arg(&self.dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {} (run scripts/nats.sh): {e}", bin.display()));
        self.child = Some(child);
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("nats-server did not start on port {}", self.port);
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for OwnNats {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub type Shared<T> = Arc<T>;
