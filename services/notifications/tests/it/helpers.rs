//! The notifications sandbox: identity, files, cases and notifications on
//! the testkit sandbox with one settable clock, a fake scheduler (the bot's
//! two calls), a fake Telegram Bot API and an SMTP sink.
use chrono::{SubsecRound, Utc};
use opeka_notifications::testing::{FakeTelegram, SmtpSink};
use opeka_platform::ManualClock;
use opeka_platform::settings::PlatformSettings;
use opeka_proto::cases::cases_service_client::CasesServiceClient;
use opeka_proto::events::Envelope;
use opeka_proto::files::files_service_client::FilesServiceClient;
use opeka_proto::identity::{self as ipb, identity_service_client::IdentityServiceClient};
use opeka_proto::notifications::{self as pb, notifications_service_client::NotificationsServiceClient};
use opeka_testkit::{Authed, Sandbox, Service};
use sqlx::PgPool;
use tokio_util::sync::{CancellationToken, DropGuard};
use uuid::Uuid;

use crate::fake_scheduler::FakeScheduler;

pub use opeka_testkit::{PASSWORD, expect_code, expect_invalid, wait_until};

pub const SMTP_PASSWORD: &str = "пароль-для-внешних-приложений";

/// Notifications' tables, for isolation checks.
pub const TENANT_TABLES: &[&str] =
    &["channel_settings", "chat_links", "bot_uploads", "citizen_curators", "deliveries", "telegram_queue"];

pub type Identity = IdentityServiceClient<Authed>;
pub type Notifications = NotificationsServiceClient<Authed>;
pub type Files = FilesServiceClient<Authed>;
pub type Cases = CasesServiceClient<Authed>;

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
    pub sandbox: Sandbox,
    /// The clock of all four services.
    pub clock: ManualClock,
    pub telegram: FakeTelegram,
    pub smtp: SmtpSink,
    pub scheduler: FakeScheduler,
    /// The service role (NOSUPERUSER NOBYPASSRLS): RLS applies.
    pub app_pool: PgPool,
    /// The owner (superuser): sees every row; for checks only.
    pub owner_pool: PgPool,
    _store_dir: tempfile::TempDir,
    /// Stops the fake scheduler with the test.
    _scheduler: DropGuard,
}

impl TestApp {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(tweak: impl FnOnce(&mut opeka_notifications::Settings) + Send + 'static) -> Self {
        Self::start_full(|_| {}, tweak).await
    }

    /// Like `start_with`, with the process settings (throttles) tweaked too.
    pub async fn start_full(
        tweak_platform: impl FnOnce(&mut PlatformSettings) + Send + 'static,
        tweak: impl FnOnce(&mut opeka_notifications::Settings) + Send + 'static,
    ) -> Self {
        let telegram = FakeTelegram::start().await;
        let smtp = SmtpSink::start().await;
        let store_dir = tempfile::tempdir().expect("blob directory");
        let store_url = format!("file://{}", store_dir.path().display());
        let scheduler_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let scheduler_url = format!("http://{}", scheduler_listener.local_addr().expect("scheduler address"));
        let telegram_api_url = telegram.url.clone();
        let all = [Service::Identity, Service::Files, Service::Cases, Service::Notifications];
        let sandbox = all
            .iter()
            .fold(Sandbox::builder(), |b, s| b.with(*s))
            .manual_clock(Utc::now().trunc_subsecs(0), &all)
            .tweak(move |s| {
                tweak_platform(&mut s.platform);
                s.files.store_url = store_url;
                s.notifications = opeka_notifications::Settings {
                    telegram_api_url,
                    scheduler_url,
                    public_url: "http://opeka.test".into(),
                    poll_timeout_secs: 2,
                    smtp_timeout_secs: 3,
                    smtp_allow_loopback: true,
                    db_max_connections: 8,
                    ..s.notifications.clone()
                };
                tweak(&mut s.notifications);
                s.notifications.validate().expect("test notifications settings are valid");
            })
            .start()
            .await;
        let stop = CancellationToken::new();
        let scheduler = FakeScheduler::serve(scheduler_listener, sandbox.url(Service::Identity), stop.clone());
        Self {
            clock: sandbox.clock.clone(),
            telegram,
            smtp,
            scheduler,
            app_pool: sandbox.service_pool(Service::Notifications).await,
            owner_pool: sandbox.owner_pool_in("notifications").await,
            sandbox,
            _store_dir: store_dir,
            _scheduler: stop.drop_guard(),
        }
    }

    /// Stops notifications (its bots confirm their updates and let go of
    /// their locks) and starts it again on a new port over the same data.
    pub async fn restart_notifications(&mut self) {
        self.sandbox.restart(Service::Notifications).await;
    }

    pub fn identity(&self, token: &str, tenant: &str) -> Identity {
        IdentityServiceClient::new(self.sandbox.authed(Service::Identity, token, tenant))
    }

    pub fn identity_public(&self) -> Identity {
        IdentityServiceClient::new(self.sandbox.anonymous(Service::Identity))
    }

    pub fn notifications(&self, token: &str, tenant: &str) -> Notifications {
        NotificationsServiceClient::new(self.sandbox.authed(Service::Notifications, token, tenant))
    }

    pub fn files(&self, token: &str, tenant: &str) -> Files {
        FilesServiceClient::new(self.sandbox.authed(Service::Files, token, tenant))
    }

    pub fn cases(&self, token: &str, tenant: &str) -> Cases {
        CasesServiceClient::new(self.sandbox.authed(Service::Cases, token, tenant))
    }

    /// A tenant made as `opeka tenant create` does, its admin signed in.
    pub async fn tenant(&self, slug: &str) -> Tenant {
        let (t, admin) = self.sandbox.tenant(slug).await;
        let pair = self.sandbox.sign_in(&t.slug, &admin.login, &admin.password).await;
        Tenant { id: t.id, slug: t.slug, admin_token: pair.access_token }
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
        let pair = self.sandbox.sign_in(&t.slug, login, PASSWORD).await;
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

    /// Publishes every envelope as `service` would, over one connection
    /// (`Nats-Msg-Id` = the event id).
    pub async fn publish_all(&self, service: &str, slug: &str, envelopes: &[Envelope]) {
        let bus = self.sandbox.bus().await;
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

    /// The deliveries once `ready` says so: a mail reaches the SMTP sink a
    /// moment before its row is written, after the SMTP session ends.
    pub async fn deliveries_once(&self, t: &Tenant, ready: impl Fn(&[pb::Delivery]) -> bool) -> Vec<pb::Delivery> {
        wait_until("the delivery log", || async {
            let log = self.deliveries(t).await;
            ready(&log).then_some(log)
        })
        .await
    }
}
