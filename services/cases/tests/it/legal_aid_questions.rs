//! Legal aid online questions («Онлайн-консультация», S2-32…S2-36): routing
//! to the nearest centre by district with a fallback centre, the waiting
//! badge, answers, moderation, the public list; public calls without a
//! token; tenant isolation of every legal-aid table.
use opeka_proto::cases as pb;
use opeka_proto::events::envelope::Body;
use sqlx::Connection;
use tonic::Code;
use uuid::Uuid;

use crate::helpers::{expect_code, expect_invalid, invalid_fields};
use crate::legal_aid::{CENTRE_NAMES, LegalAid, World, add, anonymous, centre, input, user};

const FALLBACK_NAME: &str = "ЦБЮП г. Нарын";

/// Routes karakol → Каракол, alamudun → Бишкек, osh_city → Ош; the fallback
/// is a fourth centre. Returns the fallback centre's id.
async fn routes(w: &World) -> String {
    let fallback = centre(&w.t, FALLBACK_NAME).await;
    let mut admin = w.admin.la.clone();
    for (district, c) in [("karakol", &w.centres[0]), ("alamudun", &w.centres[1]), ("osh_city", &w.centres[2])] {
        let set = pb::SetDistrictRouteRequest { district_code: district.into(), centre_id: c.clone() };
        admin.set_district_route(set).await.unwrap();
    }
    let set = pb::SetFallbackCentreRequest { centre_id: fallback.clone() };
    let r = admin.set_fallback_centre(set).await.unwrap().into_inner();
    assert_eq!(r.centre_name, FALLBACK_NAME);
    fallback
}

fn question(slug: &str, district: &str, text: &str) -> pb::AskQuestionRequest {
    pb::AskQuestionRequest {
        tenant: slug.into(),
        name: "Жаныл".into(),
        contact_email: "janyl@example.kg".into(),
        contact_phone: "+996 700 111 222".into(),
        residence: Some(pb::LegalAidResidence {
            region_code: String::new(),
            district_code: district.into(),
            city: "село".into(),
            ..Default::default()
        }),
        text: text.into(),
        request_id: String::new(),
    }
}

async fn ask(anon: &LegalAid, slug: &str, district: &str, text: &str) -> pb::AskQuestionResponse {
    anon.clone().ask_question(question(slug, district, text)).await.expect("ask").into_inner()
}

async fn published(anon: &LegalAid, slug: &str) -> Vec<pb::PublishedQuestion> {
    let req = pb::ListPublishedQuestionsRequest { tenant: slug.into(), ..Default::default() };
    anon.clone().list_published_questions(req).await.expect("public list").into_inner().questions
}

async fn waiting(la: &LegalAid) -> (i64, i64) {
    let r = la.clone().count_waiting_questions(pb::CountWaitingQuestionsRequest::default()).await.unwrap();
    let r = r.into_inner();
    (r.waiting, r.awaiting_moderation)
}

