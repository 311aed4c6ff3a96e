//! All of legal aid's SQL. Queries run inside a tenant transaction (RLS) and
//! name `tenant_id` where an index starts with it; the one exception is the
//! slug lookup of public calls (`tenant_by_slug`), which runs before the
//! tenant is known and is allowed by its own select policy.
use chrono::{DateTime, NaiveDate, Utc};
use opeka_platform::wire::NumberedPage;
use sqlx::{PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

use super::domain::{
    CentreDetails, ConsultationDraft, ConsultationFilter, ConsultationSort, QuestionDraft, QuestionStatus, RefDraft,
    RefEntry, RefKind, ReferralDraft,
};

type Result<T> = std::result::Result<T, sqlx::Error>;

// ------------------------------------------------------------------ tenants

/// Records the tenant (and its slug, for public calls). True when this call
/// added it: the caller then fills in the default reference lists.
pub async fn ensure_tenant(conn: &mut PgConnection, tenant_id: Uuid, slug: &str, now: DateTime<Utc>) -> Result<bool> {
    let r = sqlx::query(
        "insert into legal_aid_tenants (tenant_id, slug, updated_at) values ($1, $2, $3) on conflict do nothing",
    )
    .bind(tenant_id)
    .bind(slug)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// The tenant named by `slug` in a public call (no tenant set yet).
pub async fn tenant_by_slug(conn: &mut PgConnection, slug: &str) -> Result<Option<Uuid>> {
    sqlx::query_scalar("select tenant_id from legal_aid_tenants where slug = $1").bind(slug).fetch_optional(conn).await
}

pub async fn fallback_centre(conn: &mut PgConnection, tenant_id: Uuid) -> Result<Option<Uuid>> {
    let r: Option<Option<Uuid>> =
        sqlx::query_scalar("select fallback_centre_id from legal_aid_tenants where tenant_id = $1")
            .bind(tenant_id)
            .fetch_optional(conn)
            .await?;
    Ok(r.flatten())
}

pub async fn set_fallback_centre(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    centre: Uuid,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query("update legal_aid_tenants set fallback_centre_id = $2, updated_at = $3 where tenant_id = $1")
        .bind(tenant_id)
        .bind(centre)
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}

// --------------------------------------------------------------- references

#[derive(Debug, Clone, sqlx::FromRow)]
struct RefRow {
    kind: String,
    code: String,
    name: String,
    parent_code: Option<String>,
    archived: bool,
}

pub async fn insert_default_refs(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    defaults: &[(&str, &str, &str, &str)],
    now: DateTime<Utc>,
) -> Result<()> {
    let mut q: QueryBuilder<Postgres> =
        QueryBuilder::new("insert into legal_aid_refs (tenant_id, kind, code, name, parent_code, updated_at) ");
    q.push_values(defaults, |mut b, (kind, code, name, parent)| {
        b.push_bind(tenant_id)
            .push_bind(*kind)
            .push_bind(*code)
            .push_bind(*name)
            .push_bind((!parent.is_empty()).then_some(*parent))
            .push_bind(now);
    });
    q.push(" on conflict do nothing");
    q.build().execute(conn).await?;
    Ok(())
}

pub async fn refs(conn: &mut PgConnection, tenant_id: Uuid) -> Result<Vec<RefEntry>> {
    let rows: Vec<RefRow> = sqlx::query_as(
        "select kind, code, name, parent_code, archived from legal_aid_refs where tenant_id = $1
         order by kind, lower(name), code",
    )
    .bind(tenant_id)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            Some(RefEntry {
                kind: RefKind::parse(&r.kind)?,
                code: r.code,
                name: r.name,
                parent_code: r.parent_code.unwrap_or_default(),
                archived: r.archived,
            })
        })
        .collect())
}

pub async fn upsert_ref(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    code: &str,
    d: &RefDraft,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "insert into legal_aid_refs (tenant_id, kind, code, name, parent_code, archived, updated_at)
         values ($1, $2, $3, $4, $5, $6, $7)
         on conflict (tenant_id, kind, code) do update set name = excluded.name,
            parent_code = excluded.parent_code, archived = excluded.archived, updated_at = excluded.updated_at",
    )
    .bind(tenant_id)
    .bind(d.kind.as_str())
    .bind(code)
    .bind(&d.name)
    .bind((!d.parent_code.is_empty()).then_some(d.parent_code.as_str()))
    .bind(d.archived)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

