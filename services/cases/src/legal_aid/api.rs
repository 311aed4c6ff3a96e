//! gRPC handlers of `opeka.cases.v1.LegalAidService`: decode, authorise
//! (`Permission`, the `Standing` in the call), call the store, encode. A record of a centre the
//! caller may not see answers NOT_FOUND; a role that may never act,
//! PERMISSION_DENIED. The public calls (ListResidenceOptions, AskQuestion,
//! ListPublishedQuestions) never ask for a principal: the tenant comes from
//! the slug in the request, as in identity's Login.
use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use opeka_platform::auth;
use opeka_platform::call::Bearer;
use opeka_platform::db::{self, Tx};
use opeka_platform::error::{AppError, Violations};
use opeka_platform::wire::{self, NumberedPage, opt_uuid};
use opeka_proto::cases::{self as pb, legal_aid_service_server::LegalAidService};
use opeka_proto::events::{self as ev, envelope::Body};
use opeka_proto::identity::OrganisationKind;
use tonic::Request;
use uuid::Uuid;

use super::convert;
use super::domain::{self, QuestionStatus, RefKind, Refs, Standing};
use super::domain::{form, routing};
use super::store::{self, CentreRow, ConsultationRow, QuestionRow, ReferralRow};
use super::strings as t;
use crate::State;
use crate::kit::Res;

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

/// Who may call.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Permission {
    /// Any staff member (reference lists, centres, routes; records and
    /// questions narrow it further by centre).
    Staff,
    Admin,
}

type Call = opeka_platform::call::Call<Standing>;

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
    AppError::Stale(t::STALE_VERSION.into())
}

impl Api {
    fn now(&self) -> DateTime<Utc> {
        self.st.kit.now()
    }

    /// Authenticates (any staff member), opens the tenant transaction and,
    /// on the tenant's first legal-aid call, records its slug and fills in
    /// the default reference lists.
    async fn open<T>(&self, req: &Request<T>, perm: Permission) -> Result<Call, AppError> {
        let principal = auth::principal(req)?;
        let standing = Standing::of(&principal);
        match perm {
            Permission::Staff => standing.check_staff()?,
            Permission::Admin => standing.check_staff().and_then(|()| standing.check_admin())?,
        }
        let mut call = self.st.kit.open_as(principal, Bearer::of(req.metadata()).ok()).await?.with(standing);
        let (tenant, now) = (call.principal.tenant_id, call.now);
        if store::ensure_tenant(&mut call.tx, tenant, &call.principal.tenant_slug, now).await? {
            store::insert_default_refs(&mut call.tx, tenant, t::DEFAULT_REFS, now).await?;
        }
        Ok(call)
    }

    /// A public call: the tenant named by `slug`, with its transaction.
    async fn open_public(&self, slug: &str) -> Result<(Uuid, String, Tx), AppError> {
        let slug = slug.trim();
        let unknown = || AppError::NotFound(t::TENANT_UNKNOWN.into());
        if slug.is_empty() {
            return Err(unknown());
        }
        let mut conn = self.st.kit.pool.acquire().await?;
        let id = store::tenant_by_slug(&mut conn, slug).await?.ok_or_else(unknown)?;
        drop(conn);
        let tx = db::tenant_tx(&self.st.kit.pool, id).await?;
        Ok((id, slug.to_string(), tx))
    }

    /// Today in the tenant's time zone (records default to it).
    async fn today(&self, tx: &mut Tx, tenant: Uuid) -> Result<NaiveDate, AppError> {
        let tz = self.st.caches.time_zone(tx, tenant, self.st.default_tz).await?;
        Ok(crate::kit::period::local_today(self.now(), tz))
    }

    async fn emit_consultation(call: &mut Call, c: &ConsultationRow, change: &str) -> Result<(), AppError> {
        call.emit(Body::ConsultationRecorded(ev::ConsultationRecorded {
            consultation_id: c.id.to_string(),
            centre_id: c.centre_id.to_string(),
            change: change.into(),
        }))
        .await
    }

    async fn refs(&self, tx: &mut Tx, tenant: Uuid) -> Result<Refs, AppError> {
        Ok(Refs::new(store::refs(tx, tenant).await?))
    }

    async fn centres(&self, tx: &mut Tx, tenant: Uuid) -> Result<convert::Centres, AppError> {
        Ok(store::centres(tx, tenant).await?.into_iter().map(|c| (c.org_id, c)).collect())
    }

