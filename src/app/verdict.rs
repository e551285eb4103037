//! The estate verdict: healthy, degraded, failing or unknown, with concrete reasons and what is
//! expected to stay down. ONE judgement shared by the header, the verdict modal, recovery
//! measurement ([`super::measure`]) and `warroom status --json` ([`verdict_of`] needs no
//! `State`).
//!
//! Each finding has a kind:
//! - *failing* (users are affected): not exactly one writable PostgreSQL primary (none, or a
//!   split brain); the database Service has no ready endpoint or does not route to the
//!   primary; no Sentinel reports a master, the Sentinels disagree, the master does not answer
//!   as `master`, or a failover is in progress; no region receives traffic, or a region that
//!   does (Route 53 weight above 0; without weights, the primary region) has an unhealthy
//!   health check or a failing `/health/live` or `/health/ready` probe; a configured
//!   Deployment of a serving region has no ready pod.
//! - *capacity* (degraded, users may see errors): pods of a configured Deployment (name
//!   `DEPLOYMENT-...` in the region's context and namespace) in a serving region that are not
//!   ready or crash-loop, or fewer ready replicas than desired.
//! - *redundancy* (degraded, the next failure hurts): a PostgreSQL node down, fenced, not
//!   streaming, or lagging over `[postgres] max_lag_bytes` (when set above 0); Sentinels
//!   unreachable ("1 of 3 Sentinels reachable"), a failed quorum check, a Redis replica down or
//!   none at all; a standby region unhealthy (health check, Deployments); the Route 53
//!   control plane unreachable.
//! - *unknown*: a configured layer without a fresh value, a Kubernetes context unreachable.
//!
//! Level: failing if any finding is failing, else unknown if any is unknown (or no layer
//! answered), else degraded if any is capacity or redundancy, else healthy. Reasons are listed
//! in that order. [`Verdict::restored`] (users served at full capacity: no failing, unknown or
//! capacity finding) is what mitigation waits for; reduced redundancy stays visible as
//! "degraded" but does not block it.
//!
//! *Expected down* (listed as such, never a reason): a region is *drained* when weighted
//! Route 53 routing is in use, the region is the configured primary region (traffic normally
//! goes there), its weight is 0 and another region's weight is above 0, i.e. its traffic was
//! moved away by a region failover. Everything located in a drained region is expected down:
//! its health check and probes, its PostgreSQL nodes (by `region`), its Kubernetes context,
//! Deployments and pods (by the region's kube context), and the database Service when it
//! lives in that context. Sentinels and Redis nodes carry no region in the configuration:
//! their losses stay redundancy findings (degraded), which do not block mitigation.

#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::sync::Arc;

use serde::Serialize;

use crate::backends::model::{
    DatabaseView, HealthState, KubeView, PgRole, PodRow, Probe, SentinelView, TrafficView,
};
use crate::backends::{Freshness, Observed, Snapshot};
use crate::config::Config;
use crate::incident::export::plain_text;

/// How the estate is doing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Every configured layer answered fresh and nothing is wrong (expected-down aside).
    Healthy,
    /// Working with reduced capacity or redundancy.
    Degraded,
    /// Users are affected.
    Failing,
    /// Some configured layer gives no fresh answer (or none is configured): cannot tell.
    #[default]
    Unknown,
}

impl Level {
    /// Lower-case name (`status --json`, log details).
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Healthy => "healthy",
            Level::Degraded => "degraded",
            Level::Failing => "failing",
            Level::Unknown => "unknown",
        }
    }

    /// Upper-case label for the header.
    pub fn label(self) -> &'static str {
        match self {
            Level::Healthy => "HEALTHY",
            Level::Degraded => "DEGRADED",
            Level::Failing => "FAILING",
            Level::Unknown => "UNKNOWN",
        }
    }
}

