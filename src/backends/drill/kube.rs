//! Simulated Kubernetes: pods with a kubelet-like container lifecycle (creation, readiness,
//! crashes with exponential back-off), deployments reconciled through ReplicaSets, and the
//! database Service whose endpoints are the ready pods matching its selector.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::estate::{self, APP_NAMESPACE, DB_NAMESPACE, DEPLOYMENTS, PG_NODES, REDIS_NODES, REGIONS};
use super::rng::Rng;
use crate::backends::model::{
    ContextHealth, DeploymentRow, EndpointState, KubeView, PodRow, ServiceEndpoint, ServiceView,
};

/// Longest CrashLoopBackOff delay, as the kubelet caps it.
const MAX_BACKOFF_S: f64 = 300.0;
/// How long a freshly terminated container shows its termination reason before the
/// waiting reason becomes `CrashLoopBackOff`.
const SHOW_TERMINATION_S: f64 = 2.0;

/// What cannot be reached right now: lost regions, hung nodes, partitioned Sentinels and
/// Kubernetes API servers that stopped answering (each with the sim time it started).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outage {
    /// Lost regions (= contexts).
    regions: BTreeMap<String, f64>,
    /// Pods or Sentinels that hang: connections to them time out.
    pub hung: BTreeSet<String>,
    /// Sentinels cut off from the other Sentinels and from Redis.
    pub partitioned: BTreeSet<String>,
    /// Contexts whose API server does not answer (the workloads keep running).
    pub api_down: BTreeMap<String, f64>,
}

impl Outage {
    /// Nothing lost.
    pub fn new() -> Outage {
        Outage::default()
    }

    /// Whether region (= context) `region` is lost.
    pub fn contains(&self, region: &str) -> bool {
        self.regions.contains_key(region)
    }

    /// Lose `region` from sim time `since`.
    pub fn insert(&mut self, region: String, since: f64) {
        self.regions.entry(region).or_insert(since);
    }

    /// The region comes back.
    pub fn remove(&mut self, region: &str) {
        self.regions.remove(region);
    }

    /// Since when `context`'s API server has not answered (region lost or API down).
    pub fn api_silent_since(&self, context: &str) -> Option<f64> {
        self.regions.get(context).or_else(|| self.api_down.get(context)).copied()
    }
}

/// The lifecycle of a pod's (single) container.
#[derive(Debug, Clone, PartialEq)]
pub enum Container {
    /// Pulling the image / creating the container until `ready_at`.
    Creating {
        /// When the container starts.
        start_at: f64,
    },
    /// No schedulable node (the region's nodes are NotReady).
    Unschedulable,
    /// Running, readiness probe not passing yet.
    Starting {
        /// When readiness passes.
        ready_at: f64,
        /// When the process dies, if it is doomed.
        crash_at: Option<f64>,
    },
    /// Running and ready.
    Running {
        /// When the process dies, if it is doomed.
        crash_at: Option<f64>,
    },
    /// Terminated; the kubelet waits before restarting it.
    BackOff {
        /// When it terminated.
        crashed_at: f64,
        /// When the kubelet restarts it.
        restart_at: f64,
    },
}

/// Why new containers of a pod keep dying, and until when.
#[derive(Debug, Clone, PartialEq)]
pub struct Doom {
    /// Termination reason (`Error`, `OOMKilled`).
    pub reason: &'static str,
    /// How long a started container lives, seconds (min, max).
    pub run_for: (f64, f64),
    /// Sim time after which new containers start fine again.
    pub until: Option<f64>,
}

impl Doom {
    fn active(&self, now: f64) -> bool {
        self.until.is_none_or(|u| now < u)
    }
}

/// One simulated pod.
#[derive(Debug, Clone)]
pub struct Pod {
    /// Kube context.
    pub context: String,
    /// Namespace.
    pub namespace: String,
    /// Pod name.
    pub name: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Node it is scheduled on.
    pub node: Option<String>,
    /// Creation time (sim seconds; negative = before the drill started).
    pub created: f64,
    /// Container state.
    pub container: Container,
    /// Restart count.
    pub restarts: u32,
    /// Terminations so far (drives the back-off).
    pub crashes: u32,
    /// Last termination reason.
    pub last_reason: Option<&'static str>,
    /// Why containers die, if they do.
    pub doom: Option<Doom>,
    /// Owning deployment and ReplicaSet hash.
    pub owner: Option<(String, String)>,
}

