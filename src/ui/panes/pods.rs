//! Pods pane: unhealthy first, then by context / namespace / name; only visible rows are built.

use std::cell::RefCell;
use std::cmp::Ordering;
use std::sync::{Arc, Weak};

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use crate::app::PaneId;
use crate::backends::model::{KubeView, PodRow};
use crate::config::theme::Slot;

use super::PaneCtx;
use crate::text::clean;
use crate::ui::table::{self, Cell, Column, Width};
use crate::ui::widgets::{age_text, no_value_lines, scroll_window};

const HOW_TO_CONFIGURE: &str =
    "Add a [kubernetes] section and kube_context to each [[regions]] entry in warroom.toml.";

fn by_place(a: &PodRow, b: &PodRow) -> Ordering {
    a.context.cmp(&b.context).then_with(|| a.namespace.cmp(&b.namespace)).then_with(|| a.name.cmp(&b.name))
}

/// Display order of `view.pods` (indices): unhealthy first, then context, namespace, name.
///
/// The core can use it to map the Pods pane's selected row to a pod. Linear when the
/// backend already delivers pods sorted by place (the common case), `n log n` otherwise.
pub fn display_order(view: &KubeView) -> Vec<usize> {
    let pods = &view.pods;
    let sorted = pods.windows(2).all(|w| by_place(&w[0], &w[1]) != Ordering::Greater);
    let mut order: Vec<usize> = Vec::with_capacity(pods.len());
    if sorted {
        order.extend((0..pods.len()).filter(|i| pods[*i].is_unhealthy()));
        order.extend((0..pods.len()).filter(|i| !pods[*i].is_unhealthy()));
    } else {
        let unhealthy: Vec<bool> = pods.iter().map(PodRow::is_unhealthy).collect();
        order.extend(0..pods.len());
        order.sort_unstable_by(|a, b| {
            unhealthy[*b].cmp(&unhealthy[*a]).then_with(|| by_place(&pods[*a], &pods[*b]))
        });
    }
    order
}

/// Indices of unhealthy and healthy pods, each in input order.
fn partition(view: &KubeView) -> (Vec<usize>, Vec<usize>) {
    (0..view.pods.len()).partition(|i| view.pods[*i].is_unhealthy())
}

/// The `count` smallest-by-place indices of `idx` starting at rank `from`, sorted. Linear on
/// average (two selections), then sorts only the window.
fn window_of(pods: &[PodRow], idx: &mut [usize], from: usize, count: usize) -> Vec<usize> {
    if from >= idx.len() || count == 0 {
        return Vec::new();
    }
    let cmp = |a: &usize, b: &usize| by_place(&pods[*a], &pods[*b]);
    if from > 0 {
        idx.select_nth_unstable_by(from, cmp);
    }
    let rest = &mut idx[from..];
    let take = count.min(rest.len());
    if take < rest.len() {
        rest.select_nth_unstable_by(take, cmp);
    }
    let mut out = rest[..take].to_vec();
    out.sort_unstable_by(cmp);
    out
}

/// Rows `offset..offset + count` of [`display_order`], without sorting all pods: what the pane
/// draws (5,000 pods stay cheap per frame).
pub fn visible_order(view: &KubeView, offset: usize, count: usize) -> Vec<usize> {
    let (mut bad, mut good) = partition(view);
    let mut out = window_of(&view.pods, &mut bad, offset, count);
    let from_good = offset.saturating_sub(bad.len());
    out.extend(window_of(&view.pods, &mut good, from_good, count - out.len()));
    out
}

/// The display order and unhealthy count of one pod list.
struct OrderMemo {
    /// The pod list they belong to (a `Weak` keeps its address from being reused and makes
    /// `Arc::get_mut` refuse, so the list cannot change under the memo).
    pods: Weak<Vec<PodRow>>,
    /// [`display_order`] of the pods.
    order: Vec<usize>,
    /// Unhealthy pods.
    unhealthy: usize,
}

thread_local! {
    /// One memo per drawing thread: the newest pod list drawn.
    static ORDER: RefCell<Option<OrderMemo>> = const { RefCell::new(None) };
}

