//! The status update composer: a short plain-text draft the operator edits before posting.
//!
//! Pure: built from the incident, the current snapshots and the step runs. It names only
//! nodes, regions, pods and addresses (no DSNs, no error text from backends, so no secrets),
//! and every backend string is reduced to plain text.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use crate::app::state::IncidentInfo;
use crate::app::{StepRun, StepStatus};
use crate::backends::model::{HealthState, PgRole};
use crate::backends::{Freshness, Observed, Snapshot};

use crate::incident::export::plain_text;

/// When the next status update is due: the checklist's recurring item (`status-updates`) as
/// the checklist pane counts it (T+0 moved by a drill's pauses). The composer's "Next update"
/// line and the checklist pane's due time both come from here.
pub fn next_update(domain: &crate::app::Domain) -> Option<DateTime<Utc>> {
    let t0 = domain.checklist_t0();
    domain
        .checklist
        .items
        .iter()
        .filter(|i| i.is_recurring())
        .filter_map(|i| crate::incident::checklist::Checklist::due_at(i, t0))
        .min()
}

/// Draft a status update at `now`; `next_update` is when the next one is due (from the
/// checklist's recurring item), if known.
pub fn compose(
    incident: &IncidentInfo,
    observed: &Observed,
    steps: &[StepRun],
    now: DateTime<Utc>,
    next_update: Option<DateTime<Utc>>,
) -> String {
    let mut s = String::new();
    let drill = if incident.drill { "[DRILL] " } else { "" };
    let _ = writeln!(
        s,
        "{drill}{} {} status update: {}",
        plain_text(&incident.severity),
        plain_text(&incident.id),
        plain_text(&incident.title)
    );
    let _ = writeln!(
        s,
        "As of {} UTC ({} since declared at {} UTC).",
        now.format("%H:%M"),
        elapsed(incident.declared_at, now),
        incident.declared_at.format("%H:%M")
    );

    s.push_str("\nImpact:\n");
    bullets(&mut s, impact(observed), "No impact currently observed.");

    s.push_str("\nDone so far:\n");
    bullets(&mut s, actions(steps), "No steps taken yet.");

    s.push_str("\nCurrent state:\n");
    bullets(&mut s, current(observed), "Nothing is observed yet.");

    match next_update {
        Some(at) => {
            let _ = writeln!(
                s,
                "\nNext update: by {} UTC ({}).",
                at.format("%H:%M"),
                t_plus(incident.declared_at, at)
            );
        }
        None => s.push_str("\nNext update: when the situation changes.\n"),
    }
    s
}

fn bullets(s: &mut String, lines: Vec<String>, empty: &str) {
    if lines.is_empty() {
        let _ = writeln!(s, "- {empty}");
    }
    for l in lines {
        let _ = writeln!(s, "- {l}");
    }
}

