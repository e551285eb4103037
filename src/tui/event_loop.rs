//! The console's loop: the [`Driver`] turns the terminal's events, with everything else that
//! happens, into actions; this module sets the terminal up, reads its events and the signals
//! that end it, and draws the state only when something visible may have changed, after each
//! batch (never more often than [`FRAME_BUDGET`], and once a second for the clocks).

use std::io;
use std::time::{Duration, Instant};

use crossterm::event::{Event, EventStream};
use futures::StreamExt;
use ratatui::Terminal;
use ratatui::layout::Rect;
use tokio::signal::unix::{Signal, SignalKind, signal};

use super::keys::{ChordBuffer, key_to_action, split_meta};
use super::output::{QuietBackend, SizeSource};
use super::terminal::TerminalGuard;
use crate::app::{Action, State};
use crate::driver::{Driver, Inputs, Queued};
use crate::ui::{self, UiContext};

/// Minimum time between two frames.
const FRAME_BUDGET: Duration = Duration::from_millis(16);

/// What a console shows when the operator quits, before the terminal is restored: the lines of
/// an overlay (a drill's scorecard), computed then, or `None` for nothing.
pub type Epilogue = Box<dyn FnOnce() -> Option<Vec<String>>>;

/// Run the console until quit, SIGTERM/SIGHUP or the terminal goes away. Returns the final state.
pub async fn run(driver: Driver, ctx: UiContext) -> color_eyre::Result<State> {
    run_with(driver, ctx, None).await
}

/// [`run`]; when the operator quits (not on a signal or a lost terminal), after every queued
/// entry is written, the `epilogue`'s overlay is shown until a key other than a scroll key.
pub async fn run_with(
    mut driver: Driver,
    ctx: UiContext,
    epilogue: Option<Epilogue>,
) -> color_eyre::Result<State> {
    let guard = TerminalGuard::enter()?;
    let mut terminal = Terminal::new(QuietBackend::new(io::stdout(), SizeSource::Terminal))?;
    terminal.clear()?;
    let mut inputs = TerminalInputs::new(&ctx)?;
    let mut frames = Frames::new();
    // The first frame shows what the sources hold now.
    driver.apply_queued(terminal.backend_mut());
    let mut size = None;
    while !driver.quit_requested() {
        // The help's last page depends on the size: the core stops scrolling there.
        let now_size = terminal.size().ok();
        if now_size != size {
            size = now_size;
            let area = now_size.map_or_else(Rect::default, |s| Rect::new(0, 0, s.width, s.height));
            frames.dirty |=
                driver.apply(Action::HelpLimit(ui::help::limit(&ctx.keymap, area)), terminal.backend_mut());
        }
        if frames.due(&driver.state) {
            frames.pace().await;
            if let Err(e) = terminal.draw(|f| ui::draw(f, &driver.state, &ctx)) {
                // EIO: the terminal is gone (SSH dropped, tmux killed). Leave through the normal
                // path so queued log entries are still written.
                tracing::warn!("cannot draw, the terminal is gone: {e}");
                inputs.gone = true;
                break;
            }
            frames.drawn(&driver.state);
        }
        // Bell and clipboard bytes go through the backend's writer, between frames.
        frames.dirty |= driver.step(&mut inputs, terminal.backend_mut()).await;
    }
    tracing::info!("console loop ended");
    // Give the commander lock up and never lose a line: every entry queued is written.
    driver.shut_down(terminal.backend_mut()).await;
    if !inputs.gone
        && let Some(lines) = epilogue.and_then(|f| f())
    {
        show_epilogue(&mut terminal, &driver.state, &ctx, &mut inputs, &lines).await;
    }
    // crossterm's reader thread may be spinning on a dead tty (EOF after SSH drops); dropping the
    // stream would wait for it. The process exits right after this, which ends that thread.
    std::mem::forget(inputs.events);
    drop(terminal);
    drop(guard);
    Ok(driver.state)
}

/// Show `lines` over the last frame until a key other than a scroll key, a signal or the end
/// of the terminal.
async fn show_epilogue<B: ratatui::backend::Backend>(
    terminal: &mut Terminal<B>,
    state: &State,
    ctx: &UiContext,
    inputs: &mut TerminalInputs<'_>,
    lines: &[String],
) {
    use crossterm::event::{KeyCode, KeyEventKind};
    let mut scroll: u16 = 0;
    let last = u16::try_from(lines.len()).unwrap_or(u16::MAX).saturating_sub(1);
    loop {
        let drawn = terminal.draw(|f| {
            ui::draw(f, state, ctx);
            ui::scorecard::draw(f, f.area(), &ctx.theme, lines, scroll);
        });
        if drawn.is_err() {
            return;
        }
        let ev = tokio::select! {
            ev = inputs.events.next() => ev,
            _ = inputs.sigterm.recv() => return,
            _ = inputs.sighup.recv() => return,
        };
        match ev {
            Some(Ok(Event::Key(k))) if k.kind != KeyEventKind::Press => {}
            Some(Ok(Event::Key(k))) => match k.code {
                KeyCode::Up => scroll = scroll.saturating_sub(1),
                KeyCode::Down => scroll = (scroll + 1).min(last),
                KeyCode::PageUp => scroll = scroll.saturating_sub(10),
                KeyCode::PageDown => scroll = (scroll + 10).min(last),
                _ => return,
            },
            Some(Ok(_)) => {}
            Some(Err(_)) | None => return,
        }
    }
}

