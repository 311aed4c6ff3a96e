//! Every user-facing sentence of appeals — the API's and the workflow's own
//! words (statuses, roles, actions, refusals) — in Russian, the seed's language.
use chrono::NaiveDate;

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

// ------------------------------------------------------------------ workflow
// Every user-facing word of the workflow (Russian), kept together so the gateway and the timeline show the
// seed's own terms (STYLE: the people who will use Opeka were trained on them).

// Statuses (S1-8…S1-12); the intermediate ones are ours, named after the seed's buttons.
pub const STATUS_NEW: &str = "Новое";
pub const STATUS_MODERATION: &str = "На модерации";
pub const STATUS_IN_WORK: &str = "В работе";
pub const STATUS_DONE_REVIEW: &str = "Исполнено, на проверке у куратора";
pub const STATUS_CLOSE_REQUESTED: &str = "Запрос на закрытие";
pub const STATUS_REREVIEW: &str = "На повторном рассмотрении";
pub const STATUS_TECH_SUPPORT: &str = "Запрос в тех.поддержку";
pub const STATUS_FEDERAL: &str = "Федеральный уровень";
pub const STATUS_POSTPONED: &str = "Отложенное решение";
pub const STATUS_DONE: &str = "Выполнено";
pub const STATUS_CLOSED: &str = "Закрыто";

// Roles (seed 001 §2 and the issue).
pub const ROLE_MODERATOR: &str = "Модератор";
pub const ROLE_EXECUTOR: &str = "Исполнитель";
pub const ROLE_SUPERVISOR: &str = "Супервайзер";
pub const ROLE_CURATOR: &str = "Куратор";
pub const ROLE_SUPPORT: &str = "Специалист тех.поддержки";
pub const ROLE_ADMIN: &str = "Администратор";
pub const ROLE_SYSTEM: &str = "Система";

// Actions: the card's buttons and the «Действие» menu (S1-18, S1-34, S1-35).
pub const ACTION_SUBMIT: &str = "Отправить на модерацию";
pub const ACTION_ROUTE: &str = "Направить исполнителю";
pub const ACTION_ASSIGN: &str = "Назначить исполнителя";
pub const ACTION_TAKE: &str = "Взять в работу карточку обращения";
pub const ACTION_RELEASE: &str = "Завершить работу над карточкой";
pub const ACTION_MARK_DONE: &str = "Отметить исполнение";
pub const ACTION_REQUEST_CLOSE: &str = "Отметить невозможность исполнения";
pub const ACTION_POSTPONE: &str = "Отметить отложенное решение";
pub const ACTION_RESUME: &str = "Вернуть в работу по сроку";
pub const ACTION_REREVIEW: &str = "На повторное рассмотрение";
pub const ACTION_FEDERAL: &str = "Федеральный уровень";
pub const ACTION_TECH_SUPPORT: &str = "Запрос в тех.поддержку";
pub const ACTION_SUPPORT_RETURN: &str = "Вернуть в работу после исправления";
pub const ACTION_ACCEPT: &str = "Принять";
pub const ACTION_RETURN: &str = "Вернуть на доработку";

// Close reasons (S1-42), verbatim from seed 001 §9.
pub const CLOSE_CITIZEN_REFUSED: &str = "Заявитель отказался от помощи";
pub const CLOSE_WRONG_PHONE: &str = "В обращении указан неверный номер телефона";
pub const CLOSE_UNREACHABLE: &str = "Не удалось связаться с заявителем";
pub const CLOSE_DUPLICATE: &str = "Обращение дублирует другое обращение";
pub const CLOSE_DID_NOT_APPLY: &str = "Заявитель не обращался за помощью";
pub const CLOSE_OBJECTIVE: &str = "Обращение не может быть выполнено по объективным причинам";
pub const CLOSE_MOTIVATED_REFUSAL: &str = "Заявителю дан мотивированный отказ";

// Why a close request went back to the executor (S1-43…S1-45).
pub const DEFECT_NO_DUPLICATE: &str = "не указан номер обращения, которое дублируется";
pub const DEFECT_SELF_DUPLICATE: &str = "обращение не может дублировать само себя";
pub const DEFECT_NO_COMMENT: &str = "не указана причина в комментарии";

