//! The scheduler sandbox: a fresh database with identity's, cases' and the
//! scheduler's schemas; the three services on port 0 with a unique bus
//! root; a settable clock for the scheduler (identity and cases keep real
//! time: tokens are checked against it); typed clients per signed-in
//! account; the scheduler's own `Engine` so tests run a dispatcher or
//! detector pass at a chosen moment; raw pools for set-up and checks.
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, pull};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use opeka_platform::bus::Bus;
use opeka_platform::settings::PlatformSettings;
use opeka_platform::testing::{self, TestDb};
use opeka_platform::{Context, ManualClock};
use opeka_proto::cases::{self as cpb, cases_service_client::CasesServiceClient};
use opeka_proto::events::Envelope;
use opeka_proto::identity::{self as idpb, identity_service_client::IdentityServiceClient};
use opeka_proto::scheduler::{self as pb, scheduler_service_client::SchedulerServiceClient};
use opeka_scheduler::jobs::Engine;
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
/// How long a test waits for something asynchronous (an event, a consumer).
pub const WAIT: Duration = Duration::from_secs(20);

/// 08:00 in Moscow on Friday 10 January 2031: every test's starting moment.
pub fn t0() -> DateTime<Utc> {
    "2031-01-10T05:00:00Z".parse().expect("t0")
}

pub fn utc(s: &str) -> DateTime<Utc> {
    s.parse().expect("an RFC 3339 instant")
}

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

pub type Scheduler = SchedulerServiceClient<InterceptedService<Channel, Meta>>;
pub type Cases = CasesServiceClient<InterceptedService<Channel, Meta>>;
pub type Identity = IdentityServiceClient<InterceptedService<Channel, Meta>>;

/// A signed-in account with clients for the three services.
#[derive(Clone)]
pub struct Staff {
    pub id: String,
    pub scheduler: Scheduler,
    pub cases: Cases,
    pub identity: Identity,
}

/// A tenant made by `opeka tenant create`, with its admin and its bot's
/// service account signed in.
#[derive(Clone)]
pub struct TestTenant {
    pub id: Uuid,
    pub slug: String,
    pub admin: Staff,
    pub bot: Staff,
}

/// A citizen card (and its bot account).
#[derive(Clone, Debug)]
pub struct Citizen {
    pub id: String,
    pub account_id: String,
}

/// Knobs a test may turn before start.
#[derive(Clone)]
pub struct Options {
    /// The broker the scheduler (only) is given; `None`: the test broker.
    pub scheduler_nats_url: Option<String>,
    pub scheduler: opeka_scheduler::Settings,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            scheduler_nats_url: None,
            scheduler: opeka_scheduler::Settings { db_max_connections: 8, ..Default::default() },
        }
    }
}

pub struct TestApp {
    pub db: TestDb,
    /// The scheduler's clock.
    pub clock: ManualClock,
    pub platform: PlatformSettings,
    pub identity_settings: opeka_identity::Settings,
    pub settings: opeka_scheduler::Settings,
    identity_channel: Channel,
    cases_channel: Channel,
    scheduler_channel: Channel,
    /// The service role, search path `scheduler`: RLS applies.
    pub app_pool: PgPool,
    /// The owner (superuser): sees every row; for set-up and checks only.
    pub owner_pool: PgPool,
    /// The scheduler's background passes, run by the test at a chosen "now".
    pub engine: Arc<Engine>,
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
        .timeout(Duration::from_secs(30))
        .connect_lazy()
}

impl TestApp {
    pub async fn start() -> Self {
        Self::start_with(Options::default()).await
    }

