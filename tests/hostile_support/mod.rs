//! Shared helpers of the `hostile_*` suites: the hostile payloads, a scanner that checks bytes
//! meant for a terminal contain only the escape sequences ratatui itself emits, renderers
//! through the real `QuietBackend`, and a hostile estate built from the UI fixtures.

#![allow(dead_code)]

use std::sync::Arc;

use ratatui::Terminal;
use ratatui::backend::TestBackend;

use warroom::app::State;
use warroom::backends::model::SentinelEvent;
use warroom::backends::{Freshness, Snapshot};
use warroom::incident::entry::EntryKind;
use warroom::text::is_unsafe;
use warroom::tui::output::{QuietBackend, SizeSource};
use warroom::ui::{UiContext, draw};

use crate::ui_fixtures;

/// Erase display (CSI 2J).
pub const ERASE: &str = "\u{1b}[2J";
/// OSC 0: set the window title.
pub const TITLE: &str = "\u{1b}]0;pwned-title\u{7}";
/// OSC 52: write the clipboard ("hi").
pub const CLIPBOARD: &str = "\u{1b}]52;c;aGk=\u{7}";
/// OSC 8: a hyperlink terminated by ST.
pub const LINK: &str = "\u{1b}]8;;http://evil.example/\u{1b}\\click\u{1b}]8;;\u{1b}\\";
/// C1 CSI (U+009B) followed by an SGR body.
pub const C1_CSI: &str = "\u{9b}31m";
/// A bare BEL.
pub const BEL: &str = "\u{7}";
/// Right-to-left override.
pub const RLO: &str = "\u{202e}txt.exe";

/// Every payload, in a fixed order.
pub const PAYLOADS: [&str; 7] = [ERASE, TITLE, CLIPBOARD, LINK, C1_CSI, BEL, RLO];

/// How each payload's first unsafe character must look once made visible by the sanitizer.
pub const VISIBLE: [&str; 7] =
    ["␛[2J", "␛]0;pwned", "␛]52;c;", "␛]8;;http", "<U+009B>31m", "␇", "<U+202E>txt"];

/// `tag` followed by every payload, starting with payload `i` (so different fields lead with
/// different sequences and a truncated field still shows one whole).
pub fn hostile(tag: &str, i: usize) -> String {
    let mut s = tag.to_string();
    for k in 0..PAYLOADS.len() {
        s.push_str(PAYLOADS[(i + k) % PAYLOADS.len()]);
    }
    s
}

/// Checks bytes written for a terminal: every escape sequence must be one ratatui/crossterm
/// emit when drawing (SGR `m`, cursor position `H`, cursor show/hide `?25h/l`, synchronized
/// update `?2026h/l`), no other C0/C1 control or DEL may appear, and the text between
/// sequences must be UTF-8 without bidi controls. Returns that text.
pub fn terminal_text(bytes: &[u8]) -> Result<String, String> {
    let mut text = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == 0x1b {
            if bytes.get(i + 1) != Some(&b'[') {
                return Err(format!("ESC not followed by '[' at byte {i}: {:?}", excerpt(bytes, i)));
            }
            let start = i + 2;
            let mut j = start;
            while j < bytes.len() && (0x30..=0x3f).contains(&bytes[j]) {
                j += 1;
            }
            let params = std::str::from_utf8(&bytes[start..j]).unwrap_or("?");
            let ok = match bytes.get(j) {
                Some(b'm') | Some(b'H') => params.bytes().all(|c| c.is_ascii_digit() || c == b';'),
                Some(b'h') | Some(b'l') => params == "?25" || params == "?2026",
                _ => false,
            };
            if !ok {
                return Err(format!(
                    "escape sequence ratatui does not emit at byte {i}: {:?}",
                    excerpt(bytes, i)
                ));
            }
            i = j + 1;
            continue;
        }
        if b < 0x20 || b == 0x7f {
            return Err(format!("raw control byte {b:#04x} at byte {i}: {:?}", excerpt(bytes, i)));
        }
        text.push(b);
        i += 1;
    }
    let text = String::from_utf8(text).map_err(|e| format!("text is not UTF-8 (raw C1 byte?): {e}"))?;
    if let Some(c) = text.chars().find(|c| is_unsafe(*c)) {
        return Err(format!("unsafe character {:?} in drawn text", c));
    }
    Ok(text)
}

fn excerpt(bytes: &[u8], at: usize) -> String {
    String::from_utf8_lossy(&bytes[at..(at + 24).min(bytes.len())]).into_owned()
}

/// Checks the stdout of a CLI command: lines of plain text (newline is the only control).
pub fn cli_text(bytes: &[u8]) -> Result<String, String> {
    let text = String::from_utf8(bytes.to_vec()).map_err(|e| format!("not UTF-8: {e}"))?;
    for (n, line) in text.lines().enumerate() {
        if let Some(c) = line.chars().find(|c| is_unsafe(*c)) {
            return Err(format!("line {}: unsafe character {c:?} in {line:?}", n + 1));
        }
    }
    Ok(text)
}

/// Asserts `s` holds no terminal control: no C0/C1/DEL, no bidi control, no ESC.
pub fn assert_plain(what: &str, s: &str) {
    if let Some((i, c)) = s.char_indices().find(|(_, c)| is_unsafe(*c)) {
        let from = s[..i].char_indices().rev().nth(20).map_or(0, |(k, _)| k);
        panic!("{what}: unsafe character {c:?} at byte {i}, after {:?}", &s[from..i]);
    }
}

