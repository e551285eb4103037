//! Degenerate terminals: `ui::draw` never panics at 0x0, 1x1, 20x5, 59x15, through a storm of
//! 1,000 resizes (including 0 and 65535-wide/-tall screens) on the real `QuietBackend`, and for
//! any size and state (modal open, zoomed, help scrolled far) under proptest. Below the minimum
//! size the "terminal too small" message is shown whenever it fits.

#[path = "support/ui_fixtures.rs"]
mod ui_fixtures;

#[path = "hostile_support/mod.rs"]
mod hostile_support;

use proptest::prelude::*;
use ratatui::Terminal;

use warroom::app::state::PromptPurpose;
use warroom::app::{Modal, PaneId, State};
use warroom::tui::output::{QuietBackend, SizeSource};
use warroom::ui::draw;
use warroom::ui::layout::MIN_SIZE;

use hostile_support::{hostile_state, screen_rows};

/// The screen text with all whitespace removed (the message may wrap anywhere).
fn squeezed(rows: &[String]) -> String {
    rows.concat().chars().filter(|c| !c.is_whitespace()).collect()
}

/// Whether the too-small message (about 45 columns) fits in `w`x`h` when word-wrapped.
fn message_fits(w: u16, h: u16) -> bool {
    w >= 24 && u32::from(h) > 48u32.div_ceil(u32::from(w))
}

fn too_small(w: u16, h: u16) -> bool {
    w < MIN_SIZE.0 || h < MIN_SIZE.1
}

#[test]
fn tiny_terminals_draw_without_panic_and_say_why() {
    let ui = ui_fixtures::ctx();
    for state in [ui_fixtures::calm(), ui_fixtures::primary_down(), hostile_state()] {
        for (w, h) in [(0, 0), (1, 1), (0, 40), (120, 0), (20, 5), (59, 15), (59, 40), (200, 15), (60, 16)] {
            let rows = screen_rows(&state, &ui, w, h);
            // The QuietBackend path too (the one the console uses).
            let bytes = hostile_support::quiet_bytes(&state, &ui, w, h);
            hostile_support::terminal_text(&bytes).unwrap_or_else(|e| panic!("{w}x{h}: {e}"));
            let text = squeezed(&rows);
            if too_small(w, h) {
                if message_fits(w, h) {
                    assert!(text.contains("terminaltoosmall"), "{w}x{h}: no message:\n{}", rows.join("\n"));
                    assert!(text.contains(&format!("need{}x{}", MIN_SIZE.0, MIN_SIZE.1)), "{text}");
                }
                assert!(!text.contains("Pods"), "{w}x{h}: panes drawn below the minimum size");
            } else {
                assert!(!text.contains("terminaltoosmall"), "{w}x{h}");
            }
        }
    }
}

#[test]
fn a_storm_of_one_thousand_resizes_never_panics() {
    let ui = ui_fixtures::ctx();
    let mut st = hostile_state();
    st.view.modal = Some(Modal::Help);
    let mut term = Terminal::new(QuietBackend::new(Vec::new(), SizeSource::Fixed(80, 24))).expect("terminal");
    let mut rng = fastrand::Rng::with_seed(0x5eed_2026);
    let mut drawn_extremes = 0;
    for i in 0..1_000 {
        // Mostly ordinary sizes; one in ten an extreme: 0, or 65535 in one direction. (A
        // 65535x65535 screen would be a 4-billion-cell buffer: no terminal reports one.)
        let (w, h) = match rng.u8(0..10) {
            0 => {
                drawn_extremes += 1;
                match rng.u8(0..6) {
                    0 => (0, 0),
                    1 => (65_535, rng.u16(0..4)),
                    2 => (rng.u16(0..4), 65_535),
                    3 => (65_535 - rng.u16(0..10), 0),
                    4 => (0, 65_535),
                    _ => (rng.u16(1000..4000), rng.u16(1..30)),
                }
            }
            _ => (rng.u16(0..300), rng.u16(0..100)),
        };
        if i % 7 == 0 {
            st.view.zoomed = !st.view.zoomed;
            st.view.focus = PaneId::ALL[i % PaneId::ALL.len()];
            st.view.modal = if st.view.modal.is_some() { None } else { Some(Modal::Help) };
            st.view.help_scroll = rng.usize(0..10_000);
        }
        term.backend_mut().set_size(SizeSource::Fixed(w, h));
        term.draw(|f| draw(f, &st, &ui)).unwrap_or_else(|e| panic!("resize {i} to {w}x{h}: {e}"));
        assert_eq!(term.get_frame().area().width, w);
    }
    assert!(drawn_extremes > 50, "the storm had {drawn_extremes} extreme sizes");
    assert!(term.backend().bytes_written() > 0);
}

/// A base state, a modal, zoom/focus and scroll positions.
fn any_state() -> impl Strategy<Value = State> {
    (
        0..3usize,
        0..6usize,
        any::<bool>(),
        0..PaneId::ALL.len(),
        prop_oneof![0..200usize, Just(usize::MAX / 2), Just(usize::MAX)],
        prop::array::uniform7(0..40usize),
        ".{0,40}",
    )
        .prop_map(|(base, modal, zoomed, focus, scroll, selected, typed)| {
            let mut st = match base {
                0 => ui_fixtures::calm(),
                1 => ui_fixtures::primary_down(),
                _ => hostile_state(),
            };
            st.view.zoomed = zoomed;
            st.view.focus = PaneId::ALL[focus];
            st.view.help_scroll = scroll;
            st.view.selected = selected;
            st.view.modal = match modal {
                0 => None,
                1 => Some(Modal::Help),
                2 => Some(Modal::Actions { items: ui_fixtures::proposals(), selected: selected[0] }),
                3 => Some(Modal::Confirm { step: st.domain.steps.last().map_or(1, |s| s.id), typed }),
                4 => Some(Modal::Prompt { purpose: PromptPurpose::Note, label: "Note".into(), text: typed }),
                _ => Some(Modal::Confirm { step: 999, typed }),
            };
            st
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 160, ..ProptestConfig::default() })]

    #[test]
    fn any_size_and_state_draws_without_panic(st in any_state(), w in 0u16..260, h in 0u16..90) {
        let ui = ui_fixtures::ctx();
        let rows = screen_rows(&st, &ui, w, h);
        prop_assert_eq!(rows.len(), usize::from(h));
        for row in &rows {
            prop_assert!(unicode_width::UnicodeWidthStr::width(row.as_str()) <= usize::from(w));
        }
        if too_small(w, h) && message_fits(w, h) {
            prop_assert!(squeezed(&rows).contains("terminaltoosmall"), "{}x{}:\n{}", w, h, rows.join("\n"));
        }
    }
}
