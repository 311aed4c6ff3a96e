//! Wire ↔ domain conversions for notifications, so handlers stay short.
use opeka_proto::notifications as pb;

use crate::domain::SmtpTls;
use crate::store::{ChannelRow, DeliveryRow};

pub use opeka_platform::wire::ts;

pub fn tls_from_pb(v: i32) -> Option<SmtpTls> {
    match pb::SmtpTls::try_from(v).ok()? {
        pb::SmtpTls::Unspecified => None,
        pb::SmtpTls::None => Some(SmtpTls::None),
        pb::SmtpTls::Starttls => Some(SmtpTls::StartTls),
        pb::SmtpTls::Tls => Some(SmtpTls::Tls),
    }
}

fn tls_to_pb(t: SmtpTls) -> pb::SmtpTls {
    match t {
        SmtpTls::None => pb::SmtpTls::None,
        SmtpTls::StartTls => pb::SmtpTls::Starttls,
        SmtpTls::Tls => pb::SmtpTls::Tls,
    }
}

/// Secrets never leave: only whether they are set (and the token's hint).
impl From<&ChannelRow> for pb::ChannelSettings {
    fn from(r: &ChannelRow) -> Self {
        let smtp = r.smtp_host.as_ref().map(|host| pb::SmtpSettings {
            host: host.clone(),
            port: r.smtp_port.unwrap_or_default().max(0) as u32,
            tls: r.smtp_tls.as_deref().and_then(SmtpTls::parse).map(tls_to_pb).unwrap_or_default() as i32,
            sender_address: r.smtp_sender_address.clone().unwrap_or_default(),
            sender_name: r.smtp_sender_name.clone().unwrap_or_default(),
            username: r.smtp_username.clone().unwrap_or_default(),
            password_set: r.smtp_password_enc.is_some(),
        });
        pb::ChannelSettings {
            smtp,
            admin_copy_email: r.admin_copy_email.clone().unwrap_or_default(),
            bot: Some(pb::BotSettings {
                configured: r.bot_token_enc.is_some(),
                username: r.bot_username.clone().unwrap_or_default(),
                token_hint: r.bot_token_hint.clone().unwrap_or_default(),
                service_account_id: r.service_account_id.map(|u| u.to_string()).unwrap_or_default(),
            }),
            updated_at: Some(ts(r.updated_at)),
        }
    }
}

pub fn channel_from_pb(v: i32) -> Option<&'static str> {
    match pb::DeliveryChannel::try_from(v).ok()? {
        pb::DeliveryChannel::Unspecified => None,
        pb::DeliveryChannel::Mail => Some("mail"),
        pb::DeliveryChannel::Telegram => Some("telegram"),
    }
}

pub fn status_from_pb(v: i32) -> Option<&'static str> {
    match pb::DeliveryStatus::try_from(v).ok()? {
        pb::DeliveryStatus::Unspecified => None,
        pb::DeliveryStatus::Sent => Some("sent"),
        pb::DeliveryStatus::Failed => Some("failed"),
    }
}

impl From<&DeliveryRow> for pb::Delivery {
    fn from(d: &DeliveryRow) -> Self {
        pb::Delivery {
            id: d.id.to_string(),
            channel: match d.channel.as_str() {
                "mail" => pb::DeliveryChannel::Mail,
                "telegram" => pb::DeliveryChannel::Telegram,
                _ => pb::DeliveryChannel::Unspecified,
            } as i32,
            recipient: d.recipient.clone(),
            source_event_id: d.source_event_id.to_string(),
            kind: d.kind.clone(),
            status: match d.status.as_str() {
                "sent" => pb::DeliveryStatus::Sent,
                "failed" => pb::DeliveryStatus::Failed,
                _ => pb::DeliveryStatus::Unspecified,
            } as i32,
            attempts: d.attempts,
            last_error: d.last_error.clone().unwrap_or_default(),
            created_at: Some(ts(d.created_at)),
            updated_at: Some(ts(d.updated_at)),
            sent_at: d.sent_at.map(ts),
        }
    }
}
