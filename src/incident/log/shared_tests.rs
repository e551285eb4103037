//! The sharing logic against an in-memory store (the Kubernetes store: tests/war_room_shared.rs).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use chrono::Utc;
use serde_json::json;

use super::{IncidentLog, verify};
use crate::incident::entry::EntryKind;
use crate::incident::shared::memory::MemoryStore;
use crate::incident::shared::{EntryStore, compare_with_store};

fn host(store: &Arc<MemoryStore>, who: &str, id: Option<&str>) -> (tempfile::TempDir, Arc<IncidentLog>) {
    let dir = tempfile::tempdir().unwrap();
    let log = match id {
        None => IncidentLog::declare(dir.path(), "t", "SEV2", false, who, Utc::now()).unwrap().0,
        Some(id) => {
            assert!(IncidentLog::join_from_store(dir.path(), id, store.as_ref()).unwrap());
            IncidentLog::open(dir.path(), id, who).unwrap().0
        }
    };
    let log = Arc::new(log);
    log.share(store.clone() as Arc<dyn EntryStore>).unwrap();
    (dir, log)
}

fn id_of(log: &IncidentLog) -> String {
    log.path().file_stem().unwrap().to_string_lossy().into_owned()
}

fn note(log: &IncidentLog, s: &str) -> u64 {
    log.append(&EntryKind::Note, s, json!({})).unwrap().seq
}

#[test]
fn two_hosts_write_one_chain_and_each_file_is_a_verbatim_copy() {
    let store = Arc::new(MemoryStore::default());
    let (_a_dir, a) = host(&store, "ana@a", None);
    let (_b_dir, b) = host(&store, "bo@b", Some(&id_of(&a)));
    let mut seqs = Vec::new();
    for i in 0..20 {
        seqs.push(note(&a, &format!("a{i}")));
        seqs.push(note(&b, &format!("b{i}")));
    }
    assert_eq!(seqs, (2..42).collect::<Vec<_>>(), "each append CAS-wins the next seq after catching up");
    a.sync_now().unwrap();
    assert_eq!(std::fs::read(a.path()).unwrap(), std::fs::read(b.path()).unwrap());
    assert!(verify(a.path()).unwrap().is_intact());
    assert!(compare_with_store(a.path(), store.as_ref()).unwrap().is_empty());
}

#[test]
fn an_unreachable_store_keeps_appends_local_then_uploads_them_once() {
    let store = Arc::new(MemoryStore::default());
    let (_d, a) = host(&store, "ana@a", None);
    note(&a, "before");
    store.down.store(true, Ordering::SeqCst);
    note(&a, "while down 1");
    note(&a, "while down 2");
    let st = a.shared_status().unwrap();
    assert!(st.is_stale(), "{st:?}");
    assert!(st.line(Utc::now()).contains("2 pending"), "{}", st.line(Utc::now()));
    assert_eq!(store.lines.lock().unwrap().len(), 2);
    store.down.store(false, Ordering::SeqCst);
    a.sync_now().unwrap();
    assert!(!a.shared_status().unwrap().is_stale());
    assert_eq!(store.lines.lock().unwrap().len(), 4);
    assert!(compare_with_store(a.path(), store.as_ref()).unwrap().is_empty());
}

#[test]
fn a_fork_while_down_keeps_every_line_and_converges() {
    let store = Arc::new(MemoryStore::default());
    let (_a_dir, a) = host(&store, "ana@a", None);
    let (_b_dir, b) = host(&store, "bo@b", Some(&id_of(&a)));
    store.down.store(true, Ordering::SeqCst);
    note(&a, "a local only 1");
    note(&a, "a local only 2");
    store.down.store(false, Ordering::SeqCst);
    note(&b, "b wins seq 2");
    a.sync_now().unwrap();
    b.sync_now().unwrap();
    let a_bytes = std::fs::read(a.path()).unwrap();
    assert_eq!(a_bytes, std::fs::read(b.path()).unwrap(), "both hosts hold one chain");
    assert!(verify(a.path()).unwrap().is_intact());
    let entries = super::read_log(a.path()).unwrap();
    let summaries: Vec<&str> = entries.iter().map(|e| e.summary.as_str()).collect();
    assert_eq!(summaries[1], "b wins seq 2");
    assert_eq!(&summaries[2..4], ["a local only 1", "a local only 2"]);
    assert_eq!(entries[2].details["rechained_from"]["seq"], 2);
    assert_eq!(entries[4].kind, EntryKind::Fork);
    assert_eq!(entries[4].details["at_seq"], 2);
    let saved = a.path().parent().unwrap().join(entries[4].details["saved"].as_str().unwrap());
    let saved = std::fs::read_to_string(saved).unwrap();
    assert!(saved.contains("a local only 1") && saved.contains("a local only 2"), "the forked file is kept");
}

#[test]
fn verify_against_the_store_finds_truncation_and_rewrites() {
    let store = Arc::new(MemoryStore::default());
    let (_d, a) = host(&store, "ana@a", None);
    for i in 0..4 {
        note(&a, &format!("n{i}"));
    }
    let text = std::fs::read_to_string(a.path()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    std::fs::write(a.path(), lines[..3].join("\n") + "\n").unwrap();
    let p = compare_with_store(a.path(), store.as_ref()).unwrap();
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].seq, 4);
    assert!(p[0].message.contains("seqs 4..5") && p[0].message.contains("truncated"), "{p:?}");
    let mut rewritten: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
    rewritten[1] = rewritten[1].replace("n0", "n9");
    std::fs::write(a.path(), rewritten.join("\n") + "\n").unwrap();
    let p = compare_with_store(a.path(), store.as_ref()).unwrap();
    assert_eq!(p.iter().map(|p| p.seq).collect::<Vec<_>>(), vec![2]);
    assert!(p[0].message.contains("rewritten"));
}