    /// Refreshes the copies of the tenant's centres from identity.
    async fn sync_centres(&self, call: &mut Call) -> Result<(), AppError> {
        let orgs = self.st.identity.organisations(call.bearer()?, OrganisationKind::LegalAidCentre).await?;
        let list: Vec<(Uuid, String)> = orgs.into_iter().filter_map(|o| Some((o.id.parse().ok()?, o.name))).collect();
        store::upsert_centre_names(&mut call.tx, call.principal.tenant_id, &list, self.now()).await?;
        Ok(())
    }

    /// A legal-aid centre of the tenant (asking identity about one not seen yet).
    async fn find_centre(&self, call: &mut Call, id: Uuid) -> Result<Option<CentreRow>, AppError> {
        if let Some(c) = store::centre(&mut call.tx, call.principal.tenant_id, id).await? {
            return Ok(Some(c));
        }
        self.sync_centres(call).await?;
        Ok(store::centre(&mut call.tx, call.principal.tenant_id, id).await?)
    }

    /// The centre a record goes to: a consultant's own (their organisation
    /// must be a legal-aid centre), or the one an admin named in `field`.
    async fn record_centre(&self, call: &mut Call, id: Uuid, field: &str) -> Result<CentreRow, AppError> {
        match self.find_centre(call, id).await? {
            Some(c) => Ok(c),
            None if call.extra.admin => Err(AppError::invalid(field, t::CENTRE_UNKNOWN)),
            None => Err(AppError::PermissionDenied(t::NO_CENTRE.into())),
        }
    }

    /// A live consultation the caller may see.
    async fn visible_consultation(&self, call: &mut Call, id: Uuid, lock: bool) -> Result<ConsultationRow, AppError> {
        let scope = call.extra.records()?;
        let row = store::consultation(&mut call.tx, id, lock).await?.ok_or_else(consultation_not_found)?;
        if scope.covers(row.centre_id) { Ok(row) } else { Err(consultation_not_found()) }
    }

    async fn visible_referral(&self, call: &mut Call, id: Uuid, lock: bool) -> Result<ReferralRow, AppError> {
        let scope = call.extra.records()?;
        let row = store::referral(&mut call.tx, id, lock).await?.ok_or_else(referral_not_found)?;
        if scope.covers(row.centre_id) { Ok(row) } else { Err(referral_not_found()) }
    }

    async fn visible_question(&self, call: &mut Call, id: Uuid, lock: bool) -> Result<QuestionRow, AppError> {
        let scope = call.extra.questions()?;
        let row = store::question(&mut call.tx, id, lock).await?.ok_or_else(question_not_found)?;
        if scope.covers(row.centre_id) { Ok(row) } else { Err(question_not_found()) }
    }

    async fn consultation_view(&self, call: &mut Call, c: &ConsultationRow) -> Res<pb::Consultation> {
        let refs = self.refs(&mut call.tx, call.principal.tenant_id).await?;
        let centres = self.centres(&mut call.tx, call.principal.tenant_id).await?;
        Ok(convert::consultation_pb(c, &refs, &centres))
    }

    async fn referral_view(&self, call: &mut Call, id: Uuid) -> Res<pb::Referral> {
        let row = store::referral(&mut call.tx, id, false).await?.ok_or_else(referral_not_found)?;
        let centres = self.centres(&mut call.tx, call.principal.tenant_id).await?;
        Ok(convert::referral_pb(&row, &centres))
    }

    async fn question_view(&self, call: &mut Call, id: Uuid) -> Res<pb::OnlineQuestion> {
        let row = store::question(&mut call.tx, id, false).await?.ok_or_else(question_not_found)?;
        let refs = self.refs(&mut call.tx, call.principal.tenant_id).await?;
        let centres = self.centres(&mut call.tx, call.principal.tenant_id).await?;
        Ok(convert::question_pb(&row, &refs, &centres))
    }

    /// The client fields of the consultation a referral follows (of the
    /// referral's centre), or a violation of `consultation_id`.
    async fn referral_prefill(
        &self,
        call: &mut Call,
        input: &pb::ReferralInput,
        centre: Uuid,
    ) -> Result<Option<domain::ReferralDraft>, AppError> {
        let mut errs = Violations::new();
        let id = wire::opt_id("consultation_id", &input.consultation_id, &mut errs);
        errs.into_result()?;
        let Some(id) = id else { return Ok(None) };
        let row = store::consultation(&mut call.tx, id, false).await?;
        let Some(c) = row.filter(|c| c.centre_id == centre) else {
            return Err(AppError::invalid("consultation_id", t::CONSULTATION_UNKNOWN));
        };
        let refs = self.refs(&mut call.tx, call.principal.tenant_id).await?;
        Ok(Some(convert::prefill_from(&c, &refs)))
    }
}

impl Api {
    // ------------------------------------------------------- consultations

