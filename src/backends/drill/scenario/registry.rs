//! Every scenario the drill knows: the built-ins (`scenarios/*.toml`, embedded in the binary)
//! and each `*.toml` in the user's `<config dir>/scenarios/`, which adds a scenario or
//! replaces the built-in of the same id.

use std::path::{Path, PathBuf};

use super::model::ScenarioDef;
use super::parse::{Known, parse};
use crate::config::error::{ConfigError, is_path_spec, read_file};

/// The built-in scenarios: (path in the source tree, text), in listing order.
pub const BUILT_IN: [(&str, &str); 7] = [
    ("scenarios/calm.toml", include_str!("../../../../scenarios/calm.toml")),
    ("scenarios/primary-db-down.toml", include_str!("../../../../scenarios/primary-db-down.toml")),
    ("scenarios/redis-master-down.toml", include_str!("../../../../scenarios/redis-master-down.toml")),
    ("scenarios/region-outage.toml", include_str!("../../../../scenarios/region-outage.toml")),
    ("scenarios/crashloop.toml", include_str!("../../../../scenarios/crashloop.toml")),
    ("scenarios/split-brain.toml", include_str!("../../../../scenarios/split-brain.toml")),
    ("scenarios/replica-lag.toml", include_str!("../../../../scenarios/replica-lag.toml")),
];

/// Where a scenario comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Embedded in the binary.
    BuiltIn,
    /// A user file.
    File(PathBuf),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::BuiltIn => f.write_str("built-in"),
            Source::File(p) => write!(f, "{}", p.display()),
        }
    }
}

/// One scenario and where it comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    /// The scenario.
    pub def: ScenarioDef,
    /// Its origin.
    pub source: Source,
}

/// The built-in scenarios, parsed (they are tested to parse; a broken one is skipped).
pub fn built_ins() -> Vec<ScenarioDef> {
    static DEFS: std::sync::OnceLock<Vec<ScenarioDef>> = std::sync::OnceLock::new();
    DEFS.get_or_init(|| {
        BUILT_IN
            .iter()
            .filter_map(|(path, text)| parse(text, Path::new(path), &Known::default()).ok())
            .collect()
    })
    .clone()
}

/// Parse one scenario file (runbook names are not checked here: see `warroom check`).
pub fn load_file(path: &Path) -> Result<ScenarioDef, Vec<ConfigError>> {
    let text = read_file(path).map_err(|e| vec![e])?;
    parse(&text, path, &Known::default())
}

/// The `*.toml` files of `dir`, sorted by name (none when it does not exist).
pub fn user_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return vec![] };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml") && p.is_file())
        .collect();
    files.sort();
    files
}

/// Built-ins, then the files of `user_dir` (a user file with a built-in's id takes its place),
/// and every problem of the user files.
pub fn load_all(user_dir: Option<&Path>) -> (Vec<Loaded>, Vec<ConfigError>) {
    let mut all: Vec<Loaded> =
        built_ins().into_iter().map(|def| Loaded { def, source: Source::BuiltIn }).collect();
    let mut problems = Vec::new();
    for path in user_dir.map(user_files).unwrap_or_default() {
        match load_file(&path) {
            Ok(def) => {
                let loaded = Loaded { def, source: Source::File(path) };
                match all.iter_mut().find(|l| l.def.id == loaded.def.id) {
                    Some(slot) if slot.source == Source::BuiltIn => *slot = loaded,
                    Some(slot) => problems.push(ConfigError::whole_file(
                        match &loaded.source {
                            Source::File(p) => p,
                            Source::BuiltIn => Path::new("?"),
                        },
                        format!("scenario id `{}` is also defined in {}", loaded.def.id, slot.source),
                    )),
                    None => all.push(loaded),
                }
            }
            Err(e) => problems.extend(e),
        }
    }
    (all, problems)
}

