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