// ------------------------------------------------------------------ centres

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CentreRow {
    pub org_id: Uuid,
    pub name: String,
    pub address: String,
    pub phone: String,
    pub email: String,
    pub head: String,
}

impl CentreRow {
    pub fn details(&self) -> CentreDetails {
        CentreDetails {
            address: self.address.clone(),
            phone: self.phone.clone(),
            email: self.email.clone(),
            head: self.head.clone(),
        }
    }
}

const CENTRE_COLUMNS: &str = "org_id, name, address, phone, email, head";

pub async fn centres(conn: &mut PgConnection, tenant_id: Uuid) -> Result<Vec<CentreRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {CENTRE_COLUMNS} from legal_aid_centres where tenant_id = $1 order by lower(name), org_id"
    )))
    .bind(tenant_id)
    .fetch_all(conn)
    .await
}

pub async fn centre(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> Result<Option<CentreRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {CENTRE_COLUMNS} from legal_aid_centres where tenant_id = $1 and org_id = $2"
    )))
    .bind(tenant_id)
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// Brings the copies of centre names in step with identity's organisations.
pub async fn upsert_centre_names(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    centres: &[(Uuid, String)],
    now: DateTime<Utc>,
) -> Result<()> {
    if centres.is_empty() {
        return Ok(());
    }
    let mut q: QueryBuilder<Postgres> =
        QueryBuilder::new("insert into legal_aid_centres (tenant_id, org_id, name, updated_at) ");
    q.push_values(centres, |mut b, (id, name)| {
        b.push_bind(tenant_id).push_bind(*id).push_bind(name.as_str()).push_bind(now);
    });
    q.push(
        " on conflict (tenant_id, org_id) do update set name = excluded.name, updated_at = excluded.updated_at
          where legal_aid_centres.name is distinct from excluded.name",
    );
    q.build().execute(conn).await?;
    Ok(())
}

pub async fn update_centre(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    d: &CentreDetails,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "update legal_aid_centres set address = $3, phone = $4, email = $5, head = $6, updated_at = $7
         where tenant_id = $1 and org_id = $2",
    )
    .bind(tenant_id)
    .bind(id)
    .bind(&d.address)
    .bind(&d.phone)
    .bind(&d.email)
    .bind(&d.head)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

// ------------------------------------------------------------------ routing

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RouteRow {
    pub district_code: String,
    pub centre_id: Uuid,
}

pub async fn routes(conn: &mut PgConnection, tenant_id: Uuid) -> Result<Vec<RouteRow>> {
    sqlx::query_as("select district_code, centre_id from legal_aid_district_routes where tenant_id = $1")
        .bind(tenant_id)
        .fetch_all(conn)
        .await
}

pub async fn district_centre(conn: &mut PgConnection, tenant_id: Uuid, district: &str) -> Result<Option<Uuid>> {
    sqlx::query_scalar("select centre_id from legal_aid_district_routes where tenant_id = $1 and district_code = $2")
        .bind(tenant_id)
        .bind(district)
        .fetch_optional(conn)
        .await
}

pub async fn set_route(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    district: &str,
    centre: Option<Uuid>,
    now: DateTime<Utc>,
    by: &str,
) -> Result<()> {
    match centre {
        Some(c) => {
            sqlx::query(
                "insert into legal_aid_district_routes (tenant_id, district_code, centre_id, updated_at, updated_by)
                 values ($1, $2, $3, $4, $5)
                 on conflict (tenant_id, district_code) do update set centre_id = excluded.centre_id,
                    updated_at = excluded.updated_at, updated_by = excluded.updated_by",
            )
            .bind(tenant_id)
            .bind(district)
            .bind(c)
            .bind(now)
            .bind(by)
            .execute(conn)
            .await?;
        }
        None => {
            sqlx::query("delete from legal_aid_district_routes where tenant_id = $1 and district_code = $2")
                .bind(tenant_id)
                .bind(district)
                .execute(conn)
                .await?;
        }
    }
    Ok(())
}