    async fn create_consultation(&self, req: Request<pb::CreateConsultationRequest>) -> Res<pb::Consultation> {
        let mut call = self.open(&req, Permission::Staff).await?;
        let r = req.into_inner();
        let request_id = wire::id("request_id", &r.request_id)?;
        let mut errs = Violations::new();
        let requested = wire::opt_id("centre_id", &r.centre_id, &mut errs);
        errs.into_result()?;
        let centre_id = call.extra.centre_for_new(requested)?;
        // A retry of a create that went through returns its record.
        if let Some(done) = store::consultation_by_request(&mut call.tx, call.principal.tenant_id, request_id).await? {
            return self.consultation_view(&mut call, &done).await;
        }
        let refs = self.refs(&mut call.tx, call.principal.tenant_id).await?;
        let today = self.today(&mut call.tx, call.principal.tenant_id).await?;
        let draft = convert::consultation_draft(&r.input.unwrap_or_default(), &refs, today)?;
        self.record_centre(&mut call, centre_id, "centre_id").await?;
        let new = store::NewConsultation {
            id: Uuid::now_v7(),
            tenant_id: call.principal.tenant_id,
            request_id,
            centre_id,
            consultant_id: call.principal.account_id,
            draft: &draft,
            now: call.now,
        };
        let inserted = store::insert_consultation(&mut call.tx, &new).await?;
        let row = store::consultation_by_request(&mut call.tx, call.principal.tenant_id, request_id)
            .await?
            .ok_or_else(consultation_not_found)?;
        if inserted {
            Self::emit_consultation(&mut call, &row, "created").await?;
        }
        let view = self.consultation_view(&mut call, &row).await?;
        call.commit().await?;
        if inserted {
            tracing::info!(consultation_id = %row.id, centre_id = %row.centre_id, "consultation recorded");
        }
        Ok(view)
    }

    async fn get_consultation(&self, req: Request<pb::GetConsultationRequest>) -> Res<pb::Consultation> {
        let mut call = self.open(&req, Permission::Staff).await?;
        let id = wire::id("id", &req.get_ref().id)?;
        let row = self.visible_consultation(&mut call, id, false).await?;
        self.consultation_view(&mut call, &row).await
    }

    async fn update_consultation(&self, req: Request<pb::UpdateConsultationRequest>) -> Res<pb::Consultation> {
        let mut call = self.open(&req, Permission::Staff).await?;
        let r = req.into_inner();
        let id = wire::id("id", &r.id)?;
        let row = self.visible_consultation(&mut call, id, true).await?;
        let mut errs = Violations::new();
        let requested = wire::opt_id("centre_id", &r.centre_id, &mut errs);
        errs.into_result()?;
        let centre_id = match requested {
            Some(c) if c != row.centre_id => call.extra.centre_for_new(Some(c))?,
            _ => row.centre_id,
        };
        let refs = self.refs(&mut call.tx, call.principal.tenant_id).await?;
        let today = self.today(&mut call.tx, call.principal.tenant_id).await?;
        let draft = convert::consultation_draft(&r.input.unwrap_or_default(), &refs, today)?;
        if centre_id != row.centre_id {
            self.record_centre(&mut call, centre_id, "centre_id").await?;
        }
        if r.version != row.version
            || !store::update_consultation(&mut call.tx, id, r.version, centre_id, &draft, call.now).await?
        {
            return Err(stale());
        }
        let row = store::consultation(&mut call.tx, id, false).await?.ok_or_else(consultation_not_found)?;
        Self::emit_consultation(&mut call, &row, "updated").await?;
        let view = self.consultation_view(&mut call, &row).await?;
        call.commit().await?;
        Ok(view)
    }

    async fn delete_consultation(
        &self,
        req: Request<pb::DeleteConsultationRequest>,
    ) -> Res<pb::DeleteConsultationResponse> {
        let mut call = self.open(&req, Permission::Staff).await?;
        let id = wire::id("id", &req.get_ref().id)?;
        let row = self.visible_consultation(&mut call, id, true).await?;
        store::delete_consultation(&mut call.tx, id, call.now).await?;
        Self::emit_consultation(&mut call, &row, "deleted").await?;
        call.commit().await?;
        tracing::info!(consultation_id = %id, "consultation deleted");
        Ok(pb::DeleteConsultationResponse {})
    }