/// The verdict with its reasons (most severe first) and what is expected to stay down.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// Overall level.
    pub level: Level,
    /// Why it is not healthy, most severe first, each naming the thing concerned.
    pub reasons: Vec<String>,
    /// What is down on purpose (a drained region and what lives in it).
    pub expected_down: Vec<String>,
    /// Users are served at full capacity (healthy, or degraded by lost redundancy only).
    pub restored: bool,
}

impl Verdict {
    /// The first reason, if any.
    pub fn first_reason(&self) -> Option<&str> {
        self.reasons.first().map(String::as_str)
    }
}

/// A finding's kind; the order is the listing order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Failing,
    Unknown,
    Capacity,
    Redundancy,
}

#[derive(Default)]
struct Findings {
    items: Vec<(Kind, String)>,
    expected: Vec<String>,
    answered: bool,
    configured: bool,
}

impl Findings {
    fn add(&mut self, kind: Kind, text: String) {
        self.items.push((kind, text));
    }
}

/// Backend text made safe and short for a reason line.
fn safe(s: &str) -> String {
    let t = plain_text(s);
    match t.char_indices().nth(100) {
        Some((i, _)) => format!("{}…", &t[..i]),
        None => t,
    }
}

/// The regions whose traffic was moved away (see the module doc), with where it went.
struct Routing {
    drained: BTreeSet<String>,
    drained_ctx: BTreeSet<String>,
    serving: Option<BTreeSet<String>>,
}

impl Routing {
    fn serves(&self, region: &str) -> bool {
        self.serving.as_ref().is_none_or(|s| s.contains(region))
    }
}

fn routing(traffic: Option<&TrafficView>, config: &Config) -> Routing {
    let mut r = Routing { drained: BTreeSet::new(), drained_ctx: BTreeSet::new(), serving: None };
    let Some(t) = traffic else { return r };
    let weighted = t.regions.iter().any(|x| x.weight.is_some());
    let serving: BTreeSet<String> = if weighted {
        t.regions.iter().filter(|x| x.weight.is_some_and(|w| w > 0)).map(|x| x.name.clone()).collect()
    } else {
        t.regions.iter().filter(|x| x.role == "primary").take(1).map(|x| x.name.clone()).collect()
    };
    // Neither weights nor a primary role say which region serves: every region may, so a
    // failing probe anywhere is judged as one that users see (never "healthy" by omission).
    if !weighted && serving.is_empty() {
        return r;
    }
    if weighted && !serving.is_empty() {
        for x in t.regions.iter().filter(|x| x.weight == Some(0) && x.role == "primary") {
            r.drained.insert(x.name.clone());
            let ctx = config.region(&x.name).and_then(|c| c.kube_context.clone());
            r.drained_ctx.insert(ctx.unwrap_or_else(|| x.name.clone()));
        }
    }
    r.serving = Some(serving);
    r
}

/// The fresh value of a configured layer; records an unknown finding for a configured layer
/// without one.
fn layer<'a, T>(f: &mut Findings, name: &str, s: &'a Snapshot<T>) -> Option<&'a T> {
    if s.freshness == Freshness::NotConfigured {
        return None;
    }
    f.configured = true;
    match (&s.freshness, &s.value) {
        (Freshness::Fresh, Some(v)) => {
            f.answered = true;
            Some(v)
        }
        (Freshness::Pending, _) => {
            f.add(Kind::Unknown, format!("{name}: no answer yet"));
            None
        }
        (other, _) => {
            let why = other.error().map_or(String::new(), |e| format!(": {}", safe(e)));
            f.add(Kind::Unknown, format!("{name}: no fresh data ({}{why})", other.as_str()));
            None
        }
    }
}

