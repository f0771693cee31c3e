//! The `Hook` global.

use std::rc::Weak;

use llmspell_core::Language;
use mlua::{Function, Lua, UserData, UserDataMethods, Value as LuaValue};

use super::{
    arg_json, arg_str, arg_string, async_function_settled_by, engine, engine_function, fail,
    type_of,
};
use crate::engine::ServedEngine;
use crate::host::CallOptions;
use crate::lua::conversion::{fired_to_lua, json_to_lua};
use crate::lua::engine::LuaEngine;
use crate::{HookBody, Host};

/// `h = Hook.register(...)`: `h:id()`, `h:point()`, `h:unregister()`.
/// Dropping the handle does not unregister the hook.
struct LuaHookHandle {
    id: String,
    point: String,
    host: Host,
}

impl UserData for LuaHookHandle {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("id", |_, this, ()| Ok(this.id.clone()));
        methods.add_method("point", |_, this, ()| Ok(this.point.clone()));
        methods.add_method("hook_point", |_, this, ()| Ok(this.point.clone()));
        methods.add_method("unregister", |_, this, ()| {
            Ok(this.host.unregister_hook(&this.id))
        });
        methods.add_meta_method("__tostring", |_, this, ()| {
            Ok(format!("Hook({} at {})", this.id, this.point))
        });
    }
}

/// `h = Hook.use(...)`: `h:id()` and `h:point()` (the first registration),
/// `h:ids()`, `h:points()`, `h:unregister()` (every registration),
/// `h:report()`. Dropping the handle does not unregister the hook.
struct LuaBuiltinHandle {
    used: crate::UsedHook,
    host: Host,
}

impl UserData for LuaBuiltinHandle {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("id", |_, this, ()| Ok(this.used.ids[0].clone()));
        methods.add_method("point", |_, this, ()| Ok(this.used.points[0].clone()));
        methods.add_method("hook_point", |_, this, ()| Ok(this.used.points[0].clone()));
        methods.add_method("ids", |_, this, ()| Ok(this.used.ids.clone()));
        methods.add_method("points", |_, this, ()| Ok(this.used.points.clone()));
        methods.add_method("name", |_, this, ()| Ok(this.used.kind));
        methods.add_method("unregister", |_, this, ()| {
            let mut any = false;
            for id in &this.used.ids {
                any |= this.host.unregister_hook(id);
            }
            Ok(any)
        });
        methods.add_async_method("report", |lua, this, ()| async move {
            let report = this
                .host
                .builtin_report(&this.used.ids[0])
                .await
                .map_err(|m| fail(m.context("report")))?;
            json_to_lua(&lua, &report)
        });
        methods.add_meta_method("__tostring", |_, this, ()| {
            Ok(format!(
                "Hook({} {} at {})",
                this.used.kind,
                this.used.ids.join(","),
                this.used.points.join(", ")
            ))
        });
    }
}

/// `Hook.fire`'s script-facing wrapper. The host answers `true` for the
/// common outcome (every hook continued, the data unchanged), and the result
/// table `{ action = "continue", data = <the caller's data> }` is built
/// here: a Lua table constructor costs less than building it from the host.
/// Any other outcome arrives as the finished table.
const FIRE_SETTLE: &str = r#"
local try_now, finish, raise = ...
return function(point, data, component)
    local ok, v = try_now(point, data, component)
    if ok == nil then ok, v = finish(v) end
    if ok then
        if v == true then return { action = "continue", data = data } end
        return v
    end
    raise(v)
end
"#;

