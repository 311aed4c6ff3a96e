//! Wire ↔ domain conversions for cases, so handlers stay short: requests
//! become parsed domain values (or field violations), rows become messages.
use chrono::{DateTime, NaiveDate, Utc};
use opeka_platform::error::{AppError, Violations};
use opeka_platform::wire::{self, date_str, opt_id, opt_text, opt_uuid, ts};
use opeka_proto::cases as pb;
use uuid::Uuid;

use super::domain::{self, ActivityKind, CitizenDraft, Email, Inn, InteractionKind, NamePart, Phone, TenantSettings};
use super::store::{ActivityRow, AuditRow, CitizenRow, DiaryRow, GroupRow, InteractionRow, SettingsRow};
use super::strings as s;
use crate::kit::period::Period;

/// The card fields of a create or update request.
pub struct CitizenFields<'a> {
    pub surname: &'a str,
    pub name: &'a str,
    pub patronymic: &'a str,
    pub birth_date: &'a str,
    pub inn: &'a str,
    pub phone: &'a str,
    pub email: &'a str,
    pub curator_id: &'a str,
    pub district_id: &'a str,
    pub special_group_ids: &'a [String],
    pub situation: &'a str,
    pub inactive: bool,
    pub inactive_until: &'a str,
}

impl<'a> From<&'a pb::CreateCitizenRequest> for CitizenFields<'a> {
    fn from(r: &'a pb::CreateCitizenRequest) -> Self {
        Self {
            surname: &r.surname,
            name: &r.name,
            patronymic: &r.patronymic,
            birth_date: &r.birth_date,
            inn: &r.inn,
            phone: &r.phone,
            email: &r.email,
            curator_id: &r.curator_id,
            district_id: &r.district_id,
            special_group_ids: &r.special_group_ids,
            situation: &r.situation,
            inactive: r.inactive,
            inactive_until: &r.inactive_until,
        }
    }
}

impl<'a> From<&'a pb::UpdateCitizenRequest> for CitizenFields<'a> {
    fn from(r: &'a pb::UpdateCitizenRequest) -> Self {
        Self {
            surname: &r.surname,
            name: &r.name,
            patronymic: &r.patronymic,
            birth_date: &r.birth_date,
            inn: &r.inn,
            phone: &r.phone,
            email: &r.email,
            curator_id: &r.curator_id,
            district_id: &r.district_id,
            special_group_ids: &r.special_group_ids,
            situation: &r.situation,
            inactive: r.inactive,
            inactive_until: &r.inactive_until,
        }
    }
}

/// Parses a card, reporting every invalid field at once (S0-32).
pub fn citizen_draft(f: CitizenFields<'_>, today: NaiveDate) -> Result<CitizenDraft, AppError> {
    let mut errs = Violations::new();
    let surname = errs.check("surname", NamePart::parse(f.surname, s::SURNAME_REQUIRED));
    let name = errs.check("name", NamePart::parse(f.name, s::NAME_REQUIRED));
    let patronymic = errs.check("patronymic", domain::optional_name(f.patronymic));
    let birth_date = opt_text(f.birth_date).and_then(|d| errs.check("birth_date", domain::birth_date(d, today)));
    let inn = opt_text(f.inn).and_then(|v| errs.check("inn", Inn::parse(v)));
    let phone = errs.check("phone", Phone::parse(f.phone));
    let email = opt_text(f.email).and_then(|v| errs.check("email", Email::parse(v)));
    let curator_id = opt_id("curator_id", f.curator_id, &mut errs);
    let district_id = opt_id("district_id", f.district_id, &mut errs);
    let mut special_group_ids = Vec::new();
    for (i, g) in f.special_group_ids.iter().enumerate() {
        match g.trim().parse::<Uuid>() {
            Ok(id) if !special_group_ids.contains(&id) => special_group_ids.push(id),
            Ok(_) => {}
            Err(_) => errs.add(&format!("special_group_ids[{i}]"), wire::ID_INVALID),
        }
    }
    special_group_ids.sort();
    let situation = errs.check("situation", domain::text(f.situation, domain::MAX_TEXT));
    let inactive_until = opt_text(f.inactive_until).and_then(|d| errs.check("inactive_until", domain::date(d)));
    if inactive_until.is_some() && !f.inactive {
        errs.add("inactive_until", s::INACTIVE_UNTIL_WITHOUT_FLAG);
    }
    errs.into_result()?;
    let missing = || AppError::internal(anyhow::anyhow!("a parsed field is missing"));
    Ok(CitizenDraft {
        surname: surname.ok_or_else(missing)?.into_string(),
        name: name.ok_or_else(missing)?.into_string(),
        patronymic: patronymic.unwrap_or_default(),
        birth_date,
        inn,
        phone: phone.ok_or_else(missing)?,
        email,
        curator_id,
        district_id,
        special_group_ids,
        situation: situation.unwrap_or_default(),
        inactive: f.inactive,
        inactive_until,
    })
}

