//! argon2id hashing with configurable cost, run off the async executor on a
//! bounded pool: at most `slots` hashes run at once (one per core by
//! default), so a burst of logins queues here — holding no database
//! connection — instead of starving the pool and allocating one argon2
//! buffer (`argon2_memory_kib`) per request (issue 9, point 7).
use std::sync::Arc;

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use crate::Settings;

#[derive(Clone)]
pub struct Hasher {
    params: Params,
    slots: Arc<Semaphore>,
    /// A real hash of a random password, verified against when the login is
    /// unknown so both paths cost the same.
    dummy: String,
}

impl Hasher {
    pub fn new(s: &Settings) -> anyhow::Result<Self> {
        let params = Params::new(s.argon2_memory_kib, s.argon2_iterations, s.argon2_lanes, None)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let slots = match s.hash_concurrency {
            0 => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2),
            n => n,
        };
        let mut h = Self { params, slots: Arc::new(Semaphore::new(slots)), dummy: String::new() };
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

    /// Runs `f` on the blocking pool once a slot is free. The permit moves
    /// into the blocking task, so a caller that gives up (a cancelled RPC)
    /// still frees the slot only when the hash is done: never more than
    /// `slots` argon2 buffers alive.
    async fn run<T: Send + 'static>(&self, f: impl FnOnce(&Self) -> T + Send + 'static) -> anyhow::Result<T> {
        let permit = self.slots.clone().acquire_owned().await?;
        let me = self.clone();
        Ok(tokio::task::spawn_blocking(move || {
            let out = f(&me);
            drop(permit);
            out
        })
        .await?)
    }

    pub async fn hash(&self, password: &str) -> anyhow::Result<String> {
        let pw = password.to_string();
        self.run(move |me| me.hash_blocking(&pw)).await?
    }

    /// Verifies against `hash`, or against the dummy hash when `None`
    /// (unknown login), returning false then.
    pub async fn verify(&self, password: &str, hash: Option<&str>) -> bool {
        let pw = password.to_string();
        let (h, real) = match hash {
            Some(h) => (h.to_string(), true),
            None => (self.dummy.clone(), false),
        };
        let ok = self.run(move |me| me.verify_blocking(&pw, &h)).await.unwrap_or(false);
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
