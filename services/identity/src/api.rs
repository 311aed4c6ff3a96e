//! gRPC handlers: decode, authorise, call the store, encode. Every write is
//! checked here against the caller's role and tenant.
use std::sync::Arc;

use chrono::Duration;
use opeka_platform::auth::{self, Principal};
use opeka_platform::curators;
use opeka_platform::db::{self, Tx};
use opeka_platform::error::{AppError, FieldViolation, OnConstraint, Violations};
use opeka_platform::throttle;
use opeka_proto::events::{self as ev, envelope::Body};
use opeka_proto::identity::{self as pb, identity_service_server::IdentityService};
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::State;
use crate::convert::{org_kind_str, ts};
use crate::domain::{self, Email, Login, NewPassword, Permission, Phone, Role, Surname};
use crate::store::{self, AccountRow, Tenant};
use crate::strings as s;
use crate::tokens;

type Res<T> = Result<Response<T>, Status>;

pub struct Api {
    st: Arc<State>,
}

impl Api {
    pub fn new(st: Arc<State>) -> Self {
        Self { st }
    }
}

/// An authenticated caller with a tenant transaction already open.
struct Caller {
    p: Principal,
    tx: Tx,
}

impl Caller {
    fn actor(&self) -> String {
        self.p.account_id.to_string()
    }
}

fn parse_id(field: &str, v: &str) -> Result<Uuid, AppError> {
    v.trim().parse().map_err(|_| AppError::invalid(field, s::ID_INVALID))
}

fn opt_id(field: &str, v: &str, errs: &mut Violations) -> Option<Uuid> {
    if v.trim().is_empty() {
        return None;
    }
    errs.check(field, v.trim().parse::<Uuid>().map_err(|_| s::ID_INVALID.to_string()))
}

fn opt_text(v: &str) -> Option<String> {
    let v = v.trim();
    (!v.is_empty()).then(|| v.to_string())
}

fn page(size: i32, token: &str) -> Result<(i64, i64), AppError> {
    let limit = if size <= 0 { 50 } else { size.min(500) } as i64;
    let offset = if token.is_empty() {
        0
    } else {
        token
            .parse::<i64>()
            .ok()
            .filter(|o| *o >= 0)
            .ok_or_else(|| AppError::invalid("page_token", "Неверный маркер страницы."))?
    };
    Ok((limit, offset))
}

fn next_token(offset: i64, got: usize, limit: i64, total: i64) -> String {
    let next = offset + got as i64;
    if got as i64 == limit && next < total { next.to_string() } else { String::new() }
}

impl Api {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.st.clock.now()
    }

    /// Authenticates, opens the tenant transaction, checks the session is
    /// still live (logout revokes it) and that a role grants `perm`.
    async fn caller<T>(&self, req: &Request<T>, perm: Option<Permission>) -> Result<Caller, AppError> {
        let p = auth::principal(req)?;
        let mut tx = db::tenant_tx(&self.st.pool, p.tenant_id).await?;
        if let Some(sid) = p.session_id
            && !store::session_is_live(&mut tx, sid, self.now()).await?
        {
            return Err(AppError::Unauthenticated(s::SESSION_ENDED.into()));
        }
        if let Some(perm) = perm
            && !domain::roles_allow(&p.roles, perm)
        {
            return Err(AppError::PermissionDenied(s::PERMISSION_DENIED.into()));
        }
        Ok(Caller { p, tx })
    }

    /// Takes one call from the client address's allowance in `t`.
    fn throttle_address<T>(
        &self,
        req: &Request<T>,
        t: &opeka_platform::throttle::Throttle<std::net::IpAddr>,
        message: &str,
    ) -> Result<(), AppError> {
        match throttle::client_addr(req) {
            Some(ip) => t.check(&throttle::address_key(ip), message),
            None => Ok(()),
        }
    }

    async fn tenant(&self, r: &str) -> Result<Option<Tenant>, AppError> {
        Ok(store::tenant_by_ref(&self.st.pool, r.trim()).await?)
    }

    /// `secret` sealed for an event of `tenant_id`: a subscriber that reads
    /// every stream must not be able to use it (DESIGN.md §3).
    fn seal(&self, tenant_id: Uuid, field: &str, secret: &str) -> Result<Vec<u8>, AppError> {
        self.st
            .seal
            .seal(tenant_id, field, secret)
            .map_err(|e| AppError::Internal(anyhow::anyhow!("seal {field}: {e}")))
    }

    async fn emit(&self, tx: &mut Tx, tenant_id: Uuid, slug: &str, actor: &str, body: Body) -> Result<(), AppError> {
        let env = opeka_platform::bus::envelope(tenant_id, actor, self.now(), body);
        self.st.outbox.enqueue(tx, slug, &env).await?;
        Ok(())
    }

    /// Ends `sessions` of `account` in every service, not only here: the
    /// `sessions_revoked` event feeds each verifier's deny-list
    /// (`opeka_platform::revocation`) until the sessions' last access tokens
    /// would have expired. `all_tokens`: every token of the account issued
    /// until now, with a session or without (deletion).
    async fn revoke_everywhere(
        &self,
        tx: &mut Tx,
        (tenant_id, slug): (Uuid, &str),
        actor: &str,
        account: Uuid,
        sessions: &[Uuid],
        all_tokens: bool,
    ) -> Result<(), AppError> {
        if sessions.is_empty() && !all_tokens {
            return Ok(());
        }
        // A minute of slack for clocks of other machines a little behind.
        let expire_by = self.now() + Duration::seconds(self.st.settings.access_token_ttl_secs + 60);
        let body = Body::SessionsRevoked(ev::SessionsRevoked {
            account_id: account.to_string(),
            session_ids: sessions.iter().map(Uuid::to_string).collect(),
            all_tokens,
            tokens_expire_by: Some(ts(expire_by)),
        });
        self.emit(tx, tenant_id, slug, actor, body).await
    }

    async fn audit(
        &self,
        tx: &mut Tx,
        (tenant_id, actor): (Uuid, &str),
        action: &str,
        entity: &str,
        entity_id: String,
        details: serde_json::Value,
    ) -> Result<(), AppError> {
        store::audit(
            tx,
            store::AuditEntry { tenant_id, actor_id: actor, action, entity, entity_id, details, at: self.now() },
        )
        .await?;
        Ok(())
    }

    /// Starts a session (refresh-token family) and signs the first pair.
    async fn open_session(&self, tx: &mut Tx, tenant: &Tenant, a: &AccountRow) -> Result<pb::TokenPair, AppError> {
        let now = self.now();
        let sid = Uuid::now_v7();
        let refresh_exp = now + Duration::seconds(self.st.settings.refresh_token_ttl_secs);
        store::insert_session(tx, sid, tenant.id, a.id, now, refresh_exp).await?;
        self.pair(tx, tenant, a, sid, refresh_exp).await
    }

    async fn pair(
        &self,
        tx: &mut Tx,
        tenant: &Tenant,
        a: &AccountRow,
        sid: Uuid,
        refresh_exp: chrono::DateTime<chrono::Utc>,
    ) -> Result<pb::TokenPair, AppError> {
        let now = self.now();
        let refresh = tokens::random_secret();
        store::insert_refresh(tx, &tokens::hash_secret(&refresh), tenant.id, sid, refresh_exp).await?;
        let ttl = self.st.settings.access_token_ttl_secs;
        let access = self.access_token(tenant, a, Some(sid), ttl)?;
        Ok(pb::TokenPair {
            access_token: access,
            access_expires_at: Some(ts(now + Duration::seconds(ttl))),
            refresh_token: refresh,
            refresh_expires_at: Some(ts(refresh_exp)),
            token_type: "Bearer".into(),
            account: Some(a.into()),
        })
    }

    fn access_token(&self, tenant: &Tenant, a: &AccountRow, sid: Option<Uuid>, ttl: i64) -> Result<String, AppError> {
        let claims = tokens::claims(
            tokens::Subject {
                account_id: a.id,
                tenant_id: tenant.id,
                tenant_slug: &tenant.slug,
                kind: &a.kind,
                roles: a.roles.clone(),
                session_id: sid,
                organisation_id: a.organisation_id,
                districts: a.district_id.into_iter().collect(),
            },
            self.now(),
            ttl,
        );
        self.st.keys.sign(&claims).map_err(AppError::Internal)
    }

    fn bad_credentials() -> AppError {
        AppError::Unauthenticated(s::BAD_CREDENTIALS.into())
    }

    async fn load_account(&self, tx: &mut Tx, id: Uuid) -> Result<AccountRow, AppError> {
        store::get_account(tx, id).await?.ok_or_else(|| AppError::NotFound(s::ACCOUNT_NOT_FOUND.into()))
    }

    /// A citizen account that is not deleted; staff and service ids are NOT_FOUND.
    async fn live_citizen(&self, tx: &mut Tx, id: Uuid) -> Result<AccountRow, AppError> {
        let a = self.load_account(tx, id).await?;
        if a.kind != "citizen" {
            return Err(AppError::NotFound(s::ACCOUNT_NOT_FOUND.into()));
        }
        if a.deleted_at.is_some() {
            return Err(AppError::FailedPrecondition(s::ACCOUNT_DELETED.into()));
        }
        Ok(a)
    }

    /// NOT_FOUND unless citizen account `id` is inside the caller's citizen
    /// scope (`domain::citizen_scope`): another curator's citizen is not
    /// revealed to exist, as in cases.
    async fn citizen_in_scope(&self, c: &mut Caller, id: Uuid) -> Result<(), AppError> {
        let scope = domain::citizen_scope(&c.p);
        if scope.admits(&mut c.tx, id).await? {
            return Ok(());
        }
        // A card an admin has just created for this curator may not have
        // reached the projection yet: wait for it briefly, then ask again.
        if !scope.is_none()
            && !curators::known(&mut c.tx, id).await?
            && curators::wait_known(&self.st.pool, c.p.tenant_id, id).await?
            && scope.admits(&mut c.tx, id).await?
        {
            return Ok(());
        }
        Err(AppError::NotFound(s::ACCOUNT_NOT_FOUND.into()))
    }

    async fn live_staff(&self, tx: &mut Tx, id: Uuid) -> Result<AccountRow, AppError> {
        let a = self.load_account(tx, id).await?;
        if a.kind != "staff" {
            return Err(AppError::NotFound(s::ACCOUNT_NOT_FOUND.into()));
        }
        if a.deleted_at.is_some() {
            return Err(AppError::FailedPrecondition(s::ACCOUNT_DELETED.into()));
        }
        Ok(a)
    }
}

