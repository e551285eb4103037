//! One estate per drill incident: the console that hosts a drill serves its simulated estate
//! on a Unix domain socket next to the incident log; every other console on the incident joins
//! it and shows exactly the host's snapshots.
//!
//! - **Who hosts**: whoever holds the advisory lock `<ID>.estate.lock` (taken with
//!   [`try_host`]); it is released when the host exits, `kill -9` included. The host binds
//!   `<ID>.estate.sock` (mode 0600, in the 0700 incidents directory; a path longer than
//!   `sun_path` allows moves to a 0700 per-user directory under the temp dir, named by a hash of
//!   the long path, so every console derives the same one).
//! - **Protocol**: JSON lines. The host sends a [`Hello`] (the drill's parameters), then every
//!   snapshot of the four layers as its pollers publish them (value, `fetched_at` and freshness
//!   unchanged, so panes are identical), and the result of each operation a joined console asked
//!   it to execute. A joined console sends `exec` requests: its steps run against the one estate.
//! - **Host exit**: a joined console's four panes turn failed with [`HOST_EXITED`] and its
//!   operations are refused (one in flight ends as "outcome unknown"). It keeps trying to
//!   reconnect every second; when a console hosts the incident again (`warroom drill --incident
//!   ID`: any console that finds no host becomes it), the panes come back from the new host,
//!   which resumes the estate by replaying the scenario with the executed operations
//!   (`DrillEstate::replay`). See the README ("The war room").
//!
//! A joined console is a [`Remote`]: four watch receivers like a poller's and an [`Operate`]
//! implementation, so the app does not know the difference.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use crate::backends::model::{DatabaseView, KubeView, SentinelView, TrafficView};
use crate::backends::{Freshness, Operate, Snapshot};
use crate::operation::Operation;
use wire::{ClientMsg, HostMsg, WireSnap, line};

/// The reason every pane of a joined console shows once its host is gone.
pub const HOST_EXITED: &str = "drill host exited";
/// Longest socket path `sun_path` holds (108 bytes with the terminating NUL).
const SUN_PATH_MAX: usize = 107;
/// How long a joined console waits between reconnection attempts.
const RECONNECT_EVERY: Duration = Duration::from_secs(1);

/// One watch receiver per layer, as pollers publish them.
pub type Rx<T> = watch::Receiver<Arc<Snapshot<T>>>;

/// The four layers of an estate.
pub struct Layers {
    /// Kubernetes.
    pub kube: Rx<KubeView>,
    /// PostgreSQL.
    pub database: Rx<DatabaseView>,
    /// Redis Sentinel.
    pub sentinel: Rx<SentinelView>,
    /// Route 53 + HTTP health.
    pub traffic: Rx<TrafficView>,
}

/// What a drill is made of: recorded in the incident when it is declared, so every console
/// (and a later host) runs the same drill whatever its own flags say.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DrillParams {
    /// Scenario name.
    pub scenario: String,
    /// Speed factor.
    pub speed: f64,
    /// Seed.
    pub seed: u64,
    /// Hash of the scenario file's text when the scenario is a user file (`None`: built-in);
    /// a console that re-hosts the drill refuses a file that differs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scenario_hash: Option<String>,
}

/// The first line a host sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hello {
    /// The drill the host runs.
    pub params: DrillParams,
    /// When the host's scenario fault strikes (wall clock), for the recovery tracker.
    pub fault_scheduled_at: Option<DateTime<Utc>>,
    /// Who hosts it (`user@host`).
    pub host: String,
}

/// The socket of incident `id` in `dir` (the incidents directory): `<ID>.estate.sock`, or, if
/// that path is too long for `sun_path`, `<tmp>/warroom-<uid>/<hash>.sock`.
pub fn socket_path(dir: &Path, id: &str) -> PathBuf {
    let p = dir.join(format!("{id}.estate.sock"));
    if p.as_os_str().len() <= SUN_PATH_MAX {
        return p;
    }
    use sha2::Digest;
    let hash = sha2::Sha256::digest(p.as_os_str().as_encoded_bytes());
    let hex: String = hash.iter().take(12).map(|b| format!("{b:02x}")).collect();
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    std::env::temp_dir().join(format!("warroom-{uid}")).join(format!("{hex}.sock"))
}

/// Create the socket's directory if it is the per-user fallback, and refuse one that another
/// user could write to.
fn prepare_dir(sock: &Path) -> std::io::Result<()> {
    let Some(dir) = sock.parent() else { return Ok(()) };
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    let meta = std::fs::symlink_metadata(dir)?;
    use std::os::unix::fs::MetadataExt;
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    if !meta.is_dir() || meta.uid() != uid || meta.mode() & 0o022 != 0 {
        return Err(std::io::Error::other(format!(
            "{}: refusing it for the drill socket: not a private directory of this user",
            dir.display()
        )));
    }
    Ok(())
}