/// How the caller sees a card.
#[derive(Debug, Clone, Copy)]
pub struct CitizenView {
    pub personal_data: bool,
    pub can_edit: bool,
}

pub fn citizen(c: &CitizenRow, view: CitizenView) -> pb::Citizen {
    let pd = view.personal_data;
    pb::Citizen {
        id: c.id.to_string(),
        account_id: c.account_id.to_string(),
        surname: c.surname.clone(),
        name: c.name.clone(),
        patronymic: c.patronymic.clone(),
        birth_date: if pd { date_str(c.birth_date) } else { String::new() },
        inn: if pd { c.inn.clone().unwrap_or_default() } else { String::new() },
        phone: if pd { c.phone.clone() } else { String::new() },
        email: if pd { c.email.clone().unwrap_or_default() } else { String::new() },
        curator_id: opt_uuid(c.curator_id),
        district_id: opt_uuid(c.district_id),
        special_group_ids: c.special_group_ids.iter().map(Uuid::to_string).collect(),
        situation: c.situation.clone(),
        inactive: c.inactive,
        inactive_until: date_str(c.inactive_until),
        created_at: Some(ts(c.created_at)),
        updated_at: Some(ts(c.updated_at)),
        personal_data_hidden: !pd,
        bot_activated: c.bot_activated_at.is_some(),
        bot_activated_at: c.bot_activated_at.map(ts),
        can_edit: view.can_edit,
        full_name: c.full_name(),
    }
}

impl From<&GroupRow> for pb::SpecialGroup {
    fn from(g: &GroupRow) -> Self {
        pb::SpecialGroup { id: g.id.to_string(), name: g.name.clone(), created_at: Some(ts(g.created_at)) }
    }
}

impl From<&DiaryRow> for pb::DiaryEntry {
    fn from(e: &DiaryRow) -> Self {
        pb::DiaryEntry {
            id: e.id.to_string(),
            citizen_id: e.citizen_id.to_string(),
            text: e.text.clone(),
            author_id: e.author_id.clone(),
            author_name: e.author_name.clone(),
            created_at: Some(ts(e.created_at)),
        }
    }
}

impl From<&InteractionRow> for pb::Interaction {
    fn from(i: &InteractionRow) -> Self {
        pb::Interaction {
            id: i.id.to_string(),
            citizen_id: i.citizen_id.to_string(),
            kind: match InteractionKind::parse(&i.kind) {
                Some(InteractionKind::ContactRequest) => pb::InteractionKind::ContactRequest,
                Some(InteractionKind::CuratorEntry) => pb::InteractionKind::CuratorEntry,
                None => pb::InteractionKind::Unspecified,
            } as i32,
            request_text: i.request_text.clone(),
            result: i.result.clone(),
            created_by: i.created_by.clone(),
            created_by_name: i.created_by_name.clone(),
            created_at: Some(ts(i.created_at)),
            edited_by: i.edited_by.clone().unwrap_or_default(),
            edited_by_name: i.edited_by_name.clone().unwrap_or_default(),
            edited_at: i.edited_at.map(ts),
        }
    }
}

pub fn activity_kind_pb(k: ActivityKind) -> pb::ActivityKind {
    match k {
        ActivityKind::FileReceived => pb::ActivityKind::FileReceived,
        ActivityKind::ContactRequested => pb::ActivityKind::ContactRequested,
        ActivityKind::Skipped5Days => pb::ActivityKind::Skipped5Days,
        ActivityKind::Inactive10Days => pb::ActivityKind::Inactive10Days,
        ActivityKind::NoAssignments2Days => pb::ActivityKind::NoAssignments2Days,
        ActivityKind::CuratorReminder => pb::ActivityKind::CuratorReminder,
    }
}

/// `None` for UNSPECIFIED (no filter) and unknown values.
pub fn activity_kind(v: i32) -> Option<ActivityKind> {
    Some(match pb::ActivityKind::try_from(v).ok()? {
        pb::ActivityKind::Unspecified => return None,
        pb::ActivityKind::FileReceived => ActivityKind::FileReceived,
        pb::ActivityKind::ContactRequested => ActivityKind::ContactRequested,
        pb::ActivityKind::Skipped5Days => ActivityKind::Skipped5Days,
        pb::ActivityKind::Inactive10Days => ActivityKind::Inactive10Days,
        pb::ActivityKind::NoAssignments2Days => ActivityKind::NoAssignments2Days,
        pb::ActivityKind::CuratorReminder => ActivityKind::CuratorReminder,
    })
}

