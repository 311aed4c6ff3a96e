//! `make bench`: the appeals journal over 1,000,000 cards of one tenant, and
//! intake throughput (issue 5).
//!
//! - Intake: `CreateAppeal` over gRPC (validation, number, card, search
//!   terms, timeline and the outbox row in one transaction) from 8 concurrent
//!   callers, beside a raw single-row `INSERT` + `COMMIT` rate from 8
//!   connections measured in the same run: the ratio is what one appeal costs
//!   in plain-insert units.
//! - Journal: p50/p95 of `ListAppeals` with three filters (status, region,
//!   category) plus Russian text («помощь», matching «помощи» too), beside the
//!   same journal query run directly in SQL as the service role inside a
//!   tenant transaction (RLS on).
//!
//! Cards are seeded straight into the database (`insert … select
//! generate_series` as the owner) with their search terms made the way the
//! service makes them; the bench database is dropped at the end.
use std::time::{Duration, Instant};

use opeka_cases::appeals::{journal, store};
use opeka_proto::cases as pb;
use sqlx::Connection;
use uuid::Uuid;

#[allow(dead_code)]
#[path = "../tests/it/helpers.rs"]
mod helpers;

#[allow(dead_code, unused_imports)]
#[path = "../tests/it/appeals.rs"]
mod appeals;

const CARDS: i64 = 1_000_000;
const INTAKE: usize = 4_000;
const CALLERS: usize = 8;
const REQUESTS: usize = 200;

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
    let desk = appeals::Desk::start().await;
    let started = Instant::now();
    seed(&desk).await;
    println!("appeals benchmark: {CARDS} cards in one tenant, seeded in {:.1} s", started.elapsed().as_secs_f64());

    intake(&desk).await;
    journal_query(&desk).await;

    // A million cards and their terms take a few GB: leave nothing behind.
    let (name, owner_url) = (desk.app.sandbox.db.name.clone(), desk.app.sandbox.db.owner_url.clone());
    drop(desk);
    let admin_url = owner_url.replace(&format!("/{name}"), "/postgres");
    let mut admin = sqlx::PgConnection::connect(&admin_url).await.expect("connect to drop the bench database");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("drop database {name} with (force)")))
        .execute(&mut admin)
        .await
        .expect("drop the bench database");
}

