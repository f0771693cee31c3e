//! The operations behind the script globals, shared by every engine.
//!
//! Engines convert their values to and from JSON and call these; error
//! messages are the ones scripts see (what was wrong and what is valid).

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use llmspell_core::{ComponentId, ComponentType, CorrelationId, ExecutionContext, Language};
use llmspell_events::{EventBus, OverflowPolicy, SubscriptionOptions, Topic, UniversalEvent};
use llmspell_hooks::{
    FailMode, HookContext, HookExecutor, HookFilter, HookId, HookMetadata, HookOptions, HookPoint,
    HookRegistry, HookResult, Priority,
};
use llmspell_tools::{ScriptTool, ToolRegistry};
use serde_json::{Map, Value, json};

use crate::script_hook::{ScriptHook, call_tool_handler};
use crate::{RuntimeConfig, ScriptFunction};

mod agents;
mod workflows;

pub(crate) use workflows::Components;
pub use workflows::WorkflowKind;

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

/// The shared registries of a runtime, as script globals use them.
#[derive(Clone)]
pub struct Host {
    pub(crate) inner: Arc<HostInner>,
}

pub(crate) struct HostInner {
    pub(crate) hooks: HookRegistry,
    pub(crate) executor: HookExecutor,
    pub(crate) bus: EventBus,
    pub(crate) tools: ToolRegistry,
    pub(crate) agents: llmspell_agents::AgentRuntime,
    pub(crate) workflows: llmspell_workflows::WorkflowEngine,
    pub(crate) components: Components,
    pub(crate) config: RuntimeConfig,
    /// The settings that may change while the runtime runs.
    pub(crate) live: crate::live::Live,
    /// The runtime's session and its `State`.
    pub(crate) session: crate::session::Session,
    /// The runtime's own tokio runtime (for work started from engine
    /// threads, such as memory reports).
    pub(crate) background: tokio::runtime::Handle,
    /// Each Lua engine's stop request (see `memory.rs`).
    pub(crate) lua_stops: parking_lot::Mutex<Vec<crate::memory::StopRequest>>,
}

/// A script-facing error message.
pub type HostError = String;

/// The longest `State` key.
const MAX_STATE_KEY: usize = 256;

fn state_key(key: &str) -> Result<(), HostError> {
    if key.is_empty() || key.len() > MAX_STATE_KEY {
        return Err(format!(
            "a state key is a non-empty string of at most {MAX_STATE_KEY} bytes, got {} bytes",
            key.len()
        ));
    }
    Ok(())
}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// The correlation or parent id under `key`: any non-empty string of at most
/// 128 bytes without control characters (see [`CorrelationId`]).
fn parse_id(v: &Value, key: &str) -> Result<Option<CorrelationId>, HostError> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => CorrelationId::parse_field(key, s)
            .map(Some)
            .map_err(|e| e.to_string()),
        Some(other) => Err(llmspell_core::Error::invalid_input(
            key,
            format!("must be a string, got {other}; {}", CorrelationId::RULE),
        )
        .to_string()),
    }
}

/// What a script may give a call as its last argument (`Tool.invoke`,
/// `a:invoke`, `a:invoke_tool`, `wf:execute`, `Hook.fire`): the ids that tie
/// it to an upstream request, and for `Hook.fire` the component name.
#[derive(Debug, Default, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallOptions {
    /// The call's correlation id (default: a fresh UUID).
    #[serde(default)]
    pub correlation_id: Option<String>,
    /// The id of the operation that started this call.
    #[serde(default)]
    pub parent_id: Option<String>,
    /// `Hook.fire` only: the component the firing concerns.
    #[serde(default)]
    pub component: Option<String>,
}

