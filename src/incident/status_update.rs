//! The status update composer: a short plain-text draft the operator edits before posting.
//!
//! Pure: built from the incident, the current snapshots and the step runs. It names only
//! nodes, regions, pods and addresses (no DSNs, no error text from backends, so no secrets),
//! and every backend string is reduced to plain text.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use crate::app::state::IncidentInfo;
use crate::app::{StepRun, StepStatus};
use crate::backends::model::{HealthState, PgRole};
use crate::backends::{Freshness, Observed, Snapshot};

use super::export::plain_text;

/// Draft a status update at `now`; `next_update` is when the next one is due (from the
/// checklist's recurring item), if known.
pub fn compose(
    incident: &IncidentInfo,
    observed: &Observed,
    steps: &[StepRun],
    now: DateTime<Utc>,
    next_update: Option<DateTime<Utc>>,
) -> String {
    let mut s = String::new();
    let drill = if incident.drill { "[DRILL] " } else { "" };
    let _ = writeln!(
        s,
        "{drill}{} {} status update: {}",
        plain_text(&incident.severity),
        plain_text(&incident.id),
        plain_text(&incident.title)
    );
    let _ = writeln!(
        s,
        "As of {} UTC ({} since declared at {} UTC).",
        now.format("%H:%M"),
        elapsed(incident.declared_at, now),
        incident.declared_at.format("%H:%M")
    );

    s.push_str("\nImpact:\n");
    bullets(&mut s, impact(observed), "No impact currently observed.");

    s.push_str("\nDone so far:\n");
    bullets(&mut s, actions(steps), "No steps taken yet.");

    s.push_str("\nCurrent state:\n");
    bullets(&mut s, current(observed), "Nothing is observed yet.");

    match next_update {
        Some(at) => {
            let _ = writeln!(
                s,
                "\nNext update: by {} UTC ({}).",
                at.format("%H:%M"),
                t_plus(incident.declared_at, at)
            );
        }
        None => s.push_str("\nNext update: when the situation changes.\n"),
    }
    s
}

fn bullets(s: &mut String, lines: Vec<String>, empty: &str) {
    if lines.is_empty() {
        let _ = writeln!(s, "- {empty}");
    }
    for l in lines {
        let _ = writeln!(s, "- {l}");
    }
}

/// What is affected: database without (or with two) writable primaries, Sentinel trouble,
/// unhealthy regions, CrashLoopBackOff counts, layers that cannot be observed.
fn impact(o: &Observed) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(db) = &o.database.value {
        let primaries = db.writable_primaries();
        if primaries.len() > 1 {
            let names: Vec<String> = primaries.iter().map(|n| plain_text(&n.name)).collect();
            out.push(format!("Database: SPLIT BRAIN, {} accept writes", names.join(" and ")));
        } else if primaries.is_empty() && !db.nodes.is_empty() {
            let down: Vec<String> =
                db.nodes.iter().filter(|n| n.role == PgRole::Down).map(|n| plain_text(&n.name)).collect();
            let why = if down.is_empty() { String::new() } else { format!(" ({} down)", down.join(", ")) };
            out.push(format!("Database: no writable primary{why}"));
        }
    }
    if let Some(sv) = &o.sentinel.value {
        let reporting = sv.sentinels.iter().filter(|x| x.master.is_some()).count();
        if reporting > 0 && !sv.agreed() {
            out.push("Redis: Sentinels disagree on the master".to_string());
        }
        if sv.failover_in_progress {
            out.push("Redis: a Sentinel failover is in progress".to_string());
        }
    }
    if let Some(tv) = &o.traffic.value {
        for r in &tv.regions {
            let mut why = Vec::new();
            if r.health_check == HealthState::Unhealthy {
                why.push("health check unhealthy".to_string());
            }
            if let Some(p) = r.ready.as_ref().filter(|p| !p.ok()) {
                why.push(p.status.map_or("ready probe failing".into(), |c| format!("ready probe HTTP {c}")));
            }
            if let Some((ready, desired)) = r.deploy_ready.filter(|(r, d)| r < d) {
                why.push(format!("{ready}/{desired} replicas ready"));
            }
            if !why.is_empty() {
                out.push(format!("Region {}: {}", plain_text(&r.name), why.join(", ")));
            }
        }
    }
    if let Some(kv) = &o.kube.value {
        let mut crashing: BTreeMap<&str, usize> = BTreeMap::new();
        for p in kv.pods.iter().filter(|p| p.reason.as_deref() == Some("CrashLoopBackOff")) {
            *crashing.entry(p.context.as_str()).or_default() += 1;
        }
        for (ctx, n) in crashing {
            let pods = if n == 1 { "pod" } else { "pods" };
            out.push(format!("Kubernetes: {n} {pods} in CrashLoopBackOff in {}", plain_text(ctx)));
        }
    }
    let blind: Vec<&str> = [
        ("PostgreSQL", &o.database.freshness),
        ("Redis Sentinel", &o.sentinel.freshness),
        ("Kubernetes", &o.kube.freshness),
        ("traffic", &o.traffic.freshness),
    ]
    .into_iter()
    .filter(|(_, f)| {
        matches!(f, Freshness::Stale { .. } | Freshness::Failed { .. } | Freshness::BreakerOpen { .. })
    })
    .map(|(name, _)| name)
    .collect();
    if !blind.is_empty() {
        out.push(format!("Monitoring: cannot currently observe {}", blind.join(", ")));
    }
    out
}

