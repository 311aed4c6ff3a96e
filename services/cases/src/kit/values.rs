//! Parsed values of the citizen card: once you hold one, it is valid. Errors
//! are Russian sentences a person can act on (they become field violations).
use chrono::{Datelike, NaiveDate};

use crate::registry::strings as s;

/// A required part of a person's name (surname, name): trimmed, 1–100 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamePart(String);

impl NamePart {
    pub fn parse(v: &str, missing: &str) -> Result<Self, String> {
        let v = v.trim();
        if v.is_empty() {
            return Err(missing.into());
        }
        if v.chars().count() > 100 {
            return Err(s::TOO_LONG_100.into());
        }
        Ok(Self(v.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn into_string(self) -> String {
        self.0
    }
}

/// An optional name part (patronymic): trimmed, at most 100 characters.
pub fn optional_name(v: &str) -> Result<String, String> {
    let v = v.trim();
    if v.chars().count() > 100 { Err(s::TOO_LONG_100.into()) } else { Ok(v.to_string()) }
}

/// Free text with a length limit (situation, diary, call results).
pub fn text(v: &str, max_chars: usize) -> Result<String, String> {
    let v = v.trim();
    if v.chars().count() > max_chars { Err(s::text_too_long(max_chars)) } else { Ok(v.to_string()) }
}

/// The INN of an individual: 12 digits whose last two are check digits
/// (Federal Tax Service algorithm). Ten-digit INNs belong to organisations,
/// never to a person, so they are refused with a sentence saying so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inn(String);

impl Inn {
    const W11: [u32; 10] = [7, 2, 4, 10, 3, 5, 9, 4, 6, 8];
    const W12: [u32; 11] = [3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8];

    pub fn parse(v: &str) -> Result<Self, String> {
        let v: String = v.chars().filter(|c| !c.is_whitespace()).collect();
        if !v.chars().all(|c| c.is_ascii_digit()) {
            return Err(s::INN_DIGITS.into());
        }
        if v.len() == 10 {
            return Err(s::INN_OF_ORGANISATION.into());
        }
        if v.len() != 12 {
            return Err(s::INN_DIGITS.into());
        }
        let d: Vec<u32> = v.bytes().map(|b| u32::from(b - b'0')).collect();
        let check = |weights: &[u32]| weights.iter().zip(&d).map(|(w, x)| w * x).sum::<u32>() % 11 % 10;
        if d.iter().all(|x| *x == 0) || check(&Self::W11) != d[10] || check(&Self::W12) != d[11] {
            return Err(s::INN_CHECKSUM.into());
        }
        Ok(Self(v))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A phone number normalised to E.164. Russian local forms (8XXXXXXXXXX,
/// XXXXXXXXXX) become +7XXXXXXXXXX. The same rules as identity's `Phone`
/// (identity stores the citizen account's copy): both belong in one shared
/// values crate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    pub fn parse(v: &str) -> Result<Self, String> {
        let v = v.trim();
        if v.is_empty() {
            return Err(s::PHONE_REQUIRED.into());
        }
        let plus = v.starts_with('+');
        if v.chars().any(|c| !(c.is_ascii_digit() || " +-()".contains(c))) || v.matches('+').count() > 1 {
            return Err(s::PHONE_INVALID.into());
        }
        let digits: String = v.chars().filter(char::is_ascii_digit).collect();
        let e164 = match (plus, digits.len()) {
            (false, 11) if digits.starts_with('8') || digits.starts_with('7') => format!("+7{}", &digits[1..]),
            (false, 10) if digits.starts_with('9') => format!("+7{digits}"),
            (true, 11) if digits.starts_with('7') => format!("+{digits}"),
            (true, 8..=15) if !digits.starts_with('0') && !digits.starts_with('7') => format!("+{digits}"),
            _ => return Err(s::PHONE_INVALID.into()),
        };
        Ok(Self(e164))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A phone number kept as typed, deliberately looser than `Phone`: digits
/// with an optional leading +, spaces, dashes and brackets; 5 to 15 digits.
/// Legal aid's clients give local and international forms alike, so no
/// country rules apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoosePhone(String);

impl LoosePhone {
    pub fn parse(v: &str) -> Result<Self, String> {
        let v = v.trim();
        let body = v.strip_prefix('+').unwrap_or(v);
        let digits = body.chars().filter(char::is_ascii_digit).count();
        if body.chars().any(|c| !(c.is_ascii_digit() || " -()".contains(c))) || !(5..=15).contains(&digits) {
            return Err(crate::legal_aid::strings::PHONE_INVALID.into());
        }
        Ok(Self(v.to_string()))
    }
    pub fn into_string(self) -> String {
        self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(v: &str) -> Result<Self, String> {
        let v = v.trim();
        let ok = v.len() <= 254
            && !v.contains(char::is_whitespace)
            && v.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains('@')
            });
        if ok { Ok(Self(v.to_lowercase())) } else { Err(s::EMAIL_INVALID.into()) }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A calendar date written `YYYY-MM-DD` (or `DD.MM.YYYY`, as people type it).
pub fn date(v: &str) -> Result<NaiveDate, String> {
    let v = v.trim();
    NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(v, "%d.%m.%Y"))
        .map_err(|_| s::DATE_INVALID.to_string())
}

/// A birth date: a real date, not in the future, not before 1900.
pub fn birth_date(v: &str, today: NaiveDate) -> Result<NaiveDate, String> {
    let d = date(v)?;
    if d > today || d.year() < 1900 {
        return Err(s::BIRTH_DATE_RANGE.into());
    }
    Ok(d)
}

/// An IANA time zone name (`Europe/Moscow`).
pub fn time_zone(v: &str) -> Result<chrono_tz::Tz, String> {
    v.trim().parse::<chrono_tz::Tz>().map_err(|_| s::TIME_ZONE_INVALID.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn personal_inn_checksums() {
        // Valid 12-digit INNs (check digits computed by the FNS algorithm).
        for ok in ["500100732259", "7707 0832 8995", "773370857141"] {
            assert!(Inn::parse(ok).is_ok(), "{ok}");
        }
        assert_eq!(Inn::parse("500100732258").unwrap_err(), s::INN_CHECKSUM);
        assert_eq!(Inn::parse("500100732269").unwrap_err(), s::INN_CHECKSUM);
        assert_eq!(Inn::parse("000000000000").unwrap_err(), s::INN_CHECKSUM);
        assert_eq!(Inn::parse("7707083893").unwrap_err(), s::INN_OF_ORGANISATION);
        assert_eq!(Inn::parse("12345").unwrap_err(), s::INN_DIGITS);
        assert_eq!(Inn::parse("50010073225a").unwrap_err(), s::INN_DIGITS);
    }

    #[test]
    fn russian_phones_normalise_to_e164() {
        assert_eq!(Phone::parse("8 (912) 345-67-89").unwrap().as_str(), "+79123456789");
        assert_eq!(Phone::parse("9123456789").unwrap().as_str(), "+79123456789");
        assert_eq!(Phone::parse("+7 912 345 67 89").unwrap().as_str(), "+79123456789");
        assert_eq!(Phone::parse("+375 29 123 45 67").unwrap().as_str(), "+375291234567");
        assert_eq!(Phone::parse("  ").unwrap_err(), s::PHONE_REQUIRED);
        for bad in ["12345", "8912abc6789", "+7 912 345 67 8", "++79123456789", "+0123456789"] {
            assert_eq!(Phone::parse(bad).unwrap_err(), s::PHONE_INVALID, "{bad}");
        }
    }

    #[test]
    fn emails_and_names() {
        assert_eq!(Email::parse("Ivan@Example.ru").unwrap().as_str(), "ivan@example.ru");
        for bad in ["ivan", "ivan@", "@x.ru", "a@b", "a b@c.ru"] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(NamePart::parse("  ", s::SURNAME_REQUIRED).unwrap_err(), s::SURNAME_REQUIRED);
        assert_eq!(NamePart::parse(" Иванова ", s::SURNAME_REQUIRED).unwrap().as_str(), "Иванова");
        assert!(optional_name(&"я".repeat(101)).is_err());
    }

    #[test]
    fn dates() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
        assert_eq!(birth_date("1980-05-17", today).unwrap(), NaiveDate::from_ymd_opt(1980, 5, 17).unwrap());
        assert_eq!(birth_date("17.05.1980", today).unwrap(), NaiveDate::from_ymd_opt(1980, 5, 17).unwrap());
        assert_eq!(birth_date("2026-11-26", today).unwrap_err(), s::BIRTH_DATE_RANGE);
        assert_eq!(birth_date("1899-12-31", today).unwrap_err(), s::BIRTH_DATE_RANGE);
        assert_eq!(date("2026-02-30").unwrap_err(), s::DATE_INVALID);
        assert!(time_zone("Europe/Moscow").is_ok());
        assert!(time_zone("Mars/Olympus").is_err());
    }
}
