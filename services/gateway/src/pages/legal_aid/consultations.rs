//! «Обращения» (S2-9…S2-28, S2-41): the centre's consultation records — the list with «Период»,
//! «Возраст» and (for admins) the centre, sortable columns and pages, the filter state in the URL;
//! «Добавить обращение», the detail view, «Редактировать» and «Удалить» after a confirmation.
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::Query;
use minijinja::context;
use minijinja::value::{Serde, Value};
use opeka_proto::cases::{
    Consultation, ConsultationInput, ConsultationSort, CreateConsultationRequest, DeleteConsultationRequest,
    GetConsultationRequest, LegalAidResidence, ListConsultationsRequest, ListConsultationsResponse,
    UpdateConsultationRequest,
};
use serde::{Deserialize, Serialize};
use tonic::Code;

use super::{
    Refs, form_errors, keep, may_record, new_request_id, page, page_number, pager, parse_age, query_prefix, refs, root,
    words,
};
use crate::AppState;
use crate::pages::NoFields;
use crate::pages::common::{self, Confirm, Opt, Page, checked, filled, http, trimmed, uuid};
use crate::session::{Auth, AuthForm};
use crate::strings::legal_aid::LegalAidStrings;
use crate::terms;
use crate::views::FormErrors;

const PAGE_SIZE: i32 = 20;
/// Form fields, named as cases' `ConsultationInput` fields (the residence's without `residence.`).
const FORM_FIELDS: &[&str] = &[
    "centre_id",
    "date",
    "full_name",
    "age",
    "gender_code",
    "citizenship_code",
    "social_status_code",
    "phone",
    "whatsapp",
    "email",
    "region_code",
    "district_code",
    "city",
    "category_codes",
    "help_type_code",
];
const FILTER_FIELDS: &[&str] = &["date_from", "date_to", "age_from", "age_to", "centre_id"];

/// The list's sortable columns (S2-24, S2-25), by the code the URL carries.
const SORTS: &[(&str, ConsultationSort)] = &[
    ("date", ConsultationSort::Date),
    ("full_name", ConsultationSort::FullName),
    ("gender", ConsultationSort::Gender),
    ("age", ConsultationSort::Age),
    ("social_status", ConsultationSort::SocialStatus),
    ("citizenship", ConsultationSort::Citizenship),
    ("centre", ConsultationSort::Centre),
    ("category", ConsultationSort::Category),
];

fn list_url(auth: &Auth) -> String {
    format!("{}/consultations", root(auth))
}

async fn load(state: &AppState, auth: &Auth, id: &str) -> Result<Consultation, Response> {
    let Some(id) = uuid(id) else { return Err(common::not_found(state, auth)) };
    state.call(auth, state.legal_aid.clone().get_consultation(auth.req(GetConsultationRequest { id }))).await
}

// ---------------------------------------------------------------- the list

#[derive(Deserialize, Default, Debug, Clone)]
pub struct ListQuery {
    #[serde(default)]
    pub date_from: String,
    #[serde(default)]
    pub date_to: String,
    #[serde(default)]
    pub age_from: String,
    #[serde(default)]
    pub age_to: String,
    #[serde(default)]
    pub centre_id: String,
    #[serde(default)]
    pub sort: String,
    #[serde(default)]
    pub dir: String,
    #[serde(default)]
    pub page: String,
    #[serde(default)]
    pub notice: String,
}

impl ListQuery {
    /// The column sorted by and whether newest/largest first; «Дата ↓» by default (S2-24).
    fn sorting(&self) -> (&'static str, ConsultationSort, bool) {
        let (code, sort) = SORTS.iter().find(|(c, _)| *c == self.sort).copied().unwrap_or(SORTS[0]);
        let descending = match self.dir.as_str() {
            "asc" => false,
            "desc" => true,
            _ => code == "date",
        };
        (code, sort, descending)
    }

