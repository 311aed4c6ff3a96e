//! Every mail this service writes (Russian, plain text), in one place.
//! Each function returns the subject and the body; links are built from the
//! gateway's public URL.

/// A rendered mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub subject: String,
    pub body: String,
}

const FOOTER: &str = "\n\n—\nЭто письмо отправлено автоматически, отвечать на него не нужно.";

fn base(public_url: &str, slug: &str) -> String {
    format!("{}/t/{slug}", public_url.trim_end_matches('/'))
}

/// `2026-11-23T10:00:00+00:00` → `23.11.2026 10:00 (UTC)`; anything else as is.
pub fn when(rfc3339: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(rfc3339) {
        Ok(t) => t.with_timezone(&chrono::Utc).format("%d.%m.%Y %H:%M (UTC)").to_string(),
        Err(_) => rfc3339.to_string(),
    }
}

fn greeting(full_name: &str) -> String {
    let name = full_name.trim();
    if name.is_empty() { "Здравствуйте!".into() } else { format!("Здравствуйте, {name}!") }
}

/// The activation link the gateway's activation page reads.
pub fn activation_link(public_url: &str, slug: &str, token: &str) -> String {
    format!("{}/activate?token={}", base(public_url, slug), urlencode(token))
}

/// The reset link: it fills in both the login and the code (S1-13, S2-8).
pub fn reset_link(public_url: &str, slug: &str, login: &str, code: &str) -> String {
    format!("{}/reset?login={}&code={}", base(public_url, slug), urlencode(login), urlencode(code))
}

pub fn activation(public_url: &str, slug: &str, full_name: &str, token: &str, expires_at: &str) -> Mail {
    let link = activation_link(public_url, slug, token);
    Mail {
        subject: "Активация учётной записи".into(),
        body: format!(
            "{}\n\nДля вас создана учётная запись. Чтобы задать пароль и войти в программу, откройте ссылку:\n\n{link}\n\nСсылка действует до {}.\n\nЕсли вы не ждали этого письма, просто удалите его.{FOOTER}",
            greeting(full_name),
            when(expires_at),
        ),
    }
}

pub fn password_reset(
    public_url: &str,
    slug: &str,
    full_name: &str,
    login: &str,
    code: &str,
    expires_at: &str,
) -> Mail {
    let link = reset_link(public_url, slug, login, code);
    Mail {
        subject: "Код для смены пароля".into(),
        body: format!(
            "{}\n\nВы запросили смену пароля. Ваш логин: {login}\nКод: {code}\n\nВведите код на странице смены пароля или откройте ссылку:\n\n{link}\n\nКод действует до {}. Если вы не запрашивали смену пароля, ничего не делайте: пароль останется прежним.{FOOTER}",
            greeting(full_name),
            when(expires_at),
        ),
    }
}

/// Which work-queue notice a copy is about (S0-85…S0-88).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActivityKind {
    FileReceived,
    ContactRequested,
}

impl ActivityKind {
    pub fn parse(v: &str) -> Option<Self> {
        match v {
            "file_received" => Some(Self::FileReceived),
            "contact_requested" => Some(Self::ContactRequested),
            _ => None,
        }
    }
}

/// The copy of a work-queue notice for the curator and the admin copy
/// address (S0-9…S0-11, S0-87, S0-88).
pub fn activity_copy(
    public_url: &str,
    slug: &str,
    kind: ActivityKind,
    citizen_full_name: &str,
    summary: &str,
    citizen_id: &str,
) -> Mail {
    let who = if citizen_full_name.trim().is_empty() { "Пользователь" } else { citizen_full_name.trim() };
    let (subject, what) = match kind {
        ActivityKind::FileReceived => (format!("{who} прислал(а) файл"), "прислал(а) файл через бот"),
        ActivityKind::ContactRequested => {
            (format!("{who} просит связаться"), "просит соц. куратора связаться с ним (с ней)")
        }
    };
    let details = if summary.trim().is_empty() { String::new() } else { format!("\n\n{}", summary.trim()) };
    let card = if citizen_id.is_empty() {
        String::new()
    } else {
        format!("\nКарточка пользователя: {}/citizens/{citizen_id}", base(public_url, slug))
    };
    Mail {
        subject,
        body: format!(
            "{who} {what}.{details}\n\nРаздел «Активность»: {}/activities{card}{FOOTER}",
            base(public_url, slug)
        ),
    }
}

fn urlencode(v: &str) -> String {
    url::form_urlencoded::byte_serialize(v.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activation_mail_carries_the_link() {
        let m = activation("http://gw:8080/", "agency", "Иванова Анна", "tok+en/1", "2026-11-23T10:00:00+00:00");
        assert!(m.body.contains("http://gw:8080/t/agency/activate?token=tok%2Ben%2F1"), "{}", m.body);
        assert!(m.body.contains("Здравствуйте, Иванова Анна!"));
        assert!(m.body.contains("23.11.2026 10:00"));
    }

    #[test]
    fn reset_mail_carries_code_login_and_link() {
        let m = password_reset("http://gw", "agency", "", "ivanova", "123456", "bad date");
        assert!(m.body.contains("Код: 123456") && m.body.contains("логин: ivanova"));
        assert!(m.body.contains("http://gw/t/agency/reset?login=ivanova&code=123456"));
        assert!(m.body.contains("до bad date"));
    }

    #[test]
    fn activity_copies_name_the_citizen() {
        let m = activity_copy("http://gw", "a", ActivityKind::ContactRequested, "Петров Пётр", "", "c1");
        assert_eq!(m.subject, "Петров Пётр просит связаться");
        assert!(m.body.contains("http://gw/t/a/citizens/c1"));
        let f = activity_copy("http://gw", "a", ActivityKind::FileReceived, "", "справка.pdf", "");
        assert_eq!(f.subject, "Пользователь прислал(а) файл");
        assert!(f.body.contains("справка.pdf"));
    }
}
