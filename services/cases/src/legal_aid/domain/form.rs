//! S2-31: the referral form («бланк перенаправления») generated from the
//! referral and its centre's details; consultants may edit it before
//! printing (S2-30). Plain text, one line per "\n": the print page lays it out.
use super::{CentreDetails, ReferralDraft};
use crate::legal_aid::strings as t;

/// The form of `r`, issued by the centre `centre_name` with `details`.
pub fn referral_form(centre_name: &str, details: &CentreDetails, r: &ReferralDraft) -> String {
    let mut out: Vec<String> = Vec::new();
    push(&mut out, "", centre_name);
    push(&mut out, "", &details.address);
    push(&mut out, t::FORM_PHONE, &details.phone);
    push(&mut out, t::FORM_EMAIL, &details.email);
    out.push(String::new());
    out.push(format!("{} {} {}", t::FORM_TITLE, t::FORM_DATE, r.date.format("%d.%m.%Y")));
    out.push(String::new());
    push(&mut out, t::FORM_TO, &r.to_organisation);
    push(&mut out, t::FORM_ADDRESS, &r.to_address);
    out.push(String::new());
    out.push(t::FORM_INTRO.to_string());
    push(&mut out, t::FORM_CLIENT, &r.client_full_name);
    push(&mut out, t::FORM_AGE, &r.client_age.map(|a| a.to_string()).unwrap_or_default());
    push(&mut out, t::FORM_CLIENT_PHONE, &r.client_phone);
    push(&mut out, t::FORM_CLIENT_ADDRESS, &r.client_address);
    out.push(String::new());
    push(&mut out, t::FORM_REASON, &r.reason);
    out.push(String::new());
    out.push(t::FORM_REQUEST.to_string());
    out.push(String::new());
    out.push(format!("{} {} {}", t::FORM_HEAD, t::FORM_SIGNATURE, details.head.trim()).trim_end().to_string());
    out.push(format!("{} {}", t::FORM_CONSULTANT, t::FORM_SIGNATURE));
    out.join("\n")
}

/// Adds "label value", or nothing when the value is empty.
fn push(out: &mut Vec<String>, label: &str, value: &str) {
    let value = value.trim();
    if !value.is_empty() {
        out.push(if label.is_empty() { value.to_string() } else { format!("{label} {value}") });
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    #[test]
    fn the_form_names_the_centre_the_client_and_the_addressee() {
        let details = CentreDetails {
            address: "г. Каракол, ул. Абдрахманова, 130".into(),
            phone: "+996 3922 5-00-00".into(),
            email: "karakol@cbyp.kg".into(),
            head: "Иманалиева Ж. К.".into(),
        };
        let r = ReferralDraft {
            consultation_id: None,
            client_full_name: "Асанов Бакыт".into(),
            client_age: Some(18),
            client_phone: String::new(),
            client_address: "Иссык-Кульская область, г. Каракол".into(),
            to_organisation: "Управление социального развития".into(),
            to_address: String::new(),
            reason: "Оформление пособия".into(),
            date: NaiveDate::from_ymd_opt(2019, 5, 3).unwrap(),
        };
        let f = referral_form("ЦБЮП г. Каракол", &details, &r);
        for want in [
            "ЦБЮП г. Каракол",
            "г. Каракол, ул. Абдрахманова, 130",
            "Тел.: +996 3922 5-00-00",
            "НАПРАВЛЕНИЕ от 03.05.2019",
            "Кому: Управление социального развития",
            "ФИО: Асанов Бакыт",
            "Возраст: 18",
            "Причина перенаправления: Оформление пособия",
            "Руководитель центра ____________ Иманалиева Ж. К.",
        ] {
            assert!(f.contains(want), "{want:?} missing in\n{f}");
        }
        assert!(!f.contains("Телефон:"), "empty lines are left out:\n{f}");
    }
}
