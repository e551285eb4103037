//! The Kubernetes backend against the REAL control plane (tests/support/control_plane: etcd,
//! kube-apiserver and kube-controller-manager per region context, the harness kubelet): pod
//! and deployment watches per context (never the decoy current-context), a lost context, a
//! real `410 Gone` after an etcd compaction and an API server restart, the database Service
//! and its endpoints from the EndpointSlice controller's slices (hand-made slices:
//! `kube_endpoint_slices.rs`), repoint, label-pod and scale verified through the observer.
//!
//! What only our own test server can show (requests recorded: one LIST per namespace, pages,
//! the scale subresource's PATCH, no request at all to another cluster, no request after the
//! observer is dropped; a frozen watch; an ImagePullBackOff, which the harness kubelet does not
//! play) stays in `kube_backend_own_server.rs`.

mod support;

use support::kube_view::wait_until;

use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Pod, Service};
use kube::api::{Api, DeleteParams, ListParams};
use serde_json::json;
use warroom::backends::kube::{KubeClients, KubeObserveSpec, KubeObserver, KubeOperator};
use warroom::backends::model::{EndpointState, KubeView, PodRow, ServiceView};
use warroom::backends::{Observe, Observed, Operate, Snapshot};
use warroom::config::model::ObjectRef;
use warroom::operation::{Operation, Verify};

use support::control_plane::kubelet::Behaviour;
use support::control_plane::objects::unique_namespace;
use support::control_plane::{ControlPlane, TOKEN_USERS};
use support::fault_proxy::{FaultProxy, ProxyMode};

const EAST: &str = "us-east-1";
const WEST: &str = "us-west-2";
/// Controllers and the harness kubelet act within seconds; generous for a loaded machine.
const DEADLINE: Duration = Duration::from_secs(30);

/// The namespaces of one test's estate (unique per test: the control plane is shared).
struct Names {
    /// Applications: bare pods `api-1`, `api-2` (`app=web`) and Deployment `api` (2 replicas)
    /// in us-east-1; pod `api-w1` and Deployment `api` (0 replicas) in us-west-2.
    app: String,
    /// The database in us-east-1: `postgresql-0` (primary), `postgresql-1` (replica) and the
    /// Service `postgresql` selecting `app=postgresql,role=primary`.
    db: String,
    /// Not watched: a `coredns` pod in us-east-1.
    other: String,
}

fn pg_labels<'a>(n: &'a str, role: &'a str) -> [(&'a str, &'a str); 3] {
    [("app", "postgresql"), ("role", role), ("statefulset.kubernetes.io/pod-name", n)]
}

async fn estate(cp: &ControlPlane) -> Names {
    let n = Names {
        app: unique_namespace("kb-app"),
        db: unique_namespace("kb-db"),
        other: unique_namespace("kb-x"),
    };
    for (ctx, ns) in [(EAST, &n.app), (EAST, &n.db), (EAST, &n.other), (WEST, &n.app)] {
        cp.namespace(ctx, ns).await;
    }
    cp.pod(EAST, &n.app, "api-1", &[("app", "web")]).await;
    cp.pod(EAST, &n.app, "api-2", &[("app", "web")]).await;
    cp.pod(EAST, &n.other, "coredns", &[("app", "dns")]).await;
    cp.deployment(EAST, &n.app, "api", 2, &[]).await;
    cp.pod(EAST, &n.db, "postgresql-0", &pg_labels("postgresql-0", "primary")).await;
    cp.pod(EAST, &n.db, "postgresql-1", &pg_labels("postgresql-1", "replica")).await;
    cp.service(EAST, &n.db, "postgresql", &[("app", "postgresql"), ("role", "primary")]).await;
    cp.pod(WEST, &n.app, "api-w1", &[("app", "web")]).await;
    cp.deployment(WEST, &n.app, "api", 0, &[]).await;
    cp.wait_pods_ready(EAST, &n.app, "app=web", 2).await;
    cp.wait_pods_ready(EAST, &n.db, "app=postgresql", 2).await;
    cp.wait_pods_ready(WEST, &n.app, "app=web", 1).await;
    cp.wait_deployment_available(EAST, &n.app, "api", 2).await;
    n
}

fn spec(n: &Names) -> KubeObserveSpec {
    KubeObserveSpec {
        contexts: vec![EAST.into(), WEST.into()],
        namespaces: vec![n.app.clone(), n.db.clone()],
        db_service: Some(ObjectRef {
            context: EAST.into(),
            namespace: n.db.clone(),
            name: "postgresql".into(),
        }),
        heartbeat_every: Duration::from_millis(200),
        heartbeat_timeout: Duration::from_secs(1),
        backoff_min: Duration::from_millis(50),
    }
}

