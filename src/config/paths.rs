//! Where warroom's files live: config dir (warroom.toml, user themes/keymaps/runbooks), data dir
//! (incident logs), state dir (the app's own tracing log), and the environment that moves them.

use std::path::{Path, PathBuf};

use directories::{BaseDirs, ProjectDirs};

use super::model::Config;

/// The process environment as far as configuration is concerned. Tests build one by hand
/// instead of changing the real environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Environment {
    /// `$WARROOM_CONFIG` (a config file), if set and non-empty.
    pub warroom_config: Option<PathBuf>,
    /// `$WARROOM_DATA_DIR`, if set and non-empty.
    pub warroom_data_dir: Option<PathBuf>,
    /// `$NO_COLOR` is set and non-empty.
    pub no_color: bool,
    /// The user's home directory (for `~/` in paths).
    pub home: Option<PathBuf>,
    /// The platform config dir for warroom (e.g. `~/.config/warroom`).
    pub config_dir: Option<PathBuf>,
    /// The platform data dir for warroom (e.g. `~/.local/share/warroom`).
    pub data_dir: Option<PathBuf>,
    /// The platform state dir for warroom (e.g. `~/.local/state/warroom`).
    pub state_dir: Option<PathBuf>,
}

impl Environment {
    /// Reads the real environment and the platform directories
    /// (`ProjectDirs::from("", "", "warroom")`).
    pub fn from_process() -> Environment {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        let project = ProjectDirs::from("", "", "warroom");
        Environment {
            warroom_config: var("WARROOM_CONFIG").map(PathBuf::from),
            warroom_data_dir: var("WARROOM_DATA_DIR").map(PathBuf::from),
            no_color: var("NO_COLOR").is_some(),
            home: BaseDirs::new().map(|b| b.home_dir().to_path_buf()),
            config_dir: project.as_ref().map(|p| p.config_dir().to_path_buf()),
            data_dir: project.as_ref().map(|p| p.data_dir().to_path_buf()),
            // Only Linux has a state dir; elsewhere keep state beside local data.
            state_dir: project
                .as_ref()
                .map(|p| p.state_dir().map_or_else(|| p.data_local_dir().join("state"), Path::to_path_buf)),
        }
    }

    /// `~` or `~/x` expanded with the home directory; other paths unchanged.
    pub fn expand_tilde(&self, path: &str) -> PathBuf {
        match (path.strip_prefix('~'), &self.home) {
            (Some(""), Some(home)) => home.clone(),
            (Some(rest), Some(home)) if rest.starts_with('/') => home.join(&rest[1..]),
            _ => PathBuf::from(path),
        }
    }
}

/// Resolved directories.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// Config dir (`warroom.toml`, `themes/`, `keymaps/`, `runbooks/`); `None` when the platform
    /// has no home directory.
    pub config_dir: Option<PathBuf>,
    /// Incident logs: `$WARROOM_DATA_DIR`, else `[incident].data_dir`, else the platform data dir,
    /// else `./warroom-data`.
    pub data_dir: PathBuf,
    /// The app's own tracing log: the platform state dir, else `./warroom-data/state`.
    pub state_dir: PathBuf,
}

impl Paths {
    /// Resolves the directories from the environment and (optionally) the loaded config, whose
    /// relative `data_dir` is taken relative to the config file's directory.
    pub fn resolve(env: &Environment, config: Option<&Config>, config_path: Option<&Path>) -> Paths {
        let from_config = config.and_then(|c| c.incident.data_dir.as_deref()).map(|d| {
            let p = env.expand_tilde(d);
            match config_path.and_then(Path::parent) {
                Some(base) if p.is_relative() => base.join(p),
                _ => p,
            }
        });
        let data_dir = env
            .warroom_data_dir
            .clone()
            .or(from_config)
            .or_else(|| env.data_dir.clone())
            .unwrap_or_else(|| PathBuf::from("warroom-data"));
        let state_dir = env.state_dir.clone().unwrap_or_else(|| PathBuf::from("warroom-data").join("state"));
        Paths { config_dir: env.config_dir.clone(), data_dir, state_dir }
    }

    /// `<config dir>/warroom.toml`.
    pub fn default_config_file(&self) -> Option<PathBuf> {
        self.config_dir.as_ref().map(|d| d.join("warroom.toml"))
    }

