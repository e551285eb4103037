//! What `warroom init` finds in Kubernetes: PostgreSQL pods and the Services in front of them,
//! Redis Sentinel pods and the master they monitor, recognised by container image, the
//! well-known labels (`app.kubernetes.io/name`, `app`, ...) and ports 5432 / 6379 / 26379.
//!
//! Only names, addresses, ports and plain (non-secret) settings are read: a password in a pod's
//! environment or a ConfigMap is never copied, only noticed.

use std::collections::BTreeMap;
use std::time::Duration;

use ::kube::api::{Api, ListParams};
use k8s_openapi::api::core::v1::{ConfigMap, Container, Pod, Service};
use regex::Regex;

use super::{Choices, RegionChoice};
use crate::backends::kube::KubeClients;

/// How long one list call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// Port of PostgreSQL, Redis and Sentinel.
pub const PG_PORT: i32 = 5432;
/// Redis.
pub const REDIS_PORT: i32 = 6379;
/// Redis Sentinel.
pub const SENTINEL_PORT: i32 = 26379;

/// A PostgreSQL pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgPod {
    /// Where it is.
    pub at: Place,
    /// Host to connect to (the pod IP), if it has one.
    pub ip: Option<String>,
    /// `hostname.subdomain.namespace.svc` when the pod has a stable DNS name.
    pub stable_name: Option<String>,
    /// The container port PostgreSQL listens on (`None`: not declared).
    pub port: Option<i32>,
    /// User from the pod spec (a literal env value).
    pub user: Setting,
    /// Database from the pod spec.
    pub dbname: Setting,
    /// `PGDATA` from the pod spec.
    pub data_dir: Option<String>,
    /// Why it was taken for PostgreSQL.
    pub why: String,
}

/// A pod's region, context, namespace and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// Region of the context.
    pub region: String,
    /// Kube context.
    pub context: String,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
}

/// A setting read from a pod's environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Setting {
    /// A literal value.
    Value(String),
    /// From a Secret or ConfigMap key (not read): the variable's name.
    Elsewhere(String),
    /// Not in the pod spec.
    Missing,
}

/// A Service in front of PostgreSQL pods.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgService {
    /// Where it is.
    pub at: Place,
    /// `clusterIP: None`.
    pub headless: bool,
    /// The PostgreSQL pods it selects.
    pub selects: Vec<String>,
}

/// A Redis Sentinel (a pod with a sentinel container or port 26379).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentinelPod {
    /// Where it is.
    pub at: Place,
    /// `ip:port`, if the pod has an IP.
    pub addr: Option<String>,
    /// The master name found in its args, environment or mounted ConfigMaps.
    pub master: Option<String>,
    /// A password setting was seen (env or `auth-pass` / `requirepass`): never copied.
    pub password_seen: bool,
}

/// Everything found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KubeFindings {
    /// PostgreSQL pods, in region order.
    pub postgres: Vec<PgPod>,
    /// Services in front of them.
    pub services: Vec<PgService>,
    /// Sentinels.
    pub sentinels: Vec<SentinelPod>,
    /// Redis data pods (not sentinels): listed as comments.
    pub redis: Vec<Place>,
    /// What could not be read (sanitized, redacted).
    pub errors: Vec<String>,
}

/// Search every chosen context and namespace.
pub async fn discover(choices: &Choices) -> KubeFindings {
    let mut found = KubeFindings::default();
    for region in &choices.regions {
        // One context at a time: a context whose credentials fail hides none of the others.
        let one = std::slice::from_ref(&region.context);
        let clients = match KubeClients::from_kubeconfig(choices.kubeconfig.as_deref(), one).await {
            Ok(c) => c,
            Err(e) => {
                found.errors.push(clean(&e.to_string()));
                continue;
            }
        };
        let Ok(client) = clients.get(&region.context) else { continue };
        for ns in &choices.namespaces {
            search(client.clone(), region, ns, &mut found).await;
        }
    }
    found
}

/// Backend text made safe for a comment: redacted, controls made visible.
pub fn clean(s: &str) -> String {
    crate::text::sanitize(&crate::text::redact(s)).into_owned()
}

