//! `warroom replay ID [--speed X] [--from T+mm:ss] [--console NAME]`: a recorded console shown
//! again, read-only, in the full console (see [`crate::tui::replay`]).

use chrono::Duration;
use clap::Args;

use crate::app::State;
use crate::app::replay::{Recorded, Timeline};
use crate::config::load::Loaded;
use crate::tui::replay::player::{Player, SPEEDS};
use crate::ui::UiContext;

/// `warroom replay` arguments.
#[derive(Debug, Clone, Args)]
pub struct ReplayArgs {
    /// The incident whose recording to replay.
    #[arg(value_name = "ID")]
    pub id: String,
    /// Playback speed, 0.25 to 64 (`+` / `-` change it while playing).
    #[arg(long, default_value_t = 1.0, value_name = "X")]
    pub speed: f64,
    /// Start at this incident time, as the header's clock shows it: T+mm:ss or T+h:mm:ss.
    #[arg(long, value_name = "T+mm:ss")]
    pub from: Option<String>,
    /// The console whose recording to replay (needed when several consoles recorded the incident).
    #[arg(long, value_name = "NAME")]
    pub console: Option<String>,
    /// Ghost mode: stop before each step the original operator confirmed and let the trainee
    /// choose on a fork of the replayed console; scored on exit.
    #[arg(long, conflicts_with = "from")]
    pub as_trainee: bool,
    /// The trainee's name with --as-trainee (default `$USER@host`).
    #[arg(long, value_name = "NAME", requires = "as_trainee")]
    pub operator: Option<String>,
}

/// A console's recording, ready to replay.
#[derive(Debug, Clone)]
pub struct Replayable {
    /// The state the console started with.
    pub initial: State,
    /// What it applied, with the `now` of each.
    pub actions: Vec<Recorded>,
    /// Its terminal size at the start.
    pub size: (u16, u16),
    /// Its console id.
    pub console: String,
    /// What the viewer should know (a torn tail, an open last segment, dropped records).
    pub notes: Vec<String>,
}

/// Run `warroom replay`. Returns the exit code (2: bad arguments or no such recording).
pub async fn run(args: ReplayArgs, loaded: Loaded) -> color_eyre::Result<i32> {
    let usage = |msg: String| {
        eprintln!("warroom replay: {msg}");
        Ok(2)
    };
    if !(SPEEDS[0]..=SPEEDS[SPEEDS.len() - 1]).contains(&args.speed) {
        return usage(format!("--speed must be between 0.25 and 64, got {}", args.speed));
    }
    let from = match args.from.as_deref().map(parse_from).transpose() {
        Ok(from) => from,
        Err(e) => return usage(e),
    };
    let rec = match load(&loaded.paths.data_dir, &args.id, args.console.as_deref()) {
        Ok(rec) => rec,
        Err(e) => return usage(e),
    };
    if args.as_trainee {
        return ghost::run(&args, &loaded, rec).await;
    }
    let declared_at = rec.initial.domain.incident.declared_at;
    let timeline = Timeline::new(rec.initial, rec.actions);
    let mut player = Player::new(&timeline, from.map(|d| declared_at + d), args.speed);
    if !rec.notes.is_empty() {
        player.message = Some(rec.notes.join("; "));
    }
    let ctx = UiContext { theme: loaded.theme.clone(), keymap: loaded.keymap.clone() };
    crate::tui::replay::run(&timeline, rec.size, &ctx, player).await?;
    Ok(0)
}

/// `T+mm:ss`, `T+h:mm:ss` or `T+1h02:03` (the header's clock; `T+` optional) as a duration.
pub fn parse_from(text: &str) -> Result<Duration, String> {
    let bad = || format!("--from {text:?}: expected T+mm:ss or T+h:mm:ss (the incident clock)");
    let t = text.trim();
    let t = t.strip_prefix("T+").or_else(|| t.strip_prefix("t+")).unwrap_or(t);
    let (hours, rest) = match t.split_once('h') {
        Some((h, rest)) => (Some(h), rest),
        None => (None, t),
    };
    let num =
        |s: &str| s.parse::<i64>().ok().filter(|_| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()));
    let parts: Vec<i64> = rest.split(':').map(num).collect::<Option<_>>().ok_or_else(bad)?;
    let (h, m, s) = match (hours, parts.as_slice()) {
        (Some(h), [m, s]) if *m < 60 => (num(h).ok_or_else(bad)?, *m, *s),
        (None, [h, m, s]) if *m < 60 => (*h, *m, *s),
        (None, [m, s]) => (0, *m, *s),
        _ => return Err(bad()),
    };
    if s >= 60 {
        return Err(bad());
    }
    Ok(Duration::seconds(h * 3600 + m * 60 + s))
}

/// Which of the recorded consoles `names` to replay: `wanted`, or the only one.
pub fn choose(id: &str, names: &[&str], wanted: Option<&str>) -> Result<usize, String> {
    match (wanted, names) {
        (_, []) => Err(format!("no recording of incident {id}")),
        (Some(w), _) => names.iter().position(|n| *n == w).ok_or_else(|| {
            format!("no console {w:?} recorded incident {id}; recorded: {}", names.join(", "))
        }),
        (None, [_]) => Ok(0),
        (None, _) => Err(format!(
            "incident {id} was recorded by {} consoles: choose one with --console ({})",
            names.len(),
            names.join(", ")
        )),
    }
}

pub mod ghost;
mod load;
use load::load;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_takes_the_headers_clock() {
        assert_eq!(parse_from("T+12:34"), Ok(Duration::seconds(754)));
        assert_eq!(parse_from("12:34"), Ok(Duration::seconds(754)));
        assert_eq!(parse_from("T+125:00"), Ok(Duration::seconds(7500)), "minutes past 59 without hours");
        assert_eq!(parse_from("T+1:02:03"), Ok(Duration::seconds(3723)));
        assert_eq!(parse_from("T+1h02:03"), Ok(Duration::seconds(3723)));
        for bad in [
            "",
            "T+",
            "T+1",
            "T+1:60",
            "T+1:02:60",
            "T+1:60:00",
            "T+-1:00",
            "T+a:00",
            "T+1h",
            "T+1h2:3:4",
            "T+ 1:00",
        ] {
            let e = parse_from(bad).expect_err(bad);
            assert!(e.contains("expected T+mm:ss"), "{e}");
        }
    }

    #[test]
    fn the_console_is_chosen_by_name_or_is_the_only_one() {
        assert_eq!(choose("INC-1", &["a"], None), Ok(0));
        assert_eq!(choose("INC-1", &["a", "b"], Some("b")), Ok(1));
        let e = choose("INC-1", &["a", "b"], None).expect_err("ambiguous");
        assert_eq!(e, "incident INC-1 was recorded by 2 consoles: choose one with --console (a, b)");
        let e = choose("INC-1", &["a", "b"], Some("c")).expect_err("unknown");
        assert_eq!(e, "no console \"c\" recorded incident INC-1; recorded: a, b");
        assert_eq!(choose("INC-1", &[], None), Err("no recording of incident INC-1".into()));
    }
}
