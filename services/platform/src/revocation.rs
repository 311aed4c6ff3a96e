//! Revoked sessions, known to every service that verifies access tokens.
//!
//! Access tokens are verified locally (`auth::Verifier`), so a logout,
//! password change or reset, or an account deletion in identity would not
//! reach cases, files, scheduler or notifications until the token expired.
//! Identity therefore publishes `sessions_revoked` (through its outbox) and
//! every verifying service follows those events into a [`Revocations`]
//! deny-list its `Verifier` consults: a token of a revoked session (its
//! `sid`), or of an account revoked as a whole and issued before that, is
//! refused with `UNAUTHENTICATED` within the relay's and the broker's
//! latency (well under a second on one machine).
//!
//! The follower reads identity's stream through an ephemeral ordered
//! consumer that starts [`REPLAY`] ago, so a service that (re)starts still
//! learns the revocations of tokens that may be alive. Entries are forgotten
//! once every token they cover has expired (`tokens_expire_by`, stamped by
//! identity from its access-token lifetime). The one function that touches
//! the bus is [`subscribe`]; what it needs (for per-service NATS
//! permissions) is described there.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream::consumer::{DeliverPolicy, pull};
use futures::StreamExt;
use opeka_proto::events::{Envelope, SessionsRevoked, envelope::Body};
use prost::Message as _;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::auth::Claims;
use crate::bus::Bus;

/// The event identity publishes (`<root>.<tenant>.identity.sessions_revoked`).
pub const EVENT: &str = "sessions_revoked";
/// The producing service (whose stream is read).
pub const PRODUCER: &str = "identity";
/// How far back a (re)started follower replays. Longer than any access
/// token lives (identity refuses a longer `access_token_ttl_secs`).
pub const REPLAY: Duration = Duration::from_secs(24 * 3600);

/// The deny-list: revoked sessions and accounts, each until the last token
/// it covers has expired (unix seconds).
#[derive(Debug, Default)]
pub struct Revocations {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// session id → forget after.
    sessions: HashMap<Uuid, i64>,
    /// account id → (tokens issued at or before this are revoked, forget after).
    accounts: HashMap<Uuid, (i64, i64)>,
}

impl Revocations {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Whether a token with these (already verified) claims was revoked.
    pub fn is_revoked(&self, c: &Claims) -> bool {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(sid) = c.sid.as_deref().and_then(|s| s.parse::<Uuid>().ok())
            && inner.sessions.contains_key(&sid)
        {
            return true;
        }
        match c.sub.parse::<Uuid>().ok().and_then(|a| inner.accounts.get(&a)) {
            Some((before, _)) => c.iat <= *before,
            None => false,
        }
    }

    /// Records one `sessions_revoked` published at `at` (unix seconds);
    /// drops entries whose tokens have all expired by `now`.
    pub fn apply(&self, e: &SessionsRevoked, at: i64, now: i64) {
        let until = e.tokens_expire_by.as_ref().map(|t| t.seconds).unwrap_or(at + REPLAY.as_secs() as i64);
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.sessions.retain(|_, u| *u > now);
        inner.accounts.retain(|_, (_, u)| *u > now);
        if until <= now {
            return;
        }
        for sid in e.session_ids.iter().filter_map(|s| s.parse::<Uuid>().ok()) {
            let u = inner.sessions.entry(sid).or_insert(until);
            *u = (*u).max(until);
        }
        if e.all_tokens
            && let Ok(account) = e.account_id.parse::<Uuid>()
        {
            let entry = inner.accounts.entry(account).or_insert((at, until));
            *entry = (entry.0.max(at), entry.1.max(until));
        }
    }

