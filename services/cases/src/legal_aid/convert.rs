//! Wire ↔ domain for legal aid: requests become drafts, filters and
//! details checked by the domain's rules (every violation at once), rows
//! become messages (with the names of their reference codes and centres).
use std::collections::HashMap;

use chrono::NaiveDate;
use opeka_platform::error::{AppError, Violations};
use opeka_platform::wire::{date_str, opt_id, opt_ts, opt_uuid, ts};
use opeka_proto::cases as pb;
use uuid::Uuid;

use super::domain::*;
use super::store::{CentreRow, ConsultationRow, QuestionRow, ReferralRow};
use super::strings as t;

pub type Centres = HashMap<Uuid, CentreRow>;

pub fn centre_name(centres: &Centres, id: Uuid) -> String {
    centres.get(&id).map(|c| c.name.clone()).unwrap_or_default()
}

pub fn centre_pb(c: &CentreRow) -> pb::LegalAidCentre {
    pb::LegalAidCentre {
        id: c.org_id.to_string(),
        name: c.name.clone(),
        address: c.address.clone(),
        phone: c.phone.clone(),
        email: c.email.clone(),
        head: c.head.clone(),
    }
}

pub fn consultation_pb(c: &ConsultationRow, refs: &Refs, centres: &Centres) -> pb::Consultation {
    pb::Consultation {
        id: c.id.to_string(),
        centre_id: c.centre_id.to_string(),
        centre_name: centre_name(centres, c.centre_id),
        consultant_id: c.consultant_id.to_string(),
        input: Some(pb::ConsultationInput {
            full_name: c.full_name.clone(),
            age: Some(c.age),
            gender_code: c.gender_code.clone(),
            citizenship_code: c.citizenship_code.clone(),
            social_status_code: c.social_status_code.clone(),
            phone: c.phone.clone(),
            whatsapp: c.whatsapp.clone(),
            email: c.email.clone(),
            residence: Some(refs.residence(&c.region_code, &c.district_code, &c.city)),
            category_codes: c.category_codes.clone(),
            help_type_code: c.help_type_code.clone(),
            written_appeal: c.written_appeal,
            lawyer_provided: c.lawyer_provided,
            date: date_str(Some(c.consulted_on)),
        }),
        gender_name: refs.name(RefKind::Gender, &c.gender_code),
        citizenship_name: refs.name(RefKind::Citizenship, &c.citizenship_code),
        social_status_name: refs.name(RefKind::SocialStatus, &c.social_status_code),
        category_names: c.category_codes.iter().map(|code| refs.name(RefKind::Category, code)).collect(),
        help_type_name: refs.name(RefKind::HelpType, &c.help_type_code),
        version: c.version,
        created_at: Some(ts(c.created_at)),
        updated_at: Some(ts(c.updated_at)),
    }
}

pub fn referral_pb(r: &ReferralRow, centres: &Centres) -> pb::Referral {
    pb::Referral {
        id: r.id.to_string(),
        centre_id: r.centre_id.to_string(),
        centre_name: centre_name(centres, r.centre_id),
        consultant_id: r.consultant_id.to_string(),
        input: Some(pb::ReferralInput {
            consultation_id: opt_uuid(r.consultation_id),
            client_full_name: r.client_full_name.clone(),
            client_age: r.client_age,
            client_phone: r.client_phone.clone(),
            client_address: r.client_address.clone(),
            to_organisation: r.to_organisation.clone(),
            to_address: r.to_address.clone(),
            reason: r.reason.clone(),
            date: date_str(Some(r.referred_on)),
        }),
        form_text: r.form_text.clone(),
        form_edited: r.form_edited,
        centre: centres.get(&r.centre_id).map(centre_pb),
        version: r.version,
        created_at: Some(ts(r.created_at)),
        updated_at: Some(ts(r.updated_at)),
    }
}

