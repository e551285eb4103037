//! Sharing a log through an [`EntryStore`] (`[war_room]`): every append under the local lock
//! first brings the local file up to the store's head, then CREATES the new entry's object
//! (create-only: losing the race means fetching the winner and retrying) and only then writes
//! the line locally. So every host's file is a verbatim copy of one chain.
//!
//! With the store unreachable, appends are written locally (pending) and a background thread
//! uploads them in order when it returns (an existing object with the same bytes counts as
//! uploaded). If another host appended meanwhile (a fork), see [`IncidentLog::resolve_fork`].

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use serde_json::{Value, json};

use super::tail::{TailState, line_hash};
use super::{IncidentLog, LogError, Writer, encode, one_line, one_line_kind};
use crate::incident::entry::{Entry, EntryKind};
use crate::incident::shared::{Created, EntryStore, POLL_EVERY, RUN, SharedStatus};
use crate::text::redact::redact_json;

/// How often an unreachable store is tried again.
const RETRY_EVERY: Duration = Duration::from_secs(1);
/// Lost CAS races in one append before it gives up on the store (and writes locally, pending).
const MAX_RACES: usize = 1000;

/// A log's link to its store.
pub(super) struct Link {
    store: Arc<dyn EntryStore>,
    state: Mutex<LinkState>,
}

struct LinkState {
    /// Highest local seq known to be in the store, byte-identical.
    synced: u64,
    /// Highest local seq written.
    head: u64,
    /// Unreachable since, with the error.
    down: Option<(DateTime<Utc>, String)>,
    last_try: Option<std::time::Instant>,
    last_ok: DateTime<Utc>,
}

/// A store failure, or a local one.
enum SyncError {
    Store(String),
    Log(LogError),
}

impl From<LogError> for SyncError {
    fn from(e: LogError) -> Self {
        SyncError::Log(e)
    }
}

impl Link {
    fn st(&self) -> std::sync::MutexGuard<'_, LinkState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn ok(&self, synced: Option<u64>) {
        let mut st = self.st();
        if let Some(s) = synced {
            st.synced = st.synced.max(s);
        }
        st.down = None;
        st.last_ok = Utc::now();
    }

    fn fail(&self, error: String) {
        let mut st = self.st();
        tracing::warn!("shared store unreachable: {error}");
        let since = st.down.as_ref().map_or_else(Utc::now, |(s, _)| *s);
        st.down = Some((since, error));
        st.last_try = Some(std::time::Instant::now());
    }

    /// Whether to call the store now: always when it answered last, else once per RETRY_EVERY.
    fn should_try(&self) -> bool {
        let st = self.st();
        st.down.is_none() || st.last_try.is_none_or(|t| t.elapsed() >= RETRY_EVERY)
    }
}

