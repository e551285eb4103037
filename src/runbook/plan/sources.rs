//! State-derived parameter values that need more than one layer: the stray primary of a split
//! brain (the one the database Service does not route to) and the failing deployment (and the
//! region it fails in) for a rollback.

use crate::backends::Observed;
use crate::backends::model::{KubeView, PgNodeStatus, ServiceView};
use crate::config::Config;
use crate::config::model::RegionConfig;

/// During a split brain, the one writable primary the database Service does not route to.
pub(super) fn unrouted_primary(obs: &Observed) -> Result<(String, String), String> {
    let db = obs.database.value.as_ref().ok_or("no database data yet")?;
    let writable = db.writable_primaries();
    if writable.len() < 2 {
        return Err(format!("{} writable primary(ies): no split brain", writable.len()));
    }
    let svc = obs
        .kube
        .value
        .as_ref()
        .and_then(|k| k.db_service.as_ref())
        .ok_or("the database Service is not observed: name the node to fence")?;
    let routed =
        |n: &&PgNodeStatus| svc.endpoint_pods.iter().any(|e| Some(e) == n.pod.as_ref() || *e == n.name);
    let (on, off): (Vec<_>, Vec<_>) = writable.into_iter().partition(routed);
    match (on.as_slice(), off.as_slice()) {
        ([r], [stray]) => {
            Ok((stray.name.clone(), format!("writable, while Service {} routes to {}", svc.name, r.name)))
        }
        ([], _) => {
            Err(format!("Service {} routes to none of the writable primaries: repoint it first", svc.name))
        }
        _ => Err("more than one writable primary is not routed to: name the node to fence".into()),
    }
}

/// The context `pod` is observed in when it is observed only outside the Service's cluster
/// (context and namespace); `None` when it is in the Service's cluster or not observed at all.
pub(in crate::runbook) fn pod_elsewhere<'a>(
    kube: &'a KubeView,
    svc: &ServiceView,
    pod: &str,
) -> Option<&'a str> {
    let mut seen = kube.pods.iter().filter(|p| p.name == pod);
    if seen.clone().any(|p| p.context == svc.context && p.namespace == svc.namespace) {
        return None;
    }
    seen.next().map(|p| p.context.as_str())
}

/// Whether the context's API server answers (a lost region's pods are not a bad rollout).
fn answers(k: &KubeView, context: &str) -> bool {
    !k.contexts.iter().any(|c| c.context == context && c.error.is_some())
}

/// The deployment with the most pods not ready (crash-looping, OOMKilled, pending), by name.
pub(super) fn failing_deployment(obs: &Observed) -> Result<(String, String), String> {
    let k = obs.kube.value.as_ref().ok_or("no Kubernetes data yet")?;
    k.deployments
        .iter()
        .map(|d| {
            let bad = k
                .pods
                .iter()
                .filter(|p| p.context == d.context && p.namespace == d.namespace && answers(k, &p.context))
                .filter(|p| crate::operation::rollback::owned_by(&p.name, &d.name) && p.is_unhealthy())
                .count();
            (d, bad)
        })
        .filter(|(_, bad)| *bad > 0)
        .max_by_key(|(d, bad)| (*bad, std::cmp::Reverse(d.name.clone())))
        .map(|(d, bad)| (d.name.clone(), format!("{bad} unhealthy pod(s) in {}/{}", d.context, d.namespace)))
        .ok_or_else(|| "no deployment has an unhealthy pod".into())
}

