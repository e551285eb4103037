//! The `warroom.toml` model. It is a contract (`docs/configuration.md`): extend, never rename.

use serde::{Deserialize, Serialize};

/// The whole `warroom.toml`. Every section is optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Incident settings.
    #[serde(default)]
    pub incident: IncidentConfig,
    /// Regions, in order (primary first by convention).
    #[serde(default)]
    pub regions: Vec<RegionConfig>,
    /// Kubernetes.
    pub kubernetes: Option<KubernetesConfig>,
    /// PostgreSQL.
    pub postgres: Option<PostgresConfig>,
    /// Redis Sentinel.
    pub sentinel: Option<SentinelConfig>,
    /// Route 53.
    pub route53: Option<Route53Config>,
    /// Poll intervals, timeouts, breaker.
    #[serde(default)]
    pub polling: PollingConfig,
    /// UI choices.
    #[serde(default)]
    pub ui: UiConfig,
    /// Drill measurement settings.
    #[serde(default)]
    pub drill: DrillConfig,
    /// The commander lock (default: a file next to the incident log, ttl 30 s).
    pub commander: Option<CommanderConfig>,
    /// The incident shared across hosts through Kubernetes (one ConfigMap per log entry).
    pub war_room: Option<WarRoomConfig>,
    /// The two-person rule (`[approvals]`): which steps wait for other people's approval.
    #[serde(default)]
    pub approvals: ApprovalsConfig,
    /// `[[notify]]`: where a posted status update is also sent (after a preview and `y`).
    #[serde(default)]
    pub notify: Vec<NotifyConfig>,
}

/// `[approvals]`: how many people must agree before a step executes. Every count is the number
/// of people INCLUDING the commander who confirms: `2` means one other person must approve,
/// `1` (or unset) means the commander's confirmation alone. The strictest applicable rule wins.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalsConfig {
    /// People who must agree on every high-risk step (incl. the commander).
    pub high_risk: Option<u32>,
    /// People who must agree per operation kind (`promote = 2`), incl. the commander.
    #[serde(default)]
    pub kinds: std::collections::BTreeMap<String, u32>,
    /// How long a confirmed step waits for its approvals before it fails, in seconds.
    /// Unset: [`DEFAULT_APPROVAL_TIMEOUT_SECS`].
    pub timeout_secs: Option<u64>,
    /// Whether read-only consoles may approve or reject (default: no).
    #[serde(default)]
    pub observers_may_approve: bool,
}

/// `[approvals] timeout_secs` when unset.
pub const DEFAULT_APPROVAL_TIMEOUT_SECS: u64 = 600;

/// The operation kinds `[approvals.kinds]` may name: `operation::kind::OpKind`'s names (the
/// config layer sits below `operation`; a test in `app::approval` keeps the two lists equal).
pub const OP_KIND_NAMES: &[&str] = &[
    "check-primary",
    "assert",
    "promote",
    "exec-promote",
    "fence",
    "repoint-service",
    "label-pod",
    "verify-writes",
    "sentinel-failover",
    "set-weights",
    "shift-traffic",
    "scale",
    "rollback-deployment",
    "verify-dns",
    "manual",
];

/// Most people an approval rule may require (commander included).
pub const MAX_APPROVAL_PEOPLE: u32 = 5;

impl ApprovalsConfig {
    /// The approval timeout in force.
    pub fn timeout_secs(&self) -> u64 {
        self.timeout_secs.unwrap_or(DEFAULT_APPROVAL_TIMEOUT_SECS)
    }
}

/// One `[[notify]]` target of posted status updates.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyConfig {
    /// A name for the preview and the log (`ops-slack`).
    pub name: String,
    /// `slack` (incoming webhook, `{"text"}`), `webhook` (generic JSON) or `command`.
    pub kind: String,
    /// The webhook URL (a secret: prefer `url_env`).
    pub url: Option<String>,
    /// Name of the environment variable holding the webhook URL.
    pub url_env: Option<String>,
    /// `command`: the program and its arguments (never a shell string); the text on stdin.
    pub command: Option<Vec<String>>,
    /// Contact this target in drills too (default false: a drill must not page people).
    #[serde(default)]
    pub drill: bool,
    /// Time allowed for one attempt, in milliseconds (default 10000).
    pub timeout_ms: Option<u64>,
}

