//! Test objects created through the real API server: namespaces (ready for pods), Deployments,
//! Services, bare pods, RBAC for limited users, and waits on what the controllers and the
//! kubelet do with them. Objects are JSON so a test reads like the YAML an operator would apply.

use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Pod, Service, ServiceAccount};
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};

use super::ControlPlane;
use super::kubelet::BEHAVIOUR_LABEL;

/// Poll `probe` every 50 ms until it returns `Some`, or panic after `within` saying `what`.
pub async fn eventually<T, F, Fut>(what: &str, within: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let end = Instant::now() + within;
    loop {
        let last = match probe().await {
            Ok(v) => return v,
            Err(e) => e,
        };
        assert!(Instant::now() < end, "timed out after {within:?} waiting for {what}; last: {last}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A namespace name unique to this test process and call (`<prefix>-<pid>-<n>`).
pub fn unique_namespace(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!("{prefix}-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

impl ControlPlane {
    /// Create namespace `ns` in `context` and wait until its `default` ServiceAccount exists
    /// (pods cannot be admitted before the ServiceAccount controller made it).
    pub async fn namespace(&self, context: &str, ns: &str) {
        let client = self.client(context).await;
        let api: Api<Namespace> = Api::all(client.clone());
        let obj: Namespace = serde_json::from_value(json!({ "metadata": { "name": ns } })).expect("ns");
        match api.create(&PostParams::default(), &obj).await {
            Ok(_) => {}
            Err(kube::Error::Api(e)) if e.code == 409 => {}
            Err(e) => panic!("create namespace {ns} in {context}: {e}"),
        }
        let sa: Api<ServiceAccount> = Api::namespaced(client, ns);
        eventually(&format!("ServiceAccount {ns}/default in {context}"), Duration::from_secs(20), || async {
            sa.get("default").await.map(|_| ()).map_err(|e| e.to_string())
        })
        .await;
    }

    /// Create any namespaced object from JSON (`apiVersion`/`kind` decide the API).
    pub async fn apply(&self, context: &str, ns: &str, obj: Value) -> Value {
        let client = self.client(context).await;
        let (group, version) = match obj["apiVersion"].as_str().expect("apiVersion").split_once('/') {
            Some((g, v)) => (g.to_string(), v.to_string()),
            None => (String::new(), obj["apiVersion"].as_str().unwrap_or("v1").to_string()),
        };
        let kind = obj["kind"].as_str().expect("kind").to_string();
        let gvk = GroupVersionKind::gvk(&group, &version, &kind);
        let ar = ApiResource::from_gvk(&gvk);
        let api: Api<DynamicObject> = if obj["metadata"]["namespace"].is_null() && is_cluster_scoped(&kind) {
            Api::all_with(client, &ar)
        } else {
            Api::namespaced_with(client, ns, &ar)
        };
        let dynamic: DynamicObject = serde_json::from_value(obj.clone()).expect("object json");
        let created = api
            .create(&PostParams::default(), &dynamic)
            .await
            .unwrap_or_else(|e| panic!("create {kind} in {context}/{ns}: {e}\n{obj}"));
        serde_json::to_value(created).expect("json")
    }

    /// A Deployment `name` of `replicas` pods labelled `app=<name>` plus `labels`, image
    /// `example/<name>:1` (never pulled: the harness kubelet runs nothing).
    pub async fn deployment(
        &self,
        context: &str,
        ns: &str,
        name: &str,
        replicas: i32,
        labels: &[(&str, &str)],
    ) -> Deployment {
        let mut pod_labels = serde_json::Map::new();
        pod_labels.insert("app".into(), json!(name));
        for (k, v) in labels {
            pod_labels.insert((*k).into(), json!(v));
        }
        let obj = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": { "name": name, "namespace": ns },
            "spec": {
                "replicas": replicas,
                "selector": { "matchLabels": { "app": name } },
                "template": {
                    "metadata": { "labels": pod_labels },
                    "spec": { "containers": [{ "name": "main", "image": format!("example/{name}:1") }] },
                },
            },
        });
        serde_json::from_value(self.apply(context, ns, obj).await).expect("deployment")
    }

    /// A bare pod (no controller) with one container `main`.
    pub async fn pod(&self, context: &str, ns: &str, name: &str, labels: &[(&str, &str)]) -> Pod {
        let labels: serde_json::Map<String, Value> =
            labels.iter().map(|(k, v)| ((*k).into(), json!(v))).collect();
        let obj = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": { "name": name, "namespace": ns, "labels": labels },
            "spec": { "containers": [{ "name": "main", "image": "example/app:1" }] },
        });
        serde_json::from_value(self.apply(context, ns, obj).await).expect("pod")
    }

    /// A ClusterIP Service on port 5432 selecting `selector`.
    pub async fn service(&self, context: &str, ns: &str, name: &str, selector: &[(&str, &str)]) -> Service {
        let selector: serde_json::Map<String, Value> =
            selector.iter().map(|(k, v)| ((*k).into(), json!(v))).collect();
        let obj = json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": { "name": name, "namespace": ns },
            "spec": { "selector": selector, "ports": [{ "name": "postgres", "port": 5432, "targetPort": 5432 }] },
        });
        serde_json::from_value(self.apply(context, ns, obj).await).expect("service")
    }

    /// Wait until `n` pods matching `selector` in `ns` are Ready (kubelet-reported).
    pub async fn wait_pods_ready(&self, context: &str, ns: &str, selector: &str, n: usize) -> Vec<Pod> {
        let pods: Api<Pod> = Api::namespaced(self.client(context).await, ns);
        eventually(
            &format!("{n} ready pods {selector} in {context}/{ns}"),
            Duration::from_secs(30),
            || async {
                let list =
                    pods.list(&ListParams::default().labels(selector)).await.map_err(|e| e.to_string())?;
                let ready: Vec<Pod> = list.items.into_iter().filter(pod_ready).collect();
                if ready.len() == n { Ok(ready) } else { Err(format!("{} ready", ready.len())) }
            },
        )
        .await
    }

    /// Wait until Deployment `name` reports `n` available replicas (the controllers' view).
    pub async fn wait_deployment_available(&self, context: &str, ns: &str, name: &str, n: i32) {
        let api: Api<Deployment> = Api::namespaced(self.client(context).await, ns);
        eventually(
            &format!("deployment {ns}/{name} with {n} available in {context}"),
            Duration::from_secs(30),
            || async {
                let d = api.get(name).await.map_err(|e| e.to_string())?;
                let st = d.status.unwrap_or_default();
                let (avail, updated) = (st.available_replicas.unwrap_or(0), st.updated_replicas.unwrap_or(0));
                if avail == n && updated == n && st.replicas.unwrap_or(0) == n {
                    Ok(())
                } else {
                    Err(format!("{st:?}"))
                }
            },
        )
        .await;
    }

    /// Bind `user` (a token user or client-certificate CN) to the built-in ClusterRole `role`
    /// (`view`, `edit`, `admin`) in namespace `ns`.
    pub async fn grant(&self, context: &str, ns: &str, user: &str, role: &str) {
        let obj = json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": { "name": format!("{user}-{role}"), "namespace": ns },
            "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role },
            "subjects": [{ "apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user }],
        });
        self.apply(context, ns, obj).await;
    }

    /// Merge-patch a pod's labels (`None` removes one).
    pub async fn label_pod(&self, context: &str, ns: &str, name: &str, labels: &[(&str, Option<&str>)]) {
        let labels: serde_json::Map<String, Value> =
            labels.iter().map(|(k, v)| ((*k).into(), json!(v))).collect();
        let api: Api<Pod> = Api::namespaced(self.client(context).await, ns);
        api.patch(name, &PatchParams::default(), &Patch::Merge(&json!({ "metadata": { "labels": labels } })))
            .await
            .unwrap_or_else(|e| panic!("label pod {ns}/{name}: {e}"));
    }
}

/// Whether a pod reports condition Ready=True.
pub fn pod_ready(p: &Pod) -> bool {
    p.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

fn is_cluster_scoped(kind: &str) -> bool {
    matches!(kind, "Namespace" | "Node" | "ClusterRole" | "ClusterRoleBinding")
}

/// The label that makes the harness kubelet crash-loop, OOM, or hold pods (see `kubelet`).
pub fn behaviour(b: &'static str) -> (&'static str, &'static str) {
    (BEHAVIOUR_LABEL, b)
}
