//! The kubelet's part, played by the harness (there is no container runtime): one Node per
//! cluster; every pod the scheduler would place is bound to it; bound pods get the status a
//! kubelet would report; pods being deleted are confirmed gone (a kubelet's last word).
//!
//! What a pod does is chosen by the label [`BEHAVIOUR_LABEL`] on the pod (or its Deployment's
//! template), or later per pod with [`Kubelet::set`]: `ready` (default), `not-ready`,
//! `crash-loop` (restarts grow every [`RESTART_EVERY`]), `oom` (OOMKilled then back-off) and
//! `pending` (bound, never started).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, Preconditions};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::{Value, json};

/// Label choosing what the kubelet makes of a pod.
pub const BEHAVIOUR_LABEL: &str = "kubelet.test.warroom/behaviour";
/// How often a crash-looping container restarts.
pub const RESTART_EVERY: Duration = Duration::from_millis(1000);

/// What the kubelet reports for one pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Running, every container ready.
    Ready,
    /// Running, containers not ready (failing readiness probe).
    NotReady,
    /// Container waiting in CrashLoopBackOff, last terminated with Error; restarts grow.
    CrashLoop,
    /// Like CrashLoop, last terminated OOMKilled.
    Oom,
    /// Bound but never started (Pending, ContainerCreating).
    Pending,
}

impl Behaviour {
    fn from_label(v: &str) -> Behaviour {
        match v {
            "not-ready" => Behaviour::NotReady,
            "crash-loop" => Behaviour::CrashLoop,
            "oom" => Behaviour::Oom,
            "pending" => Behaviour::Pending,
            _ => Behaviour::Ready,
        }
    }

    fn restarts(self) -> bool {
        matches!(self, Behaviour::CrashLoop | Behaviour::Oom)
    }
}

#[derive(Default)]
struct Pods {
    /// Overrides set by tests, by `namespace/name`.
    overrides: BTreeMap<String, Behaviour>,
    /// Restart counts of crash-looping pods, by uid.
    restarts: BTreeMap<String, i32>,
    /// Pod IPs handed out, by uid.
    ips: BTreeMap<String, String>,
    /// Pods whose containers restart, by uid: (namespace, name).
    crashing: BTreeMap<String, (String, String)>,
}

/// The fake kubelet of one cluster.
#[derive(Clone)]
pub struct Kubelet {
    /// The Node pods are bound to.
    pub node: String,
    /// First octets of pod IPs (`10.1`).
    ip_prefix: String,
    state: Arc<Mutex<Pods>>,
    client: kube::Client,
}

fn key(pod: &Pod) -> String {
    format!(
        "{}/{}",
        pod.metadata.namespace.as_deref().unwrap_or(""),
        pod.metadata.name.as_deref().unwrap_or("")
    )
}