// Postponement reasons (S1-39: «выбрать из выпадающего списка»; the seed does not list them).
pub const POSTPONE_WORKS_PLANNED: &str = "Решение принято, работы запланированы";
pub const POSTPONE_WORKS_IN_PROGRESS: &str = "Работы ведутся";
pub const POSTPONE_FUNDING: &str = "Ожидается финансирование";
pub const POSTPONE_AGENCY_REPLY: &str = "Ожидается ответ ведомства";
pub const POSTPONE_SEASONAL: &str = "Работы возможны только в определённый сезон";
pub const POSTPONE_OTHER: &str = "Другая причина";

// Re-review reasons (S1-40).
pub const REREVIEW_REGION: &str = "Неверный регион";
pub const REREVIEW_CATEGORY: &str = "Неверная категория";
pub const REREVIEW_BOTH: &str = "Неверные регион и категория";

// Labels, queues and work-queue items.
pub const LABEL_FEDERAL: &str = "Федеральный уровень";
pub const QUEUE_MODERATORS: &str = "Модераторы";
pub const QUEUE_EXECUTORS: &str = "Исполнители";
pub const QUEUE_CURATORS: &str = "Кураторы";
pub const QUEUE_FEDERAL: &str = "Федеральный уровень";
pub const QUEUE_SUPPORT: &str = "Тех.поддержка";
pub const ITEM_POSTPONED_DUE: &str = "Наступил срок отложенного решения";
pub const ITEM_RETURNED_FOR_REWORK: &str = "Обращение возвращено на доработку";
pub const ITEM_RETURNED_FROM_REREVIEW: &str = "Обращение вернулось после повторного рассмотрения";
pub const ITEM_RETURNED_FROM_SUPPORT: &str = "Тех.поддержка исправила обращение";
pub const ITEM_RETURNED_FROM_FEDERAL: &str = "Обращение вернулось с федерального уровня";

// Refusals (FAILED_PRECONDITION, PERMISSION_DENIED).
pub const OUT_OF_AREA: &str = "Обращение не относится к вашей организации.";
pub const TAKE_FIRST: &str = "Сначала возьмите карточку в работу.";
pub const HELD_BY_OTHER: &str = "С этой карточкой работает другой исполнитель.";
pub const ALREADY_YOURS: &str = "Вы уже работаете с этой карточкой.";
pub const ALREADY_ASSIGNED: &str = "Карточка уже у этого исполнителя.";
pub const NOT_HELD: &str = "С карточкой никто не работает: снимать блокировку не нужно.";
pub const SELF_REVIEW: &str = "Нельзя проверять обращение, которое вы исполняли сами.";

// Invalid input (INVALID_ARGUMENT), shown beside the field.
pub const SOLUTION_REQUIRED: &str = "Опишите, каким образом решено обращение.";
pub const REASON_COMMENT_REQUIRED: &str = "Для этой причины укажите её в комментарии.";
pub const DUPLICATE_REQUIRED: &str = "Укажите номер обращения, которое дублирует это.";
pub const DUPLICATE_SELF: &str = "Обращение не может дублировать само себя.";
pub const UNTIL_NOT_FUTURE: &str = "Срок решения должен быть позже сегодняшнего дня.";
pub const FIELDS_REQUIRED: &str = "Опишите, какие поля нужно исправить и на что.";
pub const REWORK_COMMENT_REQUIRED: &str = "Напишите, что нужно доработать.";
pub const ORG_REQUIRED: &str = "Выберите организацию-исполнителя.";
pub const EXECUTOR_REQUIRED: &str = "Выберите исполнителя.";
pub const TOO_LONG: &str = "Не длиннее 10000 символов.";

// Channels («Канал», S1-26, S1-55).
pub const CHANNEL_CALL_CENTRE: &str = "Колл-центр";
pub const CHANNEL_DIRECT_LINE: &str = "Прямая линия";
pub const CHANNEL_WEB: &str = "Сайт";
pub const CHANNEL_BOT: &str = "Чат-бот";
pub const CHANNEL_API: &str = "Внешняя система (API)";

pub fn illegal(action: &str, status: &str) -> String {
    format!("Действие «{action}» недоступно: обращение в статусе «{status}».")
}

pub fn forbidden(action: &str, role: &str) -> String {
    format!("Действие «{action}» недоступно для роли «{role}».")
}

pub fn not_due(until: NaiveDate) -> String {
    format!("Срок отложенного решения ещё не наступил: {}.", until.format("%d.%m.%Y"))
}
