//! The identity sandbox: a fresh migrated database, identity served on port 0
//! with a unique bus root, a settable clock, typed clients and raw pools.
use std::collections::BTreeMap;
use std::time::Duration;

use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, pull};
use chrono::{DateTime, SubsecRound, Utc};
use futures::StreamExt;
use opeka_platform::ManualClock;
use opeka_platform::testing;
use opeka_proto::events::Envelope;
use opeka_proto::identity::{self as pb, identity_service_client::IdentityServiceClient};
use opeka_testkit::{Authed, Sandbox, Service};
use prost::Message as _;
use sqlx::PgPool;
use tonic::Status;
use tonic::transport::Channel;
use uuid::Uuid;

pub use opeka_testkit::{PASSWORD, expect_code, expect_invalid};
/// How long a test waits for an event before failing.
const EVENT_WAIT: Duration = Duration::from_secs(10);

/// Identity's tables (plus its outbox), for snapshots and counts.
pub const TABLES: &[&str] = &[
    "tenants",
    "organisations",
    "districts",
    "accounts",
    "sessions",
    "refresh_tokens",
    "one_time_codes",
    "bot_link_codes",
    "audit_log",
    "outbox",
];

pub type Client = IdentityServiceClient<Authed>;

/// A tenant made by `opeka tenant create`, with its first admin.
#[derive(Debug, Clone)]
pub struct TestTenant {
    pub id: Uuid,
    pub slug: String,
    pub admin_id: Uuid,
    pub admin_login: String,
    pub admin_password: String,
}

/// A signed-in account: its tokens and a client that presents them.
#[derive(Clone)]
pub struct Session {
    pub tokens: pb::TokenPair,
    pub client: Client,
    pub account: pb::Account,
}

impl Session {
    pub fn account_id(&self) -> &str {
        &self.account.id
    }
}

pub struct TestApp {
    pub sandbox: Sandbox,
    pub clock: ManualClock,
    pub settings: opeka_identity::Settings,
    pub platform: opeka_platform::settings::PlatformSettings,
    pub channel: Channel,
    /// `http://127.0.0.1:<port>` of the served identity.
    pub url: String,
    /// The service role (NOSUPERUSER NOBYPASSRLS): RLS applies.
    pub app_pool: PgPool,
    /// The owner (superuser): sees every row; for snapshots and set-up only.
    pub owner_pool: PgPool,
}

impl TestApp {
    /// Identity with cheap argon2 and `lockout_threshold: 3`.
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(tweak: impl FnOnce(&mut opeka_identity::Settings) + Send + 'static) -> Self {
        Self::start_full(|_| {}, tweak).await
    }