/// Call `f` with [`display_order`] of `view`'s pods and the number of unhealthy pods, computed
/// once per pod list (sources hand out a new `Arc` only when a pod changed): a steady frame
/// then costs only its visible rows, whatever the number of pods.
fn with_order<R>(view: &KubeView, f: impl FnOnce(&[usize], usize) -> R) -> R {
    ORDER.with_borrow_mut(|memo| {
        let same = memo.as_ref().is_some_and(|m| std::ptr::eq(m.pods.as_ptr(), Arc::as_ptr(&view.pods)));
        if !same {
            let unhealthy = view.pods.iter().filter(|p| p.is_unhealthy()).count();
            *memo =
                Some(OrderMemo { pods: Arc::downgrade(&view.pods), order: display_order(view), unhealthy });
        }
        let m = memo.as_ref().expect("the memo was just filled");
        f(&m.order, m.unhealthy)
    })
}

/// What the cells of the Pods table need besides the pod.
struct PodCx<'a> {
    /// Time of the frame (ages).
    now: DateTime<Utc>,
    /// Contexts whose watch failed: their pods are drawn as stale.
    lost: Vec<&'a str>,
}

/// The Pods table, each column declared once (see [`crate::ui::table`] for how a layout is
/// derived). Priorities, highest kept longest: the health mark, the context (the region: never
/// cut), the pod name, its status, READY, RESTARTS, AGE, NAMESPACE.
fn columns<'a>() -> [Column<PodRow, PodCx<'a>>; 8] {
    [
        Column::new("", Width::Whole { max: 1 }, 9, mark),
        Column::new("CONTEXT", Width::Whole { max: 24 }, 8, context),
        Column::new("NAMESPACE", Width::Whole { max: 16 }, 1, namespace),
        Column::new("POD", Width::Fill { min: 16 }, 7, name),
        Column::new("READY", Width::Whole { max: 7 }, 5, ready),
        Column::new("STATUS", Width::Cut { min: 7, max: 18 }, 6, status),
        Column::new("RESTARTS", Width::Cut { min: 3, max: 8 }, 4, restarts).short("RST"),
        Column::new("AGE", Width::Whole { max: 6 }, 3, age),
    ]
}

/// `✗` unhealthy, `◐` healthy when last seen but its context's watch failed, `●` healthy.
fn mark<'r>(p: &'r PodRow, cx: &PodCx<'_>) -> Cell<'r> {
    if p.is_unhealthy() {
        Cell::new("✗", Slot::StatusDown)
    } else if cx.lost.contains(&p.context.as_str()) {
        Cell::new("◐", Slot::StatusStale)
    } else {
        Cell::new("●", Slot::StatusHealthy)
    }
}

fn context<'r>(p: &'r PodRow, _: &PodCx<'_>) -> Cell<'r> {
    Cell::new(p.context.as_str(), Slot::Text)
}

fn namespace<'r>(p: &'r PodRow, _: &PodCx<'_>) -> Cell<'r> {
    Cell::new(p.namespace.as_str(), Slot::Text)
}

fn name<'r>(p: &'r PodRow, _: &PodCx<'_>) -> Cell<'r> {
    Cell::new(p.name.as_str(), Slot::Text)
}

/// `ready/containers`, in the down style when a container is not ready.
fn ready<'r>(p: &'r PodRow, _: &PodCx<'_>) -> Cell<'r> {
    Cell::new(p.ready_text(), if p.ready < p.containers { Slot::StatusDown } else { Slot::Text })
}

/// The reason when there is one (CrashLoopBackOff, OOMKilled...), else the phase: what
/// `kubectl get pods` calls STATUS.
fn status<'r>(p: &'r PodRow, _: &PodCx<'_>) -> Cell<'r> {
    let slot = if p.is_unhealthy() { Slot::StatusDown } else { Slot::Text };
    Cell::new(p.reason.as_deref().unwrap_or(&p.phase), slot)
}

fn restarts<'r>(p: &'r PodRow, _: &PodCx<'_>) -> Cell<'r> {
    Cell::new(p.restarts.to_string(), if p.restarts > 0 { Slot::StatusDegraded } else { Slot::Text })
}

