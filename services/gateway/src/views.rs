//! Rendering: the templates (embedded at compile time, one layout), the
//! context every page shares, and the error pages a failed call turns into.
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use minijinja::value::Serde;
use minijinja::{Environment, UndefinedBehavior, Value, context};
use tonic::Code;

use crate::AppState;
use crate::session::Auth;

pub struct Views {
    env: Environment<'static>,
}

const TEMPLATES: &[(&str, &str)] = &[
    ("layout.html", include_str!("../templates/layout.html")),
    ("macros.html", include_str!("../templates/macros.html")),
    ("login.html", include_str!("../templates/login.html")),
    ("home.html", include_str!("../templates/home.html")),
    ("confirm.html", include_str!("../templates/confirm.html")),
    ("error.html", include_str!("../templates/error.html")),
    ("curators.html", include_str!("../templates/curators.html")),
    ("curator_form.html", include_str!("../templates/curator_form.html")),
    ("curator_card.html", include_str!("../templates/curator_card.html")),
    ("curator_password.html", include_str!("../templates/curator_password.html")),
    ("settings.html", include_str!("../templates/settings.html")),
    ("citizens.html", include_str!("../templates/citizens.html")),
    ("citizen_form.html", include_str!("../templates/citizen_form.html")),
    ("citizen_card.html", include_str!("../templates/citizen_card.html")),
    ("citizen_transfer.html", include_str!("../templates/citizen_transfer.html")),
    ("citizen_message.html", include_str!("../templates/citizen_message.html")),
    ("activity.html", include_str!("../templates/activity.html")),
    ("calendar.html", include_str!("../templates/calendar.html")),
    ("program_form.html", include_str!("../templates/program_form.html")),
    ("program_slot.html", include_str!("../templates/program_slot.html")),
    ("deviations.html", include_str!("../templates/deviations.html")),
    ("meetings.html", include_str!("../templates/meetings.html")),
    ("reference.html", include_str!("../templates/reference.html")),
    ("reference_form.html", include_str!("../templates/reference_form.html")),
    ("appeal_references.html", include_str!("../templates/appeal_references.html")),
    ("appeals.html", include_str!("../templates/appeals.html")),
    ("appeals_card.html", include_str!("../templates/appeals_card.html")),
    ("appeals_form.html", include_str!("../templates/appeals_form.html")),
    ("appeals_macros.html", include_str!("../templates/appeals_macros.html")),
    ("recovery_activate.html", include_str!("../templates/recovery_activate.html")),
    ("recovery_forgot.html", include_str!("../templates/recovery_forgot.html")),
    ("recovery_reset.html", include_str!("../templates/recovery_reset.html")),
    ("consultants.html", include_str!("../templates/consultants.html")),
    ("consultant_form.html", include_str!("../templates/consultant_form.html")),
    ("legal_aid_answers.html", include_str!("../templates/legal_aid_answers.html")),
    ("legal_aid_centre_form.html", include_str!("../templates/legal_aid_centre_form.html")),
    ("legal_aid_centres.html", include_str!("../templates/legal_aid_centres.html")),
    ("legal_aid_consultation.html", include_str!("../templates/legal_aid_consultation.html")),
    ("legal_aid_consultation_form.html", include_str!("../templates/legal_aid_consultation_form.html")),
    ("legal_aid_consultations.html", include_str!("../templates/legal_aid_consultations.html")),
    ("legal_aid_macros.html", include_str!("../templates/legal_aid_macros.html")),
    ("legal_aid_menu.html", include_str!("../templates/legal_aid_menu.html")),
    ("legal_aid_menu_link.html", include_str!("../templates/legal_aid_menu_link.html")),
    ("legal_aid_online.html", include_str!("../templates/legal_aid_online.html")),
    ("legal_aid_print.html", include_str!("../templates/legal_aid_print.html")),
    ("legal_aid_question.html", include_str!("../templates/legal_aid_question.html")),
    ("legal_aid_questions.html", include_str!("../templates/legal_aid_questions.html")),
    ("legal_aid_referral_form.html", include_str!("../templates/legal_aid_referral_form.html")),
    ("legal_aid_referral_print_form.html", include_str!("../templates/legal_aid_referral_print_form.html")),
    ("legal_aid_referrals.html", include_str!("../templates/legal_aid_referrals.html")),
];

impl Views {
    pub fn new() -> Result<Self, minijinja::Error> {
        let mut env = Environment::new();
        // A misspelt variable fails the render (and the tests) instead of
        // printing nothing; `{% if x %}` on a missing x is still allowed.
        env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
        for (name, source) in TEMPLATES {
            env.add_template(name, source)?;
        }
        Ok(Self { env })
    }

    pub fn render(&self, name: &str, ctx: Value) -> Result<String, minijinja::Error> {
        self.env.get_template(name)?.render(ctx)
    }
}

/// Field errors keyed by form field (the proto field name), plus the ones
/// that belong to no field on the form.
#[derive(Debug, Default, serde::Serialize)]
pub struct FormErrors {
    pub fields: std::collections::BTreeMap<String, String>,
    pub general: Vec<String>,
}

