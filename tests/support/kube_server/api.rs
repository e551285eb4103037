//! The HTTP surface: routing, discovery, LIST/GET/POST/PUT/PATCH/DELETE, the scale
//! subresource and WATCH (newline-delimited events, resumable, BOOKMARKs, `timeoutSeconds`).
//! Pod exec (WebSocket) is in [`super::exec`].

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};

use super::patch::PatchKind;
use super::resources::{self, ResourceType};
use super::selector::{FieldSelector, LabelSelector};
use super::store::{ApiError, Store, WatchFilter};

/// State shared by every request of one server.
pub struct Shared {
    /// The objects.
    pub store: Mutex<Store>,
    /// Bumped by `compact()`: open watches end with a 410 ERROR event.
    pub expire: tokio::sync::watch::Sender<u64>,
    /// How often watches that asked for them get BOOKMARK events.
    pub bookmark_every: Duration,
    /// `host:port` the server listens on.
    pub addr: String,
    /// Pod exec handlers and the execs seen.
    pub execs: super::exec::ExecRegistry,
}

impl Shared {
    /// Lock the store (a poisoned lock only means a test panicked elsewhere).
    pub fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn json_response(code: u16, v: &Value) -> Response {
    let code = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (code, [(header::CONTENT_TYPE, "application/json")], v.to_string()).into_response()
}

fn error(e: &ApiError) -> Response {
    json_response(e.code, &e.status())
}

fn ok(v: Result<Value, ApiError>) -> Response {
    match v {
        Ok(v) => json_response(200, &v),
        Err(e) => error(&e),
    }
}

/// The single handler behind every path.
pub async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let query: HashMap<String, String> = Query::try_from_uri(&uri).map(|q| q.0).unwrap_or_default();
    shared.store().requests.push(format!("{method} {}", uri.path_and_query().map_or("", |p| p.as_str())));
    let segs: Vec<&str> = uri.path().split('/').filter(|s| !s.is_empty()).collect();
    let not_found = || {
        error(&ApiError::new(
            404,
            "NotFound",
            format!("the server could not find the requested resource ({})", uri.path()),
        ))
    };
    let (group, version, rest): (&str, &str, &[&str]) = match segs.as_slice() {
        ["version"] => return json_response(200, &resources::version()),
        // No RBAC here (as `--authorization-mode=AlwaysAllow`): every access review is allowed,
        // and the user is the one the kubeconfig's token names. RBAC is tested on the real
        // API server (tests/kube_rbac.rs).
        ["apis", "authorization.k8s.io", "v1", "selfsubjectaccessreviews"] if method == Method::POST => {
            let mut review = serde_json::from_slice::<Value>(&body).unwrap_or_default();
            review["status"] =
                serde_json::json!({ "allowed": true, "reason": "the test server has no RBAC" });
            return json_response(201, &review);
        }
        ["apis", "authentication.k8s.io", "v1", "selfsubjectreviews"] if method == Method::POST => {
            let user = serde_json::json!({ "username": "kube-test-server-user", "groups": ["system:authenticated"] });
            let review = serde_json::json!({
                "apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview",
                "metadata": {}, "status": { "userInfo": user },
            });
            return json_response(201, &review);
        }
        ["api"] => return json_response(200, &resources::core_versions(&shared.addr)),
        ["apis"] => return json_response(200, &resources::group_list()),
        ["apis", g] => return resources::group(g).map_or_else(not_found, |v| json_response(200, &v)),
        ["api", v] => {
            return resources::resource_list("", v).map_or_else(not_found, |v| json_response(200, &v));
        }
        ["apis", g, v] => {
            return resources::resource_list(g, v).map_or_else(not_found, |v| json_response(200, &v));
        }
        ["api", v, rest @ ..] => ("", *v, rest),
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        _ => return not_found(),
    };
    let (ns, plural, name, sub) = match rest {
        ["namespaces", ns, plural, tail @ ..] if tail.len() <= 2 => {
            (*ns, *plural, tail.first().copied(), tail.get(1).copied())
        }
        [plural] => ("", *plural, None, None),
        [plural, name] => ("", *plural, Some(*name), None),
        _ => return not_found(),
    };
    let Some(rt) = resources::find(group, version, plural) else { return not_found() };
    match (name, sub) {
        (None, _) => collection(&shared, rt, ns, &method, &query, &body).await,
        (Some(name), None | Some("status")) => object(&shared, rt, ns, name, &method, &headers, &body),
        (Some(name), Some("scale")) if rt.kind == "Deployment" => {
            scale(&shared, ns, name, &method, &headers, &body)
        }
        _ => not_found(),
    }
}

