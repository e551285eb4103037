//! Building one step's [`Operation`] from its definition, the configuration and the current
//! snapshots: every target explicit, or a [`BuildError`] saying why it cannot be built. One
//! builder per layer (PostgreSQL, Kubernetes, Route 53, Sentinel, assertions); the layer
//! checks (`pg`, `kube`, `r53`) say "not applicable" when the layer is not configured.

use std::str::FromStr;

use super::{BuildError, ResolvedParam, invalid, not_applicable, sources, substitute};
use crate::backends::Observed;
use crate::backends::postgres::endpoint::endpoint_of;
use crate::config::Config;
use crate::config::model::{
    DEFAULT_FAILOVER_REPLICAS, ObjectRef, PgNodeConfig, PostgresConfig, RegionConfig, Route53Config,
};
use crate::operation::Operation;
use crate::operation::assertion::{Assertion, AssertionName};
use crate::operation::kind::OpKind;
use crate::operation::traffic::{DEFAULT_SHIFT_PERCENTS, MIN_HOLD_SECS, shift_stages};
use crate::runbook::model::StepDef;
use crate::runbook::parse::references;

type Built = Result<Operation, BuildError>;

/// Build `def` (`part`: the deployment of an expanded `scale` step).
pub(super) fn build(
    def: &StepDef,
    part: Option<&str>,
    cfg: &Config,
    obs: &Observed,
    params: &[ResolvedParam],
) -> Built {
    check_references(def, params)?;
    let b = Builder { def, cfg, obs, params };
    if let Some(p @ (super::DNS_VERIFY_PART | super::DNS_RECHECK_PART)) = part {
        // Against what Route 53 holds when it runs: right also when the change was skipped.
        let recheck = p == super::DNS_RECHECK_PART;
        return Ok(crate::runbook::operation::dns::verify_dns_op(b.r53()?, Vec::new(), recheck));
    }
    match *def.op.get_ref() {
        OpKind::CheckPrimary => b.pg().map(|_| Operation::CheckPrimary),
        OpKind::Assert => b.assert(),
        OpKind::Promote => b.promote(),
        OpKind::ExecPromote => b.exec_promote(),
        OpKind::Fence => b.fence(),
        OpKind::VerifyWrites => b.verify_writes(),
        OpKind::RepointService => b.repoint_service(),
        OpKind::LabelPod => b.label_pod(),
        OpKind::Scale => b.scale(part),
        OpKind::RollbackDeployment => b.rollback(),
        OpKind::SentinelFailover => b.sentinel_failover(),
        OpKind::SetWeights => b.set_weights(),
        OpKind::ShiftTraffic => b.shift_traffic(),
        OpKind::VerifyDns => b.verify_dns(),
        OpKind::Manual => Ok(Operation::Manual { instruction: b.arg("instruction").unwrap_or_default() }),
    }
}

/// Every `{param}` in the arguments has a value: an optional parameter left unset makes the
/// step not applicable; a reference left after substitution cannot be built.
fn check_references(def: &StepDef, params: &[ResolvedParam]) -> Result<(), BuildError> {
    for v in def.args.values() {
        let Some(s) = v.get_ref().as_str() else { continue };
        for (name, _) in references(s) {
            if let Some(p) = params.iter().find(|p| p.name == name && p.value.is_empty()) {
                return Err(not_applicable(format!("parameter {name} is {}", p.origin)));
            }
        }
        if let Some((name, _)) = references(&substitute(s, params)).first() {
            return Err(invalid(format!("parameter {name} has no value")));
        }
    }
    Ok(())
}

/// What one step is built from.
struct Builder<'a> {
    def: &'a StepDef,
    cfg: &'a Config,
    obs: &'a Observed,
    params: &'a [ResolvedParam],
}

impl<'a> Builder<'a> {
    /// Argument `key`, parameters substituted.
    fn arg(&self, key: &str) -> Option<String> {
        super::arg(self.def, key, self.params)
    }

