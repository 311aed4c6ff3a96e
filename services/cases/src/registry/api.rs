//! gRPC handlers: decode, authorise, call the store, encode. Every call is
//! checked here against the caller's roles, the tenant's settings and, for a
//! card, its curator (domain::check_citizen): a card the caller may not read
//! answers NOT_FOUND, one they may read but not change PERMISSION_DENIED.
use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use opeka_platform::error::{AppError, FieldViolation, OnConstraint, Violations};
use opeka_platform::wire::{self, Page, opt_text};
use opeka_proto::cases::{self as pb, cases_service_server::CasesService};
use tonic::Request;
use uuid::Uuid;

use super::convert::{self, CitizenView};
use super::domain::{
    self, Access, CitizenDraft, InteractionKind, MAX_TEXT, Permission, Refusal, Scope, TenantSettings,
};
use super::store::{self, CitizenRow};
use super::strings as s;
use crate::State;
use crate::events;
use crate::kit::Res;
use crate::kit::identity::CuratorCheck;
use crate::kit::period;
use crate::kit::search;

pub struct Api {
    st: Arc<State>,
}

impl Api {
    pub fn new(st: Arc<State>) -> Self {
        Self { st }
    }
}

/// The caller's standing and the tenant's settings, loaded with the call.
struct Standing {
    access: Access,
    tenant: TenantSettings,
    tenant_updated_at: Option<DateTime<Utc>>,
}

type Call = opeka_platform::call::Call<Standing>;

/// One audit entry about to be written.
struct Audit {
    action: &'static str,
    entity: &'static str,
    entity_id: String,
    citizen: Option<Uuid>,
    fields: Vec<String>,
    details: serde_json::Value,
}

impl Audit {
    fn citizen(action: &'static str, id: Uuid) -> Self {
        Self {
            action,
            entity: "citizen",
            entity_id: id.to_string(),
            citizen: Some(id),
            fields: Vec::new(),
            details: serde_json::json!({}),
        }
    }
    fn of(action: &'static str, entity: &'static str, id: Uuid, citizen: Option<Uuid>) -> Self {
        Self { entity, entity_id: id.to_string(), citizen, ..Self::citizen(action, id) }
    }
    fn fields(mut self, fields: Vec<String>) -> Self {
        self.fields = fields;
        self
    }
    fn details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }
}

fn not_found() -> AppError {
    AppError::NotFound(s::CITIZEN_NOT_FOUND.into())
}

fn denied() -> AppError {
    AppError::PermissionDenied(s::PERMISSION_DENIED.into())
}

fn inn_taken() -> AppError {
    AppError::Taken(FieldViolation::new("inn", s::INN_TAKEN))
}

/// Names the card fields a change touches (never their values).
fn card_changes(b: &CitizenRow, d: &CitizenDraft) -> Vec<String> {
    domain::changed_fields(&[
        ("surname", b.surname != d.surname),
        ("name", b.name != d.name),
        ("patronymic", b.patronymic != d.patronymic),
        ("birth_date", b.birth_date != d.birth_date),
        ("inn", b.inn.as_deref() != d.inn.as_ref().map(|i| i.as_str())),
        ("phone", b.phone != d.phone.as_str()),
        ("email", b.email.as_deref() != d.email.as_ref().map(|e| e.as_str())),
        ("curator_id", d.curator_id.is_some() && b.curator_id != d.curator_id),
        ("district_id", b.district_id != d.district_id),
        ("special_group_ids", b.special_group_ids != d.special_group_ids),
        ("situation", b.situation != d.situation),
        ("inactive", b.inactive != d.inactive),
        ("inactive_until", b.inactive_until != d.inactive_until),
    ])
}

/// The card fields identity keeps a copy of on the citizen's account.
const ACCOUNT_FIELDS: [&str; 5] = ["surname", "name", "patronymic", "phone", "email"];

/// The fields a new card was filled in with.
fn filled_fields(d: &CitizenDraft) -> Vec<String> {
    domain::changed_fields(&[
        ("surname", true),
        ("name", true),
        ("patronymic", !d.patronymic.is_empty()),
        ("birth_date", d.birth_date.is_some()),
        ("inn", d.inn.is_some()),
        ("phone", true),
        ("email", d.email.is_some()),
        ("curator_id", d.curator_id.is_some()),
        ("district_id", d.district_id.is_some()),
        ("special_group_ids", !d.special_group_ids.is_empty()),
        ("situation", !d.situation.is_empty()),
        ("inactive", d.inactive),
        ("inactive_until", d.inactive_until.is_some()),
    ])
}

