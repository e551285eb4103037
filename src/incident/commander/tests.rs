//! File lock and task tests: real files, real time (short ttls).

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;

use super::*;

const ID: &str = "INC-20261126-120000";

fn lock(dir: &std::path::Path, ttl_ms: u64) -> FileLock {
    FileLock::new(dir, ID, Duration::from_millis(ttl_ms)).expect("lock")
}

#[test]
fn only_one_holder_until_expiry_or_takeover() {
    let dir = tempfile::tempdir().unwrap();
    let l = lock(dir.path(), 1500);
    assert_eq!(l.status_blocking("a").unwrap(), LockState::Free);
    let LockState::Mine(a) = l.acquire_blocking("a", false).unwrap() else { panic!("a takes a free lock") };
    match l.acquire_blocking("b", false).unwrap() {
        LockState::Theirs(h) => assert_eq!(h.identity, "a"),
        other => panic!("b must see a's claim, got {other:?}"),
    }
    // Renewal keeps the acquisition time and pushes the expiry.
    std::thread::sleep(Duration::from_millis(50));
    let LockState::Mine(a2) = l.renew_blocking("a").unwrap() else { panic!("a renews") };
    assert_eq!(a2.acquired_at, a.acquired_at);
    assert!(a2.expires_at > a.expires_at);
    // b cannot renew or release a's lock.
    assert!(matches!(l.renew_blocking("b").unwrap(), LockState::Theirs(_)));
    assert!(matches!(l.release_blocking("b").unwrap(), LockState::Theirs(_)));
    // A forced take (explicit handover) wins; a then sees b.
    assert!(matches!(l.acquire_blocking("b", true).unwrap(), LockState::Mine(_)));
    match l.renew_blocking("a").unwrap() {
        LockState::Theirs(h) => assert_eq!(h.identity, "b"),
        other => panic!("a lost it to b, got {other:?}"),
    }
    // Expiry: after the ttl, anyone takes it without force.
    std::thread::sleep(Duration::from_millis(1600));
    assert_eq!(l.status_blocking("a").unwrap(), LockState::Free);
    assert!(matches!(l.acquire_blocking("a", false).unwrap(), LockState::Mine(_)));
    assert_eq!(l.release_blocking("a").unwrap(), LockState::Free);
    assert_eq!(l.status_blocking("b").unwrap(), LockState::Free);
}

#[test]
fn file_is_private_json_and_damage_is_reported_with_position() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let l = lock(dir.path(), 30_000);
    l.acquire_blocking("alice@ops1 pid 7", false).unwrap();
    let meta = std::fs::metadata(l.path()).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(l.path()).unwrap()).unwrap();
    assert_eq!(v["holder"]["identity"], "alice@ops1 pid 7");
    assert_eq!(v["transitions"], 1);
    // No temp file is left behind.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into())
        .collect();
    assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");

    std::fs::write(l.path(), "{\n  \"holder\": 3\n}\n").unwrap();
    let err = l.acquire_blocking("bob", false).unwrap_err();
    assert!(err.contains(&format!("{}:2:", l.path().display())), "{err}");
    assert!(err.contains("not a commander lock record"), "{err}");
    // An explicit takeover repairs it.
    assert!(matches!(l.acquire_blocking("bob", true).unwrap(), LockState::Mine(_)));
}

#[test]
fn symlinked_lock_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let l = lock(dir.path(), 30_000);
    std::os::unix::fs::symlink("/etc/passwd", l.path()).unwrap();
    let err = l.status_blocking("a").unwrap_err();
    assert!(err.contains("symlink"), "{err}");
}

#[test]
fn bad_ids_and_ttls_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    assert!(FileLock::new(dir.path(), "../../etc/x", Duration::from_secs(1)).is_err());
    assert!(FileLock::new(dir.path(), ID, Duration::ZERO).is_err());
}

#[test]
fn concurrent_acquirers_on_threads_have_exactly_one_winner() {
    let dir = tempfile::tempdir().unwrap();
    let l = Arc::new(lock(dir.path(), 30_000));
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let l = l.clone();
            std::thread::spawn(move || l.acquire_blocking(&format!("c{i}"), false).unwrap())
        })
        .collect();
    let results: Vec<LockState> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let winners = results.iter().filter(|r| matches!(r, LockState::Mine(_))).count();
    assert_eq!(winners, 1, "{results:#?}");
}

