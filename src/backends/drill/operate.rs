//! Operations against the simulated estate: validated like the real systems would (refusals
//! carry the real error's wording), then applied so the observe side shows the change.
//!
//! [`Sim::begin`] checks an operation and says how long it plausibly takes; the caller waits
//! that long (speed-scaled) and then calls [`Sim::apply`], which checks again (the estate may
//! have moved meanwhile) and mutates. The checks are in [`check`].

mod check;

use std::collections::BTreeMap;
use std::time::Duration;

use super::database::lsn_text;
use super::sim::Sim;
use crate::operation::Operation;
use crate::text::grammar::each_verb;
use check::no_history;

/// The container of the drill's database pods.
const CONTAINER: &str = "postgres";

impl Sim {
    /// Validate `op` and return how long it plausibly takes, in sim time.
    pub fn begin(&mut self, op: &Operation) -> Result<Duration, String> {
        if let Some(why) = self.fault_refusal(op) {
            return Err(why);
        }
        self.check(op)?;
        if let Operation::ShiftTraffic { .. } = op {
            // Carried out stage by stage (set-weights each): it counts from its start.
            self.note_op(op.kind());
        }
        let secs = match op {
            Operation::CheckPrimary => 0.03 * self.db.nodes.len() as f64,
            Operation::PromotePostgres { .. } => self.rng.range(0.18, 0.26),
            // `pg_ctl promote` took about 0.13 s in the lab (see the lab notes).
            Operation::ExecPromote { .. } => self.rng.range(0.11, 0.15),
            Operation::FencePostgres { .. } => self.rng.range(0.08, 0.15),
            Operation::PatchServiceSelector { .. }
            | Operation::LabelPod { .. }
            | Operation::ScaleDeployment { .. } => self.rng.range(0.05, 0.12),
            // A GET, a LIST and a PATCH.
            Operation::RollbackDeployment { .. } => self.rng.range(0.12, 0.25),
            Operation::SentinelFailover { .. } => self.rng.range(0.002, 0.01),
            Operation::SetRoute53Weights { .. } => self.rng.range(0.3, 0.6),
            // Run stage by stage by the drill operator (each stage is a set-weights).
            Operation::ShiftTraffic { .. } | Operation::Manual { .. } | Operation::Assert { .. } => 0.0,
            Operation::VerifyWrites { .. } => self.rng.range(0.004, 0.012),
            Operation::VerifyDns { sync_timeout_secs, recheck_after_secs, .. } => {
                self.dns_took(*sync_timeout_secs, *recheck_after_secs)
            }
        };
        Ok(Duration::from_secs_f64(secs))
    }

    /// Carry out `op`, which took `took`; returns a one-line summary of what was done. A
    /// fault may refuse it first; a Route 53 change made while changes stay PENDING is applied
    /// but fails for want of INSYNC.
    pub fn apply(&mut self, op: &Operation, took: Duration) -> Result<String, String> {
        if let Some(why) = self.fault_refusal(op) {
            return Err(why);
        }
        let done = self.apply_op(op, took)?;
        if let (Operation::SetRoute53Weights { .. }, true) = (op, self.traffic.pending) {
            return Err(format!(
                "change /change/CDRILL{:06} is still PENDING: Route 53 accepted it but reports no INSYNC",
                self.traffic.changes
            ));
        }
        self.note_op(op.kind());
        Ok(done)
    }

