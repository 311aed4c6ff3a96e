//! «Программа поддержки» (S0-58…S0-80, S0-97): the card tab with its
//! calendar and the period's list, the calendar's JSON, the «Создать
//! задание» form with the bot's load in the chosen slot, a reminder's form
//! («Изменить» the whole series or one occurrence, «Удалить»). Scheduler
//! owns the rules (limits, who may touch which citizen); the gateway only
//! turns forms into requests and violations back into messages.
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::Query;
use chrono::{Days, NaiveDate};
use minijinja::context;
use minijinja::value::{Serde, Value};
use opeka_proto::cases::Citizen;
use opeka_proto::scheduler::{
    CreateSeriesRequest, DeleteSeriesRequest, Frequency, GetSeriesRequest, GetSlotLoadRequest, ListOccurrencesRequest,
    Occurrence, OccurrenceStatus, Pause, Recurrence, Series, SlotLoad, UpdateOccurrenceRequest, UpdateSeriesRequest,
    Weekday,
};
use serde::{Deserialize, Serialize};
use tonic::Code;

use super::calendar::{self, Period, View};
use super::citizens::citizen;
use crate::pages::common::{self, Confirm, Page, checked, http, is_form_error, trimmed, uuid};
use crate::session::{Auth, AuthForm};
use crate::terms::Terms;
use crate::views::FormErrors;
use crate::{AppState, Strings, tenancy};

/// The longest period the calendar's JSON answers for (a year view and a bit).
const MAX_PERIOD_DAYS: i64 = 400;
/// The form's fields, as the template names them (violations of the
/// scheduler's proto paths are mapped onto these by `form_field`).
const FORM_FIELDS: &[&str] = &[
    "kind",
    "description",
    "frequency",
    "interval",
    "weekdays",
    "start_date",
    "count",
    "until_date",
    "time_of_day",
    "pauses",
];
const OCCURRENCE_FIELDS: &[&str] = &["description", "local_date", "local_time", "paused"];

fn card_base(auth: &Auth, citizen_id: &str) -> String {
    format!("{}/citizens/{citizen_id}", tenancy::base(&auth.tenant))
}

/// The card's program tab at `date`, with a notice.
fn program_url(auth: &Auth, citizen_id: &str, date: &str, notice: &str) -> String {
    let date = calendar::parse_date(date).map(|d| format!("&date={d}")).unwrap_or_default();
    format!("{}?tab=program{date}&notice={notice}", card_base(auth, citizen_id))
}

/// Today in the tenant's time zone.
pub fn today(state: &AppState, terms: &Terms) -> NaiveDate {
    state.clock.now().with_timezone(&terms.tz()).date_naive()
}

// ------------------------------------------------------------ the card tab

/// `view=…&date=…` links of «Назад», «Сегодня», «Вперед» and the view switch.
#[derive(Serialize)]
pub struct Nav {
    pub view: &'static str,
    pub date: String,
    pub title: String,
    pub prev: String,
    pub next: String,
    pub today: String,
    pub month: String,
    pub week: String,
    pub day: String,
}

/// `prefix` ends with `?` or `&`; `extra` (filters) starts with `&` or is empty.
pub fn nav(t: &Strings, p: &Period, today: NaiveDate, prefix: &str, extra: &str) -> Nav {
    let link = |view: View, date: NaiveDate| format!("{prefix}view={}&date={date}{extra}", view.code());
    Nav {
        view: p.view.code(),
        date: p.anchor.to_string(),
        title: p.title(t),
        prev: link(p.view, p.prev),
        next: link(p.view, p.next),
        today: link(p.view, today),
        month: link(View::Month, p.anchor),
        week: link(View::Week, p.anchor),
        day: link(View::Day, p.anchor),
    }
}

/// The rows of a period from scheduler, or the words to show instead when
/// scheduler is away (the card stays usable).
pub async fn period_rows(
    state: &AppState,
    auth: &Auth,
    msg: ListOccurrencesRequest,
) -> Result<Result<Vec<calendar::Row>, &'static str>, Response> {
    let base = tenancy::base(&auth.tenant);
    match state.scheduler.clone().list_occurrences(auth.req(msg)).await {
        Ok(r) => Ok(Ok(r.into_inner().occurrences.iter().map(|o| calendar::row(state.strings(), &base, o)).collect())),
        Err(status) if matches!(status.code(), Code::Unavailable | Code::DeadlineExceeded) => {
            tracing::warn!(code = ?status.code(), message = status.message(), "scheduler unavailable");
            Ok(Err(state.strings().scheduler_unavailable))
        }
        Err(status) => Err(state.grpc_error(auth, status).await),
    }
}

/// What the program's and the calendars' links carry in their query (each page reads its own).
#[serde_with::apply(String => #[serde(deserialize_with = "trimmed")])]
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CalendarQuery {
    pub view: String,
    pub date: String,
    pub time: String,
    /// Event kinds: for the calendars, each value may list several (`kind=a,b`); a new task takes
    /// the first.
    pub kind: Vec<String>,
    pub start: String,
    pub end: String,
    pub curator_id: String,
    pub occurrence: String,
    pub notice: String,
    pub start_date: String,
    pub time_of_day: String,
}

impl CalendarQuery {
    pub fn kinds(&self) -> Vec<&str> {
        self.kind.iter().flat_map(|v| v.split(',')).collect()
    }
}

/// The card's program tab (`program` in `patronage/citizen_card.html`).
#[derive(Serialize)]
pub struct ProgramTab {
    nav: Nav,
    days: Vec<calendar::Day>,
    unavailable: Option<&'static str>,
    kinds: Vec<KindChoice>,
    legend: Vec<calendar::Marker>,
    events_url: String,
    new_url: String,
    time_zone: String,
}

/// A kind of reminder in the tab's filter, ticked when its reminders are shown.
#[derive(Serialize)]
struct KindChoice {
    #[serde(flatten)]
    kind: common::Opt,
    checked: bool,
}

