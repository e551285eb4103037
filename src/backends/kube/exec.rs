//! Commands in a pod through the pod exec API (`Api::<Pod>::exec`, WebSocket with the
//! `v5.channel.k8s.io` / `v4.channel.k8s.io` subprotocols): stdout (channel 1) and stderr
//! (channel 2) are collected, the exit status comes from the `Status` on channel 3.
//!
//! Output is untrusted text from inside a container: it is reduced to one line, passwords are
//! masked and terminal controls made visible before it reaches a summary or an error.

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Status;
use kube::Api;
use kube::api::AttachParams;
use tokio::io::{AsyncRead, AsyncReadExt};

use super::operator::describe;
use crate::text::{redact, sanitize};

/// Bytes of each output stream kept (the rest is read and dropped so the process never stalls).
const KEEP_BYTES: usize = 16 * 1024;
/// How long output may still arrive after the exit status.
const OUTPUT_GRACE: std::time::Duration = std::time::Duration::from_secs(2);
/// Characters of cleaned output shown in a summary or an error.
const SHOW_CHARS: usize = 600;

/// What a successful exec printed, cleaned for display (one line, sanitized, redacted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutput {
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// Run `argv` (no shell) in a pod's container and wait for its exit status.
///
/// `Err` for an API error before the stream opens (pod or container not found...), a
/// failure `Status` on the status channel (a non-zero exit: the message names the exit code
/// and carries the cleaned stderr), or a stream that ends without any status.
pub async fn exec_in_pod(
    client: kube::Client,
    namespace: &str,
    pod: &str,
    container: Option<&str>,
    argv: &[String],
) -> Result<ExecOutput, String> {
    let api: Api<Pod> = Api::namespaced(client, namespace);
    let params = AttachParams {
        container: container.map(str::to_string),
        stdin: false,
        stdout: true,
        stderr: true,
        tty: false,
        ..AttachParams::default()
    };
    let mut process = api.exec(pod, argv.to_vec(), &params).await.map_err(|e| describe(&e))?;
    let (Some(stdout), Some(stderr), Some(status)) =
        (process.stdout(), process.stderr(), process.take_status())
    else {
        return Err("exec stream did not provide stdout, stderr and status".into());
    };
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let status = {
        let drains = async { tokio::join!(drain(stdout, &mut out), drain(stderr, &mut err)) };
        tokio::pin!(drains, status);
        tokio::select! {
            s = &mut status => {
                // Output still in flight arrives right after the status; but a stream that broke
                // is never shut down (no EOF), so wait only briefly for it.
                let _ = tokio::time::timeout(OUTPUT_GRACE, &mut drains).await;
                s
            }
            _ = &mut drains => status.await,
        }
    };
    let (stdout, stderr) = (clean(&out), clean(&err));
    let Some(status) = status else {
        return Err(match process.join().await {
            Err(e) => format!("exec stream failed before an exit status: {e}"),
            Ok(()) => "exec stream closed without an exit status: outcome unknown".into(),
        });
    };
    match status_outcome(&status) {
        Ok(()) => Ok(ExecOutput { stdout, stderr }),
        Err(what) => {
            let output = if !stderr.is_empty() { stderr } else { stdout };
            Err(if output.is_empty() { what } else { format!("{what}: {output}") })
        }
    }
}

/// `Ok` for a `Success` status; otherwise what failed, with the exit code when there is one.
pub fn status_outcome(status: &Status) -> Result<(), String> {
    if status.status.as_deref() == Some("Success") {
        return Ok(());
    }
    if let Some(code) = exit_code(status) {
        return Err(format!("command terminated with exit code {code}"));
    }
    let message = clean(status.message.as_deref().unwrap_or("exec failed").as_bytes());
    Err(match status.reason.as_deref() {
        Some(reason) if !reason.is_empty() => format!("{message} ({reason})"),
        _ => message,
    })
}

/// The exit code a `NonZeroExitCode` status carries in `details.causes[reason=ExitCode]`.
pub fn exit_code(status: &Status) -> Option<i32> {
    status
        .details
        .as_ref()?
        .causes
        .as_ref()?
        .iter()
        .find(|c| c.reason.as_deref() == Some("ExitCode"))?
        .message
        .as_deref()?
        .trim()
        .parse()
        .ok()
}

