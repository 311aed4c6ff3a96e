//! A reminder series' rule (S0-66…S0-72): frequency, interval, weekdays, end
//! by count or date, time of day in a time zone, and pauses. Written as RFC
//! 5545 text and expanded with the `rrule` crate.
//!
//! How expansion works, and why:
//! - The recurrence is a pattern of *local dates*: the wall-clock time stays
//!   fixed across DST, so the `rrule` crate expands the dates in a floating
//!   frame (UTC, midnight) where no gap or fold can skip or double a day. Each
//!   date is then placed at `time_of_day` in the series' zone with chrono-tz by
//!   [`resolve_local`]: a time inside a spring-forward gap moves forward to the
//!   first valid time (02:30 → 03:00 in Berlin), an ambiguous one takes the
//!   earlier instant. RFC 5545 §3.3.5 and the crate would say 03:30 for the
//!   gap; we follow the scheduler's contract ("first valid time").
//! - The crate has no "seek": it always walks from DTSTART. A daily rule until
//!   2099 holds ~27,000 dates, so [`Rule::between`] and [`Rule::last`] restart
//!   the crate from an *anchor*, the start of the rule's period (day, aligned
//!   week, aligned month) at or before the window, computed arithmetically
//!   together with how many occurrences come before it (to keep COUNT right).
//!   A month of a rolling horizon therefore expands about a month of dates,
//!   whatever the rule's length; `last()` of an until-rule expands only its
//!   final periods, and of a count-rule at most [`MAX_COUNT`] dates.
//! - Paused occurrences stay in the expansion, flagged `paused` (black in the
//!   calendar, never sent, S0-71). The canonical text also lists them as
//!   `EXDATE:…Z` in UTC so that any RFC 5545 reader sees them as not happening;
//!   the service keeps the pauses themselves in their own columns.
//! - Defensive limits: an expansion never yields more than [`MAX_COUNT`]
//!   occurrences nor any date after [`LAST_UNTIL`], even for a rule that
//!   skipped [`Rule::validate`].
use std::fmt;

use chrono::{
    DateTime, Datelike, Days, LocalResult, Months, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, TimeZone, Utc,
    Weekday,
};
use chrono_tz::Tz;
use opeka_platform::error::FieldViolation;
use rrule::{NWeekday, RRule, RRuleSet};

/// At most this many occurrences in one series (S0-70).
pub const MAX_COUNT: u32 = 500;
/// No occurrence after this date (S0-70).
pub const LAST_UNTIL: NaiveDate = match NaiveDate::from_ymd_opt(2099, 12, 31) {
    Some(d) => d,
    None => unreachable!(),
};
/// UNTIL covers the whole until date.
const END_OF_DAY: NaiveTime = match NaiveTime::from_hms_opt(23, 59, 59) {
    Some(t) => t,
    None => unreachable!(),
};
/// The largest "every N days/weeks/months". The form offers a small number;
/// 99 keeps a monthly rule within the 2099 horizon and fits the crate's `u16`.
pub const MAX_INTERVAL: u32 = 99;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frequency {
    Once,
    Daily,
    Weekly,
    Monthly,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    Count(u32),
    Until(NaiveDate),
}

/// An inclusive range of local dates whose occurrences are paused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pause {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Pause {
    pub fn contains(&self, date: NaiveDate) -> bool {
        self.from <= date && date <= self.to
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub frequency: Frequency,
    /// Every N days/weeks/months (≥ 1).
    pub interval: u32,
    /// Weekly only; empty means the start date's weekday.
    pub weekdays: Vec<Weekday>,
    pub end: End,
    pub start_date: NaiveDate,
    pub time_of_day: NaiveTime,
    pub tz: Tz,
    pub pauses: Vec<Pause>,
}

/// One instant the rule yields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Instant {
    pub at: DateTime<Utc>,
    /// The wall-clock time in the rule's zone (after a DST gap shift).
    pub local: NaiveDateTime,
    /// Falls into a pause: shown black, never sent.
    pub paused: bool,
}

impl Rule {
    /// Field violations named as in the gRPC request (`recurrence.count`,
    /// `recurrence.until_date`, `recurrence.interval`, `recurrence.weekdays`,
    /// `pauses[0].to_date`, `start_date`, …), Russian descriptions.
    ///
    /// `Once` ignores `interval` and `end`. The service maps the proto's
    /// "interval 0" to 1 and "neither count nor until" to `Count(500)` before
    /// building the rule, so `interval: 0` and `Count(0)` are rejected here.
    pub fn validate(&self) -> Result<(), Vec<FieldViolation>> {
        let mut violations = Vec::new();
        if self.start_date > LAST_UNTIL {
            violations.push(FieldViolation::new("start_date", "Дата начала не может быть позже 31.12.2099."));
        }
        if self.frequency != Frequency::Once {
            if !(1..=MAX_INTERVAL).contains(&self.interval) {
                violations.push(FieldViolation::new(
                    "recurrence.interval",
                    format!("Интервал повторения должен быть от 1 до {MAX_INTERVAL}."),
                ));
            }
            match self.end {
                End::Count(count) if count == 0 || count > MAX_COUNT => violations.push(FieldViolation::new(
                    "recurrence.count",
                    format!("Количество повторений должно быть от 1 до {MAX_COUNT}."),
                )),
                End::Until(until) if until < self.start_date => violations.push(FieldViolation::new(
                    "recurrence.until_date",
                    "Дата окончания не может быть раньше даты начала.",
                )),
                End::Until(until) if until > LAST_UNTIL => violations.push(FieldViolation::new(
                    "recurrence.until_date",
                    "Дата окончания не может быть позже 31.12.2099.",
                )),
                _ => {}
            }
        }
        if self.frequency != Frequency::Weekly && !self.weekdays.is_empty() {
            violations.push(FieldViolation::new(
                "recurrence.weekdays",
                "Дни недели выбираются только для еженедельного повторения.",
            ));
        }
        for (i, pause) in self.pauses.iter().enumerate() {
            if pause.from > pause.to {
                violations.push(FieldViolation::new(
                    format!("pauses[{i}].to_date"),
                    "Дата окончания исключения не может быть раньше даты его начала.",
                ));
            }
        }
        // What the rule yields is only worth asking once its fields are sane.
        if violations.is_empty() {
            match self.end {
                End::Count(count) if self.frequency != Frequency::Once => {
                    if self.dates_in(self.start_date, LAST_UNTIL).len() < count as usize {
                        violations.push(FieldViolation::new(
                            "recurrence.count",
                            format!(
                                "{count}-е повторение пришлось бы на дату позже 31.12.2099: уменьшите количество \
                                 повторений или интервал."
                            ),
                        ));
                    }
                }
                _ => {
                    if self.last_date().is_none() {
                        violations.push(FieldViolation::new(
                            "recurrence.until_date",
                            "До даты окончания не приходится ни одного напоминания: выберите более позднюю дату \
                             или другие дни недели.",
                        ));
                    }
                }
            }
        }
        if violations.is_empty() { Ok(()) } else { Err(violations) }
    }

