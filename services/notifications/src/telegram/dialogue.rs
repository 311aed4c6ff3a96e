//! What one tenant's bot says to a citizen (seed §3.6.2): activation with the
//! code the curator gave (S0-35), the menu, files into the files service with
//! a file-type choice (S0-40, S0-106), contact requests (S0-42, S0-88).
use std::sync::Arc;

use futures::StreamExt;
use opeka_platform::db;
use opeka_platform::error::AppError;
use opeka_proto::events::{self as ev, envelope::Body};
use opeka_proto::files as fpb;
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
use crate::domain::{self, Intent, MenuButton, ReminderKind, ReminderQuery, Terms};
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

/// What the reminder buttons answer. Scheduler owns reminders and does not
/// exist yet, so the truthful answer is that nothing is planned; this is the
/// one function to replace with a call to scheduler.
pub async fn reminders_answer(_app: &App, _tenant_id: Uuid, _citizen: Uuid, terms: &Terms, q: ReminderQuery) -> String {
    let heading = match q {
        ReminderQuery::NextDays(n) => format!("На ближайшие {n} {}", days(n)),
        ReminderQuery::Kind(ReminderKind::SupportMeasures) => "Меры поддержки".into(),
        ReminderQuery::Kind(ReminderKind::InfoForYou) => "Информация для Вас".into(),
        ReminderQuery::Kind(ReminderKind::MeetingDate) => s::bot_meeting_date(terms),
    };
    format!("{heading}: {}", s::BOT_NO_REMINDERS.to_lowercase())
}

fn days(n: u32) -> &'static str {
    match (n % 10, n % 100) {
        (1, r) if r != 11 => "день",
        (2..=4, r) if !(12..=14).contains(&r) => "дня",
        _ => "дней",
    }
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
    app: Arc<App>,
    pub tenant_id: Uuid,
    pub slug: String,
    pub bot: Bot,
    sender: Sender,
}

impl TenantBot {
    pub fn new(app: Arc<App>, tenant_id: Uuid, slug: String, bot: Bot, sender: Sender) -> Self {
        Self { app, tenant_id, slug, bot, sender }
    }

    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.app.clock.now()
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
        self.app.clients.terms(&self.app.pool, &self.app.secrets, self.tenant_id, self.now()).await
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
                let answer = match self.on_callback(&q).await {
                    Ok(text) => text,
                    Err(e) => {
                        tracing::warn!(tenant_id = %self.tenant_id, error = %e, "bot could not handle a button");
                        s::bot_file_type_failed(&self.terms().await)
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
        let mut tx = db::tenant_tx(&self.app.pool, self.tenant_id).await?;
        let c = store::citizen_of_chat(&mut tx, chat).await?;
        tx.commit().await?;
        Ok(c)
    }

    async fn token(&self) -> Result<String, AppError> {
        let (token, _) =
            self.app.clients.service_token(&self.app.pool, &self.app.secrets, self.tenant_id, self.now()).await?;
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
        let token = self.token().await?;
        match self.app.clients.redeem_link_code(&token, &self.slug, code, chat).await {
            Ok(citizen) => {
                let mut tx = db::tenant_tx(&self.app.pool, self.tenant_id).await?;
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
                let mut tx = db::tenant_tx(&self.app.pool, self.tenant_id).await?;
                self.app.outbox.enqueue(&mut tx, &self.slug, &env).await?;
                tx.commit().await?;
                tracing::info!(tenant_id = %self.tenant_id, %citizen, "contact requested");
                self.say_with_menu(chat, terms, s::bot_contact_requested(terms));
            }
            MenuButton::UploadFiles => self.say(chat, s::BOT_UPLOAD_HOWTO),
            other => {
                let q = other.reminder_query().expect("every other button asks for reminders");
                let text = reminders_answer(&self.app, self.tenant_id, citizen, terms, q).await;
                self.say(chat, text);
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
        let mut tx = db::tenant_tx(&self.app.pool, self.tenant_id).await?;
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

    /// A file-type button: only for a file this chat sent.
    async fn on_callback(&self, q: &CallbackQuery) -> Result<String, AppError> {
        let Some((file_id, type_id)) = q.data.as_deref().and_then(domain::parse_file_type_callback) else {
            return Ok(String::new());
        };
        let chat = q.message.as_ref().map(|m| m.chat().id.0).unwrap_or(q.from.id.0 as i64);
        let mut tx = db::tenant_tx(&self.app.pool, self.tenant_id).await?;
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
        let mut tx = db::tenant_tx(&self.app.pool, self.tenant_id).await?;
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
    fn russian_day_forms() {
        assert_eq!(days(3), "дня");
        assert_eq!(days(7), "дней");
        assert_eq!(days(14), "дней");
        assert_eq!(days(21), "день");
        assert_eq!(days(30), "дней");
    }

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
