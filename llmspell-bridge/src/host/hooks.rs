//! The operations behind the `Hook` global.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use llmspell_core::{ComponentId, ComponentType, Language};
use llmspell_hooks::{
    CompositeHook, Composition, FailMode, Hook, HookContext, HookFilter, HookId, HookMetadata,
    HookOptions, HookPoint, HookResult, Priority,
};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{CallOptions, Host, HostError, options};
use crate::ScriptFunction;
use crate::script_hook::ScriptHook;

/// What `Hook.fire` reports: the action, the data as the hooks left it,
/// and the fields of the action (`reason`, `value`, `target`, ...).
pub(crate) struct Fired {
    pub(crate) action: &'static str,
    pub(crate) data: Value,
    pub(crate) fields: Vec<(&'static str, Value)>,
}

impl Fired {
    /// Whether the hooks left the data equal to `original` (the data the
    /// caller gave), so the caller's own value can be handed back.
    pub(crate) fn data_unchanged(&self, original: &Value) -> bool {
        same_json(&self.data, original)
    }
}

/// JSON equality that first tries the common case of objects with the same
/// keys in the same order, without hashing; anything else falls back to
/// `==` (which ignores key order).
fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && (x
                    .iter()
                    .zip(y.iter())
                    .all(|((ka, va), (kb, vb))| ka == kb && same_json(va, vb))
                    || x == y)
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_json(p, q))
        }
        _ => a == b,
    }
}

/// A hook as a script gives it to `Hook.register`: a function, or a
/// composite (`Hook.sequential`, `Hook.first_match`, `Hook.parallel`,
/// `Hook.voting`) of functions and composites.
#[derive(Clone)]
pub enum HookBody {
    /// A script function.
    Function(ScriptFunction),
    /// Members combined by `composition`.
    Composite {
        /// How the members' results combine.
        composition: Composition,
        /// The members, in order.
        members: Vec<HookBody>,
    },
}

impl HookBody {
    /// A composite of `kind` (`sequential`, `first_match`, `parallel`,
    /// `voting`) over `members`; `threshold` is the voting share.
    ///
    /// # Errors
    /// No members, an unknown kind, or a threshold outside (0, 1].
    pub fn composite(
        kind: &str,
        members: Vec<HookBody>,
        threshold: Option<f64>,
    ) -> Result<Self, HostError> {
        if members.is_empty() {
            return Err(format!("Hook.{kind}: give at least one hook function").into());
        }
        let composition = match kind {
            "sequential" => Composition::Sequential,
            "first_match" => Composition::FirstMatch,
            "parallel" => Composition::Parallel,
            "voting" => {
                let t = threshold.unwrap_or(0.5);
                if !(t > 0.0 && t <= 1.0) {
                    return Err(format!(
                        "Hook.voting: `threshold` must be a share in (0, 1], got {t}"
                    )
                    .into());
                }
                Composition::Voting { threshold: t }
            }
            other => {
                return Err(format!(
                    "unknown composite {other:?}; valid: sequential, first_match, parallel, voting"
                )
                .into());
            }
        };
        if threshold.is_some() && kind != "voting" {
            return Err(format!("Hook.{kind} takes no threshold (only Hook.voting does)").into());
        }
        Ok(HookBody::Composite {
            composition,
            members,
        })
    }

    /// The language of its functions (the first one's).
    fn language(&self) -> Language {
        match self {
            HookBody::Function(f) => f.language(),
            HookBody::Composite { members, .. } => {
                members.first().map_or(Language::Native, HookBody::language)
            }
        }
    }
}

impl Host {
    /// Parses a point name; the error names it and suggests the closest one.
    pub fn point(&self, name: &str) -> Result<HookPoint, HostError> {
        HookPoint::from_str(name).map_err(HostError::from)
    }

    /// Registers `body` (a script function or a composite of them) at
    /// `point` with script options (`priority`, `name`, `tags`,
    /// `timeout_ms`, `fail`, `component`) or a bare priority string. Returns
    /// the hook's id.
    pub fn register_hook(
        &self,
        point: &str,
        body: HookBody,
        options: &Value,
    ) -> Result<(HookId, HookPoint), HostError> {
        let point = self.point(point)?;
        let language = body.language();
        let (opts, timeout, name) = self.hook_options(options, language)?;
        let handle = match body {
            // Replayable by name: with `record_hooks` its executions are
            // recorded, and `Hook.replay` finds it (costs nothing otherwise).
            HookBody::Function(function) => {
                let hook = Arc::new(self.script_hook(function, timeout, name, language));
                self.inner
                    .hooks
                    .register_replayable(point.clone(), hook, opts)
            }
            body => {
                let hook = self.build_hook(body, timeout, name, language);
                self.inner.hooks.register_with(point.clone(), hook, opts)
            }
        }
        .map_err(HostError::from)?;
        Ok((handle.forget(), point))
    }