pub fn question_pb(q: &QuestionRow, refs: &Refs, centres: &Centres) -> pb::OnlineQuestion {
    pb::OnlineQuestion {
        id: q.id.to_string(),
        centre_id: q.centre_id.to_string(),
        centre_name: centre_name(centres, q.centre_id),
        asker_name: q.asker_name.clone(),
        contact_email: q.contact_email.clone(),
        contact_phone: q.contact_phone.clone(),
        residence: Some(refs.residence(&q.region_code, &q.district_code, &q.city)),
        text: q.question.clone(),
        status: q.status().to_pb() as i32,
        fallback: q.fallback,
        answer: q.answer.clone(),
        answered_by: opt_uuid(q.answered_by),
        answered_at: opt_ts(q.answered_at),
        moderation_comment: q.moderation_comment.clone(),
        moderated_by: opt_uuid(q.moderated_by),
        moderated_at: opt_ts(q.moderated_at),
        asked_at: Some(ts(q.asked_at)),
    }
}

pub fn published_pb(q: &QuestionRow, refs: &Refs, centres: &Centres) -> pb::PublishedQuestion {
    pb::PublishedQuestion {
        id: q.id.to_string(),
        text: q.question.clone(),
        answer: q.answer.clone(),
        centre_name: centre_name(centres, q.centre_id),
        region_name: refs.name(RefKind::Region, &q.region_code),
        asked_at: Some(ts(q.asked_at)),
        published_at: opt_ts(q.published_at),
    }
}

/// The client fields a referral takes from the consultation it follows.
pub fn prefill_from(c: &ConsultationRow, refs: &Refs) -> ReferralDraft {
    ReferralDraft {
        consultation_id: Some(c.id),
        client_full_name: c.full_name.clone(),
        client_age: Some(c.age),
        client_phone: c.phone.clone(),
        client_address: refs.residence_line(&c.region_code, &c.district_code, &c.city),
        to_organisation: String::new(),
        to_address: String::new(),
        reason: String::new(),
        date: c.consulted_on,
    }
}

/// The district's route as the routing page shows it.
pub fn route_pb(district: &str, centre: Option<Uuid>, refs: &Refs, centres: &Centres) -> pb::DistrictRoute {
    let region = refs.get(RefKind::District, district).map(|d| d.parent_code.clone()).unwrap_or_default();
    pb::DistrictRoute {
        district_code: district.to_string(),
        district_name: refs.name(RefKind::District, district),
        region_name: refs.name(RefKind::Region, &region),
        region_code: region,
        centre_id: opt_uuid(centre),
        centre_name: centre.map(|c| centre_name(centres, c)).unwrap_or_default(),
    }
}

pub fn ref_draft(r: &pb::UpsertLegalAidRefRequest, refs: &Refs) -> Result<RefDraft, AppError> {
    let mut errs = Violations::new();
    let kind = RefKind::from_pb(r.kind);
    if kind.is_none() {
        errs.add("kind", t::KIND_REQUIRED);
    }
    let code = r.code.trim();
    let code_ok = code.len() <= MAX_CODE && code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !code_ok {
        errs.add("code", t::CODE_INVALID);
    }
    let name = errs.check("name", required(&r.name, MAX_NAME, t::REQUIRED)).unwrap_or_default();
    let parent = r.parent_code.trim().to_string();
    match kind {
        Some(RefKind::District) if parent.is_empty() => errs.add("parent_code", t::REGION_REQUIRED),
        Some(RefKind::District) if refs.get(RefKind::Region, &parent).is_none() => {
            errs.add("parent_code", t::UNKNOWN_CODE)
        }
        Some(k) if k != RefKind::District && !parent.is_empty() => errs.add("parent_code", t::PARENT_ONLY_FOR_DISTRICT),
        _ => {}
    }
    errs.into_result()?;
    Ok(RefDraft {
        kind: kind.expect("checked above"),
        code: (!code.is_empty()).then(|| code.to_string()),
        name,
        parent_code: parent,
        archived: r.archived,
    })
}

/// A required code of `kind` that exists in `refs`.
fn code(field: &str, v: &str, kind: RefKind, refs: &Refs, errs: &mut Violations) -> String {
    let v = v.trim();
    if v.is_empty() {
        errs.add(field, t::CHOOSE);
    } else if refs.get(kind, v).is_none() {
        errs.add(field, t::UNKNOWN_CODE);
    }
    v.to_string()
}

