//! Access tokens: the claims identity signs, and local verification against
//! identity's JWKS (cached; refreshed when an unknown `kid` appears).
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, jwk::JwkSet};
use serde::{Deserialize, Serialize};
use tokio::sync::{Mutex, RwLock};
use uuid::Uuid;

use crate::error::AppError;

pub const AUDIENCE: &str = "opeka";
pub const ISSUER: &str = "opeka-identity";
/// Request metadata naming the tenant a call is addressed to.
pub const TENANT_HEADER: &str = "x-opeka-tenant";

/// What an access token says about its bearer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// Account id.
    pub sub: String,
    /// Tenant id.
    pub tid: String,
    /// Tenant slug (subjects and URLs use it).
    pub ten: String,
    /// staff | citizen | service
    pub kind: String,
    pub roles: Vec<String>,
    /// Session (refresh-token family) id; revoked on logout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dst: Vec<String>,
    pub iat: i64,
    pub exp: i64,
    pub aud: String,
    pub iss: String,
    pub jti: String,
}

/// The authenticated caller, as services see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub account_id: Uuid,
    pub tenant_id: Uuid,
    pub tenant_slug: String,
    pub kind: String,
    pub roles: Vec<String>,
    pub session_id: Option<Uuid>,
    pub organisation_id: Option<Uuid>,
    pub districts: Vec<Uuid>,
}

impl Principal {
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }
}

impl TryFrom<Claims> for Principal {
    type Error = AuthError;
    fn try_from(c: Claims) -> Result<Self, AuthError> {
        let bad = |_| AuthError::Invalid("malformed claims".into());
        Ok(Self {
            account_id: c.sub.parse().map_err(bad)?,
            tenant_id: c.tid.parse().map_err(bad)?,
            tenant_slug: c.ten,
            kind: c.kind,
            roles: c.roles,
            session_id: c.sid.as_deref().map(str::parse).transpose().map_err(bad)?,
            organisation_id: c.org.as_deref().map(str::parse).transpose().map_err(bad)?,
            districts: c.dst.iter().filter_map(|d| d.parse().ok()).collect(),
        })
    }
}

/// What a caller whose session ended is told, by whichever check sees it
/// first: the deny-list in every verifier, or identity's own session row.
pub const SESSION_ENDED: &str = "Сеанс завершён. Войдите снова.";

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    #[error("токен не предъявлен")]
    Missing,
    #[error("токен недействителен: {0}")]
    Invalid(String),
    #[error("токен выдан для другой организации")]
    WrongTenant,
    /// The session ended (logout, password change or reset, deletion).
    #[error("{}", SESSION_ENDED)]
    Revoked,
}

impl From<AuthError> for AppError {
    fn from(e: AuthError) -> Self {
        AppError::Unauthenticated(e.to_string())
    }
}

/// What the auth layer found on a request; handlers ask for a `Principal`.
#[derive(Debug, Clone)]
pub enum AuthState {
    Anonymous,
    Authenticated(Principal),
    Rejected(AuthError),
}

impl AuthState {
    pub fn principal(&self) -> Result<&Principal, AppError> {
        match self {
            Self::Authenticated(p) => Ok(p),
            Self::Anonymous => Err(AuthError::Missing.into()),
            Self::Rejected(e) => Err(e.clone().into()),
        }
    }
}

/// The authenticated caller of a gRPC request, or `UNAUTHENTICATED`.
pub fn principal<T>(req: &tonic::Request<T>) -> Result<Principal, AppError> {
    match req.extensions().get::<AuthState>() {
        Some(state) => state.principal().cloned(),
        None => Err(AuthError::Missing.into()),
    }
}

/// Fetches the current JWK set (from identity over gRPC, or in-process).
pub type JwksSource = Arc<dyn Fn() -> BoxFuture<'static, anyhow::Result<JwkSet>> + Send + Sync>;

/// Verifies access tokens locally. Keys are cached by `kid`; an unknown
/// `kid` triggers one refresh (at most every `min_refresh`). A token of a
/// revoked session is refused (`revocation::Revocations`, kept current by
/// `revocation::follow`, which every verifying service runs).
pub struct Verifier {
    source: JwksSource,
    keys: RwLock<HashMap<String, DecodingKey>>,
    last_refresh: Mutex<Option<Instant>>,
    min_refresh: Duration,
    revocations: Arc<crate::revocation::Revocations>,
}

