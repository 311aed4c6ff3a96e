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
            details: serde_json::json!({"login": login.as_str(), "roles": roles.iter().map(|r| r.as_str()).collect::<Vec<_>>()}),
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
    let mut tx = db::tenant_tx(pool, tenant_id).await?;
    let existing = store::find_staff_by_login(&mut tx, login).await?;
    let Some(a) = existing else {
        drop(tx);
        return create_staff(pool, settings, tenant_id, login, surname, roles).await;
    };
    let password = tokens::random_secret()[..16].to_string();
    let hash = passwords::Hasher::new(settings)?.hash(&password).await?;
    store::set_password(&mut tx, a.id, &hash, Utc::now()).await?;
    tx.commit().await?;
    Ok(CreatedAccount { id: a.id, login: login.to_string(), password })
}