/// An optional code of `kind`: empty, or one that exists.
fn opt_code(field: &str, v: &str, kind: RefKind, refs: &Refs, errs: &mut Violations) -> String {
    let v = v.trim();
    if !v.is_empty() && refs.get(kind, v).is_none() {
        errs.add(field, t::UNKNOWN_CODE);
    }
    v.to_string()
}

/// The residence's codes exist and the district lies in the region.
fn residence(r: Option<&pb::LegalAidResidence>, refs: &Refs, errs: &mut Violations) -> (String, String, String) {
    let default = pb::LegalAidResidence::default();
    let r = r.unwrap_or(&default);
    let region = opt_code("residence.region_code", &r.region_code, RefKind::Region, refs, errs);
    let district = opt_code("residence.district_code", &r.district_code, RefKind::District, refs, errs);
    if let Some(d) = refs.get(RefKind::District, &district)
        && !region.is_empty()
        && d.parent_code != region
    {
        errs.add("residence.district_code", t::DISTRICT_NOT_IN_REGION);
    }
    let city = errs.check("residence.city", trimmed(&r.city, MAX_SHORT)).unwrap_or_default();
    (region, district, city)
}

pub fn consultation_draft(
    i: &pb::ConsultationInput,
    refs: &Refs,
    today: NaiveDate,
) -> Result<ConsultationDraft, AppError> {
    let mut errs = Violations::new();
    let full_name = errs.check("full_name", required(&i.full_name, MAX_NAME, t::FULL_NAME_REQUIRED));
    let age = errs.check("age", age(i.age));
    let gender = code("gender_code", &i.gender_code, RefKind::Gender, refs, &mut errs);
    let citizenship = code("citizenship_code", &i.citizenship_code, RefKind::Citizenship, refs, &mut errs);
    let social_status = code("social_status_code", &i.social_status_code, RefKind::SocialStatus, refs, &mut errs);
    let phone_v = errs.check("phone", phone(&i.phone));
    let whatsapp = errs.check("whatsapp", phone(&i.whatsapp));
    let email_v = errs.check("email", email(&i.email));
    let (region, district, city) = residence(i.residence.as_ref(), refs, &mut errs);
    let mut categories: Vec<String> = Vec::new();
    for (n, c) in i.category_codes.iter().enumerate() {
        let c = c.trim();
        if c.is_empty() || categories.iter().any(|x| x == c) {
            continue;
        }
        if refs.get(RefKind::Category, c).is_none() {
            errs.add(&format!("category_codes[{n}]"), t::UNKNOWN_CODE);
        }
        categories.push(c.to_string());
    }
    if categories.is_empty() {
        errs.add("category_codes", t::CATEGORY_REQUIRED);
    }
    let help_type = opt_code("help_type_code", &i.help_type_code, RefKind::HelpType, refs, &mut errs);
    let date = errs.check("date", record_date(&i.date, today));
    errs.into_result()?;
    let missing = || AppError::internal(anyhow::anyhow!("a checked field is missing"));
    Ok(ConsultationDraft {
        full_name: full_name.ok_or_else(missing)?,
        age: age.ok_or_else(missing)?,
        gender,
        citizenship,
        social_status,
        phone: phone_v.ok_or_else(missing)?,
        whatsapp: whatsapp.ok_or_else(missing)?,
        email: email_v.ok_or_else(missing)?,
        region,
        district,
        city,
        categories,
        help_type,
        written_appeal: i.written_appeal,
        lawyer_provided: i.lawyer_provided,
        date: date.ok_or_else(missing)?,
    })
}

pub fn consultation_filter(r: &pb::ListConsultationsRequest) -> Result<ConsultationFilter, AppError> {
    let mut errs = Violations::new();
    let date_from = filter_date("date_from", &r.date_from, &mut errs);
    let date_to = filter_date("date_to", &r.date_to, &mut errs);
    if let (Some(a), Some(b)) = (date_from, date_to)
        && a > b
    {
        errs.add("date_to", t::PERIOD_ORDER);
    }
    let mut ages = [r.age_from, r.age_to];
    for (field, a) in ["age_from", "age_to"].iter().zip(ages.iter_mut()) {
        if let Some(v) = *a
            && !(0..=120).contains(&v)
        {
            errs.add(field, t::AGE_RANGE);
            *a = None;
        }
    }
    if let [Some(a), Some(b)] = ages
        && a > b
    {
        errs.add("age_to", t::AGE_ORDER);
    }
    let centre = opt_id("centre_id", &r.centre_id, &mut errs);
    errs.into_result()?;
    Ok(ConsultationFilter { date_from, date_to, age_from: ages[0], age_to: ages[1], centre })
}

