//! Operator actions outside gRPC: `opeka tenant create` and `opeka demo`.
//! They run with the service role and the same tenant transactions.
use chrono::Utc;
use opeka_platform::db;
use sqlx::PgPool;
use uuid::Uuid;

use crate::domain::{self, Role};
use crate::store::{self, Tenant};
use crate::{Settings, passwords, tokens};

pub struct CreatedAccount {
    pub id: Uuid,
    pub login: String,
    pub password: String,
}

/// Creates a tenant with its first admin; returns the admin's one-time password.
pub async fn create_tenant(
    pool: &PgPool,
    settings: &Settings,
    slug: &str,
    name: &str,
    admin_login: &str,
) -> anyhow::Result<(Tenant, CreatedAccount)> {
    let slug = domain::tenant_slug(slug).map_err(|e| anyhow::anyhow!("tenant slug: {e}"))?;
    anyhow::ensure!(!name.trim().is_empty(), "tenant name: {}", crate::strings::NAME_REQUIRED);
    let tenant = Tenant { id: Uuid::now_v7(), slug, name: name.trim().to_string() };
    let mut tx = pool.begin().await?;
    store::insert_tenant(&mut tx, &tenant).await.map_err(|e| match &e {
        sqlx::Error::Database(d) if d.constraint() == Some("tenants_slug_key") => {
            anyhow::anyhow!("tenant '{}' already exists", tenant.slug)
        }
        _ => e.into(),
    })?;
    tx.commit().await?;
    let admin = create_staff(pool, settings, tenant.id, admin_login, "Администратор", &[Role::Admin]).await?;
    Ok((tenant, admin))
}

/// Creates an active staff account with a generated password.
pub async fn create_staff(
    pool: &PgPool,
    settings: &Settings,
    tenant_id: Uuid,
    login: &str,
    surname: &str,
    roles: &[Role],
) -> anyhow::Result<CreatedAccount> {
    create_member(pool, settings, tenant_id, login, surname, roles, None).await
}

/// Creates an active staff account of an organisation (`None`: of none)
/// with a generated password.
pub async fn create_member(
    pool: &PgPool,
    settings: &Settings,
    tenant_id: Uuid,
    login: &str,
    surname: &str,
    roles: &[Role],
    organisation_id: Option<Uuid>,
) -> anyhow::Result<CreatedAccount> {
    let login = domain::Login::parse(login).map_err(|e| anyhow::anyhow!("login: {e}"))?;
    let password = tokens::random_secret()[..16].to_string();
    let hasher = passwords::Hasher::new(settings)?;
    let hash = hasher.hash(&password).await?;
    let id = Uuid::now_v7();
    let mut tx = db::tenant_tx(pool, tenant_id).await?;
    store::insert_account(
        &mut tx,
        &store::NewAccount {
            id,
            tenant_id,
            kind: "staff",
            status: "active",
            roles: roles.iter().map(|r| r.as_str().to_string()).collect(),
            login: Some(login.as_str().to_string()),
            surname: surname.to_string(),
            organisation_id,
            password_hash: Some(hash),
            now: Utc::now(),
            ..Default::default()
        },
    )
    .await?;
    store::audit(
        &mut tx,
        store::AuditEntry {
            tenant_id,
            actor_id: "system",
            action: "account.create",
            entity: "account",
            entity_id: id.to_string(),
            details: serde_json::json!({
                "login": login.as_str(),
                "roles": roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
                "organisation_id": organisation_id,
            }),
            at: Utc::now(),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(CreatedAccount { id, login: login.as_str().to_string(), password })
}

pub async fn find_tenant(pool: &PgPool, slug: &str) -> anyhow::Result<Option<Tenant>> {
    Ok(store::tenant_by_slug(pool, slug).await?)
}

/// For the demo: gives an existing account a fresh password, or creates it.
pub async fn reset_or_create(
    pool: &PgPool,
    settings: &Settings,
    tenant_id: Uuid,
    login: &str,
    surname: &str,
    roles: &[Role],
) -> anyhow::Result<CreatedAccount> {
    reset_or_create_member(pool, settings, tenant_id, login, surname, roles, None).await
}

/// For the demo: an existing staff account of the organisation gets a fresh
/// password (and is moved back to `organisation_id` and `roles` if someone
/// changed them), or the account is created.
pub async fn reset_or_create_member(
    pool: &PgPool,
    settings: &Settings,
    tenant_id: Uuid,
    login: &str,
    surname: &str,
    roles: &[Role],
    organisation_id: Option<Uuid>,
) -> anyhow::Result<CreatedAccount> {
    let mut tx = db::tenant_tx(pool, tenant_id).await?;
    let Some(a) = store::find_staff_by_login(&mut tx, login).await? else {
        drop(tx);
        return create_member(pool, settings, tenant_id, login, surname, roles, organisation_id).await;
    };
    let now = Utc::now();
    let roles: Vec<String> = roles.iter().map(|r| r.as_str().to_string()).collect();
    if a.organisation_id != organisation_id || a.roles != roles {
        let update = store::StaffUpdate {
            surname: a.surname.clone(),
            name: a.name.clone(),
            patronymic: a.patronymic.clone(),
            email: a.email.clone(),
            phone: a.phone.clone(),
            telegram_username: a.telegram_username.clone(),
            district_id: a.district_id,
            organisation_id,
            login: a.login.clone(),
            roles,
        };
        store::update_staff(&mut tx, a.id, &update, now).await?;
    }
    let password = tokens::random_secret()[..16].to_string();
    let hash = passwords::Hasher::new(settings)?.hash(&password).await?;
    store::set_password(&mut tx, a.id, &hash, now).await?;
    tx.commit().await?;
    Ok(CreatedAccount { id: a.id, login: login.to_string(), password })
}

/// For the demo: the tenant's organisation of this kind and name, created
/// when missing. `kind` is identity's code (`executive_body`,
/// `legal_aid_centre`, …).
pub async fn ensure_organisation(pool: &PgPool, tenant_id: Uuid, name: &str, kind: &str) -> anyhow::Result<Uuid> {
    let mut tx = db::tenant_tx(pool, tenant_id).await?;
    let existing = store::list_organisations(&mut tx, Some(kind)).await?;
    if let Some(o) = existing.into_iter().find(|o| o.name == name) {
        return Ok(o.id);
    }
    let org = store::OrganisationRow {
        id: Uuid::now_v7(),
        name: name.to_string(),
        kind: kind.to_string(),
        parent_id: None,
        created_at: Utc::now(),
    };
    store::insert_organisation(&mut tx, tenant_id, &org).await?;
    store::audit(
        &mut tx,
        store::AuditEntry {
            tenant_id,
            actor_id: "system",
            action: "organisation.create",
            entity: "organisation",
            entity_id: org.id.to_string(),
            details: serde_json::json!({"name": name, "kind": kind}),
            at: org.created_at,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(org.id)
}
