//! The citizen registry (patronage): cards, special groups, diary,
//! interaction history, the curator work queue, tenant terminology and the
//! audit trail. `api` serves `opeka.cases.v1.CasesService`.
pub mod api;
pub mod convert;
pub mod domain;
pub mod store;
pub mod strings;

pub const GRPC_NAME: &str = "opeka.cases.v1.CasesService";