async fn clients(kubeconfig: &std::path::Path) -> KubeClients {
    let path = kubeconfig.to_string_lossy().to_string();
    KubeClients::from_kubeconfig(Some(&path), &[EAST.into(), WEST.into()]).await.expect("clients")
}

fn east_last_ok(v: &KubeView) -> Option<chrono::DateTime<chrono::Utc>> {
    v.contexts.iter().find(|c| c.context == EAST).and_then(|c| c.last_ok)
}

fn pod<'a>(v: &'a KubeView, ctx: &str, name: &str) -> Option<&'a PodRow> {
    v.pods.iter().find(|p| p.context == ctx && p.name == name)
}

fn ctx_error(v: &KubeView, ctx: &str) -> Option<String> {
    v.contexts.iter().find(|c| c.context == ctx).and_then(|c| c.error.clone())
}

fn svc(v: &KubeView) -> &ServiceView {
    v.db_service.as_ref().expect("database Service observed")
}

fn states(s: &ServiceView) -> Vec<(&str, EndpointState, bool)> {
    s.endpoints.iter().map(|e| (e.pod.as_str(), e.state, e.traffic)).collect()
}

/// Start observing `n` through `kubeconfig` and wait for the first sync of both contexts.
async fn observe(n: &Names, kubeconfig: &std::path::Path) -> (KubeObserver, KubeClients) {
    let clients = clients(kubeconfig).await;
    let obs = KubeObserver::start(&clients, spec(n));
    wait_until(&obs, DEADLINE, "first sync of both contexts", |v| {
        pod(v, EAST, "api-1").is_some()
            && pod(v, WEST, "api-w1").is_some()
            && v.db_service.as_ref().is_some_and(|s| s.endpoint_pods == ["postgresql-0"])
    })
    .await;
    (obs, clients)
}

async fn started() -> (&'static ControlPlane, Names, KubeObserver, KubeClients) {
    let cp = ControlPlane::shared();
    let n = estate(cp).await;
    let (obs, clients) = observe(&n, &cp.kubeconfig).await;
    (cp, n, obs, clients)
}

async fn delete_pod(cp: &ControlPlane, ctx: &str, ns: &str, name: &str) {
    let pods: Api<Pod> = Api::namespaced(cp.client(ctx).await, ns);
    pods.delete(name, &DeleteParams::default()).await.unwrap_or_else(|e| panic!("delete {ns}/{name}: {e}"));
}

