//! The natives behind `console`, `print`, `llmspell` and timers: output,
//! sleeping and reports of failed timer callbacks.

use std::time::Duration;

use boa_engine::{Context, JsResult, JsValue};
use serde_json::Value;

use super::{JS, arg, engine, fail, promise, type_of};
use crate::engine::BusyGuard;

/// `llmspell.sleep(ms)`: a Promise settled after `ms` milliseconds (0: on
/// the engine's next turn), letting callbacks run meanwhile.
pub(super) fn sleep(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
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
pub(super) fn write(_: &JsValue, args: &[JsValue], _: &mut Context) -> JsResult<JsValue> {
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
pub(super) fn report(_: &JsValue, args: &[JsValue], _: &mut Context) -> JsResult<JsValue> {
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
