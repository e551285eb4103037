//! Simulated Route 53 (weighted records, health checks with 16 checkers) and the HTTP
//! `/health/live` and `/health/ready` probes of each region.
//!
//! The Route 53 health check targets `/health/live`. `/health/ready` also needs PostgreSQL:
//! us-east-1 reaches it through the database Service (ready only when the Service's endpoint
//! is a writable primary); the other regions connect to the single writable primary directly.

use super::estate::{APP_NAMESPACE, RECORD, REGIONS, TTL};
use super::kube::{Kube, Outage};
use super::rng::Rng;
use crate::backends::model::{DatabaseView, HealthState, Probe, RegionTraffic, TrafficView};
use crate::operation::traffic::target_percent;

/// Route 53 health checkers per health check.
const CHECKERS: f64 = 16.0;
/// Seconds for all checkers to flip (3 failures x 10 s interval).
const FLIP_S: f64 = 30.0;
/// Route 53 calls a check healthy when more than this share of checkers says so.
const HEALTHY_SHARE: f64 = 0.18;
/// Probe timeout.
const PROBE_TIMEOUT_MS: u32 = 2000;

/// One region's weighted record and health check.
#[derive(Debug, Clone)]
pub struct RegionRecord {
    /// Region (= SetIdentifier).
    pub name: &'static str,
    /// primary / secondary / tertiary.
    pub role: &'static str,
    /// Route 53 weight.
    pub weight: u8,
    /// Checkers currently reporting healthy (fractional while flipping).
    pub healthy_checkers: f64,
    /// Typical probe latency from the operator, ms.
    pub base_latency_ms: u32,
}

/// A scripted `/health/ready` failure (drills and tests of the shift's health gate): `region`
/// answers 503 with `reason` whenever its share of the Route 53 weights is at least
/// `min_percent` % (a region that cannot take more than a slice of the load).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadyFault {
    /// Region whose ready probe fails.
    pub region: String,
    /// Share of the weights (whole percent) from which it fails.
    pub min_percent: u32,
    /// What the probe answers, e.g. "503: connection pool exhausted".
    pub reason: String,
}

/// The traffic layer.
#[derive(Debug, Clone)]
pub struct Traffic {
    /// Regions in configured order.
    pub regions: Vec<RegionRecord>,
    /// Scripted ready-probe failure, if any.
    pub ready_fault: Option<ReadyFault>,
    /// Change batches applied so far.
    pub changes: u32,
    /// Seed for probe jitter.
    pub seed: u64,
    /// The authoritative name servers' view of the last change (`verify-dns`).
    pub dns: super::dns::NameServers,
    /// Regions whose health check flaps (fault `health-check-flapping`).
    pub flapping: std::collections::BTreeMap<String, Flap>,
    /// Route 53 changes stay PENDING (fault `route53-pending`).
    pub pending: bool,
    /// Route 53 throttles every change (fault `route53-throttled`).
    pub throttled: bool,
}

/// A flapping health check: its current phase and when it flips next (sim time).
#[derive(Debug, Clone, PartialEq)]
pub struct Flap {
    /// Unhealthy in this phase.
    pub unhealthy: bool,
    /// When the phase ends.
    pub next_flip: f64,
}

impl Traffic {
    /// Weights 100/0/0, everything healthy.
    pub fn new(rng: &mut Rng) -> Traffic {
        let latency = [18, 71, 94];
        let regions = REGIONS
            .iter()
            .zip(latency)
            .enumerate()
            .map(|(i, ((name, role), base_latency_ms))| RegionRecord {
                name,
                role,
                weight: if i == 0 { 100 } else { 0 },
                healthy_checkers: CHECKERS,
                base_latency_ms,
            })
            .collect();
        Traffic {
            regions,
            ready_fault: None,
            changes: 0,
            seed: rng.next_u64(),
            dns: Default::default(),
            flapping: Default::default(),
            pending: false,
            throttled: false,
        }
    }

    /// Move health checkers towards what `/health/live` answers.
    pub fn tick(&mut self, dt: f64, kube: &Kube, out: &Outage) {
        for r in &mut self.regions {
            if let Some(f) = self.flapping.get(r.name) {
                r.healthy_checkers = if f.unhealthy { 0.0 } else { CHECKERS };
                continue;
            }
            let target = if live_ok(r.name, kube, out) { CHECKERS } else { 0.0 };
            let step = CHECKERS / FLIP_S * dt;
            r.healthy_checkers = if target > r.healthy_checkers {
                (r.healthy_checkers + step).min(target)
            } else {
                (r.healthy_checkers - step).max(target)
            };
        }
    }