pub(super) fn install(lua: &Lua, weak: Weak<LuaEngine>) -> mlua::Result<()> {
    let hook = lua.create_table()?;
    hook.set("register", register(lua, &weak)?)?;
    hook.set("unregister", unregister(lua, &weak)?)?;
    hook.set(
        "list",
        engine_function(lua, &weak, |lua, engine, filter: LuaValue| {
            let filter = arg_json(&filter, "Hook.list")?;
            let list = engine
                .host
                .list_hooks(&filter)
                .map_err(|m| fail(m.context("Hook.list")))?;
            json_to_lua(lua, &list)
        })?,
    )?;
    hook.set(
        "points",
        engine_function(lua, &weak, |lua, engine, ()| {
            json_to_lua(lua, &engine.host.points())
        })?,
    )?;
    hook.set(
        "use",
        engine_function(
            lua,
            &weak,
            |_, engine, (name, opts): (LuaValue, LuaValue)| {
                let name = arg_string(&name, "Hook.use: argument 1 (the built-in hook's name)")?;
                let opts = arg_json(&opts, "Hook.use: argument 2 (options)")?;
                let used = engine
                    .host
                    .use_builtin(&name, &opts)
                    .map_err(|m| fail(m.context("Hook.use")))?;
                Ok(LuaBuiltinHandle {
                    used,
                    host: engine.host.clone(),
                })
            },
        )?,
    )?;
    hook.set("report", report(lua, weak.clone())?)?;
    hook.set("replay", replay(lua, weak.clone())?)?;
    hook.set(
        "budget",
        engine_function(
            lua,
            &weak,
            |_, engine, (component, opts): (LuaValue, LuaValue)| {
                let component = arg_string(
                    &component,
                    "Hook.budget: argument 1 (a component name or glob)",
                )?;
                let opts = arg_json(&opts, "Hook.budget: argument 2 (options)")?;
                engine
                    .host
                    .set_component_budget(&component, &opts)
                    .map_err(|m| fail(m.context("Hook.budget")))
            },
        )?,
    )?;
    hook.set(
        "component_stats",
        engine_function(lua, &weak, |lua, engine, ()| {
            json_to_lua(lua, &engine.host.component_hook_stats())
        })?,
    )?;
    hook.set(
        "command",
        engine_function(
            lua,
            &weak,
            |_, engine, (point, argv, opts): (LuaValue, LuaValue, LuaValue)| {
                let point = arg_string(&point, "Hook.command: argument 1 (the hook point)")?;
                let argv = arg_json(
                    &argv,
                    "Hook.command: argument 2 (the program and its arguments)",
                )?;
                let argv = command_argv(&argv)?;
                let opts = arg_json(&opts, "Hook.command: argument 3 (options)")?;
                let (id, point) = engine
                    .host
                    .register_command(&point, argv, &opts)
                    .map_err(|m| fail(m.context("Hook.command")))?;
                Ok(LuaHookHandle {
                    id: id.to_string(),
                    point: point.to_string(),
                    host: engine.host.clone(),
                })
            },
        )?,
    )?;
    for kind in ["sequential", "first_match", "parallel", "voting"] {
        hook.set(kind, composite(lua, &weak, kind)?)?;
    }
    hook.set("fire", fire(lua, weak)?)?;
    lua.globals().set("Hook", hook)
}

/// `Hook.register(point, fn, options)`: a hook handle.
fn register(lua: &Lua, weak: &Weak<LuaEngine>) -> mlua::Result<Function> {
    engine_function(
        lua,
        weak,
        |_, engine, (point, f, opts): (LuaValue, LuaValue, LuaValue)| {
            let point = arg_string(&point, "Hook.register: argument 1 (the hook point)")?;
            let body = hook_body(engine, f, "Hook.register: argument 2")?;
            let opts = arg_json(&opts, "Hook.register: argument 3 (options)")?;
            let (id, point) = engine
                .host
                .register_hook(&point, body, &opts)
                .map_err(|m| fail(m.context("Hook.register")))?;
            Ok(LuaHookHandle {
                id: id.to_string(),
                point: point.to_string(),
                host: engine.host.clone(),
            })
        },
    )
}

/// What `Hook.sequential` and the other composite constructors return: a
/// hook that `Hook.register` takes in place of a function.
struct LuaComposite(HookBody);

