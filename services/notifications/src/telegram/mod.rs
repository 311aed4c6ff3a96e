//! The Telegram channel: one bot per tenant that has a token, each getting
//! its updates by long polling (the default) or through the webhook
//! (`OPEKA_NOTIFICATIONS__WEBHOOK_BASE_URL`, served by `webhook`) and
//! answering its citizens (`dialogue`) through the same per-chat workers, with
//! all outbound calls paced by `sender`; the bot's leader also sends the
//! reminders waiting in `queue`.
pub mod dialogue;
pub mod queue;
pub mod sender;
pub mod webhook;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use sqlx::Connection;
use teloxide::prelude::*;
use teloxide::types::AllowedUpdate;
use teloxide::{ApiError, RequestError};
use tokio::sync::{Mutex, mpsc};
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use aws_lc_rs::rand::{SecureRandom, SystemRandom};

use crate::App;
use crate::crypto::field;
use crate::store;
pub use sender::{Limits, Outgoing, SendFailed, Sender, Sent};

/// How often the bots' supervisor looks for a bot that should run and does
/// not (a new token set on another replica, a bot that died).
const BOT_CHECK: Duration = Duration::from_secs(5);

/// A bot client for `token` talking to the configured Bot API URL.
pub fn make_bot(api_url: &str, token: &str) -> anyhow::Result<Bot> {
    Ok(Bot::new(token).set_api_url(url::Url::parse(api_url)?))
}

struct Running {
    cancel: CancellationToken,
    sender: Sender,
    task: JoinHandle<()>,
    /// Webhook mode: where the webhook endpoint hands this bot's updates.
    inbox: Option<Inbox>,
}

/// A webhook-mode bot's secret token and the queue its updates go into.
#[derive(Clone)]
struct Inbox {
    secret: String,
    tx: mpsc::UnboundedSender<Update>,
}

/// How a running bot gets its updates.
enum Feed {
    /// `getUpdates`, by one replica at a time (leader lock).
    Polling,
    /// Telegram posts to `url` with `secret`; updates arrive on `rx`.
    Webhook { url: url::Url, secret: String, rx: mpsc::UnboundedReceiver<Update> },
}

/// What the webhook endpoint made of one POST.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepted {
    /// Queued for the chat's worker.
    Queued,
    /// No bot of this tenant takes webhook updates here.
    UnknownTenant,
    /// The secret token header is missing or wrong.
    BadSecret,
    /// The body is not an `Update`.
    BadUpdate,
    /// The bot is stopping; Telegram will deliver it again.
    Stopping,
}

/// Starts, restarts and stops the tenants' bots.
pub struct BotManager {
    app: Arc<App>,
    bots: Mutex<HashMap<Uuid, Running>>,
    shutdown: CancellationToken,
}

impl BotManager {
    pub fn new(app: Arc<App>, shutdown: CancellationToken) -> Arc<Self> {
        Arc::new(Self { app, bots: Mutex::new(HashMap::new()), shutdown })
    }

    /// Starts the bot of every tenant that has a token.
    pub async fn start_all(&self) -> anyhow::Result<()> {
        for tenant_id in store::registered_bots(&self.app.kit.pool).await? {
            if let Err(e) = self.reload(tenant_id).await {
                tracing::error!(%tenant_id, error = %e, "bot not started");
            }
        }
        Ok(())
    }

