//! Hook points: the named moments hooks attach to.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{Error, Result};

macro_rules! hook_points {
    ($( $group:ident { $( $(#[doc = $doc:literal])* $variant:ident ),* $(,)? } )*) => {
        /// A named point in the life of the system, an agent, a tool, a
        /// workflow, state, a session, the event bus or performance, or a
        /// custom point (`custom:<name>`).
        ///
        /// The string form is the variant name (`"BeforeToolExecution"`);
        /// parsing an unknown name is an error that suggests the closest one.
        ///
        /// ```
        /// use llmspell_hooks::HookPoint;
        /// let p: HookPoint = "BeforeToolExecution".parse()?;
        /// assert_eq!(p, HookPoint::BeforeToolExecution);
        /// assert_eq!("custom:deploy".parse::<HookPoint>()?.to_string(), "custom:deploy");
        /// let err = "BeforeToolExecute".parse::<HookPoint>().unwrap_err();
        /// assert!(err.to_string().contains("did you mean \"BeforeToolExecution\"?"));
        /// # Ok::<(), llmspell_hooks::Error>(())
        /// ```
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum HookPoint {
            $( $( $(#[doc = $doc])* $variant, )* )*
            /// A point named by its user: `custom:<name>`.
            Custom(Arc<str>),
        }

        /// The family a hook point belongs to.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum HookGroup {
            $( #[doc = concat!("The `", stringify!($group), "` points.")] $group, )*
            /// Custom points.
            Custom,
        }

        const BUILTIN: &[(HookPoint, &str, HookGroup)] = &[
            $( $( (HookPoint::$variant, stringify!($variant), HookGroup::$group), )* )*
        ];

        /// Ordinals of the built-in points, in declaration order.
        #[allow(clippy::enum_variant_names)]
        enum Ordinal {
            $( $( $variant, )* )*
        }

        impl HookPoint {
            /// The position of a built-in point in [`HookPoint::all`]; `None`
            /// for custom points. Constant time.
            #[inline]
            pub fn index(&self) -> Option<usize> {
                match self {
                    $( $( HookPoint::$variant => Some(Ordinal::$variant as usize), )* )*
                    HookPoint::Custom(_) => None,
                }
            }
        }
    };
}

hook_points! {
    System {
        /// The host started.
        SystemStartup,
        /// The host is shutting down.
        SystemShutdown,
        /// Configuration changed.
        ConfigurationChange,
        /// A resource limit was exceeded.
        ResourceLimitExceeded,
        /// A security rule fired.
        SecurityViolation,
    }
    Agent {
        /// Before an agent initialises.
        BeforeAgentInit,
        /// After an agent initialised.
        AfterAgentInit,
        /// Before an agent handles an input.
        BeforeAgentExecution,
        /// After an agent handled an input.
        AfterAgentExecution,
        /// An agent was paused.
        AgentPaused,
        /// An agent was resumed.
        AgentResumed,
        /// An agent failed.
        AgentError,
        /// An agent is recovering from an error.
        AgentRecovering,
        /// Before an agent shuts down.
        BeforeAgentShutdown,
        /// After an agent shut down.
        AfterAgentShutdown,
    }
    Llm {
        /// Before a language-model request.
        BeforeLlmCall,
        /// After a language-model response.
        AfterLlmCall,
        /// A streamed chunk of a response.
        LlmStreamChunk,
        /// A language-model call failed.
        LlmError,
    }
    Tool {
        /// Before tools are listed or searched.
        BeforeToolDiscovery,
        /// After tools were listed or searched.
        AfterToolDiscovery,
        /// A tool's parameters are being validated.
        ToolValidation,
        /// A tool call's security level is being checked.
        ToolSecurityCheck,
        /// Resources for a tool call were allocated.
        ToolResourceAllocated,
        /// Before a tool runs.
        BeforeToolExecution,
        /// After a tool ran.
        AfterToolExecution,
        /// Resources of a tool call were released.
        ToolResourceReleased,
        /// A tool call timed out.
        ToolTimeout,
        /// A tool call failed.
        ToolError,
    }
    Workflow {
        /// Before a workflow starts.
        BeforeWorkflowStart,
        /// After a workflow completed.
        AfterWorkflowComplete,
        /// A workflow failed.
        WorkflowError,
        /// Before a workflow step.
        BeforeWorkflowStage,
        /// After a workflow step.
        AfterWorkflowStage,
        /// Between two steps.
        WorkflowStageTransition,
        /// A workflow checkpointed its state.
        WorkflowCheckpoint,
        /// A workflow rolled back.
        WorkflowRollback,
        /// A conditional workflow evaluated a condition.
        WorkflowConditionEvaluated,
        /// A conditional workflow selected a branch.
        WorkflowBranchSelected,
        /// A loop iteration starts.
        LoopIterationStart,
        /// A loop iteration ended.
        LoopIterationEnd,
        /// A loop ended.
        LoopTerminated,
        /// A parallel workflow forks its branches.
        ParallelFork,
        /// A parallel workflow joined its branches.
        ParallelJoin,
    }
    State {
        /// Before shared state is read.
        BeforeStateRead,
        /// After shared state was read.
        AfterStateRead,
        /// Before shared state is written.
        BeforeStateWrite,
        /// After shared state was written.
        AfterStateWrite,
        /// Concurrent writes conflicted.
        StateConflict,
        /// State is being migrated.
        StateMigration,
    }
    Session {
        /// A session started.
        SessionStart,
        /// A session ended.
        SessionEnd,
        /// A session checkpointed.
        SessionCheckpoint,
        /// A session was restored.
        SessionRestore,
    }
    Event {
        /// Before an event is emitted.
        BeforeEventEmit,
        /// After an event was emitted.
        AfterEventEmit,
        /// An event handler (subscription callback) failed.
        EventHandlerError,
    }
    Performance {
        /// A performance threshold was exceeded.
        PerformanceThresholdExceeded,
        /// Memory use is high.
        MemoryUsageHigh,
    }
}

/// The prefix of custom point names.
pub const CUSTOM_PREFIX: &str = "custom:";

impl HookPoint {
    /// Number of built-in points.
    pub const COUNT: usize = BUILTIN.len();

    /// Every built-in point, in a stable order (grouped by family).
    pub fn all() -> impl ExactSizeIterator<Item = HookPoint> {
        BUILTIN.iter().map(|(p, _, _)| p.clone())
    }

    /// A custom point `custom:<name>`.
    ///
    /// # Errors
    /// [`Error::InvalidHookPoint`] if `name` is empty or not made of
    /// letters, digits, `_`, `-`, `.` and `:`.
    pub fn custom(name: &str) -> Result<Self> {
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))
        {
            return Err(Error::InvalidHookPoint {
                name: format!("{CUSTOM_PREFIX}{name}"),
                message: "custom point names are non-empty and use letters, digits, '_', '-', '.' and ':'"
                    .to_owned(),
            });
        }
        Ok(HookPoint::Custom(Arc::from(name)))
    }

    /// The canonical name: the variant name or `custom:<name>`.
    pub fn name(&self) -> std::borrow::Cow<'static, str> {
        match self {
            // Concatenated, not formatted: hook contexts name their point
            // on every call.
            HookPoint::Custom(n) => [CUSTOM_PREFIX, n].concat().into(),
            other => other.index().map_or("", |i| BUILTIN[i].1).into(),
        }
    }

    /// The family of the point.
    pub fn group(&self) -> HookGroup {
        match self.index() {
            Some(i) => BUILTIN[i].2,
            None => HookGroup::Custom,
        }
    }

    /// Whether this is a custom point.
    pub fn is_custom(&self) -> bool {
        matches!(self, HookPoint::Custom(_))
    }

    /// The built-in name closest to `name`, for error messages.
    pub fn closest(name: &str) -> Option<&'static str> {
        llmspell_core::suggest::closest(name, BUILTIN.iter().map(|(_, n, _)| *n))
    }
}

impl fmt::Display for HookPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HookPoint::Custom(n) => write!(f, "{CUSTOM_PREFIX}{n}"),
            other => f.write_str(&other.name()),
        }
    }
}

