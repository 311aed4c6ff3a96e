//! What notifications consumes and publishes. Consumed: identity's account
//! mails (activation, password reset), cases' work-queue notices (mail
//! copies to the curator and the admin copy address, S0-9…S0-12, S0-87,
//! S0-88, S0-90…S0-94) plus the citizen → curator facts S0-89 needs, and
//! scheduler's `reminder_due` (queued for the citizen's chat, S0-57).
//! Published (through the outbox): `contact_requested` from the bot,
//! `message_delivered`.
use std::sync::Arc;

use futures::future::BoxFuture;
use opeka_platform::bus::{ConsumerSpec, Handler};
use opeka_proto::events::{Envelope, envelope::Body};
use sqlx::PgConnection;
use uuid::Uuid;

use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};

use crate::domain::{self, ReminderAnswer, ReminderKind};
use crate::mail::SmtpConfig;
use crate::templates::{self, ActivityKind, Mail};
use crate::{App, SERVICE, store, strings as s};

/// What the consumers read (the NATS permissions are written from it).
pub fn consumer_specs() -> Vec<ConsumerSpec> {
    vec![identity_consumer(), cases_consumer(), scheduler_consumer()]
}

pub fn identity_consumer() -> ConsumerSpec {
    ConsumerSpec::new(
        SERVICE,
        "notifications-identity",
        "identity",
        &["activation_requested", "password_reset_requested", "account_deleted"],
    )
}

pub fn cases_consumer() -> ConsumerSpec {
    ConsumerSpec::new(
        SERVICE,
        "notifications-cases",
        "cases",
        &["activity_created", "citizen_created", "citizen_updated", "citizens_transferred", "citizen_deleted"],
    )
}

pub fn scheduler_consumer() -> ConsumerSpec {
    ConsumerSpec::new(SERVICE, "notifications-scheduler", "scheduler", &["reminder_due"])
}

/// The delivery log's and `message_delivered`'s kind of a reminder.
pub const REMINDER: &str = "reminder";

/// Handles every consumer's events.
pub struct Events {
    app: Arc<App>,
}

impl Events {
    pub fn new(app: Arc<App>) -> Arc<Self> {
        Arc::new(Self { app })
    }
}

impl Handler for Events {
    fn handle<'a>(
        &'a self,
        tx: &'a mut PgConnection,
        envelope: &'a Envelope,
        _subject: &'a str,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let Some(body) = &envelope.body else { return Ok(()) };
            let ev = Event {
                tenant_id: envelope.tenant_id.parse()?,
                id: envelope.event_id.parse()?,
                // The subject carries the tenant id (checked against the
                // envelope by the consumer runner); links need the slug.
                slug: &envelope.tenant_slug,
            };
            self.on(tx, &ev, body).await
        })
    }
}

struct Event<'a> {
    tenant_id: Uuid,
    id: Uuid,
    slug: &'a str,
}

/// One mail to one address, tied to the event that caused it.
struct Letter<'a> {
    kind: &'a str,
    to: &'a str,
    to_name: &'a str,
    mail: &'a Mail,
}

/// A failure worth trying again later (the event is redelivered; what was
/// already sent is skipped by the delivery log).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Retry(String);

/// Associated data identity seals the activation token and the reset code
/// under (`opeka_identity::events`; kept in step by the mail tests).
const SEALED_ACTIVATION_TOKEN: &str = "activation_requested.token";
const SEALED_RESET_CODE: &str = "password_reset_requested.code";

impl Events {
    /// A secret identity sealed into the event for this tenant. One that
    /// does not open (another tenant's, another key) ends in the dead-letter
    /// subject after the retries, logged: a key that differs between identity
    /// and notifications is an operator's error to see, not a mail to guess.
    fn unseal(&self, ev: &Event<'_>, field: &str, sealed: &[u8]) -> anyhow::Result<String> {
        self.app.bus_seal.open(ev.tenant_id, field, sealed).map_err(|e| {
            tracing::error!(event_id = %ev.id, field, error = %e, "sealed secret does not open (OPEKA_BUS__SEAL_KEY differs?)");
            anyhow::anyhow!("{field}: {e}")
        })
    }

