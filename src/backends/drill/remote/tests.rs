//! The estate socket: snapshots pushed as published, operations round-tripped to the host's
//! estate, and a host that exits failing the joined console's panes and operations.

use std::time::Instant;

use super::*;
use crate::backends::drill::DrillEstate;
use crate::backends::model::PgRole;

fn params() -> DrillParams {
    DrillParams { scenario: "calm".into(), speed: 1.0, seed: 3, scenario_hash: None }
}

fn hello() -> Hello {
    Hello { params: params(), fault_scheduled_at: None, host: "trainer@bastion".into() }
}

/// Four hand-fed layers (the test publishes every snapshot itself).
struct Fed {
    kube: watch::Sender<Arc<Snapshot<KubeView>>>,
    database: watch::Sender<Arc<Snapshot<DatabaseView>>>,
    _sentinel: watch::Sender<Arc<Snapshot<SentinelView>>>,
    _traffic: watch::Sender<Arc<Snapshot<TrafficView>>>,
}

fn hand_fed() -> (Fed, Layers) {
    let (kube, k) = watch::channel(Arc::new(Snapshot::pending()));
    let (database, d) = watch::channel(Arc::new(Snapshot::pending()));
    let (sentinel, s) = watch::channel(Arc::new(Snapshot::not_configured()));
    let (traffic, t) = watch::channel(Arc::new(Snapshot::pending()));
    (
        Fed { kube, database, _sentinel: sentinel, _traffic: traffic },
        Layers { kube: k, database: d, sentinel: s, traffic: t },
    )
}

fn host_in(dir: &Path, layers: Layers, operator: Arc<dyn Operate>) -> Host {
    let lock = try_host(dir, "INC-20261205-200000-DRILL").expect("lock").expect("first console hosts");
    serve(lock, layers, operator, hello()).expect("serve")
}

async fn next<T: Clone>(rx: &mut Rx<T>) -> Arc<Snapshot<T>> {
    tokio::time::timeout(Duration::from_secs(5), rx.changed()).await.expect("in time").expect("open");
    rx.borrow_and_update().clone()
}

#[tokio::test]
async fn joined_console_gets_the_hosts_snapshots_exactly_and_only_one_console_hosts() {
    let dir = tempfile::tempdir().expect("tmp");
    let estate = DrillEstate::new("calm", 1.0, 3).expect("estate");
    let (fed, layers) = hand_fed();
    let host = host_in(dir.path(), layers, Arc::new(estate.operator()));
    assert!(
        try_host(dir.path(), "INC-20261205-200000-DRILL").expect("lock").is_none(),
        "one host per incident"
    );
    let mode = std::fs::metadata(host.socket()).expect("socket").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    let mut remote = join(host.socket(), "INC-20261205-200000-DRILL", Duration::from_secs(2)).await;
    assert_eq!(remote.hello, Some(hello()));
    let at = Utc::now();
    let db = Snapshot {
        value: Some(estate.with(|s| s.database_view())),
        fetched_at: Some(at),
        freshness: Freshness::Stale { since: at, error: "timeout".into() },
    };
    fed.database.send_replace(Arc::new(db.clone()));
    let mut got = next(&mut remote.layers.database).await;
    while got.freshness == Freshness::Pending {
        got = next(&mut remote.layers.database).await;
    }
    assert_eq!(*got, db, "value, fetched_at and freshness as the host published them");
    assert_eq!(remote.layers.sentinel.borrow().freshness, Freshness::NotConfigured);

    // An unchanged pod list keeps its Arc on the joined side too.
    let kube = estate.with(|s| s.kube_view());
    fed.kube.send_replace(Arc::new(Snapshot::fresh(kube.clone(), at)));
    let mut first = next(&mut remote.layers.kube).await;
    while first.value.is_none() {
        first = next(&mut remote.layers.kube).await;
    }
    fed.kube.send_replace(Arc::new(Snapshot::fresh(kube, at + chrono::Duration::seconds(1))));
    let second = next(&mut remote.layers.kube).await;
    let pods = |s: &Snapshot<KubeView>| s.value.as_ref().map(|k| k.pods.clone()).expect("pods");
    assert!(Arc::ptr_eq(&pods(&first), &pods(&second)));
}

