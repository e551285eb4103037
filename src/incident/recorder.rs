//! The flight recorder's files: what a console applied to its core, as opaque records, in
//! `<incidents dir>/<ID>.rec/<console-id>/<NNNNNN>.seg`.
//!
//! This layer knows nothing of the core: a record is already-encoded bytes with a timestamp
//! (`app::recording` encodes and decodes them). A segment is a short plain header
//! ([`MAGIC`]) followed by one raw DEFLATE stream of records, each `varint(zigzag(ts - prev
//! ts) in ns) varint(len) bytes`. A segment closes after ~5 min or ~256 KiB of compressed
//! output (or when the console exits): the stream is finished, the file fsynced, and the
//! incident log gets a `recording` entry with its SHA-256 ([`SegmentInfo`]), which `warroom
//! log verify` checks ([`verify`]). Files are created `0600`, never rewritten: append-only.
//!
//! Durability follows the incident log's rule, "durable before it matters": a record of
//! something the log also records (an entry, a step result, a command, a shutdown) is
//! flushed and fsynced when written; the rest (ticks, snapshots, typing) at most
//! [`Limits::sync_every`] later. A crash loses at most that second, and the reader reads
//! a torn tail up to its last whole record and says so.
//!
//! Compression: `flate2` (raw DEFLATE, pure-Rust backend). It is the rust-lang maintained
//! crate, needs no C toolchain (zstd links libzstd through `zstd-sys`), streams with sync
//! flushes (each fsync point is decodable: a torn file reads up to its last flush), and a
//! delta-encoded drill estate compresses well within the 1 MB/hour budget
//! (BENCHMARKS.md).

mod read;
#[cfg(test)]
mod tests;
mod verify;
mod write;

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use read::{RawRecording, RawSegment, Records, read_raw, read_segment};
pub use verify::{RecVerify, verify};
pub use write::SegmentWriter;

/// The first bytes of every segment file (format version 1), before the DEFLATE stream.
pub const MAGIC: &[u8] = b"WARROOM-REC 1\n";

/// When a segment closes and when records are fsynced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Close a segment once the compressor put out this many bytes (it holds tens of KiB
    /// back between flushes, so a segment ends up to one flush interval past it).
    pub max_bytes: u64,
    /// Close a segment this long after it opened.
    pub max_age: Duration,
    /// Records that are not urgent are fsynced at most this long after they are written.
    pub sync_every: Duration,
}

impl Default for Limits {
    /// ~256 KiB or ~5 min per segment, fsync within 1 s.
    fn default() -> Limits {
        Limits {
            max_bytes: 256 * 1024,
            max_age: Duration::from_secs(300),
            sync_every: Duration::from_secs(1),
        }
    }
}

/// A closed segment: the `details` of its `recording` log entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentInfo {
    /// The console's id (its directory).
    pub console: String,
    /// The file name, e.g. `000001.seg`.
    pub segment: String,
    /// File size in bytes.
    pub bytes: u64,
    /// Records in it.
    pub records: u64,
    /// Hex SHA-256 of the whole file.
    pub sha256: String,
    /// Time of its first record.
    pub from: DateTime<Utc>,
    /// Time of its last record.
    pub to: DateTime<Utc>,
}

/// Where a closed segment is announced: the incident log (a `recording` entry).
pub trait SegmentLog: Send + Sync {
    /// Record that `info` closed. An error is reported by the writer, never fatal.
    fn segment_closed(&self, info: &SegmentInfo) -> Result<(), String>;
}

