//! Repointing the database Service ([`Operation::PatchServiceSelector`]): the plan's
//! `kubectl patch service postgresql -p '{"spec":{"selector":{"role":"primary",
//! "statefulset.kubernetes.io/pod-name":"<pod>"}}}'`.
//!
//! The selector asks for `role=primary` as well as the pod name, so the pod is selected only
//! once something in the cluster (Patroni, the database operator) has relabelled it. The
//! verification says so instead of only "endpoints: none". Where nothing does, the
//! `label-pod` step ([`Operation::LabelPod`]) sets the label itself.
//!
//! [`Operation::PatchServiceSelector`]: super::Operation::PatchServiceSelector
//! [`Operation::LabelPod`]: super::Operation::LabelPod

use super::fresh_check;
use crate::backends::Observed;
use crate::backends::model::{KubeView, PodRow};
use crate::operation::{Check, Preview, Verify};

/// The pod named by the step, when the Kubernetes layer shows it.
fn find_pod<'a>(kube: &'a KubeView, context: &str, namespace: &str, pod: &str) -> Option<&'a PodRow> {
    kube.pods.iter().find(|p| p.context == context && p.namespace == namespace && p.name == pod)
}

/// Whether the Kubernetes layer shows the pod.
fn pod_exists(kube: &KubeView, context: &str, namespace: &str, pod: &str) -> Check {
    let known = find_pod(kube, context, namespace, pod).is_some();
    Check::new(
        "pod exists",
        known,
        if known { format!("{pod} found") } else { format!("no pod {pod} in {context}/{namespace}") },
    )
}

/// Whether the PostgreSQL node running in `pod` is the writable primary; `None` when no
/// configured node runs there.
fn writable_primary(obs: &Observed, pod: &str) -> Option<Check> {
    let n = obs.database.value.as_ref()?.nodes.iter().find(|n| n.pod.as_deref() == Some(pod))?;
    let ok = n.is_writable_primary();
    Some(Check::new(
        "pod is the writable primary",
        ok,
        if ok {
            format!("{} is the primary", n.name)
        } else {
            format!("{} is {}, not a writable primary", n.name, n.role.as_str())
        },
    ))
}

/// Prechecks: fresh data, the Service and the pod exist, and the pod is the writable primary.
pub(super) fn checks(obs: &Observed, context: &str, namespace: &str, service: &str, pod: &str) -> Vec<Check> {
    let mut checks = vec![fresh_check("kubernetes data", &obs.kube)];
    let Some(kube) = obs.kube.value.as_ref() else { return checks };
    checks.push(match &kube.db_service {
        Some(s) if s.context == context && s.namespace == namespace && s.name == service => {
            Check::new("service exists", true, format!("{service} in {context}/{namespace}"))
        }
        _ => Check::new("service exists", false, format!("no Service {service} in {context}/{namespace}")),
    });
    checks.push(pod_exists(kube, context, namespace, pod));
    checks.extend(writable_primary(obs, pod));
    checks
}

/// Holds when the Service's endpoints are exactly the pod, ready (not a terminating pod that
/// gets traffic only because nothing else is ready).
pub(super) fn verify(obs: &Observed, context: &str, namespace: &str, pod: &str) -> Verify {
    let kube = obs.kube.fresh_value();
    let Some(service) = kube.and_then(|k| k.db_service.as_ref()) else {
        return Verify::NotYet("no fresh Service data".into());
    };
    if service.endpoint_pods == [pod] && !service.draining() {
        return Verify::Holds(format!("endpoints contain only {pod}"));
    }
    if service.draining() {
        let pods = service.endpoint_pods.join(", ");
        return Verify::NotYet(format!("endpoints: {pods}, terminating (no endpoint is ready)"));
    }
    let endpoints =
        if service.endpoint_pods.is_empty() { "none".into() } else { service.endpoint_pods.join(", ") };
    let role = kube
        .and_then(|k| find_pod(k, context, namespace, pod))
        .and_then(|p| p.labels.get("role"))
        .filter(|r| r.as_str() != "primary");
    Verify::NotYet(match role {
        Some(r) => format!(
            "endpoints: {endpoints}; {pod} is labelled role={r} and the selector needs role=primary: \
             waiting for the cluster's labeller (Patroni, the database operator)"
        ),
        None => format!("endpoints: {endpoints}"),
    })
}

