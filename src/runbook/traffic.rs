//! Traffic operations (`set-weights`, `shift-traffic`): previews, prechecks and postconditions
//! (the stage arithmetic they share with the executors is [`crate::operation::traffic`], the
//! health gate [`crate::backends::gate`]).

use crate::backends::Observed;
use crate::backends::gate::region_gate_problem;
use crate::backends::model::HealthState;
use crate::operation::traffic::{GATE_INTERVAL_SECS, target_percent};
use crate::operation::{Check, Preview, Verify};

use super::operation::fresh_check;

/// Preview of `set-weights`.
pub fn set_weights_preview(zone: &str, record: &str, endpoint: &str, weights: &[(String, u8)]) -> Preview {
    let mut lines = vec![format!("ChangeResourceRecordSets  HostedZoneId={zone}")];
    for (region, w) in weights {
        lines.push(format!("  UPSERT {record} SetIdentifier={region} Weight={w}"));
    }
    let total: u32 = weights.iter().map(|(_, w)| u32::from(*w)).sum();
    let shares: Vec<String> = weights
        .iter()
        .map(|(r, w)| {
            let pct = (u32::from(*w) * 100).checked_div(total).unwrap_or(0);
            format!("{r} {pct}%")
        })
        .collect();
    Preview {
        title: format!("Set Route 53 weights: {}", shares.join(", ")),
        target: format!("zone {zone} via {endpoint}"),
        lines,
        blast_radius: format!("all traffic for {record}; resolvers may cache the old answer for the TTL"),
    }
}

/// Preview of `shift-traffic`: every stage's exact weights, the hold and the gate.
pub fn shift_preview(
    zone: &str,
    record: &str,
    endpoint: &str,
    target: &str,
    stages: &[Vec<(String, u8)>],
    hold_secs: u64,
) -> Preview {
    let n = stages.len();
    let percents: Vec<String> = stages.iter().map(|s| format!("{}%", target_percent(s, target))).collect();
    let mut lines = vec![format!(
        "{n} stage(s), each ONE atomic ChangeResourceRecordSets (UPSERT) in HostedZoneId={zone}, \
         waited INSYNC, then held {hold_secs} s"
    )];
    for (i, s) in stages.iter().enumerate() {
        let set: Vec<String> = s.iter().map(|(r, w)| format!("{r}={w}")).collect();
        lines.push(format!(
            "  stage {}/{n} {:>3}%: UPSERT {record} {}",
            i + 1,
            target_percent(s, target),
            set.join(" ")
        ));
    }
    lines.push(format!(
        "gate during each hold, every {GATE_INTERVAL_SECS} s: {target} Route 53 health check and \
         /health/ready probe; a failure stops with the weights left in place"
    ));
    lines.push("a retry resumes at the first stage not below the current share".into());
    Preview {
        title: format!("Shift traffic to {target} gradually: {}", percents.join(" → ")),
        target: format!("zone {zone} via {endpoint}"),
        lines,
        blast_radius: format!(
            "all traffic for {record}, moved in {n} stage(s) over at least {} s; resolvers cache \
             each answer for the TTL",
            hold_secs.saturating_mul(n as u64)
        ),
    }
}

/// Prechecks of `set-weights`: fresh data, some weight non-zero, every region known, every
/// region that will receive traffic healthy.
pub fn set_weights_precheck(obs: &Observed, weights: &[(String, u8)]) -> Vec<Check> {
    let mut checks = vec![fresh_check("traffic data", &obs.traffic)];
    let nonzero = weights.iter().any(|(_, w)| *w > 0);
    checks.push(Check::new(
        "some region gets traffic",
        nonzero,
        if nonzero { "at least one weight is non-zero" } else { "all weights are 0: nothing would answer" },
    ));
    if let Some(t) = obs.traffic.value.as_ref() {
        for (region, w) in weights {
            match t.region(region) {
                None => checks.push(Check::new("region known", false, format!("no record set for {region}"))),
                Some(r) if *w > 0 => {
                    let healthy =
                        r.health_check != HealthState::Unhealthy && r.ready.as_ref().is_none_or(|p| p.ok());
                    checks.push(Check::new(
                        "receiving region healthy",
                        healthy,
                        format!(
                            "{region}: health check {}, ready probe {}",
                            r.health_check.as_str(),
                            r.ready.as_ref().map_or("n/a".into(), super::operation::probe_text)
                        ),
                    ));
                }
                Some(_) => {}
            }
        }
    }
    checks
}

