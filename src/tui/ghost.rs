//! `warroom replay ID --as-trainee`: the recorded console replays until the next decision point
//! ([`crate::app::ghost`]); there the trainee drives a fork of the replayed state with the
//! normal keymap (the keys go through [`super::keys`] and the core; effects are dropped), the
//! first step confirmed is the choice, the difference is shown, and the replay goes on.

mod banner;

use std::io;
use std::time::{Duration, Instant};

use crossterm::event::{Event, EventStream, KeyCode, KeyEvent, KeyModifiers};
use futures::StreamExt;
use ratatui::Terminal;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use tokio::signal::unix::{SignalKind, signal};

use super::keys::{ChordBuffer, key_to_action};
use super::output::{QuietBackend, SizeSource};
use super::replay::Cursor;
use super::terminal::TerminalGuard;
use crate::app::State;
use crate::app::ghost::{DecisionLine, Ghost, Turn};
use crate::app::replay::Timeline;
use crate::ui::UiContext;

/// How often the playhead moves while playing.
const STEP: Duration = Duration::from_millis(50);

/// Where the session is.
enum Phase {
    /// Replaying from `from` (actions applied) at wall-clock `since`.
    Playing { from: usize, since: Instant },
    /// The trainee chooses on the fork.
    Choosing,
    /// A choice was made: its line, shown over the original's state after its confirmation.
    Decided(DecisionLine),
}

/// Where the replay stops next: the next decision point, or the recording's end.
fn stop_at(ghost: &Ghost, tl: &Timeline) -> usize {
    ghost.next_point().map_or(tl.len(), |p| p.applied)
}

/// Run the session until the recording ends or the trainee quits. The decisions are in `ghost`.
pub async fn run(tl: &Timeline, ctx: &UiContext, ghost: &mut Ghost, speed: f64) -> color_eyre::Result<()> {
    let guard = TerminalGuard::enter()?;
    let mut terminal = Terminal::new(QuietBackend::new(io::stdout(), SizeSource::Terminal))?;
    terminal.clear()?;
    let mut events = EventStream::new();
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sighup = signal(SignalKind::hangup())?;
    let mut ticks = tokio::time::interval(STEP);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut cursor = Cursor::new(tl);
    let mut keys = Keys { keymap: &ctx.keymap, chord: ChordBuffer::default() };
    let mut phase = Phase::Playing { from: 0, since: Instant::now() };
    let mut applied = 0;
    let total = ghost.points().len();
    loop {
        if let Phase::Playing { from, since } = &phase {
            let start = tl.actions().get(*from).map_or(tl.end(), |(t, _)| *t);
            let played =
                chrono::Duration::milliseconds((since.elapsed().as_secs_f64() * speed * 1000.0) as i64);
            applied = tl.applied_at(start + played).max(*from).min(stop_at(ghost, tl));
            if applied == stop_at(ghost, tl) && ghost.stop(tl).is_some() {
                phase = Phase::Choosing;
            }
        }
        let k = ghost.decisions().len() + 1;
        let (state, lines): (State, Vec<String>) = match &phase {
            Phase::Playing { .. } => {
                (cursor.state(tl, applied).clone(), banner::playing(ghost.next_point().map(|_| k), total))
            }
            Phase::Choosing => {
                (ghost.fork().cloned().unwrap_or_else(|| tl.state_after(applied)), banner::choosing(k, total))
            }
            Phase::Decided(line) => {
                let p = &ghost.points()[k - 2];
                (cursor.state(tl, p.confirmed_by + 1).clone(), banner::decided(line, p))
            }
        };
        if let Err(e) = terminal.draw(|f| {
            crate::ui::draw(f, &state, ctx);
            draw_box(f, &lines);
        }) {
            tracing::warn!("cannot draw, the terminal is gone: {e}");
            break;
        }
        let key = tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(Event::Key(k))) => Some(k),
                Some(Ok(_)) => None,
                Some(Err(_)) | None => break,
            },
            _ = ticks.tick(), if matches!(phase, Phase::Playing { .. }) => None,
            _ = sigterm.recv() => break,
            _ = sighup.recv() => break,
        };
        let Some(key) = key else { continue };
        match on_key(&phase, key, ghost, tl, &mut keys) {
            Flow::Stay => {}
            Flow::Go(next) => phase = next,
            Flow::End => break,
        }
    }
    std::mem::forget(events);
    drop(terminal);
    drop(guard);
    Ok(())
}

/// What a key does to the session.
enum Flow {
    /// Nothing changes phase.
    Stay,
    /// Into another phase.
    Go(Phase),
    /// The session ends.
    End,
}

/// Handle one key in `phase`.
fn on_key(phase: &Phase, key: KeyEvent, ghost: &mut Ghost, tl: &Timeline, keys: &mut Keys<'_>) -> Flow {
    let ctrl_c = key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL);
    match phase {
        Phase::Playing { .. } => match key.code {
            _ if ctrl_c => Flow::End,
            KeyCode::Enter if ghost.next_point().is_some() => match ghost.stop(tl) {
                Some(_) => Flow::Go(Phase::Choosing),
                None => Flow::Stay,
            },
            KeyCode::Enter | KeyCode::Char('q') if ghost.next_point().is_none() => Flow::End,
            _ => Flow::Stay,
        },
        Phase::Choosing => {
            if key.code == KeyCode::F(9) {
                return ghost.pass().map_or(Flow::End, |line| Flow::Go(Phase::Decided(line)));
            }
            let Some(fork) = ghost.fork() else { return Flow::End };
            match key_to_action(&key, fork, keys.keymap, &mut keys.chord).map(|a| ghost.apply(a)) {
                Some(Turn::Decided(line)) => Flow::Go(Phase::Decided(line)),
                Some(Turn::Quit) => Flow::End,
                Some(Turn::Choosing) | None => Flow::Stay,
            }
        }
        Phase::Decided(_) => match key.code {
            _ if ctrl_c => Flow::End,
            KeyCode::Enter => {
                let from = ghost.points()[ghost.decisions().len() - 1].confirmed_by + 1;
                Flow::Go(Phase::Playing { from, since: Instant::now() })
            }
            _ => Flow::Stay,
        },
    }
}

/// The trainee's keymap and pending chord.
struct Keys<'a> {
    keymap: &'a crate::config::Keymap,
    chord: ChordBuffer,
}

/// The ghost-mode box over the bottom of the console.
fn draw_box(f: &mut ratatui::Frame, lines: &[String]) {
    let area = f.area();
    let h = (lines.len() as u16 + 2).min(area.height);
    let rect = Rect { x: area.x, y: area.y + area.height - h, width: area.width, height: h };
    let text: Vec<Line> = lines.iter().map(|l| Line::from(l.as_str())).collect();
    f.render_widget(Clear, rect);
    f.render_widget(
        Paragraph::new(text)
            .wrap(Wrap { trim: true })
            .block(Block::default().borders(Borders::ALL).title(" ghost ")),
        rect,
    );
}

#[cfg(test)]
mod tests;
