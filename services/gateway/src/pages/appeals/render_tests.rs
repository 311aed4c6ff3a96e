//! The appeals templates rendered with the contexts their handlers build (no services: the data is
//! made here), so a template that reads a missing value fails here, not on a page.
use std::collections::BTreeMap;

use minijinja::context;
use minijinja::value::{Serde, Value};
use opeka_proto::cases::{
    Appeal, AppealCitizen, AppealGeography, AppealOption, AppealOptions, AppealTopic, ReferenceNode,
};

use super::card::{self, Failed};
use super::form::AppealForm;
use super::journal::{self, JournalQuery, Row};
use super::{Tree, opts};
use crate::pages::common::Opt;
use crate::strings::RU;
use crate::terms::Terms;
use crate::views::FormErrors;
use crate::views::tests::render;

fn o(code: &str, label: &str) -> AppealOption {
    AppealOption { code: code.into(), label: label.into(), requires: String::new() }
}

fn options() -> AppealOptions {
    AppealOptions {
        statuses: vec![o("in_work", "В работе"), o("done", "Выполнено")],
        close_reasons: vec![
            o("citizen_refused", "Заявитель отказался от помощи"),
            AppealOption {
                requires: "duplicate_number".into(),
                ..o("duplicate", "Обращение дублирует другое обращение")
            },
        ],
        postpone_reasons: vec![o("works_planned", "Решение принято, работы запланированы")],
        rereview_reasons: vec![o("wrong_region", "Неверный регион")],
        channels: vec![o("call_centre", "Колл-центр"), o("web", "Сайт")],
        actions: vec![
            o("take", "Взять в работу карточку обращения"),
            o("release", "Завершить работу над карточкой"),
            o("mark_done", "Отметить исполнение"),
            o("request_close", "Отметить невозможность исполнения"),
            o("postpone", "Отметить отложенное решение"),
            o("request_rereview", "На повторное рассмотрение"),
            o("federal", "Федеральный уровень"),
            o("request_tech_support", "Запрос в тех.поддержку"),
            o("curator_accept", "Принять"),
            o("curator_return", "Вернуть на доработку"),
        ],
        labels: vec![o("federal", "Федеральный уровень")],
    }
}

fn geography() -> Tree {
    let n = |id: &str, level: &str, name: &str, parent: &str| ReferenceNode {
        id: id.into(),
        level: level.into(),
        code: id.into(),
        name: name.into(),
        parent_id: parent.into(),
        parent_code: String::new(),
    };
    Tree::new(vec![
        n("d1", "federal_district", "Дальневосточный федеральный округ", ""),
        n("r1", "region", "Забайкальский край", "d1"),
        n("m1", "municipality", "город Чита", "r1"),
    ])
}

fn journal_ctx(q: &JournalQuery, rows: Vec<Row>, errors: &FormErrors) -> Value {
    let fields: Vec<Value> =
        journal::FILTER_FIELDS.iter().map(|f| context! { name => *f, label => *f, visible => true }).collect();
    let g = geography();
    let total: i64 = if rows.is_empty() { 0 } else { 120 };
    let locks = vec![Opt { id: "mine_and_free".into(), name: RU.appeals.lock_mine_and_free.into() }];
    let tri = vec![Opt { id: String::new(), name: RU.appeals.tri_any.into() }];
    context! {
        title => RU.appeals.journal_title,
        active => "appeals",
        q => Value::from(Serde(q)),
        shown => journal::shown_fields(&[], &q.filled()),
        fields => fields,
        back => q.filter_query(),
        errors => Value::from(Serde(errors)),
        default_view => q.untouched,
        filtered => !q.untouched,
        rows => Value::from(Serde(&rows)),
        total => total,
        columns => Value::from(Serde(journal::columns(RU.appeals, &q.order_by, "/t/demo/appeals?"))),
        pages => Value::from(Serde(journal::pager(q.page, total, 50, false, "/t/demo/appeals?"))),
        prev => None::<String>,
        next => Some("/t/demo/appeals?page=2"),
        statuses => Value::from(Serde(opts(&options().statuses))),
        channels => Value::from(Serde(opts(&options().channels))),
        labels => Value::from(Serde(opts(&options().labels))),
        locks => Value::from(Serde(&locks)),
        tri => Value::from(Serde(&tri)),
        districts => Value::from(Serde(g.groups("federal_district", ""))),
        regions => Value::from(Serde(g.groups("region", ""))),
        municipalities => Value::from(Serde(g.groups("municipality", ""))),
        category_types => Value::from(Serde(Vec::<super::Group>::new())),
        categories => Value::from(Serde(Vec::<super::Group>::new())),
        subcategories => Value::from(Serde(Vec::<super::Group>::new())),
        orgs => Value::from(Serde(Vec::<Opt>::new())),
        can_create => true,
        notice => None::<&str>,
    }
}

