//! The commented `warroom.toml` `warroom init` writes. Every value found says where it came
//! from; every value not found is a `# not found: ...` comment. No secret is ever written:
//! passwords are named by `password_env` only.

use std::fmt::Write as _;

use super::Choices;
use super::kube::{KubeFindings, PgPod, Setting, clean};
use super::route53::Route53Findings;

/// Variable the PostgreSQL password is read from.
pub const PG_PASSWORD_ENV: &str = "WARROOM_PG_PASSWORD";
/// Variable the Redis/Sentinel password is read from.
pub const REDIS_PASSWORD_ENV: &str = "WARROOM_REDIS_PASSWORD";

/// A TOML basic string.
pub fn q(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn obj(context: &str, namespace: &str, name: &str) -> String {
    format!("{{ context = {}, namespace = {}, name = {} }}", q(context), q(namespace), q(name))
}

/// Text being written: comments are sanitized on the way in.
struct Out(String);

impl Out {
    fn line(&mut self, s: &str) {
        self.0.push_str(s);
        self.0.push('\n');
    }
    fn note(&mut self, s: &str) {
        let _ = writeln!(self.0, "# {}", clean(s));
    }
    fn kv(&mut self, key: &str, value: &str) {
        let _ = writeln!(self.0, "{key} = {value}");
    }
}

/// The whole file.
pub fn render(choices: &Choices, kube: &KubeFindings, r53: Option<&Route53Findings>) -> String {
    let mut o = Out(String::new());
    header(&mut o, choices, kube);
    for (i, r) in choices.regions.iter().enumerate() {
        region(&mut o, i, &r.region, &r.context, r53);
    }
    kubernetes(&mut o, choices);
    postgres(&mut o, choices, kube);
    sentinel(&mut o, kube);
    route53(&mut o, choices, r53);
    o.0
}

fn header(o: &mut Out, choices: &Choices, kube: &KubeFindings) {
    o.line("# warroom.toml, written by `warroom init`. Review every value, then run `warroom check`");
    o.line("# and `warroom status`. Every key is described in docs/configuration.md.");
    o.line("#");
    o.line("# Secrets are never written here: passwords come from the environment variables that");
    o.line("# `password_env` names, Kubernetes credentials from the kubeconfig, AWS credentials from the");
    o.line("# standard AWS credential chain.");
    if !choices.skipped.is_empty() {
        o.note(&format!(
            "kube contexts not used: {} (run init again with --region CONTEXT=REGION to add one)",
            choices.skipped.join(", ")
        ));
    }
    for e in &kube.errors {
        o.note(&format!("could not read: {e}"));
    }
    o.line("");
}

fn region(o: &mut Out, i: usize, name: &str, context: &str, r53: Option<&Route53Findings>) {
    o.line("[[regions]]");
    o.kv("name", &q(name));
    if i == 0 {
        o.note("the first region you named is the primary: change `role` if another one serves today");
    }
    o.kv("role", &q(["primary", "secondary"].get(i).copied().unwrap_or("tertiary")));
    o.kv("kube_context", &q(context));
    o.note("not found: health URLs; set health_live / health_ready to this region's /health/live and /health/ready");
    o.note("not found: the deployments a region failover scales; list them: deployments = [\"api\"], namespace = \"...\"");
    if let Some(r) = r53.filter(|r| r.record_type.is_some()) {
        match r.sets.iter().find(|s| s.region.as_deref() == Some(name)) {
            Some(set) => {
                o.note(&format!("Route 53 weighted record set of {} (weight {} now)", r.record, set.weight));
                o.kv("set_identifier", &q(&set.set_identifier));
                match &set.health_check_id {
                    Some(id) => o.kv("health_check_id", &q(id)),
                    None => o.note("not found: a health check on this record set"),
                }
            }
            None => o.note(&format!("not found: a weighted record set of {} for this region", r.record)),
        }
    }
    o.line("");
}

fn kubernetes(o: &mut Out, choices: &Choices) {
    o.line("[kubernetes]");
    match &choices.kubeconfig {
        Some(p) => o.kv("kubeconfig", &q(p)),
        None => o.note("kubeconfig: standard resolution ($KUBECONFIG, then ~/.kube/config)"),
    }
    if choices.namespaces_defaulted {
        o.note("no namespaces given (--namespace): `default` was searched");
    }
    let list: Vec<String> = choices.namespaces.iter().map(|n| q(n)).collect();
    o.kv("namespaces", &format!("[{}]", list.join(", ")));
    o.line("");
}

/// A libpq value that needs no quoting.
fn plain(v: &str) -> bool {
    !v.is_empty() && v.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '@'))
}