impl Api {
    /// Authenticates, opens the tenant transaction, loads the tenant's
    /// settings and checks that some role grants `perm` at all.
    async fn open<T>(&self, req: &Request<T>, perm: Permission) -> Result<Call, AppError> {
        let mut call = self.st.kit.open(req).await?;
        let row = store::tenant_settings(&mut call.tx).await?;
        let tenant = convert::tenant_settings(row.as_ref(), self.st.default_tz);
        let access = Access::new(call.principal.account_id, &call.principal.roles, tenant.access());
        if !access.allows(perm) {
            return Err(denied());
        }
        Ok(call.with(Standing { access, tenant, tenant_updated_at: row.map(|r| r.updated_at) }))
    }

    /// A live card the caller may `perm`.
    async fn citizen(&self, call: &mut Call, id: Uuid, perm: Permission, lock: bool) -> Result<CitizenRow, AppError> {
        let row = store::get_citizen(&mut call.tx, id, lock).await?.ok_or_else(not_found)?;
        match domain::check_citizen(&call.extra.access, perm, row.curator_id) {
            Ok(()) => Ok(row),
            Err(Refusal::Invisible) => Err(not_found()),
            Err(Refusal::ReadOnly) => Err(AppError::PermissionDenied(s::READ_ONLY_CARD.into())),
        }
    }

    fn view(access: &Access, c: &CitizenRow) -> pb::Citizen {
        convert::citizen(
            c,
            CitizenView {
                personal_data: access.allows_for(Permission::ReadPersonalData, c.curator_id),
                can_edit: access.allows_for(Permission::EditCitizens, c.curator_id),
            },
        )
    }

    /// Writes `a` to cases' audit log (which also names the card and the
    /// fields touched) in the call's transaction.
    async fn audit(call: &mut Call, a: Audit) -> Result<(), AppError> {
        let actor = call.actor();
        let entry = store::AuditEntry {
            tenant_id: call.principal.tenant_id,
            actor_id: &actor,
            action: a.action,
            entity: a.entity,
            entity_id: a.entity_id,
            citizen_id: a.citizen,
            fields: a.fields,
            details: a.details,
            at: call.now,
        };
        store::audit(&mut call.tx, entry).await?;
        Ok(())
    }

    /// How stamps and diary entries name the caller: «администратор» for an
    /// admin (as in S0-44), otherwise their full name from identity.
    async fn display_name(&self, call: &Call) -> Result<String, AppError> {
        if call.extra.access.is_admin() {
            return Ok(s::ADMIN_LABEL.into());
        }
        self.st.identity.full_name(&call.principal, call.bearer()?).await
    }

    /// Only an admin assigns a card to someone else (S0-115); a curator's
    /// cards are their own.
    fn may_assign(call: &Call, curator: Uuid) -> Result<(), AppError> {
        let me = curator == call.principal.account_id;
        match call.extra.access.scope(Permission::AssignCurator) {
            Scope::All => Ok(()),
            Scope::Own if me => Ok(()),
            _ => Err(AppError::PermissionDenied(s::ONLY_ADMIN_ASSIGNS.into())),
        }
    }

    /// No other live card has the draft's INN (checked before identity
    /// creates an account, so a clash leaves nothing behind there).
    async fn check_inn(&self, call: &mut Call, d: &CitizenDraft, except: Option<Uuid>) -> Result<(), AppError> {
        if let Some(inn) = &d.inn
            && store::inn_in_use(&mut call.tx, call.principal.tenant_id, inn.as_str(), except).await?
        {
            return Err(inn_taken());
        }
        Ok(())
    }

    /// The card's references exist: special groups here, the district and
    /// the curator in identity (asked with the caller's token).
    async fn check_references(
        &self,
        call: &mut Call,
        d: &CitizenDraft,
        district: Option<Uuid>,
        curator: Option<Uuid>,
    ) -> Result<(), AppError> {
        let mut errs = Violations::new();
        if !d.special_group_ids.is_empty() {
            let found = store::existing_groups(&mut call.tx, &d.special_group_ids).await?;
            for (i, g) in d.special_group_ids.iter().enumerate() {
                if !found.contains(g) {
                    errs.add(&format!("special_group_ids[{i}]"), s::GROUP_UNKNOWN);
                }
            }
        }
        if let Some(district) = district
            && !self.st.identity.district_exists(call.bearer()?, district).await?
        {
            errs.add("district_id", s::DISTRICT_UNKNOWN);
        }
        if let Some(curator) = curator {
            let known = if curator == call.principal.account_id {
                call.principal.has_role("curator")
            } else {
                self.st.identity.check_curator(call.bearer()?, curator).await? == CuratorCheck::Curator
            };
            if !known {
                errs.add("curator_id", s::CURATOR_UNKNOWN);
            }
        }
        errs.into_result()
    }
}

fn required_text(field: &str, v: &str) -> Result<String, AppError> {
    let t = domain::text(v, MAX_TEXT).map_err(|e| AppError::invalid(field, e))?;
    if t.is_empty() {
        return Err(AppError::invalid(field, s::TEXT_REQUIRED));
    }
    Ok(t)
}

