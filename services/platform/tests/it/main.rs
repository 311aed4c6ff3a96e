//! Platform plumbing against the real PostgreSQL and NATS: the outbox relay,
//! the consumer runner (retry with backoff, idempotency, dead letters) and
//! Row-Level Security through the tenant transaction.
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use futures::StreamExt;
use futures::future::BoxFuture;
use opeka_platform::bus::{self, Bus, ConsumerSpec, Handler, Outbox};
use opeka_platform::settings::{BusSettings, Secret};
use opeka_platform::{db, testing};
use opeka_proto::events::{Envelope, Ping, envelope::Body};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./tests/it/migrations");
static SCHEMA: db::SchemaSpec = db::SchemaSpec { schema: "bustest", migrator: &MIGRATOR, append_only: &[] };

struct Env {
    pool: sqlx::PgPool,
    bus: Bus,
    /// The service's outbox (its relay's wake signal).
    outbox: Outbox,
    cancel: CancellationToken,
    db: testing::TestDb,
}

impl Drop for Env {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

async fn env(max_deliver: i64) -> Env {
    env_with(BusSettings { max_deliver, ..testing::unique_bus() }).await
}

async fn env_with(settings: BusSettings) -> Env {
    opeka_platform::install_crypto_provider();
    testing::require_nats().await;
    let db = testing::migrated_db(&[&SCHEMA]).await;
    let pool = db::connect(&db.url("bustest"), "bustest", 5).await.expect("pool");
    let credentials = Some((testing::HARNESS.to_string(), Secret::new(testing::test_password(testing::HARNESS))));
    let bus = Bus::connect_as(&testing::nats_url(), credentials, testing::HARNESS, settings).await.expect("nats");
    bus.ensure_stream("bustest").await.expect("stream");
    let outbox = Outbox::new(bus.settings.root.clone(), "bustest");
    Env { pool, bus, outbox, cancel: CancellationToken::new(), db }
}

fn ping(tenant: Uuid, text: &str) -> Envelope {
    bus::envelope(tenant, "system", chrono::Utc::now(), Body::Ping(Ping { text: text.into() }))
}

async fn enqueue(e: &Env, tenant: Uuid, env: &Envelope) {
    let mut tx = db::tenant_tx(&e.pool, tenant).await.expect("tx");
    e.outbox.enqueue(&mut tx, "acme", env).await.expect("enqueue");
    e.outbox.commit(tx).await.expect("commit");
}

/// Writes a row per processed event; fails the first `fail_first` attempts.
struct Recorder {
    attempts: AtomicU32,
    fail_first: u32,
}

impl Handler for Recorder {
    fn handle<'a>(
        &'a self,
        tx: &'a mut sqlx::PgConnection,
        env: &'a Envelope,
        _subject: &'a str,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let n = self.attempts.fetch_add(1, Ordering::SeqCst);
            let text = match &env.body {
                Some(Body::Ping(p)) => p.text.clone(),
                _ => String::new(),
            };
            sqlx::query("insert into pings (event_id, tenant_id, text) values ($1, $2, $3)")
                .bind(env.event_id.parse::<Uuid>()?)
                .bind(env.tenant_id.parse::<Uuid>()?)
                .bind(text)
                .execute(&mut *tx)
                .await?;
            anyhow::ensure!(n >= self.fail_first, "simulated failure {n}");
            Ok(())
        })
    }
}

async fn count_pings(e: &Env) -> i64 {
    // Plumbing test table without RLS: count directly.
    sqlx::query_scalar("select count(*) from pings").fetch_one(&e.pool).await.expect("count")
}

