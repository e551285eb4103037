//! [`KubeObserver`]: watches (not list-polling) per context, folded into compact stores that
//! `observe()` assembles without touching the network.
//!
//! Per context and namespace there is one pod watch and one deployment watch; the database
//! Service is watched by name in its context, its endpoints through every EndpointSlice
//! labelled `kubernetes.io/service-name=<name>` there (see [`super::slices`]).
//!
//! A failing watch marks its context's [`ContextHealth::error`] and keeps its rows (stale); it
//! is rebuilt after an exponential backoff, re-listing so that nothing missed while away
//! survives. A live watch whose connection drops first resumes from the last resourceVersion
//! it saw (the API server replays what was missed; no re-list of every pod). When that history
//! is gone (`410 Gone`: etcd compacted, the API server's watch cache restarted) it re-lists at
//! once and counts it ([`KubeObserver::relists_after_gone`]). A small heartbeat (`GET /version`)
//! per context also notices an API server that hangs without closing the connections.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use futures::future::BoxFuture;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::Api;
use kube::runtime::watcher::{self, Event};
use serde::de::DeserializeOwned;
use tokio::sync::Notify;
use tokio::task::AbortHandle;

use super::clients::{KubeClients, configured_contexts};
use super::rows::{self, KeepLabels};
use super::slices::{self, SliceEndpoint};
use crate::backends::Observe;
use crate::backends::model::{ContextHealth, DeploymentRow, KubeView, PodRow, ServiceView};
use crate::config::model::{Config, ObjectRef};

/// What to watch.
#[derive(Debug, Clone, PartialEq)]
pub struct KubeObserveSpec {
    /// Contexts, in display order.
    pub contexts: Vec<String>,
    /// Namespaces to watch pods and deployments in (empty: all namespaces).
    pub namespaces: Vec<String>,
    /// The database Service.
    pub db_service: Option<ObjectRef>,
    /// Heartbeat interval per context.
    pub heartbeat_every: Duration,
    /// Heartbeat timeout (an API server that does not answer within it is marked lost).
    pub heartbeat_timeout: Duration,
    /// First delay before rebuilding a failed watch (doubles up to 30 s).
    pub backoff_min: Duration,
}

impl KubeObserveSpec {
    /// From `warroom.toml`.
    pub fn from_config(cfg: &Config) -> KubeObserveSpec {
        KubeObserveSpec {
            contexts: configured_contexts(cfg),
            namespaces: cfg.kubernetes.as_ref().map(|k| k.namespaces.clone()).unwrap_or_default(),
            db_service: cfg.postgres.as_ref().and_then(|p| p.service.clone()),
            ..KubeObserveSpec::default()
        }
    }
}

impl Default for KubeObserveSpec {
    fn default() -> Self {
        KubeObserveSpec {
            contexts: vec![],
            namespaces: vec![],
            db_service: None,
            heartbeat_every: Duration::from_secs(5),
            heartbeat_timeout: Duration::from_secs(3),
            backoff_min: Duration::from_millis(250),
        }
    }
}

const BACKOFF_MAX: Duration = Duration::from_secs(30);

/// How long one observation waits for every context's first answer (its first list, or an
/// error): without it, a poll right after start-up reports "failed" (and a few pokes in a row
/// open the poller's breaker) before the first list arrives, or omits a dead context's error.
const FIRST_ANSWER_WAIT: Duration = Duration::from_secs(1);

#[derive(Debug, Default)]
struct StreamHealth {
    synced: bool,
    error: Option<String>,
}

#[derive(Debug, Default)]
struct CtxState {
    streams: BTreeMap<String, StreamHealth>,
    heartbeat_error: Option<String>,
    last_ok: Option<DateTime<Utc>>,
}

impl CtxState {
    fn error(&self) -> Option<String> {
        self.heartbeat_error.clone().or_else(|| {
            self.streams.iter().find_map(|(label, s)| s.error.as_ref().map(|e| format!("{label}: {e}")))
        })
    }

    fn synced(&self) -> bool {
        !self.streams.is_empty() && self.streams.values().all(|s| s.synced)
    }
}

