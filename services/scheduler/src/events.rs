//! What the scheduler publishes (through its outbox, on
//! `<root>.<tenant>.scheduler.<event>`) and what it consumes: cases' citizen
//! events keep the citizen projection (who the citizen is, whose citizen);
//! identity's `bot_linked` marks the bot activated; notifications'
//! `message_delivered` stamps a reminder delivered.
use std::sync::Arc;

use futures::future::BoxFuture;
use opeka_platform::bus::{Consumer, ConsumerSpec, Handler, occurred_at, tenant_slug};
use opeka_platform::clock::SharedClock;
use opeka_proto::events::{self as ev, Envelope, envelope::Body};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::convert::{opt_uuid, ts};
use crate::domain::{self, Answer};
use crate::store::occurrences::{OccurrenceView, Released};
use crate::store::{self, CitizenFacts};

/// A citizen-facing reminder released to the bot; the message states the
/// reminder's own date and time (it may leave early, S0-72).
pub fn reminder_due(r: &Released) -> Body {
    Body::ReminderDue(ev::ReminderDue {
        occurrence_id: r.id.to_string(),
        series_id: r.series_id.to_string(),
        citizen_id: r.citizen_id.to_string(),
        citizen_account_id: opt_uuid(r.account_id),
        curator_id: opt_uuid(r.curator_id),
        kind: r.kind.clone(),
        text: r.description.clone(),
        due_at: Some(ts(r.due_at)),
        local_date: domain::bot_date(r.local_date),
        local_time: domain::hhmm(r.local_time),
        time_zone: r.time_zone.clone(),
    })
}

/// S0-12, S0-94: a curator note came due.
pub fn curator_reminder_due(r: &Released) -> Body {
    Body::CuratorReminderDue(ev::CuratorReminderDue {
        occurrence_id: r.id.to_string(),
        series_id: r.series_id.to_string(),
        citizen_id: r.citizen_id.to_string(),
        curator_id: opt_uuid(r.curator_id),
        text: r.description.clone(),
        due_at: Some(ts(r.due_at)),
        local_date: domain::bot_date(r.local_date),
        local_time: domain::hhmm(r.local_time),
    })
}

/// S0-57: the answer reaches the curator.
pub fn reminder_answered(o: &OccurrenceView, a: Answer) -> Body {
    Body::ReminderAnswered(ev::ReminderAnswered {
        occurrence_id: o.id.to_string(),
        series_id: o.series_id.to_string(),
        citizen_id: o.citizen_id.to_string(),
        curator_id: opt_uuid(o.curator_id),
        answer: a.as_str().into(),
    })
}

pub fn detector_raised(
    episode: Uuid,
    citizen: Uuid,
    curator: Option<Uuid>,
    kind: &str,
    summary: String,
    days: u32,
) -> Body {
    Body::DetectorRaised(ev::DetectorRaised {
        episode_id: episode.to_string(),
        citizen_id: citizen.to_string(),
        curator_id: opt_uuid(curator),
        kind: kind.into(),
        summary,
        days,
    })
}

/// What every consumer needs.
#[derive(Clone)]
pub struct Consumers {
    pub clock: SharedClock,
}

/// The durable consumers the scheduler runs.
pub fn consumers(c: &Consumers) -> Vec<Consumer> {
    vec![
        Consumer { spec: cases_spec(), handler: Arc::new(CitizenEvents(c.clone())) },
        Consumer { spec: identity_spec(), handler: Arc::new(BotLinked(c.clone())) },
        Consumer { spec: notifications_spec(), handler: Arc::new(Delivered(c.clone())) },
    ]
}

/// What the consumers read (the NATS permissions are written from it).
pub fn consumer_specs() -> Vec<ConsumerSpec> {
    vec![cases_spec(), identity_spec(), notifications_spec()]
}

fn cases_spec() -> ConsumerSpec {
    ConsumerSpec::new(
        crate::SERVICE,
        "scheduler-cases",
        "cases",
        &["citizen_created", "citizen_updated", "citizen_deleted", "citizens_transferred"],
    )
}

fn identity_spec() -> ConsumerSpec {
    ConsumerSpec::new(crate::SERVICE, "scheduler-identity", "identity", &["bot_linked"])
}

fn notifications_spec() -> ConsumerSpec {
    ConsumerSpec::new(crate::SERVICE, "scheduler-notifications", "notifications", &["message_delivered"])
}

fn uuid(v: &str) -> Option<Uuid> {
    v.trim().parse().ok()
}

/// cases' citizen events → the projection; a deleted card takes its
/// planned reminders with it (its answered history stays).
struct CitizenEvents(Consumers);

