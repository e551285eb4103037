//! The help overlay: getting started (the panes, a runbook, a step from proposal to
//! confirmation, the log and the checklist, with the active keymap's keys), the legend of every
//! symbol ([`super::glyphs::LEGEND`]), and every key of the active keymap with its full
//! description, wrapped. It scrolls (j/k, PgUp/PgDn) and says where it is.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use crate::command::Command;
use crate::config::keymap::KeyLayer;
use crate::config::theme::Slot;
use crate::config::{Keymap, Theme};

use super::glyphs::LEGEND;
use super::layout::centered;
use super::widgets::width;
use crate::app::composer::POST_KEY;
use crate::text::{clean, sanitize};

/// Section title of a layer.
fn layer_title(layer: KeyLayer) -> &'static str {
    match layer {
        KeyLayer::Global => "Everywhere",
        KeyLayer::Pane => "Live panes (Pods, Database, Sentinel, Traffic, Log)",
        KeyLayer::Steps => "Steps pane",
        KeyLayer::Checklist => "Checklist pane",
        KeyLayer::Actions => "Actions menu",
        KeyLayer::Confirm => "Confirm dialog",
        KeyLayer::Help => "This help",
    }
}

/// Split `text` (sanitized) into lines at most `w` columns wide, breaking at spaces (a word
/// longer than `w` is cut into pieces). Never drops a word.
pub fn wrap(text: &str, w: usize) -> Vec<String> {
    let w = w.max(1);
    let mut out = Vec::new();
    let mut line = String::new();
    for word in sanitize(text).split(' ').filter(|s| !s.is_empty()) {
        let mut word = word.to_string();
        loop {
            let sep = usize::from(!line.is_empty());
            if width(&line) + sep + width(&word) <= w {
                if sep == 1 {
                    line.push(' ');
                }
                line.push_str(&word);
                break;
            }
            if !line.is_empty() {
                out.push(std::mem::take(&mut line));
                continue;
            }
            // A word wider than the line: cut it.
            let mut head = String::new();
            let mut chars = word.chars().peekable();
            while let Some(c) = chars.peek() {
                if width(&head) + width(&c.to_string()) > w {
                    break;
                }
                head.push(*c);
                chars.next();
            }
            out.push(head);
            word = chars.collect();
            if word.is_empty() {
                break;
            }
        }
    }
    if !line.is_empty() || out.is_empty() {
        out.push(line);
    }
    out
}

/// The help's lines at inner width `w`.
struct Writer<'a> {
    out: Vec<Line<'static>>,
    theme: &'a Theme,
    w: usize,
}

impl Writer<'_> {
    fn title(&mut self, text: &str) {
        if !self.out.is_empty() {
            self.out.push(Line::raw(""));
        }
        self.out.push(Line::styled(clean(text, self.w), self.theme.style(Slot::TableHeader)));
    }

    /// A paragraph, wrapped, each line after the first indented by `indent`.
    fn para(&mut self, text: &str, indent: usize) {
        for (i, l) in wrap(text, self.w.saturating_sub(indent)).into_iter().enumerate() {
            let pad = if i == 0 { 0 } else { indent };
            self.out.push(Line::raw(format!("{}{l}", " ".repeat(pad))));
        }
    }

    /// A `label  text` row: the label in `label_style` in a column `col` wide, the text wrapped
    /// beside it.
    fn row(&mut self, label: &str, label_style: Style, col: usize, text: &str) {
        let label = clean(label, col);
        let pad = col.saturating_sub(width(&label));
        let room = self.w.saturating_sub(col + 4);
        for (i, l) in wrap(text, room).into_iter().enumerate() {
            let head = if i == 0 {
                vec![
                    Span::raw("  "),
                    Span::styled(label.clone(), label_style),
                    Span::raw(" ".repeat(pad + 2)),
                ]
            } else {
                vec![Span::raw(" ".repeat(col + 4))]
            };
            let mut spans = head;
            spans.push(Span::raw(l));
            self.out.push(Line::from(spans));
        }
    }
}

