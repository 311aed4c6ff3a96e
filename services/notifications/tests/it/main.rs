//! Notifications' integration tests: one binary (STYLE.md "Tests"), a fresh
//! database and bus root per test; identity, files and notifications served on
//! port 0; Telegram and SMTP through local fakes that speak the protocols,
//! scheduler through a small in-test gRPC server.
mod fake_scheduler;
mod helpers;

mod bot;
mod channel_settings;
mod isolation;
mod mail;
mod outbound;
mod reminders;
mod smtp_hardening;
mod webhook;
