//! Legal aid (seed 002): the shared set-up of the legal_aid* tests and the
//! consultation records («Обращения», S2-9…S2-28, S2-41).
use opeka_proto::cases::{self as pb, legal_aid_service_client::LegalAidServiceClient};
use opeka_proto::events::envelope::Body;
use opeka_proto::identity as idpb;
use opeka_testkit::{Authed, Service};
use tonic::Code;
use uuid::Uuid;

use crate::helpers::{PASSWORD, TestApp, TestTenant, expect_code, expect_invalid, invalid_fields};

pub type LegalAid = LegalAidServiceClient<Authed>;

/// A signed-in legal-aid user.
#[derive(Clone)]
pub struct User {
    pub id: String,
    pub la: LegalAid,
}

/// A client without a token (the public pages).
pub fn anonymous(app: &TestApp) -> LegalAid {
    LegalAidServiceClient::new(app.sandbox.anonymous(Service::Cases))
}

pub async fn sign_in(app: &TestApp, tenant: &str, login: &str) -> User {
    let pair = app.sandbox.sign_in(tenant, login, PASSWORD).await;
    User {
        id: pair.account.expect("account").id,
        la: LegalAidServiceClient::new(app.sandbox.authed(Service::Cases, &pair.access_token, tenant)),
    }
}

/// A staff account with `roles` (and centre), created by the tenant's admin.
pub async fn user(app: &TestApp, t: &TestTenant, login: &str, roles: &[idpb::Role], centre: Option<&str>) -> User {
    let req = idpb::CreateStaffAccountRequest {
        surname: login.into(),
        name: "Айгуль".into(),
        login: login.into(),
        password: PASSWORD.into(),
        password_repeat: PASSWORD.into(),
        roles: roles.iter().map(|r| *r as i32).collect(),
        organisation_id: centre.unwrap_or_default().into(),
        ..Default::default()
    };
    t.admin.identity.clone().create_staff_account(req).await.expect("create staff");
    sign_in(app, &t.slug, login).await
}

/// A legal-aid centre (an identity organisation); returns its id.
pub async fn centre(t: &TestTenant, name: &str) -> String {
    let req = idpb::CreateOrganisationRequest {
        name: name.into(),
        kind: idpb::OrganisationKind::LegalAidCentre as i32,
        ..Default::default()
    };
    t.admin.identity.clone().create_organisation(req).await.expect("create centre").into_inner().id
}

/// A tenant with three centres, an admin, a moderator and a consultant per centre.
pub struct World {
    pub app: TestApp,
    pub t: TestTenant,
    pub admin: User,
    pub moderator: User,
    /// «ЦБЮП г. Каракол», «ЦБЮП г. Бишкек», «ЦБЮП г. Ош».
    pub centres: [String; 3],
    pub consultants: [User; 3],
}

pub const CENTRE_NAMES: [&str; 3] = ["ЦБЮП г. Каракол", "ЦБЮП г. Бишкек", "ЦБЮП г. Ош"];

impl World {
    pub async fn start() -> Self {
        let app = TestApp::start().await;
        let t = app.tenant("jardam").await;
        Self::with(app, t).await
    }

    pub async fn with(app: TestApp, t: TestTenant) -> Self {
        let mut centres = Vec::new();
        for name in CENTRE_NAMES {
            centres.push(centre(&t, name).await);
        }
        let admin = user(&app, &t, "la-admin", &[idpb::Role::Admin], None).await;
        let moderator = user(&app, &t, "la-moderator", &[idpb::Role::Moderator], None).await;
        let mut consultants = Vec::new();
        for (i, c) in centres.iter().enumerate() {
            consultants.push(user(&app, &t, &format!("consultant{i}"), &[idpb::Role::Consultant], Some(c)).await);
        }
        let centres: [String; 3] = centres.try_into().expect("three centres");
        let consultants: [User; 3] = consultants.try_into().unwrap_or_else(|_| panic!("three consultants"));
        Self { app, t, admin, moderator, centres, consultants }
    }
}

/// A valid «Добавить обращение» form (S2-11…S2-20); tests change one field at a time.
pub fn input(full_name: &str, age: i32, date: &str) -> pb::ConsultationInput {
    pb::ConsultationInput {
        full_name: full_name.into(),
        age: Some(age),
        gender_code: "male".into(),
        citizenship_code: "kg".into(),
        social_status_code: "low_income".into(),
        phone: "+996 555 123 456".into(),
        whatsapp: "0555 123456".into(),
        email: "client@example.kg".into(),
        residence: Some(pb::LegalAidResidence {
            region_code: "issyk_kul".into(),
            district_code: "karakol".into(),
            city: "Каракол".into(),
            ..Default::default()
        }),
        category_codes: vec!["inheritance".into()],
        help_type_code: "oral".into(),
        written_appeal: true,
        lawyer_provided: false,
        date: date.into(),
    }
}