/// The names of Deployment `app=<app>` pods (made by the ReplicaSet controller).
async fn pods_of(cp: &ControlPlane, ctx: &str, ns: &str, app: &str) -> Vec<String> {
    let pods: Api<Pod> = Api::namespaced(cp.client(ctx).await, ns);
    let list = pods.list(&ListParams::default().labels(&format!("app={app}"))).await.expect("list pods");
    list.items.into_iter().filter_map(|p| p.metadata.name).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pods_appear_change_and_disappear() {
    let (cp, n, obs, _) = started().await;
    let v = obs.observe().await.expect("view");
    assert!(pod(&v, EAST, "coredns").is_none(), "only configured namespaces are watched");
    // Each context reads its own cluster: the decoy current-context (us-west-2's server,
    // namespace `decoy`) is never used for us-east-1, nor is us-east-1 for us-west-2.
    assert!(pod(&v, EAST, "api-w1").is_none() && pod(&v, WEST, "api-1").is_none(), "{:?}", v.pods);
    assert_eq!(v.contexts.iter().map(|c| c.context.as_str()).collect::<Vec<_>>(), [EAST, WEST]);
    let api1 = pod(&v, EAST, "api-1").expect("api-1");
    let node = cp.cluster(EAST).kubelet.node.clone();
    assert_eq!(
        (api1.ready_text(), api1.phase.as_str(), api1.node.as_deref()),
        ("1/1".into(), "Running", Some(node.as_str()))
    );
    assert!(api1.labels.is_empty(), "labels are kept only for the database Service's pods");
    assert_eq!(
        pod(&v, EAST, "postgresql-1").expect("pg-1").labels.get("role").map(String::as_str),
        Some("replica")
    );
    let dep = v.deployments.iter().find(|d| d.context == EAST && d.name == "api").expect("deployment");
    assert_eq!((dep.desired, dep.ready, dep.available), (2, 2, 2));
    assert_eq!(svc(&v).endpoint_pods, ["postgresql-0"]);
    assert_eq!(states(svc(&v)), [("postgresql-0", EndpointState::Ready, true)]);
    assert!(v.contexts.iter().all(|c| c.error.is_none() && c.last_ok.is_some()), "{:?}", v.contexts);
    // (That the watch is not list-polling, one LIST per namespace, needs requests recorded:
    // kube_backend_own_server.rs.)

    cp.pod(EAST, &n.app, "api-3", &[("app", "web")]).await;
    wait_until(&obs, DEADLINE, "api-3 appears", |v| pod(v, EAST, "api-3").is_some()).await;
    cp.cluster(EAST).kubelet.set(&n.app, "api-1", Behaviour::NotReady).await;
    wait_until(&obs, DEADLINE, "api-1 not ready", |v| pod(v, EAST, "api-1").is_some_and(|p| p.ready == 0))
        .await;
    delete_pod(cp, EAST, &n.app, "api-2").await;
    let v = wait_until(&obs, DEADLINE, "api-2 gone", |v| pod(v, EAST, "api-2").is_none()).await;
    assert!(pod(&v, EAST, "api-1").is_some_and(PodRow::is_unhealthy));
    // One of the Deployment's pods fails its readiness: the controller's status says 1 of 2.
    let api_pods = pods_of(cp, EAST, &n.app, "api").await;
    cp.cluster(EAST).kubelet.set(&n.app, &api_pods[0], Behaviour::NotReady).await;
    wait_until(&obs, DEADLINE, "deployment 1/2 ready", |v| {
        v.deployments.iter().any(|d| d.context == EAST && d.name == "api" && d.ready == 1 && d.desired == 2)
    })
    .await;
}

/// An idle estate hands out the same pod list on every poll (no copy of every pod, and the
/// Pods pane and the log diff skip their work); any pod change gives a new list.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unchanged_pod_list_is_shared_between_polls() {
    let (cp, n, obs, _) = started().await;
    let first = obs.observe().await.expect("view");
    let again = obs.observe().await.expect("view");
    assert!(Arc::ptr_eq(&first.pods, &again.pods), "no pod changed, yet the list was rebuilt");
    // A change the pane does not show (a label of a pod outside the database namespace, whose
    // labels are not kept) reaches the watch but rebuilds nothing. The context's last event
    // time says when it was delivered (the estate is settled: every pod Ready before the
    // observer started; bookmarks are no events).
    let before = east_last_ok(&again);
    cp.label_pod(EAST, &n.app, "api-1", &[("tier", Some("web"))]).await;
    let after_label =
        wait_until(&obs, DEADLINE, "the label change delivered", |v| east_last_ok(v) > before).await;
    assert!(Arc::ptr_eq(&first.pods, &after_label.pods), "an undisplayed change rebuilt the list");
    cp.cluster(EAST).kubelet.set(&n.app, "api-1", Behaviour::NotReady).await;
    let changed = wait_until(&obs, DEADLINE, "api-1 not ready", |v| {
        pod(v, EAST, "api-1").is_some_and(|p| p.ready == 0)
    })
    .await;
    assert!(!Arc::ptr_eq(&first.pods, &changed.pods));
    assert_eq!(pod(&first, EAST, "api-1").map(|p| p.ready), Some(1), "an earlier list never changes");
    let later = obs.observe().await.expect("view");
    assert!(Arc::ptr_eq(&changed.pods, &later.pods));
}

/// Crash loops (restarts growing), a pod that never starts, and recovery, as the kubelet
/// reports them. (ImagePullBackOff: the harness kubelet pulls no images; own-server test.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_loops_and_pending_pods_are_detected() {
    let (cp, n, obs, _) = started().await;
    let kubelet = &cp.cluster(EAST).kubelet;
    kubelet.set(&n.app, "api-2", Behaviour::CrashLoop).await;
    let v = wait_until(&obs, DEADLINE, "crash loop, restarted twice", |v| {
        pod(v, EAST, "api-2")
            .is_some_and(|p| p.reason.as_deref() == Some("CrashLoopBackOff") && p.restarts >= 2)
    })
    .await;
    let p = pod(&v, EAST, "api-2").expect("pod");
    assert_eq!(p.ready, 0);
    assert!(p.is_unhealthy());
    kubelet.set(&n.app, "api-1", Behaviour::Pending).await;
    wait_until(&obs, DEADLINE, "api-1 pending", |v| {
        pod(v, EAST, "api-1").is_some_and(|p| p.phase == "Pending" && p.is_unhealthy())
    })
    .await;
    kubelet.set(&n.app, "api-2", Behaviour::Ready).await;
    let v = wait_until(&obs, DEADLINE, "recovered", |v| {
        pod(v, EAST, "api-2").is_some_and(|p| p.reason.is_none() && p.ready == 1)
    })
    .await;
    assert!(!pod(&v, EAST, "api-2").expect("pod").is_unhealthy());
}

