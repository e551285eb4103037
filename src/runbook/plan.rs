//! From a [`Runbook`] to concrete steps: parameters resolved (state-derived defaults, `--param`
//! overrides), each step's operation built from the configuration with its explicit targets, gates
//! evaluated on the current snapshots, and steps whose layer is not configured marked not
//! applicable with the reason.

use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub(in crate::runbook) mod sources;

use super::assertion::{Assertion, AssertionName};
use super::gate::Gate;
use super::model::{OpKind, ParamKind, ParamSource, Runbook, StepDef};
use super::operation::{Operation, Risk};
use super::parse::references;
use super::traffic::{DEFAULT_SHIFT_PERCENTS, MIN_HOLD_SECS, shift_stages};
use crate::backends::Observed;
use crate::backends::model::PgRole;
use crate::backends::postgres::endpoint::endpoint_of;
use crate::config::Config;
use crate::config::model::DEFAULT_FAILOVER_REPLICAS;

/// A parameter's value and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolvedParam {
    /// Name.
    pub name: String,
    /// Value.
    pub value: String,
    /// "--param", "default", or the state it was derived from.
    pub origin: String,
}

/// One concrete step of a runbook run (a `scale` step expands to one per deployment).
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedStep {
    /// `step id` (or `step id/deployment`).
    pub key: String,
    /// Index of the definition in the runbook.
    pub def: usize,
    /// The deployment of an expanded `scale` step.
    pub part: Option<String>,
    /// Title shown in the Steps pane.
    pub title: String,
    /// Why, from the plan (parameters substituted).
    pub why: String,
    /// The gate, parameters substituted.
    pub gate: Option<Gate>,
    /// Risk raised by the runbook.
    pub risk: Option<Risk>,
    /// Execution timeout.
    pub timeout_secs: Option<u64>,
    /// The operation as built now, or why it cannot be.
    pub op: Result<Operation, BuildError>,
}

/// Why a step's operation cannot be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildError {
    /// The step does not apply to this estate: the layer it acts on is not configured (no
    /// `[postgres]`, Kubernetes, a region without `kube_context`, ...) or an optional parameter
    /// it uses is unset. The reason, without any prefix.
    NotApplicable(String),
    /// The step cannot be built as written: a parameter without a value, a name that is not
    /// configured, a malformed argument. The reason, without any prefix.
    Invalid(String),
}

impl BuildError {
    /// The reason alone.
    pub fn reason(&self) -> &str {
        match self {
            BuildError::NotApplicable(r) | BuildError::Invalid(r) => r,
        }
    }
}

impl std::fmt::Display for BuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BuildError::NotApplicable(r) => write!(f, "not applicable: {r}"),
            BuildError::Invalid(r) => write!(f, "cannot be built: {r}"),
        }
    }
}

fn not_applicable(reason: impl Into<String>) -> BuildError {
    BuildError::NotApplicable(reason.into())
}

fn invalid(reason: impl Into<String>) -> BuildError {
    BuildError::Invalid(reason.into())
}

/// Resolve every parameter: `overrides` first, then literal defaults, then state-derived ones.
/// Values of kind node/region must name something configured. Errors list every problem.
pub fn resolve_params(
    rb: &Runbook,
    cfg: &Config,
    obs: &Observed,
    overrides: &[(String, String)],
) -> Result<Vec<ResolvedParam>, String> {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for (name, _) in overrides {
        if rb.param(name).is_none() {
            let declared: Vec<&str> = rb.params.iter().map(|p| p.name.get_ref().as_str()).collect();
            problems.push(format!(
                "--param {name}: {} has no such parameter (it has: {})",
                rb.id(),
                if declared.is_empty() { "none".into() } else { declared.join(", ") }
            ));
        }
    }
    for p in &rb.params {
        let name = p.name.get_ref().clone();
        let given = overrides.iter().rev().find(|(n, _)| *n == name).map(|(_, v)| v.clone());
        let resolved = match (given, &p.default, &p.from) {
            (Some(v), _, _) => Ok((v, "--param".to_string())),
            (None, Some(d), _) => Ok((d.get_ref().clone(), "default".to_string())),
            (None, None, Some(src)) => derive(*src.get_ref(), cfg, obs),
            (None, None, None) => Err(format!("no value: give --param {name}=...")),
        };
        match resolved
            .and_then(|(value, origin)| validate_value(p.kind, &value, cfg).map(|()| (value, origin)))
        {
            Ok((value, origin)) => out.push(ResolvedParam { name, value, origin }),
            Err(why) if p.optional => {
                out.push(ResolvedParam { name, value: String::new(), origin: format!("unset: {why}") })
            }
            Err(why) => problems.push(format!("parameter {name}: {why}")),
        }
    }
    if problems.is_empty() { Ok(out) } else { Err(problems.join("; ")) }
}

