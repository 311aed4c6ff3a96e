//! «Перенаправления» (S2-29…S2-31): referrals of a client to another organisation — the list,
//! «Добавить перенаправление» (from scratch or from a consultation), «Распечатать» with the
//! generated form editable before «Сохранить», and the print-ready page with the centre's
//! details as its letterhead.
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::Query;
use minijinja::context;
use minijinja::value::{Serde, Value};
use opeka_proto::cases::{
    Consultation, CreateReferralRequest, DeleteReferralRequest, GetConsultationRequest, GetReferralRequest,
    LegalAidCentre, ListReferralsRequest, ListReferralsResponse, Referral, ReferralInput, UpdateReferralFormRequest,
    UpdateReferralRequest,
};
use serde::{Deserialize, Serialize};
use tonic::Code;

use super::consultations::today;
use super::{form_errors, may_record, new_request_id, page, page_number, pager, parse_age, query_prefix, root, words};
use crate::AppState;
use crate::pages::NoFields;
use crate::pages::common::{self, Confirm, Opt, Page, http, is_form_error, trimmed, uuid};
use crate::session::{Auth, AuthForm};
use crate::strings::legal_aid::LegalAidStrings;
use crate::terms;
use crate::views::FormErrors;

const PAGE_SIZE: i32 = 20;
const FORM_FIELDS: &[&str] = &[
    "centre_id",
    "date",
    "consultation_id",
    "client_full_name",
    "client_age",
    "client_phone",
    "client_address",
    "to_organisation",
    "to_address",
    "reason",
];
const FILTER_FIELDS: &[&str] = &["date_from", "date_to", "centre_id"];

fn list_url(auth: &Auth) -> String {
    format!("{}/referrals", root(auth))
}

async fn load(state: &AppState, auth: &Auth, id: &str) -> Result<Referral, Response> {
    let Some(id) = uuid(id) else { return Err(common::not_found(state, auth)) };
    state.call(auth, state.legal_aid.clone().get_referral(auth.req(GetReferralRequest { id }))).await
}

// ---------------------------------------------------------------- the list

#[derive(Deserialize, Default, Debug, Clone)]
pub struct ListQuery {
    #[serde(default)]
    pub date_from: String,
    #[serde(default)]
    pub date_to: String,
    #[serde(default)]
    pub centre_id: String,
    #[serde(default)]
    pub page: String,
    #[serde(default)]
    pub notice: String,
}

#[derive(Serialize, Debug)]
struct Row {
    n: i64,
    id: String,
    date: String,
    client: String,
    to_organisation: String,
    reason: String,
    centre: String,
    edited: bool,
}

pub(super) fn list_ctx(
    t: &LegalAidStrings,
    path: &str,
    q: &ListQuery,
    res: Option<&ListReferralsResponse>,
    centres: &[Opt],
    errors: &FormErrors,
    admin: bool,
) -> Value {
    let filters = [("date_from", q.date_from.trim()), ("date_to", q.date_to.trim()), ("centre_id", q.centre_id.trim())];
    let (rows, total, pager) = match res {
        Some(r) => {
            let first = i64::from((r.page.max(1) - 1) * PAGE_SIZE);
            let rows: Vec<Row> = r
                .referrals
                .iter()
                .enumerate()
                .map(|(i, x)| {
                    let input = x.input.clone().unwrap_or_default();
                    Row {
                        n: first + i64::try_from(i).unwrap_or_default() + 1,
                        id: x.id.clone(),
                        date: terms::date(&input.date),
                        client: input.client_full_name,
                        to_organisation: input.to_organisation,
                        reason: input.reason,
                        centre: x.centre_name.clone(),
                        edited: x.form_edited,
                    }
                })
                .collect();
            (rows, r.total_size, Some(pager(&query_prefix(path, &filters), r.page.max(1), r.page_count)))
        }
        None => (Vec::new(), 0, None),
    };
    let notice = match q.notice.as_str() {
        "created" => Some(t.notice_referral_created),
        "saved" => Some(t.notice_referral_saved),
        "deleted" => Some(t.notice_referral_deleted),
        _ => None,
    };
    context! {
        title => t.referrals_title,
        active => "la-referrals",
        path => path,
        q => context! { date_from => q.date_from.trim(), date_to => q.date_to.trim(), centre_id => q.centre_id.trim() },
        rows => Value::from(Serde(&rows)),
        total => total,
        pager => pager.map(|p| Value::from(Serde(p))),
        centres => Value::from(Serde(centres)),
        admin => admin,
        filtered => filters.iter().any(|(_, v)| !v.is_empty()),
        errors => Value::from(Serde(errors)),
        notice => notice,
    }
}

