//! A purpose-built, in-process Kubernetes API test server (JSON only).
//!
//! One [`KubeServer`] per "cluster", on an ephemeral loopback port, with a mutable in-memory
//! store the test drives. [`KubeLab`] starts one server per context and writes a kubeconfig
//! naming them (its `current-context` deliberately points at a decoy context on the FIRST
//! cluster, so code that ignores the explicit context is caught writing to the wrong place).
//! Checked against the real `kubectl` in `tests/kube_server_kubectl.rs`.
#![allow(dead_code)]

pub mod api;
pub mod exec;
pub mod patch;
pub mod resources;
pub mod selector;
pub mod slices;
pub mod store;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

use self::api::Shared;
use self::store::Store;

/// One test API server ("cluster").
pub struct KubeServer {
    shared: Arc<Shared>,
    addr: SocketAddr,
    accept: Mutex<Option<JoinHandle<()>>>,
}

impl KubeServer {
    /// Start on an ephemeral loopback port.
    pub async fn start() -> KubeServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let (expire, _) = tokio::sync::watch::channel(0u64);
        let shared = Arc::new(Shared {
            store: Mutex::new(Store::new()),
            expire,
            bookmark_every: Duration::from_millis(500),
            addr: addr.to_string(),
            execs: exec::ExecRegistry::default(),
        });
        let server = KubeServer { shared, addr, accept: Mutex::new(None) };
        server.serve(listener);
        server
    }

    fn serve(&self, listener: TcpListener) {
        let app = axum::Router::new()
            .route("/api/v1/namespaces/{ns}/pods/{pod}/exec", axum::routing::any(exec::handle))
            .fallback(api::handle)
            .with_state(self.shared.clone());
        let task = tokio::spawn(async move {
            // Connections live in this JoinSet: aborting this task drops (closes) them all.
            let mut conns = JoinSet::new();
            loop {
                while conns.try_join_next().is_some() {}
                let Ok((stream, _)) = listener.accept().await else { continue };
                let svc = hyper_util::service::TowerToHyperService::new(app.clone());
                conns.spawn(async move {
                    let io = hyper_util::rt::TokioIo::new(stream);
                    let _ =
                        hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new())
                            .serve_connection_with_upgrades(io, svc)
                            .await;
                });
            }
        });
        *self.accept.lock().unwrap_or_else(|e| e.into_inner()) = Some(task);
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stop listening and close every open connection (watches end abruptly).
    pub async fn stop(&self) {
        let task = self.accept.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(t) = task {
            t.abort();
            let _ = t.await;
        }
    }

    /// Listen again on the same port, with the same store.
    pub async fn start_again(&self) {
        let mut tries = 0;
        let listener = loop {
            match TcpListener::bind(self.addr).await {
                Ok(l) => break l,
                Err(e) if tries < 50 => {
                    tries += 1;
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(e) => panic!("rebind {}: {e}", self.addr),
            }
        };
        self.serve(listener);
    }

    /// Stop and start on the same port.
    pub async fn restart(&self) {
        self.stop().await;
        self.start_again().await;
    }

    /// Forget old resourceVersions: open watches end with a 410 ERROR event, and watches
    /// resuming from any earlier resourceVersion get one too.
    pub fn compact(&self) {
        let mut s = self.shared.store();
        s.compact();
        s.watches_frozen = false;
        drop(s);
        self.shared.expire.send_modify(|g| *g += 1);
    }

    /// Open watches stop receiving events (a stuck watch); `compact()` ends the freeze.
    pub fn freeze_watches(&self) {
        self.shared.store().watches_frozen = true;
    }

    /// Events frozen watches withheld so far, as `TYPE name` (`ADDED api-6`), one per watch
    /// that would have sent it: proof that a stuck watch really hid a change.
    pub fn withheld(&self) -> Vec<String> {
        self.shared.store().withheld.clone()
    }

    /// Whether deployments' status follows `spec.replicas` at once (default true).
    pub fn set_deployment_controller(&self, on: bool) {
        self.shared.store().deployment_controller = on;
    }

    /// Current resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.shared.store().rv()
    }

    /// Every request seen, `METHOD path?query`.
    pub fn requests(&self) -> Vec<String> {
        self.shared.store().requests.clone()
    }

    /// Run `handler` for every exec into pod `ns/name` (on a blocking thread: it may run real
    /// commands). A pod without a handler answers execs with an `InternalError` status.
    pub fn on_exec(
        &self,
        ns: &str,
        name: &str,
        handler: impl Fn(&exec::ExecRequest) -> exec::ExecResult + Send + Sync + 'static,
    ) {
        self.shared.execs.register(ns, name, Arc::new(handler));
    }

    /// Execs that reached a pod (after the WebSocket upgrade), in order.
    pub fn execs(&self) -> Vec<exec::ExecRequest> {
        self.shared.execs.seen()
    }

    /// Requests that could change something (anything but GET).
    pub fn writes(&self) -> Vec<String> {
        self.requests().into_iter().filter(|r| !r.starts_with("GET ")).collect()
    }

    /// An object by kind, namespace and name.
    pub fn get(&self, kind: &str, ns: &str, name: &str) -> Option<Value> {
        self.shared.store().get(resources::by_kind(kind), ns, name).ok()
    }

    /// Create any object of `kind` (panics on an API error: test setup is wrong).
    pub fn create(&self, kind: &str, ns: &str, obj: Value) -> Value {
        self.shared
            .store()
            .create(resources::by_kind(kind), ns, obj)
            .unwrap_or_else(|e| panic!("create {kind}: {e:?}"))
    }

    fn merge(&self, kind: &str, ns: &str, name: &str, patch: Value) -> Value {
        let body = patch.to_string();
        self.shared
            .store()
            .patch(resources::by_kind(kind), ns, name, patch::PatchKind::Merge, body.as_bytes())
            .unwrap_or_else(|e| panic!("patch {kind} {ns}/{name}: {e:?}"))
    }

    /// Add a Running, Ready pod with one container `main` on `node-1`.
    pub fn add_pod(&self, ns: &str, name: &str, labels: &[(&str, &str)]) -> Value {
        let labels: BTreeMap<&str, &str> = labels.iter().copied().collect();
        self.create(
            "Pod",
            ns,
            json!({
                "metadata": { "name": name, "labels": labels },
                "spec": { "nodeName": "node-1", "containers": [{ "name": "main", "image": "example/app:1" }] },
                "status": ready_status(true)
            }),
        )
    }

    /// Replace a pod's status.
    pub fn set_pod_status(&self, ns: &str, name: &str, status: Value) -> Value {
        let rt = resources::by_kind("Pod");
        let mut s = self.shared.store();
        let mut pod = s.get(rt, ns, name).unwrap_or_else(|e| panic!("pod {ns}/{name}: {e:?}"));
        pod["status"] = status;
        s.replace(rt, ns, name, pod).unwrap_or_else(|e| panic!("set status: {e:?}"))
    }

    /// Replace a pod's labels.
    pub fn set_pod_labels(&self, ns: &str, name: &str, labels: &[(&str, &str)]) -> Value {
        let rt = resources::by_kind("Pod");
        let labels: BTreeMap<&str, &str> = labels.iter().copied().collect();
        let mut s = self.shared.store();
        let mut pod = s.get(rt, ns, name).unwrap_or_else(|e| panic!("pod {ns}/{name}: {e:?}"));
        pod["metadata"]["labels"] = json!(labels);
        s.replace(rt, ns, name, pod).unwrap_or_else(|e| panic!("set labels: {e:?}"))
    }

    /// Delete a pod.
    pub fn delete_pod(&self, ns: &str, name: &str) {
        self.shared
            .store()
            .delete(resources::by_kind("Pod"), ns, name)
            .unwrap_or_else(|e| panic!("delete: {e:?}"));
    }

    /// Add a deployment selecting `app=<name>` with `replicas` desired (status follows when
    /// the deployment controller is on).
    pub fn add_deployment(&self, ns: &str, name: &str, replicas: u32) -> Value {
        self.create(
            "Deployment",
            ns,
            json!({
                "metadata": { "name": name, "labels": { "app": name } },
                "spec": {
                    "replicas": replicas,
                    "selector": { "matchLabels": { "app": name } },
                    "template": { "metadata": { "labels": { "app": name } },
                                  "spec": { "containers": [{ "name": "main", "image": "example/app:1" }] } }
                }
            }),
        )
    }

    /// Roll `deployment` out to a new revision running `image`, as the Deployment controller
    /// records it: a ReplicaSet `<deployment>-<hash>` owned by the deployment (controller
    /// reference), labelled and annotated with `pod-template-hash` and the revision, whose
    /// template is the deployment's new template plus the hash label; the deployment carries the
    /// template (without the hash) and the revision annotation. Returns the ReplicaSet's name.
    pub fn roll_out(&self, ns: &str, deployment: &str, revision: u64, image: &str) -> String {
        let d =
            self.get("Deployment", ns, deployment).unwrap_or_else(|| panic!("no deployment {deployment}"));
        let hash = format!("{:x}", 0x5f7c9d00 + revision * 0x1111);
        let name = format!("{deployment}-{hash}");
        let mut template = d["spec"]["template"].clone();
        template["spec"]["containers"][0]["image"] = json!(image);
        let mut rs_template = template.clone();
        rs_template["metadata"]["labels"]["pod-template-hash"] = json!(hash);
        let revision_text = revision.to_string();
        let replicas = d["spec"]["replicas"].clone();
        self.create(
            "ReplicaSet",
            ns,
            json!({
                "metadata": {
                    "name": name,
                    "labels": { "app": deployment, "pod-template-hash": hash },
                    "annotations": { "deployment.kubernetes.io/revision": revision_text },
                    "ownerReferences": [{
                        "apiVersion": "apps/v1", "kind": "Deployment", "name": deployment,
                        "uid": d["metadata"]["uid"], "controller": true, "blockOwnerDeletion": true
                    }]
                },
                "spec": {
                    "replicas": replicas,
                    "selector": { "matchLabels": { "app": deployment, "pod-template-hash": hash } },
                    "template": rs_template
                }
            }),
        );
        self.merge(
            "Deployment",
            ns,
            deployment,
            json!({
                "metadata": { "annotations": { "deployment.kubernetes.io/revision": revision_text } },
                "spec": { "template": template }
            }),
        );
        name
    }

    /// Set a deployment's ready and available replicas.
    pub fn set_deployment_ready(&self, ns: &str, name: &str, ready: u32) -> Value {
        self.merge(
            "Deployment",
            ns,
            name,
            json!({ "status": { "readyReplicas": ready, "availableReplicas": ready } }),
        )
    }

    /// Add a Service with a selector (port 5432).
    pub fn add_service(&self, ns: &str, name: &str, selector: &[(&str, &str)]) -> Value {
        let selector: BTreeMap<&str, &str> = selector.iter().copied().collect();
        self.create(
            "Service",
            ns,
            json!({
                "metadata": { "name": name },
                "spec": { "selector": selector, "ports": [{ "name": "pg", "port": 5432, "targetPort": 5432, "protocol": "TCP" }] }
            }),
        )
    }
}

