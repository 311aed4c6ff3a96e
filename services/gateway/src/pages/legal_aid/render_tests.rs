//! The legal-aid templates rendered with the contexts their handlers build from sample
//! records (no services), so a template that reads a missing value fails here, not on a page.
use minijinja::value::merge_maps;
use minijinja::{Value, context};
use opeka_proto::cases::{
    AskQuestionResponse, Consultation, ConsultationInput, DistrictRoute, LegalAidCentre, LegalAidRef, LegalAidRefKind,
    LegalAidResidence, ListConsultationsResponse, ListDistrictRoutesResponse, ListPublishedQuestionsResponse,
    ListQuestionsResponse, ListReferralsResponse, ListResidenceOptionsResponse, OnlineQuestion, PublishedQuestion,
    QuestionStatus, Referral, ReferralInput,
};

use super::consultations::{self, ConsultationForm};
use super::questions::{self, Powers, Typed};
use super::referrals::{self, ReferralForm};
use super::{Refs, admin, public};
use crate::pages::common::Opt;
use crate::strings::RU;
use crate::terms::Terms;
use crate::views::FormErrors;
use crate::views::tests::render;

const PATH: &str = "/t/demo/legal-aid/consultations";
const REFERRALS: &str = "/t/demo/legal-aid/referrals";
const QUESTIONS: &str = "/t/demo/legal-aid/questions";
const CENTRE: &str = "0190b5a0-0000-7000-8000-0000000000c1";

fn t() -> &'static crate::strings::legal_aid::LegalAidStrings {
    RU.legal_aid
}

fn as_user(roles: &[&str], admin: bool, ctx: Value) -> Value {
    merge_maps([
        ctx,
        context! { user => context! { name => "Асанова Айгуль", is_admin => admin, roles => roles.iter().map(|r| r.to_string()).collect::<Vec<_>>() } },
    ])
}

fn consultant(ctx: Value) -> Value {
    as_user(&["Консультант"], false, ctx)
}

fn reference(kind: LegalAidRefKind, code: &str, name: &str, parent: &str) -> LegalAidRef {
    LegalAidRef { kind: kind as i32, code: code.into(), name: name.into(), parent_code: parent.into(), archived: false }
}

fn refs() -> Refs {
    use LegalAidRefKind as K;
    Refs::from_refs(&[
        reference(K::Gender, "male", "Мужской", ""),
        reference(K::Gender, "female", "Женский", ""),
        reference(K::Citizenship, "kg", "Кыргызстан", ""),
        reference(K::SocialStatus, "low_income", "Малоимущие", ""),
        reference(
            K::Category,
            "inheritance",
            "Вопросы, связанные с наследством (завещание, выделение доли из наследства)",
            "",
        ),
        reference(K::Category, "land", "Земельные вопросы", ""),
        reference(K::HelpType, "oral", "Устная консультация", ""),
        reference(K::Region, "issyk_kul", "Иссык-Кульская область", ""),
        reference(K::District, "karakol", "г. Каракол", "issyk_kul"),
    ])
}

fn consultation(id: &str, name: &str, age: i32) -> Consultation {
    Consultation {
        id: id.into(),
        centre_id: CENTRE.into(),
        centre_name: "ЦБЮП г. Каракол".into(),
        input: Some(ConsultationInput {
            full_name: name.into(),
            age: Some(age),
            gender_code: "male".into(),
            citizenship_code: "kg".into(),
            social_status_code: "low_income".into(),
            phone: "+996 555 123 456".into(),
            residence: Some(LegalAidResidence {
                region_code: "issyk_kul".into(),
                district_code: "karakol".into(),
                city: "Каракол".into(),
                region_name: "Иссык-Кульская область".into(),
                district_name: "г. Каракол".into(),
            }),
            category_codes: vec!["inheritance".into()],
            help_type_code: "oral".into(),
            written_appeal: true,
            date: "2019-05-03".into(),
            ..Default::default()
        }),
        gender_name: "Мужской".into(),
        citizenship_name: "Кыргызстан".into(),
        social_status_name: "Малоимущие".into(),
        category_names: vec!["Вопросы, связанные с наследством (завещание, выделение доли из наследства)".into()],
        help_type_name: "Устная консультация".into(),
        version: 3,
        ..Default::default()
    }
}

fn centre() -> LegalAidCentre {
    LegalAidCentre {
        id: CENTRE.into(),
        name: "ЦБЮП г. Каракол".into(),
        address: "г. Каракол, ул. Абдрахманова, 130".into(),
        phone: "+996 3922 5-00-00".into(),
        email: "karakol@cbyp.kg".into(),
        head: "Иманалиева Ж. К.".into(),
    }
}

