//! [`SegmentWriter`]: appends records to a console's segments, rotates, fsyncs, announces.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};
use flate2::Compression;
use flate2::write::DeflateEncoder;
use sha2::{Digest, Sha256};

use super::{Limits, MAGIC, SegmentInfo, SegmentLog};

/// The file under the compressor: hashes and counts every byte written.
struct Hashed {
    file: File,
    hash: Sha256,
    bytes: u64,
}

impl Write for Hashed {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// The segment being written.
struct Open {
    name: String,
    enc: DeflateEncoder<Hashed>,
    records: u64,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    prev_ns: i64,
    opened: Instant,
    /// Records written since the last fsync.
    dirty: bool,
    synced: Instant,
}

/// Writes one console's recording: `<dir>/<NNNNNN>.seg`, one segment open at a time.
pub struct SegmentWriter {
    dir: PathBuf,
    console: String,
    limits: Limits,
    log: Arc<dyn SegmentLog>,
    next: u32,
    open: Option<Open>,
    buf: Vec<u8>,
}

impl std::fmt::Debug for SegmentWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SegmentWriter")
            .field("dir", &self.dir)
            .field("next", &self.next)
            .finish_non_exhaustive()
    }
}

impl SegmentWriter {
    /// A writer for console `console` of the recording directory `root` (`<ID>.rec`). Creates
    /// the directories (0700); the first segment opens with the first record.
    pub fn create(
        root: &Path,
        console: &str,
        limits: Limits,
        log: Arc<dyn SegmentLog>,
    ) -> io::Result<SegmentWriter> {
        if !super::valid_console_id(console) {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("bad console id {console:?}")));
        }
        let dir = root.join(console);
        DirBuilder::new().recursive(true).mode(0o700).create(&dir)?;
        Ok(SegmentWriter {
            dir,
            console: console.to_string(),
            limits,
            log,
            next: 1,
            open: None,
            buf: Vec::new(),
        })
    }

    /// The console's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Append one record. `urgent`: flush and fsync now (see the module doc). Closes the
    /// segment when it is full or old enough.
    pub fn write(&mut self, ts: DateTime<Utc>, payload: &[u8], urgent: bool) -> io::Result<()> {
        if self.open.is_none() {
            self.open = Some(self.open_next(ts)?);
        }
        let Some(seg) = self.open.as_mut() else { unreachable!("opened above") };
        let ns = ts.timestamp_nanos_opt().unwrap_or(i64::MAX);
        self.buf.clear();
        put_varint(&mut self.buf, zigzag(ns.wrapping_sub(seg.prev_ns)));
        put_varint(&mut self.buf, payload.len() as u64);
        self.buf.extend_from_slice(payload);
        seg.enc.write_all(&self.buf)?;
        seg.prev_ns = ns;
        seg.records += 1;
        seg.to = ts;
        seg.dirty = true;
        if urgent {
            sync(seg)?;
        }
        self.rotate_if_due()
    }

    /// Housekeeping between records: fsync what is older than `sync_every`, close a segment
    /// past its age. Call at least once per `sync_every`.
    pub fn tick(&mut self) -> io::Result<()> {
        if let Some(seg) = self.open.as_mut()
            && seg.dirty
            && seg.synced.elapsed() >= self.limits.sync_every
        {
            sync(seg)?;
        }
        self.rotate_if_due()
    }

    /// How long until [`SegmentWriter::tick`] has something to do (at most `sync_every`).
    pub fn next_due(&self) -> std::time::Duration {
        match &self.open {
            Some(seg) if seg.dirty => self.limits.sync_every.saturating_sub(seg.synced.elapsed()),
            _ => self.limits.sync_every,
        }
    }

    fn rotate_if_due(&mut self) -> io::Result<()> {
        let due = self.open.as_ref().is_some_and(|seg| {
            seg.enc.total_out() >= self.limits.max_bytes || seg.opened.elapsed() >= self.limits.max_age
        });
        if due {
            self.close()?;
        }
        Ok(())
    }

    /// Close the open segment (finish the stream, fsync, announce it in the log). Returns
    /// what was announced; `None` when no segment was open.
    pub fn close(&mut self) -> io::Result<Option<SegmentInfo>> {
        let Some(seg) = self.open.take() else { return Ok(None) };
        let mut hashed = seg.enc.finish()?;
        hashed.file.sync_data()?;
        let info = SegmentInfo {
            console: self.console.clone(),
            segment: seg.name,
            bytes: hashed.bytes,
            records: seg.records,
            sha256: hex::encode(hashed.hash.finalize_reset()),
            from: seg.from,
            to: seg.to,
        };
        if let Err(e) = self.log.segment_closed(&info) {
            tracing::error!("recording segment {} closed but not logged: {e}", info.segment);
        }
        Ok(Some(info))
    }

    fn open_next(&mut self, ts: DateTime<Utc>) -> io::Result<Open> {
        loop {
            let name = format!("{:06}.seg", self.next);
            self.next += 1;
            let path = self.dir.join(&name);
            let file = match OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path) {
                Ok(f) => f,
                // Never overwrite: a leftover segment keeps its number.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            };
            let mut hashed = Hashed { file, hash: Sha256::new(), bytes: 0 };
            hashed.write_all(MAGIC)?;
            let now = Instant::now();
            return Ok(Open {
                name,
                enc: DeflateEncoder::new(hashed, Compression::default()),
                records: 0,
                from: ts,
                to: ts,
                prev_ns: 0,
                opened: now,
                dirty: false,
                synced: now,
            });
        }
    }
}

impl Drop for SegmentWriter {
    /// A writer dropped with a segment open closes it (announced in the log).
    fn drop(&mut self) {
        if let Err(e) = self.close() {
            tracing::error!("closing the recording segment in {}: {e}", self.dir.display());
        }
    }
}

/// Flush the compressor (a sync flush: everything so far is decodable) and fsync.
fn sync(seg: &mut Open) -> io::Result<()> {
    seg.enc.flush()?;
    seg.enc.get_ref().file.sync_data()?;
    seg.dirty = false;
    seg.synced = Instant::now();
    Ok(())
}

pub(super) fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

pub(super) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}
