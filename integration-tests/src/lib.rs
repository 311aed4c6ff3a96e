//! The end-to-end harness: every service and the gateway on the testkit
//! sandbox, with a tenant and its admin, and a NATS server a test may own.
//! `web` and `browser` drive the gateway; `attack` holds the tools of the
//! attack suite (every RPC called by itself and judged by the authorisation
//! table).
pub mod attack;
pub mod browser;
pub mod web;

use opeka_platform::testing;
use opeka_proto::identity::{CreateStaffAccountRequest, Role, identity_service_client::IdentityServiceClient};
use opeka_testkit::{Builder, Sandbox, Service};
use tonic::transport::Channel;

/// The password of the staff accounts the scenarios create.
pub const PASSWORD: &str = "Secret-123";

/// Everything started over a fresh database and bus root, with a tenant and
/// its admin; the sandbox's clients, pools and waits through `Deref`.
pub struct Suite {
    pub sandbox: Sandbox,
    pub tenant: String,
    pub tenant_id: uuid::Uuid,
    pub admin_login: String,
    pub admin_password: String,
    /// Where the files service keeps blobs (removed with the suite).
    _blobs: tempfile::TempDir,
}

impl std::ops::Deref for Suite {
    type Target = Sandbox;
    fn deref(&self) -> &Sandbox {
        &self.sandbox
    }
}

impl Suite {
    pub async fn start() -> Suite {
        Self::start_with(|builder| builder).await
    }

    /// As [`Suite::start`]; `preset` adds to the sandbox's builder first
    /// (settings, a manual clock, a service apart, replicas).
    pub async fn start_with(preset: impl FnOnce(Builder) -> Builder) -> Suite {
        let slug = format!("t-{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
        let blobs = tempfile::tempdir().expect("blob directory");
        let (store_url, default_tenant) = (format!("file://{}", blobs.path().display()), slug.clone());
        let builder = Sandbox::builder()
            .with(Service::Identity)
            .with(Service::Files)
            .with(Service::Cases)
            .with(Service::Scheduler)
            .with(Service::Notifications)
            .with(Service::Gateway)
            .tweak(move |s| {
                s.files.store_url = store_url;
                s.gateway.default_tenant = default_tenant;
                // No tenant has a bot here unless a test points this at a fake.
                s.notifications.telegram_api_url = "http://127.0.0.1:9".into();
                // Tests' SMTP sinks listen on loopback.
                s.notifications.smtp_allow_loopback = true;
            });
        // Boxed: the start-up future is large (clippy::large_futures).
        let sandbox = Box::pin(preset(builder).start()).await;
        let (tenant, admin) = sandbox.tenant(&slug).await;
        Suite {
            sandbox,
            tenant: tenant.slug,
            tenant_id: tenant.id,
            admin_login: admin.login,
            admin_password: admin.password,
            _blobs: blobs,
        }
    }

    pub fn identity(&self) -> IdentityServiceClient<Channel> {
        IdentityServiceClient::new(self.channel(Service::Identity))
    }

    /// Signs in to the suite's tenant; the access token.
    pub async fn access_token(&self, login: &str, password: &str) -> String {
        self.sign_in(&self.tenant, login, password).await.access_token
    }

    pub async fn admin_token(&self) -> String {
        self.access_token(&self.admin_login, &self.admin_password).await
    }

    /// A staff account the admin creates: `role`, in organisation `org`
    /// (empty: none), password [`PASSWORD`].
    pub async fn staff(&self, login: &str, surname: &str, role: Role, org: &str) {
        let token = self.admin_token().await;
        let account = CreateStaffAccountRequest {
            surname: surname.into(),
            name: "Тест".into(),
            login: login.into(),
            password: PASSWORD.into(),
            password_repeat: PASSWORD.into(),
            roles: vec![role as i32],
            organisation_id: org.into(),
            ..Default::default()
        };
        self.identity().create_staff_account(self.request(&token, account)).await.expect("create staff");
    }

    /// A request carrying the bearer token and the suite's tenant.
    pub fn request<T>(&self, token: &str, msg: T) -> tonic::Request<T> {
        request(token, &self.tenant, msg)
    }
}

/// A request carrying the bearer token and the tenant header (a caller that
/// changes token or tenant call by call; `Sandbox::authed` fixes both).
pub fn request<T>(token: &str, tenant: &str, msg: T) -> tonic::Request<T> {
    let mut call = tonic::Request::new(msg);
    call.metadata_mut().insert("authorization", format!("Bearer {token}").parse().expect("header"));
    call.metadata_mut().insert(opeka_platform::auth::TENANT_HEADER, tenant.parse().expect("header"));
    call
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