impl UserData for LuaComposite {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_meta_method("__tostring", |_, this, ()| {
            Ok(match &this.0 {
                HookBody::Composite {
                    composition,
                    members,
                } => {
                    format!("CompositeHook({composition:?}, {} hooks)", members.len())
                }
                HookBody::Function(_) => "CompositeHook".to_owned(),
            })
        });
    }
}

/// A hook a script gives: a function or a composite.
fn hook_body(engine: &LuaEngine, value: LuaValue, what: &str) -> mlua::Result<HookBody> {
    match value {
        LuaValue::Function(f) => Ok(HookBody::Function(engine.keep(f))),
        LuaValue::UserData(ud) if ud.is::<LuaComposite>() => {
            Ok(ud.borrow::<LuaComposite>()?.0.clone())
        }
        other => Err(fail(format!(
            "{what} must be a function or a composite hook (Hook.sequential, Hook.first_match, \
             Hook.parallel, Hook.voting), got {}",
            type_of(&other)
        ))),
    }
}

/// `Hook.<kind>({ f1, f2, ... } [, { threshold = t }])`: a composite hook.
fn composite(lua: &Lua, weak: &Weak<LuaEngine>, kind: &'static str) -> mlua::Result<Function> {
    engine_function(
        lua,
        weak,
        move |_, engine, (list, opts): (LuaValue, LuaValue)| {
            let LuaValue::Table(list) = list else {
                return Err(fail(format!(
                    "Hook.{kind}: argument 1 must be a list of hook functions, got {}",
                    type_of(&list)
                )));
            };
            let mut members = Vec::new();
            for (i, v) in list.sequence_values::<LuaValue>().enumerate() {
                members.push(hook_body(
                    engine,
                    v?,
                    &format!("Hook.{kind}: hook {}", i + 1),
                )?);
            }
            let threshold =
                match opts {
                    LuaValue::Nil => None,
                    LuaValue::Table(t) => {
                        for pair in t.pairs::<String, LuaValue>() {
                            let (k, _) = pair?;
                            if k != "threshold" {
                                return Err(fail(format!(
                                    "Hook.{kind}: unknown option `{k}`; valid: threshold"
                                )));
                            }
                        }
                        Some(t.get::<f64>("threshold").map_err(|_| {
                            fail(format!("Hook.{kind}: `threshold` must be a number"))
                        })?)
                    }
                    other => {
                        return Err(fail(format!(
                            "Hook.{kind}: argument 2 must be an options table, got {}",
                            type_of(&other)
                        )));
                    }
                };
            HookBody::composite(kind, members, threshold)
                .map(LuaComposite)
                .map_err(fail)
        },
    )
}

/// `Hook.unregister(handle or id)`: false if the hook was already gone.
fn unregister(lua: &Lua, weak: &Weak<LuaEngine>) -> mlua::Result<Function> {
    engine_function(lua, weak, |_, engine, target: LuaValue| {
        let id = match &target {
            LuaValue::UserData(ud) => match ud.borrow::<LuaHookHandle>() {
                Ok(h) => h.id.clone(),
                Err(_) => match ud.borrow::<LuaBuiltinHandle>() {
                    Ok(h) => {
                        let mut any = false;
                        for id in &h.used.ids {
                            any |= engine.host.unregister_hook(id);
                        }
                        return Ok(any);
                    }
                    Err(_) => {
                        return Err(fail(
                            "Hook.unregister expects a hook handle or a hook id string",
                        ));
                    }
                },
            },
            LuaValue::String(s) => String::from(&*s.to_str()?),
            other => {
                return Err(fail(format!(
                    "Hook.unregister expects a hook handle or a hook id string, got {}",
                    type_of(other)
                )));
            }
        };
        Ok(engine.host.unregister_hook(&id))
    })
}