/// S2-30: the centre's referrals, newest first.
pub async fn list(State(state): State<AppState>, auth: Auth, Query(q): Query<ListQuery>) -> Page {
    if !may_record(&auth) {
        return Err(common::forbidden(&state, &auth));
    }
    let admin = auth.is_admin();
    let centres = if admin { super::centres(&state, &auth).await } else { Vec::new() };
    let msg = ListReferralsRequest {
        date_from: q.date_from.trim().to_string(),
        date_to: q.date_to.trim().to_string(),
        centre_id: if admin { uuid(&q.centre_id).unwrap_or_default() } else { String::new() },
        page: page_number(&q.page),
        page_size: PAGE_SIZE,
        ..Default::default()
    };
    let (res, errors) = match state.legal_aid.clone().list_referrals(auth.req(msg)).await {
        Ok(r) => (Some(r.into_inner()), FormErrors::default()),
        Err(status) if status.code() == Code::InvalidArgument => (None, form_errors(&status, FILTER_FIELDS)),
        Err(status) => return Err(state.grpc_error(&auth, status).await),
    };
    let http = if errors.is_empty() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    let ctx = list_ctx(words(&state), &list_url(&auth), &q, res.as_ref(), &centres, &errors, admin);
    page(&state, &auth, http, "legal_aid/referrals.html", ctx).await
}

// ---------------------------------------------------------------- the form

#[serde_with::apply(String => #[serde(deserialize_with = "trimmed")])]
#[derive(Serialize, Default, Debug, Clone, Deserialize)]
#[serde(default)]
pub(super) struct ReferralForm {
    pub request_id: String,
    pub version: String,
    pub centre_id: String,
    pub consultation_id: String,
    pub date: String,
    pub client_full_name: String,
    pub client_age: String,
    pub client_phone: String,
    pub client_address: String,
    pub to_organisation: String,
    pub to_address: String,
    pub reason: String,
}

impl ReferralForm {
    /// A new referral for the client of consultation `c` (S2-31: the form fills itself).
    pub(super) fn from_consultation(c: &Consultation, today: &str) -> Self {
        let i = c.input.clone().unwrap_or_default();
        let r = i.residence.clone().unwrap_or_default();
        let address: Vec<&str> = [r.region_name.as_str(), r.district_name.as_str(), r.city.as_str()]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect();
        Self {
            request_id: new_request_id(),
            centre_id: c.centre_id.clone(),
            consultation_id: c.id.clone(),
            date: today.to_string(),
            client_full_name: i.full_name,
            client_age: i.age.map(|a| a.to_string()).unwrap_or_default(),
            client_phone: i.phone,
            client_address: address.join(", "),
            ..Self::default()
        }
    }

    fn from_referral(r: &Referral) -> Self {
        let i = r.input.clone().unwrap_or_default();
        Self {
            request_id: String::new(),
            version: r.version.to_string(),
            centre_id: r.centre_id.clone(),
            consultation_id: i.consultation_id,
            date: i.date,
            client_full_name: i.client_full_name,
            client_age: i.client_age.map(|a| a.to_string()).unwrap_or_default(),
            client_phone: i.client_phone,
            client_address: i.client_address,
            to_organisation: i.to_organisation,
            to_address: i.to_address,
            reason: i.reason,
        }
    }

    fn to_input(&self, t: &LegalAidStrings) -> Result<ReferralInput, FormErrors> {
        let mut errors = FormErrors::default();
        let client_age = parse_age(&self.client_age, "client_age", t, &mut errors);
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(ReferralInput {
            consultation_id: uuid(&self.consultation_id).unwrap_or_default(),
            client_full_name: self.client_full_name.clone(),
            client_age,
            client_phone: self.client_phone.clone(),
            client_address: self.client_address.clone(),
            to_organisation: self.to_organisation.clone(),
            to_address: self.to_address.clone(),
            reason: self.reason.clone(),
            date: self.date.clone(),
        })
    }
}

