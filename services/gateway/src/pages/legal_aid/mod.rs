//! Legal aid (issue 5 point 6, seed 002): the consultants' panel — «Обращения», «Перенаправления»
//! with the printed referral form, «Онлайн-консультация» with its red count — the admin's centres
//! and district routing, and the public question and answer pages. Cases' `LegalAidService` decides
//! who may do what; the gateway only hides what a role may not do and puts refusals beside fields.
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use minijinja::value::Serde;
use minijinja::{Value, context};
use opeka_proto::cases::{
    CountWaitingQuestionsRequest, LegalAidRef, LegalAidRefKind, ListLegalAidCentresRequest, ListLegalAidRefsRequest,
};
use serde::Serialize;

use crate::pages::common::{Opt, Page};
use crate::session::Auth;
use crate::strings::legal_aid::LegalAidStrings;
use crate::views::FormErrors;
use crate::{AppState, tenancy};

mod admin;
mod consultations;
mod public;
mod questions;
mod referrals;
#[cfg(test)]
mod render_tests;

pub fn routes() -> Router<AppState> {
    let c = "/t/{tenant}/legal-aid/consultations";
    let r = "/t/{tenant}/legal-aid/referrals";
    let q = "/t/{tenant}/legal-aid/questions";
    Router::new()
        .route(c, get(consultations::list))
        .route(&format!("{c}/new"), get(consultations::new_form).post(consultations::create))
        .route(&format!("{c}/{{id}}"), get(consultations::card))
        .route(&format!("{c}/{{id}}/edit"), get(consultations::edit_form).post(consultations::update))
        .route(&format!("{c}/{{id}}/delete"), get(consultations::delete_confirm).post(consultations::delete))
        .route(r, get(referrals::list))
        .route(&format!("{r}/new"), get(referrals::new_form).post(referrals::create))
        .route(&format!("{r}/{{id}}/edit"), get(referrals::edit_form).post(referrals::update))
        .route(&format!("{r}/{{id}}/form"), get(referrals::print_form).post(referrals::save_print_form))
        .route(&format!("{r}/{{id}}/print"), get(referrals::print))
        .route(&format!("{r}/{{id}}/delete"), get(referrals::delete_confirm).post(referrals::delete))
        .route(q, get(questions::list))
        .route(&format!("{q}/{{id}}"), get(questions::show))
        .route(&format!("{q}/{{id}}/answer"), post(questions::answer))
        .route(&format!("{q}/{{id}}/moderate"), post(questions::moderate))
        .route("/t/{tenant}/legal-aid/menu-link", get(menu_link))
        .route("/t/{tenant}/legal-aid/centres", get(admin::show))
        .route("/t/{tenant}/legal-aid/centres/{id}", get(admin::centre_form).post(admin::save_centre))
        .route("/t/{tenant}/legal-aid/routes", post(admin::save_routes))
        .route("/t/{tenant}/legal-aid/fallback", post(admin::save_fallback))
        .route("/t/{tenant}/online", get(public::ask_page).post(public::ask))
        .route("/t/{tenant}/online/answers", get(public::answers))
}

type Pairs = Vec<(String, String)>;

fn words(state: &AppState) -> &'static LegalAidStrings {
    state.strings().legal_aid
}

/// `/t/{tenant}/legal-aid`.
fn root(auth: &Auth) -> String {
    format!("{}/legal-aid", tenancy::base(&auth.tenant))
}

fn has_role(auth: &Auth, role: &str) -> bool {
    auth.row.roles.iter().any(|r| r == role)
}

fn is_consultant(auth: &Auth) -> bool {
    has_role(auth, "consultant")
}

/// Consultations and referrals: a centre's consultants, and admins for every centre.
fn may_record(auth: &Auth) -> bool {
    is_consultant(auth) || auth.is_admin()
}

/// Online questions: also moderators, who check the answers (S2-36).
fn may_see_questions(auth: &Auth) -> bool {
    may_record(auth) || has_role(auth, "moderator")
}