pub fn create(i: pb::ConsultationInput) -> pb::CreateConsultationRequest {
    pb::CreateConsultationRequest { request_id: Uuid::now_v7().to_string(), centre_id: String::new(), input: Some(i) }
}

pub async fn add(u: &User, i: pb::ConsultationInput) -> pb::Consultation {
    u.la.clone().create_consultation(create(i)).await.expect("create consultation").into_inner()
}

pub async fn count(app: &TestApp, table: &str) -> i64 {
    app.count(&format!("select count(*) from cases.{table}")).await
}

fn names(list: &pb::ListConsultationsResponse) -> Vec<String> {
    list.consultations.iter().map(|c| c.input.as_ref().expect("input").full_name.clone()).collect()
}

/// S2-9, S2-10, S2-26…S2-28: add (idempotent), view, edit with the version
/// read, delete; every change is an event.
#[tokio::test]
async fn s2_10_consultation_is_added_viewed_edited_and_deleted() {
    let w = World::start().await;
    let mut events = w.app.sandbox.events("cases", &w.t.slug, "consultation_recorded").await;
    let mut c = w.consultants[0].la.clone();
    let req = create(input("Асанов Бакыт", 18, "2019-05-03"));
    let made = c.create_consultation(req.clone()).await.unwrap().into_inner();
    let again = c.create_consultation(req).await.expect("a retry returns the first record").into_inner();
    assert_eq!(made.id, again.id);
    assert_eq!(count(&w.app, "legal_aid_consultations").await, 1, "the retry stored nothing");
    assert_eq!(made.centre_id, w.centres[0]);
    assert_eq!(made.centre_name, CENTRE_NAMES[0]);
    assert_eq!(made.consultant_id, w.consultants[0].id);
    assert_eq!((made.gender_name.as_str(), made.citizenship_name.as_str()), ("Мужской", "Кыргызстан"));
    assert_eq!(made.social_status_name, "Малоимущие");
    assert_eq!(made.category_names, vec!["Вопросы, связанные с наследством (завещание, выделение доли из наследства)"]);
    assert_eq!(made.help_type_name, "Устная консультация", "S2-41");
    let i = made.input.clone().unwrap();
    assert!(i.written_appeal && !i.lawyer_provided);
    let res = i.residence.clone().unwrap();
    assert_eq!((res.region_name.as_str(), res.district_name.as_str()), ("Иссык-Кульская область", "г. Каракол"));
    let Some(Body::ConsultationRecorded(e)) = events.next().await.body else { panic!("consultation_recorded") };
    assert_eq!((e.consultation_id.as_str(), e.change.as_str()), (made.id.as_str(), "created"));

    // S2-26: detail view.
    let got = c.get_consultation(pb::GetConsultationRequest { id: made.id.clone() }).await.unwrap().into_inner();
    assert_eq!(got, made);

    // S2-27: edit; a second edit with the old version is refused.
    let mut changed = i.clone();
    changed.category_codes = vec!["family".into(), "land".into()];
    changed.lawyer_provided = true;
    changed.age = Some(19);
    let up = pb::UpdateConsultationRequest {
        id: made.id.clone(),
        version: made.version,
        input: Some(changed.clone()),
        centre_id: String::new(),
    };
    let edited = c.update_consultation(up.clone()).await.unwrap().into_inner();
    assert_eq!(edited.version, made.version + 1);
    assert_eq!(edited.input.as_ref().unwrap().age, Some(19));
    assert_eq!(edited.category_names.len(), 2);
    assert!(edited.input.as_ref().unwrap().lawyer_provided);
    expect_code(c.update_consultation(up).await, Code::Aborted);
    let Some(Body::ConsultationRecorded(e)) = events.next().await.body else { panic!("consultation_recorded") };
    assert_eq!(e.change, "updated");

    // S2-28: delete.
    c.delete_consultation(pb::DeleteConsultationRequest { id: made.id.clone() }).await.unwrap();
    expect_code(c.get_consultation(pb::GetConsultationRequest { id: made.id.clone() }).await, Code::NotFound);
    let list = c.list_consultations(pb::ListConsultationsRequest::default()).await.unwrap().into_inner();
    assert_eq!(list.total_size, 0);
    let Some(Body::ConsultationRecorded(e)) = events.next().await.body else { panic!("consultation_recorded") };
    assert_eq!(e.change, "deleted");
}

