//! Throttles for the public and credential entry points (issue 9): keyed
//! in-memory limiters (governor's GCRA) per client address or per chat, and
//! the client address itself.
//!
//! The client address of a gRPC call is the TCP peer, unless the peer is a
//! trusted forwarder (`OPEKA_TRUSTED_FORWARDERS`, loopback by default: the
//! gateway on the same machine) that names the end user's address in
//! `x-opeka-client-ip`. A direct caller from anywhere else cannot spoof its
//! way around a per-address limit: its header is ignored.
//!
//! These limiters live in one process: with N replicas an address gets N
//! times the rate, which is still bounded. Counters that must hold across
//! replicas and restarts (reset-code guesses per account, codes mailed per
//! account) live in the owning service's tables instead.
use std::fmt;
use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// Request metadata carrying the end user's address, set by the gateway.
pub const CLIENT_IP_HEADER: &str = "x-opeka-client-ip";

/// A rate written `N/s`, `N/min` or `N/h` (N calls at once, refilled evenly
/// over the period), or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// `None` is `off`.
    limit: Option<(NonZeroU32, Duration)>,
}

impl Rate {
    pub const OFF: Rate = Rate { limit: None };

    pub fn per(count: u32, period: Duration) -> Rate {
        Rate { limit: NonZeroU32::new(count).filter(|_| !period.is_zero()).map(|n| (n, period)) }
    }

    fn quota(&self) -> Option<Quota> {
        let (n, period) = self.limit?;
        let step = period / n.get();
        Quota::with_period(step.max(Duration::from_nanos(1))).map(|q| q.allow_burst(n))
    }
}

impl FromStr for Rate {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("off") {
            return Ok(Rate::OFF);
        }
        let bad = || format!("'{s}' is not a rate like 30/min, 10/h, 5/s or off");
        let (n, unit) = s.split_once('/').ok_or_else(bad)?;
        let n: u32 = n.trim().parse().map_err(|_| bad())?;
        let period = match unit.trim() {
            "s" | "sec" => Duration::from_secs(1),
            "min" | "m" => Duration::from_secs(60),
            "h" | "hour" => Duration::from_secs(3600),
            "d" | "day" => Duration::from_secs(86_400),
            _ => return Err(bad()),
        };
        if n == 0 {
            return Err(bad());
        }
        Ok(Rate::per(n, period))
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.limit {
            None => f.write_str("off"),
            Some((n, p)) => match p.as_secs() {
                1 => write!(f, "{n}/s"),
                60 => write!(f, "{n}/min"),
                3600 => write!(f, "{n}/h"),
                86_400 => write!(f, "{n}/d"),
                s => write!(f, "{n}/{s}s"),
            },
        }
    }
}

impl Serialize for Rate {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// `OPEKA_THROTTLE__<FIELD>`: the in-memory limits of every service, in one
/// section so an operator finds them together.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ThrottleSettings {
    /// identity `Login`, per client address.
    pub login_per_address: Rate,
    /// identity `RequestPasswordReset`, per client address.
    pub reset_request_per_address: Rate,
    /// identity `ResetPassword` (code guesses), per client address.
    pub reset_guess_per_address: Rate,
    /// cases `AskQuestion` (the public «Задать вопрос»), per client address.
    pub ask_question_per_address: Rate,
    /// The bot's activation-code guesses, per Telegram chat.
    pub bot_activation_per_chat: Rate,
}

impl Default for ThrottleSettings {
    fn default() -> Self {
        let r = |n, secs| Rate::per(n, Duration::from_secs(secs));
        Self {
            login_per_address: r(30, 60),
            reset_request_per_address: r(10, 3600),
            reset_guess_per_address: r(30, 3600),
            ask_question_per_address: r(10, 3600),
            bot_activation_per_chat: r(10, 3600),
        }
    }
}

impl ThrottleSettings {
    /// Limits tests can never reach by accident (a test that is about a
    /// throttle sets its own).
    pub fn relaxed() -> Self {
        let r = Rate::per(100_000, Duration::from_secs(60));
        Self {
            login_per_address: r,
            reset_request_per_address: r,
            reset_guess_per_address: r,
            ask_question_per_address: r,
            bot_activation_per_chat: r,
        }
    }
}

/// One keyed limiter; `check` answers `RESOURCE_EXHAUSTED` with the given
/// Russian message once a key is over its rate.
pub struct Throttle<K: std::hash::Hash + Eq + Clone> {
    limiter: Option<DefaultKeyedRateLimiter<K>>,
    calls: AtomicU64,
    name: &'static str,
}

impl<K: std::hash::Hash + Eq + Clone> Throttle<K> {
    pub fn new(name: &'static str, rate: Rate) -> Self {
        Self { limiter: rate.quota().map(RateLimiter::keyed), calls: AtomicU64::new(0), name }
    }

