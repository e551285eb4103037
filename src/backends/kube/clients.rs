//! One `kube::Client` per configured context, built from the kubeconfig with the EXPLICIT
//! context. The kubeconfig's `current-context` is never used.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use kube::config::{KubeConfigOptions, Kubeconfig};

use crate::config::model::Config;

/// Errors building Kubernetes clients.
#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    /// The kubeconfig could not be read or parsed.
    #[error("kubeconfig {path}: {message}")]
    Kubeconfig {
        /// Which file (or `standard resolution`).
        path: String,
        /// What went wrong.
        message: String,
    },
    /// A configured context is not in the kubeconfig.
    #[error("kube context {context:?} is not in the kubeconfig {path} (it has: {available})")]
    MissingContext {
        /// The context asked for.
        context: String,
        /// Which kubeconfig.
        path: String,
        /// The contexts it has.
        available: String,
    },
    /// The client for a context could not be built.
    #[error("kube context {context:?}: {message}")]
    Client {
        /// The context.
        context: String,
        /// What went wrong.
        message: String,
    },
}

/// Clients by context name (cheap to clone: `kube::Client` is a handle).
#[derive(Clone, Default)]
pub struct KubeClients {
    clients: BTreeMap<String, kube::Client>,
    /// The kubeconfig's user name of each context (named when the API server cannot say who).
    users: BTreeMap<String, String>,
}

/// An exec credential plugin's failure as one clean, redacted line: the command, its exit
/// status and its stderr (kube-rs would print the raw process output); `None` for other errors.
pub fn describe_auth(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(auth) = err.downcast_ref::<kube::client::AuthError>() {
            let line = match auth {
                kube::client::AuthError::AuthExecRun { cmd, out } => {
                    let stderr = String::from_utf8_lossy(&out.stderr);
                    let said: Vec<&str> = stderr.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
                    let said =
                        if said.is_empty() { "no message on stderr".to_string() } else { said.join(" / ") };
                    format!("exec credential plugin {} failed ({}): {said}", program_of(cmd), out.status)
                }
                other => format!("credentials: {other}"),
            };
            return Some(crate::text::redact(&crate::text::sanitize(&line)).into_owned());
        }
        cur = err.source();
    }
    None
}

/// A watch's error as one line: an API refusal (a 403 Forbidden for a user whose role does
/// not cover what a pane reads) as its message and code, never the Status object's dump.
pub fn describe_watch(e: &kube::runtime::watcher::Error) -> String {
    use kube::runtime::watcher::Error as W;
    match e {
        W::InitialListFailed(e) => format!("list: {}", super::operator::describe(e)),
        W::WatchStartFailed(e) | W::WatchFailed(e) => format!("watch: {}", super::operator::describe(e)),
        W::WatchError(s) => format!("watch: {} ({} {})", s.message, s.code, s.reason),
        other => other.to_string(),
    }
}

/// The program of a command in `std::process::Command`'s debug form (`ENV="v" "program"
/// "arg" ...`): neither the environment nor the arguments (which may carry secrets).
fn program_of(cmd: &str) -> String {
    let bytes = cmd.as_bytes();
    let start = (0..bytes.len()).find(|&i| bytes[i] == b'"' && (i == 0 || bytes[i - 1] == b' '));
    let Some(start) = start else { return "(unknown command)".into() };
    let mut escaped = false;
    for (i, c) in cmd[start + 1..].char_indices() {
        match c {
            '\\' if !escaped => escaped = true,
            '"' if !escaped => return cmd[start + 1..start + 1 + i].to_string(),
            _ => escaped = false,
        }
    }
    "(unknown command)".into()
}

/// kube-rs sends a `tokenFile`'s content as it is, where client-go trims it: a token file
/// ending in a newline (most written by hand or by `echo`) would fail every request with
/// "failed to parse header value". Such a file's trimmed token is used inline (read once: a
/// rotating token file, like a projected ServiceAccount token, has no newline and is followed).
fn trim_token_files(kubeconfig: &mut Kubeconfig) {
    for info in kubeconfig.auth_infos.iter_mut().filter_map(|a| a.auth_info.as_mut()) {
        let Some(path) = info.token_file.as_deref() else { continue };
        let Ok(content) = std::fs::read_to_string(expand_home(path)) else { continue };
        if content.trim() != content && !content.trim().is_empty() {
            info.token = Some(content.trim().to_string().into());
            info.token_file = None;
        }
    }
}