/// Time since the pod started (`-` when unknown).
fn age<'r>(p: &'r PodRow, cx: &PodCx<'_>) -> Cell<'r> {
    let text = p.started_at.map_or_else(|| "-".to_string(), |t| age_text(cx.now - t));
    Cell::new(text, Slot::Dim)
}

/// Draw the Pods pane.
pub fn draw(frame: &mut Frame, area: Rect, cx: &PaneCtx<'_>) {
    let snap = &cx.state.domain.observed.kube;
    let inner = cx.live_block(frame, area, PaneId::Pods, snap);
    let theme = cx.theme;
    let tried = crate::ui::tried::pods(&cx.state.domain.config);
    if let Some(lines) = no_value_lines(snap, HOW_TO_CONFIGURE, tried, theme) {
        crate::ui::widgets::message(frame, inner, lines);
        return;
    }
    let Some(view) = snap.value.as_ref() else { return };

    with_order(view, |order, unhealthy| draw_view(frame, inner, cx, view, order, unhealthy));
}

/// Draw the summary and the visible rows of `view`, whose display order is `order`.
fn draw_view(
    frame: &mut Frame,
    inner: Rect,
    cx: &PaneCtx<'_>,
    view: &KubeView,
    order: &[usize],
    unhealthy: usize,
) {
    let head = summary(cx, view, unhealthy, usize::from(inner.width));
    let head_h = (head.len() as u16).min(inner.height / 2).max(1);
    let [head_area, table_area] =
        inner.layout(&Layout::vertical([Constraint::Length(head_h), Constraint::Fill(1)]));
    frame.render_widget(Paragraph::new(head), head_area);

    if view.pods.is_empty() {
        let msg = "No pods in the configured namespaces.";
        frame.render_widget(Paragraph::new(Line::styled(msg, cx.theme.style(Slot::Dim))), table_area);
        return;
    }
    let body_h = usize::from(table_area.height.saturating_sub(1));
    let (offset, sel) = scroll_window(cx.selected(PaneId::Pods), view.pods.len(), body_h);
    let visible: Vec<&PodRow> = order.iter().skip(offset).take(body_h).map(|i| &view.pods[*i]).collect();
    let lost = view.contexts.iter().filter(|c| c.error.is_some()).map(|c| c.context.as_str()).collect();
    let pods = PodCx { now: cx.state.domain.now, lost };
    let selected = cx.focused.then(|| sel - offset);
    table::draw(frame, table_area, cx.theme, &columns(), &pods, &visible, selected);
}

