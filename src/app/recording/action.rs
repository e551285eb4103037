//! The serializable mirror of [`Action`] ([`ActionRec`]) and of the types in it that are not
//! serializable themselves (freshness, log lines, the commander view).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::app::{Action, TextEdit};
use crate::backends::Freshness;
use crate::command::Command;
use crate::incident::commander::{CommanderView, Holder};
use crate::incident::entry::{Entry, EntryKind, LogLine};
use crate::operation::access::AccessAnswer;

use super::delta::{KubeRec, LayerRec};

/// One recorded action. Snapshots are deltas against the previous one of their layer (see
/// [`super::delta`]); everything else is as it was.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ActionRec {
    /// [`Action::Tick`].
    Tick,
    /// [`Action::Command`], by keymap name (stable across builds that reorder commands).
    Cmd(String),
    /// [`Action::Text`].
    Text(TextRec),
    /// [`Action::Resize`].
    Resize(u16, u16),
    /// [`Action::HelpLimit`].
    HelpLimit(usize),
    /// [`Action::Kube`].
    Kube(KubeRec),
    /// [`Action::Database`].
    Db(LayerRec<crate::backends::model::DatabaseView>),
    /// [`Action::Sentinel`].
    Sentinel(LayerRec<crate::backends::model::SentinelView>),
    /// [`Action::Traffic`].
    Traffic(LayerRec<crate::backends::model::TrafficView>),
    /// [`Action::StepExecuted`].
    StepExecuted {
        /// Step id.
        step: u64,
        /// Summary or error.
        result: Result<String, String>,
    },
    /// [`Action::AccessChecked`].
    AccessChecked {
        /// Step id.
        step: u64,
        /// The answers.
        answers: Vec<AccessAnswer>,
    },
    /// [`Action::Logged`].
    Logged(LogLineRec),
    /// [`Action::Mirrored`].
    Mirrored(Box<Entry>),
    /// [`Action::LogFailed`].
    LogFailed(String),
    /// [`Action::Shutdown`].
    Shutdown,
    /// [`Action::Commander`].
    Commander(CommanderRec),
    /// [`Action::SharedStore`].
    SharedStore(crate::incident::shared::SharedStatus),
    /// [`Action::Notified`].
    Notified {
        /// Target name.
        target: String,
        /// Target kind.
        kind: String,
        /// Attempts made.
        attempts: u32,
        /// Whether it was sent.
        ok: bool,
        /// Last status.
        status: String,
        /// Why it failed.
        error: Option<String>,
    },
}

impl ActionRec {
    /// Whether the record is of something the incident log also makes durable at once (an
    /// entry, a step result, a key command, a shutdown): written with an fsync.
    pub fn urgent(&self) -> bool {
        !matches!(
            self,
            ActionRec::Tick
                | ActionRec::Text(_)
                | ActionRec::Kube(_)
                | ActionRec::Db(_)
                | ActionRec::Sentinel(_)
                | ActionRec::Traffic(_)
                | ActionRec::SharedStore(_)
        )
    }
}

/// [`TextEdit`], serializable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TextRec {
    /// A typed character.
    Char(char),
    /// Delete the last character.
    Backspace,
    /// Submit.
    Submit,
    /// Cancel.
    Cancel,
    /// Line break.
    Newline,
    /// Delete forward.
    Delete,
    /// Delete the word before the cursor.
    DeleteWord,
    /// Cursor motion.
    Move(crate::app::composer::Motion),
    /// Pasted text.
    Paste(String),
}

impl From<&TextEdit> for TextRec {
    fn from(t: &TextEdit) -> TextRec {
        match t {
            TextEdit::Char(c) => TextRec::Char(*c),
            TextEdit::Backspace => TextRec::Backspace,
            TextEdit::Submit => TextRec::Submit,
            TextEdit::Cancel => TextRec::Cancel,
            TextEdit::Newline => TextRec::Newline,
            TextEdit::Delete => TextRec::Delete,
            TextEdit::DeleteWord => TextRec::DeleteWord,
            TextEdit::Move(m) => TextRec::Move(*m),
            TextEdit::Paste(t) => TextRec::Paste(t.clone()),
        }
    }
}

impl From<TextRec> for TextEdit {
    fn from(t: TextRec) -> TextEdit {
        match t {
            TextRec::Char(c) => TextEdit::Char(c),
            TextRec::Backspace => TextEdit::Backspace,
            TextRec::Submit => TextEdit::Submit,
            TextRec::Cancel => TextEdit::Cancel,
            TextRec::Newline => TextEdit::Newline,
            TextRec::Delete => TextEdit::Delete,
            TextRec::DeleteWord => TextEdit::DeleteWord,
            TextRec::Move(m) => TextEdit::Move(m),
            TextRec::Paste(t) => TextEdit::Paste(t),
        }
    }
}

/// [`LogLine`], serializable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLineRec {
    /// Sequence number.
    pub seq: u64,
    /// Timestamp.
    pub at: DateTime<Utc>,
    /// Who wrote it.
    pub operator: String,
    /// Entry kind (wire name).
    pub kind: EntryKind,
    /// Summary.
    pub summary: String,
}

impl From<&LogLine> for LogLineRec {
    fn from(l: &LogLine) -> LogLineRec {
        LogLineRec {
            seq: l.seq,
            at: l.at,
            operator: l.operator.clone(),
            kind: l.kind.clone(),
            summary: l.summary.clone(),
        }
    }
}

impl From<LogLineRec> for LogLine {
    fn from(l: LogLineRec) -> LogLine {
        LogLine { seq: l.seq, at: l.at, operator: l.operator, kind: l.kind, summary: l.summary }
    }
}

