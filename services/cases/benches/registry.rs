//! `make bench`: registry search over 100,000 citizens of one tenant. Seeds
//! them straight into the database (one `insert … select generate_series`
//! as the owner), then measures p50/p95 latency through gRPC of
//! - a name search (one word: a surname beginning; two words: surname + name),
//! - a district + curator filter,
//!
//! each beside a baseline from the same run: the very same store query run
//! directly in SQL, as the service role inside a tenant transaction. The
//! ratio is what gRPC, auth, the tenant-settings lookup and encoding add.
//! Also prints the plan of the search (and fails if it does not use the
//! term index) and the latency floor of the cheapest RPC.
use std::time::{Duration, Instant};

use opeka_cases::kit::search;
use opeka_cases::registry::store::{self, CitizenFilter};
use opeka_proto::cases as pb;
use sqlx::Connection;
use uuid::Uuid;

#[allow(dead_code)]
#[path = "../tests/it/helpers.rs"]
mod helpers;

const CITIZENS: i64 = 100_000;
const REQUESTS: usize = 200;
const DISTRICTS: usize = 10;
const CURATORS: usize = 20;

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    rt.block_on(async_main());
}

struct Stats {
    p50: Duration,
    p95: Duration,
}

fn stats(mut v: Vec<Duration>) -> Stats {
    v.sort();
    let at = |q: f64| v[((v.len() as f64 * q).ceil() as usize).saturating_sub(1).min(v.len() - 1)];
    Stats { p50: at(0.50), p95: at(0.95) }
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

async fn async_main() {
    let app = helpers::TestApp::start().await;
    let t = app.tenant("bench").await;
    let districts: Vec<Uuid> = (0..DISTRICTS).map(|_| Uuid::now_v7()).collect();
    let curators: Vec<Uuid> = (0..CURATORS).map(|_| Uuid::now_v7()).collect();

    let started = Instant::now();
    seed(&app, t.id, &districts, &curators).await;
    println!(
        "registry benchmark: {CITIZENS} citizens in one tenant, seeded in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // The floor under every call: the cheapest RPC (one primary-key read).
    let mut client = t.admin.cases.clone();
    let mut floor = Vec::with_capacity(REQUESTS);
    for i in 0..REQUESTS + 20 {
        let start = Instant::now();
        client.get_tenant_settings(pb::GetTenantSettingsRequest {}).await.expect("settings");
        if i >= 20 {
            floor.push(start.elapsed());
        }
    }
    let floor = stats(floor);
    println!("gRPC floor, small response (GetTenantSettings): p50 {}  p95 {}", ms(floor.p50), ms(floor.p95));

    let one_word = "кузнецов";
    let two_words = "смирнова ольг";
    let name_filter =
        |q: &str| CitizenFilter { tenant_id: t.id, name: search::query(q), limit: 50, ..Default::default() };
    let plan = explain(&app, t.id, &name_filter(two_words)).await;
    println!("plan of the name search «{two_words}» (service role, RLS on):");
    for line in plan.lines().filter(|l| l.contains("Scan") || l.contains("Execution Time")) {
        println!("    {}", line.trim());
    }
    assert!(plan.contains("citizen_terms_pkey"), "the name search must use the term index:\n{plan}");
    assert!(!plan.contains("Seq Scan"), "no sequential scan in the name search:\n{plan}");

    for (label, query) in [("one word", one_word), ("surname + name", two_words)] {
        let req = pb::ListCitizensRequest { name_query: query.into(), page_size: 50, ..Default::default() };
        let f = name_filter(query);
        let hits = measure(&app, &t, &format!("name search «{query}» ({label})"), |_| req.clone(), |_| f.clone()).await;
        assert!(hits > 0, "the seeded names match «{query}»");
    }

    let combo = |i: usize| (districts[i % DISTRICTS], curators[(i * 7) % CURATORS]);
    measure(
        &app,
        &t,
        "district + curator filter",
        |i| {
            let (d, c) = combo(i);
            pb::ListCitizensRequest {
                district_id: d.to_string(),
                curator_id: c.to_string(),
                page_size: 50,
                ..Default::default()
            }
        },
        |i| {
            let (d, c) = combo(i);
            CitizenFilter {
                tenant_id: t.id,
                district_id: Some(d),
                curator_id: Some(c),
                limit: 50,
                ..Default::default()
            }
        },
    )
    .await;

    // 100,000 cards take ~250 MB: leave nothing behind.
    let (name, owner_url) = (app.sandbox.db.name.clone(), app.sandbox.db.owner_url.clone());
    drop(app);
    let admin_url = owner_url.replace(&format!("/{name}"), "/postgres");
    let mut admin = sqlx::PgConnection::connect(&admin_url).await.expect("connect to drop the bench database");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("drop database {name} with (force)")))
        .execute(&mut admin)
        .await
        .expect("drop the bench database");
}

