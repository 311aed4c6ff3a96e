//! Legal aid's types and rules without I/O: who may touch which centre's
//! records, the reference lists, the value rules of consultations, referrals
//! and questions, the online question's statuses, pages. `convert` parses
//! the requests with these rules (all violations at once).
use std::collections::HashMap;

use chrono::NaiveDate;
use opeka_platform::auth::Principal;
use opeka_platform::error::{AppError, Violations};
use uuid::Uuid;

pub mod form;
pub mod routing;

use super::strings as t;
use crate::kit::values::{Email, LoosePhone, date};

pub(crate) const MAX_NAME: usize = 200;
pub(crate) const MAX_SHORT: usize = 100;
pub(crate) const MAX_ADDRESS: usize = 500;
pub(crate) const MAX_REASON: usize = 2000;
pub(crate) const MAX_QUESTION: usize = 5000;
pub(crate) const MAX_ANSWER: usize = 10000;
pub(crate) const MAX_CODE: usize = 40;

// ----------------------------------------------------------------- standing

/// The caller's standing in legal aid, from their token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    pub id: Uuid,
    pub admin: bool,
    pub moderator: bool,
    /// A consultant's centre (the token's `org`); `None` when not a
    /// consultant or a consultant without an organisation.
    pub centre: Option<Uuid>,
    pub consultant: bool,
    pub staff: bool,
}

/// Whose records a call may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    All,
    Centre(Uuid),
}

impl Scope {
    pub fn covers(self, centre: Uuid) -> bool {
        match self {
            Scope::All => true,
            Scope::Centre(c) => c == centre,
        }
    }
    /// A filter for lists: the requested centre within the scope.
    pub fn narrow(self, requested: Option<Uuid>) -> Option<Uuid> {
        match self {
            Scope::All => requested,
            Scope::Centre(c) => Some(c),
        }
    }
}

impl Standing {
    pub fn of(p: &Principal) -> Self {
        let consultant = p.has_role("consultant");
        Self {
            id: p.account_id,
            admin: p.has_role("admin"),
            moderator: p.has_role("moderator"),
            centre: if consultant { p.organisation_id } else { None },
            consultant,
            staff: p.kind == "staff",
        }
    }

    /// Reading reference lists, centres and routes: any staff member.
    pub fn check_staff(&self) -> Result<(), AppError> {
        if self.staff { Ok(()) } else { Err(AppError::PermissionDenied(t::DENIED.into())) }
    }

    pub fn check_admin(&self) -> Result<(), AppError> {
        if self.admin { Ok(()) } else { Err(AppError::PermissionDenied(t::DENIED.into())) }
    }

    /// Consultations and referrals: an admin sees every centre, a consultant
    /// their own (S2-21).
    pub fn records(&self) -> Result<Scope, AppError> {
        if self.admin {
            return Ok(Scope::All);
        }
        match (self.consultant, self.centre) {
            (true, Some(c)) => Ok(Scope::Centre(c)),
            (true, None) => Err(AppError::PermissionDenied(t::NO_CENTRE.into())),
            _ => Err(AppError::PermissionDenied(t::DENIED.into())),
        }
    }

    /// Online questions: moderators also see every centre (they moderate them).
    pub fn questions(&self) -> Result<Scope, AppError> {
        if self.moderator && !self.admin {
            return Ok(Scope::All);
        }
        self.records()
    }

    /// The centre a new record goes to: a consultant's own (naming another
    /// is refused), the admin's choice (required).
    pub fn centre_for_new(&self, requested: Option<Uuid>) -> Result<Uuid, AppError> {
        match (self.records()?, requested) {
            (Scope::All, Some(c)) => Ok(c),
            (Scope::All, None) => Err(AppError::invalid("centre_id", t::CENTRE_REQUIRED)),
            (Scope::Centre(own), Some(c)) if c != own => Err(AppError::PermissionDenied(t::OTHER_CENTRE.into())),
            (Scope::Centre(own), _) => Ok(own),
        }
    }

