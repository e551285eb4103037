//! Walking the hash chain: finds the first edited, missing, reordered or forged line.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::LogError;
use super::tail::{ZERO_HASH, line_hash};
use crate::incident::entry::{Entry, EntryKind};

/// What kind of damage [`verify`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    /// A line that is not an entry, in the middle of the log, recorded by no `torn-tail` entry.
    Unreadable,
    /// A `torn-tail` entry whose record does not match the lines before it.
    TornRecordMismatch,
    /// Entries are missing (deleted): a `seq` was skipped and never appears.
    Missing,
    /// Entries are out of order or duplicated.
    Reordered,
    /// A line's `prev` does not match the previous line: that line was edited, or this one was
    /// not written by warroom (appended or altered by hand).
    ChainBroken,
}

/// The first problem in a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The damaged line (1-based): for [`ProblemKind::ChainBroken`], the line whose bytes no
    /// longer match what the next line recorded (the edited one).
    pub line: usize,
    /// The line at which the walk detected it (equal to `line`, or the line after it).
    pub detected_at: usize,
    /// What kind of damage.
    pub kind: ProblemKind,
    /// A sentence for the operator.
    pub message: String,
}

/// Unreadable lines at the end of the log, not yet recorded: the next open records them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingTorn {
    /// First torn line (1-based).
    pub first_line: usize,
    /// How many lines.
    pub lines: usize,
    /// Their total length in bytes.
    pub bytes: usize,
}

/// The result of [`verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// The log file.
    pub path: PathBuf,
    /// Lines read (a final line without a newline counts).
    pub lines: usize,
    /// Good entries up to the first problem.
    pub entries: usize,
    /// Torn lines recorded by `torn-tail` entries (crash leftovers, not tampering).
    pub recorded_torn: usize,
    /// A torn tail not yet recorded (not tampering; the next open records it).
    pub pending_torn: Option<PendingTorn>,
    /// The first problem, if any.
    pub problem: Option<Problem>,
}

impl VerifyReport {
    /// No tampering found (a pending torn tail is not tampering).
    pub fn is_intact(&self) -> bool {
        self.problem.is_none()
    }
}

/// The `details` of a `torn-tail` entry, as verify reads them.
#[derive(Deserialize)]
struct TornRecord {
    torn: Vec<TornLineRecord>,
    chain_prev: String,
}

#[derive(Deserialize, PartialEq)]
struct TornLineRecord {
    offset: u64,
    len: usize,
    sha256: String,
}

/// One physical line of the file.
struct Line<'a> {
    offset: u64,
    bytes: &'a [u8],
    entry: Option<Entry>,
}

/// Checks a whole log: `seq` runs 1, 2, 3, ...; each `prev` is the hash of the line before;
/// unreadable lines occur only where a `torn-tail` entry records exactly them (or at the end).
/// Stops at the first problem. Limits: an unkeyed chain cannot tell a deleted or edited *last*
/// line, nor a forger who recomputes every hash after his edit.
pub fn verify(path: &Path) -> Result<VerifyReport, LogError> {
    let data = std::fs::read(path).map_err(LogError::io(path, "read"))?;
    let mut lines = Vec::new();
    let mut offset = 0u64;
    for raw in data.split_inclusive(|&b| b == b'\n') {
        let bytes = raw.strip_suffix(b"\n").unwrap_or(raw);
        let terminated = bytes.len() < raw.len();
        let entry = serde_json::from_slice::<Entry>(bytes).ok().filter(|_| terminated);
        lines.push(Line { offset, bytes, entry });
        offset += raw.len() as u64;
    }
    let mut report = VerifyReport {
        path: path.to_path_buf(),
        lines: lines.len(),
        entries: 0,
        recorded_torn: 0,
        pending_torn: None,
        problem: None,
    };
    let mut expected_seq = 1u64;
    let mut prev_hash = ZERO_HASH.to_string();
    let mut run: Vec<usize> = Vec::new();
    let mut seals_seen = false;
    for (i, line) in lines.iter().enumerate() {
        let no = i + 1;
        let Some(entry) = &line.entry else {
            run.push(i);
            continue;
        };
        let sealed = super::encode::seal_ok(line.bytes);
        if sealed.is_some() {
            seals_seen = true;
        }
        let seal_problem = match sealed {
            Some(false) => Some(format!("line {no} was edited: its own hash does not match its content")),
            None if seals_seen => {
                Some(format!("line {no} carries no hash while earlier lines do: it was edited"))
            }
            _ => None,
        };
        if let Some(message) = seal_problem {
            report.problem =
                Some(Problem { line: no, detected_at: no, kind: ProblemKind::ChainBroken, message });
            return Ok(report);
        }
        let problem = if !run.is_empty() {
            let p = check_torn_record(&lines, &run, entry, &prev_hash, no);
            report.recorded_torn += run.len();
            run.clear();
            p.or_else(|| check_seq(&lines, i, entry.seq, expected_seq))
        } else {
            check_seq(&lines, i, entry.seq, expected_seq).or_else(|| check_prev(entry, &prev_hash, no))
        };
        if let Some(p) = problem {
            report.problem = Some(p);
            return Ok(report);
        }
        report.entries += 1;
        expected_seq = entry.seq + 1;
        prev_hash = line_hash(line.bytes);
    }
    if let Some(&first) = run.first() {
        report.pending_torn = Some(PendingTorn {
            first_line: first + 1,
            lines: run.len(),
            bytes: run.iter().map(|&i| lines[i].bytes.len()).sum(),
        });
    }
    Ok(report)
}

