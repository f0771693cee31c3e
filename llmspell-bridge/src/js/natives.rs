//! The native functions behind the JavaScript globals.
//!
//! They take and return plain values (ids, JSON); the prelude
//! (`prelude.js`) wraps them into the `Hook`, `Event`, `Tool`, `Agent` and
//! `Workflow` globals documented in `docs/user-guide/javascript-api.md`, with
//! handle classes and Promises.
//! The prelude receives them as one object that scripts cannot reach.

use std::future::Future;
use std::rc::Rc;
use std::str::FromStr;
use std::task::Poll;
use std::time::Duration;

use boa_engine::object::ObjectInitializer;
use boa_engine::object::builtins::JsPromise;
use boa_engine::{
    Context, JsError, JsNativeError, JsResult, JsValue, NativeFunction, Source, js_string,
};
use llmspell_core::Language;
use llmspell_events::{SubscriptionId, TopicPattern};
use serde_json::{Value, json};

use super::conversion::{js_to_json, json_to_js, to_script_value};
use super::engine::{JsEngine, current};
use super::errors::PRELUDE_NAME;
use crate::WorkflowKind;
use crate::engine::{BusyGuard, CallArgs};
use crate::host::CallOptions;

const JS: Language = Language::Javascript;

/// The prelude that builds the globals from the natives.
const PRELUDE: &str = include_str!("prelude.js");

fn engine() -> JsResult<Rc<JsEngine>> {
    current().ok_or_else(|| fail("the JavaScript engine is shutting down"))
}

/// A script-facing error (an `Error` whose message is `message`).
pub(crate) fn fail(message: impl Into<String>) -> JsError {
    JsNativeError::error().with_message(message.into()).into()
}

fn arg(args: &[JsValue], i: usize) -> JsValue {
    args.get(i).cloned().unwrap_or_default()
}

/// The JavaScript type of a value, for messages.
fn type_of(v: &JsValue) -> &'static str {
    if v.is_null() {
        "null"
    } else if v.as_object().is_some_and(|o| o.is_array()) {
        "array"
    } else if v.is_callable() {
        "function"
    } else {
        v.type_of()
    }
}

fn arg_json(v: &JsValue, what: &str, ctx: &mut Context) -> JsResult<Value> {
    js_to_json(v, ctx).map_err(|e| fail(format!("{what}: {e}")))
}

fn arg_string(v: &JsValue, what: &str) -> JsResult<String> {
    match v.as_string() {
        Some(s) => Ok(super::conversion::std_string(&s)),
        None => Err(fail(format!("{what} must be a string, got {}", type_of(v)))),
    }
}

fn arg_id(v: &JsValue, what: &str) -> JsResult<u64> {
    v.as_number()
        .filter(|n| n.fract() == 0.0 && *n >= 0.0)
        .map(|n| n as u64)
        .ok_or_else(|| fail(format!("{what}: not a handle of this runtime")))
}

fn to_js(v: &Value, ctx: &mut Context) -> JsResult<JsValue> {
    json_to_js(v, ctx)
}

/// An `Error` object made here, so its stack names the calling script line.
fn error_here(message: &str, ctx: &mut Context) -> JsValue {
    let ctor = ctx.intrinsics().constructors().error().constructor();
    match ctor.construct(&[js_string!(message).into()], None, ctx) {
        Ok(obj) => obj.into(),
        Err(_) => fail(message).into_opaque(ctx).unwrap_or_default(),
    }
}

/// A Promise of a host call. The call is polled once at once, with the
/// context lent to JavaScript hooks it fires: when it finishes without
/// waiting the Promise is already settled; otherwise it finishes on the
/// engine's task set and settles the Promise then. A rejection is an
/// `Error` whose stack points at the line that made the call.
fn promise<F>(ctx: &mut Context, fut: F) -> JsResult<JsValue>
where
    F: Future<Output = Result<Value, String>> + 'static,
{
    promise_with(ctx, fut, |v, ctx| to_js(&v, ctx))
}

