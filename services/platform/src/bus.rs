//! Events on NATS JetStream: one stream per service, the transactional outbox
//! and its relay, and the durable pull-consumer runner (DESIGN.md §4, §8).
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, AckKind, consumer::pull, stream};
use futures::StreamExt;
use prost::Message as _;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;
use uuid::Uuid;

use opeka_proto::events::Envelope;

use crate::settings::{BusSettings, PlatformSettings, Secret};
use crate::supervise::{Need, TaskGroup};

pub mod permissions;

/// A connection to the broker plus the naming rules for subjects and streams.
#[derive(Clone)]
pub struct Bus {
    pub client: async_nats::Client,
    pub js: jetstream::Context,
    pub settings: BusSettings,
}

impl Bus {
    /// Connects as `service` (its `OPEKA_NATS__<SERVICE>__*` credentials),
    /// retrying in the background if the server is not up yet. What every
    /// process uses; production refuses to connect without credentials.
    pub async fn connect(settings: &PlatformSettings, service: &str) -> anyhow::Result<Self> {
        let credentials = settings.nats_credentials(service)?;
        Self::connect_as(&settings.nats_url, credentials, service, settings.bus.clone()).await
    }

    /// Connects with explicit credentials (`None`: anonymous, which only a
    /// server without authorization accepts). Replies come to
    /// `_INBOX.<service>.…`, the only inboxes the server lets `service`'s
    /// user subscribe to: a pull consumer's messages arrive on an inbox, so
    /// a shared `_INBOX.>` would let any service read another's deliveries.
    pub async fn connect_as(
        url: &str,
        credentials: Option<(String, Secret<String>)>,
        service: &str,
        settings: BusSettings,
    ) -> anyhow::Result<Self> {
        let mut options = async_nats::ConnectOptions::new()
            .retry_on_initial_connect()
            .connection_timeout(Duration::from_secs(2))
            .custom_inbox_prefix(permissions::inbox_prefix(service));
        if let Some((user, password)) = credentials {
            options = options.user_and_password(user, password.expose().clone());
        }
        let client = options.connect(url).await?;
        let js = jetstream::new(client.clone());
        Ok(Self { client, js, settings })
    }

    /// `<root>.<tenant>.<service>.<event>`
    pub fn subject(&self, tenant: &str, service: &str, event: &str) -> String {
        subject(&self.settings.root, tenant, service, event)
    }

    pub fn stream_name(&self, service: &str) -> String {
        format!("{}_{}", self.settings.stream_prefix, service.to_uppercase())
    }

    pub fn dead_letter_subject(&self, service: &str) -> String {
        format!("{}.dlq.{}", self.settings.root, service)
    }

    /// The service's stream as it should be: every tenant's events of that
    /// service, file storage, a de-duplication window, bounded by age and
    /// size (the oldest events are dropped first).
    pub fn stream_config(&self, service: &str) -> stream::Config {
        stream::Config {
            name: self.stream_name(service),
            subjects: vec![format!("{}.*.{}.>", self.settings.root, service)],
            storage: stream::StorageType::File,
            duplicate_window: Duration::from_secs(self.settings.duplicate_window_secs),
            max_age: Duration::from_secs(self.settings.max_age_secs),
            max_bytes: self.settings.max_bytes,
            discard: stream::DiscardPolicy::Old,
            ..Default::default()
        }
    }

