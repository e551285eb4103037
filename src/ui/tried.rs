//! Where a layer connects, as its pane names it beside an error: the Kubernetes contexts, each
//! PostgreSQL node's `host:port` (from its DSN, never the password), the Sentinel addresses,
//! the health URLs (credentials removed). Redacted and sanitized like any text drawn.

use crate::backends::postgres::endpoint::endpoint_of_dsn;
use crate::config::model::Config;
use crate::text::{redact, sanitize};

/// A URL or address without user info (`https://user:pw@host/x` → `https://host/x`), redacted.
fn address(s: &str) -> String {
    let s = match url::Url::parse(s) {
        Ok(mut u) if !u.username().is_empty() || u.password().is_some() => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.to_string()
        }
        _ => s.to_string(),
    };
    sanitize(&redact(&s)).into_owned()
}

/// `tried <what><items, comma-separated>`, or `None` without items.
fn list(what: &str, items: Vec<String>) -> Option<String> {
    (!items.is_empty()).then(|| format!("tried {what}{}", items.join(", ")))
}

/// The Kubernetes contexts the Pods pane asks.
pub fn pods(config: &Config) -> Option<String> {
    let contexts = config.regions.iter().filter_map(|r| r.kube_context.as_deref()).map(address).collect();
    list("contexts ", contexts)
}

/// Each PostgreSQL node's `host:port`.
pub fn database(config: &Config) -> Option<String> {
    let nodes = config.postgres.as_ref()?.nodes.iter();
    list("", nodes.map(|n| format!("{} {}", address(&n.name), address(&endpoint_of_dsn(&n.dsn)))).collect())
}

/// `host:port` of the configured node `name`, from its DSN.
pub fn node(config: &Config, name: &str) -> Option<String> {
    let n = config.postgres.as_ref()?.nodes.iter().find(|n| n.name == name)?;
    Some(address(&endpoint_of_dsn(&n.dsn)))
}

/// The Sentinel addresses.
pub fn sentinel(config: &Config) -> Option<String> {
    list("Sentinels ", config.sentinel.as_ref()?.addrs.iter().map(|a| address(a)).collect())
}

/// The health URLs (and a Route 53 endpoint other than AWS's).
pub fn traffic(config: &Config) -> Option<String> {
    let mut urls: Vec<String> = config
        .regions
        .iter()
        .flat_map(|r| [r.health_live.as_deref(), r.health_ready.as_deref()])
        .flatten()
        .map(address)
        .collect();
    if let Some(e) = config.route53.as_ref().and_then(|r| r.endpoint_url.as_deref()) {
        urls.push(format!("Route 53 at {}", address(e)));
    }
    list("", urls)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(toml: &str) -> Config {
        toml::from_str(toml).expect("config")
    }

    #[test]
    fn addresses_name_where_each_layer_connects_without_secrets() {
        let c = config(
            r#"
            [[regions]]
            name = "us-east-1"
            kube_context = "east"
            health_live = "https://ops:hunter2@east.example.com/health/live"
            [[regions]]
            name = "us-west-2"
            kube_context = "west"
            [postgres]
            [[postgres.nodes]]
            name = "postgresql-0"
            dsn = "postgres://app:s3cret@10.0.0.10:5433/app"
            [[postgres.nodes]]
            name = "postgresql-1"
            dsn = "host=10.0.0.11 user=app password=s3cret"
            [sentinel]
            master = "mymaster"
            addrs = ["10.0.1.1:26379", "10.0.1.2:26379"]
            "#,
        );
        assert_eq!(pods(&c).as_deref(), Some("tried contexts east, west"));
        assert_eq!(
            database(&c).as_deref(),
            Some("tried postgresql-0 10.0.0.10:5433, postgresql-1 10.0.0.11:5432")
        );
        assert_eq!(node(&c, "postgresql-1").as_deref(), Some("10.0.0.11:5432"));
        assert_eq!(sentinel(&c).as_deref(), Some("tried Sentinels 10.0.1.1:26379, 10.0.1.2:26379"));
        let t = traffic(&c).expect("urls");
        assert_eq!(t, "tried https://east.example.com/health/live");
        for s in [pods(&c), database(&c), sentinel(&c), traffic(&c)].into_iter().flatten() {
            assert!(!s.contains("s3cret") && !s.contains("hunter2"), "{s}");
        }
        assert_eq!(pods(&Config::default()), None);
        assert_eq!(database(&Config::default()), None);
    }
}