    fn filters(&self) -> [(&'static str, &str); 5] {
        [
            ("date_from", self.date_from.trim()),
            ("date_to", self.date_to.trim()),
            ("age_from", self.age_from.trim()),
            ("age_to", self.age_to.trim()),
            ("centre_id", self.centre_id.trim()),
        ]
    }
}

#[derive(Serialize, Debug)]
pub(super) struct Row {
    n: i64,
    id: String,
    date: String,
    full_name: String,
    gender: String,
    age: String,
    social_status: String,
    citizenship: String,
    centre: String,
    categories: Vec<String>,
}

#[derive(Serialize, Debug)]
struct Column {
    code: &'static str,
    label: &'static str,
    href: String,
    /// "ascending" / "descending" on the sorted column.
    sorted: Option<&'static str>,
}

fn columns(t: &LegalAidStrings, path: &str, q: &ListQuery) -> Vec<Column> {
    let labels = [
        t.col_date,
        t.col_full_name,
        t.col_gender,
        t.col_age,
        t.col_social_status,
        t.col_citizenship,
        t.col_centre,
        t.col_category,
    ];
    let (current, _, descending) = q.sorting();
    SORTS
        .iter()
        .zip(labels)
        .map(|((code, _), label)| {
            let is_current = *code == current;
            // The sorted column flips; another starts with its natural order.
            let dir = match (is_current, descending) {
                (true, true) => "asc",
                (true, false) => "desc",
                (false, _) if *code == "date" => "desc",
                _ => "asc",
            };
            let mut pairs: Vec<(&str, &str)> = q.filters().to_vec();
            pairs.push(("sort", code));
            pairs.push(("dir", dir));
            let href = query_prefix(path, &pairs).trim_end_matches(['&', '?']).to_string();
            let sorted = is_current.then_some(if descending { "descending" } else { "ascending" });
            Column { code, label, href, sorted }
        })
        .collect()
}

pub(super) fn rows(res: &ListConsultationsResponse, page: i32, page_size: i32) -> Vec<Row> {
    let first = i64::from((page.max(1) - 1) * page_size);
    res.consultations
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let input = c.input.clone().unwrap_or_default();
            Row {
                n: first + i64::try_from(i).unwrap_or_default() + 1,
                id: c.id.clone(),
                date: terms::date(&input.date),
                full_name: input.full_name,
                gender: c.gender_name.clone(),
                age: input.age.map(|a| a.to_string()).unwrap_or_default(),
                social_status: c.social_status_name.clone(),
                citizenship: c.citizenship_name.clone(),
                centre: c.centre_name.clone(),
                categories: c.category_names.clone(),
            }
        })
        .collect()
}

/// The list page's own context (tests build it from sample data).
pub(super) fn list_ctx(
    t: &LegalAidStrings,
    path: &str,
    q: &ListQuery,
    res: Option<&ListConsultationsResponse>,
    centres: &[Opt],
    errors: &FormErrors,
    admin: bool,
) -> Value {
    let (sort, _, descending) = q.sorting();
    let mut pairs: Vec<(&str, &str)> = q.filters().to_vec();
    let dir = if descending { "desc" } else { "asc" };
    pairs.push(("sort", sort));
    pairs.push(("dir", dir));
    let page_prefix = query_prefix(path, &pairs);
    let (rows, total, pager) = match res {
        Some(r) => (rows(r, r.page, PAGE_SIZE), r.total_size, Some(pager(&page_prefix, r.page.max(1), r.page_count))),
        None => (Vec::new(), 0, None),
    };
    let notice = match q.notice.as_str() {
        "created" => Some(t.notice_consultation_created),
        "saved" => Some(t.notice_consultation_saved),
        "deleted" => Some(t.notice_consultation_deleted),
        _ => None,
    };
    let filtered = q.filters().iter().any(|(_, v)| !v.is_empty());
    let centre_name = centres.iter().find(|c| c.id == q.centre_id).map(|c| c.name.clone());
    context! {
        title => t.consultations_title,
        active => "la-consultations",
        path => path,
        q => context! {
            date_from => q.date_from.trim(), date_to => q.date_to.trim(),
            age_from => q.age_from.trim(), age_to => q.age_to.trim(),
            centre_id => q.centre_id.trim(), sort => sort, dir => dir,
        },
        columns => Value::from(Serde(columns(t, path, q))),
        rows => Value::from(Serde(&rows)),
        total => total,
        pager => pager.map(|p| Value::from(Serde(p))),
        centres => Value::from(Serde(centres)),
        centre_name => centre_name,
        admin => admin,
        filtered => filtered,
        errors => Value::from(Serde(errors)),
        notice => notice,
    }
}

