//! Each fault kind carried out on the simulated layers, and cleared again (`returns-after`).

use super::Sim;
use crate::backends::drill::estate::{PG_NODES, REDIS_NODES, REGIONS};
use crate::backends::drill::kube::{Doom, ReplicaSet};
use crate::backends::drill::scenario::FaultKind;
use crate::backends::drill::traffic::Flap;
use crate::operation::Operation;

/// How long a flapping health check stays in one state, sim seconds (min, max).
pub const FLAP_S: (f64, f64) = (20.0, 40.0);

impl Sim {
    /// Carry out fault `i` of the timeline at `now`.
    pub(super) fn strike(&mut self, i: usize, now: f64) {
        let def = self.timeline.def(i).clone();
        let target = def.target.clone().unwrap_or_default();
        let until = def.returns_after.map(|r| now + r.as_secs_f64());
        match def.kind {
            FaultKind::NodeCrash => {
                let region = PG_NODES.iter().chain(&REDIS_NODES).find(|n| n.name == target).map(|n| n.region);
                if let Some(region) = region {
                    self.kill_pod(region, &target, "Error", until, now);
                }
            }
            FaultKind::Hang => {
                self.out.hung.insert(target);
            }
            FaultKind::ReplicaLag => {
                if let Some(n) = self.db.index(&target) {
                    self.db.nodes[n].replay_stalled = true;
                }
            }
            FaultKind::SentinelPartition => {
                self.out.partitioned.insert(target);
            }
            FaultKind::RegionLoss => self.out.insert(target, now),
            FaultKind::CrashloopRollout | FaultKind::Oom => {
                let region = def.region.as_deref().unwrap_or(REGIONS[0].0);
                self.bad_rollout(region, &target, def.kind == FaultKind::Oom);
            }
            FaultKind::HealthCheckFlapping => {
                let next_flip = now + self.rng.range(FLAP_S.0, FLAP_S.1);
                self.traffic.flapping.insert(target, Flap { unhealthy: true, next_flip });
            }
            FaultKind::Route53Pending => {
                self.traffic.pending = true;
                self.traffic.dns.pending = true;
            }
            FaultKind::Route53Throttled => self.traffic.throttled = true,
            FaultKind::KubeApiDown => {
                self.out.api_down.entry(target).or_insert(now);
            }
            FaultKind::RoguePromote => {
                if let Some(n) = self.db.index(&target) {
                    self.db.promote(n, now);
                    let region = self.db.nodes[n].spec.region;
                    if let Some(p) = self.kube.pod_mut(region, &target) {
                        p.labels.insert("role".into(), "primary".into());
                    }
                }
            }
        }
    }

    /// Clear fault `i`'s cause at `now`. A crashed node clears by itself (its doom ends); a
    /// promotion or a bad rollout cannot be undone by time.
    pub(super) fn clear(&mut self, i: usize, now: f64) {
        let def = self.timeline.def(i).clone();
        let target = def.target.clone().unwrap_or_default();
        match def.kind {
            FaultKind::NodeCrash | FaultKind::CrashloopRollout | FaultKind::Oom | FaultKind::RoguePromote => {
            }
            FaultKind::Hang => {
                self.out.hung.remove(&target);
            }
            FaultKind::ReplicaLag => {
                if let Some(n) = self.db.index(&target) {
                    self.db.nodes[n].replay_stalled = false;
                }
            }
            FaultKind::SentinelPartition => {
                self.out.partitioned.remove(&target);
            }
            FaultKind::RegionLoss => self.out.remove(&target),
            FaultKind::HealthCheckFlapping => {
                self.traffic.flapping.remove(&target);
            }
            FaultKind::Route53Pending => {
                // Route 53 finally propagates the change it held back.
                self.traffic.pending = false;
                self.traffic.dns.release(now);
            }
            FaultKind::Route53Throttled => self.traffic.throttled = false,
            FaultKind::KubeApiDown => {
                self.out.api_down.remove(&target);
            }
        }
    }

    /// Flip flapping health checks whose phase ended by `now`.
    pub(super) fn flap(&mut self, now: f64) {
        let due: Vec<String> = self
            .traffic
            .flapping
            .iter()
            .filter(|(_, f)| now >= f.next_flip)
            .map(|(r, _)| r.clone())
            .collect();
        for region in due {
            let next_flip = now + self.rng.range(FLAP_S.0, FLAP_S.1);
            if let Some(f) = self.traffic.flapping.get_mut(&region) {
                f.unhealthy = !f.unhealthy;
                f.next_flip = next_flip;
            }
        }
    }

    /// Kill a database pod's process; restarted containers die again during start-up (before
    /// readiness) until `until`.
    fn kill_pod(&mut self, ctx: &str, name: &str, reason: &'static str, until: Option<f64>, now: f64) {
        if let Some(p) = self.kube.pod_mut(ctx, name) {
            p.doom = Some(Doom { reason, run_for: (0.5, 1.4), until });
        }
        self.kube.crash(ctx, name, reason, now);
    }

    /// `deployment` in `region` rolls out a bad revision. Crash-looping (maxSurge 1,
    /// maxUnavailable 1): two old pods stay, two new ones crash-loop. OOM: the new revision
    /// passes readiness, completes its rollout, then gets OOMKilled. Both keep their previous,
    /// good ReplicaSet (revision history), so `rollback-deployment` recovers them.
    fn bad_rollout(&mut self, region: &str, deployment: &str, oom: bool) {
        let doom = if oom {
            Doom { reason: "OOMKilled", run_for: (20.0, 45.0), until: None }
        } else {
            Doom { reason: "Error", run_for: (3.0, 8.0), until: None }
        };
        let hash = format!("{}{}", self.rng.int(5, 9), self.rng.suffix(8));
        let Some(d) = self.kube.deployments.iter_mut().find(|d| d.context == region && d.name == deployment)
        else {
            return;
        };
        let revision = d.revision() + 1;
        let new = if oom { d.desired } else { 2 };
        if let Some(old) = d.sets.last_mut() {
            old.replicas = if oom { 0 } else { d.desired.saturating_sub(1) };
        }
        d.sets.push(ReplicaSet { hash, revision, replicas: new, doom: Some(doom) });
    }

    /// Why a fault makes `op` fail before it reaches the system, if it does: a throttled or
    /// stuck Route 53, a Kubernetes API server that does not answer.
    pub(crate) fn fault_refusal(&self, op: &Operation) -> Option<String> {
        let api = |context: &str, what: &str| {
            self.out.api_down.contains_key(context).then(|| {
                format!("{what}: API server of {context} did not answer: Get \"https://api.{context}.eks.example.com\": i/o timeout")
            })
        };
        match op {
            Operation::SetRoute53Weights { .. } | Operation::ShiftTraffic { .. }
                if self.traffic.throttled =>
            {
                Some("Throttling: Rate exceeded (ChangeResourceRecordSets)".into())
            }
            Operation::PatchServiceSelector { context, service, .. } => {
                api(context, &format!("patch service {service}"))
            }
            Operation::LabelPod { context, pod, .. } => api(context, &format!("label pod {pod}")),
            Operation::ScaleDeployment { context, deployment, .. } => {
                api(context, &format!("scale deployment {deployment}"))
            }
            Operation::RollbackDeployment { context, deployment, .. } => {
                api(context, &format!("patch deployment {deployment}"))
            }
            Operation::ExecPromote { context, pod, .. } => api(context, &format!("exec in pod {pod}")),
            _ => None,
        }
    }
}
