//! Which side of an operation a hook point is on.

use crate::HookPoint;

/// The role of a hook point around a guarded operation, read from its name.
///
/// `data` holds the input at [`Before`](PointPhase::Before) points, the
/// output at [`After`](PointPhase::After) points and the error's JSON form at
/// [`Error`](PointPhase::Error) points; at [`Other`](PointPhase::Other)
/// points (lifecycle notices such as `AgentPaused`) it is whatever the
/// component reports.
///
/// ```
/// use llmspell_hooks::HookPoint;
/// use llmspell_hooks::builtin::PointPhase;
/// assert_eq!(PointPhase::of(&HookPoint::BeforeLlmCall), PointPhase::Before);
/// assert_eq!(PointPhase::of(&HookPoint::AfterToolExecution), PointPhase::After);
/// assert_eq!(PointPhase::of(&HookPoint::ToolError), PointPhase::Error);
/// assert_eq!(PointPhase::of(&HookPoint::ToolTimeout), PointPhase::Error);
/// assert_eq!(PointPhase::of(&HookPoint::AgentPaused), PointPhase::Other);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PointPhase {
    /// `Before…` points (and `ToolValidation`, `ToolSecurityCheck`): the input.
    Before,
    /// `After…` points: the output.
    After,
    /// `…Error` points and `ToolTimeout`: the error.
    Error,
    /// Every other point.
    Other,
}

impl PointPhase {
    /// The phase of `point`. Custom points are `Other` unless their name
    /// starts with `before`/`after` or ends with `error` (any case).
    pub fn of(point: &HookPoint) -> PointPhase {
        match point {
            HookPoint::ToolValidation | HookPoint::ToolSecurityCheck => PointPhase::Before,
            HookPoint::ToolTimeout => PointPhase::Error,
            HookPoint::Custom(name) => {
                let lower = name.to_ascii_lowercase();
                Self::from_name(&lower, "before", "after", "error")
            }
            other => Self::from_name(&other.name(), "Before", "After", "Error"),
        }
    }

    fn from_name(name: &str, before: &str, after: &str, error: &str) -> PointPhase {
        if name.starts_with(before) {
            PointPhase::Before
        } else if name.starts_with(after) {
            PointPhase::After
        } else if name.ends_with(error) {
            PointPhase::Error
        } else {
            PointPhase::Other
        }
    }
}