fn parse_body(body: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::new(400, "BadRequest", format!("invalid JSON body: {e}")))
}

async fn collection(
    shared: &Arc<Shared>,
    rt: &'static ResourceType,
    ns: &str,
    method: &Method,
    query: &HashMap<String, String>,
    body: &[u8],
) -> Response {
    if *method == Method::POST {
        if rt.namespaced && ns.is_empty() {
            return error(&ApiError::new(405, "MethodNotAllowed", "POST needs a namespace"));
        }
        return match parse_body(body).and_then(|b| shared.store().create(rt, ns, b)) {
            Ok(v) => json_response(201, &v),
            Err(e) => error(&e),
        };
    }
    if *method != Method::GET {
        return error(&ApiError::new(
            405,
            "MethodNotAllowed",
            format!("{method} is not supported on a collection"),
        ));
    }
    let labels = match LabelSelector::parse(query.get("labelSelector").map_or("", |s| s)) {
        Ok(s) => s,
        Err(m) => return error(&ApiError::new(400, "BadRequest", m)),
    };
    let fields = match FieldSelector::parse(query.get("fieldSelector").map_or("", |s| s)) {
        Ok(s) => s,
        Err(m) => return error(&ApiError::new(400, "BadRequest", m)),
    };
    let filter = WatchFilter { rt, namespace: (!ns.is_empty()).then(|| ns.to_string()), labels, fields };
    if query.get("watch").is_some_and(|w| w == "true" || w == "1") {
        return watch(shared, filter, query);
    }
    let store = shared.store();
    let mut items = store.list(&filter);
    let rv = store.rv();
    drop(store);
    // Pagination: continue = "<rv>:<offset>".
    let offset = query
        .get("continue")
        .and_then(|c| c.split_once(':'))
        .and_then(|(_, o)| o.parse::<usize>().ok())
        .unwrap_or(0);
    let limit = query.get("limit").and_then(|l| l.parse::<usize>().ok()).filter(|l| *l > 0);
    let total = items.len();
    items = items.into_iter().skip(offset).take(limit.unwrap_or(usize::MAX)).collect();
    let next = offset + items.len();
    let mut meta = json!({ "resourceVersion": rv.to_string() });
    if next < total {
        meta["continue"] = json!(format!("{rv}:{next}"));
        meta["remainingItemCount"] = json!(total - next);
    }
    json_response(
        200,
        &json!({ "apiVersion": rt.api_version(), "kind": format!("{}List", rt.kind), "metadata": meta, "items": items }),
    )
}

fn object(
    shared: &Arc<Shared>,
    rt: &'static ResourceType,
    ns: &str,
    name: &str,
    method: &Method,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    match *method {
        Method::GET => ok(shared.store().get(rt, ns, name)),
        Method::PUT => ok(parse_body(body).and_then(|b| shared.store().replace(rt, ns, name, b))),
        Method::DELETE => ok(shared.store().delete(rt, ns, name)),
        Method::PATCH => match patch_kind(headers) {
            Ok(kind) => ok(shared.store().patch(rt, ns, name, kind, body)),
            Err(e) => error(&e),
        },
        _ => error(&ApiError::new(405, "MethodNotAllowed", format!("{method} is not supported"))),
    }
}

fn patch_kind(headers: &HeaderMap) -> Result<PatchKind, ApiError> {
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    PatchKind::from_content_type(ct)
        .ok_or_else(|| ApiError::new(415, "UnsupportedMediaType", format!("the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json (got {ct:?})")))
}

