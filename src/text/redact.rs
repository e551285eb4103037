//! Redaction at the log boundary: secrets never reach the incident log's bytes.
//!
//! Every summary and every string inside `details` passes through [`redact`] (via
//! [`redact_json`]) before it is written. Matching errs on the side of hiding too much: a
//! redacted value becomes `***`, the label before it stays so the reader knows what was there.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::{Regex, RegexSet};
use serde_json::Value;

/// What a secret is replaced with.
pub const MASK: &str = "***";

/// One rule: a pattern and its replacement (which keeps the captured label parts).
struct Rule {
    re: Regex,
    with: &'static str,
}

/// A value after `=`/`:`: quoted (with escapes) or a bare run up to a separator.
const VALUE: &str = r#"(?:"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[^\s&;,"'}\]]+)"#;

/// Key names whose values are secrets (also used for JSON object keys).
const SECRET_KEY: &str = r"[A-Za-z0-9_.-]*(?i:password|passwd|pwd|secret|token|api[_-]?key|auth-pass|client-key-data|credential)[A-Za-z0-9_.-]*";

static RULES: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    let rule = |re: &str, with: &'static str| Rule {
        re: Regex::new(re).unwrap_or_else(|e| panic!("built-in redaction rule {re:?}: {e}")),
        with,
    };
    vec![
        // URL userinfo: postgres://user:pw@host, redis://:pw@host (password may hold '@').
        rule(r"([A-Za-z][A-Za-z0-9+.-]*://[^:/?#@\s]*):[^\s/?#]*@", "$1:***@"),
        // AWS secret access key after its label (40 base64-ish characters), any separator.
        rule(
            r#"(?i)((?:aws_?)?secret_?access_?key|aws_?secret_?key)(["']?\s*[=:\s]\s*["']?)[A-Za-z0-9/+=]{40}"#,
            "$1$2***",
        ),
        // key=value for any secret-looking key (libpq `password=...`, `?password=`, `token=`,
        // `secret=`, `apikey=`), wherever it stands.
        rule(&format!(r#"\b({SECRET_KEY})(["']?\s*=\s*){VALUE}"#), "$1$2***"),
        // key: value where the key is a key, not a word in a sentence: quoted (`"password": "x"`),
        // or first on its line (YAML such as kubeconfig `token:`, a list item `- password:`), or
        // right after `{ , ; ( [ :` (`error: token: abc`). "contains a password: remove it" stays.
        rule(&format!(r#"(["']{SECRET_KEY}["']\s*:\s*){VALUE}"#), "$1***"),
        rule(&format!(r#"(?m)((?:^|[{{,;(\[:])\s*(?:-\s+)?{SECRET_KEY}\s*:\s*){VALUE}"#), "$1***"),
        // Authorization headers and bearer tokens.
        rule(r"(?i)\b(authorization\s*[:=]\s*)(?:[A-Za-z]+\s+)?\S+", "$1***"),
        rule(r"(?i)\b(bearer)\s+[A-Za-z0-9\-._~+/]+=*", "$1 ***"),
        // Redis AUTH [user] password, config requirepass/masterauth, sentinel auth-pass.
        rule(r"(?i)\b(AUTH)\s+\S+(?:\s+\S+)?", "$1 ***"),
        rule(r"(?i)\b(requirepass|masterauth|auth-pass)\s+\S+", "$1 ***"),
        // Redis echoing an unknown/failed command's arguments, e.g. a proxy or server without
        // ACLs: `ERR unknown command 'AUTH', with args beginning with: 'pw' `.
        rule(
            r"(?i)('(?:auth|hello|config|sentinel)',? with args beginning with:)(?:\s*'(?:[^'\\]|\\.)*')+",
            "$1 ***",
        ),
        // redis-cli -a / --pass.
        rule(r"(\s--?(?:a|pass))\s+\S+", "$1 ***"),
        // AWS access key ids.
        rule(r"\b(?:AKIA|ASIA|AROA|AIDA)[A-Z0-9]{16}\b", MASK),
        // Webhook URLs (the path is the secret): a host or a path naming a hook
        // (hooks.slack.com/services/..., /api/webhooks/...) keeps only scheme and host.
        rule(r#"(?i)\b(https?://[^/\s?#"'<>]*hook[^/\s?#"'<>]*)[/?#][^\s"'<>]*"#, "$1/…"),
        rule(r#"(?i)\b(https?://[^/\s?#"'<>]+)[/?#][^\s"'<>]*hook[^\s"'<>]*"#, "$1/…"),
    ]
});

/// All the rules' patterns at once: one pass tells whether any rule can apply, so text
/// without secrets (nearly all of it, and all of a steady frame) costs one scan, not nine.
static ANY_RULE: LazyLock<RegexSet> = LazyLock::new(|| {
    RegexSet::new(RULES.iter().map(|r| r.re.as_str())).unwrap_or_else(|e| panic!("redaction rule set: {e}"))
});

static SECRET_KEY_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!("^{SECRET_KEY}$")).unwrap_or_else(|e| panic!("secret key rule: {e}"))
});

/// Hides secrets in one piece of text (DSN passwords, AWS keys, tokens, ...) with `***`.
pub fn redact(text: &str) -> Cow<'_, str> {
    // A rule changes the text only where it matches; when none matches the input, none
    // matches after the others either (nothing was replaced).
    if !ANY_RULE.is_match(text) {
        return Cow::Borrowed(text);
    }
    let mut out = Cow::Borrowed(text);
    for rule in RULES.iter() {
        if let Cow::Owned(s) = rule.re.replace_all(&out, rule.with) {
            out = Cow::Owned(s);
        }
    }
    out
}

static SECRET_WORD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(SECRET_KEY).unwrap_or_else(|e| panic!("secret word rule: {e}")));

/// Whether [`redact`] or a secret-looking key could change any part of `text`. `false` for a
/// text without a backslash (JSON with no escapes) means no string in it, nor any key, holds
/// anything to hide: every rule's match in a piece of it is also a match in the whole, and
/// the one line-anchored rule needs a secret key word. One scan for a clean text.
pub fn may_hold_secret(text: &str) -> bool {
    text.contains('\\') || ANY_RULE.is_match(text) || SECRET_WORD.is_match(text)
}

/// Where a secret URL points, for people: scheme and host, then `/…` (a webhook's path is
/// its secret). Text that is not a URL shows as `…`.
pub fn destination(url: &str) -> String {
    match url::Url::parse(url.trim()) {
        Ok(u) if u.host_str().is_some() => {
            let port = u.port().map(|p| format!(":{p}")).unwrap_or_default();
            format!("{}://{}{port}/…", u.scheme(), u.host_str().unwrap_or_default())
        }
        _ => "…".to_string(),
    }
}

/// Whether a JSON object key names a secret (`password`, `aws_secret_access_key`, `token`, ...).
pub fn is_secret_key(key: &str) -> bool {
    SECRET_KEY_NAME.is_match(key)
}

/// Redacts every string in a JSON value; a string or number under a secret-looking key is
/// replaced whole by `***`.
pub fn redact_json(value: Value) -> Value {
    match value {
        Value::String(s) => Value::String(redact(&s).into_owned()),
        Value::Array(items) => Value::Array(items.into_iter().map(redact_json).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let v = match v {
                        Value::String(_) | Value::Number(_) if is_secret_key(&k) => {
                            Value::String(MASK.to_string())
                        }
                        other => redact_json(other),
                    };
                    (redact(&k).into_owned(), v)
                })
                .collect(),
        ),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn r(s: &str) -> String {
        redact(s).into_owned()
    }

    #[test]
    fn webhook_urls_keep_only_scheme_and_host() {
        let slack = "https://hooks.slack.com/services/T000/B000/XXXXsecretXXXX";
        assert_eq!(r(&format!("POST {slack} failed")), "POST https://hooks.slack.com/… failed");
        assert_eq!(r("see http://127.0.0.1:4000/hooks/abc123?x=1 now"), "see http://127.0.0.1:4000/… now");
        assert_eq!(r("https://discord.com/api/webhooks/1/tok"), "https://discord.com/…");
        assert_eq!(r("https://example.com/docs/runbook"), "https://example.com/docs/runbook");
        assert_eq!(destination(slack), "https://hooks.slack.com/…");
        assert_eq!(destination("http://127.0.0.1:4000/anything/secret"), "http://127.0.0.1:4000/…");
        assert_eq!(destination("not a url secret"), "…");
    }

    #[test]
    fn url_userinfo_passwords() {
        assert_eq!(r("postgres://u:pw@h:5432/db"), "postgres://u:***@h:5432/db");
        assert_eq!(
            r("connect redis://:s3cr3t@10.0.0.1:6379/0 now"),
            "connect redis://:***@10.0.0.1:6379/0 now"
        );
        assert_eq!(r("postgresql://app:p@ss@db/x"), "postgresql://app:***@db/x");
        // No password: unchanged.
        assert_eq!(r("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(r("https://api.example.com/health"), "https://api.example.com/health");
    }

    #[test]
    fn keyword_and_query_passwords() {
        assert_eq!(
            r("host=h user=postgres password=hunter2 dbname=x"),
            "host=h user=postgres password=*** dbname=x"
        );
        assert_eq!(r("host=h password='a b\\'c' port=5"), "host=h password=*** port=5");
        assert_eq!(
            r("postgres://h/db?sslmode=require&password=pw1&x=1"),
            "postgres://h/db?sslmode=require&password=***&x=1"
        );
        assert_eq!(r("PGPASSWORD=topsecret psql"), "PGPASSWORD=*** psql");
        assert_eq!(r(r#"{"password": "x y"}"#), r#"{"password": ***}"#);
    }

    #[test]
    fn redis_auth() {
        assert_eq!(r("AUTH hunter2"), "AUTH ***");
        assert_eq!(r("auth default hunter2"), "auth ***");
        assert_eq!(r("CONFIG SET requirepass hunter2"), "CONFIG SET requirepass ***");
        assert_eq!(r("SENTINEL SET mymaster auth-pass hunter2"), "SENTINEL SET mymaster auth-pass ***");
        assert_eq!(r("redis-cli -a hunter2 ping"), "redis-cli -a *** ping");
        assert_eq!(
            r("ERR unknown command 'AUTH', with args beginning with: 'default' 'hunter2' "),
            "ERR unknown command 'AUTH', with args beginning with: *** "
        );
        assert_eq!(
            r("ERR unknown command 'GET', with args beginning with: 'k' "),
            "ERR unknown command 'GET', with args beginning with: 'k' ",
            "other commands' arguments are not secrets"
        );
    }

    #[test]
    fn aws_keys() {
        let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        assert_eq!(r(&format!("aws_secret_access_key = {secret}")), "aws_secret_access_key = ***");
        assert_eq!(r(&format!("SecretAccessKey: \"{secret}\"")), "SecretAccessKey: ***");
        assert_eq!(r(&format!("aws_secret_access_key {secret}")), "aws_secret_access_key ***");
        assert_eq!(r("key id AKIAIOSFODNN7EXAMPLE used"), "key id *** used");
        // A git SHA-1 (40 hex) with no label stays.
        let sha = "0123456789abcdef0123456789abcdef01234567";
        assert_eq!(r(sha), sha);
    }

    #[test]
    fn tokens() {
        assert_eq!(r("Authorization: Bearer eyJhbGciOi.x.y"), "Authorization: ***");
        assert_eq!(r("sent bearer abc.DEF-123 to api"), "sent bearer *** to api");
        assert_eq!(r("    token: eyJhbGciOiJSUzI1NiJ9.abc"), "    token: ***");
        assert_eq!(r("client-key-data: LS0tLS1CRUdJTg=="), "client-key-data: ***");
        assert_eq!(
            r("url?token=abc&secret=def&apikey=ghi&api_key=jkl"),
            "url?token=***&secret=***&apikey=***&api_key=***"
        );
        assert_eq!(r("plain words stay plain"), "plain words stay plain");
    }

    #[test]
    fn a_colon_after_a_secret_word_in_prose_is_not_a_value() {
        // The configuration check's own advice must reach the screen whole.
        let advice = "`dsn` contains a password: remove it and put the password in PGPASSWORD";
        assert_eq!(r(advice), advice);
        assert_eq!(r("the token: it expired"), "the token: it expired");
        // A key is still a key: first on its line, in a list, quoted, or after a separator.
        assert_eq!(r("password: hunter2"), "password: ***");
        assert_eq!(r("users:\n- password: hunter2\n"), "users:\n- password: ***\n");
        assert_eq!(r("{token: abc, user: x}"), "{token: ***, user: x}");
        assert_eq!(r("'api_key': 'abc'"), "'api_key': ***");
        assert_eq!(r("Unauthorized: token: abc123"), "Unauthorized: token: ***");
        assert_eq!(r("login failed; password: abc"), "login failed; password: ***");
        // `=` masks wherever it stands, and a longer key holding a secret word is a secret too.
        assert_eq!(r("see my password=abc"), "see my password=***");
        assert_eq!(r("mypassword=x"), "mypassword=***");
    }

    #[test]
    fn json_details_are_walked() {
        let v = redact_json(json!({
            "dsn": "postgres://u:pw@h/db",
            "password": "hunter2",
            "nested": [{"aws_secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}],
            "count": 3,
            "ok": true
        }));
        assert_eq!(
            v,
            json!({
                "dsn": "postgres://u:***@h/db",
                "password": "***",
                "nested": [{"aws_secret_access_key": "***"}],
                "count": 3,
                "ok": true
            })
        );
        assert!(is_secret_key("PGPASSWORD"));
        assert!(!is_secret_key("replay_lag_bytes"));
    }

    /// Every rule in turn, without the one-pass prefilter.
    fn every_rule(text: &str) -> String {
        RULES.iter().fold(text.to_string(), |t, rule| rule.re.replace_all(&t, rule.with).into_owned())
    }

    use proptest::strategy::Strategy;

    proptest::proptest! {
        /// The prefilter never lets a secret through: same result as running every rule.
        #[test]
        fn the_prefilter_changes_nothing(parts in proptest::collection::vec(proptest::prop_oneof![
            proptest::string::string_regex("[a-z0-9 ]{0,8}").expect("regex"),
            proptest::sample::select(vec![
                "password=", "PGPASSWORD=", "token: ", "redis://u:", "@db:5432", "AUTH ", "AKIA",
                "ABCDEFGHIJKLMNOP", "Bearer ", "authorization: ", " -a ", "'auth', with args beginning with: ",
                "'pw'", "aws_secret_access_key=", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "\"", "'",
            ]).prop_map(String::from),
        ], 0..8)) {
            let text = parts.concat();
            proptest::prop_assert_eq!(redact(&text).into_owned(), every_rule(&text));
        }
    }
}