/// [`promise`] for a call whose answer `convert` turns into the
/// JavaScript value the Promise resolves to.
fn promise_with<T, F, C>(ctx: &mut Context, fut: F, convert: C) -> JsResult<JsValue>
where
    T: 'static,
    F: Future<Output = Result<T, String>> + 'static,
    C: FnOnce(T, &mut Context) -> JsResult<JsValue> + 'static,
{
    let mut fut = Box::pin(fut);
    match JsEngine::poll_lending(ctx, fut.as_mut()) {
        Poll::Ready(Ok(v)) => {
            let v = convert(v, ctx)?;
            // A pending promise resolved at once: `JsPromise::resolve` goes
            // through `NewPromiseCapability` (an executor function and a
            // constructor call on top of the same resolving functions), about
            // a third more work for the same settled promise.
            let (p, resolvers) = JsPromise::new_pending(ctx);
            resolvers.resolve.call(&JsValue::undefined(), &[v], ctx)?;
            Ok(p.into())
        }
        Poll::Ready(Err(m)) => {
            let e = error_here(&m, ctx);
            Ok(JsPromise::reject(JsError::from_opaque(e), ctx)?.into())
        }
        Poll::Pending => {
            let (p, resolvers) = JsPromise::new_pending(ctx);
            // Made now, while the caller's frames are on the stack.
            let site = error_here("", ctx);
            let engine = engine()?;
            let busy = BusyGuard::new(&engine.handle);
            tokio::task::spawn_local(async move {
                let r = fut.await;
                let settled = engine.enter(|ctx| -> JsResult<JsValue> {
                    match r {
                        Ok(v) => {
                            let v = convert(v, ctx)?;
                            resolvers.resolve.call(&JsValue::undefined(), &[v], ctx)
                        }
                        Err(m) => {
                            if let Some(obj) = site.as_object() {
                                obj.set(js_string!("message"), js_string!(m.as_str()), false, ctx)?;
                            }
                            resolvers.reject.call(&JsValue::undefined(), &[site], ctx)
                        }
                    }
                });
                if let Ok(Err(e)) = settled {
                    eprintln!("javascript: cannot settle a promise: {e}");
                }
                drop(busy);
            });
            Ok(p.into())
        }
    }
}

type Native = fn(&JsValue, &[JsValue], &mut Context) -> JsResult<JsValue>;

const NATIVES: &[(&str, Native, usize)] = &[
    ("hookRegister", hook_register, 3),
    ("hookUnregister", hook_unregister, 1),
    ("hookList", hook_list, 1),
    ("hookPoints", hook_points, 0),
    ("hookFire", hook_fire, 3),
    ("eventPublish", event_publish, 3),
    ("eventSubscribe", event_subscribe, 3),
    ("eventReceive", event_receive, 2),
    ("eventUnsubscribe", event_unsubscribe, 1),
    ("eventStats", event_stats, 0),
    ("eventListSubscriptions", event_list_subscriptions, 0),
    ("toolList", tool_list, 0),
    ("toolInfo", tool_info, 1),
    ("toolInvoke", tool_invoke, 3),
    ("toolRegister", tool_register, 2),
    ("agentCreate", agent_create, 1),
    ("agentInvoke", agent_invoke, 3),
    ("agentInvokeTool", agent_invoke_tool, 4),
    ("agentInfo", agent_info, 1),
    ("agentTransition", agent_transition, 2),
    ("agentList", agent_list, 0),
    ("agentGet", agent_get, 1),
    ("ctxInfo", ctx_info, 1),
    ("ctxInvokeTool", ctx_invoke_tool, 3),
    ("ctxCheckpoint", ctx_checkpoint, 1),
    ("ctxRelease", ctx_release, 1),
    ("workflowBuild", workflow_build, 2),
    ("workflowExecute", workflow_execute, 3),
    ("workflowName", workflow_name, 1),
    ("workflowList", workflow_list, 0),
    ("workflowGet", workflow_get, 1),
    ("stateGet", state_get, 1),
    ("stateSet", state_set, 2),
    ("stateDelete", state_delete, 1),
    ("stateKeys", state_keys, 0),
    ("stateSave", state_save, 0),
    ("sleep", sleep, 1),
    ("write", write, 2),
    ("report", report, 2),
];

