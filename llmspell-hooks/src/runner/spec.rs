//! What a guarded operation is: its component, its Before/After/Error
//! points and its lifecycle topics.

use std::sync::Arc;

use llmspell_core::ComponentId;
use llmspell_events::Topic;

use crate::HookPoint;

/// The Before, After and Error points of a kind of operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardPoints {
    /// Fired with the input before the operation.
    pub before: HookPoint,
    /// Fired with the output after it.
    pub after: HookPoint,
    /// Fired with the error when it fails.
    pub error: HookPoint,
}

impl GuardPoints {
    /// `BeforeToolExecution` / `AfterToolExecution` / `ToolError`.
    pub fn tool() -> Self {
        Self {
            before: HookPoint::BeforeToolExecution,
            after: HookPoint::AfterToolExecution,
            error: HookPoint::ToolError,
        }
    }
    /// `BeforeAgentExecution` / `AfterAgentExecution` / `AgentError`.
    pub fn agent() -> Self {
        Self {
            before: HookPoint::BeforeAgentExecution,
            after: HookPoint::AfterAgentExecution,
            error: HookPoint::AgentError,
        }
    }
    /// `BeforeWorkflowStart` / `AfterWorkflowComplete` / `WorkflowError`.
    pub fn workflow() -> Self {
        Self {
            before: HookPoint::BeforeWorkflowStart,
            after: HookPoint::AfterWorkflowComplete,
            error: HookPoint::WorkflowError,
        }
    }
    /// `BeforeWorkflowStage` / `AfterWorkflowStage` / `WorkflowError` (one step).
    pub fn workflow_stage() -> Self {
        Self {
            before: HookPoint::BeforeWorkflowStage,
            after: HookPoint::AfterWorkflowStage,
            error: HookPoint::WorkflowError,
        }
    }
    /// `BeforeLlmCall` / `AfterLlmCall` / `LlmError`.
    pub fn llm() -> Self {
        Self {
            before: HookPoint::BeforeLlmCall,
            after: HookPoint::AfterLlmCall,
            error: HookPoint::LlmError,
        }
    }

    /// The kind of operation, by its Before point: `tool`, `agent`,
    /// `workflow`, `workflow_step`, `llm`, or `custom` for any other.
    pub(crate) fn family(&self) -> &'static str {
        match self.before {
            HookPoint::BeforeToolExecution => "tool",
            HookPoint::BeforeAgentExecution => "agent",
            HookPoint::BeforeWorkflowStart => "workflow",
            HookPoint::BeforeWorkflowStage => "workflow_step",
            HookPoint::BeforeLlmCall => "llm",
            _ => "custom",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Topics {
    pub(crate) started: Topic,
    pub(crate) completed: Topic,
    pub(crate) failed: Topic,
    pub(crate) cancelled: Topic,
    pub(crate) forked: Topic,
}

/// One guarded component: its identity, its points and its lifecycle topics
/// (`<kind>.<name>.started|completed|failed|cancelled`, plus `.forked`).
/// Build it once per component and reuse it.
#[derive(Debug, Clone)]
pub struct GuardSpec {
    pub(crate) component: ComponentId,
    pub(crate) points: GuardPoints,
    pub(crate) topics: Option<Arc<Topics>>,
    /// The part of the component the operation is (`step.fetch`), when
    /// it is one.
    pub(crate) part: Option<Arc<str>>,
}

impl GuardSpec {
    /// A spec for `component`. Lifecycle events are published only when the
    /// component's name is a valid topic segment (letters, digits, `_`, `:`, `-`).
    pub fn new(component: ComponentId, points: GuardPoints) -> Self {
        Self::with_prefix(component, points, "")
    }

    /// A spec whose lifecycle topics have an extra segment after the name
    /// (`workflow.<name>.step.started`, with `extra = "step"`).
    pub fn with_prefix(component: ComponentId, points: GuardPoints, extra: &str) -> Self {
        let base = if extra.is_empty() {
            format!("{}.{}", component.kind, component.name)
        } else {
            format!("{}.{}.{extra}", component.kind, component.name)
        };
        let t = |phase: &str| Topic::new(format!("{base}.{phase}")).ok();
        let topics = match (
            t("started"),
            t("completed"),
            t("failed"),
            t("cancelled"),
            t("forked"),
        ) {
            (Some(started), Some(completed), Some(failed), Some(cancelled), Some(forked)) => {
                Some(Arc::new(Topics {
                    started,
                    completed,
                    failed,
                    cancelled,
                    forked,
                }))
            }
            _ => None,
        };
        Self {
            component,
            points,
            topics,
            part: (!extra.is_empty()).then(|| Arc::from(extra)),
        }
    }

    /// The component.
    pub fn component(&self) -> &ComponentId {
        &self.component
    }

    /// The points.
    pub fn points(&self) -> &GuardPoints {
        &self.points
    }
}
