//! Pod exec over WebSocket, as the API server (proxying to the kubelet) speaks it.
//!
//! `GET /api/v1/namespaces/{ns}/pods/{pod}/exec?stdout=true&stderr=true[&container=c]&command=..`
//! with a WebSocket upgrade offering `v5.channel.k8s.io` / `v4.channel.k8s.io` (what kube-rs 5
//! and kubectl 1.32 offer). Every binary frame starts with its channel: the server first sends
//! an empty frame on the lowest writable channel (connection established), then stdout on 1,
//! stderr on 2 and finally a `Status` on 3 (`Success`, or `Failure`/`NonZeroExitCode` with the
//! exit code in `details.causes[reason=ExitCode]`), then closes normally (1000). Errors found before the
//! upgrade (pod or container not found, no command) are plain HTTP `Status` responses.
//!
//! The "process" is a handler the test registers per pod ([`super::KubeServer::on_exec`]); it
//! runs on a blocking thread, so it may run real commands.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ws::{
    CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code, rejection::WebSocketUpgradeRejection,
};
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::api::Shared;
use super::resources;
use super::store::ApiError;

/// Subprotocols this server speaks, preferred first.
pub const PROTOCOLS: [&str; 2] = ["v5.channel.k8s.io", "v4.channel.k8s.io"];

const STDOUT: u8 = 1;
const STDERR: u8 = 2;
const STATUS: u8 = 3;
/// Largest data frame sent (bigger output is split).
const FRAME: usize = 32 * 1024;

/// One exec as the server received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecRequest {
    /// Namespace of the pod.
    pub namespace: String,
    /// Pod name.
    pub pod: String,
    /// Container (the pod's only container when the request named none).
    pub container: String,
    /// The argv.
    pub command: Vec<String>,
    /// The subprotocol agreed on.
    pub protocol: String,
}

/// What the "process" did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecResult {
    /// Standard output.
    pub stdout: Vec<u8>,
    /// Standard error.
    pub stderr: Vec<u8>,
    /// Exit code (0 = success).
    pub exit_code: i32,
    /// Drop the connection after the output, without a status or a close frame (a node or
    /// API server lost mid-exec).
    pub drop_connection: bool,
}

/// Runs one exec (on a blocking thread).
pub type ExecHandler = Arc<dyn Fn(&ExecRequest) -> ExecResult + Send + Sync>;

/// Exec handlers by `(namespace, pod)` and the execs that reached a process.
#[derive(Default)]
pub struct ExecRegistry {
    handlers: Mutex<HashMap<(String, String), ExecHandler>>,
    seen: Mutex<Vec<ExecRequest>>,
}

impl ExecRegistry {
    /// Register (or replace) the handler of a pod.
    pub fn register(&self, namespace: &str, pod: &str, handler: ExecHandler) {
        self.handlers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert((namespace.to_string(), pod.to_string()), handler);
    }

    /// Execs that were upgraded and ran (or found no handler), in order.
    pub fn seen(&self) -> Vec<ExecRequest> {
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn handler(&self, namespace: &str, pod: &str) -> Option<ExecHandler> {
        self.handlers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&(namespace.to_string(), pod.to_string()))
            .cloned()
    }
}