// S2-21…S2-25: the seed's columns, «Дата ↓» by default, the filters kept in the form and links.
#[test]
fn the_consultations_list_has_the_seed_columns_and_filters() {
    let res = ListConsultationsResponse {
        consultations: vec![consultation("c-1", "Асанов Бакыт", 18), consultation("c-2", "Осмонова Жылдыз", 19)],
        total_size: 42,
        page: 2,
        page_count: 3,
        ..Default::default()
    };
    let q = consultations::ListQuery { date_from: "2019-05-01".into(), age_to: "30".into(), ..Default::default() };
    let centres = vec![Opt { id: CENTRE.into(), name: "ЦБЮП г. Каракол".into() }];
    let ctx = consultations::list_ctx(t(), PATH, &q, Some(&res), &centres, &FormErrors::default(), true);
    let html = render("legal_aid/consultations.html", ctx);
    for col in ["#", "Дата", "ФИО", "Пол", "Возраст", "Социальный статус", "Гражданский статус", "Центр", "Категория"]
    {
        assert!(html.contains(&format!(">{col}")), "column «{col}»");
    }
    assert!(html.contains("aria-sort=\"descending\"><a class=\"sort\""), "sorted by date, newest first");
    assert!(html.contains("Дата <span aria-hidden=\"true\">↓</span>"), "«Дата ↓»");
    assert!(html.contains("Все обращения") && html.contains("Период") && html.contains("Возраст"));
    assert!(html.contains("value=\"2019-05-01\"") && html.contains("value=\"30\""), "filters kept");
    assert!(html.contains("03.05.2019") && html.contains("Асанов Бакыт") && html.contains(">21<"), "row numbers go on");
    assert!(html.contains("Все центры") && html.contains("ЦБЮП г. Каракол"), "the admin's centre selector");
    assert!(html.contains("Редактировать") && html.contains("Удалить") && html.contains("Просмотр"));
    assert!(html.contains("date_from=2019-05-01&amp;age_to=30&amp;sort=date&amp;dir=desc&amp;page=3"), "{html}");
    // Clicking «Дата» again flips the order; another column starts ascending.
    assert!(html.contains("age_to=30&amp;sort=date&amp;dir=asc\""));
    assert!(html.contains("sort=full_name&amp;dir=asc\""));
}

#[test]
fn a_bad_age_filter_is_shown_beside_the_field() {
    let q = consultations::ListQuery { age_from: "сорок".into(), ..Default::default() };
    let mut errors = FormErrors::default();
    errors.field("age_from", t().age_number);
    let ctx = consultations::list_ctx(t(), PATH, &q, None, &[], &errors, false);
    let html = consultant_render("legal_aid/consultations.html", ctx);
    assert!(html.contains("id=\"e-age_from\">Возраст — число от 0 до 120."));
    assert!(html.contains("value=\"сорок\""));
    assert!(!html.contains("Все центры"), "consultants see their own centre only");
}

fn choices(refs: &Refs) -> consultations::Choices<'_> {
    consultations::Choices { refs, centres: &[], admin: false }
}

fn consultant_render(template: &str, ctx: Value) -> String {
    render(template, consultant(ctx))
}

// S2-10…S2-20, S2-41: every field of «Добавить обращение», a violation beside its field.
#[test]
fn the_consultation_form_has_every_field_and_keeps_input() {
    let mut form = ConsultationForm::blank("2025-11-20");
    form.full_name = "Асанов Бакыт".into();
    form.age = "сто".into();
    form.category_codes = vec!["land".into()];
    form.district_code = "karakol".into();
    let mut errors = FormErrors::default();
    errors.field("age", t().age_number);
    let ctx = consultations::form_ctx(t(), PATH, &consultations::Mode::New, &form, &errors, &choices(&refs()));
    let html = consultant_render("legal_aid/consultation_form.html", ctx);
    for words in [
        "Добавить обращение",
        "Информация о клиенте",
        "placeholder=\"Введите ФИО клиента\"",
        "Гражданский статус",
        "Социальный статус",
        "WhatsApp",
        "E-mail",
        "Место проживания",
        "Дополнительная информация",
        "Выберите категории",
        "Письменное обращение",
        "Оказано содействие в обеспечении бесплатного адвоката с ЦКГГЮП",
        "Вид помощи",
        "Сохранить",
    ] {
        assert!(html.contains(words), "the form lacks {words}");
    }
    assert!(html.contains("id=\"e-age\">Возраст — число от 0 до 120."), "the message beside «Возраст»");
    assert!(html.contains("value=\"сто\""), "the typed age stays");
    assert!(html.contains("value=\"land\" checked"), "chosen categories stay");
    assert!(html.contains("<optgroup label=\"Иссык-Кульская область\">"));
    assert!(html.contains("value=\"karakol\" selected"));
    assert!(html.contains(&format!("name=\"request_id\" value=\"{}\"", form.request_id)));
    assert!(!html.contains("name=\"centre_id\""), "a consultant's records go to their centre");
}