async fn eventually(what: &str, mut f: impl AsyncFnMut() -> bool) {
    for _ in 0..200 {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test]
async fn relay_publishes_each_outbox_row_once_with_its_id() {
    let e = env(5).await;
    let tenant = Uuid::now_v7();
    let ev = ping(tenant, "hello");
    enqueue(&e, tenant, &ev).await;
    tokio::spawn(bus::run_relay(e.pool.clone(), e.bus.clone(), e.outbox.clone(), e.cancel.clone()));
    eventually("published", async || {
        let n: i64 = sqlx::query_scalar("select count(*) from outbox where published_at is not null")
            .fetch_one(&e.pool)
            .await
            .unwrap();
        n == 1
    })
    .await;
    let stream = e.bus.js.get_stream(e.bus.stream_name("bustest")).await.expect("stream");
    let msg = stream
        .get_last_raw_message_by_subject(&format!("{}.{tenant}.bustest.ping", e.bus.settings.root))
        .await
        .expect("message");
    let id = msg.headers.get("Nats-Msg-Id").map(|v| v.to_string());
    assert_eq!(id.as_deref(), Some(ev.event_id.as_str()));
    let info = e.bus.js.get_stream(e.bus.stream_name("bustest")).await.unwrap().get_info().await.unwrap();
    assert_eq!(info.state.messages, 1);
}

#[tokio::test]
async fn consumer_retries_with_backoff_and_processes_once() {
    let e = env(5).await;
    let tenant = Uuid::now_v7();
    let handler = Arc::new(Recorder { attempts: AtomicU32::new(0), fail_first: 2 });
    let spec = ConsumerSpec {
        service: "bustest",
        durable: "bustest-recorder".into(),
        stream_of: "bustest",
        events: vec!["ping".into()],
    };
    tokio::spawn(bus::run_consumer(
        e.pool.clone(),
        e.bus.clone(),
        e.outbox.clone(),
        spec,
        handler.clone(),
        e.cancel.clone(),
    ));
    tokio::spawn(bus::run_relay(e.pool.clone(), e.bus.clone(), e.outbox.clone(), e.cancel.clone()));
    let ev = ping(tenant, "retry me");
    enqueue(&e, tenant, &ev).await;
    eventually("processed after retries", async || count_pings(&e).await == 1).await;
    assert_eq!(handler.attempts.load(Ordering::SeqCst), 3, "two failures, then success");

    // The same event delivered again (a different message, same event id) has no effect.
    let mut h = async_nats::HeaderMap::new();
    h.insert("Nats-Msg-Id", Uuid::now_v7().to_string().as_str());
    e.bus
        .js
        .publish_with_headers(
            format!("{}.{tenant}.bustest.ping", e.bus.settings.root),
            h,
            prost::Message::encode_to_vec(&ev).into(),
        )
        .await
        .unwrap()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(count_pings(&e).await, 1, "idempotent: processed_events holds the id");
    assert_eq!(handler.attempts.load(Ordering::SeqCst), 3, "the handler did not run again");
}

#[tokio::test]
async fn a_message_that_keeps_failing_goes_to_the_dead_letter_subject() {
    let e = env(3).await;
    let tenant = Uuid::now_v7();
    let dlq = e.bus.client.subscribe(e.bus.dead_letter_subject("bustest")).await.expect("sub");
    let handler = Arc::new(Recorder { attempts: AtomicU32::new(0), fail_first: u32::MAX });
    let spec = ConsumerSpec { service: "bustest", durable: "bustest-dlq".into(), stream_of: "bustest", events: vec![] };
    let before = opeka_platform::metrics::DEAD_LETTERS.with_label_values(&["bustest", "bustest-dlq"]).get();
    tokio::spawn(bus::run_consumer(
        e.pool.clone(),
        e.bus.clone(),
        e.outbox.clone(),
        spec,
        handler.clone(),
        e.cancel.clone(),
    ));
    tokio::spawn(bus::run_relay(e.pool.clone(), e.bus.clone(), e.outbox.clone(), e.cancel.clone()));
    enqueue(&e, tenant, &ping(tenant, "poison")).await;
    let mut dlq = dlq;
    let msg = tokio::time::timeout(Duration::from_secs(10), dlq.next()).await.expect("dead letter in time").unwrap();
    assert!(msg.headers.as_ref().and_then(|h| h.get("Opeka-Original-Subject")).is_some());
    assert_eq!(handler.attempts.load(Ordering::SeqCst), 3, "max_deliver attempts");
    assert_eq!(count_pings(&e).await, 0, "every attempt rolled back");
    let after = opeka_platform::metrics::DEAD_LETTERS.with_label_values(&["bustest", "bustest-dlq"]).get();
    assert_eq!(after, before + 1);
}

/// Issue 9, point 2: an envelope of tenant B under tenant A's subject (a
/// forged or buggy event) is acked without effect and counted; the next,
/// honest event of tenant A is processed.
#[tokio::test]
async fn issue9_point2_a_cross_tenant_envelope_is_rejected_and_counted() {
    let e = env(5).await;
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    let handler = Arc::new(Recorder { attempts: AtomicU32::new(0), fail_first: 0 });
    let spec = ConsumerSpec {
        service: "bustest",
        durable: "bustest-tenants".into(),
        stream_of: "bustest",
        events: vec!["ping".into()],
    };
    let rejected = || opeka_platform::metrics::EVENTS_REJECTED.with_label_values(&["bustest", "cross_tenant"]).get();
    let before = rejected();
    tokio::spawn(bus::run_consumer(
        e.pool.clone(),
        e.bus.clone(),
        e.outbox.clone(),
        spec,
        handler.clone(),
        e.cancel.clone(),
    ));
    let publish = async |subject_tenant: Uuid, envelope: &Envelope| {
        let subject = format!("{}.{subject_tenant}.bustest.ping", e.bus.settings.root);
        let payload = prost::Message::encode_to_vec(envelope);
        e.bus.js.publish(subject, payload.into()).await.unwrap().await.unwrap();
    };
    publish(a, &ping(b, "forged")).await;
    publish(a, &ping(a, "honest")).await;
    eventually("the honest event processed", async || count_pings(&e).await == 1).await;
    assert_eq!(handler.attempts.load(Ordering::SeqCst), 1, "the forged envelope never reached the handler");
    assert_eq!(rejected(), before + 1, "counted in opeka_events_rejected_total");
    assert!(opeka_platform::metrics::render().contains("opeka_events_rejected_total"));
}

#[tokio::test]
async fn settings_report_the_bad_variable() {
    let s = opeka_platform::settings::PlatformSettings { admin_addr: "nonsense".into(), ..Default::default() };
    let err = s.validate().unwrap_err();
    assert!(err.to_string().contains("OPEKA_ADMIN_ADDR"), "{err}");
}

/// Parks inside the handler until released, so the test can look at the
/// thread while the consumer is suspended mid-event.
struct Parked {
    inside: tokio::sync::Notify,
    release: tokio::sync::Notify,
}

impl Handler for Parked {
    fn handle<'a>(
        &'a self,
        _tx: &'a mut sqlx::PgConnection,
        _env: &'a Envelope,
        _subject: &'a str,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            self.inside.notify_one();
            self.release.notified().await;
            Ok(())
        })
    }
}

