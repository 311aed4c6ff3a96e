//! Postgres plumbing: pools bound to a service's schema, migrations run by an
//! owner role, the service role that Row-Level Security applies to, and the
//! tenant transaction every tenant query runs in.
use std::str::FromStr;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, Executor, PgConnection, PgPool, Postgres, Transaction};
use uuid::Uuid;

static PLUMBING: Migrator = sqlx::migrate!("./migrations");

pub type Tx = Transaction<'static, Postgres>;

/// A pool whose connections resolve unqualified names in `schema` first.
pub async fn connect(url: &str, schema: &str, max_connections: u32) -> anyhow::Result<PgPool> {
    let opts = PgConnectOptions::from_str(url)?
        .options([("search_path", schema)])
        .application_name(&format!("opeka-{schema}"));
    let pool = PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(std::time::Duration::from_secs(5))
        .connect_with(opts)
        .await?;
    Ok(pool)
}

/// Creates the database named in `owner_url` when it does not exist yet.
pub async fn ensure_database(owner_url: &str) -> anyhow::Result<()> {
    let opts = PgConnectOptions::from_str(owner_url)?;
    let Some(name) = opts.get_database().map(str::to_string) else { return Ok(()) };
    match PgConnection::connect_with(&opts).await {
        Ok(c) => {
            c.close().await.ok();
            Ok(())
        }
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("3D000") => {
            anyhow::ensure!(
                name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                "OPEKA_MIGRATE_DATABASE_URL: database name must be letters, digits and underscores"
            );
            let mut admin = PgConnection::connect_with(&opts.clone().database("postgres")).await?;
            run(&mut admin, format!("create database {name}")).await?;
            admin.close().await.ok();
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

/// Opens a transaction scoped to one tenant: RLS policies compare every row's
/// `tenant_id` with the transaction-local `opeka.tenant_id`.
pub async fn tenant_tx(pool: &PgPool, tenant_id: Uuid) -> Result<Tx, sqlx::Error> {
    let mut tx = pool.begin().await?;
    set_tenant(&mut tx, tenant_id).await?;
    Ok(tx)
}

pub async fn set_tenant(conn: &mut PgConnection, tenant_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("select set_config('opeka.tenant_id', $1, true)").bind(tenant_id.to_string()).execute(conn).await?;
    Ok(())
}

/// What a service hands to `migrate`.
pub struct SchemaSpec {
    pub schema: &'static str,
    pub migrator: &'static Migrator,
    /// Tables the service role may insert into and read, never change.
    pub append_only: &'static [&'static str],
}

/// Applies the plumbing and the service's migrations into its schema as the
/// owner role, then grants the service's own role (the user of `app_url`)
/// what it needs — and takes every privilege on the schema away from any
/// other role (the shared `opeka_app` of earlier releases, another service's
/// role, `PUBLIC`), so each service reaches its own schema only. Serialised
/// by the migrator's advisory lock, so concurrent runs are safe.
pub async fn migrate(owner_url: &str, app_url: &str, spec: &SchemaSpec) -> anyhow::Result<()> {
    let mut conn = PgConnection::connect(owner_url).await?;
    let app = PgConnectOptions::from_str(app_url)?;
    let app_role = app.get_username().to_string();
    ensure_service_role(&mut conn, &app_role, app_url).await?;
    tune_service_role(&mut conn, &app_role).await;
    let schema = spec.schema;
    run(&mut conn, format!("create schema if not exists {schema}")).await?;
    run(&mut conn, format!("set search_path to {schema}")).await?;

    let mut plumbing = Migrator::with_migrations(PLUMBING.migrations.to_vec());
    plumbing.dangerous_set_table_name(format!("{schema}._platform_migrations"));
    plumbing.run(&mut conn).await?;
    let mut own = Migrator::with_migrations(spec.migrator.migrations.to_vec());
    own.dangerous_set_table_name(format!("{schema}._sqlx_migrations"));
    own.run(&mut conn).await?;

    let grants = format!(
        "grant usage on schema {schema} to {app_role};
         grant select, insert, update, delete on all tables in schema {schema} to {app_role};
         grant usage, select on all sequences in schema {schema} to {app_role};
         revoke all on {schema}._platform_migrations, {schema}._sqlx_migrations from {app_role};"
    );
    run(&mut conn, grants).await?;
    for t in spec.append_only {
        run(&mut conn, format!("revoke update, delete, truncate on {schema}.{t} from {app_role}")).await?;
    }
    revoke_strangers(&mut conn, schema, &app_role).await?;
    conn.close().await?;
    Ok(())
}

/// Every role other than the objects' owner and `app_role` that holds a
/// privilege on the schema or on anything in it loses it; so does `PUBLIC`.
/// Read from the ACLs themselves (`aclexplode`), not from
/// `information_schema`, which shows only grants the current user is party to.
async fn revoke_strangers(conn: &mut PgConnection, schema: &str, app_role: &str) -> anyhow::Result<()> {
    let strangers: Vec<String> = sqlx::query_scalar(include_str!("sql/revoke_strangers.sql"))
        .bind(schema)
        .bind(app_role)
        .fetch_all(&mut *conn)
        .await?;
    for role in strangers.iter().map(String::as_str).chain(["public"]) {
        let who = if role == "public" { "public".to_string() } else { quote_ident(role) };
        run(
            conn,
            format!(
                "revoke all on all tables in schema {schema} from {who};
                 revoke all on all sequences in schema {schema} from {who};
                 revoke all on schema {schema} from {who};"
            ),
        )
        .await?;
        if role != "public" {
            tracing::info!(schema, role, "revoked a role's privileges on a schema it does not own");
        }
    }
    Ok(())
}

/// A role name from the catalogue, quoted as an identifier.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

async fn ensure_service_role(conn: &mut PgConnection, role: &str, app_url: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        role.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
        "OPEKA_DATABASES__*: the user name must be letters, digits and underscores"
    );
    let url = url_password(app_url);
    let exists: bool = sqlx::query_scalar("select exists(select 1 from pg_roles where rolname = $1)")
        .bind(role)
        .fetch_one(&mut *conn)
        .await?;
    if !exists {
        let pw = url.unwrap_or_default().replace('\'', "''");
        let sql = format!("create role {role} login nosuperuser nobypassrls nocreatedb nocreaterole password '{pw}'");
        if let Err(e) = run(conn, sql).await {
            // Another migrator created it in between: fine.
            let dup = matches!(&e, sqlx::Error::Database(d) if d.code().as_deref() == Some("42710") || d.code().as_deref() == Some("23505"));
            if !dup {
                return Err(e.into());
            }
        }
    }
    let (superuser, bypass, createdb, createrole): (bool, bool, bool, bool) =
        sqlx::query_as("select rolsuper, rolbypassrls, rolcreatedb, rolcreaterole from pg_roles where rolname = $1")
            .bind(role)
            .fetch_one(&mut *conn)
            .await?;
    anyhow::ensure!(
        !superuser && !bypass && !createdb && !createrole,
        "OPEKA_DATABASES__*: role {role} is a superuser, bypasses RLS or may create databases or roles; \
         services must connect as a plain NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE role"
    );
    Ok(())
}

/// The planner settings every service's queries are written for (issue
/// 11), set on the service role so each new connection has them:
/// - `jit = off`: compiling a plan costs more than the short queries here
///   save (a million-card journal count crossed the JIT threshold);
/// - `random_page_cost = 1.1`: storage is SSD; at the default 4 the planner
///   left the registry's search index for a scan of every citizen.
///
/// A migrating role not allowed to change the service role (one a DBA made)
/// leaves a warning with the statements to run instead.
pub const SERVICE_ROLE_SETTINGS: [(&str, &str); 2] = [("jit", "off"), ("random_page_cost", "1.1")];

async fn tune_service_role(conn: &mut PgConnection, role: &str) {
    for (name, value) in SERVICE_ROLE_SETTINGS {
        let sql = format!("alter role {role} set {name} = {value}");
        if let Err(e) = run(conn, sql.clone()).await {
            tracing::warn!(role, error = %e, "could not tune the service role; run as a superuser: {sql}");
        }
    }
}

/// Runs SQL built from trusted identifiers (schema and role names from settings).
pub async fn run(conn: &mut PgConnection, sql: String) -> Result<(), sqlx::Error> {
    conn.execute(sqlx::raw_sql(sqlx::AssertSqlSafe(sql))).await?;
    Ok(())
}

fn url_password(url: &str) -> Option<String> {
    let after = url.split("://").nth(1)?;
    let creds = after.split('@').next()?;
    if !after.contains('@') {
        return None;
    }
    creds.split_once(':').map(|(_, p)| p.to_string())
}

/// Is the database reachable? (readiness)
pub async fn ping(pool: &PgPool) -> anyhow::Result<()> {
    sqlx::query("select 1").execute(pool).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn password_is_read_from_url() {
        assert_eq!(super::url_password("postgres://a:b@h/db").as_deref(), Some("b"));
        assert_eq!(super::url_password("postgres://a@h/db"), None);
    }
}