/// The sort column and direction; unspecified is «Дата ↓».
pub fn consultation_sort(sort: i32, descending: bool) -> (ConsultationSort, bool) {
    use pb::ConsultationSort as S;
    match S::try_from(sort).unwrap_or(S::Unspecified) {
        S::Unspecified => (ConsultationSort::Date, true),
        S::Date => (ConsultationSort::Date, descending),
        S::FullName => (ConsultationSort::FullName, descending),
        S::Gender => (ConsultationSort::Gender, descending),
        S::Age => (ConsultationSort::Age, descending),
        S::SocialStatus => (ConsultationSort::SocialStatus, descending),
        S::Citizenship => (ConsultationSort::Citizenship, descending),
        S::Centre => (ConsultationSort::Centre, descending),
        S::Category => (ConsultationSort::Category, descending),
    }
}

/// Parses the form; `prefill` gives the client fields left empty (from the
/// consultation it follows) before the required ones are checked.
pub fn referral_draft(
    i: &pb::ReferralInput,
    prefill: Option<&ReferralDraft>,
    today: NaiveDate,
) -> Result<ReferralDraft, AppError> {
    let mut errs = Violations::new();
    let consultation_id = opt_id("consultation_id", &i.consultation_id, &mut errs);
    let pick = |v: &str, from: fn(&ReferralDraft) -> &str| -> String {
        if v.trim().is_empty() { prefill.map(|p| from(p).to_string()).unwrap_or_default() } else { v.to_string() }
    };
    let client_full_name = errs.check(
        "client_full_name",
        required(&pick(&i.client_full_name, |p| &p.client_full_name), MAX_NAME, t::FULL_NAME_REQUIRED),
    );
    let age_in = i.client_age.or_else(|| prefill.and_then(|p| p.client_age));
    let client_age = match age_in {
        None => None,
        Some(a) => errs.check("client_age", age(Some(a))),
    };
    let client_phone = errs.check("client_phone", phone(&pick(&i.client_phone, |p| &p.client_phone)));
    let client_address =
        errs.check("client_address", trimmed(&pick(&i.client_address, |p| &p.client_address), MAX_ADDRESS));
    let to_organisation =
        errs.check("to_organisation", required(&i.to_organisation, MAX_NAME, t::TO_ORGANISATION_REQUIRED));
    let to_address = errs.check("to_address", trimmed(&i.to_address, MAX_ADDRESS));
    let reason = errs.check("reason", required(&i.reason, MAX_REASON, t::REASON_REQUIRED));
    let date = errs.check("date", record_date(&i.date, today));
    errs.into_result()?;
    Ok(ReferralDraft {
        consultation_id,
        client_full_name: client_full_name.unwrap_or_default(),
        client_age,
        client_phone: client_phone.unwrap_or_default(),
        client_address: client_address.unwrap_or_default(),
        to_organisation: to_organisation.unwrap_or_default(),
        to_address: to_address.unwrap_or_default(),
        reason: reason.unwrap_or_default(),
        date: date.unwrap_or(today),
    })
}