/// Builds the natives object and runs the prelude with it, which installs
/// the globals.
pub(crate) fn install(engine: &JsEngine, ctx: &mut Context) -> JsResult<()> {
    let mut init = ObjectInitializer::new(ctx);
    for (name, f, arity) in NATIVES {
        init.function(NativeFunction::from_fn_ptr(*f), js_string!(*name), *arity);
    }
    let natives = init.build();
    let info = json!({
        "version": env!("CARGO_PKG_VERSION"),
        "args": engine.host.inner.config.script_args,
        "session": engine.host.session_name(),
        "agentKey": super::conversion::AGENT_KEY,
        "workflowKey": super::conversion::WORKFLOW_KEY,
    });
    let info = to_js(&info, ctx)?;
    let src = Source::from_bytes(PRELUDE).with_path(std::path::Path::new(PRELUDE_NAME));
    let setup = ctx.eval(src)?;
    let setup = setup
        .as_callable()
        .ok_or_else(|| fail("the prelude did not return its setup function"))?;
    setup.call(&JsValue::undefined(), &[natives.into(), info], ctx)?;
    Ok(())
}

/// The argument a basic agent's handler receives: the prelude turns the
/// handle number into an agent-context object.
pub(crate) fn agent_context_arg(id: u64) -> JsValue {
    JsValue::from(id as f64)
}

// ---- hooks -----------------------------------------------------------------

fn hook_register(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let engine = engine()?;
    let point = arg_string(&arg(args, 0), "Hook.register: argument 1 (the hook point)")?;
    let f = match arg(args, 1).as_callable() {
        Some(f) => f,
        None => {
            return Err(fail(format!(
                "Hook.register: argument 2 must be a function, got {}",
                type_of(&arg(args, 1))
            )));
        }
    };
    let opts = match arg(args, 2) {
        v if v.is_undefined() => Value::Null,
        v => arg_json(&v, "Hook.register: argument 3 (options)", ctx)?,
    };
    let function = engine.keep(f);
    let (id, point) = engine
        .host
        .register_hook(&point, function, &opts)
        .map_err(|m| fail(format!("Hook.register: {m}")))?;
    to_js(
        &json!({ "id": id.to_string(), "point": point.to_string() }),
        ctx,
    )
}

fn hook_unregister(_: &JsValue, args: &[JsValue], _: &mut Context) -> JsResult<JsValue> {
    let engine = engine()?;
    let v = arg(args, 0);
    let id = v.as_string().ok_or_else(|| {
        fail(format!(
            "Hook.unregister expects a hook handle or a hook id string, got {}",
            type_of(&v)
        ))
    })?;
    Ok(engine
        .host
        .unregister_hook(&id.to_std_string_escaped())
        .into())
}

fn hook_list(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let engine = engine()?;
    let filter = arg_json(&arg(args, 0), "Hook.list", ctx)?;
    let list = engine
        .host
        .list_hooks(&filter)
        .map_err(|m| fail(format!("Hook.list: {m}")))?;
    to_js(&list, ctx)
}

fn hook_points(_: &JsValue, _: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    to_js(&engine()?.host.points(), ctx)
}

