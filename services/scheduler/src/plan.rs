//! Materialisation: a series' rule becomes occurrence rows over a rolling
//! horizon (not all 500 up front, never held in memory beyond one window).
//! Used when a series is created or replaced and by the horizon job.
use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::domain::Status;
use crate::domain::recurrence::Rule;
use crate::store::occurrences::{self, NewOccurrence};

/// What to materialise for one series.
pub struct Target<'a> {
    pub tenant_id: Uuid,
    pub series_id: Uuid,
    pub citizen_id: Uuid,
    pub kind: &'a str,
    pub rule: &'a Rule,
}

/// The rows for the rule's instants in [from, to): paused ones (an
/// exception covers them, S0-71) are stored black.
pub fn rows(rule: &Rule, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<NewOccurrence> {
    if from >= to {
        return Vec::new();
    }
    rule.between(from, to)
        .into_iter()
        .map(|i| NewOccurrence {
            original_at: i.at,
            local_date: i.local.date(),
            local_time: i.local.time(),
            status: if i.paused { Status::Paused.as_str() } else { Status::Planned.as_str() },
        })
        .collect()
}

/// Inserts the occurrences of [from, to) the series lacks; returns how many.
pub async fn materialise(
    conn: &mut PgConnection,
    t: &Target<'_>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    let rows = rows(t.rule, from, to);
    occurrences::insert_occurrences(conn, t.tenant_id, t.series_id, t.citizen_id, t.kind, &rows, now).await
}
