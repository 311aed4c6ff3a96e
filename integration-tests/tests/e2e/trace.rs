//! One trace from a gRPC caller through the service into the event on NATS
//! (DESIGN.md §4): the W3C `traceparent` a caller sends reaches the outbox
//! row and the published message's headers.
use std::time::Duration;

use opeka_integration_tests::Suite;
use opeka_proto::identity::{CreateStaffAccountRequest, Role};
use opeka_testkit::wait_within;

#[tokio::test]
async fn trace_context_flows_from_grpc_metadata_to_nats_headers() {
    // This test binary installs the real subscriber (with the OpenTelemetry layer).
    let _guard = opeka_platform::telemetry::init("opeka-trace-test", opeka_platform::settings::LogFormat::Json);
    let suite = Suite::start().await;
    let token = suite.admin_token().await;
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let mut req = suite.request(
        &token,
        CreateStaffAccountRequest {
            surname: "Трассировкина".into(),
            login: "tracer".into(),
            password: "достаточно-длинный".into(),
            password_repeat: "достаточно-длинный".into(),
            roles: vec![Role::Curator as i32],
            ..Default::default()
        },
    );
    req.metadata_mut().insert("traceparent", format!("00-{trace_id}-00f067aa0ba902b7-01").parse().unwrap());
    suite.identity().create_staff_account(req).await.expect("create");

    let stored: Option<String> = sqlx::query_scalar(
        "select headers->>'traceparent' from identity.outbox where subject like '%.identity.account_created'",
    )
    .fetch_one(&suite.owner_pool)
    .await
    .unwrap();
    let stored = stored.expect("the outbox row carries the trace context");
    assert!(stored.contains(trace_id), "{stored}");

    let platform = &suite.settings.platform;
    let js = opeka_platform::testing::harness_bus(platform).await.js;
    let stream_name = format!("{}_IDENTITY", platform.bus.stream_prefix);
    let subject = format!("{}.{}.identity.account_created", platform.bus.root, suite.tenant_id);
    let published = wait_within("the published message", Duration::from_secs(10), || async {
        js.get_stream(&stream_name).await.ok()?.get_last_raw_message_by_subject(&subject).await.ok()
    })
    .await;
    let header = published.headers.get("traceparent").map(|v| v.to_string());
    let header = header.expect("the published message carries traceparent");
    assert!(header.contains(trace_id), "{header}");
}
