//! `warroom check`: every problem in the user's files, with file, line and column.
//!
//! The configuration checks its own files (config, themes, keymaps); the runbook catalogue is
//! checked here, beside it, so that `config` never depends on `runbook`.

use std::io::Write as _;
use std::path::Path;

use super::error::{exit, print_user_error};
use super::live::no_config;

use crate::backends::drill::scenario::parse::{Known, parse};
use crate::backends::drill::scenario::registry;
use crate::config::ConfigError;
use crate::config::error::read_file;
use crate::config::load::{LoadOptions, check_in, load_in};
use crate::config::paths::{Environment, find_config_file};
use crate::incident::checklist::Checklist;
use crate::runbook::catalog::Catalog;

/// Print every problem (stderr, one a line) and the warnings; return the exit code: 0 valid,
/// 1 problems found, 2 no configuration at all (it says where it looked).
pub fn run(opts: &LoadOptions) -> i32 {
    let env = Environment::from_process();
    let problems = problems(opts, &env);
    let mut err = std::io::stderr().lock();
    for p in &problems {
        let _ = writeln!(err, "{}", crate::text::sanitize(&p.to_string()));
    }
    if let Some(w) = crate::backends::postgres::pgpass::ignored_warning() {
        let _ = writeln!(err, "warning: {}", crate::text::sanitize(&w));
    }
    if !problems.is_empty() {
        let _ = writeln!(err, "warroom check: {} problem(s)", problems.len());
    }
    drop(err);
    let configured = find_config_file(opts.config.as_deref(), &env).is_some();
    let paths = load_in(opts, &env).paths;
    // Without a warroom.toml, user themes, keymaps, runbooks or scenarios are still configuration
    // worth checking; only with none of them is there nothing at all (exit 2, where it looked).
    let user_files = [paths.themes_dir(), paths.keymaps_dir(), paths.runbooks_dir(), paths.scenarios_dir()]
        .iter()
        .flatten()
        .any(|d| has_toml(d));
    if !configured && !user_files {
        print_user_error(&no_config(&paths));
    }
    match (problems.is_empty(), configured || user_files) {
        (false, _) => return exit::PROBLEMS,
        (true, false) => return exit::USAGE,
        (true, true) => {}
    }
    if !configured {
        let _ = super::out::line(
            "warroom check: no warroom.toml (the console would say so); the user files found were checked",
        );
    }
    match super::out::line("warroom check: configuration, theme, keymap, runbooks and scenarios are valid") {
        Ok(()) => exit::OK,
        Err(_) => exit::CLOSED_PIPE,
    }
}

/// Every problem in `env`: the configuration's (config, theme, keymap and the files in the
/// user theme and keymap dirs), then every user runbook file's, each reported once.
pub fn problems(opts: &LoadOptions, env: &Environment) -> Vec<ConfigError> {
    let mut problems = check_in(opts, env);
    let paths = load_in(opts, env).paths;
    let runbooks = paths.runbooks_dir();
    let scenarios = scenario_problems(paths.scenarios_dir().as_deref(), runbooks.as_deref());
    for e in Catalog::check(runbooks.as_deref()).into_iter().chain(scenarios) {
        if !problems.contains(&e) {
            problems.push(e);
        }
    }
    problems
}

/// Every problem of every scenario file in `dir`, its runbooks judged against the built-in
/// runbooks and those of `runbooks_dir`, its checklist items against the communication
/// checklist the console runs; and two files with one id.
pub fn scenario_problems(dir: Option<&Path>, runbooks_dir: Option<&Path>) -> Vec<ConfigError> {
    let Some(dir) = dir else { return vec![] };
    let (catalog, _) = Catalog::load(runbooks_dir);
    let ids = catalog.ids();
    let checklist = Checklist::communication();
    let items: Vec<&str> = checklist.items.iter().map(|i| i.id.as_str()).collect();
    let known = Known { runbooks: Some(&ids), checklist: Some(&items) };
    let mut problems = Vec::new();
    for path in registry::user_files(dir) {
        match read_file(&path) {
            Ok(text) => {
                if let Err(e) = parse(&text, &path, &known) {
                    problems.extend(e);
                }
            }
            Err(e) => problems.push(e),
        }
    }
    // Duplicate ids between user files (parse problems are reported above already).
    let (_, loaded) = registry::load_all(Some(dir));
    problems.extend(loaded.into_iter().filter(|e| e.line == 0 && e.message.contains("is also defined")));
    problems
}

/// Whether `dir` holds a `.toml` file.
fn has_toml(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .is_ok_and(|it| it.flatten().any(|e| e.path().extension().is_some_and(|x| x == "toml")))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn env_in(root: &Path) -> Environment {
        Environment {
            config_dir: Some(root.join("cfg")),
            data_dir: Some(root.join("data")),
            state_dir: Some(root.join("state")),
            ..Environment::default()
        }
    }

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    /// The built-in scenarios name only runbooks and checklist items that exist (the backends
    /// layer that embeds them knows neither catalogue, so this is checked here).
    #[test]
    fn built_in_scenarios_name_existing_runbooks_and_checklist_items() {
        let (catalog, _) = Catalog::load(None);
        let ids = catalog.ids();
        let checklist = Checklist::communication();
        let items: Vec<&str> = checklist.items.iter().map(|i| i.id.as_str()).collect();
        let known = Known { runbooks: Some(&ids), checklist: Some(&items) };
        for (path, text) in registry::BUILT_IN {
            if let Err(e) = parse(text, Path::new(path), &known) {
                panic!("{path}: {e:#?}");
            }
        }
        // And an unknown item is reported where it is written.
        let text = "id = \"x\"\ntitle = \"X\"\ndescription = \"d\"\n[objectives]\nchecklist-on-time = [\"alert-oncal\"]\n";
        let e = parse(text, Path::new("x.toml"), &known).unwrap_err();
        assert_eq!(e.len(), 1, "{e:#?}");
        assert_eq!((e[0].line, e[0].column), (5, 22), "{e:#?}");
        assert!(e[0].message.contains("unknown checklist item `alert-oncal`"), "{}", e[0].message);
        assert!(e[0].message.contains("alert-oncall"), "did you mean: {}", e[0].message);
    }

    #[test]
    fn a_broken_runbook_file_is_a_problem_with_file_line_and_column() {
        let tmp = tempfile::tempdir().unwrap();
        let env = env_in(tmp.path());
        assert!(problems(&LoadOptions::default(), &env).is_empty());

        let bad = tmp.path().join("cfg/runbooks/bad.toml");
        write(
            &bad,
            "id = \"t\"\ntitle = \"T\"\ndescription = \"d\"\n[[steps]]\nid = \"a\"\nop = \"promte\"\nwhy = \"w\"\n",
        );
        write(&tmp.path().join("cfg/keymaps/extra.toml"), "pane = [ { on = \"ctrl-\", run = \"quit\" } ]\n");
        let found: Vec<String> =
            problems(&LoadOptions::default(), &env).iter().map(ToString::to_string).collect();
        assert_eq!(found.len(), 2, "{found:#?}");
        assert!(
            found[0].contains("extra.toml:1:17: invalid key `ctrl-`"),
            "config problems first: {found:#?}"
        );
        let at = format!("{}:6:6: unknown variant `promte`", bad.display());
        assert!(found[1].starts_with(&at), "{found:#?}");
    }
}
