//! Waiting on a [`KubeObserver`]'s view, shared by the Kubernetes backend tests.

use std::time::{Duration, Instant};

use warroom::backends::Observe;
use warroom::backends::kube::KubeObserver;
use warroom::backends::model::KubeView;

/// Wait (on the notify handle, re-checking every 20 ms) until `cond` holds for the view;
/// panic after `within` with `what` and the last view.
pub async fn wait_until(
    obs: &KubeObserver,
    within: Duration,
    what: &str,
    cond: impl Fn(&KubeView) -> bool,
) -> KubeView {
    let notify = obs.notify_handle();
    let end = Instant::now() + within;
    loop {
        let view = obs.observe().await;
        if let Ok(v) = &view
            && cond(v)
        {
            return v.clone();
        }
        if Instant::now() >= end {
            panic!("not within {within:?}: {what}; last view: {view:#?}");
        }
        let _ = tokio::time::timeout(Duration::from_millis(20), notify.notified()).await;
    }
}
