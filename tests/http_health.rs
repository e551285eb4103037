//! HTTP health probes against local servers that answer 200, answer 503, hang, reset the
//! connection, or are not listening; and the traffic observer keeping a hung region's probe
//! from delaying or hiding the others.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use warroom::backends::Observe;
use warroom::backends::http::{BODY_EXCERPT_BYTES, HttpProber};
use warroom::backends::traffic::{TrafficObserver, TrafficTimeouts};
use warroom::config::model::{Config, RegionConfig};

use support::http_fake::{FakeServer, Mode, Reply};

const TIMEOUT: Duration = Duration::from_millis(500);

async fn answering(status: u16, body: &'static str) -> FakeServer {
    FakeServer::start(Mode::Answer(Arc::new(move |_| Reply::text(status, body)))).await
}

/// A loopback port with nothing listening on it.
fn closed_port_url() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    format!("http://{addr}/health/live")
}

#[tokio::test]
async fn ok_answer_has_status_and_no_error() {
    let server = answering(200, "ok").await;
    let probe = HttpProber::new(TIMEOUT).unwrap().probe(&server.url("/health/live")).await;
    assert_eq!(probe.status, Some(200));
    assert!(probe.ok());
    assert_eq!(probe.error, None);
    assert!(probe.latency_ms < TIMEOUT.as_millis() as u32);
    assert_eq!(server.seen.lock().unwrap()[0].path, "/health/live");
}

#[tokio::test]
async fn failing_answer_keeps_a_body_excerpt() {
    let long = "database unreachable: connection pool exhausted; ".repeat(20);
    let body: &'static str = Box::leak(long.into_boxed_str());
    let server = answering(503, body).await;
    let probe = HttpProber::new(TIMEOUT).unwrap().probe(&server.url("/health/ready")).await;
    assert_eq!(probe.status, Some(503));
    assert!(!probe.ok());
    let err = probe.error.unwrap();
    assert!(err.starts_with("HTTP 503 Service Unavailable: database unreachable"), "{err}");
    let excerpt = err.split_once(": ").unwrap().1;
    assert!(excerpt.len() <= BODY_EXCERPT_BYTES, "excerpt is {} bytes", excerpt.len());
    assert!(body.starts_with(excerpt));
}

#[tokio::test]
async fn invalid_utf8_body_is_decoded_lossily() {
    let server = FakeServer::start(Mode::Answer(Arc::new(|_| Reply::bytes(500, b"bad \xff byte")))).await;
    let probe = HttpProber::new(TIMEOUT).unwrap().probe(&server.url("/")).await;
    assert_eq!(probe.status, Some(500));
    assert!(probe.error.unwrap().contains("bad \u{FFFD} byte"));
}

#[tokio::test]
async fn hang_becomes_an_error_at_the_timeout() {
    let server = FakeServer::start(Mode::Hang).await;
    let started = Instant::now();
    let probe = HttpProber::new(TIMEOUT).unwrap().probe(&server.url("/health/live")).await;
    let took = started.elapsed();
    assert_eq!(probe.status, None);
    assert_eq!(probe.error.as_deref(), Some("no answer within 500 ms"));
    assert!(took >= TIMEOUT, "gave up before the timeout: {took:?}");
    assert!(took < TIMEOUT * 4, "did not give up at the timeout: {took:?}");
    assert_eq!(server.hits.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[tokio::test]
async fn reset_connection_is_an_error() {
    let server = FakeServer::start(Mode::Reset).await;
    let probe = HttpProber::new(TIMEOUT).unwrap().probe(&server.url("/health/live")).await;
    assert_eq!(probe.status, None);
    let err = probe.error.unwrap();
    assert_eq!(err, "connection reset by peer");
    assert!(!err.contains("127.0.0.1"), "errors do not quote the URL: {err}");
}

#[tokio::test]
async fn refused_connection_is_an_error() {
    let probe = HttpProber::new(TIMEOUT).unwrap().probe(&closed_port_url()).await;
    assert_eq!(probe.status, None);
    assert_eq!(probe.error.as_deref(), Some("connection refused"));
}

#[tokio::test]
async fn credentials_in_a_url_never_reach_the_error_text() {
    let url = closed_port_url().replace("http://", "http://admin:s3cret@");
    let probe = HttpProber::new(TIMEOUT).unwrap().probe(&url).await;
    let err = probe.error.unwrap();
    assert!(!err.contains("s3cret"), "{err}");
    let probe = HttpProber::new(TIMEOUT).unwrap().probe("http://user:s3cret@[::1").await;
    let err = probe.error.unwrap();
    assert!(err.starts_with("invalid URL") && !err.contains("s3cret"), "{err}");
}

fn region(name: &str, live: Option<String>, ready: Option<String>) -> RegionConfig {
    RegionConfig {
        name: name.into(),
        role: "secondary".into(),
        health_live: live,
        health_ready: ready,
        ..RegionConfig::default()
    }
}

#[tokio::test]
async fn hung_region_does_not_hold_up_the_others() {
    let ok = answering(200, "ok").await;
    let sick = answering(503, "draining").await;
    let hung = FakeServer::start(Mode::Hang).await;
    let cfg = Config {
        regions: vec![
            region("us-east-1", Some(hung.url("/health/live")), Some(hung.url("/health/ready"))),
            region("us-west-2", Some(ok.url("/health/live")), Some(ok.url("/health/ready"))),
            region("eu-central-1", Some(ok.url("/health/live")), Some(sick.url("/health/ready"))),
            region("ap-south-1", None, None),
        ],
        ..Config::default()
    };
    let obs = TrafficObserver::new(&cfg, TrafficTimeouts { route53: TIMEOUT, probe: TIMEOUT }).unwrap();
    assert_eq!(obs.name(), "traffic");
    let started = Instant::now();
    let view = obs.observe().await.expect("a traffic observation never fails as a whole");
    let took = started.elapsed();
    // Probes run concurrently: the whole observation takes about one timeout, not two or more.
    assert!(took < TIMEOUT * 2, "observation took {took:?}");

    let east = view.region("us-east-1").unwrap();
    for p in [east.live.as_ref().unwrap(), east.ready.as_ref().unwrap()] {
        assert_eq!(p.status, None);
        assert_eq!(p.error.as_deref(), Some("no answer within 500 ms"));
    }
    let west = view.region("us-west-2").unwrap();
    assert!(west.live.as_ref().unwrap().ok() && west.ready.as_ref().unwrap().ok());
    let eu = view.region("eu-central-1").unwrap();
    assert!(eu.live.as_ref().unwrap().ok());
    assert_eq!(eu.ready.as_ref().unwrap().status, Some(503));
    assert_eq!(eu.ready.as_ref().unwrap().error.as_deref(), Some("HTTP 503 Service Unavailable: draining"));
    let ap = view.region("ap-south-1").unwrap();
    assert!(ap.live.is_none() && ap.ready.is_none());
    // No Route 53 configured: no weights, no control-plane error.
    assert_eq!(view.control_plane_error, None);
    assert!(view.regions.iter().all(|r| r.weight.is_none() && r.deploy_ready.is_none()));
}
