//! [`KubeOperator`]: the mutating Kubernetes calls, each in the operation's own context and
//! namespace. An operation naming a context that is not configured fails; there is no
//! fallback to another context (or to the kubeconfig's current-context).

use futures::future::BoxFuture;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{Pod, Service};
use kube::Api;
use kube::api::{ListParams, Patch, PatchParams};
use serde_json::{Value, json};

use super::clients::KubeClients;
use super::exec::exec_in_pod;
use crate::backends::Operate;
use crate::operation::Operation;
use crate::operation::exec::pg_ctl_promote_argv;
use crate::operation::rollback::{REVISION_ANNOTATION, previous_revision, rollback_patch};

/// Carries out `PatchServiceSelector`, `LabelPod`, `ScaleDeployment`, `RollbackDeployment` and
/// `ExecPromote`.
#[derive(Debug, Clone)]
pub struct KubeOperator {
    clients: KubeClients,
}

/// The merge patch `PatchServiceSelector` sends (the failover plan's `kubectl patch`).
pub fn selector_patch(pod: &str) -> Value {
    json!({ "spec": { "selector": { "role": "primary", "statefulset.kubernetes.io/pod-name": pod } } })
}

/// The merge patch `LabelPod` sends (`kubectl label pod <pod> key=value --overwrite`).
pub fn label_patch(key: &str, value: &str) -> Value {
    json!({ "metadata": { "labels": { key: value } } })
}

/// The merge patch of the `scale` subresource that `ScaleDeployment` sends.
pub fn scale_patch(replicas: u32) -> Value {
    json!({ "spec": { "replicas": replicas } })
}

/// An API error as one line `message (code reason)` (a 403 Forbidden reads as what the user
/// may not do, never as a Status object), an exec credential plugin's failure with its stderr
/// ([`super::clients::describe_auth`]), anything else as its text.
pub(super) fn describe(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => {
            let message = s.message.split_whitespace().collect::<Vec<_>>().join(" ");
            format!("{message} ({} {})", s.code, s.reason)
        }
        other => super::clients::describe_auth(other).unwrap_or_else(|| other.to_string()),
    }
}

impl KubeOperator {
    /// An operator over these clients.
    pub fn new(clients: KubeClients) -> KubeOperator {
        KubeOperator { clients }
    }

    /// The clients it acts with.
    pub fn clients(&self) -> &KubeClients {
        &self.clients
    }

    /// Merge-patch a Service's `spec.selector` to point at one pod.
    pub async fn patch_service_selector(
        &self,
        context: &str,
        namespace: &str,
        service: &str,
        pod: &str,
    ) -> Result<String, String> {
        let client = self.clients.get(context)?.clone();
        let api: Api<Service> = Api::namespaced(client, namespace);
        let patched =
            api.patch(service, &PatchParams::default(), &Patch::Merge(selector_patch(pod)))
                .await
                .map_err(|e| format!("patch service {namespace}/{service} in {context}: {}", describe(&e)))?;
        let selector = patched.spec.and_then(|s| s.selector).unwrap_or_default();
        let shown: Vec<String> = selector.iter().map(|(k, v)| format!("{k}={v}")).collect();
        Ok(format!("Service {namespace}/{service} in {context} now selects {}", shown.join(",")))
    }

    /// Merge-patch one label of a pod.
    pub async fn label_pod(
        &self,
        context: &str,
        namespace: &str,
        pod: &str,
        key: &str,
        value: &str,
    ) -> Result<String, String> {
        let client = self.clients.get(context)?.clone();
        let api: Api<Pod> = Api::namespaced(client, namespace);
        let patched = api
            .patch(pod, &PatchParams::default(), &Patch::Merge(label_patch(key, value)))
            .await
            .map_err(|e| format!("label pod {namespace}/{pod} in {context}: {}", describe(&e)))?;
        let now = patched.metadata.labels.unwrap_or_default().get(key).cloned().unwrap_or_default();
        Ok(format!("pod {namespace}/{pod} in {context} now has {key}={now}"))
    }

