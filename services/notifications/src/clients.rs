//! The other services notifications calls over gRPC (identity, files,
//! cases, scheduler), the bot's service-account token per tenant (client credentials
//! through identity's `IssueServiceToken`, cached until shortly before it
//! expires), and the tenant's terminology from cases (S0-2, cached briefly).
use std::collections::HashMap;
use std::time::Duration;

use opeka_platform::db;
use opeka_platform::error::AppError;
use opeka_proto::cases::{self as cpb, cases_service_client::CasesServiceClient};
use opeka_proto::files::{self as fpb, files_service_client::FilesServiceClient};
use opeka_proto::identity::{self as ipb, identity_service_client::IdentityServiceClient};
use opeka_proto::scheduler::{self as spb, scheduler_service_client::SchedulerServiceClient};
use sqlx::PgPool;
use tokio::sync::Mutex;
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;
use tonic::{Request, Status};
use uuid::Uuid;

use crate::crypto::{SecretBox, field};
use crate::domain::Terms;
use crate::store;
use crate::strings as s;

/// A token is renewed when less than this is left of it.
const RENEW_BEFORE: chrono::Duration = chrono::Duration::seconds(60);

/// How long the bot keeps a tenant's terminology before asking cases again:
/// an admin's rename reaches the bot within this.
pub const TERMS_TTL: Duration = Duration::from_secs(60);

/// After cases failed to answer, how long the bot keeps using what it has
/// (the last terms or the seed's) before asking again.
const TERMS_RETRY: Duration = Duration::from_secs(10);

#[derive(Clone)]
struct CachedTerms {
    terms: Terms,
    fetched_at: tokio::time::Instant,
    ttl: Duration,
}

#[derive(Clone)]
struct CachedToken {
    token: String,
    slug: String,
    expires_at: chrono::DateTime<chrono::Utc>,
}

pub struct Clients {
    identity: Channel,
    files: Channel,
    cases: Channel,
    scheduler: Channel,
    tokens: Mutex<HashMap<Uuid, CachedToken>>,
    terms: Mutex<HashMap<Uuid, CachedTerms>>,
}

/// `authorization` and `x-opeka-tenant` on a request.
pub fn authed<T>(msg: T, bearer: &str, tenant: &str) -> Result<Request<T>, AppError> {
    let mut req = Request::new(msg);
    let auth = MetadataValue::try_from(format!("Bearer {bearer}"))
        .map_err(|_| AppError::Unauthenticated("токен недействителен".into()))?;
    req.metadata_mut().insert("authorization", auth);
    if let Ok(t) = MetadataValue::try_from(tenant) {
        req.metadata_mut().insert(opeka_platform::auth::TENANT_HEADER, t);
    }
    req.set_timeout(Duration::from_secs(20));
    Ok(req)
}

/// The services' gRPC URLs.
pub struct Urls<'a> {
    pub identity: &'a str,
    pub files: &'a str,
    pub cases: &'a str,
    pub scheduler: &'a str,
}

/// How long the bot waits for scheduler before telling the citizen to try
/// later (Telegram wants a button answered within seconds).
const SCHEDULER_TIMEOUT: Duration = Duration::from_secs(5);

impl Clients {
    pub async fn new(urls: Urls<'_>) -> anyhow::Result<Self> {
        Ok(Self {
            identity: opeka_platform::grpc::channel(urls.identity).await?,
            files: opeka_platform::grpc::channel(urls.files).await?,
            cases: opeka_platform::grpc::channel(urls.cases).await?,
            scheduler: opeka_platform::grpc::channel(urls.scheduler).await?,
            tokens: Mutex::new(HashMap::new()),
            terms: Mutex::new(HashMap::new()),
        })
    }

    pub fn cases(&self) -> CasesServiceClient<Channel> {
        CasesServiceClient::new(self.cases.clone())
    }

