//! The tenant's reference lists, one page shape for all three: «Районы»
//! (identity, S0-98…S0-101), «Типы сообщений (файлов)» (files,
//! S0-102…S0-105) and «Особые группы» (cases, S0-107…S0-108). Everyone
//! reads them; the admin adds, renames and (where the service allows)
//! deletes. Each owning service checks the role again.
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum_extra::extract::Query;
use minijinja::context;
use minijinja::value::{Serde, Value};
use opeka_proto::cases::{CreateSpecialGroupRequest, DeleteSpecialGroupRequest, RenameSpecialGroupRequest};
use opeka_proto::files::{CreateFileTypeRequest, DeleteFileTypeRequest, RenameFileTypeRequest};
use opeka_proto::identity::{CreateDistrictRequest, RenameDistrictRequest};
use serde::Deserialize;

use crate::pages::NoFields;
use crate::pages::common::{self, Confirm, Opt, Page, is_form_error, uuid};
use crate::session::{Auth, AuthForm};
use crate::views::FormErrors;
use crate::{AppState, Strings, tenancy};

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Districts,
    FileTypes,
    SpecialGroups,
}

/// The words and abilities of one list.
struct Words {
    path: &'static str,
    title: &'static str,
    name_label: &'static str,
    new_title: &'static str,
    edit_title: &'static str,
    /// `None`: the list has no deletion.
    delete: Option<(&'static str, &'static str, &'static str)>,
    readonly_note: Option<&'static str>,
}

impl Kind {
    fn words(self, t: &'static Strings) -> Words {
        match self {
            Kind::Districts => Words {
                path: "districts",
                title: t.districts_title,
                name_label: t.district_name,
                new_title: t.district_new_title,
                edit_title: t.district_edit_title,
                delete: None,
                readonly_note: None,
            },
            Kind::FileTypes => Words {
                path: "file-types",
                title: t.file_types_title,
                name_label: t.file_type_name,
                new_title: t.file_type_new_title,
                edit_title: t.file_type_edit_title,
                delete: Some((t.file_type_delete_title, t.file_type_delete_question, t.file_type_delete_note)),
                readonly_note: None,
            },
            Kind::SpecialGroups => Words {
                path: "special-groups",
                title: t.special_groups_title,
                name_label: t.special_group_name,
                new_title: t.special_group_new_title,
                edit_title: t.special_group_edit_title,
                delete: Some((
                    t.special_group_delete_title,
                    t.special_group_delete_question,
                    t.special_group_delete_note,
                )),
                readonly_note: Some(t.special_groups_readonly),
            },
        }
    }

    async fn list(self, state: &AppState, auth: &Auth, query: &str) -> Result<Vec<Opt>, tonic::Status> {
        match self {
            // S0-101: a new district at the end. Ids are UUID v7, so their
            // order is the order of creation.
            Kind::Districts => common::districts(state, auth, query).await.map(|mut d| {
                d.sort_by(|a, b| a.id.cmp(&b.id));
                d
            }),
            Kind::FileTypes => common::file_types(state, auth, query).await,
            Kind::SpecialGroups => common::special_groups(state, auth, query).await,
        }
    }

    async fn save(self, state: &AppState, auth: &Auth, id: Option<&str>, name: String) -> Result<(), tonic::Status> {
        match (self, id) {
            (Kind::Districts, None) => {
                state.identity.clone().create_district(auth.req(CreateDistrictRequest { name })).await?;
            }
            (Kind::Districts, Some(id)) => {
                let msg = RenameDistrictRequest { id: id.into(), name };
                state.identity.clone().rename_district(auth.req(msg)).await?;
            }
            (Kind::FileTypes, None) => {
                state.files.clone().create_file_type(auth.req(CreateFileTypeRequest { name })).await?;
            }
            (Kind::FileTypes, Some(id)) => {
                let msg = RenameFileTypeRequest { id: id.into(), name };
                state.files.clone().rename_file_type(auth.req(msg)).await?;
            }
            (Kind::SpecialGroups, None) => {
                state.cases.clone().create_special_group(auth.req(CreateSpecialGroupRequest { name })).await?;
            }
            (Kind::SpecialGroups, Some(id)) => {
                let msg = RenameSpecialGroupRequest { id: id.into(), name };
                state.cases.clone().rename_special_group(auth.req(msg)).await?;
            }
        }
        Ok(())
    }