impl CallOptions {
    /// Parses a call's options (`null`: none). With `component` false, a
    /// `component` field is refused.
    ///
    /// # Errors
    /// A message naming the unknown or malformed field and the valid ones.
    pub fn parse(v: &Value, component: bool) -> Result<Self, HostError> {
        if v.is_null() {
            return Ok(Self::default());
        }
        let o: CallOptions = serde_json::from_value(v.clone()).map_err(|e| {
            let valid = if component {
                "correlation_id, parent_id, component"
            } else {
                "correlation_id, parent_id"
            };
            format!("invalid call options ({e}); valid fields: {valid}")
        })?;
        if !component && o.component.is_some() {
            return Err(
                "unknown field `component` in call options; valid fields: correlation_id, parent_id"
                    .to_owned(),
            );
        }
        for (key, id) in [
            ("correlation_id", &o.correlation_id),
            ("parent_id", &o.parent_id),
        ] {
            if let Some(id) = id {
                CorrelationId::parse_field(key, id).map_err(|e| e.to_string())?;
            }
        }
        Ok(o)
    }

    /// The execution context of a call made from `language` with these ids.
    pub fn exec(&self, language: Language) -> ExecutionContext {
        let mut exec = ExecutionContext::new(language);
        if let Some(c) = self
            .correlation_id
            .as_deref()
            .and_then(|c| c.parse::<CorrelationId>().ok())
        {
            exec = exec.with_correlation_id(c);
        }
        if let Some(p) = self
            .parent_id
            .as_deref()
            .and_then(|p| p.parse::<CorrelationId>().ok())
        {
            exec = exec.with_parent(p);
        }
        exec
    }
}

impl Host {
    /// The hook registry.
    pub fn hooks(&self) -> &HookRegistry {
        &self.inner.hooks
    }

    /// The event bus.
    pub fn bus(&self) -> &EventBus {
        &self.inner.bus
    }

    /// The tool registry.
    pub fn tools(&self) -> &ToolRegistry {
        &self.inner.tools
    }

    /// The stop requests of every Lua engine of the runtime.
    pub(crate) fn lua_stop_requests(&self) -> Vec<crate::memory::StopRequest> {
        self.inner.lua_stops.lock().clone()
    }

    fn exec(&self, language: Language) -> ExecutionContext {
        ExecutionContext::new(language)
    }

    // ---- hooks -------------------------------------------------------------

    /// Parses a point name; the error names it and suggests the closest one.
    pub fn point(&self, name: &str) -> Result<HookPoint, HostError> {
        HookPoint::from_str(name).map_err(|e| e.to_string())
    }

    /// Registers `function` at `point` with script options (`priority`,
    /// `name`, `tags`, `timeout_ms`, `fail`, `component`) or a bare priority
    /// string. Returns the hook's id.
    pub fn register_hook(
        &self,
        point: &str,
        function: ScriptFunction,
        options: &Value,
    ) -> Result<(HookId, HookPoint), HostError> {
        let point = self.point(point)?;
        let language = function.language();
        let (opts, timeout, name) = self.hook_options(options, language)?;
        let metadata = HookMetadata {
            name: name.clone(),
            language,
            ..HookMetadata::default()
        };
        let hook = ScriptHook::new(function, timeout, metadata).reporting_to(self);
        let handle = self
            .inner
            .hooks
            .register_with(point.clone(), Arc::new(hook), opts)
            .map_err(|e| e.to_string())?;
        Ok((handle.forget(), point))
    }