pub fn period(v: i32) -> Option<Period> {
    match pb::Period::try_from(v).ok()? {
        pb::Period::Unspecified => None,
        pb::Period::Today => Some(Period::Today),
        pb::Period::Yesterday => Some(Period::Yesterday),
        pb::Period::ThisWeek => Some(Period::ThisWeek),
    }
}

pub fn processed(v: i32) -> Option<bool> {
    match pb::ProcessedFilter::try_from(v).ok()? {
        pb::ProcessedFilter::Unspecified => None,
        pb::ProcessedFilter::Processed => Some(true),
        pb::ProcessedFilter::Unprocessed => Some(false),
    }
}

impl From<&ActivityRow> for pb::Activity {
    fn from(a: &ActivityRow) -> Self {
        pb::Activity {
            id: a.id.to_string(),
            citizen_id: a.citizen_id.to_string(),
            citizen_full_name: domain::full_name(&a.surname, &a.name, &a.patronymic),
            curator_id: opt_uuid(a.curator_id),
            district_id: opt_uuid(a.district_id),
            kind: ActivityKind::parse(&a.kind).map(activity_kind_pb).unwrap_or_default() as i32,
            summary: a.summary.clone(),
            occurred_at: Some(ts(a.occurred_at)),
            file_id: opt_uuid(a.file_id),
            interaction_id: opt_uuid(a.interaction_id),
            processed: a.processed_at.is_some(),
            processed_at: a.processed_at.map(ts),
            processed_by: a.processed_by.clone().unwrap_or_default(),
        }
    }
}

impl From<&AuditRow> for pb::AuditEvent {
    fn from(e: &AuditRow) -> Self {
        pb::AuditEvent {
            id: e.id.to_string(),
            actor_id: e.actor_id.clone(),
            action: e.action.clone(),
            entity: e.entity.clone(),
            entity_id: e.entity_id.clone(),
            citizen_id: opt_uuid(e.citizen_id),
            fields: e.fields.clone(),
            details_json: e.details.to_string(),
            occurred_at: Some(ts(e.occurred_at)),
        }
    }
}

/// Stored settings, or the defaults; a stored zone that no longer parses
/// falls back to the service's default.
pub fn tenant_settings(row: Option<&SettingsRow>, default_tz: chrono_tz::Tz) -> TenantSettings {
    match row {
        None => TenantSettings::defaults(default_tz),
        Some(r) => TenantSettings {
            citizen_term: r.citizen_term.clone(),
            citizens_section: r.citizens_section.clone(),
            curator_term: r.curator_term.clone(),
            curators_section: r.curators_section.clone(),
            curators_read_all: r.curators_read_all,
            time_zone: r.time_zone.parse().unwrap_or(default_tz),
        },
    }
}

pub fn tenant_settings_pb(t: &TenantSettings, updated_at: Option<DateTime<Utc>>) -> pb::TenantSettings {
    pb::TenantSettings {
        citizen_term: t.citizen_term.clone(),
        citizens_section: t.citizens_section.clone(),
        curator_term: t.curator_term.clone(),
        curators_section: t.curators_section.clone(),
        curators_read_all: t.curators_read_all,
        time_zone: t.time_zone.name().to_string(),
        updated_at: updated_at.map(ts),
    }
}

/// The settings an admin saves; empty terms and zone take the defaults.
pub fn tenant_settings_update(
    r: &pb::UpdateTenantSettingsRequest,
    default_tz: chrono_tz::Tz,
) -> Result<TenantSettings, AppError> {
    let mut errs = Violations::new();
    let citizen_term = errs.check("citizen_term", domain::term(&r.citizen_term, s::DEFAULT_CITIZEN_TERM));
    let citizens_section =
        errs.check("citizens_section", domain::term(&r.citizens_section, s::DEFAULT_CITIZENS_SECTION));
    let curator_term = errs.check("curator_term", domain::term(&r.curator_term, s::DEFAULT_CURATOR_TERM));
    let curators_section =
        errs.check("curators_section", domain::term(&r.curators_section, s::DEFAULT_CURATORS_SECTION));
    let time_zone = match opt_text(&r.time_zone) {
        Some(tz) => errs.check("time_zone", domain::time_zone(tz)),
        None => Some(default_tz),
    };
    errs.into_result()?;
    Ok(TenantSettings {
        citizen_term: citizen_term.unwrap_or_default(),
        citizens_section: citizens_section.unwrap_or_default(),
        curator_term: curator_term.unwrap_or_default(),
        curators_section: curators_section.unwrap_or_default(),
        curators_read_all: r.curators_read_all,
        time_zone: time_zone.unwrap_or(default_tz),
    })
}
