//! Every symbol the screen draws, with what it means: the help's legend is this table, and a
//! unit test reads the source of `ui/` so a symbol drawn anywhere cannot be missing from it.

/// A symbol the screen draws and what it means where it appears.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Glyph {
    /// The symbol as drawn.
    pub sym: &'static str,
    /// What it means (where it appears, in words).
    pub meaning: &'static str,
}

/// Healthy, fresh, agreed (pane rows, freshness badges).
pub const HEALTHY: &str = "●";
/// Stale data or a partial answer (a context, Sentinel or health check lost).
pub const STALE: &str = "◐";
/// Down, failed, unreachable, not ready.
pub const DOWN: &str = "✗";
/// Fenced primary, circuit breaker open, step aborted.
pub const BLOCKED: &str = "⊘";
/// A check or step that passed.
pub const OK: &str = "✓";
/// Pending or in progress.
pub const PENDING: &str = "…";
/// Not configured.
pub const NOT_CONFIGURED: &str = "–";
/// Step proposed.
pub const PROPOSED: &str = "○";
/// Step prechecked.
pub const PRECHECKED: &str = "◇";
/// Step awaiting confirmation.
pub const AWAITING: &str = "?";
/// Step confirmed, awaiting another person's approval (two-person rule).
pub const AWAITING_APPROVAL: &str = "⧗";
/// Step skipped.
pub const SKIPPED: &str = "↷";
/// Step outcome unknown.
pub const UNKNOWN_OUTCOME: &str = "‽";
/// Done, verified with a warning.
pub const WARNING: &str = "⚠";
/// Alarm: two primaries, Sentinels disagree, a master that is not one.
pub const ALARM: &str = "!!";
/// A configuration or console warning (footer line).
pub const NOTICE: &str = "!";
/// Routes to / then.
pub const ROUTES_TO: &str = "→";
/// The database Service routes to this node.
pub const SERVICE: &str = "◀ svc";
/// The focused pane.
pub const FOCUS: &str = "▶";
/// The selected item in a list or the Steps pane.
pub const SELECTED: &str = "›";
/// A runbook recommended for the current state.
pub const RECOMMENDED: &str = "★";
/// Items hidden above.
pub const MORE_ABOVE: &str = "▲";
/// Items hidden below.
pub const MORE_BELOW: &str = "▼";
/// A checklist item done / open.
pub const TICKED: &str = "[x]";
/// A checklist item still open.
pub const OPEN: &str = "[ ]";
/// The cursor of a prompt.
pub const CURSOR: &str = "█";