/// The citizen fields of create and update, parsed the same way: surname and
/// phone required, name and patronymic optional, e-mail checked if given.
struct CitizenInput<'a> {
    surname: &'a str,
    name: &'a str,
    patronymic: &'a str,
    phone: &'a str,
    email: &'a str,
}

fn citizen_fields(errs: &mut Violations, f: CitizenInput<'_>) -> store::CitizenUpdate {
    let surname = errs.check("surname", Surname::parse(f.surname));
    let name = errs.check("name", domain::optional_name(f.name));
    let patronymic = errs.check("patronymic", domain::optional_name(f.patronymic));
    let phone = match opt_text(f.phone) {
        Some(p) => errs.check("phone", Phone::parse(&p)),
        None => {
            errs.add("phone", s::PHONE_REQUIRED);
            None
        }
    };
    let email = opt_text(f.email).and_then(|e| errs.check("email", Email::parse(&e)));
    store::CitizenUpdate {
        surname: surname.map(|s| s.as_str().to_string()).unwrap_or_default(),
        name: name.unwrap_or_default(),
        patronymic: patronymic.unwrap_or_default(),
        phone: phone.map(|p| p.as_str().to_string()),
        email: email.map(|e| e.as_str().to_string()),
    }
}

/// Names the citizen fields an update changes (never their values).
fn citizen_changes(a: &AccountRow, u: &store::CitizenUpdate) -> Vec<String> {
    let pairs: [(&str, bool); 5] = [
        ("surname", a.surname != u.surname),
        ("name", a.name != u.name),
        ("patronymic", a.patronymic != u.patronymic),
        ("email", a.email != u.email),
        ("phone", a.phone != u.phone),
    ];
    pairs.iter().filter(|(_, c)| *c).map(|(f, _)| f.to_string()).collect()
}

/// Validated staff fields shared by create and update.
struct StaffFields {
    update: store::StaffUpdate,
}

async fn staff_fields(tx: &mut Tx, errs: &mut Violations, f: StaffInput<'_>) -> Result<StaffFields, AppError> {
    let surname = errs.check("surname", Surname::parse(f.surname));
    let name = errs.check("name", domain::optional_name(f.name));
    let patronymic = errs.check("patronymic", domain::optional_name(f.patronymic));
    let email = opt_text(f.email).and_then(|e| errs.check("email", Email::parse(&e)));
    let phone = opt_text(f.phone).and_then(|p| errs.check("phone", Phone::parse(&p)));
    let telegram = opt_text(f.telegram).and_then(|t| errs.check("telegram_username", domain::telegram_username(&t)));
    // S2-1, S2-6: an account with an e-mail may go without a login (it
    // signs in with the e-mail); without either it could not sign in at all.
    let login = match opt_text(f.login) {
        Some(l) => errs.check("login", Login::parse(&l)),
        None if f.email.trim().is_empty() => {
            errs.add("login", s::LOGIN_REQUIRED);
            None
        }
        None => None,
    };
    let district_id = opt_id("district_id", f.district_id, errs);
    let organisation_id = opt_id("organisation_id", f.organisation_id, errs);
    let mut roles = Vec::new();
    for r in f.roles {
        match Role::from_pb(*r).filter(|r| Role::STAFF.contains(r)) {
            Some(r) if !roles.contains(&r.as_str().to_string()) => roles.push(r.as_str().to_string()),
            Some(_) => {}
            None => errs.add("roles", s::ROLE_INVALID),
        }
    }
    if f.roles.is_empty() {
        errs.add("roles", s::ROLE_REQUIRED);
    }
    if let Some(d) = district_id
        && !store::district_exists(tx, d).await?
    {
        errs.add("district_id", s::DISTRICT_UNKNOWN);
    }
    if let Some(o) = organisation_id
        && !store::organisation_exists(tx, o).await?
    {
        errs.add("organisation_id", s::ORGANISATION_UNKNOWN);
    }
    Ok(StaffFields {
        update: store::StaffUpdate {
            surname: surname.map(|s| s.as_str().to_string()).unwrap_or_default(),
            name: name.unwrap_or_default(),
            patronymic: patronymic.unwrap_or_default(),
            email: email.map(|e| e.as_str().to_string()),
            phone: phone.map(|p| p.as_str().to_string()),
            telegram_username: telegram,
            district_id,
            organisation_id,
            login: login.map(|l| l.as_str().to_string()),
            roles,
        },
    })
}

/// The staff fields of a create or update request (same names in both).
macro_rules! staff_input {
    ($r:expr) => {
        StaffInput {
            surname: &$r.surname,
            name: &$r.name,
            patronymic: &$r.patronymic,
            email: &$r.email,
            phone: &$r.phone,
            telegram: &$r.telegram_username,
            district_id: &$r.district_id,
            organisation_id: &$r.organisation_id,
            login: &$r.login,
            roles: &$r.roles,
        }
    };
}

struct StaffInput<'a> {
    surname: &'a str,
    name: &'a str,
    patronymic: &'a str,
    email: &'a str,
    phone: &'a str,
    telegram: &'a str,
    district_id: &'a str,
    organisation_id: &'a str,
    login: &'a str,
    roles: &'a [i32],
}

fn on_account_uniques<T>(r: Result<T, sqlx::Error>) -> Result<T, AppError> {
    r.on_constraint("accounts_login_key", || AppError::Taken(FieldViolation::new("login", s::LOGIN_TAKEN)))
        .on_constraint("accounts_email_key", || AppError::Taken(FieldViolation::new("email", s::EMAIL_TAKEN)))
}

fn new_password(s: &crate::Settings, pw: &str, repeat: &str, prefix: &str) -> Result<NewPassword, AppError> {
    NewPassword::parse(pw, repeat, s.min_password_len).map_err(|(field, msg)| {
        let field = match (prefix, field) {
            ("new_", "password") => "new_password".to_string(),
            ("new_", "password_repeat") => "new_password_repeat".to_string(),
            (_, f) => f.to_string(),
        };
        AppError::invalid(field, msg)
    })
}

