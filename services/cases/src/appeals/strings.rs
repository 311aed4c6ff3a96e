//! Every user-facing sentence of the appeals API beyond the workflow's own
//! words (`domain::appeal::text`), in Russian, the seed's language.

// Intake and card fields (S1-19…S1-28).
pub const NAME_REQUIRED: &str = "Укажите ФИО гражданина.";
pub const REGION_REQUIRED: &str = "Выберите регион.";
pub const CHANNEL_REQUIRED: &str = "Выберите канал обращения.";
pub const CHANNEL_UNKNOWN: &str = "Такого канала нет.";
pub const TEXT_TOO_LONG: &str = "Не длиннее 10000 символов.";
pub const LABEL_INVALID: &str = "Метка — слово или код не длиннее 100 символов.";
pub const TOO_MANY_LABELS: &str = "Не больше 50 меток.";
pub const NODE_UNKNOWN: &str = "Такого значения в справочнике нет.";
pub const NODE_WRONG_LEVEL: &str = "Значение из другого уровня справочника.";
pub const DISTRICT_MISMATCH: &str = "Регион не относится к выбранному федеральному округу.";
pub const MUNICIPALITY_MISMATCH: &str = "Муниципальное образование не относится к выбранному региону.";
pub const CATEGORY_MISMATCH: &str = "Категория не относится к выбранному типу категории.";
pub const SUBCATEGORY_MISMATCH: &str = "Подкатегория не относится к выбранной категории.";
pub const ORG_UNKNOWN: &str = "Такой организации нет.";
pub const DATE_INVALID: &str = "Укажите дату в виде ГГГГ-ММ-ДД или ДД.ММ.ГГГГ.";
pub const APPEAL_NOT_FOUND: &str = "Обращение не найдено.";
pub const PERMISSION_DENIED: &str = "Недостаточно прав для этого действия.";
pub const NUMBER_OR_ID: &str = "Укажите идентификатор или номер обращения.";

// UpdateAppeal (S1-6, S1-7).
pub const MASK_REQUIRED: &str = "Укажите, какие поля изменить.";
pub const MASK_UNKNOWN: &str = "Это поле нельзя изменить здесь.";
pub const VERSION_MISMATCH: &str =
    "Обращение уже изменили, пока вы его редактировали. Обновите карточку и повторите изменения.";

pub fn final_status(status: &str) -> String {
    format!("Обращение в статусе «{status}» изменить нельзя.")
}

// Actions.
pub const ACTION_REQUIRED: &str = "Выберите действие.";
pub const REASON_UNKNOWN: &str = "Выберите причину из списка.";
pub const EXECUTOR_UNKNOWN: &str = "Такого исполнителя нет.";
pub const EXECUTOR_OTHER_ORG: &str = "Исполнитель не относится к организации-исполнителю обращения.";
pub const DUPLICATE_UNKNOWN: &str = "Обращения с таким номером нет.";
pub const FILE_ID_INVALID: &str = "Неверный идентификатор файла.";
/// S1-38: an attachment that is not a file of this appeal (unknown, or another appeal's or citizen's).
pub const FILE_NOT_OF_APPEAL: &str = "Файл не найден среди файлов этого обращения. Загрузите его ещё раз.";
pub const FILES_UNAVAILABLE: &str = "Сервис файлов недоступен. Повторите попытку позже.";

/// S1-30: the executor already holds a card.
pub fn already_working(number: i64) -> String {
    format!(
        "Вы уже работаете с обращением № {number}. Завершите работу над ним («Завершить работу над карточкой» или \
         действие по обращению), затем возьмите следующее."
    )
}

/// S1-5, S1-30: a supervisor assigns an executor who holds another card.
pub fn executor_busy(number: i64) -> String {
    format!(
        "Исполнитель уже работает с обращением № {number}. Одновременно исполнитель может работать только с \
         одной карточкой."
    )
}

// Comments (S1-31, S1-33).
pub const COMMENT_REQUIRED: &str = "Введите комментарий.";
pub const COMMENT_NOT_FOUND: &str = "Комментарий не найден.";
pub const COMMENT_NOT_YOURS: &str = "Изменить комментарий может только его автор.";

