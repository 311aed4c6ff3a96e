//! Issue 9, point 1: the private signing key is never stored in clear. A
//! reader of `signing_keys` (another role, a backup, a dump) finds only
//! ciphertext sealed under `OPEKA_IDENTITY__SECRET_KEY`; a key an earlier
//! release stored in clear is sealed at start-up without changing it, so
//! tokens it signed keep verifying; production refuses the built-in key.
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use opeka_identity::tokens::{self, KeyRing, Subject};
use opeka_platform::auth::Verifier;
use opeka_platform::settings::{Environment, PlatformSettings};
use opeka_platform::testing;
use uuid::Uuid;

use crate::helpers::TestApp;

/// `(kid, private_pkcs8, private_sealed)` as stored.
type StoredKey = (String, Option<Vec<u8>>, Option<Vec<u8>>);

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn issue9_point1_the_stored_private_key_is_sealed() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    app.admin(&t).await; // a token was signed with the key
    let rows: Vec<StoredKey> = sqlx::query_as("select kid, private_pkcs8, private_sealed from signing_keys")
        .fetch_all(&app.owner_pool)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "one key");
    let (kid, clear, sealed) = rows.into_iter().next().unwrap();
    assert_eq!(clear, None, "no private key in clear");
    let sealed = sealed.expect("the sealed key");
    let der = app
        .settings
        .secret_box()
        .unwrap()
        .open_bytes(Uuid::nil(), &format!("identity.signing_keys.private:{kid}"), &sealed)
        .expect("opens with the configured key");
    // The Ed25519 seed is the last 32 bytes of the PKCS#8 document.
    assert!(!contains(&sealed, &der[der.len() - 32..]), "the seed does not appear in the stored bytes");
    // Another key does not open it.
    let other = opeka_identity::Settings {
        secret_key: opeka_platform::settings::Secret::new(base64::engine::general_purpose::STANDARD.encode([9u8; 32])),
        ..Default::default()
    };
    assert!(other.secret_box().unwrap().open_bytes(Uuid::nil(), "x", &sealed).is_err());
}

#[tokio::test]
async fn issue9_point1_a_clear_key_of_an_earlier_release_is_sealed_and_keeps_verifying() {
    opeka_platform::install_crypto_provider();
    let db = testing::migrated_db(&[&opeka_identity::SCHEMA]).await;
    let owner = opeka_platform::db::connect(&db.owner_url, "identity", 1).await.unwrap();
    // What an earlier release left behind: the key in clear.
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&aws_lc_rs::rand::SystemRandom::new()).unwrap();
    let der = pkcs8.as_ref().to_vec();
    let x = B64.encode(Ed25519KeyPair::from_pkcs8(&der).unwrap().public_key().as_ref());
    sqlx::query("insert into signing_keys (kid, private_pkcs8, public_x) values ('oldkid', $1, $2)")
        .bind(&der)
        .bind(&x)
        .execute(&owner)
        .await
        .unwrap();
    // A token that key signed before the upgrade.
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
    header.kid = Some("oldkid".into());
    let subject = Subject {
        account_id: Uuid::now_v7(),
        tenant_id: Uuid::now_v7(),
        tenant_slug: "t",
        kind: "STAFF",
        roles: vec!["admin".into()],
        session_id: None,
        organisation_id: None,
        districts: vec![],
    };
    let claims = tokens::claims(subject, chrono::Utc::now(), 600);
    let issued = jsonwebtoken::encode(&header, &claims, &jsonwebtoken::EncodingKey::from_ed_der(&der)).unwrap();

    // Identity starts (as its own role) and seals it.
    let settings = opeka_identity::Settings::default();
    let pool = opeka_platform::db::connect(&db.url("identity"), "identity", 2).await.unwrap();
    let ring = KeyRing::load_or_create(&pool, &settings.secret_box().unwrap()).await.expect("load");
    let (clear, sealed): (Option<Vec<u8>>, Option<Vec<u8>>) =
        sqlx::query_as("select private_pkcs8, private_sealed from signing_keys where kid = 'oldkid'")
            .fetch_one(&owner)
            .await
            .unwrap();
    assert_eq!(clear, None, "the clear copy is gone");
    let sealed = sealed.expect("sealed");
    assert!(!contains(&sealed, &der[der.len() - 32..]));
    let count: i64 = sqlx::query_scalar("select count(*) from signing_keys").fetch_one(&owner).await.unwrap();
    assert_eq!(count, 1, "no new key: the old one stays active");

    let verifier = Verifier::new(ring.local_source());
    verifier.verify(&issued).await.expect("a token issued before the upgrade still verifies");
    let fresh = ring.sign(&claims).unwrap();
    verifier.verify(&fresh).await.expect("and the sealed key signs new ones");
    // A second start finds nothing left to convert and loads the same key.
    let again = KeyRing::load_or_create(&pool, &settings.secret_box().unwrap()).await.unwrap();
    Verifier::new(again.local_source()).verify(&issued).await.expect("still verifies");
}

#[tokio::test]
async fn issue9_point1_production_refuses_the_development_identity_key() {
    opeka_platform::install_crypto_provider();
    let platform = PlatformSettings { environment: Environment::Production, ..Default::default() };
    let err = opeka_identity::Settings::default().require_own_keys(&platform).unwrap_err();
    assert!(err.to_string().contains("OPEKA_IDENTITY__SECRET_KEY"), "{err}");
    // `run` refuses before it touches anything.
    let ctx = opeka_platform::Context::new(platform);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let err = opeka_identity::run(ctx, opeka_identity::Settings::default(), listener).await.unwrap_err();
    assert!(format!("{err:#}").contains("OPEKA_IDENTITY__SECRET_KEY"), "{err:#}");
    // An own key is accepted.
    let own = opeka_identity::Settings {
        secret_key: opeka_platform::settings::Secret::new(base64::engine::general_purpose::STANDARD.encode([3u8; 32])),
        ..Default::default()
    };
    // … as long as the bus seal key, the other key identity holds, is own too.
    let mut production = PlatformSettings { environment: Environment::Production, ..Default::default() };
    let err = own.require_own_keys(&production).unwrap_err();
    assert!(err.to_string().contains("OPEKA_BUS__SEAL_KEY"), "{err}");
    production.bus.seal_key =
        opeka_platform::settings::Secret::new(base64::engine::general_purpose::STANDARD.encode([4u8; 32]));
    own.require_own_keys(&production).unwrap();
}
