//! Observations: what changed between two views of the estate, as incident-log intents.
//!
//! [`diff`] is pure. It reports a condition when it appears and when it clears, never again
//! while it persists, so the caller can run it on every snapshot change. A layer whose previous
//! value is unknown (pending, or never fetched) only reports problems in the new value (that is
//! detection), never "changes" from nothing; a layer going from pending to fresh is silent.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::entry::{EntryKind, LogIntent};
use crate::backends::model::{
    DatabaseView, HealthState, KubeView, PgNodeStatus, PgRole, Probe, SentinelEvent, SentinelView,
    TrafficView,
};
use crate::backends::{Freshness, Observed, Snapshot};

use super::export::plain_text;

/// Up to this many pods per region and direction are logged one by one; more are summarized.
const POD_LIST_LIMIT: usize = 3;

/// At most this many pod names go into one summary's details.
const NAMES_IN_DETAILS: usize = 50;

/// Backend error text is cut to this many characters in a summary.
const ERROR_CHARS: usize = 160;

/// Two `+switch-master` events with the same payload this close together are one failover.
const SWITCH_DEDUP_SECS: i64 = 60;

/// What changed from `prev` to `next`, as `observation` log intents (summary + structured
/// details with at least `source` and `event`). Replica lag is compared with `max_lag_bytes`.
pub fn diff(prev: &Observed, next: &Observed, max_lag_bytes: u64) -> Vec<LogIntent> {
    let mut out = Vec::new();
    freshness(&mut out, "postgres", &prev.database, &next.database);
    freshness(&mut out, "sentinel", &prev.sentinel, &next.sentinel);
    freshness(&mut out, "kubernetes", &prev.kube, &next.kube);
    freshness(&mut out, "traffic", &prev.traffic, &next.traffic);
    if let Some(db) = &next.database.value {
        database(&mut out, prev.database.value.as_ref(), db, max_lag_bytes);
    }
    if let Some(s) = &next.sentinel.value {
        sentinel(&mut out, prev.sentinel.value.as_ref(), s);
    }
    if let Some(k) = &next.kube.value {
        kube(&mut out, prev.kube.value.as_ref(), k);
    }
    if let Some(t) = &next.traffic.value {
        traffic(&mut out, prev.traffic.value.as_ref(), t);
    }
    out
}

fn push(out: &mut Vec<LogIntent>, summary: String, details: Value) {
    out.push(LogIntent::new(EntryKind::Observation, summary, details));
}

/// Backend text made one clean line of bounded length.
fn short(s: &str) -> String {
    let clean = plain_text(s);
    if clean.chars().count() <= ERROR_CHARS {
        clean
    } else {
        let cut: String = clean.chars().take(ERROR_CHARS).collect();
        format!("{cut}…")
    }
}

// ---------------------------------------------------------------- freshness

/// A source's health, coarser than [`Freshness`]: transitions inside a class are not news.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Health {
    Ok,
    Stale,
    Failed,
    BreakerOpen,
}

fn health(f: &Freshness) -> Health {
    match f {
        Freshness::Fresh | Freshness::Pending | Freshness::NotConfigured => Health::Ok,
        Freshness::Stale { .. } => Health::Stale,
        Freshness::Failed { .. } => Health::Failed,
        Freshness::BreakerOpen { .. } => Health::BreakerOpen,
    }
}

fn freshness<T>(out: &mut Vec<LogIntent>, source: &str, prev: &Snapshot<T>, next: &Snapshot<T>) {
    let was = health(&prev.freshness);
    let error = next.freshness.error().map(short);
    let (event, summary) = match (was, &next.freshness) {
        (Health::Ok, Freshness::Stale { since, error }) => (
            "source-stale",
            format!(
                "{source} data is stale (polls failing since {}): {}",
                since.format("%H:%M:%S"),
                short(error)
            ),
        ),
        (Health::Ok, Freshness::Failed { error }) => {
            ("source-failed", format!("{source} cannot be observed: {}", short(error)))
        }
        (w, Freshness::BreakerOpen { retry_at, error }) if w != Health::BreakerOpen => (
            "source-breaker-open",
            format!(
                "{source} circuit breaker open (retry at {}): {}",
                retry_at.format("%H:%M:%S"),
                short(error)
            ),
        ),
        (Health::Stale | Health::Failed | Health::BreakerOpen, Freshness::Fresh) => {
            ("source-recovered", format!("{source} observed again (was {})", prev.freshness.as_str()))
        }
        _ => return,
    };
    let details = json!({
        "source": source,
        "event": event,
        "freshness": next.freshness.as_str(),
        "error": error,
    });
    push(out, summary, details);
}

