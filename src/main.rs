//! TEMPORARY entry point: `warroom log ...` only, data dir from `$WARROOM_DATA_DIR`.
//! Replaced at merge by the real CLI, which keeps both identical.

use clap::{Parser, Subcommand};
use warroom::incident::cli::{LogCommand, data_dir_from_env, run};

/// warroom: terminal incident console.
#[derive(Debug, Parser)]
#[command(name = "warroom", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Work with incident logs.
    #[command(subcommand)]
    Log(LogCommand),
}

fn main() {
    let cli = Cli::parse();
    let result = data_dir_from_env().and_then(|dir| match cli.command {
        Command::Log(cmd) => run(cmd, &dir),
    });
    match result {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::exit(2);
        }
    }
}
