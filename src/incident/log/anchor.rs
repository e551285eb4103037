//! The log's head anchored outside the data dir: `<state>/anchors/<ID>.head`.
//!
//! A hash chain alone cannot show that its last lines were deleted, nor that a forger rewrote
//! every line and recomputed every hash. So at every append (under the log's lock, after the
//! fsync) the chain's head — `seq`, the hash of the last line, the entry count and the byte
//! length — is written to a second file in the STATE dir (temp file + rename, 0600):
//! one `rm` or truncation of the data dir does not take both. [`check`] compares a log with an
//! anchor (or with the head an export printed): a log that ends before the anchored `seq`, or
//! whose line at that `seq` has another hash, is a failure.
//!
//! The anchor never moves backwards: an append whose log no longer continues the anchored head
//! (truncated or rewritten since) leaves the anchor as it is, so the evidence survives until
//! `log verify` reports it.

use std::fs::{DirBuilder, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use super::LogError;
use super::tail::line_hash;
use crate::incident::entry::{Entry, EntryKind};
use crate::incident::store;

/// A chain's head: its last entry, the hash of its line, and where it ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    /// `seq` of the last entry.
    pub seq: u64,
    /// Hex SHA-256 of the last entry's line (what the next entry's `prev` holds).
    pub hash: String,
    /// Entries in the log (torn lines are not entries).
    pub entries: u64,
    /// Byte length of the log just past that line.
    pub bytes: u64,
}

/// The anchor file: which log it anchors, and that log's head.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnchorFile {
    /// Incident id.
    pub id: String,
    /// The log file it was written for (an anchor of another data dir's log is not compared).
    pub log: String,
    /// The head.
    #[serde(flatten)]
    pub head: Head,
}

/// Where a log's head is anchored, as an [`super::IncidentLog`] holds it.
#[derive(Debug, Clone)]
pub(crate) struct Anchor {
    file: PathBuf,
    id: String,
    log: String,
}

/// `<state_dir>/anchors/<ID>.head` (the id validated).
pub fn anchor_path(state_dir: &Path, id: &str) -> Result<PathBuf, LogError> {
    store::validate_id(id)?;
    Ok(state_dir.join("anchors").join(format!("{id}.head")))
}

/// The anchor of incident `id`, if there is one.
pub fn read_anchor(state_dir: &Path, id: &str) -> Result<Option<AnchorFile>, LogError> {
    let path = anchor_path(state_dir, id)?;
    read_file(&path)
}

fn read_file(path: &Path) -> Result<Option<AnchorFile>, LogError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| LogError::Corrupt {
            path: path.to_path_buf(),
            line: e.line(),
            column: e.column(),
            message: format!("not an anchor file: {e}"),
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(LogError::io(path, "read")(e)),
    }
}

impl Anchor {
    /// The anchor of the log at `log_path` (incident `id`) in `state_dir`.
    pub(crate) fn new(state_dir: &Path, id: &str, log_path: &Path) -> Result<Anchor, LogError> {
        Ok(Anchor { file: anchor_path(state_dir, id)?, id: id.to_string(), log: log_key(log_path) })
    }

    /// After `entry` was written and fsynced, ending the log at `bytes`: moves the anchor to
    /// it when the anchor is absent or is the head `entry` continues. Never fails the append
    /// (the log is the primary record): a problem is logged.
    pub(crate) fn record(&self, entry: &Entry, line: &[u8], bytes: u64) {
        if let Err(e) = self.try_record(entry, line, bytes) {
            tracing::warn!("anchor {}: {e}", self.file.display());
        }
    }

    fn try_record(&self, entry: &Entry, line: &[u8], bytes: u64) -> Result<(), String> {
        let (base_seq, base_hash) = continued_head(entry);
        let head = Head { seq: entry.seq, hash: line_hash(line), entries: entry.seq, bytes };
        self.try_advance(base_seq, &base_hash, head)
    }