/// Runs `REQUESTS` gRPC calls and as many direct store queries; prints both
/// and their ratio; returns the match count of the first request.
async fn measure(
    app: &helpers::TestApp,
    t: &helpers::TestTenant,
    title: &str,
    request: impl Fn(usize) -> pb::ListCitizensRequest,
    filter: impl Fn(usize) -> CitizenFilter,
) -> i64 {
    let mut client = t.admin.cases.clone();
    let first = client.list_citizens(request(0)).await.expect("list").into_inner();
    for i in 0..20 {
        client.list_citizens(request(i)).await.expect("warm-up");
    }
    let mut grpc = Vec::with_capacity(REQUESTS);
    for i in 0..REQUESTS {
        let start = Instant::now();
        let r = client.list_citizens(request(i)).await.expect("list");
        grpc.push(start.elapsed());
        std::hint::black_box(r);
    }
    let mut sql = Vec::with_capacity(REQUESTS);
    for i in 0..REQUESTS + 20 {
        let f = filter(i);
        let start = Instant::now();
        let mut tx = opeka_platform::db::tenant_tx(&app.app_pool, t.id).await.expect("tenant tx");
        let r = store::list_citizens(&mut tx, &f).await.expect("store query");
        tx.commit().await.expect("commit");
        if i >= 20 {
            sql.push(start.elapsed());
        }
        std::hint::black_box(r);
    }
    let (g, s) = (stats(grpc), stats(sql));
    println!("{title}: {} matches, page of {}", first.total_size, first.citizens.len());
    println!("    gRPC  p50 {:>9}  p95 {:>9}", ms(g.p50), ms(g.p95));
    println!(
        "    SQL   p50 {:>9}  p95 {:>9}   (same store query, service role, tenant transaction)",
        ms(s.p50),
        ms(s.p95)
    );
    println!(
        "    ratio gRPC/SQL  p50 {:.2}  p95 {:.2}",
        g.p50.as_secs_f64() / s.p50.as_secs_f64(),
        g.p95.as_secs_f64() / s.p95.as_secs_f64()
    );
    first.total_size
}

async fn explain(app: &helpers::TestApp, tenant: Uuid, f: &CitizenFilter) -> String {
    let mut tx = opeka_platform::db::tenant_tx(&app.app_pool, tenant).await.expect("tenant tx");
    store::explain_list_citizens(&mut tx, f).await.expect("explain")
}