pub(super) enum Mode<'a> {
    New,
    Edit(&'a Referral),
}

pub(super) fn form_ctx(
    t: &LegalAidStrings,
    path: &str,
    mode: &Mode<'_>,
    form: &ReferralForm,
    errors: &FormErrors,
    centres: &[Opt],
    admin: bool,
) -> Value {
    let (title, action, id) = match mode {
        Mode::New => (t.referral_new_title, format!("{path}/new"), None),
        Mode::Edit(r) => (t.referral_edit_title, format!("{path}/{}/edit", r.id), Some(r.id.clone())),
    };
    context! {
        title => title,
        active => "la-referrals",
        path => path,
        consultations_path => path.replace("/referrals", "/consultations"),
        action => action,
        id => id,
        form => Value::from(Serde(form)),
        errors => Value::from(Serde(errors)),
        centres => Value::from(Serde(centres)),
        // Only a new referral chooses its centre; an edit keeps it.
        choose_centre => admin && matches!(mode, Mode::New),
    }
}

async fn render_form(
    state: &AppState,
    auth: &Auth,
    mode: Mode<'_>,
    form: &ReferralForm,
    errors: &FormErrors,
    status: StatusCode,
) -> Page {
    let admin = auth.is_admin();
    let centres = if admin { super::centres(state, auth).await } else { Vec::new() };
    let ctx = form_ctx(words(state), &list_url(auth), &mode, form, errors, &centres, admin);
    page(state, auth, status, "legal_aid/referral_form.html", ctx).await
}

#[derive(Deserialize, Default)]
pub struct NewQuery {
    #[serde(default)]
    consultation_id: String,
}

/// S2-29: «Добавить перенаправление»; from a consultation's card the client is filled in.
pub async fn new_form(State(state): State<AppState>, auth: Auth, Query(q): Query<NewQuery>) -> Page {
    if !may_record(&auth) {
        return Err(common::forbidden(&state, &auth));
    }
    let today = today(&state, &auth).await;
    let form = match uuid(&q.consultation_id) {
        Some(id) => {
            let c = state
                .call(&auth, state.legal_aid.clone().get_consultation(auth.req(GetConsultationRequest { id })))
                .await?;
            ReferralForm::from_consultation(&c, &today)
        }
        None => ReferralForm { request_id: new_request_id(), date: today, ..ReferralForm::default() },
    };
    render_form(&state, &auth, Mode::New, &form, &FormErrors::default(), StatusCode::OK).await
}

pub async fn create(State(state): State<AppState>, AuthForm { auth, form }: AuthForm<ReferralForm>) -> Page {
    if !may_record(&auth) {
        return Err(common::forbidden(&state, &auth));
    }
    let mut form = form;
    if uuid(&form.request_id).is_none() {
        form.request_id = new_request_id();
    }
    let input = match form.to_input(words(&state)) {
        Ok(i) => i,
        Err(errors) => return render_form(&state, &auth, Mode::New, &form, &errors, StatusCode::BAD_REQUEST).await,
    };
    let msg = CreateReferralRequest {
        request_id: form.request_id.clone(),
        centre_id: if auth.is_admin() { uuid(&form.centre_id).unwrap_or_default() } else { String::new() },
        input: Some(input),
    };
    state
        .submit(
            &auth,
            state.legal_aid.clone().create_referral(auth.req(msg)),
            async |r| {
                tracing::info!(referral_id = %r.id, "referral recorded");
                Redirect::to(&format!("{}?notice=created", list_url(&auth)))
            },
            async |status| {
                let errors = form_errors(&status, FORM_FIELDS);
                render_form(&state, &auth, Mode::New, &form, &errors, http(&status)).await
            },
        )
        .await
}

pub async fn edit_form(State(state): State<AppState>, auth: Auth, Path((_, id)): Path<(String, String)>) -> Page {
    let r = load(&state, &auth, &id).await?;
    let form = ReferralForm::from_referral(&r);
    render_form(&state, &auth, Mode::Edit(&r), &form, &FormErrors::default(), StatusCode::OK).await
}

