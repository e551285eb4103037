//! [`spawn`]: run one [`Observe`] source on an interval with a timeout and a circuit breaker,
//! one request in flight at a time, publishing the newest [`Snapshot`] on a `watch` channel.
//!
//! A failed poll keeps the last good value and marks it stale; after `breaker_failures`
//! consecutive failures the breaker opens (no polling until `retry_at`), then one half-open try
//! either closes it or opens it again. A panic inside `observe` is caught and shown as an error:
//! the pane never keeps showing "healthy" data from a dead task.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use tokio::sync::{Notify, watch};

use super::{Freshness, Observe, Snapshot};

/// Timing of one poller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollerConfig {
    /// Time between polls.
    pub interval: Duration,
    /// Timeout of one poll.
    pub timeout: Duration,
    /// Consecutive failures that open the breaker.
    pub breaker_failures: u32,
    /// How long the breaker stays open.
    pub breaker_open: Duration,
}

impl PollerConfig {
    /// From the `[polling]` section.
    pub fn from_config(p: &crate::config::model::PollingConfig) -> PollerConfig {
        PollerConfig {
            interval: Duration::from_millis(p.interval_ms.max(50)),
            timeout: Duration::from_millis(p.timeout_ms.max(50)),
            breaker_failures: p.breaker_failures.max(1),
            breaker_open: Duration::from_millis(p.breaker_open_ms),
        }
    }
}

/// Start polling `observer` in a tokio task. The task ends when every receiver is dropped.
/// `poke`, when given, triggers an immediate poll (push sources: watches, pub/sub).
pub fn spawn<O>(
    observer: O,
    cfg: PollerConfig,
    poke: Option<Arc<Notify>>,
) -> watch::Receiver<Arc<Snapshot<O::Output>>>
where
    O: Observe,
    O::Output: Clone,
{
    let (tx, rx) = watch::channel(Arc::new(Snapshot::pending()));
    tokio::spawn(run(observer, cfg, poke, Duration::ZERO, tx));
    rx
}

/// Like [`spawn`], but pokes poll at most once per `gap`: a poke within `gap` of the previous
/// poll's start waits for the rest of it, so a burst of pokes is folded into one poll. For a
/// source whose every poll copies a large view (every pod of a cluster during a rollout storm),
/// which would otherwise be copied, diffed and drawn once per watch event.
pub fn spawn_coalesced<O>(
    observer: O,
    cfg: PollerConfig,
    poke: Arc<Notify>,
    gap: Duration,
) -> watch::Receiver<Arc<Snapshot<O::Output>>>
where
    O: Observe,
    O::Output: Clone,
{
    let (tx, rx) = watch::channel(Arc::new(Snapshot::pending()));
    tokio::spawn(run(observer, cfg, Some(poke), gap, tx));
    rx
}

