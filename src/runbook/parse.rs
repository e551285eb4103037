//! Parse and validate runbook files: every problem names the file, line and column and says
//! what was expected (unknown operation, missing argument, reference to an undeclared
//! parameter, unknown gate or check).

use std::collections::HashSet;
use std::path::Path;

use toml::Spanned;

use std::str::FromStr;

use strum::VariantNames;

use super::gate::GateName;
use super::model::{ParamKind, ParamSource, Runbook, StepDef};
use crate::config::error::{ConfigError, closest, one_of};
use crate::operation::Risk;
use crate::operation::assertion::AssertionName;
use crate::operation::kind::OpKind;

/// Parse `text` (the contents of `file`) into a validated runbook.
pub fn parse(text: &str, file: &Path) -> Result<Runbook, Vec<ConfigError>> {
    let runbook: Runbook = toml::from_str(text).map_err(|e| vec![ConfigError::from_toml(file, text, &e)])?;
    let errors = validate(&runbook, text, file);
    if errors.is_empty() { Ok(runbook) } else { Err(errors) }
}

/// `{name}` references in a string, with their byte offsets inside it.
pub fn references(s: &str) -> Vec<(&str, usize)> {
    let mut out = Vec::new();
    let mut rest = s;
    let mut base = 0;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else { break };
        out.push((&rest[open + 1..open + close], base + open));
        base += open + close + 1;
        rest = &rest[open + close + 1..];
    }
    out
}

struct Check<'a> {
    text: &'a str,
    file: &'a Path,
    errors: Vec<ConfigError>,
}

impl Check<'_> {
    fn at<T>(&mut self, spanned: &Spanned<T>, message: impl Into<String>) {
        self.errors.push(ConfigError::at(self.file, self.text, spanned.span().start, message));
    }
}

fn validate(rb: &Runbook, text: &str, file: &Path) -> Vec<ConfigError> {
    let mut c = Check { text, file, errors: Vec::new() };
    let id = rb.id.get_ref();
    if id.is_empty() || !id.chars().all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-') {
        c.at(&rb.id, format!("runbook id {id:?}: expected kebab-case (a-z, 0-9, -)"));
    }
    let mut names = HashSet::new();
    for p in &rb.params {
        let name = p.name.get_ref();
        if !names.insert(name.as_str()) {
            c.at(&p.name, format!("parameter {name:?} is declared twice"));
        }
        if name.is_empty() || !name.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_') {
            c.at(&p.name, format!("parameter name {name:?}: expected letters, digits and _"));
        }
        if let (Some(d), Some(_)) = (&p.default, &p.from) {
            c.at(d, format!("parameter {name:?}: give either `default` or `from`, not both"));
        }
        if let Some(from) = &p.from {
            let expected = match from.get_ref() {
                ParamSource::HealthiestReplica
                | ParamSource::FailedPrimary
                | ParamSource::CurrentPrimary
                | ParamSource::UnroutedPrimary => ParamKind::Node,
                ParamSource::FailingDeployment => ParamKind::Text,
                _ => ParamKind::Region,
            };
            if p.kind != expected {
                c.at(
                    from,
                    format!(
                        "parameter {name:?}: `from = \"{}\"` gives a {}, but kind is {:?}: expected kind = \"{}\"",
                        from.get_ref().as_str(),
                        expected.as_str(),
                        p.kind.as_str(),
                        expected.as_str()
                    ),
                );
            }
        }
        if let (Some(d), ParamKind::Number) = (&p.default, p.kind)
            && d.get_ref().parse::<u64>().is_err()
        {
            c.at(d, format!("parameter {name:?}: default {:?} is not a number", d.get_ref()));
        }
    }
    if rb.steps.is_empty() {
        c.errors.push(ConfigError::whole_file(file, "a runbook needs at least one [[steps]] entry"));
    }
    let mut step_ids = HashSet::new();
    for step in &rb.steps {
        let sid = step.id.get_ref();
        if !step_ids.insert(sid.as_str()) {
            c.at(&step.id, format!("step id {sid:?} is used twice"));
        }
        if step.why.trim().is_empty() {
            c.at(
                &step.id,
                format!("step {sid:?}: `why` must say why (the console shows it beside the step)"),
            );
        }
        validate_step(&mut c, rb, step);
    }
    c.errors
}

