//! gRPC handlers: decode, authorise, call the store, encode. Staff calls
//! (admin: any citizen of the tenant; curator: their own citizens) and the
//! bot's calls (AnswerOccurrence, ListUpcoming) are told apart here; every
//! query runs in the caller's tenant transaction (RLS).
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use opeka_platform::auth::{self, Principal};
use opeka_platform::error::{AppError, Violations};
use opeka_proto::scheduler::{self as pb, scheduler_service_server::SchedulerService};
use tonic::Request;
use uuid::Uuid;

use crate::State;
use crate::cases::Bearer;
use crate::convert::{self, opt_text};
use crate::domain::detectors::Detector;
use crate::domain::{self, Access, Answer, Kind, SeriesDraft, Status, TenantSettings};
use crate::store::occurrences::{self, ListFilter, OccurrenceEdit, OccurrenceView};
use crate::store::series::{self, SeriesRow};
use crate::store::{self, CitizenFacts, CitizenRow};
use crate::{events, plan, strings as s};

pub struct Api {
    st: Arc<State>,
}

impl Api {
    pub fn new(st: Arc<State>) -> Self {
        Self { st }
    }
}

/// Who may call.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Permission {
    /// An admin or a curator.
    Staff,
    Admin,
    /// The tenant's bot (a notifications service account).
    Bot,
}

/// The caller's standing and the tenant's settings, loaded with the call.
struct Standing {
    access: Access,
    tenant: TenantSettings,
    tenant_updated_at: Option<DateTime<Utc>>,
}

type Call = opeka_platform::call::Call<Standing>;

fn denied() -> AppError {
    AppError::PermissionDenied(s::PERMISSION_DENIED.into())
}

fn not_yours() -> AppError {
    AppError::PermissionDenied(s::NOT_YOUR_CITIZEN.into())
}

fn series_not_found() -> AppError {
    AppError::NotFound(s::SERIES_NOT_FOUND.into())
}

fn occurrence_not_found() -> AppError {
    AppError::NotFound(s::OCCURRENCE_NOT_FOUND.into())
}

fn citizen_not_found() -> AppError {
    AppError::NotFound(s::CITIZEN_NOT_FOUND.into())
}

impl Api {
    fn now(&self) -> DateTime<Utc> {
        self.st.kit.now()
    }

    fn horizon_end(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now + Duration::days(i64::from(self.st.settings.horizon_days))
    }

    /// Authenticates, checks the caller's role, opens the tenant
    /// transaction and loads the tenant's settings.
    async fn open<T>(&self, req: &Request<T>, need: Permission) -> Result<Call, AppError> {
        let principal = auth::principal(req)?;
        let access = Access::new(principal.account_id, &principal.roles);
        match need {
            Permission::Staff if !access.is_staff() => return Err(denied()),
            Permission::Admin if !access.admin => return Err(AppError::PermissionDenied(s::ONLY_ADMIN.into())),
            Permission::Bot if !access.bot => return Err(denied()),
            _ => {}
        }
        self.remember_tenant(&principal).await?;
        let mut call = self.st.kit.open_as(principal, Bearer::of(req.metadata()).ok()).await?;
        let row = store::tenant_settings(&mut call.tx).await?;
        let tenant = convert::tenant_settings(row.as_ref(), self.st.default_tz);
        Ok(call.with(Standing { access, tenant, tenant_updated_at: row.map(|r| r.updated_at) }))
    }

    /// The dispatcher walks `tenants`: a tenant is written there (with the
    /// slug its subjects use) the first time this process serves it.
    async fn remember_tenant(&self, principal: &Principal) -> Result<(), AppError> {
        if self.st.known_tenants.lock().map(|k| k.contains(&principal.tenant_id)).unwrap_or(false) {
            return Ok(());
        }
        let mut conn = self.st.kit.pool.acquire().await?;
        store::remember_tenant(&mut conn, principal.tenant_id, &principal.tenant_slug, self.now()).await?;
        if let Ok(mut k) = self.st.known_tenants.lock() {
            k.insert(principal.tenant_id);
        }
        Ok(())
    }

