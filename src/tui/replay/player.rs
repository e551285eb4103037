//! The replay's own keys and playhead. Nothing here reaches `update` as a command: a replayed
//! console is read-only; its keys move the playhead, change the speed and open the replay's
//! own overlays (help, milestone picker).

use chrono::{DateTime, Duration, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use crate::app::replay::{ReplayBadge, Timeline};

/// Playback speeds, slowest first (`+` / `-` move along them).
pub const SPEEDS: [f64; 9] = [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0];

/// What a key asks of the replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayKey {
    /// Pause or resume.
    PlayPause,
    /// Next speed up.
    Faster,
    /// Next speed down.
    Slower,
    /// Seek by this many seconds (negative: back).
    Seek(i64),
    /// The previous log entry.
    PrevEntry,
    /// The next log entry.
    NextEntry,
    /// The next milestone.
    NextMilestone,
    /// Open the milestone picker.
    Milestones,
    /// The start of the recording.
    Start,
    /// The end of the recording.
    End,
    /// Show or hide the help.
    Help,
    /// Up in the picker.
    Up,
    /// Down in the picker.
    Down,
    /// Choose the highlighted milestone.
    Choose,
    /// Close the overlay.
    Close,
    /// Leave the replay.
    Quit,
}

/// The keys, as the help lists them (the map is fixed: a replay has no keymap layer).
pub const HELP: &[(&str, &str)] = &[
    ("space", "pause / resume"),
    ("+ / -", "faster / slower (0.25x .. 64x)"),
    ("left / right", "seek back / forward 10 s"),
    ("shift-left / -right", "seek back / forward 60 s"),
    ("[ / ]", "previous / next log entry"),
    ("m", "next milestone"),
    ("M", "milestone picker (up/down, enter, esc)"),
    ("g / G", "start / end of the recording"),
    ("?", "this help"),
    ("q / ctrl-c", "quit"),
];

/// The replay key of a terminal key event, if it is one.
pub fn replay_key(ev: &KeyEvent) -> Option<ReplayKey> {
    if ev.kind == KeyEventKind::Release {
        return None;
    }
    let shift = ev.modifiers.contains(KeyModifiers::SHIFT);
    Some(match ev.code {
        KeyCode::Char('c') if ev.modifiers.contains(KeyModifiers::CONTROL) => ReplayKey::Quit,
        KeyCode::Char(' ') => ReplayKey::PlayPause,
        KeyCode::Char('+' | '=') => ReplayKey::Faster,
        KeyCode::Char('-' | '_') => ReplayKey::Slower,
        KeyCode::Left if shift => ReplayKey::Seek(-60),
        KeyCode::Right if shift => ReplayKey::Seek(60),
        KeyCode::Left => ReplayKey::Seek(-10),
        KeyCode::Right => ReplayKey::Seek(10),
        KeyCode::Char('[') => ReplayKey::PrevEntry,
        KeyCode::Char(']') => ReplayKey::NextEntry,
        KeyCode::Char('m') => ReplayKey::NextMilestone,
        KeyCode::Char('M') => ReplayKey::Milestones,
        KeyCode::Char('g') | KeyCode::Home => ReplayKey::Start,
        KeyCode::Char('G') | KeyCode::End => ReplayKey::End,
        KeyCode::Char('?') => ReplayKey::Help,
        KeyCode::Up | KeyCode::Char('k') => ReplayKey::Up,
        KeyCode::Down | KeyCode::Char('j') => ReplayKey::Down,
        KeyCode::Enter => ReplayKey::Choose,
        KeyCode::Esc => ReplayKey::Close,
        KeyCode::Char('q') => ReplayKey::Quit,
        _ => return None,
    })
}

/// The replay keys of one terminal key event: usually one; an Alt key is Esc then the key (Esc
/// and the next key read together arrive as Alt-key: over a slow link, or typed quickly).
pub fn replay_keys(ev: &KeyEvent) -> Vec<ReplayKey> {
    if ev.modifiers.contains(KeyModifiers::ALT) && ev.kind != KeyEventKind::Release {
        let key = KeyEvent { modifiers: ev.modifiers - KeyModifiers::ALT, ..*ev };
        return std::iter::once(ReplayKey::Close).chain(replay_key(&key)).collect();
    }
    replay_key(ev).into_iter().collect()
}

/// What is drawn over the replayed frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Overlay {
    /// The key list.
    Help,
    /// The milestone picker, its highlighted row.
    Milestones {
        /// Index into [`Timeline::milestones`].
        selected: usize,
    },
}

