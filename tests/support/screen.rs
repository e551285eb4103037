//! Reading the console's screen (`capture-pane -p` text) the way an operator reads it, and
//! waiting for it without blocking the tokio runtime that also runs the in-process test
//! servers (the Kubernetes API test server lives in the test process).

use std::time::{Duration, Instant};

use super::tmux::Tmux;

/// Symbols the Steps pane draws after a step's key (`ui::steps::status_symbol`).
const STEP_SYMBOLS: [char; 9] = ['○', '◇', '?', '…', '✓', '✗', '↷', '⊘', '‽'];

/// Poll the screen every 100 ms until `pred` holds; panic with the last screen after `within`.
/// Returns the screen and the time it took.
pub async fn wait_screen(
    t: &Tmux,
    what: &str,
    within: Duration,
    pred: impl Fn(&str) -> bool,
) -> (String, Duration) {
    let start = Instant::now();
    loop {
        let screen = t.capture();
        if pred(&screen) {
            return (screen, start.elapsed());
        }
        if start.elapsed() > within {
            panic!("timed out after {within:?} waiting for {what}; screen:\n{screen}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The first line containing every one of `needles`.
pub fn line_with<'a>(screen: &'a str, needles: &[&str]) -> Option<&'a str> {
    screen.lines().find(|l| needles.iter().all(|n| l.contains(n)))
}

/// The step number in an open confirm dialog's title (`Confirm step #N: ...`).
pub fn dialog_step(screen: &str) -> Option<u64> {
    let at = screen.find("Confirm step #")? + "Confirm step #".len();
    screen[at..].chars().take_while(char::is_ascii_digit).collect::<String>().parse().ok()
}

/// The word a high-risk dialog asks to type (`type WORD and press Enter`).
pub fn confirm_word(screen: &str) -> Option<String> {
    screen.lines().find_map(|l| {
        let rest = &l[l.find("type ")? + "type ".len()..];
        let end = rest.find(" and press Enter")?;
        Some(rest[..end].trim().to_string())
    })
}

/// The Steps pane's row of step `id` as (key, the text after the key) when the step belongs to
/// a runbook whose step keys are `keys` (`#2 promote   ✓ done   3s Promote ...`). Log lines
/// that merely mention `#2` do not match: the key and a status symbol must follow.
pub fn step_row<'a>(screen: &'a str, id: u64, keys: &[&str]) -> Option<(String, &'a str)> {
    let tag = format!("#{id} ");
    screen.lines().find_map(|l| {
        let mut from = 0;
        while let Some(i) = l[from..].find(&tag) {
            let at = from + i;
            from = at + tag.len();
            let before_ok = l[..at].chars().next_back().is_none_or(|c| c == ' ' || c == '›' || c == '│');
            let rest = &l[from..];
            let key = rest.split_whitespace().next()?;
            let after = rest[key.len()..].trim_start();
            if before_ok && keys.contains(&key) && after.starts_with(STEP_SYMBOLS) {
                return Some((key.to_string(), after));
            }
        }
        None
    })
}

/// The ids listed in the runbook picker, top to bottom, and the highlighted one (`›`). The
/// picker is a box drawn over the panes: its rows are read from the column of its left border.
pub fn picker_ids(screen: &str) -> (Vec<String>, Option<String>) {
    let mut ids = Vec::new();
    let mut selected = None;
    let mut lines = screen.lines();
    let Some(col) = lines.by_ref().find_map(|l| {
        let title = l.find("Runbooks (Enter")?;
        let corner = l[..title].rfind('┌')?;
        Some(l[..corner].chars().count())
    }) else {
        return (ids, selected);
    };
    for l in lines {
        let body: String = l.chars().skip(col + 1).collect();
        if body.trim_start().starts_with('─') || body.trim().is_empty() {
            break;
        }
        let marked = body.starts_with('›');
        let Some(id) = body.trim_start_matches('›').split_whitespace().next() else { break };
        if marked {
            selected = Some(id.to_string());
        }
        ids.push(id.to_string());
    }
    (ids, selected)
}

/// Open the runbook picker with `open_key`, move to `id`, check it is highlighted, press Enter.
pub async fn start_runbook(t: &Tmux, open_key: &str, id: &str) {
    t.keys(&[open_key]);
    let (screen, _) =
        wait_screen(t, "the runbook picker", Duration::from_secs(5), |s| s.contains("Runbooks (Enter")).await;
    let (ids, _) = picker_ids(&screen);
    let n = ids
        .iter()
        .position(|x| x == id)
        .unwrap_or_else(|| panic!("no {id} in the picker {ids:?}:\n{screen}"));
    for _ in 0..n {
        t.keys(&["Down"]);
    }
    wait_screen(t, &format!("{id} highlighted"), Duration::from_secs(5), |s| {
        picker_ids(s).1.as_deref() == Some(id)
    })
    .await;
    t.keys(&["Enter"]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_steps_dialogs_and_the_picker() {
        let screen = "│ #1 confirm-down  ✓ done       0s Confirm the primary is down │ step #2 confirmed: x\n\
                      │›#2 promote       … verifying  1s Promote postgresql-1       │\n\
                      │ ┌ Confirm step #3: HIGH RISK ┐\n\
                      │ │ type postgresql-1 and press Enter · esc cancel │";
        let keys = ["confirm-down", "promote", "fence"];
        assert_eq!(step_row(screen, 1, &keys).map(|(k, _)| k), Some("confirm-down".into()));
        assert!(step_row(screen, 2, &keys).is_some_and(|(_, r)| r.starts_with("… verifying")));
        assert_eq!(step_row(screen, 3, &keys), None);
        assert_eq!(dialog_step(screen), Some(3));
        assert_eq!(confirm_word(screen).as_deref(), Some("postgresql-1"));
        let picker = "│ pane │ ┌ Runbooks (Enter: start, Esc: close) ┐\n│ pane │ │  db-failover   Database failover │\n\
                      │ pane │ │› dns-failover  DNS │\n│ pane │ │──────│\n│ pane │ │ text │";
        assert_eq!(
            picker_ids(picker),
            (vec!["db-failover".into(), "dns-failover".into()], Some("dns-failover".into()))
        );
    }
}
