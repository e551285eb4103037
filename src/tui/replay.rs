//! `warroom replay`: a recorded console shown again, in the full console drawn by the same
//! [`crate::ui::draw`] at the recorded terminal size, with a REPLAY badge in its header. Read
//! only: keys move the playhead ([`player`]); the recorded actions go through `update` with
//! their recorded `now` ([`Timeline`]), their effects dropped.

pub mod player;
pub mod screen;

use std::io;
use std::time::{Duration, Instant};

use crossterm::event::{Event, EventStream};
use futures::StreamExt;
use ratatui::Terminal;
use tokio::signal::unix::{SignalKind, signal};

use self::player::{Player, replay_keys};
use super::output::{QuietBackend, SizeSource};
use super::terminal::TerminalGuard;
use crate::app::State;
use crate::app::replay::{CHECKPOINT_ACTIONS, Timeline};
use crate::ui::UiContext;

/// How often the playhead moves while playing.
const STEP: Duration = Duration::from_millis(50);

/// The replayed state at the playhead, kept between frames: playing forward applies only the
/// actions since the last frame; a seek starts from the timeline's nearest checkpoint.
pub struct Cursor {
    applied: usize,
    state: State,
}

impl Cursor {
    /// At the start of `tl`.
    pub fn new(tl: &Timeline) -> Cursor {
        Cursor { applied: 0, state: tl.state_after(0) }
    }

    /// The state after the first `n` actions of `tl`.
    pub fn state(&mut self, tl: &Timeline, n: usize) -> &State {
        let n = n.min(tl.len());
        if n >= self.applied && n - self.applied <= CHECKPOINT_ACTIONS {
            tl.forward(&mut self.state, self.applied, n);
        } else if n != self.applied {
            self.state = tl.state_after(n);
        }
        self.applied = n;
        &self.state
    }
}

/// What a drawn frame showed: nothing to draw again while it stays the same.
#[derive(Debug, Clone, PartialEq)]
struct Shown {
    applied: usize,
    second: i64,
    size: (u16, u16),
    player: Player,
}

/// Run the replay of `tl` (recorded at `size` until its first resize) from `player`'s playhead
/// until the viewer quits, SIGTERM/SIGHUP, or the terminal goes away.
pub async fn run(
    tl: &Timeline,
    size: (u16, u16),
    ctx: &UiContext,
    mut player: Player,
) -> color_eyre::Result<()> {
    let guard = TerminalGuard::enter()?;
    let mut terminal = Terminal::new(QuietBackend::new(io::stdout(), SizeSource::Terminal))?;
    terminal.clear()?;
    let mut events = EventStream::new();
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sighup = signal(SignalKind::hangup())?;
    let mut ticks = tokio::time::interval(STEP);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut cursor = Cursor::new(tl);
    let mut shown: Option<Shown> = None;
    let mut last = Instant::now();
    while !player.quit {
        let now = Instant::now();
        player.advance(now - last, tl);
        last = now;
        let term = terminal.size()?;
        let frame = Shown {
            applied: tl.applied_at(player.at),
            second: player.at.timestamp(),
            size: (term.width, term.height),
            player: player.clone(),
        };
        if shown.as_ref() != Some(&frame) {
            let recorded_size = tl.size_at(player.at).unwrap_or(size);
            let mut state = cursor.state(tl, frame.applied).clone();
            let note = screen::fit_note(recorded_size, frame.size);
            let badge = player.badge(state.domain.incident.declared_at, note);
            let badge_text = badge.text();
            state.view.replay = Some(badge);
            let recorded = screen::recorded_frame(&state, recorded_size, ctx);
            if let Err(e) = terminal.draw(|f| screen::draw(f, &recorded, &badge_text, &player, tl, ctx)) {
                tracing::warn!("cannot draw, the terminal is gone: {e}");
                break;
            }
            shown = Some(frame);
        }
        let was_paused = player.paused;
        tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(Event::Key(k))) => {
                    for key in replay_keys(&k) {
                        player.key(key, tl);
                    }
                }
                Some(Ok(Event::Resize(..))) => shown = None,
                Some(Ok(_)) => {}
                Some(Err(_)) | None => break,
            },
            _ = ticks.tick(), if !player.paused => {}
            _ = sigterm.recv() => break,
            _ = sighup.recv() => break,
        }
        if was_paused {
            // Time spent paused is not played.
            last = Instant::now();
        }
    }
    std::mem::forget(events);
    drop(terminal);
    drop(guard);
    Ok(())
}

#[cfg(test)]
mod tests;
