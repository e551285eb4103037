//! Replay end to end, as a person sees it: a drill console runs in tmux and is captured
//! (`capture-pane -e -p`: characters and their colours and attributes) at several moments
//! while the operator plays db-failover through to mitigation; it quits; then `warroom replay
//! ID --from T+mm:ss` runs in tmux at the same size and must show, at each captured moment,
//! the same screen cell for cell.
//!
//! What is masked, and why: the header line (row 0) only. The replay inserts its REPLAY badge
//! into the header's essentials (after DRILL), and the header makes room for it by shortening
//! the incident title and the verdict's first reason, so the rest of that row shifts. On that
//! row the test asserts instead that the incident clock (the first `T+` token) and the DRILL,
//! verdict and MITIGATED badges read the same. Every other row is compared in every cell:
//! character, colours and attributes.
//!
//! Finding the moment: the header's clock shows whole seconds, and the console may apply
//! several batches within one second. A live capture is taken once the screen stayed the same
//! for two polls; the replay is started a second before the capture's clock at 0.25x and polled
//! until it shows that screen, or its clock passed the captured second (then it fails with the
//! first differing cell). Everything waits by polling with deadlines.

#[allow(dead_code)] // each test binary uses a part of the shared support code
mod support {
    pub mod screen;
    pub mod tmux;
}

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use support::screen::{confirm_word, dialog_step, start_runbook, step_row, wait_screen};
use support::tmux::Tmux;

const BIN: &str = env!("CARGO_BIN_EXE_warroom");
/// The step keys of the built-in `db-failover` runbook, in order.
const KEYS: [&str; 6] = ["confirm-down", "promote", "fence", "label", "repoint", "verify-writes"];

/// One cell as `capture-pane -e` shows it: the character and the SGR pen it is drawn with.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Cell {
    ch: char,
    pen: Pen,
}

/// The SGR state: foreground, background (as their parameter text) and attribute bits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Pen {
    fg: String,
    bg: String,
    attrs: u16,
}

impl Pen {
    fn apply(&mut self, params: &str) {
        let nums: Vec<&str> = params.split(';').collect();
        let mut i = 0;
        while i < nums.len() {
            let n: u32 = nums[i].parse().unwrap_or(0);
            let colour = |i: usize| -> (String, usize) {
                match nums.get(i + 1) {
                    Some(&"5") => (nums[i..(i + 3).min(nums.len())].join(";"), 2),
                    Some(&"2") => (nums[i..(i + 5).min(nums.len())].join(";"), 4),
                    _ => (String::new(), 0),
                }
            };
            match n {
                0 => *self = Pen::default(),
                1..=9 => self.attrs |= 1 << n,
                22 => self.attrs &= !((1 << 1) | (1 << 2)),
                21..=29 => self.attrs &= !(1 << (n - 20)),
                30..=37 | 90..=97 => self.fg = n.to_string(),
                39 => self.fg.clear(),
                40..=47 | 100..=107 => self.bg = n.to_string(),
                49 => self.bg.clear(),
                38 => {
                    let (c, skip) = colour(i);
                    self.fg = c;
                    i += skip;
                }
                48 => {
                    let (c, skip) = colour(i);
                    self.bg = c;
                    i += skip;
                }
                _ => {}
            }
            i += 1;
        }
    }
}

/// A `capture-pane -e -p` screen as rows of cells (the pen carries over line ends, as tmux
/// writes it).
fn cells(captured: &str) -> Vec<Vec<Cell>> {
    let mut pen = Pen::default();
    let mut rows = Vec::new();
    for line in captured.lines() {
        let mut row = Vec::new();
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '\x1b' && chars.peek() == Some(&'[') {
                chars.next();
                let mut params = String::new();
                for p in chars.by_ref() {
                    if p.is_ascii_alphabetic() {
                        if p == 'm' {
                            pen.apply(&params);
                        }
                        break;
                    }
                    params.push(p);
                }
                continue;
            }
            row.push(Cell { ch: c, pen: pen.clone() });
        }
        rows.push(row);
    }
    rows
}

fn plain(row: &[Cell]) -> String {
    row.iter().map(|c| c.ch).collect()
}

/// The incident clock: the header's first `T+` token.
fn clock(header: &str) -> Option<String> {
    let at = header.find("T+")?;
    Some(header[at..].split_whitespace().next()?.to_string())
}

/// `T+mm:ss` (or `T+h:mm:ss` style `T+1h02:03`) in seconds.
fn clock_secs(token: &str) -> i64 {
    let t = token.trim_start_matches("T+");
    let (h, rest) = t.split_once('h').map_or((0, t), |(h, r)| (h.parse().unwrap(), r));
    let (m, s) = rest.split_once(':').expect("mm:ss");
    h * 3600 + m.parse::<i64>().unwrap() * 60 + s.parse::<i64>().unwrap()
}

