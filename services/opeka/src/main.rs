//! The one Opeka binary: `serve` any subset of services, `migrate`, manage
//! tenants, seed a demo. One image, many Deployments.
#![forbid(unsafe_code)]

use std::collections::BTreeSet;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use opeka_platform::bus::permissions::ServiceBus;
use opeka_platform::service::Service;
use opeka_platform::{Context, admin::Admin, settings::PlatformSettings};
use serde::Serialize;
use tokio::task::JoinSet;

mod demo;

#[derive(Parser)]
#[command(name = "opeka", version, about = "Opeka: a platform for social-services agencies")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Serve services in this process.
    Serve {
        /// `all`, or a comma-separated list: identity,gateway
        #[arg(long, default_value = "all")]
        services: String,
        /// Print the effective configuration (secrets hidden) and exit.
        #[arg(long)]
        dump_config: bool,
    },
    /// Apply every service's migrations (run once per release, e.g. as a Job).
    Migrate,
    /// Tenants (agencies).
    Tenant {
        #[command(subcommand)]
        cmd: TenantCmd,
    },
    /// Create (or refresh) the demo tenant and print its logins.
    Demo,
    /// Print the NATS server's `authorization` block: one user per process,
    /// allowed only its own subjects and the streams it consumes.
    NatsConfig {
        /// Write `$OPEKA_NATS__<SERVICE>__PASSWORD` references (nats-server
        /// reads them from its environment) instead of the passwords.
        #[arg(long)]
        passwords_from_env: bool,
        /// For a shared test server: own subjects under any root, the
        /// JetStream API open, the test passwords and a harness user.
        #[arg(long)]
        test_server: bool,
    },
}

/// Every process's NATS user and what it may do: the services' declared
/// streams and `admin`, the readiness connection (no publishing at all).
async fn bus_services(config: &Config) -> anyhow::Result<Vec<ServiceBus>> {
    struct Buses(Vec<ServiceBus>);
    impl EachService for Buses {
        async fn visit<S: Service>(&mut self, _: &S::Settings) -> anyhow::Result<()> {
            self.0.extend(S::bus());
            Ok(())
        }
    }
    let mut buses = Buses(Vec::new());
    config.each(&mut buses).await?;
    buses.0.push(ServiceBus::new(ADMIN_BUS_USER, false, &[]));
    Ok(buses.0)
}

/// The NATS user of `opeka serve`'s readiness check.
const ADMIN_BUS_USER: &str = "admin";

async fn nats_config(config: &Config, passwords_from_env: bool, test_server: bool) -> anyhow::Result<String> {
    use opeka_platform::bus::permissions::{self, Password, Scope, User};
    let services = bus_services(config).await?;
    if test_server {
        return Ok(opeka_platform::testing::test_server_config(Scope::AnyRoot, &services));
    }
    let bus = &config.platform.bus;
    let scope = Scope::Deployment { root: &bus.root, stream_prefix: &bus.stream_prefix };
    let mut users = Vec::new();
    for s in services {
        let var = format!("OPEKA_NATS__{}__PASSWORD", s.service.to_uppercase());
        let configured = config.platform.nats.get(&s.service);
        let name = configured.map(|c| c.user.clone()).filter(|u| !u.is_empty()).unwrap_or_else(|| s.service.clone());
        let password = if passwords_from_env {
            Password::Env(var)
        } else {
            match configured.map(|c| c.password.expose().clone()).filter(|p| !p.is_empty()) {
                Some(p) => Password::Plain(p),
                None => anyhow::bail!("{var} is not set (or use --passwords-from-env)"),
            }
        };
        users.push(User { name, password, grants: Some(s) });
    }
    Ok(permissions::render(scope, &users))
}

#[derive(Subcommand)]
enum TenantCmd {
    /// Create a tenant and its first admin; prints a one-time password.
    Create {
        /// Short name used in URLs and event subjects, e.g. `region-1`.
        slug: String,
        /// Display name (defaults to the slug).
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        admin_login: String,
    },
    /// List tenants.
    List,
}

/// The whole configuration: process settings plus each service's section.
#[derive(Debug, Serialize)]
struct Config {
    #[serde(flatten)]
    platform: PlatformSettings,
    identity: opeka_identity::Settings,
    cases: opeka_cases::Settings,
    files: opeka_files::Settings,
    notifications: opeka_notifications::Settings,
    scheduler: opeka_scheduler::Settings,
    gateway: opeka_gateway::Settings,
}

fn load_config() -> anyhow::Result<Config> {
    use opeka_platform::settings::{load, load_section};
    let c = Config {
        platform: load()?,
        identity: load_section("identity")?,
        cases: load_section("cases")?,
        files: load_section("files")?,
        notifications: load_section("notifications")?,
        scheduler: load_section("scheduler")?,
        gateway: load_section("gateway")?,
    };
    c.platform.validate()?;
    c.identity.validate()?;
    c.cases.validate()?;
    c.files.validate()?;
    c.notifications.validate()?;
    c.scheduler.validate()?;
    Ok(c)
}

