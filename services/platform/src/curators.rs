//! Who curates whom, as seen by a service that does not own the link.
//!
//! cases owns the curator ↔ citizen link; identity (citizen accounts, bot
//! link codes) and files (citizen files) must still decide, in the owning
//! service (DESIGN §3), whether a curator may touch a citizen's data. Each
//! keeps a projection of cases' `citizen_created`, `citizen_updated`,
//! `citizens_transferred` and `citizen_deleted` in its own
//! `citizen_curators` table (keyed by the citizen's *account* id, which is
//! what identity and files know a citizen by) and asks it locally.
//!
//! Why a projection rather than a call to cases: identity is upstream of
//! cases (cases creates citizen accounts and reads bot link codes through
//! identity with the caller's token), so a call back would make every such
//! request a cycle cases → identity → cases; a listing ("every citizen
//! account of this curator") would need a new cases RPC walking pages; and
//! identity's and files' reads would fail whenever cases is down. The price is
//! lag: a transfer reaches identity and files one relay hop later (about the
//! relay's poll interval). A citizen created a moment ago is covered by
//! [`wait_known`] and, in identity, by the row `CreateCitizenAccount` writes
//! for the creating curator itself.
//!
//! Each service's migration creates the table (same shape everywhere):
//! `citizen_curators (tenant_id, account_id, citizen_id, curator_id,
//! district_id)`, primary key `(tenant_id, account_id)`, tenant RLS.
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use opeka_proto::events::{Envelope, envelope::Body};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::bus::{Consumer, ConsumerSpec, Handler};

/// The cases events the projection follows.
pub const EVENTS: [&str; 4] = ["citizen_created", "citizen_updated", "citizens_transferred", "citizen_deleted"];

/// The durable consumer that keeps `citizen_curators` of `service` current.
pub fn consumer(service: &'static str) -> Consumer {
    Consumer {
        spec: ConsumerSpec::new(service, &format!("{service}-citizen-curators"), "cases", &EVENTS),
        handler: Arc::new(Projection),
    }
}

/// Over which citizens a caller's permission holds, in identity's or files'
/// terms (each service derives it from its own role table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CitizenScope {
    /// Every citizen of the tenant (admins).
    All,
    /// Citizens whose curator is `curator`, or who live in one of `districts`
    /// (an integration account's token names its districts). Neither named:
    /// no citizen at all.
    Only { curator: Option<Uuid>, districts: Vec<Uuid> },
}

/// No citizen at all: what a filter built without thought must show.
impl Default for CitizenScope {
    fn default() -> Self {
        Self::NONE
    }
}

impl CitizenScope {
    pub const NONE: CitizenScope = CitizenScope::Only { curator: None, districts: Vec::new() };

    pub fn is_all(&self) -> bool {
        matches!(self, CitizenScope::All)
    }

    /// Whether the scope admits no citizen at all.
    pub fn is_none(&self) -> bool {
        matches!(self, CitizenScope::Only { curator: None, districts } if districts.is_empty())
    }

    /// Bind values for a SQL filter of the form
    /// `($a::bool or <account> in (select account_id from citizen_curators
    /// where curator_id = $b or district_id = any($c)))`.
    pub fn binds(&self) -> (bool, Option<Uuid>, Vec<Uuid>) {
        match self {
            CitizenScope::All => (true, None, Vec::new()),
            CitizenScope::Only { curator, districts } => (false, *curator, districts.clone()),
        }
    }

    /// Whether the citizen with account `account` is inside the scope.
    pub async fn admits(&self, conn: &mut PgConnection, account: Uuid) -> Result<bool, sqlx::Error> {
        if self.is_all() {
            return Ok(true);
        }
        if self.is_none() {
            return Ok(false);
        }
        let (_, curator, districts) = self.binds();
        sqlx::query_scalar(
            "select exists (select 1 from citizen_curators where account_id = $1
               and (curator_id = $2 or district_id = any($3)))",
        )
        .bind(account)
        .bind(curator)
        .bind(&districts)
        .fetch_one(conn)
        .await
    }
}

/// Whether the projection knows the citizen with account `account` at all.
pub async fn known(conn: &mut PgConnection, account: Uuid) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("select exists (select 1 from citizen_curators where account_id = $1)")
        .bind(account)
        .fetch_one(conn)
        .await
}

/// How long [`wait_known`] waits for a citizen cases has just created.
pub const CATCH_UP: Duration = Duration::from_secs(3);

