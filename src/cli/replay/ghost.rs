//! `warroom replay ID --as-trainee [--operator NAME]`: ghost mode (see [`crate::app::ghost`]).
//! The trainee's card is printed on exit and written as JSON next to the recording
//! (`<ID>.rec/ghost-<operator>-<time>.json`), never into the incident log: a training replay
//! must not write into a live incident.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::{ReplayArgs, Replayable};
use crate::app::ghost::{Ghost, GhostCard, render_text};
use crate::app::replay::Timeline;
use crate::backends::drill::scenario::registry;
use crate::config::load::Loaded;
use crate::incident::operator::operator_for;
use crate::incident::recorder::recordings_dir;
use crate::ui::UiContext;

/// Run ghost mode over `rec`. Returns the exit code (2: bad `--operator`; 1: nothing to train
/// on or the card could not be written).
pub async fn run(args: &ReplayArgs, loaded: &Loaded, rec: Replayable) -> color_eyre::Result<i32> {
    let operator = match operator_for(args.operator.as_deref()) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("warroom replay: {e}");
            return Ok(2);
        }
    };
    let d = &rec.initial.domain;
    let (title, original_operator) = (d.incident.title.clone(), d.operator.clone());
    let runbooks = expected_runbooks(d.recovery.fault.as_deref(), loaded.paths.scenarios_dir().as_deref());
    let timeline = Timeline::new(rec.initial, rec.actions);
    let mut ghost = Ghost::new(&timeline, &runbooks);
    if ghost.points().is_empty() {
        eprintln!("warroom replay: no step was confirmed in the recording of {}: nothing to decide", args.id);
        return Ok(1);
    }
    let ctx = UiContext { theme: loaded.theme.clone(), keymap: loaded.keymap.clone() };
    crate::tui::ghost::run(&timeline, &ctx, &mut ghost, args.speed).await?;
    let card = ghost.card(&args.id, &title, &operator, &original_operator);
    // A closed stdout does not stop the card being written.
    for line in render_text(&card) {
        let _ = crate::cli::out::line(&line);
    }
    match write_card(&loaded.paths.data_dir, &card, Utc::now()) {
        Ok(path) => {
            let _ = crate::cli::out::line(&format!("Card written to {}", path.display()));
            Ok(0)
        }
        Err(e) => {
            eprintln!("warroom replay: cannot write the ghost card: {e}");
            Ok(1)
        }
    }
}

/// The runbooks a drill's scenario expects (none for a live incident or an unknown scenario:
/// the runbook running at each stop is then the plan).
fn expected_runbooks(scenario: Option<&str>, scenarios_dir: Option<&Path>) -> Vec<String> {
    scenario.and_then(|s| registry::find(s, scenarios_dir).ok()).map(|def| def.runbooks).unwrap_or_default()
}

/// A file-name-safe form of an operator name (`alice@lab` stays, `a b/c` becomes `a_b_c`).
pub fn file_safe(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || "@.-_".contains(c) { c } else { '_' }).collect()
}

/// Write `card` as `<data>/incidents/<ID>.rec/ghost-<operator>-<time>.json` (created new, 0600).
/// Nothing else is touched: not the incident log, not the recording's segments.
pub fn write_card(data_dir: &Path, card: &GhostCard, now: DateTime<Utc>) -> Result<PathBuf, String> {
    let dir = recordings_dir(data_dir, &card.incident)
        .ok_or_else(|| format!("invalid incident id {:?}", card.incident))?;
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let stem = format!("ghost-{}-{}", file_safe(&card.operator), now.format("%Y%m%dT%H%M%SZ"));
    let json = serde_json::to_vec_pretty(card).map_err(|e| e.to_string())?;
    for n in 0..100 {
        let name = if n == 0 { format!("{stem}.json") } else { format!("{stem}-{n}.json") };
        let path = dir.join(name);
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        match opts.open(&path) {
            Ok(mut f) => {
                f.write_all(&json)
                    .and_then(|()| f.sync_all())
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                return Ok(path);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(format!("{}: {e}", path.display())),
        }
    }
    Err(format!("{}: too many cards named {stem}", dir.display()))
}