async fn list<K>(api: &Api<K>, what: &str, at: &str) -> Result<Vec<K>, String>
where
    K: Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    match tokio::time::timeout(CALL_TIMEOUT, api.list(&ListParams::default())).await {
        Ok(Ok(list)) => Ok(list.items),
        Ok(Err(e)) => Err(clean(&format!("cannot list {what} in {at}: {e}"))),
        Err(_) => Err(format!("cannot list {what} in {at}: no answer within {CALL_TIMEOUT:?}")),
    }
}

async fn search(client: ::kube::Client, region: &RegionChoice, ns: &str, found: &mut KubeFindings) {
    let at = format!("{}/{ns}", region.context);
    let pods = match list(&Api::<Pod>::namespaced(client.clone(), ns), "pods", &at).await {
        Ok(p) => p,
        Err(e) => {
            found.errors.push(e);
            return;
        }
    };
    let place = |name: &str| Place {
        region: region.region.clone(),
        context: region.context.clone(),
        namespace: ns.to_string(),
        name: name.to_string(),
    };
    let mut configmaps: Option<BTreeMap<String, ConfigMap>> = None;
    let mut pg_pods: Vec<&Pod> = Vec::new();
    for pod in &pods {
        let name = pod.metadata.name.clone().unwrap_or_default();
        let kind = classify(pod);
        if let Some(why) = &kind.postgres {
            pg_pods.push(pod);
            found.postgres.push(pg_pod(pod, place(&name), why));
        }
        if kind.sentinel {
            if configmaps.is_none() {
                let api = Api::<ConfigMap>::namespaced(client.clone(), ns);
                configmaps = Some(match list(&api, "configmaps", &at).await {
                    Ok(list) => {
                        list.into_iter().map(|c| (c.metadata.name.clone().unwrap_or_default(), c)).collect()
                    }
                    Err(e) => {
                        found.errors.push(format!("{e} (the Sentinel master name is read from them)"));
                        BTreeMap::new()
                    }
                });
            }
            found.sentinels.push(sentinel_pod(
                pod,
                place(&name),
                configmaps.as_ref().unwrap_or(&BTreeMap::new()),
            ));
        } else if kind.redis {
            found.redis.push(place(&name));
        }
    }
    if pg_pods.is_empty() {
        return;
    }
    match list(&Api::<Service>::namespaced(client, ns), "services", &at).await {
        Ok(services) => {
            for svc in &services {
                if let Some(s) =
                    pg_service(svc, &pg_pods, place(svc.metadata.name.as_deref().unwrap_or_default()))
                {
                    found.services.push(s);
                }
            }
        }
        Err(e) => found.errors.push(e),
    }
}

/// What a pod looks like.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Kind {
    /// PostgreSQL, and why.
    pub postgres: Option<String>,
    /// Runs Redis.
    pub redis: bool,
    /// Runs a Sentinel.
    pub sentinel: bool,
}

/// The last path segment of an image without tag or digest: `docker.io/bitnami/postgresql:16`
/// -> `postgresql`.
fn image_name(image: &str) -> &str {
    let no_digest = image.split('@').next().unwrap_or(image);
    let last = no_digest.rsplit('/').next().unwrap_or(no_digest);
    last.split(':').next().unwrap_or(last)
}

/// Images named like a database but not one: exporters, operators, poolers, admin UIs.
const NOT_A_DATABASE: &[&str] = &["exporter", "operator", "pgbouncer", "pgpool", "pgadmin", "backup"];

/// The lower-case image name of a container, `None` for a known non-database image.
fn db_image(c: &Container) -> Option<String> {
    let image = image_name(c.image.as_deref().unwrap_or_default()).to_ascii_lowercase();
    (!NOT_A_DATABASE.iter().any(|w| image.contains(w))).then_some(image)
}

const PG_IMAGES: &[&str] = &["postgres", "postgresql", "postgis", "spilo", "timescaledb", "patroni"];
const PG_LABELS: &[&str] = &["postgres", "postgresql", "patroni", "spilo", "cloudnative-pg"];
const NAME_LABELS: &[&str] = &["app.kubernetes.io/name", "app", "application", "k8s-app"];

