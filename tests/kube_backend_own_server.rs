//! The Kubernetes backend against our own in-process API test server, for what the real
//! control plane (tests/kube_backend.rs) cannot show: requests recorded (one LIST per watched
//! namespace however many changes, lists in pages, the scale subresource's PATCH, no request
//! at all reaching another cluster, none after the observer is dropped), a frozen watch
//! followed by a compaction's 410, and an ImagePullBackOff (the harness kubelet pulls no
//! images). Everything else runs against the real API servers.

mod support;

use support::kube_view::wait_until;

use std::sync::Arc;
use std::time::{Duration, Instant};

use warroom::backends::kube::{KubeClients, KubeObserveSpec, KubeObserver, KubeOperator};
use warroom::backends::model::{KubeView, PodRow};
use warroom::backends::{Observe, Observed, Operate, Snapshot};
use warroom::config::model::ObjectRef;
use warroom::operation::{Operation, Verify};

use support::kube_server::{KubeLab, ready_status, waiting_status};

const EAST: &str = "us-east-1";
const WEST: &str = "us-west-2";
const DEADLINE: Duration = Duration::from_secs(1);

async fn lab() -> KubeLab {
    let lab = KubeLab::start(&[EAST, WEST]).await;
    let e = lab.server(EAST);
    e.add_pod("default", "api-1", &[("app", "api")]);
    e.add_pod("default", "api-2", &[("app", "api")]);
    e.add_pod("kube-system", "coredns", &[("app", "dns")]);
    e.add_deployment("default", "api", 2);
    fn pg<'a>(n: &'a str, role: &'a str) -> [(&'a str, &'a str); 3] {
        [("app", "postgresql"), ("role", role), ("statefulset.kubernetes.io/pod-name", n)]
    }
    e.add_pod("database", "postgresql-0", &pg("postgresql-0", "primary"));
    e.add_pod("database", "postgresql-1", &pg("postgresql-1", "replica"));
    e.add_service("database", "postgresql", &[("app", "postgresql"), ("role", "primary")]);
    let w = lab.server(WEST);
    w.add_pod("default", "api-w1", &[("app", "api")]);
    w.add_deployment("default", "api", 0);
    lab
}

fn spec() -> KubeObserveSpec {
    KubeObserveSpec {
        contexts: vec![EAST.into(), WEST.into()],
        namespaces: vec!["default".into(), "database".into()],
        db_service: Some(ObjectRef {
            context: EAST.into(),
            namespace: "database".into(),
            name: "postgresql".into(),
        }),
        heartbeat_every: Duration::from_millis(200),
        heartbeat_timeout: Duration::from_secs(2),
        backoff_min: Duration::from_millis(50),
    }
}

async fn clients(lab: &KubeLab) -> KubeClients {
    let path = lab.kubeconfig.to_string_lossy().to_string();
    KubeClients::from_kubeconfig(Some(&path), &[EAST.into(), WEST.into()]).await.expect("clients")
}