/// S2-11…S2-20: bad input comes back as field violations, all at once, and
/// nothing is stored.
#[tokio::test]
async fn s2_11_bad_input_is_reported_beside_the_fields_and_nothing_is_stored() {
    let w = World::start().await;
    let mut c = w.consultants[0].la.clone();
    let bad = pb::ConsultationInput {
        full_name: "  ".into(),
        age: Some(130),
        gender_code: String::new(),
        citizenship_code: "atlantis".into(),
        email: "not-an-address".into(),
        whatsapp: "phone".into(),
        category_codes: vec![],
        ..input("x", 1, "")
    };
    let fields = invalid_fields(c.create_consultation(create(bad)).await, "full_name");
    for f in ["age", "gender_code", "citizenship_code", "email", "whatsapp", "category_codes"] {
        assert!(fields.iter().any(|x| x == f), "{f} missing in {fields:?}");
    }
    let no_age = pb::ConsultationInput { age: None, ..input("Асанов Бакыт", 1, "") };
    expect_invalid(c.create_consultation(create(no_age)).await, "age");
    let unknown_category = pb::ConsultationInput { category_codes: vec!["nope".into()], ..input("А", 1, "") };
    expect_invalid(c.create_consultation(create(unknown_category)).await, "category_codes[0]");
    let wrong_region = pb::ConsultationInput {
        residence: Some(pb::LegalAidResidence {
            region_code: "chui".into(),
            district_code: "karakol".into(),
            ..Default::default()
        }),
        ..input("А", 1, "")
    };
    expect_invalid(c.create_consultation(create(wrong_region)).await, "residence.district_code");
    let future = input("А", 1, "2999-01-01");
    expect_invalid(c.create_consultation(create(future)).await, "date");
    let no_request = pb::CreateConsultationRequest { request_id: String::new(), ..create(input("А", 1, "")) };
    expect_invalid(c.create_consultation(no_request).await, "request_id");
    // An admin must say which centre (S2-23).
    let mut admin = w.admin.la.clone();
    expect_invalid(admin.create_consultation(create(input("А", 1, ""))).await, "centre_id");
    let nowhere = pb::CreateConsultationRequest { centre_id: Uuid::now_v7().to_string(), ..create(input("А", 1, "")) };
    expect_invalid(admin.create_consultation(nowhere).await, "centre_id");
    assert_eq!(count(&w.app, "legal_aid_consultations").await, 0);
    assert_eq!(w.app.count("select count(*) from cases.outbox").await, 0, "no event either");
    // Age 0 is a valid age (a baby's case is brought by a parent).
    let baby = add(&w.consultants[0], input("Асанова Айпери", 0, "")).await;
    assert_eq!(baby.input.unwrap().age, Some(0));
}

/// S2-21: a consultant sees and changes only their centre's records; S2-23:
/// the admin sees every centre and selects one.
#[tokio::test]
async fn s2_21_consultants_see_their_centre_and_s2_23_admins_select_one() {
    let w = World::start().await;
    let [a, b, _] = &w.consultants;
    let mine = add(a, input("Асанов Бакыт", 30, "2024-01-10")).await;
    let theirs = add(b, input("Бекова Нургуль", 40, "2024-01-11")).await;
    let mut ca = a.la.clone();
    let list = ca.list_consultations(pb::ListConsultationsRequest::default()).await.unwrap().into_inner();
    assert_eq!(names(&list), vec!["Асанов Бакыт"]);
    // Naming another centre in the filter changes nothing for a consultant.
    let other = pb::ListConsultationsRequest { centre_id: w.centres[1].clone(), ..Default::default() };
    assert_eq!(names(&ca.list_consultations(other).await.unwrap().into_inner()), vec!["Асанов Бакыт"]);
    expect_code(ca.get_consultation(pb::GetConsultationRequest { id: theirs.id.clone() }).await, Code::NotFound);
    let up = pb::UpdateConsultationRequest {
        id: theirs.id.clone(),
        version: theirs.version,
        input: theirs.input.clone(),
        centre_id: String::new(),
    };
    expect_code(ca.update_consultation(up).await, Code::NotFound);
    expect_code(ca.delete_consultation(pb::DeleteConsultationRequest { id: theirs.id.clone() }).await, Code::NotFound);
    let elsewhere = pb::CreateConsultationRequest { centre_id: w.centres[1].clone(), ..create(input("А", 1, "")) };
    expect_code(ca.create_consultation(elsewhere).await, Code::PermissionDenied);
    // A moderator keeps no consultation records.
    let mut m = w.moderator.la.clone();
    expect_code(m.list_consultations(pb::ListConsultationsRequest::default()).await, Code::PermissionDenied);

    let mut admin = w.admin.la.clone();
    let all = admin.list_consultations(pb::ListConsultationsRequest::default()).await.unwrap().into_inner();
    assert_eq!(names(&all), vec!["Бекова Нургуль", "Асанов Бакыт"], "Дата ↓ across centres");
    let one = pb::ListConsultationsRequest { centre_id: w.centres[1].clone(), ..Default::default() };
    assert_eq!(names(&admin.list_consultations(one).await.unwrap().into_inner()), vec!["Бекова Нургуль"]);
    let for_b =
        pb::CreateConsultationRequest { centre_id: w.centres[1].clone(), ..create(input("Осмонов", 50, "")) };
    let by_admin = admin.create_consultation(for_b).await.unwrap().into_inner();
    assert_eq!(by_admin.centre_name, CENTRE_NAMES[1]);
    // The admin moves a record to another centre; its consultant loses it.
    let moved = pb::UpdateConsultationRequest {
        id: mine.id.clone(),
        version: mine.version,
        input: mine.input.clone(),
        centre_id: w.centres[2].clone(),
    };
    assert_eq!(admin.update_consultation(moved).await.unwrap().into_inner().centre_name, CENTRE_NAMES[2]);
    expect_code(ca.get_consultation(pb::GetConsultationRequest { id: mine.id.clone() }).await, Code::NotFound);
}

