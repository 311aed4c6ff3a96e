//! Parsed values: once you hold one, it is valid. Errors are Russian
//! sentences a person can act on (they become field violations).
use crate::strings as s;

/// «Наименование типа файла»: trimmed, inner runs of spaces collapsed, 1–100 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileTypeName(String);

impl FileTypeName {
    pub const MAX_CHARS: usize = 100;

    pub fn parse(v: &str) -> Result<Self, String> {
        let v = v.split_whitespace().collect::<Vec<_>>().join(" ");
        if v.is_empty() {
            return Err(s::FILE_TYPE_NAME_REQUIRED.into());
        }
        if v.chars().count() > Self::MAX_CHARS {
            return Err(s::FILE_TYPE_NAME_TOO_LONG.into());
        }
        Ok(Self(v))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The name the file had on the sender's side, reduced to a safe display
/// name: no directories, no control characters, at most 255 characters.
/// `None` when nothing is left (a photo from Telegram has no name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginalName(String);

impl OriginalName {
    pub const MAX_CHARS: usize = 255;

    pub fn parse(v: &str) -> Result<Option<Self>, String> {
        let base = v.rsplit(['/', '\\']).next().unwrap_or_default();
        let cleaned: String = base.chars().filter(|c| !c.is_control()).collect();
        let cleaned = cleaned.trim();
        if cleaned.is_empty() || cleaned == "." || cleaned == ".." {
            return Ok(None);
        }
        if cleaned.chars().count() > Self::MAX_CHARS {
            return Err(s::ORIGINAL_NAME_TOO_LONG.into());
        }
        Ok(Some(Self(cleaned.to_string())))
    }

    /// A name for a file sent without one: «файл.<ext>».
    pub fn fallback(extension: &str) -> Self {
        if extension.is_empty() { Self("файл".into()) } else { Self(format!("файл.{extension}")) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The lower-case extension, if the name has one.
    pub fn extension(&self) -> Option<String> {
        extension_of(&self.0)
    }
}

pub fn extension_of(name: &str) -> Option<String> {
    let (stem, ext) = name.rsplit_once('.')?;
    (!stem.is_empty() && !ext.is_empty() && ext.len() <= 8).then(|| ext.to_ascii_lowercase())
}

/// A declared size: not negative; over the limit is the caller's concern.
pub fn declared_size(v: Option<i64>) -> Result<Option<u64>, String> {
    match v {
        None => Ok(None),
        Some(n) if n < 0 => Err(s::DECLARED_SIZE_INVALID.into()),
        Some(n) => Ok(Some(n as u64)),
    }
}

/// The search key for names: lower case, ё as е (S0-102 search).
pub fn search_key(v: &str) -> String {
    v.trim().to_lowercase().replace('ё', "е")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_type_names_are_tidied_and_bounded() {
        assert_eq!(FileTypeName::parse("  Справка   о  доходах ").unwrap().as_str(), "Справка о доходах");
        assert_eq!(FileTypeName::parse("   ").unwrap_err(), s::FILE_TYPE_NAME_REQUIRED);
        assert!(FileTypeName::parse(&"я".repeat(100)).is_ok());
        assert_eq!(FileTypeName::parse(&"я".repeat(101)).unwrap_err(), s::FILE_TYPE_NAME_TOO_LONG);
    }

    #[test]
    fn original_names_lose_directories_and_control_characters() {
        let n = |v: &str| OriginalName::parse(v).unwrap().map(|n| n.as_str().to_string());
        assert_eq!(n("../../etc/passwd").as_deref(), Some("passwd"));
        assert_eq!(n(r"C:\Users\Иван\Справка.pdf").as_deref(), Some("Справка.pdf"));
        assert_eq!(n("скан\u{0}\n.jpg").as_deref(), Some("скан.jpg"));
        assert_eq!(n("  "), None);
        assert_eq!(n("dir/"), None);
        assert_eq!(n(".."), None);
        assert!(OriginalName::parse(&"a".repeat(256)).is_err());
        assert_eq!(OriginalName::fallback("jpg").as_str(), "файл.jpg");
    }

    #[test]
    fn extensions_are_lower_case() {
        assert_eq!(extension_of("Отчёт.DOCX").as_deref(), Some("docx"));
        assert_eq!(extension_of(".bashrc"), None);
        assert_eq!(extension_of("README"), None);
    }

    #[test]
    fn declared_sizes_are_not_negative() {
        assert_eq!(declared_size(None), Ok(None));
        assert_eq!(declared_size(Some(5)), Ok(Some(5)));
        assert!(declared_size(Some(-1)).is_err());
    }

    #[test]
    fn search_ignores_case_and_yo() {
        assert_eq!(search_key(" Счёт "), "счет");
    }
}
