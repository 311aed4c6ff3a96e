//! What identity publishes (through its outbox) on `opeka.<tenant>.identity.<event>`.
use opeka_proto::events::{self as ev, envelope::Body};

pub const ACCOUNT_CREATED: &str = "account_created";
pub const ACCOUNT_UPDATED: &str = "account_updated";
pub const ACCOUNT_DELETED: &str = "account_deleted";
pub const ACTIVATION_REQUESTED: &str = "activation_requested";
pub const PASSWORD_RESET_REQUESTED: &str = "password_reset_requested";
pub const BOT_LINKED: &str = "bot_linked";

pub fn name_of(body: &Body) -> &'static str {
    match body {
        Body::AccountCreated(_) => ACCOUNT_CREATED,
        Body::AccountUpdated(_) => ACCOUNT_UPDATED,
        Body::AccountDeleted(_) => ACCOUNT_DELETED,
        Body::ActivationRequested(_) => ACTIVATION_REQUESTED,
        Body::PasswordResetRequested(_) => PASSWORD_RESET_REQUESTED,
        Body::BotLinked(_) => BOT_LINKED,
        Body::Ping(_) => "ping",
    }
}

pub fn account_created(id: uuid::Uuid, kind: &str, roles: &[String], login: &str, full_name: &str) -> Body {
    Body::AccountCreated(ev::AccountCreated {
        account_id: id.to_string(),
        kind: kind.into(),
        roles: roles.to_vec(),
        login: login.into(),
        full_name: full_name.into(),
    })
}
