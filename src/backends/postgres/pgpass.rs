//! The libpq password file (`PGPASSFILE` or `~/.pgpass`): `host:port:database:user:password`
//! lines, `*` matches anything, `\` escapes `:` and `\`, `#` starts a comment. As libpq does,
//! the file is ignored when group or others can read it.

use std::path::PathBuf;

/// The password for a connection from the default password file, if one matches.
pub fn password_from_default_file(host: &str, port: u16, db: &str, user: &str) -> Option<String> {
    let path = default_path()?;
    if !private_enough(&path) {
        // Every poll of every node asks: say it once per process, not once a second.
        static SAID: std::sync::Once = std::sync::Once::new();
        SAID.call_once(|| tracing::warn!("{}", ignored_message(&path)));
        return None;
    }
    let contents = std::fs::read_to_string(&path).ok()?;
    lookup(&contents, host, port, db, user)
}

/// Why the default password file is ignored, when it exists and group or others can read it
/// (`warroom check` and the console say it once).
pub fn ignored_warning() -> Option<String> {
    let path = default_path()?;
    (path.is_file() && !private_enough(&path)).then(|| ignored_message(&path))
}

fn ignored_message(path: &std::path::Path) -> String {
    format!(
        "password file {} is ignored: group or others can read it (as libpq does); run `chmod 0600 {}`",
        path.display(),
        path.display()
    )
}

/// `PGPASSFILE`, else `$HOME/.pgpass`.
fn default_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("PGPASSFILE") {
        return Some(PathBuf::from(p));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".pgpass"))
}

#[cfg(unix)]
fn private_enough(path: &std::path::Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).map(|m| m.permissions().mode() & 0o077 == 0).unwrap_or(false)
}

#[cfg(not(unix))]
fn private_enough(_path: &std::path::Path) -> bool {
    true
}

/// The first matching line's password.
pub fn lookup(contents: &str, host: &str, port: u16, db: &str, user: &str) -> Option<String> {
    let port = port.to_string();
    let wanted = [host, port.as_str(), db, user];
    contents.lines().filter(|l| !l.trim_start().starts_with('#') && !l.trim().is_empty()).find_map(|line| {
        let fields = split_fields(line);
        if fields.len() != 5 {
            return None;
        }
        let matches = fields[..4].iter().zip(wanted).all(|(f, w)| f == "*" || f == w);
        matches.then(|| fields[4].clone())
    })
}

/// Split on unescaped `:`, unescaping `\:` and `\\`.
fn split_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    fields.last_mut().expect("non-empty").push(n);
                }
            }
            ':' if fields.len() < 5 => fields.push(String::new()),
            _ => fields.last_mut().expect("non-empty").push(c),
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "# comment\n\
        db1.example:5432:app:alice:pw1\n\
        *:5433:*:postgres:p\\:w\\\\2\n\
        *:*:*:*:fallback\n";

    #[test]
    fn exact_match_wins_in_file_order() {
        assert_eq!(lookup(FILE, "db1.example", 5432, "app", "alice").as_deref(), Some("pw1"));
    }

    #[test]
    fn wildcards_and_escapes() {
        assert_eq!(lookup(FILE, "127.0.0.1", 5433, "postgres", "postgres").as_deref(), Some("p:w\\2"));
        assert_eq!(lookup(FILE, "other", 1, "x", "y").as_deref(), Some("fallback"));
    }

    #[test]
    fn no_match_and_malformed_lines() {
        assert_eq!(lookup("h:1:d:u\n", "h", 1, "d", "u"), None);
        assert_eq!(lookup("h:1:d:u:pw\n", "h", 2, "d", "u"), None);
    }

    #[test]
    fn password_may_contain_colons_after_the_fourth() {
        assert_eq!(lookup("h:1:d:u:a:b\n", "h", 1, "d", "u").as_deref(), Some("a:b"));
    }
}
