//! The scheduler's integration tests: one binary (STYLE.md "Tests"), one
//! fresh database and bus root per test; identity, cases and the scheduler
//! served on port 0; the scheduler's clock set by hand, so schedules are
//! tested without sleeping through them. Requirement ids (S0-…) are those
//! of ../shared/REQUIREMENTS.md.
mod helpers;

mod answers;
mod calendars;
mod detectors;
mod dispatch;
mod horizon;
mod outage;
mod projection;
mod series;
mod settings;
