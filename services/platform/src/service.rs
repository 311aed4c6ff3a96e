//! What every service crate hands to the one binary (issue 10 point 1):
//! its name, settings, schema, bus user, readiness checks and `run`, so
//! `opeka serve`, `migrate` and `nats-config` treat every service alike and
//! a new service is one `impl` and one line in `services/opeka`.
use std::future::Future;

use tokio::net::TcpListener;

use crate::Context;
use crate::admin::{self, Admin};
use crate::bus::permissions::ServiceBus;
use crate::db::{self, SchemaSpec};
use crate::settings::PlatformSettings;

pub trait Service: 'static {
    /// Its schema, database role, NATS user and `--services` name.
    const NAME: &'static str;
    /// Its `OPEKA_<NAME>__…` settings.
    type Settings: Clone + Send + Sync + 'static;

    /// Its tables and migrations (`opeka migrate`).
    fn schema() -> &'static SchemaSpec;

    /// What its NATS user may do (`opeka nats-config`); `None` for a
    /// process that does not touch the bus.
    fn bus() -> Option<ServiceBus>;

    /// Where it listens.
    fn addr(settings: &Self::Settings) -> &str;

    /// Refusals due before anything binds or connects (production keys).
    fn preflight(_settings: &Self::Settings, _platform: &PlatformSettings) -> anyhow::Result<()> {
        Ok(())
    }

    /// Its `/readyz` checks and extra routes on the process's admin port:
    /// by default, that its own database role can connect.
    fn admin(ctx: &Context, _settings: &Self::Settings) -> impl Future<Output = anyhow::Result<Admin>> + Send {
        let url = ctx.settings.database_url_for(Self::NAME).map(|u| u.expose().to_string());
        async move {
            let pool = db::connect(&url?, Self::NAME, 2).await?;
            Ok(Admin::new().check(&format!("{}-db", Self::NAME), admin::db_check(pool)))
        }
    }

    /// Serves on `listener` until `ctx.shutdown` is cancelled, with its
    /// background tasks supervised in `ctx.tasks`.
    fn run(
        ctx: Context,
        settings: Self::Settings,
        listener: TcpListener,
    ) -> impl Future<Output = anyhow::Result<()>> + Send;
}

/// What every gRPC service opens first, in the same order everywhere: its
/// pool (its own role), its bus user, its call kit, its supervised task
/// group with the outbox relay running in it.
pub struct Parts {
    pub name: &'static str,
    pub pool: sqlx::PgPool,
    pub bus: crate::bus::Bus,
    pub kit: crate::call::Kit,
    pub background: crate::supervise::TaskGroup,
    shutdown: tokio_util::sync::CancellationToken,
}

impl Parts {
    pub async fn open(ctx: &Context, name: &'static str, max_connections: u32) -> anyhow::Result<Self> {
        let pool = db::connect(ctx.settings.database_url_for(name)?.expose(), name, max_connections).await?;
        let bus = crate::bus::Bus::connect(&ctx.settings, name).await?;
        let outbox = crate::bus::Outbox::new(ctx.settings.bus.root.clone(), name);
        let kit = crate::call::Kit::new(pool.clone(), outbox.clone(), ctx.clock.clone());
        let background = ctx.tasks.group(&ctx.shutdown);
        crate::bus::spawn_relay(&background, pool.clone(), bus.clone(), outbox, ctx.shutdown.clone());
        Ok(Self { name, pool, bus, kit, background, shutdown: ctx.shutdown.clone() })
    }

    /// Runs `consumer` supervised, until shutdown.
    pub fn consume(&self, consumer: crate::bus::Consumer) {
        crate::bus::spawn_consumer(
            &self.background,
            self.pool.clone(),
            self.bus.clone(),
            (*self.kit.outbox).clone(),
            consumer,
            self.shutdown.clone(),
        );
    }

    /// A token verifier over `source` (by default identity's JWKS) that
    /// also refuses revoked sessions (logout, password change, deletion).
    pub fn verifier(
        &self,
        ctx: &Context,
        source: Option<crate::auth::JwksSource>,
    ) -> std::sync::Arc<crate::auth::Verifier> {
        let source = source.unwrap_or_else(|| crate::auth::grpc_jwks_source(ctx.settings.identity_url.clone()));
        crate::revocation::verifier(source, &self.bus, &self.background, self.name, self.shutdown.clone())
    }

    /// Serves `routes` (health and reflection naming `names`) until shutdown,
    /// then waits for the background tasks.
    pub async fn serve(
        self,
        ctx: &Context,
        listener: TcpListener,
        routes: tonic::service::Routes,
        names: &[&'static str],
        verifier: std::sync::Arc<crate::auth::Verifier>,
    ) -> anyhow::Result<()> {
        let served = crate::grpc::serve(listener, routes, names, verifier, ctx).await;
        ctx.shutdown.cancel();
        self.background.join().await;
        served
    }
}