    pub async fn start_with(opts: Options) -> Self {
        opeka_platform::install_crypto_provider();
        opeka_platform::telemetry::init_for_tests();
        testing::require_nats().await;
        let db = testing::migrated_db(&[&opeka_identity::SCHEMA, &opeka_cases::SCHEMA, &opeka_scheduler::SCHEMA]).await;
        let clock = ManualClock::new(t0());
        let bind = || async { tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind") };
        let (identity_listener, cases_listener, scheduler_listener) = (bind().await, bind().await, bind().await);
        let identity_addr = identity_listener.local_addr().expect("identity address");
        let cases_addr = cases_listener.local_addr().expect("cases address");
        let scheduler_addr = scheduler_listener.local_addr().expect("scheduler address");
        let mut platform = testing::settings(&db);
        platform.identity_url = format!("http://{identity_addr}");
        let identity_settings = opeka_identity::Settings {
            argon2_memory_kib: 1024,
            argon2_iterations: 1,
            db_max_connections: 5,
            ..Default::default()
        };
        let cases_settings = opeka_cases::Settings { db_max_connections: 5, ..Default::default() };
        let settings = opeka_scheduler::Settings { cases_url: format!("http://{cases_addr}"), ..opts.scheduler };
        let shutdown = CancellationToken::new();
        let system = |p: &PlatformSettings| Context {
            settings: p.clone(),
            clock: opeka_platform::clock::system(),
            shutdown: shutdown.clone(),
            tasks: Default::default(),
        };
        let mut scheduler_platform = platform.clone();
        if let Some(url) = &opts.scheduler_nats_url {
            scheduler_platform.nats_url = url.clone();
        }
        let scheduler_ctx = Context {
            settings: scheduler_platform,
            clock: Arc::new(clock.clone()),
            shutdown: shutdown.clone(),
            tasks: Default::default(),
        };
        let servers = vec![
            (
                "identity",
                tokio::spawn(opeka_identity::run(system(&platform), identity_settings.clone(), identity_listener)),
            ),
            ("cases", tokio::spawn(opeka_cases::run(system(&platform), cases_settings, cases_listener))),
            ("scheduler", tokio::spawn(opeka_scheduler::run(scheduler_ctx, settings.clone(), scheduler_listener))),
        ];
        let app_pool = opeka_platform::db::connect(&db.url("scheduler"), "scheduler", 8).await.expect("app pool");
        let owner_pool = opeka_platform::db::connect(&db.owner_url, "scheduler", 4).await.expect("owner pool");
        let engine =
            Arc::new(Engine::new(app_pool.clone(), platform.bus.root.clone(), settings.clone()).expect("engine"));
        let mut app = Self {
            db,
            clock,
            platform,
            identity_settings,
            settings,
            identity_channel: endpoint(identity_addr),
            cases_channel: endpoint(cases_addr),
            scheduler_channel: endpoint(scheduler_addr),
            app_pool,
            owner_pool,
            engine,
            shutdown,
            servers,
        };
        app.wait_serving(opeka_identity::GRPC_NAME, 0).await;
        app.wait_serving(opeka_cases::GRPC_NAME, 1).await;
        app.wait_serving(opeka_scheduler::GRPC_NAME, 2).await;
        app
    }

    /// Waits for health to report SERVING; fails with `run`'s error if it ended.
    async fn wait_serving(&mut self, name: &str, i: usize) {
        use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient};
        let channel = [&self.identity_channel, &self.cases_channel, &self.scheduler_channel][i].clone();
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

    pub fn set_now(&self, at: DateTime<Utc>) {
        self.clock.set(at);
    }

    fn meta(token: &str, tenant: &str) -> Meta {
        Meta {
            bearer: Some(MetadataValue::try_from(format!("Bearer {token}")).expect("ascii token")),
            tenant: Some(MetadataValue::try_from(tenant).expect("ascii tenant")),
        }
    }

    pub fn staff(&self, id: &str, token: &str, tenant: &str) -> Staff {
        let meta = Self::meta(token, tenant);
        Staff {
            id: id.to_string(),
            scheduler: SchedulerServiceClient::with_interceptor(self.scheduler_channel.clone(), meta.clone()),
            cases: CasesServiceClient::with_interceptor(self.cases_channel.clone(), meta.clone()),
            identity: IdentityServiceClient::with_interceptor(self.identity_channel.clone(), meta),
        }
    }

    /// A scheduler client without a token.
    pub fn anonymous(&self) -> Scheduler {
        SchedulerServiceClient::with_interceptor(self.scheduler_channel.clone(), Meta::default())
    }

    pub async fn sign_in(&self, tenant: &str, login: &str, password: &str) -> Staff {
        let mut public = IdentityServiceClient::new(self.identity_channel.clone());
        let req = idpb::LoginRequest { tenant: tenant.into(), login: login.into(), password: password.into() };
        let pair = public.login(req).await.unwrap_or_else(|e| panic!("login {login}: {e:?}")).into_inner();
        let account = pair.account.expect("token pair carries the account");
        self.staff(&account.id, &pair.access_token, tenant)
    }

    /// Creates a tenant with its admin (as `opeka tenant create` does) and a
    /// bot service account (as the tenant's Telegram bot uses).
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
        let req = idpb::CreateServiceAccountRequest { name: "Бот".into(), roles: vec![idpb::Role::Bot as i32] };
        let created = admin.identity.clone().create_service_account(req).await.expect("bot account").into_inner();
        let mut public = IdentityServiceClient::new(self.identity_channel.clone());
        let req = idpb::IssueServiceTokenRequest {
            tenant: t.slug.clone(),
            client_id: created.client_id,
            client_secret: created.client_secret,
        };
        let pair = public.issue_service_token(req).await.expect("bot token").into_inner();
        let bot = self.staff(&pair.account.expect("account").id, &pair.access_token, &t.slug);
        TestTenant { id: t.id, slug: t.slug, admin, bot }
    }

