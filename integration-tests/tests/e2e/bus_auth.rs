//! Issue 9, point 2: an authenticated, least-privilege bus. Each test runs
//! its own nats-server with the authorization block `opeka nats-config`
//! renders (for this test's root and stream prefix), so the precise
//! per-stream permissions are what is checked: anonymous clients are
//! refused, a service publishes only its own subjects and reads only the
//! streams (and durables) it declares, and the real services run under it.
use std::time::Duration;

use async_nats::jetstream::{self, consumer::pull};
use opeka_integration_tests::{OwnNats, Suite};
use opeka_platform::bus::permissions::{Scope, ServiceBus};
use opeka_platform::bus::{self, Bus};
use opeka_platform::service::Service as _;
use opeka_platform::settings::{BusSettings, Secret};
use opeka_platform::testing;
use opeka_proto::events::{Ping, envelope::Body};

/// What `opeka nats-config` declares (services/opeka/src/main.rs).
fn services() -> Vec<ServiceBus> {
    vec![
        opeka_identity::Identity::bus().expect("identity uses the bus"),
        opeka_cases::Cases::bus().expect("cases uses the bus"),
        opeka_files::Files::bus().expect("files uses the bus"),
        opeka_notifications::Notifications::bus().expect("notifications uses the bus"),
        opeka_scheduler::Scheduler::bus().expect("scheduler uses the bus"),
        ServiceBus::new("admin", false, &[]),
    ]
}

const PUBLISHERS: [&str; 5] = ["identity", "cases", "files", "notifications", "scheduler"];

/// A server whose permissions name `settings`' root and stream prefix.
fn server(settings: &BusSettings) -> OwnNats {
    let scope = Scope::Deployment { root: &settings.root, stream_prefix: &settings.stream_prefix };
    OwnNats::start_with_authorization(&testing::test_server_config(scope, &services()))
}

async fn connect(nats: &OwnNats, user: &str, settings: &BusSettings) -> Bus {
    let credentials = Some((user.to_string(), Secret::new(testing::test_password(user))));
    let bus = Bus::connect_as(&nats.url(), credentials, user, settings.clone()).await.expect("connect");
    let mut js = bus.js.clone();
    // A request the server drops for a permission violation gets no answer:
    // fail fast instead of the default 5 s.
    js.set_timeout(Duration::from_millis(400));
    Bus { js, ..bus }
}

async fn connects(url: &str, options: async_nats::ConnectOptions) -> bool {
    matches!(tokio::time::timeout(Duration::from_secs(5), options.connect(url)).await, Ok(Ok(_)))
}

#[tokio::test]
async fn issue9_point2_anonymous_and_wrong_password_connections_are_refused() {
    let settings = testing::unique_bus();
    let nats = server(&settings);
    assert!(!connects(&nats.url(), async_nats::ConnectOptions::new()).await, "an anonymous client was accepted");
    let wrong = async_nats::ConnectOptions::with_user_and_password("cases".into(), "guess".into());
    assert!(!connects(&nats.url(), wrong).await, "a wrong password was accepted");
    for user in PUBLISHERS {
        let right = async_nats::ConnectOptions::with_user_and_password(user.into(), testing::test_password(user));
        assert!(connects(&nats.url(), right).await, "{user} with its password was refused");
    }
}

#[tokio::test]
async fn issue9_point2_a_service_is_refused_on_another_services_subjects_and_streams() {
    opeka_platform::install_crypto_provider();
    let settings = testing::unique_bus();
    let nats = server(&settings);
    let tenant = uuid::Uuid::now_v7();
    let mut buses = Vec::new();
    for service in PUBLISHERS {
        let bus = connect(&nats, service, &settings).await;
        // Each owner creates (and may update) its own stream.
        bus.ensure_stream(service).await.unwrap_or_else(|e| panic!("{service} cannot create its stream: {e}"));
        buses.push((service, bus));
    }
    let ping = bus::envelope(tenant, "system", chrono::Utc::now(), Body::Ping(Ping { text: "forged".into() }));
    for (service, bus) in &buses {
        // Its own subject: stored.
        let (own, payload) = bus.event_wire(service, "t", &ping);
        let ack = bus.js.publish(own, payload.clone().into()).await.expect("publish");
        ack.await.unwrap_or_else(|e| panic!("{service} cannot publish its own event: {e}"));
        for other in PUBLISHERS.iter().filter(|o| *o != service) {
            let (subject, payload) = bus.event_wire(other, "t", &ping);
            let stored = match bus.js.publish(subject.clone(), payload.into()).await {
                Ok(ack) => ack.await.is_ok(),
                Err(_) => false,
            };
            assert!(!stored, "{service} published {subject}");
            // Nor may it create another service's stream, or read or
            // manage it outside a durable it declared.
            let name = bus.stream_name(other);
            let config = bus.stream_config(other);
            assert!(bus.js.create_stream(config.clone()).await.is_err(), "{service} created {name}");
            assert!(bus.js.update_stream(config).await.is_err(), "{service} updated {name}");
            let spy = pull::Config { durable_name: Some("spy".into()), ..Default::default() };
            assert!(
                bus.js.create_consumer_on_stream(spy, name.as_str()).await.is_err(),
                "{service} created a consumer on {name}"
            );
        }
    }
    // Nothing but each owner's own ping reached a stream.
    let harness = connect(&nats, testing::HARNESS, &settings).await;
    for service in PUBLISHERS {
        let mut stream = harness.js.get_stream(harness.stream_name(service)).await.expect("stream");
        assert_eq!(stream.info().await.expect("info").state.messages, 1, "{service}'s stream");
    }
}