fn hook_fire(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let host = engine()?.host.clone();
    let point = arg_string(&arg(args, 0), "Hook.fire: argument 1 (the hook point)")?;
    let data = arg_json(&arg(args, 1), "Hook.fire: argument 2 (data)", ctx)?;
    let options = match arg(args, 2) {
        v if v.is_null_or_undefined() => CallOptions::default(),
        v if v.is_string() => CallOptions {
            component: Some(arg_string(&v, "Hook.fire: argument 3 (component name)")?),
            ..CallOptions::default()
        },
        v => CallOptions::parse(&arg_json(&v, "Hook.fire: argument 3 (options)", ctx)?, true)
            .map_err(|m| fail(format!("Hook.fire: argument 3: {m}")))?,
    };
    // Kept to tell whether any hook changed the data: if none did, the
    // caller's own object is handed back instead of a converted copy.
    let given = arg(args, 1);
    let original = given.is_object().then(|| data.clone());
    promise_with(
        ctx,
        async move {
            host.fire(&point, data, &options, JS)
                .await
                .map_err(|m| format!("Hook.fire: {m}"))
        },
        move |fired, ctx| {
            use boa_engine::property::Attribute;
            let data = match original {
                Some(o) if fired.data_unchanged(&o) => given,
                _ => to_js(&fired.data, ctx)?,
            };
            let mut fields = Vec::with_capacity(fired.fields.len());
            for (k, v) in &fired.fields {
                fields.push((*k, to_js(v, ctx)?));
            }
            let all = Attribute::all();
            let mut out = super::conversion::new_object(ctx);
            out.property(js_string!("action"), js_string!(fired.action), all)
                .property(js_string!("data"), data, all);
            for (k, v) in fields {
                out.property(js_string!(k), v, all);
            }
            Ok(out.build().into())
        },
    )
}

// ---- events ----------------------------------------------------------------

fn event_publish(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let host = engine()?.host.clone();
    let topic = arg_string(&arg(args, 0), "Event.publish: argument 1 (the topic)")?;
    let data = arg_json(&arg(args, 1), "Event.publish: argument 2 (data)", ctx)?;
    let opts = arg_json(&arg(args, 2), "Event.publish: argument 3 (options)", ctx)?;
    promise(ctx, async move {
        host.publish(&topic, data, &opts, JS)
            .await
            .map(Value::String)
            .map_err(|m| format!("Event.publish: {m}"))
    })
}

fn event_subscribe(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let engine = engine()?;
    let pattern = arg_string(&arg(args, 0), "Event.subscribe: argument 1 (the pattern)")?;
    let callback = arg(args, 1).as_callable();
    let opts = arg_json(&arg(args, 2), "Event.subscribe: options", ctx)?;
    let options = engine
        .host
        .subscription_options(&opts, JS)
        .map_err(|m| fail(format!("Event.subscribe: {m}")))?;
    let compiled =
        TopicPattern::new(&pattern).map_err(|e| fail(format!("Event.subscribe: {e}")))?;
    let sub = engine
        .host
        .bus()
        .subscribe_with(compiled, options)
        .map_err(|e| fail(format!("Event.subscribe: {e}")))?;
    let id = sub.id();
    match callback {
        Some(f) => {
            // An async callback is awaited before the next event.
            let timeout = engine.host.inner.live.callback_timeout();
            let host = engine.host.clone();
            crate::engine::start_pump(&engine, host, sub, move |e: &JsEngine, ev| {
                e.call_function(f.clone(), &CallArgs::Event(ev), Some(timeout))
            });
        }
        None => {
            engine
                .handles
                .pulls
                .borrow_mut()
                .insert(id, Rc::new(tokio::sync::Mutex::new(sub)));
        }
    }
    to_js(&json!({ "id": id.to_string(), "pattern": pattern }), ctx)
}

fn subscription_id(v: &JsValue, what: &str) -> JsResult<SubscriptionId> {
    let s = v.as_string().ok_or_else(|| {
        fail(format!(
            "{what} expects a subscription or a subscription id string, got {}",
            type_of(v)
        ))
    })?;
    SubscriptionId::from_str(&s.to_std_string_escaped()).map_err(|e| fail(format!("{what}: {e}")))
}

