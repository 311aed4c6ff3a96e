//! Every mail this service writes (Russian, plain text), in one place.
//! Each function returns the subject and the body; links are built from the
//! gateway's public URL.
use crate::domain::Terms;
use crate::domain::terms::capitalize;

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

/// Which work-queue notice a copy is about (S0-85…S0-88, S0-90…S0-94).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActivityKind {
    FileReceived,
    ContactRequested,
    /// «напоминания для соц. куратора»: the curator's own reminder came due (S0-12, S0-94).
    CuratorReminder,
    /// «пропуск»: «Пропущено» several days in a row (S0-90).
    SkippedDays,
    /// «неактивный»: no answer for several days (S0-91).
    SilentDays,
    /// «без назначений»: the last planned reminder is near (S0-92).
    NoAssignments,
}

impl ActivityKind {
    /// Cases' `ActivityCreated.kind`. The detector kinds are taken both as
    /// scheduler names them (`skipped_days`) and as cases' work queue does
    /// (`skipped_5_days`), so the copy goes out whichever cases publishes.
    pub fn parse(v: &str) -> Option<Self> {
        match v {
            "file_received" => Some(Self::FileReceived),
            "contact_requested" => Some(Self::ContactRequested),
            "curator_reminder" => Some(Self::CuratorReminder),
            "skipped_days" | "skipped_5_days" => Some(Self::SkippedDays),
            "silent_days" | "inactive_10_days" => Some(Self::SilentDays),
            "no_assignments" | "no_assignments_2_days" => Some(Self::NoAssignments),
            _ => None,
        }
    }
}

/// The copy of a work-queue notice for the curator and the admin copy
/// address (S0-9…S0-12, S0-87, S0-88, S0-90…S0-94), in the tenant's words
/// for the citizen and the curator (S0-2).
pub fn activity_copy(
    public_url: &str,
    slug: &str,
    terms: &Terms,
    kind: ActivityKind,
    citizen_full_name: &str,
    summary: &str,
    citizen_id: &str,
) -> Mail {
    let citizen = capitalize(&terms.citizen);
    let who = if citizen_full_name.trim().is_empty() { citizen.as_str() } else { citizen_full_name.trim() };
    let curator = terms.curator_gen();
    let (subject, lead) = match kind {
        ActivityKind::FileReceived => (format!("{who} прислал(а) файл"), format!("{who} прислал(а) файл через бот.")),
        ActivityKind::ContactRequested => {
            (format!("{who} просит связаться"), format!("{who} просит {curator} связаться с ним (с ней)."))
        }
        ActivityKind::CuratorReminder => (
            format!("Напоминание для {curator}: {who}"),
            format!("Пришло время вашего напоминания для {curator}.\n{citizen}: {who}"),
        ),
        ActivityKind::SkippedDays => (
            format!("Пропуск напоминаний: {who}"),
            format!("{who} несколько дней подряд отвечает «Пропущено» на напоминания (активность «пропуск»)."),
        ),
        ActivityKind::SilentDays => (
            format!("Нет ответа на напоминания: {who}"),
            format!("{who} несколько дней не отвечает на напоминания в боте (активность «неактивный»)."),
        ),
        ActivityKind::NoAssignments => (
            format!("Заканчиваются назначения: {who}"),
            format!(
                "{who}: скоро не останется запланированных напоминаний (активность «без назначений»). \
                 Добавьте новые во вкладке «Программа поддержки»."
            ),
        ),
    };
    let details = if summary.trim().is_empty() { String::new() } else { format!("\n\n{}", summary.trim()) };
    let card = if citizen_id.is_empty() {
        String::new()
    } else {
        format!("\nКарточка: {}/citizens/{citizen_id}", base(public_url, slug))
    };
    Mail {
        subject,
        body: format!("{lead}{details}\n\nРаздел «Активность»: {}/activities{card}{FOOTER}", base(public_url, slug)),
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
        let seed = Terms::default();
        let m = activity_copy("http://gw", "a", &seed, ActivityKind::ContactRequested, "Петров Пётр", "", "c1");
        assert_eq!(m.subject, "Петров Пётр просит связаться");
        assert!(m.body.starts_with("Петров Пётр просит соц. куратора связаться"), "{}", m.body);
        assert!(m.body.contains("http://gw/t/a/citizens/c1"));
        let f = activity_copy("http://gw", "a", &seed, ActivityKind::FileReceived, "", "справка.pdf", "");
        assert_eq!(f.subject, "Пользователь прислал(а) файл");
        assert!(f.body.contains("справка.pdf"));
    }

    #[test]
    fn detector_and_curator_reminder_copies() {
        // S0-12, S0-94: the curator's own reminder; S0-90…S0-92: the detectors.
        let seed = Terms::default();
        let r = activity_copy(
            "http://gw",
            "a",
            &seed,
            ActivityKind::CuratorReminder,
            "Петров Иван",
            "25.11.2026 09:00 — Позвонить в МФЦ",
            "c1",
        );
        assert_eq!(r.subject, "Напоминание для соц. куратора: Петров Иван");
        assert!(r.body.contains("Пользователь: Петров Иван"), "{}", r.body);
        assert!(r.body.contains("25.11.2026 09:00 — Позвонить в МФЦ"));
        let renamed = Terms::new("пациент", "врач");
        let r = activity_copy("http://gw", "a", &renamed, ActivityKind::CuratorReminder, "", "", "");
        assert_eq!(r.subject, "Напоминание для врача: Пациент");
        for (kinds, subject) in [
            (["skipped_days", "skipped_5_days"], "Пропуск напоминаний: Петров Иван"),
            (["silent_days", "inactive_10_days"], "Нет ответа на напоминания: Петров Иван"),
            (["no_assignments", "no_assignments_2_days"], "Заканчиваются назначения: Петров Иван"),
        ] {
            for k in kinds {
                let kind = ActivityKind::parse(k).unwrap_or_else(|| panic!("{k} is known"));
                let m = activity_copy("http://gw", "a", &seed, kind, "Петров Иван", "5 дней подряд", "c1");
                assert_eq!(m.subject, subject);
                assert!(m.body.contains("5 дней подряд") && m.body.contains("http://gw/t/a/activities"));
            }
        }
        assert_eq!(ActivityKind::parse("curator_reminder"), Some(ActivityKind::CuratorReminder));
        assert_eq!(ActivityKind::parse("something_new"), None);
    }
}