impl SegmentLog for super::log::IncidentLog {
    fn segment_closed(&self, info: &SegmentInfo) -> Result<(), String> {
        let summary = format!(
            "recording segment {}/{} closed: {} records, {} bytes",
            info.console, info.segment, info.records, info.bytes
        );
        let mut details = serde_json::to_value(info).map_err(|e| e.to_string())?;
        // Every line of a drill's log says so, as the core's entries do.
        if self.mode().is_drill()
            && let Some(map) = details.as_object_mut()
        {
            map.insert("drill".into(), true.into());
        }
        self.append(&super::entry::EntryKind::Recording, &summary, details)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

/// What went wrong reading a recording.
#[derive(Debug, thiserror::Error)]
pub enum RecError {
    /// A file could not be read.
    #[error("{path}: cannot {action}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// The error.
        source: std::io::Error,
    },
    /// Not a segment file (wrong header).
    #[error("{path}: not a warroom recording segment (bad header)")]
    BadMagic {
        /// The file.
        path: PathBuf,
    },
    /// A record could not be decoded.
    #[error("{path}: record {record}: {message}")]
    Decode {
        /// The segment.
        path: PathBuf,
        /// The record's index in the console's recording (0-based).
        record: usize,
        /// What is wrong.
        message: String,
    },
    /// The console's directory holds no segment.
    #[error("{path}: no recording segment")]
    Empty {
        /// The console's directory.
        path: PathBuf,
    },
}

/// One console's recording of an incident: its directory and its segments in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleRecording {
    /// The incident id.
    pub incident: String,
    /// The console's id (directory name).
    pub console: String,
    /// `<incidents dir>/<ID>.rec/<console>`.
    pub dir: PathBuf,
    /// Its segment files, in order.
    pub segments: Vec<PathBuf>,
}

/// `<data dir>/incidents/<ID>.rec`, or `None` for an invalid incident id.
pub fn recordings_dir(data_dir: &Path, id: &str) -> Option<PathBuf> {
    let log = super::store::log_path(data_dir, id).ok()?;
    Some(log.with_file_name(format!("{id}.rec")))
}

/// The console recordings under a recording directory `root` (`<ID>.rec`).
pub fn consoles_in(root: &Path) -> Vec<ConsoleRecording> {
    let incident = root.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_string();
    let mut out: Vec<ConsoleRecording> = sorted_entries(root)
        .into_iter()
        .filter(|p| p.is_dir())
        .filter_map(|dir| {
            let console = dir.file_name()?.to_str()?.to_string();
            valid_console_id(&console).then(|| ConsoleRecording {
                incident: incident.clone(),
                segments: segment_files(&dir),
                console,
                dir,
            })
        })
        .collect();
    out.retain(|c| !c.segments.is_empty());
    out
}

/// Every console recording of incident `id`, ordered by console id (which starts with the
/// console's start time). None when nothing was recorded or the id is invalid.
pub fn consoles(data_dir: &Path, id: &str) -> Vec<ConsoleRecording> {
    recordings_dir(data_dir, id).map(|root| consoles_in(&root)).unwrap_or_default()
}

/// The `NNNNNN.seg` files of a console directory, in order.
fn segment_files(dir: &Path) -> Vec<PathBuf> {
    sorted_entries(dir)
        .into_iter()
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(valid_segment_name))
        .collect()
}

fn sorted_entries(dir: &Path) -> Vec<PathBuf> {
    let Ok(read) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut v: Vec<PathBuf> = read.filter_map(|e| e.ok().map(|e| e.path())).collect();
    v.sort();
    v
}

/// A console id names a directory: letters, digits, `.`, `_`, `-`; no leading dot.
pub fn valid_console_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && !s.starts_with('.')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// `NNNNNN.seg`: six digits.
pub fn valid_segment_name(s: &str) -> bool {
    s.strip_suffix(".seg").is_some_and(|n| n.len() == 6 && n.bytes().all(|b| b.is_ascii_digit()))
}

/// A new console id: its start time and process id (`20261206T051500Z-4242`), unique per
/// console process and ordered by start.
pub fn new_console_id(now: DateTime<Utc>) -> String {
    format!("{}-{}", now.format("%Y%m%dT%H%M%S%.3fZ"), std::process::id())
}

/// Hex SHA-256 of `bytes`.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}
