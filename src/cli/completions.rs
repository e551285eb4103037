//! `warroom completions bash|zsh|fish` and `warroom manpage [--dir DIR]`, generated from the
//! clap definitions (clap_complete, clap_mangen), so they never drift from the real flags.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, CommandFactory, ValueEnum};
use clap_complete::Shell as ClapShell;

use super::Cli;

/// Shells completions are generated for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    /// bash (source it, or put it in ~/.local/share/bash-completion/completions/warroom).
    Bash,
    /// zsh (put it on $fpath as `_warroom`).
    Zsh,
    /// fish (put it in ~/.config/fish/completions/warroom.fish).
    Fish,
}

/// `warroom manpage` options.
#[derive(Debug, Clone, Args)]
pub struct ManpageArgs {
    /// Write warroom.1 and one page per subcommand (warroom-status.1, ...) into DIR instead of
    /// printing warroom.1 to stdout.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// Write the completion script for `shell` to `out`.
pub fn completions(shell: Shell, out: &mut dyn Write) {
    let shell = match shell {
        Shell::Bash => ClapShell::Bash,
        Shell::Zsh => ClapShell::Zsh,
        Shell::Fish => ClapShell::Fish,
    };
    clap_complete::generate(shell, &mut Cli::command(), "warroom", out);
}

/// Render the top-level man page (roff) to `out`.
pub fn manpage(out: &mut dyn Write) -> std::io::Result<()> {
    clap_mangen::Man::new(Cli::command()).render(out)
}

/// Write every page (the top level and one per subcommand) into `dir`; returns the files.
pub fn manpages_to(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    clap_mangen::generate_to(Cli::command(), dir)?;
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "1"))
        .collect();
    files.sort();
    Ok(files)
}

/// `warroom completions SHELL`: exit 0, or 1 when stdout is closed.
pub fn run_completions(shell: Shell) -> i32 {
    let mut buf = Vec::new();
    completions(shell, &mut buf);
    let mut stdout = std::io::stdout().lock();
    i32::from(stdout.write_all(&buf).and_then(|()| stdout.flush()).is_err())
}

/// `warroom manpage [--dir DIR]`: exit 0, 1 on a write failure.
pub fn run_manpage(args: &ManpageArgs) -> i32 {
    let result = match &args.dir {
        Some(dir) => manpages_to(dir).map(|files| {
            for f in files {
                println!("{}", f.display());
            }
        }),
        None => {
            let mut buf = Vec::new();
            manpage(&mut buf).and_then(|()| {
                let mut stdout = std::io::stdout().lock();
                stdout.write_all(&buf).and_then(|()| stdout.flush())
            })
        }
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "warroom manpage: {e}");
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shell_gets_a_script_naming_the_subcommands() {
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
            let mut buf = Vec::new();
            completions(shell, &mut buf);
            let text = String::from_utf8(buf).unwrap();
            for sub in ["drill", "status", "init", "completions", "manpage"] {
                assert!(text.contains(sub), "{shell:?} lacks {sub}");
            }
        }
    }

    #[test]
    fn the_man_page_is_roff_with_a_title() {
        let mut buf = Vec::new();
        manpage(&mut buf).unwrap();
        let text = String::from_utf8(buf).unwrap();
        assert!(
            text.starts_with(".ie") || text.contains("\n.TH warroom 1"),
            "{}",
            &text[..200.min(text.len())]
        );
        assert!(text.contains(".TH warroom 1"));
        let dir = tempfile::tempdir().unwrap();
        let files = manpages_to(dir.path()).unwrap();
        let names: Vec<String> =
            files.iter().map(|f| f.file_name().unwrap().to_string_lossy().into_owned()).collect();
        assert!(
            names.contains(&"warroom.1".to_string()) && names.contains(&"warroom-init.1".to_string()),
            "{names:?}"
        );
    }
}
