//! The durable, append-only, hash-chained incident log (one JSON Lines file per incident).
//!
//! Every line is one [`Entry`]; `prev` is the hex SHA-256 of the previous line's bytes (without
//! its newline), so editing, deleting, reordering or hand-appending lines breaks the chain that
//! [`verify`] walks. [`IncidentLog::append`] writes one line with a single `write_all` under an
//! exclusive advisory lock and `fsync`s it before returning, so two consoles can share a file
//! and a `kill -9` loses at most the line being written.
//!
//! A crash can leave a torn tail (a last line without its newline, or one that is not an
//! entry). It is never truncated or repaired: the next writer terminates it with a newline and
//! appends a `torn-tail` entry whose `prev` is the hash of the torn line's bytes as they are and
//! whose details record each torn line (`offset`, `len`, `sha256`, sanitized `excerpt`) plus
//! `chain_prev`, the hash of the last good line before them, so the chain stays checkable.

pub mod anchor;
mod encode;
#[cfg(test)]
mod fixture_tests;
mod follow;
mod read;
mod shared;
#[cfg(test)]
mod shared_tests;
mod tail;
#[cfg(test)]
mod tests;
mod verify;

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Instant;

use chrono::{DateTime, SubsecRound, Utc};
use serde_json::{Value, json};

pub use follow::LogFollower;
pub use read::read_log;
pub use tail::{ZERO_HASH, line_hash};
pub use verify::{PendingTorn, Problem, ProblemKind, VerifyReport, verify};

use super::entry::{Entry, EntryKind};
use super::store::{self, IncidentMeta};
use crate::text::redact::{redact, redact_json};
use tail::TailState;

/// Why the incident log could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// An I/O operation on a log file or directory failed.
    #[error("{path}: {action}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What was being done, e.g. "fsync".
        action: &'static str,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The path is a symlink, not a regular file/directory, or group/world-writable.
    #[error("{path}: refusing to use it: {reason}")]
    Insecure {
        /// The offending path.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// An incident id that is not of the expected form.
    #[error(
        "invalid incident id {id:?}: expected INC-YYYYMMDD-HHMMSS, optionally followed by -DRILL and/or -N \
         (letters, digits and '-' only)"
    )]
    BadId {
        /// The id as given.
        id: String,
    },
    /// No log exists for that incident id.
    #[error("no incident {id}: {path} does not exist")]
    NotFound {
        /// The id asked for.
        id: String,
        /// Where its log would be.
        path: PathBuf,
    },
    /// A line that is neither an entry nor a torn tail recorded by a `torn-tail` entry.
    #[error("{path}:{line}:{column}: {message}")]
    Corrupt {
        /// The log file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// 1-based column (byte) within the line.
        column: usize,
        /// What was expected.
        message: String,
    },
    /// A writer opened for one kind of incident (drill or live) was pointed at the other:
    /// nothing was written (a drill never appends to a live incident, nor a live one to a drill).
    #[error(
        "incident {id} is a {incident} incident: a {writer} writer never appends to it (nothing was written)"
    )]
    ModeMismatch {
        /// The incident id.
        id: String,
        /// What the incident was declared as.
        incident: LogMode,
        /// What the writer expected.
        writer: LogMode,
    },
    /// The file holds no `declared` entry first, so it is not an incident log.
    #[error("{path}: not an incident log: {reason}")]
    NotAnIncident {
        /// The file.
        path: PathBuf,
        /// What is missing.
        reason: String,
    },
}

impl LogError {
    /// Wraps an I/O error with the path and the action that failed.
    pub(crate) fn io<'a>(path: &'a Path, action: &'static str) -> impl FnOnce(io::Error) -> LogError + 'a {
        move |source| LogError::Io { path: path.to_path_buf(), action, source }
    }
}

/// What kind of incident a log is, and what kind a writer expects: drill and live never mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogMode {
    /// A real incident.
    Live,
    /// A drill against the simulated estate.
    Drill,
}

impl LogMode {
    /// `Drill` when `drill`, else `Live`.
    pub fn of(drill: bool) -> LogMode {
        if drill { LogMode::Drill } else { LogMode::Live }
    }

    /// Whether this is a drill.
    pub fn is_drill(self) -> bool {
        self == LogMode::Drill
    }
}

impl std::fmt::Display for LogMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.is_drill() { "drill" } else { "live" })
    }
}

/// The writing side of one open file: the file and what we know of its tail.
struct Writer {
    file: File,
    /// Tail as of our last write; valid only while the file length is unchanged.
    cache: Option<TailState>,
}