    /// `Hook.budget(component, { per_call_ms, policy, kind })`: a budget of
    /// hook time per call for the components `component` names (a name or
    /// a glob); `options` null removes it. Returns whether a budget was set
    /// (or removed).
    ///
    /// # Errors
    /// A bad option (naming the valid ones), a zero budget, a bad glob.
    pub fn set_component_budget(
        &self,
        component: &str,
        options: &Value,
    ) -> Result<bool, HostError> {
        let runner = self.inner.tools.runner();
        if options.is_null() {
            return Ok(runner.remove_component_budget(component, None));
        }
        let o: BudgetOptions = options::read(options, "budget option")?;
        let Some(ms) = o.per_call_ms.filter(|ms| ms.is_finite() && *ms > 0.0) else {
            return Err(
                "Hook.budget: `per_call_ms` (a positive number of milliseconds) is required".into(),
            );
        };
        let mut budget =
            llmspell_hooks::ComponentBudget::new(component, Duration::from_secs_f64(ms / 1000.0));
        if let Some(p) = &o.policy {
            budget = budget.policy(match p.as_str() {
                "report" => llmspell_hooks::BudgetPolicy::Report,
                "skip_fail_open" => llmspell_hooks::BudgetPolicy::SkipFailOpen,
                "refuse" => llmspell_hooks::BudgetPolicy::Refuse,
                other => {
                    return Err(format!(
                        "unknown budget policy {other:?}; valid: report, skip_fail_open, refuse"
                    )
                    .into());
                }
            });
        }
        if let Some(k) = &o.kind {
            budget = budget.kind(ComponentType::from_str(k).map_err(HostError::from)?);
        }
        runner.set_component_budget(budget)?;
        Ok(true)
    }

    /// `Hook.component_stats()`: hook time per component, with a total per
    /// kind (name `*`).
    pub fn component_hook_stats(&self) -> Value {
        serde_json::to_value(self.inner.tools.runner().component_hook_stats())
            .unwrap_or(Value::Null)
    }

    /// The hook of a script function.
    fn script_hook(
        &self,
        function: ScriptFunction,
        timeout: Duration,
        name: String,
        language: Language,
    ) -> ScriptHook {
        let metadata = HookMetadata {
            name,
            language,
            ..HookMetadata::default()
        };
        ScriptHook::new(function, timeout, metadata).reporting_to(self)
    }

    /// `Hook.replay(filter)`: every recorded execution (of hook `hook`, or of
    /// operation `correlation_id`) run again against the hook registered
    /// now under the same name, with both results and whether they agree.
    ///
    /// # Errors
    /// A bad filter, or a storage error reading the records.
    pub async fn replay(&self, filter: &Value) -> Result<Value, HostError> {
        let f: ReplayFilter = options::read(filter, "replay option")?;
        let correlation = f
            .correlation_id
            .as_deref()
            .map(llmspell_core::CorrelationId::from_str)
            .transpose()
            .map_err(|e| HostError::invalid(format!("replay option `correlation_id`: {e}")))?;
        let reports = self
            .inner
            .recorder
            .replay_all(&self.inner.hooks, f.hook.as_deref(), correlation.as_ref())
            .await?;
        serde_json::to_value(reports).map_err(|e| HostError::new("other", e.to_string()))
    }

    /// The hook of `body`: a [`ScriptHook`] for a function, a
    /// [`CompositeHook`] of the members' hooks for a composite (members are
    /// named `<name>[i]`).
    fn build_hook(
        &self,
        body: HookBody,
        timeout: Duration,
        name: String,
        language: Language,
    ) -> Arc<dyn Hook> {
        match body {
            HookBody::Function(function) => {
                Arc::new(self.script_hook(function, timeout, name, language))
            }
            HookBody::Composite {
                composition,
                members,
            } => {
                let hooks = members
                    .into_iter()
                    .enumerate()
                    .map(|(i, m)| {
                        self.build_hook(m, timeout, format!("{name}[{}]", i + 1), language)
                    })
                    .collect();
                let metadata = HookMetadata {
                    name: name.clone(),
                    language,
                    ..HookMetadata::default()
                };
                Arc::new(CompositeHook::new(name, composition, hooks).with_metadata(metadata))
            }
        }
    }

