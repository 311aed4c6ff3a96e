//! Test support shared by every crate's tests: a fresh database per test,
//! the test NATS server, and a unique subject root and stream prefix so tests
//! run in parallel. A missing PostgreSQL or NATS fails loudly.
use std::path::PathBuf;

use sqlx::{Connection, PgConnection};
use uuid::Uuid;

use std::collections::BTreeMap;

use crate::bus::permissions::{self, Password, ServiceBus, User};
use crate::settings::{BusSettings, NatsCredentials, PlatformSettings, Secret};

pub struct TestDb {
    pub name: String,
    /// Superuser connection that owns the schemas (runs migrations).
    pub owner_url: String,
    /// `host:port`, for the per-service URLs.
    hostpart: String,
}

impl TestDb {
    /// The URL of `service`'s own NOSUPERUSER NOBYPASSRLS role
    /// (`opeka_<service>`, created by `migrate`): each service in a test
    /// connects with its own, as in production, so a test that reaches
    /// another service's schema fails here as it would there.
    pub fn url(&self, service: &str) -> String {
        crate::settings::development_database_url(service, &format!("{}/{}", self.hostpart, self.name))
    }

    /// `OPEKA_DATABASES__<SERVICE>` and `OPEKA_MIGRATE_DATABASE_URL` for a
    /// child `opeka` process.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut vars: Vec<(String, String)> = crate::settings::SERVICES
            .iter()
            .map(|s| (format!("OPEKA_DATABASES__{}", s.to_uppercase()), self.url(s)))
            .collect();
        vars.push(("OPEKA_MIGRATE_DATABASE_URL".into(), self.owner_url.clone()));
        vars
    }
}