impl Drop for KubeServer {
    fn drop(&mut self) {
        if let Some(t) = self.accept.lock().unwrap_or_else(|e| e.into_inner()).take() {
            t.abort();
        }
    }
}

/// A Running pod status with one container `main`, ready or not.
pub fn ready_status(ready: bool) -> Value {
    let s = if ready { "True" } else { "False" };
    json!({
        "phase": "Running",
        "startTime": "2026-11-26T11:00:00Z",
        "conditions": [{ "type": "Ready", "status": s }, { "type": "ContainersReady", "status": s }],
        "containerStatuses": [{
            "name": "main", "ready": ready, "restartCount": 0, "image": "example/app:1", "imageID": "",
            "started": true, "state": { "running": { "startedAt": "2026-11-26T11:00:01Z" } }
        }]
    })
}

/// A Running pod whose container waits with `reason` (e.g. CrashLoopBackOff) after `restarts`
/// restarts, its last termination being `last_reason` (e.g. OOMKilled).
pub fn waiting_status(reason: &str, restarts: u32, last_reason: &str) -> Value {
    json!({
        "phase": "Running",
        "startTime": "2026-11-26T11:00:00Z",
        "conditions": [{ "type": "Ready", "status": "False" }],
        "containerStatuses": [{
            "name": "main", "ready": false, "restartCount": restarts, "image": "example/app:1", "imageID": "",
            "started": false,
            "state": { "waiting": { "reason": reason, "message": "back-off restarting failed container" } },
            "lastState": { "terminated": { "reason": last_reason, "exitCode": 137,
                                           "startedAt": "2026-11-26T11:00:01Z", "finishedAt": "2026-11-26T11:00:09Z" } }
        }]
    })
}