// Journal and preferences.
pub const FILTER_UNKNOWN: &str = "Такого поля фильтра нет.";
pub const STATUS_UNKNOWN: &str = "Такого статуса нет.";
pub const ORDER_UNKNOWN: &str = "Сортировка возможна по номеру, дате создания, статусу, ФИО или региону.";
pub const DATE_RANGE_REVERSED: &str = "Дата «Созд. до» раньше даты «Созд. от».";

// Reference import.
pub const TREE_UNKNOWN: &str = "Справочник: geography или topics.";
pub const LEVEL_UNKNOWN: &str = "Такого уровня в этом справочнике нет.";
pub const CODE_REQUIRED: &str = "Укажите код.";
pub const NODE_NAME_REQUIRED: &str = "Укажите название.";
pub const PARENT_REQUIRED: &str = "Укажите код родителя (parent_code).";
pub const PARENT_UNKNOWN: &str = "Родитель с таким кодом не найден (родители идут раньше детей).";
pub const PARENT_WRONG_LEVEL: &str = "Родитель на неподходящем уровне справочника.";
pub const ROOT_HAS_NO_PARENT: &str = "У верхнего уровня нет родителя.";
pub const CODE_REPEATED: &str = "Код повторяется в загрузке.";

// Timeline lines («Ход решения»).
pub const CREATED: &str = "Обращение создано";
pub const SOLUTION: &str = "Решение исполнителя";
pub const TECH_SUPPORT: &str = "Запрос в тех.поддержку";
pub const SUPPORT_RESOLVED: &str = "Тех.поддержка исправила обращение";
pub const FEDERAL: &str = "Обращение переведено на федеральный уровень";
pub const RETURNED_FOR_REWORK: &str = "Возвращено на доработку";
pub const SYSTEM: &str = "Система";
pub const INTEGRATION: &str = "Внешняя система";

pub fn created(channel: &str) -> String {
    format!("{CREATED} (канал: {channel})")
}

pub fn status_changed(from: &str, to: &str) -> String {
    format!("{from} → {to}")
}

pub fn lock_taken(name: &str, assigned: bool) -> String {
    if assigned {
        format!("Назначен исполнитель: {name}")
    } else {
        format!("Взято в работу: {name}")
    }
}

pub fn lock_released(name: &str) -> String {
    format!("Работа над карточкой завершена: {name}")
}

pub fn close_requested(reason: &str, duplicate_of: Option<u64>) -> String {
    match duplicate_of {
        Some(n) => format!("Запрос на закрытие: {reason} (дублирует обращение № {n})"),
        None => format!("Запрос на закрытие: {reason}"),
    }
}

pub fn close_returned(reason: &str, defect: &str) -> String {
    format!("Запрос на закрытие («{reason}») возвращён исполнителю: {defect}")
}

pub fn postponed(reason: &str, until: chrono::NaiveDate) -> String {
    format!("Отложенное решение до {}: {reason}", until.format("%d.%m.%Y"))
}

pub fn rereview(reason: &str) -> String {
    format!("На повторное рассмотрение: {reason}")
}

pub fn label_added(label: &str) -> String {
    format!("Добавлена метка «{label}»")
}

pub fn org_changed(name: &str) -> String {
    format!("Организация-исполнитель: {name}")
}

pub fn fields_updated(labels: &[&str]) -> String {
    format!("Изменены поля: {}", labels.join(", "))
}

/// Names of the card fields UpdateAppeal changes, for «Изменены поля: …».
pub fn field_label(path: &str) -> &'static str {
    match path {
        "citizen.full_name" => "ФИО гражданина",
        "citizen.email" => "Электронная почта",
        "citizen.phone" => "Номер телефона",
        "geography.source_address" => "Адрес источника",
        "geography.federal_district_id" => "Федеральный округ",
        "geography.region_id" => "Регион",
        "geography.municipality_id" => "Муниципальное образование",
        "geography.address" => "Адрес",
        "executor_sub_org" => "Суб. организация",
        "topic.category_type_id" => "Тип категории",
        "topic.category_id" => "Категория обращения",
        "topic.subcategory_id" => "Подкатегория обращения",
        "urgent" => "Срочно",
        "talked_before" => "Общались ранее",
        "labels" => "Особые метки сообщения",
        "source_system" => "Система-источник",
        "source_id" => "Идентификатор в системе-источнике",
        "channel" => "Канал",
        "stream" => "Поток",
        "text" => "Текст обращения",
        "deadline" => "Дата дедлайна по исполнению",
        _ => "Другое поле",
    }
}
