//! The REPLAY badge the header shows on a replayed console.

use chrono::{DateTime, Utc};

/// What a replayed console's header says about the replay: where the playhead is (recorded
/// wall time and incident clock), how fast it plays, and how the frame fits the terminal.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayBadge {
    /// The recorded wall time at the playhead.
    pub at: DateTime<Utc>,
    /// The incident's T+0 (its declaration).
    pub declared_at: DateTime<Utc>,
    /// Playback speed (1.0: as recorded).
    pub speed: f64,
    /// Playback is paused.
    pub paused: bool,
    /// How the recorded frame fits this terminal, when it does not exactly (clipped, padded).
    pub note: Option<String>,
}

impl ReplayBadge {
    /// `REPLAY 03:12:40Z T+12:34 4x` (or `PAUSED` for the speed), then the note.
    pub fn text(&self) -> String {
        let s = (self.at - self.declared_at).num_seconds().max(0);
        let clock = match s >= 3600 {
            true => format!("T+{}h{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60),
            false => format!("T+{:02}:{:02}", s / 60, s % 60),
        };
        let pace = match self.paused {
            true => "PAUSED".to_string(),
            false => speed_text(self.speed),
        };
        let mut text = format!("REPLAY {}Z {clock} {pace}", self.at.format("%H:%M:%S"));
        if let Some(note) = &self.note {
            text.push_str(" · ");
            text.push_str(note);
        }
        text
    }
}

/// `0.25x`, `0.5x`, `1x`, `64x`.
pub fn speed_text(speed: f64) -> String {
    format!("{}x", (speed * 100.0).round() / 100.0)
}