fn ports(c: &Container) -> impl Iterator<Item = i32> + '_ {
    c.ports.iter().flatten().map(|p| p.container_port)
}

/// Classify a pod by images, well-known labels and ports.
pub fn classify(pod: &Pod) -> Kind {
    let mut kind = Kind::default();
    let labels = pod.metadata.labels.clone().unwrap_or_default();
    let containers: &[Container] = pod.spec.as_ref().map_or(&[], |s| s.containers.as_slice());
    for c in containers {
        let Some(image) = db_image(c) else { continue };
        if kind.postgres.is_none() && PG_IMAGES.iter().any(|p| image.starts_with(p)) {
            kind.postgres = Some(format!("image {}", c.image.as_deref().unwrap_or_default()));
        }
        if kind.postgres.is_none() && ports(c).any(|p| p == PG_PORT) {
            kind.postgres = Some(format!("container {} port {PG_PORT}", c.name));
        }
        let args = c.command.iter().chain(c.args.iter()).flatten().any(|a| a.contains("sentinel"));
        if image.contains("sentinel")
            || c.name.contains("sentinel")
            || args
            || ports(c).any(|p| p == SENTINEL_PORT)
        {
            kind.sentinel = true;
        } else if image.starts_with("redis")
            || image.starts_with("valkey")
            || ports(c).any(|p| p == REDIS_PORT)
        {
            kind.redis = true;
        }
    }
    if kind.postgres.is_none()
        && let Some((k, v)) = NAME_LABELS
            .iter()
            .find_map(|k| labels.get(*k).map(|v| (k, v)))
            .filter(|(_, v)| PG_LABELS.contains(&v.to_ascii_lowercase().as_str()))
    {
        kind.postgres = Some(format!("label {k}={v}"));
    }
    kind
}

/// A variable of the container's environment.
fn env_setting(c: &Container, names: &[&str]) -> Setting {
    for name in names {
        if let Some(var) = c.env.iter().flatten().find(|e| e.name == *name) {
            return match &var.value {
                Some(v) if !v.is_empty() => Setting::Value(v.clone()),
                _ => Setting::Elsewhere(var.name.clone()),
            };
        }
    }
    Setting::Missing
}

/// The container running PostgreSQL (by image or port), else the first.
fn pg_container(pod: &Pod) -> Option<&Container> {
    let cs = &pod.spec.as_ref()?.containers;
    cs.iter()
        .find(|c| {
            db_image(c).is_some_and(|image| {
                PG_IMAGES.iter().any(|p| image.starts_with(p)) || ports(c).any(|p| p == PG_PORT)
            })
        })
        .or(cs.first())
}

fn pg_pod(pod: &Pod, at: Place, why: &str) -> PgPod {
    let c = pg_container(pod);
    let setting = |names: &[&str]| c.map_or(Setting::Missing, |c| env_setting(c, names));
    let port = c.and_then(|c| {
        let declared: Vec<i32> = ports(c).collect();
        declared.iter().copied().find(|p| *p == PG_PORT).or(declared.first().copied())
    });
    let spec = pod.spec.as_ref();
    let stable_name = spec.and_then(|s| {
        Some(format!("{}.{}.{}.svc", s.hostname.as_ref()?, s.subdomain.as_ref()?, at.namespace))
    });
    let data_dir = match setting(&["PGDATA", "POSTGRESQL_DATA_DIR"]) {
        Setting::Value(v) => Some(v),
        _ => None,
    };
    PgPod {
        ip: pod.status.as_ref().and_then(|s| s.pod_ip.clone()),
        stable_name,
        port,
        user: setting(&["POSTGRES_USER", "POSTGRESQL_USERNAME", "PGUSER"]),
        dbname: setting(&["POSTGRES_DB", "POSTGRESQL_DATABASE", "PGDATABASE"]),
        data_dir,
        why: why.to_string(),
        at,
    }
}

