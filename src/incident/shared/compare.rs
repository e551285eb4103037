//! Reading the whole shared chain, and comparing a local log with it (`warroom log verify`).

use std::path::Path;

use super::EntryStore;
use crate::incident::entry::Entry;
use crate::incident::log::{ZERO_HASH, line_hash};

/// A difference between the local log and the shared store, by sequence number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreProblem {
    /// The first sequence number concerned.
    pub seq: u64,
    /// A sentence for the operator.
    pub message: String,
}

/// Every line in the store, from seq 1 until the first missing one, checked as a chain (seq
/// runs 1, 2, ...; each `prev` is the hash of the line before). `Err` names the bad seq.
pub fn fetch_chain(store: &dyn EntryStore) -> Result<Vec<Vec<u8>>, String> {
    let mut lines: Vec<Vec<u8>> = Vec::new();
    let mut prev = ZERO_HASH.to_string();
    loop {
        let run = store.get_run(lines.len() as u64 + 1, RUN)?;
        if run.is_empty() {
            return Ok(lines);
        }
        for line in run {
            let seq = lines.len() as u64 + 1;
            let entry: Entry = serde_json::from_slice(&line)
                .map_err(|e| format!("shared entry {seq} is not an entry: {e}"))?;
            if entry.seq != seq || entry.prev != prev {
                return Err(format!("shared entry {seq} does not chain onto entry {}", seq - 1));
            }
            prev = line_hash(&line);
            lines.push(line);
        }
    }
}

/// Entries fetched per round trip when reading a run of them.
pub(crate) const RUN: usize = 64;

/// The local log at `path` against the store: store entries missing locally at its end (a
/// truncated file), entries whose bytes differ (rewritten), local entries the store lacks.
pub fn compare_with_store(path: &Path, store: &dyn EntryStore) -> Result<Vec<StoreProblem>, String> {
    let data = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let local: Vec<&[u8]> = data.split(|&b| b == b'\n').filter(|l| !l.is_empty()).collect();
    let mut problems = Vec::new();
    let mut seq = 0u64;
    loop {
        seq += 1;
        let shared = store.get(seq)?;
        let mine = local.get(seq as usize - 1);
        match (shared, mine) {
            (None, None) => break,
            (Some(_), None) => {
                let mut last = seq;
                while store.get(last + 1)?.is_some() {
                    last += 1;
                }
                problems.push(StoreProblem {
                    seq,
                    message: format!(
                        "seqs {seq}..{last} are in the shared store but not in the local file: the local file was truncated (or never caught up)"
                    ),
                });
                break;
            }
            (None, Some(_)) => {
                problems.push(StoreProblem {
                    seq,
                    message: format!(
                        "local lines from seq {seq} on ({} lines) are not in the shared store: never uploaded, or appended by hand",
                        local.len() as u64 - seq + 1
                    ),
                });
                break;
            }
            (Some(s), Some(m)) if s.as_slice() != *m => {
                problems.push(StoreProblem {
                    seq,
                    message: format!("local line {seq} differs from the shared entry {seq}: rewritten"),
                });
            }
            _ => {}
        }
    }
    Ok(problems)
}
