//! Parsed values: once you hold one, it is valid. Errors are the Russian
//! sentences shown beside the form field.
use crate::strings as s;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    None,
    StartTls,
    Tls,
}

impl SmtpTls {
    pub fn as_str(self) -> &'static str {
        match self {
            SmtpTls::None => "none",
            SmtpTls::StartTls => "starttls",
            SmtpTls::Tls => "tls",
        }
    }

    pub fn parse(v: &str) -> Option<SmtpTls> {
        [SmtpTls::None, SmtpTls::StartTls, SmtpTls::Tls].into_iter().find(|t| t.as_str() == v)
    }
}

/// An e-mail address: `local@domain.tld`, no spaces, at most 254 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(v: &str) -> Result<Self, String> {
        let v = v.trim();
        let ok = v.len() <= 254
            && !v.chars().any(|c| c.is_whitespace() || c == '<' || c == '>' || c == ',')
            && v.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
            });
        if ok { Ok(Self(v.to_string())) } else { Err(s::EMAIL_INVALID.into()) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An SMTP host name or IP address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpHost(String);

impl SmtpHost {
    pub fn parse(v: &str) -> Result<Self, String> {
        let v = v.trim();
        if v.is_empty() {
            return Err(s::SMTP_HOST_REQUIRED.into());
        }
        let ok = v.len() <= 253 && v.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '_'));
        if ok { Ok(Self(v.to_ascii_lowercase())) } else { Err(s::SMTP_HOST_INVALID.into()) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

pub fn smtp_port(v: u32) -> Result<u16, String> {
    match u16::try_from(v) {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(s::SMTP_PORT_INVALID.into()),
    }
}

/// A Telegram bot token as BotFather issues it: `<bot id>:<secret>`.
#[derive(Clone, PartialEq, Eq)]
pub struct BotToken(String);

impl std::fmt::Debug for BotToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BotToken({})", self.hint())
    }
}

impl BotToken {
    pub fn parse(v: &str) -> Result<Self, String> {
        let v = v.trim();
        let ok = v.split_once(':').is_some_and(|(id, secret)| {
            !id.is_empty()
                && id.len() <= 20
                && id.chars().all(|c| c.is_ascii_digit())
                && (20..=100).contains(&secret.len())
                && secret.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        });
        if ok { Ok(Self(v.to_string())) } else { Err(s::BOT_TOKEN_INVALID.into()) }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The bot id and the last four characters: tells tokens apart, reveals nothing.
    pub fn hint(&self) -> String {
        let (id, secret) = self.0.split_once(':').unwrap_or(("", ""));
        let tail: String = secret.chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect();
        format!("{id}:…{tail}")
    }
}

/// The text of a one-off message to a citizen (Telegram allows 4096 characters).
pub fn message_text(v: &str) -> Result<String, String> {
    let v = v.trim();
    if v.is_empty() {
        return Err(s::MESSAGE_REQUIRED.into());
    }
    if v.chars().count() > 4000 {
        return Err(s::MESSAGE_TOO_LONG.into());
    }
    Ok(v.to_string())
}

/// A sender's display name: one line, at most 100 characters.
pub fn sender_name(v: &str) -> Result<String, String> {
    let v = v.trim();
    if v.chars().count() > 100 || v.contains(['\r', '\n']) {
        return Err(s::SENDER_NAME_INVALID.into());
    }
    Ok(v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert!(EmailAddress::parse(" kurator@mail.ru ").is_ok());
        for bad in ["", "no-at", "a@b", "a b@c.ru", "@c.ru", "a@.ru", "a@b.ru,c@d.ru"] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hosts_and_ports() {
        assert_eq!(SmtpHost::parse(" SMTP.mail.ru ").unwrap().as_str(), "smtp.mail.ru");
        assert!(SmtpHost::parse("").is_err());
        assert!(SmtpHost::parse("smtp mail.ru").is_err());
        assert_eq!(smtp_port(465), Ok(465));
        assert!(smtp_port(0).is_err() && smtp_port(70000).is_err());
    }

    #[test]
    fn bot_tokens() {
        let t = BotToken::parse("123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw").unwrap();
        assert_eq!(t.hint(), "123456789:…Dsaw");
        assert!(!format!("{t:?}").contains("AAHdq"));
        for bad in ["", "abc:def", "123456789", "123:short", "12a:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"] {
            assert!(BotToken::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn message_texts() {
        assert!(message_text("  ").is_err());
        assert_eq!(message_text(" Перезвоните мне ").unwrap(), "Перезвоните мне");
        assert!(message_text(&"я".repeat(4001)).is_err());
    }
}
