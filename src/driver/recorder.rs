//! [`Recorder`]: the driver's handle on the flight recorder. [`Driver::apply`] hands every
//! action with its `now` to a bounded queue; a thread of its own encodes them
//! ([`crate::app::recording::Encoder`]) and writes the segments
//! ([`crate::incident::recorder::SegmentWriter`]), so the console's loop never waits for the
//! disk. A full queue drops the action (counted, logged in the app log, recorded as a gap),
//! never blocks the screen.
//!
//! [`Driver::apply`]: super::Driver::apply

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::app::Action;
use crate::app::mirror::StepIds;
use crate::app::recording::{Encoded, Encoder, Genesis};
use crate::incident::recorder::SegmentWriter;

/// What the console hands the recorder thread.
enum Msg {
    /// An action applied at a time.
    Action(DateTime<Utc>, Action),
    /// A step id the shared allocator handed out at a time.
    StepId(DateTime<Utc>, u64),
}

/// The sending side, shared by the recorder and its step-id tee: taking it out ends the
/// recording even while a tee lives on in the state.
type Queue = Arc<Mutex<Option<SyncSender<Msg>>>>;

/// How many actions may wait for the recorder thread (minutes of a busy estate).
pub const QUEUE: usize = 4096;

/// The recording of one console. Dropping it ends the recording in the background; prefer
/// [`Recorder::finish`], which waits for the last segment to be closed and logged.
pub struct Recorder {
    /// Shared with the step-id tee; `None` once finished (the thread then sees the end).
    queue: Queue,
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
        Ok(Recorder { queue: Arc::new(Mutex::new(Some(tx))), pending_gap, dropped: 0, done })
    }

    /// Queue `action`, applied at `now`, for the recording. Never blocks: a full queue drops it.
    pub fn record(&mut self, now: DateTime<Utc>, action: &Action) {
        if send(&self.queue, &self.pending_gap, Msg::Action(now, action.clone())) == Sent::Dropped {
            self.dropped += 1;
        }
    }

    /// `ids`, with every id it hands out recorded (a replay hands out the same ones).
    pub fn tee(&self, ids: Arc<dyn StepIds>) -> Arc<dyn StepIds> {
        Arc::new(Tee { inner: ids, queue: self.queue.clone(), gap: self.pending_gap.clone() })
    }

    /// Actions not recorded because the queue was full, since the start.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// End the recording: everything queued is written, the last segment closed and logged.
    /// Waits up to `limit`; returns whether it finished.
    pub fn finish(self, limit: Duration) -> bool {
        self.close();
        self.done.recv_timeout(limit).is_ok()
    }

    fn close(&self) {
        if let Ok(mut q) = self.queue.lock() {
            *q = None;
        }
    }
}

#[derive(PartialEq, Eq)]
enum Sent {
    Ok,
    Dropped,
    Gone,
}

/// Queue `msg` without blocking: a full queue drops it (counted for the gap record, logged
/// once per run of drops).
fn send(queue: &Queue, gap: &AtomicU64, msg: Msg) -> Sent {
    let Ok(mut guard) = queue.lock() else { return Sent::Gone };
    let Some(tx) = guard.as_ref() else { return Sent::Gone };
    match tx.try_send(msg) {
        Ok(()) => Sent::Ok,
        Err(TrySendError::Full(_)) => {
            let before = gap.fetch_add(1, Ordering::Relaxed);
            if before == 0 {
                tracing::warn!("flight recorder queue full ({QUEUE}): an action was not recorded");
            }
            Sent::Dropped
        }
        Err(TrySendError::Disconnected(_)) => {
            tracing::error!("flight recorder thread is gone: recording stopped");
            *guard = None;
            Sent::Gone
        }
    }
}

/// The incident's step-id allocator, recording what it hands out.
struct Tee {
    inner: Arc<dyn StepIds>,
    queue: Queue,
    gap: Arc<AtomicU64>,
}

impl std::fmt::Debug for Tee {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tee({:?})", self.inner)
    }
}

