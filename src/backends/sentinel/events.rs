//! Sentinel pub/sub: one background task per Sentinel subscribes to the failover channels,
//! reconnects with backoff, keeps the last [`EVENT_CAPACITY`] events in a shared ring and
//! wakes the poller through a [`Notify`].

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use tokio::sync::Notify;
use tokio::task::AbortHandle;

use super::conn::{Addr, client};
use crate::backends::model::SentinelEvent;

/// How many events the ring keeps.
pub const EVENT_CAPACITY: usize = 50;

/// Channel patterns subscribed to (exact names match themselves).
pub const CHANNELS: &[&str] = &[
    "+sdown",
    "-sdown",
    "+odown",
    "-odown",
    "+try-failover",
    "+elected-leader",
    "+selected-slave",
    "+promoted-slave",
    "+failover-end",
    "+failover-end-for-timeout",
    "+switch-master",
    "+tilt",
    "-tilt",
    "-failover-abort-*",
];

/// Events that mean a failover has started or is advancing.
const STARTS: &[&str] = &["+try-failover", "+elected-leader", "+selected-slave", "+promoted-slave"];

/// Events that mean a failover is over.
fn is_end(kind: &str) -> bool {
    matches!(kind, "+failover-end" | "+failover-end-for-timeout" | "+switch-master")
        || kind.starts_with("-failover-abort")
}

const MIN_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// A silent subscription is pinged this often, so a vanished Sentinel is noticed.
const KEEPALIVE: Duration = Duration::from_secs(5);

/// The bounded, shared list of recent events (oldest first).
#[derive(Debug, Clone, Default)]
pub(crate) struct EventRing {
    inner: Arc<Mutex<VecDeque<SentinelEvent>>>,
}

impl EventRing {
    /// Append, dropping the oldest beyond [`EVENT_CAPACITY`].
    pub fn push(&self, e: SentinelEvent) {
        if let Ok(mut q) = self.inner.lock() {
            if q.len() == EVENT_CAPACITY {
                q.pop_front();
            }
            q.push_back(e);
        }
    }

    /// A copy, oldest first.
    pub fn snapshot(&self) -> Vec<SentinelEvent> {
        self.inner.lock().map(|q| q.iter().cloned().collect()).unwrap_or_default()
    }
}

/// Whether the events say a failover is running: the newest start/end event is a start that is
/// younger than `window` (Sentinel's failover-timeout).
pub(crate) fn failover_running(
    events: &[SentinelEvent],
    now: DateTime<Utc>,
    window: chrono::Duration,
) -> bool {
    for e in events.iter().rev() {
        if is_end(&e.kind) {
            return false;
        }
        if STARTS.contains(&e.kind.as_str()) {
            return now - e.at < window;
        }
    }
    false
}

/// Turn a message into an event if it concerns `master` (tilt events concern every master).
pub(crate) fn to_event(
    sentinel: &str,
    master: &str,
    channel: &str,
    payload: &str,
    at: DateTime<Utc>,
) -> Option<SentinelEvent> {
    let global = channel == "+tilt" || channel == "-tilt";
    let concerns = payload.split_whitespace().any(|t| t == master);
    (global || concerns).then(|| SentinelEvent {
        at,
        sentinel: sentinel.to_string(),
        kind: channel.to_string(),
        detail: payload.to_string(),
    })
}

/// Everything a subscriber task needs.
pub(crate) struct Subscriber {
    /// Sentinel address.
    pub addr: Addr,
    /// Password, if any.
    pub password: Option<String>,
    /// Monitored master name.
    pub master: String,
    /// Where events go.
    pub ring: EventRing,
    /// Woken on every event.
    pub notify: Arc<Notify>,
    /// Connect/keepalive deadline.
    pub timeout: Duration,
}

impl Subscriber {
    /// Run forever on the current runtime; abort through the returned handle.
    pub fn spawn(self) -> AbortHandle {
        tokio::spawn(self.run()).abort_handle()
    }