fn may_moderate(auth: &Auth) -> bool {
    has_role(auth, "moderator") || auth.is_admin()
}

fn new_request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// What the «Онлайн-консультация» menu item counts (S2-34): for a consultant the questions
/// waiting for their centre's answer; for moderators and admins the answers waiting for them.
async fn badge(state: &AppState, auth: &Auth) -> Option<i64> {
    if !may_see_questions(auth) {
        return None;
    }
    let msg = CountWaitingQuestionsRequest { centre_id: String::new() };
    match state.legal_aid.clone().count_waiting_questions(auth.req(msg)).await {
        Ok(r) => {
            let r = r.into_inner();
            Some(if is_consultant(auth) { r.waiting } else { r.awaiting_moderation })
        }
        Err(status) => {
            tracing::info!(code = ?status.code(), message = status.message(), "waiting questions not counted");
            None
        }
    }
}

/// A page of the panel: the layout's «Онлайн-консультация» item gets its count from here
/// (other sections' pages load it with htmx from `menu_link`).
async fn page(state: &AppState, auth: &Auth, status: StatusCode, template: &str, ctx: impl Serialize) -> Page {
    let waiting = badge(state, auth).await;
    let ctx = minijinja::value::merge_maps([Value::from(Serde(ctx)), context! { la_waiting => waiting }]);
    Ok(state.page(&auth.tenant, Some(auth), status, template, ctx))
}

/// The «Онлайн-консультация» menu link with its count alone, for pages outside the panel (htmx
/// swaps it in; the template extends no layout).
async fn menu_link(State(state): State<AppState>, auth: Auth) -> Page {
    page(&state, &auth, StatusCode::OK, "legal_aid/menu_link.html", ()).await
}

/// Violations spread over a form; `residence.city` belongs beside the form's `city`.
fn form_errors(status: &tonic::Status, fields: &[&str]) -> FormErrors {
    let mut errors = FormErrors::default();
    let violations = opeka_platform::error::violations(status);
    if violations.is_empty() {
        errors.general.push(status.message().to_string());
    }
    for v in violations {
        let field = v.field.split('[').next().unwrap_or_default();
        let field = field.strip_prefix("residence.").unwrap_or(field);
        if fields.contains(&field) {
            errors.field(field, v.description);
        } else {
            errors.general.push(v.description);
        }
    }
    errors
}

/// An age typed into a form or a filter: empty is none; anything but a whole number is an
/// error beside the field, the typed text kept.
fn parse_age(v: &str, field: &str, t: &LegalAidStrings, errors: &mut FormErrors) -> Option<i32> {
    let v = v.trim();
    if v.is_empty() {
        return None;
    }
    match v.parse::<i32>() {
        Ok(a) => Some(a),
        Err(_) => {
            errors.field(field, t.age_number);
            None
        }
    }
}

/// A region with its districts, for a select with one group per region.
#[derive(Debug, Clone, Serialize)]
struct RegionGroup {
    id: String,
    name: String,
    districts: Vec<Opt>,
}

/// The tenant's select lists, live entries only.
#[derive(Debug, Clone, Default, Serialize)]
struct Refs {
    genders: Vec<Opt>,
    citizenships: Vec<Opt>,
    social_statuses: Vec<Opt>,
    categories: Vec<Opt>,
    help_types: Vec<Opt>,
    regions: Vec<Opt>,
    district_groups: Vec<RegionGroup>,
    /// District code → its region code, to fill a region left empty.
    #[serde(skip)]
    district_region: Vec<(String, String)>,
}

