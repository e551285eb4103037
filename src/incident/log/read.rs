//! Reading a whole log back (for resuming an incident, `show`, `list`).

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use super::LogError;
use crate::incident::entry::{Entry, EntryKind};

/// Every entry of a log, in file order. Unreadable lines are accepted only as torn tails: when a
/// `torn-tail` entry follows them, or at the very end (the next writer records them). Any other
/// unreadable line is an error naming file, line and column. Integrity of the chain is
/// [`super::verify`]'s job, not this function's.
pub fn read_log(path: &Path) -> Result<Vec<Entry>, LogError> {
    read_entries(path).map(|(entries, _)| entries)
}

/// [`read_log`], plus the byte offset just past the last newline-terminated line.
pub(crate) fn read_entries(path: &Path) -> Result<(Vec<Entry>, u64), LogError> {
    let file = File::open(path).map_err(LogError::io(path, "open"))?;
    let mut reader = BufReader::with_capacity(256 * 1024, file);
    let mut entries = Vec::new();
    let mut buf = Vec::new();
    let (mut line_no, mut offset, mut end) = (0usize, 0u64, 0u64);
    // First unreadable line not yet followed by a torn-tail entry: (line, column, message).
    let mut pending: Option<(usize, usize, String)> = None;
    loop {
        buf.clear();
        let n = reader.read_until(b'\n', &mut buf).map_err(LogError::io(path, "read"))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        offset += n as u64;
        let terminated = buf.last() == Some(&b'\n');
        if terminated {
            buf.pop();
            end = offset;
        }
        match serde_json::from_slice::<Entry>(&buf) {
            Ok(entry) if terminated => {
                if let Some((line, column, message)) = pending.take()
                    && entry.kind != EntryKind::TornTail
                {
                    return Err(LogError::Corrupt { path: path.to_path_buf(), line, column, message });
                }
                entries.push(entry);
            }
            Ok(_) => {
                pending.get_or_insert((line_no, buf.len() + 1, "expected a newline ending the entry".into()));
            }
            Err(err) => {
                pending.get_or_insert((
                    line_no,
                    err.column().max(1),
                    format!(
                        "expected an incident-log entry (JSON object with seq, ts, mono_ms, operator, kind, \
                         summary, details, prev), or a torn tail recorded by a following torn-tail entry: {err}"
                    ),
                ));
            }
        }
    }
    Ok((entries, end))
}
