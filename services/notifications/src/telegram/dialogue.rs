//! What one tenant's bot says to a citizen (seed §3.6.2): activation with the
//! code the curator gave (S0-35), the menu with the upcoming reminders from
//! scheduler (S0-51…S0-54), the answers to reminders (S0-57, S0-63), files
//! into the files service with a file-type choice (S0-40, S0-106), contact
//! requests (S0-42, S0-88).
use std::sync::Arc;

use futures::StreamExt;
use opeka_platform::db;
use opeka_platform::error::AppError;
use opeka_proto::events::{self as ev, envelope::Body};
use opeka_proto::files as fpb;
use opeka_proto::scheduler as spb;
use teloxide::net::Download;
use teloxide::prelude::*;
use teloxide::types::{
    CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, KeyboardButton, KeyboardMarkup, KeyboardRemove,
    ReplyMarkup, UpdateKind,
};
use tokio_stream::wrappers::ReceiverStream;
use tonic::Code;
use uuid::Uuid;

use crate::App;
use crate::domain::{self, Intent, MenuButton, ReminderAnswer, ReminderKind, ReminderQuery, Terms};
use crate::store;
use crate::strings as s;
use crate::telegram::{Outgoing, Sender};

/// The reply keyboard every linked citizen has (S0-35, §3.6.2), in the
/// tenant's words (S0-2).
pub fn menu_keyboard(terms: &Terms) -> KeyboardMarkup {
    KeyboardMarkup::new(
        MenuButton::LAYOUT
            .iter()
            .map(|row| row.iter().map(|b| KeyboardButton::new(b.label(terms))).collect::<Vec<_>>()),
    )
    .resize_keyboard()
    .persistent()
}

/// The heading of a reminder list: «На ближайшие 7 дней» or the type's name.
fn upcoming_heading(terms: &Terms, q: ReminderQuery) -> String {
    match q {
        ReminderQuery::NextDays(n) => s::upcoming_days(n),
        ReminderQuery::Kind(k) => s::reminder_kind(terms, Some(k)),
    }
}

/// S0-51…S0-54: the citizen's upcoming reminders from scheduler, each
/// «<дата время> — <тип>: <текст>», in as many messages as Telegram's limit
/// needs; the «нет напоминаний» sentence when there are none.
pub async fn reminders_answer(
    app: &App,
    tenant_id: Uuid,
    slug: &str,
    citizen: Uuid,
    terms: &Terms,
    q: ReminderQuery,
) -> Result<Vec<String>, AppError> {
    let heading = upcoming_heading(terms, q);
    let (days, kind) = match q {
        ReminderQuery::NextDays(n) => (n, spb::ReminderKind::Unspecified),
        // Scheduler's period for a type button (the next 30 days).
        ReminderQuery::Kind(k) => (0, k.to_pb()),
    };
    let (token, _) = app.clients.service_token(&app.kit.pool, &app.secrets, tenant_id, app.kit.now()).await?;
    let occurrences = match app.clients.list_upcoming(&token, slug, citizen, days, kind).await {
        Ok(o) => o,
        Err(st) => {
            if st.code() == Code::Unauthenticated {
                app.clients.forget_token(tenant_id).await;
            }
            return Err(AppError::Unavailable(format!("scheduler: {}", st.message())));
        }
    };
    let entries: Vec<String> = occurrences
        .iter()
        .filter_map(|o| {
            // S0-64: a curator's note never reaches the citizen, whatever scheduler sends.
            let kind = ReminderKind::from_pb(o.kind)?;
            Some(s::reminder(&o.local_date, &o.local_time, &s::reminder_kind(terms, Some(kind)), &o.description))
        })
        .collect();
    if entries.is_empty() {
        return Ok(vec![s::no_reminders(&heading)]);
    }
    Ok(domain::pack_messages(&format!("{heading}:"), &entries, domain::TELEGRAM_TEXT_LIMIT))
}

/// What the dialogue needs of a message, owned.
struct Incoming {
    chat: i64,
    text: Option<String>,
    file: Option<IncomingFile>,
}

struct IncomingFile {
    file_id: teloxide::types::FileId,
    name: String,
    mime: String,
}

