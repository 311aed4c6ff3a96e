//! Every user-facing sentence cases produces, in one place (Russian).

// The citizen card (S0-28…S0-32).
pub const SURNAME_REQUIRED: &str = "Укажите фамилию.";
pub const NAME_REQUIRED: &str = "Укажите имя.";
pub const TOO_LONG_100: &str = "Не длиннее 100 символов.";
pub const PHONE_REQUIRED: &str = "Укажите номер телефона.";
pub const PHONE_INVALID: &str = "Укажите телефон в формате +7 900 000-00-00.";
pub const EMAIL_INVALID: &str = "Укажите адрес электронной почты в виде name@example.ru.";
pub const INN_DIGITS: &str = "ИНН физического лица состоит из 12 цифр.";
pub const INN_OF_ORGANISATION: &str = "Это ИНН организации (10 цифр); укажите 12-значный ИНН физического лица.";
pub const INN_CHECKSUM: &str = "ИНН указан с ошибкой: не сходятся контрольные цифры. Проверьте номер.";
pub const INN_TAKEN: &str = "Пользователь с таким ИНН уже есть.";
pub const DATE_INVALID: &str = "Укажите дату в виде ДД.ММ.ГГГГ.";
pub const BIRTH_DATE_RANGE: &str = "Дата рождения не может быть в будущем или раньше 1900 года.";
pub const INACTIVE_UNTIL_WITHOUT_FLAG: &str = "Дату «неактивен до» можно указать только для неактивного пользователя.";
pub const DISTRICT_UNKNOWN: &str = "Такого района нет.";
pub const CURATOR_UNKNOWN: &str = "Такого соц. куратора нет.";
pub const GROUP_UNKNOWN: &str = "Такой особой группы нет.";
pub const ONLY_ADMIN_ASSIGNS: &str = "Назначить пользователя другому соц. куратору может только администратор.";
pub const CITIZEN_NOT_FOUND: &str = "Пользователь не найден.";
pub const READ_ONLY_CARD: &str = "Вы можете просматривать эту карточку, но изменять её может только её соц. куратор.";
pub const PERMISSION_DENIED: &str = "Недостаточно прав для этого действия.";

// Text fields.
pub const TEXT_REQUIRED: &str = "Заполните поле.";

pub fn text_too_long(max: usize) -> String {
    format!("Не длиннее {max} символов.")
}

// Transfer (S0-115, S0-116).
pub const TRANSFER_EMPTY: &str = "Отметьте пользователей, которых нужно перевести.";
pub const TRANSFER_CURATOR_REQUIRED: &str = "Выберите, кому перевести.";

pub fn transfer_too_many(max: usize) -> String {
    format!("За один раз можно перевести не больше {max} пользователей.")
}

pub fn transfer_missing(n: usize) -> String {
    format!("Не найдено пользователей из выбранных: {n}. Обновите список и повторите перевод.")
}

// Special groups (S0-107…S0-109).
pub const GROUP_NAME_REQUIRED: &str = "Укажите название особой группы.";
pub const GROUP_TAKEN: &str = "Особая группа с таким названием уже есть.";

// Interactions and activities.
pub const INTERACTION_NOT_FOUND: &str = "Запись истории взаимодействия не найдена.";
pub const ACTIVITY_NOT_FOUND: &str = "Активность не найдена.";
pub const DATE_RANGE_REVERSED: &str = "Дата окончания раньше даты начала.";
/// S0-44: «Отредактировано: администратор, …».
pub const ADMIN_LABEL: &str = "администратор";

// Activity summaries (the work queue and the mail copies).
pub fn file_received_summary(name: &str, type_name: &str) -> String {
    match (name.trim(), type_name.trim()) {
        ("", "") => "Получен файл".into(),
        (n, "") => format!("Получен файл «{n}»"),
        ("", t) => format!("Получен файл ({t})"),
        (n, t) => format!("Получен файл «{n}» ({t})"),
    }
}
pub const CONTACT_REQUESTED_SUMMARY: &str = "Запрос на связь с соц. куратором";

