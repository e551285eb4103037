//! Redis master + replica + 3 Sentinels on loopback, with pre-seeded Sentinel configs so the
//! Sentinels know each other and the replica from the start.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tempfile::TempDir;
use warroom::config::model::SentinelConfig;

use super::{free_port, require_on_path, signal, wait_until};

const INSTALL: &str = "apt-get install -y redis-server redis-sentinel";

/// Monitored master name.
pub const MASTER: &str = "mymaster";

/// One Redis process (server or Sentinel).
#[derive(Debug)]
pub struct RedisProc {
    /// TCP port on 127.0.0.1.
    pub port: u16,
    conf: PathBuf,
    sentinel: bool,
    child: Option<Child>,
}

impl RedisProc {
    /// `127.0.0.1:port`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Pid while running.
    pub fn pid(&self) -> Option<i32> {
        self.child.as_ref().map(|c| c.id() as i32)
    }
}

/// A running Redis estate; every process is killed on drop.
pub struct RedisLab {
    dir: TempDir,
    bin: PathBuf,
    /// Servers: index 0 starts as master, 1 as its replica.
    pub servers: Vec<RedisProc>,
    /// Three Sentinels, quorum 2.
    pub sentinels: Vec<RedisProc>,
}

impl RedisLab {
    /// Start everything and wait until the estate is settled (replica linked, quorum, every
    /// Sentinel knowing the replica and the two other Sentinels).
    pub async fn start() -> RedisLab {
        let bin = require_on_path("redis-server", INSTALL);
        require_on_path("redis-sentinel", INSTALL);
        let dir = tempfile::Builder::new().prefix("warroom-redis").tempdir().expect("temp dir");
        let (mp, rp) = (free_port(), free_port());
        let sports = [free_port(), free_port(), free_port()];
        let ids: Vec<String> = sports.iter().map(|p| format!("{p:040x}")).collect();
        let base = |port: u16, name: &str| {
            format!(
                "port {port}\nbind 127.0.0.1\nprotected-mode no\ndaemonize no\ndir {}\nlogfile {}\n",
                dir.path().display(),
                dir.path().join(format!("{name}.log")).display()
            )
        };
        let server_conf = |port: u16, name: &str, replica_of: Option<u16>| {
            let mut c = base(port, name);
            c.push_str("save \"\"\nappendonly no\nrepl-diskless-sync-delay 0\n");
            c.push_str(&format!("dbfilename {name}.rdb\n"));
            if let Some(m) = replica_of {
                c.push_str(&format!("replicaof 127.0.0.1 {m}\n"));
            }
            c
        };
        let mut servers = vec![];
        for (i, (port, of)) in [(mp, None), (rp, Some(mp))].into_iter().enumerate() {
            let name = format!("redis-{i}");
            let conf = dir.path().join(format!("{name}.conf"));
            std::fs::write(&conf, server_conf(port, &name, of)).expect("write redis conf");
            servers.push(RedisProc { port, conf, sentinel: false, child: None });
        }
        let mut sentinels = vec![];
        for (i, port) in sports.iter().enumerate() {
            let name = format!("sentinel-{i}");
            let mut c = base(*port, &name);
            c.push_str(&format!(
                "sentinel myid {}\nsentinel resolve-hostnames no\n\
                 sentinel monitor {MASTER} 127.0.0.1 {mp} 2\n\
                 sentinel down-after-milliseconds {MASTER} 1000\n\
                 sentinel failover-timeout {MASTER} 5000\n\
                 sentinel known-replica {MASTER} 127.0.0.1 {rp}\n",
                ids[i]
            ));
            for (j, other) in sports.iter().enumerate().filter(|(j, _)| *j != i) {
                c.push_str(&format!("sentinel known-sentinel {MASTER} 127.0.0.1 {other} {}\n", ids[j]));
            }
            let conf = dir.path().join(format!("{name}.conf"));
            std::fs::write(&conf, c).expect("write sentinel conf");
            sentinels.push(RedisProc { port: *port, conf, sentinel: true, child: None });
        }
        let mut lab = RedisLab { dir, bin, servers, sentinels };
        for i in 0..2 {
            lab.start_server(i);
        }
        for i in 0..3 {
            lab.start_sentinel(i);
        }
        lab.wait_settled().await;
        lab
    }

    /// The `[sentinel]` section for this lab.
    pub fn config(&self) -> SentinelConfig {
        SentinelConfig {
            master: MASTER.into(),
            addrs: self.sentinels.iter().map(RedisProc::addr).collect(),
            password_env: None,
        }
    }