/// Prechecks of `shift-traffic`: fresh data, a sane plan (stages, hold, same regions, target's
/// share never falling, last stage non-zero), regions known, target healthy by the gate's rule.
pub fn shift_precheck(
    obs: &Observed,
    target: &str,
    stages: &[Vec<(String, u8)>],
    hold_secs: u64,
) -> Vec<Check> {
    let mut checks = vec![fresh_check("traffic data", &obs.traffic)];
    checks.push(match plan_problem(target, stages, hold_secs) {
        None => Check::new("plan", true, format!("{} stage(s), hold {hold_secs} s", stages.len())),
        Some(why) => Check::new("plan", false, why),
    });
    let Some(t) = obs.traffic.value.as_ref() else { return checks };
    let mut regions: Vec<&str> = stages.iter().flatten().map(|(r, _)| r.as_str()).collect();
    regions.push(target);
    regions.sort_unstable();
    regions.dedup();
    let unknown: Vec<&str> = regions.iter().copied().filter(|r| t.region(r).is_none()).collect();
    checks.push(Check::new(
        "regions known",
        unknown.is_empty(),
        if unknown.is_empty() {
            format!("record sets for {}", regions.join(", "))
        } else {
            format!("no record set for {}", unknown.join(", "))
        },
    ));
    if let Some(r) = t.region(target) {
        checks.push(match region_gate_problem(r) {
            None => Check::new(
                "target region healthy",
                true,
                format!(
                    "{target}: health check {}, ready probe {}",
                    r.health_check.as_str(),
                    r.ready.as_ref().map_or("n/a".into(), super::operation::probe_text)
                ),
            ),
            Some(why) => Check::new("target region healthy", false, why),
        });
    }
    checks
}

fn plan_problem(target: &str, stages: &[Vec<(String, u8)>], hold_secs: u64) -> Option<String> {
    let Some(first) = stages.first() else { return Some("no stages given".into()) };
    if hold_secs == 0 {
        return Some("hold is 0 s: the health gate would never be checked".into());
    }
    let names = |s: &[(String, u8)]| -> Vec<String> {
        let mut v: Vec<String> = s.iter().map(|(r, _)| r.clone()).collect();
        v.sort();
        v
    };
    let mut last = 0;
    for (i, s) in stages.iter().enumerate() {
        let n = i + 1;
        if names(s) != names(first) {
            return Some(format!("stage {n} names other regions than stage 1"));
        }
        if names(s).windows(2).any(|w| w[0] == w[1]) {
            return Some(format!("stage {n} names a region twice"));
        }
        if !s.iter().any(|(r, _)| r == target) {
            return Some(format!("stage {n} does not set the target {target}"));
        }
        if s.iter().all(|(_, w)| *w == 0) {
            return Some(format!("stage {n}: all weights are 0, nothing would answer"));
        }
        let p = target_percent(s, target);
        if p < last {
            return Some(format!("stage {n} lowers {target}'s share to {p}% (from {last}%)"));
        }
        last = p;
    }
    None
}