/// S0-58…S0-61, S0-75…S0-78: the tab's context — toolbar, filter, the
/// calendar's data attributes, and the period's list for pages without JS.
pub async fn tab(
    state: &AppState,
    auth: &Auth,
    c: &Citizen,
    q: &CalendarQuery,
    terms: &Terms,
) -> Result<ProgramTab, Response> {
    let t = state.strings();
    let today = today(state, terms);
    let view = View::parse(&q.view);
    let anchor = calendar::parse_date(&q.date).unwrap_or(today);
    let period = Period::new(view, anchor);
    let codes: Vec<&str> = q.kinds();
    let filter = calendar::kinds_filter(&codes);
    let kind_codes: Vec<&str> = filter.iter().map(|k| calendar::kind_code(*k)).collect();
    let msg = ListOccurrencesRequest {
        citizen_id: c.id.clone(),
        from_date: period.from.to_string(),
        to_date: period.to.to_string(),
        kinds: filter,
        curator_id: String::new(),
        ..Default::default()
    };
    let (rows, unavailable) = match period_rows(state, auth, msg).await? {
        Ok(rows) => (rows, None),
        Err(words) => (Vec::new(), Some(words)),
    };
    let card = card_base(auth, &c.id);
    let extra: String = kind_codes.iter().map(|k| format!("&kind={k}")).collect();
    let nav = nav(t, &period, today, &format!("{card}?tab=program&"), &extra);
    let kinds = calendar::kind_options(t)
        .into_iter()
        .map(|o| KindChoice { checked: kind_codes.is_empty() || kind_codes.contains(&o.id.as_str()), kind: o })
        .collect();
    Ok(ProgramTab {
        nav,
        days: calendar::by_day(t, rows, today),
        unavailable,
        kinds,
        legend: calendar::legend(t),
        events_url: format!("{card}/program/events"),
        new_url: format!("{card}/program/new"),
        time_zone: terms.time_zone.clone(),
    })
}

// ------------------------------------------------------------ calendar data

fn json_error(status: StatusCode, message: &str) -> Response {
    let mut res = (status, Json(serde_json::json!({ "error": message }))).into_response();
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// The period a calendar asks for (`start`, `end` as FullCalendar sends
/// them); None for a missing, reversed or overlong one.
pub fn requested_period(q: &CalendarQuery) -> Option<(NaiveDate, NaiveDate)> {
    let from = calendar::parse_date(&q.start)?;
    let to = calendar::parse_date(&q.end)?;
    (to > from && (to - from).num_days() <= MAX_PERIOD_DAYS).then_some((from, to))
}

pub fn bad_period(t: &Strings) -> Response {
    json_error(StatusCode::BAD_REQUEST, t.form_malformed)
}

/// The events of a period as JSON; a failed call becomes a JSON error with
/// the HTTP status of the gRPC code (the widget shows the page's own notice).
pub async fn events_json(state: &AppState, auth: &Auth, msg: ListOccurrencesRequest, with_citizen: bool) -> Page {
    let t = state.strings();
    let base = tenancy::base(&auth.tenant);
    match state.scheduler.clone().list_occurrences(auth.req(msg)).await {
        Ok(r) => {
            let events: Vec<calendar::Event> = r
                .into_inner()
                .occurrences
                .iter()
                .map(|o| calendar::event(calendar::row(t, &base, o), with_citizen))
                .collect();
            let mut res = Json(events).into_response();
            res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            Ok(res)
        }
        Err(status) => {
            let http = opeka_platform::error::http_status(status.code());
            let message = match status.code() {
                Code::Unavailable | Code::DeadlineExceeded => t.scheduler_unavailable,
                Code::PermissionDenied => t.forbidden,
                Code::NotFound => t.not_found,
                Code::Unauthenticated => t.session_expired,
                _ if is_form_error(&status) => t.form_malformed,
                _ => {
                    tracing::error!(code = ?status.code(), message = status.message(), "calendar data failed");
                    t.internal
                }
            };
            Ok(json_error(http, message))
        }
    }
}

/// GET `…/citizens/{id}/program/events?start=…&end=…&kind=…`: the calendar
/// data of one citizen (S0-58, S0-60, S0-75…S0-78).
pub async fn events(
    State(state): State<AppState>,
    auth: Auth,
    Path((_, id)): Path<(String, String)>,
    Query(q): Query<CalendarQuery>,
) -> Page {
    let Some(id) = uuid(&id) else { return Err(json_error(StatusCode::NOT_FOUND, state.strings().not_found)) };
    let Some((from, to)) = requested_period(&q) else { return Err(bad_period(state.strings())) };
    let codes: Vec<&str> = q.kinds();
    let msg = ListOccurrencesRequest {
        citizen_id: id,
        from_date: from.to_string(),
        to_date: to.to_string(),
        kinds: calendar::kinds_filter(&codes),
        curator_id: String::new(),
        ..Default::default()
    };
    events_json(&state, &auth, msg, false).await
}

// ------------------------------------------------------------ the form

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct PauseRow {
    pub from_date: String,
    pub to_date: String,
}

/// What the «Создать задание» form holds, as typed.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SeriesForm {
    /// Idempotency key: a repeated post of one form makes one series.
    pub request_id: String,
    pub kind: String,
    pub description: String,
    /// `once`, `daily`, `weekly` or `monthly`.
    pub frequency: String,
    pub interval: String,
    /// "1" (Monday) … "7" (Sunday).
    pub weekdays: Vec<String>,
    pub start_date: String,
    /// `count` or `until`.
    pub end: String,
    pub count: String,
    pub until_date: String,
    pub time_of_day: String,
    pub pauses: Vec<PauseRow>,
}

/// The «Создать задание» form as posted: `SeriesForm`'s fields, the exception rows as two parallel
/// lists, and the button pressed.
#[serde_with::apply(String => #[serde(deserialize_with = "trimmed")])]
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SeriesPost {
    /// `close` for «Сохранить и закрыть», `add_pause` for another exception row.
    pub action: String,
    pub request_id: String,
    pub kind: String,
    pub description: String,
    pub frequency: String,
    pub interval: String,
    pub weekdays: Vec<String>,
    pub start_date: String,
    pub end: String,
    pub count: String,
    pub until_date: String,
    pub time_of_day: String,
    pub pause_from: Vec<String>,
    pub pause_to: Vec<String>,
}

