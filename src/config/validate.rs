//! Semantic checks of a deserialized `warroom.toml`, each problem placed on the value at fault.

use std::collections::HashMap;
use std::path::Path;

use super::error::{ConfigError, Seg, SpannedDoc, one_of};
use super::model::{Config, ObjectRef};

/// Region roles.
pub const ROLES: &[&str] = &["primary", "secondary", "tertiary"];
/// Route 53 record types warroom can weight.
pub const RECORD_TYPES: &[&str] = &["A", "AAAA", "CNAME"];

/// Collects problems with their positions.
struct Checker<'a, 'i> {
    file: &'a Path,
    text: &'a str,
    doc: &'a SpannedDoc<'i>,
    errors: Vec<ConfigError>,
}

impl Checker<'_, '_> {
    fn err(&mut self, path: &[Seg<'_>], message: impl Into<String>) {
        let span = self.doc.locate(path);
        self.errors.push(ConfigError::at(self.file, self.text, span.start, message));
    }
}

/// Every semantic problem of `config` (parsed from `text`), sorted by position.
pub fn validate(config: &Config, doc: &SpannedDoc<'_>, file: &Path, text: &str) -> Vec<ConfigError> {
    let mut c = Checker { file, text, doc, errors: Vec::new() };
    regions(&mut c, config);
    postgres(&mut c, config);
    sentinel(&mut c, config);
    route53(&mut c, config);
    polling(&mut c, config);
    drill(&mut c, config);
    commander(&mut c, config);
    war_room(&mut c, config);
    approvals(&mut c, config);
    notify(&mut c, config);
    c.errors.sort_by_key(|e| (e.line, e.column));
    c.errors
}

fn regions(c: &mut Checker<'_, '_>, config: &Config) {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut primary: Option<usize> = None;
    for (i, r) in config.regions.iter().enumerate() {
        let at = |k| [Seg::Key("regions"), Seg::Index(i), Seg::Key(k)];
        if r.name.trim().is_empty() {
            c.err(&at("name"), "region name is empty: expected a name such as `us-east-1`");
        } else if let Some(first) = seen.insert(&r.name, i) {
            let line = c.doc_line(&[Seg::Key("regions"), Seg::Index(first), Seg::Key("name")]);
            c.err(&at("name"), format!("duplicate region name `{}` (first defined on line {line})", r.name));
        }
        if !ROLES.contains(&r.role.as_str()) {
            c.err(&at("role"), format!("unknown region role `{}`: expected {}", r.role, one_of(ROLES)));
        } else if r.role == "primary" {
            if let Some(first) = primary {
                let line = c.doc_line(&[Seg::Key("regions"), Seg::Index(first), Seg::Key("role")]);
                c.err(
                    &at("role"),
                    format!("a second primary region (the first is on line {line}): expected one primary"),
                );
            }
            primary = Some(i);
        }
        for key in ["health_live", "health_ready"] {
            let value = if key == "health_live" { &r.health_live } else { &r.health_ready };
            if let Some(url) = value
                && let Err(why) = http_url(url)
            {
                c.err(&at(key), format!("`{key}` {why}"));
            }
        }
    }
}

impl Checker<'_, '_> {
    fn doc_line(&self, path: &[Seg<'_>]) -> usize {
        super::error::line_col(self.text, self.doc.locate(path).start).0
    }
}

/// Kube contexts the regions name (their `kube_context`, else their name).
fn known_contexts(config: &Config) -> Vec<&str> {
    config.regions.iter().map(|r| r.kube_context.as_deref().unwrap_or(&r.name)).collect()
}

fn check_context(c: &mut Checker<'_, '_>, config: &Config, obj: &ObjectRef, path: &[Seg<'_>]) {
    let known = known_contexts(config);
    if !known.is_empty() && !known.contains(&obj.context.as_str()) {
        let mut p = path.to_vec();
        p.push(Seg::Key("context"));
        c.err(
            &p,
            format!(
                "kube context `{}` is not one of the regions' contexts: expected {}",
                obj.context,
                one_of(&known)
            ),
        );
    }
}

fn postgres(c: &mut Checker<'_, '_>, config: &Config) {
    let Some(pg) = &config.postgres else { return };
    if let Some(svc) = &pg.service {
        check_context(c, config, svc, &[Seg::Key("postgres"), Seg::Key("service")]);
    }
    let regions: Vec<&str> = config.regions.iter().map(|r| r.name.as_str()).collect();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, n) in pg.nodes.iter().enumerate() {
        let base = [Seg::Key("postgres"), Seg::Key("nodes"), Seg::Index(i)];
        let at = |k| [base[0], base[1], base[2], Seg::Key(k)];
        if n.name.trim().is_empty() {
            c.err(&at("name"), "node name is empty: expected a name such as `postgresql-0`");
        } else if let Some(first) = seen.insert(&n.name, i) {
            let line = c.doc_line(&[base[0], base[1], Seg::Index(first), Seg::Key("name")]);
            c.err(&at("name"), format!("duplicate node name `{}` (first defined on line {line})", n.name));
        }
        if !regions.is_empty() && !n.region.is_empty() && !regions.contains(&n.region.as_str()) {
            c.err(
                &at("region"),
                format!("region `{}` is not defined: expected {}", n.region, one_of(&regions)),
            );
        }
        match dsn_keys(&n.dsn) {
            Err(why) => c.err(&at("dsn"), format!("`dsn` {why}")),
            Ok(keys) if keys.iter().any(|k| k == "password") => c.err(
                &at("dsn"),
                "`dsn` contains a password: remove it and put the password in PGPASSWORD, .pgpass or password_env",
            ),
            Ok(_) => {}
        }
        if let Some(pod) = &n.pod {
            check_context(c, config, pod, &at("pod"));
        }
    }
}

fn sentinel(c: &mut Checker<'_, '_>, config: &Config) {
    let Some(s) = &config.sentinel else { return };
    if s.master.trim().is_empty() {
        c.err(
            &[Seg::Key("sentinel"), Seg::Key("master")],
            "`master` is empty: expected the monitored master name",
        );
    }
    if s.addrs.is_empty() {
        c.err(
            &[Seg::Key("sentinel"), Seg::Key("addrs")],
            "`addrs` is empty: expected at least one `host:port`",
        );
    }
    for (i, addr) in s.addrs.iter().enumerate() {
        if let Err(why) = host_port(addr) {
            c.err(
                &[Seg::Key("sentinel"), Seg::Key("addrs"), Seg::Index(i)],
                format!("sentinel address `{addr}` {why}"),
            );
        }
    }
}

fn route53(c: &mut Checker<'_, '_>, config: &Config) {
    let Some(r) = &config.route53 else { return };
    let at = |k| [Seg::Key("route53"), Seg::Key(k)];
    if r.hosted_zone_id.trim().is_empty() {
        c.err(&at("hosted_zone_id"), "`hosted_zone_id` is empty: expected an id such as `Z0123456789`");
    }
    if r.record.trim().is_empty() {
        c.err(&at("record"), "`record` is empty: expected a record name such as `api.example.com.`");
    }
    if !RECORD_TYPES.contains(&r.record_type.as_str()) {
        c.err(
            &at("type"),
            format!("unknown record type `{}`: expected {}", r.record_type, one_of(RECORD_TYPES)),
        );
    }
    if let Some(url) = &r.endpoint_url
        && let Err(why) = http_url(url)
    {
        c.err(&at("endpoint_url"), format!("`endpoint_url` {why}"));
    }
    for (i, ns) in r.name_servers.iter().enumerate() {
        if let Err(why) = name_server(ns) {
            c.err(
                &[Seg::Key("route53"), Seg::Key("name_servers"), Seg::Index(i)],
                format!("name server {why}"),
            );
        }
    }
    for key in ["dns_sync_timeout_ms", "dns_recheck_after_ms"] {
        let v = if key == "dns_sync_timeout_ms" { r.dns_sync_timeout_ms } else { r.dns_recheck_after_ms };
        if v == Some(0) {
            c.err(&at(key), format!("`{key}` is 0: expected a positive number of milliseconds"));
        }
    }
}

/// A `[route53] name_servers` entry: `host`, `host:port`, `[v6]:port` or an IP address (port
/// 53 by default), as `(host, port)`.
pub fn name_server(entry: &str) -> Result<(String, u16), String> {
    let e = entry.trim();
    if e.is_empty() {
        return Err("is empty: expected host or host:port, e.g. ns1.example.net or 127.0.0.1:5301".into());
    }
    if let Ok(ip) = e.parse::<std::net::IpAddr>() {
        return Ok((ip.to_string(), 53));
    }
    if let Ok(sa) = e.parse::<std::net::SocketAddr>() {
        return Ok((sa.ip().to_string(), sa.port()));
    }
    let (host, port) = match e.rsplit_once(':') {
        Some((h, p)) => match p.parse::<u16>() {
            Ok(port) if port > 0 => (h, port),
            _ => return Err(format!("`{e}`: port `{p}` is not a number 1-65535")),
        },
        None => (e, 53),
    };
    let label_ok =
        |l: &str| l.len() <= 63 && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if host.is_empty() || !host.trim_end_matches('.').split('.').all(|l| !l.is_empty() && label_ok(l)) {
        return Err(format!("`{e}`: expected host or host:port, e.g. ns1.example.net or 127.0.0.1:5301"));
    }
    Ok((host.trim_end_matches('.').to_string(), port))
}

fn drill(c: &mut Checker<'_, '_>, config: &Config) {
    if config.drill.rto_target_secs == Some(0) {
        c.err(
            &[Seg::Key("drill"), Seg::Key("rto_target_secs")],
            "`rto_target_secs` is 0: expected a positive number of seconds",
        );
    }
    if let Some(s) = config.drill.settle_secs
        && !(1..=3600).contains(&s)
    {
        c.err(
            &[Seg::Key("drill"), Seg::Key("settle_secs")],
            format!("`settle_secs` is {s}: expected 1 to 3600 seconds"),
        );
    }
}

fn polling(c: &mut Checker<'_, '_>, config: &Config) {
    let p = &config.polling;
    let fields = [
        ("interval_ms", p.interval_ms),
        ("timeout_ms", p.timeout_ms),
        ("breaker_failures", u64::from(p.breaker_failures)),
        ("breaker_open_ms", p.breaker_open_ms),
        ("verify_timeout_ms", p.verify_timeout_ms),
        ("execute_timeout_ms", p.execute_timeout_ms),
    ];
    for (key, value) in fields {
        if value == 0 {
            c.err(&[Seg::Key("polling"), Seg::Key(key)], format!("`{key}` is 0: expected a positive number"));
        }
    }
}

/// `[approvals]`: counts 1 to [`MAX_APPROVAL_PEOPLE`], known operation kinds, a timeout of
/// 1 s to 1 day.
fn approvals(c: &mut Checker<'_, '_>, config: &Config) {
    use super::model::MAX_APPROVAL_PEOPLE;
    let a = &config.approvals;
    let range = |n: u32| (1..=MAX_APPROVAL_PEOPLE).contains(&n);
    let expected = format!("expected 1 to {MAX_APPROVAL_PEOPLE} people, the commander included");
    if let Some(n) = a.high_risk
        && !range(n)
    {
        c.err(&[Seg::Key("approvals"), Seg::Key("high_risk")], format!("`high_risk` is {n}: {expected}"));
    }
    for (kind, n) in &a.kinds {
        let at = [Seg::Key("approvals"), Seg::Key("kinds"), Seg::Key(kind)];
        if !super::model::OP_KIND_NAMES.contains(&kind.as_str()) {
            c.err(
                &at,
                format!("unknown operation kind `{kind}`: expected {}", one_of(super::model::OP_KIND_NAMES)),
            );
        } else if !range(*n) {
            c.err(&at, format!("`{kind}` is {n}: {expected}"));
        }
    }
    if let Some(t) = a.timeout_secs
        && !(1..=86_400).contains(&t)
    {
        c.err(
            &[Seg::Key("approvals"), Seg::Key("timeout_secs")],
            format!("`timeout_secs` is {t}: expected 1 to 86400 seconds"),
        );
    }
}

/// Shortest and longest commander lock ttl accepted (renewed every third of it).
pub const COMMANDER_TTL_SECS: (u64, u64) = (3, 3600);

fn commander(c: &mut Checker<'_, '_>, config: &Config) {
    let Some(cm) = &config.commander else { return };
    let at = |k| [Seg::Key("commander"), Seg::Key(k)];
    match (&cm.context, &cm.namespace) {
        (Some(_), None) => c.err(
            &at("context"),
            "`context` without `namespace`: expected both (a Lease) or neither (a lock file)",
        ),
        (None, Some(_)) => c.err(
            &at("namespace"),
            "`namespace` without `context`: expected both (a Lease) or neither (a lock file)",
        ),
        (Some(ctx), Some(ns)) => {
            let known = known_contexts(config);
            if ctx.trim().is_empty() {
                c.err(&at("context"), "`context` is empty: expected a kube context name");
            } else if !known.is_empty() && !known.contains(&ctx.as_str()) {
                c.err(
                    &at("context"),
                    format!(
                        "kube context `{ctx}` is not one of the regions' contexts: expected {}",
                        one_of(&known)
                    ),
                );
            }
            namespace_label(c, &at("namespace"), ns);
        }
        (None, None) => {}
    }
    let (lo, hi) = COMMANDER_TTL_SECS;
    if !(lo..=hi).contains(&cm.ttl_secs) {
        c.err(&at("ttl_secs"), format!("`ttl_secs` is {}: expected {lo} to {hi} seconds", cm.ttl_secs));
    }
}

fn war_room(c: &mut Checker<'_, '_>, config: &Config) {
    let Some(w) = &config.war_room else { return };
    let at = |k| [Seg::Key("war_room"), Seg::Key(k)];
    if w.context.trim().is_empty() {
        c.err(&at("context"), "`context` is empty: expected a kube context name");
    }
    namespace_label(c, &at("namespace"), &w.namespace);
}

/// A namespace must be a DNS label (lowercase letters, digits and '-', at most 63).
fn namespace_label(c: &mut Checker<'_, '_>, path: &[Seg<'_>], ns: &str) {
    let dns_label = !ns.is_empty()
        && ns.len() <= 63
        && ns.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !ns.starts_with('-')
        && !ns.ends_with('-');
    if !dns_label {
        c.err(
            path,
            format!(
                "namespace `{ns}` is not a DNS label: expected lowercase letters, digits and '-' (at most 63)"
            ),
        );
    }
}

/// Checks an `http://` or `https://` URL with a host.
pub fn http_url(text: &str) -> Result<url::Url, String> {
    // `url`'s messages never include the input, so credentials in a bad URL are not echoed.
    let url = url::Url::parse(text)
        .map_err(|e| format!("is not a valid URL ({e}): expected http(s)://host/path"))?;
    if !matches!(url.scheme(), "http" | "https") || !url.has_host() {
        // The URL itself is not echoed: it may carry credentials.
        return Err(format!(
            "is not an http(s) URL with a host (scheme `{}`): expected http(s)://host/path",
            url.scheme()
        ));
    }
    Ok(url)
}

/// Checks `host:port` (IPv6 hosts in brackets) and returns the port.
pub fn host_port(addr: &str) -> Result<u16, String> {
    const EXPECTED: &str = "expected `host:port`, e.g. `127.0.0.1:26379` or `[::1]:26379`";
    let Some((host, port)) = addr.rsplit_once(':') else { return Err(format!("has no port: {EXPECTED}")) };
    let host_ok = if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        inner.parse::<std::net::Ipv6Addr>().is_ok()
    } else {
        !host.is_empty() && !host.contains([':', '/', ' ', '[', ']'])
    };
    if !host_ok {
        return Err(format!("has a bad host: {EXPECTED}"));
    }
    match port.parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(format!("has a bad port `{port}`: {EXPECTED} with a port 1-65535")),
    }
}

/// The keywords of a libpq connection string, either `key=value ...` or a
/// `postgres://` / `postgresql://` URI (whose user-info password counts as `password`).
pub fn dsn_keys(dsn: &str) -> Result<Vec<String>, String> {
    if dsn.starts_with("postgres://") || dsn.starts_with("postgresql://") {
        let url = url::Url::parse(dsn).map_err(|e| format!("is not a valid URI ({e})"))?;
        let mut keys: Vec<String> = url.query_pairs().map(|(k, _)| k.into_owned()).collect();
        if url.password().is_some() {
            keys.push("password".into());
        }
        return Ok(keys);
    }
    let expected = "expected `key=value` pairs, e.g. `host=127.0.0.1 port=5432 user=postgres`";
    let mut keys = Vec::new();
    let mut chars = dsn.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.peek().is_none() {
            break;
        }
        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| *c != '=' && !c.is_whitespace()) {
            key.push(c);
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.next() != Some('=') || key.is_empty() {
            return Err(format!("is not a connection string: {expected}"));
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.next_if_eq(&'\'').is_some() {
            let mut closed = false;
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        chars.next();
                    }
                    '\'' => {
                        closed = true;
                        break;
                    }
                    _ => {}
                }
            }
            if !closed {
                return Err(format!("has an unterminated quoted value for `{key}`: {expected}"));
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                if c == '\\' {
                    chars.next();
                }
            }
        }
        keys.push(key.to_ascii_lowercase());
    }
    if keys.is_empty() {
        return Err(format!("is empty: {expected}"));
    }
    Ok(keys)
}

