//! Connecting to one configured PostgreSQL node: DSN parsing, password lookup, deadlines,
//! and error text that never contains a secret.

use std::str::FromStr;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_postgres::config::Host;
use tokio_postgres::{Client, NoTls};

use super::pgpass;
use crate::config::model::PgNodeConfig;

/// Deadlines applied to every PostgreSQL node separately.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PgTimeouts {
    /// Bound on establishing a session (TCP connect + startup + authentication).
    pub connect_timeout: Duration,
    /// Bound on the statements of one poll or one operation step.
    pub statement_timeout: Duration,
}

impl PgTimeouts {
    /// Longest one observation can take (nodes are polled concurrently): the poller's timeout
    /// for this source must be longer, or a hung node fails the whole poll.
    pub fn worst_case(&self) -> Duration {
        self.connect_timeout + self.statement_timeout
    }
}

impl Default for PgTimeouts {
    fn default() -> Self {
        PgTimeouts { connect_timeout: Duration::from_secs(2), statement_timeout: Duration::from_secs(2) }
    }
}

/// One configured node, ready to be connected to.
#[derive(Debug, Clone)]
pub(crate) struct NodeTarget {
    /// Configured node name.
    pub name: String,
    /// Configured region.
    pub region: String,
    /// Pod name, when configured.
    pub pod: Option<String>,
    /// `host:port` for previews and error messages (never the DSN).
    pub endpoint: String,
    /// The parsed DSN, or why it could not be parsed.
    config: Result<tokio_postgres::Config, String>,
    /// Environment variable holding this node's password.
    password_env: Option<String>,
}

/// A live session; the connection task is aborted when this is dropped, so a hung server
/// never leaks a task or a socket.
pub(crate) struct Session {
    /// The client half.
    pub client: Client,
    /// Password used, to scrub it from any later error text.
    secret: Option<String>,
    task: JoinHandle<()>,
}

impl Drop for Session {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Session {
    /// Turn a driver error into one safe line.
    pub fn err(&self, e: &tokio_postgres::Error) -> String {
        scrub(&describe(e), self.secret.as_deref())
    }
}

impl NodeTarget {
    /// Parse a node's configuration (a bad DSN is kept as an error shown on that node's row).
    pub fn new(cfg: &PgNodeConfig) -> NodeTarget {
        let config = tokio_postgres::Config::from_str(&cfg.dsn)
            .map_err(|e| format!("invalid dsn for node {}: {} (dsn: {})", cfg.name, e, redact_dsn(&cfg.dsn)));
        let endpoint = match &config {
            Ok(c) => super::endpoint::endpoint_of_config(c),
            Err(_) => "?".to_string(),
        };
        NodeTarget {
            name: cfg.name.clone(),
            region: cfg.region.clone(),
            pod: cfg.pod.as_ref().map(|p| p.name.clone()),
            endpoint,
            config,
            password_env: cfg.password_env.clone(),
        }
    }

    /// Open a session within `timeout` (covers a server that accepts TCP but never answers).
    pub async fn connect(&self, timeout: Duration) -> Result<Session, String> {
        let mut config = self.config.clone()?;
        let secret = self.resolve_password(&config)?;
        if let Some(pw) = &secret {
            config.password(pw);
        }
        if config.get_application_name().is_none() {
            config.application_name("warroom");
        }
        config.connect_timeout(timeout);
        let attempt = config.connect(NoTls);
        match tokio::time::timeout(timeout, attempt).await {
            Err(_) => Err(format!("connect timeout after {}", human(timeout))),
            Ok(Err(e)) => Err(scrub(&describe(&e), secret.as_deref())),
            Ok(Ok((client, connection))) => {
                let task = tokio::spawn(async move {
                    // The error (if any) surfaces on the client's next call.
                    let _ = connection.await;
                });
                Ok(Session { client, secret, task })
            }
        }
    }

