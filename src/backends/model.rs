//! What the live panes show: plain data produced by the backends (real or drill).
//!
//! Only displayed fields are kept (memory is bounded with 5,000 pods). All text that came
//! from a backend is untrusted: the UI sanitizes it before drawing.

use std::collections::BTreeMap;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

// ---------------------------------------------------------------- Kubernetes

/// One pod as the Pods pane shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodRow {
    /// Kube context (one per region).
    pub context: String,
    /// Namespace.
    pub namespace: String,
    /// Pod name.
    pub name: String,
    /// Ready containers.
    pub ready: u16,
    /// Total containers.
    pub containers: u16,
    /// Pod phase: Pending, Running, Succeeded, Failed, Unknown.
    pub phase: String,
    /// Sum of container restarts.
    pub restarts: u32,
    /// Waiting reason (CrashLoopBackOff, ImagePullBackOff) or last termination reason (OOMKilled, Error).
    pub reason: Option<String>,
    /// When the pod started (for the age column).
    pub started_at: Option<DateTime<Utc>>,
    /// Node the pod runs on.
    pub node: Option<String>,
    /// Labels used by Service selectors (only the ones that matter are kept by real backends).
    pub labels: BTreeMap<String, String>,
}

impl PodRow {
    /// Whether the pod needs attention: not fully ready, not running, or in a bad waiting state.
    pub fn is_unhealthy(&self) -> bool {
        self.phase != "Running" && self.phase != "Succeeded"
            || self.ready < self.containers
            || self.reason.as_deref().is_some_and(|r| BAD_REASONS.contains(&r))
    }

    /// `ready/containers` as kubectl prints it.
    pub fn ready_text(&self) -> String {
        format!("{}/{}", self.ready, self.containers)
    }
}

/// Reasons that mark a pod unhealthy even when it is Running.
pub const BAD_REASONS: &[&str] = &[
    "CrashLoopBackOff",
    "ImagePullBackOff",
    "ErrImagePull",
    "OOMKilled",
    "Error",
    "CreateContainerConfigError",
    "RunContainerError",
];

/// A deployment's replica counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentRow {
    /// Kube context.
    pub context: String,
    /// Namespace.
    pub namespace: String,
    /// Deployment name.
    pub name: String,
    /// Desired replicas.
    pub desired: u32,
    /// Ready replicas.
    pub ready: u32,
    /// Available replicas.
    pub available: u32,
}

/// The database Service: its selector and the pods its endpoints resolve to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceView {
    /// Kube context.
    pub context: String,
    /// Namespace.
    pub namespace: String,
    /// Service name.
    pub name: String,
    /// Selector labels.
    pub selector: BTreeMap<String, String>,
    /// Pods that get traffic, sorted: the ready endpoints of the Service's EndpointSlices, or
    /// when none is ready its serving terminating ones (as kube-proxy routes).
    pub endpoint_pods: Vec<String>,
    /// Every endpoint the slices list, one per pod with its state, those without traffic
    /// included (the pane shows them apart).
    #[serde(default)]
    pub endpoints: Vec<ServiceEndpoint>,
}

impl ServiceView {
    /// Traffic goes only to terminating endpoints (none is ready): the Service is draining.
    pub fn draining(&self) -> bool {
        self.endpoints.iter().any(|e| e.traffic && e.state == EndpointState::ServingTerminating)
    }

    /// The listed endpoints that get no traffic.
    pub fn idle_endpoints(&self) -> impl Iterator<Item = &ServiceEndpoint> {
        self.endpoints.iter().filter(|e| !e.traffic)
    }
}

/// One endpoint of the database Service (a pod, or an address when the slice names none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceEndpoint {
    /// Pod name (or address).
    pub pod: String,
    /// Its conditions.
    pub state: EndpointState,
    /// Whether it gets traffic.
    pub traffic: bool,
}

/// An endpoint's conditions, as EndpointSlices state them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndpointState {
    /// Ready: gets traffic.
    Ready,
    /// Terminating but still serving: gets traffic only when no endpoint is ready.
    ServingTerminating,
    /// Terminating and no longer serving.
    Terminating,
    /// Not ready, not terminating.
    NotReady,
}

impl EndpointState {
    /// How the pane names it.
    pub fn as_str(self) -> &'static str {
        match self {
            EndpointState::Ready => "ready",
            EndpointState::ServingTerminating => "terminating, serving",
            EndpointState::Terminating => "terminating",
            EndpointState::NotReady => "not ready",
        }
    }
}

/// Per-context health of the Kubernetes source (a lost context turns only its rows stale).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContextHealth {
    /// Kube context.
    pub context: String,
    /// `None` when the context's watches are healthy, else the error.
    pub error: Option<String>,
    /// When the context last delivered data.
    pub last_ok: Option<DateTime<Utc>>,
}