    /// The pane model; `db` decides `/health/ready`, `endpoints` are the database Service's.
    pub fn view(
        &self,
        now: f64,
        kube: &Kube,
        out: &Outage,
        db: &DatabaseView,
        endpoints: &[String],
    ) -> TrafficView {
        let regions = self
            .regions
            .iter()
            .enumerate()
            .map(|(i, r)| {
                // Jitter depends only on (seed, half-second, region): views stay pure.
                let mut rng = Rng::new(self.seed ^ ((now * 2.0) as u64).wrapping_mul(31) ^ i as u64);
                let lat = r.base_latency_ms + rng.int(0, 14) as u32;
                let (live, ready) = if out.contains(r.name) {
                    let timeout = || Probe {
                        status: None,
                        latency_ms: PROBE_TIMEOUT_MS,
                        error: Some(format!("timed out after {PROBE_TIMEOUT_MS} ms")),
                    };
                    (timeout(), timeout())
                } else if !live_ok(r.name, kube, out) {
                    let unavailable = || Probe {
                        status: Some(503),
                        latency_ms: lat,
                        error: Some("503 Service Unavailable: no healthy upstream".into()),
                    };
                    (unavailable(), unavailable())
                } else {
                    let ok = Probe { status: Some(200), latency_ms: lat, error: None };
                    let ready = match db_problem(r.name, db, endpoints).or_else(|| self.scripted(r.name)) {
                        None => Probe { status: Some(200), latency_ms: lat + 4, error: None },
                        Some(why) => Probe { status: Some(503), latency_ms: lat + 4, error: Some(why) },
                    };
                    (ok, ready)
                };
                let deps: Vec<(u32, u32)> = kube
                    .deployments
                    .iter()
                    .filter(|d| d.context == r.name && d.namespace == APP_NAMESPACE)
                    .map(|d| kube.deployment_counts(d, out))
                    .collect();
                let healthy = r.healthy_checkers.round() as u16;
                RegionTraffic {
                    name: r.name.into(),
                    role: r.role.into(),
                    weight: Some(r.weight),
                    failover_role: None,
                    health_check: if r.healthy_checkers / CHECKERS > HEALTHY_SHARE {
                        HealthState::Healthy
                    } else {
                        HealthState::Unhealthy
                    },
                    checkers: Some((healthy, CHECKERS as u16)),
                    live: Some(live),
                    ready: Some(ready),
                    deploy_ready: Some(deps.iter().fold((0, 0), |a, d| (a.0 + d.0, a.1 + d.1))),
                }
            })
            .collect();
        TrafficView { record: RECORD.into(), ttl: Some(TTL), regions, control_plane_error: None }
    }
}

impl Traffic {
    /// The scripted ready failure of `region`, when it applies at the current weights.
    fn scripted(&self, region: &str) -> Option<String> {
        let f = self.ready_fault.as_ref().filter(|f| f.region == region)?;
        let weights: Vec<(String, u8)> =
            self.regions.iter().map(|r| (r.name.to_string(), r.weight)).collect();
        (target_percent(&weights, region) >= f.min_percent).then(|| f.reason.clone())
    }
}

/// `/health/live` answers 200 when the region is reachable and has a ready `api` pod.
fn live_ok(region: &str, kube: &Kube, out: &Outage) -> bool {
    !out.contains(region)
        && kube
            .deployments
            .iter()
            .filter(|d| d.context == region && d.namespace == APP_NAMESPACE && d.name == "api")
            .any(|d| kube.deployment_counts(d, out).0 > 0)
}

fn db_problem(region: &str, db: &DatabaseView, endpoints: &[String]) -> Option<String> {
    if region == REGIONS[0].0 {
        let behind = db.nodes.iter().find(|n| endpoints.iter().any(|e| Some(e) == n.pod.as_ref()));
        return match behind {
            Some(n) if n.is_writable_primary() => None,
            Some(n) => {
                Some(format!("503: database Service points at {} which is not a writable primary", n.name))
            }
            None => Some("503: database Service has no ready endpoint".into()),
        };
    }
    match db.writable_primaries().len() {
        1 => None,
        0 => Some("503: no writable PostgreSQL primary".into()),
        n => Some(format!("503: {n} writable PostgreSQL primaries (split brain), refusing writes")),
    }
}