    /// A citizen the caller manages, from the projection (reads and changes
    /// of existing series: the projection has the row).
    async fn managed_citizen(&self, call: &mut Call, id: Uuid) -> Result<CitizenRow, AppError> {
        let c = store::citizen(&mut call.tx, call.principal.tenant_id, id).await?.ok_or_else(citizen_not_found)?;
        if !call.extra.access.may_manage(c.curator_id) {
            return Err(not_yours());
        }
        Ok(c)
    }

    /// The citizen a new (or re-kinded) series is for: from the projection,
    /// or from cases when the projection has not heard of the card or of its
    /// bot activation yet. Live, the caller's to manage, and — for anything
    /// that reaches the citizen — with the bot activated (S0-38).
    async fn citizen_for_series(
        &self,
        call: &mut Call,
        bearer: &Bearer,
        id: Uuid,
        needs_bot: bool,
    ) -> Result<CitizenRow, AppError> {
        let tenant = call.principal.tenant_id;
        let mut row = store::citizen(&mut call.tx, tenant, id).await?;
        let ask_cases = match &row {
            None => true,
            Some(c) => c.deleted_at.is_none() && needs_bot && !c.bot_linked,
        };
        if ask_cases {
            match self.st.cases.citizen(bearer, id).await? {
                Some(card) => {
                    let facts = CitizenFacts {
                        tenant_id: tenant,
                        citizen_id: card.id,
                        account_id: card.account_id,
                        curator_id: card.curator_id,
                        full_name: &card.full_name,
                        bot_linked: Some(card.bot_activated),
                        // The card's own time, not ours: events carry cases' clock.
                        at: card.as_of.unwrap_or_else(|| self.now()),
                    };
                    store::upsert_citizen(&mut call.tx, &facts).await?;
                    row = store::citizen(&mut call.tx, tenant, id).await?;
                }
                None if row.is_none() => return Err(citizen_not_found()),
                None => {}
            }
        }
        let c = row.ok_or_else(citizen_not_found)?;
        if c.deleted_at.is_some() {
            return Err(AppError::NotFound(s::CITIZEN_DELETED.into()));
        }
        if !call.extra.access.may_manage(c.curator_id) {
            return Err(not_yours());
        }
        if needs_bot && !c.bot_linked {
            return Err(AppError::FailedPrecondition(s::BOT_NOT_ACTIVATED.into()));
        }
        Ok(c)
    }

    /// The series as the caller sees it (a curator: only their citizens').
    async fn series_for(&self, call: &mut Call, id: Uuid, lock: bool) -> Result<(SeriesRow, CitizenRow), AppError> {
        let row = series::get_series(&mut call.tx, id, lock).await?.ok_or_else(series_not_found)?;
        let c = self.managed_citizen(call, row.citizen_id).await?;
        Ok((row, c))
    }

    /// Occurrences of the rule from `now` to the horizon; the series row
    /// records how far they go.
    async fn materialise(&self, call: &mut Call, id: Uuid, c: Uuid, d: &SeriesDraft) -> Result<(), AppError> {
        let now = self.now();
        let t = plan::Target {
            tenant_id: call.principal.tenant_id,
            series_id: id,
            citizen_id: c,
            kind: d.kind.as_str(),
            rule: &d.rule,
        };
        plan::materialise(&mut call.tx, &t, now, self.horizon_end(now), now).await?;
        Ok(())
    }

    async fn one_occurrence(&self, call: &mut Call, id: Uuid) -> Result<OccurrenceView, AppError> {
        occurrences::get(&mut call.tx, id, false).await?.ok_or_else(occurrence_not_found)
    }

    // ------------------------------------------------------------- series