impl IncidentLog {
    /// Shares this log through `store`: brings the local file and the store level (uploading
    /// local entries the store lacks, appending the store's entries the file lacks) and starts
    /// a thread that does so every [`POLL_EVERY`] (other hosts' entries reach the local file,
    /// hence the follower) until the log is dropped. An unreachable store is not an error here:
    /// see [`Self::shared_status`].
    pub fn share(self: &Arc<Self>, store: Arc<dyn EntryStore>) -> Result<(), LogError> {
        let head = {
            let mut guard = self.lock_writer();
            let Writer { file, cache } = &mut *guard;
            let _lock = super::Locked::acquire(file, &self.path)?;
            self.settle_tail(file, cache, Utc::now())?.last_seq
        };
        let link = Link {
            store,
            state: Mutex::new(LinkState { synced: 0, head, down: None, last_try: None, last_ok: Utc::now() }),
        };
        if self.link.set(link).is_err() {
            return Ok(());
        }
        self.find_synced();
        self.sync_now()?;
        let weak = Arc::downgrade(self);
        std::thread::Builder::new()
            .name("warroom-share".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(POLL_EVERY);
                    let Some(log) = weak.upgrade() else { break };
                    if let Err(e) = log.poll_store() {
                        tracing::warn!("shared log: {e}");
                    }
                }
            })
            .map_err(LogError::io(&self.path, "start the shared-log thread"))?;
        Ok(())
    }

    /// How the local log stands against the shared store (`None`: not shared).
    pub fn shared_status(&self) -> Option<SharedStatus> {
        let link = self.link.get()?;
        let st = link.st();
        Some(match &st.down {
            None => SharedStatus::Synced { at: st.last_ok },
            Some((since, error)) => SharedStatus::Unreachable {
                error: error.clone(),
                since: *since,
                pending: st.head.saturating_sub(st.synced),
            },
        })
    }

    /// Where the store is (`None`: not shared).
    pub fn shared_store(&self) -> Option<Arc<dyn EntryStore>> {
        self.link.get().map(|l| l.store.clone())
    }

    /// Brings file and store level now, under the lock (store errors are recorded, not returned).
    pub fn sync_now(&self) -> Result<(), LogError> {
        let Some(link) = self.link.get() else { return Ok(()) };
        let mut guard = self.lock_writer();
        let Writer { file, cache } = &mut *guard;
        let _lock = super::Locked::acquire(file, &self.path)?;
        match self.sync_locked(file, cache, link) {
            Ok(_) => Ok(()),
            Err(SyncError::Store(e)) => {
                link.fail(e);
                Ok(())
            }
            Err(SyncError::Log(e)) => Err(e),
        }
    }

    /// The background poll: a cheap probe without the lock, then a sync when there is work.
    fn poll_store(&self) -> Result<(), LogError> {
        let Some(link) = self.link.get() else { return Ok(()) };
        if !link.should_try() {
            return Ok(());
        }
        let (mut synced, head) = {
            let st = link.st();
            (st.synced, st.head)
        };
        if synced == 0 && head > 0 {
            // The store was unreachable when the log was shared: find what it already holds
            // rather than re-sending every entry.
            self.find_synced();
            synced = link.st().synced;
        }
        if synced >= head {
            match link.store.get(head + 1) {
                Ok(None) => {
                    link.ok(None);
                    return Ok(());
                }
                Ok(Some(_)) => {}
                Err(e) => {
                    link.fail(e);
                    return Ok(());
                }
            }
        }
        self.sync_now()
    }

    /// The highest local seq the store holds byte-identical (the chain makes "identical at
    /// seq s" hold for every seq before s too, so a binary search finds it).
    fn find_synced(&self) {
        let Some(link) = self.link.get() else { return };
        let head = link.st().head;
        let Ok(lines) = local_lines(&self.path) else { return };
        let same = |seq: u64| -> Result<bool, String> {
            Ok(link.store.get(seq)?.is_some_and(|l| lines.get(&seq).is_some_and(|m| *m == l)))
        };
        let (mut lo, mut hi) = (0u64, head);
        while lo < hi {
            let mid = lo + (hi - lo).div_ceil(2);
            match same(mid) {
                Ok(true) => lo = mid,
                Ok(false) => hi = mid - 1,
                Err(e) => {
                    link.fail(e);
                    return;
                }
            }
        }
        link.ok(Some(lo));
    }

    /// With the lock held: upload pending local entries, then append the store's newer ones.
    fn sync_locked(
        &self,
        file: &File,
        cache: &mut Option<TailState>,
        link: &Link,
    ) -> Result<TailState, SyncError> {
        let mut tail = self.settle_tail(file, cache, Utc::now())?;
        self.note_head(tail.last_seq);
        let synced = link.st().synced;
        if synced < tail.last_seq {
            let lines = local_lines(&self.path).map_err(SyncError::Log)?;
            for seq in synced + 1..=tail.last_seq {
                let Some(line) = lines.get(&seq) else { continue };
                match link.store.create(seq, line).map_err(SyncError::Store)? {
                    Created::Created => link.ok(Some(seq)),
                    Created::Exists(theirs) if theirs == *line => link.ok(Some(seq)),
                    Created::Exists(_) => {
                        tail = self.resolve_fork(file, cache, link, seq, &lines)?;
                        break;
                    }
                }
            }
        }
        tail = self.pull(file, tail, link)?;
        link.ok(None);
        *cache = Some(tail.clone());
        Ok(tail)
    }

    /// Appends the store's entries after `tail` verbatim (each checked to chain onto the one
    /// before: seq, prev, seal), fetched and written in runs (one write and fsync per run).
    fn pull(&self, file: &File, mut tail: TailState, link: &Link) -> Result<TailState, SyncError> {
        // Runs grow 1, 2, 4, ... RUN: an append finds at most a few new entries (one GET each),
        // a host far behind fetches RUN at a time.
        let mut want = 1;
        loop {
            let run = link.store.get_run(tail.last_seq + 1, want).map_err(SyncError::Store)?;
            let (mut buf, mut next, mut bad) = (Vec::new(), tail.clone(), None);
            for line in &run {
                match chains_onto(&next, line) {
                    Ok(seq) => {
                        buf.extend_from_slice(line);
                        buf.push(b'\n');
                        next = TailState {
                            len: next.len + line.len() as u64 + 1,
                            last_seq: seq,
                            last_hash: line_hash(line),
                        };
                    }
                    Err(e) => {
                        bad = Some(e);
                        break;
                    }
                }
            }
            if !buf.is_empty() {
                let mut w: &File = file;
                w.write_all(&buf).map_err(LogError::io(&self.path, "append"))?;
                w.sync_data().map_err(LogError::io(&self.path, "fsync"))?;
                if let Some(anchor) = &self.anchor {
                    let head = super::anchor::Head {
                        seq: next.last_seq,
                        hash: next.last_hash.clone(),
                        entries: next.last_seq,
                        bytes: next.len,
                    };
                    anchor.record_run(tail.last_seq, &tail.last_hash, head);
                }
                self.note_head(next.last_seq);
                link.ok(Some(next.last_seq));
                tail = next;
            }
            if let Some(e) = bad {
                return Err(SyncError::Store(e));
            }
            if run.len() < want {
                return Ok(tail);
            }
            want = (want * 2).min(RUN);
        }
    }

    /// An append of a shared log: CAS-create the entry `build` makes for the current tail, retrying
    /// after a lost race; with the store unreachable, written locally (pending).
    pub(super) fn append_shared(
        &self,
        file: &File,
        cache: &mut Option<TailState>,
        link: &Link,
        build: &dyn Fn(&TailState) -> Entry,
    ) -> Result<Entry, LogError> {
        if link.should_try() {
            for _ in 0..MAX_RACES {
                let tail = match self.sync_locked(file, cache, link) {
                    Ok(t) => t,
                    Err(SyncError::Log(e)) => return Err(e),
                    Err(SyncError::Store(e)) => {
                        link.fail(e);
                        break;
                    }
                };
                let entry = build(&tail);
                let line = encode_sealed(&entry, &self.path)?;
                match link.store.create(entry.seq, &line) {
                    Ok(Created::Created) => {
                        *cache = Some(self.write_raw(file, tail.len, &[], &line, &entry, true)?);
                        link.ok(Some(entry.seq));
                        return Ok(entry);
                    }
                    // Byte-identical: an earlier attempt whose answer was lost created it.
                    Ok(Created::Exists(theirs)) if theirs == line => {
                        *cache = Some(self.write_raw(file, tail.len, &[], &line, &entry, true)?);
                        link.ok(Some(entry.seq));
                        return Ok(entry);
                    }
                    Ok(Created::Exists(_)) => continue,
                    Err(e) => {
                        link.fail(e);
                        *cache = Some(self.write_raw(file, tail.len, &[], &line, &entry, true)?);
                        return Ok(entry);
                    }
                }
            }
        }
        let tail = self.settle_tail(file, cache, Utc::now())?;
        let entry = build(&tail);
        let line = encode_sealed(&entry, &self.path)?;
        *cache = Some(self.write_raw(file, tail.len, &[], &line, &entry, true)?);
        Ok(entry)
    }

    /// The chains forked at `at`: this host wrote `at..` while the store was unreachable and
    /// another host won `at` meanwhile. Nothing is lost: the whole local file is first saved
    /// beside it (`<ID>.fork-<at>-<unix ms>.jsonl`, fsynced), then the file is cut back to the
    /// common prefix (seqs before `at`), the store's entries are appended verbatim, this host's
    /// entries from `at` on are appended again (re-chained, new seqs, the same ts/operator/kind/
    /// summary/details plus `details.rechained_from {seq, hash, operator}`), and a `fork` entry
    /// records it all. Every append goes through the store, so both hosts see the same chain.
    fn resolve_fork(
        &self,
        file: &File,
        cache: &mut Option<TailState>,
        link: &Link,
        at: u64,
        lines: &BTreeMap<u64, Vec<u8>>,
    ) -> Result<TailState, SyncError> {
        let data = std::fs::read(&self.path).map_err(LogError::io(&self.path, "read"))?;
        let prefix = prefix_before(&data, at);
        let stem = self.path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let saved_name = format!("{stem}.fork-{at}-{}.jsonl", Utc::now().timestamp_millis());
        let saved = self.path.with_file_name(&saved_name);
        let mut out = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&saved)
            .map_err(LogError::io(&saved, "create"))?;
        out.write_all(&data).and_then(|()| out.sync_all()).map_err(LogError::io(&saved, "write"))?;
        if let Some(dir) = self.path.parent() {
            crate::incident::store::sync_dir(dir)?;
        }
        tracing::warn!("shared log forked at seq {at}: local file saved as {saved_name}, re-chaining");
        file.set_len(prefix as u64).map_err(LogError::io(&self.path, "truncate to the common prefix"))?;
        file.sync_all().map_err(LogError::io(&self.path, "fsync"))?;
        *self.rewound.lock().unwrap_or_else(|e| e.into_inner()) = Some(prefix as u64);
        *cache = None;
        // The cut is deliberate and recorded (the saved file and the `fork` entry below): the
        // anchored head moves back to the common prefix, or every later append would look like
        // a truncation of the anchored log.
        if let Some(anchor) = &self.anchor {
            let t = self.settle_tail(file, cache, Utc::now())?;
            anchor.replace(&super::anchor::Head {
                seq: t.last_seq,
                hash: t.last_hash,
                entries: t.last_seq,
                bytes: t.len,
            });
            *cache = None;
        }
        {
            let mut st = link.st();
            st.synced = at - 1;
        }
        let mine: Vec<(Entry, String)> = lines
            .range(at..)
            .filter_map(|(_, l)| serde_json::from_slice::<Entry>(l).ok().map(|e| (e, line_hash(l))))
            .collect();
        let tail = self.settle_tail(file, cache, Utc::now())?;
        let tail = self.pull(file, tail, link)?;
        *cache = Some(tail.clone());
        let store_head = tail.last_seq;
        let mut first_new = None;
        for (orig, hash) in &mine {
            let orig = orig.clone();
            let hash = hash.clone();
            let build = move |t: &TailState| {
                let mut details = orig.details.clone();
                let from = json!({ "seq": orig.seq, "hash": hash, "operator": orig.operator });
                match &mut details {
                    Value::Object(map) => {
                        map.insert("rechained_from".into(), from);
                    }
                    other => *other = json!({ "value": other.clone(), "rechained_from": from }),
                }
                Entry { seq: t.last_seq + 1, prev: t.last_hash.clone(), details, ..orig.clone() }
            };
            let e = self.append_shared(file, cache, link, &build)?;
            first_new.get_or_insert(e.seq);
        }
        let saved_sha = line_hash(&data);
        let count = mine.len();
        let summary = format!(
            "Fork at seq {at}: another host appended while the store was unreachable; {count} local entries re-chained after seq {store_head}"
        );
        let details = redact_json(json!({
            "at_seq": at, "rechained": count, "first_rechained": first_new, "store_head": store_head,
            "saved": saved_name, "saved_sha256": saved_sha,
        }));
        let operator = self.operator.clone();
        let mono = self.mono_ms();
        let build = move |t: &TailState| Entry {
            seq: t.last_seq + 1,
            ts: Utc::now().trunc_subsecs(3),
            mono_ms: mono,
            operator: operator.clone(),
            kind: one_line_kind(&EntryKind::Fork),
            summary: one_line(&summary),
            details: details.clone(),
            prev: t.last_hash.clone(),
        };
        self.append_shared(file, cache, link, &build)?;
        Ok(self.settle_tail(file, cache, Utc::now())?)
    }

    pub(super) fn note_head(&self, seq: u64) {
        if let Some(link) = self.link.get() {
            link.st().head = seq;
        }
    }
}

