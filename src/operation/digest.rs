//! The digest an approval is bound to: SHA-256 of a canonical serialization of what a step will
//! do (its operation with every argument, the target and the exact calls of its preview).
//!
//! Canonical: JSON with object keys sorted at every level, no insignificant whitespace, numbers
//! as serde_json writes them. The preview's title, blast radius and a runbook's wording are not
//! part of it: changing how a step is described does not change what is approved.

use serde_json::Value;
use sha2::{Digest as _, Sha256};

use super::{Operation, Preview};

/// Hex SHA-256 (64 lower-case characters) of the canonical form of `op` and `preview`'s target
/// and exact calls. Same operation and preview: same digest; any change: a different one.
pub fn digest(op: &Operation, preview: &Preview) -> String {
    let value = serde_json::json!({
        "op": serde_json::to_value(op).unwrap_or(Value::Null),
        "target": preview.target,
        "calls": preview.lines,
    });
    let mut text = String::new();
    canonical(&value, &mut text);
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// The first 12 characters: how a digest is shown beside a step.
pub fn short(digest: &str) -> &str {
    digest.get(..12).unwrap_or(digest)
}

/// Writes `v` as JSON with sorted keys (independent of how the map is ordered in memory).
fn canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String((*k).clone()).to_string());
                out.push(':');
                canonical(&map[k.as_str()], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn promote(node: &str, lag: u64) -> Operation {
        Operation::PromotePostgres {
            node: node.into(),
            endpoint: "10.0.0.5:5432".into(),
            max_lag_bytes: lag,
            accept_data_loss: None,
        }
    }

    #[test]
    fn same_preview_same_digest() {
        let op = promote("postgresql-1", 0);
        let a = digest(&op, &op.preview());
        let b = digest(&op.clone(), &op.clone().preview());
        assert_eq!(a, b);
        assert_eq!(a.len(), 64);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()), "{a}");
    }

    #[test]
    fn any_change_gives_another_digest() {
        let op = promote("postgresql-1", 0);
        let base = digest(&op, &op.preview());
        // Another target node, another argument value, another endpoint.
        for other in [
            promote("postgresql-2", 0),
            promote("postgresql-1", 1),
            Operation::PromotePostgres {
                node: "postgresql-1".into(),
                endpoint: "10.0.0.6:5432".into(),
                max_lag_bytes: 0,
                accept_data_loss: None,
            },
            Operation::PromotePostgres {
                node: "postgresql-1".into(),
                endpoint: "10.0.0.5:5432".into(),
                max_lag_bytes: 0,
                accept_data_loss: Some(10),
            },
        ] {
            assert_ne!(digest(&other, &other.preview()), base, "{other:?}");
        }
        // The same operation with another preview target or calls.
        let mut p = op.preview();
        p.target.push('x');
        assert_ne!(digest(&op, &p), base);
        let mut p = op.preview();
        p.lines.push("SELECT 1".into());
        assert_ne!(digest(&op, &p), base);
    }

    #[test]
    fn wording_is_not_part_of_the_digest() {
        let op = promote("postgresql-1", 0);
        let mut p = op.preview();
        let base = digest(&op, &p);
        p.title = "Promote the healthiest replica".into();
        p.blast_radius = "described differently".into();
        assert_eq!(digest(&op, &p), base);
    }

    #[test]
    fn canonical_form_sorts_keys_at_every_level() {
        let a: Value = serde_json::from_str(r#"{"b":1,"a":{"y":[1,{"d":2,"c":3}],"x":"s"}}"#).unwrap();
        let mut out = String::new();
        canonical(&a, &mut out);
        assert_eq!(out, r#"{"a":{"x":"s","y":[1,{"c":3,"d":2}]},"b":1}"#);
    }
}
