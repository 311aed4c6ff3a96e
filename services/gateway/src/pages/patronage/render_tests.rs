//! The program, deviations and meetings templates rendered with
//! the contexts their handlers build (no services: the data is made here),
//! so a template that reads a missing value fails here, not on a page.
use minijinja::value::{Serde, Value};
use minijinja::{Value as V, context};
use opeka_proto::scheduler::{Occurrence, OccurrenceStatus, ReminderKind, SlotLoad};

use super::calendar::{self, Period, View};
use super::program::{self, SeriesForm};
use crate::strings::RU;
use crate::views::FormErrors;
use crate::views::tests::{BASE, render};

pub fn occurrence(id: &str, date: &str, time: &str, status: OccurrenceStatus, colour: &str) -> Occurrence {
    Occurrence {
        id: id.into(),
        series_id: "s-1".into(),
        citizen_id: "c-1".into(),
        kind: ReminderKind::Support as i32,
        description: format!("Напоминание {id}"),
        local_date: date.into(),
        local_time: time.into(),
        status: status as i32,
        colour: colour.into(),
        citizen_full_name: "Иванова Мария Петровна".into(),
        time_zone: "Europe/Moscow".into(),
        ..Default::default()
    }
}

pub fn sample_rows() -> Vec<calendar::Row> {
    [
        occurrence("o1", "2025-11-18", "09:00", OccurrenceStatus::Done, "green"),
        occurrence("o2", "2025-11-18", "18:30", OccurrenceStatus::Skipped, "red"),
        occurrence("o3", "2025-11-19", "09:00", OccurrenceStatus::NoReaction, "yellow"),
        occurrence("o4", "2025-11-20", "10:00", OccurrenceStatus::Planned, "blue"),
        occurrence("o5", "2025-11-21", "10:00", OccurrenceStatus::Paused, "black"),
    ]
    .iter()
    .map(|o| calendar::row(&RU, BASE, o))
    .collect()
}

pub fn card_program_ctx() -> V {
    let today = calendar::parse_date("2025-11-20").unwrap();
    let period = Period::new(View::Month, today);
    let nav = program::nav(&RU, &period, today, "/t/demo/citizens/c-1?tab=program&", "");
    let kinds: Vec<V> = calendar::kind_options(&RU)
        .into_iter()
        .map(|o| context! { id => o.id, name => o.name, checked => true })
        .collect();
    context! {
        title => RU.citizen_card_title,
        active => "citizens",
        tab => "program",
        c => context! { id => "c-1", full_name => "Иванова Мария Петровна", bot_activated => true, can_edit => true },
        curator_title => "Соц. куратор",
        notice => RU.notice_series_created_close,
        program => context! {
            nav => Value::from(Serde(&nav)),
            days => Value::from(Serde(calendar::by_day(&RU, sample_rows(), today))),
            unavailable => None::<&str>,
            kinds => kinds,
            legend => Value::from(Serde(calendar::legend(&RU))),
            events_url => "/t/demo/citizens/c-1/program/events",
            new_url => "/t/demo/citizens/c-1/program/new",
            time_zone => "Europe/Moscow",
        },
    }
}

pub fn form_ctx(form: &SeriesForm, errors: &FormErrors, edit: Option<V>, notice: Option<&str>) -> V {
    let frequencies = [
        ("once", RU.repeat_once),
        ("daily", RU.repeat_daily),
        ("weekly", RU.repeat_weekly),
        ("monthly", RU.repeat_monthly),
    ]
    .map(|(id, name)| crate::pages::common::Opt { id: id.into(), name: name.into() });
    let slot = program::slot_view(
        &RU,
        &SlotLoad {
            reminders: 1_202,
            capacity: 54_000,
            over_capacity: true,
            send_ahead_minutes: 30,
            bot_rate_per_second: 30,
        },
    );
    context! {
        title => if edit.is_some() { RU.series_edit_title } else { RU.series_new_title },
        active => "citizens",
        c => context! { id => "c-1", full_name => "Иванова Мария Петровна" },
        action => "/t/demo/citizens/c-1/program/new",
        back => "/t/demo/citizens/c-1?tab=program",
        slot_url => "/t/demo/citizens/c-1/program/slot-load",
        form => Value::from(Serde(form)),
        pause_rows => Value::from(Serde(form.pause_rows(1))),
        errors => Value::from(Serde(errors)),
        kinds => Value::from(Serde(calendar::kind_options(&RU))),
        frequencies => Value::from(Serde(&frequencies)),
        weekdays => Value::from(Serde(program::weekdays(&RU, form))),
        slot => Value::from(Serde(&slot)),
        notice => notice,
        edit => edit,
        time_zone => "Europe/Moscow",
    }
}

