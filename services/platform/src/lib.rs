//! Shared plumbing for every Opeka service: settings, telemetry, database,
//! event bus, gRPC bootstrap, token verification and the admin HTTP server.
//! No business logic lives here.
#![forbid(unsafe_code)]

pub mod admin;
pub mod audit;
pub mod auth;
pub mod bus;
pub mod call;
pub mod clock;
pub mod crypto;
pub mod curators;
pub mod db;
pub mod error;
pub mod grpc;
pub mod metrics;
pub mod revocation;
pub mod service;
pub mod settings;
pub mod supervise;
pub mod telemetry;
pub mod testing;
pub mod throttle;
pub mod wire;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{AppError, FieldViolation};

/// Installs the one rustls crypto provider the process uses. Two providers
/// are linked (ring via sqlx/tonic, aws-lc-rs via jsonwebtoken), so rustls
/// cannot pick one itself. Safe to call many times.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// What every service's `run` receives: process settings, the clock, the
/// one cancellation token the whole process shuts down with, and the registry
/// its background tasks are supervised in (read by `/readyz`).
#[derive(Clone)]
pub struct Context {
    pub settings: settings::PlatformSettings,
    pub clock: clock::SharedClock,
    pub shutdown: tokio_util::sync::CancellationToken,
    pub tasks: supervise::Tasks,
}

impl Context {
    pub fn new(settings: settings::PlatformSettings) -> Self {
        Self {
            settings,
            clock: clock::system(),
            shutdown: tokio_util::sync::CancellationToken::new(),
            tasks: supervise::Tasks::new(),
        }
    }
}
