//! `warroom`: parse the command line, set up error reporting and the app's own log, dispatch.

use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser as _;
use warroom::app::pipeline::READ_ONLY_KINDS;
use warroom::cli::{self, Cli, Cmd};
use warroom::config::load::{self, LoadOptions};

fn main() -> ExitCode {
    cli::error::install();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => std::process::exit(cli::error::clap_exit(&e)),
    };
    let opts = LoadOptions {
        config: cli.common.config.clone(),
        theme: cli.common.theme.clone(),
        keymap: cli.common.keymap.clone(),
    };
    if let Some(Cmd::Check) = cli.command {
        return ExitCode::from(cli::check::run(&opts) as u8);
    }
    match cli.command {
        Some(Cmd::Init(ref args)) => {
            return ExitCode::from(cli::init::main(args, opts.config.as_deref()) as u8);
        }
        Some(Cmd::Completions { shell }) => {
            return ExitCode::from(cli::completions::run_completions(shell) as u8);
        }
        Some(Cmd::Manpage(ref args)) => return ExitCode::from(cli::completions::run_manpage(args) as u8),
        _ => {}
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
            Some(Cmd::Log { command: cli::log::LogCommand::Verify { ref id, ref head } })
                if loaded.config.as_ref().is_some_and(|c| c.war_room.is_some()) =>
            {
                let verify = cli::log::LogCommand::Verify { id: id.clone(), head: head.clone() };
                let local = cli::log::run(verify, &loaded.paths.data_dir, &loaded.paths.state_dir)?;
                let cfg = loaded.config.clone().unwrap_or_default();
                let shared = cli::shared::verify(&mut std::io::stdout(), &cfg, &loaded.paths.data_dir, id)?;
                Ok(local.max(shared))
            }
            Some(Cmd::Log { ref command }) => {
                cli::log::run(command.clone(), &loaded.paths.data_dir, &loaded.paths.state_dir)
            }
            Some(Cmd::Check | Cmd::Init(_) | Cmd::Completions { .. } | Cmd::Manpage(_)) => {
                unreachable!("handled above")
            }
            None => cli::live::run(&cli, loaded).await,
        }
    });
    // Background pollers may be stuck on a hung backend, and crossterm's reader thread may spin on
    // a dead tty: never wait for them on the way out (the log was flushed by the console).
    runtime.shutdown_timeout(Duration::from_millis(100));
    let code = match result {
        Ok(code) => code.clamp(0, 255),
        // One line for a user's mistake, quiet for a closed pipe, a report for a real fault.
        Err(e) => cli::error::report(&e),
    };
    drop(_log_guard);
    std::process::exit(code)
}