/// Holds the advisory exclusive lock on the log file; unlocks on drop.
struct Locked<'a>(&'a File);

impl<'a> Locked<'a> {
    fn acquire(file: &'a File, path: &Path) -> Result<Self, LogError> {
        file.lock().map_err(LogError::io(path, "lock"))?;
        Ok(Locked(file))
    }
}

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        // Closing the file would release it too; an unlock error leaves nothing to do.
        let _ = self.0.unlock();
    }
}

/// One incident's log, open for appending. `Send + Sync`: share it behind an `Arc` and call it
/// from `spawn_blocking`; appends from threads and from other processes are serialized.
pub struct IncidentLog {
    path: PathBuf,
    operator: String,
    /// What the incident was declared as (checked against the writer's expectation at open).
    mode: LogMode,
    opened: Instant,
    writer: Mutex<Writer>,
    /// Byte offset just past the entries returned by `declare`/`open` (for [`Self::follower`]).
    follow_from: u64,
    /// Sequence numbers this handle wrote and its follower has not yet returned: the follower
    /// tells this console's entries from other consoles'.
    own: Arc<Mutex<HashSet<u64>>>,
    /// Where the head is anchored after every append (see [`anchor`]); `None`: not anchored.
    anchor: Option<anchor::Anchor>,
    /// The shared store, once [`Self::share`]d.
    link: OnceLock<shared::Link>,
    /// Set when a fork resolution cut the file back to this length (the follower rewinds).
    rewound: Arc<Mutex<Option<u64>>>,
}

impl IncidentLog {
    /// Declares a new incident: creates `<data_dir>/incidents/<ID>.jsonl` (0600, directory 0700)
    /// and writes its `declared` entry. The id is `INC-YYYYMMDD-HHMMSS` from `now` (UTC), with
    /// `-DRILL` for drills and `-2`, `-3`, ... if that second is taken.
    pub fn declare(
        data_dir: &Path,
        title: &str,
        severity: &str,
        drill: bool,
        operator: &str,
        now: DateTime<Utc>,
    ) -> Result<(IncidentLog, IncidentMeta), LogError> {
        let dir = store::ensure_incidents_dir(data_dir)?;
        let (id, path, file) = store::create_log_file(&dir, &store::new_incident_id(now, drill))?;
        let title = one_line(&redact(title));
        let severity = one_line(&redact(severity));
        let mut log = IncidentLog::from_file(path, file, operator, LogMode::of(drill));
        let drill_tag = if drill { " [DRILL]" } else { "" };
        let entry = log.write(
            &EntryKind::Declared,
            &format!("Declared {id} {severity}{drill_tag}: {title}"),
            json!({ "id": id, "title": title, "severity": severity, "drill": drill, "format": 1 }),
            now,
        )?;
        store::sync_dir(&dir)?;
        log.follow_from = log.cache_len();
        let meta = IncidentMeta {
            id,
            title,
            severity,
            declared_at: entry.ts,
            drill,
            resolved_at: None,
            path: log.path.clone(),
        };
        Ok((log, meta))
    }

    /// Opens an existing incident to continue it as a writer of either kind (`warroom log
    /// append`, tools): records a torn tail if a crash left one, then returns every entry (for
    /// the caller to rebuild its state) and the incident's metadata. Consoles and `exec` use
    /// [`Self::open_as`], which refuses the other kind of incident.
    pub fn open(
        data_dir: &Path,
        id: &str,
        operator: &str,
    ) -> Result<(IncidentLog, IncidentMeta, Vec<Entry>), LogError> {
        Self::open_checked(data_dir, id, operator, None)
    }

    /// [`Self::open`] for a writer of one kind: a drill writer on a live incident (or a live
    /// writer on a drill) is [`LogError::ModeMismatch`], decided from the `declared` line before
    /// anything is written (not even a torn-tail entry).
    pub fn open_as(
        data_dir: &Path,
        id: &str,
        operator: &str,
        mode: LogMode,
    ) -> Result<(IncidentLog, IncidentMeta, Vec<Entry>), LogError> {
        Self::open_checked(data_dir, id, operator, Some(mode))
    }

