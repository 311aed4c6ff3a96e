//! Reminders on their way to Telegram. The consumer stores each send in
//! `telegram_queue` (in the transaction that marks the event processed, before
//! the JetStream ack); the tenant's bot leader claims the rows here, hands
//! them to the throttled `Sender` and writes each outcome to the delivery log
//! with `message_delivered`. A restart loses nothing: unfinished rows are
//! released on a clean stop, and after a crash their short lease ([`LEASE`],
//! renewed every [`RENEW`] while the send is in flight) runs out within a
//! minute.
//!
//! How many times a citizen can see one reminder (Telegram has no idempotent
//! send, so delivery is at least once):
//! - the event is acked only after its queue row is committed, and the row
//!   is deleted in the transaction that records the send, so a redelivered
//!   event or a restart never sends a recorded send again;
//! - a graceful stop (SIGTERM) lets the sends on the wire finish for
//!   [`GRACE`], records them, and releases the rest unsent: no duplicate;
//! - a crash (SIGKILL, OOM, power) between Telegram accepting a message and
//!   the commit of its record leaves the row to be sent again once its lease
//!   runs out: one duplicate per crash, for the few sends in that window
//!   (at most the sender's in-flight sends, [`MAX_IN_FLIGHT`] per bot);
//! - a live leader that cannot reach the database for longer than [`LEASE`]
//!   (its renewals fail) may see another replica claim and send its rows: one
//!   more copy.
//!
//! So at worst a citizen sees one reminder 1 + (crashes or lost leases while
//! it was on the wire) times — twice after a single crash, never more than
//! once after a graceful stop.
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use opeka_platform::db;
use opeka_proto::events::{self as ev, envelope::Body};
use teloxide::types::{InlineKeyboardMarkup, ReplyMarkup};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::dialogue::TenantBot;
use super::{Outgoing, SendFailed, Sender, Sent};
use crate::{App, store};

/// How many sends of one bot may wait in the sender at once (about eight
/// seconds of Telegram's 30 a second): enough to keep it busy, few enough
/// that a stop or a crash leaves little to hand over.
const MAX_IN_FLIGHT: usize = 256;
/// How long a claim holds before another leader may take the row (after a
/// crash; a clean stop releases its claims at once). Short, so a crashed
/// process's sends wait less than a minute (they waited 10 minutes before
/// issue 9); renewed every [`RENEW`] while the sends are in flight.
pub const LEASE: chrono::Duration = chrono::Duration::seconds(45);
/// How often the claims of sends in flight are extended: three renewals
/// must fail in a row before a live leader's lease can run out.
const RENEW: Duration = Duration::from_secs(10);
/// Rows are looked for this often even without a wake-up (expired leases,
/// retries that came due, a missed notification).
const POLL: Duration = Duration::from_secs(2);
/// After the bot is told to stop: how long sends already handed over may take.
const GRACE: Duration = Duration::from_secs(2);
/// Dispatcher tries of one row (each try is itself `telegram_max_attempts`
/// sends) before it is given up as failed.
const MAX_TRIES: i32 = 5;

/// Per-tenant wake-ups for the dispatchers of this process, fed by the
/// queue's `LISTEN` (`store::TELEGRAM_QUEUE_CHANNEL`).
#[derive(Default)]
pub struct Wakers {
    map: Mutex<HashMap<Uuid, Arc<Notify>>>,
}

impl Wakers {
    pub fn get(&self, tenant_id: Uuid) -> Arc<Notify> {
        self.map.lock().expect("wakers lock").entry(tenant_id).or_default().clone()
    }

    pub fn wake(&self, tenant_id: Uuid) {
        if let Some(n) = self.map.lock().expect("wakers lock").get(&tenant_id) {
            n.notify_one();
        }
    }
}

/// Listens for queued sends (any replica's consumer) and wakes the tenant's
/// dispatcher, until `cancel`.
pub async fn listen(app: Arc<App>, cancel: CancellationToken) {
    loop {
        let listener = async {
            let mut l = sqlx::postgres::PgListener::connect_with(&app.kit.pool).await?;
            l.listen(store::TELEGRAM_QUEUE_CHANNEL).await?;
            Ok::<_, sqlx::Error>(l)
        };
        let mut l = match listener.await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "telegram queue: cannot listen; polling only");
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_secs(5)) => continue,
                }
            }
        };
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                n = l.recv() => match n {
                    Ok(n) => {
                        if let Ok(tenant_id) = n.payload().parse() {
                            app.wakers.wake(tenant_id);
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "telegram queue: listener lost");
                        break;
                    }
                },
            }
        }
    }
}

