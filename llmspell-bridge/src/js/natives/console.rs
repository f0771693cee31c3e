//! The natives behind `console`, `print`, `llmspell` and timers: output,
//! sleeping and reports of failed timer callbacks.

use boa_engine::{Context, JsValue};
use serde_json::Value;

use super::{JS, NativeResult, arg, engine, fail, millis, promise};
use crate::engine::BusyGuard;

/// `llmspell.sleep(ms)`: a Promise settled after `ms` milliseconds (0: on
/// the engine's next turn), letting callbacks run meanwhile.
pub(super) fn sleep(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> NativeResult<JsValue> {
    let pause = crate::engine::sleep(millis(&arg(args, 0))).map_err(fail)?;
    promise(ctx, async move {
        pause.await;
        Ok(Value::Bool(true))
    })
}

/// `write(line, toStderr)`: one line to stdout or stderr; a closed stream
/// drops the line and the script goes on.
pub(super) fn write(_: &JsValue, args: &[JsValue], _: &mut Context) -> NativeResult<JsValue> {
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
pub(super) fn report(_: &JsValue, args: &[JsValue], _: &mut Context) -> NativeResult<JsValue> {
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