/// Where the playhead is and how it moves.
#[derive(Debug, Clone, PartialEq)]
pub struct Player {
    /// The recorded moment shown.
    pub at: DateTime<Utc>,
    /// Playback speed.
    pub speed: f64,
    /// Paused (also at the end of the recording).
    pub paused: bool,
    /// An overlay, if open.
    pub overlay: Option<Overlay>,
    /// The viewer asked to leave.
    pub quit: bool,
    /// A one-line message (nothing to jump to, say), until the next key.
    pub message: Option<String>,
}

impl Player {
    /// At `from` (clamped to the recording; its start if `None`), playing at `speed`.
    pub fn new(tl: &Timeline, from: Option<DateTime<Utc>>, speed: f64) -> Player {
        let at = clamp(tl, from.unwrap_or_else(|| tl.start()));
        Player { at, speed, paused: false, overlay: None, quit: false, message: None }
    }

    /// Let `real` time pass: the playhead moves `real x speed` unless paused; it stops (paused)
    /// at the end of the recording.
    pub fn advance(&mut self, real: std::time::Duration, tl: &Timeline) {
        if self.paused {
            return;
        }
        let recorded = Duration::microseconds((real.as_micros() as f64 * self.speed) as i64);
        self.at = clamp(tl, self.at + recorded);
        if self.at >= tl.end() {
            self.paused = true;
        }
    }

    /// Apply one replay key.
    pub fn key(&mut self, key: ReplayKey, tl: &Timeline) {
        self.message = None;
        match (&mut self.overlay, key) {
            (_, ReplayKey::Quit) => self.quit = true,
            (Some(Overlay::Help), ReplayKey::Help | ReplayKey::Close) => self.overlay = None,
            (Some(Overlay::Help), _) => {}
            (Some(Overlay::Milestones { selected }), k) => match k {
                ReplayKey::Up => *selected = selected.saturating_sub(1),
                ReplayKey::Down => *selected = (*selected + 1).min(tl.milestones().len().saturating_sub(1)),
                ReplayKey::Choose => {
                    if let Some(m) = tl.milestones().get(*selected) {
                        self.at = m.at;
                    }
                    self.overlay = None;
                }
                ReplayKey::Close | ReplayKey::Milestones => self.overlay = None,
                _ => {}
            },
            (None, k) => self.key_playing(k, tl),
        }
    }

    fn key_playing(&mut self, key: ReplayKey, tl: &Timeline) {
        let jump = |found: Option<DateTime<Utc>>, what: &str, p: &mut Player| match found {
            Some(t) => p.at = t,
            None => p.message = Some(format!("no {what}")),
        };
        match key {
            ReplayKey::PlayPause if self.paused && self.at >= tl.end() => {
                // At the end, play means "from the start".
                self.at = tl.start();
                self.paused = false;
            }
            ReplayKey::PlayPause => self.paused = !self.paused,
            ReplayKey::Faster => {
                self.speed = SPEEDS.iter().copied().find(|s| *s > self.speed).unwrap_or(self.speed)
            }
            ReplayKey::Slower => {
                self.speed = SPEEDS.iter().rev().copied().find(|s| *s < self.speed).unwrap_or(self.speed)
            }
            ReplayKey::Seek(secs) => self.at = clamp(tl, self.at + Duration::seconds(secs)),
            ReplayKey::PrevEntry => jump(tl.prev_entry(self.at).map(|m| m.at), "earlier log entry", self),
            ReplayKey::NextEntry => jump(tl.next_entry(self.at).map(|m| m.at), "later log entry", self),
            ReplayKey::NextMilestone => {
                jump(tl.next_milestone(self.at).map(|m| m.at), "later milestone", self)
            }
            ReplayKey::Milestones if tl.milestones().is_empty() => {
                self.message = Some("no milestones".into())
            }
            ReplayKey::Milestones => {
                // Highlight the first milestone after the playhead (the last one if none).
                let next = tl.milestones().iter().position(|m| m.at > self.at);
                let selected = next.unwrap_or(tl.milestones().len() - 1);
                self.overlay = Some(Overlay::Milestones { selected });
            }
            ReplayKey::Start => self.at = tl.start(),
            ReplayKey::End => self.at = tl.end(),
            ReplayKey::Help => self.overlay = Some(Overlay::Help),
            ReplayKey::Up | ReplayKey::Down | ReplayKey::Choose | ReplayKey::Close | ReplayKey::Quit => {}
        }
    }

    /// The header's badge for this playhead (`note`: how the frame fits the terminal).
    pub fn badge(&self, declared_at: DateTime<Utc>, note: Option<String>) -> ReplayBadge {
        ReplayBadge { at: self.at, declared_at, speed: self.speed, paused: self.paused, note }
    }
}

/// `t` within the recording.
fn clamp(tl: &Timeline, t: DateTime<Utc>) -> DateTime<Utc> {
    t.clamp(tl.start(), tl.end())
}