fn bot_link(citizen: Uuid, l: &opeka_proto::identity::BotLinkCode, now: DateTime<Utc>) -> pb::CitizenBotLink {
    let expires = wire::from_ts(&l.expires_at);
    pb::CitizenBotLink {
        citizen_id: citizen.to_string(),
        activated: l.redeemed,
        activated_at: l.redeemed_at,
        code: if l.redeemed { String::new() } else { l.code.clone() },
        expires_at: if l.redeemed { None } else { l.expires_at },
        expired: !l.redeemed && expires.is_some_and(|e| e <= now),
    }
}

impl Api {
    async fn create_citizen(&self, req: Request<pb::CreateCitizenRequest>) -> Res<pb::Citizen> {
        let mut call = self.open(&req, Permission::CreateCitizens).await?;
        let today = period::local_today(call.now, call.extra.tenant.time_zone);
        let mut draft = convert::citizen_draft(req.get_ref().into(), today)?;
        let curator = match draft.curator_id {
            Some(id) => {
                Self::may_assign(&call, id)?;
                Some(id)
            }
            // A curator's new citizen is theirs (S0-26); an admin may leave it unassigned.
            None => call.principal.has_role("curator").then_some(call.principal.account_id),
        };
        draft.curator_id = curator;
        self.check_inn(&mut call, &draft, None).await?;
        self.check_references(&mut call, &draft, draft.district_id, curator).await?;
        let id = Uuid::now_v7();
        // The card's id is the request id: a retry of this card reuses the account.
        let account_id = self.st.identity.create_citizen_account(call.bearer()?, &draft, id).await?;
        let new = store::NewCitizen {
            id,
            tenant_id: call.principal.tenant_id,
            account_id,
            curator_id: curator,
            draft: &draft,
            now: call.now,
        };
        store::insert_citizen(&mut call.tx, &new).await.on_constraint("citizens_inn_key", inn_taken)?;
        let row = store::get_citizen(&mut call.tx, id, false).await?.ok_or_else(not_found)?;
        call.emit(events::citizen_created(&row)).await?;
        Self::audit(&mut call, Audit::citizen("citizen.create", id).fields(filled_fields(&draft))).await?;
        let view = Self::view(&call.extra.access, &row);
        call.commit().await?;
        tracing::info!(citizen_id = %id, account_id = %account_id, "citizen created");
        Ok(view)
    }

    async fn get_citizen(&self, req: Request<pb::GetCitizenRequest>) -> Res<pb::Citizen> {
        let mut call = self.open(&req, Permission::ReadCitizens).await?;
        let id = wire::id("id", &req.get_ref().id)?;
        let row = self.citizen(&mut call, id, Permission::ReadCitizens, false).await?;
        let personal = call.extra.access.allows_for(Permission::ReadPersonalData, row.curator_id);
        let details = serde_json::json!({ "personal_data": personal });
        Self::audit(&mut call, Audit::citizen("citizen.open", id).details(details)).await?;
        let view = Self::view(&call.extra.access, &row);
        call.commit().await?;
        Ok(view)
    }

    async fn update_citizen(&self, req: Request<pb::UpdateCitizenRequest>) -> Res<pb::Citizen> {
        let mut call = self.open(&req, Permission::EditCitizens).await?;
        let id = wire::id("id", &req.get_ref().id)?;
        let before = self.citizen(&mut call, id, Permission::EditCitizens, true).await?;
        let today = period::local_today(call.now, call.extra.tenant.time_zone);
        let mut draft = convert::citizen_draft(req.get_ref().into(), today)?;
        if draft.curator_id == before.curator_id {
            draft.curator_id = None;
        }
        if let Some(c) = draft.curator_id {
            Self::may_assign(&call, c)?;
        }
        let district = draft.district_id.filter(|d| Some(*d) != before.district_id);
        self.check_inn(&mut call, &draft, Some(id)).await?;
        self.check_references(&mut call, &draft, district, draft.curator_id).await?;
        let changed = card_changes(&before, &draft);
        if changed.is_empty() {
            return Ok(Self::view(&call.extra.access, &before));
        }
        store::update_citizen(&mut call.tx, call.principal.tenant_id, id, &draft, call.now)
            .await
            .on_constraint("citizens_inn_key", inn_taken)?;
        let after = store::get_citizen(&mut call.tx, id, false).await?.ok_or_else(not_found)?;
        let renamed = changed.iter().any(|f| matches!(f.as_str(), "surname" | "name" | "patronymic"));
        let full_name = if renamed { after.full_name() } else { String::new() };
        call.emit(events::citizen_updated(id, after.curator_id, Some(after.district_id), &changed, full_name)).await?;
        let account_changed = changed.iter().any(|f| ACCOUNT_FIELDS.contains(&f.as_str()));
        Self::audit(&mut call, Audit::citizen("citizen.update", id).fields(changed)).await?;
        // Identity keeps its own copy of the name and contacts. It is asked
        // last, before the commit: if it refuses, the card change rolls back.
        if account_changed {
            self.st.identity.update_citizen_account(call.bearer()?, before.account_id, &draft).await?;
        }
        let view = Self::view(&call.extra.access, &after);
        call.commit().await?;
        Ok(view)
    }

