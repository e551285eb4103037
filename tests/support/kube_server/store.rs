//! The in-memory object store: one resourceVersion counter bumped on every write, a change
//! history that watches resume from (until [`Store::compact`]), and two tiny controllers: the
//! endpoints controller (Endpoints and an EndpointSlice follow the pods matching each Service's
//! selector) and a deployment controller (status follows `spec.replicas` when enabled).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Value, json};
use tokio::sync::broadcast;

use super::patch::{self, PatchKind};
use super::resources::{self, ResourceType};
use super::selector::{FieldSelector, LabelSelector};
use super::slices;

/// An API error, rendered as a `Status` object.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// HTTP code.
    pub code: u16,
    /// `reason`: NotFound, Conflict, AlreadyExists, Invalid, Expired, BadRequest...
    pub reason: &'static str,
    /// Human message.
    pub message: String,
}

impl ApiError {
    /// A new error.
    pub fn new(code: u16, reason: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { code, reason, message: message.into() }
    }

    fn not_found(rt: &ResourceType, name: &str) -> ApiError {
        ApiError::new(404, "NotFound", format!("{} \"{name}\" not found", rt.qualified()))
    }

    /// The `Status` body.
    pub fn status(&self) -> Value {
        json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": self.message, "reason": self.reason, "code": self.code
        })
    }
}

/// One write, as watches replay it.
#[derive(Debug)]
pub struct Change {
    /// resourceVersion of this write.
    pub rv: u64,
    /// Plural of the resource type.
    pub plural: &'static str,
    /// Namespace (empty for cluster-scoped).
    pub namespace: String,
    /// Object before the write.
    pub old: Option<Value>,
    /// Object after the write (`None`: deleted).
    pub new: Option<Value>,
}

/// What a watch is interested in.
#[derive(Debug, Clone)]
pub struct WatchFilter {
    /// Resource type.
    pub rt: &'static ResourceType,
    /// Namespace, or all.
    pub namespace: Option<String>,
    /// Label selector.
    pub labels: LabelSelector,
    /// Field selector.
    pub fields: FieldSelector,
}

impl WatchFilter {
    fn matches(&self, ns: &str, obj: &Value) -> bool {
        self.namespace.as_deref().is_none_or(|n| n == ns)
            && self.labels.matches(obj)
            && self.fields.matches(obj)
    }

    /// The watch event (type, object) this change yields for this filter, if any.
    pub fn classify(&self, c: &Change) -> Option<(&'static str, Value)> {
        if c.plural != self.rt.plural {
            return None;
        }
        let old = c.old.as_ref().filter(|o| self.matches(&c.namespace, o));
        let new = c.new.as_ref().filter(|o| self.matches(&c.namespace, o));
        match (old, new) {
            (None, Some(n)) => Some(("ADDED", n.clone())),
            (Some(_), Some(n)) => Some(("MODIFIED", n.clone())),
            (Some(_), None) => {
                // Deleted, or no longer matching: the object as of this change.
                let mut o = c.new.clone().or_else(|| c.old.clone())?;
                o["metadata"]["resourceVersion"] = json!(c.rv.to_string());
                Some(("DELETED", o))
            }
            (None, None) => None,
        }
    }
}