/// Judge the estate from the snapshots and the configuration.
pub fn verdict_of(observed: &Observed, config: &Config) -> Verdict {
    let mut f = Findings::default();
    let kube = layer(&mut f, "kubernetes", &observed.kube);
    let db = layer(&mut f, "database", &observed.database);
    let sentinel = layer(&mut f, "redis", &observed.sentinel);
    let traffic = layer(&mut f, "traffic", &observed.traffic);
    let routing = routing(traffic, config);
    for region in &routing.drained {
        let to: Vec<&str> = routing.serving.iter().flatten().map(String::as_str).collect();
        f.expected.push(format!(
            "region {region}: drained (Route 53 weight 0, traffic moved to {})",
            to.join(", ")
        ));
    }
    if let Some(t) = traffic {
        judge_traffic(&mut f, t, &routing);
    }
    if let Some(d) = db {
        judge_database(&mut f, d, kube, config, &routing);
    }
    if let Some(s) = sentinel {
        judge_sentinel(&mut f, s);
    }
    if let Some(k) = kube {
        judge_kube(&mut f, k, config, &routing);
    }
    finish(f)
}

fn finish(mut f: Findings) -> Verdict {
    if !f.configured {
        f.add(Kind::Unknown, "no layer is configured".into());
    } else if !f.answered && f.items.iter().all(|(k, _)| *k != Kind::Unknown) {
        f.add(Kind::Unknown, "no layer answered yet".into());
    }
    f.items.sort_by_key(|(k, _)| *k);
    let has = |k: Kind| f.items.iter().any(|(x, _)| *x == k);
    let level = if has(Kind::Failing) {
        Level::Failing
    } else if has(Kind::Unknown) {
        Level::Unknown
    } else if f.items.is_empty() {
        Level::Healthy
    } else {
        Level::Degraded
    };
    let restored = !has(Kind::Failing) && !has(Kind::Unknown) && !has(Kind::Capacity);
    Verdict {
        level,
        reasons: f.items.into_iter().map(|(_, t)| t).collect(),
        expected_down: f.expected,
        restored,
    }
}

fn probe_failure(p: Option<&Probe>) -> Option<String> {
    let p = p?;
    if p.ok() {
        return None;
    }
    Some(match (&p.error, p.status) {
        (Some(e), _) => safe(e),
        (None, Some(s)) => format!("HTTP {s}"),
        (None, None) => "no answer".into(),
    })
}

fn judge_traffic(f: &mut Findings, t: &TrafficView, routing: &Routing) {
    if let Some(e) = &t.control_plane_error {
        f.add(Kind::Redundancy, format!("traffic: Route 53 control plane unreachable: {}", safe(e)));
    }
    let weighted = t.regions.iter().any(|r| r.weight.is_some());
    if weighted && routing.serving.as_ref().is_some_and(BTreeSet::is_empty) {
        f.add(Kind::Failing, "traffic: no region receives traffic (every weight is 0)".into());
    }
    for r in &t.regions {
        let unhealthy = r.health_check == HealthState::Unhealthy;
        let live = probe_failure(r.live.as_ref());
        let ready = probe_failure(r.ready.as_ref());
        if routing.drained.contains(&r.name) {
            if unhealthy || live.is_some() || ready.is_some() {
                f.expected.push(format!(
                    "{}: health check {}, probes failing",
                    r.name,
                    r.health_check.as_str()
                ));
            }
        } else if routing.serves(&r.name) {
            // Unknown routing (no weights, no primary role): say what fails, not that it serves.
            let who = if routing.serving.is_some() {
                format!("{} serves traffic but", r.name)
            } else {
                r.name.clone()
            };
            if unhealthy {
                f.add(
                    Kind::Failing,
                    if routing.serving.is_some() {
                        format!("traffic: {who} its health check is unhealthy")
                    } else {
                        format!("traffic: {who} health check is unhealthy")
                    },
                );
            }
            if let Some(why) = live {
                f.add(Kind::Failing, format!("traffic: {who} /health/live fails: {why}"));
            }
            if let Some(why) = ready {
                f.add(Kind::Failing, format!("traffic: {who} /health/ready fails: {why}"));
            }
        } else {
            // A standby region that cannot answer cannot take the traffic over.
            if unhealthy {
                f.add(
                    Kind::Redundancy,
                    format!("traffic: standby region {} has an unhealthy health check", r.name),
                );
            }
            if let Some(why) = live {
                f.add(
                    Kind::Redundancy,
                    format!("traffic: standby region {} /health/live fails: {why}", r.name),
                );
            }
            if let Some(why) = ready {
                f.add(
                    Kind::Redundancy,
                    format!("traffic: standby region {} /health/ready fails: {why}", r.name),
                );
            }
        }
    }
}

