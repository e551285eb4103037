//! Who is at the keyboard: `user@host`, plus ` via <client ip>` over SSH.

/// The operator identity recorded in every entry this process writes: `$USER@hostname`, plus
/// ` via <client ip>` when `SSH_CONNECTION` is set.
pub fn operator_identity() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .ok()
        .filter(|u| !u.trim().is_empty())
        .or_else(account_name);
    let host = hostname::get().ok().map(|h| h.to_string_lossy().into_owned());
    let ssh = std::env::var("SSH_CONNECTION").ok();
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    identity_from(user.as_deref(), host.as_deref(), ssh.as_deref(), uid)
}

/// The account name of this process's real uid from the password database (`getpwuid_r`),
/// for when `$USER` and `$LOGNAME` are unset (a service, `env -i`, some containers).
pub fn account_name() -> Option<String> {
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    let mut buf = vec![0u8; 1024];
    loop {
        // SAFETY: an all-zero passwd is a valid value of this plain C struct.
        let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: every pointer is valid for the call; buf outlives the use of pwd's strings.
        let rc = unsafe { libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr().cast(), buf.len(), &mut result) };
        if rc == libc::ERANGE && buf.len() < 1 << 20 {
            buf.resize(buf.len() * 4, 0);
            continue;
        }
        if rc != 0 || result.is_null() || pwd.pw_name.is_null() {
            return None;
        }
        // SAFETY: on success pw_name points to a NUL-terminated string inside buf.
        let name = unsafe { std::ffi::CStr::from_ptr(pwd.pw_name) };
        return Some(name.to_string_lossy().into_owned()).filter(|n| !n.is_empty());
    }
}

/// Longest name `--operator` accepts, in characters.
pub const MAX_OPERATOR_CHARS: usize = 64;

/// The identity a console records: `--operator NAME` when given (validated by
/// [`validate_operator`]), else [`operator_identity`] (`$USER@host`).
pub fn operator_for(flag: Option<&str>) -> Result<String, String> {
    flag.map_or_else(|| Ok(operator_identity()), validate_operator)
}

/// `--operator NAME`: 1 to [`MAX_OPERATOR_CHARS`] printable characters (no control or bidi
/// characters), surrounding spaces trimmed. The error is one line naming what is wrong.
pub fn validate_operator(name: &str) -> Result<String, String> {
    let name = name.trim();
    let shown = || format!("{:?}", name.chars().take(MAX_OPERATOR_CHARS).collect::<String>());
    let count = name.chars().count();
    if count == 0 {
        return Err("--operator: the name is empty: give the trainee's name, e.g. --operator alice".into());
    }
    if count > MAX_OPERATOR_CHARS {
        return Err(format!(
            "--operator: the name is {count} characters long, at most {MAX_OPERATOR_CHARS} are allowed: {}...",
            shown()
        ));
    }
    if let Some(c) = name.chars().find(|c| c.is_control() || crate::text::is_unsafe(*c)) {
        return Err(format!(
            "--operator: {} contains the non-printable character U+{:04X}: use printable characters only",
            shown(),
            u32::from(c)
        ));
    }
    Ok(name.to_string())
}

/// Builds the identity from its parts (pure, for tests). A missing user falls back to `uid<N>`,
/// a missing host to `unknown-host`; control characters and spaces are dropped from each part.
pub fn identity_from(
    user: Option<&str>,
    host: Option<&str>,
    ssh_connection: Option<&str>,
    uid: u32,
) -> String {
    let user = user.map(clean).filter(|u| !u.is_empty()).unwrap_or_else(|| format!("uid{uid}"));
    let host = host.map(clean).filter(|h| !h.is_empty()).unwrap_or_else(|| "unknown-host".to_string());
    // SSH_CONNECTION is "client_ip client_port server_ip server_port".
    match ssh_connection.and_then(|s| s.split_whitespace().next()).map(clean) {
        Some(ip) if !ip.is_empty() => format!("{user}@{host} via {ip}"),
        _ => format!("{user}@{host}"),
    }
}

/// Drops control characters and whitespace; caps the length (these come from the environment).
fn clean(s: &str) -> String {
    s.chars().filter(|c| !c.is_control() && !c.is_whitespace()).take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_and_ssh_identities() {
        assert_eq!(identity_from(Some("alice"), Some("ops1"), None, 1000), "alice@ops1");
        assert_eq!(
            identity_from(Some("alice"), Some("ops1"), Some("203.0.113.7 51234 10.0.0.5 22"), 1000),
            "alice@ops1 via 203.0.113.7"
        );
        assert_eq!(identity_from(None, None, Some(""), 1000), "uid1000@unknown-host");
        assert_eq!(identity_from(Some("a\u{1b}[31mb"), Some("h"), None, 0), "a[31mb@h");
    }

    #[test]
    fn operator_names_are_printable_and_at_most_64_characters() {
        assert_eq!(validate_operator("alice"), Ok("alice".into()));
        assert_eq!(validate_operator("  Alice Martin (trainee) "), Ok("Alice Martin (trainee)".into()));
        assert_eq!(validate_operator("ünïcødé-✓"), Ok("ünïcødé-✓".into()));
        let max = "a".repeat(64);
        assert_eq!(validate_operator(&max), Ok(max.clone()));
        for (bad, why) in [
            ("", "is empty"),
            ("   ", "is empty"),
            (&*"b".repeat(65), "65 characters long, at most 64"),
            ("al\u{1b}[2Jice", "non-printable character U+001B"),
            ("a\tb", "non-printable character U+0009"),
            ("evil\u{202e}gnp", "non-printable character U+202E"),
        ] {
            let e = validate_operator(bad).expect_err(bad);
            assert!(e.starts_with("--operator: ") && e.contains(why), "{bad:?}: {e}");
            assert!(!e.contains('\n') && !e.contains('\u{1b}') && !e.contains('\u{202e}'), "{e:?}");
        }
        assert_eq!(operator_for(Some("bob")), Ok("bob".into()));
        assert_eq!(operator_for(None), Ok(operator_identity()));
    }

    #[test]
    fn the_account_name_comes_from_the_password_database() {
        // The test runs as a real account (root in CI containers): its name, never `uid<N>`.
        let name = account_name().expect("the running uid has a passwd entry");
        // SAFETY: getuid cannot fail.
        let uid = unsafe { libc::getuid() };
        let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
        let listed = passwd.lines().any(|l| {
            let f: Vec<&str> = l.split(':').collect();
            f.len() > 2 && f[0] == name && f[2] == uid.to_string()
        });
        assert!(listed || passwd.is_empty(), "{name} is not uid {uid} in /etc/passwd");
        assert!(!name.starts_with("uid"), "{name}");
    }

    #[test]
    fn real_identity_is_well_formed() {
        let id = operator_identity();
        assert!(id.contains('@'), "{id}");
        assert!(!id.chars().any(char::is_control), "{id}");
    }
}
