//! `warroom` (live console): real backends from `warroom.toml`.

use std::sync::Arc;

use super::console::{self, Launch};
use crate::app::Mode;
use crate::backends::live;
use crate::config::load::Loaded;
use crate::incident::store::last_open_incident;

/// What `warroom` and `warroom status` say when there is no configuration.
pub(super) const NO_CONFIG: &str = "warroom: no configuration found.

warroom looks for --config FILE, then $WARROOM_CONFIG, then warroom.toml in the config directory.
Start from the commented example (examples/warroom.toml in the source tree, or see
docs/configuration.md), or try the console on a simulated estate first:

    warroom drill            # no services needed
    warroom drill --list     # fault scenarios
";

/// Run the live console. Returns the exit code.
pub async fn run(cli: &super::Cli, loaded: Loaded) -> color_eyre::Result<i32> {
    let Some(config) = loaded.config.clone() else {
        for w in &loaded.warnings {
            eprintln!("{w}");
        }
        eprint!("{NO_CONFIG}");
        return Ok(2);
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
