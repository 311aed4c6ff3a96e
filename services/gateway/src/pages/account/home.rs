//! «Главная»: greets the signed-in user by name (from identity's WhoAmI).
use axum::extract::State;
use axum::http::StatusCode;
use opeka_proto::identity::WhoAmIRequest;
use serde::Serialize;

use crate::pages::common::Page;
use crate::session::Auth;
use crate::{AppState, identity};

pub async fn home(State(state): State<AppState>, auth: Auth) -> Page {
    let me = state.call(&auth, state.identity.clone().who_am_i(auth.req(WhoAmIRequest {}))).await?;
    let t = state.strings();
    let roles: Vec<String> =
        me.roles.iter().filter_map(|r| identity::role_code(*r)).map(|r| t.role_name(&r).to_string()).collect();
    let page = HomePage { title: t.home_title, active: "home", name: identity::full_name(&me), roles };
    Ok(state.page(&auth.tenant, Some(&auth), StatusCode::OK, "account/home.html", page))
}

/// `account/home.html`.
#[derive(Serialize)]
struct HomePage {
    title: &'static str,
    active: &'static str,
    name: String,
    roles: Vec<String>,
}
