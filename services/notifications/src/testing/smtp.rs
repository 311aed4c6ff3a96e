//! A real SMTP listener for tests (RFC 5321 subset: EHLO/HELO, AUTH PLAIN and
//! LOGIN, MAIL, RCPT, DATA with dot-unstuffing, RSET, NOOP, QUIT) that keeps
//! every message it accepts. No TLS: tests use the `none` mode.
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// One accepted message.
#[derive(Debug, Clone)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    /// The raw message (headers and body) as sent after DATA.
    pub data: String,
    /// `(username, password)` of the session's AUTH, if any.
    pub auth: Option<(String, String)>,
}

impl Received {
    /// The header's value (first occurrence, unfolded).
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next().unwrap_or_default();
        let mut value: Option<String> = None;
        for line in head.split("\r\n") {
            if let Some(v) = value.as_mut() {
                if line.starts_with([' ', '\t']) {
                    v.push(' ');
                    v.push_str(line.trim_start());
                    continue;
                }
                break;
            }
            if let Some((k, v)) = line.split_once(':')
                && k.eq_ignore_ascii_case(name)
            {
                value = Some(v.trim().to_string());
            }
        }
        value
    }

    /// The decoded subject (RFC 2047 `=?utf-8?b?…?=` words joined).
    pub fn subject(&self) -> String {
        decode_words(&self.header("Subject").unwrap_or_default())
    }

    /// The decoded text body (quoted-printable or base64 as lettre chose).
    pub fn body(&self) -> String {
        let (head, body) = self.data.split_once("\r\n\r\n").unwrap_or(("", &self.data));
        let encoding = head
            .split("\r\n")
            .find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case("Content-Transfer-Encoding")))
            .map(|(_, v)| v.trim().to_ascii_lowercase())
            .unwrap_or_default();
        match encoding.as_str() {
            "base64" => {
                let joined: String = body.split_whitespace().collect();
                String::from_utf8_lossy(&base64::engine::general_purpose::STANDARD.decode(joined).unwrap_or_default())
                    .into_owned()
            }
            "quoted-printable" => decode_qp(body),
            _ => body.to_string(),
        }
    }
}

fn decode_words(v: &str) -> String {
    let mut out = String::new();
    for word in v.split_whitespace() {
        let decoded = word.strip_prefix("=?").and_then(|w| w.strip_suffix("?=")).and_then(|w| {
            let mut parts = w.splitn(3, '?');
            let (_charset, enc, text) = (parts.next()?, parts.next()?, parts.next()?);
            match enc.to_ascii_lowercase().as_str() {
                "b" => base64::engine::general_purpose::STANDARD
                    .decode(text)
                    .ok()
                    .map(|b| String::from_utf8_lossy(&b).into_owned()),
                "q" => Some(decode_qp(&text.replace('_', " "))),
                _ => None,
            }
        });
        match decoded {
            Some(d) => out.push_str(&d),
            None => {
                if !out.is_empty() {
                    out.push(' ');
                }
                out.push_str(word);
            }
        }
    }
    out
}

