//! The context-coherence guard: before a step executes, the target it is about to touch (kube
//! context and object, PostgreSQL address, Sentinel, hosted zone and endpoint) must be the one
//! the configuration names and the panes show. A step built from stale or foreign data (another
//! cluster's context, a node whose address changed) is refused with the reason.

use crate::backends::Observed;
use crate::backends::postgres::endpoint::endpoint_of;
use crate::config::Config;

use crate::operation::Operation;

/// `Ok` when every target of `op` is the one on screen; else what differs.
pub fn coherence(op: &Operation, cfg: &Config, obs: &Observed) -> Result<(), String> {
    match op {
        Operation::CheckPrimary | Operation::Manual { .. } | Operation::Assert { .. } => Ok(()),
        Operation::PromotePostgres { node, endpoint, .. }
        | Operation::FencePostgres { node, endpoint }
        | Operation::VerifyWrites { node, endpoint, .. } => pg_node(cfg, obs, node, endpoint),
        Operation::ExecPromote { context, namespace, pod, node, .. } => {
            exec_pod(cfg, node, context, namespace, pod)?;
            kube_context(cfg, obs, context)
        }
        Operation::PatchServiceSelector { context, namespace, service, .. } => {
            db_service(cfg, context, namespace, Some(service))?;
            kube_context(cfg, obs, context)
        }
        Operation::LabelPod { context, namespace, .. } => {
            // Only pods behind the database Service are labelled (and only their labels are seen).
            db_service(cfg, context, namespace, None)?;
            kube_context(cfg, obs, context)
        }
        Operation::ScaleDeployment { context, .. } | Operation::RollbackDeployment { context, .. } => {
            kube_context(cfg, obs, context)
        }
        Operation::SentinelFailover { master, sentinel, .. } => sentinel_target(cfg, obs, master, sentinel),
        Operation::SetRoute53Weights { zone, record, endpoint, weights } => {
            route53(cfg, zone, record, endpoint, weights.iter().map(|(r, _)| r.as_str()))
        }
        Operation::VerifyDns { zone, record, endpoint, weights, .. } => {
            route53(cfg, zone, record, endpoint, weights.iter().map(|(r, _)| r.as_str()))
        }
        Operation::ShiftTraffic { zone, record, endpoint, stages, .. } => {
            route53(cfg, zone, record, endpoint, stages.iter().flatten().map(|(r, _)| r.as_str()))
        }
    }
}

/// The pod `pg_ctl promote` runs in is `node`'s pod in warroom.toml.
fn exec_pod(cfg: &Config, node: &str, context: &str, namespace: &str, pod: &str) -> Result<(), String> {
    let pg = cfg.postgres.as_ref().ok_or("no [postgres] section")?;
    let n = pg.nodes.iter().find(|n| n.name == node).ok_or_else(|| format!("{node} is not configured"))?;
    match &n.pod {
        Some(p) if p.context == context && p.namespace == namespace && p.name == pod => Ok(()),
        Some(p) => Err(format!(
            "{node}'s pod is {}/{}/{} in warroom.toml, not {context}/{namespace}/{pod}",
            p.context, p.namespace, p.name
        )),
        None => Err(format!("{node} has no pod in warroom.toml")),
    }
}

/// The database Service of warroom.toml is in `context`/`namespace` (and named `service`, when
/// the operation names it).
fn db_service(cfg: &Config, context: &str, namespace: &str, service: Option<&str>) -> Result<(), String> {
    let svc =
        cfg.postgres.as_ref().and_then(|p| p.service.as_ref()).ok_or("postgres.service is not configured")?;
    match service {
        Some(service) if svc.context != context || svc.namespace != namespace || svc.name != service => {
            Err(format!(
                "the database Service is {}/{}/{} in warroom.toml, not {context}/{namespace}/{service}",
                svc.context, svc.namespace, svc.name
            ))
        }
        None if svc.context != context || svc.namespace != namespace => Err(format!(
            "the database Service is in {}/{} in warroom.toml, not {context}/{namespace}",
            svc.context, svc.namespace
        )),
        _ => Ok(()),
    }
}

