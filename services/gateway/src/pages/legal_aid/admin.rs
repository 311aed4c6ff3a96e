//! The admin's side of legal aid: each centre's details (address, phone, e-mail, head — the
//! letterhead of the printed referral form) and where online questions go (S2-33): the
//! district → centre table and the fallback centre for districts without a route.
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::Query;
use minijinja::context;
use minijinja::value::{Serde, Value};
use opeka_proto::cases::{
    DistrictRoute, GetLegalAidCentreRequest, LegalAidCentre, ListDistrictRoutesRequest, ListDistrictRoutesResponse,
    ListLegalAidCentresRequest, SetDistrictRouteRequest, SetFallbackCentreRequest, UpdateLegalAidCentreRequest,
};
use serde::{Deserialize, Serialize};

use super::{Pairs, form_errors, page, root, words};
use crate::AppState;
use crate::pages::common::{self, Opt, Page, http, is_form_error, trimmed, uuid};
use crate::session::{Auth, AuthForm};
use crate::strings::legal_aid::LegalAidStrings;
use crate::views::FormErrors;

const CENTRE_FIELDS: &[&str] = &["address", "phone", "email", "head"];
/// The routing form names each district's select `route:{code}`.
const ROUTE_PREFIX: &str = "route:";

fn centres_url(auth: &Auth) -> String {
    format!("{}/centres", root(auth))
}

#[derive(Deserialize, Default)]
pub struct PageQuery {
    #[serde(default)]
    notice: String,
}

#[derive(Serialize, Debug)]
struct CentreRow {
    id: String,
    name: String,
    address: String,
    phone: String,
    email: String,
    head: String,
}

#[derive(Serialize, Debug)]
struct RouteRow {
    field: String,
    district: String,
    region: String,
    centre_id: String,
}

pub(super) fn page_ctx(
    t: &LegalAidStrings,
    path: &str,
    centres: &[LegalAidCentre],
    routes: &ListDistrictRoutesResponse,
    errors: &FormErrors,
    notice: &str,
) -> Value {
    let opts: Vec<Opt> = centres.iter().map(|c| Opt { id: c.id.clone(), name: c.name.clone() }).collect();
    let rows_of_centres: Vec<CentreRow> = centres
        .iter()
        .map(|c| CentreRow {
            id: c.id.clone(),
            name: c.name.clone(),
            address: c.address.clone(),
            phone: c.phone.clone(),
            email: c.email.clone(),
            head: c.head.clone(),
        })
        .collect();
    let rows: Vec<RouteRow> = routes
        .routes
        .iter()
        .map(|r| RouteRow {
            field: format!("{ROUTE_PREFIX}{}", r.district_code),
            district: r.district_name.clone(),
            region: r.region_name.clone(),
            centre_id: r.centre_id.clone(),
        })
        .collect();
    let notice = match notice {
        "centre" => Some(t.notice_centre_saved),
        "routes" => Some(t.notice_routes_saved),
        "fallback" => Some(t.notice_fallback_saved),
        _ => None,
    };
    context! {
        title => t.centres_title,
        active => "la-centres",
        path => path,
        centres => Value::from(Serde(&rows_of_centres)),
        centre_options => Value::from(Serde(&opts)),
        routes => Value::from(Serde(&rows)),
        fallback_centre_id => routes.fallback_centre_id.clone(),
        errors => Value::from(Serde(errors)),
        notice => notice,
    }
}

async fn render_page(state: &AppState, auth: &Auth, errors: &FormErrors, notice: &str, status: StatusCode) -> Page {
    let centres = state
        .call(auth, state.legal_aid.clone().list_legal_aid_centres(auth.req(ListLegalAidCentresRequest::default())))
        .await?;
    let routes = state
        .call(auth, state.legal_aid.clone().list_district_routes(auth.req(ListDistrictRoutesRequest::default())))
        .await?;
    let ctx = page_ctx(words(state), &centres_url(auth), &centres.centres, &routes, errors, notice);
    page(state, auth, status, "legal_aid/centres.html", ctx).await
}

/// The centres with their details, the fallback centre and the routing table.
pub async fn show(State(state): State<AppState>, auth: Auth, Query(q): Query<PageQuery>) -> Page {
    if !auth.is_admin() {
        return Err(common::forbidden(&state, &auth));
    }
    render_page(&state, &auth, &FormErrors::default(), &q.notice, StatusCode::OK).await
}

/// Which districts the posted table moves to another centre (an empty choice removes the route).
pub(super) fn changed_routes(current: &[DistrictRoute], posted: &Pairs) -> Vec<SetDistrictRouteRequest> {
    current
        .iter()
        .filter_map(|r| {
            let field = format!("{ROUTE_PREFIX}{}", r.district_code);
            let chosen = posted.iter().find(|(k, _)| *k == field).map(|(_, v)| v.trim())?;
            let chosen = uuid(chosen).unwrap_or_default();
            (chosen != r.centre_id)
                .then(|| SetDistrictRouteRequest { district_code: r.district_code.clone(), centre_id: chosen })
        })
        .collect()
}