/// `[[notify]]`: a known kind, a unique name, a URL (or its env var) for webhooks, an argv for
/// commands. An inline URL is accepted (the file is then a secret) but must parse.
fn notify(c: &mut Checker<'_, '_>, config: &Config) {
    use super::model::NOTIFY_KINDS;
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, n) in config.notify.iter().enumerate() {
        let at = |k| [Seg::Key("notify"), Seg::Index(i), Seg::Key(k)];
        if n.name.trim().is_empty() {
            c.err(&at("name"), "notify target name is empty: expected a name such as `ops-slack`");
        } else if let Some(first) = seen.insert(&n.name, i) {
            let line = c.doc_line(&[Seg::Key("notify"), Seg::Index(first), Seg::Key("name")]);
            c.err(
                &at("name"),
                format!("duplicate notify target `{}` (first defined on line {line})", n.name),
            );
        }
        if !NOTIFY_KINDS.contains(&n.kind.as_str()) {
            c.err(
                &at("kind"),
                format!("unknown notify kind `{}`: expected {}", n.kind, one_of(NOTIFY_KINDS)),
            );
            continue;
        }
        if n.timeout_ms == Some(0) {
            c.err(&at("timeout_ms"), "`timeout_ms` is 0: expected a time in milliseconds such as 10000");
        }
        if n.kind == "command" {
            if n.command.as_ref().is_none_or(|a| a.is_empty() || a[0].trim().is_empty()) {
                c.err(
                    &at("kind"),
                    "a `command` target needs `command = [\"program\", \"arg\", ...]` (no shell string)",
                );
            }
            for key in ["url", "url_env"] {
                if (key == "url" && n.url.is_some()) || (key == "url_env" && n.url_env.is_some()) {
                    c.err(&at(key), format!("`{key}` is for slack and webhook targets, not `command`"));
                }
            }
            continue;
        }
        if n.command.is_some() {
            c.err(&at("command"), format!("`command` is for command targets, not `{}`", n.kind));
        }
        match (&n.url, &n.url_env) {
            (None, None) => {
                c.err(&at("kind"), "a webhook target needs `url_env` (the variable holding its URL) or `url`")
            }
            (Some(_), Some(_)) => c.err(&at("url"), "both `url` and `url_env`: keep one (prefer `url_env`)"),
            (Some(url), None) => {
                if let Err(why) = http_url(url) {
                    c.err(&at("url"), format!("`url` {}", crate::text::redact(&why)));
                }
            }
            (None, Some(var)) if var.trim().is_empty() => {
                c.err(&at("url_env"), "`url_env` is empty: expected a variable name")
            }
            (None, Some(_)) => {}
        }
    }
}

#[cfg(test)]
mod tests;
