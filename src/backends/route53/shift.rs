//! `shift-traffic` against Route 53: per stage one atomic UPSERT batch through
//! [`Route53Api::set_weights`] (waited `INSYNC`), then a hold during which the target region's
//! Route 53 health check (`GetHealthCheckStatus`) and `/health/ready` probe are checked every
//! few seconds. A failed gate stops the shift with the weights of that stage left in place.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::{ChangeProgress, Route53Error, Route53Operator, SetWeightsOutcome};
use crate::backends::gate::gate_problem;
use crate::backends::http::HttpProber;
use crate::config::model::Config;
use crate::operation::traffic::{
    GATE_INTERVAL_SECS, first_stage, gate_failed_message, stage_failed_message, target_percent,
};

/// What a shift's hold checks besides the Route 53 health check: each region's
/// `/health/ready` URL, probed with its own timeout, every `interval`.
#[derive(Clone)]
pub struct HealthGate {
    prober: HttpProber,
    ready: BTreeMap<String, String>,
    interval: Duration,
}

impl std::fmt::Debug for HealthGate {
    // URLs may carry credentials: only region names are shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HealthGate")
            .field("ready_regions", &self.ready.keys().collect::<Vec<_>>())
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

impl HealthGate {
    /// A gate probing `ready` (region -> `/health/ready` URL) with `probe_timeout` per probe,
    /// checking every [`GATE_INTERVAL_SECS`].
    pub fn new(ready: BTreeMap<String, String>, probe_timeout: Duration) -> Result<HealthGate, String> {
        Ok(HealthGate {
            prober: HttpProber::new(probe_timeout)?,
            ready,
            interval: Duration::from_secs(GATE_INTERVAL_SECS),
        })
    }

    /// A gate for every configured region's `health_ready` URL.
    pub fn from_config(config: &Config, probe_timeout: Duration) -> Result<HealthGate, String> {
        let ready =
            config.regions.iter().filter_map(|r| Some((r.name.clone(), r.health_ready.clone()?))).collect();
        HealthGate::new(ready, probe_timeout)
    }

    /// Check every `interval` instead (tests use a short one).
    pub fn with_interval(mut self, interval: Duration) -> HealthGate {
        self.interval = interval.max(Duration::from_millis(10));
        self
    }

    /// The ready URL of `region`, if configured.
    pub fn ready_url(&self, region: &str) -> Option<&str> {
        self.ready.get(region).map(String::as_str)
    }
}

/// What a successful shift did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShiftOutcome {
    /// Region the traffic moved to.
    pub target: String,
    /// Number of stages in the plan.
    pub stages: usize,
    /// Index of the first stage run (a retry resumes at the stage it failed at).
    pub resumed_at: usize,
    /// Each stage run: its change and the gate checks passed during its hold.
    pub applied: Vec<(SetWeightsOutcome, u32)>,
}

impl ShiftOutcome {
    /// One-line summary for the step log.
    pub fn summary(&self) -> String {
        let parts: Vec<String> = self
            .applied
            .iter()
            .map(|(o, checks)| {
                format!(
                    "{}% ({} INSYNC after {:.1} s, gate ok x{checks})",
                    target_percent(&o.weights, &self.target),
                    o.change_id,
                    o.elapsed.as_secs_f64()
                )
            })
            .collect();
        let resumed = if self.resumed_at > 0 {
            format!(" resumed at stage {}/{}:", self.resumed_at + 1, self.stages)
        } else {
            String::new()
        };
        let cache = match self.applied.iter().filter_map(|(o, _)| o.ttl).max() {
            Some(ttl) => format!("resolvers may still cache the old answer for {ttl} s (TTL)"),
            None => "alias records: resolvers may cache the old answer for the target's TTL".into(),
        };
        format!(
            "shifted to {} in {} stage(s):{resumed} {}; {cache}",
            self.target,
            self.stages,
            parts.join(", ")
        )
    }
}

