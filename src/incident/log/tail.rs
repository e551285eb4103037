//! Reading the end of a log file under the lock: the last good entry and any torn lines.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::incident::entry::Entry;
use crate::text::redact::redact;

/// `prev` of the first entry: 64 zeros.
pub const ZERO_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Hex SHA-256 of one line's bytes (without its newline): what the next entry's `prev` holds.
pub fn line_hash(line: &[u8]) -> String {
    hex::encode(Sha256::digest(line))
}

/// What the writer must know to chain the next entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TailState {
    /// File length this state describes.
    pub len: u64,
    /// `seq` of the last entry (0 for an empty file).
    pub last_seq: u64,
    /// Hash of the last line (ZERO_HASH for an empty file).
    pub last_hash: String,
}

/// One unreadable line at the end of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TornLine {
    /// Byte offset of the line's start.
    pub offset: u64,
    /// The line's bytes, without a newline.
    pub bytes: Vec<u8>,
}

/// The end of a log file: the last good entry, then the torn lines after it (if any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TailScan {
    /// `seq` of the last good entry (0 if none).
    pub last_seq: u64,
    /// Hash of the last good line (ZERO_HASH if none).
    pub last_hash: String,
    /// Unreadable lines after it, in file order.
    pub torn: Vec<TornLine>,
    /// The file does not end with a newline.
    pub missing_newline: bool,
}

impl TailScan {
    /// Hash of the last torn line: the `prev` of the `torn-tail` entry.
    pub fn torn_hash(&self) -> String {
        self.torn.last().map_or_else(|| self.last_hash.clone(), |t| line_hash(&t.bytes))
    }

    /// The `torn-tail` entry's summary.
    pub fn summary(&self) -> String {
        let bytes: usize = self.torn.iter().map(|t| t.bytes.len()).sum();
        format!(
            "Torn tail recorded: {} unreadable line(s), {bytes} bytes, after seq {} (interrupted write)",
            self.torn.len(),
            self.last_seq
        )
    }

    /// The `torn-tail` entry's details: each torn line and the hash of the good line before.
    pub fn details(&self) -> Value {
        let torn: Vec<Value> = self
            .torn
            .iter()
            .map(|t| {
                json!({
                    "offset": t.offset,
                    "len": t.bytes.len(),
                    "sha256": line_hash(&t.bytes),
                    "excerpt": excerpt(&t.bytes),
                })
            })
            .collect();
        json!({ "torn": torn, "chain_prev": self.last_hash, "missing_newline": self.missing_newline })
    }
}

/// Up to 80 characters of the torn bytes: lossy UTF-8, control characters as `?`, redacted.
fn excerpt(bytes: &[u8]) -> String {
    let text: String = String::from_utf8_lossy(&bytes[..bytes.len().min(160)])
        .chars()
        .take(80)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    redact(&text).into_owned()
}

/// Whether a terminated line is a good entry; returns its `seq`.
fn entry_seq(line: &[u8]) -> Option<u64> {
    serde_json::from_slice::<Entry>(line).ok().map(|e| e.seq)
}

/// Scans backwards from the end of a `len`-byte file: reads a growing window until it holds the
/// last good entry (or the file start), collecting every unreadable line after it. A last line
/// without a newline is always torn.
pub(crate) fn scan(file: &File, len: u64) -> io::Result<TailScan> {
    let empty =
        TailScan { last_seq: 0, last_hash: ZERO_HASH.to_string(), torn: Vec::new(), missing_newline: false };
    if len == 0 {
        return Ok(empty);
    }
    let mut window: u64 = 8 * 1024;
    'grow: loop {
        let start = len.saturating_sub(window);
        let mut buf = vec![0u8; usize::try_from(len - start).map_err(io::Error::other)?];
        file.read_exact_at(&mut buf, start)?;
        let missing_newline = buf.last() != Some(&b'\n');
        let mut end = if missing_newline { buf.len() } else { buf.len() - 1 };
        let mut torn = Vec::new();
        let mut first = true;
        loop {
            let (line_start, next_end) = match buf[..end].iter().rposition(|&b| b == b'\n') {
                Some(i) => (i + 1, Some(i)),
                None if start == 0 => (0, None),
                None => {
                    window = window.saturating_mul(4);
                    continue 'grow;
                }
            };
            let line = &buf[line_start..end];
            let terminated = !(first && missing_newline);
            first = false;
            if let Some(seq) = entry_seq(line).filter(|_| terminated) {
                torn.reverse();
                return Ok(TailScan { last_seq: seq, last_hash: line_hash(line), torn, missing_newline });
            }
            torn.push(TornLine { offset: start + line_start as u64, bytes: line.to_vec() });
            match next_end {
                Some(i) => end = i,
                None => {
                    torn.reverse();
                    return Ok(TailScan { torn, missing_newline, ..empty });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn scan_bytes(bytes: &[u8]) -> TailScan {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(bytes).unwrap();
        scan(&f, bytes.len() as u64).unwrap()
    }

    fn line(seq: u64) -> String {
        format!(
            r#"{{"seq":{seq},"ts":"2026-11-26T12:00:00.000Z","mono_ms":0,"operator":"a@b","kind":"note","summary":"{}","details":{{}},"prev":"{ZERO_HASH}"}}"#,
            "x".repeat(300)
        )
    }

    #[test]
    fn clean_file_and_empty_file() {
        assert_eq!(scan_bytes(b"").last_seq, 0);
        let text = format!("{}\n{}\n", line(1), line(2));
        let s = scan_bytes(text.as_bytes());
        assert_eq!((s.last_seq, s.torn.len(), s.missing_newline), (2, 0, false));
        assert_eq!(s.last_hash, line_hash(line(2).as_bytes()));
    }

    #[test]
    fn torn_lines_are_collected_in_order_even_across_windows() {
        // Enough good lines to need more than one window, then a complete-but-unterminated
        // entry (still torn) after a garbage line.
        let mut text: String = (1..=40).map(|i| line(i) + "\n").collect();
        let garbage_at = text.len() as u64;
        text.push_str("{\"seq\":41,\"ts\":\n");
        let last_at = text.len() as u64;
        text.push_str(&line(42));
        let s = scan_bytes(text.as_bytes());
        assert_eq!(s.last_seq, 40);
        assert!(s.missing_newline);
        assert_eq!(s.torn.iter().map(|t| t.offset).collect::<Vec<_>>(), vec![garbage_at, last_at]);
        assert_eq!(s.torn_hash(), line_hash(line(42).as_bytes()));
        let long_garbage = "z".repeat(100_000);
        let s = scan_bytes(format!("{}\n{long_garbage}", line(1)).as_bytes());
        assert_eq!((s.last_seq, s.torn[0].bytes.len()), (1, 100_000));
    }

    #[test]
    fn only_garbage() {
        let s = scan_bytes(b"\n");
        assert_eq!((s.last_seq, s.torn.len(), s.last_hash.as_str()), (0, 1, ZERO_HASH));
        assert_eq!(s.torn[0].bytes, b"");
    }
}
