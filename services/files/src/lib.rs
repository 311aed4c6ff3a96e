//! Files service (`opeka.files.v1`): the tenant's file types, the files
//! citizens send and staff attach, and the files of appeals — metadata in
//! Postgres, blobs in an object store — with streaming upload and download,
//! audit and `file_received`.
#![forbid(unsafe_code)]

pub mod api;
pub mod blobs;
pub mod cases;
pub mod convert;
pub mod domain;
pub mod events;
pub mod settings;
pub mod store;
pub mod strings;
pub mod upload;

use std::future::Future;
use std::sync::Arc;

use opeka_platform::{Context, admin, bus, db};
use tokio::net::TcpListener;

pub use settings::Settings;

pub const SERVICE: &str = "files";
pub const GRPC_NAME: &str = "opeka.files.v1.FilesService";

pub static SCHEMA: db::SchemaSpec =
    db::SchemaSpec { schema: SERVICE, migrator: &MIGRATOR, append_only: &["audit_log"] };
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Everything a handler needs.
pub struct State {
    /// Pool, outbox and clock: what every call opens.
    pub kit: opeka_platform::call::Kit,
    pub settings: Settings,
    /// `settings.allowed_content_types`, normalised once.
    pub allowed: Arc<[String]>,
    pub blobs: blobs::Blobs,
    /// Asked whether the caller sees an appeal (its files' access rule).
    pub cases: cases::Cases,
}

/// files as `opeka serve`, `migrate` and `nats-config` see it.
pub struct Files;

impl opeka_platform::service::Service for Files {
    const NAME: &'static str = SERVICE;
    type Settings = Settings;

    fn schema() -> &'static db::SchemaSpec {
        &SCHEMA
    }

    /// What files' NATS user may do (`opeka nats-config`): publish its own
    /// events; it consumes cases' citizen events (who curates whom).
    fn bus() -> Option<bus::permissions::ServiceBus> {
        Some(bus::permissions::ServiceBus::new(SERVICE, true, &[opeka_platform::curators::consumer(SERVICE).spec]))
    }

    fn addr(settings: &Settings) -> &str {
        &settings.grpc_addr
    }

    /// Readiness checks (database and blob store) for the process's admin server.
    async fn admin(ctx: &Context, settings: &Settings) -> anyhow::Result<admin::Admin> {
        let pool =
            db::connect(ctx.settings.database_url_for(SERVICE)?.expose(), SERVICE, 2.min(settings.db_max_connections))
                .await?;
        let store = blobs::open(&blobs::StoreUrl::parse(&settings.store_url).map_err(anyhow::Error::msg)?)?;
        let blobs = blobs::Blobs::new(store, settings.upload_buffer_bytes);
        let store_check: admin::Check = Arc::new(move || {
            let blobs = blobs.clone();
            Box::pin(async move { blobs.check().await })
        });
        Ok(admin::Admin::new().check("files-db", admin::db_check(pool)).check("files-store", store_check))
    }

    fn run(ctx: Context, settings: Settings, listener: TcpListener) -> impl Future<Output = anyhow::Result<()>> + Send {
        run(ctx, settings, listener)
    }
}

/// Serves files on `listener` until `ctx.shutdown` is cancelled; runs the
/// outbox relay and the curator projection's consumer alongside. Tokens are verified against identity's JWKS.
pub async fn run(ctx: Context, settings: Settings, listener: TcpListener) -> anyhow::Result<()> {
    settings.validate()?;
    let pool =
        db::connect(ctx.settings.database_url_for(SERVICE)?.expose(), SERVICE, settings.db_max_connections).await?;
    let bus = bus::Bus::connect(&ctx.settings, SERVICE).await?;
    let store = blobs::open(&blobs::StoreUrl::parse(&settings.store_url).map_err(anyhow::Error::msg)?)?;
    let cases = cases::Cases::new(opeka_platform::grpc::channel(&settings.cases_url).await?);
    let state = Arc::new(State {
        allowed: settings.allowed().into(),
        blobs: blobs::Blobs::new(store, settings.upload_buffer_bytes),
        kit: opeka_platform::call::Kit::new(
            pool.clone(),
            bus::Outbox::new(ctx.settings.bus.root.clone(), SERVICE),
            ctx.clock.clone(),
        ),
        settings,
        cases,
    });
    let background = ctx.tasks.group(&ctx.shutdown);
    // Refuses revoked sessions too (logout, password change, deletion).
    let verifier = opeka_platform::revocation::verifier(
        opeka_platform::auth::grpc_jwks_source(ctx.settings.identity_url.clone()),
        &bus,
        &background,
        SERVICE,
        ctx.shutdown.clone(),
    );
    let addr = listener.local_addr()?;
    tracing::info!(%addr, store = %state.settings.store_url, "files gRPC listening");

    bus::spawn_relay(&background, pool.clone(), bus.clone(), SERVICE, ctx.shutdown.clone());
    // Who curates whom (cases' citizen events): scopes curators to their own
    // citizens' files (`domain::citizen_scope`).
    bus::spawn_consumer(
        &background,
        pool.clone(),
        bus.clone(),
        opeka_platform::curators::consumer(SERVICE),
        ctx.shutdown.clone(),
    );
    let routes = tonic::service::Routes::new(
        opeka_proto::files::files_service_server::FilesServiceServer::new(api::Api::new(state))
            // Chunks are small; a header message never needs more.
            .max_decoding_message_size(upload::MAX_MESSAGE_BYTES),
    );
    let served = opeka_platform::grpc::serve(listener, routes, &[GRPC_NAME], verifier, &ctx).await;
    ctx.shutdown.cancel();
    background.join().await;
    served
}
