//! The cases sandbox: identity, cases and files (asked about appeals'
//! attachments) on the testkit sandbox, a settable clock for cases, typed
//! clients per signed-in account, and raw pools.
use std::collections::BTreeMap;

use chrono::{DateTime, SubsecRound, Utc};
use opeka_platform::ManualClock;
use opeka_platform::settings::PlatformSettings;
use opeka_proto::cases::{self as pb, cases_service_client::CasesServiceClient};
use opeka_proto::events::{Envelope, envelope::Body};
use opeka_proto::identity::{self as idpb, identity_service_client::IdentityServiceClient};
use opeka_testkit::{Authed, Sandbox, Service};
use sqlx::PgPool;
use tonic::Status;
use uuid::Uuid;

// The benches include this file and use only part of it.
#[allow(unused_imports)]
pub use opeka_testkit::{PASSWORD, expect_code, expect_invalid, wait_until};

/// Cases' tables, for snapshots and the isolation test.
pub const TABLES: &[&str] = &[
    "tenant_settings",
    "special_groups",
    "citizens",
    "citizen_terms",
    "citizen_special_groups",
    "diary_entries",
    "interactions",
    "activities",
    "audit_log",
];

pub type Cases = CasesServiceClient<Authed>;
pub type Identity = IdentityServiceClient<Authed>;

/// A signed-in account with clients for both services.
#[derive(Clone)]
pub struct Staff {
    pub id: String,
    pub token: String,
    pub cases: Cases,
    pub identity: Identity,
}

/// A tenant made by `opeka tenant create`, with its admin signed in.
#[derive(Clone)]
pub struct TestTenant {
    pub id: Uuid,
    pub slug: String,
    pub admin: Staff,
}

pub struct TestApp {
    pub sandbox: Sandbox,
    /// Cases' clock (identity and files keep real time: tokens are checked against it).
    pub clock: ManualClock,
    /// The service role (NOSUPERUSER NOBYPASSRLS), search path `cases`: RLS applies.
    pub app_pool: PgPool,
    /// The owner (superuser), search path `cases`: sees every row; for snapshots and set-up only.
    pub owner_pool: PgPool,
    /// Files' blobs (appeals' attachments).
    _files_dir: tempfile::TempDir,
}

impl TestApp {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Like `start`, with the process settings (throttles, trusted
    /// forwarders) tweaked first.
    pub async fn start_with(tweak: impl FnOnce(&mut PlatformSettings) + Send + 'static) -> Self {
        Self::start_tweaked(move |s| tweak(&mut s.platform)).await
    }

    /// Like `start`, with any service's settings tweaked first.
    pub async fn start_tweaked(tweak: impl FnOnce(&mut opeka_testkit::Settings) + Send + 'static) -> Self {
        let files_dir = tempfile::tempdir().expect("blob directory");
        let store_url = format!("file://{}", files_dir.path().display());
        let sandbox = Sandbox::builder()
            .with(Service::Identity)
            .with(Service::Cases)
            .with(Service::Files)
            .manual_clock(Utc::now().trunc_subsecs(0), &[Service::Cases])
            .tweak(move |s| {
                s.files.store_url = store_url;
                tweak(s);
            })
            .start()
            .await;
        Self {
            clock: sandbox.clock.clone(),
            app_pool: sandbox.service_pool(Service::Cases).await,
            owner_pool: sandbox.owner_pool_in("cases").await,
            sandbox,
            _files_dir: files_dir,
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        opeka_platform::Clock::now(&self.clock)
    }

    /// Clients presenting `token` for tenant `tenant`.
    pub fn staff(&self, id: &str, token: &str, tenant: &str) -> Staff {
        Staff {
            id: id.to_string(),
            token: token.to_string(),
            cases: CasesServiceClient::new(self.sandbox.authed(Service::Cases, token, tenant)),
            identity: IdentityServiceClient::new(self.sandbox.authed(Service::Identity, token, tenant)),
        }
    }

    /// A cases client without a token.
    pub fn anonymous(&self) -> Cases {
        CasesServiceClient::new(self.sandbox.anonymous(Service::Cases))
    }

    pub async fn sign_in(&self, tenant: &str, login: &str, password: &str) -> Staff {
        let pair = self.sandbox.sign_in(tenant, login, password).await;
        let account = pair.account.expect("token pair carries the account");
        self.staff(&account.id, &pair.access_token, tenant)
    }

    /// Creates a tenant with its admin, as `opeka tenant create` does.
    pub async fn tenant(&self, slug: &str) -> TestTenant {
        let (t, admin) = self.sandbox.tenant(slug).await;
        let admin = self.sign_in(&t.slug, &admin.login, &admin.password).await;
        TestTenant { id: t.id, slug: t.slug, admin }
    }

    /// A service account of `t` with `roles`, signed in.
    pub async fn service_account(&self, t: &TestTenant, name: &str, roles: &[idpb::Role]) -> Staff {
        let pair = self.sandbox.service_token(&t.slug, &t.admin.token, name, roles).await;
        self.staff(&pair.account.expect("account").id, &pair.access_token, &t.slug)
    }

    /// An active staff account with `roles`, created by the admin and signed in.
    pub async fn staff_member(&self, t: &TestTenant, login: &str, surname: &str, roles: &[idpb::Role]) -> Staff {
        let req = idpb::CreateStaffAccountRequest {
            surname: surname.into(),
            name: "Анна".into(),
            login: login.into(),
            password: PASSWORD.into(),
            password_repeat: PASSWORD.into(),
            roles: roles.iter().map(|r| *r as i32).collect(),
            ..Default::default()
        };
        t.admin.identity.clone().create_staff_account(req).await.expect("create staff");
        self.sign_in(&t.slug, login, PASSWORD).await
    }

    pub async fn curator(&self, t: &TestTenant, login: &str, surname: &str) -> Staff {
        self.staff_member(t, login, surname, &[idpb::Role::Curator]).await
    }

    pub async fn district(&self, t: &TestTenant, name: &str) -> String {
        let req = idpb::CreateDistrictRequest { name: name.into() };
        t.admin.identity.clone().create_district(req).await.expect("create district").into_inner().id
    }

    /// An envelope for tenant `t` that occurred at `at`.
    pub fn envelope(t: &TestTenant, at: DateTime<Utc>, body: Body) -> Envelope {
        opeka_platform::bus::envelope(t.id, "system", at, body)
    }

    /// Row count and content digest of every cases table plus identity's
    /// accounts, seen by the owner: equal snapshots mean nothing was written.
    pub async fn snapshot(&self) -> BTreeMap<String, (i64, String)> {
        let mut out = BTreeMap::new();
        let tables = TABLES.iter().map(|t| format!("cases.{t}")).chain(["identity.accounts".to_string()]);
        for t in tables {
            let sql =
                format!("select count(*), coalesce(md5(string_agg(x::text, '|' order by x::text)), '') from {t} x");
            let row: (i64, String) =
                sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_one(&self.owner_pool).await.expect("snapshot");
            out.insert(t, row);
        }
        out
    }

    pub async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string())).fetch_one(&self.owner_pool).await.expect("count")
    }
}

