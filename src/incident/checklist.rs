//! The timed communication checklist (from the failover plan's communication plan).
//!
//! The checklist is data: `checklists/communication.toml` is embedded in the binary
//! ([`Checklist::communication`]) and a user file of the same shape replaces it
//! ([`Checklist::from_toml`], [`Checklist::load`]). All timing is pure: the incident's T+0 and
//! `now` are passed in, so due times, overdue crossings (the bell) and the recurring status
//! update are testable without a clock.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use toml::Spanned;

use super::entry::{Entry, EntryKind};

pub mod auto;

/// The built-in communication checklist (TOML, see the file's comments for the shape).
pub const COMMUNICATION_TOML: &str = include_str!("../../checklists/communication.toml");

/// Item ticked automatically by the incident's `declared` log entry.
pub const DECLARED_ITEM: &str = "start-incident-log";

/// One-off item ticked (if not done yet) by the first `status-update` log entry.
pub const FIRST_STATUS_UPDATE_ITEM: &str = "post-status-update";

/// When an item is due, relative to the incident's T+0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Due {
    /// Due by T+offset.
    By(Duration),
    /// Recurring every `every`, first due at T+`first`, then `every` after the last tick.
    Every {
        /// First due time.
        first: Duration,
        /// Interval.
        every: Duration,
    },
    /// No due time (after-failover items).
    Unscheduled,
}

/// One checklist item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChecklistItem {
    /// Stable id, e.g. `alert-oncall`.
    pub id: String,
    /// Phase title, e.g. `Immediate (0-5 min)`.
    pub phase: String,
    /// What to do.
    pub text: String,
    /// When it is due.
    pub due: Due,
    /// When it was last ticked, with the note.
    pub done: Option<(DateTime<Utc>, Option<String>)>,
}

/// Where an item stands at a given moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemStatus {
    /// A one-off item that was ticked at `at`.
    Done {
        /// When it was ticked.
        at: DateTime<Utc>,
    },
    /// Due in this many seconds (0 means "due within the second").
    DueIn(i64),
    /// Overdue by this many seconds (0 at the exact due time).
    Overdue(i64),
    /// Not done and without a due time.
    Unscheduled,
}

impl ChecklistItem {
    /// Whether the item recurs (the status update every 15 min).
    pub fn is_recurring(&self) -> bool {
        matches!(self.due, Due::Every { .. })
    }

    /// Where the item stands at `now` for an incident declared at `t0`. A recurring item is
    /// never done: it is always due again `every` after its last tick.
    pub fn status(&self, t0: DateTime<Utc>, now: DateTime<Utc>) -> ItemStatus {
        match Checklist::due_at(self, t0) {
            Some(due) if now >= due => ItemStatus::Overdue((now - due).num_seconds()),
            Some(due) => ItemStatus::DueIn((due - now).num_seconds()),
            None => match &self.done {
                Some((at, _)) => ItemStatus::Done { at: *at },
                None => ItemStatus::Unscheduled,
            },
        }
    }
}

/// The checklist of one incident.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Checklist {
    /// Items in display order.
    pub items: Vec<ChecklistItem>,
}

/// A checklist file that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ChecklistError {
    /// The file could not be read.
    #[error("{}: cannot read checklist: {error}", file.display())]
    Io {
        /// The file.
        file: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// The file is not a valid checklist; `line` and `column` are 1-based.
    #[error("{}:{line}:{column}: {message}", file.display())]
    Invalid {
        /// The file.
        file: PathBuf,
        /// Line of the offending text.
        line: usize,
        /// Column (in characters) of the offending text.
        column: usize,
        /// What is wrong and what was expected.
        message: String,
    },
}

impl Checklist {
    /// When an item is (next) due, given the incident's T+0.
    pub fn due_at(item: &ChecklistItem, t0: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match &item.due {
            Due::By(d) if item.done.is_none() => Some(t0 + *d),
            Due::By(_) | Due::Unscheduled => None,
            Due::Every { first, every } => Some(match &item.done {
                Some((at, _)) => *at + *every,
                None => t0 + *first,
            }),
        }
    }

    /// The built-in communication checklist (`checklists/communication.toml`).
    pub fn communication() -> Checklist {
        // The embedded file is checked by a test; failing here is a build defect, not bad input.
        Checklist::from_toml(COMMUNICATION_TOML, Path::new("<built-in>/communication.toml"))
            .expect("the embedded communication checklist is valid")
    }

    /// Read and parse a user checklist file.
    pub fn load(file: &Path) -> Result<Checklist, ChecklistError> {
        let text = std::fs::read_to_string(file)
            .map_err(|error| ChecklistError::Io { file: file.to_path_buf(), error })?;
        Checklist::from_toml(&text, file)
    }

