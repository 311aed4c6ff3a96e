//! `make bench`: the appeals journal over 1,000,000 cards of one tenant, and
//! intake throughput (issues 5 and 11).
//!
//! - Intake: `CreateAppeal` over gRPC (validation, number, card, search
//!   terms, timeline and the outbox row in one transaction) from 8 concurrent
//!   callers, beside two baselines from the same run: a raw single-row
//!   `INSERT` + `COMMIT` from 8 connections, and the like-for-like rows (card,
//!   terms, timeline, outbox) written by one SQL statement per card as the
//!   service role in a tenant transaction.
//! - Journal: p50/p95/p99 of `ListAppeals` with status + region + category +
//!   text («помощь», matching «помощи» too), with no filter and with the text
//!   only, beside the same journal query run directly in SQL (the service's
//!   own `journal::list`, so the same order and count) as the service role
//!   inside a tenant transaction (RLS on); and once more while intake runs.
//!
//! Cards are seeded straight into the database (`insert … select
//! generate_series` as the owner) with their search terms made the way the
//! service makes them, skewed as a region's are: a few large regions and
//! categories (power-law over 83 regions and 33 categories), Zipf-like
//! surnames. The seeded tables are `VACUUM ANALYZE`d and the outbox drained
//! before each baseline; PostgreSQL's settings are printed with the results,
//! and the process's peak RSS (the services run in this process). The bench
//! database is dropped at the end.
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
/// Extra regions and categories loaded beside the desk's own three.
const EXTRA_REGIONS: usize = 80;
const EXTRA_CATEGORIES: usize = 30;

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    rt.block_on(async_main());
}

struct Stats {
    p50: Duration,
    p95: Duration,
    p99: Duration,
}

fn stats(mut v: Vec<Duration>) -> Stats {
    v.sort();
    let at = |q: f64| v[((v.len() as f64 * q).ceil() as usize).saturating_sub(1).min(v.len() - 1)];
    Stats { p50: at(0.50), p95: at(0.95), p99: at(0.99) }
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn line(what: &str, s: &Stats) -> String {
    format!("{what:<6} p50 {:>9}  p95 {:>9}  p99 {:>9}", ms(s.p50), ms(s.p95), ms(s.p99))
}

/// This process's peak resident set (the services run in it).
fn peak_rss() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM"))
        .map(|l| l.split_whitespace().skip(1).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

async fn async_main() {
    let mut desk = appeals::Desk::start().await;
    let started = Instant::now();
    seed(&mut desk).await;
    println!("appeals benchmark: {CARDS} cards in one tenant, seeded in {:.1} s", started.elapsed().as_secs_f64());
    settings(&desk).await;

    intake(&desk).await;
    journal_query(&desk).await;
    println!("memory: peak RSS (VmHWM) of the bench process with all services in it: {}", peak_rss());

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

/// The planner settings the service role's connections have.
async fn settings(desk: &appeals::Desk) {
    let mut conn = desk.app.app_pool.acquire().await.expect("connection");
    let mut out = Vec::new();
    for name in ["jit", "random_page_cost", "shared_buffers", "work_mem", "synchronous_commit"] {
        let v: String = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("show {name}")))
            .fetch_one(&mut *conn)
            .await
            .expect("show setting");
        out.push(format!("{name}={v}"));
    }
    println!("postgres (service role): {}", out.join(", "));
}

/// Waits until the relay has published every outbox row and autovacuum is
/// not working on the tables, so a baseline does not share the machine.
async fn drain(desk: &appeals::Desk) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let left: i64 = sqlx::query_scalar("select count(*) from cases.outbox where published_at is null")
            .fetch_one(&desk.app.owner_pool)
            .await
            .expect("outbox backlog");
        let vacuuming: i64 = sqlx::query_scalar(
            "select count(*) from pg_stat_activity where datname = current_database() and query ilike 'autovacuum:%'",
        )
        .fetch_one(&desk.app.owner_pool)
        .await
        .expect("autovacuum");
        if (left == 0 && vacuuming == 0) || Instant::now() > deadline {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `INTAKE` appeals through gRPC from `CALLERS` tasks, then the two
/// baselines from as many connections; prints the rates and ratios.
async fn intake(desk: &appeals::Desk) {
    // Warm the channel, the prepared statements and the reference lookups.
    for i in 0..20 {
        desk.admin.create(desk.request(&format!("Разогрев Иван {i}"), Some(&desk.org))).await;
    }
    drain(desk).await;
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
            let mut took = Vec::with_capacity(reqs.len());
            for r in reqs {
                let t = Instant::now();
                client.create_appeal(r).await.expect("create appeal");
                took.push(t.elapsed());
            }
            took
        });
    }
    let mut took = Vec::with_capacity(INTAKE);
    while let Some(r) = tasks.join_next().await {
        took.extend(r.expect("intake task"));
    }
    let grpc_rate = (per * CALLERS) as f64 / start.elapsed().as_secs_f64();
    let latency = stats(took);
    drain(desk).await;

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
    drain(desk).await;
    let like_rate = like_for_like(desk, per).await;
    println!("intake: {} appeals, {CALLERS} concurrent callers, {CARDS} cards already stored", per * CALLERS);
    println!("    CreateAppeal over gRPC (card, number, terms, timeline, outbox; one transaction): {grpc_rate:.0}/s");
    println!("    {}", line("gRPC", &latency));
    println!("    raw single-row INSERT+COMMIT, {CALLERS} connections (same run):                 {raw_rate:.0}/s");
    println!("    the same rows by one SQL statement per card, service role, {CALLERS} connections: {like_rate:.0}/s");
    println!(
        "    ratio CreateAppeal / raw insert: {:.2} (goal ≥ 0.5); / like-for-like statement: {:.2}",
        grpc_rate / raw_rate,
        grpc_rate / like_rate
    );
}