    async fn delete_citizen(&self, req: Request<pb::DeleteCitizenRequest>) -> Res<pb::DeleteCitizenResponse> {
        let mut call = self.open(&req, Permission::DeleteCitizens).await?;
        let id = wire::id("id", &req.get_ref().id)?;
        let row = self.citizen(&mut call, id, Permission::DeleteCitizens, true).await?;
        // The account first: a card whose account is gone can be deleted
        // again; an account without a card would keep the bot working.
        self.st.identity.delete_account(call.bearer()?, row.account_id).await?;
        let actor = call.actor();
        store::soft_delete_citizen(&mut call.tx, id, &actor, call.now).await?;
        call.emit(events::citizen_deleted(id)).await?;
        Self::audit(&mut call, Audit::citizen("citizen.delete", id)).await?;
        call.commit().await?;
        tracing::info!(citizen_id = %id, "citizen deleted");
        Ok(pb::DeleteCitizenResponse {})
    }

    async fn list_citizens(&self, req: Request<pb::ListCitizensRequest>) -> Res<pb::ListCitizensResponse> {
        let mut call = self.open(&req, Permission::ReadCitizens).await?;
        let r = req.get_ref();
        let mut errs = Violations::new();
        let district_id = wire::opt_id("district_id", &r.district_id, &mut errs);
        let curator_id = wire::opt_id("curator_id", &r.curator_id, &mut errs);
        let group_id = wire::opt_id("special_group_id", &r.special_group_id, &mut errs);
        errs.into_result()?;
        let page = Page::parse(r.page_size, &r.page_token)?;
        let filter = store::CitizenFilter {
            tenant_id: call.principal.tenant_id,
            name: search::query(&r.name_query),
            situation: search::query(&r.situation_query),
            curator_id,
            only_curator: call.extra.access.own_only(Permission::ReadCitizens),
            district_id,
            group_id,
            order: match pb::CitizenSort::try_from(r.sort).unwrap_or_default() {
                pb::CitizenSort::Name => store::CitizenOrder::Name,
                pb::CitizenSort::CreatedAt | pb::CitizenSort::Unspecified => store::CitizenOrder::CreatedAt,
            },
            descending: r.descending,
            limit: page.limit,
            offset: page.offset,
        };
        let (rows, total) = store::list_citizens(&mut call.tx, &filter).await?;
        Ok(pb::ListCitizensResponse {
            next_page_token: page.next_token(rows.len(), total),
            citizens: rows.iter().map(|c| Self::view(&call.extra.access, c)).collect(),
            total_size: total,
        })
    }

    async fn transfer_citizens(&self, req: Request<pb::TransferCitizensRequest>) -> Res<pb::TransferCitizensResponse> {
        let mut call = self.open(&req, Permission::TransferCitizens).await?;
        let r = req.get_ref();
        let mut errs = Violations::new();
        let mut ids: Vec<Uuid> = Vec::new();
        for (i, raw) in r.citizen_ids.iter().enumerate() {
            match raw.trim().parse::<Uuid>() {
                Ok(id) if !ids.contains(&id) => ids.push(id),
                Ok(_) => {}
                Err(_) => errs.add(&format!("citizen_ids[{i}]"), wire::ID_INVALID),
            }
        }
        if r.citizen_ids.is_empty() {
            errs.add("citizen_ids", s::TRANSFER_EMPTY);
        }
        if ids.len() > self.st.settings.max_transfer {
            errs.add("citizen_ids", s::transfer_too_many(self.st.settings.max_transfer));
        }
        let to = match opt_text(&r.to_curator_id) {
            None => {
                errs.add("to_curator_id", s::TRANSFER_CURATOR_REQUIRED);
                None
            }
            Some(v) => errs.check("to_curator_id", v.parse::<Uuid>().map_err(|_| wire::ID_INVALID.to_string())),
        };
        errs.into_result()?;
        let to = to.ok_or_else(|| AppError::invalid("to_curator_id", s::TRANSFER_CURATOR_REQUIRED))?;
        if self.st.identity.check_curator(call.bearer()?, to).await? != CuratorCheck::Curator {
            return Err(AppError::invalid("to_curator_id", s::CURATOR_UNKNOWN));
        }
        // All or nothing (S0-115): every selected card is locked first; one
        // missing and nothing moves.
        let locked = store::lock_for_transfer(&mut call.tx, &ids).await?;
        if locked.len() != ids.len() {
            return Err(AppError::NotFound(s::transfer_missing(ids.len() - locked.len())));
        }
        let moving: Vec<(Uuid, Option<Uuid>)> = locked.into_iter().filter(|(_, from)| *from != Some(to)).collect();
        let moving_ids: Vec<Uuid> = moving.iter().map(|(id, _)| *id).collect();
        store::set_curator(&mut call.tx, &moving_ids, to, call.now).await?;
        let mut by_from: BTreeMap<Option<Uuid>, Vec<Uuid>> = BTreeMap::new();
        for (id, from) in &moving {
            by_from.entry(*from).or_default().push(*id);
            let details = serde_json::json!({ "from_curator_id": from, "to_curator_id": to });
            let a = Audit::citizen("citizen.transfer", *id).fields(vec!["curator_id".into()]).details(details);
            Self::audit(&mut call, a).await?;
        }
        for (from, ids) in &by_from {
            call.emit(events::citizens_transferred(ids, *from, to)).await?;
        }
        call.commit().await?;
        tracing::info!(to_curator_id = %to, moved = moving_ids.len(), "citizens transferred");
        Ok(pb::TransferCitizensResponse { transferred: moving_ids.len() as i32 })
    }