/// Legend groups, in the order the help shows them.
pub const LEGEND: &[(&str, &[Glyph])] = &[
    (
        "State of a pod, node, region or Sentinel; freshness of a pane",
        &[
            Glyph { sym: HEALTHY, meaning: "healthy / fresh (badge: age of the data) / agreed" },
            Glyph {
                sym: STALE,
                meaning: "stale: the last good data is kept, the source failed since; partial view",
            },
            Glyph { sym: DOWN, meaning: "down, failed, not ready, unreachable, or a failed check" },
            Glyph {
                sym: BLOCKED,
                meaning: "fenced primary (read-only); circuit breaker open (retries later)",
            },
            Glyph { sym: OK, meaning: "passed: health check, quorum, role check" },
            Glyph { sym: PENDING, meaning: "pending: waiting for the first answer, or in progress" },
            Glyph { sym: NOT_CONFIGURED, meaning: "not configured in warroom.toml (the pane says how)" },
        ],
    ),
    (
        "Steps pane",
        &[
            Glyph { sym: PROPOSED, meaning: "proposed (prechecks not run yet)" },
            Glyph { sym: PRECHECKED, meaning: "prechecked, ready to confirm" },
            Glyph { sym: AWAITING, meaning: "awaiting your confirmation" },
            Glyph {
                sym: AWAITING_APPROVAL,
                meaning: "confirmed, awaiting another person's approval (A / D)",
            },
            Glyph { sym: PENDING, meaning: "executing or verifying" },
            Glyph { sym: OK, meaning: "done and verified" },
            Glyph { sym: WARNING, meaning: "done, verified with a warning" },
            Glyph { sym: DOWN, meaning: "failed (retry, skip with a reason, or abort)" },
            Glyph { sym: SKIPPED, meaning: "skipped (the reason is shown)" },
            Glyph { sym: BLOCKED, meaning: "aborted" },
            Glyph {
                sym: UNKNOWN_OUTCOME,
                meaning: "outcome unknown: a console stopped while it ran; verify first",
            },
        ],
    ),
    (
        "Alarms and risk",
        &[
            Glyph { sym: ALARM, meaning: "alarm: split brain (two writable primaries), Sentinels disagree" },
            Glyph { sym: NOTICE, meaning: "warnings about configuration or the console (footer)" },
            Glyph { sym: "[HIGH]", meaning: "high-risk operation: confirm by typing the target's name" },
            Glyph { sym: "[low]", meaning: "low-risk operation: confirm with y" },
        ],
    ),
    (
        "Lists and panes",
        &[
            Glyph { sym: FOCUS, meaning: "the focused pane (keys act on it)" },
            Glyph { sym: SELECTED, meaning: "the selected item" },
            Glyph { sym: RECOMMENDED, meaning: "a runbook recommended for what is observed now" },
            Glyph { sym: SERVICE, meaning: "the database Service routes to this node" },
            Glyph { sym: ROUTES_TO, meaning: "routes to, or: then" },
            Glyph { sym: MORE_ABOVE, meaning: "more items above (scroll up)" },
            Glyph { sym: MORE_BELOW, meaning: "more items below (scroll down)" },
            Glyph { sym: OPEN, meaning: "checklist item open (due / OVERDUE time on the right)" },
            Glyph { sym: TICKED, meaning: "checklist item done" },
            Glyph { sym: CURSOR, meaning: "where typed text goes" },
        ],
    ),
];

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    use super::*;

    /// Characters drawn as punctuation, not symbols with a meaning of their own.
    const PUNCTUATION: &[char] = &['—', '·', '↑', '↓', '─', '␛', '␊', 'é'];

    fn legend_chars() -> BTreeSet<char> {
        LEGEND.iter().flat_map(|(_, g)| g.iter()).flat_map(|g| g.sym.chars()).collect()
    }

    fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).expect("read ui dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }

    /// `file:line: glyph` for each non-ASCII character of `src` (code before its tests, outside
    /// comments) that is neither in the legend nor punctuation.
    fn unexplained(name: &str, src: &str) -> Vec<String> {
        let known = legend_chars();
        let mut out = Vec::new();
        for (n, line) in src.lines().enumerate() {
            if line.trim_start().starts_with("#[cfg(test)]") {
                break;
            }
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            for c in code.chars().filter(|c| !c.is_ascii()) {
                if !known.contains(&c) && !PUNCTUATION.contains(&c) {
                    out.push(format!("{name}:{}: {c}", n + 1));
                }
            }
        }
        out
    }

    /// Every non-ASCII character in the drawing code is in the legend or is punctuation: a new
    /// glyph cannot be drawn without being explained.
    #[test]
    fn every_glyph_the_ui_draws_is_in_the_legend() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = vec![root.join("ui.rs")];
        walk(&root.join("ui"), &mut files);
        assert!(files.len() > 10, "found the ui sources: {files:?}");
        let missing: Vec<String> = files
            .iter()
            .flat_map(|f| unexplained(&f.display().to_string(), &std::fs::read_to_string(f).expect("read")))
            .collect();
        assert!(missing.is_empty(), "glyphs drawn but not in the legend: {missing:#?}");
        // The walk sees a planted glyph, in code and not in comments.
        let planted = "let s = \"\u{2602} rain\";\n// \u{2603} in a comment\n";
        assert_eq!(unexplained("planted.rs", planted), ["planted.rs:1: \u{2602}"]);
    }

    #[test]
    fn the_named_glyphs_are_explained_once_per_group() {
        for (group, glyphs) in LEGEND {
            let syms: BTreeSet<&str> = glyphs.iter().map(|g| g.sym).collect();
            assert_eq!(syms.len(), glyphs.len(), "{group}: a symbol listed twice");
            assert!(glyphs.iter().all(|g| !g.meaning.is_empty()), "{group}");
        }
        for sym in ["●", "◐", "✗", "⊘", "↷", "◇", "○", "!!"] {
            assert!(LEGEND.iter().any(|(_, g)| g.iter().any(|g| g.sym == sym)), "{sym} missing");
        }
    }
}
