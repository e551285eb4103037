//! The flight recorder's encoding: what a console applied to its core, as records a replay
//! feeds back through [`crate::app::update`].
//!
//! The core is pure, so what a console showed is fully determined by its initial [`State`]
//! and the `(now, Action)` pairs it applied. A recording is a [`Genesis`] record (what built
//! the initial state: [`genesis_state`]) followed by one record per applied action
//! ([`ActionRec`], JSON), snapshots as deltas against the previous snapshot of their layer
//! ([`delta`]). `incident::recorder` stores the records (segments, compression, hashes);
//! [`read`] decodes a console's recording back into real [`Action`]s.
//!
//! No secret is ever recorded: every string of every record goes through
//! [`crate::text::redact`] (the log's redaction; a string under a secret-looking key is
//! masked whole), and typed text is held back until its prompt is submitted or cancelled,
//! then recorded as typed, or, when the text typed contains a secret, as its redacted form
//! ([`typing`]). Only the encoder's own thread does this work, never the console's loop.

pub mod action;
pub mod delta;
mod genesis;
#[cfg(test)]
mod tests;
mod typing;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::app::Action;
use crate::backends::model::{DatabaseView, KubeView, SentinelView, TrafficView};
pub use crate::incident::recorder::{ConsoleRecording, RecError, consoles};

pub use action::ActionRec;
pub use genesis::{FORMAT, Genesis, genesis_state};

/// One record's payload.
// Built and serialized one at a time, never stored in bulk: boxing the action buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Rec {
    /// The first record: what built the initial state.
    Genesis(Box<Genesis>),
    /// An applied action.
    A(ActionRec),
    /// This many actions were applied but not recorded (the recorder fell behind).
    Gap(u64),
    /// The incident's shared allocator handed out this step id (while the action before it
    /// was applied): a replay hands out the same ([`Recording::initial_state`]).
    StepId(u64),
}

/// An encoded record, ready for the segment writer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    /// The action's `now`.
    pub ts: DateTime<Utc>,
    /// The record (redacted JSON).
    pub bytes: Vec<u8>,
    /// Write it with an fsync (see [`ActionRec::urgent`]).
    pub urgent: bool,
}

/// How many snapshots of a layer between two keyframes, by default: one per ~30 min at 1 s
/// polling (a keyframe of the 5,000-pod drill estate is most of an hour's budget).
pub const KEYFRAME_EVERY: u32 = 1800;

/// Turns applied actions into records: holds each layer's previous snapshot and a prompt's
/// typing until it is submitted.
#[derive(Debug)]
pub struct Encoder {
    kube: delta::EncLayer<KubeView>,
    database: delta::EncLayer<DatabaseView>,
    sentinel: delta::EncLayer<SentinelView>,
    traffic: delta::EncLayer<TrafficView>,
    keyframe_every: u32,
    typing: typing::Typing,
}

impl Default for Encoder {
    fn default() -> Encoder {
        Encoder::new(KEYFRAME_EVERY)
    }
}

impl Encoder {
    /// An encoder that writes a Kubernetes keyframe every `keyframe_every` snapshots.
    pub fn new(keyframe_every: u32) -> Encoder {
        Encoder {
            kube: Default::default(),
            database: Default::default(),
            sentinel: Default::default(),
            traffic: Default::default(),
            keyframe_every: keyframe_every.max(1),
            typing: Default::default(),
        }
    }

    /// The genesis record.
    pub fn genesis(&self, g: &Genesis) -> Encoded {
        Encoded { ts: g.started_at, bytes: to_bytes(&Rec::Genesis(Box::new(g.clone()))), urgent: true }
    }

    /// A gap of `n` unrecorded actions before `ts`.
    pub fn gap(&mut self, ts: DateTime<Utc>, n: u64) -> Vec<Encoded> {
        self.typing.push(ts, Rec::Gap(n)).into_iter().map(encoded).collect()
    }

    /// A step id the shared allocator handed out at `ts`.
    pub fn step_id(&mut self, ts: DateTime<Utc>, id: u64) -> Vec<Encoded> {
        self.typing.push(ts, Rec::StepId(id)).into_iter().map(encoded).collect()
    }