/// `Hook.replay({ hook =, correlation_id = })`: recorded executions run
/// again against the current hooks.
fn replay(lua: &Lua, weak: Weak<LuaEngine>) -> mlua::Result<Function> {
    super::async_function(lua, move |lua, filter: LuaValue| {
        let w = weak.clone();
        async move {
            let engine = engine(&w)?;
            let filter = arg_json(&filter, "Hook.replay: argument 1 (filter)")?;
            let host = engine.host.clone();
            drop(engine);
            let reports = host
                .replay(&filter)
                .await
                .map_err(|m| fail(m.context("Hook.replay")))?;
            json_to_lua(&lua, &reports)
        }
    })
}

/// A command's argv as a script gives it: a list of strings.
pub(crate) fn command_argv(argv: &serde_json::Value) -> mlua::Result<Vec<String>> {
    serde_json::from_value(argv.clone()).map_err(|_| {
        fail("Hook.command: argument 2 must be a list of strings: the program and its arguments (no shell)")
    })
}

/// `Hook.report(name, handle or id)`: the built-in hook's figures.
fn report(lua: &Lua, weak: Weak<LuaEngine>) -> mlua::Result<Function> {
    super::async_function(lua, move |lua, target: LuaValue| {
        let w = weak.clone();
        async move {
            let engine = engine(&w)?;
            let target = match &target {
                LuaValue::UserData(ud) => match ud.borrow::<LuaBuiltinHandle>() {
                    Ok(h) => h.used.ids[0].clone(),
                    Err(_) => match ud.borrow::<LuaHookHandle>() {
                        Ok(h) => h.id.clone(),
                        Err(_) => {
                            return Err(fail(
                                "Hook.report expects a built-in hook's name or handle",
                            ));
                        }
                    },
                },
                other => arg_string(
                    other,
                    "Hook.report: argument 1 (a built-in hook's name or handle)",
                )?,
            };
            let host = engine.host.clone();
            drop(engine);
            let report = host
                .builtin_report(&target)
                .await
                .map_err(|m| fail(m.context("Hook.report")))?;
            json_to_lua(&lua, &report)
        }
    })
}

/// `Hook.fire`'s options: a component name or an options table.
fn fire_options(component: &LuaValue) -> mlua::Result<CallOptions> {
    Ok(match component {
        LuaValue::Nil => CallOptions::default(),
        LuaValue::Table(_) => CallOptions::parse(
            &arg_json(component, "Hook.fire: argument 3 (options)")?,
            true,
        )
        .map_err(|m| fail(m.context("Hook.fire: argument 3")))?,
        other => CallOptions {
            component: Some(arg_string(
                other,
                "Hook.fire: argument 3 (a component name or an options table)",
            )?),
            ..CallOptions::default()
        },
    })
}

/// `Hook.fire(point, data, component or options)`: the result table.
fn fire(lua: &Lua, weak: Weak<LuaEngine>) -> mlua::Result<Function> {
    async_function_settled_by(
        lua,
        move |lua, (point, data, component): (LuaValue, LuaValue, LuaValue)| {
            let w = weak.clone();
            async move {
                let engine = engine(&w)?;
                let point = arg_str(&point, "Hook.fire: argument 1 (the hook point)")?;
                let json = arg_json(&data, "Hook.fire: argument 2 (data)")?;
                // Kept to tell whether any hook changed the data: if none
                // did, the caller's own table is handed back (a copy and a
                // comparison cost less than building a new table).
                let original = json.clone();
                let options = fire_options(&component)?;
                let host = engine.host.clone();
                drop(engine);
                let fired = host
                    .fire(&point, json, &options, Language::Lua)
                    .await
                    .map_err(|m| fail(m.context("Hook.fire")))?;
                let unchanged = fired.data_unchanged(&original).then_some(&data);
                if unchanged.is_some() && fired.action == "continue" && fired.fields.is_empty() {
                    // The common answer: FIRE_SETTLE builds the table.
                    return Ok(LuaValue::Boolean(true));
                }
                fired_to_lua(&lua, &fired, unchanged).map(LuaValue::Table)
            }
        },
        FIRE_SETTLE,
    )
}