impl StepIds for Tee {
    fn allocate(&self, at_least: u64) -> Result<u64, String> {
        let id = self.inner.allocate(at_least)?;
        send(&self.queue, &self.gap, Msg::StepId(crate::clock::now(), id));
        Ok(id)
    }
}

impl Drop for Recorder {
    /// Ends the recording in the background (the thread closes the last segment).
    fn drop(&mut self) {
        self.close();
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

fn run(w: &mut Writing, mut encoder: Encoder, genesis: &Genesis, rx: &mpsc::Receiver<Msg>, gap: &AtomicU64) {
    w.write(vec![encoder.genesis(genesis)]);
    let mut last = genesis.started_at;
    loop {
        match rx.recv_timeout(w.writer.next_due()) {
            Ok(msg) => {
                let ts = match &msg {
                    Msg::Action(ts, _) | Msg::StepId(ts, _) => *ts,
                };
                last = ts;
                let lost = gap.swap(0, Ordering::Relaxed);
                if lost > 0 {
                    let records = encoder.gap(ts, lost);
                    w.write(records);
                }
                let records = match msg {
                    Msg::Action(ts, action) => encoder.encode(ts, &action),
                    Msg::StepId(ts, id) => encoder.step_id(ts, id),
                };
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
    use crate::app::mirror::StepIds;
    use crate::app::recording::{self, Genesis};
    use crate::incident::log::IncidentLog;
    use crate::incident::recorder::{Limits, SegmentLog, recordings_dir};

    /// A drill incident in a temporary data dir and a segment writer with the genesis of a
    /// console `c1` on it: (data dir, incident id, writer, genesis).
    fn drill_console() -> (tempfile::TempDir, String, SegmentWriter, Genesis) {
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
        (dir, meta.id, writer, Genesis::capture("c1", &state, &[], vec![], (80, 24)))
    }

    /// Every action handed to the recorder is in the recording, or counted in a gap that is
    /// itself recorded: a full queue never blocks and never loses count.
    #[test]
    fn every_action_is_recorded_or_counted_as_a_gap() {
        let (dir, id, writer, genesis) = drill_console();
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
        let rec = &recording::consoles(dir.path(), &id)[0];
        let back = recording::read(rec).unwrap();
        assert_eq!(back.dropped, dropped, "the gaps recorded add up to what was dropped");
        assert_eq!(back.actions.len() as u64 + back.dropped, n);
        assert!(!back.open && back.torn.is_none());
    }

    /// Ids handed out by a shared allocator (another console takes some in between).
    #[derive(Debug)]
    struct Shared(std::sync::Mutex<u64>);

    impl StepIds for Shared {
        fn allocate(&self, at_least: u64) -> Result<u64, String> {
            let mut next = self.0.lock().unwrap();
            let id = (*next).max(at_least);
            *next = id + 3;
            Ok(id)
        }
    }

    /// The ids the incident's allocator handed out come back, in order, in a replay.
    #[test]
    fn a_replay_hands_out_the_step_ids_the_console_got() {
        let (dir, id, writer, genesis) = drill_console();
        let mut r = Recorder::start(genesis, writer).unwrap();
        let ids = r.tee(Arc::new(Shared(std::sync::Mutex::new(7))));
        r.record(Utc::now(), &Action::Tick);
        let got: Vec<u64> = (0..3).map(|_| ids.allocate(1).unwrap()).collect();
        assert_eq!(got, [7, 10, 13]);
        assert!(r.finish(Duration::from_secs(10)));
        let back = recording::read(&recording::consoles(dir.path(), &id)[0]).unwrap();
        assert_eq!(back.step_ids, got);
        let mut replayed = back.initial_state();
        let again: Vec<u64> = (0..3).map(|_| replayed.domain.alloc_step_id()).collect();
        assert_eq!(again, got, "the replay numbers steps as the console did");
        assert_eq!(replayed.domain.alloc_step_id(), 14, "then from the state itself");
    }
}