    /// Set a deployment's replicas through its `scale` subresource (autoscaling/v1).
    pub async fn scale_deployment(
        &self,
        context: &str,
        namespace: &str,
        deployment: &str,
        replicas: u32,
    ) -> Result<String, String> {
        let client = self.clients.get(context)?.clone();
        let api: Api<Deployment> = Api::namespaced(client, namespace);
        let scale = api
            .patch_scale(deployment, &PatchParams::default(), &Patch::Merge(scale_patch(replicas)))
            .await
            .map_err(|e| {
                format!("scale deployment {namespace}/{deployment} in {context}: {}", describe(&e))
            })?;
        let now = scale.spec.and_then(|s| s.replicas).unwrap_or_default();
        Ok(format!("deployment {namespace}/{deployment} in {context} scaled to {now} replicas"))
    }

    /// Roll a Deployment back like `kubectl rollout undo`: the ReplicaSet it owns with the
    /// highest revision below its current one gives the template, sent without its
    /// `pod-template-hash` label as a strategic merge patch replacing `spec.template`.
    pub async fn rollback_deployment(
        &self,
        context: &str,
        namespace: &str,
        deployment: &str,
    ) -> Result<String, String> {
        let client = self.clients.get(context)?.clone();
        let where_ = format!("deployment {namespace}/{deployment} in {context}");
        let deps: Api<Deployment> = Api::namespaced(client.clone(), namespace);
        let d = deps.get(deployment).await.map_err(|e| format!("get {where_}: {}", describe(&e)))?;
        let current = revision(&d.metadata)
            .ok_or_else(|| format!("{where_} has no {REVISION_ANNOTATION} annotation: no rollout history"))?;
        let selector = d
            .spec
            .selector
            .match_labels
            .clone()
            .unwrap_or_default()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",");
        let uid = d.metadata.uid.clone().unwrap_or_default();
        let rss: Api<ReplicaSet> = Api::namespaced(client, namespace);
        let list = rss
            .list(&ListParams::default().labels(&selector))
            .await
            .map_err(|e| format!("list replicasets of {where_}: {}", describe(&e)))?;
        let owned: Vec<&ReplicaSet> = list
            .items
            .iter()
            .filter(|rs| rs.metadata.owner_references.iter().flatten().any(|o| o.uid == uid))
            .collect();
        let revisions: Vec<(String, u64)> = owned
            .iter()
            .filter_map(|rs| Some((rs.metadata.name.clone()?, revision(&rs.metadata)?)))
            .collect();
        let (name, rev) = previous_revision(&revisions, current)
            .ok_or_else(|| format!("{where_}: no revision before {current}: nothing to roll back to"))?;
        let template = owned
            .iter()
            .find(|rs| rs.metadata.name.as_ref() == Some(name))
            .and_then(|rs| rs.spec.template.as_ref())
            .ok_or_else(|| format!("ReplicaSet {namespace}/{name} has no pod template"))?;
        let template = serde_json::to_value(template).map_err(|e| e.to_string())?;
        let patch = rollback_patch(&template);
        deps.patch(deployment, &PatchParams::default(), &Patch::Strategic(&patch))
            .await
            .map_err(|e| format!("patch {where_}: {}", describe(&e)))?;
        Ok(format!(
            "{where_} rolled back from revision {current} to revision {rev} (ReplicaSet {name}): sent {patch}"
        ))
    }

    /// `pg_ctl promote -D <data_dir>` in a pod through the exec API; `Err` on a non-zero exit
    /// (with the command's cleaned stderr) or any API error. `data_dir` must be absolute.
    pub async fn exec_promote(
        &self,
        context: &str,
        namespace: &str,
        pod: &str,
        container: Option<&str>,
        data_dir: &str,
    ) -> Result<String, String> {
        if !data_dir.starts_with('/') {
            return Err(format!("data_dir {data_dir:?} is not an absolute path: nothing was run"));
        }
        let client = self.clients.get(context)?.clone();
        let argv = pg_ctl_promote_argv(data_dir);
        let shown = argv.join(" ");
        let out = exec_in_pod(client, namespace, pod, container, &argv)
            .await
            .map_err(|e| format!("exec `{shown}` in pod {namespace}/{pod} in {context}: {e}"))?;
        let said = if out.stdout.is_empty() { "no output".to_string() } else { out.stdout };
        Ok(format!("`{shown}` in pod {namespace}/{pod} in {context} exited 0: {said}"))
    }
}