#[tonic::async_trait]
impl IdentityService for Api {
    async fn login(&self, req: Request<pb::LoginRequest>) -> Res<pb::TokenPair> {
        self.throttle_address(&req, &self.st.throttles.login, s::TOO_MANY_LOGINS)?;
        let r = req.into_inner();
        let Some(tenant) = self.tenant(&r.tenant).await? else {
            self.st.hasher.verify(&r.password, None).await;
            return Err(Self::bad_credentials().into());
        };
        let now = self.now();
        // Read what the check needs and give the connection back before
        // hashing: a burst of logins then waits for a hashing slot, not for
        // the pool (issue 9, point 7).
        let account = {
            let mut tx = db::tenant_tx(&self.st.pool, tenant.id).await.map_err(AppError::from)?;
            let a = store::find_staff_by_login(&mut tx, &r.login).await.map_err(AppError::from)?;
            tx.commit().await.map_err(AppError::from)?;
            a
        };
        let Some(a) = account.filter(|a| a.status == "active") else {
            self.st.hasher.verify(&r.password, None).await;
            return Err(Self::bad_credentials().into());
        };
        if a.locked_until.is_some_and(|t| t > now) {
            self.st.hasher.verify(&r.password, None).await;
            let mut tx = db::tenant_tx(&self.st.pool, tenant.id).await.map_err(AppError::from)?;
            self.audit(
                &mut tx,
                (tenant.id, &a.id.to_string()),
                "login.locked",
                "account",
                a.id.to_string(),
                serde_json::json!({}),
            )
            .await?;
            tx.commit().await.map_err(AppError::from)?;
            return Err(Self::bad_credentials().into());
        }
        let verified = self.st.hasher.verify(&r.password, a.password_hash.as_deref()).await;
        let mut tx = db::tenant_tx(&self.st.pool, tenant.id).await.map_err(AppError::from)?;
        if !verified {
            let lock_until = now + Duration::seconds(self.st.settings.lockout_secs);
            store::record_failed_login(&mut tx, a.id, self.st.settings.lockout_threshold, lock_until, now)
                .await
                .map_err(AppError::from)?;
            self.audit(
                &mut tx,
                (tenant.id, &a.id.to_string()),
                "login.failed",
                "account",
                a.id.to_string(),
                serde_json::json!({}),
            )
            .await?;
            tx.commit().await.map_err(AppError::from)?;
            return Err(Self::bad_credentials().into());
        }
        // The account may have changed while the hash ran (deleted, locked
        // by a parallel guess, given a new password): check it again.
        store::lock_account(&mut tx, a.id).await.map_err(AppError::from)?;
        let current = store::get_account(&mut tx, a.id).await.map_err(AppError::from)?;
        let Some(a) = current.filter(|c| {
            c.status == "active"
                && c.deleted_at.is_none()
                && c.password_hash == a.password_hash
                && c.locked_until.is_none_or(|t| t <= now)
        }) else {
            return Err(Self::bad_credentials().into());
        };
        store::reset_failed_logins(&mut tx, a.id).await.map_err(AppError::from)?;
        let pair = self.open_session(&mut tx, &tenant, &a).await?;
        self.audit(
            &mut tx,
            (tenant.id, &a.id.to_string()),
            "login",
            "account",
            a.id.to_string(),
            serde_json::json!({}),
        )
        .await?;
        tx.commit().await.map_err(AppError::from)?;
        tracing::info!(account_id = %a.id, tenant = %tenant.slug, "signed in");
        Ok(Response::new(pair))
    }

    async fn issue_service_token(&self, req: Request<pb::IssueServiceTokenRequest>) -> Res<pb::TokenPair> {
        let r = req.into_inner();
        let bad = || Status::from(AppError::Unauthenticated(s::BAD_CLIENT.into()));
        let Some(tenant) = self.tenant(&r.tenant).await? else { return Err(bad()) };
        let mut tx = db::tenant_tx(&self.st.pool, tenant.id).await.map_err(AppError::from)?;
        let a = store::find_service_account(&mut tx, r.client_id.trim()).await.map_err(AppError::from)?;
        let Some(a) = a else { return Err(bad()) };
        let expected = a.client_secret_hash.clone().unwrap_or_default();
        let given = tokens::hash_secret(&r.client_secret);
        if !constant_time_eq(expected.as_bytes(), given.as_bytes()) {
            return Err(bad());
        }
        let ttl = self.st.settings.access_token_ttl_secs;
        let access = self.access_token(&tenant, &a, None, ttl)?;
        self.audit(
            &mut tx,
            (tenant.id, &a.id.to_string()),
            "service_token",
            "account",
            a.id.to_string(),
            serde_json::json!({}),
        )
        .await?;
        tx.commit().await.map_err(AppError::from)?;
        Ok(Response::new(pb::TokenPair {
            access_token: access,
            access_expires_at: Some(ts(self.now() + Duration::seconds(ttl))),
            token_type: "Bearer".into(),
            account: Some((&a).into()),
            ..Default::default()
        }))
    }

    async fn refresh(&self, req: Request<pb::RefreshRequest>) -> Res<pb::TokenPair> {
        let r = req.into_inner();
        let ended = || Status::from(AppError::Unauthenticated(s::SESSION_ENDED.into()));
        let Some(tenant) = self.tenant(&r.tenant).await? else { return Err(ended()) };
        let mut tx = db::tenant_tx(&self.st.pool, tenant.id).await.map_err(AppError::from)?;
        let hash = tokens::hash_secret(r.refresh_token.trim());
        let now = self.now();
        let Some(row) = store::find_refresh(&mut tx, &hash).await.map_err(AppError::from)? else {
            return Err(ended());
        };
        if row.used_at.is_some() {
            // A rotated token came back: someone holds a copy. End the session.
            store::revoke_session(&mut tx, row.session_id, now).await.map_err(AppError::from)?;
            let (sessions, account) = ([row.session_id], row.account_id);
            self.revoke_everywhere(&mut tx, (tenant.id, &tenant.slug), "system", account, &sessions, false).await?;
            self.audit(
                &mut tx,
                (tenant.id, "system"),
                "session.reuse_revoked",
                "session",
                row.session_id.to_string(),
                serde_json::json!({}),
            )
            .await?;
            tx.commit().await.map_err(AppError::from)?;
            return Err(ended());
        }
        if row.revoked_at.is_some() || row.expires_at <= now {
            return Err(ended());
        }
        let a = self.load_account(&mut tx, row.account_id).await?;
        if a.deleted_at.is_some() || a.status != "active" {
            return Err(ended());
        }
        store::mark_refresh_used(&mut tx, &hash, now).await.map_err(AppError::from)?;
        let pair = self.pair(&mut tx, &tenant, &a, row.session_id, row.expires_at).await?;
        tx.commit().await.map_err(AppError::from)?;
        Ok(Response::new(pair))
    }

    async fn logout(&self, req: Request<pb::LogoutRequest>) -> Res<pb::LogoutResponse> {
        let mut c = self.caller(&req, None).await?;
        if let Some(sid) = c.p.session_id {
            store::revoke_session(&mut c.tx, sid, self.now()).await.map_err(AppError::from)?;
            let actor = c.actor();
            let (tenant, me) = ((c.p.tenant_id, c.p.tenant_slug.clone()), c.p.account_id);
            self.revoke_everywhere(&mut c.tx, (tenant.0, &tenant.1), &actor, me, &[sid], false).await?;
            self.audit(&mut c.tx, (c.p.tenant_id, &actor), "logout", "session", sid.to_string(), serde_json::json!({}))
                .await?;
        }
        c.tx.commit().await.map_err(AppError::from)?;
        Ok(Response::new(pb::LogoutResponse {}))
    }

    async fn get_jwks(&self, _req: Request<pb::GetJwksRequest>) -> Res<pb::GetJwksResponse> {
        Ok(Response::new(pb::GetJwksResponse { jwks_json: self.st.keys.jwks_json().to_string() }))
    }

