//! Following a log that other consoles append to.

use std::collections::HashSet;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::LogError;
use crate::incident::entry::Entry;

/// Most bytes one poll reads; the rest comes on the next poll.
const MAX_POLL_BYTES: u64 = 64 * 1024 * 1024;

/// Remembers a byte offset in a log and yields the complete entries appended after it. Call
/// [`LogFollower::poll_new`] a few times a second; it never blocks on the writers' lock.
#[derive(Debug)]
pub struct LogFollower {
    path: PathBuf,
    file: Option<File>,
    offset: u64,
    /// Sequence numbers the console's own log handle wrote (see [`Self::take_own`]).
    own: Option<Arc<Mutex<HashSet<u64>>>>,
    /// Set by the log when a fork resolution cut the file back (see `IncidentLog::share`).
    rewind: Option<Arc<Mutex<Option<u64>>>>,
}

impl LogFollower {
    /// Follows `path` from byte `offset` (0 for the whole log).
    pub fn new(path: &Path, offset: u64) -> LogFollower {
        LogFollower { path: path.to_path_buf(), file: None, offset, own: None, rewind: None }
    }

    /// Tell entries written through the log handle that shares `own` from other consoles'.
    pub(crate) fn with_own(mut self, own: Arc<Mutex<HashSet<u64>>>) -> LogFollower {
        self.own = Some(own);
        self
    }

    /// Follow the cut-backs of the log handle sharing `rewind` (a resolved fork).
    pub(crate) fn with_rewind(mut self, rewind: Arc<Mutex<Option<u64>>>) -> LogFollower {
        self.rewind = Some(rewind);
        self
    }

    /// Whether entry `seq` (just returned by a poll) was written by this console's own log
    /// handle; asks once per entry (the record is dropped). Without a handle: `false`.
    pub fn take_own(&self, seq: u64) -> bool {
        self.own.as_ref().is_some_and(|o| o.lock().unwrap_or_else(|e| e.into_inner()).remove(&seq))
    }

    /// The byte offset just past the last complete line returned.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Complete new entries since the last call, in file order. A partly written last line is
    /// left for the next call; unreadable (torn) lines are skipped, as the `torn-tail` entry
    /// that records them will be returned. Errors are logged and yield nothing.
    pub fn poll_new(&mut self) -> Vec<Entry> {
        self.try_poll_new().unwrap_or_else(|e| {
            tracing::warn!("following the incident log: {e}");
            Vec::new()
        })
    }

    /// [`Self::poll_new`], returning I/O errors.
    pub fn try_poll_new(&mut self) -> Result<Vec<Entry>, LogError> {
        if let Some(to) =
            self.rewind.as_ref().and_then(|r| r.lock().unwrap_or_else(|e| e.into_inner()).take())
        {
            self.offset = self.offset.min(to);
        }
        let file = match &self.file {
            Some(f) => f,
            None => self.file.insert(File::open(&self.path).map_err(LogError::io(&self.path, "open"))?),
        };
        let len = file.metadata().map_err(LogError::io(&self.path, "stat"))?.len();
        if len < self.offset {
            tracing::warn!(path = %self.path.display(), "incident log shrank from {} to {len} bytes", self.offset);
        }
        if len <= self.offset {
            return Ok(Vec::new());
        }
        let want = (len - self.offset).min(MAX_POLL_BYTES);
        let mut buf = vec![0u8; usize::try_from(want).unwrap_or(usize::MAX)];
        file.read_exact_at(&mut buf, self.offset).map_err(LogError::io(&self.path, "read"))?;
        let Some(last_newline) = buf.iter().rposition(|&b| b == b'\n') else {
            return Ok(Vec::new());
        };
        self.offset += last_newline as u64 + 1;
        Ok(buf[..last_newline]
            .split(|&b| b == b'\n')
            .filter_map(|line| serde_json::from_slice::<Entry>(line).ok())
            .collect())
    }
}
