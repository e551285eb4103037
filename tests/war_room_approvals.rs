//! The two-person rule across hosts, through the shared incident (`[war_room]`) on the REAL
//! Kubernetes control plane, with the real binary. Host A (its own home: data, state and config
//! dirs) runs `warroom exec` of a small live runbook whose steps scale a real Deployment and
//! each need 2 people; host B (another home, `--operator bob@hostb`) decides with
//! `warroom approve` from a data dir that lacks the incident (it joins it from the store) or is
//! behind (it catches up before judging). A's exec sees B's entries only through the store.
//! The commander cannot approve from either host; a rejection from B fails A's step with the
//! reason and scales nothing; at the end both local logs equal the store's chain. With the
//! store unreachable from B, B decides nothing (its approval could never reach A).

mod support;

use std::process::Child;
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use kube::Api;
use serde_json::Value;
use support::control_plane::objects::unique_namespace;
use support::control_plane::{ControlPlane, TOKEN_USERS};
use support::home::{Home, Out};
use warroom::config::model::WarRoomConfig;
use warroom::incident::shared::{KubeStore, fetch_chain};

const CTX: &str = "us-east-1";
const BOB: &str = "bob@hostb";

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

/// Where the app runs and where the incident is shared (separate namespaces).
struct Estate {
    app: String,
    war_room: WarRoomConfig,
}

/// A Deployment `api` at 1 replica in a fresh namespace, and a fresh war-room namespace.
fn estate(cp: &ControlPlane, prefix: &str) -> Estate {
    let (app, wr) = (unique_namespace(prefix), unique_namespace(&format!("{prefix}-wr")));
    rt().block_on(async {
        cp.namespace(CTX, &app).await;
        cp.namespace(CTX, &wr).await;
        cp.deployment(CTX, &app, "api", 1, &[]).await;
        cp.wait_deployment_available(CTX, &app, "api", 1).await;
    });
    let kubeconfig = Some(cp.kubeconfig.to_string_lossy().into_owned());
    Estate { app, war_room: WarRoomConfig { context: CTX.into(), namespace: wr, kubeconfig } }
}

/// The runbook: scale `api` to 2, then to 3; each step needs 2 people (the commander + one).
const RUNBOOK: &str = r#"id = "scale-api"
title = "Scale the API"
description = "More capacity before the failover."

[[steps]]
id = "two"
op = "scale"
args = { region = "us-east-1", replicas = "2" }
approvals = 2
why = "First half of the capacity."

[[steps]]
id = "three"
op = "scale"
args = { region = "us-east-1", replicas = "3" }
approvals = 2
why = "The rest of it."
"#;

/// A "host": its own home (data, state, config dirs) with the live config and the runbook.
fn host(e: &Estate) -> Home {
    let home = Home::new();
    let dir = home.path().join("xdg-config/warroom/runbooks");
    std::fs::create_dir_all(&dir).expect("config dir");
    let w = &e.war_room;
    let kubeconfig = w.kubeconfig.as_deref().unwrap();
    let config = format!(
        "[kubernetes]\nkubeconfig = \"{kubeconfig}\"\nnamespaces = [\"{app}\"]\n\n\
         [[regions]]\nname = \"{CTX}\"\nrole = \"primary\"\nkube_context = \"{CTX}\"\ndeployments = [\"api\"]\nnamespace = \"{app}\"\n\n\
         [polling]\ninterval_ms = 300\ntimeout_ms = 1500\nverify_timeout_ms = 30000\n\n\
         [war_room]\ncontext = \"{ctx}\"\nnamespace = \"{ns}\"\nkubeconfig = \"{kubeconfig}\"\n",
        app = e.app,
        ctx = w.context,
        ns = w.namespace,
    );
    home.write("xdg-config/warroom/warroom.toml", &config);
    home.write("xdg-config/warroom/runbooks/scale-api.toml", RUNBOOK);
    home
}

/// The only incident log of `home`: (id, entries), or `None` before it exists.
fn log(home: &Home) -> Option<(String, Vec<Value>)> {
    let path = log_path(home)?;
    let id = path.file_stem()?.to_string_lossy().into_owned();
    let text = std::fs::read_to_string(&path).ok()?;
    Some((id, text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect()))
}

