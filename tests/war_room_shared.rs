//! One incident shared across hosts through a REAL Kubernetes API server (`[war_room]`): each
//! "host" is its own data dir and operator identity, with its own `KubeStore` (its own client
//! and thread), appending through the log API.

mod support;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::json;
use support::control_plane::ControlPlane;
use support::control_plane::objects::unique_namespace;
use warroom::config::model::WarRoomConfig;
use warroom::incident::entry::EntryKind;
use warroom::incident::log::{IncidentLog, read_log, verify};
use warroom::incident::shared::{EntryStore, KubeStore, compare_with_store};

const CTX: &str = "us-east-1";

struct Host {
    _dir: tempfile::TempDir,
    log: Arc<IncidentLog>,
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

fn war_room(cp: &ControlPlane, ns: &str) -> WarRoomConfig {
    WarRoomConfig {
        context: CTX.into(),
        namespace: ns.into(),
        kubeconfig: Some(cp.kubeconfig.to_string_lossy().into_owned()),
    }
}

fn namespace(cp: &ControlPlane, prefix: &str) -> String {
    let ns = unique_namespace(prefix);
    rt().block_on(cp.namespace(CTX, &ns));
    ns
}

fn store(w: &WarRoomConfig, id: &str) -> Arc<dyn EntryStore> {
    Arc::new(KubeStore::connect(w, None, id).expect("connect"))
}

/// A host declaring a new shared incident.
fn declare(w: &WarRoomConfig, who: &str) -> Host {
    let dir = tempfile::tempdir().unwrap();
    let (log, meta) = IncidentLog::declare(dir.path(), "API down", "SEV1", false, who, Utc::now()).unwrap();
    let log = Arc::new(log);
    log.share(store(w, &meta.id)).unwrap();
    Host { _dir: dir, log }
}

/// A host joining incident `id` from an empty data dir (rebuilt from the store).
fn join(w: &WarRoomConfig, id: &str, who: &str) -> Host {
    let dir = tempfile::tempdir().unwrap();
    let s = store(w, id);
    assert!(IncidentLog::join_from_store(dir.path(), id, s.as_ref()).unwrap(), "rebuilt from the store");
    let (log, _, _) = IncidentLog::open(dir.path(), id, who).unwrap();
    let log = Arc::new(log);
    log.share(s).unwrap();
    Host { _dir: dir, log }
}

fn id_of(h: &Host) -> String {
    h.log.path().file_stem().unwrap().to_string_lossy().into_owned()
}

fn note(h: &Host, s: &str) -> u64 {
    h.log.append(&EntryKind::Note, s, json!({})).unwrap().seq
}

fn wait_until(what: &str, within: Duration, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(start.elapsed() < within, "{what}: not within {within:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn has_summary(path: &Path, s: &str) -> bool {
    std::fs::read_to_string(path).is_ok_and(|t| t.contains(&format!("\"summary\":\"{s}\"")))
}

/// `warroom --config <[war_room]> log verify ID` on the data dir holding `log`: (exit code, stdout).
fn log_verify(w: &WarRoomConfig, log: &Path) -> (i32, String) {
    let data = log.parent().unwrap().parent().unwrap();
    let id = log.file_stem().unwrap().to_string_lossy().into_owned();
    let config = data.join("warroom.toml");
    let toml = format!(
        "[war_room]\ncontext = \"{}\"\nnamespace = \"{}\"\nkubeconfig = \"{}\"\n",
        w.context,
        w.namespace,
        w.kubeconfig.as_deref().unwrap()
    );
    std::fs::write(&config, toml).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_warroom"))
        .args(["--config", config.to_str().unwrap(), "log", "verify", &id])
        .env("WARROOM_DATA_DIR", data)
        .env("HOME", data)
        .output()
        .unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[test]
fn entries_from_one_host_appear_in_the_other_hosts_file_within_a_second() {
    let cp = ControlPlane::shared();
    let w = war_room(cp, &namespace(cp, "wr-rt"));
    let a = declare(&w, "ana@host-a");
    let b = join(&w, &id_of(&a), "bo@host-b");
    let mut trips = Vec::new();
    for i in 0..40 {
        let (from, to) = if i % 2 == 0 { (&a, &b) } else { (&b, &a) };
        let s = format!("note {i} from {}", from.log.operator());
        let start = Instant::now();
        note(from, &s);
        wait_until(&s, Duration::from_secs(1), || has_summary(to.log.path(), &s));
        trips.push(start.elapsed());
    }
    trips.sort();
    eprintln!(
        "round trip through the shared store: p50 {:?} p99 {:?} (n={})",
        percentile(&trips, 0.5),
        percentile(&trips, 0.99),
        trips.len()
    );
    assert_eq!(std::fs::read(a.log.path()).unwrap(), std::fs::read(b.log.path()).unwrap());
    assert!(verify(a.log.path()).unwrap().is_intact());
}

#[test]
fn two_writers_racing_a_thousand_entries_each_make_one_gapless_chain() {
    let cp = ControlPlane::shared();
    let w = war_room(cp, &namespace(cp, "wr-race"));
    let a = declare(&w, "ana@host-a");
    let b = join(&w, &id_of(&a), "bo@host-b");
    const N: usize = 1000;
    std::thread::scope(|s| {
        for h in [&a, &b] {
            s.spawn(move || {
                for i in 0..N {
                    note(h, &format!("{} #{i}", h.log.operator()));
                }
            });
        }
    });
    a.log.sync_now().unwrap();
    b.log.sync_now().unwrap();
    let entries = read_log(a.log.path()).unwrap();
    assert_eq!(entries.len(), 2 * N + 1);
    assert!(entries.iter().enumerate().all(|(i, e)| e.seq == i as u64 + 1), "gapless");
    for who in ["ana@host-a", "bo@host-b"] {
        assert_eq!(
            entries.iter().filter(|e| e.summary.starts_with(who)).count(),
            N,
            "{who}: every entry once"
        );
    }
    assert_eq!(std::fs::read(a.log.path()).unwrap(), std::fs::read(b.log.path()).unwrap(), "identical files");
    assert!(verify(a.log.path()).unwrap().is_intact());
    let s = store(&w, &id_of(&a));
    assert_eq!(
        compare_with_store(a.log.path(), s.as_ref()).unwrap(),
        vec![],
        "the store holds the same chain"
    );
}

#[test]
fn a_third_console_joins_from_an_empty_data_dir_and_verify_catches_truncation_and_rewrites() {
    let cp = ControlPlane::shared();
    let w = war_room(cp, &namespace(cp, "wr-join"));
    let a = declare(&w, "ana@host-a");
    for i in 0..10 {
        note(&a, &format!("before join {i}"));
    }
    let c = join(&w, &id_of(&a), "cy@host-c");
    assert_eq!(std::fs::read(a.log.path()).unwrap(), std::fs::read(c.log.path()).unwrap());
    assert_eq!(note(&c, "from the joiner"), 12);
    wait_until("a sees c", Duration::from_secs(1), || has_summary(a.log.path(), "from the joiner"));

    let s = store(&w, &id_of(&a));
    drop(c);
    let path = a.log.path().to_path_buf();
    // Stop host a's console (its sharing thread ends with the log); keep its data dir.
    let Host { _dir: _keep, log } = a;
    drop(log);
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    std::fs::write(&path, lines[..9].join("\n") + "\n").unwrap();
    assert!(verify(&path).unwrap().is_intact(), "the chain alone cannot see a cut-off end");
    let (code, out) = log_verify(&w, &path);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("OK: 9 entries") && out.contains("seq 10: seqs 10..12"), "{out}");
    let problems = compare_with_store(&path, s.as_ref()).unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].seq, 10);
    assert!(problems[0].message.contains("seqs 10..12") && problems[0].message.contains("truncated"));
    let mut edited: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    edited[4] = edited[4].replace("before join 3", "before join X");
    std::fs::write(&path, edited.join("\n") + "\n").unwrap();
    let problems = compare_with_store(&path, s.as_ref()).unwrap();
    assert_eq!(problems.iter().map(|p| p.seq).collect::<Vec<_>>(), vec![5]);
    assert!(problems[0].message.contains("rewritten"));
    let (code, out) = log_verify(&w, &path);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("seq 5: local line 5 differs"), "{out}");
    std::fs::write(&path, text).unwrap();
    let (code, out) = log_verify(&w, &path);
    assert_eq!(code, 0, "the restored file matches: {out}");
    assert!(out.contains("matches the shared store"), "{out}");
}

