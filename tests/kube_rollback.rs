//! `rollback-deployment` against the REAL control plane: the Deployment controller makes the
//! revisions (ReplicaSets with `pod-template-hash` and revision annotations) as the template's
//! image changes; the newest revision crash-loops (the harness kubelet's behaviour label on the
//! template), which is why we roll back. warroom's rollback must restore exactly the template
//! the real `kubectl rollout undo` restores on an identical Deployment, and verification is the
//! controllers' result: the previous revision's ReplicaSet scaled back up, its pods Ready, the
//! crash-looping pods gone. Without history it refuses and changes nothing.

mod support;

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, Patch, PatchParams};
use serde_json::{Value, json};
use support::control_plane::ControlPlane;
use support::control_plane::kubelet::BEHAVIOUR_LABEL;
use support::control_plane::objects::{eventually, pod_ready, unique_namespace};
use warroom::backends::kube::{KubeClients, KubeObserveSpec, KubeObserver, KubeOperator};
use warroom::backends::{Observe, Observed, Operate, Snapshot};
use warroom::operation::{Operation, Verify};

const KUBECTL: &str = "/usr/bin/kubectl";
const CTX: &str = "us-east-1";
const WAIT: Duration = Duration::from_secs(40);
const GOOD: &str = "example/api:1.4.1";
const BAD: &str = "example/api:1.5.0";

async fn kubectl(cp: &ControlPlane, args: &[&str]) -> (bool, String, String) {
    let cache = tempfile::tempdir().expect("tempdir");
    let mut cmd = Command::new(KUBECTL);
    cmd.env("KUBECONFIG", &cp.kubeconfig)
        .env("KUBECACHEDIR", cache.path())
        .env_remove("HTTP_PROXY")
        .env_remove("HTTPS_PROXY")
        .args(args);
    let out = tokio::task::spawn_blocking(move || cmd.output()).await.expect("join").expect("run kubectl");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn deployments(cp: &ControlPlane, ns: &str) -> Api<Deployment> {
    Api::namespaced(cp.client(CTX).await, ns)
}

/// A Deployment `name` of `replicas` pods running `image`, rolling one pod at a time without
/// surge (so a bad revision replaces one good pod and stalls there, as on a real cluster).
async fn create(cp: &ControlPlane, ns: &str, name: &str, replicas: i32, image: &str) {
    cp.apply(
        CTX,
        ns,
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": { "name": name, "namespace": ns },
            "spec": {
                "replicas": replicas,
                "selector": { "matchLabels": { "app": name } },
                "strategy": { "type": "RollingUpdate", "rollingUpdate": { "maxSurge": 0, "maxUnavailable": 1 } },
                "template": {
                    "metadata": { "labels": { "app": name } },
                    "spec": { "containers": [{ "name": "main", "image": image }] },
                },
            },
        }),
    )
    .await;
}

/// A new revision: the template's image becomes `image`; `crash` makes its pods crash-loop.
async fn roll_out(cp: &ControlPlane, ns: &str, name: &str, image: &str, crash: bool) {
    let behaviour = if crash { json!("crash-loop") } else { Value::Null };
    let patch = json!({ "spec": { "template": {
        "metadata": { "labels": { BEHAVIOUR_LABEL: behaviour } },
        "spec": { "containers": [{ "name": "main", "image": image }] },
    } } });
    deployments(cp, ns)
        .await
        .patch(name, &PatchParams::default(), &Patch::Strategic(&patch))
        .await
        .unwrap_or_else(|e| panic!("roll out {image}: {e}"));
}

async fn replica_sets(cp: &ControlPlane, ns: &str, app: &str) -> Vec<ReplicaSet> {
    let api: Api<ReplicaSet> = Api::namespaced(cp.client(CTX).await, ns);
    api.list(&ListParams::default().labels(&format!("app={app}"))).await.expect("list ReplicaSets").items
}

fn image_of(rs: &ReplicaSet) -> Option<String> {
    rs.spec.template.as_ref()?.spec.as_ref()?.containers.first()?.image.clone()
}

fn revision_of(rs: &ReplicaSet) -> Option<String> {
    rs.metadata.annotations.as_ref()?.get("deployment.kubernetes.io/revision").cloned()
}