type Outcome = (store::QueuedRow, Option<Result<Sent, SendFailed>>);

/// Claims the tenant's queued sends and hands them to `sender` until `stop`;
/// then gives the ones handed over `GRACE` to finish, stops the sender
/// (`sender_stop`) and releases what was not sent.
pub async fn dispatch(bot: Arc<TenantBot>, sender: Sender, sender_stop: CancellationToken, stop: CancellationToken) {
    let app = bot.app.clone();
    let tenant_id = bot.tenant_id;
    let wake = app.wakers.get(tenant_id);
    let mut in_flight: FuturesUnordered<BoxFuture<'static, Outcome>> = FuturesUnordered::new();
    let mut claimed: HashSet<Uuid> = HashSet::new();
    // Claim on start, on a wake-up, on the poll, and when the sender has room
    // again after a full claim.
    let mut look = true;
    let mut full = false;
    let mut renew = tokio::time::interval_at(tokio::time::Instant::now() + RENEW, RENEW);
    renew.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !stop.is_cancelled() {
        if look || (full && in_flight.len() <= MAX_IN_FLIGHT / 2) {
            let room = MAX_IN_FLIGHT.saturating_sub(in_flight.len());
            match claim(&app, tenant_id, room).await {
                Ok(rows) => {
                    full = rows.len() == room;
                    for row in rows {
                        claimed.insert(row.id);
                        in_flight.push(hand_over(&sender, row));
                    }
                }
                Err(e) => tracing::warn!(%tenant_id, error = %e, "telegram queue: claim failed"),
            }
            look = false;
        }
        tokio::select! {
            _ = stop.cancelled() => {}
            _ = wake.notified() => look = true,
            _ = tokio::time::sleep(POLL) => look = true,
            _ = renew.tick(), if !claimed.is_empty() => {
                let ids: Vec<Uuid> = claimed.iter().copied().collect();
                if let Err(e) = renew_leases(&app, tenant_id, &ids).await {
                    tracing::warn!(%tenant_id, error = %e, count = ids.len(), "telegram queue: lease renewal failed");
                }
            }
            Some(done) = in_flight.next(), if !in_flight.is_empty() => {
                claimed.remove(&done.0.id);
                settle(&bot, done).await;
            }
        }
    }
    // Stopping: what Telegram is about to take gets a moment to finish…
    let grace = tokio::time::sleep(GRACE);
    tokio::pin!(grace);
    while !in_flight.is_empty() {
        tokio::select! {
            _ = &mut grace => break,
            Some(done) = in_flight.next() => {
                claimed.remove(&done.0.id);
                settle(&bot, done).await;
            }
        }
    }
    // …then the sender stops taking new ones: every job left resolves at once
    // as not sent (or as sent, when it was already on the wire).
    sender_stop.cancel();
    let settle_rest = async {
        while let Some(done) = in_flight.next().await {
            claimed.remove(&done.0.id);
            settle(&bot, done).await;
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(5), settle_rest).await;
    if !claimed.is_empty() {
        let ids: Vec<Uuid> = claimed.into_iter().collect();
        match release(&app, tenant_id, &ids).await {
            Ok(()) => {
                tracing::info!(%tenant_id, count = ids.len(), "telegram queue: unsent messages left for the next start")
            }
            Err(e) => tracing::warn!(%tenant_id, error = %e, "telegram queue: release failed; the lease will expire"),
        }
    }
}

async fn claim(app: &App, tenant_id: Uuid, room: usize) -> anyhow::Result<Vec<store::QueuedRow>> {
    if room == 0 {
        return Ok(Vec::new());
    }
    let now = app.kit.now();
    let mut tx = db::tenant_tx(&app.kit.pool, tenant_id).await?;
    let rows = store::claim_telegram(&mut tx, now, now + LEASE, room as i64).await?;
    tx.commit().await?;
    Ok(rows)
}

async fn renew_leases(app: &App, tenant_id: Uuid, ids: &[Uuid]) -> anyhow::Result<()> {
    let mut tx = db::tenant_tx(&app.kit.pool, tenant_id).await?;
    store::renew_telegram(&mut tx, ids, app.kit.now() + LEASE).await?;
    tx.commit().await?;
    Ok(())
}

async fn release(app: &App, tenant_id: Uuid, ids: &[Uuid]) -> anyhow::Result<()> {
    let mut tx = db::tenant_tx(&app.kit.pool, tenant_id).await?;
    store::release_telegram(&mut tx, ids).await?;
    tx.commit().await?;
    Ok(())
}

fn hand_over(sender: &Sender, row: store::QueuedRow) -> BoxFuture<'static, Outcome> {
    let markup = row
        .markup
        .clone()
        .and_then(|m| serde_json::from_value::<InlineKeyboardMarkup>(m).ok())
        .map(ReplyMarkup::InlineKeyboard);
    let rx = sender.enqueue(Outgoing::Text { chat_id: row.chat_id, text: row.body.clone(), markup });
    Box::pin(async move { (row, rx.await.ok()) })
}