    async fn list_consultations(
        &self,
        req: Request<pb::ListConsultationsRequest>,
    ) -> Res<pb::ListConsultationsResponse> {
        let mut call = self.open(&req, Permission::Staff).await?;
        let r = req.get_ref();
        let scope = call.extra.records()?;
        let mut filter = convert::consultation_filter(r)?;
        filter.centre = scope.narrow(filter.centre);
        let sort = convert::consultation_sort(r.sort, r.descending);
        let page = NumberedPage::parse(r.page, &r.page_token, r.page_size, 20, 200)?;
        let (rows, total) =
            store::list_consultations(&mut call.tx, call.principal.tenant_id, &filter, sort, page).await?;
        let refs = self.refs(&mut call.tx, call.principal.tenant_id).await?;
        let centres = self.centres(&mut call.tx, call.principal.tenant_id).await?;
        Ok(pb::ListConsultationsResponse {
            consultations: rows.iter().map(|c| convert::consultation_pb(c, &refs, &centres)).collect(),
            total_size: total,
            page: page.number,
            page_count: page.count(total),
            next_page_token: page.next_token(total),
        })
    }

    // ---------------------------------------------------------- references

    async fn list_legal_aid_refs(
        &self,
        req: Request<pb::ListLegalAidRefsRequest>,
    ) -> Res<pb::ListLegalAidRefsResponse> {
        let mut call = self.open(&req, Permission::Staff).await?;
        let r = req.get_ref();
        let kind = RefKind::from_pb(r.kind);
        let refs = store::refs(&mut call.tx, call.principal.tenant_id).await?;
        let refs = refs
            .iter()
            .filter(|e| kind.is_none_or(|k| e.kind == k) && (r.include_archived || !e.archived))
            .map(|e| e.to_pb())
            .collect();
        let (refs, next_page_token) = opeka_platform::wire::slice(refs, r.page_size, &r.page_token)?;
        Ok(pb::ListLegalAidRefsResponse { refs, next_page_token })
    }

    async fn upsert_legal_aid_ref(&self, req: Request<pb::UpsertLegalAidRefRequest>) -> Res<pb::LegalAidRef> {
        let mut call = self.open(&req, Permission::Admin).await?;
        let refs = self.refs(&mut call.tx, call.principal.tenant_id).await?;
        let draft = convert::ref_draft(req.get_ref(), &refs)?;
        let code = draft.code.clone().unwrap_or_else(|| Uuid::now_v7().simple().to_string());
        store::upsert_ref(&mut call.tx, call.principal.tenant_id, &code, &draft, call.now).await?;
        call.commit().await?;
        Ok(domain::RefEntry {
            kind: draft.kind,
            code,
            name: draft.name,
            parent_code: draft.parent_code,
            archived: draft.archived,
        }
        .to_pb())
    }

    // ------------------------------------------------------------- centres

    async fn list_legal_aid_centres(
        &self,
        req: Request<pb::ListLegalAidCentresRequest>,
    ) -> Res<pb::ListLegalAidCentresResponse> {
        let mut call = self.open(&req, Permission::Staff).await?;
        self.sync_centres(&mut call).await?;
        let centres = store::centres(&mut call.tx, call.principal.tenant_id).await?;
        call.commit().await?;
        let (centres, next_page_token) =
            opeka_platform::wire::slice(centres, req.get_ref().page_size, &req.get_ref().page_token)?;
        Ok(pb::ListLegalAidCentresResponse {
            centres: centres.iter().map(convert::centre_pb).collect(),
            next_page_token,
        })
    }

    async fn get_legal_aid_centre(&self, req: Request<pb::GetLegalAidCentreRequest>) -> Res<pb::LegalAidCentre> {
        let mut call = self.open(&req, Permission::Staff).await?;
        let id = match req.get_ref().id.trim() {
            "" => call.extra.centre.ok_or_else(|| AppError::invalid("id", t::CENTRE_REQUIRED))?,
            v => wire::id("id", v)?,
        };
        let c = self.find_centre(&mut call, id).await?.ok_or_else(|| AppError::NotFound(t::CENTRE_NOT_FOUND.into()))?;
        call.commit().await?;
        Ok(convert::centre_pb(&c))
    }

    async fn update_legal_aid_centre(&self, req: Request<pb::UpdateLegalAidCentreRequest>) -> Res<pb::LegalAidCentre> {
        let mut call = self.open(&req, Permission::Admin).await?;
        let r = req.into_inner();
        let id = wire::id("id", &r.id)?;
        let details = convert::centre_details(&r)?;
        self.find_centre(&mut call, id).await?.ok_or_else(|| AppError::NotFound(t::CENTRE_NOT_FOUND.into()))?;
        store::update_centre(&mut call.tx, call.principal.tenant_id, id, &details, call.now).await?;
        let c = store::centre(&mut call.tx, call.principal.tenant_id, id)
            .await?
            .ok_or_else(|| AppError::NotFound(t::CENTRE_NOT_FOUND.into()))?;
        call.commit().await?;
        Ok(convert::centre_pb(&c))
    }

