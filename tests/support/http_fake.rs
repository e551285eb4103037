//! Small HTTP fakes on loopback: a server that answers through a handler (hyper), one that
//! accepts and never answers (a hang), one that resets every connection; and a fake of the
//! Route 53 XML API for what moto cannot show (PENDING changes, throttling, unhealthy checks).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

/// One received request.
#[derive(Debug, Clone)]
pub struct Seen {
    /// Method.
    pub method: String,
    /// Path and query.
    pub path: String,
    /// Body as text.
    pub body: String,
}

/// A canned answer.
#[derive(Debug, Clone)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Content type.
    pub content_type: &'static str,
    /// Body.
    pub body: Vec<u8>,
}

impl Reply {
    /// A reply with a text body.
    pub fn text(status: u16, body: impl Into<String>) -> Reply {
        Reply { status, content_type: "text/plain", body: body.into().into_bytes() }
    }

    /// A reply with raw body bytes (not necessarily UTF-8).
    pub fn bytes(status: u16, body: &[u8]) -> Reply {
        Reply { status, content_type: "application/octet-stream", body: body.to_vec() }
    }

    /// A reply with an XML body.
    pub fn xml(status: u16, body: impl Into<String>) -> Reply {
        Reply { status, content_type: "text/xml", body: body.into().into_bytes() }
    }
}

type Handler = Arc<dyn Fn(&Seen) -> Reply + Send + Sync>;

/// How a fake server treats connections.
#[derive(Clone)]
pub enum Mode {
    /// Answer each request through the handler.
    Answer(Handler),
    /// Accept, read the request, never answer.
    Hang,
    /// Accept, read the request, reset the connection (RST).
    Reset,
}

/// A fake server running on the current tokio runtime; stops when the runtime ends.
pub struct FakeServer {
    /// Bound address.
    pub addr: SocketAddr,
    /// Requests seen (answered mode) or connections accepted (hang / reset).
    pub hits: Arc<AtomicUsize>,
    /// Requests answered, in order.
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

impl FakeServer {
    /// Start a server on `127.0.0.1:0`.
    pub async fn start(mode: Mode) -> FakeServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let hits = Arc::new(AtomicUsize::new(0));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (h, s) = (hits.clone(), seen.clone());
        tokio::spawn(async move {
            let mut parked = Vec::new();
            loop {
                let Ok((mut stream, _)) = listener.accept().await else { return };
                match &mode {
                    Mode::Answer(handler) => {
                        let (handler, h, s) = (handler.clone(), h.clone(), s.clone());
                        tokio::spawn(async move {
                            let svc = service_fn(move |req: Request<hyper::body::Incoming>| {
                                let (handler, h, s) = (handler.clone(), h.clone(), s.clone());
                                async move {
                                    h.fetch_add(1, Ordering::SeqCst);
                                    let method = req.method().to_string();
                                    let path = req.uri().to_string();
                                    let body = req
                                        .into_body()
                                        .collect()
                                        .await
                                        .map(|b| b.to_bytes())
                                        .unwrap_or_default();
                                    let seen = Seen {
                                        method,
                                        path,
                                        body: String::from_utf8_lossy(&body).into_owned(),
                                    };
                                    let reply = handler(&seen);
                                    s.lock().unwrap().push(seen);
                                    let resp = Response::builder()
                                        .status(reply.status)
                                        .header("content-type", reply.content_type)
                                        .body(Full::new(Bytes::from(reply.body)))
                                        .expect("response");
                                    Ok::<_, Infallible>(resp)
                                }
                            });
                            let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), svc).await;
                        });
                    }
                    Mode::Hang => {
                        h.fetch_add(1, Ordering::SeqCst);
                        let mut buf = [0u8; 4096];
                        let _ = stream.read(&mut buf).await;
                        parked.push(stream); // kept open, never answered
                    }
                    Mode::Reset => {
                        h.fetch_add(1, Ordering::SeqCst);
                        let mut buf = [0u8; 4096];
                        let _ = stream.read(&mut buf).await;
                        // Linger 0 makes the close an RST instead of a FIN.
                        let _ = stream.set_zero_linger();
                        drop(stream);
                    }
                }
            }
        });
        FakeServer { addr, hits, seen }
    }

    /// `http://addr` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }
}

// ---------------------------------------------------------------- Route 53 XML API

const NS: &str = "https://route53.amazonaws.com/doc/2013-04-01/";

/// One weighted record set held by the fake.
#[derive(Debug, Clone)]
pub struct FakeRecord {
    /// SetIdentifier.
    pub ident: String,
    /// Weight.
    pub weight: i64,
    /// TTL.
    pub ttl: i64,
    /// Value.
    pub value: String,
    /// Health check id.
    pub health_check: Option<String>,
}

/// Scripted behaviour of the fake Route 53.
#[derive(Debug, Default)]
pub struct FakeRoute53State {
    /// Record name (with trailing dot).
    pub record: String,
    /// Record sets.
    pub records: Vec<FakeRecord>,
    /// `ChangeResourceRecordSets` calls still to refuse with `Throttling`.
    pub throttle_changes: usize,
    /// Error code of those refusals instead of `Throttling` (e.g. `PriorRequestNotComplete`).
    pub throttle_code: Option<&'static str>,
    /// `GetChange` polls that answer PENDING before INSYNC (`usize::MAX`: stuck forever).
    pub pending_polls: usize,
    /// `GetChange` calls so far.
    pub get_change_calls: usize,
    /// `ChangeResourceRecordSets` calls so far (including throttled ones).
    pub change_calls: usize,
    /// Health check id -> checker statuses (`Success: ...` / `Failure: ...`).
    pub health: BTreeMap<String, Vec<String>>,
}

