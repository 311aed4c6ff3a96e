//! Wire ↔ domain ↔ row conversions for the scheduler, so handlers stay
//! short: requests become parsed drafts (or field violations), rows become
//! messages, a stored series becomes its rule again.
use chrono::{DateTime, NaiveDate, Utc, Weekday};
use chrono_tz::Tz;
use opeka_platform::error::{AppError, Violations};
use opeka_proto::scheduler as pb;
use uuid::Uuid;

use crate::domain::recurrence::{End, Frequency, MAX_COUNT, Pause, Rule};
use crate::domain::{self, Kind, SeriesDraft, Status, TenantSettings};
use crate::store::SettingsRow;
use crate::store::occurrences::OccurrenceView;
use crate::store::series::{SeriesRow, SeriesValues};
use crate::strings as s;

pub use opeka_platform::wire::{id, opt_id, opt_text, opt_ts, opt_uuid, ts};

// ------------------------------------------------------------------- kinds

pub fn kind(v: i32) -> Option<Kind> {
    match pb::ReminderKind::try_from(v).ok()? {
        pb::ReminderKind::Support => Some(Kind::Support),
        pb::ReminderKind::Info => Some(Kind::Info),
        pb::ReminderKind::Meeting => Some(Kind::Meeting),
        pb::ReminderKind::CuratorNote => Some(Kind::CuratorNote),
        pb::ReminderKind::Unspecified => None,
    }
}

pub fn kind_pb(k: Kind) -> pb::ReminderKind {
    match k {
        Kind::Support => pb::ReminderKind::Support,
        Kind::Info => pb::ReminderKind::Info,
        Kind::Meeting => pb::ReminderKind::Meeting,
        Kind::CuratorNote => pb::ReminderKind::CuratorNote,
    }
}

fn kind_of(stored: &str) -> i32 {
    Kind::parse(stored).map(kind_pb).unwrap_or(pb::ReminderKind::Unspecified) as i32
}

/// The kinds a list is filtered by (unknown values are ignored).
pub fn kinds(values: &[i32]) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = values.iter().filter_map(|v| kind(*v)).map(Kind::as_str).collect();
    out.dedup();
    out
}

pub fn status_pb(st: Status) -> pb::OccurrenceStatus {
    match st {
        Status::Planned => pb::OccurrenceStatus::Planned,
        Status::Paused => pb::OccurrenceStatus::Paused,
        Status::Sent => pb::OccurrenceStatus::Sent,
        Status::Done => pb::OccurrenceStatus::Done,
        Status::Skipped => pb::OccurrenceStatus::Skipped,
        Status::NoReaction => pb::OccurrenceStatus::NoReaction,
        Status::Missed => pb::OccurrenceStatus::Missed,
        Status::Notified => pb::OccurrenceStatus::Notified,
        Status::Cancelled => pb::OccurrenceStatus::Unspecified,
    }
}

pub fn answer(v: i32) -> Option<domain::Answer> {
    match pb::Answer::try_from(v).ok()? {
        pb::Answer::Done => Some(domain::Answer::Done),
        pb::Answer::Skipped => Some(domain::Answer::Skipped),
        pb::Answer::Unspecified => None,
    }
}

pub fn answer_pb(a: Option<domain::Answer>) -> pb::Answer {
    match a {
        Some(domain::Answer::Done) => pb::Answer::Done,
        Some(domain::Answer::Skipped) => pb::Answer::Skipped,
        None => pb::Answer::Unspecified,
    }
}

// ------------------------------------------------------------------ series

/// The fields of a create or update request.
pub struct SeriesFields<'a> {
    pub kind: i32,
    pub description: &'a str,
    pub start_date: &'a str,
    pub time_of_day: &'a str,
    pub time_zone: &'a str,
    pub recurrence: Option<&'a pb::Recurrence>,
    pub pauses: &'a [pb::Pause],
}