    // ----------------------------------------------------------- referrals

    async fn create_referral(&self, req: Request<pb::CreateReferralRequest>) -> Res<pb::Referral> {
        let mut call = self.open(&req, Permission::Staff).await?;
        let r = req.into_inner();
        let request_id = wire::id("request_id", &r.request_id)?;
        let mut errs = Violations::new();
        let requested = wire::opt_id("centre_id", &r.centre_id, &mut errs);
        errs.into_result()?;
        let centre_id = call.extra.centre_for_new(requested)?;
        if let Some(done) = store::referral_by_request(&mut call.tx, call.principal.tenant_id, request_id).await? {
            return self.referral_view(&mut call, done.id).await;
        }
        let input = r.input.unwrap_or_default();
        let prefill = self.referral_prefill(&mut call, &input, centre_id).await?;
        let today = self.today(&mut call.tx, call.principal.tenant_id).await?;
        let draft = convert::referral_draft(&input, prefill.as_ref(), today)?;
        let centre = self.record_centre(&mut call, centre_id, "centre_id").await?;
        let form_text = form::referral_form(&centre.name, &centre.details(), &draft);
        let new = store::NewReferral {
            id: Uuid::now_v7(),
            tenant_id: call.principal.tenant_id,
            request_id,
            centre_id,
            consultant_id: call.principal.account_id,
            draft: &draft,
            form_text: &form_text,
            now: call.now,
        };
        store::insert_referral(&mut call.tx, &new).await?;
        let row = store::referral_by_request(&mut call.tx, call.principal.tenant_id, request_id)
            .await?
            .ok_or_else(referral_not_found)?;
        let view = self.referral_view(&mut call, row.id).await?;
        call.commit().await?;
        Ok(view)
    }

    async fn get_referral(&self, req: Request<pb::GetReferralRequest>) -> Res<pb::Referral> {
        let mut call = self.open(&req, Permission::Staff).await?;
        let id = wire::id("id", &req.get_ref().id)?;
        self.visible_referral(&mut call, id, false).await?;
        self.referral_view(&mut call, id).await
    }

    async fn update_referral(&self, req: Request<pb::UpdateReferralRequest>) -> Res<pb::Referral> {
        let mut call = self.open(&req, Permission::Staff).await?;
        let r = req.into_inner();
        let id = wire::id("id", &r.id)?;
        let row = self.visible_referral(&mut call, id, true).await?;
        let input = r.input.unwrap_or_default();
        let prefill = self.referral_prefill(&mut call, &input, row.centre_id).await?;
        let today = self.today(&mut call.tx, call.principal.tenant_id).await?;
        let draft = convert::referral_draft(&input, prefill.as_ref(), today)?;
        // A form edited by hand is the consultant's; only a generated one follows the referral.
        let form_text = if row.form_edited {
            row.form_text.clone()
        } else {
            let centre = self.record_centre(&mut call, row.centre_id, "centre_id").await?;
            form::referral_form(&centre.name, &centre.details(), &draft)
        };
        if r.version != row.version
            || !store::update_referral(&mut call.tx, id, r.version, &draft, &form_text, call.now).await?
        {
            return Err(stale());
        }
        let view = self.referral_view(&mut call, id).await?;
        call.commit().await?;
        Ok(view)
    }

    async fn update_referral_form(&self, req: Request<pb::UpdateReferralFormRequest>) -> Res<pb::Referral> {
        let mut call = self.open(&req, Permission::Staff).await?;
        let r = req.into_inner();
        let id = wire::id("id", &r.id)?;
        let row = self.visible_referral(&mut call, id, true).await?;
        let (text, edited) = match domain::form_text(&r.form_text)? {
            v if v.is_empty() => {
                let centre = self.record_centre(&mut call, row.centre_id, "centre_id").await?;
                (form::referral_form(&centre.name, &centre.details(), &row.draft()), false)
            }
            v => (v, true),
        };
        if r.version != row.version
            || !store::update_referral_form(&mut call.tx, id, r.version, &text, edited, call.now).await?
        {
            return Err(stale());
        }
        let view = self.referral_view(&mut call, id).await?;
        call.commit().await?;
        Ok(view)
    }

    async fn delete_referral(&self, req: Request<pb::DeleteReferralRequest>) -> Res<pb::DeleteReferralResponse> {
        let mut call = self.open(&req, Permission::Staff).await?;
        let id = wire::id("id", &req.get_ref().id)?;
        self.visible_referral(&mut call, id, true).await?;
        store::delete_referral(&mut call.tx, id, call.now).await?;
        call.commit().await?;
        Ok(pb::DeleteReferralResponse {})
    }

