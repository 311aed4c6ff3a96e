//! The notifications sandbox: a fresh database with identity's, files',
//! cases' and notifications' schemas, the four services on port 0 with a
//! unique bus root and one settable clock, a fake scheduler (the bot's two
//! calls), a fake Telegram Bot API and an SMTP sink.
use std::time::Duration;

use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, pull};
use chrono::{SubsecRound, Utc};
use futures::StreamExt;
use opeka_notifications::testing::{FakeTelegram, SmtpSink};

use crate::fake_scheduler::FakeScheduler;
use opeka_platform::testing::{self, TestDb};
use opeka_platform::{Context, ManualClock};
use opeka_proto::cases::cases_service_client::CasesServiceClient;
use opeka_proto::events::Envelope;
use opeka_proto::files::files_service_client::FilesServiceClient;
use opeka_proto::identity::{self as ipb, identity_service_client::IdentityServiceClient};
use opeka_proto::notifications::{self as pb, notifications_service_client::NotificationsServiceClient};
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

pub const PASSWORD: &str = "Пароль-надёжный-1";
pub const SMTP_PASSWORD: &str = "пароль-для-внешних-приложений";

/// Notifications' tables, for isolation checks.
pub const TENANT_TABLES: &[&str] =
    &["channel_settings", "chat_links", "bot_uploads", "citizen_curators", "deliveries", "telegram_queue"];

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

pub type Identity = IdentityServiceClient<InterceptedService<Channel, Meta>>;
pub type Notifications = NotificationsServiceClient<InterceptedService<Channel, Meta>>;
pub type Files = FilesServiceClient<InterceptedService<Channel, Meta>>;
pub type Cases = CasesServiceClient<InterceptedService<Channel, Meta>>;

fn meta(token: &str, tenant: &str) -> Meta {
    Meta {
        bearer: Some(MetadataValue::try_from(format!("Bearer {token}")).expect("ascii token")),
        tenant: Some(MetadataValue::try_from(tenant).expect("ascii tenant")),
    }
}

fn endpoint(addr: std::net::SocketAddr) -> Channel {
    tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .expect("endpoint")
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(30))
        .connect_lazy()
}

/// A tenant with its admin signed in.
#[derive(Clone)]
pub struct Tenant {
    pub id: Uuid,
    pub slug: String,
    pub admin_token: String,
}

/// A signed-in staff member.
#[derive(Clone)]
pub struct Staff {
    pub id: String,
    pub token: String,
    pub email: String,
}

