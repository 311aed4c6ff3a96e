//! Issue 9: the binary's configuration. `serve --dump-config` hides every
//! per-service database URL and key; production refuses each built-in
//! development key with the variable's name, before anything connects; the
//! shared `OPEKA_DATABASE_URL` of earlier releases is refused, not ignored.
use std::process::{Command, Output};

fn opeka(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_opeka"));
    cmd.args(args);
    for (k, _) in std::env::vars() {
        if k.starts_with("OPEKA_") {
            cmd.env_remove(k);
        }
    }
    cmd.envs(env.iter().copied());
    cmd.output().expect("run opeka")
}

const OWN_KEY: &str = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";

#[test]
fn issue9_point1_dump_config_hides_database_urls_and_keys() {
    let out = opeka(
        &["serve", "--dump-config"],
        &[
            ("OPEKA_DATABASES__IDENTITY", "postgres://opeka_identity:pw-identity-xyz@db/opeka"),
            ("OPEKA_DATABASES__GATEWAY", "postgres://opeka_gateway:pw-gateway-xyz@db/opeka"),
            ("OPEKA_IDENTITY__SECRET_KEY", OWN_KEY),
            ("OPEKA_GATEWAY__SECRET_KEY", OWN_KEY),
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("\"databases\""), "{stdout}");
    for secret in ["pw-identity-xyz", "pw-gateway-xyz", OWN_KEY, "_dev@"] {
        assert!(!stdout.contains(secret), "{secret} printed:\n{stdout}");
    }
}

#[test]
fn issue9_point10_production_refuses_each_development_key_by_name() {
    for (service, var) in [
        ("identity", "OPEKA_IDENTITY__SECRET_KEY"),
        ("notifications", "OPEKA_NOTIFICATIONS__SECRET_KEY"),
        ("gateway", "OPEKA_GATEWAY__SECRET_KEY"),
    ] {
        // The bus key is the process's, not the service's: give a real one so
        // the service's own key is what is refused.
        let out = opeka(
            &["serve", "--services", service],
            &[("OPEKA_ENVIRONMENT", "production"), ("OPEKA_BUS__SEAL_KEY", OWN_KEY)],
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{service} started with the development key");
        assert!(stderr.contains(var), "{service}: {stderr}");
    }
}

#[test]
fn issue9_point1_the_shared_database_url_is_refused() {
    let out = opeka(&["serve", "--dump-config"], &[("OPEKA_DATABASE_URL", "postgres://opeka_app:x@db/opeka")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("OPEKA_DATABASE_URL") && stderr.contains("OPEKA_DATABASES__"), "{stderr}");
}