/// Something done to every service in turn (`Config::each`).
trait EachService {
    async fn visit<S: Service>(&mut self, settings: &S::Settings) -> anyhow::Result<()>;
}

impl Config {
    /// The one list of services, in start-up order: a new service is a
    /// section in `Config` and one line here.
    async fn each(&self, v: &mut impl EachService) -> anyhow::Result<()> {
        v.visit::<opeka_identity::Identity>(&self.identity).await?;
        v.visit::<opeka_cases::Cases>(&self.cases).await?;
        v.visit::<opeka_files::Files>(&self.files).await?;
        v.visit::<opeka_notifications::Notifications>(&self.notifications).await?;
        v.visit::<opeka_scheduler::Scheduler>(&self.scheduler).await?;
        v.visit::<opeka_gateway::Gateway>(&self.gateway).await
    }
}

#[tokio::main]
async fn main() {
    if let Err(e) = Box::pin(real_main()).await {
        eprintln!("opeka: {e:#}");
        std::process::exit(1);
    }
}

async fn real_main() -> anyhow::Result<()> {
    opeka_platform::install_crypto_provider();
    let cli = Cli::parse();
    let config = load_config()?;
    match cli.cmd {
        Cmd::Serve { services, dump_config } => {
            if dump_config {
                println!("{}", serde_json::to_string_pretty(&config)?);
                return Ok(());
            }
            serve(config, &services).await
        }
        Cmd::Migrate => migrate(&config).await,
        Cmd::Tenant { cmd: TenantCmd::Create { slug, name, admin_login } } => {
            let pool = app_pool(&config).await?;
            let (tenant, admin) = opeka_identity::bootstrap::create_tenant(
                &pool,
                &config.identity,
                &slug,
                name.as_deref().unwrap_or(&slug),
                &admin_login,
            )
            .await?;
            println!("tenant {} created (id {})", tenant.slug, tenant.id);
            println!("admin login: {}", admin.login);
            println!("one-time password: {}", admin.password);
            Ok(())
        }
        Cmd::Tenant { cmd: TenantCmd::List } => {
            let pool = app_pool(&config).await?;
            for t in opeka_identity::store::list_tenants(&pool).await? {
                println!("{}\t{}\t{}", t.slug, t.id, t.name);
            }
            Ok(())
        }
        Cmd::Demo => demo(&config).await,
        Cmd::NatsConfig { passwords_from_env, test_server } => {
            print!("{}", nats_config(&config, passwords_from_env, test_server).await?);
            Ok(())
        }
    }
}

/// A small pool of `service`'s own role (each command touches only the
/// schemas it needs, with the role that owns that work).
async fn service_pool(config: &Config, service: &str) -> anyhow::Result<sqlx::PgPool> {
    let url = config.platform.database_url_for(service)?;
    opeka_platform::db::connect(url.expose(), service, 2).await.with_context(|| {
        format!("connecting with OPEKA_DATABASES__{} (did you run `opeka migrate`?)", service.to_uppercase())
    })
}

async fn app_pool(config: &Config) -> anyhow::Result<sqlx::PgPool> {
    service_pool(config, opeka_identity::SERVICE).await
}

/// Creates the database if missing, then each schema with its own role
/// (privileges of any other role on it, e.g. the shared `opeka_app` of
/// earlier releases, are revoked).
async fn migrate(config: &Config) -> anyhow::Result<()> {
    struct Migrate<'a>(&'a PlatformSettings);
    impl EachService for Migrate<'_> {
        async fn visit<S: Service>(&mut self, _: &S::Settings) -> anyhow::Result<()> {
            let (owner, app) = (self.0.migrate_database_url.expose(), self.0.database_url_for(S::NAME)?.expose());
            opeka_platform::db::migrate(owner, app, S::schema())
                .await
                .with_context(|| format!("migrating {}", S::NAME))?;
            println!("migrated schema {}", S::NAME);
            Ok(())
        }
    }
    let owner = config.platform.migrate_database_url.expose();
    opeka_platform::db::ensure_database(owner).await.context("OPEKA_MIGRATE_DATABASE_URL")?;
    config.each(&mut Migrate(&config.platform)).await
}

