//! Dependencies point one way: a layer names only the layers listed before it in [`TABLE`]
//! (lowest first), and only `config`, `ui`, `tui` and `cli` name the terminal crates. A
//! forbidden path in any form (`use crate::ui::x`, `crate::{app, ui}`, `super::super::ui` out of
//! a layer, a doc link) fails [`dependencies_point_one_way`] with the file, the line and the
//! rule it breaks.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use regex::Regex;

/// What a layer may name among the layers listed before it in [`TABLE`].
#[derive(Clone, Copy)]
enum Below {
    /// Every one of them.
    All,
    /// Every one but these.
    AllBut(&'static [&'static str]),
    /// Only these (the leaves name none).
    Only(&'static [&'static str]),
}

/// One layer: what it may name besides itself.
struct Row {
    /// The top-level module (`src/<layer>.rs` and everything under `src/<layer>/`).
    layer: &'static str,
    /// The layers before it that it may name.
    may_use: Below,
    /// Whether it may name `crossterm` or `ratatui`.
    terminal: bool,
}

const fn row(layer: &'static str, may_use: Below, terminal: bool) -> Row {
    Row { layer, may_use, terminal }
}

const TERMINAL: bool = true;
const NO_TERMINAL: bool = false;
const LEAF: Below = Below::Only(&[]);

/// The layers, lowest first.
const TABLE: &[Row] = &[
    // Leaves: the clock, sanitizing and redacting, the key-command vocabulary, diagnostics.
    row("clock", LEAF, NO_TERMINAL),
    row("text", LEAF, NO_TERMINAL),
    row("command", LEAF, NO_TERMINAL),
    row("diagnostics", LEAF, NO_TERMINAL),
    // The files the user edits (keys and colours are terminal vocabulary).
    row("config", Below::All, TERMINAL),
    // What can be done to the estate: the vocabulary backends and runbooks share.
    row("operation", LEAF, NO_TERMINAL),
    // The systems: observe and operate; know nothing of the core, the screen or the record.
    row("backends", Below::All, NO_TERMINAL),
    // The durable record and what is derived from it.
    row("incident", Below::All, NO_TERMINAL),
    // Catalogue, plans, previews, prechecks, assertions.
    row("runbook", Below::All, NO_TERMINAL),
    // The pure core: knows no terminal and no screen.
    row("app", Below::All, NO_TERMINAL),
    // Carries out the core's effects.
    row("runner", Below::All, NO_TERMINAL),
    // The one loop that feeds the core (console, exec, tests).
    row("driver", Below::All, NO_TERMINAL),
    // Draws the state: reads the core, never drives it.
    row("ui", Below::AllBut(&["runner", "driver"]), TERMINAL),
    // The terminal and the event loop.
    row("tui", Below::All, TERMINAL),
    // The commands: everything.
    row("cli", Below::All, TERMINAL),
];

/// The layers `TABLE[i]` may name.
fn allowed(i: usize) -> Vec<&'static str> {
    let below = TABLE[..i].iter().map(|r| r.layer);
    match TABLE[i].may_use {
        Below::All => below.collect(),
        Below::AllBut(not) => below.filter(|l| !not.contains(l)).collect(),
        Below::Only(only) => only.to_vec(),
    }
}

/// What a line of one file names.
#[derive(Debug, PartialEq, Eq)]
enum Named {
    /// A top-level module of ours.
    Module(String),
    /// `crossterm` or `ratatui`.
    Terminal(String),
}

