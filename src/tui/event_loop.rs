//! The event loop: keys, a tick, source pings and effect results become actions; the state is
//! drawn only when something visible may have changed, after draining everything queued.

use std::io::{self, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::{Event, EventStream};
use futures::{FutureExt, StreamExt};
use ratatui::Terminal;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{mpsc, watch};

use super::keys::{ChordBuffer, key_to_action};
use super::output::{QuietBackend, SizeSource};
use super::terminal::TerminalGuard;
use crate::app::{Action, Effect, State, update};
use crate::backends::Operate;
use crate::backends::Sources;
use crate::incident::commander::{CommanderView, LockRequest};
use crate::incident::log::LogFollower;
use crate::runner::{LogSink, Runner};
use crate::ui::{self, UiContext};

/// The console's link to its commander lock task (see [`crate::incident::commander::spawn`]).
pub struct CommanderLink {
    /// The lock as the task sees it.
    pub view: watch::Receiver<CommanderView>,
    /// Take / release requests.
    pub requests: mpsc::Sender<LockRequest>,
}

/// Everything the loop needs.
pub struct Console {
    /// Initial state.
    pub state: State,
    /// Theme and keymap.
    pub ctx: UiContext,
    /// Live sources.
    pub sources: Sources,
    /// Executes confirmed operations.
    pub operator: Arc<dyn Operate>,
    /// The incident log.
    pub log: Arc<dyn LogSink>,
    /// Effects to run at start (e.g. the `declared` entry).
    pub initial_effects: Vec<Effect>,
    /// Reads entries other consoles append to the same incident.
    pub follower: Option<LogFollower>,
    /// The commander lock task, if this console uses one.
    pub commander: Option<CommanderLink>,
}

/// Minimum time between two frames.
const FRAME_BUDGET: Duration = Duration::from_millis(16);

/// Run the console until quit, SIGTERM/SIGHUP or the terminal goes away. Returns the final state.
pub async fn run(console: Console) -> color_eyre::Result<State> {
    let Console { mut state, ctx, mut sources, operator, log, initial_effects, follower, commander } =
        console;
    let (action_tx, mut action_rx) = mpsc::unbounded_channel::<Action>();
    if let Some(follower) = follower {
        spawn_follower(follower, action_tx.clone());
    }
    let lock_requests = commander.map(|c| {
        forward_commander(c.view, action_tx.clone());
        c.requests
    });
    // Start from whatever the sources hold now (a layer that is not configured never changes).
    state.domain.observed.kube = sources.kube.borrow_and_update().clone();
    state.domain.observed.database = sources.database.borrow_and_update().clone();
    state.domain.observed.sentinel = sources.sentinel.borrow_and_update().clone();
    state.domain.observed.traffic = sources.traffic.borrow_and_update().clone();
    let runner = Runner::start(operator, log, state.domain.read_only, action_tx.clone());
    runner.dispatch(initial_effects);

    let guard = TerminalGuard::enter()?;
    let mut terminal = Terminal::new(QuietBackend::new(io::stdout(), SizeSource::Terminal))?;
    terminal.clear()?;
    let mut events = EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sighup = signal(SignalKind::hangup())?;
    let mut chord = ChordBuffer::default();

    let mut dirty = true;
    let mut drawn_second = -1;
    let mut last_draw = Instant::now() - FRAME_BUDGET;
    loop {
        if dirty || state.domain.now.timestamp() != drawn_second {
            let wait = FRAME_BUDGET.saturating_sub(last_draw.elapsed());
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            if let Err(e) = terminal.draw(|f| ui::draw(f, &state, &ctx)) {
                // EIO: the terminal is gone (SSH dropped, tmux killed). Leave through the normal
                // path so queued log entries are still written.
                tracing::warn!("cannot draw, the terminal is gone: {e}");
                break;
            }
            last_draw = Instant::now();
            drawn_second = state.domain.now.timestamp();
            dirty = false;
        }
        // Wait for the next input of any kind.
        let first: Option<Action> = tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(ev)) => event_action(ev, &state, &ctx, &mut chord),
                // EOF or EIO on the tty: the terminal is gone (SSH dropped, tmux killed).
                Some(Err(_)) | None => Some(Action::Shutdown),
            },
            _ = tick.tick() => Some(Action::Tick),
            Ok(()) = sources.kube.changed() => Some(Action::Kube(sources.kube.borrow_and_update().clone())),
            Ok(()) = sources.database.changed() => Some(Action::Database(sources.database.borrow_and_update().clone())),
            Ok(()) = sources.sentinel.changed() => Some(Action::Sentinel(sources.sentinel.borrow_and_update().clone())),
            Ok(()) = sources.traffic.changed() => Some(Action::Traffic(sources.traffic.borrow_and_update().clone())),
            Some(a) = action_rx.recv() => Some(a),
            _ = sigterm.recv() => {
                tracing::info!("SIGTERM: shutting down");
                Some(Action::Shutdown)
            }
            _ = sighup.recv() => {
                tracing::info!("SIGHUP (terminal gone): shutting down");
                Some(Action::Shutdown)
            }
        };
        let mut batch: Vec<Queued> = first.into_iter().map(Queued::Action).collect();
        // Drain whatever else is already queued (latest snapshot wins) before drawing.
        while let Ok(a) = action_rx.try_recv() {
            batch.push(Queued::Action(a));
        }
        while let Some(Some(Ok(ev))) = events.next().now_or_never() {
            batch.push(Queued::Event(ev));
        }
        for queued in batch {
            // A key is read against the state left by the keys before it (typed ahead, or
            // arriving together over a slow link): `b` then Enter picks the runbook, and text
            // typed right after `n` goes into the note instead of running commands.
            let action = match queued {
                Queued::Action(a) => a,
                Queued::Event(ev) => match event_action(ev, &state, &ctx, &mut chord) {
                    Some(a) => a,
                    None => continue,
                },
            };
            let visible = action.may_change_screen(&state);
            // Monotonic-anchored: a stepped wall clock neither fires timers early nor late.
            let effects = update(&mut state, action, super::clock::now());
            dirty |= visible || !effects.is_empty();
            for e in &effects {
                match e {
                    Effect::Bell => {
                        let _ = io::stdout().write_all(b"\x07");
                        let _ = io::stdout().flush();
                    }
                    Effect::Copy(text) => {
                        let _ = io::stdout().write_all(osc52(text).as_bytes());
                        let _ = io::stdout().flush();
                    }
                    Effect::Commander(req) => {
                        if let Some(tx) = &lock_requests
                            && tx.try_send(*req).is_err()
                        {
                            tracing::warn!("commander lock task is busy or gone: {req:?} dropped");
                        }
                    }
                    _ => {}
                }
            }
            runner.dispatch(
                effects.into_iter().filter(|e| matches!(e, Effect::Log(_) | Effect::Execute { .. })),
            );
        }
        if state.view.quit {
            break;
        }
    }
    tracing::info!("console loop ended");
    if let Some(tx) = lock_requests {
        release_at_exit(&mut state, tx, &mut action_rx, &runner).await;
    }
    // Never lose a line: every log entry queued before quitting is written before we leave.
    if !runner.flush(Duration::from_secs(5)).await {
        tracing::error!("incident log entries still queued after 5 s at exit");
    }
    // crossterm's reader thread may be spinning on a dead tty (EOF after SSH drops); dropping the
    // stream would wait for it. The process exits right after this, which ends that thread.
    std::mem::forget(events);
    drop(terminal);
    drop(guard);
    Ok(state)
}

