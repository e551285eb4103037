//! The background task that holds the lock for a console (renewing every `ttl / 3`, looking
//! every [`CommanderLock::poll_interval`] in between, 2 s at most), and the guard the headless
//! `warroom exec` holds.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{mpsc, watch};

use super::{
    CommanderLock, CommanderView, DEFAULT_TTL_SECS, FileLock, Holder, LeaseLock, LockRequest, LockState,
};
use crate::backends::kube::KubeClients;
use crate::config::Config;

/// Longest wait between two looks at the lock.
const MAX_CHECK: Duration = Duration::from_secs(2);
/// Shortest wait (a tiny ttl in tests).
const MIN_CHECK: Duration = Duration::from_millis(50);

/// What the task tracks between two looks.
struct Task {
    lock: Arc<dyn CommanderLock>,
    me: String,
    view: watch::Sender<CommanderView>,
    held: Option<Holder>,
    last_renew: tokio::time::Instant,
}

impl Task {
    fn publish(&self, v: CommanderView) {
        self.view.send_if_modified(|cur| {
            let changed = *cur != v;
            *cur = v;
            changed
        });
    }

    /// One lock call, bounded so a hung backend cannot stall the task past the expiry.
    async fn call<'a>(
        &'a self,
        f: impl std::future::Future<Output = Result<LockState, String>> + 'a,
    ) -> Result<LockState, String> {
        let limit = (self.lock.ttl() / 3).clamp(Duration::from_millis(500), Duration::from_secs(10));
        match tokio::time::timeout(limit, f).await {
            Ok(r) => r,
            Err(_) => Err(format!("{}: no answer within {} ms", self.lock.describe(), limit.as_millis())),
        }
    }

    /// Fold a lock call's result into the view. `took_over_from` names the live holder a forced
    /// take displaced; `released` marks the result of our own release.
    fn apply(&mut self, result: Result<LockState, String>, took_over_from: Option<String>, released: bool) {
        let now = Utc::now();
        match result {
            Ok(LockState::Mine(h)) => {
                let fresh = self.held.is_none();
                self.held = Some(h.clone());
                self.last_renew = tokio::time::Instant::now();
                let took_over_from = if fresh { took_over_from } else { None };
                self.publish(CommanderView::Mine { holder: h, took_over_from, warning: None });
            }
            Ok(other) => {
                let was_held = self.held.take();
                let view = match (&other, was_held) {
                    (LockState::Free, Some(_)) if released => {
                        CommanderView::Free { note: Some("released".into()) }
                    }
                    (LockState::Theirs(t), Some(_)) => {
                        CommanderView::Lost { reason: format!("taken over by {}", t.identity) }
                    }
                    (LockState::Free, Some(mine)) if mine.expired(now) => CommanderView::Lost {
                        reason: format!(
                            "expired at {} without a renewal",
                            mine.expires_at.format("%H:%M:%S")
                        ),
                    },
                    (LockState::Free, Some(_)) => CommanderView::Lost { reason: "released elsewhere".into() },
                    (LockState::Theirs(t), None) => CommanderView::Theirs { holder: t.clone() },
                    (LockState::Free, None) => CommanderView::Free { note: None },
                    (LockState::Mine(_), _) => unreachable!("handled above"),
                };
                self.publish(view);
            }
            Err(error) => match self.held.clone() {
                Some(h) if h.expired(now) => {
                    self.held = None;
                    self.publish(CommanderView::Lost {
                        reason: format!("expired: could not renew: {error}"),
                    });
                }
                Some(h) => {
                    tracing::warn!("commander lock: {error}");
                    self.publish(CommanderView::Mine {
                        holder: h,
                        took_over_from: None,
                        warning: Some(error),
                    });
                }
                None => self.publish(CommanderView::Unavailable { error }),
            },
        }
    }

    /// How long until the next look.
    fn next_wait(&self) -> Duration {
        let ttl = self.lock.ttl();
        let mut wait = (ttl / 3).min(MAX_CHECK).min(self.lock.poll_interval());
        if let Some(h) = &self.held {
            let left = (h.expires_at - Utc::now()).to_std().unwrap_or(Duration::ZERO);
            wait = wait.min(left);
        }
        wait.max(MIN_CHECK)
    }

    async fn tick(&mut self) {
        if self.held.is_some() {
            if self.last_renew.elapsed() >= self.lock.ttl() / 3
                || self.held.as_ref().is_some_and(|h| h.expired(Utc::now()))
            {
                let r = self.call(self.lock.renew(&self.me)).await;
                self.apply(r, None, false);
            } else {
                // Between renewals, look: a takeover is reported within one poll interval.
                let r = self.call(self.lock.status(&self.me)).await;
                self.apply(r, None, false);
            }
        } else {
            let r = self.call(self.lock.status(&self.me)).await;
            self.apply(r, None, false);
        }
    }

    async fn handle(&mut self, req: LockRequest) {
        match req {
            LockRequest::Take { force } => {
                let displaced = self.view.borrow().other_holder().map(|h| h.identity.clone());
                let r = self.call(self.lock.acquire(&self.me, force)).await;
                self.apply(r, if force { displaced } else { None }, false);
            }
            LockRequest::Release => {
                let r = self.call(self.lock.release(&self.me)).await;
                if let Err(e) = &r
                    && self.held.is_some()
                {
                    let h = self.held.clone().expect("held");
                    let warning = Some(format!("release failed: {e}"));
                    self.publish(CommanderView::Mine { holder: h, took_over_from: None, warning });
                    return;
                }
                self.apply(r, None, true);
            }
        }
    }
}