/// `[[notify]] kind` values.
pub const NOTIFY_KINDS: &[&str] = &["slack", "webhook", "command"];

/// `[drill]`: what recovery is measured against.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DrillConfig {
    /// Recovery time objective in seconds: a drill (or live recovery) result says whether its
    /// RTO met it. Unset: no target.
    pub rto_target_secs: Option<u64>,
    /// How long the verdict must hold (restored, no split brain) before a recovery counts as
    /// mitigated, in seconds (1-3600). Unset: [`DEFAULT_SETTLE_SECS`].
    pub settle_secs: Option<u64>,
}

/// `[drill] settle_secs` when unset.
pub const DEFAULT_SETTLE_SECS: u64 = 10;

impl DrillConfig {
    /// The settle period in force.
    pub fn settle_secs(&self) -> u64 {
        self.settle_secs.unwrap_or(DEFAULT_SETTLE_SECS)
    }
}

/// `[incident]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentConfig {
    /// Where incident logs live (default: the directories crate's data dir).
    pub data_dir: Option<String>,
}

/// Replicas a region scales its deployments to when it takes over, unless its
/// `failover_replicas` says otherwise (the plan's `--replicas=10`).
pub const DEFAULT_FAILOVER_REPLICAS: u32 = 10;

/// `[[regions]]` (`Default`: empty name and role, every optional key unset).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionConfig {
    /// Region name, e.g. `us-east-1`.
    pub name: String,
    /// `primary`, `secondary` or `tertiary`.
    #[serde(default = "default_role")]
    pub role: String,
    /// Kube context of this region.
    pub kube_context: Option<String>,
    /// `/health/live` URL.
    pub health_live: Option<String>,
    /// `/health/ready` URL.
    pub health_ready: Option<String>,
    /// Deployments scaled by a region failover.
    #[serde(default)]
    pub deployments: Vec<String>,
    /// Namespace of those deployments (default `default`).
    pub namespace: Option<String>,
    /// Replicas to scale to when this region takes over (default 10, as in the plan).
    pub failover_replicas: Option<u32>,
    /// Route 53 SetIdentifier (default: the region name).
    pub set_identifier: Option<String>,
    /// Route 53 health check id for this region.
    pub health_check_id: Option<String>,
}

fn default_role() -> String {
    "secondary".into()
}

/// `[kubernetes]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KubernetesConfig {
    /// Kubeconfig path (default: standard resolution).
    pub kubeconfig: Option<String>,
    /// Namespaces to watch.
    #[serde(default)]
    pub namespaces: Vec<String>,
}

/// A reference to a Kubernetes object in an explicit context.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectRef {
    /// Kube context.
    pub context: String,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
}

/// `[postgres]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostgresConfig {
    /// Maximum replay lag a promotion accepts without a typed override.
    #[serde(default)]
    pub max_lag_bytes: u64,
    /// The database Service that clients connect through.
    pub service: Option<ObjectRef>,
    /// Nodes.
    #[serde(default)]
    pub nodes: Vec<PgNodeConfig>,
}

/// `[[postgres.nodes]]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PgNodeConfig {
    /// Node name.
    pub name: String,
    /// Region.
    #[serde(default)]
    pub region: String,
    /// libpq-style connection string without password.
    pub dsn: String,
    /// Name of an environment variable holding the password.
    pub password_env: Option<String>,
    /// The pod backing this node.
    pub pod: Option<ObjectRef>,
    /// Data directory inside the pod (for `pg_ctl promote`).
    pub data_dir: Option<String>,
}

/// `[sentinel]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SentinelConfig {
    /// Monitored master name.
    pub master: String,
    /// Sentinel addresses.
    pub addrs: Vec<String>,
    /// Name of an environment variable holding the Redis/Sentinel password.
    pub password_env: Option<String>,
}

