//! Citizen appeals (issue 5, seed 001): `api` serves `opeka.cases.v1.AppealsService` around the
//! workflow in `domain` (statuses, the rules table, `apply`); `service` runs each step in one
//! transaction (card, timeline, work items, events), `journal` lists cards, `jobs` brings postponed
//! cards back when due, `work_items` is the executors' queue and `files` checks attachments.
pub mod api;
pub(crate) mod convert;
pub mod domain;
pub mod files;
pub mod jobs;
pub mod journal;
pub(crate) mod service;
pub mod store;
mod strings;
mod work_items;

pub use api::AppealsApi;
pub use jobs::{resume_due, run_resume_job};