/// The right to host incident `id`'s estate: an exclusive lock on `<ID>.estate.lock`, held
/// until dropped (or the process ends).
#[derive(Debug)]
pub struct HostLock {
    _file: File,
    socket: PathBuf,
}

/// Try to become the host of incident `id` (`dir` is the incidents directory). `Ok(None)`:
/// another console hosts it (join it).
pub fn try_host(dir: &Path, id: &str) -> std::io::Result<Option<HostLock>> {
    let path = dir.join(format!("{id}.estate.lock"));
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&path)?;
    match file.try_lock() {
        Ok(()) => Ok(Some(HostLock { _file: file, socket: socket_path(dir, id) })),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(e)) => Err(e),
    }
}

/// A running host: serves until dropped (then the socket file is removed).
pub struct Host {
    socket: PathBuf,
    task: JoinHandle<()>,
    _lock: HostLock,
}

impl Host {
    /// The socket joined consoles connect to.
    pub fn socket(&self) -> &Path {
        &self.socket
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        self.task.abort();
        let _ = std::fs::remove_file(&self.socket);
    }
}

/// Serve `layers` and `operator` to joined consoles. Must run inside the tokio runtime.
pub fn serve(
    lock: HostLock,
    layers: Layers,
    operator: Arc<dyn Operate>,
    hello: Hello,
) -> std::io::Result<Host> {
    let socket = lock.socket.clone();
    prepare_dir(&socket)?;
    // We hold the lock: a socket file left here is a dead host's.
    match std::fs::remove_file(&socket) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let listener = UnixListener::bind(&socket)?;
    std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o600))?;
    let layers = Arc::new(layers);
    // Connections live in the accept task's set: dropping the host closes every one of them.
    let task = tokio::spawn(async move {
        let mut conns = tokio::task::JoinSet::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => if let Ok((stream, _)) = accepted {
                    conns.spawn(connection(stream, layers.clone(), operator.clone(), hello.clone()));
                },
                Some(_) = conns.join_next() => {}
            }
        }
    });
    Ok(Host { socket, task, _lock: lock })
}

/// Push every change of `rx` as a message made by `wrap`, until the connection closes.
fn forward<T>(mut rx: Rx<T>, out: mpsc::UnboundedSender<String>, wrap: fn(WireSnap<T>) -> HostMsg)
where
    T: Clone + Send + Sync + 'static,
{
    tokio::spawn(async move {
        loop {
            let msg = line(&wrap(WireSnap::of(&rx.borrow_and_update())));
            if out.send(msg).is_err() {
                return;
            }
            tokio::select! {
                changed = rx.changed() => if changed.is_err() { return },
                _ = out.closed() => return,
            }
        }
    });
}

async fn connection(stream: UnixStream, layers: Arc<Layers>, operator: Arc<dyn Operate>, hello: Hello) {
    let (read, mut write) = stream.into_split();
    let (out, mut queue) = mpsc::unbounded_channel::<String>();
    let _ = out.send(line(&HostMsg::Hello(hello)));
    forward(layers.kube.clone(), out.clone(), |snap| HostMsg::Kube { snap });
    forward(layers.database.clone(), out.clone(), |snap| HostMsg::Database { snap });
    forward(layers.sentinel.clone(), out.clone(), |snap| HostMsg::Sentinel { snap });
    forward(layers.traffic.clone(), out.clone(), |snap| HostMsg::Traffic { snap });
    let mut lines = BufReader::new(read).lines();
    loop {
        tokio::select! {
            msg = queue.recv() => match msg {
                Some(msg) => if write.write_all(msg.as_bytes()).await.is_err() { return },
                None => return,
            },
            l = lines.next_line() => {
                let Ok(Some(l)) = l else { return };
                let (id, op) = match serde_json::from_str::<ClientMsg>(&l) {
                    Ok(ClientMsg::Exec { id, op }) => (id, op),
                    Ok(ClientMsg::Control { id, control }) => {
                        let result = operator.control(&control.into());
                        let _ = out.send(line(&HostMsg::Done { id, result }));
                        continue;
                    }
                    Err(_) => {
                        tracing::warn!("drill host: ignoring a malformed request from a joined console");
                        continue;
                    }
                };
                let (operator, out) = (operator.clone(), out.clone());
                tokio::spawn(async move {
                    let result = operator.execute(&op).await;
                    let _ = out.send(line(&HostMsg::Done { id, result }));
                });
            }
        }
    }
}