fn pg_base() -> String {
    std::env::var("OPEKA_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

/// Creates `opeka_t_<uuid>` (dropped by `make test` before the next run).
pub async fn create_db() -> TestDb {
    let base = pg_base();
    let name = format!("opeka_t_{}", Uuid::new_v4().simple());
    let mut admin = PgConnection::connect(&format!("{base}/postgres"))
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {base} is required for tests (OPEKA_TEST_PG): {e}"));
    crate::db::run(&mut admin, format!("create database {name}")).await.expect("create test database");
    admin.close().await.ok();
    let hostpart = base.split('@').nth(1).unwrap_or("127.0.0.1:5432").to_string();
    TestDb { owner_url: format!("{base}/{name}"), hostpart, name }
}

/// Creates a database and applies the given schemas, each with its own role.
pub async fn migrated_db(specs: &[&crate::db::SchemaSpec]) -> TestDb {
    let db = create_db().await;
    for spec in specs {
        crate::db::migrate(&db.owner_url, &db.url(spec.schema), spec).await.expect("migrate test database");
    }
    db
}

/// The JetStream server tests use (`scripts/nats.sh` starts a pinned 2.15).
pub fn nats_url() -> String {
    std::env::var("OPEKA_TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4234".into())
}

/// A subject root and stream prefix no other test shares.
pub fn unique_bus() -> BusSettings {
    let tag = Uuid::new_v4().simple().to_string()[..12].to_string();
    BusSettings {
        root: format!("t{tag}"),
        stream_prefix: format!("T{}", tag.to_uppercase()),
        relay_poll_ms: 100,
        // JetStream reserves a stream's max bytes from the server's store up
        // front: thousands of per-test streams at the production 1 GiB would
        // exhaust it. A test's events fit in a few MiB (benches raise it).
        max_bytes: 4 << 20,
        ..BusSettings::default()
    }
}

/// The NATS user test helpers connect as: every permission, because they
/// forge events and read streams as an attacker or a checker would.
pub const HARNESS: &str = "harness";

/// The processes that connect to NATS (`admin`: `opeka serve`'s readiness).
pub const BUS_USERS: [&str; 7] = ["identity", "cases", "files", "notifications", "scheduler", "admin", HARNESS];

/// A test server's password for `user` (loopback test servers only; the
/// shared one is started by `make test` with the block of
/// [`test_server_users`]).
pub fn test_password(user: &str) -> String {
    format!("opeka-test-{user}")
}

/// Credentials for every process, the harness included. A server without
/// authorization ignores them, so tests run against either kind.
pub fn test_credentials() -> BTreeMap<String, NatsCredentials> {
    BUS_USERS
        .iter()
        .map(|u| (u.to_string(), NatsCredentials { user: u.to_string(), password: Secret::new(test_password(u)) }))
        .collect()
}

/// The users of a test server: each service with its declared grants, the
/// harness with every permission.
pub fn test_server_users(services: &[ServiceBus]) -> Vec<User> {
    let mut users: Vec<User> = services
        .iter()
        .map(|s| User {
            name: s.service.clone(),
            password: Password::Plain(test_password(&s.service)),
            grants: Some(s.clone()),
        })
        .collect();
    users.push(User { name: HARNESS.into(), password: Password::Plain(test_password(HARNESS)), grants: None });
    users
}

/// Renders a test server's authorization block (see [`permissions::render`]).
pub fn test_server_config(scope: permissions::Scope<'_>, services: &[ServiceBus]) -> String {
    permissions::render(scope, &test_server_users(services))
}

/// The subject token of tenant `slug` (its id, from identity's table; the
/// pool must see every tenant, e.g. the owner's).
pub async fn tenant_token(pool: &sqlx::PgPool, slug: &str) -> String {
    let id: Uuid = sqlx::query_scalar("select id from identity.tenants where slug = $1")
        .bind(slug)
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("tenant {slug}: {e}"));
    id.to_string()
}

/// The harness's bus on the test broker.
pub async fn harness_bus(settings: &PlatformSettings) -> crate::bus::Bus {
    crate::bus::Bus::connect(settings, HARNESS).await.expect("connect NATS as the test harness")
}

/// Process settings pointing at `db`, the test broker and a unique bus root.
pub fn settings(db: &TestDb) -> PlatformSettings {
    PlatformSettings {
        databases: crate::settings::ServiceDatabases {
            identity: Secret::new(db.url("identity")),
            cases: Secret::new(db.url("cases")),
            files: Secret::new(db.url("files")),
            notifications: Secret::new(db.url("notifications")),
            scheduler: Secret::new(db.url("scheduler")),
            gateway: Secret::new(db.url("gateway")),
        },
        migrate_database_url: Secret::new(db.owner_url.clone()),
        nats_url: nats_url(),
        nats: test_credentials(),
        bus: unique_bus(),
        admin_addr: "127.0.0.1:0".into(),
        // Tests log in far more often than a person; a test about a
        // throttle sets its own limits.
        throttle: crate::throttle::ThrottleSettings::relaxed(),
        ..PlatformSettings::default()
    }
}

/// Fails now, with a clear message, when the test broker is not running.
pub async fn require_nats() {
    let url = nats_url();
    let options = async_nats::ConnectOptions::with_user_and_password(HARNESS.into(), test_password(HARNESS));
    let ok = tokio::time::timeout(std::time::Duration::from_secs(3), options.connect(&url)).await;
    match ok {
        Ok(Ok(_)) => {}
        _ => panic!(
            "NATS JetStream at {url} is required for tests: run `make test` (it starts one) or set OPEKA_TEST_NATS_URL"
        ),
    }
}

/// The nats-server binary for tests that run their own broker process.
pub fn nats_server_bin() -> PathBuf {
    if let Ok(p) = std::env::var("OPEKA_NATS_SERVER_BIN") {
        return p.into();
    }
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    let cached = PathBuf::from(home).join(".cache/opeka-tools/venv/bin/nats-server");
    if cached.exists() { cached } else { "nats-server".into() }
}

/// A free TCP port on loopback.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// Publishes `body` as an event of `service` for tenant `(id, slug)` on the
/// test bus of `settings`, as that service's relay would (tests of a
/// consumer whose producer is not running).
pub async fn publish_event(
    settings: &PlatformSettings,
    (tenant_id, slug): (Uuid, &str),
    service: &str,
    event: &str,
    body: opeka_proto::events::envelope::Body,
) {
    use prost::Message as _;
    let bus = crate::bus::Bus::connect(settings, service).await.expect("connect NATS");
    bus.ensure_stream(service).await.expect("stream");
    let mut env = crate::bus::envelope(tenant_id, "test", chrono::Utc::now(), body);
    env.tenant_slug = slug.to_string();
    let subject = bus.subject(&tenant_id.to_string(), service, event);
    let ack = bus.js.publish(subject, env.encode_to_vec().into()).await.expect("publish");
    ack.await.expect("publish acknowledged");
}

/// Makes `curator` the curator of citizen account `account` as cases'
/// `citizen_created` does, and waits (up to 10 s) until the consuming
/// service's `citizen_curators` projection has it (read through
/// `owner_pool`, whose search path is that service's schema). Returns the
/// card id the event named.
pub async fn curate(
    settings: &PlatformSettings,
    owner_pool: &sqlx::PgPool,
    tenant: (Uuid, &str),
    account: Uuid,
    curator: Uuid,
) -> Uuid {
    use opeka_proto::events as ev;
    let card = Uuid::now_v7();
    let body = ev::envelope::Body::CitizenCreated(ev::CitizenCreated {
        citizen_id: card.to_string(),
        account_id: account.to_string(),
        curator_id: curator.to_string(),
        district_id: String::new(),
        full_name: String::new(),
    });
    publish_event(settings, tenant, "cases", "citizen_created", body).await;
    wait_curator(owner_pool, account, Some(curator)).await;
    card
}

/// Waits (up to 10 s) until the projection names `curator` for `account`.
pub async fn wait_curator(owner_pool: &sqlx::PgPool, account: Uuid, curator: Option<Uuid>) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let row: Option<Option<Uuid>> = sqlx::query_scalar(
            "select curator_id from citizen_curators where account_id = $1 and citizen_id is not null",
        )
        .bind(account)
        .fetch_optional(owner_pool)
        .await
        .expect("read citizen_curators");
        if row == Some(curator) {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "the curator projection did not catch up within 10 s");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