/// The compact stores, one map per watch stream.
#[derive(Debug, Default)]
struct Stores {
    pods: Vec<BTreeMap<String, PodRow>>,
    /// Bumped on every change to a row store; the assembled pod list is reused while it
    /// stays the same.
    generation: u64,
    deployments: Vec<BTreeMap<String, DeploymentRow>>,
    service: BTreeMap<String, BTreeMap<String, String>>,
    /// The database Service's EndpointSlices by `namespace/name`.
    slices: BTreeMap<String, Vec<SliceEndpoint>>,
    contexts: BTreeMap<String, CtxState>,
    /// Re-lists forced by `410 Gone`.
    gone: u64,
}

struct Shared {
    stores: Mutex<Stores>,
    notify: Arc<Notify>,
}

impl Shared {
    fn update<T>(&self, f: impl FnOnce(&mut Stores) -> T) -> T {
        let out = f(&mut self.stores.lock().unwrap_or_else(|e| e.into_inner()));
        self.notify.notify_one();
        out
    }

    /// Apply a watch event; wake the poller only when it changed what the panes show (a
    /// status update that touches no displayed field, common in a real cluster, does not).
    fn apply(&self, f: impl FnOnce(&mut Stores) -> bool) {
        if f(&mut self.stores.lock().unwrap_or_else(|e| e.into_inner())) {
            self.notify.notify_one();
        }
    }
}

/// Watches every configured context; `observe()` assembles the current stores.
pub struct KubeObserver {
    shared: Arc<Shared>,
    spec: KubeObserveSpec,
    tasks: Vec<AbortHandle>,
    /// The last assembled pod list and the `pods_generation` it was built at: an idle estate
    /// hands out the same `Arc` on every poll instead of copying and sorting every pod.
    pods_cache: Mutex<Option<(u64, Arc<Vec<PodRow>>)>>,
}

impl Drop for KubeObserver {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Where a stream's rows go.
type Slot<R> = fn(&mut Stores, usize) -> &mut BTreeMap<String, R>;

struct StreamCtx {
    shared: Arc<Shared>,
    context: String,
    label: String,
    backoff_min: Duration,
}

impl KubeObserver {
    /// Start watching. Must be called inside a tokio runtime; tasks end when the observer is
    /// dropped. A context without a client is reported as an error in its health row.
    pub fn start(clients: &KubeClients, spec: KubeObserveSpec) -> KubeObserver {
        let shared =
            Arc::new(Shared { stores: Mutex::new(Stores::default()), notify: Arc::new(Notify::new()) });
        let mut tasks = Vec::new();
        let namespaces: Vec<Option<&str>> = if spec.namespaces.is_empty() {
            vec![None]
        } else {
            spec.namespaces.iter().map(|n| Some(n.as_str())).collect()
        };
        for context in &spec.contexts {
            let client = match clients.get(context) {
                Ok(c) => c.clone(),
                Err(e) => {
                    shared
                        .update(|s| s.contexts.entry(context.clone()).or_default().heartbeat_error = Some(e));
                    continue;
                }
            };
            let watches = ContextWatches { shared: &shared, spec: &spec, context, client: &client };
            for ns in &namespaces {
                tasks.push(watches.pods(*ns));
                tasks.push(watches.deployments(*ns));
            }
            if let Some(db) = spec.db_service.as_ref().filter(|db| db.context == *context) {
                tasks.extend(watches.db_service(db));
            }
            tasks.push(spawn_heartbeat(shared.clone(), context.clone(), client, &spec));
        }
        KubeObserver { shared, spec, tasks, pods_cache: Mutex::new(None) }
    }

    /// Notified (one stored permit) on every watch event and health change, so the poller can
    /// publish at once instead of waiting for its interval.
    pub fn notify_handle(&self) -> Arc<Notify> {
        self.shared.notify.clone()
    }

    /// How many times a watch found its history gone (`410 Gone`) and re-listed.
    pub fn relists_after_gone(&self) -> u64 {
        self.shared.stores.lock().unwrap_or_else(|e| e.into_inner()).gone
    }

    /// Whether every context has answered at least once: its first list, or an error.
    fn every_context_answered(&self) -> bool {
        let s = self.shared.stores.lock().unwrap_or_else(|e| e.into_inner());
        self.spec
            .contexts
            .iter()
            .all(|c| s.contexts.get(c).is_some_and(|st| st.synced() || st.error().is_some()))
    }

