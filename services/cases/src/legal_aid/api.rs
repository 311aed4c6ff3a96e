//! gRPC handlers of `opeka.cases.v1.LegalAidService`: decode, authorise
//! (`model::Caller`), call the store, encode. A record of a centre the
//! caller may not see answers NOT_FOUND; a role that may never act,
//! PERMISSION_DENIED. The public calls (ListResidenceOptions, AskQuestion,
//! ListPublishedQuestions) never ask for a principal: the tenant comes from
//! the slug in the request, as in identity's Login.
use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use opeka_platform::auth::{self, Principal};
use opeka_platform::db::{self, Tx};
use opeka_platform::error::{AppError, Violations};
use opeka_proto::cases::{self as pb, legal_aid_service_server::LegalAidService};
use opeka_proto::events::{self as ev, envelope::Body};
use opeka_proto::identity::OrganisationKind;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use super::model::{self, Caller, Page, QuestionStatus, RefKind, Refs};
use super::store::{self, CentreRow, ConsultationRow, QuestionRow, ReferralRow};
use super::{form, routing, text as t};
use crate::State;
use crate::convert::ts;
use crate::identity::Bearer;

type Res<T> = Result<Response<T>, Status>;

/// The actor of events a public call causes.
const ANONYMOUS: &str = "anonymous";

pub struct Api {
    st: Arc<State>,
}

impl Api {
    pub fn new(st: Arc<State>) -> Self {
        Self { st }
    }
}

/// An authenticated call with its tenant transaction open.
struct Call {
    p: Principal,
    caller: Caller,
    bearer: Bearer,
    tx: Tx,
}

impl Call {
    fn actor(&self) -> String {
        self.p.account_id.to_string()
    }
}

fn consultation_not_found() -> AppError {
    AppError::NotFound(t::CONSULTATION_NOT_FOUND.into())
}
fn referral_not_found() -> AppError {
    AppError::NotFound(t::REFERRAL_NOT_FOUND.into())
}
fn question_not_found() -> AppError {
    AppError::NotFound(t::QUESTION_NOT_FOUND.into())
}
fn stale() -> AppError {
    AppError::FailedPrecondition(t::STALE_VERSION.into())
}

type Centres = HashMap<Uuid, CentreRow>;

fn centre_name(centres: &Centres, id: Uuid) -> String {
    centres.get(&id).map(|c| c.name.clone()).unwrap_or_default()
}

fn centre_pb(c: &CentreRow) -> pb::LegalAidCentre {
    pb::LegalAidCentre {
        id: c.org_id.to_string(),
        name: c.name.clone(),
        address: c.address.clone(),
        phone: c.phone.clone(),
        email: c.email.clone(),
        head: c.head.clone(),
    }
}

fn opt_ts(t: Option<DateTime<Utc>>) -> Option<prost_types::Timestamp> {
    t.map(ts)
}

fn opt_uuid(v: Option<Uuid>) -> String {
    v.map(|u| u.to_string()).unwrap_or_default()
}

