//! Fuzzing (proptest) the parsers of files people edit or that crashes can damage: config,
//! theme, keymap, checklist and runbook TOML, and the incident-log (JSONL) reader. For arbitrary bytes
//! and for mutations of the shipped valid files: no panic, and every error names the file, a
//! line and a column (TOML) or the line (JSONL) that lie inside the text. Valid inputs
//! round-trip: a reformatted file parses to the same value; the config re-serializes to itself;
//! log entries read back as written.
//!
//! Adding a parser is a 5-line change: write a `fn x(text: &str, file: &Path) -> Outcome` like
//! [`runbook`] below, add it to [`PARSERS`] with the shipped files it must accept, and every
//! property here covers it.

use std::path::{Path, PathBuf};

use proptest::prelude::*;

use warroom::config::error::ConfigError;
use warroom::config::load::parse_config;
use warroom::config::{Keymap, Theme};
use warroom::incident::checklist::{Checklist, ChecklistError};
use warroom::incident::entry::EntryKind;
use warroom::incident::log::{IncidentLog, LogError, read_log, verify};

/// What a parser made of a text: a value rendered for comparison (`Debug`), or an error with
/// the position it claims.
#[derive(Debug)]
enum Outcome {
    /// Parsed; the `Debug` text of the value.
    Parsed(String),
    /// Rejected.
    Rejected {
        /// File named by the error.
        file: PathBuf,
        /// 1-based line (0 = none).
        line: usize,
        /// 1-based column (0 = none).
        column: usize,
        /// The error as displayed.
        display: String,
    },
}

fn config_error(e: ConfigError) -> Outcome {
    Outcome::Rejected { display: e.to_string(), file: e.file, line: e.line, column: e.column }
}

fn config(text: &str, file: &Path) -> Outcome {
    parse_config(text, file).map_or_else(config_error, |c| Outcome::Parsed(format!("{c:?}")))
}

fn theme(text: &str, file: &Path) -> Outcome {
    Theme::from_toml(text, file, None).map_or_else(config_error, |t| Outcome::Parsed(format!("{t:?}")))
}

fn keymap(text: &str, file: &Path) -> Outcome {
    Keymap::from_toml(text, file, None).map_or_else(config_error, |k| Outcome::Parsed(format!("{k:?}")))
}

fn checklist(text: &str, file: &Path) -> Outcome {
    match Checklist::from_toml(text, file) {
        Ok(c) => Outcome::Parsed(format!("{c:?}")),
        Err(e @ ChecklistError::Invalid { .. }) => {
            let display = e.to_string();
            let ChecklistError::Invalid { file, line, column, .. } = e else { unreachable!() };
            Outcome::Rejected { file, line, column, display }
        }
        Err(e @ ChecklistError::Io { .. }) => panic!("parsing text did I/O: {e}"),
    }
}

/// A TOML parser under test: name, function, and the shipped files it must accept.
fn runbook(text: &str, file: &Path) -> Outcome {
    match warroom::runbook::parse::parse(text, file) {
        // Positions (spans) move when a file is reformatted; the value must not.
        Ok(r) => Outcome::Parsed(without_spans(&format!("{r:?}"))),
        // Every problem is reported; the first must name a position like the others.
        Err(mut errors) => config_error(errors.remove(0)),
    }
}

/// `Spanned { span: 1..2, value: X }` -> `X`, so two layouts of one runbook compare equal.
fn without_spans(debug: &str) -> String {
    let mut out = String::with_capacity(debug.len());
    let mut rest = debug;
    while let Some(i) = rest.find("Spanned { span: ") {
        out.push_str(&rest[..i]);
        let after = &rest[i + "Spanned { span: ".len()..];
        let Some(v) = after.find(", value: ") else { break };
        rest = &after[v + ", value: ".len()..];
        out.push_str("Spanned(");
    }
    out.push_str(rest);
    out
}

