//! Paging helpers of the `List*` RPCs: `slice` for lists read whole in one
//! query, `page_number`/`next_page` for lists with numbered pages.
use crate::error::AppError;

/// The most rows one page carries when the caller asks for a size.
pub const MAX_PAGE_SIZE: usize = 1000;

/// One page of `rows` and the token of the next (empty on the last page).
/// `page_size` 0 keeps the whole list: these RPCs were released without
/// paging, and a caller from before it must still get everything.
pub fn slice<T>(mut rows: Vec<T>, page_size: i32, page_token: &str) -> Result<(Vec<T>, String), AppError> {
    let offset = match page_token.trim() {
        "" => 0,
        token => token.parse::<usize>().map_err(|_| AppError::invalid("page_token", "Неверный маркер страницы."))?,
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
            .ok_or_else(|| AppError::invalid("page_token", "Неверный маркер страницы.")),
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
