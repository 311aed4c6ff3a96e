//! Every outbound Telegram call of one bot that targets a chat goes through
//! here: at least `per_chat_interval` between two messages to one chat, at
//! most `per_bot_per_sec` messages in any second for the bot, 429 answers
//! retried after Telegram's `retry_after` (which pauses the whole bot),
//! network errors retried with backoff. A burst is queued (one queue per
//! chat, in order), never dropped.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use teloxide::payloads::{EditMessageTextSetters, SendMessageSetters};
use teloxide::prelude::*;
use teloxide::types::{InlineKeyboardMarkup, MessageId, ReplyMarkup};
use teloxide::{ApiError, RequestError};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// A chat's queue is closed after this long without work.
const IDLE: Duration = Duration::from_secs(30);

/// Headroom on the bot's one-second window: the (n+1)-th message starts at
/// least this much more than a second after the first, so scheduling and
/// network jitter cannot make Telegram see n+1 in one second.
const WINDOW_MARGIN: Duration = Duration::from_millis(25);

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub per_bot_per_sec: u32,
    pub per_chat_interval: Duration,
    pub max_attempts: u32,
}

impl Limits {
    pub fn from_settings(s: &crate::Settings) -> Self {
        Self {
            per_bot_per_sec: s.telegram_per_bot_per_sec.max(1),
            per_chat_interval: Duration::from_millis(s.telegram_per_chat_interval_ms),
            max_attempts: s.telegram_max_attempts.max(1),
        }
    }
}

/// One chat-bound call.
#[derive(Debug, Clone)]
pub enum Outgoing {
    Text {
        chat_id: i64,
        text: String,
        markup: Option<ReplyMarkup>,
    },
    /// Replaces a message's text (and drops its inline keyboard unless given).
    Edit {
        chat_id: i64,
        message_id: i32,
        text: String,
        markup: Option<InlineKeyboardMarkup>,
    },
}

impl Outgoing {
    pub fn text(chat_id: i64, text: impl Into<String>) -> Self {
        Outgoing::Text { chat_id, text: text.into(), markup: None }
    }

    pub fn with_markup(chat_id: i64, text: impl Into<String>, markup: impl Into<ReplyMarkup>) -> Self {
        Outgoing::Text { chat_id, text: text.into(), markup: Some(markup.into()) }
    }

