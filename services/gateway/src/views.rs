//! Rendering: the templates (every file of `templates/`, embedded at compile time; one layout), the
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

/// Every file under `templates/` (one folder per menu section, like `pages/`), embedded at compile
/// time and registered by its path there: `appeals/card.html`.
static TEMPLATES: include_dir::Dir<'static> = include_dir::include_dir!("$CARGO_MANIFEST_DIR/templates");

impl Views {
    pub fn new() -> Result<Self, minijinja::Error> {
        let mut env = Environment::new();
        // A misspelt variable fails the render (and the tests) instead of
        // printing nothing; `{% if x %}` on a missing x is still allowed.
        env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
        let mut dirs = vec![&TEMPLATES];
        while let Some(dir) = dirs.pop() {
            dirs.extend(dir.dirs());
            for file in dir.files() {
                let name = file.path().to_string_lossy();
                let source = file.contents_utf8().ok_or_else(|| {
                    minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, format!("{name} is not UTF-8"))
                })?;
                env.add_template_owned(name.into_owned(), source)?;
            }
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
pub mod tests {
    use super::*;
    use crate::strings::RU;

    pub const BASE: &str = "/t/demo";

    /// Renders `template` as `AppState::page` does, over a signed-in admin's shared context: the
    /// pages' render tests make their data, so a template that reads a missing value fails there.
    pub fn render(template: &str, ctx: impl serde::Serialize) -> String {
        let base = context! {
            t => Value::from(Serde(&RU)),
            tenant => "demo",
            base => BASE,
            user => context! { name => "Кураторова Вера", is_admin => true, roles => vec!["Администратор"] },
            terms => Value::from(Serde(crate::terms::Terms::defaults(&RU))),
            csrf => "csrf-token",
            title => "",
            active => "",
        };
        Views::new().unwrap().render(template, minijinja::value::merge_maps([base, Value::from(Serde(ctx))])).unwrap()
    }

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