impl From<SeriesPost> for SeriesForm {
    fn from(p: SeriesPost) -> Self {
        let row = |v: &[String], i: usize| v.get(i).map(|s| s.trim().to_string()).unwrap_or_default();
        let pauses = (0..p.pause_from.len().max(p.pause_to.len()))
            .map(|i| PauseRow { from_date: row(&p.pause_from, i), to_date: row(&p.pause_to, i) })
            .filter(|r| !(r.from_date.is_empty() && r.to_date.is_empty()))
            .collect();
        Self {
            request_id: uuid(&p.request_id).unwrap_or_else(new_request_id),
            kind: p.kind,
            description: p.description,
            frequency: p.frequency,
            interval: p.interval,
            weekdays: p.weekdays,
            start_date: p.start_date,
            end: p.end,
            count: p.count,
            until_date: p.until_date,
            time_of_day: p.time_of_day,
            pauses,
        }
    }
}

const FREQUENCIES: [(&str, Frequency); 4] = [
    ("once", Frequency::Once),
    ("daily", Frequency::Daily),
    ("weekly", Frequency::Weekly),
    ("monthly", Frequency::Monthly),
];

fn new_request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl SeriesForm {
    /// An empty form for a new task; a clicked slot brings its date and time.
    pub fn blank(date: &str, time: &str, kind: &str) -> Self {
        Self {
            request_id: new_request_id(),
            kind: if calendar::kind_from_code(kind).is_some() { kind.into() } else { "support".into() },
            description: String::new(),
            frequency: "once".into(),
            interval: "1".into(),
            weekdays: Vec::new(),
            start_date: calendar::parse_date(date).map(|d| d.to_string()).unwrap_or_default(),
            end: "count".into(),
            count: String::new(),
            until_date: String::new(),
            time_of_day: chrono::NaiveTime::parse_from_str(time, "%H:%M")
                .map(|t| t.format("%H:%M").to_string())
                .unwrap_or_default(),
            pauses: Vec::new(),
        }
    }

    pub fn from_series(s: &Series) -> Self {
        let r = s.recurrence.clone().unwrap_or_default();
        let frequency = FREQUENCIES.iter().find(|f| f.1 as i32 == r.frequency).map(|f| f.0).unwrap_or("once");
        Self {
            request_id: new_request_id(),
            kind: calendar::kind_code(s.kind).into(),
            description: s.description.clone(),
            frequency: frequency.into(),
            interval: if r.interval == 0 { "1".into() } else { r.interval.to_string() },
            weekdays: r.weekdays.iter().filter(|w| (1..=7).contains(*w)).map(|w| w.to_string()).collect(),
            start_date: s.start_date.clone(),
            end: if r.until_date.is_empty() { "count".into() } else { "until".into() },
            count: if r.count == 0 || frequency == "once" { String::new() } else { r.count.to_string() },
            until_date: r.until_date.clone(),
            time_of_day: s.time_of_day.clone(),
            pauses: s
                .pauses
                .iter()
                .map(|p| PauseRow { from_date: p.from_date.clone(), to_date: p.to_date.clone() })
                .collect(),
        }
    }

    /// S0-73: «Сохранить и продолжить» keeps type, repetition, dates, time
    /// and exceptions for the next task; only the description is cleared,
    /// and the next post is a new request.
    pub fn next(&self) -> Self {
        Self { request_id: new_request_id(), description: String::new(), ..self.clone() }
    }

    /// The rows the form shows: every exception and one empty row to add more.
    pub fn pause_rows(&self, extra: usize) -> Vec<PauseRow> {
        let mut rows = self.pauses.clone();
        rows.extend(std::iter::repeat_n(PauseRow::default(), extra.max(1)));
        rows
    }

    /// The series the form describes, or the fields to fix. Only what the
    /// gateway can tell without the rules (numbers, the obvious blanks);
    /// limits such as 500 repetitions are scheduler's (S0-70).
    pub fn parts(&self, t: &Strings) -> Result<Parts, FormErrors> {
        let mut errors = FormErrors::default();
        let kind = calendar::kind_from_code(&self.kind);
        if kind.is_none() {
            errors.field("kind", t.kind_required);
        }
        if self.description.trim().is_empty() {
            errors.field("description", t.description_required);
        }
        if self.start_date.is_empty() {
            errors.field("start_date", t.date_required);
        }
        if self.time_of_day.is_empty() {
            errors.field("time_of_day", t.time_required);
        }
        let frequency = FREQUENCIES.iter().find(|f| f.0 == self.frequency).map(|f| f.1).unwrap_or(Frequency::Once);
        let mut number = |field: &str, value: &str| -> u32 {
            if value.is_empty() {
                return 0;
            }
            value.parse::<u32>().unwrap_or_else(|_| {
                errors.field(field, t.whole_number);
                0
            })
        };
        let repeating = frequency != Frequency::Once;
        let interval = if repeating { number("interval", &self.interval) } else { 0 };
        let (count, until_date) = match (repeating, self.end.as_str()) {
            // «Не повторять»: exactly one reminder (S0-66).
            (false, _) => (1, String::new()),
            (true, "until") => (0, self.until_date.clone()),
            (true, _) => (number("count", &self.count), String::new()),
        };
        let weekdays = if frequency == Frequency::Weekly {
            let mut w: Vec<i32> = self
                .weekdays
                .iter()
                .filter_map(|d| d.parse::<i32>().ok())
                .filter(|d| Weekday::try_from(*d).is_ok_and(|w| w != Weekday::Unspecified))
                .collect();
            w.sort_unstable();
            w.dedup();
            w
        } else {
            Vec::new()
        };
        let pauses = self
            .pauses
            .iter()
            .map(|p| {
                // One date is a single day (S0-71).
                let from = if p.from_date.is_empty() { p.to_date.clone() } else { p.from_date.clone() };
                let to = if p.to_date.is_empty() { from.clone() } else { p.to_date.clone() };
                Pause { from_date: from, to_date: to }
            })
            .collect();
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Parts {
            kind: kind.map(|k| k as i32).unwrap_or_default(),
            description: self.description.clone(),
            start_date: self.start_date.clone(),
            time_of_day: self.time_of_day.clone(),
            recurrence: Recurrence { frequency: frequency as i32, interval, weekdays, count, until_date },
            pauses,
        })
    }

    pub fn create_request(&self, t: &Strings, citizen_id: &str) -> Result<CreateSeriesRequest, FormErrors> {
        let p = self.parts(t)?;
        Ok(CreateSeriesRequest {
            citizen_id: citizen_id.to_string(),
            kind: p.kind,
            description: p.description,
            start_date: p.start_date,
            time_of_day: p.time_of_day,
            // Empty: the tenant's zone (the citizen's, once cases keeps one).
            time_zone: String::new(),
            recurrence: Some(p.recurrence),
            pauses: p.pauses,
            request_id: self.request_id.clone(),
        })
    }

    pub fn update_request(&self, t: &Strings, id: &str, time_zone: &str) -> Result<UpdateSeriesRequest, FormErrors> {
        let p = self.parts(t)?;
        Ok(UpdateSeriesRequest {
            id: id.to_string(),
            kind: p.kind,
            description: p.description,
            start_date: p.start_date,
            time_of_day: p.time_of_day,
            time_zone: time_zone.to_string(),
            recurrence: Some(p.recurrence),
            pauses: p.pauses,
        })
    }
}