/// The key bound to `cmd` (its layer first, then everywhere), as the help names it.
fn key(keymap: &Keymap, layer: KeyLayer, cmd: Command) -> String {
    keymap
        .key_for(layer, cmd)
        .or_else(|| keymap.key_for(KeyLayer::Global, cmd))
        .map_or_else(|| format!("\"{}\" (no key in this keymap)", cmd.name()), |k| clean(&k, 16))
}

/// Getting started, with the active keymap's keys.
fn getting_started(wr: &mut Writer<'_>, keymap: &Keymap) {
    let k = |layer, cmd| key(keymap, layer, cmd);
    let g = KeyLayer::Global;
    wr.title("Getting started");
    let paras = [
        format!(
            "The header says what is wrong: the incident, the time since it began, LIVE or DRILL, the \
             verdict (HEALTHY, DEGRADED, FAILING) and alarms; MITIGATED and RESOLVED when they are. \
             {} shows the verdict's every reason.",
            k(g, Command::Verdict)
        ),
        "Panes: Pods (Kubernetes, per region), Database (PostgreSQL roles, lag, which node the \
         Service routes to), Sentinel (which master the Redis Sentinels agree on), Traffic (Route 53 \
         weights and health checks); each shows the age of its data. Steps (what is proposed and \
         done), Checklist (what is due when) and Log (the durable incident log) are below."
            .to_string(),
        format!(
            "Move between panes with {} / {}; {} zooms the focused one.",
            k(g, Command::FocusNext),
            k(g, Command::FocusPrev),
            k(KeyLayer::Pane, Command::Zoom)
        ),
        format!(
            "To act: {} opens the runbooks (★ marks the ones recommended now; Enter starts one). A \
             runbook proposes one step at a time: {} brings up its next step. {} lists single \
             operations proposed from what is observed.",
            k(g, Command::Runbooks),
            k(g, Command::RunbookNext),
            k(g, Command::Actions)
        ),
        format!(
            "Every step opens a confirm dialog: the exact change (SQL, patch, command), what it \
             targets, its blast radius and the prechecks. A low-risk step is confirmed with {}, a \
             high-risk one by typing the target's name, then Enter; {} or Esc cancels. Nothing runs \
             before that, and every step is logged before it runs; then it is verified.",
            k(KeyLayer::Confirm, Command::ConfirmYes),
            k(KeyLayer::Confirm, Command::ConfirmNo)
        ),
        format!(
            "The Log pane shows the newest entries of the incident log (every step, observation and \
             note); {} writes a note into it. The Checklist pane shows what is due when (OVERDUE in \
             red); {} ticks the selected item, or unticks a ticked one. {} drafts a status update in \
             an editor: Enter breaks a line, {} previews and posts it. {} resolves the incident.",
            k(g, Command::Note),
            k(KeyLayer::Checklist, Command::ChecklistTick),
            k(g, Command::StatusUpdate),
            POST_KEY,
            k(g, Command::Resolve)
        ),
    ];
    for (i, p) in paras.iter().enumerate() {
        if i > 0 {
            wr.out.push(Line::raw(""));
        }
        wr.para(p, 0);
    }
}

/// The legend: every symbol, grouped.
fn legend(wr: &mut Writer<'_>) {
    let col = LEGEND.iter().flat_map(|(_, g)| g.iter()).map(|g| width(g.sym)).max().unwrap_or(1);
    for (group, glyphs) in LEGEND {
        wr.title(&format!("Symbols: {group}"));
        for g in *glyphs {
            wr.row(g.sym, wr.theme.style(Slot::PaneTitle), col, g.meaning);
        }
    }
}

