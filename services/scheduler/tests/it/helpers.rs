//! The scheduler sandbox: a fresh database with identity's, cases' and the
//! scheduler's schemas; the three services on port 0 with a unique bus
//! root; a settable clock for the scheduler (identity and cases keep real
//! time: tokens are checked against it); typed clients per signed-in
//! account; the scheduler's own `Engine` so tests run a dispatcher or
//! detector pass at a chosen moment; raw pools for set-up and checks.
use std::sync::Arc;

use chrono::{DateTime, Utc};
use opeka_platform::ManualClock;
use opeka_platform::bus::{Bus, Outbox};
use opeka_platform::settings::PlatformSettings;
use opeka_proto::cases::{self as cpb, cases_service_client::CasesServiceClient};
use opeka_proto::events::Envelope;
use opeka_proto::identity::{self as idpb, identity_service_client::IdentityServiceClient};
use opeka_proto::scheduler::{self as pb, scheduler_service_client::SchedulerServiceClient};
use opeka_scheduler::jobs::Engine;
use opeka_testkit::{Authed, Sandbox, Service};
use prost::Message as _;
use sqlx::PgPool;
use uuid::Uuid;

pub use opeka_testkit::{Events, PASSWORD, expect_code, expect_invalid};

/// 08:00 in Moscow on Friday 10 January 2031: every test's starting moment.
pub fn t0() -> DateTime<Utc> {
    "2031-01-10T05:00:00Z".parse().expect("t0")
}

pub fn utc(s: &str) -> DateTime<Utc> {
    s.parse().expect("an RFC 3339 instant")
}

pub type Scheduler = SchedulerServiceClient<Authed>;
pub type Cases = CasesServiceClient<Authed>;
pub type Identity = IdentityServiceClient<Authed>;

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
    pub sandbox: Sandbox,
    /// The scheduler's clock.
    pub clock: ManualClock,
    pub platform: PlatformSettings,
    pub settings: opeka_scheduler::Settings,
    /// The service role, search path `scheduler`: RLS applies.
    pub app_pool: PgPool,
    /// The owner (superuser): sees every row; for set-up and checks only.
    pub owner_pool: PgPool,
    /// The scheduler's background passes, run by the test at a chosen "now".
    pub engine: Arc<Engine>,
}

impl TestApp {
    pub async fn start() -> Self {
        Self::start_with(Options::default()).await
    }

    /// identity, cases and the scheduler (on the manual clock, at `t0`).
    pub async fn start_with(opts: Options) -> Self {
        let mut builder = Sandbox::builder()
            .with(Service::Identity)
            .with(Service::Cases)
            .with(Service::Scheduler)
            .manual_clock(t0(), &[Service::Scheduler]);
        if let Some(url) = opts.scheduler_nats_url {
            builder = builder.nats_url_for(Service::Scheduler, url);
        }
        let scheduler = opts.scheduler;
        let sandbox = builder
            .tweak(move |s| {
                s.scheduler = opeka_scheduler::Settings { cases_url: s.scheduler.cases_url.clone(), ..scheduler }
            })
            .start()
            .await;
        let settings = sandbox.settings.scheduler.clone();
        let platform = sandbox.settings.platform.clone();
        let app_pool =
            opeka_platform::db::connect(&sandbox.db.url("scheduler"), "scheduler", 8).await.expect("app pool");
        let owner_pool = sandbox.owner_pool_in("scheduler").await;
        let engine = Arc::new(
            Engine::new(
                app_pool.clone(),
                Outbox::new(platform.bus.root.clone(), opeka_scheduler::SERVICE),
                settings.clone(),
            )
            .expect("engine"),
        );
        Self { clock: sandbox.clock.clone(), sandbox, platform, settings, app_pool, owner_pool, engine }
    }

    pub fn now(&self) -> DateTime<Utc> {
        opeka_platform::Clock::now(&self.clock)
    }

    pub fn set_now(&self, at: DateTime<Utc>) {
        self.clock.set(at);
    }

    pub fn staff(&self, id: &str, token: &str, tenant: &str) -> Staff {
        let channel = |s| self.sandbox.authed(s, token, tenant);
        Staff {
            id: id.to_string(),
            scheduler: SchedulerServiceClient::new(channel(Service::Scheduler)),
            cases: CasesServiceClient::new(channel(Service::Cases)),
            identity: IdentityServiceClient::new(channel(Service::Identity)),
        }
    }

    /// A scheduler client without a token.
    pub fn anonymous(&self) -> Scheduler {
        SchedulerServiceClient::new(self.sandbox.anonymous(Service::Scheduler))
    }

    pub async fn sign_in(&self, tenant: &str, login: &str, password: &str) -> Staff {
        let pair = self.sandbox.sign_in(tenant, login, password).await;
        let account = pair.account.expect("token pair carries the account");
        self.staff(&account.id, &pair.access_token, tenant)
    }

    /// Creates a tenant with its admin (as `opeka tenant create` does) and a
    /// bot service account (as the tenant's Telegram bot uses).
    pub async fn tenant(&self, slug: &str) -> TestTenant {
        let (t, admin) = self.sandbox.tenant(slug).await;
        let admin_pair = self.sandbox.sign_in(&t.slug, &admin.login, &admin.password).await;
        let bot = self.sandbox.service_token(&t.slug, &admin_pair.access_token, "Бот", &[idpb::Role::Bot]).await;
        let admin = self.staff(&admin_pair.account.expect("account").id, &admin_pair.access_token, &t.slug);
        let bot = self.staff(&bot.account.expect("account").id, &bot.access_token, &t.slug);
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
        opeka_testkit::wait_until(what, f).await
    }
}

/// `tenant`: the subject's tenant token (the tenant's id).
pub async fn events_on(bus: &Bus, tenant: &str, event: &str) -> Events {
    opeka_testkit::events_on(bus, opeka_scheduler::SERVICE, tenant, event).await
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

pub use opeka_testkit::at as ts;