    /// The canonical RFC 5545 text: `DTSTART;TZID=…`, `RRULE:…`, `EXDATE:…Z` (UTC).
    ///
    /// Written by hand rather than with `RRuleSet::to_string()`: rrule 0.14
    /// writes EXDATE as `EXDATE;TZID=<zone>:<local>Z`, which no longer
    /// excludes anything once parsed back. Lines are separated by `\n`;
    /// parts always come in the order FREQ, INTERVAL, WKST, BYDAY,
    /// BYMONTHDAY, BYSETPOS, COUNT|UNTIL. UNTIL is the end of the until date
    /// in the series' zone, in UTC (RFC 5545 requires UTC with a TZID start).
    /// `Once` is `FREQ=DAILY;INTERVAL=1;COUNT=1`. EXDATE (omitted when
    /// nothing is paused) lists every paused occurrence's instant.
    pub fn to_rfc5545(&self) -> String {
        let mut text = format!(
            "DTSTART;TZID={}:{}\nRRULE:",
            self.tz.name(),
            self.start_date.and_time(self.time_of_day).format("%Y%m%dT%H%M%S")
        );
        if self.frequency == Frequency::Once {
            text.push_str("FREQ=DAILY;INTERVAL=1;COUNT=1");
        } else {
            let freq = match self.frequency {
                Frequency::Weekly => "WEEKLY",
                Frequency::Monthly => "MONTHLY",
                _ => "DAILY",
            };
            let mut parts = vec![format!("FREQ={freq}"), format!("INTERVAL={}", self.interval)];
            match self.frequency {
                Frequency::Weekly => {
                    let days: Vec<&str> = self.weekly_days().into_iter().map(ical_weekday).collect();
                    parts.push("WKST=MO".to_owned());
                    parts.push(format!("BYDAY={}", days.join(",")));
                }
                Frequency::Monthly => {
                    let day = self.start_date.day();
                    if day > 28 {
                        parts.push(format!("BYMONTHDAY={day},-1"));
                        parts.push("BYSETPOS=1".to_owned());
                    } else {
                        parts.push(format!("BYMONTHDAY={day}"));
                    }
                }
                _ => {}
            }
            parts.push(match self.end {
                End::Count(count) => format!("COUNT={count}"),
                End::Until(until) => {
                    let end_of_day = resolve_local(self.tz, until.and_time(END_OF_DAY));
                    format!("UNTIL={}", ical_utc(end_of_day.with_timezone(&Utc)))
                }
            });
            text.push_str(&parts.join(";"));
        }
        let mut excluded: Vec<DateTime<Utc>> = self
            .pauses
            .iter()
            .flat_map(|pause| self.dates_in(pause.from, pause.to))
            .map(|date| resolve_local(self.tz, date.and_time(self.time_of_day)).with_timezone(&Utc))
            .collect();
        excluded.sort_unstable();
        excluded.dedup();
        if !excluded.is_empty() {
            let values: Vec<String> = excluded.into_iter().map(ical_utc).collect();
            text.push_str("\nEXDATE:");
            text.push_str(&values.join(","));
        }
        text
    }

    /// Instants with `from <= at < to`, in order, paused ones included and flagged.
    ///
    /// Expands only the dates near the window (see the module notes), so the
    /// cost follows the window, not the series. Expects a validated rule; an
    /// invalid one never panics but may yield nothing.
    pub fn between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Instant> {
        if from >= to {
            return Vec::new();
        }
        // Local dates lie within a day of the UTC ones (offsets span −12…+14 h,
        // a gap shift adds at most a day); two days' margin on each side is safe.
        let margin = TimeDelta::days(2);
        let lo = from.naive_utc().checked_sub_signed(margin).map_or(NaiveDate::MIN, |t| t.date());
        let hi = to.naive_utc().checked_add_signed(margin).map_or(NaiveDate::MAX, |t| t.date());
        self.dates_in(lo, hi)
            .into_iter()
            .map(|date| self.instant_on(date))
            .filter(|instant| from <= instant.at && instant.at < to)
            .collect()
    }

    /// The last instant the rule yields (paused or not); None if it yields none.
    pub fn last(&self) -> Option<Instant> {
        self.last_date().map(|date| self.instant_on(date))
    }

    /// The instant of the occurrence the rule places on `date` (whether or
    /// not the rule has one there).
    fn instant_on(&self, date: NaiveDate) -> Instant {
        let at = resolve_local(self.tz, date.and_time(self.time_of_day));
        Instant {
            at: at.with_timezone(&Utc),
            local: at.naive_local(),
            paused: self.pauses.iter().any(|pause| pause.contains(date)),
        }
    }

    /// Weekly days in week order (Monday first), the start date's weekday when none were chosen.
    fn weekly_days(&self) -> Vec<Weekday> {
        let mut days = if self.weekdays.is_empty() { vec![self.start_date.weekday()] } else { self.weekdays.clone() };
        days.sort_unstable_by_key(Weekday::num_days_from_monday);
        days.dedup();
        days
    }

    /// The date of the last occurrence.
    fn last_date(&self) -> Option<NaiveDate> {
        match (self.frequency, self.end) {
            (Frequency::Once, _) | (_, End::Count(_)) => self.dates_in(self.start_date, LAST_UNTIL).last().copied(),
            (_, End::Until(until)) => {
                // Two whole periods (plus a week's slack) before the end always
                // hold an occurrence if the rule has any from there on; earlier
                // ones need not be walked.
                let span = u64::from(self.interval.max(1)) * 62 + 7;
                let lo = until.checked_sub_days(Days::new(span)).unwrap_or(NaiveDate::MIN);
                self.dates_in(lo.max(self.start_date), until).last().copied()
            }
        }
    }

