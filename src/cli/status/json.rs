//! The `status --json` object. Its shape is a contract (`docs/status.schema.json`): every layer
//! always has every key, whatever its freshness. A layer without a value (failed, pending,
//! breaker open) still lists its configured rows (PostgreSQL nodes, Sentinels, Kubernetes
//! contexts, regions), each with role/state `unknown` or `down` and its error; a layer whose
//! value is stale keeps its last rows, but a PostgreSQL node's role is `down` (the error names
//! it) or `unknown` (it does not): a stale role is never reported as current.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};

use crate::app::Mode;
use crate::backends::model::{DatabaseView, KubeView, SentinelView, TrafficView};
use crate::backends::{Freshness, Observed, Snapshot};
use crate::config::Config;

pub(super) fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The error each of `names` has in a layer error that lists them as `name: error` joined by
/// `; ` (how the observers say "no node answered"), `None` for a name it does not list.
pub fn named_errors(error: &str, names: &[&str]) -> Vec<Option<String>> {
    let starts = |name: &str| -> Option<usize> {
        let needle = format!("{name}: ");
        error
            .match_indices(&needle)
            .map(|(i, _)| i)
            .find(|&i| i == 0 || error[..i].ends_with("; ") || error[..i].ends_with(": "))
    };
    let found: Vec<Option<usize>> = names.iter().map(|n| starts(n)).collect();
    let mut bounds: Vec<usize> = found.iter().flatten().copied().collect();
    bounds.sort_unstable();
    names
        .iter()
        .zip(&found)
        .map(|(name, at)| {
            let at = (*at)?;
            let from = at + name.len() + 2;
            let to = bounds.iter().copied().find(|b| *b > at).unwrap_or(error.len());
            Some(error[from..to].trim_end_matches("; ").trim().to_string())
        })
        .collect()
}

/// `freshness`, `error` and `fetched_at` of a layer, then its body.
fn layer<T>(snap: &Snapshot<T>, body: Value) -> Value {
    let mut m = Map::new();
    m.insert("freshness".into(), json!(snap.freshness.as_str()));
    m.insert("error".into(), json!(snap.freshness.error()));
    m.insert("fetched_at".into(), json!(snap.fetched_at.map(ts)));
    if let Value::Object(body) = body {
        m.extend(body);
    }
    Value::Object(m)
}

/// The error a row gets when its layer is not fresh: the one naming it, else the layer's.
fn row_error(layer_error: Option<&str>, named: Option<&String>, own: Option<&String>) -> Value {
    json!(named.cloned().or_else(|| own.cloned()).or_else(|| layer_error.map(str::to_string)))
}

fn postgres(snap: &Snapshot<DatabaseView>, cfg: Option<&Config>) -> Value {
    let fresh = snap.freshness == Freshness::Fresh;
    let err = snap.freshness.error();
    let node = |name: &str,
                region: &str,
                role: &str,
                v: Option<&crate::backends::model::PgNodeStatus>,
                error: Value| {
        json!({
            "name": name, "region": region, "role": role,
            "timeline": v.and_then(|n| n.timeline), "replay_lag_bytes": v.and_then(|n| n.replay_lag_bytes),
            "replay_lag_seconds": v.and_then(|n| n.replay_lag_seconds),
            "read_only": v.map(|n| n.read_only), "error": error,
        })
    };
    let nodes: Vec<Value> = match &snap.value {
        Some(d) if fresh => d
            .nodes
            .iter()
            .map(|n| node(&n.name, &n.region, n.role.as_str(), Some(n), json!(n.error)))
            .collect(),
        Some(d) => {
            let names: Vec<&str> = d.nodes.iter().map(|n| n.name.as_str()).collect();
            let named = named_errors(err.unwrap_or_default(), &names);
            d.nodes
                .iter()
                .zip(&named)
                .map(|(n, e)| {
                    let role = if e.is_some() { "down" } else { "unknown" };
                    node(&n.name, &n.region, role, Some(n), row_error(err, e.as_ref(), n.error.as_ref()))
                })
                .collect()
        }
        None => {
            let conf = cfg.and_then(|c| c.postgres.as_ref()).map(|p| p.nodes.as_slice()).unwrap_or_default();
            let names: Vec<&str> = conf.iter().map(|n| n.name.as_str()).collect();
            let named = named_errors(err.unwrap_or_default(), &names);
            conf.iter()
                .zip(&named)
                .map(|(n, e)| {
                    let role = if e.is_some() { "down" } else { "unknown" };
                    node(&n.name, &n.region, role, None, row_error(err, e.as_ref(), None))
                })
                .collect()
        }
    };
    let v = snap.value.as_ref().filter(|_| fresh);
    layer(
        snap,
        json!({
            "split_brain": v.map(DatabaseView::split_brain),
            "primary": v.and_then(|d| d.primary().map(|p| p.name.clone())),
            "nodes": nodes,
        }),
    )
}

