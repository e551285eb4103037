//! Shipped themes, keymaps and the example config parse; invalid fixtures produce the expected
//! message at the expected position; NO_COLOR, chords, user overrides and fallbacks behave.

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use ratatui::style::{Color, Modifier};
use warroom::command::Command;
use warroom::config::key::Key;
use warroom::config::keymap::{KeyLayer, KeymapResult};
use warroom::config::theme::Slot;
use warroom::config::theme_parse::parse_theme_file;
use warroom::config::{
    ConfigError, Environment, Keymap, LoadOptions, Theme, check_in, load_in, parse_config,
};

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn fixture(rel: &str) -> (String, PathBuf) {
    let path = repo("tests/fixtures/config").join(rel);
    (std::fs::read_to_string(&path).unwrap(), path)
}

fn keys(text: &str) -> Vec<Key> {
    text.split(' ').map(|k| Key::parse(k).unwrap()).collect()
}

/// An environment rooted in a temp dir, with nothing set.
fn env_in(dir: &Path) -> Environment {
    Environment {
        home: Some(dir.join("home")),
        config_dir: Some(dir.join("cfg")),
        data_dir: Some(dir.join("data")),
        state_dir: Some(dir.join("state")),
        ..Environment::default()
    }
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

// ---- shipped files ---------------------------------------------------------------------------

#[test]
fn every_shipped_theme_resolves_with_every_slot() {
    for name in ["default", "light", "high-contrast", "mono"] {
        let text = std::fs::read_to_string(repo(&format!("themes/{name}.toml"))).unwrap();
        let theme = Theme::from_toml(&text, &repo(&format!("themes/{name}.toml")), None)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(theme.styles.len(), Slot::ALL.len());
        assert_eq!(Theme::preset(name).as_ref(), Some(&Theme { name: name.into(), ..theme }), "{name}");
    }
    assert_eq!(Theme::preset_names(), ["default", "light", "high-contrast", "mono"]);
    assert!(Theme::preset("nope").is_none());
}

#[test]
fn default_and_mono_define_every_slot_themselves() {
    for name in ["default", "mono"] {
        let text = std::fs::read_to_string(repo(&format!("themes/{name}.toml"))).unwrap();
        let file = parse_theme_file(&text, Path::new(name), name).unwrap();
        for (slot, key) in Slot::ALL {
            assert!(file.slots.iter().any(|(s, _)| s == slot), "{name} does not define `{key}`");
        }
    }
    // the themes differ where they should
    let default = Theme::preset("default").unwrap();
    assert_eq!(default.style(Slot::StatusHealthy).fg, Some(Color::Green));
    assert_eq!(default.style(Slot::StatusDown).fg, Some(Color::Red));
    assert!(default.style(Slot::StatusDown).add_modifier.contains(Modifier::BOLD));
    let light = Theme::preset("light").unwrap();
    assert_eq!(light.style(Slot::StatusHealthy).fg, Some(Color::Rgb(0x11, 0x63, 0x29)));
    // inherited from default, recoloured through the palette
    assert_eq!(light.style(Slot::StatusStale).fg, Some(Color::Rgb(0x82, 0x50, 0xdf)));
    assert!(light.style(Slot::StatusStale).add_modifier.contains(Modifier::ITALIC));
}

#[test]
fn mono_and_no_color_have_no_colour_in_any_slot() {
    let mono = Theme::preset("mono").unwrap();
    let no_color = Theme::no_color();
    for theme in [&mono, &no_color] {
        for (slot, key) in Slot::ALL {
            let s = theme.style(*slot);
            assert_eq!((s.fg, s.bg, s.underline_color), (None, None, None), "{} `{key}`", theme.name);
        }
    }
    // modifiers still tell states apart
    assert_ne!(no_color.style(Slot::StatusDown), no_color.style(Slot::StatusHealthy));
    assert!(no_color.style(Slot::Selection).add_modifier.contains(Modifier::REVERSED));
}

#[test]
fn no_color_env_wins_over_any_requested_theme() {
    let tmp = tempfile::tempdir().unwrap();
    let env = Environment { no_color: true, ..env_in(tmp.path()) };
    write(&tmp.path().join("cfg/warroom.toml"), "[ui]\ntheme = \"light\"\n");
    for theme in [None, Some("high-contrast".to_string())] {
        let loaded = load_in(&LoadOptions { theme, ..LoadOptions::default() }, &env);
        assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
        for (slot, _) in Slot::ALL {
            let s = loaded.theme.style(*slot);
            assert_eq!((s.fg, s.bg), (None, None));
        }
    }
}

#[test]
fn every_shipped_keymap_parses_and_names_real_actions() {
    for name in ["default", "vim"] {
        let path = repo(&format!("keymaps/{name}.toml"));
        let text = std::fs::read_to_string(&path).unwrap();
        let keymap = Keymap::from_toml(&text, &path, None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(Keymap::preset(name).as_ref(), Some(&keymap));
        // independently of the parser: every `run` in the raw TOML is a command name
        let raw: toml::Table = toml::from_str(&text).unwrap();
        let mut runs = 0;
        for (layer, entries) in raw.iter().filter(|(k, _)| *k != "inherits") {
            assert!(KeyLayer::ALL.iter().any(|(_, n)| n == layer), "{name}: layer {layer}");
            for e in entries.as_array().unwrap() {
                let run = e["run"].as_str().unwrap();
                assert!(Command::from_name(run).is_some(), "{name}: unknown action {run}");
                runs += 1;
            }
        }
        assert!(runs > 0);
        for (layer, bindings) in &keymap.layers {
            for b in bindings {
                assert!(!b.desc.is_empty(), "{name} {layer:?} {} has no description", b.keys_text());
            }
        }
    }
}

#[test]
fn default_keymap_has_the_documented_bindings() {
    let km = Keymap::preset("default").unwrap();
    let expect = |layer, k: &str, cmd| {
        assert_eq!(km.lookup(&[layer], &keys(k)), KeymapResult::Matched(cmd), "{layer:?} `{k}`");
    };
    use Command::*;
    use KeyLayer::{Checklist, Confirm, Global, Pane, Steps};
    for (k, c) in [
        ("q", Quit),
        ("ctrl-c", Quit),
        ("?", Help),
        ("tab", FocusNext),
        ("backtab", FocusPrev),
        ("shift-tab", FocusPrev),
        ("1", FocusPods),
        ("2", FocusDatabase),
        ("3", FocusSentinel),
        ("4", FocusTraffic),
        ("5", FocusSteps),
        ("6", FocusChecklist),
        ("7", FocusLog),
        ("z", Zoom),
        ("esc", Close),
        ("a", Actions),
        ("n", Note),
    ] {
        expect(Global, k, c);
    }
    for (k, c) in [
        ("up", ScrollUp),
        ("down", ScrollDown),
        ("k", ScrollUp),
        ("j", ScrollDown),
        ("pgup", PageUp),
        ("pgdn", PageDown),
        ("home", ScrollTop),
        ("end", ScrollBottom),
    ] {
        expect(Pane, k, c);
    }
    for (k, c) in [("enter", StepRun), ("r", StepRetry), ("s", StepSkip), ("x", StepAbort)] {
        expect(Steps, k, c);
    }
    expect(Checklist, "enter", ChecklistTick);
    expect(Checklist, "space", ChecklistTick);
    for (k, c) in [
        ("up", ScrollUp),
        ("down", ScrollDown),
        ("k", ScrollUp),
        ("j", ScrollDown),
        ("enter", Select),
        ("esc", Close),
    ] {
        expect(KeyLayer::Actions, k, c);
    }
    for (k, c) in [("y", ConfirmYes), ("n", ConfirmNo), ("esc", ConfirmNo)] {
        expect(Confirm, k, c);
    }
    for (k, c) in [("esc", Close), ("?", Close), ("q", Close), ("up", ScrollUp), ("down", ScrollDown)] {
        expect(KeyLayer::Help, k, c);
    }
    assert_eq!(km.key_for(Global, Help).as_deref(), Some("?"));
    assert_eq!(km.lookup(&[Pane], &keys("g")), KeymapResult::NotFound);
}

#[test]
fn vim_keymap_adds_chords_and_keeps_default() {
    let km = Keymap::preset("vim").unwrap();
    use KeymapResult::*;
    let l = |layers: &[KeyLayer], k: &str| km.lookup(layers, &keys(k));
    assert_eq!(l(&[KeyLayer::Pane], "g"), Pending);
    assert_eq!(l(&[KeyLayer::Pane], "g g"), Matched(Command::ScrollTop));
    assert_eq!(l(&[KeyLayer::Pane], "g x"), NotFound);
    assert_eq!(l(&[KeyLayer::Pane], "G"), Matched(Command::ScrollBottom));
    assert_eq!(l(&[KeyLayer::Pane], "ctrl-u"), Matched(Command::PageUp));
    assert_eq!(l(&[KeyLayer::Pane], "ctrl-d"), Matched(Command::PageDown));
    assert_eq!(l(&[KeyLayer::Global], "h"), Matched(Command::FocusPrev));
    assert_eq!(l(&[KeyLayer::Global], "l"), Matched(Command::FocusNext));
    // everything from default is still there
    assert_eq!(l(&[KeyLayer::Global], "q"), Matched(Command::Quit));
    assert_eq!(l(&[KeyLayer::Pane], "home"), Matched(Command::ScrollTop));
    // layers are asked most specific first; a pending chord is not cut short by a later layer
    assert_eq!(l(&[KeyLayer::Pane, KeyLayer::Global], "j"), Matched(Command::ScrollDown));
    assert_eq!(l(&[KeyLayer::Pane, KeyLayer::Global], "q"), Matched(Command::Quit));
    assert_eq!(l(&[KeyLayer::Pane, KeyLayer::Global], "g"), Pending);
    let gg =
        km.bindings(KeyLayer::Pane).iter().find(|b| b.command == Command::ScrollTop && b.keys.len() == 2);
    assert_eq!(gg.map(|b| b.keys_text()).as_deref(), Some("g g"));
}

#[test]
fn example_config_parses() {
    let path = repo("examples/warroom.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let config = parse_config(&text, &path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.regions.len(), 2);
    assert_eq!(config.primary_region().map(|r| r.name.as_str()), Some("us-east-1"));
    assert_eq!(config.postgres.as_ref().map(|p| p.nodes.len()), Some(2));
    assert_eq!(config.sentinel.as_ref().map(|s| s.addrs.len()), Some(3));
    assert_eq!(config.route53.as_ref().map(|r| r.record_type.as_str()), Some("A"));
    assert_eq!(config.ui.keymap.as_deref(), Some("default"));
    // every documented section is present in the example
    for section in ["incident", "regions", "kubernetes", "postgres", "sentinel", "route53", "polling", "ui"] {
        assert!(
            text.contains(&format!("[{section}]")) || text.contains(&format!("[[{section}]]")),
            "{section}"
        );
    }
}

#[test]
fn reference_doc_covers_every_key_slot_layer_and_action() {
    let doc = std::fs::read_to_string(repo("docs/configuration.md")).unwrap();
    let has = |name: &str| doc.contains(&format!("| `{name}` |"));
    for (_, key) in Slot::ALL {
        assert!(has(key), "slot `{key}` is not documented");
    }
    for (_, layer) in KeyLayer::ALL {
        assert!(has(layer), "layer `{layer}` is not documented");
    }
    for c in Command::ALL {
        assert!(doc.contains(&format!("| `{}` | {} |", c.name(), c.description())), "action `{}`", c.name());
    }
    // every key the example sets (it sets all of them) has a row
    let text = std::fs::read_to_string(repo("examples/warroom.toml")).unwrap();
    let config = parse_config(&text, Path::new("warroom.toml")).unwrap();
    fn walk(v: &toml::Value, out: &mut Vec<String>) {
        match v {
            toml::Value::Table(t) => {
                for (k, v) in t {
                    out.push(k.clone());
                    walk(v, out);
                }
            }
            toml::Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut keys = Vec::new();
    walk(&toml::Value::try_from(&config).unwrap(), &mut keys);
    assert!(keys.len() > 40, "{keys:?}");
    for k in keys.iter().filter(|k| !matches!(k.as_str(), "regions" | "nodes" | "context")) {
        let documented =
            has(k) || doc.contains(&format!("### `[{k}]`")) || doc.contains(&format!("### `[[{k}]]`"));
        assert!(documented, "config key `{k}` is not documented");
    }
}

// ---- invalid fixtures ------------------------------------------------------------------------

fn assert_error(err: &ConfigError, file: &Path, line: usize, column: usize, needles: &[&str]) {
    assert_eq!(err.file, file, "{err}");
    assert_eq!((err.line, err.column), (line, column), "{err}");
    for n in needles {
        assert!(err.message.contains(n), "`{n}` not in: {err}");
    }
    assert!(err.to_string().starts_with(&format!("{}:{line}:{column}: ", file.display())), "{err}");
}

#[test]
fn invalid_configs_report_position_and_expectation() {
    let cases: &[(&str, usize, usize, &[&str])] = &[
        ("unknown_key.toml", 5, 1, &["unknown key `pasword_env`", "`password_env`", "`addrs`"]),
        ("wrong_type.toml", 2, 15, &["invalid type: string", "expected u64"]),
        ("syntax_error.toml", 2, 18, &["invalid basic string", "expected `\"`"]),
        ("dsn_password.toml", 3, 7, &["contains a password", "PGPASSWORD, .pgpass or password_env"]),
        ("bad_role.toml", 7, 10, &["unknown region role `standby`", "`primary`, `secondary` or `tertiary`"]),
        ("duplicate_node.toml", 6, 8, &["duplicate node name `postgresql-0`", "first defined on line 2"]),
        ("bad_sentinel_addr.toml", 3, 29, &["`127.0.0.1`", "expected `host:port`"]),
        ("bad_health_url.toml", 3, 15, &["`health_live`", "http(s)://"]),
        ("zero_interval.toml", 3, 15, &["`interval_ms` is 0", "positive"]),
        ("unknown_region.toml", 7, 10, &["region `eu-west-1` is not defined", "`us-east-1`"]),
        ("unknown_pod_context.toml", 9, 19, &["kube context `prod-west`", "`prod-east`"]),
    ];
    for (name, line, column, needles) in cases {
        let (text, path) = fixture(&format!("config/{name}"));
        let err = parse_config(&text, &path).expect_err(name);
        assert_error(&err, &path, *line, *column, needles);
    }
}

#[test]
fn invalid_themes_report_position_and_expectation() {
    let cases: &[(&str, usize, usize, &[&str])] = &[
        ("bad_colour.toml", 3, 27, &["unknown colour `#00ff0`", "#rrggbb", "palette"]),
        ("unknown_slot.toml", 4, 1, &["unknown theme slot `status.helthy`", "`status.healthy`"]),
        ("unknown_inherits.toml", 2, 12, &["unknown theme `solarized`", "`default`", "`mono`"]),
        ("unknown_palette_name.toml", 1, 24, &["unknown colour `danger`", "warn"]),
        ("syntax_error.toml", 2, 20, &["unclosed inline table", "expected `}`"]),
    ];
    for (name, line, column, needles) in cases {
        let (text, path) = fixture(&format!("theme/{name}"));
        let err = Theme::from_toml(&text, &path, None).expect_err(name);
        assert_error(&err, &path, *line, *column, needles);
    }
}

#[test]
fn invalid_keymaps_report_position_and_expectation() {
    let cases: &[(&str, usize, usize, &[&str])] = &[
        ("unknown_action.toml", 3, 26, &["unknown action `focus-nxt`", "did you mean `focus-next`"]),
        ("bad_key.toml", 2, 16, &["invalid key `gg`", "ctrl-"]),
        ("syntax_error.toml", 3, 3, &["missing comma between array elements", "expected `,`"]),
        ("unknown_layer.toml", 2, 1, &["unknown keymap section `panes`", "`pane`"]),
        ("chord_conflict.toml", 3, 10, &["`g` and `g g` conflict"]),
        ("unknown_entry_key.toml", 1, 37, &["unknown key `description`", "`desc`"]),
    ];
    for (name, line, column, needles) in cases {
        let (text, path) = fixture(&format!("keymap/{name}"));
        let err = Keymap::from_toml(&text, &path, None).expect_err(name);
        assert_error(&err, &path, *line, *column, needles);
    }
}

// ---- user files over presets -----------------------------------------------------------------

#[test]
fn user_keymap_overrides_only_what_it_names() {
    let tmp = tempfile::tempdir().unwrap();
    write(
        &tmp.path().join("cfg/keymaps/vim.toml"),
        "global = [\n  { on = \"q\", run = \"unbind\" },\n  { on = \"ctrl-q\", run = \"quit\", desc = \"Leave\" },\n]\n\
         pane = [ { on = \"G\", run = \"page-down\" }, { on = \"g\", run = \"scroll-bottom\" } ]\n",
    );
    let env = env_in(tmp.path());
    let loaded = load_in(&LoadOptions { keymap: Some("vim".into()), ..LoadOptions::default() }, &env);
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let km = &loaded.keymap;
    let l = |layer, k: &str| km.lookup(&[layer], &keys(k));
    assert_eq!(l(KeyLayer::Global, "q"), KeymapResult::NotFound);
    assert_eq!(l(KeyLayer::Global, "ctrl-q"), KeymapResult::Matched(Command::Quit));
    assert_eq!(km.key_for(KeyLayer::Global, Command::Quit).as_deref(), Some("ctrl-c"));
    assert_eq!(l(KeyLayer::Pane, "G"), KeymapResult::Matched(Command::PageDown));
    // `g` replaces the preset's `g g` chord it would shadow
    assert_eq!(l(KeyLayer::Pane, "g"), KeymapResult::Matched(Command::ScrollBottom));
    assert!(km.bindings(KeyLayer::Pane).iter().all(|b| b.keys.len() == 1));
    // untouched preset bindings (vim's and default's) remain
    assert_eq!(l(KeyLayer::Global, "h"), KeymapResult::Matched(Command::FocusPrev));
    assert_eq!(l(KeyLayer::Global, "tab"), KeymapResult::Matched(Command::FocusNext));
    assert_eq!(l(KeyLayer::Confirm, "y"), KeymapResult::Matched(Command::ConfirmYes));
    let leave = km
        .bindings(KeyLayer::Global)
        .iter()
        .find(|b| b.command == Command::Quit && b.keys_text() == "ctrl-q");
    assert_eq!(leave.map(|b| b.desc.as_str()), Some("Leave"));
}

#[test]
fn user_theme_overrides_preset_of_same_name() {
    let tmp = tempfile::tempdir().unwrap();
    write(
        &tmp.path().join("cfg/themes/default.toml"),
        "inherits = \"default\"\n[palette]\nhealthy = \"#010203\"\n",
    );
    write(&tmp.path().join("cfg/warroom.toml"), "[ui]\ntheme = \"default\"\n");
    let loaded = load_in(&LoadOptions::default(), &env_in(tmp.path()));
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    assert_eq!(loaded.theme.style(Slot::StatusHealthy).fg, Some(Color::Rgb(1, 2, 3)));
    assert_eq!(
        loaded.theme.style(Slot::StatusDown),
        Theme::preset("default").unwrap().style(Slot::StatusDown)
    );
    // an inherits cycle between user themes is an error, not a hang
    write(&tmp.path().join("cfg/themes/a.toml"), "inherits = \"b\"\n");
    write(&tmp.path().join("cfg/themes/b.toml"), "inherits = \"a\"\n");
    let err = Theme::select("a", Some(&tmp.path().join("cfg/themes")), None).unwrap_err();
    assert!(format!("{err:?}").contains("cycle"), "{err:?}");
}

#[test]
fn broken_user_files_fall_back_to_presets_with_warnings() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("cfg");
    write(&cfg.join("themes/light.toml"), "inherits = \"default\"\ntext = { fg = \"nope\" }\n");
    write(&cfg.join("keymaps/mine.toml"), "global = [ { on = \"q\", run = \"exit\" } ]\n");
    write(&cfg.join("warroom.toml"), "[ui]\ntheme = \"light\"\nkeymap = \"mine\"\n");
    let env = env_in(tmp.path());
    let loaded = load_in(&LoadOptions::default(), &env);
    assert!(loaded.config.is_some());
    assert_eq!(loaded.config_path, Some(cfg.join("warroom.toml")));
    assert_eq!(loaded.theme, Theme::preset("light").unwrap());
    assert_eq!(loaded.keymap, Keymap::preset("default").unwrap());
    let w: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(w.len(), 2, "{w:?}");
    assert!(
        w[0].starts_with(&format!("{}:2:15: unknown colour `nope`", cfg.join("themes/light.toml").display())),
        "{w:?}"
    );
    assert!(
        w[1].starts_with(&format!("{}:1:30: unknown action `exit`", cfg.join("keymaps/mine.toml").display())),
        "{w:?}"
    );

    // an unknown theme named in [ui] is reported at that key
    write(&cfg.join("warroom.toml"), "[ui]\ntheme = \"solarized\"\n");
    let loaded = load_in(&LoadOptions::default(), &env);
    assert_eq!(loaded.theme, Theme::preset("default").unwrap());
    assert_eq!((loaded.warnings[0].line, loaded.warnings[0].column), (2, 9), "{:?}", loaded.warnings);
    assert!(loaded.warnings[0].message.contains("unknown theme `solarized`"));

    // a broken config: no config, presets, a warning; paths still resolve
    write(&cfg.join("warroom.toml"), "[ui]\ntheme = 3\n");
    let loaded = load_in(&LoadOptions::default(), &env);
    assert!(loaded.config.is_none());
    assert_eq!(loaded.warnings.len(), 1);
    assert_eq!(loaded.paths.data_dir, tmp.path().join("data"));

    // --config that does not exist
    let opts = LoadOptions { config: Some(tmp.path().join("missing.toml")), ..LoadOptions::default() };
    let loaded = load_in(&opts, &env);
    assert!(loaded.config.is_none());
    assert!(loaded.warnings[0].message.contains("not found"), "{:?}", loaded.warnings);
}

#[test]
fn no_config_anywhere_is_not_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let loaded = load_in(&LoadOptions::default(), &env_in(tmp.path()));
    assert!(loaded.config.is_none() && loaded.config_path.is_none());
    assert!(loaded.warnings.is_empty());
    assert_eq!(loaded.theme, Theme::preset("default").unwrap());
    assert_eq!(loaded.keymap, Keymap::preset("default").unwrap());
    assert!(check_in(&LoadOptions::default(), &env_in(tmp.path())).is_empty());
}

#[test]
fn check_reports_every_problem() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("cfg");
    write(
        &cfg.join("warroom.toml"),
        "[[regions]]\nname = \"a\"\nrole = \"main\"\n[polling]\ninterval_ms = 0\n",
    );
    write(&cfg.join("keymaps/extra.toml"), "pane = [ { on = \"ctrl-\", run = \"quit\" } ]\n");
    write(&cfg.join("themes/ok.toml"), "inherits = \"mono\"\n");
    let errors =
        check_in(&LoadOptions { theme: Some("nope".into()), ..LoadOptions::default() }, &env_in(tmp.path()));
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(errors.len(), 4, "{text:#?}");
    assert!(text[0].contains(":3:8: unknown region role `main`"), "{text:#?}");
    assert!(text[1].contains(":5:15: `interval_ms` is 0"), "{text:#?}");
    assert!(text[2].starts_with("--theme: unknown theme `nope`"), "{text:#?}");
    assert!(text[3].contains("extra.toml:1:17: invalid key `ctrl-`"), "{text:#?}");
}

// ---- fuzz-ish ----------------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn parsers_never_panic_on_random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let text = String::from_utf8_lossy(&bytes);
        let p = Path::new("fuzz.toml");
        let _ = parse_config(&text, p);
        let _ = Theme::from_toml(&text, p, None);
        let _ = Keymap::from_toml(&text, p, None);
        let _ = Key::parse(&text);
    }

    #[test]
    fn parsers_never_panic_on_toml_like_text(text in "[a-z_.\\[\\]\"=#{}, \\n0-9-]{0,200}") {
        let p = Path::new("fuzz.toml");
        if let Err(e) = parse_config(&text, p) {
            prop_assert!(e.line <= text.lines().count() + 1);
        }
        let _ = Theme::from_toml(&text, p, None);
        let _ = Keymap::from_toml(&text, p, None);
    }

    #[test]
    fn keymap_entries_with_random_keys_never_panic(key in "\\PC{0,12}", run in "[a-z-]{0,16}") {
        let text = format!("pane = [ {{ on = {key:?}, run = {run:?} }} ]\n");
        let _ = Keymap::from_toml(&text, Path::new("fuzz.toml"), None);
        if let Ok(k) = Key::parse(&key) {
            // canonical form is a fixed point
            prop_assert_eq!(Key::parse(&k.0), Ok(k));
        }
    }
}
