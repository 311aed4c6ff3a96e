//! The NATS server's `authorization { users = [...] }` block, written once
//! from what each service declares (DESIGN.md §3): a service publishes only
//! its own subjects and dead-letter subject, manages only its own stream,
//! and reads only the durable consumers it runs on the streams it consumes.
//! `opeka nats-config` prints it for operators, `make run` and the tests'
//! own servers start from it.
//!
//! NATS wildcards match whole tokens only, and a stream name such as
//! `OPEKA_IDENTITY` is one token: the JetStream API subjects name the
//! concrete streams and durables of one deployment (root and stream prefix).
//! A shared test server, where every test has its own root and prefix, uses
//! [`Scope::AnyRoot`]: own subjects under any root, the JetStream API open.

/// What one process's NATS user needs, declared by its service.
#[derive(Debug, Clone)]
pub struct ServiceBus {
    /// `identity`, `cases`, … (`admin`: the readiness connection of `opeka serve`).
    pub service: String,
    /// Publishes `<root>.*.<service>.>` (through its outbox relay) and owns
    /// the stream `<prefix>_<SERVICE>`.
    pub publishes: bool,
    /// `(stream_of, durable)` of every consumer it runs.
    pub consumes: Vec<(String, String)>,
}

impl ServiceBus {
    pub fn new(service: &str, publishes: bool, specs: &[super::ConsumerSpec]) -> Self {
        Self {
            service: service.into(),
            publishes,
            consumes: specs.iter().map(|s| (s.stream_of.to_string(), s.durable.clone())).collect(),
        }
    }

    /// The streams it reads.
    pub fn streams(&self) -> Vec<&str> {
        let mut s: Vec<&str> = self.consumes.iter().map(|(s, _)| s.as_str()).collect();
        s.sort_unstable();
        s.dedup();
        s
    }
}

/// How a password appears in the rendered block.
#[derive(Clone)]
pub enum Password {
    /// Written as is (a file with mode 0600: `make run`, tests).
    Plain(String),
    /// `$VAR`: nats-server reads it from its environment (Helm mounts the
    /// same Secrets the services read).
    Env(String),
}

/// One user of the rendered block.
#[derive(Clone)]
pub struct User {
    pub name: String,
    pub password: Password,
    /// `None`: every permission (the test harness, which forges events).
    pub grants: Option<ServiceBus>,
}

/// Which subjects the JetStream API permissions name.
#[derive(Debug, Clone, Copy)]
pub enum Scope<'a> {
    /// One deployment: concrete streams and durables.
    Deployment { root: &'a str, stream_prefix: &'a str },
    /// A shared test server: a service's own subjects under any root; the
    /// JetStream API is open (stream names are not known in advance).
    AnyRoot,
}

/// `_INBOX.<service>`: replies (JetStream API answers, pull deliveries)
/// come to inboxes only that service's user may subscribe to.
pub fn inbox_prefix(service: &str) -> String {
    format!("_INBOX.{service}")
}

fn stream(prefix: &str, service: &str) -> String {
    format!("{prefix}_{}", service.to_uppercase())
}

/// The subjects `grants.service` may publish to.
pub fn publish_allow(scope: Scope<'_>, grants: &ServiceBus) -> Vec<String> {
    let svc = &grants.service;
    let mut allow = Vec::new();
    match scope {
        Scope::Deployment { root, stream_prefix } => {
            if grants.publishes {
                let own = stream(stream_prefix, svc);
                allow.push(format!("{root}.*.{svc}.>"));
                allow.push(format!("$JS.API.STREAM.INFO.{own}"));
                allow.push(format!("$JS.API.STREAM.CREATE.{own}"));
                allow.push(format!("$JS.API.STREAM.UPDATE.{own}"));
                // Every service that publishes also verifies tokens: its
                // revocation follower (`crate::revocation::subscribe`) reads
                // identity's stream through an ephemeral ordered consumer
                // whose filter — in the create subject — can only be the
                // revocations.
                let identity = stream(stream_prefix, "identity");
                allow.push(format!("$JS.API.STREAM.INFO.{identity}"));
                allow.push(format!("$JS.API.CONSUMER.CREATE.{identity}.*.{root}.*.identity.sessions_revoked"));
                allow.push(format!("$JS.API.CONSUMER.MSG.NEXT.{identity}.*"));
                allow.push(format!("$JS.API.CONSUMER.INFO.{identity}.*"));
                allow.push(format!("$JS.API.CONSUMER.DELETE.{identity}.*"));
            }
            if !grants.consumes.is_empty() {
                allow.push(format!("{root}.dlq.{svc}"));
            }
            for s in grants.streams() {
                allow.push(format!("$JS.API.STREAM.INFO.{}", stream(stream_prefix, s)));
            }
            for (of, durable) in &grants.consumes {
                let st = stream(stream_prefix, of);
                allow.push(format!("$JS.API.CONSUMER.INFO.{st}.{durable}"));
                allow.push(format!("$JS.API.CONSUMER.CREATE.{st}.{durable}"));
                allow.push(format!("$JS.API.CONSUMER.CREATE.{st}.{durable}.>"));
                allow.push(format!("$JS.API.CONSUMER.DURABLE.CREATE.{st}.{durable}"));
                allow.push(format!("$JS.API.CONSUMER.MSG.NEXT.{st}.{durable}"));
                allow.push(format!("$JS.ACK.{st}.{durable}.>"));
                // The newer ack subject form: `$JS.ACK.<domain>.<account hash>.<stream>.<consumer>.…`.
                allow.push(format!("$JS.ACK.*.*.{st}.{durable}.>"));
            }
        }
        Scope::AnyRoot => {
            if grants.publishes {
                allow.push(format!("*.*.{svc}.>"));
            }
            if !grants.consumes.is_empty() {
                allow.push(format!("*.dlq.{svc}"));
            }
            if grants.publishes || !grants.consumes.is_empty() {
                allow.push("$JS.API.>".into());
                allow.push("$JS.ACK.>".into());
            }
        }
    }
    allow.dedup();
    allow
}

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

