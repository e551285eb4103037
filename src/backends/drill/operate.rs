//! Operations against the simulated estate: validated like the real systems would (refusals
//! carry the real error's wording), then applied so the observe side shows the change.
//!
//! [`Sim::begin`] checks an operation and says how long it plausibly takes; the caller waits
//! that long (speed-scaled) and then calls [`Sim::apply`], which checks again (the estate may
//! have moved meanwhile) and mutates.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::database::lsn_text;
use super::estate::{MASTER_NAME, MAX_REPLICAS, PG_DATA_DIR, RECORD, REGIONS, ROUTE53_ENDPOINT, ZONE};

/// The container of the drill's database pods.
const CONTAINER: &str = "postgres";
use super::kube::Reach;
use super::sim::Sim;
use crate::operation::Operation;

impl Sim {
    /// Validate `op` and return how long it plausibly takes, in sim time.
    pub fn begin(&mut self, op: &Operation) -> Result<Duration, String> {
        self.check(op)?;
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
        };
        Ok(Duration::from_secs_f64(secs))
    }

    /// Carry out `op`, which took `took`; returns a one-line summary of what was done.
    pub fn apply(&mut self, op: &Operation, took: Duration) -> Result<String, String> {
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
            Operation::FencePostgres { node, .. } => {
                let i = self.db.index(node).unwrap_or(0);
                let served = self.kube.endpoints(&self.out).iter().any(|e| e == node);
                let killed = if served { self.rng.int(8, 40) } else { self.rng.int(0, 3) };
                self.db.nodes[i].read_only = true;
                format!(
                    "{node}: default_transaction_read_only = on, configuration reloaded, {killed} client backends terminated ({secs:.2} s)"
                )
            }
            Operation::PatchServiceSelector { context, namespace, service, pod } => {
                self.kube.service.selector = BTreeMap::from([
                    ("role".to_string(), "primary".to_string()),
                    ("statefulset.kubernetes.io/pod-name".to_string(), pod.clone()),
                ]);
                let eps = self.kube.endpoints(&self.out);
                format!(
                    "Service {context}/{namespace}/{service} patched: selector role=primary, pod-name={pod}; endpoints: {}",
                    if eps.is_empty() { "none (no ready pod matches)".into() } else { eps.join(", ") }
                )
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
            Operation::SetRoute53Weights { weights, .. } => {
                for (region, w) in weights {
                    if let Some(r) = self.traffic.regions.iter_mut().find(|r| r.name == region) {
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
                let d = self
                    .kube
                    .deployments
                    .iter_mut()
                    .find(|d| d.context == *context && d.namespace == *namespace && d.name == *deployment)
                    .ok_or_else(|| format!("deployments.apps \"{deployment}\" not found"))?;
                let (from, to, hash) = d.rollback().ok_or_else(|| no_history(deployment))?;
                format!(
                    "deployment {namespace}/{deployment} in {context} rolled back from revision {from} to revision {to} \
                     (ReplicaSet {deployment}-{hash}): sent {{\"spec\":{{\"template\":{{\"$patch\":\"replace\",...}}}}}} ({secs:.2} s)"
                )
            }
            Operation::Manual { instruction } => {
                format!("manual step acknowledged: {}", instruction.lines().next().unwrap_or(""))
            }
            Operation::Assert { check } => format!("read-only: {}", check.title()),
            Operation::VerifyWrites { node, .. } => {
                format!("{node}: CREATE TEMP TABLE warroom_write_probe committed ({secs:.3} s)")
            }
        })
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
                format!("SPLIT BRAIN: {} all accept writes", names.join(" and "))
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

    fn check(&self, op: &Operation) -> Result<(), String> {
        match op {
            Operation::CheckPrimary | Operation::Manual { .. } | Operation::Assert { .. } => Ok(()),
            Operation::VerifyWrites { node, endpoint, .. } => {
                let i = self.pg_target(node, endpoint)?;
                let n = &self.db.nodes[i];
                if !n.primary || n.read_only {
                    return Err(format!(
                        "ERROR: cannot execute CREATE TABLE in a read-only transaction (on {node})"
                    ));
                }
                Ok(())
            }
            Operation::PromotePostgres { node, endpoint, max_lag_bytes, accept_data_loss } => {
                let i = self.pg_target(node, endpoint)?;
                let n = &self.db.nodes[i];
                if n.primary {
                    return Err(format!(
                        "ERROR: recovery is not in progress: {node} is already a primary (timeline {})",
                        n.timeline
                    ));
                }
                let lag = self.database_view().node(node).and_then(|v| v.replay_lag_bytes).unwrap_or(0);
                let limit = accept_data_loss.map_or(*max_lag_bytes, |o| o.max(*max_lag_bytes));
                if lag > limit {
                    return Err(format!(
                        "refusing to promote {node}: replay lag {lag} B exceeds the limit of {limit} B"
                    ));
                }
                Ok(())
            }
            Operation::ExecPromote {
                context,
                namespace,
                pod,
                container,
                data_dir,
                node,
                max_lag_bytes,
                accept_data_loss,
            } => {
                self.exec_target(context, namespace, pod, container.as_deref(), node)?;
                if data_dir != PG_DATA_DIR {
                    return Err(format!(
                        "command terminated with exit code 1: pg_ctl: directory \"{data_dir}\" does not exist"
                    ));
                }
                let endpoint = self.db.nodes[self.db.index(node).unwrap_or(0)].spec.addr();
                self.check(&Operation::PromotePostgres {
                    node: node.clone(),
                    endpoint,
                    max_lag_bytes: *max_lag_bytes,
                    accept_data_loss: *accept_data_loss,
                })
                .map_err(|e| match e.strip_prefix("ERROR: recovery is not in progress: ") {
                    Some(rest) => format!(
                        "command terminated with exit code 1: pg_ctl: cannot promote server; server is not in standby mode ({rest})"
                    ),
                    None => e,
                })
            }
            Operation::FencePostgres { node, endpoint } => self.pg_target(node, endpoint).map(|_| ()),
            Operation::PatchServiceSelector { context, namespace, service, pod } => {
                self.namespace_exists(context, namespace)?;
                let s = &self.kube.service;
                if !(s.context == *context && s.namespace == *namespace && s.name == *service) {
                    return Err(format!(
                        "services \"{service}\" not found in context {context}, namespace {namespace}"
                    ));
                }
                self.pod_exists(context, namespace, pod)
            }
            Operation::LabelPod { context, namespace, pod, .. } => {
                self.namespace_exists(context, namespace)?;
                self.pod_exists(context, namespace, pod)
            }
            Operation::SentinelFailover { master, sentinel, .. } => {
                let known: Vec<String> = self.redis.sentinels.iter().map(|s| s.spec.addr()).collect();
                let Some(s) = self.redis.sentinel_index(sentinel) else {
                    return Err(format!("no Sentinel at {sentinel} (known: {})", known.join(", ")));
                };
                if !self.redis.sentinel_up(s, &self.out) {
                    return Err(format!("connect to Sentinel {sentinel}: connection timed out"));
                }
                if master != MASTER_NAME {
                    return Err(format!(
                        "ERR No such master with that name ({master:?}; monitored: {MASTER_NAME})"
                    ));
                }
                if self.redis.failover.is_some() {
                    return Err("INPROG: failover already in progress".into());
                }
                let up: Vec<bool> =
                    (0..self.redis.nodes.len()).map(|i| self.redis.up(i, &self.kube, &self.out)).collect();
                if self.redis.candidate(self.redis.sentinels[s].master, &up).is_none() {
                    return Err("NOGOODSLAVE No suitable replica to promote".into());
                }
                Ok(())
            }
            Operation::SetRoute53Weights { zone, record, endpoint, weights } => {
                if endpoint != ROUTE53_ENDPOINT {
                    return Err(format!(
                        "could not reach Route 53 endpoint {endpoint}: the drill's Route 53 is {ROUTE53_ENDPOINT}"
                    ));
                }
                if zone != ZONE {
                    return Err(format!("NoSuchHostedZone: No hosted zone found with ID: {zone}"));
                }
                if record != RECORD {
                    return Err(format!(
                        "InvalidChangeBatch: no weighted record set named {record} in zone {zone}"
                    ));
                }
                if weights.is_empty() {
                    return Err("InvalidChangeBatch: the change batch is empty".into());
                }
                let mut seen = BTreeSet::new();
                for (region, _) in weights {
                    if !self.traffic.regions.iter().any(|r| r.name == region) {
                        return Err(format!(
                            "InvalidChangeBatch: no record set {record} with SetIdentifier {region:?}"
                        ));
                    }
                    if !seen.insert(region) {
                        return Err(format!(
                            "InvalidChangeBatch: duplicate SetIdentifier {region:?} in one batch"
                        ));
                    }
                }
                Ok(())
            }
            Operation::ShiftTraffic { zone, record, endpoint, target, stages, .. } => {
                if stages.is_empty() {
                    return Err("InvalidChangeBatch: the shift has no stages".into());
                }
                if !self.traffic.regions.iter().any(|r| r.name == target) {
                    return Err(format!(
                        "InvalidChangeBatch: no record set {record} with SetIdentifier {target:?}"
                    ));
                }
                for weights in stages {
                    self.check(&Operation::SetRoute53Weights {
                        zone: zone.clone(),
                        record: record.clone(),
                        endpoint: endpoint.clone(),
                        weights: weights.clone(),
                    })?;
                }
                Ok(())
            }
            Operation::RollbackDeployment { context, namespace, deployment } => {
                self.rollback_target(context, namespace, deployment)
            }
            Operation::ScaleDeployment { context, namespace, deployment, replicas } => {
                self.namespace_exists(context, namespace)?;
                if !self
                    .kube
                    .deployments
                    .iter()
                    .any(|d| d.context == *context && d.namespace == *namespace && d.name == *deployment)
                {
                    return Err(format!(
                        "deployments.apps \"{deployment}\" not found in context {context}, namespace {namespace}"
                    ));
                }
                if *replicas > MAX_REPLICAS {
                    return Err(format!(
                        "refusing {replicas} replicas: the drill allows at most {MAX_REPLICAS}"
                    ));
                }
                Ok(())
            }
        }
    }

    /// A rollback needs the deployment and a revision before its current one.
    fn rollback_target(&self, context: &str, namespace: &str, deployment: &str) -> Result<(), String> {
        self.namespace_exists(context, namespace)?;
        let d = self
            .kube
            .deployments
            .iter()
            .find(|d| d.context == context && d.namespace == namespace && d.name == deployment)
            .ok_or_else(|| {
                format!(
                    "deployments.apps \"{deployment}\" not found in context {context}, namespace {namespace}"
                )
            })?;
        if !d.sets.iter().any(|s| s.revision < d.revision()) {
            return Err(no_history(deployment));
        }
        if self.out.contains(context) {
            return Err(format!(
                "patch deployment {namespace}/{deployment}: API server of {context} did not answer: i/o timeout"
            ));
        }
        Ok(())
    }

    fn pod_exists(&self, context: &str, namespace: &str, pod: &str) -> Result<(), String> {
        if self.kube.pod(context, pod).is_none_or(|p| p.namespace != namespace) {
            return Err(format!("pods \"{pod}\" not found in context {context}, namespace {namespace}"));
        }
        Ok(())
    }

    fn namespace_exists(&self, context: &str, namespace: &str) -> Result<(), String> {
        if !self.has_context(context) {
            let known: Vec<&str> = REGIONS.iter().map(|(r, _)| *r).collect();
            return Err(format!("context {context:?} not found in kubeconfig (known: {})", known.join(", ")));
        }
        if !self.kube.has_namespace(context, namespace) {
            return Err(format!("namespaces \"{namespace}\" not found in context {context}"));
        }
        Ok(())
    }

    /// Check an exec into a node's pod would reach it: context, namespace and pod exist, the pod
    /// runs that node, its API server answers and the container is running.
    fn exec_target(
        &self,
        context: &str,
        namespace: &str,
        pod: &str,
        container: Option<&str>,
        node: &str,
    ) -> Result<(), String> {
        self.namespace_exists(context, namespace)?;
        if self.kube.pod(context, pod).is_none_or(|p| p.namespace != *namespace) {
            return Err(format!("pods \"{pod}\" not found in context {context}, namespace {namespace}"));
        }
        let Some(i) = self.db.index(node) else {
            let known: Vec<&str> = self.db.nodes.iter().map(|n| n.spec.name).collect();
            return Err(format!("no PostgreSQL node named {node:?} (known: {})", known.join(", ")));
        };
        let spec = &self.db.nodes[i].spec;
        if spec.name != pod || spec.region != context {
            return Err(format!(
                "pod {context}/{namespace}/{pod} does not run {node} (it runs in {}/{namespace}/{}): refusing to act on it",
                spec.region, spec.name
            ));
        }
        if let Some(c) = container.filter(|c| *c != CONTAINER) {
            return Err(format!("container {c} is not valid for pod {pod}"));
        }
        match self.kube.reach(context, pod, &self.out) {
            Reach::Up => Ok(()),
            Reach::Timeout => {
                Err(format!("exec in pod {pod}: API server of {context} did not answer: i/o timeout"))
            }
            Reach::Starting | Reach::Refused => Err(format!(
                "unable to upgrade connection: container not found (\"{CONTAINER}\") in pod {pod}"
            )),
        }
    }

    /// Resolve a PostgreSQL node, check the endpoint is its address and that it answers.
    fn pg_target(&self, node: &str, endpoint: &str) -> Result<usize, String> {
        let Some(i) = self.db.index(node) else {
            let known: Vec<&str> = self.db.nodes.iter().map(|n| n.spec.name).collect();
            return Err(format!("no PostgreSQL node named {node:?} (known: {})", known.join(", ")));
        };
        let addr = self.db.nodes[i].spec.addr();
        if endpoint != addr && endpoint != self.db.nodes[i].spec.host {
            return Err(format!(
                "endpoint {endpoint} is not {node}'s address ({addr}): refusing to act on it"
            ));
        }
        match self.db.reach(i, &self.kube, &self.out) {
            Reach::Up => Ok(i),
            Reach::Starting => Err(format!("{node} at {addr}: FATAL: the database system is starting up")),
            Reach::Refused => Err(format!("connection to {node} at {addr} failed: Connection refused")),
            Reach::Timeout => Err(format!("connection to {node} at {addr} failed: timeout expired")),
        }
    }
}

/// `kubectl rollout undo`'s refusal when there is no earlier revision.
fn no_history(deployment: &str) -> String {
    format!("error: no rollout history found for deployment \"{deployment}\"")
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

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
