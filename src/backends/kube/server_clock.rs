//! This host's wall clock against the API server's: the `Date` header of a cheap request
//! (`GET /version`), compared with the midpoint of the request's send and receive times.
//! `Date` has a resolution of one second, so the skew is known to within
//! `|skew| + 1 s + RTT/2` ([`ClockSkew::bound`]).

use chrono::{DateTime, Duration, Utc};

/// One measurement of the skew between our clock and the API server's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockSkew {
    /// Server clock minus ours (positive: the server is ahead), at the request's midpoint.
    pub skew: Duration,
    /// Round trip of the request.
    pub rtt: Duration,
}

impl ClockSkew {
    /// How far apart the two clocks may be: `|skew| + 1 s` (the header's resolution) `+ RTT/2`.
    pub fn bound(&self) -> Duration {
        self.skew.abs() + Duration::seconds(1) + self.rtt / 2
    }

    /// From a `Date` header value and our clock when the request left and its answer came.
    pub fn from_date(date: &str, sent: DateTime<Utc>, received: DateTime<Utc>) -> Result<ClockSkew, String> {
        let server = DateTime::parse_from_rfc2822(date.trim())
            .map_err(|e| format!("the API server's Date header {date:?} is not an HTTP date: {e}"))?
            .with_timezone(&Utc);
        let rtt = (received - sent).max(Duration::zero());
        let midpoint = sent + rtt / 2;
        Ok(ClockSkew { skew: server - midpoint, rtt })
    }
}

/// Measures the skew through `client` with `GET /version` (readable by every authenticated
/// user); `now` is our clock (the system clock, or a test's skewed one).
pub async fn measure(client: &kube::Client, now: impl Fn() -> DateTime<Utc>) -> Result<ClockSkew, String> {
    let request = http::Request::get("/version")
        .body(kube::client::Body::empty())
        .map_err(|e| format!("clock skew: {e}"))?;
    let sent = now();
    let response = client.send(request).await.map_err(|e| format!("clock skew: GET /version: {e}"))?;
    let received = now();
    let date = response
        .headers()
        .get(http::header::DATE)
        .and_then(|v| v.to_str().ok())
        .ok_or("clock skew: the API server's answer carries no Date header")?;
    ClockSkew::from_date(date, sent, received)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn the_skew_is_taken_at_the_midpoint_and_bounded_by_resolution_and_rtt() {
        let sent = Utc.with_ymd_and_hms(2026, 12, 6, 12, 0, 0).unwrap();
        let received = sent + Duration::milliseconds(400);
        // The server says 12:00:03 while our midpoint is 12:00:00.2: it is 2.8 s ahead.
        let s = ClockSkew::from_date("Sun, 06 Dec 2026 12:00:03 GMT", sent, received).unwrap();
        assert_eq!(s.skew, Duration::milliseconds(2800));
        assert_eq!(s.rtt, Duration::milliseconds(400));
        assert_eq!(s.bound(), Duration::milliseconds(2800 + 1000 + 200));
        // Behind: the bound is symmetric.
        let s = ClockSkew::from_date("Sun, 06 Dec 2026 11:59:58 GMT", sent, received).unwrap();
        assert_eq!(s.skew, Duration::milliseconds(-2200));
        assert_eq!(s.bound(), Duration::milliseconds(2200 + 1000 + 200));
        // Our clock stepped back during the request: no negative round trip.
        let s =
            ClockSkew::from_date("Sun, 06 Dec 2026 12:00:00 GMT", sent, sent - Duration::seconds(1)).unwrap();
        assert_eq!(s.rtt, Duration::zero());
    }

    #[test]
    fn a_bad_date_header_is_a_clear_error() {
        let t = Utc::now();
        let e = ClockSkew::from_date("yesterday", t, t).unwrap_err();
        assert!(e.contains("not an HTTP date"), "{e}");
    }
}