fn row(number: i64, status: &str, label: &str) -> Row {
    Row {
        id: format!("id-{number}"),
        number,
        citizen_name: "Ходковский Александр".into(),
        status: status.into(),
        status_label: label.into(),
        category: "Образование".into(),
        federal_district: "Дальневосточный федеральный округ".into(),
        region: "Забайкальский край".into(),
        municipality: "Улётовский муниципальный район".into(),
        executor: "РИК ОНФ".into(),
        urgent: number % 2 == 0,
        held: true,
        mine: false,
        labels: vec!["Федеральный уровень".into()],
    }
}

// S1-16, S1-17, S1-48…S1-61, S1-64: the seed's columns and filters, a number linking to its card, a
// checkbox per row, sortable heads and numbered pages; the filter shows what the URL holds.
#[test]
fn the_journal_shows_the_seed_columns_and_filters() {
    let p: Vec<(String, String)> = [("statuses", "in_work"), ("phone", "+7 983"), ("order_by", "-number")]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let q = JournalQuery::from_pairs(&p, true);
    let html = render(
        "appeals/journal.html",
        journal_ctx(&q, vec![row(321_392, "in_work", "В работе")], &FormErrors::default()),
    );
    for col in [
        "№ обращения",
        "ФИО гражданина",
        "Статус обращения",
        "Категория",
        "Федеральный округ",
        "Регион",
        "Муниципальное образование",
        "Исполнитель",
    ] {
        assert!(html.contains(&format!(">{col}")), "column «{col}»");
    }
    for f in
        ["Блокировка", "Обращались ранее", "Метки (наличие)", "Метки (отсутствие)", "Идентификатор РТК", "Созд. от"]
    {
        assert!(html.contains(f), "filter «{f}»");
    }
    assert!(html.contains("placeholder=\"+7() - -\""), "the phone mask (S1-52)");
    assert!(html.contains("value=\"+7 983\""), "the typed phone stays");
    assert!(html.contains("value=\"in_work\" checked"), "the chosen status stays");
    assert!(html.contains("href=\"&#x2f;t&#x2f;demo/appeals/id-321392\">321392</a>"), "S1-17");
    assert!(html.contains("name=\"appeal_id\" value=\"id-321392\""), "S1-64");
    assert!(html.contains("aria-sort=\"descending\""));
    assert!(html.contains(">Применить<") && html.contains(">Очистить<"));
    assert!(html.contains("Настроить фильтры") && html.contains("name=\"visible\" value=\"urgent\""));
    assert!(html.contains("aria-current=\"page\">1<"), "numbered pages");
    assert!(html.contains("<optgroup label=\"Забайкальский край\">"), "municipalities under their region");
    assert!(html.contains("aria-current=\"page\">Обращения"), "the menu marks the section");
}

#[test]
fn an_empty_journal_says_so_and_errors_stand_beside_the_field() {
    let p: Vec<(String, String)> = vec![("number".into(), "12a".into())];
    let q = JournalQuery::from_pairs(&p, false);
    let errors = q.filter(RU.appeals).unwrap_err();
    let html = render("appeals/journal.html", journal_ctx(&q, vec![], &errors));
    assert!(html.contains("id=\"e-number\">Номер обращения — только цифры."), "{html}");
    assert!(html.contains(RU.appeals.nothing_found));
    let q = JournalQuery::from_pairs(&vec![], true);
    let html = render("appeals/journal.html", journal_ctx(&q, vec![], &FormErrors::default()));
    assert!(html.contains(RU.appeals.default_view_hint), "S1-15");
}

fn appeal(status: &str, label: &str, available: &[&str], holder: &str) -> Appeal {
    Appeal {
        id: "a-1".into(),
        number: 376,
        created_at: Some(prost_types::Timestamp { seconds: 1_608_890_000, nanos: 0 }),
        citizen: Some(AppealCitizen {
            full_name: "Тестов Тест".into(),
            email: "d.soldatova@onf.ru".into(),
            phone: "+7(917)561-89-18".into(),
        }),
        geography: Some(AppealGeography {
            source_address: "Новосибирская область".into(),
            federal_district: "Центральный федеральный округ".into(),
            region: "Москва".into(),
            municipality: "муниципальный округ Люблино".into(),
            address: "г Москва, ул Белореченская, д 12".into(),
            ..Default::default()
        }),
        executor_org: "РИК ОНФ".into(),
        topic: Some(AppealTopic {
            category_type: "ОГВ".into(),
            category: "Автомобильные дороги".into(),
            subcategory: "Среда для инвалидов".into(),
            ..Default::default()
        }),
        labels: vec!["federal".into()],
        source_system: "Ростелеком".into(),
        source_id: "3072039".into(),
        channel: "call_centre".into(),
        stream: "Прямая линия".into(),
        text: "Нужна помощь с дорогой".into(),
        status: status.into(),
        status_label: label.into(),
        holder_id: holder.into(),
        holder_name: if holder.is_empty() { String::new() } else { "Исполнитель Иван".into() },
        available_actions: available.iter().map(|a| a.to_string()).collect(),
        ..Default::default()
    }
}