/// The senders behind a joined console's four panes.
struct Panes {
    kube: watch::Sender<Arc<Snapshot<KubeView>>>,
    database: watch::Sender<Arc<Snapshot<DatabaseView>>>,
    sentinel: watch::Sender<Arc<Snapshot<SentinelView>>>,
    traffic: watch::Sender<Arc<Snapshot<TrafficView>>>,
}

impl Panes {
    fn fail(&self, error: &str) {
        fn failed<T>(error: &str) -> Arc<Snapshot<T>> {
            Arc::new(Snapshot {
                value: None,
                fetched_at: None,
                freshness: Freshness::Failed { error: error.into() },
            })
        }
        self.kube.send_replace(failed(error));
        self.database.send_replace(failed(error));
        self.sentinel.send_replace(failed(error));
        self.traffic.send_replace(failed(error));
    }

    fn apply(&self, msg: HostMsg) -> Option<(u64, Result<String, String>)> {
        fn set<T>(tx: &watch::Sender<Arc<Snapshot<T>>>, snap: WireSnap<T>) {
            tx.send_replace(Arc::new(snap.into_snapshot()));
        }
        match msg {
            HostMsg::Hello(_) => {}
            HostMsg::Kube { snap } => {
                // Keep handing out the same pod list while it is unchanged (consumers compare
                // with `Arc::ptr_eq`).
                let mut snap = snap.into_snapshot();
                let prev = self.kube.borrow().clone();
                if let (Some(new), Some(old)) = (snap.value.as_mut(), prev.value.as_ref())
                    && new.pods == old.pods
                {
                    new.pods = old.pods.clone();
                }
                self.kube.send_replace(Arc::new(snap));
            }
            HostMsg::Database { snap } => set(&self.database, snap),
            HostMsg::Sentinel { snap } => set(&self.sentinel, snap),
            HostMsg::Traffic { snap } => set(&self.traffic, snap),
            HostMsg::Done { id, result } => return Some((id, result)),
        }
        None
    }
}

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Result<String, String>>>>>;

/// The link to the current host: where requests go, and who waits for results.
#[derive(Default)]
struct Link {
    requests: Mutex<Option<mpsc::UnboundedSender<String>>>,
    pending: Pending,
    next: AtomicU64,
}

impl Link {
    /// Drop the connection: every request in flight ends with an unknown outcome.
    fn cut(&self) {
        *self.requests.lock().unwrap_or_else(|e| e.into_inner()) = None;
        let waiting: Vec<_> = self.pending.lock().unwrap_or_else(|e| e.into_inner()).drain().collect();
        for (_, tx) in waiting {
            let _ = tx.send(Err(format!(
                "{HOST_EXITED} while the step ran: outcome unknown, verify before continuing"
            )));
        }
    }
}

/// Carries out operations on the host's estate (the joined console's [`Operate`]).
#[derive(Clone)]
pub struct RemoteOperator {
    link: Arc<Link>,
    gone: Arc<str>,
}

impl Operate for RemoteOperator {
    /// Sent to the host, which carries it out on the one estate (the answer is not awaited:
    /// the facilitator's entry in the log is what every console follows).
    fn control(&self, c: &super::DrillControl) -> Result<String, String> {
        let id = self.link.next.fetch_add(1, Ordering::Relaxed);
        let requests = self.link.requests.lock().unwrap_or_else(|e| e.into_inner());
        match requests.as_ref() {
            Some(out) if out.send(line(&ClientMsg::Control { id, control: c.into() })).is_ok() => {
                Ok("sent to the drill host".into())
            }
            _ => Err(format!("refused: {}", self.gone)),
        }
    }

    fn execute(&self, op: &Operation) -> BoxFuture<'_, Result<String, String>> {
        let id = self.link.next.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        let sent = {
            let requests = self.link.requests.lock().unwrap_or_else(|e| e.into_inner());
            match requests.as_ref() {
                Some(out) => {
                    self.link.pending.lock().unwrap_or_else(|e| e.into_inner()).insert(id, tx);
                    out.send(line(&ClientMsg::Exec { id, op: op.clone() })).is_ok()
                }
                None => false,
            }
        };
        let gone = self.gone.clone();
        Box::pin(async move {
            if !sent {
                return Err(format!("refused: {gone}"));
            }
            rx.await.unwrap_or_else(|_| {
                Err(format!("{HOST_EXITED} while the step ran: outcome unknown, verify before continuing"))
            })
        })
    }
}

