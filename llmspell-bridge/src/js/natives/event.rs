//! The natives behind `Event`.

use boa_engine::{Context, JsValue};
use llmspell_events::SubscriptionId;
use serde_json::{Value, json};

use super::{
    JS, NativeResult, arg, arg_json, arg_string, engine, fail, millis, promise, to_js, type_of,
};

pub(super) fn publish(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> NativeResult<JsValue> {
    let host = engine()?.host.clone();
    let topic = arg_string(&arg(args, 0), "Event.publish: argument 1 (the topic)")?;
    let data = arg_json(&arg(args, 1), "Event.publish: argument 2 (data)", ctx)?;
    let opts = arg_json(&arg(args, 2), "Event.publish: argument 3 (options)", ctx)?;
    promise(ctx, async move {
        host.publish(&topic, data, &opts, JS)
            .await
            .map(Value::String)
            .map_err(|m| m.context("Event.publish"))
    })
}

pub(super) fn subscribe(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> NativeResult<JsValue> {
    let engine = engine()?;
    let pattern = arg_string(&arg(args, 0), "Event.subscribe: argument 1 (the pattern)")?;
    let callback = arg(args, 1).as_callable();
    let opts = arg_json(&arg(args, 2), "Event.subscribe: options", ctx)?;
    let id = crate::engine::subscribe(&engine, &pattern, callback, &opts)
        .map_err(|m| fail(m.context("Event.subscribe")))?;
    to_js(&json!({ "id": id.to_string(), "pattern": pattern }), ctx)
}

/// The subscription a native was given (the prelude passes ids).
fn subscription_id(v: &JsValue, what: &str) -> NativeResult<SubscriptionId> {
    let s = v.as_string().ok_or_else(|| {
        fail(format!(
            "{what} expects a subscription or a subscription id string, got {}",
            type_of(v)
        ))
    })?;
    crate::engine::subscription_id(&s.to_std_string_escaped()).map_err(|e| fail(e.context(what)))
}

pub(super) fn receive(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> NativeResult<JsValue> {
    let engine = engine()?;
    let id = subscription_id(&arg(args, 0), "Event.receive")?;
    let next = engine
        .handle
        .receive(id, millis(&arg(args, 1)))
        .map_err(|m| fail(m.context("Event.receive")))?;
    drop(engine);
    promise(ctx, async move {
        let ev = next.await;
        Ok(ev.map_or(Value::Null, |ev| crate::Host::event_json(&ev)))
    })
}

pub(super) fn unsubscribe(_: &JsValue, args: &[JsValue], _: &mut Context) -> NativeResult<JsValue> {
    let engine = engine()?;
    let id = subscription_id(&arg(args, 0), "Event.unsubscribe")?;
    Ok(engine.handle.unsubscribe(engine.host.bus(), id).into())
}

pub(super) fn stats(_: &JsValue, _: &[JsValue], ctx: &mut Context) -> NativeResult<JsValue> {
    to_js(&engine()?.host.stats(), ctx)
}

pub(super) fn list_subscriptions(
    _: &JsValue,
    _: &[JsValue],
    ctx: &mut Context,
) -> NativeResult<JsValue> {
    to_js(&engine()?.host.list_subscriptions(), ctx)
}