    /// The bots' supervisor (run as the task `notifications.bots`): starts
    /// every tenant's bot that is not running — at start, and whenever one
    /// ended or panicked without being told to (its sends and updates would
    /// wait otherwise) — until shutdown. A restart of this task itself only
    /// starts the missing ones.
    pub async fn keep_running(self: Arc<Self>) -> anyhow::Result<()> {
        let mut tick = tokio::time::interval(BOT_CHECK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = self.shutdown.cancelled() => return Ok(()),
                _ = tick.tick() => {}
            }
            let registered = match store::registered_bots(&self.app.kit.pool).await {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(error = %e, "bots: cannot list the tenants' bots; retrying");
                    continue;
                }
            };
            for tenant_id in registered {
                // Checked and started under one lock, so a `reload` from the
                // API in between is not undone by a second start.
                let mut bots = self.bots.lock().await;
                let died = match bots.get(&tenant_id) {
                    None => false,
                    Some(running) if running.task.is_finished() => true,
                    Some(_) => continue,
                };
                if self.shutdown.is_cancelled() {
                    return Ok(());
                }
                if died {
                    tracing::error!(%tenant_id, "bot stopped on its own; restarting it");
                    opeka_platform::metrics::TASK_RESTARTS.with_label_values(&["notifications.bot"]).inc();
                }
                if let Err(e) = self.restart(&mut bots, tenant_id).await {
                    tracing::error!(%tenant_id, error = %e, "bot not started");
                }
            }
        }
    }

    /// (Re)starts the tenant's bot with its current token, or stops it when
    /// the token was removed.
    pub async fn reload(&self, tenant_id: Uuid) -> anyhow::Result<()> {
        let mut bots = self.bots.lock().await;
        self.restart(&mut bots, tenant_id).await
    }

    /// `reload` under the caller's lock of the running bots.
    async fn restart(&self, bots: &mut HashMap<Uuid, Running>, tenant_id: Uuid) -> anyhow::Result<()> {
        if let Some(old) = bots.remove(&tenant_id) {
            old.cancel.cancel();
            // The old poller must be gone before a new one asks for updates
            // (Telegram answers 409 to two pollers of one bot).
            let _ = tokio::time::timeout(Duration::from_secs(15), old.task).await;
        }
        if self.shutdown.is_cancelled() {
            return Ok(());
        }
        let mut tx = opeka_platform::db::tenant_tx(&self.app.kit.pool, tenant_id).await?;
        let row = store::channel_settings(&mut tx, tenant_id).await?;
        tx.commit().await?;
        let Some(row) = row else { return Ok(()) };
        let Some(enc) = row.bot_token_enc.as_deref() else { return Ok(()) };
        let token = self.app.secrets.open(tenant_id, field::BOT_TOKEN, enc)?;
        let bot = make_bot(&self.app.settings.telegram_api_url, &token)?;
        let cancel = self.shutdown.child_token();
        // Not a child of `cancel`: replies to updates handled while the bot
        // drains still go out; `run_bot` stops the sender when it is done.
        let sender_cancel = CancellationToken::new();
        let sender = Sender::new(bot.clone(), Limits::from_settings(&self.app.settings), sender_cancel.clone());
        let (feed, inbox) = if self.app.settings.webhook_mode() {
            let url = url::Url::parse(&self.app.settings.webhook_url(tenant_id))?;
            let secret = self.webhook_secret(tenant_id).await?;
            let (tx, rx) = mpsc::unbounded_channel();
            (Feed::Webhook { url, secret: secret.clone(), rx }, Some(Inbox { secret, tx }))
        } else {
            (Feed::Polling, None)
        };
        let mode = if inbox.is_some() { "webhook" } else { "long polling" };
        let tenant_bot =
            dialogue::TenantBot::new(self.app.clone(), tenant_id, row.tenant_slug.clone(), bot, sender.clone());
        let task = tokio::spawn(run_bot(self.app.clone(), tenant_bot, feed, cancel.clone(), sender_cancel));
        tracing::info!(%tenant_id, tenant = %row.tenant_slug, mode, "bot started");
        bots.insert(tenant_id, Running { cancel, sender, task, inbox });
        Ok(())
    }

    /// The tenant's webhook secret token: the stored one, or a new random one
    /// (64 hex digits, within Telegram's `A-Za-z0-9_-`, 1–256) stored now.
    async fn webhook_secret(&self, tenant_id: Uuid) -> anyhow::Result<String> {
        let mut raw = [0u8; 32];
        SystemRandom::new().fill(&mut raw).map_err(|_| anyhow::anyhow!("no randomness for the webhook secret"))?;
        let fresh: String = raw.iter().map(|b| format!("{b:02x}")).collect();
        let sealed = self.app.secrets.seal(tenant_id, field::WEBHOOK_SECRET, &fresh)?;
        let mut tx = opeka_platform::db::tenant_tx(&self.app.kit.pool, tenant_id).await?;
        let stored = store::ensure_webhook_secret(&mut tx, tenant_id, sealed).await?;
        tx.commit().await?;
        let stored = stored.ok_or_else(|| anyhow::anyhow!("the tenant's channel settings are gone"))?;
        Ok(self.app.secrets.open(tenant_id, field::WEBHOOK_SECRET, &stored)?)
    }

    /// One webhook POST for the tenant's bot: checks the secret token and
    /// hands the update to the bot's chat workers (it does not wait for them).
    pub async fn accept(&self, tenant_id: Uuid, secret: Option<&str>, body: &[u8]) -> Accepted {
        let inbox = self.bots.lock().await.get(&tenant_id).and_then(|r| r.inbox.clone());
        let Some(inbox) = inbox else { return Accepted::UnknownTenant };
        let good = secret.is_some_and(|s| {
            aws_lc_rs::constant_time::verify_slices_are_equal(s.as_bytes(), inbox.secret.as_bytes()).is_ok()
        });
        if !good {
            return Accepted::BadSecret;
        }
        let Ok(update) = serde_json::from_slice::<Update>(body) else { return Accepted::BadUpdate };
        match inbox.tx.send(update) {
            Ok(()) => Accepted::Queued,
            Err(_) => Accepted::Stopping,
        }
    }

    /// The tenant's outbound queue, when its bot runs.
    pub async fn sender(&self, tenant_id: Uuid) -> Option<Sender> {
        self.bots.lock().await.get(&tenant_id).map(|r| r.sender.clone())
    }

    /// Waits for every bot to stop (after the shutdown token was cancelled).
    pub async fn join(&self) {
        let running: Vec<Running> = self.bots.lock().await.drain().map(|(_, r)| r).collect();
        for r in running {
            r.cancel.cancel();
            let _ = tokio::time::timeout(Duration::from_secs(15), r.task).await;
        }
    }
}