/// «Напоминание на 05.03.2026 09:00: Позвонить в МФЦ» (S0-94): the
/// reminder's own local date and time, as the curator set it.
pub fn curator_reminder_summary(local_date: &str, local_time: &str, text: &str) -> String {
    let when = format!("{} {}", local_date.trim(), local_time.trim());
    match (when.trim(), text.trim()) {
        ("", "") => "Напоминание".into(),
        ("", t) => format!("Напоминание: {t}"),
        (w, "") => format!("Напоминание на {w}"),
        (w, t) => format!("Напоминание на {w}: {t}"),
    }
}

// Detector details, when the scheduler sent no sentence of its own.
pub fn skipped_detail(n: u32) -> String {
    format!("«Пропущено» {n} {} подряд", days(n))
}
pub fn inactive_detail(n: u32) -> String {
    format!("Нет ответа на напоминания {n} {} подряд", days(n))
}
pub fn no_assignments_detail(n: u32) -> String {
    format!("Назначения заканчиваются в течение {n} {}, новых не запланировано", days(n))
}

// Work-queue types (S0-85, S0-88, S0-90…S0-92, S0-94); N is the threshold
// the item was raised with.
pub const KIND_FILE: &str = "файл";
pub const KIND_CONTACT: &str = "связь с соц. куратором";
pub const KIND_CURATOR_REMINDER: &str = "напоминания для соц. куратора";
pub fn kind_skipped(n: u32) -> String {
    format!("пропуск ({n} {})", days(n))
}
pub fn kind_inactive(n: u32) -> String {
    format!("неактивный ({n} {})", days(n))
}
pub fn kind_no_assignments(n: u32) -> String {
    format!("без назначений ({n} {})", days(n))
}

/// «день», «дня», «дней» after `n`.
pub fn days(n: u32) -> &'static str {
    match (n % 10, n % 100) {
        (_, 11..=14) => "дней",
        (1, _) => "день",
        (2..=4, _) => "дня",
        _ => "дней",
    }
}

// Bot link (S0-35, S0-36).
pub const BOT_LINK_UNAVAILABLE: &str = "Код активации недоступен: у пользователя нет учётной записи для бота.";

// Tenant settings (S0-2).
pub const DEFAULT_CITIZEN_TERM: &str = "пользователь";
pub const DEFAULT_CITIZENS_SECTION: &str = "Пользователи";
pub const DEFAULT_CURATOR_TERM: &str = "соц. куратор";
pub const DEFAULT_CURATORS_SECTION: &str = "Соц. кураторы";
pub const TERM_TOO_LONG: &str = "Не длиннее 60 символов.";
pub const TIME_ZONE_INVALID: &str = "Укажите часовой пояс в виде Europe/Moscow.";

// Identity unreachable or refusing.
pub const IDENTITY_UNAVAILABLE: &str = "Сервис учётных записей недоступен. Повторите попытку позже.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_agree_with_their_number() {
        let words: Vec<&str> = [1, 2, 4, 5, 10, 11, 12, 14, 21, 22, 25, 101, 111].into_iter().map(days).collect();
        assert_eq!(
            words,
            ["день", "дня", "дня", "дней", "дней", "дней", "дней", "дней", "день", "дня", "дней", "день", "дней"]
        );
    }

    #[test]
    fn a_curator_reminder_says_when_and_what() {
        assert_eq!(
            curator_reminder_summary("05.03.2026", "09:00", " Позвонить в МФЦ "),
            "Напоминание на 05.03.2026 09:00: Позвонить в МФЦ"
        );
        assert_eq!(curator_reminder_summary("05.03.2026", "09:00", ""), "Напоминание на 05.03.2026 09:00");
        assert_eq!(curator_reminder_summary("", "", "Позвонить"), "Напоминание: Позвонить");
    }
}