    /// S2-35: the question's centre's consultants and admins answer.
    pub fn may_answer(&self, centre: Uuid) -> bool {
        self.admin || (self.consultant && self.centre == Some(centre))
    }

    /// S2-36: moderators and admins moderate.
    pub fn may_moderate(&self) -> bool {
        self.admin || self.moderator
    }
}

// --------------------------------------------------------------- references

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RefKind {
    Category,
    SocialStatus,
    Citizenship,
    Gender,
    HelpType,
    Region,
    District,
}

impl RefKind {
    pub const ALL: [RefKind; 7] = [
        RefKind::Category,
        RefKind::SocialStatus,
        RefKind::Citizenship,
        RefKind::Gender,
        RefKind::HelpType,
        RefKind::Region,
        RefKind::District,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RefKind::Category => "category",
            RefKind::SocialStatus => "social_status",
            RefKind::Citizenship => "citizenship",
            RefKind::Gender => "gender",
            RefKind::HelpType => "help_type",
            RefKind::Region => "region",
            RefKind::District => "district",
        }
    }

    pub fn parse(v: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == v)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefEntry {
    pub kind: RefKind,
    pub code: String,
    pub name: String,
    pub parent_code: String,
    pub archived: bool,
}

/// A tenant's reference lists, by kind and code.
#[derive(Debug, Clone, Default)]
pub struct Refs(HashMap<(RefKind, String), RefEntry>);

impl Refs {
    pub fn new(entries: impl IntoIterator<Item = RefEntry>) -> Self {
        Self(entries.into_iter().map(|e| ((e.kind, e.code.clone()), e)).collect())
    }
    pub fn get(&self, kind: RefKind, code: &str) -> Option<&RefEntry> {
        self.0.get(&(kind, code.to_string()))
    }
    /// The entry's name; empty for an empty or unknown code.
    pub fn name(&self, kind: RefKind, code: &str) -> String {
        self.get(kind, code).map(|e| e.name.clone()).unwrap_or_default()
    }
    /// «область, район, город» as one line (empty parts left out).
    pub fn residence_line(&self, region: &str, district: &str, city: &str) -> String {
        let parts = [self.name(RefKind::Region, region), self.name(RefKind::District, district), city.to_string()];
        parts.into_iter().filter(|p| !p.trim().is_empty()).collect::<Vec<_>>().join(", ")
    }
}

/// A reference entry to create or rename (UpsertLegalAidRef).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefDraft {
    pub kind: RefKind,
    /// `None`: generate one.
    pub code: Option<String>,
    pub name: String,
    pub parent_code: String,
    pub archived: bool,
}

// --------------------------------------------------------------- text values

pub(crate) fn trimmed(v: &str, max: usize) -> Result<String, String> {
    let v = v.trim();
    if v.chars().count() > max { Err(t::too_long(max)) } else { Ok(v.to_string()) }
}

pub(crate) fn required(v: &str, max: usize, missing: &str) -> Result<String, String> {
    let v = trimmed(v, max)?;
    if v.is_empty() { Err(missing.to_string()) } else { Ok(v) }
}

/// An optional phone or WhatsApp number (`LoosePhone`), or empty.
pub(crate) fn phone(v: &str) -> Result<String, String> {
    if v.trim().is_empty() { Ok(String::new()) } else { LoosePhone::parse(v).map(LoosePhone::into_string) }
}

/// An optional e-mail address (lower-cased).
pub fn email(v: &str) -> Result<String, String> {
    if v.trim().is_empty() {
        return Ok(String::new());
    }
    Email::parse(v).map(|e| e.as_str().to_string()).map_err(|_| t::EMAIL_INVALID.to_string())
}

/// A record's date: empty means today; never in the future.
pub fn record_date(v: &str, today: NaiveDate) -> Result<NaiveDate, String> {
    if v.trim().is_empty() {
        return Ok(today);
    }
    let d = date(v).map_err(|_| t::DATE_INVALID.to_string())?;
    if d > today { Err(t::DATE_FUTURE.into()) } else { Ok(d) }
}