/// `INTAKE` appeals through gRPC from `CALLERS` tasks, then as many raw
/// single-row inserts from as many connections; prints both rates.
async fn intake(desk: &appeals::Desk) {
    // Warm the channel, the prepared statements and the reference lookups.
    for i in 0..20 {
        desk.admin.create(desk.request(&format!("Разогрев Иван {i}"), Some(&desk.org))).await;
    }
    let per = INTAKE / CALLERS;
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..CALLERS {
        let mut client = desk.admin.appeals.clone();
        let reqs: Vec<pb::CreateAppealRequest> = (0..per)
            .map(|i| {
                let mut r = desk.request(&format!("Поток{c} Заявитель {i}"), Some(&desk.org));
                r.request_id = Uuid::now_v7().to_string();
                r
            })
            .collect();
        tasks.spawn(async move {
            for r in reqs {
                client.create_appeal(r).await.expect("create appeal");
            }
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.expect("intake task");
    }
    let grpc_rate = (per * CALLERS) as f64 / start.elapsed().as_secs_f64();

    let url = desk.app.sandbox.db.owner_url.clone();
    let mut setup = sqlx::PgConnection::connect(&url).await.expect("connect");
    sqlx::raw_sql("create table bench_raw (id uuid primary key, payload text not null)")
        .execute(&mut setup)
        .await
        .expect("raw table");
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..CALLERS {
        let url = url.clone();
        tasks.spawn(async move {
            let mut conn = sqlx::PgConnection::connect(&url).await.expect("connect");
            for _ in 0..per {
                sqlx::query("insert into bench_raw (id, payload) values ($1, $2)")
                    .bind(Uuid::now_v7())
                    .bind("Прошу помощи с ремонтом дороги у дома")
                    .execute(&mut conn)
                    .await
                    .expect("raw insert");
            }
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.expect("raw task");
    }
    let raw_rate = (per * CALLERS) as f64 / start.elapsed().as_secs_f64();
    println!("intake: {} appeals, {CALLERS} concurrent callers, {CARDS} cards already stored", per * CALLERS);
    println!("    CreateAppeal over gRPC (card, number, terms, timeline, outbox; one transaction): {grpc_rate:.0}/s");
    println!("    raw single-row INSERT+COMMIT, {CALLERS} connections (same run):                 {raw_rate:.0}/s");
    println!("    ratio CreateAppeal / raw insert: {:.2}", grpc_rate / raw_rate);
}

/// The journal with status + region + category + text, via gRPC and direct.
async fn journal_query(desk: &appeals::Desk) {
    let text = "помощь";
    let filter = pb::AppealFilter {
        statuses: vec!["in_work".into()],
        region_id: desk.id("msk"),
        category_id: desk.id("roads"),
        text: text.into(),
        ..Default::default()
    };
    let req = pb::ListAppealsRequest { filter: Some(filter), page_size: 50, ..Default::default() };
    let mut client = desk.admin.appeals.clone();
    let first = client.list_appeals(req.clone()).await.expect("journal").into_inner();
    assert!(first.total > 0, "the seeded cards match the journal query");
    for _ in 0..20 {
        client.list_appeals(req.clone()).await.expect("warm-up");
    }
    let mut grpc = Vec::with_capacity(REQUESTS);
    for _ in 0..REQUESTS {
        let start = Instant::now();
        let r = client.list_appeals(req.clone()).await.expect("journal");
        grpc.push(start.elapsed());
        std::hint::black_box(r);
    }

    let t = desk.t.id;
    let me: Uuid = desk.admin.id.parse().expect("admin id");
    let mut sql = Vec::with_capacity(REQUESTS);
    for i in 0..REQUESTS + 20 {
        let start = Instant::now();
        let mut tx = opeka_platform::db::tenant_tx(&desk.app.app_pool, t).await.expect("tenant tx");
        let stems = store::text_stems(&mut tx, text).await.expect("stems");
        let q = journal::JournalQuery {
            tenant_id: t,
            me,
            statuses: vec!["in_work".into()],
            region_id: Some(desk.id("msk").parse().expect("uuid")),
            category_id: Some(desk.id("roads").parse().expect("uuid")),
            text: stems,
            limit: 50,
            ..Default::default()
        };
        let r = journal::list(&mut tx, &q).await.expect("journal query");
        tx.commit().await.expect("commit");
        if i >= 20 {
            sql.push(start.elapsed());
        }
        std::hint::black_box(r);
    }
    let (g, s) = (stats(grpc), stats(sql));
    println!(
        "journal: status «В работе» + region + category + text «{text}» over {CARDS} cards: {} matches, page of {}",
        first.total,
        first.rows.len()
    );
    println!("    gRPC  p50 {:>9}  p95 {:>9}", ms(g.p50), ms(g.p95));
    println!(
        "    SQL   p50 {:>9}  p95 {:>9}   (same journal query, service role, tenant transaction)",
        ms(s.p50),
        ms(s.p95)
    );
    println!(
        "    ratio gRPC/SQL  p50 {:.2}  p95 {:.2}",
        g.p50.as_secs_f64() / s.p50.as_secs_f64(),
        g.p95.as_secs_f64() / s.p95.as_secs_f64()
    );
}

/// `CARDS` cards spread over the loaded regions, categories and statuses,
/// created a minute apart, with the search terms the service would write:
/// the folded words of the name and the Russian stems of the folded text.
async fn seed(desk: &appeals::Desk) {
    let surnames = ["Иванов", "Смирнов", "Кузнецов", "Попов", "Васильев", "Петров", "Соколов", "Михайлов"];
    let names = ["Иван", "Ольга", "Сергей", "Мария", "Андрей", "Елена", "Павел", "Татьяна"];
    let texts = [
        "Прошу помощи с ремонтом дороги у дома",
        "Нужна помощь в оформлении пособия",
        "Яма на проезжей части возле школы",
        "Не работает пандус в подъезде",
        "Прошу оказать социальную помощь пенсионеру",
        "Долго не вывозят мусор во дворе",
        "Требуется ремонт тротуара после зимы",
        "Нет освещения на остановке",
    ];
    // (federal district, region, municipality) and (type, category, subcategory) as reference codes.
    let places = [("cfo", "msk", Some("lublino")), ("cfo", "mo", Some("khimki")), ("szfo", "spb", None)];
    let topics = [
        ("ogv", "roads", Some("pits")),
        ("ogv", "roads", Some("disabled")),
        ("ogv", "health", None),
        ("nko", "help", None),
    ];
    let statuses =
        ["new", "moderation", "in_work", "in_work", "in_work", "in_work", "done_review", "done", "done", "closed"];
    let id = |code: &str| -> Uuid { desk.id(code).parse().expect("uuid") };
    let opt = |code: Option<&str>| code.map(id);
    let to_vec = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let fd: Vec<Uuid> = places.iter().map(|p| id(p.0)).collect();
    let rg: Vec<Uuid> = places.iter().map(|p| id(p.1)).collect();
    let mu: Vec<Option<Uuid>> = places.iter().map(|p| opt(p.2)).collect();
    let ct: Vec<Uuid> = topics.iter().map(|p| id(p.0)).collect();
    let ca: Vec<Uuid> = topics.iter().map(|p| id(p.1)).collect();
    let sc: Vec<Option<Uuid>> = topics.iter().map(|p| opt(p.2)).collect();
    let org: Uuid = desk.org.parse().expect("org id");
    let sql = "insert into cases.appeals (id, tenant_id, number, created_at, updated_at, created_by, citizen_name,
            citizen_name_key, citizen_phone, phone_digits, source_address, federal_district_id, region_id,
            municipality_id, address, address_key, executor_org_id, executor_org_name, category_type_id, category_id,
            subcategory_id, urgent, talked_before, labels, channel, stream, text, status)
        select gen_random_uuid(), $1, g, at, at, 'bench', nm, lower(nm), '+7 900 ' || lpad(g::text, 7, '0'),
               '7900' || lpad(g::text, 7, '0'), 'Москва', ($2::uuid[])[1 + g % 3], ($3::uuid[])[1 + g % 3],
               ($4::uuid[])[1 + g % 3], 'ул Белореченская, д ' || (g % 200), 'ул белореченская, д ' || (g % 200),
               $5, 'Министерство социальной защиты', ($6::uuid[])[1 + (g / 3) % 4], ($7::uuid[])[1 + (g / 3) % 4],
               ($8::uuid[])[1 + (g / 3) % 4], g % 17 = 0, g % 5 = 0,
               case when g % 11 = 0 then array['federal'] else '{}'::text[] end, 'call_centre', 'Прямая линия',
               ($9::text[])[1 + (g / 7) % 8], ($10::text[])[1 + (g / 13) % 10]
        from (
            select g, now() - make_interval(mins => ($11 - g)::int) as at,
                   ($12::text[])[1 + g % 8] || ' ' || ($13::text[])[1 + (g / 8) % 8] as nm
            from generate_series(1, $11::int) as g
        ) s";
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(desk.t.id)
        .bind(&fd)
        .bind(&rg)
        .bind(&mu)
        .bind(org)
        .bind(&ct)
        .bind(&ca)
        .bind(&sc)
        .bind(to_vec(&texts))
        .bind(to_vec(&statuses))
        .bind(CARDS)
        .bind(to_vec(&surnames))
        .bind(to_vec(&names))
        .execute(&desk.app.owner_pool)
        .await
        .expect("seed appeals");
    sqlx::query("insert into cases.appeal_counters (tenant_id, last) values ($1, $2) on conflict (tenant_id) do update set last = excluded.last")
        .bind(desk.t.id)
        .bind(CARDS)
        .execute(&desk.app.owner_pool)
        .await
        .expect("seed counter");
    sqlx::query(
        "insert into cases.appeal_terms (tenant_id, field, term, appeal_id)
         select a.tenant_id, 'name', w, a.id
         from cases.appeals a, regexp_split_to_table(a.citizen_name_key, ' ') w where a.tenant_id = $1 and w <> ''
         union
         select a.tenant_id, 'text', left(l.lexeme, 64), a.id
         from cases.appeals a, unnest(to_tsvector('russian', lower(a.text))) l where a.tenant_id = $1",
    )
    .bind(desk.t.id)
    .execute(&desk.app.owner_pool)
    .await
    .expect("seed terms");
    // The steady state autovacuum keeps: statistics and a visibility map.
    for table in ["cases.appeals", "cases.appeal_terms"] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("vacuum analyze {table}")))
            .execute(&desk.app.owner_pool)
            .await
            .expect("vacuum analyze");
    }
}