/// Every key of every layer, with its full description.
fn keys(wr: &mut Writer<'_>, keymap: &Keymap) {
    let col = KeyLayer::ALL
        .iter()
        .flat_map(|(l, _)| keymap.bindings(*l))
        .map(|b| width(&b.keys_text()))
        .max()
        .unwrap_or(0)
        .clamp(3, 14);
    let mut any = false;
    for (layer, _) in KeyLayer::ALL {
        let bindings = keymap.bindings(*layer);
        if bindings.is_empty() {
            continue;
        }
        any = true;
        wr.title(&format!("Keys: {}", layer_title(*layer)));
        for b in bindings {
            let desc = if b.desc.is_empty() { b.command.description() } else { b.desc.as_str() };
            wr.row(&b.keys_text(), wr.theme.style(Slot::PaneTitle), col, desc);
        }
    }
    if !any {
        wr.title("Keys");
        wr.out.push(Line::styled("The active keymap binds no keys.", wr.theme.style(Slot::StatusDown)));
    }
}

/// The composer's keys (fixed, not in the keymap: the editor takes every printable key).
const COMPOSER_KEYS: [(&str, &str); 9] = [
    ("Enter", "Break the line"),
    (
        POST_KEY,
        "Post the update (logged, copied to the clipboard; with [[notify]] targets a preview asks y/n first); a console that may not post copies the draft",
    ),
    ("Esc", "Close without posting"),
    ("arrows", "Move the cursor"),
    ("Home End", "Start / end of the line (also Ctrl-A / Ctrl-E)"),
    ("Ctrl-left", "Back by a word; Ctrl-right: forward (also with Alt)"),
    ("Backspace", "Delete before the cursor (Delete: after it)"),
    ("Ctrl-W", "Delete the word before the cursor"),
    ("paste", "Inserted at the cursor, line breaks kept"),
];

/// The status-update composer's keys.
fn composer_keys(wr: &mut Writer<'_>) {
    let col = COMPOSER_KEYS.iter().map(|(k, _)| width(k)).max().unwrap_or(0);
    wr.title("Keys: Status-update composer (fixed)");
    for (k, desc) in COMPOSER_KEYS {
        wr.row(k, wr.theme.style(Slot::PaneTitle), col, desc);
    }
}

/// Every line of the help at inner width `w`.
pub fn lines(keymap: &Keymap, theme: &Theme, w: usize) -> Vec<Line<'static>> {
    let mut wr = Writer { out: Vec::new(), theme, w };
    getting_started(&mut wr, keymap);
    legend(&mut wr);
    composer_keys(&mut wr);
    keys(&mut wr, keymap);
    wr.out
}

/// Number of lines the help has in an 80-column terminal.
pub fn line_count(keymap: &Keymap) -> usize {
    let inner = rect(Rect::new(0, 0, 80, 24)).width.saturating_sub(2);
    lines(keymap, &Theme::fallback(), usize::from(inner)).len()
}

/// The last line the help can start at on a screen of `area` (what the draw clamps to), for the
/// core's [`crate::app::Action::HelpLimit`].
pub fn limit(keymap: &Keymap, area: Rect) -> usize {
    let inner = Block::bordered().inner(rect(area));
    let total = lines(keymap, &Theme::fallback(), usize::from(inner.width)).len();
    total.saturating_sub(usize::from(inner.height))
}

/// The overlay's rectangle in `area`.
fn rect(area: Rect) -> Rect {
    let w = area.width.saturating_sub(4).min(96);
    let h = area.height.saturating_sub(2);
    centered(area, w, h)
}

