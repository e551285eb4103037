//! Where incident logs live and how they are opened safely: `<data>/incidents/<ID>.jsonl`,
//! files 0600 in a 0700 directory, never through a symlink, never group/world-writable.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io::ErrorKind;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::entry::{Entry, EntryKind};
use super::log::{LogError, LogMode, read_log};

/// What an incident is, as the `declared` entry and the later `resolved` entries say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentMeta {
    /// Incident id, e.g. `INC-20261126-120301` (`-DRILL` for drills).
    pub id: String,
    /// Title.
    pub title: String,
    /// Severity, e.g. `SEV1`.
    pub severity: String,
    /// T+0: when it was declared.
    pub declared_at: DateTime<Utc>,
    /// A drill, not a real incident.
    pub drill: bool,
    /// When it was resolved (`None` while open, or after a `reopened` entry).
    pub resolved_at: Option<DateTime<Utc>>,
    /// The log file.
    pub path: PathBuf,
}

/// File name suffix of incident logs.
const EXT: &str = "jsonl";

/// `<data_dir>/incidents`.
pub fn incidents_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("incidents")
}

/// The id a new incident declared at `now` gets: `INC-YYYYMMDD-HHMMSS`, plus `-DRILL`.
pub fn new_incident_id(now: DateTime<Utc>, drill: bool) -> String {
    let base = now.format("INC-%Y%m%d-%H%M%S").to_string();
    if drill { format!("{base}-DRILL") } else { base }
}

/// Checks an id names a log in the incidents directory and nothing else: `INC-` followed by
/// ASCII letters, digits and `-`, at most 64 characters.
pub fn validate_id(id: &str) -> Result<(), LogError> {
    let ok = id.len() <= 64
        && id.strip_prefix("INC-").is_some_and(|rest| {
            !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if ok { Ok(()) } else { Err(LogError::BadId { id: id.to_string() }) }
}

/// The log file of incident `id` (validated).
pub fn log_path(data_dir: &Path, id: &str) -> Result<PathBuf, LogError> {
    validate_id(id)?;
    Ok(incidents_dir(data_dir).join(format!("{id}.{EXT}")))
}

/// Creates `<data_dir>/incidents` (0700) if needed and checks it is safe to write in.
pub(crate) fn ensure_incidents_dir(data_dir: &Path) -> Result<PathBuf, LogError> {
    let dir = incidents_dir(data_dir);
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .map_err(LogError::io(&dir, "create directory"))?;
    check_dir(&dir)?;
    Ok(dir)
}

/// Refuses a directory that is a symlink, not a directory, or group/world-writable.
fn check_dir(dir: &Path) -> Result<(), LogError> {
    let meta = std::fs::symlink_metadata(dir).map_err(LogError::io(dir, "stat"))?;
    let insecure = |reason: &str| Err(LogError::Insecure { path: dir.to_path_buf(), reason: reason.into() });
    if meta.file_type().is_symlink() {
        return insecure("the incidents directory is a symlink");
    }
    if !meta.is_dir() {
        return insecure("not a directory");
    }
    if meta.mode() & 0o022 != 0 {
        return insecure(&format!(
            "directory mode {:o} is group/world-writable (expected 0700)",
            meta.mode() & 0o777
        ));
    }
    Ok(())
}

/// Refuses a log file that is not a regular file or is group/world-writable.
fn check_file(path: &Path, file: &File) -> Result<(), LogError> {
    let meta = file.metadata().map_err(LogError::io(path, "stat"))?;
    let insecure = |reason: String| Err(LogError::Insecure { path: path.to_path_buf(), reason });
    if !meta.is_file() {
        return insecure("not a regular file".into());
    }
    if meta.mode() & 0o022 != 0 {
        return insecure(format!(
            "file mode {:o} is group/world-writable (expected 0600)",
            meta.mode() & 0o777
        ));
    }
    Ok(())
}

/// Opening options for log files: never follow a symlink at the last component.
fn options() -> OpenOptions {
    let mut o = OpenOptions::new();
    o.read(true).append(true).custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC);
    o
}

/// Maps `ELOOP` from `O_NOFOLLOW` to a clear refusal.
fn open_error<'a>(path: &'a Path, action: &'static str) -> impl FnOnce(std::io::Error) -> LogError + 'a {
    move |e| {
        if e.raw_os_error() == Some(libc::ELOOP) {
            LogError::Insecure { path: path.to_path_buf(), reason: "the log file is a symlink".into() }
        } else {
            LogError::io(path, action)(e)
        }
    }
}

/// Creates a new log file (0600) for `base_id`, adding `-2`, `-3`, ... while the id is taken.
pub(crate) fn create_log_file(dir: &Path, base_id: &str) -> Result<(String, PathBuf, File), LogError> {
    for n in 1..=99 {
        let id = if n == 1 { base_id.to_string() } else { format!("{base_id}-{n}") };
        let path = dir.join(format!("{id}.{EXT}"));
        match options().create_new(true).mode(0o600).open(&path) {
            Ok(file) => {
                check_file(&path, &file)?;
                return Ok((id, path, file));
            }
            Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(open_error(&path, "create")(e)),
        }
    }
    Err(LogError::Io {
        path: dir.join(base_id),
        action: "create",
        source: std::io::Error::new(ErrorKind::AlreadyExists, "99 incidents already declared in this second"),
    })
}

/// Opens an existing log for appending, after checking it and its directory are safe.
pub(crate) fn open_log_file(path: &Path, id: &str) -> Result<File, LogError> {
    if let Some(dir) = path.parent() {
        check_dir(dir).map_err(|e| match e {
            LogError::Io { source, .. } if source.kind() == ErrorKind::NotFound => {
                LogError::NotFound { id: id.to_string(), path: path.to_path_buf() }
            }
            other => other,
        })?;
    }
    let file = options().open(path).map_err(|e| {
        if e.kind() == ErrorKind::NotFound {
            LogError::NotFound { id: id.to_string(), path: path.to_path_buf() }
        } else {
            open_error(path, "open")(e)
        }
    })?;
    check_file(path, &file)?;
    Ok(file)
}

/// `fsync`s a directory so a newly created file's name is durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), LogError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(LogError::io(dir, "fsync directory"))
}