/// S2-22, S2-24, S2-25: period and age filters, sorting by the list's
/// columns (default «Дата ↓»), numbered pages.
#[tokio::test]
async fn s2_22_filters_s2_24_sorting_and_pages() {
    let w = World::start().await;
    let c = &w.consultants[0];
    let rows = [
        ("Бекова", 25, "2024-01-05", "female", "pensioner"),
        ("Асанов", 70, "2024-01-20", "male", "low_income"),
        ("Газиев", 18, "2024-02-01", "male", "disabled"),
        ("Джумаева", 33, "2024-02-15", "female", "low_income"),
        ("Воронов", 45, "2024-03-01", "male", "unemployed"),
    ];
    for (name, age, date, gender, status) in rows {
        let i = pb::ConsultationInput {
            gender_code: gender.into(),
            social_status_code: status.into(),
            ..input(name, age, date)
        };
        add(c, i).await;
    }
    let mut la = c.la.clone();
    let base = la.clone();
    let list = move |r: pb::ListConsultationsRequest| {
        let mut la = base.clone();
        async move { la.list_consultations(r).await.unwrap().into_inner() }
    };
    let all = list(pb::ListConsultationsRequest::default()).await;
    assert_eq!(names(&all), vec!["Воронов", "Джумаева", "Газиев", "Асанов", "Бекова"], "Дата ↓");
    assert_eq!(all.total_size, 5);
    // S2-25: the list's columns are filled in.
    let first = &all.consultations[0];
    assert_eq!(first.input.as_ref().unwrap().date, "2024-03-01");
    assert_eq!((first.gender_name.as_str(), first.social_status_name.as_str()), ("Мужской", "Безработные"));
    assert_eq!((first.citizenship_name.as_str(), first.centre_name.as_str()), ("Кыргызстан", CENTRE_NAMES[0]));
    assert_eq!(first.category_names.len(), 1);

    // S2-22: «Период» and «Возраст», inclusive.
    let period = pb::ListConsultationsRequest {
        date_from: "2024-01-20".into(),
        date_to: "01.02.2024".into(),
        ..Default::default()
    };
    assert_eq!(names(&list(period).await), vec!["Газиев", "Асанов"]);
    let ages = pb::ListConsultationsRequest { age_from: Some(25), age_to: Some(45), ..Default::default() };
    assert_eq!(names(&list(ages).await), vec!["Воронов", "Джумаева", "Бекова"]);
    let both = pb::ListConsultationsRequest {
        date_from: "2024-01-01".into(),
        date_to: "2024-02-10".into(),
        age_from: Some(20),
        ..Default::default()
    };
    assert_eq!(names(&list(both).await), vec!["Асанов", "Бекова"]);
    let backwards = pb::ListConsultationsRequest { age_from: Some(50), age_to: Some(20), ..Default::default() };
    expect_invalid(la.list_consultations(backwards).await, "age_to");

    // S2-24: sorting by other columns, both ways.
    use pb::ConsultationSort as S;
    let sorted = |sort: S, descending: bool| pb::ListConsultationsRequest {
        sort: sort as i32,
        descending,
        ..Default::default()
    };
    assert_eq!(names(&list(sorted(S::Age, false)).await), vec!["Газиев", "Бекова", "Джумаева", "Воронов", "Асанов"]);
    assert_eq!(
        names(&list(sorted(S::FullName, false)).await),
        vec!["Асанов", "Бекова", "Воронов", "Газиев", "Джумаева"]
    );
    assert_eq!(
        names(&list(sorted(S::FullName, true)).await),
        vec!["Джумаева", "Газиев", "Воронов", "Бекова", "Асанов"]
    );
    assert_eq!(names(&list(sorted(S::Date, false)).await), vec!["Бекова", "Асанов", "Газиев", "Джумаева", "Воронов"]);
    let by_gender = list(sorted(S::Gender, false)).await;
    assert_eq!(
        by_gender.consultations.iter().map(|c| c.gender_name.as_str()).collect::<Vec<_>>(),
        vec!["Женский", "Женский", "Мужской", "Мужской", "Мужской"]
    );
    let by_status = list(sorted(S::SocialStatus, false)).await;
    assert_eq!(by_status.consultations[0].social_status_name, "Безработные");
    assert_eq!(by_status.consultations[4].social_status_name, "Пенсионеры");

    // Numbered pages.
    let page = |n: i32| pb::ListConsultationsRequest { page: n, page_size: 2, ..Default::default() };
    let p1 = list(page(1)).await;
    assert_eq!((p1.page, p1.page_count, p1.total_size), (1, 3, 5));
    assert_eq!(names(&p1), vec!["Воронов", "Джумаева"]);
    assert_eq!(names(&list(page(2)).await), vec!["Газиев", "Асанов"]);
    let p3 = list(page(3)).await;
    assert_eq!((names(&p3), p3.page), (vec!["Бекова".to_string()], 3));
    assert!(list(page(4)).await.consultations.is_empty());
}

