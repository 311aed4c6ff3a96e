//! One trace from a gRPC caller through the service into the event on NATS
//! (DESIGN.md §4): the W3C `traceparent` a caller sends reaches the outbox
//! row and the published message's headers.
use std::time::Duration;

use opeka_integration_tests::Suite;
use opeka_proto::identity::{CreateStaffAccountRequest, Role};
use sqlx::{Connection, PgConnection};

#[tokio::test]
async fn trace_context_flows_from_grpc_metadata_to_nats_headers() {
    // This test binary installs the real subscriber (with the OpenTelemetry layer).
    let _guard = opeka_platform::telemetry::init("opeka-trace-test", opeka_platform::settings::LogFormat::Json);
    let suite = Suite::start().await;
    let token = suite.admin_token().await;
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let mut req = suite.authed(
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
    suite.identity().await.create_staff_account(req).await.expect("create");

    let mut db = PgConnection::connect(&suite.db.owner_url).await.unwrap();
    let stored: Option<String> = sqlx::query_scalar(
        "select headers->>'traceparent' from identity.outbox where subject like '%.identity.account_created'",
    )
    .fetch_one(&mut db)
    .await
    .unwrap();
    let stored = stored.expect("the outbox row carries the trace context");
    assert!(stored.contains(trace_id), "{stored}");

    let js = opeka_platform::testing::harness_bus(&suite.ctx.settings).await.js;
    let stream_name = format!("{}_IDENTITY", suite.ctx.settings.bus.stream_prefix);
    let subject = format!("{}.{}.identity.account_created", suite.ctx.settings.bus.root, suite.tenant_id);
    let mut header = None;
    for _ in 0..100 {
        if let Ok(stream) = js.get_stream(&stream_name).await
            && let Ok(m) = stream.get_last_raw_message_by_subject(&subject).await
        {
            header = m.headers.get("traceparent").map(|v| v.to_string());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let header = header.expect("the published message carries traceparent");
    assert!(header.contains(trace_id), "{header}");
}
