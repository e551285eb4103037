//! The Steps pane counts down how long resolvers may still cache the old answer after a done
//! `set-weights` step, from the record TTL in the Traffic snapshot, and stops at zero.

#[path = "support/ui_fixtures.rs"]
mod ui_fixtures;

use chrono::Duration;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use warroom::app::{PaneId, State, StepRun, StepStatus};
use warroom::operation::Operation;
use warroom::ui::draw;
use warroom::ui::steps::cache_secs_left;

use ui_fixtures::{calm, ctx, now};

fn screen(state: &State) -> String {
    let mut term = Terminal::new(TestBackend::new(160, 48)).expect("test backend");
    term.draw(|f| draw(f, state, &ctx())).expect("draw");
    term.backend().to_string()
}

/// The calm estate (TTL 60 s) with a set-weights step that finished `ago` seconds before now.
fn with_done_set_weights(ago: i64) -> State {
    let mut st = calm();
    let op = Operation::SetRoute53Weights {
        zone: "Z1".into(),
        record: "api.example.com.".into(),
        endpoint: "https://route53.amazonaws.com".into(),
        weights: vec![("us-east-1".into(), 0), ("us-west-2".into(), 100)],
    };
    let mut step = StepRun::new(2, op, "move traffic".into(), now() - Duration::seconds(ago + 5));
    step.status = StepStatus::Done;
    step.started_at = Some(now() - Duration::seconds(ago + 2));
    step.finished_at = Some(now() - Duration::seconds(ago));
    st.domain.steps.push(step);
    st.view.focus = PaneId::Steps;
    st.view.selected[PaneId::Steps.index()] = 1;
    st
}

#[test]
fn countdown_runs_from_the_ttl_and_disappears_at_zero() {
    let st = with_done_set_weights(15);
    assert_eq!(cache_secs_left(&st, &st.domain.steps[1]), Some(45));
    assert!(screen(&st).contains("resolvers may still cache the old answer for 45 s"), "{}", screen(&st));

    let st = with_done_set_weights(59);
    assert!(screen(&st).contains("resolvers may still cache the old answer for 1 s"));

    let st = with_done_set_weights(60);
    assert_eq!(cache_secs_left(&st, &st.domain.steps[1]), None);
    assert!(!screen(&st).contains("resolvers may still cache"));
}

#[test]
fn no_countdown_for_other_steps_or_unfinished_ones() {
    let st = calm();
    assert_eq!(cache_secs_left(&st, &st.domain.steps[0]), None, "check-primary has no DNS cache");
    let mut st = with_done_set_weights(5);
    st.domain.steps[1].status = StepStatus::Verifying;
    st.domain.steps[1].finished_at = None;
    assert_eq!(cache_secs_left(&st, &st.domain.steps[1]), None);
    assert!(!screen(&st).contains("resolvers may still cache"));
}