impl<'a> From<&'a pb::CreateSeriesRequest> for SeriesFields<'a> {
    fn from(r: &'a pb::CreateSeriesRequest) -> Self {
        Self {
            kind: r.kind,
            description: &r.description,
            start_date: &r.start_date,
            time_of_day: &r.time_of_day,
            time_zone: &r.time_zone,
            recurrence: r.recurrence.as_ref(),
            pauses: &r.pauses,
        }
    }
}

impl<'a> From<&'a pb::UpdateSeriesRequest> for SeriesFields<'a> {
    fn from(r: &'a pb::UpdateSeriesRequest) -> Self {
        Self {
            kind: r.kind,
            description: &r.description,
            start_date: &r.start_date,
            time_of_day: &r.time_of_day,
            time_zone: &r.time_zone,
            recurrence: r.recurrence.as_ref(),
            pauses: &r.pauses,
        }
    }
}

fn weekday(v: i32) -> Option<Weekday> {
    Some(match pb::Weekday::try_from(v).ok()? {
        pb::Weekday::Monday => Weekday::Mon,
        pb::Weekday::Tuesday => Weekday::Tue,
        pb::Weekday::Wednesday => Weekday::Wed,
        pb::Weekday::Thursday => Weekday::Thu,
        pb::Weekday::Friday => Weekday::Fri,
        pb::Weekday::Saturday => Weekday::Sat,
        pb::Weekday::Sunday => Weekday::Sun,
        pb::Weekday::Unspecified => return None,
    })
}

fn weekday_pb(w: Weekday) -> pb::Weekday {
    match w {
        Weekday::Mon => pb::Weekday::Monday,
        Weekday::Tue => pb::Weekday::Tuesday,
        Weekday::Wed => pb::Weekday::Wednesday,
        Weekday::Thu => pb::Weekday::Thursday,
        Weekday::Fri => pb::Weekday::Friday,
        Weekday::Sat => pb::Weekday::Saturday,
        Weekday::Sun => pb::Weekday::Sunday,
    }
}

fn required<T>(
    errs: &mut Violations,
    field: &str,
    v: &str,
    empty: &str,
    parse: fn(&str) -> Result<T, String>,
) -> Option<T> {
    match opt_text(v) {
        None => {
            errs.add(field, empty);
            None
        }
        Some(v) => errs.check(field, parse(v)),
    }
}