    /// The tenant's terminology (S0-2) as cases has it, asked with the
    /// bot's token and kept for `TERMS_TTL`. Never fails: when cases cannot
    /// answer, the last known terms (or the seed's words) are used, so the
    /// bot keeps talking.
    pub async fn terms(
        &self,
        pool: &PgPool,
        secrets: &SecretBox,
        tenant_id: Uuid,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Terms {
        let cached = self.terms.lock().await.get(&tenant_id).cloned();
        if let Some(c) = &cached
            && c.fetched_at.elapsed() < c.ttl
        {
            return c.terms.clone();
        }
        let (terms, ttl) = match self.fetch_terms(pool, secrets, tenant_id, now).await {
            Ok(t) => (t, TERMS_TTL),
            Err(e) => {
                tracing::warn!(%tenant_id, error = %e, "tenant terminology not read from cases; using the last known words");
                (cached.map(|c| c.terms).unwrap_or_default(), TERMS_RETRY)
            }
        };
        let entry = CachedTerms { terms: terms.clone(), fetched_at: tokio::time::Instant::now(), ttl };
        self.terms.lock().await.insert(tenant_id, entry);
        terms
    }

    async fn fetch_terms(
        &self,
        pool: &PgPool,
        secrets: &SecretBox,
        tenant_id: Uuid,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Terms, AppError> {
        let (token, slug) = self.service_token(pool, secrets, tenant_id, now).await?;
        let mut req = authed(cpb::GetTenantSettingsRequest {}, &token, &slug)?;
        req.set_timeout(Duration::from_secs(5));
        match self.cases().get_tenant_settings(req).await {
            Ok(r) => {
                let r = r.into_inner();
                Ok(Terms::new(&r.citizen_term, &r.curator_term))
            }
            Err(st) => {
                if st.code() == tonic::Code::Unauthenticated {
                    self.forget_token(tenant_id).await;
                }
                Err(AppError::Unavailable(format!("cases: {}", st.message())))
            }
        }
    }

    pub fn scheduler(&self) -> SchedulerServiceClient<Channel> {
        SchedulerServiceClient::new(self.scheduler.clone())
    }

    /// S0-57: the citizen's «Выполнено» / «Пропущено», as the bot's service account.
    pub async fn answer_occurrence(
        &self,
        token: &str,
        tenant: &str,
        occurrence: Uuid,
        citizen_account: Uuid,
        answer: spb::Answer,
    ) -> Result<spb::AnswerOccurrenceResponse, Status> {
        let msg = spb::AnswerOccurrenceRequest {
            occurrence_id: occurrence.to_string(),
            citizen_account_id: citizen_account.to_string(),
            answer: answer as i32,
        };
        let mut req = authed(msg, token, tenant).map_err(Status::from)?;
        req.set_timeout(SCHEDULER_TIMEOUT);
        Ok(self.scheduler().answer_occurrence(req).await?.into_inner())
    }

    /// S0-51…S0-54: the citizen's upcoming reminders (`days`, or `kind` over scheduler's default period).
    pub async fn list_upcoming(
        &self,
        token: &str,
        tenant: &str,
        citizen_account: Uuid,
        days: u32,
        kind: spb::ReminderKind,
    ) -> Result<Vec<spb::Occurrence>, Status> {
        let msg = spb::ListUpcomingRequest {
            citizen_account_id: citizen_account.to_string(),
            days,
            kind: kind as i32,
            ..Default::default()
        };
        let mut req = authed(msg, token, tenant).map_err(Status::from)?;
        req.set_timeout(SCHEDULER_TIMEOUT);
        Ok(self.scheduler().list_upcoming(req).await?.into_inner().occurrences)
    }

    pub fn identity(&self) -> IdentityServiceClient<Channel> {
        IdentityServiceClient::new(self.identity.clone())
    }

    pub fn files(&self) -> FilesServiceClient<Channel> {
        FilesServiceClient::new(self.files.clone())
    }

    /// The tenant's bot service account token (FAILED_PRECONDITION when the
    /// tenant has none yet: it is created with the first channel setting).
    pub async fn service_token(
        &self,
        pool: &PgPool,
        secrets: &SecretBox,
        tenant_id: Uuid,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(String, String), AppError> {
        if let Some(t) = self.tokens.lock().await.get(&tenant_id).cloned()
            && t.expires_at - RENEW_BEFORE > now
        {
            return Ok((t.token, t.slug));
        }
        let mut tx = db::tenant_tx(pool, tenant_id).await?;
        let row = store::channel_settings(&mut tx, tenant_id).await?;
        tx.commit().await?;
        let Some(row) = row else { return Err(AppError::FailedPrecondition(s::BOT_NOT_CONFIGURED.into())) };
        let slug = row.tenant_slug.clone();
        let (Some(client_id), Some(secret)) =
            (row.service_client_id.as_deref(), row.service_client_secret_enc.as_deref())
        else {
            return Err(AppError::FailedPrecondition(s::BOT_NOT_CONFIGURED.into()));
        };
        let secret = secrets.open(tenant_id, field::CLIENT_SECRET, secret).map_err(AppError::internal)?;
        let pair = self
            .identity()
            .issue_service_token(ipb::IssueServiceTokenRequest {
                tenant: slug.clone(),
                client_id: client_id.to_string(),
                client_secret: secret,
            })
            .await
            .map_err(|e| AppError::Unavailable(format!("identity: {}", e.message())))?
            .into_inner();
        let expires_at = pair
            .access_expires_at
            .and_then(|t| chrono::DateTime::from_timestamp(t.seconds, t.nanos as u32))
            .unwrap_or(now + chrono::Duration::minutes(5));
        let token = pair.access_token;
        self.tokens
            .lock()
            .await
            .insert(tenant_id, CachedToken { token: token.clone(), slug: slug.clone(), expires_at });
        Ok((token, slug))
    }

    /// Forget a tenant's token (its credentials changed or it was refused).
    pub async fn forget_token(&self, tenant_id: Uuid) {
        self.tokens.lock().await.remove(&tenant_id);
    }

    /// Creates the tenant's bot service account with the admin's own token.
    pub async fn create_bot_account(
        &self,
        admin_bearer: &str,
        tenant: &str,
    ) -> Result<ipb::CreateServiceAccountResponse, Status> {
        let req = authed(
            ipb::CreateServiceAccountRequest {
                name: "Бот и почта (notifications)".into(),
                roles: vec![ipb::Role::Bot as i32],
            },
            admin_bearer,
            tenant,
        )
        .map_err(Status::from)?;
        Ok(self.identity().create_service_account(req).await?.into_inner())
    }

    pub async fn redeem_link_code(&self, token: &str, tenant: &str, code: &str, chat_id: i64) -> Result<Uuid, Status> {
        let req =
            authed(ipb::RedeemBotLinkCodeRequest { code: code.to_string(), telegram_chat_id: chat_id }, token, tenant)
                .map_err(Status::from)?;
        let r = self.identity().redeem_bot_link_code(req).await?.into_inner();
        r.citizen_account_id.parse().map_err(|_| Status::internal("identity returned a malformed account id"))
    }

    /// A staff account (`None` when it does not exist in the tenant).
    pub async fn staff_account(
        &self,
        token: &str,
        tenant: &str,
        account_id: Uuid,
    ) -> Result<Option<ipb::Account>, Status> {
        let req = authed(ipb::GetAccountRequest { id: account_id.to_string() }, token, tenant).map_err(Status::from)?;
        match self.identity().get_account(req).await {
            Ok(a) => Ok(Some(a.into_inner())),
            Err(e) if e.code() == tonic::Code::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub async fn list_file_types(&self, token: &str, tenant: &str) -> Result<Vec<fpb::FileType>, Status> {
        let req = authed(fpb::ListFileTypesRequest { query: String::new(), ..Default::default() }, token, tenant)
            .map_err(Status::from)?;
        Ok(self.files().list_file_types(req).await?.into_inner().file_types)
    }

    /// Client streaming upload. A concrete stream type: with a boxed `dyn
    /// Stream` tonic's future trips rustc's higher-ranked `Send` check, and
    /// the bot's task must be `Send`.
    pub async fn upload_file(
        &self,
        token: String,
        tenant: String,
        parts: tokio_stream::wrappers::ReceiverStream<fpb::UploadFileRequest>,
    ) -> Result<fpb::File, Status> {
        let mut req = authed((), &token, &tenant).map_err(Status::from)?;
        let meta = std::mem::take(req.metadata_mut());
        let mut req = Request::new(parts);
        *req.metadata_mut() = meta;
        req.set_timeout(Duration::from_secs(120));
        Ok(self.files().upload_file(req).await?.into_inner())
    }

    pub async fn set_file_type(
        &self,
        token: &str,
        tenant: &str,
        file_id: Uuid,
        type_id: Uuid,
    ) -> Result<fpb::File, Status> {
        let req = authed(
            fpb::SetFileTypeRequest { id: file_id.to_string(), file_type_id: type_id.to_string() },
            token,
            tenant,
        )
        .map_err(Status::from)?;
        Ok(self.files().set_file_type(req).await?.into_inner())
    }
}
