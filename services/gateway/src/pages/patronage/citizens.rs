//! «Пользователи» (S0-26…S0-50, S0-89, S0-109, S0-111…S0-117): the citizen
//! registry with search, filters and the admin's bulk transfer, the citizen
//! form, and the card with its tabs. Cases decides who sees which card (a
//! curator's request for another curator's citizen is NOT_FOUND there); the
//! gateway only hides what a role may not do. Files are tenant-scoped in the
//! files service, so every file link goes through the card's check first.
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::Query;
use minijinja::Value;
use minijinja::context;
use opeka_proto::cases::{
    AddDiaryEntryRequest, AddInteractionRequest, Citizen, CreateCitizenRequest, DeleteCitizenRequest,
    ExtendCitizenBotLinkRequest, GetCitizenBotLinkRequest, GetCitizenRequest, InteractionKind, ListCitizensRequest,
    ListDiaryEntriesRequest, ListInteractionsRequest, RecordInteractionResultRequest, TransferCitizensRequest,
    UpdateCitizenRequest,
};
use opeka_proto::files::{ListFilesRequest, SetFileTypeRequest};
use opeka_proto::identity::GetAccountRequest;
use opeka_proto::notifications::SendMessageToCitizenRequest;
use serde::{Deserialize, Serialize};

use crate::pages::NoFields;
use crate::pages::common::{self, Confirm, Page, checked, http, name_of, trimmed, uuid};
use crate::session::{Auth, AuthForm};
use crate::terms::{self, Terms};
use crate::views::FormErrors;
use crate::{AppState, identity, tenancy};

const PAGE_SIZE: i32 = 50;
/// Form fields, named as cases' proto fields so violations land beside them.
const FORM_FIELDS: &[&str] = &[
    "surname",
    "name",
    "patronymic",
    "birth_date",
    "inn",
    "phone",
    "email",
    "curator_id",
    "district_id",
    "special_group_ids",
    "situation",
    "inactive_until",
];

fn base(auth: &Auth) -> String {
    tenancy::base(&auth.tenant)
}

fn card_url(auth: &Auth, id: &str, tab: &str, notice: &str) -> String {
    format!("{}/citizens/{id}?tab={tab}&notice={notice}", base(auth))
}

/// The card `id` as cases shows it to this user, or the page to answer with.
pub(super) async fn citizen(state: &AppState, auth: &Auth, id: &str) -> Result<Citizen, Response> {
    let Some(id) = uuid(id) else {
        return Err(common::not_found(state, auth));
    };
    state.call(auth, state.cases.clone().get_citizen(auth.req(GetCitizenRequest { id }))).await
}

// ---------------------------------------------------------------- the list

#[derive(Deserialize, Serialize, Default)]
#[serde(default)]
pub struct ListQuery {
    #[serde(deserialize_with = "trimmed")]
    query: String,
    #[serde(deserialize_with = "trimmed")]
    situation: String,
    district_id: String,
    curator_id: String,
    page_token: String,
    #[serde(skip_serializing)]
    notice: String,
}

#[derive(Serialize)]
struct Row {
    id: String,
    full_name: String,
    district: String,
    curator: String,
    phone: String,
    inactive: bool,
    bot_activated: bool,
}

