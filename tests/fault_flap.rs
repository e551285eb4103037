//! Fault injection: a flapping backend. A real Sentinel behind a loopback proxy that resets
//! every connection, polled by the real poller (`backends::live::build`, headless console):
//! the circuit breaker opens after the configured failures, stops hammering (connections
//! counted at the proxy), half-opens once per open period, and recovers when the backend
//! answers again. The Sentinel pane shows the breaker state and retry time (drawn with
//! `ratatui::backend::TestBackend`). A source that panics is shown with its error, polled
//! again, and never shown healthy while it crashes.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use warroom::backends::Sources;
use warroom::backends::live::LiveEstate;
use warroom::backends::model::{SentinelObs, SentinelView};
use warroom::backends::poller::{self, PollerConfig};
use warroom::backends::{Freshness, Observe, Operate, Snapshot};
use warroom::config::Config;
use warroom::config::keymap::Keymap;
use warroom::config::model::PollingConfig;
use warroom::config::model::SentinelConfig;
use warroom::config::theme::Theme;
use warroom::ui::UiContext;

use support::fault_proxy::{FaultProxy, ProxyMode};
use support::headless::Headless;
use support::lab::redis::RedisLab;

const INTERVAL_MS: u64 = 200;
const FAILURES: u32 = 3;
const OPEN_MS: u64 = 3000;

