//! Authentication the API servers can be started with beyond tokens and client certificates:
//! a token webhook served by the test ([`expiring_token_review`]), so that a token really
//! stops working when it expires, as cloud providers' tokens do (EKS's `aws eks get-token`).

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::support::http_fake::{Reply, Seen};

/// The user the webhook authenticates a valid expiring token as (group `system:masters`).
pub const EXPIRING_USER: &str = "exec-oncall";

/// Write the webhook's kubeconfig (plain HTTP on loopback) and return the API server flags
/// that use it, with a 1 s cache so an expired token is refused within a second.
pub fn token_webhook_args(dir: &Path, url: &str) -> Vec<String> {
    let path: PathBuf = dir.join("token-webhook.kubeconfig");
    let kc = json!({
        "apiVersion": "v1", "kind": "Config", "current-context": "webhook",
        "clusters": [{ "name": "webhook", "cluster": { "server": url } }],
        "contexts": [{ "name": "webhook", "context": { "cluster": "webhook", "user": "apiserver" } }],
        "users": [{ "name": "apiserver", "user": {} }],
    });
    std::fs::write(&path, kc.to_string()).expect("webhook kubeconfig");
    vec![
        format!("--authentication-token-webhook-config-file={}", path.display()),
        "--authentication-token-webhook-version=v1".into(),
        "--authentication-token-webhook-cache-ttl=1s".into(),
    ]
}

/// A token the webhook accepts until `expires` (Unix seconds): `expiring-<expires>-<nonce>`.
pub fn expiring_token(expires: i64, nonce: u64) -> String {
    format!("expiring-{expires}-{nonce}")
}

/// The webhook's answer to a TokenReview: authenticated while the token's expiry is in the
/// future, refused (401-style `authenticated: false`) after it.
pub fn expiring_token_review(seen: &Seen) -> Reply {
    let review: Value = serde_json::from_str(&seen.body).unwrap_or(Value::Null);
    let token = review["spec"]["token"].as_str().unwrap_or_default();
    let expires =
        token.strip_prefix("expiring-").and_then(|r| r.split('-').next()).and_then(|s| s.parse::<i64>().ok());
    let now = chrono::Utc::now().timestamp();
    let status = match expires {
        Some(at) if at > now => json!({
            "authenticated": true,
            "user": { "username": EXPIRING_USER, "groups": ["system:masters", "system:authenticated"] },
        }),
        Some(_) => json!({ "authenticated": false, "error": "token expired" }),
        None => json!({ "authenticated": false }),
    };
    let body = json!({ "apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "status": status });
    Reply { status: 200, content_type: "application/json", body: body.to_string().into_bytes() }
}
