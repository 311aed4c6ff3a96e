//! Every user-facing sentence of notifications except the mail templates
//! (`templates.rs`): form errors and the bot's dialogue (Russian, the seed's
//! words where it has them, §3.6.2).
use crate::domain::Terms;

// Form fields.
pub const EMAIL_INVALID: &str = "Укажите адрес электронной почты в виде name@example.ru.";
pub const SMTP_HOST_REQUIRED: &str = "Укажите SMTP host, например smtp.mail.ru.";
pub const SMTP_HOST_INVALID: &str = "SMTP host: латинские буквы, цифры, точки и дефисы, например smtp.mail.ru.";
pub const SMTP_PORT_INVALID: &str = "Укажите SMTP port — число от 1 до 65535, например 465.";
pub const SMTP_TLS_REQUIRED: &str = "Выберите способ шифрования: без шифрования, STARTTLS или TLS.";
pub const SENDER_NAME_INVALID: &str = "Имя отправителя — одна строка не длиннее 100 символов.";
pub const SMTP_PASSWORD_REQUIRED: &str = "Укажите пароль отправителя (пароль для внешних приложений).";
pub const BOT_TOKEN_INVALID: &str = "Токен бота выглядит так: 123456789:AAH… — скопируйте его из @BotFather целиком.";
pub const BOT_TOKEN_REJECTED: &str = "Telegram не принял этот токен. Проверьте его в @BotFather.";
pub const TELEGRAM_UNREACHABLE: &str = "Не удалось связаться с Telegram. Попробуйте позже.";
pub const ID_INVALID: &str = "Неверный идентификатор.";
pub const MESSAGE_REQUIRED: &str = "Введите текст сообщения.";
pub const MESSAGE_TOO_LONG: &str = "Сообщение не длиннее 4000 символов.";
pub const PAGE_TOKEN_INVALID: &str = "Неверный маркер страницы.";
pub const PERMISSION_DENIED: &str = "Недостаточно прав для этого действия.";
pub const BOT_NOT_CONFIGURED: &str = "Бот не подключён: укажите токен бота в настройках.";
pub const BOT_NOT_ACTIVATED: &str = "Гражданин ещё не активировал бот: сообщение отправить некуда.";
pub const CITIZEN_NOT_FOUND: &str = "Гражданин не найден.";
pub const NOT_YOUR_CITIZEN: &str = "Написать можно только своему подопечному.";
pub const TELEGRAM_SEND_FAILED: &str = "Telegram не доставил сообщение. Попробуйте позже.";
pub const SMTP_NOT_CONFIGURED: &str = "Почтовый отправитель не настроен.";
pub const SERVICE_ACCOUNT_FAILED: &str = "Не удалось создать служебную учётную запись бота в identity.";

// «Проверить соединение» (S0-14).
pub const SMTP_OK: &str = "Успешно";
/// The only reasons «Проверить соединение» and a failed mail give (issue 9):
/// fixed, naming nothing the remote side said.
pub const SMTP_CHECK_NO_SMTP: &str =
    "почтовый сервер не ответил по протоколу SMTP — проверьте адрес, порт и способ шифрования";
pub const SMTP_CHECK_AUTH: &str = "почтовый сервер не принял логин или пароль";
pub const SMTP_CHECK_FORBIDDEN: &str = "этот адрес сервера недопустим";
pub const SMTP_HOST_FORBIDDEN: &str =
    "Этот адрес недопустим: внутренние и служебные адреса (169.254.x.x, fe80::, адреса метаданных облака) запрещены.";
pub const SMTP_PASSWORD_AGAIN: &str = "Адрес или порт сервера изменился: укажите пароль ещё раз.";
pub const SMTP_FAILED: &str = "Соединение отсутствует";

pub fn smtp_failed(reason: &str) -> String {
    format!("{SMTP_FAILED}: {reason}")
}

