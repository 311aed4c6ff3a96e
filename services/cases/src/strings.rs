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
pub const ID_INVALID: &str = "Неверный идентификатор.";
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
pub const PAGE_TOKEN_INVALID: &str = "Неверный маркер страницы.";
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
