//! Fixtures for the rendering benchmarks: a realistic estate of N pods across several kube
//! contexts (most pods days old, a few crash-looping ones seconds old), on top of the calm
//! estate used by the UI snapshot tests (database, Sentinel, traffic, steps, checklist, log).

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use warroom::app::State;
use warroom::backends::Snapshot;
use warroom::backends::model::{ContextHealth, DeploymentRow, KubeView, PodRow};
use warroom::config::{Keymap, Theme};
use warroom::ui::UiContext;

#[path = "../../tests/support/ui_fixtures.rs"]
mod ui_fixtures;

pub mod figures;

/// The three kube contexts of the benchmark estate.
pub const CONTEXTS: [&str; 3] = ["us-east-1", "us-west-2", "eu-central-1"];

/// Namespaces pods are spread over.
const NAMESPACES: [&str; 5] = ["default", "payments", "search", "database", "ingress"];

/// Workloads pods belong to (their names start with these).
const APPS: [&str; 8] = ["api", "worker", "checkout", "search-indexer", "gateway", "cron", "auth", "cache"];

/// One pod in `UNHEALTHY_EVERY` is crash-looping.
pub const UNHEALTHY_EVERY: usize = 250;

/// A kubernetes-like 5-character suffix (deterministic).
fn suffix(i: usize) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut x = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5bd1_e995;
    (0..5)
        .map(|_| {
            let c = ALPHABET[(x % ALPHABET.len() as u64) as usize];
            x /= ALPHABET.len() as u64;
            c as char
        })
        .collect()
}

/// `n` pods spread round-robin over `contexts`, sorted by context / namespace / name like the
/// backends deliver them. Healthy pods are hours to weeks old (their age text does not change
/// each second); one pod in [`UNHEALTHY_EVERY`] is in `CrashLoopBackOff` and was recreated
/// seconds ago (its "12s" age changes every second, as it would on screen).
pub fn synthetic_pods(n: usize, contexts: &[&str], now: DateTime<Utc>) -> KubeView {
    let mut pods: Vec<PodRow> = (0..n)
        .map(|i| {
            let bad = i % UNHEALTHY_EVERY == 7;
            let app = APPS[(i / 3) % APPS.len()];
            let age = if bad {
                Duration::seconds(5 + (i % 40) as i64)
            } else {
                Duration::hours(2 + ((i * 7919) % (24 * 30)) as i64)
            };
            PodRow {
                context: contexts[i % contexts.len()].to_string(),
                namespace: NAMESPACES[(i / 7) % NAMESPACES.len()].to_string(),
                name: format!("{app}-{:x}-{}", 0x5c6d_0000 + (i / 40) % 0xffff, suffix(i)),
                ready: u16::from(!bad),
                containers: 1,
                phase: "Running".to_string(),
                restarts: if bad { 4 + (i % 9) as u32 } else { u32::from(i % 101 == 0) },
                reason: bad.then(|| "CrashLoopBackOff".to_string()),
                started_at: Some(now - age),
                node: Some(format!("ip-10-0-{}-{}.ec2.internal", (i / 200) % 250, i % 250)),
                labels: BTreeMap::from([("app".to_string(), app.to_string())]),
            }
        })
        .collect();
    pods.sort_by(|a, b| (&a.context, &a.namespace, &a.name).cmp(&(&b.context, &b.namespace, &b.name)));
    let deployments = contexts
        .iter()
        .flat_map(|c| {
            APPS.iter().map(move |app| DeploymentRow {
                context: (*c).to_string(),
                namespace: "default".to_string(),
                name: (*app).to_string(),
                desired: 10,
                ready: 10,
                available: 10,
            })
        })
        .collect();
    let contexts = contexts
        .iter()
        .map(|c| ContextHealth { context: (*c).to_string(), error: None, last_ok: Some(now) })
        .collect();
    KubeView { pods: pods.into(), deployments, db_service: None, contexts }
}

/// The calm estate of the UI snapshot tests with `pods` synthetic pods in [`CONTEXTS`], the
/// Pods pane focused and every snapshot fetched at `now()`.
pub fn estate(pods: usize) -> State {
    let mut st = ui_fixtures::calm();
    let now = st.domain.now;
    let mut kube = synthetic_pods(pods, &CONTEXTS, now);
    kube.db_service = st.domain.observed.kube.value.as_ref().and_then(|k| k.db_service.clone());
    st.domain.observed.kube = Arc::new(Snapshot::fresh(kube, now));
    st.domain.observed.database = refetched(&st.domain.observed.database, now);
    st.domain.observed.sentinel = refetched(&st.domain.observed.sentinel, now);
    st.domain.observed.traffic = refetched(&st.domain.observed.traffic, now);
    st.view.focus = warroom::app::PaneId::Pods;
    st
}

/// The same value, fetched again at `at` (what a poller sends after an unchanged poll).
pub fn refetched<T: Clone>(snap: &Arc<Snapshot<T>>, at: DateTime<Utc>) -> Arc<Snapshot<T>> {
    let mut s = Snapshot::clone(snap);
    s.fetched_at = Some(at);
    Arc::new(s)
}

/// The shipped fallback theme and keymap (what a user without config files sees).
pub fn ui() -> UiContext {
    UiContext { theme: Theme::fallback(), keymap: Keymap::fallback() }
}
