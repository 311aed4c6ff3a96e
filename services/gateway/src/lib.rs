//! The web gateway: server-rendered pages (minijinja, htmx on top) for staff
//! of each tenant under `/t/{tenant}/…`, and the sessions table behind them.
//! It owns no business data: every page is built from other services' gRPC.
#![forbid(unsafe_code)]

pub mod clients;
pub mod hardening;
pub mod identity;
mod pages;
pub mod session;
pub mod settings;
pub mod store;
pub mod strings;
pub mod tenancy;
pub mod terms;
pub mod views;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use opeka_platform::clock::SharedClock;
use opeka_platform::db::{self, SchemaSpec};
use sqlx::PgPool;
use tokio::net::TcpListener;
use tower_http::services::ServeDir;
use tower_http::trace::TraceLayer;

pub use settings::Settings;
pub use strings::Strings;

use clients::{AppealsClient, CasesClient, Clients, FilesClient, LegalAidClient, NotificationsClient, SchedulerClient};
use identity::IdentityClient;

/// The gateway's schema: only the sessions table. Applied by `opeka migrate`.
pub static SCHEMA: SchemaSpec = SchemaSpec { schema: "gateway", migrator: &MIGRATOR, append_only: &[] };
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Everything a handler needs; cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub settings: Settings,
    pub pool: PgPool,
    pub identity: IdentityClient,
    pub cases: CasesClient,
    pub appeals: AppealsClient,
    pub legal_aid: LegalAidClient,
    pub files: FilesClient,
    pub notifications: NotificationsClient,
    pub scheduler: SchedulerClient,
    pub clock: SharedClock,
    /// Seals the tokens a session keeps (`OPEKA_GATEWAY__SECRET_KEY`).
    pub secrets: opeka_platform::crypto::SecretBox,
    views: views::Views,
    strings: &'static Strings,
    /// Each tenant's terminology (S0-2), as cases last reported it.
    terms: terms::TermsCache,
    /// `OPEKA_GATEWAY__TRUSTED_PROXIES`, parsed.
    pub proxies: opeka_platform::throttle::Networks,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    pub fn new(settings: Settings, pool: PgPool, clients: Clients, clock: SharedClock) -> anyhow::Result<Self> {
        settings.validate()?;
        let strings = Strings::for_locale(&settings.locale).expect("validated locale");
        let views = views::Views::new()?;
        let Clients { identity, cases, appeals, legal_aid, files, notifications, scheduler } = clients;
        Ok(Self(Arc::new(Inner {
            secrets: settings.secret_box()?,
            proxies: settings.proxies(),
            settings,
            pool,
            identity,
            cases,
            appeals,
            legal_aid,
            files,
            notifications,
            scheduler,
            clock,
            views,
            strings,
            terms: terms::TermsCache::default(),
        })))
    }

    pub fn strings(&self) -> &'static Strings {
        self.strings
    }
}

/// The web gateway as `opeka serve`, `migrate` and `nats-config` see it.
pub struct Gateway;

impl opeka_platform::service::Service for Gateway {
    const NAME: &'static str = "gateway";
    type Settings = Settings;

    fn schema() -> &'static db::SchemaSpec {
        &SCHEMA
    }

    fn bus() -> Option<opeka_platform::bus::permissions::ServiceBus> {
        None
    }

    fn addr(settings: &Settings) -> &str {
        &settings.http_addr
    }

    fn preflight(settings: &Settings, platform: &opeka_platform::settings::PlatformSettings) -> anyhow::Result<()> {
        Ok(settings.require_own_keys(platform)?)
    }

    /// Its readiness is the services' it calls; it adds no check of its own.
    async fn admin(
        _ctx: &opeka_platform::Context,
        _settings: &Settings,
    ) -> anyhow::Result<opeka_platform::admin::Admin> {
        Ok(opeka_platform::admin::Admin::new())
    }

    fn run(
        ctx: opeka_platform::Context,
        settings: Settings,
        listener: TcpListener,
    ) -> impl Future<Output = anyhow::Result<()>> + Send {
        run(ctx, settings, listener)
    }
}

