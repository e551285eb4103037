//! What a Kubernetes operation needs to be allowed to do ([`AccessRequest`]: exactly the verb,
//! API group, resource, subresource, namespace and name), and what the API server answered
//! when asked with a SelfSubjectAccessReview ([`AccessAnswer`]). The precheck that turns
//! answers into checks is `runbook::operation::precheck`; the call is `backends::kube::access`.

use serde::{Deserialize, Serialize};

use super::Operation;

/// One permission an operation needs, in one context.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AccessRequest {
    /// Kube context the request goes to.
    pub context: String,
    /// Verb (`patch`, `list`, `create`, ...).
    pub verb: String,
    /// API group (`""` for the core group, `apps`, ...).
    pub group: String,
    /// Resource (plural: `services`, `deployments`).
    pub resource: String,
    /// Subresource (`scale`, `exec`), if any.
    pub subresource: Option<String>,
    /// Namespace.
    pub namespace: String,
    /// Object name (`None`: every object of the resource, as a list does).
    pub name: Option<String>,
}

impl AccessRequest {
    fn new(context: &str, verb: &str, group: &str, resource: &str, namespace: &str) -> AccessRequest {
        AccessRequest {
            context: context.into(),
            verb: verb.into(),
            group: group.into(),
            resource: resource.into(),
            subresource: None,
            namespace: namespace.into(),
            name: None,
        }
    }

    fn named(mut self, name: &str) -> AccessRequest {
        self.name = Some(name.into());
        self
    }

    fn sub(mut self, subresource: &str) -> AccessRequest {
        self.subresource = Some(subresource.into());
        self
    }

    /// `patch services in database`, `patch deployments/scale in default` (as RBAC words it).
    pub fn action(&self) -> String {
        let resource = match &self.subresource {
            Some(s) => format!("{}/{s}", self.resource),
            None => self.resource.clone(),
        };
        format!("{} {resource} in {}", self.verb, self.namespace)
    }

    /// Which object in which context: `postgresql in us-east-1` (or `all in us-east-1`).
    pub fn target(&self) -> String {
        format!("{} in {}", self.name.as_deref().unwrap_or("all"), self.context)
    }
}

/// What the API server said about one [`AccessRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "answer", rename_all = "kebab-case")]
pub enum AccessAnswer {
    /// Allowed for `user`.
    Allowed {
        /// Who asked (SelfSubjectReview's user name, else the kubeconfig user).
        user: String,
    },
    /// Denied for `user`, with the authorizer's reason when it gave one.
    Denied {
        /// Who asked.
        user: String,
        /// The reason the API server gave (often empty for RBAC).
        reason: String,
    },
    /// The question could not be asked or was not answered (never taken as allowed).
    Unknown {
        /// Why.
        error: String,
    },
}

impl Operation {
    /// The permissions this operation needs from the Kubernetes API server, exactly as the
    /// Kubernetes backend uses them (empty for operations that do not talk to Kubernetes).
    pub fn access_requests(&self) -> Vec<AccessRequest> {
        use AccessRequest as R;
        match self {
            Operation::PatchServiceSelector { context, namespace, service, .. } => {
                vec![R::new(context, "patch", "", "services", namespace).named(service)]
            }
            Operation::LabelPod { context, namespace, pod, .. } => {
                vec![R::new(context, "patch", "", "pods", namespace).named(pod)]
            }
            Operation::ScaleDeployment { context, namespace, deployment, .. } => {
                vec![
                    R::new(context, "patch", "apps", "deployments", namespace).named(deployment).sub("scale"),
                ]
            }
            // `kubectl rollout undo`: read the Deployment, list its ReplicaSets, patch the template.
            Operation::RollbackDeployment { context, namespace, deployment } => vec![
                R::new(context, "get", "apps", "deployments", namespace).named(deployment),
                R::new(context, "list", "apps", "replicasets", namespace),
                R::new(context, "patch", "apps", "deployments", namespace).named(deployment),
            ],
            // The exec API is a GET upgraded to a WebSocket; the API server authorizes it as
            // `create` (and, for the upgrade, `get`) on pods/exec.
            Operation::ExecPromote { context, namespace, pod, .. } => vec![
                R::new(context, "create", "", "pods", namespace).named(pod).sub("exec"),
                R::new(context, "get", "", "pods", namespace).named(pod).sub("exec"),
            ],
            Operation::CheckPrimary
            | Operation::PromotePostgres { .. }
            | Operation::FencePostgres { .. }
            | Operation::SentinelFailover { .. }
            | Operation::SetRoute53Weights { .. }
            | Operation::ShiftTraffic { .. }
            | Operation::Assert { .. }
            | Operation::VerifyWrites { .. }
            | Operation::VerifyDns { .. }
            | Operation::Manual { .. } => vec![],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kubernetes_mutation_names_its_exact_permission() {
        let op = Operation::PatchServiceSelector {
            context: "us-east-1".into(),
            namespace: "database".into(),
            service: "postgresql".into(),
            pod: "postgresql-1".into(),
        };
        let r = &op.access_requests()[0];
        assert_eq!(
            (r.action(), r.target()),
            ("patch services in database".into(), "postgresql in us-east-1".into())
        );
        let op = Operation::ScaleDeployment {
            context: "c".into(),
            namespace: "default".into(),
            deployment: "api".into(),
            replicas: 3,
        };
        let r = &op.access_requests()[0];
        assert_eq!((r.group.as_str(), r.action()), ("apps", "patch deployments/scale in default".into()));
        let op = Operation::RollbackDeployment {
            context: "c".into(),
            namespace: "n".into(),
            deployment: "api".into(),
        };
        let actions: Vec<String> = op.access_requests().iter().map(AccessRequest::action).collect();
        assert_eq!(actions, ["get deployments in n", "list replicasets in n", "patch deployments in n"]);
        assert!(Operation::CheckPrimary.access_requests().is_empty());
        for op in [
            op,
            Operation::LabelPod {
                context: "c".into(),
                namespace: "n".into(),
                pod: "p".into(),
                key: "role".into(),
                value: "primary".into(),
            },
        ] {
            assert!(op.is_mutating() && !op.access_requests().is_empty(), "{op:?}");
        }
    }
}