type Parser = (&'static str, fn(&str, &Path) -> Outcome, &'static [&'static str]);

/// Every TOML parser and its valid corpus.
const PARSERS: &[Parser] = &[
    ("config", config, &["examples/warroom.toml"]),
    (
        "theme",
        theme,
        &["themes/default.toml", "themes/high-contrast.toml", "themes/light.toml", "themes/mono.toml"],
    ),
    ("keymap", keymap, &["keymaps/default.toml", "keymaps/vim.toml"]),
    ("checklist", checklist, &["checklists/communication.toml"]),
    (
        "runbook",
        runbook,
        &[
            "runbooks/db-failover.toml",
            "runbooks/redis-failover.toml",
            "runbooks/dns-failover.toml",
            "runbooks/region-failover.toml",
            "runbooks/restore-primary.toml",
            "runbooks/rollback.toml",
            "runbooks/redis-verify.toml",
            "runbooks/fence-stray-primary.toml",
        ],
    ),
];

fn read(rel: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)).expect("shipped file")
}

/// Checks the error names `file` and a line/column inside `text`, and displays them.
fn check_position(parser: &str, text: &str, file: &Path, outcome: &Outcome) -> Result<(), TestCaseError> {
    if let Outcome::Rejected { file: named, line, column, display } = outcome {
        prop_assert_eq!(named, file, "{}: error names another file: {}", parser, display);
        let lines = text.split('\n').count();
        prop_assert!(*line >= 1 && *line <= lines, "{}: line {} of {}: {}", parser, line, lines, display);
        let width = text.split('\n').nth(line - 1).map_or(0, |l| l.chars().count());
        prop_assert!(
            *column >= 1 && *column <= width + 1,
            "{}: column {} of {}: {}",
            parser,
            column,
            width,
            display
        );
        let prefix = format!("{}:{line}:{column}: ", file.display());
        prop_assert!(
            display.starts_with(&prefix),
            "{}: {:?} does not start with {:?}",
            parser,
            display,
            prefix
        );
        prop_assert!(display.len() > prefix.len() + 3, "{}: no message: {:?}", parser, display);
    }
    Ok(())
}

