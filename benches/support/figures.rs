//! Figures criterion does not give: bytes written to the terminal (idle, one pod change, full
//! repaints) and per-frame draw latency percentiles (median, p99) with the growth ratio.
//!
//! Everything goes through the real drawing code: `warroom::ui::draw` into a ratatui
//! `Terminal` over `QuietBackend` (which writes nothing for frames that change nothing), with
//! state changes applied by `warroom::app::update` as the event loop does.

use std::io;
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, Utc};
use ratatui::Terminal;
use warroom::app::{Action, State, update};
use warroom::backends::Snapshot;
use warroom::tui::output::{QuietBackend, SizeSource};
use warroom::ui::panes::pods::display_order;
use warroom::ui::{UiContext, draw};

use super::{estate, refetched, ui};

/// Screen width of every figure.
pub const WIDTH: u16 = 200;
/// Screen height of every figure.
pub const HEIGHT: u16 = 50;

/// Seconds of the long idle run (worst minute).
pub const IDLE_SECS: i64 = 1200;

/// A terminal over `QuietBackend` that counts bytes and throws them away.
pub type QuietTerminal = Terminal<QuietBackend<io::Sink>>;

/// A 200x50 terminal over a byte-counting sink.
pub fn terminal() -> QuietTerminal {
    Terminal::new(QuietBackend::new(io::sink(), SizeSource::Fixed(WIDTH, HEIGHT)))
        .expect("a terminal over a sink never fails")
}

/// Draw one frame; return the bytes it wrote.
pub fn frame_bytes(term: &mut QuietTerminal, state: &State, ui: &UiContext) -> u64 {
    let before = term.backend().bytes_written();
    term.draw(|f| draw(f, state, ui)).expect("drawing into a sink never fails");
    term.backend().bytes_written() - before
}

/// Bytes written to the terminal in each situation of the brief.
#[derive(Debug, Clone, Copy)]
pub struct ByteFigures {
    /// Pods in the estate.
    pub pods: usize,
    /// The first frame (a full repaint).
    pub first_frame: u64,
    /// The first frame at 200x50 after a resize from 160x48 (a full repaint again).
    pub after_resize: u64,
    /// A visible crash-looping pod changes reason (CrashLoopBackOff -> Error, one more restart).
    pub pod_status_change: u64,
    /// A visible healthy pod turns unhealthy (it moves up: the rows between shift).
    pub pod_turns_unhealthy: u64,
    /// Idle, no source sends anything: bytes per second over the first 60 one-second ticks.
    pub idle_quiet_per_s: f64,
    /// The worst minute of [`IDLE_SECS`] seconds of idle with sources quiet, bytes per second.
    pub idle_quiet_worst_per_s: f64,
    /// Idle with the default 1 s polling (database, Sentinel, traffic re-fetched every
    /// second, unchanged; the kube watch quiet): bytes per second over the first 60 ticks.
    pub idle_polling_per_s: f64,
    /// The worst minute of [`IDLE_SECS`] seconds of idle with 1 s polling (from T+12:03 to
    /// T+32:03: three checklist items fall overdue at T+15:00, crash-looping pods pass a
    /// minute old, the clock rolls over minutes), bytes per second.
    pub idle_polling_worst_per_s: f64,
}

/// Apply an action at `now` the way the event loop does (effects are not run here).
fn apply(state: &mut State, action: Action, now: DateTime<Utc>) {
    let _effects = update(state, action, now);
}

/// `secs` one-second ticks from `state.domain.now`; `poll` re-sends unchanged database, Sentinel and
/// traffic snapshots fetched 200 ms before each tick. Returns the bytes written in each second.
fn idle_bytes(mut state: State, ui: &UiContext, poll: bool, secs: i64) -> Vec<u64> {
    let mut term = terminal();
    frame_bytes(&mut term, &state, ui);
    let start = state.domain.now;
    let mut per_s = Vec::with_capacity(secs as usize);
    for s in 1..=secs {
        let mut total = 0;
        let tick = start + Duration::seconds(s);
        if poll {
            let at = tick - Duration::milliseconds(200);
            let (db, sentinel, traffic) = (
                refetched(&state.domain.observed.database, at),
                refetched(&state.domain.observed.sentinel, at),
                refetched(&state.domain.observed.traffic, at),
            );
            apply(&mut state, Action::Database(db), at);
            apply(&mut state, Action::Sentinel(sentinel), at);
            apply(&mut state, Action::Traffic(traffic), at);
            // The loop draws after each drained burst; the poll results arrive between ticks.
            total += frame_bytes(&mut term, &state, ui);
        }
        apply(&mut state, Action::Tick, tick);
        total += frame_bytes(&mut term, &state, ui);
        per_s.push(total);
    }
    per_s
}