/// One input drained for the current batch: terminal events are turned into actions only when
/// their turn comes, against the state the earlier inputs left.
enum Queued {
    Action(Action),
    Event(Event),
}

/// Feed every change of the commander lock into the loop as an action (the current value first).
fn forward_commander(mut view: watch::Receiver<CommanderView>, actions: mpsc::UnboundedSender<Action>) {
    tokio::spawn(async move {
        loop {
            let v = view.borrow_and_update().clone();
            if actions.send(Action::Commander(v)).is_err() || view.changed().await.is_err() {
                return;
            }
        }
    });
}

/// Leaving: give the commander lock up (logged) before the last log flush, waiting up to 3 s.
/// A console that cannot reach the lock leaves it to expire after its ttl.
async fn release_at_exit(
    state: &mut State,
    requests: mpsc::Sender<LockRequest>,
    actions: &mut mpsc::UnboundedReceiver<Action>,
    runner: &Runner,
) {
    if !matches!(state.domain.commander, CommanderView::Mine { .. }) {
        return;
    }
    if requests.send(LockRequest::Release).await.is_err() {
        return;
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    while matches!(state.domain.commander, CommanderView::Mine { warning: None, .. }) {
        match tokio::time::timeout_at(deadline, actions.recv()).await {
            Ok(Some(a @ Action::Commander(_))) => {
                let effects = update(state, a, super::clock::now());
                runner.dispatch(effects.into_iter().filter(|e| matches!(e, Effect::Log(_))));
            }
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => {
                tracing::warn!("commander lock not released within 3 s: it expires after its ttl");
                break;
            }
        }
    }
}

/// Poll the incident log 4x/second for entries appended by any console (ours included: the
/// core de-duplicates by seq), so every console shows the others' entries within a second.
fn spawn_follower(mut follower: LogFollower, actions: mpsc::UnboundedSender<Action>) {
    tokio::task::spawn_blocking(move || {
        loop {
            std::thread::sleep(Duration::from_millis(250));
            for e in follower.poll_new() {
                // Other consoles' entries also move this console's steps (see app::mirror).
                let action = if follower.take_own(e.seq) {
                    Action::Logged(e.to_log_line())
                } else {
                    Action::Mirrored(Box::new(e))
                };
                if actions.send(action).is_err() {
                    return;
                }
            }
        }
    });
}

fn event_action(ev: Event, state: &State, ctx: &UiContext, chord: &mut ChordBuffer) -> Option<Action> {
    match ev {
        Event::Key(k) => key_to_action(&k, state, &ctx.keymap, chord),
        Event::Resize(w, h) => Some(Action::Resize(w, h)),
        Event::Paste(text) if state.wants_text() => {
            // Pasted text goes into the prompt one character at a time; control characters dropped.
            let first = text.chars().find(|c| !c.is_control())?;
            Some(Action::Text(crate::app::TextEdit::Char(first)))
        }
        _ => None,
    }
}

/// OSC 52 clipboard sequence (works over SSH and inside tmux with `set-clipboard on`).
pub fn osc52(text: &str) -> String {
    format!("\x1b]52;c;{}\x07", base64(text.as_bytes()))
}

fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (i, o) in [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foobar", "Zm9vYmFy")] {
            assert_eq!(super::base64(i.as_bytes()), o);
        }
    }
}