    async fn create_series(&self, req: Request<pb::CreateSeriesRequest>) -> Result<pb::Series, AppError> {
        let mut call = self.open(&req, Permission::Staff).await?;
        let bearer = call.bearer()?.clone();
        let r = req.get_ref();
        let citizen_id = convert::id("citizen_id", &r.citizen_id)?;
        let draft = convert::series_draft(r.into(), call.extra.tenant.time_zone)?;
        let request_id = opt_text(&r.request_id);
        if let Some(rid) = request_id
            && let Some(existing) = series::series_by_request(&mut call.tx, rid).await?
        {
            let c = self.managed_citizen(&mut call, existing.citizen_id).await?;
            return Ok(convert::series_pb(&existing, c.curator_id));
        }
        let citizen = self.citizen_for_series(&mut call, &bearer, citizen_id, draft.kind.citizen_facing()).await?;
        let values = convert::series_values(&draft);
        let now = self.now();
        let id = Uuid::now_v7();
        let actor = call.actor();
        let horizon = self.horizon_end(now);
        let new = series::NewSeries {
            id,
            tenant_id: call.principal.tenant_id,
            citizen_id,
            values: &values,
            materialised_until: horizon,
            request_id,
            created_by: &actor,
            now,
        };
        let inserted = series::insert_series(&mut call.tx, &new).await?;
        if inserted.is_none() {
            // The same form, retried concurrently: the first one's series.
            let rid = request_id.unwrap_or_default();
            let existing = series::series_by_request(&mut call.tx, rid).await?.ok_or_else(series_not_found)?;
            return Ok(convert::series_pb(&existing, citizen.curator_id));
        }
        self.materialise(&mut call, id, citizen_id, &draft).await?;
        let details =
            serde_json::json!({ "citizen_id": citizen_id, "kind": draft.kind.as_str(), "rrule": values.rrule });
        call.audit("series.create", "series", id, details).await?;
        let row = series::get_series(&mut call.tx, id, false).await?.ok_or_else(series_not_found)?;
        call.commit().await?;
        tracing::info!(series_id = %id, citizen_id = %citizen_id, kind = draft.kind.as_str(), "reminder series created");
        Ok(convert::series_pb(&row, citizen.curator_id))
    }

    async fn get_series(&self, req: Request<pb::GetSeriesRequest>) -> Result<pb::Series, AppError> {
        let mut call = self.open(&req, Permission::Staff).await?;
        let id = convert::id("id", &req.get_ref().id)?;
        let (row, c) = self.series_for(&mut call, id, false).await?;
        Ok(convert::series_pb(&row, c.curator_id))
    }

    async fn update_series(&self, req: Request<pb::UpdateSeriesRequest>) -> Result<pb::Series, AppError> {
        let mut call = self.open(&req, Permission::Staff).await?;
        let bearer = call.bearer()?.clone();
        let r = req.get_ref();
        let id = convert::id("id", &r.id)?;
        let draft = convert::series_draft(r.into(), call.extra.tenant.time_zone)?;
        let (before, _) = self.series_for(&mut call, id, true).await?;
        let citizen =
            self.citizen_for_series(&mut call, &bearer, before.citizen_id, draft.kind.citizen_facing()).await?;
        let values = convert::series_values(&draft);
        let now = self.now();
        // S0-79: what has not happened yet is replaced; what was sent or
        // answered stays as it was.
        let dropped = occurrences::drop_pending_from(&mut call.tx, id, now).await?;
        occurrences::keep_text(&mut call.tx, id, &before.description).await?;
        series::update_series(&mut call.tx, id, &values, self.horizon_end(now), now).await?;
        self.materialise(&mut call, id, before.citizen_id, &draft).await?;
        let details = serde_json::json!({ "kind": draft.kind.as_str(), "rrule": values.rrule, "replaced": dropped });
        call.audit("series.update", "series", id, details).await?;
        let row = series::get_series(&mut call.tx, id, false).await?.ok_or_else(series_not_found)?;
        call.commit().await?;
        Ok(convert::series_pb(&row, citizen.curator_id))
    }

    async fn delete_series(&self, req: Request<pb::DeleteSeriesRequest>) -> Result<pb::DeleteSeriesResponse, AppError> {
        let mut call = self.open(&req, Permission::Staff).await?;
        let id = convert::id("id", &req.get_ref().id)?;
        self.series_for(&mut call, id, true).await?;
        let now = self.now();
        let actor = call.actor();
        // S0-80: planned ones go; sent and answered ones stay in history.
        series::soft_delete_series(&mut call.tx, id, &actor, now).await?;
        let cancelled = occurrences::cancel_pending(&mut call.tx, &[id], now).await?;
        call.audit("series.delete", "series", id, serde_json::json!({ "cancelled": cancelled })).await?;
        call.commit().await?;
        tracing::info!(series_id = %id, cancelled, "reminder series deleted");
        Ok(pb::DeleteSeriesResponse {})
    }