async fn wait_view(
    rx: &mut tokio::sync::watch::Receiver<CommanderView>,
    what: &str,
    pred: impl FnMut(&CommanderView) -> bool,
) -> CommanderView {
    let r =
        tokio::time::timeout(Duration::from_secs(5), rx.wait_for(pred)).await.map(|v| v.map(|v| v.clone()));
    match r {
        Ok(v) => v.expect("task alive"),
        Err(_) => panic!("timed out waiting for {what}: {:?}", *rx.borrow()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn task_renews_reports_loss_at_once_and_releases_on_drop() {
    let dir = tempfile::tempdir().unwrap();
    let l: Arc<dyn CommanderLock> = Arc::new(lock(dir.path(), 900));
    let (mut a, a_req) = spawn(l.clone(), "a".into(), true);
    let v = wait_view(&mut a, "a to hold it", |v| matches!(v, CommanderView::Mine { .. })).await;
    let CommanderView::Mine { holder: first, .. } = v else { unreachable!() };
    // Held well past the ttl: the task renews it.
    tokio::time::sleep(Duration::from_millis(2000)).await;
    assert!(a.borrow().held_by_me(Utc::now()), "{:?}", *a.borrow());
    let (mut b, b_req) = spawn(l.clone(), "b".into(), true);
    let v = wait_view(&mut b, "b to see a", |v| matches!(v, CommanderView::Theirs { .. })).await;
    assert_eq!(v.other_holder().unwrap().identity, "a");
    assert_eq!(v.other_holder().unwrap().acquired_at, first.acquired_at);
    // b takes over: b reports from whom, a reports the loss within its check interval.
    b_req.send(LockRequest::Take { force: true }).await.unwrap();
    let v = wait_view(&mut b, "b to take over", |v| matches!(v, CommanderView::Mine { .. })).await;
    assert!(matches!(v, CommanderView::Mine { took_over_from: Some(ref f), .. } if f == "a"), "{v:?}");
    let v = wait_view(&mut a, "a to report the loss", |v| !matches!(v, CommanderView::Mine { .. })).await;
    assert_eq!(v, CommanderView::Lost { reason: "taken over by b".into() });
    // Dropping b's sender releases the lock.
    drop(b_req);
    let l2 = l.clone();
    tokio::time::timeout(Duration::from_secs(5), async move {
        while l2.status("x").await.unwrap() != LockState::Free {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("released after the task ended");
    drop(a_req);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_guard_refuses_while_held_and_releases() {
    let dir = tempfile::tempdir().unwrap();
    let incidents = dir.path();
    let cfg = crate::config::Config {
        commander: Some(crate::config::model::CommanderConfig { ttl_secs: 3, ..Default::default() }),
        ..Default::default()
    };
    let g = acquire_for_exec(&cfg, incidents, ID, "exec-1").await.expect("free lock");
    g.check().expect("held");
    let err = acquire_for_exec(&cfg, incidents, ID, "exec-2").await.err().expect("held by exec-1");
    assert!(err.starts_with("exec-1 holds the commander lock"), "{err}");
    g.release().await.expect("release");
    let g2 = acquire_for_exec(&cfg, incidents, ID, "exec-2").await.expect("free again");
    g2.check().expect("held");
}

/// A child process to play a holder that dies (`sleep`, killed by the test).
fn holder_process() -> std::process::Child {
    std::process::Command::new("sleep").arg("60").spawn().expect("sleep")
}

#[test]
fn a_dead_holder_on_this_host_is_released_at_once_a_live_or_remote_one_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let me = lock(dir.path(), 30_000);
    assert!(Owner::current().is_some(), "this test needs /proc");
    let mut child = holder_process();
    let owner = Owner::of_pid(child.id()).expect("the child's owner record");
    let theirs = lock(dir.path(), 30_000).claimed_by(Some(owner.clone()));
    assert!(matches!(theirs.acquire_blocking("dead@host pid X", false).unwrap(), LockState::Mine(_)));
    assert_eq!(me.recorded_owner().unwrap(), Some(owner.clone()), "the claim names its process");
    // Alive: honoured (a take asks for force).
    assert!(matches!(me.status_blocking("me").unwrap(), LockState::Theirs(_)));
    assert!(matches!(me.acquire_blocking("me", false).unwrap(), LockState::Theirs(_)));
    // kill -9: gone at once (even before it is reaped: a zombie holds no lock), long before the ttl.
    child.kill().unwrap();
    let start = std::time::Instant::now();
    while std::fs::read_to_string(format!("/proc/{}/stat", child.id())).is_ok_and(|s| !s.contains(") Z")) {
        assert!(start.elapsed() < Duration::from_secs(5), "the child did not die");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(me.status_blocking("me").unwrap(), LockState::Free, "a zombie holds nothing");
    assert_eq!(me.recorded_owner().unwrap(), None, "released in the file too");
    child.wait().unwrap();
    assert!(matches!(me.acquire_blocking("me", false).unwrap(), LockState::Mine(_)), "taken without force");

    // A claim from another host (or container, or boot) is left to its ttl.
    let mut gone = owner.clone();
    for change in [
        |o: &mut Owner| o.host = "elsewhere".into(),
        |o: &mut Owner| o.pid_ns = "pid:[1]".into(),
        |o: &mut Owner| o.boot_id = "another-boot".into(),
    ] {
        let mut o = gone.clone();
        change(&mut o);
        let other = lock(dir.path(), 30_000).claimed_by(Some(o));
        assert!(matches!(other.acquire_blocking("remote", true).unwrap(), LockState::Mine(_)));
        assert!(matches!(me.status_blocking("me").unwrap(), LockState::Theirs(_)), "not reaped");
    }
    // The pid reused by another process (another start time): gone.
    gone.pid = std::process::id();
    gone.started += 1;
    let reused = lock(dir.path(), 30_000).claimed_by(Some(gone));
    assert!(matches!(reused.acquire_blocking("old", true).unwrap(), LockState::Mine(_)));
    assert_eq!(me.status_blocking("me").unwrap(), LockState::Free);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_takeover_reaches_the_old_holder_within_a_second() {
    let dir = tempfile::tempdir().unwrap();
    // The default ttl (30 s): renewals every 10 s, so only the between-renewal look can see it.
    let l: Arc<dyn CommanderLock> = Arc::new(lock(dir.path(), 30_000));
    let mut worst = Duration::ZERO;
    for round in 0..5 {
        let (old_id, new_id) = (format!("old{round}"), format!("new{round}"));
        let (mut old, old_req) = spawn(l.clone(), old_id.clone(), false);
        wait_view(&mut old, "the old console to start", |v| *v != CommanderView::Pending).await;
        old_req.send(LockRequest::Take { force: true }).await.unwrap();
        wait_view(&mut old, "the old holder", |v| matches!(v, CommanderView::Mine { .. })).await;
        let (mut new, new_req) = spawn(l.clone(), new_id.clone(), false);
        wait_view(&mut new, "the new console to see it", |v| matches!(v, CommanderView::Theirs { .. })).await;
        // Let the old holder's look land anywhere in its interval.
        tokio::time::sleep(Duration::from_millis(37 * round)).await;
        new_req.send(LockRequest::Take { force: true }).await.unwrap();
        wait_view(&mut new, "the new holder", |v| matches!(v, CommanderView::Mine { .. })).await;
        let taken = std::time::Instant::now();
        let v = wait_view(&mut old, "the old holder to see it", |v| !matches!(v, CommanderView::Mine { .. }))
            .await;
        let latency = taken.elapsed();
        assert_eq!(v, CommanderView::Lost { reason: format!("taken over by {new_id}") });
        worst = worst.max(latency);
        drop(old_req);
        new_req.send(LockRequest::Release).await.unwrap();
        wait_view(&mut new, "released", |v| matches!(v, CommanderView::Free { .. })).await;
    }
    println!("takeover latency, worst of 5: {} ms", worst.as_millis());
    assert!(worst < Duration::from_secs(1), "a takeover took {worst:?} to reach the old holder");
}