/// The entry after unreadable lines must be a `torn-tail` entry recording exactly them.
fn check_torn_record(
    lines: &[Line],
    run: &[usize],
    entry: &Entry,
    prev_hash: &str,
    no: usize,
) -> Option<Problem> {
    let first = run[0] + 1;
    if entry.kind != EntryKind::TornTail {
        return Some(Problem {
            line: first,
            detected_at: no,
            kind: ProblemKind::Unreadable,
            message: format!(
                "line {first} is not a valid entry and no torn-tail entry records it (line {no} is a {:?} entry)",
                entry.kind.as_str()
            ),
        });
    }
    let mismatch = |what: &str| {
        Some(Problem {
            line: no,
            detected_at: no,
            kind: ProblemKind::TornRecordMismatch,
            message: format!("torn-tail entry at line {no} does not match lines {first}..{}: {what}", no - 1),
        })
    };
    let Ok(record) = serde_json::from_value::<TornRecord>(entry.details.clone()) else {
        return mismatch("its details lack torn/chain_prev");
    };
    let actual: Vec<TornLineRecord> = run
        .iter()
        .map(|&i| TornLineRecord {
            offset: lines[i].offset,
            len: lines[i].bytes.len(),
            sha256: line_hash(lines[i].bytes),
        })
        .collect();
    if record.torn != actual {
        return mismatch("offsets, lengths or hashes differ (torn lines altered)");
    }
    if record.chain_prev != prev_hash {
        return mismatch("chain_prev is not the hash of the last good line before them");
    }
    if entry.prev != actual.last().map_or_else(String::new, |t| t.sha256.clone()) {
        return mismatch("prev is not the hash of the last torn line");
    }
    None
}

/// `seq` must be the next one; tells a deletion from a reordering by looking for the missing one.
fn check_seq(lines: &[Line], i: usize, seq: u64, expected: u64) -> Option<Problem> {
    let no = i + 1;
    let find =
        |s: u64| lines.iter().position(|l| l.entry.as_ref().is_some_and(|e| e.seq == s)).map(|p| p + 1);
    let (kind, message) = if seq == expected {
        return None;
    } else if seq < expected {
        (
            ProblemKind::Reordered,
            format!("line {no} has seq {seq} after seq {}: entries reordered or duplicated", expected - 1),
        )
    } else if let Some(at) = find(expected) {
        (
            ProblemKind::Reordered,
            format!(
                "line {no} has seq {seq} where seq {expected} was expected; seq {expected} is at line {at}: entries reordered"
            ),
        )
    } else {
        let range = if seq - expected == 1 {
            format!("seq {expected} is")
        } else {
            format!("seqs {expected}..{} are", seq - 1)
        };
        (ProblemKind::Missing, format!("{range} missing before line {no}: entries deleted"))
    };
    Some(Problem { line: no, detected_at: no, kind, message })
}

/// `prev` must be the hash of the previous line.
fn check_prev(entry: &Entry, prev_hash: &str, no: usize) -> Option<Problem> {
    if entry.prev == prev_hash {
        return None;
    }
    let (line, message) = if no == 1 {
        (1, "line 1's prev is not 64 zeros: the start of the log was altered".to_string())
    } else {
        let p = no - 1;
        (
            p,
            format!(
                "line {p} does not match the hash recorded in line {no}: line {p} was edited, or line {no} \
                 was not written by warroom"
            ),
        )
    };
    Some(Problem { line, detected_at: no, kind: ProblemKind::ChainBroken, message })
}