/// The region whose deployment `name` has unhealthy pods (most first), else `None`.
pub(super) fn failing_region<'a>(cfg: &'a Config, obs: &Observed, name: &str) -> Option<&'a RegionConfig> {
    let k = obs.kube.value.as_ref()?;
    cfg.regions
        .iter()
        .filter_map(|r| {
            let ctx = r.kube_context.as_deref().filter(|c| answers(k, c))?;
            let ns = r.namespace.as_deref().unwrap_or("default");
            let bad = k
                .pods
                .iter()
                .filter(|p| {
                    p.context == ctx
                        && p.namespace == ns
                        && crate::operation::rollback::owned_by(&p.name, name)
                })
                .filter(|p| p.is_unhealthy())
                .count();
            (bad > 0).then_some((r, bad))
        })
        .max_by_key(|(_, bad)| *bad)
        .map(|(r, _)| r)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use super::*;
    use crate::backends::Snapshot;
    use crate::backends::model::{DatabaseView, DeploymentRow, PgRole, PodRow};

    fn primary(name: &str, timeline: u32) -> PgNodeStatus {
        PgNodeStatus {
            name: name.into(),
            region: "us-east-1".into(),
            role: PgRole::Primary,
            timeline: Some(timeline),
            pod: Some(name.into()),
            ..PgNodeStatus::default()
        }
    }

    fn split(routes_to: Option<&str>) -> Observed {
        let db = DatabaseView { nodes: vec![primary("postgresql-0", 1), primary("postgresql-1", 2)] };
        let kube = KubeView {
            db_service: routes_to.map(|p| ServiceView {
                context: "us-east-1".into(),
                namespace: "database".into(),
                name: "postgresql".into(),
                selector: BTreeMap::new(),
                endpoint_pods: vec![p.to_string()],
                endpoints: vec![],
            }),
            ..KubeView::default()
        };
        let now = chrono::Utc::now();
        Observed {
            database: Arc::new(Snapshot::fresh(db, now)),
            kube: Arc::new(Snapshot::fresh(kube, now)),
            ..Observed::default()
        }
    }

    #[test]
    fn the_stray_primary_is_the_one_the_service_does_not_route_to() {
        // split-brain: postgresql-1 promoted by mistake, the Service still on postgresql-0.
        let (n, why) = unrouted_primary(&split(Some("postgresql-0"))).unwrap();
        assert_eq!(n, "postgresql-1");
        assert_eq!(why, "writable, while Service postgresql routes to postgresql-0");
        // primary-db-down after the failover: the old primary came back on its old timeline.
        assert_eq!(unrouted_primary(&split(Some("postgresql-1"))).unwrap().0, "postgresql-0");
        assert!(unrouted_primary(&split(Some("postgresql-2"))).unwrap_err().contains("repoint it first"));
        assert!(unrouted_primary(&split(None)).unwrap_err().contains("name the node to fence"));
        let mut one = split(Some("postgresql-0"));
        let mut db = one.database.value.clone().unwrap();
        db.nodes[1].read_only = true;
        one.database = Arc::new(Snapshot::fresh(db, chrono::Utc::now()));
        assert_eq!(unrouted_primary(&one).unwrap_err(), "1 writable primary(ies): no split brain");
    }

    fn pod(name: &str, reason: Option<&str>) -> PodRow {
        PodRow {
            context: "us-east-1".into(),
            namespace: "default".into(),
            name: name.into(),
            ready: u16::from(reason.is_none()),
            containers: 1,
            phase: "Running".into(),
            restarts: 0,
            reason: reason.map(String::from),
            started_at: None,
            node: None,
            labels: BTreeMap::new(),
        }
    }

    fn deployment(name: &str) -> DeploymentRow {
        DeploymentRow {
            context: "us-east-1".into(),
            namespace: "default".into(),
            name: name.into(),
            desired: 2,
            ready: 1,
            available: 1,
        }
    }

    #[test]
    fn the_failing_deployment_has_the_most_unhealthy_pods_and_its_region_is_found() {
        let cfg = crate::backends::drill::estate::config();
        let kube = KubeView {
            pods: Arc::new(vec![
                pod("api-a1-aaaaa", None),
                pod("api-b2-bbbbb", Some("CrashLoopBackOff")),
                pod("worker-c3-ccccc", Some("OOMKilled")),
                pod("worker-c3-ddddd", Some("CrashLoopBackOff")),
            ]),
            deployments: vec![deployment("api"), deployment("worker")],
            ..KubeView::default()
        };
        let obs =
            Observed { kube: Arc::new(Snapshot::fresh(kube, chrono::Utc::now())), ..Observed::default() };
        let (d, why) = failing_deployment(&obs).unwrap();
        assert_eq!((d.as_str(), why.as_str()), ("worker", "2 unhealthy pod(s) in us-east-1/default"));
        assert_eq!(failing_region(&cfg, &obs, "api").map(|r| r.name.as_str()), Some("us-east-1"));
        // A lost region's pods are not ready because it is lost, not because of a rollout.
        let mut lost = obs.kube.value.clone().unwrap();
        lost.contexts = vec![crate::backends::model::ContextHealth {
            context: "us-east-1".into(),
            error: Some("i/o timeout".into()),
            last_ok: None,
        }];
        let lost =
            Observed { kube: Arc::new(Snapshot::fresh(lost, chrono::Utc::now())), ..Observed::default() };
        assert_eq!(failing_deployment(&lost).unwrap_err(), "no deployment has an unhealthy pod");
        assert!(failing_region(&cfg, &lost, "api").is_none());
        let healthy = KubeView { pods: Arc::new(vec![pod("api-a1-aaaaa", None)]), ..KubeView::default() };
        let obs =
            Observed { kube: Arc::new(Snapshot::fresh(healthy, chrono::Utc::now())), ..Observed::default() };
        assert_eq!(failing_deployment(&obs).unwrap_err(), "no deployment has an unhealthy pod");
        assert!(failing_region(&cfg, &obs, "api").is_none());
    }
}