impl FormErrors {
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.general.is_empty()
    }

    pub fn field(&mut self, field: &str, message: impl Into<String>) {
        self.fields.entry(field.to_string()).or_insert_with(|| message.into());
    }

    /// Spreads identity's violations over the form: a violation of a field
    /// the form shows goes beside it, any other one on top of the form.
    pub fn from_status(status: &tonic::Status, form_fields: &[&str]) -> Self {
        let mut errors = Self::default();
        let violations = opeka_platform::error::violations(status);
        if violations.is_empty() {
            errors.general.push(status.message().to_string());
        }
        for v in violations {
            // `special_group_ids[1]` belongs beside the `special_group_ids` input.
            let field = v.field.split('[').next().unwrap_or_default();
            if form_fields.contains(&field) {
                errors.field(field, v.description);
            } else {
                errors.general.push(v.description);
            }
        }
        errors
    }
}

impl AppState {
    /// A full page in the layout: `ctx` is the page's own context (a `#[derive(Serialize)]` struct,
    /// or a `context!{}`), laid over what every page gets (strings, tenant, the signed-in user).
    pub fn page(
        &self,
        tenant: &str,
        auth: Option<&Auth>,
        status: StatusCode,
        template: &str,
        ctx: impl serde::Serialize,
    ) -> Response {
        let ctx = Value::from(Serde(ctx));
        let t = self.strings();
        let user = auth.map(|a| {
            let roles: Vec<String> = a.row.roles.iter().map(|r| t.role_name(r).to_string()).collect();
            context! { name => a.row.display_name.clone(), is_admin => a.is_admin(), roles => roles }
        });
        let base = context! {
            t => Value::from(Serde(t)),
            tenant => tenant,
            base => crate::tenancy::base(tenant),
            user => user,
            terms => Value::from(Serde(self.cached_terms(tenant))),
            csrf => auth.map(|a| a.row.csrf_token.clone()),
            // Pages that set neither get no title prefix and no menu mark.
            title => "",
            active => "",
        };
        // In `merge_maps` a later map wins: the page's own values over the base.
        match self.views.render(template, minijinja::value::merge_maps([base, ctx])) {
            Ok(html) => html_response(status, html),
            Err(e) => {
                tracing::error!(error = %e, template, "template failed to render");
                (StatusCode::INTERNAL_SERVER_ERROR, self.strings().internal).into_response()
            }
        }
    }

    /// A page that says what went wrong and offers the way back.
    pub fn error_page(&self, tenant: &str, auth: Option<&Auth>, status: StatusCode, message: &str) -> Response {
        self.page(tenant, auth, status, "error.html", context! { message => message })
    }

    /// Turns a failed service call outside a form into a page: a dead
    /// token sends the user to the login page, a refusal to a 403 page,
    /// anything unexpected to an opaque page carrying the trace id.
    pub async fn grpc_error(&self, auth: &Auth, status: tonic::Status) -> Response {
        let t = self.strings();
        let http = opeka_platform::error::http_status(status.code());
        match status.code() {
            Code::Unauthenticated => {
                auth.end(self).await;
                crate::session::to_login(&auth.tenant, Some("expired"))
            }
            Code::PermissionDenied => self.error_page(&auth.tenant, Some(auth), http, t.forbidden),
            Code::NotFound => self.error_page(&auth.tenant, Some(auth), http, t.not_found),
            Code::Unavailable | Code::DeadlineExceeded => {
                tracing::warn!(code = ?status.code(), message = status.message(), "service unavailable");
                self.error_page(&auth.tenant, Some(auth), http, t.unavailable)
            }
            Code::InvalidArgument | Code::FailedPrecondition | Code::AlreadyExists | Code::OutOfRange => {
                let msg = status.message().to_string();
                self.error_page(&auth.tenant, Some(auth), http, &msg)
            }
            _ => self.internal_error(&auth.tenant, Some(auth), &status),
        }
    }

    pub fn internal_error(&self, tenant: &str, auth: Option<&Auth>, err: &dyn std::fmt::Debug) -> Response {
        let trace_id = opeka_platform::telemetry::current_trace_id();
        tracing::error!(error = ?err, %trace_id, "request failed");
        let msg = format!("{} {trace_id}.", self.strings().internal);
        self.error_page(tenant, auth, StatusCode::INTERNAL_SERVER_ERROR, &msg)
    }
}

pub fn html_response(status: StatusCode, html: String) -> Response {
    let mut res = (status, axum::response::Html(html)).into_response();
    // Pages carry personal data: never cache them in the browser or a proxy.
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_parses() {
        Views::new().unwrap();
    }

    #[test]
    fn later_maps_win_in_a_merge() {
        let v = minijinja::value::merge_maps([context! { title => "" }, context! { title => "page" }]);
        assert_eq!(v.get_attr("title").unwrap().as_str(), Some("page"));
    }

    #[test]
    fn violations_go_beside_known_fields() {
        let st: tonic::Status = opeka_platform::AppError::Invalid(vec![
            opeka_platform::FieldViolation::new("surname", "Укажите фамилию."),
            opeka_platform::FieldViolation::new("roles", "Выберите роль."),
        ])
        .into();
        let e = FormErrors::from_status(&st, &["surname", "login"]);
        assert_eq!(e.fields.get("surname").map(String::as_str), Some("Укажите фамилию."));
        assert_eq!(e.general, vec!["Выберите роль.".to_string()]);
    }
}
