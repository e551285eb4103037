//! Replay figures: `cargo bench --bench replay_seek`.
//!
//! A synthetic one-hour recording of a console watching 5,000 pods: four ticks a second, a
//! Kubernetes snapshot every second (the pod list changes every 10 s: a restart, and a pod
//! crash-looping every minute), the database, Sentinel and traffic snapshots every second, a
//! log entry every 12 s and a key every 30 s (a few hundred other actions). Printed:
//! - building the [`Timeline`] (one pass through `update` with checkpoints) and its checkpoints;
//! - seek: `state_at` at random moments, p50 / p99 / max (target: redraw <= 200 ms anywhere);
//! - replay frame: seek + the console's `ui::draw` at 160x48 (the replay's own path,
//!   `tui::replay::screen::recorded_frame`, REPLAY badge included), and a frame while playing
//!   at 1x (one second of actions applied forward, then drawn);
//! - peak RSS of the process (the decoded recording is held in memory).
//!
//! Under `cargo test --all-targets` (no `--bench`) it runs two recorded minutes and 10 seeks,
//! without verdicts.

#[path = "console/stats.rs"]
mod stats;
#[path = "../tests/support/ui_fixtures.rs"]
mod ui_fixtures;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use warroom::app::replay::{Recorded, Timeline};
use warroom::app::{Action, PaneId, State};
use warroom::backends::Snapshot;
use warroom::backends::model::{KubeView, PodRow};
use warroom::command::Command;
use warroom::incident::entry::{EntryKind, LogLine};
use warroom::tui::replay::Cursor;
use warroom::tui::replay::player::Player;
use warroom::tui::replay::screen::recorded_frame;

use stats::{ms_summary, quantile};
use ui_fixtures::{calm, ctx, many_pods, now};

/// Target: seeking anywhere redraws within this.
const SEEK_MAX: Duration = Duration::from_millis(200);
/// The pod list changes every this many seconds.
const POD_CHANGE_EVERY: i64 = 10;

fn refetched<T: Clone>(snap: &Arc<Snapshot<T>>, at: DateTime<Utc>) -> Arc<Snapshot<T>> {
    let mut s = Snapshot::clone(snap);
    s.fetched_at = Some(at);
    Arc::new(s)
}

/// The console at the start: the calm estate with 5,000 pods, the Pods pane focused.
fn initial() -> State {
    let mut st = calm();
    st.domain.observed.kube = Arc::new(Snapshot::fresh(many_pods(5000), now()));
    st.view.focus = PaneId::Pods;
    st
}

/// `secs` seconds of recording from `initial`.
fn recording(initial: &State, secs: i64) -> Vec<Recorded> {
    let start = initial.domain.now;
    let ms = |s: i64, m: i64| start + chrono::Duration::milliseconds(s * 1000 + m);
    let o = &initial.domain.observed;
    let mut kube: KubeView = o.kube.value.clone().expect("pods");
    let mut out = Vec::new();
    let mut seq = 1000;
    for s in 0..secs {
        for q in 0..4 {
            out.push((ms(s, q * 250), Action::Tick));
        }
        if s % POD_CHANGE_EVERY == 0 && s > 0 {
            let mut pods: Vec<PodRow> = kube.pods.as_ref().clone();
            let i = (s as usize * 7919) % pods.len();
            pods[i].restarts += 1;
            if s % 60 == 0 {
                let j = (s as usize * 104_729) % pods.len();
                pods[j].ready = 0;
                pods[j].reason = Some("CrashLoopBackOff".into());
            }
            kube.pods = Arc::new(pods);
        }
        out.push((ms(s, 100), Action::Kube(Arc::new(Snapshot::fresh(kube.clone(), ms(s, 90))))));
        out.push((ms(s, 120), Action::Database(refetched(&o.database, ms(s, 110)))));
        out.push((ms(s, 140), Action::Sentinel(refetched(&o.sentinel, ms(s, 130)))));
        out.push((ms(s, 160), Action::Traffic(refetched(&o.traffic, ms(s, 150)))));
        if s % 12 == 5 {
            seq += 1;
            let line = LogLine {
                seq,
                at: ms(s, 600),
                operator: "alice@host".into(),
                kind: EntryKind::Note,
                summary: format!("note {seq}: still watching the rollout"),
            };
            out.push((ms(s, 600), Action::Logged(line)));
        }
        if s % 30 == 17 {
            let c = if s % 60 == 17 { Command::ScrollDown } else { Command::FocusNext };
            out.push((ms(s, 700), Action::Command(c)));
        }
    }
    out
}

/// Peak resident set size of this process, from /proc (Linux).
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (secs, seeks) = if full { (3600, 300) } else { (120, 10) };
    let initial = initial();
    let actions = recording(&initial, secs);
    let n = actions.len();
    let others = actions.iter().filter(|(_, a)| matches!(a, Action::Logged(_) | Action::Command(_))).count();
    println!("recording: {secs} s, {n} actions (5,000 pods each second, {others} entries and keys)");

    let started = Instant::now();
    let tl = Timeline::new(initial, actions);
    println!(
        "timeline built in {:.2} s: {} checkpoints, {} log entries, {} milestones",
        started.elapsed().as_secs_f64(),
        tl.checkpoints(),
        tl.entries().len(),
        tl.milestones().len()
    );

    let span = (tl.end() - tl.start()).num_milliseconds().max(1) as u64;
    let mut rng = fastrand::Rng::with_seed(14);
    let moments: Vec<DateTime<Utc>> =
        (0..seeks).map(|_| tl.start() + chrono::Duration::milliseconds(rng.u64(0..=span) as i64)).collect();
    let seek: Vec<Duration> = moments
        .iter()
        .map(|t| {
            let started = Instant::now();
            std::hint::black_box(tl.state_at(*t));
            started.elapsed()
        })
        .collect();
    println!("seek (state_at at random moments): {}", ms_summary(&seek));

    let ui = ctx();
    let frame = |state: State, at: DateTime<Utc>| {
        let mut state = state;
        let player = Player::new(&tl, Some(at), 1.0);
        state.view.replay = Some(player.badge(state.domain.incident.declared_at, None));
        std::hint::black_box(recorded_frame(&state, (160, 48), &ui));
    };
    let frames: Vec<Duration> = moments
        .iter()
        .map(|t| {
            let started = Instant::now();
            frame(tl.state_at(*t), *t);
            started.elapsed()
        })
        .collect();
    println!("replay frame after a seek (state_at + ui::draw at 160x48): {}", ms_summary(&frames));

    let mut cursor = Cursor::new(&tl);
    let mut at = tl.start();
    cursor.state(&tl, tl.applied_at(at));
    let playing: Vec<Duration> = (0..seeks.min(secs as usize - 1))
        .map(|_| {
            at += chrono::Duration::seconds(1);
            let started = Instant::now();
            let state = cursor.state(&tl, tl.applied_at(at)).clone();
            frame(state, at);
            started.elapsed()
        })
        .collect();
    println!("replay frame while playing at 1x (1 s of actions forward + draw): {}", ms_summary(&playing));
    if let Some(rss) = peak_rss_mib() {
        println!("peak RSS: {rss:.0} MiB (the decoded recording, the checkpoints, the frames)");
    }
    if full {
        for (what, samples) in [("seek", &seek), ("frame after a seek", &frames)] {
            let p99 = quantile(samples, 0.99).unwrap_or_default();
            let verdict = if p99 <= SEEK_MAX { "met" } else { "MISSED" };
            println!("  target {what} p99 <= {SEEK_MAX:?}: {verdict}");
        }
    }
}
