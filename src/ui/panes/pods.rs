//! Pods pane: unhealthy first, then by context / namespace / name; only visible rows are built.

use std::cell::RefCell;
use std::cmp::Ordering;
use std::sync::{Arc, Weak};

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Table};

use crate::app::PaneId;
use crate::backends::model::{KubeView, PodRow};
use crate::config::theme::Slot;

use super::PaneCtx;
use crate::ui::sanitize::clean;
use crate::ui::widgets::{age_text, no_value_lines, scroll_window, width};

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

/// Which columns fit.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Cols {
    /// CONTEXT NAMESPACE POD READY PHASE RESTARTS REASON AGE
    Wide,
    /// CONTEXT POD READY STATUS RST AGE
    Medium,
    /// POD READY STATUS RST
    Narrow,
}

/// Draw the Pods pane.
pub fn draw(frame: &mut Frame, area: Rect, cx: &PaneCtx<'_>) {
    let snap = &cx.state.domain.observed.kube;
    let inner = cx.live_block(frame, area, PaneId::Pods, snap);
    let theme = cx.theme;
    if let Some(lines) = no_value_lines(snap, HOW_TO_CONFIGURE, theme) {
        frame.render_widget(Paragraph::new(lines), inner);
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
    let theme = cx.theme;
    let w = usize::from(inner.width);
    // Summary and per-context errors.
    let total = view.pods.len();
    let mut head: Vec<Line<'static>> = Vec::new();
    let count = format!("{} pods, {unhealthy} unhealthy", view.pods.len());
    head.push(if unhealthy > 0 {
        Line::styled(format!("✗ {count}"), theme.style(Slot::StatusDown))
    } else {
        Line::styled(format!("● {count}"), theme.style(Slot::StatusHealthy))
    });
    for c in view.contexts.iter().filter(|c| c.error.is_some()) {
        let last = c
            .last_ok
            .map(|t| format!(" (last ok {} ago)", age_text(cx.state.domain.now - t)))
            .unwrap_or_default();
        let text = format!("◐ {}: {}{last}", c.context, c.error.as_deref().unwrap_or(""));
        head.push(Line::styled(clean(&text, w), theme.style(Slot::StatusStale)));
    }
    let head_h = (head.len() as u16).min(inner.height / 2).max(1);
    let [head_area, table_area] =
        inner.layout(&Layout::vertical([Constraint::Length(head_h), Constraint::Fill(1)]));
    frame.render_widget(Paragraph::new(head), head_area);

    if view.pods.is_empty() {
        let msg = "No pods in the configured namespaces.";
        frame.render_widget(Paragraph::new(Line::styled(msg, theme.style(Slot::Dim))), table_area);
        return;
    }

    let body_h = usize::from(table_area.height.saturating_sub(1));
    let (offset, sel) = scroll_window(cx.selected(PaneId::Pods), total, body_h);
    let visible: Vec<&PodRow> = order.iter().skip(offset).take(body_h).map(|i| &view.pods[*i]).collect();
    let lost: Vec<&str> =
        view.contexts.iter().filter(|c| c.error.is_some()).map(|c| c.context.as_str()).collect();

    let ctx_w = visible.iter().map(|p| width(&p.context)).max().unwrap_or(0).clamp(7, 14);
    let ns_w = visible.iter().map(|p| width(&p.namespace)).max().unwrap_or(0).clamp(9, 12);
    let reason_w =
        visible.iter().map(|p| p.reason.as_deref().map_or(0, width)).max().unwrap_or(0).clamp(6, 18);
    let status_w = visible
        .iter()
        .map(|p| p.reason.as_deref().map_or(width(&p.phase), width))
        .max()
        .unwrap_or(0)
        .clamp(6, 16);
    let ctx_m = ctx_w.min(10);
    let wide_fixed = 1 + ctx_w + ns_w + 5 + 9 + 8 + reason_w + 4 + 8;
    let medium_fixed = 1 + ctx_m + 5 + status_w + 3 + 4 + 6;
    let (cols, status_w) = if w >= wide_fixed + 16 {
        (Cols::Wide, status_w)
    } else if w >= medium_fixed + 14 {
        (Cols::Medium, status_w)
    } else {
        (Cols::Narrow, status_w.min(12))
    };
    let pod_w = w.saturating_sub(match cols {
        Cols::Wide => wide_fixed,
        Cols::Medium => medium_fixed,
        Cols::Narrow => 1 + 5 + status_w + 3 + 4,
    });

    let (header, widths): (Vec<&str>, Vec<Constraint>) = match cols {
        Cols::Wide => (
            vec!["", "CONTEXT", "NAMESPACE", "POD", "READY", "PHASE", "RESTARTS", "REASON", "AGE"],
            vec![
                Constraint::Length(1),
                Constraint::Length(ctx_w as u16),
                Constraint::Length(ns_w as u16),
                Constraint::Fill(1),
                Constraint::Length(5),
                Constraint::Length(9),
                Constraint::Length(8),
                Constraint::Length(reason_w as u16),
                Constraint::Length(4),
            ],
        ),
        Cols::Medium => (
            vec!["", "CONTEXT", "POD", "READY", "STATUS", "RST", "AGE"],
            vec![
                Constraint::Length(1),
                Constraint::Length(ctx_m as u16),
                Constraint::Fill(1),
                Constraint::Length(5),
                Constraint::Length(status_w as u16),
                Constraint::Length(3),
                Constraint::Length(4),
            ],
        ),
        Cols::Narrow => (
            vec!["", "POD", "READY", "STATUS", "RST"],
            vec![
                Constraint::Length(1),
                Constraint::Fill(1),
                Constraint::Length(5),
                Constraint::Length(status_w as u16),
                Constraint::Length(3),
            ],
        ),
    };

    let rows = visible.iter().enumerate().map(|(i, p)| {
        let bad = p.is_unhealthy();
        let stale = lost.contains(&p.context.as_str());
        let (mark, mark_slot) = if bad {
            ("✗", Slot::StatusDown)
        } else if stale {
            ("◐", Slot::StatusStale)
        } else {
            ("●", Slot::StatusHealthy)
        };
        let status_slot = if bad { Slot::StatusDown } else { Slot::Text };
        let ready_slot = if p.ready < p.containers { Slot::StatusDown } else { Slot::Text };
        let age = p.started_at.map_or_else(|| "-".to_string(), |t| age_text(cx.state.domain.now - t));
        let restarts_slot = if p.restarts > 0 { Slot::StatusDegraded } else { Slot::Text };
        let reason = p.reason.as_deref().unwrap_or("");
        let mut cells: Vec<Span<'static>> = vec![Span::styled(mark, theme.style(mark_slot))];
        match cols {
            Cols::Wide => {
                cells.push(Span::raw(clean(&p.context, ctx_w)));
                cells.push(Span::raw(clean(&p.namespace, ns_w)));
                cells.push(Span::raw(clean(&p.name, pod_w)));
                cells.push(Span::styled(p.ready_text(), theme.style(ready_slot)));
                cells.push(Span::styled(clean(&p.phase, 9), theme.style(status_slot)));
                cells.push(Span::styled(p.restarts.to_string(), theme.style(restarts_slot)));
                cells.push(Span::styled(clean(reason, reason_w), theme.style(status_slot)));
                cells.push(Span::styled(age, theme.style(Slot::Dim)));
            }
            Cols::Medium | Cols::Narrow => {
                if cols == Cols::Medium {
                    cells.push(Span::raw(clean(&p.context, ctx_m)));
                }
                cells.push(Span::raw(clean(&p.name, pod_w)));
                cells.push(Span::styled(p.ready_text(), theme.style(ready_slot)));
                let status = p.reason.as_deref().unwrap_or(&p.phase);
                cells.push(Span::styled(clean(status, status_w), theme.style(status_slot)));
                cells.push(Span::styled(p.restarts.min(999).to_string(), theme.style(restarts_slot)));
                if cols == Cols::Medium {
                    cells.push(Span::styled(age, theme.style(Slot::Dim)));
                }
            }
        }
        let row = Row::new(cells);
        if cx.focused && offset + i == sel { row.style(theme.style(Slot::Selection)) } else { row }
    });
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(theme.style(Slot::TableHeader)))
        .column_spacing(1);
    frame.render_widget(table, table_area);
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