/// Postcondition of both traffic operations: every region's weight as requested.
pub fn weights_verify(obs: &Observed, weights: &[(String, u8)]) -> Verify {
    match obs.traffic.fresh_value() {
        Some(t) => {
            let wrong: Vec<String> = weights
                .iter()
                .filter(|(r, w)| t.region(r).and_then(|x| x.weight) != Some(*w))
                .map(|(r, w)| {
                    format!(
                        "{r} want {w} have {}",
                        t.region(r).and_then(|x| x.weight).map_or("?".into(), |x| x.to_string())
                    )
                })
                .collect();
            if wrong.is_empty() {
                Verify::Holds("all weights as requested".into())
            } else {
                Verify::NotYet(wrong.join("; "))
            }
        }
        None => Verify::NotYet("no fresh traffic data".into()),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::Utc;

    use super::*;
    use crate::backends::Snapshot;
    use crate::backends::gate::gate_problem;
    use crate::backends::model::TrafficView;
    use crate::backends::model::{Probe, RegionTraffic};
    use crate::operation::traffic::{
        DEFAULT_SHIFT_PERCENTS, INSYNC_ALLOWANCE_SECS, first_stage, gate_failed_message, shift_stages,
        stage_failed_message,
    };
    use crate::operation::{Operation, Risk};

    fn w(list: &[(&str, u8)]) -> Vec<(String, u8)> {
        list.iter().map(|(r, w)| (r.to_string(), *w)).collect()
    }

    fn row(name: &str, weight: u8, health: HealthState, ready: Option<u16>) -> RegionTraffic {
        RegionTraffic {
            name: name.into(),
            role: "x".into(),
            weight: Some(weight),
            failover_role: None,
            health_check: health,
            checkers: Some((if health == HealthState::Healthy { 16 } else { 0 }, 16)),
            live: None,
            ready: ready.map(|s| Probe { status: Some(s), latency_ms: 9, error: None }),
            deploy_ready: None,
        }
    }

    fn observed(regions: Vec<RegionTraffic>) -> Observed {
        let view = TrafficView {
            record: "api.example.com.".into(),
            ttl: Some(60),
            regions,
            control_plane_error: None,
        };
        Observed { traffic: Arc::new(Snapshot::fresh(view, Utc::now())), ..Observed::default() }
    }

    fn healthy_east() -> Observed {
        observed(vec![
            row("us-east-1", 0, HealthState::Healthy, Some(200)),
            row("us-west-2", 100, HealthState::Healthy, Some(200)),
            row("eu-central-1", 0, HealthState::Healthy, Some(200)),
        ])
    }

    fn shift(stages: Vec<Vec<(String, u8)>>, hold_secs: u64) -> Operation {
        Operation::ShiftTraffic {
            zone: "Z1".into(),
            record: "api.example.com.".into(),
            endpoint: "https://route53.amazonaws.com".into(),
            target: "us-east-1".into(),
            stages,
            hold_secs,
        }
    }

    fn plan() -> Vec<Vec<(String, u8)>> {
        let current = w(&[("us-east-1", 0), ("us-west-2", 100), ("eu-central-1", 0)]);
        shift_stages(&current, "us-east-1", &DEFAULT_SHIFT_PERCENTS)
    }

    #[test]
    fn stages_give_the_target_its_share_and_split_the_rest_by_current_weight() {
        assert_eq!(
            plan(),
            vec![
                w(&[("us-east-1", 10), ("us-west-2", 90), ("eu-central-1", 0)]),
                w(&[("us-east-1", 25), ("us-west-2", 75), ("eu-central-1", 0)]),
                w(&[("us-east-1", 50), ("us-west-2", 50), ("eu-central-1", 0)]),
                w(&[("us-east-1", 100), ("us-west-2", 0), ("eu-central-1", 0)]),
            ]
        );
        let current = w(&[("a", 0), ("b", 60), ("c", 40)]);
        assert_eq!(shift_stages(&current, "a", &[25]), vec![w(&[("a", 25), ("b", 45), ("c", 30)])]);
        // Rounding by largest remainder still sums to 100; all-zero others share equally.
        let current = w(&[("a", 0), ("b", 0), ("c", 0), ("d", 0)]);
        let s = shift_stages(&current, "a", &[0]);
        assert_eq!(s, vec![w(&[("a", 0), ("b", 34), ("c", 33), ("d", 33)])]);
    }

    #[test]
    fn retry_resumes_at_the_first_stage_not_below_the_current_share() {
        let stages = plan();
        assert_eq!(first_stage(&stages, "us-east-1", &w(&[("us-east-1", 0), ("us-west-2", 100)])), 0);
        assert_eq!(first_stage(&stages, "us-east-1", &w(&[("us-east-1", 25), ("us-west-2", 75)])), 1);
        assert_eq!(first_stage(&stages, "us-east-1", &w(&[("us-east-1", 30), ("us-west-2", 70)])), 2);
        assert_eq!(target_percent(&w(&[("a", 1), ("b", 2)]), "a"), 33);
        assert_eq!(target_percent(&w(&[("a", 0), ("b", 0)]), "a"), 0);
    }

    #[test]
    fn preview_lists_every_stage_the_hold_and_the_gate() {
        let p = shift(plan(), 60).preview();
        assert_eq!(p.title, "Shift traffic to us-east-1 gradually: 10% → 25% → 50% → 100%");
        assert_eq!(p.target, "zone Z1 via https://route53.amazonaws.com");
        assert!(p.lines[0].contains("4 stage(s)") && p.lines[0].contains("held 60 s"), "{:?}", p.lines);
        assert_eq!(
            p.lines[1],
            "  stage 1/4  10%: UPSERT api.example.com. us-east-1=10 us-west-2=90 eu-central-1=0"
        );
        assert_eq!(
            p.lines[2],
            "  stage 2/4  25%: UPSERT api.example.com. us-east-1=25 us-west-2=75 eu-central-1=0"
        );
        assert_eq!(
            p.lines[4],
            "  stage 4/4 100%: UPSERT api.example.com. us-east-1=100 us-west-2=0 eu-central-1=0"
        );
        assert!(p.lines[5].contains("every 5 s") && p.lines[5].contains("/health/ready"), "{}", p.lines[5]);
        assert!(p.blast_radius.contains("at least 240 s"), "{}", p.blast_radius);
    }

    #[test]
    fn identity_risk_and_timeout() {
        let op = shift(plan(), 60);
        assert_eq!(op.name(), "shift-traffic");
        assert_eq!(op.risk(), Risk::High);
        assert_eq!(op.confirm_word(), "us-east-1");
        assert!(op.is_mutating());
        assert_eq!(op.min_timeout_secs(), Some(4 * (60 + INSYNC_ALLOWANCE_SECS)));
        let set = Operation::SetRoute53Weights {
            zone: "Z1".into(),
            record: "r".into(),
            endpoint: "e".into(),
            weights: w(&[("a", 1)]),
        };
        assert_eq!(set.min_timeout_secs(), Some(INSYNC_ALLOWANCE_SECS));
        assert_eq!(Operation::CheckPrimary.min_timeout_secs(), None);
        let json = serde_json::to_string(&op).unwrap();
        assert!(json.contains("\"op\":\"shift-traffic\""), "{json}");
        assert_eq!(serde_json::from_str::<Operation>(&json).unwrap(), op);
    }

    #[test]
    fn prechecks_pass_on_a_healthy_target_and_name_each_failure() {
        let op = shift(plan(), 60);
        let checks = op.precheck(&healthy_east());
        assert!(checks.iter().all(|c| c.ok), "{checks:?}");
        let names: Vec<&str> = checks.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["traffic data fresh", "plan", "regions known", "target region healthy"]);

        let sick = observed(vec![
            row("us-east-1", 0, HealthState::Healthy, Some(503)),
            row("us-west-2", 100, HealthState::Healthy, Some(200)),
            row("eu-central-1", 0, HealthState::Healthy, None),
        ]);
        let failed: Vec<_> = op.precheck(&sick).into_iter().filter(|c| !c.ok).collect();
        assert_eq!(failed.len(), 1, "{failed:?}");
        assert_eq!(failed[0].detail, "us-east-1 ready probe 503");

        let down = observed(vec![
            row("us-east-1", 0, HealthState::Unhealthy, None),
            row("us-west-2", 100, HealthState::Healthy, None),
        ]);
        let failed: Vec<_> = op.precheck(&down).into_iter().filter(|c| !c.ok).collect();
        let details: Vec<&str> = failed.iter().map(|c| c.detail.as_str()).collect();
        assert_eq!(
            details,
            ["no record set for eu-central-1", "us-east-1 health check unhealthy (0/16 checkers healthy)"]
        );

        let mut stale = healthy_east();
        stale.traffic = Arc::new(Snapshot {
            freshness: crate::backends::Freshness::Stale { since: Utc::now(), error: "timeout".into() },
            ..(*stale.traffic).clone()
        });
        let c = &op.precheck(&stale)[0];
        assert!(!c.ok && c.detail.contains("stale (timeout)"), "{c:?}");
    }

    #[test]
    fn bad_plans_are_refused_by_the_plan_precheck() {
        let obs = healthy_east();
        let plan_check = |op: Operation| op.precheck(&obs).into_iter().find(|c| c.name == "plan").unwrap();
        let c = plan_check(shift(vec![], 60));
        assert_eq!((c.ok, c.detail.as_str()), (false, "no stages given"));
        let c = plan_check(shift(plan(), 0));
        assert!(!c.ok && c.detail.contains("hold is 0 s"), "{c:?}");
        let backwards =
            vec![w(&[("us-east-1", 50), ("us-west-2", 50)]), w(&[("us-east-1", 10), ("us-west-2", 90)])];
        let c = plan_check(shift(backwards, 60));
        assert_eq!(c.detail, "stage 2 lowers us-east-1's share to 10% (from 50%)");
        let mixed =
            vec![w(&[("us-east-1", 50), ("us-west-2", 50)]), w(&[("us-east-1", 100), ("eu-central-1", 0)])];
        assert_eq!(plan_check(shift(mixed, 60)).detail, "stage 2 names other regions than stage 1");
        let zero = vec![w(&[("us-east-1", 0), ("us-west-2", 0)])];
        assert_eq!(plan_check(shift(zero, 60)).detail, "stage 1: all weights are 0, nothing would answer");
        let no_target = vec![w(&[("us-west-2", 100)])];
        assert_eq!(plan_check(shift(no_target, 60)).detail, "stage 1 does not set the target us-east-1");
    }

    #[test]
    fn verify_wants_the_last_stage_weights() {
        let op = shift(plan(), 60);
        match op.verify(&healthy_east()) {
            Verify::NotYet(why) => assert_eq!(why, "us-east-1 want 100 have 0; us-west-2 want 0 have 100"),
            v => panic!("{v:?}"),
        }
        let done = observed(vec![
            row("us-east-1", 100, HealthState::Healthy, None),
            row("us-west-2", 0, HealthState::Healthy, None),
            row("eu-central-1", 0, HealthState::Healthy, None),
        ]);
        assert_eq!(op.verify(&done), Verify::Holds("all weights as requested".into()));
    }

    #[test]
    fn gate_and_failure_messages_name_what_failed_and_what_is_left() {
        let timeout =
            Probe { status: None, latency_ms: 2000, error: Some("no answer within 2000 ms".into()) };
        assert_eq!(gate_problem("r", Some((HealthState::Healthy, Some((3, 3)))), None), None);
        assert_eq!(
            gate_problem("r", None, Some(&timeout)).unwrap(),
            "r ready probe no answer within 2000 ms"
        );
        assert!(gate_problem("r", None, None).unwrap().contains("nothing to gate on"));
        assert_eq!(
            gate_problem("r", Some((HealthState::Unknown, None)), None).unwrap(),
            "r health check status unknown"
        );
        let left = w(&[("us-east-1", 25), ("us-west-2", 75)]);
        assert_eq!(
            gate_failed_message(2, 4, 25, "us-east-1 ready probe 503", &left),
            "health gate failed at 25% (stage 2/4: us-east-1 ready probe 503); weights left at \
             us-east-1 25 / us-west-2 75: retry, skip or abort"
        );
        let before = w(&[("us-east-1", 10), ("us-west-2", 90)]);
        let m = stage_failed_message(2, 4, 25, "Throttling: Rate exceeded", &before, None);
        assert!(
            m.starts_with("stage 2/4 (25%) failed: Throttling")
                && m.contains("left at us-east-1 10 / us-west-2 90")
        );
        let m = stage_failed_message(2, 4, 25, "still PENDING", &before, Some(&left));
        assert!(m.contains("either us-east-1 25 / us-west-2 75 or still us-east-1 10 / us-west-2 90"), "{m}");
    }
}