/// S0-111…S0-113: search by «ФИО» and «Описание ситуации», filters by
/// district and curator, reset; new citizens at the end (S0-33).
pub async fn list(State(state): State<AppState>, auth: Auth, Query(q): Query<ListQuery>) -> Page {
    let terms = state.terms(&auth).await;
    let districts = common::districts(&state, &auth, "").await.unwrap_or_default();
    // A curator's list names curators too (when the tenant lets them read
    // every card); without the right to read staff the column stays empty.
    let curators = common::curators(&state, &auth).await.unwrap_or_default();
    let msg = ListCitizensRequest {
        name_query: q.query.clone(),
        situation_query: q.situation.clone(),
        district_id: uuid(&q.district_id).unwrap_or_default(),
        curator_id: uuid(&q.curator_id).unwrap_or_default(),
        page_size: PAGE_SIZE,
        page_token: q.page_token.clone(),
        ..Default::default()
    };
    let res = state.call(&auth, state.cases.clone().list_citizens(auth.req(msg))).await?;
    let rows: Vec<Row> = res
        .citizens
        .iter()
        .map(|c| Row {
            id: c.id.clone(),
            full_name: c.full_name.clone(),
            district: name_of(&districts, &c.district_id),
            curator: name_of(&curators, &c.curator_id),
            phone: c.phone.clone(),
            inactive: c.inactive,
            bot_activated: c.bot_activated,
        })
        .collect();
    let t = state.strings();
    let notice = match q.notice.as_str() {
        "transferred" => Some(t.notice_transferred),
        "deleted" => Some(t.notice_deleted_item),
        _ => None,
    };
    let filtered =
        !(q.query.is_empty() && q.situation.is_empty() && q.district_id.is_empty() && q.curator_id.is_empty());
    let page = ListPage {
        title: terms.citizens_section.clone(),
        active: "citizens",
        filtered,
        rows,
        total: res.total_size,
        next_page_token: res.next_page_token,
        page_token: &q.page_token,
        q: &q,
        districts,
        curators,
        notice,
    };
    Ok(state.page(&auth.tenant, Some(&auth), StatusCode::OK, "patronage/citizens.html", page))
}

/// `patronage/citizens.html`.
#[derive(Serialize)]
struct ListPage<'a> {
    title: String,
    active: &'static str,
    q: &'a ListQuery,
    filtered: bool,
    rows: Vec<Row>,
    total: i64,
    next_page_token: String,
    page_token: &'a str,
    districts: Vec<common::Opt>,
    curators: Vec<common::Opt>,
    notice: Option<&'static str>,
}

// ---------------------------------------------------------------- the form

/// What the citizen form holds.
#[serde_with::apply(String => #[serde(deserialize_with = "trimmed")])]
#[derive(Serialize, Default, Deserialize)]
#[serde(default)]
pub struct CitizenForm {
    surname: String,
    name: String,
    patronymic: String,
    birth_date: String,
    inn: String,
    phone: String,
    email: String,
    curator_id: String,
    district_id: String,
    special_group_ids: Vec<String>,
    situation: String,
    #[serde(deserialize_with = "checked")]
    inactive: bool,
    inactive_until: String,
}

impl CitizenForm {
    fn from_citizen(c: &Citizen) -> Self {
        Self {
            surname: c.surname.clone(),
            name: c.name.clone(),
            patronymic: c.patronymic.clone(),
            birth_date: c.birth_date.clone(),
            inn: c.inn.clone(),
            phone: c.phone.clone(),
            email: c.email.clone(),
            curator_id: c.curator_id.clone(),
            district_id: c.district_id.clone(),
            special_group_ids: c.special_group_ids.clone(),
            situation: c.situation.clone(),
            inactive: c.inactive,
            inactive_until: c.inactive_until.clone(),
        }
    }

    /// S0-32: surname, name and phone are required (cases checks again).
    fn local_errors(&self, state: &AppState) -> FormErrors {
        let t = state.strings();
        let mut errors = FormErrors::default();
        if self.surname.is_empty() {
            errors.field("surname", t.surname_required);
        }
        if self.name.is_empty() {
            errors.field("name", t.citizen_name_required);
        }
        if self.phone.is_empty() {
            errors.field("phone", t.phone_required);
        }
        errors
    }
}

enum Mode<'a> {
    New,
    Edit(&'a Citizen),
}