#[tokio::test]
async fn operations_run_on_the_hosts_estate_and_failures_come_back() {
    let dir = tempfile::tempdir().expect("tmp");
    let estate = DrillEstate::new("calm", 50.0, 3).expect("estate");
    estate.fast_forward(Duration::from_secs(5));
    let (_fed, layers) = hand_fed();
    let host = host_in(dir.path(), layers, Arc::new(estate.operator()));
    let remote = join(host.socket(), "INC-X", Duration::from_secs(2)).await;
    let node = estate.with(|s| s.database_view()).nodes[1].clone();
    let endpoint = estate.with(|s| s.db.nodes[1].spec.addr());
    let promote = Operation::PromotePostgres {
        node: node.name.clone(),
        endpoint,
        max_lag_bytes: 1 << 30,
        accept_data_loss: None,
    };
    let done = remote.operator.execute(&promote).await.expect("promoted on the host");
    assert!(done.contains("pg_promote() returned true"), "{done}");
    let role = estate.with(|s| s.database_view()).node(&node.name).map(|n| n.role);
    assert_eq!(role, Some(PgRole::Primary), "the host's estate changed");
    let again = remote.operator.execute(&promote).await.expect_err("refused by the estate");
    assert!(again.contains("already a primary"), "{again}");
}

#[tokio::test]
async fn host_exit_fails_every_pane_and_refuses_operations_then_a_new_host_is_followed() {
    let dir = tempfile::tempdir().expect("tmp");
    let estate = DrillEstate::new("calm", 1.0, 3).expect("estate");
    let (fed, layers) = hand_fed();
    let host = host_in(dir.path(), layers, Arc::new(estate.operator()));
    let socket = host.socket().to_path_buf();
    let mut remote = join(&socket, "INC-20261205-200000-DRILL", Duration::from_secs(2)).await;
    drop(host);
    drop(fed);
    let failed = loop {
        let s = next(&mut remote.layers.traffic).await;
        if matches!(s.freshness, Freshness::Failed { .. }) {
            break s;
        }
    };
    let error = failed.freshness.error().unwrap_or_default().to_string();
    assert!(error.starts_with(HOST_EXITED), "{error}");
    assert!(error.contains("warroom drill --incident INC-20261205-200000-DRILL"), "{error}");
    for f in [
        remote.layers.kube.borrow().freshness.clone(),
        remote.layers.database.borrow().freshness.clone(),
        remote.layers.sentinel.borrow().freshness.clone(),
    ] {
        assert_eq!(f.error(), Some(error.as_str()));
    }
    let refused = remote.operator.execute(&Operation::CheckPrimary).await.expect_err("no host");
    assert!(refused.contains(HOST_EXITED), "{refused}");

    // Another console hosts the incident: the joined console follows it again.
    let (fed2, layers2) = hand_fed();
    let _host2 = host_in(dir.path(), layers2, Arc::new(estate.operator()));
    let at = Utc::now();
    fed2.database.send_replace(Arc::new(Snapshot::fresh(estate.with(|s| s.database_view()), at)));
    loop {
        let s = next(&mut remote.layers.database).await;
        if s.freshness == Freshness::Fresh {
            break;
        }
    }
    let ok = remote.operator.execute(&Operation::CheckPrimary).await.expect("new host executes");
    assert!(!ok.is_empty());
}

