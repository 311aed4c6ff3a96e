//! Every user-facing sentence of legal aid (Russian, the seed's words), the
//! default reference lists and the referral form's template. The English
//! mirror of each sentence is its doc comment.

// Access.
/// Not enough rights for this action.
pub const DENIED: &str = "Недостаточно прав для этого действия.";
/// Your account is not attached to a legal-aid centre.
pub const NO_CENTRE: &str = "Ваша учётная запись не привязана к центру бесплатной юридической помощи.";
/// Consultants work only with their own centre's records.
pub const OTHER_CENTRE: &str = "Консультант работает только с записями своего центра.";

// Not found.
/// Consultation record not found.
pub const CONSULTATION_NOT_FOUND: &str = "Обращение не найдено.";
/// Referral not found.
pub const REFERRAL_NOT_FOUND: &str = "Перенаправление не найдено.";
/// Question not found.
pub const QUESTION_NOT_FOUND: &str = "Вопрос не найден.";
/// Centre not found.
pub const CENTRE_NOT_FOUND: &str = "Центр не найден.";
/// Online consultation is not available for this organisation.
pub const TENANT_UNKNOWN: &str = "Онлайн-консультация для этой организации недоступна.";
/// Online consultation is not set up yet: no centre receives questions.
pub const TOO_MANY_QUESTIONS: &str =
    "С вашего адреса отправлено слишком много вопросов. Попробуйте позже — мы обязательно ответим на уже заданные.";
pub const NOT_ACCEPTING: &str = "Онлайн-консультация ещё не настроена: нет центра, который принимает вопросы.";

// Conflicts.
/// Someone else changed this record meanwhile; reload the page and save again.
pub const STALE_VERSION: &str = "Запись уже изменил другой пользователь. Обновите страницу и сохраните ещё раз.";

/// A published answer can no longer be changed.
pub const ALREADY_PUBLISHED: &str = "Ответ уже опубликован, изменить его нельзя.";

/// Only an answered question waiting for moderation can be moderated; `status` is its status now.
pub fn not_awaiting_moderation(status: &str) -> String {
    format!("Проверять можно только ответ, ожидающий модерации; статус вопроса: «{status}».")
}

// Field violations.
/// Enter the client's full name.
pub const FULL_NAME_REQUIRED: &str = "Введите ФИО клиента.";
/// Enter the age.
pub const AGE_REQUIRED: &str = "Укажите возраст.";
/// Age is a number from 0 to 120.
pub const AGE_RANGE: &str = "Возраст — число от 0 до 120.";
/// Age "from" is greater than age "to".
pub const AGE_ORDER: &str = "Возраст «от» больше возраста «до».";
/// Start date is later than the end date.
pub const PERIOD_ORDER: &str = "Дата начала периода позже даты окончания.";
/// Choose a value from the list.
pub const CHOOSE: &str = "Выберите значение из списка.";
/// No such value in the list.
pub const UNKNOWN_CODE: &str = "Такого значения нет в списке.";
/// Choose at least one category.
pub const CATEGORY_REQUIRED: &str = "Выберите хотя бы одну категорию.";
/// The district is not in the chosen region.
pub const DISTRICT_NOT_IN_REGION: &str = "Этот район не относится к выбранной области.";
/// Phone: digits, e.g. +996 555 123 456.
pub const PHONE_INVALID: &str = "Укажите телефон цифрами, например +996 555 123 456.";
/// E-mail like name@example.kg.
pub const EMAIL_INVALID: &str = "Укажите адрес электронной почты в виде name@example.kg.";
/// The date can't be in the future.
pub const DATE_FUTURE: &str = "Дата не может быть в будущем.";
/// Date as DD.MM.YYYY.
pub const DATE_INVALID: &str = "Укажите дату в виде ДД.ММ.ГГГГ.";
/// Choose the centre.
pub const CENTRE_REQUIRED: &str = "Выберите центр.";
/// No such centre.
pub const CENTRE_UNKNOWN: &str = "Такого центра нет.";
/// Fill in the field.
pub const REQUIRED: &str = "Заполните поле.";
/// Enter the organisation the client is referred to.
pub const TO_ORGANISATION_REQUIRED: &str = "Укажите организацию, в которую направляется клиент.";
/// Enter the reason for the referral.
pub const REASON_REQUIRED: &str = "Укажите причину перенаправления.";
/// Enter your question.
pub const QUESTION_REQUIRED: &str = "Напишите ваш вопрос.";
/// Write the answer.
pub const ANSWER_REQUIRED: &str = "Напишите ответ.";
/// Say why the answer is returned.
pub const COMMENT_REQUIRED: &str = "Укажите, почему ответ возвращён на доработку.";
/// The consultation belongs to another centre or does not exist.
pub const CONSULTATION_UNKNOWN: &str = "Такого обращения в вашем центре нет.";
/// Choose the list.
pub const KIND_REQUIRED: &str = "Выберите справочник.";
/// The code may contain Latin letters, digits, '-' and '_' (up to 40).
pub const CODE_INVALID: &str = "Код — латинские буквы, цифры, «-» и «_», не длиннее 40 символов.";
/// A district needs its region.
pub const REGION_REQUIRED: &str = "Укажите область района.";
/// Only districts have a region.
pub const PARENT_ONLY_FOR_DISTRICT: &str = "Область указывается только для района.";

