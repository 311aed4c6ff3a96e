//! Legal aid (issue 5, seed 002): consultations, referrals, public online questions.
//! `api` serves `opeka.cases.v1.LegalAidService`; `domain` holds the rules
//! (with `form`, the referral form, and `routing`, a question's centre),
//! `convert` the messages, `store` all SQL, `strings` every Russian sentence.
pub mod api;
pub mod convert;
pub mod domain;
pub mod store;
pub mod strings;

pub const GRPC_NAME: &str = "opeka.cases.v1.LegalAidService";