/// The card, its terms, its «created» line and its outbox row written by one
/// statement per card (no validation, no identity, no reply), as the
/// service role in a tenant transaction: what intake would cost if it were
/// nothing but its writes.
async fn like_for_like(desk: &appeals::Desk, per: usize) -> f64 {
    let sql = "with card as (
            insert into appeals (id, tenant_id, number, created_at, updated_at, created_by, citizen_name,
                citizen_name_key, citizen_phone, phone_digits, source_address, federal_district_id, region_id,
                address, address_key, executor_org_id, executor_org_name, channel, stream, text, status)
            values ($1, $2, next_appeal_number($2), now(), now(), 'bench', $3, lower($3), '+7 917 561-89-18',
                '79175618918', 'Москва', $4, $5, 'г Москва, ул Белореченская, д 12', 'г москва, ул белореченская, д 12',
                $6, 'Министерство социальной защиты', 'call_centre', 'Прямая линия', $7, 'new')
            returning id, tenant_id, text, citizen_name_key),
        terms as (
            insert into appeal_terms (tenant_id, field, term, appeal_id)
            select card.tenant_id, 'name', w, card.id from card, regexp_split_to_table(card.citizen_name_key, ' ') w
            union
            select card.tenant_id, 'text', left(l.lexeme, 64), card.id
            from card, unnest(to_tsvector('russian', lower(card.text))) l),
        line as (
            insert into appeal_timeline (id, tenant_id, appeal_id, at, author_id, author_name, kind, action, summary,
                text, attachments)
            select gen_random_uuid(), card.tenant_id, card.id, now(), '', 'bench', 'created', '', 'Обращение создано',
                '', '[]'::jsonb from card)
        insert into outbox (id, tenant_id, subject, payload, headers, published_at)
        select gen_random_uuid(), card.tenant_id, 'bench.appeal_created', '\\x00'::bytea, '{}'::jsonb, now() from card";
    let (t, fd, rg, org): (Uuid, Uuid, Uuid, Uuid) = (
        desk.t.id,
        desk.id("cfo").parse().expect("uuid"),
        desk.id("msk").parse().expect("uuid"),
        desk.org.parse().expect("uuid"),
    );
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..CALLERS {
        let pool = desk.app.app_pool.clone();
        tasks.spawn(async move {
            for i in 0..per {
                let mut tx = opeka_platform::db::tenant_tx(&pool, t).await.expect("tenant tx");
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(Uuid::now_v7())
                    .bind(t)
                    .bind(format!("Строка{c} Заявитель {i}"))
                    .bind(fd)
                    .bind(rg)
                    .bind(org)
                    .bind("Прошу помощи с ремонтом дороги у дома")
                    .execute(&mut *tx)
                    .await
                    .expect("like-for-like insert");
                tx.commit().await.expect("commit");
            }
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.expect("like-for-like task");
    }
    (per * CALLERS) as f64 / start.elapsed().as_secs_f64()
}

/// The journal's three questions via gRPC and through `journal::list`
/// directly, then the first again while intake runs.
async fn journal_query(desk: &appeals::Desk) {
    for table in ["cases.appeals", "cases.appeal_terms"] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("vacuum analyze {table}")))
            .execute(&desk.app.owner_pool)
            .await
            .expect("vacuum analyze");
    }
    drain(desk).await;
    let text = "помощь";
    let all = pb::AppealFilter {
        statuses: vec!["in_work".into()],
        region_id: desk.id("msk"),
        category_id: desk.id("roads"),
        text: text.into(),
        ..Default::default()
    };
    let questions = [
        ("status «В работе» + region + category + text «помощь»", all.clone()),
        ("no filter", pb::AppealFilter::default()),
        ("text «помощь» only", pb::AppealFilter { text: text.into(), ..Default::default() }),
    ];
    for (what, filter) in &questions {
        let (g, first) = grpc_journal(desk, filter).await;
        let s = sql_journal(desk, filter).await;
        let more = if first.total_is_lower_bound { "more than " } else { "" };
        println!("journal, {what}, {CARDS} cards: {more}{} matches, page of {}", first.total, first.rows.len());
        println!("    {}", line("gRPC", &g));
        println!("    {}   (the service's journal::list, service role, tenant transaction)", line("SQL", &s));
        println!(
            "    ratio gRPC/SQL p95 {:.2}; goal p95 ≤ 50 ms: {}",
            g.p95.as_secs_f64() / s.p95.as_secs_f64(),
            if g.p95 <= Duration::from_millis(50) { "met" } else { "NOT met" }
        );
    }

    // Mixed: the first question while 4 callers keep creating cards.
    let stop = tokio_util::sync::CancellationToken::new();
    let mut writers = tokio::task::JoinSet::new();
    for c in 0..4 {
        let (mut client, stop) = (desk.admin.appeals.clone(), stop.clone());
        let req = desk.request(&format!("Смешанный{c} Заявитель"), Some(&desk.org));
        writers.spawn(async move {
            let mut n = 0usize;
            while !stop.is_cancelled() {
                client.create_appeal(req.clone()).await.expect("create appeal");
                n += 1;
            }
            n
        });
    }
    let started = Instant::now();
    let (g, _) = grpc_journal(desk, &all).await;
    stop.cancel();
    let mut created = 0;
    while let Some(n) = writers.join_next().await {
        created += n.expect("writer");
    }
    println!(
        "journal while intake runs (4 callers, {:.0} cards/s): {}",
        created as f64 / started.elapsed().as_secs_f64(),
        line("gRPC", &g)
    );
}