/// Steps that were acted on, in order (proposed and ready ones are not "done").
fn actions(steps: &[StepRun]) -> Vec<String> {
    steps
        .iter()
        .filter_map(|st| {
            let title = plain_text(&st.preview.title);
            Some(match &st.status {
                StepStatus::Done => format!("Done: {title}"),
                StepStatus::Executing | StepStatus::Verifying => format!("In progress: {title}"),
                StepStatus::Failed { stage, .. } => format!("Failed at {}: {title}", stage.as_str()),
                StepStatus::Skipped(reason) => format!("Skipped: {title} ({})", plain_text(reason)),
                StepStatus::Aborted => format!("Aborted: {title}"),
                StepStatus::OutcomeUnknown => format!("Outcome being checked: {title}"),
                StepStatus::Proposed | StepStatus::Prechecked | StepStatus::AwaitingConfirm => return None,
            })
        })
        .collect()
}

/// ` (as of 12:30 UTC, stale)` for a value that is not fresh.
fn as_of<T>(snap: &Snapshot<T>) -> String {
    match (&snap.freshness, snap.fetched_at) {
        (Freshness::Fresh, _) => String::new(),
        (_, Some(at)) => format!(" (as of {} UTC, {})", at.format("%H:%M"), snap.freshness.as_str()),
        (f, None) => format!(" ({})", f.as_str()),
    }
}

/// Current primary database, Redis master and traffic per region.
fn current(o: &Observed) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(db) = &o.database.value {
        let primary = match db.writable_primaries().as_slice() {
            [] => "none".to_string(),
            [one] => format!("{} ({})", plain_text(&one.name), plain_text(&one.region)),
            many => many.iter().map(|n| plain_text(&n.name)).collect::<Vec<_>>().join(" and "),
        };
        out.push(format!("Primary database: {primary}{}", as_of(&o.database)));
    }
    if let Some(sv) = &o.sentinel.value {
        let master = match sv.agreed_master() {
            Some(m) => plain_text(m),
            None => "not agreed".to_string(),
        };
        out.push(format!("Redis master: {master}{}", as_of(&o.sentinel)));
    }
    if let Some(tv) = &o.traffic.value
        && !tv.regions.is_empty()
    {
        let regions: Vec<String> = tv
            .regions
            .iter()
            .map(|r| {
                let share = match (tv.share(&r.name), &r.failover_role) {
                    (Some(share), _) => format!("{:.0}%", share * 100.0),
                    (None, Some(role)) => plain_text(role),
                    (None, None) => "?".to_string(),
                };
                format!("{} {share} ({})", plain_text(&r.name), r.health_check.as_str())
            })
            .collect();
        out.push(format!("Traffic: {}{}", regions.join(", "), as_of(&o.traffic)));
    }
    out
}

/// `34m` / `1h 05m` since `from`.
fn elapsed(from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    let m = (to - from).num_minutes().max(0);
    if m >= 60 { format!("{}h {:02}m", m / 60, m % 60) } else { format!("{m}m") }
}

/// `T+49m`.
fn t_plus(t0: DateTime<Utc>, at: DateTime<Utc>) -> String {
    format!("T+{}", elapsed(t0, at))
}
