//! «Настройка системы»: the signed-in user changes their own password (S0-7,
//! S0-8); the admin also sets up the mail sender with «Проверить
//! соединение» (S0-9…S0-14, notifications), the Telegram bot token, the
//! address that receives copies of notices, and the tenant's terminology
//! and registry visibility (S0-2, cases), and the reminders' settings: time
//! zone, send-ahead window, grace period, detector thresholds, «без
//! назначений» on or off, the bot's rate (S0-90…S0-93, scheduler).
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::Query;
use minijinja::context;
use minijinja::value::{Serde, Value};
use opeka_proto::cases::{GetTenantSettingsRequest, UpdateTenantSettingsRequest};
use opeka_proto::identity::ChangeOwnPasswordRequest;
use opeka_proto::notifications::{
    CheckSmtpRequest, GetChannelSettingsRequest, SetAdminCopyEmailRequest, SetBotTokenRequest, SmtpTls,
    UpdateSmtpSettingsRequest,
};
use opeka_proto::scheduler::{GetSchedulerSettingsRequest, SchedulerSettings, UpdateSchedulerSettingsRequest};
use serde::{Deserialize, Serialize};
use tonic::Code;

use crate::pages::NoFields;
use crate::pages::common::{Page, http, is_form_error};
use crate::session::{Auth, AuthForm};
use crate::views::FormErrors;
use crate::{AppState, tenancy};

const FIELDS: &[&str] = &["old_password", "new_password", "new_password_repeat"];
const SMTP_FIELDS: &[&str] = &["host", "port", "tls", "sender_address", "sender_name", "username", "password"];
const TERMS_FIELDS: &[&str] = &["citizen_term", "citizens_section", "curator_term", "curators_section", "time_zone"];
const SCHEDULER_NUMBERS: [&str; 6] = [
    "send_ahead_minutes",
    "grace_minutes",
    "skipped_days",
    "silent_days",
    "no_assignments_days",
    "bot_rate_per_second",
];

#[derive(Deserialize, Default)]
pub struct SettingsQuery {
    #[serde(default)]
    changed: Option<String>,
    #[serde(default)]
    saved: Option<String>,
}

#[derive(Deserialize)]
pub struct PasswordChange {
    #[serde(default)]
    old_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    new_password_repeat: String,
}

/// The mail sender form (the password never comes back to the page).
#[derive(Deserialize, Serialize, Default)]
pub struct SmtpForm {
    #[serde(default)]
    host: String,
    #[serde(default)]
    port: String,
    /// `none`, `starttls` or `tls`.
    #[serde(default)]
    tls: String,
    #[serde(default)]
    sender_address: String,
    #[serde(default)]
    sender_name: String,
    #[serde(default)]
    username: String,
    #[serde(default, skip_serializing)]
    password: String,
}

#[derive(Deserialize, Serialize, Default)]
pub struct TermsForm {
    #[serde(default)]
    citizens_section: String,
    #[serde(default)]
    citizen_term: String,
    #[serde(default)]
    curator_term: String,
    #[serde(default)]
    curators_section: String,
    #[serde(default)]
    curators_read_all: Option<String>,
    #[serde(default)]
    time_zone: String,
}

/// The reminders' settings as typed (numbers stay text until they parse).
#[derive(Deserialize, Serialize, Default, Debug, PartialEq, Eq)]
pub struct SchedulerForm {
    #[serde(default)]
    time_zone: String,
    #[serde(default)]
    send_ahead_minutes: String,
    #[serde(default)]
    grace_minutes: String,
    #[serde(default)]
    skipped_days: String,
    #[serde(default)]
    silent_days: String,
    #[serde(default)]
    no_assignments_days: String,
    #[serde(default)]
    no_assignments_enabled: Option<String>,
    #[serde(default)]
    bot_rate_per_second: String,
}

impl SchedulerForm {
    fn from_settings(s: &SchedulerSettings) -> Self {
        Self {
            time_zone: s.time_zone.clone(),
            send_ahead_minutes: s.send_ahead_minutes.to_string(),
            grace_minutes: s.grace_minutes.to_string(),
            skipped_days: s.skipped_days.to_string(),
            silent_days: s.silent_days.to_string(),
            no_assignments_days: s.no_assignments_days.to_string(),
            no_assignments_enabled: s.no_assignments_enabled.then(|| "1".into()),
            bot_rate_per_second: s.bot_rate_per_second.to_string(),
        }
    }