/// A ReplicaSet of a deployment: one pod template revision.
#[derive(Debug, Clone)]
pub struct ReplicaSet {
    /// `pod-template-hash`.
    pub hash: String,
    /// `deployment.kubernetes.io/revision`.
    pub revision: u64,
    /// Replicas it should run.
    pub replicas: u32,
    /// A bad template: its containers die like this.
    pub doom: Option<Doom>,
}

/// One deployment.
#[derive(Debug, Clone)]
pub struct Deployment {
    /// Kube context.
    pub context: String,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Desired replicas.
    pub desired: u32,
    /// ReplicaSets, oldest revision first (the last one is the current revision).
    pub sets: Vec<ReplicaSet>,
}

impl Deployment {
    /// The current revision.
    pub fn revision(&self) -> u64 {
        self.sets.last().map_or(0, |s| s.revision)
    }

    /// Roll back like `kubectl rollout undo`: the ReplicaSet with the highest revision below the
    /// current one gets the template back, a new revision and every replica; the others none.
    /// Returns (from revision, to revision, ReplicaSet hash), or `None` without history.
    pub fn rollback(&mut self) -> Option<(u64, u64, String)> {
        let current = self.revision();
        let i = self
            .sets
            .iter()
            .enumerate()
            .filter(|(_, s)| s.revision < current)
            .max_by_key(|(_, s)| s.revision)
            .map(|(i, _)| i)?;
        let mut set = self.sets.remove(i);
        let from = set.revision;
        set.revision = current + 1;
        set.replicas = self.desired;
        for other in &mut self.sets {
            other.replicas = 0;
        }
        let hash = set.hash.clone();
        self.sets.push(set);
        Some((current, from, hash))
    }
}

/// A Service and its selector.
#[derive(Debug, Clone)]
pub struct Service {
    /// Kube context.
    pub context: String,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Selector.
    pub selector: BTreeMap<String, String>,
}

/// How a pod's process can be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Running and ready.
    Up,
    /// Running, not ready yet (starting up).
    Starting,
    /// Not running: connections are refused.
    Refused,
    /// The region is lost: connections time out.
    Timeout,
}

/// All simulated Kubernetes objects.
#[derive(Debug, Clone)]
pub struct Kube {
    /// Pods in every context.
    pub pods: Vec<Pod>,
    /// Deployments in every context.
    pub deployments: Vec<Deployment>,
    /// The database Service.
    pub service: Service,
}

fn node_name(rng: &mut Rng, region: &str) -> String {
    let prefix = if region == "us-east-1" {
        "10-0"
    } else if region == "us-west-2" {
        "10-1"
    } else {
        "10-2"
    };
    format!("ip-{prefix}-{}-{}.{region}.compute.internal", rng.int(1, 3) * 16, rng.int(10, 250))
}

impl Kube {
    /// The estate at the start of a drill: everything healthy, pods days old.
    pub fn new(rng: &mut Rng) -> Kube {
        let mut pods = Vec::new();
        let mut deployments = Vec::new();
        for (region, _) in REGIONS {
            for (name, replicas) in DEPLOYMENTS {
                let hash = format!("{}{}", rng.int(5, 9), rng.suffix(8));
                let created = -rng.range(2.0, 9.0) * 86_400.0;
                for _ in 0..replicas {
                    let pod_name = format!("{name}-{hash}-{}", rng.suffix(5));
                    let mut pod = new_pod(rng, region, APP_NAMESPACE, &pod_name);
                    pod.created = created + rng.range(0.0, 40.0);
                    pod.container = Container::Running { crash_at: None };
                    pod.labels.insert("app".into(), name.into());
                    pod.labels.insert("pod-template-hash".into(), hash.clone());
                    pod.owner = Some((name.into(), hash.clone()));
                    pods.push(pod);
                }
                deployments.push(Deployment {
                    context: region.into(),
                    namespace: APP_NAMESPACE.into(),
                    name: name.into(),
                    desired: replicas,
                    sets: vec![ReplicaSet {
                        revision: u64::from(hash.as_bytes()[0] - b'0'),
                        hash,
                        replicas,
                        doom: None,
                    }],
                });
            }
        }
        for (i, spec) in PG_NODES.iter().enumerate() {
            let mut pod = new_pod(rng, spec.region, DB_NAMESPACE, spec.name);
            pod.created = -rng.range(20.0, 40.0) * 86_400.0;
            pod.container = Container::Running { crash_at: None };
            pod.labels.insert("app".into(), "postgresql".into());
            pod.labels.insert("role".into(), if i == 0 { "primary" } else { "replica" }.into());
            pod.labels.insert("statefulset.kubernetes.io/pod-name".into(), spec.name.into());
            pods.push(pod);
        }
        for spec in REDIS_NODES {
            let mut pod = new_pod(rng, spec.region, DB_NAMESPACE, spec.name);
            pod.created = -rng.range(10.0, 20.0) * 86_400.0;
            pod.container = Container::Running { crash_at: None };
            pod.labels.insert("app".into(), "redis".into());
            pod.labels.insert("statefulset.kubernetes.io/pod-name".into(), spec.name.into());
            pods.push(pod);
        }
        let (context, namespace, name) = estate::DB_SERVICE;
        let selector = BTreeMap::from([
            ("role".to_string(), "primary".to_string()),
            ("statefulset.kubernetes.io/pod-name".to_string(), "postgresql-0".to_string()),
        ]);
        Kube {
            pods,
            deployments,
            service: Service {
                context: context.into(),
                namespace: namespace.into(),
                name: name.into(),
                selector,
            },
        }
    }

