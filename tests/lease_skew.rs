//! Clock skew on the commander Lease, against the REAL control plane (kube-apiserver on etcd):
//! the skew is measured from the API server's `Date` header, and a lease is taken over only
//! once it has expired by more than the bound. Skew is injected on both sides: into our clock
//! (the test offset of [`LeaseLock::with_clock_offset`]) and into the Lease's own timestamps (a
//! holder host whose clock runs behind or ahead writes them).

mod support;

use std::time::Duration;

use chrono::Utc;
use support::control_plane::ControlPlane;
use support::control_plane::objects::unique_namespace;
use warroom::backends::kube::lease::{LeaseClient, LeaseRecord};
use warroom::incident::commander::{CommanderLock, LeaseLock, LockState};

const ID: &str = "INC-20261206-090000";
const CTX: &str = "us-east-1";

async fn lock(cp: &ControlPlane, ns: &str, ttl_secs: u64) -> LeaseLock {
    LeaseLock::new(cp.client(CTX).await, CTX, ns, ID, Duration::from_secs(ttl_secs))
}

/// A Lease written by another host whose clock is `clock_offset` away from true time.
async fn foreign_lease(cp: &ControlPlane, ns: &str, clock_offset: chrono::Duration, duration_secs: i32) {
    let theirs = Utc::now() + clock_offset;
    let client = LeaseClient::new(cp.client(CTX).await, ns, &format!("warroom-{}", ID.to_ascii_lowercase()));
    let record = LeaseRecord {
        holder: Some("far@host pid 9".into()),
        acquired_at: Some(theirs),
        renewed_at: Some(theirs),
        duration_secs: Some(duration_secs),
        transitions: Some(0),
    };
    client.create(&record).await.expect("the foreign Lease");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_clock_ahead_is_measured_and_the_takeover_waits_out_the_bound() {
    let cp = ControlPlane::shared();
    let ns = unique_namespace("skew");
    cp.namespace(CTX, &ns).await;
    // A holder on a correct clock takes the lock for 2 s and never renews (it crashed).
    let LockState::Mine(crashed) = lock(cp, &ns, 2).await.acquire("crashed", false).await.unwrap() else {
        panic!("free at first")
    };
    // Our host's clock runs 3 s ahead: by it, that lease expires 3 s early.
    let ours = lock(cp, &ns, 2).await.with_clock_offset(chrono::Duration::seconds(3));
    let bound = ours.clock_bound().await;
    let skew = bound.skew.expect("measured");
    assert!(
        skew <= chrono::Duration::milliseconds(-2500) && skew >= chrono::Duration::milliseconds(-4500),
        "measured skew {skew:?} for a clock 3 s ahead"
    );
    assert!(bound.bound >= chrono::Duration::seconds(3), "{bound:?}");
    assert!(bound.note().is_some_and(|n| n.contains("ahead of the API server's")), "{bound:?}");

    let mut saw_waiting = false;
    loop {
        let before = Utc::now();
        let r = ours.acquire("ours", false).await.unwrap();
        match r {
            LockState::Theirs(h) => {
                assert_eq!(h.identity, "crashed");
                if before + chrono::Duration::seconds(3) >= crashed.expires_at {
                    // Expired by our clock, not by more than the bound: waiting, and saying why.
                    let note = h.clock.clone().unwrap_or_default();
                    assert!(
                        note.contains("clocks may differ by up to") && note.ends_with(": waiting"),
                        "{note}"
                    );
                    assert!(note.contains(&crashed.expires_at.format("%H:%M:%S").to_string()), "{note}");
                    saw_waiting = true;
                }
            }
            LockState::Mine(_) => {
                // Never before the true expiry (a skew-blind console took it 3 s early).
                assert!(Utc::now() >= crashed.expires_at, "taken before the holder's true expiry");
                break;
            }
            LockState::Free => panic!("acquire never leaves it free"),
        }
        assert!(
            Utc::now() < crashed.expires_at + chrono::Duration::seconds(6),
            "never taken after the bound"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(saw_waiting, "the refusal within the bound was never seen");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holder_clock_behind_is_waited_out_and_one_ahead_is_named() {
    let cp = ControlPlane::shared();
    let ns = unique_namespace("skew");
    cp.namespace(CTX, &ns).await;
    // A holder whose clock is 29.5 s behind writes a 30 s lease: by our clock it ends in 0.5 s.
    foreign_lease(cp, &ns, chrono::Duration::milliseconds(-29_500), 30).await;
    let ours = lock(cp, &ns, 30).await;
    let bound = ours.clock_bound().await;
    assert!(bound.skew.is_some(), "{bound:?}");
    let expires = ours.status("ours").await.unwrap();
    let LockState::Theirs(h) = expires else { panic!("live at first: {expires:?}") };
    let mut saw_waiting = false;
    loop {
        let now = Utc::now();
        match ours.acquire("ours", false).await.unwrap() {
            LockState::Theirs(t) if now >= h.expires_at => {
                assert!(t.clock.as_deref().is_some_and(|c| c.ends_with(": waiting")), "{t:?}");
                saw_waiting = true;
            }
            LockState::Theirs(_) => {}
            LockState::Mine(_) => {
                assert!(Utc::now() >= h.expires_at + bound.bound, "taken within the bound after the expiry");
                break;
            }
            LockState::Free => panic!("acquire never leaves it free"),
        }
        assert!(now < h.expires_at + bound.bound + chrono::Duration::seconds(3), "never taken");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(saw_waiting, "the refusal within the bound was never seen");

    // A holder whose clock runs 10 s ahead: its renewTime is in our future; named, never taken.
    let ns2 = unique_namespace("skew");
    cp.namespace(CTX, &ns2).await;
    foreign_lease(cp, &ns2, chrono::Duration::seconds(10), 2).await;
    let ours = lock(cp, &ns2, 30).await;
    match ours.acquire("ours", false).await.unwrap() {
        LockState::Theirs(t) => {
            let note = t.clock.unwrap_or_default();
            assert!(note.starts_with("the holder's clock runs at least"), "{note}");
        }
        other => panic!("a lease renewed in our future is live: {other:?}"),
    }
}