    fn hook_options(
        &self,
        options: &Value,
        language: Language,
    ) -> Result<(HookOptions, Duration, String), HostError> {
        let mut opts = HookOptions::new().language(language);
        let mut timeout = self.inner.live.callback_timeout();
        let mut name = format!("{language}-hook");
        match options {
            Value::Null => {}
            // rs-llmspell 0.4 style: a priority string as the third argument.
            Value::String(p) => {
                opts = opts.priority(Priority::from_str(p).map_err(HostError::from)?);
            }
            Value::Number(_) => opts = opts.priority(priority_of(options)?),
            Value::Object(_) => opts = table_options(options, opts, &mut timeout, &mut name)?,
            other => return Err(format!("hook options must be a table, got {other}").into()),
        }
        Ok((opts.name(name.clone()).timeout(timeout), timeout, name))
    }

    /// Removes a hook by id; false if it was already gone.
    pub fn unregister_hook(&self, id: &str) -> bool {
        HookId::from_str(id).is_ok_and(|id| self.inner.hooks.unregister(id))
    }

    /// `Hook.list`: every hook, or those matching a point name or a filter
    /// table `{ point, language, priority, tag, name }`.
    pub fn list_hooks(&self, filter: &Value) -> Result<Value, HostError> {
        let mut f = HookFilter::new();
        match filter {
            Value::Null => {}
            Value::String(p) => f = f.point(self.point(p)?),
            Value::Object(_) => {
                let o: ListFilter = options::read(filter, "filter")?;
                if let Some(p) = &o.point {
                    f = f.point(self.point(p)?);
                }
                if let Some(l) = &o.language {
                    f = f.language(Language::from_str(l).map_err(HostError::from)?);
                }
                if let Some(p) = &o.priority {
                    f = f.priority(priority_of(p)?);
                }
                if let Some(t) = o.tag {
                    f = f.tag(t);
                }
                if let Some(n) = o.name {
                    f = f.name(n);
                }
            }
            other => {
                return Err(
                    format!("Hook.list takes a point name or a filter table, got {other}").into(),
                );
            }
        }
        let list: Vec<Value> = self
            .inner
            .hooks
            .list(&f)
            .into_iter()
            .map(|h| {
                json!({
                    "id": h.id.to_string(),
                    "name": h.name,
                    "point": h.point.to_string(),
                    "priority": h.priority,
                    "language": h.language,
                    "tags": h.tags,
                })
            })
            .collect();
        Ok(Value::Array(list))
    }

    /// Every valid point name.
    pub fn points(&self) -> Value {
        Value::Array(
            HookPoint::all()
                .map(|p| Value::String(p.to_string()))
                .collect(),
        )
    }

    /// `Hook.fire`: runs a point's hooks by hand and reports
    /// `{ action, data, reason, value, target }`.
    pub async fn fire_hook(
        &self,
        point: &str,
        data: Value,
        options: &CallOptions,
        language: Language,
    ) -> Result<Value, HostError> {
        let fired = self.fire(point, data, options, language).await?;
        let mut out = Map::new();
        out.insert("action".into(), json!(fired.action));
        out.insert("data".into(), fired.data);
        for (k, v) in fired.fields {
            out.insert(k.into(), v);
        }
        Ok(Value::Object(out))
    }

    /// [`fire_hook`](Host::fire_hook)'s outcome before it becomes one JSON
    /// object, so an engine can build its own result object directly.
    pub(crate) async fn fire(
        &self,
        point: &str,
        data: Value,
        options: &CallOptions,
        language: Language,
    ) -> Result<Fired, HostError> {
        let point = self.point(point)?;
        let component = match &options.component {
            Some(name) => ComponentId::new(ComponentType::Custom, name.as_str()),
            None => ComponentId::new(ComponentType::Custom, "script"),
        };
        let ctx = HookContext::for_operation(point, component, &options.exec(language), data);
        let fired = self.inner.executor.fire(ctx).await?;
        let result = fired.result();
        // A chain that only changed the data reports "modified"; the data
        // itself is reported as `data`, not as a field of the action.
        let (action, fields) = match result {
            HookResult::Continue if fired.modified => ("modified", Vec::new()),
            HookResult::Modified(_) => ("modified", Vec::new()),
            other => (other.action().as_str(), other.script_fields()),
        };
        Ok(Fired {
            action,
            data: fired.data,
            fields,
        })
    }
}

