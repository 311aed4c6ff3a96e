//! The Telegram channel: one bot per tenant that has a token, each polling
//! Telegram (long polling; a webhook mode may come later) and answering its
//! citizens (`dialogue`), with all outbound calls paced by `sender`.
pub mod dialogue;
pub mod sender;

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

use crate::App;
use crate::crypto::field;
use crate::store;
pub use sender::{Limits, Outgoing, SendFailed, Sender, Sent};

/// A bot client for `token` talking to the configured Bot API URL.
pub fn make_bot(api_url: &str, token: &str) -> anyhow::Result<Bot> {
    Ok(Bot::new(token).set_api_url(url::Url::parse(api_url)?))
}

struct Running {
    cancel: CancellationToken,
    sender: Sender,
    task: JoinHandle<()>,
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
        for tenant_id in store::registered_bots(&self.app.pool).await? {
            if let Err(e) = self.reload(tenant_id).await {
                tracing::error!(%tenant_id, error = %e, "bot not started");
            }
        }
        Ok(())
    }

    /// (Re)starts the tenant's bot with its current token, or stops it when
    /// the token was removed.
    pub async fn reload(&self, tenant_id: Uuid) -> anyhow::Result<()> {
        let mut bots = self.bots.lock().await;
        if let Some(old) = bots.remove(&tenant_id) {
            old.cancel.cancel();
            // The old poller must be gone before a new one asks for updates
            // (Telegram answers 409 to two pollers of one bot).
            let _ = tokio::time::timeout(Duration::from_secs(15), old.task).await;
        }
        if self.shutdown.is_cancelled() {
            return Ok(());
        }
        let mut tx = opeka_platform::db::tenant_tx(&self.app.pool, tenant_id).await?;
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
        let tenant_bot =
            dialogue::TenantBot::new(self.app.clone(), tenant_id, row.tenant_slug.clone(), bot, sender.clone());
        let task = tokio::spawn(run_bot(self.app.clone(), tenant_bot, cancel.clone(), sender_cancel));
        tracing::info!(%tenant_id, tenant = %row.tenant_slug, "bot started");
        bots.insert(tenant_id, Running { cancel, sender, task });
        Ok(())
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

async fn run_bot(app: Arc<App>, bot: dialogue::TenantBot, cancel: CancellationToken, sender: CancellationToken) {
    let _stop_sender = sender.drop_guard();
    let Some(_lock) = leader_lock(app.database_url.clone(), bot.tenant_id, cancel.clone()).await else { return };
    let bot = Arc::new(bot);
    let mut workers = ChatWorkers::new(bot.clone());
    let timeout = app.settings.poll_timeout_secs;
    let mut offset: i32 = 0;
    let mut backoff = Duration::from_secs(1);
    loop {
        workers.prune();
        let req = bot
            .bot
            .get_updates()
            .offset(offset)
            .timeout(timeout)
            .allowed_updates([AllowedUpdate::Message, AllowedUpdate::CallbackQuery]);
        let res = tokio::select! {
            _ = cancel.cancelled() => break,
            r = req.send() => r,
        };
        let pause = match res {
            Ok(updates) => {
                backoff = Duration::from_secs(1);
                for u in updates {
                    offset = u.id.as_offset();
                    workers.dispatch(u);
                }
                continue;
            }
            Err(RequestError::Api(ApiError::InvalidToken)) => {
                tracing::error!(tenant_id = %bot.tenant_id, "telegram refuses the bot token; set a new one");
                Duration::from_secs(60)
            }
            Err(RequestError::RetryAfter(s)) => s.duration(),
            Err(e) => {
                tracing::warn!(tenant_id = %bot.tenant_id, error = %e, "getUpdates failed; retrying");
                backoff = (backoff * 2).min(Duration::from_secs(30));
                backoff
            }
        };
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = tokio::time::sleep(pause) => {}
        }
    }
    workers.drain(Duration::from_secs(10)).await;
    // Replies of the last updates: a moment to leave the queue.
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Confirm what was handled, so a restart does not see it again.
    if offset != 0 {
        let confirm = bot.bot.get_updates().offset(offset).timeout(0).limit(1);
        let _ = tokio::time::timeout(Duration::from_secs(2), confirm.send()).await;
    }
    tracing::info!(tenant_id = %bot.tenant_id, "bot stopped");
}