// ------------------------------------------------------------ consultations

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ConsultationRow {
    pub id: Uuid,
    pub centre_id: Uuid,
    pub consultant_id: Uuid,
    pub consulted_on: NaiveDate,
    pub full_name: String,
    pub age: i32,
    pub gender_code: String,
    pub citizenship_code: String,
    pub social_status_code: String,
    pub phone: String,
    pub whatsapp: String,
    pub email: String,
    pub region_code: String,
    pub district_code: String,
    pub city: String,
    pub category_codes: Vec<String>,
    pub help_type_code: String,
    pub written_appeal: bool,
    pub lawyer_provided: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const CONSULTATION_COLUMNS: &str = "c.id, c.centre_id, c.consultant_id, c.consulted_on, c.full_name, c.age,
    c.gender_code, c.citizenship_code, c.social_status_code, c.phone, c.whatsapp, c.email, c.region_code,
    c.district_code, c.city, c.category_codes, c.help_type_code, c.written_appeal, c.lawyer_provided, c.version,
    c.created_at, c.updated_at";

pub struct NewConsultation<'a> {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub request_id: Uuid,
    pub centre_id: Uuid,
    pub consultant_id: Uuid,
    pub draft: &'a ConsultationDraft,
    pub now: DateTime<Utc>,
}

/// Inserts unless `request_id` was used already; false then.
pub async fn insert_consultation(conn: &mut PgConnection, n: &NewConsultation<'_>) -> Result<bool> {
    let d = n.draft;
    let r = sqlx::query(
        "insert into legal_aid_consultations (id, tenant_id, request_id, centre_id, consultant_id, consulted_on,
            full_name, age, gender_code, citizenship_code, social_status_code, phone, whatsapp, email, region_code,
            district_code, city, category_codes, help_type_code, written_appeal, lawyer_provided, created_at,
            updated_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21,
            $22, $22)
         on conflict (tenant_id, request_id) do nothing",
    )
    .bind(n.id)
    .bind(n.tenant_id)
    .bind(n.request_id)
    .bind(n.centre_id)
    .bind(n.consultant_id)
    .bind(d.date)
    .bind(&d.full_name)
    .bind(d.age)
    .bind(&d.gender)
    .bind(&d.citizenship)
    .bind(&d.social_status)
    .bind(&d.phone)
    .bind(&d.whatsapp)
    .bind(&d.email)
    .bind(&d.region)
    .bind(&d.district)
    .bind(&d.city)
    .bind(&d.categories)
    .bind(&d.help_type)
    .bind(d.written_appeal)
    .bind(d.lawyer_provided)
    .bind(n.now)
    .execute(conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// The live record made with `request_id`.
pub async fn consultation_by_request(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    request_id: Uuid,
) -> Result<Option<ConsultationRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {CONSULTATION_COLUMNS} from legal_aid_consultations c
         where c.tenant_id = $1 and c.request_id = $2 and c.deleted_at is null"
    )))
    .bind(tenant_id)
    .bind(request_id)
    .fetch_optional(conn)
    .await
}

