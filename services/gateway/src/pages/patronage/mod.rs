//! Patronage, the menu of the admin, curators and social workers: the citizens' registry with each
//! card's program of reminders (`calendar` draws it), «Активность», «Дата встречи», «Отклонения»
//! and the reference lists they use (districts, file types, special groups).
use axum::Router;
use axum::routing::{get, post};

use crate::AppState;

mod activity;
mod calendar;
mod citizens;
mod deviations;
mod meetings;
mod program;
mod references;
#[cfg(test)]
mod render_tests;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/t/{tenant}/citizens", get(citizens::list))
        .route("/t/{tenant}/citizens/new", get(citizens::new_form).post(citizens::create))
        .route("/t/{tenant}/citizens/transfer", get(citizens::transfer_form).post(citizens::transfer))
        .route("/t/{tenant}/citizens/{id}", get(citizens::card))
        .route("/t/{tenant}/citizens/{id}/edit", get(citizens::edit_form).post(citizens::update))
        .route("/t/{tenant}/citizens/{id}/delete", get(citizens::delete_confirm).post(citizens::delete))
        .route("/t/{tenant}/citizens/{id}/bot-link", post(citizens::extend_code))
        .route("/t/{tenant}/citizens/{id}/diary", post(citizens::add_diary))
        .route("/t/{tenant}/citizens/{id}/message", get(citizens::message_form).post(citizens::send_message))
        .route("/t/{tenant}/citizens/{id}/interactions", post(citizens::add_interaction))
        .route("/t/{tenant}/citizens/{id}/interactions/{iid}", post(citizens::record_result))
        .route("/t/{tenant}/citizens/{id}/files/{file_id}", get(citizens::download))
        .route("/t/{tenant}/citizens/{id}/files/{file_id}/type", post(citizens::set_file_type))
        .route("/t/{tenant}/citizens/{id}/program/events", get(program::events))
        .route("/t/{tenant}/citizens/{id}/program/new", get(program::new_form).post(program::create))
        .route("/t/{tenant}/citizens/{id}/program/slot-load", get(program::slot_fragment))
        .route("/t/{tenant}/citizens/{id}/program/series/{sid}", get(program::edit_form).post(program::update))
        .route(
            "/t/{tenant}/citizens/{id}/program/series/{sid}/delete",
            get(program::delete_confirm).post(program::delete),
        )
        .route("/t/{tenant}/citizens/{id}/program/occurrences/{oid}", post(program::update_occurrence))
        .route("/t/{tenant}/deviations", get(deviations::page))
        .route("/t/{tenant}/meetings", get(meetings::page))
        .route("/t/{tenant}/meetings/events", get(meetings::events))
        .route("/t/{tenant}/activity", get(activity::list))
        .route("/t/{tenant}/activity/{id}/processed", post(activity::mark))
        .merge(references::routes(references::Kind::Districts))
        .merge(references::routes(references::Kind::FileTypes))
        .merge(references::routes(references::Kind::SpecialGroups))
}