fn pg_service(svc: &Service, pg_pods: &[&Pod], at: Place) -> Option<PgService> {
    let spec = svc.spec.as_ref()?;
    let selector = spec.selector.as_ref().filter(|s| !s.is_empty())?;
    let on_pg_port = spec.ports.iter().flatten().any(|p| {
        p.port == PG_PORT
            || matches!(
                &p.target_port,
                Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(PG_PORT))
            )
    });
    let selects: Vec<String> = pg_pods
        .iter()
        .filter(|p| {
            let labels = p.metadata.labels.clone().unwrap_or_default();
            selector.iter().all(|(k, v)| labels.get(k) == Some(v))
        })
        .filter_map(|p| p.metadata.name.clone())
        .collect();
    (on_pg_port && !selects.is_empty()).then(|| PgService {
        at,
        headless: spec.cluster_ip.as_deref() == Some("None"),
        selects,
    })
}

fn monitor_re() -> Regex {
    Regex::new(r"(?m)sentinel\s+monitor\s+([A-Za-z0-9_.-]+)").unwrap_or_else(|_| unreachable!("valid regex"))
}

const MASTER_VARS: &[&str] = &["REDIS_MASTER_SET", "REDIS_SENTINEL_MASTER_NAME", "SENTINEL_MASTER_NAME"];
const PASSWORD_HINTS: &[&str] = &["requirepass", "auth-pass", "masterauth"];

fn sentinel_pod(pod: &Pod, at: Place, configmaps: &BTreeMap<String, ConfigMap>) -> SentinelPod {
    let spec = pod.spec.as_ref();
    let containers: &[Container] = spec.map_or(&[], |s| s.containers.as_slice());
    let port = containers.iter().flat_map(ports).find(|p| *p == SENTINEL_PORT).unwrap_or(SENTINEL_PORT);
    let re = monitor_re();
    let mut master = None;
    let mut password_seen = false;
    for c in containers {
        let args: Vec<&String> = c.command.iter().chain(c.args.iter()).flatten().collect();
        let joined = args.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" ");
        master = master.or_else(|| re.captures(&joined).map(|m| m[1].to_string()));
        password_seen |= PASSWORD_HINTS.iter().any(|h| joined.contains(h));
        for var in c.env.iter().flatten() {
            if MASTER_VARS.contains(&var.name.as_str()) && master.is_none() {
                master = var.value.clone().filter(|v| re_name_ok(v));
            }
            password_seen |= var.name.contains("PASSWORD");
        }
    }
    let mounted =
        spec.and_then(|s| s.volumes.as_ref()).into_iter().flatten().filter_map(|v| v.config_map.as_ref());
    for cm in mounted {
        for text in
            configmaps.get(&cm.name).and_then(|c| c.data.as_ref()).into_iter().flat_map(|d| d.values())
        {
            master = master.or_else(|| re.captures(text).map(|m| m[1].to_string()));
            password_seen |= PASSWORD_HINTS.iter().any(|h| text.contains(h));
        }
    }
    let ip = pod.status.as_ref().and_then(|s| s.pod_ip.clone());
    SentinelPod {
        addr: ip.map(|ip| if ip.contains(':') { format!("[{ip}]:{port}") } else { format!("{ip}:{port}") }),
        master,
        password_seen,
        at,
    }
}

