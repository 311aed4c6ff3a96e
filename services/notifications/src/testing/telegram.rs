//! A fake Telegram Bot API server over HTTP (axum on 127.0.0.1:0), for tests
//! that point teloxide at it with `set_api_url`. It speaks the real wire
//! format: `POST /bot<token>/<method>` with JSON, `{"ok": …}` answers,
//! long-polled `getUpdates` with offsets, `GET /file/bot<token>/<path>`
//! downloads. Tests inject what citizens send and read back every call; it
//! can answer 429 with `parameters.retry_after` a given number of times, or
//! enforce Telegram's limits (messages per second per bot, one message a
//! second per chat) the way Telegram does, answering 429 when they are broken.
//! It keeps the messages the bot sent, so a pressed button's callback carries
//! the message as Telegram would.
//! `setWebhook` (which teloxide sends as multipart/form-data) and
//! `deleteWebhook` are recorded like every other call.
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

/// One call the bot made.
#[derive(Debug, Clone)]
pub struct Call {
    pub token: String,
    pub method: String,
    pub params: Value,
    /// Whether the fake answered it with 429.
    pub throttled: bool,
    pub at: Instant,
    /// The message a `sendMessage` created or an edit changed.
    pub message_id: Option<i64>,
}

impl Call {
    pub fn chat_id(&self) -> Option<i64> {
        self.params.get("chat_id").and_then(Value::as_i64)
    }

    pub fn text(&self) -> &str {
        self.params.get("text").and_then(Value::as_str).unwrap_or_default()
    }

    /// Labels of the reply keyboard (`keyboard`) or inline keyboard buttons.
    pub fn buttons(&self) -> Vec<String> {
        let markup = self.params.get("reply_markup");
        let rows = markup.and_then(|m| m.get("keyboard").or_else(|| m.get("inline_keyboard")));
        rows.and_then(Value::as_array)
            .map(|rows| {
                rows.iter()
                    .filter_map(Value::as_array)
                    .flatten()
                    .filter_map(|b| b.get("text").and_then(Value::as_str).map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// `(label, callback_data)` of the inline buttons.
    pub fn inline_buttons(&self) -> Vec<(String, String)> {
        let rows = self.params.get("reply_markup").and_then(|m| m.get("inline_keyboard")).and_then(Value::as_array);
        rows.map(|rows| {
            rows.iter()
                .filter_map(Value::as_array)
                .flatten()
                .filter_map(|b| {
                    Some((b.get("text")?.as_str()?.to_string(), b.get("callback_data")?.as_str()?.to_string()))
                })
                .collect()
        })
        .unwrap_or_default()
    }
}

#[derive(Default)]
struct Bot {
    id: i64,
    username: String,
    /// Updates not yet confirmed by an offset past them.
    updates: Vec<Value>,
}

#[derive(Default)]
struct Inner {
    bots: HashMap<String, Bot>,
    calls: Vec<Call>,
    /// path → content
    files: HashMap<String, Vec<u8>>,
    /// file_id → (path, size)
    file_ids: HashMap<String, (String, usize)>,
    /// method → (answers left, retry_after seconds)
    throttle: HashMap<String, (u32, u32)>,
    /// Telegram's limits, when enforced.
    limits: Option<Limits>,
    /// message_id → the message as the bot sent (or last edited) it.
    messages: HashMap<i64, Value>,
}

/// Limits the fake enforces with 429 (see `FakeTelegram::enforce_limits`).
#[derive(Debug, Clone, Copy)]
struct Limits {
    per_bot_per_sec: usize,
    per_chat_interval: Duration,
}

/// The calls Telegram counts as messages against its limits.
fn is_message(method: &str) -> bool {
    matches!(method, "sendMessage" | "editMessageText" | "editMessageReplyMarkup")
}

impl Inner {
    /// `Some(retry_after)` when one more message now would break the limits.
    fn over_limits(&self, token: &str, chat_id: Option<i64>, now: Instant) -> Option<u32> {
        let limits = self.limits?;
        let window = Duration::from_secs(1);
        let recent = self
            .calls
            .iter()
            .rev()
            .filter(|c| !c.throttled && c.token == token && is_message(&c.method))
            .take_while(|c| now.duration_since(c.at) < window.max(limits.per_chat_interval));
        let (mut in_second, mut chat_busy) = (0, false);
        for c in recent {
            if now.duration_since(c.at) < window {
                in_second += 1;
            }
            if chat_id.is_some() && c.chat_id() == chat_id && now.duration_since(c.at) < limits.per_chat_interval {
                chat_busy = true;
            }
        }
        (in_second >= limits.per_bot_per_sec || chat_busy).then_some(1)
    }
}

struct Shared {
    inner: Mutex<Inner>,
    seq: AtomicI64,
}

impl Shared {
    fn next(&self) -> i64 {
        self.seq.fetch_add(1, Ordering::SeqCst)
    }
}

pub struct FakeTelegram {
    /// What `OPEKA_NOTIFICATIONS__TELEGRAM_API_URL` should be.
    pub url: String,
    shared: Arc<Shared>,
    stop: CancellationToken,
}

impl Drop for FakeTelegram {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

fn ok(result: Value) -> Response {
    axum::Json(json!({"ok": true, "result": result})).into_response()
}

fn err(code: u16, description: &str) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST);
    (status, axum::Json(json!({"ok": false, "error_code": code, "description": description}))).into_response()
}

fn now_unix() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

fn user(id: i64) -> Value {
    json!({"id": id, "is_bot": false, "first_name": "Гражданин", "language_code": "ru"})
}

fn private_chat(id: i64) -> Value {
    json!({"id": id, "type": "private", "first_name": "Гражданин"})
}

impl FakeTelegram {
    pub async fn start() -> Self {
        let shared = Arc::new(Shared { inner: Mutex::new(Inner::default()), seq: AtomicI64::new(1000) });
        let app = Router::new()
            .route("/{bot}/{method}", post(method).get(method))
            .route("/file/{bot}/{*path}", get(download))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind fake telegram");
        let addr = listener.local_addr().expect("fake telegram address");
        let stop = CancellationToken::new();
        let s = stop.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).with_graceful_shutdown(async move { s.cancelled().await }).await;
        });
        Self { url: format!("http://{addr}"), shared, stop }
    }

