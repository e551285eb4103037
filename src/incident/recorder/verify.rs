//! `warroom log verify` for recordings: every segment the log records must be on disk with
//! the recorded hash; a segment on disk the log does not record is a failure unless it is
//! the last one of its console (open: the console is running, or it stopped without closing).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::{SegmentInfo, consoles, recordings_dir, valid_console_id, valid_segment_name};
use crate::incident::entry::{Entry, EntryKind};

/// What [`verify`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecVerify {
    /// Segments whose file matches the log's hash.
    pub verified: usize,
    /// Last segments not (yet) recorded in the log: open.
    pub open: Vec<PathBuf>,
    /// Failures, one sentence each naming the file.
    pub problems: Vec<String>,
}

impl RecVerify {
    /// Nothing missing, altered or unrecorded.
    pub fn is_intact(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Check incident `id`'s recordings against its log `entries`.
pub fn verify(data_dir: &Path, id: &str, entries: &[Entry]) -> RecVerify {
    let mut out = RecVerify::default();
    let Some(root) = recordings_dir(data_dir, id) else { return out };
    let mut logged = HashSet::new();
    for e in entries.iter().filter(|e| e.kind == EntryKind::Recording) {
        let info = match serde_json::from_value::<SegmentInfo>(e.details.clone()) {
            Ok(i) if valid_console_id(&i.console) && valid_segment_name(&i.segment) => i,
            _ => {
                out.problems
                    .push(format!("log entry {}: a recording entry that names no valid segment", e.seq));
                continue;
            }
        };
        let path = root.join(&info.console).join(&info.segment);
        logged.insert(path.clone());
        match std::fs::read(&path) {
            Err(err) => out.problems.push(format!(
                "recording segment {} is missing ({err}); the log recorded it at entry {}",
                path.display(),
                e.seq
            )),
            Ok(bytes) if super::sha256_hex(&bytes) != info.sha256 || bytes.len() as u64 != info.bytes => {
                out.problems.push(format!(
                    "recording segment {} was altered: its SHA-256 does not match the log (entry {})",
                    path.display(),
                    e.seq
                ))
            }
            Ok(_) => out.verified += 1,
        }
    }
    for console in consoles(data_dir, id) {
        let last = console.segments.last().cloned();
        for seg in console.segments.iter().filter(|s| !logged.contains(*s)) {
            if Some(seg) == last.as_ref() {
                out.open.push(seg.clone());
            } else {
                out.problems.push(format!(
                    "recording segment {} is not recorded in the log (added by hand, or its entry was lost)",
                    seg.display()
                ));
            }
        }
    }
    out
}