    fn spawn(&self, p: &RedisProc) -> Child {
        let mut cmd = Command::new(&self.bin);
        cmd.arg(&p.conf);
        if p.sentinel {
            cmd.arg("--sentinel");
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn redis-server")
    }

    /// Start (or restart) server `i`.
    pub fn start_server(&mut self, i: usize) {
        let child = self.spawn(&self.servers[i]);
        self.servers[i].child = Some(child);
    }

    /// Start (or restart) Sentinel `i`.
    pub fn start_sentinel(&mut self, i: usize) {
        let child = self.spawn(&self.sentinels[i]);
        self.sentinels[i].child = Some(child);
    }

    /// `kill -9` server `i`.
    pub fn kill9_server(&mut self, i: usize) {
        kill(&mut self.servers[i]);
    }

    /// `kill -9` Sentinel `i`.
    pub fn kill9_sentinel(&mut self, i: usize) {
        kill(&mut self.sentinels[i]);
    }

    /// Index of the server listening on `addr` (`127.0.0.1:port`).
    pub fn server_index(&self, addr: &str) -> usize {
        self.servers
            .iter()
            .position(|s| s.addr() == addr)
            .unwrap_or_else(|| panic!("no lab server at {addr}"))
    }

    /// Wait until the replica is linked and every Sentinel sees quorum, the replica and the
    /// two other Sentinels.
    pub async fn wait_settled(&self) {
        let replica = self.servers[1].port;
        wait_until("replica link up", Duration::from_secs(20), || async move {
            let info: String = query(replica, redis::cmd("INFO").arg("replication")).await?;
            info.contains("master_link_status:up").then_some(()).ok_or(info)
        })
        .await;
        for s in &self.sentinels {
            let port = s.port;
            wait_until(&format!("sentinel {port} settled"), Duration::from_secs(20), || async move {
                let _: String = query(port, redis::cmd("SENTINEL").arg("CKQUORUM").arg(MASTER)).await?;
                let m: std::collections::HashMap<String, String> =
                    query(port, redis::cmd("SENTINEL").arg("MASTER").arg(MASTER)).await?;
                let reps: Vec<std::collections::HashMap<String, String>> =
                    query(port, redis::cmd("SENTINEL").arg("REPLICAS").arg(MASTER)).await?;
                let others = m.get("num-other-sentinels").map(String::as_str);
                let rep_ok = reps.iter().any(|r| {
                    r.get("flags").map(String::as_str) == Some("slave")
                        && r.get("master-link-status").map(String::as_str) == Some("ok")
                        && r.get("role-reported").map(String::as_str) == Some("slave")
                });
                (others == Some("2") && rep_ok)
                    .then_some(())
                    .ok_or(format!("others {others:?}, replicas {reps:?}"))
            })
            .await;
        }
    }

    /// What Sentinel `i` reports as the master address.
    pub async fn sentinel_master(&self, i: usize) -> Result<String, String> {
        let (h, p): (String, String) =
            query(self.sentinels[i].port, redis::cmd("SENTINEL").arg("get-master-addr-by-name").arg(MASTER))
                .await?;
        Ok(format!("{h}:{p}"))
    }

    /// The `role` server `i` reports about itself.
    pub async fn role(&self, i: usize) -> Result<String, String> {
        let info: String = query(self.servers[i].port, redis::cmd("INFO").arg("replication")).await?;
        info.lines()
            .find_map(|l| l.trim().strip_prefix("role:").map(str::to_string))
            .ok_or_else(|| "no role line".to_string())
    }

    /// Log of a process (`redis-0`, `sentinel-2`...), for failure messages.
    pub fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("{name}.log"))).unwrap_or_default()
    }
}

/// Run one command against `127.0.0.1:port` with a 2 s deadline.
pub async fn query<T: redis::FromRedisValue>(port: u16, cmd: &redis::Cmd) -> Result<T, String> {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).map_err(|e| e.to_string())?;
    let fut = async {
        let mut c = client.get_multiplexed_async_connection().await?;
        cmd.query_async::<T>(&mut c).await
    };
    tokio::time::timeout(Duration::from_secs(2), fut)
        .await
        .map_err(|_| format!("timeout talking to {port}"))?
        .map_err(|e| e.to_string())
}

fn kill(p: &mut RedisProc) {
    if let Some(mut c) = p.child.take() {
        signal(c.id() as i32, libc::SIGCONT);
        let _ = c.kill();
        let _ = c.wait();
    }
}

impl Drop for RedisLab {
    fn drop(&mut self) {
        for p in self.servers.iter_mut().chain(self.sentinels.iter_mut()) {
            kill(p);
        }
    }
}
