//! `warroom` (live console) and `warroom status`: real backends from `warroom.toml`.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;

use super::console::{self, Launch};
use super::status;
use crate::app::Mode;
use crate::backends::live;
use crate::config::load::Loaded;

const NO_CONFIG: &str = "warroom: no configuration found.

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
    let config = Arc::new(config);
    let estate = live::build(&config).await;
    let title = cli.new.clone().unwrap_or_else(|| "Untitled incident".into());
    let launch = Launch {
        mode: Mode::Live,
        title,
        severity: cli.severity.clone(),
        resume: if cli.new.is_some() { None } else { Some(cli.incident.clone()) },
        read_only: cli.common.read_only,
        config,
        sources: estate.sources,
        operator: estate.operator,
    };
    console::launch(launch, loaded).await
}

/// `warroom status [--json]`: exit 0 when every configured layer could be asked, 2 on a bad config.
pub async fn status(json: bool, loaded: Loaded) -> color_eyre::Result<i32> {
    if let Some(w) = loaded.warnings.first() {
        eprintln!("{w}");
        return Ok(2);
    }
    let Some(config) = loaded.config else {
        eprint!("{NO_CONFIG}");
        return Ok(2);
    };
    let estate = live::build(&Arc::new(config)).await;
    let observed = status::first_snapshots(estate.sources, Duration::from_secs(10)).await;
    let now = Utc::now();
    if json {
        println!("{}", serde_json::to_string_pretty(&status::status_json(&observed, Mode::Live, now))?);
    } else {
        print!("{}", status::status_text(&observed, Mode::Live, now));
    }
    Ok(0)
}