/// Waits (polling, up to [`CATCH_UP`]) until the projection knows account
/// `account`, so a curator who has just created a card can use it at once.
/// Polls in short transactions of its own on `pool`; a caller's READ
/// COMMITTED transaction sees the row afterwards. Returns whether it
/// turned up.
pub async fn wait_known(pool: &sqlx::PgPool, tenant: Uuid, account: Uuid) -> Result<bool, sqlx::Error> {
    let deadline = tokio::time::Instant::now() + CATCH_UP;
    loop {
        let mut tx = pool.begin().await?;
        crate::db::set_tenant(&mut tx, tenant).await?;
        let found = known(&mut tx, account).await?;
        tx.rollback().await?;
        if found || tokio::time::Instant::now() >= deadline {
            return Ok(found);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Records `curator` as the curator of account `account` before cases'
/// `citizen_created` arrives (identity's `CreateCitizenAccount`, called by
/// the curator who is creating the card). The event later fills the rest.
pub async fn record_creator(
    conn: &mut PgConnection,
    tenant: Uuid,
    account: Uuid,
    curator: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into citizen_curators (tenant_id, account_id, curator_id) values ($1, $2, $3)
         on conflict (tenant_id, account_id) do nothing",
    )
    .bind(tenant)
    .bind(account)
    .bind(curator)
    .execute(conn)
    .await?;
    Ok(())
}

fn opt_id(v: &str) -> anyhow::Result<Option<Uuid>> {
    match v.trim() {
        "" => Ok(None),
        v => Ok(Some(v.parse()?)),
    }
}

/// Applies cases' citizen events to `citizen_curators`. Idempotent by
/// construction (every statement sets a state), and the platform's
/// `processed_events` skips redeliveries anyway.
struct Projection;

impl Handler for Projection {
    fn handle<'a>(
        &'a self,
        tx: &'a mut PgConnection,
        envelope: &'a Envelope,
        _subject: &'a str,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let tenant: Uuid = envelope.tenant_id.parse()?;
            match &envelope.body {
                Some(Body::CitizenCreated(e)) => {
                    let account: Uuid = e.account_id.parse()?;
                    sqlx::query(
                        "insert into citizen_curators (tenant_id, account_id, citizen_id, curator_id, district_id)
                         values ($1, $2, $3, $4, $5)
                         on conflict (tenant_id, account_id) do update
                         set citizen_id = excluded.citizen_id, curator_id = excluded.curator_id,
                             district_id = excluded.district_id",
                    )
                    .bind(tenant)
                    .bind(account)
                    .bind(e.citizen_id.parse::<Uuid>()?)
                    .bind(opt_id(&e.curator_id)?)
                    .bind(opt_id(&e.district_id)?)
                    .execute(&mut *tx)
                    .await?;
                }
                Some(Body::CitizenUpdated(e)) => {
                    sqlx::query(
                        "update citizen_curators set curator_id = $2,
                             district_id = case when $4 then $3 else district_id end
                         where citizen_id = $1",
                    )
                    .bind(e.citizen_id.parse::<Uuid>()?)
                    .bind(opt_id(&e.curator_id)?)
                    // Events written before `district_id` was added carry none:
                    // the district then stays as it was.
                    .bind(e.district_id.as_deref().map(opt_id).transpose()?.flatten())
                    .bind(e.district_id.is_some())
                    .execute(&mut *tx)
                    .await?;
                }
                Some(Body::CitizensTransferred(e)) => {
                    let ids = e.citizen_ids.iter().map(|i| i.parse()).collect::<Result<Vec<Uuid>, _>>()?;
                    sqlx::query("update citizen_curators set curator_id = $2 where citizen_id = any($1)")
                        .bind(&ids)
                        .bind(opt_id(&e.to_curator_id)?)
                        .execute(&mut *tx)
                        .await?;
                }
                Some(Body::CitizenDeleted(e)) => {
                    sqlx::query("delete from citizen_curators where citizen_id = $1")
                        .bind(e.citizen_id.parse::<Uuid>()?)
                        .execute(&mut *tx)
                        .await?;
                }
                _ => {}
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes() {
        assert!(CitizenScope::NONE.is_none());
        assert!(!CitizenScope::All.is_none());
        let own = CitizenScope::Only { curator: Some(Uuid::nil()), districts: vec![] };
        assert!(!own.is_none());
        assert_eq!(own.binds(), (false, Some(Uuid::nil()), vec![]));
    }
}