    fn open_checked(
        data_dir: &Path,
        id: &str,
        operator: &str,
        expect: Option<LogMode>,
    ) -> Result<(IncidentLog, IncidentMeta, Vec<Entry>), LogError> {
        let path = store::log_path(data_dir, id)?;
        let file = store::open_log_file(&path, id)?;
        if let Some(writer) = expect {
            let declared = store::declared_mode(&path, id)?;
            if writer != declared {
                return Err(LogError::ModeMismatch { id: id.to_string(), incident: declared, writer });
            }
        }
        let mut log = IncidentLog::from_file(path, file, operator, expect.unwrap_or(LogMode::Live));
        let (entries, end) = {
            let mut guard = log.lock_writer();
            let Writer { file, cache } = &mut *guard;
            let _lock = Locked::acquire(file, &log.path)?;
            log.settle_tail(file, cache, Utc::now())?;
            read::read_entries(&log.path)?
        };
        log.follow_from = end;
        let meta = store::meta_from_entries(&log.path, &entries)?;
        log.mode = LogMode::of(meta.drill);
        Ok((log, meta, entries))
    }

    /// Appends one entry (summary and details redacted, summary made one line) and `fsync`s it
    /// before returning it. Only a returned entry is durable and may be shown.
    pub fn append(&self, kind: &EntryKind, summary: &str, details: Value) -> Result<Entry, LogError> {
        self.write(kind, summary, details, Utc::now())
    }

    /// Anchors the chain's head in `<state_dir>/anchors/<ID>.head` after every append from now
    /// on (see [`anchor`]); writes the current head there when there is no anchor yet.
    pub fn anchored(mut self, state_dir: &Path) -> Result<IncidentLog, LogError> {
        let id = self.path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let a = anchor::Anchor::new(state_dir, &id, &self.path)?;
        {
            let guard = self.lock_writer();
            let _lock = Locked::acquire(&guard.file, &self.path)?;
            if let Some(head) = anchor::head_of(&self.path)? {
                a.record_if_absent(&head);
            }
        }
        self.anchor = Some(a);
        Ok(self)
    }

    /// The log file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What the incident was declared as (a writer never appends to the other kind).
    pub fn mode(&self) -> LogMode {
        self.mode
    }

    /// The operator identity this log writes with.
    pub fn operator(&self) -> &str {
        &self.operator
    }

    /// A follower that yields entries appended after `declare`/`open` returned (by any
    /// console, this one included: dedupe by `seq`).
    pub fn follower(&self) -> LogFollower {
        LogFollower::new(&self.path, self.follow_from)
            .with_own(self.own.clone())
            .with_rewind(self.rewound.clone())
    }

    /// A step id no console of this incident has been given: one more than the highest id ever
    /// allocated (kept in `<ID>.step-ids` next to the log), and at least `at_least` (the ids the
    /// caller has seen in the log). Serialized with appends by the log's lock, across processes.
    pub fn allocate_step_id(&self, at_least: u64) -> Result<u64, LogError> {
        let guard = self.lock_writer();
        let _lock = Locked::acquire(&guard.file, &self.path)?;
        let path = self.path.with_extension("step-ids");
        let open = |create: bool| {
            std::fs::OpenOptions::new()
                .read(true)
                .write(create)
                .create(create)
                .truncate(false)
                .mode(0o600)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&path)
        };
        let mut last = String::new();
        match open(false) {
            Ok(mut f) => {
                f.read_to_string(&mut last).map_err(LogError::io(&path, "read"))?;
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(LogError::io(&path, "open")(e)),
        }
        // An unreadable counter (a crash mid-write) counts as 0: `at_least` covers the log.
        let last: u64 = last.trim().parse().unwrap_or(0);
        let id = (last + 1).max(at_least).max(1);
        let mut f = open(true).map_err(LogError::io(&path, "open"))?;
        f.set_len(0).map_err(LogError::io(&path, "truncate"))?;
        f.write_all(id.to_string().as_bytes()).map_err(LogError::io(&path, "write"))?;
        Ok(id)
    }

    fn from_file(path: PathBuf, file: File, operator: &str, mode: LogMode) -> IncidentLog {
        IncidentLog {
            path,
            operator: one_line(operator),
            mode,
            opened: Instant::now(),
            writer: Mutex::new(Writer { file, cache: None }),
            follow_from: 0,
            own: Arc::default(),
            anchor: None,
            link: OnceLock::new(),
            rewound: Arc::default(),
        }
    }

    fn lock_writer(&self) -> MutexGuard<'_, Writer> {
        // A panic while holding the mutex leaves nothing half-done in memory that matters:
        // the file on disk is the truth and the cache is re-validated by length.
        self.writer.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn cache_len(&self) -> u64 {
        self.lock_writer().cache.as_ref().map_or(0, |c| c.len)
    }

