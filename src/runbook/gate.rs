//! [`Gate`]: a condition a runbook step needs to be applicable (`gate = "name"` or
//! `"name:{param}"`), checked on the current snapshots when the step comes up. The gate names
//! are declared once, by the variants: [`GateName`] (derived) gives the list, the text and the
//! parsing.

use std::str::FromStr;

use strum::{EnumDiscriminants, EnumString, IntoStaticStr, VariantNames};

use super::assertion::region_problem;
use super::operation::pod_label;
use super::plan::sources::pod_elsewhere;
use crate::backends::Observed;
use crate::backends::model::{DatabaseView, KubeView, PgNodeStatus, PgRole, ServiceView};
use crate::operation::Verify;
use crate::operation::assertion::Assertion;

/// A condition a step needs to be applicable.
#[derive(Debug, Clone, PartialEq, Eq, EnumDiscriminants)]
#[strum_discriminants(
    name(GateName),
    derive(EnumString, IntoStaticStr, VariantNames),
    strum(serialize_all = "kebab-case"),
    doc = "A gate's name, as runbooks write it (before any `:{param}`)."
)]
pub enum Gate {
    /// No writable primary and a node down.
    PrimaryDown,
    /// A single writable primary.
    PrimaryUp,
    /// The node answers.
    NodeReachable(String),
    /// The node answers and accepts writes.
    NodeWritable(String),
    /// The node is not the writable primary (a failover happened: it needs re-syncing).
    NodeNotPrimary(String),
    /// The node's pod is not labelled `role=primary` (nothing in the cluster relabelled it).
    PodNotLabelledPrimary(String),
    /// The node's pod runs in the database Service's cluster (a Service selector cannot select
    /// a pod in another cluster).
    NodeInServiceCluster(String),
    /// The region passes its health gate.
    RegionHealthy(String),
    /// The region fails its health gate.
    RegionUnhealthy(String),
    /// Sentinels report a master that does not answer.
    RedisMasterDown,
}

impl GateName {
    /// Whether the gate takes an argument after `:` (a node or a region).
    pub fn takes_arg(self) -> bool {
        !matches!(self, GateName::PrimaryDown | GateName::PrimaryUp | GateName::RedisMasterDown)
    }

    /// Name as in runbooks.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

impl Gate {
    /// Parse `name` / `name:arg` (already validated and substituted).
    pub fn parse(text: &str) -> Option<Gate> {
        let (name, arg) = match text.split_once(':') {
            Some((n, a)) => (n, a.to_string()),
            None => (text, String::new()),
        };
        Some(match GateName::from_str(name).ok()? {
            GateName::PrimaryDown => Gate::PrimaryDown,
            GateName::PrimaryUp => Gate::PrimaryUp,
            GateName::NodeReachable => Gate::NodeReachable(arg),
            GateName::NodeWritable => Gate::NodeWritable(arg),
            GateName::NodeNotPrimary => Gate::NodeNotPrimary(arg),
            GateName::PodNotLabelledPrimary => Gate::PodNotLabelledPrimary(arg),
            GateName::NodeInServiceCluster => Gate::NodeInServiceCluster(arg),
            GateName::RegionHealthy => Gate::RegionHealthy(arg),
            GateName::RegionUnhealthy => Gate::RegionUnhealthy(arg),
            GateName::RedisMasterDown => Gate::RedisMasterDown,
        })
    }

    /// The argument (a node or a region), for the gates that take one.
    pub fn arg(&self) -> Option<&str> {
        match self {
            Gate::PrimaryDown | Gate::PrimaryUp | Gate::RedisMasterDown => None,
            Gate::NodeReachable(a)
            | Gate::NodeWritable(a)
            | Gate::NodeNotPrimary(a)
            | Gate::PodNotLabelledPrimary(a)
            | Gate::NodeInServiceCluster(a)
            | Gate::RegionHealthy(a)
            | Gate::RegionUnhealthy(a) => Some(a),
        }
    }

    /// Text as in the runbook.
    pub fn text(&self) -> String {
        let name = GateName::from(self).as_str();
        match self.arg() {
            Some(arg) => format!("{name}:{arg}"),
            None => name.to_string(),
        }
    }