    /// After a run of lines (another host's, pulled from the shared store) was written and
    /// fsynced on top of the head `(base_seq, base_hash)`: moves the anchor to `head` on the
    /// same terms as [`Self::record`]. Without it the anchor lags, and the next own append has
    /// to read the whole log to move it.
    pub(crate) fn record_run(&self, base_seq: u64, base_hash: &str, head: Head) {
        if let Err(e) = self.try_advance(base_seq, base_hash, head) {
            tracing::warn!("anchor {}: {e}", self.file.display());
        }
    }

    fn try_advance(&self, base_seq: u64, base_hash: &str, head: Head) -> Result<(), String> {
        let current = read_file(&self.file).map_err(|e| e.to_string())?;
        if let Some(a) = &current {
            if a.log != self.log {
                return Err(format!("it anchors another log ({}); left alone", a.log));
            }
            // An anchor behind the entry's base (a writer that does not anchor appended since)
            // moves only if the log still holds the anchored line.
            let behind_ok = || {
                let expected = ExpectedHead { seq: Some(a.head.seq), hash: a.head.hash.clone() };
                check(Path::new(&self.log), &expected).is_ok_and(|c| c.is_ok())
            };
            let continues = match a.head.seq.cmp(&base_seq) {
                std::cmp::Ordering::Greater => false,
                std::cmp::Ordering::Equal => a.head.hash == *base_hash,
                std::cmp::Ordering::Less => behind_ok(),
            };
            if !continues {
                return Err(format!(
                    "entry #{} does not continue the anchored head #{} {}: the log was truncated or \
                     rewritten; the anchor is kept as evidence",
                    head.seq, a.head.seq, a.head.hash
                ));
            }
        }
        let file = AnchorFile { id: self.id.clone(), log: self.log.clone(), head };
        write_atomic(&self.file, &file).map_err(|e| e.to_string())
    }

    /// Replaces the anchor with `head` whatever it held: only for a deliberate, logged cut of
    /// the log (a shared incident's fork resolution, which saves the cut lines first).
    pub(crate) fn replace(&self, head: &Head) {
        let file = AnchorFile { id: self.id.clone(), log: self.log.clone(), head: head.clone() };
        if let Err(e) = write_atomic(&self.file, &file) {
            tracing::warn!("anchor {}: {e}", self.file.display());
        }
    }

    /// Writes `head` as the anchor when there is none yet (a new incident, or one from before
    /// anchors): an existing anchor is never replaced except by an append that continues it.
    pub(crate) fn record_if_absent(&self, head: &Head) {
        match read_file(&self.file) {
            Ok(None) => {
                let file = AnchorFile { id: self.id.clone(), log: self.log.clone(), head: head.clone() };
                if let Err(e) = write_atomic(&self.file, &file) {
                    tracing::warn!("anchor {}: {e}", self.file.display());
                }
            }
            Ok(Some(_)) => {}
            Err(e) => tracing::warn!("anchor {}: {e}", self.file.display()),
        }
    }
}

/// The head an entry chains onto: `(seq - 1, prev)`, or for a `torn-tail` entry the last good
/// line before the torn ones (`chain_prev`).
fn continued_head(entry: &Entry) -> (u64, String) {
    let hash = match entry.kind {
        EntryKind::TornTail => entry.details["chain_prev"].as_str().unwrap_or_default().to_string(),
        _ => entry.prev.clone(),
    };
    (entry.seq.saturating_sub(1), hash)
}

/// The log path as anchors name it (absolute when it can be made so).
fn log_key(log_path: &Path) -> String {
    let abs = std::fs::canonicalize(log_path).unwrap_or_else(|_| log_path.to_path_buf());
    abs.to_string_lossy().into_owned()
}