/// S2-33 (the issue's routing test): questions from three districts reach
/// their three centres; an unknown district and a district without a route
/// go to the fallback centre.
#[tokio::test]
async fn s2_33_questions_reach_the_centre_of_their_district_or_the_fallback() {
    let w = World::start().await;
    let anon = anonymous(&w.app);
    let slug = w.t.slug.clone();
    // A tenant whose staff never opened legal aid has no public section yet…
    let early = question(&slug, "karakol", "Как оформить наследство?");
    expect_code(anon.clone().ask_question(early.clone()).await, Code::NotFound);
    // …and before the admin names a fallback centre nothing can be routed.
    w.admin.la.clone().list_district_routes(pb::ListDistrictRoutesRequest::default()).await.unwrap();
    expect_code(anon.clone().ask_question(early).await, Code::FailedPrecondition);
    let fallback = routes(&w).await;
    let mut events = w.app.sandbox.events("cases", &slug, "online_question_asked").await;

    let cases = [
        ("karakol", w.centres[0].as_str(), CENTRE_NAMES[0], false),
        ("alamudun", w.centres[1].as_str(), CENTRE_NAMES[1], false),
        ("osh_city", w.centres[2].as_str(), CENTRE_NAMES[2], false),
        ("atlantis", fallback.as_str(), FALLBACK_NAME, true),
        // A known district without a route of its own.
        ("ton", fallback.as_str(), FALLBACK_NAME, true),
        // No district at all.
        ("", fallback.as_str(), FALLBACK_NAME, true),
    ];
    for (district, want_id, want_name, want_fallback) in cases {
        let r = ask(&anon, &slug, district, &format!("Вопрос из «{district}»")).await;
        assert_eq!((r.centre_id.as_str(), r.centre_name.as_str()), (want_id, want_name), "district {district:?}");
        let Some(Body::OnlineQuestionAsked(e)) = events.next().await.body else { panic!("online_question_asked") };
        assert_eq!((e.question_id.as_str(), e.centre_id.as_str()), (r.question_id.as_str(), want_id));
        assert_eq!((e.district.as_str(), e.fallback), (district, want_fallback));
    }
    // Each centre's consultant finds theirs in the list.
    for (i, c) in w.consultants.iter().enumerate() {
        let list = c.la.clone().list_questions(pb::ListQuestionsRequest::default()).await.unwrap().into_inner();
        assert_eq!(list.total_size, 1, "centre {i}");
        assert!(!list.questions[0].fallback);
    }
    let mut admin = w.admin.la.clone();
    let at_fallback = pb::ListQuestionsRequest { centre_id: fallback.clone(), ..Default::default() };
    let list = admin.list_questions(at_fallback).await.unwrap().into_inner();
    assert_eq!(list.total_size, 3);
    assert!(list.questions.iter().all(|q| q.fallback && q.centre_name == FALLBACK_NAME));

    // The routing table as the admin page shows it; removing a route sends
    // that district to the fallback centre.
    let table = admin.list_district_routes(pb::ListDistrictRoutesRequest::default()).await.unwrap().into_inner();
    assert_eq!(table.fallback_centre_id, fallback);
    let karakol = table.routes.iter().find(|r| r.district_code == "karakol").expect("karakol row");
    assert_eq!(
        (karakol.centre_name.as_str(), karakol.region_name.as_str()),
        (CENTRE_NAMES[0], "Иссык-Кульская область")
    );
    assert!(table.routes.iter().find(|r| r.district_code == "ton").expect("ton row").centre_id.is_empty());
    let unset = pb::SetDistrictRouteRequest { district_code: "karakol".into(), centre_id: String::new() };
    admin.set_district_route(unset).await.unwrap();
    assert_eq!(ask(&anon, &slug, "karakol", "Ещё вопрос").await.centre_id, fallback);

    // Only admins edit the table, with existing districts and centres.
    let mut c = w.consultants[0].la.clone();
    let set = pb::SetDistrictRouteRequest { district_code: "ton".into(), centre_id: w.centres[0].clone() };
    expect_code(c.set_district_route(set).await, Code::PermissionDenied);
    let bad = pb::SetDistrictRouteRequest { district_code: "atlantis".into(), centre_id: w.centres[0].clone() };
    expect_invalid(admin.set_district_route(bad).await, "district_code");
    let bad = pb::SetDistrictRouteRequest { district_code: "ton".into(), centre_id: Uuid::now_v7().to_string() };
    expect_invalid(admin.set_district_route(bad).await, "centre_id");
}

