//! `warroom status [--json]` and `warroom drill --status`: one snapshot of every layer, then exit.
//!
//! The JSON shape is a contract (`docs/status.schema.json`):
//! extend it, never rename; every layer keeps every key in every state (see [`json`]).

pub mod json;

use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::app::Mode;
use crate::backends::Sources;
use crate::backends::{Freshness, Observed, Snapshot, live};
use crate::config::load::Loaded;

/// `warroom status [--json]`: exit 0 when every configured layer (and every node, Sentinel,
/// context and health URL in it) answered, 4 when something configured could not be read
/// (named in one line on stderr; the snapshot is printed all the same), 2 on a bad config.
pub async fn run(as_json: bool, loaded: Loaded) -> color_eyre::Result<i32> {
    if !loaded.warnings.is_empty() {
        return Ok(super::live::unusable_config(&loaded));
    }
    let Some(config) = loaded.config else {
        return Ok(super::live::unusable_config(&loaded));
    };
    let config = Arc::new(config);
    let estate = live::build(&config).await;
    let observed = first_snapshots(estate.sources, Duration::from_secs(10)).await;
    let now = Utc::now();
    let v = json::status_json_for(&observed, Some(&config), Mode::Live, now);
    if as_json {
        super::out::line(&serde_json::to_string_pretty(&v)?)?;
    } else {
        super::out::write_str(&text_of(&v, now))?;
    }
    let unread = unread(&v);
    if unread.is_empty() {
        return Ok(super::error::exit::OK);
    }
    let _ = writeln!(
        std::io::stderr(),
        "warroom status: could not read {}",
        crate::text::sanitize(&crate::text::redact(&unread.join("; ")))
    );
    Ok(super::error::exit::UNREADABLE)
}

/// What a `status --json` object could not read: each configured layer that is not fresh
/// (failed, stale, breaker open, still pending) with its error, and in a fresh layer each
/// PostgreSQL node, Sentinel and Kubernetes context with an error, a Route 53 control-plane
/// error, and each region health URL that gave no HTTP answer. An answer that reports trouble
/// (a 503, a replica that is down but answers) was read. Empty: everything configured answered.
pub fn unread(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let err = |x: &Value| x["error"].as_str().map(str::to_string);
    for (layer, rows, name) in [
        ("postgres", "nodes", "name"),
        ("sentinel", "sentinels", "addr"),
        ("kubernetes", "contexts", "context"),
        ("traffic", "regions", "name"),
    ] {
        let l = &v[layer];
        match l["freshness"].as_str() {
            Some("not_configured") => continue,
            Some("fresh") => {}
            other => {
                let why = err(l).unwrap_or_else(|| "no answer".into());
                out.push(format!("{layer} ({}: {why})", other.unwrap_or("?")));
                continue;
            }
        }
        if let Some(e) = l["control_plane_error"].as_str() {
            out.push(format!("traffic Route 53 ({e})"));
        }
        for row in l[rows].as_array().into_iter().flatten() {
            let id = row[name].as_str().unwrap_or("?");
            if layer == "traffic" {
                for probe in ["live", "ready"] {
                    let p = &row[probe];
                    if p.is_object() && p["status"].is_null() {
                        let why = err(p).unwrap_or_else(|| "no answer".into());
                        out.push(format!("traffic {id} {probe} probe ({why})"));
                    }
                }
            } else if let Some(e) = err(row) {
                out.push(format!("{layer} {id} ({e})"));
            }
        }
    }
    out
}

/// Wait until every source has answered once (or `limit` passed), then return the snapshots.
pub async fn first_snapshots(mut sources: Sources, limit: Duration) -> Observed {
    let deadline = tokio::time::Instant::now() + limit;
    async fn settle<T>(
        rx: &mut tokio::sync::watch::Receiver<std::sync::Arc<Snapshot<T>>>,
        deadline: tokio::time::Instant,
    ) -> std::sync::Arc<Snapshot<T>> {
        loop {
            let cur = rx.borrow_and_update().clone();
            if cur.freshness != Freshness::Pending {
                return cur;
            }
            match tokio::time::timeout_at(deadline, rx.changed()).await {
                Ok(Ok(())) => continue,
                _ => return rx.borrow().clone(),
            }
        }
    }
    let (kube, database, sentinel, traffic) = tokio::join!(
        settle(&mut sources.kube, deadline),
        settle(&mut sources.database, deadline),
        settle(&mut sources.sentinel, deadline),
        settle(&mut sources.traffic, deadline),
    );
    Observed { kube, database, sentinel, traffic }
}

/// The `status --json` object without the configuration: a layer with no value has no rows
/// (see [`json::status_json_for`], which the commands use).
pub fn status_json(o: &Observed, mode: Mode, now: DateTime<Utc>) -> Value {
    json::status_json_for(o, None, mode, now)
}

/// A short human rendering of the same snapshot.
pub fn status_text(o: &Observed, mode: Mode, now: DateTime<Utc>) -> String {
    text_of(&status_json(o, mode, now), now)
}

/// The human rendering of a `status --json` object.
pub fn text_of(v: &Value, now: DateTime<Utc>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "warroom status ({}) at {}", v["mode"].as_str().unwrap_or("?"), json::ts(now));
    if let Some(level) = v["verdict"].as_str() {
        let _ = writeln!(out, "  verdict     {}", level.to_uppercase());
        for r in v["reasons"].as_array().into_iter().flatten().filter_map(Value::as_str) {
            let _ = writeln!(out, "    - {}", crate::text::sanitize(r));
        }
        for r in v["expected_down"].as_array().into_iter().flatten().filter_map(Value::as_str) {
            let _ = writeln!(out, "    expected down: {}", crate::text::sanitize(r));
        }
        for r in v["recommended"].as_array().into_iter().flatten() {
            let (id, why) = (r["runbook"].as_str().unwrap_or("?"), r["reason"].as_str().unwrap_or(""));
            let _ = writeln!(out, "    recommended: {id}: {}", crate::text::sanitize(why));
        }
    }
    for (name, key) in [
        ("PostgreSQL", "postgres"),
        ("Sentinel", "sentinel"),
        ("Kubernetes", "kubernetes"),
        ("Traffic", "traffic"),
    ] {
        let l = &v[key];
        let fresh = l["freshness"].as_str().unwrap_or("?");
        let err = l["error"].as_str().map(|e| format!(" ({})", crate::text::sanitize(e))).unwrap_or_default();
        let detail = match key {
            "postgres" => format!(
                "primary {}{}",
                l["primary"].as_str().unwrap_or("none"),
                if l["split_brain"].as_bool() == Some(true) { ", SPLIT-BRAIN" } else { "" }
            ),
            "sentinel" => format!(
                "master {}{}",
                l["master"].as_str().unwrap_or("?"),
                if l["agreed"].as_bool() == Some(false) { ", SENTINELS DISAGREE" } else { "" }
            ),
            "kubernetes" => {
                let pods = l["pods"].as_array().map_or(0, Vec::len);
                format!("{pods} pods")
            }
            _ => l["regions"]
                .as_array()
                .map(|rs| {
                    rs.iter()
                        .map(|r| {
                            format!(
                                "{} w={} {}",
                                r["name"].as_str().unwrap_or("?"),
                                r["weight"],
                                r["health_check"].as_str().unwrap_or("?")
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default(),
        };
        let _ = writeln!(out, "  {name:<11} {fresh:<14} {}{err}", crate::text::sanitize(&detail));
    }
    out
}