/// The console draws the whole terminal: an exec credential plugin may not prompt on it (nor
/// write its stderr over the screen), so every plugin runs non-interactively and its stderr
/// is captured for the error it causes.
fn never_interactive(kubeconfig: &mut Kubeconfig) {
    for info in kubeconfig.auth_infos.iter_mut().filter_map(|a| a.auth_info.as_mut()) {
        if let Some(exec) = info.exec.as_mut() {
            exec.interactive_mode = Some(kube::config::ExecInteractiveMode::Never);
        }
    }
}

impl std::fmt::Debug for KubeClients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeClients").field("contexts", &self.clients.keys().collect::<Vec<_>>()).finish()
    }
}

/// Expand a leading `~/` to the home directory.
fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => Path::new(&home).join(rest),
        _ => PathBuf::from(path),
    }
}

/// The contexts a config needs: every region's `kube_context`, then the database Service's
/// context if it is not one of them. In config order, without duplicates.
pub fn configured_contexts(cfg: &Config) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let service_ctx = cfg.postgres.as_ref().and_then(|p| p.service.as_ref()).map(|s| &s.context);
    for c in cfg.regions.iter().filter_map(|r| r.kube_context.as_ref()).chain(service_ctx) {
        if !out.contains(c) {
            out.push(c.clone());
        }
    }
    out
}

impl KubeClients {
    /// Build one client per context from the kubeconfig at `path` (or the standard
    /// resolution: `$KUBECONFIG`, then `~/.kube/config`). Must run inside a tokio runtime.
    pub async fn from_kubeconfig(path: Option<&str>, contexts: &[String]) -> Result<KubeClients, KubeError> {
        let shown = path.map_or_else(|| "(standard resolution)".to_string(), str::to_string);
        let kubeconfig = match path {
            Some(p) => Kubeconfig::read_from(expand_home(p)),
            None => Kubeconfig::read(),
        }
        .map_err(|e| KubeError::Kubeconfig { path: shown.clone(), message: e.to_string() })?;
        let mut kubeconfig = kubeconfig;
        never_interactive(&mut kubeconfig);
        trim_token_files(&mut kubeconfig);
        let mut clients = BTreeMap::new();
        let mut users = BTreeMap::new();
        for context in contexts {
            if !kubeconfig.contexts.iter().any(|c| c.name == *context) {
                let available: Vec<&str> = kubeconfig.contexts.iter().map(|c| c.name.as_str()).collect();
                return Err(KubeError::MissingContext {
                    context: context.clone(),
                    path: shown,
                    available: available.join(", "),
                });
            }
            let options = KubeConfigOptions { context: Some(context.clone()), ..Default::default() };
            let config = kube::Config::from_custom_kubeconfig(kubeconfig.clone(), &options)
                .await
                .map_err(|e| KubeError::Client { context: context.clone(), message: e.to_string() })?;
            let client = kube::Client::try_from(config).map_err(|e| KubeError::Client {
                context: context.clone(),
                message: describe_auth(&e).unwrap_or_else(|| e.to_string()),
            })?;
            clients.insert(context.clone(), client);
            let user = kubeconfig.contexts.iter().find(|c| c.name == *context);
            if let Some(user) = user.and_then(|c| c.context.as_ref()).and_then(|c| c.user.clone()) {
                users.insert(context.clone(), user);
            }
        }
        Ok(KubeClients { clients, users })
    }

    /// Clients for every context `cfg` names (see [`configured_contexts`]).
    pub async fn from_config(cfg: &Config) -> Result<KubeClients, KubeError> {
        let path = cfg.kubernetes.as_ref().and_then(|k| k.kubeconfig.as_deref());
        KubeClients::from_kubeconfig(path, &configured_contexts(cfg)).await
    }

