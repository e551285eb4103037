//! Single authority: an operation must not act on a layer that has two authorities at once
//! (two writable PostgreSQL primaries; Sentinels naming different masters).
//!
//! [`authority_problem`] is evaluated by [`Operation::precheck`] as the "single authority"
//! check. The operations that resolve a conflict (fencing the stale primary, checking which
//! node is primary) are exempt. An operator may override the check per layer with a typed
//! reason (see `app::authority`); the override lasts until the conflict clears.

use crate::backends::model::{DatabaseView, SentinelView};
use crate::backends::{Layer, Observed};

use crate::operation::{Check, Operation};

/// Name of the precheck this module adds (the override matches it by name).
pub const CHECK_NAME: &str = "single authority";

/// The layer whose authority `op` depends on, or `None` when it acts on no layer that can
/// have two authorities (traffic weights, scaling, manual steps).
pub fn authority_layer(op: &Operation) -> Option<Layer> {
    match op {
        Operation::CheckPrimary
        | Operation::PromotePostgres { .. }
        | Operation::ExecPromote { .. }
        | Operation::FencePostgres { .. }
        // Repointing the database Service chooses a primary: it acts on the database's authority.
        | Operation::PatchServiceSelector { .. }
        // So does labelling a pod primary: the Service may select it at once.
        | Operation::LabelPod { .. }
        // A write probe during a split brain proves nothing about which primary clients reach.
        | Operation::VerifyWrites { .. } => Some(Layer::Database),
        Operation::SentinelFailover { .. } => Some(Layer::Sentinel),
        Operation::SetRoute53Weights { .. }
        | Operation::ShiftTraffic { .. }
        | Operation::VerifyDns { .. }
        | Operation::ScaleDeployment { .. }
        | Operation::RollbackDeployment { .. }
        | Operation::Assert { .. }
        | Operation::Manual { .. } => None,
    }
}

/// Whether `op` resolves an authority conflict (and so must stay allowed during one).
pub fn resolves_conflict(op: &Operation) -> bool {
    matches!(op, Operation::FencePostgres { .. } | Operation::CheckPrimary)
}

/// The conflict on `layer` right now, described for the operator, or `None` when the layer
/// has at most one authority. Uses the last known value even when stale: a conflict seen
/// once is not forgotten because the source stopped answering.
pub fn layer_conflict(layer: Layer, obs: &Observed) -> Option<String> {
    match layer {
        Layer::Database => obs.database.value.as_ref().and_then(database_conflict),
        Layer::Sentinel => obs.sentinel.value.as_ref().and_then(sentinel_conflict),
        Layer::Kube | Layer::Traffic => None,
    }
}

/// Which layer `op` acts on and, when that layer has conflicting authority, why `op` must not
/// run now. `None` when `op` may proceed (no conflict, no such layer, or `op` resolves it).
pub fn authority_problem(op: &Operation, obs: &Observed) -> Option<String> {
    if resolves_conflict(op) {
        return None;
    }
    let layer = authority_layer(op)?;
    let conflict = layer_conflict(layer, obs)?;
    Some(format!(
        "{} acts on the {} layer, which has conflicting authority: {conflict}; resolve it first{}",
        op.name(),
        layer_name(layer),
        match layer {
            Layer::Database => " (fence the stale primary)",
            _ => " (make the Sentinels agree)",
        }
    ))
}

/// The "single authority" precheck for `op`, or `None` when `op` acts on no such layer or
/// resolves the conflict itself.
pub fn authority_check(op: &Operation, obs: &Observed) -> Option<Check> {
    if resolves_conflict(op) {
        return None;
    }
    let layer = authority_layer(op)?;
    Some(match authority_problem(op, obs) {
        Some(why) => Check::new(CHECK_NAME, false, why),
        None => {
            Check::new(CHECK_NAME, true, format!("the {} layer has a single authority", layer_name(layer)))
        }
    })
}

/// Lower-case layer name for messages and the log.
pub fn layer_name(layer: Layer) -> &'static str {
    match layer {
        Layer::Kube => "kubernetes",
        Layer::Database => "database",
        Layer::Sentinel => "sentinel",
        Layer::Traffic => "traffic",
    }
}

fn database_conflict(db: &DatabaseView) -> Option<String> {
    let primaries = db.writable_primaries();
    (primaries.len() > 1).then(|| {
        let names: Vec<&str> = primaries.iter().map(|n| n.name.as_str()).collect();
        format!("{} writable primaries ({})", names.len(), names.join(", "))
    })
}

fn sentinel_conflict(s: &SentinelView) -> Option<String> {
    let mut masters: Vec<&str> = s.sentinels.iter().filter_map(|x| x.master.as_deref()).collect();
    masters.sort_unstable();
    masters.dedup();
    (masters.len() > 1).then(|| {
        let parts: Vec<String> = s
            .sentinels
            .iter()
            .filter_map(|x| x.master.as_deref().map(|m| format!("{} says {m}", x.addr)))
            .collect();
        format!("Sentinels disagree on the master ({})", parts.join(", "))
    })
}

#[cfg(test)]
mod tests;
