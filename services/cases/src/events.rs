//! What cases publishes (through its outbox, on `<root>.<tenant>.cases.<event>`)
//! and what it consumes: files' `file_received`, the bot's
//! `contact_requested` and the scheduler's `detector_raised` and
//! `curator_reminder_due` become work-queue activities (S0-85, S0-88,
//! S0-90…S0-92, S0-94); identity's `bot_linked` marks the card «Бот активирован» (S0-49).
use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use opeka_platform::bus::{self, Consumer, ConsumerSpec, Handler, Outbox, occurred_at, tenant_slug};
use opeka_platform::clock::SharedClock;
use opeka_proto::events::{self as ev, Envelope, envelope::Body};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::registry::domain::{self, ActivityKind, InteractionKind};
use crate::registry::store::{self, CitizenRow};
use crate::registry::strings as s;

pub fn citizen_created(c: &CitizenRow) -> Body {
    Body::CitizenCreated(ev::CitizenCreated {
        citizen_id: c.id.to_string(),
        account_id: c.account_id.to_string(),
        curator_id: opt(c.curator_id),
        district_id: opt(c.district_id),
        full_name: c.full_name(),
    })
}

/// `full_name`: the card's name after the change, or empty when the name
/// did not change (other services keep a copy of it). `district`: the
/// card's district after the change, when the caller has the card at hand
/// (identity and files scope integration accounts by it); `None` leaves the
/// consumers' copy as it was.
pub fn citizen_updated(
    id: Uuid,
    curator: Option<Uuid>,
    district: Option<Option<Uuid>>,
    changed: &[String],
    full_name: String,
) -> Body {
    Body::CitizenUpdated(ev::CitizenUpdated {
        citizen_id: id.to_string(),
        changed_fields: changed.to_vec(),
        curator_id: opt(curator),
        full_name,
        district_id: district.map(opt),
    })
}

pub fn citizen_deleted(id: Uuid) -> Body {
    Body::CitizenDeleted(ev::CitizenDeleted { citizen_id: id.to_string() })
}

pub fn citizens_transferred(ids: &[Uuid], from: Option<Uuid>, to: Uuid) -> Body {
    Body::CitizensTransferred(ev::CitizensTransferred {
        citizen_ids: ids.iter().map(Uuid::to_string).collect(),
        from_curator_id: opt(from),
        to_curator_id: to.to_string(),
    })
}

pub fn interaction_recorded(id: Uuid, c: &CitizenRow, kind: InteractionKind) -> Body {
    Body::InteractionRecorded(ev::InteractionRecorded {
        interaction_id: id.to_string(),
        citizen_id: c.id.to_string(),
        curator_id: opt(c.curator_id),
        kind: kind.as_str().into(),
    })
}

fn opt(v: Option<Uuid>) -> String {
    v.map(|u| u.to_string()).unwrap_or_default()
}

/// A new work-queue item and its `activity_created` event, in the caller's
/// transaction (notifications mails the copies from the event, S0-87, S0-12).
/// The item is the citizen's: its curator is whoever has the card now.
pub struct NewActivity<'a> {
    pub citizen: &'a CitizenRow,
    pub kind: ActivityKind,
    pub summary: String,
    pub occurred_at: DateTime<Utc>,
    pub file_id: Option<Uuid>,
    pub interaction_id: Option<Uuid>,
    pub source_event_id: Option<Uuid>,
    /// The threshold a detector item was raised with.
    pub days: Option<u32>,
    /// The scheduler's episode or occurrence the item stands for.
    pub source_ref: Option<Uuid>,
}