/// S2-34…S2-36: the waiting count, the answer, moderation; an answered but
/// unapproved (or rejected) question never appears on the public page.
#[tokio::test]
async fn s2_36_only_approved_answers_are_published() {
    let w = World::start().await;
    routes(&w).await;
    let anon = anonymous(&w.app);
    let slug = w.t.slug.clone();
    let q1 = ask(&anon, &slug, "karakol", "Как выделить долю из наследства?").await;
    ask(&anon, &slug, "karakol", "Как составить завещание?").await;
    ask(&anon, &slug, "karakol", "Нужен ли нотариус?").await;
    ask(&anon, &slug, "alamudun", "Как оформить алименты?").await;
    let [ca, cb, _] = &w.consultants;

    // S2-34: the badge counts the centre's unanswered questions only.
    assert_eq!(waiting(&ca.la).await, (3, 0));
    assert_eq!(waiting(&cb.la).await, (1, 0));
    assert_eq!(waiting(&w.admin.la).await, (4, 0), "the admin sees every centre");

    // S2-35: «Ответить»: full text, answer, «Сохранить».
    let mut a = ca.la.clone();
    let full = a.get_question(pb::GetQuestionRequest { id: q1.question_id.clone() }).await.unwrap().into_inner();
    assert_eq!(full.text, "Как выделить долю из наследства?");
    assert_eq!(full.status, pb::QuestionStatus::Waiting as i32);
    expect_invalid(
        a.answer_question(pb::AnswerQuestionRequest { id: q1.question_id.clone(), answer: " ".into() }).await,
        "answer",
    );
    let answer = pb::AnswerQuestionRequest {
        id: q1.question_id.clone(),
        answer: "Обратитесь к нотариусу по месту открытия наследства.".into(),
    };
    // Another centre's consultant neither sees nor answers it.
    expect_code(cb.la.clone().answer_question(answer.clone()).await, Code::NotFound);
    let answered = a.answer_question(answer).await.unwrap().into_inner();
    assert_eq!(answered.status, pb::QuestionStatus::Answered as i32);
    assert_eq!(answered.answered_by, ca.id);
    assert_eq!(waiting(&ca.la).await, (2, 1));
    assert!(published(&anon, &slug).await.is_empty(), "an unapproved answer is never public");

    // S2-36: a consultant does not moderate; a rejection needs a comment.
    let approve = pb::ModerateAnswerRequest { id: q1.question_id.clone(), approve: true, comment: String::new() };
    expect_code(a.moderate_answer(approve.clone()).await, Code::PermissionDenied);
    let mut m = w.moderator.la.clone();
    let reject = pb::ModerateAnswerRequest { id: q1.question_id.clone(), approve: false, comment: String::new() };
    expect_invalid(m.moderate_answer(reject.clone()).await, "comment");
    let reject = pb::ModerateAnswerRequest {
        comment: "Укажите срок принятия наследства.".into(), ..reject
    };
    let rejected = m.moderate_answer(reject).await.unwrap().into_inner();
    assert_eq!(rejected.status, pb::QuestionStatus::Rejected as i32);
    assert_eq!(rejected.moderation_comment, "Укажите срок принятия наследства.");
    assert!(published(&anon, &slug).await.is_empty(), "a rejected answer is not public");
    assert_eq!(waiting(&ca.la).await, (3, 0), "a rejected answer waits for a new one");
    expect_code(m.moderate_answer(approve.clone()).await, Code::FailedPrecondition);

    let mut events = w.app.sandbox.events("cases", &slug, "online_question_published").await;
    let better = pb::AnswerQuestionRequest {
        id: q1.question_id.clone(),
        answer: "Обратитесь к нотариусу в течение шести месяцев со дня открытия наследства.".into(),
    };
    a.answer_question(better).await.unwrap();
    assert!(published(&anon, &slug).await.is_empty());
    let approved = m.moderate_answer(approve).await.unwrap().into_inner();
    assert_eq!(approved.status, pb::QuestionStatus::Published as i32);
    let Some(Body::OnlineQuestionPublished(e)) = events.next().await.body else { panic!("online_question_published") };
    assert_eq!((e.question_id.as_str(), e.centre_id.as_str()), (q1.question_id.as_str(), w.centres[0].as_str()));

    let public = published(&anon, &slug).await;
    assert_eq!(public.len(), 1);
    assert_eq!(public[0].text, "Как выделить долю из наследства?");
    assert!(public[0].answer.contains("шести месяцев"));
    assert_eq!(public[0].centre_name, CENTRE_NAMES[0]);
    assert!(public[0].published_at.is_some());
    // A published answer is final.
    let late = pb::AnswerQuestionRequest { id: q1.question_id.clone(), answer: "Иначе".into() };
    expect_code(a.answer_question(late).await, Code::FailedPrecondition);
    assert_eq!(waiting(&ca.la).await, (2, 0));
    let done = pb::ListQuestionsRequest { status: pb::QuestionStatus::Published as i32, ..Default::default() };
    assert_eq!(a.list_questions(done).await.unwrap().into_inner().total_size, 1);
    let open = pb::ListQuestionsRequest { status: pb::QuestionStatus::Waiting as i32, ..Default::default() };
    let open = a.list_questions(open).await.unwrap().into_inner();
    assert_eq!(open.questions[0].text, "Как составить завещание?", "the longest waiting first");
    // The admin moderates too.
    let q4 = cb.la.clone().list_questions(pb::ListQuestionsRequest::default()).await.unwrap().into_inner();
    let id = q4.questions[0].id.clone();
    cb.la
        .clone()
        .answer_question(pb::AnswerQuestionRequest {
            id: id.clone(), answer: "Подайте иск в суд.".into()
        })
        .await
        .unwrap();
    let approve = pb::ModerateAnswerRequest { id, approve: true, comment: String::new() };
    w.admin.la.clone().moderate_answer(approve).await.unwrap();
    assert_eq!(published(&anon, &slug).await.len(), 2);
}

