//! Whether the simulated estate accepts an operation, refused with the real system's wording:
//! [`Sim::check`] picks the check of each operation; the targets (a PostgreSQL node, a pod to
//! exec into, a namespace, a deployment to roll back) are resolved by the helpers below it.

use std::collections::BTreeSet;

use super::CONTAINER;
use crate::backends::drill::estate::{
    MASTER_NAME, MAX_REPLICAS, PG_DATA_DIR, RECORD, REGIONS, ROUTE53_ENDPOINT, ZONE,
};
use crate::backends::drill::kube::Reach;
use crate::backends::drill::sim::Sim;
use crate::operation::Operation;

impl Sim {
    /// `Ok` when `op` would be accepted now; else the refusal the real system would give.
    pub(super) fn check(&self, op: &Operation) -> Result<(), String> {
        match op {
            Operation::CheckPrimary | Operation::Manual { .. } | Operation::Assert { .. } => Ok(()),
            Operation::VerifyDns { zone, record, .. } => self.check_dns_target(zone, record),
            Operation::VerifyWrites { node, endpoint, .. } => self.check_writable(node, endpoint),
            Operation::PromotePostgres { node, endpoint, max_lag_bytes, accept_data_loss } => {
                self.check_promote(node, endpoint, *max_lag_bytes, *accept_data_loss)
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
                self.check_pg_ctl_promote(data_dir, node, *max_lag_bytes, *accept_data_loss)
            }
            Operation::FencePostgres { node, endpoint } => self.pg_target(node, endpoint).map(|_| ()),
            Operation::PatchServiceSelector { context, namespace, service, pod } => {
                self.check_service(context, namespace, service)?;
                self.pod_exists(context, namespace, pod)
            }
            Operation::LabelPod { context, namespace, pod, .. } => {
                self.namespace_exists(context, namespace)?;
                self.pod_exists(context, namespace, pod)
            }
            Operation::SentinelFailover { master, sentinel, .. } => {
                self.check_sentinel_failover(master, sentinel)
            }
            Operation::SetRoute53Weights { zone, record, endpoint, weights } => {
                self.check_set_weights(zone, record, endpoint, weights)
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
                stages.iter().try_for_each(|weights| self.check_set_weights(zone, record, endpoint, weights))
            }
            Operation::RollbackDeployment { context, namespace, deployment } => {
                self.rollback_target(context, namespace, deployment)
            }
            Operation::ScaleDeployment { context, namespace, deployment, replicas } => {
                self.check_scale(context, namespace, deployment, *replicas)
            }
        }
    }

    /// A write probe needs a writable primary.
    fn check_writable(&self, node: &str, endpoint: &str) -> Result<(), String> {
        let i = self.pg_target(node, endpoint)?;
        let n = &self.db.nodes[i];
        if !n.primary || n.read_only {
            return Err(format!("ERROR: cannot execute CREATE TABLE in a read-only transaction (on {node})"));
        }
        Ok(())
    }

    /// `pg_promote()` needs a standby whose replay lag is within the limit (raised to the data
    /// loss an override accepted).
    fn check_promote(
        &self,
        node: &str,
        endpoint: &str,
        max_lag_bytes: u64,
        accept_data_loss: Option<u64>,
    ) -> Result<(), String> {
        let i = self.pg_target(node, endpoint)?;
        let n = &self.db.nodes[i];
        if n.primary {
            return Err(format!(
                "ERROR: recovery is not in progress: {node} is already a primary (timeline {})",
                n.timeline
            ));
        }
        let lag = self.database_view().node(node).and_then(|v| v.replay_lag_bytes).unwrap_or(0);
        let limit = accept_data_loss.map_or(max_lag_bytes, |o| o.max(max_lag_bytes));
        if lag > limit {
            return Err(format!(
                "refusing to promote {node}: replay lag {lag} B exceeds the limit of {limit} B"
            ));
        }
        Ok(())
    }