    pub async fn curator(&self, t: &TestTenant, login: &str, surname: &str) -> Staff {
        let req = idpb::CreateStaffAccountRequest {
            surname: surname.into(),
            name: "Анна".into(),
            login: login.into(),
            password: PASSWORD.into(),
            password_repeat: PASSWORD.into(),
            roles: vec![idpb::Role::Curator as i32],
            ..Default::default()
        };
        t.admin.identity.clone().create_staff_account(req).await.expect("create curator");
        self.sign_in(&t.slug, login, PASSWORD).await
    }

    /// A card registered by `by` (a curator's card is theirs), bot not activated.
    pub async fn citizen_without_bot(&self, by: &Staff, surname: &str) -> Citizen {
        let req = cpb::CreateCitizenRequest {
            surname: surname.into(),
            name: "Мария".into(),
            phone: "8 912 345-67-89".into(),
            ..Default::default()
        };
        let c = by.cases.clone().create_citizen(req).await.expect("create citizen").into_inner();
        Citizen { id: c.id, account_id: c.account_id }
    }

    /// A card whose bot is activated: the bot redeems the card's code, and
    /// cases shows «Бот активирован» (S0-49).
    pub async fn citizen(&self, t: &TestTenant, by: &Staff, surname: &str) -> Citizen {
        let c = self.citizen_without_bot(by, surname).await;
        let link = by
            .cases
            .clone()
            .get_citizen_bot_link(cpb::GetCitizenBotLinkRequest { citizen_id: c.id.clone() })
            .await
            .expect("bot link")
            .into_inner();
        let chat = 1_000_000 + i64::from(rand_u16());
        let req = idpb::RedeemBotLinkCodeRequest { code: link.code, telegram_chat_id: chat };
        t.bot.identity.clone().redeem_bot_link_code(req).await.expect("redeem");
        let (cases, id) = (by.cases.clone(), c.id.clone());
        self.eventually("«Бот активирован» on the card", || {
            let (mut cases, id) = (cases.clone(), id.clone());
            async move {
                let card = cases.get_citizen(cpb::GetCitizenRequest { id }).await.ok()?.into_inner();
                card.bot_activated.then_some(())
            }
        })
        .await;
        c
    }

