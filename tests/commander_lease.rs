//! The commander lock as a Kubernetes Lease, against the REAL control plane
//! (tests/support/control_plane: kube-apiserver on etcd, RBAC, TLS), built through `[commander]`
//! and the kubeconfig with the explicit context, and checked with the real `kubectl`. The
//! resourceVersion conflicts here are the API server's own optimistic concurrency: two consoles
//! (two locks, two clients) racing for one Lease.

mod support;

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::Api;
use serde_json::Value;
use support::control_plane::ControlPlane;
use support::control_plane::objects::unique_namespace;
use warroom::backends::kube::lease::{LeaseClient, LeaseError, LeaseRecord};
use warroom::config::Config;
use warroom::config::model::{CommanderConfig, KubernetesConfig};
use warroom::incident::commander::{CommanderLock, LockState, acquire_for_exec, open_lock};

const ID: &str = "INC-20261126-120000";
const LEASE: &str = "warroom-inc-20261126-120000";
/// The commander's context. The kubeconfig's current-context (the decoy) points at the OTHER
/// cluster (us-west-2), so a lock that ignored the explicit context would write there.
const CTX: &str = "us-east-1";
const OTHER: &str = "us-west-2";

/// A namespace of this test in both clusters (the Lease lives in `CTX`'s; the other one exists
/// so that a write to the wrong cluster would succeed there and be seen).
async fn ops_namespace(cp: &ControlPlane) -> String {
    let ns = unique_namespace("ops");
    cp.namespace(CTX, &ns).await;
    cp.namespace(OTHER, &ns).await;
    ns
}

fn config(cp: &ControlPlane, ns: &str, ttl_secs: u64) -> Config {
    Config {
        kubernetes: Some(KubernetesConfig {
            kubeconfig: Some(cp.kubeconfig.to_string_lossy().into_owned()),
            namespaces: vec![],
        }),
        commander: Some(CommanderConfig { context: Some(CTX.into()), namespace: Some(ns.into()), ttl_secs }),
        ..Config::default()
    }
}

/// One console's lock (each call builds its own client, as a second console would).
async fn lease_lock(cp: &ControlPlane, ns: &str, ttl_secs: u64) -> Arc<dyn CommanderLock> {
    open_lock(&config(cp, ns, ttl_secs), cp.dir.path(), ID, false).await.expect("lease lock")
}

async fn lease_in(cp: &ControlPlane, context: &str, ns: &str) -> Option<Value> {
    let api: Api<Lease> = Api::namespaced(cp.client(context).await, ns);
    let l = api.get_opt(LEASE).await.expect("read the Lease");
    l.map(|l| serde_json::to_value(l).expect("json"))
}