/// What became of one send: in the delivery log (with `message_delivered`
/// when it arrived) and off the queue, back on it for a later try, or
/// released when the bot stopped before sending it.
async fn settle(bot: &TenantBot, (row, outcome): Outcome) {
    let app = &bot.app;
    let tenant_id = bot.tenant_id;
    let now = app.kit.now();
    let result = match outcome {
        None | Some(Err(SendFailed { stopped: true, .. })) => release(app, tenant_id, &[row.id]).await,
        Some(result) => {
            let retry = match &result {
                Err(f) if !f.permanent && row.tries + 1 < MAX_TRIES => {
                    Some(now + chrono::Duration::seconds(30 * i64::from(row.tries + 1)))
                }
                _ => None,
            };
            let mut last = Ok(());
            // A database hiccup must not leave a sent message to be sent again.
            for pause in [0, 200, 1000] {
                tokio::time::sleep(Duration::from_millis(pause)).await;
                last = record(bot, &row, &result, retry, now).await;
                if last.is_ok() {
                    break;
                }
            }
            match (&result, retry) {
                (Ok(_), _) => {
                    tracing::info!(%tenant_id, kind = %row.kind, reference_id = %row.reference_id, "telegram message delivered")
                }
                (Err(f), Some(at)) => {
                    tracing::warn!(%tenant_id, kind = %row.kind, reason = %f.reason, retry_at = %at, "telegram message not delivered; will retry")
                }
                (Err(f), None) => {
                    tracing::warn!(%tenant_id, kind = %row.kind, reason = %f.reason, "telegram message not delivered; given up")
                }
            }
            last
        }
    };
    if let Err(e) = result {
        tracing::error!(%tenant_id, id = %row.id, error = %e, "telegram queue: outcome not recorded");
    }
}

async fn record(
    bot: &TenantBot,
    row: &store::QueuedRow,
    result: &Result<Sent, SendFailed>,
    retry: Option<chrono::DateTime<chrono::Utc>>,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<()> {
    let app = &bot.app;
    let recipient = row.chat_id.to_string();
    let reference = (!row.reference_id.is_empty()).then_some(row.reference_id.as_str());
    let tries = match result {
        Ok(s) => s.attempts,
        Err(f) => f.attempts,
    } as i32;
    let mut tx = db::tenant_tx(&app.kit.pool, bot.tenant_id).await?;
    let delivery = store::record_attempt(
        &mut tx,
        store::Attempt {
            tenant_id: bot.tenant_id,
            channel: "telegram",
            recipient: &recipient,
            source_event_id: row.source_event_id,
            kind: &row.kind,
            tries,
            outcome: result.as_ref().map(|_| ()).map_err(|f| f.reason.clone()),
            at: now,
            reference_id: reference,
        },
    )
    .await?;
    match (result, retry) {
        (Ok(_), _) => {
            let env = opeka_platform::bus::envelope(
                bot.tenant_id,
                "system",
                now,
                Body::MessageDelivered(ev::MessageDelivered {
                    delivery_id: delivery.id.to_string(),
                    channel: "telegram".into(),
                    recipient,
                    source_event_id: row.source_event_id.to_string(),
                    kind: row.kind.clone(),
                    citizen_account_id: row.citizen_account_id.to_string(),
                    reference_id: row.reference_id.clone(),
                }),
            );
            app.kit.outbox.enqueue(&mut tx, &bot.slug, &env).await?;
            store::finish_telegram(&mut tx, row.id).await?;
        }
        (Err(f), Some(at)) => store::retry_telegram(&mut tx, row.id, at, &f.reason).await?,
        (Err(_), None) => store::finish_telegram(&mut tx, row.id).await?,
    }
    // A failed attempt wrote no event; the relay then only looks once more.
    app.kit.outbox.commit(tx).await?;
    Ok(())
}