    async fn update_occurrence(&self, req: Request<pb::UpdateOccurrenceRequest>) -> Result<pb::Occurrence, AppError> {
        let mut call = self.open(&req, Permission::Staff).await?;
        let r = req.get_ref();
        let id = convert::id("id", &r.id)?;
        let o = occurrences::get(&mut call.tx, id, true).await?.ok_or_else(occurrence_not_found)?;
        let status = Status::parse(&o.status).unwrap_or(Status::Cancelled);
        if status == Status::Cancelled || o.series_deleted {
            return Err(occurrence_not_found());
        }
        if !call.extra.access.may_manage(o.curator_id) {
            return Err(not_yours());
        }
        if !matches!(status, Status::Planned | Status::Paused) {
            return Err(AppError::FailedPrecondition(s::ALREADY_SENT.into()));
        }
        let now = self.now();
        if r.cancel {
            occurrences::set_status(&mut call.tx, id, Status::Cancelled.as_str(), now).await?;
            call.audit("occurrence.cancel", "occurrence", id, serde_json::json!({})).await?;
        } else {
            let mut errs = Violations::new();
            let description = opt_text(&r.description).and_then(|d| errs.check("description", domain::description(d)));
            let day = opt_text(&r.local_date).and_then(|d| errs.check("local_date", domain::date(d)));
            let at = opt_text(&r.local_time).and_then(|t| errs.check("local_time", domain::time(t)));
            errs.into_result()?;
            let (due_at, local) = match (day, at) {
                (None, None) => (o.due_at, o.local_date.and_time(o.local_time)),
                (day, at) => {
                    let tz = domain::zone(&o.time_zone).map_err(|e| AppError::internal(anyhow::anyhow!(e)))?;
                    domain::local_instant(day.unwrap_or(o.local_date), at.unwrap_or(o.local_time), tz)
                }
            };
            if due_at != o.due_at && due_at < now {
                let field = if day.is_some() { "local_date" } else { "local_time" };
                return Err(AppError::invalid(field, s::MOVE_TO_PAST));
            }
            let status = if r.paused { Status::Paused } else { Status::Planned };
            let edit = OccurrenceEdit {
                description,
                due_at,
                local_date: local.date(),
                local_time: local.time(),
                status: status.as_str(),
            };
            occurrences::edit(&mut call.tx, id, &edit, now).await?;
            let details = serde_json::json!({ "paused": r.paused, "moved": due_at != o.due_at });
            call.audit("occurrence.update", "occurrence", id, details).await?;
        }
        let after = self.one_occurrence(&mut call, id).await?;
        call.commit().await?;
        Ok(convert::occurrence_pb(&after))
    }

    // ---------------------------------------------------------- calendars

    /// The curator a list is narrowed to: a curator's own citizens always;
    /// an admin's choice otherwise.
    fn list_curator(call: &Call, requested: Option<Uuid>) -> Option<Uuid> {
        call.extra.access.own_only().or(requested)
    }

    /// With a citizen named: the caller must manage them (if known at all).
    async fn check_listed_citizen(&self, call: &mut Call, citizen: Option<Uuid>) -> Result<(), AppError> {
        if let Some(id) = citizen
            && let Some(c) = store::citizen(&mut call.tx, call.principal.tenant_id, id).await?
            && !call.extra.access.may_manage(c.curator_id)
        {
            return Err(not_yours());
        }
        Ok(())
    }