/// A checked form, ready to become a create or an update request.
pub struct Parts {
    kind: i32,
    description: String,
    start_date: String,
    time_of_day: String,
    recurrence: Recurrence,
    pauses: Vec<Pause>,
}

/// Where a scheduler violation goes on the form: `recurrence.count` beside
/// «count», `pauses[1].to_date` beside the exceptions; None: above the form.
pub fn form_field(proto_field: &str) -> Option<&'static str> {
    let head = proto_field.split('[').next().unwrap_or_default();
    let head = head.strip_prefix("recurrence.").unwrap_or(head);
    let head = match head {
        "frequency" => "frequency",
        "interval" => "interval",
        "weekdays" => "weekdays",
        "count" => "count",
        "until_date" => "until_date",
        "pauses" => "pauses",
        "kind" => "kind",
        "description" => "description",
        "start_date" => "start_date",
        "time_of_day" | "time_zone" => "time_of_day",
        _ => return None,
    };
    FORM_FIELDS.iter().find(|f| **f == head).copied()
}

/// Scheduler's refusal spread over the series form.
pub fn series_errors(status: &tonic::Status) -> FormErrors {
    let mut errors = FormErrors::default();
    let violations = opeka_platform::error::violations(status);
    if violations.is_empty() {
        errors.general.push(status.message().to_string());
    }
    for v in violations {
        match form_field(&v.field) {
            Some(f) => errors.field(f, v.description),
            None => errors.general.push(v.description),
        }
    }
    errors
}

// ------------------------------------------------------------ slot load

#[derive(Serialize, Default)]
pub struct SlotView {
    pub known: bool,
    pub text: String,
    pub over_capacity: bool,
    pub warning: String,
}

/// «В это время бот уже отправляет N напоминаний…» and the warning when one
/// more would not arrive on time.
pub fn slot_view(t: &Strings, l: &SlotLoad) -> SlotView {
    let text = if l.reminders == 0 {
        t.slot_load_none.to_string()
    } else {
        format!(
            "{} {} {}; {} {} {} {} {} {}.",
            t.slot_load_some,
            l.reminders,
            calendar::plural(t, l.reminders, t.reminders_plural),
            t.slot_load_window,
            l.send_ahead_minutes,
            calendar::plural(t, l.send_ahead_minutes, t.minutes_plural),
            t.slot_load_capacity,
            l.capacity,
            calendar::plural(t, l.capacity, t.messages_plural),
        )
    };
    SlotView {
        known: true,
        text,
        over_capacity: l.over_capacity,
        warning: if l.over_capacity { t.slot_over_capacity.to_string() } else { String::new() },
    }
}

async fn slot_load(state: &AppState, auth: &Auth, date: &str, time: &str) -> SlotView {
    let (Some(date), Ok(time)) = (calendar::parse_date(date), chrono::NaiveTime::parse_from_str(time, "%H:%M")) else {
        return SlotView::default();
    };
    let msg = GetSlotLoadRequest {
        local_date: date.to_string(),
        local_time: time.format("%H:%M").to_string(),
        time_zone: String::new(),
    };
    match state.scheduler.clone().get_slot_load(auth.req(msg)).await {
        Ok(l) => slot_view(state.strings(), l.get_ref()),
        // The hint is a help, not a condition: without it the form still works.
        Err(status) => {
            tracing::info!(code = ?status.code(), message = status.message(), "slot load unavailable");
            SlotView::default()
        }
    }
}

/// GET `…/program/slot-load?start_date=…&time_of_day=…`: the hint alone,
/// for htmx to swap in when the date or the time changes.
pub async fn slot_fragment(State(state): State<AppState>, auth: Auth, Query(q): Query<CalendarQuery>) -> Page {
    let slot = slot_load(&state, &auth, &q.start_date, &q.time_of_day).await;
    Ok(state.page(
        &auth.tenant,
        Some(&auth),
        StatusCode::OK,
        "patronage/program_slot.html",
        context! { slot => Value::from(Serde(&slot)) },
    ))
}

// ------------------------------------------------------------ create

enum FormMode<'a> {
    New,
    Edit { series: &'a Series, occurrence: Option<&'a Occurrence>, occurrence_form: OccurrenceForm },
}

#[serde_with::apply(String => #[serde(deserialize_with = "trimmed")])]
#[derive(Serialize, Deserialize, Default, Clone)]
#[serde(default)]
pub struct OccurrenceForm {
    description: String,
    local_date: String,
    local_time: String,
    #[serde(deserialize_with = "checked")]
    paused: bool,
    /// `cancel` removes the occurrence.
    #[serde(skip_serializing)]
    action: String,
    /// The series and the day the form was opened from, to show it again.
    #[serde(skip_serializing)]
    series_id: String,
    #[serde(skip_serializing)]
    date: String,
}

struct Render<'a> {
    form: &'a SeriesForm,
    errors: FormErrors,
    occurrence_errors: FormErrors,
    extra_pause_rows: usize,
    notice: Option<&'static str>,
}

impl<'a> Render<'a> {
    fn new(form: &'a SeriesForm) -> Self {
        Self {
            form,
            errors: FormErrors::default(),
            occurrence_errors: FormErrors::default(),
            extra_pause_rows: 1,
            notice: None,
        }
    }
}