/// Issue 9, point 8: the consumer held `span.enter()` across `.await`, so
/// while it waited the «consume» span stayed entered on the worker thread
/// and every other task scheduled there ran inside it; once that span closed
/// elsewhere the subscriber panicked («tried to clone a span … that already
/// closed») and killed the task. Tests ran without the real subscriber and
/// never saw it: now they install the production layers. On a one-thread
/// runtime the leak is deterministic: this test fails with the old loop.
#[tokio::test]
async fn issue9_point8_a_suspended_consumer_leaves_no_span_entered_on_its_thread() {
    opeka_platform::telemetry::init_for_tests();
    assert!(tracing::dispatcher::has_been_set(), "tests run under the production subscriber");
    let e = env(5).await;
    let tenant = Uuid::now_v7();
    let handler = Arc::new(Parked { inside: tokio::sync::Notify::new(), release: tokio::sync::Notify::new() });
    let spec = ConsumerSpec {
        service: "bustest",
        durable: "bustest-parked".into(),
        stream_of: "bustest",
        events: vec!["ping".into()],
    };
    tokio::spawn(bus::run_consumer(
        e.pool.clone(),
        e.bus.clone(),
        e.outbox.clone(),
        spec,
        handler.clone(),
        e.cancel.clone(),
    ));
    tokio::spawn(bus::run_relay(e.pool.clone(), e.bus.clone(), e.outbox.clone(), e.cancel.clone()));
    enqueue(&e, tenant, &ping(tenant, "park me")).await;
    tokio::time::timeout(Duration::from_secs(10), handler.inside.notified()).await.expect("the handler runs");
    // The consumer is suspended inside its handler on this very thread.
    let current = tracing::Span::current().metadata().map(|m| m.name());
    handler.release.notify_one();
    assert_eq!(current, None, "the consumer's span leaked into another task on its thread");
}

fn principal(tenant: Uuid) -> opeka_platform::auth::Principal {
    opeka_platform::auth::Principal {
        account_id: Uuid::now_v7(),
        tenant_id: tenant,
        tenant_slug: "acme".into(),
        kind: "staff".into(),
        roles: vec![],
        session_id: None,
        organisation_id: None,
        districts: vec![],
    }
}

/// The next message on `<root>.<tenant>.bustest.ping`, or a panic after `within`.
async fn next_ping(sub: &mut async_nats::Subscriber, within: Duration) -> Envelope {
    let msg = tokio::time::timeout(within, sub.next()).await.expect("published in time").expect("message");
    prost::Message::decode(msg.payload.as_ref()).expect("envelope")
}