    async fn delete(self, state: &AppState, auth: &Auth, id: String) -> Result<(), tonic::Status> {
        match self {
            Kind::Districts => return Err(tonic::Status::failed_precondition("districts are not deleted")),
            Kind::FileTypes => {
                state.files.clone().delete_file_type(auth.req(DeleteFileTypeRequest { id })).await?;
            }
            Kind::SpecialGroups => {
                state.cases.clone().delete_special_group(auth.req(DeleteSpecialGroupRequest { id })).await?;
            }
        }
        Ok(())
    }
}

/// The routes of one list under `/t/{tenant}/<path>`.
pub fn routes(kind: Kind) -> Router<AppState> {
    let path = kind.words(&crate::strings::RU).path;
    let root = format!("/t/{{tenant}}/{path}");
    let mut r = Router::new()
        .route(&root, get(move |s: State<AppState>, a: Auth, q: Query<ListQuery>| list(kind, s, a, q)))
        .route(
            &format!("{root}/new"),
            get(move |s: State<AppState>, a: Auth| form(kind, s, a, None))
                .post(move |s: State<AppState>, f: AuthForm<NameForm>| save(kind, s, None, f)),
        )
        .route(
            &format!("{root}/{{id}}/edit"),
            get(move |s: State<AppState>, a: Auth, Path((_, id)): Path<(String, String)>| form(kind, s, a, Some(id)))
                .post(move |s: State<AppState>, Path((_, id)): Path<(String, String)>, f: AuthForm<NameForm>| {
                    save(kind, s, Some(id), f)
                }),
        );
    if kind != Kind::Districts {
        r = r.route(
            &format!("{root}/{{id}}/delete"),
            get(move |s: State<AppState>, a: Auth, Path((_, id)): Path<(String, String)>| {
                delete_confirm(kind, s, a, id)
            })
            .post(
                move |s: State<AppState>, Path((_, id)): Path<(String, String)>, f: AuthForm<NoFields>| {
                    delete(kind, s, id, f)
                },
            ),
        );
    }
    r
}

fn list_url(auth: &Auth, w: &Words, notice: &str) -> String {
    format!("{}/{}?notice={notice}", tenancy::base(&auth.tenant), w.path)
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    query: String,
    #[serde(default)]
    notice: String,
}

async fn list(kind: Kind, State(state): State<AppState>, auth: Auth, Query(q): Query<ListQuery>) -> Page {
    let t = state.strings();
    let w = kind.words(t);
    let query = q.query.trim().to_string();
    let rows = match kind.list(&state, &auth, &query).await {
        Ok(r) => r,
        Err(status) => return Err(state.grpc_error(&auth, status).await),
    };
    let notice = match q.notice.as_str() {
        "created" => Some(t.notice_created_item),
        "saved" => Some(t.notice_saved),
        "deleted" => Some(t.notice_deleted_item),
        _ => None,
    };
    let ctx = context! {
        title => w.title,
        active => w.path,
        path => w.path,
        query => query,
        rows => Value::from(Serde(&rows)),
        can_manage => auth.is_admin(),
        can_delete => w.delete.is_some(),
        readonly_note => if auth.is_admin() { None } else { w.readonly_note },
        notice => notice,
    };
    Ok(state.page(&auth.tenant, Some(&auth), StatusCode::OK, "patronage/reference.html", ctx))
}

#[derive(Deserialize)]
pub struct NameForm {
    #[serde(default)]
    name: String,
}

fn render_form(
    state: &AppState,
    auth: &Auth,
    kind: Kind,
    id: Option<&str>,
    name: &str,
    errors: &FormErrors,
    status: StatusCode,
) -> Response {
    let w = kind.words(state.strings());
    let base = tenancy::base(&auth.tenant);
    let action = match id {
        Some(id) => format!("{base}/{}/{id}/edit", w.path),
        None => format!("{base}/{}/new", w.path),
    };
    let ctx = context! {
        title => if id.is_some() { w.edit_title } else { w.new_title },
        active => w.path,
        path => w.path,
        list_title => w.title,
        action => action,
        name_label => w.name_label,
        name => name,
        errors => Value::from(Serde(errors)),
    };
    state.page(&auth.tenant, Some(auth), status, "patronage/reference_form.html", ctx)
}

/// The current name of entry `id`, or the page to answer with.
async fn current(kind: Kind, state: &AppState, auth: &Auth, id: &str) -> Result<Opt, Response> {
    let Some(id) = uuid(id) else { return Err(common::not_found(state, auth)) };
    match kind.list(state, auth, "").await {
        Ok(rows) => rows.into_iter().find(|o| o.id == id).ok_or_else(|| common::not_found(state, auth)),
        Err(status) => Err(state.grpc_error(auth, status).await),
    }
}

async fn form(kind: Kind, State(state): State<AppState>, auth: Auth, id: Option<String>) -> Page {
    if !auth.is_admin() {
        return Err(common::forbidden(&state, &auth));
    }
    let ok = StatusCode::OK;
    match id {
        None => Ok(render_form(&state, &auth, kind, None, "", &FormErrors::default(), ok)),
        Some(id) => {
            let o = current(kind, &state, &auth, &id).await?;
            Ok(render_form(&state, &auth, kind, Some(&o.id), &o.name, &FormErrors::default(), ok))
        }
    }
}

/// S0-99, S0-100, S0-104, S0-105: «Сохранить» and back to the list.
async fn save(
    kind: Kind,
    State(state): State<AppState>,
    id: Option<String>,
    AuthForm { auth, form }: AuthForm<NameForm>,
) -> Page {
    if !auth.is_admin() {
        return Err(common::forbidden(&state, &auth));
    }
    let id = match id {
        Some(id) => Some(current(kind, &state, &auth, &id).await?.id),
        None => None,
    };
    let name = form.name.trim().to_string();
    if name.is_empty() {
        let mut errors = FormErrors::default();
        errors.field("name", state.strings().title_required);
        return Err(render_form(&state, &auth, kind, id.as_deref(), &name, &errors, StatusCode::BAD_REQUEST));
    }
    let w = kind.words(state.strings());
    match kind.save(&state, &auth, id.as_deref(), name.clone()).await {
        Ok(()) => {
            Ok(Redirect::to(&list_url(&auth, &w, if id.is_some() { "saved" } else { "created" })).into_response())
        }
        Err(status) if is_form_error(&status) => {
            let errors = FormErrors::from_status(&status, &["name"]);
            let http = opeka_platform::error::http_status(status.code());
            Ok(render_form(&state, &auth, kind, id.as_deref(), &name, &errors, http))
        }
        Err(status) => Err(state.grpc_error(&auth, status).await),
    }
}

/// S0-103: «Корзина» asks first.
async fn delete_confirm(kind: Kind, State(state): State<AppState>, auth: Auth, id: String) -> Page {
    if !auth.is_admin() {
        return Err(common::forbidden(&state, &auth));
    }
    let w = kind.words(state.strings());
    let Some((title, question, note)) = w.delete else { return Err(common::not_found(&state, &auth)) };
    let o = current(kind, &state, &auth, &id).await?;
    let base = tenancy::base(&auth.tenant);
    let confirm = Confirm {
        title,
        active: w.path,
        question,
        subject: &o.name,
        note,
        action: &format!("{base}/{}/{}/delete", w.path, o.id),
        confirm_label: state.strings().delete_confirm,
        danger: true,
        cancel_href: &format!("{base}/{}", w.path),
    };
    Ok(state.page(&auth.tenant, Some(&auth), StatusCode::OK, "confirm.html", confirm))
}

async fn delete(
    kind: Kind,
    State(state): State<AppState>,
    id: String,
    AuthForm { auth, .. }: AuthForm<NoFields>,
) -> Page {
    if !auth.is_admin() {
        return Err(common::forbidden(&state, &auth));
    }
    let Some(id) = uuid(&id) else { return Err(common::not_found(&state, &auth)) };
    let w = kind.words(state.strings());
    match kind.delete(&state, &auth, id).await {
        Ok(()) => Ok(Redirect::to(&list_url(&auth, &w, "deleted")).into_response()),
        Err(status) => Err(state.grpc_error(&auth, status).await),
    }
}