/// Every `(line, named)` in `text`, a file at module path `module` (`["app", "guard"]` for
/// `src/app/guard.rs`): `crate::x` and `crate::{x, y::z}`, `super::…` chains that climb out of
/// the layer, and the terminal crates.
fn names(text: &str, module: &[String]) -> Vec<(usize, Named)> {
    let line_of = |at: usize| text[..at].matches('\n').count() + 1;
    let mut out = Vec::new();
    let crate_path = Regex::new(r"\bcrate\s*::\s*(\{|[A-Za-z_][A-Za-z0-9_]*)").expect("regex");
    for c in crate_path.captures_iter(text) {
        let m = c.get(1).expect("group");
        if m.as_str() == "{" {
            for (at, first) in group_items(text, m.end()) {
                out.push((line_of(at), Named::Module(first)));
            }
        } else {
            out.push((line_of(m.start()), Named::Module(m.as_str().to_string())));
        }
    }
    // `super::` once per level of the file's module path reaches the crate root.
    if !module.is_empty() {
        let supers =
            Regex::new(&format!(r"\b(?:super\s*::\s*){{{}}}(\{{|[A-Za-z_][A-Za-z0-9_]*)", module.len()))
                .expect("regex");
        for c in supers.captures_iter(text) {
            let m = c.get(1).expect("group");
            if m.as_str() == "{" {
                for (at, first) in group_items(text, m.end()) {
                    out.push((line_of(at), Named::Module(first)));
                }
            } else if m.as_str() != "super" {
                out.push((line_of(m.start()), Named::Module(m.as_str().to_string())));
            }
        }
    }
    let terminal = Regex::new(r"\b(crossterm|ratatui)\s*::|\buse\s+(crossterm|ratatui)\b").expect("regex");
    for c in terminal.captures_iter(text) {
        let m = c.get(1).or_else(|| c.get(2)).expect("group");
        out.push((line_of(m.start()), Named::Terminal(m.as_str().to_string())));
    }
    out.sort_by_key(|(line, _)| *line);
    out
}

/// The first segment of each top-level item of the `{ … }` group opening at `start` (just
/// after the `{`), with its position.
fn group_items(text: &str, start: usize) -> Vec<(usize, String)> {
    let mut items = Vec::new();
    let mut depth = 0usize;
    let mut item_start = start;
    for (i, ch) in text[start..].char_indices() {
        let at = start + i;
        match ch {
            '{' => depth += 1,
            '}' if depth > 0 => depth -= 1,
            ',' | '}' if depth == 0 => {
                let item = &text[item_start..at];
                let first: String =
                    item.trim_start().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                if !first.is_empty() {
                    items.push((item_start + item.len() - item.trim_start().len(), first));
                }
                if ch == '}' {
                    break;
                }
                item_start = at + 1;
            }
            _ => {}
        }
    }
    items
}

/// The top-level modules `src/lib.rs` declares.
fn modules(src: &Path) -> BTreeSet<String> {
    let lib = std::fs::read_to_string(src.join("lib.rs")).expect("src/lib.rs");
    let decl = Regex::new(r"(?m)^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+([a-z_][a-z0-9_]*)\s*;").expect("regex");
    decl.captures_iter(&lib).map(|c| c[1].to_string()).collect()
}

fn rs_files(p: &Path, out: &mut Vec<PathBuf>) {
    if p.is_dir() {
        for e in std::fs::read_dir(p).expect("readable src dir") {
            rs_files(&e.expect("dir entry").path(), out);
        }
    } else if p.extension().is_some_and(|e| e == "rs") {
        out.push(p.to_path_buf());
    }
}

/// The module path of `file` under `src` (`src/app/guard/tests.rs` -> `app, guard, tests`).
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).expect("under src").with_extension("");
    rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect()
}

/// Every break of `row`'s rule in `files` (a layer's `<layer>.rs` and `<layer>/`, under `src`),
/// as `src/file:line: rule broken: code`. `ours` are the modules of the crate; `allowed` the layers the
/// row lets it name.
fn violations(
    src: &Path,
    files: &[PathBuf],
    row: &Row,
    ours: &BTreeSet<String>,
    allowed: &[&str],
) -> Vec<String> {
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(f).expect("utf-8 source");
        let lines: Vec<&str> = text.lines().collect();
        for (line, named) in names(&text, &module_path(src, f)) {
            let rule = match &named {
                Named::Module(m) if m != row.layer && ours.contains(m) && !allowed.contains(&m.as_str()) => {
                    format!("{} must not name crate::{m} (it may name: {})", row.layer, list(allowed))
                }
                Named::Terminal(t) if !row.terminal => {
                    format!("{} must not name {t} (it knows no terminal)", row.layer)
                }
                _ => continue,
            };
            let code = lines.get(line - 1).map_or("", |l| l.trim());
            let shown = Path::new("src").join(f.strip_prefix(src).unwrap_or(f));
            out.push(format!("{}:{line}: {rule}: {code}", shown.display()));
        }
    }
    out
}