/// One replica polls a bot at a time: the poller holds a session advisory
/// lock on its own connection for as long as it runs.
async fn leader_lock(database_url: String, tenant_id: Uuid, cancel: CancellationToken) -> Option<sqlx::PgConnection> {
    loop {
        match sqlx::PgConnection::connect(&database_url).await {
            Ok(mut conn) => {
                let got: Result<bool, _> = sqlx::query_scalar("select pg_try_advisory_lock(hashtextextended($1, 0))")
                    .bind(format!("opeka-notifications-bot:{tenant_id}"))
                    .fetch_one(&mut conn)
                    .await;
                match got {
                    Ok(true) => return Some(conn),
                    Ok(false) => tracing::debug!(%tenant_id, "another replica polls this bot"),
                    Err(e) => tracing::warn!(%tenant_id, error = %e, "bot leader lock failed"),
                }
            }
            Err(e) => tracing::warn!(%tenant_id, error = %e, "bot leader lock: no database connection"),
        }
        tokio::select! {
            _ = cancel.cancelled() => return None,
            _ = tokio::time::sleep(Duration::from_secs(5)) => {}
        }
    }
}

/// Updates of one chat are handled in order by that chat's worker; chats do
/// not wait for each other (an upload in one chat does not hold up another).
struct ChatWorkers {
    bot: Arc<dialogue::TenantBot>,
    queues: HashMap<i64, (mpsc::UnboundedSender<Update>, tokio::time::Instant)>,
    tasks: JoinSet<()>,
}

/// A chat's worker is let go after this long without updates.
const CHAT_IDLE: Duration = Duration::from_secs(60);