    fn mono_ms(&self) -> u64 {
        u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn write(
        &self,
        kind: &EntryKind,
        summary: &str,
        details: Value,
        now: DateTime<Utc>,
    ) -> Result<Entry, LogError> {
        let mut guard = self.lock_writer();
        let Writer { file, cache } = &mut *guard;
        let _lock = Locked::acquire(file, &self.path)?;
        let details = match details {
            Value::Object(_) => redact_json(details),
            Value::Null => json!({}),
            other => json!({ "value": redact_json(other) }),
        };
        let build = |tail: &TailState| Entry {
            seq: tail.last_seq + 1,
            ts: now.trunc_subsecs(3),
            mono_ms: self.mono_ms(),
            operator: self.operator.clone(),
            kind: one_line_kind(kind),
            summary: one_line(&redact(summary)),
            details: details.clone(),
            prev: tail.last_hash.clone(),
        };
        if let Some(link) = self.link.get() {
            return self.append_shared(file, cache, link, &build);
        }
        let tail = self.settle_tail(file, cache, now)?;
        let entry = build(&tail);
        *cache = Some(self.write_line(file, tail.len, &[], &entry)?);
        Ok(entry)
    }

    /// With the file lock held: the current tail, after recording a torn tail if there is one.
    fn settle_tail(
        &self,
        file: &File,
        cache: &mut Option<TailState>,
        now: DateTime<Utc>,
    ) -> Result<TailState, LogError> {
        let len = file.metadata().map_err(LogError::io(&self.path, "stat"))?.len();
        if let Some(known) = cache.take().filter(|c| c.len == len) {
            return Ok(known);
        }
        let scan = tail::scan(file, len).map_err(LogError::io(&self.path, "read tail"))?;
        if scan.torn.is_empty() {
            let state = TailState { len, last_seq: scan.last_seq, last_hash: scan.last_hash };
            *cache = Some(state.clone());
            return Ok(state);
        }
        let entry = Entry {
            seq: scan.last_seq + 1,
            ts: now.trunc_subsecs(3),
            mono_ms: self.mono_ms(),
            operator: self.operator.clone(),
            kind: EntryKind::TornTail,
            summary: scan.summary(),
            details: scan.details(),
            prev: scan.torn_hash(),
        };
        tracing::warn!(path = %self.path.display(), "recording a torn tail: {}", entry.summary);
        let newline: &[u8] = if scan.missing_newline { b"\n" } else { b"" };
        let state = self.write_line(file, len, newline, &entry)?;
        *cache = Some(state.clone());
        Ok(state)
    }

    /// Writes `prefix` + the entry's line + newline in one `write_all`, then `fsync`s.
    fn write_line(&self, file: &File, len: u64, prefix: &[u8], entry: &Entry) -> Result<TailState, LogError> {
        let line = shared::encode_sealed(entry, &self.path)?;
        self.write_raw(file, len, prefix, &line, entry, true)
    }

    /// Writes `prefix` + `line` + newline in one `write_all`, then `fsync`s. `own`: written by
    /// this handle (the follower tells it from other consoles' and hosts' entries).
    fn write_raw(
        &self,
        mut file: &File,
        len: u64,
        prefix: &[u8],
        line: &[u8],
        entry: &Entry,
        own: bool,
    ) -> Result<TailState, LogError> {
        let seq = entry.seq;
        let mut buf = Vec::with_capacity(prefix.len() + line.len() + 1);
        buf.extend_from_slice(prefix);
        buf.extend_from_slice(line);
        buf.push(b'\n');
        // Known as ours before any reader can see it.
        if own {
            self.own.lock().unwrap_or_else(|e| e.into_inner()).insert(seq);
        }
        let written = file.write_all(&buf).map_err(LogError::io(&self.path, "append"));
        let written = written.and_then(|()| file.sync_data().map_err(LogError::io(&self.path, "fsync")));
        if let Err(e) = written {
            self.own.lock().unwrap_or_else(|e| e.into_inner()).remove(&seq);
            return Err(e);
        }
        if let Some(anchor) = &self.anchor {
            anchor.record(entry, line, len + buf.len() as u64);
        }
        self.note_head(seq);
        Ok(TailState { len: len + buf.len() as u64, last_seq: seq, last_hash: line_hash(line) })
    }
}

/// A kind as written: an unknown one made one line like a summary (known names are plain).
fn one_line_kind(kind: &EntryKind) -> EntryKind {
    match kind {
        EntryKind::Other(name) => EntryKind::from(one_line(name)),
        known => known.clone(),
    }
}

/// Control characters (newlines included) become spaces: a summary is one line.
fn one_line(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}