    /// The records for `action` applied at `now`: usually one; none while a prompt's typing
    /// is held back, then all of them when it is submitted.
    pub fn encode(&mut self, now: DateTime<Utc>, action: &Action) -> Vec<Encoded> {
        let rec = match action {
            Action::Kube(s) => ActionRec::Kube(self.kube.kube(s, now, self.keyframe_every)),
            Action::Database(s) => ActionRec::Db(self.database.small(s, now)),
            Action::Sentinel(s) => ActionRec::Sentinel(self.sentinel.small(s, now)),
            Action::Traffic(s) => ActionRec::Traffic(self.traffic.small(s, now)),
            other => match action::plain(other) {
                Some(r) => r,
                None => return Vec::new(),
            },
        };
        self.typing.push(now, Rec::A(rec)).into_iter().map(encoded).collect()
    }

    /// Everything held back (typing not yet submitted, redacted as if submitted now): call
    /// before closing the recording.
    pub fn flush(&mut self) -> Vec<Encoded> {
        self.typing.flush().into_iter().map(encoded).collect()
    }
}

fn encoded((ts, rec): (DateTime<Utc>, Rec)) -> Encoded {
    let urgent = match &rec {
        Rec::A(a) => a.urgent(),
        _ => true,
    };
    Encoded { ts, bytes: to_bytes(&rec), urgent }
}

/// A record as redacted JSON. Most records hold nothing to hide: one scan of the JSON text
/// tells ([`crate::text::redact::may_hold_secret`]); only the others are walked string by string.
fn to_bytes(rec: &Rec) -> Vec<u8> {
    if let Ok(text) = serde_json::to_string(rec)
        && !crate::text::redact::may_hold_secret(&text)
    {
        return text.into_bytes();
    }
    let value = serde_json::to_value(rec).unwrap_or_else(|e| {
        tracing::error!("recording: cannot encode a record: {e}");
        Value::Null
    });
    serde_json::to_vec(&redact(value)).unwrap_or_default()
}

/// Every string redacted as the log redacts text; a string under a secret-looking key is
/// masked whole. Numbers and the shape are kept, so the record still decodes.
fn redact(v: Value) -> Value {
    match v {
        Value::String(s) => match crate::text::redact(&s) {
            std::borrow::Cow::Borrowed(_) => Value::String(s),
            std::borrow::Cow::Owned(r) => Value::String(r),
        },
        Value::Array(items) => Value::Array(items.into_iter().map(redact).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let v = match v {
                        Value::String(_) if crate::text::redact::is_secret_key(&k) => {
                            Value::String("***".into())
                        }
                        other => redact(other),
                    };
                    (crate::text::redact(&k).into_owned(), v)
                })
                .collect(),
        ),
        other => other,
    }
}

/// Turns records back into actions: holds each layer's previous decoded snapshot.
#[derive(Debug, Default)]
pub struct Decoder {
    kube: delta::DecLayer<KubeView>,
    database: delta::DecLayer<DatabaseView>,
    sentinel: delta::DecLayer<SentinelView>,
    traffic: delta::DecLayer<TrafficView>,
}

/// A decoded record.
#[derive(Debug, Clone)]
pub enum Decoded {
    /// The genesis.
    Genesis(Box<Genesis>),
    /// An action.
    Action(Action),
    /// Unrecorded actions.
    Gap(u64),
    /// A step id handed out.
    StepId(u64),
}

impl Decoder {
    /// Decode one record written at `ts`.
    pub fn decode(&mut self, ts: DateTime<Utc>, bytes: &[u8]) -> Result<Decoded, String> {
        let rec: Rec = serde_json::from_slice(bytes).map_err(|e| format!("not a record: {e}"))?;
        Ok(match rec {
            Rec::Genesis(g) => Decoded::Genesis(g),
            Rec::Gap(n) => Decoded::Gap(n),
            Rec::StepId(id) => Decoded::StepId(id),
            Rec::A(a) => Decoded::Action(self.action(a, ts)?),
        })
    }