pub async fn consultation(conn: &mut PgConnection, id: Uuid, lock: bool) -> Result<Option<ConsultationRow>> {
    let lock = if lock { " for update" } else { "" };
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {CONSULTATION_COLUMNS} from legal_aid_consultations c where c.id = $1 and c.deleted_at is null{lock}"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// Replaces the fields if `version` is current; false when it is not.
pub async fn update_consultation(
    conn: &mut PgConnection,
    id: Uuid,
    version: i64,
    centre_id: Uuid,
    d: &ConsultationDraft,
    now: DateTime<Utc>,
) -> Result<bool> {
    let r = sqlx::query(
        "update legal_aid_consultations set centre_id = $3, consulted_on = $4, full_name = $5, age = $6,
            gender_code = $7, citizenship_code = $8, social_status_code = $9, phone = $10, whatsapp = $11,
            email = $12, region_code = $13, district_code = $14, city = $15, category_codes = $16,
            help_type_code = $17, written_appeal = $18, lawyer_provided = $19, updated_at = $20,
            version = version + 1
         where id = $1 and version = $2 and deleted_at is null",
    )
    .bind(id)
    .bind(version)
    .bind(centre_id)
    .bind(d.date)
    .bind(&d.full_name)
    .bind(d.age)
    .bind(&d.gender)
    .bind(&d.citizenship)
    .bind(&d.social_status)
    .bind(&d.phone)
    .bind(&d.whatsapp)
    .bind(&d.email)
    .bind(&d.region)
    .bind(&d.district)
    .bind(&d.city)
    .bind(&d.categories)
    .bind(&d.help_type)
    .bind(d.written_appeal)
    .bind(d.lawyer_provided)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn delete_consultation(conn: &mut PgConnection, id: Uuid, now: DateTime<Utc>) -> Result<()> {
    sqlx::query(
        "update legal_aid_consultations set deleted_at = $2, updated_at = $2, version = version + 1
         where id = $1 and deleted_at is null",
    )
    .bind(id)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

fn consultation_where(q: &mut QueryBuilder<Postgres>, tenant_id: Uuid, f: &ConsultationFilter) {
    q.push(" where c.tenant_id = ").push_bind(tenant_id).push(" and c.deleted_at is null");
    if let Some(c) = f.centre {
        q.push(" and c.centre_id = ").push_bind(c);
    }
    if let Some(d) = f.date_from {
        q.push(" and c.consulted_on >= ").push_bind(d);
    }
    if let Some(d) = f.date_to {
        q.push(" and c.consulted_on <= ").push_bind(d);
    }
    if let Some(a) = f.age_from {
        q.push(" and c.age >= ").push_bind(a);
    }
    if let Some(a) = f.age_to {
        q.push(" and c.age <= ").push_bind(a);
    }
}

/// The name of a reference entry, for sorting by it.
fn ref_name(kind: RefKind, code_expr: &str) -> String {
    format!(
        "(select r.name from legal_aid_refs r where r.tenant_id = c.tenant_id and r.kind = '{}' and r.code = {code_expr})",
        kind.as_str()
    )
}

fn sort_expr(sort: ConsultationSort) -> String {
    match sort {
        ConsultationSort::Date => "c.consulted_on".into(),
        ConsultationSort::FullName => "lower(c.full_name)".into(),
        ConsultationSort::Age => "c.age".into(),
        ConsultationSort::Gender => ref_name(RefKind::Gender, "c.gender_code"),
        ConsultationSort::SocialStatus => ref_name(RefKind::SocialStatus, "c.social_status_code"),
        ConsultationSort::Citizenship => ref_name(RefKind::Citizenship, "c.citizenship_code"),
        ConsultationSort::Category => ref_name(RefKind::Category, "c.category_codes[1]"),
        ConsultationSort::Centre => "(select ce.name from legal_aid_centres ce
            where ce.tenant_id = c.tenant_id and ce.org_id = c.centre_id)"
            .into(),
    }
}

/// One page of the list and the number of matches.
pub async fn list_consultations(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    f: &ConsultationFilter,
    sort: (ConsultationSort, bool),
    page: NumberedPage,
) -> Result<(Vec<ConsultationRow>, i64)> {
    let mut count: QueryBuilder<Postgres> = QueryBuilder::new("select count(*) from legal_aid_consultations c");
    consultation_where(&mut count, tenant_id, f);
    let total: i64 = count.build_query_scalar().fetch_one(&mut *conn).await?;
    let mut q: QueryBuilder<Postgres> =
        QueryBuilder::new(format!("select {CONSULTATION_COLUMNS} from legal_aid_consultations c"));
    consultation_where(&mut q, tenant_id, f);
    let dir = if sort.1 { "desc nulls last" } else { "asc nulls last" };
    // Ties: newest first, then by id, so pages never overlap.
    q.push(format!(" order by {} {dir}, c.consulted_on desc, c.created_at desc, c.id desc", sort_expr(sort.0)));
    q.push(" limit ").push_bind(page.size).push(" offset ").push_bind(page.offset());
    let rows = q.build_query_as().fetch_all(conn).await?;
    Ok((rows, total))
}

// ---------------------------------------------------------------- referrals

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReferralRow {
    pub id: Uuid,
    pub centre_id: Uuid,
    pub consultant_id: Uuid,
    pub consultation_id: Option<Uuid>,
    pub referred_on: NaiveDate,
    pub client_full_name: String,
    pub client_age: Option<i32>,
    pub client_phone: String,
    pub client_address: String,
    pub to_organisation: String,
    pub to_address: String,
    pub reason: String,
    pub form_text: String,
    pub form_edited: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ReferralRow {
    pub fn draft(&self) -> ReferralDraft {
        ReferralDraft {
            consultation_id: self.consultation_id,
            client_full_name: self.client_full_name.clone(),
            client_age: self.client_age,
            client_phone: self.client_phone.clone(),
            client_address: self.client_address.clone(),
            to_organisation: self.to_organisation.clone(),
            to_address: self.to_address.clone(),
            reason: self.reason.clone(),
            date: self.referred_on,
        }
    }
}

const REFERRAL_COLUMNS: &str = "id, centre_id, consultant_id, consultation_id, referred_on, client_full_name,
    client_age, client_phone, client_address, to_organisation, to_address, reason, form_text, form_edited, version,
    created_at, updated_at";

pub struct NewReferral<'a> {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub request_id: Uuid,
    pub centre_id: Uuid,
    pub consultant_id: Uuid,
    pub draft: &'a ReferralDraft,
    pub form_text: &'a str,
    pub now: DateTime<Utc>,
}

pub async fn insert_referral(conn: &mut PgConnection, n: &NewReferral<'_>) -> Result<bool> {
    let d = n.draft;
    let r = sqlx::query(
        "insert into legal_aid_referrals (id, tenant_id, request_id, centre_id, consultant_id, consultation_id,
            referred_on, client_full_name, client_age, client_phone, client_address, to_organisation, to_address,
            reason, form_text, created_at, updated_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16)
         on conflict (tenant_id, request_id) do nothing",
    )
    .bind(n.id)
    .bind(n.tenant_id)
    .bind(n.request_id)
    .bind(n.centre_id)
    .bind(n.consultant_id)
    .bind(d.consultation_id)
    .bind(d.date)
    .bind(&d.client_full_name)
    .bind(d.client_age)
    .bind(&d.client_phone)
    .bind(&d.client_address)
    .bind(&d.to_organisation)
    .bind(&d.to_address)
    .bind(&d.reason)
    .bind(n.form_text)
    .bind(n.now)
    .execute(conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn referral_by_request(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    request_id: Uuid,
) -> Result<Option<ReferralRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {REFERRAL_COLUMNS} from legal_aid_referrals
         where tenant_id = $1 and request_id = $2 and deleted_at is null"
    )))
    .bind(tenant_id)
    .bind(request_id)
    .fetch_optional(conn)
    .await
}