impl Incoming {
    fn of(m: &Message) -> Self {
        let file = if let Some(d) = m.document() {
            let name = d.file_name.clone().filter(|n| !n.trim().is_empty()).unwrap_or_else(|| "файл".into());
            let mime = d.mime_type.as_ref().map(|m| m.to_string()).unwrap_or_default();
            Some(IncomingFile { file_id: d.file.id.clone(), name, mime })
        } else {
            m.photo().and_then(|ps| ps.iter().max_by_key(|p| p.width * p.height)).map(|p| IncomingFile {
                file_id: p.file.id.clone(),
                name: format!("фото-{}.jpg", m.date.format("%Y%m%d-%H%M%S")),
                mime: "image/jpeg".into(),
            })
        };
        Self { chat: m.chat.id.0, text: m.text().map(str::to_string), file }
    }
}

/// The upload's messages: the header, then the Telegram download in chunks
/// as they arrive, fed by a task through a small channel (backpressure: the
/// download waits for the upload). The task's result says whether the
/// download completed; a broken download ends the stream early.
fn upload_parts(
    bot: &Bot,
    path: &str,
    header: fpb::UploadFileRequest,
) -> (ReceiverStream<fpb::UploadFileRequest>, tokio::task::JoinHandle<Result<(), String>>) {
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let mut download = bot.download_file_stream(path);
    let task = tokio::spawn(async move {
        if tx.send(header).await.is_err() {
            return Ok(());
        }
        while let Some(chunk) = download.next().await {
            let bytes = chunk.map_err(|e| e.to_string())?;
            if tx.send(fpb::UploadFileRequest { chunk: bytes.to_vec(), ..Default::default() }).await.is_err() {
                // The upload ended first (refused): nothing more to read.
                return Ok(());
            }
        }
        Ok(())
    });
    (ReceiverStream::new(rx), task)
}

pub struct TenantBot {
    pub(crate) app: Arc<App>,
    pub tenant_id: Uuid,
    pub slug: String,
    pub bot: Bot,
    sender: Sender,
}

impl TenantBot {
    pub fn new(app: Arc<App>, tenant_id: Uuid, slug: String, bot: Bot, sender: Sender) -> Self {
        Self { app, tenant_id, slug, bot, sender }
    }