/// The seq of `line` when it is the entry after `tail` (seq, prev and its own seal check).
fn chains_onto(tail: &TailState, line: &[u8]) -> Result<u64, String> {
    let next = tail.last_seq + 1;
    let entry: Entry =
        serde_json::from_slice(line).map_err(|e| format!("shared entry {next} is not an entry: {e}"))?;
    if entry.seq != next || entry.prev != tail.last_hash || encode::seal_ok(line) == Some(false) {
        return Err(format!(
            "shared entry {next} does not chain onto the local log (seq {}, prev {}): left alone",
            entry.seq,
            &entry.prev[..entry.prev.len().min(12)]
        ));
    }
    Ok(next)
}

/// A sealed line for `entry`.
pub(super) fn encode_sealed(entry: &Entry, path: &std::path::Path) -> Result<Vec<u8>, LogError> {
    let line = encode::to_line(entry).map_err(|e| LogError::io(path, "encode entry")(e.into()))?;
    Ok(encode::seal(line))
}

/// Byte length of the lines before the first entry with `seq >= at`.
fn prefix_before(data: &[u8], at: u64) -> usize {
    let mut offset = 0;
    for raw in data.split_inclusive(|&b| b == b'\n') {
        let line = raw.strip_suffix(b"\n").unwrap_or(raw);
        if serde_json::from_slice::<Entry>(line).is_ok_and(|e| e.seq >= at) {
            return offset;
        }
        offset += raw.len();
    }
    offset
}

