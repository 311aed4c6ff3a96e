//! Time windows of the work queue (S0-82, S0-83): calendar days in the
//! tenant's time zone turned into half-open UTC ranges `[from, to)`.
use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

/// «За сегодня», «За вчера», «За эту неделю».
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Today,
    Yesterday,
    ThisWeek,
}

/// A half-open UTC range; `None` on a side means unbounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Window {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

impl Window {
    /// Both constraints at once.
    pub fn intersect(self, other: Window) -> Window {
        let max = |a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>| match (a, b) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        let min = |a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>| match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Window { from: max(self.from, other.from), to: min(self.to, other.to) }
    }
}

/// The instant a local calendar day begins (the first valid local time when
/// a clock change skips midnight).
pub fn start_of_day(day: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let mut t = day.and_hms_opt(0, 0, 0).expect("midnight exists");
    for _ in 0..4 {
        if let Some(local) = tz.from_local_datetime(&t).earliest() {
            return local.with_timezone(&Utc);
        }
        t += Duration::minutes(30);
    }
    Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0).expect("midnight exists"))
}

/// Today's local date at `now`.
pub fn local_today(now: DateTime<Utc>, tz: Tz) -> NaiveDate {
    now.with_timezone(&tz).date_naive()
}

/// The window of a quick filter at `now`; weeks start on Monday.
pub fn window(period: Period, tz: Tz, now: DateTime<Utc>) -> Window {
    let today = local_today(now, tz);
    let (first, days) = match period {
        Period::Today => (today, 1),
        Period::Yesterday => (today - Duration::days(1), 1),
        Period::ThisWeek => (today - Duration::days(today.weekday().num_days_from_monday() as i64), 7),
    };
    Window { from: Some(start_of_day(first, tz)), to: Some(start_of_day(first + Duration::days(days), tz)) }
}

/// «Дата начала» … «Дата окончания», both days included.
pub fn dates(from: Option<NaiveDate>, to: Option<NaiveDate>, tz: Tz) -> Window {
    Window { from: from.map(|d| start_of_day(d, tz)), to: to.map(|d| start_of_day(d + Duration::days(1), tz)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn days_are_moscow_days() {
        let tz: Tz = "Europe/Moscow".parse().unwrap();
        // 23:30 UTC on Tuesday is already Wednesday 02:30 in Moscow.
        let now = utc("2026-11-24T23:30:00Z");
        let today = window(Period::Today, tz, now);
        assert_eq!(today.from, Some(utc("2026-11-24T21:00:00Z")));
        assert_eq!(today.to, Some(utc("2026-11-25T21:00:00Z")));
        let yesterday = window(Period::Yesterday, tz, now);
        assert_eq!(yesterday.from, Some(utc("2026-11-23T21:00:00Z")));
        assert_eq!(yesterday.to, today.from);
        let week = window(Period::ThisWeek, tz, now);
        assert_eq!(week.from, Some(utc("2026-11-22T21:00:00Z")), "Monday 23 November, 00:00 MSK");
        assert_eq!(week.to, Some(utc("2026-11-29T21:00:00Z")));
    }

    #[test]
    fn date_ranges_include_both_days_and_intersect_with_periods() {
        let tz: Tz = "Europe/Moscow".parse().unwrap();
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let w = dates(Some(d("2026-11-01")), Some(d("2026-11-02")), tz);
        assert_eq!(w.from, Some(utc("2026-10-31T21:00:00Z")));
        assert_eq!(w.to, Some(utc("2026-11-02T21:00:00Z")));
        let open = dates(None, Some(d("2026-11-02")), tz);
        assert_eq!(open.from, None);
        let both = w.intersect(window(Period::Today, tz, utc("2026-11-02T10:00:00Z")));
        assert_eq!(both.from, Some(utc("2026-11-01T21:00:00Z")));
        assert_eq!(both.to, Some(utc("2026-11-02T21:00:00Z")));
    }

    #[test]
    fn a_skipped_midnight_starts_the_day_at_the_first_valid_time() {
        // Santiago skips 00:00–01:00 on the first Sunday of September.
        let tz: Tz = "America/Santiago".parse().unwrap();
        let day = NaiveDate::from_ymd_opt(2026, 9, 6).unwrap();
        let start = start_of_day(day, tz);
        assert_eq!(start.with_timezone(&tz).date_naive(), day);
    }
}
