//! The `Event` global.

use std::rc::{Rc, Weak};
use std::str::FromStr;
use std::time::Duration;

use llmspell_core::Language;
use llmspell_events::{EventBus, SubscriptionId, TopicPattern};
use mlua::{Lua, UserData, UserDataMethods, Value as LuaValue};

use super::{arg_json, arg_string, async_function, engine, fail, function, type_of};
use crate::engine::CallArgs;
use crate::lua::conversion::{event_to_lua, json_to_lua};
use crate::lua::engine::LuaEngine;

/// `sub = Event.subscribe(...)`: `sub:id()`, `sub:pattern()`,
/// `sub:unsubscribe()`. Dropping the handle does not unsubscribe.
pub(super) struct LuaSubscription {
    id: SubscriptionId,
    pattern: String,
    bus: EventBus,
    engine: Weak<LuaEngine>,
}

impl LuaSubscription {
    /// Unsubscribes; true if the subscription was still active.
    fn cancel(&self) -> bool {
        // Unsubscribe first: dropping a pull subscription's stream also
        // unsubscribes it, which would make the answer always false.
        let removed = self.bus.unsubscribe(self.id);
        let pulled = self
            .engine
            .upgrade()
            .is_some_and(|e| e.pulls.borrow_mut().remove(&self.id).is_some());
        removed || pulled
    }
}

impl UserData for LuaSubscription {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("id", |_, this, ()| Ok(this.id.to_string()));
        methods.add_method("pattern", |_, this, ()| Ok(this.pattern.clone()));
        methods.add_method("unsubscribe", |_, this, ()| Ok(this.cancel()));
        methods.add_meta_method("__tostring", |_, this, ()| {
            Ok(format!("Subscription({} on {})", this.id, this.pattern))
        });
    }
}

fn subscription_id(value: &LuaValue, what: &str) -> mlua::Result<SubscriptionId> {
    match value {
        LuaValue::UserData(ud) => match ud.borrow::<LuaSubscription>() {
            Ok(s) => Ok(s.id),
            Err(_) => Err(fail(format!(
                "{what} expects a subscription or a subscription id string"
            ))),
        },
        LuaValue::String(s) => {
            SubscriptionId::from_str(&s.to_str()?).map_err(|e| fail(format!("{what}: {e}")))
        }
        other => Err(fail(format!(
            "{what} expects a subscription or a subscription id string, got {}",
            type_of(other)
        ))),
    }
}

pub(super) fn install(lua: &Lua, weak: Weak<LuaEngine>) -> mlua::Result<()> {
    let event = lua.create_table()?;

    let w = weak.clone();
    let publish = async_function(
        lua,
        move |_, (topic, data, opts): (LuaValue, LuaValue, LuaValue)| {
            let w = w.clone();
            async move {
                let host = engine(&w)?.host.clone();
                let topic = arg_string(&topic, "Event.publish: argument 1 (the topic)")?;
                let data = arg_json(&data, "Event.publish: argument 2 (data)")?;
                let opts = arg_json(&opts, "Event.publish: argument 3 (options)")?;
                host.publish(&topic, data, &opts, Language::Lua)
                    .await
                    .map_err(|m| fail(format!("Event.publish: {m}")))
            }
        },
    )?;
    event.set("publish", publish.clone())?;
    event.set("emit", publish)?;

    let w = weak.clone();
    event.set(
        "subscribe",
        function(lua, move |_, (pattern, second, third): (LuaValue, LuaValue, LuaValue)| {
            let engine = engine(&w)?;
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
            let options = engine
                .host
                .subscription_options(&opts, Language::Lua)
                .map_err(|m| fail(format!("Event.subscribe: {m}")))?;
            let compiled = TopicPattern::new(&pattern).map_err(|e| fail(format!("Event.subscribe: {e}")))?;
            let bus = engine.host.bus().clone();
            let sub = bus.subscribe_with(compiled, options).map_err(|e| fail(format!("Event.subscribe: {e}")))?;
            let id = sub.id();
            match callback {
                Some(f) => {
                    let timeout = engine.host.inner.live.callback_timeout();
                    let host = engine.host.clone();
                    crate::engine::start_pump(&engine, host, sub, move |e: &LuaEngine, ev| {
                        e.call_function(f.clone(), &CallArgs::Event(ev), Some(timeout))
                    });
                }
                None => {
                    engine.pulls.borrow_mut().insert(id, Rc::new(tokio::sync::Mutex::new(sub)));
                }
            }
            Ok(LuaSubscription { id, pattern, bus, engine: Rc::downgrade(&engine) })
        })?,
    )?;

    let w = weak.clone();
    event.set(
        "receive",
        async_function(lua, move |lua, (sub, timeout): (LuaValue, LuaValue)| {
            let w = w.clone();
            async move {
                let engine = engine(&w)?;
                let id = subscription_id(&sub, "Event.receive")?;
                let timeout = match timeout {
                    LuaValue::Nil => Duration::from_millis(0),
                    LuaValue::Integer(ms) if ms >= 0 => Duration::from_millis(ms as u64),
                    LuaValue::Number(ms) if ms >= 0.0 && ms.is_finite() => Duration::from_secs_f64(ms / 1000.0),
                    other => {
                        return Err(fail(format!(
                            "Event.receive: argument 2 (timeout_ms) must be a non-negative number, got {}",
                            type_of(&other)
                        )));
                    }
                };
                let Some(sub) = engine.pulls.borrow().get(&id).cloned() else {
                    return Err(fail(format!(
                        "Event.receive: subscription {id} has a callback or is not one of this script's subscriptions; receive works on subscriptions made without a callback"
                    )));
                };
                drop(engine);
                let ev = {
                    let mut s = sub.lock().await;
                    if timeout.is_zero() { s.try_recv() } else { s.recv_timeout(timeout).await }
                };
                match ev {
                    Some(ev) => Ok(LuaValue::Table(event_to_lua(&lua, &ev)?)),
                    None => Ok(LuaValue::Nil),
                }
            }
        })?,
    )?;

    let w = weak.clone();
    event.set(
        "unsubscribe",
        function(lua, move |_, sub: LuaValue| {
            let engine = engine(&w)?;
            let id = subscription_id(&sub, "Event.unsubscribe")?;
            let removed = engine.host.bus().unsubscribe(id);
            let pulled = engine.pulls.borrow_mut().remove(&id).is_some();
            Ok(removed || pulled)
        })?,
    )?;

    let w = weak.clone();
    let stats = function(lua, move |lua, ()| {
        json_to_lua(lua, &engine(&w)?.host.stats())
    })?;
    event.set("stats", stats.clone())?;
    event.set("get_stats", stats)?;

    let w = weak;
    event.set(
        "list_subscriptions",
        function(lua, move |lua, ()| {
            json_to_lua(lua, &engine(&w)?.host.list_subscriptions())
        })?,
    )?;

    lua.globals().set("Event", event)
}
