//! The detectors of «Активность» (S0-90…S0-93): when a citizen's answers
//! (or their lack) open an episode. Each episode is raised once and closes
//! when its condition ends; the thresholds are tenant settings.
use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};

/// Which detector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Detector {
    /// «пропуск (5 дней)»: «Пропущено» day after day (S0-90).
    SkippedDays,
    /// «неактивный (10 дней)»: nothing pressed for days (S0-91).
    SilentDays,
    /// «без назначений (2 дня)»: the last assignment is near and nothing
    /// follows it (S0-92, S0-93).
    NoAssignments,
}

impl Detector {
    pub const ALL: [Detector; 3] = [Detector::SkippedDays, Detector::SilentDays, Detector::NoAssignments];

    pub fn as_str(self) -> &'static str {
        match self {
            Detector::SkippedDays => "skipped_days",
            Detector::SilentDays => "silent_days",
            Detector::NoAssignments => "no_assignments",
        }
    }

    pub fn parse(v: &str) -> Option<Detector> {
        Self::ALL.into_iter().find(|d| d.as_str() == v)
    }
}

/// A citizen's answers on one local day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DayAnswers {
    pub skipped: u32,
    pub done: u32,
}

/// S0-90: each of `n` days in a row had a reminder marked «Пропущено» and
/// none marked «Выполнено». The run ends today once today has an answer;
/// until then it ends yesterday (today's reminders may not have come yet),
/// so a streak does not flicker off every morning — and a «Выполнено»
/// today breaks it at once.
pub fn skipped_streak(days: &BTreeMap<NaiveDate, DayAnswers>, today: NaiveDate, n: u32) -> bool {
    if n == 0 {
        return false;
    }
    let skip_only = |d: NaiveDate| days.get(&d).is_some_and(|a| a.skipped > 0 && a.done == 0);
    let answered_today = days.get(&today).is_some_and(|a| a.skipped > 0 || a.done > 0);
    let end = if answered_today { today } else { today - Duration::days(1) };
    (0..i64::from(n)).all(|k| skip_only(end - Duration::days(k)))
}

/// S0-91: the oldest reminder the citizen received and left unanswered
/// since their last answer is at least `n` days old.
pub fn silent(oldest_unanswered_due: Option<DateTime<Utc>>, now: DateTime<Utc>, n: u32) -> bool {
    oldest_unanswered_due.is_some_and(|t| t <= now - Duration::days(i64::from(n)))
}

/// S0-92: the citizen's last citizen-facing assignment falls within `n`
/// days and nothing is planned after it. One that ended more than `n` days
/// ago is no longer news (switching the detector on does not raise it for
/// every citizen whose programme ended long ago).
pub fn no_assignments(last: Option<NaiveDate>, planned_after: bool, today: NaiveDate, n: u32) -> bool {
    let n = Duration::days(i64::from(n));
    !planned_after && last.is_some_and(|l| l <= today + n && l >= today - n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn days(list: &[(&str, u32, u32)]) -> BTreeMap<NaiveDate, DayAnswers> {
        list.iter().map(|(day, skipped, done)| (d(day), DayAnswers { skipped: *skipped, done: *done })).collect()
    }

    #[test]
    fn s0_90_five_skipped_days_in_a_row() {
        let five = days(&[
            ("2031-01-06", 1, 0),
            ("2031-01-07", 2, 0),
            ("2031-01-08", 1, 0),
            ("2031-01-09", 1, 0),
            ("2031-01-10", 1, 0),
        ]);
        assert!(skipped_streak(&five, d("2031-01-10"), 5));
        // The next morning, before today's reminder: still a streak.
        assert!(skipped_streak(&five, d("2031-01-11"), 5));
        // Two days later, nothing new: no longer.
        assert!(!skipped_streak(&five, d("2031-01-12"), 5));
        assert!(!skipped_streak(&five, d("2031-01-10"), 6));
    }

    #[test]
    fn a_done_day_or_a_gap_breaks_the_streak() {
        let done = days(&[
            ("2031-01-06", 1, 0),
            ("2031-01-07", 1, 1),
            ("2031-01-08", 1, 0),
            ("2031-01-09", 1, 0),
            ("2031-01-10", 1, 0),
        ]);
        assert!(!skipped_streak(&done, d("2031-01-10"), 5));
        let gap = days(&[("2031-01-06", 1, 0), ("2031-01-08", 1, 0), ("2031-01-09", 1, 0), ("2031-01-10", 1, 0)]);
        assert!(!skipped_streak(&gap, d("2031-01-10"), 5));
        assert!(skipped_streak(&gap, d("2031-01-10"), 3));
        // «Выполнено» today ends yesterday's streak at once.
        let mut today_done = days(&[
            ("2031-01-05", 1, 0),
            ("2031-01-06", 1, 0),
            ("2031-01-07", 1, 0),
            ("2031-01-08", 1, 0),
            ("2031-01-09", 1, 0),
        ]);
        assert!(skipped_streak(&today_done, d("2031-01-10"), 5));
        today_done.insert(d("2031-01-10"), DayAnswers { skipped: 0, done: 1 });
        assert!(!skipped_streak(&today_done, d("2031-01-10"), 5));
    }

    #[test]
    fn s0_91_silent_after_ten_days() {
        let now: DateTime<Utc> = "2031-01-20T12:00:00Z".parse().unwrap();
        assert!(silent(Some(now - Duration::days(10)), now, 10));
        assert!(!silent(Some(now - Duration::days(9)), now, 10));
        assert!(!silent(None, now, 10));
    }

    #[test]
    fn s0_92_no_assignments_within_two_days() {
        let today = d("2031-01-10");
        assert!(no_assignments(Some(d("2031-01-12")), false, today, 2));
        assert!(!no_assignments(Some(d("2031-01-13")), false, today, 2));
        assert!(!no_assignments(Some(d("2031-01-12")), true, today, 2));
        assert!(no_assignments(Some(d("2031-01-08")), false, today, 2));
        assert!(!no_assignments(Some(d("2030-12-01")), false, today, 2));
        assert!(!no_assignments(None, false, today, 2));
    }
}
