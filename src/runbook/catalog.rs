//! [`Catalog`]: the built-in runbooks (embedded from `runbooks/*.toml`) and the user's runbooks
//! from `<config dir>/runbooks/*.toml`, which add to them or replace one with the same id.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::model::Runbook;
use super::parse::parse;
use crate::config::error::{ConfigError, read_file};

/// The built-in runbooks: (path in the source tree, contents).
pub const BUILTIN: &[(&str, &str)] = &[
    ("runbooks/db-failover.toml", include_str!("../../runbooks/db-failover.toml")),
    ("runbooks/redis-failover.toml", include_str!("../../runbooks/redis-failover.toml")),
    ("runbooks/dns-failover.toml", include_str!("../../runbooks/dns-failover.toml")),
    ("runbooks/region-failover.toml", include_str!("../../runbooks/region-failover.toml")),
    ("runbooks/restore-primary.toml", include_str!("../../runbooks/restore-primary.toml")),
    ("runbooks/redis-verify.toml", include_str!("../../runbooks/redis-verify.toml")),
    ("runbooks/fence-stray-primary.toml", include_str!("../../runbooks/fence-stray-primary.toml")),
    ("runbooks/rollback.toml", include_str!("../../runbooks/rollback.toml")),
];

/// Where a runbook came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Embedded in the binary.
    Builtin,
    /// A user file (replacing a built-in when the ids match).
    User(PathBuf),
}

/// One loaded runbook.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The runbook.
    pub runbook: Arc<Runbook>,
    /// Where it came from.
    pub origin: Origin,
}

/// Every runbook available, in picker order (built-ins first, in the plan's order).
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    /// The runbooks.
    pub entries: Vec<Entry>,
}

impl Catalog {
    /// Built-ins only.
    pub fn builtin() -> Catalog {
        let mut cat = Catalog::default();
        for (path, text) in BUILTIN {
            match parse(text, Path::new(path)) {
                Ok(rb) => cat.entries.push(Entry { runbook: Arc::new(rb), origin: Origin::Builtin }),
                // A broken built-in is a bug caught by the test below; never panic at 3 a.m.
                Err(e) => tracing::error!("built-in runbook {path} is invalid: {:?}", e),
            }
        }
        cat
    }

    /// Built-ins plus every `*.toml` in `dir`; a broken user file is skipped and reported.
    pub fn load(dir: Option<&Path>) -> (Catalog, Vec<ConfigError>) {
        let mut cat = Catalog::builtin();
        let mut errors = Vec::new();
        for file in toml_files(dir) {
            match read_file(&file).and_then(|text| parse(&text, &file).map_err(first)) {
                Ok(rb) => cat.insert(Entry { runbook: Arc::new(rb), origin: Origin::User(file) }),
                Err(e) => errors.push(e),
            }
        }
        (cat, errors)
    }

    /// The user's runbook files as (path, text), in load order (a recording keeps them);
    /// unreadable files are left out ([`Catalog::load`] reports them).
    pub fn user_sources(dir: Option<&Path>) -> Vec<(PathBuf, String)> {
        toml_files(dir).into_iter().filter_map(|f| read_file(&f).ok().map(|text| (f, text))).collect()
    }

    /// Built-ins plus the user's runbooks from already-read `sources` (a recording's).
    pub fn from_sources(sources: &[(PathBuf, String)]) -> (Catalog, Vec<ConfigError>) {
        let mut cat = Catalog::builtin();
        let mut errors = Vec::new();
        for (file, text) in sources {
            match parse(text, file).map_err(first) {
                Ok(rb) => cat.insert(Entry { runbook: Arc::new(rb), origin: Origin::User(file.clone()) }),
                Err(e) => errors.push(e),
            }
        }
        (cat, errors)
    }

    /// Every problem in the user's runbook files (all of them, not only the first per file).
    pub fn check(dir: Option<&Path>) -> Vec<ConfigError> {
        let mut errors = Vec::new();
        for file in toml_files(dir) {
            match read_file(&file) {
                Ok(text) => errors.extend(parse(&text, &file).err().unwrap_or_default()),
                Err(e) => errors.push(e),
            }
        }
        errors
    }

    fn insert(&mut self, entry: Entry) {
        match self.entries.iter_mut().find(|e| e.runbook.id() == entry.runbook.id()) {
            Some(slot) => *slot = entry,
            None => self.entries.push(entry),
        }
    }

    /// A runbook by id.
    pub fn get(&self, id: &str) -> Option<&Arc<Runbook>> {
        self.entries.iter().find(|e| e.runbook.id() == id).map(|e| &e.runbook)
    }

    /// The ids, for messages.
    pub fn ids(&self) -> Vec<&str> {
        self.entries.iter().map(|e| e.runbook.id()).collect()
    }
}

fn first(mut errors: Vec<ConfigError>) -> ConfigError {
    errors.remove(0)
}

fn toml_files(dir: Option<&Path>) -> Vec<PathBuf> {
    let Some(dir) = dir else { return Vec::new() };
    let Ok(read) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut files: Vec<PathBuf> = read
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_parses() {
        for (path, text) in BUILTIN {
            if let Err(e) = parse(text, Path::new(path)) {
                panic!("{path}: {}", e.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"));
            }
        }
        let cat = Catalog::builtin();
        assert_eq!(
            cat.ids(),
            [
                "db-failover",
                "redis-failover",
                "dns-failover",
                "region-failover",
                "restore-primary",
                "redis-verify",
                "fence-stray-primary",
                "rollback"
            ]
        );
    }

    #[test]
    fn a_user_runbook_replaces_a_builtin_and_a_broken_one_is_reported() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("db.toml"),
            "id = \"db-failover\"\ntitle = \"Ours\"\ndescription = \"d\"\n[[steps]]\nid = \"a\"\nop = \"check-primary\"\nwhy = \"w\"\n",
        )
        .expect("write");
        std::fs::write(dir.path().join("zz-bad.toml"), "id = \"bad\"\ntitle = 3\n").expect("write");
        let (cat, errors) = Catalog::load(Some(dir.path()));
        assert_eq!(cat.get("db-failover").map(|r| r.title.as_str()), Some("Ours"));
        assert_eq!(cat.entries.len(), 8);
        assert_eq!(errors.len(), 1);
        assert!(errors[0].to_string().contains("zz-bad.toml:2:9"), "{}", errors[0]);
    }
}
