//! Legal aid referrals («Перенаправления», S2-29…S2-31): the referral form
//! is generated from the referral and the centre's details, edited before
//! printing, and kept as edited.
use opeka_proto::cases as pb;
use tonic::Code;
use uuid::Uuid;

use crate::helpers::{expect_code, expect_invalid, invalid_fields};
use crate::legal_aid::{CENTRE_NAMES, World, add, input};

fn referral(consultation_id: &str) -> pb::CreateReferralRequest {
    pb::CreateReferralRequest {
        request_id: Uuid::now_v7().to_string(),
        centre_id: String::new(),
        input: Some(pb::ReferralInput {
            consultation_id: consultation_id.into(),
            to_organisation: "Управление социального развития Каракола".into(),
            to_address: "г. Каракол, ул. Токтогула, 20".into(),
            reason: "Оформление ежемесячного пособия".into(),
            date: "2024-03-05".into(),
            ..Default::default()
        }),
    }
}

/// S2-29…S2-31: create → the generated form names the centre (with its
/// details), the client and the addressee → edit the form → Get returns the
/// edited text, and later edits of the referral keep it.
#[tokio::test]
async fn s2_31_the_referral_form_is_generated_then_edited_before_printing() {
    let w = World::start().await;
    let mut admin = w.admin.la.clone();
    let details = pb::UpdateLegalAidCentreRequest {
        id: w.centres[0].clone(),
        address: "г. Каракол, ул. Абдрахманова, 130".into(),
        phone: "+996 3922 5-12-34".into(),
        email: "karakol@jardam.kg".into(),
        head: "Иманалиева Ж. К.".into(),
    };
    let mut c = w.consultants[0].la.clone();
    expect_code(c.update_legal_aid_centre(details.clone()).await, Code::PermissionDenied);
    admin.update_legal_aid_centre(details).await.unwrap();
    let own = c.get_legal_aid_centre(pb::GetLegalAidCentreRequest::default()).await.unwrap().into_inner();
    assert_eq!((own.name.as_str(), own.head.as_str()), (CENTRE_NAMES[0], "Иманалиева Ж. К."));

    let consultation = add(&w.consultants[0], input("Асанов Бакыт", 67, "2024-03-04")).await;
    let req = referral(&consultation.id);
    let made = c.create_referral(req.clone()).await.unwrap().into_inner();
    assert_eq!(c.create_referral(req).await.unwrap().into_inner().id, made.id, "idempotent by request_id");
    let form = made.form_text.clone();
    for want in [
        CENTRE_NAMES[0],
        "г. Каракол, ул. Абдрахманова, 130",
        "+996 3922 5-12-34",
        "karakol@jardam.kg",
        "НАПРАВЛЕНИЕ от 05.03.2024",
        "Кому: Управление социального развития Каракола",
        "Адрес: г. Каракол, ул. Токтогула, 20",
        // The client comes from the consultation the referral follows.
        "ФИО: Асанов Бакыт",
        "Возраст: 67",
        "Телефон: +996 555 123 456",
        "Место проживания: Иссык-Кульская область, г. Каракол, Каракол",
        "Причина перенаправления: Оформление ежемесячного пособия",
        "Руководитель центра ____________ Иманалиева Ж. К.",
    ] {
        assert!(form.contains(want), "{want:?} missing in the form:\n{form}");
    }
    assert!(!made.form_edited);
    let centre = made.centre.clone().expect("the print page's centre details");
    assert_eq!((centre.name.as_str(), centre.phone.as_str()), (CENTRE_NAMES[0], "+996 3922 5-12-34"));
    let i = made.input.clone().unwrap();
    assert_eq!((i.client_full_name.as_str(), i.client_age), ("Асанов Бакыт", Some(67)));

    // S2-30: «Распечатать» → edit → «Сохранить».
    let edited_text = format!("{form}\nПриём по вторникам с 9:00.");
    let edit =
        pb::UpdateReferralFormRequest { id: made.id.clone(), version: made.version, form_text: edited_text.clone() };
    let edited = c.update_referral_form(edit.clone()).await.unwrap().into_inner();
    assert!(edited.form_edited);
    expect_code(c.update_referral_form(edit).await, Code::Aborted);
    let got = c.get_referral(pb::GetReferralRequest { id: made.id.clone() }).await.unwrap().into_inner();
    assert_eq!(got.form_text, edited_text);
    assert_eq!(got.centre.as_ref().unwrap().address, "г. Каракол, ул. Абдрахманова, 130");

    // Editing the referral keeps a hand-edited form…
    let mut changed = got.input.clone().unwrap();
    changed.reason = "Восстановление документов".into();
    let up = pb::UpdateReferralRequest { id: made.id.clone(), version: got.version, input: Some(changed) };
    let after = c.update_referral(up).await.unwrap().into_inner();
    assert_eq!(after.form_text, edited_text);
    // …until the form is regenerated (an empty text).
    let regen = pb::UpdateReferralFormRequest { id: made.id.clone(), version: after.version, form_text: String::new() };
    let regenerated = c.update_referral_form(regen).await.unwrap().into_inner();
    assert!(!regenerated.form_edited);
    assert!(regenerated.form_text.contains("Причина перенаправления: Восстановление документов"));

    // The list, and another centre's consultant who sees none of it.
    let list = c.list_referrals(pb::ListReferralsRequest::default()).await.unwrap().into_inner();
    assert_eq!((list.total_size, list.referrals[0].id.as_str()), (1, made.id.as_str()));
    let mut other = w.consultants[1].la.clone();
    assert_eq!(other.list_referrals(pb::ListReferralsRequest::default()).await.unwrap().into_inner().total_size, 0);
    expect_code(other.get_referral(pb::GetReferralRequest { id: made.id.clone() }).await, Code::NotFound);
    // A referral cannot follow another centre's consultation.
    expect_invalid(other.create_referral(referral(&consultation.id)).await, "consultation_id");
    let admin_list = admin.list_referrals(pb::ListReferralsRequest::default()).await.unwrap().into_inner();
    assert_eq!(admin_list.total_size, 1);

    c.delete_referral(pb::DeleteReferralRequest { id: made.id.clone() }).await.unwrap();
    expect_code(c.get_referral(pb::GetReferralRequest { id: made.id }).await, Code::NotFound);
}

/// S2-29: a referral without a consultation needs the client and the
/// addressee; bad input stores nothing.
#[tokio::test]
async fn s2_29_a_referral_needs_the_client_the_addressee_and_the_reason() {
    let w = World::start().await;
    let mut c = w.consultants[0].la.clone();
    let empty = pb::CreateReferralRequest {
        request_id: Uuid::now_v7().to_string(),
        centre_id: String::new(),
        input: Some(pb::ReferralInput::default()),
    };
    let fields = invalid_fields(c.create_referral(empty).await, "client_full_name");
    assert!(fields.contains(&"to_organisation".to_string()) && fields.contains(&"reason".to_string()));
    assert_eq!(w.app.count("select count(*) from cases.legal_aid_referrals").await, 0);
    let standalone = pb::CreateReferralRequest {
        input: Some(pb::ReferralInput {
            client_full_name: "Токтосунова Гульмира".into(),
            client_age: Some(35),
            ..referral("").input.unwrap()
        }),
        ..referral("")
    };
    let made = c.create_referral(standalone).await.unwrap().into_inner();
    assert!(made.form_text.contains("ФИО: Токтосунова Гульмира"));
    assert!(made.form_text.starts_with(CENTRE_NAMES[0]), "the centre heads the form:\n{}", made.form_text);
}
