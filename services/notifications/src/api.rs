//! gRPC handlers: decode, authorise, call the store and the channels, encode.
use std::sync::Arc;

use opeka_platform::call::Call;
use opeka_platform::error::{AppError, Violations};
use opeka_platform::wire::{self, Page};
use opeka_proto::events::{self as ev, envelope::Body};
use opeka_proto::notifications::{self as pb, notifications_service_server::NotificationsService};
use teloxide::prelude::Requester;
use teloxide::{ApiError, RequestError};
use tonic::Request;
use uuid::Uuid;

use crate::crypto::field;
use crate::domain::{self, BotToken, EmailAddress, Permission, SmtpHost};
use crate::mail::SmtpConfig;
use crate::store::{self, ChannelRow};
use crate::strings as s;
use crate::telegram::{BotManager, Outgoing};
use crate::{App, convert};

pub struct Api {
    app: Arc<App>,
    bots: Arc<BotManager>,
}

impl Api {
    pub fn new(app: Arc<App>, bots: Arc<BotManager>) -> Self {
        Self { app, bots }
    }
}

/// The caller's own bearer token, forwarded when notifications acts in
/// identity on the admin's behalf (creating the bot's service account).
fn bearer<T>(req: &Request<T>) -> Option<String> {
    let v = req.metadata().get("authorization")?.to_str().ok()?;
    v.strip_prefix("Bearer ").map(|t| t.trim().to_string())
}

impl Api {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.app.kit.now()
    }

    /// Authorises by `perm` and opens the tenant transaction.
    async fn open<T>(&self, req: &Request<T>, perm: Permission) -> Result<Call, AppError> {
        let denied = || AppError::PermissionDenied(s::PERMISSION_DENIED.into());
        self.app.kit.open_if(req, |p| domain::roles_allow(&p.roles, perm), denied).await
    }

    async fn settings_of(&self, call: &mut Call) -> Result<pb::ChannelSettings, AppError> {
        let row = store::channel_settings(&mut call.tx, call.principal.tenant_id).await?;
        Ok(row
            .as_ref()
            .map(pb::ChannelSettings::from)
            .unwrap_or_else(|| pb::ChannelSettings { bot: Some(pb::BotSettings::default()), ..Default::default() }))
    }

    /// Creates the tenant's bot service account (role BOT) in identity with
    /// the admin's token, once; the row is locked meanwhile so two saves do
    /// not create two accounts.
    async fn ensure_service_account(&self, call: &mut Call, admin_bearer: Option<String>) -> Result<(), AppError> {
        let row: Option<ChannelRow> = store::lock_channel_settings(&mut call.tx, call.principal.tenant_id).await?;
        if row.as_ref().is_some_and(|r| r.service_client_id.is_some()) {
            return Ok(());
        }
        let bearer = admin_bearer.ok_or_else(|| AppError::Unauthenticated("токен не предъявлен".into()))?;
        let created =
            self.app.clients.create_bot_account(&bearer, &call.principal.tenant_slug).await.map_err(|st| {
                tracing::warn!(code = ?st.code(), message = st.message(), "bot service account not created");
                AppError::Unavailable(s::SERVICE_ACCOUNT_FAILED.into())
            })?;
        let account_id = created.account.as_ref().and_then(|a| a.id.parse().ok()).unwrap_or_default();
        let secret = self
            .app
            .secrets
            .seal(call.principal.tenant_id, field::CLIENT_SECRET, &created.client_secret)
            .map_err(AppError::internal)?;
        store::set_service_account(
            &mut call.tx,
            call.principal.tenant_id,
            &call.principal.tenant_slug,
            (account_id, &created.client_id, secret),
            self.now(),
        )
        .await?;
        self.app.clients.forget_token(call.principal.tenant_id).await;
        tracing::info!(tenant = %call.principal.tenant_slug, %account_id, "bot service account created");
        Ok(())
    }
}

impl Api {
    async fn get_channel_settings(
        &self,
        req: Request<pb::GetChannelSettingsRequest>,
    ) -> Result<pb::ChannelSettings, AppError> {
        let mut call = self.open(&req, Permission::ManageChannels).await?;
        let out = self.settings_of(&mut call).await?;
        Ok(out)
    }