async fn render_form(
    state: &AppState,
    auth: &Auth,
    mode: Mode<'_>,
    form: &CitizenForm,
    errors: &FormErrors,
    status: StatusCode,
) -> Page {
    let terms = state.terms(auth).await;
    let districts = common::districts(state, auth, "").await.unwrap_or_default();
    let groups = common::special_groups(state, auth, "").await.unwrap_or_default();
    // S0-27, S0-115: only the admin chooses the curator.
    let curators = if auth.is_admin() { common::curators(state, auth).await.unwrap_or_default() } else { vec![] };
    let t = state.strings();
    let (title, action, id) = match mode {
        Mode::New => (t.citizen_new_title, format!("{}/citizens/new", base(auth)), None),
        Mode::Edit(c) => (t.citizen_edit_title, format!("{}/citizens/{}/edit", base(auth), c.id), Some(c.id.clone())),
    };
    let page = FormPage {
        title,
        active: "citizens",
        action,
        id,
        form,
        errors,
        districts,
        groups,
        curators,
        curator_title: terms.curator_title.clone(),
    };
    Ok(state.page(&auth.tenant, Some(auth), status, "patronage/citizen_form.html", page))
}

/// `patronage/citizen_form.html`.
#[derive(Serialize)]
struct FormPage<'a> {
    title: &'static str,
    active: &'static str,
    action: String,
    id: Option<String>,
    form: &'a CitizenForm,
    errors: &'a FormErrors,
    districts: Vec<common::Opt>,
    groups: Vec<common::Opt>,
    curators: Vec<common::Opt>,
    curator_title: String,
}

/// S0-26, S0-27: «Добавить» opens the form (curators and admins).
pub async fn new_form(State(state): State<AppState>, auth: Auth) -> Page {
    render_form(&state, &auth, Mode::New, &CitizenForm::default(), &FormErrors::default(), StatusCode::OK).await
}

/// S0-28…S0-33: saves the new card and opens it with its activation code (S0-35).
pub async fn create(State(state): State<AppState>, AuthForm { auth, form }: AuthForm<CitizenForm>) -> Page {
    let errors = form.local_errors(&state);
    if !errors.is_empty() {
        return render_form(&state, &auth, Mode::New, &form, &errors, StatusCode::BAD_REQUEST).await;
    }
    let msg = CreateCitizenRequest {
        surname: form.surname.clone(),
        name: form.name.clone(),
        patronymic: form.patronymic.clone(),
        birth_date: form.birth_date.clone(),
        inn: form.inn.clone(),
        phone: form.phone.clone(),
        email: form.email.clone(),
        curator_id: if auth.is_admin() { form.curator_id.clone() } else { String::new() },
        district_id: form.district_id.clone(),
        special_group_ids: form.special_group_ids.clone(),
        situation: form.situation.clone(),
        inactive: form.inactive,
        inactive_until: form.inactive_until.clone(),
    };
    state
        .submit(
            &auth,
            state.cases.clone().create_citizen(auth.req(msg)),
            async |c| {
                tracing::info!(citizen_id = %c.id, "citizen created");
                Redirect::to(&card_url(&auth, &c.id, "data", "created"))
            },
            async |status| {
                let errors = FormErrors::from_status(&status, FORM_FIELDS);
                render_form(&state, &auth, Mode::New, &form, &errors, http(&status)).await
            },
        )
        .await
}

/// S0-37: «Изменить».
pub async fn edit_form(State(state): State<AppState>, auth: Auth, Path((_, id)): Path<(String, String)>) -> Page {
    let c = citizen(&state, &auth, &id).await?;
    if !c.can_edit {
        return Err(common::forbidden(&state, &auth));
    }
    render_form(&state, &auth, Mode::Edit(&c), &CitizenForm::from_citizen(&c), &FormErrors::default(), StatusCode::OK)
        .await
}