/// S2-32: the public calls work without a token; every other call without
/// one is UNAUTHENTICATED; an unknown tenant is NOT_FOUND.
#[tokio::test]
async fn s2_32_public_calls_need_no_token_and_the_rest_do() {
    let w = World::start().await;
    routes(&w).await;
    let mut anon = anonymous(&w.app);
    let slug = w.t.slug.clone();
    let options = pb::ListResidenceOptionsRequest { tenant: slug.clone() };
    let options = anon.list_residence_options(options).await.expect("public options").into_inner();
    assert!(options.accepting_questions);
    assert!(options.regions.iter().any(|r| r.name == "Иссык-Кульская область"));
    assert!(options.districts.iter().any(|d| d.code == "karakol" && d.parent_code == "issyk_kul"));
    let asked = anon.ask_question(question(&slug, "karakol", "Вопрос")).await.expect("public ask").into_inner();
    // A double submission with one request id makes one question.
    let twice = pb::AskQuestionRequest { request_id: Uuid::now_v7().to_string(), ..question(&slug, "osh_city", "Q") };
    let first = anon.ask_question(twice.clone()).await.unwrap().into_inner();
    assert_eq!(anon.ask_question(twice).await.unwrap().into_inner().question_id, first.question_id);
    assert_eq!(w.app.count("select count(*) from cases.legal_aid_questions").await, 2);
    let bad = pb::AskQuestionRequest { contact_email: "nope".into(), ..question(&slug, "karakol", " ") };
    let fields = invalid_fields(anon.ask_question(bad).await, "text");
    assert!(fields.contains(&"contact_email".to_string()));
    anon.list_published_questions(pb::ListPublishedQuestionsRequest { tenant: slug.clone(), ..Default::default() })
        .await
        .expect("public list");
    let unknown = pb::ListPublishedQuestionsRequest { tenant: "nobody".into(), ..Default::default() };
    expect_code(anon.list_published_questions(unknown).await, Code::NotFound);
    expect_code(anon.ask_question(question("nobody", "karakol", "Вопрос")).await, Code::NotFound);

    let id = asked.question_id;
    let u = Code::Unauthenticated;
    expect_code(anon.create_consultation(crate::legal_aid::create(input("А", 1, ""))).await, u);
    expect_code(anon.get_consultation(pb::GetConsultationRequest { id: id.clone() }).await, u);
    expect_code(anon.update_consultation(pb::UpdateConsultationRequest::default()).await, u);
    expect_code(anon.delete_consultation(pb::DeleteConsultationRequest { id: id.clone() }).await, u);
    expect_code(anon.list_consultations(pb::ListConsultationsRequest::default()).await, u);
    expect_code(anon.list_legal_aid_refs(pb::ListLegalAidRefsRequest::default()).await, u);
    expect_code(anon.upsert_legal_aid_ref(pb::UpsertLegalAidRefRequest::default()).await, u);
    expect_code(anon.list_legal_aid_centres(pb::ListLegalAidCentresRequest::default()).await, u);
    expect_code(anon.get_legal_aid_centre(pb::GetLegalAidCentreRequest::default()).await, u);
    expect_code(anon.update_legal_aid_centre(pb::UpdateLegalAidCentreRequest::default()).await, u);
    expect_code(anon.create_referral(pb::CreateReferralRequest::default()).await, u);
    expect_code(anon.get_referral(pb::GetReferralRequest { id: id.clone() }).await, u);
    expect_code(anon.update_referral(pb::UpdateReferralRequest::default()).await, u);
    expect_code(anon.update_referral_form(pb::UpdateReferralFormRequest::default()).await, u);
    expect_code(anon.delete_referral(pb::DeleteReferralRequest { id: id.clone() }).await, u);
    expect_code(anon.list_referrals(pb::ListReferralsRequest::default()).await, u);
    expect_code(anon.count_waiting_questions(pb::CountWaitingQuestionsRequest::default()).await, u);
    expect_code(anon.list_questions(pb::ListQuestionsRequest::default()).await, u);
    expect_code(anon.get_question(pb::GetQuestionRequest { id: id.clone() }).await, u);
    let answer = pb::AnswerQuestionRequest { id: id.clone(), answer: "Ответ".into() };
    expect_code(anon.answer_question(answer).await, u);
    let approve = pb::ModerateAnswerRequest { id: id.clone(), approve: true, comment: String::new() };
    expect_code(anon.moderate_answer(approve).await, u);
    expect_code(anon.list_district_routes(pb::ListDistrictRoutesRequest::default()).await, u);
    expect_code(anon.set_district_route(pb::SetDistrictRouteRequest::default()).await, u);
    expect_code(anon.set_fallback_centre(pb::SetFallbackCentreRequest::default()).await, u);
}

