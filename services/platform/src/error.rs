//! The one error vocabulary of Opeka and its mapping to gRPC codes and HTTP
//! statuses (DESIGN.md §8 "Errors on the wire").
use std::collections::HashMap;
use std::fmt;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// One invalid field: `field` is the proto field path, `description` a
/// Russian sentence a person can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    pub field: String,
    pub description: String,
}

impl FieldViolation {
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self { field: field.into(), description: description.into() }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("invalid argument: {}", fmt_violations(.0))]
    Invalid(Vec<FieldViolation>),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    AlreadyExists(String),
    /// A unique clash on one field: `ALREADY_EXISTS` carrying the field, so
    /// a form can show it beside the input.
    #[error("{}: {}", .0.field, .0.description)]
    Taken(FieldViolation),
    #[error("{0}")]
    FailedPrecondition(String),
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    PermissionDenied(String),
    #[error("{0}")]
    Unavailable(String),
    /// A throttle refused the call; the message says when to try again.
    #[error("{0}")]
    ResourceExhausted(String),
    /// The caller changed a record from a version that is no longer the
    /// current one (`ABORTED`, reason `STALE_VERSION` in every service).
    #[error("{0}")]
    Stale(String),
    /// A domain rule refused the call: `reason` is the stable
    /// `google.rpc.ErrorInfo` reason an integrator branches on
    /// (SCREAMING_SNAKE_CASE, never changed once released).
    #[error("{message}")]
    Rule { code: Code, reason: &'static str, message: String },
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

fn fmt_violations(v: &[FieldViolation]) -> String {
    v.iter().map(|f| format!("{}: {}", f.field, f.description)).collect::<Vec<_>>().join("; ")
}

impl AppError {
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldViolation::new(field, description)])
    }

    pub fn internal(e: impl Into<anyhow::Error>) -> Self {
        Self::Internal(e.into())
    }

    /// `FAILED_PRECONDITION` with a stable reason.
    pub fn precondition(reason: &'static str, message: impl Into<String>) -> Self {
        Self::Rule { code: Code::FailedPrecondition, reason, message: message.into() }
    }

    /// The stable `ErrorInfo` reason of this error.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Invalid(_) => "INVALID_FIELDS",
            Self::NotFound(_) => "NOT_FOUND",
            Self::AlreadyExists(_) => "ALREADY_EXISTS",
            Self::Taken(_) => "FIELD_TAKEN",
            Self::FailedPrecondition(_) => "FAILED_PRECONDITION",
            Self::Unauthenticated(_) => "UNAUTHENTICATED",
            Self::PermissionDenied(_) => "PERMISSION_DENIED",
            Self::Unavailable(_) => "UNAVAILABLE",
            Self::ResourceExhausted(_) => "THROTTLED",
            Self::Stale(_) => "STALE_VERSION",
            Self::Rule { reason, .. } => reason,
            Self::Internal(_) => "INTERNAL",
        }
    }

    pub fn code(&self) -> Code {
        match self {
            Self::Invalid(_) => Code::InvalidArgument,
            Self::NotFound(_) => Code::NotFound,
            Self::AlreadyExists(_) | Self::Taken(_) => Code::AlreadyExists,
            Self::FailedPrecondition(_) => Code::FailedPrecondition,
            Self::Unauthenticated(_) => Code::Unauthenticated,
            Self::PermissionDenied(_) => Code::PermissionDenied,
            Self::Unavailable(_) => Code::Unavailable,
            Self::ResourceExhausted(_) => Code::ResourceExhausted,
            Self::Stale(_) => Code::Aborted,
            Self::Rule { code, .. } => *code,
            Self::Internal(_) => Code::Internal,
        }
    }
}

/// The single table from gRPC code to HTTP status, used by the gateway for
/// statuses coming back from services and by the REST facade.
pub fn http_status(code: Code) -> http::StatusCode {
    use http::StatusCode as H;
    match code {
        Code::Ok => H::OK,
        Code::InvalidArgument | Code::OutOfRange => H::BAD_REQUEST,
        Code::NotFound => H::NOT_FOUND,
        Code::AlreadyExists | Code::Aborted => H::CONFLICT,
        Code::FailedPrecondition => H::CONFLICT,
        Code::Unauthenticated => H::UNAUTHORIZED,
        Code::PermissionDenied => H::FORBIDDEN,
        Code::ResourceExhausted => H::TOO_MANY_REQUESTS,
        Code::Unavailable => H::SERVICE_UNAVAILABLE,
        Code::DeadlineExceeded => H::GATEWAY_TIMEOUT,
        Code::Unimplemented => H::NOT_IMPLEMENTED,
        _ => H::INTERNAL_SERVER_ERROR,
    }
}

/// The `ErrorInfo` domain of every Opeka error.
pub const ERROR_DOMAIN: &str = "opeka";