/// S0-37: «Сохранить» saves and returns to the card.
pub async fn update(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    AuthForm { auth, form }: AuthForm<CitizenForm>,
) -> Page {
    let c = citizen(&state, &auth, &id).await?;
    let errors = form.local_errors(&state);
    if !errors.is_empty() {
        return render_form(&state, &auth, Mode::Edit(&c), &form, &errors, StatusCode::BAD_REQUEST).await;
    }
    let msg = UpdateCitizenRequest {
        id: c.id.clone(),
        surname: form.surname.clone(),
        name: form.name.clone(),
        patronymic: form.patronymic.clone(),
        birth_date: form.birth_date.clone(),
        inn: form.inn.clone(),
        phone: form.phone.clone(),
        email: form.email.clone(),
        // Empty keeps the curator; only the admin's form offers the choice.
        curator_id: if auth.is_admin() { form.curator_id.clone() } else { String::new() },
        district_id: form.district_id.clone(),
        special_group_ids: form.special_group_ids.clone(),
        situation: form.situation.clone(),
        inactive: form.inactive,
        inactive_until: form.inactive_until.clone(),
    };
    state
        .submit(
            &auth,
            state.cases.clone().update_citizen(auth.req(msg)),
            async |_| Redirect::to(&card_url(&auth, &c.id, "data", "saved")),
            async |status| {
                let errors = FormErrors::from_status(&status, FORM_FIELDS);
                render_form(&state, &auth, Mode::Edit(&c), &form, &errors, http(&status)).await
            },
        )
        .await
}

// ---------------------------------------------------------------- the card

#[derive(Deserialize, Default)]
pub struct CardQuery {
    #[serde(default)]
    tab: String,
    #[serde(default)]
    notice: String,
}

#[derive(Serialize)]
struct BotLinkView {
    activated: bool,
    activated_at: String,
    code: String,
    expires_at: String,
    expired: bool,
}

#[derive(Serialize)]
struct FileRow {
    id: String,
    type_id: String,
    type_name: String,
    name: String,
    received_at: String,
    size_kib: i64,
}

#[derive(Serialize)]
struct InteractionRow {
    id: String,
    contact_request: bool,
    request_text: String,
    result: String,
    created_at: String,
    created_by: String,
    edited_by: String,
    edited_at: String,
}

#[derive(Serialize)]
struct DiaryRow {
    text: String,
    author: String,
    created_at: String,
}

/// S0-34…S0-46, S0-58: the card. Tabs that need the bot are shown as unavailable,
/// with the reason, until the citizen activates it (S0-38).
pub async fn card(
    State(state): State<AppState>,
    auth: Auth,
    Path((_, id)): Path<(String, String)>,
    Query(q): Query<CardQuery>,
    Query(calendar): Query<super::program::CalendarQuery>,
) -> Page {
    let c = citizen(&state, &auth, &id).await?;
    let terms = state.terms(&auth).await;
    let t = state.strings();
    let tab = match q.tab.as_str() {
        "files" | "history" | "program" | "deviations" if c.bot_activated => q.tab.as_str(),
        _ => "data",
    };
    let facts = match tab {
        "files" => files_tab(&state, &auth, &c, &terms).await?,
        "history" => history_tab(&state, &auth, &c, &terms).await?,
        "program" => Tab::Program { program: super::program::tab(&state, &auth, &c, &calendar, &terms).await? },
        "deviations" => {
            let (deviations, deviations_unavailable) = super::deviations::tab(&state, &auth, &c).await?;
            Tab::Deviations { deviations, deviations_unavailable }
        }
        _ => data_tab(&state, &auth, &c, &terms).await,
    };
    let page = CardPage {
        title: t.citizen_card_title,
        active: "citizens",
        tab,
        c: context! {
            id => c.id.clone(), full_name => c.full_name.clone(), surname => c.surname.clone(),
            name => c.name.clone(), patronymic => c.patronymic.clone(),
            birth_date => terms::date(&c.birth_date), inn => c.inn.clone(), phone => c.phone.clone(),
            email => c.email.clone(), situation => c.situation.clone(), inactive => c.inactive,
            inactive_until => terms::date(&c.inactive_until), personal_data_hidden => c.personal_data_hidden,
            bot_activated => c.bot_activated, can_edit => c.can_edit,
        },
        curator_title: terms.curator_title.clone(),
        notice: match q.notice.as_str() {
            "created" => Some(t.notice_citizen_created),
            "saved" => Some(t.notice_saved),
            "extended" => Some(t.notice_extended),
            "sent" => Some(t.notice_message_sent),
            "type" => Some(t.notice_type_changed),
            "interaction" | "diary" => Some(t.notice_interaction_saved),
            "series_created" => Some(t.notice_series_created_close),
            "series_updated" => Some(t.notice_series_updated),
            "occurrence_updated" => Some(t.notice_occurrence_updated),
            "series_deleted" => Some(t.notice_series_deleted),
            _ => None,
        },
        facts,
    };
    Ok(state.page(&auth.tenant, Some(&auth), StatusCode::OK, "patronage/citizen_card.html", page))
}

