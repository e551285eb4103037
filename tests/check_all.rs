//! `warroom check` reports every problem of every file in one run, each with file:line:column
//! (and a "did you mean" where one is close), and says so when there is no configuration.

mod support {
    pub mod home;
}

use support::home::Home;

/// The problem lines of a `check` run that name `file`.
fn lines_for<'a>(stderr: &'a str, file: &std::path::Path) -> Vec<&'a str> {
    let prefix = format!("{}:", file.display());
    stderr.lines().filter(|l| l.starts_with(&prefix)).collect()
}

fn assert_at(lines: &[&str], file: &std::path::Path, at: &str, wanted: &str) {
    let prefix = format!("{}:{at}: ", file.display());
    assert!(
        lines.iter().any(|l| l.starts_with(&prefix) && l.contains(wanted)),
        "no `{prefix}...{wanted}` in {lines:#?}"
    );
}

#[test]
fn five_mistakes_in_each_file_are_five_problems_with_line_and_column() {
    let home = Home::new();
    let cfg_dir = home.path().join("xdg-config/warroom");
    std::fs::create_dir_all(cfg_dir.join("themes")).unwrap();
    std::fs::create_dir_all(cfg_dir.join("keymaps")).unwrap();
    // warroom.toml: an unknown key (serde alone stopped here), a wrong type, a missing key, a
    // bad value and another unknown key in an inline table.
    let config = home.write(
        "warroom.toml",
        "[[regions]]\nname = \"east\"\nrole = \"primry\"\n\
         [sentinel]\nmaster = \"m\"\naddrs = [\"127.0.0.1:26379\"]\npasword_env = \"REDIS_PW\"\n\
         [polling]\ninterval_ms = \"fast\"\n\
         [[postgres.nodes]]\nname = \"pg-0\"\n\
         [route53]\nhosted_zone_id = \"Z1\"\nrecord = \"api.\"\ntype = \"MX\"\n\
         [commander]\nttl_secs = 10\nnamepsace = \"ops\"\n",
    );
    let theme = cfg_dir.join("themes/broken.toml");
    std::fs::write(
        &theme,
        "inherits = \"default\"\n\
         \"status.healty\" = { fg = \"red\" }\n\
         text = { fg = \"white\", blink = true }\n\
         dim = { bold = 1 }\n\
         header = { fg = 12.5 }\n\
         [palette]\nok = \"#12345\"\n",
    )
    .unwrap();
    let keymap = cfg_dir.join("keymaps/broken.toml");
    std::fs::write(
        &keymap,
        "panes = [ { on = \"x\", run = \"quit\" } ]\n\
         global = [ { on = \"ctrl-\", run = \"quit\" }, { on = \"q\", run = \"quitt\" }, \
         { on = \"z\", run = \"zoom\", description = \"z\" } ]\n\
         steps = [ { on = \"a\" } ]\n",
    )
    .unwrap();
    let out = home.run(&["check", "--config", config.to_str().unwrap()]);
    assert_eq!(out.code, Some(1), "{out:?}");
    for bad in ["Location:", "Backtrace"] {
        assert!(!out.stderr.contains(bad), "{out:?}");
    }

    let c = lines_for(&out.stderr, &config);
    assert_eq!(c.len(), 6, "five different mistakes and a sixth (the second unknown key): {c:#?}");
    assert_at(&c, &config, "3:8", "unknown region role `primry`");
    assert_at(&c, &config, "7:1", "unknown key `pasword_env`");
    assert_at(&c, &config, "7:1", "did you mean `password_env`?");
    assert_at(&c, &config, "9:15", "invalid type: string \"fast\", expected u64");
    assert_at(&c, &config, "10:1", "missing key `dsn`");
    assert_at(&c, &config, "15:8", "unknown record type `MX`");
    assert_at(&c, &config, "18:1", "unknown key `namepsace`");

    let t = lines_for(&out.stderr, &theme);
    assert_eq!(t.len(), 5, "{t:#?}\n{out:?}");
    assert_at(&t, &theme, "2:1", "unknown theme slot `status.healty`: did you mean `status.healthy`");
    assert_at(&t, &theme, "3:24", "unknown style key `blink`");
    assert_at(&t, &theme, "4:16", "`bold` must be true or false");
    assert_at(&t, &theme, "5:17", "`fg` must be a string");
    assert_at(&t, &theme, "7:6", "bad colour for palette entry `ok`");

    let k = lines_for(&out.stderr, &keymap);
    assert_eq!(k.len(), 5, "{k:#?}\n{out:?}");
    assert_at(&k, &keymap, "1:1", "unknown keymap section `panes`: did you mean `pane`");
    assert_at(&k, &keymap, "2:19", "invalid key `ctrl-`");
    assert_at(&k, &keymap, "2:62", "unknown action `quitt`: did you mean `quit`");
    assert_at(&k, &keymap, "2:99", "unknown key `description` in a keymap entry: did you mean `desc`");
    assert_at(&k, &keymap, "3:11", "needs both `on` (keys) and `run`");

    assert!(out.stderr.contains("warroom check: 16 problem(s)"), "{out:?}");
}

#[test]
fn no_configuration_is_said_with_the_paths_looked_in() {
    let home = Home::new();
    let out = home.run(&["check"]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(!out.stdout.contains("valid"), "never `configuration valid` without one: {out:?}");
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{out:?}");
    assert!(lines[0].starts_with("warroom: no configuration found"), "{out:?}");
    let looked = home.path().join("xdg-config/warroom/warroom.toml");
    assert!(lines[0].contains(&looked.display().to_string()), "{out:?}");
    assert!(lines[0].contains("--config") && lines[0].contains("$WARROOM_CONFIG"), "{out:?}");
    assert!(lines[1].starts_with("hint: ") && lines[1].contains("examples/warroom.toml"), "{out:?}");
    // With one, a valid setup says so and exits 0.
    let ok = home.write("ok.toml", "[polling]\ninterval_ms = 500\n");
    let out = home.run(&["check", "--config", ok.to_str().unwrap()]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains("valid") && out.stderr.is_empty(), "{out:?}");
}

#[test]
fn a_pgpass_others_can_read_is_a_check_warning() {
    use std::os::unix::fs::PermissionsExt;
    let home = Home::new();
    let pgpass = home.write(".pgpass", "*:*:*:*:secret\n");
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o644)).unwrap();
    let ok = home.write("ok.toml", "[polling]\ninterval_ms = 500\n");
    let out = home.run(&["check", "--config", ok.to_str().unwrap()]);
    assert_eq!(out.code, Some(0), "a warning, not a problem: {out:?}");
    let warning: Vec<&str> = out.stderr.lines().filter(|l| l.starts_with("warning: ")).collect();
    assert_eq!(warning.len(), 1, "{out:?}");
    assert!(
        warning[0].contains(&pgpass.display().to_string()) && warning[0].contains("chmod 0600"),
        "{out:?}"
    );
    assert!(!out.stderr.contains("secret"), "{out:?}");
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = home.run(&["check", "--config", ok.to_str().unwrap()]);
    assert!(out.stderr.is_empty(), "a private file is fine: {out:?}");
}