    /// libpq order, with the node's explicit `password_env` before the generic sources:
    /// password in the DSN, `password_env`, `PGPASSWORD`, then the password file.
    fn resolve_password(&self, config: &tokio_postgres::Config) -> Result<Option<String>, String> {
        if let Some(pw) = config.get_password() {
            return Ok(Some(String::from_utf8_lossy(pw).into_owned()));
        }
        if let Some(var) = &self.password_env {
            return match std::env::var(var) {
                Ok(v) => Ok(Some(v)),
                Err(_) => {
                    Err(format!("environment variable {var} (password_env of node {}) is not set", self.name))
                }
            };
        }
        if let Ok(v) = std::env::var("PGPASSWORD") {
            return Ok(Some(v));
        }
        let host = match config.get_hosts().first() {
            Some(Host::Tcp(h)) => h.clone(),
            _ => "localhost".to_string(),
        };
        let port = config.get_ports().first().copied().unwrap_or(5432);
        let user = config.get_user().unwrap_or_default();
        let db = config.get_dbname().unwrap_or(user);
        Ok(pgpass::password_from_default_file(&host, port, db, user))
    }
}

/// One line for a driver error: the server's message and SQLSTATE, or the client-side cause.
pub(crate) fn describe(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("{}: {} (SQLSTATE {})", db.severity(), db.message(), db.code().code());
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text
}

/// Whether an error is PostgreSQL refusing a write (read-only transaction or recovery).
pub(crate) fn is_read_only_refusal(e: &tokio_postgres::Error) -> bool {
    e.as_db_error().is_some_and(|db| db.code().code() == "25006")
}

/// Replace every occurrence of `secret` in `text`.
pub(crate) fn scrub(text: &str, secret: Option<&str>) -> String {
    match secret {
        Some(s) if !s.is_empty() => text.replace(s, "***"),
        _ => text.to_string(),
    }
}

/// A DSN (key=value or URL form) with any password replaced by `***`.
pub fn redact_dsn(dsn: &str) -> String {
    let trimmed = dsn.trim_start();
    if trimmed.starts_with("postgres://") || trimmed.starts_with("postgresql://") {
        return redact_url(trimmed);
    }
    let mut out = String::with_capacity(dsn.len());
    let mut rest = dsn;
    while let Some(pos) = find_password_key(rest) {
        let (before, after) = rest.split_at(pos);
        out.push_str(before);
        let eq = after.find('=').map_or(after.len(), |i| i + 1);
        out.push_str(&after[..eq]);
        let value = after[eq..].trim_start();
        out.push_str(&after[eq..after.len() - value.len()]);
        out.push_str("***");
        rest = &value[value_len(value)..];
    }
    out.push_str(rest);
    out
}

/// Byte offset of a `password` key (at a word start, followed by optional spaces and `=`).
fn find_password_key(s: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = s[from..].find("password") {
        let at = from + i;
        let word_start = at == 0 || s[..at].ends_with(|c: char| c.is_whitespace());
        let after = s[at + "password".len()..].trim_start();
        if word_start && after.starts_with('=') {
            return Some(at);
        }
        from = at + "password".len();
    }
    None
}

/// Length of one libpq value: quoted with `\` escapes, or up to whitespace.
fn value_len(v: &str) -> usize {
    if let Some(body) = v.strip_prefix('\'') {
        let mut escaped = false;
        for (i, c) in body.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '\'' => return i + 2,
                _ => {}
            }
        }
        return v.len();
    }
    v.find(char::is_whitespace).unwrap_or(v.len())
}

/// `postgres://user:secret@host/db?password=x` with both secrets redacted.
fn redact_url(url: &str) -> String {
    let scheme_end = url.find("://").map_or(0, |i| i + 3);
    let (scheme, rest) = url.split_at(scheme_end);
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rfind('@') {
        Some(at) => {
            let userinfo = &authority[..at];
            match userinfo.find(':') {
                Some(c) => format!("{}:***{}", &userinfo[..c], &authority[at..]),
                None => authority.to_string(),
            }
        }
        None => authority.to_string(),
    };
    let tail = match tail.find('?') {
        Some(q) => {
            let (path, query) = tail.split_at(q + 1);
            let params: Vec<String> = query
                .split('&')
                .map(|p| match p.split_once('=') {
                    Some(("password", _)) => "password=***".to_string(),
                    _ => p.to_string(),
                })
                .collect();
            format!("{path}{}", params.join("&"))
        }
        None => tail.to_string(),
    };
    format!("{scheme}{authority}{tail}")
}

