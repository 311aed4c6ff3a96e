//! Cases' integration tests: one binary (STYLE.md "Tests"), one fresh
//! database and bus root per test, identity and cases served on port 0.
//! Requirement ids (S0-…) are those of ../shared/REQUIREMENTS.md.
mod helpers;

mod access;
mod activities;
mod appeal_files;
mod appeal_work_items;
mod appeals;
mod appeals_journal;
mod audit;
mod citizens;
mod groups;
mod interactions;
mod isolation;
mod legal_aid;
mod legal_aid_questions;
mod legal_aid_referrals;
mod registry;
mod scheduler_events;
mod settings;
mod transfer;
