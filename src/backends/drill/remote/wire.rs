//! The estate socket's wire format: one JSON object per line.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Hello;
use crate::backends::drill::DrillControl;
use crate::backends::drill::scenario::{FaultDef, FaultKind};
use crate::backends::model::{DatabaseView, KubeView, SentinelView, TrafficView};
use crate::backends::{Freshness, Snapshot};
use crate::operation::Operation;

/// [`Freshness`] on the wire.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub(super) enum WireFreshness {
    Pending,
    Fresh,
    Stale { since: DateTime<Utc>, error: String },
    Failed { error: String },
    BreakerOpen { retry_at: DateTime<Utc>, error: String },
    NotConfigured,
}

impl From<&Freshness> for WireFreshness {
    fn from(f: &Freshness) -> Self {
        match f.clone() {
            Freshness::Pending => WireFreshness::Pending,
            Freshness::Fresh => WireFreshness::Fresh,
            Freshness::Stale { since, error } => WireFreshness::Stale { since, error },
            Freshness::Failed { error } => WireFreshness::Failed { error },
            Freshness::BreakerOpen { retry_at, error } => WireFreshness::BreakerOpen { retry_at, error },
            Freshness::NotConfigured => WireFreshness::NotConfigured,
        }
    }
}

impl From<WireFreshness> for Freshness {
    fn from(f: WireFreshness) -> Self {
        match f {
            WireFreshness::Pending => Freshness::Pending,
            WireFreshness::Fresh => Freshness::Fresh,
            WireFreshness::Stale { since, error } => Freshness::Stale { since, error },
            WireFreshness::Failed { error } => Freshness::Failed { error },
            WireFreshness::BreakerOpen { retry_at, error } => Freshness::BreakerOpen { retry_at, error },
            WireFreshness::NotConfigured => Freshness::NotConfigured,
        }
    }
}

/// A [`Snapshot`] on the wire.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct WireSnap<T> {
    value: Option<T>,
    fetched_at: Option<DateTime<Utc>>,
    freshness: WireFreshness,
}

impl<T: Clone> WireSnap<T> {
    pub(super) fn of(s: &Snapshot<T>) -> Self {
        WireSnap { value: s.value.clone(), fetched_at: s.fetched_at, freshness: (&s.freshness).into() }
    }
}

impl<T> WireSnap<T> {
    pub(super) fn into_snapshot(self) -> Snapshot<T> {
        Snapshot { value: self.value, fetched_at: self.fetched_at, freshness: self.freshness.into() }
    }
}

/// Host to joined console.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "kebab-case")]
pub(super) enum HostMsg {
    Hello(Hello),
    Kube { snap: WireSnap<KubeView> },
    Database { snap: WireSnap<DatabaseView> },
    Sentinel { snap: WireSnap<SentinelView> },
    Traffic { snap: WireSnap<TrafficView> },
    Done { id: u64, result: Result<String, String> },
}

/// Joined console to host.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "kebab-case")]
pub(super) enum ClientMsg {
    Exec {
        id: u64,
        op: Operation,
    },
    /// A facilitator's control of the estate (a facilitator console that joined).
    Control {
        id: u64,
        control: WireControl,
    },
}

/// [`DrillControl`] on the wire.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "do", rename_all = "kebab-case")]
pub(super) enum WireControl {
    Pause,
    Resume,
    Inject { kind: FaultKind, target: Option<String>, region: Option<String>, returns_after_ms: Option<u64> },
}

impl From<&DrillControl> for WireControl {
    fn from(c: &DrillControl) -> Self {
        match c {
            DrillControl::Pause => WireControl::Pause,
            DrillControl::Resume => WireControl::Resume,
            DrillControl::Inject(f) => WireControl::Inject {
                kind: f.kind,
                target: f.target.clone(),
                region: f.region.clone(),
                returns_after_ms: f.returns_after.map(|d| d.as_millis() as u64),
            },
        }
    }
}

impl From<WireControl> for DrillControl {
    fn from(c: WireControl) -> Self {
        match c {
            WireControl::Pause => DrillControl::Pause,
            WireControl::Resume => DrillControl::Resume,
            WireControl::Inject { kind, target, region, returns_after_ms } => DrillControl::Inject(
                FaultDef::now(kind, target, region, returns_after_ms.map(std::time::Duration::from_millis)),
            ),
        }
    }
}

pub(super) fn line<T: Serialize>(msg: &T) -> String {
    // Plain data with string keys always serializes.
    let mut s = serde_json::to_string(msg).unwrap_or_default();
    s.push('\n');
    s
}
