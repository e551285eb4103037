//! The anchored head through the real binary: `log append` anchors every entry in the state
//! dir, `log verify` catches a truncated log and a forger who re-chains every hash, warns when
//! the anchor was deleted, and checks a head printed by `log export` (`--head SEQ:HASH`).

mod support {
    #[allow(dead_code)] // `Home::write` is for other tests.
    pub mod home;
}

use std::path::{Path, PathBuf};

use chrono::Utc;
use serde_json::Value;
use warroom::incident::log::{IncidentLog, ZERO_HASH, line_hash};

use support::home::Home;

fn lines(path: &Path) -> Vec<Vec<u8>> {
    std::fs::read(path)
        .unwrap()
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

fn write_lines(path: &Path, lines: &[Vec<u8>]) {
    let mut out = Vec::new();
    for l in lines {
        out.extend_from_slice(l);
        out.push(b'\n');
    }
    std::fs::write(path, out).unwrap();
}

/// What a forger does: edit one summary, then recompute every `prev` and seal in order.
fn rechain(lines: &[Vec<u8>], from: &str, to: &str) -> Vec<Vec<u8>> {
    let mut prev = ZERO_HASH.to_string();
    lines
        .iter()
        .map(|line| {
            let mut v: Value = serde_json::from_slice(line).unwrap();
            let map = v.as_object_mut().unwrap();
            map.remove("hash");
            map.insert("prev".into(), prev.clone().into());
            let summary = map["summary"].as_str().unwrap().replace(from, to);
            map.insert("summary".into(), summary.into());
            let unsealed = serde_json::to_vec(&v).unwrap();
            let mut sealed = unsealed[..unsealed.len() - 1].to_vec();
            sealed.extend_from_slice(format!(",\"hash\":\"{}\"}}", line_hash(&unsealed)).as_bytes());
            prev = line_hash(&sealed);
            sealed
        })
        .collect()
}

fn anchor_file(home: &Home, id: &str) -> PathBuf {
    home.path().join("xdg-state/warroom/anchors").join(format!("{id}.head"))
}

#[test]
fn verify_compares_the_log_with_its_anchor_and_with_an_exported_head() {
    let home = Home::new();
    let (log, meta) =
        IncidentLog::declare(&home.data_dir(), "primary db down", "SEV1", false, "ops@host", Utc::now())
            .unwrap();
    let id = meta.id.clone();
    let path = log.path().to_path_buf();
    drop(log);
    let appended = home.run(&["log", "append", &id, "--summary", "checkpoint", "--count", "4"]);
    assert_eq!(appended.code, Some(0), "{appended:?}");
    assert!(anchor_file(&home, &id).exists(), "anchored in the state dir, not the data dir");

    let ok = home.run(&["log", "verify", &id]);
    assert_eq!(ok.code, Some(0), "{ok:?}");
    assert!(ok.stdout.starts_with("OK: 5 entries, hash chain intact"), "{ok:?}");
    assert!(ok.stdout.contains("head: the log ends at #5, as its anchor says"), "{ok:?}");

    // Every export carries the head.
    let json = home.run(&["log", "export", &id, "--format", "json"]);
    assert_eq!(json.code, Some(0), "{json:?}");
    let doc: Value = serde_json::from_str(&json.stdout).expect("JSON export");
    let hash = doc["log_head"]["sha256"].as_str().expect("log_head.sha256").to_string();
    assert_eq!(doc["log_head"]["seq"], 5);
    assert_eq!(hash, line_hash(lines(&path).last().unwrap()));
    let md = home.run(&["log", "export", &id, "--format", "md"]);
    assert!(md.stdout.contains("## Log head"), "{md:?}");
    let head_arg = format!("5:{hash}");
    assert!(md.stdout.contains(&format!("warroom log verify {id} --head {head_arg}")), "{md:?}");
    let given = home.run(&["log", "verify", &id, "--head", &head_arg]);
    assert_eq!(given.code, Some(0), "{given:?}");

    let original = lines(&path);
    // A forger who rewrites a line and re-chains every hash passes the chain, not the anchor.
    write_lines(&path, &rechain(&original, "checkpoint #2", "all quiet"));
    let forged = home.run(&["log", "verify", &id]);
    assert_eq!(forged.code, Some(1), "{forged:?}");
    assert!(forged.stdout.contains("TAMPERED OR DAMAGED"), "{forged:?}");
    assert!(forged.stdout.contains("entry #5 has hash"), "{forged:?}");
    assert!(forged.stdout.contains("the log was rewritten"), "{forged:?}");

    // The last two lines deleted.
    write_lines(&path, &original[..3]);
    let cut = home.run(&["log", "verify", &id]);
    assert_eq!(cut.code, Some(1), "{cut:?}");
    assert!(cut.stdout.contains("the log ends at #3 but its anchor says #5"), "{cut:?}");

    // Without the anchor: a warning, and the exported head still catches the cut.
    std::fs::remove_file(anchor_file(&home, &id)).unwrap();
    let warned = home.run(&["log", "verify", &id]);
    assert_eq!(warned.code, Some(0), "{warned:?}");
    assert!(warned.stdout.contains("warning: no anchored head"), "{warned:?}");
    let exported = home.run(&["log", "verify", &id, "--head", &head_arg]);
    assert_eq!(exported.code, Some(1), "{exported:?}");
    assert!(exported.stdout.contains("the log ends at #3 but the head given says #5"), "{exported:?}");
    let bad = home.run(&["log", "verify", &id, "--head", "nope"]);
    assert_eq!(bad.code, Some(2), "{bad:?}");
    assert!(bad.stderr.contains("64-digit hex SHA-256"), "{bad:?}");
}
