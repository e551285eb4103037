//! The one `host:port` of a node's DSN: previews, the context guard, proposals and execution
//! all name a node by this, so what a preview shows is where the step connects.
//!
//! Built on `tokio_postgres::Config`, the parser the connection itself uses: keyword DSNs
//! (`host=db port=5433`) and URIs (`postgres://db.internal:5432/app`) alike; IPv6 hosts are
//! bracketed (`[::1]:5432`), a Unix socket is its directory (`/run/postgresql:5432`). Only
//! the host and port are read, never the password.

use std::str::FromStr;

use tokio_postgres::config::Host;

use crate::config::model::PgNodeConfig;

/// `host:port` of the first host of a parsed DSN (`?:port` when it names no host).
pub fn endpoint_of_config(c: &tokio_postgres::Config) -> String {
    let port = c.get_ports().first().copied().unwrap_or(5432);
    match c.get_hosts().first() {
        Some(Host::Tcp(h)) if h.contains(':') => format!("[{h}]:{port}"),
        Some(Host::Tcp(h)) => format!("{h}:{port}"),
        #[cfg(unix)]
        Some(Host::Unix(p)) => format!("{}:{port}", p.display()),
        None => format!("?:{port}"),
    }
}

/// `host:port` of a DSN; `?` when it does not parse (the node's row shows the parse error).
pub fn endpoint_of_dsn(dsn: &str) -> String {
    tokio_postgres::Config::from_str(dsn).map_or_else(|_| "?".to_string(), |c| endpoint_of_config(&c))
}

/// `host:port` of a configured node (`?` for none).
pub fn endpoint_of(node: Option<&PgNodeConfig>) -> String {
    node.map_or_else(|| "?".to_string(), |n| endpoint_of_dsn(&n.dsn))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyword_and_uri_dsns_name_the_same_host_the_connection_uses() {
        assert_eq!(
            endpoint_of_dsn("host=10.0.0.10 port=5433 user=postgres password=s3cret"),
            "10.0.0.10:5433"
        );
        assert_eq!(endpoint_of_dsn("host=db.internal user=app"), "db.internal:5432");
        // The bug this module fixes: a URI was previewed as localhost:5432.
        assert_eq!(endpoint_of_dsn("postgres://db.internal:5432/app"), "db.internal:5432");
        assert_eq!(
            endpoint_of_dsn("postgresql://app:s3cret@db.internal:6432/app?sslmode=disable"),
            "db.internal:6432"
        );
        // Several hosts: the first, with its own port (the one tried first).
        assert_eq!(endpoint_of_dsn("postgres://db-a,db-b:5434/app"), "db-a:5432");
        assert_eq!(endpoint_of_dsn("host=db-a,db-b port=5435,5436"), "db-a:5435");
    }

    #[test]
    fn ipv6_is_bracketed_and_a_unix_socket_is_its_directory() {
        assert_eq!(endpoint_of_dsn("postgres://[::1]:5433/app"), "[::1]:5433");
        assert_eq!(endpoint_of_dsn("host=::1 port=5434"), "[::1]:5434");
        assert_eq!(endpoint_of_dsn("host=/run/postgresql port=5432 user=postgres"), "/run/postgresql:5432");
        assert_eq!(endpoint_of_dsn("postgresql://%2Frun%2Fpostgresql/app"), "/run/postgresql:5432");
    }

    #[test]
    fn no_host_or_a_bad_dsn_is_never_shown_as_localhost() {
        assert_eq!(endpoint_of_dsn("user=postgres"), "?:5432");
        assert_eq!(endpoint_of_dsn("host=db port=notaport"), "?");
        assert_eq!(endpoint_of(None), "?");
    }

    #[test]
    fn the_password_never_reaches_the_endpoint() {
        for dsn in ["host=db password=hunter2", "postgres://u:hunter2@db/app"] {
            assert!(!endpoint_of_dsn(dsn).contains("hunter2"), "{dsn}");
        }
    }
}
