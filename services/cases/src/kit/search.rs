//! Russian-aware registry search (S0-111): text is folded to lower case with
//! ё as е and split into words; a citizen matches when every query word is
//! the beginning of one of their words. The folding is done here, not by
//! Postgres' `lower()`, whose result depends on the database's LC_CTYPE.

/// Longest term stored; longer words are cut (a query is cut the same way).
pub const MAX_TERM_CHARS: usize = 64;
/// Most distinct words indexed per field (a very long situation text is
/// searchable by its first words).
pub const MAX_TERMS: usize = 500;
/// Most words a query may have.
pub const MAX_QUERY_WORDS: usize = 8;

/// Lower case, ё → е, anything but letters and digits → space, single spaces.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut gap = false;
    for c in text.chars().flat_map(char::to_lowercase) {
        let c = if c == 'ё' { 'е' } else { c };
        if c.is_alphanumeric() {
            if gap && !out.is_empty() {
                out.push(' ');
            }
            gap = false;
            out.push(c);
        } else {
            gap = true;
        }
    }
    out
}

/// The distinct folded words of `text`, in order of appearance.
pub fn words(text: &str, max: usize) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for w in fold(text).split(' ').filter(|w| !w.is_empty()) {
        let w: String = w.chars().take(MAX_TERM_CHARS).collect();
        if !seen.contains(&w) {
            seen.push(w);
            if seen.len() == max {
                break;
            }
        }
    }
    seen
}

/// The sort key of a full name: folded, so ё sorts as е and case is ignored.
pub fn sort_name(surname: &str, name: &str, patronymic: &str) -> String {
    fold(&format!("{surname} {name} {patronymic}"))
}

/// One query word as a half-open range `[from, to)` of terms that begin
/// with it, in code-point order (the terms column is `collate "C"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrefixRange {
    pub from: String,
    pub to: String,
}

impl PrefixRange {
    pub fn of(word: &str) -> Self {
        let mut chars: Vec<char> = word.chars().collect();
        // The smallest string greater than every string starting with
        // `word`: bump the last character (skipping the surrogate gap).
        while let Some(last) = chars.pop() {
            let next = (last as u32 + 1..=char::MAX as u32).find_map(char::from_u32);
            if let Some(n) = next {
                chars.push(n);
                return Self { from: word.to_string(), to: chars.into_iter().collect() };
            }
        }
        // Only char::MAX characters: no upper bound exists; use one past any text.
        Self { from: word.to_string(), to: char::MAX.to_string().repeat(MAX_TERM_CHARS + 1) }
    }
}

/// A search query, parsed: `None` when it has no words.
pub fn query(text: &str) -> Option<Vec<PrefixRange>> {
    let ws = words(text, MAX_QUERY_WORDS);
    (!ws.is_empty()).then(|| ws.iter().map(|w| PrefixRange::of(w)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_ignores_case_yo_and_punctuation() {
        assert_eq!(fold("  СЕМЁНОВА  Алёна-Мария, 2-я группа!"), "семенова алена мария 2 я группа");
        assert_eq!(fold("Ёжиков"), fold("ежиков"));
        assert_eq!(fold("..."), "");
    }

    #[test]
    fn words_are_distinct_and_capped() {
        assert_eq!(words("Иванов иванов ИВАНОВ Пётр", 10), vec!["иванов", "петр"]);
        assert_eq!(words("а б в г", 2), vec!["а", "б"]);
        let long = "я".repeat(100);
        assert_eq!(words(&long, 10)[0].chars().count(), MAX_TERM_CHARS);
    }

    #[test]
    fn a_prefix_range_holds_exactly_the_words_it_begins() {
        let r = PrefixRange::of("семен");
        assert_eq!(r.to, "семео");
        for w in ["семен", "семенова", "семеныч"] {
            assert!(w >= r.from.as_str() && w < r.to.as_str(), "{w}");
        }
        for w in ["семе", "семео", "семя", "сем"] {
            assert!(!(w >= r.from.as_str() && w < r.to.as_str()), "{w}");
        }
        // The surrogate gap is skipped.
        assert_eq!(PrefixRange::of("a\u{D7FF}").to, "a\u{E000}");
        assert!(query(" , ").is_none());
        assert_eq!(query("Семёнова Ал").unwrap().len(), 2);
    }

    #[test]
    fn names_sort_alphabetically_in_code_point_order() {
        let mut names = vec![sort_name("Яковлева", "", ""), sort_name("Ёлкина", "", ""), sort_name("Абрамова", "", "")];
        names.sort();
        assert_eq!(names, vec!["абрамова", "елкина", "яковлева"]);
    }
}