/// Average bytes per second over the first minute of `per_s`.
fn first_minute(per_s: &[u64]) -> f64 {
    per_s.iter().take(60).sum::<u64>() as f64 / 60.0
}

/// The highest average bytes per second over any 60 consecutive seconds of `per_s`.
fn worst_minute(per_s: &[u64]) -> f64 {
    per_s.windows(60).map(|w| w.iter().sum::<u64>()).max().unwrap_or(0) as f64 / 60.0
}

/// Bytes of the frame after the pod at display position `pos` is changed by `change`
/// (delivered as a new kube snapshot fetched at the same instant, so no age moves).
fn pod_change_bytes(
    state: &State,
    ui: &UiContext,
    pos: usize,
    change: impl FnOnce(&mut warroom::backends::model::PodRow),
) -> u64 {
    let mut state = state.clone();
    let mut term = terminal();
    // Steady state first: the unchanged snapshot delivered once, so what a console does once
    // (its first trend sample adds the Database pane's trend column) is not counted as the
    // cost of one pod's change.
    let now = state.domain.now;
    let same = state.domain.observed.kube.clone();
    apply(&mut state, Action::Kube(same), now);
    frame_bytes(&mut term, &state, ui);
    let snap = &state.domain.observed.kube;
    let mut view = snap.value.clone().expect("the estate has pods");
    let idx = display_order(&view)[pos];
    change(&mut std::sync::Arc::make_mut(&mut view.pods)[idx]);
    let now = state.domain.now;
    let next = Arc::new(Snapshot { value: Some(view), ..Snapshot::clone(snap) });
    apply(&mut state, Action::Kube(next), now);
    frame_bytes(&mut term, &state, ui)
}

/// Measure every byte figure on an estate of `pods` pods.
pub fn bytes(pods: usize) -> ByteFigures {
    let ui = ui();
    let state = estate(pods);

    let mut term = terminal();
    let first_frame = frame_bytes(&mut term, &state, &ui);
    term.backend_mut().set_size(SizeSource::Fixed(160, 48));
    frame_bytes(&mut term, &state, &ui);
    term.backend_mut().set_size(SizeSource::Fixed(WIDTH, HEIGHT));
    let after_resize = frame_bytes(&mut term, &state, &ui);

    let view = state.domain.observed.kube.value.as_ref().expect("the estate has pods");
    let unhealthy = view.pods.iter().filter(|p| p.is_unhealthy()).count();
    let pod_status_change = pod_change_bytes(&state, &ui, 0, |p| {
        p.reason = Some("Error".into());
        p.restarts += 1;
    });
    let pod_turns_unhealthy = pod_change_bytes(&state, &ui, unhealthy + 3, |p| {
        p.ready = 0;
        p.reason = Some("CrashLoopBackOff".into());
    });

    let quiet = idle_bytes(state.clone(), &ui, false, IDLE_SECS);
    let polling = idle_bytes(state, &ui, true, IDLE_SECS);
    ByteFigures {
        pods,
        first_frame,
        after_resize,
        pod_status_change,
        pod_turns_unhealthy,
        idle_quiet_per_s: first_minute(&quiet),
        idle_quiet_worst_per_s: worst_minute(&quiet),
        idle_polling_per_s: first_minute(&polling),
        idle_polling_worst_per_s: worst_minute(&polling),
    }
}

/// Median and p99 of one frame's draw time (build every widget, diff, write) at one size.
#[derive(Debug, Clone, Copy)]
pub struct Latency {
    /// Pods in the estate.
    pub pods: usize,
    /// Frames measured.
    pub frames: usize,
    /// Median frame time.
    pub median: StdDuration,
    /// 99th percentile frame time.
    pub p99: StdDuration,
}

/// `frames` frames of the estate with `pods` pods, the clock moving one second per frame
/// (so every frame really builds, diffs and writes the changed cells).
pub fn latency(pods: usize, frames: usize) -> Latency {
    let ui = ui();
    let mut state = estate(pods);
    let mut term = terminal();
    frame_bytes(&mut term, &state, &ui);
    let start = state.domain.now;
    let mut times = Vec::with_capacity(frames);
    for i in 0..frames {
        state.domain.now = start + Duration::seconds(i as i64 + 1);
        let t = Instant::now();
        term.draw(|f| draw(f, &state, &ui)).expect("drawing into a sink never fails");
        times.push(t.elapsed());
    }
    times.sort_unstable();
    let at = |p: f64| times[((times.len() - 1) as f64 * p).round() as usize];
    Latency { pods, frames, median: at(0.5), p99: at(0.99) }
}