fn judge_database(
    f: &mut Findings,
    db: &DatabaseView,
    kube: Option<&KubeView>,
    config: &Config,
    routing: &Routing,
) {
    let writable = db.writable_primaries();
    let primary = match writable.as_slice() {
        [] => {
            f.add(Kind::Failing, "database: no writable primary".into());
            None
        }
        [one] => Some(*one),
        many => {
            let names: Vec<&str> = many.iter().map(|n| n.name.as_str()).collect();
            f.add(Kind::Failing, format!("database: split brain ({})", names.join(", ")));
            None
        }
    };
    if let (Some(p), Some(svc)) = (primary, kube.and_then(|k| k.db_service.as_ref())) {
        let pod = p.pod.as_deref().unwrap_or(&p.name);
        if routing.drained_ctx.contains(&svc.context) {
            if !svc.endpoint_pods.iter().any(|e| e == pod) {
                f.expected.push(format!("Service {} in {}: in the drained region", svc.name, svc.context));
            }
        } else if svc.endpoint_pods.is_empty() {
            f.add(Kind::Failing, format!("database: Service {} has no ready endpoint", svc.name));
        } else if !svc.endpoint_pods.iter().any(|e| e == pod) {
            f.add(
                Kind::Failing,
                format!(
                    "database: Service {} routes to {}, not to the primary {}",
                    svc.name,
                    safe(&svc.endpoint_pods.join(", ")),
                    p.name
                ),
            );
        } else if svc.draining() {
            f.add(
                Kind::Failing,
                format!(
                    "database: Service {} has no ready endpoint; {} gets traffic only while terminating",
                    svc.name,
                    safe(&svc.endpoint_pods.join(", "))
                ),
            );
        }
    }
    let max_lag = config.postgres.as_ref().map_or(0, |p| p.max_lag_bytes);
    for n in db.nodes.iter().filter(|n| !n.is_writable_primary()) {
        let problem = match n.role {
            PgRole::Down => {
                Some(format!("{} is down: {}", n.name, safe(n.error.as_deref().unwrap_or("no answer"))))
            }
            PgRole::Unknown => n.error.as_ref().map(|e| format!("{} does not answer: {}", n.name, safe(e))),
            PgRole::Primary => Some(format!(
                "{} is fenced (read-only primary on timeline {}): rebuild it as a replica",
                n.name,
                n.timeline.map_or("?".into(), |t| t.to_string())
            )),
            PgRole::Replica => match n.replication_state.as_deref() {
                Some(s) if !(s.starts_with("streaming") || s.starts_with("catchup")) => {
                    Some(format!("{} replica is not streaming: {}", n.name, safe(s)))
                }
                _ => match n.replay_lag_bytes {
                    Some(lag) if max_lag > 0 && lag > max_lag => {
                        Some(format!("{} replay lag {lag} B is over the limit {max_lag} B", n.name))
                    }
                    _ => None,
                },
            },
        };
        let Some(problem) = problem else { continue };
        if routing.drained.contains(&n.region) {
            f.expected.push(format!("{problem} (drained region {})", n.region));
        } else {
            f.add(Kind::Redundancy, format!("database: {problem}"));
        }
    }
}