/// The scenario `id` (a user file replacing a built-in wins), or `spec` as a file path when it
/// contains `/` or ends in `.toml`. Unknown ids: an error listing the known ones.
pub fn find(spec: &str, user_dir: Option<&Path>) -> Result<ScenarioDef, String> {
    if is_path_spec(spec) {
        return load_file(Path::new(spec))
            .map_err(|e| e.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"));
    }
    let (all, _) = load_all(user_dir);
    if let Some(l) = all.iter().find(|l| l.def.id == spec) {
        return Ok(l.def.clone());
    }
    // A broken user file of that name is the likelier story than a typo.
    if let Some(dir) = user_dir {
        let path = dir.join(format!("{spec}.toml"));
        if let Err(e) = load_file(&path)
            && path.is_file()
        {
            return Err(e.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"));
        }
    }
    let known: Vec<&str> = all.iter().map(|l| l.def.id.as_str()).collect();
    Err(format!("unknown drill scenario {spec:?}; known scenarios: {}", known.join(", ")))
}

/// The [`text_hash`] of the user file `spec` resolves to (by path, or by id in `user_dir`);
/// `None` for a built-in (the binary fixes its text) or an unreadable file.
pub fn user_hash(spec: &str, user_dir: Option<&Path>) -> Option<String> {
    let path = if is_path_spec(spec) {
        PathBuf::from(spec)
    } else {
        match load_all(user_dir).0.into_iter().find(|l| l.def.id == spec)?.source {
            Source::File(p) => p,
            Source::BuiltIn => return None,
        }
    };
    std::fs::read_to_string(path).ok().map(|t| text_hash(&t))
}

/// A stable hash of a scenario file's text (FNV-1a, hex), recorded with a drill so a joined
/// console can tell it resolved the same file.
pub fn text_hash(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_parses_with_known_runbooks() {
        let runbooks = [
            "db-failover",
            "dns-failover",
            "fence-stray-primary",
            "redis-failover",
            "redis-verify",
            "region-failover",
            "restore-primary",
            "rollback",
        ];
        for (path, text) in BUILT_IN {
            let def = parse(text, Path::new(path), &Known { runbooks: Some(&runbooks), checklist: None })
                .unwrap_or_else(|e| panic!("{e:#?}"));
            assert_eq!(format!("scenarios/{}.toml", def.id), path);
            assert!(def.hints.len() >= 2, "{path}: staged hints");
        }
        assert_eq!(built_ins().len(), BUILT_IN.len());
    }

    #[test]
    fn the_readme_example_parses() {
        let readme = include_str!("../../../../README.md");
        let section = readme.split("### Scenario files").nth(1).expect("README section");
        let example = section.split("```toml\n").nth(1).and_then(|s| s.split("```").next()).expect("example");
        let def = parse(
            example,
            Path::new("README.md"),
            &Known { runbooks: Some(&["db-failover", "dns-failover"]), checklist: None },
        )
        .unwrap_or_else(|e| panic!("{e:#?}"));
        assert_eq!(def.faults.len(), 2);
        assert_eq!(def.estate.pods, Some(2000));
    }

    #[test]
    fn user_files_add_and_replace_and_broken_ones_are_problems() {
        let dir = tempfile::tempdir().unwrap();
        let calm = "id = \"calm\"\ntitle = \"Mine\"\ndescription = \"d\"\n";
        std::fs::write(dir.path().join("a.toml"), calm).unwrap();
        std::fs::write(dir.path().join("b.toml"), "id = \"new-one\"\ntitle = \"N\"\ndescription = \"d\"\n")
            .unwrap();
        std::fs::write(dir.path().join("c.toml"), "id = \"x\"\ntitle = 3\n").unwrap();
        std::fs::write(dir.path().join("notes.txt"), "ignored").unwrap();
        let (all, problems) = load_all(Some(dir.path()));
        assert_eq!(all.len(), 8);
        assert_eq!(all[0].def.title, "Mine");
        assert_eq!(all[0].source, Source::File(dir.path().join("a.toml")));
        assert_eq!(all[7].def.id, "new-one");
        assert_eq!(problems.len(), 1, "{problems:#?}");
        assert_eq!((problems[0].line, problems[0].column), (2, 9));
        assert_eq!(find("calm", Some(dir.path())).unwrap().title, "Mine");
        assert_eq!(find("calm", None).unwrap().title, "Calm estate");
        let err = find("meteor", Some(dir.path())).unwrap_err();
        assert!(
            err.contains("\"meteor\"") && err.contains("new-one") && err.contains("split-brain"),
            "{err}"
        );
        let path = dir.path().join("b.toml");
        assert_eq!(find(path.to_str().unwrap(), None).unwrap().id, "new-one");
        let hash = user_hash("new-one", Some(dir.path())).expect("a user file");
        assert_eq!(user_hash(path.to_str().unwrap(), None), Some(hash.clone()));
        assert_eq!(user_hash("split-brain", Some(dir.path())), None, "built-in");
        std::fs::write(&path, "id = \"new-one\"\ntitle = \"Changed\"\ndescription = \"d\"\n").unwrap();
        assert_ne!(user_hash("new-one", Some(dir.path())), Some(hash), "an edited file is told apart");
    }
}
