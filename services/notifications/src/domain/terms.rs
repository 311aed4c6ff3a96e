//! The tenant's words for the citizen and the curator (S0-2), owned by cases
//! (`TenantSettings`), and the Russian case forms the bot's sentences need
//! («с координатором», «координатору», «координатора»).

/// The seed's words, used until (or whenever) cases cannot be asked.
pub const DEFAULT_CITIZEN_TERM: &str = "пользователь";
pub const DEFAULT_CURATOR_TERM: &str = "соц. куратор";

/// The tenant's terminology as the bot uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Terms {
    /// The citizen, nominative singular («пользователь», «пациент»…).
    pub citizen: String,
    /// The curator, nominative singular («соц. куратор», «координатор», «врач»…).
    pub curator: String,
}

impl Default for Terms {
    fn default() -> Self {
        Self { citizen: DEFAULT_CITIZEN_TERM.into(), curator: DEFAULT_CURATOR_TERM.into() }
    }
}

impl Terms {
    /// Cases' values; an empty one keeps the seed's word.
    pub fn new(citizen: &str, curator: &str) -> Self {
        let pick = |v: &str, d: &str| if v.trim().is_empty() { d.to_string() } else { v.trim().to_string() };
        Self { citizen: pick(citizen, DEFAULT_CITIZEN_TERM), curator: pick(curator, DEFAULT_CURATOR_TERM) }
    }

    /// «соц. куратор» → «Соц. куратор», to open a sentence.
    pub fn curator_capitalized(&self) -> String {
        capitalize(&self.curator)
    }

    /// Genitive: «соц. куратора».
    pub fn curator_gen(&self) -> String {
        decline(&self.curator, Case::Genitive)
    }

    /// Dative: «соц. куратору».
    pub fn curator_dat(&self) -> String {
        decline(&self.curator, Case::Dative)
    }

    /// Instrumental: «соц. куратором».
    pub fn curator_ins(&self) -> String {
        decline(&self.curator, Case::Instrumental)
    }
}

pub fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Case {
    Genitive,
    Dative,
    Instrumental,
}

/// Declines a singular term word by word: adjectives before the head noun
/// («социальный», «лечащий»), then the head noun; what follows the noun
/// («куратор семьи») and abbreviations («соц.») stay as written. Endings it
/// does not know (indeclinable or foreign words) stay as written too.
pub fn decline(term: &str, case: Case) -> String {
    let mut out = Vec::new();
    let mut done = false;
    for word in term.split(' ') {
        if done || !declinable(word) {
            out.push(word.to_string());
            continue;
        }
        match adjective(word, case) {
            Some(w) => out.push(w),
            None => {
                out.push(noun(word, case));
                done = true;
            }
        }
    }
    out.join(" ")
}

fn declinable(word: &str) -> bool {
    let letters = word.chars().filter(|c| c.is_alphabetic()).count();
    letters >= 2
        && !word.ends_with('.')
        && word.chars().all(|c| is_cyrillic(c) || c == '-')
        // «СВО», «МСЭ»: abbreviations.
        && !word.chars().all(|c| c.is_uppercase() || c == '-')
}

fn is_cyrillic(c: char) -> bool {
    matches!(c, 'а'..='я' | 'А'..='Я' | 'ё' | 'Ё')
}

fn split_end(word: &str, n: usize) -> (&str, String) {
    let idx = word.char_indices().rev().nth(n - 1).map(|(i, _)| i).unwrap_or(0);
    (&word[..idx], word[idx..].to_lowercase())
}

fn last_before(stem: &str) -> Option<char> {
    stem.chars().last().map(|c| c.to_lowercase().next().unwrap_or(c))
}