    /// Add `extra` pods as replicas of a `batch` deployment, spread over the regions (the
    /// first regions take the remainder): a scenario's `estate.pods` beyond the base estate.
    pub fn add_batch(&mut self, rng: &mut Rng, extra: u32) {
        let n = REGIONS.len() as u32;
        for (i, (region, _)) in REGIONS.iter().enumerate() {
            let replicas = extra / n + u32::from((i as u32) < extra % n);
            let hash = format!("{}{}", rng.int(5, 9), rng.suffix(8));
            let created = -rng.range(1.0, 3.0) * 86_400.0;
            for _ in 0..replicas {
                let name = format!("batch-{hash}-{}", rng.suffix(5));
                let mut pod = new_pod(rng, region, APP_NAMESPACE, &name);
                pod.created = created + rng.range(0.0, 600.0);
                pod.container = Container::Running { crash_at: None };
                pod.labels.insert("app".into(), "batch".into());
                pod.labels.insert("pod-template-hash".into(), hash.clone());
                pod.owner = Some(("batch".into(), hash.clone()));
                self.pods.push(pod);
            }
            self.deployments.push(Deployment {
                context: region.to_string(),
                namespace: APP_NAMESPACE.into(),
                name: "batch".into(),
                desired: replicas,
                sets: vec![ReplicaSet {
                    revision: u64::from(hash.as_bytes()[0] - b'0'),
                    hash,
                    replicas,
                    doom: None,
                }],
            });
        }
    }

    /// Pod by context and name.
    pub fn pod(&self, context: &str, name: &str) -> Option<&Pod> {
        self.pods.iter().find(|p| p.context == context && p.name == name)
    }

    /// Mutable pod by context and name.
    pub fn pod_mut(&mut self, context: &str, name: &str) -> Option<&mut Pod> {
        self.pods.iter_mut().find(|p| p.context == context && p.name == name)
    }

    /// How the process in a pod can be reached right now.
    pub fn reach(&self, context: &str, name: &str, out: &Outage) -> Reach {
        if out.contains(context) || out.hung.contains(name) {
            return Reach::Timeout;
        }
        match self.pod(context, name).map(|p| &p.container) {
            Some(Container::Running { .. }) => Reach::Up,
            Some(Container::Starting { .. }) => Reach::Starting,
            _ => Reach::Refused,
        }
    }

    /// Kill the process in a pod now; the kubelet restarts it after the back-off.
    pub fn crash(&mut self, context: &str, name: &str, reason: &'static str, now: f64) {
        if let Some(p) = self.pod_mut(context, name) {
            terminate(p, reason, now);
        }
    }

    /// Whether a namespace exists in a context.
    pub fn has_namespace(&self, context: &str, namespace: &str) -> bool {
        self.pods.iter().any(|p| p.context == context && p.namespace == namespace)
            || self.deployments.iter().any(|d| d.context == context && d.namespace == namespace)
    }

    /// Advance kubelets and the deployment controller by one tick ending at `now`.
    pub fn tick(&mut self, now: f64, rng: &mut Rng, out: &Outage) {
        for p in self.pods.iter_mut().filter(|p| !out.contains(&p.context)) {
            step_container(p, now, rng);
        }
        for d in 0..self.deployments.len() {
            self.reconcile(d, now, rng, out);
        }
    }