impl FromStr for HookPoint {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        if let Some(name) = s.strip_prefix(CUSTOM_PREFIX) {
            return HookPoint::custom(name);
        }
        if let Some((p, _, _)) = BUILTIN.iter().find(|(_, n, _)| *n == s) {
            return Ok(p.clone());
        }
        // Accept case and separator variations of a valid name
        // (`before_tool_execution`), but say what the canonical form is otherwise.
        let squashed: String = s.chars().filter(|c| *c != '_' && *c != '-').collect();
        if let Some((p, _, _)) = BUILTIN
            .iter()
            .find(|(_, n, _)| n.eq_ignore_ascii_case(&squashed))
        {
            return Ok(p.clone());
        }
        Err(Error::UnknownHookPoint {
            name: s.to_owned(),
            suggestion: HookPoint::closest(s).map(str::to_owned),
        })
    }
}

impl Serialize for HookPoint {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.name())
    }
}

impl<'de> Deserialize<'de> for HookPoint {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn there_are_more_than_forty_points_with_unique_names() {
        const { assert!(HookPoint::COUNT >= 40) };
        let names: std::collections::BTreeSet<String> =
            HookPoint::all().map(|p| p.to_string()).collect();
        assert_eq!(names.len(), HookPoint::COUNT);
        for (i, p) in HookPoint::all().enumerate() {
            assert_eq!(p.index(), Some(i));
            assert_eq!(p.to_string().parse::<HookPoint>().unwrap(), p);
        }
    }