    async fn on(&self, tx: &mut PgConnection, ev: &Event<'_>, body: &Body) -> anyhow::Result<()> {
        let app = &self.app;
        let now = app.kit.now();
        let public = &app.settings.public_url;
        match body {
            Body::ActivationRequested(a) => {
                let token = self.unseal(ev, SEALED_ACTIVATION_TOKEN, &a.token_sealed)?;
                let mail = templates::activation(public, ev.slug, &a.full_name, &token, &a.expires_at);
                let letter = Letter { kind: "activation", to: &a.email, to_name: &a.full_name, mail: &mail };
                self.mail(tx, ev, letter).await?;
            }
            Body::PasswordResetRequested(r) => {
                let code = self.unseal(ev, SEALED_RESET_CODE, &r.code_sealed)?;
                let mail = templates::password_reset(public, ev.slug, &r.full_name, &r.login, &code, &r.expires_at);
                let letter = Letter { kind: "password_reset", to: &r.email, to_name: &r.full_name, mail: &mail };
                self.mail(tx, ev, letter).await?;
            }
            Body::AccountDeleted(d) => {
                if let Ok(id) = d.account_id.parse() {
                    store::unlink_citizen(tx, id).await?;
                }
            }
            Body::ActivityCreated(a) => self.activity_copies(tx, ev, a).await?,
            Body::ReminderDue(r) => self.reminder_due(tx, ev, r).await?,
            Body::CitizenCreated(c) => {
                if let (Ok(citizen), Ok(account)) = (c.citizen_id.parse(), c.account_id.parse()) {
                    let curator = c.curator_id.parse().ok();
                    store::upsert_citizen_curator(tx, ev.tenant_id, citizen, account, curator, now).await?;
                }
            }
            // Carries the current curator (empty: none any more).
            Body::CitizenUpdated(c) => {
                if let Ok(citizen) = c.citizen_id.parse::<Uuid>() {
                    store::set_curator_of(tx, &[citizen], c.curator_id.parse().ok(), now).await?;
                }
            }
            Body::CitizensTransferred(t) => {
                let ids: Vec<Uuid> = t.citizen_ids.iter().filter_map(|i| i.parse().ok()).collect();
                if let Ok(curator) = t.to_curator_id.parse::<Uuid>() {
                    store::set_curator_of(tx, &ids, Some(curator), now).await?;
                }
            }
            Body::CitizenDeleted(d) => {
                if let Ok(citizen) = d.citizen_id.parse()
                    && let Some(account) = store::delete_citizen_curator(tx, citizen).await?
                {
                    store::unlink_citizen(tx, account).await?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// S0-9…S0-11, S0-87, S0-88: the curator and the admin copy address get
    /// the notice. Every recipient is tried before a retry is asked for.
    async fn activity_copies(
        &self,
        tx: &mut PgConnection,
        ev: &Event<'_>,
        a: &opeka_proto::events::ActivityCreated,
    ) -> anyhow::Result<()> {
        let Some(kind) = ActivityKind::parse(&a.kind) else { return Ok(()) };
        let app = &self.app;
        let terms = app.clients.terms(&app.kit.pool, &app.secrets, ev.tenant_id, app.kit.now()).await;
        let mail = templates::activity_copy(
            &self.app.settings.public_url,
            ev.slug,
            &terms,
            kind,
            &a.citizen_full_name,
            &a.summary,
            &a.citizen_id,
        );
        let mut retry: Option<anyhow::Error> = None;
        if let Ok(curator) = a.curator_id.parse::<Uuid>() {
            match self.staff_address(ev.tenant_id, curator).await {
                Ok(Some((email, name))) => {
                    let letter = Letter { kind: "activity_copy", to: &email, to_name: &name, mail: &mail };
                    if let Err(e) = self.mail(tx, ev, letter).await {
                        retry = Some(e);
                    }
                }
                Ok(None) => tracing::info!(%curator, "curator has no e-mail address; no copy sent"),
                Err(e) => retry = Some(e),
            }
        }
        let settings = store::channel_settings(tx, ev.tenant_id).await?;
        if let Some(admin) = settings.and_then(|r| r.admin_copy_email) {
            let letter = Letter { kind: "activity_copy", to: &admin, to_name: "", mail: &mail };
            if let Err(e) = self.mail(tx, ev, letter).await {
                retry = retry.or(Some(e));
            }
        }
        match retry {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// S0-57, S0-63: the reminder goes to the chat the citizen's account is
    /// bound to, «<дата время> — <тип>: <текст>» with «Выполнено» /
    /// «Пропущено». It is only queued here (with this event's processed mark,
    /// before the ack); the bot's sender paces it out (`telegram::queue`). No
    /// chat or no bot: the delivery log says why, and it is not retried.
    async fn reminder_due(
        &self,
        tx: &mut PgConnection,
        ev: &Event<'_>,
        r: &opeka_proto::events::ReminderDue,
    ) -> anyhow::Result<()> {
        let app = &self.app;
        let now = app.kit.now();
        let (Ok(occurrence), Ok(account)) = (r.occurrence_id.parse::<Uuid>(), r.citizen_account_id.parse::<Uuid>())
        else {
            tracing::warn!(event_id = %ev.id, occurrence = %r.occurrence_id, "reminder_due without valid ids; dropped");
            return Ok(());
        };
        if store::already_handled(tx, REMINDER, &r.occurrence_id).await? {
            tracing::info!(event_id = %ev.id, %occurrence, "reminder already queued or delivered; not sent again");
            return Ok(());
        }
        let has_bot = store::channel_settings(tx, ev.tenant_id).await?.is_some_and(|c| c.bot_token_enc.is_some());
        let chat = store::chat_of_citizen(tx, account).await?;
        let chat = match (has_bot, chat) {
            (true, Some(chat)) => chat,
            (has_bot, _) => {
                let reason = if has_bot { s::BOT_NOT_ACTIVATED } else { s::BOT_NOT_CONFIGURED };
                let recipient = account.to_string();
                store::record_attempt(
                    tx,
                    store::Attempt {
                        tenant_id: ev.tenant_id,
                        channel: "telegram",
                        recipient: &recipient,
                        source_event_id: ev.id,
                        kind: REMINDER,
                        tries: 1,
                        outcome: Err(reason.into()),
                        at: now,
                        reference_id: Some(&r.occurrence_id),
                    },
                )
                .await?;
                tracing::info!(event_id = %ev.id, %occurrence, %reason, "reminder not sent");
                return Ok(());
            }
        };
        let terms = app.clients.terms(&app.kit.pool, &app.secrets, ev.tenant_id, now).await;
        let kind = s::reminder_kind(&terms, ReminderKind::from_event(&r.kind));
        let text: String = s::reminder(&r.local_date, &r.local_time, &kind, &r.text)
            .chars()
            .take(crate::domain::TELEGRAM_TEXT_LIMIT)
            .collect();
        let buttons = [ReminderAnswer::Done, ReminderAnswer::Skipped].map(|a| {
            InlineKeyboardButton::callback(s::reminder_answer_label(a), domain::reminder_callback(occurrence, a))
        });
        let markup = serde_json::to_value(InlineKeyboardMarkup::new([buttons]))?;
        let queued = store::enqueue_telegram(
            tx,
            store::NewQueued {
                tenant_id: ev.tenant_id,
                source_event_id: ev.id,
                kind: REMINDER,
                reference_id: &r.occurrence_id,
                citizen_account_id: account,
                chat_id: chat,
                body: &text,
                markup: Some(markup),
            },
            now,
        )
        .await?;
        tracing::debug!(event_id = %ev.id, %occurrence, queued, "reminder queued for telegram");
        Ok(())
    }

    /// A staff member's address and name, read from identity with the
    /// tenant's bot service account.
    async fn staff_address(&self, tenant_id: Uuid, account: Uuid) -> anyhow::Result<Option<(String, String)>> {
        let app = &self.app;
        let (token, slug) = match app.clients.service_token(&app.kit.pool, &app.secrets, tenant_id, app.kit.now()).await
        {
            Ok(t) => t,
            Err(opeka_platform::AppError::FailedPrecondition(m)) => {
                tracing::warn!(%tenant_id, "no service account to look up the curator: {m}");
                return Ok(None);
            }
            Err(e) => return Err(Retry(e.to_string()).into()),
        };
        match app.clients.staff_account(&token, &slug, account).await {
            Ok(Some(a)) if !a.email.is_empty() => {
                let name = [a.surname.as_str(), a.name.as_str(), a.patronymic.as_str()]
                    .iter()
                    .filter(|p| !p.is_empty())
                    .copied()
                    .collect::<Vec<_>>()
                    .join(" ");
                Ok(Some((a.email, name)))
            }
            Ok(_) => Ok(None),
            Err(st) => {
                if st.code() == tonic::Code::Unauthenticated {
                    app.clients.forget_token(tenant_id).await;
                }
                Err(Retry(format!("identity: {}", st.message())).into())
            }
        }
    }

    /// Sends `letter` unless the delivery log says it was sent for this event;
    /// records the attempt in its own transaction, so a later failure of the
    /// handler cannot lose the fact that this mail went out.
    async fn mail(&self, tx: &mut PgConnection, ev: &Event<'_>, letter: Letter<'_>) -> anyhow::Result<()> {
        let to = letter.to.trim();
        if to.is_empty() {
            return Ok(());
        }
        if store::delivery(tx, ev.id, "mail", to).await?.is_some_and(|d| d.status == "sent") {
            tracing::debug!(event_id = %ev.id, "mail already sent for this event");
            return Ok(());
        }
        let app = &self.app;
        let row = store::channel_settings(tx, ev.tenant_id).await?;
        let cfg = match row.as_ref().map(|r| SmtpConfig::from_row(r, &app.secrets)).transpose()? {
            Some(Some(cfg)) => Some(cfg),
            _ => None,
        };
        let outcome = match &cfg {
            None => Err(crate::mail::SendFailure { reason: s::SMTP_NOT_CONFIGURED.into(), retryable: false }),
            Some(cfg) => app.mailer.send(ev.tenant_id, cfg, to, letter.to_name, letter.mail).await,
        };
        let mut log = opeka_platform::db::tenant_tx(&app.kit.pool, ev.tenant_id).await?;
        store::record_attempt(
            &mut log,
            store::Attempt {
                tenant_id: ev.tenant_id,
                channel: "mail",
                recipient: to,
                source_event_id: ev.id,
                kind: letter.kind,
                tries: 1,
                outcome: outcome.as_ref().map(|_| ()).map_err(|f| f.reason.clone()),
                at: app.kit.now(),
                reference_id: None,
            },
        )
        .await?;
        log.commit().await?;
        match outcome {
            Ok(()) => {
                tracing::info!(event_id = %ev.id, kind = letter.kind, "mail sent");
                Ok(())
            }
            Err(f) if f.retryable => Err(Retry(f.reason).into()),
            Err(f) => {
                tracing::warn!(event_id = %ev.id, kind = letter.kind, reason = %f.reason, "mail not sent");
                Ok(())
            }
        }
    }
}