/// Every entry line of a log file by seq (torn lines skipped).
pub(super) fn local_lines(path: &std::path::Path) -> Result<BTreeMap<u64, Vec<u8>>, LogError> {
    let data = std::fs::read(path).map_err(LogError::io(path, "read"))?;
    Ok(data
        .split(|&b| b == b'\n')
        .filter_map(|l| serde_json::from_slice::<SeqOnly>(l).ok().map(|e| (e.seq, l.to_vec())))
        .collect())
}

#[derive(serde::Deserialize)]
struct SeqOnly {
    seq: u64,
}

impl IncidentLog {
    /// Rebuilds incident `id`'s local log from `store` when this host lacks it (a console
    /// joining from another host): the store's chain is checked (seq, prev, seal) and written
    /// verbatim, fsynced. `Ok(false)`: the local log exists already, nothing done.
    pub fn join_from_store(
        data_dir: &std::path::Path,
        id: &str,
        store: &dyn EntryStore,
    ) -> Result<bool, LogError> {
        let path = crate::incident::store::log_path(data_dir, id)?;
        if path.exists() {
            return Ok(false);
        }
        let corrupt = |message: String| LogError::NotAnIncident { path: path.clone(), reason: message };
        let lines = crate::incident::shared::fetch_chain(store).map_err(corrupt)?;
        if lines.is_empty() {
            return Err(LogError::NotFound { id: id.to_string(), path });
        }
        if let Some(bad) = lines.iter().position(|l| encode::seal_ok(l) == Some(false)) {
            return Err(corrupt(format!("shared entry {} fails its own hash", bad + 1)));
        }
        let dir = crate::incident::store::ensure_incidents_dir(data_dir)?;
        let (got, path, mut file) = crate::incident::store::create_log_file(&dir, id)?;
        if got != id {
            let _ = std::fs::remove_file(&path);
            return Err(LogError::Io {
                path,
                action: "create",
                source: std::io::Error::new(std::io::ErrorKind::AlreadyExists, "the log appeared meanwhile"),
            });
        }
        let mut buf = Vec::new();
        for l in &lines {
            buf.extend_from_slice(l);
            buf.push(b'\n');
        }
        file.write_all(&buf).and_then(|()| file.sync_all()).map_err(LogError::io(&path, "write"))?;
        crate::incident::store::sync_dir(&dir)?;
        Ok(true)
    }
}