/// Start the task for a console identified by `me` (see [`super::holder_identity`]). With
/// `take_at_start` it takes the lock when it is free (read-only consoles pass false and only
/// watch). The view starts as [`CommanderView::Pending`]. Dropping every request sender releases
/// the lock (if held) and ends the task.
pub fn spawn(
    lock: Arc<dyn CommanderLock>,
    me: String,
    take_at_start: bool,
) -> (watch::Receiver<CommanderView>, mpsc::Sender<LockRequest>) {
    let (view_tx, view_rx) = watch::channel(CommanderView::Pending);
    let (req_tx, req_rx) = mpsc::channel(8);
    run(lock, me, take_at_start, view_tx, req_rx);
    (view_rx, req_tx)
}

fn run(
    lock: Arc<dyn CommanderLock>,
    me: String,
    take_at_start: bool,
    view: watch::Sender<CommanderView>,
    mut requests: mpsc::Receiver<LockRequest>,
) {
    tokio::spawn(async move {
        let mut t = Task { lock, me, view, held: None, last_renew: tokio::time::Instant::now() };
        if take_at_start {
            let r = t.call(t.lock.acquire(&t.me, false)).await;
            t.apply(r, None, false);
        } else {
            t.tick().await;
        }
        loop {
            let wait = t.next_wait();
            tokio::select! {
                req = requests.recv() => match req {
                    Some(req) => t.handle(req).await,
                    None => break,
                },
                _ = tokio::time::sleep(wait) => t.tick().await,
            }
        }
        if t.held.is_some() {
            let r = t.call(t.lock.release(&t.me)).await;
            t.apply(r, None, true);
        }
    });
}

/// The lock `cfg` asks for: a Lease when `[commander]` names a context and namespace, else the
/// file next to the incident log in `incidents_dir`. `file_only` (drills) always uses the file.
pub async fn open_lock(
    cfg: &Config,
    incidents_dir: &Path,
    incident_id: &str,
    file_only: bool,
) -> Result<Arc<dyn CommanderLock>, String> {
    let mut c = cfg.commander.clone().unwrap_or_default();
    let ttl = Duration::from_secs(if c.ttl_secs == 0 { DEFAULT_TTL_SECS } else { c.ttl_secs });
    let mut path = cfg.kubernetes.as_ref().and_then(|k| k.kubeconfig.as_deref());
    // A shared incident keeps its commander Lease beside its entries unless `[commander]`
    // names another place.
    if let Some(w) = cfg.war_room.as_ref().filter(|_| c.context.is_none() && c.namespace.is_none()) {
        c.context = Some(w.context.clone());
        c.namespace = Some(w.namespace.clone());
        path = w.kubeconfig.as_deref().or(path);
    }
    match (&c.context, &c.namespace) {
        (Some(context), Some(namespace)) if !file_only => {
            let clients = KubeClients::from_kubeconfig(path, std::slice::from_ref(context))
                .await
                .map_err(|e| format!("commander lock: {e}"))?;
            let client = clients.get(context)?.clone();
            Ok(Arc::new(LeaseLock::new(client, context, namespace, incident_id, ttl)))
        }
        _ => Ok(Arc::new(FileLock::new(incidents_dir, incident_id, ttl)?)),
    }
}

