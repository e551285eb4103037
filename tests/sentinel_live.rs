//! The Redis Sentinel backend against a real master + replica + 3 Sentinels on loopback.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use support::lab::redis::{MASTER, RedisLab, query};
use support::lab::wait_until;
use warroom::backends::model::SentinelView;
use warroom::backends::sentinel::{SentinelObserver, SentinelOperator};
use warroom::backends::{Observe, Observed, Operate, Snapshot};
use warroom::operation::{Operation, Verify};

const TIMEOUT: Duration = Duration::from_secs(2);

fn observed(v: SentinelView) -> Observed {
    Observed { sentinel: Arc::new(Snapshot::fresh(v, Utc::now())), ..Observed::default() }
}

async fn view(obs: &SentinelObserver) -> SentinelView {
    obs.observe().await.unwrap_or_else(|e| panic!("observe failed: {e}"))
}

fn failover_op(lab: &RedisLab, via: usize, from: &str) -> Operation {
    Operation::SentinelFailover {
        master: MASTER.into(),
        sentinel: lab.sentinels[via].addr(),
        from_master: Some(from.to_string()),
    }
}

/// Pub/sub clients connected to Sentinel `i`.
async fn psub_clients(lab: &RedisLab, i: usize) -> Result<usize, String> {
    let list: String = query(lab.sentinels[i].port, redis::cmd("CLIENT").arg("LIST")).await?;
    Ok(list.lines().filter(|l| l.split_whitespace().any(|f| f.starts_with("psub=") && f != "psub=0")).count())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn observes_master_agreement_quorum_and_replicas() {
    let mut lab = RedisLab::start().await;
    let obs = SentinelObserver::new(&lab.config(), TIMEOUT);
    let v = view(&obs).await;
    let master = lab.servers[0].addr();
    assert_eq!(v.master_name, MASTER);
    assert_eq!(v.sentinels.len(), 3);
    for (s, p) in v.sentinels.iter().zip(&lab.sentinels) {
        assert_eq!(s.addr, p.addr());
        assert_eq!(s.master.as_deref(), Some(master.as_str()), "{s:?}");
        assert!(s.error.is_none(), "{s:?}");
    }
    assert_eq!(v.agreed_master(), Some(master.as_str()));
    assert!(matches!(&v.quorum, Some(Ok(m)) if m.contains("OK")), "{:?}", v.quorum);
    assert_eq!(v.master_role.as_deref(), Some("master"));
    assert_eq!(v.replicas.len(), 1, "{:?}", v.replicas);
    let r = &v.replicas[0];
    assert_eq!(r.addr, lab.servers[1].addr());
    assert!(r.link_up && r.flags == "slave", "{r:?}");
    assert!(r.offset_lag.is_some(), "{r:?}");
    assert!(!v.failover_in_progress);
    let checks = failover_op(&lab, 0, &master).precheck(&observed(v));
    assert!(checks.iter().all(|c| c.ok), "{checks:?}");

    // One Sentinel gone: its row has the error, the others still agree.
    lab.kill9_sentinel(2);
    let v = view(&obs).await;
    assert!(v.sentinels[2].error.is_some() && v.sentinels[2].master.is_none(), "{:?}", v.sentinels[2]);
    assert!(v.sentinels[..2].iter().all(|s| s.error.is_none()));
    assert_eq!(v.agreed_master(), Some(master.as_str()));

    // A bad address is that Sentinel's error, not a panic.
    let mut cfg = lab.config();
    cfg.addrs.push("not-an-address".into());
    let v = view(&SentinelObserver::new(&cfg, TIMEOUT)).await;
    assert!(
        v.sentinels[3].error.as_deref().is_some_and(|e| e.contains("expected host:port")),
        "{:?}",
        v.sentinels
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_failover_is_verified_and_not_repeated() {
    let mut lab = RedisLab::start().await;
    let obs = SentinelObserver::new(&lab.config(), TIMEOUT);
    obs.start();
    wait_until("subscribed to every Sentinel", Duration::from_secs(10), || async {
        let mut n = 0;
        for i in 0..3 {
            n += psub_clients(&lab, i).await?;
        }
        (n == 3).then_some(()).ok_or(format!("{n} subscriptions"))
    })
    .await;
    // Sentinel 0 goes away and comes back: its subscriber reconnects.
    lab.kill9_sentinel(0);
    lab.start_sentinel(0);
    lab.wait_settled().await;
    wait_until("resubscribed to Sentinel 0", Duration::from_secs(15), || async {
        (psub_clients(&lab, 0).await? == 1).then_some(()).ok_or_else(|| "not yet".to_string())
    })
    .await;

    let before = view(&obs).await;
    let old = before.agreed_master().expect("agreed master").to_string();
    let op = SentinelOperator::new(&lab.config(), TIMEOUT);
    let failover = failover_op(&lab, 1, &old);
    let summary = op.execute(&failover).await.expect("failover accepted");
    let started = Instant::now();
    assert!(summary.contains("accepted by") && summary.contains(&old), "{summary}");

    // Same operator again: its own guard refuses.
    let again = op.execute(&failover).await.expect_err("double execution");
    assert!(again.contains("refused") && again.contains("failover-timeout"), "{again}");
    // Another operator (no memory of the first request): the live state refuses.
    let other = SentinelOperator::new(&lab.config(), TIMEOUT);
    let e = other.execute(&failover_op(&lab, 2, &old)).await.expect_err("failover already running");
    assert!(e.contains("refused") && (e.contains("in progress") || e.contains("stale")), "{e}");

    let new = wait_until("failover verified", Duration::from_secs(15), || async {
        match failover.verify(&observed(obs.observe().await?)) {
            Verify::Holds(why) => Ok(why),
            Verify::NotYet(why) => Err(why),
        }
    })
    .await;
    eprintln!("FIGURE manual failover accepted -> verified: {:?} ({new})", started.elapsed());
    let v = view(&obs).await;
    assert_ne!(v.agreed_master(), Some(old.as_str()));
    assert_eq!(v.agreed_master(), Some(lab.servers[1].addr().as_str()));
    let switches: Vec<&str> =
        v.events.iter().filter(|e| e.kind == "+switch-master").map(|e| e.sentinel.as_str()).collect();
    assert!(switches.contains(&lab.sentinels[0].addr().as_str()), "events: {:?}", v.events);

    let wrong = op.execute(&Operation::CheckPrimary).await.expect_err("not a sentinel op");
    assert!(wrong.contains("not a Sentinel operation"), "{wrong}");

    // Dropping the observer ends its subscriber tasks.
    drop(obs);
    wait_until("subscriptions closed after drop", Duration::from_secs(10), || async {
        let mut n = 0;
        for i in 0..3 {
            n += psub_clients(&lab, i).await?;
        }
        (n == 0).then_some(()).ok_or(format!("{n} subscriptions left"))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_master_failover_is_seen_through_pubsub() {
    let mut lab = RedisLab::start().await;
    let obs = SentinelObserver::new(&lab.config(), TIMEOUT);
    let notify = obs.notify_handle();
    let before = view(&obs).await; // starts the subscribers
    let old = before.agreed_master().expect("agreed").to_string();
    wait_until("subscribed", Duration::from_secs(10), || async {
        let mut n = 0;
        for i in 0..3 {
            n += psub_clients(&lab, i).await?;
        }
        (n == 3).then_some(()).ok_or(format!("{n}"))
    })
    .await;
    // Lab notes: let Sentinel settle a little before killing the master.
    tokio::time::sleep(Duration::from_secs(2)).await;

    // Drain a wake-up stored by any earlier event, so the one below comes from the kill.
    while tokio::time::timeout(Duration::from_millis(20), notify.notified()).await.is_ok() {}
    let earlier = view(&obs).await.events.len();
    lab.kill9_server(lab.server_index(&old));
    let killed = Instant::now();
    tokio::time::timeout(Duration::from_secs(10), notify.notified()).await.expect("notify fired on an event");
    let first_event = killed.elapsed();
    assert!(view(&obs).await.events.len() > earlier, "the wake-up came with a new event");

    // Re-poll on every notification (as the poller does), at least once a second.
    let (v, switched_at, seen_at) = wait_until("new master observed", Duration::from_secs(20), || async {
        let _ = tokio::time::timeout(Duration::from_secs(1), notify.notified()).await;
        let v = obs.observe().await?;
        let switch = v.events.iter().find(|e| e.kind == "+switch-master").map(|e| e.at);
        match (switch, v.agreed_master()) {
            (Some(at), Some(m)) if m != old => Ok((v.clone(), at, Utc::now())),
            _ => Err(format!("agreed {:?}, events {:?}", v.agreed_master(), v.events.len())),
        }
    })
    .await;
    eprintln!(
        "FIGURE kill -9 master -> first event {first_event:?}; -> observer shows new master {:?}; \
         +switch-master -> observer {} ms",
        killed.elapsed(),
        (seen_at - switched_at).num_milliseconds()
    );
    let kinds: Vec<&str> = v.events.iter().map(|e| e.kind.as_str()).collect();
    for k in ["+sdown", "+odown", "+switch-master"] {
        assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
    }
    let sw = v.events.iter().find(|e| e.kind == "+switch-master").expect("switch");
    assert!(sw.detail.starts_with(MASTER) && sw.detail.contains(&old.replace(':', " ")), "{sw:?}");
    assert_eq!(v.agreed_master(), Some(lab.servers[1].addr().as_str()));
    let op = failover_op(&lab, 0, &old);
    assert!(matches!(op.verify(&observed(v)), Verify::Holds(_)));
}