fn validate_value(kind: ParamKind, value: &str, cfg: &Config) -> Result<(), String> {
    match kind {
        ParamKind::Node => {
            let nodes: Vec<&str> =
                cfg.postgres.iter().flat_map(|p| p.nodes.iter().map(|n| n.name.as_str())).collect();
            if nodes.contains(&value) || nodes.is_empty() {
                Ok(())
            } else {
                Err(format!(
                    "{value:?} is not a configured PostgreSQL node (configured: {})",
                    nodes.join(", ")
                ))
            }
        }
        ParamKind::Region => {
            let regions: Vec<&str> = cfg.regions.iter().map(|r| r.name.as_str()).collect();
            if regions.contains(&value) || regions.is_empty() {
                Ok(())
            } else {
                Err(format!("{value:?} is not a configured region (configured: {})", regions.join(", ")))
            }
        }
        ParamKind::Number => {
            value.parse::<u64>().map(|_| ()).map_err(|_| format!("{value:?} is not a number"))
        }
        ParamKind::Text => Ok(()),
    }
}

fn derive(src: ParamSource, cfg: &Config, obs: &Observed) -> Result<(String, String), String> {
    let db = obs.database.value.as_ref();
    let origin = |what: &str| format!("{}: {what}", src.as_str());
    match src {
        ParamSource::HealthiestReplica => {
            let db = db.ok_or("no database data yet")?;
            db.best_replica()
                .map(|(n, why)| (n.name.clone(), origin(&why)))
                .ok_or_else(|| "no reachable replica to promote".into())
        }
        ParamSource::CurrentPrimary => {
            let db = db.ok_or("no database data yet")?;
            db.primary()
                .map(|n| (n.name.clone(), origin("the writable primary")))
                .ok_or_else(|| "no single writable primary".into())
        }
        ParamSource::FailedPrimary => {
            let db = db.ok_or("no database data yet")?;
            if let Some(n) = db.nodes.iter().find(|n| n.role == PgRole::Down) {
                return Ok((n.name.clone(), origin("the node that is down")));
            }
            if let Some(n) = db.nodes.iter().find(|n| n.role == PgRole::Primary && n.read_only) {
                return Ok((n.name.clone(), origin("the fenced (read-only) primary")));
            }
            if let Some(n) = db.writable_primaries().into_iter().min_by_key(|n| n.timeline.unwrap_or(0)) {
                return Ok((n.name.clone(), origin("the primary on the oldest timeline")));
            }
            Err("no node is down and no primary is known".into())
        }
        ParamSource::PrimaryRegion => cfg
            .primary_region()
            .map(|r| (r.name.clone(), origin("role = primary")))
            .ok_or_else(|| "no regions configured".into()),
        ParamSource::SecondaryRegion => cfg
            .secondary_region()
            .map(|r| (r.name.clone(), origin("role = secondary")))
            .ok_or_else(|| "fewer than two regions configured".into()),
        ParamSource::UnroutedPrimary => sources::unrouted_primary(obs).map(|(n, why)| (n, origin(&why))),
        ParamSource::FailingDeployment => sources::failing_deployment(obs).map(|(d, why)| (d, origin(&why))),
        ParamSource::TrafficRegion => {
            let t = obs.traffic.value.as_ref().ok_or("no traffic data yet")?;
            t.regions
                .iter()
                .filter(|r| r.weight.unwrap_or(0) > 0)
                .max_by_key(|r| r.weight.unwrap_or(0))
                .map(|r| (r.name.clone(), origin("the region with the most weight")))
                .ok_or_else(|| "no region has any weight".into())
        }
    }
}

/// Replace `{param}` references.
pub fn substitute(text: &str, params: &[ResolvedParam]) -> String {
    let mut out = text.to_string();
    for p in params {
        out = out.replace(&format!("{{{}}}", p.name), &p.value);
    }
    out
}

