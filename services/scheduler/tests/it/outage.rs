//! The broker down: the dispatcher still marks reminders sent and writes
//! their events to the outbox (PostgreSQL); when NATS comes back, the relay
//! publishes them — nothing is lost (DESIGN.md §4).
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use opeka_platform::bus::Bus;
use opeka_platform::testing;
use opeka_proto::scheduler as pb;

use crate::helpers::*;

/// A nats-server of the test's own on a fixed port, started late.
struct OwnNats {
    port: u16,
    dir: std::path::PathBuf,
    child: Option<Child>,
}

impl OwnNats {
    fn reserve() -> Self {
        let dir = std::env::temp_dir().join(format!("opeka-sched-nats-{}", uuid::Uuid::new_v4().simple()));
        Self { port: testing::free_port(), dir, child: None }
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    fn start(&mut self) {
        std::fs::create_dir_all(&self.dir).expect("nats dir");
        let bin = testing::nats_server_bin();
        let child = Command::new(&bin)
            .args(["-a", "127.0.0.1", "-p", &self.port.to_string(), "-js", "-sd"])
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {} (run scripts/nats.sh): {e}", bin.display()));
        self.child = Some(child);
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("nats-server did not start on port {}", self.port);
    }
}

impl Drop for OwnNats {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test]
async fn with_nats_down_reminders_wait_in_the_outbox_and_go_out_when_it_returns() {
    let mut nats = OwnNats::reserve();
    let opts = Options { scheduler_nats_url: Some(nats.url()), ..Options::default() };
    let app = TestApp::start_with(opts).await;
    let t = app.tenant("o1").await;
    let c = app.citizen(&t, &t.admin, "Иванова").await;
    // The scheduler hears no events: it asks cases about the card instead.
    let req = series_req(&c, pb::ReminderKind::Support, "2031-01-10", "08:01");
    let s = t.admin.scheduler.clone().create_series(req).await.expect("create without the broker").into_inner();

    app.set_now(utc("2031-01-10T05:01:00Z"));
    app.engine.dispatch(app.now()).await.expect("dispatch without the broker");
    assert_eq!(app.statuses(&s.id).await[0].1, "sent");
    assert_eq!(app.outbox("reminder_due").await.len(), 1);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let waiting = "select count(*) from outbox where published_at is null and subject like '%.reminder_due'";
    assert_eq!(app.count(waiting).await, 1, "kept until the broker is back");

    // The broker returns: the relay publishes (stream created on the way).
    nats.start();
    let bus = Bus::connect_as(&nats.url(), None, opeka_platform::testing::HARNESS, app.platform.bus.clone())
        .await
        .expect("connect the returned broker");
    let published = opeka_testkit::wait_within("the outbox published", Duration::from_secs(40), || async {
        (app.count(waiting).await == 0).then_some(())
    });
    published.await;
    let mut events = events_on(&bus, &t.id.to_string(), "reminder_due").await;
    let e = events.next().await;
    assert_eq!(e.event_id, app.outbox("reminder_due").await[0].event_id);
    assert!(events.next_within(Duration::from_millis(500)).await.is_none());
}