    /// Creates the service's stream, or updates it when it exists with other
    /// bounds or subjects (a stream created before the bounds existed, or
    /// with an older setting, keeps nothing forever).
    pub async fn ensure_stream(&self, service: &str) -> anyhow::Result<stream::Stream> {
        let config = self.stream_config(service);
        match self.js.get_stream(&config.name).await {
            Ok(mut s) => {
                let current = &s.cached_info().config;
                let stale = current.max_age != config.max_age
                    || current.max_bytes != config.max_bytes
                    || current.subjects != config.subjects
                    || current.duplicate_window != config.duplicate_window
                    || current.discard != config.discard;
                if stale {
                    self.js.update_stream(&config).await.map_err(|e| anyhow::anyhow!("stream update: {e}"))?;
                    tracing::info!(stream = %config.name, "stream bounds updated");
                    s = self.js.get_stream(&config.name).await.map_err(|e| anyhow::anyhow!("stream: {e}"))?;
                }
                Ok(s)
            }
            Err(e) if is_stream_not_found(&e) => {
                self.js.create_stream(config).await.map_err(|e| anyhow::anyhow!("stream create: {e}"))
            }
            Err(e) => Err(anyhow::anyhow!("stream: {e}")),
        }
    }

    /// Another service's stream, waited for until its owner creates it (a
    /// consumer may not create or change a stream it only reads).
    pub async fn await_stream(&self, service: &str, cancel: &CancellationToken) -> anyhow::Result<stream::Stream> {
        let name = self.stream_name(service);
        loop {
            match self.js.get_stream(&name).await {
                Ok(s) => return Ok(s),
                Err(e) if is_stream_not_found(&e) => {
                    tokio::select! {
                        _ = cancel.cancelled() => anyhow::bail!("cancelled while waiting for stream {name}"),
                        _ = tokio::time::sleep(Duration::from_millis(250)) => {}
                    }
                }
                Err(e) => anyhow::bail!("stream {name}: {e}"),
            }
        }
    }

    /// The subject and payload `service`'s relay would publish `envelope`
    /// under (tests that publish events as a service would).
    pub fn event_wire(&self, service: &str, tenant_slug: &str, envelope: &Envelope) -> (String, Vec<u8>) {
        let (_, _, subject, payload) = wire(&self.settings.root, service, tenant_slug, envelope);
        (subject, payload)
    }

    /// Readiness: is the connection up?
    pub fn is_connected(&self) -> bool {
        self.client.connection_state() == async_nats::connection::State::Connected
    }
}

fn is_stream_not_found(e: &async_nats::jetstream::context::GetStreamError) -> bool {
    matches!(e.kind(), async_nats::jetstream::context::GetStreamErrorKind::JetStream(js)
        if js.error_code() == async_nats::jetstream::ErrorCode::STREAM_NOT_FOUND)
}

/// `<root>.<tenant id>.<service>.<event>`. The tenant token is the tenant's
/// id, the same as the envelope's `tenant_id`, so a consumer can check the
/// two agree without a directory of slugs (see [`subject_tenant`]).
pub fn subject(root: &str, tenant: &str, service: &str, event: &str) -> String {
    format!("{root}.{tenant}.{service}.{event}")
}

/// The tenant token of `<root>.<tenant>.<service>.<event>`.
pub fn subject_tenant(subject: &str) -> Option<&str> {
    subject.split('.').nth(1).filter(|t| !t.is_empty())
}

/// Writes events into the service's outbox inside the caller's transaction,
/// and wakes the service's relay once that transaction has committed.
///
/// No `pg_notify`: a NOTIFY takes a cluster-wide lock at commit, which
/// queues every writing transaction behind the others (issue 11). The
/// in-process relay is woken directly instead ([`Outbox::wake`]; `Call::commit`
/// does it), and the relays of other replicas find the rows by polling
/// (`OPEKA_BUS__RELAY_POLL_MS`). Clones share one wake signal.
#[derive(Clone)]
pub struct Outbox {
    root: String,
    service: &'static str,
    wake: Arc<tokio::sync::Notify>,
    /// Rows enqueued through this outbox so far: a unit of work that saw it
    /// move between its start and its commit wakes the relay.
    enqueued: Arc<AtomicU64>,
}