#[tokio::test]
async fn issue9_point2_a_service_reads_only_the_streams_and_durables_it_declares() {
    opeka_platform::install_crypto_provider();
    let settings = testing::unique_bus();
    let nats = server(&settings);
    for service in PUBLISHERS {
        connect(&nats, service, &settings).await.ensure_stream(service).await.expect("stream");
    }
    let declared = services();
    for grants in declared.iter().filter(|g| g.publishes) {
        let bus = connect(&nats, &grants.service, &settings).await;
        for stream_of in PUBLISHERS {
            let name = bus.stream_name(stream_of);
            let own: Vec<&str> =
                grants.consumes.iter().filter(|(s, _)| s == stream_of).map(|(_, d)| d.as_str()).collect();
            for (other, durable) in declared.iter().flat_map(|g| g.consumes.iter().map(move |c| (&g.service, c))) {
                if durable.0 != stream_of || own.contains(&durable.1.as_str()) {
                    continue;
                }
                // Another service's durable on a stream this one may or may not read.
                let config = pull::Config { durable_name: Some(durable.1.clone()), ..Default::default() };
                assert!(
                    bus.js.create_consumer_on_stream(config, name.as_str()).await.is_err(),
                    "{} took over {other}'s durable {} on {name}",
                    grants.service,
                    durable.1
                );
            }
            if own.is_empty() && stream_of != grants.service {
                let config =
                    pull::Config { durable_name: Some(format!("{}-spy", grants.service)), ..Default::default() };
                assert!(
                    bus.js.create_consumer_on_stream(config, name.as_str()).await.is_err(),
                    "{} created a consumer on {name}, which it does not declare",
                    grants.service
                );
            }
            // Its own durables work (with the filter the service uses).
            for durable in own {
                let config = pull::Config {
                    durable_name: Some(durable.to_string()),
                    ack_policy: jetstream::consumer::AckPolicy::Explicit,
                    ..Default::default()
                };
                bus.js
                    .create_consumer_on_stream(config, name.as_str())
                    .await
                    .unwrap_or_else(|e| panic!("{} cannot create its durable {durable}: {e}", grants.service));
            }
        }
    }
}

#[tokio::test]
async fn issue9_point2_streams_are_bounded_and_old_streams_are_updated() {
    opeka_platform::install_crypto_provider();
    let settings = testing::unique_bus();
    let nats = server(&settings);
    let identity = connect(&nats, "identity", &settings).await;
    // A stream as main created it: no age or size limit.
    let unbounded = jetstream::stream::Config {
        name: identity.stream_name("identity"),
        subjects: vec![format!("{}.*.identity.>", settings.root)],
        duplicate_window: Duration::from_secs(120),
        ..Default::default()
    };
    identity.js.create_stream(unbounded).await.expect("an old stream");
    let mut stream = identity.ensure_stream("identity").await.expect("ensure");
    let config = stream.info().await.expect("info").config.clone();
    assert_eq!(config.max_age, Duration::from_secs(7 * 24 * 3600));
    assert_eq!(config.max_bytes, settings.max_bytes);
    assert_eq!(config.discard, jetstream::stream::DiscardPolicy::Old);
}

/// The real services run under the rendered permissions: every relay
/// creates its stream, every declared consumer is created on its stream.
#[tokio::test]
async fn issue9_point2_the_services_run_under_their_own_permissions() {
    let settings = testing::unique_bus();
    let nats = server(&settings);
    let (url, bus_settings) = (nats.url(), settings.clone());
    let suite = Suite::start_with(|b| {
        b.tweak(move |s| {
            s.platform.nats_url = url;
            s.platform.bus = BusSettings { relay_poll_ms: 100, ..bus_settings };
        })
    })
    .await;
    let harness = connect(&nats, testing::HARNESS, &settings).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut missing: Vec<String> = Vec::new();
    loop {
        missing.clear();
        for grants in services() {
            for (stream_of, durable) in &grants.consumes {
                let name = harness.stream_name(stream_of);
                let found = match harness.js.get_stream(&name).await {
                    Ok(stream) => stream.consumer_info(durable).await.is_ok(),
                    Err(_) => false,
                };
                if !found {
                    missing.push(format!("{name}/{durable}"));
                }
            }
        }
        // Each relay created its own stream.
        for service in PUBLISHERS {
            if harness.js.get_stream(harness.stream_name(service)).await.is_err() {
                missing.push(harness.stream_name(service));
            }
        }
        if missing.is_empty() {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "not running after 30 s: {missing:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    drop(suite);
}