/// S2-21…S2-25: «Все обращения» of the centre (admins: of every centre or the chosen one).
pub async fn list(State(state): State<AppState>, auth: Auth, Query(q): Query<ListQuery>) -> Page {
    if !may_record(&auth) {
        return Err(common::forbidden(&state, &auth));
    }
    let t = words(&state);
    let admin = auth.is_admin();
    let mut errors = FormErrors::default();
    let age_from = parse_age(&q.age_from, "age_from", t, &mut errors);
    let age_to = parse_age(&q.age_to, "age_to", t, &mut errors);
    let centres = if admin { super::centres(&state, &auth).await } else { Vec::new() };
    let (_, sort, descending) = q.sorting();
    let res = if errors.is_empty() {
        let msg = ListConsultationsRequest {
            date_from: q.date_from.trim().to_string(),
            date_to: q.date_to.trim().to_string(),
            age_from,
            age_to,
            centre_id: if admin { uuid(&q.centre_id).unwrap_or_default() } else { String::new() },
            sort: sort as i32,
            descending,
            page: page_number(&q.page),
            page_size: PAGE_SIZE,
            ..Default::default()
        };
        match state.legal_aid.clone().list_consultations(auth.req(msg)).await {
            Ok(r) => Some(r.into_inner()),
            Err(status) if status.code() == Code::InvalidArgument => {
                errors = form_errors(&status, FILTER_FIELDS);
                None
            }
            Err(status) => return Err(state.grpc_error(&auth, status).await),
        }
    } else {
        None
    };
    let http = if errors.is_empty() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    let ctx = list_ctx(t, &list_url(&auth), &q, res.as_ref(), &centres, &errors, admin);
    page(&state, &auth, http, "legal_aid/consultations.html", ctx).await
}

// ---------------------------------------------------------------- the form

/// What the «Добавить обращение» form holds, as typed.
#[serde_with::apply(String => #[serde(deserialize_with = "trimmed")])]
#[derive(Serialize, Default, Debug, Clone, Deserialize)]
#[serde(default)]
pub(super) struct ConsultationForm {
    pub request_id: String,
    pub version: String,
    pub centre_id: String,
    pub date: String,
    pub full_name: String,
    pub age: String,
    pub gender_code: String,
    pub citizenship_code: String,
    pub social_status_code: String,
    pub phone: String,
    pub whatsapp: String,
    pub email: String,
    pub region_code: String,
    pub district_code: String,
    pub city: String,
    #[serde(deserialize_with = "filled")]
    pub category_codes: Vec<String>,
    pub help_type_code: String,
    #[serde(deserialize_with = "checked")]
    pub written_appeal: bool,
    #[serde(deserialize_with = "checked")]
    pub lawyer_provided: bool,
}

impl ConsultationForm {
    pub(super) fn blank(today: &str) -> Self {
        Self { request_id: new_request_id(), date: today.to_string(), ..Self::default() }
    }

