//! Fault injection: hung backends (SIGSTOP of the real process, or a loopback proxy that
//! accepts and never answers) for Redis Sentinel, the Kubernetes test server and moto, through
//! the real pollers (`backends::live::build` in the headless console where the estate allows).
//! Each layer shows the hang within its timeout while the other layers keep updating, and
//! recovers to fresh once the backend answers again. (PostgreSQL: tests/postgres_live.rs; a
//! hung HTTP probe: tests/http_health.rs.)

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use warroom::backends::Freshness;
use warroom::backends::poller::{self, PollerConfig};
use warroom::backends::route53::Route53Options;
use warroom::backends::traffic::{TrafficObserver, TrafficTimeouts};
use warroom::config::Config;
use warroom::config::model::{KubernetesConfig, PollingConfig, RegionConfig, Route53Config};

use support::fault_proxy::{FaultProxy, ProxyMode};
use support::headless::Headless;
use support::http_fake::{FakeServer, Mode, Reply};
use support::kube_server::KubeServer;
use support::lab::redis::RedisLab;
use support::lab::signal;

const INTERVAL_MS: u64 = 300;
const TIMEOUT_MS: u64 = 1000;

fn polling() -> PollingConfig {
    PollingConfig {
        interval_ms: INTERVAL_MS,
        timeout_ms: TIMEOUT_MS,
        breaker_open_ms: 3000,
        ..PollingConfig::default()
    }
}

fn region(name: &str, live: Option<String>, kube_context: Option<&str>) -> RegionConfig {
    RegionConfig {
        name: name.into(),
        role: "primary".into(),
        kube_context: kube_context.map(str::to_string),
        health_live: live,
        ..RegionConfig::default()
    }
}

/// An HTTP health endpoint that always answers 200: the layer that must keep updating.
async fn healthy_http() -> FakeServer {
    FakeServer::start(Mode::Answer(Arc::new(|_| Reply::text(200, "ok")))).await
}

/// SIGCONTs the pids when dropped, so a failing test never leaves stopped servers behind.
struct Thaw(Vec<i32>);