    fn reconcile(&mut self, d: usize, now: f64, rng: &mut Rng, out: &Outage) {
        let dep = self.deployments[d].clone();
        let lost = out.contains(&dep.context);
        for set in &dep.sets {
            let owned = |p: &Pod| {
                p.context == dep.context
                    && p.namespace == dep.namespace
                    && p.owner.as_ref().is_some_and(|(n, h)| *n == dep.name && *h == set.hash)
            };
            let have = self.pods.iter().filter(|p| owned(p)).count() as u32;
            for _ in have..set.replicas {
                let name = format!("{}-{}-{}", dep.name, set.hash, rng.suffix(5));
                let mut pod = new_pod(rng, &dep.context, &dep.namespace, &name);
                pod.created = now;
                pod.container = if lost {
                    pod.node = None;
                    Container::Unschedulable
                } else {
                    Container::Creating { start_at: now + rng.range(1.0, 3.0) }
                };
                pod.labels.insert("app".into(), dep.name.clone());
                pod.labels.insert("pod-template-hash".into(), set.hash.clone());
                pod.owner = Some((dep.name.clone(), set.hash.clone()));
                pod.doom = set.doom.clone();
                self.pods.push(pod);
            }
            for _ in set.replicas..have {
                // Like the ReplicaSet controller: delete unready pods first, then the newest.
                let victim = self
                    .pods
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| owned(p))
                    .max_by(|(_, a), (_, b)| {
                        let ready = |p: &Pod| matches!(p.container, Container::Running { .. });
                        ready(b).cmp(&ready(a)).then(a.created.total_cmp(&b.created))
                    })
                    .map(|(i, _)| i);
                if let Some(i) = victim {
                    self.pods.remove(i);
                }
            }
        }
    }

    /// Ready pods matching the Service selector (its endpoints).
    pub fn endpoints(&self, out: &Outage) -> Vec<String> {
        let s = &self.service;
        self.pods
            .iter()
            .filter(|p| p.context == s.context && p.namespace == s.namespace)
            .filter(|p| s.selector.iter().all(|(k, v)| p.labels.get(k) == Some(v)))
            .filter(|p| !out.contains(&p.context) && matches!(p.container, Container::Running { .. }))
            .map(|p| p.name.clone())
            .collect()
    }

    /// Ready and desired replicas of one deployment.
    pub fn deployment_counts(&self, d: &Deployment, out: &Outage) -> (u32, u32) {
        let ready = self
            .pods
            .iter()
            .filter(|p| p.context == d.context && p.namespace == d.namespace)
            .filter(|p| p.owner.as_ref().is_some_and(|(n, _)| *n == d.name))
            .filter(|p| !out.contains(&p.context) && matches!(p.container, Container::Running { .. }))
            .count() as u32;
        (ready, d.desired)
    }

    /// The pane model; `wall` maps sim seconds to wall-clock time.
    pub fn view(
        &self,
        now: f64,
        out: &Outage,
        wall: &dyn Fn(f64) -> chrono::DateTime<chrono::Utc>,
    ) -> KubeView {
        let mut rows: Vec<PodRow> = self.pods.iter().map(|p| pod_row(p, now, out, wall)).collect();
        // By place (context, namespace, name), as the real backend delivers them: the Pods pane
        // then sorts nothing, and the flight recorder records changed pods only (it diffs
        // key-sorted lists; an unsorted one is recorded whole every poll).
        rows.sort_by(|a, b| (&a.context, &a.namespace, &a.name).cmp(&(&b.context, &b.namespace, &b.name)));
        let pods = Arc::new(rows);
        let deployments = self
            .deployments
            .iter()
            .map(|d| {
                let (ready, desired) = self.deployment_counts(d, out);
                DeploymentRow {
                    context: d.context.clone(),
                    namespace: d.namespace.clone(),
                    name: d.name.clone(),
                    desired,
                    ready,
                    available: ready,
                }
            })
            .collect();
        let s = &self.service;
        let endpoint_pods = self.endpoints(out);
        let endpoints = endpoint_pods
            .iter()
            .map(|p| ServiceEndpoint { pod: p.clone(), state: EndpointState::Ready, traffic: true })
            .collect();
        let db_service = Some(ServiceView {
            context: s.context.clone(),
            namespace: s.namespace.clone(),
            name: s.name.clone(),
            selector: s.selector.clone(),
            endpoint_pods,
            endpoints,
        });
        let contexts = REGIONS
            .iter()
            .map(|(r, _)| ContextHealth { context: r.to_string(), error: None, last_ok: Some(wall(now)) })
            .collect();
        KubeView { pods, deployments, db_service, contexts }
    }
}