    /// Like `start_with`, with the process settings (throttles, trusted
    /// forwarders) tweaked too.
    pub async fn start_full(
        tweak_platform: impl FnOnce(&mut opeka_platform::settings::PlatformSettings) + Send + 'static,
        tweak: impl FnOnce(&mut opeka_identity::Settings) + Send + 'static,
    ) -> Self {
        let sandbox = Sandbox::builder()
            .with(Service::Identity)
            .manual_clock(Utc::now().trunc_subsecs(0), &[Service::Identity])
            .tweak(move |s| {
                s.identity.lockout_threshold = 3;
                tweak_platform(&mut s.platform);
                tweak(&mut s.identity);
                s.identity.validate().expect("test identity settings are valid");
            })
            .start()
            .await;
        let app_pool = sandbox.service_pool(Service::Identity).await;
        let owner_pool = sandbox.owner_pool_in("identity").await;
        Self {
            clock: sandbox.clock.clone(),
            settings: sandbox.settings.identity.clone(),
            platform: sandbox.settings.platform.clone(),
            channel: sandbox.channel(Service::Identity),
            url: sandbox.url(Service::Identity),
            app_pool,
            owner_pool,
            sandbox,
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        opeka_platform::Clock::now(&self.clock)
    }

    /// A client without a token (public RPCs).
    pub fn public(&self) -> Client {
        IdentityServiceClient::new(self.sandbox.anonymous(Service::Identity))
    }

    /// A client presenting `token` for tenant `tenant` (slug or id).
    pub fn client(&self, token: &str, tenant: &str) -> Client {
        IdentityServiceClient::new(self.sandbox.authed(Service::Identity, token, tenant))
    }

    /// Creates a tenant with its admin, as `opeka tenant create` does.
    pub async fn tenant(&self, slug: &str) -> TestTenant {
        let (t, admin) = opeka_identity::bootstrap::create_tenant(
            &self.app_pool,
            &self.settings,
            slug,
            &format!("Агентство {slug}"),
            "admin",
        )
        .await
        .expect("create tenant");
        TestTenant {
            id: t.id,
            slug: t.slug,
            admin_id: admin.id,
            admin_login: admin.login,
            admin_password: admin.password,
        }
    }

    pub async fn login(&self, tenant: &str, login: &str, password: &str) -> Result<pb::TokenPair, Status> {
        let req = pb::LoginRequest { tenant: tenant.into(), login: login.into(), password: password.into() };
        self.public().login(req).await.map(|r| r.into_inner())
    }

    /// Signs in (panics on failure) and returns a client holding the token.
    pub async fn sign_in(&self, tenant: &TestTenant, login: &str, password: &str) -> Session {
        let tokens = self
            .login(&tenant.slug, login, password)
            .await
            .unwrap_or_else(|e| panic!("login {login} in {}: {e:?}", tenant.slug));
        let client = self.client(&tokens.access_token, &tenant.slug);
        let account = tokens.account.clone().expect("token pair carries the account");
        Session { tokens, client, account }
    }

    pub async fn admin(&self, tenant: &TestTenant) -> Session {
        self.sign_in(tenant, &tenant.admin_login, &tenant.admin_password).await
    }

    /// Creates an active staff account with `PASSWORD` and signs it in.
    pub async fn staff_session(&self, tenant: &TestTenant, admin: &Session, login: &str, role: pb::Role) -> Session {
        let mut c = admin.client.clone();
        c.create_staff_account(staff_request(login, "Сотрудникова", &[role])).await.expect("create staff");
        self.sign_in(tenant, login, PASSWORD).await
    }

    /// A service account (client credentials) with a token.
    pub async fn service_session(&self, tenant: &TestTenant, admin: &Session, name: &str, role: pb::Role) -> Session {
        let mut c = admin.client.clone();
        let created = c
            .create_service_account(pb::CreateServiceAccountRequest { name: name.into(), roles: vec![role as i32] })
            .await
            .expect("create service account")
            .into_inner();
        let tokens = self
            .public()
            .issue_service_token(pb::IssueServiceTokenRequest {
                tenant: tenant.slug.clone(),
                client_id: created.client_id,
                client_secret: created.client_secret,
            })
            .await
            .expect("service token")
            .into_inner();
        let client = self.client(&tokens.access_token, &tenant.slug);
        let account = tokens.account.clone().expect("account");
        Session { tokens, client, account }
    }

    /// A JetStream consumer on identity's stream, delivering every event
    /// named `event` of tenant `slug` from the start of the stream.
    pub async fn events(&self, slug: &str, event: &str) -> Events {
        let bus = testing::harness_bus(&self.platform).await;
        let stream = bus.ensure_stream(opeka_identity::SERVICE).await.expect("identity stream");
        assert_eq!(stream.cached_info().config.name, format!("{}_IDENTITY", self.platform.bus.stream_prefix));
        let tenant = testing::tenant_token(&self.owner_pool, slug).await;
        let subject = format!("{}.{tenant}.identity.{event}", self.platform.bus.root);
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
        let messages = consumer.messages().await.expect("consumer messages");
        Events { subject, messages }
    }

    /// Row count and content digest of every identity table, seen by the
    /// owner (all tenants): equal snapshots mean nothing was written.
    pub async fn snapshot(&self) -> BTreeMap<&'static str, (i64, String)> {
        let mut out = BTreeMap::new();
        for t in TABLES {
            // The relay stamps `published_at` in the background: not a write of ours.
            let row = if *t == "outbox" { "(x.id, x.subject, x.payload)::text" } else { "x::text" };
            let sql = format!(
                "select count(*), coalesce(md5(string_agg({row}, '|' order by {row})), '') from identity.{t} x"
            );
            let row: (i64, String) =
                sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_one(&self.owner_pool).await.expect("snapshot");
            out.insert(*t, row);
        }
        out
    }

    pub async fn count(&self, sql: &str, id: Uuid) -> i64 {
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
            .bind(id)
            .fetch_one(&self.owner_pool)
            .await
            .expect("count")
    }
}

pub struct Events {
    pub subject: String,
    messages: pull::Stream,
}

impl Events {
    /// The next event on the subject (fails after 10 s).
    pub async fn next(&mut self) -> (String, Envelope) {
        let msg = tokio::time::timeout(EVENT_WAIT, self.messages.next())
            .await
            .unwrap_or_else(|_| panic!("no event on {} within {EVENT_WAIT:?}", self.subject))
            .expect("consumer stream ended")
            .expect("receive event");
        msg.ack().await.expect("ack");
        let subject = msg.subject.to_string();
        (subject, Envelope::decode(msg.payload.as_ref()).expect("event is an Envelope"))
    }
}

/// A valid staff request with `PASSWORD`; tests change one field at a time.
pub fn staff_request(login: &str, surname: &str, roles: &[pb::Role]) -> pb::CreateStaffAccountRequest {
    pb::CreateStaffAccountRequest {
        surname: surname.into(),
        name: "Анна".into(),
        login: login.into(),
        password: PASSWORD.into(),
        password_repeat: PASSWORD.into(),
        roles: roles.iter().map(|r| *r as i32).collect(),
        ..Default::default()
    }
}

/// The update that keeps `a` as it is (UpdateStaffAccount replaces every field).
pub fn update_from(a: &pb::Account) -> pb::UpdateStaffAccountRequest {
    pb::UpdateStaffAccountRequest {
        id: a.id.clone(),
        surname: a.surname.clone(),
        name: a.name.clone(),
        patronymic: a.patronymic.clone(),
        email: a.email.clone(),
        phone: a.phone.clone(),
        telegram_username: a.telegram_username.clone(),
        district_id: a.district_id.clone(),
        organisation_id: a.organisation_id.clone(),
        login: a.login.clone(),
        roles: a.roles.clone(),
    }
}

pub use opeka_testkit::at as ts;

/// The claims of an access token, without verifying it.
pub fn claims(token: &str) -> serde_json::Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).expect("base64url claims");
    serde_json::from_slice(&bytes).expect("JSON claims")
}
