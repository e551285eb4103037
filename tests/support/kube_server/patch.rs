//! Applying PATCH bodies by Content-Type: JSON merge patch (RFC 7386), JSON patch (RFC 6902),
//! strategic merge patch (maps merge, `null` deletes, lists of named objects merge by `name`,
//! `$patch: replace|delete` directives) and server-side apply (treated as a merge of the
//! applied fields; JSON bodies only).

use serde_json::Value;

/// The patch flavours the server understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchKind {
    /// `application/merge-patch+json`.
    Merge,
    /// `application/json-patch+json`.
    Json,
    /// `application/strategic-merge-patch+json`.
    Strategic,
    /// `application/apply-patch+yaml` (JSON bodies only).
    Apply,
}

impl PatchKind {
    /// From a Content-Type header value.
    pub fn from_content_type(ct: &str) -> Option<PatchKind> {
        let base = ct.split(';').next().unwrap_or_default().trim();
        match base {
            "application/merge-patch+json" => Some(PatchKind::Merge),
            "application/json-patch+json" => Some(PatchKind::Json),
            "application/strategic-merge-patch+json" => Some(PatchKind::Strategic),
            "application/apply-patch+yaml" | "application/apply-patch+json" => Some(PatchKind::Apply),
            _ => None,
        }
    }
}

/// Apply `body` of kind `kind` to `doc`. Errors are messages for a 422 (or 400) Status.
pub fn apply(kind: PatchKind, doc: &mut Value, body: &[u8]) -> Result<(), String> {
    let patch: Value = serde_json::from_slice(body).map_err(|e| format!("invalid patch body: {e}"))?;
    match kind {
        PatchKind::Merge | PatchKind::Apply => {
            if !patch.is_object() {
                return Err("merge patch must be a JSON object".into());
            }
            json_patch::merge(doc, &patch);
            Ok(())
        }
        PatchKind::Json => {
            let ops: json_patch::Patch =
                serde_json::from_value(patch).map_err(|e| format!("invalid JSON patch: {e}"))?;
            json_patch::patch(doc, &ops).map_err(|e| format!("JSON patch failed: {e}"))
        }
        PatchKind::Strategic => {
            if !patch.is_object() {
                return Err("strategic merge patch must be a JSON object".into());
            }
            strategic_merge(doc, &patch);
            Ok(())
        }
    }
}

fn strategic_merge(doc: &mut Value, patch: &Value) {
    let Some(pmap) = patch.as_object() else {
        *doc = patch.clone();
        return;
    };
    if pmap.get("$patch").and_then(Value::as_str) == Some("replace") {
        let mut p = pmap.clone();
        p.remove("$patch");
        *doc = Value::Object(p);
        return;
    }
    if !doc.is_object() {
        *doc = Value::Object(Default::default());
    }
    let dmap = doc.as_object_mut().expect("object");
    for (k, v) in pmap {
        if k.starts_with('$') {
            continue;
        }
        match v {
            Value::Null => {
                dmap.remove(k);
            }
            Value::Object(_) => strategic_merge(dmap.entry(k.clone()).or_insert(Value::Null), v),
            Value::Array(items) if is_named_list(items) => {
                let target = dmap.entry(k.clone()).or_insert_with(|| Value::Array(vec![]));
                merge_named_list(target, items);
            }
            _ => {
                dmap.insert(k.clone(), v.clone());
            }
        }
    }
}

fn is_named_list(items: &[Value]) -> bool {
    !items.is_empty() && items.iter().all(|i| i.get("name").is_some_and(Value::is_string))
}

fn merge_named_list(target: &mut Value, items: &[Value]) {
    if !target.is_array() {
        *target = Value::Array(vec![]);
    }
    let list = target.as_array_mut().expect("array");
    for item in items {
        let name = item.get("name").cloned();
        let pos = list.iter().position(|x| x.get("name") == name.as_ref());
        let delete = item.get("$patch").and_then(Value::as_str) == Some("delete");
        match (pos, delete) {
            (Some(i), true) => {
                list.remove(i);
            }
            (Some(i), false) => strategic_merge(&mut list[i], item),
            (None, true) => {}
            (None, false) => {
                let mut fresh = Value::Null;
                strategic_merge(&mut fresh, item);
                list.push(fresh);
            }
        }
    }
}