    async fn get_citizen_bot_link(&self, req: Request<pb::GetCitizenBotLinkRequest>) -> Res<pb::CitizenBotLink> {
        let mut call = self.open(&req, Permission::ReadCitizens).await?;
        let id = wire::id("citizen_id", &req.get_ref().citizen_id)?;
        // The code binds the bot to the citizen: only whoever hands it over
        // (the curator, an admin) sees it.
        let row = self.citizen(&mut call, id, Permission::ReadPersonalData, false).await?;
        let bearer = call.bearer()?.clone();
        call.tx.rollback().await?;
        let link = self.st.identity.bot_link(&bearer, row.account_id).await?;
        Ok(bot_link(id, &link, call.now))
    }

    async fn extend_citizen_bot_link(&self, req: Request<pb::ExtendCitizenBotLinkRequest>) -> Res<pb::CitizenBotLink> {
        let mut call = self.open(&req, Permission::EditCitizens).await?;
        let id = wire::id("citizen_id", &req.get_ref().citizen_id)?;
        let row = self.citizen(&mut call, id, Permission::EditCitizens, false).await?;
        let link = self.st.identity.extend_bot_link(call.bearer()?, row.account_id).await?;
        let expires = wire::from_ts(&link.expires_at);
        let a = Audit::citizen("bot_link.extend", id).details(serde_json::json!({ "expires_at": expires }));
        Self::audit(&mut call, a).await?;
        let view = bot_link(id, &link, call.now);
        call.commit().await?;
        Ok(view)
    }

    async fn add_diary_entry(&self, req: Request<pb::AddDiaryEntryRequest>) -> Res<pb::DiaryEntry> {
        let mut call = self.open(&req, Permission::EditCitizens).await?;
        let r = req.get_ref();
        let citizen = wire::id("citizen_id", &r.citizen_id)?;
        self.citizen(&mut call, citizen, Permission::EditCitizens, false).await?;
        let text = required_text("text", &r.text)?;
        let entry = store::DiaryRow {
            id: Uuid::now_v7(),
            citizen_id: citizen,
            text,
            author_id: call.actor(),
            author_name: self.display_name(&call).await?,
            created_at: call.now,
        };
        store::insert_diary(&mut call.tx, call.principal.tenant_id, &entry).await?;
        Self::audit(&mut call, Audit::of("diary.add", "diary_entry", entry.id, Some(citizen))).await?;
        call.commit().await?;
        Ok((&entry).into())
    }

    async fn list_diary_entries(&self, req: Request<pb::ListDiaryEntriesRequest>) -> Res<pb::ListDiaryEntriesResponse> {
        let mut call = self.open(&req, Permission::ReadCitizens).await?;
        let citizen = wire::id("citizen_id", &req.get_ref().citizen_id)?;
        self.citizen(&mut call, citizen, Permission::ReadCitizens, false).await?;
        let rows = store::list_diary(&mut call.tx, call.principal.tenant_id, citizen).await?;
        let (rows, next_page_token) =
            opeka_platform::wire::slice(rows, req.get_ref().page_size, &req.get_ref().page_token)?;
        Ok(pb::ListDiaryEntriesResponse { entries: rows.iter().map(Into::into).collect(), next_page_token })
    }