/// An optional filter date.
pub fn filter_date(field: &str, v: &str, errs: &mut Violations) -> Option<NaiveDate> {
    if v.trim().is_empty() {
        return None;
    }
    errs.check(field, date(v).map_err(|_| t::DATE_INVALID.to_string()))
}

pub fn age(v: Option<i32>) -> Result<i32, String> {
    match v {
        None => Err(t::AGE_REQUIRED.into()),
        Some(a) if (0..=120).contains(&a) => Ok(a),
        Some(_) => Err(t::AGE_RANGE.into()),
    }
}

// ------------------------------------------------------------- consultations

/// A parsed «Добавить обращение» form (S2-11…S2-20, S2-41).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsultationDraft {
    pub full_name: String,
    pub age: i32,
    pub gender: String,
    pub citizenship: String,
    pub social_status: String,
    pub phone: String,
    pub whatsapp: String,
    pub email: String,
    pub region: String,
    pub district: String,
    pub city: String,
    pub categories: Vec<String>,
    pub help_type: String,
    pub written_appeal: bool,
    pub lawyer_provided: bool,
    pub date: NaiveDate,
}

/// The list's filters (S2-22, S2-23).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConsultationFilter {
    pub date_from: Option<NaiveDate>,
    pub date_to: Option<NaiveDate>,
    pub age_from: Option<i32>,
    pub age_to: Option<i32>,
    pub centre: Option<Uuid>,
}

/// The list's sortable columns (S2-24, S2-25).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsultationSort {
    Date,
    FullName,
    Gender,
    Age,
    SocialStatus,
    Citizenship,
    Centre,
    Category,
}

// ----------------------------------------------------------------- referrals

/// A parsed referral form (S2-29).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferralDraft {
    pub consultation_id: Option<Uuid>,
    pub client_full_name: String,
    pub client_age: Option<i32>,
    pub client_phone: String,
    pub client_address: String,
    pub to_organisation: String,
    pub to_address: String,
    pub reason: String,
    pub date: NaiveDate,
}

/// A hand-edited form text.
pub fn form_text(v: &str) -> Result<String, AppError> {
    trimmed(v, 20_000).map_err(|e| AppError::invalid("form_text", e))
}

// ----------------------------------------------------------- online questions

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuestionStatus {
    Waiting,
    Answered,
    Published,
    Rejected,
}

impl QuestionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            QuestionStatus::Waiting => "waiting",
            QuestionStatus::Answered => "answered",
            QuestionStatus::Published => "published",
            QuestionStatus::Rejected => "rejected",
        }
    }
    pub fn parse(v: &str) -> Option<Self> {
        [Self::Waiting, Self::Answered, Self::Published, Self::Rejected].into_iter().find(|s| s.as_str() == v)
    }
    pub fn label(self) -> &'static str {
        match self {
            QuestionStatus::Waiting => t::STATUS_WAITING,
            QuestionStatus::Answered => t::STATUS_ANSWERED,
            QuestionStatus::Published => t::STATUS_PUBLISHED,
            QuestionStatus::Rejected => t::STATUS_REJECTED,
        }
    }

    /// S2-35: a question gets (or changes) its answer until it is published.
    pub fn answer(self) -> Result<QuestionStatus, AppError> {
        match self {
            QuestionStatus::Published => Err(AppError::FailedPrecondition(t::ALREADY_PUBLISHED.into())),
            _ => Ok(QuestionStatus::Answered),
        }
    }

    /// S2-36: only an answer waiting for moderation is approved (→ public)
    /// or rejected (→ back to the centre).
    pub fn moderate(self, approve: bool) -> Result<QuestionStatus, AppError> {
        match self {
            QuestionStatus::Answered if approve => Ok(QuestionStatus::Published),
            QuestionStatus::Answered => Ok(QuestionStatus::Rejected),
            other => Err(AppError::FailedPrecondition(t::not_awaiting_moderation(other.label()))),
        }
    }
}

/// A parsed public question (S2-32).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuestionDraft {
    pub name: String,
    pub email: String,
    pub phone: String,
    pub region: String,
    pub district: String,
    pub city: String,
    pub text: String,
    pub request_id: Option<Uuid>,
}