/// The new item's id; `None` when `source_ref` already has one (nothing is
/// written or published then).
pub async fn record_activity(
    conn: &mut PgConnection,
    outbox: &Outbox,
    tenant_slug: &str,
    now: DateTime<Utc>,
    a: NewActivity<'_>,
) -> anyhow::Result<Option<Uuid>> {
    let id = Uuid::now_v7();
    let c = a.citizen;
    let inserted = store::insert_activity(
        conn,
        &store::NewActivity {
            id,
            tenant_id: c.tenant_id,
            citizen_id: c.id,
            kind: a.kind.as_str(),
            summary: &a.summary,
            occurred_at: a.occurred_at,
            file_id: a.file_id,
            interaction_id: a.interaction_id,
            source_event_id: a.source_event_id,
            days: a.days.map(|d| i32::try_from(d).unwrap_or(i32::MAX)),
            source_ref: a.source_ref,
            now,
        },
    )
    .await?;
    if !inserted {
        return Ok(None);
    }
    let body = Body::ActivityCreated(ev::ActivityCreated {
        activity_id: id.to_string(),
        citizen_id: c.id.to_string(),
        curator_id: opt(c.curator_id),
        kind: a.kind.as_str().into(),
        summary: a.summary,
        citizen_full_name: c.full_name(),
        file_id: opt(a.file_id),
        interaction_id: opt(a.interaction_id),
    });
    outbox.enqueue(conn, tenant_slug, &bus::envelope(c.tenant_id, "system", now, body)).await?;
    Ok(Some(id))
}

/// What every consumer needs.
#[derive(Clone)]
pub struct Consumers {
    pub outbox: Outbox,
    pub clock: SharedClock,
}

/// The durable consumers cases runs.
pub fn consumers(c: &Consumers) -> Vec<Consumer> {
    vec![
        Consumer { spec: file_received_spec(), handler: Arc::new(FileReceived(c.clone())) },
        Consumer { spec: contact_requested_spec(), handler: Arc::new(ContactRequested(c.clone())) },
        Consumer { spec: bot_linked_spec(), handler: Arc::new(BotLinked(c.clone())) },
        Consumer { spec: detector_raised_spec(), handler: Arc::new(DetectorRaised(c.clone())) },
        Consumer { spec: curator_reminder_due_spec(), handler: Arc::new(CuratorReminderDue(c.clone())) },
    ]
}

/// What the consumers read (the NATS permissions are written from it).
pub fn consumer_specs() -> Vec<ConsumerSpec> {
    vec![
        file_received_spec(),
        contact_requested_spec(),
        bot_linked_spec(),
        detector_raised_spec(),
        curator_reminder_due_spec(),
    ]
}

fn file_received_spec() -> ConsumerSpec {
    ConsumerSpec::new(crate::SERVICE, "cases-file-received", "files", &["file_received"])
}

fn contact_requested_spec() -> ConsumerSpec {
    ConsumerSpec::new(crate::SERVICE, "cases-contact-requested", "notifications", &["contact_requested"])
}

fn bot_linked_spec() -> ConsumerSpec {
    ConsumerSpec::new(crate::SERVICE, "cases-bot-linked", "identity", &["bot_linked"])
}

fn detector_raised_spec() -> ConsumerSpec {
    ConsumerSpec::new(crate::SERVICE, "cases-detector-raised", "scheduler", &["detector_raised"])
}

fn curator_reminder_due_spec() -> ConsumerSpec {
    ConsumerSpec::new(crate::SERVICE, "cases-curator-reminder-due", "scheduler", &["curator_reminder_due"])
}

/// The live citizen an event names, or `None` (logged, then acked without
/// effect: a deleted or unknown citizen's event has nowhere to go).
async fn citizen_of(conn: &mut PgConnection, raw: &str, e: &Envelope) -> anyhow::Result<Option<CitizenRow>> {
    let Ok(id) = raw.trim().parse::<Uuid>() else {
        tracing::warn!(event_id = %e.event_id, citizen = raw, "event names no valid citizen; ignored");
        return Ok(None);
    };
    let c = store::citizen_by_account_or_id(conn, id).await?;
    if c.is_none() {
        tracing::warn!(event_id = %e.event_id, citizen = %id, "event for an unknown or deleted citizen; ignored");
    }
    Ok(c)
}