// The bot (S0-35, §3.6.2).
pub const BOT_ENTER_CODE: &str = "Введите код активации";
pub const BOT_ACTIVATED: &str = "Успешная активация";
pub const BOT_ALREADY_ACTIVE: &str = "Бот уже активирован. Выберите действие в меню.";
pub const BOT_TOO_MANY_CODES: &str =
    "Слишком много попыток ввести код. Подождите час и попробуйте снова или попросите куратора проверить код.";
pub const BOT_TRY_LATER: &str = "Сервис временно недоступен. Попробуйте ещё раз через несколько минут.";
pub const BOT_CHOOSE_ACTION: &str = "Выберите действие в меню ниже.";
pub const BOT_UPLOAD_HOWTO: &str =
    "Нажмите на скрепку слева от строки сообщения, выберите файл или фотографию и нажмите «Отправить».";
pub const BOT_FILE_FAILED: &str = "Не удалось сохранить файл. Попробуйте отправить его ещё раз позже.";
pub const BOT_CHOOSE_FILE_TYPE: &str = "Укажите, что это за файл:";
pub const BOT_FILE_TYPE_SAVED: &str = "Тип файла сохранён.";
pub const BOT_NO_REMINDERS: &str = "Запланированных напоминаний нет.";

// Reminders from scheduler (S0-51…S0-57, S0-63).
pub const REMINDER_DONE: &str = "Выполнено";
pub const REMINDER_SKIPPED: &str = "Пропущено";
/// The label of a reminder whose type this version does not know.
pub const REMINDER_OTHER: &str = "Напоминание";
pub const BOT_ANSWER_SAVED: &str = "Спасибо! Ответ сохранён.";
pub const BOT_ANSWER_ALREADY: &str = "Ответ уже получен.";
pub const BOT_REMINDER_GONE: &str = "Это напоминание больше не действует.";
pub const BOT_ANSWER_TRY_LATER: &str = "Не удалось сохранить ответ. Пожалуйста, попробуйте позже.";

// The bot's sentences that name the curator take the tenant's word (S0-2);
// they are worded so that any word fits (no «он»/«она»).

pub fn bot_code_not_found(t: &Terms) -> String {
    format!(
        "Код активации не найден. Проверьте код и отправьте его ещё раз или попросите {} выдать новый.",
        t.curator_gen()
    )
}

pub fn bot_need_code_first(t: &Terms) -> String {
    format!("Сначала активируйте бот: введите код активации, который выдал {}.", t.curator)
}

pub fn bot_contact_requested(t: &Terms) -> String {
    format!("Запрос на связь отправлен {}. С вами свяжутся в ближайшее время.", t.curator_dat())
}

pub fn bot_file_type_failed(t: &Terms) -> String {
    format!("Не удалось сохранить тип файла. Его укажет {}.", t.curator)
}

/// The heading of the meeting-date reminders (the menu button's words).
pub fn bot_meeting_date(t: &Terms) -> String {
    crate::domain::MenuButton::MeetingDate.label(t)
}

/// A reminder type in the tenant's words («Дата встречи с координатором», S0-2).
pub fn reminder_kind(t: &Terms, kind: Option<crate::domain::ReminderKind>) -> String {
    use crate::domain::ReminderKind as K;
    match kind {
        Some(K::SupportMeasures) => "Меры поддержки".into(),
        Some(K::InfoForYou) => "Информация для Вас".into(),
        Some(K::MeetingDate) => bot_meeting_date(t),
        None => REMINDER_OTHER.into(),
    }
}

/// A reminder as the bot sends and lists it (seed §3.6.2, S0-52…S0-54):
/// «25.11.2026 09:00 — Меры поддержки: Текст».
pub fn reminder(date: &str, time: &str, kind: &str, text: &str) -> String {
    format!("{} {} — {kind}: {}", crate::domain::display_date(date), time.trim(), text.trim())
}

pub fn reminder_answer_label(a: crate::domain::ReminderAnswer) -> &'static str {
    match a {
        crate::domain::ReminderAnswer::Done => REMINDER_DONE,
        crate::domain::ReminderAnswer::Skipped => REMINDER_SKIPPED,
    }
}