async fn run<O>(
    observer: O,
    cfg: PollerConfig,
    poke: Option<Arc<Notify>>,
    gap: Duration,
    tx: watch::Sender<Arc<Snapshot<O::Output>>>,
) where
    O: Observe,
    O::Output: Clone,
{
    let mut failures: u32 = 0;
    loop {
        if tx.is_closed() {
            return;
        }
        let began = tokio::time::Instant::now();
        let outcome = match tokio::time::timeout(
            cfg.timeout,
            AssertUnwindSafe(observer.observe()).catch_unwind(),
        )
        .await
        {
            Ok(Ok(Ok(v))) => Ok(v),
            Ok(Ok(Err(e))) => Err(e),
            Ok(Err(panic)) => Err(format!("{} source crashed: {}", observer.name(), panic_text(&panic))),
            Err(_) => Err(format!("timed out after {} ms", cfg.timeout.as_millis())),
        };
        // Same timeline as the event loop's `now` (ages stay true across wall-clock steps).
        let now = crate::clock::now();
        let prev = tx.borrow().clone();
        let wait = match outcome {
            Ok(value) => {
                failures = 0;
                let _ = tx.send(Arc::new(Snapshot::fresh(value, now)));
                cfg.interval
            }
            Err(error) => {
                failures += 1;
                let (freshness, wait) = if failures >= cfg.breaker_failures {
                    let retry = chrono::Duration::from_std(cfg.breaker_open).unwrap_or_default();
                    (Freshness::BreakerOpen { retry_at: now + retry, error }, cfg.breaker_open)
                } else if prev.value.is_some() {
                    let since = match &prev.freshness {
                        Freshness::Stale { since, .. } => *since,
                        _ => now,
                    };
                    (Freshness::Stale { since, error }, cfg.interval)
                } else {
                    (Freshness::Failed { error }, cfg.interval)
                };
                let snap = Snapshot { value: prev.value.clone(), fetched_at: prev.fetched_at, freshness };
                let _ = tx.send(Arc::new(snap));
                wait
            }
        };
        let breaker_open = failures >= cfg.breaker_failures;
        match (&poke, breaker_open) {
            (Some(p), false) => {
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = p.notified() => {
                        tokio::select! {
                            _ = tokio::time::sleep_until(began + gap) => {}
                            _ = tx.closed() => return,
                        }
                    }
                    _ = tx.closed() => return,
                }
            }
            _ => {
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = tx.closed() => return,
                }
            }
        }
    }
}