fn status_response(e: &ApiError) -> Response {
    let code = StatusCode::from_u16(e.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (code, [(header::CONTENT_TYPE, "application/json")], e.status().to_string()).into_response()
}

/// The `Status` sent on channel 3 when the process ended with `exit_code`.
pub fn exit_status(command: &[String], exit_code: i32) -> Value {
    if exit_code == 0 {
        return json!({ "metadata": {}, "status": "Success" });
    }
    json!({
        "metadata": {}, "status": "Failure", "reason": "NonZeroExitCode",
        "message": format!(
            "command terminated with non-zero exit code: error executing command [{}], exit code {exit_code}",
            command.join(" ")
        ),
        "details": { "causes": [{ "reason": "ExitCode", "message": exit_code.to_string() }] }
    })
}

/// The handler of `/api/v1/namespaces/{ns}/pods/{pod}/exec`.
pub async fn handle(
    State(shared): State<Arc<Shared>>,
    Path((namespace, pod)): Path<(String, String)>,
    uri: Uri,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let query = uri.query().unwrap_or("");
    shared.store().requests.push(format!("GET {}?{query}", uri.path()));
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let get = |key: &str| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    let flag = |key: &str| get(key).is_some_and(|v| v == "true" || v == "1");
    let command: Vec<String> = pairs.iter().filter(|(k, _)| k == "command").map(|(_, v)| v.clone()).collect();
    let found = shared.store().get(resources::by_kind("Pod"), &namespace, &pod);
    let pod_obj = match found {
        Ok(p) => p,
        Err(e) => return status_response(&e),
    };
    let containers: Vec<String> = pod_obj["spec"]["containers"]
        .as_array()
        .map(|cs| cs.iter().filter_map(|c| c["name"].as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    let container = match get("container") {
        Some(c) if containers.contains(&c) => c,
        Some(c) => {
            return status_response(&ApiError::new(
                400,
                "BadRequest",
                format!("container {c} is not valid for pod {pod}"),
            ));
        }
        None if containers.len() == 1 => containers[0].clone(),
        None => {
            return status_response(&ApiError::new(
                400,
                "BadRequest",
                format!(
                    "a container name must be specified for pod {pod}, choose one of: [{}]",
                    containers.join(" ")
                ),
            ));
        }
    };
    if command.is_empty() {
        return status_response(&ApiError::new(400, "BadRequest", "you must specify at least 1 command"));
    }
    if !flag("stdout") && !flag("stderr") && !flag("stdin") {
        return status_response(&ApiError::new(
            400,
            "BadRequest",
            "you must specify at least 1 of stdin, stdout, stderr",
        ));
    }
    let upgrade = match upgrade {
        Ok(u) => u,
        Err(e) => {
            return status_response(&ApiError::new(
                400,
                "BadRequest",
                format!("Upgrade request required (this test server speaks WebSocket only: {e})"),
            ));
        }
    };
    let offered =
        upgrade.requested_protocols().any(|p| PROTOCOLS.iter().any(|s| p.as_bytes() == s.as_bytes()));
    if !offered {
        return status_response(&ApiError::new(
            400,
            "BadRequest",
            format!(
                "no supported WebSocket subprotocol offered (this server speaks {})",
                PROTOCOLS.join(", ")
            ),
        ));
    }
    let (stdout, stderr) = (flag("stdout"), flag("stderr"));
    upgrade.protocols(PROTOCOLS).on_upgrade(move |socket| async move {
        let protocol = socket.protocol().and_then(|p| p.to_str().ok()).unwrap_or_default().to_string();
        let req = ExecRequest { namespace, pod, container, command, protocol };
        session(socket, &shared, req, stdout, stderr).await;
    })
}

async fn send(socket: &mut WebSocket, channel: u8, data: &[u8]) -> bool {
    let mut frame = Vec::with_capacity(data.len() + 1);
    frame.push(channel);
    frame.extend_from_slice(data);
    socket.send(Message::Binary(frame.into())).await.is_ok()
}

async fn session(mut socket: WebSocket, shared: &Shared, req: ExecRequest, stdout: bool, stderr: bool) {
    shared.execs.seen.lock().unwrap_or_else(|e| e.into_inner()).push(req.clone());
    // "Connection established": an empty frame on the lowest writable channel.
    let first = if stdout {
        STDOUT
    } else if stderr {
        STDERR
    } else {
        STATUS
    };
    if !send(&mut socket, first, &[]).await {
        return;
    }
    let result = match shared.execs.handler(&req.namespace, &req.pod) {
        Some(h) => {
            let r = req.clone();
            tokio::task::spawn_blocking(move || h(&r)).await.ok()
        }
        None => None,
    };
    let status = match &result {
        Some(r) => {
            for (on, channel, data) in [(stdout, STDOUT, &r.stdout), (stderr, STDERR, &r.stderr)] {
                for chunk in data.chunks(FRAME).filter(|_| on) {
                    if !send(&mut socket, channel, chunk).await {
                        return;
                    }
                }
            }
            if r.drop_connection {
                return;
            }
            exit_status(&req.command, r.exit_code)
        }
        None => json!({
            "metadata": {}, "status": "Failure", "reason": "InternalError", "code": 500,
            "message": format!(
                "error executing command in container: no exec handler registered in the test server for pod {}/{}",
                req.namespace, req.pod
            )
        }),
    };
    if !send(&mut socket, STATUS, status.to_string().as_bytes()).await {
        return;
    }
    // A normal closure (1000), as the API server closes: kubectl treats a close without a
    // status code (1005) as an error reading the error stream.
    let close = CloseFrame { code: close_code::NORMAL, reason: "".into() };
    let _ = socket.send(Message::Close(Some(close))).await;
    // Wait (briefly) for the client's close so it reads everything before the TCP close.
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        while let Some(Ok(m)) = socket.recv().await {
            if matches!(m, Message::Close(_)) {
                break;
            }
        }
    })
    .await;
}