    /// S0-13: the mail sender form.
    async fn update_smtp_settings(
        &self,
        req: Request<pb::UpdateSmtpSettingsRequest>,
    ) -> Result<pb::ChannelSettings, AppError> {
        let mut call = self.open(&req, Permission::ManageChannels).await?;
        let admin_bearer = bearer(&req);
        let r = req.into_inner();
        let mut errs = Violations::new();
        let host = errs.check("host", SmtpHost::parse(&r.host));
        let port = errs.check("port", domain::smtp_port(r.port));
        let tls = errs.check("tls", convert::tls_from_pb(r.tls).ok_or_else(|| s::SMTP_TLS_REQUIRED.to_string()));
        let sender = errs.check("sender_address", EmailAddress::parse(&r.sender_address));
        let name = errs.check("sender_name", domain::sender_name(&r.sender_name));
        let username = r.username.trim().to_string();
        if username.len() > 254 || username.chars().any(char::is_whitespace) {
            errs.add("username", s::EMAIL_INVALID);
        }
        if let (Some(h), Some(p)) = (&host, port) {
            // Issue 9, point 6: a host on a link-local or metadata address is
            // refused now; one that does not resolve yet is checked again at
            // every connection.
            let timeout = self.app.mailer.timeout().min(std::time::Duration::from_secs(3));
            if crate::mail::resolve(h.as_str(), p, self.app.mailer.allow_loopback(), timeout).await
                == Err(crate::mail::Target::Forbidden)
            {
                errs.add("host", s::SMTP_HOST_FORBIDDEN);
            }
            // The stored password never goes to another server: a new host or
            // port needs it typed again.
            let saved = store::channel_settings(&mut call.tx, call.principal.tenant_id).await?;
            if let Some(saved) = saved
                && saved.smtp_password_enc.is_some()
                && r.password.is_empty()
                && (saved.smtp_host.as_deref() != Some(h.as_str()) || saved.smtp_port != Some(i32::from(p)))
            {
                errs.add("password", s::SMTP_PASSWORD_AGAIN);
            }
        }
        errs.into_result()?;
        let (Some(host), Some(port), Some(tls), Some(sender), Some(name)) = (host, port, tls, sender, name) else {
            return Err(AppError::internal(anyhow::anyhow!("validated fields missing")));
        };
        let password_enc = match r.password.as_str() {
            "" => None,
            pw => Some(
                self.app
                    .secrets
                    .seal(call.principal.tenant_id, field::SMTP_PASSWORD, pw)
                    .map_err(AppError::internal)?,
            ),
        };
        let update = store::SmtpUpdate {
            host: host.as_str(),
            port: i32::from(port),
            tls: tls.as_str(),
            sender_address: sender.as_str(),
            sender_name: &name,
            username: (!username.is_empty()).then_some(username.as_str()),
            password_enc,
        };
        let (tenant_id, slug) = (call.principal.tenant_id, call.principal.tenant_slug.clone());
        store::update_smtp(&mut call.tx, tenant_id, &slug, update, self.now()).await?;
        // Mail copies look curators up with the bot's service account.
        if let Err(e) = self.ensure_service_account(&mut call, admin_bearer).await {
            tracing::warn!(tenant = %slug, error = %e, "smtp saved without a service account");
        }
        let out = self.settings_of(&mut call).await?;
        call.commit().await?;
        tracing::info!(tenant = %slug, "smtp settings saved");
        Ok(out)
    }

    /// S0-9: the admin's own address for copies.
    async fn set_admin_copy_email(
        &self,
        req: Request<pb::SetAdminCopyEmailRequest>,
    ) -> Result<pb::ChannelSettings, AppError> {
        let mut call = self.open(&req, Permission::ManageChannels).await?;
        let admin_bearer = bearer(&req);
        let r = req.into_inner();
        let email = match r.email.trim() {
            "" => None,
            e => Some(EmailAddress::parse(e).map_err(|m| AppError::invalid("email", m))?),
        };
        let (tenant_id, slug) = (call.principal.tenant_id, call.principal.tenant_slug.clone());
        store::set_admin_copy_email(&mut call.tx, tenant_id, &slug, email.as_ref().map(|e| e.as_str()), self.now())
            .await?;
        if let Err(e) = self.ensure_service_account(&mut call, admin_bearer).await {
            tracing::warn!(tenant = %slug, error = %e, "admin copy saved without a service account");
        }
        let out = self.settings_of(&mut call).await?;
        call.commit().await?;
        Ok(out)
    }

