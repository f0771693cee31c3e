//! The native functions behind the JavaScript globals.
//!
//! They take and return plain values (ids, JSON); the prelude
//! (`prelude.js`) wraps them into the `Hook`, `Event`, `Tool`, `Agent` and
//! `Workflow` globals documented in `docs/user-guide/javascript-api.md`, with
//! handle classes and Promises.
//! The prelude receives them as one object that scripts cannot reach.
//!
//! This file holds the table of natives, the argument helpers and the
//! Promise machinery they share; the natives of each global have a file of
//! their own (`hook`, `event`, `tool`, `agent`, `workflow`, `state`, `trace`, and
//! `console` for output, `llmspell.sleep` and timer reports).

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::rc::Rc;
use std::task::Poll;

use boa_engine::object::ObjectInitializer;
use boa_engine::object::builtins::JsPromise;
use boa_engine::{
    Context, JsError, JsNativeError, JsResult, JsValue, NativeFunction, Source, js_string,
};
use llmspell_core::Language;
use serde_json::{Value, json};

use super::conversion::{js_to_json, json_to_js};
use super::engine::{JsEngine, current};
use super::errors::{PRELUDE_NAME, Thrown, describe, error_object};
use crate::HostError;
use crate::engine::{BusyGuard, Millis};
use crate::host::CallOptions;

mod agent;
mod console;
mod event;
mod hook;
mod state;
mod tool;
mod trace;
mod workflow;

pub(crate) use agent::agent_context_arg;

const JS: Language = Language::Javascript;

/// The prelude that builds the globals from the natives.
const PRELUDE: &str = include_str!("prelude.js");

/// The result of a native: what a failing one throws becomes an `Error`
/// with `.kind` (see [`Thrown`]).
type NativeResult<T> = Result<T, Thrown>;

fn engine() -> NativeResult<Rc<JsEngine>> {
    current().ok_or_else(|| {
        Thrown::Host(HostError::new(
            "other",
            "the JavaScript engine is shutting down",
        ))
    })
}

