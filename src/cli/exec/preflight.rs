//! What `warroom exec` checks before it declares anything: the parameters resolve against the
//! current snapshots, every step that will run has its confirmation on the command line, and
//! the prechecks of the steps up to the first one that changes anything (or waits for the
//! estate to move: an assertion that does not hold yet) hold now: read-only steps that already
//! hold change nothing, so the snapshots taken now are what the steps after them will see.
//!
//! A refusal here is exit 3 with no incident declared and nothing executed. What can only be
//! known later (the estate changed after these checks, a later step's precheck once an earlier
//! step acted) is refused or failed by the driver inside the declared incident, which then
//! records the attempt.

use crate::backends::Observed;
use crate::cli::plan::{self, Exit};
use crate::config::Config;
use crate::operation::{Operation, Risk, Verify};
use crate::runbook::model::Runbook;
use crate::runbook::plan::{BuildError, PlannedStep};
use crate::text::sanitize;

use super::Decisions;

/// Why a step cannot be confirmed from the command line `d` (`None`: it can).
pub fn missing_decision(key: &str, op: &Operation, risk: Risk, d: &Decisions) -> Option<String> {
    if let Operation::Manual { instruction } = op {
        return d.note.as_deref().filter(|n| !n.trim().is_empty()).is_none().then(|| {
            format!("step {key} is manual ({}): do it, then give --note TEXT (logged)", sanitize(instruction))
        });
    }
    match risk {
        Risk::High => {
            let word = op.confirm_word();
            (!d.confirm.contains(&word)).then(|| format!("step {key} needs --confirm {word}"))
        }
        Risk::Low => (!d.yes_low_risk).then(|| format!("step {key} is low risk: it needs --yes-low-risk")),
    }
}

/// Whether `p` is selected by `--step` (every step without it).
fn selected(p: &PlannedStep, only: Option<&str>) -> bool {
    only.is_none_or(|o| p.key == o || p.key.starts_with(&format!("{o}/")))
}

/// Every refusal that can be known from `obs` before declaring (exit 3), or `Ok`.
pub fn check(
    rb: &Runbook,
    cfg: &Config,
    obs: &Observed,
    overrides: &[(String, String)],
    only: Option<&str>,
    d: &Decisions,
) -> Result<(), Exit> {
    let params = plan::resolve(rb, cfg, obs, overrides)?;
    let steps = crate::runbook::plan::plan(rb, cfg, obs, &params);
    let mut acted = false;
    for p in steps.iter().filter(|p| selected(p, only)) {
        // Not applicable, cannot be built, or its gate does not hold now: skipped with the
        // reason when it comes up (a gate that starts to hold later asks for its confirmation
        // then; an operation that cannot be built now may be once the estate moves).
        let op = match &p.op {
            Ok(op) => op,
            Err(BuildError::NotApplicable(_) | BuildError::Invalid(_)) => continue,
        };
        if p.gate.as_ref().is_some_and(|g| g.check(obs).is_err()) {
            continue;
        }
        let risk = plan::step_risk(p).unwrap_or(Risk::Low);
        if let Some(why) = missing_decision(&p.key, op, risk, d) {
            return Err(Exit::refused(why));
        }
        if acted {
            continue;
        }
        let failed: Vec<String> = op
            .precheck(obs)
            .into_iter()
            .filter(|c| !c.ok)
            .map(|c| format!("{}: {}", c.name, sanitize(&c.detail)))
            .collect();
        if !failed.is_empty() {
            return Err(Exit::refused(format!("step {}: precheck failed: {}", p.key, failed.join("; "))));
        }
        // After a step that changes the estate, or a read-only one that will wait for it to
        // move (an assertion that does not hold yet), the snapshots taken now no longer say
        // what later steps will see: their prechecks are made when they come up.
        acted = op.is_mutating() || matches!(op.verify(obs), Verify::NotYet(_));
    }
    Ok(())
}
