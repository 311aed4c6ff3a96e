//! What the calendars of «Программа поддержки» and «Дата встречи с соц.
//! куратором» share: the period a view shows (month, week, day; «Назад»,
//! «Вперед», «Сегодня»), the reminder types and the status markers, and the
//! conversion of scheduler's occurrences into list rows and calendar events.
//! Pure functions only; the handlers live in `program.rs` and `meetings.rs`.
use chrono::{Datelike, Days, Months, NaiveDate};
use opeka_proto::scheduler::{Occurrence, OccurrenceStatus, ReminderKind};
use serde::Serialize;

use crate::Strings;
use crate::pages::common::Opt;

/// The reminder types in the seed's order (S0-39, S0-62): (form code, wire kind).
pub const KINDS: [(&str, ReminderKind); 4] = [
    ("support", ReminderKind::Support),
    ("info", ReminderKind::Info),
    ("meeting", ReminderKind::Meeting),
    ("curator_note", ReminderKind::CuratorNote),
];

pub fn kind_code(kind: i32) -> &'static str {
    KINDS.iter().find(|k| k.1 as i32 == kind).map(|k| k.0).unwrap_or_default()
}

pub fn kind_from_code(code: &str) -> Option<ReminderKind> {
    KINDS.iter().find(|k| k.0 == code).map(|k| k.1)
}

pub fn kind_label(t: &Strings, kind: i32) -> &'static str {
    match ReminderKind::try_from(kind).unwrap_or_default() {
        ReminderKind::Support => t.kind_support,
        ReminderKind::Info => t.kind_info,
        ReminderKind::Meeting => t.kind_meeting,
        ReminderKind::CuratorNote => t.kind_curator_note,
        ReminderKind::Unspecified => "",
    }
}

/// (code, label) of every type, for selects and filter checkboxes.
pub fn kind_options(t: &Strings) -> Vec<Opt> {
    KINDS.iter().map(|(code, k)| Opt { id: (*code).to_string(), name: kind_label(t, *k as i32).to_string() }).collect()
}

/// The kinds a filter names (`kind=support&kind=meeting`); unknown codes
/// are ignored and an empty result means every kind.
pub fn kinds_filter(codes: &[&str]) -> Vec<i32> {
    let mut kinds: Vec<i32> = codes.iter().filter_map(|c| kind_from_code(c)).map(|k| k as i32).collect();
    kinds.sort_unstable();
    kinds.dedup();
    kinds
}

/// One status marker: a colour, a shape and a word, so colour is never the
/// only signal (S0-71, S0-75…S0-78).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Marker {
    /// "blue" | "yellow" | "green" | "red" | "black" | "grey".
    pub colour: &'static str,
    /// "planned", "sent", "done", … (a CSS class and a test hook).
    pub status: &'static str,
    pub icon: &'static str,
    pub label: &'static str,
}

const COLOURS: [&str; 6] = ["blue", "yellow", "green", "red", "black", "grey"];

/// The marker of an occurrence. Scheduler's `colour` decides the colour
/// (it knows the grace period); the status gives the shape and the word.
pub fn marker(t: &Strings, status: i32, colour: &str) -> Marker {
    let (status, icon, label, fallback) = match OccurrenceStatus::try_from(status).unwrap_or_default() {
        OccurrenceStatus::Planned | OccurrenceStatus::Unspecified => ("planned", "◷", t.status_planned, "blue"),
        OccurrenceStatus::Sent => ("sent", "✉", t.status_sent, "blue"),
        OccurrenceStatus::Done => ("done", "✓", t.status_done, "green"),
        OccurrenceStatus::Skipped => ("skipped", "✕", t.status_skipped, "red"),
        OccurrenceStatus::NoReaction => ("no_reaction", "!", t.status_no_reaction, "yellow"),
        OccurrenceStatus::Paused => ("paused", "‖", t.status_paused, "black"),
        OccurrenceStatus::Missed => ("missed", "–", t.status_missed, "grey"),
        OccurrenceStatus::Notified => ("notified", "✉", t.status_notified, "blue"),
    };
    let colour = COLOURS.iter().find(|c| **c == colour).copied().unwrap_or(fallback);
    Marker { colour, status, icon, label }
}