/// Parses a series form: every own violation at once, then the rule's
/// (`Rule::validate`: count ≤ 500, until ≤ 2099-12-31, pauses in order, …).
pub fn series_draft(f: SeriesFields<'_>, tenant_tz: Tz) -> Result<SeriesDraft, AppError> {
    let mut errs = Violations::new();
    let kind = kind(f.kind);
    if kind.is_none() {
        errs.add("kind", s::KIND_REQUIRED);
    }
    let description = errs.check("description", domain::description(f.description));
    let start_date = required(&mut errs, "start_date", f.start_date, s::DATE_REQUIRED, domain::date);
    let time_of_day = required(&mut errs, "time_of_day", f.time_of_day, s::TIME_INVALID, domain::time);
    let tz = match opt_text(f.time_zone) {
        None => Some(tenant_tz),
        Some(z) => errs.check("time_zone", domain::zone(z)),
    };
    let rec = f.recurrence.cloned().unwrap_or_default();
    // «Не повторять» is what an untouched form means.
    let frequency = match pb::Frequency::try_from(rec.frequency) {
        Ok(pb::Frequency::Unspecified | pb::Frequency::Once) => Some(Frequency::Once),
        Ok(pb::Frequency::Daily) => Some(Frequency::Daily),
        Ok(pb::Frequency::Weekly) => Some(Frequency::Weekly),
        Ok(pb::Frequency::Monthly) => Some(Frequency::Monthly),
        Err(_) => {
            errs.add("recurrence.frequency", s::FREQUENCY_REQUIRED);
            None
        }
    };
    let mut weekdays = Vec::new();
    if frequency == Some(Frequency::Weekly) {
        for (i, w) in rec.weekdays.iter().enumerate() {
            match weekday(*w) {
                Some(d) if !weekdays.contains(&d) => weekdays.push(d),
                Some(_) => {}
                None => errs.add(&format!("recurrence.weekdays[{i}]"), s::WEEKDAY_INVALID),
            }
        }
        weekdays.sort_by_key(|d| d.num_days_from_monday());
    }
    let end = match (frequency, rec.count, opt_text(&rec.until_date)) {
        (Some(Frequency::Once), _, _) => Some(End::Count(1)),
        (_, 0, None) => Some(End::Count(MAX_COUNT)),
        (_, n, None) => Some(End::Count(n)),
        (_, 0, Some(d)) => errs.check("recurrence.until_date", domain::date(d)).map(End::Until),
        (_, _, Some(_)) => {
            errs.add("recurrence.until_date", s::END_BOTH);
            None
        }
    };
    let mut pauses = Vec::new();
    for (i, p) in f.pauses.iter().enumerate() {
        let from = required(&mut errs, &format!("pauses[{i}].from_date"), &p.from_date, s::DATE_REQUIRED, domain::date);
        let to = match opt_text(&p.to_date) {
            None => from,
            Some(d) => errs.check(&format!("pauses[{i}].to_date"), domain::date(d)),
        };
        if let (Some(from), Some(to)) = (from, to) {
            pauses.push(Pause { from, to });
        }
    }
    errs.into_result()?;
    let (Some(kind), Some(description), Some(start_date), Some(time_of_day), Some(tz), Some(frequency), Some(end)) =
        (kind, description, start_date, time_of_day, tz, frequency, end)
    else {
        return Err(AppError::internal(anyhow::anyhow!("series form parsed without its values")));
    };
    let rule = Rule { frequency, interval: rec.interval.max(1), weekdays, end, start_date, time_of_day, tz, pauses };
    rule.validate().map_err(AppError::Invalid)?;
    Ok(SeriesDraft { kind, description, rule })
}

fn frequency_str(f: Frequency) -> &'static str {
    match f {
        Frequency::Once => "once",
        Frequency::Daily => "daily",
        Frequency::Weekly => "weekly",
        Frequency::Monthly => "monthly",
    }
}

fn frequency_of(v: &str) -> Option<Frequency> {
    Some(match v {
        "once" => Frequency::Once,
        "daily" => Frequency::Daily,
        "weekly" => Frequency::Weekly,
        "monthly" => Frequency::Monthly,
        _ => return None,
    })
}

fn weekday_of_iso(n: i16) -> Option<Weekday> {
    Some(match n {
        1 => Weekday::Mon,
        2 => Weekday::Tue,
        3 => Weekday::Wed,
        4 => Weekday::Thu,
        5 => Weekday::Fri,
        6 => Weekday::Sat,
        7 => Weekday::Sun,
        _ => return None,
    })
}

#[derive(serde::Serialize, serde::Deserialize)]
struct StoredPause {
    from: NaiveDate,
    to: NaiveDate,
}

/// The columns a draft is stored as (its RFC 5545 text and last date too).
pub fn series_values(d: &SeriesDraft) -> SeriesValues {
    let r = &d.rule;
    let (count, until_date) = match r.end {
        End::Count(n) => (Some(n as i32), None),
        End::Until(u) => (None, Some(u)),
    };
    let pauses: Vec<StoredPause> = r.pauses.iter().map(|p| StoredPause { from: p.from, to: p.to }).collect();
    SeriesValues {
        kind: d.kind.as_str(),
        description: d.description.clone(),
        start_date: r.start_date,
        time_of_day: r.time_of_day,
        time_zone: r.tz.name().to_string(),
        frequency: frequency_str(r.frequency),
        interval: r.interval.min(i32::MAX as u32) as i32,
        weekdays: r.weekdays.iter().map(|w| w.number_from_monday() as i16).collect(),
        count,
        until_date,
        pauses: serde_json::to_value(pauses).unwrap_or_else(|_| serde_json::json!([])),
        rrule: r.to_rfc5545(),
        last_date: r.last().map(|i| i.local.date()),
    }
}