    /// How many entries are held (sessions, accounts); for tests and metrics.
    pub fn len(&self) -> (usize, usize) {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        (inner.sessions.len(), inner.accounts.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == (0, 0)
    }
}

/// The bus access of the follower, in one place: an ephemeral *ordered*
/// pull consumer on identity's stream (`<prefix>_IDENTITY`), filtered to
/// `<root>.*.identity.sessions_revoked`, delivering from `REPLAY` ago. No
/// acks, no durable state; the client recreates it after a gap.
///
/// NATS permissions a verifying service needs for it (JetStream API on the
/// stream `<prefix>_IDENTITY`):
/// - publish `$JS.API.STREAM.INFO.<prefix>_IDENTITY` (look the stream up);
/// - publish `$JS.API.CONSUMER.CREATE.<prefix>_IDENTITY.*.<root>.*.identity.sessions_revoked`
///   (create the named ephemeral consumer; the subject carries its name and
///   filter) and `$JS.API.CONSUMER.DELETE.<prefix>_IDENTITY.*` (the ordered
///   consumer replaces itself after a gap);
/// - publish `$JS.API.CONSUMER.MSG.NEXT.<prefix>_IDENTITY.>` (pull);
/// - subscribe `_INBOX.>` (or the connection's custom inbox prefix) for the
///   API replies and the delivered messages.
///
/// It never publishes on `<root>.>` and never creates or changes a stream.
pub async fn subscribe(
    bus: &Bus,
    start: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<async_nats::jetstream::consumer::pull::Ordered> {
    let stream =
        bus.js.get_stream(bus.stream_name(PRODUCER)).await.map_err(|e| anyhow::anyhow!("identity's stream: {e}"))?;
    let config = pull::OrderedConfig {
        // A name puts the consumer's name and filter into the create
        // subject (`$JS.API.CONSUMER.CREATE.<stream>.<name>.<filter>`), which
        // is what the NATS permissions pin: a service may create consumers
        // on identity's stream filtered to the revocations only.
        name: Some(format!("revocations-{}", uuid::Uuid::new_v4().simple())),
        filter_subject: format!("{}.*.{PRODUCER}.{EVENT}", bus.settings.root),
        deliver_policy: DeliverPolicy::ByStartTime {
            start_time: async_nats::datetime::from_nanos(i128::from(start.timestamp()) * 1_000_000_000)
                .map_err(|e| anyhow::anyhow!("start time: {e}"))?,
        },
        ..Default::default()
    };
    let consumer = stream.create_consumer(config).await.map_err(|e| anyhow::anyhow!("consumer: {e}"))?;
    consumer.messages().await.map_err(|e| anyhow::anyhow!("messages: {e}"))
}

/// Keeps `revocations` current until `cancel`: follows identity's
/// `sessions_revoked`, starting again with backoff (0.2 s doubling to 5 s)
/// when the stream is not there yet or the broker goes away. What every
/// verifying service runs next to its gRPC server.
pub async fn follow(bus: Bus, revocations: Arc<Revocations>, cancel: CancellationToken) {
    let mut backoff = Duration::from_millis(200);
    // After the first connection, a restart of the follower replays from a
    // little before the last event seen, not a whole day again.
    let mut start = chrono::Utc::now() - chrono::Duration::from_std(REPLAY).unwrap_or_default();
    loop {
        match subscribe(&bus, start).await {
            Ok(mut messages) => {
                backoff = Duration::from_millis(200);
                loop {
                    let next = tokio::select! {
                        _ = cancel.cancelled() => return,
                        m = messages.next() => m,
                    };
                    let msg = match next {
                        Some(Ok(m)) => m,
                        Some(Err(e)) => {
                            tracing::warn!(error = %e, "revocations: receive failed");
                            break;
                        }
                        None => break,
                    };
                    match Envelope::decode(msg.payload.as_ref()) {
                        Ok(Envelope { body: Some(Body::SessionsRevoked(e)), occurred_at, .. }) => {
                            let at = occurred_at.map(|t| t.seconds).unwrap_or_else(|| chrono::Utc::now().timestamp());
                            revocations.apply(&e, at, chrono::Utc::now().timestamp());
                            start = start.max(
                                chrono::DateTime::from_timestamp(at, 0).unwrap_or(start) - chrono::Duration::seconds(5),
                            );
                        }
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, subject = %msg.subject, "revocations: undecodable event"),
                    }
                }
            }
            Err(e) => tracing::debug!(error = %e, ?backoff, "revocations: not following yet"),
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

/// A token verifier that refuses revoked sessions, its follower supervised
/// in `group` as `<service>.revocations` (required: while it is down a
/// revoked token could pass, so `/readyz` says so) until `cancel`: how every
/// service builds the verifier its gRPC server uses.
pub fn verifier(
    source: crate::auth::JwksSource,
    bus: &Bus,
    group: &crate::supervise::TaskGroup,
    service: &str,
    cancel: CancellationToken,
) -> Arc<crate::auth::Verifier> {
    let verifier = Arc::new(crate::auth::Verifier::new(source));
    let (bus, revocations) = (bus.clone(), verifier.revocations());
    group.spawn(format!("{service}.revocations"), crate::supervise::Need::Required, move || {
        follow(bus.clone(), revocations.clone(), cancel.clone())
    });
    verifier
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(sub: Uuid, sid: Option<Uuid>, iat: i64) -> Claims {
        Claims {
            sub: sub.to_string(),
            tid: Uuid::nil().to_string(),
            ten: "t".into(),
            kind: "staff".into(),
            roles: vec![],
            sid: sid.map(|s| s.to_string()),
            org: None,
            dst: vec![],
            iat,
            exp: iat + 900,
            aud: crate::auth::AUDIENCE.into(),
            iss: crate::auth::ISSUER.into(),
            jti: "j".into(),
        }
    }

    #[test]
    fn sessions_and_whole_accounts_are_refused_until_their_tokens_expire() {
        let r = Revocations::default();
        let (a, s1, s2) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let e = SessionsRevoked {
            account_id: a.to_string(),
            session_ids: vec![s1.to_string()],
            all_tokens: false,
            tokens_expire_by: Some(prost_types::Timestamp { seconds: 1900, nanos: 0 }),
        };
        r.apply(&e, 1000, 1000);
        assert!(r.is_revoked(&claims(a, Some(s1), 990)));
        assert!(!r.is_revoked(&claims(a, Some(s2), 990)));
        // Deletion: every token issued up to then, with a session or without.
        r.apply(&SessionsRevoked { session_ids: vec![], all_tokens: true, ..e.clone() }, 1100, 1100);
        assert!(r.is_revoked(&claims(a, None, 1100)));
        assert!(r.is_revoked(&claims(a, Some(s2), 1000)));
        assert!(!r.is_revoked(&claims(a, None, 1101)));
        // Forgotten once every token it covered has expired.
        r.apply(&SessionsRevoked { session_ids: vec![], ..e.clone() }, 1901, 1901);
        assert!(r.is_empty());
        // An event replayed after its tokens expired adds nothing.
        r.apply(&e, 1000, 2000);
        assert!(r.is_empty());
    }
}
