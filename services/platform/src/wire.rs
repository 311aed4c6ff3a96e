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

/// A window of a list with numbered pages (a journal shows «стр. 3 из 7»,
/// so its response carries the total): `page_token`, when given, names the
/// page and wins over `page`; `page_size` 0 means the list's default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NumberedPage {
    /// 1-based.
    pub number: i32,
    pub size: i64,
}

impl NumberedPage {
    pub fn parse(page: i32, page_token: &str, page_size: i32, default: i64, max: i64) -> Result<Self, AppError> {
        let number = match page_token.trim() {
            "" => page.max(1),
            token => token
                .parse::<i32>()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| AppError::invalid("page_token", PAGE_TOKEN_INVALID))?,
        };
        let size = if page_size <= 0 { default } else { i64::from(page_size).min(max) };
        Ok(Self { number, size })
    }

    pub fn offset(self) -> i64 {
        i64::from(self.number - 1) * self.size
    }

    /// How many pages `total` rows fill (at least one, so page 1 always exists).
    pub fn count(self, total: i64) -> i32 {
        let pages = (total + self.size - 1) / self.size;
        i32::try_from(pages.max(1)).unwrap_or(i32::MAX)
    }

    /// The token of the next page; empty when `total` ends on this one.
    pub fn next_token(self, total: i64) -> String {
        if i64::from(self.number) * self.size < total { (self.number + 1).to_string() } else { String::new() }
    }

    /// `size` as the responses' `page_size` field.
    pub fn size_i32(self) -> i32 {
        i32::try_from(self.size).unwrap_or(i32::MAX)
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
        let at = |page, token| NumberedPage::parse(page, token, 2, 20, 200).unwrap();
        assert_eq!(at(0, "").number, 1);
        assert_eq!(at(3, "").number, 3);
        assert_eq!(at(3, "2").number, 2);
        assert!(NumberedPage::parse(1, "0", 2, 20, 200).is_err());
        assert_eq!(at(1, "").next_token(5), "2");
        assert_eq!(at(2, "").next_token(5), "3");
        assert_eq!(at(3, "").next_token(5), "");
        assert_eq!(at(1, "").next_token(0), "");
        assert_eq!((at(3, "").offset(), at(3, "").count(5), at(1, "").count(0)), (4, 3, 1));
        let sized = |size| NumberedPage::parse(1, "", size, 20, 200).unwrap().size;
        assert_eq!((sized(0), sized(-3), sized(7), sized(9999)), (20, 20, 7, 200));
    }
}