fn adjective(word: &str, case: Case) -> Option<String> {
    if word.chars().count() < 4 {
        return None;
    }
    let (stem, end) = split_end(word, 2);
    let before = last_before(stem)?;
    let velar = matches!(before, 'г' | 'к' | 'х');
    let hushing = matches!(before, 'ж' | 'ш' | 'ч' | 'щ');
    let ending = match (end.as_str(), case) {
        ("ый" | "ой", Case::Genitive) => "ого",
        ("ый" | "ой", Case::Dative) => "ому",
        ("ый" | "ой", Case::Instrumental) => "ым",
        ("ий", Case::Genitive) if velar => "ого",
        ("ий", Case::Dative) if velar => "ому",
        ("ий", Case::Genitive) => "его",
        ("ий", Case::Dative) => "ему",
        ("ий", Case::Instrumental) => "им",
        ("ая", _) if hushing => "ей",
        ("ая", _) => "ой",
        ("яя", _) => "ей",
        _ => return None,
    };
    Some(format!("{stem}{ending}"))
}

fn noun(word: &str, case: Case) -> String {
    let (stem, end) = split_end(word, 1);
    let Some(last) = end.chars().next() else { return word.to_string() };
    let before = last_before(stem);
    let after_hushing_or_velar = matches!(before, Some('г' | 'к' | 'х' | 'ж' | 'ш' | 'ч' | 'щ'));
    let consonant = "бвгджзклмнпрстфхцчшщ".contains(last);
    if consonant {
        let ending = match case {
            Case::Genitive => "а",
            Case::Dative => "у",
            Case::Instrumental => "ом",
        };
        return format!("{word}{ending}");
    }
    let ending = match (last, case) {
        ('ь' | 'й', Case::Genitive) => "я",
        ('ь' | 'й', Case::Dative) => "ю",
        ('ь' | 'й', Case::Instrumental) => "ем",
        ('а', Case::Genitive) if after_hushing_or_velar => "и",
        ('а', Case::Genitive) => "ы",
        ('а', Case::Dative) => "е",
        ('а', Case::Instrumental) if matches!(before, Some('ж' | 'ш' | 'ч' | 'щ' | 'ц')) => "ей",
        ('а', Case::Instrumental) => "ой",
        ('я', Case::Genitive) => "и",
        ('я', Case::Dative) => "е",
        ('я', Case::Instrumental) => "ей",
        _ => return word.to_string(),
    };
    format!("{stem}{ending}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forms(term: &str) -> [String; 3] {
        [decline(term, Case::Genitive), decline(term, Case::Dative), decline(term, Case::Instrumental)]
    }

    #[test]
    fn the_seeds_and_the_requirements_terms() {
        assert_eq!(forms("соц. куратор"), ["соц. куратора", "соц. куратору", "соц. куратором"]);
        assert_eq!(forms("координатор"), ["координатора", "координатору", "координатором"]);
        assert_eq!(forms("врач"), ["врача", "врачу", "врачом"]);
        assert_eq!(
            forms("социальный координатор"),
            ["социального координатора", "социальному координатору", "социальным координатором"]
        );
        assert_eq!(forms("лечащий врач"), ["лечащего врача", "лечащему врачу", "лечащим врачом"]);
    }

    #[test]
    fn other_endings_and_what_stays() {
        assert_eq!(forms("руководитель"), ["руководителя", "руководителю", "руководителем"]);
        assert_eq!(forms("медсестра"), ["медсестры", "медсестре", "медсестрой"]);
        assert_eq!(forms("куратор семьи"), ["куратора семьи", "куратору семьи", "куратором семьи"]);
        assert_eq!(
            forms("Социальный работник"),
            ["Социального работника", "Социальному работнику", "Социальным работником"]
        );
        // Indeclinable, foreign and abbreviated words are left as written.
        assert_eq!(decline("кюре", Case::Instrumental), "кюре");
        assert_eq!(decline("case manager", Case::Dative), "case manager");
        assert_eq!(decline("СВО", Case::Genitive), "СВО");
    }

    #[test]
    fn empty_values_keep_the_seeds_words() {
        assert_eq!(Terms::new(" ", ""), Terms::default());
        let t = Terms::new("пациент", " врач ");
        assert_eq!((t.curator.as_str(), t.curator_capitalized().as_str()), ("врач", "Врач"));
        assert_eq!(Terms::default().curator_capitalized(), "Соц. куратор");
    }
}