    /// Parse a checklist from TOML; `file` is only used in error messages
    /// (`file:line:column: message (expected ...)`).
    pub fn from_toml(text: &str, file: &Path) -> Result<Checklist, ChecklistError> {
        let invalid = |offset: usize, message: String| {
            let (line, column) = line_column(text, offset);
            ChecklistError::Invalid { file: file.to_path_buf(), line, column, message }
        };
        let def: FileDef = toml::from_str(text).map_err(|e| {
            invalid(e.span().map_or(0, |s| s.start), e.message().trim_end().replace('\n', "; "))
        })?;
        if def.phase.is_empty() {
            return Err(invalid(0, "no phases (expected at least one [[phase]] table)".into()));
        }
        let mut items: Vec<ChecklistItem> = Vec::new();
        for phase in &def.phase {
            let title = phase.title.get_ref().trim();
            if title.is_empty() {
                return Err(invalid(phase.title.span().start, "empty phase title (expected text)".into()));
            }
            if phase.item.is_empty() {
                return Err(invalid(
                    phase.title.span().start,
                    format!("phase \"{title}\" has no items (expected at least one [[phase.item]])"),
                ));
            }
            let phase_due = phase.due.as_ref().map(|d| parse_duration(d, &invalid)).transpose()?;
            for item in &phase.item {
                let id = item.id.get_ref();
                if !is_kebab_id(id) {
                    return Err(invalid(
                        item.id.span().start,
                        format!("bad item id \"{id}\" (expected lowercase kebab-case like \"alert-oncall\")"),
                    ));
                }
                if items.iter().any(|i| i.id == *id) {
                    return Err(invalid(
                        item.id.span().start,
                        format!("duplicate item id \"{id}\" (expected ids to be unique)"),
                    ));
                }
                if item.text.get_ref().trim().is_empty() {
                    return Err(invalid(item.text.span().start, "empty item text (expected text)".into()));
                }
                let due = item.due.as_ref().map(|d| parse_duration(d, &invalid)).transpose()?.or(phase_due);
                let due = match &item.every {
                    Some(every_text) => {
                        let every = parse_duration(every_text, &invalid)?;
                        if every <= Duration::zero() {
                            return Err(invalid(
                                every_text.span().start,
                                "`every` must be positive (expected a duration like \"15m\")".into(),
                            ));
                        }
                        Due::Every { first: due.unwrap_or(every), every }
                    }
                    None => due.map_or(Due::Unscheduled, Due::By),
                };
                items.push(ChecklistItem {
                    id: id.clone(),
                    phase: title.to_string(),
                    text: item.text.get_ref().trim().to_string(),
                    due,
                    done: None,
                });
            }
        }
        Ok(Checklist { items })
    }

    /// Item by id.
    pub fn item(&self, id: &str) -> Option<&ChecklistItem> {
        self.items.iter().find(|i| i.id == id)
    }

    /// Where item `id` stands at `now` (`None` for an unknown id).
    pub fn status(&self, id: &str, t0: DateTime<Utc>, now: DateTime<Utc>) -> Option<ItemStatus> {
        self.item(id).map(|i| i.status(t0, now))
    }

    /// Ids of the items overdue at `now`, in display order.
    pub fn overdue(&self, t0: DateTime<Utc>, now: DateTime<Utc>) -> Vec<&str> {
        self.items
            .iter()
            .filter(|i| matches!(i.status(t0, now), ItemStatus::Overdue(_)))
            .map(|i| i.id.as_str())
            .collect()
    }

    /// Tick item `id` at `at` with an optional note. For a recurring item this records one
    /// posting: the next due time becomes `at + every` (a tick older than the last one is
    /// ignored). A one-off item can be ticked once.
    pub fn tick(&mut self, id: &str, at: DateTime<Utc>, note: Option<String>) -> Result<(), String> {
        let item = self
            .items
            .iter_mut()
            .find(|i| i.id == id)
            .ok_or_else(|| format!("unknown checklist item \"{id}\""))?;
        match (&item.due, &item.done) {
            (Due::Every { .. }, Some((last, _))) if at < *last => Ok(()),
            (Due::Every { .. }, _) | (_, None) => {
                item.done = Some((at, note));
                Ok(())
            }
            (_, Some((when, _))) => {
                Err(format!("\"{id}\" was already ticked at {} UTC", when.format("%H:%M:%S")))
            }
        }
    }

    /// Untick one-off item `id` (ticked by hand or by an event): it is open and due again. A
    /// recurring item cannot be unticked (each tick is a posting); neither can an open item.
    pub fn untick(&mut self, id: &str) -> Result<(), String> {
        let item = self
            .items
            .iter_mut()
            .find(|i| i.id == id)
            .ok_or_else(|| format!("unknown checklist item \"{id}\""))?;
        if item.is_recurring() {
            return Err(format!("\"{id}\" recurs: each tick is a posting and stays recorded"));
        }
        match item.done.take() {
            Some(_) => Ok(()),
            None => Err(format!("\"{id}\" is not ticked")),
        }
    }

