//! Authenticated encryption for what a service must read back (SMTP
//! passwords, bot tokens, private signing keys, secrets sealed into events):
//! AES-256-GCM with a random nonce; the tenant and the field are bound in as
//! associated data, so a ciphertext copied to another tenant's row or another
//! column does not open.
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
    #[error("a stored secret could not be decrypted (was the secret key changed?)")]
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
        self.seal_bytes(tenant_id, field, plain.as_bytes())
    }

    pub fn open(&self, tenant_id: Uuid, field: &str, sealed: &[u8]) -> Result<String, CryptoError> {
        String::from_utf8(self.open_bytes(tenant_id, field, sealed)?).map_err(|_| CryptoError::Undecryptable)
    }

    /// Seals any bytes (a private key's PKCS#8 document, say). Platform-level
    /// rows that belong to no tenant use `Uuid::nil()`.
    pub fn seal_bytes(&self, tenant_id: Uuid, field: &str, plain: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng.fill(&mut nonce).map_err(|_| CryptoError::Failed)?;
        let mut buf = plain.to_vec();
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

    pub fn open_bytes(&self, tenant_id: Uuid, field: &str, sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if sealed.len() < 1 + NONCE_LEN || sealed[0] != VERSION {
            return Err(CryptoError::Undecryptable);
        }
        let nonce: [u8; NONCE_LEN] = sealed[1..1 + NONCE_LEN].try_into().map_err(|_| CryptoError::Undecryptable)?;
        let mut buf = sealed[1 + NONCE_LEN..].to_vec();
        let plain = self
            .key
            .open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(Self::aad(tenant_id, field)), &mut buf)
            .map_err(|_| CryptoError::Undecryptable)?;
        Ok(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sb() -> SecretBox {
        SecretBox::from_base64(&base64::engine::general_purpose::STANDARD.encode([1u8; 32])).unwrap()
    }

    #[test]
    fn round_trips_and_hides_the_plaintext() {
        let t = Uuid::now_v7();
        let sealed = sb().seal(t, "smtp_password", "пароль-123").unwrap();
        assert!(!String::from_utf8_lossy(&sealed).contains("пароль"));
        assert_eq!(sb().open(t, "smtp_password", &sealed).unwrap(), "пароль-123");
        // Two seals of one value differ (random nonce).
        assert_ne!(sealed, sb().seal(t, "smtp_password", "пароль-123").unwrap());
    }

    #[test]
    fn another_tenant_or_field_or_key_cannot_open_it() {
        let t = Uuid::now_v7();
        let sealed = sb().seal(t, "bot_token", "123:abc").unwrap();
        assert!(sb().open(Uuid::now_v7(), "bot_token", &sealed).is_err());
        assert!(sb().open(t, "smtp_password", &sealed).is_err());
        let other = SecretBox::from_base64(&base64::engine::general_purpose::STANDARD.encode([7u8; 32])).unwrap();
        assert!(other.open(t, "bot_token", &sealed).is_err());
    }

    #[test]
    fn keys_must_be_32_bytes() {
        assert!(SecretBox::from_base64("c2hvcnQ=").is_err());
        assert!(SecretBox::from_base64("not base64!").is_err());
    }
}