/// [`Freshness`], serializable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum FreshRec {
    /// Pending.
    Pending,
    /// Fresh.
    Fresh,
    /// Stale.
    Stale {
        /// Since.
        since: DateTime<Utc>,
        /// Error.
        error: String,
    },
    /// Failed.
    Failed {
        /// Error.
        error: String,
    },
    /// Breaker open.
    BreakerOpen {
        /// Retry at.
        retry_at: DateTime<Utc>,
        /// Error.
        error: String,
    },
    /// Not configured.
    NotConfigured,
}

impl From<&Freshness> for FreshRec {
    fn from(f: &Freshness) -> FreshRec {
        match f {
            Freshness::Pending => FreshRec::Pending,
            Freshness::Fresh => FreshRec::Fresh,
            Freshness::Stale { since, error } => FreshRec::Stale { since: *since, error: error.clone() },
            Freshness::Failed { error } => FreshRec::Failed { error: error.clone() },
            Freshness::BreakerOpen { retry_at, error } => {
                FreshRec::BreakerOpen { retry_at: *retry_at, error: error.clone() }
            }
            Freshness::NotConfigured => FreshRec::NotConfigured,
        }
    }
}

impl From<FreshRec> for Freshness {
    fn from(f: FreshRec) -> Freshness {
        match f {
            FreshRec::Pending => Freshness::Pending,
            FreshRec::Fresh => Freshness::Fresh,
            FreshRec::Stale { since, error } => Freshness::Stale { since, error },
            FreshRec::Failed { error } => Freshness::Failed { error },
            FreshRec::BreakerOpen { retry_at, error } => Freshness::BreakerOpen { retry_at, error },
            FreshRec::NotConfigured => Freshness::NotConfigured,
        }
    }
}

/// [`CommanderView`], serializable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CommanderRec {
    /// Unknown.
    Unknown,
    /// Pending.
    Pending,
    /// Free.
    Free {
        /// Note.
        note: Option<String>,
    },
    /// Mine.
    Mine {
        /// Our claim.
        holder: Holder,
        /// Took over from.
        took_over_from: Option<String>,
        /// Warning.
        warning: Option<String>,
    },
    /// Theirs.
    Theirs {
        /// Their claim.
        holder: Holder,
    },
    /// Lost.
    Lost {
        /// Reason.
        reason: String,
    },
    /// Unavailable.
    Unavailable {
        /// Error.
        error: String,
    },
}

impl From<&CommanderView> for CommanderRec {
    fn from(v: &CommanderView) -> CommanderRec {
        match v.clone() {
            CommanderView::Unknown => CommanderRec::Unknown,
            CommanderView::Pending => CommanderRec::Pending,
            CommanderView::Free { note } => CommanderRec::Free { note },
            CommanderView::Mine { holder, took_over_from, warning } => {
                CommanderRec::Mine { holder, took_over_from, warning }
            }
            CommanderView::Theirs { holder } => CommanderRec::Theirs { holder },
            CommanderView::Lost { reason } => CommanderRec::Lost { reason },
            CommanderView::Unavailable { error } => CommanderRec::Unavailable { error },
        }
    }
}

impl From<CommanderRec> for CommanderView {
    fn from(v: CommanderRec) -> CommanderView {
        match v {
            CommanderRec::Unknown => CommanderView::Unknown,
            CommanderRec::Pending => CommanderView::Pending,
            CommanderRec::Free { note } => CommanderView::Free { note },
            CommanderRec::Mine { holder, took_over_from, warning } => {
                CommanderView::Mine { holder, took_over_from, warning }
            }
            CommanderRec::Theirs { holder } => CommanderView::Theirs { holder },
            CommanderRec::Lost { reason } => CommanderView::Lost { reason },
            CommanderRec::Unavailable { error } => CommanderView::Unavailable { error },
        }
    }
}

/// A command by keymap name; an unknown name (recorded by another build) is an error.
pub(super) fn command(name: &str) -> Result<Command, String> {
    Command::from_name(name).ok_or_else(|| format!("unknown command {name:?}"))
}

/// The non-snapshot part of an action (snapshots are encoded by [`super::delta`]).
pub(super) fn plain(action: &Action) -> Option<ActionRec> {
    Some(match action {
        Action::Tick => ActionRec::Tick,
        Action::Command(c) => ActionRec::Cmd(c.name().to_string()),
        Action::Text(t) => ActionRec::Text(t.into()),
        Action::Resize(w, h) => ActionRec::Resize(*w, *h),
        Action::HelpLimit(n) => ActionRec::HelpLimit(*n),
        Action::StepExecuted { step, result } => {
            ActionRec::StepExecuted { step: *step, result: result.clone() }
        }
        Action::AccessChecked { step, answers } => {
            ActionRec::AccessChecked { step: *step, answers: answers.clone() }
        }
        Action::Logged(l) => ActionRec::Logged(l.into()),
        Action::Mirrored(e) => ActionRec::Mirrored(e.clone()),
        Action::LogFailed(s) => ActionRec::LogFailed(s.clone()),
        Action::Shutdown => ActionRec::Shutdown,
        Action::Commander(v) => ActionRec::Commander(v.into()),
        Action::Notified { target, kind, outcome } => ActionRec::Notified {
            target: target.clone(),
            kind: kind.clone(),
            attempts: outcome.attempts,
            ok: outcome.ok,
            status: outcome.status.clone(),
            error: outcome.error.clone(),
        },
        Action::Kube(_) | Action::Database(_) | Action::Sentinel(_) | Action::Traffic(_) => return None,
        Action::SharedStore(s) => ActionRec::SharedStore(s.clone()),
    })
}
