//! The file lock: `<incidents dir>/<id>.commander` holds the holder as JSON (0600, replaced
//! atomically with a rename); every read-modify-write runs under an exclusive advisory lock on
//! `<id>.commander.lock` (the same std `File::lock` the incident log uses), so two consoles on
//! one host never both win.

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

use super::{CommanderLock, Holder, LockState};
use crate::incident::store::{sync_dir, validate_id};

/// What the `.commander` file holds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Record {
    /// The current holder (`None` after a release).
    holder: Option<Holder>,
    /// Time to live the holder claimed, in seconds (informative).
    ttl_secs: f64,
    /// How many times the lock changed hands.
    transitions: u64,
}

/// The commander lock as a file next to the incident log.
#[derive(Debug, Clone)]
pub struct FileLock {
    dir: PathBuf,
    path: PathBuf,
    guard: PathBuf,
    ttl: Duration,
}

/// Open options that never follow a symlink and create files 0600.
fn options() -> OpenOptions {
    let mut o = OpenOptions::new();
    o.mode(0o600).custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC);
    o
}

impl FileLock {
    /// The lock of incident `incident_id` in `incidents_dir` (the directory holding its log).
    pub fn new(incidents_dir: &Path, incident_id: &str, ttl: Duration) -> Result<FileLock, String> {
        validate_id(incident_id).map_err(|e| e.to_string())?;
        if ttl.is_zero() {
            return Err("commander lock ttl is 0: expected a positive duration".into());
        }
        Ok(FileLock {
            dir: incidents_dir.to_path_buf(),
            path: incidents_dir.join(format!("{incident_id}.commander")),
            guard: incidents_dir.join(format!("{incident_id}.commander.lock")),
            ttl,
        })
    }