/// One edit of a text: delete, insert, duplicate or swap.
#[derive(Debug, Clone)]
enum Mutation {
    Delete { at: usize, len: usize },
    Insert { at: usize, text: String },
    DuplicateLine { line: usize },
    SwapLines { a: usize, b: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let snippet = prop_oneof![
        Just("\"".to_string()),
        Just("'''".to_string()),
        Just("[".to_string()),
        Just("]]\n".to_string()),
        Just("\n[[phase]]\n".to_string()),
        Just(" = ".to_string()),
        Just("\u{0}\u{1b}[2J\u{9b}\u{202e}".to_string()),
        Just("日本🚨\u{200d}".to_string()),
        Just("inherits = \"default\"\n".to_string()),
        Just("=-1e999\n".to_string()),
        Just("x.y.z = { a = [1, \"2\", {b = 3}] }\n".to_string()),
        ".{0,12}",
    ];
    prop_oneof![
        (any::<usize>(), 1usize..40).prop_map(|(at, len)| Mutation::Delete { at, len }),
        (any::<usize>(), snippet).prop_map(|(at, text)| Mutation::Insert { at, text }),
        any::<usize>().prop_map(|line| Mutation::DuplicateLine { line }),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines { a, b }),
    ]
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn apply(text: &str, m: &Mutation) -> String {
    match m {
        Mutation::Delete { at, len } => {
            let a = floor_boundary(text, at % (text.len() + 1));
            let b = floor_boundary(text, a + len);
            format!("{}{}", &text[..a], &text[b..])
        }
        Mutation::Insert { at, text: ins } => {
            let a = floor_boundary(text, at % (text.len() + 1));
            format!("{}{ins}{}", &text[..a], &text[a..])
        }
        Mutation::DuplicateLine { line } => {
            let mut lines: Vec<&str> = text.split('\n').collect();
            let i = line % lines.len();
            lines.insert(i, lines[i]);
            lines.join("\n")
        }
        Mutation::SwapLines { a, b } => {
            let mut lines: Vec<&str> = text.split('\n').collect();
            let n = lines.len();
            lines.swap(a % n, b % n);
            lines.join("\n")
        }
    }
}

#[test]
fn shipped_files_parse_and_survive_reformatting() {
    for (name, parse, files) in PARSERS {
        for rel in *files {
            let text = read(rel);
            let file = Path::new(rel);
            let Outcome::Parsed(value) = parse(&text, file) else {
                panic!("{name}: shipped {rel} rejected: {:?}", parse(&text, file));
            };
            // Reformatted by the toml crate (comments dropped, tables normalized): same value.
            let table: toml::Table = toml::from_str(&text).expect("valid TOML");
            let reformatted = toml::to_string(&table).expect("serialize");
            match parse(&reformatted, file) {
                Outcome::Parsed(again) => assert_eq!(again, value, "{name}: {rel} changes when reformatted"),
                other => panic!("{name}: reformatted {rel} rejected: {other:?}\n{reformatted}"),
            }
        }
    }
}

#[test]
fn a_broken_line_is_the_line_the_error_names() {
    for (name, parse, files) in PARSERS {
        for rel in *files {
            let text = read(rel);
            // An unterminated string at the start of the third non-empty line.
            let lines: Vec<&str> = text.split('\n').collect();
            let target =
                lines.iter().enumerate().filter(|(_, l)| !l.trim().is_empty()).nth(2).expect("3 lines").0;
            let mut broken: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
            broken[target] = format!("\"{}", broken[target]);
            let broken = broken.join("\n");
            let file = Path::new(rel);
            match parse(&broken, file) {
                Outcome::Rejected { line, column, ref display, .. } => {
                    assert_eq!(line, target + 1, "{name}: {display}");
                    assert!(column >= 1, "{name}: {display}");
                }
                other => panic!("{name}: {rel} with a broken line {} accepted: {other:?}", target + 1),
            }
        }
    }
}

#[test]
fn the_config_model_round_trips_through_toml() {
    let text = read("examples/warroom.toml");
    let cfg = parse_config(&text, Path::new("warroom.toml")).expect("example config");
    let written = toml::to_string(&cfg).expect("serialize config");
    let back = parse_config(&written, Path::new("warroom.toml"))
        .unwrap_or_else(|e| panic!("re-serialized config rejected: {e}\n{written}"));
    assert_eq!(back, cfg);
}

#[test]
fn every_invalid_fixture_names_file_line_and_column() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/config");
    let mut checked = 0;
    for (kind, parse) in
        [("config", config as fn(&str, &Path) -> Outcome), ("theme", theme), ("keymap", keymap)]
    {
        for entry in std::fs::read_dir(dir.join(kind)).expect("fixture dir") {
            let path = entry.expect("entry").path();
            let text = std::fs::read_to_string(&path).expect("fixture");
            let outcome = parse(&text, &path);
            if let Outcome::Rejected { .. } = outcome {
                check_position(kind, &text, &path, &outcome)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                checked += 1;
            }
        }
    }
    assert!(checked >= 15, "only {checked} fixtures were rejected");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic_and_errors_carry_positions(
        bytes in prop::collection::vec(any::<u8>(), 0..400),
        which in 0..PARSERS.len(),
    ) {
        let text = String::from_utf8_lossy(&bytes);
        let (name, parse, _) = PARSERS[which];
        let file = Path::new("/etc/warroom/fuzzed.toml");
        let outcome = parse(&text, file);
        check_position(name, &text, file, &outcome)?;
    }