/// The ReplicaSet of `api` running `image`: (desired replicas, ready replicas, revision).
async fn rs_for(cp: &ControlPlane, ns: &str, image: &str) -> Result<(i32, i32, String), String> {
    let sets = replica_sets(cp, ns, "api").await;
    let rs =
        sets.iter().find(|rs| image_of(rs).as_deref() == Some(image)).ok_or(format!("no RS for {image}"))?;
    let desired = rs.spec.replicas.unwrap_or(0);
    let ready = rs.status.as_ref().and_then(|s| s.ready_replicas).unwrap_or(0);
    Ok((desired, ready, revision_of(rs).unwrap_or_default()))
}

/// Namespace `ns` whose `api` went through revisions 1 (`api:1.4.0`), 2 ([`GOOD`], all pods
/// Ready) and 3 ([`BAD`], crash-looping: one pod replaced, the rollout stalled); `worker` has
/// only its first revision.
async fn rolled_out(cp: &ControlPlane) -> String {
    let ns = unique_namespace("rollback");
    cp.namespace(CTX, &ns).await;
    create(cp, &ns, "api", 3, "example/api:1.4.0").await;
    cp.wait_deployment_available(CTX, &ns, "api", 3).await;
    roll_out(cp, &ns, "api", GOOD, false).await;
    cp.wait_deployment_available(CTX, &ns, "api", 3).await;
    eventually("revision 2 running everywhere", WAIT, || async {
        match rs_for(cp, &ns, GOOD).await? {
            (3, 3, rev) if rev == "2" => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    roll_out(cp, &ns, "api", BAD, true).await;
    let pods: Api<Pod> = Api::namespaced(cp.client(CTX).await, &ns);
    eventually("revision 3 crash-looping, revision 2 scaled down to 2", WAIT, || async {
        let (good, bad) = (rs_for(cp, &ns, GOOD).await?, rs_for(cp, &ns, BAD).await?);
        let list = pods.list(&ListParams::default().labels("app=api")).await.map_err(|e| e.to_string())?;
        let looping = list.items.iter().filter(|p| image(p) == BAD && restarts(p) >= 1).count();
        if good.0 == 2 && bad.0 == 1 && bad.2 == "3" && looping == 1 {
            Ok(())
        } else {
            Err(format!("good {good:?} bad {bad:?} looping {looping}"))
        }
    })
    .await;
    create(cp, &ns, "worker", 2, "example/worker:2.0.0").await;
    cp.wait_deployment_available(CTX, &ns, "worker", 2).await;
    ns
}

fn image(p: &Pod) -> &str {
    p.spec.as_ref().and_then(|s| s.containers.first()).and_then(|c| c.image.as_deref()).unwrap_or("")
}

fn restarts(p: &Pod) -> i32 {
    p.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .and_then(|c| c.first())
        .map_or(0, |c| c.restart_count)
}

async fn operator(cp: &ControlPlane) -> KubeOperator {
    KubeOperator::new(clients(cp).await)
}

async fn clients(cp: &ControlPlane) -> KubeClients {
    let path = cp.kubeconfig.to_string_lossy().to_string();
    KubeClients::from_kubeconfig(Some(&path), &[CTX.to_string()]).await.expect("clients")
}

fn rollback(ns: &str, deployment: &str) -> Operation {
    Operation::RollbackDeployment { context: CTX.into(), namespace: ns.into(), deployment: deployment.into() }
}

async fn deployment_json(cp: &ControlPlane, ns: &str, name: &str) -> Value {
    serde_json::to_value(deployments(cp, ns).await.get(name).await.expect("deployment")).expect("json")
}

/// warroom's own verification of `op`, on what its Kubernetes observer sees now.
async fn verify(obs: &KubeObserver, op: &Operation) -> Verify {
    let view = obs.observe().await.expect("a view");
    let observed =
        Observed { kube: Arc::new(Snapshot::fresh(view, chrono::Utc::now())), ..Observed::default() };
    op.verify(&observed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_restores_the_same_template_as_kubectl_rollout_undo() {
    let cp = ControlPlane::shared();
    let by_kubectl = rolled_out(cp).await;
    let ours = rolled_out(cp).await;

    let (ok, out, err) =
        kubectl(cp, &["--context", CTX, "-n", &by_kubectl, "rollout", "undo", "deployment/api"]).await;
    assert!(ok, "kubectl rollout undo failed: {err}");
    assert!(out.contains("rolled back"), "{out}");
    let expected = deployment_json(cp, &by_kubectl, "api").await["spec"]["template"].clone();
    assert_eq!(expected["spec"]["containers"][0]["image"], GOOD);
    assert!(expected["metadata"]["labels"].get("pod-template-hash").is_none(), "{expected}");
    assert!(expected["metadata"]["labels"].get(BEHAVIOUR_LABEL).is_none(), "{expected}");

    // warroom sees the crash-looping revision: its verification does not hold before.
    let op = rollback(&ours, "api");
    let spec = KubeObserveSpec {
        contexts: vec![CTX.into()],
        namespaces: vec![ours.clone()],
        ..KubeObserveSpec::default()
    };
    let obs = KubeObserver::start(&clients(cp).await, spec);
    eventually("the observer to see the crash loop", WAIT, || async {
        match verify(&obs, &op).await {
            Verify::NotYet(why) if why.contains("api-") => Ok(why),
            other => Err(format!("{other:?}")),
        }
    })
    .await;

    let generation = deployment_json(cp, &ours, "api").await["metadata"]["generation"].as_i64().unwrap();
    let said = operator(cp).await.execute(&op).await.expect("rolled back");
    assert!(said.contains("from revision 3 to revision 2 (ReplicaSet api-"), "{said}");
    let after = deployment_json(cp, &ours, "api").await;
    // The real server has no request log: one spec change is one generation (the PATCH).
    assert_eq!(after["metadata"]["generation"].as_i64(), Some(generation + 1), "one write: {after}");
    assert_eq!(after["spec"]["template"], expected, "the same template as kubectl's");

    // The controllers' result: revision 2's ReplicaSet (now revision 4, as the real controller
    // renumbers a reused revision) back at 3 Ready pods, the crash-looping one at 0 and gone.
    let pods: Api<Pod> = Api::namespaced(cp.client(CTX).await, &ours);
    eventually("the previous ReplicaSet scaled back up, the bad one down", WAIT, || async {
        let (good, bad) = (rs_for(cp, &ours, GOOD).await?, rs_for(cp, &ours, BAD).await?);
        let list = pods.list(&ListParams::default().labels("app=api")).await.map_err(|e| e.to_string())?;
        let ready_good = list.items.iter().filter(|p| image(p) == GOOD && pod_ready(p)).count();
        if good == (3, 3, "4".into()) && bad.0 == 0 && list.items.len() == 3 && ready_good == 3 {
            Ok(())
        } else {
            Err(format!("good {good:?} bad {bad:?} pods {} ready {ready_good}", list.items.len()))
        }
    })
    .await;
    cp.wait_deployment_available(CTX, &ours, "api", 3).await;
    // And warroom's verification holds on what its observer sees.
    let held = eventually("warroom's verification to hold", WAIT, || async {
        match verify(&obs, &op).await {
            Verify::Holds(why) => Ok(why),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    assert!(!held.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_without_a_previous_revision_changes_nothing() {
    let cp = ControlPlane::shared();
    let ns = rolled_out(cp).await;
    let before = deployment_json(cp, &ns, "worker").await;
    let err = operator(cp).await.execute(&rollback(&ns, "worker")).await.unwrap_err();
    assert!(err.contains("no revision before 1: nothing to roll back to"), "{err}");
    let after = deployment_json(cp, &ns, "worker").await;
    assert_eq!(after["spec"]["template"], before["spec"]["template"]);
    assert_eq!(after["metadata"]["resourceVersion"], before["metadata"]["resourceVersion"], "not written");
    let (ok, _, err) =
        kubectl(cp, &["--context", CTX, "-n", &ns, "rollout", "undo", "deployment/worker"]).await;
    assert!(!ok && err.contains("no rollout history"), "kubectl refuses too: {err}");
    let err = operator(cp).await.execute(&rollback(&ns, "nope")).await.unwrap_err();
    assert!(err.contains("not found"), "{err}");
}
