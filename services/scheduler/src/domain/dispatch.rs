//! Capacity-aware send-ahead: which of a tenant's waiting reminders must be
//! released now so that each reaches the bot in time for its own moment,
//! given that one bot sends at most `rate` messages a second.
//!
//! Reminders go out earliest-due first. If reminder `i` (0-based, in due
//! order) is released at `t`, the `j − i` ones after it can follow no faster
//! than one per `1/rate` seconds; so `i` must be released by
//! `L_i = min over j ≥ i of (due_j − (j − i)/rate)`. Releasing every reminder
//! whose `L_i` falls before the next dispatcher tick is as late as possible
//! while still on time whenever the bot's capacity allows. `L` increases
//! strictly along the order, so what is released is always a prefix.
use chrono::{DateTime, Utc};

/// How many of `due` (sorted ascending) must be released by `until` (the
/// next tick) at `rate` messages a second.
pub fn release_count(due: &[DateTime<Utc>], rate: u32, until: DateTime<Utc>) -> usize {
    // Exact integer arithmetic in units of 1/rate of a millisecond, so that
    // one message's gap (1/rate s) is exactly 1000 units.
    let rate = i64::from(rate.max(1));
    let units = |t: &DateTime<Utc>| t.timestamp_millis().saturating_mul(rate);
    let until = units(&until);
    // L_i = min(due_i, L_{i+1} − gap), computed from the end; then the
    // prefix is every i with L_i ≤ until.
    let mut latest = vec![0i64; due.len()];
    let mut next = i64::MAX;
    for (i, t) in due.iter().enumerate().rev() {
        let l = units(t).min(next.saturating_sub(1000));
        latest[i] = l;
        next = l;
    }
    latest.iter().take_while(|l| **l <= until).count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn a_lone_reminder_waits_for_its_time() {
        let nine = at("2031-01-10T06:00:00Z");
        assert_eq!(release_count(&[nine], 30, nine - Duration::minutes(5)), 0);
        assert_eq!(release_count(&[nine], 30, nine - Duration::milliseconds(1)), 0);
        assert_eq!(release_count(&[nine], 30, nine), 1);
        // Overdue ones go at once.
        assert_eq!(release_count(&[nine], 30, nine + Duration::hours(1)), 1);
    }

    #[test]
    fn a_burst_starts_early_enough_for_the_last_to_be_on_time() {
        // 2,000 reminders at 09:00 and a bot sending 30 a second: the first
        // must go 1999/30 ≈ 66.6 s early, then 30 more every second.
        let nine = at("2031-01-10T06:00:00Z");
        let due = vec![nine; 2000];
        assert_eq!(release_count(&due, 30, nine - Duration::seconds(67)), 0);
        assert_eq!(release_count(&due, 30, nine - Duration::seconds(66)), 20);
        assert_eq!(release_count(&due, 30, nine - Duration::seconds(30)), 1100);
        assert_eq!(release_count(&due, 30, nine), 2000);
    }

    #[test]
    fn later_reminders_do_not_pull_an_early_one_forward_unless_needed() {
        let nine = at("2031-01-10T06:00:00Z");
        // One at 08:50, a burst of 300 at 09:00: the burst needs 10 s, so
        // nothing is released at 08:45, the 08:50 one at 08:50.
        let mut due = vec![nine - Duration::minutes(10)];
        due.extend(vec![nine; 300]);
        assert_eq!(release_count(&due, 30, nine - Duration::minutes(15)), 0);
        assert_eq!(release_count(&due, 30, nine - Duration::minutes(10)), 1);
        assert_eq!(release_count(&due, 30, nine - Duration::seconds(11)), 1);
        assert_eq!(release_count(&due, 30, nine - Duration::seconds(9)), 1 + 30);
    }

    #[test]
    fn the_released_part_is_a_prefix_that_grows_with_time() {
        let base = at("2031-01-10T06:00:00Z");
        let due: Vec<_> = (0..500).map(|i| base + Duration::seconds(i / 7)).collect();
        let mut last = 0;
        for s in -120..120 {
            let n = release_count(&due, 5, base + Duration::seconds(s));
            assert!(n >= last, "the prefix never shrinks");
            last = n;
        }
        assert_eq!(last, 500);
    }
}