    /// `Ok(what holds)` or `Err(what is observed instead)`, from the current snapshots.
    pub fn check(&self, obs: &Observed) -> Result<String, String> {
        let db = || obs.database.fresh_value().ok_or_else(|| "no fresh database data".to_string());
        match self {
            Gate::PrimaryDown => match Assertion::PrimaryDown.verify(obs) {
                Verify::Holds(w) => Ok(w),
                Verify::NotYet(w) => Err(w),
            },
            Gate::PrimaryUp => match db()?.primary() {
                Some(p) => Ok(format!("{} is the writable primary", p.name)),
                None => Err("no single writable primary".into()),
            },
            Gate::NodeReachable(n) => node_reachable(db()?, n, false),
            Gate::NodeWritable(n) => node_reachable(db()?, n, true),
            Gate::RegionHealthy(r) => region_problem(obs, r).map(|()| format!("{r} is healthy")),
            Gate::RegionUnhealthy(r) => match region_problem(obs, r) {
                Ok(()) => Err(format!("{r} is healthy")),
                Err(p) => Ok(p),
            },
            Gate::NodeNotPrimary(n) => match db()?.primary() {
                Some(p) if p.name == *n => Err(format!("{n} is the writable primary: nothing to re-sync")),
                Some(p) => Ok(format!("{} is the primary, not {n}", p.name)),
                None => Ok("no single writable primary".into()),
            },
            Gate::PodNotLabelledPrimary(n) => pod_not_labelled_primary(obs, node(db()?, n)?),
            Gate::NodeInServiceCluster(n) => node_in_service_cluster(obs, node(db()?, n)?),
            Gate::RedisMasterDown => {
                let s = obs.sentinel.fresh_value().ok_or_else(|| "no fresh Sentinel data".to_string())?;
                let master = s.agreed_master().ok_or("Sentinels do not agree on a master")?;
                match &s.master_role {
                    None => Ok(format!("the Redis master {master} does not answer")),
                    Some(role) => Err(format!("the Redis master {master} answers (as {role})")),
                }
            }
        }
    }
}

fn node<'a>(db: &'a DatabaseView, name: &str) -> Result<&'a PgNodeStatus, String> {
    db.node(name).ok_or_else(|| format!("no node named {name}"))
}

/// The database Service, from fresh Kubernetes data.
fn db_service(obs: &Observed) -> Result<(&KubeView, &ServiceView), String> {
    let kube = obs.kube.fresh_value().ok_or_else(|| "no fresh Kubernetes data".to_string())?;
    let svc = kube.db_service.as_ref().ok_or("the database Service is not observed")?;
    Ok((kube, svc))
}

/// `node-reachable` (and, `writable`, `node-writable`).
fn node_reachable(db: &DatabaseView, n: &str, writable: bool) -> Result<String, String> {
    let node = node(db, n)?;
    if node.role == PgRole::Down || node.error.is_some() {
        return Err(format!("{n} is unreachable"));
    }
    if writable && !node.is_writable_primary() {
        return Err(format!(
            "{n} does not accept writes ({}{})",
            node.role.as_str(),
            if node.read_only { ", read-only" } else { "" }
        ));
    }
    Ok(format!("{n} is {}", if node.is_writable_primary() { "writable" } else { "reachable" }))
}

fn pod_not_labelled_primary(obs: &Observed, node: &PgNodeStatus) -> Result<String, String> {
    let n = &node.name;
    let pod = node.pod.clone().ok_or_else(|| format!("{n} has no pod"))?;
    let (kube, svc) = db_service(obs)?;
    if let Some(elsewhere) = pod_elsewhere(kube, svc, &pod) {
        return Err(format!(
            "{pod} runs in {elsewhere}, not in Service {}'s cluster {}: no selector there can pick it",
            svc.name, svc.context
        ));
    }
    match pod_label(kube, &svc.context, &svc.namespace, &pod, "role") {
        Some("primary") => Err(format!("{pod} is already labelled role=primary")),
        Some(other) => Ok(format!("{pod} is labelled role={other}")),
        None => Ok(format!("{pod} has no role label")),
    }
}

fn node_in_service_cluster(obs: &Observed, node: &PgNodeStatus) -> Result<String, String> {
    let n = &node.name;
    let pod = node.pod.clone().unwrap_or_else(|| n.clone());
    let (kube, svc) = db_service(obs)?;
    match pod_elsewhere(kube, svc, &pod) {
        None => Ok(format!("{n} is not seen outside {}, the cluster of Service {}", svc.context, svc.name)),
        Some(other) => Err(format!(
            "{n} runs in {other} and Service {} in {}: a selector cannot select a pod in another cluster; \
             {}'s applications reach {n} only if the traffic moves there (dns-failover to {})",
            svc.name, svc.context, node.region, node.region
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_gate_name_parses_back_to_its_gate_and_prints_as_written() {
        assert_eq!(GateName::VARIANTS.len(), 10);
        for name in GateName::VARIANTS {
            let kind = GateName::from_str(name).expect("a declared name parses");
            assert_eq!(kind.as_str(), *name);
            let text = if kind.takes_arg() { format!("{name}:x") } else { name.to_string() };
            let gate = Gate::parse(&text).expect("parses");
            assert_eq!(GateName::from(&gate), kind);
            assert_eq!(gate.text(), text);
            assert_eq!(gate.arg().is_some(), kind.takes_arg(), "{name}");
        }
        assert_eq!(Gate::parse("when-bored"), None);
    }
}