    async fn set_bot_token(&self, req: Request<pb::SetBotTokenRequest>) -> Result<pb::ChannelSettings, AppError> {
        let mut call = self.open(&req, Permission::ManageChannels).await?;
        let admin_bearer = bearer(&req);
        let r = req.into_inner();
        let (tenant_id, slug) = (call.principal.tenant_id, call.principal.tenant_slug.clone());
        if r.token.trim().is_empty() {
            let none = store::BotUpdate { token_enc: None, hint: None, username: None };
            store::set_bot(&mut call.tx, tenant_id, &slug, none, self.now()).await?;
            let out = self.settings_of(&mut call).await?;
            call.commit().await?;
            self.bots.reload(tenant_id).await.map_err(AppError::Internal)?;
            tracing::info!(tenant = %slug, "bot removed");
            return Ok(out);
        }
        let token = BotToken::parse(&r.token).map_err(|m| AppError::invalid("token", m))?;
        let bot = crate::telegram::make_bot(&self.app.settings.telegram_api_url, token.expose())
            .map_err(AppError::Internal)?;
        let me = match bot.get_me().await {
            Ok(me) => me,
            Err(RequestError::Api(ApiError::InvalidToken)) => {
                return Err(AppError::invalid("token", s::BOT_TOKEN_REJECTED));
            }
            Err(e) => {
                tracing::warn!(error = %e, "getMe failed");
                return Err(AppError::Unavailable(s::TELEGRAM_UNREACHABLE.into()));
            }
        };
        self.ensure_service_account(&mut call, admin_bearer).await?;
        let enc = self.app.secrets.seal(tenant_id, field::BOT_TOKEN, token.expose()).map_err(AppError::internal)?;
        let hint = token.hint();
        let username = me.username.clone().unwrap_or_default();
        let update = store::BotUpdate { token_enc: Some(enc), hint: Some(&hint), username: Some(&username) };
        store::set_bot(&mut call.tx, tenant_id, &slug, update, self.now()).await?;
        let out = self.settings_of(&mut call).await?;
        call.commit().await?;
        self.bots.reload(tenant_id).await.map_err(AppError::Internal)?;
        tracing::info!(tenant = %slug, bot = %username, "bot token set");
        Ok(out)
    }

    /// S0-14: «Проверить соединение» → «Успешно» / «Соединение отсутствует».
    async fn check_smtp(&self, req: Request<pb::CheckSmtpRequest>) -> Result<pb::CheckSmtpResponse, AppError> {
        let mut call = self.open(&req, Permission::ManageChannels).await?;
        let row = store::channel_settings(&mut call.tx, call.principal.tenant_id).await?;
        let slug = call.principal.tenant_slug.clone();
        call.commit().await?;
        let cfg = match row.as_ref().map(|r| SmtpConfig::from_row(r, &self.app.secrets)).transpose() {
            Ok(cfg) => cfg.flatten(),
            Err(e) => return Err(AppError::Internal(e)),
        };
        let result = match cfg {
            None => Err(s::SMTP_NOT_CONFIGURED.to_string()),
            Some(cfg) => cfg.check(self.app.mailer.allow_loopback(), self.app.mailer.timeout()).await,
        };
        let out = match result {
            Ok(()) => pb::CheckSmtpResponse { ok: true, message: s::SMTP_OK.into() },
            Err(reason) => {
                tracing::info!(tenant = %slug, %reason, "smtp check failed");
                pb::CheckSmtpResponse { ok: false, message: s::smtp_failed(&reason) }
            }
        };
        Ok(out)
    }