impl Operate for KubeOperator {
    fn execute(&self, op: &Operation) -> BoxFuture<'_, Result<String, String>> {
        let op = op.clone();
        Box::pin(async move {
            match op {
                Operation::PatchServiceSelector { context, namespace, service, pod } => {
                    self.patch_service_selector(&context, &namespace, &service, &pod).await
                }
                Operation::LabelPod { context, namespace, pod, key, value } => {
                    self.label_pod(&context, &namespace, &pod, &key, &value).await
                }
                Operation::ScaleDeployment { context, namespace, deployment, replicas } => {
                    self.scale_deployment(&context, &namespace, &deployment, replicas).await
                }
                Operation::RollbackDeployment { context, namespace, deployment } => {
                    self.rollback_deployment(&context, &namespace, &deployment).await
                }
                Operation::ExecPromote { context, namespace, pod, container, data_dir, .. } => {
                    self.exec_promote(&context, &namespace, &pod, container.as_deref(), &data_dir).await
                }
                other => Err(format!("the Kubernetes backend cannot run {}", other.name())),
            }
        })
    }

    fn check_access(
        &self,
        requests: &[crate::operation::access::AccessRequest],
    ) -> BoxFuture<'_, Vec<crate::operation::access::AccessAnswer>> {
        let requests = requests.to_vec();
        Box::pin(async move { KubeOperator::check_access(self, &requests).await })
    }
}

/// The `deployment.kubernetes.io/revision` annotation as a number.
fn revision(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> Option<u64> {
    meta.annotations.as_ref()?.get(REVISION_ANNOTATION)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patches_match_the_preview() {
        let op = Operation::PatchServiceSelector {
            context: "c".into(),
            namespace: "database".into(),
            service: "postgresql".into(),
            pod: "postgresql-1".into(),
        };
        let preview = op.preview();
        assert_eq!(preview.lines[1], selector_patch("postgresql-1").to_string());
        let op = Operation::ScaleDeployment {
            context: "c".into(),
            namespace: "default".into(),
            deployment: "api".into(),
            replicas: 10,
        };
        assert!(op.preview().lines[0].ends_with(&scale_patch(10).to_string()));
        let op = Operation::LabelPod {
            context: "c".into(),
            namespace: "database".into(),
            pod: "postgresql-1".into(),
            key: "role".into(),
            value: "primary".into(),
        };
        let preview = op.preview();
        assert_eq!(
            preview.lines[0],
            "PATCH /api/v1/namespaces/database/pods/postgresql-1  (application/merge-patch+json)"
        );
        assert_eq!(preview.lines[1], label_patch("role", "primary").to_string());
    }

    #[tokio::test]
    async fn unknown_context_and_foreign_ops_are_refused() {
        let operator = KubeOperator::new(KubeClients::default());
        let op = Operation::ScaleDeployment {
            context: "us-west-2".into(),
            namespace: "default".into(),
            deployment: "api".into(),
            replicas: 3,
        };
        let err = operator.execute(&op).await.unwrap_err();
        assert!(err.contains("\"us-west-2\" is not configured"), "{err}");
        let err = operator.execute(&Operation::CheckPrimary).await.unwrap_err();
        assert!(err.contains("cannot run check-primary"), "{err}");
        let exec = |data_dir: &str| Operation::ExecPromote {
            context: "us-west-2".into(),
            namespace: "database".into(),
            pod: "postgresql-1".into(),
            container: None,
            data_dir: data_dir.into(),
            node: "postgresql-1".into(),
            max_lag_bytes: 0,
            accept_data_loss: None,
        };
        let err = operator.execute(&exec("/var/lib/postgresql/data")).await.unwrap_err();
        assert!(err.contains("\"us-west-2\" is not configured"), "{err}");
        let err = operator.execute(&exec("data")).await.unwrap_err();
        assert!(err.contains("not an absolute path"), "{err}");
    }
}