pub fn answer_text(v: &str) -> Result<String, AppError> {
    required(v, MAX_ANSWER, t::ANSWER_REQUIRED).map_err(|e| AppError::invalid("answer", e))
}

pub fn moderation_comment(approve: bool, v: &str) -> Result<String, AppError> {
    let r = if approve { trimmed(v, MAX_REASON) } else { required(v, MAX_REASON, t::COMMENT_REQUIRED) };
    r.map_err(|e| AppError::invalid("comment", e))
}

/// A centre's details (UpdateLegalAidCentre).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CentreDetails {
    pub address: String,
    pub phone: String,
    pub email: String,
    pub head: String,
}

#[cfg(test)]
mod tests {
    use opeka_proto::cases as pb;

    use super::*;
    use crate::legal_aid::convert::*;

    fn caller(roles: &[&str], org: Option<Uuid>) -> Standing {
        let p = Principal {
            account_id: Uuid::now_v7(),
            tenant_id: Uuid::now_v7(),
            tenant_slug: "t".into(),
            kind: "staff".into(),
            roles: roles.iter().map(|r| r.to_string()).collect(),
            session_id: None,
            organisation_id: org,
            districts: vec![],
        };
        Standing::of(&p)
    }

    fn refs() -> Refs {
        Refs::new(super::super::strings::DEFAULT_REFS.iter().map(|(k, c, n, p)| RefEntry {
            kind: RefKind::parse(k).expect("kind"),
            code: c.to_string(),
            name: n.to_string(),
            parent_code: p.to_string(),
            archived: false,
        }))
    }