async fn render_form(
    state: &AppState,
    auth: &Auth,
    c: &Citizen,
    mode: FormMode<'_>,
    r: Render<'_>,
    status: StatusCode,
) -> Page {
    let t = state.strings();
    let terms = state.terms(auth).await;
    let card = card_base(auth, &c.id);
    let slot = slot_load(state, auth, &r.form.start_date, &r.form.time_of_day).await;
    let frequencies = [
        ("once", t.repeat_once),
        ("daily", t.repeat_daily),
        ("weekly", t.repeat_weekly),
        ("monthly", t.repeat_monthly),
    ]
    .map(|(id, name)| common::Opt { id: id.into(), name: name.into() });
    let back_date = if r.form.start_date.is_empty() { String::new() } else { format!("&date={}", r.form.start_date) };
    let (title, action, edit) = match &mode {
        FormMode::New => (t.series_new_title, format!("{card}/program/new"), None),
        FormMode::Edit { series, occurrence, occurrence_form } => {
            let occ = occurrence.map(|o| {
                let row = calendar::row(t, &tenancy::base(&auth.tenant), o);
                let editable = matches!(
                    OccurrenceStatus::try_from(o.status).unwrap_or_default(),
                    OccurrenceStatus::Planned | OccurrenceStatus::Paused | OccurrenceStatus::Unspecified
                );
                context! {
                    row => Value::from(Serde(row)),
                    editable => editable,
                    action => format!("{card}/program/occurrences/{}", o.id),
                    form => Value::from(Serde(occurrence_form)),
                    errors => Value::from(Serde(&r.occurrence_errors)),
                }
            });
            let edit = context! {
                id => series.id.clone(),
                rrule => series.rrule.clone(),
                last_date => calendar::parse_date(&series.last_date).map(calendar::dmy),
                time_zone => series.time_zone.clone(),
                delete_url => format!("{card}/program/series/{}/delete", series.id),
                occurrence => occ,
            };
            (t.series_edit_title, format!("{card}/program/series/{}", series.id), Some(edit))
        }
    };
    let page = FormPage {
        title,
        active: "citizens",
        c: context! { id => c.id.clone(), full_name => c.full_name.clone() },
        action,
        back: format!("{card}?tab=program{back_date}"),
        slot_url: format!("{card}/program/slot-load"),
        form: r.form,
        pause_rows: r.form.pause_rows(r.extra_pause_rows),
        errors: &r.errors,
        kinds: calendar::kind_options(t),
        frequencies,
        weekdays: weekdays(t, r.form),
        slot,
        notice: r.notice,
        edit,
        time_zone: terms.time_zone.clone(),
    };
    Ok(state.page(&auth.tenant, Some(auth), status, "patronage/program_form.html", page))
}

/// `patronage/program_form.html`.
#[derive(Serialize)]
struct FormPage<'a> {
    title: &'static str,
    active: &'static str,
    c: Value,
    action: String,
    back: String,
    slot_url: String,
    form: &'a SeriesForm,
    pause_rows: Vec<PauseRow>,
    errors: &'a FormErrors,
    kinds: Vec<common::Opt>,
    frequencies: [common::Opt; 4],
    weekdays: Vec<WeekdayChoice>,
    slot: SlotView,
    notice: Option<&'static str>,
    edit: Option<Value>,
    time_zone: String,
}

/// A weekday's checkbox on the form («Пн» … «Вс»; `code` "1" is Monday).
#[derive(Serialize)]
pub struct WeekdayChoice {
    code: String,
    short: &'static str,
    full: &'static str,
    checked: bool,
}

pub fn weekdays(t: &Strings, form: &SeriesForm) -> Vec<WeekdayChoice> {
    let days = t.weekdays_short.iter().zip(t.weekdays_full.iter()).enumerate();
    days.map(|(i, (&short, &full))| {
        let code = (i + 1).to_string();
        WeekdayChoice { checked: form.weekdays.contains(&code), code, short, full }
    })
    .collect()
}

/// A citizen whose program may be changed by this user, or the answer.
async fn program_citizen(state: &AppState, auth: &Auth, id: &str) -> Result<Citizen, Response> {
    let c = citizen(state, auth, id).await?;
    if !c.bot_activated {
        // S0-38: the program opens once the citizen has activated the bot.
        return Err(state.error_page(&auth.tenant, Some(auth), StatusCode::CONFLICT, state.strings().tab_needs_bot));
    }
    if !c.can_edit {
        return Err(common::forbidden(state, auth));
    }
    Ok(c)
}

/// S0-59: «Добавить» or a click on a free slot (`date`, `time`) opens the form.
pub async fn new_form(
    State(state): State<AppState>,
    auth: Auth,
    Path((_, id)): Path<(String, String)>,
    Query(q): Query<CalendarQuery>,
) -> Page {
    let c = program_citizen(&state, &auth, &id).await?;
    let mut form = SeriesForm::blank(&q.date, &q.time, q.kind.first().map_or("", |k| k.trim()));
    if form.start_date.is_empty() {
        form.start_date = today(&state, &state.terms(&auth).await).to_string();
    }
    render_form(&state, &auth, &c, FormMode::New, Render::new(&form), StatusCode::OK).await
}

/// S0-62…S0-74: saves the task; «Сохранить и продолжить» keeps the form
/// open for the next one, «Сохранить и закрыть» returns to the calendar.
pub async fn create(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    AuthForm { auth, mut form }: AuthForm<SeriesPost>,
) -> Page {
    let c = program_citizen(&state, &auth, &id).await?;
    let t = state.strings();
    let action = std::mem::take(&mut form.action);
    let form = SeriesForm::from(form);
    if action == "add_pause" {
        let r = Render { extra_pause_rows: 2, ..Render::new(&form) };
        return render_form(&state, &auth, &c, FormMode::New, r, StatusCode::OK).await;
    }
    let msg = match form.create_request(t, &c.id) {
        Ok(m) => m,
        Err(errors) => {
            let r = Render { errors, ..Render::new(&form) };
            return render_form(&state, &auth, &c, FormMode::New, r, StatusCode::BAD_REQUEST).await;
        }
    };
    state
        .submit(
            &auth,
            state.scheduler.clone().create_series(auth.req(msg)),
            async |s| {
                tracing::info!(citizen_id = %c.id, series_id = %s.id, "reminder series created");
                if action == "close" {
                    return Ok(
                        Redirect::to(&program_url(&auth, &c.id, &s.start_date, "series_created")).into_response()
                    );
                }
                let next = form.next();
                let r = Render { notice: Some(t.notice_series_created), ..Render::new(&next) };
                render_form(&state, &auth, &c, FormMode::New, r, StatusCode::OK).await
            },
            async |status| {
                let r = Render { errors: series_errors(&status), ..Render::new(&form) };
                render_form(&state, &auth, &c, FormMode::New, r, http(&status)).await
            },
        )
        .await
}

