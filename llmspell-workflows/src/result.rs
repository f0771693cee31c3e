//! What a workflow run returns.

use std::sync::Arc;

use llmspell_core::{Error, Result};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::WorkflowState;

/// A step failure the workflow absorbed (error policy `Continue` or
/// `Rollback`, or a failed branch of a parallel workflow that collects
/// errors).
///
/// JSON form: `{ "step", "branch", "iteration", "error": { kind, message, error, … } }`
/// (`branch` and `iteration` only when they apply; `error` is
/// [`Error::to_json`]).
#[derive(Debug, Clone, PartialEq)]
pub struct StepError {
    /// The failed step.
    pub step: String,
    /// The branch it ran in (conditional or parallel).
    pub branch: Option<String>,
    /// The loop iteration it ran in.
    pub iteration: Option<u64>,
    /// What went wrong.
    pub error: Error,
}

#[derive(Serialize, Deserialize)]
struct StepErrorForm {
    step: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    branch: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    iteration: Option<u64>,
    error: Value,
}

impl Serialize for StepError {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        StepErrorForm {
            step: self.step.clone(),
            branch: self.branch.clone(),
            iteration: self.iteration,
            error: self.error.to_json(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for StepError {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let f = StepErrorForm::deserialize(d)?;
        Ok(StepError {
            step: f.step,
            branch: f.branch,
            iteration: f.iteration,
            error: Error::from_json(&f.error),
        })
    }
}

/// Why a loop stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum LoopTermination {
    /// The items or the range ran out, or the `while` condition became false.
    Completed,
    /// `break_when` returned true.
    Break,
    /// `max_iterations` iterations ran (the loop stops; this is not an error).
    MaxIterations,
    /// A body step failed and the loop stopped with the error.
    Error,
    /// A hook cancelled.
    Cancelled,
}

impl LoopTermination {
    /// The snake_case name (`"max_iterations"`).
    pub fn as_str(self) -> &'static str {
        match self {
            LoopTermination::Completed => "completed",
            LoopTermination::Break => "break",
            LoopTermination::MaxIterations => "max_iterations",
            LoopTermination::Error => "error",
            LoopTermination::Cancelled => "cancelled",
        }
    }
}

/// The result of a workflow run.
///
/// JSON form (what [`llmspell_core::Workflow::execute`] returns and scripts
/// see): `{ success, outputs = { [step] = output }, state, duration_ms,
/// errors = [ … ] }`, plus `branch` (conditional: the branch that ran, or
/// `"default"`), `iterations` and `termination` (loop) when they apply.
///
/// `success` is true when no error was recorded in `errors`. A failure the
/// workflow does not absorb is not a result but an `Err` of the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkflowResult {
    /// Whether the run recorded no errors.
    pub success: bool,
    /// Each finished step's output (the same map as `state.outputs`, shared).
    #[serde(default)]
    pub outputs: Arc<Map<String, Value>>,
    /// The final state.
    #[serde(default)]
    pub state: WorkflowState,
    /// Wall time of the run in milliseconds.
    #[serde(default)]
    pub duration_ms: f64,
    /// Errors the run absorbed.
    #[serde(default)]
    pub errors: Vec<StepError>,
    /// Conditional workflows: the branch that ran (`"default"` for the
    /// default steps); absent when nothing ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// Loop workflows: iterations run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iterations: Option<u64>,
    /// Loop workflows: why the loop stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub termination: Option<LoopTermination>,
}

impl WorkflowResult {
    /// The JSON form.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// Reads the JSON form.
    ///
    /// # Errors
    /// `InvalidInput` when `value` is not shaped like a result (for
    /// instance after a hook replaced a workflow's output with something
    /// else).
    pub fn from_json(value: &Value) -> Result<Self> {
        serde_json::from_value(value.clone()).map_err(|e| {
            Error::invalid_input(
                "result",
                format!(
                    "{} is not a workflow result {{ success, outputs, state, duration_ms, errors }} \
                     (did a hook replace it?): {e}",
                    preview(value)
                ),
            )
        })
    }

    /// The output of step `name`.
    pub fn output(&self, name: &str) -> Option<&Value> {
        self.outputs.get(name)
    }
}

fn preview(v: &Value) -> String {
    let s = v.to_string();
    match s.char_indices().nth(80) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_with_errors_and_loop_fields() {
        let r = WorkflowResult {
            success: false,
            outputs: Arc::default(),
            state: WorkflowState::new(json!(1)),
            duration_ms: 1.5,
            errors: vec![StepError {
                step: "a".into(),
                branch: Some("left".into()),
                iteration: None,
                error: Error::execution("tool:x", "bad"),
            }],
            branch: None,
            iterations: Some(3),
            termination: Some(LoopTermination::MaxIterations),
        };
        let v = r.to_json();
        assert_eq!(v["errors"][0]["error"]["message"], "bad");
        assert_eq!(v["errors"][0]["branch"], "left");
        assert!(v["errors"][0].get("iteration").is_none());
        assert_eq!(v["termination"], "max_iterations");
        assert!(v.get("branch").is_none());
        assert_eq!(WorkflowResult::from_json(&v).unwrap(), r);
        let err = WorkflowResult::from_json(&json!("nope")).unwrap_err();
        assert!(err.to_string().contains("\"nope\""), "{err}");
    }
}