    async fn who_am_i(&self, req: Request<pb::WhoAmIRequest>) -> Res<pb::Account> {
        let mut c = self.caller(&req, None).await?;
        let a = self.load_account(&mut c.tx, c.p.account_id).await?;
        Ok(Response::new((&a).into()))
    }

    async fn create_organisation(&self, req: Request<pb::CreateOrganisationRequest>) -> Res<pb::Organisation> {
        let mut c = self.caller(&req, Some(Permission::ManageReference)).await?;
        let r = req.into_inner();
        let mut errs = Violations::new();
        let name = r.name.trim().to_string();
        if name.is_empty() {
            errs.add("name", s::NAME_REQUIRED);
        }
        let kind = org_kind_str(r.kind);
        if kind.is_none() {
            errs.add("kind", s::KIND_REQUIRED);
        }
        let parent = opt_id("parent_id", &r.parent_id, &mut errs);
        if let Some(p) = parent
            && !store::organisation_exists(&mut c.tx, p).await.map_err(AppError::from)?
        {
            errs.add("parent_id", s::ORGANISATION_UNKNOWN);
        }
        errs.into_result()?;
        let row = store::OrganisationRow {
            id: Uuid::now_v7(),
            name,
            kind: kind.unwrap_or_default().to_string(),
            parent_id: parent,
            created_at: self.now(),
        };
        store::insert_organisation(&mut c.tx, c.p.tenant_id, &row).await.map_err(AppError::from)?;
        let actor = c.actor();
        self.audit(
            &mut c.tx,
            (c.p.tenant_id, &actor),
            "organisation.create",
            "organisation",
            row.id.to_string(),
            serde_json::json!({"name": row.name, "kind": row.kind}),
        )
        .await?;
        c.tx.commit().await.map_err(AppError::from)?;
        Ok(Response::new((&row).into()))
    }

    async fn list_organisations(
        &self,
        req: Request<pb::ListOrganisationsRequest>,
    ) -> Res<pb::ListOrganisationsResponse> {
        let mut c = self.caller(&req, Some(Permission::ReadReference)).await?;
        let kind = org_kind_str(req.get_ref().kind);
        let rows = store::list_organisations(&mut c.tx, kind).await.map_err(AppError::from)?;
        let (rows, next_page_token) =
            opeka_platform::paging::slice(rows, req.get_ref().page_size, &req.get_ref().page_token)?;
        Ok(Response::new(pb::ListOrganisationsResponse {
            organisations: rows.iter().map(Into::into).collect(),
            next_page_token,
        }))
    }

    async fn create_district(&self, req: Request<pb::CreateDistrictRequest>) -> Res<pb::District> {
        let mut c = self.caller(&req, Some(Permission::ManageReference)).await?;
        let name = req.get_ref().name.trim().to_string();
        if name.is_empty() {
            return Err(AppError::invalid("name", s::NAME_REQUIRED).into());
        }
        let row = store::DistrictRow { id: Uuid::now_v7(), name };
        store::insert_district(&mut c.tx, c.p.tenant_id, &row)
            .await
            .on_constraint("districts_name_key", || AppError::Taken(FieldViolation::new("name", s::DISTRICT_TAKEN)))?;
        let actor = c.actor();
        self.audit(
            &mut c.tx,
            (c.p.tenant_id, &actor),
            "district.create",
            "district",
            row.id.to_string(),
            serde_json::json!({"name": row.name}),
        )
        .await?;
        c.tx.commit().await.map_err(AppError::from)?;
        Ok(Response::new((&row).into()))
    }

    async fn rename_district(&self, req: Request<pb::RenameDistrictRequest>) -> Res<pb::District> {
        let mut c = self.caller(&req, Some(Permission::ManageReference)).await?;
        let r = req.into_inner();
        let id = parse_id("id", &r.id)?;
        let name = r.name.trim().to_string();
        if name.is_empty() {
            return Err(AppError::invalid("name", s::NAME_REQUIRED).into());
        }
        let found = store::rename_district(&mut c.tx, id, &name)
            .await
            .on_constraint("districts_name_key", || AppError::Taken(FieldViolation::new("name", s::DISTRICT_TAKEN)))?;
        if !found {
            return Err(AppError::NotFound(s::DISTRICT_UNKNOWN.into()).into());
        }
        let actor = c.actor();
        self.audit(
            &mut c.tx,
            (c.p.tenant_id, &actor),
            "district.rename",
            "district",
            id.to_string(),
            serde_json::json!({"name": name}),
        )
        .await?;
        c.tx.commit().await.map_err(AppError::from)?;
        Ok(Response::new(pb::District { id: id.to_string(), name }))
    }

    async fn list_districts(&self, req: Request<pb::ListDistrictsRequest>) -> Res<pb::ListDistrictsResponse> {
        let mut c = self.caller(&req, Some(Permission::ReadReference)).await?;
        let q = opt_text(&req.get_ref().query);
        let rows = store::list_districts(&mut c.tx, q.as_deref()).await.map_err(AppError::from)?;
        let (rows, next_page_token) =
            opeka_platform::paging::slice(rows, req.get_ref().page_size, &req.get_ref().page_token)?;
        Ok(Response::new(pb::ListDistrictsResponse {
            districts: rows.iter().map(Into::into).collect(),
            next_page_token,
        }))
    }

    async fn create_staff_account(&self, req: Request<pb::CreateStaffAccountRequest>) -> Res<pb::Account> {
        let mut c = self.caller(&req, Some(Permission::ManageStaff)).await?;
        let r = req.into_inner();
        let mut errs = Violations::new();
        let f = staff_fields(&mut c.tx, &mut errs, staff_input!(r)).await?;
        let mut password = None;
        if !r.password.is_empty() || !r.password_repeat.is_empty() {
            match NewPassword::parse(&r.password, &r.password_repeat, self.st.settings.min_password_len) {
                Ok(p) => password = Some(p),
                Err((field, msg)) => errs.add(field, msg),
            }
        } else if f.update.email.is_none() {
            errs.add("password", s::EMAIL_REQUIRED_FOR_ACTIVATION);
        }
        errs.into_result()?;
        let now = self.now();
        let id = Uuid::now_v7();
        let hash = match &password {
            Some(p) => Some(self.st.hasher.hash(p.expose()).await.map_err(AppError::Internal)?),
            None => None,
        };
        let u = f.update;
        let new = store::NewAccount {
            id,
            tenant_id: c.p.tenant_id,
            kind: "staff",
            status: if hash.is_some() { "active" } else { "pending_activation" },
            roles: u.roles.clone(),
            login: u.login.clone(),
            surname: u.surname.clone(),
            name: u.name.clone(),
            patronymic: u.patronymic.clone(),
            email: u.email.clone(),
            phone: u.phone.clone(),
            telegram_username: u.telegram_username.clone(),
            district_id: u.district_id,
            organisation_id: u.organisation_id,
            password_hash: hash,
            now,
            ..Default::default()
        };
        on_account_uniques(store::insert_account(&mut c.tx, &new).await)?;
        let a = self.load_account(&mut c.tx, id).await?;
        let actor = c.actor();
        let (tid, slug) = (c.p.tenant_id, c.p.tenant_slug.clone());
        self.emit(
            &mut c.tx,
            tid,
            &slug,
            &actor,
            crate::events::account_created(id, "staff", &a.roles, a.login.as_deref().unwrap_or(""), &a.full_name()),
        )
        .await?;
        if password.is_none() {
            let token = tokens::random_secret();
            let expires = now + Duration::hours(self.st.settings.activation_ttl_hours);
            store::insert_code(&mut c.tx, tid, id, "activation", &tokens::hash_secret(&token), expires)
                .await
                .map_err(AppError::from)?;
            self.emit(
                &mut c.tx,
                tid,
                &slug,
                &actor,
                Body::ActivationRequested(ev::ActivationRequested {
                    account_id: id.to_string(),
                    email: a.email.clone().unwrap_or_default(),
                    full_name: a.full_name(),
                    token: String::new(),
                    token_sealed: self.seal(tid, crate::events::SEALED_ACTIVATION_TOKEN, &token)?,
                    expires_at: expires.to_rfc3339(),
                }),
            )
            .await?;
        }
        self.audit(&mut c.tx, (tid, &actor), "account.create", "account", id.to_string(), staff_audit(&a)).await?;
        c.tx.commit().await.map_err(AppError::from)?;
        tracing::info!(account_id = %id, "staff account created");
        Ok(Response::new((&a).into()))
    }