/// The master is the monitored one and the Sentinel a configured one the pane shows.
fn sentinel_target(cfg: &Config, obs: &Observed, master: &str, sentinel: &str) -> Result<(), String> {
    let s = cfg.sentinel.as_ref().ok_or("no [sentinel] section")?;
    if s.master != master {
        return Err(format!("the monitored master is {:?} in warroom.toml, not {master:?}", s.master));
    }
    if !s.addrs.iter().any(|a| a == sentinel) {
        return Err(format!("Sentinel {sentinel} is not one of the configured Sentinels"));
    }
    if let Some(v) = obs.sentinel.value.as_ref()
        && !v.sentinels.iter().any(|x| x.addr == sentinel)
    {
        return Err(format!("Sentinel {sentinel} is not in the Sentinel pane"));
    }
    Ok(())
}

fn pg_node(cfg: &Config, obs: &Observed, node: &str, endpoint: &str) -> Result<(), String> {
    let pg = cfg.postgres.as_ref().ok_or("no [postgres] section")?;
    let n = pg.nodes.iter().find(|n| n.name == node).ok_or_else(|| format!("{node} is not configured"))?;
    let configured = endpoint_of(Some(n));
    if configured != endpoint {
        return Err(format!("{node} is at {configured} in warroom.toml, but the step targets {endpoint}"));
    }
    if let Some(db) = obs.database.value.as_ref()
        && db.node(node).is_none()
    {
        return Err(format!("{node} is not in the Database pane"));
    }
    Ok(())
}

fn kube_context(cfg: &Config, obs: &Observed, context: &str) -> Result<(), String> {
    let configured = cfg.regions.iter().filter_map(|r| r.kube_context.as_deref()).any(|c| c == context)
        || cfg.postgres.as_ref().is_some_and(|p| {
            p.service.as_ref().is_some_and(|s| s.context == context)
                || p.nodes.iter().any(|n| n.pod.as_ref().is_some_and(|x| x.context == context))
        });
    if !configured {
        return Err(format!(
            "kube context {context:?} is not configured in warroom.toml (never the current context)"
        ));
    }
    if let Some(k) = obs.kube.value.as_ref()
        && !k.contexts.is_empty()
        && !k.contexts.iter().any(|c| c.context == context)
    {
        return Err(format!("kube context {context:?} is not in the Pods pane"));
    }
    Ok(())
}

fn route53<'a>(
    cfg: &Config,
    zone: &str,
    record: &str,
    endpoint: &str,
    regions: impl Iterator<Item = &'a str>,
) -> Result<(), String> {
    let r = cfg.route53.as_ref().ok_or("no [route53] section")?;
    if r.hosted_zone_id != zone || r.record != record {
        return Err(format!(
            "warroom.toml names zone {} record {}, not zone {zone} record {record}",
            r.hosted_zone_id, r.record
        ));
    }
    let configured = crate::backends::route53::endpoint_label(r);
    if configured != endpoint {
        return Err(format!("the Route 53 endpoint is {configured} in warroom.toml, not {endpoint}"));
    }
    for region in regions {
        if !cfg.regions.iter().any(|x| x.name == region) {
            return Err(format!("region {region} is not configured"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backends::drill::estate;

    #[test]
    fn a_target_that_is_not_the_one_on_screen_is_refused() {
        let cfg = estate::config();
        let obs = Observed::default();
        let n = &cfg.postgres.as_ref().expect("pg").nodes[1];
        let good = Operation::PromotePostgres {
            node: n.name.clone(),
            endpoint: endpoint_of(Some(n)),
            max_lag_bytes: 0,
            accept_data_loss: None,
        };
        assert_eq!(coherence(&good, &cfg, &obs), Ok(()));
        let moved = Operation::PromotePostgres {
            node: n.name.clone(),
            endpoint: "10.9.9.9:5432".into(),
            max_lag_bytes: 0,
            accept_data_loss: None,
        };
        assert!(coherence(&moved, &cfg, &obs).unwrap_err().contains("but the step targets 10.9.9.9:5432"));
        let foreign = Operation::ScaleDeployment {
            context: "prod-other-cluster".into(),
            namespace: "default".into(),
            deployment: "api".into(),
            replicas: 3,
        };
        assert!(coherence(&foreign, &cfg, &obs).unwrap_err().contains("not configured"));
        let svc = cfg.postgres.as_ref().and_then(|p| p.service.clone()).expect("service");
        let other_ns = Operation::PatchServiceSelector {
            context: svc.context.clone(),
            namespace: "kube-system".into(),
            service: svc.name.clone(),
            pod: "x".into(),
        };
        assert!(coherence(&other_ns, &cfg, &obs).unwrap_err().contains("in warroom.toml, not"));
    }
}