fn validate_step(c: &mut Check<'_>, rb: &Runbook, step: &StepDef) {
    let kind = *step.op.get_ref();
    let sid = step.id.get_ref();
    let (required, optional) = kind.args();
    for (key, value) in &step.args {
        if !required.contains(&key.as_str()) && !optional.contains(&key.as_str()) {
            let mut expected: Vec<&str> = required.iter().chain(optional).copied().collect();
            if expected.is_empty() {
                expected.push("no arguments");
            }
            c.at(
                value,
                format!("step {sid:?}: unknown argument `{key}` for {kind}: expected {}", one_of(&expected)),
            );
        }
        validate_value(c, rb, sid, key, value);
    }
    for key in required {
        if !step.args.contains_key(*key) {
            c.at(
                &step.op,
                format!("step {sid:?}: {kind} needs the argument `{key}` (args = {{ {key} = ... }})"),
            );
        }
    }
    if kind == OpKind::Assert
        && let Some(check) = step.args.get("check")
        && let Some(name) = check.get_ref().as_str()
    {
        match AssertionName::from_str(name) {
            Err(_) => {
                let hint = closest(name, AssertionName::VARIANTS.iter().copied());
                c.at(
                    check,
                    format!("step {sid:?}: unknown check {name:?}: expected {}", one_of(&suggest(hint))),
                );
            }
            Ok(kind) => {
                if let Some(arg) = kind.needs_arg()
                    && !step.args.contains_key(arg)
                {
                    c.at(check, format!("step {sid:?}: check {name:?} needs the argument `{arg}`"));
                }
            }
        }
    }
    if let Some(Risk::Low) = step.risk
        && kind.risk() == Risk::High
    {
        c.at(
            &step.op,
            format!("step {sid:?}: risk = \"low\" would lower {kind}'s risk: only `high` may be set"),
        );
    }
    if let Some(n) = &step.approvals
        && !(1..=crate::config::model::MAX_APPROVAL_PEOPLE).contains(n.get_ref())
    {
        c.at(
            n,
            format!(
                "step {sid:?}: approvals = {}: expected 1 to {} people, the commander included",
                n.get_ref(),
                crate::config::model::MAX_APPROVAL_PEOPLE
            ),
        );
    }
    if let Some(gate) = &step.gate {
        let g = gate.get_ref();
        let (name, arg) = match g.split_once(':') {
            Some((n, a)) => (n, Some(a)),
            None => (g.as_str(), None),
        };
        match GateName::from_str(name) {
            Err(_) => c.at(
                gate,
                format!("step {sid:?}: unknown gate {name:?}: expected {}", one_of(GateName::VARIANTS)),
            ),
            Ok(kind) if kind.takes_arg() != arg.is_some() => {
                let expected =
                    if kind.takes_arg() { format!("\"{name}:{{param}}\"") } else { format!("\"{name}\"") };
                c.at(gate, format!("step {sid:?}: gate {g:?}: expected {expected}"));
            }
            Ok(_) => {}
        }
        if let Some(arg) = arg {
            check_refs(c, rb, sid, gate, arg);
        }
    }
}

fn suggest(hint: Vec<&str>) -> Vec<&str> {
    if hint.is_empty() { AssertionName::VARIANTS.to_vec() } else { hint }
}

fn validate_value(c: &mut Check<'_>, rb: &Runbook, sid: &str, key: &str, value: &Spanned<toml::Value>) {
    let numeric = matches!(key, "replicas" | "hold_secs" | "max_lag_bytes");
    match value.get_ref() {
        toml::Value::String(s) => {
            check_refs(c, rb, sid, value, s);
            if numeric && references(s).is_empty() && s.parse::<u64>().is_err() {
                c.at(value, format!("step {sid:?}: `{key}` must be a non-negative integer, got {s:?}"));
            }
        }
        toml::Value::Integer(i) if numeric && *i >= 0 => {}
        toml::Value::Array(items) if key == "percents" => {
            let ok = !items.is_empty()
                && items.iter().all(|v| v.as_integer().is_some_and(|p| (1..=100).contains(&p)));
            if !ok {
                c.at(
                    value,
                    format!(
                        "step {sid:?}: `percents` must be a list of percentages 1-100, e.g. [10, 25, 50, 100]"
                    ),
                );
            }
        }
        other => {
            let expected = if numeric { "a non-negative integer" } else { "a string" };
            c.at(value, format!("step {sid:?}: `{key}` must be {expected}, got {}", other.type_str()));
        }
    }
}

