//! The files service's integration tests: one binary (STYLE.md "Tests"); each
//! test gets a fresh database, its own bus root and its own blob directory,
//! with identity (for tokens) and files served on port 0.
mod helpers;

mod access;
mod appeal_files;
mod audit;
mod file_types;
mod isolation;
mod scoping;
mod upload;