pub async fn referral(conn: &mut PgConnection, id: Uuid, lock: bool) -> Result<Option<ReferralRow>> {
    let lock = if lock { " for update" } else { "" };
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {REFERRAL_COLUMNS} from legal_aid_referrals where id = $1 and deleted_at is null{lock}"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// Replaces the fields and the form if `version` is current.
pub async fn update_referral(
    conn: &mut PgConnection,
    id: Uuid,
    version: i64,
    d: &ReferralDraft,
    form_text: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    let r = sqlx::query(
        "update legal_aid_referrals set consultation_id = $3, referred_on = $4, client_full_name = $5,
            client_age = $6, client_phone = $7, client_address = $8, to_organisation = $9, to_address = $10,
            reason = $11, form_text = $12, updated_at = $13, version = version + 1
         where id = $1 and version = $2 and deleted_at is null",
    )
    .bind(id)
    .bind(version)
    .bind(d.consultation_id)
    .bind(d.date)
    .bind(&d.client_full_name)
    .bind(d.client_age)
    .bind(&d.client_phone)
    .bind(&d.client_address)
    .bind(&d.to_organisation)
    .bind(&d.to_address)
    .bind(&d.reason)
    .bind(form_text)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn update_referral_form(
    conn: &mut PgConnection,
    id: Uuid,
    version: i64,
    form_text: &str,
    edited: bool,
    now: DateTime<Utc>,
) -> Result<bool> {
    let r = sqlx::query(
        "update legal_aid_referrals set form_text = $3, form_edited = $4, updated_at = $5, version = version + 1
         where id = $1 and version = $2 and deleted_at is null",
    )
    .bind(id)
    .bind(version)
    .bind(form_text)
    .bind(edited)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn delete_referral(conn: &mut PgConnection, id: Uuid, now: DateTime<Utc>) -> Result<()> {
    sqlx::query(
        "update legal_aid_referrals set deleted_at = $2, updated_at = $2, version = version + 1
         where id = $1 and deleted_at is null",
    )
    .bind(id)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

pub struct ReferralFilter {
    pub centre: Option<Uuid>,
    pub date_from: Option<NaiveDate>,
    pub date_to: Option<NaiveDate>,
}

pub async fn list_referrals(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    f: &ReferralFilter,
    page: NumberedPage,
) -> Result<(Vec<ReferralRow>, i64)> {
    fn filter(q: &mut QueryBuilder<Postgres>, tenant_id: Uuid, f: &ReferralFilter) {
        q.push(" where tenant_id = ").push_bind(tenant_id).push(" and deleted_at is null");
        if let Some(c) = f.centre {
            q.push(" and centre_id = ").push_bind(c);
        }
        if let Some(d) = f.date_from {
            q.push(" and referred_on >= ").push_bind(d);
        }
        if let Some(d) = f.date_to {
            q.push(" and referred_on <= ").push_bind(d);
        }
    }
    let mut count: QueryBuilder<Postgres> = QueryBuilder::new("select count(*) from legal_aid_referrals");
    filter(&mut count, tenant_id, f);
    let total: i64 = count.build_query_scalar().fetch_one(&mut *conn).await?;
    let mut q: QueryBuilder<Postgres> =
        QueryBuilder::new(format!("select {REFERRAL_COLUMNS} from legal_aid_referrals"));
    filter(&mut q, tenant_id, f);
    q.push(" order by referred_on desc, created_at desc, id desc limit ").push_bind(page.size);
    q.push(" offset ").push_bind(page.offset());
    let rows = q.build_query_as().fetch_all(conn).await?;
    Ok((rows, total))
}

// ---------------------------------------------------------------- questions

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct QuestionRow {
    pub id: Uuid,
    pub centre_id: Uuid,
    pub fallback: bool,
    pub asker_name: String,
    pub contact_email: String,
    pub contact_phone: String,
    pub region_code: String,
    pub district_code: String,
    pub city: String,
    pub question: String,
    pub status: String,
    pub answer: String,
    pub answered_by: Option<Uuid>,
    pub answered_at: Option<DateTime<Utc>>,
    pub moderation_comment: String,
    pub moderated_by: Option<Uuid>,
    pub moderated_at: Option<DateTime<Utc>>,
    pub published_at: Option<DateTime<Utc>>,
    pub asked_at: DateTime<Utc>,
}

impl QuestionRow {
    pub fn status(&self) -> QuestionStatus {
        // The column's check constraint allows only the four statuses.
        QuestionStatus::parse(&self.status).unwrap_or(QuestionStatus::Waiting)
    }
}

const QUESTION_COLUMNS: &str = "id, centre_id, fallback, asker_name, contact_email, contact_phone, region_code,
    district_code, city, question, status, answer, answered_by, answered_at, moderation_comment, moderated_by,
    moderated_at, published_at, asked_at";

pub struct NewQuestion<'a> {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub centre_id: Uuid,
    pub fallback: bool,
    pub draft: &'a QuestionDraft,
    pub now: DateTime<Utc>,
}

pub async fn insert_question(conn: &mut PgConnection, n: &NewQuestion<'_>) -> Result<bool> {
    let d = n.draft;
    let r = sqlx::query(
        "insert into legal_aid_questions (id, tenant_id, request_id, centre_id, fallback, asker_name, contact_email,
            contact_phone, region_code, district_code, city, question, status, asked_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'waiting', $13)
         on conflict (tenant_id, request_id) where request_id is not null do nothing",
    )
    .bind(n.id)
    .bind(n.tenant_id)
    .bind(d.request_id)
    .bind(n.centre_id)
    .bind(n.fallback)
    .bind(&d.name)
    .bind(&d.email)
    .bind(&d.phone)
    .bind(&d.region)
    .bind(&d.district)
    .bind(&d.city)
    .bind(&d.text)
    .bind(n.now)
    .execute(conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn question_by_request(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    request_id: Uuid,
) -> Result<Option<QuestionRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {QUESTION_COLUMNS} from legal_aid_questions where tenant_id = $1 and request_id = $2"
    )))
    .bind(tenant_id)
    .bind(request_id)
    .fetch_optional(conn)
    .await
}

