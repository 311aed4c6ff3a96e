//! `make run`'s own steps against a fresh database: `opeka migrate`, then
//! `opeka demo` twice. The demo tenant has every login (appeals and legal aid
//! too), both organisations, the reference trees, legal aid's fallback centre
//! and routes and the sample appeals exactly once; the second run prints new
//! passwords that sign in (issue 5: S1-1, S2-33, «reference data loadable per tenant»).
use std::collections::HashMap;
use std::process::Command;

use opeka_platform::testing;
use sqlx::{Connection, PgConnection, Row};
use uuid::Uuid;

const LOGINS: [&str; 6] = ["admin", "curator", "moderator", "supervisor", "executor", "consultant"];

/// Runs the binary with the test database and cheap hashing; returns stdout.
fn opeka(db: &testing::TestDb, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_opeka"))
        .args(args)
        .envs(db.env())
        .env("OPEKA_IDENTITY__ARGON2_MEMORY_KIB", "1024")
        .env("OPEKA_IDENTITY__ARGON2_ITERATIONS", "1")
        .output()
        .expect("run opeka");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "opeka {args:?} failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

/// login → password, from lines like `  admin      login: admin      password: …`.
fn passwords(stdout: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for line in stdout.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if let [_, "login:", login, "password:", password] = words.as_slice() {
            out.insert(login.to_string(), password.to_string());
        }
    }
    out
}

fn data_lines(csv: &str) -> i64 {
    csv.lines().skip(1).filter(|l| !l.trim().is_empty()).count() as i64
}

async fn count(c: &mut PgConnection, sql: &'static str, tenant: Uuid) -> i64 {
    sqlx::query_scalar(sql).bind(tenant).fetch_one(c).await.unwrap_or_else(|e| panic!("{sql}: {e}"))
}

#[tokio::test]
async fn the_demo_runs_twice_refreshing_passwords_and_duplicating_nothing() {
    let db = testing::create_db().await;
    opeka(&db, &["migrate"]);
    let first = passwords(&opeka(&db, &["demo"]));
    let second_out = opeka(&db, &["demo"]);
    let second = passwords(&second_out);
    for login in LOGINS {
        assert!(first.contains_key(login) && second.contains_key(login), "{login} printed:\n{second_out}");
        assert_ne!(first[login], second[login], "{login}: a fresh password on every run");
    }
    assert!(second_out.contains("0 nodes created"), "the trees were only refreshed:\n{second_out}");

    // The superuser reads across RLS.
    let mut c = PgConnection::connect(&db.owner_url).await.expect("owner connection");
    let tenant: Uuid = sqlx::query_scalar("select id from identity.tenants where slug = 'demo'")
        .fetch_one(&mut c)
        .await
        .expect("the demo tenant");
    let orgs: HashMap<String, Uuid> = sqlx::query("select name, id from identity.organisations where tenant_id = $1")
        .bind(tenant)
        .fetch_all(&mut c)
        .await
        .expect("organisations")
        .into_iter()
        .map(|r| (r.get("name"), r.get("id")))
        .collect();
    assert_eq!(orgs.len(), 2, "{orgs:?}");
    let ministry = orgs["Министерство социальной защиты (демо)"];
    let centre = orgs["ЦБЮП (демо)"];

    let rows = sqlx::query(
        "select login, roles, organisation_id, password_hash from identity.accounts
         where tenant_id = $1 and kind = 'staff' and deleted_at is null",
    )
    .bind(tenant)
    .fetch_all(&mut c)
    .await
    .expect("accounts");
    assert_eq!(rows.len(), LOGINS.len(), "one account per login");
    let hasher = opeka_identity::passwords::Hasher::new(&opeka_identity::Settings {
        argon2_memory_kib: 1024,
        argon2_iterations: 1,
        ..Default::default()
    })
    .expect("hasher");
    for r in &rows {
        let login: String = r.get("login");
        let roles: Vec<String> = r.get("roles");
        let org: Option<Uuid> = r.get("organisation_id");
        let hash: Option<String> = r.get("password_hash");
        assert_eq!(roles, vec![login.clone()], "each demo login is named after its role");
        let want = match login.as_str() {
            "executor" => Some(ministry),
            "consultant" => Some(centre),
            _ => None,
        };
        assert_eq!(org, want, "{login}'s organisation");
        assert!(hasher.verify(&second[&login], hash.as_deref()).await, "{login}: the printed password signs in");
    }

    let nodes = |tree| {
        sqlx::query_scalar::<_, i64>("select count(*) from cases.reference_nodes where tenant_id = $1 and tree = $2")
            .bind(tenant)
            .bind(tree)
    };
    let geography = nodes("geography").fetch_one(&mut c).await.expect("geography");
    assert_eq!(geography, data_lines(include_str!("../demo/geography.csv")));
    let topics = nodes("topics").fetch_one(&mut c).await.expect("topics");
    assert_eq!(topics, data_lines(include_str!("../demo/topics.csv")));

    let appeals = count(&mut c, "select count(*) from cases.appeals where tenant_id = $1", tenant).await;
    assert_eq!(appeals, 5, "the sample appeals once");
    let routed = sqlx::query_scalar::<_, i64>(
        "select count(*) from cases.appeals where tenant_id = $1 and executor_org_id = $2 and status = 'new'",
    )
    .bind(tenant)
    .bind(ministry)
    .fetch_one(&mut c)
    .await
    .expect("routed appeals");
    assert_eq!(routed, 5, "every sample is «Новое», routed to the ministry");

    let fallback: Option<Uuid> =
        sqlx::query_scalar("select fallback_centre_id from cases.legal_aid_tenants where tenant_id = $1")
            .bind(tenant)
            .fetch_one(&mut c)
            .await
            .expect("legal-aid tenant");
    assert_eq!(fallback, Some(centre), "S2-33: the fallback centre");
    let routes =
        count(&mut c, "select count(*) from cases.legal_aid_district_routes where tenant_id = $1", tenant).await;
    assert_eq!(routes, 3, "S2-33: the district routes");
    let refs = count(&mut c, "select count(*) from cases.legal_aid_refs where tenant_id = $1", tenant).await;
    assert!(refs > 0, "the default legal-aid lists, as on the tenant's first legal-aid call");
    c.close().await.ok();
}