/// The reference lists start with the seed's examples; admins extend them.
#[tokio::test]
async fn reference_lists_start_with_the_seed_examples_and_admins_extend_them() {
    let w = World::start().await;
    let mut c = w.consultants[0].la.clone();
    let genders = pb::ListLegalAidRefsRequest {
        kind: pb::LegalAidRefKind::Gender as i32,
        include_archived: false,
        ..Default::default()
    };
    let list = c.list_legal_aid_refs(genders).await.unwrap().into_inner().refs;
    assert_eq!(list.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), vec!["Женский", "Мужской"]);
    let add = pb::UpsertLegalAidRefRequest {
        kind: pb::LegalAidRefKind::Category as i32,
        name: "Вопросы опеки".into(),
        ..Default::default()
    };
    expect_code(c.upsert_legal_aid_ref(add.clone()).await, Code::PermissionDenied);
    let mut admin = w.admin.la.clone();
    let made = admin.upsert_legal_aid_ref(add).await.unwrap().into_inner();
    assert!(!made.code.is_empty());
    let used = add_with_category(&w.consultants[0], &made.code).await;
    assert_eq!(used.category_names, vec!["Вопросы опеки"]);
    // Archived: gone from the selects, still named on old records.
    let archive = pb::UpsertLegalAidRefRequest {
        kind: made.kind,
        code: made.code.clone(),
        name: made.name.clone(),
        archived: true,
        ..Default::default()
    };
    admin.upsert_legal_aid_ref(archive).await.unwrap();
    let categories = pb::ListLegalAidRefsRequest { kind: made.kind, include_archived: false, ..Default::default() };
    let live = c.list_legal_aid_refs(categories).await.unwrap().into_inner().refs;
    assert!(live.iter().all(|r| r.code != made.code));
    let again = c.get_consultation(pb::GetConsultationRequest { id: used.id }).await.unwrap().into_inner();
    assert_eq!(again.category_names, vec!["Вопросы опеки"]);
    // A district needs an existing region.
    let district = pb::UpsertLegalAidRefRequest {
        kind: pb::LegalAidRefKind::District as i32,
        name: "Кара-Кульджинский район".into(),
        parent_code: "nowhere".into(),
        ..Default::default()
    };
    expect_invalid(admin.upsert_legal_aid_ref(district).await, "parent_code");
}

async fn add_with_category(u: &User, code: &str) -> pb::Consultation {
    add(u, pb::ConsultationInput { category_codes: vec![code.into()], ..input("Сыдыкова", 52, "") }).await
}
