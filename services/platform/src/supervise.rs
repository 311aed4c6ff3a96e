//! Supervised background work: the process's registry of long-running tasks
//! (outbox relays, consumers, dispatchers, bot leaders, cron jobs), each
//! restarted with backoff when it ends or panics, counted and made visible
//! to `/readyz` while a required one is down (issue 9, point 8).
//!
//! A task is a factory (`Fn() -> Future`): every restart gets a fresh future,
//! so a run that panicked half-way leaves nothing behind but what it wrote to
//! the database. Every task stops on the process's one `CancellationToken`
//! (it is expected to watch that token itself); [`Tasks::join`] waits for them.
use std::collections::BTreeMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::FutureExt as _;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The first pause before a restart; it doubles up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// The longest pause between two restarts of a task that keeps failing.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// A run that lasted this long was healthy: its next restart waits
/// [`FIRST_BACKOFF`] again.
pub const HEALTHY_RUN: Duration = Duration::from_secs(60);

/// Whether `/readyz` turns red while the task is down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Without it the service does not do its job (relays, consumers,
    /// dispatchers): down means not ready.
    Required,
    /// Housekeeping (pruning, one-shot starts): restarted, counted, but
    /// readiness does not depend on it.
    Optional,
}

/// What a task's run ended with; `()` and `Result<(), impl Display>` are
/// both outcomes, so existing loops can be supervised unchanged.
pub trait Outcome {
    fn into_result(self) -> Result<(), String>;
}

impl Outcome for () {
    fn into_result(self) -> Result<(), String> {
        Ok(())
    }
}

impl<E: std::fmt::Display> Outcome for Result<(), E> {
    fn into_result(self) -> Result<(), String> {
        self.map_err(|e| format!("{e:#}"))
    }
}

struct Entry {
    need: Need,
    /// `Some(why)` between the end of a run and its restart.
    down: Option<String>,
    restarts: u64,
    /// The test hook: a notification makes the current run panic.
    kill: Arc<Notify>,
}

#[derive(Default)]
struct Inner {
    entries: Mutex<BTreeMap<String, Entry>>,
}

/// The process's registry of supervised tasks (cheap to clone; one per
/// [`crate::Context`]), read by `/readyz`. Tasks are started through a
/// [`TaskGroup`], one per service `run`.
#[derive(Clone, Default)]
pub struct Tasks {
    inner: Arc<Inner>,
}

/// The tasks of one service's `run`: they stop on its token, and `run`
/// waits for them with [`TaskGroup::join`].
pub struct TaskGroup {
    registry: Tasks,
    cancel: CancellationToken,
    tracker: TaskTracker,
}

impl TaskGroup {
    /// Runs `factory()` as the task `name` until `cancel`, starting it again
    /// with backoff whenever a run ends or panics. The runs must stop on that
    /// token themselves. A name already taken (two replicas of a service in
    /// one test process) gets `#2`, `#3`…. Returns the registered name.
    pub fn spawn<F, Fut>(&self, name: impl Into<String>, need: Need, factory: F) -> String
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: Outcome,
    {
        let kill = Arc::new(Notify::new());
        let name = {
            let mut entries = self.registry.inner.entries.lock().expect("tasks lock");
            let base = name.into();
            let mut name = base.clone();
            let mut n = 1;
            while entries.contains_key(&name) {
                n += 1;
                name = format!("{base}#{n}");
            }
            entries.insert(name.clone(), Entry { need, down: None, restarts: 0, kill: kill.clone() });
            name
        };
        // The series exists from the start, so a dashboard sees 0, not nothing.
        crate::metrics::TASK_RESTARTS.with_label_values(&[name.as_str()]).inc_by(0);
        let (inner, cancel) = (self.registry.inner.clone(), self.cancel.clone());
        self.tracker.spawn(supervise(inner, cancel, name.clone(), factory, kill));
        name
    }

    /// Waits until every task of the group has stopped (after its token was
    /// cancelled).
    pub async fn join(&self) {
        self.tracker.close();
        self.tracker.wait().await;
    }
}

impl Tasks {
    pub fn new() -> Self {
        Self::default()
    }

    /// A group of tasks that stop (and are no longer restarted) on `cancel`.
    pub fn group(&self, cancel: &CancellationToken) -> TaskGroup {
        TaskGroup { registry: self.clone(), cancel: cancel.clone(), tracker: TaskTracker::new() }
    }

    /// Required tasks that are down now, with why (empty when all run).
    pub fn down(&self) -> Vec<String> {
        let entries = self.inner.entries.lock().expect("tasks lock");
        entries
            .iter()
            .filter(|(_, e)| e.need == Need::Required)
            .filter_map(|(name, e)| e.down.as_ref().map(|why| format!("{name} ({why})")))
            .collect()
    }

    /// How many times `name` has been restarted (None: no such task).
    pub fn restarts(&self, name: &str) -> Option<u64> {
        self.inner.entries.lock().expect("tasks lock").get(name).map(|e| e.restarts)
    }