    /// S0-89: «Написать сообщение».
    async fn send_message_to_citizen(
        &self,
        req: Request<pb::SendMessageToCitizenRequest>,
    ) -> Result<pb::SendMessageToCitizenResponse, AppError> {
        let mut call = self.open(&req, Permission::MessageCitizens).await?;
        let r = req.into_inner();
        let mut errs = Violations::new();
        let citizen = errs.check(
            "citizen_account_id",
            wire::id("citizen_account_id", &r.citizen_account_id).map_err(|_| s::ID_INVALID.to_string()),
        );
        let text = errs.check("text", domain::message_text(&r.text));
        errs.into_result()?;
        let (Some(citizen), Some(text)) = (citizen, text) else {
            return Err(AppError::internal(anyhow::anyhow!("validated fields missing")));
        };
        let curator = store::curator_of(&mut call.tx, citizen).await?;
        let chat = store::chat_of_citizen(&mut call.tx, citizen).await?;
        let principal = call.principal.clone();
        call.commit().await?;
        let admin = principal.has_role("admin");
        // Neither curated nor bound here: no such citizen in this tenant
        // (another tenant's id answers as a made-up one does).
        if curator.is_none() && chat.is_none() {
            return Err(AppError::NotFound(s::CITIZEN_NOT_FOUND.into()));
        }
        if !admin && curator != Some(Some(principal.account_id)) {
            return Err(AppError::PermissionDenied(s::NOT_YOUR_CITIZEN.into()));
        }
        let Some(chat) = chat else { return Err(AppError::precondition("BOT_NOT_ACTIVATED", s::BOT_NOT_ACTIVATED)) };
        let Some(sender) = self.bots.sender(principal.tenant_id).await else {
            return Err(AppError::precondition("BOT_NOT_CONFIGURED", s::BOT_NOT_CONFIGURED));
        };
        let request_id = Uuid::now_v7();
        let terms =
            self.app.clients.terms(&self.app.kit.pool, &self.app.secrets, principal.tenant_id, self.now()).await;
        let result = sender.send(Outgoing::text(chat, s::citizen_message(&terms, &text))).await;
        let tries = match &result {
            Ok(sent) => sent.attempts,
            Err(f) => f.attempts,
        } as i32;
        let mut call = self.app.kit.open_as(principal, None).await?;
        let recipient = chat.to_string();
        let attempt = store::Attempt {
            tenant_id: call.tenant_id(),
            channel: "telegram",
            recipient: &recipient,
            source_event_id: request_id,
            kind: "citizen_message",
            tries,
            outcome: result.as_ref().map(|_| ()).map_err(|f| f.reason.clone()),
            at: call.now,
            reference_id: None,
        };
        let row = store::record_attempt(&mut call.tx, attempt).await?;
        if result.is_ok() {
            call.emit(Body::MessageDelivered(ev::MessageDelivered {
                delivery_id: row.id.to_string(),
                channel: "telegram".into(),
                recipient: recipient.clone(),
                source_event_id: request_id.to_string(),
                kind: "citizen_message".into(),
                citizen_account_id: citizen.to_string(),
                reference_id: String::new(),
            }))
            .await?;
        }
        call.commit().await?;
        match result {
            Ok(_) => Ok(pb::SendMessageToCitizenResponse { delivery_id: row.id.to_string() }),
            Err(f) => {
                tracing::warn!(%citizen, reason = %f.reason, "message to citizen not delivered");
                Err(AppError::Unavailable(s::TELEGRAM_SEND_FAILED.into()))
            }
        }
    }

    async fn list_deliveries(
        &self,
        req: Request<pb::ListDeliveriesRequest>,
    ) -> Result<pb::ListDeliveriesResponse, AppError> {
        let mut call = self.open(&req, Permission::ReadDeliveries).await?;
        let r = req.into_inner();
        let page = Page::parse(r.page_size, &r.page_token)?;
        let channel = convert::channel_from_pb(r.channel);
        let rows =
            store::list_deliveries(&mut call.tx, channel, convert::status_from_pb(r.status), page.limit, page.offset)
                .await?;
        Ok(pb::ListDeliveriesResponse {
            deliveries: rows.iter().map(pb::Delivery::from).collect(),
            next_page_token: page.next_token_if_full(rows.len()),
        })
    }
}

opeka_platform::grpc_handlers!(NotificationsService for Api {
    get_channel_settings(pb::GetChannelSettingsRequest) -> pb::ChannelSettings;
    update_smtp_settings(pb::UpdateSmtpSettingsRequest) -> pb::ChannelSettings;
    set_admin_copy_email(pb::SetAdminCopyEmailRequest) -> pb::ChannelSettings;
    set_bot_token(pb::SetBotTokenRequest) -> pb::ChannelSettings;
    check_smtp(pb::CheckSmtpRequest) -> pb::CheckSmtpResponse;
    send_message_to_citizen(pb::SendMessageToCitizenRequest) -> pb::SendMessageToCitizenResponse;
    list_deliveries(pb::ListDeliveriesRequest) -> pb::ListDeliveriesResponse;
});