/// The count of pods and unhealthy pods, then one line per context whose watch failed.
fn summary(cx: &PaneCtx<'_>, view: &KubeView, unhealthy: usize, w: usize) -> Vec<Line<'static>> {
    let theme = cx.theme;
    let count = format!("{} pods, {unhealthy} unhealthy", view.pods.len());
    let mut head = vec![if unhealthy > 0 {
        Line::styled(format!("✗ {count}"), theme.style(Slot::StatusDown))
    } else {
        Line::styled(format!("● {count}"), theme.style(Slot::StatusHealthy))
    }];
    for c in view.contexts.iter().filter(|c| c.error.is_some()) {
        let last = c
            .last_ok
            .map(|t| format!(" (last ok {} ago)", age_text(cx.state.domain.now - t)))
            .unwrap_or_default();
        let text = format!("◐ {}: {}{last}", c.context, c.error.as_deref().unwrap_or(""));
        head.push(Line::styled(clean(&text, w), theme.style(Slot::StatusStale)));
    }
    head
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn pod(ctx: &str, name: &str, reason: Option<&str>) -> PodRow {
        PodRow {
            context: ctx.into(),
            namespace: "default".into(),
            name: name.into(),
            ready: if reason.is_some() { 0 } else { 1 },
            containers: 1,
            phase: "Running".into(),
            restarts: 0,
            reason: reason.map(String::from),
            started_at: None,
            node: None,
            labels: BTreeMap::new(),
        }
    }

    fn pods_strategy() -> impl Strategy<Value = Vec<PodRow>> {
        proptest::collection::vec((0u8..3, 0u8..3, 0u16..40, proptest::bool::ANY), 0..60).prop_map(|v| {
            v.into_iter()
                .map(|(c, n, name, bad)| {
                    let mut p = pod(&format!("ctx-{c}"), &format!("pod-{name:02}"), bad.then_some("Error"));
                    p.namespace = format!("ns-{n}");
                    p
                })
                .collect()
        })
    }

    proptest! {
        #[test]
        fn visible_order_is_a_window_of_display_order(
            pods in pods_strategy(), offset in 0usize..70, count in 0usize..30
        ) {
            let view = KubeView { pods: Arc::new(pods), ..KubeView::default() };
            let full = display_order(&view);
            let want: Vec<(&str, &str, &str, bool)> = full
                .iter()
                .skip(offset)
                .take(count)
                .map(|i| { let p = &view.pods[*i]; (p.context.as_str(), p.namespace.as_str(), p.name.as_str(), p.is_unhealthy()) })
                .collect();
            let got: Vec<(&str, &str, &str, bool)> = visible_order(&view, offset, count)
                .iter()
                .map(|i| { let p = &view.pods[*i]; (p.context.as_str(), p.namespace.as_str(), p.name.as_str(), p.is_unhealthy()) })
                .collect();
            prop_assert_eq!(got, want);
        }
    }

    /// The pods of a narrow table: a long region, a fault, a short and a long name.
    fn table_pods() -> Vec<PodRow> {
        let mut down = pod("eu-central-1", "api-7d9f8b-2kq4x", Some("CrashLoopBackOff"));
        down.restarts = 12;
        vec![down, pod("us-east-1", "postgresql-0", None), pod("us-west-2", "worker-5c6d-x9p2l", None)]
    }

    #[test]
    fn narrow_tables_leave_out_the_lowest_priority_columns_first_and_keep_the_region_whole() {
        let cols = columns();
        let mut by_priority: Vec<usize> = (0..cols.len()).collect();
        by_priority.sort_by_key(|i| std::cmp::Reverse(cols[*i].priority));
        let pods = table_pods();
        let rows: Vec<&PodRow> = pods.iter().collect();
        let cx = PodCx { now: DateTime::<Utc>::UNIX_EPOCH, lost: Vec::new() };
        let mut shown_before = 0;
        for total in 0..=200u16 {
            let laid = table::lay_out(&cols, &rows, &cx, total);
            let shown: Vec<bool> = laid.widths.iter().map(|w| *w > 0).collect();
            let k = shown.iter().filter(|s| **s).count();
            assert!(by_priority[..k].iter().all(|i| shown[*i]), "at {total}: shown {shown:?}");
            assert!(k >= shown_before, "at {total}: a wider table shows no fewer columns");
            shown_before = k;
            assert!(laid.widths.iter().map(|w| u32::from(*w) + 1).sum::<u32>() <= u32::from(total) + 8);
            if shown[1] {
                let ctx_at = usize::from(shown[0]);
                let regions: Vec<&str> = laid.rows.iter().map(|r| r[ctx_at].0.as_str()).collect();
                assert_eq!(regions, ["eu-central-1", "us-east-1", "us-west-2"], "at {total}");
            }
        }
        // An 80x24 screen gives the pane 40 columns: mark, region, pod and status stay.
        let laid = table::lay_out(&cols, &rows, &cx, 40);
        assert_eq!(laid.header, ["", "CONTEXT", "POD", "STATUS"]);
        assert_eq!(laid.rows[0][1].0, "eu-central-1");
        assert_eq!(laid.rows[0][2].0, "api-7d9f8b-2kq4x");
        // A little wider: READY, then RESTARTS (abbreviated), then AGE, NAMESPACE last.
        let headers = |total| table::lay_out(&cols, &rows, &cx, total).header;
        assert_eq!(headers(46), ["", "CONTEXT", "POD", "READY", "STATUS"]);
        assert_eq!(headers(53), ["", "CONTEXT", "POD", "READY", "STATUS", "RST", "AGE"]);
        let wide = headers(120);
        assert_eq!(wide, ["", "CONTEXT", "NAMESPACE", "POD", "READY", "STATUS", "RESTARTS", "AGE"]);
    }

    #[test]
    fn cells_are_sanitized_and_cut_to_their_column() {
        let mut pods = table_pods();
        pods[0].reason = Some("\u{1b}]52;c;aGk=\u{7}CrashLoopBackOff".into());
        let rows: Vec<&PodRow> = pods.iter().collect();
        let cx = PodCx { now: DateTime::<Utc>::UNIX_EPOCH, lost: vec!["us-west-2"] };
        let laid = table::lay_out(&columns(), &rows, &cx, 40);
        let status = &laid.rows[0][3].0;
        assert!(status.starts_with("␛]52;") && status.ends_with('…'), "{status}");
        assert_eq!(laid.rows[0][0], ("✗".to_string(), Slot::StatusDown));
        assert_eq!(laid.rows[1][0], ("●".to_string(), Slot::StatusHealthy));
        assert_eq!(laid.rows[2][0], ("◐".to_string(), Slot::StatusStale), "a lost context is stale");
    }

    fn names(view: &KubeView) -> Vec<&str> {
        display_order(view).into_iter().map(|i| view.pods[i].name.as_str()).collect()
    }

    #[test]
    fn order_is_computed_once_per_pod_list_and_follows_new_ones() {
        let calm = KubeView {
            pods: Arc::new(vec![pod("a", "api-1", None), pod("a", "api-2", None)]),
            ..KubeView::default()
        };
        let got = |v: &KubeView| {
            with_order(v, |o, u| (o.iter().map(|i| v.pods[*i].name.clone()).collect::<Vec<_>>(), u))
        };
        assert_eq!(got(&calm), (vec!["api-1".to_string(), "api-2".into()], 0));
        // A later snapshot sharing the same list (an idle poll) reuses the memo: proven by
        // poisoning the memo's order and seeing it come back.
        let idle_poll = calm.clone();
        ORDER.with_borrow_mut(|m| m.as_mut().expect("memo").order.reverse());
        assert_eq!(got(&idle_poll).0, ["api-2", "api-1"], "an unchanged list is not re-sorted");
        ORDER.with_borrow_mut(|m| m.as_mut().expect("memo").order.reverse());
        // The memo holds only a weak reference: the list cannot be changed in place; a change
        // goes to a new allocation, which gets its own order.
        let mut held = Arc::clone(&calm.pods);
        drop((calm, idle_poll));
        assert!(Arc::get_mut(&mut held).is_none(), "a memoised list is never mutated in place");
        let changed = Arc::make_mut(&mut held);
        changed[1].reason = Some("CrashLoopBackOff".into());
        changed[1].ready = 0;
        let bad = KubeView { pods: held, ..KubeView::default() };
        assert_eq!(got(&bad), (vec!["api-2".to_string(), "api-1".into()], 1));
        assert_eq!(got(&bad), (vec!["api-2".to_string(), "api-1".into()], 1));
    }

    #[test]
    fn unhealthy_first_then_by_place_when_input_sorted() {
        let view = KubeView {
            pods: Arc::new(vec![
                pod("a", "api-1", None),
                pod("a", "api-2", Some("CrashLoopBackOff")),
                pod("b", "api-1", None),
                pod("b", "db-0", Some("Error")),
            ]),
            ..KubeView::default()
        };
        assert_eq!(names(&view), ["api-2", "db-0", "api-1", "api-1"]);
        assert_eq!(view.pods[display_order(&view)[2]].context, "a");
    }

    #[test]
    fn unsorted_input_gets_the_same_order() {
        let view = KubeView {
            pods: Arc::new(vec![
                pod("b", "db-0", Some("Error")),
                pod("b", "api-1", None),
                pod("a", "api-2", Some("CrashLoopBackOff")),
                pod("a", "api-1", None),
            ]),
            ..KubeView::default()
        };
        let order = display_order(&view);
        let got: Vec<(&str, &str)> =
            order.iter().map(|i| (view.pods[*i].context.as_str(), view.pods[*i].name.as_str())).collect();
        assert_eq!(got, [("a", "api-2"), ("b", "db-0"), ("a", "api-1"), ("b", "api-1")]);
    }
}