pub async fn update(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    AuthForm { auth, form }: AuthForm<ReferralForm>,
) -> Page {
    let r = load(&state, &auth, &id).await?;
    let input = match form.to_input(words(&state)) {
        Ok(i) => i,
        Err(errors) => {
            return render_form(&state, &auth, Mode::Edit(&r), &form, &errors, StatusCode::BAD_REQUEST).await;
        }
    };
    let msg = UpdateReferralRequest {
        id: r.id.clone(),
        version: form.version.parse().unwrap_or(r.version),
        input: Some(input),
    };
    state
        .submit(
            &auth,
            state.legal_aid.clone().update_referral(auth.req(msg)),
            async |_| Redirect::to(&format!("{}?notice=saved", list_url(&auth))),
            async |status| {
                let errors = form_errors(&status, FORM_FIELDS);
                render_form(&state, &auth, Mode::Edit(&r), &form, &errors, http(&status)).await
            },
        )
        .await
}

// ------------------------------------------------------ «Распечатать» and print

#[derive(Deserialize, Default)]
pub struct FormQuery {
    #[serde(default)]
    notice: String,
}

pub(super) fn print_form_ctx(
    t: &LegalAidStrings,
    path: &str,
    r: &Referral,
    text: &str,
    version: &str,
    errors: &FormErrors,
    notice: &str,
) -> Value {
    let i = r.input.clone().unwrap_or_default();
    let notice = match notice {
        "regenerated" => Some(t.notice_form_regenerated),
        _ => None,
    };
    context! {
        title => t.print_form_title,
        active => "la-referrals",
        path => path,
        id => r.id.clone(),
        client => i.client_full_name,
        to_organisation => i.to_organisation,
        form_text => text,
        version => version,
        edited => r.form_edited,
        errors => Value::from(Serde(errors)),
        notice => notice,
    }
}

/// S2-30: «Распечатать» opens the generated form (S2-31) to correct before printing.
pub async fn print_form(
    State(state): State<AppState>,
    auth: Auth,
    Path((_, id)): Path<(String, String)>,
    Query(q): Query<FormQuery>,
) -> Page {
    let r = load(&state, &auth, &id).await?;
    let ctx = print_form_ctx(
        words(&state),
        &list_url(&auth),
        &r,
        &r.form_text,
        &r.version.to_string(),
        &FormErrors::default(),
        &q.notice,
    );
    page(&state, &auth, StatusCode::OK, "legal_aid/referral_print_form.html", ctx).await
}

#[serde_with::apply(String => #[serde(deserialize_with = "trimmed")])]
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct PrintForm {
    /// `regenerate` for «Восстановить».
    action: String,
    form_text: String,
    version: String,
}

/// «Сохранить» keeps the corrected text and opens the print page; «Восстановить» regenerates it.
pub async fn save_print_form(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    AuthForm { auth, form }: AuthForm<PrintForm>,
) -> Page {
    let r = load(&state, &auth, &id).await?;
    let regenerate = form.action == "regenerate";
    // Line breaks as the print page lays them out, whatever the browser sent.
    let text = form.form_text.replace("\r\n", "\n");
    let version = form.version;
    let msg = UpdateReferralFormRequest {
        id: r.id.clone(),
        version: version.parse().unwrap_or(r.version),
        form_text: if regenerate { String::new() } else { text.clone() },
    };
    let t = words(&state);
    match state.legal_aid.clone().update_referral_form(auth.req(msg)).await {
        Ok(_) if regenerate => {
            Ok(Redirect::to(&format!("{}/{}/form?notice=regenerated", list_url(&auth), r.id)).into_response())
        }
        Ok(_) => Ok(Redirect::to(&format!("{}/{}/print", list_url(&auth), r.id)).into_response()),
        Err(status) if is_form_error(&status) => {
            let errors = form_errors(&status, &["form_text"]);
            let http = opeka_platform::error::http_status(status.code());
            let ctx = print_form_ctx(t, &list_url(&auth), &r, &text, &version, &errors, "");
            page(&state, &auth, http, "legal_aid/referral_print_form.html", ctx).await
        }
        Err(status) => Err(state.grpc_error(&auth, status).await),
    }
}

