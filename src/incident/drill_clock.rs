//! The one drill clock: a facilitator pauses and resumes a drill (`facilitator` entries with
//! `details.action` `pause` / `resume`), and every duration the console computes on a drill
//! (T+, checklist due times, the RTO, hint timers) excludes the paused intervals. Pure
//! arithmetic on timestamps, rebuilt from the entries by every console.

use chrono::{DateTime, Duration, Utc};

use super::entry::{Entry, EntryKind};

/// The paused intervals of a drill, oldest first; the last one may still be open.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DrillClock {
    /// `(paused at, resumed at)`; `None`: still paused.
    intervals: Vec<(DateTime<Utc>, Option<DateTime<Utc>>)>,
}

/// What a `facilitator` entry asks of the clock.
fn clock_action(e: &Entry) -> Option<&str> {
    if e.kind != EntryKind::Facilitator {
        return None;
    }
    e.details.get("action").and_then(|a| a.as_str()).filter(|a| matches!(*a, "pause" | "resume"))
}

impl DrillClock {
    /// The clock as the entries (in log order) leave it.
    pub fn from_entries(entries: &[Entry]) -> DrillClock {
        let mut c = DrillClock::default();
        for e in entries {
            c.apply(e);
        }
        c
    }

    /// Take one entry into account (others are ignored). A pause while paused and a resume
    /// while running change nothing.
    pub fn apply(&mut self, e: &Entry) {
        match clock_action(e) {
            Some("pause") => self.pause(e.ts),
            Some("resume") => self.resume(e.ts),
            _ => {}
        }
    }

    /// Pause at `at` (nothing if already paused).
    pub fn pause(&mut self, at: DateTime<Utc>) {
        if self.paused_since().is_none() {
            // Never before the end of the previous interval (clocks of two consoles differ).
            let at = self.intervals.last().and_then(|(_, e)| *e).map_or(at, |end| at.max(end));
            self.intervals.push((at, None));
        }
    }

    /// Resume at `at` (nothing if running).
    pub fn resume(&mut self, at: DateTime<Utc>) {
        if let Some((start, end @ None)) = self.intervals.last_mut() {
            *end = Some(at.max(*start));
        }
    }

    /// Since when the drill is paused, `None` while it runs.
    pub fn paused_since(&self) -> Option<DateTime<Utc>> {
        match self.intervals.last() {
            Some((start, None)) => Some(*start),
            _ => None,
        }
    }

    /// How long the drill was paused between `from` and `to` (an open pause counts up to `to`).
    pub fn paused_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
        let mut total = Duration::zero();
        for (start, end) in &self.intervals {
            let a = (*start).max(from);
            let b = end.unwrap_or(to).min(to);
            if b > a {
                total += b - a;
            }
        }
        total
    }

    /// Drill time elapsed from `from` to `to`: the wall time minus the pauses in between.
    pub fn elapsed(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
        (to - from) - self.paused_between(from, to)
    }

    /// `wall` as a drill instant: `wall` minus every pause before it. Constant while paused.
    pub fn drill_time(&self, wall: DateTime<Utc>) -> DateTime<Utc> {
        wall - self.paused_between(DateTime::<Utc>::MIN_UTC, wall)
    }

    /// What a clock reading ages against: `now`, or the instant the drill paused (nothing
    /// ages while it is paused; the estate's timestamps shift by each pause on resume).
    pub fn frozen(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        self.paused_since().map_or(now, |p| p.min(now))
    }

    /// Whether the drill was ever paused.
    pub fn is_empty(&self) -> bool {
        self.intervals.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap()
    }

    fn entry(ts: i64, kind: EntryKind, action: &str) -> Entry {
        Entry {
            seq: ts as u64,
            ts: t(ts),
            mono_ms: 0,
            operator: "trainer@lab".into(),
            kind,
            summary: action.into(),
            details: json!({ "action": action }),
            prev: String::new(),
        }
    }

    #[test]
    fn no_pause_is_wall_time() {
        let c = DrillClock::default();
        assert_eq!(c.elapsed(t(0), t(90)), Duration::seconds(90));
        assert_eq!(c.drill_time(t(90)), t(90));
        assert_eq!(c.frozen(t(90)), t(90));
        assert!(c.paused_since().is_none());
    }

    #[test]
    fn closed_pauses_are_subtracted_only_where_they_overlap() {
        let mut c = DrillClock::default();
        c.pause(t(10));
        c.resume(t(40));
        c.pause(t(100));
        c.resume(t(110));
        assert_eq!(c.elapsed(t(0), t(5)), Duration::seconds(5));
        assert_eq!(c.elapsed(t(0), t(20)), Duration::seconds(10), "inside the first pause");
        assert_eq!(c.elapsed(t(0), t(60)), Duration::seconds(30));
        assert_eq!(c.elapsed(t(0), t(200)), Duration::seconds(160));
        assert_eq!(c.elapsed(t(30), t(105)), Duration::seconds(60), "partial overlaps at both ends");
        assert_eq!(c.drill_time(t(200)), t(160));
        assert_eq!(c.frozen(t(200)), t(200));
    }

    #[test]
    fn an_unterminated_pause_freezes_every_clock() {
        let mut c = DrillClock::default();
        c.pause(t(10));
        c.resume(t(20));
        c.pause(t(50));
        assert_eq!(c.paused_since(), Some(t(50)));
        for now in [50, 51, 80, 500] {
            assert_eq!(c.elapsed(t(0), t(now)), Duration::seconds(40), "at {now}");
            assert_eq!(c.drill_time(t(now)), t(40));
            assert_eq!(c.frozen(t(now)), t(50));
        }
        c.resume(t(500));
        assert_eq!(c.elapsed(t(0), t(510)), Duration::seconds(50), "resume continues from 40 s");
    }

    #[test]
    fn nested_pauses_and_stray_resumes_change_nothing() {
        let mut c = DrillClock::default();
        c.resume(t(5));
        assert!(c.is_empty(), "a resume while running is ignored");
        c.pause(t(10));
        c.pause(t(15));
        c.resume(t(30));
        c.resume(t(35));
        assert_eq!(c.elapsed(t(0), t(60)), Duration::seconds(40));
    }

    #[test]
    fn out_of_order_timestamps_never_make_negative_or_overlapping_intervals() {
        let mut c = DrillClock::default();
        c.pause(t(20));
        c.resume(t(15));
        c.pause(t(18));
        c.resume(t(30));
        assert_eq!(c.elapsed(t(0), t(40)), Duration::seconds(30));
    }

    #[test]
    fn built_from_facilitator_entries_only() {
        let entries = vec![
            entry(10, EntryKind::Facilitator, "pause"),
            entry(12, EntryKind::Note, "resume"),
            entry(15, EntryKind::Facilitator, "hint"),
            entry(30, EntryKind::Facilitator, "resume"),
            entry(40, EntryKind::Facilitator, "pause"),
        ];
        let c = DrillClock::from_entries(&entries);
        assert_eq!(c.paused_since(), Some(t(40)));
        assert_eq!(c.elapsed(t(0), t(100)), Duration::seconds(20));
    }
}