/// When to draw: after a batch that may have changed the screen, and when the second shown
/// by the clocks changes; never sooner than [`FRAME_BUDGET`] after the last frame.
struct Frames {
    dirty: bool,
    drawn_second: i64,
    last: Instant,
}

impl Frames {
    fn new() -> Frames {
        Frames { dirty: true, drawn_second: -1, last: Instant::now() - FRAME_BUDGET }
    }

    fn due(&self, state: &State) -> bool {
        self.dirty || state.domain.now.timestamp() != self.drawn_second
    }

    async fn pace(&self) {
        let wait = FRAME_BUDGET.saturating_sub(self.last.elapsed());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    fn drawn(&mut self, state: &State) {
        self.last = Instant::now();
        self.drawn_second = state.domain.now.timestamp();
        self.dirty = false;
    }
}

/// The console's own inputs: terminal events, read through the keymap when their turn comes,
/// and the signals that end it.
struct TerminalInputs<'a> {
    events: EventStream,
    sigterm: Signal,
    sighup: Signal,
    ctx: &'a UiContext,
    chord: ChordBuffer,
    /// The second half of a key split by [`split_meta`], read before the terminal's next event.
    pending: Option<Event>,
    /// The loop ended on a signal or because the terminal went away (no epilogue then).
    gone: bool,
}

impl TerminalInputs<'_> {
    fn new(ctx: &UiContext) -> io::Result<TerminalInputs<'_>> {
        Ok(TerminalInputs {
            events: EventStream::new(),
            sigterm: signal(SignalKind::terminate())?,
            sighup: signal(SignalKind::hangup())?,
            ctx,
            chord: ChordBuffer::default(),
            pending: None,
            gone: false,
        })
    }

    /// An event as read, or its first half when it is an unbound Alt key (the second waits).
    fn split(&mut self, ev: Event) -> Event {
        if let Event::Key(k) = &ev
            && let Some([esc, key]) = split_meta(k, &self.ctx.keymap)
        {
            self.pending = Some(Event::Key(key));
            return Event::Key(esc);
        }
        ev
    }
}

impl Inputs for TerminalInputs<'_> {
    type Event = Event;

    async fn next(&mut self) -> Queued<Event> {
        if let Some(ev) = self.pending.take() {
            return Queued::Event(ev);
        }
        tokio::select! {
            ev = self.events.next() => match ev {
                Some(Ok(ev)) => Queued::Event(self.split(ev)),
                // EOF or EIO on the tty: the terminal is gone (SSH dropped, tmux killed).
                Some(Err(_)) | None => {
                    self.gone = true;
                    Queued::Action(Action::Shutdown)
                }
            },
            _ = self.sigterm.recv() => {
                tracing::info!("SIGTERM: shutting down");
                self.gone = true;
                Queued::Action(Action::Shutdown)
            }
            _ = self.sighup.recv() => {
                tracing::info!("SIGHUP (terminal gone): shutting down");
                self.gone = true;
                Queued::Action(Action::Shutdown)
            }
        }
    }

    fn ready(&mut self) -> Option<Event> {
        if let Some(ev) = self.pending.take() {
            return Some(ev);
        }
        // Not `self.events.next().now_or_never()`: polling the EventStream with a no-op waker
        // leaves its wake task registered to that waker, so the next real await is never woken
        // by a key (the main loop's tick hid it, up to 250 ms late; the scorecard overlay,
        // which has no tick, waited forever). crossterm's poll/read share the stream's reader.
        match crossterm::event::poll(Duration::ZERO) {
            Ok(true) => crossterm::event::read().ok().map(|ev| self.split(ev)),
            _ => None,
        }
    }

    fn action(&mut self, ev: Event, state: &State) -> Option<Action> {
        match ev {
            Event::Key(k) => key_to_action(&k, state, &self.ctx.keymap, &mut self.chord),
            Event::Resize(w, h) => Some(Action::Resize(w, h)),
            // Pasted text goes into the prompt whole; the core strips control characters.
            Event::Paste(text) if state.wants_text() => Some(Action::Text(crate::app::TextEdit::Paste(text))),
            _ => None,
        }
    }
}
