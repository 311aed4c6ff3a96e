//! Signing keys (Ed25519, stored in `signing_keys`), access-token issuance,
//! the JWK set, and opaque refresh/one-time secrets (stored hashed).
use std::sync::Arc;

use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use chrono::{DateTime, Utc};
use jsonwebtoken::{EncodingKey, Header, jwk::JwkSet};
use opeka_platform::auth::{AUDIENCE, Claims, ISSUER, JwksSource};
use opeka_platform::crypto::SecretBox;
use rand::Rng;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use uuid::Uuid;

/// The active signing key and every published public key.
#[derive(Clone)]
pub struct KeyRing {
    kid: String,
    encoding: EncodingKey,
    jwks: Arc<JwkSet>,
}

impl KeyRing {
    /// Loads the newest active key, creating one when the table is empty.
    /// Replicas starting together agree through an advisory lock. Private
    /// keys are stored sealed with `secrets` (OPEKA_IDENTITY__SECRET_KEY);
    /// a key an earlier release stored in clear is sealed here, in the same
    /// locked transaction, keeping its kid — tokens it signed keep verifying.
    pub async fn load_or_create(pool: &PgPool, secrets: &SecretBox) -> anyhow::Result<Self> {
        let mut tx = pool.begin().await?;
        let mut rows = crate::store::lock_active_signing_keys(&mut tx).await?;
        let plain = crate::store::plaintext_signing_keys(&mut tx).await?;
        for (kid, der) in &plain {
            let sealed = secrets.seal_bytes(Uuid::nil(), &key_field(kid), der)?;
            crate::store::seal_signing_key(&mut tx, kid, &sealed).await?;
        }
        if !plain.is_empty() {
            tracing::info!(keys = plain.len(), "sealed signing keys stored in clear by an earlier release");
            rows = crate::store::lock_active_signing_keys(&mut tx).await?;
        }
        if rows.is_empty() {
            let pkcs8 = Ed25519KeyPair::generate_pkcs8(&aws_lc_rs::rand::SystemRandom::new())
                .map_err(|_| anyhow::anyhow!("cannot generate an Ed25519 key"))?;
            let der = pkcs8.as_ref().to_vec();
            let pair = Ed25519KeyPair::from_pkcs8(&der).map_err(|_| anyhow::anyhow!("bad pkcs8"))?;
            let x = B64.encode(pair.public_key().as_ref());
            let kid = uuid::Uuid::now_v7().simple().to_string();
            let sealed = secrets.seal_bytes(Uuid::nil(), &key_field(&kid), &der)?;
            crate::store::insert_signing_key(&mut tx, &kid, &sealed, &x).await?;
            rows.push((kid, sealed, x));
        }
        tx.commit().await?;
        let (kid, sealed, _) = rows[0].clone();
        let der = secrets.open_bytes(Uuid::nil(), &key_field(&kid), &sealed).map_err(|e| {
            anyhow::anyhow!("OPEKA_IDENTITY__SECRET_KEY: the active signing key {kid} does not open: {e}")
        })?;
        let keys: Vec<serde_json::Value> = rows
            .iter()
            .map(|(kid, _, x)| {
                serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid, "alg": "EdDSA", "use": "sig"})
            })
            .collect();
        let jwks: JwkSet = serde_json::from_value(serde_json::json!({ "keys": keys }))?;
        Ok(Self { kid, encoding: EncodingKey::from_ed_der(&der), jwks: Arc::new(jwks) })
    }

    pub fn jwks_json(&self) -> serde_json::Value {
        serde_json::to_value(self.jwks.as_ref()).unwrap_or_default()
    }

    /// A JWKS source for verifying in-process (identity verifies its own tokens).
    pub fn local_source(&self) -> JwksSource {
        let jwks = self.jwks.clone();
        Arc::new(move || {
            let jwks = jwks.clone();
            Box::pin(async move { Ok(jwks.as_ref().clone()) })
        })
    }

    pub fn sign(&self, claims: &Claims) -> anyhow::Result<String> {
        let mut header = Header::new(jsonwebtoken::Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        Ok(jsonwebtoken::encode(&header, claims, &self.encoding)?)
    }
}

/// Associated data of a sealed private key: bound to its kid, so a sealed
/// key moved to another row does not open.
fn key_field(kid: &str) -> String {
    format!("identity.signing_keys.private:{kid}")
}

/// What goes into an access token.
pub struct Subject<'a> {
    pub account_id: uuid::Uuid,
    pub tenant_id: uuid::Uuid,
    pub tenant_slug: &'a str,
    pub kind: &'a str,
    pub roles: Vec<String>,
    pub session_id: Option<uuid::Uuid>,
    pub organisation_id: Option<uuid::Uuid>,
    pub districts: Vec<uuid::Uuid>,
}

pub fn claims(s: Subject<'_>, now: DateTime<Utc>, ttl_secs: i64) -> Claims {
    Claims {
        sub: s.account_id.to_string(),
        tid: s.tenant_id.to_string(),
        ten: s.tenant_slug.to_string(),
        kind: s.kind.to_string(),
        roles: s.roles,
        sid: s.session_id.map(|v| v.to_string()),
        org: s.organisation_id.map(|v| v.to_string()),
        dst: s.districts.iter().map(ToString::to_string).collect(),
        iat: now.timestamp(),
        exp: now.timestamp() + ttl_secs,
        aud: AUDIENCE.into(),
        iss: ISSUER.into(),
        jti: uuid::Uuid::now_v7().to_string(),
    }
}

/// A random opaque secret (refresh token, activation token, client secret).
pub fn random_secret() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    B64.encode(bytes)
}

/// A short code a person types: digits only (password reset).
pub fn random_digits(n: usize) -> String {
    let mut r = rand::rng();
    (0..n).map(|_| char::from(b'0' + r.random_range(0..10u8))).collect()
}

/// A bot link code: 8 characters without look-alikes (0/O, 1/I/L).
pub fn random_link_code() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
    let mut r = rand::rng();
    (0..8).map(|_| ALPHABET[r.random_range(0..ALPHABET.len())] as char).collect()
}

/// Secrets are stored as SHA-256 (they are high-entropy; a slow hash buys nothing).
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_codes_avoid_look_alikes() {
        for _ in 0..100 {
            let c = random_link_code();
            assert_eq!(c.len(), 8);
            assert!(!c.contains(['0', 'O', '1', 'I', 'L']));
        }
    }

    #[test]
    fn secrets_hash_stably() {
        assert_eq!(hash_secret("a"), hash_secret("a"));
        assert_ne!(random_secret(), random_secret());
        assert_eq!(random_digits(6).len(), 6);
    }
}
