//! What happens to the incident and the estate, whatever the screen shows: a new snapshot, an
//! entry another console appended, the clock passing checklist deadlines, recovery tracking.

use chrono::{DateTime, Utc};

use crate::app::effect::Effect;
use crate::app::pipeline::log;
use crate::app::state::Domain;
use crate::backends::Observed;
use crate::incident::entry::{Entry, EntryKind};
use crate::incident::observations;

/// Replace one snapshot and log what changed (deduplicated observations), then sample the
/// trends (and log a `trend-sample` when one is due). A console that joined a drill shows the
/// host's estate; only the host records it.
pub(super) fn observe(domain: &mut Domain, fx: &mut Vec<Effect>, set: impl FnOnce(&mut Observed)) {
    let prev = domain.observed.clone();
    set(&mut domain.observed);
    let max_lag = domain.config.postgres.as_ref().map_or(0, |p| p.max_lag_bytes);
    if domain.records_observations {
        for o in observations::diff(&prev, &domain.observed, max_lag) {
            log(domain, fx, o.kind, o.summary, o.details);
        }
    }
    domain.trends.sample(&domain.observed);
    if domain.records_observations
        && let Some((summary, details)) = domain.trends.logged.due(&domain.observed, domain.now)
    {
        log(domain, fx, EntryKind::TrendSample, summary, details);
    }
}

/// An entry another console appended: into the log tail, and its effect on steps and the run.
pub(super) fn mirrored(domain: &mut Domain, entry: &Entry) {
    domain.push_log_line(entry.to_log_line());
    crate::app::mirror::apply(domain, entry);
}

/// The checklist items that became overdue since `prev_now` (joined with "; "), once each; none
/// once the incident is resolved.
pub(super) fn newly_overdue(domain: &Domain, prev_now: DateTime<Utc>) -> Option<String> {
    if prev_now >= domain.now || domain.resolved.is_some() {
        return None;
    }
    let due = domain.checklist.newly_overdue(domain.checklist_t0(), prev_now, domain.now);
    let names: Vec<String> =
        due.iter().filter_map(|id| domain.checklist.item(id)).map(|i| i.text.clone()).collect();
    (!due.is_empty()).then(|| names.join("; "))
}

/// Track recovery after every action. Every console tracks it (it is shown); only one that
/// records observations logs it.
pub(super) fn track(domain: &mut Domain, fx: &mut Vec<Effect>) {
    let mut measured = Vec::new();
    crate::app::measure::track(domain, &mut measured);
    if domain.records_observations {
        fx.extend(measured);
    }
}