    /// The occurrence dates `d` with `lo <= d <= hi`, in order, never past
    /// [`LAST_UNTIL`] nor beyond [`MAX_COUNT`] occurrences.
    fn dates_in(&self, lo: NaiveDate, hi: NaiveDate) -> Vec<NaiveDate> {
        let mut hi = hi.min(LAST_UNTIL);
        if self.frequency == Frequency::Once {
            return if lo <= self.start_date && self.start_date <= hi { vec![self.start_date] } else { Vec::new() };
        }
        if let End::Until(until) = self.end {
            hi = hi.min(until);
        }
        if lo > hi {
            return Vec::new();
        }
        let Some((anchor, before)) = self.anchor(lo) else { return Vec::new() };
        if anchor > hi {
            return Vec::new();
        }
        let (count, until) = match self.end {
            End::Count(count) => {
                let count = u64::from(count.min(MAX_COUNT));
                if before >= count {
                    return Vec::new();
                }
                (u32::try_from(count - before).ok(), None)
            }
            End::Until(_) => (None, Some(hi)),
        };
        let Some(set) = self.crate_set(anchor, count, until) else { return Vec::new() };
        (&set).into_iter().map(|dt| dt.date_naive()).skip_while(|d| *d < lo).take_while(|d| *d <= hi).collect()
    }

    /// The rule for the `rrule` crate in the floating frame, started at `anchor`.
    fn crate_set(&self, anchor: NaiveDate, count: Option<u32>, until: Option<NaiveDate>) -> Option<RRuleSet> {
        let floating = |date: NaiveDate| rrule::Tz::UTC.from_utc_datetime(&date.and_time(NaiveTime::MIN));
        let (freq, interval) = match self.frequency {
            Frequency::Once => (rrule::Frequency::Daily, 1),
            Frequency::Daily => (rrule::Frequency::Daily, self.interval),
            Frequency::Weekly => (rrule::Frequency::Weekly, self.interval),
            Frequency::Monthly => (rrule::Frequency::Monthly, self.interval),
        };
        let mut rule =
            RRule::new(freq).interval(u16::try_from(interval).ok().filter(|n| *n > 0)?).week_start(Weekday::Mon);
        match self.frequency {
            Frequency::Weekly => {
                rule = rule.by_weekday(self.weekly_days().into_iter().map(NWeekday::Every).collect());
            }
            Frequency::Monthly => {
                // The start date's day, or the month's last day when the month is shorter (S0-69).
                let day = i8::try_from(self.start_date.day()).ok()?;
                rule = if day > 28 {
                    rule.by_month_day(vec![day, -1]).by_set_pos(vec![1])
                } else {
                    rule.by_month_day(vec![day])
                };
            }
            Frequency::Once | Frequency::Daily => {}
        }
        if let Some(count) = count {
            rule = rule.count(count);
        }
        if let Some(until) = until {
            rule = rule.until(floating(until));
        }
        // `limit()` only guards against the crate looping over empty periods;
        // our rules always yield within a period, so it never cuts a result.
        rule.build(floating(anchor)).ok().map(RRuleSet::limit)
    }

    /// Where the crate can resume for a window starting at `date`: the start
    /// of the rule's period holding `date` (or the start date), and how many
    /// occurrences come before that point.
    fn anchor(&self, date: NaiveDate) -> Option<(NaiveDate, u64)> {
        let start = self.start_date;
        if date <= start {
            return Some((start, 0));
        }
        let interval = i64::from(self.interval.max(1));
        match self.frequency {
            Frequency::Once => Some((start, 0)),
            Frequency::Daily => {
                let periods = (date - start).num_days() / interval;
                let anchor = start.checked_add_days(Days::new(u64::try_from(periods * interval).ok()?))?;
                Some((anchor, u64::try_from(periods).ok()?))
            }
            Frequency::Weekly => {
                let start_monday = monday_of(start)?;
                let weeks = (monday_of(date)? - start_monday).num_weeks();
                let periods = weeks / interval;
                if periods == 0 {
                    return Some((start, 0));
                }
                let days = self.weekly_days();
                let first_week =
                    days.iter().filter(|d| d.num_days_from_monday() >= start.weekday().num_days_from_monday()).count();
                let anchor = start_monday.checked_add_days(Days::new(u64::try_from(periods * interval * 7).ok()?))?;
                let before = first_week as u64 + u64::try_from(periods - 1).ok()? * days.len() as u64;
                Some((anchor, before))
            }
            Frequency::Monthly => {
                let months = (date.year() - start.year()) * 12 + date.month0() as i32 - start.month0() as i32;
                let periods = i64::from(months) / interval;
                if periods == 0 {
                    return Some((start, 0));
                }
                let anchor =
                    start.with_day(1)?.checked_add_months(Months::new(u32::try_from(periods * interval).ok()?))?;
                Some((anchor, u64::try_from(periods).ok()?))
            }
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc5545())
    }
}

/// The instant a wall-clock time in `tz` stands for: the earlier one when the
/// clock is set back (the time happens twice), and the first valid time after
/// the gap when the clock is set forward (the time never happens): 02:30 on
/// Berlin's spring-forward day is 03:00 CEST.
///
/// chrono and chrono-tz report a gap but do not resolve it, so the
/// transition is found by a binary search over the ±36 h around the time
/// (the wall clock only moves forward there, save for a fold within the
/// same 72 h, which no zone has).
pub fn resolve_local(tz: Tz, local: NaiveDateTime) -> DateTime<Tz> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(at) => at,
        LocalResult::Ambiguous(a, b) => a.min(b),
        LocalResult::None => {
            let reached = |secs: i64| {
                DateTime::from_timestamp(secs, 0).is_none_or(|at| at.with_timezone(&tz).naive_local() >= local)
            };
            let guess = local.and_utc().timestamp();
            let (mut not_yet, mut reached_at) = (guess - 36 * 3600, guess + 36 * 3600);
            while reached_at - not_yet > 1 {
                let mid = not_yet + (reached_at - not_yet) / 2;
                if reached(mid) {
                    reached_at = mid;
                } else {
                    not_yet = mid;
                }
            }
            tz.timestamp_opt(reached_at, 0).single().unwrap_or_else(|| tz.from_utc_datetime(&local))
        }
    }
}

