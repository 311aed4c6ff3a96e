//! Wire ↔ domain for legal aid: rows become messages (with the names of
//! their reference codes and centres); a consultation prefills a referral.
use std::collections::HashMap;

use opeka_platform::wire::{date_str, opt_ts, opt_uuid, ts};
use opeka_proto::cases as pb;
use uuid::Uuid;

use super::domain::{RefKind, ReferralDraft, Refs};
use super::store::{CentreRow, ConsultationRow, QuestionRow, ReferralRow};

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