/// A stored series' rule, as it was parsed when saved.
pub fn rule_of(row: &SeriesRow) -> anyhow::Result<Rule> {
    let frequency = frequency_of(&row.frequency).ok_or_else(|| anyhow::anyhow!("series {}: bad frequency", row.id))?;
    let end = match (row.count, row.until_date) {
        (_, Some(u)) => End::Until(u),
        (Some(n), None) => End::Count(n.max(1) as u32),
        (None, None) => End::Count(MAX_COUNT),
    };
    let pauses: Vec<StoredPause> = serde_json::from_value(row.pauses.clone())?;
    Ok(Rule {
        frequency,
        interval: row.interval.max(1) as u32,
        weekdays: row.weekdays.iter().filter_map(|n| weekday_of_iso(*n)).collect(),
        end,
        start_date: row.start_date,
        time_of_day: row.time_of_day,
        tz: row.time_zone.parse().map_err(|_| anyhow::anyhow!("series {}: bad zone {}", row.id, row.time_zone))?,
        pauses: pauses.into_iter().map(|p| Pause { from: p.from, to: p.to }).collect(),
    })
}

pub fn series_pb(row: &SeriesRow, curator: Option<Uuid>) -> pb::Series {
    let pauses: Vec<StoredPause> = serde_json::from_value(row.pauses.clone()).unwrap_or_default();
    let frequency = match frequency_of(&row.frequency) {
        Some(Frequency::Once) => pb::Frequency::Once,
        Some(Frequency::Daily) => pb::Frequency::Daily,
        Some(Frequency::Weekly) => pb::Frequency::Weekly,
        Some(Frequency::Monthly) => pb::Frequency::Monthly,
        None => pb::Frequency::Unspecified,
    };
    let once = frequency == pb::Frequency::Once;
    pb::Series {
        id: row.id.to_string(),
        citizen_id: row.citizen_id.to_string(),
        kind: kind_of(&row.kind),
        description: row.description.clone(),
        start_date: domain::iso_date(row.start_date),
        time_of_day: domain::hhmm(row.time_of_day),
        time_zone: row.time_zone.clone(),
        recurrence: Some(pb::Recurrence {
            frequency: frequency as i32,
            interval: row.interval.max(1) as u32,
            weekdays: row.weekdays.iter().filter_map(|n| weekday_of_iso(*n)).map(|w| weekday_pb(w) as i32).collect(),
            count: if once { 0 } else { row.count.unwrap_or(0).max(0) as u32 },
            until_date: row.until_date.map(domain::iso_date).unwrap_or_default(),
        }),
        pauses: pauses
            .iter()
            .map(|p| pb::Pause { from_date: domain::iso_date(p.from), to_date: domain::iso_date(p.to) })
            .collect(),
        rrule: row.rrule.clone(),
        last_date: row.last_date.map(domain::iso_date).unwrap_or_default(),
        created_by: row.created_by.clone(),
        created_at: Some(ts(row.created_at)),
        updated_at: Some(ts(row.updated_at)),
        curator_id: opt_uuid(curator),
    }
}

// ------------------------------------------------------------- occurrences

pub fn occurrence_pb(o: &OccurrenceView) -> pb::Occurrence {
    let status = Status::parse(&o.status).unwrap_or(Status::Planned);
    pb::Occurrence {
        id: o.id.to_string(),
        series_id: o.series_id.to_string(),
        citizen_id: o.citizen_id.to_string(),
        kind: kind_of(&o.kind),
        description: o.description.clone(),
        due_at: Some(ts(o.due_at)),
        local_date: domain::iso_date(o.local_date),
        local_time: domain::hhmm(o.local_time),
        status: status_pb(status) as i32,
        sent_at: opt_ts(o.sent_at),
        answered_at: opt_ts(o.answered_at),
        colour: status.colour().to_string(),
        detached: o.detached,
        curator_id: opt_uuid(o.curator_id),
        citizen_full_name: o.full_name.clone(),
        time_zone: o.time_zone.clone(),
    }
}