fn monday_of(date: NaiveDate) -> Option<NaiveDate> {
    date.checked_sub_days(Days::new(u64::from(date.weekday().num_days_from_monday())))
}

fn ical_weekday(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "MO",
        Weekday::Tue => "TU",
        Weekday::Wed => "WE",
        Weekday::Thu => "TH",
        Weekday::Fri => "FR",
        Weekday::Sat => "SA",
        Weekday::Sun => "SU",
    }
}

fn ical_utc(at: DateTime<Utc>) -> String {
    at.format("%Y%m%dT%H%M%SZ").to_string()
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use chrono::Weekday::{Fri, Mon, Wed};
    use chrono_tz::{Asia, Europe};

    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn hm(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn rule(
        frequency: Frequency,
        interval: u32,
        weekdays: &[Weekday],
        end: End,
        start: NaiveDate,
        time: NaiveTime,
        tz: Tz,
    ) -> Rule {
        Rule {
            frequency,
            interval,
            weekdays: weekdays.to_vec(),
            end,
            start_date: start,
            time_of_day: time,
            tz,
            pauses: vec![],
        }
    }

    /// Every instant: the window spans the whole range a rule may use.
    fn all(rule: &Rule) -> Vec<Instant> {
        rule.between(utc("1970-01-01T00:00:00Z"), utc("2101-01-01T00:00:00Z"))
    }

    fn local(instant: &Instant) -> String {
        instant.local.format("%Y-%m-%d %H:%M").to_string()
    }

    fn at(instant: &Instant) -> String {
        instant.at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
    }

    /// S0-66…S0-69, S0-72: expected local wall clocks and UTC instants, written out by hand.
    #[test]
    fn expands_rules_to_hand_written_instants() {
        use End::{Count, Until};
        use Frequency::{Daily, Monthly, Once, Weekly};
        let moscow = Europe::Moscow;
        // (local wall clock, UTC instant) per occurrence.
        type Expected = Vec<(&'static str, &'static str)>;
        let cases: Vec<(&str, Rule, Expected)> = vec![
            (
                "S0-67 daily every 2 days, Moscow (UTC+3)",
                rule(Daily, 2, &[], Count(5), d(2025, 1, 30), hm(9, 0), moscow),
                vec![
                    ("2025-01-30 09:00", "2025-01-30T06:00:00Z"),
                    ("2025-02-01 09:00", "2025-02-01T06:00:00Z"),
                    ("2025-02-03 09:00", "2025-02-03T06:00:00Z"),
                    ("2025-02-05 09:00", "2025-02-05T06:00:00Z"),
                    ("2025-02-07 09:00", "2025-02-07T06:00:00Z"),
                ],
            ),
            (
                "S0-68 weekly Mon/Wed/Fri every 2 weeks from a Wednesday (the Monday before the start is skipped)",
                rule(Weekly, 2, &[Fri, Mon, Wed], Count(7), d(2025, 3, 5), hm(9, 0), moscow),
                vec![
                    ("2025-03-05 09:00", "2025-03-05T06:00:00Z"),
                    ("2025-03-07 09:00", "2025-03-07T06:00:00Z"),
                    ("2025-03-17 09:00", "2025-03-17T06:00:00Z"),
                    ("2025-03-19 09:00", "2025-03-19T06:00:00Z"),
                    ("2025-03-21 09:00", "2025-03-21T06:00:00Z"),
                    ("2025-03-31 09:00", "2025-03-31T06:00:00Z"),
                    ("2025-04-02 09:00", "2025-04-02T06:00:00Z"),
                ],
            ),
            (
                "S0-68 weekly with no weekdays: the start date's weekday; Kaliningrad (UTC+2)",
                rule(Weekly, 1, &[], Count(3), d(2025, 3, 5), hm(18, 0), Europe::Kaliningrad),
                vec![
                    ("2025-03-05 18:00", "2025-03-05T16:00:00Z"),
                    ("2025-03-12 18:00", "2025-03-12T16:00:00Z"),
                    ("2025-03-19 18:00", "2025-03-19T16:00:00Z"),
                ],
            ),
            (
                "S0-69 monthly on the 31st: a shorter month takes its last day (Feb 29 in leap 2028)",
                rule(Monthly, 1, &[], Count(14), d(2027, 1, 31), hm(9, 0), moscow),
                vec![
                    ("2027-01-31 09:00", "2027-01-31T06:00:00Z"),
                    ("2027-02-28 09:00", "2027-02-28T06:00:00Z"),
                    ("2027-03-31 09:00", "2027-03-31T06:00:00Z"),
                    ("2027-04-30 09:00", "2027-04-30T06:00:00Z"),
                    ("2027-05-31 09:00", "2027-05-31T06:00:00Z"),
                    ("2027-06-30 09:00", "2027-06-30T06:00:00Z"),
                    ("2027-07-31 09:00", "2027-07-31T06:00:00Z"),
                    ("2027-08-31 09:00", "2027-08-31T06:00:00Z"),
                    ("2027-09-30 09:00", "2027-09-30T06:00:00Z"),
                    ("2027-10-31 09:00", "2027-10-31T06:00:00Z"),
                    ("2027-11-30 09:00", "2027-11-30T06:00:00Z"),
                    ("2027-12-31 09:00", "2027-12-31T06:00:00Z"),
                    ("2028-01-31 09:00", "2028-01-31T06:00:00Z"),
                    ("2028-02-29 09:00", "2028-02-29T06:00:00Z"),
                ],
            ),
            (
                "S0-69 monthly on the 29th every 3 months: Feb 28 in 2027, back to the 29th after",
                rule(Monthly, 3, &[], Count(4), d(2026, 11, 29), hm(10, 0), moscow),
                vec![
                    ("2026-11-29 10:00", "2026-11-29T07:00:00Z"),
                    ("2027-02-28 10:00", "2027-02-28T07:00:00Z"),
                    ("2027-05-29 10:00", "2027-05-29T07:00:00Z"),
                    ("2027-08-29 10:00", "2027-08-29T07:00:00Z"),
                ],
            ),
            (
                "S0-66 once: one instant, the end is ignored",
                rule(Once, 1, &[], Count(500), d(2025, 6, 15), hm(10, 30), moscow),
                vec![("2025-06-15 10:30", "2025-06-15T07:30:00Z")],
            ),
            (
                "S0-70 until a date includes that date; Yekaterinburg (UTC+5)",
                rule(Daily, 1, &[], Until(d(2025, 1, 3)), d(2025, 1, 1), hm(8, 0), Asia::Yekaterinburg),
                vec![
                    ("2025-01-01 08:00", "2025-01-01T03:00:00Z"),
                    ("2025-01-02 08:00", "2025-01-02T03:00:00Z"),
                    ("2025-01-03 08:00", "2025-01-03T03:00:00Z"),
                ],
            ),
            (
                "S0-72 Berlin, last Sunday of March (30th): 09:00 stays 09:00, UTC moves from 08:00 to 07:00",
                rule(Daily, 1, &[], Count(4), d(2025, 3, 28), hm(9, 0), Europe::Berlin),
                vec![
                    ("2025-03-28 09:00", "2025-03-28T08:00:00Z"),
                    ("2025-03-29 09:00", "2025-03-29T08:00:00Z"),
                    ("2025-03-30 09:00", "2025-03-30T07:00:00Z"),
                    ("2025-03-31 09:00", "2025-03-31T07:00:00Z"),
                ],
            ),
            (
                "S0-72 Berlin, last Sunday of October (26th): 09:00 stays 09:00, UTC moves from 07:00 to 08:00",
                rule(Daily, 1, &[], Count(3), d(2025, 10, 25), hm(9, 0), Europe::Berlin),
                vec![
                    ("2025-10-25 09:00", "2025-10-25T07:00:00Z"),
                    ("2025-10-26 09:00", "2025-10-26T08:00:00Z"),
                    ("2025-10-27 09:00", "2025-10-27T08:00:00Z"),
                ],
            ),
            (
                "S0-72 Berlin 02:30 on the spring-forward day does not exist: first valid time, 03:00 CEST",
                rule(Daily, 1, &[], Count(3), d(2025, 3, 29), hm(2, 30), Europe::Berlin),
                vec![
                    ("2025-03-29 02:30", "2025-03-29T01:30:00Z"),
                    ("2025-03-30 03:00", "2025-03-30T01:00:00Z"),
                    ("2025-03-31 02:30", "2025-03-31T00:30:00Z"),
                ],
            ),
            (
                "S0-72 Berlin 02:30 on the fall-back day happens twice: the earlier (CEST) instant",
                rule(Daily, 1, &[], Count(3), d(2025, 10, 25), hm(2, 30), Europe::Berlin),
                vec![
                    ("2025-10-25 02:30", "2025-10-25T00:30:00Z"),
                    ("2025-10-26 02:30", "2025-10-26T00:30:00Z"),
                    ("2025-10-27 02:30", "2025-10-27T01:30:00Z"),
                ],
            ),
            (
                "S0-72 Asia/Kamchatka (UTC+12): the UTC instant falls on the day before",
                rule(Daily, 1, &[], Count(3), d(2025, 12, 30), hm(9, 0), Asia::Kamchatka),
                vec![
                    ("2025-12-30 09:00", "2025-12-29T21:00:00Z"),
                    ("2025-12-31 09:00", "2025-12-30T21:00:00Z"),
                    ("2026-01-01 09:00", "2025-12-31T21:00:00Z"),
                ],
            ),
            (
                "S0-72 Europe/Kaliningrad (UTC+2) keeps its offset over Berlin's DST Sunday",
                rule(Daily, 1, &[], Count(3), d(2025, 3, 29), hm(9, 0), Europe::Kaliningrad),
                vec![
                    ("2025-03-29 09:00", "2025-03-29T07:00:00Z"),
                    ("2025-03-30 09:00", "2025-03-30T07:00:00Z"),
                    ("2025-03-31 09:00", "2025-03-31T07:00:00Z"),
                ],
            ),
        ];
        for (name, rule, expected) in cases {
            assert_eq!(rule.validate(), Ok(()), "{name}");
            let instants = all(&rule);
            let got: Vec<(String, String)> = instants.iter().map(|i| (local(i), at(i))).collect();
            let want: Vec<(String, String)> = expected.iter().map(|(l, u)| (l.to_string(), u.to_string())).collect();
            assert_eq!(got, want, "{name}");
            assert!(instants.iter().all(|i| !i.paused), "{name}");
            assert_eq!(rule.last(), instants.last().copied(), "{name}: last()");
        }
    }

    /// S0-70: count 500 — the 500th date, written out, and no 501st.
    #[test]
    fn count_500_ends_on_the_500th() {
        let cases = [
            // 2025-01-01 + 499 days.
            (
                rule(Frequency::Daily, 1, &[], End::Count(500), d(2025, 1, 1), hm(9, 0), Europe::Moscow),
                "2026-05-15 09:00",
                "2026-05-15T06:00:00Z",
            ),
            // 2 in the first week (Wed, Fri), then 3 per fortnight: 2 + 166·3; week of 2025-03-03 + 332 weeks, Friday.
            (
                rule(Frequency::Weekly, 2, &[Mon, Wed, Fri], End::Count(500), d(2025, 3, 5), hm(9, 0), Europe::Moscow),
                "2031-07-18 09:00",
                "2031-07-18T06:00:00Z",
            ),
            // 2027-01 + 499 months = 2068-08, its last day.
            (
                rule(Frequency::Monthly, 1, &[], End::Count(500), d(2027, 1, 31), hm(9, 0), Europe::Moscow),
                "2068-08-31 09:00",
                "2068-08-31T06:00:00Z",
            ),
        ];
        for (rule, last_local, last_at) in cases {
            assert_eq!(rule.validate(), Ok(()));
            let instants = all(&rule);
            assert_eq!(instants.len(), 500, "{rule}");
            let last = rule.last().unwrap();
            assert_eq!((local(&last), at(&last)), (last_local.to_owned(), last_at.to_owned()), "{rule}");
            assert_eq!(instants[499], last, "{rule}");
            let after = last.at + TimeDelta::seconds(1);
            assert_eq!(rule.between(after, utc("2101-01-01T00:00:00Z")), vec![], "no 501st: {rule}");
        }
    }

    /// S0-70: until 2099-12-31 — the last instant and nothing after; ~27,000 dates.
    #[test]
    fn until_2099_12_31() {
        use Frequency::{Daily, Monthly, Weekly};
        let until = |u: NaiveDate| End::Until(u);
        let cases = [
            (
                rule(Daily, 1, &[], until(LAST_UNTIL), d(2025, 1, 1), hm(9, 0), Europe::Moscow),
                "2099-12-31 09:00",
                "2099-12-31T06:00:00Z",
            ),
            // 2099-12-31 is a Thursday (2100-01-01 is a Friday).
            (
                rule(Weekly, 1, &[Mon], until(LAST_UNTIL), d(2025, 1, 6), hm(9, 0), Europe::Moscow),
                "2099-12-28 09:00",
                "2099-12-28T06:00:00Z",
            ),
            (
                rule(Monthly, 1, &[], until(LAST_UNTIL), d(2025, 1, 31), hm(9, 0), Europe::Moscow),
                "2099-12-31 09:00",
                "2099-12-31T06:00:00Z",
            ),
            // Odd months only; November's last day.
            (
                rule(Monthly, 2, &[], until(LAST_UNTIL), d(2025, 1, 31), hm(9, 0), Europe::Moscow),
                "2099-11-30 09:00",
                "2099-11-30T06:00:00Z",
            ),
            (
                rule(Monthly, 1, &[], until(d(2099, 11, 30)), d(2025, 1, 31), hm(9, 0), Europe::Moscow),
                "2099-11-30 09:00",
                "2099-11-30T06:00:00Z",
            ),
            // November's occurrence (the 30th) is after the 29th: October's 31st is the last.
            (
                rule(Monthly, 1, &[], until(d(2099, 11, 29)), d(2025, 1, 31), hm(9, 0), Europe::Moscow),
                "2099-10-31 09:00",
                "2099-10-31T06:00:00Z",
            ),
            (
                rule(Daily, 1, &[], until(LAST_UNTIL), d(2025, 1, 1), hm(9, 0), Asia::Kamchatka),
                "2099-12-31 09:00",
                "2099-12-30T21:00:00Z",
            ),
        ];
        for (rule, last_local, last_at) in cases {
            assert_eq!(rule.validate(), Ok(()), "{rule}");
            let last = rule.last().unwrap();
            assert_eq!((local(&last), at(&last)), (last_local.to_owned(), last_at.to_owned()), "{rule}");
            assert_eq!(all(&rule).last(), Some(&last), "{rule}");
            let after = last.at + TimeDelta::seconds(1);
            assert_eq!(rule.between(after, utc("2101-01-01T00:00:00Z")), vec![], "nothing after: {rule}");
        }
        // 75 years, 18 of them leap (2028…2096).
        let daily = rule(Daily, 1, &[], until(LAST_UNTIL), d(2025, 1, 1), hm(9, 0), Europe::Moscow);
        assert_eq!(all(&daily).len(), 75 * 365 + 18);
        // A month of a rolling horizon far into the series.
        let may = daily.between(utc("2090-05-01T00:00:00Z"), utc("2090-06-01T00:00:00Z"));
        assert_eq!(may.len(), 31);
        assert_eq!((local(&may[0]), local(&may[30])), ("2090-05-01 09:00".to_owned(), "2090-05-31 09:00".to_owned()));
    }

    /// The crate restarts at the window's period, not at DTSTART: the rolling
    /// horizon costs a window's worth of dates, whatever the series' length.
    #[test]
    fn window_expansion_starts_near_the_window() {
        let daily = rule(Frequency::Daily, 2, &[], End::Until(LAST_UNTIL), d(2025, 1, 30), hm(9, 0), Europe::Moscow);
        let (anchor, before) = daily.anchor(d(2090, 5, 1)).unwrap();
        // 2025-01-30 → 2090-01-30: 65·365 + 16 leap days (2028…2088) = 23_741; → 2090-05-01: + 91 = 23_832 = 2·11_916.
        assert_eq!((anchor, before), (d(2090, 5, 1), 11_916));
        assert_eq!(daily.anchor(d(2090, 5, 2)).unwrap(), (d(2090, 5, 1), 11_916));
        let weekly =
            rule(Frequency::Weekly, 2, &[Mon, Wed, Fri], End::Count(500), d(2025, 3, 5), hm(9, 0), Europe::Moscow);
        // Week of 2025-03-03 + 2·52 weeks; before it: 2 + 51·3.
        assert_eq!(weekly.anchor(d(2027, 3, 3)).unwrap(), (d(2027, 3, 1), 155));
        let monthly = rule(Frequency::Monthly, 3, &[], End::Count(500), d(2026, 11, 29), hm(9, 0), Europe::Moscow);
        assert_eq!(monthly.anchor(d(2027, 7, 15)).unwrap(), (d(2027, 5, 1), 2));
    }

    /// Restarting the crate at an anchor gives exactly what a walk from DTSTART gives.
    #[test]
    fn windows_agree_with_the_full_expansion() {
        let rules = [
            rule(Frequency::Daily, 3, &[], End::Count(500), d(2025, 1, 30), hm(9, 0), Europe::Moscow),
            rule(Frequency::Weekly, 2, &[Mon, Wed, Fri], End::Count(500), d(2025, 3, 5), hm(9, 0), Europe::Moscow),
            rule(
                Frequency::Weekly,
                3,
                &[Wed, Fri],
                End::Until(d(2031, 6, 18)),
                d(2025, 3, 7),
                hm(23, 30),
                Asia::Kamchatka,
            ),
            rule(Frequency::Monthly, 1, &[], End::Count(120), d(2027, 1, 31), hm(2, 30), Europe::Berlin),
            rule(
                Frequency::Monthly,
                5,
                &[],
                End::Until(d(2060, 2, 29)),
                d(2025, 10, 30),
                hm(0, 15),
                Europe::Kaliningrad,
            ),
        ];
        for rule in rules {
            let full = all(&rule);
            assert!(!full.is_empty(), "{rule}");
            let step = TimeDelta::days(19);
            let mut from = full[0].at - TimeDelta::days(40);
            let mut pieces = Vec::new();
            while from <= full[full.len() - 1].at + TimeDelta::days(40) {
                pieces.extend(rule.between(from, from + step));
                from += step;
            }
            assert_eq!(pieces, full, "{rule}");
        }
    }

    /// S0-71: a single-date exception and a range are shown, flagged paused.
    #[test]
    fn pauses_flag_occurrences_without_removing_them() {
        let mut r = rule(Frequency::Daily, 1, &[], End::Count(10), d(2025, 3, 1), hm(9, 0), Europe::Moscow);
        r.pauses =
            vec![Pause { from: d(2025, 3, 3), to: d(2025, 3, 3) }, Pause { from: d(2025, 3, 6), to: d(2025, 3, 8) }];
        assert_eq!(r.validate(), Ok(()));
        let got: Vec<(String, bool)> = all(&r).iter().map(|i| (local(i), i.paused)).collect();
        let want = [
            ("2025-03-01 09:00", false),
            ("2025-03-02 09:00", false),
            ("2025-03-03 09:00", true),
            ("2025-03-04 09:00", false),
            ("2025-03-05 09:00", false),
            ("2025-03-06 09:00", true),
            ("2025-03-07 09:00", true),
            ("2025-03-08 09:00", true),
            ("2025-03-09 09:00", false),
            ("2025-03-10 09:00", false),
        ];
        assert_eq!(got, want.map(|(l, p)| (l.to_owned(), p)));
        // A paused last occurrence is still the last one.
        r.pauses.push(Pause { from: d(2025, 3, 10), to: d(2025, 4, 1) });
        assert_eq!(r.last().map(|i| (local(&i), i.paused)), Some(("2025-03-10 09:00".to_owned(), true)));
    }

    /// `between`: `from` inclusive, `to` exclusive.
    #[test]
    fn between_bounds() {
        let r = rule(Frequency::Daily, 1, &[], End::Count(10), d(2025, 1, 1), hm(9, 0), Europe::Moscow);
        let dates = |from: &str, to: &str| -> Vec<String> { r.between(utc(from), utc(to)).iter().map(local).collect() };
        assert_eq!(dates("2025-01-03T06:00:00Z", "2025-01-05T06:00:00Z"), ["2025-01-03 09:00", "2025-01-04 09:00"]);
        assert_eq!(dates("2025-01-03T06:00:01Z", "2025-01-05T06:00:01Z"), ["2025-01-04 09:00", "2025-01-05 09:00"]);
        assert_eq!(dates("2025-01-03T06:00:00Z", "2025-01-03T06:00:00Z"), Vec::<String>::new());
        assert_eq!(dates("2025-01-05T06:00:00Z", "2025-01-03T06:00:00Z"), Vec::<String>::new());
        assert_eq!(dates("2024-12-01T00:00:00Z", "2025-01-01T06:00:00Z"), Vec::<String>::new());
        assert_eq!(dates("2025-01-10T06:00:00Z", "2026-01-01T00:00:00Z"), ["2025-01-10 09:00"]);
        assert_eq!(dates("2025-01-10T06:00:01Z", "2026-01-01T00:00:00Z"), Vec::<String>::new());
    }

    /// S0-70: field violations, named as in the gRPC request.
    #[test]
    fn validate_names_the_offending_fields() {
        use Frequency::{Daily, Monthly, Once, Weekly};
        let base = || rule(Daily, 1, &[], End::Count(10), d(2025, 3, 5), hm(9, 0), Europe::Moscow);
        let with = |f: &dyn Fn(&mut Rule)| {
            let mut r = base();
            f(&mut r);
            r
        };
        let cases: Vec<(&str, Rule, Vec<&str>)> = vec![
            ("count 501", with(&|r| r.end = End::Count(501)), vec!["recurrence.count"]),
            ("count 0", with(&|r| r.end = End::Count(0)), vec!["recurrence.count"]),
            ("count 500 is allowed", with(&|r| r.end = End::Count(500)), vec![]),
            ("until 2100-01-01", with(&|r| r.end = End::Until(d(2100, 1, 1))), vec!["recurrence.until_date"]),
            ("until 2099-12-31 is allowed", with(&|r| r.end = End::Until(LAST_UNTIL)), vec![]),
            ("until before start", with(&|r| r.end = End::Until(d(2025, 3, 4))), vec!["recurrence.until_date"]),
            ("until on the start date is allowed", with(&|r| r.end = End::Until(d(2025, 3, 5))), vec![]),
            ("weekdays on daily", with(&|r| r.weekdays = vec![Mon]), vec!["recurrence.weekdays"]),
            (
                "weekdays on monthly",
                with(&|r| {
                    r.frequency = Monthly;
                    r.weekdays = vec![Mon];
                }),
                vec!["recurrence.weekdays"],
            ),
            ("interval 0", with(&|r| r.interval = 0), vec!["recurrence.interval"]),
            ("interval 100", with(&|r| r.interval = 100), vec!["recurrence.interval"]),
            (
                "pause from > to",
                with(&|r| {
                    r.pauses = vec![
                        Pause { from: d(2025, 3, 6), to: d(2025, 3, 6) },
                        Pause { from: d(2025, 3, 9), to: d(2025, 3, 8) },
                    ]
                }),
                vec!["pauses[1].to_date"],
            ),
            (
                "start after 2099",
                with(&|r| {
                    r.frequency = Once;
                    r.start_date = d(2100, 1, 1);
                }),
                vec!["start_date"],
            ),
            (
                "weekly Monday from a Wednesday until that Friday yields nothing",
                with(&|r| {
                    r.frequency = Weekly;
                    r.weekdays = vec![Mon];
                    r.end = End::Until(d(2025, 3, 7));
                }),
                vec!["recurrence.until_date"],
            ),
            (
                "500 days from mid-2099 would pass 2099-12-31",
                with(&|r| {
                    r.start_date = d(2099, 6, 1);
                    r.end = End::Count(500);
                }),
                vec!["recurrence.count"],
            ),
            (
                "several at once",
                with(&|r| {
                    r.interval = 0;
                    r.end = End::Count(501);
                    r.weekdays = vec![Fri];
                }),
                vec!["recurrence.interval", "recurrence.count", "recurrence.weekdays"],
            ),
            (
                "once ignores interval and end",
                with(&|r| {
                    r.frequency = Once;
                    r.interval = 0;
                    r.end = End::Count(0);
                }),
                vec![],
            ),
        ];
        for (name, rule, fields) in cases {
            let got = rule.validate().err().unwrap_or_default();
            assert_eq!(got.iter().map(|v| v.field.as_str()).collect::<Vec<_>>(), fields, "{name}");
            for violation in got {
                assert!(violation.description.chars().any(|c| matches!(c, 'а'..='я')), "{name}: {violation:?}");
            }
        }
    }

    /// The canonical text, exactly.
    #[test]
    fn to_rfc5545_exact_text() {
        let mut monthly =
            rule(Frequency::Monthly, 1, &[], End::Until(d(2025, 12, 31)), d(2025, 1, 31), hm(10, 0), Europe::Berlin);
        monthly.pauses = vec![
            Pause { from: d(2025, 3, 31), to: d(2025, 4, 30) },
            Pause { from: d(2025, 4, 30), to: d(2025, 4, 30) },
        ];
        let cases = [
            (
                rule(
                    Frequency::Weekly,
                    2,
                    &[Fri, Mon, Wed, Mon],
                    End::Count(10),
                    d(2025, 3, 5),
                    hm(9, 0),
                    Europe::Moscow,
                ),
                "DTSTART;TZID=Europe/Moscow:20250305T090000\n\
                 RRULE:FREQ=WEEKLY;INTERVAL=2;WKST=MO;BYDAY=MO,WE,FR;COUNT=10",
            ),
            (
                rule(Frequency::Weekly, 1, &[], End::Count(3), d(2025, 3, 5), hm(18, 0), Europe::Kaliningrad),
                "DTSTART;TZID=Europe/Kaliningrad:20250305T180000\n\
                 RRULE:FREQ=WEEKLY;INTERVAL=1;WKST=MO;BYDAY=WE;COUNT=3",
            ),
            // Paused Mar 31 (CEST) and Apr 30 as UTC EXDATEs; UNTIL is 23:59:59 CET in UTC.
            (
                monthly,
                "DTSTART;TZID=Europe/Berlin:20250131T100000\n\
                 RRULE:FREQ=MONTHLY;INTERVAL=1;BYMONTHDAY=31,-1;BYSETPOS=1;UNTIL=20251231T225959Z\n\
                 EXDATE:20250331T080000Z,20250430T080000Z",
            ),
            (
                rule(Frequency::Monthly, 3, &[], End::Count(4), d(2026, 11, 15), hm(10, 0), Europe::Moscow),
                "DTSTART;TZID=Europe/Moscow:20261115T100000\nRRULE:FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=15;COUNT=4",
            ),
            (
                rule(Frequency::Daily, 2, &[], End::Until(d(2025, 2, 7)), d(2025, 1, 30), hm(9, 0), Asia::Kamchatka),
                "DTSTART;TZID=Asia/Kamchatka:20250130T090000\nRRULE:FREQ=DAILY;INTERVAL=2;UNTIL=20250207T115959Z",
            ),
            (
                rule(Frequency::Once, 1, &[], End::Count(500), d(2025, 6, 15), hm(10, 30), Asia::Kamchatka),
                "DTSTART;TZID=Asia/Kamchatka:20250615T103000\nRRULE:FREQ=DAILY;INTERVAL=1;COUNT=1",
            ),
        ];
        for (rule, text) in cases {
            assert_eq!(rule.to_rfc5545(), text);
            assert_eq!(rule.to_string(), text);
        }
    }

    /// The canonical text parsed back by the `rrule` crate yields the unpaused
    /// instants: EXDATE in UTC still excludes after the round trip (unlike
    /// rrule 0.14's own `to_string()`).
    #[test]
    fn rfc5545_text_round_trips_through_the_crate() {
        let mut berlin =
            rule(Frequency::Monthly, 1, &[], End::Until(d(2026, 12, 31)), d(2025, 1, 31), hm(10, 0), Europe::Berlin);
        berlin.pauses = vec![
            Pause { from: d(2025, 3, 31), to: d(2025, 4, 30) },
            Pause { from: d(2025, 10, 1), to: d(2025, 11, 2) },
        ];
        let mut kamchatka =
            rule(Frequency::Weekly, 2, &[Mon, Wed, Fri], End::Count(500), d(2025, 3, 5), hm(9, 0), Asia::Kamchatka);
        kamchatka.pauses = vec![Pause { from: d(2025, 3, 17), to: d(2025, 3, 19) }];
        let rules = [
            berlin,
            kamchatka,
            rule(Frequency::Monthly, 3, &[], End::Count(40), d(2026, 11, 29), hm(9, 0), Europe::Moscow),
            rule(Frequency::Daily, 1, &[], End::Until(LAST_UNTIL), d(2025, 1, 1), hm(9, 0), Europe::Kaliningrad),
            rule(Frequency::Once, 1, &[], End::Count(500), d(2025, 6, 15), hm(10, 30), Europe::Moscow),
        ];
        for rule in rules {
            let parsed = RRuleSet::from_str(&rule.to_rfc5545()).unwrap();
            let theirs: Vec<DateTime<Utc>> = parsed.all(u16::MAX).dates.iter().map(|t| t.with_timezone(&Utc)).collect();
            let ours: Vec<DateTime<Utc>> = all(&rule).iter().filter(|i| !i.paused).map(|i| i.at).collect();
            assert_eq!(theirs, ours, "{rule}");
        }
    }

    #[test]
    fn resolve_local_gap_and_fold() {
        let berlin = |s: &str| resolve_local(Europe::Berlin, s.parse().unwrap()).with_timezone(&Utc);
        assert_eq!(berlin("2025-03-30T02:00:00"), utc("2025-03-30T01:00:00Z"));
        assert_eq!(berlin("2025-03-30T02:59:59"), utc("2025-03-30T01:00:00Z"));
        assert_eq!(berlin("2025-03-30T03:00:00"), utc("2025-03-30T01:00:00Z"));
        assert_eq!(berlin("2025-10-26T02:00:00"), utc("2025-10-26T00:00:00Z"));
        assert_eq!(berlin("2025-10-26T03:00:00"), utc("2025-10-26T02:00:00Z"));
        // Samoa skipped 30 December 2011 entirely: the first valid time is midnight on the 31st.
        let apia = resolve_local(chrono_tz::Pacific::Apia, "2011-12-30T09:00:00".parse().unwrap());
        assert_eq!(apia.naive_local(), "2011-12-31T00:00:00".parse::<NaiveDateTime>().unwrap());
    }
}
