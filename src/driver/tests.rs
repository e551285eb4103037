//! The driver on a quiet estate (no layer configured): effects reach the runner, the lock task
//! and the output; inputs are read in order against the state the earlier ones left.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{mpsc, watch};

use super::*;
use crate::app::state::IncidentInfo;
use crate::app::{Mode, TextEdit};
use crate::backends::Snapshot;
use crate::backends::live::LiveOperator;
use crate::command::Command;
use crate::config::Config;
use crate::incident::commander::Holder;
use crate::runner::MemoryLog;

/// What reached the output.
#[derive(Default)]
struct Recorded {
    bells: usize,
    copies: Vec<String>,
    effects: usize,
}

impl Output for Recorded {
    fn bell(&mut self) {
        self.bells += 1;
    }

    fn copy(&mut self, text: &str) {
        self.copies.push(text.to_string());
    }

    fn emitted(&mut self, _effect: &Effect) {
        self.effects += 1;
    }
}

/// A driver over sources that say "not configured" (their senders are kept alive), an
/// operator with nothing configured and an in-memory log.
fn quiet_driver() -> (Driver, Arc<MemoryLog>, Box<dyn std::any::Any>) {
    let (kube_tx, kube) = watch::channel(Arc::new(Snapshot::not_configured()));
    let (db_tx, database) = watch::channel(Arc::new(Snapshot::not_configured()));
    let (sentinel_tx, sentinel) = watch::channel(Arc::new(Snapshot::not_configured()));
    let (traffic_tx, traffic) = watch::channel(Arc::new(Snapshot::not_configured()));
    let now = Utc::now();
    let incident = IncidentInfo {
        id: "INC-DRIVER".into(),
        title: "driver test".into(),
        severity: "SEV2".into(),
        declared_at: now,
        drill: false,
    };
    let state = State::new(Mode::Live, incident, "alice@host".into(), Arc::new(Config::default()), now);
    let log = Arc::new(MemoryLog::new("alice@host"));
    let sources = Sources { kube, database, sentinel, traffic };
    let driver = Driver::start(state, sources, Arc::new(LiveOperator::default()), log.clone());
    (driver, log, Box::new((kube_tx, db_tx, sentinel_tx, traffic_tx)))
}

fn mine() -> CommanderView {
    let now = Utc::now();
    let holder = Holder::new("alice@host pid 1", now, now, Duration::from_secs(30));
    CommanderView::Mine { holder, took_over_from: None, warning: None }
}

fn summaries(log: &MemoryLog) -> Vec<String> {
    log.entries().into_iter().map(|(i, _)| i.summary).collect()
}

/// Step until `cond` holds (panics after 5 s).
async fn until(d: &mut Driver, out: &mut Recorded, what: &str, cond: impl Fn(&Driver) -> bool) {
    let end = tokio::time::Instant::now() + Duration::from_secs(5);
    while !cond(d) {
        assert!(tokio::time::Instant::now() < end, "not within 5 s: {what}");
        let _ = tokio::time::timeout_at(end, d.step(&mut (), out)).await;
    }
}

#[tokio::test]
async fn the_sources_current_values_come_first() {
    let (mut d, _log, _senders) = quiet_driver();
    let mut out = Recorded::default();
    assert_eq!(d.state.domain.observed.kube.freshness, crate::backends::Freshness::Pending);
    d.apply_queued(&mut out);
    let o = &d.state.domain.observed;
    assert!(
        [&o.kube.freshness, &o.database.freshness, &o.sentinel.freshness, &o.traffic.freshness]
            .iter()
            .all(|f| **f == crate::backends::Freshness::NotConfigured),
        "{o:?}"
    );
}

#[tokio::test]
async fn the_clipboard_gets_redacted_text_through_the_output() {
    let (mut d, log, _senders) = quiet_driver();
    let mut out = Recorded::default();
    d.apply(Action::Command(Command::StatusUpdate), &mut out);
    for c in " db password=hunter2 rotated".chars() {
        d.apply(Action::Text(TextEdit::Char(c)), &mut out);
    }
    d.apply(Action::Text(TextEdit::Submit), &mut out);
    assert_eq!(out.copies.len(), 1, "one copy: {:?}", out.copies);
    let copied = &out.copies[0];
    assert!(copied.contains("db password=*** rotated"), "{copied}");
    assert!(!copied.contains("hunter2"), "{copied}");
    assert_eq!(out.bells, 0);
    // The posted update went to the log through the runner.
    assert!(d.flush(Duration::from_secs(5)).await);
    assert!(summaries(&log).iter().any(|s| s.starts_with("status update posted")), "{:?}", summaries(&log));
}