/// Another tenant sees nothing of this one's legal aid, through the API or
/// through raw queries as the service role (RLS).
#[tokio::test]
async fn another_tenant_sees_no_legal_aid_records() {
    let w = World::start().await;
    routes(&w).await;
    let anon = anonymous(&w.app);
    let made = add(&w.consultants[0], input("Асанов Бакыт", 30, "")).await;
    let q = ask(&anon, &w.t.slug, "karakol", "Вопрос").await;
    let mut c = w.consultants[0].la.clone();
    c.answer_question(pb::AnswerQuestionRequest { id: q.question_id.clone(), answer: "Ответ".into() }).await.unwrap();
    let approve = pb::ModerateAnswerRequest { id: q.question_id.clone(), approve: true, comment: String::new() };
    w.moderator.la.clone().moderate_answer(approve).await.unwrap();
    let r = pb::CreateReferralRequest {
        request_id: Uuid::now_v7().to_string(),
        centre_id: String::new(),
        input: Some(pb::ReferralInput {
            consultation_id: made.id.clone(),
            to_organisation: "Соцфонд".into(),
            reason: "Пенсия".into(),
            ..Default::default()
        }),
    };
    let referral = c.create_referral(r).await.unwrap().into_inner();

    let other = w.app.tenant("other").await;
    let admin = user(&w.app, &other, "other-admin", &[opeka_proto::identity::Role::Admin], None).await;
    let mut o = admin.la.clone();
    assert_eq!(o.list_consultations(pb::ListConsultationsRequest::default()).await.unwrap().into_inner().total_size, 0);
    expect_code(o.get_consultation(pb::GetConsultationRequest { id: made.id.clone() }).await, Code::NotFound);
    expect_code(o.get_referral(pb::GetReferralRequest { id: referral.id.clone() }).await, Code::NotFound);
    expect_code(o.get_question(pb::GetQuestionRequest { id: q.question_id.clone() }).await, Code::NotFound);
    assert_eq!(o.list_questions(pb::ListQuestionsRequest::default()).await.unwrap().into_inner().total_size, 0);
    assert_eq!(o.list_referrals(pb::ListReferralsRequest::default()).await.unwrap().into_inner().total_size, 0);
    let routes = o.list_district_routes(pb::ListDistrictRoutesRequest::default()).await.unwrap().into_inner();
    assert!(routes.fallback_centre_id.is_empty() && routes.routes.iter().all(|r| r.centre_id.is_empty()));
    assert!(
        o.list_legal_aid_centres(pb::ListLegalAidCentresRequest::default())
            .await
            .unwrap()
            .into_inner()
            .centres
            .is_empty()
    );
    // Its public page is empty, this tenant's is not; its questions cannot be routed yet.
    assert!(published(&anon, &other.slug).await.is_empty());
    assert_eq!(published(&anon, &w.t.slug).await.len(), 1);
    expect_code(anon.clone().ask_question(question(&other.slug, "karakol", "В")).await, Code::FailedPrecondition);

    // Raw queries as the service role, with the other tenant set.
    let mut conn = w.app.app_pool.acquire().await.unwrap();
    let mut tx = conn.begin().await.unwrap();
    opeka_platform::db::set_tenant(&mut tx, other.id).await.unwrap();
    for table in [
        "legal_aid_consultations",
        "legal_aid_referrals",
        "legal_aid_questions",
        "legal_aid_district_routes",
        "legal_aid_centres",
    ] {
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("select count(*) from {table}")))
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert_eq!(n, 0, "{table} leaks across tenants");
    }
    let refs: i64 = sqlx::query_scalar("select count(*) from legal_aid_refs where tenant_id = $1")
        .bind(w.t.id)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(refs, 0, "legal_aid_refs leaks across tenants");
    let write = sqlx::query("update legal_aid_tenants set fallback_centre_id = null where tenant_id = $1")
        .bind(w.t.id)
        .execute(&mut *tx)
        .await
        .unwrap();
    assert_eq!(write.rows_affected(), 0, "the public slug lookup is read-only");
}

