//! Rolling a Deployment back ([`Operation::RollbackDeployment`]), as `kubectl rollout undo`
//! does: find the Deployment's ReplicaSet carrying the previous revision
//! (`deployment.kubernetes.io/revision`), and replace the Deployment's `spec.template` with that
//! ReplicaSet's template minus its `pod-template-hash` label. The Deployment controller then
//! scales the previous ReplicaSet back up and the bad one down.
//!
//! The verification is the pods: the Deployment's ready replicas reach the desired count and
//! none of its pods is unhealthy (crash-looping pods of the bad revision are gone).
//!
//! [`Operation::RollbackDeployment`]: super::Operation::RollbackDeployment

use super::fresh_check;
use crate::backends::Observed;
use crate::backends::model::{KubeView, PodRow};
use crate::operation::rollback::{HASH_LABEL, REVISION_ANNOTATION, owned_by};
use crate::operation::{Check, Preview, Verify};

fn pods<'a>(kube: &'a KubeView, context: &str, namespace: &str, deployment: &str) -> Vec<&'a PodRow> {
    kube.pods
        .iter()
        .filter(|p| p.context == context && p.namespace == namespace && owned_by(&p.name, deployment))
        .collect()
}

/// What a rollback sends, and where.
pub(super) fn preview(context: &str, namespace: &str, deployment: &str) -> Preview {
    let path = format!("/apis/apps/v1/namespaces/{namespace}/deployments/{deployment}");
    Preview {
        title: format!("Roll back {deployment} to its previous revision in {context}"),
        target: format!("context {context}, namespace {namespace}"),
        lines: vec![
            format!("GET {path}  -> current revision (annotation {REVISION_ANNOTATION})"),
            format!(
                "GET /apis/apps/v1/namespaces/{namespace}/replicasets?labelSelector=<{deployment}'s selector>  -> the ReplicaSet it owns with the highest revision below the current one"
            ),
            format!("PATCH {path}  (application/strategic-merge-patch+json)"),
            format!(
                "{{\"spec\":{{\"template\":{{\"$patch\":\"replace\", <that ReplicaSet's spec.template without the {HASH_LABEL} label>}}}}}}"
            ),
        ],
        blast_radius: format!(
            "every pod of {deployment} in {context} is replaced by the previous revision's (rolling update); the current revision's changes are undone"
        ),
    }
}

/// Prechecks of a Deployment operation (roll back, scale): fresh data and the Deployment exists.
pub(super) fn checks(obs: &Observed, context: &str, namespace: &str, deployment: &str) -> Vec<Check> {
    let mut checks = vec![fresh_check("kubernetes data", &obs.kube)];
    let Some(k) = obs.kube.value.as_ref() else { return checks };
    let found = k
        .deployments
        .iter()
        .any(|d| d.context == context && d.namespace == namespace && d.name == deployment);
    checks.push(Check::new(
        "deployment exists",
        found,
        if found {
            format!("{deployment} in {context}/{namespace}")
        } else {
            format!("no deployment {deployment} in {context}/{namespace}")
        },
    ));
    checks
}