/// The lock held by a headless run (`warroom exec`): renewed in the background until
/// [`CommanderGuard::release`] or drop (which releases it if the runtime is still running; else
/// it expires after the ttl).
pub struct CommanderGuard {
    view: watch::Receiver<CommanderView>,
    requests: Option<mpsc::Sender<LockRequest>>,
    describe: String,
}

impl CommanderGuard {
    /// `Ok` while the lock is still ours; `Err` says why not (taken over, expired, ...).
    /// Call it before each step.
    pub fn check(&self) -> Result<(), String> {
        match &*self.view.borrow() {
            v if v.held_by_me(Utc::now()) => Ok(()),
            CommanderView::Lost { reason } => Err(format!("commander lock lost: {reason}")),
            CommanderView::Theirs { holder } => Err(format!("{} holds the commander lock", holder.identity)),
            other => Err(format!("the commander lock is not held ({other:?})")),
        }
    }

    /// Where the lock lives (`file ...` or `Lease ctx/ns/name`).
    pub fn describe(&self) -> &str {
        &self.describe
    }

    /// The view of the lock, updated by the renewing task.
    pub fn view(&self) -> watch::Receiver<CommanderView> {
        self.view.clone()
    }

    /// Release the lock and wait (up to 5 s) until it is released.
    pub async fn release(mut self) -> Result<(), String> {
        let Some(tx) = self.requests.take() else { return Ok(()) };
        tx.send(LockRequest::Release).await.map_err(|_| "the commander lock task has ended".to_string())?;
        let mut view = self.view.clone();
        let done = tokio::time::timeout(
            Duration::from_secs(5),
            view.wait_for(|v| !matches!(v, CommanderView::Mine { warning: None, .. })),
        )
        .await;
        drop(tx);
        match done {
            Ok(Ok(v)) => match &*v {
                CommanderView::Free { .. } => Ok(()),
                CommanderView::Mine { warning: Some(w), .. } => Err(w.clone()),
                other => Err(format!("commander lock after release: {other:?}")),
            },
            _ => Err("the commander lock was not released within 5 s (it expires after its ttl)".into()),
        }
    }
}

impl Drop for CommanderGuard {
    fn drop(&mut self) {
        // Dropping the sender ends the task, which releases the lock.
        self.requests.take();
    }
}

/// Take the commander lock for `warroom exec` on incident `incident_id`, as `me` (see
/// [`super::holder_identity`]). The same lock the consoles use. `Err` when someone else holds it
/// (naming them and when it expires) or the lock cannot be reached.
pub async fn acquire_for_exec(
    cfg: &Config,
    incidents_dir: &Path,
    incident_id: &str,
    me: &str,
) -> Result<CommanderGuard, String> {
    let lock = open_lock(cfg, incidents_dir, incident_id, false).await?;
    let describe = lock.describe();
    let (mut view, requests) = spawn(lock, me.to_string(), true);
    let limit = Duration::from_secs(15);
    let first = tokio::time::timeout(limit, view.wait_for(|v| *v != CommanderView::Pending))
        .await
        .map_err(|_| format!("{describe}: no answer within 15 s"))?
        .map_err(|_| "the commander lock task has ended".to_string())?
        .clone();
    match first {
        CommanderView::Mine { .. } => Ok(CommanderGuard { view, requests: Some(requests), describe }),
        CommanderView::Theirs { holder } => Err(format!(
            "{} holds the commander lock ({describe}, expires in {}s unless renewed): take it over in their console or wait",
            holder.identity,
            holder.expires_in_secs(Utc::now())
        )),
        CommanderView::Unavailable { error } => Err(format!("commander lock unavailable: {error}")),
        other => Err(format!("commander lock not acquired: {other:?}")),
    }
}