impl ChatWorkers {
    fn new(bot: Arc<dialogue::TenantBot>) -> Self {
        Self { bot, queues: HashMap::new(), tasks: JoinSet::new() }
    }

    fn dispatch(&mut self, u: Update) {
        let chat = u.chat().map(|c| c.id.0).or_else(|| u.from().map(|f| f.id.0 as i64)).unwrap_or_default();
        let now = tokio::time::Instant::now();
        let u = match self.queues.get_mut(&chat) {
            Some((tx, last)) => {
                *last = now;
                match tx.send(u) {
                    Ok(()) => return,
                    Err(mpsc::error::SendError(u)) => u,
                }
            }
            None => u,
        };
        let (tx, mut rx) = mpsc::unbounded_channel::<Update>();
        let bot = self.bot.clone();
        // Drains its queue, then ends when its sender is dropped.
        self.tasks.spawn(async move {
            while let Some(u) = rx.recv().await {
                bot.handle(u).await;
            }
        });
        let _ = tx.send(u);
        self.queues.insert(chat, (tx, now));
    }

    /// Lets idle chats' workers finish and reaps the finished ones.
    fn prune(&mut self) {
        let now = tokio::time::Instant::now();
        self.queues.retain(|_, (_, last)| now.duration_since(*last) < CHAT_IDLE);
        while self.tasks.try_join_next().is_some() {}
    }

    /// Handles everything already received before the bot stops.
    async fn drain(mut self, within: Duration) {
        self.queues.clear();
        let all = async { while self.tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(within, all).await.is_err() {
            tracing::warn!(tenant_id = %self.bot.tenant_id, "bot stopped with updates still being handled");
        }
    }
}

/// Runs one tenant's bot until `cancel`: its updates (polled or posted to
/// the webhook) go through the same per-chat workers, which are drained
/// before the bot stops. The replica that holds the bot's leader lock (the
/// poller; in webhook mode whichever replica takes it) also sends the
/// tenant's queued reminders, so one bot's sends are paced in one place.
/// The queue's dispatcher stops the sender last.
async fn run_bot(
    app: Arc<App>,
    bot: dialogue::TenantBot,
    feed: Feed,
    cancel: CancellationToken,
    sender: CancellationToken,
) {
    let _stop_sender = sender.clone().drop_guard();
    let bot = Arc::new(bot);
    let mut workers = ChatWorkers::new(bot.clone());
    // Stopped after the chat workers drained, so their last replies go out.
    let queue_stop = CancellationToken::new();
    let dispatcher = {
        let (app, bot, stop, sender) = (app.clone(), bot.clone(), queue_stop.clone(), sender.clone());
        move |lock: Option<sqlx::PgConnection>| {
            tokio::spawn(async move {
                let lock = match lock {
                    Some(l) => l,
                    None => leader_lock(app.database_url.clone(), bot.tenant_id, stop.clone()).await?,
                };
                let out = bot.sender().clone();
                queue::dispatch(bot, out, sender, stop).await;
                Some(lock)
            })
        }
    };
    let (offset, queue) = match feed {
        Feed::Polling => {
            let Some(lock) = leader_lock(app.database_url.clone(), bot.tenant_id, cancel.clone()).await else {
                return;
            };
            let queue = dispatcher(Some(lock));
            (poll(&app, &bot, &mut workers, &cancel).await, queue)
        }
        Feed::Webhook { url, secret, rx } => {
            let queue = dispatcher(None);
            listen(&bot, &mut workers, url, &secret, rx, &cancel).await;
            (0, queue)
        }
    };
    workers.drain(Duration::from_secs(10)).await;
    // Replies of the last updates: a moment to leave the queue.
    tokio::time::sleep(Duration::from_millis(200)).await;
    queue_stop.cancel();
    // The leader lock, held until the updates are confirmed.
    let _lock = queue.await.ok().flatten();
    // Confirm what was polled and handled, so a restart does not see it again.
    if offset != 0 {
        let confirm = bot.bot.get_updates().offset(offset).timeout(0).limit(1);
        let _ = tokio::time::timeout(Duration::from_secs(2), confirm.send()).await;
    }
    tracing::info!(tenant_id = %bot.tenant_id, "bot stopped");
}

/// How long to wait after a failed Bot API call.
fn pause_after(tenant_id: Uuid, what: &str, e: RequestError, backoff: &mut Duration) -> Duration {
    match e {
        RequestError::Api(ApiError::InvalidToken) => {
            tracing::error!(%tenant_id, "telegram refuses the bot token; set a new one");
            Duration::from_secs(60)
        }
        RequestError::RetryAfter(s) => s.duration(),
        e => {
            tracing::warn!(%tenant_id, error = %e, "{what} failed; retrying");
            *backoff = (*backoff * 2).min(Duration::from_secs(30));
            *backoff
        }
    }
}

/// Long polling: removes a webhook left from webhook mode (Telegram refuses
/// `getUpdates` while one is set), then polls; returns the offset to confirm.
async fn poll(app: &App, bot: &dialogue::TenantBot, workers: &mut ChatWorkers, cancel: &CancellationToken) -> i32 {
    let timeout = app.settings.poll_timeout_secs;
    let mut offset: i32 = 0;
    let mut backoff = Duration::from_secs(1);
    let mut webhook_removed = false;
    loop {
        workers.prune();
        let res = if webhook_removed {
            let req = bot
                .bot
                .get_updates()
                .offset(offset)
                .timeout(timeout)
                .allowed_updates([AllowedUpdate::Message, AllowedUpdate::CallbackQuery]);
            tokio::select! {
                _ = cancel.cancelled() => break,
                r = req.send() => r.map(|updates| {
                    for u in updates {
                        offset = u.id.as_offset();
                        workers.dispatch(u);
                    }
                }),
            }
        } else {
            tokio::select! {
                _ = cancel.cancelled() => break,
                r = bot.bot.delete_webhook().send() => r.map(|_| webhook_removed = true),
            }
        };
        let pause = match res {
            Ok(()) => {
                backoff = Duration::from_secs(1);
                continue;
            }
            Err(e) => pause_after(
                bot.tenant_id,
                if webhook_removed { "getUpdates" } else { "deleteWebhook" },
                e,
                &mut backoff,
            ),
        };
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = tokio::time::sleep(pause) => {}
        }
    }
    offset
}