impl Handler for CitizenEvents {
    fn handle<'a>(
        &'a self,
        tx: &'a mut PgConnection,
        envelope: &'a Envelope,
        _subject: &'a str,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let tenant_id: Uuid = envelope.tenant_id.parse()?;
            let now = self.0.clock.now();
            let at = occurred_at(envelope, now);
            store::remember_tenant(tx, tenant_id, tenant_slug(envelope)?, now).await?;
            match &envelope.body {
                Some(Body::CitizenCreated(c)) => {
                    let (Some(citizen_id), Some(account_id)) = (uuid(&c.citizen_id), uuid(&c.account_id)) else {
                        tracing::warn!(event_id = %envelope.event_id, "citizen_created without ids; ignored");
                        return Ok(());
                    };
                    let facts = CitizenFacts {
                        tenant_id,
                        citizen_id,
                        account_id,
                        curator_id: uuid(&c.curator_id),
                        full_name: &c.full_name,
                        bot_linked: None,
                        at,
                    };
                    store::upsert_citizen(tx, &facts).await?;
                }
                Some(Body::CitizenUpdated(c)) => {
                    if let Some(id) = uuid(&c.citizen_id) {
                        store::set_curator(tx, tenant_id, &[id], uuid(&c.curator_id), at).await?;
                        if !c.full_name.is_empty() {
                            store::set_full_name(tx, tenant_id, id, &c.full_name).await?;
                        }
                    }
                }
                Some(Body::CitizensTransferred(t)) => {
                    let ids: Vec<Uuid> = t.citizen_ids.iter().filter_map(|i| uuid(i)).collect();
                    store::set_curator(tx, tenant_id, &ids, uuid(&t.to_curator_id), at).await?;
                }
                Some(Body::CitizenDeleted(c)) => {
                    let Some(id) = uuid(&c.citizen_id) else { return Ok(()) };
                    store::mark_citizen_deleted(tx, tenant_id, id, at).await?;
                    let series = store::series::soft_delete_citizen_series(tx, tenant_id, id, now).await?;
                    let cancelled = store::occurrences::cancel_pending(tx, &series, now).await?;
                    let kinds = domain::detectors::Detector::ALL.map(|d| d.as_str());
                    store::detectors::close_citizen_episodes(tx, tenant_id, id, &kinds, now).await?;
                    for s in &series {
                        let entry = opeka_platform::audit::Entry {
                            tenant_id,
                            actor_id: "system",
                            action: "series.delete",
                            entity: "series",
                            entity_id: s.to_string(),
                            details: serde_json::json!({ "reason": "citizen_deleted", "citizen_id": id }),
                            at: now,
                        };
                        opeka_platform::audit::record(tx, entry).await?;
                    }
                    tracing::info!(citizen_id = %id, series = series.len(), cancelled, "citizen deleted: reminders cancelled");
                }
                _ => {}
            }
            Ok(())
        })
    }
}

/// identity's `bot_linked` → the citizen's reminders may be created (S0-38).
struct BotLinked(Consumers);

impl Handler for BotLinked {
    fn handle<'a>(
        &'a self,
        tx: &'a mut PgConnection,
        envelope: &'a Envelope,
        _subject: &'a str,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let Some(Body::BotLinked(b)) = &envelope.body else { return Ok(()) };
            let tenant_id: Uuid = envelope.tenant_id.parse()?;
            let Some(account) = uuid(&b.citizen_account_id) else { return Ok(()) };
            let at = occurred_at(envelope, self.0.clock.now());
            if !store::mark_bot_linked(tx, tenant_id, account, at).await? {
                // Remembered: the card takes it when it reaches the projection.
                tracing::debug!(account_id = %account, "bot linked for a citizen not in the projection yet");
            }
            Ok(())
        })
    }
}

/// notifications delivered a reminder: its delivery time is kept.
struct Delivered(Consumers);

impl Handler for Delivered {
    fn handle<'a>(
        &'a self,
        tx: &'a mut PgConnection,
        envelope: &'a Envelope,
        _subject: &'a str,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let Some(Body::MessageDelivered(m)) = &envelope.body else { return Ok(()) };
            if m.kind != "reminder" {
                return Ok(());
            }
            let Some(id) = uuid(&m.reference_id) else { return Ok(()) };
            let at = occurred_at(envelope, self.0.clock.now());
            store::occurrences::set_delivered(tx, id, at).await?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_slug_comes_from_the_envelope() {
        let mut envelope = opeka_proto::events::Envelope { tenant_slug: "region-1".into(), ..Default::default() };
        assert_eq!(super::tenant_slug(&envelope).unwrap(), "region-1");
        envelope.tenant_slug.clear();
        assert!(super::tenant_slug(&envelope).is_err());
    }
}
