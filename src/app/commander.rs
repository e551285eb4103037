//! The commander lock in the pure core: what the console shows and refuses, the `take-command`
//! and `release-command` commands, and the `commander` log entries (took, released, taken over
//! from X, lost, expired). The lock itself lives in [`crate::incident::commander`].

use serde_json::json;

use super::effect::Effect;
use super::pipeline::{flash, log};
use super::state::{Domain, Modal, State};
use crate::incident::commander::{CommanderView, LockRequest, skew};
use crate::incident::entry::EntryKind;

impl Domain {
    /// Whether this console holds the commander lock now. A console without a lock (tests,
    /// tools) counts as holding it: see [`refusal`].
    pub fn held_by_me(&self) -> bool {
        self.commander.held_by_me(self.now)
    }
}

/// Why this console may not execute a step now (`None`: it may). A console without a commander
/// lock ([`CommanderView::Unknown`]) is not restricted by it.
pub fn refusal(state: &State) -> Option<String> {
    let now = state.domain.now;
    match &state.domain.commander {
        CommanderView::Unknown => None,
        CommanderView::Mine { holder, .. } if !holder.expired(now) => None,
        CommanderView::Mine { .. } => {
            Some("your commander lock expired without a renewal: press T to take it again".into())
        }
        CommanderView::Pending => Some("the commander lock is not known yet: try again in a second".into()),
        CommanderView::Free { .. } => {
            Some("nobody holds the commander lock: press T to take it (logged)".into())
        }
        CommanderView::Theirs { holder } => {
            Some(format!("{} holds the commander lock: press T to take over (logged)", holder.identity))
        }
        CommanderView::Lost { reason } => {
            Some(format!("commander lock lost ({reason}): press T to take it again"))
        }
        CommanderView::Unavailable { error } => {
            Some(format!("the commander lock is unavailable, steps cannot run: {error}"))
        }
    }
}

/// A new view of the lock arrived: keep it, log what changed for this console.
pub fn observe(state: &mut State, view: CommanderView, fx: &mut Vec<Effect>) {
    let prev = std::mem::replace(&mut state.domain.commander, view.clone());
    let was_mine = matches!(prev, CommanderView::Mine { .. });
    match view {
        CommanderView::Mine { holder, took_over_from, warning } => {
            if !was_mine {
                let expires_at = holder.expires_at;
                let (summary, details) = match took_over_from {
                    Some(from) => (
                        format!("commander lock taken over from {from}"),
                        json!({ "event": "taken-over", "from": from, "holder": holder.identity, "expires_at": expires_at }),
                    ),
                    None => (
                        "took the commander lock".to_string(),
                        json!({ "event": "took", "holder": holder.identity, "expires_at": expires_at }),
                    ),
                };
                flash(state, summary.clone());
                log(state, fx, EntryKind::Commander, summary, details);
            }
            let prev_warning = match &prev {
                CommanderView::Mine { warning, .. } => warning.clone(),
                _ => None,
            };
            if let Some(w) = warning
                && prev_warning.as_ref() != Some(&w)
            {
                flash(state, format!("commander lock: {w}"));
            }
        }
        CommanderView::Free { note: Some(note) } if was_mine => {
            flash(state, "commander lock released");
            log(
                state,
                fx,
                EntryKind::Commander,
                "released the commander lock".into(),
                json!({ "event": note }),
            );
        }
        CommanderView::Lost { reason } if was_mine => lost(state, fx, &reason),
        other if was_mine => {
            let reason = match other {
                CommanderView::Theirs { holder } => format!("{TAKEN_OVER_BY}{}", holder.identity),
                CommanderView::Unavailable { error } => format!("unavailable: {error}"),
                _ => "released elsewhere".to_string(),
            };
            lost(state, fx, &reason);
        }
        CommanderView::Theirs { holder } if skew::waiting(&holder) => {
            let before = match &prev {
                CommanderView::Theirs { holder } => holder.clock.clone(),
                _ => None,
            };
            let reason = holder.clock.clone().unwrap_or_default();
            if before.as_ref() != Some(&reason) {
                flash(state, format!("commander lock: {reason}"));
                let details =
                    json!({ "event": "waiting-for-clock", "holder": holder.identity, "reason": reason });
                log(state, fx, EntryKind::Commander, format!("commander lock not taken: {reason}"), details);
            }
        }
        _ => {}
    }
    if matches!(state.domain.commander, CommanderView::Mine { .. }) {
        state.domain.command_taken = None;
    }
    // A takeover confirmation is moot once the lock is ours or free.
    if matches!(state.view.modal, Some(Modal::TakeCommand { .. }))
        && !matches!(state.domain.commander, CommanderView::Theirs { .. })
    {
        state.view.modal = None;
    }
}