/// The reminder after the citizen's press: its text and the answer, without buttons.
pub fn reminder_answered(reminder: &str, a: crate::domain::ReminderAnswer) -> String {
    format!("{reminder}\n\nОтвет: {}", reminder_answer_label(a))
}

/// The reminder after its series was deleted: the buttons go.
pub fn reminder_gone(reminder: &str) -> String {
    format!("{reminder}\n\n{BOT_REMINDER_GONE}")
}

/// The heading of the upcoming-reminders list for «3 дня» … «30 дней».
pub fn upcoming_days(n: u32) -> String {
    format!("На ближайшие {n} {}", days(n))
}

pub fn no_reminders(heading: &str) -> String {
    format!("{heading}: {}", BOT_NO_REMINDERS.to_lowercase())
}

/// «день» / «дня» / «дней» after a number.
pub fn days(n: u32) -> &'static str {
    match (n % 10, n % 100) {
        (1, r) if r != 11 => "день",
        (2..=4, r) if !(12..=14).contains(&r) => "дня",
        _ => "дней",
    }
}

/// S0-89: a curator's one-off message, as the citizen sees it.
pub fn citizen_message(t: &Terms, text: &str) -> String {
    format!("Сообщение от {}:\n\n{text}", t.curator_gen())
}

pub fn bot_file_received(t: &Terms, name: &str) -> String {
    format!("Файл «{name}» получен и передан {}.", t.curator_dat())
}

pub fn bot_file_rejected(reason: &str) -> String {
    format!("Файл не принят: {reason}")
}

pub fn bot_file_type_chosen(file: &str, ty: &str) -> String {
    format!("Файл «{file}»: {ty}.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seeds_sentences_and_renamed_ones() {
        let seed = Terms::default();
        assert_eq!(bot_meeting_date(&seed), "Дата встречи с соц. куратором");
        assert_eq!(citizen_message(&seed, "Привет"), "Сообщение от соц. куратора:\n\nПривет");
        let t = Terms::new("", "врач");
        assert_eq!(bot_contact_requested(&t), "Запрос на связь отправлен врачу. С вами свяжутся в ближайшее время.");
        assert_eq!(bot_file_received(&t, "a.pdf"), "Файл «a.pdf» получен и передан врачу.");
        assert!(bot_code_not_found(&t).contains("попросите врача"));
        assert!(bot_need_code_first(&t).ends_with("который выдал врач."));
        assert!(bot_file_type_failed(&t).ends_with("Его укажет врач."));
        assert_eq!(bot_meeting_date(&t), "Дата встречи с врачом");
    }

    #[test]
    fn reminders_read_as_in_the_seed() {
        use crate::domain::{ReminderAnswer, ReminderKind};
        // S0-52…S0-54: «<Дата, время> — <Тип>: <Текст>», the type in the tenant's words.
        let seed = Terms::default();
        let kind = reminder_kind(&seed, Some(ReminderKind::MeetingDate));
        assert_eq!(
            reminder("2026-11-25", "09:00", &kind, " Встреча в центре "),
            "25.11.2026 09:00 — Дата встречи с соц. куратором: Встреча в центре"
        );
        let t = Terms::new("", "координатор");
        assert_eq!(reminder_kind(&t, Some(ReminderKind::MeetingDate)), "Дата встречи с координатором");
        assert_eq!(reminder_kind(&t, Some(ReminderKind::InfoForYou)), "Информация для Вас");
        assert_eq!(reminder_answered("R", ReminderAnswer::Skipped), "R\n\nОтвет: Пропущено");
        assert_eq!(no_reminders(&upcoming_days(3)), "На ближайшие 3 дня: запланированных напоминаний нет.");
    }

    #[test]
    fn russian_day_forms() {
        assert_eq!(days(3), "дня");
        assert_eq!(days(7), "дней");
        assert_eq!(days(14), "дней");
        assert_eq!(days(21), "день");
        assert_eq!(days(30), "дней");
    }
}
