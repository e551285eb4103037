//! `warroom check`: every problem in the user's files, with file, line and column.

use crate::config::load::{LoadOptions, check};

/// Print problems; return the exit code (0 ok, 1 problems).
pub fn run(opts: &LoadOptions) -> i32 {
    let problems = check(opts);
    if problems.is_empty() {
        println!("warroom check: configuration, theme, keymap and runbooks are valid");
        0
    } else {
        for p in &problems {
            eprintln!("{p}");
        }
        eprintln!("warroom check: {} problem(s)", problems.len());
        1
    }
}