    /// The update request, or the fields that are not whole numbers. An
    /// empty field is 0, which scheduler reads as "the default".
    fn request(&self, t: &crate::Strings) -> Result<UpdateSchedulerSettingsRequest, FormErrors> {
        let mut errors = FormErrors::default();
        let values = [
            &self.send_ahead_minutes,
            &self.grace_minutes,
            &self.skipped_days,
            &self.silent_days,
            &self.no_assignments_days,
            &self.bot_rate_per_second,
        ];
        let mut n = [0u32; 6];
        for (i, (field, value)) in SCHEDULER_NUMBERS.iter().zip(values).enumerate() {
            let value = value.trim();
            if value.is_empty() {
                continue;
            }
            match value.parse::<u32>() {
                Ok(v) => n[i] = v,
                Err(_) => errors.field(field, t.whole_number),
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(UpdateSchedulerSettingsRequest {
            time_zone: self.time_zone.trim().into(),
            send_ahead_minutes: n[0],
            grace_minutes: n[1],
            skipped_days: n[2],
            silent_days: n[3],
            no_assignments_days: n[4],
            no_assignments_enabled: self.no_assignments_enabled.is_some(),
            bot_rate_per_second: n[5],
        })
    }
}

#[derive(Deserialize)]
pub struct CopyEmailForm {
    #[serde(default)]
    email: String,
}

#[derive(Deserialize)]
pub struct BotForm {
    #[serde(default)]
    token: String,
}

/// What one render of the page shows beyond the stored values: which
/// section's errors, the submitted values of a refused form, a notice, the
/// answer of «Проверить соединение».
#[derive(Default)]
struct View {
    password_errors: FormErrors,
    smtp_errors: FormErrors,
    copy_errors: FormErrors,
    bot_errors: FormErrors,
    terms_errors: FormErrors,
    scheduler_errors: FormErrors,
    scheduler: Option<SchedulerForm>,
    smtp: Option<SmtpForm>,
    terms: Option<TermsForm>,
    copy_email: Option<String>,
    notice: Option<&'static str>,
    check: Option<(bool, String)>,
}

fn tls_code(tls: i32) -> &'static str {
    match SmtpTls::try_from(tls).unwrap_or_default() {
        SmtpTls::None => "none",
        SmtpTls::Starttls => "starttls",
        SmtpTls::Tls | SmtpTls::Unspecified => "tls",
    }
}

pub async fn page(State(state): State<AppState>, auth: Auth, Query(q): Query<SettingsQuery>) -> Page {
    let t = state.strings();
    let notice = if q.changed.is_some() {
        Some(t.password_changed)
    } else if q.saved.is_some() {
        Some(t.notice_saved)
    } else {
        None
    };
    render(&state, &auth, View { notice, ..Default::default() }, StatusCode::OK).await
}

async fn render(state: &AppState, auth: &Auth, v: View, status: StatusCode) -> Page {
    let t = state.strings();
    let mut admin = None;
    if auth.is_admin() {
        let channels =
            match state.notifications.clone().get_channel_settings(auth.req(GetChannelSettingsRequest {})).await {
                Ok(c) => Some(c.into_inner()),
                Err(status) if matches!(status.code(), Code::Unavailable | Code::DeadlineExceeded) => None,
                Err(status) => return Err(state.grpc_error(auth, status).await),
            };
        let tenant = match state.cases.clone().get_tenant_settings(auth.req(GetTenantSettingsRequest {})).await {
            Ok(s) => Some(s.into_inner()),
            Err(status) if matches!(status.code(), Code::Unavailable | Code::DeadlineExceeded) => None,
            Err(status) => return Err(state.grpc_error(auth, status).await),
        };
        let stored_scheduler =
            match state.scheduler.clone().get_scheduler_settings(auth.req(GetSchedulerSettingsRequest {})).await {
                Ok(s) => Some(s.into_inner()),
                Err(status) if matches!(status.code(), Code::Unavailable | Code::DeadlineExceeded) => None,
                Err(status) => return Err(state.grpc_error(auth, status).await),
            };
        let scheduler = v.scheduler.or_else(|| stored_scheduler.as_ref().map(SchedulerForm::from_settings));
        let stored_smtp = channels.as_ref().and_then(|c| c.smtp.clone());
        let smtp = v.smtp.unwrap_or_else(|| match &stored_smtp {
            Some(s) => SmtpForm {
                host: s.host.clone(),
                port: if s.port == 0 { String::new() } else { s.port.to_string() },
                tls: tls_code(s.tls).into(),
                sender_address: s.sender_address.clone(),
                sender_name: s.sender_name.clone(),
                username: s.username.clone(),
                password: String::new(),
            },
            None => SmtpForm { port: "465".into(), tls: "tls".into(), ..Default::default() },
        });
        let terms = v.terms.unwrap_or_else(|| match &tenant {
            Some(s) => TermsForm {
                citizens_section: s.citizens_section.clone(),
                citizen_term: s.citizen_term.clone(),
                curator_term: s.curator_term.clone(),
                curators_section: s.curators_section.clone(),
                curators_read_all: s.curators_read_all.then(|| "1".into()),
                time_zone: s.time_zone.clone(),
            },
            None => TermsForm::default(),
        });
        let bot = channels.as_ref().and_then(|c| c.bot.clone()).unwrap_or_default();
        admin = Some(context! {
            channels_available => channels.is_some(),
            tenant_available => tenant.is_some(),
            smtp => Value::from(Serde(&smtp)),
            password_set => stored_smtp.as_ref().is_some_and(|s| s.password_set),
            smtp_saved => stored_smtp.is_some(),
            copy_email => v.copy_email.unwrap_or_else(|| channels.as_ref().map(|c| c.admin_copy_email.clone()).unwrap_or_default()),
            bot_configured => bot.configured,
            bot_username => bot.username,
            bot_hint => bot.token_hint,
            terms => Value::from(Serde(&terms)),
            check_ok => v.check.as_ref().map(|c| c.0),
            check_message => v.check.map(|c| c.1),
            smtp_errors => Value::from(Serde(&v.smtp_errors)),
            copy_errors => Value::from(Serde(&v.copy_errors)),
            bot_errors => Value::from(Serde(&v.bot_errors)),
            terms_errors => Value::from(Serde(&v.terms_errors)),
            scheduler_available => stored_scheduler.is_some(),
            time_zone_known => scheduler.as_ref().is_none_or(|s| t.time_zones.iter().any(|z| z.0 == s.time_zone)),
            scheduler => Value::from(Serde(&scheduler.unwrap_or_default())),
            scheduler_errors => Value::from(Serde(&v.scheduler_errors)),
            time_zones => Value::from(Serde(&t.time_zones)),
        });
    }
    let ctx = context! {
        title => t.settings_title,
        active => "settings",
        errors => Value::from(Serde(&v.password_errors)),
        notice => v.notice,
        admin => admin,
    };
    Ok(state.page(&auth.tenant, Some(auth), status, "admin/settings.html", ctx))
}

fn saved(auth: &Auth, anchor: &str) -> Response {
    Redirect::to(&format!("{}/settings?saved=1#{anchor}", tenancy::base(&auth.tenant))).into_response()
}

pub async fn change_password(State(state): State<AppState>, AuthForm { auth, form }: AuthForm<PasswordChange>) -> Page {
    let t = state.strings();
    let mut errors = FormErrors::default();
    if form.old_password.is_empty() {
        errors.field("old_password", t.password_required);
    }
    if form.new_password.is_empty() {
        errors.field("new_password", t.password_required);
    }
    if form.new_password != form.new_password_repeat {
        errors.field("new_password_repeat", t.passwords_differ);
    }
    if !errors.is_empty() {
        return render(&state, &auth, View { password_errors: errors, ..Default::default() }, StatusCode::BAD_REQUEST)
            .await;
    }
    let msg = ChangeOwnPasswordRequest {
        old_password: form.old_password,
        new_password: form.new_password,
        new_password_repeat: form.new_password_repeat,
    };
    match state.identity.clone().change_own_password(auth.req(msg)).await {
        Ok(_) => {
            tracing::info!(account_id = %auth.row.account_id, "own password changed");
            Ok(Redirect::to(&format!("{}/settings?changed=1", tenancy::base(&auth.tenant))).into_response())
        }
        Err(status) if matches!(status.code(), Code::InvalidArgument | Code::FailedPrecondition) => {
            let errors = FormErrors::from_status(&status, FIELDS);
            let http = opeka_platform::error::http_status(status.code());
            render(&state, &auth, View { password_errors: errors, ..Default::default() }, http).await
        }
        Err(status) => Err(state.grpc_error(&auth, status).await),
    }
}

fn refuse_non_admin(state: &AppState, auth: &Auth) -> Option<Response> {
    (!auth.is_admin()).then(|| crate::pages::common::forbidden(state, auth))
}

/// S0-13: the mail sender; an empty password keeps the stored one.
pub async fn save_smtp(State(state): State<AppState>, AuthForm { auth, form }: AuthForm<SmtpForm>) -> Page {
    if let Some(r) = refuse_non_admin(&state, &auth) {
        return Err(r);
    }
    let t = state.strings();
    let Ok(port) = form.port.trim().parse::<u32>() else {
        let mut errors = FormErrors::default();
        errors.field("port", t.smtp_port_invalid);
        let v = View { smtp_errors: errors, smtp: Some(form), ..Default::default() };
        return render(&state, &auth, v, StatusCode::BAD_REQUEST).await;
    };
    let tls = match form.tls.as_str() {
        "none" => SmtpTls::None,
        "starttls" => SmtpTls::Starttls,
        "tls" => SmtpTls::Tls,
        _ => SmtpTls::Unspecified,
    };
    let msg = UpdateSmtpSettingsRequest {
        host: form.host.trim().into(),
        port,
        tls: tls as i32,
        sender_address: form.sender_address.trim().into(),
        sender_name: form.sender_name.trim().into(),
        username: form.username.trim().into(),
        password: form.password.clone(),
    };
    state
        .submit(
            &auth,
            state.notifications.clone().update_smtp_settings(auth.req(msg)),
            async |_| saved(&auth, "smtp-heading"),
            async |status| {
                let v = View {
                    smtp_errors: FormErrors::from_status(&status, SMTP_FIELDS),
                    smtp: Some(form),
                    ..Default::default()
                };
                render(&state, &auth, v, http(&status)).await
            },
        )
        .await
}

/// S0-14: «Проверить соединение» answers «Успешно» or «Соединение
/// отсутствует» with the reason, in place of the button's label.
pub async fn check_smtp(State(state): State<AppState>, AuthForm { auth, .. }: AuthForm<NoFields>) -> Page {
    if let Some(r) = refuse_non_admin(&state, &auth) {
        return Err(r);
    }
    let check = match state.notifications.clone().check_smtp(auth.req(CheckSmtpRequest {})).await {
        Ok(r) => {
            let r = r.into_inner();
            (r.ok, r.message)
        }
        Err(status) if is_form_error(&status) => (false, status.message().to_string()),
        Err(status) => return Err(state.grpc_error(&auth, status).await),
    };
    render(&state, &auth, View { check: Some(check), ..Default::default() }, StatusCode::OK).await
}

/// S0-9…S0-12: where copies of notices go; empty clears it.
pub async fn save_copy_email(State(state): State<AppState>, AuthForm { auth, form }: AuthForm<CopyEmailForm>) -> Page {
    if let Some(r) = refuse_non_admin(&state, &auth) {
        return Err(r);
    }
    let msg = SetAdminCopyEmailRequest { email: form.email.trim().into() };
    state
        .submit(
            &auth,
            state.notifications.clone().set_admin_copy_email(auth.req(msg)),
            async |_| saved(&auth, "copy-heading"),
            async |status| {
                let v = View {
                    copy_errors: FormErrors::from_status(&status, &["email"]),
                    copy_email: Some(form.email),
                    ..Default::default()
                };
                render(&state, &auth, v, http(&status)).await
            },
        )
        .await
}

/// The tenant's Telegram bot; an empty token disconnects it.
pub async fn save_bot(State(state): State<AppState>, AuthForm { auth, form }: AuthForm<BotForm>) -> Page {
    if let Some(r) = refuse_non_admin(&state, &auth) {
        return Err(r);
    }
    let msg = SetBotTokenRequest { token: form.token.trim().into() };
    state
        .submit(
            &auth,
            state.notifications.clone().set_bot_token(auth.req(msg)),
            async |_| saved(&auth, "bot-heading"),
            async |status| {
                let v = View { bot_errors: FormErrors::from_status(&status, &["token"]), ..Default::default() };
                render(&state, &auth, v, http(&status)).await
            },
        )
        .await
}

/// S0-2: the terms and «кураторы видят всех»; empty fields restore defaults.
pub async fn save_terms(State(state): State<AppState>, AuthForm { auth, form }: AuthForm<TermsForm>) -> Page {
    if let Some(r) = refuse_non_admin(&state, &auth) {
        return Err(r);
    }
    let msg = UpdateTenantSettingsRequest {
        citizen_term: form.citizen_term.trim().into(),
        citizens_section: form.citizens_section.trim().into(),
        curator_term: form.curator_term.trim().into(),
        curators_section: form.curators_section.trim().into(),
        curators_read_all: form.curators_read_all.is_some(),
        time_zone: form.time_zone.trim().into(),
    };
    state
        .submit(
            &auth,
            state.cases.clone().update_tenant_settings(auth.req(msg)),
            async |s| {
                state.remember_terms(&auth.tenant, &s);
                saved(&auth, "terms-heading")
            },
            async |status| {
                let v = View {
                    terms_errors: FormErrors::from_status(&status, TERMS_FIELDS),
                    terms: Some(form),
                    ..Default::default()
                };
                render(&state, &auth, v, http(&status)).await
            },
        )
        .await
}

/// S0-90…S0-93: the reminders' settings; empty fields restore defaults.
pub async fn save_scheduler(State(state): State<AppState>, AuthForm { auth, form }: AuthForm<SchedulerForm>) -> Page {
    if let Some(r) = refuse_non_admin(&state, &auth) {
        return Err(r);
    }
    let msg = match form.request(state.strings()) {
        Ok(m) => m,
        Err(errors) => {
            let v = View { scheduler_errors: errors, scheduler: Some(form), ..Default::default() };
            return render(&state, &auth, v, StatusCode::BAD_REQUEST).await;
        }
    };
    state
        .submit(
            &auth,
            state.scheduler.clone().update_scheduler_settings(auth.req(msg)),
            async |_| saved(&auth, "scheduler-heading"),
            async |status| {
                let mut fields = SCHEDULER_NUMBERS.to_vec();
                fields.extend(["time_zone", "no_assignments_enabled"]);
                let v = View {
                    scheduler_errors: FormErrors::from_status(&status, &fields),
                    scheduler: Some(form),
                    ..Default::default()
                };
                render(&state, &auth, v, http(&status)).await
            },
        )
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strings::RU;
    use crate::views::tests::render;

    #[test]
    fn scheduler_settings_round_trip_and_blanks_mean_defaults() {
        let stored = SchedulerSettings {
            time_zone: "Asia/Kamchatka".into(),
            send_ahead_minutes: 30,
            grace_minutes: 120,
            skipped_days: 5,
            silent_days: 10,
            no_assignments_days: 2,
            no_assignments_enabled: true,
            bot_rate_per_second: 30,
            updated_at: None,
        };
        let r = SchedulerForm::from_settings(&stored).request(&crate::strings::RU).unwrap();
        assert_eq!((r.time_zone.as_str(), r.send_ahead_minutes, r.grace_minutes), ("Asia/Kamchatka", 30, 120));
        assert_eq!((r.skipped_days, r.silent_days, r.no_assignments_days, r.bot_rate_per_second), (5, 10, 2, 30));
        assert!(r.no_assignments_enabled);

        // S0-93: the checkbox unticked switches «без назначений» off.
        let form = SchedulerForm { skipped_days: " 7 ".into(), ..Default::default() };
        let r = form.request(&crate::strings::RU).unwrap();
        assert_eq!((r.skipped_days, r.grace_minutes), (7, 0));
        assert!(!r.no_assignments_enabled);

        let form =
            SchedulerForm { grace_minutes: "два часа".into(), silent_days: "-1".into(), ..Default::default() };
        let e = form.request(&crate::strings::RU).unwrap_err();
        assert_eq!(e.fields.keys().collect::<Vec<_>>(), ["grace_minutes", "silent_days"]);
    }

    #[test]
    fn the_settings_page_has_the_scheduler_section() {
        let none = Value::from(Serde(FormErrors::default()));
        let admin = context! {
            channels_available => true, tenant_available => true,
            smtp => context! { host => "", port => "465", tls => "tls", sender_address => "", sender_name => "", username => "" },
            password_set => false, smtp_saved => false, copy_email => "",
            bot_configured => false, bot_username => "", bot_hint => "",
            terms => context! { citizens_section => "", citizen_term => "", curator_term => "", curators_section => "", curators_read_all => None::<&str>, time_zone => "" },
            check_ok => None::<bool>, check_message => None::<&str>,
            smtp_errors => none.clone(), copy_errors => none.clone(), bot_errors => none.clone(), terms_errors => none.clone(),
            scheduler_available => true,
            time_zone_known => false,
            scheduler => context! {
                time_zone => "Asia/Anadyr", send_ahead_minutes => "30", grace_minutes => "120", skipped_days => "5",
                silent_days => "10", no_assignments_days => "2", no_assignments_enabled => Some("1"), bot_rate_per_second => "30",
            },
            scheduler_errors => none.clone(),
            time_zones => Value::from(Serde(&RU.time_zones)),
        };
        let html = render(
            "admin/settings.html",
            context! { title => RU.settings_title, active => "settings", errors => none, notice => None::<&str>, admin => admin },
        );
        assert!(html.contains("id=\"scheduler-heading\""));
        assert!(html.contains("<option value=\"Asia&#x2f;Kamchatka\">Камчатка (МСК+9)</option>"), "{html}");
        assert!(html.contains("value=\"Asia&#x2f;Anadyr\" selected"), "a zone outside the list stays selectable");
        assert!(html.contains("name=\"no_assignments_enabled\" value=\"1\" checked"));
    }
}
