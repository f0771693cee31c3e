//! The set of actions a hook may return, which it declares in its metadata.
//!
//! The guarded runner reads the declarations of a point's hooks to skip the
//! work only some actions need: it keeps a copy of an operation's input only
//! when a hook of the operation could ask for a `Retry` or a `Redirect`. The
//! executor holds a hook to its declaration: any other action is an invalid
//! result, a failure of the hook (its fail mode applies).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::HookAction;

const EVERY: [HookAction; 9] = [
    HookAction::Continue,
    HookAction::Modified,
    HookAction::Cancel,
    HookAction::Redirect,
    HookAction::Replace,
    HookAction::Retry,
    HookAction::Fork,
    HookAction::Cache,
    HookAction::Skip,
];

/// A set of [`HookAction`]s.
///
/// ```
/// use llmspell_hooks::{ActionSet, HookAction};
///
/// let guard = ActionSet::OBSERVE.with(HookAction::Cancel);
/// assert!(guard.contains(HookAction::Continue) && guard.contains(HookAction::Cancel));
/// assert!(!guard.contains(HookAction::Retry));
/// assert!(ActionSet::ALL.contains(HookAction::Fork));
/// assert_eq!(guard.to_string(), "continue, cancel, skip");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ActionSet(u16);

impl ActionSet {
    /// Every action: what a hook that declares nothing may return.
    pub const ALL: ActionSet = ActionSet((1 << EVERY.len()) - 1);
    /// No action.
    pub const NONE: ActionSet = ActionSet(0);
    /// `Continue` and `Skip`: a hook that only looks (logging, metrics).
    pub const OBSERVE: ActionSet = ActionSet::NONE
        .with(HookAction::Continue)
        .with(HookAction::Skip);

    const fn bit(action: HookAction) -> u16 {
        1 << action as u16
    }

    /// This set with `action` added.
    #[must_use]
    pub const fn with(self, action: HookAction) -> ActionSet {
        ActionSet(self.0 | Self::bit(action))
    }

    /// Whether `action` is in the set.
    pub const fn contains(self, action: HookAction) -> bool {
        self.0 & Self::bit(action) != 0
    }

    /// Both sets' actions.
    #[must_use]
    pub const fn union(self, other: ActionSet) -> ActionSet {
        ActionSet(self.0 | other.0)
    }

    /// The actions, in declaration order of [`HookAction`].
    pub fn iter(self) -> impl Iterator<Item = HookAction> {
        EVERY.into_iter().filter(move |a| self.contains(*a))
    }
}

impl Default for ActionSet {
    fn default() -> Self {
        ActionSet::ALL
    }
}

impl FromIterator<HookAction> for ActionSet {
    fn from_iter<I: IntoIterator<Item = HookAction>>(iter: I) -> Self {
        iter.into_iter().fold(ActionSet::NONE, ActionSet::with)
    }
}

impl<const N: usize> From<[HookAction; N]> for ActionSet {
    fn from(actions: [HookAction; N]) -> Self {
        actions.into_iter().collect()
    }
}

impl fmt::Display for ActionSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.iter().map(HookAction::as_str).collect();
        f.write_str(&names.join(", "))
    }
}

impl fmt::Debug for ActionSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl Serialize for ActionSet {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for ActionSet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Vec::<HookAction>::deserialize(d)?.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_holds_every_action_and_none_holds_none() {
        for a in EVERY {
            assert!(ActionSet::ALL.contains(a));
            assert!(!ActionSet::NONE.contains(a));
        }
        assert_eq!(ActionSet::ALL.iter().count(), 9);
    }

    #[test]
    fn round_trips_as_a_list_of_names() {
        let set = ActionSet::from([HookAction::Modified, HookAction::Retry]);
        let json = serde_json::to_value(set).unwrap();
        assert_eq!(json, serde_json::json!(["modified", "retry"]));
        assert_eq!(serde_json::from_value::<ActionSet>(json).unwrap(), set);
        assert!(serde_json::from_value::<ActionSet>(serde_json::json!(["again"])).is_err());
    }
}
