//! The commander lock as a Kubernetes Lease, against the Kubernetes API test server (built
//! through `[commander]` and the kubeconfig, with the explicit context), and checked with the
//! real `kubectl`.

mod support;

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use serde_json::Value;
use support::kube_server::KubeLab;
use warroom::config::Config;
use warroom::config::model::{CommanderConfig, KubernetesConfig};
use warroom::incident::commander::{CommanderLock, LockState, acquire_for_exec, open_lock};

const ID: &str = "INC-20261126-120000";
const LEASE: &str = "warroom-inc-20261126-120000";
const CTX: &str = "us-west-2";

fn config(lab: &KubeLab, ttl_secs: u64) -> Config {
    Config {
        kubernetes: Some(KubernetesConfig {
            kubeconfig: Some(lab.kubeconfig.to_string_lossy().into_owned()),
            namespaces: vec![],
        }),
        commander: Some(CommanderConfig {
            context: Some(CTX.into()),
            namespace: Some("ops".into()),
            ttl_secs,
        }),
        ..Config::default()
    }
}

async fn lease_lock(lab: &KubeLab, ttl_secs: u64) -> Arc<dyn CommanderLock> {
    let dir = lab.dir.path();
    open_lock(&config(lab, ttl_secs), dir, ID, false).await.expect("lease lock")
}