// ------------------------------------------------------------ edit, delete

/// The series `sid` of citizen `c`, or the answer.
async fn series_of(state: &AppState, auth: &Auth, c: &Citizen, sid: &str) -> Result<Series, Response> {
    let Some(sid) = uuid(sid) else { return Err(common::not_found(state, auth)) };
    match state.scheduler.clone().get_series(auth.req(GetSeriesRequest { id: sid })).await {
        Ok(s) if s.get_ref().citizen_id == c.id => Ok(s.into_inner()),
        Ok(_) => Err(common::not_found(state, auth)),
        Err(status) => Err(state.grpc_error(auth, status).await),
    }
}

/// The occurrence `oid` on local `date` (scheduler lists by period; the
/// link of a calendar entry carries both).
async fn occurrence_on(state: &AppState, auth: &Auth, c: &Citizen, oid: &str, date: &str) -> Option<Occurrence> {
    let oid = uuid(oid)?;
    let date = calendar::parse_date(date)?;
    let msg = ListOccurrencesRequest {
        citizen_id: c.id.clone(),
        from_date: date.to_string(),
        to_date: (date + Days::new(1)).to_string(),
        kinds: Vec::new(),
        curator_id: String::new(),
        ..Default::default()
    };
    let list = state.scheduler.clone().list_occurrences(auth.req(msg)).await.ok()?.into_inner();
    list.occurrences.into_iter().find(|o| o.id == oid)
}

fn occurrence_form(o: &Occurrence) -> OccurrenceForm {
    OccurrenceForm {
        description: if o.detached { o.description.clone() } else { String::new() },
        local_date: o.local_date.clone(),
        local_time: o.local_time.clone(),
        paused: o.status == OccurrenceStatus::Paused as i32,
        ..OccurrenceForm::default()
    }
}

/// S0-79: a click on a reminder opens its form.
pub async fn edit_form(
    State(state): State<AppState>,
    auth: Auth,
    Path((_, id, sid)): Path<(String, String, String)>,
    Query(q): Query<CalendarQuery>,
) -> Page {
    let c = citizen(&state, &auth, &id).await?;
    let series = series_of(&state, &auth, &c, &sid).await?;
    let occurrence = occurrence_on(&state, &auth, &c, &q.occurrence, &q.date).await;
    let form = SeriesForm::from_series(&series);
    let notice = notice(state.strings(), &q.notice);
    let mode = FormMode::Edit {
        series: &series,
        occurrence: occurrence.as_ref(),
        occurrence_form: occurrence.as_ref().map(occurrence_form).unwrap_or_default(),
    };
    render_form(&state, &auth, &c, mode, Render { notice, ..Render::new(&form) }, StatusCode::OK).await
}

fn notice(t: &Strings, code: &str) -> Option<&'static str> {
    match code {
        "occurrence_updated" => Some(t.notice_occurrence_updated),
        "series_updated" => Some(t.notice_series_updated),
        _ => None,
    }
}

/// S0-79: «Изменить» replaces the series from now on.
pub async fn update(
    State(state): State<AppState>,
    Path((_, id, sid)): Path<(String, String, String)>,
    AuthForm { auth, mut form }: AuthForm<SeriesPost>,
) -> Page {
    let c = program_citizen(&state, &auth, &id).await?;
    let series = series_of(&state, &auth, &c, &sid).await?;
    let action = std::mem::take(&mut form.action);
    let form = SeriesForm::from(form);
    let mode = || FormMode::Edit { series: &series, occurrence: None, occurrence_form: OccurrenceForm::default() };
    if action == "add_pause" {
        let r = Render { extra_pause_rows: 2, ..Render::new(&form) };
        return render_form(&state, &auth, &c, mode(), r, StatusCode::OK).await;
    }
    let msg = match form.update_request(state.strings(), &series.id, &series.time_zone) {
        Ok(m) => m,
        Err(errors) => {
            let r = Render { errors, ..Render::new(&form) };
            return render_form(&state, &auth, &c, mode(), r, StatusCode::BAD_REQUEST).await;
        }
    };
    state
        .submit(
            &auth,
            state.scheduler.clone().update_series(auth.req(msg)),
            async |s| {
                tracing::info!(series_id = %s.id, "reminder series updated");
                Redirect::to(&program_url(&auth, &c.id, &s.start_date, "series_updated"))
            },
            async |status| {
                let r = Render { errors: series_errors(&status), ..Render::new(&form) };
                render_form(&state, &auth, &c, mode(), r, http(&status)).await
            },
        )
        .await
}

/// One occurrence: a new date, time or text, a pause, or its removal.
pub async fn update_occurrence(
    State(state): State<AppState>,
    Path((_, id, oid)): Path<(String, String, String)>,
    AuthForm { auth, form: typed }: AuthForm<OccurrenceForm>,
) -> Page {
    let c = program_citizen(&state, &auth, &id).await?;
    let Some(oid) = uuid(&oid) else { return Err(common::not_found(&state, &auth)) };
    let cancel = typed.action == "cancel";
    let (series_id, opened_on) = (typed.series_id.clone(), typed.date.clone());
    let msg = UpdateOccurrenceRequest {
        id: oid.clone(),
        description: typed.description.clone(),
        local_date: typed.local_date.clone(),
        local_time: typed.local_time.clone(),
        paused: typed.paused,
        cancel,
    };
    let typed_date = typed.local_date.clone();
    state
        .submit(
            &auth,
            state.scheduler.clone().update_occurrence(auth.req(msg)),
            async |o| {
                if o.citizen_id != c.id {
                    // Scheduler checked the caller; a foreign id in this card's path is a broken link.
                    return Err(common::not_found(&state, &auth));
                }
                tracing::info!(occurrence_id = %o.id, cancelled = cancel, "reminder occurrence updated");
                let date = if o.local_date.is_empty() { typed_date } else { o.local_date };
                Ok(Redirect::to(&program_url(&auth, &c.id, &date, "occurrence_updated")))
            },
            async |status| {
                let series = series_of(&state, &auth, &c, &series_id).await?;
                let occurrence = occurrence_on(&state, &auth, &c, &oid, &opened_on).await;
                let series_form = SeriesForm::from_series(&series);
                let mode = FormMode::Edit { series: &series, occurrence: occurrence.as_ref(), occurrence_form: typed };
                let r = Render {
                    occurrence_errors: FormErrors::from_status(&status, OCCURRENCE_FIELDS),
                    ..Render::new(&series_form)
                };
                render_form(&state, &auth, &c, mode, r, http(&status)).await
            },
        )
        .await
}

