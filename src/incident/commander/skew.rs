//! Lease decisions across hosts whose clocks differ. A Lease's times are written with the
//! holder's clock and read with ours; [`ClockBound`] is how far ours may be from the API
//! server's (measured, see [`crate::backends::kube::server_clock`]). A holder's lease is taken
//! over only once it has expired by more than that bound; until then it is reported as theirs,
//! with the reason in [`Holder::clock`].

use chrono::{DateTime, Duration, Utc};

use super::{Holder, LockState};

/// What this console knows of its clock against the API server's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClockBound {
    /// Server minus ours, when measured.
    pub skew: Option<Duration>,
    /// How far apart the clocks may be (the measured bound, or a default when unmeasured).
    pub bound: Duration,
    /// Why it is not measured (the error), for the note.
    pub unmeasured: Option<String>,
}

/// The margin used when the skew could not be measured.
pub const UNMEASURED_BOUND_SECS: i64 = 5;

impl ClockBound {
    /// A measured bound.
    pub fn measured(skew: Duration, bound: Duration) -> ClockBound {
        ClockBound { skew: Some(skew), bound, unmeasured: None }
    }

    /// No measurement (`why`): waits [`UNMEASURED_BOUND_SECS`] past an expiry.
    pub fn unknown(why: &str) -> ClockBound {
        ClockBound {
            skew: None,
            bound: Duration::seconds(UNMEASURED_BOUND_SECS),
            unmeasured: Some(why.to_string()),
        }
    }

    /// The skew worth showing in the commander area: more than 1 s, or not measured.
    pub fn note(&self) -> Option<String> {
        match (self.skew, &self.unmeasured) {
            (Some(s), _) if s.abs() > Duration::seconds(1) => Some(format!(
                "this host's clock is {} s {} the API server's",
                secs(s.abs()),
                if s > Duration::zero() { "behind" } else { "ahead of" }
            )),
            (None, Some(why)) => Some(format!("clock skew not measured ({why})")),
            _ => None,
        }
    }
}

fn secs(d: Duration) -> String {
    format!("{:.1}", d.num_milliseconds() as f64 / 1000.0)
}

/// [`LockState::classify`] with clocks that may differ: a holder whose expiry is within the
/// bound of `now` is still theirs (with the reason to wait), and every holder carries the skew
/// note when there is one.
pub fn classify(holder: Option<Holder>, me: &str, now: DateTime<Utc>, clock: &ClockBound) -> LockState {
    let note = clock.note();
    let with = |mut h: Holder, extra: Option<String>| {
        h.clock = extra.or_else(|| note.clone());
        h
    };
    match LockState::classify(holder.clone(), me, now) {
        LockState::Mine(h) => LockState::Mine(with(h, None)),
        LockState::Theirs(h) => {
            let ahead = h.renewed_at - now;
            let extra = (ahead > clock.bound).then(|| {
                format!(
                    "the holder's clock runs at least {} s ahead of this host's: its lease ends later than it says",
                    secs(ahead - clock.bound)
                )
            });
            LockState::Theirs(with(h, extra))
        }
        LockState::Free => match holder {
            Some(h) if !h.identity.is_empty() && h.expired(now) && now < h.expires_at + clock.bound => {
                let why = format!(
                    "holder's lease expires {}; clocks may differ by up to {} s: waiting",
                    h.expires_at.format("%H:%M:%S"),
                    secs(clock.bound)
                );
                LockState::Theirs(with(h, Some(why)))
            }
            _ => LockState::Free,
        },
    }
}

/// Whether a holder as classified is only waiting out the clock bound (its lease has expired
/// by our clock, not by more than the bound).
pub fn waiting(h: &Holder) -> bool {
    h.clock.as_deref().is_some_and(|c| c.ends_with(": waiting"))
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 6, 12, 0, 0).unwrap()
    }

    fn holder(who: &str, expires_in_ms: i64) -> Holder {
        let expires_at = t0() + Duration::milliseconds(expires_in_ms);
        Holder {
            identity: who.into(),
            acquired_at: expires_at - Duration::seconds(30),
            renewed_at: expires_at - Duration::seconds(30),
            expires_at,
            clock: None,
        }
    }

    fn bound(ms: i64) -> ClockBound {
        ClockBound::measured(Duration::milliseconds(ms - 1000), Duration::milliseconds(ms))
    }

    #[test]
    fn a_lease_within_the_bound_of_its_expiry_is_not_taken() {
        let b = bound(2400);
        // Live by our clock: theirs, no waiting note (the skew note: 1.4 s behind).
        let LockState::Theirs(h) = classify(Some(holder("bob", 500)), "me", t0(), &b) else { panic!() };
        assert!(!waiting(&h));
        assert_eq!(h.clock.as_deref(), Some("this host's clock is 1.4 s behind the API server's"));
        // Expired 1 ms, 2399 ms ago: still theirs, with the reason.
        for ago in [1, 1200, 2399] {
            match classify(Some(holder("bob", -ago)), "me", t0(), &b) {
                LockState::Theirs(h) => {
                    assert!(waiting(&h), "{ago}");
                    assert_eq!(
                        h.clock.as_deref(),
                        Some(format!(
                            "holder's lease expires {}; clocks may differ by up to 2.4 s: waiting",
                            h.expires_at.format("%H:%M:%S")
                        ))
                        .as_deref()
                    );
                }
                other => panic!("{ago} ms after the expiry: {other:?}"),
            }
        }
        // From the bound on: free.
        assert_eq!(classify(Some(holder("bob", -2400)), "me", t0(), &b), LockState::Free);
        assert_eq!(classify(Some(holder("bob", -60_000)), "me", t0(), &b), LockState::Free);
    }

    #[test]
    fn our_own_lease_no_holder_and_an_empty_identity_are_not_affected() {
        let b = bound(2000);
        assert!(matches!(classify(Some(holder("me", -500)), "me", t0(), &b), LockState::Mine(_)));
        assert_eq!(classify(None, "me", t0(), &b), LockState::Free);
        assert_eq!(classify(Some(holder("", -500)), "me", t0(), &b), LockState::Free);
    }

    #[test]
    fn an_unmeasured_clock_waits_the_default_margin_and_says_why() {
        let b = ClockBound::unknown("GET /version: connection refused");
        let ms = UNMEASURED_BOUND_SECS * 1000;
        let LockState::Theirs(h) = classify(Some(holder("bob", -(ms - 1))), "me", t0(), &b) else { panic!() };
        assert!(h.clock.unwrap().contains("clocks may differ by up to 5.0 s: waiting"));
        assert_eq!(classify(Some(holder("bob", -ms)), "me", t0(), &b), LockState::Free);
        assert_eq!(b.note().as_deref(), Some("clock skew not measured (GET /version: connection refused)"));
    }

    #[test]
    fn a_small_skew_is_not_shown_and_a_holder_ahead_is_named() {
        assert_eq!(bound(1900).note(), None, "0.9 s: not shown");
        assert_eq!(
            ClockBound::measured(Duration::milliseconds(-1500), Duration::milliseconds(2600))
                .note()
                .as_deref(),
            Some("this host's clock is 1.5 s ahead of the API server's")
        );
        // A holder whose renewTime is 10 s in our future wrote it with a clock running ahead.
        let mut h = holder("bob", 40_000);
        h.renewed_at = t0() + Duration::seconds(10);
        let LockState::Theirs(h) = classify(Some(h), "me", t0(), &bound(1500)) else { panic!() };
        assert!(h.clock.unwrap().starts_with("the holder's clock runs at least 8.5 s ahead"));
    }
}