impl Refs {
    fn from_refs(refs: &[LegalAidRef]) -> Self {
        let mut r = Refs::default();
        let opt = |x: &LegalAidRef| Opt { id: x.code.clone(), name: x.name.clone() };
        let mut districts = Vec::new();
        for x in refs.iter().filter(|x| !x.archived) {
            match LegalAidRefKind::try_from(x.kind).unwrap_or_default() {
                LegalAidRefKind::Gender => r.genders.push(opt(x)),
                LegalAidRefKind::Citizenship => r.citizenships.push(opt(x)),
                LegalAidRefKind::SocialStatus => r.social_statuses.push(opt(x)),
                LegalAidRefKind::Category => r.categories.push(opt(x)),
                LegalAidRefKind::HelpType => r.help_types.push(opt(x)),
                LegalAidRefKind::Region => r.regions.push(opt(x)),
                LegalAidRefKind::District => districts.push(x),
                LegalAidRefKind::Unspecified => {}
            }
        }
        r.district_groups = group_districts(&r.regions, &districts);
        r.district_region = districts.iter().map(|d| (d.code.clone(), d.parent_code.clone())).collect();
        r
    }

    fn region_of(&self, district: &str) -> String {
        self.district_region.iter().find(|(d, _)| d == district).map(|(_, r)| r.clone()).unwrap_or_default()
    }
}

/// Districts under their regions (in the regions' order); districts of an unknown region last,
/// in a group without a name.
fn group_districts(regions: &[Opt], districts: &[&LegalAidRef]) -> Vec<RegionGroup> {
    let opt = |x: &LegalAidRef| Opt { id: x.code.clone(), name: x.name.clone() };
    let mut groups: Vec<RegionGroup> = regions
        .iter()
        .map(|r| RegionGroup {
            id: r.id.clone(),
            name: r.name.clone(),
            districts: districts.iter().filter(|d| d.parent_code == r.id).map(|d| opt(d)).collect(),
        })
        .filter(|g| !g.districts.is_empty())
        .collect();
    let orphans: Vec<Opt> =
        districts.iter().filter(|d| !regions.iter().any(|r| r.id == d.parent_code)).map(|d| opt(d)).collect();
    if !orphans.is_empty() {
        groups.push(RegionGroup { id: String::new(), name: String::new(), districts: orphans });
    }
    groups
}

async fn refs(state: &AppState, auth: &Auth) -> Result<Refs, Response> {
    let msg = ListLegalAidRefsRequest {
        kind: LegalAidRefKind::Unspecified as i32,
        include_archived: false,
        ..Default::default()
    };
    let r = state.call(auth, state.legal_aid.clone().list_legal_aid_refs(auth.req(msg))).await?;
    Ok(Refs::from_refs(&r.refs))
}

/// The tenant's centres for selects (an admin's choice of centre, S2-23).
async fn centres(state: &AppState, auth: &Auth) -> Vec<Opt> {
    match state.legal_aid.clone().list_legal_aid_centres(auth.req(ListLegalAidCentresRequest::default())).await {
        Ok(r) => r.into_inner().centres.into_iter().map(|c| Opt { id: c.id, name: c.name }).collect(),
        Err(status) => {
            tracing::warn!(code = ?status.code(), message = status.message(), "legal-aid centres unavailable");
            Vec::new()
        }
    }
}

/// An option that a record still uses but the list no longer offers (archived) stays selectable.
fn keep(opts: &mut Vec<Opt>, code: &str, name: &str) {
    if !code.is_empty() && !opts.iter().any(|o| o.id == code) {
        opts.push(Opt {
            id: code.to_string(),
            name: if name.is_empty() { code.to_string() } else { name.to_string() },
        });
    }
}

/// One link of a numbered pager.
#[derive(Debug, Serialize, PartialEq, Eq)]
struct PageLink {
    /// None: a gap («…»).
    number: Option<i32>,
    href: String,
    current: bool,
}

#[derive(Debug, Serialize)]
struct Pager {
    page: i32,
    page_count: i32,
    prev: Option<String>,
    next: Option<String>,
    links: Vec<PageLink>,
}

