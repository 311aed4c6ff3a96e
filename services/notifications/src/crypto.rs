//! Encryption of the secrets this service must be able to read back (SMTP
//! passwords, bot tokens, the bot's client secret): AES-256-GCM with a random
//! nonce; the tenant and the field are bound in as associated data, so a
//! ciphertext copied to another tenant's row or another column does not open.
use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use uuid::Uuid;

/// Layout version of a stored ciphertext: `[1] ‖ nonce(12) ‖ ciphertext ‖ tag(16)`.
const VERSION: u8 = 1;

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("the secret key must be the base64 of 32 bytes")]
    BadKey,
    #[error("a stored secret could not be decrypted (was OPEKA_NOTIFICATIONS__SECRET_KEY changed?)")]
    Undecryptable,
    #[error("encryption failed")]
    Failed,
}

pub struct SecretBox {
    key: LessSafeKey,
    rng: SystemRandom,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(***)")
    }
}

impl SecretBox {
    pub fn from_base64(key: &str) -> Result<Self, CryptoError> {
        let bytes = base64::engine::general_purpose::STANDARD.decode(key.trim()).map_err(|_| CryptoError::BadKey)?;
        if bytes.len() != 32 {
            return Err(CryptoError::BadKey);
        }
        let key = UnboundKey::new(&AES_256_GCM, &bytes).map_err(|_| CryptoError::BadKey)?;
        Ok(Self { key: LessSafeKey::new(key), rng: SystemRandom::new() })
    }

    fn aad(tenant_id: Uuid, field: &str) -> Vec<u8> {
        let mut aad = tenant_id.as_bytes().to_vec();
        aad.extend_from_slice(field.as_bytes());
        aad
    }

    pub fn seal(&self, tenant_id: Uuid, field: &str, plain: &str) -> Result<Vec<u8>, CryptoError> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng.fill(&mut nonce).map_err(|_| CryptoError::Failed)?;
        let mut buf = plain.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(Self::aad(tenant_id, field)),
                &mut buf,
            )
            .map_err(|_| CryptoError::Failed)?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + buf.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&buf);
        Ok(out)
    }

    pub fn open(&self, tenant_id: Uuid, field: &str, sealed: &[u8]) -> Result<String, CryptoError> {
        if sealed.len() < 1 + NONCE_LEN || sealed[0] != VERSION {
            return Err(CryptoError::Undecryptable);
        }
        let nonce: [u8; NONCE_LEN] = sealed[1..1 + NONCE_LEN].try_into().map_err(|_| CryptoError::Undecryptable)?;
        let mut buf = sealed[1 + NONCE_LEN..].to_vec();
        let plain = self
            .key
            .open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(Self::aad(tenant_id, field)), &mut buf)
            .map_err(|_| CryptoError::Undecryptable)?;
        String::from_utf8(plain.to_vec()).map_err(|_| CryptoError::Undecryptable)
    }
}

/// The column names used as associated data.
pub mod field {
    pub const SMTP_PASSWORD: &str = "smtp_password";
    pub const BOT_TOKEN: &str = "bot_token";
    pub const CLIENT_SECRET: &str = "service_client_secret";
    pub const WEBHOOK_SECRET: &str = "webhook_secret";
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sb() -> SecretBox {
        SecretBox::from_base64(crate::settings::DEVELOPMENT_SECRET_KEY).unwrap()
    }

    #[test]
    fn round_trips_and_hides_the_plaintext() {
        let t = Uuid::now_v7();
        let sealed = sb().seal(t, field::SMTP_PASSWORD, "пароль-123").unwrap();
        assert!(!String::from_utf8_lossy(&sealed).contains("пароль"));
        assert_eq!(sb().open(t, field::SMTP_PASSWORD, &sealed).unwrap(), "пароль-123");
        // Two seals of one value differ (random nonce).
        assert_ne!(sealed, sb().seal(t, field::SMTP_PASSWORD, "пароль-123").unwrap());
    }

    #[test]
    fn another_tenant_or_field_or_key_cannot_open_it() {
        let t = Uuid::now_v7();
        let sealed = sb().seal(t, field::BOT_TOKEN, "123:abc").unwrap();
        assert!(sb().open(Uuid::now_v7(), field::BOT_TOKEN, &sealed).is_err());
        assert!(sb().open(t, field::SMTP_PASSWORD, &sealed).is_err());
        let other = SecretBox::from_base64(&base64::engine::general_purpose::STANDARD.encode([7u8; 32])).unwrap();
        assert!(other.open(t, field::BOT_TOKEN, &sealed).is_err());
    }

    #[test]
    fn keys_must_be_32_bytes() {
        assert!(SecretBox::from_base64("c2hvcnQ=").is_err());
        assert!(SecretBox::from_base64("not base64!").is_err());
    }
}