/// A valid 12-digit personal INN made from 10 digits (check digits computed).
pub fn inn(first10: &str) -> String {
    const W11: [u32; 10] = [7, 2, 4, 10, 3, 5, 9, 4, 6, 8];
    const W12: [u32; 11] = [3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8];
    let mut d: Vec<u32> = first10.chars().map(|c| c.to_digit(10).expect("digit")).collect();
    assert_eq!(d.len(), 10);
    let c11 = W11.iter().zip(&d).map(|(w, x)| w * x).sum::<u32>() % 11 % 10;
    d.push(c11);
    let c12 = W12.iter().zip(&d).map(|(w, x)| w * x).sum::<u32>() % 11 % 10;
    d.push(c12);
    d.iter().map(|x| char::from_digit(*x, 10).expect("digit")).collect()
}

/// A valid card request; tests change one field at a time.
pub fn citizen(surname: &str, name: &str) -> pb::CreateCitizenRequest {
    pb::CreateCitizenRequest {
        surname: surname.into(),
        name: name.into(),
        patronymic: "Петровна".into(),
        phone: "8 (912) 345-67-89".into(),
        ..Default::default()
    }
}

/// The update that keeps `c` as it is (UpdateCitizen replaces every field).
pub fn update_from(c: &pb::Citizen) -> pb::UpdateCitizenRequest {
    pb::UpdateCitizenRequest {
        id: c.id.clone(),
        surname: c.surname.clone(),
        name: c.name.clone(),
        patronymic: c.patronymic.clone(),
        birth_date: c.birth_date.clone(),
        inn: c.inn.clone(),
        phone: c.phone.clone(),
        email: c.email.clone(),
        curator_id: c.curator_id.clone(),
        district_id: c.district_id.clone(),
        special_group_ids: c.special_group_ids.clone(),
        situation: c.situation.clone(),
        inactive: c.inactive,
        inactive_until: c.inactive_until.clone(),
    }
}

/// `expect_invalid`, giving the name of every field violated.
#[track_caller]
pub fn invalid_fields<T: std::fmt::Debug>(r: Result<T, Status>, field: &str) -> Vec<String> {
    let s = expect_invalid(r, field);
    opeka_platform::error::violations(&s).into_iter().map(|v| v.field).collect()
}

pub fn names(list: &pb::ListCitizensResponse) -> Vec<String> {
    list.citizens.iter().map(|c| c.surname.clone()).collect()
}