    /// A status update was posted at `at`: ticks [`FIRST_STATUS_UPDATE_ITEM`] if it is not done
    /// yet and records the posting on every recurring item.
    pub fn record_status_update(&mut self, at: DateTime<Utc>) {
        for item in &mut self.items {
            let first = item.id == FIRST_STATUS_UPDATE_ITEM && item.done.is_none();
            let recurring_newer = match (&item.due, &item.done) {
                (Due::Every { .. }, Some((last, _))) => at >= *last,
                (Due::Every { .. }, None) => true,
                _ => false,
            };
            if first || recurring_newer {
                item.done = Some((at, None));
            }
        }
    }

    /// Ids of the items whose due time falls in `(prev_now, now]`: they became overdue between
    /// two ticks. The caller rings the bell once per returned id; a later tick with
    /// `prev_now` = this `now` does not return them again.
    pub fn newly_overdue(
        &self,
        t0: DateTime<Utc>,
        prev_now: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Vec<String> {
        self.items
            .iter()
            .filter(|i| Checklist::due_at(i, t0).is_some_and(|due| prev_now < due && due <= now))
            .map(|i| i.id.clone())
            .collect()
    }

    /// Restore ticks from the entries of a resumed incident log (in log order): `declared`
    /// ticks [`DECLARED_ITEM`], `checklist` entries (details `{"item": id, "note": ...}`) tick
    /// their item and those with `"undone": true` untick it (an open item stays open: two
    /// consoles may both have unticked it), `status-update` entries record a posting ([`Checklist::record_status_update`]).
    /// Returns one warning per entry that could not be applied (unknown item, missing id).
    pub fn apply_entries(&mut self, entries: &[Entry]) -> Vec<String> {
        let mut warnings = Vec::new();
        for entry in entries {
            match entry.kind {
                EntryKind::Declared if self.item(DECLARED_ITEM).is_some_and(|i| i.done.is_none()) => {
                    let _ = self.tick(DECLARED_ITEM, entry.ts, None);
                }
                EntryKind::Checklist => {
                    let Some(id) = entry.details.get("item").and_then(|v| v.as_str()) else {
                        warnings.push(format!("log entry {}: checklist entry without an item id", entry.seq));
                        continue;
                    };
                    if entry.details.get("undone").and_then(|v| v.as_bool()) == Some(true) {
                        let open = self.item(id).is_some_and(|i| i.done.is_none() && !i.is_recurring());
                        if !open && let Err(e) = self.untick(id) {
                            warnings.push(format!("log entry {}: {e}", entry.seq));
                        }
                        continue;
                    }
                    let by = entry.details.get("by").and_then(|b| {
                        let kind: EntryKind = serde_json::from_value(b.get("kind")?.clone()).ok()?;
                        Some(auto::by_note(&kind, b.get("seq")?.as_u64()?))
                    });
                    let note = entry.details.get("note").and_then(|v| v.as_str()).map(str::to_string).or(by);
                    let already = self.item(id).is_some_and(|i| !i.is_recurring() && i.done.is_some());
                    if !already && let Err(e) = self.tick(id, entry.ts, note) {
                        warnings.push(format!("log entry {}: {e}", entry.seq));
                    }
                }
                EntryKind::StatusUpdate => self.record_status_update(entry.ts),
                _ => {}
            }
        }
        warnings
    }
}

/// `[[phase]]` tables.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDef {
    #[serde(default)]
    phase: Vec<PhaseDef>,
}

/// One `[[phase]]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PhaseDef {
    title: Spanned<String>,
    due: Option<Spanned<String>>,
    #[serde(default)]
    item: Vec<ItemDef>,
}

/// One `[[phase.item]]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ItemDef {
    id: Spanned<String>,
    text: Spanned<String>,
    due: Option<Spanned<String>>,
    every: Option<Spanned<String>>,
}

/// Parse a humantime duration (`"5m"`, `"1h30m"`), reporting errors at the value.
fn parse_duration(
    value: &Spanned<String>,
    invalid: &impl Fn(usize, String) -> ChecklistError,
) -> Result<Duration, ChecklistError> {
    let text = value.get_ref();
    let bad = |why: String| {
        invalid(
            value.span().start,
            format!("bad duration \"{text}\": {why} (expected a duration like \"30s\", \"5m\" or \"1h30m\")"),
        )
    };
    let std = humantime::parse_duration(text.trim()).map_err(|e| bad(e.to_string()))?;
    Duration::from_std(std).map_err(|_| bad("too long".into()))
}

/// Lowercase ASCII letters, digits and single inner dashes.
fn is_kebab_id(id: &str) -> bool {
    !id.is_empty()
        && !id.starts_with('-')
        && !id.ends_with('-')
        && !id.contains("--")
        && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// 1-based line and character column of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests;
