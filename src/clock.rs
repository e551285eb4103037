//! A monotonic-anchored clock: `now = wall clock read once at start + Instant elapsed since`.
//!
//! The console's timers (checklist due times, verify deadlines, the incident clock, snapshot
//! ages) compare `now` values. Reading the wall clock each time would let an NTP step or an
//! operator's `date -s` (+/- minutes) fire a checklist item early or expire a verify deadline;
//! anchoring to `Instant` (CLOCK_MONOTONIC) keeps intervals true. The wall clock is still
//! written into every incident-log entry next to its monotonic offset.

use std::sync::OnceLock;
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};

/// Where the wall clock is read from (the system clock, or a test's fake).
pub type WallSource = Box<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// Wall time at an anchor plus monotonic time elapsed since.
pub struct MonotonicClock {
    anchor_wall: DateTime<Utc>,
    anchor: Instant,
    wall: WallSource,
}

impl std::fmt::Debug for MonotonicClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MonotonicClock").field("anchor_wall", &self.anchor_wall).finish_non_exhaustive()
    }
}

impl MonotonicClock {
    /// Anchored now on the system wall clock.
    pub fn system() -> MonotonicClock {
        MonotonicClock::with_wall(Box::new(Utc::now))
    }

    /// Anchored now on `wall` (read once here; later only for [`MonotonicClock::skew`]).
    pub fn with_wall(wall: WallSource) -> MonotonicClock {
        MonotonicClock { anchor_wall: wall(), anchor: Instant::now(), wall }
    }

    /// The current time: the anchor's wall time plus monotonic time elapsed.
    pub fn now(&self) -> DateTime<Utc> {
        self.at(Instant::now())
    }

    /// The time at monotonic instant `t` (instants before the anchor map to the anchor).
    pub fn at(&self, t: Instant) -> DateTime<Utc> {
        let elapsed = t.saturating_duration_since(self.anchor);
        self.anchor_wall + Duration::from_std(elapsed).unwrap_or(Duration::MAX)
    }

    /// How far the wall clock has moved away from this clock (positive: stepped forward).
    pub fn skew(&self) -> Duration {
        (self.wall)() - self.now()
    }
}

/// The process-wide clock, anchored on first use. Used by the event loop and the pollers so
/// snapshot times and `now` come from the same timeline.
pub fn global() -> &'static MonotonicClock {
    static CLOCK: OnceLock<MonotonicClock> = OnceLock::new();
    CLOCK.get_or_init(MonotonicClock::system)
}

/// `global().now()`.
pub fn now() -> DateTime<Utc> {
    global().now()
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use chrono::TimeZone;

    use super::*;

    fn fake_wall() -> (Arc<Mutex<DateTime<Utc>>>, MonotonicClock) {
        let wall = Arc::new(Mutex::new(Utc.with_ymd_and_hms(2026, 11, 26, 3, 0, 0).unwrap()));
        let w = wall.clone();
        (wall, MonotonicClock::with_wall(Box::new(move || *w.lock().unwrap())))
    }

    #[test]
    fn wall_steps_do_not_move_now_and_show_as_skew() {
        let (wall, clock) = fake_wall();
        let start = Utc.with_ymd_and_hms(2026, 11, 26, 3, 0, 0).unwrap();
        let t0 = Instant::now();
        for step in [5i64, -5, -10, 15] {
            *wall.lock().unwrap() += Duration::minutes(step);
            let now = clock.now();
            assert!(now >= start && now - start < Duration::seconds(5), "{now} moved with the wall clock");
        }
        // Net +5 min on the wall: skew shows it (minus the few ms the test took).
        let skew = clock.skew();
        assert!(skew > Duration::minutes(5) - Duration::seconds(5) && skew <= Duration::minutes(5), "{skew}");
        // Monotonic time passing is what moves `now`.
        let later = clock.at(t0 + std::time::Duration::from_secs(90));
        assert!(later - start >= Duration::seconds(90) && later - start < Duration::seconds(95), "{later}");
    }

    #[test]
    fn instants_before_the_anchor_map_to_the_anchor() {
        let (_, clock) = fake_wall();
        let before = Instant::now().checked_sub(std::time::Duration::from_secs(10));
        if let Some(before) = before {
            assert_eq!(clock.at(before), Utc.with_ymd_and_hms(2026, 11, 26, 3, 0, 0).unwrap());
        }
    }
}