    async fn create_special_group(&self, req: Request<pb::CreateSpecialGroupRequest>) -> Res<pb::SpecialGroup> {
        let mut call = self.open(&req, Permission::ManageReference).await?;
        let name = domain::NamePart::parse(&req.get_ref().name, s::GROUP_NAME_REQUIRED)
            .map_err(|e| AppError::invalid("name", e))?
            .into_string();
        let row = store::GroupRow { id: Uuid::now_v7(), name, created_at: call.now };
        store::insert_group(&mut call.tx, call.principal.tenant_id, &row)
            .await
            .on_constraint("special_groups_name_key", || {
                AppError::Taken(FieldViolation::new("name", s::GROUP_TAKEN))
            })?;
        let a = Audit::of("special_group.create", "special_group", row.id, None)
            .details(serde_json::json!({ "name": row.name }));
        Self::audit(&mut call, a).await?;
        call.commit().await?;
        Ok((&row).into())
    }

    async fn rename_special_group(&self, req: Request<pb::RenameSpecialGroupRequest>) -> Res<pb::SpecialGroup> {
        let mut call = self.open(&req, Permission::ManageReference).await?;
        let r = req.get_ref();
        let id = wire::id("id", &r.id)?;
        let name = domain::NamePart::parse(&r.name, s::GROUP_NAME_REQUIRED)
            .map_err(|e| AppError::invalid("name", e))?
            .into_string();
        let row = store::rename_group(&mut call.tx, id, &name)
            .await
            .on_constraint("special_groups_name_key", || AppError::Taken(FieldViolation::new("name", s::GROUP_TAKEN)))?
            .ok_or_else(|| AppError::NotFound(s::GROUP_UNKNOWN.into()))?;
        let a = Audit::of("special_group.rename", "special_group", id, None)
            .details(serde_json::json!({ "name": row.name }));
        Self::audit(&mut call, a).await?;
        call.commit().await?;
        Ok((&row).into())
    }

    async fn delete_special_group(
        &self,
        req: Request<pb::DeleteSpecialGroupRequest>,
    ) -> Res<pb::DeleteSpecialGroupResponse> {
        let mut call = self.open(&req, Permission::ManageReference).await?;
        let id = wire::id("id", &req.get_ref().id)?;
        let had =
            store::delete_group(&mut call.tx, id).await?.ok_or_else(|| AppError::NotFound(s::GROUP_UNKNOWN.into()))?;
        Self::audit(&mut call, Audit::of("special_group.delete", "special_group", id, None)).await?;
        // The cards that carried the group changed too.
        let changed = vec!["special_group_ids".to_string()];
        for (citizen, curator) in had {
            let a = Audit::citizen("citizen.update", citizen)
                .fields(changed.clone())
                .details(serde_json::json!({ "deleted_group_id": id }));
            Self::audit(&mut call, a).await?;
            call.emit(events::citizen_updated(citizen, curator, None, &changed, String::new())).await?;
        }
        call.commit().await?;
        Ok(pb::DeleteSpecialGroupResponse {})
    }

    async fn list_special_groups(
        &self,
        req: Request<pb::ListSpecialGroupsRequest>,
    ) -> Res<pb::ListSpecialGroupsResponse> {
        let mut call = self.open(&req, Permission::ReadReference).await?;
        let rows = store::list_groups(&mut call.tx, opt_text(&req.get_ref().query)).await?;
        let (rows, next_page_token) =
            opeka_platform::wire::slice(rows, req.get_ref().page_size, &req.get_ref().page_token)?;
        Ok(pb::ListSpecialGroupsResponse { groups: rows.iter().map(Into::into).collect(), next_page_token })
    }

    async fn add_interaction(&self, req: Request<pb::AddInteractionRequest>) -> Res<pb::Interaction> {
        let mut call = self.open(&req, Permission::EditCitizens).await?;
        let r = req.get_ref();
        let citizen_id = wire::id("citizen_id", &r.citizen_id)?;
        let citizen = self.citizen(&mut call, citizen_id, Permission::EditCitizens, false).await?;
        let result = required_text("result", &r.result)?;
        let row = store::InteractionRow {
            id: Uuid::now_v7(),
            citizen_id,
            kind: InteractionKind::CuratorEntry.as_str().into(),
            request_text: String::new(),
            result,
            created_by: call.actor(),
            created_by_name: self.display_name(&call).await?,
            created_at: call.now,
            edited_by: None,
            edited_by_name: None,
            edited_at: None,
        };
        store::insert_interaction(&mut call.tx, call.principal.tenant_id, &row, None).await?;
        call.emit(events::interaction_recorded(row.id, &citizen, InteractionKind::CuratorEntry)).await?;
        Self::audit(&mut call, Audit::of("interaction.add", "interaction", row.id, Some(citizen_id))).await?;
        call.commit().await?;
        Ok((&row).into())
    }