fn event_receive(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let engine = engine()?;
    let id = subscription_id(&arg(args, 0), "Event.receive")?;
    let t = arg(args, 1);
    let timeout = if t.is_null_or_undefined() {
        Duration::ZERO
    } else {
        match t.as_number() {
            Some(ms) if ms.is_finite() && ms >= 0.0 => Duration::from_secs_f64(ms / 1000.0),
            _ => {
                return Err(fail(format!(
                    "Event.receive: argument 2 (timeout_ms) must be a non-negative number, got {}",
                    type_of(&t)
                )));
            }
        }
    };
    let Some(sub) = engine.handles.pulls.borrow().get(&id).cloned() else {
        return Err(fail(format!(
            "Event.receive: subscription {id} has a callback or is not one of this script's subscriptions; receive works on subscriptions made without a callback"
        )));
    };
    drop(engine);
    promise(ctx, async move {
        let ev = {
            let mut s = sub.lock().await;
            if timeout.is_zero() {
                s.try_recv()
            } else {
                s.recv_timeout(timeout).await
            }
        };
        Ok(ev.map_or(Value::Null, |ev| crate::Host::event_json(&ev)))
    })
}

fn event_unsubscribe(_: &JsValue, args: &[JsValue], _: &mut Context) -> JsResult<JsValue> {
    let engine = engine()?;
    let id = subscription_id(&arg(args, 0), "Event.unsubscribe")?;
    let removed = engine.host.bus().unsubscribe(id);
    let pulled = engine.handles.pulls.borrow_mut().remove(&id).is_some();
    Ok((removed || pulled).into())
}

fn event_stats(_: &JsValue, _: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    to_js(&engine()?.host.stats(), ctx)
}

fn event_list_subscriptions(_: &JsValue, _: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    to_js(&engine()?.host.list_subscriptions(), ctx)
}

// ---- tools -----------------------------------------------------------------

fn tool_list(_: &JsValue, _: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let host = engine()?.host.clone();
    promise(ctx, async move {
        host.tool_list(JS)
            .await
            .map_err(|m| format!("Tool.list: {m}"))
    })
}

fn tool_info(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let engine = engine()?;
    let name = arg_string(&arg(args, 0), "Tool.info: argument 1 (the tool name)")?;
    let info = engine
        .host
        .tool_info(&name)
        .map_err(|m| fail(format!("Tool.info: {m}")))?;
    to_js(&info, ctx)
}

fn params(v: &JsValue, what: &str, ctx: &mut Context) -> JsResult<Value> {
    if v.is_null_or_undefined() {
        Ok(json!({}))
    } else {
        arg_json(v, what, ctx)
    }
}

/// The execution context of a JavaScript call given `opts` (`undefined`,
/// `null` or an object of [`CallOptions`] without `component`).
fn call_exec(
    opts: &JsValue,
    what: &str,
    ctx: &mut Context,
) -> JsResult<llmspell_core::ExecutionContext> {
    let options = if opts.is_null_or_undefined() {
        CallOptions::default()
    } else {
        CallOptions::parse(&arg_json(opts, what, ctx)?, false)
            .map_err(|m| fail(format!("{what}: {m}")))?
    };
    Ok(options.exec(JS))
}

fn tool_invoke(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let host = engine()?.host.clone();
    let name = arg_string(&arg(args, 0), "Tool.invoke: argument 1 (the tool name)")?;
    let params = params(&arg(args, 1), "Tool.invoke: argument 2 (params)", ctx)?;
    let exec = call_exec(&arg(args, 2), "Tool.invoke: argument 3 (options)", ctx)?;
    promise(
        ctx,
        async move { host.tool_invoke(&name, params, &exec).await },
    )
}

fn tool_register(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let engine = engine()?;
    let spec = arg_json(&arg(args, 0), "Tool.register", ctx)?;
    let handler = arg(args, 1)
        .as_callable()
        .ok_or_else(|| fail("Tool.register: `handler` must be a function"))?;
    let function = engine.keep(handler);
    engine
        .host
        .tool_register(&spec, function)
        .map_err(|m| fail(format!("Tool.register: {m}")))?;
    Ok(true.into())
}