// ---------------------------------------------------------------- PostgreSQL

/// Which nodes accept writes.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Primary {
    None,
    One(String),
    Split(Vec<String>),
}

fn primary_state(view: &DatabaseView) -> Primary {
    let mut names: Vec<String> = view.writable_primaries().iter().map(|n| n.name.clone()).collect();
    names.sort();
    match names.len() {
        0 => Primary::None,
        1 => Primary::One(names.remove(0)),
        _ => Primary::Split(names),
    }
}

/// What became of a former primary, for the "no writable primary" line.
fn fate(node: Option<&PgNodeStatus>) -> (&'static str, String) {
    match node {
        None => ("primary-down", "is no longer observed".to_string()),
        Some(n) if n.role == PgRole::Down => ("primary-down", "went down".to_string()),
        Some(n) if n.role == PgRole::Primary && n.read_only => {
            ("no-primary", "is fenced (read-only)".to_string())
        }
        Some(n) => ("no-primary", format!("is now {}", n.role.as_str())),
    }
}

fn database(out: &mut Vec<LogIntent>, prev: Option<&DatabaseView>, next: &DatabaseView, max_lag: u64) {
    let before = prev.map(primary_state);
    let after = primary_state(next);
    let src = "postgres";
    match (&before, &after) {
        (Some(a), b) if a == b => {}
        (_, Primary::Split(names)) => push(
            out,
            format!("SPLIT BRAIN: {} writable primaries: {}", names.len(), names.join(", ")),
            json!({ "source": src, "event": "split-brain", "primaries": names }),
        ),
        (Some(Primary::Split(_)), b) => {
            let (summary, primary) = match b {
                Primary::One(q) => {
                    (format!("Split brain cleared: {q} is the only writable primary"), Some(q))
                }
                _ => ("Split brain cleared: no writable primary".to_string(), None),
            };
            push(out, summary, json!({ "source": src, "event": "split-brain-cleared", "primary": primary }));
        }
        (None, Primary::One(_)) => {}
        (None, Primary::None) => {
            let summary = format!("No writable primary ({})", node_roles(next));
            push(out, summary, json!({ "source": src, "event": "no-primary", "from": Value::Null }));
        }
        (Some(Primary::One(p)), Primary::None) => {
            let (event, what) = fate(next.node(p));
            let summary = format!("Primary {p} {what}: no writable primary ({})", node_roles(next));
            push(out, summary, json!({ "source": src, "event": event, "from": p }));
        }
        (Some(Primary::One(p)), Primary::One(q)) => push(
            out,
            format!("Primary changed: {p} -> {q}"),
            json!({ "source": src, "event": "primary-changed", "from": p, "to": q }),
        ),
        (Some(Primary::None), Primary::One(q)) => push(
            out,
            format!("Writable primary again: {q}"),
            json!({ "source": src, "event": "primary-changed", "from": Value::Null, "to": q }),
        ),
        (Some(Primary::None), Primary::None) => {}
    }
    replica_lag(out, prev, next, max_lag);
}

/// `postgresql-0 down, postgresql-1 replica`.
fn node_roles(view: &DatabaseView) -> String {
    if view.nodes.is_empty() {
        return "no nodes observed".to_string();
    }
    let roles: Vec<String> = view
        .nodes
        .iter()
        .map(|n| {
            let role = if n.role == PgRole::Primary && n.read_only { "fenced" } else { n.role.as_str() };
            format!("{} {role}", short(&n.name))
        })
        .collect();
    roles.join(", ")
}

fn lag_over(node: &PgNodeStatus, max_lag: u64) -> bool {
    node.role == PgRole::Replica && node.replay_lag_bytes.is_some_and(|l| l > max_lag)
}