type Key = (&'static str, String, String);

/// The store.
pub struct Store {
    rv: u64,
    compacted_at: u64,
    objects: BTreeMap<Key, Value>,
    history: Vec<Arc<Change>>,
    tx: broadcast::Sender<Arc<Change>>,
    uid: u64,
    next_ip: u32,
    /// When true, deployments' status follows `spec.replicas` at once.
    pub deployment_controller: bool,
    /// When true, open watches stop receiving events (a stuck watch).
    pub watches_frozen: bool,
    /// Events a frozen watch withheld, as `TYPE name` (`DELETED api-1`), one per watch.
    pub withheld: Vec<String>,
    /// Every request seen, as `METHOD path?query`.
    pub requests: Vec<String>,
}

fn name_of(obj: &Value) -> &str {
    obj.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default()
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
}

fn now_text() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

impl Store {
    /// An empty store.
    pub fn new() -> Store {
        let (tx, _) = broadcast::channel(16_384);
        Store {
            rv: 1,
            compacted_at: 0,
            objects: BTreeMap::new(),
            history: Vec::new(),
            tx,
            uid: 0,
            next_ip: 1,
            deployment_controller: true,
            watches_frozen: false,
            withheld: Vec::new(),
            requests: Vec::new(),
        }
    }

    /// Current resourceVersion.
    pub fn rv(&self) -> u64 {
        self.rv
    }

    /// Forget all history: watches resuming from any older resourceVersion get 410.
    pub fn compact(&mut self) {
        self.compacted_at = self.rv;
        self.history.clear();
    }

    fn key(rt: &'static ResourceType, ns: &str, name: &str) -> Key {
        (rt.plural, if rt.namespaced { ns.to_string() } else { String::new() }, name.to_string())
    }

    /// Record a write: bump the resourceVersion, keep the change, tell watches.
    fn write(
        &mut self,
        rt: &'static ResourceType,
        ns: &str,
        name: &str,
        new: Option<Value>,
    ) -> Option<Value> {
        self.rv += 1;
        let key = Store::key(rt, ns, name);
        let new = new.map(|mut o| {
            o["metadata"]["resourceVersion"] = json!(self.rv.to_string());
            o
        });
        let old = match &new {
            Some(o) => self.objects.insert(key.clone(), o.clone()),
            None => self.objects.remove(&key),
        };
        let change = Arc::new(Change {
            rv: self.rv,
            plural: rt.plural,
            namespace: key.1.clone(),
            old,
            new: new.clone(),
        });
        self.history.push(change.clone());
        let _ = self.tx.send(change);
        new
    }

    /// Subscribe a watch: the events to replay since `since` (or synthetic ADDED for every
    /// current object when `since` is `None`), a receiver for what follows, and the
    /// resourceVersion the replay ends at. `Err` when `since` is older than the last compaction.
    #[allow(clippy::type_complexity)]
    pub fn subscribe(
        &self,
        f: &WatchFilter,
        since: Option<u64>,
    ) -> Result<(Vec<(&'static str, Value)>, broadcast::Receiver<Arc<Change>>, u64), ApiError> {
        let rx = self.tx.subscribe();
        let replay = match since {
            None => self.list(f).into_iter().map(|o| ("ADDED", o)).collect(),
            Some(rv) if rv < self.compacted_at => {
                return Err(ApiError::new(
                    410,
                    "Expired",
                    format!("too old resource version: {rv} ({})", self.compacted_at),
                ));
            }
            Some(rv) => self.history.iter().filter(|c| c.rv > rv).filter_map(|c| f.classify(c)).collect(),
        };
        Ok((replay, rx, self.rv))
    }

    /// Objects matching a filter, sorted by namespace and name.
    pub fn list(&self, f: &WatchFilter) -> Vec<Value> {
        self.objects
            .iter()
            .filter(|((p, ns, _), o)| *p == f.rt.plural && f.matches(ns, o))
            .map(|(_, o)| o.clone())
            .collect()
    }

    /// GET one object.
    pub fn get(&self, rt: &'static ResourceType, ns: &str, name: &str) -> Result<Value, ApiError> {
        self.objects.get(&Store::key(rt, ns, name)).cloned().ok_or_else(|| ApiError::not_found(rt, name))
    }

    /// POST: create an object (fills metadata, generateName, defaults).
    pub fn create(&mut self, rt: &'static ResourceType, ns: &str, mut obj: Value) -> Result<Value, ApiError> {
        if !obj.is_object() {
            return Err(ApiError::new(400, "BadRequest", "body must be a JSON object"));
        }
        if obj.pointer("/metadata/name").and_then(Value::as_str).is_none_or(str::is_empty) {
            match obj.pointer("/metadata/generateName").and_then(Value::as_str) {
                Some(prefix) => obj["metadata"]["name"] = json!(format!("{prefix}{:05x}", self.uid + 1)),
                None => {
                    return Err(ApiError::new(
                        422,
                        "Invalid",
                        format!(
                            "{} \"\" is invalid: metadata.name: Required value: name or generateName is required",
                            rt.kind
                        ),
                    ));
                }
            }
        }
        let name = name_of(&obj).to_string();
        self.validate(rt, &name, &obj)?;
        if self.objects.contains_key(&Store::key(rt, ns, &name)) {
            return Err(ApiError::new(
                409,
                "AlreadyExists",
                format!("{} \"{name}\" already exists", rt.qualified()),
            ));
        }
        self.uid += 1;
        obj["apiVersion"] = json!(rt.api_version());
        obj["kind"] = json!(rt.kind);
        let meta = &mut obj["metadata"];
        if rt.namespaced {
            meta["namespace"] = json!(ns);
        }
        meta["uid"] = json!(format!("00000000-0000-4000-8000-{:012x}", self.uid));
        meta["creationTimestamp"] = json!(now_text());
        meta["generation"] = json!(1);
        if rt.kind == "Pod" {
            if obj.pointer("/status/phase").is_none() {
                obj["status"]["phase"] = json!("Pending");
            }
            if obj.pointer("/status/podIP").is_none() {
                obj["status"]["podIP"] =
                    json!(format!("10.0.{}.{}", self.next_ip / 250, self.next_ip % 250 + 1));
                self.next_ip += 1;
            }
        }
        let out = self.write(rt, ns, &name, Some(obj)).expect("written");
        self.reconcile(rt, ns, &name);
        self.get(rt, ns, &name).or(Ok(out))
    }

    fn validate(&self, rt: &ResourceType, name: &str, obj: &Value) -> Result<(), ApiError> {
        let invalid = |what: String| {
            ApiError::new(422, "Invalid", format!("{} \"{name}\" is invalid: {what}", rt.kind))
        };
        if !valid_name(name) {
            return Err(invalid(format!(
                "metadata.name: Invalid value: \"{name}\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'"
            )));
        }
        if let Some(r) = obj.pointer("/spec/replicas")
            && r.as_i64().is_none_or(|r| r < 0)
        {
            return Err(invalid(format!(
                "spec.replicas: Invalid value: {r}: must be greater than or equal to 0"
            )));
        }
        Ok(())
    }

    /// PUT: replace an object; 409 when its resourceVersion is stale.
    pub fn replace(
        &mut self,
        rt: &'static ResourceType,
        ns: &str,
        name: &str,
        mut obj: Value,
    ) -> Result<Value, ApiError> {
        let current = self.get(rt, ns, name)?;
        if name_of(&obj) != name {
            return Err(ApiError::new(
                400,
                "BadRequest",
                "the name of the object does not match the name on the URL",
            ));
        }
        let sent_rv = obj.pointer("/metadata/resourceVersion").and_then(Value::as_str).unwrap_or_default();
        let cur_rv = current.pointer("/metadata/resourceVersion").and_then(Value::as_str).unwrap_or_default();
        if !sent_rv.is_empty() && sent_rv != cur_rv {
            return Err(conflict(rt, name));
        }
        self.validate(rt, name, &obj)?;
        for k in ["uid", "creationTimestamp", "namespace", "generation"] {
            obj["metadata"][k] = current["metadata"][k].clone();
        }
        obj["apiVersion"] = json!(rt.api_version());
        obj["kind"] = json!(rt.kind);
        self.commit_update(rt, ns, name, &current, obj)
    }

    /// PATCH by kind.
    pub fn patch(
        &mut self,
        rt: &'static ResourceType,
        ns: &str,
        name: &str,
        kind: PatchKind,
        body: &[u8],
    ) -> Result<Value, ApiError> {
        let current = self.get(rt, ns, name)?;
        let mut doc = current.clone();
        patch::apply(kind, &mut doc, body).map_err(|m| ApiError::new(422, "Invalid", m))?;
        let sent_rv = doc.pointer("/metadata/resourceVersion").and_then(Value::as_str).unwrap_or_default();
        let cur_rv = current.pointer("/metadata/resourceVersion").and_then(Value::as_str).unwrap_or_default();
        if sent_rv != cur_rv {
            return Err(conflict(rt, name));
        }
        for k in ["name", "uid", "creationTimestamp", "namespace", "generation"] {
            doc["metadata"][k] = current["metadata"][k].clone();
        }
        self.validate(rt, name, &doc)?;
        self.commit_update(rt, ns, name, &current, doc)
    }

    fn commit_update(
        &mut self,
        rt: &'static ResourceType,
        ns: &str,
        name: &str,
        current: &Value,
        mut obj: Value,
    ) -> Result<Value, ApiError> {
        if obj.get("spec") != current.get("spec") {
            let g = current.pointer("/metadata/generation").and_then(Value::as_i64).unwrap_or(1);
            obj["metadata"]["generation"] = json!(g + 1);
        }
        if obj == *current {
            return Ok(obj); // no-op writes do not bump the resourceVersion
        }
        self.write(rt, ns, name, Some(obj));
        self.reconcile(rt, ns, name);
        self.get(rt, ns, name)
    }

    /// DELETE: remove at once; returns the object as it was.
    pub fn delete(&mut self, rt: &'static ResourceType, ns: &str, name: &str) -> Result<Value, ApiError> {
        let current = self.get(rt, ns, name)?;
        self.write(rt, ns, name, None);
        if rt.kind == "Service" {
            let ep = resources::by_kind("Endpoints");
            if self.objects.contains_key(&Store::key(ep, ns, name)) {
                self.write(ep, ns, name, None);
            }
            let es = resources::by_kind("EndpointSlice");
            let slice = slices::slice_name(name);
            if self.objects.contains_key(&Store::key(es, ns, &slice)) {
                self.write(es, ns, &slice, None);
            }
        }
        self.reconcile(rt, ns, name);
        Ok(current)
    }

    /// The `autoscaling/v1` Scale of a deployment.
    pub fn scale(&self, ns: &str, name: &str) -> Result<Value, ApiError> {
        let d = self.get(resources::by_kind("Deployment"), ns, name)?;
        let selector = d
            .pointer("/spec/selector/matchLabels")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .unwrap_or_default();
        Ok(json!({
            "kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {
                "name": name, "namespace": ns, "uid": d["metadata"]["uid"],
                "resourceVersion": d["metadata"]["resourceVersion"],
                "creationTimestamp": d["metadata"]["creationTimestamp"]
            },
            "spec": { "replicas": d.pointer("/spec/replicas").cloned().unwrap_or(json!(1)) },
            "status": { "replicas": d.pointer("/status/replicas").cloned().unwrap_or(json!(0)), "selector": selector }
        }))
    }

    /// Set a deployment's replicas from a new Scale (PUT or the result of a PATCH).
    pub fn set_scale(&mut self, ns: &str, name: &str, scale: &Value) -> Result<Value, ApiError> {
        let rt = resources::by_kind("Deployment");
        let current = self.scale(ns, name)?;
        let sent_rv = scale.pointer("/metadata/resourceVersion").and_then(Value::as_str).unwrap_or_default();
        if !sent_rv.is_empty()
            && Some(sent_rv) != current.pointer("/metadata/resourceVersion").and_then(Value::as_str)
        {
            return Err(conflict(rt, name));
        }
        let replicas = scale.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(-1);
        if replicas < 0 {
            return Err(ApiError::new(
                422,
                "Invalid",
                format!(
                    "Scale \"{name}\" is invalid: spec.replicas: Invalid value: {}: must be greater than or equal to 0",
                    scale.pointer("/spec/replicas").cloned().unwrap_or(Value::Null)
                ),
            ));
        }
        let mut d = self.get(rt, ns, name)?;
        d["spec"]["replicas"] = json!(replicas);
        let cur = self.get(rt, ns, name)?;
        self.commit_update(rt, ns, name, &cur, d)?;
        self.scale(ns, name)
    }

    /// Run the controllers after a write of `rt` in `ns`.
    fn reconcile(&mut self, rt: &'static ResourceType, ns: &str, name: &str) {
        match rt.kind {
            "Pod" | "Service" => self.reconcile_endpoints(ns),
            "Deployment" if self.deployment_controller => {
                if let Ok(mut d) = self.get(rt, ns, name) {
                    if d.pointer("/status/observedGeneration") == d.pointer("/metadata/generation") {
                        return; // status already reflects this spec
                    }
                    let want = d.pointer("/spec/replicas").cloned().unwrap_or(json!(1));
                    let gen_ = d["metadata"]["generation"].clone();
                    let before = d.get("status").cloned();
                    for k in ["replicas", "readyReplicas", "availableReplicas", "updatedReplicas"] {
                        d["status"][k] = want.clone();
                    }
                    d["status"]["observedGeneration"] = gen_;
                    if d.get("status") != before.as_ref() {
                        self.write(rt, ns, name, Some(d));
                    }
                }
            }
            _ => {}
        }
    }

    fn pod_ready(p: &Value) -> bool {
        p.pointer("/metadata/deletionTimestamp").is_none()
            && p.pointer("/status/podIP").is_some()
            && p.pointer("/status/conditions")
                .and_then(Value::as_array)
                .is_some_and(|cs| cs.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"))
    }

    /// The endpoints controller: every Service with a selector gets Endpoints listing the
    /// ready (and not-ready) pods it selects. Writes only when something changed.
    fn reconcile_endpoints(&mut self, ns: &str) {
        let svc_rt = resources::by_kind("Service");
        let ep_rt = resources::by_kind("Endpoints");
        let pod_rt = resources::by_kind("Pod");
        let services: Vec<Value> = self
            .objects
            .iter()
            .filter(|((p, n, _), _)| *p == svc_rt.plural && n == ns)
            .map(|(_, o)| o.clone())
            .collect();
        for svc in services {
            let Some(sel) =
                svc.pointer("/spec/selector").and_then(Value::as_object).filter(|m| !m.is_empty())
            else {
                continue;
            };
            let sel = LabelSelector::from_map(sel);
            let name = name_of(&svc).to_string();
            let (mut ready, mut not_ready, mut selected) = (vec![], vec![], vec![]);
            for ((_, _, pname), p) in
                self.objects.iter().filter(|((pl, n, _), _)| *pl == pod_rt.plural && n == ns)
            {
                if !sel.matches(p) {
                    continue;
                }
                selected.push(p);
                let addr = json!({
                    "ip": p.pointer("/status/podIP").cloned().unwrap_or(json!("")),
                    "nodeName": p.pointer("/spec/nodeName").cloned().unwrap_or(Value::Null),
                    "targetRef": { "kind": "Pod", "namespace": ns, "name": pname, "uid": p["metadata"]["uid"] }
                });
                if Store::pod_ready(p) { ready.push(addr) } else { not_ready.push(addr) }
            }
            let ports: Vec<Value> = svc
                .pointer("/spec/ports")
                .and_then(Value::as_array)
                .map(|ps| {
                    ps.iter()
                        .map(|p| {
                            let port = p.get("targetPort").filter(|t| t.is_number()).or(p.get("port")).cloned();
                            json!({ "name": p.get("name"), "port": port, "protocol": p.get("protocol").cloned().unwrap_or(json!("TCP")) })
                        })
                        .collect()
                })
                .unwrap_or_default();
            let mut subset = json!({ "ports": ports });
            if !ready.is_empty() {
                subset["addresses"] = json!(ready);
            }
            if !not_ready.is_empty() {
                subset["notReadyAddresses"] = json!(not_ready);
            }
            let slice_endpoints = slices::endpoints(ns, &selected);
            let subsets = if ready.is_empty() && not_ready.is_empty() { json!([]) } else { json!([subset]) };
            self.reconcile_slice(ns, &svc, slice_endpoints, &subset["ports"]);
            match self.get(ep_rt, ns, &name) {
                Ok(mut ep) if ep["subsets"] != subsets => {
                    ep["subsets"] = subsets;
                    self.write(ep_rt, ns, &name, Some(ep));
                }
                Ok(_) => {}
                Err(_) => {
                    let ep = json!({
                        "metadata": { "name": name, "labels": svc.pointer("/metadata/labels").cloned().unwrap_or(json!({})) },
                        "subsets": subsets
                    });
                    let _ = self.create(ep_rt, ns, ep);
                }
            }
        }
    }
}

impl Store {
    /// Keep the Service's EndpointSlice listing `endpoints` (writes only on a change).
    fn reconcile_slice(&mut self, ns: &str, svc: &Value, endpoints: Value, ports: &Value) {
        let rt = resources::by_kind("EndpointSlice");
        let name = slices::slice_name(name_of(svc));
        match self.get(rt, ns, &name) {
            Ok(mut es) if es["endpoints"] != endpoints => {
                es["endpoints"] = endpoints;
                self.write(rt, ns, &name, Some(es));
            }
            Ok(_) => {}
            Err(_) => {
                let _ = self.create(rt, ns, slices::new_slice(svc, endpoints, ports.clone()));
            }
        }
    }
}

fn conflict(rt: &ResourceType, name: &str) -> ApiError {
    ApiError::new(
        409,
        "Conflict",
        format!(
            "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
            rt.qualified()
        ),
    )
}