    /// Assemble the current view (no network). `Err` when every context is failing, or none
    /// has finished its first list yet.
    pub fn view(&self) -> Result<KubeView, String> {
        let s = self.shared.stores.lock().unwrap_or_else(|e| e.into_inner());
        let contexts: Vec<ContextHealth> = self
            .spec
            .contexts
            .iter()
            .map(|c| {
                let st = s.contexts.get(c);
                ContextHealth {
                    context: c.clone(),
                    error: st.and_then(CtxState::error),
                    last_ok: st.and_then(|st| st.last_ok),
                }
            })
            .collect();
        if !contexts.is_empty() && contexts.iter().all(|c| c.error.is_some()) {
            let errs: Vec<String> = contexts
                .iter()
                .map(|c| format!("{}: {}", c.context, c.error.as_deref().unwrap_or_default()))
                .collect();
            return Err(errs.join("; "));
        }
        if !self.spec.contexts.is_empty() && !s.contexts.values().any(CtxState::synced) {
            return Err("waiting for the first list from the Kubernetes API".into());
        }
        let pods = self.pods(&s);
        let mut deployments: Vec<DeploymentRow> =
            s.deployments.iter().flat_map(|m| m.values().cloned()).collect();
        deployments
            .sort_by(|a, b| (&a.context, &a.namespace, &a.name).cmp(&(&b.context, &b.namespace, &b.name)));
        let db_service = self.spec.db_service.as_ref().and_then(|db| {
            let key = format!("{}/{}", db.namespace, db.name);
            let selector = s.service.get(&key)?.clone();
            let endpoints = slices::service_endpoints(s.slices.values().map(Vec::as_slice));
            Some(ServiceView {
                context: db.context.clone(),
                namespace: db.namespace.clone(),
                name: db.name.clone(),
                selector,
                endpoint_pods: endpoints.iter().filter(|e| e.traffic).map(|e| e.pod.clone()).collect(),
                endpoints,
            })
        });
        Ok(KubeView { pods, deployments, db_service, contexts })
    }

    /// Every pod, sorted by place: the cached list while no pod changed since it was built.
    fn pods(&self, s: &Stores) -> Arc<Vec<PodRow>> {
        let mut cache = self.pods_cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((generation, pods)) = cache.as_ref()
            && *generation == s.generation
        {
            return pods.clone();
        }
        let mut pods: Vec<PodRow> = s.pods.iter().flat_map(|m| m.values().cloned()).collect();
        pods.sort_by(|a, b| (&a.context, &a.namespace, &a.name).cmp(&(&b.context, &b.namespace, &b.name)));
        let pods = Arc::new(pods);
        *cache = Some((s.generation, pods.clone()));
        pods
    }
}

impl Observe for KubeObserver {
    type Output = KubeView;

    fn name(&self) -> &str {
        "kubernetes"
    }

    fn observe(&self) -> BoxFuture<'_, Result<KubeView, String>> {
        Box::pin(async move {
            let deadline = tokio::time::Instant::now() + FIRST_ANSWER_WAIT;
            // `notify_one` stores a permit when nobody waits, so no update is missed in between.
            while !self.every_context_answered() {
                if tokio::time::timeout_at(deadline, self.shared.notify.notified()).await.is_err() {
                    break;
                }
            }
            self.view()
        })
    }
}

/// The watches of one context, each folding into its own slot of the shared stores.
struct ContextWatches<'a> {
    shared: &'a Arc<Shared>,
    spec: &'a KubeObserveSpec,
    context: &'a String,
    client: &'a kube::Client,
}