fn replica_lag(out: &mut Vec<LogIntent>, prev: Option<&DatabaseView>, next: &DatabaseView, max_lag: u64) {
    for node in &next.nodes {
        let was_over = prev.and_then(|p| p.node(&node.name)).is_some_and(|n| lag_over(n, max_lag));
        let lag = node.replay_lag_bytes.unwrap_or(0);
        let details = |event: &str| json!({ "source": "postgres", "event": event, "node": node.name, "lag_bytes": lag, "max_lag_bytes": max_lag });
        if lag_over(node, max_lag) && !was_over {
            let summary = format!("Replica {} lag {lag} B exceeds the limit of {max_lag} B", node.name);
            push(out, summary, details("lag-over-limit"));
        } else if was_over && node.role == PgRole::Replica && !lag_over(node, max_lag) {
            let summary = format!("Replica {} lag back within the limit ({lag} B <= {max_lag} B)", node.name);
            push(out, summary, details("lag-within-limit"));
        }
    }
}

// ---------------------------------------------------------------- Redis Sentinel

/// Distinct masters reported by reachable Sentinels.
fn masters(view: &SentinelView) -> BTreeSet<&str> {
    view.sentinels.iter().filter_map(|s| s.master.as_deref()).collect()
}

fn sentinel(out: &mut Vec<LogIntent>, prev: Option<&SentinelView>, next: &SentinelView) {
    let src = "sentinel";
    let was_split = prev.is_some_and(|p| masters(p).len() > 1);
    let now_masters = masters(next);
    if now_masters.len() > 1 && !was_split {
        let says: Vec<String> = next
            .sentinels
            .iter()
            .filter_map(|s| s.master.as_ref().map(|m| format!("{} says {}", s.addr, m)))
            .collect();
        push(
            out,
            format!("Sentinels disagree on the master: {}", short(&says.join("; "))),
            json!({ "source": src, "event": "sentinels-disagree", "masters": now_masters }),
        );
    } else if was_split && now_masters.len() == 1 {
        let master = now_masters.iter().next().copied().unwrap_or_default();
        push(
            out,
            format!("Sentinels agree again: master {master}"),
            json!({ "source": src, "event": "sentinels-agree", "master": master }),
        );
    }
    if let (Some(a), Some(b)) = (prev.and_then(SentinelView::agreed_master), next.agreed_master())
        && a != b
    {
        push(
            out,
            format!("Redis master switched: {a} -> {b}"),
            json!({ "source": src, "event": "master-switched", "from": a, "to": b }),
        );
    }
    switch_events(out, prev, next);
}

/// Whether `e` was already seen in `prev` (the same event, or the same failover reported by
/// another Sentinel shortly before), or is older than what `prev` already held.
fn seen_before(prev: &SentinelView, e: &SentinelEvent) -> bool {
    let newest = prev.events.iter().map(|p| p.at).max();
    prev.events.contains(e)
        || newest.is_some_and(|n| e.at < n)
        || prev.events.iter().any(|p| {
            p.kind == e.kind && p.detail == e.detail && (p.at - e.at).num_seconds().abs() <= SWITCH_DEDUP_SECS
        })
}

/// `mymaster 10.0.0.1 6379 10.0.0.2 6379` -> `mymaster: 10.0.0.1:6379 -> 10.0.0.2:6379`.
fn switch_text(detail: &str) -> String {
    match detail.split_whitespace().collect::<Vec<_>>().as_slice() {
        [name, oh, op, nh, np] => format!("{name}: {oh}:{op} -> {nh}:{np}"),
        _ => detail.to_string(),
    }
}

fn switch_events(out: &mut Vec<LogIntent>, prev: Option<&SentinelView>, next: &SentinelView) {
    // Payload -> Sentinels that reported it in this diff (one entry per failover).
    let mut fresh: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for e in next.events.iter().filter(|e| e.kind == "+switch-master") {
        if prev.is_some_and(|p| seen_before(p, e)) {
            continue;
        }
        let by = fresh.entry(e.detail.as_str()).or_default();
        if !by.contains(&e.sentinel.as_str()) {
            by.push(&e.sentinel);
        }
    }
    for (detail, by) in fresh {
        push(
            out,
            format!(
                "Sentinel +switch-master {} (reported by {})",
                short(&switch_text(detail)),
                short(&by.join(", "))
            ),
            json!({ "source": "sentinel", "event": "switch-master", "detail": detail, "sentinels": by }),
        );
    }
}

