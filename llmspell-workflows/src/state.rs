//! The shared state of one workflow run, and the state hook points its
//! reads and writes pass.

use std::collections::HashMap;
use std::sync::Arc;

use llmspell_core::{ComponentId, Error, ExecutionContext, Result};
use llmspell_hooks::{HookExecutor, HookPoint};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::phase::fire;

/// A snapshot of a workflow's state, as step inputs, function steps,
/// conditions and the result see it:
/// `{ input, outputs = { [step] = output }, vars = { … }, iteration, item }`.
///
/// `iteration` (1 for the first) and `item` (the current element of a loop
/// over items, or the current number of a range) are present inside loops
/// only. Snapshots are cheap to clone: the parts are shared and copied on
/// write.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkflowState {
    /// The workflow's input (after `BeforeWorkflowStart` hooks).
    pub input: Arc<Value>,
    /// Each finished step's output, under the step's name.
    #[serde(default)]
    pub outputs: Arc<Map<String, Value>>,
    /// Workflow variables: initial ones from the builder, then those written
    /// by steps with [`crate::Step::save_as`].
    #[serde(default)]
    pub vars: Arc<Map<String, Value>>,
    /// The loop iteration, inside loops.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iteration: Option<u64>,
    /// The loop's current item, inside loops over items or ranges.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<Arc<Value>>,
}

impl WorkflowState {
    /// A state with `input` and nothing else.
    pub fn new(input: Value) -> Self {
        Self {
            input: Arc::new(input),
            ..Self::default()
        }
    }

    /// The output of step `name`, if it finished.
    pub fn output(&self, name: &str) -> Option<&Value> {
        self.outputs.get(name)
    }

    /// The variable `name`.
    pub fn var(&self, name: &str) -> Option<&Value> {
        self.vars.get(name)
    }

    /// The JSON form.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// Reads the JSON form (as produced by [`to_json`](Self::to_json),
    /// possibly edited by a hook).
    ///
    /// # Errors
    /// `InvalidInput` naming `field` when `value` is not a state object.
    pub fn from_json(value: &Value, field: &str) -> Result<Self> {
        serde_json::from_value(value.clone()).map_err(|e| {
            Error::invalid_input(
                field,
                format!(
                    "expected a state object {{ input, outputs = {{}}, vars = {{}}, iteration, item }}: {e}"
                ),
            )
        })
    }
}

/// The part of the state a write goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StateScope {
    /// `outputs`: step outputs.
    Outputs,
    /// `vars`: workflow variables.
    Vars,
}

impl StateScope {
    /// `"outputs"` or `"vars"`.
    pub fn as_str(self) -> &'static str {
        match self {
            StateScope::Outputs => "outputs",
            StateScope::Vars => "vars",
        }
    }
}

/// The writes of one step list, newest last, with the values they replaced,
/// so that a rollback can undo them.
#[derive(Debug, Default)]
pub(crate) struct Journal {
    entries: Vec<(StateScope, String, Option<Value>)>,
}

/// The live state of one workflow run. Reads hand out snapshots; writes go
/// through `BeforeStateWrite` / `AfterStateWrite`. The lock is never held
/// across an await.
pub(crate) struct SharedState {
    state: Mutex<WorkflowState>,
    executor: HookExecutor,
    component: ComponentId,
    /// The parallel branch that last wrote each key written from inside a
    /// parallel run (fork number, branch name).
    writers: Mutex<HashMap<(StateScope, String), Writer>>,
}

/// Who last wrote a key from inside a parallel run: the fork number and
/// the branch name.
type Writer = (u64, Arc<str>);

/// One write to the state.
pub(crate) struct Write<'a> {
    scope: StateScope,
    key: &'a str,
    value: Value,
    /// The step writing.
    writer: &'a str,
    /// The parallel run and branch writing, if inside one.
    origin: Option<(u64, &'a str)>,
}

impl<'a> Write<'a> {
    pub(crate) fn new(scope: StateScope, key: &'a str, value: Value, writer: &'a str) -> Self {
        Self {
            scope,
            key,
            value,
            writer,
            origin: None,
        }
    }

    /// Marks the write as made by a parallel branch.
    pub(crate) fn from(mut self, origin: Option<(u64, &'a str)>) -> Self {
        self.origin = origin;
        self
    }
}

impl SharedState {
    pub(crate) fn new(
        state: WorkflowState,
        executor: HookExecutor,
        component: ComponentId,
    ) -> Self {
        Self {
            state: Mutex::new(state),
            executor,
            component,
            writers: Mutex::new(HashMap::new()),
        }
    }