/// S2-33: «Сохранить» on the routing table sets the routes that changed.
pub async fn save_routes(State(state): State<AppState>, AuthForm { auth, form }: AuthForm<Pairs>) -> Page {
    if !auth.is_admin() {
        return Err(common::forbidden(&state, &auth));
    }
    let routes = state
        .call(&auth, state.legal_aid.clone().list_district_routes(auth.req(ListDistrictRoutesRequest::default())))
        .await?;
    let mut errors = FormErrors::default();
    for msg in changed_routes(&routes.routes, &form) {
        if let Err(status) = state.legal_aid.clone().set_district_route(auth.req(msg)).await {
            if !is_form_error(&status) && status.code() != tonic::Code::NotFound {
                return Err(state.grpc_error(&auth, status).await);
            }
            errors.general.extend(form_errors(&status, &[]).general);
        }
    }
    if !errors.is_empty() {
        return render_page(&state, &auth, &errors, "", StatusCode::BAD_REQUEST).await;
    }
    Ok(Redirect::to(&format!("{}?notice=routes#routes", centres_url(&auth))).into_response())
}

/// Where questions from districts without a route go.
#[serde_with::apply(String => #[serde(deserialize_with = "trimmed")])]
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct FallbackForm {
    centre_id: String,
}

pub async fn save_fallback(State(state): State<AppState>, AuthForm { auth, form }: AuthForm<FallbackForm>) -> Page {
    if !auth.is_admin() {
        return Err(common::forbidden(&state, &auth));
    }
    let msg = SetFallbackCentreRequest { centre_id: uuid(&form.centre_id).unwrap_or_default() };
    state
        .submit_also(
            &auth,
            &[tonic::Code::NotFound],
            state.legal_aid.clone().set_fallback_centre(auth.req(msg)),
            async |_| Redirect::to(&format!("{}?notice=fallback#fallback", centres_url(&auth))),
            async |status| {
                let errors = form_errors(&status, &[]);
                render_page(&state, &auth, &errors, "", http(&status)).await
            },
        )
        .await
}

#[serde_with::apply(String => #[serde(deserialize_with = "trimmed")])]
#[derive(Serialize, Deserialize, Default, Debug)]
#[serde(default)]
pub(super) struct CentreForm {
    pub address: String,
    pub phone: String,
    pub email: String,
    pub head: String,
}

pub(super) fn centre_ctx(
    t: &LegalAidStrings,
    path: &str,
    c: &LegalAidCentre,
    form: &CentreForm,
    errors: &FormErrors,
) -> Value {
    let centre = Opt { id: c.id.clone(), name: c.name.clone() };
    let page = CentrePage { title: t.centre_edit_title, active: "la-centres", path, centre, form, errors };
    Value::from(Serde(page))
}

/// `legal_aid/centre_form.html`.
#[derive(Serialize)]
struct CentrePage<'a> {
    title: &'static str,
    active: &'static str,
    path: &'a str,
    centre: Opt,
    form: &'a CentreForm,
    errors: &'a FormErrors,
}

async fn load(state: &AppState, auth: &Auth, id: &str) -> Result<LegalAidCentre, Response> {
    let Some(id) = uuid(id) else { return Err(common::not_found(state, auth)) };
    state.call(auth, state.legal_aid.clone().get_legal_aid_centre(auth.req(GetLegalAidCentreRequest { id }))).await
}

/// A centre's details for the referral form's letterhead.
pub async fn centre_form(State(state): State<AppState>, auth: Auth, Path((_, id)): Path<(String, String)>) -> Page {
    if !auth.is_admin() {
        return Err(common::forbidden(&state, &auth));
    }
    let c = load(&state, &auth, &id).await?;
    let form =
        CentreForm { address: c.address.clone(), phone: c.phone.clone(), email: c.email.clone(), head: c.head.clone() };
    let ctx = centre_ctx(words(&state), &centres_url(&auth), &c, &form, &FormErrors::default());
    page(&state, &auth, StatusCode::OK, "legal_aid/centre_form.html", ctx).await
}

pub async fn save_centre(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    AuthForm { auth, form }: AuthForm<CentreForm>,
) -> Page {
    if !auth.is_admin() {
        return Err(common::forbidden(&state, &auth));
    }
    let c = load(&state, &auth, &id).await?;
    let msg = UpdateLegalAidCentreRequest {
        id: c.id.clone(),
        address: form.address.clone(),
        phone: form.phone.clone(),
        email: form.email.clone(),
        head: form.head.clone(),
    };
    state
        .submit(
            &auth,
            state.legal_aid.clone().update_legal_aid_centre(auth.req(msg)),
            async |_| Redirect::to(&format!("{}?notice=centre", centres_url(&auth))),
            async |status| {
                let errors = form_errors(&status, CENTRE_FIELDS);
                let ctx = centre_ctx(words(&state), &centres_url(&auth), &c, &form, &errors);
                page(&state, &auth, http(&status), "legal_aid/centre_form.html", ctx).await
            },
        )
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_changed_routes_are_sent() {
        let route =
            |d: &str, c: &str| DistrictRoute { district_code: d.into(), centre_id: c.into(), ..Default::default() };
        let a = "0190b5a0-0000-7000-8000-00000000000a";
        let b = "0190b5a0-0000-7000-8000-00000000000b";
        let current = vec![route("karakol", a), route("ton", ""), route("naryn", b)];
        let posted: Pairs = vec![
            ("route:karakol".into(), a.into()),
            ("route:ton".into(), b.into()),
            ("route:naryn".into(), String::new()),
        ];
        let got: Vec<(String, String)> =
            changed_routes(&current, &posted).into_iter().map(|m| (m.district_code, m.centre_id)).collect();
        assert_eq!(got, vec![("ton".into(), b.into()), ("naryn".into(), String::new())]);
    }
}
