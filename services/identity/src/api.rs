//! gRPC handlers: decode, authorise, call the store, encode. Every write is
//! checked here against the caller's role and tenant.
use std::sync::Arc;

use chrono::Duration;
use opeka_platform::call::Call;
use opeka_platform::curators;
use opeka_platform::db::{self, Tx};
use opeka_platform::error::{AppError, FieldViolation, OnConstraint, Violations};
use opeka_platform::throttle;
use opeka_platform::wire::{self, Page};
use opeka_proto::events::{self as ev, envelope::Body};
use opeka_proto::identity::{self as pb, identity_service_server::IdentityService};
use tonic::Request;
use uuid::Uuid;

use crate::State;
use crate::convert::{org_kind_str, ts};
use crate::domain::{self, Email, Login, NewPassword, Permission, Phone, Role, Surname};
use crate::store::{self, AccountRow, Tenant};
use crate::strings as s;
use crate::tokens;

pub struct Api {
    st: Arc<State>,
}

impl Api {
    pub fn new(st: Arc<State>) -> Self {
        Self { st }
    }
}

impl Api {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.st.kit.now()
    }

    /// Authenticates, opens the tenant transaction, checks the session is
    /// still live (logout revokes it) and that a role grants `perm`.
    async fn caller<T>(&self, req: &Request<T>, perm: Option<Permission>) -> Result<Call, AppError> {
        let mut call = self.st.kit.open(req).await?;
        if let Some(sid) = call.principal.session_id
            && !store::session_is_live(&mut call.tx, sid, call.now).await?
        {
            return Err(AppError::Unauthenticated(s::SESSION_ENDED.into()));
        }
        if let Some(perm) = perm
            && !domain::roles_allow(&call.principal.roles, perm)
        {
            return Err(AppError::PermissionDenied(s::PERMISSION_DENIED.into()));
        }
        Ok(call)
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
        Ok(store::tenant_by_ref(&self.st.kit.pool, r.trim()).await?)
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
        self.st.kit.outbox.enqueue(tx, slug, &env).await?;
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
    async fn citizen_in_scope(&self, call: &mut Call, id: Uuid) -> Result<(), AppError> {
        let scope = domain::citizen_scope(&call.principal);
        if scope.admits(&mut call.tx, id).await? {
            return Ok(());
        }
        // A card an admin has just created for this curator may not have
        // reached the projection yet: wait for it briefly, then ask again.
        if !scope.is_none()
            && !curators::known(&mut call.tx, id).await?
            && curators::wait_known(&self.st.kit.pool, call.principal.tenant_id, id).await?
            && scope.admits(&mut call.tx, id).await?
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
    let phone = match wire::opt_text(f.phone) {
        Some(p) => errs.check("phone", Phone::parse(p)),
        None => {
            errs.add("phone", s::PHONE_REQUIRED);
            None
        }
    };
    let email = wire::opt_text(f.email).and_then(|e| errs.check("email", Email::parse(e)));
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
    let email = wire::opt_text(f.email).and_then(|e| errs.check("email", Email::parse(e)));
    let phone = wire::opt_text(f.phone).and_then(|p| errs.check("phone", Phone::parse(p)));
    let telegram =
        wire::opt_text(f.telegram).and_then(|t| errs.check("telegram_username", domain::telegram_username(t)));
    // S2-1, S2-6: an account with an e-mail may go without a login (it
    // signs in with the e-mail); without either it could not sign in at all.
    let login = match wire::opt_text(f.login) {
        Some(l) => errs.check("login", Login::parse(l)),
        None if f.email.trim().is_empty() => {
            errs.add("login", s::LOGIN_REQUIRED);
            None
        }
        None => None,
    };
    let district_id = wire::opt_id("district_id", f.district_id, errs);
    let organisation_id = wire::opt_id("organisation_id", f.organisation_id, errs);
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

impl Api {
    async fn login(&self, req: Request<pb::LoginRequest>) -> Result<pb::TokenPair, AppError> {
        self.throttle_address(&req, &self.st.throttles.login, s::TOO_MANY_LOGINS)?;
        let r = req.into_inner();
        let Some(tenant) = self.tenant(&r.tenant).await? else {
            self.st.hasher.verify(&r.password, None).await;
            return Err(Self::bad_credentials());
        };
        let now = self.now();
        // Read what the check needs and give the connection back before
        // hashing: a burst of logins then waits for a hashing slot, not for
        // the pool (issue 9, point 7).
        let account = {
            let mut tx = db::tenant_tx(&self.st.kit.pool, tenant.id).await?;
            let a = store::find_staff_by_login(&mut tx, &r.login).await?;
            tx.commit().await?;
            a
        };
        let Some(a) = account.filter(|a| a.status == "active") else {
            self.st.hasher.verify(&r.password, None).await;
            return Err(Self::bad_credentials());
        };
        if a.locked_until.is_some_and(|t| t > now) {
            self.st.hasher.verify(&r.password, None).await;
            let mut tx = db::tenant_tx(&self.st.kit.pool, tenant.id).await?;
            self.audit(
                &mut tx,
                (tenant.id, &a.id.to_string()),
                "login.locked",
                "account",
                a.id.to_string(),
                serde_json::json!({}),
            )
            .await?;
            tx.commit().await?;
            return Err(Self::bad_credentials());
        }
        let verified = self.st.hasher.verify(&r.password, a.password_hash.as_deref()).await;
        let mut tx = db::tenant_tx(&self.st.kit.pool, tenant.id).await?;
        if !verified {
            let lock_until = now + Duration::seconds(self.st.settings.lockout_secs);
            store::record_failed_login(&mut tx, a.id, self.st.settings.lockout_threshold, lock_until, now).await?;
            self.audit(
                &mut tx,
                (tenant.id, &a.id.to_string()),
                "login.failed",
                "account",
                a.id.to_string(),
                serde_json::json!({}),
            )
            .await?;
            tx.commit().await?;
            return Err(Self::bad_credentials());
        }
        // The account may have changed while the hash ran (deleted, locked
        // by a parallel guess, given a new password): check it again.
        store::lock_account(&mut tx, a.id).await?;
        let current = store::get_account(&mut tx, a.id).await?;
        let Some(a) = current.filter(|c| {
            c.status == "active"
                && c.deleted_at.is_none()
                && c.password_hash == a.password_hash
                && c.locked_until.is_none_or(|t| t <= now)
        }) else {
            return Err(Self::bad_credentials());
        };
        store::reset_failed_logins(&mut tx, a.id).await?;
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
        tx.commit().await?;
        tracing::info!(account_id = %a.id, tenant = %tenant.slug, "signed in");
        Ok(pair)
    }

    async fn issue_service_token(&self, req: Request<pb::IssueServiceTokenRequest>) -> Result<pb::TokenPair, AppError> {
        let r = req.into_inner();
        let bad = || AppError::Unauthenticated(s::BAD_CLIENT.into());
        let Some(tenant) = self.tenant(&r.tenant).await? else { return Err(bad()) };
        let mut tx = db::tenant_tx(&self.st.kit.pool, tenant.id).await?;
        let a = store::find_service_account(&mut tx, r.client_id.trim()).await?;
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
        tx.commit().await?;
        Ok(pb::TokenPair {
            access_token: access,
            access_expires_at: Some(ts(self.now() + Duration::seconds(ttl))),
            token_type: "Bearer".into(),
            account: Some((&a).into()),
            ..Default::default()
        })
    }

    async fn refresh(&self, req: Request<pb::RefreshRequest>) -> Result<pb::TokenPair, AppError> {
        let r = req.into_inner();
        let ended = || AppError::Unauthenticated(s::SESSION_ENDED.into());
        let Some(tenant) = self.tenant(&r.tenant).await? else { return Err(ended()) };
        let mut tx = db::tenant_tx(&self.st.kit.pool, tenant.id).await?;
        let hash = tokens::hash_secret(r.refresh_token.trim());
        let now = self.now();
        let Some(row) = store::find_refresh(&mut tx, &hash).await? else {
            return Err(ended());
        };
        if row.used_at.is_some() {
            // A rotated token came back: someone holds a copy. End the session.
            store::revoke_session(&mut tx, row.session_id, now).await?;
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
            self.st.kit.outbox.commit(tx).await?;
            return Err(ended());
        }
        if row.revoked_at.is_some() || row.expires_at <= now {
            return Err(ended());
        }
        let a = self.load_account(&mut tx, row.account_id).await?;
        if a.deleted_at.is_some() || a.status != "active" {
            return Err(ended());
        }
        store::mark_refresh_used(&mut tx, &hash, now).await?;
        let pair = self.pair(&mut tx, &tenant, &a, row.session_id, row.expires_at).await?;
        tx.commit().await?;
        Ok(pair)
    }

    async fn logout(&self, req: Request<pb::LogoutRequest>) -> Result<pb::LogoutResponse, AppError> {
        let mut call = self.caller(&req, None).await?;
        if let Some(sid) = call.principal.session_id {
            store::revoke_session(&mut call.tx, sid, self.now()).await?;
            let actor = call.actor();
            let (tenant, me) =
                ((call.principal.tenant_id, call.principal.tenant_slug.clone()), call.principal.account_id);
            self.revoke_everywhere(&mut call.tx, (tenant.0, &tenant.1), &actor, me, &[sid], false).await?;
            call.audit("logout", "session", sid.to_string(), serde_json::json!({})).await?;
        }
        call.commit().await?;
        Ok(pb::LogoutResponse {})
    }

    async fn get_jwks(&self, _req: Request<pb::GetJwksRequest>) -> Result<pb::GetJwksResponse, AppError> {
        Ok(pb::GetJwksResponse { jwks_json: self.st.keys.jwks_json().to_string() })
    }

    async fn who_am_i(&self, req: Request<pb::WhoAmIRequest>) -> Result<pb::Account, AppError> {
        let mut call = self.caller(&req, None).await?;
        let a = self.load_account(&mut call.tx, call.principal.account_id).await?;
        Ok((&a).into())
    }

    async fn create_organisation(
        &self,
        req: Request<pb::CreateOrganisationRequest>,
    ) -> Result<pb::Organisation, AppError> {
        let mut call = self.caller(&req, Some(Permission::ManageReference)).await?;
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
        let parent = wire::opt_id("parent_id", &r.parent_id, &mut errs);
        if let Some(p) = parent
            && !store::organisation_exists(&mut call.tx, p).await?
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
        store::insert_organisation(&mut call.tx, call.principal.tenant_id, &row).await?;
        call.audit(
            "organisation.create",
            "organisation",
            row.id.to_string(),
            serde_json::json!({"name": row.name, "kind": row.kind}),
        )
        .await?;
        call.commit().await?;
        Ok((&row).into())
    }

    async fn list_organisations(
        &self,
        req: Request<pb::ListOrganisationsRequest>,
    ) -> Result<pb::ListOrganisationsResponse, AppError> {
        let mut call = self.caller(&req, Some(Permission::ReadReference)).await?;
        let kind = org_kind_str(req.get_ref().kind);
        let rows = store::list_organisations(&mut call.tx, kind).await?;
        let (rows, next_page_token) =
            opeka_platform::wire::slice(rows, req.get_ref().page_size, &req.get_ref().page_token)?;
        Ok(pb::ListOrganisationsResponse { organisations: rows.iter().map(Into::into).collect(), next_page_token })
    }

    async fn create_district(&self, req: Request<pb::CreateDistrictRequest>) -> Result<pb::District, AppError> {
        let mut call = self.caller(&req, Some(Permission::ManageReference)).await?;
        let name = req.get_ref().name.trim().to_string();
        if name.is_empty() {
            return Err(AppError::invalid("name", s::NAME_REQUIRED));
        }
        let row = store::DistrictRow { id: Uuid::now_v7(), name };
        store::insert_district(&mut call.tx, call.principal.tenant_id, &row)
            .await
            .on_constraint("districts_name_key", || AppError::Taken(FieldViolation::new("name", s::DISTRICT_TAKEN)))?;
        call.audit("district.create", "district", row.id.to_string(), serde_json::json!({"name": row.name})).await?;
        call.commit().await?;
        Ok((&row).into())
    }

    async fn rename_district(&self, req: Request<pb::RenameDistrictRequest>) -> Result<pb::District, AppError> {
        let mut call = self.caller(&req, Some(Permission::ManageReference)).await?;
        let r = req.into_inner();
        let id = wire::id("id", &r.id)?;
        let name = r.name.trim().to_string();
        if name.is_empty() {
            return Err(AppError::invalid("name", s::NAME_REQUIRED));
        }
        let found = store::rename_district(&mut call.tx, id, &name)
            .await
            .on_constraint("districts_name_key", || AppError::Taken(FieldViolation::new("name", s::DISTRICT_TAKEN)))?;
        if !found {
            return Err(AppError::NotFound(s::DISTRICT_UNKNOWN.into()));
        }
        call.audit("district.rename", "district", id.to_string(), serde_json::json!({"name": name})).await?;
        call.commit().await?;
        Ok(pb::District { id: id.to_string(), name })
    }

    async fn list_districts(
        &self,
        req: Request<pb::ListDistrictsRequest>,
    ) -> Result<pb::ListDistrictsResponse, AppError> {
        let mut call = self.caller(&req, Some(Permission::ReadReference)).await?;
        let q = wire::opt_text(&req.get_ref().query).map(String::from);
        let rows = store::list_districts(&mut call.tx, q.as_deref()).await?;
        let (rows, next_page_token) =
            opeka_platform::wire::slice(rows, req.get_ref().page_size, &req.get_ref().page_token)?;
        Ok(pb::ListDistrictsResponse { districts: rows.iter().map(Into::into).collect(), next_page_token })
    }

    async fn create_staff_account(&self, req: Request<pb::CreateStaffAccountRequest>) -> Result<pb::Account, AppError> {
        let mut call = self.caller(&req, Some(Permission::ManageStaff)).await?;
        let r = req.into_inner();
        let mut errs = Violations::new();
        let f = staff_fields(&mut call.tx, &mut errs, staff_input!(r)).await?;
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
            tenant_id: call.principal.tenant_id,
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
        on_account_uniques(store::insert_account(&mut call.tx, &new).await)?;
        let a = self.load_account(&mut call.tx, id).await?;
        let tid = call.principal.tenant_id;
        call.emit(crate::events::account_created(
            id,
            "staff",
            &a.roles,
            a.login.as_deref().unwrap_or(""),
            &a.full_name(),
        ))
        .await?;
        if password.is_none() {
            let token = tokens::random_secret();
            let expires = now + Duration::hours(self.st.settings.activation_ttl_hours);
            store::insert_code(&mut call.tx, tid, id, "activation", &tokens::hash_secret(&token), expires).await?;
            call.emit(Body::ActivationRequested(ev::ActivationRequested {
                account_id: id.to_string(),
                email: a.email.clone().unwrap_or_default(),
                full_name: a.full_name(),
                token: String::new(),
                token_sealed: self.seal(tid, crate::events::SEALED_ACTIVATION_TOKEN, &token)?,
                expires_at: expires.to_rfc3339(),
            }))
            .await?;
        }
        call.audit("account.create", "account", id.to_string(), staff_audit(&a)).await?;
        call.commit().await?;
        tracing::info!(account_id = %id, "staff account created");
        Ok((&a).into())
    }

    async fn update_staff_account(&self, req: Request<pb::UpdateStaffAccountRequest>) -> Result<pb::Account, AppError> {
        let mut call = self.caller(&req, Some(Permission::ManageStaff)).await?;
        let r = req.into_inner();
        let id = wire::id("id", &r.id)?;
        let before = self.live_staff(&mut call.tx, id).await?;
        let mut errs = Violations::new();
        let f = staff_fields(&mut call.tx, &mut errs, staff_input!(r)).await?;
        errs.into_result()?;
        on_account_uniques(store::update_staff(&mut call.tx, id, &f.update, self.now()).await)?;
        let after = self.load_account(&mut call.tx, id).await?;
        let changed = changed_fields(&before, &after);
        call.emit(Body::AccountUpdated(ev::AccountUpdated {
            account_id: id.to_string(),
            changed_fields: changed.clone(),
        }))
        .await?;
        call.audit("account.update", "account", id.to_string(), serde_json::json!({"changed": changed})).await?;
        call.commit().await?;
        Ok((&after).into())
    }

    async fn get_account(&self, req: Request<pb::GetAccountRequest>) -> Result<pb::Account, AppError> {
        let mut call = self.caller(&req, None).await?;
        let id = wire::id("id", &req.get_ref().id)?;
        let a = self.load_account(&mut call.tx, id).await?;
        if a.kind == "citizen"
            && id != call.principal.account_id
            && domain::roles_allow(&call.principal.roles, Permission::ManageCitizenAccounts)
        {
            // Another curator's citizen is not revealed to exist, as in cases.
            self.citizen_in_scope(&mut call, id).await?;
        }
        let allowed = id == call.principal.account_id
            || match a.kind.as_str() {
                "citizen" => domain::roles_allow(&call.principal.roles, Permission::ManageCitizenAccounts),
                "service" => domain::roles_allow(&call.principal.roles, Permission::ManageServiceAccounts),
                _ => domain::roles_allow(&call.principal.roles, Permission::ReadStaff),
            };
        if !allowed {
            return Err(AppError::PermissionDenied(s::PERMISSION_DENIED.into()));
        }
        Ok((&a).into())
    }

    async fn list_accounts(&self, req: Request<pb::ListAccountsRequest>) -> Result<pb::ListAccountsResponse, AppError> {
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
        let mut call = self.caller(&req, Some(perm)).await?;
        let r = req.into_inner();
        let page = Page::parse(r.page_size, &r.page_token)?;
        let role = if r.role == 0 {
            None
        } else {
            Some(Role::from_pb(r.role).ok_or_else(|| AppError::invalid("role", s::ROLE_INVALID))?.as_str().to_string())
        };
        // Citizens: only those inside the caller's scope (a curator's own).
        let citizens =
            if kind == Some("citizen") { domain::citizen_scope(&call.principal) } else { domain::CitizenScope::All };
        let filter = store::AccountFilter {
            kind,
            citizens,
            role,
            query: wire::opt_text(&r.query).map(String::from),
            include_deleted: r.include_deleted,
            limit: page.limit,
            offset: page.offset,
        };
        let (rows, total) = store::list_accounts(&mut call.tx, &filter).await?;
        Ok(pb::ListAccountsResponse {
            next_page_token: page.next_token(rows.len(), total),
            accounts: rows.iter().map(Into::into).collect(),
            total_size: total,
        })
    }

    async fn set_password(&self, req: Request<pb::SetPasswordRequest>) -> Result<pb::SetPasswordResponse, AppError> {
        let mut call = self.caller(&req, Some(Permission::ManageStaff)).await?;
        let r = req.into_inner();
        let id = wire::id("id", &r.id)?;
        let pw = new_password(&self.st.settings, &r.password, &r.password_repeat, "")?;
        self.live_staff(&mut call.tx, id).await?;
        let hash = self.st.hasher.hash(pw.expose()).await.map_err(AppError::Internal)?;
        store::set_password(&mut call.tx, id, &hash, self.now()).await?;
        let ended = store::revoke_sessions_of(&mut call.tx, id, None, self.now()).await?;
        let actor = call.actor();
        let slug = call.principal.tenant_slug.clone();
        self.revoke_everywhere(&mut call.tx, (call.principal.tenant_id, &slug), &actor, id, &ended, false).await?;
        call.audit("account.set_password", "account", id.to_string(), serde_json::json!({})).await?;
        call.commit().await?;
        Ok(pb::SetPasswordResponse {})
    }

    async fn change_own_password(
        &self,
        req: Request<pb::ChangeOwnPasswordRequest>,
    ) -> Result<pb::ChangeOwnPasswordResponse, AppError> {
        let mut call = self.caller(&req, None).await?;
        let r = req.into_inner();
        let a = self.live_staff(&mut call.tx, call.principal.account_id).await?;
        if !self.st.hasher.verify(&r.old_password, a.password_hash.as_deref()).await {
            return Err(AppError::invalid("old_password", s::OLD_PASSWORD_WRONG));
        }
        let pw = new_password(&self.st.settings, &r.new_password, &r.new_password_repeat, "new_")?;
        let hash = self.st.hasher.hash(pw.expose()).await.map_err(AppError::Internal)?;
        store::set_password(&mut call.tx, a.id, &hash, self.now()).await?;
        // Other devices signed in with the old password are signed out.
        let ended = store::revoke_sessions_of(&mut call.tx, a.id, call.principal.session_id, self.now()).await?;
        let actor = call.actor();
        let slug = call.principal.tenant_slug.clone();
        self.revoke_everywhere(&mut call.tx, (call.principal.tenant_id, &slug), &actor, a.id, &ended, false).await?;
        call.audit("account.change_own_password", "account", a.id.to_string(), serde_json::json!({})).await?;
        call.commit().await?;
        Ok(pb::ChangeOwnPasswordResponse {})
    }

    async fn delete_account(
        &self,
        req: Request<pb::DeleteAccountRequest>,
    ) -> Result<pb::DeleteAccountResponse, AppError> {
        let mut call = self.caller(&req, Some(Permission::ManageStaff)).await?;
        let id = wire::id("id", &req.get_ref().id)?;
        if id == call.principal.account_id {
            return Err(AppError::FailedPrecondition(s::CANNOT_DELETE_SELF.into()));
        }
        let a = self.load_account(&mut call.tx, id).await?;
        if a.deleted_at.is_some() {
            return Err(AppError::FailedPrecondition(s::ACCOUNT_DELETED.into()));
        }
        store::soft_delete(&mut call.tx, id, self.now()).await?;
        let ended = store::revoke_sessions_of(&mut call.tx, id, None, self.now()).await?;
        let actor = call.actor();
        let (tid, slug) = (call.principal.tenant_id, call.principal.tenant_slug.clone());
        self.revoke_everywhere(&mut call.tx, (tid, &slug), &actor, id, &ended, true).await?;
        call.emit(Body::AccountDeleted(ev::AccountDeleted { account_id: id.to_string() })).await?;
        call.audit("account.delete", "account", id.to_string(), serde_json::json!({})).await?;
        call.commit().await?;
        Ok(pb::DeleteAccountResponse {})
    }

    async fn create_citizen_account(
        &self,
        req: Request<pb::CreateCitizenAccountRequest>,
    ) -> Result<pb::Account, AppError> {
        let mut call = self.caller(&req, Some(Permission::ManageCitizenAccounts)).await?;
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
        let request_id = wire::opt_id("request_id", &r.request_id, &mut errs);
        errs.into_result()?;
        // A retry of the same request gets the account the first call created.
        if let Some(rid) = request_id
            && let Some(a) = store::find_by_creation_request(&mut call.tx, rid).await?
        {
            return Ok((&a).into());
        }
        let now = self.now();
        let id = Uuid::now_v7();
        let new = store::NewAccount {
            id,
            tenant_id: call.principal.tenant_id,
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
        if !store::insert_account(&mut call.tx, &new).await? {
            // A concurrent call with the same request id committed first.
            let rid = request_id.ok_or_else(|| AppError::internal(anyhow::anyhow!("citizen account not inserted")))?;
            let a = store::find_by_creation_request(&mut call.tx, rid)
                .await?
                .ok_or_else(|| AppError::internal(anyhow::anyhow!("citizen account request {rid} not found")))?;
            return Ok((&a).into());
        }
        self.new_link_code(&mut call.tx, call.principal.tenant_id, id).await?;
        // A curator creating a card is its curator (cases lets a curator
        // assign only themselves): recorded now, so the card's bot link code
        // is theirs before cases' `citizen_created` reaches the projection.
        if let domain::CitizenScope::Only { curator: Some(me), .. } = domain::citizen_scope(&call.principal) {
            curators::record_creator(&mut call.tx, call.principal.tenant_id, id, me).await?;
        }
        let a = self.load_account(&mut call.tx, id).await?;
        call.emit(crate::events::account_created(id, "citizen", &a.roles, "", &a.full_name())).await?;
        call.audit("account.create", "account", id.to_string(), serde_json::json!({"kind": "citizen"})).await?;
        call.commit().await?;
        Ok((&a).into())
    }

    async fn update_citizen_account(
        &self,
        req: Request<pb::UpdateCitizenAccountRequest>,
    ) -> Result<pb::Account, AppError> {
        let mut call = self.caller(&req, Some(Permission::ManageCitizenAccounts)).await?;
        let r = req.into_inner();
        let id = wire::id("id", &r.id)?;
        let before = self.live_citizen(&mut call.tx, id).await?;
        self.citizen_in_scope(&mut call, id).await?;
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
            return Ok((&before).into());
        }
        store::update_citizen(&mut call.tx, id, &u, now).await?;
        let after = self.load_account(&mut call.tx, id).await?;
        call.emit(Body::AccountUpdated(ev::AccountUpdated {
            account_id: id.to_string(),
            changed_fields: changed.clone(),
        }))
        .await?;
        call.audit(
            "account.update",
            "account",
            id.to_string(),
            serde_json::json!({"kind": "citizen", "changed": changed}),
        )
        .await?;
        call.commit().await?;
        Ok((&after).into())
    }

    async fn create_service_account(
        &self,
        req: Request<pb::CreateServiceAccountRequest>,
    ) -> Result<pb::CreateServiceAccountResponse, AppError> {
        let mut call = self.caller(&req, Some(Permission::ManageServiceAccounts)).await?;
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
            tenant_id: call.principal.tenant_id,
            kind: "service",
            status: "active",
            roles,
            surname: r.name.trim().to_string(),
            client_id: Some(client_id.clone()),
            client_secret_hash: Some(tokens::hash_secret(&secret)),
            now: self.now(),
            ..Default::default()
        };
        store::insert_account(&mut call.tx, &new).await?;
        let a = self.load_account(&mut call.tx, id).await?;
        call.audit(
            "account.create",
            "account",
            id.to_string(),
            serde_json::json!({"kind": "service", "client_id": client_id}),
        )
        .await?;
        call.commit().await?;
        Ok(pb::CreateServiceAccountResponse { account: Some((&a).into()), client_id, client_secret: secret })
    }

    async fn activate_account(
        &self,
        req: Request<pb::ActivateAccountRequest>,
    ) -> Result<pb::ActivateAccountResponse, AppError> {
        let r = req.into_inner();
        let invalid = || AppError::invalid("token", s::TOKEN_INVALID);
        let Some(tenant) = self.tenant(&r.tenant).await? else { return Err(invalid()) };
        let pw = new_password(&self.st.settings, &r.password, &r.password_repeat, "")?;
        let now = self.now();
        let token_hash = tokens::hash_secret(r.token.trim());
        // Check the link, give the connection back while the hash runs
        // (issue 9, point 7), then check it again under the row lock.
        let first = {
            let mut tx = db::tenant_tx(&self.st.kit.pool, tenant.id).await?;
            let code = store::find_code_by_hash(&mut tx, "activation", &token_hash).await?;
            let Some(code) = code.filter(|c| c.expires_at > now) else { return Err(invalid()) };
            let a = self.load_account(&mut tx, code.account_id).await?;
            if a.status != "pending_activation" {
                return Err(AppError::FailedPrecondition(s::NOT_PENDING.into()));
            }
            tx.commit().await?;
            code.id
        };
        let hash = self.st.hasher.hash(pw.expose()).await.map_err(AppError::Internal)?;
        let mut tx = db::tenant_tx(&self.st.kit.pool, tenant.id).await?;
        let code = store::find_code_by_hash(&mut tx, "activation", &token_hash).await?;
        let Some(code) = code.filter(|c| c.expires_at > now && c.id == first) else { return Err(invalid()) };
        let a = self.load_account(&mut tx, code.account_id).await?;
        if a.status != "pending_activation" {
            return Err(AppError::FailedPrecondition(s::NOT_PENDING.into()));
        }
        store::set_password(&mut tx, a.id, &hash, now).await?;
        store::use_code(&mut tx, code.id, now).await?;
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
        tx.commit().await?;
        Ok(pb::ActivateAccountResponse { tokens: Some(tokens) })
    }

    async fn request_password_reset(
        &self,
        req: Request<pb::RequestPasswordResetRequest>,
    ) -> Result<pb::RequestPasswordResetResponse, AppError> {
        self.throttle_address(&req, &self.st.throttles.reset_request, s::TOO_MANY_RESET_REQUESTS)?;
        let r = req.into_inner();
        // The answer is the same whether or not the account exists.
        let Some(tenant) = self.tenant(&r.tenant).await? else {
            return Ok(pb::RequestPasswordResetResponse {});
        };
        let mut tx = db::tenant_tx(&self.st.kit.pool, tenant.id).await?;
        let a = store::find_staff_by_login(&mut tx, &r.login).await?;
        if let Some(a) = a.filter(|a| a.status == "active" && a.email.is_some()) {
            store::lock_account(&mut tx, a.id).await?;
            // Per account, in the table: a flood of requests for one account
            // mails at most this many codes an hour; the answer stays the same
            // so it tells nothing about the account.
            let issued = store::codes_issued_within(&mut tx, a.id, "reset", 3600).await?;
            if issued >= self.st.settings.reset_codes_per_hour {
                tracing::info!(account_id = %a.id, "reset code not sent: the account's hourly allowance is used");
                return Ok(pb::RequestPasswordResetResponse {});
            }
            let now = self.now();
            let code = tokens::random_digits(6);
            let expires = now + Duration::minutes(self.st.settings.reset_code_ttl_minutes);
            let hash = tokens::hash_secret(&format!("{}:{code}", a.id));
            store::insert_code(&mut tx, tenant.id, a.id, "reset", &hash, expires).await?;
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
            self.st.kit.outbox.commit(tx).await?;
        }
        Ok(pb::RequestPasswordResetResponse {})
    }

    async fn reset_password(
        &self,
        req: Request<pb::ResetPasswordRequest>,
    ) -> Result<pb::ResetPasswordResponse, AppError> {
        self.throttle_address(&req, &self.st.throttles.reset_guess, s::TOO_MANY_RESET_GUESSES)?;
        let r = req.into_inner();
        let invalid = || AppError::invalid("code", s::RESET_CODE_INVALID);
        let Some(tenant) = self.tenant(&r.tenant).await? else { return Err(invalid()) };
        let pw = new_password(&self.st.settings, &r.password, &r.password_repeat, "")?;
        let mut tx = db::tenant_tx(&self.st.kit.pool, tenant.id).await?;
        let now = self.now();
        let Some(a) = store::find_staff_by_login(&mut tx, &r.login).await? else {
            return Err(invalid());
        };
        // Issue 9, point 3: wrong guesses are bounded per account across
        // every code issued in the window, not per code.
        store::lock_account(&mut tx, a.id).await?;
        let window_start = now - Duration::hours(self.st.settings.reset_guess_window_hours);
        if store::reset_guesses(&mut tx, a.id, window_start).await? >= self.st.settings.reset_guess_limit {
            return Err(AppError::ResourceExhausted(s::TOO_MANY_RESET_GUESSES.into()));
        }
        let Some(code) = store::open_code_for(&mut tx, a.id, "reset").await? else {
            return Err(invalid());
        };
        if code.expires_at <= now || code.attempts >= self.st.settings.reset_code_max_attempts {
            return Err(invalid());
        }
        let given = tokens::hash_secret(&format!("{}:{}", a.id, r.code.trim()));
        if !constant_time_eq(given.as_bytes(), code.code_hash.as_bytes()) {
            store::bump_code_attempts(&mut tx, code.id).await?;
            store::record_reset_guess(&mut tx, a.id, window_start, now).await?;
            tx.commit().await?;
            return Err(invalid());
        }
        // The code is spent before hashing, and the connection given back
        // while the hash runs.
        store::use_code(&mut tx, code.id, now).await?;
        store::clear_reset_guesses(&mut tx, a.id).await?;
        tx.commit().await?;
        let hash = self.st.hasher.hash(pw.expose()).await.map_err(AppError::Internal)?;
        let mut tx = db::tenant_tx(&self.st.kit.pool, tenant.id).await?;
        store::set_password(&mut tx, a.id, &hash, now).await?;
        let ended = store::revoke_sessions_of(&mut tx, a.id, None, now).await?;
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
        self.st.kit.outbox.commit(tx).await?;
        Ok(pb::ResetPasswordResponse {})
    }

    async fn issue_bot_link_code(
        &self,
        req: Request<pb::IssueBotLinkCodeRequest>,
    ) -> Result<pb::BotLinkCode, AppError> {
        let mut call = self.caller(&req, Some(Permission::ManageBotLinks)).await?;
        let id = wire::id("citizen_account_id", &req.get_ref().citizen_account_id)?;
        self.citizen(&mut call.tx, id).await?;
        self.citizen_in_scope(&mut call, id).await?;
        if let Some(l) = store::get_link_code(&mut call.tx, id).await?
            && l.redeemed_at.is_some()
        {
            return Err(AppError::FailedPrecondition(s::CODE_ALREADY_USED.into()));
        }
        let row = self.new_link_code(&mut call.tx, call.principal.tenant_id, id).await?;
        call.audit("bot_link.issue", "account", id.to_string(), serde_json::json!({})).await?;
        call.commit().await?;
        Ok((&row).into())
    }

    async fn get_bot_link_code(&self, req: Request<pb::GetBotLinkCodeRequest>) -> Result<pb::BotLinkCode, AppError> {
        let mut call = self.caller(&req, Some(Permission::ManageBotLinks)).await?;
        let id = wire::id("citizen_account_id", &req.get_ref().citizen_account_id)?;
        self.citizen(&mut call.tx, id).await?;
        self.citizen_in_scope(&mut call, id).await?;
        let row = store::get_link_code(&mut call.tx, id)
            .await?
            .ok_or_else(|| AppError::NotFound(s::CODE_NOT_FOUND.into()))?;
        Ok((&row).into())
    }

    async fn extend_bot_link_code(
        &self,
        req: Request<pb::ExtendBotLinkCodeRequest>,
    ) -> Result<pb::BotLinkCode, AppError> {
        let mut call = self.caller(&req, Some(Permission::ManageBotLinks)).await?;
        let id = wire::id("citizen_account_id", &req.get_ref().citizen_account_id)?;
        self.citizen(&mut call.tx, id).await?;
        self.citizen_in_scope(&mut call, id).await?;
        let mut row = store::get_link_code(&mut call.tx, id)
            .await?
            .ok_or_else(|| AppError::NotFound(s::CODE_NOT_FOUND.into()))?;
        if row.redeemed_at.is_some() {
            return Err(AppError::FailedPrecondition(s::CODE_ALREADY_USED.into()));
        }
        row.expires_at = self.now() + Duration::hours(self.st.settings.bot_link_ttl_hours);
        store::set_link_expiry(&mut call.tx, id, row.expires_at).await?;
        call.audit("bot_link.extend", "account", id.to_string(), serde_json::json!({"expires_at": row.expires_at}))
            .await?;
        call.commit().await?;
        Ok((&row).into())
    }

    async fn redeem_bot_link_code(
        &self,
        req: Request<pb::RedeemBotLinkCodeRequest>,
    ) -> Result<pb::RedeemBotLinkCodeResponse, AppError> {
        let mut call = self.caller(&req, Some(Permission::RedeemBotLinks)).await?;
        let r = req.into_inner();
        let code = r.code.trim().to_uppercase();
        if code.is_empty() {
            return Err(AppError::invalid("code", s::CODE_NOT_FOUND));
        }
        if r.telegram_chat_id == 0 {
            return Err(AppError::invalid("telegram_chat_id", s::ID_INVALID));
        }
        let now = self.now();
        let row = store::find_link_code(&mut call.tx, &code)
            .await?
            .ok_or_else(|| AppError::NotFound(s::CODE_NOT_FOUND.into()))?;
        if row.redeemed_at.is_some() {
            return Err(AppError::FailedPrecondition(s::CODE_ALREADY_USED.into()));
        }
        if row.expires_at <= now {
            return Err(AppError::FailedPrecondition(s::CODE_EXPIRED.into()));
        }
        self.citizen(&mut call.tx, row.citizen_account_id).await?;
        store::redeem_link(&mut call.tx, row.citizen_account_id, r.telegram_chat_id, now)
            .await
            .on_constraint("accounts_telegram_chat_key", || {
                AppError::FailedPrecondition(s::CHAT_ALREADY_LINKED.into())
            })?;
        call.emit(Body::BotLinked(ev::BotLinked {
            citizen_account_id: row.citizen_account_id.to_string(),
            telegram_chat_id: r.telegram_chat_id,
        }))
        .await?;
        call.audit(
            "bot_link.redeem",
            "account",
            row.citizen_account_id.to_string(),
            serde_json::json!({"telegram_chat_id": r.telegram_chat_id}),
        )
        .await?;
        call.commit().await?;
        Ok(pb::RedeemBotLinkCodeResponse { citizen_account_id: row.citizen_account_id.to_string() })
    }

    async fn list_audit_events(
        &self,
        req: Request<pb::ListAuditEventsRequest>,
    ) -> Result<pb::ListAuditEventsResponse, AppError> {
        let mut call = self.caller(&req, Some(Permission::ReadAudit)).await?;
        let r = req.into_inner();
        let page = Page::parse(r.page_size, &r.page_token)?;
        let rows = store::list_audit(&mut call.tx, wire::opt_text(&r.entity_id), page.limit, page.offset).await?;
        let next = page.next_token_if_full(rows.len());
        Ok(pb::ListAuditEventsResponse {
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
        })
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

opeka_platform::grpc_handlers!(IdentityService for Api {
    login(pb::LoginRequest) -> pb::TokenPair;
    issue_service_token(pb::IssueServiceTokenRequest) -> pb::TokenPair;
    refresh(pb::RefreshRequest) -> pb::TokenPair;
    logout(pb::LogoutRequest) -> pb::LogoutResponse;
    get_jwks(pb::GetJwksRequest) -> pb::GetJwksResponse;
    who_am_i(pb::WhoAmIRequest) -> pb::Account;
    create_organisation(pb::CreateOrganisationRequest) -> pb::Organisation;
    list_organisations(pb::ListOrganisationsRequest) -> pb::ListOrganisationsResponse;
    create_district(pb::CreateDistrictRequest) -> pb::District;
    rename_district(pb::RenameDistrictRequest) -> pb::District;
    list_districts(pb::ListDistrictsRequest) -> pb::ListDistrictsResponse;
    create_staff_account(pb::CreateStaffAccountRequest) -> pb::Account;
    update_staff_account(pb::UpdateStaffAccountRequest) -> pb::Account;
    get_account(pb::GetAccountRequest) -> pb::Account;
    list_accounts(pb::ListAccountsRequest) -> pb::ListAccountsResponse;
    set_password(pb::SetPasswordRequest) -> pb::SetPasswordResponse;
    change_own_password(pb::ChangeOwnPasswordRequest) -> pb::ChangeOwnPasswordResponse;
    delete_account(pb::DeleteAccountRequest) -> pb::DeleteAccountResponse;
    create_citizen_account(pb::CreateCitizenAccountRequest) -> pb::Account;
    update_citizen_account(pb::UpdateCitizenAccountRequest) -> pb::Account;
    create_service_account(pb::CreateServiceAccountRequest) -> pb::CreateServiceAccountResponse;
    activate_account(pb::ActivateAccountRequest) -> pb::ActivateAccountResponse;
    request_password_reset(pb::RequestPasswordResetRequest) -> pb::RequestPasswordResetResponse;
    reset_password(pb::ResetPasswordRequest) -> pb::ResetPasswordResponse;
    issue_bot_link_code(pb::IssueBotLinkCodeRequest) -> pb::BotLinkCode;
    get_bot_link_code(pb::GetBotLinkCodeRequest) -> pb::BotLinkCode;
    extend_bot_link_code(pb::ExtendBotLinkCodeRequest) -> pb::BotLinkCode;
    redeem_bot_link_code(pb::RedeemBotLinkCodeRequest) -> pb::RedeemBotLinkCodeResponse;
    list_audit_events(pb::ListAuditEventsRequest) -> pb::ListAuditEventsResponse;
});
