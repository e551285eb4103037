//! Sending a posted status update to `[[notify]]` targets: a Slack-compatible incoming webhook
//! (`{"text": ...}`), a generic JSON webhook, or a command with the text on stdin (an argv,
//! never a shell string).
//!
//! Each attempt has a timeout; a failed attempt is retried with a doubling backoff. A webhook
//! URL is a secret: it is read from the environment (`url_env`) or the config only here, and
//! what is shown or logged is [`crate::text::redact::destination`] (scheme and host). Errors
//! are reduced to plain, redacted text and never carry the URL.

use std::process::Stdio;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;
use tokio::io::AsyncWriteExt;

use crate::config::model::NotifyConfig;

/// Time allowed for one attempt when the target does not say.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// What a status update is about and says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Incident id.
    pub incident: String,
    /// Severity (`SEV1`).
    pub severity: String,
    /// Incident title.
    pub title: String,
    /// The posted text.
    pub text: String,
    /// Who posted it.
    pub operator: String,
    /// When it was posted.
    pub posted_at: DateTime<Utc>,
}

/// Attempts and the waits between them: `tries` attempts, waiting `backoff`, then twice as
/// long, and so on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// Attempts in all (at least 1).
    pub tries: u32,
    /// Wait before the second attempt.
    pub backoff: Duration,
}

impl Default for Retry {
    /// 3 attempts, 1 s then 2 s apart.
    fn default() -> Self {
        Retry { tries: 3, backoff: Duration::from_secs(1) }
    }
}

/// How sending to one target ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Attempts made.
    pub attempts: u32,
    /// Whether the last attempt succeeded.
    pub ok: bool,
    /// `HTTP 200`, `exit 0`, `timed out`, ... of the last attempt.
    pub status: String,
    /// Why the last attempt failed (plain, redacted text).
    pub error: Option<String>,
}

/// The exact bytes a target of `kind` receives: JSON for `slack` and `webhook`, the text
/// itself (on stdin) for `command`.
pub fn payload(kind: &str, msg: &Message) -> String {
    match kind {
        "slack" => json!({ "text": msg.text }).to_string(),
        "webhook" => json!({
            "incident": msg.incident,
            "severity": msg.severity,
            "title": msg.title,
            "text": msg.text,
            "operator": msg.operator,
            "posted_at": msg.posted_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        })
        .to_string(),
        _ => msg.text.clone(),
    }
}

/// Where a target sends, for people: scheme and host of its URL (`$VAR` when the URL is in
/// the environment), or the command's program.
pub fn destination(t: &NotifyConfig) -> String {
    match (&t.url, &t.url_env, &t.command) {
        (_, Some(var), _) => format!("${}", crate::text::sanitize(var)),
        (Some(url), None, _) => crate::text::redact::destination(url),
        (None, None, Some(argv)) => {
            let prog = argv.first().map(String::as_str).unwrap_or_default();
            format!("command {}", crate::text::redact(&crate::text::sanitize(prog)))
        }
        (None, None, None) => "nowhere".into(),
    }
}

/// Send `msg` to target `t`, retrying per `retry`. `env` reads an environment variable (the
/// URL of a `url_env` target).
pub async fn send(
    t: &NotifyConfig,
    msg: &Message,
    retry: Retry,
    env: &(dyn Fn(&str) -> Option<String> + Sync),
) -> Outcome {
    let timeout = t.timeout_ms.map_or(DEFAULT_TIMEOUT, Duration::from_millis);
    let body = payload(&t.kind, msg);
    let url = match (&t.url, &t.url_env) {
        (_, Some(var)) => {
            env(var).filter(|u| !u.trim().is_empty()).ok_or_else(|| format!("${var} is not set"))
        }
        (Some(url), None) => Ok(url.clone()),
        (None, None) => Err("no URL configured".into()),
    };
    let mut wait = retry.backoff;
    let mut last = Outcome { attempts: 0, ok: false, status: "not sent".into(), error: None };
    for attempt in 1..=retry.tries.max(1) {
        if attempt > 1 {
            tokio::time::sleep(wait).await;
            wait *= 2;
        }
        let result = match t.kind.as_str() {
            "command" => run(t.command.as_deref().unwrap_or_default(), &body, timeout).await,
            _ => match &url {
                Ok(url) => post(url, &body, timeout).await,
                // A missing URL will not appear by retrying.
                Err(e) => {
                    return Outcome {
                        attempts: 0,
                        ok: false,
                        status: "not sent".into(),
                        error: Some(e.clone()),
                    };
                }
            },
        };
        last = match result {
            Ok(status) => return Outcome { attempts: attempt, ok: true, status, error: None },
            Err((status, error)) => {
                Outcome { attempts: attempt, ok: false, status, error: Some(clean(&error)) }
            }
        };
    }
    last
}