    async fn run(self) {
        let mut backoff = MIN_BACKOFF;
        loop {
            if self.session(&mut backoff).await.is_err() {
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
            tokio::time::sleep(backoff).await;
        }
    }

    /// One subscription, until the Sentinel goes away. Resets `backoff` once subscribed.
    async fn session(&self, backoff: &mut Duration) -> Result<(), String> {
        let label = self.addr.text();
        let c = client(&self.addr, self.password.as_deref())?;
        let pubsub = tokio::time::timeout(self.timeout, c.get_async_pubsub())
            .await
            .map_err(|_| "connect timeout".to_string())?
            .map_err(|e| e.to_string())?;
        let (mut sink, mut stream) = pubsub.split();
        tokio::time::timeout(self.timeout, sink.psubscribe(CHANNELS))
            .await
            .map_err(|_| "subscribe timeout".to_string())?
            .map_err(|e| e.to_string())?;
        *backoff = MIN_BACKOFF;
        tracing::debug!("subscribed to Sentinel events on {label}");
        loop {
            tokio::select! {
                msg = stream.next() => {
                    let Some(msg) = msg else { return Err(format!("{label}: subscription closed")) };
                    let payload: String = msg.get_payload().unwrap_or_default();
                    if let Some(ev) = to_event(&label, &self.master, msg.get_channel_name(), &payload, Utc::now()) {
                        self.ring.push(ev);
                        self.notify.notify_one();
                    }
                }
                _ = tokio::time::sleep(KEEPALIVE) => {
                    let ping = sink.ping::<String>();
                    match tokio::time::timeout(self.timeout, ping).await {
                        Ok(Ok(_)) => {}
                        _ => return Err(format!("{label}: keepalive failed")),
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(kind: &str, secs_ago: i64, now: DateTime<Utc>) -> SentinelEvent {
        SentinelEvent {
            at: now - chrono::Duration::seconds(secs_ago),
            sentinel: "s".into(),
            kind: kind.into(),
            detail: String::new(),
        }
    }

    #[test]
    fn ring_is_bounded_and_ordered() {
        let ring = EventRing::default();
        let now = Utc::now();
        for i in 0..(EVENT_CAPACITY + 7) {
            ring.push(SentinelEvent { detail: i.to_string(), ..ev("+sdown", 0, now) });
        }
        let got = ring.snapshot();
        assert_eq!(got.len(), EVENT_CAPACITY);
        assert_eq!(got.first().map(|e| e.detail.as_str()), Some("7"));
        assert_eq!(got.last().map(|e| e.detail.clone()), Some((EVENT_CAPACITY + 6).to_string()));
    }

    #[test]
    fn running_until_an_end_event_or_the_window_passes() {
        let now = Utc::now();
        let w = chrono::Duration::seconds(5);
        assert!(!failover_running(&[], now, w));
        assert!(failover_running(&[ev("+sdown", 3, now), ev("+try-failover", 2, now)], now, w));
        assert!(failover_running(&[ev("+try-failover", 2, now), ev("+odown", 1, now)], now, w));
        assert!(!failover_running(&[ev("+try-failover", 2, now), ev("+switch-master", 1, now)], now, w));
        assert!(!failover_running(
            &[ev("+elected-leader", 2, now), ev("-failover-abort-not-elected", 1, now)],
            now,
            w
        ));
        assert!(!failover_running(&[ev("+try-failover", 9, now)], now, w));
    }

    #[test]
    fn events_are_filtered_by_master_name() {
        let now = Utc::now();
        let sw = to_event("s1", "mymaster", "+switch-master", "mymaster 127.0.0.1 1 127.0.0.1 2", now);
        assert_eq!(sw.map(|e| e.kind), Some("+switch-master".to_string()));
        assert!(to_event("s1", "mymaster", "+sdown", "master other 127.0.0.1 3", now).is_none());
        assert!(
            to_event("s1", "mymaster", "+sdown", "slave 127.0.0.1:2 127.0.0.1 2 @ mymaster 127.0.0.1 1", now)
                .is_some()
        );
        assert!(to_event("s1", "mymaster", "+tilt", "#tilt mode entered", now).is_some());
        // A master whose name merely contains ours does not match.
        assert!(to_event("s1", "my", "+sdown", "master mymaster 127.0.0.1 3", now).is_none());
    }
}
