//! Notifications service (`opeka.notifications.v1`): each tenant's channels —
//! the citizens' Telegram bot and mail through the tenant's SMTP — and the
//! log of every send.
#![forbid(unsafe_code)]

pub mod api;
pub mod clients;
pub mod convert;
pub mod crypto;
pub mod domain;
pub mod events;
pub mod mail;
pub mod settings;
pub mod store;
pub mod strings;
pub mod telegram;
pub mod templates;
#[cfg(feature = "testing")]
pub mod testing;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use opeka_platform::service::Parts;
use opeka_platform::supervise::Need;
use opeka_platform::{Context, bus, db};
use tokio::net::TcpListener;

pub use settings::Settings;

pub const SERVICE: &str = "notifications";
pub const GRPC_NAME: &str = "opeka.notifications.v1.NotificationsService";

pub static SCHEMA: db::SchemaSpec = db::SchemaSpec { schema: SERVICE, migrator: &MIGRATOR, append_only: &[] };
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Everything the handlers, the bots and the consumers share.
pub struct App {
    /// Pool, outbox and clock: what every call opens.
    pub kit: opeka_platform::call::Kit,
    pub settings: Settings,
    pub secrets: crypto::SecretBox,
    /// Opens what identity seals into its events (`OPEKA_BUS__SEAL_KEY`).
    pub bus_seal: opeka_platform::crypto::SecretBox,
    pub clients: clients::Clients,
    pub mailer: mail::Mailer,
    /// For the bots' leader locks (one dedicated connection per polling bot).
    pub database_url: String,
    /// Wake-ups of this process's reminder dispatchers (`telegram::queue`).
    pub wakers: telegram::queue::Wakers,
    /// Activation-code guesses per (tenant, chat)
    /// (`OPEKA_THROTTLE__BOT_ACTIVATION_PER_CHAT`). In memory: each tenant's
    /// bot runs in one process at a time (the leader), so one chat's guesses
    /// meet one limiter.
    pub activation_throttle: opeka_platform::throttle::Throttle<(uuid::Uuid, i64)>,
}

/// notifications as `opeka serve`, `migrate` and `nats-config` see it.
pub struct Notifications;

impl opeka_platform::service::Service for Notifications {
    const NAME: &'static str = SERVICE;
    type Settings = Settings;

    fn schema() -> &'static db::SchemaSpec {
        &SCHEMA
    }

    /// What notifications's NATS user may do (`opeka nats-config`): publish its own
    /// events and read the streams of the consumers it runs.
    fn bus() -> Option<bus::permissions::ServiceBus> {
        Some(bus::permissions::ServiceBus::new(SERVICE, true, &events::consumer_specs()))
    }

    fn addr(settings: &Settings) -> &str {
        &settings.grpc_addr
    }

    fn preflight(settings: &Settings, platform: &opeka_platform::settings::PlatformSettings) -> anyhow::Result<()> {
        Ok(settings.require_own_keys(platform)?)
    }

    fn run(ctx: Context, settings: Settings, listener: TcpListener) -> impl Future<Output = anyhow::Result<()>> + Send {
        run(ctx, settings, listener)
    }
}

/// Serves notifications on `listener` until `ctx.shutdown` is cancelled;
/// runs the outbox relay, the consumers and one bot per tenant alongside, and
/// in webhook mode the endpoint Telegram posts to (`WEBHOOK_ADDR`).
pub async fn run(ctx: Context, settings: Settings, listener: TcpListener) -> anyhow::Result<()> {
    settings.validate()?;
    // Refused in production; in development `require_own_key` warns.
    settings.require_own_keys(&ctx.settings)?;
    let parts = Parts::open(&ctx, SERVICE, settings.db_max_connections).await?;
    let app = Arc::new(App {
        secrets: crypto::SecretBox::from_base64(settings.secret_key.expose())?,
        bus_seal: ctx.settings.bus.seal_box()?,
        kit: parts.kit.clone(),
        clients: clients::Clients::new(clients::Urls {
            identity: &ctx.settings.identity_url,
            files: &settings.files_url,
            cases: &settings.cases_url,
            scheduler: &settings.scheduler_url,
        })
        .await?,
        mailer: mail::Mailer::new(Duration::from_secs(settings.smtp_timeout_secs), settings.smtp_allow_loopback),
        database_url: ctx.settings.database_url_for(SERVICE)?.expose().clone(),
        wakers: telegram::queue::Wakers::default(),
        activation_throttle: opeka_platform::throttle::Throttle::new(
            "notifications.bot_activation",
            ctx.settings.throttle.bot_activation_per_chat,
        ),
        settings,
    });
    let bots = telegram::BotManager::new(app.clone(), ctx.shutdown.clone());
    // Webhook mode: Telegram's POSTs come in here (bound before the bots set
    // their webhooks, so the first posts find it).
    let webhook = if app.settings.webhook_mode() {
        let l = TcpListener::bind(&app.settings.webhook_addr).await.map_err(|e| {
            anyhow::anyhow!("OPEKA_NOTIFICATIONS__WEBHOOK_ADDR {}: cannot listen: {e}", app.settings.webhook_addr)
        })?;
        tracing::info!(addr = %l.local_addr()?, base = %app.settings.webhook_base_url, "telegram webhook listening");
        Some(l)
    } else {
        None
    };
    {
        let (app, cancel) = (app.clone(), ctx.shutdown.clone());
        parts.background.spawn("notifications.telegram-queue-listener", Need::Required, move || {
            telegram::queue::listen(app.clone(), cancel.clone())
        });
    }
    let handler = events::Events::new(app.clone());
    for spec in events::consumer_specs() {
        let consumer = bus::Consumer { spec, handler: handler.clone() };
        parts.consume(consumer);
    }
    if let Some(l) = webhook {
        // A std listener, so every restart of the endpoint serves the same socket.
        let l = l.into_std()?;
        let (bots, cancel) = (bots.clone(), ctx.shutdown.clone());
        parts.background.spawn("notifications.telegram-webhook", Need::Required, move || {
            let (listener, bots, cancel) = (l.try_clone(), bots.clone(), cancel.clone());
            async move { telegram::webhook::serve(TcpListener::from_std(listener?)?, bots, cancel).await }
        });
    }
    {
        let bots = bots.clone();
        parts.background.spawn("notifications.bots", Need::Required, move || bots.clone().keep_running());
    }
    let verifier = parts.verifier(&ctx, None);
    let routes = tonic::service::Routes::new(
        opeka_proto::notifications::notifications_service_server::NotificationsServiceServer::new(api::Api::new(
            app.clone(),
            bots.clone(),
        )),
    );
    let served = parts.serve(&ctx, listener, routes, &[GRPC_NAME], verifier).await;
    bots.join().await;
    served
}
