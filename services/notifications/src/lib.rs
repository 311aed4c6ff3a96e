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

use std::sync::Arc;
use std::time::Duration;

use opeka_platform::{Context, admin, auth::Verifier, bus, db};
use tokio::net::TcpListener;
use tokio::task::JoinSet;

pub use settings::Settings;

pub const SERVICE: &str = "notifications";
pub const GRPC_NAME: &str = "opeka.notifications.v1.NotificationsService";

pub static SCHEMA: db::SchemaSpec = db::SchemaSpec { schema: SERVICE, migrator: &MIGRATOR, append_only: &[] };
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Everything the handlers, the bots and the consumers share.
pub struct App {
    pub pool: sqlx::PgPool,
    pub settings: Settings,
    pub secrets: crypto::SecretBox,
    pub outbox: bus::Outbox,
    pub clock: opeka_platform::clock::SharedClock,
    pub clients: clients::Clients,
    pub mailer: mail::Mailer,
    /// For the bots' leader locks (one dedicated connection per polling bot).
    pub database_url: String,
}

/// Serves notifications on `listener` until `ctx.shutdown` is cancelled;
/// runs the outbox relay, the consumers and one bot per tenant alongside, and
/// in webhook mode the endpoint Telegram posts to (`WEBHOOK_ADDR`).
pub async fn run(ctx: Context, settings: Settings, listener: TcpListener) -> anyhow::Result<()> {
    settings.validate()?;
    if settings.uses_development_key() {
        tracing::warn!(
            "OPEKA_NOTIFICATIONS__SECRET_KEY is not set: secrets are encrypted with the development key; set one in production"
        );
    }
    let pool = db::connect(ctx.settings.database_url.expose(), SERVICE, settings.db_max_connections).await?;
    let bus = bus::Bus::connect(&ctx.settings.nats_url, ctx.settings.bus.clone()).await?;
    let app = Arc::new(App {
        secrets: crypto::SecretBox::from_base64(settings.secret_key.expose())?,
        outbox: bus::Outbox::new(ctx.settings.bus.root.clone(), SERVICE),
        clock: ctx.clock.clone(),
        clients: clients::Clients::new(&ctx.settings.identity_url, &settings.files_url, &settings.cases_url).await?,
        mailer: mail::Mailer::new(Duration::from_secs(settings.smtp_timeout_secs)),
        database_url: ctx.settings.database_url.expose().clone(),
        pool: pool.clone(),
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
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "notifications gRPC listening");

    let mut tasks = JoinSet::new();
    {
        let (pool, bus, cancel) = (pool.clone(), bus.clone(), ctx.shutdown.clone());
        tasks.spawn(async move {
            if let Err(e) = bus.ensure_stream(SERVICE).await {
                tracing::warn!(error = %e, "notifications stream not created yet; relay will retry publishing");
            }
            bus::run_relay(pool, bus, SERVICE, cancel).await
        });
    }
    let handler = events::Events::new(app.clone());
    for spec in [events::identity_consumer(), events::cases_consumer()] {
        let (pool, bus, cancel, handler) = (pool.clone(), bus.clone(), ctx.shutdown.clone(), handler.clone());
        tasks.spawn(consume(pool, bus, spec, handler, cancel));
    }
    if let Some(l) = webhook {
        let (bots, cancel) = (bots.clone(), ctx.shutdown.clone());
        tasks.spawn(async move {
            if let Err(e) = telegram::webhook::serve(l, bots, cancel).await {
                tracing::error!(error = %e, "telegram webhook endpoint stopped");
            }
        });
    }
    {
        let bots = bots.clone();
        tasks.spawn(async move {
            if let Err(e) = bots.start_all().await {
                tracing::error!(error = %e, "bots not started");
            }
        });
    }
    let verifier = Arc::new(Verifier::new(opeka_platform::auth::grpc_jwks_source(ctx.settings.identity_url.clone())));
    let routes = tonic::service::Routes::new(
        opeka_proto::notifications::notifications_service_server::NotificationsServiceServer::new(api::Api::new(
            app.clone(),
            bots.clone(),
        )),
    );
    let served = opeka_platform::grpc::serve(listener, routes, &[GRPC_NAME], verifier, ctx.shutdown.clone()).await;
    ctx.shutdown.cancel();
    while tasks.join_next().await.is_some() {}
    bots.join().await;
    served
}

/// Runs one consumer until cancelled, starting it again (with backoff) when
/// the broker is not reachable yet.
async fn consume(
    pool: sqlx::PgPool,
    bus: bus::Bus,
    spec: bus::ConsumerSpec,
    handler: Arc<events::Events>,
    cancel: tokio_util::sync::CancellationToken,
) {
    let mut backoff = Duration::from_millis(500);
    loop {
        let spec = bus::ConsumerSpec {
            service: spec.service,
            durable: spec.durable.clone(),
            stream_of: spec.stream_of,
            events: spec.events.clone(),
        };
        let durable = spec.durable.clone();
        match bus::run_consumer(pool.clone(), bus.clone(), spec, handler.clone(), cancel.clone()).await {
            Ok(()) if cancel.is_cancelled() => return,
            Ok(()) => tracing::warn!(%durable, "consumer ended; starting it again"),
            Err(e) => tracing::warn!(%durable, error = %e, "consumer not running; retrying"),
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(Duration::from_secs(10));
    }
}

/// Readiness checks for the process's admin server.
pub async fn admin_parts(ctx: &Context, settings: &Settings) -> anyhow::Result<admin::Admin> {
    let pool = db::connect(ctx.settings.database_url.expose(), SERVICE, 2.min(settings.db_max_connections)).await?;
    Ok(admin::Admin::new().check("notifications-db", admin::db_check(pool)))
}