/// `patronage/citizen_card.html`: the card, and what its open tab shows.
#[derive(Serialize)]
struct CardPage<'a> {
    title: &'static str,
    active: &'static str,
    tab: &'a str,
    c: Value,
    curator_title: String,
    notice: Option<&'static str>,
    #[serde(flatten)]
    facts: Tab,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Tab {
    Data { district: String, curator: String, groups: Vec<String>, link: Option<BotLinkView>, diary: Vec<DiaryRow> },
    Files { files: Vec<FileRow>, file_types: Vec<common::Opt> },
    History { interactions: Vec<InteractionRow> },
    Program { program: super::program::ProgramTab },
    Deviations { deviations: Vec<super::calendar::Row>, deviations_unavailable: Option<&'static str> },
}

/// «Данные пользователя»: the facts, the activation block, «Дневник».
async fn data_tab(state: &AppState, auth: &Auth, c: &Citizen, terms: &Terms) -> Tab {
    let districts = common::districts(state, auth, "").await.unwrap_or_default();
    let groups = common::special_groups(state, auth, "").await.unwrap_or_default();
    let curator = if c.curator_id.is_empty() {
        String::new()
    } else {
        match state.identity.clone().get_account(auth.req(GetAccountRequest { id: c.curator_id.clone() })).await {
            Ok(a) => identity::full_name(a.get_ref()),
            Err(_) => String::new(),
        }
    };
    // The code is shown to whoever hands it over: the card's curator, an admin.
    let link = if c.personal_data_hidden {
        None
    } else {
        let msg = GetCitizenBotLinkRequest { citizen_id: c.id.clone() };
        match state.cases.clone().get_citizen_bot_link(auth.req(msg)).await {
            Ok(l) => {
                let l = l.into_inner();
                Some(BotLinkView {
                    activated: l.activated,
                    activated_at: terms.time(l.activated_at.as_ref()),
                    code: l.code,
                    expires_at: terms.time(l.expires_at.as_ref()),
                    expired: l.expired,
                })
            }
            Err(status) => {
                tracing::warn!(code = ?status.code(), message = status.message(), "bot link unavailable");
                None
            }
        }
    };
    let diary = match state
        .cases
        .clone()
        .list_diary_entries(auth.req(ListDiaryEntriesRequest { citizen_id: c.id.clone(), ..Default::default() }))
        .await
    {
        Ok(d) => d
            .into_inner()
            .entries
            .iter()
            .map(|e| DiaryRow {
                text: e.text.clone(),
                author: e.author_name.clone(),
                created_at: terms.time(e.created_at.as_ref()),
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    let group_names = c.special_group_ids.iter().map(|g| name_of(&groups, g)).collect();
    Tab::Data { district: name_of(&districts, &c.district_id), curator, groups: group_names, link, diary }
}

/// «История взаимодействия».
async fn history_tab(state: &AppState, auth: &Auth, c: &Citizen, terms: &Terms) -> Result<Tab, Response> {
    let msg = ListInteractionsRequest { citizen_id: c.id.clone(), ..Default::default() };
    let list = state.call(auth, state.cases.clone().list_interactions(auth.req(msg))).await?;
    let interactions = list
        .interactions
        .iter()
        .map(|i| InteractionRow {
            id: i.id.clone(),
            contact_request: i.kind == InteractionKind::ContactRequest as i32,
            request_text: i.request_text.clone(),
            result: i.result.clone(),
            created_at: terms.time(i.created_at.as_ref()),
            created_by: i.created_by_name.clone(),
            edited_by: i.edited_by_name.clone(),
            edited_at: terms.time(i.edited_at.as_ref()),
        })
        .collect();
    Ok(Tab::History { interactions })
}

/// «Файлы пользователя» (S0-40, S0-41, S0-106).
async fn files_tab(state: &AppState, auth: &Auth, c: &Citizen, terms: &Terms) -> Result<Tab, Response> {
    let msg = ListFilesRequest { citizen_id: c.account_id.clone(), page_size: 200, ..Default::default() };
    let files = state.call(auth, state.files.clone().list_files(auth.req(msg))).await?;
    let types = common::file_types(state, auth, "").await.unwrap_or_default();
    let rows = files
        .files
        .iter()
        .map(|f| FileRow {
            id: f.id.clone(),
            type_id: f.file_type_id.clone(),
            type_name: f.file_type_name.clone(),
            name: f.original_name.clone(),
            received_at: terms.time(f.created_at.as_ref()),
            size_kib: (f.size + 1023) / 1024,
        })
        .collect();
    Ok(Tab::Files { files: rows, file_types: types })
}

/// S0-36: «Продлить срок действия кода», as often as needed.
pub async fn extend_code(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    AuthForm { auth, .. }: AuthForm<NoFields>,
) -> Page {
    let c = citizen(&state, &auth, &id).await?;
    let msg = ExtendCitizenBotLinkRequest { citizen_id: c.id.clone() };
    state.call(&auth, state.cases.clone().extend_citizen_bot_link(auth.req(msg))).await?;
    Ok(Redirect::to(&card_url(&auth, &c.id, "data", "extended")).into_response())
}

#[derive(Deserialize)]
pub struct TextForm {
    #[serde(default)]
    text: String,
}

/// S0-30: a «Дневник» entry.
pub async fn add_diary(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    AuthForm { auth, form }: AuthForm<TextForm>,
) -> Page {
    let Some(id) = uuid(&id) else { return Err(common::not_found(&state, &auth)) };
    let msg = AddDiaryEntryRequest { citizen_id: id.clone(), text: form.text.trim().to_string() };
    state.call(&auth, state.cases.clone().add_diary_entry(auth.req(msg))).await?;
    Ok(Redirect::to(&card_url(&auth, &id, "data", "diary")).into_response())
}

#[derive(Deserialize)]
pub struct ResultForm {
    #[serde(default)]
    result: String,
}

/// S0-45: «Добавить» — a contact the curator initiated.
pub async fn add_interaction(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    AuthForm { auth, form }: AuthForm<ResultForm>,
) -> Page {
    let Some(id) = uuid(&id) else { return Err(common::not_found(&state, &auth)) };
    let msg = AddInteractionRequest { citizen_id: id.clone(), result: form.result.trim().to_string() };
    state.call(&auth, state.cases.clone().add_interaction(auth.req(msg))).await?;
    Ok(Redirect::to(&card_url(&auth, &id, "history", "interaction")).into_response())
}

/// S0-43, S0-44: the call result; cases stamps «Отредактировано: кто, когда».
pub async fn record_result(
    State(state): State<AppState>,
    Path((_, id, interaction)): Path<(String, String, String)>,
    AuthForm { auth, form }: AuthForm<ResultForm>,
) -> Page {
    let (Some(id), Some(interaction)) = (uuid(&id), uuid(&interaction)) else {
        return Err(common::not_found(&state, &auth));
    };
    let msg = RecordInteractionResultRequest { id: interaction, result: form.result.trim().to_string() };
    state.call(&auth, state.cases.clone().record_interaction_result(auth.req(msg))).await?;
    Ok(Redirect::to(&card_url(&auth, &id, "history", "interaction")).into_response())
}

/// S0-41, S0-86: a file streamed from files, after cases let this user open
/// the card the file belongs to (`common::download`).
pub async fn download(
    State(state): State<AppState>,
    auth: Auth,
    Path((_, id, file_id)): Path<(String, String, String)>,
) -> Page {
    let c = citizen(&state, &auth, &id).await?;
    let Some(file_id) = uuid(&file_id) else { return Err(common::not_found(&state, &auth)) };
    common::download(&state, &auth, file_id, |f| f.citizen_id == c.account_id).await
}

#[derive(Deserialize)]
pub struct TypeForm {
    #[serde(default)]
    file_type_id: String,
}

/// S0-106: the curator (re)classifies a received file.
pub async fn set_file_type(
    State(state): State<AppState>,
    Path((_, id, file_id)): Path<(String, String, String)>,
    AuthForm { auth, form }: AuthForm<TypeForm>,
) -> Page {
    let c = citizen(&state, &auth, &id).await?;
    let Some(file_id) = uuid(&file_id) else { return Err(common::not_found(&state, &auth)) };
    if !c.can_edit {
        return Err(common::forbidden(&state, &auth));
    }
    let file = state
        .call(&auth, state.files.clone().get_file(auth.req(opeka_proto::files::GetFileRequest { id: file_id.clone() })))
        .await?;
    if file.citizen_id != c.account_id {
        return Err(common::not_found(&state, &auth));
    }
    let msg = SetFileTypeRequest { id: file_id, file_type_id: uuid(&form.file_type_id).unwrap_or_default() };
    state.call(&auth, state.files.clone().set_file_type(auth.req(msg))).await?;
    Ok(Redirect::to(&card_url(&auth, &c.id, "files", "type")).into_response())
}

// ------------------------------------------------------- «Написать сообщение»

fn render_message(
    state: &AppState,
    auth: &Auth,
    c: &Citizen,
    text: &str,
    errors: &FormErrors,
    status: StatusCode,
) -> Response {
    let title = state.strings().message_title;
    let page = MessagePage { title, active: "citizens", id: &c.id, full_name: &c.full_name, text, errors };
    state.page(&auth.tenant, Some(auth), status, "patronage/citizen_message.html", page)
}

/// `patronage/citizen_message.html`.
#[derive(Serialize)]
struct MessagePage<'a> {
    title: &'static str,
    active: &'static str,
    id: &'a str,
    full_name: &'a str,
    text: &'a str,
    errors: &'a FormErrors,
}

/// S0-89: a short message to a citizen who could not be reached by phone.
pub async fn message_form(State(state): State<AppState>, auth: Auth, Path((_, id)): Path<(String, String)>) -> Page {
    let c = citizen(&state, &auth, &id).await?;
    Ok(render_message(&state, &auth, &c, "", &FormErrors::default(), StatusCode::OK))
}

pub async fn send_message(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    AuthForm { auth, form }: AuthForm<TextForm>,
) -> Page {
    let c = citizen(&state, &auth, &id).await?;
    let text = form.text.trim();
    if text.is_empty() {
        let mut errors = FormErrors::default();
        errors.field("text", state.strings().message_required);
        return Err(render_message(&state, &auth, &c, text, &errors, StatusCode::BAD_REQUEST));
    }
    let msg = SendMessageToCitizenRequest { citizen_account_id: c.account_id.clone(), text: text.to_string() };
    state
        .submit_also(
            &auth,
            &[tonic::Code::Unavailable],
            state.notifications.clone().send_message_to_citizen(auth.req(msg)),
            async |_| Redirect::to(&card_url(&auth, &c.id, "data", "sent")),
            async |status| {
                let errors = FormErrors::from_status(&status, &["text"]);
                render_message(&state, &auth, &c, text, &errors, http(&status))
            },
        )
        .await
}

// ---------------------------------------------------------------- transfer

/// S0-115, S0-116: «Перевод пользователей» — how many are selected,
/// «Кому перевести», «Перевести». Admin only; cases checks again.
pub async fn transfer_form(State(state): State<AppState>, auth: Auth, Query(q): Query<TransferForm>) -> Page {
    if !auth.is_admin() {
        return Err(common::forbidden(&state, &auth));
    }
    render_transfer(&state, &auth, &q.ids(), "", &FormErrors::default(), StatusCode::OK).await
}

/// The citizens ticked in the list, and (on the form) the curator they go to.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct TransferForm {
    citizen_id: Vec<String>,
    #[serde(deserialize_with = "trimmed")]
    to_curator_id: String,
}

impl TransferForm {
    fn ids(&self) -> Vec<String> {
        self.citizen_id.iter().filter_map(|id| uuid(id)).collect()
    }
}

async fn render_transfer(
    state: &AppState,
    auth: &Auth,
    ids: &[String],
    to: &str,
    errors: &FormErrors,
    status: StatusCode,
) -> Page {
    let curators = common::curators(state, auth).await.unwrap_or_default();
    let title = state.strings().transfer_title;
    let page = TransferPage { title, active: "citizens", ids, count: ids.len(), to, curators, errors };
    Ok(state.page(&auth.tenant, Some(auth), status, "patronage/citizen_transfer.html", page))
}

/// `patronage/citizen_transfer.html`.
#[derive(Serialize)]
struct TransferPage<'a> {
    title: &'static str,
    active: &'static str,
    ids: &'a [String],
    count: usize,
    to: &'a str,
    curators: Vec<common::Opt>,
    errors: &'a FormErrors,
}

pub async fn transfer(State(state): State<AppState>, AuthForm { auth, form }: AuthForm<TransferForm>) -> Page {
    if !auth.is_admin() {
        return Err(common::forbidden(&state, &auth));
    }
    let ids = form.ids();
    let to = form.to_curator_id;
    let msg = TransferCitizensRequest { citizen_ids: ids.clone(), to_curator_id: to.clone() };
    state
        .submit_also(
            &auth,
            &[tonic::Code::NotFound],
            state.cases.clone().transfer_citizens(auth.req(msg)),
            async |r| {
                tracing::info!(transferred = r.transferred, "citizens transferred");
                Redirect::to(&format!("{}/citizens?notice=transferred", base(&auth)))
            },
            async |status| {
                let errors = FormErrors::from_status(&status, &["to_curator_id", "citizen_ids"]);
                render_transfer(&state, &auth, &ids, &to, &errors, http(&status)).await
            },
        )
        .await
}

// ---------------------------------------------------------------- delete

/// S0-114: the admin deletes a card, after a confirmation.
pub async fn delete_confirm(State(state): State<AppState>, auth: Auth, Path((_, id)): Path<(String, String)>) -> Page {
    if !auth.is_admin() {
        return Err(common::forbidden(&state, &auth));
    }
    let c = citizen(&state, &auth, &id).await?;
    let t = state.strings();
    let b = base(&auth);
    let confirm = Confirm {
        title: t.action_delete,
        active: "citizens",
        question: &format!("{}?", t.action_delete),
        subject: &c.full_name,
        action: &format!("{b}/citizens/{}/delete", c.id),
        confirm_label: t.delete_confirm,
        danger: true,
        cancel_href: &format!("{b}/citizens/{}", c.id),
        ..Confirm::default()
    };
    Ok(state.page(&auth.tenant, Some(&auth), StatusCode::OK, "confirm.html", confirm))
}

pub async fn delete(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    AuthForm { auth, .. }: AuthForm<NoFields>,
) -> Page {
    let Some(id) = uuid(&id) else { return Err(common::not_found(&state, &auth)) };
    state.call(&auth, state.cases.clone().delete_citizen(auth.req(DeleteCitizenRequest { id }))).await?;
    Ok(Redirect::to(&format!("{}/citizens?notice=deleted", base(&auth))).into_response())
}
