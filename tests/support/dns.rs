//! Real authoritative DNS servers for the tests: Knot DNS (`knotd` from Debian's `knot`
//! package), one process per server on its own ephemeral loopback port (UDP and TCP), with its
//! own config, zone file, database and control socket in a temp dir. Tests change a zone as
//! Route 53 would change its servers, through `knotc` (argv only, no shell).
#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const INSTALL_HINT: &str =
    "Knot DNS is needed for these tests: apt-get install knot (scripts/install-test-deps.sh)";

/// The zone every server serves.
pub const ZONE: &str = "example.com";

/// One running `knotd`.
pub struct Knot {
    /// Where it answers (UDP and TCP).
    pub addr: SocketAddr,
    dir: tempfile::TempDir,
    child: Child,
}

fn binary(name: &str) -> PathBuf {
    ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]
        .iter()
        .map(|d| Path::new(d).join(name))
        .chain(
            std::env::var_os("PATH")
                .iter()
                .flat_map(|p| std::env::split_paths(p).map(|d| d.join(name)))
                .collect::<Vec<_>>(),
        )
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{name} not found. {INSTALL_HINT}"))
}

/// A loopback port free for both UDP and TCP right now.
fn free_port() -> u16 {
    for _ in 0..50 {
        let udp = UdpSocket::bind("127.0.0.1:0").expect("bind udp");
        let port = udp.local_addr().expect("addr").port();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no loopback port free for both UDP and TCP");
}

/// An address where nothing answers DNS: a UDP port that was bound and closed again.
pub fn unreachable_addr() -> SocketAddr {
    let s = UdpSocket::bind("127.0.0.1:0").expect("bind");
    s.local_addr().expect("addr")
}

/// A zone record: owner relative to the zone (`api`), TTL, type, values.
pub type Rec<'a> = (&'a str, u32, &'a str, &'a [&'a str]);

fn zone_text(records: &[Rec<'_>]) -> String {
    let mut z = format!(
        "$ORIGIN {ZONE}.\n$TTL 60\n@ SOA ns1.{ZONE}. hostmaster.{ZONE}. 1 3600 600 86400 60\n@ NS ns1.{ZONE}.\nns1 A 127.0.0.1\n"
    );
    for (owner, ttl, rtype, values) in records {
        for v in *values {
            z.push_str(&format!("{owner} {ttl} {rtype} {v}\n"));
        }
    }
    z
}

impl Knot {
    /// Start a server for [`ZONE`] holding `records`; returns when its control socket answers.
    pub fn start(records: &[Rec<'_>]) -> Knot {
        let dir = tempfile::tempdir().expect("temp dir");
        let d = dir.path();
        for sub in ["run", "db", "zones"] {
            std::fs::create_dir(d.join(sub)).expect("mkdir");
        }
        std::fs::write(d.join("zones").join(format!("{ZONE}.zone")), zone_text(records)).expect("zone file");
        let port = free_port();
        let conf = format!(
            "server:\n    rundir: \"{run}\"\n    listen: 127.0.0.1@{port}\n    udp-workers: 1\n    tcp-workers: 1\n    background-workers: 1\n\
             database:\n    storage: \"{db}\"\n\
             control:\n    listen: \"{run}/knot.sock\"\n\
             log:\n  - target: stderr\n    any: warning\n\
             template:\n  - id: default\n    storage: \"{zones}\"\n    zonefile-sync: -1\n    zonefile-load: whole\n    journal-content: none\n\
             zone:\n  - domain: {ZONE}\n    file: {ZONE}.zone\n",
            run = d.join("run").display(),
            db = d.join("db").display(),
            zones = d.join("zones").display(),
        );
        std::fs::write(d.join("knot.conf"), conf).expect("knot.conf");
        let log = std::fs::File::create(d.join("knotd.log")).expect("log");
        let mut cmd = Command::new(binary("knotd"));
        cmd.arg("-c").arg(d.join("knot.conf")).stdin(Stdio::null()).stdout(Stdio::null()).stderr(log);
        // SAFETY: prctl is async-signal-safe; the child dies with the thread that started it.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start knotd: {e}. {INSTALL_HINT}"));
        let mut knot = Knot { addr: SocketAddr::from(([127, 0, 0, 1], port)), dir, child };
        knot.wait_ready();
        knot
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("knotd exited ({status}): {}", self.log());
            }
            let ok = self.knotc(&["zone-status", ZONE]).is_ok_and(|out| out.contains("serial"));
            if ok {
                return;
            }
            assert!(Instant::now() < deadline, "knotd did not come up in 20 s: {}", self.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The server's own log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("knotd.log")).unwrap_or_default()
    }

    fn knotc(&self, args: &[&str]) -> Result<String, String> {
        let sock = self.dir.path().join("run").join("knot.sock");
        let out = Command::new(binary("knotc"))
            .arg("-s")
            .arg(&sock)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("knotc: {e}"))?;
        let text =
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        if out.status.success() && !text.contains("error") { Ok(text) } else { Err(text) }
    }

    /// Replace `owner`'s `rtype` records with `values` in one transaction (as a Route 53
    /// server applies a change): zone-begin, zone-unset, zone-set per value, zone-commit.
    pub fn set(&self, owner: &str, ttl: u32, rtype: &str, values: &[&str]) {
        let ttl = ttl.to_string();
        self.knotc(&["zone-begin", ZONE]).expect("zone-begin");
        let step = || -> Result<(), String> {
            // Unsetting a record that is not there is an error for knotc: ignore that one.
            let _ = self.knotc(&["zone-unset", ZONE, owner, rtype]);
            for v in values {
                self.knotc(&["zone-set", ZONE, owner, &ttl, rtype, v])?;
            }
            self.knotc(&["zone-commit", ZONE]).map(|_| ())
        };
        if let Err(e) = step() {
            let _ = self.knotc(&["zone-abort", ZONE]);
            panic!("updating {owner} {rtype} on {}: {e}", self.addr);
        }
    }

    /// Stop the server now (it becomes unreachable).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Knot {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Stops a [`follow_route53`] task when dropped.
pub struct Follower(tokio::task::JoinHandle<()>);

impl Drop for Follower {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Keep `knots` answering what Route 53 (moto) holds for `owner` (relative to [`ZONE`]), as
/// Route 53 propagates a change to its own servers: every 50 ms the values of the A record sets
/// with weight > 0 (all of them when every weight is 0) are written to the servers, one
/// transaction each, when they changed. Runs until the returned guard is dropped.
pub fn follow_route53(
    client: aws_sdk_route53::Client,
    zone_id: String,
    owner: &'static str,
    knots: std::sync::Arc<Vec<Knot>>,
) -> Follower {
    let name = format!("{owner}.{ZONE}.");
    Follower(tokio::spawn(async move {
        let mut served: Vec<String> = Vec::new();
        loop {
            if let Ok(resp) = client.list_resource_record_sets().hosted_zone_id(&zone_id).send().await {
                let sets: Vec<_> = resp
                    .resource_record_sets()
                    .iter()
                    .filter(|r| r.name() == name && r.r#type().as_str() == "A")
                    .collect();
                let all_zero = sets.iter().all(|r| r.weight().unwrap_or(0) == 0);
                let mut want: Vec<String> = sets
                    .iter()
                    .filter(|r| all_zero || r.weight().unwrap_or(0) > 0)
                    .flat_map(|r| r.resource_records().iter().map(|v| v.value().to_string()))
                    .collect();
                want.sort();
                if !want.is_empty() && want != served {
                    let knots = knots.clone();
                    let values = want.clone();
                    tokio::task::spawn_blocking(move || {
                        let v: Vec<&str> = values.iter().map(String::as_str).collect();
                        for k in knots.iter() {
                            k.set(owner, 60, "A", &v);
                        }
                    })
                    .await
                    .expect("zone update");
                    served = want;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }))
}