/// Temp file (0600) + rename over `path`; creates `anchors/` (0700) when needed.
fn write_atomic(path: &Path, file: &AnchorFile) -> io::Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = path.parent().unwrap_or(Path::new("."));
    DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    let meta = std::fs::symlink_metadata(dir)?;
    if meta.file_type().is_symlink() || !meta.is_dir() || meta.mode() & 0o022 != 0 {
        return Err(io::Error::other(format!(
            "refusing to write in {}: a symlink, not a directory, or group/world-writable",
            dir.display()
        )));
    }
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let tmp = dir.join(format!(
        ".{}.{}.{n}.tmp",
        path.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id()
    ));
    let mut bytes = serde_json::to_vec(file).map_err(io::Error::other)?;
    bytes.push(b'\n');
    let written = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&tmp)?;
        // No fsync: the log line it names was fsynced first, so after a crash the anchor can
        // only lag the log (a weaker check, never a false "truncated"), and a second fsync per
        // append doubled its latency (BENCHMARKS.md).
        f.write_all(&bytes)?;
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// What the log says at a head to compare with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeadCheck {
    /// The log holds the expected head; `later` entries follow it (appended since, unanchored).
    Matches {
        /// The head's seq.
        seq: u64,
        /// Entries after it.
        later: u64,
    },
    /// The log ends before the expected head: its last lines were deleted.
    Truncated {
        /// The log's last entry.
        log_ends: u64,
        /// The expected head.
        anchored: u64,
    },
    /// The line at the expected seq is another line: the log was rewritten.
    Rewritten {
        /// The seq.
        seq: u64,
        /// The hash of the line the log has there (`None`: no line with that seq, hash-only
        /// lookups).
        found: Option<String>,
        /// The expected hash.
        expected: String,
    },
}

impl HeadCheck {
    /// Whether the log holds the head (nothing deleted or rewritten up to it).
    pub fn is_ok(&self) -> bool {
        matches!(self, HeadCheck::Matches { .. })
    }

    /// One sentence for the operator; `source` names where the head came from ("its anchor",
    /// "the head given").
    pub fn message(&self, source: &str) -> String {
        match self {
            HeadCheck::Matches { seq, later: 0 } => format!("the log ends at #{seq}, as {source} says"),
            HeadCheck::Matches { seq, later } => {
                format!("the log holds #{seq}, as {source} says, and {later} entries after it")
            }
            HeadCheck::Truncated { log_ends, anchored } => format!(
                "the log ends at #{log_ends} but {source} says #{anchored}: the last entries were deleted"
            ),
            HeadCheck::Rewritten { seq, found: Some(found), expected } => {
                format!("entry #{seq} has hash {found} but {source} says {expected}: the log was rewritten")
            }
            HeadCheck::Rewritten { found: None, expected, .. } => {
                format!("no entry has the hash {expected} {source} gives: the log was rewritten or truncated")
            }
        }
    }
}

/// A head to compare with, as given on the command line: `SEQ:HASH` or `HASH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedHead {
    /// The seq, when known.
    pub seq: Option<u64>,
    /// The hex SHA-256 of that line.
    pub hash: String,
}

impl std::str::FromStr for ExpectedHead {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim().trim_start_matches('#');
        let (seq, hash) = match s.split_once(':') {
            Some((seq, hash)) => {
                (Some(seq.parse::<u64>().map_err(|_| format!("{seq:?} is not an entry number"))?), hash)
            }
            None => (None, s),
        };
        if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err("expected [SEQ:]HASH with a 64-digit hex SHA-256, as an export prints it".into());
        }
        Ok(ExpectedHead { seq, hash: hash.to_ascii_lowercase() })
    }
}

/// One whole line of a log: its seq (if it is an entry), hash and end offset.
struct LineHead {
    seq: Option<u64>,
    hash: String,
    end: u64,
}