/// `2 s`, `1.5 s` or `300 ms`.
pub(crate) fn human(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms.is_multiple_of(1000) {
        format!("{} s", ms / 1000)
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_key_value_passwords() {
        assert_eq!(redact_dsn("host=h password=s3cret user=u"), "host=h password=*** user=u");
        assert_eq!(redact_dsn("password = 'a b\\' c' port=1"), "password = *** port=1");
        assert_eq!(redact_dsn("host=h user=u"), "host=h user=u");
        // A key that merely ends in "password" is not a password key.
        assert_eq!(redact_dsn("xpassword=1"), "xpassword=1");
    }

    #[test]
    fn redacts_url_passwords() {
        assert_eq!(
            redact_dsn("postgres://u:pw@h:5432/db?sslmode=disable&password=x"),
            "postgres://u:***@h:5432/db?sslmode=disable&password=***"
        );
        assert_eq!(redact_dsn("postgresql://u@h/db"), "postgresql://u@h/db");
    }

    #[test]
    fn invalid_dsn_error_names_the_node_and_hides_the_password() {
        let cfg = PgNodeConfig {
            name: "pg9".into(),
            region: String::new(),
            dsn: "host=h port=notaport password=hunter2".into(),
            password_env: None,
            pod: None,
            data_dir: None,
        };
        let t = NodeTarget::new(&cfg);
        let e = t.config.unwrap_err();
        assert!(e.contains("pg9"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
    }

    fn node(dsn: &str, password_env: Option<&str>) -> NodeTarget {
        NodeTarget::new(&PgNodeConfig {
            name: "pg0".into(),
            region: String::new(),
            dsn: dsn.into(),
            password_env: password_env.map(String::from),
            pod: None,
            data_dir: None,
        })
    }

    #[test]
    fn password_order_dsn_then_password_env() {
        const VAR: &str = "WARROOM_CONN_TEST_PASSWORD_ENV";
        // SAFETY: a variable only this test reads; no other thread touches it.
        unsafe { std::env::set_var(VAR, "from-env") };
        let with_env = node("host=h user=u", Some(VAR));
        let cfg = with_env.config.clone().expect("valid dsn");
        assert_eq!(with_env.resolve_password(&cfg), Ok(Some("from-env".into())));
        let in_dsn = node("host=h user=u password=in-dsn", Some(VAR));
        let cfg = in_dsn.config.clone().expect("valid dsn");
        assert_eq!(in_dsn.resolve_password(&cfg), Ok(Some("in-dsn".into())));
        let missing = node("host=h user=u", Some("WARROOM_CONN_TEST_UNSET"));
        let cfg = missing.config.clone().expect("valid dsn");
        let e = missing.resolve_password(&cfg).unwrap_err();
        assert!(e.contains("WARROOM_CONN_TEST_UNSET") && e.contains("pg0"), "{e}");
    }

    #[test]
    fn endpoint_is_host_and_port_only() {
        assert_eq!(node("host=db.example port=6543 user=u password=x", None).endpoint, "db.example:6543");
        assert_eq!(node("postgres://u:pw@10.0.0.1/db", None).endpoint, "10.0.0.1:5432");
    }

    #[test]
    fn scrub_and_human() {
        assert_eq!(scrub("auth failed for pw hunter2", Some("hunter2")), "auth failed for pw ***");
        assert_eq!(human(Duration::from_secs(2)), "2 s");
        assert_eq!(human(Duration::from_millis(1500)), "1.5 s");
        assert_eq!(human(Duration::from_millis(300)), "300 ms");
    }
}