    #[test]
    fn mutated_valid_files_never_panic_and_errors_carry_positions(
        which in 0..PARSERS.len(),
        pick in any::<usize>(),
        edits in prop::collection::vec(mutation(), 1..4),
    ) {
        let (name, parse, files) = PARSERS[which];
        let rel = files[pick % files.len()];
        let mut text = read(rel);
        for m in &edits {
            text = apply(&text, m);
        }
        let file = PathBuf::from(format!("/home/alice/.config/warroom/{rel}"));
        let outcome = parse(&text, &file);
        check_position(name, &text, &file, &outcome)?;
    }
}

// ---------------------------------------------------------------- the incident-log reader

/// A valid three-entry log in a fresh data dir; returns (dir, log path, its bytes).
fn valid_log() -> (tempfile::TempDir, PathBuf, Vec<u8>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let now = chrono::Utc::now();
    let (log, _) =
        IncidentLog::declare(dir.path(), "db down", "SEV1", true, "alice@h", now).expect("declare");
    log.append(&EntryKind::Note, "first note", serde_json::json!({ "n": 1, "s": "ünï \u{1b}[2J" }))
        .expect("append");
    log.append(&EntryKind::Note, "second note", serde_json::json!([1, 2])).expect("append");
    let path = log.path().to_path_buf();
    let bytes = std::fs::read(&path).expect("read");
    (dir, path, bytes)
}

/// The reader's error must name the file and a line that exists (JSONL errors name the line).
fn check_log_error(path: &Path, bytes: &[u8], e: &LogError) -> Result<(), TestCaseError> {
    let display = e.to_string();
    prop_assert!(display.contains(&path.display().to_string()), "error names no file: {}", display);
    match e {
        LogError::Corrupt { line, column, .. } => {
            let lines = bytes.split(|b| *b == b'\n').count();
            prop_assert!(*line >= 1 && *line <= lines, "line {} of {}: {}", line, lines, display);
            prop_assert!(*column >= 1, "{}", display);
            let prefix = format!("{}:{line}:", path.display());
            prop_assert!(display.starts_with(&prefix), "{:?} lacks {:?}", display, prefix);
        }
        LogError::NotAnIncident { .. } => {}
        other => prop_assert!(false, "unexpected reader error: {other:?}"),
    }
    Ok(())
}

#[test]
fn log_entries_round_trip() {
    let (_dir, path, _) = valid_log();
    let entries = read_log(&path).expect("read");
    assert_eq!(entries.len(), 3);
    assert_eq!(entries[1].details["s"], "ünï \u{1b}[2J");
    assert_eq!(entries[2].details["value"], serde_json::json!([1, 2]));
    assert!(verify(&path).expect("verify").is_intact());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn a_damaged_incident_log_never_panics_the_reader(
        at in any::<usize>(),
        cut in 0usize..64,
        junk in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let (_dir, path, bytes) = valid_log();
        let at = at % (bytes.len() + 1);
        let mut damaged = bytes[..at].to_vec();
        damaged.extend_from_slice(&junk);
        damaged.extend_from_slice(&bytes[(at + cut).min(bytes.len())..]);
        std::fs::write(&path, &damaged).expect("write");
        match read_log(&path) {
            Ok(entries) => prop_assert!(entries.len() <= 3 + junk.iter().filter(|b| **b == b'\n').count()),
            Err(e) => check_log_error(&path, &damaged, &e)?,
        }
        // The chain walker must not panic either; an intact report must mean bytes are intact.
        if let Ok(report) = verify(&path)
            && report.is_intact()
            && report.pending_torn.is_none()
        {
            prop_assert_eq!(&damaged, &bytes, "damage not detected");
        }
    }

    #[test]
    fn arbitrary_bytes_as_a_log_never_panic_the_reader(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("INC-20261126-120000.jsonl");
        std::fs::write(&path, &bytes).expect("write");
        if let Err(e) = read_log(&path) {
            check_log_error(&path, &bytes, &e)?;
        }
        let _ = verify(&path);
    }
}