/// `[route53]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route53Config {
    /// Hosted zone id.
    pub hosted_zone_id: String,
    /// Record name (with trailing dot).
    pub record: String,
    /// Record type.
    #[serde(rename = "type", default = "default_record_type")]
    pub record_type: String,
    /// Endpoint override, for emulators.
    pub endpoint_url: Option<String>,
    /// Authoritative name servers the DNS verification asks (`host` or `host:port`, port 53 by
    /// default) instead of the hosted zone's delegation set: split-horizon DNS, tests.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub name_servers: Vec<String>,
    /// How long the DNS verification re-asks servers that do not answer the change yet
    /// (default [`DEFAULT_DNS_SYNC_TIMEOUT_MS`]).
    pub dns_sync_timeout_ms: Option<u64>,
    /// How long after the DNS verification the drift re-check asks again (default
    /// [`DEFAULT_DNS_RECHECK_AFTER_MS`]).
    pub dns_recheck_after_ms: Option<u64>,
}

/// Default `[route53] dns_sync_timeout_ms`: two minutes.
pub const DEFAULT_DNS_SYNC_TIMEOUT_MS: u64 = 120_000;
/// Default `[route53] dns_recheck_after_ms`: one minute.
pub const DEFAULT_DNS_RECHECK_AFTER_MS: u64 = 60_000;

fn default_record_type() -> String {
    "A".into()
}

/// `[polling]`: intervals and timeouts in milliseconds, breaker thresholds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PollingConfig {
    /// Poll interval.
    pub interval_ms: u64,
    /// Timeout of one poll.
    pub timeout_ms: u64,
    /// Consecutive failures that open the breaker.
    pub breaker_failures: u32,
    /// How long the breaker stays open before a half-open try.
    pub breaker_open_ms: u64,
    /// How long a step's verification may take.
    pub verify_timeout_ms: u64,
    /// How long a step's execution may take.
    pub execute_timeout_ms: u64,
}

impl Default for PollingConfig {
    fn default() -> Self {
        PollingConfig {
            interval_ms: 1000,
            timeout_ms: 2000,
            breaker_failures: 5,
            breaker_open_ms: 10_000,
            verify_timeout_ms: 60_000,
            execute_timeout_ms: 30_000,
        }
    }
}

/// `[ui]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UiConfig {
    /// Theme name or path.
    pub theme: Option<String>,
    /// Keymap name or path.
    pub keymap: Option<String>,
}

/// `[commander]`: where the commander lock lives. With `context` and `namespace`, a
/// `coordination.k8s.io/v1` Lease there; without them, a file next to the incident log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommanderConfig {
    /// Kube context of the Lease (explicit, never the current context).
    pub context: Option<String>,
    /// Namespace of the Lease.
    pub namespace: Option<String>,
    /// Seconds a holder's claim lasts without a renewal (renewed every third of it).
    #[serde(default = "default_commander_ttl")]
    pub ttl_secs: u64,
}

impl Default for CommanderConfig {
    fn default() -> Self {
        CommanderConfig { context: None, namespace: None, ttl_secs: default_commander_ttl() }
    }
}

fn default_commander_ttl() -> u64 {
    30
}

/// `[war_room]`: where the shared incident lives (one ConfigMap per log entry, and the
/// commander Lease unless `[commander]` names its own place).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WarRoomConfig {
    /// Kube context (explicit, never the current context).
    pub context: String,
    /// Namespace holding the entries.
    pub namespace: String,
    /// Kubeconfig path (default: `[kubernetes] kubeconfig`, then the standard resolution).
    pub kubeconfig: Option<String>,
}

impl Config {
    /// Region by name.
    pub fn region(&self, name: &str) -> Option<&RegionConfig> {
        self.regions.iter().find(|r| r.name == name)
    }

    /// The region with role `primary`, else the first.
    pub fn primary_region(&self) -> Option<&RegionConfig> {
        self.regions.iter().find(|r| r.role == "primary").or(self.regions.first())
    }

    /// The region with role `secondary`, else the second.
    pub fn secondary_region(&self) -> Option<&RegionConfig> {
        self.regions.iter().find(|r| r.role == "secondary").or(self.regions.get(1))
    }
}
