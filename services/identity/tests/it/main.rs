//! Identity's integration tests: one binary (STYLE.md "Tests"), one fresh
//! database and bus root per test, identity served on port 0.
mod helpers;

mod activation;
mod audit;
mod bot_link;
mod citizens;
mod health;
mod isolation;
mod login;
mod scoping;
mod service_accounts;
mod signing_keys;
mod staff;
mod throttles;
mod tokens;
mod validation;
