//! The file lock: `<incidents dir>/<id>.commander` holds the holder as JSON (0600, replaced
//! atomically with a rename); every read-modify-write runs under an exclusive advisory lock on
//! `<id>.commander.lock` (the same std `File::lock` the incident log uses), so two consoles on
//! one host never both win. The record names the holding process (host, pid, pid namespace,
//! start time, boot id): a console on the same host releases a lock whose process is gone
//! (kill -9, a crash) at once instead of honouring it until its ttl.

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
    /// The process holding it (absent where `/proc` is not available: the ttl alone applies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    owner: Option<Owner>,
}

/// The process that wrote a claim, precise enough to tell on the same host that it is gone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Owner {
    /// Host name.
    pub host: String,
    /// Process id.
    pub pid: u32,
    /// The pid namespace (`/proc/self/ns/pid`): a container sharing the host name is another one.
    pub pid_ns: String,
    /// Boot id (`/proc/sys/kernel/random/boot_id`): pids of another boot mean nothing here.
    pub boot_id: String,
    /// Start time of the process (clock ticks since boot): a reused pid is another process.
    pub started: u64,
}

/// A process's state letter and start time from `/proc/<pid>/stat` (`None`: no such process).
fn proc_stat(pid: u32) -> Option<(char, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) S ppid ...`: comm may hold spaces and parentheses, so split after the last ')'.
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let state = fields.first()?.chars().next()?;
    // Field 22 of stat is the start time; `fields` begins at field 3.
    Some((state, fields.get(19)?.parse().ok()?))
}

impl Owner {
    /// Process `pid` on this host, or `None` when `/proc` cannot say.
    pub fn of_pid(pid: u32) -> Option<Owner> {
        let host = hostname::get().ok()?.to_string_lossy().into_owned();
        let pid_ns = std::fs::read_link(format!("/proc/{pid}/ns/pid")).ok()?.to_string_lossy().into_owned();
        let boot_id = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?.trim().to_string();
        let (_, started) = proc_stat(pid)?;
        Some(Owner { host, pid, pid_ns, boot_id, started })
    }

    /// This process.
    pub fn current() -> Option<Owner> {
        Owner::of_pid(std::process::id())
    }

    /// Whether this owner's process is certainly gone, as seen by `me` (a process on the same
    /// host, pid namespace and boot): no such pid, a zombie, or another process under that pid.
    /// Anything less certain (another host, container or boot) is not "gone": the ttl decides.
    pub fn gone(&self, me: &Owner) -> bool {
        if self.host != me.host || self.pid_ns != me.pid_ns || self.boot_id != me.boot_id {
            return false;
        }
        match proc_stat(self.pid) {
            None => true,
            Some((state, started)) => matches!(state, 'Z' | 'X') || started != self.started,
        }
    }
}

/// The commander lock as a file next to the incident log.
#[derive(Debug, Clone)]
pub struct FileLock {
    dir: PathBuf,
    path: PathBuf,
    guard: PathBuf,
    ttl: Duration,
    /// This process, recorded with its claims.
    owner: Option<Owner>,
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
            owner: Owner::current(),
        })
    }

    /// The same lock as process `owner` would claim it (tests play other processes).
    #[cfg(test)]
    pub(super) fn claimed_by(mut self, owner: Option<Owner>) -> FileLock {
        self.owner = owner;
        self
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
            let mut current = self.read();
            let reaped = match (&mut current, &self.owner) {
                (Ok(record), Some(me)) => reap(record, me),
                _ => false,
            };
            let (write, out) = f(current.clone(), now)?;
            match (write, current) {
                (Some(record), _) => self.write(&record)?,
                (None, Ok(record)) if reaped => self.write(&record)?,
                _ => {}
            }
            Ok(out)
        })();
        let _ = guard.unlock();
        result
    }

    /// The process the record names as holding the lock.
    pub fn recorded_owner(&self) -> Result<Option<Owner>, String> {
        self.read().map(|r| r.owner)
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
            let next = Record {
                holder: Some(holder.clone()),
                ttl_secs: self.ttl_secs(),
                transitions,
                owner: self.owner.clone(),
            };
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
                    let next = Record { holder: Some(holder.clone()), owner: self.owner.clone(), ..record };
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
                LockState::Mine(_) => {
                    Ok((Some(Record { holder: None, owner: None, ..record }), LockState::Free))
                }
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

/// Release `record`'s claim when its process is certainly gone (seen from `me`). Returns
/// whether it did.
fn reap(record: &mut Record, me: &Owner) -> bool {
    let dead = record.holder.is_some() && record.owner.as_ref().is_some_and(|o| o.gone(me));
    if dead {
        let who = record.holder.as_ref().map(|h| h.identity.clone()).unwrap_or_default();
        tracing::info!("commander lock: holder {who} is gone (process exited): lock released");
        record.holder = None;
        record.owner = None;
    }
    dead
}

impl CommanderLock for FileLock {
    fn describe(&self) -> String {
        format!("file {}", self.path.display())
    }

    fn poll_interval(&self) -> Duration {
        // A local file: cheap to read, so a takeover reaches the old holder well within 1 s.
        Duration::from_millis(200)
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