    fn from_consultation(c: &Consultation) -> Self {
        let i = c.input.clone().unwrap_or_default();
        let r = i.residence.unwrap_or_default();
        Self {
            request_id: String::new(),
            version: c.version.to_string(),
            centre_id: c.centre_id.clone(),
            date: i.date,
            full_name: i.full_name,
            age: i.age.map(|a| a.to_string()).unwrap_or_default(),
            gender_code: i.gender_code,
            citizenship_code: i.citizenship_code,
            social_status_code: i.social_status_code,
            phone: i.phone,
            whatsapp: i.whatsapp,
            email: i.email,
            region_code: r.region_code,
            district_code: r.district_code,
            city: r.city,
            category_codes: i.category_codes,
            help_type_code: i.help_type_code,
            written_appeal: i.written_appeal,
            lawyer_provided: i.lawyer_provided,
        }
    }

    /// The request's input, or the errors the gateway can tell by itself (an age that is no
    /// number); cases checks everything else.
    pub(super) fn to_input(&self, t: &LegalAidStrings, refs: &Refs) -> Result<ConsultationInput, FormErrors> {
        let mut errors = FormErrors::default();
        let age = parse_age(&self.age, "age", t, &mut errors);
        if !errors.is_empty() {
            return Err(errors);
        }
        // A district alone names its region too.
        let region_code = if self.region_code.is_empty() && !self.district_code.is_empty() {
            refs.region_of(&self.district_code)
        } else {
            self.region_code.clone()
        };
        Ok(ConsultationInput {
            full_name: self.full_name.clone(),
            age,
            gender_code: self.gender_code.clone(),
            citizenship_code: self.citizenship_code.clone(),
            social_status_code: self.social_status_code.clone(),
            phone: self.phone.clone(),
            whatsapp: self.whatsapp.clone(),
            email: self.email.clone(),
            residence: Some(LegalAidResidence {
                region_code,
                district_code: self.district_code.clone(),
                city: self.city.clone(),
                ..Default::default()
            }),
            category_codes: self.category_codes.clone(),
            help_type_code: self.help_type_code.clone(),
            written_appeal: self.written_appeal,
            lawyer_provided: self.lawyer_provided,
            date: self.date.clone(),
        })
    }
}

pub(super) enum Mode<'a> {
    New,
    Edit(&'a Consultation),
}

/// What the form's selects offer: the tenant's lists and, for an admin, the centres.
pub(super) struct Choices<'a> {
    pub refs: &'a Refs,
    pub centres: &'a [Opt],
    pub admin: bool,
}

/// The form page's own context (tests build it from sample data).
pub(super) fn form_ctx(
    t: &LegalAidStrings,
    path: &str,
    mode: &Mode<'_>,
    form: &ConsultationForm,
    errors: &FormErrors,
    choices: &Choices<'_>,
) -> Value {
    let mut refs = choices.refs.clone();
    if let Mode::Edit(c) = mode {
        // Values the record keeps although their list entry was archived stay selectable.
        keep(&mut refs.genders, &form.gender_code, &c.gender_name);
        keep(&mut refs.citizenships, &form.citizenship_code, &c.citizenship_name);
        keep(&mut refs.social_statuses, &form.social_status_code, &c.social_status_name);
        keep(&mut refs.help_types, &form.help_type_code, &c.help_type_name);
        let input = c.input.clone().unwrap_or_default();
        for (i, code) in input.category_codes.iter().enumerate() {
            keep(&mut refs.categories, code, c.category_names.get(i).map(String::as_str).unwrap_or_default());
        }
    }
    let (title, action, id) = match mode {
        Mode::New => (t.consultation_new_title, format!("{path}/new"), None),
        Mode::Edit(c) => (t.consultation_edit_title, format!("{path}/{}/edit", c.id), Some(c.id.clone())),
    };
    let (centres, admin) = (choices.centres, choices.admin);
    let page = FormPage { title, active: "la-consultations", path, action, id, form, errors, refs, centres, admin };
    Value::from(Serde(page))
}

/// `legal_aid/consultation_form.html`.
#[derive(Serialize)]
struct FormPage<'a> {
    title: &'static str,
    active: &'static str,
    path: &'a str,
    action: String,
    id: Option<String>,
    form: &'a ConsultationForm,
    errors: &'a FormErrors,
    refs: Refs,
    centres: &'a [Opt],
    admin: bool,
}

