//! `warroom` (live console): real backends from `warroom.toml`.

use std::sync::Arc;

use super::UserError;
use super::console::{self, Launch};
use crate::app::Mode;
use crate::backends::live;
use crate::config::Paths;
use crate::config::load::Loaded;
use crate::incident::store::last_open_incident;

/// What `warroom`, `warroom status` and `warroom check` say when there is no configuration:
/// where it was looked for, and how to write one or try a drill.
pub fn no_config(paths: &Paths) -> UserError {
    let default = paths
        .default_config_file()
        .map_or_else(|| "(no config directory on this platform)".to_string(), |p| p.display().to_string());
    UserError::usage(format!(
        "no configuration found: looked for --config FILE, then $WARROOM_CONFIG (unset), then {default}"
    ))
    .hint(
        "start from examples/warroom.toml (see docs/configuration.md) and pass --config FILE or save it \
         there, or try `warroom drill` (no services needed; `warroom drill --list` lists the scenarios)",
    )
}

/// Prints the first problem of a configuration that could not be used (one line: file, line,
/// column, message; `check` lists them all) or, with none, [`no_config`]. Returns exit 2.
pub fn unusable_config(loaded: &Loaded) -> i32 {
    match loaded.warnings.first() {
        Some(w) => {
            let more = loaded.warnings.len() - 1;
            let u = UserError::usage(w.to_string());
            let u = if more > 0 {
                u.hint(format!("{more} more problem(s): `warroom check` lists every one"))
            } else {
                u
            };
            super::error::print_user_error(&u);
        }
        None => super::error::print_user_error(&no_config(&loaded.paths)),
    }
    super::error::exit::USAGE
}

/// Run the live console. Returns the exit code.
pub async fn run(cli: &super::Cli, loaded: Loaded) -> color_eyre::Result<i32> {
    let Some(config) = loaded.config.clone() else {
        return Ok(unusable_config(&loaded));
    };
    if let Some(id) = &cli.incident
        && let Some(why) = console::kind_mismatch(&loaded.paths.data_dir, id, Mode::Live)
    {
        eprintln!("warroom: {why}");
        return Ok(2);
    }
    let config = Arc::new(config);
    let mut title = cli.new.clone();
    let mut severity = cli.severity.clone();
    let resumable = last_open_incident(&loaded.paths.data_dir).ok().flatten().is_some_and(|m| !m.drill);
    if title.is_none() && cli.incident.is_none() && !resumable {
        match ask_declaration()? {
            Some((t, s)) => {
                title = Some(t);
                severity = s;
            }
            None => {
                eprintln!("warroom: no incident declared; nothing started");
                return Ok(2);
            }
        }
    }
    let estate = live::build(&config).await;
    let launch = Launch {
        mode: Mode::Live,
        title: title.clone().unwrap_or_else(|| "Untitled incident".into()),
        severity,
        resume: if title.is_some() { None } else { Some(cli.incident.clone()) },
        read_only: cli.common.read_only,
        config,
        sources: estate.sources,
        operator: estate.operator,
        who: None,
    };
    console::launch(launch, loaded).await
}

/// The first screen when there is nothing to resume: ask for a title and a severity.
fn ask_declaration() -> color_eyre::Result<Option<(String, String)>> {
    use std::io::{BufRead, Write};
    let stdin = std::io::stdin();
    let mut out = std::io::stdout();
    writeln!(out, "warroom: no open incident. Declare one (empty title cancels).")?;
    write!(out, "Title: ")?;
    out.flush()?;
    let mut title = String::new();
    stdin.lock().read_line(&mut title)?;
    let title = title.trim().to_string();
    if title.is_empty() {
        return Ok(None);
    }
    loop {
        write!(out, "Severity SEV1-SEV4 [SEV2]: ")?;
        out.flush()?;
        let mut sev = String::new();
        if stdin.lock().read_line(&mut sev)? == 0 {
            return Ok(None);
        }
        let sev = sev.trim().to_uppercase();
        let sev = if sev.is_empty() { "SEV2".to_string() } else { sev };
        if ["SEV1", "SEV2", "SEV3", "SEV4"].contains(&sev.as_str()) {
            return Ok(Some((title, sev)));
        }
        writeln!(out, "expected SEV1, SEV2, SEV3 or SEV4")?;
    }
}
