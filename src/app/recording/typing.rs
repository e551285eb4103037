//! Typing held back until its prompt ends: a password or token pasted into a note must not
//! reach the recording one character at a time, out of the redaction's sight.
//!
//! From the first typed character (or backspace) on, every record is held, in order, until
//! the prompt is submitted or cancelled (or the console shuts down, or [`HOLD_MAX`] records
//! are held). Then the text typed is redacted as a whole: unchanged, the records go out as
//! they were; else the edits are replaced by the redacted text, one character per edit
//! record (their times kept), so a replay shows the redacted text where the secret was.

use chrono::{DateTime, Utc};

use super::Rec;
use super::action::{ActionRec, TextRec};

/// Most records held at once (~10 min of a busy estate): then released, redacted.
pub const HOLD_MAX: usize = 20_000;

/// Records held back while a prompt is being typed into.
#[derive(Debug, Default)]
pub struct Typing {
    held: Vec<(DateTime<Utc>, Rec)>,
}

fn text(rec: &Rec) -> Option<TextRec> {
    match rec {
        Rec::A(ActionRec::Text(t)) => Some(t.clone()),
        _ => None,
    }
}

impl Typing {
    /// Take one record; returns those ready to be written.
    pub fn push(&mut self, ts: DateTime<Utc>, rec: Rec) -> Vec<(DateTime<Utc>, Rec)> {
        let t = text(&rec);
        let editing = t.as_ref().is_some_and(|t| !matches!(t, TextRec::Submit | TextRec::Cancel));
        if self.held.is_empty() && !editing {
            return vec![(ts, rec)];
        }
        let ends = matches!(t, Some(TextRec::Submit | TextRec::Cancel)) || rec == Rec::A(ActionRec::Shutdown);
        self.held.push((ts, rec));
        if ends || self.held.len() >= HOLD_MAX { self.flush() } else { Vec::new() }
    }

    /// Release everything held, the typing redacted.
    pub fn flush(&mut self) -> Vec<(DateTime<Utc>, Rec)> {
        let mut held = std::mem::take(&mut self.held);
        let edits: Vec<TextRec> = held.iter().filter_map(|(_, r)| text(r)).filter(is_edit).collect();
        let typed: String = edits
            .iter()
            .filter_map(|t| match t {
                TextRec::Char(c) => Some(c.to_string()),
                TextRec::Paste(p) => Some(p.clone()),
                _ => None,
            })
            .collect();
        let (result, deleted_before) = simulate(&edits);
        let clean = |s: &str| crate::text::redact(s) == s;
        if clean(&typed) && clean(&result) {
            return held;
        }
        let mut with: Vec<TextRec> = std::iter::repeat_n(TextRec::Backspace, deleted_before)
            .chain(crate::text::redact(&result).chars().map(TextRec::Char))
            .collect();
        with.reverse();
        let last_edit = held.iter().rposition(|(_, r)| text(r).is_some_and(|t| is_edit(&t)));
        let mut out = Vec::with_capacity(held.len() + with.len());
        for (i, (ts, rec)) in held.drain(..).enumerate() {
            if !text(&rec).is_some_and(|t| is_edit(&t)) {
                out.push((ts, rec));
                continue;
            }
            let n = if Some(i) == last_edit { with.len() } else { 1.min(with.len()) };
            for _ in 0..n {
                if let Some(t) = with.pop() {
                    out.push((ts, Rec::A(ActionRec::Text(t))));
                }
            }
        }
        out
    }
}

/// An edit that adds or removes text at the end in the simulation: typed or pasted text and
/// Backspace (cursor motions and the composer's other edits stay as recorded).
fn is_edit(t: &TextRec) -> bool {
    matches!(t, TextRec::Char(_) | TextRec::Backspace | TextRec::Paste(_))
}

/// The text the edits leave, and how many backspaces went past its start (into text the
/// prompt held before: a draft).
fn simulate(edits: &[TextRec]) -> (String, usize) {
    let mut s = String::new();
    let mut before = 0;
    for t in edits {
        match t {
            TextRec::Char(c) => s.push(*c),
            TextRec::Paste(p) => s.push_str(p),
            TextRec::Backspace => before += usize::from(s.pop().is_none()),
            _ => {}
        }
    }
    (s, before)
}
