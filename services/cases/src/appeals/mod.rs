//! Citizen appeals (issue 5, seed 001): the gRPC API around `domain::appeal`, storage and the journal.
//! `service` runs each step in one transaction (card, timeline, work items, events); `jobs` brings
//! postponed cards back when due.
pub mod api;
pub(crate) mod convert;
pub mod files;
pub mod jobs;
pub mod journal;
pub(crate) mod service;
pub mod store;
mod strings;
mod work_items;

pub use api::AppealsApi;
pub use jobs::{resume_due, run_resume_job};