fn sentinel(snap: &Snapshot<SentinelView>, cfg: Option<&Config>) -> Value {
    let fresh = snap.freshness == Freshness::Fresh;
    let err = snap.freshness.error();
    let configured: Vec<String> =
        cfg.and_then(|c| c.sentinel.as_ref()).map(|s| s.addrs.clone()).unwrap_or_default();
    let sentinels: Vec<Value> = match &snap.value {
        Some(s) if fresh => s
            .sentinels
            .iter()
            .map(|x| json!({ "addr": x.addr, "master": x.master, "error": x.error }))
            .collect(),
        other => {
            let addrs: Vec<&str> = match other {
                Some(s) => s.sentinels.iter().map(|x| x.addr.as_str()).collect(),
                None => configured.iter().map(String::as_str).collect(),
            };
            let named = named_errors(err.unwrap_or_default(), &addrs);
            addrs
                .iter()
                .zip(&named)
                .map(|(a, e)| json!({ "addr": a, "master": null, "error": row_error(err, e.as_ref(), None) }))
                .collect()
        }
    };
    let v = snap.value.as_ref().filter(|_| fresh);
    let replicas: Vec<Value> = snap
        .value
        .as_ref()
        .map(|s| {
            s.replicas
                .iter()
                .map(|r| json!({ "addr": r.addr, "link_up": r.link_up, "offset_lag": r.offset_lag }))
                .collect()
        })
        .unwrap_or_default();
    layer(
        snap,
        json!({
            "master": v.and_then(|s| s.agreed_master()),
            "agreed": v.map(SentinelView::agreed),
            "quorum": v.and_then(|s| s.quorum.as_ref().map(|q| q.is_ok())),
            "sentinels": sentinels,
            "replicas": replicas,
        }),
    )
}

fn kubernetes(snap: &Snapshot<KubeView>, cfg: Option<&Config>) -> Value {
    let fresh = snap.freshness == Freshness::Fresh;
    let err = snap.freshness.error();
    let k = snap.value.as_ref();
    let contexts: Vec<Value> = match k {
        Some(k) if fresh => k
            .contexts
            .iter()
            .map(|c| json!({ "context": c.context, "error": c.error, "last_ok": c.last_ok.map(ts) }))
            .collect(),
        _ => {
            let names: Vec<String> = match k {
                Some(k) => k.contexts.iter().map(|c| c.context.clone()).collect(),
                None => cfg.map(crate::backends::kube::configured_contexts).unwrap_or_default(),
            };
            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
            let named = named_errors(err.unwrap_or_default(), &refs);
            names
                .iter()
                .zip(&named)
                .map(|(c, e)| {
                    let own = k.and_then(|k| k.contexts.iter().find(|x| x.context == *c));
                    json!({
                        "context": c,
                        "error": row_error(err, e.as_ref(), own.and_then(|o| o.error.as_ref())),
                        "last_ok": own.and_then(|o| o.last_ok).map(ts),
                    })
                })
                .collect()
        }
    };
    layer(
        snap,
        json!({
            "pods": k.map(|k| k.pods.iter().map(|p| json!({
                "context": p.context, "namespace": p.namespace, "name": p.name, "ready": p.ready_text(),
                "phase": p.phase, "restarts": p.restarts, "reason": p.reason,
            })).collect::<Vec<_>>()).unwrap_or_default(),
            "deployments": k.map(|k| k.deployments.iter().map(|d| json!({
                "context": d.context, "namespace": d.namespace, "name": d.name,
                "desired": d.desired, "ready": d.ready, "available": d.available,
            })).collect::<Vec<_>>()).unwrap_or_default(),
            "contexts": contexts,
            "db_service": k.and_then(|k| k.db_service.as_ref()).map(|s| json!({
                "context": s.context, "namespace": s.namespace, "name": s.name,
                "selector": s.selector, "endpoint_pods": s.endpoint_pods,
            })),
        }),
    )
}