/// Everything the Kubernetes layer shows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KubeView {
    /// Pods in all contexts, sorted by (context, namespace, name). Shared: a source hands out
    /// the same `Arc` while no pod changed, so consumers skip work on an unchanged list (compare
    /// with `Arc::ptr_eq`) and 5,000 rows are not copied on every poll.
    pub pods: Arc<Vec<PodRow>>,
    /// Deployments in all contexts.
    pub deployments: Vec<DeploymentRow>,
    /// The database Service, when configured.
    pub db_service: Option<ServiceView>,
    /// Health per context.
    pub contexts: Vec<ContextHealth>,
}

// ---------------------------------------------------------------- PostgreSQL

/// Role of a PostgreSQL node.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PgRole {
    /// Not in recovery.
    Primary,
    /// In recovery (streaming replica).
    Replica,
    /// Unreachable.
    Down,
    /// Not known yet.
    #[default]
    Unknown,
}

impl PgRole {
    /// Contract name.
    pub fn as_str(self) -> &'static str {
        match self {
            PgRole::Primary => "primary",
            PgRole::Replica => "replica",
            PgRole::Down => "down",
            PgRole::Unknown => "unknown",
        }
    }
}

/// One PostgreSQL node (`Default`: nothing known yet, role unknown).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PgNodeStatus {
    /// Configured node name (e.g. `postgresql-0`).
    pub name: String,
    /// Region the node lives in.
    pub region: String,
    /// Role.
    pub role: PgRole,
    /// Server version string.
    pub version: Option<String>,
    /// Timeline id.
    pub timeline: Option<u32>,
    /// Current WAL LSN (primary) or last received LSN (replica), as a byte position.
    pub lsn: Option<u64>,
    /// Where the node's current timeline forked from its parent (the switchpoint of the
    /// timeline history, known on a timeline above 1), as a byte position.
    pub fork_lsn: Option<u64>,
    /// Replay lag in bytes (replicas).
    pub replay_lag_bytes: Option<u64>,
    /// Replay lag in seconds (replicas).
    pub replay_lag_seconds: Option<f64>,
    /// Replication state as seen from the primary (`streaming`, `catchup`...).
    pub replication_state: Option<String>,
    /// Whether the node refuses writes (`default_transaction_read_only`): a fenced primary.
    pub read_only: bool,
    /// Pod name backing the node, when configured.
    pub pod: Option<String>,
    /// Error from the last poll of this node.
    pub error: Option<String>,
    /// When this node last answered (per-node staleness: one hung node does not hide others).
    pub last_ok: Option<DateTime<Utc>>,
}

impl PgNodeStatus {
    /// A primary that accepts writes.
    pub fn is_writable_primary(&self) -> bool {
        self.role == PgRole::Primary && !self.read_only
    }
}

/// Everything the Database layer shows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DatabaseView {
    /// Nodes in configured order.
    pub nodes: Vec<PgNodeStatus>,
}

impl DatabaseView {
    /// Writable primaries (more than one is split brain).
    pub fn writable_primaries(&self) -> Vec<&PgNodeStatus> {
        self.nodes.iter().filter(|n| n.is_writable_primary()).collect()
    }

    /// Two or more writable primaries.
    pub fn split_brain(&self) -> bool {
        self.writable_primaries().len() > 1
    }

    /// The single writable primary, if exactly one.
    pub fn primary(&self) -> Option<&PgNodeStatus> {
        match self.writable_primaries().as_slice() {
            [one] => Some(one),
            _ => None,
        }
    }

    /// Node by name.
    pub fn node(&self, name: &str) -> Option<&PgNodeStatus> {
        self.nodes.iter().find(|n| n.name == name)
    }

    /// The healthiest replica (reachable, least lag, highest timeline) and why it was chosen.
    pub fn best_replica(&self) -> Option<(&PgNodeStatus, String)> {
        let best =
            self.nodes.iter().filter(|n| n.role == PgRole::Replica && n.error.is_none()).min_by(|a, b| {
                let lag = |n: &PgNodeStatus| n.replay_lag_bytes.unwrap_or(u64::MAX);
                lag(a)
                    .cmp(&lag(b))
                    .then(b.timeline.unwrap_or(0).cmp(&a.timeline.unwrap_or(0)))
                    .then(a.name.cmp(&b.name))
            })?;
        let why = format!(
            "reachable replica with the least lag ({} B) on timeline {}",
            best.replay_lag_bytes.map_or("?".into(), |b| b.to_string()),
            best.timeline.map_or("?".into(), |t| t.to_string())
        );
        Some((best, why))
    }
}

// ---------------------------------------------------------------- Redis Sentinel

/// What one Sentinel says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentinelObs {
    /// Sentinel address `host:port`.
    pub addr: String,
    /// Master address it reports, `host:port`.
    pub master: Option<String>,
    /// Error talking to it.
    pub error: Option<String>,
}

/// A replica as Sentinel lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedisReplica {
    /// `host:port`.
    pub addr: String,
    /// Sentinel flags (`slave`, `s_down`, ...).
    pub flags: String,
    /// `master-link-status` is ok.
    pub link_up: bool,
    /// Master offset minus replica offset.
    pub offset_lag: Option<u64>,
}

