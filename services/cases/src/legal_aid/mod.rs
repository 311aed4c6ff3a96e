//! Legal aid (issue 5, seed 002): consultations, referrals, public online questions.
//! `api` serves `opeka.cases.v1.LegalAidService`; `model` holds the rules,
//! `routing` picks a question's centre, `form` writes the referral form,
//! `store` all SQL, `text` every Russian sentence.
pub mod api;
pub mod form;
pub mod model;
pub mod routing;
pub mod store;
pub mod text;

pub const GRPC_NAME: &str = "opeka.cases.v1.LegalAidService";