fn card_ctx(a: &Appeal, failed: Option<&Failed>, message: Option<&str>) -> Value {
    let options = options();
    let (take, actions) = card::menu(&options, &a.available_actions, failed);
    let close_reasons: Vec<Value> = options
        .close_reasons
        .iter()
        .map(|o| context! { id => o.code.clone(), name => o.label.clone(), requires => o.requires.clone() })
        .collect();
    let timeline = vec![
        card::EntryView {
            id: "e1".into(),
            at: "25.12.2020 21:47".into(),
            author: "Исполнитель Иван".into(),
            kind: "comment".into(),
            summary: String::new(),
            text: "Дозвонился".into(),
            attachments: vec![],
            edits: vec![card::EditView { at: "25.12.2020 21:48".into(), previous_text: "Дозвонилс".into() }],
            editable: true,
        },
        card::EntryView {
            id: "e2".into(),
            at: "25.12.2020 21:50".into(),
            author: "Исполнитель Иван".into(),
            kind: "status_changed".into(),
            summary: "Новое → В работе".into(),
            text: String::new(),
            attachments: vec![],
            edits: vec![],
            editable: false,
        },
    ];
    context! {
        title => "Обращение № 376",
        active => "appeals",
        a => card::appeal_view(a, &options, "me", &Terms::defaults(&RU)),
        act_url => "/t/demo/appeals/a-1/act",
        take => take.map(|x| Value::from(Serde(x))),
        actions => Value::from(Serde(&actions)),
        close_reasons => close_reasons,
        postpone_reasons => Value::from(Serde(opts(&options.postpone_reasons))),
        rereview_reasons => Value::from(Serde(opts(&options.rereview_reasons))),
        orgs => Value::from(Serde(Vec::<Opt>::new())),
        executors => Value::from(Serde(Vec::<Opt>::new())),
        timeline => Value::from(Serde(&timeline)),
        comment => context! { text => "", errors => Value::from(Serde(FormErrors::default())), request_id => "r-1" },
        edit => None::<Value>,
        notice => None::<&str>,
        message => message,
        can_edit => false,
    }
}

// S1-18…S1-28: the header and every section of the seed's card.
#[test]
fn the_card_has_the_seed_sections() {
    let a = appeal("new", "Новое", &["take"], "");
    let html = render("appeals/card.html", card_ctx(&a, None, None));
    for words in [
        "Статус: <strong class=\"appeal-status\" data-status=\"new\">Новое</strong>",
        "Вернуться в журнал обращений",
        "Взять в работу карточку обращения",
        "Обращение № <span class=\"appeal-no\">376</span>",
        "Дата создания",
        "Дата дедлайна по исполнению</dt><dd class=\"deadline\">Не определена",
        "Информация о гражданине",
        "d.soldatova@onf.ru",
        "+7(917)561-89-18",
        "География",
        "Адрес источника</dt><dd>Новосибирская область",
        "Район</dt><dd>муниципальный округ Люблино",
        "Информация об исполнителе",
        "Суб. организация",
        "Решение исполнителя",
        "Ответ исполнителя",
        "Тематика обращения",
        "Тип категории</dt><dd>ОГВ",
        "Дополнительная информация",
        "Особые метки сообщения",
        "Федеральный уровень",
        "Система-источник</dt><dd>Ростелеком",
        "Идентификатор в системе-источнике</dt><dd>3072039",
        "Источник обращения",
        "Канал</dt><dd>Колл-центр",
        "Поток</dt><dd>Прямая линия",
        "Нужна помощь с дорогой",
        "Ход решения",
        "placeholder=\"Введите комментарий...\" data-enter-submit",
    ] {
        assert!(html.contains(words), "the card lacks «{words}»:\n{html}");
    }
    assert!(html.contains("25.12.2020"), "the creation date in the tenant's zone");
    assert!(!html.contains(RU.appeals.active_tasks), "nobody holds it");
    // S1-33: the author's comment offers «Изменить»; its history is kept.
    assert!(html.contains("?edit=e1#entry-e1\">Изменить"));
    assert!(html.contains("История изменений (1)") && html.contains("Дозвонилс"));
    assert!(html.contains("Новое → В работе"));
}