impl From<AppError> for Status {
    fn from(e: AppError) -> Self {
        let code = e.code();
        let reason = e.reason();
        let mut details = ErrorDetails::new();
        let info = |metadata: Vec<(String, String)>, details: &mut ErrorDetails| {
            details.set_error_info(reason, ERROR_DOMAIN, metadata.into_iter().collect::<HashMap<_, _>>());
        };
        let message = match &e {
            AppError::Invalid(violations) => {
                details.set_bad_request(
                    violations
                        .iter()
                        .map(|v| tonic_types::FieldViolation::new(v.field.clone(), v.description.clone()))
                        .collect::<Vec<_>>(),
                );
                let fields = violations.iter().map(|v| v.field.as_str()).collect::<Vec<_>>().join(",");
                info(vec![("fields".into(), fields)], &mut details);
                format!("неверные данные: {}", fmt_violations(violations))
            }
            AppError::Taken(v) => {
                details.set_bad_request(vec![tonic_types::FieldViolation::new(v.field.clone(), v.description.clone())]);
                info(vec![("field".into(), v.field.clone())], &mut details);
                v.description.clone()
            }
            AppError::Internal(err) => {
                let trace_id = crate::telemetry::current_trace_id();
                tracing::error!(error = ?err, %trace_id, "internal error");
                info(vec![("trace_id".into(), trace_id.to_string())], &mut details);
                format!("внутренняя ошибка (trace id {trace_id})")
            }
            other => {
                info(Vec::new(), &mut details);
                other.to_string()
            }
        };
        Status::with_error_details(code, message, details)
    }
}

/// The `ErrorInfo` reason of a status, if it carries one.
pub fn reason(status: &Status) -> Option<String> {
    status.get_error_details().error_info().map(|i| i.reason.clone())
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::PoolTimedOut => AppError::Unavailable("база данных недоступна".into()),
            _ => AppError::Internal(e.into()),
        }
    }
}

/// Field violations read back from a status (for clients and the gateway).
pub fn violations(status: &Status) -> Vec<FieldViolation> {
    status
        .get_error_details()
        .bad_request()
        .map(|b| {
            b.field_violations.iter().map(|v| FieldViolation::new(v.field.clone(), v.description.clone())).collect()
        })
        .unwrap_or_default()
}

/// Turns the violation of a named constraint into a domain error; other
/// errors pass through. Constraint names are part of each schema's design.
pub trait OnConstraint<T> {
    fn on_constraint(self, name: &str, f: impl FnOnce() -> AppError) -> Result<T, AppError>;
}

impl<T> OnConstraint<T> for Result<T, sqlx::Error> {
    fn on_constraint(self, name: &str, f: impl FnOnce() -> AppError) -> Result<T, AppError> {
        self.map_err(|e| match &e {
            sqlx::Error::Database(db) if db.constraint() == Some(name) => f(),
            _ => e.into(),
        })
    }
}

impl<T> OnConstraint<T> for Result<T, AppError> {
    fn on_constraint(self, name: &str, f: impl FnOnce() -> AppError) -> Result<T, AppError> {
        self.map_err(|e| match e {
            AppError::Internal(inner) => match inner.downcast_ref::<sqlx::Error>() {
                Some(sqlx::Error::Database(db)) if db.constraint() == Some(name) => f(),
                _ => AppError::Internal(inner),
            },
            other => other,
        })
    }
}

/// Collects violations while checking a request, then fails once with all.
#[derive(Debug, Default)]
pub struct Violations(Vec<FieldViolation>);

impl Violations {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn add(&mut self, field: &str, description: impl fmt::Display) {
        self.0.push(FieldViolation::new(field, description.to_string()));
    }
    pub fn check<T>(&mut self, field: &str, r: Result<T, String>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(msg) => {
                self.add(field, msg);
                None
            }
        }
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn into_result(self) -> Result<(), AppError> {
        if self.0.is_empty() { Ok(()) } else { Err(AppError::Invalid(self.0)) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_carries_field_violations_on_the_wire() {
        let st: Status = AppError::invalid("surname", "Укажите фамилию.").into();
        assert_eq!(st.code(), Code::InvalidArgument);
        let v = violations(&st);
        assert_eq!(v, vec![FieldViolation::new("surname", "Укажите фамилию.")]);
    }

    #[test]
    fn every_error_carries_a_stable_reason() {
        let st: Status = AppError::invalid("surname", "Укажите фамилию.").into();
        assert_eq!(reason(&st).as_deref(), Some("INVALID_FIELDS"));
        let st: Status = AppError::Stale("устарело".into()).into();
        assert_eq!((st.code(), reason(&st).as_deref()), (Code::Aborted, Some("STALE_VERSION")));
        let st: Status = AppError::precondition("BOT_NOT_ACTIVATED", "бот не активирован").into();
        assert_eq!((st.code(), reason(&st).as_deref()), (Code::FailedPrecondition, Some("BOT_NOT_ACTIVATED")));
        assert_eq!(st.message(), "бот не активирован");
    }

    #[test]
    fn internal_is_opaque() {
        let st: Status = AppError::internal(anyhow::anyhow!("password=secret")).into();
        assert_eq!(st.code(), Code::Internal);
        assert!(!st.message().contains("secret"));
    }

    #[test]
    fn codes_map_to_http() {
        assert_eq!(http_status(Code::InvalidArgument), http::StatusCode::BAD_REQUEST);
        assert_eq!(http_status(Code::PermissionDenied), http::StatusCode::FORBIDDEN);
        assert_eq!(http_status(Code::Unauthenticated), http::StatusCode::UNAUTHORIZED);
        assert_eq!(http_status(AppError::ResourceExhausted("x".into()).code()), http::StatusCode::TOO_MANY_REQUESTS);
    }
}
