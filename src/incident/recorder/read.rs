//! Reading segments back: records up to the last whole one, and whether the tail was torn.

use std::io::Read;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use flate2::read::DeflateDecoder;

use super::{ConsoleRecording, MAGIC, RecError};

/// Records with their times, in order.
pub type Records = Vec<(DateTime<Utc>, Vec<u8>)>;

/// One segment's records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawSegment {
    /// The file.
    pub path: PathBuf,
    /// Its whole records, in order.
    pub records: Records,
    /// The stream was finished (the segment was closed).
    pub closed: bool,
    /// Why the records end early: a crash mid-write (the bytes after the last whole record
    /// are unreadable). `None` when every byte was read.
    pub torn: Option<String>,
}

/// A console's records across its segments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRecording {
    /// Every whole record, in order.
    pub records: Records,
    /// Where it ends early and why (a torn segment; later segments are not read).
    pub torn: Option<String>,
    /// The last segment was not closed: the console is running, or it stopped without
    /// closing it (a crash).
    pub open: bool,
}

/// Read a console's segments in order, up to the first torn one.
pub fn read_raw(rec: &ConsoleRecording) -> Result<RawRecording, RecError> {
    if rec.segments.is_empty() {
        return Err(RecError::Empty { path: rec.dir.clone() });
    }
    let mut out = RawRecording { records: Vec::new(), torn: None, open: false };
    for (i, path) in rec.segments.iter().enumerate() {
        let seg = read_segment(path)?;
        out.records.extend(seg.records);
        out.open = !seg.closed;
        if let Some(why) = seg.torn {
            let later = rec.segments.len() - i - 1;
            out.torn =
                Some(if later > 0 { format!("{why}; {later} later segment(s) not read") } else { why });
            break;
        }
    }
    Ok(out)
}

/// Read one segment: every whole record; a stream cut short (crash mid-write, or the open
/// segment of a running console) reads up to its last whole record.
pub fn read_segment(path: &Path) -> Result<RawSegment, RecError> {
    let data = std::fs::read(path).map_err(|source| RecError::Io {
        path: path.to_path_buf(),
        action: "read",
        source,
    })?;
    let Some(stream) = data.strip_prefix(MAGIC) else {
        return Err(RecError::BadMagic { path: path.to_path_buf() });
    };
    let mut decoder = DeflateDecoder::new(stream);
    let mut plain = Vec::new();
    // Bytes decoded before an error are kept in `plain` (a torn stream).
    let stream_error = decoder.read_to_end(&mut plain).err();
    let consumed = decoder.total_in() as usize;
    // A finished stream ends with its final block; an open one just stops after a flush.
    let closed = stream_error.is_none() && is_finished(stream);
    let (records, partial) = split_records(&plain);
    let name = path.display();
    // An open segment (a running console's) stops at a sync flush, which ends with the
    // empty stored block `00 00 ff ff`: not torn, only not finished.
    let at_flush = stream.ends_with(&[0, 0, 0xff, 0xff]);
    let torn = match (stream_error, partial) {
        (Some(_), None) if at_flush => None,
        (Some(e), _) => Some(format!(
            "{name}: torn after {} whole record(s) (compressed stream unreadable at byte {consumed}: {e})",
            records.len()
        )),
        (None, Some(bytes)) => Some(format!(
            "{name}: torn after {} whole record(s) ({bytes} byte(s) of a record cut short)",
            records.len()
        )),
        (None, None) => None,
    };
    Ok(RawSegment { path: path.to_path_buf(), records, closed, torn })
}

/// Whether a raw DEFLATE stream is complete (decodes to the end with its final block).
fn is_finished(stream: &[u8]) -> bool {
    let mut d = flate2::Decompress::new(false);
    let mut sink = vec![0u8; 64 * 1024];
    let mut input = stream;
    loop {
        let (before_in, before_out) = (d.total_in(), d.total_out());
        match d.decompress(input, &mut sink, flate2::FlushDecompress::None) {
            Ok(flate2::Status::StreamEnd) => return true,
            Ok(_) => {
                let used = (d.total_in() - before_in) as usize;
                input = &input[used..];
                if used == 0 && d.total_out() == before_out {
                    return false;
                }
            }
            Err(_) => return false,
        }
    }
}

/// Split decoded bytes into records; `Some(n)`: `n` trailing bytes of a record cut short.
fn split_records(mut b: &[u8]) -> (Records, Option<usize>) {
    let mut out = Vec::new();
    let mut prev: i64 = 0;
    while !b.is_empty() {
        let whole = (|| {
            let (dt, rest) = get_varint(b)?;
            let (len, rest) = get_varint(rest)?;
            let len = usize::try_from(len).ok()?;
            (rest.len() >= len).then(|| (unzigzag(dt), &rest[..len], &rest[len..]))
        })();
        let Some((dt, payload, rest)) = whole else { return (out, Some(b.len())) };
        prev = prev.wrapping_add(dt);
        out.push((DateTime::from_timestamp_nanos(prev), payload.to_vec()));
        b = rest;
    }
    (out, None)
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

fn get_varint(b: &[u8]) -> Option<(u64, &[u8])> {
    let mut v: u64 = 0;
    for (i, byte) in b.iter().enumerate().take(10) {
        v |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((v, &b[i + 1..]));
        }
    }
    None
}