/// Serves the web UI on `listener` until `ctx.shutdown` is cancelled.
pub async fn run(ctx: opeka_platform::Context, settings: Settings, listener: TcpListener) -> anyhow::Result<()> {
    settings.validate()?;
    settings.require_own_keys(&ctx.settings)?;
    let pool = db::connect(
        ctx.settings.database_url_for(SCHEMA.schema)?.expose(),
        SCHEMA.schema,
        ctx.settings.db_max_connections,
    )
    .await?;
    let clients = Clients::connect(&ctx.settings.identity_url, &settings).await?;
    let htmx = settings.assets_dir.join("htmx.org/dist/htmx.min.js");
    if !htmx.is_file() {
        // Pages work without htmx; say once how to get the enhancements.
        tracing::warn!(path = %htmx.display(), "htmx not found; run `npm ci` in services/gateway/web");
    }
    let state = AppState::new(settings, pool.clone(), clients, ctx.clock.clone())?;
    let background = ctx.tasks.group(&ctx.shutdown);
    {
        let (clock, cancel) = (ctx.clock.clone(), ctx.shutdown.clone());
        background.spawn("gateway.session-pruner", opeka_platform::supervise::Need::Optional, move || {
            prune_sessions(pool.clone(), clock.clone(), cancel.clone())
        });
    }
    tracing::info!(addr = %listener.local_addr()?, "gateway listening");
    let shutdown = ctx.shutdown.clone();
    // The peer address feeds the client address forwarded to services.
    let app = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app).with_graceful_shutdown(async move { shutdown.cancelled().await }).await?;
    ctx.shutdown.cancel();
    background.join().await;
    Ok(())
}

/// Deletes ended sessions every few minutes; safe with many replicas.
async fn prune_sessions(pool: PgPool, clock: SharedClock, shutdown: tokio_util::sync::CancellationToken) {
    let mut every = tokio::time::interval(Duration::from_secs(300));
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = every.tick() => {}
        }
        match store::prune(&pool, clock.now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(sessions = n, "ended sessions pruned"),
            Err(e) => tracing::warn!(error = %e, "session pruning failed"),
        }
    }
}

/// The whole HTTP surface of the gateway.
pub fn router(state: AppState) -> Router {
    let assets = ServeDir::new(&state.settings.assets_dir);
    Router::new()
        .route("/", get(root))
        .route("/t/{tenant}", get(tenant_root))
        .route("/static/style.css", get(stylesheet))
        .route("/static/app.js", get(script))
        .nest_service("/assets", assets)
        .merge(pages::routes())
        .layer(axum::middleware::from_fn_with_state(state.clone(), hardening::utf8_forms))
        .layer(axum::middleware::from_fn_with_state(state.clone(), hardening::forward_client))
        .layer(axum::middleware::map_response(security_headers))
        .layer(axum::middleware::map_response_with_state(state.clone(), hardening::hsts))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn root(State(state): State<AppState>) -> Redirect {
    Redirect::to(&format!("{}/", tenancy::base(&state.settings.default_tenant)))
}

async fn tenant_root(Path(tenant): Path<String>) -> Response {
    if !tenancy::is_valid_slug(&tenant) {
        return StatusCode::NOT_FOUND.into_response();
    }
    Redirect::permanent(&format!("{}/", tenancy::base(&tenant))).into_response()
}

const STYLE_CSS: &str = include_str!("../static/style.css");
const APP_JS: &str = include_str!("../static/app.js");

async fn stylesheet() -> Response {
    static_text("text/css; charset=utf-8", STYLE_CSS)
}

async fn script() -> Response {
    static_text("text/javascript; charset=utf-8", APP_JS)
}

fn static_text(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300")),
        ],
        body,
    )
        .into_response()
}

/// Headers every answer carries: scripts and styles only from the gateway
/// itself (so the pages hold no inline script or style), no framing.
async fn security_headers(mut res: Response) -> Response {
    let h = res.headers_mut();
    let set = |h: &mut axum::http::HeaderMap, k: HeaderName, v: &'static str| {
        h.entry(k).or_insert(HeaderValue::from_static(v));
    };
    set(
        h,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
    );
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(h, header::REFERRER_POLICY, "same-origin");
    res
}
