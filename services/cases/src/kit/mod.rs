//! What cases' areas share: the identity client, the tenant's calendar
//! (work-queue periods), search folding and parsed values (`Phone`, `Email`…).
pub mod identity;
pub mod period;
pub mod search;
pub mod values;

/// What every handler returns; the error becomes a `Status` once, in `grpc_handlers!`.
pub type Res<T> = Result<T, opeka_platform::error::AppError>;