/// Holds when the Deployment has all desired replicas ready and none of its pods is unhealthy.
pub(super) fn verify(obs: &Observed, context: &str, namespace: &str, deployment: &str) -> Verify {
    let Some(k) = obs.kube.fresh_value() else { return Verify::NotYet("no fresh Kubernetes data".into()) };
    let Some(d) = k
        .deployments
        .iter()
        .find(|d| d.context == context && d.namespace == namespace && d.name == deployment)
    else {
        return Verify::NotYet(format!("no deployment {deployment} in {context}/{namespace}"));
    };
    let bad: Vec<&str> = pods(k, context, namespace, deployment)
        .into_iter()
        .filter(|p| p.is_unhealthy())
        .map(|p| p.name.as_str())
        .collect();
    if d.ready >= d.desired && d.desired > 0 && bad.is_empty() {
        return Verify::Holds(format!("{deployment}: {}/{} ready, no unhealthy pod", d.ready, d.desired));
    }
    let mut why = format!("{deployment}: {}/{} ready", d.ready, d.desired);
    if !bad.is_empty() {
        why.push_str(&format!("; not ready: {}", bad.join(", ")));
    }
    Verify::NotYet(why)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::backends::Snapshot;
    use crate::backends::model::DeploymentRow;
    use crate::operation::rollback::{previous_revision, rollback_patch};

    fn pod(name: &str, ready: bool, reason: Option<&str>) -> PodRow {
        PodRow {
            context: "us-east-1".into(),
            namespace: "default".into(),
            name: name.into(),
            ready: u16::from(ready),
            containers: 1,
            phase: "Running".into(),
            restarts: 0,
            reason: reason.map(String::from),
            started_at: None,
            node: None,
            labels: BTreeMap::new(),
        }
    }

    fn observed(ready: u32, pods: Vec<PodRow>) -> Observed {
        let view = KubeView {
            pods: Arc::new(pods),
            deployments: vec![DeploymentRow {
                context: "us-east-1".into(),
                namespace: "default".into(),
                name: "api".into(),
                desired: 3,
                ready,
                available: ready,
            }],
            ..KubeView::default()
        };
        Observed { kube: Arc::new(Snapshot::fresh(view, chrono::Utc::now())), ..Observed::default() }
    }

    #[test]
    fn the_patch_replaces_the_template_without_the_hash_label() {
        let template = json!({
            "metadata": { "labels": { "app": "api", "pod-template-hash": "5f7c9d" } },
            "spec": { "containers": [ { "name": "api", "image": "api:1.4.1" } ] }
        });
        let patch = rollback_patch(&template);
        assert_eq!(
            patch,
            json!({ "spec": { "template": {
                "$patch": "replace",
                "metadata": { "labels": { "app": "api" } },
                "spec": { "containers": [ { "name": "api", "image": "api:1.4.1" } ] }
            } } })
        );
    }

    #[test]
    fn the_previous_revision_is_the_highest_below_the_current() {
        let rs = [("api-a".to_string(), 3), ("api-b".to_string(), 5), ("api-c".to_string(), 4)];
        assert_eq!(previous_revision(&rs, 5).map(|r| r.0.as_str()), Some("api-c"));
        assert_eq!(previous_revision(&rs, 3), None);
    }

    #[test]
    fn pods_are_matched_to_their_deployment_by_name() {
        assert!(owned_by("api-5f7c9d8b4-x2k9q", "api"));
        assert!(!owned_by("api-gateway-5f7c9d8b4-x2k9q", "api"));
        assert!(!owned_by("worker-5f7c9d8b4-x2k9q", "api"));
        assert!(!owned_by("api-x2k9q", "api"));
    }

    #[test]
    fn verified_when_all_replicas_are_ready_and_no_pod_crash_loops() {
        let ok = |n: &str| pod(n, true, None);
        let held = verify(
            &observed(3, vec![ok("api-a1-aaaaa"), ok("api-a1-bbbbb"), ok("api-a1-ccccc")]),
            "us-east-1",
            "default",
            "api",
        );
        assert!(matches!(held, Verify::Holds(_)), "{held:?}");
        let crashing = pod("api-b2-ddddd", false, Some("CrashLoopBackOff"));
        let v = verify(
            &observed(3, vec![ok("api-a1-aaaaa"), ok("api-a1-bbbbb"), ok("api-a1-ccccc"), crashing]),
            "us-east-1",
            "default",
            "api",
        );
        assert_eq!(v, Verify::NotYet("api: 3/3 ready; not ready: api-b2-ddddd".into()));
        let v =
            verify(&observed(2, vec![ok("api-a1-aaaaa"), ok("api-a1-bbbbb")]), "us-east-1", "default", "api");
        assert_eq!(v, Verify::NotYet("api: 2/3 ready".into()));
        let missing = verify(&observed(3, vec![]), "us-east-1", "default", "worker");
        assert!(matches!(missing, Verify::NotYet(w) if w.contains("no deployment worker")));
    }

    #[test]
    fn precheck_needs_the_deployment() {
        let obs = observed(2, vec![]);
        assert!(checks(&obs, "us-east-1", "default", "api").iter().all(|c| c.ok));
        let c = checks(&obs, "us-east-1", "default", "worker");
        assert!(c.iter().any(|c| !c.ok && c.detail == "no deployment worker in us-east-1/default"), "{c:?}");
    }
}