    async fn list_referrals(&self, req: Request<pb::ListReferralsRequest>) -> Res<pb::ListReferralsResponse> {
        let mut call = self.open(&req, Permission::Staff).await?;
        let r = req.get_ref();
        let scope = call.extra.records()?;
        let mut errs = Violations::new();
        let date_from = domain::filter_date("date_from", &r.date_from, &mut errs);
        let date_to = domain::filter_date("date_to", &r.date_to, &mut errs);
        let centre = wire::opt_id("centre_id", &r.centre_id, &mut errs);
        if let (Some(a), Some(b)) = (date_from, date_to)
            && a > b
        {
            errs.add("date_to", t::PERIOD_ORDER);
        }
        errs.into_result()?;
        let filter = store::ReferralFilter { centre: scope.narrow(centre), date_from, date_to };
        let page = NumberedPage::parse(r.page, &r.page_token, r.page_size, 20, 200)?;
        let (rows, total) = store::list_referrals(&mut call.tx, call.principal.tenant_id, &filter, page).await?;
        let centres = self.centres(&mut call.tx, call.principal.tenant_id).await?;
        Ok(pb::ListReferralsResponse {
            referrals: rows.iter().map(|x| convert::referral_pb(x, &centres)).collect(),
            total_size: total,
            page: page.number,
            page_count: page.count(total),
            next_page_token: page.next_token(total),
        })
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
        Ok(pb::ListResidenceOptionsResponse {
            regions: live(RefKind::Region),
            districts: live(RefKind::District),
            accepting_questions: accepting,
        })
    }