/// Numbered pages around the current one, the first and the last; `prefix` ends with `?` or `&`.
fn pager(prefix: &str, page: i32, page_count: i32) -> Pager {
    let href = |n: i32| format!("{prefix}page={n}");
    let mut links = Vec::new();
    let mut last_shown = 0;
    for n in 1..=page_count {
        if n == 1 || n == page_count || (n - page).abs() <= 2 {
            if n - last_shown > 1 {
                links.push(PageLink { number: None, href: String::new(), current: false });
            }
            links.push(PageLink { number: Some(n), href: href(n), current: n == page });
            last_shown = n;
        }
    }
    Pager {
        page,
        page_count,
        prev: (page > 1).then(|| href(page - 1)),
        next: (page < page_count).then(|| href(page + 1)),
        links,
    }
}

/// `key=value&…` of the non-empty pairs, ready to prefix a link's own parameters.
fn query_prefix(path: &str, pairs: &[(&str, &str)]) -> String {
    let kept: Vec<(&str, &str)> = pairs.iter().filter(|(_, v)| !v.is_empty()).copied().collect();
    let q = serde_urlencoded::to_string(&kept).unwrap_or_default();
    if q.is_empty() { format!("{path}?") } else { format!("{path}?{q}&") }
}

/// A 1-based page number from a query string; anything else is the first page.
fn page_number(v: &str) -> i32 {
    v.trim().parse::<i32>().ok().filter(|p| *p > 0).unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pager_shows_neighbours_ends_and_gaps() {
        let p = pager("/x?", 6, 20);
        let numbers: Vec<Option<i32>> = p.links.iter().map(|l| l.number).collect();
        assert_eq!(numbers, vec![Some(1), None, Some(4), Some(5), Some(6), Some(7), Some(8), None, Some(20)]);
        assert_eq!(p.prev.as_deref(), Some("/x?page=5"));
        assert_eq!(p.next.as_deref(), Some("/x?page=7"));
        assert!(p.links.iter().any(|l| l.current && l.number == Some(6)));
        let one = pager("/x?", 1, 1);
        assert!(one.prev.is_none() && one.next.is_none());
        assert_eq!(one.links.len(), 1);
    }

    #[test]
    fn query_prefixes_skip_empty_filters() {
        assert_eq!(query_prefix("/l", &[("a", ""), ("b", "1 2")]), "/l?b=1+2&");
        assert_eq!(query_prefix("/l", &[("a", "")]), "/l?");
        assert_eq!(page_number("3"), 3);
        assert_eq!(page_number("-1"), 1);
        assert_eq!(page_number("x"), 1);
    }

    #[test]
    fn districts_group_under_their_regions() {
        let r = |kind: LegalAidRefKind, code: &str, name: &str, parent: &str| LegalAidRef {
            kind: kind as i32,
            code: code.into(),
            name: name.into(),
            parent_code: parent.into(),
            archived: false,
        };
        let refs = Refs::from_refs(&[
            r(LegalAidRefKind::Region, "issyk_kul", "Иссык-Кульская область", ""),
            r(LegalAidRefKind::Region, "naryn", "Нарынская область", ""),
            r(LegalAidRefKind::District, "karakol", "г. Каракол", "issyk_kul"),
            r(LegalAidRefKind::District, "lost", "Неизвестный район", "gone"),
            LegalAidRef { archived: true, ..r(LegalAidRefKind::Gender, "x", "Старое", "") },
            r(LegalAidRefKind::Gender, "male", "Мужской", ""),
        ]);
        assert_eq!(refs.genders.len(), 1, "archived entries are not offered");
        assert_eq!(refs.district_groups.len(), 2, "a region without districts has no group");
        assert_eq!(refs.district_groups[0].name, "Иссык-Кульская область");
        assert_eq!(refs.district_groups[1].name, "");
        assert_eq!(refs.region_of("karakol"), "issyk_kul");
        assert_eq!(refs.region_of("none"), "");
    }
}