    /// `<config dir>/themes`: user themes, which override presets of the same name.
    pub fn themes_dir(&self) -> Option<PathBuf> {
        self.config_dir.as_ref().map(|d| d.join("themes"))
    }

    /// `<config dir>/keymaps`: user keymaps, merged over presets.
    pub fn keymaps_dir(&self) -> Option<PathBuf> {
        self.config_dir.as_ref().map(|d| d.join("keymaps"))
    }

    /// `<config dir>/runbooks`: user runbooks.
    pub fn runbooks_dir(&self) -> Option<PathBuf> {
        self.config_dir.as_ref().map(|d| d.join("runbooks"))
    }

    /// User drill scenarios: `<config dir>/scenarios`.
    pub fn scenarios_dir(&self) -> Option<PathBuf> {
        self.config_dir.as_ref().map(|d| d.join("scenarios"))
    }
}

/// Where the config file comes from: `--config`, else `$WARROOM_CONFIG`, else
/// `<config dir>/warroom.toml` if it exists. The first two are returned even when missing (so
/// the caller can report it); `None` means no config at all.
pub fn find_config_file(explicit: Option<&Path>, env: &Environment) -> Option<PathBuf> {
    if let Some(p) = explicit.or(env.warroom_config.as_deref()) {
        return Some(p.to_path_buf());
    }
    let default = env.config_dir.as_ref()?.join("warroom.toml");
    default.is_file().then_some(default)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(dir: &Path) -> Environment {
        Environment {
            home: Some(dir.join("home")),
            config_dir: Some(dir.join("cfg")),
            data_dir: Some(dir.join("data")),
            state_dir: Some(dir.join("state")),
            ..Environment::default()
        }
    }

    #[test]
    fn data_dir_precedence_env_then_config_then_platform() {
        let tmp = Path::new("/t");
        let mut e = env(tmp);
        let mut cfg = Config::default();
        assert_eq!(Paths::resolve(&e, Some(&cfg), None).data_dir, tmp.join("data"));
        cfg.incident.data_dir = Some("~/incidents".into());
        assert_eq!(Paths::resolve(&e, Some(&cfg), None).data_dir, tmp.join("home/incidents"));
        cfg.incident.data_dir = Some("rel".into());
        let p = Paths::resolve(&e, Some(&cfg), Some(Path::new("/etc/warroom/warroom.toml")));
        assert_eq!(p.data_dir, PathBuf::from("/etc/warroom/rel"));
        e.warroom_data_dir = Some("/from/env".into());
        assert_eq!(Paths::resolve(&e, Some(&cfg), None).data_dir, PathBuf::from("/from/env"));
        assert_eq!(Paths::resolve(&e, None, None).state_dir, tmp.join("state"));
    }

    #[test]
    fn no_platform_dirs_falls_back_to_cwd() {
        let p = Paths::resolve(&Environment::default(), None, None);
        assert_eq!(p.config_dir, None);
        assert_eq!(p.data_dir, PathBuf::from("warroom-data"));
        assert_eq!(p.default_config_file(), None);
    }

    #[test]
    fn config_file_lookup_order() {
        let tmp = tempfile::tempdir().unwrap();
        let mut e = env(tmp.path());
        assert_eq!(find_config_file(None, &e), None);
        std::fs::create_dir_all(tmp.path().join("cfg")).unwrap();
        std::fs::write(tmp.path().join("cfg/warroom.toml"), "").unwrap();
        assert_eq!(find_config_file(None, &e), Some(tmp.path().join("cfg/warroom.toml")));
        e.warroom_config = Some("/env.toml".into());
        assert_eq!(find_config_file(None, &e), Some(PathBuf::from("/env.toml")));
        assert_eq!(find_config_file(Some(Path::new("/cli.toml")), &e), Some(PathBuf::from("/cli.toml")));
    }

    #[test]
    fn tilde_expansion() {
        let e = env(Path::new("/t"));
        assert_eq!(e.expand_tilde("~"), PathBuf::from("/t/home"));
        assert_eq!(e.expand_tilde("~/.kube/config"), PathBuf::from("/t/home/.kube/config"));
        assert_eq!(e.expand_tilde("~bob/x"), PathBuf::from("~bob/x"));
        assert_eq!(e.expand_tilde("/abs"), PathBuf::from("/abs"));
    }
}
