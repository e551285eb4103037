//! The control plane's etcd (etcd's own server, built from its Go module), and what tests do to
//! it directly: read the current revision and compact history, through etcd's JSON gateway.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::process::Proc;

/// A running etcd.
pub struct Etcd {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The process.
    pub proc: Proc,
}

impl Etcd {
    /// Start a single-member etcd under `dir` and wait until it answers.
    pub async fn start(bin: &Path, dir: &Path) -> Etcd {
        let client = crate::support::lab::free_port();
        let peer = crate::support::lab::free_port();
        let url = format!("http://127.0.0.1:{client}");
        let peer_url = format!("http://127.0.0.1:{peer}");
        let args: Vec<String> = vec![
            "--name=default".into(),
            format!("--data-dir={}", dir.join("etcd").display()),
            format!("--listen-client-urls={url}"),
            format!("--advertise-client-urls={url}"),
            format!("--listen-peer-urls={peer_url}"),
            format!("--initial-advertise-peer-urls={peer_url}"),
            format!("--initial-cluster=default={peer_url}"),
            "--unsafe-no-fsync=true".into(),
            "--log-level=warn".into(),
        ];
        let proc = Proc::start("etcd", &bin.join("etcd"), &args, &dir.join("etcd.log"));
        let etcd = Etcd { url, proc };
        let end = Instant::now() + Duration::from_secs(20);
        loop {
            match etcd.revision().await {
                Ok(_) => return etcd,
                Err(e) if Instant::now() > end => {
                    panic!("etcd not ready after 20 s: {e}\n{}", etcd.proc.tail(20))
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    async fn post(&self, path: &str, body: Value) -> Result<Value, String> {
        let resp = reqwest::Client::new()
            .post(format!("{}{path}", self.url))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(|e| e.to_string())?;
        let v: Value = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
        if status.is_success() { Ok(v) } else { Err(format!("{status}: {v}")) }
    }

    /// etcd's current revision.
    pub async fn revision(&self) -> Result<i64, String> {
        // key "\0" (base64 "AA=="), keys only, limit 1: the answer's header carries the revision.
        let v = self.post("/v3/kv/range", json!({ "key": "AA==", "limit": 1, "keys_only": true })).await?;
        v["header"]["revision"]
            .as_str()
            .and_then(|r| r.parse().ok())
            .ok_or_else(|| format!("no revision in {v}"))
    }

    /// Compact away every revision before the current one (physically): watches and lists
    /// asking for an older resourceVersion then get 410 Gone from the API server.
    pub async fn compact(&self) -> i64 {
        let rev = self.revision().await.expect("etcd revision");
        self.post("/v3/kv/compaction", json!({ "revision": rev.to_string(), "physical": true }))
            .await
            .expect("etcd compaction");
        rev
    }
}
