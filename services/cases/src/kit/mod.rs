//! What cases' areas share: the identity client, the tenant's calendar
//! (work-queue periods), search folding and parsed values (`Phone`, `Email`…).
pub mod cache;
pub mod identity;
pub mod period;
pub mod search;
pub mod values;

/// What every handler returns; the error becomes a `Status` once, in `grpc_handlers!`.
pub type Res<T> = Result<T, opeka_platform::error::AppError>;

/// The tenant's time zone: its settings' choice, or the service's default.
/// The work queue's days and a record's «today» are its days.
pub async fn time_zone(conn: &mut sqlx::PgConnection, default: chrono_tz::Tz) -> Result<chrono_tz::Tz, sqlx::Error> {
    let row = crate::registry::store::tenant_settings(conn).await?;
    Ok(crate::registry::convert::tenant_settings(row.as_ref(), default).time_zone)
}