async fn grpc_journal(desk: &appeals::Desk, filter: &pb::AppealFilter) -> (Stats, pb::ListAppealsResponse) {
    let req = pb::ListAppealsRequest { filter: Some(filter.clone()), page_size: 50, ..Default::default() };
    let mut client = desk.admin.appeals.clone();
    let first = client.list_appeals(req.clone()).await.expect("journal").into_inner();
    assert!(first.total > 0, "the seeded cards match the journal query");
    for _ in 0..20 {
        client.list_appeals(req.clone()).await.expect("warm-up");
    }
    let mut took = Vec::with_capacity(REQUESTS);
    for _ in 0..REQUESTS {
        let start = Instant::now();
        let r = client.list_appeals(req.clone()).await.expect("journal");
        took.push(start.elapsed());
        std::hint::black_box(r);
    }
    (stats(took), first)
}

async fn sql_journal(desk: &appeals::Desk, filter: &pb::AppealFilter) -> Stats {
    let t = desk.t.id;
    let me: Uuid = desk.admin.id.parse().expect("admin id");
    let id = |v: &str| (!v.is_empty()).then(|| v.parse::<Uuid>().expect("uuid"));
    let mut took = Vec::with_capacity(REQUESTS);
    for i in 0..REQUESTS + 20 {
        let start = Instant::now();
        let mut tx = opeka_platform::db::tenant_tx(&desk.app.app_pool, t).await.expect("tenant tx");
        let stems = if filter.text.is_empty() {
            Vec::new()
        } else {
            store::text_stems(&mut tx, &filter.text).await.expect("stems")
        };
        let q = journal::JournalQuery {
            tenant_id: t,
            me,
            statuses: filter.statuses.clone(),
            region_id: id(&filter.region_id),
            category_id: id(&filter.category_id),
            text: stems,
            descending: true,
            limit: 50,
            ..Default::default()
        };
        let r = journal::list(&mut tx, &q, opeka_cases::Settings::default().journal_count_cap)
            .await
            .expect("journal query");
        tx.commit().await.expect("commit");
        if i >= 20 {
            took.push(start.elapsed());
        }
        std::hint::black_box(r);
    }
    stats(took)
}