impl Kubelet {
    /// Register the Node and start binding and reporting (tasks on the current runtime).
    pub async fn start(
        client: kube::Client,
        node: &str,
        ip_prefix: &str,
    ) -> (Kubelet, Vec<tokio::task::JoinHandle<()>>) {
        let nodes: Api<Node> = Api::all(client.clone());
        let node_obj: Node = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "Node",
            "metadata": { "name": node, "labels": { "kubernetes.io/hostname": node } },
        }))
        .expect("node json");
        nodes.create(&PostParams::default(), &node_obj).await.expect("create Node");
        let status = json!({ "status": {
            "conditions": [{ "type": "Ready", "status": "True", "reason": "KubeletReady",
                             "message": "kubelet played by the test harness",
                             "lastHeartbeatTime": now(), "lastTransitionTime": now() }],
            "capacity": { "cpu": "1000", "memory": "4000Gi", "pods": "100000" },
            "allocatable": { "cpu": "1000", "memory": "4000Gi", "pods": "100000" },
            "addresses": [{ "type": "InternalIP", "address": "127.0.0.1" }],
        }});
        nodes.patch_status(node, &PatchParams::default(), &Patch::Merge(&status)).await.expect("Node status");
        let kubelet = Kubelet {
            node: node.to_string(),
            ip_prefix: ip_prefix.to_string(),
            state: Arc::new(Mutex::new(Pods::default())),
            client,
        };
        let watch = tokio::spawn(kubelet.clone().watch());
        let restarts = tokio::spawn(kubelet.clone().restart_loop());
        (kubelet, vec![watch, restarts])
    }

    /// Make `namespace/name` behave as `b` from now on (the status is written at once).
    pub async fn set(&self, namespace: &str, name: &str, b: Behaviour) {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .overrides
            .insert(format!("{namespace}/{name}"), b);
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), namespace);
        let pod = pods.get(name).await.unwrap_or_else(|e| panic!("kubelet.set: pod {namespace}/{name}: {e}"));
        self.track(&pod, b);
        self.report(&pod).await;
    }

    fn behaviour(&self, pod: &Pod) -> Behaviour {
        let st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        st.overrides.get(&key(pod)).copied().unwrap_or_else(|| {
            let labels = pod.metadata.labels.as_ref();
            Behaviour::from_label(labels.and_then(|l| l.get(BEHAVIOUR_LABEL)).map_or("ready", String::as_str))
        })
    }

    async fn watch(self) {
        let pods: Api<Pod> = Api::all(self.client.clone());
        let stream = watcher(pods, watcher::Config::default().any_semantic())
            .backoff(watcher::DefaultBackoff::default());
        stream
            .for_each_concurrent(32, |ev| {
                let me = self.clone();
                async move {
                    match ev {
                        Ok(watcher::Event::Apply(pod) | watcher::Event::InitApply(pod)) => {
                            me.handle(pod).await
                        }
                        Ok(watcher::Event::Delete(pod)) => me.forget(&pod),
                        _ => {}
                    }
                }
            })
            .await;
    }

    fn forget(&self, pod: &Pod) {
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        st.restarts.remove(&uid);
        st.ips.remove(&uid);
        st.crashing.remove(&uid);
    }

    async fn handle(&self, pod: Pod) {
        let (ns, name) = (
            pod.metadata.namespace.clone().unwrap_or_default(),
            pod.metadata.name.clone().unwrap_or_default(),
        );
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), &ns);
        if pod.metadata.deletion_timestamp.is_some() {
            let dp = DeleteParams {
                grace_period_seconds: Some(0),
                preconditions: Some(Preconditions { uid: pod.metadata.uid.clone(), resource_version: None }),
                ..DeleteParams::default()
            };
            let _ = pods.delete(&name, &dp).await;
            return;
        }
        let bound = pod.spec.as_ref().and_then(|s| s.node_name.as_deref()).is_some_and(|n| !n.is_empty());
        if !bound {
            let binding = json!({
                "apiVersion": "v1", "kind": "Binding",
                "metadata": { "name": name, "namespace": ns },
                "target": { "apiVersion": "v1", "kind": "Node", "name": self.node },
            });
            // A pod bound twice answers Conflict: the first binding stands.
            let _ = pods
                .create_subresource::<Value, Value>("binding", &name, &PostParams::default(), &binding)
                .await;
            return;
        }
        let behaviour = self.behaviour(&pod);
        self.track(&pod, behaviour);
        let desired = self.status(&pod, behaviour);
        if !status_matches(&pod, &desired) {
            self.report(&pod).await;
        }
    }

    /// Remember whether `pod` restarts (the restart loop visits only those).
    fn track(&self, pod: &Pod, b: Behaviour) {
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if b.restarts() {
            let at = (
                pod.metadata.namespace.clone().unwrap_or_default(),
                pod.metadata.name.clone().unwrap_or_default(),
            );
            st.crashing.insert(uid, at);
        } else {
            st.crashing.remove(&uid);
        }
    }

    /// Write the status `pod` should have now.
    async fn report(&self, pod: &Pod) {
        let bound = pod.spec.as_ref().and_then(|s| s.node_name.as_deref()).is_some_and(|n| !n.is_empty());
        if !bound || pod.metadata.deletion_timestamp.is_some() {
            return;
        }
        let status = self.status(pod, self.behaviour(pod));
        let pods: Api<Pod> =
            Api::namespaced(self.client.clone(), pod.metadata.namespace.as_deref().unwrap_or(""));
        let name = pod.metadata.name.as_deref().unwrap_or("");
        let _ = pods
            .patch_status(name, &PatchParams::default(), &Patch::Merge(&json!({ "status": status })))
            .await;
    }

    async fn restart_loop(self) {
        loop {
            tokio::time::sleep(RESTART_EVERY).await;
            let crashing: Vec<(String, (String, String))> = {
                let st = self.state.lock().unwrap_or_else(|e| e.into_inner());
                st.crashing.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
            };
            for (uid, (ns, name)) in crashing {
                let pods: Api<Pod> = Api::namespaced(self.client.clone(), &ns);
                let Ok(pod) = pods.get(&name).await else { continue };
                if pod.metadata.uid.as_deref() != Some(uid.as_str())
                    || pod.metadata.deletion_timestamp.is_some()
                {
                    continue;
                }
                *self.state.lock().unwrap_or_else(|e| e.into_inner()).restarts.entry(uid).or_insert(0) += 1;
                self.report(&pod).await;
            }
        }
    }

    fn ip(&self, uid: &str) -> String {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let n = st.ips.len() + 2;
        st.ips
            .entry(uid.to_string())
            .or_insert_with(|| format!("{}.{}.{}", self.ip_prefix, n / 250, n % 250 + 2))
            .clone()
    }

    /// The `status` a kubelet would report for `pod` behaving as `b`.
    fn status(&self, pod: &Pod, b: Behaviour) -> Value {
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        let restarts =
            self.state.lock().unwrap_or_else(|e| e.into_inner()).restarts.get(&uid).copied().unwrap_or(0);
        let start = pod.metadata.creation_timestamp.as_ref().map_or_else(now, |t| t.0.to_string());
        let ready = b == Behaviour::Ready;
        let flag = if ready { "True" } else { "False" };
        let containers: Vec<Value> = pod
            .spec
            .as_ref()
            .map(|s| {
                s.containers
                    .iter()
                    .map(|c| {
                        container_status(&c.name, &c.image.clone().unwrap_or_default(), b, restarts, &start)
                    })
                    .collect()
            })
            .unwrap_or_default();
        let phase = if b == Behaviour::Pending { "Pending" } else { "Running" };
        let mut status = json!({
            "phase": phase,
            "hostIP": "127.0.0.1",
            "startTime": start,
            "conditions": [
                { "type": "PodScheduled", "status": "True" },
                { "type": "Initialized", "status": "True" },
                { "type": "ContainersReady", "status": flag },
                { "type": "Ready", "status": flag },
            ],
            "containerStatuses": containers,
        });
        if b != Behaviour::Pending {
            let ip = self.ip(&uid);
            status["podIP"] = json!(ip);
            status["podIPs"] = json!([{ "ip": ip }]);
        }
        status
    }
}

