//! Addresses, connections with deadlines, and reply parsing shared by the Sentinel observer
//! and operator.

use std::collections::HashMap;
use std::time::Duration;

pub(crate) use crate::backends::postgres::human;
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client, ConnectionAddr, IntoConnectionInfo, RedisConnectionInfo};

/// A configured `host:port` (Sentinel or Redis server).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Addr {
    /// Host name or IP.
    pub host: String,
    /// TCP port.
    pub port: u16,
}

impl Addr {
    /// Parse `host:port` (IPv6 as `[::1]:26379`).
    pub fn parse(s: &str) -> Result<Addr, String> {
        let bad = || format!("invalid address {s:?}: expected host:port, e.g. 127.0.0.1:26379");
        let (host, port) = s.trim().rsplit_once(':').ok_or_else(bad)?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err(bad());
        }
        let port = port.parse::<u16>().map_err(|_| bad())?;
        Ok(Addr { host: host.to_string(), port })
    }

    /// `host:port`.
    pub fn text(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// Where to connect and how to authenticate.
#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    /// The configured text.
    pub label: String,
    /// Parsed address, or why it is invalid.
    pub addr: Result<Addr, String>,
}

impl Endpoint {
    /// A configured address.
    pub fn new(label: &str) -> Endpoint {
        Endpoint { label: label.to_string(), addr: Addr::parse(label) }
    }
}

/// The password from the configured environment variable (`None` when not configured).
pub(crate) fn password(password_env: Option<&str>) -> Result<Option<String>, String> {
    match password_env {
        None => Ok(None),
        Some(var) => std::env::var(var)
            .map(Some)
            .map_err(|_| format!("environment variable {var} (sentinel.password_env) is not set")),
    }
}

/// Client for `addr` with an optional password.
pub(crate) fn client(addr: &Addr, password: Option<&str>) -> Result<Client, String> {
    let mut settings = RedisConnectionInfo::default().set_skip_set_lib_name();
    if let Some(pw) = password {
        settings = settings.set_password(pw);
    }
    let info = ConnectionAddr::Tcp(addr.host.clone(), addr.port)
        .into_connection_info()
        .map_err(|e| e.to_string())?
        .set_redis_settings(settings);
    Client::open(info).map_err(|e| e.to_string())
}

/// A connection to `addr` whose connect and every reply are bounded by `timeout`.
pub(crate) async fn connect(
    addr: &Addr,
    password: Option<&str>,
    timeout: Duration,
) -> Result<MultiplexedConnection, String> {
    let c = client(addr, password)?;
    let cfg = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(timeout))
        .set_response_timeout(Some(timeout));
    match tokio::time::timeout(timeout, c.get_multiplexed_async_connection_with_config(&cfg)).await {
        Err(_) => Err(format!("connect timeout after {}", human(timeout))),
        Ok(r) => r.map_err(|e| describe(&e, password)),
    }
}

/// One line for a Redis error, with the password (if any) scrubbed.
pub(crate) fn describe(e: &redis::RedisError, password: Option<&str>) -> String {
    let text = e.to_string();
    match password {
        Some(pw) if !pw.is_empty() => text.replace(pw, "***"),
        _ => text,
    }
}

/// Whether a Redis error is Sentinel's "failover already in progress" refusal.
pub(crate) fn is_inprog(e: &redis::RedisError) -> bool {
    e.code() == Some("INPROG") || e.to_string().contains("INPROG")
}

/// `key:value` lines of an `INFO` section.
pub(crate) fn parse_info(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.trim_end().split_once(':'))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_addresses() {
        assert_eq!(Addr::parse("127.0.0.1:26379"), Ok(Addr { host: "127.0.0.1".into(), port: 26379 }));
        assert_eq!(Addr::parse("[::1]:6379").map(|a| a.host), Ok("::1".to_string()));
        for bad in ["127.0.0.1", ":1", "h:port", "h:70000", ""] {
            let e = Addr::parse(bad).unwrap_err();
            assert!(e.contains("expected host:port"), "{bad}: {e}");
        }
    }

    #[test]
    fn parses_info_sections() {
        let m =
            parse_info("# Replication\r\nrole:master\r\nconnected_slaves:1\r\nmaster_repl_offset:1234\r\n");
        assert_eq!(m.get("role").map(String::as_str), Some("master"));
        assert_eq!(m.get("master_repl_offset").map(String::as_str), Some("1234"));
        assert!(!m.contains_key("# Replication"));
    }

    #[test]
    fn missing_password_env_is_named() {
        let e = password(Some("WARROOM_TEST_SURELY_UNSET_VAR")).unwrap_err();
        assert!(e.contains("WARROOM_TEST_SURELY_UNSET_VAR"));
        assert_eq!(password(None), Ok(None));
    }
}
