//! The transactional outbox across a broker outage (DESIGN.md §4): a write
//! commits while NATS is down, and its event is published exactly once when
//! the broker comes back.
use std::time::Duration;

use futures::StreamExt;
use opeka_integration_tests::{OwnNats, Suite};
use opeka_proto::identity::{CreateStaffAccountRequest, Role};
use opeka_testkit::wait_within;
use prost::Message;

/// The broker's outage and return take their time on a loaded machine.
const WAIT: Duration = Duration::from_secs(30);

#[tokio::test]
async fn an_event_written_during_a_broker_outage_is_published_exactly_once() {
    let mut nats = OwnNats::start();
    let url = nats.url();
    let suite = Suite::start_with(|b| b.tweak(move |s| s.platform.nats_url = url)).await;
    let token = suite.admin_token().await;

    // The relay creates the stream once the broker is reachable.
    let client = async_nats::connect(nats.url()).await.expect("connect");
    let js = async_nats::jetstream::new(client.clone());
    let stream_name = format!("{}_IDENTITY", suite.settings.platform.bus.stream_prefix);
    wait_within("the identity stream", WAIT, || async { js.get_stream(&stream_name).await.ok() }).await;
    drop(js);
    drop(client);

    nats.stop();

    let account = suite
        .identity()
        .create_staff_account(suite.request(
            &token,
            CreateStaffAccountRequest {
                surname: "Петрова".into(),
                login: "petrova".into(),
                password: "очень-секретно".into(),
                password_repeat: "очень-секретно".into(),
                roles: vec![Role::Curator as i32],
                ..Default::default()
            },
        ))
        .await
        .expect("the write succeeds while the broker is down")
        .into_inner();

    let (outbox_id, published): (uuid::Uuid, Option<chrono::DateTime<chrono::Utc>>) =
        sqlx::query_as("select id, published_at from identity.outbox where subject like '%.identity.account_created'")
            .fetch_one(&suite.owner_pool)
            .await
            .expect("the event waits in the outbox");
    assert!(published.is_none(), "nothing can be published while the broker is down");

    nats.restart();
    wait_within("the row published", WAIT, || async {
        let row: Option<chrono::DateTime<chrono::Utc>> =
            sqlx::query_scalar("select published_at from identity.outbox where id = $1")
                .bind(outbox_id)
                .fetch_one(&suite.owner_pool)
                .await
                .expect("row");
        row
    })
    .await;

    let client = async_nats::connect(nats.url()).await.expect("connect");
    let js = async_nats::jetstream::new(client);
    let stream = js.get_stream(&stream_name).await.expect("stream");
    let subject = format!("{}.{}.identity.account_created", suite.settings.platform.bus.root, suite.tenant_id);
    let consumer = stream
        .create_consumer(async_nats::jetstream::consumer::pull::Config {
            filter_subject: subject.clone(),
            ..Default::default()
        })
        .await
        .expect("consumer");
    let mut batch = consumer.fetch().max_messages(10).expires(Duration::from_secs(1)).messages().await.expect("fetch");
    let mut seen = Vec::new();
    while let Some(m) = batch.next().await {
        let m = m.expect("message");
        let id = m.headers.as_ref().and_then(|h| h.get("Nats-Msg-Id")).map(|v| v.to_string());
        let env = opeka_proto::events::Envelope::decode(m.payload.clone()).expect("envelope");
        seen.push((id, env));
        m.ack().await.expect("ack");
    }
    assert_eq!(seen.len(), 1, "published exactly once");
    let (msg_id, env) = &seen[0];
    assert_eq!(msg_id.as_deref(), Some(outbox_id.to_string().as_str()), "Nats-Msg-Id is the outbox row id");
    match &env.body {
        Some(opeka_proto::events::envelope::Body::AccountCreated(b)) => assert_eq!(b.account_id, account.id),
        other => panic!("unexpected body {other:?}"),
    }

    // A second publish with the same id (a relay that crashed after publishing
    // but before marking the row) is dropped by the broker's de-duplication.
    let mut h = async_nats::HeaderMap::new();
    h.insert("Nats-Msg-Id", outbox_id.to_string().as_str());
    let ack =
        js.publish_with_headers(subject, h, env.encode_to_vec().into()).await.expect("publish").await.expect("ack");
    assert!(ack.duplicate, "the broker recognises the duplicate");
}
