//! From a [`Runbook`] to concrete steps: parameters resolved (state-derived defaults, `--param`
//! overrides), each step's operation built from the configuration with its explicit targets, gates
//! evaluated on the current snapshots, and steps whose layer is not configured marked not
//! applicable with the reason.

use serde::{Deserialize, Serialize};

mod build;
pub(in crate::runbook) mod sources;

use super::gate::Gate;
use super::model::{ParamKind, ParamSource, Runbook, StepDef};
use crate::backends::Observed;
use crate::backends::model::PgRole;
use crate::config::Config;
use crate::operation::kind::OpKind;
use crate::operation::{Operation, Risk};

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
    /// People who must agree (`approvals = N` of the step, the commander included).
    pub approvals: Option<u32>,
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
            // Every Route 53 change is followed by the DNS verification and its drift re-check.
            OpKind::SetWeights | OpKind::ShiftTraffic if cfg.route53.is_some() => {
                vec![None, Some(DNS_VERIFY_PART.into()), Some(DNS_RECHECK_PART.into())]
            }
            _ => vec![None],
        };
        for part in parts {
            out.push(planned(rb, i, part, cfg, obs, params));
        }
    }
    out
}

/// The part of a Route 53 change step that verifies the DNS answers after it.
pub const DNS_VERIFY_PART: &str = "verify-dns";
/// The part of a Route 53 change step that re-checks the DNS answers for drift.
pub const DNS_RECHECK_PART: &str = "recheck-dns";

fn is_dns_part(part: Option<&str>) -> bool {
    matches!(part, Some(DNS_VERIFY_PART | DNS_RECHECK_PART))
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
    let op = build::build(def, part.as_deref(), cfg, obs, params);
    let id = def.id.get_ref();
    let key = match &part {
        Some(p) => format!("{id}/{p}"),
        None => id.clone(),
    };
    let dns = is_dns_part(part.as_deref());
    let title = match (&def.title, &op) {
        (_, Ok(op)) if dns => op.preview().title,
        (Some(t), _) => substitute(t, params),
        (None, Ok(op)) => op.preview().title,
        (None, Err(_)) => format!("{} ({})", id, def.op.get_ref()),
    };
    let why = match part.as_deref() {
        Some(DNS_VERIFY_PART) => {
            format!(
                "step {id} changed Route 53: do the name servers answer it (INSYNC is only Route 53's word)?"
            )
        }
        Some(DNS_RECHECK_PART) => {
            format!("after step {id}: did another controller change the answers back (drift)?")
        }
        _ => substitute(&def.why, params),
    };
    PlannedStep {
        key,
        def: def_index,
        part,
        title,
        why,
        gate: def.gate.as_ref().filter(|_| !dns).and_then(|g| Gate::parse(&substitute(g.get_ref(), params))),
        risk: def.risk.filter(|_| !dns),
        timeout_secs: def.timeout_secs.filter(|_| !dns),
        approvals: def.approvals.as_ref().map(|n| *n.get_ref()).filter(|_| !dns),
        op,
    }
}

fn arg(def: &StepDef, key: &str, params: &[ResolvedParam]) -> Option<String> {
    def.args.get(key).map(|v| match v.get_ref() {
        toml::Value::String(s) => substitute(s, params),
        other => other.to_string(),
    })
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

#[cfg(test)]
pub(crate) mod tests;