/// What the lock task and [`observe`] say when another console took the lock over.
const TAKEN_OVER_BY: &str = "taken over by ";

fn lost(state: &mut State, fx: &mut Vec<Effect>, reason: &str) {
    if let Some(by) = reason.strip_prefix(TAKEN_OVER_BY) {
        // The header keeps saying so (with a bell now) until this console takes command again.
        state.domain.command_taken = Some((by.to_string(), state.domain.now));
    }
    let event = if reason.starts_with("expired") { "expired" } else { "lost" };
    let summary = format!("commander lock lost: {reason}");
    flash(state, summary.to_uppercase());
    fx.push(Effect::Bell);
    log(state, fx, EntryKind::Commander, summary, json!({ "event": event, "reason": reason }));
}

/// `take-command`: take a free lock at once; a live holder's lock only after a y/n confirmation.
pub fn take(state: &mut State, fx: &mut Vec<Effect>) {
    if state.domain.read_only {
        flash(state, "READ-ONLY console: it cannot take the commander lock");
        return;
    }
    match &state.domain.commander {
        CommanderView::Unknown => flash(state, "this console has no commander lock"),
        CommanderView::Mine { holder, .. } if !holder.expired(state.domain.now) => {
            flash(state, "you already hold the commander lock");
        }
        CommanderView::Theirs { holder } if !holder.expired(state.domain.now) => {
            state.view.modal = Some(Modal::TakeCommand { holder: holder.identity.clone() });
        }
        // Just taken over from us (the lock task reports the new holder on its next poll): the
        // holder is live, so only a confirmed takeover can succeed.
        CommanderView::Lost { reason } if reason.starts_with(TAKEN_OVER_BY) => {
            let holder = reason[TAKEN_OVER_BY.len()..].to_string();
            state.view.modal = Some(Modal::TakeCommand { holder });
        }
        _ => {
            flash(state, "taking the commander lock...");
            fx.push(Effect::Commander(LockRequest::Take { force: false }));
        }
    }
}

/// `y` in the takeover dialog: take the lock over from its live holder.
pub fn confirm_takeover(state: &mut State, fx: &mut Vec<Effect>) {
    if let Some(Modal::TakeCommand { holder }) = state.view.modal.take() {
        if state.domain.read_only {
            return;
        }
        flash(state, format!("taking the commander lock over from {holder}..."));
        fx.push(Effect::Commander(LockRequest::Take { force: true }));
    }
}