fn date_str(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn consultation_pb(c: &ConsultationRow, refs: &Refs, centres: &Centres) -> pb::Consultation {
    pb::Consultation {
        id: c.id.to_string(),
        centre_id: c.centre_id.to_string(),
        centre_name: centre_name(centres, c.centre_id),
        consultant_id: c.consultant_id.to_string(),
        input: Some(pb::ConsultationInput {
            full_name: c.full_name.clone(),
            age: Some(c.age),
            gender_code: c.gender_code.clone(),
            citizenship_code: c.citizenship_code.clone(),
            social_status_code: c.social_status_code.clone(),
            phone: c.phone.clone(),
            whatsapp: c.whatsapp.clone(),
            email: c.email.clone(),
            residence: Some(refs.residence(&c.region_code, &c.district_code, &c.city)),
            category_codes: c.category_codes.clone(),
            help_type_code: c.help_type_code.clone(),
            written_appeal: c.written_appeal,
            lawyer_provided: c.lawyer_provided,
            date: date_str(c.consulted_on),
        }),
        gender_name: refs.name(RefKind::Gender, &c.gender_code),
        citizenship_name: refs.name(RefKind::Citizenship, &c.citizenship_code),
        social_status_name: refs.name(RefKind::SocialStatus, &c.social_status_code),
        category_names: c.category_codes.iter().map(|code| refs.name(RefKind::Category, code)).collect(),
        help_type_name: refs.name(RefKind::HelpType, &c.help_type_code),
        version: c.version,
        created_at: Some(ts(c.created_at)),
        updated_at: Some(ts(c.updated_at)),
    }
}

fn referral_pb(r: &ReferralRow, centres: &Centres) -> pb::Referral {
    pb::Referral {
        id: r.id.to_string(),
        centre_id: r.centre_id.to_string(),
        centre_name: centre_name(centres, r.centre_id),
        consultant_id: r.consultant_id.to_string(),
        input: Some(pb::ReferralInput {
            consultation_id: opt_uuid(r.consultation_id),
            client_full_name: r.client_full_name.clone(),
            client_age: r.client_age,
            client_phone: r.client_phone.clone(),
            client_address: r.client_address.clone(),
            to_organisation: r.to_organisation.clone(),
            to_address: r.to_address.clone(),
            reason: r.reason.clone(),
            date: date_str(r.referred_on),
        }),
        form_text: r.form_text.clone(),
        form_edited: r.form_edited,
        centre: centres.get(&r.centre_id).map(centre_pb),
        version: r.version,
        created_at: Some(ts(r.created_at)),
        updated_at: Some(ts(r.updated_at)),
    }
}

fn question_pb(q: &QuestionRow, refs: &Refs, centres: &Centres) -> pb::OnlineQuestion {
    pb::OnlineQuestion {
        id: q.id.to_string(),
        centre_id: q.centre_id.to_string(),
        centre_name: centre_name(centres, q.centre_id),
        asker_name: q.asker_name.clone(),
        contact_email: q.contact_email.clone(),
        contact_phone: q.contact_phone.clone(),
        residence: Some(refs.residence(&q.region_code, &q.district_code, &q.city)),
        text: q.question.clone(),
        status: q.status().to_pb() as i32,
        fallback: q.fallback,
        answer: q.answer.clone(),
        answered_by: opt_uuid(q.answered_by),
        answered_at: opt_ts(q.answered_at),
        moderation_comment: q.moderation_comment.clone(),
        moderated_by: opt_uuid(q.moderated_by),
        moderated_at: opt_ts(q.moderated_at),
        asked_at: Some(ts(q.asked_at)),
    }
}

fn published_pb(q: &QuestionRow, refs: &Refs, centres: &Centres) -> pb::PublishedQuestion {
    pb::PublishedQuestion {
        id: q.id.to_string(),
        text: q.question.clone(),
        answer: q.answer.clone(),
        centre_name: centre_name(centres, q.centre_id),
        region_name: refs.name(RefKind::Region, &q.region_code),
        asked_at: Some(ts(q.asked_at)),
        published_at: opt_ts(q.published_at),
    }
}

/// The client fields a referral takes from the consultation it follows.
fn prefill_from(c: &ConsultationRow, refs: &Refs) -> model::ReferralDraft {
    model::ReferralDraft {
        consultation_id: Some(c.id),
        client_full_name: c.full_name.clone(),
        client_age: Some(c.age),
        client_phone: c.phone.clone(),
        client_address: refs.residence_line(&c.region_code, &c.district_code, &c.city),
        to_organisation: String::new(),
        to_address: String::new(),
        reason: String::new(),
        date: c.consulted_on,
    }
}

impl Api {
    fn now(&self) -> DateTime<Utc> {
        self.st.clock.now()
    }

    /// Authenticates (any staff member), opens the tenant transaction and,
    /// on the tenant's first legal-aid call, records its slug and fills in
    /// the default reference lists.
    async fn open<T>(&self, req: &Request<T>) -> Result<Call, AppError> {
        let p = auth::principal(req)?;
        let caller = Caller::of(&p);
        caller.check_staff()?;
        let bearer = Bearer::of(req.metadata())?;
        let mut tx = db::tenant_tx(&self.st.pool, p.tenant_id).await?;
        if store::ensure_tenant(&mut tx, p.tenant_id, &p.tenant_slug, self.now()).await? {
            store::insert_default_refs(&mut tx, p.tenant_id, t::DEFAULT_REFS, self.now()).await?;
        }
        Ok(Call { p, caller, bearer, tx })
    }

    /// A public call: the tenant named by `slug`, with its transaction.
    async fn open_public(&self, slug: &str) -> Result<(Uuid, String, Tx), AppError> {
        let slug = slug.trim();
        let unknown = || AppError::NotFound(t::TENANT_UNKNOWN.into());
        if slug.is_empty() {
            return Err(unknown());
        }
        let mut conn = self.st.pool.acquire().await?;
        let id = store::tenant_by_slug(&mut conn, slug).await?.ok_or_else(unknown)?;
        drop(conn);
        let tx = db::tenant_tx(&self.st.pool, id).await?;
        Ok((id, slug.to_string(), tx))
    }

    /// Today in the tenant's time zone (records default to it).
    async fn today(&self, tx: &mut Tx) -> Result<NaiveDate, AppError> {
        let row = crate::store::tenant_settings(tx).await?;
        let tz = crate::convert::tenant_settings(row.as_ref(), self.st.default_tz).time_zone;
        Ok(crate::domain::period::local_today(self.now(), tz))
    }

    async fn emit(&self, tx: &mut Tx, tenant: (Uuid, &str), actor: &str, body: Body) -> Result<(), AppError> {
        let env = opeka_platform::bus::envelope(tenant.0, actor, self.now(), body);
        self.st.outbox.enqueue(tx, tenant.1, &env).await?;
        Ok(())
    }

    async fn emit_consultation(&self, call: &mut Call, c: &ConsultationRow, change: &str) -> Result<(), AppError> {
        let body = Body::ConsultationRecorded(ev::ConsultationRecorded {
            consultation_id: c.id.to_string(),
            centre_id: c.centre_id.to_string(),
            change: change.into(),
        });
        let actor = call.actor();
        let slug = call.p.tenant_slug.clone();
        self.emit(&mut call.tx, (call.p.tenant_id, &slug), &actor, body).await
    }

    async fn refs(&self, tx: &mut Tx, tenant: Uuid) -> Result<Refs, AppError> {
        Ok(Refs::new(store::refs(tx, tenant).await?))
    }

    async fn centres(&self, tx: &mut Tx, tenant: Uuid) -> Result<Centres, AppError> {
        Ok(store::centres(tx, tenant).await?.into_iter().map(|c| (c.org_id, c)).collect())
    }

    /// Refreshes the copies of the tenant's centres from identity.
    async fn sync_centres(&self, call: &mut Call) -> Result<(), AppError> {
        let orgs = self.st.identity.organisations(&call.bearer, OrganisationKind::LegalAidCentre).await?;
        let list: Vec<(Uuid, String)> = orgs.into_iter().filter_map(|o| Some((o.id.parse().ok()?, o.name))).collect();
        store::upsert_centre_names(&mut call.tx, call.p.tenant_id, &list, self.now()).await?;
        Ok(())
    }

    /// A legal-aid centre of the tenant (asking identity about one not seen yet).
    async fn find_centre(&self, call: &mut Call, id: Uuid) -> Result<Option<CentreRow>, AppError> {
        if let Some(c) = store::centre(&mut call.tx, call.p.tenant_id, id).await? {
            return Ok(Some(c));
        }
        self.sync_centres(call).await?;
        store::centre(&mut call.tx, call.p.tenant_id, id).await
    }

    /// The centre a record goes to: a consultant's own (their organisation
    /// must be a legal-aid centre), or the one an admin named in `field`.
    async fn record_centre(&self, call: &mut Call, id: Uuid, field: &str) -> Result<CentreRow, AppError> {
        match self.find_centre(call, id).await? {
            Some(c) => Ok(c),
            None if call.caller.admin => Err(AppError::invalid(field, t::CENTRE_UNKNOWN)),
            None => Err(AppError::PermissionDenied(t::NO_CENTRE.into())),
        }
    }

    /// A live consultation the caller may see.
    async fn visible_consultation(&self, call: &mut Call, id: Uuid, lock: bool) -> Result<ConsultationRow, AppError> {
        let scope = call.caller.records()?;
        let row = store::consultation(&mut call.tx, id, lock).await?.ok_or_else(consultation_not_found)?;
        if scope.covers(row.centre_id) { Ok(row) } else { Err(consultation_not_found()) }
    }

    async fn visible_referral(&self, call: &mut Call, id: Uuid, lock: bool) -> Result<ReferralRow, AppError> {
        let scope = call.caller.records()?;
        let row = store::referral(&mut call.tx, id, lock).await?.ok_or_else(referral_not_found)?;
        if scope.covers(row.centre_id) { Ok(row) } else { Err(referral_not_found()) }
    }

    async fn visible_question(&self, call: &mut Call, id: Uuid, lock: bool) -> Result<QuestionRow, AppError> {
        let scope = call.caller.questions()?;
        let row = store::question(&mut call.tx, id, lock).await?.ok_or_else(question_not_found)?;
        if scope.covers(row.centre_id) { Ok(row) } else { Err(question_not_found()) }
    }

    async fn consultation_view(&self, call: &mut Call, c: &ConsultationRow) -> Result<pb::Consultation, AppError> {
        let refs = self.refs(&mut call.tx, call.p.tenant_id).await?;
        let centres = self.centres(&mut call.tx, call.p.tenant_id).await?;
        Ok(consultation_pb(c, &refs, &centres))
    }

    async fn referral_view(&self, call: &mut Call, id: Uuid) -> Result<pb::Referral, AppError> {
        let row = store::referral(&mut call.tx, id, false).await?.ok_or_else(referral_not_found)?;
        let centres = self.centres(&mut call.tx, call.p.tenant_id).await?;
        Ok(referral_pb(&row, &centres))
    }

    async fn question_view(&self, call: &mut Call, id: Uuid) -> Result<pb::OnlineQuestion, AppError> {
        let row = store::question(&mut call.tx, id, false).await?.ok_or_else(question_not_found)?;
        let refs = self.refs(&mut call.tx, call.p.tenant_id).await?;
        let centres = self.centres(&mut call.tx, call.p.tenant_id).await?;
        Ok(question_pb(&row, &refs, &centres))
    }

    /// The client fields of the consultation a referral follows (of the
    /// referral's centre), or a violation of `consultation_id`.
    async fn referral_prefill(
        &self,
        call: &mut Call,
        input: &pb::ReferralInput,
        centre: Uuid,
    ) -> Result<Option<model::ReferralDraft>, AppError> {
        let mut errs = Violations::new();
        let id = model::opt_id("consultation_id", &input.consultation_id, &mut errs);
        errs.into_result()?;
        let Some(id) = id else { return Ok(None) };
        let row = store::consultation(&mut call.tx, id, false).await?;
        let Some(c) = row.filter(|c| c.centre_id == centre) else {
            return Err(AppError::invalid("consultation_id", t::CONSULTATION_UNKNOWN));
        };
        let refs = self.refs(&mut call.tx, call.p.tenant_id).await?;
        Ok(Some(prefill_from(&c, &refs)))
    }

    /// The district's route as the routing page shows it.
    fn route_pb(district: &str, centre: Option<Uuid>, refs: &Refs, centres: &Centres) -> pb::DistrictRoute {
        let region = refs.get(RefKind::District, district).map(|d| d.parent_code.clone()).unwrap_or_default();
        pb::DistrictRoute {
            district_code: district.to_string(),
            district_name: refs.name(RefKind::District, district),
            region_name: refs.name(RefKind::Region, &region),
            region_code: region,
            centre_id: opt_uuid(centre),
            centre_name: centre.map(|c| centre_name(centres, c)).unwrap_or_default(),
        }
    }
}

fn commit_err(e: sqlx::Error) -> AppError {
    AppError::from(e)
}

#[tonic::async_trait]
impl LegalAidService for Api {
    // ------------------------------------------------------- consultations

    async fn create_consultation(&self, req: Request<pb::CreateConsultationRequest>) -> Res<pb::Consultation> {
        let mut call = self.open(&req).await?;
        let r = req.into_inner();
        let request_id = model::id("request_id", &r.request_id)?;
        let mut errs = Violations::new();
        let requested = model::opt_id("centre_id", &r.centre_id, &mut errs);
        errs.into_result()?;
        let centre_id = call.caller.centre_for_new(requested)?;
        // A retry of a create that went through returns its record.
        if let Some(done) = store::consultation_by_request(&mut call.tx, call.p.tenant_id, request_id).await? {
            return Ok(Response::new(self.consultation_view(&mut call, &done).await?));
        }
        let refs = self.refs(&mut call.tx, call.p.tenant_id).await?;
        let today = self.today(&mut call.tx).await?;
        let draft = model::consultation_draft(&r.input.unwrap_or_default(), &refs, today)?;
        self.record_centre(&mut call, centre_id, "centre_id").await?;
        let new = store::NewConsultation {
            id: Uuid::now_v7(),
            tenant_id: call.p.tenant_id,
            request_id,
            centre_id,
            consultant_id: call.p.account_id,
            draft: &draft,
            now: self.now(),
        };
        let inserted = store::insert_consultation(&mut call.tx, &new).await?;
        let row = store::consultation_by_request(&mut call.tx, call.p.tenant_id, request_id)
            .await?
            .ok_or_else(consultation_not_found)?;
        if inserted {
            self.emit_consultation(&mut call, &row, "created").await?;
        }
        let view = self.consultation_view(&mut call, &row).await?;
        call.tx.commit().await.map_err(commit_err)?;
        if inserted {
            tracing::info!(consultation_id = %row.id, centre_id = %row.centre_id, "consultation recorded");
        }
        Ok(Response::new(view))
    }

    async fn get_consultation(&self, req: Request<pb::GetConsultationRequest>) -> Res<pb::Consultation> {
        let mut call = self.open(&req).await?;
        let id = model::id("id", &req.get_ref().id)?;
        let row = self.visible_consultation(&mut call, id, false).await?;
        Ok(Response::new(self.consultation_view(&mut call, &row).await?))
    }

    async fn update_consultation(&self, req: Request<pb::UpdateConsultationRequest>) -> Res<pb::Consultation> {
        let mut call = self.open(&req).await?;
        let r = req.into_inner();
        let id = model::id("id", &r.id)?;
        let row = self.visible_consultation(&mut call, id, true).await?;
        let mut errs = Violations::new();
        let requested = model::opt_id("centre_id", &r.centre_id, &mut errs);
        errs.into_result()?;
        let centre_id = match requested {
            Some(c) if c != row.centre_id => call.caller.centre_for_new(Some(c))?,
            _ => row.centre_id,
        };
        let refs = self.refs(&mut call.tx, call.p.tenant_id).await?;
        let today = self.today(&mut call.tx).await?;
        let draft = model::consultation_draft(&r.input.unwrap_or_default(), &refs, today)?;
        if centre_id != row.centre_id {
            self.record_centre(&mut call, centre_id, "centre_id").await?;
        }
        if r.version != row.version
            || !store::update_consultation(&mut call.tx, id, r.version, centre_id, &draft, self.now()).await?
        {
            return Err(stale().into());
        }
        let row = store::consultation(&mut call.tx, id, false).await?.ok_or_else(consultation_not_found)?;
        self.emit_consultation(&mut call, &row, "updated").await?;
        let view = self.consultation_view(&mut call, &row).await?;
        call.tx.commit().await.map_err(commit_err)?;
        Ok(Response::new(view))
    }

    async fn delete_consultation(
        &self,
        req: Request<pb::DeleteConsultationRequest>,
    ) -> Res<pb::DeleteConsultationResponse> {
        let mut call = self.open(&req).await?;
        let id = model::id("id", &req.get_ref().id)?;
        let row = self.visible_consultation(&mut call, id, true).await?;
        store::delete_consultation(&mut call.tx, id, self.now()).await?;
        self.emit_consultation(&mut call, &row, "deleted").await?;
        call.tx.commit().await.map_err(commit_err)?;
        tracing::info!(consultation_id = %id, "consultation deleted");
        Ok(Response::new(pb::DeleteConsultationResponse {}))
    }

    async fn list_consultations(
        &self,
        req: Request<pb::ListConsultationsRequest>,
    ) -> Res<pb::ListConsultationsResponse> {
        let mut call = self.open(&req).await?;
        let r = req.get_ref();
        let scope = call.caller.records()?;
        let mut filter = model::consultation_filter(r)?;
        filter.centre = scope.narrow(filter.centre);
        let sort = model::consultation_sort(r.sort, r.descending);
        let page = Page::new(opeka_platform::paging::page_number(r.page, &r.page_token)?, r.page_size, 20, 200);
        let (rows, total) = store::list_consultations(&mut call.tx, call.p.tenant_id, &filter, sort, page).await?;
        let refs = self.refs(&mut call.tx, call.p.tenant_id).await?;
        let centres = self.centres(&mut call.tx, call.p.tenant_id).await?;
        Ok(Response::new(pb::ListConsultationsResponse {
            consultations: rows.iter().map(|c| consultation_pb(c, &refs, &centres)).collect(),
            total_size: total,
            page: page.number,
            page_count: page.count(total),
            next_page_token: opeka_platform::paging::next_page(page.number, page.size, total),
        }))
    }

    // ---------------------------------------------------------- references

    async fn list_legal_aid_refs(
        &self,
        req: Request<pb::ListLegalAidRefsRequest>,
    ) -> Res<pb::ListLegalAidRefsResponse> {
        let mut call = self.open(&req).await?;
        let r = req.get_ref();
        let kind = RefKind::from_pb(r.kind);
        let refs = store::refs(&mut call.tx, call.p.tenant_id).await?;
        let refs = refs
            .iter()
            .filter(|e| kind.is_none_or(|k| e.kind == k) && (r.include_archived || !e.archived))
            .map(|e| e.to_pb())
            .collect();
        let (refs, next_page_token) = opeka_platform::paging::slice(refs, r.page_size, &r.page_token)?;
        Ok(Response::new(pb::ListLegalAidRefsResponse { refs, next_page_token }))
    }

    async fn upsert_legal_aid_ref(&self, req: Request<pb::UpsertLegalAidRefRequest>) -> Res<pb::LegalAidRef> {
        let mut call = self.open(&req).await?;
        call.caller.check_admin()?;
        let refs = self.refs(&mut call.tx, call.p.tenant_id).await?;
        let draft = model::ref_draft(req.get_ref(), &refs)?;
        let code = draft.code.clone().unwrap_or_else(|| Uuid::now_v7().simple().to_string());
        store::upsert_ref(&mut call.tx, call.p.tenant_id, &code, &draft, self.now()).await?;
        call.tx.commit().await.map_err(commit_err)?;
        Ok(Response::new(
            model::RefEntry {
                kind: draft.kind,
                code,
                name: draft.name,
                parent_code: draft.parent_code,
                archived: draft.archived,
            }
            .to_pb(),
        ))
    }

    // ------------------------------------------------------------- centres

    async fn list_legal_aid_centres(
        &self,
        req: Request<pb::ListLegalAidCentresRequest>,
    ) -> Res<pb::ListLegalAidCentresResponse> {
        let mut call = self.open(&req).await?;
        self.sync_centres(&mut call).await?;
        let centres = store::centres(&mut call.tx, call.p.tenant_id).await?;
        call.tx.commit().await.map_err(commit_err)?;
        let (centres, next_page_token) =
            opeka_platform::paging::slice(centres, req.get_ref().page_size, &req.get_ref().page_token)?;
        Ok(Response::new(pb::ListLegalAidCentresResponse {
            centres: centres.iter().map(centre_pb).collect(),
            next_page_token,
        }))
    }

    async fn get_legal_aid_centre(&self, req: Request<pb::GetLegalAidCentreRequest>) -> Res<pb::LegalAidCentre> {
        let mut call = self.open(&req).await?;
        let id = match req.get_ref().id.trim() {
            "" => call.caller.centre.ok_or_else(|| AppError::invalid("id", t::CENTRE_REQUIRED))?,
            v => model::id("id", v)?,
        };
        let c = self.find_centre(&mut call, id).await?.ok_or_else(|| AppError::NotFound(t::CENTRE_NOT_FOUND.into()))?;
        call.tx.commit().await.map_err(commit_err)?;
        Ok(Response::new(centre_pb(&c)))
    }

    async fn update_legal_aid_centre(&self, req: Request<pb::UpdateLegalAidCentreRequest>) -> Res<pb::LegalAidCentre> {
        let mut call = self.open(&req).await?;
        call.caller.check_admin()?;
        let r = req.into_inner();
        let id = model::id("id", &r.id)?;
        let details = model::centre_details(&r)?;
        self.find_centre(&mut call, id).await?.ok_or_else(|| AppError::NotFound(t::CENTRE_NOT_FOUND.into()))?;
        store::update_centre(&mut call.tx, call.p.tenant_id, id, &details, self.now()).await?;
        let c = store::centre(&mut call.tx, call.p.tenant_id, id)
            .await?
            .ok_or_else(|| AppError::NotFound(t::CENTRE_NOT_FOUND.into()))?;
        call.tx.commit().await.map_err(commit_err)?;
        Ok(Response::new(centre_pb(&c)))
    }

    // ----------------------------------------------------------- referrals

    async fn create_referral(&self, req: Request<pb::CreateReferralRequest>) -> Res<pb::Referral> {
        let mut call = self.open(&req).await?;
        let r = req.into_inner();
        let request_id = model::id("request_id", &r.request_id)?;
        let mut errs = Violations::new();
        let requested = model::opt_id("centre_id", &r.centre_id, &mut errs);
        errs.into_result()?;
        let centre_id = call.caller.centre_for_new(requested)?;
        if let Some(done) = store::referral_by_request(&mut call.tx, call.p.tenant_id, request_id).await? {
            return Ok(Response::new(self.referral_view(&mut call, done.id).await?));
        }
        let input = r.input.unwrap_or_default();
        let prefill = self.referral_prefill(&mut call, &input, centre_id).await?;
        let today = self.today(&mut call.tx).await?;
        let draft = model::referral_draft(&input, prefill.as_ref(), today)?;
        let centre = self.record_centre(&mut call, centre_id, "centre_id").await?;
        let form_text = form::referral_form(&centre.name, &centre.details(), &draft);
        let new = store::NewReferral {
            id: Uuid::now_v7(),
            tenant_id: call.p.tenant_id,
            request_id,
            centre_id,
            consultant_id: call.p.account_id,
            draft: &draft,
            form_text: &form_text,
            now: self.now(),
        };
        store::insert_referral(&mut call.tx, &new).await?;
        let row = store::referral_by_request(&mut call.tx, call.p.tenant_id, request_id)
            .await?
            .ok_or_else(referral_not_found)?;
        let view = self.referral_view(&mut call, row.id).await?;
        call.tx.commit().await.map_err(commit_err)?;
        Ok(Response::new(view))
    }

    async fn get_referral(&self, req: Request<pb::GetReferralRequest>) -> Res<pb::Referral> {
        let mut call = self.open(&req).await?;
        let id = model::id("id", &req.get_ref().id)?;
        self.visible_referral(&mut call, id, false).await?;
        Ok(Response::new(self.referral_view(&mut call, id).await?))
    }

    async fn update_referral(&self, req: Request<pb::UpdateReferralRequest>) -> Res<pb::Referral> {
        let mut call = self.open(&req).await?;
        let r = req.into_inner();
        let id = model::id("id", &r.id)?;
        let row = self.visible_referral(&mut call, id, true).await?;
        let input = r.input.unwrap_or_default();
        let prefill = self.referral_prefill(&mut call, &input, row.centre_id).await?;
        let today = self.today(&mut call.tx).await?;
        let draft = model::referral_draft(&input, prefill.as_ref(), today)?;
        // A form edited by hand is the consultant's; only a generated one follows the referral.
        let form_text = if row.form_edited {
            row.form_text.clone()
        } else {
            let centre = self.record_centre(&mut call, row.centre_id, "centre_id").await?;
            form::referral_form(&centre.name, &centre.details(), &draft)
        };
        if r.version != row.version
            || !store::update_referral(&mut call.tx, id, r.version, &draft, &form_text, self.now()).await?
        {
            return Err(stale().into());
        }
        let view = self.referral_view(&mut call, id).await?;
        call.tx.commit().await.map_err(commit_err)?;
        Ok(Response::new(view))
    }

    async fn update_referral_form(&self, req: Request<pb::UpdateReferralFormRequest>) -> Res<pb::Referral> {
        let mut call = self.open(&req).await?;
        let r = req.into_inner();
        let id = model::id("id", &r.id)?;
        let row = self.visible_referral(&mut call, id, true).await?;
        let (text, edited) = match model::form_text(&r.form_text)? {
            v if v.is_empty() => {
                let centre = self.record_centre(&mut call, row.centre_id, "centre_id").await?;
                (form::referral_form(&centre.name, &centre.details(), &row.draft()), false)
            }
            v => (v, true),
        };
        if r.version != row.version
            || !store::update_referral_form(&mut call.tx, id, r.version, &text, edited, self.now()).await?
        {
            return Err(stale().into());
        }
        let view = self.referral_view(&mut call, id).await?;
        call.tx.commit().await.map_err(commit_err)?;
        Ok(Response::new(view))
    }

    async fn delete_referral(&self, req: Request<pb::DeleteReferralRequest>) -> Res<pb::DeleteReferralResponse> {
        let mut call = self.open(&req).await?;
        let id = model::id("id", &req.get_ref().id)?;
        self.visible_referral(&mut call, id, true).await?;
        store::delete_referral(&mut call.tx, id, self.now()).await?;
        call.tx.commit().await.map_err(commit_err)?;
        Ok(Response::new(pb::DeleteReferralResponse {}))
    }

    async fn list_referrals(&self, req: Request<pb::ListReferralsRequest>) -> Res<pb::ListReferralsResponse> {
        let mut call = self.open(&req).await?;
        let r = req.get_ref();
        let scope = call.caller.records()?;
        let mut errs = Violations::new();
        let date_from = model::filter_date("date_from", &r.date_from, &mut errs);
        let date_to = model::filter_date("date_to", &r.date_to, &mut errs);
        let centre = model::opt_id("centre_id", &r.centre_id, &mut errs);
        if let (Some(a), Some(b)) = (date_from, date_to)
            && a > b
        {
            errs.add("date_to", t::PERIOD_ORDER);
        }
        errs.into_result()?;
        let filter = store::ReferralFilter { centre: scope.narrow(centre), date_from, date_to };
        let page = Page::new(opeka_platform::paging::page_number(r.page, &r.page_token)?, r.page_size, 20, 200);
        let (rows, total) = store::list_referrals(&mut call.tx, call.p.tenant_id, &filter, page).await?;
        let centres = self.centres(&mut call.tx, call.p.tenant_id).await?;
        Ok(Response::new(pb::ListReferralsResponse {
            referrals: rows.iter().map(|x| referral_pb(x, &centres)).collect(),
            total_size: total,
            page: page.number,
            page_count: page.count(total),
            next_page_token: opeka_platform::paging::next_page(page.number, page.size, total),
        }))
    }

    // ---------------------------------------------------- online questions

    async fn list_residence_options(
        &self,
        req: Request<pb::ListResidenceOptionsRequest>,
    ) -> Res<pb::ListResidenceOptionsResponse> {
        let (tenant, _, mut tx) = self.open_public(&req.get_ref().tenant).await?;
        let refs = store::refs(&mut tx, tenant).await?;
        let live = |k: RefKind| refs.iter().filter(|e| e.kind == k && !e.archived).map(|e| e.to_pb()).collect();
        let accepting = store::fallback_centre(&mut tx, tenant).await?.is_some();
        Ok(Response::new(pb::ListResidenceOptionsResponse {
            regions: live(RefKind::Region),
            districts: live(RefKind::District),
            accepting_questions: accepting,
        }))
    }

    async fn ask_question(&self, req: Request<pb::AskQuestionRequest>) -> Res<pb::AskQuestionResponse> {
        // Public: bounded per client address (issue 9, point 10).
        if let Some(ip) = opeka_platform::throttle::client_addr(&req) {
            let key = opeka_platform::throttle::address_key(ip);
            self.st.ask_throttle.check(&key, t::TOO_MANY_QUESTIONS)?;
        }
        let r = req.into_inner();
        let (tenant, slug, mut tx) = self.open_public(&r.tenant).await?;
        let draft = model::question_draft(&r)?;
        let existing = match draft.request_id {
            Some(rid) => store::question_by_request(&mut tx, tenant, rid).await?,
            None => None,
        };
        let row = match existing {
            Some(row) => row,
            None => {
                let routed = if draft.district.is_empty() {
                    None
                } else {
                    store::district_centre(&mut tx, tenant, &draft.district).await?
                };
                let fallback = store::fallback_centre(&mut tx, tenant).await?;
                let route = routing::route(routed, fallback)
                    .ok_or_else(|| AppError::FailedPrecondition(t::NOT_ACCEPTING.into()))?;
                let id = Uuid::now_v7();
                let new = store::NewQuestion {
                    id,
                    tenant_id: tenant,
                    centre_id: route.centre,
                    fallback: route.fallback,
                    draft: &draft,
                    now: self.now(),
                };
                let inserted = store::insert_question(&mut tx, &new).await?;
                let row = match (inserted, draft.request_id) {
                    (false, Some(rid)) => store::question_by_request(&mut tx, tenant, rid).await?,
                    _ => store::question(&mut tx, id, false).await?,
                }
                .ok_or_else(question_not_found)?;
                if inserted {
                    let body = Body::OnlineQuestionAsked(ev::OnlineQuestionAsked {
                        question_id: id.to_string(),
                        centre_id: route.centre.to_string(),
                        district: draft.district.clone(),
                        fallback: route.fallback,
                    });
                    self.emit(&mut tx, (tenant, &slug), ANONYMOUS, body).await?;
                    tracing::info!(question_id = %id, centre_id = %route.centre, fallback = route.fallback,
                        "online question routed");
                }
                row
            }
        };
        let name = store::centre(&mut tx, tenant, row.centre_id).await?.map(|c| c.name).unwrap_or_default();
        tx.commit().await.map_err(commit_err)?;
        Ok(Response::new(pb::AskQuestionResponse {
            question_id: row.id.to_string(),
            centre_id: row.centre_id.to_string(),
            centre_name: name,
        }))
    }

    async fn list_published_questions(
        &self,
        req: Request<pb::ListPublishedQuestionsRequest>,
    ) -> Res<pb::ListPublishedQuestionsResponse> {
        let r = req.get_ref();
        let (tenant, _, mut tx) = self.open_public(&r.tenant).await?;
        let page = Page::new(opeka_platform::paging::page_number(r.page, &r.page_token)?, r.page_size, 20, 100);
        let (rows, total) = store::list_published(&mut tx, tenant, page).await?;
        let refs = self.refs(&mut tx, tenant).await?;
        let centres = self.centres(&mut tx, tenant).await?;
        Ok(Response::new(pb::ListPublishedQuestionsResponse {
            questions: rows.iter().map(|q| published_pb(q, &refs, &centres)).collect(),
            total_size: total,
            page: page.number,
            page_count: page.count(total),
            next_page_token: opeka_platform::paging::next_page(page.number, page.size, total),
        }))
    }

    async fn count_waiting_questions(
        &self,
        req: Request<pb::CountWaitingQuestionsRequest>,
    ) -> Res<pb::CountWaitingQuestionsResponse> {
        let mut call = self.open(&req).await?;
        let scope = call.caller.questions()?;
        let mut errs = Violations::new();
        let centre = model::opt_id("centre_id", &req.get_ref().centre_id, &mut errs);
        errs.into_result()?;
        let (waiting, awaiting_moderation) =
            store::count_questions(&mut call.tx, call.p.tenant_id, scope.narrow(centre)).await?;
        Ok(Response::new(pb::CountWaitingQuestionsResponse { waiting, awaiting_moderation }))
    }

    async fn list_questions(&self, req: Request<pb::ListQuestionsRequest>) -> Res<pb::ListQuestionsResponse> {
        let mut call = self.open(&req).await?;
        let r = req.get_ref();
        let scope = call.caller.questions()?;
        let mut errs = Violations::new();
        let centre = model::opt_id("centre_id", &r.centre_id, &mut errs);
        errs.into_result()?;
        let status = QuestionStatus::from_pb(r.status);
        let page = Page::new(opeka_platform::paging::page_number(r.page, &r.page_token)?, r.page_size, 20, 200);
        let (rows, total) =
            store::list_questions(&mut call.tx, call.p.tenant_id, scope.narrow(centre), status, page).await?;
        let refs = self.refs(&mut call.tx, call.p.tenant_id).await?;
        let centres = self.centres(&mut call.tx, call.p.tenant_id).await?;
        Ok(Response::new(pb::ListQuestionsResponse {
            questions: rows.iter().map(|q| question_pb(q, &refs, &centres)).collect(),
            total_size: total,
            page: page.number,
            page_count: page.count(total),
            next_page_token: opeka_platform::paging::next_page(page.number, page.size, total),
        }))
    }

    async fn get_question(&self, req: Request<pb::GetQuestionRequest>) -> Res<pb::OnlineQuestion> {
        let mut call = self.open(&req).await?;
        let id = model::id("id", &req.get_ref().id)?;
        self.visible_question(&mut call, id, false).await?;
        Ok(Response::new(self.question_view(&mut call, id).await?))
    }

    async fn answer_question(&self, req: Request<pb::AnswerQuestionRequest>) -> Res<pb::OnlineQuestion> {
        let mut call = self.open(&req).await?;
        let r = req.into_inner();
        let id = model::id("id", &r.id)?;
        let row = self.visible_question(&mut call, id, true).await?;
        if !call.caller.may_answer(row.centre_id) {
            return Err(AppError::PermissionDenied(t::DENIED.into()).into());
        }
        row.status().answer()?;
        let answer = model::answer_text(&r.answer)?;
        store::answer_question(&mut call.tx, id, &answer, call.p.account_id, self.now()).await?;
        let view = self.question_view(&mut call, id).await?;
        call.tx.commit().await.map_err(commit_err)?;
        Ok(Response::new(view))
    }

    async fn moderate_answer(&self, req: Request<pb::ModerateAnswerRequest>) -> Res<pb::OnlineQuestion> {
        let mut call = self.open(&req).await?;
        if !call.caller.may_moderate() {
            return Err(AppError::PermissionDenied(t::DENIED.into()).into());
        }
        let r = req.into_inner();
        let id = model::id("id", &r.id)?;
        let row = self.visible_question(&mut call, id, true).await?;
        let status = row.status().moderate(r.approve)?;
        let comment = model::moderation_comment(r.approve, &r.comment)?;
        store::moderate_question(&mut call.tx, id, status, &comment, call.p.account_id, self.now()).await?;
        if status == QuestionStatus::Published {
            let body = Body::OnlineQuestionPublished(ev::OnlineQuestionPublished {
                question_id: id.to_string(),
                centre_id: row.centre_id.to_string(),
            });
            let (actor, slug) = (call.actor(), call.p.tenant_slug.clone());
            self.emit(&mut call.tx, (call.p.tenant_id, &slug), &actor, body).await?;
        }
        let view = self.question_view(&mut call, id).await?;
        call.tx.commit().await.map_err(commit_err)?;
        Ok(Response::new(view))
    }

    // ------------------------------------------------------------- routing

    async fn list_district_routes(
        &self,
        req: Request<pb::ListDistrictRoutesRequest>,
    ) -> Res<pb::ListDistrictRoutesResponse> {
        let mut call = self.open(&req).await?;
        let tenant = call.p.tenant_id;
        let refs = store::refs(&mut call.tx, tenant).await?;
        let routes: HashMap<String, Uuid> =
            store::routes(&mut call.tx, tenant).await?.into_iter().map(|r| (r.district_code, r.centre_id)).collect();
        let fallback = store::fallback_centre(&mut call.tx, tenant).await?;
        let centres = self.centres(&mut call.tx, tenant).await?;
        call.tx.commit().await.map_err(commit_err)?;
        let districts: Vec<_> = refs
            .iter()
            .filter(|e| e.kind == RefKind::District && (!e.archived || routes.contains_key(&e.code)))
            .map(|e| e.code.clone())
            .collect();
        let (districts, next_page_token) =
            opeka_platform::paging::slice(districts, req.get_ref().page_size, &req.get_ref().page_token)?;
        let refs = Refs::new(refs);
        Ok(Response::new(pb::ListDistrictRoutesResponse {
            routes: districts.iter().map(|d| Self::route_pb(d, routes.get(d).copied(), &refs, &centres)).collect(),
            fallback_centre_id: opt_uuid(fallback),
            fallback_centre_name: fallback.map(|c| centre_name(&centres, c)).unwrap_or_default(),
            next_page_token,
        }))
    }

    async fn set_district_route(&self, req: Request<pb::SetDistrictRouteRequest>) -> Res<pb::DistrictRoute> {
        let mut call = self.open(&req).await?;
        call.caller.check_admin()?;
        let r = req.into_inner();
        let refs = self.refs(&mut call.tx, call.p.tenant_id).await?;
        let district = r.district_code.trim().to_string();
        let mut errs = Violations::new();
        if district.is_empty() {
            errs.add("district_code", t::CHOOSE);
        } else if refs.get(RefKind::District, &district).is_none() {
            errs.add("district_code", t::UNKNOWN_CODE);
        }
        let centre = model::opt_id("centre_id", &r.centre_id, &mut errs);
        errs.into_result()?;
        if let Some(c) = centre {
            self.record_centre(&mut call, c, "centre_id").await?;
        }
        let actor = call.actor();
        store::set_route(&mut call.tx, call.p.tenant_id, &district, centre, self.now(), &actor).await?;
        let centres = self.centres(&mut call.tx, call.p.tenant_id).await?;
        call.tx.commit().await.map_err(commit_err)?;
        tracing::info!(district = %district, centre_id = ?centre, "district route set");
        Ok(Response::new(Self::route_pb(&district, centre, &refs, &centres)))
    }

    async fn set_fallback_centre(
        &self,
        req: Request<pb::SetFallbackCentreRequest>,
    ) -> Res<pb::SetFallbackCentreResponse> {
        let mut call = self.open(&req).await?;
        call.caller.check_admin()?;
        let raw = req.get_ref().centre_id.trim().to_string();
        if raw.is_empty() {
            return Err(AppError::invalid("centre_id", t::CENTRE_REQUIRED).into());
        }
        let id = model::id("centre_id", &raw)?;
        let centre = self.record_centre(&mut call, id, "centre_id").await?;
        store::set_fallback_centre(&mut call.tx, call.p.tenant_id, id, self.now()).await?;
        call.tx.commit().await.map_err(commit_err)?;
        Ok(Response::new(pb::SetFallbackCentreResponse { centre_id: id.to_string(), centre_name: centre.name }))
    }
}