fn judge_sentinel(f: &mut Findings, s: &SentinelView) {
    if s.sentinels.iter().all(|x| x.master.is_none()) {
        f.add(Kind::Failing, "redis: no Sentinel reports a master".into());
    } else if !s.agreed() {
        f.add(Kind::Failing, "redis: Sentinels disagree on the master".into());
    } else {
        match s.master_role.as_deref() {
            Some("master") => {}
            Some(role) => f.add(Kind::Failing, format!("redis: the master answers as {}", safe(role))),
            None => f.add(Kind::Failing, "redis: the master does not answer".into()),
        }
    }
    if s.failover_in_progress {
        f.add(Kind::Failing, "redis: failover in progress".into());
    }
    let reachable = s.sentinels.iter().filter(|x| x.error.is_none()).count();
    if reachable < s.sentinels.len() {
        let down: Vec<String> = s
            .sentinels
            .iter()
            .filter_map(|x| Some(format!("{}: {}", x.addr, safe(x.error.as_deref()?))))
            .take(2)
            .collect();
        f.add(
            Kind::Redundancy,
            format!("redis: {reachable} of {} Sentinels reachable ({})", s.sentinels.len(), down.join("; ")),
        );
    }
    if let Some(Err(e)) = &s.quorum {
        f.add(Kind::Redundancy, format!("redis: quorum check failed: {}", safe(e)));
    }
    let down: Vec<&str> = s
        .replicas
        .iter()
        .filter(|r| !r.link_up || r.flags.contains("s_down") || r.flags.contains("disconnected"))
        .map(|r| r.addr.as_str())
        .collect();
    if !down.is_empty() {
        f.add(Kind::Redundancy, format!("redis: replica {} down or unlinked", safe(&down.join(", "))));
    } else if s.replicas.is_empty() && s.master_role.as_deref() == Some("master") {
        f.add(Kind::Redundancy, "redis: the master has no replica".into());
    }
}

fn judge_kube(f: &mut Findings, k: &KubeView, config: &Config, routing: &Routing) {
    for c in &k.contexts {
        let Some(e) = &c.error else { continue };
        if routing.drained_ctx.contains(&c.context) {
            f.expected.push(format!("kube context {}: unreachable", c.context));
        } else {
            f.add(Kind::Unknown, format!("kubernetes: context {} unreachable: {}", c.context, safe(e)));
        }
    }
    let pods: &Arc<Vec<_>> = &k.pods;
    for region in &config.regions {
        let ctx = region.kube_context.clone().unwrap_or_else(|| region.name.clone());
        let ns = region.namespace.as_deref().unwrap_or("default");
        let drained = routing.drained_ctx.contains(&ctx);
        let serving = routing.serves(&region.name);
        for dep in &region.deployments {
            let Some(row) =
                k.deployments.iter().find(|d| d.context == ctx && d.namespace == ns && d.name == *dep)
            else {
                continue;
            };
            let prefix = format!("{dep}-");
            let bad: Vec<&PodRow> = pods
                .iter()
                .filter(|p| p.context == ctx && p.namespace == ns && p.name.starts_with(&prefix))
                .filter(|p| p.is_unhealthy())
                .collect();
            if bad.is_empty() && row.ready >= row.desired {
                continue;
            }
            let name = format!("Deployment {ns}/{dep} in {ctx}");
            if drained {
                f.expected.push(format!("{name}: {}/{} ready (drained region)", row.ready, row.desired));
                continue;
            }
            let shown: Vec<String> = bad
                .iter()
                .take(3)
                .map(|p| {
                    let why = p.reason.as_deref().map_or(p.phase.clone(), safe);
                    format!("{} {} {why} ({} restarts)", safe(&p.name), p.ready_text(), p.restarts)
                })
                .collect();
            let more = bad.len().saturating_sub(3);
            let more = if more > 0 { format!(" and {more} more") } else { String::new() };
            let pods_text =
                if shown.is_empty() { String::new() } else { format!("; {}{more}", shown.join("; ")) };
            if row.desired > 0 && row.ready == 0 {
                let kind = if serving { Kind::Failing } else { Kind::Redundancy };
                f.add(kind, format!("kubernetes: {name} has no ready pod (0/{}){pods_text}", row.desired));
            } else {
                let kind = if serving { Kind::Capacity } else { Kind::Redundancy };
                f.add(kind, format!("kubernetes: {name}: {}/{} ready{pods_text}", row.ready, row.desired));
            }
        }
    }
}
