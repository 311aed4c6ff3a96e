//! The webhook endpoint (`OPEKA_NOTIFICATIONS__WEBHOOK_ADDR`): Telegram posts
//! each tenant's updates to `POST /telegram/{tenant_id}` with the bot's secret
//! token in `X-Telegram-Bot-Api-Secret-Token`. The update is queued for the
//! same per-chat workers the poller uses and answered 200 at once; a wrong or
//! missing secret gets 401, a tenant without a webhook-mode bot here 404.
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::{Accepted, BotManager};

/// The header Telegram sends the secret token in.
pub const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

pub fn router(bots: Arc<BotManager>) -> Router {
    Router::new().route("/telegram/{tenant_id}", post(receive)).with_state(bots)
}

/// Serves the webhook endpoint on `listener` until `cancel`.
pub async fn serve(listener: TcpListener, bots: Arc<BotManager>, cancel: CancellationToken) -> anyhow::Result<()> {
    axum::serve(listener, router(bots)).with_graceful_shutdown(cancel.cancelled_owned()).await?;
    Ok(())
}

async fn receive(
    State(bots): State<Arc<BotManager>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let Ok(tenant_id) = Uuid::parse_str(&tenant) else { return StatusCode::NOT_FOUND };
    let secret = headers.get(SECRET_HEADER).and_then(|v| v.to_str().ok());
    match bots.accept(tenant_id, secret, &body).await {
        Accepted::Queued => StatusCode::OK,
        Accepted::UnknownTenant => StatusCode::NOT_FOUND,
        Accepted::BadSecret => {
            tracing::warn!(%tenant_id, "webhook post with a wrong or missing secret token");
            StatusCode::UNAUTHORIZED
        }
        Accepted::BadUpdate => StatusCode::BAD_REQUEST,
        Accepted::Stopping => StatusCode::SERVICE_UNAVAILABLE,
    }
}
