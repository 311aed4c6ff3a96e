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

use opeka_platform::service::Parts;
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
    let parts = Parts::open(&ctx, SERVICE, settings.db_max_connections).await?;
    let store = blobs::open(&blobs::StoreUrl::parse(&settings.store_url).map_err(anyhow::Error::msg)?)?;
    let cases = cases::Cases::new(opeka_platform::grpc::channel(&settings.cases_url).await?);
    let state = Arc::new(State {
        allowed: settings.allowed().into(),
        blobs: blobs::Blobs::new(store, settings.upload_buffer_bytes),
        kit: parts.kit.clone(),
        settings,
        cases,
    });
    let verifier = parts.verifier(&ctx, None);
    tracing::info!(store = %state.settings.store_url, "files blob store");
    // Who curates whom (cases' citizen events): scopes curators to their own
    // citizens' files (`domain::citizen_scope`).
    parts.consume(opeka_platform::curators::consumer(SERVICE));
    let routes = tonic::service::Routes::new(
        opeka_proto::files::files_service_server::FilesServiceServer::new(api::Api::new(state))
            // Chunks are small; a header message never needs more.
            .max_decoding_message_size(upload::MAX_MESSAGE_BYTES),
    );
    parts.serve(&ctx, listener, routes, &[GRPC_NAME], verifier).await
}