/// S0-80: «Удалить», after a confirmation.
pub async fn delete_confirm(
    State(state): State<AppState>,
    auth: Auth,
    Path((_, id, sid)): Path<(String, String, String)>,
) -> Page {
    let c = program_citizen(&state, &auth, &id).await?;
    let series = series_of(&state, &auth, &c, &sid).await?;
    let t = state.strings();
    let card = card_base(&auth, &c.id);
    let confirm = Confirm {
        title: t.action_delete,
        active: "citizens",
        question: t.series_delete_question,
        subject: &format!("{}: {}", calendar::kind_label(t, series.kind), series.description),
        note: t.series_delete_note,
        action: &format!("{card}/program/series/{}/delete", series.id),
        confirm_label: t.delete_confirm,
        danger: true,
        cancel_href: &format!("{card}/program/series/{}", series.id),
    };
    Ok(state.page(&auth.tenant, Some(&auth), StatusCode::OK, "confirm.html", confirm))
}

pub async fn delete(
    State(state): State<AppState>,
    Path((_, id, sid)): Path<(String, String, String)>,
    AuthForm { auth, .. }: AuthForm<crate::pages::NoFields>,
) -> Page {
    let c = program_citizen(&state, &auth, &id).await?;
    let series = series_of(&state, &auth, &c, &sid).await?;
    if let Err(status) =
        state.scheduler.clone().delete_series(auth.req(DeleteSeriesRequest { id: series.id.clone() })).await
    {
        return Err(state.grpc_error(&auth, status).await);
    }
    tracing::info!(series_id = %series.id, "reminder series deleted");
    Ok(Redirect::to(&program_url(&auth, &c.id, &series.start_date, "series_deleted")).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strings::RU;

    fn pairs(v: &[(&str, &str)]) -> SeriesPost {
        serde_html_form::from_str(&serde_urlencoded::to_string(v).unwrap()).unwrap()
    }

    fn query(v: &[(&str, &str)]) -> CalendarQuery {
        serde_html_form::from_str(&serde_urlencoded::to_string(v).unwrap()).unwrap()
    }

    // S0-62, S0-65, S0-68, S0-70…S0-72: a weekly task with an end date and a pause.
    #[test]
    fn a_weekly_form_becomes_a_create_request() {
        let rid = "0195f3a4-0000-7000-8000-000000000001";
        let p = pairs(&[
            ("request_id", rid),
            ("kind", "meeting"),
            ("description", "  Встреча в центре  "),
            ("frequency", "weekly"),
            ("interval", "2"),
            ("weekdays", "5"),
            ("weekdays", "1"),
            ("weekdays", "9"),
            ("start_date", "2025-11-03"),
            ("end", "until"),
            ("count", "7"),
            ("until_date", "2099-12-31"),
            ("time_of_day", "10:30"),
            ("pause_from", "2025-12-29"),
            ("pause_to", "2026-01-08"),
            ("pause_from", "2026-02-23"),
            ("pause_to", ""),
            ("pause_from", ""),
            ("pause_to", ""),
        ]);
        let f = SeriesForm::from(p);
        assert_eq!(f.pauses.len(), 2, "empty exception rows are dropped");
        let r = f.create_request(&RU, "c-1").unwrap();
        assert_eq!(r.citizen_id, "c-1");
        assert_eq!(r.request_id, rid);
        assert_eq!(r.kind, opeka_proto::scheduler::ReminderKind::Meeting as i32);
        assert_eq!(r.description, "Встреча в центре");
        assert_eq!((r.start_date.as_str(), r.time_of_day.as_str()), ("2025-11-03", "10:30"));
        let rec = r.recurrence.unwrap();
        assert_eq!(rec.frequency, Frequency::Weekly as i32);
        assert_eq!(rec.interval, 2);
        assert_eq!(rec.weekdays, vec![1, 5], "sorted, and a day that does not exist is dropped");
        assert_eq!((rec.count, rec.until_date.as_str()), (0, "2099-12-31"), "the chosen end only");
        assert_eq!(
            r.pauses,
            vec![
                Pause { from_date: "2025-12-29".into(), to_date: "2026-01-08".into() },
                Pause { from_date: "2026-02-23".into(), to_date: "2026-02-23".into() },
            ]
        );
    }

    // S0-66: «Не повторять» is one reminder whatever else the form holds.
    #[test]
    fn once_is_a_single_reminder() {
        let p = pairs(&[
            ("kind", "curator_note"),
            ("description", "Позвонить"),
            ("frequency", "once"),
            ("interval", "x"),
            ("weekdays", "3"),
            ("start_date", "2025-11-03"),
            ("end", "count"),
            ("count", "abc"),
            ("time_of_day", "09:00"),
        ]);
        let r = SeriesForm::from(p).create_request(&RU, "c").unwrap();
        let rec = r.recurrence.unwrap();
        assert_eq!((rec.frequency, rec.interval, rec.count), (Frequency::Once as i32, 0, 1));
        assert!(rec.weekdays.is_empty());
        assert!(uuid(&r.request_id).is_some(), "a form without a key gets one");
    }

    // S0-70: the count goes to scheduler as typed (its limit is scheduler's);
    // what is not a number is refused beside its field.
    #[test]
    fn counts_and_blanks() {
        let p = pairs(&[
            ("kind", "support"),
            ("description", "Текст"),
            ("frequency", "daily"),
            ("interval", ""),
            ("start_date", "2025-11-03"),
            ("end", "count"),
            ("count", "501"),
            ("time_of_day", "09:00"),
        ]);
        let rec = SeriesForm::from(p).create_request(&RU, "c").unwrap().recurrence.unwrap();
        assert_eq!((rec.interval, rec.count), (0, 501));

        let p =
            pairs(&[("kind", "x"), ("frequency", "monthly"), ("interval", "два"), ("end", "count"), ("count", "-1")]);
        let e = SeriesForm::from(p).create_request(&RU, "c").unwrap_err();
        let fields: Vec<&str> = e.fields.keys().map(String::as_str).collect();
        assert_eq!(fields, ["count", "description", "interval", "kind", "start_date", "time_of_day"]);
        assert_eq!(e.fields["interval"], RU.whole_number);
    }

    // S0-73: «Сохранить и продолжить» keeps everything but the description.
    #[test]
    fn the_next_form_keeps_all_but_the_text() {
        let p = pairs(&[
            ("request_id", "0195f3a4-0000-7000-8000-000000000001"),
            ("kind", "info"),
            ("description", "Вопрос"),
            ("frequency", "monthly"),
            ("interval", "3"),
            ("start_date", "2025-01-31"),
            ("end", "count"),
            ("count", "12"),
            ("time_of_day", "18:45"),
            ("pause_from", "2025-05-01"),
        ]);
        let f = SeriesForm::from(p);
        let n = f.next();
        assert_eq!(n.description, "");
        assert_ne!(n.request_id, f.request_id, "the next task is a new request");
        assert_eq!(SeriesForm { description: "Вопрос".into(), request_id: f.request_id.clone(), ..n }, f);
    }

    #[test]
    fn a_series_fills_the_edit_form() {
        let s = Series {
            id: "s".into(),
            kind: opeka_proto::scheduler::ReminderKind::Info as i32,
            description: "Текст".into(),
            start_date: "2025-11-03".into(),
            time_of_day: "09:15".into(),
            recurrence: Some(Recurrence {
                frequency: Frequency::Weekly as i32,
                interval: 0,
                weekdays: vec![2, 4],
                count: 0,
                until_date: "2026-06-30".into(),
            }),
            pauses: vec![Pause { from_date: "2025-12-31".into(), to_date: "2026-01-02".into() }],
            ..Default::default()
        };
        let f = SeriesForm::from_series(&s);
        assert_eq!((f.kind.as_str(), f.frequency.as_str(), f.interval.as_str()), ("info", "weekly", "1"));
        assert_eq!(f.weekdays, ["2", "4"]);
        assert_eq!((f.end.as_str(), f.until_date.as_str()), ("until", "2026-06-30"));
        let back = f.update_request(&RU, "s", "Asia/Kamchatka").unwrap();
        assert_eq!(back.recurrence.unwrap().weekdays, vec![2, 4]);
        assert_eq!(back.time_zone, "Asia/Kamchatka");
        assert_eq!(back.pauses, s.pauses);
    }

    #[test]
    fn blank_forms_take_the_clicked_slot() {
        let f = SeriesForm::blank("2025-11-20T10:30:00+03:00", "10:30", "meeting");
        assert_eq!(
            (f.start_date.as_str(), f.time_of_day.as_str(), f.kind.as_str()),
            ("2025-11-20", "10:30", "meeting")
        );
        let f = SeriesForm::blank("garbage", "25:99", "nope");
        assert_eq!((f.start_date.as_str(), f.time_of_day.as_str(), f.kind.as_str()), ("", "", "support"));
        assert_eq!(f.pause_rows(1).len(), 1);
    }

    // Violations land beside the input that caused them.
    #[test]
    fn scheduler_violations_map_onto_the_form() {
        assert_eq!(form_field("recurrence.count"), Some("count"));
        assert_eq!(form_field("recurrence.until_date"), Some("until_date"));
        assert_eq!(form_field("recurrence.weekdays[0]"), Some("weekdays"));
        assert_eq!(form_field("pauses[1].to_date"), Some("pauses"));
        assert_eq!(form_field("time_of_day"), Some("time_of_day"));
        assert_eq!(form_field("citizen_id"), None);
        let st: tonic::Status = opeka_platform::AppError::Invalid(vec![
            opeka_platform::FieldViolation::new("recurrence.count", "Не более 500 повторений."),
            opeka_platform::FieldViolation::new("citizen_id", "Бот не активирован."),
        ])
        .into();
        let e = series_errors(&st);
        assert_eq!(e.fields["count"], "Не более 500 повторений.");
        assert_eq!(e.general, ["Бот не активирован."]);
    }

    // FullCalendar asks with offsets; the dates are what scheduler takes.
    #[test]
    fn calendar_periods_are_checked() {
        let q = query(&[("start", "2025-10-27T00:00:00+03:00"), ("end", "2025-12-08T00:00:00+03:00")]);
        let (from, to) = requested_period(&q).unwrap();
        assert_eq!((from.to_string(), to.to_string()), ("2025-10-27".into(), "2025-12-08".into()));
        assert!(requested_period(&query(&[("start", "2025-12-08"), ("end", "2025-10-27")])).is_none());
        assert!(requested_period(&query(&[("start", "2025-01-01"), ("end", "2027-01-01")])).is_none());
        assert!(requested_period(&query(&[("start", "soon")])).is_none());
    }

    #[test]
    fn the_slot_hint_counts_in_words() {
        let l = SlotLoad {
            reminders: 1_202,
            capacity: 54_000,
            over_capacity: false,
            send_ahead_minutes: 30,
            bot_rate_per_second: 30,
        };
        let v = slot_view(&RU, &l);
        assert_eq!(
            v.text,
            "В это время бот уже отправляет 1202 напоминания; за 30 минут успевает отправить до 54000 сообщений."
        );
        assert!(!v.over_capacity && v.warning.is_empty());
        let v = slot_view(&RU, &SlotLoad { reminders: 0, over_capacity: true, ..l });
        assert_eq!(v.text, RU.slot_load_none);
        assert_eq!(v.warning, RU.slot_over_capacity);
    }
}