    fn apply_op(&mut self, op: &Operation, took: Duration) -> Result<String, String> {
        self.check(op)?;
        let secs = took.as_secs_f64();
        Ok(match op {
            Operation::CheckPrimary => self.primary_summary(),
            Operation::PromotePostgres { node, .. } => {
                let (timeline, fork) = self.promote_node(node);
                format!(
                    "pg_promote() returned true after {secs:.2} s: {node} is primary on timeline {timeline} (forked at {})",
                    lsn_text(fork)
                )
            }
            Operation::ExecPromote { context, namespace, pod, data_dir, node, .. } => {
                let (timeline, fork) = self.promote_node(node);
                format!(
                    "`pg_ctl promote -D {data_dir}` in pod {namespace}/{pod} in {context} exited 0 after {secs:.2} s: \
                     waiting for server to promote.... done | server promoted; {node} is primary on timeline {timeline} (forked at {})",
                    lsn_text(fork)
                )
            }
            Operation::FencePostgres { node, .. } => self.fence(node, secs),
            Operation::PatchServiceSelector { context, namespace, service, pod } => {
                self.select_pod(context, namespace, service, pod)
            }
            Operation::LabelPod { context, namespace, pod, key, value } => {
                if let Some(p) = self.kube.pod_mut(context, pod) {
                    p.labels.insert(key.clone(), value.clone());
                }
                format!("pod {context}/{namespace}/{pod} labelled {key}={value}")
            }
            Operation::SentinelFailover { master, sentinel, .. } => {
                let s = self.redis.sentinel_index(sentinel).unwrap_or(0);
                self.redis.start_failover(s, true, self.t);
                format!(
                    "SENTINEL FAILOVER {master} on {sentinel} returned OK; the switch follows in about 1.2 s"
                )
            }
            Operation::SetRoute53Weights { weights, .. } => self.set_weights(weights, secs),
            Operation::ShiftTraffic { .. } => {
                return Err("shift-traffic is carried out stage by stage, not in one apply".into());
            }
            Operation::ScaleDeployment { context, namespace, deployment, replicas } => {
                let old = self.scale(context, namespace, deployment, *replicas);
                format!(
                    "deployment {context}/{namespace}/{deployment} scaled {old} -> {replicas} ({secs:.2} s)"
                )
            }
            Operation::RollbackDeployment { context, namespace, deployment } => {
                self.roll_back(context, namespace, deployment, secs)?
            }
            Operation::Manual { instruction } => {
                format!("manual step acknowledged: {}", instruction.lines().next().unwrap_or(""))
            }
            Operation::Assert { check } => format!("read-only: {}", check.title()),
            Operation::VerifyWrites { node, .. } => {
                format!("{node}: CREATE TEMP TABLE warroom_write_probe committed ({secs:.3} s)")
            }
            Operation::VerifyDns { weights, recheck_after_secs, .. } => {
                self.verify_dns(weights, *recheck_after_secs, secs)?
            }
        })
    }

    /// Fence a node: read-only, configuration reloaded, its clients cut (many when the Service
    /// still sends it traffic).
    fn fence(&mut self, node: &str, secs: f64) -> String {
        let i = self.db.index(node).unwrap_or(0);
        let served = self.kube.endpoints(&self.out).iter().any(|e| e == node);
        let killed = if served { self.rng.int(8, 40) } else { self.rng.int(0, 3) };
        self.db.nodes[i].read_only = true;
        format!(
            "{node}: default_transaction_read_only = on, configuration reloaded, {killed} client backends terminated ({secs:.2} s)"
        )
    }

    /// Point the database Service at `pod`; says which endpoints it has now.
    fn select_pod(&mut self, context: &str, namespace: &str, service: &str, pod: &str) -> String {
        self.kube.service.selector = BTreeMap::from([
            ("role".to_string(), "primary".to_string()),
            ("statefulset.kubernetes.io/pod-name".to_string(), pod.to_string()),
        ]);
        let eps = self.kube.endpoints(&self.out);
        format!(
            "Service {context}/{namespace}/{service} patched: selector role=primary, pod-name={pod}; endpoints: {}",
            if eps.is_empty() { "none (no ready pod matches)".into() } else { eps.join(", ") }
        )
    }

    /// One Route 53 change batch.
    fn set_weights(&mut self, weights: &[(String, u8)], secs: f64) -> String {
        self.dns_changed(self.traffic.regions.iter().map(|r| r.weight).collect());
        for (region, w) in weights {
            if let Some(r) = self.traffic.regions.iter_mut().find(|r| r.name == *region) {
                r.weight = *w;
            }
        }
        self.traffic.changes += 1;
        let set: Vec<String> = weights.iter().map(|(r, w)| format!("{r}={w}")).collect();
        format!(
            "change /change/CDRILL{:06} INSYNC after {secs:.2} s: {} UPSERT(s) {}",
            self.traffic.changes,
            weights.len(),
            set.join(", ")
        )
    }

    /// `kubectl rollout undo`: the deployment goes back to its previous revision.
    fn roll_back(
        &mut self,
        context: &str,
        namespace: &str,
        deployment: &str,
        secs: f64,
    ) -> Result<String, String> {
        let d = self
            .kube
            .deployments
            .iter_mut()
            .find(|d| d.context == context && d.namespace == namespace && d.name == deployment)
            .ok_or_else(|| format!("deployments.apps \"{deployment}\" not found"))?;
        let (from, to, hash) = d.rollback().ok_or_else(|| no_history(deployment))?;
        Ok(format!(
            "deployment {namespace}/{deployment} in {context} rolled back from revision {from} to revision {to} \
             (ReplicaSet {deployment}-{hash}): sent {{\"spec\":{{\"template\":{{\"$patch\":\"replace\",...}}}}}} ({secs:.2} s)"
        ))
    }