    fn input() -> pb::ConsultationInput {
        pb::ConsultationInput {
            full_name: " Асанов Бакыт ".into(),
            age: Some(18),
            gender_code: "male".into(),
            citizenship_code: "kg".into(),
            social_status_code: "low_income".into(),
            category_codes: vec!["inheritance".into(), "inheritance".into(), "land".into()],
            residence: Some(pb::LegalAidResidence {
                region_code: "issyk_kul".into(),
                district_code: "karakol".into(),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn fields(e: AppError) -> Vec<String> {
        match e {
            AppError::Invalid(v) => v.into_iter().map(|v| v.field).collect(),
            other => panic!("expected violations, got {other:?}"),
        }
    }

    #[test]
    fn consultants_are_held_to_their_centre_and_admins_choose() {
        let own = Uuid::now_v7();
        let other = Uuid::now_v7();
        let c = caller(&["consultant"], Some(own));
        assert_eq!(c.records().unwrap(), Scope::Centre(own));
        assert_eq!(c.centre_for_new(None).unwrap(), own);
        assert!(matches!(c.centre_for_new(Some(other)), Err(AppError::PermissionDenied(_))));
        assert_eq!(Scope::Centre(own).narrow(Some(other)), Some(own));
        let a = caller(&["admin"], None);
        assert_eq!(a.records().unwrap(), Scope::All);
        assert!(matches!(a.centre_for_new(None), Err(AppError::Invalid(_))));
        assert_eq!(a.centre_for_new(Some(other)).unwrap(), other);
        assert!(matches!(caller(&["consultant"], None).records(), Err(AppError::PermissionDenied(_))));
        assert!(matches!(caller(&["curator"], Some(own)).records(), Err(AppError::PermissionDenied(_))));
        let m = caller(&["moderator"], None);
        assert_eq!(m.questions().unwrap(), Scope::All);
        assert!(m.may_moderate() && !m.may_answer(own));
        assert!(c.may_answer(own) && !c.may_answer(other) && !c.may_moderate());
    }

    #[test]
    fn a_valid_form_is_trimmed_and_deduplicated() {
        let today = NaiveDate::from_ymd_opt(2019, 5, 3).unwrap();
        let d = consultation_draft(&input(), &refs(), today).unwrap();
        assert_eq!(d.full_name, "Асанов Бакыт");
        assert_eq!(d.categories, vec!["inheritance", "land"]);
        assert_eq!(d.date, today);
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let today = NaiveDate::from_ymd_opt(2019, 5, 3).unwrap();
        let bad = pb::ConsultationInput {
            full_name: " ".into(),
            age: Some(121),
            gender_code: String::new(),
            citizenship_code: "mars".into(),
            email: "not-an-address".into(),
            phone: "12ab".into(),
            category_codes: vec![],
            date: "2019-05-04".into(),
            residence: Some(pb::LegalAidResidence {
                region_code: "chui".into(),
                district_code: "karakol".into(),
                ..Default::default()
            }),
            ..input()
        };
        let f = fields(consultation_draft(&bad, &refs(), today).unwrap_err());
        for want in [
            "full_name",
            "age",
            "gender_code",
            "citizenship_code",
            "email",
            "phone",
            "category_codes",
            "date",
            "residence.district_code",
        ] {
            assert!(f.iter().any(|x| x == want), "{want} missing in {f:?}");
        }
        let no_age = pb::ConsultationInput { age: None, ..input() };
        assert_eq!(fields(consultation_draft(&no_age, &refs(), today).unwrap_err()), vec!["age"]);
        let zero = pb::ConsultationInput { age: Some(0), ..input() };
        assert_eq!(consultation_draft(&zero, &refs(), today).unwrap().age, 0);
    }

    #[test]
    fn phones_allow_local_and_international_forms() {
        for ok in ["", "+996 555 123 456", "0555-12-34-56", "(0312) 62-00-00"] {
            assert!(phone(ok).is_ok(), "{ok}");
        }
        for bad in ["12", "+996 555 abc", "++996555123456", "1234567890123456"] {
            assert!(phone(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_an_answer_under_moderation_is_moderated() {
        use QuestionStatus::*;
        assert_eq!(Waiting.answer().unwrap(), Answered);
        assert_eq!(Rejected.answer().unwrap(), Answered);
        assert_eq!(Answered.answer().unwrap(), Answered);
        assert!(matches!(Published.answer(), Err(AppError::FailedPrecondition(_))));
        assert_eq!(Answered.moderate(true).unwrap(), Published);
        assert_eq!(Answered.moderate(false).unwrap(), Rejected);
        for s in [Waiting, Published, Rejected] {
            assert!(matches!(s.moderate(true), Err(AppError::FailedPrecondition(_))));
        }
        assert!(moderation_comment(false, " ").is_err());
        assert!(moderation_comment(true, "").is_ok());
    }

    #[test]
    fn referral_client_fields_come_from_the_consultation_when_empty() {
        let today = NaiveDate::from_ymd_opt(2024, 1, 10).unwrap();
        let prefill = ReferralDraft {
            consultation_id: None,
            client_full_name: "Асанова Айгуль".into(),
            client_age: Some(40),
            client_phone: "+996 555 000 111".into(),
            client_address: "Иссык-Кульская область, г. Каракол".into(),
            to_organisation: String::new(),
            to_address: String::new(),
            reason: String::new(),
            date: today,
        };
        let i = pb::ReferralInput {
            to_organisation: "Социальный фонд".into(),
            reason: "Назначение пенсии".into(),
            ..Default::default()
        };
        let d = referral_draft(&i, Some(&prefill), today).unwrap();
        assert_eq!(d.client_full_name, "Асанова Айгуль");
        assert_eq!(d.client_age, Some(40));
        let f = fields(referral_draft(&pb::ReferralInput::default(), None, today).unwrap_err());
        assert_eq!(f, vec!["client_full_name", "to_organisation", "reason"]);
    }

    #[test]
    fn filters_check_their_ranges() {
        let r = pb::ListConsultationsRequest {
            date_from: "2024-02-01".into(),
            date_to: "2024-01-01".into(),
            age_from: Some(50),
            age_to: Some(20),
            ..Default::default()
        };
        assert_eq!(fields(consultation_filter(&r).unwrap_err()), vec!["date_to", "age_to"]);
        assert_eq!(consultation_sort(0, false), (ConsultationSort::Date, true));
        assert_eq!(consultation_sort(pb::ConsultationSort::Age as i32, false), (ConsultationSort::Age, false));
    }
}