#[test]
fn the_program_tab_lists_the_period_with_markers() {
    let html = render("patronage/citizen_card.html", card_program_ctx());
    assert!(html.contains("data-calendar"), "the widget's mount point");
    assert!(
        html.contains("data-events=\"&#x2f;t&#x2f;demo&#x2f;citizens&#x2f;c-1&#x2f;program&#x2f;events\""),
        "{html}"
    );
    assert!(html.contains("Ноябрь 2025"));
    for colour in ["green", "red", "yellow", "blue", "black"] {
        assert!(html.contains(&format!("data-colour=\"{colour}\"")), "{colour} marker");
    }
    assert!(html.contains("Нет реакции") && html.contains("Приостановлено (исключение)"));
    assert!(html.contains("← Назад") && html.contains("Вперед →") && html.contains(">Сегодня<"));
    assert!(html.contains("fullcalendar&#x2f;all&#x2f;global.js") || html.contains("fullcalendar/all/global.js"));
}

#[test]
fn the_form_shows_violations_the_slot_load_and_keeps_input() {
    let mut form = SeriesForm::blank("2025-11-20", "09:00", "meeting");
    form.frequency = "weekly".into();
    form.weekdays = vec!["1".into(), "3".into()];
    form.count = "501".into();
    form.description = "Встреча в МФЦ".into();
    let mut errors = FormErrors::default();
    errors.field("count", "Не более 500 повторений.");
    let html = render("patronage/program_form.html", form_ctx(&form, &errors, None, None));
    assert!(html.contains("Создать задание"));
    assert!(html.contains("Сохранить и продолжить") && html.contains("Сохранить и закрыть"));
    assert!(html.contains("id=\"e-count\">Не более 500 повторений."), "the violation beside «count»");
    assert!(html.contains("value=\"501\""), "what was typed stays");
    assert!(html.contains("Встреча в МФЦ"));
    assert!(html.contains("name=\"request_id\" value=\"") && html.contains(&form.request_id));
    assert!(html.contains("1202 напоминания"), "the slot load");
    assert!(html.contains("slot-warning"), "the over-capacity warning");
    assert!(html.contains("value=\"1\" checked") && html.contains("value=\"3\" checked"), "weekdays kept");
}

#[test]
fn the_edit_form_offers_the_occurrence_and_delete() {
    let form = SeriesForm::blank("2025-11-20", "09:00", "support");
    let row = calendar::row(&RU, BASE, &occurrence("o4", "2025-11-20", "10:00", OccurrenceStatus::Planned, "blue"));
    let edit = context! {
        id => "s-1",
        rrule => "DTSTART;TZID=Europe/Moscow:20251120T090000\nRRULE:FREQ=DAILY;COUNT=5",
        last_date => "24.11.2025",
        time_zone => "Europe/Moscow",
        delete_url => "/t/demo/citizens/c-1/program/series/s-1/delete",
        occurrence => context! {
            row => Value::from(Serde(row)),
            editable => true,
            action => "/t/demo/citizens/c-1/program/occurrences/o4",
            form => context! { description => "", local_date => "2025-11-20", local_time => "10:00", paused => false },
            errors => Value::from(Serde(FormErrors::default())),
        },
    };
    let html = render("patronage/program_form.html", form_ctx(&form, &FormErrors::default(), Some(edit), Some("ok")));
    assert!(html.contains("Только это напоминание") && html.contains("Всё задание"));
    assert!(html.contains(">Изменить<") && html.contains("Удалить"));
    assert!(html.contains("Удалить только это напоминание"));
}

#[test]
fn deviations_and_meetings_pages_render() {
    let groups = super::deviations::by_citizen(sample_rows());
    let html = render(
        "patronage/deviations.html",
        context! {
            title => RU.deviations_title, active => "deviations",
            groups => Value::from(Serde(groups)), total => 5, unavailable => None::<&str>,
            curators => Value::from(Serde(Vec::<crate::pages::common::Opt>::new())), curator_id => "",
            curator_title => "Соц. куратор", legend => Value::from(Serde(calendar::legend(&RU))),
        },
    );
    assert!(html.contains("rowspan=\"5\"") && html.contains("Иванова Мария Петровна"));
    assert!(html.contains("последние 72 часа"));

    let today = calendar::parse_date("2025-11-20").unwrap();
    let period = Period::new(View::Week, today);
    let nav = program::nav(&RU, &period, today, "/t/demo/meetings?", "");
    let html = render(
        "patronage/meetings.html",
        context! {
            title => RU.menu_meetings, active => "meetings",
            nav => Value::from(Serde(&nav)),
            days => Value::from(Serde(calendar::by_day(&RU, sample_rows(), today))),
            unavailable => None::<&str>, legend => Value::from(Serde(calendar::legend(&RU))),
            events_url => "/t/demo/meetings/events",
            curators => Value::from(Serde(Vec::<crate::pages::common::Opt>::new())), curator_id => "",
            curator_title => "Соц. куратор", time_zone => "Europe/Moscow",
        },
    );
    assert!(html.contains("17.11.2025 – 23.11.2025"));
    assert!(html.contains("occurrence-citizen"), "meetings name the citizen");
    assert!(html.contains("aria-current=\"page\">Дата встречи с соц. куратором"), "the menu marks the page");
}