    /// The registered task names.
    pub fn names(&self) -> Vec<String> {
        self.inner.entries.lock().expect("tasks lock").keys().cloned().collect()
    }

    /// Makes the current run of `name` panic, as a bug would (the drills and
    /// the burst test use it to see a task restarted). False: no such task.
    #[doc(hidden)]
    pub fn kill_for_test(&self, name: &str) -> bool {
        match self.inner.entries.lock().expect("tasks lock").get(name) {
            Some(e) => {
                e.kill.notify_one();
                true
            }
            None => false,
        }
    }

    /// The readiness check `/readyz` runs: red while a required task is down.
    pub fn check(&self) -> crate::admin::Check {
        let tasks = self.clone();
        Arc::new(move || {
            let down = tasks.down();
            Box::pin(async move { if down.is_empty() { Ok(()) } else { Err(format!("down: {}", down.join(", "))) } })
        })
    }

    fn mark(inner: &Inner, name: &str, why: Option<String>) {
        if let Some(e) = inner.entries.lock().expect("tasks lock").get_mut(name) {
            if why.is_none() && e.down.is_some() {
                e.restarts += 1;
            }
            e.down = why;
        }
    }
}

async fn supervise<F, Fut>(inner: Arc<Inner>, cancel: CancellationToken, name: String, factory: F, kill: Arc<Notify>)
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: Outcome,
{
    // Off the registry once stopped: a service started again in the same
    // process registers its tasks under the same names.
    let _deregister = Deregister(inner.clone(), name.clone());
    let mut backoff = FIRST_BACKOFF;
    loop {
        let started = Instant::now();
        let run = async {
            tokio::select! {
                outcome = factory() => outcome.into_result(),
                _ = kill.notified() => panic!("task {name} killed on purpose (test hook)"),
            }
        };
        let ended = AssertUnwindSafe(run).catch_unwind().await;
        if cancel.is_cancelled() {
            return;
        }
        let why = match ended {
            Ok(Ok(())) => "ended".to_string(),
            Ok(Err(e)) => format!("failed: {e}"),
            Err(panic) => format!("panicked: {}", panic_message(panic.as_ref())),
        };
        if started.elapsed() >= HEALTHY_RUN {
            backoff = FIRST_BACKOFF;
        }
        Tasks::mark(&inner, &name, Some(why.clone()));
        tracing::error!(task = %name, reason = %why, ?backoff, "background task stopped; restarting it");
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
        crate::metrics::TASK_RESTARTS.with_label_values(&[name.as_str()]).inc();
        Tasks::mark(&inner, &name, None);
        tracing::info!(task = %name, "background task restarted");
    }
}

struct Deregister(Arc<Inner>, String);

impl Drop for Deregister {
    fn drop(&mut self) {
        if let Ok(mut entries) = self.0.entries.lock() {
            entries.remove(&self.1);
        }
    }
}

/// The text of a panic payload (`panic!("…")` gives a `&str` or a `String`).
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic payload".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test(start_paused = true)]
    async fn a_panicking_task_is_restarted_and_reported_down_in_between() {
        let cancel = CancellationToken::new();
        let tasks = Tasks::new();
        let group = tasks.group(&cancel);
        let runs = Arc::new(AtomicU32::new(0));
        let name = {
            let (runs, cancel) = (runs.clone(), cancel.clone());
            group.spawn("t.worker", Need::Required, move || {
                let (runs, cancel) = (runs.clone(), cancel.clone());
                async move {
                    if runs.fetch_add(1, Ordering::SeqCst) == 0 {
                        panic!("first run fails");
                    }
                    cancel.cancelled().await;
                }
            })
        };
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(tasks.down().len(), 1, "down between the panic and the restart");
        assert!(tasks.down()[0].contains("first run fails"));
        assert!((tasks.check())().await.is_err());
        tokio::time::sleep(FIRST_BACKOFF).await;
        assert!(tasks.down().is_empty());
        assert_eq!(tasks.restarts(&name), Some(1));
        assert_eq!(runs.load(Ordering::SeqCst), 2);
        assert!(tasks.kill_for_test(&name));
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(tasks.down()[0].contains("killed on purpose"));
        tokio::time::sleep(FIRST_BACKOFF * 2).await;
        assert_eq!(tasks.restarts(&name), Some(2));
        cancel.cancel();
        group.join().await;
        assert!(tasks.names().is_empty(), "stopped tasks leave the registry");
    }

    #[tokio::test(start_paused = true)]
    async fn an_optional_task_does_not_turn_readiness_red_and_names_are_unique() {
        let cancel = CancellationToken::new();
        let tasks = Tasks::new();
        let group = tasks.group(&cancel);
        let first = group.spawn("t.once", Need::Optional, || async { Err::<(), _>("boom") });
        let second = group.spawn("t.once", Need::Optional, || async {});
        assert_eq!((first.as_str(), second.as_str()), ("t.once", "t.once#2"));
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(tasks.down().is_empty());
        cancel.cancel();
        group.join().await;
        assert!(tasks.names().is_empty(), "stopped tasks leave the registry");
    }
}