/// Poll `cond` every 10 ms until it holds (a condition on the test server, not the view).
/// (5 s: four heartbeats 200 ms apart took over a second on a loaded machine.)
async fn wait_for(what: &str, cond: impl Fn() -> bool) {
    const WITHIN: Duration = Duration::from_secs(5);
    let end = Instant::now() + WITHIN;
    while !cond() {
        assert!(Instant::now() < end, "not within {WITHIN:?}: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn pod<'a>(v: &'a KubeView, ctx: &str, name: &str) -> Option<&'a PodRow> {
    v.pods.iter().find(|p| p.context == ctx && p.name == name)
}

fn ctx_error(v: &KubeView, ctx: &str) -> Option<String> {
    v.contexts.iter().find(|c| c.context == ctx).and_then(|c| c.error.clone())
}

async fn started() -> (KubeLab, KubeObserver, KubeClients) {
    let lab = lab().await;
    let clients = clients(&lab).await;
    let obs = KubeObserver::start(&clients, spec());
    wait_until(&obs, Duration::from_secs(5), "first sync of both contexts", |v| {
        pod(v, EAST, "api-1").is_some() && pod(v, WEST, "api-w1").is_some() && v.db_service.is_some()
    })
    .await;
    (lab, obs, clients)
}

#[tokio::test]
async fn pods_appear_change_and_disappear() {
    let (lab, obs, _) = started().await;
    let v = obs.observe().await.expect("view");
    assert!(pod(&v, EAST, "coredns").is_none(), "only configured namespaces are watched");
    let api1 = pod(&v, EAST, "api-1").expect("api-1");
    assert_eq!(
        (api1.ready_text(), api1.phase.as_str(), api1.node.as_deref()),
        ("1/1".into(), "Running", Some("node-1"))
    );
    assert!(api1.labels.is_empty(), "labels are kept only for the database Service's pods");
    assert_eq!(
        pod(&v, EAST, "postgresql-1").expect("pg-1").labels.get("role").map(String::as_str),
        Some("replica")
    );
    let dep = v.deployments.iter().find(|d| d.context == EAST && d.name == "api").expect("deployment");
    assert_eq!((dep.desired, dep.ready, dep.available), (2, 2, 2));
    let svc = v.db_service.as_ref().expect("service");
    assert_eq!(svc.endpoint_pods, ["postgresql-0"]);
    assert!(v.contexts.iter().all(|c| c.error.is_none() && c.last_ok.is_some()), "{:?}", v.contexts);

    let e = lab.server(EAST);
    e.add_pod("default", "api-3", &[("app", "api")]);
    wait_until(&obs, DEADLINE, "api-3 appears", |v| pod(v, EAST, "api-3").is_some()).await;
    e.set_pod_status("default", "api-1", ready_status(false));
    wait_until(&obs, DEADLINE, "api-1 not ready", |v| pod(v, EAST, "api-1").is_some_and(|p| p.ready == 0))
        .await;
    e.delete_pod("default", "api-2");
    let v = wait_until(&obs, DEADLINE, "api-2 gone", |v| pod(v, EAST, "api-2").is_none()).await;
    assert!(pod(&v, EAST, "api-1").is_some_and(PodRow::is_unhealthy));
    // Watches, not list-polling: one LIST per watched namespace, however many changes.
    let lists = e
        .requests()
        .iter()
        .filter(|r| r.starts_with("GET /api/v1/namespaces/default/pods?") && !r.contains("watch="))
        .count();
    assert_eq!(lists, 1, "{:?}", e.requests());
    e.set_deployment_ready("default", "api", 1);
    wait_until(&obs, DEADLINE, "deployment 1/2 ready", |v| {
        v.deployments.iter().any(|d| d.context == EAST && d.name == "api" && d.ready == 1 && d.desired == 2)
    })
    .await;
}

#[tokio::test]
async fn crashloop_and_image_pull_are_detected() {
    let (lab, obs, _) = started().await;
    let e = lab.server(EAST);
    e.set_pod_status("default", "api-2", waiting_status("CrashLoopBackOff", 4, "OOMKilled"));
    let v = wait_until(&obs, DEADLINE, "crashloop", |v| {
        pod(v, EAST, "api-2").is_some_and(|p| p.reason.as_deref() == Some("CrashLoopBackOff"))
    })
    .await;
    let p = pod(&v, EAST, "api-2").expect("pod");
    assert_eq!((p.restarts, p.ready), (4, 0));
    assert!(p.is_unhealthy());
    e.set_pod_status("default", "api-2", waiting_status("ImagePullBackOff", 0, "Error"));
    wait_until(&obs, DEADLINE, "image pull back-off", |v| {
        pod(v, EAST, "api-2").is_some_and(|p| p.reason.as_deref() == Some("ImagePullBackOff"))
    })
    .await;
    e.set_pod_status("default", "api-2", ready_status(true));
    let v = wait_until(&obs, DEADLINE, "recovered", |v| {
        pod(v, EAST, "api-2").is_some_and(|p| p.reason.is_none())
    })
    .await;
    assert!(!pod(&v, EAST, "api-2").expect("pod").is_unhealthy());
}

#[tokio::test]
async fn relists_after_410_gone() {
    let (lab, obs, _) = started().await;
    let e = lab.server(EAST);
    // Make sure the watch (not only the first list) is live before it gets stuck.
    e.add_pod("default", "api-live", &[("app", "api")]);
    wait_until(&obs, DEADLINE, "watch live", |v| pod(v, EAST, "api-live").is_some()).await;
    // A stuck watch: these changes are not delivered as events.
    e.freeze_watches();
    e.delete_pod("default", "api-1");
    e.add_pod("default", "api-6", &[("app", "api")]);
    // Once the watch has withheld both events, no late event can deliver them.
    wait_for("the stuck watch withheld both changes", || {
        let withheld = e.withheld();
        withheld.iter().any(|w| w == "DELETED api-1") && withheld.iter().any(|w| w == "ADDED api-6")
    })
    .await;
    let v = obs.observe().await.expect("view");
    assert!(pod(&v, EAST, "api-1").is_some() && pod(&v, EAST, "api-6").is_none(), "the stuck watch hid them");
    // Compaction: open watches get 410 and the backend re-lists.
    e.compact();
    let v = wait_until(&obs, DEADLINE, "re-listed after 410", |v| {
        pod(v, EAST, "api-6").is_some() && pod(v, EAST, "api-1").is_none()
    })
    .await;
    assert!(ctx_error(&v, EAST).is_none(), "410 is routine, not a lost context");
    let relists = e
        .requests()
        .iter()
        .filter(|r| r.starts_with("GET /api/v1/namespaces/default/pods?") && !r.contains("watch="))
        .count();
    assert!(relists >= 2, "initial list plus a re-list: {relists}");
    assert!(obs.relists_after_gone() >= 1, "the re-list was forced by 410 Gone");
}

#[tokio::test]
async fn many_pods_are_listed_in_pages() {
    let lab = lab().await;
    let e = lab.server(EAST);
    for i in 0..1200 {
        e.add_pod("default", &format!("bulk-{i:04}"), &[("app", "bulk")]);
    }
    let obs = KubeObserver::start(&clients(&lab).await, spec());
    let v = wait_until(&obs, Duration::from_secs(10), "1,200 bulk pods", |v| {
        v.pods.iter().filter(|p| p.context == EAST && p.name.starts_with("bulk-")).count() == 1200
    })
    .await;
    assert!(v.pods.iter().filter(|p| p.name.starts_with("bulk-")).all(|p| p.labels.is_empty()));
    let pages = e
        .requests()
        .iter()
        .filter(|r| r.starts_with("GET /api/v1/namespaces/default/pods?") && r.contains("continue="))
        .count();
    assert!(pages >= 2, "the first list came in pages: {:?}", e.requests());
}

fn observed(v: KubeView) -> Observed {
    Observed { kube: Arc::new(Snapshot::fresh(v, chrono::Utc::now())), ..Observed::default() }
}

#[tokio::test]
async fn repoint_and_scale_verify_through_the_observer() {
    let (lab, obs, clients) = started().await;
    let op = KubeOperator::new(clients);
    let repoint = Operation::PatchServiceSelector {
        context: EAST.into(),
        namespace: "database".into(),
        service: "postgresql".into(),
        pod: "postgresql-1".into(),
    };
    let v = obs.observe().await.expect("view");
    assert!(matches!(repoint.verify(&observed(v)), Verify::NotYet(_)));
    let msg = op.execute(&repoint).await.expect("patch");
    assert!(msg.contains("statefulset.kubernetes.io/pod-name=postgresql-1"), "{msg}");
    // postgresql-1 still carries role=replica: the Service selects nothing yet.
    let v = wait_until(&obs, DEADLINE, "selector patched, endpoints emptied", |v| {
        v.db_service.as_ref().is_some_and(|s| {
            s.selector.get("statefulset.kubernetes.io/pod-name").map(String::as_str) == Some("postgresql-1")
                && s.endpoint_pods.is_empty()
        })
    })
    .await;
    assert!(matches!(repoint.verify(&observed(v)), Verify::NotYet(m) if m.contains("none")));
    // Once the pod is labelled primary, the endpoints follow and verify holds.
    lab.server(EAST).set_pod_labels(
        "database",
        "postgresql-1",
        &[("app", "postgresql"), ("role", "primary"), ("statefulset.kubernetes.io/pod-name", "postgresql-1")],
    );
    let v = wait_until(&obs, DEADLINE, "endpoints on postgresql-1", |v| {
        v.db_service.as_ref().is_some_and(|s| s.endpoint_pods == ["postgresql-1"])
    })
    .await;
    assert!(matches!(repoint.verify(&observed(v)), Verify::Holds(_)));

    let scale = Operation::ScaleDeployment {
        context: WEST.into(),
        namespace: "default".into(),
        deployment: "api".into(),
        replicas: 10,
    };
    let msg = op.execute(&scale).await.expect("scale");
    assert!(msg.contains("scaled to 10"), "{msg}");
    let v = wait_until(&obs, DEADLINE, "west api 10/10", |v| {
        v.deployments.iter().any(|d| d.context == WEST && d.name == "api" && d.ready == 10)
    })
    .await;
    assert!(matches!(scale.verify(&observed(v)), Verify::Holds(_)));
    let w = lab.server(WEST).get("Deployment", "default", "api").expect("deployment");
    assert_eq!(w["spec"]["replicas"], 10);
    assert!(
        lab.server(WEST)
            .writes()
            .iter()
            .any(|r| r.starts_with("PATCH /apis/apps/v1/namespaces/default/deployments/api/scale"))
    );

    let missing = Operation::ScaleDeployment {
        context: WEST.into(),
        namespace: "default".into(),
        deployment: "nope".into(),
        replicas: 1,
    };
    let err = op.execute(&missing).await.unwrap_err();
    assert!(err.contains("nope") && err.contains("404"), "{err}");
}

#[tokio::test]
async fn an_op_for_one_context_never_reaches_another() {
    let lab = lab().await;
    // A Service of the same name exists in both clusters.
    lab.server(WEST).add_service("database", "postgresql", &[("app", "postgresql")]);
    let writes_before = lab.server(WEST).writes().len();
    let op = KubeOperator::new(clients(&lab).await);
    op.execute(&Operation::ScaleDeployment {
        context: WEST.into(),
        namespace: "default".into(),
        deployment: "api".into(),
        replicas: 3,
    })
    .await
    .expect("scale in us-west-2");
    op.execute(&Operation::PatchServiceSelector {
        context: WEST.into(),
        namespace: "database".into(),
        service: "postgresql".into(),
        pod: "postgresql-1".into(),
    })
    .await
    .expect("patch in us-west-2");
    let err = op
        .execute(&Operation::ScaleDeployment {
            context: "eu-central-1".into(),
            namespace: "default".into(),
            deployment: "api".into(),
            replicas: 3,
        })
        .await
        .unwrap_err();
    assert!(err.contains("eu-central-1"), "{err}");
    // The decoy current-context points at the us-east-1 cluster: it saw nothing at all.
    assert!(lab.server(EAST).requests().is_empty(), "{:?}", lab.server(EAST).requests());
    assert_eq!(lab.server(WEST).writes().len(), writes_before + 2);
    let east = lab.server(EAST).get("Service", "database", "postgresql").expect("svc");
    assert!(east["spec"]["selector"].get("statefulset.kubernetes.io/pod-name").is_none());
}

#[tokio::test]
async fn dropping_the_observer_ends_its_tasks() {
    let (lab, obs, clients) = started().await;
    drop(obs);
    // The clock: a live observer of us-west-2 alone, whose heartbeat asks `GET /version` every
    // 200 ms, as the dropped observer's heartbeat did of us-east-1.
    let west_only = KubeObserveSpec { contexts: vec![WEST.into()], db_service: None, ..spec() };
    let live = KubeObserver::start(&clients, west_only);
    let heartbeats = || lab.server(WEST).requests().iter().filter(|r| r.starts_with("GET /version")).count();
    // Requests already under way when the observer was dropped land during the first beat.
    let n = heartbeats();
    wait_for("a heartbeat of the live observer", || heartbeats() > n).await;
    let before = lab.server(EAST).requests();
    let n = heartbeats();
    wait_for("four more heartbeats of the live observer", || heartbeats() >= n + 4).await;
    assert_eq!(lab.server(EAST).requests(), before, "no heartbeat or watch after drop");
    drop(live);
}
