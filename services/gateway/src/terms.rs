//! Each tenant's terminology (S0-2): how the registry section, the citizen
//! and the curator are named on its pages. Cases owns the words; the gateway
//! keeps a copy per tenant for a minute so the menu of every page can use
//! them without a call of its own.
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use opeka_proto::cases::{GetTenantSettingsRequest, TenantSettings};
use serde::Serialize;

use crate::AppState;
use crate::session::Auth;

const FRESH_FOR: Duration = Duration::from_secs(60);

/// Cases' defaults: a tenant that kept them sees the locale's own words.
const DEFAULT_CITIZENS_SECTION: &str = "Пользователи";
const DEFAULT_CITIZEN_TERM: &str = "пользователь";
const DEFAULT_CURATOR_TERM: &str = "соц. куратор";
const DEFAULT_CURATORS_SECTION: &str = "Соц. кураторы";
const DEFAULT_TIME_ZONE: &str = "Europe/Moscow";

/// The words pages show, ready for templates (`terms.*`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Terms {
    /// «Пользователи»: the menu item and the list's heading.
    pub citizens_section: String,
    /// «пользователь».
    pub citizen: String,
    /// «соц. куратор» and «Соц. куратор» (a column or a label).
    pub curator: String,
    pub curator_title: String,
    /// «Соц. кураторы».
    pub curators_section: String,
    /// Curators may read the whole registry.
    pub curators_read_all: bool,
    /// The tenant's IANA time zone: times on its pages are its local times.
    pub time_zone: String,
}

impl Terms {
    pub fn defaults(t: &crate::Strings) -> Self {
        Self {
            citizens_section: t.menu_citizens.into(),
            citizen: t.citizen_term.into(),
            curator: t.curator_term.into(),
            curator_title: capitalised(t.curator_term),
            curators_section: t.menu_curators.into(),
            curators_read_all: false,
            time_zone: DEFAULT_TIME_ZONE.into(),
        }
    }

    /// A tenant's own words over the locale's; a word left at cases'
    /// (Russian) default shows in the locale's spelling.
    pub fn from_settings(s: &TenantSettings, t: &crate::Strings) -> Self {
        let pick = |own: &str, default: &str, locale: &str| {
            let own = own.trim();
            if own.is_empty() || own == default { locale.to_string() } else { own.to_string() }
        };
        let curator = pick(&s.curator_term, DEFAULT_CURATOR_TERM, t.curator_term);
        Self {
            citizens_section: pick(&s.citizens_section, DEFAULT_CITIZENS_SECTION, t.menu_citizens),
            citizen: pick(&s.citizen_term, DEFAULT_CITIZEN_TERM, t.citizen_term),
            curator_title: capitalised(&curator),
            curator,
            curators_section: pick(&s.curators_section, DEFAULT_CURATORS_SECTION, t.menu_curators),
            curators_read_all: s.curators_read_all,
            time_zone: if s.time_zone.is_empty() { DEFAULT_TIME_ZONE.into() } else { s.time_zone.clone() },
        }
    }
}

impl Terms {
    pub fn tz(&self) -> chrono_tz::Tz {
        self.time_zone.parse().unwrap_or(chrono_tz::Europe::Moscow)
    }

    /// «31.12.2025 14:05» in the tenant's time zone; empty when unset.
    pub fn time(&self, ts: Option<&prost_types::Timestamp>) -> String {
        crate::identity::timestamp(ts)
            .map(|t| t.with_timezone(&self.tz()).format("%d.%m.%Y %H:%M").to_string())
            .unwrap_or_default()
    }
}

/// «1990-05-17» → «17.05.1990» (anything else as it came).
pub fn date(iso: &str) -> String {
    chrono::NaiveDate::parse_from_str(iso, "%Y-%m-%d")
        .map(|d| d.format("%d.%m.%Y").to_string())
        .unwrap_or_else(|_| iso.into())
}

fn capitalised(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[derive(Default)]
pub struct TermsCache(Mutex<HashMap<String, (Instant, Terms)>>);

impl TermsCache {
    fn get(&self, tenant: &str, fresh_only: bool) -> Option<Terms> {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.get(tenant).filter(|(at, _)| !fresh_only || at.elapsed() < FRESH_FOR).map(|(_, t)| t.clone())
    }

    fn put(&self, tenant: &str, terms: Terms) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.insert(tenant.to_string(), (Instant::now(), terms));
    }
}

impl AppState {
    /// The tenant's words, asking cases when the copy is older than a
    /// minute. Cases being away is no reason to refuse a page: the last
    /// copy (or the locale's words) is used instead.
    pub async fn terms(&self, auth: &Auth) -> Terms {
        if let Some(t) = self.terms.get(&auth.tenant, true) {
            return t;
        }
        match self.cases.clone().get_tenant_settings(auth.req(GetTenantSettingsRequest {})).await {
            Ok(s) => {
                let terms = Terms::from_settings(s.get_ref(), self.strings());
                self.terms.put(&auth.tenant, terms.clone());
                terms
            }
            Err(status) => {
                tracing::warn!(code = ?status.code(), message = status.message(), "tenant terminology unavailable");
                self.cached_terms(&auth.tenant)
            }
        }
    }

    /// What the layout shows: the last copy, or the locale's words.
    pub fn cached_terms(&self, tenant: &str) -> Terms {
        self.terms.get(tenant, false).unwrap_or_else(|| Terms::defaults(self.strings()))
    }

    /// After the admin saved new words.
    pub fn remember_terms(&self, tenant: &str, s: &TenantSettings) {
        self.terms.put(tenant, Terms::from_settings(s, self.strings()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_locale_and_own_words_win() {
        let t = crate::strings::Strings::for_locale("en").unwrap();
        let s = TenantSettings {
            citizens_section: "Пользователи".into(),
            citizen_term: "пациент".into(),
            curator_term: "врач".into(),
            ..Default::default()
        };
        let terms = Terms::from_settings(&s, t);
        assert_eq!(terms.citizens_section, t.menu_citizens);
        assert_eq!(terms.citizen, "пациент");
        assert_eq!(terms.curator_title, "Врач");
    }
}