// ---- state -----------------------------------------------------------------

fn state_get(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let host = engine()?.host.clone();
    let key = arg_string(&arg(args, 0), "State.get: argument 1 (the key)")?;
    let v = host
        .state_get(&key)
        .map_err(|m| fail(format!("State.get: {m}")))?;
    to_js(&v, ctx)
}

fn state_set(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let host = engine()?.host.clone();
    let key = arg_string(&arg(args, 0), "State.set: argument 1 (the key)")?;
    let value = match arg(args, 1) {
        v if v.is_undefined() => Value::Null,
        v => arg_json(&v, "State.set: argument 2 (the value)", ctx)?,
    };
    host.state_set(&key, value)
        .map_err(|m| fail(format!("State.set: {m}")))?;
    Ok(true.into())
}

fn state_delete(_: &JsValue, args: &[JsValue], _: &mut Context) -> JsResult<JsValue> {
    let host = engine()?.host.clone();
    let key = arg_string(&arg(args, 0), "State.delete: argument 1 (the key)")?;
    host.state_delete(&key)
        .map(JsValue::from)
        .map_err(|m| fail(format!("State.delete: {m}")))
}

fn state_keys(_: &JsValue, _: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let host = engine()?.host.clone();
    to_js(&host.state_keys(), ctx)
}

fn state_save(_: &JsValue, _: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let host = engine()?.host.clone();
    promise(ctx, async move {
        host.state_save()
            .await
            .map(Value::from)
            .map_err(|m| format!("State.save: {m}"))
    })
}

// ---- agents ----------------------------------------------------------------

fn agent_of(engine: &JsEngine, v: &JsValue) -> JsResult<llmspell_agents::LifecycleAgent> {
    let id = arg_id(v, "agent")?;
    engine
        .handles
        .agents
        .borrow()
        .get(&id)
        .cloned()
        .ok_or_else(|| fail("not an agent of this runtime"))
}

fn agent_create(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let engine = engine()?;
    let spec = to_script_value(&engine, &arg(args, 0), "Agent.create", ctx).map_err(fail)?;
    let host = engine.host.clone();
    let weak = Rc::downgrade(&engine);
    drop(engine);
    promise(ctx, async move {
        let agent = host
            .agent_create(spec, JS)
            .await
            .map_err(|m| format!("Agent.create: {m}"))?;
        let engine = weak
            .upgrade()
            .ok_or("the JavaScript engine is shutting down")?;
        Ok(json!(engine.handles.agent(agent)))
    })
}

fn agent_invoke(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let engine = engine()?;
    let agent = agent_of(&engine, &arg(args, 0))?;
    let input = arg_json(&arg(args, 1), "agent.invoke: argument 1 (the input)", ctx)?;
    let exec = call_exec(&arg(args, 2), "agent.invoke: argument 2 (options)", ctx)?;
    let host = engine.host.clone();
    drop(engine);
    promise(
        ctx,
        async move { host.agent_invoke(&agent, input, &exec).await },
    )
}

fn agent_invoke_tool(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let engine = engine()?;
    let agent = agent_of(&engine, &arg(args, 0))?;
    let name = arg_string(
        &arg(args, 1),
        "agent.invoke_tool: argument 1 (the tool name)",
    )?;
    let params = params(&arg(args, 2), "agent.invoke_tool: argument 2 (params)", ctx)?;
    let exec = call_exec(
        &arg(args, 3),
        "agent.invoke_tool: argument 3 (options)",
        ctx,
    )?;
    let host = engine.host.clone();
    drop(engine);
    promise(ctx, async move {
        host.agent_invoke_tool(&agent, &name, params, &exec).await
    })
}