    /// Takes one call from `key`'s allowance.
    pub fn check(&self, key: &K, message: &str) -> Result<(), AppError> {
        let Some(limiter) = &self.limiter else { return Ok(()) };
        // Forget keys whose allowance is full again now and then, so memory
        // stays bounded by the keys seen within one period.
        if self.calls.fetch_add(1, Ordering::Relaxed) % 1024 == 1023 {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        match limiter.check_key(key) {
            Ok(()) => Ok(()),
            Err(_) => {
                crate::metrics::THROTTLED.with_label_values(&[self.name]).inc();
                Err(AppError::ResourceExhausted(message.to_string()))
            }
        }
    }
}

/// The key an address is throttled under: an IPv4 address itself, an IPv6
/// address by its /64 (one subscriber usually holds a whole /64).
pub fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// A list of networks, written as comma-separated CIDRs or addresses
/// (`127.0.0.0/8, ::1`); empty trusts nobody.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Networks(Vec<IpNet>);

impl Networks {
    pub fn loopback() -> Self {
        Self(vec!["127.0.0.0/8".parse().expect("cidr"), "::1/128".parse().expect("cidr")])
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        self.0.iter().any(|n| n.contains(&ip))
    }
}

impl FromStr for Networks {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let mut nets = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let net = match part.parse::<IpNet>() {
                Ok(n) => n,
                Err(_) => part
                    .parse::<IpAddr>()
                    .map(IpNet::from)
                    .map_err(|_| format!("'{part}' is neither a CIDR (10.0.0.0/8) nor an address"))?,
            };
            nets.push(net);
        }
        Ok(Self(nets))
    }
}

/// The client address of a call, put into the request's extensions by the
/// platform's gRPC layer (see [`resolve`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

/// The client address of `req`, when the platform's gRPC layer saw a TCP peer.
pub fn client_addr<T>(req: &tonic::Request<T>) -> Option<IpAddr> {
    req.extensions().get::<ClientAddr>().map(|c| c.0)
}

/// The end user's address: what `x-opeka-client-ip` says when the TCP peer
/// is a trusted forwarder, the peer itself otherwise.
pub fn resolve(peer: IpAddr, headers: &http::HeaderMap, trusted: &Networks) -> IpAddr {
    if trusted.contains(peer)
        && let Some(ip) =
            headers.get(CLIENT_IP_HEADER).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse().ok())
    {
        return ip;
    }
    peer
}

tokio::task_local! {
    static FORWARD: IpAddr;
}

/// Runs `fut` with `addr` as the end user's address: every gRPC call it makes
/// through a platform client (see `telemetry::TracePropagation`) carries it.
pub async fn forwarding<F: Future>(addr: IpAddr, fut: F) -> F::Output {
    FORWARD.scope(addr, fut).await
}

/// Adds the address set by [`forwarding`], if any, to outgoing metadata.
pub fn inject(md: &mut tonic::metadata::MetadataMap) {
    if let Ok(ip) = FORWARD.try_with(|a| *a)
        && let Ok(v) = tonic::metadata::MetadataValue::try_from(ip.to_string())
    {
        md.insert(CLIENT_IP_HEADER, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_and_print() {
        assert_eq!("30/min".parse::<Rate>().unwrap().to_string(), "30/min");
        assert_eq!("10/h".parse::<Rate>().unwrap(), Rate::per(10, Duration::from_secs(3600)));
        assert_eq!("off".parse::<Rate>().unwrap(), Rate::OFF);
        assert!("0/min".parse::<Rate>().is_err());
        assert!("lots".parse::<Rate>().is_err());
    }

    #[test]
    fn a_key_is_refused_past_its_burst_and_others_are_not() {
        let t: Throttle<IpAddr> = Throttle::new("test", "3/h".parse().unwrap());
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        for _ in 0..3 {
            t.check(&a, "слишком часто").unwrap();
        }
        let err = t.check(&a, "слишком часто").unwrap_err();
        assert_eq!(err.code(), tonic::Code::ResourceExhausted);
        t.check(&b, "слишком часто").unwrap();
    }

    #[test]
    fn only_trusted_forwarders_name_the_client() {
        let mut h = http::HeaderMap::new();
        h.insert(CLIENT_IP_HEADER, "203.0.113.9".parse().unwrap());
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        let outside: IpAddr = "198.51.100.7".parse().unwrap();
        let trusted = Networks::loopback();
        assert_eq!(resolve(lo, &h, &trusted), "203.0.113.9".parse::<IpAddr>().unwrap());
        assert_eq!(resolve(outside, &h, &trusted), outside);
        assert_eq!(resolve(lo, &h, &Networks::default()), lo);
    }

    #[test]
    fn ipv6_is_keyed_by_its_64() {
        let a: IpAddr = "2001:db8:1:2:3:4:5:6".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::1".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        let m: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert_eq!(address_key(m), "192.0.2.1".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn networks_parse() {
        let n: Networks = "10.0.0.0/8, ::1".parse().unwrap();
        assert!(n.contains("10.1.2.3".parse().unwrap()));
        assert!(n.contains("::1".parse().unwrap()));
        assert!(!n.contains("192.168.0.1".parse().unwrap()));
        assert!("nonsense".parse::<Networks>().is_err());
        assert_eq!("".parse::<Networks>().unwrap(), Networks::default());
    }
}
