//! Backends: everything that talks to a system (or the drill simulation of one).
//!
//! Each source implements [`Observe`]; a [`poller::Poller`] runs it on an interval with a
//! timeout and a circuit breaker and publishes the newest [`Snapshot`] on a
//! `tokio::sync::watch` channel. Mutating steps go through [`Operate`]. Backends never touch
//! the app's `State`.

pub mod dns;
pub mod drill;
pub mod gate;
pub mod http;
pub mod kube;
pub mod live;
pub mod model;
pub mod notify;
pub mod poller;
pub mod postgres;
pub mod route53;
pub mod sentinel;
pub mod traffic;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use serde::Serialize;

use crate::operation::Operation;

/// The latest known value of one source, with how old it is and how much to trust it.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot<T> {
    /// The last good value (kept when later polls fail: graceful degradation).
    pub value: Option<T>,
    /// When `value` was fetched.
    pub fetched_at: Option<DateTime<Utc>>,
    /// How much the value can be trusted right now.
    pub freshness: Freshness,
}

impl<T> Snapshot<T> {
    /// A source that is configured but has not answered yet.
    pub fn pending() -> Self {
        Snapshot { value: None, fetched_at: None, freshness: Freshness::Pending }
    }

    /// A layer that is not configured at all.
    pub fn not_configured() -> Self {
        Snapshot { value: None, fetched_at: None, freshness: Freshness::NotConfigured }
    }

    /// A fresh value fetched at `at`.
    pub fn fresh(value: T, at: DateTime<Utc>) -> Self {
        Snapshot { value: Some(value), fetched_at: Some(at), freshness: Freshness::Fresh }
    }

    /// Age of the value at `now`, if there is one.
    pub fn age(&self, now: DateTime<Utc>) -> Option<chrono::Duration> {
        self.fetched_at.map(|t| now - t)
    }

    /// Same value and freshness as `other` (`fetched_at` may differ): nothing shown changed
    /// but the value's age. Cheap for pod lists, which sources share while unchanged.
    pub fn same_content(&self, other: &Snapshot<T>) -> bool
    where
        T: PartialEq,
    {
        self.freshness == other.freshness && self.value == other.value
    }

    /// The value, only when it is fresh (used by prechecks that must not act on stale data).
    pub fn fresh_value(&self) -> Option<&T> {
        match self.freshness {
            Freshness::Fresh => self.value.as_ref(),
            _ => None,
        }
    }
}

/// How far a snapshot can be trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Freshness {
    /// Configured, no answer yet.
    Pending,
    /// The last poll succeeded.
    Fresh,
    /// Polls have been failing since `since`; the value is the last good one.
    Stale { since: DateTime<Utc>, error: String },
    /// Polls fail and there was never a good value.
    Failed { error: String },
    /// The circuit breaker stopped polling a dead backend until `retry_at`.
    BreakerOpen { retry_at: DateTime<Utc>, error: String },
    /// The layer is not configured.
    NotConfigured,
}

impl Freshness {
    /// The contract name used in `warroom status --json`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Freshness::Pending => "pending",
            Freshness::Fresh => "fresh",
            Freshness::Stale { .. } => "stale",
            Freshness::Failed { .. } => "failed",
            Freshness::BreakerOpen { .. } => "breaker_open",
            Freshness::NotConfigured => "not_configured",
        }
    }

    /// The error behind a non-fresh state, if any.
    pub fn error(&self) -> Option<&str> {
        match self {
            Freshness::Stale { error, .. }
            | Freshness::Failed { error }
            | Freshness::BreakerOpen { error, .. } => Some(error),
            _ => None,
        }
    }
}

impl Serialize for Freshness {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A source of observations (one system, or one simulated system in a drill).
pub trait Observe: Send + Sync + 'static {
    /// What one observation yields.
    type Output: Send + Sync + 'static;
    /// Short name of the source, e.g. `postgres`, used in errors and the app log.
    fn name(&self) -> &str;
    /// Take one observation. The poller applies the timeout; implementations may also time
    /// out internally per node so one hung node does not hide the others.
    fn observe(&self) -> BoxFuture<'_, Result<Self::Output, String>>;
}

/// Something that can carry out mutating [`Operation`]s.
pub trait Operate: Send + Sync + 'static {
    /// Execute `op` once. Returns a one-line human summary of what happened. The caller
    /// applies the step timeout and verifies the postcondition through the observe side.
    fn execute(&self, op: &Operation) -> BoxFuture<'_, Result<String, String>>;

    /// Ask the system whether the user this console acts as may do each of `requests`
    /// (one answer per request, in order). Backends without access control answer `Unknown`.
    fn check_access(
        &self,
        requests: &[crate::operation::access::AccessRequest],
    ) -> BoxFuture<'_, Vec<crate::operation::access::AccessAnswer>> {
        let n = requests.len();
        Box::pin(async move {
            let error = "this backend cannot review access".to_string();
            vec![crate::operation::access::AccessAnswer::Unknown { error }; n]
        })
    }

    /// A facilitator's control of a drill estate (pause, resume, inject). Only the console that
    /// hosts a drill's estate can; every other backend refuses.
    fn control(&self, _c: &drill::DrillControl) -> Result<String, String> {
        Err("refused: this console does not host a drill estate".into())
    }
}

/// Snapshots of all four live layers, as the app core sees them (cheap `Arc` clones).
#[derive(Debug, Clone)]
pub struct Observed {
    /// Kubernetes pods, deployments, database Service.
    pub kube: Arc<Snapshot<model::KubeView>>,
    /// PostgreSQL nodes.
    pub database: Arc<Snapshot<model::DatabaseView>>,
    /// Redis Sentinel.
    pub sentinel: Arc<Snapshot<model::SentinelView>>,
    /// Route 53 and HTTP health per region.
    pub traffic: Arc<Snapshot<model::TrafficView>>,
}

impl Default for Observed {
    fn default() -> Self {
        Observed {
            kube: Arc::new(Snapshot::pending()),
            database: Arc::new(Snapshot::pending()),
            sentinel: Arc::new(Snapshot::pending()),
            traffic: Arc::new(Snapshot::pending()),
        }
    }
}

/// Which live layer a snapshot or pane belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Layer {
    /// Kubernetes.
    Kube,
    /// PostgreSQL.
    Database,
    /// Redis Sentinel.
    Sentinel,
    /// Route 53 + HTTP health.
    Traffic,
}

/// The four live sources, as watch receivers (latest value wins, never blocks).
pub struct Sources {
    /// Kubernetes.
    pub kube: tokio::sync::watch::Receiver<std::sync::Arc<Snapshot<model::KubeView>>>,
    /// PostgreSQL.
    pub database: tokio::sync::watch::Receiver<std::sync::Arc<Snapshot<model::DatabaseView>>>,
    /// Redis Sentinel.
    pub sentinel: tokio::sync::watch::Receiver<std::sync::Arc<Snapshot<model::SentinelView>>>,
    /// Route 53 + HTTP.
    pub traffic: tokio::sync::watch::Receiver<std::sync::Arc<Snapshot<model::TrafficView>>>,
}