/// Every step of `rb`, built against `cfg` and `obs` with `params`.
pub fn plan(rb: &Runbook, cfg: &Config, obs: &Observed, params: &[ResolvedParam]) -> Vec<PlannedStep> {
    let mut out = Vec::new();
    for (i, def) in rb.steps.iter().enumerate() {
        let parts = match *def.op.get_ref() {
            OpKind::Scale => match scale_deployments(def, cfg, params) {
                Ok(deps) => deps.into_iter().map(Some).collect(),
                Err(_) => vec![None],
            },
            _ => vec![None],
        };
        for part in parts {
            out.push(planned(rb, i, part, cfg, obs, params));
        }
    }
    out
}

/// Build one planned step (again, with the state at the time it starts).
pub fn planned(
    rb: &Runbook,
    def_index: usize,
    part: Option<String>,
    cfg: &Config,
    obs: &Observed,
    params: &[ResolvedParam],
) -> PlannedStep {
    let def = &rb.steps[def_index];
    let op = build(def, part.as_deref(), cfg, obs, params);
    let id = def.id.get_ref();
    let key = match &part {
        Some(p) => format!("{id}/{p}"),
        None => id.clone(),
    };
    let title = match (&def.title, &op) {
        (Some(t), _) => substitute(t, params),
        (None, Ok(op)) => op.preview().title,
        (None, Err(_)) => format!("{} ({})", id, def.op.get_ref()),
    };
    PlannedStep {
        key,
        def: def_index,
        part,
        title,
        why: substitute(&def.why, params),
        gate: def.gate.as_ref().and_then(|g| Gate::parse(&substitute(g.get_ref(), params))),
        risk: def.risk,
        timeout_secs: def.timeout_secs,
        op,
    }
}

fn arg(def: &StepDef, key: &str, params: &[ResolvedParam]) -> Option<String> {
    def.args.get(key).map(|v| match v.get_ref() {
        toml::Value::String(s) => substitute(s, params),
        other => other.to_string(),
    })
}

fn number(def: &StepDef, key: &str, params: &[ResolvedParam]) -> Result<Option<u64>, BuildError> {
    match arg(def, key, params) {
        None => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|_| invalid(format!("`{key}` = {v:?} is not a number"))),
    }
}

fn scale_deployments(def: &StepDef, cfg: &Config, params: &[ResolvedParam]) -> Result<Vec<String>, String> {
    let region = arg(def, "region", params).unwrap_or_default();
    let r =
        cfg.regions.iter().find(|r| r.name == region).ok_or_else(|| format!("no region named {region}"))?;
    if r.deployments.is_empty() {
        return Err(format!("region {region} lists no deployments to scale"));
    }
    Ok(r.deployments.clone())
}

fn unresolved(s: &str) -> Option<&str> {
    references(s).first().map(|(n, _)| *n)
}