/// files → «файл» activity (S0-85, S0-86: the row carries the file id).
struct FileReceived(Consumers);

impl Handler for FileReceived {
    fn handle<'a>(
        &'a self,
        tx: &'a mut PgConnection,
        envelope: &'a Envelope,
        _subject: &'a str,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let Some(Body::FileReceived(f)) = &envelope.body else { return Ok(()) };
            let slug = tenant_slug(envelope)?;
            let Some(citizen) = citizen_of(tx, &f.citizen_id, envelope).await? else { return Ok(()) };
            let now = self.0.clock.now();
            let created = record_activity(
                tx,
                &self.0.outbox,
                slug,
                now,
                NewActivity {
                    citizen: &citizen,
                    kind: ActivityKind::FileReceived,
                    summary: s::file_received_summary(&f.original_name, &f.file_type_name),
                    occurred_at: occurred_at(envelope, now),
                    file_id: f.file_id.parse().ok(),
                    interaction_id: None,
                    source_event_id: envelope.event_id.parse().ok(),
                    days: None,
                    source_ref: None,
                },
            )
            .await?;
            if let Some(id) = created {
                tracing::info!(activity_id = %id, citizen_id = %citizen.id, "file received: activity created");
            }
            Ok(())
        })
    }
}

/// The bot's «Запросить связь» → an entry in «История взаимодействия» (S0-42)
/// and a «связь с соц. куратором» activity (S0-88).
struct ContactRequested(Consumers);

impl Handler for ContactRequested {
    fn handle<'a>(
        &'a self,
        tx: &'a mut PgConnection,
        envelope: &'a Envelope,
        _subject: &'a str,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let Some(Body::ContactRequested(r)) = &envelope.body else { return Ok(()) };
            let slug = tenant_slug(envelope)?;
            let Some(citizen) = citizen_of(tx, &r.citizen_account_id, envelope).await? else { return Ok(()) };
            let now = self.0.clock.now();
            let at = occurred_at(envelope, now);
            let interaction = store::InteractionRow {
                id: Uuid::now_v7(),
                citizen_id: citizen.id,
                kind: InteractionKind::ContactRequest.as_str().into(),
                request_text: r.text.trim().to_string(),
                result: String::new(),
                created_by: citizen.account_id.to_string(),
                created_by_name: citizen.full_name(),
                created_at: at,
                edited_by: None,
                edited_by_name: None,
                edited_at: None,
            };
            store::insert_interaction(tx, citizen.tenant_id, &interaction, envelope.event_id.parse().ok()).await?;
            let body = interaction_recorded(interaction.id, &citizen, InteractionKind::ContactRequest);
            self.0.outbox.enqueue(tx, slug, &bus::envelope(citizen.tenant_id, "system", now, body)).await?;
            record_activity(
                tx,
                &self.0.outbox,
                slug,
                now,
                NewActivity {
                    citizen: &citizen,
                    kind: ActivityKind::ContactRequested,
                    summary: s::CONTACT_REQUESTED_SUMMARY.into(),
                    occurred_at: at,
                    file_id: None,
                    interaction_id: Some(interaction.id),
                    source_event_id: envelope.event_id.parse().ok(),
                    days: None,
                    source_ref: None,
                },
            )
            .await?;
            tracing::info!(citizen_id = %citizen.id, interaction_id = %interaction.id, "contact requested");
            Ok(())
        })
    }
}

/// identity's `bot_linked` → the card shows «Бот активирован».
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
            let Ok(account) = b.citizen_account_id.parse::<Uuid>() else { return Ok(()) };
            let at = occurred_at(envelope, self.0.clock.now());
            if !store::mark_bot_activated(tx, account, at).await? {
                tracing::debug!(account_id = %account, "bot linked for an account with no card");
            }
            Ok(())
        })
    }
}

