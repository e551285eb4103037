//! Who is at the keyboard: `user@host`, plus ` via <client ip>` over SSH.

/// The operator identity recorded in every entry this process writes: `$USER@hostname`, plus
/// ` via <client ip>` when `SSH_CONNECTION` is set.
pub fn operator_identity() -> String {
    let user = std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).ok();
    let host = hostname::get().ok().map(|h| h.to_string_lossy().into_owned());
    let ssh = std::env::var("SSH_CONNECTION").ok();
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    identity_from(user.as_deref(), host.as_deref(), ssh.as_deref(), uid)
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
    fn real_identity_is_well_formed() {
        let id = operator_identity();
        assert!(id.contains('@'), "{id}");
        assert!(!id.chars().any(char::is_control), "{id}");
    }
}