    /// `pg_ctl promote` in the pod: the data directory must be the node's, then as `pg_promote()`
    /// with `pg_ctl`'s wording for a server that is not a standby.
    fn check_pg_ctl_promote(
        &self,
        data_dir: &str,
        node: &str,
        max_lag_bytes: u64,
        accept_data_loss: Option<u64>,
    ) -> Result<(), String> {
        if data_dir != PG_DATA_DIR {
            return Err(format!(
                "command terminated with exit code 1: pg_ctl: directory \"{data_dir}\" does not exist"
            ));
        }
        let endpoint = self.db.nodes[self.db.index(node).unwrap_or(0)].spec.addr();
        self.check_promote(node, &endpoint, max_lag_bytes, accept_data_loss).map_err(|e| {
            match e.strip_prefix("ERROR: recovery is not in progress: ") {
                Some(rest) => format!(
                    "command terminated with exit code 1: pg_ctl: cannot promote server; server is not in standby mode ({rest})"
                ),
                None => e,
            }
        })
    }

    /// The database Service must be the one named.
    fn check_service(&self, context: &str, namespace: &str, service: &str) -> Result<(), String> {
        self.namespace_exists(context, namespace)?;
        let s = &self.kube.service;
        if !(s.context == context && s.namespace == namespace && s.name == service) {
            return Err(format!(
                "services \"{service}\" not found in context {context}, namespace {namespace}"
            ));
        }
        Ok(())
    }

    /// `SENTINEL FAILOVER`: a reachable Sentinel, the monitored master, no failover under way and
    /// a replica good enough to promote.
    fn check_sentinel_failover(&self, master: &str, sentinel: &str) -> Result<(), String> {
        let known: Vec<String> = self.redis.sentinels.iter().map(|s| s.spec.addr()).collect();
        let Some(s) = self.redis.sentinel_index(sentinel) else {
            return Err(format!("no Sentinel at {sentinel} (known: {})", known.join(", ")));
        };
        if !self.redis.sentinel_up(s, &self.out) {
            return Err(format!("connect to Sentinel {sentinel}: connection timed out"));
        }
        if master != MASTER_NAME {
            return Err(format!("ERR No such master with that name ({master:?}; monitored: {MASTER_NAME})"));
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

    /// One Route 53 change batch: the drill's endpoint, zone and record, each known region once.
    /// `verify-dns` asks about the drill's zone and record.
    fn check_dns_target(&self, zone: &str, record: &str) -> Result<(), String> {
        if zone != ZONE {
            return Err(format!("NoSuchHostedZone: No hosted zone found with ID: {zone}"));
        }
        if record != RECORD {
            return Err(format!(
                "no record {record} in zone {zone}: the drill's name servers answer {RECORD}"
            ));
        }
        Ok(())
    }

    fn check_set_weights(
        &self,
        zone: &str,
        record: &str,
        endpoint: &str,
        weights: &[(String, u8)],
    ) -> Result<(), String> {
        if endpoint != ROUTE53_ENDPOINT {
            return Err(format!(
                "could not reach Route 53 endpoint {endpoint}: the drill's Route 53 is {ROUTE53_ENDPOINT}"
            ));
        }
        if zone != ZONE {
            return Err(format!("NoSuchHostedZone: No hosted zone found with ID: {zone}"));
        }
        if record != RECORD {
            return Err(format!("InvalidChangeBatch: no weighted record set named {record} in zone {zone}"));
        }
        if weights.is_empty() {
            return Err("InvalidChangeBatch: the change batch is empty".into());
        }
        let mut seen = BTreeSet::new();
        for (region, _) in weights {
            if !self.traffic.regions.iter().any(|r| r.name == *region) {
                return Err(format!(
                    "InvalidChangeBatch: no record set {record} with SetIdentifier {region:?}"
                ));
            }
            if !seen.insert(region) {
                return Err(format!("InvalidChangeBatch: duplicate SetIdentifier {region:?} in one batch"));
            }
        }
        Ok(())
    }

    /// Scaling needs the deployment and at most the drill's replica limit.
    fn check_scale(
        &self,
        context: &str,
        namespace: &str,
        deployment: &str,
        replicas: u32,
    ) -> Result<(), String> {
        self.namespace_exists(context, namespace)?;
        if !self
            .kube
            .deployments
            .iter()
            .any(|d| d.context == context && d.namespace == namespace && d.name == deployment)
        {
            return Err(format!(
                "deployments.apps \"{deployment}\" not found in context {context}, namespace {namespace}"
            ));
        }
        if replicas > MAX_REPLICAS {
            return Err(format!("refusing {replicas} replicas: the drill allows at most {MAX_REPLICAS}"));
        }
        Ok(())
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
pub(super) fn no_history(deployment: &str) -> String {
    format!("error: no rollout history found for deployment \"{deployment}\"")
}
