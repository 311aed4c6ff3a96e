//! The pages of a tenant, one module per menu section. Handlers decode the
//! request, call the services on the user's behalf and render; no rules here
//! beyond hiding what a role may not do (the owning service decides).
use axum::Router;
use axum::routing::get;

use crate::AppState;

mod activity;
mod appeal_references;
mod appeals;
mod auth;
mod calendar;
mod citizens;
mod common;
mod consultants;
mod curators;
mod deviations;
mod home;
mod legal_aid;
mod meetings;
mod program;
mod recovery;
mod references;
#[cfg(test)]
mod render_tests;
mod settings;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/t/{tenant}/", get(home::home))
        .route("/t/{tenant}/login", get(auth::login_page).post(auth::login))
        .route("/t/{tenant}/logout", get(auth::logout_page).post(auth::logout))
        .route("/t/{tenant}/settings", get(settings::page).post(settings::change_password))
        .route("/t/{tenant}/settings/smtp", axum::routing::post(settings::save_smtp))
        .route("/t/{tenant}/settings/smtp/check", axum::routing::post(settings::check_smtp))
        .route("/t/{tenant}/settings/copy-email", axum::routing::post(settings::save_copy_email))
        .route("/t/{tenant}/settings/bot", axum::routing::post(settings::save_bot))
        .route("/t/{tenant}/settings/terms", axum::routing::post(settings::save_terms))
        .route("/t/{tenant}/settings/scheduler", axum::routing::post(settings::save_scheduler))
        .route("/t/{tenant}/curators", get(curators::list))
        .route("/t/{tenant}/curators/new", get(curators::new_form).post(curators::create))
        .route("/t/{tenant}/curators/{id}", get(curators::card))
        .route("/t/{tenant}/curators/{id}/edit", get(curators::edit_form).post(curators::update))
        .route("/t/{tenant}/curators/{id}/password", get(curators::password_form).post(curators::set_password))
        .route("/t/{tenant}/curators/{id}/delete", get(curators::delete_confirm).post(curators::delete))
        .route("/t/{tenant}/citizens", get(citizens::list))
        .route("/t/{tenant}/citizens/new", get(citizens::new_form).post(citizens::create))
        .route("/t/{tenant}/citizens/transfer", get(citizens::transfer_form).post(citizens::transfer))
        .route("/t/{tenant}/citizens/{id}", get(citizens::card))
        .route("/t/{tenant}/citizens/{id}/edit", get(citizens::edit_form).post(citizens::update))
        .route("/t/{tenant}/citizens/{id}/delete", get(citizens::delete_confirm).post(citizens::delete))
        .route("/t/{tenant}/citizens/{id}/bot-link", axum::routing::post(citizens::extend_code))
        .route("/t/{tenant}/citizens/{id}/diary", axum::routing::post(citizens::add_diary))
        .route("/t/{tenant}/citizens/{id}/message", get(citizens::message_form).post(citizens::send_message))
        .route("/t/{tenant}/citizens/{id}/interactions", axum::routing::post(citizens::add_interaction))
        .route("/t/{tenant}/citizens/{id}/interactions/{iid}", axum::routing::post(citizens::record_result))
        .route("/t/{tenant}/citizens/{id}/files/{file_id}", get(citizens::download))
        .route("/t/{tenant}/citizens/{id}/files/{file_id}/type", axum::routing::post(citizens::set_file_type))
        .route("/t/{tenant}/citizens/{id}/program/events", get(program::events))
        .route("/t/{tenant}/citizens/{id}/program/new", get(program::new_form).post(program::create))
        .route("/t/{tenant}/citizens/{id}/program/slot-load", get(program::slot_fragment))
        .route("/t/{tenant}/citizens/{id}/program/series/{sid}", get(program::edit_form).post(program::update))
        .route(
            "/t/{tenant}/citizens/{id}/program/series/{sid}/delete",
            get(program::delete_confirm).post(program::delete),
        )
        .route("/t/{tenant}/citizens/{id}/program/occurrences/{oid}", axum::routing::post(program::update_occurrence))
        .route("/t/{tenant}/deviations", get(deviations::page))
        .route("/t/{tenant}/meetings", get(meetings::page))
        .route("/t/{tenant}/meetings/events", get(meetings::events))
        .route("/t/{tenant}/activity", get(activity::list))
        .route("/t/{tenant}/activity/{id}/processed", axum::routing::post(activity::mark))
        .merge(references::routes(references::Kind::Districts))
        .merge(references::routes(references::Kind::FileTypes))
        .merge(references::routes(references::Kind::SpecialGroups))
        .merge(appeals::routes())
        .merge(appeal_references::routes())
        .merge(legal_aid::routes())
        .merge(recovery::routes())
        .merge(consultants::routes())
}

/// A form that carries nothing but its CSRF token.
#[derive(serde::Deserialize)]
pub struct NoFields {}