#[test]
fn a_two_mib_entry_is_split_across_objects_and_round_trips_byte_for_byte() {
    let cp = ControlPlane::shared();
    let w = war_room(cp, &namespace(cp, "wr-big"));
    let a = declare(&w, "ana@host-a");
    let b = join(&w, &id_of(&a), "bo@host-b");
    let big: String = (0..2 * 1024 * 1024).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
    let seq =
        a.log.append(&EntryKind::Note, "big detail", json!({ "blob": big, "tail": "é日" })).unwrap().seq;
    // A reader may see B's 2 MiB write half done: wait for the whole line (B's file = A's).
    let a_bytes = std::fs::read(a.log.path()).unwrap();
    wait_until("b has the whole big entry", Duration::from_secs(5), || {
        std::fs::read(b.log.path()).unwrap() == a_bytes
    });
    let e = read_log(b.log.path()).unwrap().into_iter().find(|e| e.seq == seq).unwrap();
    assert_eq!(e.details["blob"].as_str().unwrap().len(), big.len(), "never truncated");
    let objects = rt().block_on(async {
        let api: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
            kube::Api::namespaced(cp.client(CTX).await, &w.namespace);
        api.list(&Default::default()).await.unwrap().items.len()
    });
    assert!(objects >= 4, "entry objects plus chunk objects: {objects}");
}