    /// Promote a node and label its pod primary; returns the new timeline and the fork LSN.
    fn promote_node(&mut self, node: &str) -> (u32, u64) {
        let i = self.db.index(node).unwrap_or(0);
        let promoted = self.db.promote(i, self.t);
        let region = self.db.nodes[i].spec.region;
        if let Some(p) = self.kube.pod_mut(region, node) {
            p.labels.insert("role".into(), "primary".into());
        }
        promoted
    }

    fn primary_summary(&self) -> String {
        let view = self.database_view();
        let writable = view.writable_primaries();
        let describe = |n: &crate::backends::model::PgNodeStatus| {
            format!("{} (timeline {})", n.name, n.timeline.map_or("?".into(), |t| t.to_string()))
        };
        match writable.as_slice() {
            [one] => format!("{} is the writable primary", describe(one)),
            [] => {
                let states: Vec<String> = view
                    .nodes
                    .iter()
                    .map(|n| {
                        let fenced =
                            if n.read_only && n.role.as_str() == "primary" { ", fenced" } else { "" };
                        format!("{} {}{fenced}", n.name, n.role.as_str())
                    })
                    .collect();
                format!("no writable primary: {}", states.join(", "))
            }
            many => {
                let names: Vec<String> = many.iter().map(|n| describe(n)).collect();
                format!("SPLIT BRAIN: {}", each_verb(&names, " and ", "accepts writes", "accept writes"))
            }
        }
    }

    /// Set a deployment's replicas; the change lands on the newest ReplicaSet (scale down
    /// takes from the newest first). Returns the old desired count.
    fn scale(&mut self, context: &str, namespace: &str, name: &str, replicas: u32) -> u32 {
        let Some(d) = self
            .kube
            .deployments
            .iter_mut()
            .find(|d| d.context == context && d.namespace == namespace && d.name == name)
        else {
            return 0;
        };
        let old = d.desired;
        d.desired = replicas;
        if replicas >= old {
            if let Some(newest) = d.sets.last_mut() {
                newest.replicas += replicas - old;
            }
        } else {
            let mut remove = old - replicas;
            for set in d.sets.iter_mut().rev() {
                let take = remove.min(set.replicas);
                set.replicas -= take;
                remove -= take;
            }
        }
        old
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::super::estate::PG_DATA_DIR;
    use super::*;
    use crate::backends::model::PgRole;
    use crate::backends::{Observed, Snapshot};
    use crate::operation::Verify;

    fn exec_promote(pod: &str, node: &str, data_dir: &str) -> Operation {
        Operation::ExecPromote {
            context: "us-east-1".into(),
            namespace: "database".into(),
            pod: pod.into(),
            container: None,
            data_dir: data_dir.into(),
            node: node.into(),
            max_lag_bytes: 1024 * 1024,
            accept_data_loss: None,
        }
    }

    #[test]
    fn exec_promote_behaves_like_promote_and_takes_about_pg_ctl_time() {
        let origin = Utc.with_ymd_and_hms(2026, 11, 26, 3, 0, 0).unwrap();
        let mut sim = Sim::new("calm", 7, origin, 1.0).expect("sim");
        sim.advance(Duration::from_secs(5));
        let refusals = [
            (exec_promote("postgresql-0", "postgresql-0", PG_DATA_DIR), "not in standby mode"),
            (exec_promote("postgresql-1", "postgresql-1", "/data"), "\"/data\" does not exist"),
            (exec_promote("postgresql-0", "postgresql-1", PG_DATA_DIR), "does not run postgresql-1"),
            (exec_promote("nope", "postgresql-1", PG_DATA_DIR), "pods \"nope\" not found"),
        ];
        for (op, why) in refusals {
            let err = sim.begin(&op).expect_err("refused");
            assert!(err.contains(why), "{err}");
        }
        let op = exec_promote("postgresql-1", "postgresql-1", PG_DATA_DIR);
        let took = sim.begin(&op).expect("accepted");
        assert!((0.11..=0.15).contains(&took.as_secs_f64()), "{took:?}");
        sim.advance(took);
        let summary = sim.apply(&op, took).expect("applied");
        assert!(summary.contains("`pg_ctl promote -D /var/lib/postgresql/data`"), "{summary}");
        assert!(summary.contains("server promoted"), "{summary}");
        let db = sim.database_view();
        assert_eq!(db.node("postgresql-1").map(|n| n.role), Some(PgRole::Primary));
        let obs =
            Observed { database: std::sync::Arc::new(Snapshot::fresh(db, sim.now())), ..Observed::default() };
        assert!(matches!(op.verify(&obs), Verify::Holds(_)), "{:?}", op.verify(&obs));
    }
}