/// The legend under the calendar, in the seed's order.
pub fn legend(t: &Strings) -> Vec<Marker> {
    [
        (OccurrenceStatus::Planned, "blue"),
        (OccurrenceStatus::NoReaction, "yellow"),
        (OccurrenceStatus::Done, "green"),
        (OccurrenceStatus::Skipped, "red"),
        (OccurrenceStatus::Paused, "black"),
        (OccurrenceStatus::Missed, "grey"),
    ]
    .into_iter()
    .map(|(s, c)| marker(t, s as i32, c))
    .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Month,
    Week,
    Day,
}

impl View {
    pub fn parse(code: &str) -> Self {
        match code {
            "week" => View::Week,
            "day" => View::Day,
            _ => View::Month,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            View::Month => "month",
            View::Week => "week",
            View::Day => "day",
        }
    }
}

/// The dates one view shows around an anchor date, and where «Назад» and
/// «Вперед» lead. `to` is exclusive, as ListOccurrences takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    pub view: View,
    pub anchor: NaiveDate,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub prev: NaiveDate,
    pub next: NaiveDate,
}

impl Period {
    pub fn new(view: View, anchor: NaiveDate) -> Self {
        match view {
            View::Month => {
                let from = anchor.with_day(1).unwrap_or(anchor);
                let to = from + Months::new(1);
                Period { view, anchor, from, to, prev: from - Months::new(1), next: to }
            }
            View::Week => {
                let from = anchor - Days::new(u64::from(anchor.weekday().num_days_from_monday()));
                let to = from + Days::new(7);
                Period { view, anchor, from, to, prev: from - Days::new(7), next: to }
            }
            View::Day => {
                let to = anchor + Days::new(1);
                Period { view, anchor, from: anchor, to, prev: anchor - Days::new(1), next: to }
            }
        }
    }

    /// «Ноябрь 2025», «17.11.2025 – 23.11.2025» or «20.11.2025, Четверг».
    pub fn title(&self, t: &Strings) -> String {
        match self.view {
            View::Month => format!("{} {}", t.months[self.from.month0() as usize], self.from.year()),
            View::Week => format!("{} – {}", dmy(self.from), dmy(self.to - Days::new(1))),
            View::Day => {
                format!("{}, {}", dmy(self.from), t.weekdays_full[self.from.weekday().num_days_from_monday() as usize])
            }
        }
    }
}

pub fn dmy(d: NaiveDate) -> String {
    d.format("%d.%m.%Y").to_string()
}

pub fn parse_date(s: &str) -> Option<NaiveDate> {
    // FullCalendar sends "2025-11-01T00:00:00+03:00"; the date part is ours.
    NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d").ok()
}

/// One occurrence as a list row and as the form link.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub id: String,
    pub series_id: String,
    pub citizen_id: String,
    pub citizen: String,
    pub kind: &'static str,
    pub kind_label: &'static str,
    pub description: String,
    pub iso_date: String,
    pub date: String,
    pub time: String,
    pub time_zone: String,
    pub marker: Marker,
    pub detached: bool,
    /// The reminder's form (S0-79).
    pub url: String,
}

/// `base` is the tenant's path prefix (`/t/demo`).
pub fn row(t: &Strings, base: &str, o: &Occurrence) -> Row {
    let date = parse_date(&o.local_date).map(dmy).unwrap_or_else(|| o.local_date.clone());
    Row {
        id: o.id.clone(),
        series_id: o.series_id.clone(),
        citizen_id: o.citizen_id.clone(),
        citizen: o.citizen_full_name.clone(),
        kind: kind_code(o.kind),
        kind_label: kind_label(t, o.kind),
        description: o.description.clone(),
        iso_date: o.local_date.clone(),
        date,
        time: o.local_time.clone(),
        time_zone: o.time_zone.clone(),
        marker: marker(t, o.status, &o.colour),
        detached: o.detached,
        url: occurrence_url(base, o),
    }
}

pub fn occurrence_url(base: &str, o: &Occurrence) -> String {
    format!(
        "{base}/citizens/{}/program/series/{}?occurrence={}&date={}",
        o.citizen_id,
        o.series_id,
        o.id,
        // A local date is digits and dashes; anything else stays out of the link.
        parse_date(&o.local_date).map(|d| d.to_string()).unwrap_or_default()
    )
}

/// The rows of one day in the server-rendered list.
#[derive(Debug, Serialize)]
pub struct Day {
    pub iso_date: String,
    pub title: String,
    pub today: bool,
    pub rows: Vec<Row>,
}