    fn hook_options(
        &self,
        options: &Value,
        language: Language,
    ) -> Result<(HookOptions, Duration, String), HostError> {
        let mut opts = HookOptions::new().language(language);
        let mut timeout = self.inner.live.callback_timeout();
        let mut name = format!("{language}-hook");
        let obj = match options {
            Value::Null => None,
            // rs-llmspell 0.4 style: a priority string as the third argument.
            Value::String(p) => {
                opts = opts.priority(Priority::from_str(p).map_err(|e| e.to_string())?);
                None
            }
            Value::Number(_) => {
                opts = opts.priority(priority_of(options)?);
                None
            }
            Value::Object(o) => Some(o),
            other => return Err(format!("hook options must be a table, got {other}")),
        };
        if let Some(o) = obj {
            for key in o.keys() {
                if ![
                    "priority",
                    "name",
                    "tags",
                    "timeout_ms",
                    "fail",
                    "component",
                ]
                .contains(&key.as_str())
                {
                    return Err(format!(
                        "unknown hook option `{key}`; valid: priority, name, tags, timeout_ms, fail, component"
                    ));
                }
            }
            if let Some(p) = o.get("priority") {
                opts = opts.priority(priority_of(p)?);
            }
            if let Some(n) = o.get("name") {
                name = n
                    .as_str()
                    .ok_or_else(|| format!("`name` must be a string, got {n}"))?
                    .to_owned();
            }
            if let Some(tags) = o.get("tags") {
                let list = tags
                    .as_array()
                    .ok_or_else(|| format!("`tags` must be an array of strings, got {tags}"))?;
                for t in list {
                    opts = opts.tag(
                        t.as_str()
                            .ok_or_else(|| format!("`tags` must hold strings, got {t}"))?,
                    );
                }
            }
            if let Some(t) = o.get("timeout_ms") {
                let ms = t
                    .as_f64()
                    .filter(|ms| ms.is_finite() && *ms > 0.0)
                    .ok_or_else(|| format!("`timeout_ms` must be a positive number, got {t}"))?;
                timeout = Duration::from_secs_f64(ms / 1000.0);
            }
            if let Some(f) = o.get("fail") {
                let f = f
                    .as_str()
                    .ok_or_else(|| format!("`fail` must be \"open\" or \"closed\", got {f}"))?;
                opts = opts.fail_mode(FailMode::from_str(f).map_err(|e| e.to_string())?);
            }
            if let Some(c) = o.get("component") {
                opts = opts.component(
                    c.as_str()
                        .ok_or_else(|| format!("`component` must be a string, got {c}"))?,
                );
            }
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
            Value::Object(o) => {
                for key in o.keys() {
                    if !["point", "language", "priority", "tag", "name"].contains(&key.as_str()) {
                        return Err(format!(
                            "unknown filter `{key}`; valid: point, language, priority, tag, name"
                        ));
                    }
                }
                if let Some(p) = text(filter, "point") {
                    f = f.point(self.point(p)?);
                }
                if let Some(l) = text(filter, "language") {
                    f = f.language(Language::from_str(l).map_err(|e| e.to_string())?);
                }
                if let Some(p) = o.get("priority") {
                    f = f.priority(priority_of(p)?);
                }
                if let Some(t) = text(filter, "tag") {
                    f = f.tag(t);
                }
                if let Some(n) = text(filter, "name") {
                    f = f.name(n);
                }
            }
            other => {
                return Err(format!(
                    "Hook.list takes a point name or a filter table, got {other}"
                ));
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
        let mut ctx = HookContext::for_operation(point, component, &options.exec(language), data);
        let outcome = self
            .inner
            .executor
            .execute_point(&mut ctx)
            .await
            .map_err(|e| e.to_string())?;
        let modified = outcome.modified;
        let (result, _) = outcome.into_parts();
        // A chain that only changed the data reports "modified".
        let action = match &result {
            HookResult::Continue if modified => "modified",
            other => other.action().as_str(),
        };
        let mut fields = Vec::new();
        match result {
            HookResult::Cancel(r) | HookResult::Skipped(r) => {
                fields.push(("reason", json!(r)));
            }
            HookResult::Replace(v) => fields.push(("value", v)),
            HookResult::Redirect(t) => fields.push(("target", json!(t))),
            HookResult::Retry {
                delay,
                max_attempts,
            } => {
                fields.push(("delay_ms", json!(delay.as_millis() as u64)));
                fields.push(("max_attempts", json!(max_attempts)));
            }
            HookResult::Cache { key, ttl } => {
                fields.push(("key", json!(key)));
                fields.push(("ttl_ms", json!(ttl.as_millis() as u64)));
            }
            HookResult::Fork { operations } => fields.push((
                "operations",
                serde_json::to_value(operations).unwrap_or(Value::Null),
            )),
            HookResult::Continue | HookResult::Modified(_) => {}
        }
        Ok(Fired {
            action,
            data: ctx.data,
            fields,
        })
    }

    // ---- events ------------------------------------------------------------

    /// `Event.publish`: returns the event's id.
    pub async fn publish(
        &self,
        topic: &str,
        data: Value,
        options: &Value,
        language: Language,
    ) -> Result<String, HostError> {
        let ev = self.build_event(topic, data, options, language)?;
        let receipt = self
            .inner
            .bus
            .publish(ev)
            .await
            .map_err(|e| e.to_string())?;
        Ok(receipt.id.to_string())
    }

    /// Builds an event from script arguments.
    pub fn build_event(
        &self,
        topic: &str,
        data: Value,
        options: &Value,
        language: Language,
    ) -> Result<UniversalEvent, HostError> {
        let topic = Topic::new(topic).map_err(|e| e.to_string())?;
        let mut ev = UniversalEvent::new(topic, data).with_language(language);
        match options {
            Value::Null => {}
            Value::Object(o) => {
                for key in o.keys() {
                    if ![
                        "correlation_id",
                        "parent_id",
                        "tags",
                        "ttl_ms",
                        "ttl_seconds",
                        "language",
                        "source",
                    ]
                    .contains(&key.as_str())
                    {
                        return Err(format!(
                            "unknown event option `{key}`; valid: correlation_id, parent_id, tags, ttl_ms, source"
                        ));
                    }
                }
                if let Some(c) = parse_id(options, "correlation_id")? {
                    ev = ev.with_correlation_id(c);
                }
                if let Some(p) = parse_id(options, "parent_id")? {
                    ev = ev.with_parent_id(p);
                }
                if let Some(tags) = o.get("tags") {
                    for t in tags
                        .as_array()
                        .ok_or_else(|| format!("`tags` must be an array of strings, got {tags}"))?
                    {
                        ev = ev.with_tag(
                            t.as_str()
                                .ok_or_else(|| format!("`tags` must hold strings, got {t}"))?,
                        );
                    }
                }
                let ttl = match (o.get("ttl_ms"), o.get("ttl_seconds")) {
                    (Some(ms), _) => Some(
                        ms.as_f64()
                            .map(|ms| ms / 1000.0)
                            .ok_or_else(|| format!("`ttl_ms` must be a number, got {ms}"))?,
                    ),
                    (None, Some(s)) => Some(
                        s.as_f64()
                            .ok_or_else(|| format!("`ttl_seconds` must be a number, got {s}"))?,
                    ),
                    (None, None) => None,
                };
                if let Some(secs) = ttl {
                    if !(secs.is_finite() && secs > 0.0) {
                        return Err(format!("the ttl must be positive, got {secs} s"));
                    }
                    ev = ev.with_ttl(Duration::from_secs_f64(secs));
                }
                if let Some(l) = text(options, "language") {
                    ev = ev.with_language(Language::from_str(l).map_err(|e| e.to_string())?);
                }
                if let Some(s) = text(options, "source") {
                    ev = ev.with_source(s);
                }
            }
            other => return Err(format!("event options must be a table, got {other}")),
        }
        Ok(ev)
    }

    /// Subscription options from `{ capacity, overflow }`.
    pub fn subscription_options(
        &self,
        options: &Value,
        language: Language,
    ) -> Result<SubscriptionOptions, HostError> {
        let mut opts = SubscriptionOptions::new().language(language);
        match options {
            Value::Null => {}
            Value::Object(o) => {
                for key in o.keys() {
                    if !["capacity", "overflow", "block_timeout_ms", "name"].contains(&key.as_str())
                    {
                        return Err(format!(
                            "unknown subscription option `{key}`; valid: capacity, overflow, block_timeout_ms, name"
                        ));
                    }
                }
                if let Some(c) = o.get("capacity") {
                    let n = c
                        .as_u64()
                        .ok_or_else(|| format!("`capacity` must be a positive integer, got {c}"))?;
                    opts = opts.capacity(usize::try_from(n).unwrap_or(usize::MAX));
                }
                if let Some(p) = text(options, "overflow") {
                    let mut policy = OverflowPolicy::from_str(p).map_err(|e| e.to_string())?;
                    if let (OverflowPolicy::Block { .. }, Some(ms)) =
                        (policy, o.get("block_timeout_ms").and_then(Value::as_f64))
                    {
                        policy = OverflowPolicy::Block {
                            timeout: Duration::from_secs_f64(ms.max(1.0) / 1000.0),
                        };
                    }
                    opts = opts.overflow(policy);
                } else if let Some(o) = o.get("overflow") {
                    return Err(format!("`overflow` must be a string, got {o}"));
                }
                if let Some(n) = text(options, "name") {
                    opts = opts.name(n);
                }
            }
            other => return Err(format!("subscription options must be a table, got {other}")),
        }
        opts.validate().map_err(|e| e.to_string())?;
        Ok(opts)
    }

    /// An event as scripts see it.
    pub fn event_json(ev: &UniversalEvent) -> Value {
        let mut v = ev.to_json();
        if let Some(o) = v.as_object_mut() {
            o.insert("event_type".into(), json!(ev.event_type.as_str()));
        }
        v
    }

    /// `Event.stats`.
    pub fn stats(&self) -> Value {
        let s = self.inner.bus.stats();
        let visible = self
            .inner
            .bus
            .subscriptions()
            .iter()
            .filter(|s| !s.internal)
            .count();
        json!({
            "published": s.published,
            "delivered": s.delivered,
            "dropped": s.dropped,
            "subscriptions": visible,
        })
    }

    /// `Event.list_subscriptions`.
    pub fn list_subscriptions(&self) -> Value {
        Value::Array(
            self.inner
                .bus
                .subscriptions()
                .into_iter()
                .filter(|s| !s.internal)
                .map(|s| {
                    json!({
                        "id": s.id.to_string(),
                        "pattern": s.pattern,
                        "language": s.language,
                        "queued": s.queued,
                        "dropped": s.dropped,
                    })
                })
                .collect(),
        )
    }

    /// Reports an error of a hook or callback: stderr, the `EventHandlerError`
    /// point and a `script.callback.failed` event. It never stops the script.
    pub async fn report_callback_error(&self, language: Language, what: &str, message: &str) {
        self.report_failure(language, what, message, true).await;
    }

    /// As [`report_callback_error`](Host::report_callback_error); the
    /// `EventHandlerError` point fires only when `fire_point` is set.
    pub(crate) async fn report_failure(
        &self,
        language: Language,
        what: &str,
        message: &str,
        fire_point: bool,
    ) {
        eprintln!("{language} {what} failed: {message}");
        let data = json!({ "language": language, "callback": what, "message": message });
        if fire_point {
            let component = ComponentId::new(ComponentType::System, "scripts");
            let mut ctx = HookContext::new(HookPoint::EventHandlerError, component, data.clone())
                .with_language(language);
            if let Err(e) = self.inner.executor.execute_point(&mut ctx).await {
                tracing::warn!(error = %e, "an EventHandlerError hook failed");
            }
        }
        if let Ok(topic) = Topic::new("script.callback.failed") {
            let _ = self
                .inner
                .bus
                .try_publish(UniversalEvent::new(topic, data).with_language(language));
        }
    }

    // ---- state -------------------------------------------------------------

    /// The session's name (`llmspell.session`), if it has one.
    pub fn session_name(&self) -> Option<&str> {
        self.inner.session.name()
    }

    /// `State.get(key)`: the value, or `null`.
    pub fn state_get(&self, key: &str) -> Result<Value, HostError> {
        state_key(key)?;
        Ok(self.inner.session.get(key))
    }

    /// `State.set(key, value)`: a `null` value removes the key.
    pub fn state_set(&self, key: &str, value: Value) -> Result<(), HostError> {
        state_key(key)?;
        self.inner.session.set(key, value);
        Ok(())
    }

    /// `State.delete(key)`: whether the key was there.
    pub fn state_delete(&self, key: &str) -> Result<bool, HostError> {
        state_key(key)?;
        Ok(self.inner.session.delete(key))
    }

    /// `State.keys()`: the keys, in the order they were first set.
    pub fn state_keys(&self) -> Value {
        Value::from(self.inner.session.keys())
    }

    /// `State.save()`: saves the session's state now, through
    /// `SessionCheckpoint`.
    pub async fn state_save(&self) -> Result<bool, HostError> {
        self.inner
            .session
            .checkpoint("save")
            .await
            .map(|()| true)
            .map_err(|e| e.to_string())
    }

    // ---- tools -------------------------------------------------------------

    /// `Tool.list`: `{ name, description, category, security_level }` each,
    /// through the discovery hooks.
    pub async fn tool_list(&self, language: Language) -> Result<Value, HostError> {
        let list = self
            .inner
            .tools
            .list(&self.exec(language))
            .await
            .map_err(|e| e.to_string())?;
        Ok(Value::Array(
            list.into_iter()
                .map(|t| {
                    json!({
                        "name": t.name,
                        "description": t.description,
                        "category": t.category,
                        "security_level": t.security_level,
                    })
                })
                .collect(),
        ))
    }

    /// `Tool.info`.
    pub fn tool_info(&self, name: &str) -> Result<Value, HostError> {
        let t = self.inner.tools.info(name).map_err(|e| e.to_string())?;
        Ok(json!({
            "name": t.name,
            "description": t.description,
            "category": t.category,
            "security_level": t.security_level,
            "parameters": t.parameters,
            "output": t.output,
            "examples": t.examples,
            "language": t.language,
        }))
    }

    /// `Tool.invoke`.
    pub async fn tool_invoke(
        &self,
        name: &str,
        params: Value,
        exec: &ExecutionContext,
    ) -> Result<Value, HostError> {
        let opts =
            llmspell_tools::InvokeOptions::new().allowed_level(self.inner.config.allowed_level);
        self.inner
            .tools
            .invoke_with(name, params, exec, opts)
            .await
            .map(|o| o.output)
            .map_err(|e| e.to_string())
    }

    /// A fresh execution context for a call made by a script.
    pub fn script_exec(&self, language: Language) -> ExecutionContext {
        self.exec(language)
    }

    /// `Tool.register`: `{ name, description, parameters }` plus the handler.
    pub fn tool_register(&self, spec: &Value, handler: ScriptFunction) -> Result<(), HostError> {
        let obj = spec
            .as_object()
            .ok_or_else(|| format!("takes a table (object), got {spec}"))?;
        for key in obj.keys() {
            if !["name", "description", "parameters", "security_level"].contains(&key.as_str()) {
                return Err(format!(
                    "unknown field `{key}`; valid: name, description, parameters, handler, security_level"
                ));
            }
        }
        let name = text(spec, "name")
            .ok_or("`name` (a string) is required")?
            .to_owned();
        let description = text(spec, "description")
            .unwrap_or("a script-defined tool")
            .to_owned();
        let language = handler.language();
        let timeout = self.inner.live.callback_timeout();
        let tool_name = name.clone();
        let mut tool = ScriptTool::new(
            name.clone(),
            description,
            Arc::new(move |params, _ctx| {
                let handler = handler.clone();
                let tool_name = tool_name.clone();
                Box::pin(
                    async move { call_tool_handler(&handler, &tool_name, params, timeout).await },
                )
            }),
        )
        .with_language(language);
        match obj.get("parameters") {
            None | Some(Value::Null) => {}
            Some(schema @ Value::Object(_)) => tool = tool.with_parameters(schema.clone()),
            Some(other) => {
                return Err(format!(
                    "`parameters` must be a JSON Schema table, got {other}"
                ));
            }
        }
        if let Some(level) = text(spec, "security_level") {
            tool = tool.with_security_level(
                level
                    .parse()
                    .map_err(|e: llmspell_core::Error| e.to_string())?,
            );
        }
        self.inner
            .tools
            .register_in(Arc::new(tool), language)
            .map_err(|e| e.to_string())
    }
}

fn priority_of(v: &Value) -> Result<Priority, HostError> {
    match v {
        Value::String(s) => Priority::from_str(s).map_err(|e| e.to_string()),
        Value::Number(n) => n
            .as_i64()
            .and_then(|i| i32::try_from(i).ok())
            .map(Priority)
            .ok_or_else(|| {
                format!(
                    "invalid priority {n}; valid: highest, high, normal, low, lowest or an integer"
                )
            }),
        other => Err(format!(
            "invalid priority {other}; valid: highest, high, normal, low, lowest or an integer"
        )),
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