/// One Sentinel pub/sub event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentinelEvent {
    /// When it was received.
    pub at: DateTime<Utc>,
    /// Which Sentinel published it.
    pub sentinel: String,
    /// Channel, e.g. `+switch-master`.
    pub kind: String,
    /// Payload.
    pub detail: String,
}

/// Everything the Sentinel layer shows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentinelView {
    /// Monitored master name.
    pub master_name: String,
    /// Per-Sentinel view.
    pub sentinels: Vec<SentinelObs>,
    /// `SENTINEL CKQUORUM` result: Ok(message) or Err(message).
    pub quorum: Option<Result<String, String>>,
    /// Replicas of the current master.
    pub replicas: Vec<RedisReplica>,
    /// `role` the master reports about itself in `INFO replication`.
    pub master_role: Option<String>,
    /// Recent events, newest last (bounded).
    pub events: Vec<SentinelEvent>,
    /// A failover is in progress (seen through events or flags).
    pub failover_in_progress: bool,
}

impl SentinelView {
    /// The master all reachable Sentinels agree on, if they agree.
    pub fn agreed_master(&self) -> Option<&str> {
        let mut masters = self.sentinels.iter().filter_map(|s| s.master.as_deref());
        let first = masters.next()?;
        masters.all(|m| m == first).then_some(first)
    }

    /// Whether all reachable Sentinels report the same master.
    pub fn agreed(&self) -> bool {
        self.agreed_master().is_some()
    }

    /// `CKQUORUM` as a verdict: `Some(Ok)` only for a positive answer (an answer that says
    /// NOQUORUM is a failure however it arrived), `None` when unknown.
    pub fn quorum_verdict(&self) -> Option<Result<&str, &str>> {
        match &self.quorum {
            Some(Ok(m)) if m.to_ascii_uppercase().contains("NOQUORUM") => Some(Err(m)),
            Some(Ok(m)) => Some(Ok(m)),
            Some(Err(m)) => Some(Err(m)),
            None => None,
        }
    }

    /// Sentinels that answered, of all listed.
    pub fn reachable(&self) -> (usize, usize) {
        (self.sentinels.iter().filter(|s| s.error.is_none()).count(), self.sentinels.len())
    }
}

// ---------------------------------------------------------------- Traffic

/// Route 53 health check state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthState {
    /// Healthy.
    Healthy,
    /// Unhealthy.
    Unhealthy,
    /// No health check, or unknown.
    Unknown,
}

impl HealthState {
    /// Contract name.
    pub fn as_str(self) -> &'static str {
        match self {
            HealthState::Healthy => "healthy",
            HealthState::Unhealthy => "unhealthy",
            HealthState::Unknown => "unknown",
        }
    }
}

/// One HTTP probe result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Probe {
    /// HTTP status, when an answer came.
    pub status: Option<u16>,
    /// Latency in milliseconds.
    pub latency_ms: u32,
    /// Error or body excerpt on failure.
    pub error: Option<String>,
}

impl Probe {
    /// 2xx answer.
    pub fn ok(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// Traffic facts of one region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegionTraffic {
    /// Region name.
    pub name: String,
    /// Configured role: primary / secondary / tertiary.
    pub role: String,
    /// Route 53 weight (weighted routing).
    pub weight: Option<u8>,
    /// Failover role PRIMARY / SECONDARY (failover routing).
    pub failover_role: Option<String>,
    /// Health check state.
    pub health_check: HealthState,
    /// Health checkers reporting healthy, of total.
    pub checkers: Option<(u16, u16)>,
    /// `/health/live` probe.
    pub live: Option<Probe>,
    /// `/health/ready` probe.
    pub ready: Option<Probe>,
    /// Ready replicas / desired over the region's deployments.
    pub deploy_ready: Option<(u32, u32)>,
}

/// Everything the Traffic layer shows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrafficView {
    /// DNS record name.
    pub record: String,
    /// Record TTL in seconds.
    pub ttl: Option<u32>,
    /// Regions in configured order.
    pub regions: Vec<RegionTraffic>,
    /// Route 53 control plane error, if it is unreachable (data-plane failover still works).
    pub control_plane_error: Option<String>,
}

impl TrafficView {
    /// Share of traffic (0.0-1.0) a region's weight gets.
    pub fn share(&self, region: &str) -> Option<f64> {
        let total: u32 = self.regions.iter().filter_map(|r| r.weight).map(u32::from).sum();
        let r = self.regions.iter().find(|r| r.name == region)?;
        let w = r.weight?;
        Some(if total == 0 { 0.0 } else { f64::from(w) / f64::from(total) })
    }

    /// Region by name.
    pub fn region(&self, name: &str) -> Option<&RegionTraffic> {
        self.regions.iter().find(|r| r.name == name)
    }
}