#[test]
fn the_detail_view_and_the_edit_form() {
    let c = consultation("c-1", "Асанов Бакыт", 18);
    let html = consultant_render(
        "legal_aid/consultation.html",
        consultations::card_ctx(t(), PATH, &c, "03.05.2019 10:00", "saved"),
    );
    assert!(html.contains("Асанов Бакыт") && html.contains("Иссык-Кульская область, г. Каракол, Каракол"));
    assert!(html.contains("Устная консультация") && html.contains("Изменения сохранены."));
    assert!(html.contains("referrals/new?consultation_id=c-1"), "«Добавить перенаправление» for this client");

    let mut refs = refs();
    refs.genders.clear();
    let form =
        consultations::ConsultationForm { version: "3".into(), gender_code: "male".into(), ..Default::default() };
    let ctx = consultations::form_ctx(
        t(),
        PATH,
        &consultations::Mode::Edit(&c),
        &form,
        &FormErrors::default(),
        &choices(&refs),
    );
    let html = consultant_render("legal_aid/consultation_form.html", ctx);
    assert!(html.contains("Редактировать обращение") && html.contains("name=\"version\" value=\"3\""));
    assert!(html.contains("<option value=\"male\" selected>Мужской</option>"), "an archived value stays selectable");
}

// S2-29…S2-31: the referral list, the editable form, the print page with its letterhead.
#[test]
fn referrals_list_print_form_and_print_page() {
    let r = Referral {
        id: "r-1".into(),
        centre_id: CENTRE.into(),
        centre_name: "ЦБЮП г. Каракол".into(),
        input: Some(ReferralInput {
            client_full_name: "Асанов Бакыт".into(),
            to_organisation: "Управление социального развития".into(),
            reason: "Оформление пособия".into(),
            date: "2019-05-03".into(),
            ..Default::default()
        }),
        form_text: "ЦБЮП г. Каракол\nг. Каракол, ул. Абдрахманова, 130\nТел.: +996 3922 5-00-00\nE-mail: karakol@cbyp.kg\n\nНАПРАВЛЕНИЕ от 03.05.2019\nФИО: Асанов Бакыт".into(),
        centre: Some(centre()),
        version: 2,
        ..Default::default()
    };
    let res = ListReferralsResponse {
        referrals: vec![r.clone()],
        total_size: 1,
        page: 1,
        page_count: 1,
        ..Default::default()
    };
    let ctx = referrals::list_ctx(
        t(),
        REFERRALS,
        &referrals::ListQuery::default(),
        Some(&res),
        &[],
        &FormErrors::default(),
        false,
    );
    let html = consultant_render("legal_aid/referrals.html", ctx);
    assert!(html.contains("Добавить перенаправление") && html.contains("Распечатать"));
    assert!(html.contains("Управление социального развития"));

    let ctx = referrals::print_form_ctx(t(), REFERRALS, &r, &r.form_text, "2", &FormErrors::default(), "");
    let html = consultant_render("legal_aid/referral_print_form.html", ctx);
    assert!(html.contains("Бланк перенаправления") && !html.contains("НАПРАВЛЕНИЕ от 03.05.2019</textarea>"));
    assert!(html.contains("ФИО: Асанов Бакыт</textarea>") && html.contains("name=\"version\" value=\"2\""));
    assert!(html.contains(">Сохранить<"));

    let html = consultant_render("legal_aid/print.html", referrals::print_ctx(t(), REFERRALS, &r));
    assert!(!html.contains("id=\"menu\""), "the print page has no menu");
    assert!(html.contains("class=\"letterhead\"") && html.contains("г. Каракол, ул. Абдрахманова, 130"));
    assert!(html.contains("Тел.: +996 3922 5-00-00") && html.contains("E-mail: karakol@cbyp.kg"));
    assert!(html.contains("НАПРАВЛЕНИЕ от 03.05.2019") && html.contains("ФИО: Асанов Бакыт"));
    assert_eq!(html.matches("ул. Абдрахманова").count(), 1, "the letterhead is not repeated by the body");

    let form = ReferralForm::from_consultation(&consultation("c-1", "Асанов Бакыт", 18), "2025-11-20");
    let ctx = referrals::form_ctx(t(), REFERRALS, &referrals::Mode::New, &form, &FormErrors::default(), &[], false);
    let html = consultant_render("legal_aid/referral_form.html", ctx);
    assert!(html.contains("value=\"Асанов Бакыт\"") && html.contains("Иссык-Кульская область, г. Каракол, Каракол"));
    assert!(html.contains("name=\"consultation_id\" value=\"c-1\""));
}