/// What is affected: database without (or with two) writable primaries, Sentinel trouble,
/// unhealthy regions, CrashLoopBackOff counts, layers that cannot be observed.
fn impact(o: &Observed) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(db) = &o.database.value {
        let primaries = db.writable_primaries();
        if primaries.len() > 1 {
            let names: Vec<String> = primaries.iter().map(|n| plain_text(&n.name)).collect();
            out.push(format!("Database: SPLIT BRAIN, {} accept writes", names.join(" and ")));
        } else if primaries.is_empty() && !db.nodes.is_empty() {
            let down: Vec<String> =
                db.nodes.iter().filter(|n| n.role == PgRole::Down).map(|n| plain_text(&n.name)).collect();
            let why = if down.is_empty() { String::new() } else { format!(" ({} down)", down.join(", ")) };
            out.push(format!("Database: no writable primary{why}"));
        }
    }
    if let Some(sv) = &o.sentinel.value {
        let reporting = sv.sentinels.iter().filter(|x| x.master.is_some()).count();
        if reporting > 0 && !sv.agreed() {
            out.push("Redis: Sentinels disagree on the master".to_string());
        }
        if sv.failover_in_progress {
            out.push("Redis: a Sentinel failover is in progress".to_string());
        }
    }
    if let Some(tv) = &o.traffic.value {
        for r in &tv.regions {
            let mut why = Vec::new();
            if r.health_check == HealthState::Unhealthy {
                why.push("health check unhealthy".to_string());
            }
            if let Some(p) = r.ready.as_ref().filter(|p| !p.ok()) {
                why.push(p.status.map_or("ready probe failing".into(), |c| format!("ready probe HTTP {c}")));
            }
            if let Some((ready, desired)) = r.deploy_ready.filter(|(r, d)| r < d) {
                why.push(format!("{ready}/{desired} replicas ready"));
            }
            if !why.is_empty() {
                out.push(format!("Region {}: {}", plain_text(&r.name), why.join(", ")));
            }
        }
    }
    if let Some(kv) = &o.kube.value {
        let mut crashing: BTreeMap<&str, usize> = BTreeMap::new();
        for p in kv.pods.iter().filter(|p| p.reason.as_deref() == Some("CrashLoopBackOff")) {
            *crashing.entry(p.context.as_str()).or_default() += 1;
        }
        for (ctx, n) in crashing {
            let pods = if n == 1 { "pod" } else { "pods" };
            out.push(format!("Kubernetes: {n} {pods} in CrashLoopBackOff in {}", plain_text(ctx)));
        }
    }
    let blind: Vec<&str> = [
        ("PostgreSQL", &o.database.freshness),
        ("Redis Sentinel", &o.sentinel.freshness),
        ("Kubernetes", &o.kube.freshness),
        ("traffic", &o.traffic.freshness),
    ]
    .into_iter()
    .filter(|(_, f)| {
        matches!(f, Freshness::Stale { .. } | Freshness::Failed { .. } | Freshness::BreakerOpen { .. })
    })
    .map(|(name, _)| name)
    .collect();
    if !blind.is_empty() {
        out.push(format!("Monitoring: cannot currently observe {}", blind.join(", ")));
    }
    out
}

/// Steps that were acted on, in order (proposed and ready ones are not "done").
fn actions(steps: &[StepRun]) -> Vec<String> {
    steps
        .iter()
        .filter_map(|st| {
            let title = plain_text(&st.preview.title);
            Some(match &st.status {
                StepStatus::Done => format!("Done: {title}"),
                StepStatus::Executing | StepStatus::Verifying => format!("In progress: {title}"),
                StepStatus::AwaitingApproval { .. } => format!("Awaiting a second approval: {title}"),
                StepStatus::Failed { stage, .. } => format!("Failed at {}: {title}", stage.as_str()),
                StepStatus::Skipped(reason) => format!("Skipped: {title} ({})", plain_text(reason)),
                StepStatus::Aborted => format!("Aborted: {title}"),
                StepStatus::OutcomeUnknown => format!("Outcome being checked: {title}"),
                StepStatus::Proposed | StepStatus::Prechecked | StepStatus::AwaitingConfirm => return None,
            })
        })
        .collect()
}

/// ` (as of 12:30 UTC, stale)` for a value that is not fresh.
fn as_of<T>(snap: &Snapshot<T>) -> String {
    match (&snap.freshness, snap.fetched_at) {
        (Freshness::Fresh, _) => String::new(),
        (_, Some(at)) => format!(" (as of {} UTC, {})", at.format("%H:%M"), snap.freshness.as_str()),
        (f, None) => format!(" ({})", f.as_str()),
    }
}

/// Current primary database, Redis master and traffic per region.
fn current(o: &Observed) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(db) = &o.database.value {
        let primary = match db.writable_primaries().as_slice() {
            [] => "none".to_string(),
            [one] => format!("{} ({})", plain_text(&one.name), plain_text(&one.region)),
            many => many.iter().map(|n| plain_text(&n.name)).collect::<Vec<_>>().join(" and "),
        };
        out.push(format!("Primary database: {primary}{}", as_of(&o.database)));
    }
    if let Some(sv) = &o.sentinel.value {
        let master = match sv.agreed_master() {
            Some(m) => plain_text(m),
            None => "not agreed".to_string(),
        };
        out.push(format!("Redis master: {master}{}", as_of(&o.sentinel)));
    }
    if let Some(tv) = &o.traffic.value
        && !tv.regions.is_empty()
    {
        let regions: Vec<String> = tv
            .regions
            .iter()
            .map(|r| {
                let share = match (tv.share(&r.name), &r.failover_role) {
                    (Some(share), _) => format!("{:.0}%", share * 100.0),
                    (None, Some(role)) => plain_text(role),
                    (None, None) => "?".to_string(),
                };
                format!("{} {share} ({})", plain_text(&r.name), r.health_check.as_str())
            })
            .collect();
        out.push(format!("Traffic: {}{}", regions.join(", "), as_of(&o.traffic)));
    }
    out
}