    /// A snapshot without firing hooks (checkpoints, results).
    pub(crate) fn snapshot(&self) -> WorkflowState {
        self.state.lock().clone()
    }

    /// Sets the loop position (not a write: no hooks).
    pub(crate) fn set_position(&self, iteration: Option<u64>, item: Option<Arc<Value>>) {
        let mut s = self.state.lock();
        s.iteration = iteration;
        s.item = item;
    }

    /// A snapshot for a callback, through `BeforeStateRead` (data:
    /// `{ reader }`; `Cancel` refuses the read, `Replace(state)` supplies
    /// it) and `AfterStateRead` (data: the snapshot; `Modified` or
    /// `Replace` changes what the reader sees, `Cancel` refuses).
    pub(crate) async fn read(
        &self,
        exec: &ExecutionContext,
        reader: &str,
    ) -> Result<WorkflowState> {
        let registry = self.executor.registry();
        if !registry.has_hooks(&HookPoint::BeforeStateRead)
            && !registry.has_hooks(&HookPoint::AfterStateRead)
        {
            return Ok(self.snapshot());
        }
        let meta = [(crate::metadata::STEP, reader)];
        let mut supplied = None;
        if let Some(f) = fire(
            &self.executor,
            HookPoint::BeforeStateRead,
            &self.component,
            exec,
            &meta,
            || json!({ "reader": reader }),
        )
        .await?
        {
            match f.replacement() {
                Some(v) => supplied = Some(v.clone()),
                None => f.ignore(crate::phase::SEE_GUIDE),
            }
        }
        let snapshot = match &supplied {
            Some(v) => WorkflowState::from_json(v, "state")?,
            None => self.snapshot(),
        };
        let Some(f) = fire(
            &self.executor,
            HookPoint::AfterStateRead,
            &self.component,
            exec,
            &meta,
            || snapshot.to_json(),
        )
        .await?
        else {
            return Ok(snapshot);
        };
        match f.replacement() {
            Some(v) => WorkflowState::from_json(v, "state"),
            None if f.modified => WorkflowState::from_json(&f.data, "state"),
            _ => {
                f.ignore(crate::phase::SEE_GUIDE);
                Ok(snapshot)
            }
        }
    }

    /// Writes `w.value` under `w.scope.key`, through `BeforeStateWrite`
    /// (data: `{ scope, key, value }`; `Modified` changes `value`, `Cancel`
    /// refuses with an error, `Replace` skips the write silently),
    /// `StateConflict` when another branch of the same parallel run wrote
    /// the key (see [`SharedState::resolve_conflict`]), and `AfterStateWrite`
    /// (same data; `Cancel` undoes the write and refuses). The replaced
    /// value is journaled when `journal` is given.
    pub(crate) async fn write(
        &self,
        exec: &ExecutionContext,
        w: Write<'_>,
        journal: Option<&mut Journal>,
    ) -> Result<()> {
        let Write {
            scope,
            key,
            writer,
            origin,
            ..
        } = w;
        let meta = [(crate::metadata::STEP, writer)];
        let mut value = w.value;
        if let Some(f) = fire(
            &self.executor,
            HookPoint::BeforeStateWrite,
            &self.component,
            exec,
            &meta,
            || json!({ "scope": scope, "key": key, "value": &value }),
        )
        .await?
        {
            if f.replacement().is_some() {
                return Ok(());
            }
            f.ignore(crate::phase::SEE_GUIDE);
            if f.modified {
                value = match f.data {
                    Value::Object(mut o) if o.contains_key("value") => {
                        o.remove("value").unwrap_or_default()
                    }
                    other => {
                        return Err(Error::invalid_input(
                            "state write",
                            format!(
                                "a BeforeStateWrite hook returned {other}; expected {{ scope, key, value }}"
                            ),
                        ));
                    }
                };
            }
        }
        if let Some(origin) = origin {
            value = self
                .resolve_conflict(exec, scope, key, value, writer, origin)
                .await?;
        }
        let after = self
            .executor
            .registry()
            .has_hooks(&HookPoint::AfterStateWrite);
        let echo = after.then(|| value.clone());
        let previous = self.apply(scope, key, Some(value));
        if let Some(value) = echo {
            let fired = fire(
                &self.executor,
                HookPoint::AfterStateWrite,
                &self.component,
                exec,
                &meta,
                || json!({ "scope": scope, "key": key, "value": value }),
            )
            .await;
            match fired {
                Ok(Some(f)) => f.ignore(crate::phase::SEE_GUIDE),
                Ok(None) => {}
                Err(e) => {
                    self.apply(scope, key, previous);
                    return Err(e);
                }
            }
        }
        if let Some(j) = journal {
            j.entries.push((scope, key.to_owned(), previous));
        }
        Ok(())
    }

