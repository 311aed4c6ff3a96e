//! The process's Prometheus registry and the few metrics the plumbing owns.
use std::sync::LazyLock;

use prometheus::{IntCounterVec, Opts, Registry};

pub static REGISTRY: LazyLock<Registry> = LazyLock::new(Registry::new);

pub static DEAD_LETTERS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    let c = IntCounterVec::new(
        Opts::new("opeka_dead_letters_total", "messages moved to a dead-letter subject"),
        &["service", "consumer"],
    )
    .expect("metric");
    REGISTRY.register(Box::new(c.clone())).expect("register");
    c
});

pub static OUTBOX_PUBLISHED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    let c = IntCounterVec::new(
        Opts::new("opeka_outbox_published_total", "outbox events published to the broker"),
        &["service"],
    )
    .expect("metric");
    REGISTRY.register(Box::new(c.clone())).expect("register");
    c
});

pub static EVENTS_REJECTED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    let c = IntCounterVec::new(
        Opts::new("opeka_events_rejected_total", "events a consumer refused (acked without effect)"),
        &["service", "reason"],
    )
    .expect("metric");
    REGISTRY.register(Box::new(c.clone())).expect("register");
    c
});

pub static GRPC_REQUESTS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    let c = IntCounterVec::new(Opts::new("opeka_grpc_requests_total", "gRPC requests by method"), &["path"])
        .expect("metric");
    REGISTRY.register(Box::new(c.clone())).expect("register");
    c
});

pub static THROTTLED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    let c = IntCounterVec::new(
        Opts::new("opeka_throttled_total", "calls refused with RESOURCE_EXHAUSTED by a throttle"),
        &["throttle"],
    )
    .expect("metric");
    REGISTRY.register(Box::new(c.clone())).expect("register");
    c
});

pub static TASK_RESTARTS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    let c = IntCounterVec::new(
        Opts::new("opeka_task_restarts_total", "background tasks restarted after they ended or panicked"),
        &["task"],
    )
    .expect("metric");
    REGISTRY.register(Box::new(c.clone())).expect("register");
    c
});

pub fn render() -> String {
    use prometheus::Encoder;
    // Touch the lazies so the series exist from the start.
    LazyLock::force(&DEAD_LETTERS);
    LazyLock::force(&OUTBOX_PUBLISHED);
    LazyLock::force(&GRPC_REQUESTS);
    LazyLock::force(&EVENTS_REJECTED);
    LazyLock::force(&THROTTLED);
    LazyLock::force(&TASK_RESTARTS);
    let mut buf = Vec::new();
    prometheus::TextEncoder::new().encode(&REGISTRY.gather(), &mut buf).expect("encode");
    String::from_utf8(buf).unwrap_or_default()
}