// ---------------------------------------------------------------- settings

/// The tenant's settings, or the defaults (in the process's default zone).
pub fn tenant_settings(row: Option<&SettingsRow>, default_tz: Tz) -> TenantSettings {
    let Some(r) = row else { return TenantSettings::defaults(default_tz) };
    let n = |v: i32| v.max(0) as u32;
    TenantSettings {
        time_zone: r.time_zone.parse().unwrap_or(default_tz),
        send_ahead_minutes: n(r.send_ahead_minutes),
        grace_minutes: n(r.grace_minutes),
        skipped_days: n(r.skipped_days),
        silent_days: n(r.silent_days),
        no_assignments_days: n(r.no_assignments_days),
        no_assignments_enabled: r.no_assignments_enabled,
        bot_rate_per_second: n(r.bot_rate_per_second),
    }
}

pub fn settings_pb(t: &TenantSettings, updated_at: Option<DateTime<Utc>>) -> pb::SchedulerSettings {
    pb::SchedulerSettings {
        time_zone: t.time_zone.name().to_string(),
        send_ahead_minutes: t.send_ahead_minutes,
        grace_minutes: t.grace_minutes,
        skipped_days: t.skipped_days,
        silent_days: t.silent_days,
        no_assignments_days: t.no_assignments_days,
        no_assignments_enabled: t.no_assignments_enabled,
        bot_rate_per_second: t.bot_rate_per_second,
        updated_at: opt_ts(updated_at),
    }
}