fn scale(
    shared: &Arc<Shared>,
    ns: &str,
    name: &str,
    method: &Method,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let mut store = shared.store();
    match *method {
        Method::GET => ok(store.scale(ns, name)),
        Method::PUT => ok(parse_body(body).and_then(|b| store.set_scale(ns, name, &b))),
        Method::PATCH => {
            let result = patch_kind(headers).and_then(|kind| {
                let mut doc = store.scale(ns, name)?;
                super::patch::apply(kind, &mut doc, body).map_err(|m| ApiError::new(422, "Invalid", m))?;
                store.set_scale(ns, name, &doc)
            });
            ok(result)
        }
        _ => error(&ApiError::new(405, "MethodNotAllowed", format!("{method} is not supported on scale"))),
    }
}

fn line(kind: &str, object: &Value) -> Bytes {
    let mut s = json!({ "type": kind, "object": object }).to_string();
    s.push('\n');
    Bytes::from(s)
}

fn watch(shared: &Arc<Shared>, filter: WatchFilter, query: &HashMap<String, String>) -> Response {
    let since = match query.get("resourceVersion").map(String::as_str) {
        None | Some("") | Some("0") => None,
        Some(rv) => match rv.parse::<u64>() {
            Ok(v) => Some(v),
            Err(_) => {
                return error(&ApiError::new(400, "BadRequest", format!("invalid resourceVersion {rv:?}")));
            }
        },
    };
    let bookmarks = query.get("allowWatchBookmarks").is_some_and(|b| b == "true" || b == "1");
    let timeout = query.get("timeoutSeconds").and_then(|t| t.parse::<u64>().ok()).map(Duration::from_secs);
    let (tx, rx) = mpsc::channel::<Result<Bytes, Infallible>>(1024);
    let subscribed = shared.store().subscribe(&filter, since);
    let mut expire = shared.expire.subscribe();
    expire.mark_unchanged();
    let every = shared.bookmark_every;
    let shared = shared.clone();
    tokio::spawn(async move {
        let (replay, mut events, mut last_rv) = match subscribed {
            Ok(s) => s,
            Err(e) => {
                // Like the API server: 200, then one ERROR event carrying the 410 Status.
                let _ = tx.send(Ok(line("ERROR", &e.status()))).await;
                return;
            }
        };
        for (kind, obj) in replay {
            if tx.send(Ok(line(kind, &obj))).await.is_err() {
                return;
            }
        }
        let deadline = tokio::time::sleep(timeout.unwrap_or(Duration::from_secs(3600)));
        tokio::pin!(deadline);
        let mut tick = tokio::time::interval(every);
        tick.tick().await;
        loop {
            tokio::select! {
                ev = events.recv() => match ev {
                    Ok(change) => {
                        let event = filter.classify(&change);
                        {
                            let mut s = shared.store();
                            if s.watches_frozen {
                                if let Some((kind, obj)) = &event {
                                    let name = obj.pointer("/metadata/name").and_then(Value::as_str);
                                    s.withheld.push(format!("{kind} {}", name.unwrap_or_default()));
                                }
                                continue;
                            }
                        }
                        last_rv = change.rv;
                        if let Some((kind, obj)) = event
                            && tx.send(Ok(line(kind, &obj))).await.is_err()
                        {
                            return;
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) | Err(broadcast::error::RecvError::Closed) => return,
                },
                _ = tick.tick(), if bookmarks => {
                    let bm = json!({ "kind": filter.rt.kind, "apiVersion": filter.rt.api_version(),
                                     "metadata": { "resourceVersion": last_rv.to_string() } });
                    if tx.send(Ok(line("BOOKMARK", &bm))).await.is_err() {
                        return;
                    }
                }
                _ = expire.changed() => {
                    let e = ApiError::new(410, "Expired", format!("too old resource version: {last_rv}"));
                    let _ = tx.send(Ok(line("ERROR", &e.status()))).await;
                    return;
                }
                _ = &mut deadline => return,
                _ = tx.closed() => return,
            }
        }
    });
    let stream = tokio_stream::wrappers::ReceiverStream::new(rx);
    Response::builder()
        .status(200)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(stream))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}