// S1-34…S1-36: the «Действие» menu shows only what cases allows; held by me: «Активные задачи не закрыты».
#[test]
fn the_action_menu_shows_the_available_actions() {
    let all =
        ["release", "mark_done", "request_close", "postpone", "request_rereview", "federal", "request_tech_support"];
    let a = appeal("in_work", "В работе", &all, "me");
    let html = render("appeals/card.html", card_ctx(&a, None, None));
    assert!(html.contains("Активные задачи не закрыты"));
    let menu = &html[html.find("id=\"s-actions\"").unwrap()..html.find("id=\"s-timeline\"").unwrap()];
    for label in [
        "На повторное рассмотрение",
        "Федеральный уровень",
        "Отметить исполнение",
        "Запрос в тех.поддержку",
        "Отметить невозможность исполнения",
        "Отметить отложенное решение",
        "Завершить работу над карточкой",
    ] {
        assert!(menu.contains(label), "menu lacks «{label}»");
    }
    assert!(!menu.contains("Принять") && !html.contains("class=\"primary take\""));
    assert!(menu.contains("data-requires=\"duplicate_number\""), "close reasons carry what they need");
    assert!(menu.contains("id=\"f-postpone-until\" name=\"until\" type=\"date\""), "S1-39: a calendar");

    let a = appeal("done_review", "Исполнено, на проверке у куратора", &["curator_accept", "curator_return"], "");
    let html = render("appeals/card.html", card_ctx(&a, None, None));
    assert!(html.contains(">Принять<") && html.contains("Вернуть на доработку"));
    assert!(!html.contains("Отметить исполнение"));
}

// A bad field stands beside the field with the typed text kept; a refusal stands above the card.
#[test]
fn refusals_keep_what_was_typed() {
    let a = appeal("in_work", "В работе", &["mark_done", "release"], "me");
    let mut errors = FormErrors::default();
    errors.field("solution", "Опишите, каким образом решено обращение.");
    let failed = Failed {
        action: "mark_done".into(),
        values: BTreeMap::from([("solution".into(), "  ".into()), ("answer".into(), "Ответ гражданину".into())]),
        errors,
    };
    let html = render("appeals/card.html", card_ctx(&a, Some(&failed), None));
    assert!(html.contains("id=\"action-mark_done\" open"));
    assert!(html.contains("id=\"e-mark_done-solution\">Опишите, каким образом решено обращение."), "{html}");
    assert!(html.contains(">Ответ гражданину</textarea>"));

    let a = appeal("in_work", "В работе", &[], "");
    let msg = "Вы уже работаете с обращением № 375. Завершите работу над ним.";
    let html = render("appeals/card.html", card_ctx(&a, None, Some(msg)));
    assert!(
        html.contains("class=\"error-summary appeal-refusal\" role=\"alert\"><p>Вы уже работаете с обращением № 375.")
    );
    assert!(html.contains(RU.appeals.no_actions));
}

#[test]
fn the_intake_form_renders_with_violations() {
    let mut form = AppealForm::blank();
    form.citizen_full_name = "Тестов Тест".into();
    form.text = "Текст обращения гражданина".into();
    let mut errors = FormErrors::default();
    errors.field("citizen_phone", "Укажите номер телефона.");
    errors.field("geography_region_id", "Выберите регион.");
    let g = geography();
    let ctx = context! {
        title => RU.appeals.new_title, active => "appeals", action => "/t/demo/appeals/new", back => "/t/demo/appeals",
        number => None::<i64>, editing => false, version => 0,
        form => Value::from(Serde(&form)), errors => Value::from(Serde(&errors)),
        channels => Value::from(Serde(opts(&options().channels))),
        labels => Value::from(Serde(opts(&options().labels))),
        districts => Value::from(Serde(g.groups("federal_district", ""))),
        regions => Value::from(Serde(g.groups("region", ""))),
        municipalities => Value::from(Serde(g.groups("municipality", ""))),
        category_types => Value::from(Serde(Vec::<super::Group>::new())),
        categories => Value::from(Serde(Vec::<super::Group>::new())),
        subcategories => Value::from(Serde(Vec::<super::Group>::new())),
        orgs => Value::from(Serde(vec![Opt { id: "o1".into(), name: "РИК ОНФ".into() }])),
    };
    let html = render("appeals/form.html", ctx);
    assert!(html.contains("id=\"e-citizen_phone\">Укажите номер телефона."));
    assert!(html.contains("id=\"e-geography_region_id\">Выберите регион."));
    assert!(html.contains("value=\"Тестов Тест\"") && html.contains("Текст обращения гражданина</textarea>"));
    assert!(html.contains(&format!("name=\"request_id\" value=\"{}\"", form.request_id)));
    assert!(html.contains("<option value=\"o1\">РИК ОНФ</option>"));
}