impl Drop for Thaw {
    fn drop(&mut self) {
        for p in &self.0 {
            signal(*p, libc::SIGCONT);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sentinels_sigstopped_go_stale_within_the_timeout_while_traffic_updates_then_recover() {
    let lab = RedisLab::start().await;
    lab.wait_settled().await;
    let http = healthy_http().await;
    let cfg = Config {
        sentinel: Some(lab.config()),
        regions: vec![region("lab", Some(http.url("/health/live")), None)],
        polling: polling(),
        ..Config::default()
    };
    let mut h = Headless::start(cfg).await;
    h.until("sentinel and traffic fresh", Duration::from_secs(10), |s| {
        s.domain.observed.sentinel.fresh_value().is_some()
            && s.domain.observed.traffic.fresh_value().is_some()
    })
    .await;

    let pids: Vec<i32> = lab.sentinels.iter().filter_map(|s| s.pid()).collect();
    assert_eq!(pids.len(), 3);
    let thaw = Thaw(pids.clone());
    for p in &pids {
        signal(*p, libc::SIGSTOP);
    }
    // Deadline: one interval + the per-Sentinel timeout + the poller's margin, plus 1 s slack.
    let stale = h
        .until("sentinel shown stale", Duration::from_millis(INTERVAL_MS + 2 * TIMEOUT_MS + 1500), |s| {
            matches!(
                s.domain.observed.sentinel.freshness,
                Freshness::Stale { .. } | Freshness::BreakerOpen { .. }
            )
        })
        .await;
    eprintln!("FIGURE SIGSTOP of all Sentinels -> Sentinel pane stale: {stale:?}");
    let err = h.state.domain.observed.sentinel.freshness.error().unwrap_or_default().to_string();
    assert!(err.contains("timeout") || err.contains("timed out"), "{err}");
    assert!(h.state.domain.observed.sentinel.value.is_some(), "the last good value is kept (shown stale)");

    // The traffic layer keeps updating meanwhile.
    let seen = h.state.domain.observed.traffic.fetched_at;
    h.until("traffic keeps updating", Duration::from_millis(3 * INTERVAL_MS + TIMEOUT_MS), |s| {
        s.domain.observed.traffic.fresh_value().is_some() && s.domain.observed.traffic.fetched_at > seen
    })
    .await;
    assert!(!matches!(h.state.domain.observed.sentinel.freshness, Freshness::Fresh), "still hung");

    drop(thaw);
    let resumed = Instant::now();
    // Worst case: the breaker opened (default 10 s) just before SIGCONT.
    let within = Duration::from_millis(polling().breaker_open_ms + 3 * TIMEOUT_MS);
    h.until("sentinel fresh again", within, |s| s.domain.observed.sentinel.fresh_value().is_some()).await;
    eprintln!("FIGURE SIGCONT -> Sentinel pane fresh: {:?}", resumed.elapsed());
}

/// A kubeconfig with one context `lab` pointing at `url`.
fn kubeconfig(dir: &std::path::Path, url: &str) -> String {
    let kc = json!({
        "apiVersion": "v1", "kind": "Config", "preferences": {}, "current-context": "lab",
        "clusters": [{ "name": "lab", "cluster": { "server": url } }],
        "contexts": [{ "name": "lab", "context": { "cluster": "lab", "user": "tester", "namespace": "default" } }],
        "users": [{ "name": "tester", "user": {} }]
    });
    let path = dir.join("kubeconfig");
    std::fs::write(&path, serde_json::to_vec(&kc).unwrap()).unwrap();
    path.to_string_lossy().into_owned()
}

/// The hang as the Kubernetes pane shows it: the context's error, or (when every context
/// fails, as here with one) the layer's freshness error.
fn kube_error(h: &Headless) -> Option<String> {
    let snap = &h.state.domain.observed.kube;
    let ctx = snap.value.as_ref()?.contexts.iter().find(|c| c.context == "lab")?.error.clone();
    ctx.or_else(|| snap.freshness.error().map(str::to_string))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_api_server_hung_behind_a_proxy_marks_its_context_lost_then_recovers() {
    let server = KubeServer::start().await;
    server.add_pod("default", "api-1", &[("app", "api")]);
    let proxy = FaultProxy::start(server.addr()).await;
    let http = healthy_http().await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = Config {
        kubernetes: Some(KubernetesConfig {
            kubeconfig: Some(kubeconfig(dir.path(), &format!("http://{}", proxy.addr))),
            namespaces: vec!["default".into()],
        }),
        regions: vec![region("lab", Some(http.url("/health/live")), Some("lab"))],
        polling: polling(),
        ..Config::default()
    };
    let mut h = Headless::start(cfg).await;
    h.until("pod listed", Duration::from_secs(10), |s| {
        s.domain.observed.kube.value.as_ref().is_some_and(|k| k.pods.iter().any(|p| p.name == "api-1"))
    })
    .await;
    assert_eq!(kube_error(&h), None);

    proxy.set(ProxyMode::Stall);
    let stalled = Instant::now();
    // The heartbeat (every 5 s, 3 s timeout) notices a server that hangs with connections open.
    let took = h
        .until("context shown lost", Duration::from_secs(10), |s| {
            !matches!(s.domain.observed.kube.freshness, Freshness::Fresh)
                || s.domain
                    .observed
                    .kube
                    .value
                    .as_ref()
                    .is_some_and(|k| k.contexts.iter().any(|c| c.error.is_some()))
        })
        .await;
    eprintln!("FIGURE Kubernetes API hung -> context shown lost: {took:?}");
    let err = kube_error(&h).unwrap();
    assert!(err.contains("did not answer within"), "{err}");
    assert!(
        h.state.domain.observed.kube.value.as_ref().unwrap().pods.iter().any(|p| p.name == "api-1"),
        "rows kept"
    );
    // Other layers keep updating.
    let seen = h.state.domain.observed.traffic.fetched_at;
    h.until("traffic keeps updating", Duration::from_secs(2), |s| {
        s.domain.observed.traffic.fetched_at > seen
    })
    .await;

    proxy.set(ProxyMode::Forward);
    let thawed = Instant::now();
    server.add_pod("default", "api-2", &[("app", "api")]);
    h.until("context healthy again, new pod seen", Duration::from_secs(15), |s| {
        s.domain.observed.kube.fresh_value().is_some_and(|k| {
            k.contexts.iter().all(|c| c.error.is_none()) && k.pods.iter().any(|p| p.name == "api-2")
        })
    })
    .await;
    eprintln!(
        "FIGURE Kubernetes API answers again -> healthy with new data: {:?} (hung for {:?})",
        thawed.elapsed(),
        thawed - stalled
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_hung_behind_a_proxy_shows_a_control_plane_error_then_recovers() {
    let (_guard, moto) = support::moto::exclusive().await;
    let seeded = support::moto::seed_weighted(
        moto,
        "api.example.com.",
        &[("us-east-1", 100, "192.0.2.10"), ("us-west-2", 0, "192.0.2.20")],
    )
    .await;
    let upstream: std::net::SocketAddr = moto.endpoint.trim_start_matches("http://").parse().unwrap();
    let proxy = FaultProxy::start(upstream).await;
    let cfg = Config {
        regions: vec![region("us-east-1", None, None), region("us-west-2", None, None)],
        route53: Some(Route53Config {
            hosted_zone_id: seeded.zone_id.clone(),
            record: "api.example.com.".into(),
            record_type: "A".into(),
            endpoint_url: Some(format!("http://{}", proxy.addr)),
            ..Route53Config::default()
        }),
        ..Config::default()
    };
    let options = Route53Options {
        credentials: Some(support::moto::credentials()),
        attempt_timeout: Duration::from_millis(TIMEOUT_MS),
        max_attempts: 1,
        ..Route53Options::default()
    };
    let timeouts = TrafficTimeouts {
        route53: Duration::from_millis(TIMEOUT_MS),
        probe: Duration::from_millis(TIMEOUT_MS),
    };
    let observer = TrafficObserver::with_route53_options(&cfg, timeouts, options).expect("observer");
    let pc = PollerConfig {
        interval: Duration::from_millis(INTERVAL_MS),
        timeout: Duration::from_millis(TIMEOUT_MS + 500),
        breaker_failures: 5,
        breaker_open: Duration::from_secs(10),
    };
    let mut rx = poller::spawn(observer, pc, None);
    let weights_seen = |rx: &tokio::sync::watch::Receiver<Arc<warroom::backends::Snapshot<_>>>| {
        let s: Arc<warroom::backends::Snapshot<warroom::backends::model::TrafficView>> = rx.borrow().clone();
        s.fresh_value().is_some_and(|v| {
            v.control_plane_error.is_none() && v.regions.iter().any(|r| r.weight == Some(100))
        })
    };
    let end = Instant::now() + Duration::from_secs(10);
    while !weights_seen(&rx) {
        assert!(Instant::now() < end, "weights never observed: {:?}", rx.borrow());
        let _ = tokio::time::timeout(Duration::from_millis(500), rx.changed()).await;
    }

    proxy.set(ProxyMode::Stall);
    let stalled = Instant::now();
    let deadline = Duration::from_millis(INTERVAL_MS + 2 * TIMEOUT_MS + 1000);
    loop {
        let snap = rx.borrow().clone();
        let err = snap.value.as_ref().and_then(|v| v.control_plane_error.clone());
        let stale = !matches!(snap.freshness, Freshness::Fresh);
        if err.is_some() || stale {
            eprintln!(
                "FIGURE moto hung -> Route 53 control plane error shown: {:?}: {err:?} / {:?}",
                stalled.elapsed(),
                snap.freshness
            );
            break;
        }
        assert!(stalled.elapsed() < deadline, "hang not shown within {deadline:?}: {snap:?}");
        let _ = tokio::time::timeout(Duration::from_millis(200), rx.changed()).await;
    }
    // The last known weights are kept for the operator while the control plane is away.
    let snap = rx.borrow().clone();
    assert!(snap.value.as_ref().is_some_and(|v| v.regions.iter().any(|r| r.name == "us-east-1")), "{snap:?}");

    proxy.set(ProxyMode::Forward);
    let thawed = Instant::now();
    let end = thawed + Duration::from_secs(5);
    while !weights_seen(&rx) {
        assert!(Instant::now() < end, "no recovery within 5 s: {:?}", rx.borrow());
        let _ = tokio::time::timeout(Duration::from_millis(200), rx.changed()).await;
    }
    eprintln!("FIGURE moto answers again -> fresh weights: {:?}", thawed.elapsed());
}

/// The header line of pane `title` on a captured screen (the part after the title).
fn pane_badge<'a>(screen: &'a str, title: &str) -> Option<&'a str> {
    // Line 1 is the header, whose verdict reason may name a layer ("no Sentinel answered").
    screen.lines().skip(1).find_map(|l| {
        let at = l.find(&format!("{title} "))?;
        Some(&l[at + title.len()..])
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_console_in_tmux_shows_a_hung_sentinel_stale_keeps_answering_keys_and_recovers() {
    let lab = RedisLab::start().await;
    lab.wait_settled().await;
    let http = healthy_http().await;
    let dir = tempfile::tempdir().unwrap();
    let sentinels: Vec<String> = lab.sentinels.iter().map(|s| format!("\"{}\"", s.addr())).collect();
    let config = format!(
        "[incident]\ndata_dir = \"{data}\"\n\n[[regions]]\nname = \"lab\"\nrole = \"primary\"\nhealth_live = \"{live}\"\n\n\
         [sentinel]\nmaster = \"mymaster\"\naddrs = [{addrs}]\n\n[polling]\ninterval_ms = {INTERVAL_MS}\ntimeout_ms = {TIMEOUT_MS}\n",
        data = dir.path().join("data").display(),
        live = http.url("/health/live"),
        addrs = sentinels.join(", "),
    );
    let cfg_path = dir.path().join("warroom.toml");
    std::fs::write(&cfg_path, config).unwrap();
    let bin = env!("CARGO_BIN_EXE_warroom");
    let cfg_arg = cfg_path.to_string_lossy().into_owned();
    let t = support::tmux::Tmux::start(
        140,
        40,
        &[bin, "--config", &cfg_arg, "--new", "hung sentinel"],
        &[("HOME", dir.path())],
    );
    let fresh = |s: &str, pane: &str| pane_badge(s, pane).is_some_and(|b| b.trim_start().starts_with('●'));
    let wait = |what: &str, within: Duration, pred: &dyn Fn(&str) -> bool| {
        tokio::task::block_in_place(|| t.wait_for(what, within, pred))
    };
    wait("both panes fresh", Duration::from_secs(15), &|s| fresh(s, "Sentinel") && fresh(s, "Traffic"));

    let pids: Vec<i32> = lab.sentinels.iter().filter_map(|s| s.pid()).collect();
    let thaw = Thaw(pids.clone());
    for p in &pids {
        signal(*p, libc::SIGSTOP);
    }
    let stopped = Instant::now();
    let screen =
        wait("the Sentinel pane stale", Duration::from_millis(INTERVAL_MS + 2 * TIMEOUT_MS + 2000), &|s| {
            pane_badge(s, "Sentinel").is_some_and(|b| b.contains("stale") || b.contains("circuit open"))
        });
    eprintln!(
        "FIGURE real console: SIGSTOP of the Sentinels -> pane shows stale after {:?}",
        stopped.elapsed()
    );
    // The other pane keeps updating: its age stays within a poll or two.
    assert!(fresh(&screen, "Traffic"), "traffic still fresh:\n{screen}");
    // Ages are shown in 10 s steps (`<10s`): 11 s after the freeze, a traffic pane that had stopped
    // updating would read `● 10s` or older; it still reads `<10s` because it is polled on.
    tokio::time::sleep(Duration::from_secs(11).saturating_sub(stopped.elapsed())).await;
    let later = t.capture();
    let age = pane_badge(&later, "Traffic").unwrap_or_default().trim_start().to_string();
    assert!(age.starts_with("● <10s"), "traffic keeps updating: {age}\n{later}");
    assert!(
        pane_badge(&later, "Sentinel").is_some_and(|b| b.contains("stale") || b.contains("circuit open")),
        "the hung layer stays stale meanwhile:\n{later}"
    );
    // Keys still answer while the backend hangs.
    t.keys(&["?"]);
    wait("the help overlay", Duration::from_secs(2), &|s| s.contains("Getting started"));
    t.keys(&["Escape"]);
    wait("help closed", Duration::from_secs(2), &|s| !s.contains("Getting started"));

    drop(thaw);
    let resumed = Instant::now();
    wait("the Sentinel pane fresh again", Duration::from_millis(3000 + 10_000), &|s| fresh(s, "Sentinel"));
    eprintln!("FIGURE real console: SIGCONT -> Sentinel pane fresh after {:?}", resumed.elapsed());
    t.keys(&["q"]);
    wait("the console to exit", Duration::from_secs(5), &|_| t.pane_dead());
}
