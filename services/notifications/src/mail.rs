//! The mail channel: each tenant's SMTP sender (lettre), the connection check
//! behind «Проверить соединение» (S0-14) and sending one rendered mail.
//!
//! A tenant admin names the host, so the host is untrusted (issue 9, point
//! 6): it is resolved here, an address on the link-local or cloud-metadata
//! ranges (or loopback, unless allowed for tests) is refused, and lettre
//! connects to the checked address itself (no second lookup to rebind). What
//! the remote side said never reaches the admin: every outcome is one of a
//! few fixed Russian sentences, the same for a closed port, a silent port and
//! a port that greets with something that is not SMTP — no port scanner, no
//! banner leak.
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio::sync::Mutex;
use uuid::Uuid;

use crate::crypto::{SecretBox, field};
use crate::domain::SmtpTls;
use crate::store::ChannelRow;
use crate::strings as s;
use crate::templates;

/// Whether an SMTP host may be reached at `ip`: never the unspecified,
/// broadcast or multicast addresses, the link-local ranges (169.254.0.0/16
/// with the cloud metadata endpoint, fe80::/10) or the other metadata
/// addresses clouds use; loopback only when `allow_loopback` (tests, a relay
/// on the same machine).
pub fn forbidden_target(ip: IpAddr, allow_loopback: bool) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    };
    match ip {
        IpAddr::V4(v4) => {
            const METADATA: [Ipv4Addr; 2] = [
                Ipv4Addr::new(100, 100, 100, 200), // Alibaba Cloud
                Ipv4Addr::new(192, 0, 0, 192),     // Oracle Cloud
            ];
            v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_link_local()
                || (v4.is_loopback() && !allow_loopback)
                || v4.octets()[0] == 0
                || METADATA.contains(&v4)
        }
        IpAddr::V6(v6) => {
            let metadata = Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254); // AWS IMDS over IPv6
            v6.is_unspecified()
                || v6.is_multicast()
                || (v6.segments()[0] & 0xffc0) == 0xfe80
                || (v6.is_loopback() && !allow_loopback)
                || v6 == metadata
        }
    }
}

/// Why a host cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// It resolves to a forbidden address (any of its addresses).
    Forbidden,
    /// It does not resolve (now).
    Unresolved,
}

/// Resolves `host:port` and returns the first address, refusing the host
/// when any of its addresses is forbidden (so a name cannot mix a public
/// address with a metadata one).
pub async fn resolve(host: &str, port: u16, allow_loopback: bool, timeout: Duration) -> Result<SocketAddr, Target> {
    let addrs: Vec<SocketAddr> = if let Ok(ip) = host.parse::<IpAddr>() {
        vec![SocketAddr::new(ip, port)]
    } else {
        match tokio::time::timeout(timeout, tokio::net::lookup_host((host, port))).await {
            Ok(Ok(a)) => a.collect(),
            _ => return Err(Target::Unresolved),
        }
    };
    if addrs.iter().any(|a| forbidden_target(a.ip(), allow_loopback)) {
        return Err(Target::Forbidden);
    }
    addrs.first().copied().ok_or(Target::Unresolved)
}

/// One tenant's sender, decrypted for use.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub sender_address: String,
    pub sender_name: String,
    pub username: String,
    pub password: Option<String>,
}

impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SmtpConfig({}:{} {:?} as {})", self.host, self.port, self.tls, self.username)
    }
}

impl SmtpConfig {
    /// The tenant's saved sender, or `None` while the form was never saved.
    pub fn from_row(row: &ChannelRow, secrets: &SecretBox) -> anyhow::Result<Option<Self>> {
        let (Some(host), Some(port), Some(tls), Some(sender)) =
            (&row.smtp_host, row.smtp_port, row.smtp_tls.as_deref().and_then(SmtpTls::parse), &row.smtp_sender_address)
        else {
            return Ok(None);
        };
        let password = match &row.smtp_password_enc {
            Some(enc) => Some(secrets.open(row.tenant_id, field::SMTP_PASSWORD, enc)?),
            None => None,
        };
        let username = row.smtp_username.clone().filter(|u| !u.is_empty()).unwrap_or_else(|| sender.clone());
        Ok(Some(Self {
            host: host.clone(),
            port: u16::try_from(port)?,
            tls,
            sender_address: sender.clone(),
            sender_name: row.smtp_sender_name.clone().unwrap_or_default(),
            username,
            password,
        }))
    }

    /// A transport to `addr` (already resolved and checked); TLS still
    /// verifies the certificate against the host name.
    fn transport(&self, addr: SocketAddr, timeout: Duration) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
        let params = || TlsParameters::new(self.host.clone()).map_err(|_| s::SMTP_CHECK_NO_SMTP.to_string());
        let ip = addr.ip().to_string();
        let builder = match self.tls {
            SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&ip),
            SmtpTls::StartTls => {
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&ip).tls(Tls::Required(params()?))
            }
            SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&ip).tls(Tls::Wrapper(params()?)),
        };
        let mut builder = builder.port(addr.port()).timeout(Some(timeout));
        if let Some(pw) = &self.password {
            builder = builder.credentials(Credentials::new(self.username.clone(), pw.clone()));
        }
        Ok(builder.build())
    }

    /// Resolves and checks the host (see [`resolve`]); the reason is one of
    /// the fixed sentences.
    pub async fn target(&self, allow_loopback: bool, timeout: Duration) -> Result<SocketAddr, String> {
        match resolve(&self.host, self.port, allow_loopback, timeout).await {
            Ok(a) => Ok(a),
            Err(Target::Forbidden) => Err(s::SMTP_CHECK_FORBIDDEN.into()),
            Err(Target::Unresolved) => Err(s::SMTP_CHECK_NO_SMTP.into()),
        }
    }

    /// «Проверить соединение»: connect, greet, authenticate, NOOP. The
    /// error is one of the fixed sentences.
    pub async fn check(&self, allow_loopback: bool, timeout: Duration) -> Result<(), String> {
        let addr = self.target(allow_loopback, timeout).await?;
        let transport = self.transport(addr, timeout)?;
        // The transport's own timeout covers each command; this bounds the whole check.
        match tokio::time::timeout(timeout + Duration::from_secs(1), transport.test_connection()).await {
            Ok(Ok(true)) => Ok(()),
            Ok(Ok(false)) => Err(s::SMTP_CHECK_NO_SMTP.into()),
            Ok(Err(e)) => Err(reason(&e).into()),
            Err(_) => Err(s::SMTP_CHECK_NO_SMTP.into()),
        }
    }
}