fn build(
    def: &StepDef,
    part: Option<&str>,
    cfg: &Config,
    obs: &Observed,
    params: &[ResolvedParam],
) -> Result<Operation, BuildError> {
    for v in def.args.values() {
        let Some(s) = v.get_ref().as_str() else { continue };
        for (name, _) in references(s) {
            if let Some(p) = params.iter().find(|p| p.name == name && p.value.is_empty()) {
                return Err(not_applicable(format!("parameter {name} is {}", p.origin)));
            }
        }
        if let Some(name) = unresolved(&substitute(s, params)) {
            return Err(invalid(format!("parameter {name} has no value")));
        }
    }
    let node = || arg(def, "node", params).unwrap_or_default();
    let pg = || cfg.postgres.as_ref().ok_or_else(|| not_applicable("no [postgres] section"));
    let pg_node = |name: &str| {
        let pg = pg()?;
        pg.nodes
            .iter()
            .find(|n| n.name == name)
            .ok_or_else(|| invalid(format!("no PostgreSQL node named {name}")))
    };
    let kube = || {
        if crate::backends::live::kube_configured(cfg) {
            Ok(())
        } else {
            Err(not_applicable("Kubernetes is not configured"))
        }
    };
    let r53 = || cfg.route53.as_ref().ok_or_else(|| not_applicable("no [route53] section"));
    let region = |key: &str| {
        let name = arg(def, key, params).unwrap_or_default();
        cfg.regions.iter().find(|r| r.name == name).ok_or_else(|| invalid(format!("no region named {name}")))
    };
    match *def.op.get_ref() {
        OpKind::CheckPrimary => pg().map(|_| Operation::CheckPrimary),
        OpKind::Assert => {
            let check = arg(def, "check", params).unwrap_or_default();
            let kind =
                AssertionName::from_str(&check).map_err(|_| invalid(format!("unknown check {check}")))?;
            let check = match kind {
                AssertionName::PrimaryDown => pg().map(|_| Assertion::PrimaryDown)?,
                AssertionName::NodeIsReplica => {
                    pg_node(&node())?;
                    Assertion::NodeIsReplica { node: node() }
                }
                AssertionName::ReplicationHealthy => {
                    if cfg.postgres.is_none() && cfg.sentinel.is_none() {
                        return Err(not_applicable("neither [postgres] nor [sentinel] is configured"));
                    }
                    let limit = number(def, "max_lag_bytes", params)?;
                    let configured = cfg.postgres.as_ref().map_or(0, |p| p.max_lag_bytes);
                    Assertion::ReplicationHealthy {
                        max_lag_bytes: limit.unwrap_or(if configured > 0 { configured } else { 1 << 20 }),
                    }
                }
                AssertionName::SentinelHealthy | AssertionName::SentinelAgreed => {
                    cfg.sentinel.as_ref().ok_or_else(|| not_applicable("no [sentinel] section"))?;
                    if kind == AssertionName::SentinelHealthy {
                        Assertion::SentinelHealthy
                    } else {
                        Assertion::SentinelAgreed
                    }
                }
                AssertionName::RegionDown => Assertion::RegionDown { region: region("region")?.name.clone() },
                AssertionName::RegionHealthy => {
                    Assertion::RegionHealthy { region: region("region")?.name.clone() }
                }
                AssertionName::TrafficOn => {
                    let r = region("region")?.name.clone();
                    r53()?;
                    Assertion::TrafficOn { region: r }
                }
            };
            Ok(Operation::Assert { check })
        }
        OpKind::Promote => {
            let n = pg_node(&node())?;
            Ok(Operation::PromotePostgres {
                node: n.name.clone(),
                endpoint: endpoint_of(Some(n)),
                max_lag_bytes: pg()?.max_lag_bytes,
                accept_data_loss: None,
            })
        }
        OpKind::ExecPromote => {
            kube()?;
            let n = pg_node(&node())?;
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
                max_lag_bytes: pg()?.max_lag_bytes,
                accept_data_loss: None,
            })
        }
        OpKind::Fence => {
            let n = pg_node(&node())?;
            Ok(Operation::FencePostgres { node: n.name.clone(), endpoint: endpoint_of(Some(n)) })
        }
        OpKind::RepointService => {
            kube()?;
            let pg = pg()?;
            let svc =
                pg.service.as_ref().ok_or_else(|| not_applicable("postgres.service is not configured"))?;
            let n = pg_node(&node())?;
            let pod = pod_of(n, obs)
                .ok_or_else(|| invalid(format!("node {} has no pod configured or observed", n.name)))?;
            Ok(Operation::PatchServiceSelector {
                context: svc.context.clone(),
                namespace: svc.namespace.clone(),
                service: svc.name.clone(),
                pod,
            })
        }
        OpKind::LabelPod => {
            kube()?;
            let svc =
                pg()?.service.as_ref().ok_or_else(|| not_applicable("postgres.service is not configured"))?;
            let n = pg_node(&node())?;
            let pod = pod_of(n, obs)
                .ok_or_else(|| invalid(format!("node {} has no pod configured or observed", n.name)))?;
            let label = arg(def, "label", params).unwrap_or_else(|| "role=primary".into());
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
        OpKind::VerifyWrites => {
            let pg = pg()?;
            let n = pg_node(&node())?;
            // A Service can only route to a pod in its own cluster: a node elsewhere is probed
            // directly.
            let same_cluster =
                pg.service.as_ref().is_some_and(|s| n.pod.as_ref().is_none_or(|p| p.context == s.context));
            let through_service =
                pg.service.is_some() && same_cluster && crate::backends::live::kube_configured(cfg);
            Ok(Operation::VerifyWrites {
                node: n.name.clone(),
                endpoint: endpoint_of(Some(n)),
                service: through_service.then(|| pg.service.as_ref().map(|s| s.name.clone())).flatten(),
                pod: if through_service { pod_of(n, obs) } else { None },
            })
        }
        OpKind::SentinelFailover => {
            let s = cfg.sentinel.as_ref().ok_or_else(|| not_applicable("no [sentinel] section"))?;
            Ok(Operation::SentinelFailover {
                master: s.master.clone(),
                sentinel: answering_sentinel(&s.addrs, obs)
                    .ok_or_else(|| invalid("no Sentinel address configured"))?,
                from_master: obs.sentinel.value.as_ref().and_then(|v| v.agreed_master()).map(str::to_string),
            })
        }
        OpKind::SetWeights => {
            let r = r53()?;
            let target = region("target")?.name.clone();
            Ok(Operation::SetRoute53Weights {
                zone: r.hosted_zone_id.clone(),
                record: r.record.clone(),
                endpoint: crate::backends::route53::endpoint_label(r),
                weights: cfg
                    .regions
                    .iter()
                    .map(|x| (x.name.clone(), if x.name == target { 100 } else { 0 }))
                    .collect(),
            })
        }
        OpKind::ShiftTraffic => {
            let r = r53()?;
            let target = region("target")?.name.clone();
            let t = obs.traffic.value.as_ref();
            let current: Vec<(String, u8)> = cfg
                .regions
                .iter()
                .map(|x| {
                    (x.name.clone(), t.and_then(|t| t.region(&x.name)).and_then(|y| y.weight).unwrap_or(0))
                })
                .collect();
            let percents: Vec<u8> = match def.args.get("percents").map(|v| v.get_ref()) {
                Some(toml::Value::Array(items)) => {
                    items.iter().filter_map(|v| v.as_integer()).map(|p| p.clamp(1, 100) as u8).collect()
                }
                _ => DEFAULT_SHIFT_PERCENTS.to_vec(),
            };
            let hold_secs = number(def, "hold_secs", params)?
                .unwrap_or_else(|| MIN_HOLD_SECS.max(t.and_then(|t| t.ttl).map_or(0, u64::from)));
            Ok(Operation::ShiftTraffic {
                zone: r.hosted_zone_id.clone(),
                record: r.record.clone(),
                endpoint: crate::backends::route53::endpoint_label(r),
                target: target.clone(),
                stages: shift_stages(&current, &target, &percents),
                hold_secs,
            })
        }
        OpKind::Scale => {
            kube()?;
            let r = region("region")?;
            let context = r
                .kube_context
                .clone()
                .ok_or_else(|| not_applicable(format!("region {} has no kube_context", r.name)))?;
            let deployment =
                part.ok_or_else(|| invalid(format!("region {} lists no deployments to scale", r.name)))?;
            Ok(Operation::ScaleDeployment {
                context,
                namespace: r.namespace.clone().unwrap_or_else(|| "default".into()),
                deployment: deployment.to_string(),
                replicas: number(def, "replicas", params)?
                    .map(|n| n.min(u64::from(u32::MAX)) as u32)
                    .or(r.failover_replicas)
                    .unwrap_or(DEFAULT_FAILOVER_REPLICAS),
            })
        }
        OpKind::RollbackDeployment => {
            kube()?;
            let deployment = arg(def, "deployment", params).unwrap_or_default();
            let r = match arg(def, "region", params) {
                Some(_) => region("region")?,
                None => sources::failing_region(cfg, obs, &deployment)
                    .or_else(|| cfg.primary_region())
                    .ok_or_else(|| not_applicable("no regions configured"))?,
            };
            let context = r
                .kube_context
                .clone()
                .ok_or_else(|| not_applicable(format!("region {} has no kube_context", r.name)))?;
            Ok(Operation::RollbackDeployment {
                context,
                namespace: r.namespace.clone().unwrap_or_else(|| "default".into()),
                deployment,
            })
        }
        OpKind::Manual => {
            Ok(Operation::Manual { instruction: arg(def, "instruction", params).unwrap_or_default() })
        }
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

fn pod_of(n: &crate::config::model::PgNodeConfig, obs: &Observed) -> Option<String> {
    n.pod
        .as_ref()
        .map(|p| p.name.clone())
        .or_else(|| obs.database.value.as_ref().and_then(|d| d.node(&n.name)).and_then(|s| s.pod.clone()))
}

#[cfg(test)]
pub(crate) mod tests;