    pub async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string())).fetch_one(&self.owner_pool).await.expect("count")
    }

    /// Occurrence statuses of a series, by due time.
    pub async fn statuses(&self, series_id: &str) -> Vec<(DateTime<Utc>, String)> {
        sqlx::query_as("select due_at, status from occurrences where series_id = $1::uuid order by due_at")
            .bind(series_id)
            .fetch_all(&self.owner_pool)
            .await
            .expect("statuses")
    }

    /// Outbox rows the scheduler wrote for `event`.
    pub async fn outbox(&self, event: &str) -> Vec<Envelope> {
        let rows: Vec<Vec<u8>> = sqlx::query_scalar("select payload from outbox where subject like $1 order by id")
            .bind(format!("%.scheduler.{event}"))
            .fetch_all(&self.owner_pool)
            .await
            .expect("outbox");
        rows.iter().map(|p| Envelope::decode(p.as_slice()).expect("envelope")).collect()
    }

    /// A planned burst for tests of the dispatcher: a citizen row with a bot
    /// account, one series and `n` occurrences due at `due_at` (a curator
    /// note's with `kind = "curator_note"`). Returns the series id.
    pub async fn seed_burst(&self, t: &TestTenant, kind: &str, due_at: DateTime<Utc>, n: i64) -> Uuid {
        let citizen = Uuid::now_v7();
        let series = Uuid::now_v7();
        let mut tx = self.owner_pool.begin().await.expect("tx");
        sqlx::query(
            "insert into tenants (tenant_id, tenant_slug, first_seen_at) values ($1, $2, $3)
             on conflict do nothing",
        )
        .bind(t.id)
        .bind(&t.slug)
        .bind(self.now())
        .execute(&mut *tx)
        .await
        .expect("tenant");
        sqlx::query(
            "insert into citizens (tenant_id, citizen_id, account_id, full_name, bot_linked, updated_at)
             values ($1, $2, $3, 'Тестовая Мария', true, $4)",
        )
        .bind(t.id)
        .bind(citizen)
        .bind(Uuid::now_v7())
        .bind(self.now())
        .execute(&mut *tx)
        .await
        .expect("citizen");
        sqlx::query(
            "insert into series (id, tenant_id, citizen_id, kind, description, start_date, time_of_day, time_zone,
                frequency, interval, count, rrule, last_date, materialised_until, created_by, created_at, updated_at)
             values ($1, $2, $3, $4, 'Пачка', $5, '09:00', 'Europe/Moscow', 'daily', 1, $6, '', $5, $7, 'test', $8, $8)",
        )
        .bind(series)
        .bind(t.id)
        .bind(citizen)
        .bind(kind)
        .bind(due_at.date_naive())
        .bind(n.clamp(1, 500) as i32)
        .bind(due_at + chrono::Duration::days(1))
        .bind(self.now())
        .execute(&mut *tx)
        .await
        .expect("series");
        sqlx::query(
            "insert into occurrences (id, tenant_id, series_id, citizen_id, kind, original_at, due_at, local_date,
                local_time, status, created_at, updated_at)
             select gen_random_uuid(), $1, $2, $3, $4, $5 + make_interval(secs => i / 1000000.0), $5,
                    ($5 at time zone 'Europe/Moscow')::date, ($5 at time zone 'Europe/Moscow')::time, 'planned', $6, $6
             from generate_series(1, $7) as i",
        )
        .bind(t.id)
        .bind(series)
        .bind(citizen)
        .bind(kind)
        .bind(due_at)
        .bind(self.now())
        .bind(n)
        .execute(&mut *tx)
        .await
        .expect("occurrences");
        tx.commit().await.expect("commit");
        series
    }

    /// A JetStream consumer on the scheduler's stream, delivering every
    /// `event` of tenant `slug` from the start of the stream.
    pub async fn events(&self, slug: &str, event: &str) -> Events {
        let bus = opeka_platform::testing::harness_bus(&self.platform).await;
        events_on(&bus, &opeka_platform::testing::tenant_token(&self.owner_pool, slug).await, event).await
    }

    /// Polls `f` until it returns `Some` (fails after `WAIT`).
    pub async fn eventually<T, F, Fut>(&self, what: &str, f: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        eventually(what, WAIT, f).await
    }
}

