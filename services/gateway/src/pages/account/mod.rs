//! «Главная», signing in and out (the menu's last item), and the ways into an account from outside
//! it: a consultant's activation link and a forgotten password.
use axum::Router;
use axum::routing::get;

use crate::AppState;

mod auth;
mod home;
mod recovery;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/t/{tenant}/", get(home::home))
        .route("/t/{tenant}/login", get(auth::login_page).post(auth::login))
        .route("/t/{tenant}/logout", get(auth::logout_page).post(auth::logout))
        .merge(recovery::routes())
}