/// Issue 9, point 10: the public «Задать вопрос» is throttled per client
/// address, and a caller that is not a trusted forwarder cannot name another
/// address in `x-opeka-client-ip` to get around it.
#[tokio::test]
async fn issue9_point10_ask_question_is_throttled_per_address_despite_a_spoofed_client_ip() {
    let app = crate::helpers::TestApp::start_with(|p| {
        p.trusted_forwarders = String::new();
        p.throttle.ask_question_per_address = "3/h".parse().unwrap();
    })
    .await;
    let t = app.tenant("centre").await;
    let anon = anonymous(&app);
    let spoofed = |n: u32| {
        let mut req = tonic::Request::new(question(&t.slug, "karakol", "Вопрос"));
        let ip = format!("203.0.113.{n}");
        req.metadata_mut().insert(opeka_platform::throttle::CLIENT_IP_HEADER, ip.parse().unwrap());
        req
    };
    for n in 0..3 {
        // Not throttled: the answer is about the tenant (no legal aid yet).
        let st = anon.clone().ask_question(spoofed(n)).await.expect_err("no legal aid section yet");
        assert_ne!(st.code(), Code::ResourceExhausted, "{st:?}");
    }
    let st = anon.clone().ask_question(spoofed(99)).await.expect_err("throttled");
    assert_eq!(st.code(), Code::ResourceExhausted, "{st:?}");
    assert!(st.message().contains("слишком много"), "{}", st.message());
}