async fn lease(cp: &ControlPlane, ns: &str) -> Value {
    lease_in(cp, CTX, ns).await.expect("the Lease exists")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acquire_renew_takeover_release_on_the_explicit_context() {
    let cp = ControlPlane::shared();
    let ns = ops_namespace(cp).await;
    let lock = lease_lock(cp, &ns, 30).await;
    assert_eq!(lock.describe(), format!("Lease {CTX}/{ns}/{LEASE}"));
    assert_eq!(lock.status("alice").await.unwrap(), LockState::Free, "no Lease yet: free");
    let LockState::Mine(a) = lock.acquire("alice", false).await.unwrap() else { panic!("alice takes it") };
    // Written where configured, not through the kubeconfig's (decoy) current context.
    assert!(lease_in(cp, OTHER, &ns).await.is_none(), "written to the other cluster");
    assert!(lease_in(cp, OTHER, "decoy").await.is_none(), "written to the decoy context's namespace");
    let l = lease(cp, &ns).await;
    assert_eq!(l["spec"]["holderIdentity"], "alice");
    assert_eq!(l["spec"]["leaseDurationSeconds"], 30);
    assert_eq!(l["spec"]["leaseTransitions"], 0);
    assert_eq!(l["metadata"]["labels"]["app.kubernetes.io/managed-by"], "warroom");
    let rv1 = l["metadata"]["resourceVersion"].as_str().unwrap().to_string();

    // Someone else sees alice; a non-forced acquire changes nothing.
    match lock.acquire("bob", false).await.unwrap() {
        LockState::Theirs(h) => {
            assert_eq!(h.identity, "alice");
            assert!(h.expires_in_secs(Utc::now()) > 25);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(lease(cp, &ns).await["metadata"]["resourceVersion"], rv1.as_str());

    // Renewal: renewTime moves, acquireTime and transitions stay; etcd gives a new revision.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let LockState::Mine(a2) = lock.renew("alice").await.unwrap() else { panic!("renewed") };
    assert_eq!(a2.acquired_at, a.acquired_at);
    assert!(a2.renewed_at > a.renewed_at);
    assert_eq!(lease(cp, &ns).await["spec"]["leaseTransitions"], 0);
    assert_ne!(lease(cp, &ns).await["metadata"]["resourceVersion"], rv1.as_str());

    // Bob cannot renew or release alice's Lease.
    assert!(matches!(lock.renew("bob").await.unwrap(), LockState::Theirs(_)));
    assert!(matches!(lock.release("bob").await.unwrap(), LockState::Theirs(_)));
    assert_eq!(lease(cp, &ns).await["spec"]["holderIdentity"], "alice");

    // Explicit takeover: bob holds it, one more transition; alice's renewal reports the loss.
    assert!(matches!(lock.acquire("bob", true).await.unwrap(), LockState::Mine(_)));
    assert_eq!(lease(cp, &ns).await["spec"]["holderIdentity"], "bob");
    assert_eq!(lease(cp, &ns).await["spec"]["leaseTransitions"], 1);
    match lock.renew("alice").await.unwrap() {
        LockState::Theirs(h) => assert_eq!(h.identity, "bob"),
        other => panic!("alice must see bob: {other:?}"),
    }

    // Release clears the holder (the real API server drops the emptied field); alice takes it
    // without force.
    assert_eq!(lock.release("bob").await.unwrap(), LockState::Free);
    let l = lease(cp, &ns).await;
    assert!(l["spec"].get("holderIdentity").is_none_or(Value::is_null), "{l}");
    assert!(matches!(lock.acquire("alice", false).await.unwrap(), LockState::Mine(_)));
    assert_eq!(lease(cp, &ns).await["spec"]["leaseTransitions"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unrenewed_lease_expires_and_not_before() {
    let cp = ControlPlane::shared();
    let ns = ops_namespace(cp).await;
    let lock = lease_lock(cp, &ns, 3).await;
    let LockState::Mine(a) = lock.acquire("crashed", false).await.unwrap() else { panic!() };
    // "crashed" never renews. Before the expiry, bob is refused; after it, he takes it.
    let bob = lease_lock(cp, &ns, 3).await;
    loop {
        let now = Utc::now();
        let r = bob.acquire("bob", false).await.unwrap();
        if now < a.expires_at - chrono::Duration::milliseconds(100) {
            assert!(matches!(r, LockState::Theirs(_)), "taken before the expiry at {}: {r:?}", a.expires_at);
        } else if matches!(r, LockState::Mine(_)) {
            assert!(Utc::now() >= a.expires_at, "taken before the expiry");
            break;
        }
        assert!(now < a.expires_at + chrono::Duration::seconds(2), "not free 2 s after the expiry");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(lease(cp, &ns).await["spec"]["holderIdentity"], "bob");
    assert_eq!(lease(cp, &ns).await["spec"]["leaseTransitions"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_resource_version_is_a_conflict_from_the_real_api_server() {
    let cp = ControlPlane::shared();
    let ns = ops_namespace(cp).await;
    let (one, two) = (
        LeaseClient::new(cp.client(CTX).await, &ns, LEASE),
        LeaseClient::new(cp.client(CTX).await, &ns, LEASE),
    );
    let record = |holder: &str| LeaseRecord {
        holder: Some(holder.into()),
        acquired_at: Some(Utc::now()),
        renewed_at: Some(Utc::now()),
        duration_secs: Some(30),
        transitions: Some(0),
    };
    one.create(&record("one")).await.expect("created");
    assert_eq!(two.create(&record("two")).await.unwrap_err(), LeaseError::Conflict, "AlreadyExists");
    // Both consoles read the same resourceVersion; the first replace wins, the second is the
    // API server's 409 Conflict and writes nothing.
    let (r1, r2) = (one.read().await.unwrap().unwrap(), two.read().await.unwrap().unwrap());
    one.replace(&r1, &record("one-renewed")).await.expect("first replace");
    assert_eq!(two.replace(&r2, &record("two")).await.unwrap_err(), LeaseError::Conflict);
    let now = two.read().await.unwrap().unwrap();
    assert_eq!(now.record.holder.as_deref(), Some("one-renewed"));
    two.replace(&now, &record("two")).await.expect("a fresh read replaces");
    assert_eq!(lease(cp, &ns).await["spec"]["holderIdentity"], "two");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_consoles_conflict_and_exactly_one_wins() {
    let cp = ControlPlane::shared();
    let ns = ops_namespace(cp).await;
    let mut uids = Vec::new();
    for round in 0..2 {
        // Round 0 races on create (AlreadyExists), round 1 on replace (409 Conflict on the
        // resourceVersion read), after the round-0 winner's Lease expired. Every contender is
        // its own console: its own lock and client.
        let mut locks = Vec::new();
        for _ in 0..6 {
            locks.push(lease_lock(cp, &ns, 1).await);
        }
        // Round 0's winner's Lease expires after 1 s; a console takes it over only once it has
        // expired by more than its clock-skew bound (measured by each console, about 1 s more):
        // wait until every contender sees it free.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        for lock in &locks {
            while lock.status("probe").await.unwrap() != LockState::Free {
                assert!(std::time::Instant::now() < deadline, "the round-0 Lease never became free");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        let tasks: Vec<_> = locks
            .into_iter()
            .enumerate()
            .map(|(i, lock)| {
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
        let l = lease(cp, &ns).await;
        assert_eq!(l["spec"]["holderIdentity"], winners[0].as_str());
        assert_eq!(l["spec"]["leaseTransitions"], round, "one transition per round");
        uids.push(l["metadata"]["uid"].clone());
    }
    // The real server keeps the object's uid across a replace: round 1 replaced the Lease
    // (PUT), it did not delete and create it again.
    assert_eq!(uids[0], uids[1], "round 1 replaced the Lease");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_guard_uses_the_lease() {
    let cp = ControlPlane::shared();
    let ns = ops_namespace(cp).await;
    let cfg = config(cp, &ns, 30);
    let g = acquire_for_exec(&cfg, cp.dir.path(), ID, "exec pid 1").await.expect("free");
    assert!(g.describe().starts_with("Lease "));
    let err = acquire_for_exec(&cfg, cp.dir.path(), ID, "exec pid 2").await.err().expect("held");
    let expected = format!("exec pid 1 holds the commander lock (Lease {CTX}/{ns}/");
    assert!(err.starts_with(&expected), "{err}");
    g.release().await.expect("released");
    assert!(lease(cp, &ns).await["spec"].get("holderIdentity").is_none_or(Value::is_null));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_reads_the_commander_lease() {
    let cp = ControlPlane::shared();
    let ns = ops_namespace(cp).await;
    let lock = lease_lock(cp, &ns, 30).await;
    lock.acquire("alice@ops1 pid 7", false).await.unwrap();
    let cache = tempfile::tempdir().expect("tempdir");
    let mut cmd = Command::new("/usr/bin/kubectl");
    cmd.env("KUBECONFIG", &cp.kubeconfig)
        .env("KUBECACHEDIR", cache.path())
        .env_remove("HTTP_PROXY")
        .env_remove("HTTPS_PROXY")
        .args(["--context", CTX, "-n", &ns, "get", "lease", LEASE, "-o", "json"]);
    let out = tokio::task::spawn_blocking(move || cmd.output()).await.unwrap().expect("kubectl");
    assert!(out.status.success(), "kubectl: {}", String::from_utf8_lossy(&out.stderr));
    let l: Value = serde_json::from_slice(&out.stdout).expect("kubectl printed JSON");
    assert_eq!(l["apiVersion"], "coordination.k8s.io/v1");
    assert_eq!(l["kind"], "Lease");
    assert_eq!(l["metadata"]["name"], LEASE);
    assert_eq!(l["metadata"]["namespace"], ns.as_str());
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
    let cp = ControlPlane::shared();
    let ns = ops_namespace(cp).await;
    // The default ttl: renewals every 10 s, so only the between-renewal look can see a takeover.
    // Two consoles, each with its own lock.
    let (old_lock, new_lock) = (lease_lock(cp, &ns, 30).await, lease_lock(cp, &ns, 30).await);
    let wait = |mut rx: tokio::sync::watch::Receiver<CommanderView>,
                what: &'static str,
                pred: fn(&CommanderView) -> bool| async move {
        tokio::time::timeout(Duration::from_secs(10), rx.wait_for(pred))
            .await
            .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
            .expect("task alive")
            .clone()
    };
    let (old, old_req) = spawn(old_lock, "old pid 1".into(), true);
    wait(old.clone(), "the old holder", |v| matches!(v, CommanderView::Mine { .. })).await;
    let (new, new_req) = spawn(new_lock, "new pid 2".into(), false);
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
