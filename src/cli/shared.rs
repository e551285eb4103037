//! `[war_room]` on the command line: connecting a console's log to the shared store, joining
//! an incident this host lacks, and `warroom log verify` against the shared copy.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use crate::config::model::Config;
use crate::incident::log::IncidentLog;
use crate::incident::shared::{EntryStore, KubeStore, compare_with_store};

/// The store of incident `id` when `cfg` has `[war_room]` (`None` without it).
pub fn connect(cfg: &Config, id: &str) -> Option<Result<Arc<dyn EntryStore>, String>> {
    let w = cfg.war_room.as_ref()?;
    let fallback = cfg.kubernetes.as_ref().and_then(|k| k.kubeconfig.as_deref());
    Some(
        KubeStore::connect(w, fallback, id)
            .map(|s| Arc::new(s) as Arc<dyn EntryStore>)
            .map_err(|e| format!("war room store: {e}")),
    )
}

/// Before a console opens incident `id`: rebuild its log from the store when this host lacks
/// it. Without `[war_room]`, or with the log already here, nothing is done.
pub fn join_if_missing(cfg: &Config, data_dir: &Path, id: &str) -> Result<(), String> {
    let Ok(path) = crate::incident::store::log_path(data_dir, id) else { return Ok(()) };
    if path.exists() {
        return Ok(());
    }
    let Some(store) = connect(cfg, id) else { return Ok(()) };
    let store = store?;
    IncidentLog::join_from_store(data_dir, id, store.as_ref())
        .map(|_| ())
        .map_err(|e| format!("joining {id} from {}: {e}", store.describe()))
}

/// Shares an open log through the store (a warning when it cannot connect: the console keeps
/// working locally).
pub fn share(cfg: &Config, log: &Arc<IncidentLog>, id: &str) -> Option<String> {
    match connect(cfg, id)? {
        Ok(store) => log.share(store).err().map(|e| format!("war room store: {e}")),
        Err(e) => Some(e),
    }
}

/// `warroom log verify ID` with `[war_room]`: the local file against the shared copy. Exit
/// code 1 when they differ (truncated, rewritten, or entries missing on either side).
pub fn verify(out: &mut impl Write, cfg: &Config, data_dir: &Path, id: &str) -> color_eyre::Result<i32> {
    let path = crate::incident::store::log_path(data_dir, id)?;
    let Some(store) = connect(cfg, id) else { return Ok(0) };
    let store = store.map_err(|e| color_eyre::eyre::eyre!(e))?;
    let problems = compare_with_store(&path, store.as_ref())
        .map_err(|e| color_eyre::eyre::eyre!("comparing with {}: {e}", store.describe()))?;
    for p in &problems {
        writeln!(out, "DIFFERS FROM THE SHARED STORE ({}): seq {}: {}", store.describe(), p.seq, p.message)?;
    }
    if problems.is_empty() {
        writeln!(out, "OK: the local log matches the shared store ({})", store.describe())?;
        return Ok(0);
    }
    Ok(1)
}