/// The kubeconfig of `cp` with `context`'s server replaced by `proxy` (same CA: the serving
/// certificate names 127.0.0.1).
fn kubeconfig_through(
    cp: &ControlPlane,
    dir: &std::path::Path,
    proxies: &[(&str, &FaultProxy)],
) -> std::path::PathBuf {
    let path = dir.join("kubeconfig-proxied");
    cp.write_kubeconfig(&path, json!({ "token": TOKEN_USERS[0].0 }));
    let mut kc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("json");
    for cluster in kc["clusters"].as_array_mut().expect("clusters") {
        if let Some((_, p)) = proxies.iter().find(|(c, _)| cluster["name"] == *c) {
            cluster["cluster"]["server"] = json!(format!("https://{}", p.addr_string()));
        }
    }
    std::fs::write(&path, serde_json::to_vec_pretty(&kc).expect("json")).expect("write");
    path
}

async fn proxy_for(cp: &ControlPlane, ctx: &str) -> FaultProxy {
    let addr = cp.cluster(ctx).url.trim_start_matches("https://").parse().expect("api server address");
    FaultProxy::start(addr).await
}

/// us-east-1 hangs (its traffic held by a proxy): only its rows go stale, us-west-2 keeps
/// updating. Meanwhile its pods change, etcd is compacted and its API server restarted (a
/// fresh watch cache): the observer's watch, resuming from a resourceVersion that no longer
/// exists, gets a real `410 Gone`, re-lists, and shows the cluster as it is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_context_goes_stale_alone_and_relists_after_410_gone() {
    let mut cp = tokio::task::block_in_place(ControlPlane::start);
    let n = estate(&cp).await;
    let proxy = proxy_for(&cp, EAST).await;
    let kubeconfig = kubeconfig_through(&cp, cp.dir.path(), &[(EAST, &proxy)]);
    let (obs, _) = observe(&n, &kubeconfig).await;
    // The watch (not only the first list) is live before it gets stuck.
    cp.pod(EAST, &n.app, "api-live", &[("app", "web")]).await;
    wait_until(&obs, DEADLINE, "watch live", |v| pod(v, EAST, "api-live").is_some()).await;
    assert_eq!(obs.relists_after_gone(), 0);

    proxy.set(ProxyMode::Stall);
    let v = wait_until(&obs, DEADLINE, "us-east-1 marked lost", |v| ctx_error(v, EAST).is_some()).await;
    assert!(pod(&v, EAST, "api-1").is_some(), "rows of a lost context stay");
    assert!(ctx_error(&v, WEST).is_none());
    cp.pod(WEST, &n.app, "api-w2", &[("app", "web")]).await;
    wait_until(&obs, DEADLINE, "us-west-2 still live", |v| pod(v, WEST, "api-w2").is_some()).await;

    // Changes while away; then a write the observer's watches never see (a pod in a namespace
    // it does not watch), so their last resourceVersion is older than anything the restarted
    // API server's watch cache holds; etcd compacts everything before it.
    delete_pod(&cp, EAST, &n.app, "api-1").await;
    cp.pod(EAST, &n.app, "api-6", &[("app", "web")]).await;
    cp.wait_pods_ready(EAST, &n.app, "app=web", 3).await; // api-2, api-live, api-6
    cp.pod(EAST, &n.other, "unwatched", &[]).await;
    cp.etcd.compact().await;
    tokio::task::block_in_place(|| cp.restart_apiserver(EAST));
    // And a change after the restart.
    cp.label_pod(EAST, &n.db, "postgresql-1", &[("role", Some("standby"))]).await;
    proxy.set(ProxyMode::Forward);

    let v = wait_until(&obs, DEADLINE, "us-east-1 back after a re-list, caught up", |v| {
        ctx_error(v, EAST).is_none()
            && pod(v, EAST, "api-6").is_some_and(|p| p.ready == 1)
            && pod(v, EAST, "api-1").is_none()
            && pod(v, EAST, "postgresql-1")
                .is_some_and(|p| p.labels.get("role").map(String::as_str) == Some("standby"))
    })
    .await;
    assert!(obs.relists_after_gone() >= 1, "no 410 Gone was answered: the view came another way");
    assert!(pod(&v, EAST, "unwatched").is_none() && pod(&v, EAST, "api-2").is_some());
    assert_eq!(svc(&v).endpoint_pods, ["postgresql-0"]);
    // And live events flow again.
    cp.cluster(EAST).kubelet.set(&n.app, "api-2", Behaviour::CrashLoop).await;
    wait_until(&obs, DEADLINE, "live after the restart", |v| {
        pod(v, EAST, "api-2").is_some_and(|p| p.reason.as_deref() == Some("CrashLoopBackOff"))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_contexts_lost_is_an_error_for_the_poller() {
    let cp = ControlPlane::shared();
    let n = estate(cp).await;
    let (east, west) = (proxy_for(cp, EAST).await, proxy_for(cp, WEST).await);
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = kubeconfig_through(cp, dir.path(), &[(EAST, &east), (WEST, &west)]);
    let (obs, _) = observe(&n, &kubeconfig).await;
    east.set(ProxyMode::Stall);
    west.set(ProxyMode::Stall);
    let end = Instant::now() + DEADLINE;
    loop {
        match obs.observe().await {
            Err(e) => {
                assert!(e.contains(EAST) && e.contains(WEST), "{e}");
                break;
            }
            Ok(_) if Instant::now() < end => tokio::time::sleep(Duration::from_millis(20)).await,
            Ok(v) => panic!("still Ok with both contexts down: {:?}", v.contexts),
        }
    }
}

fn observed(v: KubeView) -> Observed {
    Observed { kube: Arc::new(Snapshot::fresh(v, chrono::Utc::now())), ..Observed::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repoint_label_and_scale_verify_through_the_observer() {
    let (cp, n, obs, clients) = started().await;
    let op = KubeOperator::new(clients);
    let repoint = Operation::PatchServiceSelector {
        context: EAST.into(),
        namespace: n.db.clone(),
        service: "postgresql".into(),
        pod: "postgresql-1".into(),
    };
    let v = obs.observe().await.expect("view");
    assert!(matches!(repoint.verify(&observed(v)), Verify::NotYet(_)));
    let msg = op.execute(&repoint).await.expect("patch");
    assert!(msg.contains("statefulset.kubernetes.io/pod-name=postgresql-1"), "{msg}");
    // postgresql-1 still carries role=replica: the EndpointSlice controller empties the slice.
    let v = wait_until(&obs, DEADLINE, "selector patched, endpoints emptied", |v| {
        v.db_service.as_ref().is_some_and(|s| {
            s.selector.get("statefulset.kubernetes.io/pod-name").map(String::as_str) == Some("postgresql-1")
                && s.endpoint_pods.is_empty()
        })
    })
    .await;
    assert!(matches!(repoint.verify(&observed(v)), Verify::NotYet(m) if m.contains("none")));
    // label-pod makes it primary; the slice follows and verify holds.
    let label = Operation::LabelPod {
        context: EAST.into(),
        namespace: n.db.clone(),
        pod: "postgresql-1".into(),
        key: "role".into(),
        value: "primary".into(),
    };
    op.execute(&label).await.expect("label");
    let v = wait_until(&obs, DEADLINE, "endpoints on postgresql-1", |v| {
        v.db_service.as_ref().is_some_and(|s| s.endpoint_pods == ["postgresql-1"])
    })
    .await;
    assert!(matches!(label.verify(&observed(v.clone())), Verify::Holds(_)));
    assert!(matches!(repoint.verify(&observed(v)), Verify::Holds(_)));

    // Scale: the Deployment and ReplicaSet controllers create the pods, the kubelet makes them
    // Ready, the observer sees the Deployment's status.
    let scale = Operation::ScaleDeployment {
        context: WEST.into(),
        namespace: n.app.clone(),
        deployment: "api".into(),
        replicas: 10,
    };
    let msg = op.execute(&scale).await.expect("scale");
    assert!(msg.contains("scaled to 10"), "{msg}");
    let v = wait_until(&obs, Duration::from_secs(60), "west api 10/10", |v| {
        v.deployments.iter().any(|d| d.context == WEST && d.name == "api" && d.ready == 10)
    })
    .await;
    assert!(matches!(scale.verify(&observed(v.clone())), Verify::Holds(_)));
    assert_eq!(
        v.pods.iter().filter(|p| p.context == WEST && p.name.starts_with("api-") && p.ready == 1).count(),
        11
    );
    let deployments: Api<Deployment> = Api::namespaced(cp.client(WEST).await, &n.app);
    let w = deployments.get("api").await.expect("deployment");
    assert_eq!(w.spec.replicas, Some(10));

    let missing = Operation::ScaleDeployment {
        context: WEST.into(),
        namespace: n.app.clone(),
        deployment: "nope".into(),
        replicas: 1,
    };
    let err = op.execute(&missing).await.unwrap_err();
    assert!(err.contains("nope") && err.contains("404"), "{err}");
}

/// The real API server records no requests for us: that a cluster saw no write is read from
/// its objects (the Service's unchanged resourceVersion, the Deployments' unchanged spec
/// generation); the own-server test also asserts that no request arrived.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_op_for_one_context_never_reaches_another() {
    let cp = ControlPlane::shared();
    let n = estate(cp).await;
    // A Service of the same name exists in both clusters.
    cp.namespace(WEST, &n.db).await;
    cp.service(WEST, &n.db, "postgresql", &[("app", "postgresql")]).await;
    let east_svc: Api<Service> = Api::namespaced(cp.client(EAST).await, &n.db);
    let east_dep: Api<Deployment> = Api::namespaced(cp.client(EAST).await, &n.app);
    let west_dep: Api<Deployment> = Api::namespaced(cp.client(WEST).await, &n.app);
    let rv = |m: &kube::api::ObjectMeta| m.resource_version.clone().expect("resourceVersion");
    // A Deployment's status changes as its controllers work; its spec only through writes.
    let generation = |d: Deployment| d.metadata.generation.expect("generation");
    let op = KubeOperator::new(clients(&cp.kubeconfig).await);
    // The decoy current-context is us-west-2's server: an op for us-east-1 never lands there.
    let west_gen = generation(west_dep.get("api").await.expect("west dep"));
    op.execute(&Operation::ScaleDeployment {
        context: EAST.into(),
        namespace: n.app.clone(),
        deployment: "api".into(),
        replicas: 4,
    })
    .await
    .expect("scale in us-east-1");
    assert_eq!(east_dep.get("api").await.expect("east dep").spec.replicas, Some(4));
    assert_eq!(generation(west_dep.get("api").await.expect("west dep")), west_gen);
    let (svc_rv, dep_gen) = (
        rv(&east_svc.get("postgresql").await.expect("svc").metadata),
        generation(east_dep.get("api").await.expect("dep")),
    );
    op.execute(&Operation::ScaleDeployment {
        context: WEST.into(),
        namespace: n.app.clone(),
        deployment: "api".into(),
        replicas: 3,
    })
    .await
    .expect("scale in us-west-2");
    op.execute(&Operation::PatchServiceSelector {
        context: WEST.into(),
        namespace: n.db.clone(),
        service: "postgresql".into(),
        pod: "postgresql-1".into(),
    })
    .await
    .expect("patch in us-west-2");
    let err = op
        .execute(&Operation::ScaleDeployment {
            context: "eu-central-1".into(),
            namespace: n.app.clone(),
            deployment: "api".into(),
            replicas: 3,
        })
        .await
        .unwrap_err();
    assert!(err.contains("eu-central-1"), "{err}");
    let west_svc: Api<Service> = Api::namespaced(cp.client(WEST).await, &n.db);
    let w = west_svc.get("postgresql").await.expect("west svc");
    let sel = w.spec.and_then(|s| s.selector).unwrap_or_default();
    assert_eq!(sel.get("statefulset.kubernetes.io/pod-name").map(String::as_str), Some("postgresql-1"));
    assert_eq!(west_dep.get("api").await.expect("west dep").spec.replicas, Some(3));
    // us-east-1 (where the same names exist) saw no write at all.
    let e = east_svc.get("postgresql").await.expect("east svc");
    assert_eq!(rv(&e.metadata), svc_rv);
    let east_sel = e.spec.and_then(|s| s.selector).unwrap_or_default();
    assert!(!east_sel.contains_key("statefulset.kubernetes.io/pod-name"), "{east_sel:?}");
    assert_eq!(generation(east_dep.get("api").await.expect("east dep")), dep_gen);
}
