//! Building steps: a layer that is not configured makes a step not applicable (the reason once),
//! a step that names what is not configured cannot be built.

use std::path::Path;

use super::*;
use crate::config::model::{PgNodeConfig, PostgresConfig};
use crate::runbook::parse::parse;

/// PostgreSQL only (no Kubernetes, no Route 53, no Sentinel), one node `pg-0`.
pub(crate) fn postgres_only() -> Config {
    Config {
        postgres: Some(PostgresConfig {
            max_lag_bytes: 0,
            service: None,
            nodes: vec![PgNodeConfig {
                name: "pg-0".into(),
                region: "r".into(),
                dsn: "host=127.0.0.1 port=1 user=postgres".into(),
                password_env: None,
                pod: None,
                data_dir: None,
            }],
        }),
        ..Config::default()
    }
}

/// Steps: `label` needs Kubernetes, `fence` names a node that is not configured, `promote` builds.
pub(crate) fn runbook() -> Runbook {
    let text = "id = \"t\"\ntitle = \"T\"\ndescription = \"d\"\n\n\
        [[steps]]\nid = \"label\"\nop = \"label-pod\"\nargs = { node = \"pg-0\" }\nwhy = \"w\"\n\n\
        [[steps]]\nid = \"fence\"\nop = \"fence\"\nargs = { node = \"pg-9\" }\nwhy = \"w\"\n\n\
        [[steps]]\nid = \"promote\"\nop = \"promote\"\nargs = { node = \"pg-0\" }\nwhy = \"w\"\n";
    parse(text, Path::new("t.toml")).expect("valid runbook")
}

fn built(key: &str) -> Result<Operation, BuildError> {
    let steps = plan(&runbook(), &postgres_only(), &Observed::default(), &[]);
    steps.into_iter().find(|s| s.key == key).expect("planned").op
}

#[test]
fn a_layer_that_is_not_configured_is_not_applicable_with_the_reason_once() {
    let e = built("label").expect_err("no Kubernetes");
    assert_eq!(e, BuildError::NotApplicable("Kubernetes is not configured".into()));
    assert_eq!(e.reason(), "Kubernetes is not configured");
    assert_eq!(e.to_string(), "not applicable: Kubernetes is not configured");
}

#[test]
fn a_step_naming_what_is_not_configured_is_invalid() {
    let e = built("fence").expect_err("no node pg-9");
    assert_eq!(e, BuildError::Invalid("no PostgreSQL node named pg-9".into()));
    assert_eq!(e.to_string(), "cannot be built: no PostgreSQL node named pg-9");
}

#[test]
fn an_unset_optional_parameter_is_not_applicable_and_a_missing_one_invalid() {
    let text = "id = \"t\"\ntitle = \"T\"\ndescription = \"d\"\n\n\
        [[params]]\nname = \"n\"\nkind = \"node\"\noptional = true\n\n\
        [[steps]]\nid = \"fence\"\nop = \"fence\"\nargs = { node = \"{n}\" }\nwhy = \"w\"\n";
    let rb = parse(text, Path::new("t.toml")).expect("valid runbook");
    let unset = [ResolvedParam { name: "n".into(), value: String::new(), origin: "unset: no value".into() }];
    let op = plan(&rb, &postgres_only(), &Observed::default(), &unset).remove(0).op;
    assert_eq!(op, Err(BuildError::NotApplicable("parameter n is unset: no value".into())));
    let op = plan(&rb, &postgres_only(), &Observed::default(), &[]).remove(0).op;
    assert_eq!(op, Err(BuildError::Invalid("parameter n has no value".into())));
}

#[test]
fn a_real_manual_step_stays_manual_and_a_buildable_step_builds() {
    assert!(matches!(built("promote"), Ok(Operation::PromotePostgres { ref node, .. }) if node == "pg-0"));
    let text = "id = \"t\"\ntitle = \"T\"\ndescription = \"d\"\n\n\
        [[steps]]\nid = \"call\"\nop = \"manual\"\nargs = { instruction = \"Call the DBA\" }\nwhy = \"w\"\n";
    let rb = parse(text, Path::new("t.toml")).expect("valid runbook");
    let op = plan(&rb, &Config::default(), &Observed::default(), &[]).remove(0).op;
    assert_eq!(op, Ok(Operation::Manual { instruction: "Call the DBA".into() }));
}
