//! The health gate of a traffic shift: whether a region may take (more) traffic, from its
//! Route 53 health check and its `/health/ready` probe. Shared by the shift executors, the
//! runbook's prechecks and assertions, and the console's proposals.

use crate::backends::model::{HealthState, Probe, RegionTraffic};

/// The health gate's verdict on the target region: `None` when it passes, else what failed.
/// `health` is the Route 53 health check (state, healthy/total checkers), `None` when the
/// region has none; `ready` is its `/health/ready` probe. With neither there is nothing to gate
/// on, which is a failure.
pub fn gate_problem(
    region: &str,
    health: Option<(HealthState, Option<(u16, u16)>)>,
    ready: Option<&Probe>,
) -> Option<String> {
    let mut problems = Vec::new();
    if health.is_none() && ready.is_none() {
        problems.push(format!("{region} has no health check and no ready probe: nothing to gate on"));
    }
    match health {
        Some((HealthState::Unhealthy, checkers)) => problems.push(format!(
            "{region} health check unhealthy{}",
            checkers.map(|(h, t)| format!(" ({h}/{t} checkers healthy)")).unwrap_or_default()
        )),
        Some((HealthState::Unknown, _)) => problems.push(format!("{region} health check status unknown")),
        _ => {}
    }
    if let Some(p) = ready.filter(|p| !p.ok()) {
        let what = match (p.status, &p.error) {
            (Some(s), _) => s.to_string(),
            (None, Some(e)) => e.clone(),
            (None, None) => "no answer".into(),
        };
        problems.push(format!("{region} ready probe {what}"));
    }
    if problems.is_empty() { None } else { Some(problems.join("; ")) }
}

/// [`gate_problem`] for a region as the Traffic pane shows it (an `unknown` health check is
/// treated as absent: the view cannot tell "none configured" from "unreadable").
pub fn region_gate_problem(r: &RegionTraffic) -> Option<String> {
    let health = (r.health_check != HealthState::Unknown).then_some((r.health_check, r.checkers));
    gate_problem(&r.name, health, r.ready.as_ref())
}