#[cfg(test)]
mod gate_tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use crate::backends::model::{DatabaseView, KubeView, PgNodeStatus, PgRole, PodRow, ServiceView};
    use crate::backends::{Observed, Snapshot};
    use crate::runbook::gate::Gate;

    /// replica-lag after the promotion: postgresql-2 (us-west-2) is the primary, the Service
    /// lives in us-east-1.
    fn promoted_elsewhere() -> Observed {
        let node = |name: &str, region: &str, role| PgNodeStatus {
            name: name.into(),
            region: region.into(),
            role,
            pod: Some(name.into()),
            ..PgNodeStatus::default()
        };
        let db = DatabaseView {
            nodes: vec![
                node("postgresql-0", "us-east-1", PgRole::Down),
                node("postgresql-1", "us-east-1", PgRole::Replica),
                node("postgresql-2", "us-west-2", PgRole::Primary),
            ],
        };
        let pod = PodRow {
            context: "us-west-2".into(),
            namespace: "database".into(),
            name: "postgresql-2".into(),
            ready: 1,
            containers: 1,
            phase: "Running".into(),
            restarts: 0,
            reason: None,
            started_at: None,
            node: None,
            labels: BTreeMap::from([("role".to_string(), "replica".to_string())]),
        };
        let kube = KubeView {
            pods: Arc::new(vec![pod]),
            db_service: Some(ServiceView {
                context: "us-east-1".into(),
                namespace: "database".into(),
                name: "postgresql".into(),
                selector: BTreeMap::new(),
                endpoint_pods: vec![],
                endpoints: vec![],
            }),
            ..KubeView::default()
        };
        let now = chrono::Utc::now();
        Observed {
            database: Arc::new(Snapshot::fresh(db, now)),
            kube: Arc::new(Snapshot::fresh(kube, now)),
            ..Observed::default()
        }
    }

    #[test]
    fn a_primary_in_another_cluster_is_neither_labelled_nor_repointed_to() {
        let obs = promoted_elsewhere();
        let why = Gate::NodeInServiceCluster("postgresql-2".into()).check(&obs).unwrap_err();
        assert!(
            why.starts_with("postgresql-2 runs in us-west-2 and Service postgresql in us-east-1")
                && why.ends_with("(dns-failover to us-west-2)"),
            "{why}"
        );
        // postgresql-1's pod is not in the view: nothing says it is elsewhere.
        // postgresql-1's pod is not in the view: nothing says it is elsewhere.
        assert!(Gate::NodeInServiceCluster("postgresql-1".into()).check(&obs).is_ok());
        let why = Gate::PodNotLabelledPrimary("postgresql-2".into()).check(&obs).unwrap_err();
        assert!(why.contains("not in Service postgresql's cluster us-east-1"), "{why}");
        assert_eq!(
            Gate::parse("node-in-service-cluster:postgresql-2"),
            Some(Gate::NodeInServiceCluster("postgresql-2".into()))
        );
        assert_eq!(Gate::NodeInServiceCluster("x".into()).text(), "node-in-service-cluster:x");
    }
}
