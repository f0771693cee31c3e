//! The natives behind `Event`.

use std::rc::Rc;
use std::str::FromStr;
use std::time::Duration;

use boa_engine::{Context, JsResult, JsValue};
use llmspell_events::{SubscriptionId, TopicPattern};
use serde_json::{Value, json};

use super::{JS, arg, arg_json, arg_string, engine, fail, promise, to_js, type_of};
use crate::engine::CallArgs;
use crate::js::engine::JsEngine;

pub(super) fn publish(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
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

pub(super) fn subscribe(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
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

pub(super) fn receive(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
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

pub(super) fn unsubscribe(_: &JsValue, args: &[JsValue], _: &mut Context) -> JsResult<JsValue> {
    let engine = engine()?;
    let id = subscription_id(&arg(args, 0), "Event.unsubscribe")?;
    let removed = engine.host.bus().unsubscribe(id);
    let pulled = engine.handles.pulls.borrow_mut().remove(&id).is_some();
    Ok((removed || pulled).into())
}

pub(super) fn stats(_: &JsValue, _: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    to_js(&engine()?.host.stats(), ctx)
}

pub(super) fn list_subscriptions(
    _: &JsValue,
    _: &[JsValue],
    ctx: &mut Context,
) -> JsResult<JsValue> {
    to_js(&engine()?.host.list_subscriptions(), ctx)
}
