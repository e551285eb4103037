//! Checklist items ticked by what happens, not only by typing.
//!
//! - `begin-failover` when a runbook starts (`runbook-started`);
//! - `continue-failover` when a runbook step is verified (`step-verified`) in the short-term
//!   phase: before the item's due time (T+15m, moved by a drill's pauses). A step verified
//!   after that leaves the overdue item to the operator, so a missed deadline stays visible;
//! - `verify-stability` when the incident is MITIGATED (the `drill-result` or
//!   `recovery-result` entry), and open again when that mitigation is withdrawn
//!   (`mitigation-withdrawn`): the checklist never says "stable" while the console says it is not.
//!   An operator's own tick of that item stays: it was their judgement.
//!
//! Only the console that wrote the triggering entry ticks (the caller applies this to its own
//! durable entries, never to mirrored ones), so two consoles never both tick. The tick is a
//! `checklist` entry with `details {item, note, by: {seq, kind}}`; its note is [`by_note`].

use chrono::{DateTime, Utc};

use super::Checklist;
use crate::incident::entry::EntryKind;

/// Ticked when the first runbook starts.
pub const BEGIN_FAILOVER: &str = "begin-failover";
/// Ticked when a runbook step is verified before the item is due.
pub const CONTINUE_FAILOVER: &str = "continue-failover";
/// Ticked when the incident is MITIGATED.
pub const VERIFY_STABILITY: &str = "verify-stability";

/// The open item an entry of `kind` written at `at` ticks (incident T+0 `t0` as the checklist
/// counts it), if any.
pub fn ticked_by(
    checklist: &Checklist,
    t0: DateTime<Utc>,
    kind: &EntryKind,
    at: DateTime<Utc>,
) -> Option<&'static str> {
    let id = match kind {
        EntryKind::RunbookStarted => BEGIN_FAILOVER,
        EntryKind::StepVerified => CONTINUE_FAILOVER,
        EntryKind::DrillResult | EntryKind::RecoveryResult => VERIFY_STABILITY,
        _ => return None,
    };
    let item = checklist.item(id).filter(|i| i.done.is_none() && !i.is_recurring())?;
    if id == CONTINUE_FAILOVER && Checklist::due_at(item, t0).is_some_and(|due| at >= due) {
        return None;
    }
    Some(id)
}

/// The item an entry of `kind` reopens, if any: `verify-stability` when the mitigation that
/// ticked it automatically is withdrawn.
pub fn unticked_by(checklist: &Checklist, kind: &EntryKind) -> Option<&'static str> {
    if *kind != EntryKind::MitigationWithdrawn {
        return None;
    }
    let item = checklist.item(VERIFY_STABILITY)?;
    let note = item.done.as_ref()?.1.as_deref()?;
    let automatic = [EntryKind::DrillResult, EntryKind::RecoveryResult]
        .iter()
        .any(|k| note.starts_with(&format!("✓ by {} #", k.as_str())));
    automatic.then_some(VERIFY_STABILITY)
}

/// The note of an automatic tick: `✓ by runbook-started #12`.
pub fn by_note(kind: &EntryKind, seq: u64) -> String {
    format!("✓ by {} #{seq}", kind.as_str())
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;

    fn t(m: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 6, 3, 0, 0).unwrap() + Duration::minutes(m)
    }

    #[test]
    fn each_event_ticks_its_item_once_state_by_state() {
        let mut c = Checklist::communication();
        assert_eq!(ticked_by(&c, t(0), &EntryKind::RunbookStarted, t(2)), Some(BEGIN_FAILOVER));
        assert_eq!(ticked_by(&c, t(0), &EntryKind::StepVerified, t(7)), Some(CONTINUE_FAILOVER));
        assert_eq!(ticked_by(&c, t(0), &EntryKind::DrillResult, t(9)), Some(VERIFY_STABILITY));
        assert_eq!(ticked_by(&c, t(0), &EntryKind::RecoveryResult, t(9)), Some(VERIFY_STABILITY));
        for other in [EntryKind::Note, EntryKind::StepConfirmed, EntryKind::StepFailed, EntryKind::Verdict] {
            assert_eq!(ticked_by(&c, t(0), &other, t(3)), None, "{other:?}");
        }
        // Done: never ticked again (a second runbook, a second verified step).
        c.tick(BEGIN_FAILOVER, t(2), Some(by_note(&EntryKind::RunbookStarted, 12))).unwrap();
        assert_eq!(ticked_by(&c, t(0), &EntryKind::RunbookStarted, t(4)), None);
        c.tick(CONTINUE_FAILOVER, t(7), None).unwrap();
        assert_eq!(ticked_by(&c, t(0), &EntryKind::StepVerified, t(8)), None);
        assert_eq!(by_note(&EntryKind::RunbookStarted, 12), "✓ by runbook-started #12");
    }

    #[test]
    fn a_step_verified_after_the_short_term_phase_leaves_continue_failover_to_the_operator() {
        let c = Checklist::communication();
        let due = Checklist::due_at(c.item(CONTINUE_FAILOVER).unwrap(), t(0)).unwrap();
        assert_eq!(due, t(15));
        assert_eq!(
            ticked_by(&c, t(0), &EntryKind::StepVerified, t(15) - Duration::seconds(1)),
            Some(CONTINUE_FAILOVER)
        );
        assert_eq!(ticked_by(&c, t(0), &EntryKind::StepVerified, t(15)), None);
        // A drill paused for 10 minutes moved T+0 (and the due time) with it.
        assert_eq!(ticked_by(&c, t(10), &EntryKind::StepVerified, t(20)), Some(CONTINUE_FAILOVER));
    }

    #[test]
    fn a_withdrawn_mitigation_reopens_only_an_automatic_stability_tick() {
        let mut c = Checklist::communication();
        // Not ticked: nothing to reopen.
        assert_eq!(unticked_by(&c, &EntryKind::MitigationWithdrawn), None);
        // Ticked by the drill result: reopened; by other entries, never.
        c.tick(VERIFY_STABILITY, t(9), Some(by_note(&EntryKind::DrillResult, 50))).unwrap();
        assert_eq!(unticked_by(&c, &EntryKind::MitigationWithdrawn), Some(VERIFY_STABILITY));
        for other in [EntryKind::Note, EntryKind::Verdict, EntryKind::DrillResult, EntryKind::StepFailed] {
            assert_eq!(unticked_by(&c, &other), None, "{other:?}");
        }
        c.untick(VERIFY_STABILITY).unwrap();
        c.tick(VERIFY_STABILITY, t(9), Some(by_note(&EntryKind::RecoveryResult, 51))).unwrap();
        assert_eq!(unticked_by(&c, &EntryKind::MitigationWithdrawn), Some(VERIFY_STABILITY));
        // The operator's own tick (with or without a note) is their judgement: it stays.
        c.untick(VERIFY_STABILITY).unwrap();
        c.tick(VERIFY_STABILITY, t(9), Some("checked dashboards".into())).unwrap();
        assert_eq!(unticked_by(&c, &EntryKind::MitigationWithdrawn), None);
        c.untick(VERIFY_STABILITY).unwrap();
        c.tick(VERIFY_STABILITY, t(9), None).unwrap();
        assert_eq!(unticked_by(&c, &EntryKind::MitigationWithdrawn), None);
    }

    #[test]
    fn a_checklist_without_the_items_ticks_nothing() {
        let c = Checklist::default();
        assert_eq!(ticked_by(&c, t(0), &EntryKind::RunbookStarted, t(1)), None);
    }
}