    async fn update_staff_account(&self, req: Request<pb::UpdateStaffAccountRequest>) -> Res<pb::Account> {
        let mut c = self.caller(&req, Some(Permission::ManageStaff)).await?;
        let r = req.into_inner();
        let id = parse_id("id", &r.id)?;
        let before = self.live_staff(&mut c.tx, id).await?;
        let mut errs = Violations::new();
        let f = staff_fields(&mut c.tx, &mut errs, staff_input!(r)).await?;
        errs.into_result()?;
        on_account_uniques(store::update_staff(&mut c.tx, id, &f.update, self.now()).await)?;
        let after = self.load_account(&mut c.tx, id).await?;
        let changed = changed_fields(&before, &after);
        let actor = c.actor();
        let (tid, slug) = (c.p.tenant_id, c.p.tenant_slug.clone());
        self.emit(
            &mut c.tx,
            tid,
            &slug,
            &actor,
            Body::AccountUpdated(ev::AccountUpdated { account_id: id.to_string(), changed_fields: changed.clone() }),
        )
        .await?;
        self.audit(
            &mut c.tx,
            (tid, &actor),
            "account.update",
            "account",
            id.to_string(),
            serde_json::json!({"changed": changed}),
        )
        .await?;
        c.tx.commit().await.map_err(AppError::from)?;
        Ok(Response::new((&after).into()))
    }

    async fn get_account(&self, req: Request<pb::GetAccountRequest>) -> Res<pb::Account> {
        let mut c = self.caller(&req, None).await?;
        let id = parse_id("id", &req.get_ref().id)?;
        let a = self.load_account(&mut c.tx, id).await?;
        if a.kind == "citizen"
            && id != c.p.account_id
            && domain::roles_allow(&c.p.roles, Permission::ManageCitizenAccounts)
        {
            // Another curator's citizen is not revealed to exist, as in cases.
            self.citizen_in_scope(&mut c, id).await?;
        }
        let allowed = id == c.p.account_id
            || match a.kind.as_str() {
                "citizen" => domain::roles_allow(&c.p.roles, Permission::ManageCitizenAccounts),
                "service" => domain::roles_allow(&c.p.roles, Permission::ManageServiceAccounts),
                _ => domain::roles_allow(&c.p.roles, Permission::ReadStaff),
            };
        if !allowed {
            return Err(AppError::PermissionDenied(s::PERMISSION_DENIED.into()).into());
        }
        Ok(Response::new((&a).into()))
    }

    async fn list_accounts(&self, req: Request<pb::ListAccountsRequest>) -> Res<pb::ListAccountsResponse> {
        let r = req.get_ref();
        let kind = match pb::AccountKind::try_from(r.kind).unwrap_or_default() {
            pb::AccountKind::Citizen => Some("citizen"),
            pb::AccountKind::Service => Some("service"),
            pb::AccountKind::Staff | pb::AccountKind::Unspecified => Some("staff"),
        };
        let perm = match kind {
            Some("citizen") => Permission::ManageCitizenAccounts,
            Some("service") => Permission::ManageServiceAccounts,
            _ => Permission::ReadStaff,
        };
        let mut c = self.caller(&req, Some(perm)).await?;
        let r = req.into_inner();
        let (limit, offset) = page(r.page_size, &r.page_token)?;
        let role = if r.role == 0 {
            None
        } else {
            Some(Role::from_pb(r.role).ok_or_else(|| AppError::invalid("role", s::ROLE_INVALID))?.as_str().to_string())
        };
        // Citizens: only those inside the caller's scope (a curator's own).
        let citizens = if kind == Some("citizen") { domain::citizen_scope(&c.p) } else { domain::CitizenScope::All };
        let filter = store::AccountFilter {
            kind,
            citizens,
            role,
            query: opt_text(&r.query),
            include_deleted: r.include_deleted,
            limit,
            offset,
        };
        let (rows, total) = store::list_accounts(&mut c.tx, &filter).await.map_err(AppError::from)?;
        Ok(Response::new(pb::ListAccountsResponse {
            next_page_token: next_token(offset, rows.len(), limit, total),
            accounts: rows.iter().map(Into::into).collect(),
            total_size: total,
        }))
    }

    async fn set_password(&self, req: Request<pb::SetPasswordRequest>) -> Res<pb::SetPasswordResponse> {
        let mut c = self.caller(&req, Some(Permission::ManageStaff)).await?;
        let r = req.into_inner();
        let id = parse_id("id", &r.id)?;
        let pw = new_password(&self.st.settings, &r.password, &r.password_repeat, "")?;
        self.live_staff(&mut c.tx, id).await?;
        let hash = self.st.hasher.hash(pw.expose()).await.map_err(AppError::Internal)?;
        store::set_password(&mut c.tx, id, &hash, self.now()).await.map_err(AppError::from)?;
        let ended = store::revoke_sessions_of(&mut c.tx, id, None, self.now()).await.map_err(AppError::from)?;
        let actor = c.actor();
        let slug = c.p.tenant_slug.clone();
        self.revoke_everywhere(&mut c.tx, (c.p.tenant_id, &slug), &actor, id, &ended, false).await?;
        self.audit(
            &mut c.tx,
            (c.p.tenant_id, &actor),
            "account.set_password",
            "account",
            id.to_string(),
            serde_json::json!({}),
        )
        .await?;
        c.tx.commit().await.map_err(AppError::from)?;
        Ok(Response::new(pb::SetPasswordResponse {}))
    }

    async fn change_own_password(
        &self,
        req: Request<pb::ChangeOwnPasswordRequest>,
    ) -> Res<pb::ChangeOwnPasswordResponse> {
        let mut c = self.caller(&req, None).await?;
        let r = req.into_inner();
        let a = self.live_staff(&mut c.tx, c.p.account_id).await?;
        if !self.st.hasher.verify(&r.old_password, a.password_hash.as_deref()).await {
            return Err(AppError::invalid("old_password", s::OLD_PASSWORD_WRONG).into());
        }
        let pw = new_password(&self.st.settings, &r.new_password, &r.new_password_repeat, "new_")?;
        let hash = self.st.hasher.hash(pw.expose()).await.map_err(AppError::Internal)?;
        store::set_password(&mut c.tx, a.id, &hash, self.now()).await.map_err(AppError::from)?;
        // Other devices signed in with the old password are signed out.
        let ended =
            store::revoke_sessions_of(&mut c.tx, a.id, c.p.session_id, self.now()).await.map_err(AppError::from)?;
        let actor = c.actor();
        let slug = c.p.tenant_slug.clone();
        self.revoke_everywhere(&mut c.tx, (c.p.tenant_id, &slug), &actor, a.id, &ended, false).await?;
        self.audit(
            &mut c.tx,
            (c.p.tenant_id, &actor),
            "account.change_own_password",
            "account",
            a.id.to_string(),
            serde_json::json!({}),
        )
        .await?;
        c.tx.commit().await.map_err(AppError::from)?;
        Ok(Response::new(pb::ChangeOwnPasswordResponse {}))
    }

    async fn delete_account(&self, req: Request<pb::DeleteAccountRequest>) -> Res<pb::DeleteAccountResponse> {
        let mut c = self.caller(&req, Some(Permission::ManageStaff)).await?;
        let id = parse_id("id", &req.get_ref().id)?;
        if id == c.p.account_id {
            return Err(AppError::FailedPrecondition(s::CANNOT_DELETE_SELF.into()).into());
        }
        let a = self.load_account(&mut c.tx, id).await?;
        if a.deleted_at.is_some() {
            return Err(AppError::FailedPrecondition(s::ACCOUNT_DELETED.into()).into());
        }
        store::soft_delete(&mut c.tx, id, self.now()).await.map_err(AppError::from)?;
        let ended = store::revoke_sessions_of(&mut c.tx, id, None, self.now()).await.map_err(AppError::from)?;
        let actor = c.actor();
        let (tid, slug) = (c.p.tenant_id, c.p.tenant_slug.clone());
        self.revoke_everywhere(&mut c.tx, (tid, &slug), &actor, id, &ended, true).await?;
        self.emit(
            &mut c.tx,
            tid,
            &slug,
            &actor,
            Body::AccountDeleted(ev::AccountDeleted { account_id: id.to_string() }),
        )
        .await?;
        self.audit(&mut c.tx, (tid, &actor), "account.delete", "account", id.to_string(), serde_json::json!({}))
            .await?;
        c.tx.commit().await.map_err(AppError::from)?;
        Ok(Response::new(pb::DeleteAccountResponse {}))
    }