/// Draws `state` once through the real `QuietBackend` at `w`x`h` and returns the bytes it wrote.
pub fn quiet_bytes(state: &State, ui: &UiContext, w: u16, h: u16) -> Vec<u8> {
    let mut term = Terminal::new(QuietBackend::new(Vec::new(), SizeSource::Fixed(w, h))).expect("terminal");
    term.draw(|f| draw(f, state, ui)).expect("draw");
    term.backend().out().clone()
}

/// Draws `state` on a `TestBackend` and returns its rows (trailing spaces trimmed).
pub fn screen_rows(state: &State, ui: &UiContext, w: u16, h: u16) -> Vec<String> {
    let mut term = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    term.draw(|f| draw(f, state, ui)).expect("draw");
    let buf = term.backend().buffer();
    (0..h)
        .map(|y| {
            let mut row = String::new();
            let mut x = 0;
            while x < w {
                let symbol = buf[(x, y)].symbol();
                row.push_str(symbol);
                // A wide character covers the next cell too: skip it.
                x += (unicode_width::UnicodeWidthStr::width(symbol) as u16).max(1);
            }
            row.trim_end().to_string()
        })
        .collect()
}

/// The primary-down estate with hostile text in every backend string the screen shows:
/// pod names and reasons, kube context errors, PostgreSQL and Redis/Sentinel errors and events,
/// Route 53 / HTTP probe errors, freshness errors, the incident title, log lines, step output,
/// warnings and the flash message. Tags `H01`..`H18` mark each field.
pub fn hostile_state() -> State {
    let mut st = ui_fixtures::primary_down();
    st.domain.incident.title = hostile("H01", 0);
    let mut kube = st.domain.observed.kube.value.clone().expect("kube view");
    let pods = std::sync::Arc::make_mut(&mut kube.pods);
    pods[0].name = hostile("H02", 1);
    for (k, p) in pods.iter_mut().enumerate().skip(1) {
        p.reason = Some(hostile(&format!("H03{k}"), k));
    }
    kube.contexts[0].error = Some(hostile("H04", 3));
    st.domain.observed.kube = Arc::new(Snapshot {
        value: Some(kube),
        fetched_at: st.domain.observed.kube.fetched_at,
        freshness: Freshness::Stale { since: ui_fixtures::t(690), error: hostile("H05", 4) },
    });
    let mut db = st.domain.observed.database.value.clone().expect("db view");
    db.nodes[0].error = Some(hostile("H06", 5));
    db.nodes[1].replication_state = Some(hostile("H07", 6));
    st.domain.observed.database = Arc::new(Snapshot::fresh(db, ui_fixtures::t(721)));
    st.domain.observed.sentinel = Arc::new(Snapshot {
        value: None,
        fetched_at: None,
        freshness: Freshness::Failed { error: hostile("H08", 0) },
    });
    let mut traffic = st.domain.observed.traffic.value.clone().expect("traffic view");
    traffic.control_plane_error = Some(hostile("H09", 1));
    if let Some(p) = traffic.regions[0].live.as_mut() {
        p.error = Some(hostile("H10", 2));
    }
    traffic.record = hostile("H11", 3);
    st.domain.observed.traffic = Arc::new(Snapshot {
        value: Some(traffic),
        fetched_at: st.domain.observed.traffic.fetched_at,
        freshness: Freshness::BreakerOpen { retry_at: ui_fixtures::t(743), error: hostile("H12", 4) },
    });
    st.domain.log_tail[0].summary = hostile("H13", 5);
    st.domain.log_tail[1].kind = EntryKind::from(hostile("H14", 6));
    let sel = st.view.selected[warroom::app::PaneId::Steps.index()];
    st.domain.steps[sel].output.push(hostile("H15", 0));
    st.domain.warnings = vec![hostile("H16", 1)];
    st.view.flash = Some((hostile("H17", 2), ui_fixtures::t(700)));
    st.domain.operator = hostile("H18", 3);
    st
}

/// A sentinel view whose events and errors carry hostile text (tags `S1`..`S3`).
pub fn hostile_sentinel_events(st: &mut State) {
    let mut view =
        warroom::backends::model::SentinelView { master_name: hostile("S1", 0), ..Default::default() };
    view.events.push(SentinelEvent {
        at: ui_fixtures::t(600),
        sentinel: "127.0.0.1:26379".into(),
        kind: "+switch-master".into(),
        detail: hostile("S2", 1),
    });
    view.sentinels.push(warroom::backends::model::SentinelObs {
        addr: "127.0.0.1:26380".into(),
        master: None,
        error: Some(hostile("S3", 2)),
    });
    st.domain.observed.sentinel = Arc::new(Snapshot::fresh(view, ui_fixtures::t(722)));
}

/// Decodes standard base64 (with padding); `None` on any other byte.
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    if !s.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    for chunk in s.as_bytes().chunks(4) {
        let pad = chunk.iter().rev().take_while(|c| **c == b'=').count();
        let mut n = 0u32;
        for &c in &chunk[..4 - pad] {
            n = (n << 6) | val(c)?;
        }
        n <<= 6 * pad as u32;
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..3 - pad]);
    }
    Some(out)
}