    async fn ask_question(&self, req: Request<pb::AskQuestionRequest>) -> Res<pb::AskQuestionResponse> {
        // Public: bounded per client address (issue 9, point 10).
        if let Some(ip) = opeka_platform::throttle::client_addr(&req) {
            let key = opeka_platform::throttle::address_key(ip);
            self.st.ask_throttle.check(&key, t::TOO_MANY_QUESTIONS)?;
        }
        let r = req.into_inner();
        let (tenant, slug, mut tx) = self.open_public(&r.tenant).await?;
        let draft = convert::question_draft(&r)?;
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
                    let envelope = opeka_platform::bus::envelope(tenant, ANONYMOUS, self.now(), body);
                    self.st.kit.outbox.enqueue(&mut tx, &slug, &envelope).await?;
                    tracing::info!(question_id = %id, centre_id = %route.centre, fallback = route.fallback,
                        "online question routed");
                }
                row
            }
        };
        let name = store::centre(&mut tx, tenant, row.centre_id).await?.map(|c| c.name).unwrap_or_default();
        self.st.kit.outbox.commit(tx).await?;
        Ok(pb::AskQuestionResponse {
            question_id: row.id.to_string(),
            centre_id: row.centre_id.to_string(),
            centre_name: name,
        })
    }

    async fn list_published_questions(
        &self,
        req: Request<pb::ListPublishedQuestionsRequest>,
    ) -> Res<pb::ListPublishedQuestionsResponse> {
        let r = req.get_ref();
        let (tenant, _, mut tx) = self.open_public(&r.tenant).await?;
        let page = NumberedPage::parse(r.page, &r.page_token, r.page_size, 20, 100)?;
        let (rows, total) = store::list_published(&mut tx, tenant, page).await?;
        let refs = self.refs(&mut tx, tenant).await?;
        let centres = self.centres(&mut tx, tenant).await?;
        Ok(pb::ListPublishedQuestionsResponse {
            questions: rows.iter().map(|q| convert::published_pb(q, &refs, &centres)).collect(),
            total_size: total,
            page: page.number,
            page_count: page.count(total),
            next_page_token: page.next_token(total),
        })
    }

    async fn count_waiting_questions(
        &self,
        req: Request<pb::CountWaitingQuestionsRequest>,
    ) -> Res<pb::CountWaitingQuestionsResponse> {
        let mut call = self.open(&req, Permission::Staff).await?;
        let scope = call.extra.questions()?;
        let mut errs = Violations::new();
        let centre = wire::opt_id("centre_id", &req.get_ref().centre_id, &mut errs);
        errs.into_result()?;
        let (waiting, awaiting_moderation) =
            store::count_questions(&mut call.tx, call.principal.tenant_id, scope.narrow(centre)).await?;
        Ok(pb::CountWaitingQuestionsResponse { waiting, awaiting_moderation })
    }

    async fn list_questions(&self, req: Request<pb::ListQuestionsRequest>) -> Res<pb::ListQuestionsResponse> {
        let mut call = self.open(&req, Permission::Staff).await?;
        let r = req.get_ref();
        let scope = call.extra.questions()?;
        let mut errs = Violations::new();
        let centre = wire::opt_id("centre_id", &r.centre_id, &mut errs);
        errs.into_result()?;
        let status = QuestionStatus::from_pb(r.status);
        let page = NumberedPage::parse(r.page, &r.page_token, r.page_size, 20, 200)?;
        let (rows, total) =
            store::list_questions(&mut call.tx, call.principal.tenant_id, scope.narrow(centre), status, page).await?;
        let refs = self.refs(&mut call.tx, call.principal.tenant_id).await?;
        let centres = self.centres(&mut call.tx, call.principal.tenant_id).await?;
        Ok(pb::ListQuestionsResponse {
            questions: rows.iter().map(|q| convert::question_pb(q, &refs, &centres)).collect(),
            total_size: total,
            page: page.number,
            page_count: page.count(total),
            next_page_token: page.next_token(total),
        })
    }

    async fn get_question(&self, req: Request<pb::GetQuestionRequest>) -> Res<pb::OnlineQuestion> {
        let mut call = self.open(&req, Permission::Staff).await?;
        let id = wire::id("id", &req.get_ref().id)?;
        self.visible_question(&mut call, id, false).await?;
        self.question_view(&mut call, id).await
    }

    async fn answer_question(&self, req: Request<pb::AnswerQuestionRequest>) -> Res<pb::OnlineQuestion> {
        let mut call = self.open(&req, Permission::Staff).await?;
        let r = req.into_inner();
        let id = wire::id("id", &r.id)?;
        let row = self.visible_question(&mut call, id, true).await?;
        if !call.extra.may_answer(row.centre_id) {
            return Err(AppError::PermissionDenied(t::DENIED.into()));
        }
        row.status().answer()?;
        let answer = domain::answer_text(&r.answer)?;
        store::answer_question(&mut call.tx, id, &answer, call.principal.account_id, call.now).await?;
        let view = self.question_view(&mut call, id).await?;
        call.commit().await?;
        Ok(view)
    }

    async fn moderate_answer(&self, req: Request<pb::ModerateAnswerRequest>) -> Res<pb::OnlineQuestion> {
        let mut call = self.open(&req, Permission::Staff).await?;
        if !call.extra.may_moderate() {
            return Err(AppError::PermissionDenied(t::DENIED.into()));
        }
        let r = req.into_inner();
        let id = wire::id("id", &r.id)?;
        let row = self.visible_question(&mut call, id, true).await?;
        let status = row.status().moderate(r.approve)?;
        let comment = domain::moderation_comment(r.approve, &r.comment)?;
        store::moderate_question(&mut call.tx, id, status, &comment, call.principal.account_id, call.now).await?;
        if status == QuestionStatus::Published {
            let body = Body::OnlineQuestionPublished(ev::OnlineQuestionPublished {
                question_id: id.to_string(),
                centre_id: row.centre_id.to_string(),
            });
            call.emit(body).await?;
        }
        let view = self.question_view(&mut call, id).await?;
        call.commit().await?;
        Ok(view)
    }

    // ------------------------------------------------------------- routing

    async fn list_district_routes(
        &self,
        req: Request<pb::ListDistrictRoutesRequest>,
    ) -> Res<pb::ListDistrictRoutesResponse> {
        let mut call = self.open(&req, Permission::Staff).await?;
        let tenant = call.principal.tenant_id;
        let refs = store::refs(&mut call.tx, tenant).await?;
        let routes: HashMap<String, Uuid> =
            store::routes(&mut call.tx, tenant).await?.into_iter().map(|r| (r.district_code, r.centre_id)).collect();
        let fallback = store::fallback_centre(&mut call.tx, tenant).await?;
        let centres = self.centres(&mut call.tx, tenant).await?;
        call.commit().await?;
        let districts: Vec<_> = refs
            .iter()
            .filter(|e| e.kind == RefKind::District && (!e.archived || routes.contains_key(&e.code)))
            .map(|e| e.code.clone())
            .collect();
        let (districts, next_page_token) =
            opeka_platform::wire::slice(districts, req.get_ref().page_size, &req.get_ref().page_token)?;
        let refs = Refs::new(refs);
        Ok(pb::ListDistrictRoutesResponse {
            routes: districts.iter().map(|d| convert::route_pb(d, routes.get(d).copied(), &refs, &centres)).collect(),
            fallback_centre_id: opt_uuid(fallback),
            fallback_centre_name: fallback.map(|c| convert::centre_name(&centres, c)).unwrap_or_default(),
            next_page_token,
        })
    }

    async fn set_district_route(&self, req: Request<pb::SetDistrictRouteRequest>) -> Res<pb::DistrictRoute> {
        let mut call = self.open(&req, Permission::Admin).await?;
        let r = req.into_inner();
        let refs = self.refs(&mut call.tx, call.principal.tenant_id).await?;
        let district = r.district_code.trim().to_string();
        let mut errs = Violations::new();
        if district.is_empty() {
            errs.add("district_code", t::CHOOSE);
        } else if refs.get(RefKind::District, &district).is_none() {
            errs.add("district_code", t::UNKNOWN_CODE);
        }
        let centre = wire::opt_id("centre_id", &r.centre_id, &mut errs);
        errs.into_result()?;
        if let Some(c) = centre {
            self.record_centre(&mut call, c, "centre_id").await?;
        }
        let actor = call.actor();
        store::set_route(&mut call.tx, call.principal.tenant_id, &district, centre, call.now, &actor).await?;
        let centres = self.centres(&mut call.tx, call.principal.tenant_id).await?;
        call.commit().await?;
        tracing::info!(district = %district, centre_id = ?centre, "district route set");
        Ok(convert::route_pb(&district, centre, &refs, &centres))
    }

    async fn set_fallback_centre(
        &self,
        req: Request<pb::SetFallbackCentreRequest>,
    ) -> Res<pb::SetFallbackCentreResponse> {
        let mut call = self.open(&req, Permission::Admin).await?;
        let raw = req.get_ref().centre_id.trim().to_string();
        if raw.is_empty() {
            return Err(AppError::invalid("centre_id", t::CENTRE_REQUIRED));
        }
        let id = wire::id("centre_id", &raw)?;
        let centre = self.record_centre(&mut call, id, "centre_id").await?;
        store::set_fallback_centre(&mut call.tx, call.principal.tenant_id, id, call.now).await?;
        call.commit().await?;
        Ok(pb::SetFallbackCentreResponse { centre_id: id.to_string(), centre_name: centre.name })
    }
}

