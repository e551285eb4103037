//! [`Recorder`]: the driver's handle on the flight recorder. [`Driver::apply`] hands every
//! action with its `now` to a bounded queue; a thread of its own encodes them
//! ([`crate::app::recording::Encoder`]) and writes the segments
//! ([`crate::incident::recorder::SegmentWriter`]), so the console's loop never waits for the
//! disk. A full queue drops the action (counted, logged in the app log, recorded as a gap),
//! never blocks the screen.
//!
//! [`Driver::apply`]: super::Driver::apply

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, SyncSender, TrySendError};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::app::Action;
use crate::app::recording::{Encoded, Encoder, Genesis};
use crate::incident::recorder::SegmentWriter;

/// How many actions may wait for the recorder thread (minutes of a busy estate).
pub const QUEUE: usize = 4096;

/// The recording of one console. Dropping it ends the recording in the background; prefer
/// [`Recorder::finish`], which waits for the last segment to be closed and logged.
pub struct Recorder {
    queue: Option<SyncSender<(DateTime<Utc>, Action)>>,
    /// Dropped since the thread last looked (it records them as a gap).
    pending_gap: Arc<AtomicU64>,
    dropped: u64,
    done: mpsc::Receiver<()>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder").field("dropped", &self.dropped).finish_non_exhaustive()
    }
}

impl Recorder {
    /// Start recording: the genesis first, then every action [`Recorder::record`] is given.
    pub fn start(genesis: Genesis, writer: SegmentWriter) -> std::io::Result<Recorder> {
        Recorder::start_with(genesis, writer, Encoder::default(), QUEUE)
    }

    /// [`Recorder::start`] with an encoder and a queue length of the caller's (tests).
    pub fn start_with(
        genesis: Genesis,
        writer: SegmentWriter,
        encoder: Encoder,
        queue: usize,
    ) -> std::io::Result<Recorder> {
        let (tx, rx) = mpsc::sync_channel(queue);
        let (done_tx, done) = mpsc::channel();
        let pending_gap = Arc::new(AtomicU64::new(0));
        let gap = pending_gap.clone();
        std::thread::Builder::new().name("recorder".into()).spawn(move || {
            let mut w = Writing { writer, failed: false };
            run(&mut w, encoder, &genesis, &rx, &gap);
            let _ = done_tx.send(());
        })?;
        Ok(Recorder { queue: Some(tx), pending_gap, dropped: 0, done })
    }

    /// Queue `action`, applied at `now`, for the recording. Never blocks: a full queue drops it.
    pub fn record(&mut self, now: DateTime<Utc>, action: &Action) {
        let Some(queue) = &self.queue else { return };
        match queue.try_send((now, action.clone())) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                self.dropped += 1;
                if self.pending_gap.fetch_add(1, Ordering::Relaxed) == 0 {
                    tracing::warn!(
                        "flight recorder queue full ({QUEUE}): an action was not recorded ({} so far)",
                        self.dropped
                    );
                }
            }
            Err(TrySendError::Disconnected(_)) => {
                tracing::error!("flight recorder thread is gone: recording stopped");
                self.queue = None;
            }
        }
    }

    /// Actions not recorded because the queue was full, since the start.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// End the recording: everything queued is written, the last segment closed and logged.
    /// Waits up to `limit`; returns whether it finished.
    pub fn finish(mut self, limit: Duration) -> bool {
        self.queue = None;
        self.done.recv_timeout(limit).is_ok()
    }
}

/// The writer, and whether it already failed (reported once, then records are dropped).
struct Writing {
    writer: SegmentWriter,
    failed: bool,
}

impl Writing {
    fn write(&mut self, records: Vec<Encoded>) {
        for r in records {
            if self.failed {
                return;
            }
            if let Err(e) = self.writer.write(r.ts, &r.bytes, r.urgent) {
                tracing::error!(
                    "flight recorder: writing {}: {e}; recording stopped",
                    self.writer.dir().display()
                );
                self.failed = true;
            }
        }
    }
}

fn run(
    w: &mut Writing,
    mut encoder: Encoder,
    genesis: &Genesis,
    rx: &mpsc::Receiver<(DateTime<Utc>, Action)>,
    gap: &AtomicU64,
) {
    w.write(vec![encoder.genesis(genesis)]);
    let mut last = genesis.started_at;
    loop {
        match rx.recv_timeout(w.writer.next_due()) {
            Ok((ts, action)) => {
                last = ts;
                let lost = gap.swap(0, Ordering::Relaxed);
                if lost > 0 {
                    let records = encoder.gap(ts, lost);
                    w.write(records);
                }
                let records = encoder.encode(ts, &action);
                w.write(records);
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        if !w.failed
            && let Err(e) = w.writer.tick()
        {
            tracing::error!("flight recorder: {e}; recording stopped");
            w.failed = true;
        }
    }
    // Actions dropped after the last one queued are counted too.
    let lost = gap.swap(0, Ordering::Relaxed);
    if lost > 0 {
        let records = encoder.gap(last, lost);
        w.write(records);
    }
    let rest = encoder.flush();
    w.write(rest);
    if let Err(e) = w.writer.close() {
        tracing::error!("flight recorder: closing the last segment: {e}");
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::app::recording::{self, Genesis};
    use crate::incident::log::IncidentLog;
    use crate::incident::recorder::{Limits, SegmentLog, recordings_dir};

    /// Every action handed to the recorder is in the recording, or counted in a gap that is
    /// itself recorded: a full queue never blocks and never loses count.
    #[test]
    fn every_action_is_recorded_or_counted_as_a_gap() {
        let dir = tempfile::tempdir().unwrap();
        let (log, meta) =
            IncidentLog::declare(dir.path(), "t", "SEV2", true, "ana@host", Utc::now()).unwrap();
        let log: Arc<dyn SegmentLog> = Arc::new(log);
        let root = recordings_dir(dir.path(), &meta.id).unwrap();
        let writer = SegmentWriter::create(&root, "c1", Limits::default(), log).unwrap();
        let state = crate::app::State::new(
            crate::app::Mode::Drill,
            (&meta).into(),
            "ana@host".into(),
            Arc::new(crate::config::Config::default()),
            Utc::now(),
        );
        let genesis = Genesis::capture("c1", &state, &[], vec![], (80, 24));
        let mut r = Recorder::start_with(genesis, writer, Encoder::default(), 2).unwrap();
        let n = 5_000u64;
        let start = std::time::Instant::now();
        for i in 0..n {
            let action = if i % 2 == 0 { Action::Tick } else { Action::Resize(80, 24) };
            r.record(Utc::now(), &action);
        }
        assert!(start.elapsed() < Duration::from_secs(2), "never blocks: {:?}", start.elapsed());
        let dropped = r.dropped();
        assert!(r.finish(Duration::from_secs(10)), "finished");
        let rec = &recording::consoles(dir.path(), &meta.id)[0];
        let back = recording::read(rec).unwrap();
        assert_eq!(back.dropped, dropped, "the gaps recorded add up to what was dropped");
        assert_eq!(back.actions.len() as u64 + back.dropped, n);
        assert!(!back.open && back.torn.is_none());
    }
}