    async fn list_occurrences(
        &self,
        req: Request<pb::ListOccurrencesRequest>,
    ) -> Result<pb::ListOccurrencesResponse, AppError> {
        let mut call = self.open(&req, Permission::Staff).await?;
        let r = req.get_ref();
        let mut errs = Violations::new();
        let citizen_id = convert::opt_id("citizen_id", &r.citizen_id, &mut errs);
        let curator_id = convert::opt_id("curator_id", &r.curator_id, &mut errs);
        let from = match opt_text(&r.from_date) {
            None => {
                errs.add("from_date", s::DATE_REQUIRED);
                None
            }
            Some(d) => errs.check("from_date", domain::date(d)),
        };
        let to = match opt_text(&r.to_date) {
            None => {
                errs.add("to_date", s::DATE_REQUIRED);
                None
            }
            Some(d) => errs.check("to_date", domain::date(d)),
        };
        if let (Some(f), Some(t)) = (from, to) {
            if t <= f {
                errs.add("to_date", s::PERIOD_REVERSED);
            } else if (t - f).num_days() > 400 {
                errs.add("to_date", s::PERIOD_TOO_LONG);
            }
        }
        errs.into_result()?;
        self.check_listed_citizen(&mut call, citizen_id).await?;
        let tz = call.extra.tenant.time_zone;
        let kinds = convert::kinds(&r.kinds);
        let filter = ListFilter {
            tenant_id: call.principal.tenant_id,
            citizen_id,
            curator_id: Self::list_curator(&call, curator_id),
            kinds: &kinds,
            from: from.map(|d| domain::start_of_day(d, tz)),
            to: to.map(|d| domain::start_of_day(d, tz)),
        };
        let rows = occurrences::calendar(&mut call.tx, &filter).await?;
        let (rows, next_page_token) = opeka_platform::paging::slice(rows, r.page_size, &r.page_token)?;
        Ok(pb::ListOccurrencesResponse {
            occurrences: rows.iter().map(convert::occurrence_pb).collect(),
            next_page_token,
        })
    }

    async fn list_deviations(
        &self,
        req: Request<pb::ListDeviationsRequest>,
    ) -> Result<pb::ListDeviationsResponse, AppError> {
        let mut call = self.open(&req, Permission::Staff).await?;
        let r = req.get_ref();
        let mut errs = Violations::new();
        let citizen_id = convert::opt_id("citizen_id", &r.citizen_id, &mut errs);
        let curator_id = convert::opt_id("curator_id", &r.curator_id, &mut errs);
        if r.hours > 8760 {
            errs.add("hours", s::HOURS_TOO_MANY);
        }
        errs.into_result()?;
        self.check_listed_citizen(&mut call, citizen_id).await?;
        // S0-46: the card's tab shows the whole history; S0-110: the
        // section shows the last 72 hours.
        let since = match (citizen_id, r.hours) {
            (Some(_), 0) => None,
            (_, 0) => Some(self.now() - Duration::hours(72)),
            (_, h) => Some(self.now() - Duration::hours(i64::from(h))),
        };
        let filter = ListFilter {
            tenant_id: call.principal.tenant_id,
            citizen_id,
            curator_id: Self::list_curator(&call, curator_id),
            kinds: &[],
            from: since,
            to: None,
        };
        let rows = occurrences::deviations(&mut call.tx, &filter).await?;
        let (rows, next_page_token) = opeka_platform::paging::slice(rows, r.page_size, &r.page_token)?;
        Ok(pb::ListDeviationsResponse {
            occurrences: rows.iter().map(convert::occurrence_pb).collect(),
            next_page_token,
        })
    }

    async fn get_slot_load(&self, req: Request<pb::GetSlotLoadRequest>) -> Result<pb::SlotLoad, AppError> {
        let mut call = self.open(&req, Permission::Staff).await?;
        let r = req.get_ref();
        let mut errs = Violations::new();
        let day = errs.check("local_date", domain::date(&r.local_date));
        let at = errs.check("local_time", domain::time(&r.local_time));
        let tz = match opt_text(&r.time_zone) {
            None => Some(call.extra.tenant.time_zone),
            Some(z) => errs.check("time_zone", domain::zone(z)),
        };
        errs.into_result()?;
        let (Some(day), Some(at), Some(tz)) = (day, at, tz) else {
            return Err(AppError::invalid("local_date", s::DATE_INVALID));
        };
        let slot = domain::local_instant(day, at, tz).0;
        let window = Duration::minutes(i64::from(call.extra.tenant.slot_window_minutes()));
        let reminders = occurrences::slot_load(&mut call.tx, call.principal.tenant_id, slot - window, slot).await?;
        let reminders = reminders.clamp(0, i64::from(u32::MAX)) as u32;
        let capacity = call.extra.tenant.slot_capacity();
        Ok(pb::SlotLoad {
            reminders,
            capacity,
            over_capacity: reminders.saturating_add(1) > capacity,
            send_ahead_minutes: call.extra.tenant.send_ahead_minutes,
            bot_rate_per_second: call.extra.tenant.bot_rate_per_second,
        })
    }

