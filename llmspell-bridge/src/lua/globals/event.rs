//! The `Event` global.

use std::rc::Weak;

use llmspell_core::Language;
use llmspell_events::{EventBus, SubscriptionId};
use mlua::{Function, Lua, Table, UserData, UserDataMethods, Value as LuaValue};

use super::{arg_json, arg_string, async_function, engine, engine_function, fail, millis, type_of};
use crate::engine::EngineHandle;
use crate::lua::conversion::{event_to_lua, json_to_lua};
use crate::lua::engine::LuaEngine;

/// `sub = Event.subscribe(...)`: `sub:id()`, `sub:pattern()`,
/// `sub:unsubscribe()`. Dropping the handle does not unsubscribe.
pub(super) struct LuaSubscription {
    id: SubscriptionId,
    pattern: String,
    bus: EventBus,
    engine: EngineHandle,
}

impl UserData for LuaSubscription {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("id", |_, this, ()| Ok(this.id.to_string()));
        methods.add_method("pattern", |_, this, ()| Ok(this.pattern.clone()));
        methods.add_method("unsubscribe", |_, this, ()| {
            Ok(this.engine.unsubscribe(&this.bus, this.id))
        });
        methods.add_meta_method("__tostring", |_, this, ()| {
            Ok(format!("Subscription({} on {})", this.id, this.pattern))
        });
    }
}

/// The subscription a function was given: a handle or an id string.
fn subscription_id(value: &LuaValue, what: &str) -> mlua::Result<SubscriptionId> {
    match value {
        LuaValue::UserData(ud) => match ud.borrow::<LuaSubscription>() {
            Ok(s) => Ok(s.id),
            Err(_) => Err(fail(format!(
                "{what} expects a subscription or a subscription id string"
            ))),
        },
        LuaValue::String(s) => {
            crate::engine::subscription_id(&s.to_str()?).map_err(|e| fail(e.context(what)))
        }
        other => Err(fail(format!(
            "{what} expects a subscription or a subscription id string, got {}",
            type_of(other)
        ))),
    }
}

pub(super) fn install(lua: &Lua, weak: Weak<LuaEngine>) -> mlua::Result<()> {
    let event = lua.create_table()?;
    let publish = publish(lua, weak.clone())?;
    event.set("publish", publish.clone())?;
    event.set("emit", publish)?;
    event.set("subscribe", subscribe(lua, weak.clone())?)?;
    event.set("receive", receive(lua, weak.clone())?)?;
    event.set("unsubscribe", unsubscribe(lua, weak.clone())?)?;
    install_listings(lua, &event, weak)?;
    lua.globals().set("Event", event)
}

/// `Event.publish(topic, data, options)` (also `Event.emit`).
fn publish(lua: &Lua, weak: Weak<LuaEngine>) -> mlua::Result<Function> {
    async_function(
        lua,
        move |_, (topic, data, opts): (LuaValue, LuaValue, LuaValue)| {
            let w = weak.clone();
            async move {
                let host = engine(&w)?.host.clone();
                let topic = arg_string(&topic, "Event.publish: argument 1 (the topic)")?;
                let data = arg_json(&data, "Event.publish: argument 2 (data)")?;
                let opts = arg_json(&opts, "Event.publish: argument 3 (options)")?;
                host.publish(&topic, data, &opts, Language::Lua)
                    .await
                    .map_err(|m| fail(m.context("Event.publish")))
            }
        },
    )
}

/// `Event.subscribe(pattern, callback?, options?)`, or
/// `Event.subscribe(pattern, options)`.
fn subscribe(lua: &Lua, weak: Weak<LuaEngine>) -> mlua::Result<Function> {
    engine_function(
        lua,
        &weak,
        |_, engine, (pattern, second, third): (LuaValue, LuaValue, LuaValue)| {
            let pattern = arg_string(&pattern, "Event.subscribe: argument 1 (the pattern)")?;
            let (callback, opts) = match (second, third) {
                (LuaValue::Function(f), opts) => (Some(f), opts),
                (LuaValue::Nil, opts) => (None, opts),
                (opts @ LuaValue::Table(_), LuaValue::Nil) => (None, opts),
                (other, _) => {
                    return Err(fail(format!(
                        "Event.subscribe: argument 2 must be a callback function or an options table, got {}",
                        type_of(&other)
                    )));
                }
            };
            let opts = arg_json(&opts, "Event.subscribe: options")?;
            let id = crate::engine::subscribe(engine, &pattern, callback, &opts)
                .map_err(|m| fail(m.context("Event.subscribe")))?;
            Ok(LuaSubscription {
                id,
                pattern,
                bus: engine.host.bus().clone(),
                engine: engine.handle.clone(),
            })
        },
    )
}

/// `Event.receive(sub, timeout_ms)`: the next event, or `nil`.
fn receive(lua: &Lua, weak: Weak<LuaEngine>) -> mlua::Result<Function> {
    async_function(lua, move |lua, (sub, timeout): (LuaValue, LuaValue)| {
        let w = weak.clone();
        async move {
            let engine = engine(&w)?;
            let id = subscription_id(&sub, "Event.receive")?;
            let next = engine
                .handle
                .receive(id, millis(&timeout))
                .map_err(|m| fail(m.context("Event.receive")))?;
            drop(engine);
            match next.await {
                Some(ev) => Ok(LuaValue::Table(event_to_lua(&lua, &ev)?)),
                None => Ok(LuaValue::Nil),
            }
        }
    })
}

/// `Event.unsubscribe(sub)`: true if the subscription was still active.
fn unsubscribe(lua: &Lua, weak: Weak<LuaEngine>) -> mlua::Result<Function> {
    engine_function(lua, &weak, |_, engine, sub: LuaValue| {
        let id = subscription_id(&sub, "Event.unsubscribe")?;
        Ok(engine.handle.unsubscribe(engine.host.bus(), id))
    })
}

/// `Event.stats` (also `Event.get_stats`) and `Event.list_subscriptions`.
fn install_listings(lua: &Lua, event: &Table, weak: Weak<LuaEngine>) -> mlua::Result<()> {
    let stats = engine_function(lua, &weak, |lua, engine, ()| {
        json_to_lua(lua, &engine.host.stats())
    })?;
    event.set("stats", stats.clone())?;
    event.set("get_stats", stats)?;
    event.set(
        "list_subscriptions",
        engine_function(lua, &weak, |lua, engine, ()| {
            json_to_lua(lua, &engine.host.list_subscriptions())
        })?,
    )
}
