//! `rollback-deployment` against the Kubernetes API test server: it restores the previous
//! ReplicaSet's template exactly as the real `kubectl rollout undo` does on an identical
//! cluster (which also checks the test server's ReplicaSets are real enough for kubectl), and
//! refuses without history.

mod support;

use std::process::Command;

use serde_json::Value;
use support::kube_server::KubeLab;
use warroom::backends::Operate;
use warroom::backends::kube::{KubeClients, KubeOperator};
use warroom::operation::Operation;

const KUBECTL: &str = "/usr/bin/kubectl";

async fn kubectl(lab: &KubeLab, args: &[&str]) -> (bool, String, String) {
    let mut cmd = Command::new(KUBECTL);
    cmd.env("KUBECONFIG", &lab.kubeconfig)
        .env("KUBECACHEDIR", lab.dir.path().join("cache"))
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

/// A cluster whose `api` went from revision 1 (`api:1.4.1`) to a bad revision 2 (`api:1.5.0`);
/// `worker` has only its first revision.
async fn rolled_out() -> KubeLab {
    let lab = KubeLab::start(&["us-east-1"]).await;
    let s = lab.server("us-east-1");
    s.add_deployment("default", "api", 3);
    s.roll_out("default", "api", 1, "example/api:1.4.1");
    s.roll_out("default", "api", 2, "example/api:1.5.0");
    s.add_deployment("default", "worker", 2);
    s.roll_out("default", "worker", 1, "example/worker:2.0.0");
    lab
}

async fn operator(lab: &KubeLab) -> KubeOperator {
    let path = lab.kubeconfig.to_string_lossy().to_string();
    KubeOperator::new(
        KubeClients::from_kubeconfig(Some(&path), &["us-east-1".to_string()]).await.expect("clients"),
    )
}

fn rollback(deployment: &str) -> Operation {
    Operation::RollbackDeployment {
        context: "us-east-1".into(),
        namespace: "default".into(),
        deployment: deployment.into(),
    }
}

fn template(lab: &KubeLab, deployment: &str) -> Value {
    lab.server("us-east-1").get("Deployment", "default", deployment).expect("deployment")["spec"]["template"]
        .clone()
}

/// Without `null` values and empty objects: kubectl serializes Go zero values
/// (`creationTimestamp: null`, `resources: {}`) that a real API server drops when it stores
/// the object (`omitempty`); the test server stores bodies as sent.
fn normalized(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| (k, normalized(v)))
                .filter(|(_, v)| !v.is_null() && v.as_object().is_none_or(|o| !o.is_empty()))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(normalized).collect()),
        other => other,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_restores_the_same_template_as_kubectl_rollout_undo() {
    let by_kubectl = rolled_out().await;
    let (ok, out, err) =
        kubectl(&by_kubectl, &["--context", "us-east-1", "rollout", "undo", "deployment/api"]).await;
    assert!(ok, "kubectl rollout undo failed: {err}");
    assert!(out.contains("rolled back"), "{out}");
    let expected = template(&by_kubectl, "api");
    assert_eq!(expected["spec"]["containers"][0]["image"], "example/api:1.4.1");
    assert!(expected["metadata"]["labels"].get("pod-template-hash").is_none(), "{expected}");

    let ours = rolled_out().await;
    let said = operator(&ours).await.execute(&rollback("api")).await.expect("rolled back");
    assert!(said.contains("from revision 2 to revision 1 (ReplicaSet api-"), "{said}");
    assert_eq!(normalized(template(&ours, "api")), normalized(expected), "the same template as kubectl's");
    let patches: Vec<String> =
        ours.server("us-east-1").requests().into_iter().filter(|r| r.starts_with("PATCH")).collect();
    assert_eq!(patches.len(), 1, "{patches:?}");
    assert!(patches[0].contains("/apis/apps/v1/namespaces/default/deployments/api"), "{patches:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_without_a_previous_revision_changes_nothing() {
    let lab = rolled_out().await;
    let before = template(&lab, "worker");
    let err = operator(&lab).await.execute(&rollback("worker")).await.unwrap_err();
    assert!(err.contains("no revision before 1: nothing to roll back to"), "{err}");
    assert_eq!(template(&lab, "worker"), before);
    let (ok, _, err) =
        kubectl(&lab, &["--context", "us-east-1", "rollout", "undo", "deployment/worker"]).await;
    assert!(!ok && err.contains("no rollout history"), "kubectl refuses too: {err}");
    let err = operator(&lab).await.execute(&rollback("nope")).await.unwrap_err();
    assert!(err.contains("not found"), "{err}");
}
