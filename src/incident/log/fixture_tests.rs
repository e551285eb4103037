//! Logs written before entry kinds were an enum (`tests/fixtures/logs`, one live incident with
//! every kind, an unknown kind and a recorded torn tail; one drill, to which a `recording` entry
//! was appended by `warroom log append`) still verify, read back and encode to the very bytes
//! they were written with.

use std::path::PathBuf;

use super::{encode, read_log, verify};
use crate::incident::entry::{Entry, EntryKind};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/logs").join(name)
}

const LIVE: &str = "INC-20261205-231413.jsonl";
const DRILL: &str = "INC-20261205-231413-DRILL.jsonl";
/// A facilitated drill (pause, resume, a hint): written after kinds were an enum; a
/// `trend-sample` entry was appended by `warroom log append` when that kind was added.
const FACILITATED: &str = "INC-20261206-060000-FACILITATED.jsonl";
/// A shared incident whose host re-chained an entry after a fork (`fork`, `rechained_from`).
const SHARED: &str = "INC-20261206-085921-SHARED.jsonl";
/// A drill run by `warroom exec` under the two-person rule: a step rejected, then one approved
/// (`warroom approve --operator bob@ops2`), with the `step-confirmed` details of the wait.
const APPROVALS: &str = "INC-20261206-090630-DRILL.jsonl";

#[test]
fn fixture_logs_verify_unchanged() {
    for (name, entries, torn) in
        [(LIVE, 30, 1), (DRILL, 12, 0), (FACILITATED, 5, 0), (SHARED, 5, 0), (APPROVALS, 43, 0)]
    {
        let report = verify(&fixture(name)).expect("readable fixture");
        assert!(report.is_intact(), "{name}: {:?}", report.problem);
        assert_eq!((report.entries, report.recorded_torn), (entries, torn), "{name}");
        assert!(report.pending_torn.is_none(), "{name}");
    }
}

#[test]
fn every_entry_of_the_fixtures_encodes_to_the_bytes_it_was_written_with() {
    for name in [LIVE, DRILL, FACILITATED, SHARED, APPROVALS] {
        let raw = std::fs::read(fixture(name)).expect("fixture");
        let entries = read_log(&fixture(name)).expect("fixture reads");
        let lines: Vec<&[u8]> = raw
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .filter(|l| serde_json::from_slice::<Entry>(l).is_ok())
            .collect();
        assert_eq!(lines.len(), entries.len(), "{name}");
        for (line, entry) in lines.iter().zip(&entries) {
            let again = encode::seal(encode::to_line(entry).expect("encodes"));
            assert_eq!(String::from_utf8_lossy(&again), String::from_utf8_lossy(line), "{name}");
        }
    }
}

#[test]
fn the_fixtures_hold_every_known_kind_and_an_unknown_one_kept_verbatim() {
    let mut kinds: Vec<EntryKind> = Vec::new();
    for name in [LIVE, DRILL, FACILITATED, SHARED, APPROVALS] {
        kinds.extend(read_log(&fixture(name)).expect("fixture reads").into_iter().map(|e| e.kind));
    }
    for known in EntryKind::KNOWN {
        assert!(kinds.contains(known), "{known} is in no fixture log: add it");
    }
    let unknown: Vec<&EntryKind> = kinds.iter().filter(|k| matches!(k, EntryKind::Other(_))).collect();
    assert_eq!(unknown, [&EntryKind::Other("pager-escalated".into())]);
}