/// The residence's codes are kept as sent: an unknown district is not an
/// error, it sends the question to the fallback centre (S2-33).
pub fn question_draft(r: &pb::AskQuestionRequest) -> Result<QuestionDraft, AppError> {
    let mut errs = Violations::new();
    let name = errs.check("name", trimmed(&r.name, MAX_NAME));
    let email_v = errs.check("contact_email", email(&r.contact_email));
    let phone_v = errs.check("contact_phone", phone(&r.contact_phone));
    let res = r.residence.clone().unwrap_or_default();
    let region = errs.check("residence.region_code", trimmed(&res.region_code, MAX_CODE));
    let district = errs.check("residence.district_code", trimmed(&res.district_code, MAX_CODE));
    let city = errs.check("residence.city", trimmed(&res.city, MAX_SHORT));
    let text = errs.check("text", required(&r.text, MAX_QUESTION, t::QUESTION_REQUIRED));
    let request_id = opt_id("request_id", &r.request_id, &mut errs);
    errs.into_result()?;
    Ok(QuestionDraft {
        name: name.unwrap_or_default(),
        email: email_v.unwrap_or_default(),
        phone: phone_v.unwrap_or_default(),
        region: region.unwrap_or_default(),
        district: district.unwrap_or_default(),
        city: city.unwrap_or_default(),
        text: text.unwrap_or_default(),
        request_id,
    })
}

pub fn centre_details(r: &pb::UpdateLegalAidCentreRequest) -> Result<CentreDetails, AppError> {
    let mut errs = Violations::new();
    let address = errs.check("address", trimmed(&r.address, MAX_ADDRESS));
    let phone_v = errs.check("phone", trimmed(&r.phone, MAX_SHORT));
    let email_v = errs.check("email", email(&r.email));
    let head = errs.check("head", trimmed(&r.head, MAX_NAME));
    errs.into_result()?;
    Ok(CentreDetails {
        address: address.unwrap_or_default(),
        phone: phone_v.unwrap_or_default(),
        email: email_v.unwrap_or_default(),
        head: head.unwrap_or_default(),
    })
}

impl RefKind {
    pub fn from_pb(v: i32) -> Option<Self> {
        use pb::LegalAidRefKind as K;
        Some(match K::try_from(v).ok()? {
            K::Unspecified => return None,
            K::Category => RefKind::Category,
            K::SocialStatus => RefKind::SocialStatus,
            K::Citizenship => RefKind::Citizenship,
            K::Gender => RefKind::Gender,
            K::HelpType => RefKind::HelpType,
            K::Region => RefKind::Region,
            K::District => RefKind::District,
        })
    }
    pub fn to_pb(self) -> pb::LegalAidRefKind {
        use pb::LegalAidRefKind as K;
        match self {
            RefKind::Category => K::Category,
            RefKind::SocialStatus => K::SocialStatus,
            RefKind::Citizenship => K::Citizenship,
            RefKind::Gender => K::Gender,
            RefKind::HelpType => K::HelpType,
            RefKind::Region => K::Region,
            RefKind::District => K::District,
        }
    }
}

impl RefEntry {
    pub fn to_pb(&self) -> pb::LegalAidRef {
        pb::LegalAidRef {
            kind: self.kind.to_pb() as i32,
            code: self.code.clone(),
            name: self.name.clone(),
            parent_code: self.parent_code.clone(),
            archived: self.archived,
        }
    }
}

impl Refs {
    pub fn residence(&self, region: &str, district: &str, city: &str) -> pb::LegalAidResidence {
        pb::LegalAidResidence {
            region_code: region.to_string(),
            district_code: district.to_string(),
            city: city.to_string(),
            region_name: self.name(RefKind::Region, region),
            district_name: self.name(RefKind::District, district),
        }
    }
}

impl QuestionStatus {
    pub fn to_pb(self) -> pb::QuestionStatus {
        match self {
            QuestionStatus::Waiting => pb::QuestionStatus::Waiting,
            QuestionStatus::Answered => pb::QuestionStatus::Answered,
            QuestionStatus::Published => pb::QuestionStatus::Published,
            QuestionStatus::Rejected => pb::QuestionStatus::Rejected,
        }
    }
    pub fn from_pb(v: i32) -> Option<Self> {
        Some(match pb::QuestionStatus::try_from(v).ok()? {
            pb::QuestionStatus::Unspecified => return None,
            pb::QuestionStatus::Waiting => QuestionStatus::Waiting,
            pb::QuestionStatus::Answered => QuestionStatus::Answered,
            pb::QuestionStatus::Published => QuestionStatus::Published,
            pb::QuestionStatus::Rejected => QuestionStatus::Rejected,
        })
    }
}