fn setting(o: &mut Out, what: &str, s: &Setting, fallback: &str) -> String {
    match s {
        Setting::Value(v) if plain(v) => return v.clone(),
        Setting::Value(_) => o.note(&format!("the {what} in the pod spec needs quoting: `{fallback}` written, set yours")),
        Setting::Elsewhere(var) => {
            o.note(&format!("the pod reads its {what} from {var} in a Secret or ConfigMap (not read): `{fallback}` written, check it"))
        }
        Setting::Missing => o.note(&format!("not found: the {what} in the pod spec: `{fallback}` written, check it")),
    }
    fallback.to_string()
}

fn postgres(o: &mut Out, choices: &Choices, kube: &KubeFindings) {
    let searched: Vec<String> = choices
        .regions
        .iter()
        .flat_map(|r| choices.namespaces.iter().map(move |n| format!("{}/{n}", r.context)))
        .collect();
    if kube.postgres.is_empty() {
        o.note(&format!(
            "not found: PostgreSQL pods in {} (looked for images postgres*/postgresql*/spilo*, labels \
             app.kubernetes.io/name=postgresql, port 5432); add [postgres] by hand (see examples/warroom.toml)",
            searched.join(", ")
        ));
        o.line("");
        return;
    }
    o.line("[postgres]");
    o.note("the largest replay lag (bytes) a promotion accepts without a typed override; 0 = in sync");
    o.kv("max_lag_bytes", "0");
    service(o, kube);
    o.line("");
    let mut names: Vec<String> = Vec::new();
    for p in &kube.postgres {
        let name = if names.contains(&p.at.name) {
            format!("{}-{}", p.at.name, p.at.region)
        } else {
            p.at.name.clone()
        };
        names.push(name.clone());
        node(o, &name, p);
    }
}

fn service(o: &mut Out, kube: &KubeFindings) {
    let primary = kube.postgres.first().map(|p| p.at.region.as_str());
    let mut ranked: Vec<_> = kube.services.iter().collect();
    // Prefer the primary region's, a ClusterIP over a headless one, and no read-only name.
    ranked.sort_by_key(|s| {
        let n = s.at.name.to_ascii_lowercase();
        let read_only = ["replica", "read", "-ro", "standby"].iter().any(|w| n.contains(w));
        (Some(s.at.region.as_str()) != primary, s.headless, read_only)
    });
    let Some(chosen) = ranked.first() else {
        o.note("not found: a Service on port 5432 selecting the PostgreSQL pods; set service = { context, namespace, name }");
        return;
    };
    o.note(&format!(
        "the Service clients connect through (its selector is patched to the new primary); it selects {}",
        chosen.selects.join(", ")
    ));
    o.kv("service", &obj(&chosen.at.context, &chosen.at.namespace, &chosen.at.name));
    for s in ranked.iter().skip(1) {
        o.note(&format!(
            "also found: Service {}/{}/{}{} selecting {}",
            s.at.context,
            s.at.namespace,
            s.at.name,
            if s.headless { " (headless)" } else { "" },
            s.selects.join(", ")
        ));
    }
}

fn node(o: &mut Out, name: &str, p: &PgPod) {
    o.line("[[postgres.nodes]]");
    o.note(&format!("pod {}/{}/{}, found by {}", p.at.context, p.at.namespace, p.at.name, p.why));
    o.kv("name", &q(name));
    o.kv("region", &q(&p.at.region));
    let host = match (&p.ip, &p.stable_name) {
        (Some(ip), stable) => {
            let alt =
                stable.as_ref().map(|s| format!("; its stable name in the cluster: {s}")).unwrap_or_default();
            o.note(&format!("host: the pod's IP now (it changes when the pod moves{alt})"));
            ip.clone()
        }
        (None, Some(stable)) => {
            o.note("host: the pod's stable name in the cluster (the pod has no IP now)");
            stable.clone()
        }
        (None, None) => {
            o.note("not found: an address (the pod has no IP and no stable name): set host");
            p.at.name.clone()
        }
    };
    let port = p.port.unwrap_or_else(|| {
        o.note("not found: a declared container port: 5432 written");
        5432
    });
    let user = setting(o, "user", &p.user, "postgres");
    let dbname = setting(o, "database", &p.dbname, "postgres");
    o.kv("dsn", &q(&format!("host={host} port={port} user={user} dbname={dbname} connect_timeout=2")));
    o.note(&format!(
        "the password is never written here: export {PG_PASSWORD_ENV} (or use PGPASSWORD / ~/.pgpass)"
    ));
    o.kv("password_env", &q(PG_PASSWORD_ENV));
    o.kv("pod", &obj(&p.at.context, &p.at.namespace, &p.at.name));
    match &p.data_dir {
        Some(d) => o.kv("data_dir", &q(d)),
        None => o.note("not found: PGDATA in the pod spec; set data_dir for `pg_ctl promote`"),
    }
    o.line("");
}