impl ContextWatches<'_> {
    fn stream(&self, label: String) -> StreamCtx {
        StreamCtx {
            shared: self.shared.clone(),
            context: self.context.clone(),
            label,
            backoff_min: self.spec.backoff_min,
        }
    }

    /// Pods in `ns` (`None`: all namespaces). Labels are kept only for the database's
    /// namespace, where the Service selects pods by them.
    fn pods(&self, ns: Option<&str>) -> AbortHandle {
        let keep = match (&self.spec.db_service, ns) {
            (Some(db), Some(ns)) if db.context == *self.context && db.namespace == ns => KeepLabels::All,
            (Some(db), None) if db.context == *self.context => KeepLabels::All,
            _ => KeepLabels::None,
        };
        let db_ns = self
            .spec
            .db_service
            .as_ref()
            .filter(|db| db.context == *self.context)
            .map(|db| db.namespace.clone());
        let ctx = self.context.clone();
        let slot = self.shared.update(|s| {
            s.pods.push(BTreeMap::new());
            s.pods.len() - 1
        });
        let convert = move |p: &Pod| {
            // With all namespaces watched, keep labels only for the database namespace.
            let keep = match (keep, &db_ns) {
                (KeepLabels::All, Some(n)) if p.metadata.namespace.as_deref() != Some(n) => KeepLabels::None,
                (k, _) => k,
            };
            rows::pod_row(&ctx, p, keep)
        };
        let label = format!("pods in {}", ns.unwrap_or("all namespaces"));
        let pods: Api<Pod> = api(self.client, ns);
        spawn_watch(
            self.stream(label),
            pods,
            watcher::Config::default(),
            slot,
            |s, i| &mut s.pods[i],
            convert,
        )
    }

    /// Deployments in `ns` (`None`: all namespaces).
    fn deployments(&self, ns: Option<&str>) -> AbortHandle {
        let slot = self.shared.update(|s| {
            s.deployments.push(BTreeMap::new());
            s.deployments.len() - 1
        });
        let ctx = self.context.clone();
        let label = format!("deployments in {}", ns.unwrap_or("all namespaces"));
        let deps: Api<Deployment> = api(self.client, ns);
        spawn_watch(
            self.stream(label),
            deps,
            watcher::Config::default(),
            slot,
            |s, i| &mut s.deployments[i],
            move |d: &Deployment| rows::deployment_row(&ctx, d),
        )
    }

    /// The database Service's selector (watched by name) and its EndpointSlices (by label).
    fn db_service(&self, db: &ObjectRef) -> [AbortHandle; 2] {
        let by_name = watcher::Config::default().fields(&format!("metadata.name={}", db.name));
        let by_service =
            watcher::Config::default().labels(&format!("kubernetes.io/service-name={}", db.name));
        let svc: Api<Service> = Api::namespaced(self.client.clone(), &db.namespace);
        let service = spawn_watch(
            self.stream(format!("service {}/{}", db.namespace, db.name)),
            svc,
            by_name,
            0,
            |s, _| &mut s.service,
            |svc: &Service| svc.spec.as_ref().and_then(|s| s.selector.clone()).unwrap_or_default(),
        );
        let eps: Api<EndpointSlice> = Api::namespaced(self.client.clone(), &db.namespace);
        let endpoints = spawn_watch(
            self.stream(format!("endpointslices {}/{}", db.namespace, db.name)),
            eps,
            by_service,
            0,
            |s, _| &mut s.slices,
            slices::slice_endpoints,
        );
        [service, endpoints]
    }
}