    fn action(&mut self, a: ActionRec, ts: DateTime<Utc>) -> Result<Action, String> {
        Ok(match a {
            ActionRec::Tick => Action::Tick,
            ActionRec::Cmd(name) => Action::Command(action::command(&name)?),
            ActionRec::Text(t) => Action::Text(t.into()),
            ActionRec::Resize(w, h) => Action::Resize(w, h),
            ActionRec::HelpLimit(n) => Action::HelpLimit(n),
            ActionRec::Kube(r) => Action::Kube(self.kube.kube(r, ts)?),
            ActionRec::Db(r) => Action::Database(self.database.small(r, ts)?),
            ActionRec::Sentinel(r) => Action::Sentinel(self.sentinel.small(r, ts)?),
            ActionRec::Traffic(r) => Action::Traffic(self.traffic.small(r, ts)?),
            ActionRec::StepExecuted { step, result } => Action::StepExecuted { step, result },
            ActionRec::AccessChecked { step, answers } => Action::AccessChecked { step, answers },
            ActionRec::Logged(l) => Action::Logged(l.into()),
            ActionRec::Mirrored(e) => Action::Mirrored(e),
            ActionRec::LogFailed(s) => Action::LogFailed(s),
            ActionRec::Shutdown => Action::Shutdown,
            ActionRec::Commander(v) => Action::Commander(v.into()),
            ActionRec::SharedStore(s) => Action::SharedStore(s),
            ActionRec::Notified { target, kind, attempts, ok, status, error } => Action::Notified {
                target,
                kind,
                outcome: crate::backends::notify::Outcome { attempts, ok, status, error },
            },
        })
    }
}

/// A console's recording, decoded.
#[derive(Debug, Clone)]
pub struct Recording {
    /// What built the initial state ([`genesis_state`]).
    pub genesis: Genesis,
    /// Every recorded action with the `now` it was applied at, in order.
    pub actions: Vec<(DateTime<Utc>, Action)>,
    /// Where the recording ends early and why (a crash mid-write).
    pub torn: Option<String>,
    /// The last segment is not closed (the console is running, or it crashed).
    pub open: bool,
    /// Actions (and step ids) not recorded because the recorder fell behind, in total.
    pub dropped: u64,
    /// The step ids the incident's shared allocator handed out, in order.
    pub step_ids: Vec<u64>,
}

impl Recording {
    /// The console's initial state ([`genesis_state`]) with an allocator that hands out the
    /// recorded step ids in order, so replayed steps get the ids the console gave them.
    pub fn initial_state(&self) -> crate::app::State {
        let mut state = genesis_state(&self.genesis);
        if !self.step_ids.is_empty() {
            state.domain.step_ids = Some(std::sync::Arc::new(ReplayIds(std::sync::Mutex::new(
                self.step_ids.iter().copied().collect(),
            ))));
        }
        state
    }
}

/// Hands out recorded step ids in order (then `at_least`).
#[derive(Debug)]
struct ReplayIds(std::sync::Mutex<std::collections::VecDeque<u64>>);

impl crate::app::mirror::StepIds for ReplayIds {
    fn allocate(&self, at_least: u64) -> Result<u64, String> {
        let next = self.0.lock().map_err(|_| "replay step ids poisoned".to_string())?.pop_front();
        Ok(next.unwrap_or(at_least))
    }
}

/// Read and decode a console's recording.
pub fn read(rec: &ConsoleRecording) -> Result<Recording, RecError> {
    let raw = crate::incident::recorder::read_raw(rec)?;
    let err = |record: usize, message: String| RecError::Decode { path: rec.dir.clone(), record, message };
    let mut decoder = Decoder::default();
    let mut records = raw.records.into_iter().enumerate();
    let genesis = match records.next() {
        Some((i, (ts, bytes))) => match decoder.decode(ts, &bytes).map_err(|m| err(i, m))? {
            Decoded::Genesis(g) => *g,
            _ => return Err(err(i, "the first record is not the genesis".into())),
        },
        None => return Err(RecError::Empty { path: rec.dir.clone() }),
    };
    let mut out = Recording {
        genesis,
        actions: Vec::new(),
        torn: raw.torn,
        open: raw.open,
        dropped: 0,
        step_ids: Vec::new(),
    };
    for (i, (ts, bytes)) in records {
        match decoder.decode(ts, &bytes).map_err(|m| err(i, m))? {
            Decoded::Action(a) => out.actions.push((ts, a)),
            Decoded::Gap(n) => out.dropped += n,
            Decoded::StepId(id) => out.step_ids.push(id),
            Decoded::Genesis(_) => return Err(err(i, "a second genesis record".into())),
        }
    }
    Ok(out)
}
