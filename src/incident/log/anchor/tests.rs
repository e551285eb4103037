//! The anchored head, state by state: intact, truncated, re-chained by a forger, anchor deleted,
//! another data dir's incident with the same id, a torn tail, and heads from an export.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use chrono::{TimeZone, Utc};
use serde_json::json;

use super::*;
use crate::incident::log::{IncidentLog, ZERO_HASH, encode, verify};

const OP: &str = "tester@host";

/// A live incident with `notes` notes after its declaration, anchored in `state`.
fn anchored_log(data: &Path, state: &Path, notes: usize) -> (IncidentLog, String) {
    let t0 = Utc.with_ymd_and_hms(2026, 11, 26, 12, 3, 1).unwrap();
    let (log, meta) = IncidentLog::declare(data, "db down", "SEV1", false, OP, t0).unwrap();
    let log = log.anchored(state).unwrap();
    for i in 0..notes {
        log.append(&EntryKind::Note, &format!("note {i}"), json!({ "i": i })).unwrap();
    }
    (log, meta.id)
}

fn lines(path: &Path) -> Vec<Vec<u8>> {
    std::fs::read(path)
        .unwrap()
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

fn write_lines(path: &Path, lines: &[Vec<u8>]) {
    let mut out = Vec::new();
    for l in lines {
        out.extend_from_slice(l);
        out.push(b'\n');
    }
    std::fs::write(path, out).unwrap();
}

fn checked(state: &Path, id: &str, log: &Path) -> HeadCheck {
    match verify_anchor(state, id, log).unwrap() {
        AnchorVerdict::Checked { check, .. } => check,
        other => panic!("expected a comparison, got {other:?}"),
    }
}

#[test]
fn every_append_moves_the_anchor_and_an_intact_log_matches_it() {
    let (data, state) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (log, id) = anchored_log(data.path(), state.path(), 4);
    let path = anchor_path(state.path(), &id).unwrap();
    assert_eq!(path, state.path().join("anchors").join(format!("{id}.head")));
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    let anchor = read_anchor(state.path(), &id).unwrap().expect("anchored");
    let last = lines(log.path()).pop().unwrap();
    assert_eq!(anchor.head.seq, 5);
    assert_eq!(anchor.head.entries, 5);
    assert_eq!(anchor.head.hash, line_hash(&last));
    assert_eq!(anchor.head.bytes, std::fs::metadata(log.path()).unwrap().len());
    assert_eq!(Some(anchor.head.clone()), head_of(log.path()).unwrap(), "export and anchor agree");
    assert_eq!(checked(state.path(), &id, log.path()), HeadCheck::Matches { seq: 5, later: 0 });
    // No temp file is left beside it.
    let names: Vec<_> =
        std::fs::read_dir(path.parent().unwrap()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, [std::ffi::OsString::from(format!("{id}.head"))]);
}

#[test]
fn deleting_the_last_lines_is_detected_and_a_later_append_keeps_the_evidence() {
    let (data, state) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (log, id) = anchored_log(data.path(), state.path(), 5);
    let mut all = lines(log.path());
    all.truncate(4);
    write_lines(log.path(), &all);
    assert!(verify(log.path()).unwrap().is_intact(), "the chain alone cannot see it");
    let c = checked(state.path(), &id, log.path());
    assert_eq!(c, HeadCheck::Truncated { log_ends: 4, anchored: 6 });
    assert!(!c.is_ok());
    assert!(
        c.message("its anchor").contains("the log ends at #4 but its anchor says #6"),
        "{}",
        c.message("x")
    );

    // A console appending to the cut log does not move the anchor back over the evidence.
    drop(log);
    let (log, _, _) = IncidentLog::open(data.path(), &id, OP).unwrap();
    let log = log.anchored(state.path()).unwrap();
    log.append(&EntryKind::Note, "after the cut", json!({})).unwrap();
    log.append(&EntryKind::Note, "after the cut 2", json!({})).unwrap();
    assert_eq!(read_anchor(state.path(), &id).unwrap().unwrap().head.seq, 6);
    assert!(matches!(
        checked(state.path(), &id, log.path()),
        HeadCheck::Rewritten { seq: 6, found: Some(_), .. }
    ));
}

#[test]
fn a_forger_who_re_chains_every_hash_is_caught_by_the_anchor() {
    let (data, state) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (log, id) = anchored_log(data.path(), state.path(), 5);
    // Rewrite note 2, then recompute every prev and seal after it, as warroom would have.
    let mut prev = ZERO_HASH.to_string();
    let mut forged = Vec::new();
    for line in lines(log.path()) {
        let mut e: Entry = serde_json::from_slice(&line).unwrap();
        e.summary = e.summary.replace("note 2", "nothing happened");
        e.prev = prev.clone();
        let sealed = encode::seal(encode::to_line(&e).unwrap());
        prev = line_hash(&sealed);
        forged.push(sealed);
    }
    write_lines(log.path(), &forged);
    assert!(verify(log.path()).unwrap().is_intact(), "a consistent re-chain passes the chain walk");
    match checked(state.path(), &id, log.path()) {
        HeadCheck::Rewritten { seq: 6, found: Some(found), expected } => {
            assert_eq!(found, prev);
            assert_ne!(found, expected);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_deleted_anchor_is_a_warning_and_another_logs_anchor_is_not_compared() {
    let (data, state) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (log, id) = anchored_log(data.path(), state.path(), 2);
    std::fs::remove_file(anchor_path(state.path(), &id).unwrap()).unwrap();
    assert_eq!(verify_anchor(state.path(), &id, log.path()).unwrap(), AnchorVerdict::Missing);

    // Another data dir declares the same id (same second) and anchors first in the same state dir.
    let other = tempfile::tempdir().unwrap();
    let (other_log, other_id) = anchored_log(other.path(), state.path(), 1);
    assert_eq!(other_id, id);
    log.append(&EntryKind::Note, "mine", json!({})).unwrap();
    let anchor = read_anchor(state.path(), &id).unwrap().unwrap();
    assert_eq!(anchor.head.seq, 2, "the other log's anchor is left alone");
    assert!(matches!(verify_anchor(state.path(), &id, log.path()).unwrap(), AnchorVerdict::OtherLog(_)));
    assert!(checked(state.path(), &id, other_log.path()).is_ok());
}

#[test]
fn a_torn_tail_continues_the_anchored_head() {
    let (data, state) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (log, id) = anchored_log(data.path(), state.path(), 2);
    drop(log);
    let path = crate::incident::store::log_path(data.path(), &id).unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend_from_slice(b"{\"seq\":4,\"half");
    std::fs::write(&path, bytes).unwrap();
    let (log, _, _) = IncidentLog::open(data.path(), &id, OP).unwrap();
    // The torn-tail entry was written before the anchor was attached: the next append moves
    // the anchor past it (the anchored line is still there).
    let log = log.anchored(state.path()).unwrap();
    log.append(&EntryKind::Note, "after the crash", json!({})).unwrap();
    assert_eq!(read_anchor(state.path(), &id).unwrap().unwrap().head.seq, 5);
    assert_eq!(checked(state.path(), &id, log.path()), HeadCheck::Matches { seq: 5, later: 0 });
}

#[test]
fn a_head_from_an_export_is_found_or_its_absence_explained() {
    let (data, state) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (log, _) = anchored_log(data.path(), state.path(), 3);
    let head = head_of(log.path()).unwrap().unwrap();
    let full: ExpectedHead = format!("{}:{}", head.seq, head.hash).parse().unwrap();
    let bare: ExpectedHead = head.hash.to_uppercase().parse().unwrap();
    assert_eq!(bare, ExpectedHead { seq: None, hash: head.hash.clone() });
    log.append(&EntryKind::Note, "later", json!({})).unwrap();
    assert_eq!(check(log.path(), &full).unwrap(), HeadCheck::Matches { seq: 4, later: 1 });
    assert_eq!(check(log.path(), &bare).unwrap(), HeadCheck::Matches { seq: 4, later: 1 });
    let mut all = lines(log.path());
    all.truncate(3);
    write_lines(log.path(), &all);
    assert_eq!(check(log.path(), &full).unwrap(), HeadCheck::Truncated { log_ends: 3, anchored: 4 });
    assert!(!check(log.path(), &bare).unwrap().is_ok());
    for bad in ["", "12:abc", "x:".repeat(3).as_str(), &format!("x:{}", head.hash)] {
        assert!(bad.parse::<ExpectedHead>().is_err(), "{bad:?}");
    }
}

#[test]
fn a_world_writable_anchors_dir_is_refused_and_the_append_still_succeeds() {
    let (data, state) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let dir = state.path().join("anchors");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let (log, id) = anchored_log(data.path(), state.path(), 2);
    assert_eq!(lines(log.path()).len(), 3, "the log is the primary record");
    assert_eq!(read_anchor(state.path(), &id).unwrap(), None, "nothing written in an unsafe dir");
    assert_eq!(verify_anchor(state.path(), &id, log.path()).unwrap(), AnchorVerdict::Missing);
}

#[test]
fn a_run_of_pulled_lines_moves_the_anchor_only_from_the_anchored_head() {
    let (data, state) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (log, id) = anchored_log(data.path(), state.path(), 2);
    let a = Anchor::new(state.path(), &id, log.path()).unwrap();
    let at = read_anchor(state.path(), &id).unwrap().unwrap().head;
    let later = Head { seq: at.seq + 3, hash: "b".repeat(64), entries: at.seq + 3, bytes: at.bytes + 900 };
    // A run that does not start at the anchored head (a stale base) leaves the anchor alone.
    a.record_run(at.seq - 1, &at.hash, later.clone());
    assert_eq!(read_anchor(state.path(), &id).unwrap().unwrap().head, at);
    a.record_run(at.seq, &"c".repeat(64), later.clone());
    assert_eq!(read_anchor(state.path(), &id).unwrap().unwrap().head, at);
    // From the anchored head: it moves to the run's last line.
    a.record_run(at.seq, &at.hash, later.clone());
    assert_eq!(read_anchor(state.path(), &id).unwrap().unwrap().head, later);
}