fn api<K>(client: &kube::Client, ns: Option<&str>) -> Api<K>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>,
    <K as kube::Resource>::DynamicType: Default,
{
    match ns {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

fn key_of<K: kube::Resource>(k: &K) -> String {
    let m = k.meta();
    format!("{}/{}", m.namespace.as_deref().unwrap_or_default(), m.name.as_deref().unwrap_or_default())
}

/// `410 Gone` as a watch event (the watcher re-lists by itself) or as the answer to resuming a
/// watch (the watcher would retry the same resourceVersion forever: rebuild it).
fn gone(e: &watcher::Error) -> Option<Rebuild> {
    match e {
        watcher::Error::WatchError(s) if s.code == 410 => Some(Rebuild::No),
        watcher::Error::WatchStartFailed(kube::Error::Api(s)) if s.code == 410 => Some(Rebuild::Yes),
        _ => None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rebuild {
    Yes,
    No,
}

/// Run one watch forever: fold its events into `slot`, mark health, rebuild after errors.
fn spawn_watch<K, R>(
    sc: StreamCtx,
    api: Api<K>,
    wc: watcher::Config,
    index: usize,
    slot: Slot<R>,
    convert: impl Fn(&K) -> R + Send + 'static,
) -> AbortHandle
where
    K: kube::Resource + Clone + DeserializeOwned + std::fmt::Debug + Send + 'static,
    R: PartialEq + Send + 'static,
{
    sc.shared.update(|s| {
        s.contexts
            .entry(sc.context.clone())
            .or_default()
            .streams
            .insert(sc.label.clone(), StreamHealth::default());
    });
    let task = tokio::spawn(async move {
        let mut delay = sc.backoff_min;
        loop {
            let mut stream = watcher::watcher(api.clone(), wc.clone()).boxed();
            let mut buffer: BTreeMap<String, R> = BTreeMap::new();
            // A live watch broke and is being resumed (no event since).
            let mut resuming = false;
            while let Some(ev) = stream.next().await {
                let e = match ev {
                    Ok(ev) => {
                        (delay, resuming) = (sc.backoff_min, false);
                        fold(&sc, index, slot, &convert, &mut buffer, ev);
                        continue;
                    }
                    Err(e) => e,
                };
                match gone(&e) {
                    Some(rebuild) => {
                        tracing::info!(context = %sc.context, "{}: {e}; re-listing", sc.label);
                        sc.shared.update(|s| s.gone += 1);
                        if rebuild == Rebuild::Yes {
                            break;
                        }
                    }
                    // A dropped connection: the watcher resumes from the last resourceVersion
                    // it saw; failing that, the error is shown and the watch rebuilt.
                    None if matches!(e, watcher::Error::WatchFailed(_)) && !resuming => {
                        tracing::debug!(context = %sc.context, "{}: {e}; resuming", sc.label);
                        resuming = true;
                    }
                    None => {
                        tracing::warn!(context = %sc.context, "{}: {e}", sc.label);
                        sc.shared.update(|s| {
                            let st = s.contexts.entry(sc.context.clone()).or_default();
                            st.streams.entry(sc.label.clone()).or_default().error =
                                Some(super::clients::describe_watch(&e));
                        });
                        break;
                    }
                }
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(BACKOFF_MAX);
        }
    });
    task.abort_handle()
}

/// Fold one watch event into the stream's slot (a list is buffered until it is complete).
fn fold<K: kube::Resource, R: PartialEq>(
    sc: &StreamCtx,
    index: usize,
    slot: Slot<R>,
    convert: &impl Fn(&K) -> R,
    buffer: &mut BTreeMap<String, R>,
    ev: Event<K>,
) {
    match ev {
        Event::Init => buffer.clear(),
        Event::InitApply(k) => {
            buffer.insert(key_of(&k), convert(&k));
        }
        Event::InitDone => {
            let rows = std::mem::take(buffer);
            sc.shared.apply(|s| {
                let store = slot(s, index);
                let changed = *store != rows;
                *store = rows;
                changed_rows(s, changed) | mark_ok(s, sc, true)
            });
        }
        Event::Apply(k) => {
            let (key, row) = (key_of(&k), convert(&k));
            sc.shared.apply(|s| {
                let store = slot(s, index);
                let changed = store.get(&key) != Some(&row);
                if changed {
                    store.insert(key, row);
                }
                changed_rows(s, changed) | mark_ok(s, sc, false)
            });
        }
        Event::Delete(k) => sc.shared.apply(|s| {
            let changed = slot(s, index).remove(&key_of(&k)).is_some();
            changed_rows(s, changed) | mark_ok(s, sc, false)
        }),
    }
}

/// Count a change to a row store (the cached pod list is then rebuilt). Returns `changed`.
fn changed_rows(s: &mut Stores, changed: bool) -> bool {
    if changed {
        s.generation += 1;
    }
    changed
}

/// The stream delivered: healthy again, and synced after a list. Returns whether its health
/// changed (an error cleared, or the first list arrived).
fn mark_ok(s: &mut Stores, sc: &StreamCtx, synced: bool) -> bool {
    let st = s.contexts.entry(sc.context.clone()).or_default();
    st.last_ok = Some(crate::clock::now()); // the console's timeline, like snapshot ages
    let h = st.streams.entry(sc.label.clone()).or_default();
    let changed = h.error.is_some() || (synced && !h.synced);
    h.error = None;
    h.synced |= synced;
    changed
}

fn spawn_heartbeat(
    shared: Arc<Shared>,
    context: String,
    client: kube::Client,
    spec: &KubeObserveSpec,
) -> AbortHandle {
    let (every, timeout) = (spec.heartbeat_every, spec.heartbeat_timeout);
    tokio::spawn(async move {
        loop {
            let result = match tokio::time::timeout(timeout, client.apiserver_version()).await {
                Ok(Ok(_)) => None,
                Ok(Err(e)) => Some(format!("API server check failed: {}", super::operator::describe(&e))),
                Err(_) => Some(format!("API server did not answer within {} ms", timeout.as_millis())),
            };
            let changed = {
                let mut s = shared.stores.lock().unwrap_or_else(|e| e.into_inner());
                let st = s.contexts.entry(context.clone()).or_default();
                let changed = st.heartbeat_error != result;
                st.heartbeat_error = result;
                changed
            };
            if changed {
                shared.notify.notify_one();
            }
            tokio::time::sleep(every).await;
        }
    })
    .abort_handle()
}