fn check_refs<T>(c: &mut Check<'_>, rb: &Runbook, sid: &str, at: &Spanned<T>, s: &str) {
    for (name, _) in references(s) {
        if rb.param(name).is_none() {
            let declared: Vec<&str> = rb.params.iter().map(|p| p.name.get_ref().as_str()).collect();
            let expected = if declared.is_empty() {
                "no parameters are declared".to_string()
            } else {
                one_of(&declared)
            };
            c.at(at, format!("step {sid:?}: `{{{name}}}` is not a declared parameter: expected {expected}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(text: &str) -> Vec<String> {
        match parse(text, Path::new("rb.toml")) {
            Ok(_) => vec![],
            Err(e) => e.iter().map(ToString::to_string).collect(),
        }
    }

    const HEAD: &str = "id = \"t\"\ntitle = \"T\"\ndescription = \"d\"\n";

    #[test]
    fn references_are_found_with_offsets() {
        assert_eq!(references("a {x} b {yy}"), vec![("x", 2), ("yy", 8)]);
        assert!(references("no refs {").is_empty());
    }

    #[test]
    fn unknown_operation_names_line_column_and_choices() {
        let e = errors(&format!("{HEAD}[[steps]]\nid = \"a\"\nop = \"promte\"\nwhy = \"w\"\n"));
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].starts_with("rb.toml:6:6: unknown variant `promte`"), "{}", e[0]);
        assert!(e[0].contains("promote"), "{}", e[0]);
    }

    #[test]
    fn missing_argument_and_bad_reference_are_reported_where_they_are() {
        let text = format!(
            "{HEAD}[[params]]\nname = \"candidate\"\nkind = \"node\"\nfrom = \"healthiest-replica\"\n\n\
             [[steps]]\nid = \"p\"\nop = \"promote\"\nwhy = \"w\"\n\n\
             [[steps]]\nid = \"f\"\nop = \"fence\"\nargs = {{ node = \"{{candidat}}\" }}\nwhy = \"w\"\n"
        );
        let e = errors(&text);
        assert_eq!(e.len(), 2, "{e:?}");
        assert!(e[0].starts_with("rb.toml:11:6: step \"p\": promote needs the argument `node`"), "{}", e[0]);
        assert!(
            e[1].starts_with("rb.toml:17:17: step \"f\": `{candidat}` is not a declared parameter"),
            "{}",
            e[1]
        );
        assert!(e[1].contains("candidate"), "{}", e[1]);
    }

    #[test]
    fn approvals_out_of_range_is_reported_where_it_is() {
        let text = format!(
            "{HEAD}[[steps]]\nid = \"a\"\nop = \"sentinel-failover\"\napprovals = 0\nwhy = \"w\"\n\n             [[steps]]\nid = \"b\"\nop = \"sentinel-failover\"\napprovals = 2\nwhy = \"w\"\n"
        );
        let e = errors(&text);
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            e[0].starts_with("rb.toml:7:13: step \"a\": approvals = 0: expected 1 to 5 people"),
            "{}",
            e[0]
        );
    }

    #[test]
    fn unknown_argument_gate_check_and_lowered_risk_are_errors() {
        let text = format!(
            "{HEAD}[[steps]]\nid = \"a\"\nop = \"assert\"\nargs = {{ check = \"primary-dwn\", foo = \"x\" }}\n\
             gate = \"when-bored\"\nwhy = \"w\"\n\n[[steps]]\nid = \"b\"\nop = \"sentinel-failover\"\nrisk = \"low\"\nwhy = \"w\"\n"
        );
        let e = errors(&text).join("\n");
        assert!(e.contains("unknown check \"primary-dwn\": expected `primary-down`"), "{e}");
        assert!(e.contains("unknown argument `foo` for assert"), "{e}");
        assert!(e.contains("unknown gate \"when-bored\""), "{e}");
        assert!(e.contains("would lower sentinel-failover's risk"), "{e}");
    }

    #[test]
    fn an_unknown_check_or_gate_lists_every_declared_name() {
        let text = format!(
            "{HEAD}[[steps]]\nid = \"a\"\nop = \"assert\"\nargs = {{ check = \"zzzz\" }}\ngate = \"qqqq\"\nwhy = \"w\"\n"
        );
        let e = errors(&text).join("\n");
        let listed = |names: &[&str]| format!("expected {}", one_of(names));
        assert!(e.contains(&format!("unknown check \"zzzz\": {}", listed(AssertionName::VARIANTS))), "{e}");
        assert!(e.contains(&format!("unknown gate \"qqqq\": {}", listed(GateName::VARIANTS))), "{e}");
        for name in AssertionName::VARIANTS.iter().chain(GateName::VARIANTS) {
            assert!(e.contains(&format!("`{name}`")), "{name} missing from {e}");
        }
    }

    #[test]
    fn from_source_must_match_the_kind_and_ids_must_be_unique() {
        let text = format!(
            "{HEAD}[[params]]\nname = \"r\"\nkind = \"node\"\nfrom = \"secondary-region\"\n\n\
             [[steps]]\nid = \"a\"\nop = \"check-primary\"\nwhy = \"w\"\n[[steps]]\nid = \"a\"\nop = \"check-primary\"\nwhy = \"w\"\n"
        );
        let e = errors(&text).join("\n");
        assert!(e.contains("gives a region, but kind is \"node\""), "{e}");
        assert!(e.contains("step id \"a\" is used twice"), "{e}");
    }

    #[test]
    fn unknown_top_level_key_is_named() {
        let e = errors(&format!(
            "{HEAD}tittle = \"x\"\n[[steps]]\nid = \"a\"\nop = \"check-primary\"\nwhy = \"w\"\n"
        ));
        assert!(e[0].starts_with("rb.toml:4:1: unknown key `tittle`"), "{e:?}");
    }
}
