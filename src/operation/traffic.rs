//! The pure pieces of a traffic shift that the preview, the prechecks and both executors (the
//! Route 53 backend and the drill) share: stage weights, where a retry resumes, the target's
//! share, and the failure messages.

/// Seconds between two health-gate checks while a stage is held.
pub const GATE_INTERVAL_SECS: u64 = 5;
/// Time allowed for one change batch to reach `INSYNC` (real Route 53 can take minutes).
pub const INSYNC_ALLOWANCE_SECS: u64 = 200;
/// The plan's "gradually shift traffic back": the target's share at each stage.
pub const DEFAULT_SHIFT_PERCENTS: [u8; 4] = [10, 25, 50, 100];
/// Shortest hold the console proposes (each stage is also held at least one record TTL).
pub const MIN_HOLD_SECS: u64 = 60;

/// Weights of every region at each stage of a shift towards `target`: the target gets `p` %
/// of 100 and the other regions share the rest in proportion to their `current` weights
/// (equally when they all have 0). Regions keep `current`'s order; each stage sums to 100.
pub fn shift_stages(current: &[(String, u8)], target: &str, percents: &[u8]) -> Vec<Vec<(String, u8)>> {
    let others: Vec<(usize, u32)> = current
        .iter()
        .enumerate()
        .filter(|(_, (r, _))| r != target)
        .map(|(i, (_, w))| (i, u32::from(*w)))
        .collect();
    let others_total: u32 = others.iter().map(|(_, w)| w).sum();
    percents
        .iter()
        .map(|&p| {
            let p = u32::from(p.min(100));
            let rest = 100 - p;
            // Largest-remainder split of `rest` over the other regions.
            let share = |w: u32| if others_total == 0 { 1 } else { w };
            let denom = if others_total == 0 { others.len() as u32 } else { others_total };
            let mut parts: Vec<(usize, u32, u32)> = others
                .iter()
                .map(|&(i, w)| {
                    let exact = rest * share(w);
                    (i, exact.checked_div(denom).unwrap_or(0), exact.checked_rem(denom).unwrap_or(0))
                })
                .collect();
            let mut left = rest - parts.iter().map(|(_, b, _)| b).sum::<u32>();
            let mut order: Vec<usize> = (0..parts.len()).collect();
            order.sort_by(|a, b| parts[*b].2.cmp(&parts[*a].2).then(a.cmp(b)));
            for k in order {
                if left == 0 {
                    break;
                }
                parts[k].1 += 1;
                left -= 1;
            }
            current
                .iter()
                .enumerate()
                .map(|(i, (r, _))| {
                    let w = if r == target {
                        p
                    } else {
                        parts.iter().find(|(j, _, _)| *j == i).map_or(0, |(_, b, _)| *b)
                    };
                    (r.clone(), u8::try_from(w).unwrap_or(u8::MAX))
                })
                .collect()
        })
        .collect()
}

/// The target's share of the weights, in whole percent (0 when every weight is 0).
pub fn target_percent(weights: &[(String, u8)], target: &str) -> u32 {
    let total: u32 = weights.iter().map(|(_, w)| u32::from(*w)).sum();
    let mine: u32 = weights.iter().filter(|(r, _)| r == target).map(|(_, w)| u32::from(*w)).sum();
    (mine * 100 + total / 2).checked_div(total).unwrap_or(0)
}

/// `us-east-1 25 / us-west-2 75`, as failure messages name the weights left in place.
pub fn weights_text(weights: &[(String, u8)]) -> String {
    let parts: Vec<String> = weights.iter().map(|(r, w)| format!("{r} {w}")).collect();
    parts.join(" / ")
}

/// Where a (re)run of a shift starts: the first stage whose target share is at least the
/// current one, so a retry after a failed gate resumes at the failed stage instead of pulling
/// traffic back to the first. `0` when the target is below every stage (or above all of them).
pub fn first_stage(stages: &[Vec<(String, u8)>], target: &str, current: &[(String, u8)]) -> usize {
    let now = target_percent(current, target);
    stages.iter().position(|s| target_percent(s, target) >= now).unwrap_or(0)
}

/// The message of a shift stopped by its health gate (the pipeline then offers retry / skip /
/// abort).
pub fn gate_failed_message(
    stage: usize,
    stages: usize,
    percent: u32,
    problem: &str,
    left: &[(String, u8)],
) -> String {
    format!(
        "health gate failed at {percent}% (stage {stage}/{stages}: {problem}); weights left at {}: \
         retry, skip or abort",
        weights_text(left)
    )
}

/// The message of a shift whose stage's change batch failed. `submitted` is `Some(stage
/// weights)` when the batch was sent but not confirmed `INSYNC` (the weights may be either).
pub fn stage_failed_message(
    stage: usize,
    stages: usize,
    percent: u32,
    error: &str,
    before: &[(String, u8)],
    submitted: Option<&[(String, u8)]>,
) -> String {
    let left = match submitted {
        None => format!("weights left at {}", weights_text(before)),
        Some(s) => format!(
            "weights are either {} or still {}: check before retrying",
            weights_text(s),
            weights_text(before)
        ),
    };
    format!("stage {stage}/{stages} ({percent}%) failed: {error}; {left}: retry, skip or abort")
}