fn question(status: QuestionStatus) -> OnlineQuestion {
    OnlineQuestion {
        id: "q-1".into(),
        centre_id: CENTRE.into(),
        centre_name: "ЦБЮП г. Каракол".into(),
        asker_name: "Айбек".into(),
        residence: Some(LegalAidResidence {
            region_name: "Иссык-Кульская область".into(),
            district_name: "г. Каракол".into(),
            ..Default::default()
        }),
        text: "Как оформить наследство?".into(),
        status: status as i32,
        answer: if status == QuestionStatus::Waiting {
            String::new()
        } else {
            "Обратитесь к нотариусу.".into()
        },
        ..Default::default()
    }
}

// S2-35, S2-36: «Ответить» for the centre, the check for moderators.
#[test]
fn questions_list_answer_and_moderation() {
    let terms = Terms::defaults(&RU);
    let res = ListQuestionsResponse {
        questions: vec![question(QuestionStatus::Waiting)],
        total_size: 1,
        page: 1,
        page_count: 1,
        ..Default::default()
    };
    let powers = Powers { answer: true, moderate: false, consultant: true, all_centres: false };
    let ctx = questions::list_ctx(t(), &terms, QUESTIONS, &questions::ListQuery::default(), &res, &[], powers);
    let html = consultant_render("legal_aid/questions.html", ctx);
    assert!(html.contains(">Ответить<") && html.contains("Как оформить наследство?"));
    assert!(html.contains("aria-current=\"page\">Ожидают ответа"), "a consultant starts with the waiting ones");

    let typed = Typed { answer: Some("Черновик".into()), ..Typed::default() };
    let ctx = questions::question_ctx(t(), &terms, QUESTIONS, &question(QuestionStatus::Waiting), powers, &typed);
    let html = consultant_render("legal_aid/question.html", ctx);
    assert!(html.contains("Как оформить наследство?") && html.contains(">Черновик</textarea>"));
    assert!(!html.contains("Одобрить"), "consultants do not moderate");

    let moderator = Powers { answer: false, moderate: true, consultant: false, all_centres: true };
    let ctx = questions::question_ctx(
        t(),
        &terms,
        QUESTIONS,
        &question(QuestionStatus::Answered),
        moderator,
        &Typed::default(),
    );
    let html = render("legal_aid/question.html", as_user(&["Модератор"], false, ctx));
    assert!(html.contains("Одобрить и опубликовать") && html.contains("Вернуть на доработку"));
    assert!(html.contains("Обратитесь к нотариусу."));
    assert!(!html.contains("name=\"answer\""));
}

// S2-7, S2-34, S2-42: the panel for consultants, red with the count in brackets.
#[test]
fn the_menu_shows_the_panel_with_the_waiting_count() {
    let ctx = context! { title => "x", active => "la-questions", la_waiting => Some(3) };
    let html = consultant_render("legal_aid/menu_link.html", ctx.clone());
    assert!(html.contains("class=\"la-waiting\">Онлайн-консультация <span class=\"la-count\">(3)</span>"), "{html}");
    let html = consultant_render(
        "account/home.html",
        merge_maps([ctx, context! { name => "x", roles => Vec::<String>::new() }]),
    );
    for item in ["Панель управления", ">Обращения<", ">Перенаправления<", ">Выход<"]
    {
        assert!(html.contains(item), "the panel lacks {item}");
    }
    assert!(html.contains("(3)"));
    // Elsewhere the count comes with htmx; a curator has no panel.
    let html = render(
        "account/home.html",
        as_user(&["Соц. куратор"], false, context! { name => "x", roles => Vec::<String>::new() }),
    );
    assert!(!html.contains("Панель управления") && html.contains(">Выйти<"));
    let html = render("account/home.html", context! { name => "x", roles => Vec::<String>::new() });
    assert!(html.contains("demo/legal-aid/menu-link\" hx-trigger=\"load\""), "{html}");
}