    async fn record_interaction_result(
        &self,
        req: Request<pb::RecordInteractionResultRequest>,
    ) -> Res<pb::Interaction> {
        let mut call = self.open(&req, Permission::EditCitizens).await?;
        let r = req.get_ref();
        let id = wire::id("id", &r.id)?;
        let found = store::get_interaction(&mut call.tx, id, true).await?;
        let interaction = found.ok_or_else(|| AppError::NotFound(s::INTERACTION_NOT_FOUND.into()))?;
        let citizen = self.citizen(&mut call, interaction.citizen_id, Permission::EditCitizens, false).await.map_err(
            |e| match e {
                AppError::NotFound(_) => AppError::NotFound(s::INTERACTION_NOT_FOUND.into()),
                other => other,
            },
        )?;
        // An empty result is allowed: «no contact yet» (S0-43).
        let result = domain::text(&r.result, MAX_TEXT).map_err(|e| AppError::invalid("result", e))?;
        let name = self.display_name(&call).await?;
        let actor = call.actor();
        let row = store::set_interaction_result(&mut call.tx, id, &result, &actor, &name, call.now).await?;
        let kind = InteractionKind::parse(&row.kind).unwrap_or(InteractionKind::ContactRequest);
        call.emit(events::interaction_recorded(id, &citizen, kind)).await?;
        let a = Audit::of("interaction.result", "interaction", id, Some(citizen.id)).fields(vec!["result".into()]);
        Self::audit(&mut call, a).await?;
        call.commit().await?;
        Ok((&row).into())
    }

    async fn list_interactions(&self, req: Request<pb::ListInteractionsRequest>) -> Res<pb::ListInteractionsResponse> {
        let mut call = self.open(&req, Permission::ReadCitizens).await?;
        let citizen = wire::id("citizen_id", &req.get_ref().citizen_id)?;
        self.citizen(&mut call, citizen, Permission::ReadCitizens, false).await?;
        let rows = store::list_interactions(&mut call.tx, call.principal.tenant_id, citizen).await?;
        let (rows, next_page_token) =
            opeka_platform::wire::slice(rows, req.get_ref().page_size, &req.get_ref().page_token)?;
        Ok(pb::ListInteractionsResponse { interactions: rows.iter().map(Into::into).collect(), next_page_token })
    }

    async fn list_activities(&self, req: Request<pb::ListActivitiesRequest>) -> Res<pb::ListActivitiesResponse> {
        let mut call = self.open(&req, Permission::ReadActivities).await?;
        let r = req.get_ref();
        let mut errs = Violations::new();
        let citizen_id = wire::opt_id("citizen_id", &r.citizen_id, &mut errs);
        let curator_id = wire::opt_id("curator_id", &r.curator_id, &mut errs);
        let district_id = wire::opt_id("district_id", &r.district_id, &mut errs);
        let from = opt_text(&r.from_date).and_then(|d| errs.check("from_date", domain::date(d)));
        let to = opt_text(&r.to_date).and_then(|d| errs.check("to_date", domain::date(d)));
        if let (Some(f), Some(t)) = (from, to)
            && t < f
        {
            errs.add("to_date", s::DATE_RANGE_REVERSED);
        }
        errs.into_result()?;
        let page = Page::parse(r.page_size, &r.page_token)?;
        let tz = call.extra.tenant.time_zone;
        let mut window = period::dates(from, to, tz);
        if let Some(p) = convert::period(r.period) {
            window = window.intersect(period::window(p, tz, call.now));
        }
        let filter = store::ActivityFilter {
            tenant_id: call.principal.tenant_id,
            citizen_id,
            citizen_name: search::query(&r.citizen_query),
            curator_id,
            only_curator: call.extra.access.own_only(Permission::ReadActivities),
            district_id,
            kind: convert::activity_kind(r.kind).map(|k| k.as_str()),
            processed: convert::processed(r.processed),
            window,
            limit: page.limit,
            offset: page.offset,
        };
        let (rows, total) = store::list_activities(&mut call.tx, &filter).await?;
        Ok(pb::ListActivitiesResponse {
            next_page_token: page.next_token(rows.len(), total),
            activities: rows.iter().map(Into::into).collect(),
            total_size: total,
        })
    }

    async fn mark_activity_processed(&self, req: Request<pb::MarkActivityProcessedRequest>) -> Res<pb::Activity> {
        let mut call = self.open(&req, Permission::ProcessActivities).await?;
        let r = req.get_ref();
        let id = wire::id("id", &r.id)?;
        let missing = || AppError::NotFound(s::ACTIVITY_NOT_FOUND.into());
        let row = store::get_activity(&mut call.tx, id).await?.ok_or_else(missing)?;
        if !call.extra.access.allows_for(Permission::ReadActivities, row.curator_id) {
            return Err(missing());
        }
        // S0-95: a curator ticks their own citizens' activities, an admin any.
        if !call.extra.access.allows_for(Permission::ProcessActivities, row.curator_id) {
            return Err(denied());
        }
        let actor = call.actor();
        let (by, at) = if r.processed { (Some(actor.as_str()), Some(call.now)) } else { (None, None) };
        store::set_processed(&mut call.tx, id, by, at).await?;
        let action = if r.processed { "activity.process" } else { "activity.unprocess" };
        Self::audit(&mut call, Audit::of(action, "activity", id, Some(row.citizen_id))).await?;
        let after = store::get_activity(&mut call.tx, id).await?.ok_or_else(missing)?;
        call.commit().await?;
        Ok((&after).into())
    }