/// Issue 11: no LISTEN/NOTIFY. An event committed through `Call` wakes the
/// relay of its own process directly; with a one-minute poll it still
/// reaches the broker at once.
#[tokio::test]
async fn issue11_an_event_committed_through_a_call_is_published_without_waiting_for_the_poll() {
    let e = env_with(BusSettings { relay_poll_ms: 60_000, ..testing::unique_bus() }).await;
    let tenant = Uuid::now_v7();
    let mut sub = e.bus.client.subscribe(format!("{}.{tenant}.bustest.ping", e.bus.settings.root)).await.expect("sub");
    tokio::spawn(bus::run_relay(e.pool.clone(), e.bus.clone(), e.outbox.clone(), e.cancel.clone()));
    // The relay's first round (nothing to publish) is over; it now waits a minute.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let kit = opeka_platform::call::Kit::new(e.pool.clone(), e.outbox.clone(), opeka_platform::clock::system());
    let mut call = kit.open_as(principal(tenant), None).await.expect("call");
    call.emit(Body::Ping(Ping { text: "at once".into() })).await.expect("emit");
    let committed = std::time::Instant::now();
    call.commit().await.expect("commit");
    let got = next_ping(&mut sub, Duration::from_secs(5)).await;
    assert!(matches!(got.body, Some(Body::Ping(p)) if p.text == "at once"));
    assert!(committed.elapsed() < Duration::from_secs(5), "woken, not polled: {:?}", committed.elapsed());
}

/// Issue 11: another replica's relay (its own pool and wake signal, never
/// woken by this process) publishes what this replica wrote, by polling.
#[tokio::test]
async fn issue11_another_replicas_relay_publishes_rows_this_replica_wrote_by_polling() {
    let e = env(5).await;
    let tenant = Uuid::now_v7();
    let mut sub = e.bus.client.subscribe(format!("{}.{tenant}.bustest.ping", e.bus.settings.root)).await.expect("sub");
    // This replica writes and wakes its own relay, which is not running.
    let ev = ping(tenant, "from replica one");
    enqueue(&e, tenant, &ev).await;

    let other_pool = db::connect(&e.db.url("bustest"), "bustest", 5).await.expect("second replica's pool");
    let other_outbox = Outbox::new(e.bus.settings.root.clone(), "bustest");
    tokio::spawn(bus::run_relay(other_pool, e.bus.clone(), other_outbox, e.cancel.clone()));
    let got = next_ping(&mut sub, Duration::from_secs(5)).await;
    assert_eq!(got.event_id, ev.event_id);
    eventually("marked published", async || {
        sqlx::query_scalar::<_, i64>("select count(*) from outbox where published_at is null")
            .fetch_one(&e.pool)
            .await
            .unwrap()
            == 0
    })
    .await;
}

/// Issue 11: a backlog of several batches leaves with batches in flight
/// together; every row once, under its own id, and every row marked.
#[tokio::test]
async fn issue11_a_backlog_of_several_batches_is_published_once_each_and_marked() {
    let e = env(5).await;
    let tenant = Uuid::now_v7();
    let envelopes: Vec<Envelope> = (0..4500).map(|i| ping(tenant, &format!("n{i}"))).collect();
    let mut tx = db::tenant_tx(&e.pool, tenant).await.expect("tx");
    for chunk in envelopes.chunks(1000) {
        e.outbox.enqueue_many(&mut tx, "acme", chunk).await.expect("enqueue");
    }
    tx.commit().await.expect("commit");
    tokio::spawn(bus::run_relay(e.pool.clone(), e.bus.clone(), e.outbox.clone(), e.cancel.clone()));
    eventually("all marked", async || {
        sqlx::query_scalar::<_, i64>("select count(*) from outbox where published_at is null")
            .fetch_one(&e.pool)
            .await
            .unwrap()
            == 0
    })
    .await;
    let stream = e.bus.js.get_stream(e.bus.stream_name("bustest")).await.expect("stream");
    let info = stream.get_info().await.expect("info");
    assert_eq!(info.state.messages, 4500, "each row once");
    let last = stream
        .get_last_raw_message_by_subject(&format!("{}.{tenant}.bustest.ping", e.bus.settings.root))
        .await
        .expect("message");
    let id = last.headers.get("Nats-Msg-Id").map(|v| v.to_string()).expect("msg id");
    let env: Envelope = prost::Message::decode(last.payload.as_ref()).expect("envelope");
    assert_eq!(id, env.event_id, "Nats-Msg-Id is the row's (the event's) id");
}