/// For the delivery log: the fixed sentence plus the server's numeric reply
/// code when there was one (never the reply's text).
fn logged_reason(e: &lettre::transport::smtp::Error) -> String {
    match e.status() {
        Some(code) => format!("{} (код ответа {code})", reason(e)),
        None => reason(e).to_string(),
    }
}

/// One fixed sentence per outcome: a refused login can only come from a
/// real SMTP server; everything else (closed, silent, not SMTP, TLS
/// mismatch, an error reply) reads the same.
fn reason(e: &lettre::transport::smtp::Error) -> &'static str {
    if e.status().is_some_and(|c| c.to_string().starts_with("53")) { s::SMTP_CHECK_AUTH } else { s::SMTP_CHECK_NO_SMTP }
}

/// A failed send: `retryable` when trying again later may help.
#[derive(Debug)]
pub struct SendFailure {
    pub reason: String,
    pub retryable: bool,
}

/// Sends mail through each tenant's sender; transports (and their pooled
/// connections) are reused while the tenant's settings stay the same.
pub struct Mailer {
    timeout: Duration,
    allow_loopback: bool,
    transports: Mutex<HashMap<Uuid, (SmtpConfig, AsyncSmtpTransport<Tokio1Executor>)>>,
}

impl Mailer {
    pub fn new(timeout: Duration, allow_loopback: bool) -> Self {
        Self { timeout, allow_loopback, transports: Mutex::new(HashMap::new()) }
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// `OPEKA_NOTIFICATIONS__SMTP_ALLOW_LOOPBACK`.
    pub fn allow_loopback(&self) -> bool {
        self.allow_loopback
    }

    pub async fn send(
        &self,
        tenant_id: Uuid,
        cfg: &SmtpConfig,
        to: &str,
        to_name: &str,
        mail: &templates::Mail,
    ) -> Result<(), SendFailure> {
        let permanent = |reason: String| SendFailure { reason, retryable: false };
        let from_name = (!cfg.sender_name.is_empty()).then(|| cfg.sender_name.clone());
        let from = Mailbox::new(
            from_name,
            cfg.sender_address.parse().map_err(|e| permanent(format!("адрес отправителя: {e}")))?,
        );
        let to_name = (!to_name.trim().is_empty()).then(|| to_name.trim().to_string());
        let to = Mailbox::new(to_name, to.parse().map_err(|e| permanent(format!("адрес получателя: {e}")))?);
        let message = Message::builder()
            .from(from)
            .to(to)
            .subject(mail.subject.clone())
            .header(ContentType::TEXT_PLAIN)
            .body(mail.body.clone())
            .map_err(|e| permanent(format!("письмо не собрано: {e}")))?;
        let transport = {
            let mut map = self.transports.lock().await;
            match map.get(&tenant_id) {
                Some((c, t)) if c == cfg => t.clone(),
                _ => {
                    let addr = match cfg.target(self.allow_loopback, self.timeout).await {
                        Ok(a) => a,
                        Err(reason) => return Err(SendFailure { reason, retryable: true }),
                    };
                    let t = cfg.transport(addr, self.timeout).map_err(permanent)?;
                    map.insert(tenant_id, (cfg.clone(), t.clone()));
                    t
                }
            }
        };
        match tokio::time::timeout(self.timeout + Duration::from_secs(1), transport.send(message)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => {
                // A pooled connection may have gone stale: start afresh next time.
                self.transports.lock().await.remove(&tenant_id);
                Err(SendFailure { reason: logged_reason(&e), retryable: !e.is_permanent() })
            }
            Err(_) => {
                self.transports.lock().await.remove(&tenant_id);
                Err(SendFailure { reason: s::SMTP_CHECK_NO_SMTP.into(), retryable: true })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_and_link_local_targets_are_forbidden() {
        for bad in ["169.254.169.254", "169.254.1.1", "fe80::1", "fd00:ec2::254", "100.100.100.200", "0.0.0.0", "::"] {
            assert!(forbidden_target(bad.parse().unwrap(), true), "{bad}");
        }
        assert!(forbidden_target("::ffff:169.254.169.254".parse().unwrap(), true));
        assert!(forbidden_target("127.0.0.1".parse().unwrap(), false));
        assert!(!forbidden_target("127.0.0.1".parse().unwrap(), true));
        for ok in ["94.100.180.160", "10.1.2.3", "192.168.1.10", "2a00:1148::1"] {
            assert!(!forbidden_target(ok.parse().unwrap(), false), "{ok}");
        }
    }
}
