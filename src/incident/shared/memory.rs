//! An in-memory [`EntryStore`] for unit tests of the log's sharing logic (the real store is
//! tested against a real API server in tests/war_room_shared.rs).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use super::{Created, EntryStore};

/// Entries in a map; `down` makes every call fail like an unreachable API server.
#[derive(Default)]
pub(crate) struct MemoryStore {
    pub lines: Mutex<BTreeMap<u64, Vec<u8>>>,
    pub down: AtomicBool,
}

impl MemoryStore {
    fn up(&self) -> Result<(), String> {
        if self.down.load(Ordering::SeqCst) { Err("connection refused".into()) } else { Ok(()) }
    }
}

impl EntryStore for MemoryStore {
    fn get(&self, seq: u64) -> Result<Option<Vec<u8>>, String> {
        self.up()?;
        Ok(self.lines.lock().unwrap().get(&seq).cloned())
    }

    fn create(&self, seq: u64, line: &[u8]) -> Result<Created, String> {
        self.up()?;
        let mut lines = self.lines.lock().unwrap();
        match lines.get(&seq) {
            Some(existing) => Ok(Created::Exists(existing.clone())),
            None => {
                lines.insert(seq, line.to_vec());
                Ok(Created::Created)
            }
        }
    }

    fn describe(&self) -> String {
        "memory".into()
    }
}