    fn number(&self, key: &str) -> Result<Option<u64>, BuildError> {
        match self.arg(key) {
            None => Ok(None),
            Some(v) => v.parse().map(Some).map_err(|_| invalid(format!("`{key}` = {v:?} is not a number"))),
        }
    }

    fn pg(&self) -> Result<&'a PostgresConfig, BuildError> {
        self.cfg.postgres.as_ref().ok_or_else(|| not_applicable("no [postgres] section"))
    }

    /// The node named by `args.node`.
    fn pg_node(&self) -> Result<&'a PgNodeConfig, BuildError> {
        let name = self.arg("node").unwrap_or_default();
        self.pg()?
            .nodes
            .iter()
            .find(|n| n.name == name)
            .ok_or_else(|| invalid(format!("no PostgreSQL node named {name}")))
    }

    fn kube(&self) -> Result<(), BuildError> {
        if crate::backends::live::kube_configured(self.cfg) {
            Ok(())
        } else {
            Err(not_applicable("Kubernetes is not configured"))
        }
    }

    fn r53(&self) -> Result<&'a Route53Config, BuildError> {
        self.cfg.route53.as_ref().ok_or_else(|| not_applicable("no [route53] section"))
    }

    /// The region named by argument `key`.
    fn region(&self, key: &str) -> Result<&'a RegionConfig, BuildError> {
        let name = self.arg(key).unwrap_or_default();
        self.cfg
            .regions
            .iter()
            .find(|r| r.name == name)
            .ok_or_else(|| invalid(format!("no region named {name}")))
    }

    /// The kube context of region `r` (a region without one is not applicable).
    fn context_of(r: &RegionConfig) -> Result<String, BuildError> {
        r.kube_context.clone().ok_or_else(|| not_applicable(format!("region {} has no kube_context", r.name)))
    }

    /// The pod of node `n`: configured, else as observed.
    fn pod_of(&self, n: &PgNodeConfig) -> Option<String> {
        n.pod.as_ref().map(|p| p.name.clone()).or_else(|| {
            self.obs.database.value.as_ref().and_then(|d| d.node(&n.name)).and_then(|s| s.pod.clone())
        })
    }

    fn required_pod_of(&self, n: &PgNodeConfig) -> Result<String, BuildError> {
        self.pod_of(n).ok_or_else(|| invalid(format!("node {} has no pod configured or observed", n.name)))
    }

    /// The database Service (Kubernetes and `postgres.service` configured) and the pod of the
    /// node named by `args.node`: what repointing the Service and labelling the pod act on.
    fn db_service_and_pod(&self) -> Result<(&'a ObjectRef, String), BuildError> {
        self.kube()?;
        let svc = self
            .pg()?
            .service
            .as_ref()
            .ok_or_else(|| not_applicable("postgres.service is not configured"))?;
        Ok((svc, self.required_pod_of(self.pg_node()?)?))
    }

    fn assert(&self) -> Built {
        let check = self.arg("check").unwrap_or_default();
        let kind = AssertionName::from_str(&check).map_err(|_| invalid(format!("unknown check {check}")))?;
        let check = match kind {
            AssertionName::PrimaryDown => self.pg().map(|_| Assertion::PrimaryDown)?,
            AssertionName::NodeIsReplica => Assertion::NodeIsReplica { node: self.pg_node()?.name.clone() },
            AssertionName::ReplicationHealthy => {
                if self.cfg.postgres.is_none() && self.cfg.sentinel.is_none() {
                    return Err(not_applicable("neither [postgres] nor [sentinel] is configured"));
                }
                let configured = self.cfg.postgres.as_ref().map_or(0, |p| p.max_lag_bytes);
                let default = if configured > 0 { configured } else { 1 << 20 };
                Assertion::ReplicationHealthy {
                    max_lag_bytes: self.number("max_lag_bytes")?.unwrap_or(default),
                }
            }
            AssertionName::SentinelHealthy | AssertionName::SentinelAgreed => {
                self.cfg.sentinel.as_ref().ok_or_else(|| not_applicable("no [sentinel] section"))?;
                if kind == AssertionName::SentinelHealthy {
                    Assertion::SentinelHealthy
                } else {
                    Assertion::SentinelAgreed
                }
            }
            AssertionName::RegionDown => {
                Assertion::RegionDown { region: self.region("region")?.name.clone() }
            }
            AssertionName::RegionHealthy => {
                Assertion::RegionHealthy { region: self.region("region")?.name.clone() }
            }
            AssertionName::TrafficOn => {
                let region = self.region("region")?.name.clone();
                self.r53()?;
                Assertion::TrafficOn { region }
            }
        };
        Ok(Operation::Assert { check })
    }

    fn promote(&self) -> Built {
        let n = self.pg_node()?;
        Ok(Operation::PromotePostgres {
            node: n.name.clone(),
            endpoint: endpoint_of(Some(n)),
            max_lag_bytes: self.pg()?.max_lag_bytes,
            accept_data_loss: None,
        })
    }

    fn exec_promote(&self) -> Built {
        self.kube()?;
        let n = self.pg_node()?;
        let (Some(pod), Some(data_dir)) = (&n.pod, &n.data_dir) else {
            return Err(not_applicable(format!("node {} has no pod and data_dir configured", n.name)));
        };
        Ok(Operation::ExecPromote {
            context: pod.context.clone(),
            namespace: pod.namespace.clone(),
            pod: pod.name.clone(),
            container: None,
            data_dir: data_dir.clone(),
            node: n.name.clone(),
            max_lag_bytes: self.pg()?.max_lag_bytes,
            accept_data_loss: None,
        })
    }

    fn fence(&self) -> Built {
        let n = self.pg_node()?;
        Ok(Operation::FencePostgres { node: n.name.clone(), endpoint: endpoint_of(Some(n)) })
    }

    fn verify_writes(&self) -> Built {
        let pg = self.pg()?;
        let n = self.pg_node()?;
        // A Service can only route to a pod in its own cluster: a node elsewhere is probed
        // directly.
        let same_cluster =
            pg.service.as_ref().is_some_and(|s| n.pod.as_ref().is_none_or(|p| p.context == s.context));
        let through_service =
            pg.service.is_some() && same_cluster && crate::backends::live::kube_configured(self.cfg);
        Ok(Operation::VerifyWrites {
            node: n.name.clone(),
            endpoint: endpoint_of(Some(n)),
            service: through_service.then(|| pg.service.as_ref().map(|s| s.name.clone())).flatten(),
            pod: if through_service { self.pod_of(n) } else { None },
        })
    }

    fn repoint_service(&self) -> Built {
        let (svc, pod) = self.db_service_and_pod()?;
        Ok(Operation::PatchServiceSelector {
            context: svc.context.clone(),
            namespace: svc.namespace.clone(),
            service: svc.name.clone(),
            pod,
        })
    }

    fn label_pod(&self) -> Built {
        let (svc, pod) = self.db_service_and_pod()?;
        let label = self.arg("label").unwrap_or_else(|| "role=primary".into());
        let (key, value) = label
            .split_once('=')
            .filter(|(k, _)| !k.is_empty())
            .ok_or_else(|| invalid(format!("label {label:?} is not key=value")))?;
        Ok(Operation::LabelPod {
            context: svc.context.clone(),
            namespace: svc.namespace.clone(),
            pod,
            key: key.to_string(),
            value: value.to_string(),
        })
    }

    fn scale(&self, part: Option<&str>) -> Built {
        self.kube()?;
        let r = self.region("region")?;
        let context = Self::context_of(r)?;
        let deployment =
            part.ok_or_else(|| invalid(format!("region {} lists no deployments to scale", r.name)))?;
        Ok(Operation::ScaleDeployment {
            context,
            namespace: r.namespace.clone().unwrap_or_else(|| "default".into()),
            deployment: deployment.to_string(),
            replicas: self
                .number("replicas")?
                .map(|n| n.min(u64::from(u32::MAX)) as u32)
                .or(r.failover_replicas)
                .unwrap_or(DEFAULT_FAILOVER_REPLICAS),
        })
    }

    fn rollback(&self) -> Built {
        self.kube()?;
        let deployment = self.arg("deployment").unwrap_or_default();
        let r = match self.arg("region") {
            Some(_) => self.region("region")?,
            None => sources::failing_region(self.cfg, self.obs, &deployment)
                .or_else(|| self.cfg.primary_region())
                .ok_or_else(|| not_applicable("no regions configured"))?,
        };
        Ok(Operation::RollbackDeployment {
            context: Self::context_of(r)?,
            namespace: r.namespace.clone().unwrap_or_else(|| "default".into()),
            deployment,
        })
    }

    fn sentinel_failover(&self) -> Built {
        let s = self.cfg.sentinel.as_ref().ok_or_else(|| not_applicable("no [sentinel] section"))?;
        let sentinel = answering_sentinel(&s.addrs, self.obs)
            .ok_or_else(|| invalid("no Sentinel address configured"))?;
        Ok(Operation::SentinelFailover {
            master: s.master.clone(),
            sentinel,
            from_master: self.obs.sentinel.value.as_ref().and_then(|v| v.agreed_master()).map(str::to_string),
        })
    }

    fn set_weights(&self) -> Built {
        let r = self.r53()?;
        let target = self.region("target")?.name.clone();
        Ok(Operation::SetRoute53Weights {
            zone: r.hosted_zone_id.clone(),
            record: r.record.clone(),
            endpoint: crate::backends::route53::endpoint_label(r),
            weights: self
                .cfg
                .regions
                .iter()
                .map(|x| (x.name.clone(), if x.name == target { 100 } else { 0 }))
                .collect(),
        })
    }

    /// `verify-dns` named in a runbook: against the weights Route 53 holds when it runs.
    fn verify_dns(&self) -> Built {
        let recheck = self.number("recheck_after_secs")?;
        let mut op =
            crate::runbook::operation::dns::verify_dns_op(self.r53()?, Vec::new(), recheck.is_some());
        if let (Operation::VerifyDns { recheck_after_secs, .. }, Some(secs)) = (&mut op, recheck) {
            *recheck_after_secs = secs.max(1);
        }
        Ok(op)
    }

    fn shift_traffic(&self) -> Built {
        let r = self.r53()?;
        let target = self.region("target")?.name.clone();
        let t = self.obs.traffic.value.as_ref();
        let current: Vec<(String, u8)> = self
            .cfg
            .regions
            .iter()
            .map(|x| (x.name.clone(), t.and_then(|t| t.region(&x.name)).and_then(|y| y.weight).unwrap_or(0)))
            .collect();
        let percents: Vec<u8> = match self.def.args.get("percents").map(|v| v.get_ref()) {
            Some(toml::Value::Array(items)) => {
                items.iter().filter_map(|v| v.as_integer()).map(|p| p.clamp(1, 100) as u8).collect()
            }
            _ => DEFAULT_SHIFT_PERCENTS.to_vec(),
        };
        let hold_secs = self
            .number("hold_secs")?
            .unwrap_or_else(|| MIN_HOLD_SECS.max(t.and_then(|t| t.ttl).map_or(0, u64::from)));
        Ok(Operation::ShiftTraffic {
            zone: r.hosted_zone_id.clone(),
            record: r.record.clone(),
            endpoint: crate::backends::route53::endpoint_label(r),
            stages: shift_stages(&current, &target, &percents),
            target,
            hold_secs,
        })
    }
}

/// The first configured Sentinel the pane shows answering (else the first configured).
fn answering_sentinel(addrs: &[String], obs: &Observed) -> Option<String> {
    let view = obs.sentinel.value.as_ref();
    addrs
        .iter()
        .find(|a| view.is_some_and(|v| v.sentinels.iter().any(|x| x.addr == **a && x.error.is_none())))
        .or(addrs.first())
        .cloned()
}