/// Read a stream to its end into `kept`, keeping the first [`KEEP_BYTES`] (cancel-safe: what
/// was read stays in `kept`).
async fn drain(mut reader: impl AsyncRead + Unpin, kept: &mut Vec<u8>) {
    let mut buf = [0u8; 4096];
    loop {
        match reader.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                let room = KEEP_BYTES.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
            }
        }
    }
}

/// Untrusted output as one displayable line: non-empty lines joined with ` | `, passwords
/// masked, controls made visible, cut to [`SHOW_CHARS`].
pub fn clean(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let joined: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let joined = joined.join(" | ");
    let safe = sanitize(&redact(&joined)).into_owned();
    match safe.char_indices().nth(SHOW_CHARS) {
        Some((cut, _)) => format!("{}…", &safe[..cut]),
        None => safe,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn status(v: serde_json::Value) -> Status {
        serde_json::from_value(v).expect("status json")
    }

    #[test]
    fn success_and_exit_codes_from_the_status_channel() {
        assert_eq!(status_outcome(&status(json!({"metadata": {}, "status": "Success"}))), Ok(()));
        let failed = status(json!({
            "metadata": {}, "status": "Failure", "reason": "NonZeroExitCode",
            "message": "command terminated with non-zero exit code: error executing command [pg_ctl promote -D /d], exit code 1",
            "details": {"causes": [{"reason": "ExitCode", "message": "1"}]}
        }));
        assert_eq!(exit_code(&failed), Some(1));
        assert_eq!(status_outcome(&failed), Err("command terminated with exit code 1".into()));
        let other = status(json!({"status": "Failure", "reason": "InternalError",
                                  "message": "error dialing backend\u{1b}[2J"}));
        assert_eq!(exit_code(&other), None);
        assert_eq!(status_outcome(&other), Err("error dialing backend␛[2J (InternalError)".into()));
    }

    #[test]
    fn output_is_one_safe_line() {
        let raw = b"waiting for server to promote....\n done\n\nserver promoted\n";
        assert_eq!(clean(raw), "waiting for server to promote.... | done | server promoted");
        let hostile = "pg_ctl: \u{1b}]52;c;aGk=\u{7} password=hunter2 \u{202e}x\n".as_bytes();
        let c = clean(hostile);
        assert!(!c.chars().any(crate::text::is_unsafe), "{c}");
        assert!(!c.contains("hunter2"), "{c}");
        let long = vec![b'x'; 5000];
        assert_eq!(clean(&long).chars().count(), SHOW_CHARS + 1);
    }

    #[test]
    fn the_request_kube_sends_is_the_one_the_preview_shows() {
        use crate::operation::exec::{exec_request_line, pg_ctl_promote_argv};
        let argv = pg_ctl_promote_argv("/var/lib/postgresql/data");
        for container in [None, Some("postgres")] {
            let params = AttachParams { container: container.map(str::to_string), ..AttachParams::default() };
            let req = kube::core::Request::new("/api/v1/namespaces/database/pods")
                .exec("postgresql-1", argv.clone(), &params)
                .expect("request");
            assert_eq!(req.method(), "GET", "a WebSocket upgrade");
            let sent = req.uri().to_string();
            let (path, query) = sent.split_once('?').expect("query");
            let sent_pairs: Vec<(String, String)> =
                url::form_urlencoded::parse(query.as_bytes()).map(|(k, v)| (k.into(), v.into())).collect();
            let shown = exec_request_line("database", "postgresql-1", container, &argv);
            let (shown_path, shown_query) = shown.split_once('?').expect("query");
            assert_eq!(shown_path, format!("GET {path}"));
            let shown_pairs: Vec<(String, String)> = shown_query
                .split('&')
                .map(|kv| kv.split_once('=').expect("k=v"))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            assert_eq!(shown_pairs, sent_pairs);
        }
    }

    #[tokio::test]
    async fn drain_keeps_a_bounded_prefix_and_reads_to_the_end() {
        let (r, mut w) = tokio::io::simplex(64);
        let writer = tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            for _ in 0..100 {
                w.write_all(&[b'a'; 1000]).await.expect("write");
            }
            // EOF, as kube-rs signals it when the status arrives.
            w.shutdown().await.expect("shutdown");
        });
        let mut kept = Vec::new();
        drain(r, &mut kept).await;
        writer.await.expect("writer finished: the reader never stalled it");
        assert_eq!(kept.len(), KEEP_BYTES);
    }
}