fn agent_info(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let engine = engine()?;
    let agent = agent_of(&engine, &arg(args, 0))?;
    to_js(
        &json!({ "name": agent.name(), "type": agent.kind(), "state": agent.state().as_str() }),
        ctx,
    )
}

fn agent_transition(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let engine = engine()?;
    let agent = agent_of(&engine, &arg(args, 0))?;
    let op = arg_string(&arg(args, 1), "agent operation")?;
    let host = engine.host.clone();
    drop(engine);
    promise(ctx, async move {
        host.agent_transition(&agent, &op, JS).await?;
        Ok(Value::Bool(true))
    })
}

fn agent_list(_: &JsValue, _: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    to_js(&engine()?.host.agent_list(), ctx)
}

fn agent_get(_: &JsValue, args: &[JsValue], _: &mut Context) -> JsResult<JsValue> {
    let engine = engine()?;
    let name = arg_string(&arg(args, 0), "Agent.get: argument 1 (the agent name)")?;
    let Some(agent) = engine.host.agent_get(&name) else {
        return Ok(JsValue::null());
    };
    Ok(JsValue::from(engine.handles.agent(agent) as f64))
}

fn agent_context(engine: &JsEngine, v: &JsValue) -> JsResult<llmspell_agents::AgentContext> {
    let id = arg_id(v, "agent")?;
    engine
        .handles
        .agent_contexts
        .borrow()
        .get(&id)
        .cloned()
        .ok_or_else(|| fail("the agent's invocation has ended; use the agent handle instead"))
}

fn ctx_info(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let engine = engine()?;
    let cx = agent_context(&engine, &arg(args, 0))?;
    to_js(
        &json!({
            "name": cx.name(),
            "state": cx.state().as_str(),
            "attempt": cx.attempt(),
            "is_cancelled": cx.is_cancelled(),
            "parameters": Value::Object(cx.parameters().clone()),
            "correlation_id": cx.exec().correlation_id.to_string(),
        }),
        ctx,
    )
}

fn ctx_invoke_tool(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let engine = engine()?;
    let cx = agent_context(&engine, &arg(args, 0))?;
    let name = arg_string(
        &arg(args, 1),
        "agent.invoke_tool: argument 1 (the tool name)",
    )?;
    let params = params(&arg(args, 2), "agent.invoke_tool: argument 2 (params)", ctx)?;
    drop(engine);
    promise(ctx, async move {
        cx.invoke_tool(&name, params)
            .await
            .map_err(|e| e.to_string())
    })
}

fn ctx_checkpoint(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let engine = engine()?;
    let cx = agent_context(&engine, &arg(args, 0))?;
    drop(engine);
    promise(ctx, async move {
        cx.checkpoint().await.map_err(|e| e.to_string())?;
        Ok(Value::Bool(true))
    })
}

fn ctx_release(_: &JsValue, args: &[JsValue], _: &mut Context) -> JsResult<JsValue> {
    let engine = engine()?;
    let id = arg_id(&arg(args, 0), "agent")?;
    engine.handles.agent_contexts.borrow_mut().remove(&id);
    Ok(JsValue::undefined())
}

// ---- workflows -------------------------------------------------------------

fn workflow_of(
    engine: &JsEngine,
    v: &JsValue,
) -> JsResult<std::sync::Arc<dyn llmspell_core::Workflow>> {
    let id = arg_id(v, "workflow")?;
    engine
        .handles
        .workflows
        .borrow()
        .get(&id)
        .cloned()
        .ok_or_else(|| fail("not a workflow of this runtime"))
}

fn workflow_build(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let engine = engine()?;
    let kind = match arg_string(&arg(args, 0), "workflow kind")?.as_str() {
        "sequential" => WorkflowKind::Sequential,
        "conditional" => WorkflowKind::Conditional,
        "loop" => WorkflowKind::Loop,
        "parallel" => WorkflowKind::Parallel,
        other => {
            return Err(fail(format!(
                "unknown workflow kind {other:?}; valid: sequential, conditional, loop, parallel"
            )));
        }
    };
    let ctor = format!("Workflow.{}", kind.as_str());
    let spec = to_script_value(&engine, &arg(args, 1), &ctor, ctx).map_err(fail)?;
    let workflow = engine.host.workflow_build(kind, &spec).map_err(fail)?;
    Ok(JsValue::from(engine.handles.workflow(workflow) as f64))
}

