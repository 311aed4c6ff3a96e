//! The pages of a tenant, one module per menu section. Handlers decode the
//! request, call identity on the user's behalf and render; no rules here
//! beyond hiding what a role may not do (identity decides).
use axum::Router;
use axum::routing::get;

use crate::AppState;

mod auth;
mod curators;
mod home;
mod settings;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/t/{tenant}/", get(home::home))
        .route("/t/{tenant}/login", get(auth::login_page).post(auth::login))
        .route("/t/{tenant}/logout", get(auth::logout_page).post(auth::logout))
        .route("/t/{tenant}/settings", get(settings::page).post(settings::change_password))
        .route("/t/{tenant}/curators", get(curators::list))
        .route("/t/{tenant}/curators/new", get(curators::new_form).post(curators::create))
        .route("/t/{tenant}/curators/{id}", get(curators::card))
        .route("/t/{tenant}/curators/{id}/edit", get(curators::edit_form).post(curators::update))
        .route("/t/{tenant}/curators/{id}/password", get(curators::password_form).post(curators::set_password))
        .route("/t/{tenant}/curators/{id}/delete", get(curators::delete_confirm).post(curators::delete))
}

/// A form that carries nothing but its CSRF token.
#[derive(serde::Deserialize)]
pub struct NoFields {}