/// The centre's details as the letterhead's lines (as the generated form spells them).
fn letterhead(t: &LegalAidStrings, c: &LegalAidCentre) -> Vec<String> {
    let mut lines = Vec::new();
    for (label, v) in [("", &c.name), ("", &c.address), (t.print_phone, &c.phone), (t.print_email, &c.email)] {
        let v = v.trim();
        if !v.is_empty() {
            lines.push(if label.is_empty() { v.to_string() } else { format!("{label} {v}") });
        }
    }
    lines
}

/// The form's body under the letterhead: its first lines are left out while they repeat the
/// letterhead (the generated form starts with them), and so are the blank lines after them.
pub(super) fn body_under(letterhead: &[String], text: &str) -> String {
    let mut lines = text.lines().peekable();
    while let Some(l) = lines.peek() {
        if letterhead.iter().any(|h| h == l.trim()) {
            lines.next();
        } else {
            break;
        }
    }
    let rest: Vec<&str> = lines.skip_while(|l| l.trim().is_empty()).collect();
    rest.join("\n")
}

pub(super) fn print_ctx(t: &LegalAidStrings, path: &str, r: &Referral) -> Value {
    let centre =
        r.centre.clone().unwrap_or_else(|| LegalAidCentre { name: r.centre_name.clone(), ..Default::default() });
    let head = letterhead(t, &centre);
    context! {
        title => t.print_title,
        path => path,
        id => r.id.clone(),
        centre => context! {
            name => centre.name.clone(), address => centre.address.clone(),
            phone => centre.phone.clone(), email => centre.email,
        },
        body => body_under(&head, &r.form_text),
    }
}

/// S2-30: the print-ready page — no menu, the centre's letterhead, the form as saved.
pub async fn print(State(state): State<AppState>, auth: Auth, Path((_, id)): Path<(String, String)>) -> Page {
    let r = load(&state, &auth, &id).await?;
    let ctx = print_ctx(words(&state), &list_url(&auth), &r);
    Ok(state.page(&auth.tenant, Some(&auth), StatusCode::OK, "legal_aid/print.html", ctx))
}

// ---------------------------------------------------------------- delete

pub async fn delete_confirm(State(state): State<AppState>, auth: Auth, Path((_, id)): Path<(String, String)>) -> Page {
    let r = load(&state, &auth, &id).await?;
    let t = words(&state);
    let path = list_url(&auth);
    let i = r.input.clone().unwrap_or_default();
    let confirm = Confirm {
        title: t.referral_delete_title,
        active: "la-referrals",
        question: t.referral_delete_question,
        subject: &format!("{} — {} → {}", terms::date(&i.date), i.client_full_name, i.to_organisation),
        action: &format!("{path}/{}/delete", r.id),
        confirm_label: t.delete,
        danger: true,
        cancel_href: &path,
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
    state.call(&auth, state.legal_aid.clone().delete_referral(auth.req(DeleteReferralRequest { id }))).await?;
    Ok(Redirect::to(&format!("{}?notice=deleted", list_url(&auth))).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strings::RU;

    #[test]
    fn the_body_drops_the_letterhead_it_repeats() {
        let c = LegalAidCentre {
            name: "ЦБЮП г. Каракол".into(),
            address: "ул. Абдрахманова, 130".into(),
            phone: "+996 3922 5-00-00".into(),
            ..Default::default()
        };
        let head = letterhead(RU.legal_aid, &c);
        assert_eq!(head, vec!["ЦБЮП г. Каракол", "ул. Абдрахманова, 130", "Тел.: +996 3922 5-00-00"]);
        let text =
            "ЦБЮП г. Каракол\nул. Абдрахманова, 130\nТел.: +996 3922 5-00-00\n\nНАПРАВЛЕНИЕ от 03.05.2019\n\nКому: УСР";
        assert_eq!(body_under(&head, text), "НАПРАВЛЕНИЕ от 03.05.2019\n\nКому: УСР");
        // A form edited by hand keeps what no longer matches.
        let edited = "Центр бесплатной юридической помощи\nНАПРАВЛЕНИЕ";
        assert_eq!(body_under(&head, edited), edited);
    }
}
