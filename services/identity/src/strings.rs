//! Every user-facing sentence identity produces, in one place (Russian).
pub const SURNAME_REQUIRED: &str = "Укажите фамилию.";
pub const TOO_LONG_100: &str = "Не длиннее 100 символов.";
pub const LOGIN_LENGTH: &str = "Логин должен содержать от 3 до 64 символов.";
pub const LOGIN_CHARS: &str = "Логин может содержать только латинские буквы, цифры и символы . _ -";
pub const LOGIN_REQUIRED: &str = "Укажите логин или адрес электронной почты.";
pub const EMAIL_INVALID: &str = "Укажите адрес электронной почты в виде name@example.ru.";
pub const EMAIL_REQUIRED_FOR_ACTIVATION: &str =
    "Укажите пароль или адрес электронной почты, на который придёт ссылка для активации.";
pub const PHONE_INVALID: &str = "Укажите телефон в формате +7 900 000-00-00.";
pub const PHONE_REQUIRED: &str = "Укажите телефон.";
pub const TELEGRAM_INVALID: &str = "Имя пользователя Telegram: от 5 до 32 латинских букв, цифр или _.";
pub const PASSWORD_TOO_LONG: &str = "Пароль не длиннее 128 символов.";
pub const PASSWORDS_DIFFER: &str = "Пароли не совпадают.";
pub const OLD_PASSWORD_WRONG: &str = "Текущий пароль указан неверно.";
pub const SLUG_INVALID: &str = "Короткое имя: строчные латинские буквы, цифры и дефис.";
pub const NAME_REQUIRED: &str = "Укажите название.";
pub const KIND_REQUIRED: &str = "Выберите вид организации.";
pub const ROLE_REQUIRED: &str = "Выберите хотя бы одну роль.";
pub const ROLE_INVALID: &str = "Такой роли нет.";
pub const ID_INVALID: &str = "Неверный идентификатор.";
pub const DISTRICT_UNKNOWN: &str = "Такого района нет.";
pub const ORGANISATION_UNKNOWN: &str = "Такой организации нет.";
pub const LOGIN_TAKEN: &str = "Этот логин уже занят.";
pub const EMAIL_TAKEN: &str = "Этот адрес уже используется другим пользователем.";
pub const DISTRICT_TAKEN: &str = "Район с таким названием уже есть.";
/// S0-4/S0-5: one message for an unknown login, a wrong password and a
/// locked account, so logins cannot be enumerated.
pub const BAD_CREDENTIALS: &str = "Логин или пароль неверный.";
pub const BAD_CLIENT: &str = "Неверный идентификатор или секрет клиента.";
pub const SESSION_ENDED: &str = opeka_platform::auth::SESSION_ENDED;
pub const ACCOUNT_NOT_FOUND: &str = "Пользователь не найден.";
pub const NOT_A_CITIZEN: &str = "Код привязки выдаётся только гражданину.";
pub const CODE_NOT_FOUND: &str = "Код привязки не найден. Проверьте код или попросите куратора выдать новый.";
pub const CODE_EXPIRED: &str = "Срок действия кода истёк. Попросите куратора продлить код.";
pub const CODE_ALREADY_USED: &str = "Этот код уже использован: бот уже активирован.";
pub const CHAT_ALREADY_LINKED: &str = "Этот чат Telegram уже привязан к другому гражданину.";
pub const TOKEN_INVALID: &str = "Ссылка недействительна или устарела. Попросите администратора выслать новую.";
pub const RESET_CODE_INVALID: &str = "Код неверен или устарел. Запросите новый код.";
pub const NOT_PENDING: &str = "Учётная запись уже активирована.";
pub const CANNOT_DELETE_SELF: &str = "Нельзя удалить собственную учётную запись.";
pub const ACCOUNT_DELETED: &str = "Учётная запись удалена.";
pub const PERMISSION_DENIED: &str = "Недостаточно прав для этого действия.";
pub const TENANT_UNKNOWN: &str = "Организация не найдена.";

pub fn password_too_short(min: usize) -> String {
    format!("Пароль должен содержать не менее {min} символов.")
}

/// Throttles (issue 9): a throttled call answers RESOURCE_EXHAUSTED with these.
pub const TOO_MANY_LOGINS: &str = "Слишком много попыток входа с вашего адреса. Подождите минуту и попробуйте снова.";
pub const TOO_MANY_RESET_REQUESTS: &str =
    "Слишком много запросов на восстановление пароля с вашего адреса. Попробуйте позже.";
pub const TOO_MANY_RESET_GUESSES: &str =
    "Слишком много неверных попыток ввода кода. Попробуйте позже или обратитесь к администратору.";