/// `CARDS` cards over 83 regions and 33 categories with a power-law skew
/// (Москва about a quarter of all cards, «Автомобильные дороги» about a
/// third), Zipf-like surnames, statuses as a working tenant has them, a
/// minute apart, with the search terms the service would write: the folded
/// words of the name and the Russian stems of the folded text.
async fn seed(desk: &mut appeals::Desk) {
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
    ];
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
    extra_reference(desk).await;
    let id = |code: &str| -> Uuid { desk.id(code).parse().expect("uuid") };
    // The desk's own first (Москва, «Автомобильные дороги» are the largest), then the extra ones.
    let mut places: Vec<(Uuid, Uuid, Option<Uuid>)> = vec![
        (id("cfo"), id("msk"), Some(id("lublino"))),
        (id("cfo"), id("mo"), Some(id("khimki"))),
        (id("szfo"), id("spb"), None),
    ];
    places.extend((0..EXTRA_REGIONS).map(|i| (id("cfo"), id(&format!("r{i:02}")), None)));
    let mut topics: Vec<(Uuid, Uuid, Option<Uuid>)> = vec![
        (id("ogv"), id("roads"), Some(id("pits"))),
        (id("ogv"), id("health"), None),
        (id("nko"), id("help"), None),
    ];
    topics.extend((0..EXTRA_CATEGORIES).map(|i| (id("ogv"), id(&format!("c{i:02}")), None)));
    let col = |v: &[(Uuid, Uuid, Option<Uuid>)], k: usize| -> Vec<Option<Uuid>> {
        v.iter()
            .map(|t| match k {
                0 => Some(t.0),
                1 => Some(t.1),
                _ => t.2,
            })
            .collect()
    };
    let statuses =
        ["new", "moderation", "in_work", "in_work", "in_work", "in_work", "done_review", "done", "done", "closed"];
    let to_vec = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let org: Uuid = desk.org.parse().expect("org id");
    let sql = "insert into cases.appeals (id, tenant_id, number, created_at, updated_at, created_by, citizen_name,
            citizen_name_key, citizen_phone, phone_digits, source_address, federal_district_id, region_id,
            municipality_id, address, address_key, executor_org_id, executor_org_name, category_type_id, category_id,
            subcategory_id, urgent, talked_before, labels, channel, stream, text, status)
        select gen_random_uuid(), $1, g, at, at, 'bench', nm, lower(nm), '+7 900 ' || lpad(g::text, 7, '0'),
               '7900' || lpad(g::text, 7, '0'), 'Москва', ($2::uuid[])[ri], ($3::uuid[])[ri],
               ($4::uuid[])[ri], 'ул Белореченская, д ' || (g % 200), 'ул белореченская, д ' || (g % 200),
               $5, 'Министерство социальной защиты', ($6::uuid[])[ci], ($7::uuid[])[ci],
               ($8::uuid[])[ci], g % 17 = 0, g % 5 = 0,
               case when g % 11 = 0 then array['federal'] else '{}'::text[] end, 'call_centre', 'Прямая линия',
               ($9::text[])[1 + floor(8 * random())::int], ($10::text[])[1 + floor(10 * random())::int]
        from (
            select g, now() - make_interval(mins => ($11 - g)::int) as at,
                   1 + floor(cardinality($3::uuid[]) * power(random(), 3))::int as ri,
                   1 + floor(cardinality($7::uuid[]) * power(random(), 3))::int as ci,
                   ($12::text[])[1 + floor(cardinality($12::text[]) * power(random(), 2))::int] || ' '
                       || ($13::text[])[1 + floor(8 * random())::int] as nm
            from generate_series(1, $11::int) as g
        ) s";
    let mut conn = desk.app.owner_pool.acquire().await.expect("owner connection");
    sqlx::query("select setseed(0.42)").execute(&mut *conn).await.expect("seed random");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(desk.t.id)
        .bind(col(&places, 0))
        .bind(col(&places, 1))
        .bind(col(&places, 2))
        .bind(org)
        .bind(col(&topics, 0))
        .bind(col(&topics, 1))
        .bind(col(&topics, 2))
        .bind(to_vec(&texts))
        .bind(to_vec(&statuses))
        .bind(CARDS)
        .bind(to_vec(&surnames))
        .bind(to_vec(&names))
        .execute(&mut *conn)
        .await
        .expect("seed appeals");
    // The tenant's sequence goes on after the seeded numbers.
    sqlx::query("select cases.next_appeal_number($1)").bind(desk.t.id).execute(&mut *conn).await.expect("sequence");
    sqlx::query("select setval(('cases.appeal_number_' || replace($1::text, '-', ''))::regclass, $2)")
        .bind(desk.t.id)
        .bind(CARDS)
        .execute(&mut *conn)
        .await
        .expect("seed the number");
    sqlx::query(
        "insert into cases.appeal_terms (tenant_id, field, term, appeal_id)
         select a.tenant_id, 'name', w, a.id
         from cases.appeals a, regexp_split_to_table(a.citizen_name_key, ' ') w where a.tenant_id = $1 and w <> ''
         union
         select a.tenant_id, 'text', left(l.lexeme, 64), a.id
         from cases.appeals a, unnest(to_tsvector('russian', lower(a.text))) l where a.tenant_id = $1",
    )
    .bind(desk.t.id)
    .execute(&mut *conn)
    .await
    .expect("seed terms");
    // The steady state autovacuum keeps: statistics and a visibility map.
    for table in ["cases.appeals", "cases.appeal_terms"] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("vacuum analyze {table}")))
            .execute(&mut *conn)
            .await
            .expect("vacuum analyze");
    }
}

/// `EXTRA_REGIONS` regions and `EXTRA_CATEGORIES` categories beside the
/// desk's own, loaded through the API as an admin would.
async fn extra_reference(desk: &mut appeals::Desk) {
    let n = |level: &str, code: String, name: String, parent: &str| pb::ReferenceNode {
        level: level.into(),
        code,
        name,
        parent_code: parent.into(),
        ..Default::default()
    };
    let regions = (0..EXTRA_REGIONS).map(|i| n("region", format!("r{i:02}"), format!("Регион {i}"), "cfo")).collect();
    let categories =
        (0..EXTRA_CATEGORIES).map(|i| n("category", format!("c{i:02}"), format!("Категория {i}"), "ogv")).collect();
    for (tree, nodes) in [("geography", regions), ("topics", categories)] {
        let req = pb::ImportReferenceNodesRequest { tree: tree.into(), nodes };
        desk.admin.appeals.clone().import_reference_nodes(req).await.expect("import reference");
        let list = pb::ListReferenceNodesRequest { tree: tree.into(), parent_id: String::new(), ..Default::default() };
        for node in desk.admin.appeals.clone().list_reference_nodes(list).await.expect("list").into_inner().nodes {
            desk.node.insert(node.code, node.id);
        }
    }
}