    async fn create_citizen_account(&self, req: Request<pb::CreateCitizenAccountRequest>) -> Res<pb::Account> {
        let mut c = self.caller(&req, Some(Permission::ManageCitizenAccounts)).await?;
        let r = req.into_inner();
        let mut errs = Violations::new();
        let u = citizen_fields(
            &mut errs,
            CitizenInput {
                surname: &r.surname,
                name: &r.name,
                patronymic: &r.patronymic,
                phone: &r.phone,
                email: &r.email,
            },
        );
        let request_id = opt_id("request_id", &r.request_id, &mut errs);
        errs.into_result()?;
        // A retry of the same request gets the account the first call created.
        if let Some(rid) = request_id
            && let Some(a) = store::find_by_creation_request(&mut c.tx, rid).await.map_err(AppError::from)?
        {
            return Ok(Response::new((&a).into()));
        }
        let now = self.now();
        let id = Uuid::now_v7();
        let new = store::NewAccount {
            id,
            tenant_id: c.p.tenant_id,
            kind: "citizen",
            status: "active",
            roles: vec![Role::Citizen.as_str().into()],
            surname: u.surname,
            name: u.name,
            patronymic: u.patronymic,
            phone: u.phone,
            email: u.email,
            creation_request_id: request_id,
            now,
            ..Default::default()
        };
        if !store::insert_account(&mut c.tx, &new).await.map_err(AppError::from)? {
            // A concurrent call with the same request id committed first.
            let rid = request_id.ok_or_else(|| AppError::internal(anyhow::anyhow!("citizen account not inserted")))?;
            let a = store::find_by_creation_request(&mut c.tx, rid)
                .await
                .map_err(AppError::from)?
                .ok_or_else(|| AppError::internal(anyhow::anyhow!("citizen account request {rid} not found")))?;
            return Ok(Response::new((&a).into()));
        }
        self.new_link_code(&mut c.tx, c.p.tenant_id, id).await?;
        // A curator creating a card is its curator (cases lets a curator
        // assign only themselves): recorded now, so the card's bot link code
        // is theirs before cases' `citizen_created` reaches the projection.
        if let domain::CitizenScope::Only { curator: Some(me), .. } = domain::citizen_scope(&c.p) {
            curators::record_creator(&mut c.tx, c.p.tenant_id, id, me).await.map_err(AppError::from)?;
        }
        let a = self.load_account(&mut c.tx, id).await?;
        let actor = c.actor();
        let (tid, slug) = (c.p.tenant_id, c.p.tenant_slug.clone());
        self.emit(
            &mut c.tx,
            tid,
            &slug,
            &actor,
            crate::events::account_created(id, "citizen", &a.roles, "", &a.full_name()),
        )
        .await?;
        self.audit(
            &mut c.tx,
            (tid, &actor),
            "account.create",
            "account",
            id.to_string(),
            serde_json::json!({"kind": "citizen"}),
        )
        .await?;
        c.tx.commit().await.map_err(AppError::from)?;
        Ok(Response::new((&a).into()))
    }

    async fn update_citizen_account(&self, req: Request<pb::UpdateCitizenAccountRequest>) -> Res<pb::Account> {
        let mut c = self.caller(&req, Some(Permission::ManageCitizenAccounts)).await?;
        let r = req.into_inner();
        let id = parse_id("id", &r.id)?;
        let before = self.live_citizen(&mut c.tx, id).await?;
        self.citizen_in_scope(&mut c, id).await?;
        let mut errs = Violations::new();
        let u = citizen_fields(
            &mut errs,
            CitizenInput {
                surname: &r.surname,
                name: &r.name,
                patronymic: &r.patronymic,
                phone: &r.phone,
                email: &r.email,
            },
        );
        errs.into_result()?;
        let now = self.now();
        let changed = citizen_changes(&before, &u);
        if changed.is_empty() {
            return Ok(Response::new((&before).into()));
        }
        store::update_citizen(&mut c.tx, id, &u, now).await.map_err(AppError::from)?;
        let after = self.load_account(&mut c.tx, id).await?;
        let actor = c.actor();
        let (tid, slug) = (c.p.tenant_id, c.p.tenant_slug.clone());
        self.emit(
            &mut c.tx,
            tid,
            &slug,
            &actor,
            Body::AccountUpdated(ev::AccountUpdated { account_id: id.to_string(), changed_fields: changed.clone() }),
        )
        .await?;
        self.audit(
            &mut c.tx,
            (tid, &actor),
            "account.update",
            "account",
            id.to_string(),
            serde_json::json!({"kind": "citizen", "changed": changed}),
        )
        .await?;
        c.tx.commit().await.map_err(AppError::from)?;
        Ok(Response::new((&after).into()))
    }

    async fn create_service_account(
        &self,
        req: Request<pb::CreateServiceAccountRequest>,
    ) -> Res<pb::CreateServiceAccountResponse> {
        let mut c = self.caller(&req, Some(Permission::ManageServiceAccounts)).await?;
        let r = req.into_inner();
        let mut errs = Violations::new();
        if r.name.trim().is_empty() {
            errs.add("name", s::NAME_REQUIRED);
        }
        let mut roles = Vec::new();
        for v in &r.roles {
            match Role::from_pb(*v) {
                Some(role @ (Role::Integration | Role::Bot)) => roles.push(role.as_str().to_string()),
                _ => errs.add("roles", s::ROLE_INVALID),
            }
        }
        if r.roles.is_empty() {
            errs.add("roles", s::ROLE_REQUIRED);
        }
        errs.into_result()?;
        let id = Uuid::now_v7();
        let client_id = format!("svc-{}", &Uuid::new_v4().simple().to_string()[..16]);
        let secret = tokens::random_secret();
        let new = store::NewAccount {
            id,
            tenant_id: c.p.tenant_id,
            kind: "service",
            status: "active",
            roles,
            surname: r.name.trim().to_string(),
            client_id: Some(client_id.clone()),
            client_secret_hash: Some(tokens::hash_secret(&secret)),
            now: self.now(),
            ..Default::default()
        };
        store::insert_account(&mut c.tx, &new).await.map_err(AppError::from)?;
        let a = self.load_account(&mut c.tx, id).await?;
        let actor = c.actor();
        self.audit(
            &mut c.tx,
            (c.p.tenant_id, &actor),
            "account.create",
            "account",
            id.to_string(),
            serde_json::json!({"kind": "service", "client_id": client_id}),
        )
        .await?;
        c.tx.commit().await.map_err(AppError::from)?;
        Ok(Response::new(pb::CreateServiceAccountResponse {
            account: Some((&a).into()),
            client_id,
            client_secret: secret,
        }))
    }