/// The scheduler names the curator it knew; the card may have moved since
/// (a transfer), and the item follows the card.
fn note_stale_curator(citizen: &CitizenRow, named: &str, e: &Envelope) {
    let current = opt(citizen.curator_id);
    if !named.is_empty() && named != current {
        tracing::info!(event_id = %e.event_id, citizen_id = %citizen.id, named, current = %current,
            "event names a former curator; the item goes to the current one");
    }
}

/// scheduler's detectors → «пропуск (N дней)», «неактивный (N дней)»,
/// «без назначений (N дня)» (S0-90…S0-92), one item per episode.
struct DetectorRaised(Consumers);

impl Handler for DetectorRaised {
    fn handle<'a>(
        &'a self,
        tx: &'a mut PgConnection,
        envelope: &'a Envelope,
        _subject: &'a str,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let Some(Body::DetectorRaised(d)) = &envelope.body else { return Ok(()) };
            let Some((kind, days)) = ActivityKind::from_detector(&d.kind).and_then(|k| Some((k, k.threshold(d.days)?)))
            else {
                // A detector newer than this cases: nothing to show it as.
                tracing::warn!(event_id = %envelope.event_id, kind = %d.kind, "unknown detector kind; ignored");
                return Ok(());
            };
            let slug = tenant_slug(envelope)?;
            let Some(citizen) = citizen_of(tx, &d.citizen_id, envelope).await? else { return Ok(()) };
            note_stale_curator(&citizen, &d.curator_id, envelope);
            let now = self.0.clock.now();
            let created = record_activity(
                tx,
                &self.0.outbox,
                slug,
                now,
                NewActivity {
                    citizen: &citizen,
                    kind,
                    summary: domain::detector_summary(kind, days, &d.summary),
                    occurred_at: occurred_at(envelope, now),
                    file_id: None,
                    interaction_id: None,
                    source_event_id: envelope.event_id.parse().ok(),
                    days: Some(days),
                    source_ref: d.episode_id.parse().ok(),
                },
            )
            .await?;
            match created {
                Some(id) => tracing::info!(activity_id = %id, citizen_id = %citizen.id, kind = kind.as_str(),
                    "detector raised: activity created"),
                None => tracing::info!(episode_id = %d.episode_id, "detector episode already in the work queue"),
            }
            Ok(())
        })
    }
}

/// «Напоминание для соц. куратора» came due → «напоминания для соц.
/// куратора» (S0-94), dated by the reminder's own time; the mail copies to
/// the curator and the admin's copy address follow `activity_created` (S0-12).
struct CuratorReminderDue(Consumers);

impl Handler for CuratorReminderDue {
    fn handle<'a>(
        &'a self,
        tx: &'a mut PgConnection,
        envelope: &'a Envelope,
        _subject: &'a str,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let Some(Body::CuratorReminderDue(r)) = &envelope.body else { return Ok(()) };
            let slug = tenant_slug(envelope)?;
            let Some(citizen) = citizen_of(tx, &r.citizen_id, envelope).await? else { return Ok(()) };
            note_stale_curator(&citizen, &r.curator_id, envelope);
            let now = self.0.clock.now();
            let created = record_activity(
                tx,
                &self.0.outbox,
                slug,
                now,
                NewActivity {
                    citizen: &citizen,
                    kind: ActivityKind::CuratorReminder,
                    summary: s::curator_reminder_summary(&r.local_date, &r.local_time, &r.text),
                    occurred_at: opeka_platform::wire::from_ts(&r.due_at).unwrap_or_else(|| occurred_at(envelope, now)),
                    file_id: None,
                    interaction_id: None,
                    source_event_id: envelope.event_id.parse().ok(),
                    days: None,
                    source_ref: r.occurrence_id.parse().ok(),
                },
            )
            .await?;
            match created {
                Some(id) => {
                    tracing::info!(activity_id = %id, citizen_id = %citizen.id, "curator reminder: activity created")
                }
                None => tracing::info!(occurrence_id = %r.occurrence_id, "curator reminder already in the work queue"),
            }
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
