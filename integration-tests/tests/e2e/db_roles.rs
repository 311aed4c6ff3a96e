//! Issue 9, point 1: one database role per service. Each service's role,
//! connected as itself (never a superuser), is refused on every table of
//! every other service's schema — the tables are read from the catalogue, so
//! a table added later is covered without touching this test — and the
//! shared `opeka_app` role of earlier releases loses its grants on migrate.
use opeka_platform::{db, db::SchemaSpec, testing};
use sqlx::{Connection, PgConnection};

const SCHEMAS: [&SchemaSpec; 6] = [
    &opeka_identity::SCHEMA,
    &opeka_cases::SCHEMA,
    &opeka_files::SCHEMA,
    &opeka_notifications::SCHEMA,
    &opeka_scheduler::SCHEMA,
    &opeka_gateway::SCHEMA,
];

/// Every table of the six services' schemas, as `(schema, table)`.
async fn tables(owner_url: &str) -> Vec<(String, String)> {
    let mut c = PgConnection::connect(owner_url).await.expect("owner connection");
    let names: Vec<&str> = SCHEMAS.iter().map(|s| s.schema).collect();
    let names: Vec<String> = names.into_iter().map(str::to_string).collect();
    sqlx::query_as("select schemaname::text, tablename::text from pg_tables where schemaname = any($1) order by 1, 2")
        .bind(&names)
        .fetch_all(&mut c)
        .await
        .expect("pg_tables")
}

/// `select` of one table as the connected role: `Ok` or the SQLSTATE.
async fn try_select(c: &mut PgConnection, schema: &str, table: &str) -> Result<(), String> {
    let sql = format!("select count(*) from {schema}.{table}");
    match sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql)).fetch_one(&mut *c).await {
        Ok(_) => Ok(()),
        Err(sqlx::Error::Database(e)) => Err(e.code().unwrap_or_default().to_string()),
        Err(e) => panic!("{schema}.{table}: {e}"),
    }
}

/// Connects as `url`'s role and checks it is a plain role (the whole point:
/// a superuser or BYPASSRLS role would prove nothing).
async fn connect_plain(url: &str, expected_role: &str) -> PgConnection {
    let mut c = PgConnection::connect(url).await.unwrap_or_else(|e| panic!("{expected_role}: {e}"));
    let (role, superuser, bypass): (String, bool, bool) =
        sqlx::query_as("select current_user::text, rolsuper, rolbypassrls from pg_roles where rolname = current_user")
            .fetch_one(&mut c)
            .await
            .unwrap();
    assert_eq!((role.as_str(), superuser, bypass), (expected_role, false, false), "a plain service role");
    c
}

#[tokio::test]
async fn issue9_point1_each_service_role_is_refused_on_every_other_services_tables() {
    opeka_platform::install_crypto_provider();
    let db = testing::migrated_db(&SCHEMAS).await;
    let tables = tables(&db.owner_url).await;
    assert!(tables.iter().any(|(s, t)| s == "identity" && t == "signing_keys"), "{tables:?}");
    assert!(tables.iter().any(|(s, t)| s == "gateway" && t == "sessions"), "{tables:?}");
    for spec in SCHEMAS {
        let service = spec.schema;
        let mut c = connect_plain(&db.url(service), &format!("opeka_{service}")).await;
        let (mut own, mut refused) = (0, 0);
        for (schema, table) in &tables {
            let got = try_select(&mut c, schema, table).await;
            if schema == service {
                // Its own tables it reads (RLS then filters rows), except the
                // migrators' bookkeeping.
                if !table.starts_with('_') {
                    assert_eq!(got, Ok(()), "{service} must read its own {schema}.{table}");
                    own += 1;
                }
            } else {
                assert_eq!(got, Err("42501".into()), "{service} must be refused on {schema}.{table}");
                refused += 1;
            }
        }
        assert!(own > 0 && refused > 0, "{service}: {own} own, {refused} refused");
        // Nor may it hold any privilege there (by oid: a name would need the
        // schema's USAGE just to be looked up).
        let writable: Vec<String> = sqlx::query_scalar(
            "select n.nspname || '.' || coalesce(c.relname, '') from pg_namespace n
               left join pg_class c on c.relnamespace = n.oid and c.relkind in ('r', 'p', 'v', 'm', 'S')
              where n.nspname = any($1) and n.nspname <> $2
                and (has_schema_privilege(current_user, n.oid, 'USAGE,CREATE')
                     or (c.relkind = 'S' and has_sequence_privilege(current_user, c.oid, 'USAGE,SELECT,UPDATE'))
                     or (c.relkind <> 'S' and has_table_privilege(current_user, c.oid,
                           'SELECT,INSERT,UPDATE,DELETE,TRUNCATE,REFERENCES,TRIGGER')))",
        )
        .bind(SCHEMAS.iter().map(|s| s.schema.to_string()).collect::<Vec<_>>())
        .bind(service)
        .fetch_all(&mut c)
        .await
        .unwrap();
        assert!(writable.is_empty(), "{service} holds privileges on {writable:?}");
        c.close().await.ok();
    }
}