impl Outbox {
    pub fn new(root: impl Into<String>, service: &'static str) -> Self {
        Self {
            root: root.into(),
            service,
            wake: Arc::new(tokio::sync::Notify::new()),
            enqueued: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The service whose outbox this is.
    pub fn service(&self) -> &'static str {
        self.service
    }

    /// Tells the in-process relay that rows were committed. Call it after
    /// the commit, never before: a relay woken earlier finds nothing and
    /// sleeps until its next poll. Wakes that arrive while the relay is busy
    /// collapse into one more round.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Commits `tx`, which wrote events, and wakes the relay: for work done
    /// outside a `Call` (jobs, bot turns, sign-in flows).
    pub async fn commit(&self, tx: crate::db::Tx) -> Result<(), sqlx::Error> {
        tx.commit().await?;
        self.wake();
        Ok(())
    }

    /// A mark to pass to [`Outbox::wake_if_enqueued_since`] after a commit.
    pub fn mark(&self) -> u64 {
        self.enqueued.load(Ordering::Relaxed)
    }

    /// Wakes the relay if anything was enqueued since `mark` (by this unit
    /// of work, or by another one running beside it, which only costs the
    /// relay one more look).
    pub fn wake_if_enqueued_since(&self, mark: u64) {
        if self.mark() != mark {
            self.wake();
        }
    }

    /// Resolves when [`Outbox::wake`] was called (now or since the last wait).
    async fn woken(&self) {
        self.wake.notified().await;
    }

    fn wire(&self, tenant_slug: &str, envelope: &Envelope) -> (Uuid, Uuid, String, Vec<u8>) {
        wire(&self.root, self.service, tenant_slug, envelope)
    }

    /// Stores `envelope` for publication on `<root>.<tenant id>.<service>.<event>`,
    /// stamped with `tenant_slug`. Commits with the caller's change or not at all.
    pub async fn enqueue(
        &self,
        conn: &mut sqlx::PgConnection,
        tenant_slug: &str,
        envelope: &Envelope,
    ) -> Result<(), sqlx::Error> {
        let (id, tenant_id, subject, payload) = self.wire(tenant_slug, envelope);
        let headers = serde_json::to_value(crate::telemetry::current_context_headers()).unwrap_or_default();
        sqlx::query("insert into outbox (id, tenant_id, subject, payload, headers) values ($1, $2, $3, $4, $5)")
            .bind(id)
            .bind(tenant_id)
            .bind(subject)
            .bind(payload)
            .bind(headers)
            .execute(&mut *conn)
            .await?;
        self.enqueued.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Stores many envelopes of one tenant in one statement (a dispatcher
    /// releasing thousands of reminders in a burst).
    pub async fn enqueue_many(
        &self,
        conn: &mut sqlx::PgConnection,
        tenant_slug: &str,
        envelopes: &[Envelope],
    ) -> Result<(), sqlx::Error> {
        if envelopes.is_empty() {
            return Ok(());
        }
        let mut ids = Vec::with_capacity(envelopes.len());
        let mut tenants = Vec::with_capacity(envelopes.len());
        let mut subjects = Vec::with_capacity(envelopes.len());
        let mut payloads = Vec::with_capacity(envelopes.len());
        for e in envelopes {
            let (id, tenant, subject, payload) = self.wire(tenant_slug, e);
            ids.push(id);
            tenants.push(tenant);
            subjects.push(subject);
            payloads.push(payload);
        }
        let headers = serde_json::to_value(crate::telemetry::current_context_headers()).unwrap_or_default();
        sqlx::query(
            "insert into outbox (id, tenant_id, subject, payload, headers)
             select u.id, u.tenant_id, u.subject, u.payload, $5
             from unnest($1::uuid[], $2::uuid[], $3::text[], $4::bytea[]) as u (id, tenant_id, subject, payload)",
        )
        .bind(&ids)
        .bind(&tenants)
        .bind(&subjects)
        .bind(&payloads)
        .bind(headers)
        .execute(&mut *conn)
        .await?;
        self.enqueued.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

/// The id, tenant, subject and payload of `envelope`: the subject carries
/// the envelope's tenant id, the envelope the tenant's slug.
fn wire(root: &str, service: &str, tenant_slug: &str, envelope: &Envelope) -> (Uuid, Uuid, String, Vec<u8>) {
    let event = envelope.body.as_ref().map(event_name).unwrap_or("unknown");
    let id: Uuid = envelope.event_id.parse().unwrap_or_else(|_| Uuid::now_v7());
    let tenant_id: Uuid = envelope.tenant_id.parse().unwrap_or_default();
    let subject = subject(root, &tenant_id.to_string(), service, event);
    let payload = if envelope.tenant_slug.is_empty() {
        Envelope { tenant_slug: tenant_slug.to_string(), ..envelope.clone() }.encode_to_vec()
    } else {
        envelope.encode_to_vec()
    };
    (id, tenant_id, subject, payload)
}

/// The `<event>` token of an event's subject, one name per body type.
pub fn event_name(body: &opeka_proto::events::envelope::Body) -> &'static str {
    use opeka_proto::events::envelope::Body as B;
    match body {
        B::AccountCreated(_) => "account_created",
        B::AccountUpdated(_) => "account_updated",
        B::AccountDeleted(_) => "account_deleted",
        B::ActivationRequested(_) => "activation_requested",
        B::PasswordResetRequested(_) => "password_reset_requested",
        B::BotLinked(_) => "bot_linked",
        B::SessionsRevoked(_) => "sessions_revoked",
        B::CitizenCreated(_) => "citizen_created",
        B::CitizenUpdated(_) => "citizen_updated",
        B::CitizenDeleted(_) => "citizen_deleted",
        B::CitizensTransferred(_) => "citizens_transferred",
        B::ActivityCreated(_) => "activity_created",
        B::InteractionRecorded(_) => "interaction_recorded",
        B::FileReceived(_) => "file_received",
        B::ContactRequested(_) => "contact_requested",
        B::MessageDelivered(_) => "message_delivered",
        B::ReminderDue(_) => "reminder_due",
        B::CuratorReminderDue(_) => "curator_reminder_due",
        B::ReminderAnswered(_) => "reminder_answered",
        B::DetectorRaised(_) => "detector_raised",
        B::AppealCreated(_) => "appeal_created",
        B::AppealChanged(_) => "appeal_changed",
        B::AppealCommented(_) => "appeal_commented",
        B::OnlineQuestionAsked(_) => "online_question_asked",
        B::OnlineQuestionPublished(_) => "online_question_published",
        B::ConsultationRecorded(_) => "consultation_recorded",
        B::Ping(_) => "ping",
    }
}

/// A new envelope with a v7 id, stamped now.
pub fn envelope(
    tenant_id: Uuid,
    actor: &str,
    at: chrono::DateTime<chrono::Utc>,
    body: opeka_proto::events::envelope::Body,
) -> Envelope {
    Envelope {
        event_id: Uuid::now_v7().to_string(),
        tenant_id: tenant_id.to_string(),
        occurred_at: Some(prost_types::Timestamp {
            seconds: at.timestamp(),
            nanos: at.timestamp_subsec_nanos() as i32,
        }),
        actor: actor.to_string(),
        tenant_slug: String::new(),
        body: Some(body),
    }
}

/// Rows one relay batch claims, publishes and marks.
const RELAY_BATCH: i64 = 1000;
/// Batches published and awaiting their acks at once, each in its own
/// transaction holding its rows: the next batch is claimed and sent while
/// the acks of earlier ones come back (the pipe is never drained to refill).
/// Also the most pool connections the relay holds.
const RELAY_IN_FLIGHT: usize = 4;
/// How long one publish or ack may take before the round is given up.
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(5);
/// Published rows older than a day are deleted this often.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// Publishes outbox rows (DESIGN.md §8): claims batches in id order with
/// `FOR UPDATE SKIP LOCKED`, publishes each row with `Nats-Msg-Id` = row id,
/// and marks a batch published, in one statement, only once every ack of
/// that batch has come back. Up to [`RELAY_IN_FLIGHT`] batches are in
/// flight. Runs when `outbox` is woken after a commit in this process and
/// every `relay_poll_ms` (rows other replicas wrote). Safe with many
/// replicas; a broker outage only delays; a crash between ack and mark
/// publishes the rows again under the same id, which the broker drops.
pub async fn run_relay(pool: PgPool, bus: Bus, outbox: Outbox, cancel: CancellationToken) {
    let service = outbox.service();
    let poll = Duration::from_millis(bus.settings.relay_poll_ms);
    let mut backoff = poll;
    let mut pruned: Option<Instant> = None;
    // The stream is (re)created here, not only at start-up: a broker that
    // was down when the service started, or a stream deleted underneath,
    // would otherwise fail every publish until a restart.
    let mut stream_ready = false;
    loop {
        if !stream_ready {
            match bus.ensure_stream(service).await {
                Ok(_) => stream_ready = true,
                Err(e) => tracing::warn!(service, error = %e, "outbox relay: stream not available yet; will retry"),
            }
        }
        let result =
            if stream_ready { relay_pending(&pool, &bus, service).await } else { Err(anyhow::anyhow!("no stream")) };
        match result {
            Ok(()) => backoff = poll,
            Err(e) => {
                if stream_ready {
                    tracing::warn!(service, error = %e, "outbox relay: publish failed; will retry");
                }
                stream_ready = false;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
        if pruned.is_none_or(|at| at.elapsed() >= PRUNE_EVERY) {
            let _ = prune(&pool).await;
            pruned = Some(Instant::now());
        }
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = tokio::time::sleep(backoff) => {}
            // After a failure the backoff holds even if woken.
            _ = outbox.woken(), if backoff == poll => {}
        }
    }
}

/// Publishes every row it can claim, with up to [`RELAY_IN_FLIGHT`] batches
/// awaiting acks, counting each marked batch in `opeka_outbox_published_total`.
/// On an error the batches still in flight are aborted (rolled back) and
/// published again later under the same ids.
async fn relay_pending(pool: &PgPool, bus: &Bus, service: &'static str) -> anyhow::Result<()> {
    let mut in_flight = tokio::task::JoinSet::new();
    let count = |done: Result<anyhow::Result<usize>, tokio::task::JoinError>| -> anyhow::Result<()> {
        let marked = done??;
        crate::metrics::OUTBOX_PUBLISHED.with_label_values(&[service]).inc_by(marked as u64);
        Ok(())
    };
    loop {
        while in_flight.len() >= RELAY_IN_FLIGHT {
            if let Some(done) = in_flight.join_next().await {
                count(done)?;
            }
        }
        match send_batch(pool, bus).await? {
            Some(batch) => {
                in_flight.spawn(batch.confirm());
            }
            None => break,
        }
    }
    while let Some(done) = in_flight.join_next().await {
        count(done)?;
    }
    Ok(())
}

/// A published batch: its rows stay locked by its transaction until every
/// ack is in and they are marked.
struct SentBatch {
    tx: sqlx::Transaction<'static, sqlx::Postgres>,
    ids: Vec<Uuid>,
    acks: Vec<async_nats::jetstream::context::PublishAckFuture>,
}

impl SentBatch {
    /// Awaits every ack, then marks the batch published in one statement.
    async fn confirm(mut self) -> anyhow::Result<usize> {
        for ack in self.acks {
            tokio::time::timeout(PUBLISH_TIMEOUT, ack).await.map_err(|_| anyhow::anyhow!("ack timed out"))??;
        }
        sqlx::query("update outbox set published_at = now() where id = any($1)")
            .bind(&self.ids)
            .execute(&mut *self.tx)
            .await?;
        self.tx.commit().await?;
        Ok(self.ids.len())
    }
}

/// Claims the next unpublished rows nobody else holds and publishes them
/// without waiting for the acks; `None` when there are none.
async fn send_batch(pool: &PgPool, bus: &Bus) -> anyhow::Result<Option<SentBatch>> {
    let mut tx = pool.begin().await?;
    let rows: Vec<(Uuid, String, Vec<u8>, serde_json::Value)> = sqlx::query_as(
        "select id, subject, payload, headers from outbox where published_at is null
         order by id limit $1 for update skip locked",
    )
    .bind(RELAY_BATCH)
    .fetch_all(&mut *tx)
    .await?;
    if rows.is_empty() {
        return Ok(None);
    }
    let mut acks = Vec::with_capacity(rows.len());
    let mut ids = Vec::with_capacity(rows.len());
    for (id, subject, payload, headers) in rows {
        let ack = tokio::time::timeout(
            PUBLISH_TIMEOUT,
            bus.js.publish_with_headers(subject, publish_headers(id, &headers), payload.into()),
        )
        .await
        .map_err(|_| anyhow::anyhow!("publish timed out"))??;
        acks.push(ack);
        ids.push(id);
    }
    Ok(Some(SentBatch { tx, ids, acks }))
}

/// `Nats-Msg-Id` = the row's id (the broker's de-duplication key), plus the
/// trace context stored with the row.
fn publish_headers(id: Uuid, stored: &serde_json::Value) -> async_nats::HeaderMap {
    let mut headers = async_nats::HeaderMap::new();
    headers.insert(async_nats::header::NATS_MESSAGE_ID, id.to_string().as_str());
    if let Some(obj) = stored.as_object() {
        for (k, v) in obj {
            if let Some(v) = v.as_str() {
                headers.insert(k.as_str(), v);
            }
        }
    }
    headers
}

async fn prune(pool: &PgPool) -> Result<(), sqlx::Error> {
    sqlx::query("delete from outbox where published_at < now() - interval '1 day'").execute(pool).await?;
    Ok(())
}

/// What a consumer does with one event. Runs inside a transaction already
/// scoped to the event's tenant; returning an error rolls it back and the
/// message is retried with backoff.
pub trait Handler: Send + Sync + 'static {
    fn handle<'a>(
        &'a self,
        tx: &'a mut sqlx::PgConnection,
        envelope: &'a Envelope,
        subject: &'a str,
    ) -> futures::future::BoxFuture<'a, anyhow::Result<()>>;
}

#[derive(Debug, Clone)]
pub struct ConsumerSpec {
    /// Consuming service (names the durable and the dead-letter subject).
    pub service: &'static str,
    /// Durable consumer name, unique per (consuming service, stream).
    pub durable: String,
    /// The producing service whose stream is read.
    pub stream_of: &'static str,
    /// Event names to receive (`<root>.*.<stream_of>.<event>`); empty = all.
    pub events: Vec<String>,
}

impl ConsumerSpec {
    /// `service`'s durable `durable` on `stream_of`'s stream, for `events`.
    pub fn new(service: &'static str, durable: &str, stream_of: &'static str, events: &[&str]) -> Self {
        Self { service, durable: durable.into(), stream_of, events: events.iter().map(|e| e.to_string()).collect() }
    }
}

/// The tenant's slug the producer stamped on the envelope (the subject
/// carries the tenant id).
pub fn tenant_slug(envelope: &Envelope) -> anyhow::Result<&str> {
    Some(envelope.tenant_slug.as_str())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| anyhow::anyhow!("no tenant slug in event {}", envelope.event_id))
}

/// When the event happened, or `now` if the producer left it out.
pub fn occurred_at(envelope: &Envelope, now: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
    crate::wire::from_ts(&envelope.occurred_at).unwrap_or(now)
}

/// One durable consumer of a service: what it reads and what it does with
/// each event (run it with [`spawn_consumer`]).
pub struct Consumer {
    pub spec: ConsumerSpec,
    pub handler: Arc<dyn Handler>,
}

/// Supervises the service's outbox relay as `<service>.outbox-relay` (a
/// required task: while it is down nothing the service writes leaves).
pub fn spawn_relay(group: &TaskGroup, pool: PgPool, bus: Bus, outbox: Outbox, cancel: CancellationToken) {
    group.spawn(format!("{}.outbox-relay", outbox.service()), Need::Required, move || {
        run_relay(pool.clone(), bus.clone(), outbox.clone(), cancel.clone())
    });
}

/// Supervises one durable consumer as `<service>.consumer.<durable>`: started
/// again with backoff when it ends, fails (the broker down at start-up, a
/// stream deleted underneath) or panics. What every service runs its
/// consumers with.
/// `outbox` is woken after a handler's transaction that wrote to it.
pub fn spawn_consumer(
    group: &TaskGroup,
    pool: PgPool,
    bus: Bus,
    outbox: Outbox,
    consumer: Consumer,
    cancel: CancellationToken,
) {
    let Consumer { spec, handler } = consumer;
    let name = format!("{}.consumer.{}", spec.service, spec.durable);
    group.spawn(name, Need::Required, move || {
        run_consumer(pool.clone(), bus.clone(), outbox.clone(), spec.clone(), handler.clone(), cancel.clone())
    });
}

/// Runs a durable pull consumer with explicit acks until cancelled.
/// Idempotent: the event id goes into `processed_events` in the handler's
/// transaction, so a redelivery is acked without effect. After `max_deliver`
/// attempts the message is copied to `<root>.dlq.<service>` and acked.
/// Events a handler writes to `outbox` wake its relay after the commit.
pub async fn run_consumer(
    pool: PgPool,
    bus: Bus,
    outbox: Outbox,
    spec: ConsumerSpec,
    handler: Arc<dyn Handler>,
    cancel: CancellationToken,
) -> anyhow::Result<()> {
    let stream = bus.await_stream(spec.stream_of, &cancel).await?;
    let root = &bus.settings.root;
    let filter_subjects = spec.events.iter().map(|e| format!("{root}.*.{}.{e}", spec.stream_of)).collect::<Vec<_>>();
    let config = pull::Config {
        durable_name: Some(spec.durable.clone()),
        filter_subjects,
        ack_policy: jetstream::consumer::AckPolicy::Explicit,
        max_deliver: bus.settings.max_deliver,
        ack_wait: Duration::from_secs(30),
        ..Default::default()
    };
    let consumer: jetstream::consumer::Consumer<pull::Config> =
        stream.get_or_create_consumer(&spec.durable, config).await.map_err(|e| anyhow::anyhow!("consumer: {e}"))?;
    let mut messages = consumer.messages().await.map_err(|e| anyhow::anyhow!("messages: {e}"))?;
    let dlq = bus.dead_letter_subject(spec.service);
    loop {
        let msg = tokio::select! {
            _ = cancel.cancelled() => return Ok(()),
            m = messages.next() => m,
        };
        let Some(msg) = msg else { return Ok(()) };
        let msg = match msg {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(error = %e, durable = %spec.durable, "consumer: receive failed");
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        let delivered = msg.info().map(|i| i.delivered).unwrap_or(1);
        let headers: HashMap<String, String> = msg
            .headers
            .as_ref()
            .map(|h| h.iter().filter_map(|(k, v)| v.first().map(|v| (k.to_string(), v.to_string()))).collect())
            .unwrap_or_default();
        let span = tracing::info_span!("consume", subject = %msg.subject, durable = %spec.durable);
        crate::telemetry::set_parent_from_map(&span, &headers);
        // `.instrument`, never `span.enter()` across an `.await`: a guard held
        // over a suspension point stays on this worker thread's span stack
        // after the task moves on, and a span closed meanwhile makes the
        // subscriber panic when another task clones it (issue 9, point 8).
        let mark = outbox.mark();
        let result =
            process(&pool, &spec.durable, handler.as_ref(), &msg.payload, msg.subject.as_str()).instrument(span).await;
        outbox.wake_if_enqueued_since(mark);
        match result {
            Ok(()) => {
                let _ = msg.ack().await;
            }
            Err(e) if e.downcast_ref::<Rejected>().is_some() => {
                let reason = e.downcast_ref::<Rejected>().map(Rejected::reason).unwrap_or("invalid");
                tracing::warn!(subject = %msg.subject, durable = %spec.durable, reason, error = %e, "consumer: event rejected");
                crate::metrics::EVENTS_REJECTED.with_label_values(&[spec.service, reason]).inc();
                let _ = msg.ack().await;
            }
            Err(e) if delivered >= bus.settings.max_deliver => {
                tracing::error!(error = %e, subject = %msg.subject, delivered, "consumer: giving up, dead-lettering");
                let mut h = msg.headers.clone().unwrap_or_default();
                h.insert("Opeka-Original-Subject", msg.subject.as_str());
                h.insert("Opeka-Error", e.to_string().as_str());
                let published = bus.client.publish_with_headers(dlq.clone(), h, msg.payload.clone()).await;
                if published.is_ok() {
                    crate::metrics::DEAD_LETTERS.with_label_values(&[spec.service, &spec.durable]).inc();
                    let _ = msg.ack().await;
                }
            }
            Err(e) => {
                let delay = retry_delay(delivered);
                tracing::warn!(error = %e, subject = %msg.subject, delivered, ?delay, "consumer: handler failed; retrying");
                let _ = msg.ack_with(AckKind::Nak(Some(delay))).await;
            }
        }
    }
}

/// An event a consumer refuses without retrying: acked without effect,
/// logged and counted in `opeka_events_rejected_total{service,reason}`.
#[derive(Debug, thiserror::Error)]
pub enum Rejected {
    #[error("the envelope's tenant differs from the subject's tenant")]
    CrossTenant,
}

impl Rejected {
    pub fn reason(&self) -> &'static str {
        match self {
            Rejected::CrossTenant => "cross_tenant",
        }
    }
}

/// Exponential backoff: 200 ms, 400 ms, … capped at 30 s.
pub fn retry_delay(delivered: i64) -> Duration {
    let exp = (delivered.clamp(1, 10) - 1) as u32;
    Duration::from_millis(200u64 * 2u64.pow(exp)).min(Duration::from_secs(30))
}

async fn process(
    pool: &PgPool,
    durable: &str,
    handler: &dyn Handler,
    payload: &[u8],
    subject: &str,
) -> anyhow::Result<()> {
    let envelope = Envelope::decode(payload)?;
    let event_id: Uuid = envelope.event_id.parse()?;
    let tenant_id: Uuid = envelope.tenant_id.parse().map_err(|_| Rejected::CrossTenant)?;
    // The subject is what the broker's permissions and the consumer's
    // filter speak about; an envelope of another tenant under it would be
    // applied to that other tenant.
    if subject_tenant(subject).and_then(|t| t.parse::<Uuid>().ok()) != Some(tenant_id) {
        return Err(Rejected::CrossTenant.into());
    }
    let mut tx = pool.begin().await?;
    crate::db::set_tenant(&mut tx, tenant_id).await?;
    let fresh = sqlx::query("insert into processed_events (consumer, event_id) values ($1, $2) on conflict do nothing")
        .bind(durable)
        .bind(event_id)
        .execute(&mut *tx)
        .await?
        .rows_affected()
        == 1;
    if !fresh {
        return Ok(());
    }
    handler.handle(&mut tx, &envelope, subject).await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_caps() {
        assert_eq!(retry_delay(1), Duration::from_millis(200));
        assert_eq!(retry_delay(2), Duration::from_millis(400));
        assert_eq!(retry_delay(50), Duration::from_secs(30));
    }

    #[test]
    fn subjects_follow_the_design() {
        assert_eq!(subject("opeka", "t1", "scheduler", "reminder_due"), "opeka.t1.scheduler.reminder_due");
    }
}
