//! HTTP health probes: GET a region's `/health/live` or `/health/ready` URL with a timeout.
//!
//! A probe never fails as a whole: every outcome (an answer, a hang, a refused or reset
//! connection) becomes a [`Probe`]. Redirects are not followed, so a health URL that
//! redirects to a login page shows as a 3xx instead of a misleading 200. Error texts never
//! contain the URL (it may carry credentials).

use std::time::Duration;

use tokio::time::Instant;

use crate::backends::model::Probe;

/// How much of a failing answer's body is kept.
pub const BODY_EXCERPT_BYTES: usize = 200;

/// Sends health probes with one timeout per probe.
#[derive(Debug, Clone)]
pub struct HttpProber {
    client: reqwest::Client,
    timeout: Duration,
}

impl HttpProber {
    /// A prober whose probes give up after `timeout` (connect, headers and body excerpt).
    pub fn new(timeout: Duration) -> Result<HttpProber, String> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("warroom/", env!("CARGO_PKG_VERSION"), " health-probe"))
            .build()
            .map_err(|e| format!("cannot build the HTTP client for health probes: {}", error_text(&e)))?;
        Ok(HttpProber { client, timeout })
    }

    /// The timeout of one probe.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// GET `url`: status and latency; on a non-2xx answer the first [`BODY_EXCERPT_BYTES`]
    /// bytes of the body (lossy UTF-8); on no answer the reason.
    pub async fn probe(&self, url: &str) -> Probe {
        let start = Instant::now();
        let outcome = tokio::time::timeout(self.timeout, self.fetch(url)).await;
        let latency_ms = u32::try_from(start.elapsed().as_millis()).unwrap_or(u32::MAX);
        match outcome {
            Ok(Ok((status, excerpt))) => Probe { status: Some(status), latency_ms, error: excerpt },
            Ok(Err(error)) => Probe { status: None, latency_ms, error: Some(error) },
            Err(_) => Probe {
                status: None,
                latency_ms,
                error: Some(format!("no answer within {} ms", self.timeout.as_millis())),
            },
        }
    }

    async fn fetch(&self, url: &str) -> Result<(u16, Option<String>), String> {
        let mut resp = self.client.get(url).send().await.map_err(|e| self.describe(&e))?;
        let status = resp.status();
        if status.is_success() {
            return Ok((status.as_u16(), None));
        }
        let mut body = Vec::with_capacity(BODY_EXCERPT_BYTES);
        while body.len() < BODY_EXCERPT_BYTES {
            match resp.chunk().await {
                Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                Ok(None) => break,
                Err(e) => {
                    if body.is_empty() {
                        return Ok((
                            status.as_u16(),
                            Some(format!("HTTP {status}; body: {}", self.describe(&e))),
                        ));
                    }
                    break;
                }
            }
        }
        body.truncate(BODY_EXCERPT_BYTES);
        let text = String::from_utf8_lossy(&body);
        let excerpt = if text.trim().is_empty() {
            format!("HTTP {status} (empty body)")
        } else {
            format!("HTTP {status}: {}", text.trim())
        };
        Ok((status.as_u16(), Some(excerpt)))
    }

    fn describe(&self, err: &reqwest::Error) -> String {
        if err.is_timeout() {
            return format!("no answer within {} ms", self.timeout.as_millis());
        }
        error_text(err)
    }
}

/// A short reason for a failed request, from the deepest cause (I/O kinds named plainly),
/// without the URL.
pub fn error_text(err: &reqwest::Error) -> String {
    // The top-level message names the URL: only causes below it are quoted.
    let mut source = std::error::Error::source(err);
    let mut deepest: Option<String> = None;
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => return "connection refused".into(),
                std::io::ErrorKind::ConnectionReset => return "connection reset by peer".into(),
                std::io::ErrorKind::ConnectionAborted => return "connection aborted".into(),
                std::io::ErrorKind::TimedOut => return "timed out".into(),
                _ => {}
            }
        }
        deepest = Some(e.to_string());
        source = e.source();
    }
    let kind = if err.is_builder() {
        "invalid URL"
    } else if err.is_connect() {
        "cannot connect"
    } else if err.is_body() || err.is_decode() {
        "bad response body"
    } else if err.is_redirect() {
        "redirect error"
    } else {
        "request failed"
    };
    match deepest {
        Some(d) => format!("{kind}: {d}"),
        None => kind.to_string(),
    }
}
