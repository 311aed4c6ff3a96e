//! The mail channel: each tenant's SMTP sender (lettre), the connection check
//! behind «Проверить соединение» (S0-14) and sending one rendered mail.
use std::collections::HashMap;
use std::time::Duration;

use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio::sync::Mutex;
use uuid::Uuid;

use crate::crypto::{SecretBox, field};
use crate::domain::SmtpTls;
use crate::store::ChannelRow;
use crate::templates;

/// One tenant's sender, decrypted for use.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub sender_address: String,
    pub sender_name: String,
    pub username: String,
    pub password: Option<String>,
}

impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SmtpConfig({}:{} {:?} as {})", self.host, self.port, self.tls, self.username)
    }
}

impl SmtpConfig {
    /// The tenant's saved sender, or `None` while the form was never saved.
    pub fn from_row(row: &ChannelRow, secrets: &SecretBox) -> anyhow::Result<Option<Self>> {
        let (Some(host), Some(port), Some(tls), Some(sender)) =
            (&row.smtp_host, row.smtp_port, row.smtp_tls.as_deref().and_then(SmtpTls::parse), &row.smtp_sender_address)
        else {
            return Ok(None);
        };
        let password = match &row.smtp_password_enc {
            Some(enc) => Some(secrets.open(row.tenant_id, field::SMTP_PASSWORD, enc)?),
            None => None,
        };
        let username = row.smtp_username.clone().filter(|u| !u.is_empty()).unwrap_or_else(|| sender.clone());
        Ok(Some(Self {
            host: host.clone(),
            port: u16::try_from(port)?,
            tls,
            sender_address: sender.clone(),
            sender_name: row.smtp_sender_name.clone().unwrap_or_default(),
            username,
            password,
        }))
    }

    fn transport(&self, timeout: Duration) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
        let params = || TlsParameters::new(self.host.clone()).map_err(|e| format!("ошибка TLS: {e}"));
        let builder = match self.tls {
            SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&self.host),
            SmtpTls::StartTls => {
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&self.host).tls(Tls::Required(params()?))
            }
            SmtpTls::Tls => {
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&self.host).tls(Tls::Wrapper(params()?))
            }
        };
        let mut builder = builder.port(self.port).timeout(Some(timeout));
        if let Some(pw) = &self.password {
            builder = builder.credentials(Credentials::new(self.username.clone(), pw.clone()));
        }
        Ok(builder.build())
    }

    /// «Проверить соединение»: connect, greet, authenticate, NOOP.
    pub async fn check(&self, timeout: Duration) -> Result<(), String> {
        let transport = self.transport(timeout)?;
        // The transport's own timeout covers each command; this bounds the whole check.
        match tokio::time::timeout(timeout + Duration::from_secs(1), transport.test_connection()).await {
            Ok(Ok(true)) => Ok(()),
            Ok(Ok(false)) => Err("сервер не ответил на проверочную команду".into()),
            Ok(Err(e)) => Err(self.reason(&e, timeout)),
            Err(_) => Err(format!("сервер {}:{} не ответил за {} с", self.host, self.port, timeout.as_secs())),
        }
    }

    fn reason(&self, e: &lettre::transport::smtp::Error, timeout: Duration) -> String {
        let at = format!("{}:{}", self.host, self.port);
        if e.is_timeout() {
            format!("сервер {at} не ответил за {} с", timeout.as_secs())
        } else if e.is_tls() {
            format!("ошибка TLS при подключении к {at} — проверьте способ шифрования и порт ({e})")
        } else if e.status().is_some_and(|c| c.to_string().starts_with("53")) {
            format!("сервер отклонил логин или пароль ({e})")
        } else if e.is_permanent() || e.is_transient() {
            format!("сервер {at} ответил ошибкой ({e})")
        } else {
            format!("не удалось подключиться к {at} ({e})")
        }
    }
}

/// A failed send: `retryable` when trying again later may help.
#[derive(Debug)]
pub struct SendFailure {
    pub reason: String,
    pub retryable: bool,
}

/// Sends mail through each tenant's sender; transports (and their pooled
/// connections) are reused while the tenant's settings stay the same.
pub struct Mailer {
    timeout: Duration,
    transports: Mutex<HashMap<Uuid, (SmtpConfig, AsyncSmtpTransport<Tokio1Executor>)>>,
}

impl Mailer {
    pub fn new(timeout: Duration) -> Self {
        Self { timeout, transports: Mutex::new(HashMap::new()) }
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    pub async fn send(
        &self,
        tenant_id: Uuid,
        cfg: &SmtpConfig,
        to: &str,
        to_name: &str,
        mail: &templates::Mail,
    ) -> Result<(), SendFailure> {
        let permanent = |reason: String| SendFailure { reason, retryable: false };
        let from_name = (!cfg.sender_name.is_empty()).then(|| cfg.sender_name.clone());
        let from = Mailbox::new(
            from_name,
            cfg.sender_address.parse().map_err(|e| permanent(format!("адрес отправителя: {e}")))?,
        );
        let to_name = (!to_name.trim().is_empty()).then(|| to_name.trim().to_string());
        let to = Mailbox::new(to_name, to.parse().map_err(|e| permanent(format!("адрес получателя: {e}")))?);
        let message = Message::builder()
            .from(from)
            .to(to)
            .subject(mail.subject.clone())
            .header(ContentType::TEXT_PLAIN)
            .body(mail.body.clone())
            .map_err(|e| permanent(format!("письмо не собрано: {e}")))?;
        let transport = {
            let mut map = self.transports.lock().await;
            match map.get(&tenant_id) {
                Some((c, t)) if c == cfg => t.clone(),
                _ => {
                    let t = cfg.transport(self.timeout).map_err(permanent)?;
                    map.insert(tenant_id, (cfg.clone(), t.clone()));
                    t
                }
            }
        };
        match tokio::time::timeout(self.timeout + Duration::from_secs(1), transport.send(message)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => {
                // A pooled connection may have gone stale: start afresh next time.
                self.transports.lock().await.remove(&tenant_id);
                Err(SendFailure { reason: cfg.reason(&e, self.timeout), retryable: !e.is_permanent() })
            }
            Err(_) => {
                self.transports.lock().await.remove(&tenant_id);
                Err(SendFailure {
                    reason: format!("сервер {}:{} не ответил за {} с", cfg.host, cfg.port, self.timeout.as_secs()),
                    retryable: true,
                })
            }
        }
    }
}