pub async fn eventually<T, F, Fut>(what: &str, wait: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `tenant`: the subject's tenant token (the tenant's id).
pub async fn events_on(bus: &Bus, tenant: &str, event: &str) -> Events {
    let stream = bus.ensure_stream(opeka_scheduler::SERVICE).await.expect("scheduler stream");
    let subject = bus.subject(tenant, opeka_scheduler::SERVICE, event);
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

pub struct Events {
    pub subject: String,
    messages: pull::Stream,
}

impl Events {
    /// The next event on the subject (fails after `WAIT`).
    pub async fn next(&mut self) -> Envelope {
        self.next_within(WAIT).await.unwrap_or_else(|| panic!("no event on {} within {WAIT:?}", self.subject))
    }

    /// The next event, or `None` when none comes within `wait`.
    pub async fn next_within(&mut self, wait: Duration) -> Option<Envelope> {
        let msg = tokio::time::timeout(wait, self.messages.next()).await.ok()?;
        let msg = msg.expect("consumer stream ended").expect("receive event");
        msg.ack().await.expect("ack");
        Some(Envelope::decode(msg.payload.as_ref()).expect("event is an Envelope"))
    }
}

fn rand_u16() -> u16 {
    (Uuid::new_v4().as_u128() & 0xffff) as u16
}

/// A series request: one citizen, a kind, a text, a start and a time;
/// tests set the recurrence.
pub fn series_req(c: &Citizen, kind: pb::ReminderKind, start: &str, time: &str) -> pb::CreateSeriesRequest {
    pb::CreateSeriesRequest {
        citizen_id: c.id.clone(),
        kind: kind as i32,
        description: "Принять лекарство".into(),
        start_date: start.into(),
        time_of_day: time.into(),
        ..Default::default()
    }
}

/// Daily, every day, `count` times.
pub fn daily(c: &Citizen, start: &str, time: &str, count: u32) -> pb::CreateSeriesRequest {
    pb::CreateSeriesRequest {
        recurrence: Some(pb::Recurrence {
            frequency: pb::Frequency::Daily as i32,
            interval: 1,
            count,
            ..Default::default()
        }),
        ..series_req(c, pb::ReminderKind::Support, start, time)
    }
}

/// The citizen's calendar over [from, to) as `who` sees it.
pub async fn calendar(who: &Staff, c: &Citizen, from: &str, to: &str) -> Vec<pb::Occurrence> {
    who.scheduler
        .clone()
        .list_occurrences(pb::ListOccurrencesRequest {
            citizen_id: c.id.clone(),
            from_date: from.into(),
            to_date: to.into(),
            ..Default::default()
        })
        .await
        .expect("list occurrences")
        .into_inner()
        .occurrences
}

/// The bot presses a button.
pub async fn press(t: &TestTenant, c: &Citizen, occurrence: &str, a: pb::Answer) -> pb::AnswerOccurrenceResponse {
    t.bot
        .scheduler
        .clone()
        .answer_occurrence(pb::AnswerOccurrenceRequest {
            occurrence_id: occurrence.into(),
            citizen_account_id: c.account_id.clone(),
            answer: a as i32,
        })
        .await
        .expect("answer")
        .into_inner()
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
pub fn expect_invalid<T: std::fmt::Debug>(r: Result<T, Status>, field: &str) {
    let s = expect_code(r, Code::InvalidArgument);
    let v = opeka_platform::error::violations(&s);
    assert!(
        v.iter().any(|v| v.field == field && !v.description.trim().is_empty()),
        "expected a violation of `{field}`, got {v:?} ({})",
        s.message()
    );
}

pub fn ts(t: &Option<prost_types::Timestamp>) -> DateTime<Utc> {
    let t = t.as_ref().expect("timestamp present");
    DateTime::from_timestamp(t.seconds, t.nanos as u32).expect("valid timestamp")
}
