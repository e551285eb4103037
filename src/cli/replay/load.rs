//! Reading a console's recording through the flight recorder (`incident::recorder` finds the
//! consoles' recordings, `app::recording` decodes one and rebuilds its initial state).

use std::path::Path;

use super::{Replayable, choose};
use crate::app::recording::{genesis_state, read};
use crate::incident::recorder::consoles;

/// The recording of `id` by console `console` (or the only console that recorded it).
pub fn load(data_dir: &Path, id: &str, console: Option<&str>) -> Result<Replayable, String> {
    let all = consoles(data_dir, id);
    let names: Vec<&str> = all.iter().map(|c| c.console.as_str()).collect();
    let rec = &all[choose(id, &names, console)?];
    let r = read(rec).map_err(|e| format!("cannot read the recording of {id} by {}: {e}", rec.console))?;
    let mut notes = Vec::new();
    if let Some(torn) = &r.torn {
        notes.push(format!("recording torn, replayed up to the last whole record: {torn}"));
    }
    if r.open {
        notes.push("the last segment is still open (the console runs, or it crashed)".into());
    }
    if r.dropped > 0 {
        notes.push(format!("{} actions were not recorded (the recorder fell behind)", r.dropped));
    }
    Ok(Replayable {
        initial: genesis_state(&r.genesis),
        actions: r.actions,
        size: r.genesis.size,
        console: rec.console.clone(),
        notes,
    })
}