/// Draw the help overlay over `area`, starting at line `scroll` (clamped to the last page).
pub fn draw(frame: &mut Frame, area: Rect, theme: &Theme, keymap: &Keymap, scroll: usize) {
    let rect = rect(area);
    frame.render_widget(Clear, rect);
    let name = if keymap.name.is_empty() { "keymap".to_string() } else { clean(&keymap.name, 30) };
    let block = Block::bordered()
        .border_style(theme.style(Slot::Confirm))
        .title(Span::styled(format!(" Help (keymap {name}) "), theme.style(Slot::PaneTitle)));
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let all = lines(keymap, theme, usize::from(inner.width));
    let visible = usize::from(inner.height);
    let max_scroll = all.len().saturating_sub(visible);
    let scroll = scroll.min(max_scroll);
    let total = all.len();
    let shown: Vec<Line<'static>> = all.into_iter().skip(scroll).take(visible).collect();
    frame.render_widget(Paragraph::new(shown), inner);
    if rect.height == 0 {
        return;
    }
    let last = (scroll + visible).min(total);
    let up = if scroll > 0 { " ▲" } else { "" };
    let down = if last < total { ", ▼ more" } else { "" };
    let pos = format!("{up} lines {}-{last} of {total}{down} ", scroll + 1);
    let bottom = Rect { y: rect.y + rect.height - 1, height: 1, ..rect };
    let pw = (width(&pos) as u16).min(bottom.width.saturating_sub(2));
    let r = Rect { x: bottom.x + bottom.width.saturating_sub(pw + 1), width: pw, ..bottom };
    frame.render_widget(Paragraph::new(Span::styled(pos, theme.style(Slot::Dim))), r);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drawn(keymap: &Keymap, w: u16, h: u16, scroll: usize) -> String {
        let mut t = ratatui::Terminal::new(ratatui::backend::TestBackend::new(w, h)).unwrap();
        t.draw(|f| draw(f, f.area(), &Theme::fallback(), keymap, scroll)).unwrap();
        let buf = t.backend().buffer().clone();
        buf.content().iter().map(|c| c.symbol()).collect()
    }

    #[test]
    fn the_limit_is_where_the_drawing_stops_scrolling_at_each_size() {
        let keymap = Keymap::preset("default").expect("default keymap");
        for (w, h) in [(80, 24), (120, 40), (60, 20)] {
            let limit = limit(&keymap, Rect::new(0, 0, w, h));
            assert!(limit > 0, "the help is longer than {w}x{h}");
            let end = drawn(&keymap, w, h, limit);
            assert_eq!(end, drawn(&keymap, w, h, limit + 50), "{w}x{h}: past the limit draws the same");
            assert_ne!(end, drawn(&keymap, w, h, limit - 1), "{w}x{h}: one line before the limit differs");
            assert!(!end.contains("more"), "{w}x{h}: the last page says nothing more");
        }
        let small = limit(&keymap, Rect::new(0, 0, 80, 24));
        assert!(small > limit(&keymap, Rect::new(0, 0, 120, 40)));
        assert_eq!(limit(&keymap, Rect::new(0, 0, 200, 1000)), 0, "all of it fits");
    }

    #[test]
    fn wrap_keeps_every_word_within_the_width() {
        let text = "Open the runbook picker (guided, confirmed procedures from the failover plan)";
        let out = wrap(text, 20);
        assert!(out.iter().all(|l| width(l) <= 20), "{out:?}");
        assert_eq!(out.join(" "), text);
        assert_eq!(wrap("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        assert_eq!(wrap("", 10), [""]);
    }

    #[test]
    fn every_bound_key_and_every_legend_symbol_is_in_the_help_at_80_columns() {
        let keymap = Keymap::preset("default").expect("default keymap");
        let theme = Theme::fallback();
        let text: String = lines(&keymap, &theme, 74)
            .iter()
            .map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect::<String>() + "\n")
            .collect();
        assert!(text.lines().all(|l| width(l) <= 74), "a line wider than the help");
        let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
        for (layer, _) in KeyLayer::ALL {
            for b in keymap.bindings(*layer) {
                let desc = if b.desc.is_empty() { b.command.description() } else { b.desc.as_str() };
                assert!(flat.contains(desc), "description of {} cut: {desc}", b.command.name());
            }
        }
        for g in LEGEND.iter().flat_map(|(_, g)| g.iter()) {
            assert!(flat.contains(&format!("{} {}", g.sym, g.meaning)), "{} not explained", g.sym);
        }
        assert!(flat.contains("Getting started"));
        for (k, desc) in COMPOSER_KEYS {
            assert!(flat.contains(&format!("{k} {desc}")), "composer key {k} not explained");
        }
        assert!(flat.contains("Enter breaks a line, Ctrl-S previews and posts it"), "{flat}");
    }
}