/// Plain one-line text with secrets (and webhook URLs) masked.
fn clean(s: &str) -> String {
    let one: String = s.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ");
    crate::text::sanitize(&crate::text::redact(&one)).chars().take(300).collect()
}

/// One POST; `Ok("HTTP 200")` for a 2xx answer, else the status and why.
async fn post(url: &str, body: &str, timeout: Duration) -> Result<String, (String, String)> {
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .map_err(|e| ("not sent".to_string(), e.without_url().to_string()))?;
    let req = client.post(url).header("content-type", "application/json").body(body.to_string());
    match req.send().await {
        Ok(resp) if resp.status().is_success() => Ok(format!("HTTP {}", resp.status().as_u16())),
        Ok(resp) => {
            let code = resp.status().as_u16();
            let text = tokio::time::timeout(timeout, resp.text()).await.ok().and_then(Result::ok);
            let why = text.filter(|t| !t.trim().is_empty()).unwrap_or_else(|| format!("HTTP {code}"));
            Err((format!("HTTP {code}"), why))
        }
        Err(e) if e.is_timeout() => {
            Err(("timed out".into(), format!("no answer within {} ms", timeout.as_millis())))
        }
        Err(e) => Err(("failed".into(), error_chain(&e.without_url()))),
    }
}

/// An error and its sources, `: `-joined (reqwest's own message is only "error sending request").
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

/// Run `argv` with `text` on stdin; `Ok("exit 0")` when it succeeds in time.
async fn run(argv: &[String], text: &str, timeout: Duration) -> Result<String, (String, String)> {
    let Some((prog, args)) = argv.split_first() else {
        return Err(("not run".into(), "no command configured".into()));
    };
    let mut child = tokio::process::Command::new(prog)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| ("not run".to_string(), format!("cannot run {prog}: {e}")))?;
    let mut stdin = child.stdin.take();
    let work = async {
        if let Some(stdin) = stdin.as_mut() {
            stdin.write_all(text.as_bytes()).await.map_err(|e| format!("writing stdin: {e}"))?;
        }
        drop(stdin.take());
        child.wait_with_output().await.map_err(|e| format!("waiting: {e}"))
    };
    match tokio::time::timeout(timeout, work).await {
        Err(_) => Err(("timed out".into(), format!("not done within {} ms (killed)", timeout.as_millis()))),
        Ok(Err(e)) => Err(("failed".into(), e)),
        Ok(Ok(out)) if out.status.success() => Ok("exit 0".into()),
        Ok(Ok(out)) => {
            let code = out.status.code().map_or("killed".to_string(), |c| format!("exit {c}"));
            let err = String::from_utf8_lossy(&out.stderr).into_owned();
            Err((code.clone(), if err.trim().is_empty() { code } else { err }))
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn msg() -> Message {
        Message {
            incident: "INC-1".into(),
            severity: "SEV1".into(),
            title: "Primary down".into(),
            text: "line one\nline \"two\"".into(),
            operator: "alice@host".into(),
            posted_at: Utc.with_ymd_and_hms(2026, 12, 6, 3, 4, 5).unwrap(),
        }
    }

    #[test]
    fn payloads_are_exact() {
        assert_eq!(payload("slack", &msg()), r#"{"text":"line one\nline \"two\""}"#);
        let v: serde_json::Value = serde_json::from_str(&payload("webhook", &msg())).unwrap();
        assert_eq!(
            v,
            json!({"incident": "INC-1", "severity": "SEV1", "title": "Primary down",
                   "text": "line one\nline \"two\"", "operator": "alice@host",
                   "posted_at": "2026-12-06T03:04:05Z"})
        );
        assert_eq!(payload("command", &msg()), "line one\nline \"two\"");
    }

    #[test]
    fn destinations_never_show_the_secret_path() {
        let t = |url: Option<&str>, env: Option<&str>, cmd: Option<&[&str]>| NotifyConfig {
            name: "x".into(),
            kind: "slack".into(),
            url: url.map(Into::into),
            url_env: env.map(Into::into),
            command: cmd.map(|c| c.iter().map(|s| s.to_string()).collect()),
            ..NotifyConfig::default()
        };
        assert_eq!(
            destination(&t(Some("https://hooks.slack.com/services/T/B/secret"), None, None)),
            "https://hooks.slack.com/…"
        );
        assert_eq!(destination(&t(None, Some("OPS_HOOK"), None)), "$OPS_HOOK");
        assert_eq!(destination(&t(None, None, Some(&["statuspage", "post"]))), "command statuspage");
    }
}