    fn chat_id(&self) -> i64 {
        match self {
            Outgoing::Text { chat_id, .. } | Outgoing::Edit { chat_id, .. } => *chat_id,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Sent {
    pub message_id: i32,
    pub attempts: u32,
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("{reason} (attempts: {attempts})")]
pub struct SendFailed {
    pub reason: String,
    pub attempts: u32,
    /// Sending it again cannot help: the chat is gone for good (blocked the
    /// bot, deleted) or Telegram refused the message itself.
    pub permanent: bool,
    /// The bot stopped before Telegram accepted the message: it was not sent.
    pub stopped: bool,
}

impl SendFailed {
    fn new(reason: impl Into<String>, attempts: u32, permanent: bool) -> Self {
        Self { reason: reason.into(), attempts, permanent, stopped: false }
    }

    fn stopped(attempts: u32) -> Self {
        Self { reason: "the bot stopped before sending".into(), attempts, permanent: false, stopped: true }
    }
}

struct Job {
    out: Outgoing,
    done: oneshot::Sender<Result<Sent, SendFailed>>,
}

/// When the bot's last messages started (at most `per_bot_per_sec` kept).
struct Pace {
    started: std::collections::VecDeque<Instant>,
}

struct Inner {
    bot: Bot,
    limits: Limits,
    chats: Mutex<HashMap<i64, mpsc::UnboundedSender<Job>>>,
    /// Held while a send waits for its turn, so sends start one at a time in
    /// the order they asked (tokio's mutex is fair).
    pace: tokio::sync::Mutex<Pace>,
    /// Telegram's `retry_after`: no message of this bot starts before it.
    paused_until: Mutex<Option<Instant>>,
    cancel: CancellationToken,
}

#[derive(Clone)]
pub struct Sender {
    inner: Arc<Inner>,
}

impl Sender {
    pub fn new(bot: Bot, limits: Limits, cancel: CancellationToken) -> Self {
        Self {
            inner: Arc::new(Inner {
                bot,
                limits,
                chats: Mutex::new(HashMap::new()),
                pace: tokio::sync::Mutex::new(Pace { started: Default::default() }),
                paused_until: Mutex::new(None),
                cancel,
            }),
        }
    }

    /// Queues `out` behind the chat's earlier messages at once (so replies
    /// keep their order); the receiver resolves once Telegram accepted it or
    /// the attempts ran out.
    pub fn enqueue(&self, out: Outgoing) -> oneshot::Receiver<Result<Sent, SendFailed>> {
        let (done, rx) = oneshot::channel();
        let chat = out.chat_id();
        let mut chats = self.inner.chats.lock().expect("sender lock");
        let job = Job { out, done };
        let job = match chats.get(&chat) {
            Some(q) => match q.send(job) {
                Ok(()) => None,
                Err(mpsc::error::SendError(job)) => Some(job),
            },
            None => Some(job),
        };
        if let Some(job) = job {
            let (tx, queue) = mpsc::unbounded_channel();
            let _ = tx.send(job);
            chats.insert(chat, tx);
            tokio::spawn(chat_worker(self.inner.clone(), chat, queue));
        }
        rx
    }

    /// `enqueue` and wait for the outcome.
    pub async fn send(&self, out: Outgoing) -> Result<Sent, SendFailed> {
        self.enqueue(out).await.unwrap_or_else(|_| Err(SendFailed::stopped(0)))
    }
}

async fn chat_worker(inner: Arc<Inner>, chat: i64, mut rx: mpsc::UnboundedReceiver<Job>) {
    let mut last_sent: Option<Instant> = None;
    loop {
        let job = match tokio::time::timeout(IDLE, rx.recv()).await {
            Ok(Some(job)) => job,
            Ok(None) => return,
            Err(_) => {
                // Close the queue under the lock `send` pushes under, so no job is stranded.
                let mut chats = inner.chats.lock().expect("sender lock");
                match rx.try_recv() {
                    Ok(job) => job,
                    Err(_) => {
                        chats.remove(&chat);
                        return;
                    }
                }
            }
        };
        if let Some(at) = last_sent {
            let pause = tokio::time::sleep_until(at + inner.limits.per_chat_interval);
            tokio::select! {
                _ = inner.cancel.cancelled() => return,
                _ = pause => {}
            }
        }
        let result = deliver(&inner, &job.out).await;
        last_sent = Some(Instant::now());
        let _ = job.done.send(result);
    }
}

async fn deliver(inner: &Inner, out: &Outgoing) -> Result<Sent, SendFailed> {
    let mut attempts = 0;
    loop {
        attempts += 1;
        if !bot_slot(inner).await {
            return Err(SendFailed::stopped(attempts - 1));
        }
        let wait = match execute(&inner.bot, out).await {
            Ok(message_id) => return Ok(Sent { message_id, attempts }),
            Err(RequestError::RetryAfter(s)) => {
                // Telegram's flood control is per bot: every chat waits.
                let until = Instant::now() + s.duration();
                let mut paused = inner.paused_until.lock().expect("pause lock");
                *paused = Some(paused.map_or(until, |p| p.max(until)));
                s.duration()
            }
            Err(RequestError::Network(e)) => {
                tracing::debug!(error = %e, attempts, "telegram: network error; retrying");
                Duration::from_millis(500 * 2u64.pow(attempts.min(6)))
            }
            Err(e @ RequestError::Api(ApiError::BotBlocked | ApiError::ChatNotFound | ApiError::UserDeactivated)) => {
                return Err(SendFailed::new(e.to_string(), attempts, true));
            }
            // Editing to the same text is not an error for us.
            Err(RequestError::Api(ApiError::MessageNotModified)) => return Ok(Sent { message_id: 0, attempts }),
            // Telegram refused this message (too long, bad markup…): the same again fails again.
            Err(e @ RequestError::Api(_)) => return Err(SendFailed::new(e.to_string(), attempts, true)),
            Err(e) => return Err(SendFailed::new(e.to_string(), attempts, false)),
        };
        if attempts >= inner.limits.max_attempts {
            return Err(SendFailed::new(format!("Telegram still refuses after {attempts} attempts"), attempts, false));
        }
        tracing::info!(?wait, attempts, "telegram: retrying after");
        tokio::select! {
            _ = inner.cancel.cancelled() => {
                return Err(SendFailed::stopped(attempts));
            }
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

/// Waits for the bot's next turn: not while Telegram asked to pause, at
/// least `1 s / per_bot_per_sec` after the previous message started, and at
/// most `per_bot_per_sec` starts in any second (plus `WINDOW_MARGIN`). Turns
/// are taken from the actual start times, so a send that woke late pushes the
/// next ones back instead of bunching them. `false` when the bot stopped.
async fn bot_slot(inner: &Inner) -> bool {
    let n = inner.limits.per_bot_per_sec.max(1) as usize;
    let window = Duration::from_secs(1) + WINDOW_MARGIN;
    let spacing = window / n as u32;
    let mut pace = inner.pace.lock().await;
    loop {
        let now = Instant::now();
        let mut at = now;
        if let Some(p) = *inner.paused_until.lock().expect("pause lock") {
            at = at.max(p);
        }
        if let Some(last) = pace.started.back() {
            at = at.max(*last + spacing);
        }
        if pace.started.len() >= n
            && let Some(first) = pace.started.front()
        {
            at = at.max(*first + window);
        }
        if at <= now {
            break;
        }
        tokio::select! {
            _ = inner.cancel.cancelled() => return false,
            _ = tokio::time::sleep_until(at) => {}
        }
    }
    pace.started.push_back(Instant::now());
    while pace.started.len() > n {
        pace.started.pop_front();
    }
    true
}

async fn execute(bot: &Bot, out: &Outgoing) -> Result<i32, RequestError> {
    match out {
        Outgoing::Text { chat_id, text, markup } => {
            let mut req = bot.send_message(ChatId(*chat_id), text.clone());
            if let Some(m) = markup {
                req = req.reply_markup(m.clone());
            }
            Ok(req.await?.id.0)
        }
        Outgoing::Edit { chat_id, message_id, text, markup } => {
            let mut req = bot.edit_message_text(ChatId(*chat_id), MessageId(*message_id), text.clone());
            if let Some(m) = markup {
                req = req.reply_markup(m.clone());
            }
            Ok(req.await?.id.0)
        }
    }
}