    // ---------------------------------------------------------------- bot

    async fn answer_occurrence(
        &self,
        req: Request<pb::AnswerOccurrenceRequest>,
    ) -> Result<pb::AnswerOccurrenceResponse, AppError> {
        let mut call = self.open(&req, Permission::Bot).await?;
        let r = req.get_ref();
        let mut errs = Violations::new();
        let id = errs.check("occurrence_id", r.occurrence_id.trim().parse::<Uuid>().map_err(|_| s::ID_INVALID.into()));
        let account = errs
            .check("citizen_account_id", r.citizen_account_id.trim().parse::<Uuid>().map_err(|_| s::ID_INVALID.into()));
        let answer = convert::answer(r.answer);
        if answer.is_none() {
            errs.add("answer", s::ANSWER_REQUIRED);
        }
        errs.into_result()?;
        let (Some(id), Some(account), Some(answer)) = (id, account, answer) else { return Err(denied()) };
        let gone = |o: Option<&OccurrenceView>| pb::AnswerOccurrenceResponse {
            outcome: pb::AnswerOutcome::Gone as i32,
            answer: pb::Answer::Unspecified as i32,
            occurrence: o.map(convert::occurrence_pb),
        };
        let Some(o) = occurrences::get(&mut call.tx, id, true).await? else { return Ok(gone(None)) };
        let owner = store::citizen_by_account(&mut call.tx, call.principal.tenant_id, account).await?;
        if owner.as_ref().map(|c| c.citizen_id) != Some(o.citizen_id) {
            return Err(denied());
        }
        let status = Status::parse(&o.status).unwrap_or(Status::Cancelled);
        if let Some(first) = status.answer() {
            return Ok(pb::AnswerOccurrenceResponse {
                outcome: pb::AnswerOutcome::AlreadyAnswered as i32,
                answer: convert::answer_pb(Some(first)) as i32,
                occurrence: Some(convert::occurrence_pb(&o)),
            });
        }
        if o.series_deleted || !status.answerable() || !Kind::parse(&o.kind).is_some_and(Kind::citizen_facing) {
            return Ok(gone(Some(&o)));
        }
        let now = self.now();
        occurrences::answer(&mut call.tx, id, answer.status().as_str(), now).await?;
        call.emit(events::reminder_answered(&o, answer)).await?;
        // An answer ends «неактивный»; «Выполнено» also ends «пропуск».
        let ends: &[&str] = match answer {
            Answer::Done => &[Detector::SilentDays.as_str(), Detector::SkippedDays.as_str()],
            Answer::Skipped => &[Detector::SilentDays.as_str()],
        };
        store::detectors::close_citizen_episodes(&mut call.tx, call.principal.tenant_id, o.citizen_id, ends, now)
            .await?;
        call.audit("occurrence.answer", "occurrence", id, serde_json::json!({ "answer": answer.as_str() })).await?;
        let after = self.one_occurrence(&mut call, id).await?;
        call.commit().await?;
        tracing::info!(occurrence_id = %id, answer = answer.as_str(), "reminder answered");
        Ok(pb::AnswerOccurrenceResponse {
            outcome: pb::AnswerOutcome::Recorded as i32,
            answer: convert::answer_pb(Some(answer)) as i32,
            occurrence: Some(convert::occurrence_pb(&after)),
        })
    }