#[tokio::test]
async fn an_operation_in_flight_when_the_host_dies_has_an_unknown_outcome() {
    /// Never finishes.
    struct Hang;
    impl Operate for Hang {
        fn execute(&self, _: &Operation) -> BoxFuture<'_, Result<String, String>> {
            Box::pin(futures::future::pending())
        }
    }
    let dir = tempfile::tempdir().expect("tmp");
    let (_fed, layers) = hand_fed();
    let host = host_in(dir.path(), layers, Arc::new(Hang));
    let remote = join(host.socket(), "INC-X", Duration::from_secs(2)).await;
    let op = remote.operator.clone();
    let running = tokio::spawn(async move { op.execute(&Operation::CheckPrimary).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    drop(host);
    let result = tokio::time::timeout(Duration::from_secs(5), running).await.expect("ends").expect("task");
    let err = result.expect_err("no result");
    assert!(err.contains("outcome unknown"), "{err}");
}

#[test]
fn a_socket_path_too_long_for_sun_path_moves_to_a_private_short_one() {
    let short = socket_path(Path::new("/d/incidents"), "INC-1");
    assert_eq!(short, Path::new("/d/incidents/INC-1.estate.sock"));
    let deep = PathBuf::from(format!("/{}/incidents", "x".repeat(120)));
    let long = socket_path(&deep, "INC-20261205-200000-DRILL");
    assert!(long.as_os_str().len() <= SUN_PATH_MAX, "{}", long.display());
    assert_eq!(long, socket_path(&deep, "INC-20261205-200000-DRILL"), "every console derives the same path");
    assert_ne!(long, socket_path(&deep, "INC-20261205-200001-DRILL"));
}

/// Host -> joined console latency of snapshots (printed; `--nocapture` to read it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_propagation_latency() {
    let dir = tempfile::tempdir().expect("tmp");
    let estate = DrillEstate::new("primary-db-down", 1.0, 3).expect("estate");
    let (fed, layers) = hand_fed();
    let host = host_in(dir.path(), layers, Arc::new(estate.operator()));
    let mut remote = join(host.socket(), "INC-X", Duration::from_secs(2)).await;
    let view = estate.with(|s| s.database_view());
    let mut took = Vec::new();
    for i in 0..200i64 {
        let at = Utc::now() + chrono::Duration::milliseconds(i);
        let sent = Instant::now();
        fed.database.send_replace(Arc::new(Snapshot::fresh(view.clone(), at)));
        loop {
            let s = next(&mut remote.layers.database).await;
            if s.fetched_at == Some(at) {
                break;
            }
        }
        took.push(sent.elapsed());
    }
    took.sort();
    let (p50, p99) = (took[100], took[197]);
    println!("snapshot propagation host -> joined: p50 {p50:?} p99 {p99:?} over 200");
    assert!(p99 < Duration::from_secs(1), "p99 {p99:?} must stay well under the 1 s promise");
}

#[tokio::test]
async fn joining_before_any_host_shows_why_and_follows_the_host_that_comes() {
    let dir = tempfile::tempdir().expect("tmp");
    let socket = socket_path(dir.path(), "INC-20261205-200000-DRILL");
    let mut remote = join(&socket, "INC-20261205-200000-DRILL", Duration::from_millis(200)).await;
    assert_eq!(remote.hello, None);
    let error = remote.layers.database.borrow_and_update().freshness.error().unwrap_or_default().to_string();
    assert!(error.contains("no console hosts this drill's estate"), "{error}");
    let refused = remote.operator.execute(&Operation::CheckPrimary).await.expect_err("no host");
    assert!(refused.contains("warroom drill --incident INC-20261205-200000-DRILL"), "{refused}");

    let estate = DrillEstate::new("calm", 1.0, 3).expect("estate");
    let (fed, layers) = hand_fed();
    let _host = host_in(dir.path(), layers, Arc::new(estate.operator()));
    fed.database.send_replace(Arc::new(Snapshot::fresh(estate.with(|s| s.database_view()), Utc::now())));
    loop {
        if next(&mut remote.layers.database).await.freshness == Freshness::Fresh {
            break;
        }
    }
}

// Multi-threaded: the checks below block their thread while the host's tasks run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_joined_facilitator_pauses_resumes_and_injects_on_the_hosts_estate() {
    let dir = tempfile::tempdir().expect("tmp");
    let estate = DrillEstate::new("calm", 1.0, 3).expect("estate");
    let (_fed, layers) = hand_fed();
    let host = host_in(dir.path(), layers, Arc::new(estate.operator()));
    let remote = join(host.socket(), "INC-20261205-200000-DRILL", Duration::from_secs(2)).await;
    let until = |what: &str, cond: &dyn Fn() -> bool| {
        let start = Instant::now();
        while !cond() {
            assert!(start.elapsed() < Duration::from_secs(5), "{what} did not happen on the host");
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    remote.operator.control(&crate::backends::drill::DrillControl::Pause).expect("sent");
    until("the pause", &|| estate.is_paused());
    remote.operator.control(&crate::backends::drill::DrillControl::Resume).expect("sent");
    until("the resume", &|| !estate.is_paused());
    use crate::backends::drill::scenario::{FaultDef, FaultKind};
    let fault = FaultDef::now(FaultKind::NodeCrash, Some("postgresql-2".into()), None, None);
    remote.operator.control(&crate::backends::drill::DrillControl::Inject(fault)).expect("sent");
    until("the injection", &|| {
        estate.with(|s| s.database_view()).node("postgresql-2").is_some_and(|n| n.role == PgRole::Down)
    });
    drop(host);
    // The host is gone: the control is refused, not lost silently.
    let start = Instant::now();
    while remote.operator.control(&crate::backends::drill::DrillControl::Pause).is_ok() {
        assert!(start.elapsed() < Duration::from_secs(5), "a control to a gone host must be refused");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