fn container_status(name: &str, image: &str, b: Behaviour, restarts: i32, start: &str) -> Value {
    let state = match b {
        Behaviour::Ready | Behaviour::NotReady => json!({ "running": { "startedAt": start } }),
        Behaviour::Pending => json!({ "waiting": { "reason": "ContainerCreating" } }),
        Behaviour::CrashLoop | Behaviour::Oom => json!({ "waiting": {
            "reason": "CrashLoopBackOff",
            "message": format!("back-off restarting failed container {name}"),
        } }),
    };
    let mut s = json!({
        "name": name, "image": image, "imageID": "", "ready": b == Behaviour::Ready,
        "started": matches!(b, Behaviour::Ready | Behaviour::NotReady),
        "restartCount": if b.restarts() { restarts } else { 0 },
        "state": state,
    });
    if b.restarts() {
        let (reason, code) = if b == Behaviour::Oom { ("OOMKilled", 137) } else { ("Error", 1) };
        s["lastState"] = json!({ "terminated": { "reason": reason, "exitCode": code, "startedAt": start, "finishedAt": now() } });
    }
    s
}

/// Whether the pod already reports what `desired` says (phase, readiness, restarts).
fn status_matches(pod: &Pod, desired: &Value) -> bool {
    let Some(status) = pod.status.as_ref() else { return false };
    let ready = |v: &Value| {
        v["containerStatuses"].as_array().map(|cs| {
            cs.iter().map(|c| (c["ready"].as_bool(), c["restartCount"].as_i64())).collect::<Vec<_>>()
        })
    };
    let current = serde_json::to_value(status).unwrap_or_default();
    current["phase"] == desired["phase"]
        && ready(&current) == ready(desired)
        && current["podIP"] == desired["podIP"]
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