/// The label `key` of the pod as observed (labels are kept for the database Service's pods).
pub(crate) fn pod_label<'a>(
    kube: &'a KubeView,
    context: &str,
    namespace: &str,
    pod: &str,
    key: &str,
) -> Option<&'a str> {
    find_pod(kube, context, namespace, pod)?.labels.get(key).map(String::as_str)
}

/// What `label-pod` sends.
pub(super) fn label_preview(context: &str, namespace: &str, pod: &str, key: &str, value: &str) -> Preview {
    let patch = serde_json::json!({ "metadata": { "labels": { key: value } } });
    Preview {
        title: format!("Label pod {pod} {key}={value}"),
        target: format!("context {context}, namespace {namespace}"),
        lines: vec![
            format!("PATCH /api/v1/namespaces/{namespace}/pods/{pod}  (application/merge-patch+json)"),
            patch.to_string(),
        ],
        blast_radius: format!(
            "every Service whose selector asks for {key}={value} in {namespace} may select {pod} at once"
        ),
    }
}

/// Prechecks of `label-pod`: fresh data, the pod exists, and it is the writable primary (a
/// replica labelled primary would receive the application's writes).
pub(super) fn label_checks(obs: &Observed, context: &str, namespace: &str, pod: &str) -> Vec<Check> {
    let mut checks = vec![fresh_check("kubernetes data", &obs.kube)];
    let Some(kube) = obs.kube.value.as_ref() else { return checks };
    checks.push(pod_exists(kube, context, namespace, pod));
    // Unlike a repoint, labelling a pod no PostgreSQL node is known to run in is refused.
    checks.push(writable_primary(obs, pod).unwrap_or_else(|| {
        Check::new("pod is the writable primary", false, format!("no PostgreSQL node runs in {pod}"))
    }));
    checks
}

