//! `make bench`: login throughput (argon2id at the configured cost) and
//! access-token verification throughput per core, each printed as a ratio to
//! a baseline measured in the same run on the same machine:
//! - login over gRPC ÷ bare argon2id verifications with the same parameters;
//! - `Verifier::verify` ÷ bare Ed25519 signature checks;
//! - a burst of 50 concurrent logins (half wrong, as in issue 9 point 7):
//!   failures (must be 0), p50/p95/p99 latency, its wall time ÷ the same
//!   number of bare verifications spread over the cores, and the process's
//!   resident memory before, at its peak (`VmHWM`) and 5 s after.
use std::sync::Arc;
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use aws_lc_rs::signature::{self, Ed25519KeyPair, KeyPair};
use opeka_integration_tests::Suite;
use opeka_proto::identity::{LoginRequest, identity_service_client::IdentityServiceClient};
use opeka_testkit::Service;

const WINDOW: Duration = Duration::from_secs(3);

fn rate(n: u64, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

/// A field of `/proc/self/status` in MiB (`VmRSS`, `VmHWM`): the services
/// run in this process.
fn status_mib(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| {
            l.strip_prefix(field)?.trim_start_matches(':').trim().strip_suffix("kB")?.trim().parse::<f64>().ok()
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// 50 logins at once, 25 right and 25 for unknown logins (which verify
/// against the dummy hash, so they cost the same): none may fail for lack
/// of a database connection, and memory must come back down.
async fn login_burst(suite: &Arc<Suite>, bare_rate: f64) {
    const BURST: usize = 50;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = status_mib("VmRSS");
    let start = Instant::now();
    let tasks: Vec<_> = (0..BURST)
        .map(|i| {
            let suite = suite.clone();
            tokio::spawn(async move {
                let mut client = IdentityServiceClient::connect(suite.url(Service::Identity)).await.expect("identity");
                let right = i % 2 == 0;
                let request = LoginRequest {
                    tenant: suite.tenant.clone(),
                    login: if right { suite.admin_login.clone() } else { format!("nobody-{i}@example.org") },
                    password: if right { suite.admin_password.clone() } else { "wrong-password".into() },
                };
                let t = Instant::now();
                let outcome = client.login(request).await;
                let ok = match outcome {
                    Ok(_) => right,
                    Err(status) => !right && status.code() == tonic::Code::Unauthenticated,
                };
                (ok, t.elapsed().as_secs_f64() * 1000.0)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut failures = 0;
    for t in tasks {
        let (ok, ms) = t.await.expect("task");
        failures += usize::from(!ok);
        latencies.push(ms);
    }
    let wall = start.elapsed();
    latencies.sort_by(f64::total_cmp);
    let peak = status_mib("VmHWM");
    tokio::time::sleep(Duration::from_secs(5)).await;
    let after = status_mib("VmRSS");
    let ideal = BURST as f64 / bare_rate;
    println!(
        "login burst:  {BURST} at once, {failures} failed (must be 0) | p50 {:.0} ms, p95 {:.0} ms, p99 {:.0} ms | \
         wall {:.2} s vs {ideal:.2} s of bare verifications | ratio {:.2}",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.95),
        percentile(&latencies, 0.99),
        wall.as_secs_f64(),
        ideal / wall.as_secs_f64()
    );
    println!(
        "memory:       RSS {before:.0} MiB before the burst, peak (VmHWM) {peak:.0} MiB, {after:.0} MiB 5 s after \
         (+{:.0} MiB kept)",
        after - before
    );
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
    let identity = settings.clone();
    let suite = Suite::start_with(|b| b.tweak(move |s| s.identity = identity)).await;
    let suite = Arc::new(suite);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..(cores * 2) {
        let suite = suite.clone();
        tasks.push(tokio::spawn(async move {
            let mut client = IdentityServiceClient::connect(suite.url(Service::Identity)).await.expect("identity");
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

    login_burst(&suite, bare_rate).await;

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
        opeka_platform::auth::Verifier::new(opeka_platform::auth::grpc_jwks_source(suite.url(Service::Identity)));
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