    /// Makes `token` a valid bot token with this @username.
    pub fn add_bot(&self, token: &str, username: &str) {
        let id = token.split(':').next().and_then(|i| i.parse().ok()).unwrap_or(1);
        self.shared
            .inner
            .lock()
            .expect("fake lock")
            .bots
            .insert(token.to_string(), Bot { id, username: username.to_string(), updates: Vec::new() });
    }

    fn push(&self, token: &str, update: impl FnOnce(i64) -> Value) {
        let id = self.shared.next();
        let mut inner = self.shared.inner.lock().expect("fake lock");
        let bot = inner.bots.get_mut(token).expect("add_bot first");
        bot.updates.push(update(id));
    }

    fn message(&self, chat_id: i64, extra: Value) -> Value {
        let mut m = json!({
            "message_id": self.shared.next(),
            "date": now_unix(),
            "chat": private_chat(chat_id),
            "from": user(chat_id),
        });
        if let (Some(m), Some(extra)) = (m.as_object_mut(), extra.as_object()) {
            m.extend(extra.clone());
        }
        m
    }

    /// The citizen in `chat_id` sends `text` to the bot.
    pub fn send_text(&self, token: &str, chat_id: i64, text: &str) {
        let m = self.message(chat_id, json!({"text": text}));
        self.push(token, |id| json!({"update_id": id, "message": m}));
    }

    fn register_file(&self, content: &[u8]) -> (String, String) {
        let n = self.shared.next();
        let (file_id, path) = (format!("file-{n}"), format!("documents/file_{n}"));
        let mut inner = self.shared.inner.lock().expect("fake lock");
        inner.files.insert(path.clone(), content.to_vec());
        inner.file_ids.insert(file_id.clone(), (path.clone(), content.len()));
        (file_id, path)
    }

    /// The citizen sends a document (the paperclip, or «Загрузка файлов»).
    pub fn send_document(&self, token: &str, chat_id: i64, file_name: &str, mime: &str, content: &[u8]) {
        let (file_id, _) = self.register_file(content);
        let doc = json!({
            "file_id": file_id, "file_unique_id": format!("u{file_id}"),
            "file_name": file_name, "mime_type": mime, "file_size": content.len(),
        });
        let m = self.message(chat_id, json!({"document": doc}));
        self.push(token, |id| json!({"update_id": id, "message": m}));
    }