/// The header badges compared on the masked row.
const BADGES: [&str; 6] = ["DRILL", "HEALTHY", "DEGRADED", "FAILING", "UNKNOWN", "MITIGATED"];

/// Why `replayed` differs from `live` (`None`: the same, row 0 as described in the module doc).
fn difference(live: &str, replayed: &str) -> Option<String> {
    let (a, b) = (cells(live), cells(replayed));
    let (ha, hb) =
        (a.first().map(|r| plain(r)).unwrap_or_default(), b.first().map(|r| plain(r)).unwrap_or_default());
    if clock(&ha) != clock(&hb) {
        return Some(format!("header clock {:?} vs replayed {:?}", clock(&ha), clock(&hb)));
    }
    if !hb.contains("REPLAY") {
        return Some(format!("no REPLAY badge in the replayed header: {hb}"));
    }
    let has = |header: &str, badge: &str| header.split_whitespace().any(|w| w == badge);
    for badge in BADGES {
        if has(&ha, badge) != has(&hb, badge) {
            return Some(format!("header badge {badge:?}: live {ha:?}, replayed {hb:?}"));
        }
    }
    if a.len() != b.len() {
        return Some(format!("{} rows live, {} replayed", a.len(), b.len()));
    }
    for (y, (ra, rb)) in a.iter().zip(&b).enumerate().skip(1) {
        if ra != rb {
            let x = ra.iter().zip(rb).position(|(p, q)| p != q).unwrap_or(ra.len().min(rb.len()));
            return Some(format!(
                "row {y} column {x}: live {:?}, replayed {:?}\nlive row:     {}\nreplayed row: {}",
                ra.get(x),
                rb.get(x),
                plain(ra),
                plain(rb)
            ));
        }
    }
    None
}

/// A captured moment of the live console.
struct Moment {
    what: &'static str,
    screen: String,
    clock: String,
}

/// The live screen once it stayed the same for two polls 150 ms apart (the console is between
/// batches), with its header clock.
async fn settled(t: &Tmux, what: &'static str) -> Moment {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut last = t.capture_escapes();
    loop {
        tokio::time::sleep(Duration::from_millis(150)).await;
        let now = t.capture_escapes();
        let header = cells(&now).first().map(|r| plain(r)).unwrap_or_default();
        if let Some(clock) = clock(&header).filter(|_| now == last) {
            return Moment { what, screen: now, clock };
        }
        assert!(Instant::now() < deadline, "the screen never settled for {what}:\n{now}");
        last = now;
    }
}