/// An admin's new settings: zero restores a default; each number within
/// its range; the zone an IANA name (empty: the process default).
pub fn settings_update(r: &pb::UpdateSchedulerSettingsRequest, default_tz: Tz) -> Result<TenantSettings, AppError> {
    let d = TenantSettings::defaults(default_tz);
    let mut errs = Violations::new();
    let mut num = |field: &str, v: u32, default: u32, (min, max): (u32, u32)| {
        let v = if v == 0 { default } else { v };
        if v < min || v > max {
            errs.add(field, s::out_of_range(min, max));
        }
        v
    };
    let send_ahead_minutes =
        num("send_ahead_minutes", r.send_ahead_minutes, d.send_ahead_minutes, domain::SEND_AHEAD_RANGE);
    let grace_minutes = num("grace_minutes", r.grace_minutes, d.grace_minutes, domain::GRACE_RANGE);
    let skipped_days = num("skipped_days", r.skipped_days, d.skipped_days, domain::DAYS_RANGE);
    let silent_days = num("silent_days", r.silent_days, d.silent_days, domain::DAYS_RANGE);
    let no_assignments_days =
        num("no_assignments_days", r.no_assignments_days, d.no_assignments_days, domain::DAYS_RANGE);
    let bot_rate_per_second =
        num("bot_rate_per_second", r.bot_rate_per_second, d.bot_rate_per_second, domain::RATE_RANGE);
    let time_zone = match opt_text(&r.time_zone) {
        None => Some(default_tz),
        Some(z) => errs.check("time_zone", domain::zone(z)),
    };
    errs.into_result()?;
    Ok(TenantSettings {
        time_zone: time_zone.unwrap_or(default_tz),
        send_ahead_minutes,
        grace_minutes,
        skipped_days,
        silent_days,
        no_assignments_days,
        no_assignments_enabled: r.no_assignments_enabled,
        bot_rate_per_second,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields<'a>(rec: &'a pb::Recurrence, pauses: &'a [pb::Pause]) -> SeriesFields<'a> {
        SeriesFields {
            kind: 0,
            description: "",
            start_date: "31.01.2031",
            time_of_day: "9:00",
            time_zone: "Moscow",
            recurrence: Some(rec),
            pauses,
        }
    }

    fn fields_of(e: AppError) -> Vec<String> {
        match e {
            AppError::Invalid(v) => v.into_iter().map(|v| v.field).collect(),
            other => panic!("expected field violations, got {other:?}"),
        }
    }

    #[test]
    fn every_own_violation_is_reported_at_once() {
        let rec = pb::Recurrence {
            frequency: pb::Frequency::Weekly as i32,
            weekdays: vec![pb::Weekday::Monday as i32, 42],
            count: 3,
            until_date: "2031-05-01".into(),
            ..Default::default()
        };
        let pauses = [pb::Pause { from_date: String::new(), to_date: "2031-02-30".into() }];
        let got = fields_of(series_draft(fields(&rec, &pauses), chrono_tz::Europe::Moscow).unwrap_err());
        for f in [
            "kind",
            "description",
            "start_date",
            "time_of_day",
            "time_zone",
            "recurrence.weekdays[1]",
            "recurrence.until_date",
            "pauses[0].from_date",
            "pauses[0].to_date",
        ] {
            assert!(got.iter().any(|g| g == f), "missing {f} in {got:?}");
        }
    }

    #[test]
    fn settings_zero_means_default_and_ranges_are_checked() {
        let r = pb::UpdateSchedulerSettingsRequest { no_assignments_enabled: false, ..Default::default() };
        let t = settings_update(&r, chrono_tz::Europe::Moscow).unwrap();
        assert_eq!(t.skipped_days, 5);
        assert_eq!(t.silent_days, 10);
        assert_eq!(t.send_ahead_minutes, 30);
        assert!(!t.no_assignments_enabled);
        let r = pb::UpdateSchedulerSettingsRequest {
            skipped_days: 400,
            bot_rate_per_second: 5000,
            time_zone: "Mars/Olympus".into(),
            ..Default::default()
        };
        let got = fields_of(settings_update(&r, chrono_tz::Europe::Moscow).unwrap_err());
        assert_eq!(got, vec!["skipped_days", "bot_rate_per_second", "time_zone"]);
    }

    #[test]
    fn a_stored_rule_reads_back() {
        let row = SeriesRow {
            id: Uuid::now_v7(),
            tenant_id: Uuid::now_v7(),
            citizen_id: Uuid::now_v7(),
            kind: "support".into(),
            description: "Текст".into(),
            start_date: "2031-01-06".parse().unwrap(),
            time_of_day: "09:00:00".parse().unwrap(),
            time_zone: "Asia/Kamchatka".into(),
            frequency: "weekly".into(),
            interval: 2,
            weekdays: vec![1, 3, 5],
            count: None,
            until_date: Some("2031-06-30".parse().unwrap()),
            pauses: serde_json::json!([{"from": "2031-02-01", "to": "2031-02-10"}]),
            rrule: String::new(),
            last_date: None,
            materialised_until: Utc::now(),
            created_by: "x".into(),
            created_at: Utc::now(),
            updated_at: Utc::now(),
        };
        let rule = rule_of(&row).unwrap();
        assert_eq!(rule.frequency, Frequency::Weekly);
        assert_eq!(rule.interval, 2);
        assert_eq!(rule.weekdays, vec![Weekday::Mon, Weekday::Wed, Weekday::Fri]);
        assert_eq!(rule.end, End::Until("2031-06-30".parse().unwrap()));
        assert_eq!(rule.tz, chrono_tz::Asia::Kamchatka);
        assert_eq!(rule.pauses, vec![Pause { from: "2031-02-01".parse().unwrap(), to: "2031-02-10".parse().unwrap() }]);
        let msg = series_pb(&row, None);
        assert_eq!(msg.time_of_day, "09:00");
        assert_eq!(msg.recurrence.unwrap().weekdays, vec![1, 3, 5]);
    }
}