/// A script-facing error: a [`HostError`], or a message about a wrong
/// argument (`invalid_input`).
pub(crate) fn fail(e: impl Into<HostError>) -> Thrown {
    Thrown::Host(e.into())
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

fn arg_json(v: &JsValue, what: &str, ctx: &mut Context) -> NativeResult<Value> {
    js_to_json(v, ctx).map_err(|e| fail(format!("{what}: {e}")))
}

fn arg_string(v: &JsValue, what: &str) -> NativeResult<String> {
    match v.as_string() {
        Some(s) => Ok(super::conversion::std_string(&s)),
        None => Err(fail(format!("{what} must be a string, got {}", type_of(v)))),
    }
}

fn arg_id(v: &JsValue, what: &str) -> NativeResult<u64> {
    v.as_number()
        .filter(|n| n.fract() == 0.0 && *n >= 0.0)
        .map(|n| n as u64)
        .ok_or_else(|| fail(format!("{what}: not a handle of this runtime")))
}

/// A number of milliseconds as [`crate::engine::Millis`] reads it.
fn millis(v: &JsValue) -> Millis {
    if v.is_null_or_undefined() {
        Millis::Absent
    } else {
        match v.as_number() {
            Some(ms) => Millis::Number(ms),
            None => Millis::Other(type_of(v)),
        }
    }
}

/// The host object behind the handle number `v` in `handles` (`what` names
/// the kind of handle; `missing` is the error for a number not there).
fn handle<T: Clone>(
    handles: &RefCell<HashMap<u64, T>>,
    v: &JsValue,
    what: &str,
    missing: &str,
) -> NativeResult<T> {
    let id = arg_id(v, what)?;
    handles
        .borrow()
        .get(&id)
        .cloned()
        .ok_or_else(|| fail(missing))
}

fn to_js(v: &Value, ctx: &mut Context) -> NativeResult<JsValue> {
    Ok(json_to_js(v, ctx)?)
}

/// An `Error` object made here (so its stack names the calling script
/// line) describing `e`.
fn error_here(e: &HostError, ctx: &mut Context) -> JsResult<JsValue> {
    let site = error_object("", ctx);
    describe(&site, e, ctx)?;
    Ok(site)
}

/// A Promise of a host call. The call is polled once at once, with the
/// context lent to JavaScript hooks it fires: when it finishes without
/// waiting the Promise is already settled; otherwise it finishes on the
/// engine's task set and settles the Promise then. A rejection is an
/// `Error` whose stack points at the line that made the call.
fn promise<F>(ctx: &mut Context, fut: F) -> NativeResult<JsValue>
where
    F: Future<Output = Result<Value, HostError>> + 'static,
{
    promise_with(ctx, fut, |v, ctx| json_to_js(&v, ctx))
}

/// [`promise`] for a call whose answer `convert` turns into the
/// JavaScript value the Promise resolves to.
fn promise_with<T, F, C>(ctx: &mut Context, fut: F, convert: C) -> NativeResult<JsValue>
where
    T: 'static,
    F: Future<Output = Result<T, HostError>> + 'static,
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
        Poll::Ready(Err(e)) => {
            let e = error_here(&e, ctx)?;
            Ok(JsPromise::reject(JsError::from_opaque(e), ctx)?.into())
        }
        Poll::Pending => {
            let (p, resolvers) = JsPromise::new_pending(ctx);
            // Made now, while the caller's frames are on the stack.
            let site = error_object("", ctx);
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
                        Err(e) => {
                            describe(&site, &e, ctx)?;
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

type Native = fn(&JsValue, &[JsValue], &mut Context) -> NativeResult<JsValue>;

const NATIVES: &[(&str, Native, usize)] = &[
    ("hookRegister", hook::register, 3),
    ("hookUnregister", hook::unregister, 1),
    ("hookList", hook::list, 1),
    ("hookPoints", hook::points, 0),
    ("hookFire", hook::fire, 3),
    ("hookUse", hook::use_builtin, 2),
    ("hookReport", hook::report, 1),
    ("hookCommand", hook::command, 3),
    ("hookReplay", hook::replay, 1),
    ("hookBudget", hook::budget, 2),
    ("hookComponentStats", hook::component_stats, 0),
    ("eventPublish", event::publish, 3),
    ("eventSubscribe", event::subscribe, 3),
    ("eventReceive", event::receive, 2),
    ("eventUnsubscribe", event::unsubscribe, 1),
    ("eventStats", event::stats, 0),
    ("eventListSubscriptions", event::list_subscriptions, 0),
    ("toolList", tool::list, 0),
    ("toolInfo", tool::info, 1),
    ("toolInvoke", tool::invoke, 3),
    ("toolRegister", tool::register, 2),
    ("agentCreate", agent::create, 1),
    ("agentInvoke", agent::invoke, 3),
    ("agentInvokeTool", agent::invoke_tool, 4),
    ("agentInfo", agent::info, 1),
    ("agentTransition", agent::transition, 2),
    ("agentList", agent::list, 0),
    ("agentGet", agent::get, 1),
    ("ctxInfo", agent::ctx_info, 1),
    ("ctxInvokeTool", agent::ctx_invoke_tool, 3),
    ("ctxCheckpoint", agent::ctx_checkpoint, 1),
    ("ctxRelease", agent::ctx_release, 1),
    ("workflowBuild", workflow::build, 2),
    ("workflowExecute", workflow::execute, 3),
    ("workflowName", workflow::name, 1),
    ("workflowList", workflow::list, 0),
    ("workflowGet", workflow::get, 1),
    ("stateGet", state::get, 1),
    ("stateSet", state::set, 2),
    ("stateDelete", state::delete, 1),
    ("stateKeys", state::keys, 0),
    ("stateSave", state::save, 0),
    ("traceGet", trace::get, 1),
    ("traceAnalyse", trace::analyse, 2),
    ("traceRender", trace::render, 1),
    ("traceRecent", trace::recent, 1),
    ("sleep", console::sleep, 1),
    ("write", console::write, 2),
    ("report", console::report, 2),
];

/// Builds the natives object and runs the prelude with it, which installs
/// the globals.
pub(crate) fn install(engine: &JsEngine, ctx: &mut Context) -> JsResult<()> {
    let mut init = ObjectInitializer::new(ctx);
    for &(name, f, arity) in NATIVES {
        let native = NativeFunction::from_copy_closure(move |this, args, ctx| {
            f(this, args, ctx).map_err(|t| t.into_js(ctx))
        });
        init.function(native, js_string!(name), arity);
    }
    let natives = init.build();
    let info = json!({
        "version": env!("CARGO_PKG_VERSION"),
        "args": engine.host.inner.config.script_args,
        "session": engine.host.session_name(),
        "agentKey": super::conversion::AGENT_KEY,
        "workflowKey": super::conversion::WORKFLOW_KEY,
    });
    let info = json_to_js(&info, ctx)?;
    let src = Source::from_bytes(PRELUDE).with_path(std::path::Path::new(PRELUDE_NAME));
    let setup = ctx.eval(src)?;
    let setup = setup.as_callable().ok_or_else(|| {
        JsNativeError::error().with_message("the prelude did not return its setup function")
    })?;
    setup.call(&JsValue::undefined(), &[natives.into(), info], ctx)?;
    Ok(())
}

// ---- helpers shared by several globals --------------------------------------

fn params(v: &JsValue, what: &str, ctx: &mut Context) -> NativeResult<Value> {
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
) -> NativeResult<llmspell_core::ExecutionContext> {
    let options = if opts.is_null_or_undefined() {
        CallOptions::default()
    } else {
        CallOptions::parse(&arg_json(opts, what, ctx)?, false).map_err(|m| fail(m.context(what)))?
    };
    Ok(options.exec(JS))
}
