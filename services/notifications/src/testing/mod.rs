//! Fakes of what is outside Opeka's control, speaking the real protocols over
//! sockets (STYLE.md "Tests"): the Telegram Bot API and an SMTP server. Behind
//! the `testing` feature so integration-tests can use them too.
pub mod smtp;
pub mod telegram;

pub use smtp::{Received, SmtpSink};
pub use telegram::{Call, FakeTelegram};