fn lease(lab: &KubeLab) -> Value {
    lab.server(CTX).get("Lease", "ops", LEASE).expect("the Lease exists")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acquire_renew_takeover_release_on_the_explicit_context() {
    let lab = KubeLab::start(&["us-east-1", CTX]).await;
    let lock = lease_lock(&lab, 30).await;
    assert_eq!(lock.describe(), format!("Lease {CTX}/ops/{LEASE}"));
    assert_eq!(lock.status("alice").await.unwrap(), LockState::Free, "no Lease yet: free");
    let LockState::Mine(a) = lock.acquire("alice", false).await.unwrap() else { panic!("alice takes it") };
    // Written where configured, not through the kubeconfig's (decoy) current context.
    assert!(lab.server("us-east-1").get("Lease", "ops", LEASE).is_none(), "written to the decoy cluster");
    let l = lease(&lab);
    assert_eq!(l["spec"]["holderIdentity"], "alice");
    assert_eq!(l["spec"]["leaseDurationSeconds"], 30);
    assert_eq!(l["spec"]["leaseTransitions"], 0);
    let rv1 = l["metadata"]["resourceVersion"].as_str().unwrap().to_string();

    // Someone else sees alice; a non-forced acquire changes nothing.
    match lock.acquire("bob", false).await.unwrap() {
        LockState::Theirs(h) => {
            assert_eq!(h.identity, "alice");
            assert!(h.expires_in_secs(Utc::now()) > 25);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(lease(&lab)["metadata"]["resourceVersion"], rv1.as_str());

    // Renewal: renewTime moves, acquireTime and transitions stay.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let LockState::Mine(a2) = lock.renew("alice").await.unwrap() else { panic!("renewed") };
    assert_eq!(a2.acquired_at, a.acquired_at);
    assert!(a2.renewed_at > a.renewed_at);
    assert_eq!(lease(&lab)["spec"]["leaseTransitions"], 0);
    assert_ne!(lease(&lab)["metadata"]["resourceVersion"], rv1.as_str());

    // Bob cannot renew or release alice's Lease.
    assert!(matches!(lock.renew("bob").await.unwrap(), LockState::Theirs(_)));
    assert!(matches!(lock.release("bob").await.unwrap(), LockState::Theirs(_)));
    assert_eq!(lease(&lab)["spec"]["holderIdentity"], "alice");

    // Explicit takeover: bob holds it, one more transition; alice's renewal reports the loss.
    assert!(matches!(lock.acquire("bob", true).await.unwrap(), LockState::Mine(_)));
    assert_eq!(lease(&lab)["spec"]["holderIdentity"], "bob");
    assert_eq!(lease(&lab)["spec"]["leaseTransitions"], 1);
    match lock.renew("alice").await.unwrap() {
        LockState::Theirs(h) => assert_eq!(h.identity, "bob"),
        other => panic!("alice must see bob: {other:?}"),
    }

    // Release clears the holder; alice takes it without force.
    assert_eq!(lock.release("bob").await.unwrap(), LockState::Free);
    assert!(lease(&lab)["spec"].get("holderIdentity").is_none_or(Value::is_null), "{}", lease(&lab));
    assert!(matches!(lock.acquire("alice", false).await.unwrap(), LockState::Mine(_)));
    assert_eq!(lease(&lab)["spec"]["leaseTransitions"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unrenewed_lease_expires_and_not_before() {
    let lab = KubeLab::start(&[CTX]).await;
    let lock = lease_lock(&lab, 3).await;
    let LockState::Mine(a) = lock.acquire("crashed", false).await.unwrap() else { panic!() };
    // "crashed" never renews. Before the expiry, bob is refused; after it, he takes it.
    loop {
        let now = Utc::now();
        let r = lock.acquire("bob", false).await.unwrap();
        if now < a.expires_at - chrono::Duration::milliseconds(100) {
            assert!(matches!(r, LockState::Theirs(_)), "taken before the expiry at {}: {r:?}", a.expires_at);
        } else if matches!(r, LockState::Mine(_)) {
            assert!(Utc::now() >= a.expires_at, "taken before the expiry");
            break;
        }
        assert!(now < a.expires_at + chrono::Duration::seconds(2), "not free 2 s after the expiry");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(lease(&lab)["spec"]["holderIdentity"], "bob");
    assert_eq!(lease(&lab)["spec"]["leaseTransitions"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_consoles_conflict_and_exactly_one_wins() {
    let lab = KubeLab::start(&[CTX]).await;
    for round in 0..2 {
        // Round 0 races on create (AlreadyExists), round 1 on replace (409 Conflict on the
        // resourceVersion read), after the round-0 winner's Lease expired.
        let lock = lease_lock(&lab, 1).await;
        let tasks: Vec<_> = (0..6)
            .map(|i| {
                let lock = lock.clone();
                tokio::spawn(async move { lock.acquire(&format!("r{round}-c{i}"), false).await.unwrap() })
            })
            .collect();
        let mut results = Vec::new();
        for t in tasks {
            results.push(t.await.unwrap());
        }
        let winners: Vec<String> = results
            .iter()
            .filter_map(|r| if let LockState::Mine(h) = r { Some(h.identity.clone()) } else { None })
            .collect();
        assert_eq!(winners.len(), 1, "round {round}: {results:#?}");
        // Every loser reports the winner (re-read after its conflict), never itself.
        for r in &results {
            if let LockState::Theirs(h) = r {
                assert_eq!(h.identity, winners[0]);
            }
        }
        assert_eq!(lease(&lab)["spec"]["holderIdentity"], winners[0].as_str());
        tokio::time::sleep(Duration::from_millis(1100)).await;
    }
    let puts = lab.server(CTX).writes().iter().filter(|w| w.starts_with("PUT ")).count();
    assert!(puts >= 1, "round 1 replaced the Lease");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_guard_uses_the_lease() {
    let lab = KubeLab::start(&[CTX]).await;
    let cfg = config(&lab, 30);
    let g = acquire_for_exec(&cfg, lab.dir.path(), ID, "exec pid 1").await.expect("free");
    assert!(g.describe().starts_with("Lease "));
    let err = acquire_for_exec(&cfg, lab.dir.path(), ID, "exec pid 2").await.err().expect("held");
    assert!(err.starts_with("exec pid 1 holds the commander lock (Lease us-west-2/ops/"), "{err}");
    g.release().await.expect("released");
    assert!(lease(&lab)["spec"].get("holderIdentity").is_none_or(Value::is_null));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_reads_the_commander_lease() {
    let lab = KubeLab::start(&[CTX]).await;
    let lock = lease_lock(&lab, 30).await;
    lock.acquire("alice@ops1 pid 7", false).await.unwrap();
    let mut cmd = Command::new("/usr/bin/kubectl");
    cmd.env("KUBECONFIG", &lab.kubeconfig)
        .env("KUBECACHEDIR", lab.dir.path().join("cache"))
        .env_remove("HTTP_PROXY")
        .env_remove("HTTPS_PROXY")
        .args(["--context", CTX, "-n", "ops", "get", "lease", LEASE, "-o", "json"]);
    let out = tokio::task::spawn_blocking(move || cmd.output()).await.unwrap().expect("kubectl");
    assert!(out.status.success(), "kubectl: {}", String::from_utf8_lossy(&out.stderr));
    let l: Value = serde_json::from_slice(&out.stdout).expect("kubectl printed JSON");
    assert_eq!(l["apiVersion"], "coordination.k8s.io/v1");
    assert_eq!(l["kind"], "Lease");
    assert_eq!(l["metadata"]["name"], LEASE);
    assert_eq!(l["metadata"]["namespace"], "ops");
    assert_eq!(l["spec"]["holderIdentity"], "alice@ops1 pid 7");
    assert_eq!(l["spec"]["leaseDurationSeconds"], 30);
    assert_eq!(l["spec"]["leaseTransitions"], 0);
    // MicroTime: RFC 3339 with microseconds, as the API server writes it.
    for k in ["acquireTime", "renewTime"] {
        let t = l["spec"][k].as_str().unwrap_or_else(|| panic!("{k} missing: {l}"));
        let parsed = chrono::DateTime::parse_from_rfc3339(t).unwrap_or_else(|e| panic!("{k} {t}: {e}"));
        assert!((Utc::now() - parsed.with_timezone(&Utc)).num_seconds().abs() < 60, "{k} {t}");
        assert_eq!(t.split('.').nth(1).map(|f| f.trim_end_matches('Z').len()), Some(6), "{k} {t}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_takeover_of_the_lease_reaches_the_old_holder_within_a_second() {
    use warroom::incident::commander::{CommanderView, LockRequest, spawn};
    let lab = KubeLab::start(&[CTX]).await;
    // The default ttl: renewals every 10 s, so only the between-renewal look can see a takeover.
    let lock = lease_lock(&lab, 30).await;
    let wait = |mut rx: tokio::sync::watch::Receiver<CommanderView>,
                what: &'static str,
                pred: fn(&CommanderView) -> bool| async move {
        tokio::time::timeout(Duration::from_secs(10), rx.wait_for(pred))
            .await
            .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
            .expect("task alive")
            .clone()
    };
    let (old, old_req) = spawn(lock.clone(), "old pid 1".into(), true);
    wait(old.clone(), "the old holder", |v| matches!(v, CommanderView::Mine { .. })).await;
    let (new, new_req) = spawn(lock.clone(), "new pid 2".into(), false);
    wait(new.clone(), "the new console to see it", |v| matches!(v, CommanderView::Theirs { .. })).await;
    new_req.send(LockRequest::Take { force: true }).await.unwrap();
    wait(new.clone(), "the new holder", |v| matches!(v, CommanderView::Mine { .. })).await;
    let taken = std::time::Instant::now();
    let v = wait(old.clone(), "the old holder to see it", |v| !matches!(v, CommanderView::Mine { .. })).await;
    let latency = taken.elapsed();
    println!("Lease takeover reached the old holder in {} ms", latency.as_millis());
    assert_eq!(v, CommanderView::Lost { reason: "taken over by new pid 2".into() });
    assert!(latency < Duration::from_secs(1), "{latency:?}");
    drop((old_req, new_req));
}