/// The whole screen as text, one line per row.
fn screen(h: &Headless, w: u16, hgt: u16) -> String {
    let ctx =
        UiContext { theme: Theme::fallback(), keymap: Keymap::preset("default").expect("default keymap") };
    let mut term = Terminal::new(TestBackend::new(w, hgt)).expect("test terminal");
    term.draw(|f| warroom::ui::draw(f, &h.state, &ctx)).expect("draw");
    let buf = term.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..hgt {
        for x in 0..w {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

fn retry_at(h: &Headless) -> Option<DateTime<Utc>> {
    match &h.state.domain.observed.sentinel.freshness {
        Freshness::BreakerOpen { retry_at, .. } => Some(*retry_at),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flapping_sentinel_opens_the_breaker_stops_hammering_half_opens_and_recovers() {
    let lab = RedisLab::start().await;
    lab.wait_settled().await;
    let proxy = FaultProxy::start(format!("127.0.0.1:{}", lab.sentinels[0].port).parse().unwrap()).await;
    let mut sentinel = lab.config();
    sentinel.addrs = vec![proxy.addr_string()];
    let polling = PollingConfig {
        interval_ms: INTERVAL_MS,
        timeout_ms: 1000,
        breaker_failures: FAILURES,
        breaker_open_ms: OPEN_MS,
        ..PollingConfig::default()
    };
    let cfg = Config { sentinel: Some(sentinel), polling, ..Config::default() };
    let mut h = Headless::start(cfg).await;
    h.until("sentinel fresh", Duration::from_secs(10), |s| {
        s.domain.observed.sentinel.fresh_value().is_some()
    })
    .await;

    // Down: every connection is reset. Stale first, then the breaker opens.
    let before = proxy.accepted();
    proxy.set(ProxyMode::Reset);
    let flapped = Instant::now();
    h.until("sentinel stale", Duration::from_secs(2), |s| {
        matches!(
            s.domain.observed.sentinel.freshness,
            Freshness::Stale { .. } | Freshness::BreakerOpen { .. }
        )
    })
    .await;
    let opened = h
        .until("breaker open", Duration::from_millis(u64::from(FAILURES) * (INTERVAL_MS + 500) + 1000), |s| {
            matches!(s.domain.observed.sentinel.freshness, Freshness::BreakerOpen { .. })
        })
        .await;
    let first_retry = retry_at(&h).expect("breaker open");
    let while_closed = proxy.accepted() - before;
    eprintln!("FIGURE flapping -> breaker open after {opened:?} ({while_closed} connections while failing)");
    assert!(while_closed >= FAILURES as usize, "each failed poll connected: {while_closed}");
    let err = h.state.domain.observed.sentinel.freshness.error().unwrap_or_default().to_string();
    assert!(err.contains("no Sentinel answered"), "{err}");

    // The pane shows the breaker state and when it retries.
    let text = screen(&h, 160, 48);
    let line = text
        .lines()
        .find(|l| l.contains("circuit open, retry in"))
        .unwrap_or_else(|| panic!("no breaker badge on screen:\n{text}"));
    let secs = (first_retry - Utc::now()).num_seconds();
    assert!(
        line.contains(&format!("retry in {secs}s")) || line.contains(&format!("retry in {}s", secs + 1)),
        "{line}"
    );

    // While open: no polling (only the pub/sub subscriber's backed-off reconnects reach the proxy).
    let c0 = proxy.accepted();
    let quiet =
        (first_retry - Utc::now()).to_std().unwrap_or_default().saturating_sub(Duration::from_millis(300));
    h.run_for(quiet).await;
    let during_open = proxy.accepted() - c0;
    let polls_without_breaker = quiet.as_millis() as usize / INTERVAL_MS as usize;
    eprintln!(
        "FIGURE breaker open for {quiet:?}: {during_open} connections (polling would make ~{polls_without_breaker})"
    );
    assert!(during_open <= 3, "the breaker must stop polling: {during_open} connections in {quiet:?}");
    assert_eq!(retry_at(&h), Some(first_retry), "still the same open period");

    // Half-open: one try at retry_at, which fails and opens the breaker again.
    let c1 = proxy.accepted();
    h.until("half-open try re-opens", Duration::from_millis(OPEN_MS / 2 + 1500), |s| {
        matches!(&s.domain.observed.sentinel.freshness, Freshness::BreakerOpen { retry_at, .. } if *retry_at > first_retry)
    })
    .await;
    assert!(proxy.accepted() > c1, "the half-open try reached the backend");

    // Up again: the next half-open try closes the breaker.
    proxy.set(ProxyMode::Forward);
    let up = Instant::now();
    h.until("fresh again", Duration::from_millis(OPEN_MS + 2000), |s| {
        s.domain.observed.sentinel.fresh_value().is_some()
    })
    .await;
    eprintln!("FIGURE backend up -> fresh: {:?} (flapped {:?} in total)", up.elapsed(), flapped.elapsed());
    let text = screen(&h, 160, 48);
    assert!(!text.contains("circuit open"), "badge cleared:\n{text}");
}

/// A Sentinel source whose `observe` panics while `crash` is set (a bug in a backend task).
struct Panicky {
    crash: Arc<AtomicBool>,
    calls: Arc<AtomicUsize>,
}

impl Observe for Panicky {
    type Output = SentinelView;

    fn name(&self) -> &str {
        "sentinel"
    }

    fn observe(&self) -> BoxFuture<'_, Result<SentinelView, String>> {
        Box::pin(async move {
            self.calls.fetch_add(1, Ordering::SeqCst);
            if self.crash.load(Ordering::SeqCst) {
                panic!("index out of bounds: the len is 0 but the index is 3");
            }
            Ok(SentinelView {
                master_name: "mymaster".into(),
                sentinels: vec![SentinelObs {
                    addr: "127.0.0.1:26379".into(),
                    master: Some("127.0.0.1:6379".into()),
                    error: None,
                }],
                quorum: Some(Ok("OK 1 usable Sentinels".into())),
                ..SentinelView::default()
            })
        })
    }
}

fn idle<T: Send + Sync + 'static>() -> tokio::sync::watch::Receiver<Arc<Snapshot<T>>> {
    let (tx, rx) = tokio::sync::watch::channel(Arc::new(Snapshot::not_configured()));
    std::mem::forget(tx);
    rx
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panicking_source_shows_the_error_restarts_and_is_never_shown_healthy_meanwhile() {
    let crash = Arc::new(AtomicBool::new(false));
    let calls = Arc::new(AtomicUsize::new(0));
    let pc = PollerConfig {
        interval: Duration::from_millis(INTERVAL_MS),
        timeout: Duration::from_secs(1),
        breaker_failures: 100,
        breaker_open: Duration::from_secs(5),
    };
    let sentinel = poller::spawn(Panicky { crash: crash.clone(), calls: calls.clone() }, pc, None);
    let sources = Sources { kube: idle(), database: idle(), sentinel, traffic: idle() };
    let cfg = Config {
        sentinel: Some(SentinelConfig {
            master: "mymaster".into(),
            addrs: vec!["127.0.0.1:26379".into()],
            password_env: None,
        }),
        ..Config::default()
    };
    let operator: Arc<dyn Operate> = Arc::new(warroom::backends::live::LiveOperator::default());
    let mut h = Headless::with_estate(Arc::new(cfg), LiveEstate { sources, operator });
    h.until("fresh", Duration::from_secs(3), |s| s.domain.observed.sentinel.fresh_value().is_some()).await;

    crash.store(true, Ordering::SeqCst);
    let crashed = Instant::now();
    let took = h
        .until("the crash shown", Duration::from_millis(3 * INTERVAL_MS + 500), |s| {
            s.domain.observed.sentinel.freshness.error().is_some_and(|e| e.contains("crashed"))
        })
        .await;
    eprintln!("FIGURE panic in the source -> error shown after {took:?}");
    let text = screen(&h, 160, 48);
    let badge = text.lines().find(|l| l.contains("Sentinel ")).unwrap_or_default();
    assert!(badge.contains("◐ stale"), "the pane is not shown healthy: {badge}\n{text}");
    assert!(text.contains("sentinel source crashed: index out of bounds"), "the error is drawn:\n{text}");
    // The task survives and keeps retrying; meanwhile the data is never "fresh".
    let n = calls.load(Ordering::SeqCst);
    let end = Instant::now() + Duration::from_millis(4 * INTERVAL_MS);
    while Instant::now() < end {
        let _ = tokio::time::timeout(Duration::from_millis(50), h.step()).await;
        assert!(h.state.domain.observed.sentinel.fresh_value().is_none(), "shown fresh while crashing");
    }
    assert!(calls.load(Ordering::SeqCst) >= n + 2, "the source is polled again after the panic");

    crash.store(false, Ordering::SeqCst);
    h.until("fresh again", Duration::from_millis(3 * INTERVAL_MS + 500), |s| {
        s.domain.observed.sentinel.fresh_value().is_some()
    })
    .await;
    eprintln!("FIGURE panic -> recovered after {:?}", crashed.elapsed());
    assert!(!screen(&h, 160, 48).contains("crashed"));
}