    async fn list_upcoming(&self, req: Request<pb::ListUpcomingRequest>) -> Result<pb::ListUpcomingResponse, AppError> {
        let mut call = self.open(&req, Permission::Bot).await?;
        let r = req.get_ref();
        let account = convert::id("citizen_account_id", &r.citizen_account_id)?;
        let kind = convert::kind(r.kind);
        let days = match (r.days, kind) {
            (0, Some(_)) => 30,
            (d, _) if (1..=31).contains(&d) => d,
            _ => return Err(AppError::invalid("days", s::UPCOMING_DAYS)),
        };
        if kind == Some(Kind::CuratorNote) {
            return Ok(pb::ListUpcomingResponse::default());
        }
        let citizen = store::citizen_by_account(&mut call.tx, call.principal.tenant_id, account).await?;
        let Some(c) = citizen.filter(|c| c.deleted_at.is_none()) else {
            return Ok(pb::ListUpcomingResponse::default());
        };
        let now = self.now();
        let to = now + Duration::days(i64::from(days));
        let rows = occurrences::upcoming(
            &mut call.tx,
            call.principal.tenant_id,
            c.citizen_id,
            now,
            to,
            kind.map(Kind::as_str),
        )
        .await?;
        let (rows, next_page_token) = opeka_platform::paging::slice(rows, r.page_size, &r.page_token)?;
        Ok(pb::ListUpcomingResponse { occurrences: rows.iter().map(convert::occurrence_pb).collect(), next_page_token })
    }

    // ----------------------------------------------------------- settings

    async fn get_scheduler_settings(
        &self,
        req: Request<pb::GetSchedulerSettingsRequest>,
    ) -> Result<pb::SchedulerSettings, AppError> {
        let call = self.open(&req, Permission::Staff).await?;
        Ok(convert::settings_pb(&call.extra.tenant, call.extra.tenant_updated_at))
    }

    async fn update_scheduler_settings(
        &self,
        req: Request<pb::UpdateSchedulerSettingsRequest>,
    ) -> Result<pb::SchedulerSettings, AppError> {
        let mut call = self.open(&req, Permission::Admin).await?;
        let new = convert::settings_update(req.get_ref(), self.st.default_tz)?;
        let now = self.now();
        let actor = call.actor();
        store::save_tenant_settings(&mut call.tx, call.principal.tenant_id, &new, now, &actor).await?;
        let details = serde_json::json!({
            "time_zone": new.time_zone.name(),
            "send_ahead_minutes": new.send_ahead_minutes,
            "grace_minutes": new.grace_minutes,
            "skipped_days": new.skipped_days,
            "silent_days": new.silent_days,
            "no_assignments_days": new.no_assignments_days,
            "no_assignments_enabled": new.no_assignments_enabled,
            "bot_rate_per_second": new.bot_rate_per_second,
        });
        let tenant = call.principal.tenant_id;
        call.audit("settings.update", "tenant_settings", tenant, details).await?;
        call.commit().await?;
        Ok(convert::settings_pb(&new, Some(now)))
    }
}

opeka_platform::grpc_handlers!(SchedulerService for Api {
    create_series(pb::CreateSeriesRequest) -> pb::Series;
    get_series(pb::GetSeriesRequest) -> pb::Series;
    update_series(pb::UpdateSeriesRequest) -> pb::Series;
    delete_series(pb::DeleteSeriesRequest) -> pb::DeleteSeriesResponse;
    update_occurrence(pb::UpdateOccurrenceRequest) -> pb::Occurrence;
    list_occurrences(pb::ListOccurrencesRequest) -> pb::ListOccurrencesResponse;
    list_deviations(pb::ListDeviationsRequest) -> pb::ListDeviationsResponse;
    get_slot_load(pb::GetSlotLoadRequest) -> pb::SlotLoad;
    answer_occurrence(pb::AnswerOccurrenceRequest) -> pb::AnswerOccurrenceResponse;
    list_upcoming(pb::ListUpcomingRequest) -> pb::ListUpcomingResponse;
    get_scheduler_settings(pb::GetSchedulerSettingsRequest) -> pb::SchedulerSettings;
    update_scheduler_settings(pb::UpdateSchedulerSettingsRequest) -> pb::SchedulerSettings;
});