fn log_path(home: &Home) -> Option<std::path::PathBuf> {
    std::fs::read_dir(home.data_dir().join("incidents"))
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "jsonl"))
}

fn entries(home: &Home) -> Vec<Value> {
    log(home).map(|(_, e)| e).unwrap_or_default()
}

fn of_step(entries: &[Value], step: u64, kind: &str) -> Vec<Value> {
    entries.iter().filter(|e| e["kind"] == kind && e["details"]["step"] == step).cloned().collect()
}

/// `warroom exec scale-api` on host A, in the background (it declares a live incident).
fn exec(a: &Home, steps: Option<&str>, timeout: &str) -> Child {
    let mut args = vec!["exec", "scale-api", "--yes-low-risk", "--approval-timeout", timeout];
    if let Some(s) = steps {
        args.extend(["--step", s]);
    }
    a.command(&args).spawn().expect("spawn exec")
}

/// Poll A's log until a step is confirmed and waits for 1 approval, beyond `after` (the steps
/// already seen): (incident, step id, digest, commander).
fn awaiting(a: &Home, exec: &mut Child, after: &[u64]) -> (String, u64, String, String) {
    let end = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some((id, entries)) = log(a)
            && let Some(e) = entries.iter().find(|e| {
                e["kind"] == "step-confirmed"
                    && e["details"]["approvals_needed"] == 1
                    && !after.contains(&e["details"]["step"].as_u64().unwrap_or(0))
            })
        {
            let step = e["details"]["step"].as_u64().expect("step id");
            let digest = e["details"]["digest"].as_str().expect("digest").to_string();
            return (id, step, digest, e["operator"].as_str().expect("operator").to_string());
        }
        if exec.try_wait().expect("wait").is_some() {
            let out = exec.stdout.take().map(std::io::read_to_string).and_then(Result::ok);
            let err = exec.stderr.take().map(std::io::read_to_string).and_then(Result::ok);
            panic!("exec ended before waiting for approval: {out:?} {err:?} {:?}", log(a));
        }
        assert!(Instant::now() < end, "exec never waited for approval: {:?}", log(a));
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Wait for the background exec to finish (at most 120 s).
fn finish(child: Child) -> Out {
    let mut child = child;
    let end = Instant::now() + Duration::from_secs(120);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() >= end {
            let _ = child.kill();
            panic!("exec did not finish: {:?}", Out::from(child.wait_with_output().expect("output")));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Out::from(child.wait_with_output().expect("output"))
}

/// Poll until `ok` holds on host A's log (within `within`).
fn until_logged(a: &Home, what: &str, within: Duration, ok: impl Fn(&[Value]) -> bool) {
    let end = Instant::now() + within;
    while !ok(&entries(a)) {
        assert!(Instant::now() < end, "{what}: not in A's log within {within:?}: {:#?}", entries(a));
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn replicas(cp: &ControlPlane, ns: &str) -> i32 {
    rt().block_on(async {
        let api: Api<Deployment> = Api::namespaced(cp.client(CTX).await, ns);
        api.get("api").await.expect("deployment").spec.replicas.unwrap_or(0)
    })
}

/// The local log of `home` is byte for byte the store's chain, and `warroom log verify` says so.
fn assert_same_as_store(home: &Home, e: &Estate, id: &str) {
    let store = KubeStore::connect(&e.war_room, None, id).expect("store");
    let mut chain = Vec::new();
    for line in fetch_chain(&store).expect("store chain") {
        chain.extend_from_slice(&line);
        chain.push(b'\n');
    }
    let local = std::fs::read(log_path(home).expect("local log")).expect("read log");
    assert_eq!(String::from_utf8_lossy(&local), String::from_utf8_lossy(&chain), "local log = store chain");
    let v = home.run(&["log", "verify", id]);
    assert_eq!(v.code, Some(0), "{v:?}");
    assert!(v.stdout.contains("OK: the local log matches the shared store"), "{v:?}");
}

#[test]
fn approvals_from_another_host_reach_the_commanders_exec_through_the_store() {
    let cp = ControlPlane::shared();
    let e = estate(cp, "xapprove");
    let (a, b) = (host(&e), host(&e));
    let mut child = exec(&a, None, "120");
    let (id, first, digest, commander) = awaiting(&a, &mut child, &[]);
    assert!(of_step(&entries(&a), first, "step-executing").is_empty(), "nothing executes before approval");

    // The commander cannot approve their own step: not from host A, and not from host B either
    // (that first call on B joins the incident from the store: B's data dir had nothing).
    let own = a.run(&["approve", &id, &first.to_string(), "--yes"]);
    assert_eq!(own.code, Some(3), "{own:?}");
    assert!(own.stderr.contains("confirmed it as commander: another person must approve"), "{own:?}");
    assert!(log(&b).is_none(), "host B starts without the incident");
    let own_b = b.run(&["approve", &id, &first.to_string(), "--yes", "--operator", &commander]);
    assert_eq!(own_b.code, Some(3), "{own_b:?}");
    assert!(own_b.stderr.contains("confirmed it as commander"), "{own_b:?}");
    assert!(own_b.stdout.contains(&format!("digest: {digest}")), "B saw the exact preview: {own_b:?}");
    assert_eq!(log(&b).map(|(i, _)| i).as_deref(), Some(id.as_str()), "B joined the incident");
    assert_eq!(replicas(cp, &e.app), 1, "nothing scaled");

    // bob approves from host B with the digest he was shown: A's exec scales to 2.
    let ok = b.run(&["approve", &id, &first.to_string(), "--yes", "--operator", BOB, "--digest", &digest]);
    assert_eq!(ok.code, Some(0), "{ok:?}");
    assert!(ok.stdout.contains("target:") && ok.stdout.contains("api"), "the preview first: {ok:?}");
    until_logged(&a, "the first step verified", Duration::from_secs(60), |l| {
        !of_step(l, first, "step-verified").is_empty()
    });

    // The second step: B's copy is now behind (it ends at its own approval); approve catches up
    // before judging the step it has not seen yet.
    let (_, second, digest2, _) = awaiting(&a, &mut child, &[first]);
    assert!(of_step(&entries(&b), second, "step-confirmed").is_empty(), "B is behind");
    let ok2 = b.run(&["approve", &id, &second.to_string(), "--yes", "--operator", BOB]);
    assert_eq!(ok2.code, Some(0), "{ok2:?}");
    let out = finish(child);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(replicas(cp, &e.app), 3, "both steps scaled the Deployment");
    rt().block_on(cp.wait_deployment_available(CTX, &e.app, "api", 3));

    // The approvals in A's log name bob, carry the digests he saw, and come before execution.
    let la = entries(&a);
    for (step, d) in [(first, &digest), (second, &digest2)] {
        let approved = of_step(&la, step, "step-approved");
        assert_eq!(approved.len(), 1, "{approved:?}");
        assert_eq!(approved[0]["operator"], BOB);
        assert_eq!(approved[0]["details"]["digest"], d.as_str());
        let seq = |k: &str| of_step(&la, step, k)[0]["seq"].as_u64().unwrap();
        assert!(seq("step-approved") < seq("step-executing"), "approved before it ran");
        assert_eq!(of_step(&la, step, "step-verified").len(), 1, "executed and verified");
    }
    // A decided step cannot be decided again (from B, which catches up to the end meanwhile).
    let again = b.run(&["approve", &id, &second.to_string(), "--yes", "--operator", "carol@hostc"]);
    assert_eq!(again.code, Some(3), "{again:?}");
    assert!(again.stderr.contains("is not awaiting approval"), "{again:?}");
    assert_same_as_store(&a, &e, &id);
    assert_same_as_store(&b, &e, &id);
    assert_eq!(std::fs::read(log_path(&a).unwrap()).unwrap(), std::fs::read(log_path(&b).unwrap()).unwrap());
}

#[test]
fn a_rejection_from_another_host_fails_the_commanders_step_with_the_reason() {
    let cp = ControlPlane::shared();
    let e = estate(cp, "xreject");
    let (a, b) = (host(&e), host(&e));
    let mut child = exec(&a, Some("two"), "120");
    let (id, step, _, _) = awaiting(&a, &mut child, &[]);
    // An incident neither B nor the store holds is the usage error of an unknown incident.
    let bogus = format!("{}{}", &id[..id.len() - 1], if id.ends_with('9') { '8' } else { '9' });
    let unknown = b.run(&["approve", &bogus, &step.to_string(), "--yes", "--operator", BOB]);
    assert_eq!(unknown.code, Some(2), "{unknown:?}");
    assert!(
        unknown.stderr.contains(&format!("cannot open incident {bogus} (not in ConfigMaps")),
        "{unknown:?}"
    );
    assert!(log(&b).is_none(), "nothing created on B");
    let reason = "capacity is fine, the alert was a probe";
    let no = b.run(&[
        "approve",
        &id,
        &step.to_string(),
        "--reject",
        "--reason",
        reason,
        "--yes",
        "--operator",
        BOB,
    ]);
    assert_eq!(no.code, Some(0), "{no:?}");
    let out = finish(child);
    assert_eq!(out.code, Some(3), "{out:?}");
    assert!(out.stdout.contains(reason), "A's exec says why: {out:?}");
    let la = entries(&a);
    let rejected = of_step(&la, step, "step-rejected");
    assert_eq!(rejected.len(), 1, "{rejected:?}");
    assert_eq!(rejected[0]["operator"], BOB);
    let failed = of_step(&la, step, "step-failed");
    assert_eq!(failed.len(), 1, "{la:#?}");
    assert!(failed[0]["details"]["reason"].as_str().unwrap_or_default().contains(reason), "{failed:?}");
    assert!(of_step(&la, step, "step-executing").is_empty(), "a rejected step never executes");
    assert_eq!(replicas(cp, &e.app), 1, "nothing scaled");
    // B catches up (a refused decision still brings its copy to the store's head).
    let late = b.run(&["approve", &id, &step.to_string(), "--yes", "--operator", BOB]);
    assert_eq!(late.code, Some(3), "{late:?}");
    assert_same_as_store(&a, &e, &id);
    assert_same_as_store(&b, &e, &id);
}

#[test]
fn with_the_store_unreachable_another_host_decides_nothing() {
    let cp = ControlPlane::shared();
    let e = estate(cp, "xdown");
    let (a, b) = (host(&e), host(&e));
    let mut child = exec(&a, Some("two"), "6");
    let (id, step, _, _) = awaiting(&a, &mut child, &[]);
    // B holds a copy of the incident, but its war-room store is a closed port.
    let mut kc: Value = serde_json::from_slice(&std::fs::read(&cp.kubeconfig).unwrap()).unwrap();
    for c in kc["clusters"].as_array_mut().unwrap() {
        c["cluster"]["server"] = "https://127.0.0.1:9".into();
    }
    let dead = b.write("dead.kubeconfig", &kc.to_string());
    let config = std::fs::read_to_string(b.path().join("xdg-config/warroom/warroom.toml")).unwrap();
    let (head, _) = config.split_once("[war_room]").unwrap();
    let w = &e.war_room;
    let war_room = format!(
        "[war_room]\ncontext = \"{}\"\nnamespace = \"{}\"\nkubeconfig = \"{}\"\n",
        w.context,
        w.namespace,
        dead.display()
    );
    b.write("xdg-config/warroom/warroom.toml", &format!("{head}{war_room}"));
    let local = b.data_dir().join("incidents");
    std::fs::create_dir_all(&local).unwrap();
    let copy = local.join(format!("{id}.jsonl"));
    std::fs::copy(log_path(&a).unwrap(), &copy).unwrap();
    let before = std::fs::read(&copy).unwrap();

    let out = b.run(&["approve", &id, &step.to_string(), "--yes", "--operator", BOB]);
    assert_eq!(out.code, Some(1), "{out:?}");
    eprintln!("B refused: {}", out.stderr.trim());
    assert!(
        out.stderr.trim().lines().count() == 1
            && out.stderr.contains("unreachable")
            && out.stderr.contains("nothing was decided"),
        "{out:?}"
    );
    assert!(
        !out.stderr.contains(TOKEN_USERS[0].0) && !out.stdout.contains(TOKEN_USERS[0].0),
        "no token: {out:?}"
    );
    assert_eq!(std::fs::read(&copy).unwrap(), before, "nothing written on B");
    // A never got an approval: its step times out and nothing is scaled.
    let out = finish(child);
    assert_eq!(out.code, Some(3), "{out:?}");
    assert!(out.stdout.contains("approval timed out"), "{out:?}");
    assert!(of_step(&entries(&a), step, "step-approved").is_empty());
    assert_eq!(replicas(cp, &e.app), 1, "nothing scaled");
}
