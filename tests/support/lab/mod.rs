//! Real services on loopback for backend tests: PostgreSQL primary + streaming replica
//! ([`postgres::PgLab`]) and Redis master + replica + 3 Sentinels ([`redis::RedisLab`]).
//!
//! Every lab lives in its own temp dir on ephemeral ports and is torn down on drop, also
//! when the test panics. A missing server binary panics with what to install.

pub mod postgres;
pub mod redis;

use std::future::Future;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A free TCP port on 127.0.0.1 for a server the test is about to start.
///
/// Ports come from a per-process counter below the kernel's ephemeral range (32768+), so two
/// labs started in parallel by one test binary never get the same port, and no outgoing
/// connection can be handed one of them in between; each candidate is checked by binding it.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let offset = (std::process::id() % 500) * 24;
    for _ in 0..2_000 {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = (20_000 + (offset + n) % 12_000) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free TCP port found on 127.0.0.1 between 20000 and 32767");
}

/// `path` if it exists, else panic saying what to install.
pub fn require_file(path: &Path, install: &str) -> PathBuf {
    assert!(path.exists(), "{} is missing: install it with `{install}`", path.display());
    path.to_path_buf()
}

/// A binary found on `PATH`, else panic saying what to install.
pub fn require_on_path(bin: &str, install: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(bin))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("`{bin}` not found on PATH: install it with `{install}`"))
}

/// Whether the tests run as root (server tools must then run as the `postgres` user).
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Send `sig` to `pid` (errors for vanished processes are ignored).
pub fn signal(pid: i32, sig: i32) {
    // SAFETY: kill(2) with a pid we read from the process table; a stale pid only yields ESRCH.
    unsafe {
        libc::kill(pid, sig);
    }
}

/// Whether `pid` is alive (a zombie counts as dead).
pub fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => proc_state(&stat).is_some_and(|s| s != 'Z' && s != 'X'),
        Err(_) => false,
    }
}

/// The state letter of a `/proc/<pid>/stat` line.
fn proc_state(stat: &str) -> Option<char> {
    stat.rsplit_once(')').and_then(|(_, rest)| rest.trim_start().chars().next())
}

/// Direct children of `pid` (from `/proc/*/stat`).
pub fn children_of(pid: i32) -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else { return vec![] };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|p| {
            std::fs::read_to_string(format!("/proc/{p}/stat"))
                .ok()
                .and_then(|s| {
                    s.rsplit_once(')').map(|(_, r)| r.split_whitespace().nth(1).map(str::to_string))
                })
                .flatten()
                .and_then(|pp| pp.parse::<i32>().ok())
                == Some(pid)
        })
        .collect()
}

/// Wait until every pid is gone, up to `within`.
pub fn wait_gone(pids: &[i32], within: Duration) {
    let end = Instant::now() + within;
    while pids.iter().any(|p| alive(*p)) {
        assert!(Instant::now() < end, "processes {pids:?} still alive after {within:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Poll `probe` every 50 ms until it returns `Ok`, or panic after `within` with `what` and
/// the last error.
pub async fn wait_until<T, F, Fut>(what: &str, within: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let end = Instant::now() + within;
    loop {
        let last = match probe().await {
            Ok(v) => return v,
            Err(e) => e,
        };
        if Instant::now() >= end {
            panic!("timed out after {within:?} waiting for {what}; last: {last}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
