//! What identity publishes (through its outbox) on `opeka.<tenant>.identity.<event>`.
use opeka_proto::events::{self as ev, envelope::Body};

/// Associated data of the sealed activation token (notifications opens it).
pub const SEALED_ACTIVATION_TOKEN: &str = "activation_requested.token";
/// Associated data of the sealed reset code.
pub const SEALED_RESET_CODE: &str = "password_reset_requested.code";

pub fn account_created(id: uuid::Uuid, kind: &str, roles: &[String], login: &str, full_name: &str) -> Body {
    Body::AccountCreated(ev::AccountCreated {
        account_id: id.to_string(),
        kind: kind.into(),
        roles: roles.to_vec(),
        login: login.into(),
        full_name: full_name.into(),
    })
}
