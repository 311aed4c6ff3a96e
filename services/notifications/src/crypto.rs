//! Notifications' secrets are sealed with the platform's `SecretBox`
//! (AES-256-GCM, tenant and field bound in); this module names the fields.
pub use opeka_platform::crypto::{CryptoError, SecretBox};

/// The column names used as associated data.
pub mod field {
    pub const SMTP_PASSWORD: &str = "smtp_password";
    pub const BOT_TOKEN: &str = "bot_token";
    pub const CLIENT_SECRET: &str = "service_client_secret";
    pub const WEBHOOK_SECRET: &str = "webhook_secret";
}