async fn render_form(
    state: &AppState,
    auth: &Auth,
    mode: Mode<'_>,
    form: &ConsultationForm,
    errors: &FormErrors,
    status: StatusCode,
) -> Page {
    let refs = refs(state, auth).await?;
    let admin = auth.is_admin();
    let centres = if admin { super::centres(state, auth).await } else { Vec::new() };
    let choices = Choices { refs: &refs, centres: &centres, admin };
    let ctx = form_ctx(words(state), &list_url(auth), &mode, form, errors, &choices);
    page(state, auth, status, "legal_aid/consultation_form.html", ctx).await
}

/// Today in the tenant's time zone, as a date input wants it.
pub(super) async fn today(state: &AppState, auth: &Auth) -> String {
    let tz = state.terms(auth).await.tz();
    state.clock.now().with_timezone(&tz).date_naive().to_string()
}

/// S2-10: «Добавить обращение».
pub async fn new_form(State(state): State<AppState>, auth: Auth) -> Page {
    if !may_record(&auth) {
        return Err(common::forbidden(&state, &auth));
    }
    let form = ConsultationForm::blank(&today(&state, &auth).await);
    render_form(&state, &auth, Mode::New, &form, &FormErrors::default(), StatusCode::OK).await
}

/// S2-10…S2-20: «Сохранить» records the consultation and returns to the list.
pub async fn create(State(state): State<AppState>, AuthForm { auth, form }: AuthForm<ConsultationForm>) -> Page {
    if !may_record(&auth) {
        return Err(common::forbidden(&state, &auth));
    }
    let mut form = form;
    if uuid(&form.request_id).is_none() {
        form.request_id = new_request_id();
    }
    let refs = refs(&state, &auth).await?;
    let input = match form.to_input(words(&state), &refs) {
        Ok(i) => i,
        Err(errors) => return render_form(&state, &auth, Mode::New, &form, &errors, StatusCode::BAD_REQUEST).await,
    };
    let msg = CreateConsultationRequest {
        request_id: form.request_id.clone(),
        centre_id: if auth.is_admin() { uuid(&form.centre_id).unwrap_or_default() } else { String::new() },
        input: Some(input),
    };
    state
        .submit(
            &auth,
            state.legal_aid.clone().create_consultation(auth.req(msg)),
            async |c| {
                tracing::info!(consultation_id = %c.id, "consultation recorded");
                Redirect::to(&format!("{}?notice=created", list_url(&auth)))
            },
            async |status| {
                let errors = form_errors(&status, FORM_FIELDS);
                render_form(&state, &auth, Mode::New, &form, &errors, http(&status)).await
            },
        )
        .await
}

/// S2-27: «Редактировать».
pub async fn edit_form(State(state): State<AppState>, auth: Auth, Path((_, id)): Path<(String, String)>) -> Page {
    let c = load(&state, &auth, &id).await?;
    let form = ConsultationForm::from_consultation(&c);
    render_form(&state, &auth, Mode::Edit(&c), &form, &FormErrors::default(), StatusCode::OK).await
}

/// S2-27: «Сохранить» replaces every field; a stale version is told, the typed values kept.
pub async fn update(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    AuthForm { auth, form }: AuthForm<ConsultationForm>,
) -> Page {
    let c = load(&state, &auth, &id).await?;
    let refs = refs(&state, &auth).await?;
    let input = match form.to_input(words(&state), &refs) {
        Ok(i) => i,
        Err(errors) => {
            return render_form(&state, &auth, Mode::Edit(&c), &form, &errors, StatusCode::BAD_REQUEST).await;
        }
    };
    let msg = UpdateConsultationRequest {
        id: c.id.clone(),
        version: form.version.parse().unwrap_or(c.version),
        input: Some(input),
        centre_id: if auth.is_admin() { uuid(&form.centre_id).unwrap_or_default() } else { String::new() },
    };
    state
        .submit(
            &auth,
            state.legal_aid.clone().update_consultation(auth.req(msg)),
            async |_| Redirect::to(&format!("{}/{}?notice=saved", list_url(&auth), c.id)),
            async |status| {
                let errors = form_errors(&status, FORM_FIELDS);
                render_form(&state, &auth, Mode::Edit(&c), &form, &errors, http(&status)).await
            },
        )
        .await
}

