//! `make bench`: login throughput (argon2id at the configured cost) and
//! access-token verification throughput per core, each printed as a ratio to
//! a baseline measured in the same run on the same machine:
//! - login over gRPC ÷ bare argon2id verifications with the same parameters;
//! - `Verifier::verify` ÷ bare Ed25519 signature checks.
use std::sync::Arc;
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use aws_lc_rs::signature::{self, Ed25519KeyPair, KeyPair};
use opeka_integration_tests::Suite;
use opeka_proto::identity::LoginRequest;

const WINDOW: Duration = Duration::from_secs(3);

fn rate(n: u64, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    rt.block_on(async_main());
}

async fn async_main() {
    let settings = opeka_identity::Settings::default();
    println!(
        "argon2id cost: m={} KiB, t={}, p={} (OPEKA_IDENTITY__ARGON2_* to change)",
        settings.argon2_memory_kib, settings.argon2_iterations, settings.argon2_lanes
    );

    // Baseline 1: bare argon2id verification, one per core.
    let params =
        argon2::Params::new(settings.argon2_memory_kib, settings.argon2_iterations, settings.argon2_lanes, None)
            .expect("params");
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let hash = argon.hash_password(b"bench-password").expect("hash").to_string();
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let start = Instant::now();
    let handles: Vec<_> = (0..cores)
        .map(|_| {
            let (argon, hash) = (argon.clone(), hash.clone());
            std::thread::spawn(move || {
                let mut n = 0u64;
                while start.elapsed() < WINDOW {
                    argon.verify_password(b"bench-password", hash.as_str()).expect("verify");
                    n += 1;
                }
                n
            })
        })
        .collect();
    let bare: u64 = handles.into_iter().map(|h| h.join().expect("thread")).sum();
    let bare_rate = rate(bare, start.elapsed());

    // Logins through the real service (gRPC, Postgres, argon2 at that cost).
    let suite = Suite::start_full(|_| {}, settings.clone()).await;
    let suite = Arc::new(suite);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..(cores * 2) {
        let suite = suite.clone();
        tasks.push(tokio::spawn(async move {
            let mut client = suite.identity().await;
            let mut n = 0u64;
            while start.elapsed() < WINDOW {
                client
                    .login(LoginRequest {
                        tenant: suite.tenant.clone(),
                        login: suite.admin_login.clone(),
                        password: suite.admin_password.clone(),
                    })
                    .await
                    .expect("login");
                n += 1;
            }
            n
        }));
    }
    let mut logins = 0;
    for t in tasks {
        logins += t.await.expect("task");
    }
    let login_rate = rate(logins, start.elapsed());
    println!(
        "login:        {login_rate:>10.1}/s  | baseline bare argon2id verify {bare_rate:>10.1}/s  | ratio {:.2}",
        login_rate / bare_rate
    );

    // Baseline 2: bare Ed25519 verification on one core.
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&aws_lc_rs::rand::SystemRandom::new()).expect("key");
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("pair");
    let msg = b"header.payload-of-a-typical-access-token-with-some-claims-in-it";
    let sig = pair.sign(msg);
    let public = signature::UnparsedPublicKey::new(&signature::ED25519, pair.public_key().as_ref().to_vec());
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < WINDOW {
        public.verify(msg, sig.as_ref()).expect("verify");
        n += 1;
    }
    let ed_rate = rate(n, start.elapsed());

    // Verifier::verify (JWKS-cached key, claims parsing, validation) on one core.
    let token = suite.admin_token().await;
    let verifier =
        opeka_platform::auth::Verifier::new(opeka_platform::auth::grpc_jwks_source(suite.identity_url.clone()));
    verifier.verify(&token).await.expect("warm the JWKS cache");
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < WINDOW {
        verifier.verify(&token).await.expect("verify");
        n += 1;
    }
    let verify_rate = rate(n, start.elapsed());
    println!(
        "token verify: {verify_rate:>10.1}/s per core | baseline bare Ed25519 verify {ed_rate:>10.1}/s | ratio {:.2}",
        verify_rate / ed_rate
    );
}