    async fn activate_account(&self, req: Request<pb::ActivateAccountRequest>) -> Res<pb::ActivateAccountResponse> {
        let r = req.into_inner();
        let invalid = || Status::from(AppError::invalid("token", s::TOKEN_INVALID));
        let Some(tenant) = self.tenant(&r.tenant).await? else { return Err(invalid()) };
        let pw = new_password(&self.st.settings, &r.password, &r.password_repeat, "")?;
        let now = self.now();
        let token_hash = tokens::hash_secret(r.token.trim());
        // Check the link, give the connection back while the hash runs
        // (issue 9, point 7), then check it again under the row lock.
        let first = {
            let mut tx = db::tenant_tx(&self.st.pool, tenant.id).await.map_err(AppError::from)?;
            let code = store::find_code_by_hash(&mut tx, "activation", &token_hash).await.map_err(AppError::from)?;
            let Some(code) = code.filter(|c| c.expires_at > now) else { return Err(invalid()) };
            let a = self.load_account(&mut tx, code.account_id).await?;
            if a.status != "pending_activation" {
                return Err(AppError::FailedPrecondition(s::NOT_PENDING.into()).into());
            }
            tx.commit().await.map_err(AppError::from)?;
            code.id
        };
        let hash = self.st.hasher.hash(pw.expose()).await.map_err(AppError::Internal)?;
        let mut tx = db::tenant_tx(&self.st.pool, tenant.id).await.map_err(AppError::from)?;
        let code = store::find_code_by_hash(&mut tx, "activation", &token_hash).await.map_err(AppError::from)?;
        let Some(code) = code.filter(|c| c.expires_at > now && c.id == first) else { return Err(invalid()) };
        let a = self.load_account(&mut tx, code.account_id).await?;
        if a.status != "pending_activation" {
            return Err(AppError::FailedPrecondition(s::NOT_PENDING.into()).into());
        }
        store::set_password(&mut tx, a.id, &hash, now).await.map_err(AppError::from)?;
        store::use_code(&mut tx, code.id, now).await.map_err(AppError::from)?;
        self.audit(
            &mut tx,
            (tenant.id, &a.id.to_string()),
            "account.activate",
            "account",
            a.id.to_string(),
            serde_json::json!({}),
        )
        .await?;
        let a = self.load_account(&mut tx, a.id).await?;
        let tokens = self.open_session(&mut tx, &tenant, &a).await?;
        tx.commit().await.map_err(AppError::from)?;
        Ok(Response::new(pb::ActivateAccountResponse { tokens: Some(tokens) }))
    }

    async fn request_password_reset(
        &self,
        req: Request<pb::RequestPasswordResetRequest>,
    ) -> Res<pb::RequestPasswordResetResponse> {
        self.throttle_address(&req, &self.st.throttles.reset_request, s::TOO_MANY_RESET_REQUESTS)?;
        let r = req.into_inner();
        // The answer is the same whether or not the account exists.
        let Some(tenant) = self.tenant(&r.tenant).await? else {
            return Ok(Response::new(pb::RequestPasswordResetResponse {}));
        };
        let mut tx = db::tenant_tx(&self.st.pool, tenant.id).await.map_err(AppError::from)?;
        let a = store::find_staff_by_login(&mut tx, &r.login).await.map_err(AppError::from)?;
        if let Some(a) = a.filter(|a| a.status == "active" && a.email.is_some()) {
            store::lock_account(&mut tx, a.id).await.map_err(AppError::from)?;
            // Per account, in the table: a flood of requests for one account
            // mails at most this many codes an hour; the answer stays the same
            // so it tells nothing about the account.
            let issued = store::codes_issued_within(&mut tx, a.id, "reset", 3600).await.map_err(AppError::from)?;
            if issued >= self.st.settings.reset_codes_per_hour {
                tracing::info!(account_id = %a.id, "reset code not sent: the account's hourly allowance is used");
                return Ok(Response::new(pb::RequestPasswordResetResponse {}));
            }
            let now = self.now();
            let code = tokens::random_digits(6);
            let expires = now + Duration::minutes(self.st.settings.reset_code_ttl_minutes);
            let hash = tokens::hash_secret(&format!("{}:{code}", a.id));
            store::insert_code(&mut tx, tenant.id, a.id, "reset", &hash, expires).await.map_err(AppError::from)?;
            let actor = a.id.to_string();
            self.emit(
                &mut tx,
                tenant.id,
                &tenant.slug,
                &actor,
                Body::PasswordResetRequested(ev::PasswordResetRequested {
                    account_id: a.id.to_string(),
                    email: a.email.clone().unwrap_or_default(),
                    full_name: a.full_name(),
                    code: String::new(),
                    code_sealed: self.seal(tenant.id, crate::events::SEALED_RESET_CODE, &code)?,
                    expires_at: expires.to_rfc3339(),
                    // The mail's link fills in what the account signs in with.
                    login: a.login.clone().or_else(|| a.email.clone()).unwrap_or_default(),
                }),
            )
            .await?;
            self.audit(
                &mut tx,
                (tenant.id, &actor),
                "account.reset_requested",
                "account",
                actor.clone(),
                serde_json::json!({}),
            )
            .await?;
            tx.commit().await.map_err(AppError::from)?;
        }
        Ok(Response::new(pb::RequestPasswordResetResponse {}))
    }

    async fn reset_password(&self, req: Request<pb::ResetPasswordRequest>) -> Res<pb::ResetPasswordResponse> {
        self.throttle_address(&req, &self.st.throttles.reset_guess, s::TOO_MANY_RESET_GUESSES)?;
        let r = req.into_inner();
        let invalid = || Status::from(AppError::invalid("code", s::RESET_CODE_INVALID));
        let Some(tenant) = self.tenant(&r.tenant).await? else { return Err(invalid()) };
        let pw = new_password(&self.st.settings, &r.password, &r.password_repeat, "")?;
        let mut tx = db::tenant_tx(&self.st.pool, tenant.id).await.map_err(AppError::from)?;
        let now = self.now();
        let Some(a) = store::find_staff_by_login(&mut tx, &r.login).await.map_err(AppError::from)? else {
            return Err(invalid());
        };
        // Issue 9, point 3: wrong guesses are bounded per account across
        // every code issued in the window, not per code.
        store::lock_account(&mut tx, a.id).await.map_err(AppError::from)?;
        let window_start = now - Duration::hours(self.st.settings.reset_guess_window_hours);
        if store::reset_guesses(&mut tx, a.id, window_start).await.map_err(AppError::from)?
            >= self.st.settings.reset_guess_limit
        {
            return Err(AppError::ResourceExhausted(s::TOO_MANY_RESET_GUESSES.into()).into());
        }
        let Some(code) = store::open_code_for(&mut tx, a.id, "reset").await.map_err(AppError::from)? else {
            return Err(invalid());
        };
        if code.expires_at <= now || code.attempts >= self.st.settings.reset_code_max_attempts {
            return Err(invalid());
        }
        let given = tokens::hash_secret(&format!("{}:{}", a.id, r.code.trim()));
        if !constant_time_eq(given.as_bytes(), code.code_hash.as_bytes()) {
            store::bump_code_attempts(&mut tx, code.id).await.map_err(AppError::from)?;
            store::record_reset_guess(&mut tx, a.id, window_start, now).await.map_err(AppError::from)?;
            tx.commit().await.map_err(AppError::from)?;
            return Err(invalid());
        }
        // The code is spent before hashing, and the connection given back
        // while the hash runs.
        store::use_code(&mut tx, code.id, now).await.map_err(AppError::from)?;
        store::clear_reset_guesses(&mut tx, a.id).await.map_err(AppError::from)?;
        tx.commit().await.map_err(AppError::from)?;
        let hash = self.st.hasher.hash(pw.expose()).await.map_err(AppError::Internal)?;
        let mut tx = db::tenant_tx(&self.st.pool, tenant.id).await.map_err(AppError::from)?;
        store::set_password(&mut tx, a.id, &hash, now).await.map_err(AppError::from)?;
        let ended = store::revoke_sessions_of(&mut tx, a.id, None, now).await.map_err(AppError::from)?;
        let actor = a.id.to_string();
        self.revoke_everywhere(&mut tx, (tenant.id, &tenant.slug), &actor, a.id, &ended, false).await?;
        self.audit(
            &mut tx,
            (tenant.id, &a.id.to_string()),
            "account.reset_password",
            "account",
            a.id.to_string(),
            serde_json::json!({}),
        )
        .await?;
        tx.commit().await.map_err(AppError::from)?;
        Ok(Response::new(pb::ResetPasswordResponse {}))
    }

    async fn issue_bot_link_code(&self, req: Request<pb::IssueBotLinkCodeRequest>) -> Res<pb::BotLinkCode> {
        let mut c = self.caller(&req, Some(Permission::ManageBotLinks)).await?;
        let id = parse_id("citizen_account_id", &req.get_ref().citizen_account_id)?;
        self.citizen(&mut c.tx, id).await?;
        self.citizen_in_scope(&mut c, id).await?;
        if let Some(l) = store::get_link_code(&mut c.tx, id).await.map_err(AppError::from)?
            && l.redeemed_at.is_some()
        {
            return Err(AppError::FailedPrecondition(s::CODE_ALREADY_USED.into()).into());
        }
        let row = self.new_link_code(&mut c.tx, c.p.tenant_id, id).await?;
        let actor = c.actor();
        self.audit(
            &mut c.tx,
            (c.p.tenant_id, &actor),
            "bot_link.issue",
            "account",
            id.to_string(),
            serde_json::json!({}),
        )
        .await?;
        c.tx.commit().await.map_err(AppError::from)?;
        Ok(Response::new((&row).into()))
    }