    #[test]
    fn component_point_names_are_exact() {
        for name in [
            "BeforeToolDiscovery",
            "AfterToolDiscovery",
            "ToolValidation",
            "ToolSecurityCheck",
            "ToolResourceAllocated",
            "BeforeToolExecution",
            "AfterToolExecution",
            "ToolResourceReleased",
            "ToolTimeout",
            "ToolError",
            "BeforeAgentInit",
            "AfterAgentInit",
            "BeforeAgentExecution",
            "AfterAgentExecution",
            "AgentPaused",
            "AgentResumed",
            "AgentError",
            "AgentRecovering",
            "BeforeAgentShutdown",
            "AfterAgentShutdown",
            "BeforeLlmCall",
            "AfterLlmCall",
            "LlmStreamChunk",
            "LlmError",
            "BeforeWorkflowStart",
            "AfterWorkflowComplete",
            "WorkflowError",
            "BeforeWorkflowStage",
            "AfterWorkflowStage",
            "WorkflowStageTransition",
            "WorkflowCheckpoint",
            "WorkflowRollback",
            "WorkflowConditionEvaluated",
            "WorkflowBranchSelected",
            "LoopIterationStart",
            "LoopIterationEnd",
            "LoopTerminated",
            "ParallelFork",
            "ParallelJoin",
            "EventHandlerError",
        ] {
            assert_eq!(name.parse::<HookPoint>().unwrap().to_string(), name);
        }
    }

    #[test]
    fn unknown_names_suggest_the_closest() {
        let err = "BeforeToolExecute"
            .parse::<HookPoint>()
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("did you mean \"BeforeToolExecution\"?"),
            "{err}"
        );
        let err = "AfterAgentExecutoin"
            .parse::<HookPoint>()
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"AfterAgentExecution\""), "{err}");
        let err = "zzzz".parse::<HookPoint>().unwrap_err().to_string();
        assert!(
            err.contains("zzzz") && err.contains("custom:<name>"),
            "{err}"
        );
    }

    #[test]
    fn custom_points_and_case_variants() {
        let p: HookPoint = "custom:deploy.start".parse().unwrap();
        assert!(p.is_custom());
        assert_eq!(p.group(), HookGroup::Custom);
        assert_eq!(p.index(), None);
        assert!("custom:".parse::<HookPoint>().is_err());
        assert!("custom:a b".parse::<HookPoint>().is_err());
        assert_eq!(
            "before_tool_execution".parse::<HookPoint>().unwrap(),
            HookPoint::BeforeToolExecution
        );
        assert_eq!(HookPoint::ToolError.group(), HookGroup::Tool);
    }
}