fn sentinel(o: &mut Out, kube: &KubeFindings) {
    if !kube.redis.is_empty() {
        let names: Vec<String> =
            kube.redis.iter().map(|r| format!("{}/{}/{}", r.context, r.namespace, r.name)).collect();
        o.note(&format!(
            "Redis pods without a Sentinel (warroom follows Redis through Sentinel): {}",
            names.join(", ")
        ));
    }
    if kube.sentinels.is_empty() {
        o.note("not found: Redis Sentinel pods (a sentinel container, image or port 26379); add [sentinel] by hand");
        o.line("");
        return;
    }
    let addrs: Vec<String> = kube.sentinels.iter().filter_map(|s| s.addr.clone()).collect();
    let mut masters: Vec<&str> = Vec::new();
    for m in kube.sentinels.iter().filter_map(|s| s.master.as_deref()) {
        if !masters.contains(&m) {
            masters.push(m);
        }
    }
    let pods: Vec<String> =
        kube.sentinels.iter().map(|s| format!("{}/{}", s.at.context, s.at.name)).collect();
    let commented = addrs.is_empty() || masters.is_empty();
    if addrs.is_empty() {
        o.note(&format!("not found: addresses of the Sentinel pods {} (no pod IP yet)", pods.join(", ")));
    }
    if masters.is_empty() {
        o.note(
            "not found: the monitored master name (looked for `sentinel monitor NAME` in the pods' args and",
        );
        o.note("mounted ConfigMaps, and REDIS_MASTER_SET); uncomment the section and set `master`");
    }
    let c = if commented { "# " } else { "" };
    o.line(&format!("{c}[sentinel]"));
    o.note(&format!("Sentinel pods: {}", pods.join(", ")));
    o.line(&format!("{c}master = {}", q(masters.first().copied().unwrap_or("..."))));
    if masters.len() > 1 {
        o.note(&format!("also monitored: {}", masters[1..].join(", ")));
    }
    let list: Vec<String> = addrs.iter().map(|a| q(a)).collect();
    o.note("addresses: the pods' IPs now (they change when a pod moves)");
    o.line(&format!("{c}addrs = [{}]", list.join(", ")));
    if kube.sentinels.iter().any(|s| s.password_seen) {
        o.note(&format!("the Sentinels use a password (not copied): export {REDIS_PASSWORD_ENV}"));
        o.line(&format!("{c}password_env = {}", q(REDIS_PASSWORD_ENV)));
    } else {
        o.note(&format!(
            "no password setting seen; if there is one: password_env = {}",
            q(REDIS_PASSWORD_ENV)
        ));
    }
    o.line("");
}

fn route53(o: &mut Out, choices: &Choices, r53: Option<&Route53Findings>) {
    let Some(r) = r53 else {
        o.note("[route53]: no record given (init --record NAME looks up its zone and weighted records)");
        return;
    };
    for p in &r.problems {
        o.note(&format!("not found: {p}"));
    }
    let Some((zone_id, zone_name)) = &r.zone else {
        o.note(&format!("[route53] left out: no hosted zone for {}", r.record));
        return;
    };
    o.line("[route53]");
    if !zone_name.is_empty() {
        o.note(&format!("hosted zone {zone_name} (the longest zone name {} ends with)", r.record));
    }
    o.kv("hosted_zone_id", &q(zone_id));
    o.kv("record", &q(&r.record));
    match &r.record_type {
        Some(t) => o.kv("type", &q(t)),
        None => o.note("type: A (default); no weighted record sets were found to tell"),
    }
    if let Some(url) = &r.endpoint_url {
        o.note("endpoint override (an emulator), as given to init");
        o.kv("endpoint_url", &q(url));
    }
    for s in r.sets.iter().filter(|s| s.region.is_none()) {
        o.note(&format!(
            "not matched to a region: set identifier {} (weight {}); regions: {}",
            s.set_identifier,
            s.weight,
            choices.regions.iter().map(|c| c.region.as_str()).collect::<Vec<_>>().join(", ")
        ));
    }
    o.line("");
}

#[cfg(test)]
mod tests;
