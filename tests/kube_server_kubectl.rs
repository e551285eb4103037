//! Fidelity of the Kubernetes API test server: the real `kubectl` (and kube-rs at the protocol
//! level) must accept it as an API server.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, PostParams, WatchEvent, WatchParams};
use serde_json::{Value, json};
use support::kube_server::{KubeLab, ready_status};

const KUBECTL: &str = "/usr/bin/kubectl";

/// Run kubectl against the lab on a blocking thread (the server runs on this runtime).
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

async fn lab_with_pods() -> KubeLab {
    let lab = KubeLab::start(&["us-east-1", "us-west-2"]).await;
    let s = lab.server("us-east-1");
    s.add_pod("default", "api-1", &[("app", "api")]);
    s.add_pod("default", "api-2", &[("app", "api")]);
    s.add_pod("default", "worker-1", &[("app", "worker")]);
    s.add_pod("database", "postgresql-0", &[("app", "postgresql"), ("role", "primary")]);
    s.add_deployment("default", "api", 2);
    lab
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_get_pods_json_and_label_selector() {
    let lab = lab_with_pods().await;
    let (ok, out, err) = kubectl(&lab, &["--context", "us-east-1", "get", "pods", "-o", "json"]).await;
    assert!(ok, "kubectl failed: {err}");
    let list: Value = serde_json::from_str(&out).expect("kubectl printed JSON");
    let names: Vec<&str> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|p| p["metadata"]["name"].as_str())
        .collect();
    assert_eq!(names, ["api-1", "api-2", "worker-1"], "namespace default only");
    assert_eq!(list["items"][0]["status"]["phase"], "Running");

    let (ok, out, err) =
        kubectl(&lab, &["--context", "us-east-1", "get", "pods", "-l", "app=api", "-o", "name"]).await;
    assert!(ok, "{err}");
    assert_eq!(out.lines().collect::<Vec<_>>(), ["pod/api-1", "pod/api-2"]);

    let (ok, out, err) =
        kubectl(&lab, &["--context", "us-east-1", "get", "pods", "-l", "app in (worker),app!=api"]).await;
    assert!(ok, "{err}");
    assert!(out.contains("worker-1") && !out.contains("api-1"), "{out}");

    let (ok, out, err) =
        kubectl(&lab, &["--context", "us-east-1", "get", "pods", "-A", "-l", "role", "-o", "name"]).await;
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "pod/postgresql-0");

    // The other context is a different cluster: no pods there.
    let (ok, out, err) = kubectl(&lab, &["--context", "us-west-2", "get", "pods", "-o", "name"]).await;
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "");

    let (ok, _, err) = kubectl(&lab, &["--context", "us-east-1", "get", "pod", "nope"]).await;
    assert!(!ok);
    assert!(err.contains("NotFound") || err.contains("not found"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_scale_deployment() {
    let lab = lab_with_pods().await;
    let s = lab.server("us-east-1");
    let (ok, out, err) =
        kubectl(&lab, &["--context", "us-east-1", "scale", "deployment/api", "--replicas=5"]).await;
    assert!(ok, "kubectl scale failed: {err}");
    assert!(out.contains("scaled"), "{out}");
    let d = s.get("Deployment", "default", "api").expect("deployment");
    assert_eq!(d["spec"]["replicas"], 5);
    assert_eq!(d["status"]["readyReplicas"], 5, "the fake deployment controller follows");
    // us-west-2 has no such deployment and saw no write.
    assert!(lab.server("us-west-2").writes().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_patch_service_merge_and_strategic() {
    let lab = lab_with_pods().await;
    let s = lab.server("us-east-1");
    s.add_pod(
        "database",
        "postgresql-1",
        &[("app", "postgresql"), ("role", "primary"), ("statefulset.kubernetes.io/pod-name", "postgresql-1")],
    );
    s.add_service("database", "postgresql", &[("app", "postgresql")]);
    let ep = s.get("Endpoints", "database", "postgresql").expect("endpoints");
    assert_eq!(ep["subsets"][0]["addresses"].as_array().map(Vec::len), Some(2));

    let patch =
        r#"{"spec":{"selector":{"role":"primary","statefulset.kubernetes.io/pod-name":"postgresql-1"}}}"#;
    let (ok, out, err) = kubectl(
        &lab,
        &[
            "--context",
            "us-east-1",
            "-n",
            "database",
            "patch",
            "service",
            "postgresql",
            "--type",
            "merge",
            "-p",
            patch,
        ],
    )
    .await;
    assert!(ok, "kubectl patch failed: {err}");
    assert!(out.contains("patched"), "{out}");
    let svc = s.get("Service", "database", "postgresql").expect("svc");
    assert_eq!(
        svc["spec"]["selector"],
        json!({"app": "postgresql", "role": "primary", "statefulset.kubernetes.io/pod-name": "postgresql-1"})
    );
    let ep = s.get("Endpoints", "database", "postgresql").expect("endpoints");
    assert_eq!(ep["subsets"][0]["addresses"][0]["targetRef"]["name"], "postgresql-1");
    assert_eq!(ep["subsets"][0]["addresses"].as_array().map(Vec::len), Some(1));
    // The EndpointSlice follows too, and kubectl lists it by the service-name label.
    let (ok, out, err) = kubectl(
        &lab,
        &[
            "--context",
            "us-east-1",
            "-n",
            "database",
            "get",
            "endpointslices.discovery.k8s.io",
            "-l",
            "kubernetes.io/service-name=postgresql",
            "-o",
            "json",
        ],
    )
    .await;
    assert!(ok, "kubectl get endpointslices failed: {err}");
    let list: serde_json::Value = serde_json::from_str(&out).expect("kubectl json");
    let eps = &list["items"][0]["endpoints"];
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1), "{out}");
    assert_eq!(eps.as_array().map(Vec::len), Some(1), "{out}");
    assert_eq!(eps[0]["targetRef"]["name"], "postgresql-1");
    assert_eq!(eps[0]["conditions"], json!({"ready": true, "serving": true, "terminating": false}));

    // kubectl's default patch type is strategic merge; null removes a key.
    let (ok, _, err) = kubectl(
        &lab,
        &[
            "--context",
            "us-east-1",
            "-n",
            "database",
            "patch",
            "service",
            "postgresql",
            "-p",
            r#"{"spec":{"selector":{"app":null}}}"#,
        ],
    )
    .await;
    assert!(ok, "strategic patch failed: {err}");
    let svc = s.get("Service", "database", "postgresql").expect("svc");
    assert!(svc["spec"]["selector"].get("app").is_none(), "{svc}");

    let (ok, _, err) = kubectl(
        &lab,
        &[
            "--context",
            "us-east-1",
            "-n",
            "database",
            "patch",
            "service",
            "postgresql",
            "--type",
            "json",
            "-p",
            r#"[{"op":"test","path":"/spec/selector/role","value":"replica"}]"#,
        ],
    )
    .await;
    assert!(!ok, "a failing JSON patch test op must be refused");
    assert!(err.contains("Invalid") || err.contains("invalid") || err.contains("test"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_watch_sees_added_and_modified() {
    let lab = lab_with_pods().await;
    let mut cmd = Command::new(KUBECTL);
    cmd.env("KUBECONFIG", &lab.kubeconfig)
        .env("KUBECACHEDIR", lab.dir.path().join("cache"))
        .args(["--context", "us-east-1", "get", "pods", "-w", "--output-watch-events"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().expect("spawn kubectl -w");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let wait_for = |want: &str, deadline: Duration| -> Vec<String> {
        let end = Instant::now() + deadline;
        let mut seen = Vec::new();
        while let Some(left) = end.checked_duration_since(Instant::now()) {
            match rx.recv_timeout(left) {
                Ok(l) => {
                    let hit = l.contains(want);
                    seen.push(l);
                    if hit {
                        return seen;
                    }
                }
                Err(_) => break,
            }
        }
        panic!("kubectl -w did not print {want:?} in time; saw {seen:?}");
    };
    // The initial list shows up as ADDED events.
    let s = lab.server("us-east-1");
    tokio::task::block_in_place(|| wait_for("worker-1", Duration::from_secs(10)));
    s.add_pod("default", "api-3", &[("app", "api")]);
    let seen = tokio::task::block_in_place(|| wait_for("api-3", Duration::from_secs(5)));
    assert!(seen.last().is_some_and(|l| l.starts_with("ADDED")), "{seen:?}");
    s.set_pod_status("default", "api-1", ready_status(false));
    let seen = tokio::task::block_in_place(|| wait_for("api-1", Duration::from_secs(5)));
    assert!(seen.last().is_some_and(|l| l.starts_with("MODIFIED")), "{seen:?}");
    s.delete_pod("default", "api-2");
    let seen = tokio::task::block_in_place(|| wait_for("api-2", Duration::from_secs(5)));
    assert!(seen.last().is_some_and(|l| l.starts_with("DELETED")), "{seen:?}");
    let _ = child.kill();
    let _ = child.wait();
}

/// A kube-rs client for one context of the lab.
async fn client(lab: &KubeLab, context: &str) -> kube::Client {
    let kc = kube::config::Kubeconfig::read_from(&lab.kubeconfig).expect("kubeconfig");
    let opts = kube::config::KubeConfigOptions { context: Some(context.into()), ..Default::default() };
    let cfg = kube::Config::from_custom_kubeconfig(kc, &opts).await.expect("config");
    kube::Client::try_from(cfg).expect("client")
}

#[tokio::test]
async fn watch_resumes_and_expires_after_compaction() {
    let lab = lab_with_pods().await;
    let s = lab.server("us-east-1");
    let pods: Api<Pod> = Api::namespaced(client(&lab, "us-east-1").await, "default");
    let list = pods.list(&ListParams::default().labels("app=api")).await.expect("list");
    assert_eq!(list.items.len(), 2);
    let rv = list.metadata.resource_version.expect("list has a resourceVersion");
    s.add_pod("default", "api-9", &[("app", "api")]);
    s.add_pod("default", "other", &[("app", "other")]);
    // Resume from the list's version: only the matching change since then is replayed.
    let wp = WatchParams::default().labels("app=api").timeout(1);
    let events: Vec<_> = pods.watch(&wp, &rv).await.expect("watch").collect().await;
    let names: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            Ok(WatchEvent::Added(p)) => p.metadata.name.clone(),
            _ => None,
        })
        .collect();
    assert_eq!(names, ["api-9"], "{events:?}");
    // After compaction the old version is gone: one ERROR event carrying 410.
    s.compact();
    let events: Vec<_> =
        pods.watch(&WatchParams::default().timeout(1), &rv).await.expect("watch").collect().await;
    assert!(matches!(events.as_slice(), [Ok(WatchEvent::Error(e))] if e.code == 410), "{events:?}");
    // A watch that asked for bookmarks gets them, carrying the current version.
    let mut wp = WatchParams::default().timeout(2);
    wp.bookmarks = true;
    let now = s.resource_version().to_string();
    let events: Vec<_> = pods.watch(&wp, &now).await.expect("watch").take(1).collect().await;
    assert!(
        matches!(events.as_slice(), [Ok(WatchEvent::Bookmark(b))] if b.metadata.resource_version == now),
        "{events:?}"
    );
}

#[tokio::test]
async fn leases_conflict_on_stale_resource_version() {
    let lab = KubeLab::start(&["us-east-1"]).await;
    let leases: Api<Lease> = Api::namespaced(client(&lab, "us-east-1").await, "default");
    let lease: Lease = serde_json::from_value(json!({
        "metadata": { "name": "warroom-commander" },
        "spec": { "holderIdentity": "alice", "leaseDurationSeconds": 15 }
    }))
    .expect("lease");
    let created = leases.create(&PostParams::default(), &lease).await.expect("create");
    let again = leases.create(&PostParams::default(), &lease).await.unwrap_err();
    assert!(
        matches!(&again, kube::Error::Api(s) if s.code == 409 && s.reason == "AlreadyExists"),
        "{again:?}"
    );
    let mut mine = created.clone();
    mine.spec.as_mut().expect("spec").holder_identity = Some("bob".into());
    let updated = leases.replace("warroom-commander", &PostParams::default(), &mine).await.expect("replace");
    assert_eq!(updated.spec.and_then(|s| s.holder_identity).as_deref(), Some("bob"));
    // `created` carries the old resourceVersion now: a second writer loses.
    let mut stale = created;
    stale.spec.as_mut().expect("spec").holder_identity = Some("carol".into());
    let err = leases.replace("warroom-commander", &PostParams::default(), &stale).await.unwrap_err();
    assert!(matches!(&err, kube::Error::Api(s) if s.code == 409 && s.reason == "Conflict"), "{err:?}");
    let got = leases.get("warroom-commander").await.expect("get");
    assert_eq!(got.spec.and_then(|s| s.holder_identity).as_deref(), Some("bob"));
    let missing = leases.get("nope").await.unwrap_err();
    assert!(
        matches!(&missing, kube::Error::Api(s) if s.code == 404 && s.reason == "NotFound"),
        "{missing:?}"
    );
    let bad: Lease = serde_json::from_value(json!({ "metadata": { "name": "Bad_Name" } })).expect("lease");
    let err = leases.create(&PostParams::default(), &bad).await.unwrap_err();
    assert!(matches!(&err, kube::Error::Api(s) if s.code == 422 && s.reason == "Invalid"), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_exec_over_websocket() {
    use support::kube_server::exec::ExecResult;
    let lab = lab_with_pods().await;
    let s = lab.server("us-east-1");
    s.add_pod("database", "postgresql-1", &[("app", "postgresql")]);
    s.on_exec("database", "postgresql-1", |req| match req.command.split_first() {
        Some((cmd, args)) if cmd == "echo" => {
            ExecResult { stdout: format!("{}\n", args.join(" ")).into_bytes(), ..ExecResult::default() }
        }
        Some((cmd, _)) if cmd == "false" => ExecResult { exit_code: 1, ..ExecResult::default() },
        _ => ExecResult { stderr: b"not found\n".to_vec(), exit_code: 127, ..ExecResult::default() },
    });
    let (ok, out, err) = kubectl(
        &lab,
        &["--context", "us-east-1", "exec", "-n", "database", "postgresql-1", "--", "echo", "hi"],
    )
    .await;
    assert!(ok, "kubectl exec failed: {err}");
    assert_eq!(out, "hi\n");
    let (ok, out, err) =
        kubectl(&lab, &["--context", "us-east-1", "exec", "-n", "database", "postgresql-1", "--", "false"])
            .await;
    assert!(!ok, "a non-zero exit fails kubectl: {out}");
    assert!(err.contains("command terminated with exit code 1"), "{err}");
    let (ok, _, err) =
        kubectl(&lab, &["--context", "us-east-1", "exec", "-n", "database", "nope", "--", "echo", "hi"])
            .await;
    assert!(!ok && err.contains("not found"), "{err}");
    let execs = s.execs();
    assert_eq!(execs.len(), 2, "{execs:#?}");
    assert_eq!(execs[0].command, ["echo", "hi"]);
    assert_eq!(execs[0].container, "main");
    assert_eq!(execs[0].protocol, "v5.channel.k8s.io");
    assert!(lab.server("us-west-2").execs().is_empty());
}