/// Holds when the observed pod carries the label.
pub(super) fn label_verify(
    obs: &Observed,
    context: &str,
    namespace: &str,
    pod: &str,
    key: &str,
    value: &str,
) -> Verify {
    let Some(kube) = obs.kube.fresh_value() else { return Verify::NotYet("no fresh Kubernetes data".into()) };
    match pod_label(kube, context, namespace, pod, key) {
        Some(v) if v == value => Verify::Holds(format!("{pod} is labelled {key}={value}")),
        Some(v) => Verify::NotYet(format!("{pod} is labelled {key}={v}")),
        None => Verify::NotYet(format!("{pod} has no label {key}")),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use super::*;
    use crate::backends::Snapshot;
    use crate::backends::model::ServiceView;

    fn observed(role: &str, endpoints: &[&str]) -> Observed {
        let pod = PodRow {
            context: "us-east-1".into(),
            namespace: "database".into(),
            name: "postgresql-1".into(),
            ready: 1,
            containers: 1,
            phase: "Running".into(),
            restarts: 0,
            reason: None,
            started_at: None,
            node: None,
            labels: BTreeMap::from([("role".to_string(), role.to_string())]),
        };
        let view = KubeView {
            pods: Arc::new(vec![pod]),
            db_service: Some(ServiceView {
                context: "us-east-1".into(),
                namespace: "database".into(),
                name: "postgresql".into(),
                selector: BTreeMap::new(),
                endpoint_pods: endpoints.iter().map(|e| e.to_string()).collect(),
                endpoints: vec![],
            }),
            ..KubeView::default()
        };
        Observed { kube: Arc::new(Snapshot::fresh(view, chrono::Utc::now())), ..Observed::default() }
    }

    fn verify_pg1(obs: &Observed) -> Verify {
        verify(obs, "us-east-1", "database", "postgresql-1")
    }

    #[test]
    fn a_pod_not_yet_relabelled_is_named_as_the_reason() {
        match verify_pg1(&observed("replica", &[])) {
            Verify::NotYet(why) => {
                assert!(why.starts_with("endpoints: none; postgresql-1 is labelled role=replica"), "{why}")
            }
            other => panic!("{other:?}"),
        }
        // Relabelled, endpoints not caught up yet: no labeller hint.
        assert_eq!(verify_pg1(&observed("primary", &[])), Verify::NotYet("endpoints: none".into()));
        assert_eq!(
            verify_pg1(&observed("primary", &["postgresql-1"])),
            Verify::Holds("endpoints contain only postgresql-1".into())
        );
        assert!(matches!(
            verify_pg1(&observed("primary", &["postgresql-0", "postgresql-1"])),
            Verify::NotYet(_)
        ));
    }

    /// A pod that gets traffic only because it is terminating and nothing is ready is no
    /// successful repoint.
    #[test]
    fn a_terminating_endpoint_does_not_verify_a_repoint() {
        use crate::backends::model::{EndpointState, ServiceEndpoint};
        let mut obs = observed("primary", &["postgresql-1"]);
        let mut view = obs.kube.value.clone().expect("view");
        view.db_service.as_mut().expect("svc").endpoints = vec![ServiceEndpoint {
            pod: "postgresql-1".into(),
            state: EndpointState::ServingTerminating,
            traffic: true,
        }];
        obs.kube = Arc::new(Snapshot::fresh(view, chrono::Utc::now()));
        assert_eq!(
            verify_pg1(&obs),
            Verify::NotYet("endpoints: postgresql-1, terminating (no endpoint is ready)".into())
        );
    }

    #[test]
    fn label_pod_verifies_on_the_observed_label_and_its_gate_says_why() {
        use crate::backends::model::{DatabaseView, PgNodeStatus, PgRole};
        use crate::runbook::gate::Gate;
        let label =
            |obs: &Observed| label_verify(obs, "us-east-1", "database", "postgresql-1", "role", "primary");
        assert_eq!(
            label(&observed("replica", &[])),
            Verify::NotYet("postgresql-1 is labelled role=replica".into())
        );
        assert_eq!(
            label(&observed("primary", &[])),
            Verify::Holds("postgresql-1 is labelled role=primary".into())
        );
        let with_db = |role: &str| {
            let node = PgNodeStatus {
                name: "pg-1".into(),
                role: PgRole::Primary,
                pod: Some("postgresql-1".into()),
                ..PgNodeStatus::default()
            };
            let db = DatabaseView { nodes: vec![node] };
            Observed { database: Arc::new(Snapshot::fresh(db, chrono::Utc::now())), ..observed(role, &[]) }
        };
        let gate = Gate::parse("pod-not-labelled-primary:pg-1").expect("gate");
        assert_eq!(gate.text(), "pod-not-labelled-primary:pg-1");
        assert_eq!(gate.check(&with_db("replica")), Ok("postgresql-1 is labelled role=replica".into()));
        assert_eq!(
            gate.check(&with_db("primary")),
            Err("postgresql-1 is already labelled role=primary".into())
        );
        let checks = label_checks(&with_db("replica"), "us-east-1", "database", "postgresql-1");
        assert!(checks.iter().all(|c| c.ok), "{checks:?}");
        let checks = label_checks(&observed("replica", &[]), "us-east-1", "database", "postgresql-1");
        assert!(
            checks.iter().any(|c| !c.ok && c.detail == "no PostgreSQL node runs in postgresql-1"),
            "{checks:?}"
        );
    }
}