    /// A write from branch `origin.1` of the parallel run `origin.0` to a key
    /// another branch of the same run already wrote is a conflict: the
    /// branches run concurrently, so which value stays would depend on
    /// timing. `StateConflict` fires with `{ scope, key, current, incoming,
    /// current_branch, incoming_branch }`; `Modified` writes the hooks'
    /// `incoming` (a merge), `Replace(value)` writes `value`, `Cancel` fails
    /// the incoming write with `Cancelled`, and otherwise the incoming value
    /// is written (the last writer wins). Returns the value to write.
    ///
    /// The check and the write are not one atomic step: hooks run between
    /// them, so a third branch writing meanwhile is judged against the
    /// value it found.
    async fn resolve_conflict(
        &self,
        exec: &ExecutionContext,
        scope: StateScope,
        key: &str,
        value: Value,
        writer: &str,
        (fork, branch): (u64, &str),
    ) -> Result<Value> {
        let conflict = {
            let mut writers = self.writers.lock();
            let slot = writers.entry((scope, key.to_owned()));
            let earlier = match &slot {
                std::collections::hash_map::Entry::Occupied(o) => {
                    let (f, b) = o.get();
                    (*f == fork && **b != *branch).then(|| b.clone())
                }
                std::collections::hash_map::Entry::Vacant(_) => None,
            };
            slot.insert_entry((fork, Arc::from(branch)));
            earlier
        };
        let Some(current_branch) = conflict else {
            return Ok(value);
        };
        let current = {
            let s = self.state.lock();
            match scope {
                StateScope::Outputs => s.outputs.get(key).cloned(),
                StateScope::Vars => s.vars.get(key).cloned(),
            }
        };
        tracing::debug!(%key, scope = scope.as_str(), %branch, %current_branch, "concurrent writes to one state key");
        let meta = [
            (crate::metadata::STEP, writer),
            (crate::metadata::BRANCH, branch),
        ];
        let Some(f) = fire(
            &self.executor,
            HookPoint::StateConflict,
            &self.component,
            exec,
            &meta,
            || {
                json!({
                    "scope": scope,
                    "key": key,
                    "current": current,
                    "incoming": &value,
                    "current_branch": &*current_branch,
                    "incoming_branch": branch,
                })
            },
        )
        .await?
        else {
            return Ok(value);
        };
        if let Some(merged) = f.replacement() {
            return Ok(merged.clone());
        }
        if !f.modified {
            f.ignore(crate::phase::SEE_GUIDE);
            return Ok(value);
        }
        match f.data {
            Value::Object(mut o) if o.contains_key("incoming") => {
                Ok(o.remove("incoming").unwrap_or_default())
            }
            other => Err(Error::invalid_input(
                "state conflict",
                format!(
                    "a StateConflict hook returned {other}; expected the conflict with `incoming` set to the value to write"
                ),
            )),
        }
    }

    /// Sets (or with `None` removes) `scope.key`; returns the old value.
    fn apply(&self, scope: StateScope, key: &str, value: Option<Value>) -> Option<Value> {
        let mut s = self.state.lock();
        let map = match scope {
            StateScope::Outputs => Arc::make_mut(&mut s.outputs),
            StateScope::Vars => Arc::make_mut(&mut s.vars),
        };
        match value {
            Some(v) => map.insert(key.to_owned(), v),
            None => map.shift_remove(key),
        }
    }