#[tokio::test]
async fn the_lock_is_asked_through_its_channel_and_its_loss_rings_the_bell() {
    let (d, log, _senders) = quiet_driver();
    let (view_tx, view) = watch::channel(CommanderView::Free { note: None });
    let (requests, mut asked) = mpsc::channel(4);
    let mut d = d.with_commander(CommanderLink { view, requests: Some(requests) });
    let mut out = Recorded::default();
    d.apply_queued(&mut out);
    assert_eq!(
        d.state.domain.commander,
        CommanderView::Free { note: None },
        "the current view is applied first"
    );

    d.apply(Action::Command(Command::TakeCommand), &mut out);
    assert_eq!(asked.try_recv().ok(), Some(LockRequest::Take { force: false }));
    view_tx.send(mine()).expect("driver follows the view");
    until(&mut d, &mut out, "the lock is mine", |d| {
        matches!(d.state.domain.commander, CommanderView::Mine { .. })
    })
    .await;
    assert_eq!(out.bells, 0);

    view_tx.send(CommanderView::Lost { reason: "expired without a renewal".into() }).expect("view");
    until(&mut d, &mut out, "the lock is lost", |d| {
        matches!(d.state.domain.commander, CommanderView::Lost { .. })
    })
    .await;
    assert_eq!(out.bells, 1, "losing the lock rings once");
    assert!(d.flush(Duration::from_secs(5)).await);
    let logged = summaries(&log);
    assert!(logged.contains(&"took the commander lock".to_string()), "{logged:?}");
    assert!(logged.iter().any(|s| s.starts_with("commander lock lost: expired")), "{logged:?}");
    assert!(out.effects >= 4, "every effect is seen: {}", out.effects);
}

#[tokio::test]
async fn shutting_down_releases_the_lock_and_writes_every_line() {
    let (d, log, _senders) = quiet_driver();
    let (view_tx, view) = watch::channel(mine());
    let (requests, mut asked) = mpsc::channel(4);
    let mut d = d.with_commander(CommanderLink { view, requests: Some(requests) });
    let mut out = Recorded::default();
    d.apply_queued(&mut out);
    // The lock task's side: a release request is answered with the released view.
    let task = tokio::spawn(async move {
        let req = asked.recv().await;
        view_tx.send(CommanderView::Free { note: Some("released".into()) }).expect("view");
        req
    });
    d.apply(Action::Shutdown, &mut out);
    assert!(d.quit_requested());
    d.shut_down(&mut out).await;
    assert_eq!(task.await.expect("lock task"), Some(LockRequest::Release));
    assert_eq!(d.state.domain.commander, CommanderView::Free { note: Some("released".into()) });
    // Flushed: the release is written by the time shut_down returns.
    let logged = summaries(&log);
    assert_eq!(logged, ["took the commander lock", "released the commander lock"], "{logged:?}");
}

/// Inputs `Open` (opens the help) and `Probe` (notes whether a dialog is open), all at once.
struct Typed {
    keys: Vec<Key>,
    seen_open: Vec<bool>,
}

#[derive(Debug, Clone, Copy)]
enum Key {
    Open,
    Probe,
}

impl Inputs for Typed {
    type Event = Key;

    async fn next(&mut self) -> Queued<Key> {
        match self.keys.is_empty() {
            true => std::future::pending().await,
            false => Queued::Event(self.keys.remove(0)),
        }
    }

    fn ready(&mut self) -> Option<Key> {
        (!self.keys.is_empty()).then(|| self.keys.remove(0))
    }

    fn action(&mut self, key: Key, state: &State) -> Option<Action> {
        match key {
            Key::Open => Some(Action::Command(Command::Help)),
            Key::Probe => {
                self.seen_open.push(state.view.modal.is_some());
                None
            }
        }
    }
}

#[tokio::test]
async fn typed_ahead_inputs_are_read_against_the_state_the_earlier_ones_left() {
    let (mut d, _log, _senders) = quiet_driver();
    let mut out = Recorded::default();
    d.apply_queued(&mut out);
    let mut typed = Typed { keys: vec![Key::Probe, Key::Open, Key::Probe], seen_open: Vec::new() };
    // The first input may lose the race to a tick; keep stepping until all three were read.
    let end = tokio::time::Instant::now() + Duration::from_secs(5);
    while typed.seen_open.len() < 2 {
        assert!(tokio::time::Instant::now() < end, "inputs not read: {:?}", typed.seen_open);
        let _ = tokio::time::timeout_at(end, d.step(&mut typed, &mut out)).await;
    }
    assert_eq!(typed.seen_open, [false, true], "the probe after Open sees the help open");
    assert!(typed.keys.is_empty());
}