fn workflow_execute(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let engine = engine()?;
    let workflow = workflow_of(&engine, &arg(args, 0))?;
    let input = arg_json(&arg(args, 1), "wf.execute: argument 1 (the input)", ctx)?;
    let exec = call_exec(&arg(args, 2), "wf.execute: argument 2 (options)", ctx)?;
    let host = engine.host.clone();
    drop(engine);
    promise(ctx, async move {
        host.workflow_execute(&workflow, input, &exec).await
    })
}

fn workflow_name(_: &JsValue, args: &[JsValue], _: &mut Context) -> JsResult<JsValue> {
    let engine = engine()?;
    let workflow = workflow_of(&engine, &arg(args, 0))?;
    Ok(js_string!(workflow.metadata().name()).into())
}

fn workflow_list(_: &JsValue, _: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    to_js(&engine()?.host.workflow_list(), ctx)
}

fn workflow_get(_: &JsValue, args: &[JsValue], _: &mut Context) -> JsResult<JsValue> {
    let engine = engine()?;
    let name = arg_string(
        &arg(args, 0),
        "Workflow.get: argument 1 (the workflow name)",
    )?;
    let Some(workflow) = engine.host.workflow_get(&name) else {
        return Ok(JsValue::null());
    };
    Ok(JsValue::from(engine.handles.workflow(workflow) as f64))
}

// ---- the rest --------------------------------------------------------------

/// `llmspell.sleep(ms)`: a Promise settled after `ms` milliseconds (0: on
/// the engine's next turn), letting callbacks run meanwhile.
fn sleep(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let v = arg(args, 0);
    let ms = if v.is_null_or_undefined() {
        0.0
    } else {
        match v.as_number() {
            Some(ms) if ms.is_finite() && ms >= 0.0 => ms,
            _ => {
                return Err(fail(format!(
                    "llmspell.sleep: argument 1 must be a number of milliseconds ≥ 0, got {}",
                    type_of(&v)
                )));
            }
        }
    };
    promise(ctx, async move {
        if ms <= 0.0 {
            tokio::task::yield_now().await;
        } else {
            tokio::time::sleep(Duration::from_secs_f64(ms / 1000.0)).await;
        }
        Ok(Value::Bool(true))
    })
}

/// `write(line, toStderr)`: one line to stdout or stderr; a closed stream
/// drops the line and the script goes on.
fn write(_: &JsValue, args: &[JsValue], _: &mut Context) -> JsResult<JsValue> {
    use std::io::Write;
    let mut line = arg(args, 0)
        .as_string()
        .map(|s| s.to_std_string_escaped())
        .unwrap_or_default();
    line.push('\n');
    if arg(args, 1).to_boolean() {
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    } else {
        let _ = std::io::stdout().lock().write_all(line.as_bytes());
    }
    Ok(JsValue::undefined())
}

/// `report(what, message)`: reports a failure of script code the host did
/// not call (a timer callback) like a callback error.
fn report(_: &JsValue, args: &[JsValue], _: &mut Context) -> JsResult<JsValue> {
    let engine = engine()?;
    let host = engine.host.clone();
    let busy = BusyGuard::new(&engine.handle);
    let text = |v: JsValue| {
        v.as_string()
            .map(|s| s.to_std_string_escaped())
            .unwrap_or_default()
    };
    let what = text(arg(args, 0));
    let message = text(arg(args, 1));
    tokio::task::spawn_local(async move {
        host.report_callback_error(JS, &what, &message).await;
        drop(busy);
    });
    Ok(JsValue::undefined())
}
