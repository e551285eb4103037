//! `warroom status [--json]` and `warroom drill --status`: one snapshot of every layer, then exit.
//!
//! The JSON shape is a contract (design notes, section 6): extend it, never rename.

use std::fmt::Write as _;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::app::Mode;
use crate::backends::{Freshness, Observed, Snapshot};
use crate::tui::Sources;

/// Wait until every source has answered once (or `limit` passed), then return the snapshots.
pub async fn first_snapshots(mut sources: Sources, limit: Duration) -> Observed {
    let deadline = tokio::time::Instant::now() + limit;
    async fn settle<T>(
        rx: &mut tokio::sync::watch::Receiver<std::sync::Arc<Snapshot<T>>>,
        deadline: tokio::time::Instant,
    ) -> std::sync::Arc<Snapshot<T>> {
        loop {
            let cur = rx.borrow_and_update().clone();
            if cur.freshness != Freshness::Pending {
                return cur;
            }
            match tokio::time::timeout_at(deadline, rx.changed()).await {
                Ok(Ok(())) => continue,
                _ => return rx.borrow().clone(),
            }
        }
    }
    let (kube, database, sentinel, traffic) = tokio::join!(
        settle(&mut sources.kube, deadline),
        settle(&mut sources.database, deadline),
        settle(&mut sources.sentinel, deadline),
        settle(&mut sources.traffic, deadline),
    );
    Observed { kube, database, sentinel, traffic }
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn layer<T>(snap: &Snapshot<T>, body: impl FnOnce(&T) -> Value) -> Value {
    let mut obj = json!({ "freshness": snap.freshness.as_str() });
    if snap.freshness == Freshness::NotConfigured {
        return obj;
    }
    let m = obj.as_object_mut().expect("object");
    if let Some(e) = snap.freshness.error() {
        m.insert("error".into(), json!(e));
    }
    if let Some(at) = snap.fetched_at {
        m.insert("fetched_at".into(), json!(ts(at)));
    }
    if let Some(v) = &snap.value
        && let Value::Object(extra) = body(v)
    {
        m.extend(extra);
    }
    obj
}

/// The `status --json` object.
pub fn status_json(o: &Observed, mode: Mode, now: DateTime<Utc>) -> Value {
    let postgres = layer(&o.database, |d| {
        json!({
            "split_brain": d.split_brain(),
            "primary": d.primary().map(|p| p.name.clone()),
            "nodes": d.nodes.iter().map(|n| json!({
                "name": n.name, "region": n.region, "role": n.role.as_str(), "timeline": n.timeline,
                "replay_lag_bytes": n.replay_lag_bytes, "replay_lag_seconds": n.replay_lag_seconds,
                "read_only": n.read_only, "error": n.error,
            })).collect::<Vec<_>>(),
        })
    });
    let sentinel = layer(&o.sentinel, |s| {
        json!({
            "master": s.agreed_master(),
            "agreed": s.agreed(),
            "quorum": s.quorum.as_ref().map(|q| q.is_ok()),
            "sentinels": s.sentinels.iter().map(|x| json!({ "addr": x.addr, "master": x.master, "error": x.error })).collect::<Vec<_>>(),
            "replicas": s.replicas.iter().map(|r| json!({ "addr": r.addr, "link_up": r.link_up, "offset_lag": r.offset_lag })).collect::<Vec<_>>(),
        })
    });
    let kubernetes = layer(&o.kube, |k| {
        json!({
            "pods": k.pods.iter().map(|p| json!({
                "context": p.context, "namespace": p.namespace, "name": p.name, "ready": p.ready_text(),
                "phase": p.phase, "restarts": p.restarts, "reason": p.reason,
            })).collect::<Vec<_>>(),
            "deployments": k.deployments.iter().map(|d| json!({
                "context": d.context, "namespace": d.namespace, "name": d.name,
                "desired": d.desired, "ready": d.ready, "available": d.available,
            })).collect::<Vec<_>>(),
            "contexts": k.contexts.iter().map(|c| json!({
                "context": c.context, "error": c.error, "last_ok": c.last_ok.map(ts),
            })).collect::<Vec<_>>(),
            "db_service": k.db_service.as_ref().map(|s| json!({
                "context": s.context, "namespace": s.namespace, "name": s.name,
                "selector": s.selector, "endpoint_pods": s.endpoint_pods,
            })),
        })
    });
    let traffic = layer(&o.traffic, |t| {
        json!({
            "record": t.record,
            "control_plane_error": t.control_plane_error,
            "regions": t.regions.iter().map(|r| json!({
                "name": r.name, "role": r.role, "weight": r.weight, "share": t.share(&r.name),
                "failover_role": r.failover_role, "health_check": r.health_check.as_str(),
                "live": r.live.as_ref().map(|p| json!({ "status": p.status, "latency_ms": p.latency_ms, "error": p.error })),
                "ready": r.ready.as_ref().map(|p| json!({ "status": p.status, "latency_ms": p.latency_ms, "error": p.error })),
            })).collect::<Vec<_>>(),
        })
    });
    json!({
        "taken_at": ts(now),
        "mode": match mode { Mode::Live => "live", Mode::Drill => "drill" },
        "postgres": postgres,
        "sentinel": sentinel,
        "kubernetes": kubernetes,
        "traffic": traffic,
    })
}

/// A short human rendering of the same snapshot.
pub fn status_text(o: &Observed, mode: Mode, now: DateTime<Utc>) -> String {
    let v = status_json(o, mode, now);
    let mut out = String::new();
    let _ = writeln!(out, "warroom status ({}) at {}", v["mode"].as_str().unwrap_or("?"), ts(now));
    for (name, key) in [
        ("PostgreSQL", "postgres"),
        ("Sentinel", "sentinel"),
        ("Kubernetes", "kubernetes"),
        ("Traffic", "traffic"),
    ] {
        let l = &v[key];
        let fresh = l["freshness"].as_str().unwrap_or("?");
        let err = l["error"]
            .as_str()
            .map(|e| format!(" ({})", crate::ui::sanitize::sanitize(e)))
            .unwrap_or_default();
        let detail = match key {
            "postgres" => format!(
                "primary {}{}",
                l["primary"].as_str().unwrap_or("none"),
                if l["split_brain"].as_bool() == Some(true) { ", SPLIT-BRAIN" } else { "" }
            ),
            "sentinel" => format!(
                "master {}{}",
                l["master"].as_str().unwrap_or("?"),
                if l["agreed"].as_bool() == Some(false) { ", SENTINELS DISAGREE" } else { "" }
            ),
            "kubernetes" => {
                let pods = l["pods"].as_array().map_or(0, Vec::len);
                format!("{pods} pods")
            }
            _ => l["regions"]
                .as_array()
                .map(|rs| {
                    rs.iter()
                        .map(|r| {
                            format!(
                                "{} w={} {}",
                                r["name"].as_str().unwrap_or("?"),
                                r["weight"],
                                r["health_check"].as_str().unwrap_or("?")
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default(),
        };
        let _ = writeln!(out, "  {name:<11} {fresh:<14} {}{err}", crate::ui::sanitize::sanitize(&detail));
    }
    out
}