// S2-32, S2-33, S2-36: the public pages.
#[test]
fn the_public_pages_ask_and_list_answers() {
    use LegalAidRefKind as K;
    let options = ListResidenceOptionsResponse {
        regions: vec![reference(K::Region, "issyk_kul", "Иссык-Кульская область", "")],
        districts: vec![reference(K::District, "karakol", "г. Каракол", "issyk_kul")],
        accepting_questions: true,
    };
    let form = public::AskForm { text: "Мой вопрос".into(), ..Default::default() };
    let mut errors = FormErrors::default();
    errors.field("contact_email", "Укажите адрес электронной почты в виде name@example.kg.");
    let ctx = public::ask_ctx(t(), "/t/demo/online", &options, &form, &errors, None, "tok");
    let html = render("legal_aid/online.html", merge_maps([ctx, context! { user => None::<bool> }]));
    assert!(html.contains("name=\"csrf\" value=\"tok\"") && html.contains(">Мой вопрос</textarea>"));
    assert!(html.contains("<optgroup label=\"Иссык-Кульская область\">") && html.contains("Вход в личный кабинет"));
    assert!(html.contains("id=\"e-contact_email\""));
    assert!(!html.contains("id=\"menu\""), "no staff menu without a session");

    let sent = AskQuestionResponse {
        question_id: "q".into(),
        centre_id: CENTRE.into(),
        centre_name: "ЦБЮП г. Каракол".into(),
    };
    let ctx = public::ask_ctx(
        t(),
        "/t/demo/online",
        &options,
        &public::AskForm::default(),
        &FormErrors::default(),
        Some(&sent),
        "tok",
    );
    let html = render("legal_aid/online.html", merge_maps([ctx, context! { user => None::<bool> }]));
    assert!(
        html.contains("Ваш вопрос принят.") && html.contains("<strong class=\"sent-centre\">ЦБЮП г. Каракол</strong>")
    );

    let res = ListPublishedQuestionsResponse {
        questions: vec![PublishedQuestion {
            id: "q".into(),
            text: "Как оформить наследство?".into(),
            answer: "Обратитесь к нотариусу.".into(),
            centre_name: "ЦБЮП г. Каракол".into(),
            region_name: "Иссык-Кульская область".into(),
            ..Default::default()
        }],
        total_size: 1,
        page: 1,
        page_count: 1,
        ..Default::default()
    };
    let ctx = public::answers_ctx(t(), "/t/demo/online", &res, chrono_tz::Asia::Bishkek);
    let html = render("legal_aid/answers.html", merge_maps([ctx, context! { user => None::<bool> }]));
    assert!(
        html.contains("Вопросы и ответы")
            && html.contains("Обратитесь к нотариусу.")
            && html.contains("Отвечает ЦБЮП г. Каракол")
    );
}

#[test]
fn the_admin_sets_centre_details_and_routes() {
    let routes = ListDistrictRoutesResponse {
        routes: vec![DistrictRoute {
            district_code: "karakol".into(),
            district_name: "г. Каракол".into(),
            region_name: "Иссык-Кульская область".into(),
            centre_id: CENTRE.into(),
            ..Default::default()
        }],
        fallback_centre_id: CENTRE.into(),
        fallback_centre_name: "ЦБЮП г. Каракол".into(),
        ..Default::default()
    };
    let ctx = admin::page_ctx(t(), "/t/demo/legal-aid/centres", &[centre()], &routes, &FormErrors::default(), "routes");
    let html = render("legal_aid/centres.html", ctx);
    assert!(html.contains("Резервный центр") && html.contains("name=\"route:karakol\""));
    assert!(html.contains(&format!("<option value=\"{CENTRE}\" selected>ЦБЮП г. Каракол</option>")));
    assert!(html.contains("ул. Абдрахманова") && html.contains("Распределение по районам сохранено."));

    let form = admin::CentreForm { address: "ул. Ленина, 1".into(), ..Default::default() };
    let mut errors = FormErrors::default();
    errors.field("email", "Укажите адрес электронной почты в виде name@example.kg.");
    let html = render(
        "legal_aid/centre_form.html",
        admin::centre_ctx(t(), "/t/demo/legal-aid/centres", &centre(), &form, &errors),
    );
    assert!(html.contains("value=\"ул. Ленина, 1\"") && html.contains("id=\"e-email\""));
}