pub struct TestApp {
    _db: TestDb,
    pub clock: ManualClock,
    pub platform: opeka_platform::settings::PlatformSettings,
    pub settings: opeka_notifications::Settings,
    pub identity_settings: opeka_identity::Settings,
    pub telegram: FakeTelegram,
    pub smtp: SmtpSink,
    pub scheduler: FakeScheduler,
    identity_channel: Channel,
    files_channel: Channel,
    cases_channel: Channel,
    channel: Channel,
    /// `http://<notifications address>`.
    pub url: String,
    /// The service role (NOSUPERUSER NOBYPASSRLS): RLS applies.
    pub app_pool: PgPool,
    /// The owner (superuser): sees every row; for checks only.
    pub owner_pool: PgPool,
    /// The service role in identity's schema (tenant bootstrap).
    identity_pool: PgPool,
    shutdown: CancellationToken,
    /// Notifications alone stops with this one (a child of `shutdown`).
    notifications_shutdown: CancellationToken,
    server: Option<JoinHandle<anyhow::Result<()>>>,
    _store_dir: tempfile::TempDir,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl TestApp {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(tweak: impl FnOnce(&mut opeka_notifications::Settings)) -> Self {
        Self::start_full(|_| {}, tweak).await
    }

    /// Like `start_with`, with the process settings (throttles) tweaked too.
    pub async fn start_full(
        tweak_platform: impl FnOnce(&mut opeka_platform::settings::PlatformSettings),
        tweak: impl FnOnce(&mut opeka_notifications::Settings),
    ) -> Self {
        opeka_platform::install_crypto_provider();
        opeka_platform::telemetry::init_for_tests();
        testing::require_nats().await;
        let db = testing::migrated_db(&[
            &opeka_identity::SCHEMA,
            &opeka_files::SCHEMA,
            &opeka_cases::SCHEMA,
            &opeka_notifications::SCHEMA,
        ])
        .await;
        let clock = ManualClock::new(Utc::now().trunc_subsecs(0));
        let mut platform = testing::settings(&db);
        tweak_platform(&mut platform);
        let telegram = FakeTelegram::start().await;
        let smtp = SmtpSink::start().await;

        let bind = || async { tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind") };
        let (identity_l, files_l, cases_l, notifications_l) = (bind().await, bind().await, bind().await, bind().await);
        let scheduler_l = bind().await;
        let scheduler_url = format!("http://{}", scheduler_l.local_addr().expect("scheduler address"));
        let identity_addr = identity_l.local_addr().expect("identity address");
        let files_addr = files_l.local_addr().expect("files address");
        let cases_addr = cases_l.local_addr().expect("cases address");
        let addr = notifications_l.local_addr().expect("notifications address");
        platform.identity_url = format!("http://{identity_addr}");

        let identity_settings = opeka_identity::Settings {
            argon2_memory_kib: 1024,
            argon2_iterations: 1,
            db_max_connections: 5,
            ..Default::default()
        };
        let store_dir = tempfile::tempdir().expect("blob directory");
        let files_settings = opeka_files::Settings {
            store_url: format!("file://{}", store_dir.path().display()),
            db_max_connections: 5,
            ..Default::default()
        };
        let mut settings = opeka_notifications::Settings {
            telegram_api_url: telegram.url.clone(),
            files_url: format!("http://{files_addr}"),
            cases_url: format!("http://{cases_addr}"),
            scheduler_url,
            public_url: "http://opeka.test".into(),
            poll_timeout_secs: 2,
            smtp_timeout_secs: 3,
            smtp_allow_loopback: true,
            db_max_connections: 8,
            ..Default::default()
        };
        tweak(&mut settings);
        settings.validate().expect("test notifications settings are valid");

        let shutdown = CancellationToken::new();
        let ctx = Context {
            settings: platform.clone(),
            clock: std::sync::Arc::new(clock.clone()),
            shutdown: shutdown.clone(),
            tasks: Default::default(),
        };
        tokio::spawn(opeka_identity::run(ctx.clone(), identity_settings.clone(), identity_l));
        tokio::spawn(opeka_files::run(ctx.clone(), files_settings, files_l));
        let cases_settings = opeka_cases::Settings { db_max_connections: 3, ..Default::default() };
        tokio::spawn(opeka_cases::run(ctx.clone(), cases_settings, cases_l));
        let scheduler = FakeScheduler::serve(scheduler_l, platform.identity_url.clone(), shutdown.clone());
        let notifications_shutdown = shutdown.child_token();
        let ctx = Context { shutdown: notifications_shutdown.clone(), ..ctx };
        let server = tokio::spawn(opeka_notifications::run(ctx, settings.clone(), notifications_l));
        let app_pool =
            opeka_platform::db::connect(&db.url("notifications"), "notifications", 4).await.expect("app pool");
        let owner_pool = opeka_platform::db::connect(&db.owner_url, "notifications", 2).await.expect("owner pool");
        let identity_pool =
            opeka_platform::db::connect(&db.url("identity"), "identity", 2).await.expect("identity pool");
        let mut app = Self {
            _db: db,
            clock,
            platform,
            settings,
            identity_settings,
            telegram,
            smtp,
            scheduler,
            identity_channel: endpoint(identity_addr),
            files_channel: endpoint(files_addr),
            cases_channel: endpoint(cases_addr),
            channel: endpoint(addr),
            url: format!("http://{addr}"),
            app_pool,
            owner_pool,
            identity_pool,
            shutdown,
            notifications_shutdown,
            server: Some(server),
            _store_dir: store_dir,
        };
        for name in
            [opeka_identity::GRPC_NAME, opeka_files::GRPC_NAME, opeka_cases::GRPC_NAME, opeka_notifications::GRPC_NAME]
        {
            app.wait_serving(name).await;
        }
        app
    }

    /// Stops notifications (its bots confirm their updates and let go of
    /// their locks) and starts it again on a new port over the same data.
    pub async fn restart_notifications(&mut self) {
        self.notifications_shutdown.cancel();
        if let Some(server) = self.server.take() {
            let stopped = tokio::time::timeout(Duration::from_secs(15), server).await;
            stopped.expect("notifications stops within 15 s").expect("join").expect("clean stop");
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        self.notifications_shutdown = self.shutdown.child_token();
        let ctx = Context {
            settings: self.platform.clone(),
            clock: std::sync::Arc::new(self.clock.clone()),
            shutdown: self.notifications_shutdown.clone(),
            tasks: Default::default(),
        };
        self.server = Some(tokio::spawn(opeka_notifications::run(ctx, self.settings.clone(), listener)));
        self.channel = endpoint(addr);
        self.url = format!("http://{addr}");
        self.wait_serving(opeka_notifications::GRPC_NAME).await;
    }

    async fn wait_serving(&mut self, name: &str) {
        use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient};
        let channel = match name {
            opeka_identity::GRPC_NAME => self.identity_channel.clone(),
            opeka_files::GRPC_NAME => self.files_channel.clone(),
            opeka_cases::GRPC_NAME => self.cases_channel.clone(),
            _ => self.channel.clone(),
        };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            if self.server.as_ref().is_some_and(|h| h.is_finished()) {
                let result = self.server.take().expect("server handle").await;
                panic!("notifications stopped during start-up: {result:?}");
            }
            let req = HealthCheckRequest { service: name.into() };
            if let Ok(r) = HealthClient::new(channel.clone()).check(req).await
                && r.into_inner().status == ServingStatus::Serving as i32
            {
                return;
            }
            assert!(tokio::time::Instant::now() < deadline, "{name} did not become healthy within 20 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn identity(&self, token: &str, tenant: &str) -> Identity {
        IdentityServiceClient::with_interceptor(self.identity_channel.clone(), meta(token, tenant))
    }

    pub fn identity_public(&self) -> Identity {
        IdentityServiceClient::with_interceptor(self.identity_channel.clone(), Meta::default())
    }

    pub fn notifications(&self, token: &str, tenant: &str) -> Notifications {
        NotificationsServiceClient::with_interceptor(self.channel.clone(), meta(token, tenant))
    }

    pub fn files(&self, token: &str, tenant: &str) -> Files {
        FilesServiceClient::with_interceptor(self.files_channel.clone(), meta(token, tenant))
    }

    pub fn cases(&self, token: &str, tenant: &str) -> Cases {
        CasesServiceClient::with_interceptor(self.cases_channel.clone(), meta(token, tenant))
    }

    /// A tenant made as `opeka tenant create` does, its admin signed in.
    pub async fn tenant(&self, slug: &str) -> Tenant {
        let (t, admin) = opeka_identity::bootstrap::create_tenant(
            &self.identity_pool,
            &self.identity_settings,
            slug,
            &format!("Агентство {slug}"),
            "admin",
        )
        .await
        .expect("create tenant");
        let pair = self.login(&t.slug, &admin.login, &admin.password).await;
        Tenant { id: t.id, slug: t.slug, admin_token: pair.access_token }
    }

    pub async fn login(&self, tenant: &str, login: &str, password: &str) -> ipb::TokenPair {
        let req = ipb::LoginRequest { tenant: tenant.into(), login: login.into(), password: password.into() };
        self.identity_public().login(req).await.unwrap_or_else(|e| panic!("login {login}: {e:?}")).into_inner()
    }

    pub fn admin(&self, t: &Tenant) -> Notifications {
        self.notifications(&t.admin_token, &t.slug)
    }

    /// An active curator with an e-mail address, signed in.
    pub async fn curator(&self, t: &Tenant, login: &str) -> Staff {
        let email = format!("{login}@agency.test");
        let a = self
            .identity(&t.admin_token, &t.slug)
            .create_staff_account(ipb::CreateStaffAccountRequest {
                surname: "Кураторова".into(),
                name: "Анна".into(),
                login: login.into(),
                email: email.clone(),
                password: PASSWORD.into(),
                password_repeat: PASSWORD.into(),
                roles: vec![ipb::Role::Curator as i32],
                ..Default::default()
            })
            .await
            .expect("create curator")
            .into_inner();
        let pair = self.login(&t.slug, login, PASSWORD).await;
        Staff { id: a.id, token: pair.access_token, email }
    }

    /// A citizen account with a fresh bot link code: (account id, code).
    pub async fn citizen(&self, t: &Tenant, surname: &str) -> (String, String) {
        let mut id = self.identity(&t.admin_token, &t.slug);
        let a = id
            .create_citizen_account(ipb::CreateCitizenAccountRequest {
                surname: surname.into(),
                name: "Иван".into(),
                phone: "+79001234567".into(),
                ..Default::default()
            })
            .await
            .expect("create citizen")
            .into_inner();
        let code = id
            .issue_bot_link_code(ipb::IssueBotLinkCodeRequest { citizen_account_id: a.id.clone() })
            .await
            .expect("issue link code")
            .into_inner()
            .code;
        (a.id, code)
    }

    /// Saves SMTP settings that point at the sink (no TLS, with a password).
    pub async fn configure_smtp(&self, t: &Tenant) -> pb::ChannelSettings {
        self.admin(t)
            .update_smtp_settings(pb::UpdateSmtpSettingsRequest {
                host: self.smtp.host.clone(),
                port: u32::from(self.smtp.port),
                tls: pb::SmtpTls::None as i32,
                sender_address: format!("robot@{}.test", t.slug),
                sender_name: "Опека".into(),
                username: String::new(),
                password: SMTP_PASSWORD.into(),
            })
            .await
            .expect("save smtp settings")
            .into_inner()
    }

    /// Gives the tenant a bot the fake Telegram knows; returns its token.
    pub async fn configure_bot(&self, t: &Tenant) -> String {
        let digits: u64 = 100_000_000 + (Uuid::new_v4().as_u128() % 800_000_000) as u64;
        let token = format!("{digits}:AAH{}", Uuid::new_v4().simple());
        self.telegram.add_bot(&token, &format!("opeka_{}_bot", t.slug.replace('-', "_")));
        self.admin(t).set_bot_token(pb::SetBotTokenRequest { token: token.clone() }).await.expect("set bot token");
        token
    }

    /// Runs the activation dialogue for `chat` with `code` and waits for «Успешная активация».
    pub async fn activate(&self, token: &str, chat: i64, code: &str) {
        self.telegram.send_text(token, chat, "/start");
        self.telegram.wait_for_text(chat, "Введите код активации").await;
        self.telegram.send_text(token, chat, code);
        self.telegram.wait_for_text(chat, "Успешная активация").await;
    }

    /// A JetStream consumer on `service`'s stream for `event` of tenant `slug`.
    pub async fn events(&self, service: &str, slug: &str, event: &str) -> Events {
        let bus = self.bus().await;
        let stream = bus.ensure_stream(service).await.expect("stream");
        let tenant = opeka_platform::testing::tenant_token(&self.owner_pool, slug).await;
        let subject = format!("{}.{tenant}.{service}.{event}", self.platform.bus.root);
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

    pub async fn bus(&self) -> opeka_platform::bus::Bus {
        opeka_platform::testing::harness_bus(&self.platform).await
    }

    /// Publishes `envelope` as `service` would (JetStream, `Nats-Msg-Id` = `msg_id`).
    pub async fn publish(&self, service: &str, slug: &str, envelope: &Envelope, msg_id: &str) {
        let bus = self.bus().await;
        bus.ensure_stream(service).await.expect("stream");
        let (subject, payload) = bus.event_wire(service, slug, envelope);
        let mut h = async_nats::HeaderMap::new();
        h.insert(async_nats::header::NATS_MESSAGE_ID, msg_id);
        bus.js.publish_with_headers(subject, h, payload.into()).await.expect("publish").await.expect("ack");
    }

    /// Publishes every envelope as `service` would, over one connection
    /// (`Nats-Msg-Id` = the event id).
    pub async fn publish_all(&self, service: &str, slug: &str, envelopes: &[Envelope]) {
        let bus = self.bus().await;
        bus.ensure_stream(service).await.expect("stream");
        let mut acks = Vec::new();
        for envelope in envelopes {
            let mut h = async_nats::HeaderMap::new();
            h.insert(async_nats::header::NATS_MESSAGE_ID, envelope.event_id.as_str());
            let (subject, payload) = bus.event_wire(service, slug, envelope);
            acks.push(bus.js.publish_with_headers(subject, h, payload.into()).await.expect("publish"));
        }
        for ack in acks {
            ack.await.expect("ack");
        }
    }

    /// Links `chat` to a new citizen account as a redeemed code would (for
    /// tests that need many chats); returns the account id.
    pub async fn link_chat(&self, t: &Tenant, chat: i64) -> String {
        let account = Uuid::now_v7();
        let mut tx = opeka_platform::db::tenant_tx(&self.app_pool, t.id).await.expect("tenant tx");
        opeka_notifications::store::link_chat(&mut tx, t.id, chat, account, Utc::now()).await.expect("link chat");
        tx.commit().await.expect("commit");
        account.to_string()
    }

    /// Deliveries as the tenant's admin sees them.
    pub async fn deliveries(&self, t: &Tenant) -> Vec<pb::Delivery> {
        self.admin(t)
            .list_deliveries(pb::ListDeliveriesRequest::default())
            .await
            .expect("list deliveries")
            .into_inner()
            .deliveries
    }

    /// Polls `f` until it returns `Some` (fails after 15 s).
    pub async fn eventually<T, F, Fut>(&self, what: &str, mut f: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
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
    pub async fn next(&mut self) -> Envelope {
        let msg = tokio::time::timeout(Duration::from_secs(10), self.messages.next())
            .await
            .unwrap_or_else(|_| panic!("no event on {} within 10 s", self.subject))
            .expect("consumer stream ended")
            .expect("receive event");
        msg.ack().await.expect("ack");
        Envelope::decode(msg.payload.as_ref()).expect("event is an Envelope")
    }
}

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

#[track_caller]
pub fn expect_invalid<T: std::fmt::Debug>(r: Result<T, Status>, field: &str) -> Status {
    let s = expect_code(r, Code::InvalidArgument);
    let v = opeka_platform::error::violations(&s);
    assert!(v.iter().any(|v| v.field == field && !v.description.is_empty()), "no violation of {field}: {v:?}");
    s
}