/// Several servers, one per context, and a kubeconfig naming them.
pub struct KubeLab {
    /// Servers by context name.
    pub servers: BTreeMap<String, KubeServer>,
    /// The kubeconfig file.
    pub kubeconfig: PathBuf,
    /// The temp dir holding the kubeconfig and a kubectl cache dir.
    pub dir: tempfile::TempDir,
}

/// Name of the decoy current-context (points at the first cluster).
pub const DECOY_CONTEXT: &str = "decoy-current";

impl KubeLab {
    /// Start one server per context and write the kubeconfig.
    pub async fn start(contexts: &[&str]) -> KubeLab {
        let mut servers = BTreeMap::new();
        for c in contexts {
            servers.insert(c.to_string(), KubeServer::start().await);
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let mut clusters: Vec<Value> = contexts
            .iter()
            .map(|c| json!({ "name": c, "cluster": { "server": servers[*c].url() } }))
            .collect();
        let mut ctxs: Vec<Value> = contexts
            .iter()
            .map(|c| json!({ "name": c, "context": { "cluster": c, "user": "tester", "namespace": "default" } }))
            .collect();
        clusters.push(json!({ "name": DECOY_CONTEXT, "cluster": { "server": servers[contexts[0]].url() } }));
        ctxs.push(
            json!({ "name": DECOY_CONTEXT, "context": { "cluster": DECOY_CONTEXT, "user": "tester" } }),
        );
        let kc = json!({
            "apiVersion": "v1", "kind": "Config", "preferences": {},
            "current-context": DECOY_CONTEXT,
            "clusters": clusters, "contexts": ctxs,
            "users": [{ "name": "tester", "user": {} }]
        });
        let kubeconfig = dir.path().join("kubeconfig");
        std::fs::write(&kubeconfig, serde_json::to_vec_pretty(&kc).expect("json")).expect("write kubeconfig");
        KubeLab { servers, kubeconfig, dir }
    }

    /// The server of a context.
    pub fn server(&self, context: &str) -> &KubeServer {
        &self.servers[context]
    }
}