opeka_platform::grpc_handlers!(LegalAidService for Api {
    create_consultation(pb::CreateConsultationRequest) -> pb::Consultation;
    get_consultation(pb::GetConsultationRequest) -> pb::Consultation;
    update_consultation(pb::UpdateConsultationRequest) -> pb::Consultation;
    delete_consultation(pb::DeleteConsultationRequest) -> pb::DeleteConsultationResponse;
    list_consultations(pb::ListConsultationsRequest) -> pb::ListConsultationsResponse;
    list_legal_aid_refs(pb::ListLegalAidRefsRequest) -> pb::ListLegalAidRefsResponse;
    upsert_legal_aid_ref(pb::UpsertLegalAidRefRequest) -> pb::LegalAidRef;
    list_legal_aid_centres(pb::ListLegalAidCentresRequest) -> pb::ListLegalAidCentresResponse;
    get_legal_aid_centre(pb::GetLegalAidCentreRequest) -> pb::LegalAidCentre;
    update_legal_aid_centre(pb::UpdateLegalAidCentreRequest) -> pb::LegalAidCentre;
    create_referral(pb::CreateReferralRequest) -> pb::Referral;
    get_referral(pb::GetReferralRequest) -> pb::Referral;
    update_referral(pb::UpdateReferralRequest) -> pb::Referral;
    update_referral_form(pb::UpdateReferralFormRequest) -> pb::Referral;
    delete_referral(pb::DeleteReferralRequest) -> pb::DeleteReferralResponse;
    list_referrals(pb::ListReferralsRequest) -> pb::ListReferralsResponse;
    list_residence_options(pb::ListResidenceOptionsRequest) -> pb::ListResidenceOptionsResponse;
    ask_question(pb::AskQuestionRequest) -> pb::AskQuestionResponse;
    list_published_questions(pb::ListPublishedQuestionsRequest) -> pb::ListPublishedQuestionsResponse;
    count_waiting_questions(pb::CountWaitingQuestionsRequest) -> pb::CountWaitingQuestionsResponse;
    list_questions(pb::ListQuestionsRequest) -> pb::ListQuestionsResponse;
    get_question(pb::GetQuestionRequest) -> pb::OnlineQuestion;
    answer_question(pb::AnswerQuestionRequest) -> pb::OnlineQuestion;
    moderate_answer(pb::ModerateAnswerRequest) -> pb::OnlineQuestion;
    list_district_routes(pb::ListDistrictRoutesRequest) -> pb::ListDistrictRoutesResponse;
    set_district_route(pb::SetDistrictRouteRequest) -> pb::DistrictRoute;
    set_fallback_centre(pb::SetFallbackCentreRequest) -> pb::SetFallbackCentreResponse;
});