/// A joined console's view of the hosted estate.
pub struct Remote {
    /// The host's hello, when one answered within the wait.
    pub hello: Option<Hello>,
    /// The four panes, fed by the host.
    pub layers: Layers,
    /// Executes operations on the host's estate.
    pub operator: RemoteOperator,
}

/// Join the estate served at `socket`, waiting up to `wait` for a host to answer. Without one,
/// the panes show failed (no host) and the console keeps trying to connect every second. `id`
/// names the incident in what the panes say. Must run inside the tokio runtime.
pub async fn join(socket: &Path, id: &str, wait: Duration) -> Remote {
    let deadline = tokio::time::Instant::now() + wait;
    let first = loop {
        match connect(socket).await {
            Ok(c) => break Some(c),
            Err(e) if tokio::time::Instant::now() >= deadline => {
                tracing::warn!("no drill host at {} yet: {e}", socket.display());
                break None;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    };
    let (kube, kube_rx) = watch::channel(Arc::new(Snapshot::pending()));
    let (database, database_rx) = watch::channel(Arc::new(Snapshot::pending()));
    let (sentinel, sentinel_rx) = watch::channel(Arc::new(Snapshot::pending()));
    let (traffic, traffic_rx) = watch::channel(Arc::new(Snapshot::pending()));
    let panes = Panes { kube, database, sentinel, traffic };
    let link = Arc::new(Link::default());
    let gone: Arc<str> =
        format!("{HOST_EXITED}: run `warroom drill --incident {id}` to host the estate again").into();
    let (hello, first) = match first {
        Some((write, hello, lines)) => {
            let (tx, rx) = mpsc::unbounded_channel::<String>();
            *link.requests.lock().unwrap_or_else(|e| e.into_inner()) = Some(tx);
            (Some(hello), Some((write, lines, rx)))
        }
        None => {
            panes.fail(&format!(
                "no console hosts this drill's estate: run `warroom drill --incident {id}` to host it"
            ));
            (None, None)
        }
    };
    tokio::spawn(follow(socket.to_path_buf(), first, panes, link.clone(), gone.clone()));
    Remote {
        hello,
        layers: Layers { kube: kube_rx, database: database_rx, sentinel: sentinel_rx, traffic: traffic_rx },
        operator: RemoteOperator { link, gone },
    }
}

type Lines = tokio::io::Lines<BufReader<tokio::net::unix::OwnedReadHalf>>;

/// Connect and read the host's hello (within 2 s).
async fn connect(socket: &Path) -> Result<(tokio::net::unix::OwnedWriteHalf, Hello, Lines), String> {
    let stream = UnixStream::connect(socket).await.map_err(|e| e.to_string())?;
    let (read, write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    let first = tokio::time::timeout(Duration::from_secs(2), lines.next_line())
        .await
        .map_err(|_| "the host did not say hello within 2 s".to_string())?
        .map_err(|e| e.to_string())?
        .ok_or("the host closed the connection")?;
    match serde_json::from_str::<HostMsg>(&first) {
        Ok(HostMsg::Hello(h)) => Ok((write, h, lines)),
        _ => Err("the host's first message is not a hello".into()),
    }
}

/// Feed the panes from the host; when it goes, fail them and reconnect every second.
async fn follow(
    socket: PathBuf,
    mut first: Option<(tokio::net::unix::OwnedWriteHalf, Lines, mpsc::UnboundedReceiver<String>)>,
    panes: Panes,
    link: Arc<Link>,
    gone: Arc<str>,
) {
    loop {
        let conn = match first.take() {
            Some(c) => Some(c),
            None => connect(&socket).await.ok().map(|(w, h, l)| {
                tracing::info!("drill estate: joined the host {} again", h.host);
                let (tx, rx) = mpsc::unbounded_channel::<String>();
                *link.requests.lock().unwrap_or_else(|e| e.into_inner()) = Some(tx);
                (w, l, rx)
            }),
        };
        if let Some((mut write, mut lines, mut rx)) = conn {
            let writer = tokio::spawn(async move {
                while let Some(msg) = rx.recv().await {
                    if write.write_all(msg.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
            while let Ok(Some(l)) = lines.next_line().await {
                let Ok(msg) = serde_json::from_str::<HostMsg>(&l) else { continue };
                if let Some((id, result)) = panes.apply(msg) {
                    let waiter = link.pending.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
                    if let Some(w) = waiter {
                        let _ = w.send(result);
                    }
                }
            }
            writer.abort();
            link.cut();
            panes.fail(&gone);
        }
        if panes.kube.is_closed() {
            return;
        }
        tokio::time::sleep(RECONNECT_EVERY).await;
    }
}

mod wire;

#[cfg(test)]
mod tests;