fn new_pod(rng: &mut Rng, context: &str, namespace: &str, name: &str) -> Pod {
    Pod {
        context: context.into(),
        namespace: namespace.into(),
        name: name.into(),
        labels: BTreeMap::new(),
        node: Some(node_name(rng, context)),
        created: 0.0,
        container: Container::Creating { start_at: 0.0 },
        restarts: 0,
        crashes: 0,
        last_reason: None,
        doom: None,
        owner: None,
    }
}

/// Terminate a pod's container with `reason`; the next restart waits 10, 20, 40 ... 300 s.
fn terminate(p: &mut Pod, reason: &'static str, now: f64) {
    p.crashes += 1;
    p.last_reason = Some(reason);
    let backoff = (10.0 * 2f64.powi(p.crashes.saturating_sub(1).min(16) as i32)).min(MAX_BACKOFF_S);
    p.container = Container::BackOff { crashed_at: now, restart_at: now + backoff };
}

fn start(p: &mut Pod, now: f64, rng: &mut Rng) {
    let crash_at =
        p.doom.as_ref().filter(|d| d.active(now)).map(|d| now + rng.range(d.run_for.0, d.run_for.1));
    p.container = Container::Starting { ready_at: now + rng.range(1.5, 3.0), crash_at };
}

fn step_container(p: &mut Pod, now: f64, rng: &mut Rng) {
    match p.container.clone() {
        Container::Creating { start_at } if now >= start_at => start(p, now, rng),
        Container::Starting { crash_at: Some(c), .. } | Container::Running { crash_at: Some(c) }
            if now >= c =>
        {
            let reason = p.doom.as_ref().map_or("Error", |d| d.reason);
            terminate(p, reason, c);
        }
        Container::Starting { ready_at, crash_at } if now >= ready_at => {
            p.container = Container::Running { crash_at };
        }
        Container::BackOff { restart_at, .. } if now >= restart_at => {
            p.restarts += 1;
            start(p, now, rng);
        }
        _ => {}
    }
}