/// 100,000 cards with Russian names, 10 districts and 20 curators, created a
/// minute apart, plus their search terms (the same words `domain::search`
/// would index: the lower-case words of the full name and of the situation).
async fn seed(app: &helpers::TestApp, tenant: Uuid, districts: &[Uuid], curators: &[Uuid]) {
    let surnames = [
        "Иванов",
        "Смирнов",
        "Кузнецов",
        "Попов",
        "Васильев",
        "Петров",
        "Соколов",
        "Михайлов",
        "Новиков",
        "Федоров",
        "Морозов",
        "Волков",
        "Алексеев",
        "Лебедев",
        "Семенов",
        "Егоров",
        "Павлов",
        "Козлов",
        "Степанов",
        "Николаев",
        "Орлов",
        "Андреев",
        "Макаров",
        "Никитин",
        "Захаров",
        "Зайцев",
        "Соловьев",
        "Борисов",
        "Яковлев",
        "Григорьев",
        "Романов",
        "Воробьев",
        "Сергеев",
        "Кузьмин",
        "Фролов",
        "Александров",
        "Дмитриев",
        "Королев",
        "Гусев",
        "Киселев",
    ];
    let names_f = ["Ольга", "Анна", "Мария", "Елена", "Наталья", "Ирина", "Татьяна", "Светлана", "Юлия", "Галина"];
    let names_m = ["Иван", "Сергей", "Андрей", "Алексей", "Дмитрий", "Михаил", "Николай", "Павел", "Олег", "Юрий"];
    let patronymics_f = ["Ивановна", "Петровна", "Сергеевна", "Андреевна", "Николаевна"];
    let patronymics_m = ["Иванович", "Петрович", "Сергеевич", "Андреевич", "Николаевич"];
    let situations = [
        "Потеря кормильца, нужна помощь с оформлением пенсии",
        "Инвалидность второй группы, требуется коляска",
        "Многодетная семья, вопросы пособий",
        "Одинокий пенсионер, нужна социальная помощь на дому",
        "Трудная жизненная ситуация после пожара",
    ];
    let sql = "insert into cases.citizens (id, tenant_id, account_id, surname, name, patronymic, phone, curator_id,
            district_id, situation, sort_name, created_at, updated_at)
        select id, $1, gen_random_uuid(), surname, name, patronymic, '+7900' || lpad(g::text, 7, '0'),
               ($2::uuid[])[1 + (g / 10) % array_length($2, 1)], ($3::uuid[])[1 + g % array_length($3, 1)],
               ($4::text[])[1 + g % array_length($4, 1)],
               lower(surname || ' ' || name || ' ' || patronymic), at, at
        from (
            select g, gen_random_uuid() as id, now() - make_interval(mins => ($9 - g)::int) as at,
                   case when g % 2 = 0 then ($5::text[])[1 + (g / 2) % array_length($5, 1)] || 'а'
                        else ($5::text[])[1 + (g / 2) % array_length($5, 1)] end as surname,
                   case when g % 2 = 0 then ($6::text[])[1 + (g / 80) % array_length($6, 1)]
                        else ($7::text[])[1 + (g / 80) % array_length($7, 1)] end as name,
                   case when g % 2 = 0 then ($8::text[])[1 + (g / 7) % array_length($8, 1)]
                        else ($10::text[])[1 + (g / 7) % array_length($10, 1)] end as patronymic
            from generate_series(1, $9::int) as g
        ) s";
    let to_vec = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(tenant)
        .bind(curators)
        .bind(districts)
        .bind(to_vec(&situations))
        .bind(to_vec(&surnames))
        .bind(to_vec(&names_f))
        .bind(to_vec(&names_m))
        .bind(to_vec(&patronymics_f))
        .bind(CITIZENS)
        .bind(to_vec(&patronymics_m))
        .execute(&app.owner_pool)
        .await
        .expect("seed citizens");
    sqlx::query(
        "insert into cases.citizen_terms (tenant_id, field, term, citizen_id)
         select distinct c.tenant_id, 'name', w, c.id
         from cases.citizens c, regexp_split_to_table(c.sort_name, ' ') w where c.tenant_id = $1 and w <> ''
         union
         select distinct c.tenant_id, 'situation', w, c.id
         from cases.citizens c, regexp_split_to_table(lower(c.situation), '[^[:alnum:]]+') w
         where c.tenant_id = $1 and w <> ''",
    )
    .bind(tenant)
    .execute(&app.owner_pool)
    .await
    .expect("seed terms");
    // The steady state autovacuum keeps: statistics, and a visibility map
    // that lets the term scans stay index-only.
    for table in ["cases.citizens", "cases.citizen_terms"] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("vacuum analyze {table}")))
            .execute(&app.owner_pool)
            .await
            .expect("vacuum analyze");
    }
}