    /// The citizen sends a photo (Telegram offers several sizes).
    pub fn send_photo(&self, token: &str, chat_id: i64, content: &[u8]) {
        let (small_id, _) = self.register_file(&content[..content.len().min(16)]);
        let (file_id, _) = self.register_file(content);
        let sizes = json!([
            {"file_id": small_id, "file_unique_id": format!("u{small_id}"), "width": 90, "height": 60, "file_size": content.len().min(16)},
            {"file_id": file_id, "file_unique_id": format!("u{file_id}"), "width": 1280, "height": 960, "file_size": content.len()},
        ]);
        let m = self.message(chat_id, json!({"photo": sizes}));
        self.push(token, |id| json!({"update_id": id, "message": m}));
    }

    /// The citizen presses an inline button under the bot's message
    /// `message_id` (the callback carries that message as the bot sent it,
    /// when the fake knows it). Returns the callback query's id, which the
    /// bot's `answerCallbackQuery` names.
    pub fn press_button(&self, token: &str, chat_id: i64, message_id: i64, data: &str) -> String {
        let (bot_id, known) = {
            let inner = self.shared.inner.lock().expect("fake lock");
            let known = inner.messages.get(&message_id).filter(|m| m["chat"]["id"].as_i64() == Some(chat_id)).cloned();
            (inner.bots.get(token).map(|b| b.id).unwrap_or(1), known)
        };
        let message = known.unwrap_or_else(|| {
            json!({
                "message_id": message_id, "date": now_unix(), "chat": private_chat(chat_id),
                "from": {"id": bot_id, "is_bot": true, "first_name": "Бот", "username": "bot"},
                "text": "…",
            })
        });
        let cb = format!("cb{}", self.shared.next());
        self.push(token, |id| {
            json!({"update_id": id, "callback_query": {
                "id": cb, "from": user(chat_id), "message": message,
                "chat_instance": "1", "data": data,
            }})
        });
        cb
    }

    /// Waits for the bot's answer to the callback query `id` (its text).
    pub async fn callback_answer(&self, id: &str) -> String {
        let call = self
            .wait_for(Duration::from_secs(15), &format!("answerCallbackQuery {id}"), |c| {
                c.method == "answerCallbackQuery"
                    && c.params.get("callback_query_id").and_then(Value::as_str) == Some(id)
            })
            .await;
        call.params.get("text").and_then(Value::as_str).unwrap_or_default().to_string()
    }

    /// From now on, a message (`sendMessage`, edits) that would make more than
    /// `per_bot_per_sec` of one bot's messages arrive within a second, or
    /// arrive less than `per_chat_interval` after the previous one to its
    /// chat, is refused with 429 and `retry_after` 1, as Telegram does.
    pub fn enforce_limits(&self, per_bot_per_sec: u32, per_chat_interval: Duration) {
        self.shared.inner.lock().expect("fake lock").limits =
            Some(Limits { per_bot_per_sec: per_bot_per_sec as usize, per_chat_interval });
    }

    /// Calls answered 429 (by `throttle` or by the enforced limits).
    pub fn refused(&self) -> Vec<Call> {
        self.calls().into_iter().filter(|c| c.throttled).collect()
    }

    /// The next `times` calls of `method` are answered 429 with `retry_after`.
    pub fn throttle(&self, method: &str, times: u32, retry_after: u32) {
        self.shared.inner.lock().expect("fake lock").throttle.insert(method.to_string(), (times, retry_after));
    }

    /// The update JSON of the citizen in `chat_id` sending `text`, not queued
    /// for `getUpdates`: for posting to a webhook.
    pub fn text_update(&self, chat_id: i64, text: &str) -> Value {
        let m = self.message(chat_id, json!({"text": text}));
        json!({"update_id": self.shared.next(), "message": m})
    }

    /// Accepted calls of `method` (documented spelling, e.g. `setWebhook`) made with `token`.
    pub fn calls_of(&self, token: &str, method: &str) -> Vec<Call> {
        self.calls().into_iter().filter(|c| c.token == token && c.method == method && !c.throttled).collect()
    }