#[tokio::test]
async fn issue9_point1_cases_and_notifications_cannot_read_private_keys_or_sessions() {
    opeka_platform::install_crypto_provider();
    let db = testing::migrated_db(&SCHEMAS).await;
    for service in ["cases", "notifications", "files", "scheduler"] {
        let mut c = connect_plain(&db.url(service), &format!("opeka_{service}")).await;
        for (schema, table) in [("identity", "signing_keys"), ("gateway", "sessions"), ("identity", "sessions")] {
            assert_eq!(try_select(&mut c, schema, table).await, Err("42501".into()), "{service} on {schema}.{table}");
        }
    }
    let mut gateway = connect_plain(&db.url("gateway"), "opeka_gateway").await;
    assert_eq!(try_select(&mut gateway, "identity", "signing_keys").await, Err("42501".into()));
}

#[tokio::test]
async fn issue9_point1_migrate_takes_the_shared_roles_grants_away() {
    opeka_platform::install_crypto_provider();
    // An installation of an earlier release: every schema granted to one role.
    let db = testing::create_db().await;
    let shared = db.url("app").replace("opeka_app:opeka_app_dev", "opeka_app:opeka_app");
    for spec in SCHEMAS {
        db::migrate(&db.owner_url, &shared, spec).await.expect("old-style migrate");
    }
    let mut old = connect_plain(&shared, "opeka_app").await;
    assert_eq!(try_select(&mut old, "identity", "signing_keys").await, Ok(()), "the old layout, as reported");
    old.close().await.ok();

    // This release's migrate, one role per service.
    for spec in SCHEMAS {
        db::migrate(&db.owner_url, &db.url(spec.schema), spec).await.expect("migrate");
    }
    let mut old = connect_plain(&shared, "opeka_app").await;
    for (schema, table) in tables(&db.owner_url).await {
        assert_eq!(try_select(&mut old, &schema, &table).await, Err("42501".into()), "opeka_app on {schema}.{table}");
    }
    // And the tables stay owned by the owner role, with RLS forced.
    let mut owner = PgConnection::connect(&db.owner_url).await.unwrap();
    let not_owner: Vec<String> = sqlx::query_scalar(
        "select n.nspname || '.' || c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
          where c.relkind = 'r' and n.nspname = any($1) and pg_get_userbyid(c.relowner) <> current_user",
    )
    .bind(SCHEMAS.iter().map(|s| s.schema.to_string()).collect::<Vec<_>>())
    .fetch_all(&mut owner)
    .await
    .unwrap();
    assert!(not_owner.is_empty(), "tables not owned by the owner role: {not_owner:?}");
    let forced: i64 = sqlx::query_scalar(
        "select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace
          where n.nspname = 'identity' and c.relname = 'accounts' and c.relforcerowsecurity",
    )
    .fetch_one(&mut owner)
    .await
    .unwrap();
    assert_eq!(forced, 1, "identity.accounts keeps FORCE ROW LEVEL SECURITY");
}