// ---------------------------------------------------------------- the card

#[derive(Deserialize, Default)]
pub struct CardQuery {
    #[serde(default)]
    notice: String,
}

/// The detail view's own context.
pub(super) fn card_ctx(t: &LegalAidStrings, path: &str, c: &Consultation, created_at: &str, notice: &str) -> Value {
    let i = c.input.clone().unwrap_or_default();
    let r = i.residence.clone().unwrap_or_default();
    let residence: Vec<String> = [r.region_name.as_str(), r.district_name.as_str(), r.city.as_str()]
        .iter()
        .filter(|s| !s.is_empty())
        .map(|s| s.to_string())
        .collect();
    let notice = match notice {
        "saved" => Some(t.notice_consultation_saved),
        _ => None,
    };
    context! {
        title => t.consultation_title,
        active => "la-consultations",
        path => path,
        c => context! {
            id => c.id.clone(),
            date => terms::date(&i.date),
            centre => c.centre_name.clone(),
            full_name => i.full_name,
            age => i.age.map(|a| a.to_string()).unwrap_or_default(),
            gender => c.gender_name.clone(),
            citizenship => c.citizenship_name.clone(),
            social_status => c.social_status_name.clone(),
            phone => i.phone,
            whatsapp => i.whatsapp,
            email => i.email,
            residence => residence.join(", "),
            categories => c.category_names.clone(),
            help_type => c.help_type_name.clone(),
            written_appeal => i.written_appeal,
            lawyer_provided => i.lawyer_provided,
            created_at => created_at,
        },
        notice => notice,
    }
}

/// S2-26: the detail view of one record.
pub async fn card(
    State(state): State<AppState>,
    auth: Auth,
    Path((_, id)): Path<(String, String)>,
    Query(q): Query<CardQuery>,
) -> Page {
    let c = load(&state, &auth, &id).await?;
    let created_at = state.terms(&auth).await.time(c.created_at.as_ref());
    let ctx = card_ctx(words(&state), &list_url(&auth), &c, &created_at, &q.notice);
    page(&state, &auth, StatusCode::OK, "legal_aid/consultation.html", ctx).await
}

// ---------------------------------------------------------------- delete

/// S2-28: «Удалить» asks first.
pub async fn delete_confirm(State(state): State<AppState>, auth: Auth, Path((_, id)): Path<(String, String)>) -> Page {
    let c = load(&state, &auth, &id).await?;
    let t = words(&state);
    let path = list_url(&auth);
    let i = c.input.clone().unwrap_or_default();
    let confirm = Confirm {
        title: t.consultation_delete_title,
        active: "la-consultations",
        question: t.consultation_delete_question,
        subject: &format!("{} — {}", terms::date(&i.date), i.full_name),
        action: &format!("{path}/{}/delete", c.id),
        confirm_label: t.delete,
        danger: true,
        cancel_href: &format!("{path}/{}", c.id),
        ..Confirm::default()
    };
    page(&state, &auth, StatusCode::OK, "confirm.html", confirm).await
}

pub async fn delete(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    AuthForm { auth, .. }: AuthForm<NoFields>,
) -> Page {
    let Some(id) = uuid(&id) else { return Err(common::not_found(&state, &auth)) };
    state.call(&auth, state.legal_aid.clone().delete_consultation(auth.req(DeleteConsultationRequest { id }))).await?;
    Ok(Redirect::to(&format!("{}?notice=deleted", list_url(&auth))).into_response())
}