    /// The `.commander` file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Run `f` on the current record under the advisory lock; write back what it returns.
    fn update<T>(
        &self,
        f: impl FnOnce(Result<Record, String>, DateTime<Utc>) -> Result<(Option<Record>, T), String>,
    ) -> Result<T, String> {
        let io = |what: &str, p: &Path, e: std::io::Error| format!("{}: {what}: {e}", p.display());
        let guard = options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&self.guard)
            .map_err(|e| io("open", &self.guard, e))?;
        guard.lock().map_err(|e| io("lock", &self.guard, e))?;
        let result = (|| {
            let now = Utc::now();
            let (write, out) = f(self.read(), now)?;
            if let Some(record) = write {
                self.write(&record)?;
            }
            Ok(out)
        })();
        let _ = guard.unlock();
        result
    }

    /// The record, or the default when there is no file yet.
    fn read(&self) -> Result<Record, String> {
        let mut file = match options().read(true).open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Record::default()),
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
                return Err(format!("{}: refusing to use it: it is a symlink", self.path.display()));
            }
            Err(e) => return Err(format!("{}: open: {e}", self.path.display())),
        };
        let mut text = String::new();
        file.read_to_string(&mut text).map_err(|e| format!("{}: read: {e}", self.path.display()))?;
        serde_json::from_str(&text).map_err(|e| {
            format!(
                "{}:{}:{}: not a commander lock record: {e} (expected {{\"holder\": ..., \"ttl_secs\": ..., \"transitions\": ...}})",
                self.path.display(),
                e.line(),
                e.column()
            )
        })
    }

    /// Replace the record atomically: write a temp file, fsync, rename, fsync the directory.
    fn write(&self, record: &Record) -> Result<(), String> {
        let tmp = self.dir.join(format!(
            ".{}.{}.tmp",
            self.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
            std::process::id()
        ));
        let io = |what: &str, p: &Path, e: std::io::Error| format!("{}: {what}: {e}", p.display());
        let mut bytes = serde_json::to_vec_pretty(record).map_err(|e| e.to_string())?;
        bytes.push(b'\n');
        let mut file: File = options()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)
            .map_err(|e| io("create", &tmp, e))?;
        file.write_all(&bytes).map_err(|e| io("write", &tmp, e))?;
        file.sync_all().map_err(|e| io("fsync", &tmp, e))?;
        std::fs::rename(&tmp, &self.path).map_err(|e| io("rename", &self.path, e))?;
        sync_dir(&self.dir).map_err(|e| e.to_string())
    }

    fn ttl_secs(&self) -> f64 {
        self.ttl.as_secs_f64()
    }

    /// Blocking `acquire`.
    pub fn acquire_blocking(&self, me: &str, force: bool) -> Result<LockState, String> {
        self.update(|record, now| {
            let record = match record {
                Ok(r) => r,
                // A damaged record is only overwritten by an explicit takeover.
                Err(e) if force => {
                    tracing::warn!("overwriting a damaged commander lock: {e}");
                    Record::default()
                }
                Err(e) => return Err(e),
            };
            let current = LockState::classify(record.holder.clone(), me, now);
            if let LockState::Theirs(h) = &current
                && !force
            {
                return Ok((None, LockState::Theirs(h.clone())));
            }
            let (acquired_at, transitions) = match &current {
                LockState::Mine(h) if !h.expired(now) => (h.acquired_at, record.transitions),
                _ => (now, record.transitions + 1),
            };
            let holder = Holder::new(me, acquired_at, now, self.ttl);
            let next = Record { holder: Some(holder.clone()), ttl_secs: self.ttl_secs(), transitions };
            Ok((Some(next), LockState::Mine(holder)))
        })
    }

    /// Blocking `renew`.
    pub fn renew_blocking(&self, me: &str) -> Result<LockState, String> {
        self.update(|record, now| {
            let record = record?;
            match LockState::classify(record.holder.clone(), me, now) {
                LockState::Mine(h) => {
                    let holder = Holder::new(me, h.acquired_at, now, self.ttl);
                    let next = Record { holder: Some(holder.clone()), ..record };
                    Ok((Some(next), LockState::Mine(holder)))
                }
                other => Ok((None, other)),
            }
        })
    }

    /// Blocking `release`.
    pub fn release_blocking(&self, me: &str) -> Result<LockState, String> {
        self.update(|record, now| {
            let record = record?;
            match LockState::classify(record.holder.clone(), me, now) {
                LockState::Mine(_) => Ok((Some(Record { holder: None, ..record }), LockState::Free)),
                other => Ok((None, other)),
            }
        })
    }

    /// Blocking `status`.
    pub fn status_blocking(&self, me: &str) -> Result<LockState, String> {
        self.update(|record, now| Ok((None, LockState::classify(record?.holder, me, now))))
    }

    fn blocking<'a>(
        &'a self,
        me: &'a str,
        f: fn(&FileLock, &str) -> Result<LockState, String>,
    ) -> BoxFuture<'a, Result<LockState, String>> {
        let this = self.clone();
        let me = me.to_string();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || f(&this, &me))
                .await
                .unwrap_or_else(|e| Err(format!("commander lock task failed: {e}")))
        })
    }
}

impl CommanderLock for FileLock {
    fn describe(&self) -> String {
        format!("file {}", self.path.display())
    }

    fn ttl(&self) -> Duration {
        self.ttl
    }

    fn status<'a>(&'a self, me: &'a str) -> BoxFuture<'a, Result<LockState, String>> {
        self.blocking(me, FileLock::status_blocking)
    }

    fn acquire<'a>(&'a self, me: &'a str, force: bool) -> BoxFuture<'a, Result<LockState, String>> {
        if force {
            self.blocking(me, |l, me| l.acquire_blocking(me, true))
        } else {
            self.blocking(me, |l, me| l.acquire_blocking(me, false))
        }
    }

    fn renew<'a>(&'a self, me: &'a str) -> BoxFuture<'a, Result<LockState, String>> {
        self.blocking(me, FileLock::renew_blocking)
    }

    fn release<'a>(&'a self, me: &'a str) -> BoxFuture<'a, Result<LockState, String>> {
        self.blocking(me, FileLock::release_blocking)
    }
}
