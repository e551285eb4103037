//! [`KubeStore`]: the ConfigMap store behind a synchronous API. The kube client lives on a thread
//! of its own with its own runtime, so the log's synchronous appends (from `spawn_blocking`, a
//! plain thread or a test) can call it, and a hung API server costs a caller at most
//! [`super::CALL_TIMEOUT`].

use std::sync::mpsc as std_mpsc;

use tokio::sync::mpsc;

use super::{CALL_TIMEOUT, Created, EntryStore};
use crate::backends::kube::KubeClients;
use crate::backends::kube::entries::EntryObjects;
use crate::config::model::WarRoomConfig;
use crate::text::redact;

enum Request {
    Get(u64, std_mpsc::SyncSender<Result<Option<Vec<u8>>, String>>),
    Create(u64, Vec<u8>, std_mpsc::SyncSender<Result<Created, String>>),
}

/// The entries of one incident in the `[war_room]` namespace.
pub struct KubeStore {
    requests: mpsc::UnboundedSender<Request>,
    describe: String,
}

impl KubeStore {
    /// Connects (builds the client for the explicit context) for incident `incident_id`.
    /// `kubeconfig`: `[war_room] kubeconfig`, else `[kubernetes] kubeconfig`, else standard.
    /// A bad kubeconfig or a missing context is an error; an unreachable API server is not
    /// (calls fail until it answers).
    pub fn connect(
        w: &WarRoomConfig,
        fallback_kubeconfig: Option<&str>,
        incident_id: &str,
    ) -> Result<KubeStore, String> {
        let path = w.kubeconfig.clone().or(fallback_kubeconfig.map(str::to_string));
        let (context, namespace, id) = (w.context.clone(), w.namespace.clone(), incident_id.to_string());
        let (tx, mut rx) = mpsc::unbounded_channel::<Request>();
        let (ready_tx, ready_rx) = std_mpsc::sync_channel::<Result<(), String>>(1);
        std::thread::Builder::new()
            .name("warroom-store".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(format!("runtime: {e}")));
                        return;
                    }
                };
                rt.block_on(async move {
                    let clients =
                        match KubeClients::from_kubeconfig(path.as_deref(), std::slice::from_ref(&context))
                            .await
                        {
                            Ok(c) => c,
                            Err(e) => {
                                let _ = ready_tx.send(Err(e.to_string()));
                                return;
                            }
                        };
                    let client = match clients.get(&context) {
                        Ok(c) => c.clone(),
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            return;
                        }
                    };
                    let objects = EntryObjects::new(client, &namespace, &id);
                    let _ = ready_tx.send(Ok(()));
                    while let Some(req) = rx.recv().await {
                        let objects = objects.clone();
                        tokio::spawn(async move { serve(&objects, req).await });
                    }
                });
            })
            .map_err(|e| format!("store thread: {e}"))?;
        ready_rx.recv().map_err(|_| "store thread ended".to_string())??;
        Ok(KubeStore { requests: tx, describe: format!("ConfigMaps {}/{}", w.context, w.namespace) })
    }

    fn call<T>(
        &self,
        make: impl FnOnce(std_mpsc::SyncSender<Result<T, String>>) -> Request,
    ) -> Result<T, String> {
        let (tx, rx) = std_mpsc::sync_channel(1);
        self.requests.send(make(tx)).map_err(|_| "store thread ended".to_string())?;
        match rx.recv_timeout(CALL_TIMEOUT + std::time::Duration::from_millis(200)) {
            Ok(r) => r.map_err(|e| redact(&crate::text::sanitize(&e)).into_owned()),
            Err(_) => Err(format!("no answer within {} s", CALL_TIMEOUT.as_secs())),
        }
    }
}

async fn serve(objects: &EntryObjects, req: Request) {
    let late = || format!("no answer within {} s", CALL_TIMEOUT.as_secs());
    match req {
        Request::Get(seq, reply) => {
            let r =
                tokio::time::timeout(CALL_TIMEOUT, objects.get(seq)).await.unwrap_or_else(|_| Err(late()));
            let _ = reply.send(r);
        }
        Request::Create(seq, line, reply) => {
            let r = tokio::time::timeout(CALL_TIMEOUT, objects.create(seq, &line))
                .await
                .unwrap_or_else(|_| Err(late()));
            let _ = reply.send(r);
        }
    }
}

impl EntryStore for KubeStore {
    fn get(&self, seq: u64) -> Result<Option<Vec<u8>>, String> {
        self.call(|tx| Request::Get(seq, tx))
    }

    fn create(&self, seq: u64, line: &[u8]) -> Result<Created, String> {
        self.call(|tx| Request::Create(seq, line.to_vec(), tx))
    }

    fn describe(&self) -> String {
        self.describe.clone()
    }

    /// All `max` GETs are sent at once (the store thread serves them concurrently).
    fn get_run(&self, from: u64, max: usize) -> Result<Vec<Vec<u8>>, String> {
        let mut replies = Vec::with_capacity(max);
        for seq in from..from + max as u64 {
            let (tx, rx) = std_mpsc::sync_channel(1);
            self.requests.send(Request::Get(seq, tx)).map_err(|_| "store thread ended".to_string())?;
            replies.push(rx);
        }
        let deadline = std::time::Instant::now() + CALL_TIMEOUT + std::time::Duration::from_millis(200);
        let mut out = Vec::new();
        for rx in replies {
            let wait = deadline.saturating_duration_since(std::time::Instant::now());
            match rx.recv_timeout(wait) {
                Ok(Ok(Some(line))) => out.push(line),
                Ok(Ok(None)) => break,
                Ok(Err(e)) => return Err(redact(&crate::text::sanitize(&e)).into_owned()),
                Err(_) => return Err(format!("no answer within {} s", CALL_TIMEOUT.as_secs())),
            }
        }
        Ok(out)
    }
}
