//! argon2id hashing with configurable cost, run off the async executor.
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::Settings;

#[derive(Clone)]
pub struct Hasher {
    params: Params,
    /// A real hash of a random password, verified against when the login is
    /// unknown so both paths cost the same.
    dummy: String,
}

impl Hasher {
    pub fn new(s: &Settings) -> anyhow::Result<Self> {
        let params = Params::new(s.argon2_memory_kib, s.argon2_iterations, s.argon2_lanes, None)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut h = Self { params, dummy: String::new() };
        h.dummy = h.hash_blocking("not-a-real-password-4b1d")?;
        Ok(h)
    }

    fn argon(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    pub fn hash_blocking(&self, password: &str) -> anyhow::Result<String> {
        Ok(self.argon().hash_password(password.as_bytes()).map_err(|e| anyhow::anyhow!("{e}"))?.to_string())
    }

    pub fn verify_blocking(&self, password: &str, hash: &str) -> bool {
        self.argon().verify_password(password.as_bytes(), hash).is_ok()
    }

    pub async fn hash(&self, password: &str) -> anyhow::Result<String> {
        let (me, pw) = (self.clone(), password.to_string());
        tokio::task::spawn_blocking(move || me.hash_blocking(&pw)).await?
    }

    /// Verifies against `hash`, or against the dummy hash when `None`
    /// (unknown login), returning false then.
    pub async fn verify(&self, password: &str, hash: Option<&str>) -> bool {
        let me = self.clone();
        let pw = password.to_string();
        let (h, real) = match hash {
            Some(h) => (h.to_string(), true),
            None => (self.dummy.clone(), false),
        };
        let ok = tokio::task::spawn_blocking(move || me.verify_blocking(&pw, &h)).await.unwrap_or(false);
        ok && real
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_are_argon2id() {
        let s = Settings { argon2_memory_kib: 1024, argon2_iterations: 1, ..Settings::default() };
        let h = Hasher::new(&s).unwrap();
        let hash = h.hash_blocking("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(h.verify_blocking("correct horse", &hash));
        assert!(!h.verify_blocking("wrong", &hash));
    }
}