async fn demo(config: &Config) -> anyhow::Result<()> {
    let identity_pool = app_pool(config).await?;
    let cases_pool = service_pool(config, opeka_cases::SERVICE).await?;
    let target = demo::Target {
        identity_pool: &identity_pool,
        cases_pool: &cases_pool,
        identity: &config.identity,
        bus_root: &config.platform.bus.root,
    };
    let d = demo::seed(&target).await?;
    println!("demo tenant: {} (id {})", d.tenant.slug, d.tenant.id);
    for l in &d.logins {
        println!("  {:<10} login: {:<10} password: {}", l.role, l.account.login, l.account.password);
    }
    println!("  organisations: «{}» (executor), «{}» (consultant)", demo::MINISTRY, demo::CENTRE);
    for (tree, created, updated) in &d.trees {
        println!("  reference tree {tree}: {created} nodes created, {updated} refreshed");
    }
    let numbers: Vec<String> = d.appeal_numbers.iter().map(|n| format!("№{n}")).collect();
    println!("  sample appeals: {}", numbers.join(", "));
    Ok(())
}

/// Collects the services' names (`--services`).
struct Names(Vec<&'static str>);

impl EachService for Names {
    async fn visit<S: Service>(&mut self, _: &S::Settings) -> anyhow::Result<()> {
        self.0.push(S::NAME);
        Ok(())
    }
}

/// Production refuses the development keys committed in the source, before
/// anything binds or connects (each service's `run` checks too).
struct Preflight<'a> {
    wanted: &'a BTreeSet<&'a str>,
    platform: &'a PlatformSettings,
}

impl EachService for Preflight<'_> {
    async fn visit<S: Service>(&mut self, settings: &S::Settings) -> anyhow::Result<()> {
        if self.wanted.contains(S::NAME) { S::preflight(settings, self.platform) } else { Ok(()) }
    }
}

/// Binds and starts each wanted service; gathers their admin parts.
struct Start<'a> {
    wanted: &'a BTreeSet<&'a str>,
    ctx: Context,
    tasks: JoinSet<(&'static str, anyhow::Result<()>)>,
    admin: Admin,
}

impl EachService for Start<'_> {
    async fn visit<S: Service>(&mut self, settings: &S::Settings) -> anyhow::Result<()> {
        if !self.wanted.contains(S::NAME) {
            return Ok(());
        }
        let listener = opeka_platform::grpc::bind(S::addr(settings)).await?;
        tracing::info!(addr = %listener.local_addr()?, service = S::NAME, "listening");
        self.admin = std::mem::take(&mut self.admin).absorb(S::admin(&self.ctx, settings).await?);
        let run = S::run(self.ctx.clone(), settings.clone(), listener);
        self.tasks.spawn(async move { (S::NAME, run.await) });
        Ok(())
    }
}

async fn serve(config: Config, list: &str) -> anyhow::Result<()> {
    let mut all = Names(Vec::new());
    config.each(&mut all).await?;
    let wanted: BTreeSet<&str> = if list.trim() == "all" {
        all.0.iter().copied().collect()
    } else {
        list.split(',').map(str::trim).filter(|s| !s.is_empty()).collect()
    };
    for s in &wanted {
        anyhow::ensure!(all.0.contains(s), "--services: unknown service '{s}' (known: {})", all.0.join(", "));
    }
    config.each(&mut Preflight { wanted: &wanted, platform: &config.platform }).await?;
    let _telemetry = opeka_platform::telemetry::init("opeka", config.platform.log_format);
    let ctx = Context::new(config.platform.clone());
    let mut start = Start { wanted: &wanted, ctx: ctx.clone(), tasks: JoinSet::new(), admin: Admin::new() };
    config.each(&mut start).await?;
    let Start { mut tasks, admin, .. } = start;
    if wanted.contains("gateway") {
        println!("gateway: {}/t/{}/", config.gateway.public_url.trim_end_matches('/'), config.gateway.default_tenant);
    }
    {
        let listener = opeka_platform::grpc::bind(&config.platform.admin_addr).await?;
        tracing::info!(addr = %listener.local_addr()?, "admin: /healthz /readyz /metrics");
        let bus = opeka_platform::bus::Bus::connect(&config.platform, ADMIN_BUS_USER).await?;
        // Red while a required background task is down (between a panic or
        // an end and its restart), naming it.
        let admin = admin.check("nats", opeka_platform::admin::bus_check(bus)).check("tasks", ctx.tasks.check());
        let shutdown = ctx.shutdown.clone();
        tasks.spawn(async move { ("admin", admin.serve(listener, shutdown).await) });
    }

    let shutdown = ctx.shutdown.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutdown requested");
        shutdown.cancel();
    });

    let mut failed = None;
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok((name, Ok(()))) => tracing::info!(task = name, "stopped"),
            Ok((name, Err(e))) => {
                tracing::error!(task = name, error = %format!("{e:#}"), "task failed; stopping the process");
                failed.get_or_insert_with(|| anyhow::anyhow!("{name}: {e:#}"));
            }
            Err(e) => {
                failed.get_or_insert_with(|| anyhow::anyhow!("task panicked: {e}"));
            }
        }
        ctx.shutdown.cancel();
    }
    failed.map_or(Ok(()), Err)
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