impl Route53Operator {
    /// Shift traffic to `target` through `stages`, holding each for `hold` behind the health
    /// gate. Every stage is validated before the first call; the error names the stage, what
    /// failed and the weights left in place.
    pub async fn shift_traffic(
        &self,
        target: &str,
        stages: &[Vec<(String, u8)>],
        hold: Duration,
    ) -> Result<ShiftOutcome, String> {
        let api = self.api();
        let refused = |why: String| Route53Error::Refused(why).to_string();
        let gate =
            self.health_gate().ok_or_else(|| refused("no health gate (HTTP prober) is set up".into()))?;
        let Some(first) = stages.first() else { return Err(refused("the shift has no stages".into())) };
        let Some(region) = api.regions().iter().find(|r| r.name == target) else {
            return Err(refused(format!("target {target} is not a configured region")));
        };
        for (i, s) in stages.iter().enumerate() {
            api.validate_weights(s).map_err(|e| format!("stage {}: {e}", i + 1))?;
        }
        let current = api.list_record_sets().await.map_err(|e| e.to_string())?;
        for (i, s) in stages.iter().enumerate() {
            api.plan_upserts(&current, s).map_err(|e| format!("stage {}: {e}", i + 1))?;
        }
        let health_check = region.health_check_id.clone().or_else(|| {
            current
                .iter()
                .find(|f| f.region.as_deref() == Some(target))
                .and_then(|f| f.health_check_id.clone())
        });
        if health_check.is_none() && gate.ready_url(target).is_none() {
            return Err(refused(format!(
                "{target} has no Route 53 health check and no health_ready URL: nothing to gate the shift on"
            )));
        }
        let mut before: Vec<(String, u8)> = first
            .iter()
            .map(|(r, _)| {
                let w =
                    current.iter().find(|f| f.region.as_deref() == Some(r.as_str())).and_then(|f| f.weight);
                (r.clone(), w.and_then(|w| u8::try_from(w).ok()).unwrap_or(0))
            })
            .collect();
        let n = stages.len();
        let resumed_at = first_stage(stages, target, &before);
        let mut applied = Vec::new();
        for (i, weights) in stages.iter().enumerate().skip(resumed_at) {
            let pct = target_percent(weights, target);
            let log = |p: &ChangeProgress| {
                tracing::info!(stage = i + 1, change = %p.change_id, status = %p.status, polls = p.polls, "route53 shift change");
            };
            let outcome = api.set_weights(weights, &log).await.map_err(|e| {
                let submitted =
                    matches!(e, Route53Error::StuckPending { .. } | Route53Error::Unconfirmed { .. });
                stage_failed_message(i + 1, n, pct, &e.to_string(), &before, submitted.then_some(weights))
            })?;
            before = weights.clone();
            let checks = self
                .hold(gate, target, health_check.as_deref(), hold)
                .await
                .map_err(|problem| gate_failed_message(i + 1, n, pct, &problem, weights))?;
            applied.push((outcome, checks));
        }
        Ok(ShiftOutcome { target: target.to_string(), stages: n, resumed_at, applied })
    }

    /// Hold one stage: check the gate at once, every interval and at the end of `hold`.
    async fn hold(
        &self,
        gate: &Arc<HealthGate>,
        target: &str,
        health_check: Option<&str>,
        hold: Duration,
    ) -> Result<u32, String> {
        let end = Instant::now() + hold;
        let mut checks = 0;
        loop {
            checks += 1;
            if let Some(problem) = self.gate_check(gate, target, health_check).await {
                return Err(problem);
            }
            let now = Instant::now();
            if now >= end {
                return Ok(checks);
            }
            tokio::time::sleep(gate.interval.min(end - now)).await;
        }
    }

    /// One gate check: the health check status and the ready probe, concurrently.
    async fn gate_check(
        &self,
        gate: &HealthGate,
        target: &str,
        health_check: Option<&str>,
    ) -> Option<String> {
        let health = async {
            match health_check {
                Some(id) => Some(self.api().health_check(id).await),
                None => None,
            }
        };
        let ready = async {
            match gate.ready_url(target) {
                Some(url) => Some(gate.prober.probe(url).await),
                None => None,
            }
        };
        let (health, ready) = futures::future::join(health, ready).await;
        if let Some(e) = health.as_ref().and_then(|h| h.error.as_ref()) {
            return Some(format!("{target} health check unreadable: {e}"));
        }
        gate_problem(target, health.map(|h| (h.state, h.checkers)), ready.as_ref())
    }
}