/// `34m` / `1h 05m` since `from`.
fn elapsed(from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    let m = (to - from).num_minutes().max(0);
    if m >= 60 { format!("{}h {:02}m", m / 60, m % 60) } else { format!("{m}m") }
}

/// `T+49m`.
fn t_plus(t0: DateTime<Utc>, at: DateTime<Utc>) -> String {
    format!("T+{}", elapsed(t0, at))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::{Duration, TimeZone};

    use super::*;
    use crate::app::step::Stage;
    use crate::backends::model::{
        DatabaseView, KubeView, PgNodeStatus, PodRow, Probe, RegionTraffic, SentinelObs, SentinelView,
        TrafficView,
    };
    use crate::operation::Operation;

    fn t(mins: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 26, 3, 0, 0).unwrap() + Duration::minutes(mins)
    }

    fn incident() -> IncidentInfo {
        IncidentInfo {
            id: "INC-20261126-030000".into(),
            title: "Primary database down".into(),
            severity: "SEV1".into(),
            declared_at: t(0),
            drill: true,
        }
    }

    fn node(name: &str, region: &str, role: PgRole) -> PgNodeStatus {
        PgNodeStatus {
            name: name.into(),
            region: region.into(),
            role,
            timeline: Some(2),
            error: Some("connect to postgres://app:hunter2@10.0.0.1/db failed".into()),
            ..PgNodeStatus::default()
        }
    }

    fn region(name: &str, weight: u8, hc: HealthState, ready: u16) -> RegionTraffic {
        RegionTraffic {
            name: name.into(),
            role: "primary".into(),
            weight: Some(weight),
            failover_role: None,
            health_check: hc,
            checkers: None,
            live: None,
            ready: Some(Probe { status: Some(ready), latency_ms: 9, error: None }),
            deploy_ready: if ready == 200 { Some((3, 3)) } else { Some((1, 3)) },
        }
    }

    fn pod(i: usize) -> PodRow {
        PodRow {
            context: "us-east-1".into(),
            namespace: "default".into(),
            name: format!("api-{i}"),
            ready: 0,
            containers: 1,
            phase: "Running".into(),
            restarts: 7,
            reason: Some("CrashLoopBackOff".into()),
            started_at: None,
            node: None,
            labels: Default::default(),
        }
    }

    fn observed() -> Observed {
        let db = DatabaseView {
            nodes: vec![
                node("postgresql-0", "us-east-1", PgRole::Down),
                node("postgresql-1", "us-west-2", PgRole::Primary),
            ],
        };
        let sentinel = SentinelView {
            master_name: "mymaster".into(),
            sentinels: (0..3)
                .map(|i| SentinelObs {
                    addr: format!("s{i}:26379"),
                    master: Some("10.0.0.2:6379".into()),
                    error: None,
                })
                .collect(),
            ..SentinelView::default()
        };
        let traffic = TrafficView {
            record: "api.example.com.".into(),
            regions: vec![
                region("us-east-1", 0, HealthState::Unhealthy, 503),
                region("us-west-2", 100, HealthState::Healthy, 200),
            ],
            ..TrafficView::default()
        };
        let kube = Snapshot {
            value: Some(KubeView { pods: Arc::new((0..12).map(pod).collect()), ..KubeView::default() }),
            fetched_at: Some(t(20)),
            freshness: Freshness::Stale { since: t(21), error: "token=abc123 rejected".into() },
        };
        Observed {
            database: Arc::new(Snapshot::fresh(db, t(24))),
            sentinel: Arc::new(Snapshot::fresh(sentinel, t(24))),
            traffic: Arc::new(Snapshot::fresh(traffic, t(24))),
            kube: Arc::new(kube),
        }
    }

    fn step(id: u64, op: Operation, status: StepStatus) -> StepRun {
        let mut s = StepRun::new(id, op, "why".into(), t(2));
        s.status = status;
        s
    }

    fn steps() -> Vec<StepRun> {
        let promote = Operation::PromotePostgres {
            node: "postgresql-1".into(),
            endpoint: "127.0.0.1:55433".into(),
            max_lag_bytes: 0,
            accept_data_loss: None,
        };
        let repoint = Operation::PatchServiceSelector {
            context: "us-east-1".into(),
            namespace: "database".into(),
            service: "postgresql".into(),
            pod: "postgresql-1".into(),
        };
        let manual = Operation::Manual { instruction: "Page the DBA".into() };
        vec![
            step(1, promote, StepStatus::Done),
            step(
                2,
                repoint.clone(),
                StepStatus::Failed { stage: Stage::Verify, reason: "endpoints unchanged".into() },
            ),
            step(3, repoint, StepStatus::Executing),
            step(4, manual.clone(), StepStatus::Skipped("DBA already\u{1b}[2J online".into())),
            step(5, manual, StepStatus::Proposed),
        ]
    }

    #[test]
    fn draft_names_impact_actions_state_and_next_update() {
        let text = compose(&incident(), &observed(), &steps(), t(25), Some(t(40)));
        let title_repoint = steps()[1].preview.title.clone();
        let title_manual = steps()[3].preview.title.clone();
        let expected = format!(
            "[DRILL] SEV1 INC-20261126-030000 status update: Primary database down
As of 03:25 UTC (25m since declared at 03:00 UTC).

Impact:
- Region us-east-1: health check unhealthy, ready probe HTTP 503, 1/3 replicas ready
- Kubernetes: 12 pods in CrashLoopBackOff in us-east-1
- Monitoring: cannot currently observe Kubernetes

Done so far:
- Done: Promote postgresql-1 to primary
- Failed at verify: {title_repoint}
- In progress: {title_repoint}
- Skipped: {title_manual} (DBA already online)

Current state:
- Primary database: postgresql-1 (us-west-2)
- Redis master: 10.0.0.2:6379
- Traffic: us-east-1 0% (unhealthy), us-west-2 100% (healthy)

Next update: by 03:40 UTC (T+40m).
"
        );
        assert_eq!(text, expected);
        assert!(!text.contains("hunter2") && !text.contains("abc123"), "secret leaked: {text}");
        assert!(!text.contains('\u{1b}'));
    }

    #[test]
    fn draft_reports_no_primary_split_brain_and_sentinel_trouble() {
        let mut o = observed();
        let db = DatabaseView {
            nodes: vec![
                node("postgresql-0", "us-east-1", PgRole::Down),
                node("postgresql-1", "us-west-2", PgRole::Replica),
            ],
        };
        o.database = Arc::new(Snapshot {
            value: Some(db),
            fetched_at: Some(t(10)),
            freshness: Freshness::BreakerOpen { retry_at: t(11), error: "password=hunter2".into() },
        });
        let mut sv = o.sentinel.value.clone().unwrap();
        sv.sentinels[1].master = Some("10.0.0.1:6379".into());
        sv.failover_in_progress = true;
        o.sentinel = Arc::new(Snapshot::fresh(sv, t(24)));
        let text = compose(&incident(), &o, &[], t(65), None);
        assert!(text.contains("As of 04:05 UTC (1h 05m since declared at 03:00 UTC)."), "{text}");
        assert!(text.contains("- Database: no writable primary (postgresql-0 down)\n"), "{text}");
        assert!(text.contains("- Redis: Sentinels disagree on the master\n"), "{text}");
        assert!(text.contains("- Redis: a Sentinel failover is in progress\n"), "{text}");
        assert!(text.contains("- Monitoring: cannot currently observe PostgreSQL, Kubernetes\n"), "{text}");
        assert!(text.contains("- Primary database: none (as of 03:10 UTC, breaker_open)\n"), "{text}");
        assert!(text.contains("- Redis master: not agreed\n"), "{text}");
        assert!(text.contains("Done so far:\n- No steps taken yet.\n"), "{text}");
        assert!(text.ends_with("Next update: when the situation changes.\n"), "{text}");
        assert!(!text.contains("hunter2"));

        let split = DatabaseView {
            nodes: vec![
                node("postgresql-0", "us-east-1", PgRole::Primary),
                node("postgresql-1", "us-west-2", PgRole::Primary),
            ],
        };
        o.database = Arc::new(Snapshot::fresh(split, t(30)));
        let text = compose(&incident(), &o, &[], t(31), None);
        assert!(
            text.contains("- Database: SPLIT BRAIN, postgresql-0 and postgresql-1 accept writes\n"),
            "{text}"
        );
        assert!(text.contains("- Primary database: postgresql-0 and postgresql-1\n"), "{text}");
    }

    /// The composer's "Next update" time is the checklist pane's due time of `status-updates`,
    /// on a drill clock paused for four minutes, before and after a posting.
    #[test]
    fn next_update_in_the_draft_is_the_checklist_due_time_through_a_pause_and_a_post() {
        use crate::app::state::{Mode, State};
        use crate::app::{Action, Modal, TextEdit, update};
        use crate::command::Command;
        use crate::incident::checklist::ItemStatus;

        let config = Arc::new(crate::backends::drill::estate::config());
        let mut s = State::new(Mode::Drill, incident(), "trainer@lab".into(), config, t(0));
        let checklist_due = |s: &State| match s.domain.checklist.status(
            "status-updates",
            s.domain.checklist_t0(),
            s.domain.now,
        ) {
            Some(ItemStatus::DueIn(secs) | ItemStatus::Overdue(secs)) if secs == 0 => s.domain.now,
            Some(ItemStatus::DueIn(secs)) => s.domain.now + Duration::seconds(secs),
            Some(ItemStatus::Overdue(secs)) => s.domain.now - Duration::seconds(secs),
            other => panic!("status-updates has no due time: {other:?}"),
        };
        let drafted = |s: &mut State, at: DateTime<Utc>| {
            update(s, Action::Command(Command::StatusUpdate), at);
            let Some(Modal::Composer { buffer, .. }) = &s.view.modal else { panic!("{:?}", s.view.modal) };
            let text = buffer.text();
            let line = text.lines().find(|l| l.starts_with("Next update: by ")).expect("a next update");
            line["Next update: by ".len().."Next update: by ".len() + 5].to_string()
        };
        // Paused from T+1m to T+5m: the checklist's clock stood still for four minutes.
        s.domain.facilitation.facilitator = true;
        update(&mut s, Action::Command(Command::FacilitatorPause), t(1));
        update(&mut s, Action::Command(Command::FacilitatorPause), t(5));
        s.domain.facilitation.facilitator = false;
        update(&mut s, Action::Tick, t(6));
        let due = checklist_due(&s);
        assert_eq!(due, next_update(&s.domain).unwrap());
        assert_ne!(due, t(15), "the pause moved the due time: {due}");
        assert_eq!(drafted(&mut s, t(6)), due.format("%H:%M").to_string());
        // Posted at T+7m: both move to 15 min after the posting.
        update(&mut s, Action::Text(TextEdit::Submit), t(7));
        assert!(s.view.modal.is_none(), "posted: {:?}", s.view.flash);
        update(&mut s, Action::Tick, t(8));
        let due = checklist_due(&s);
        assert_eq!(due, t(22));
        assert_eq!(next_update(&s.domain), Some(due));
        assert_eq!(drafted(&mut s, t(8)), "03:22");
    }

    #[test]
    fn draft_with_nothing_observed_says_so() {
        let mut info = incident();
        info.drill = false;
        let text = compose(&info, &Observed::default(), &[], t(3), Some(t(15)));
        assert_eq!(
            text,
            "SEV1 INC-20261126-030000 status update: Primary database down
As of 03:03 UTC (3m since declared at 03:00 UTC).

Impact:
- No impact currently observed.

Done so far:
- No steps taken yet.

Current state:
- Nothing is observed yet.

Next update: by 03:15 UTC (T+15m).
"
        );
    }
}
