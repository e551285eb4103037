//! [`KubeOperator`]: the mutating Kubernetes calls, each in the operation's own context and
//! namespace. An operation naming a context that is not configured fails; there is no
//! fallback to another context (or to the kubeconfig's current-context).

use futures::future::BoxFuture;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use kube::Api;
use kube::api::{Patch, PatchParams};
use serde_json::{Value, json};

use super::clients::KubeClients;
use crate::backends::Operate;
use crate::runbook::Operation;

/// Carries out `PatchServiceSelector` and `ScaleDeployment`.
#[derive(Debug, Clone)]
pub struct KubeOperator {
    clients: KubeClients,
}

/// The merge patch `PatchServiceSelector` sends (the failover plan's `kubectl patch`).
pub fn selector_patch(pod: &str) -> Value {
    json!({ "spec": { "selector": { "role": "primary", "statefulset.kubernetes.io/pod-name": pod } } })
}

/// The merge patch of the `scale` subresource that `ScaleDeployment` sends.
pub fn scale_patch(replicas: u32) -> Value {
    json!({ "spec": { "replicas": replicas } })
}

fn describe(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => format!("{} ({} {})", s.message, s.code, s.reason),
        other => other.to_string(),
    }
}

impl KubeOperator {
    /// An operator over these clients.
    pub fn new(clients: KubeClients) -> KubeOperator {
        KubeOperator { clients }
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
}

impl Operate for KubeOperator {
    fn execute(&self, op: &Operation) -> BoxFuture<'_, Result<String, String>> {
        let op = op.clone();
        Box::pin(async move {
            match op {
                Operation::PatchServiceSelector { context, namespace, service, pod } => {
                    self.patch_service_selector(&context, &namespace, &service, &pod).await
                }
                Operation::ScaleDeployment { context, namespace, deployment, replicas } => {
                    self.scale_deployment(&context, &namespace, &deployment, replicas).await
                }
                other => Err(format!("the Kubernetes backend cannot run {}", other.name())),
            }
        })
    }
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
    }
}