    /// The keys a rollback of `journal` would restore, in write order.
    pub(crate) fn journaled_keys(journal: &Journal) -> Vec<Value> {
        let mut keys: Vec<Value> = Vec::new();
        for (scope, key, _) in &journal.entries {
            let k = json!({ "scope": scope, "key": key });
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
        keys
    }

    /// Undoes the writes of `journal`, newest first (no hooks: the
    /// `WorkflowRollback` point covers the rollback as a whole).
    pub(crate) fn rollback(&self, journal: Journal) {
        for (scope, key, previous) in journal.entries.into_iter().rev() {
            self.apply(scope, &key, previous);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use llmspell_hooks::{HookRegistry, HookResult, sync_hook_fn};

    fn shared(registry: &HookRegistry) -> SharedState {
        SharedState::new(
            WorkflowState::new(json!({ "n": 1 })),
            HookExecutor::new(registry.clone()),
            ComponentId::workflow("wf"),
        )
    }

    #[test]
    fn json_form_has_the_script_shape() {
        let mut s = WorkflowState::new(json!(5));
        Arc::make_mut(&mut s.outputs).insert("a".into(), json!(1));
        assert_eq!(
            s.to_json(),
            json!({ "input": 5, "outputs": { "a": 1 }, "vars": {} })
        );
        s.iteration = Some(2);
        s.item = Some(Arc::new(json!("x")));
        let v = s.to_json();
        assert_eq!(
            (v["iteration"].clone(), v["item"].clone()),
            (json!(2), json!("x"))
        );
        assert_eq!(WorkflowState::from_json(&v, "s").unwrap(), s);
        assert!(WorkflowState::from_json(&json!(3), "s").is_err());
    }

    #[tokio::test]
    async fn writes_are_journaled_and_rolled_back() {
        let registry = HookRegistry::new();
        let st = shared(&registry);
        let exec = ExecutionContext::native();
        st.write(
            &exec,
            Write::new(StateScope::Vars, "k", json!(1), "a"),
            None,
        )
        .await
        .unwrap();
        let mut j = Journal::default();
        st.write(
            &exec,
            Write::new(StateScope::Vars, "k", json!(2), "b"),
            Some(&mut j),
        )
        .await
        .unwrap();
        st.write(
            &exec,
            Write::new(StateScope::Outputs, "b", json!(3), "b"),
            Some(&mut j),
        )
        .await
        .unwrap();
        assert_eq!(SharedState::journaled_keys(&j).len(), 2);
        st.rollback(j);
        let s = st.snapshot();
        assert_eq!(s.vars["k"], json!(1));
        assert!(s.outputs.get("b").is_none());
    }

    #[tokio::test]
    async fn write_hooks_modify_skip_and_refuse() {
        let registry = HookRegistry::new();
        let _h = registry.register(
            HookPoint::BeforeStateWrite,
            sync_hook_fn(|ctx| {
                Ok(match ctx.data["key"].as_str() {
                    Some("double") => HookResult::Modified(
                        json!({ "value": ctx.data["value"].as_i64().unwrap_or(0) * 2 }),
                    ),
                    Some("skip") => HookResult::Replace(Value::Null),
                    Some("deny") => HookResult::Cancel("read-only".into()),
                    _ => HookResult::Continue,
                })
            })
            .named("guard"),
        );
        let st = shared(&registry);
        let exec = ExecutionContext::native();
        for key in ["double", "skip", "plain"] {
            st.write(
                &exec,
                Write::new(StateScope::Vars, key, json!(4), "s"),
                None,
            )
            .await
            .unwrap();
        }
        let err = st
            .write(
                &exec,
                Write::new(StateScope::Vars, "deny", json!(4), "s"),
                None,
            )
            .await
            .unwrap_err();
        assert_eq!(
            err,
            Error::Cancelled {
                hook: "guard".into(),
                reason: "read-only".into()
            }
        );
        let s = st.snapshot();
        assert_eq!(s.vars["double"], json!(8));
        assert_eq!(s.vars["plain"], json!(4));
        assert!(s.vars.get("skip").is_none() && s.vars.get("deny").is_none());
    }

    #[tokio::test]
    async fn after_write_cancel_undoes_the_write() {
        let registry = HookRegistry::new();
        let _h = registry.register(
            HookPoint::AfterStateWrite,
            sync_hook_fn(|_| Ok(HookResult::Cancel("no".into()))),
        );
        let st = shared(&registry);
        let exec = ExecutionContext::native();
        assert!(
            st.write(
                &exec,
                Write::new(StateScope::Vars, "k", json!(1), "s"),
                None
            )
            .await
            .is_err()
        );
        assert!(st.snapshot().vars.is_empty());
    }

    #[tokio::test]
    async fn read_hooks_see_and_change_the_snapshot() {
        let registry = HookRegistry::new();
        let _h = registry.register(
            HookPoint::AfterStateRead,
            sync_hook_fn(|ctx| {
                let mut s = ctx.data.clone();
                s["vars"]["injected"] = json!(true);
                Ok(HookResult::Modified(s))
            }),
        );
        let st = shared(&registry);
        let s = st.read(&ExecutionContext::native(), "r").await.unwrap();
        assert_eq!(s.vars["injected"], json!(true));
        assert_eq!(*s.input, json!({ "n": 1 }));
        assert!(st.snapshot().vars.is_empty(), "the live state is unchanged");
    }
}