fn env(data: &Path) -> [(&'static str, &Path); 2] {
    [("WARROOM_DATA_DIR", data), ("HOME", data)]
}

fn incident_id(data: &Path) -> String {
    support::tmux::incident_log_file(data).file_stem().unwrap().to_string_lossy().into_owned()
}

/// Replay `id` at `size` from a second before `m`'s clock at 0.25x until it shows `m`'s
/// screen; `Err` with the closest miss once its clock passed the captured second.
async fn replay_shows(data: &Path, id: &str, size: (u16, u16), m: &Moment) -> Result<(), String> {
    let secs = clock_secs(&m.clock);
    let from = (secs - 1).max(0);
    let from = format!("T+{}:{:02}", from / 60, from % 60);
    let t = Tmux::start(size.0, size.1, &[BIN, "replay", id, "--from", &from, "--speed", "0.25"], &env(data));
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut miss = String::from("nothing drawn");
    loop {
        let screen = t.capture_escapes();
        let header = cells(&screen).first().map(|r| plain(r)).unwrap_or_default();
        match difference(&m.screen, &screen) {
            None => return Ok(()),
            Some(d) => {
                if clock(&header).is_some_and(|c| clock_secs(&c) <= secs) {
                    miss = d;
                }
            }
        }
        let passed = clock(&header).is_some_and(|c| clock_secs(&c) > secs);
        if passed || t.pane_dead() || Instant::now() > deadline {
            return Err(format!("{miss}\nlast replayed screen:\n{}", t.capture()));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Every moment replays identically (each tried up to three times: a replay process starved of
/// CPU can step over a short-lived frame at 0.25x; it never shows a different one).
async fn assert_replayed(data: &Path, size: (u16, u16), moments: &[Moment]) {
    let id = incident_id(data);
    for m in moments {
        let mut last = String::new();
        let mut ok = false;
        for _ in 0..3 {
            match replay_shows(data, &id, size, m).await {
                Ok(()) => {
                    ok = true;
                    break;
                }
                Err(e) => last = e,
            }
        }
        assert!(
            ok,
            "replay at {} ({}) does not show the live screen: {last}\nlive screen:\n{}",
            m.clock,
            m.what,
            plain_of(&m.screen)
        );
    }
    let out = Command::new(BIN).args(["log", "verify", &id]).env("WARROOM_DATA_DIR", data).output().unwrap();
    assert!(out.status.success(), "log verify: {}", String::from_utf8_lossy(&out.stdout));
    recordings_listed_apart(data, &id);
}

/// The console's closed segments: `log show` lists their `recording` entries; the export lists
/// them under "Recordings" (segment, bytes, hash), not in its timeline.
fn recordings_listed_apart(data: &Path, id: &str) {
    let run = |args: &[&str]| {
        let out = Command::new(BIN).args(args).env("WARROOM_DATA_DIR", data).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let show = run(&["log", "show", id]);
    assert!(show.contains("recording  recording segment"), "log show keeps recording entries:\n{show}");
    let md = run(&["log", "export", id, "--format", "md"]);
    let timeline = &md[md.find("## Timeline").unwrap()..md.find("## Checklist").unwrap()];
    assert!(!timeline.contains("`recording`"), "{timeline}");
    let recordings = &md[md.find("## Recordings").expect("a Recordings section")..];
    assert!(recordings.contains(".seg`"), "{recordings}");
}

/// The characters of a `capture-pane -e -p` screen.
fn plain_of(escaped: &str) -> String {
    cells(escaped).iter().map(|r| plain(r)).collect::<Vec<_>>().join("\n")
}

fn drill(size: (u16, u16), data: &Path) -> Tmux {
    Tmux::start(size.0, size.1, &[BIN, "drill", "--scenario", "primary-db-down", "--speed", "4"], &env(data))
}

async fn primary_down(t: &Tmux) {
    wait_screen(t, "the primary to go down", Duration::from_secs(30), |s| {
        s.lines().any(|l| l.contains("postgresql-0") && l.contains("DOWN"))
    })
    .await;
}

/// Quit. A drill that ended shows its scorecard over the last frame after shutting down (the
/// log and the recording are closed by then); the session is ended there (its dismiss key is
/// not what this test is about).
async fn quit(t: &Tmux) {
    t.keys(&["q"]);
    let deadline = Instant::now() + Duration::from_secs(15);
    while !t.pane_dead() {
        assert!(Instant::now() < deadline, "the console did not exit:\n{}", t.capture());
        if t.capture().contains("SCORECARD") {
            let pid = t.pane_pid();
            t.kill_session();
            while Path::new(&format!("/proc/{pid}")).exists() {
                let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
                if stat.split_whitespace().nth(2) == Some("Z") {
                    break;
                }
                assert!(Instant::now() < deadline, "the console did not end with its session");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_drill_shows_what_the_console_showed_at_160x48() {
    let data = tempfile::tempdir().unwrap();
    let size = (160, 48);
    let t = drill(size, data.path());
    let mut moments = Vec::new();
    primary_down(&t).await;
    moments.push(settled(&t, "the primary down").await);
    start_runbook(&t, "b", "db-failover").await;
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        assert!(Instant::now() < deadline, "db-failover did not finish:\n{}", t.capture());
        let (screen, _) = wait_screen(&t, "a confirm dialog or the end", Duration::from_secs(60), |s| {
            dialog_step(s).is_some() || s.contains("db-failover completed")
        })
        .await;
        let Some(id) = dialog_step(&screen) else { break };
        if moments.len() < 3 {
            moments.push(settled(&t, "a confirm dialog").await);
        }
        match confirm_word(&screen) {
            Some(word) => {
                t.type_text(&word);
                t.keys(&["Enter"]);
            }
            None => t.keys(&["y"]),
        }
        wait_screen(&t, &format!("step #{id} to finish"), Duration::from_secs(60), |s| {
            step_row(s, id, &KEYS).is_some_and(|(_, rest)| !rest.starts_with(['?', '…', '○', '◇']))
        })
        .await;
        if moments.len() < 5 {
            moments.push(settled(&t, "a step confirmed").await);
        }
        t.keys(&["N"]);
    }
    wait_screen(&t, "mitigation", Duration::from_secs(60), |s| s.contains(" MITIGATED ")).await;
    moments.push(settled(&t, "mitigated, the runbook completed").await);
    quit(&t).await;
    drop(t);
    assert_replayed(data.path(), size, &moments).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_drill_shows_what_the_console_showed_at_80x24() {
    let data = tempfile::tempdir().unwrap();
    let size = (80, 24);
    let t = drill(size, data.path());
    let mut moments = vec![settled(&t, "the console starting").await];
    primary_down(&t).await;
    moments.push(settled(&t, "the primary down").await);
    t.keys(&["b"]);
    wait_screen(&t, "the runbook picker", Duration::from_secs(10), |s| s.contains("Runbooks")).await;
    moments.push(settled(&t, "the runbook picker").await);
    t.keys(&["Escape"]);
    t.keys(&["?"]);
    wait_screen(&t, "help", Duration::from_secs(10), |s| s.contains("Getting started")).await;
    moments.push(settled(&t, "the help").await);
    t.keys(&["q"]);
    wait_screen(&t, "help to close", Duration::from_secs(10), |s| !s.contains("Getting started")).await;
    quit(&t).await;
    drop(t);
    assert_replayed(data.path(), size, &moments).await;
}
