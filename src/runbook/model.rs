//! The runbook file format: a TOML document with an id, a title, parameters whose defaults come
//! from the current state, and ordered steps, each naming an operation with its arguments, a
//! `why` from the failover plan, an optional gate, risk and timeout.
//!
//! ```toml
//! id = "db-failover"
//! title = "Database failover"
//! description = "The PostgreSQL primary failed: promote the healthiest replica, ..."
//!
//! [[params]]
//! name = "candidate"
//! kind = "node"                 # node | region | text | number
//! from = "healthiest-replica"   # a default computed from the current state (or `default = "..."`)
//! description = "the replica to promote"
//!
//! [[steps]]
//! id = "promote"
//! op = "promote"
//! args = { node = "{candidate}" }   # `{param}` is replaced by the parameter's value
//! gate = "primary-down"             # not applicable (skipped, logged) unless this holds
//! why = "Promote the replica with the least lag (plan: Database Failover, Promote Replica)."
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;
use strum::{EnumString, IntoStaticStr, VariantNames};

use crate::operation::kind::OpKind;
use toml::Spanned;

use crate::operation::Risk;

/// A parsed runbook file (validated by [`super::parse`]).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Runbook {
    /// Identifier used by `warroom plan ID` and the picker (kebab-case).
    pub id: Spanned<String>,
    /// Title.
    pub title: String,
    /// What situation it is for.
    pub description: String,
    /// Parameters, resolved when the runbook starts.
    #[serde(default)]
    pub params: Vec<ParamDef>,
    /// Steps, in order.
    pub steps: Vec<StepDef>,
}

impl Runbook {
    /// The id.
    pub fn id(&self) -> &str {
        self.id.get_ref()
    }

    /// A parameter by name.
    pub fn param(&self, name: &str) -> Option<&ParamDef> {
        self.params.iter().find(|p| p.name.get_ref() == name)
    }
}

/// One parameter.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParamDef {
    /// Name, referenced as `{name}` in step arguments.
    pub name: Spanned<String>,
    /// What values are valid.
    #[serde(default)]
    pub kind: ParamKind,
    /// Shown in the picker and `warroom plan`.
    #[serde(default)]
    pub description: String,
    /// A literal default.
    #[serde(default)]
    pub default: Option<Spanned<String>>,
    /// A default computed from the current state.
    #[serde(default)]
    pub from: Option<Spanned<ParamSource>>,
    /// May stay unset (steps that use it are then not applicable); otherwise a parameter
    /// without a value stops the runbook from starting.
    #[serde(default)]
    pub optional: bool,
}

/// What a parameter's value must be.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, EnumString, IntoStaticStr, VariantNames,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum ParamKind {
    /// A configured PostgreSQL node name.
    Node,
    /// A configured region name.
    Region,
    /// A non-negative integer.
    Number,
    /// Free text.
    #[default]
    Text,
}

impl ParamKind {
    /// Name as written in files.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// Defaults computed from the current state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, EnumString, IntoStaticStr, VariantNames)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum ParamSource {
    /// The reachable replica with the least replay lag.
    HealthiestReplica,
    /// The primary that failed: a node that is down (else the current writable primary).
    FailedPrimary,
    /// The current writable primary.
    CurrentPrimary,
    /// The region configured with `role = "primary"`.
    PrimaryRegion,
    /// The region configured with `role = "secondary"`.
    SecondaryRegion,
    /// The region holding the most Route 53 weight now.
    TrafficRegion,
    /// During a split brain, the writable primary the database Service does not route to.
    UnroutedPrimary,
    /// The deployment (name) with pods crash-looping or not ready, most not-ready pods first.
    FailingDeployment,
}

impl ParamSource {
    /// Name as written in files.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// One step of a runbook.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepDef {
    /// Identifier within the runbook (`warroom exec --step ID`).
    pub id: Spanned<String>,
    /// The operation.
    pub op: Spanned<OpKind>,
    /// Arguments of the operation; string values may reference `{param}`.
    #[serde(default)]
    pub args: BTreeMap<String, Spanned<toml::Value>>,
    /// Why this step, from the failover plan: shown beside the step.
    pub why: String,
    /// Optional title (default: the operation's preview title).
    #[serde(default)]
    pub title: Option<String>,
    /// Raise the confirmation to typed (`high`); an operation's own risk is never lowered.
    #[serde(default)]
    pub risk: Option<Risk>,
    /// Execution timeout in seconds (default: `polling.execute_timeout_ms`).
    #[serde(default)]
    pub timeout_secs: Option<u64>,
    /// Only applicable when this holds (`name` or `name:{param}`).
    #[serde(default)]
    pub gate: Option<Spanned<String>>,
    /// People who must agree before it executes, the commander included (`2`: one other
    /// person approves); combined with `[approvals]`, the strictest rule wins.
    #[serde(default)]
    pub approvals: Option<Spanned<u32>>,
}

impl OpKind {
    /// Required and optional argument names.
    pub fn args(self) -> (&'static [&'static str], &'static [&'static str]) {
        match self {
            OpKind::CheckPrimary | OpKind::SentinelFailover => (&[], &[]),
            OpKind::Assert => (&["check"], &["region", "node", "max_lag_bytes"]),
            OpKind::Promote | OpKind::ExecPromote | OpKind::Fence | OpKind::RepointService => {
                (&["node"], &[])
            }
            OpKind::VerifyWrites => (&["node"], &[]),
            OpKind::LabelPod => (&["node"], &["label"]),
            OpKind::SetWeights => (&["target"], &[]),
            OpKind::ShiftTraffic => (&["target"], &["percents", "hold_secs"]),
            OpKind::Scale => (&["region"], &["replicas"]),
            OpKind::RollbackDeployment => (&["deployment"], &["region"]),
            OpKind::Manual => (&["instruction"], &[]),
            OpKind::VerifyDns => (&[], &["recheck_after_secs"]),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use serde::de::DeserializeOwned;

    use super::*;

    /// Every declared name parses (as text and as a serde name) back to the variant that
    /// prints it.
    fn round_trip<T>(names: &[&str], as_str: fn(T) -> &'static str)
    where
        T: FromStr + DeserializeOwned + PartialEq + std::fmt::Debug + Copy,
        T::Err: std::fmt::Debug,
    {
        for name in names {
            let parsed = T::from_str(name).expect("a declared name parses");
            let de: T = serde_json::from_value(serde_json::json!(name)).expect("serde reads the same name");
            assert_eq!(parsed, de, "{name}");
            assert_eq!(as_str(parsed), *name);
        }
    }

    #[test]
    fn every_vocabulary_name_parses_back_to_its_variant() {
        round_trip::<OpKind>(OpKind::VARIANTS, OpKind::as_str);
        round_trip::<ParamKind>(ParamKind::VARIANTS, ParamKind::as_str);
        round_trip::<ParamSource>(ParamSource::VARIANTS, ParamSource::as_str);
        assert_eq!(OpKind::VARIANTS.len(), 15);
        assert_eq!(ParamSource::VARIANTS.len(), 8);
        assert_eq!(OpKind::ShiftTraffic.to_string(), "shift-traffic");
        assert!(OpKind::from_str("promte").is_err());
    }
}
