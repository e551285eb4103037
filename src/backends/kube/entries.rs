//! One incident-log entry per ConfigMap, created with create-only semantics: the API server's
//! AlreadyExists is the compare-and-swap that lets exactly one writer win a sequence number.
//!
//! The object `wr-<incident id lowercased>-<seq zero-padded to 8>` (labels
//! `warroom.dev/incident`, `warroom.dev/seq`) holds the exact line bytes under `line`. A line
//! longer than [`PART_BYTES`] is split: the entry object holds `line.0`, `parts` and `sha256`;
//! parts 1.. live in chunk objects `wr-<id>-<seq>-<hash12>-<n>` (label `warroom.dev/part-of`),
//! created BEFORE the entry object, so an entry object that exists always has its parts.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, PostParams};
use sha2::{Digest, Sha256};

/// Most bytes of a line held by one object (a ConfigMap holds at most 1 MiB).
pub const PART_BYTES: usize = 900 * 1024;

/// Label naming the incident (its id lowercased).
pub const INCIDENT_LABEL: &str = "warroom.dev/incident";
/// Label carrying an entry object's sequence number.
pub const SEQ_LABEL: &str = "warroom.dev/seq";

/// The outcome of [`EntryObjects::create`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    /// The object was created: this writer won the sequence number.
    Created,
    /// An object for that sequence number exists already, holding these line bytes.
    Exists(Vec<u8>),
}

/// The entry objects of one incident in one namespace.
#[derive(Clone)]
pub struct EntryObjects {
    api: Api<ConfigMap>,
    incident: String,
}

impl EntryObjects {
    /// The entries of `incident_id` in `namespace`, through `client` (built for an explicit context).
    pub fn new(client: kube::Client, namespace: &str, incident_id: &str) -> EntryObjects {
        EntryObjects { api: Api::namespaced(client, namespace), incident: incident_id.to_ascii_lowercase() }
    }

    /// The object name of entry `seq`.
    pub fn object_name(&self, seq: u64) -> String {
        format!("wr-{}-{seq:08}", self.incident)
    }

    /// The line bytes of entry `seq`, or `None` when no such object exists.
    pub async fn get(&self, seq: u64) -> Result<Option<Vec<u8>>, String> {
        let name = self.object_name(seq);
        let Some(cm) = self.api.get_opt(&name).await.map_err(|e| format!("get {name}: {}", describe(&e)))?
        else {
            return Ok(None);
        };
        self.assemble(&name, cm).await.map(Some)
    }

    /// Creates entry `seq` holding `line` (create-only). An existing object is not an error: its
    /// bytes are returned for the caller to compare.
    pub async fn create(&self, seq: u64, line: &[u8]) -> Result<Created, String> {
        let name = self.object_name(seq);
        let text = std::str::from_utf8(line).map_err(|_| format!("create {name}: the line is not UTF-8"))?;
        let parts = split_utf8(text, PART_BYTES);
        let hash = hex::encode(Sha256::digest(line));
        let mut data = BTreeMap::new();
        if parts.len() == 1 {
            data.insert("line".to_string(), text.to_string());
        } else {
            for (n, part) in parts.iter().enumerate().skip(1) {
                self.create_chunk(seq, &hash, n, part).await?;
            }
            data.insert("line.0".to_string(), parts[0].to_string());
            data.insert("parts".to_string(), parts.len().to_string());
            data.insert("sha256".to_string(), hash);
        }
        let labels =
            [(INCIDENT_LABEL.to_string(), self.incident.clone()), (SEQ_LABEL.to_string(), seq.to_string())];
        let cm = ConfigMap {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                labels: Some(labels.into()),
                ..Default::default()
            },
            data: Some(data),
            ..Default::default()
        };
        match self.api.create(&PostParams::default(), &cm).await {
            Ok(_) => Ok(Created::Created),
            Err(kube::Error::Api(s)) if s.is_already_exists() => match self.get(seq).await? {
                Some(existing) => Ok(Created::Exists(existing)),
                None => Err(format!("create {name}: AlreadyExists, yet the object cannot be read")),
            },
            Err(e) => Err(format!("create {name}: {}", describe(&e))),
        }
    }

    fn chunk_name(&self, seq: u64, hash: &str, n: usize) -> String {
        format!("{}-{}-{n}", self.object_name(seq), &hash[..12])
    }

    async fn create_chunk(&self, seq: u64, hash: &str, n: usize, part: &str) -> Result<(), String> {
        let name = self.chunk_name(seq, hash, n);
        let labels = [
            (INCIDENT_LABEL.to_string(), self.incident.clone()),
            ("warroom.dev/part-of".to_string(), seq.to_string()),
        ];
        let cm = ConfigMap {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                labels: Some(labels.into()),
                ..Default::default()
            },
            data: Some([(format!("line.{n}"), part.to_string())].into()),
            ..Default::default()
        };
        match self.api.create(&PostParams::default(), &cm).await {
            // Chunk names carry the line's hash: an existing chunk holds the same bytes.
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.is_already_exists() => Ok(()),
            Err(e) => Err(format!("create {name}: {}", describe(&e))),
        }
    }

    async fn assemble(&self, name: &str, cm: ConfigMap) -> Result<Vec<u8>, String> {
        let mut data = cm.data.unwrap_or_default();
        if let Some(line) = data.remove("line") {
            return Ok(line.into_bytes());
        }
        let bad = |what: &str| format!("{name}: {what}");
        let parts: usize =
            data.get("parts").and_then(|p| p.parse().ok()).ok_or_else(|| bad("no `line` nor `parts`"))?;
        let hash =
            data.remove("sha256").filter(|h| h.len() == 64).ok_or_else(|| bad("no sha256 of its parts"))?;
        let mut line = data.remove("line.0").ok_or_else(|| bad("no `line.0`"))?.into_bytes();
        let seq = name.rsplit('-').next().and_then(|s| s.parse::<u64>().ok()).ok_or_else(|| bad("no seq"))?;
        for n in 1..parts {
            let chunk = self.chunk_name(seq, &hash, n);
            let cm = self.api.get_opt(&chunk).await.map_err(|e| format!("get {chunk}: {}", describe(&e)))?;
            let part = cm
                .and_then(|c| c.data)
                .and_then(|mut d| d.remove(&format!("line.{n}")))
                .ok_or_else(|| bad(&format!("part {n} ({chunk}) is missing")))?;
            line.extend_from_slice(part.as_bytes());
        }
        if hex::encode(Sha256::digest(&line)) != hash {
            return Err(bad("its parts do not match its sha256"));
        }
        Ok(line)
    }
}

/// `text` cut into pieces of at most `max` bytes, at character boundaries.
pub fn split_utf8(text: &str, max: usize) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while rest.len() > max {
        let mut cut = max;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        let (head, tail) = rest.split_at(cut);
        out.push(head);
        rest = tail;
    }
    out.push(rest);
    out
}

fn describe(e: &kube::Error) -> String {
    super::operator::describe(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitting_keeps_characters_whole_and_loses_nothing() {
        let text = "aé日".repeat(1000);
        let parts = split_utf8(&text, 7);
        assert!(parts.iter().all(|p| p.len() <= 7 && !p.is_empty()));
        assert_eq!(parts.concat(), text);
        assert_eq!(split_utf8("short", 7), vec!["short"]);
    }
}
