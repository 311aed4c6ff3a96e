//! The pages of a tenant, one folder per menu section, each mirrored by a folder of `templates/`:
//! `account` (the main page, signing in and out, activation and recovery), `patronage` (the
//! citizens' registry and what hangs off it), `appeals`, `legal_aid` and `admin`. Handlers decode
//! the request, call the services on the user's behalf and render; no rules here beyond hiding
//! what a role may not do (the owning service decides).
use axum::Router;

use crate::AppState;

mod account;
mod admin;
mod appeals;
mod common;
mod legal_aid;
mod patronage;

pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(account::routes())
        .merge(patronage::routes())
        .merge(appeals::routes())
        .merge(legal_aid::routes())
        .merge(admin::routes())
}

/// A form that carries nothing but its CSRF token.
#[derive(serde::Deserialize)]
pub struct NoFields {}
