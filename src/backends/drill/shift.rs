//! `shift-traffic` in the drill: stage by stage through the sim's own `set-weights` (same
//! validation and change ids), each stage held in sim time (speed-scaled on the wall clock)
//! while the target's health check and `/health/ready` probe are checked every few seconds.

use std::time::Duration;

use super::DrillOperator;
use super::estate::TTL;
use crate::backends::gate::region_gate_problem;
use crate::operation::Operation;
use crate::operation::traffic::{
    GATE_INTERVAL_SECS, first_stage, gate_failed_message, stage_failed_message, target_percent,
};

impl DrillOperator {
    /// Carry out a [`Operation::ShiftTraffic`]; the error names the stage, what failed and the
    /// weights left in place.
    pub(super) async fn shift(&self, op: &Operation) -> Result<String, String> {
        let Operation::ShiftTraffic { zone, record, endpoint, target, stages, hold_secs } = op else {
            return Err(format!("not a shift: '{}'", op.name()));
        };
        let estate = &self.0;
        // Every stage is validated before the first change.
        estate.with(|s| s.begin(op))?;
        let regions: Vec<String> = stages[0].iter().map(|(r, _)| r.clone()).collect();
        let mut before = estate.with(|s| {
            regions
                .iter()
                .map(|r| {
                    let w = s.traffic.regions.iter().find(|x| x.name == r).map_or(0, |x| x.weight);
                    (r.clone(), w)
                })
                .collect::<Vec<_>>()
        });
        let n = stages.len();
        let start = first_stage(stages, target, &before);
        let mut done = Vec::new();
        if start > 0 {
            done.push(format!(
                "resumed at stage {}/{n} ({target} already at {}%)",
                start + 1,
                target_percent(&before, target)
            ));
        }
        for (i, weights) in stages.iter().enumerate().skip(start) {
            let pct = target_percent(weights, target);
            let stage_op = Operation::SetRoute53Weights {
                zone: zone.clone(),
                record: record.clone(),
                endpoint: endpoint.clone(),
                weights: weights.clone(),
            };
            let failed = |e: String| stage_failed_message(i + 1, n, pct, &e, &before, None);
            let took = estate.with(|s| s.begin(&stage_op)).map_err(failed)?;
            tokio::time::sleep(took.div_f64(estate.speed)).await;
            let applied = estate.with(|s| s.apply(&stage_op, took)).map_err(failed)?;
            before = weights.clone();
            let change = applied.split_whitespace().nth(1).unwrap_or("?").to_string();
            tracing::info!(stage = i + 1, stages = n, percent = pct, %change, "drill shift stage applied");
            let checks = self
                .hold(target, *hold_secs)
                .await
                .map_err(|problem| gate_failed_message(i + 1, n, pct, &problem, weights))?;
            done.push(format!("{pct}% ({change}, held {hold_secs} s, gate ok x{checks})"));
        }
        Ok(format!(
            "shifted to {target} in {n} stage(s): {}; resolvers may still cache the old answer for {TTL} s (TTL)",
            done.join(", ")
        ))
    }

    /// Hold a stage for `hold_secs` of sim time, checking the target's gate at once, every
    /// [`GATE_INTERVAL_SECS`] and at the end. Returns the number of checks, or what failed.
    async fn hold(&self, target: &str, hold_secs: u64) -> Result<u32, String> {
        let hold = hold_secs as f64;
        let mut held = 0.0;
        let mut checks = 0;
        loop {
            let problem = self.0.with(|s| match s.traffic_view().region(target) {
                Some(r) => region_gate_problem(r),
                None => Some(format!("no record set for {target}")),
            });
            checks += 1;
            if let Some(p) = problem {
                return Err(p);
            }
            if held >= hold {
                return Ok(checks);
            }
            let dt = (GATE_INTERVAL_SECS as f64).min(hold - held);
            tokio::time::sleep(Duration::from_secs_f64(dt / self.0.speed)).await;
            held += dt;
        }
    }
}
