//! The fixed shape of the drill estate (regions, addresses, names) and the `warroom.toml`
//! it corresponds to.
//!
//! Placement choices: us-east-1 (primary region) runs `postgresql-0` (primary),
//! `postgresql-1` and the Redis pods `redis-0`/`redis-1` with two Sentinels; us-west-2 runs the
//! cross-region replica `postgresql-2`, `redis-2` and the third Sentinel, each in its own
//! `database` namespace. So a region outage of us-east-1 leaves one PostgreSQL replica, one
//! Redis replica and one Sentinel alive, as a real multi-region estate would. Addresses are
//! `10.0.x.x` in us-east-1 and `10.1.x.x` in us-west-2.

use crate::config::Config;
use crate::config::model::{
    KubernetesConfig, ObjectRef, PgNodeConfig, PostgresConfig, RegionConfig, Route53Config, SentinelConfig,
};

/// Regions with their role, primary first. The kube context is named like the region.
pub const REGIONS: [(&str, &str); 3] =
    [("us-east-1", "primary"), ("us-west-2", "secondary"), ("eu-central-1", "tertiary")];
/// Namespace of the application deployments.
pub const APP_NAMESPACE: &str = "default";
/// Namespace of PostgreSQL and Redis pods.
pub const DB_NAMESPACE: &str = "database";
/// Application deployments per region with their normal replica count.
pub const DEPLOYMENTS: [(&str, u32); 2] = [("api", 3), ("worker", 2)];
/// Replicas a region scales to when it takes over.
pub const FAILOVER_REPLICAS: u32 = 10;
/// Largest replica count the drill accepts (keeps the simulation small).
pub const MAX_REPLICAS: u32 = 200;
/// The database Service (context, namespace, name).
pub const DB_SERVICE: (&str, &str, &str) = ("us-east-1", DB_NAMESPACE, "postgresql");
/// Replay lag a promotion accepts without an override.
pub const MAX_LAG_BYTES: u64 = 1024 * 1024;
/// Route 53 hosted zone id.
pub const ZONE: &str = "ZDRILL0000001";
/// Weighted record name.
pub const RECORD: &str = "api.example.com.";
/// Record TTL in seconds.
pub const TTL: u32 = 60;
/// The "endpoint" the drill's Route 53 answers on.
pub const ROUTE53_ENDPOINT: &str = "drill://route53";
/// Sentinel master name.
pub const MASTER_NAME: &str = "mymaster";
/// Sentinel quorum.
pub const QUORUM: usize = 2;
/// Sentinel `down-after-milliseconds`, in seconds.
pub const DOWN_AFTER_S: f64 = 5.0;
/// PostgreSQL data directory inside the database pods (`pg_ctl promote -D` target).
pub const PG_DATA_DIR: &str = "/var/lib/postgresql/data";
/// PostgreSQL server version reported by every node.
pub const PG_VERSION: &str = "PostgreSQL 15.8";

/// One PostgreSQL node: name (= pod name), region (= kube context), host, port.
#[derive(Debug, Clone, Copy)]
pub struct PgSpec {
    /// Node and pod name.
    pub name: &'static str,
    /// Region and kube context.
    pub region: &'static str,
    /// IP address.
    pub host: &'static str,
    /// Port.
    pub port: u16,
}

/// PostgreSQL nodes, `postgresql-0` being the primary at start.
pub const PG_NODES: [PgSpec; 3] = [
    PgSpec { name: "postgresql-0", region: "us-east-1", host: "10.0.0.10", port: 5432 },
    PgSpec { name: "postgresql-1", region: "us-east-1", host: "10.0.0.11", port: 5432 },
    PgSpec { name: "postgresql-2", region: "us-west-2", host: "10.1.0.12", port: 5432 },
];

/// Redis nodes (pod name, region, host, port), `redis-0` being the master at start.
pub const REDIS_NODES: [PgSpec; 3] = [
    PgSpec { name: "redis-0", region: "us-east-1", host: "10.0.1.10", port: 6379 },
    PgSpec { name: "redis-1", region: "us-east-1", host: "10.0.1.11", port: 6379 },
    PgSpec { name: "redis-2", region: "us-west-2", host: "10.1.1.12", port: 6379 },
];

