//! The effect runner: carries out what `app::update` asks, in order, off the UI path.
//!
//! Log intents are appended (and fsynced) on a blocking thread, one at a time, in the order the
//! core emitted them; an `Execute` is dispatched only after every log entry emitted before it
//! is durable (the log holds the intent before the action happens). Results come back on the
//! action channel it was started with (the driver's) as [`Action`]s.

use crate::backends::notify::Retry;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use tokio::sync::mpsc;

use crate::app::{Action, Effect};
use crate::backends::Operate;
use crate::incident::entry::LogIntent;
use crate::incident::entry::LogLine;
use crate::operation::access::{AccessAnswer, AccessRequest};

/// Where log intents go. Implementations must make the entry durable before returning.
pub trait LogSink: Send + Sync + 'static {
    /// Append one entry; returns the line to show.
    fn append(&self, intent: &LogIntent) -> Result<LogLine, String>;
}

/// A log kept in memory only (tests, `--status` snapshots). Not durable.
#[derive(Debug, Default)]
pub struct MemoryLog {
    lines: Mutex<Vec<(LogIntent, LogLine)>>,
    operator: String,
}

impl MemoryLog {
    /// An empty in-memory log.
    pub fn new(operator: &str) -> MemoryLog {
        MemoryLog { lines: Mutex::new(Vec::new()), operator: operator.to_string() }
    }

    /// Everything appended so far.
    pub fn entries(&self) -> Vec<(LogIntent, LogLine)> {
        self.lines.lock().expect("memory log").clone()
    }
}

impl LogSink for MemoryLog {
    fn append(&self, intent: &LogIntent) -> Result<LogLine, String> {
        let mut lines = self.lines.lock().map_err(|e| e.to_string())?;
        let line = LogLine {
            seq: lines.len() as u64 + 1,
            at: Utc::now(),
            operator: self.operator.clone(),
            kind: intent.kind.clone(),
            summary: intent.summary.clone(),
        };
        lines.push((intent.clone(), line.clone()));
        Ok(line)
    }
}

/// How long a step's access questions may take, all together: never frozen waiting.
const ACCESS_LIMIT: Duration = Duration::from_secs(10);

/// Every request answered "could not be checked" with `why`.
fn unknown(requests: &[AccessRequest], why: &str) -> Vec<AccessAnswer> {
    vec![AccessAnswer::Unknown { error: why.to_string() }; requests.len()]
}

/// What the runner task receives: effects in order, or a flush request.
enum Job {
    Effect(Effect),
    Flush(tokio::sync::oneshot::Sender<()>),
}

/// Handle to the runner task.
#[derive(Clone)]
pub struct Runner {
    tx: mpsc::UnboundedSender<Job>,
}

impl Runner {
    /// Start the runner. `read_only` consoles refuse every `Execute` here too (defence in depth).
    pub fn start(
        operator: Arc<dyn Operate>,
        log: Arc<dyn LogSink>,
        read_only: bool,
        actions: mpsc::UnboundedSender<Action>,
    ) -> Runner {
        let (tx, mut rx) = mpsc::unbounded_channel::<Job>();
        tokio::spawn(async move {
            while let Some(job) = rx.recv().await {
                let effect = match job {
                    Job::Effect(e) => e,
                    Job::Flush(done) => {
                        let _ = done.send(());
                        continue;
                    }
                };
                match effect {
                    Effect::Log(intent) => {
                        let log = log.clone();
                        let result = tokio::task::spawn_blocking(move || log.append(&intent))
                            .await
                            .unwrap_or_else(|e| Err(format!("log writer crashed: {e}")));
                        let _ = actions.send(match result {
                            Ok(line) => Action::Logged(line),
                            Err(e) => Action::LogFailed(e),
                        });
                    }
                    Effect::Execute { step, op, timeout_secs } => {
                        if read_only {
                            let _ = actions.send(Action::StepExecuted {
                                step,
                                result: Err("refused: this console is read-only".into()),
                            });
                            continue;
                        }
                        let operator = operator.clone();
                        let actions = actions.clone();
                        tokio::spawn(async move {
                            let limit = Duration::from_secs(timeout_secs);
                            let result = match tokio::time::timeout(limit, operator.execute(&op)).await {
                                Ok(r) => r,
                                Err(_) => Err(format!(
                                    "timed out after {timeout_secs} s: outcome unknown, verify before continuing"
                                )),
                            };
                            let _ = actions.send(Action::StepExecuted { step, result });
                        });
                    }
                    Effect::CheckAccess { step, requests } => {
                        let operator = operator.clone();
                        let actions = actions.clone();
                        tokio::spawn(async move {
                            let answers =
                                match tokio::time::timeout(ACCESS_LIMIT, operator.check_access(&requests))
                                    .await
                                {
                                    Ok(a) if a.len() == requests.len() => a,
                                    Ok(_) => {
                                        unknown(&requests, "the backend gave the wrong number of answers")
                                    }
                                    Err(_) => unknown(&requests, "no answer within 10 s"),
                                };
                            let _ = actions.send(Action::AccessChecked { step, answers });
                        });
                    }
                    Effect::Notify { targets, message } => {
                        if read_only {
                            continue;
                        }
                        for t in targets {
                            let (actions, message) = (actions.clone(), message.clone());
                            tokio::spawn(async move {
                                let env = |var: &str| std::env::var(var).ok();
                                let outcome =
                                    crate::backends::notify::send(&t, &message, Retry::default(), &env).await;
                                let _ =
                                    actions.send(Action::Notified { target: t.name, kind: t.kind, outcome });
                            });
                        }
                    }
                    Effect::Drill(c) => {
                        if let Err(e) = operator.control(&c) {
                            let _ = actions.send(Action::LogFailed(format!("drill control: {e}")));
                        }
                    }
                    // Not the runner's: the driver hands these to the output or the lock task.
                    Effect::Bell | Effect::Copy(_) | Effect::Quit | Effect::Commander(_) => {}
                }
            }
        });
        Runner { tx }
    }

    /// Queue effects, in order.
    pub fn dispatch(&self, effects: impl IntoIterator<Item = Effect>) {
        for e in effects {
            let _ = self.tx.send(Job::Effect(e));
        }
    }

    /// Wait until every effect queued before this call has been handled (log entries written
    /// and fsynced; executions dispatched), or `limit` passed. Returns whether it completed.
    pub async fn flush(&self, limit: Duration) -> bool {
        let (done, wait) = tokio::sync::oneshot::channel();
        if self.tx.send(Job::Flush(done)).is_err() {
            return false;
        }
        matches!(tokio::time::timeout(limit, wait).await, Ok(Ok(())))
    }
}