    async fn get_bot_link_code(&self, req: Request<pb::GetBotLinkCodeRequest>) -> Res<pb::BotLinkCode> {
        let mut c = self.caller(&req, Some(Permission::ManageBotLinks)).await?;
        let id = parse_id("citizen_account_id", &req.get_ref().citizen_account_id)?;
        self.citizen(&mut c.tx, id).await?;
        self.citizen_in_scope(&mut c, id).await?;
        let row = store::get_link_code(&mut c.tx, id)
            .await
            .map_err(AppError::from)?
            .ok_or_else(|| AppError::NotFound(s::CODE_NOT_FOUND.into()))?;
        Ok(Response::new((&row).into()))
    }

    async fn extend_bot_link_code(&self, req: Request<pb::ExtendBotLinkCodeRequest>) -> Res<pb::BotLinkCode> {
        let mut c = self.caller(&req, Some(Permission::ManageBotLinks)).await?;
        let id = parse_id("citizen_account_id", &req.get_ref().citizen_account_id)?;
        self.citizen(&mut c.tx, id).await?;
        self.citizen_in_scope(&mut c, id).await?;
        let mut row = store::get_link_code(&mut c.tx, id)
            .await
            .map_err(AppError::from)?
            .ok_or_else(|| AppError::NotFound(s::CODE_NOT_FOUND.into()))?;
        if row.redeemed_at.is_some() {
            return Err(AppError::FailedPrecondition(s::CODE_ALREADY_USED.into()).into());
        }
        row.expires_at = self.now() + Duration::hours(self.st.settings.bot_link_ttl_hours);
        store::set_link_expiry(&mut c.tx, id, row.expires_at).await.map_err(AppError::from)?;
        let actor = c.actor();
        self.audit(
            &mut c.tx,
            (c.p.tenant_id, &actor),
            "bot_link.extend",
            "account",
            id.to_string(),
            serde_json::json!({"expires_at": row.expires_at}),
        )
        .await?;
        c.tx.commit().await.map_err(AppError::from)?;
        Ok(Response::new((&row).into()))
    }

    async fn redeem_bot_link_code(
        &self,
        req: Request<pb::RedeemBotLinkCodeRequest>,
    ) -> Res<pb::RedeemBotLinkCodeResponse> {
        let mut c = self.caller(&req, Some(Permission::RedeemBotLinks)).await?;
        let r = req.into_inner();
        let code = r.code.trim().to_uppercase();
        if code.is_empty() {
            return Err(AppError::invalid("code", s::CODE_NOT_FOUND).into());
        }
        if r.telegram_chat_id == 0 {
            return Err(AppError::invalid("telegram_chat_id", s::ID_INVALID).into());
        }
        let now = self.now();
        let row = store::find_link_code(&mut c.tx, &code)
            .await
            .map_err(AppError::from)?
            .ok_or_else(|| AppError::NotFound(s::CODE_NOT_FOUND.into()))?;
        if row.redeemed_at.is_some() {
            return Err(AppError::FailedPrecondition(s::CODE_ALREADY_USED.into()).into());
        }
        if row.expires_at <= now {
            return Err(AppError::FailedPrecondition(s::CODE_EXPIRED.into()).into());
        }
        self.citizen(&mut c.tx, row.citizen_account_id).await?;
        store::redeem_link(&mut c.tx, row.citizen_account_id, r.telegram_chat_id, now)
            .await
            .on_constraint("accounts_telegram_chat_key", || {
                AppError::FailedPrecondition(s::CHAT_ALREADY_LINKED.into())
            })?;
        let actor = c.actor();
        let (tid, slug) = (c.p.tenant_id, c.p.tenant_slug.clone());
        self.emit(
            &mut c.tx,
            tid,
            &slug,
            &actor,
            Body::BotLinked(ev::BotLinked {
                citizen_account_id: row.citizen_account_id.to_string(),
                telegram_chat_id: r.telegram_chat_id,
            }),
        )
        .await?;
        self.audit(
            &mut c.tx,
            (tid, &actor),
            "bot_link.redeem",
            "account",
            row.citizen_account_id.to_string(),
            serde_json::json!({"telegram_chat_id": r.telegram_chat_id}),
        )
        .await?;
        c.tx.commit().await.map_err(AppError::from)?;
        Ok(Response::new(pb::RedeemBotLinkCodeResponse { citizen_account_id: row.citizen_account_id.to_string() }))
    }

    async fn list_audit_events(&self, req: Request<pb::ListAuditEventsRequest>) -> Res<pb::ListAuditEventsResponse> {
        let mut c = self.caller(&req, Some(Permission::ReadAudit)).await?;
        let r = req.into_inner();
        let (limit, offset) = page(r.page_size, &r.page_token)?;
        let rows = store::list_audit(&mut c.tx, opt_text(&r.entity_id).as_deref(), limit, offset)
            .await
            .map_err(AppError::from)?;
        let next = if rows.len() as i64 == limit { (offset + limit).to_string() } else { String::new() };
        Ok(Response::new(pb::ListAuditEventsResponse {
            events: rows
                .iter()
                .map(|e| pb::AuditEvent {
                    id: e.id.to_string(),
                    actor_id: e.actor_id.clone(),
                    action: e.action.clone(),
                    entity: e.entity.clone(),
                    entity_id: e.entity_id.clone(),
                    details_json: e.details.to_string(),
                    occurred_at: Some(ts(e.occurred_at)),
                })
                .collect(),
            next_page_token: next,
        }))
    }
}

impl Api {
    async fn citizen(&self, tx: &mut Tx, id: Uuid) -> Result<AccountRow, AppError> {
        let a = self.load_account(tx, id).await?;
        if a.kind != "citizen" {
            return Err(AppError::FailedPrecondition(s::NOT_A_CITIZEN.into()));
        }
        if a.deleted_at.is_some() {
            return Err(AppError::FailedPrecondition(s::ACCOUNT_DELETED.into()));
        }
        Ok(a)
    }

    async fn new_link_code(&self, tx: &mut Tx, tenant_id: Uuid, citizen: Uuid) -> Result<store::LinkCodeRow, AppError> {
        let expires = self.now() + Duration::hours(self.st.settings.bot_link_ttl_hours);
        // 31^8 codes per tenant: a clash is rare; retry a few times.
        for _ in 0..5 {
            let code = tokens::random_link_code();
            if store::find_link_code(tx, &code).await?.is_none() {
                return Ok(store::upsert_link_code(tx, tenant_id, citizen, &code, expires).await?);
            }
        }
        Err(AppError::internal(anyhow::anyhow!("could not find a free bot link code")))
    }
}

fn staff_audit(a: &AccountRow) -> serde_json::Value {
    serde_json::json!({
        "login": a.login, "surname": a.surname, "name": a.name, "patronymic": a.patronymic,
        "email": a.email, "phone": a.phone, "telegram_username": a.telegram_username,
        "district_id": a.district_id, "roles": a.roles, "status": a.status,
    })
}

fn changed_fields(a: &AccountRow, b: &AccountRow) -> Vec<String> {
    let pairs: [(&str, bool); 10] = [
        ("surname", a.surname != b.surname),
        ("name", a.name != b.name),
        ("patronymic", a.patronymic != b.patronymic),
        ("email", a.email != b.email),
        ("phone", a.phone != b.phone),
        ("telegram_username", a.telegram_username != b.telegram_username),
        ("district_id", a.district_id != b.district_id),
        ("organisation_id", a.organisation_id != b.organisation_id),
        ("login", a.login != b.login),
        ("roles", a.roles != b.roles),
    ];
    pairs.iter().filter(|(_, c)| *c).map(|(f, _)| f.to_string()).collect()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