    /// Clients built elsewhere (tests, other transports).
    pub fn from_clients(clients: impl IntoIterator<Item = (String, kube::Client)>) -> KubeClients {
        KubeClients { clients: clients.into_iter().collect(), users: BTreeMap::new() }
    }

    /// The kubeconfig's user name of a context's client, when it was built from one.
    pub fn user_name(&self, context: &str) -> Option<&str> {
        self.users.get(context).map(String::as_str)
    }

    /// The client of a context; `Err` names the configured ones (never falls back).
    pub fn get(&self, context: &str) -> Result<&kube::Client, String> {
        self.clients.get(context).ok_or_else(|| {
            let known: Vec<&str> = self.clients.keys().map(String::as_str).collect();
            format!("kube context {context:?} is not configured (configured: {})", known.join(", "))
        })
    }

    /// Context names, sorted.
    pub fn contexts(&self) -> impl Iterator<Item = &str> {
        self.clients.keys().map(String::as_str)
    }

    /// Context names with their clients.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &kube::Client)> {
        self.clients.iter().map(|(k, v)| (k.as_str(), v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::{ObjectRef, PostgresConfig, RegionConfig};

    fn region(name: &str, ctx: Option<&str>) -> RegionConfig {
        RegionConfig {
            name: name.into(),
            role: "secondary".into(),
            kube_context: ctx.map(str::to_string),
            ..RegionConfig::default()
        }
    }

    #[test]
    fn contexts_in_order_without_duplicates() {
        let cfg = Config {
            regions: vec![region("a", Some("ctx-a")), region("b", None), region("c", Some("ctx-a"))],
            postgres: Some(PostgresConfig {
                service: Some(ObjectRef {
                    context: "ctx-db".into(),
                    namespace: "db".into(),
                    name: "pg".into(),
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(configured_contexts(&cfg), vec!["ctx-a", "ctx-db"]);
    }

    #[test]
    fn a_plugin_is_named_by_its_program_alone() {
        let cmd = r#"AWS_PROFILE="prod" KUBERNETES_EXEC_INFO="{\"kind\":\"ExecCredential\"}" "/usr/bin/aws" "eks" "--token" "x""#;
        assert_eq!(program_of(cmd), "/usr/bin/aws");
        assert_eq!(program_of(r#""aws" "eks""#), "aws");
        assert_eq!(program_of("garbage"), "(unknown command)");
    }

    #[test]
    fn home_is_expanded() {
        if let Some(home) = std::env::var_os("HOME") {
            assert_eq!(expand_home("~/.kube/config"), Path::new(&home).join(".kube/config"));
        }
        assert_eq!(expand_home("/etc/kube"), PathBuf::from("/etc/kube"));
    }

    #[tokio::test]
    async fn missing_file_and_missing_context_are_named() {
        let err =
            KubeClients::from_kubeconfig(Some("/nonexistent/kubeconfig"), &["x".into()]).await.unwrap_err();
        assert!(err.to_string().contains("/nonexistent/kubeconfig"), "{err}");
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("kc");
        std::fs::write(
            &path,
            r#"{"apiVersion":"v1","kind":"Config","current-context":"a",
               "clusters":[{"name":"a","cluster":{"server":"http://127.0.0.1:1"}}],
               "contexts":[{"name":"a","context":{"cluster":"a","user":"u"}}],
               "users":[{"name":"u","user":{}}]}"#,
        )
        .expect("write");
        let p = path.to_string_lossy().to_string();
        let err = KubeClients::from_kubeconfig(Some(&p), &["us-west-2".into()]).await.unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("\"us-west-2\"") && msg.contains("it has: a"), "{msg}");
        let ok = KubeClients::from_kubeconfig(Some(&p), &["a".into()]).await.expect("client");
        assert!(ok.get("a").is_ok());
        let e = ok.get("b").err().expect("unknown context");
        assert!(e.contains("\"b\" is not configured (configured: a)"), "{e}");
    }
}