pub async fn question(conn: &mut PgConnection, id: Uuid, lock: bool) -> Result<Option<QuestionRow>> {
    let lock = if lock { " for update" } else { "" };
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {QUESTION_COLUMNS} from legal_aid_questions where id = $1{lock}"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await
}

pub async fn answer_question(
    conn: &mut PgConnection,
    id: Uuid,
    answer: &str,
    by: Uuid,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "update legal_aid_questions set answer = $2, answered_by = $3, answered_at = $4, status = 'answered'
         where id = $1",
    )
    .bind(id)
    .bind(answer)
    .bind(by)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn moderate_question(
    conn: &mut PgConnection,
    id: Uuid,
    status: QuestionStatus,
    comment: &str,
    by: Uuid,
    now: DateTime<Utc>,
) -> Result<()> {
    let published = (status == QuestionStatus::Published).then_some(now);
    sqlx::query(
        "update legal_aid_questions set status = $2, moderation_comment = $3, moderated_by = $4, moderated_at = $5,
            published_at = $6
         where id = $1",
    )
    .bind(id)
    .bind(status.as_str())
    .bind(comment)
    .bind(by)
    .bind(now)
    .bind(published)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn list_questions(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    centre: Option<Uuid>,
    status: Option<QuestionStatus>,
    page: NumberedPage,
) -> Result<(Vec<QuestionRow>, i64)> {
    fn filter(q: &mut QueryBuilder<Postgres>, tenant_id: Uuid, centre: Option<Uuid>, status: Option<QuestionStatus>) {
        q.push(" where tenant_id = ").push_bind(tenant_id);
        if let Some(c) = centre {
            q.push(" and centre_id = ").push_bind(c);
        }
        if let Some(s) = status {
            q.push(" and status = ").push_bind(s.as_str());
        }
    }
    let mut count: QueryBuilder<Postgres> = QueryBuilder::new("select count(*) from legal_aid_questions");
    filter(&mut count, tenant_id, centre, status);
    let total: i64 = count.build_query_scalar().fetch_one(&mut *conn).await?;
    let mut q: QueryBuilder<Postgres> =
        QueryBuilder::new(format!("select {QUESTION_COLUMNS} from legal_aid_questions"));
    filter(&mut q, tenant_id, centre, status);
    // Waiting questions oldest first: the one waiting longest is answered first.
    let order = if status == Some(QuestionStatus::Waiting) { "asked_at, id" } else { "asked_at desc, id desc" };
    q.push(format!(" order by {order} limit ")).push_bind(page.size).push(" offset ").push_bind(page.offset());
    let rows = q.build_query_as().fetch_all(conn).await?;
    Ok((rows, total))
}

/// (needing an answer, waiting for moderation) of a centre or all centres.
pub async fn count_questions(conn: &mut PgConnection, tenant_id: Uuid, centre: Option<Uuid>) -> Result<(i64, i64)> {
    sqlx::query_as(
        "select count(*) filter (where status in ('waiting', 'rejected')),
                count(*) filter (where status = 'answered')
         from legal_aid_questions
         where tenant_id = $1 and ($2::uuid is null or centre_id = $2) and status <> 'published'",
    )
    .bind(tenant_id)
    .bind(centre)
    .fetch_one(conn)
    .await
}

/// Published questions only (S2-36), newest first.
pub async fn list_published(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    page: NumberedPage,
) -> Result<(Vec<QuestionRow>, i64)> {
    let total: i64 =
        sqlx::query_scalar("select count(*) from legal_aid_questions where tenant_id = $1 and status = 'published'")
            .bind(tenant_id)
            .fetch_one(&mut *conn)
            .await?;
    let rows = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {QUESTION_COLUMNS} from legal_aid_questions where tenant_id = $1 and status = 'published'
         order by published_at desc, id desc limit $2 offset $3"
    )))
    .bind(tenant_id)
    .bind(page.size)
    .bind(page.offset())
    .fetch_all(conn)
    .await?;
    Ok((rows, total))
}
