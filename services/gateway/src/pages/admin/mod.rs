//! The admin's own menu items: «Соц. кураторы», consultants, «Настройки».
use axum::Router;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

use crate::AppState;

mod consultants;
mod curators;
mod settings;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/t/{tenant}/settings", get(settings::page).post(settings::change_password))
        .route("/t/{tenant}/settings/smtp", post(settings::save_smtp))
        .route("/t/{tenant}/settings/smtp/check", post(settings::check_smtp))
        .route("/t/{tenant}/settings/copy-email", post(settings::save_copy_email))
        .route("/t/{tenant}/settings/bot", post(settings::save_bot))
        .route("/t/{tenant}/settings/terms", post(settings::save_terms))
        .route("/t/{tenant}/settings/scheduler", post(settings::save_scheduler))
        .route("/t/{tenant}/curators", get(curators::list))
        .route("/t/{tenant}/curators/new", get(curators::new_form).post(curators::create))
        .route("/t/{tenant}/curators/{id}", get(curators::card))
        .route("/t/{tenant}/curators/{id}/edit", get(curators::edit_form).post(curators::update))
        .route("/t/{tenant}/curators/{id}/password", get(curators::password_form).post(curators::set_password))
        .route("/t/{tenant}/curators/{id}/delete", get(curators::delete_confirm).post(curators::delete))
        .merge(consultants::routes())
}

/// The query of a staff list (curators, consultants): the search text, the
/// page and the notice after a change.
#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    query: String,
    #[serde(default)]
    page_token: String,
    #[serde(default)]
    notice: String,
}

/// A searchable list of staff accounts, a page at a time: `curators.html`, `consultants.html`.
#[derive(Serialize)]
struct Accounts<R> {
    title: &'static str,
    active: &'static str,
    query: String,
    rows: Vec<R>,
    total: i64,
    next_page_token: String,
    page_token: String,
    notice: Option<&'static str>,
}