fn panic_text(p: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic".into()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicU32, Ordering};

    use futures::future::BoxFuture;

    use super::*;

    /// A scripted source: each poll takes the next behaviour.
    struct Scripted {
        script: Mutex<Vec<&'static str>>,
        calls: Arc<AtomicU32>,
    }

    impl Observe for Scripted {
        type Output = u32;
        fn name(&self) -> &str {
            "scripted"
        }
        fn observe(&self) -> BoxFuture<'_, Result<u32, String>> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            let step = {
                let mut s = self.script.lock().unwrap();
                if s.is_empty() { "ok" } else { s.remove(0) }
            };
            Box::pin(async move {
                match step {
                    "ok" => Ok(n),
                    "err" => Err("connection refused".to_string()),
                    "hang" => {
                        tokio::time::sleep(Duration::from_secs(3600)).await;
                        Ok(n)
                    }
                    "panic" => panic!("boom in observer"),
                    other => unreachable!("{other}"),
                }
            })
        }
    }

    fn cfg() -> PollerConfig {
        PollerConfig {
            interval: Duration::from_secs(1),
            timeout: Duration::from_secs(2),
            breaker_failures: 3,
            breaker_open: Duration::from_secs(30),
        }
    }

    fn source(script: Vec<&'static str>) -> (Scripted, Arc<AtomicU32>) {
        let calls = Arc::new(AtomicU32::new(0));
        (Scripted { script: Mutex::new(script), calls: calls.clone() }, calls)
    }

    async fn next<T: Clone>(rx: &mut watch::Receiver<Arc<Snapshot<T>>>) -> Arc<Snapshot<T>> {
        rx.changed().await.expect("poller alive");
        rx.borrow_and_update().clone()
    }

    #[tokio::test(start_paused = true)]
    async fn fresh_then_stale_keeps_last_good_value() {
        let (src, _) = source(vec!["ok", "err"]);
        let mut rx = spawn(src, cfg(), None);
        let s = next(&mut rx).await;
        assert_eq!(s.freshness, Freshness::Fresh);
        assert_eq!(s.value, Some(0));
        let s = next(&mut rx).await;
        assert!(matches!(&s.freshness, Freshness::Stale { error, .. } if error == "connection refused"));
        assert_eq!(s.value, Some(0), "last good value is kept");
        let s = next(&mut rx).await;
        assert_eq!(s.freshness, Freshness::Fresh);
    }

    #[tokio::test(start_paused = true)]
    async fn never_good_is_failed() {
        let (src, _) = source(vec!["err"]);
        let mut rx = spawn(src, cfg(), None);
        let s = next(&mut rx).await;
        assert!(matches!(s.freshness, Freshness::Failed { .. }));
        assert_eq!(s.value, None);
    }

    #[tokio::test(start_paused = true)]
    async fn hang_turns_stale_at_the_timeout() {
        let (src, _) = source(vec!["ok", "hang"]);
        let mut rx = spawn(src, cfg(), None);
        next(&mut rx).await;
        let before = tokio::time::Instant::now();
        let s = next(&mut rx).await;
        assert!(
            matches!(&s.freshness, Freshness::Stale { error, .. } if error.contains("timed out after 2000 ms"))
        );
        // interval 1 s + timeout 2 s
        assert_eq!(before.elapsed(), Duration::from_secs(3));
    }

    #[tokio::test(start_paused = true)]
    async fn breaker_opens_stops_polling_and_half_opens() {
        let (src, calls) = source(vec!["ok", "err", "err", "err", "err"]);
        let mut rx = spawn(src, cfg(), None);
        next(&mut rx).await; // ok
        next(&mut rx).await; // err 1: stale
        next(&mut rx).await; // err 2: stale
        let s = next(&mut rx).await; // err 3: breaker opens
        assert!(matches!(s.freshness, Freshness::BreakerOpen { .. }), "{:?}", s.freshness);
        assert_eq!(calls.load(Ordering::SeqCst), 4);
        tokio::time::sleep(Duration::from_secs(29)).await;
        assert_eq!(calls.load(Ordering::SeqCst), 4, "no polling while open");
        let s = next(&mut rx).await; // half-open try fails: open again
        assert!(matches!(s.freshness, Freshness::BreakerOpen { .. }));
        assert_eq!(calls.load(Ordering::SeqCst), 5);
        let s = next(&mut rx).await; // next half-open try succeeds: closed
        assert_eq!(s.freshness, Freshness::Fresh);
    }

    #[tokio::test(start_paused = true)]
    async fn panic_in_observer_is_an_error_not_silence() {
        let (src, _) = source(vec!["ok", "panic", "ok"]);
        let mut rx = spawn(src, cfg(), None);
        next(&mut rx).await;
        let s = next(&mut rx).await;
        assert!(matches!(&s.freshness, Freshness::Stale { error, .. } if error.contains("boom in observer")));
        let s = next(&mut rx).await;
        assert_eq!(s.freshness, Freshness::Fresh, "the source keeps running after a panic");
    }

    #[tokio::test(start_paused = true)]
    async fn poke_polls_immediately() {
        let (src, calls) = source(vec![]);
        let poke = Arc::new(Notify::new());
        let mut rx =
            spawn(src, PollerConfig { interval: Duration::from_secs(60), ..cfg() }, Some(poke.clone()));
        next(&mut rx).await;
        let before = tokio::time::Instant::now();
        poke.notify_one();
        next(&mut rx).await;
        assert!(before.elapsed() < Duration::from_secs(1));
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_of_pokes_is_folded_into_one_poll_per_gap() {
        let (src, calls) = source(vec![]);
        let poke = Arc::new(Notify::new());
        let gap = Duration::from_millis(100);
        let cfg = PollerConfig { interval: Duration::from_secs(60), ..cfg() };
        let mut rx = spawn_coalesced(src, cfg, poke.clone(), gap);
        next(&mut rx).await;
        let first = tokio::time::Instant::now();
        // Ten pokes 10 ms apart, each given the chance to run the poller.
        for _ in 0..10 {
            poke.notify_one();
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        next(&mut rx).await;
        assert!(first.elapsed() >= gap, "the second poll waited for the gap: {:?}", first.elapsed());
        assert_eq!(calls.load(Ordering::SeqCst), 2, "ten pokes within the gap: one poll");
        // The pokes after the second poll began are folded into one more poll, a gap later.
        next(&mut rx).await;
        assert!(first.elapsed() >= gap * 2);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }
}