fn line_heads(path: &Path) -> Result<Vec<LineHead>, LogError> {
    #[derive(Deserialize)]
    struct Seq {
        seq: u64,
    }
    let data = std::fs::read(path).map_err(LogError::io(path, "read"))?;
    let mut out = Vec::new();
    let mut end = 0u64;
    for raw in data.split_inclusive(|&b| b == b'\n') {
        end += raw.len() as u64;
        let Some(bytes) = raw.strip_suffix(b"\n") else { break };
        let seq = serde_json::from_slice::<Seq>(bytes).ok().map(|s| s.seq);
        out.push(LineHead { seq, hash: line_hash(bytes), end });
    }
    Ok(out)
}

/// The head of the log at `path`: its last whole entry (`None` for a log without entries).
pub fn head_of(path: &Path) -> Result<Option<Head>, LogError> {
    let lines = line_heads(path)?;
    let entries = lines.iter().filter(|l| l.seq.is_some()).count() as u64;
    Ok(lines
        .iter()
        .rev()
        .find_map(|l| l.seq.map(|seq| Head { seq, hash: l.hash.clone(), entries, bytes: l.end })))
}

/// Compares the log at `path` with an expected head (an anchor's, or one an export printed).
pub fn check(path: &Path, expected: &ExpectedHead) -> Result<HeadCheck, LogError> {
    let lines = line_heads(path)?;
    let last = lines.iter().filter_map(|l| l.seq).max().unwrap_or(0);
    let at = match expected.seq {
        Some(seq) => lines.iter().find(|l| l.seq == Some(seq)),
        None => lines.iter().find(|l| l.seq.is_some() && l.hash == expected.hash),
    };
    Ok(match (at, expected.seq) {
        (Some(l), _) if l.hash == expected.hash => {
            let seq = l.seq.unwrap_or_default();
            HeadCheck::Matches { seq, later: last.saturating_sub(seq) }
        }
        (Some(l), Some(seq)) => {
            HeadCheck::Rewritten { seq, found: Some(l.hash.clone()), expected: expected.hash.clone() }
        }
        (None, Some(seq)) if seq > last => HeadCheck::Truncated { log_ends: last, anchored: seq },
        (_, seq) => HeadCheck::Rewritten {
            seq: seq.unwrap_or_default(),
            found: None,
            expected: expected.hash.clone(),
        },
    })
}

/// What `log verify` learns from the anchor in the state dir.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnchorVerdict {
    /// No anchor (an incident from before anchors, or the anchor was deleted): a warning.
    Missing,
    /// The anchor names another log file (another data dir's incident with the same id): a
    /// warning, nothing compared.
    OtherLog(String),
    /// Compared: see [`HeadCheck`].
    Checked {
        /// The anchored head.
        head: Head,
        /// What the log holds there.
        check: HeadCheck,
    },
}

/// Compares the log of incident `id` at `log_path` with its anchor in `state_dir`.
pub fn verify_anchor(state_dir: &Path, id: &str, log_path: &Path) -> Result<AnchorVerdict, LogError> {
    let Some(anchor) = read_anchor(state_dir, id)? else { return Ok(AnchorVerdict::Missing) };
    if anchor.log != log_key(log_path) {
        return Ok(AnchorVerdict::OtherLog(anchor.log));
    }
    let expected = ExpectedHead { seq: Some(anchor.head.seq), hash: anchor.head.hash.clone() };
    let mut check = check(log_path, &expected)?;
    if let HeadCheck::Matches { seq, .. } = check {
        // Same line, same hash: the bytes before it can only differ if lines before the first
        // were inserted (the chain catches the rest).
        let end = line_heads(log_path)?.into_iter().find(|l| l.seq == Some(seq)).map(|l| l.end);
        if end != Some(anchor.head.bytes) {
            check = HeadCheck::Rewritten {
                seq,
                found: Some(format!("{} at byte {}", anchor.head.hash, end.unwrap_or_default())),
                expected: format!("{} at byte {}", anchor.head.hash, anchor.head.bytes),
            };
        }
    }
    Ok(AnchorVerdict::Checked { head: anchor.head, check })
}

#[cfg(test)]
mod tests;