#[test]
fn an_outage_keeps_appends_local_uploads_them_once_and_a_fork_loses_no_line() {
    let mut cp = ControlPlane::start();
    let w = war_room(&cp, &namespace(&cp, "wr-outage"));
    let a = declare(&w, "ana@host-a");
    let b = join(&w, &id_of(&a), "bo@host-b");
    note(&a, "before the outage");

    cp.stop_apiserver(CTX);
    let start = Instant::now();
    for i in 0..3 {
        note(&a, &format!("a during outage {i}"));
    }
    assert!(start.elapsed() < Duration::from_secs(8), "appends go on locally: {:?}", start.elapsed());
    let st = a.log.shared_status().unwrap();
    assert!(st.is_stale(), "{st:?}");
    assert!(st.line(Utc::now()).contains("pending"), "{}", st.line(Utc::now()));
    cp.start_apiserver(CTX);
    wait_until("b gets a's outage entries", Duration::from_secs(10), || {
        has_summary(b.log.path(), "a during outage 2")
    });
    wait_until("a synced", Duration::from_secs(5), || a.log.shared_status().is_some_and(|s| !s.is_stale()));
    let s = store(&w, &id_of(&a));
    assert_eq!(compare_with_store(a.log.path(), s.as_ref()).unwrap(), vec![], "uploaded once, in order");
    assert_eq!(std::fs::read(a.log.path()).unwrap(), std::fs::read(b.log.path()).unwrap());

    // Both hosts append while the store is down: the chains fork.
    cp.stop_apiserver(CTX);
    note(&a, "a fork 1");
    note(&a, "a fork 2");
    note(&b, "b fork 1");
    cp.start_apiserver(CTX);
    wait_until("both converge", Duration::from_secs(15), || {
        let (x, y) = (std::fs::read(a.log.path()).unwrap(), std::fs::read(b.log.path()).unwrap());
        x == y && ["a fork 1", "a fork 2", "b fork 1"].iter().all(|s| has_summary(a.log.path(), s))
    });
    a.log.sync_now().unwrap();
    b.log.sync_now().unwrap();
    assert_eq!(std::fs::read(a.log.path()).unwrap(), std::fs::read(b.log.path()).unwrap());
    assert!(verify(a.log.path()).unwrap().is_intact());
    let entries = read_log(a.log.path()).unwrap();
    for s in ["before the outage", "a during outage 0", "a fork 1", "a fork 2", "b fork 1"] {
        assert_eq!(entries.iter().filter(|e| e.summary == s).count(), 1, "{s}: exactly once");
    }
    let forks: Vec<_> = entries.iter().filter(|e| e.kind == EntryKind::Fork).collect();
    assert_eq!(forks.len(), 1, "one fork recorded");
    assert!(entries.iter().any(|e| e.details.get("rechained_from").is_some()));
    assert_eq!(compare_with_store(a.log.path(), s.as_ref()).unwrap(), vec![]);
}