fn probe(p: Option<&crate::backends::model::Probe>) -> Value {
    p.map_or(Value::Null, |p| json!({ "status": p.status, "latency_ms": p.latency_ms, "error": p.error }))
}

fn traffic(snap: &Snapshot<TrafficView>, cfg: Option<&Config>) -> Value {
    let regions: Vec<Value> = match &snap.value {
        Some(t) => t
            .regions
            .iter()
            .map(|r| {
                json!({
                    "name": r.name, "role": r.role, "weight": r.weight, "share": t.share(&r.name),
                    "failover_role": r.failover_role, "health_check": r.health_check.as_str(),
                    "live": probe(r.live.as_ref()), "ready": probe(r.ready.as_ref()),
                })
            })
            .collect(),
        None => cfg
            .map(|c| c.regions.as_slice())
            .unwrap_or_default()
            .iter()
            .map(|r| {
                json!({
                    "name": r.name, "role": r.role, "weight": null, "share": null, "failover_role": null,
                    "health_check": "unknown", "live": null, "ready": null,
                })
            })
            .collect(),
    };
    let t = snap.value.as_ref();
    layer(
        snap,
        json!({
            "record": t.map(|t| t.record.clone()),
            "control_plane_error": t.and_then(|t| t.control_plane_error.clone()),
            "regions": regions,
        }),
    )
}

/// The `status --json` object; `cfg` (the configuration the layers were built from) names
/// the rows of a layer that has no value.
pub fn status_json_for(o: &Observed, cfg: Option<&Config>, mode: Mode, now: DateTime<Utc>) -> Value {
    let mut v = json!({
        "taken_at": ts(now),
        "mode": match mode { Mode::Live => "live", Mode::Drill => "drill" },
        "postgres": postgres(&o.database, cfg),
        "sentinel": sentinel(&o.sentinel, cfg),
        "kubernetes": kubernetes(&o.kube, cfg),
        "traffic": traffic(&o.traffic, cfg),
    });
    if let Value::Object(map) = &mut v {
        judgement(map, o, cfg.unwrap_or(&Config::default()), mode, now);
    }
    v
}

/// The console's own judgement of these snapshots: the verdict the header shows (with its
/// reasons and what is expected down) and the runbooks the picker recommends first.
fn judgement(map: &mut Map<String, Value>, o: &Observed, cfg: &Config, mode: Mode, now: DateTime<Utc>) {
    let verdict = crate::app::verdict::verdict_of(o, cfg);
    let incident = crate::app::state::IncidentInfo {
        id: String::new(),
        title: String::new(),
        severity: String::new(),
        declared_at: now,
        drill: mode == Mode::Drill,
    };
    let mut domain =
        crate::app::Domain::new(mode, incident, String::new(), std::sync::Arc::new(cfg.clone()), now);
    domain.observed = o.clone();
    let recommended = crate::app::recommend::recommended(&domain);
    map.insert("verdict".into(), json!(verdict.level.as_str()));
    map.insert("reasons".into(), json!(verdict.reasons));
    map.insert("expected_down".into(), json!(verdict.expected_down));
    map.insert("recommended".into(), json!(recommended));
}

#[cfg(test)]
mod tests {
    use super::named_errors;

    #[test]
    fn each_name_gets_its_own_error_from_a_joined_list() {
        let e = "no PostgreSQL node answered: postgresql-1: timeout after 2 s; postgresql-10: refused: no; really";
        assert_eq!(
            named_errors(e, &["postgresql-1", "postgresql-10", "postgresql-2"]),
            [Some("timeout after 2 s".to_string()), Some("refused: no; really".to_string()), None]
        );
        // A name that only appears inside another's error is not that node's error.
        let e = "a: could not reach b: gone";
        assert_eq!(named_errors(e, &["a", "b"]), [Some("could not reach b: gone".to_string()), None]);
        assert_eq!(named_errors("poll timed out", &["a"]), [None]);
    }
}