    /// The bot's paced outbound queue.
    pub fn sender(&self) -> &Sender {
        &self.sender
    }

    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.app.kit.now()
    }

    /// Queues a reply; replies keep their order, the dialogue does not wait.
    fn reply(&self, out: Outgoing) {
        let rx = self.sender.enqueue(out);
        let tenant_id = self.tenant_id;
        tokio::spawn(async move {
            match rx.await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::warn!(%tenant_id, error = %e, "bot reply not delivered"),
                Err(_) => tracing::warn!(%tenant_id, "bot reply dropped: the bot stopped"),
            }
        });
    }

    fn say(&self, chat: i64, text: impl Into<String>) {
        self.reply(Outgoing::text(chat, text));
    }

    fn say_with_menu(&self, chat: i64, terms: &Terms, text: impl Into<String>) {
        self.reply(Outgoing::with_markup(chat, text, menu_keyboard(terms)));
    }

    /// The tenant's words for the curator and the citizen (S0-2); the
    /// seed's when cases cannot be asked.
    async fn terms(&self) -> Terms {
        self.app.clients.terms(&self.app.kit.pool, &self.app.secrets, self.tenant_id, self.now()).await
    }

    pub async fn handle(&self, u: Update) {
        match u.kind {
            UpdateKind::Message(m) if m.chat.is_private() => {
                let incoming = Incoming::of(&m);
                let chat = incoming.chat;
                if let Err(e) = self.on_message(incoming).await {
                    tracing::warn!(tenant_id = %self.tenant_id, error = %e, "bot could not handle a message");
                    self.say(chat, s::BOT_TRY_LATER);
                }
            }
            UpdateKind::CallbackQuery(q) => {
                let id = q.id.clone();
                let data = q.data.as_deref().unwrap_or_default();
                let answer = if let Some((occurrence, answer)) = domain::parse_reminder_callback(data) {
                    self.on_reminder_answer(&q, occurrence, answer).await
                } else {
                    match self.on_file_type(&q).await {
                        Ok(text) => text,
                        Err(e) => {
                            tracing::warn!(tenant_id = %self.tenant_id, error = %e, "bot could not handle a button");
                            s::bot_file_type_failed(&self.terms().await)
                        }
                    }
                };
                if let Err(e) = self.bot.answer_callback_query(id).text(answer).await {
                    tracing::debug!(error = %e, "answerCallbackQuery failed");
                }
            }
            _ => {}
        }
    }

    async fn citizen_of(&self, chat: i64) -> Result<Option<Uuid>, AppError> {
        let mut tx = db::tenant_tx(&self.app.kit.pool, self.tenant_id).await?;
        let c = store::citizen_of_chat(&mut tx, chat).await?;
        tx.commit().await?;
        Ok(c)
    }

    async fn token(&self) -> Result<String, AppError> {
        let (token, _) =
            self.app.clients.service_token(&self.app.kit.pool, &self.app.secrets, self.tenant_id, self.now()).await?;
        Ok(token)
    }

    async fn on_message(&self, m: Incoming) -> Result<(), AppError> {
        let chat = m.chat;
        let citizen = self.citizen_of(chat).await?;
        let terms = self.terms().await;
        match (domain::intent(m.text.as_deref(), m.file.is_some(), &terms), citizen) {
            (Intent::Start(_), Some(_)) => self.say_with_menu(chat, &terms, s::BOT_ALREADY_ACTIVE),
            (Intent::Start(None), None) => self.reply(Outgoing::with_markup(
                chat,
                s::BOT_ENTER_CODE,
                ReplyMarkup::KeyboardRemove(KeyboardRemove::new()),
            )),
            (Intent::Start(Some(code)) | Intent::Text(code), None) => self.redeem(chat, &terms, &code).await?,
            (_, None) => self.say(chat, s::bot_need_code_first(&terms)),
            (Intent::Menu(b), Some(c)) => self.on_menu(chat, c, &terms, b).await?,
            (Intent::File, Some(c)) => {
                if let Some(f) = m.file {
                    self.on_file(chat, c, &terms, f).await?
                }
            }
            (Intent::Text(_) | Intent::Other, Some(_)) => self.say_with_menu(chat, &terms, s::BOT_CHOOSE_ACTION),
        }
        Ok(())
    }

    /// S0-35: the code the curator gave binds this chat to the citizen.
    async fn redeem(&self, chat: i64, terms: &Terms, code: &str) -> Result<(), AppError> {
        // Issue 9: a chat cannot guess codes at the bot's pace.
        if self.app.activation_throttle.check(&(self.tenant_id, chat), s::BOT_TOO_MANY_CODES).is_err() {
            tracing::info!(tenant_id = %self.tenant_id, "activation code guesses throttled for a chat");
            self.say(chat, s::BOT_TOO_MANY_CODES);
            return Ok(());
        }
        let token = self.token().await?;
        match self.app.clients.redeem_link_code(&token, &self.slug, code, chat).await {
            Ok(citizen) => {
                let mut tx = db::tenant_tx(&self.app.kit.pool, self.tenant_id).await?;
                store::link_chat(&mut tx, self.tenant_id, chat, citizen, self.now()).await?;
                tx.commit().await?;
                tracing::info!(tenant_id = %self.tenant_id, %citizen, "bot activated");
                self.say_with_menu(chat, terms, s::BOT_ACTIVATED);
            }
            Err(st) => match st.code() {
                Code::NotFound | Code::InvalidArgument => self.say(chat, s::bot_code_not_found(terms)),
                // Identity's sentences (expired, already used, chat linked elsewhere) are written for the citizen.
                Code::FailedPrecondition => self.say(chat, st.message().to_string()),
                Code::Unauthenticated => {
                    self.app.clients.forget_token(self.tenant_id).await;
                    return Err(AppError::Unavailable(format!("identity refused the bot's token: {}", st.message())));
                }
                _ => return Err(AppError::Unavailable(format!("identity: {}", st.message()))),
            },
        }
        Ok(())
    }

    async fn on_menu(&self, chat: i64, citizen: Uuid, terms: &Terms, b: MenuButton) -> Result<(), AppError> {
        match b {
            MenuButton::RequestContact => {
                let env = opeka_platform::bus::envelope(
                    self.tenant_id,
                    &citizen.to_string(),
                    self.now(),
                    Body::ContactRequested(ev::ContactRequested {
                        citizen_account_id: citizen.to_string(),
                        telegram_chat_id: chat,
                        text: String::new(),
                    }),
                );
                let mut tx = db::tenant_tx(&self.app.kit.pool, self.tenant_id).await?;
                self.app.kit.outbox.enqueue(&mut tx, &self.slug, &env).await?;
                self.app.kit.outbox.commit(tx).await?;
                tracing::info!(tenant_id = %self.tenant_id, %citizen, "contact requested");
                self.say_with_menu(chat, terms, s::bot_contact_requested(terms));
            }
            MenuButton::UploadFiles => self.say(chat, s::BOT_UPLOAD_HOWTO),
            other => {
                let q = other.reminder_query().expect("every other button asks for reminders");
                for text in reminders_answer(&self.app, self.tenant_id, &self.slug, citizen, terms, q).await? {
                    self.say(chat, text);
                }
            }
        }
        Ok(())
    }

    /// S0-40, S0-106: the file goes to the files service as the citizen's,
    /// then the citizen may say what it is.
    async fn on_file(&self, chat: i64, citizen: Uuid, terms: &Terms, f: IncomingFile) -> Result<(), AppError> {
        let IncomingFile { file_id, name, mime } = f;
        let tg_file =
            self.bot.get_file(file_id).send().await.map_err(|e| AppError::Unavailable(format!("getFile: {e}")))?;
        let token = self.token().await?;
        let header = fpb::UploadFileRequest {
            citizen_id: citizen.to_string(),
            original_name: name.clone(),
            declared_content_type: mime,
            // Files checks the bytes against it, so a download cut short is refused, not stored.
            declared_size: Some(i64::from(tg_file.meta.size)),
            ..Default::default()
        };
        let (parts, download) = upload_parts(&self.bot, &tg_file.path, header);
        let uploaded = self.app.clients.upload_file(token.clone(), self.slug.clone(), parts).await;
        let downloaded = download.await.map_err(|e| e.to_string()).and_then(|r| r);
        let file = match uploaded {
            Ok(f) if downloaded.is_ok() => f,
            Ok(_) => {
                return Err(AppError::Unavailable(format!("telegram download broke off: {downloaded:?}")));
            }
            Err(st) if st.code() == Code::InvalidArgument || st.code() == Code::FailedPrecondition => {
                let v = opeka_platform::error::violations(&st);
                let reason = if v.is_empty() {
                    st.message().to_string()
                } else {
                    v.iter().map(|v| v.description.as_str()).collect::<Vec<_>>().join(" ")
                };
                self.say(chat, s::bot_file_rejected(&reason));
                return Ok(());
            }
            Err(st) => return Err(AppError::Unavailable(format!("files: {}", st.message()))),
        };
        let file_id: Uuid = file.id.parse().map_err(|_| AppError::internal(anyhow::anyhow!("malformed file id")))?;
        let mut tx = db::tenant_tx(&self.app.kit.pool, self.tenant_id).await?;
        let row = store::UploadRow {
            file_id,
            chat_id: chat,
            citizen_account_id: citizen,
            original_name: name.clone(),
            file_type_id: None,
        };
        store::insert_upload(&mut tx, self.tenant_id, &row, self.now()).await?;
        tx.commit().await?;
        tracing::info!(tenant_id = %self.tenant_id, %citizen, %file_id, "file received through the bot");
        self.say(chat, s::bot_file_received(terms, &name));
        let types = match self.app.clients.list_file_types(&token, &self.slug).await {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(error = %e, "file types not offered");
                return Ok(());
            }
        };
        let buttons: Vec<Vec<InlineKeyboardButton>> = types
            .iter()
            .filter_map(|t| t.id.parse::<Uuid>().ok().map(|id| (id, t)))
            .take(50)
            .map(|(id, t)| {
                vec![InlineKeyboardButton::callback(t.name.clone(), domain::file_type_callback(file_id, id))]
            })
            .collect();
        if !buttons.is_empty() {
            self.reply(Outgoing::with_markup(chat, s::BOT_CHOOSE_FILE_TYPE, InlineKeyboardMarkup::new(buttons)));
        }
        Ok(())
    }

    /// S0-57, S0-63: «Выполнено» / «Пропущено» under a reminder goes to
    /// scheduler as the chat's citizen; the message then loses its buttons and
    /// shows the answer. Returns the callback's answer. When scheduler cannot
    /// be reached the buttons stay, so the citizen can press again later.
    async fn on_reminder_answer(&self, q: &CallbackQuery, occurrence: Uuid, answer: ReminderAnswer) -> String {
        let chat = q.message.as_ref().map(|m| m.chat().id.0).unwrap_or(q.from.id.0 as i64);
        let tenant_id = self.tenant_id;
        let citizen = match self.citizen_of(chat).await {
            Ok(Some(c)) => c,
            Ok(None) => return s::bot_need_code_first(&self.terms().await),
            Err(e) => {
                tracing::warn!(%tenant_id, error = %e, "reminder answer: chat link not read");
                return s::BOT_ANSWER_TRY_LATER.into();
            }
        };
        let token = match self.token().await {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(%tenant_id, error = %e, "reminder answer: no service token");
                return s::BOT_ANSWER_TRY_LATER.into();
            }
        };
        let r = match self.app.clients.answer_occurrence(&token, &self.slug, occurrence, citizen, answer.to_pb()).await
        {
            Ok(r) => r,
            // Not this citizen's, or unknown: nothing to answer any more.
            Err(st) if matches!(st.code(), Code::NotFound | Code::PermissionDenied | Code::InvalidArgument) => {
                tracing::info!(%tenant_id, %occurrence, code = ?st.code(), "reminder answer refused by scheduler");
                return s::BOT_REMINDER_GONE.into();
            }
            Err(st) => {
                if st.code() == Code::Unauthenticated {
                    self.app.clients.forget_token(tenant_id).await;
                }
                tracing::warn!(%tenant_id, %occurrence, code = ?st.code(), message = st.message(), "reminder answer not delivered to scheduler");
                return s::BOT_ANSWER_TRY_LATER.into();
            }
        };
        let terms = self.terms().await;
        // The reminder's own words: rebuilt from scheduler's record, or the message as Telegram kept it.
        let original = r
            .occurrence
            .as_ref()
            .filter(|o| !o.local_date.is_empty())
            .map(|o| {
                let kind = s::reminder_kind(&terms, ReminderKind::from_pb(o.kind));
                s::reminder(&o.local_date, &o.local_time, &kind, &o.description)
            })
            .or_else(|| {
                q.message.as_ref().and_then(|m| m.regular_message()).and_then(|m| m.text()).map(str::to_string)
            });
        let (reply, edited) = match spb::AnswerOutcome::try_from(r.outcome).unwrap_or_default() {
            spb::AnswerOutcome::Recorded => {
                tracing::info!(%tenant_id, %occurrence, ?answer, "reminder answered");
                (s::BOT_ANSWER_SAVED, original.map(|t| s::reminder_answered(&t, answer)))
            }
            spb::AnswerOutcome::AlreadyAnswered => {
                let first = ReminderAnswer::from_pb(r.answer).unwrap_or(answer);
                (s::BOT_ANSWER_ALREADY, original.map(|t| s::reminder_answered(&t, first)))
            }
            spb::AnswerOutcome::Gone => (s::BOT_REMINDER_GONE, original.map(|t| s::reminder_gone(&t))),
            spb::AnswerOutcome::Unspecified => {
                tracing::warn!(%tenant_id, %occurrence, "scheduler answered without an outcome");
                return s::BOT_ANSWER_TRY_LATER.into();
            }
        };
        if let (Some(m), Some(text)) = (&q.message, edited) {
            // Without a keyboard: the buttons go.
            self.reply(Outgoing::Edit { chat_id: chat, message_id: m.id().0, text, markup: None });
        }
        reply.into()
    }

    /// A file-type button: only for a file this chat sent.
    async fn on_file_type(&self, q: &CallbackQuery) -> Result<String, AppError> {
        let Some((file_id, type_id)) = q.data.as_deref().and_then(domain::parse_file_type_callback) else {
            return Ok(String::new());
        };
        let chat = q.message.as_ref().map(|m| m.chat().id.0).unwrap_or(q.from.id.0 as i64);
        let mut tx = db::tenant_tx(&self.app.kit.pool, self.tenant_id).await?;
        let upload = store::upload(&mut tx, file_id).await?;
        tx.commit().await?;
        let Some(upload) = upload.filter(|u| u.chat_id == chat) else {
            return Ok(s::bot_file_type_failed(&self.terms().await));
        };
        let token = self.token().await?;
        let file = self
            .app
            .clients
            .set_file_type(&token, &self.slug, file_id, type_id)
            .await
            .map_err(|st| AppError::Unavailable(format!("files: {}", st.message())))?;
        let mut tx = db::tenant_tx(&self.app.kit.pool, self.tenant_id).await?;
        store::set_upload_type(&mut tx, file_id, type_id).await?;
        tx.commit().await?;
        if let Some(m) = &q.message {
            self.reply(Outgoing::Edit {
                chat_id: chat,
                message_id: m.id().0,
                text: s::bot_file_type_chosen(&upload.original_name, &file.file_type_name),
                markup: None,
            });
        }
        Ok(s::BOT_FILE_TYPE_SAVED.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_menu_has_the_seeds_buttons() {
        for terms in [Terms::default(), Terms::new("пациент", "врач")] {
            let kb = menu_keyboard(&terms);
            let labels: Vec<String> = kb.keyboard.iter().flatten().map(|b| b.text.clone()).collect();
            for b in MenuButton::ALL {
                assert!(labels.contains(&b.label(&terms)), "{labels:?}");
            }
        }
        assert!(
            menu_keyboard(&Terms::new("", "врач")).keyboard.iter().flatten().any(|b| b.text == "Дата встречи с врачом")
        );
    }
}