/// The options table of `Hook.register`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegisterOptions {
    /// A priority name (`highest` … `lowest`) or an integer.
    priority: Option<Value>,
    /// The hook's name (in listings, errors and breaker reports).
    name: Option<String>,
    /// Tags for `Hook.list` filters.
    tags: Option<Vec<String>>,
    /// The hook's time limit in milliseconds.
    timeout_ms: Option<f64>,
    /// `"open"` (skip the hook when it fails) or `"closed"` (fail the
    /// operation).
    fail: Option<String>,
    /// Only operations of this component.
    component: Option<String>,
    /// Names of hooks at the point this one runs after.
    after: Option<Vec<String>>,
    /// Names of hooks at the point this one runs before.
    before: Option<Vec<String>>,
    /// Whether `after` and `before` may name hooks not registered.
    optional: Option<bool>,
}

/// The options table of `Hook.budget`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct BudgetOptions {
    /// Hook time per call, in milliseconds.
    per_call_ms: Option<f64>,
    /// `report`, `skip_fail_open` or `refuse`.
    policy: Option<String>,
    /// `tool`, `agent`, `workflow`, ...
    kind: Option<String>,
}

/// The filter table of `Hook.replay`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplayFilter {
    /// Only the executions of the hook of this name.
    hook: Option<String>,
    /// Only the executions within this operation.
    correlation_id: Option<String>,
}

/// The filter table of `Hook.list`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListFilter {
    /// A hook point name.
    point: Option<String>,
    /// `lua`, `javascript` or `native`.
    language: Option<String>,
    /// A priority name or an integer.
    priority: Option<Value>,
    /// A tag the hook carries.
    tag: Option<String>,
    /// The hook's name.
    name: Option<String>,
}

/// Hook options given as a table: `opts` with them, and the hook's
/// `timeout` and `name` where the table sets them.
fn table_options(
    options: &Value,
    mut opts: HookOptions,
    timeout: &mut Duration,
    name: &mut String,
) -> Result<HookOptions, HostError> {
    let o: RegisterOptions = options::read(options, "hook option")?;
    if let Some(p) = &o.priority {
        opts = opts.priority(priority_of(p)?);
    }
    if let Some(n) = o.name {
        *name = n;
    }
    for t in o.tags.iter().flatten() {
        opts = opts.tag(t);
    }
    if let Some(ms) = o.timeout_ms {
        if !(ms.is_finite() && ms > 0.0) {
            return Err(format!("`timeout_ms` must be a positive number, got {ms}").into());
        }
        *timeout = Duration::from_secs_f64(ms / 1000.0);
    }
    if let Some(f) = &o.fail {
        opts = opts.fail_mode(FailMode::from_str(f).map_err(HostError::from)?);
    }
    if let Some(c) = o.component {
        opts = opts.component(c);
    }
    for name in o.after.into_iter().flatten() {
        opts = opts.after(name);
    }
    for name in o.before.into_iter().flatten() {
        opts = opts.before(name);
    }
    if let Some(optional) = o.optional {
        opts = opts.optional_dependencies(optional);
    }
    Ok(opts)
}

fn priority_of(v: &Value) -> Result<Priority, HostError> {
    match v {
        Value::String(s) => Priority::from_str(s).map_err(HostError::from),
        Value::Number(n) => n
            .as_i64()
            .and_then(|i| i32::try_from(i).ok())
            .map(Priority)
            .ok_or_else(|| {
                HostError::invalid(format!(
                    "invalid priority {n}; valid: highest, high, normal, low, lowest or an integer"
                ))
            }),
        other => Err(format!(
            "invalid priority {other}; valid: highest, high, normal, low, lowest or an integer"
        )
        .into()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::same_json;

    #[test]
    fn same_json_is_json_equality() {
        let cases = [
            (
                json!({"a": 1, "b": [1, {"c": 2}]}),
                json!({"a": 1, "b": [1, {"c": 2}]}),
                true,
            ),
            // Key order does not matter, at the top and nested.
            (json!({"a": 1, "b": 2}), json!({"b": 2, "a": 1}), true),
            (
                json!({"x": {"a": 1, "b": 2}}),
                json!({"x": {"b": 2, "a": 1}}),
                true,
            ),
            (json!({"a": 1, "b": 2}), json!({"a": 1, "b": 3}), false),
            (json!({"a": 1, "b": 2}), json!({"a": 1, "c": 2}), false),
            (json!({"a": 1}), json!({"a": 1, "b": 2}), false),
            (json!([1, 2]), json!([2, 1]), false),
            (json!([1, 2]), json!([1, 2, 3]), false),
            (json!(1), json!(1.0), false),
            (json!(null), json!({}), false),
            (json!("s"), json!("s"), true),
        ];
        for (a, b, equal) in cases {
            assert_eq!(same_json(&a, &b), equal, "{a} vs {b}");
            assert_eq!(same_json(&a, &b), a == b, "{a} vs {b} against ==");
        }
    }
}