// ---------------------------------------------------------------- Kubernetes

/// (context, namespace, name) of every pod in CrashLoopBackOff.
fn crashlooping(view: &KubeView) -> BTreeSet<(&str, &str, &str)> {
    view.pods
        .iter()
        .filter(|p| p.reason.as_deref() == Some("CrashLoopBackOff"))
        .map(|p| (p.context.as_str(), p.namespace.as_str(), p.name.as_str()))
        .collect()
}

fn kube(out: &mut Vec<LogIntent>, prev: Option<&KubeView>, next: &KubeView) {
    // The same shared list: no pod changed since the last snapshot (an idle poll).
    if prev.is_some_and(|p| std::sync::Arc::ptr_eq(&p.pods, &next.pods)) {
        return;
    }
    let before = prev.map(crashlooping).unwrap_or_default();
    let after = crashlooping(next);
    let count_in = |ctx: &str| after.iter().filter(|p| p.0 == ctx).count();
    for (entered, pods) in [(true, after.difference(&before)), (false, before.difference(&after))] {
        let mut by_context: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for (ctx, ns, name) in pods {
            by_context.entry(ctx).or_default().push(format!("{ns}/{name}"));
        }
        let (verb, event) =
            if entered { ("entered", "crashloop-entered") } else { ("left", "crashloop-left") };
        for (ctx, names) in by_context {
            let total = count_in(ctx);
            if names.len() <= POD_LIST_LIMIT {
                for name in &names {
                    push(
                        out,
                        format!("Pod {} in {} {verb} CrashLoopBackOff", short(name), short(ctx)),
                        json!({ "source": "kubernetes", "event": event, "context": ctx, "pods": [name], "total": total }),
                    );
                }
            } else {
                let shown: Vec<&str> = names.iter().take(POD_LIST_LIMIT).map(String::as_str).collect();
                let summary = format!(
                    "{} pods {verb} CrashLoopBackOff in {} ({total} in CrashLoopBackOff there): {}, +{} more",
                    names.len(),
                    short(ctx),
                    short(&shown.join(", ")),
                    names.len() - shown.len()
                );
                let listed: Vec<&String> = names.iter().take(NAMES_IN_DETAILS).collect();
                let details = json!({
                    "source": "kubernetes", "event": event, "context": ctx, "count": names.len(),
                    "pods": listed, "total": total,
                });
                push(out, summary, details);
            }
        }
    }
}

// ---------------------------------------------------------------- Traffic

fn probe_text(p: &Probe) -> String {
    match (p.status, &p.error) {
        (Some(s), Some(e)) => format!("HTTP {s} ({})", short(e)),
        (Some(s), None) => format!("HTTP {s} in {} ms", p.latency_ms),
        (None, Some(e)) => short(e),
        (None, None) => "no answer".to_string(),
    }
}

fn traffic(out: &mut Vec<LogIntent>, prev: Option<&TrafficView>, next: &TrafficView) {
    for region in &next.regions {
        let old = prev.and_then(|p| p.region(&region.name));
        let name = short(&region.name);
        let was = old.map_or(HealthState::Unknown, |r| r.health_check);
        let is = region.health_check;
        let flipped = is != was
            && (is == HealthState::Unhealthy
                || (is == HealthState::Healthy && was == HealthState::Unhealthy));
        if flipped {
            push(
                out,
                format!("Region {name} health check {} (was {})", is.as_str(), was.as_str()),
                json!({ "source": "traffic", "event": "health-check", "region": region.name, "from": was, "to": is }),
            );
        }
        let was_failing = old.and_then(|r| r.ready.as_ref()).is_some_and(|p| !p.ok());
        if let Some(probe) = &region.ready {
            let details = |event: &str| json!({ "source": "traffic", "event": event, "region": region.name, "status": probe.status, "error": probe.error.as_deref().map(short) });
            if !probe.ok() && !was_failing {
                push(
                    out,
                    format!("Region {name} ready probe failing: {}", probe_text(probe)),
                    details("ready-failing"),
                );
            } else if probe.ok() && was_failing {
                push(
                    out,
                    format!("Region {name} ready probe recovered: {}", probe_text(probe)),
                    details("ready-recovered"),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests;