/// At most `max` characters.
pub fn too_long(max: usize) -> String {
    format!("Не длиннее {max} символов.")
}

// Statuses of online questions (S2-34…S2-36).
pub const STATUS_WAITING: &str = "Ожидает ответа";
pub const STATUS_ANSWERED: &str = "На модерации";
pub const STATUS_PUBLISHED: &str = "Опубликован";
pub const STATUS_REJECTED: &str = "Возвращён на доработку";

/// The default reference lists a tenant starts with (`kind`, `code`, `name`,
/// region code of a district). The seed shows «Мужской», «Кыргызстан»,
/// «Малоимущие» and the inheritance category; the rest follows the centres'
/// usual practice, and each tenant edits the lists.
pub const DEFAULT_REFS: &[(&str, &str, &str, &str)] = &[
    ("gender", "male", "Мужской", ""),
    ("gender", "female", "Женский", ""),
    ("citizenship", "kg", "Кыргызстан", ""),
    ("citizenship", "kz", "Казахстан", ""),
    ("citizenship", "ru", "Россия", ""),
    ("citizenship", "uz", "Узбекистан", ""),
    ("citizenship", "tj", "Таджикистан", ""),
    ("citizenship", "stateless", "Лицо без гражданства", ""),
    ("citizenship", "other", "Другое", ""),
    ("social_status", "low_income", "Малоимущие", ""),
    ("social_status", "pensioner", "Пенсионеры", ""),
    ("social_status", "disabled", "Лица с инвалидностью", ""),
    ("social_status", "large_family", "Многодетные семьи", ""),
    ("social_status", "unemployed", "Безработные", ""),
    ("social_status", "migrant", "Внутренние мигранты", ""),
    ("social_status", "other", "Другое", ""),
    ("category", "inheritance", "Вопросы, связанные с наследством (завещание, выделение доли из наследства)", ""),
    ("category", "family", "Семейные споры (развод, алименты, раздел имущества)", ""),
    ("category", "land", "Земельные вопросы", ""),
    ("category", "housing", "Жилищные вопросы", ""),
    ("category", "labour", "Трудовые споры", ""),
    ("category", "social_security", "Социальное обеспечение (пенсии, пособия)", ""),
    ("category", "documents", "Документирование (паспорт, регистрация, гражданство)", ""),
    ("category", "criminal", "Уголовные дела", ""),
    ("category", "other", "Другое", ""),
    ("help_type", "oral", "Устная консультация", ""),
    ("help_type", "written", "Письменная консультация", ""),
    ("help_type", "documents", "Составление документов", ""),
    ("help_type", "referral", "Перенаправление", ""),
    ("region", "batken", "Баткенская область", ""),
    ("region", "jalal_abad", "Джалал-Абадская область", ""),
    ("region", "issyk_kul", "Иссык-Кульская область", ""),
    ("region", "naryn", "Нарынская область", ""),
    ("region", "osh_region", "Ошская область", ""),
    ("region", "talas", "Таласская область", ""),
    ("region", "chui", "Чуйская область", ""),
    ("region", "bishkek", "г. Бишкек", ""),
    ("region", "osh", "г. Ош", ""),
    ("district", "karakol", "г. Каракол", "issyk_kul"),
    ("district", "ak_suu", "Ак-Суйский район", "issyk_kul"),
    ("district", "jeti_oguz", "Джети-Огузский район", "issyk_kul"),
    ("district", "issyk_kul_d", "Иссык-Кульский район", "issyk_kul"),
    ("district", "ton", "Тонский район", "issyk_kul"),
    ("district", "tyup", "Тюпский район", "issyk_kul"),
    ("district", "alamudun", "Аламудунский район", "chui"),
    ("district", "sokuluk", "Сокулукский район", "chui"),
    ("district", "moskovsky", "Московский район", "chui"),
    ("district", "ysyk_ata", "Ысык-Атинский район", "chui"),
    ("district", "bishkek_city", "г. Бишкек", "bishkek"),
    ("district", "osh_city", "г. Ош", "osh"),
];

// The referral form («бланк перенаправления», S2-31). Lines whose value is
// empty are left out.
pub const FORM_TITLE: &str = "НАПРАВЛЕНИЕ";
pub const FORM_DATE: &str = "от";
pub const FORM_PHONE: &str = "Тел.:";
pub const FORM_EMAIL: &str = "E-mail:";
pub const FORM_TO: &str = "Кому:";
pub const FORM_ADDRESS: &str = "Адрес:";
pub const FORM_INTRO: &str = "Центр бесплатной юридической помощи направляет к вам гражданина (гражданку):";
pub const FORM_CLIENT: &str = "ФИО:";
pub const FORM_AGE: &str = "Возраст:";
pub const FORM_CLIENT_PHONE: &str = "Телефон:";
pub const FORM_CLIENT_ADDRESS: &str = "Место проживания:";
pub const FORM_REASON: &str = "Причина перенаправления:";
pub const FORM_REQUEST: &str = "Просим оказать содействие в решении вопроса заявителя.";
pub const FORM_HEAD: &str = "Руководитель центра";
pub const FORM_CONSULTANT: &str = "Консультант";
pub const FORM_SIGNATURE: &str = "____________";