/// Webhook mode: registers the webhook (retrying until Telegram takes it)
/// while handing the posted updates to the chat workers. No leader lock:
/// every replica accepts posts; the webhook is left set when the bot stops
/// (a restart sets it again; switching to polling deletes it).
async fn listen(
    bot: &dialogue::TenantBot,
    workers: &mut ChatWorkers,
    url: url::Url,
    secret: &str,
    mut rx: mpsc::UnboundedReceiver<Update>,
    cancel: &CancellationToken,
) {
    let mut backoff = Duration::from_secs(1);
    // `None` once the webhook is set.
    let mut next_try = Some(tokio::time::Instant::now());
    loop {
        let retry = async {
            match next_try {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = cancel.cancelled() => break,
            u = rx.recv() => match u {
                Some(u) => {
                    workers.prune();
                    workers.dispatch(u);
                }
                None => break,
            },
            _ = retry => {
                let req = bot
                    .bot
                    .set_webhook(url.clone())
                    .secret_token(secret)
                    .allowed_updates([AllowedUpdate::Message, AllowedUpdate::CallbackQuery]);
                let res = tokio::select! {
                    _ = cancel.cancelled() => break,
                    r = req.send() => r,
                };
                next_try = match res {
                    Ok(_) => {
                        tracing::info!(tenant_id = %bot.tenant_id, %url, "webhook set");
                        backoff = Duration::from_secs(1);
                        None
                    }
                    Err(e) => Some(tokio::time::Instant::now() + pause_after(bot.tenant_id, "setWebhook", e, &mut backoff)),
                };
            }
        }
    }
}