fn list(items: &[String]) -> String {
    items.iter().map(|i| quote(i)).collect::<Vec<_>>().join(", ")
}

/// The `authorization { users = [...] }` block for nats-server.
pub fn render(scope: Scope<'_>, users: &[User]) -> String {
    let mut out = String::from(
        "# Opeka's NATS users (rendered by `opeka nats-config`; DESIGN.md §3).\n\
         # Anonymous connections are refused: every client is one of these users.\n\
         authorization {\n  users = [\n",
    );
    for u in users {
        let password = match &u.password {
            Password::Plain(p) => quote(p),
            Password::Env(var) => format!("${var}"),
        };
        out.push_str(&format!("    {{ user: {}, password: {}", quote(&u.name), password));
        if let Some(g) = &u.grants {
            let publish = publish_allow(scope, g);
            let publish =
                if publish.is_empty() { "deny: [\">\"]".to_string() } else { format!("allow: [{}]", list(&publish)) };
            let subscribe = format!("allow: [{}]", list(&[format!("{}.>", inbox_prefix(&g.service))]));
            out.push_str(&format!(",\n      permissions: {{\n        publish: {{ {publish} }},\n        subscribe: {{ {subscribe} }}\n      }}"));
        }
        out.push_str(" }\n");
    }
    out.push_str("  ]\n}\n");
    out
}

/// A fresh random password (alphanumeric, 32 characters).
pub fn generate_password() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut rng = rand::rng();
    (0..32).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cases() -> ServiceBus {
        ServiceBus {
            service: "cases".into(),
            publishes: true,
            consumes: vec![("identity".into(), "cases-bot-linked".into())],
        }
    }

    #[test]
    fn a_service_publishes_its_own_subjects_and_reads_its_durables_only() {
        let allow = publish_allow(Scope::Deployment { root: "opeka", stream_prefix: "OPEKA" }, &cases());
        assert!(allow.contains(&"opeka.*.cases.>".to_string()));
        assert!(allow.contains(&"opeka.dlq.cases".to_string()));
        assert!(allow.contains(&"$JS.API.STREAM.UPDATE.OPEKA_CASES".to_string()));
        assert!(allow.contains(&"$JS.API.CONSUMER.MSG.NEXT.OPEKA_IDENTITY.cases-bot-linked".to_string()));
        assert!(!allow.iter().any(|a| a.contains("STREAM.CREATE.OPEKA_IDENTITY") || a.contains("identity.>")));
        assert!(!allow.iter().any(|a| a.ends_with("$JS.API.>") || a == ">"));
    }

    #[test]
    fn the_block_quotes_and_refers_to_environment_passwords() {
        let users = [
            User { name: "cases".into(), password: Password::Env("NATS_CASES_PASSWORD".into()), grants: Some(cases()) },
            User {
                name: "admin".into(),
                password: Password::Plain("p\"w".into()),
                grants: Some(ServiceBus { service: "admin".into(), publishes: false, consumes: vec![] }),
            },
        ];
        let block = render(Scope::AnyRoot, &users);
        assert!(block.contains("password: $NATS_CASES_PASSWORD"), "{block}");
        assert!(block.contains(r#"password: "p\"w""#), "{block}");
        assert!(block.contains(r#"publish: { deny: [">"] }"#), "{block}");
        assert!(block.contains(r#""_INBOX.cases.>""#), "{block}");
    }

    #[test]
    fn generated_passwords_differ() {
        assert_eq!(generate_password().len(), 32);
        assert_ne!(generate_password(), generate_password());
    }
}
