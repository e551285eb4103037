//! A temp "home" for running the real binary: it never reads the user's config, AWS profile or
//! kubeconfig, and writes its incidents and app log under the temp dir.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// A temp directory used as `$HOME`, XDG dirs and the incident data dir.
pub struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    /// A fresh, empty home.
    pub fn new() -> Home {
        Home { dir: tempfile::tempdir().expect("temp home") }
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Write `text` to `name` inside the home; returns the path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path().join(name);
        std::fs::write(&p, text).expect("write file");
        p
    }

    /// `WARROOM_DATA_DIR`: where incidents go.
    pub fn data_dir(&self) -> PathBuf {
        self.path().join("data")
    }

    /// The whole environment of the binary (use after `env_clear()`): `PATH`, `HOME`, the XDG
    /// dirs and `WARROOM_DATA_DIR` inside this home, and static credentials for the AWS
    /// emulator with no profile files and no instance metadata.
    pub fn env(&self) -> Vec<(&'static str, OsString)> {
        let h = self.path();
        vec![
            ("PATH", std::env::var_os("PATH").unwrap_or_default()),
            ("HOME", h.into()),
            ("XDG_CONFIG_HOME", h.join("xdg-config").into()),
            ("XDG_DATA_HOME", h.join("xdg-data").into()),
            ("XDG_STATE_HOME", h.join("xdg-state").into()),
            ("WARROOM_DATA_DIR", self.data_dir().into()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_CONFIG_FILE", h.join("aws-config").into()),
            ("AWS_SHARED_CREDENTIALS_FILE", h.join("aws-credentials").into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ]
    }
}
