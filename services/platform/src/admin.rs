//! The per-process admin HTTP server: `/healthz` (alive), `/readyz`
//! (database and broker reachable), `/metrics` (Prometheus text).
use std::sync::Arc;

use axum::{Router, extract::State, http::StatusCode, routing::get};
use futures::future::BoxFuture;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// One readiness check; `Err` names what is not ready.
pub type Check = Arc<dyn Fn() -> BoxFuture<'static, Result<(), String>> + Send + Sync>;

#[derive(Clone, Default)]
pub struct Admin {
    checks: Vec<(String, Check)>,
    extra: Option<Router>,
}

impl Admin {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn check(mut self, name: &str, check: Check) -> Self {
        self.checks.push((name.to_string(), check));
        self
    }
    /// Extra public routes a service adds (identity's JWKS document).
    pub fn merge(mut self, router: Router) -> Self {
        self.extra = Some(match self.extra.take() {
            Some(r) => r.merge(router),
            None => router,
        });
        self
    }

    /// Takes another part's checks and routes.
    pub fn absorb(mut self, other: Admin) -> Self {
        self.checks.extend(other.checks);
        if let Some(r) = other.extra {
            self = self.merge(r);
        }
        self
    }

    pub fn router(self) -> Router {
        let extra = self.extra.clone();
        let r = Router::new()
            .route("/healthz", get(|| async { "ok" }))
            .route("/readyz", get(readyz))
            .route("/metrics", get(|| async { crate::metrics::render() }))
            .with_state(Arc::new(self));
        match extra {
            Some(e) => r.merge(e),
            None => r,
        }
    }

    pub async fn serve(self, listener: TcpListener, shutdown: CancellationToken) -> anyhow::Result<()> {
        axum::serve(listener, self.router()).with_graceful_shutdown(async move { shutdown.cancelled().await }).await?;
        Ok(())
    }
}

async fn readyz(State(admin): State<Arc<Admin>>) -> (StatusCode, String) {
    let mut failures = Vec::new();
    for (name, check) in &admin.checks {
        if let Err(e) = check().await {
            failures.push(format!("{name}: {e}"));
        }
    }
    if failures.is_empty() {
        (StatusCode::OK, "ready".into())
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, failures.join("\n"))
    }
}

/// Readiness check for a database pool.
pub fn db_check(pool: sqlx::PgPool) -> Check {
    Arc::new(move || {
        let pool = pool.clone();
        Box::pin(async move { crate::db::ping(&pool).await.map_err(|e| e.to_string()) })
    })
}

/// Readiness check for the broker connection.
pub fn bus_check(bus: crate::bus::Bus) -> Check {
    Arc::new(move || {
        let ok = bus.is_connected();
        Box::pin(async move { if ok { Ok(()) } else { Err("not connected".into()) } })
    })
}