    async fn get_tenant_settings(&self, req: Request<pb::GetTenantSettingsRequest>) -> Res<pb::TenantSettings> {
        let call = self.open(&req, Permission::ReadReference).await?;
        Ok(convert::tenant_settings_pb(&call.extra.tenant, call.extra.tenant_updated_at))
    }

    async fn update_tenant_settings(&self, req: Request<pb::UpdateTenantSettingsRequest>) -> Res<pb::TenantSettings> {
        let mut call = self.open(&req, Permission::ManageReference).await?;
        let new = convert::tenant_settings_update(req.get_ref(), self.st.default_tz)?;
        let old = call.extra.tenant.clone();
        let changed = domain::changed_fields(&[
            ("citizen_term", old.citizen_term != new.citizen_term),
            ("citizens_section", old.citizens_section != new.citizens_section),
            ("curator_term", old.curator_term != new.curator_term),
            ("curators_section", old.curators_section != new.curators_section),
            ("curators_read_all", old.curators_read_all != new.curators_read_all),
            ("time_zone", old.time_zone != new.time_zone),
        ]);
        let now = call.now;
        let actor = call.actor();
        store::save_tenant_settings(&mut call.tx, call.principal.tenant_id, &new, now, &actor).await?;
        let a = Audit::of("settings.update", "tenant_settings", call.principal.tenant_id, None).fields(changed);
        Self::audit(&mut call, a).await?;
        let tenant = call.principal.tenant_id;
        call.commit().await?;
        self.st.caches.forget_settings(tenant);
        Ok(convert::tenant_settings_pb(&new, Some(now)))
    }

    async fn list_audit_events(&self, req: Request<pb::ListAuditEventsRequest>) -> Res<pb::ListAuditEventsResponse> {
        let mut call = self.open(&req, Permission::ReadAudit).await?;
        let r = req.get_ref();
        let mut errs = Violations::new();
        let citizen = wire::opt_id("citizen_id", &r.citizen_id, &mut errs);
        errs.into_result()?;
        let page = Page::parse(r.page_size, &r.page_token)?;
        let rows = store::list_audit(&mut call.tx, call.principal.tenant_id, citizen, page.limit, page.offset).await?;
        Ok(pb::ListAuditEventsResponse {
            next_page_token: page.next_token_if_full(rows.len()),
            events: rows.iter().map(Into::into).collect(),
        })
    }
}

opeka_platform::grpc_handlers!(CasesService for Api {
    create_citizen(pb::CreateCitizenRequest) -> pb::Citizen;
    get_citizen(pb::GetCitizenRequest) -> pb::Citizen;
    update_citizen(pb::UpdateCitizenRequest) -> pb::Citizen;
    delete_citizen(pb::DeleteCitizenRequest) -> pb::DeleteCitizenResponse;
    list_citizens(pb::ListCitizensRequest) -> pb::ListCitizensResponse;
    transfer_citizens(pb::TransferCitizensRequest) -> pb::TransferCitizensResponse;
    get_citizen_bot_link(pb::GetCitizenBotLinkRequest) -> pb::CitizenBotLink;
    extend_citizen_bot_link(pb::ExtendCitizenBotLinkRequest) -> pb::CitizenBotLink;
    add_diary_entry(pb::AddDiaryEntryRequest) -> pb::DiaryEntry;
    list_diary_entries(pb::ListDiaryEntriesRequest) -> pb::ListDiaryEntriesResponse;
    create_special_group(pb::CreateSpecialGroupRequest) -> pb::SpecialGroup;
    rename_special_group(pb::RenameSpecialGroupRequest) -> pb::SpecialGroup;
    delete_special_group(pb::DeleteSpecialGroupRequest) -> pb::DeleteSpecialGroupResponse;
    list_special_groups(pb::ListSpecialGroupsRequest) -> pb::ListSpecialGroupsResponse;
    add_interaction(pb::AddInteractionRequest) -> pb::Interaction;
    record_interaction_result(pb::RecordInteractionResultRequest) -> pb::Interaction;
    list_interactions(pb::ListInteractionsRequest) -> pb::ListInteractionsResponse;
    list_activities(pb::ListActivitiesRequest) -> pb::ListActivitiesResponse;
    mark_activity_processed(pb::MarkActivityProcessedRequest) -> pb::Activity;
    get_tenant_settings(pb::GetTenantSettingsRequest) -> pb::TenantSettings;
    update_tenant_settings(pb::UpdateTenantSettingsRequest) -> pb::TenantSettings;
    list_audit_events(pb::ListAuditEventsRequest) -> pb::ListAuditEventsResponse;
});
