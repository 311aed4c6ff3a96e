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

// Lists released without paging, and lists with numbered pages (issue 10
// point 8): `page_size` 0 keeps such a list whole for callers from before.

/// The most rows one page carries when the caller asks for a size.
pub const MAX_PAGE_SIZE: usize = 1000;

/// One page of `rows` and the token of the next (empty on the last page).
/// `page_size` 0 keeps the whole list: these RPCs were released without
/// paging, and a caller from before it must still get everything.
pub fn slice<T>(mut rows: Vec<T>, page_size: i32, page_token: &str) -> Result<(Vec<T>, String), AppError> {
    let offset = match page_token.trim() {
        "" => 0,
        token => token.parse::<usize>().map_err(|_| AppError::invalid("page_token", PAGE_TOKEN_INVALID))?,
    };
    let size = match usize::try_from(page_size) {
        Ok(0) => usize::MAX,
        Ok(size) => size.min(MAX_PAGE_SIZE),
        Err(_) => return Err(AppError::invalid("page_size", "Размер страницы не может быть отрицательным.")),
    };
    let end = offset.saturating_add(size);
    let next = if end < rows.len() { end.to_string() } else { String::new() };
    rows.truncate(end);
    Ok((rows.into_iter().skip(offset).collect(), next))
}

/// The page to read of a list with numbered pages (a journal shows «стр. 3
/// из 7»): `page_token`, when given, names it and wins over `page`.
pub fn page_number(page: i32, page_token: &str) -> Result<i32, AppError> {
    match page_token.trim() {
        "" => Ok(page.max(1)),
        token => token
            .parse::<i32>()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| AppError::invalid("page_token", PAGE_TOKEN_INVALID)),
    }
}

/// The token of the page after `page` of `size` rows; empty when `total` ends on it.
pub fn next_page(page: i32, size: i64, total: i64) -> String {
    if i64::from(page) * size < total { (page + 1).to_string() } else { String::new() }
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

    #[test]
    fn pages_walk_the_list_and_zero_keeps_it_whole() {
        let rows = || (1..=5).collect::<Vec<_>>();
        assert_eq!(slice(rows(), 0, "").unwrap(), (rows(), String::new()));
        assert_eq!(slice(rows(), 2, "").unwrap(), (vec![1, 2], "2".into()));
        assert_eq!(slice(rows(), 2, "2").unwrap(), (vec![3, 4], "4".into()));
        assert_eq!(slice(rows(), 2, "4").unwrap(), (vec![5], String::new()));
        assert_eq!(slice(rows(), 5, "").unwrap(), (rows(), String::new()));
        assert_eq!(slice(rows(), 2, "9").unwrap(), (vec![], String::new()));
        assert!(slice(rows(), 2, "x").is_err());
        assert!(slice(rows(), -1, "").is_err());
    }

    #[test]
    fn numbered_pages_take_the_token_first() {
        assert_eq!(page_number(0, "").unwrap(), 1);
        assert_eq!(page_number(3, "").unwrap(), 3);
        assert_eq!(page_number(3, "2").unwrap(), 2);
        assert!(page_number(1, "0").is_err());
        assert_eq!(next_page(1, 2, 5), "2");
        assert_eq!(next_page(2, 2, 5), "3");
        assert_eq!(next_page(3, 2, 5), "");
        assert_eq!(next_page(1, 20, 0), "");
    }
}