/// Start a fake Route 53 serving `state`.
pub async fn fake_route53(state: Arc<Mutex<FakeRoute53State>>) -> FakeServer {
    let handler: Handler = Arc::new(move |req: &Seen| route53_reply(&mut state.lock().unwrap(), req));
    FakeServer::start(Mode::Answer(handler)).await
}

fn route53_reply(st: &mut FakeRoute53State, req: &Seen) -> Reply {
    let path = req.path.split('?').next().unwrap_or_default();
    if req.method == "GET" && path.ends_with("/rrset") {
        return Reply::xml(200, list_xml(st));
    }
    if req.method == "POST" && path.contains("/rrset") {
        st.change_calls += 1;
        if st.throttle_changes > 0 {
            st.throttle_changes -= 1;
            return match st.throttle_code {
                Some(code @ "PriorRequestNotComplete") => error_xml(
                    400,
                    code,
                    "The request was rejected because Route 53 was still processing a prior request.",
                ),
                Some(code) => error_xml(400, code, "Rate exceeded"),
                None => error_xml(400, "Throttling", "Rate exceeded"),
            };
        }
        apply_upserts(st, &req.body);
        let status = if st.pending_polls == 0 { "INSYNC" } else { "PENDING" };
        return Reply::xml(200, change_xml("ChangeResourceRecordSetsResponse", status));
    }
    if req.method == "GET" && path.contains("/change/") {
        st.get_change_calls += 1;
        let status = if st.get_change_calls > st.pending_polls { "INSYNC" } else { "PENDING" };
        return Reply::xml(200, change_xml("GetChangeResponse", status));
    }
    if req.method == "GET" && path.ends_with("/status") && path.contains("/healthcheck/") {
        let id = path.trim_end_matches("/status").rsplit('/').next().unwrap_or_default();
        return match st.health.get(id) {
            Some(statuses) => Reply::xml(200, health_xml(statuses)),
            None => {
                error_xml(404, "NoSuchHealthCheck", &format!("A health check with id {id} does not exist."))
            }
        };
    }
    error_xml(400, "InvalidInput", &format!("fake does not implement {} {path}", req.method))
}

fn list_xml(st: &FakeRoute53State) -> String {
    let sets: String = st
        .records
        .iter()
        .map(|r| {
            format!(
                "<ResourceRecordSet><Name>{}</Name><Type>A</Type><SetIdentifier>{}</SetIdentifier>\
                 <Weight>{}</Weight><TTL>{}</TTL><ResourceRecords><ResourceRecord><Value>{}</Value>\
                 </ResourceRecord></ResourceRecords>{}</ResourceRecordSet>",
                st.record,
                r.ident,
                r.weight,
                r.ttl,
                r.value,
                r.health_check
                    .as_ref()
                    .map(|h| format!("<HealthCheckId>{h}</HealthCheckId>"))
                    .unwrap_or_default()
            )
        })
        .collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListResourceRecordSetsResponse xmlns=\"{NS}\">\
         <ResourceRecordSets>{sets}</ResourceRecordSets><IsTruncated>false</IsTruncated>\
         <MaxItems>300</MaxItems></ListResourceRecordSetsResponse>"
    )
}

fn change_xml(root: &str, status: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><{root} xmlns=\"{NS}\"><ChangeInfo><Id>/change/CFAKE1</Id>\
         <Status>{status}</Status><SubmittedAt>2026-01-01T00:00:00.000Z</SubmittedAt></ChangeInfo></{root}>"
    )
}

fn health_xml(statuses: &[String]) -> String {
    let obs: String = statuses
        .iter()
        .enumerate()
        .map(|(i, s)| {
            format!(
                "<HealthCheckObservation><Region>us-east-1</Region><IPAddress>192.0.2.{}</IPAddress>\
                 <StatusReport><Status>{s}</Status><CheckedTime>2026-01-01T00:00:00.000Z</CheckedTime>\
                 </StatusReport></HealthCheckObservation>",
                i + 1
            )
        })
        .collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><GetHealthCheckStatusResponse xmlns=\"{NS}\">\
         <HealthCheckObservations>{obs}</HealthCheckObservations></GetHealthCheckStatusResponse>"
    )
}

fn error_xml(status: u16, code: &str, message: &str) -> Reply {
    Reply::xml(
        status,
        format!(
            "<?xml version=\"1.0\"?><ErrorResponse xmlns=\"{NS}\"><Error><Type>Sender</Type>\
             <Code>{code}</Code><Message>{message}</Message></Error><RequestId>fake</RequestId></ErrorResponse>"
        ),
    )
}

/// Text between `<tag>` and `</tag>` in `s`, first occurrence.
pub fn tag<'a>(s: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let start = s.find(&open)? + open.len();
    let end = s[start..].find(&format!("</{tag}>"))? + start;
    Some(&s[start..end])
}

fn apply_upserts(st: &mut FakeRoute53State, body: &str) {
    for change in body.split("<Change>").skip(1) {
        let (Some(ident), Some(weight)) = (tag(change, "SetIdentifier"), tag(change, "Weight")) else {
            continue;
        };
        if let Some(r) = st.records.iter_mut().find(|r| r.ident == ident) {
            r.weight = weight.parse().unwrap_or(r.weight);
        }
    }
}
