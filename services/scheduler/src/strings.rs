//! Every user-facing sentence the scheduler produces, in one place (Russian).

// Reminder types (S0-39, S0-62): the seed's own words.
pub const KIND_SUPPORT: &str = "Меры поддержки";
pub const KIND_INFO: &str = "Информация для Вас";
pub const KIND_MEETING: &str = "Дата встречи с соц. куратором";
pub const KIND_CURATOR_NOTE: &str = "Напоминание для соц. куратора";

// The form (S0-62…S0-72).
pub const KIND_REQUIRED: &str = "Выберите тип задания.";
pub const DESCRIPTION_REQUIRED: &str = "Заполните описание задания: это текст, который получит пользователь.";
pub fn description_too_long(max: usize) -> String {
    format!("Описание задания не длиннее {max} символов.")
}
pub const DATE_INVALID: &str = "Укажите дату в виде ГГГГ-ММ-ДД.";
pub const DATE_REQUIRED: &str = "Укажите дату.";
pub const TIME_INVALID: &str = "Укажите время в виде ЧЧ:ММ, например 09:30.";
pub const TIME_ZONE_INVALID: &str = "Укажите часовой пояс в виде Europe/Moscow.";
pub const FREQUENCY_REQUIRED: &str =
    "Выберите повторение: «Не повторять», «Ежедневно», «Еженедельно» или «Ежемесячно».";
pub const WEEKDAY_INVALID: &str = "Выберите день недели из списка.";
pub const END_BOTH: &str = "Укажите либо количество повторений, либо дату окончания, но не то и другое сразу.";
pub const ID_INVALID: &str = "Неверный идентификатор.";

// Lookups and access.
pub const CITIZEN_NOT_FOUND: &str = "Пользователь не найден.";
pub const SERIES_NOT_FOUND: &str = "Напоминание не найдено.";
pub const OCCURRENCE_NOT_FOUND: &str = "Напоминание не найдено.";
pub const PERMISSION_DENIED: &str = "Недостаточно прав для этого действия.";
pub const NOT_YOUR_CITIZEN: &str =
    "Напоминания этого пользователя ведёт другой соц. куратор; изменить их может он или администратор.";
pub const ONLY_ADMIN: &str = "Изменить настройки может только администратор.";
pub const BOT_NOT_ACTIVATED: &str = "Бот пользователя ещё не активирован: напоминания станут доступны после \
                                     активации (пользователь вводит код в Telegram-боте). Напоминание для соц. \
                                     куратора можно создать и сейчас.";
pub const CITIZEN_DELETED: &str = "Карточка пользователя удалена: напоминания для него не создаются.";

// One occurrence.
pub const ALREADY_SENT: &str =
    "Напоминание уже отправлено пользователю: изменить, приостановить или удалить его нельзя.";
pub const CANCELLED: &str = "Это напоминание удалено.";
pub const MOVE_TO_PAST: &str = "Нельзя перенести напоминание на прошедшее время.";

// The bot.
pub const ANSWER_REQUIRED: &str = "Укажите ответ: «Выполнено» или «Пропущено».";

// Calendars and lists.
pub const PERIOD_REVERSED: &str = "Дата окончания периода должна быть позже даты начала.";
pub const PERIOD_TOO_LONG: &str = "Период не длиннее года.";
pub const UPCOMING_DAYS: &str = "Укажите период: 3, 7, 14 или 30 дней, либо тип напоминаний.";
pub const HOURS_TOO_MANY: &str = "Не больше 8760 часов (год).";

// Settings.
pub fn out_of_range(min: u32, max: u32) -> String {
    format!("Укажите число от {min} до {max}.")
}

// Other services.
pub const CASES_UNAVAILABLE: &str = "Реестр пользователей недоступен. Повторите попытку позже.";

/// «1 день», «2 дня», «5 дней».
pub fn days(n: u32) -> String {
    let word = match (n % 10, n % 100) {
        (1, r) if r != 11 => "день",
        (2..=4, r) if !(12..=14).contains(&r) => "дня",
        _ => "дней",
    };
    format!("{n} {word}")
}

// Detector summaries for the work queue (S0-90…S0-92).
pub fn skipped_summary(n: u32) -> String {
    format!("Пользователь {} подряд отмечает напоминания «Пропущено»", days(n))
}
pub fn silent_summary(n: u32) -> String {
    format!("Пользователь {} не отвечает на напоминания", days(n))
}
pub fn no_assignments_summary(n: u32) -> String {
    format!("Через {} у пользователя заканчиваются напоминания, новых не назначено", days(n))
}

#[cfg(test)]
mod tests {
    #[test]
    fn days_agree_with_the_number() {
        assert_eq!(super::days(1), "1 день");
        assert_eq!(super::days(2), "2 дня");
        assert_eq!(super::days(5), "5 дней");
        assert_eq!(super::days(11), "11 дней");
        assert_eq!(super::days(12), "12 дней");
        assert_eq!(super::days(21), "21 день");
        assert_eq!(super::days(22), "22 дня");
    }
}
