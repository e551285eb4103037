//! Whether the estate is healthy, judged from the latest snapshots: the verdict recovery
//! measurement starts (detection) and ends (mitigation) on.

use crate::backends::model::{DatabaseView, HealthState, KubeView, SentinelView, TrafficView};
use crate::backends::{Freshness, Observed, Snapshot};

/// The estate's health as far as the snapshots tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    /// Every configured layer answered fresh and none shows a fault.
    Healthy,
    /// At least one layer shows a fault; each reason names it.
    Unhealthy(Vec<String>),
    /// No layer shows a fault, but some configured layer has no fresh value (pending, stale,
    /// failed): health cannot be asserted.
    Unknown,
}

/// One layer's verdict.
enum Verdict {
    Ok,
    Bad(Vec<String>),
    Unknown,
    NotConfigured,
}

fn fresh<T>(s: &Snapshot<T>) -> Result<&T, Verdict> {
    match (&s.freshness, &s.value) {
        (Freshness::NotConfigured, _) => Err(Verdict::NotConfigured),
        (Freshness::Fresh, Some(v)) => Ok(v),
        _ => Err(Verdict::Unknown),
    }
}

/// Judge the estate. Unhealthy when: there is not exactly one writable PostgreSQL primary, or
/// the database Service's endpoints do not include it; the Sentinels disagree, report no
/// master, report a failover in progress, or the master does not answer as `master`; a region
/// that receives traffic (weight above 0; without weights, the primary region) has an
/// unhealthy Route 53 health check, or no region receives traffic.
pub fn estate_health(o: &Observed) -> Health {
    let kube = fresh(&o.kube).ok();
    let verdicts = [
        fresh(&o.database).map_or_else(|v| v, |db| database(db, kube)),
        fresh(&o.sentinel).map_or_else(|v| v, sentinel),
        fresh(&o.traffic).map_or_else(|v| v, traffic),
    ];
    let mut reasons = Vec::new();
    let (mut unknown, mut any) = (false, false);
    for v in verdicts {
        match v {
            Verdict::Ok => any = true,
            Verdict::Bad(r) => reasons.extend(r),
            Verdict::Unknown => unknown = true,
            Verdict::NotConfigured => {}
        }
    }
    if !reasons.is_empty() {
        Health::Unhealthy(reasons)
    } else if unknown || !any {
        Health::Unknown
    } else {
        Health::Healthy
    }
}

fn database(db: &DatabaseView, kube: Option<&KubeView>) -> Verdict {
    let writable = db.writable_primaries();
    let primary = match writable.as_slice() {
        [] => return Verdict::Bad(vec!["database: no writable primary".into()]),
        [one] => *one,
        many => {
            let names: Vec<&str> = many.iter().map(|n| n.name.as_str()).collect();
            return Verdict::Bad(vec![format!("database: split brain ({})", names.join(", "))]);
        }
    };
    if let Some(svc) = kube.and_then(|k| k.db_service.as_ref()) {
        let pod = primary.pod.as_deref().unwrap_or(&primary.name);
        if !svc.endpoint_pods.iter().any(|p| p == pod) {
            return Verdict::Bad(vec![format!(
                "database: Service {} does not route to the primary {}",
                svc.name, primary.name
            )]);
        }
    }
    Verdict::Ok
}

fn sentinel(s: &SentinelView) -> Verdict {
    let mut bad = Vec::new();
    if s.sentinels.iter().all(|x| x.master.is_none()) {
        bad.push("redis: no Sentinel reports a master".to_string());
    } else if !s.agreed() {
        bad.push("redis: Sentinels disagree on the master".to_string());
    } else {
        match s.master_role.as_deref() {
            Some("master") => {}
            Some(role) => bad.push(format!("redis: the master answers as {role}")),
            None => bad.push("redis: the master does not answer".to_string()),
        }
    }
    if s.failover_in_progress {
        bad.push("redis: failover in progress".to_string());
    }
    if bad.is_empty() { Verdict::Ok } else { Verdict::Bad(bad) }
}

fn traffic(t: &TrafficView) -> Verdict {
    let weighted = t.regions.iter().any(|r| r.weight.is_some());
    let serving: Vec<_> = if weighted {
        t.regions.iter().filter(|r| r.weight.is_some_and(|w| w > 0)).collect()
    } else {
        t.regions.iter().filter(|r| r.role == "primary").take(1).collect()
    };
    if serving.is_empty() {
        return if weighted {
            Verdict::Bad(vec!["traffic: no region receives traffic".into()])
        } else {
            Verdict::Ok
        };
    }
    let bad: Vec<String> = serving
        .iter()
        .filter(|r| r.health_check == HealthState::Unhealthy)
        .map(|r| format!("traffic: {} serves traffic but its health check is unhealthy", r.name))
        .collect();
    if bad.is_empty() { Verdict::Ok } else { Verdict::Bad(bad) }
}