impl Verifier {
    pub fn new(source: JwksSource) -> Self {
        Self {
            source,
            keys: RwLock::new(HashMap::new()),
            last_refresh: Mutex::new(None),
            min_refresh: Duration::from_secs(2),
            revocations: crate::revocation::Revocations::new(),
        }
    }

    /// The deny-list this verifier consults; hand it to `revocation::follow`.
    pub fn revocations(&self) -> Arc<crate::revocation::Revocations> {
        self.revocations.clone()
    }

    pub async fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        let header = jsonwebtoken::decode_header(token).map_err(|e| AuthError::Invalid(e.to_string()))?;
        if header.alg != Algorithm::EdDSA {
            return Err(AuthError::Invalid("unexpected algorithm".into()));
        }
        let kid = header.kid.ok_or_else(|| AuthError::Invalid("no kid".into()))?;
        // Read into a local first: the read guard must be gone before
        // `refresh` takes the write lock.
        let cached = self.keys.read().await.get(&kid).cloned();
        let key = match cached {
            Some(k) => k,
            None => {
                self.refresh().await;
                let refreshed = self.keys.read().await.get(&kid).cloned();
                refreshed.ok_or_else(|| AuthError::Invalid("unknown signing key".into()))?
            }
        };
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_audience(&[AUDIENCE]);
        validation.set_issuer(&[ISSUER]);
        validation.leeway = 0;
        let data =
            jsonwebtoken::decode::<Claims>(token, &key, &validation).map_err(|e| AuthError::Invalid(e.to_string()))?;
        if self.revocations.is_revoked(&data.claims) {
            return Err(AuthError::Revoked);
        }
        Ok(data.claims)
    }

    async fn refresh(&self) {
        let mut last = self.last_refresh.lock().await;
        if last.is_some_and(|t| t.elapsed() < self.min_refresh) {
            return;
        }
        *last = Some(Instant::now());
        match (self.source)().await {
            Ok(set) => {
                let mut map = HashMap::new();
                for jwk in &set.keys {
                    if let (Some(kid), Ok(key)) = (jwk.common.key_id.clone(), DecodingKey::from_jwk(jwk)) {
                        map.insert(kid, key);
                    }
                }
                *self.keys.write().await = map;
            }
            Err(e) => tracing::warn!(error = %e, "jwks refresh failed"),
        }
    }

    /// Reads `authorization: Bearer …` and `x-opeka-tenant` from headers.
    pub async fn authenticate(&self, headers: &http::HeaderMap) -> AuthState {
        let Some(value) = headers.get(http::header::AUTHORIZATION) else {
            return AuthState::Anonymous;
        };
        let Some(token) = value.to_str().ok().and_then(|v| v.strip_prefix("Bearer ")) else {
            return AuthState::Rejected(AuthError::Invalid("expected a Bearer token".into()));
        };
        let claims = match self.verify(token.trim()).await {
            Ok(c) => c,
            Err(e) => return AuthState::Rejected(e),
        };
        if let Some(t) = headers.get(TENANT_HEADER).and_then(|v| v.to_str().ok())
            && t != claims.ten
            && t != claims.tid
        {
            return AuthState::Rejected(AuthError::WrongTenant);
        }
        match Principal::try_from(claims) {
            Ok(p) => AuthState::Authenticated(p),
            Err(e) => AuthState::Rejected(e),
        }
    }
}

/// A JWKS source that asks identity over gRPC.
pub fn grpc_jwks_source(identity_url: String) -> JwksSource {
    Arc::new(move || {
        let url = identity_url.clone();
        Box::pin(async move {
            use opeka_proto::identity::{GetJwksRequest, identity_service_client::IdentityServiceClient};
            let mut client = IdentityServiceClient::connect(url).await?;
            let json = client.get_jwks(GetJwksRequest {}).await?.into_inner().jwks_json;
            Ok(serde_json::from_str(&json)?)
        })
    })
}
