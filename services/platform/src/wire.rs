//! The wire helpers every service's `convert.rs` uses: timestamps, ids,
//! optional text and offset paging tokens, written once (issue 10
//! point 3). Messages are the ones every service showed before.
use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use crate::error::{AppError, Violations};

pub const ID_INVALID: &str = "Неверный идентификатор.";
pub const PAGE_TOKEN_INVALID: &str = "Неверный маркер страницы.";

/// Default and largest `page_size` of every `List*` call.
pub const PAGE_SIZE_DEFAULT: i64 = 50;
pub const PAGE_SIZE_MAX: i64 = 500;

pub fn ts(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp { seconds: t.timestamp(), nanos: t.timestamp_subsec_nanos() as i32 }
}

pub fn opt_ts(t: Option<DateTime<Utc>>) -> Option<prost_types::Timestamp> {
    t.map(ts)
}

pub fn from_ts(t: &Option<prost_types::Timestamp>) -> Option<DateTime<Utc>> {
    t.as_ref().and_then(|t| DateTime::from_timestamp(t.seconds, t.nanos.max(0) as u32))
}

/// `YYYY-MM-DD`, or empty.
pub fn date_str(d: Option<NaiveDate>) -> String {
    d.map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default()
}

/// An id, or empty.
pub fn opt_uuid(v: Option<Uuid>) -> String {
    v.map(|u| u.to_string()).unwrap_or_default()
}

/// Trimmed text, `None` when blank.
pub fn opt_text(v: &str) -> Option<&str> {
    let v = v.trim();
    (!v.is_empty()).then_some(v)
}

/// A required id.
pub fn id(field: &str, v: &str) -> Result<Uuid, AppError> {
    v.trim().parse().map_err(|_| AppError::invalid(field, ID_INVALID))
}

/// An optional id (empty → `None`), collecting a violation when malformed.
pub fn opt_id(field: &str, v: &str, errs: &mut Violations) -> Option<Uuid> {
    let v = opt_text(v)?;
    errs.check(field, v.parse::<Uuid>().map_err(|_| ID_INVALID.to_string()))
}

/// A list's window: `page_size` (default 50, at most 500) and the offset
/// carried in `page_token`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub limit: i64,
    pub offset: i64,
}

impl Page {
    pub fn parse(size: i32, token: &str) -> Result<Self, AppError> {
        let limit = if size <= 0 { PAGE_SIZE_DEFAULT } else { i64::from(size).min(PAGE_SIZE_MAX) };
        let offset = match opt_text(token) {
            None => 0,
            Some(t) => t
                .parse::<i64>()
                .ok()
                .filter(|o| *o >= 0)
                .ok_or_else(|| AppError::invalid("page_token", PAGE_TOKEN_INVALID))?,
        };
        Ok(Self { limit, offset })
    }

    /// The token of the next page after `got` rows of `total`, or empty at
    /// the end.
    pub fn next_token(&self, got: usize, total: i64) -> String {
        let next = self.offset + got as i64;
        if got > 0 && next < total { next.to_string() } else { String::new() }
    }

    /// The next page's token when the total is not counted: a full page
    /// means there may be more.
    pub fn next_token_if_full(&self, got: usize) -> String {
        if got as i64 == self.limit { (self.offset + got as i64).to_string() } else { String::new() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_default_cap_and_refuse_bad_tokens() {
        assert_eq!(Page::parse(0, "").unwrap(), Page { limit: 50, offset: 0 });
        assert_eq!(Page::parse(10_000, "20").unwrap(), Page { limit: 500, offset: 20 });
        assert!(Page::parse(10, "-1").is_err());
        assert!(Page::parse(10, "abc").is_err());
        let p = Page::parse(2, "2").unwrap();
        assert_eq!(p.next_token(2, 5), "4");
        assert_eq!(p.next_token(2, 4), "");
        assert_eq!(p.next_token_if_full(2), "4");
        assert_eq!(p.next_token_if_full(1), "");
    }

    #[test]
    fn ids_and_timestamps_round_trip() {
        let mut errs = Violations::new();
        assert_eq!(opt_id("x", "  ", &mut errs), None);
        assert_eq!(opt_id("x", "nope", &mut errs), None);
        assert!(!errs.is_empty());
        assert!(id("x", "nope").is_err());
        let now = DateTime::from_timestamp(1_700_000_000, 5).unwrap();
        assert_eq!(from_ts(&Some(ts(now))), Some(now));
    }
}