fn decode_qp(s: &str) -> String {
    let mut bytes = Vec::with_capacity(s.len());
    let raw = s.as_bytes();
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'=' if raw.get(i + 1) == Some(&b'\r') && raw.get(i + 2) == Some(&b'\n') => i += 3,
            b'=' if raw.get(i + 1) == Some(&b'\n') => i += 2,
            b'=' if i + 2 < raw.len() => match u8::from_str_radix(&s[i + 1..i + 3], 16) {
                Ok(b) => {
                    bytes.push(b);
                    i += 3;
                }
                Err(_) => {
                    bytes.push(b'=');
                    i += 1;
                }
            },
            b => {
                bytes.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// What the sessions share: the accepted messages and planned refusals.
#[derive(Default)]
struct Shared {
    received: Vec<Received>,
    /// recipient (lower case) → RCPT answers left to refuse with 451.
    refuse: std::collections::HashMap<String, u32>,
}

pub struct SmtpSink {
    pub host: String,
    pub port: u16,
    received: Arc<Mutex<Shared>>,
    stop: CancellationToken,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl SmtpSink {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind smtp sink");
        let addr = listener.local_addr().expect("smtp sink address");
        let received = Arc::new(Mutex::new(Shared::default()));
        let stop = CancellationToken::new();
        let (r, s) = (received.clone(), stop.clone());
        tokio::spawn(async move {
            loop {
                let conn = tokio::select! {
                    _ = s.cancelled() => return,
                    c = listener.accept() => c,
                };
                if let Ok((stream, _)) = conn {
                    let (r, s) = (r.clone(), s.clone());
                    tokio::spawn(async move {
                        tokio::select! {
                            _ = s.cancelled() => {}
                            _ = session(stream, r) => {}
                        }
                    });
                }
            }
        });
        Self { host: "127.0.0.1".into(), port: addr.port(), received, stop }
    }

    pub fn messages(&self) -> Vec<Received> {
        self.received.lock().expect("sink lock").received.clone()
    }

    /// The next `times` RCPT TO `to` are answered `451` (try again later),
    /// as a mailbox provider under load would.
    pub fn refuse_temporarily(&self, to: &str, times: u32) {
        self.received.lock().expect("sink lock").refuse.insert(to.to_ascii_lowercase(), times);
    }

    /// Messages addressed (RCPT TO) to `to`.
    pub fn to(&self, to: &str) -> Vec<Received> {
        self.messages().into_iter().filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(to))).collect()
    }

    /// Waits for a message to `to` (fails the test after 15 s).
    pub async fn wait_for(&self, to: &str) -> Received {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(m) = self.to(to).into_iter().next() {
                return m;
            }
            if tokio::time::Instant::now() > deadline {
                let seen: Vec<Vec<String>> = self.messages().into_iter().map(|m| m.to).collect();
                panic!("SMTP sink: no message to {to} within 15 s; got messages to {seen:?}");
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

fn path_arg(line: &str) -> String {
    let v = line.split_once(':').map(|(_, v)| v).unwrap_or_default().trim();
    let v = v.split_whitespace().next().unwrap_or_default();
    v.trim_start_matches('<').trim_end_matches('>').to_string()
}

fn b64(v: &str) -> String {
    String::from_utf8_lossy(&base64::engine::general_purpose::STANDARD.decode(v.trim()).unwrap_or_default())
        .into_owned()
}

async fn reply(w: &mut tokio::net::tcp::OwnedWriteHalf, text: &str) -> std::io::Result<()> {
    w.write_all(text.as_bytes()).await
}

async fn session(stream: TcpStream, received: Arc<Mutex<Shared>>) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    reply(&mut write, "220 sink.opeka.test ESMTP ready\r\n").await?;
    let mut from = String::new();
    let mut to: Vec<String> = Vec::new();
    let mut auth: Option<(String, String)> = None;
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let cmd = line.trim_end().to_string();
        let verb = cmd.split_whitespace().next().unwrap_or_default().to_ascii_uppercase();
        match verb.as_str() {
            "EHLO" => {
                reply(&mut write, "250-sink.opeka.test\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 AUTH PLAIN LOGIN\r\n")
                    .await?
            }
            "HELO" => reply(&mut write, "250 sink.opeka.test\r\n").await?,
            "AUTH" => {
                let args: Vec<&str> = cmd.split_whitespace().skip(1).collect();
                match args.first().map(|m| m.to_ascii_uppercase()).as_deref() {
                    Some("PLAIN") => {
                        let payload = match args.get(1) {
                            Some(p) => p.to_string(),
                            None => {
                                reply(&mut write, "334 \r\n").await?;
                                line.clear();
                                lines.read_line(&mut line).await?;
                                line.trim().to_string()
                            }
                        };
                        let decoded = b64(&payload);
                        let mut parts = decoded.split('\0').skip(1);
                        auth = Some((parts.next().unwrap_or_default().into(), parts.next().unwrap_or_default().into()));
                        reply(&mut write, "235 2.7.0 Authentication successful\r\n").await?;
                    }
                    Some("LOGIN") => {
                        reply(&mut write, "334 VXNlcm5hbWU6\r\n").await?;
                        line.clear();
                        lines.read_line(&mut line).await?;
                        let user = b64(&line);
                        reply(&mut write, "334 UGFzc3dvcmQ6\r\n").await?;
                        line.clear();
                        lines.read_line(&mut line).await?;
                        auth = Some((user, b64(&line)));
                        reply(&mut write, "235 2.7.0 Authentication successful\r\n").await?;
                    }
                    _ => reply(&mut write, "504 5.5.4 Unrecognized authentication type\r\n").await?,
                }
            }
            "MAIL" => {
                from = path_arg(&cmd);
                to.clear();
                reply(&mut write, "250 2.1.0 Ok\r\n").await?;
            }
            "RCPT" => {
                let rcpt = path_arg(&cmd);
                let refused = {
                    let mut shared = received.lock().expect("sink lock");
                    match shared.refuse.get_mut(&rcpt.to_ascii_lowercase()) {
                        Some(left) if *left > 0 => {
                            *left -= 1;
                            true
                        }
                        _ => false,
                    }
                };
                if refused {
                    reply(&mut write, "451 4.3.0 Mailbox busy, try again later\r\n").await?;
                } else {
                    to.push(rcpt);
                    reply(&mut write, "250 2.1.5 Ok\r\n").await?;
                }
            }
            "DATA" => {
                reply(&mut write, "354 End data with <CR><LF>.<CR><LF>\r\n").await?;
                let mut data = String::new();
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await? == 0 {
                        return Ok(());
                    }
                    if line == ".\r\n" || line == ".\n" {
                        break;
                    }
                    let l = line.strip_prefix('.').unwrap_or(&line);
                    data.push_str(l);
                }
                received.lock().expect("sink lock").received.push(Received {
                    from: from.clone(),
                    to: std::mem::take(&mut to),
                    data,
                    auth: auth.clone(),
                });
                reply(&mut write, "250 2.0.0 Ok: queued\r\n").await?;
            }
            "RSET" => {
                from.clear();
                to.clear();
                reply(&mut write, "250 2.0.0 Ok\r\n").await?;
            }
            "NOOP" => reply(&mut write, "250 2.0.0 Ok\r\n").await?,
            "QUIT" => {
                reply(&mut write, "221 2.0.0 Bye\r\n").await?;
                return Ok(());
            }
            _ => reply(&mut write, "502 5.5.2 Command not recognized\r\n").await?,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_encoded_words_and_quoted_printable() {
        assert_eq!(decode_words("=?utf-8?b?0J/RgNC40LLQtdGC?="), "Привет");
        assert_eq!(decode_qp("a=3Db=\r\nc"), "a=bc");
    }
}