/// What incident `id`'s log was declared as, from its first line alone (read-only: the mode
/// guard of [`super::log::IncidentLog::open_as`] decides before anything is written). The
/// first line must be a `declared` entry; its `drill` flag or a `-DRILL` id makes it a drill.
pub(crate) fn declared_mode(path: &Path, id: &str) -> Result<LogMode, LogError> {
    use std::io::{BufRead, BufReader, Read};
    let file = File::open(path).map_err(LogError::io(path, "open"))?;
    let mut first = Vec::new();
    BufReader::new(file).take(1 << 20).read_until(b'\n', &mut first).map_err(LogError::io(path, "read"))?;
    let not_incident =
        |reason: &str| LogError::NotAnIncident { path: path.to_path_buf(), reason: reason.into() };
    let entry: Entry = serde_json::from_slice(first.strip_suffix(b"\n").unwrap_or(&first))
        .map_err(|_| not_incident("its first line is not an entry"))?;
    if entry.kind != EntryKind::Declared {
        return Err(not_incident("its first entry is not a declared entry"));
    }
    let declared_id = entry.details.get("id").and_then(|v| v.as_str()).unwrap_or(id);
    let drill = entry.details.get("drill").and_then(|v| v.as_bool()).unwrap_or(false)
        || declared_id.contains("-DRILL")
        || id.contains("-DRILL");
    Ok(LogMode::of(drill))
}

/// Builds the metadata from a log's entries: the first must be `declared`.
pub fn meta_from_entries(path: &Path, entries: &[Entry]) -> Result<IncidentMeta, LogError> {
    let not_incident =
        |reason: &str| LogError::NotAnIncident { path: path.to_path_buf(), reason: reason.into() };
    let first = entries.first().ok_or_else(|| not_incident("it holds no entries"))?;
    if first.kind != EntryKind::Declared {
        return Err(not_incident("its first entry is not a declared entry"));
    }
    let text = |key: &str| first.details.get(key).and_then(|v| v.as_str()).map(str::to_string);
    let id = text("id").ok_or_else(|| not_incident("the declared entry has no id"))?;
    let mut resolved_at = None;
    for e in entries {
        match e.kind {
            EntryKind::Resolved => resolved_at = Some(e.ts),
            EntryKind::Reopened => resolved_at = None,
            _ => {}
        }
    }
    Ok(IncidentMeta {
        drill: first.details.get("drill").and_then(|v| v.as_bool()).unwrap_or(false) || id.contains("-DRILL"),
        id,
        title: text("title").unwrap_or_default(),
        severity: text("severity").unwrap_or_default(),
        declared_at: first.ts,
        resolved_at,
        path: path.to_path_buf(),
    })
}

/// Every incident log in `<data_dir>/incidents`, oldest first; one that cannot be read is
/// returned as its error (the others are still listed). No directory means no incidents.
pub fn list_incidents(data_dir: &Path) -> Result<Vec<Result<IncidentMeta, LogError>>, LogError> {
    let dir = incidents_dir(data_dir);
    let read_dir = match std::fs::read_dir(&dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(LogError::io(&dir, "list")(e)),
    };
    let mut paths = Vec::new();
    for item in read_dir {
        let path = item.map_err(LogError::io(&dir, "list"))?.path();
        if path.extension().is_some_and(|e| e == EXT) {
            paths.push(path);
        }
    }
    paths.sort();
    let mut out: Vec<_> =
        paths.iter().map(|p| read_log(p).and_then(|entries| meta_from_entries(p, &entries))).collect();
    out.sort_by_key(|r| r.as_ref().ok().map(|m| m.declared_at));
    Ok(out)
}

/// The most recently declared incident that is not resolved (drills included: see `drill`).
pub fn last_open_incident(data_dir: &Path) -> Result<Option<IncidentMeta>, LogError> {
    Ok(list_incidents(data_dir)?
        .into_iter()
        .filter_map(Result::ok)
        .filter(|m| m.resolved_at.is_none())
        .max_by_key(|m| m.declared_at))
}
