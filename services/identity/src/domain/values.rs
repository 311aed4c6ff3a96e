//! Parsed values: once you hold one, it is valid. Errors are Russian
//! sentences a person can act on (they become field violations).
use crate::strings as s;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Surname(String);

impl Surname {
    pub fn parse(v: &str) -> Result<Self, String> {
        let v = v.trim();
        if v.is_empty() {
            return Err(s::SURNAME_REQUIRED.into());
        }
        if v.chars().count() > 100 {
            return Err(s::TOO_LONG_100.into());
        }
        Ok(Self(v.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Optional name parts: trimmed, at most 100 characters.
pub fn optional_name(v: &str) -> Result<String, String> {
    let v = v.trim();
    if v.chars().count() > 100 { Err(s::TOO_LONG_100.into()) } else { Ok(v.to_string()) }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login(String);

impl Login {
    pub fn parse(v: &str) -> Result<Self, String> {
        let v = v.trim();
        if v.len() < 3 || v.len() > 64 {
            return Err(s::LOGIN_LENGTH.into());
        }
        // No '@': a login must never equal someone's email (login by either).
        if !v.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')) {
            return Err(s::LOGIN_CHARS.into());
        }
        Ok(Self(v.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(v: &str) -> Result<Self, String> {
        let v = v.trim();
        let ok = v.len() <= 254
            && v.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !v.contains(char::is_whitespace)
                    && domain.chars().all(|c| c != '@')
            });
        if ok { Ok(Self(v.to_lowercase())) } else { Err(s::EMAIL_INVALID.into()) }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A phone number normalised to E.164. Russian local forms (8XXXXXXXXXX,
/// XXXXXXXXXX) become +7XXXXXXXXXX.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    pub fn parse(v: &str) -> Result<Self, String> {
        let plus = v.trim_start().starts_with('+');
        if v.chars().any(|c| !(c.is_ascii_digit() || " +-()".contains(c))) {
            return Err(s::PHONE_INVALID.into());
        }
        let digits: String = v.chars().filter(char::is_ascii_digit).collect();
        let e164 = match (plus, digits.len()) {
            (false, 11) if digits.starts_with('8') || digits.starts_with('7') => format!("+7{}", &digits[1..]),
            (false, 10) if digits.starts_with('9') => format!("+7{digits}"),
            (true, 8..=15) if !digits.starts_with('0') => format!("+{digits}"),
            _ => return Err(s::PHONE_INVALID.into()),
        };
        Ok(Self(e164))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A Telegram username without the leading @ (5–32 of a-z, 0-9, _).
pub fn telegram_username(v: &str) -> Result<String, String> {
    let v = v.trim().trim_start_matches('@');
    if v.len() < 5 || v.len() > 32 || !v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(s::TELEGRAM_INVALID.into());
    }
    Ok(v.to_string())
}

/// A new password and its repeat: they must match and meet the length rule.
pub struct NewPassword(String);

impl NewPassword {
    pub fn parse(password: &str, repeat: &str, min_len: usize) -> Result<Self, (&'static str, String)> {
        if password.chars().count() < min_len {
            return Err(("password", s::password_too_short(min_len)));
        }
        if password.chars().count() > 128 {
            return Err(("password", s::PASSWORD_TOO_LONG.into()));
        }
        if password != repeat {
            return Err(("password_repeat", s::PASSWORDS_DIFFER.into()));
        }
        Ok(Self(password.to_string()))
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// A tenant slug: lowercase letters, digits and hyphens (URL and subject token).
pub fn tenant_slug(v: &str) -> Result<String, String> {
    let ok = !v.is_empty()
        && v.len() <= 40
        && v.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !v.starts_with('-');
    if ok { Ok(v.to_string()) } else { Err(s::SLUG_INVALID.into()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn surname_is_required() {
        assert!(Surname::parse("  ").is_err());
        assert_eq!(Surname::parse(" Иванова ").unwrap().as_str(), "Иванова");
    }

    #[test]
    fn russian_phones_normalise_to_e164() {
        assert_eq!(Phone::parse("8 (912) 345-67-89").unwrap().as_str(), "+79123456789");
        assert_eq!(Phone::parse("9123456789").unwrap().as_str(), "+79123456789");
        assert_eq!(Phone::parse("+7 912 345 67 89").unwrap().as_str(), "+79123456789");
        assert!(Phone::parse("12345").is_err());
        assert!(Phone::parse("8912abc6789").is_err());
    }

    #[test]
    fn emails() {
        assert_eq!(Email::parse("Ivan@Example.ru").unwrap().as_str(), "ivan@example.ru");
        for bad in ["ivan", "ivan@", "@x.ru", "a@b", "a b@c.ru"] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn passwords_must_match_and_be_long_enough() {
        assert_eq!(NewPassword::parse("short", "short", 8).err().unwrap().0, "password");
        assert_eq!(NewPassword::parse("longenough1", "longenough2", 8).err().unwrap().0, "password_repeat");
        assert!(NewPassword::parse("longenough1", "longenough1", 8).is_ok());
    }

    #[test]
    fn logins_and_slugs() {
        assert!(Login::parse("ivanova").is_ok());
        assert!(Login::parse("iv").is_err());
        assert!(Login::parse("иванова").is_err());
        assert!(tenant_slug("region-1").is_ok());
        assert!(tenant_slug("Region 1").is_err());
        assert_eq!(telegram_username("@ivan_petrov").unwrap(), "ivan_petrov");
    }
}