/// Rows grouped by local date, in the order scheduler gave them (by due time).
pub fn by_day(t: &Strings, rows: Vec<Row>, today: NaiveDate) -> Vec<Day> {
    let mut days: Vec<Day> = Vec::new();
    for r in rows {
        match days.last_mut() {
            Some(d) if d.iso_date == r.iso_date => d.rows.push(r),
            _ => {
                let date = parse_date(&r.iso_date);
                let title = match date {
                    Some(d) => format!("{}, {}", dmy(d), t.weekdays_full[d.weekday().num_days_from_monday() as usize]),
                    None => r.date.clone(),
                };
                days.push(Day { iso_date: r.iso_date.clone(), title, today: date == Some(today), rows: vec![r] });
            }
        }
    }
    days
}

/// One calendar event as the widget reads it (FullCalendar's event input:
/// unknown fields land in `extendedProps`). Tests read `colour` here.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub id: String,
    pub title: String,
    /// Local "YYYY-MM-DDTHH:MM:00" in the series' time zone, without an
    /// offset: the calendar shows the citizen's own clock time.
    pub start: String,
    #[serde(rename = "allDay")]
    pub all_day: bool,
    pub url: String,
    pub colour: &'static str,
    pub status: &'static str,
    pub status_label: &'static str,
    pub icon: &'static str,
    pub kind: &'static str,
    pub kind_label: &'static str,
    pub citizen: String,
    pub citizen_id: String,
    pub series_id: String,
    pub description: String,
    pub time_zone: String,
    /// The entry's tint in the marker's colour and its ink (the widget's
    /// own fields); the marker inside keeps the strong colour and shape.
    pub color: &'static str,
    #[serde(rename = "contrastColor")]
    pub contrast_color: &'static str,
}

/// The tint of a marker colour; the page's ink reads well on every one.
fn tint(colour: &str) -> &'static str {
    match colour {
        "yellow" => "#fff1b8",
        "green" => "#dcf1e3",
        "red" => "#fadbd8",
        "black" => "#dedede",
        "grey" => "#eef0f2",
        _ => "#dde9f8",
    }
}

pub fn event(row: Row, with_citizen: bool) -> Event {
    let start = if row.time.len() == 5 { format!("{}T{}:00", row.iso_date, row.time) } else { row.iso_date.clone() };
    let title = if with_citizen && !row.citizen.is_empty() {
        format!("{} — {}", row.citizen, row.description)
    } else {
        row.description.clone()
    };
    Event {
        color: tint(row.marker.colour),
        contrast_color: "#1d2733",
        id: row.id,
        title,
        start,
        all_day: row.time.len() != 5,
        url: row.url,
        colour: row.marker.colour,
        status: row.marker.status,
        status_label: row.marker.label,
        icon: row.marker.icon,
        kind: row.kind,
        kind_label: row.kind_label,
        citizen: row.citizen,
        citizen_id: row.citizen_id,
        series_id: row.series_id,
        description: row.description,
        time_zone: row.time_zone,
    }
}