fn list(names: &[&str]) -> String {
    if names.is_empty() { "nothing of ours".to_string() } else { names.join(", ") }
}

fn layer_files(src: &Path, layer: &str) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let decl = src.join(format!("{layer}.rs"));
    if decl.exists() {
        files.push(decl);
    }
    rs_files(&src.join(layer), &mut files);
    files
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn dependencies_point_one_way() {
    let src = src();
    let ours = modules(&src);
    let mut bad = Vec::new();
    for (i, row) in TABLE.iter().enumerate() {
        let files = layer_files(&src, row.layer);
        assert!(!files.is_empty(), "no Rust file for layer {}", row.layer);
        bad.extend(violations(&src, &files, row, &ours, &allowed(i)));
    }
    assert!(bad.is_empty(), "dependencies that point the wrong way:\n{}", bad.join("\n"));
}

#[test]
fn the_table_is_one_way_and_names_every_module() {
    let ours = modules(&src());
    let mut below: Vec<&str> = Vec::new();
    for (i, row) in TABLE.iter().enumerate() {
        let named = match row.may_use {
            Below::All => &[][..],
            Below::AllBut(names) | Below::Only(names) => names,
        };
        for m in named {
            assert!(below.contains(m), "{} names {m}, which is not a layer below it", row.layer);
        }
        assert!(allowed(i).iter().all(|m| below.contains(m)), "{} may name only layers below it", row.layer);
        below.push(row.layer);
    }
    let rows: BTreeSet<String> = TABLE.iter().map(|r| r.layer.to_string()).collect();
    let missing: Vec<&String> = ours.difference(&rows).collect();
    assert!(missing.is_empty(), "modules with no row in TABLE (add one where it belongs): {missing:?}");
    let extra: Vec<&String> = rows.difference(&ours).collect();
    assert!(extra.is_empty(), "rows for modules src/lib.rs does not declare: {extra:?}");
}

#[test]
fn the_check_sees_a_forbidden_use() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = dir.path();
    std::fs::create_dir_all(src.join("backends/kube")).expect("mkdir");
    let top = src.join("backends.rs");
    std::fs::write(&top, "use std::fmt;\nuse crate::config::Config;\nuse super::ui::x;\n").expect("write");
    let nested = src.join("backends/kube/watch.rs");
    std::fs::write(
        &nested,
        "use crate::{\n    config,\n    app::State,\n};\n/// See [`crate::tui::run`].\nuse super::super::super::cli;\n\
         use super::super::poller;\nuse crossterm::event;\nfn f() { ratatui::widgets::Block::new(); }\n",
    )
    .expect("write");
    let ours: BTreeSet<String> =
        ["config", "backends", "app", "ui", "tui", "cli", "clock"].iter().map(ToString::to_string).collect();
    let row = row("backends", Below::Only(&["config", "clock"]), NO_TERMINAL);
    let found = violations(src, &[top.clone(), nested.clone()], &row, &ours, &["config", "clock"]);
    let at: Vec<String> =
        found.iter().map(|f| f.split(": ").next().unwrap_or_default().to_string()).collect();
    let (t, n) = ("src/backends.rs", "src/backends/kube/watch.rs");
    let expected = [3, 5, 6, 8, 9].map(|line| format!("{n}:{line}"));
    assert_eq!(at[0], format!("{t}:3"), "{found:#?}");
    assert_eq!(at[1..], expected, "{found:#?}");
    assert!(
        found[0]
            .ends_with(": backends must not name crate::ui (it may name: config, clock): use super::ui::x;"),
        "{found:#?}"
    );
    assert!(found[1].contains("backends must not name crate::app"), "{found:#?}");
    assert!(found[4].contains("backends must not name crossterm (it knows no terminal)"), "{found:#?}");
    // A layer names itself and what its row allows.
    let allowed = violations(src, &[top], &row, &ours, &["config", "clock", "ui"]);
    assert!(allowed.is_empty(), "{allowed:?}");
}
