//! The gateway's side of identity's gRPC contract: the client type, the
//! metadata an authenticated call carries, and wire → session conversions.
use chrono::{DateTime, Utc};
use opeka_platform::telemetry::TracePropagation;
use opeka_proto::identity::identity_service_client::IdentityServiceClient;
use opeka_proto::identity::{Account, Role, TokenPair};
use tonic::metadata::MetadataValue;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::store::Tokens;

pub type IdentityClient = IdentityServiceClient<InterceptedService<Channel, TracePropagation>>;

/// A client over a lazy channel: the gateway starts even while identity is
/// still coming up, and reconnects by itself.
pub async fn client(url: &str) -> anyhow::Result<IdentityClient> {
    let channel = opeka_platform::grpc::channel(url).await?;
    Ok(IdentityServiceClient::with_interceptor(channel, TracePropagation))
}

/// A request that names the tenant and, when given, carries the caller's token.
pub fn request<T>(msg: T, tenant: &str, access_token: Option<&str>) -> tonic::Request<T> {
    let mut req = tonic::Request::new(msg);
    let md = req.metadata_mut();
    // A tenant slug and a JWT are ASCII; a value that is not stays out and
    // identity answers UNAUTHENTICATED, which sends the user to the login page.
    if let Ok(v) = MetadataValue::try_from(tenant) {
        md.insert("x-opeka-tenant", v);
    }
    if let Some(token) = access_token
        && let Ok(v) = MetadataValue::try_from(format!("Bearer {token}"))
    {
        md.insert("authorization", v);
    }
    req
}

/// `ROLE_SOCIAL_WORKER` → `social_worker`, the spelling tokens use.
pub fn role_code(role: i32) -> Option<String> {
    let role = Role::try_from(role).ok().filter(|r| *r != Role::Unspecified)?;
    Some(role.as_str_name().trim_start_matches("ROLE_").to_ascii_lowercase())
}

/// "Фамилия Имя Отчество", falling back to the login for an unnamed account.
pub fn full_name(a: &Account) -> String {
    let parts: Vec<&str> =
        [a.surname.as_str(), a.name.as_str(), a.patronymic.as_str()].into_iter().filter(|p| !p.is_empty()).collect();
    if parts.is_empty() { a.login.clone() } else { parts.join(" ") }
}

pub fn timestamp(ts: Option<&prost_types::Timestamp>) -> Option<DateTime<Utc>> {
    let ts = ts?;
    DateTime::from_timestamp(ts.seconds, u32::try_from(ts.nanos).unwrap_or(0))
}

/// What a session keeps of a token pair. `account` is identity's copy of
/// the caller; when the pair lacks it the caller passes one from WhoAmI.
pub fn tokens(pair: TokenPair, account: &Account, now: DateTime<Utc>) -> Tokens {
    Tokens {
        account_id: account.id.clone(),
        display_name: full_name(account),
        roles: account.roles.iter().filter_map(|r| role_code(*r)).collect(),
        // A pair without an expiry is treated as already near it, so the
        // next request refreshes rather than trusting it forever.
        access_expires_at: timestamp(pair.access_expires_at.as_ref()).unwrap_or(now),
        access_token: pair.access_token,
        refresh_token: pair.refresh_token,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_codes_match_token_spelling() {
        assert_eq!(role_code(Role::Admin as i32).as_deref(), Some("admin"));
        assert_eq!(role_code(Role::SocialWorker as i32).as_deref(), Some("social_worker"));
        assert_eq!(role_code(0), None);
        assert_eq!(role_code(999), None);
    }

    #[test]
    fn full_name_skips_empty_parts() {
        let a = Account {
            surname: "Иванова".into(),
            patronymic: "Петровна".into(),
            login: "ivanova".into(),
            ..Default::default()
        };
        assert_eq!(full_name(&a), "Иванова Петровна");
        let b = Account { login: "admin".into(), ..Default::default() };
        assert_eq!(full_name(&b), "admin");
    }

    #[test]
    fn request_carries_tenant_and_bearer() {
        let r = request((), "demo", Some("abc"));
        assert_eq!(r.metadata().get("x-opeka-tenant").unwrap(), "demo");
        assert_eq!(r.metadata().get("authorization").unwrap(), "Bearer abc");
    }
}
