//! `warroom`: parse the command line, set up error reporting and the app's own log, dispatch.

use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use warroom::app::pipeline::READ_ONLY_KINDS;
use warroom::cli::{self, Cli, Cmd};
use warroom::config::load::{self, LoadOptions};

fn main() -> ExitCode {
    if let Err(e) = color_eyre::install() {
        eprintln!("warroom: cannot install the error handler: {e}");
    }
    let cli = Cli::parse();
    let opts = LoadOptions {
        config: cli.common.config.clone(),
        theme: cli.common.theme.clone(),
        keymap: cli.common.keymap.clone(),
    };
    if let Some(Cmd::Check) = cli.command {
        return ExitCode::from(cli::check::run(&opts) as u8);
    }
    let loaded = load::load(&opts);
    let _log_guard = warroom::diagnostics::init(&loaded.paths.state_dir);
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("warroom: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Some(Cmd::Drill(ref args)) => cli::drill::run(args.clone(), loaded, cli.common.read_only).await,
            Some(Cmd::Status { json }) => cli::status::run(json, loaded).await,
            Some(Cmd::Plan(ref args)) => cli::plan::run(args.clone(), loaded).await,
            Some(Cmd::Exec(ref args)) => cli::exec::run(args.clone(), loaded, cli.common.read_only).await,
            Some(Cmd::Replay(ref args)) => cli::replay::run(args.clone(), loaded).await,
            Some(Cmd::Approve(ref args)) => cli::approve::run(args.clone(), loaded, cli.common.read_only),
            // A read-only console writes notes and nothing else, from the command line too.
            Some(Cmd::Log { command: cli::log::LogCommand::Append { ref kind, .. } })
                if cli.common.read_only && !READ_ONLY_KINDS.contains(kind) =>
            {
                let _ = writeln!(
                    std::io::stderr(),
                    "warroom: refused: --read-only writes notes only (--kind note), not {:?}; nothing was written",
                    kind.as_str()
                );
                Ok(3)
            }
            Some(Cmd::Log { ref command }) => {
                cli::log::run(command.clone(), &loaded.paths.data_dir)
            }
            Some(Cmd::Check) => unreachable!("handled above"),
            None => cli::live::run(&cli, loaded).await,
        }
    });
    // Background pollers may be stuck on a hung backend, and crossterm's reader thread may spin on
    // a dead tty: never wait for them on the way out (the log was flushed by the console).
    runtime.shutdown_timeout(Duration::from_millis(100));
    let code = match result {
        Ok(code) => code.clamp(0, 255),
        Err(e) => {
            // Not eprintln!: after SSH drops, stderr is a dead tty and eprintln! would panic.
            let _ = writeln!(std::io::stderr(), "warroom: {e:?}");
            1
        }
    };
    drop(_log_guard);
    std::process::exit(code)
}