fn pod_row(p: &Pod, now: f64, out: &Outage, wall: &dyn Fn(f64) -> chrono::DateTime<chrono::Utc>) -> PodRow {
    let lost = out.contains(&p.context);
    let (phase, ready, reason) = match &p.container {
        Container::Creating { .. } => ("Pending", false, Some("ContainerCreating")),
        Container::Unschedulable => ("Pending", false, None),
        Container::Starting { .. } => ("Running", false, p.last_reason),
        Container::Running { .. } => ("Running", !lost, p.last_reason),
        Container::BackOff { crashed_at, .. } => {
            let r =
                if now - crashed_at < SHOW_TERMINATION_S { p.last_reason } else { Some("CrashLoopBackOff") };
            ("Running", false, r)
        }
    };
    PodRow {
        context: p.context.clone(),
        namespace: p.namespace.clone(),
        name: p.name.clone(),
        ready: u16::from(ready),
        containers: 1,
        phase: phase.into(),
        restarts: p.restarts,
        reason: reason.map(String::from),
        started_at: Some(wall(p.created)),
        node: p.node.clone(),
        labels: p.labels.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wall(t: f64) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::UNIX_EPOCH + chrono::Duration::milliseconds((t * 1000.0) as i64)
    }

    fn run(k: &mut Kube, rng: &mut Rng, from: f64, to: f64, out: &Outage) {
        let mut t = from;
        while t < to {
            t += 0.1;
            k.tick(t, rng, out);
        }
    }

    #[test]
    fn pod_names_look_like_real_ones_and_service_selects_the_primary() {
        let mut rng = Rng::new(1);
        let k = Kube::new(&mut rng);
        let v = k.view(0.0, &Outage::new(), &wall);
        let api: Vec<&PodRow> =
            v.pods.iter().filter(|p| p.context == "us-east-1" && p.name.starts_with("api-")).collect();
        assert_eq!(api.len(), 3);
        let parts: Vec<&str> = api[0].name.split('-').collect();
        assert_eq!(parts.len(), 3, "{}", api[0].name);
        assert!(parts[1].len() >= 9 && parts[2].len() == 5, "{}", api[0].name);
        assert_eq!(v.db_service.unwrap().endpoint_pods, vec!["postgresql-0".to_string()]);
        assert_eq!(v.deployments.len(), 6);
        assert!(v.pods.iter().all(|p| !p.is_unhealthy()));
    }

    #[test]
    fn crash_backoff_doubles_and_restarts_count() {
        let mut rng = Rng::new(2);
        let mut k = Kube::new(&mut rng);
        let doom = Doom { reason: "Error", run_for: (2.0, 2.0), until: None };
        k.pod_mut("us-east-1", "postgresql-0").unwrap().doom = Some(doom);
        k.crash("us-east-1", "postgresql-0", "Error", 0.0);
        let out = Outage::new();
        // Restarts at 10, then crash at ~12 + 20 s back-off, then crash at ~34 + 40 s.
        run(&mut k, &mut rng, 0.0, 9.9, &out);
        assert_eq!(k.pod("us-east-1", "postgresql-0").unwrap().restarts, 0);
        let row = pod_row(k.pod("us-east-1", "postgresql-0").unwrap(), 9.9, &out, &wall);
        assert_eq!(row.reason.as_deref(), Some("CrashLoopBackOff"));
        run(&mut k, &mut rng, 9.9, 10.2, &out);
        assert_eq!(k.pod("us-east-1", "postgresql-0").unwrap().restarts, 1);
        run(&mut k, &mut rng, 10.2, 31.0, &out);
        let p = k.pod("us-east-1", "postgresql-0").unwrap();
        assert_eq!((p.restarts, p.crashes), (1, 2));
        match p.container {
            Container::BackOff { crashed_at, restart_at } => {
                assert!((restart_at - crashed_at - 20.0).abs() < 1e-6)
            }
            ref c => panic!("expected back-off, got {c:?}"),
        }
        assert!(k.endpoints(&out).is_empty());
    }

    #[test]
    fn scaling_creates_pending_pods_that_become_ready_and_scale_down_removes() {
        let mut rng = Rng::new(3);
        let mut k = Kube::new(&mut rng);
        let out = Outage::new();
        let d = k.deployments.iter().position(|d| d.context == "us-west-2" && d.name == "api").unwrap();
        k.deployments[d].desired = 5;
        k.deployments[d].sets[0].replicas = 5;
        k.tick(0.1, &mut rng, &out);
        let v = k.view(0.1, &out, &wall);
        let pending = v.pods.iter().filter(|p| p.context == "us-west-2" && p.phase == "Pending").count();
        assert_eq!(pending, 2);
        assert_eq!(k.deployment_counts(&k.deployments[d], &out), (3, 5));
        run(&mut k, &mut rng, 0.1, 8.0, &out);
        assert_eq!(k.deployment_counts(&k.deployments[d], &out), (5, 5));
        k.deployments[d].desired = 1;
        k.deployments[d].sets[0].replicas = 1;
        k.tick(8.1, &mut rng, &out);
        assert_eq!(k.deployment_counts(&k.deployments[d], &out), (1, 1));
    }

    #[test]
    fn lost_region_makes_pods_not_ready_and_new_pods_unschedulable() {
        let mut rng = Rng::new(4);
        let mut k = Kube::new(&mut rng);
        let mut out = Outage::new();
        out.insert("us-east-1".to_string(), 0.0);
        let d = k.deployments.iter().position(|d| d.context == "us-east-1" && d.name == "api").unwrap();
        k.deployments[d].desired = 4;
        k.deployments[d].sets[0].replicas = 4;
        run(&mut k, &mut rng, 0.0, 10.0, &out);
        let v = k.view(10.0, &out, &wall);
        assert!(v.pods.iter().filter(|p| p.context == "us-east-1").all(|p| p.ready == 0));
        assert!(v.pods.iter().filter(|p| p.context == "us-west-2").all(|p| p.ready == 1));
        assert_eq!(v.pods.iter().filter(|p| p.context == "us-east-1" && p.phase == "Pending").count(), 1);
        assert_eq!(k.reach("us-east-1", "postgresql-0", &out), Reach::Timeout);
        assert!(k.endpoints(&out).is_empty());
    }
}
