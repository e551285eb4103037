//! PostgreSQL 15 primary (`postgresql-0`) + streaming replica (`postgresql-1`) on loopback.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use tempfile::TempDir;
use tokio_postgres::{Client, NoTls};
use warroom::config::model::{PgNodeConfig, PostgresConfig};

use super::{alive, children_of, free_port, is_root, require_file, signal, wait_gone, wait_until};

/// Where Debian puts the PostgreSQL 15 server tools.
pub const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

const INSTALL: &str = "apt-get install -y postgresql-15";

/// Node names, in configured order: primary first.
pub const NODES: [&str; 2] = ["postgresql-0", "postgresql-1"];

/// One server of the lab.
#[derive(Debug)]
pub struct PgNode {
    /// Node name (also `application_name` and `cluster_name`).
    pub name: String,
    /// TCP port on 127.0.0.1.
    pub port: u16,
    /// Data directory.
    pub data: PathBuf,
}

/// A running primary + replica; stopped and deleted on drop.
pub struct PgLab {
    dir: TempDir,
    /// The two nodes, primary first.
    pub nodes: Vec<PgNode>,
}

impl PgLab {
    /// Start the primary, base-backup the replica from it and wait until it streams.
    pub async fn start() -> PgLab {
        for tool in ["initdb", "pg_ctl", "pg_basebackup"] {
            require_file(&Path::new(PG_BIN).join(tool), INSTALL);
        }
        let dir = tempfile::Builder::new().prefix("warroom-pg").tempdir().expect("temp dir");
        if is_root() {
            let ok = Command::new("chown").arg("postgres:postgres").arg(dir.path()).status();
            assert!(ok.is_ok_and(|s| s.success()), "chown of the lab dir to postgres failed");
        }
        let nodes: Vec<PgNode> = NODES
            .iter()
            .map(|n| PgNode { name: n.to_string(), port: free_port(), data: dir.path().join(n) })
            .collect();
        let lab = PgLab { dir, nodes };
        let primary = &lab.nodes[0];
        lab.tool(
            "initdb",
            &[
                "-D",
                path(&primary.data),
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
            ],
        );
        lab.append_conf(
            primary,
            &format!(
                "listen_addresses = '127.0.0.1'\nport = {}\nunix_socket_directories = '{}'\n\
                 wal_level = replica\nmax_wal_senders = 10\nmax_replication_slots = 10\nhot_standby = on\n\
                 wal_keep_size = '64MB'\nfsync = off\nsynchronous_commit = off\nfull_page_writes = off\n\
                 cluster_name = '{}'\nwal_receiver_timeout = '2s'\nwal_receiver_status_interval = '1s'\n\
                 wal_sender_timeout = '5s'\n",
                primary.port,
                lab.dir.path().display(),
                primary.name
            ),
        );
        lab.pg_ctl_start(primary);
        let replica = &lab.nodes[1];
        let slot = slot_name(&replica.name);
        lab.execute(&primary.name, &format!("SELECT pg_create_physical_replication_slot('{slot}')")).await;
        lab.tool(
            "pg_basebackup",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &primary.port.to_string(),
                "-U",
                "postgres",
                "-d",
                &format!("application_name={}", replica.name),
                "-D",
                path(&replica.data),
                "-R",
                "-X",
                "stream",
                "-S",
                &slot,
                "-c",
                "fast",
                "--no-sync",
            ],
        );
        lab.append_conf(replica, &format!("port = {}\ncluster_name = '{}'\n", replica.port, replica.name));
        lab.pg_ctl_start(replica);
        lab.wait_streaming().await;
        lab
    }

    /// The `[postgres]` section for this lab.
    pub fn config(&self) -> PostgresConfig {
        PostgresConfig {
            max_lag_bytes: 0,
            service: None,
            nodes: self
                .nodes
                .iter()
                .map(|n| PgNodeConfig {
                    name: n.name.clone(),
                    region: "lab".into(),
                    dsn: self.dsn(&n.name),
                    password_env: None,
                    pod: None,
                    data_dir: None,
                })
                .collect(),
        }
    }

    /// The node called `name`.
    pub fn node(&self, name: &str) -> &PgNode {
        self.nodes.iter().find(|n| n.name == name).unwrap_or_else(|| panic!("no lab node {name}"))
    }

    /// libpq DSN of a node.
    pub fn dsn(&self, name: &str) -> String {
        format!("host=127.0.0.1 port={} user=postgres dbname=postgres", self.node(name).port)
    }

    /// A client session to a node (panics when it cannot connect within 5 s).
    pub async fn client(&self, name: &str) -> Client {
        self.try_client(name).await.unwrap_or_else(|e| panic!("connect to {name}: {e}"))
    }

    /// A client session to a node.
    pub async fn try_client(&self, name: &str) -> Result<Client, String> {
        let mut cfg: tokio_postgres::Config = self.dsn(name).parse().map_err(|e| format!("{e}"))?;
        cfg.application_name("lab-test").connect_timeout(Duration::from_secs(5));
        let (client, conn) = tokio::time::timeout(Duration::from_secs(5), cfg.connect(NoTls))
            .await
            .map_err(|_| "connect timeout".to_string())?
            .map_err(|e| e.to_string())?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(client)
    }

    /// Run SQL on a node, panicking on error.
    pub async fn execute(&self, name: &str, sql: &str) {
        self.client(name).await.batch_execute(sql).await.unwrap_or_else(|e| panic!("{name}: {sql}: {e}"));
    }

    /// Whether a node is in recovery, as the server says.
    pub async fn in_recovery(&self, name: &str) -> bool {
        let row = self.client(name).await.query_one("SELECT pg_is_in_recovery()", &[]).await.expect("query");
        row.get(0)
    }

    /// The postmaster pid of a node (from `postmaster.pid`).
    pub fn postmaster_pid(&self, name: &str) -> Option<i32> {
        let text = std::fs::read_to_string(self.node(name).data.join("postmaster.pid")).ok()?;
        text.lines().next()?.trim().parse().ok()
    }

    /// The postmaster and all its children.
    fn processes(&self, name: &str) -> Vec<i32> {
        match self.postmaster_pid(name).filter(|p| alive(*p)) {
            Some(pm) => std::iter::once(pm).chain(children_of(pm)).collect(),
            None => vec![],
        }
    }

    /// `kill -9` a node's postmaster and every backend (a crashed server).
    pub fn kill9(&self, name: &str) {
        let pids = self.processes(name);
        assert!(!pids.is_empty(), "{name} is not running");
        for p in &pids {
            signal(*p, libc::SIGKILL);
        }
        wait_gone(&pids, Duration::from_secs(10));
    }

    /// `kill -STOP` a node's processes: it accepts TCP but never answers.
    pub fn freeze(&self, name: &str) {
        let pids = self.processes(name);
        assert!(!pids.is_empty(), "{name} is not running");
        for p in pids {
            signal(p, libc::SIGSTOP);
        }
    }

    /// `kill -CONT` a frozen node.
    pub fn thaw(&self, name: &str) {
        for p in self.processes(name) {
            signal(p, libc::SIGCONT);
        }
    }

    /// Start a stopped or killed node again (a killed old primary comes back writable).
    pub fn restart(&self, name: &str) {
        // A killed postmaster may linger as a zombie until init reaps it, and the server
        // would take its pid in the stale lock file for a live postmaster.
        // Same for the socket lock file.
        let node = self.node(name);
        if self.postmaster_pid(name).is_some_and(|p| !alive(p)) {
            let _ = std::fs::remove_file(node.data.join("postmaster.pid"));
            let _ = std::fs::remove_file(self.dir.path().join(format!(".s.PGSQL.{}.lock", node.port)));
        }
        self.pg_ctl_start(self.node(name));
    }

    /// Wait until the replica streams from the primary (both sides agree).
    async fn wait_streaming(&self) {
        let (p, r) = (&self.nodes[0].name, &self.nodes[1].name);
        wait_until("replica streaming", Duration::from_secs(30), || async {
            let c = self.try_client(p).await?;
            let row = c
                .query_opt("SELECT state FROM pg_stat_replication WHERE application_name = $1", &[r])
                .await
                .map_err(|e| e.to_string())?;
            match row.map(|r| r.get::<_, String>(0)) {
                Some(s) if s == "streaming" => Ok(()),
                other => Err(format!("state {other:?}")),
            }
        })
        .await;
    }

    fn append_conf(&self, node: &PgNode, text: &str) {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(node.data.join("postgresql.conf"))
            .expect("open postgresql.conf");
        f.write_all(text.as_bytes()).expect("append postgresql.conf");
    }

    fn pg_ctl_start(&self, node: &PgNode) {
        let log = self.dir.path().join(format!("{}.log", node.name));
        if let Err(e) =
            self.try_tool("pg_ctl", &["-D", path(&node.data), "-l", path(&log), "-w", "-t", "30", "start"])
        {
            panic!("{e}\n--- {} log ---\n{}", node.name, self.log(&node.name));
        }
    }

    /// Run a server tool (as `postgres` when root), panicking with its output on failure.
    fn tool(&self, tool: &str, args: &[&str]) {
        if let Err(e) = self.try_tool(tool, args) {
            panic!("{e}");
        }
    }

    /// Run a server tool (as `postgres` when root).
    fn try_tool(&self, tool: &str, args: &[&str]) -> Result<(), String> {
        let bin = Path::new(PG_BIN).join(tool);
        let mut cmd = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&bin);
            c
        } else {
            Command::new(&bin)
        };
        let out =
            cmd.args(args).current_dir(self.dir.path()).output().map_err(|e| format!("spawn {tool}: {e}"))?;
        if out.status.success() {
            return Ok(());
        }
        Err(format!(
            "{tool} {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }

    /// The server log of a node (for failure messages).
    pub fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("{name}.log"))).unwrap_or_default()
    }
}

impl Drop for PgLab {
    fn drop(&mut self) {
        for node in &self.nodes {
            let pids = self.processes(&node.name);
            for p in &pids {
                signal(*p, libc::SIGCONT);
                signal(*p, libc::SIGKILL);
            }
            let end = std::time::Instant::now() + Duration::from_secs(5);
            while pids.iter().any(|p| alive(*p)) && std::time::Instant::now() < end {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
}

/// Replication slot names allow only `[a-z0-9_]`.
pub fn slot_name(node: &str) -> String {
    node.replace('-', "_")
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}