fn re_name_ok(v: &str) -> bool {
    !v.is_empty() && v.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(v: serde_json::Value) -> Pod {
        serde_json::from_value(v).unwrap()
    }

    fn place(name: &str) -> Place {
        Place { region: "r".into(), context: "c".into(), namespace: "ns".into(), name: name.into() }
    }

    #[test]
    fn classifies_by_image_label_and_port() {
        let by_image = pod(
            json!({"metadata": {"name": "a"}, "spec": {"containers": [{"name": "db", "image": "docker.io/bitnami/postgresql:16.2@sha256:ab"}]}}),
        );
        assert_eq!(
            classify(&by_image).postgres.as_deref(),
            Some("image docker.io/bitnami/postgresql:16.2@sha256:ab")
        );
        let by_label = pod(
            json!({"metadata": {"name": "a", "labels": {"app.kubernetes.io/name": "postgresql"}}, "spec": {"containers": [{"name": "x", "image": "example/db:1"}]}}),
        );
        assert_eq!(classify(&by_label).postgres.as_deref(), Some("label app.kubernetes.io/name=postgresql"));
        let by_port = pod(
            json!({"metadata": {"name": "a"}, "spec": {"containers": [{"name": "x", "image": "example/db:1", "ports": [{"containerPort": 5432}]}]}}),
        );
        assert!(classify(&by_port).postgres.is_some());
        let redis_and_sentinel = pod(json!({"metadata": {"name": "r"}, "spec": {"containers": [
            {"name": "redis", "image": "redis:7", "ports": [{"containerPort": 6379}]},
            {"name": "sentinel", "image": "redis:7", "ports": [{"containerPort": 26379}]}]}}));
        let k = classify(&redis_and_sentinel);
        assert!(k.sentinel && k.redis && k.postgres.is_none(), "{k:?}");
        let web = pod(
            json!({"metadata": {"name": "w", "labels": {"app": "web"}}, "spec": {"containers": [{"name": "x", "image": "nginx:1", "ports": [{"containerPort": 80}]}]}}),
        );
        assert_eq!(classify(&web), Kind::default());
        let exporters = pod(json!({"metadata": {"name": "m"}, "spec": {"containers": [
            {"name": "x", "image": "quay.io/prometheuscommunity/postgres-exporter:v0.15", "ports": [{"containerPort": 9187}]},
            {"name": "y", "image": "oliver006/redis_exporter:v1", "ports": [{"containerPort": 9121}]}]}}));
        assert_eq!(classify(&exporters), Kind::default(), "exporters are not databases");
    }

    #[test]
    fn reads_settings_but_never_a_password() {
        let p = pod(
            json!({"metadata": {"name": "pg-0"}, "spec": {"hostname": "pg-0", "subdomain": "pg-hl", "containers": [{"name": "db", "image": "postgres:16",
            "ports": [{"containerPort": 5432}],
            "env": [{"name": "POSTGRES_USER", "value": "app"}, {"name": "POSTGRES_PASSWORD", "value": "hunter2"},
                    {"name": "POSTGRES_DB", "valueFrom": {"secretKeyRef": {"name": "s", "key": "db"}}},
                    {"name": "PGDATA", "value": "/data/pg"}]}]},
            "status": {"podIP": "10.1.2.3"}}),
        );
        let found = pg_pod(&p, place("pg-0"), "image");
        assert_eq!(found.user, Setting::Value("app".into()));
        assert_eq!(found.dbname, Setting::Elsewhere("POSTGRES_DB".into()));
        assert_eq!(found.data_dir.as_deref(), Some("/data/pg"));
        assert_eq!(found.ip.as_deref(), Some("10.1.2.3"));
        assert_eq!(found.stable_name.as_deref(), Some("pg-0.pg-hl.ns.svc"));
        assert_eq!(found.port, Some(5432));
        assert!(!format!("{found:?}").contains("hunter2"));
    }

    #[test]
    fn sentinel_master_from_a_mounted_configmap_and_the_password_only_noticed() {
        let p = pod(
            json!({"metadata": {"name": "s-0"}, "spec": {"containers": [{"name": "sentinel", "image": "redis:7", "ports": [{"containerPort": 26379}]}],
            "volumes": [{"name": "conf", "configMap": {"name": "sentinel-conf"}}]}, "status": {"podIP": "10.0.0.9"}}),
        );
        let cm: ConfigMap = serde_json::from_value(json!({"metadata": {"name": "sentinel-conf"}, "data": {"sentinel.conf":
            "port 26379\nsentinel monitor cache-master 10.0.0.5 6379 2\nsentinel auth-pass cache-master s3cret\n"}})).unwrap();
        let cms = BTreeMap::from([("sentinel-conf".to_string(), cm)]);
        let s = sentinel_pod(&p, place("s-0"), &cms);
        assert_eq!(s.master.as_deref(), Some("cache-master"));
        assert_eq!(s.addr.as_deref(), Some("10.0.0.9:26379"));
        assert!(s.password_seen);
        assert!(!format!("{s:?}").contains("s3cret"));
        let none = sentinel_pod(&p, place("s-0"), &BTreeMap::new());
        assert_eq!(none.master, None);
        assert!(!none.password_seen);
    }
}
