//! Dependencies point one way: a `use` of a higher layer in a lower one fails this test, with
//! the file and line. Backends know nothing of the core, the screen or the terminal; the incident
//! record knows nothing of the core or the screen; `clock` and `text` are leaves.

use std::path::{Path, PathBuf};

/// Every layer of ours but the leaf `text` itself.
const LEAF: &[&str] = &[
    "crate::app",
    "crate::ui",
    "crate::tui",
    "crate::cli",
    "crate::backends",
    "crate::incident",
    "crate::runbook",
    "crate::config",
    "crate::runner",
];

/// (directory or file under `src/`, the paths it must never name)
const RULES: &[(&str, &[&str])] = &[
    ("backends", &["crate::app", "crate::ui", "crate::tui", "crate::cli"]),
    ("incident", &["crate::app", "crate::ui", "crate::tui", "crate::cli"]),
    ("clock.rs", &["crate::"]),
    ("text.rs", LEAF),
    ("text", LEAF),
];

fn files(p: &Path, out: &mut Vec<PathBuf>) {
    if p.is_dir() {
        for e in std::fs::read_dir(p).expect("readable src dir") {
            files(&e.expect("dir entry").path(), out);
        }
    } else if p.extension().is_some_and(|e| e == "rs") {
        out.push(p.to_path_buf());
    }
}

/// Every `file:line: text` in `root` that names one of `forbidden`.
fn violations(root: &Path, forbidden: &[&str]) -> Vec<String> {
    let mut all = Vec::new();
    files(root, &mut all);
    assert!(!all.is_empty(), "no Rust file under {}", root.display());
    let mut out = Vec::new();
    for f in all {
        let text = std::fs::read_to_string(&f).expect("utf-8 source");
        for (i, line) in text.lines().enumerate() {
            if forbidden.iter().any(|x| line.contains(x)) {
                out.push(format!("{}:{}: {}", f.display(), i + 1, line.trim()));
            }
        }
    }
    out
}

#[test]
fn dependencies_point_one_way() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut bad = Vec::new();
    for (part, forbidden) in RULES {
        // A layer is its directory and, beside it, the file that declares it (`backends.rs`).
        bad.extend(violations(&src.join(part), forbidden));
        let decl = src.join(format!("{part}.rs"));
        if !part.ends_with(".rs") && decl.exists() {
            bad.extend(violations(&decl, forbidden));
        }
    }
    assert!(bad.is_empty(), "forbidden imports:\n{}", bad.join("\n"));
}

#[test]
fn the_check_sees_a_forbidden_use() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("x.rs"), "use std::fmt;\nuse crate::ui::sanitize::sanitize;\n")
        .expect("write");
    let found = violations(dir.path(), &["crate::ui"]);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].ends_with("x.rs:2: use crate::ui::sanitize::sanitize;"), "{found:?}");
}