/// Russian plural: 1 напоминание, 2 напоминания, 5 напоминаний (English: 1 / many).
pub fn plural(t: &Strings, n: u32, forms: [&'static str; 3]) -> &'static str {
    if t.lang != "ru" {
        return if n == 1 { forms[0] } else { forms[1] };
    }
    match (n % 10, n % 100) {
        (1, r) if r != 11 => forms[0],
        (2..=4, r) if !(12..=14).contains(&r) => forms[1],
        _ => forms[2],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strings::RU;

    fn d(s: &str) -> NaiveDate {
        parse_date(s).unwrap()
    }

    // S0-61: «Назад» / «Вперед» move by the view's period.
    #[test]
    fn periods_of_each_view() {
        let p = Period::new(View::Month, d("2025-01-31"));
        assert_eq!(
            (p.from, p.to, p.prev, p.next),
            (d("2025-01-01"), d("2025-02-01"), d("2024-12-01"), d("2025-02-01"))
        );
        assert_eq!(p.title(&RU), "Январь 2025");
        // 2025-11-20 is a Thursday: the week runs Monday to Sunday.
        let p = Period::new(View::Week, d("2025-11-20"));
        assert_eq!(
            (p.from, p.to, p.prev, p.next),
            (d("2025-11-17"), d("2025-11-24"), d("2025-11-10"), d("2025-11-24"))
        );
        assert_eq!(p.title(&RU), "17.11.2025 – 23.11.2025");
        let p = Period::new(View::Day, d("2024-02-29"));
        assert_eq!(
            (p.from, p.to, p.prev, p.next),
            (d("2024-02-29"), d("2024-03-01"), d("2024-02-28"), d("2024-03-01"))
        );
        assert_eq!(p.title(&RU), "29.02.2024, Четверг");
        assert_eq!(View::parse("nonsense"), View::Month);
    }

    // S0-75…S0-78, S0-71: colour from scheduler, shape and word from the status.
    #[test]
    fn markers_carry_colour_icon_and_word() {
        let m = marker(&RU, OccurrenceStatus::Planned as i32, "blue");
        assert_eq!((m.colour, m.status, m.label), ("blue", "planned", "Запланировано"));
        let m = marker(&RU, OccurrenceStatus::Sent as i32, "yellow");
        assert_eq!(m.colour, "yellow", "scheduler's colour wins once the grace period is over");
        let m = marker(&RU, OccurrenceStatus::Done as i32, "");
        assert_eq!((m.colour, m.label), ("green", "Выполнено"));
        let m = marker(&RU, OccurrenceStatus::Skipped as i32, "purple");
        assert_eq!(m.colour, "red", "an unknown colour falls back to the status's own");
        let m = marker(&RU, OccurrenceStatus::Paused as i32, "black");
        assert_eq!((m.icon, m.label), ("‖", "Приостановлено (исключение)"));
        let colours: Vec<&str> = legend(&RU).iter().map(|m| m.colour).collect();
        assert_eq!(colours, ["blue", "yellow", "green", "red", "black", "grey"]);
        let icons: std::collections::HashSet<&str> = legend(&RU).iter().map(|m| m.icon).collect();
        assert_eq!(icons.len(), 6, "every legend entry has its own shape");
    }

    #[test]
    fn kinds_round_trip_and_filter() {
        for (code, k) in KINDS {
            assert_eq!(kind_code(k as i32), code);
            assert_eq!(kind_from_code(code), Some(k));
        }
        assert_eq!(kind_label(&RU, ReminderKind::Meeting as i32), "Дата встречи с соц. куратором");
        assert_eq!(kinds_filter(&["meeting", "bogus", "support", "meeting"]), vec![1, 3]);
        assert!(kinds_filter(&[]).is_empty());
    }

    #[test]
    fn occurrences_become_rows_days_and_events() {
        let o = Occurrence {
            id: "o1".into(),
            series_id: "s1".into(),
            citizen_id: "c1".into(),
            kind: ReminderKind::Support as i32,
            description: "Получить справку".into(),
            local_date: "2025-11-20".into(),
            local_time: "09:30".into(),
            status: OccurrenceStatus::Planned as i32,
            colour: "blue".into(),
            citizen_full_name: "Иванова Мария".into(),
            time_zone: "Asia/Kamchatka".into(),
            ..Default::default()
        };
        let r = row(&RU, "/t/demo", &o);
        assert_eq!(r.url, "/t/demo/citizens/c1/program/series/s1?occurrence=o1&date=2025-11-20");
        assert_eq!((r.date.as_str(), r.time.as_str(), r.kind_label), ("20.11.2025", "09:30", "Меры поддержки"));
        let days = by_day(&RU, vec![r.clone(), r.clone()], d("2025-11-20"));
        assert_eq!(days.len(), 1);
        assert_eq!(days[0].title, "20.11.2025, Четверг");
        assert!(days[0].today);
        let e = event(r, true);
        assert_eq!(e.start, "2025-11-20T09:30:00");
        assert_eq!(e.title, "Иванова Мария — Получить справку");
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["colour"], "blue");
        assert_eq!(json["allDay"], false);
    }

    #[test]
    fn russian_plurals() {
        let f = RU.reminders_plural;
        let got: Vec<&str> = [1, 2, 5, 11, 12, 21, 22, 25, 101, 111].iter().map(|n| plural(&RU, *n, f)).collect();
        assert_eq!(
            got,
            [
                "напоминание",
                "напоминания",
                "напоминаний",
                "напоминаний",
                "напоминаний",
                "напоминание",
                "напоминания",
                "напоминаний",
                "напоминание",
                "напоминаний"
            ]
        );
    }
}
