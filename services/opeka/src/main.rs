//! The one Opeka binary: `serve` any subset of services, `migrate`, manage
//! tenants, seed a demo. One image, many Deployments.
#![forbid(unsafe_code)]

use std::collections::BTreeSet;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use opeka_platform::{Context, admin::Admin, settings::PlatformSettings};
use serde::Serialize;
use tokio::task::JoinSet;

mod demo;

const ALL: [&str; 6] = ["identity", "cases", "files", "notifications", "scheduler", "gateway"];

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
fn bus_services() -> Vec<opeka_platform::bus::permissions::ServiceBus> {
    vec![
        opeka_identity::bus_service(),
        opeka_cases::bus_service(),
        opeka_files::bus_service(),
        opeka_notifications::bus_service(),
        opeka_scheduler::bus_service(),
        opeka_platform::bus::permissions::ServiceBus::new(ADMIN_BUS_USER, false, &[]),
    ]
}

/// The NATS user of `opeka serve`'s readiness check.
const ADMIN_BUS_USER: &str = "admin";

fn nats_config(config: &Config, passwords_from_env: bool, test_server: bool) -> anyhow::Result<String> {
    use opeka_platform::bus::permissions::{self, Password, Scope, User};
    let services = bus_services();
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

#[tokio::main]
async fn main() {
    if let Err(e) = real_main().await {
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
            print!("{}", nats_config(&config, passwords_from_env, test_server)?);
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
    let owner = config.platform.migrate_database_url.expose();
    opeka_platform::db::ensure_database(owner).await.context("OPEKA_MIGRATE_DATABASE_URL")?;
    for spec in [
        &opeka_identity::SCHEMA,
        &opeka_cases::SCHEMA,
        &opeka_files::SCHEMA,
        &opeka_notifications::SCHEMA,
        &opeka_scheduler::SCHEMA,
        &opeka_gateway::SCHEMA,
    ] {
        let app = config.platform.database_url_for(spec.schema)?.expose();
        opeka_platform::db::migrate(owner, app, spec).await.with_context(|| format!("migrating {}", spec.schema))?;
        println!("migrated schema {}", spec.schema);
    }
    Ok(())
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

async fn serve(config: Config, list: &str) -> anyhow::Result<()> {
    let wanted: BTreeSet<&str> = if list.trim() == "all" {
        ALL.into_iter().collect()
    } else {
        list.split(',').map(str::trim).filter(|s| !s.is_empty()).collect()
    };
    for s in &wanted {
        anyhow::ensure!(ALL.contains(s), "--services: unknown service '{s}' (known: {})", ALL.join(", "));
    }
    // Production refuses the development keys committed in the source,
    // before anything binds or connects (each service's `run` checks too).
    if wanted.contains("identity") {
        config.identity.require_own_keys(&config.platform)?;
    }
    if wanted.contains("notifications") {
        config.notifications.require_own_keys(&config.platform)?;
    }
    if wanted.contains("gateway") {
        config.gateway.require_own_keys(&config.platform)?;
    }
    let _telemetry = opeka_platform::telemetry::init("opeka", config.platform.log_format);
    let ctx = Context::new(config.platform.clone());
    let mut tasks: JoinSet<(&'static str, anyhow::Result<()>)> = JoinSet::new();
    let mut admin = Admin::new();

    if wanted.contains("identity") {
        let listener = opeka_platform::grpc::bind(&config.identity.grpc_addr).await?;
        tracing::info!(addr = %listener.local_addr()?, "identity: gRPC");
        admin = admin.absorb(opeka_identity::admin_parts(&ctx, &config.identity).await?);
        let (ctx, s) = (ctx.clone(), config.identity.clone());
        tasks.spawn(async move { ("identity", opeka_identity::run(ctx, s, listener).await) });
    }
    if wanted.contains("cases") {
        let listener = opeka_platform::grpc::bind(&config.cases.grpc_addr).await?;
        tracing::info!(addr = %listener.local_addr()?, "cases: gRPC");
        admin = admin.absorb(opeka_cases::admin_parts(&ctx, &config.cases).await?);
        let (ctx, s) = (ctx.clone(), config.cases.clone());
        tasks.spawn(async move { ("cases", opeka_cases::run(ctx, s, listener).await) });
    }
    if wanted.contains("files") {
        let listener = opeka_platform::grpc::bind(&config.files.grpc_addr).await?;
        tracing::info!(addr = %listener.local_addr()?, "files: gRPC");
        admin = admin.absorb(opeka_files::admin_parts(&ctx, &config.files).await?);
        let (ctx, s) = (ctx.clone(), config.files.clone());
        tasks.spawn(async move { ("files", opeka_files::run(ctx, s, listener).await) });
    }
    if wanted.contains("notifications") {
        let listener = opeka_platform::grpc::bind(&config.notifications.grpc_addr).await?;
        tracing::info!(addr = %listener.local_addr()?, "notifications: gRPC");
        admin = admin.absorb(opeka_notifications::admin_parts(&ctx, &config.notifications).await?);
        let (ctx, s) = (ctx.clone(), config.notifications.clone());
        tasks.spawn(async move { ("notifications", opeka_notifications::run(ctx, s, listener).await) });
    }
    if wanted.contains("scheduler") {
        let listener = opeka_platform::grpc::bind(&config.scheduler.grpc_addr).await?;
        tracing::info!(addr = %listener.local_addr()?, "scheduler: gRPC");
        admin = admin.absorb(opeka_scheduler::admin_parts(&ctx, &config.scheduler).await?);
        let (ctx, s) = (ctx.clone(), config.scheduler.clone());
        tasks.spawn(async move { ("scheduler", opeka_scheduler::run(ctx, s, listener).await) });
    }
    if wanted.contains("gateway") {
        let listener = opeka_platform::grpc::bind(&config.gateway.http_addr).await?;
        let addr = listener.local_addr()?;
        tracing::info!(%addr, "gateway: HTTP");
        println!("gateway: {}/t/{}/", config.gateway.public_url.trim_end_matches('/'), config.gateway.default_tenant);
        let (ctx, s) = (ctx.clone(), config.gateway.clone());
        tasks.spawn(async move { ("gateway", opeka_gateway::run(ctx, s, listener).await) });
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