/// Sentinels (a name for logs, region, host, port).
pub const SENTINELS: [PgSpec; 3] = [
    PgSpec { name: "sentinel-a", region: "us-east-1", host: "10.0.1.20", port: 26379 },
    PgSpec { name: "sentinel-b", region: "us-east-1", host: "10.0.1.21", port: 26379 },
    PgSpec { name: "sentinel-c", region: "us-west-2", host: "10.1.1.22", port: 26379 },
];

impl PgSpec {
    /// `host:port`.
    pub fn addr(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// The Route 53 health check id of a region.
pub fn health_check_id(region: &str) -> String {
    let n = REGIONS.iter().position(|(r, _)| *r == region).unwrap_or(9);
    format!("d7111000-0000-4000-8000-00000000000{n}")
}

/// The estate described as a `warroom.toml`.
pub fn config() -> Config {
    let regions = REGIONS
        .iter()
        .map(|(name, role)| RegionConfig {
            name: name.to_string(),
            role: role.to_string(),
            kube_context: Some(name.to_string()),
            health_live: Some(format!("https://api.{name}.example.com/health/live")),
            health_ready: Some(format!("https://api.{name}.example.com/health/ready")),
            deployments: DEPLOYMENTS.iter().map(|(d, _)| d.to_string()).collect(),
            namespace: Some(APP_NAMESPACE.into()),
            failover_replicas: Some(FAILOVER_REPLICAS),
            set_identifier: Some(name.to_string()),
            health_check_id: Some(health_check_id(name)),
        })
        .collect();
    let nodes = PG_NODES
        .iter()
        .map(|n| PgNodeConfig {
            name: n.name.into(),
            region: n.region.into(),
            dsn: format!("host={} port={} user=postgres dbname=postgres", n.host, n.port),
            password_env: None,
            pod: Some(ObjectRef {
                context: n.region.into(),
                namespace: DB_NAMESPACE.into(),
                name: n.name.into(),
            }),
            data_dir: Some(PG_DATA_DIR.into()),
        })
        .collect();
    Config {
        regions,
        kubernetes: Some(KubernetesConfig {
            kubeconfig: None,
            namespaces: vec![APP_NAMESPACE.into(), DB_NAMESPACE.into()],
        }),
        postgres: Some(PostgresConfig {
            max_lag_bytes: MAX_LAG_BYTES,
            service: Some(ObjectRef {
                context: DB_SERVICE.0.into(),
                namespace: DB_SERVICE.1.into(),
                name: DB_SERVICE.2.into(),
            }),
            nodes,
        }),
        sentinel: Some(SentinelConfig {
            master: MASTER_NAME.into(),
            addrs: SENTINELS.iter().map(PgSpec::addr).collect(),
            password_env: None,
        }),
        route53: Some(Route53Config {
            hosted_zone_id: ZONE.into(),
            record: RECORD.into(),
            record_type: "A".into(),
            endpoint_url: Some(ROUTE53_ENDPOINT.into()),
            ..Route53Config::default()
        }),
        ..Config::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_round_trips_through_toml_and_names_everything() {
        let cfg = config();
        let text = toml::to_string(&cfg).expect("serializes");
        let back: Config = toml::from_str(&text).expect("parses back");
        assert_eq!(back, cfg);
        assert_eq!(cfg.primary_region().unwrap().name, "us-east-1");
        assert_eq!(cfg.secondary_region().unwrap().name, "us-west-2");
        let pg = cfg.postgres.as_ref().unwrap();
        assert_eq!(pg.nodes.len(), 3);
        assert_eq!(pg.nodes[0].dsn, "host=10.0.0.10 port=5432 user=postgres dbname=postgres");
        assert_eq!(pg.nodes[2].pod.as_ref().unwrap().context, "us-west-2");
        assert_eq!(cfg.region("eu-central-1").unwrap().failover_replicas, Some(10));
        assert_eq!(cfg.sentinel.as_ref().unwrap().addrs[0], "10.0.1.20:26379");
    }
}