    pub fn calls(&self) -> Vec<Call> {
        self.shared.inner.lock().expect("fake lock").calls.clone()
    }

    /// Messages the bot delivered (accepted `sendMessage` calls) to `chat_id`.
    pub fn sent_to(&self, chat_id: i64) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|c| c.method == "sendMessage" && !c.throttled && c.chat_id() == Some(chat_id))
            .collect()
    }

    /// Waits for a call matching `pred` (fails the test after `within`).
    pub async fn wait_for(&self, within: Duration, what: &str, pred: impl Fn(&Call) -> bool) -> Call {
        let deadline = Instant::now() + within;
        loop {
            if let Some(c) = self.calls().into_iter().find(|c| !c.throttled && pred(c)) {
                return c;
            }
            if Instant::now() > deadline {
                let seen: Vec<String> = self.calls().iter().map(|c| format!("{} {}", c.method, c.params)).collect();
                panic!("fake Telegram: no {what} within {within:?}; calls: {seen:#?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits for a message to `chat_id` whose text contains `needle`.
    pub async fn wait_for_text(&self, chat_id: i64, needle: &str) -> Call {
        self.wait_for(Duration::from_secs(15), &format!("message to {chat_id} containing «{needle}»"), |c| {
            c.method == "sendMessage" && c.chat_id() == Some(chat_id) && c.text().contains(needle)
        })
        .await
    }
}

fn params(headers: &HeaderMap, body: &[u8]) -> Value {
    if body.is_empty() {
        return json!({});
    }
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if let Some(boundary) = content_type
        .strip_prefix("multipart/form-data")
        .and_then(|rest| rest.split(';').find_map(|p| p.trim().strip_prefix("boundary=")))
    {
        return multipart(body, boundary.trim_matches('"'));
    }
    serde_json::from_slice(body).unwrap_or_else(|_| json!({}))
}

/// The text fields of a multipart/form-data body as a JSON object (a field
/// holding JSON, like `allowed_updates`, is parsed).
fn multipart(body: &[u8], boundary: &str) -> Value {
    let body = String::from_utf8_lossy(body);
    let mut out = serde_json::Map::new();
    for part in body.split(&format!("--{boundary}")) {
        let Some((head, value)) = part.split_once("\r\n\r\n") else { continue };
        let Some(name) = head.split("name=\"").nth(1).and_then(|n| n.split('"').next()) else { continue };
        let value = value.strip_suffix("\r\n").unwrap_or(value);
        let parsed = serde_json::from_str::<Value>(value)
            .ok()
            .filter(|v| v.is_array() || v.is_object())
            .unwrap_or_else(|| json!(value));
        out.insert(name.to_string(), parsed);
    }
    Value::Object(out)
}

/// Bot API method names are case-insensitive (teloxide sends `SendMessage`);
/// calls are recorded under the documented spelling.
const METHODS: &[&str] = &[
    "getMe",
    "getUpdates",
    "sendMessage",
    "editMessageText",
    "editMessageReplyMarkup",
    "answerCallbackQuery",
    "getFile",
    "deleteWebhook",
    "setWebhook",
    "setMyCommands",
];

async fn method(
    State(shared): State<Arc<Shared>>,
    Path((bot, method)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let method = METHODS.iter().find(|m| m.eq_ignore_ascii_case(&method)).map(|m| m.to_string()).unwrap_or(method);
    let params = params(&headers, &body);
    let Some(token) = bot.strip_prefix("bot").map(str::to_string) else { return err(404, "Not Found") };
    let (bot_id, username, message_id) = {
        let mut inner = shared.inner.lock().expect("fake lock");
        let Some(b) = inner.bots.get(&token) else { return err(401, "Unauthorized") };
        let (id, name) = (b.id, b.username.clone());
        let now = Instant::now();
        let chat_id = params.get("chat_id").and_then(Value::as_i64);
        let throttled = match inner.throttle.get_mut(&method) {
            Some((left, after)) if *left > 0 => {
                *left -= 1;
                Some(*after)
            }
            _ if is_message(&method) => inner.over_limits(&token, chat_id, now),
            _ => None,
        };
        let message_id = match (throttled, method.as_str()) {
            (None, "sendMessage") => Some(shared.next()),
            (None, m) if is_message(m) => params.get("message_id").and_then(Value::as_i64),
            _ => None,
        };
        inner.calls.push(Call {
            token: token.clone(),
            method: method.clone(),
            params: params.clone(),
            throttled: throttled.is_some(),
            at: now,
            message_id,
        });
        if let Some(after) = throttled {
            let body = json!({
                "ok": false, "error_code": 429,
                "description": format!("Too Many Requests: retry after {after}"),
                "parameters": {"retry_after": after},
            });
            return (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response();
        }
        (id, name, message_id)
    };
    let bot_user = json!({"id": bot_id, "is_bot": true, "first_name": username, "username": username});
    match method.as_str() {
        "getMe" => ok(json!({
            "id": bot_id, "is_bot": true, "first_name": username, "username": username,
            "can_join_groups": false, "can_read_all_group_messages": false,
            "supports_inline_queries": false, "can_connect_to_business": false, "has_main_web_app": false,
        })),
        "getUpdates" => get_updates(&shared, &token, &params).await,
        "sendMessage" | "editMessageText" | "editMessageReplyMarkup" => {
            let chat_id = params.get("chat_id").and_then(Value::as_i64).unwrap_or_default();
            let message_id = message_id.unwrap_or_else(|| shared.next());
            let mut inner = shared.inner.lock().expect("fake lock");
            let before = inner.messages.get(&message_id).cloned();
            let text = params
                .get("text")
                .cloned()
                .or_else(|| before.as_ref().and_then(|b| b.get("text").cloned()))
                .unwrap_or_else(|| json!("…"));
            let mut m = json!({
                "message_id": message_id, "date": now_unix(), "chat": private_chat(chat_id),
                "from": bot_user, "text": text,
            });
            if method != "sendMessage" {
                m["edit_date"] = json!(now_unix());
            }
            if let Some(markup) = params.get("reply_markup").filter(|m| m.get("inline_keyboard").is_some()) {
                m["reply_markup"] = markup.clone();
            }
            inner.messages.insert(message_id, m.clone());
            ok(m)
        }
        "answerCallbackQuery" | "deleteWebhook" | "setWebhook" | "setMyCommands" => ok(json!(true)),
        "getFile" => {
            let id = params.get("file_id").and_then(Value::as_str).unwrap_or_default();
            let found = shared.inner.lock().expect("fake lock").file_ids.get(id).cloned();
            match found {
                Some((path, size)) => ok(json!({
                    "file_id": id, "file_unique_id": format!("u{id}"), "file_size": size, "file_path": path,
                })),
                None => err(400, "Bad Request: invalid file_id"),
            }
        }
        _ => err(404, "Not Found: method not found"),
    }
}

async fn get_updates(shared: &Shared, token: &str, params: &Value) -> Response {
    let offset = params.get("offset").and_then(Value::as_i64).unwrap_or(0);
    let timeout = params.get("timeout").and_then(Value::as_u64).unwrap_or(0).min(30);
    let limit = params.get("limit").and_then(Value::as_u64).unwrap_or(100) as usize;
    let deadline = Instant::now() + Duration::from_secs(timeout);
    loop {
        let ready: Vec<Value> = {
            let mut inner = shared.inner.lock().expect("fake lock");
            let Some(bot) = inner.bots.get_mut(token) else { return err(401, "Unauthorized") };
            // An offset confirms every update before it.
            if offset > 0 {
                bot.updates.retain(|u| u["update_id"].as_i64().unwrap_or(0) >= offset);
            }
            bot.updates.iter().take(limit).cloned().collect()
        };
        if !ready.is_empty() || Instant::now() >= deadline {
            return ok(Value::Array(ready));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn download(State(shared): State<Arc<Shared>>, Path((bot, path)): Path<(String, String)>) -> Response {
    let inner = shared.inner.lock().expect("fake lock");
    let known = bot.strip_prefix("bot").is_some_and(|t| inner.bots.contains_key(t));
    match inner.files.get(&path) {
        Some(content) if known => (StatusCode::OK, content.clone()).into_response(),
        _ => (StatusCode::NOT_FOUND, "Not Found").into_response(),
    }
}