/// `release-command`: give the lock up (not while a step of ours is in flight).
pub fn release(state: &mut State, fx: &mut Vec<Effect>) {
    if !matches!(state.domain.commander, CommanderView::Mine { .. }) {
        flash(state, "you do not hold the commander lock");
    } else if state.domain.steps.iter().any(|s| s.status.is_active()) {
        flash(state, "a step is in flight: release the commander lock after it finishes");
    } else {
        fx.push(Effect::Commander(LockRequest::Release));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::{Duration, TimeZone, Utc};

    use super::*;
    use crate::app::state::IncidentInfo;
    use crate::app::{Action, Mode, update};
    use crate::incident::commander::Holder;

    fn state() -> State {
        let t0 = Utc.with_ymd_and_hms(2026, 11, 26, 12, 0, 0).unwrap();
        let incident = IncidentInfo {
            id: "INC-1".into(),
            title: "t".into(),
            severity: "SEV1".into(),
            declared_at: t0,
            drill: false,
        };
        State::new(Mode::Live, incident, "alice@ops1".into(), Arc::new(Default::default()), t0)
    }

    fn holder(s: &State, who: &str) -> Holder {
        Holder::new(who, s.domain.now, s.domain.now, std::time::Duration::from_secs(30))
    }

    fn logs(fx: &[Effect]) -> Vec<(String, serde_json::Value)> {
        fx.iter()
            .filter_map(|e| match e {
                Effect::Log(l) => Some((l.summary.clone(), l.details.clone())),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_takeover_waiting_out_the_clock_skew_is_shown_and_logged_once() {
        let mut s = state();
        let mut bob = holder(&s, "bob");
        bob.clock = Some("holder's lease expires 12:00:30; clocks may differ by up to 2.4 s: waiting".into());
        let mut fx = Vec::new();
        observe(&mut s, CommanderView::Theirs { holder: bob.clone() }, &mut fx);
        let logged = logs(&fx);
        assert_eq!(logged.len(), 1, "{logged:?}");
        assert_eq!(
            logged[0].0,
            "commander lock not taken: holder's lease expires 12:00:30; clocks may differ by up to 2.4 s: waiting"
        );
        assert_eq!(logged[0].1["event"], "waiting-for-clock");
        // The same view again (the next poll) logs nothing more; a plain live holder neither.
        let mut fx = Vec::new();
        observe(&mut s, CommanderView::Theirs { holder: bob.clone() }, &mut fx);
        bob.clock = None;
        observe(&mut s, CommanderView::Theirs { holder: bob }, &mut fx);
        assert!(logs(&fx).is_empty(), "{:?}", logs(&fx));
    }

    #[test]
    fn refusals_by_state() {
        let mut s = state();
        assert_eq!(refusal(&s), None, "no lock wired: not restricted");
        s.domain.commander = CommanderView::Pending;
        assert!(refusal(&s).unwrap().contains("not known yet"));
        s.domain.commander = CommanderView::Free { note: None };
        assert!(refusal(&s).unwrap().contains("press T to take it"));
        s.domain.commander =
            CommanderView::Mine { holder: holder(&s, "me"), took_over_from: None, warning: None };
        assert_eq!(refusal(&s), None);
        s.domain.now += Duration::seconds(31);
        assert!(refusal(&s).unwrap().contains("expired"), "an unrenewed claim does not count");
        s.domain.commander = CommanderView::Unavailable { error: "connection refused".into() };
        assert!(refusal(&s).unwrap().contains("connection refused"));
    }

    #[test]
    fn took_renewals_and_expiry_are_logged_once() {
        let mut s = state();
        let t = s.domain.now;
        let h = holder(&s, "alice@ops1 pid 1");
        let bob = holder(&s, "bob");
        let mine = CommanderView::Mine { holder: h.clone(), took_over_from: None, warning: None };
        let fx = update(&mut s, Action::Commander(mine.clone()), t);
        assert_eq!(logs(&fx)[0].0, "took the commander lock");
        // A renewal (same state, new expiry) logs nothing.
        let mut renewed = h.clone();
        renewed.expires_at += Duration::seconds(10);
        let fx = update(
            &mut s,
            Action::Commander(CommanderView::Mine { holder: renewed, took_over_from: None, warning: None }),
            t,
        );
        assert!(logs(&fx).is_empty(), "{fx:?}");
        let fx = update(
            &mut s,
            Action::Commander(CommanderView::Lost { reason: "expired at 12:00:40 without a renewal".into() }),
            t,
        );
        let l = logs(&fx);
        assert_eq!(l.len(), 1, "{l:?}");
        assert_eq!(l[0].1["event"], "expired");
        assert!(fx.contains(&Effect::Bell));
        // Then someone else shows up: not our entry to write.
        let fx = update(&mut s, Action::Commander(CommanderView::Theirs { holder: bob }), t);
        assert!(logs(&fx).is_empty());
    }

    #[test]
    fn taking_command_back_right_after_a_takeover_asks_to_take_it_over() {
        let mut s = state();
        s.domain.commander = CommanderView::Lost { reason: format!("{TAKEN_OVER_BY}bob pid 7") };
        let mut fx = Vec::new();
        take(&mut s, &mut fx);
        assert_eq!(s.view.modal, Some(Modal::TakeCommand { holder: "bob pid 7".into() }));
        assert!(fx.is_empty(), "no unforced take that the live holder would refuse silently: {fx:?}");
    }

    #[test]
    fn takeover_dialog_closes_when_the_holder_is_gone() {
        let mut s = state();
        s.domain.commander = CommanderView::Theirs { holder: holder(&s, "bob") };
        take(&mut s, &mut Vec::new());
        assert_eq!(s.view.modal, Some(Modal::TakeCommand { holder: "bob".into() }));
        let t = s.domain.now;
        update(&mut s, Action::Commander(CommanderView::Free { note: None }), t);
        assert_eq!(s.view.modal, None);
    }
}
