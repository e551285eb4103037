//! `warroom` (live console): real backends from `warroom.toml`.

use std::sync::Arc;

use super::UserError;
use super::console::{self, Launch};
use chrono::Utc;

use crate::app::state::IncidentInfo;
use crate::app::{Mode, State};
use crate::backends::live;
use crate::config::Paths;
use crate::config::load::Loaded;
use crate::incident::store::last_open_incident;
use crate::ui::UiContext;

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
    let estate = live::build(&config).await;
    if title.is_none() && cli.incident.is_none() && !resumable && interactive() && !cli.common.read_only {
        let ctx = UiContext { theme: loaded.theme.clone(), keymap: loaded.keymap.clone() };
        match crate::tui::declare::ask(undeclared(&config), &estate.sources, &ctx).await? {
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

/// Both ends are a terminal (otherwise the console refuses to start, saying why).
fn interactive() -> bool {
    use std::io::IsTerminal;
    std::io::stdin().is_terminal() && std::io::stdout().is_terminal()
}

/// The state the declare prompt draws its panes from: live, no incident yet.
fn undeclared(config: &Arc<crate::config::Config>) -> State {
    let incident = IncidentInfo {
        id: String::new(),
        title: "no incident declared yet".into(),
        severity: String::new(),
        declared_at: Utc::now(),
        drill: false,
    };
    let who = crate::incident::operator::operator_identity();
    State::new(Mode::Live, incident, who, config.clone(), Utc::now())
}
