//! JavaScript errors as scripts and users should read them.

use std::time::Duration;

use boa_engine::{Context, JsError, JsResult, JsValue, js_string};

use crate::{HostError, ScriptError};

/// The name the built-in globals are compiled under; its frames are never
/// reported as an error's position.
pub(crate) const PRELUDE_NAME: &str = "llmspell:prelude";

/// What a native function throws: a host error, which scripts receive as an
/// `Error` with `.kind` and the error's fields, or an error of the engine
/// itself (a callback that threw, a value that cannot convert).
#[derive(Debug)]
pub(crate) enum Thrown {
    /// A host call failed, or the script gave a wrong argument.
    Host(HostError),
    /// The engine raised it.
    Js(JsError),
}

impl From<JsError> for Thrown {
    fn from(e: JsError) -> Self {
        Thrown::Js(e)
    }
}

impl From<HostError> for Thrown {
    fn from(e: HostError) -> Self {
        Thrown::Host(e)
    }
}

impl Thrown {
    /// The error to throw into JavaScript.
    pub(crate) fn into_js(self, ctx: &mut Context) -> JsError {
        match self {
            Thrown::Js(e) => e,
            Thrown::Host(e) => {
                let site = error_object("", ctx);
                match describe(&site, &e, ctx) {
                    Ok(()) => JsError::from_opaque(site),
                    Err(js) => js,
                }
            }
        }
    }
}

/// A fresh `Error` object; made here, its stack names the calling script
/// line.
pub(crate) fn error_object(message: &str, ctx: &mut Context) -> JsValue {
    let ctor = ctx.intrinsics().constructors().error().constructor();
    match ctor.construct(&[js_string!(message).into()], None, ctx) {
        Ok(obj) => obj.into(),
        Err(_) => JsValue::from(js_string!(message)),
    }
}

/// Gives the `Error` object `site` the message, `kind` and fields of `e`.
pub(crate) fn describe(site: &JsValue, e: &HostError, ctx: &mut Context) -> JsResult<()> {
    let Some(obj) = site.as_object() else {
        return Ok(());
    };
    obj.set(js_string!("message"), js_string!(e.message()), false, ctx)?;
    obj.set(js_string!("kind"), js_string!(e.kind()), false, ctx)?;
    for (key, value) in e.fields() {
        let v = super::conversion::json_to_js(&value, ctx)?;
        obj.set(js_string!(key), v, false, ctx)?;
    }
    Ok(())
}

/// The message of an error: an `Error`'s message (prefixed with its name
/// when it is not a plain `Error`), or the thrown value as a string.
pub(crate) fn message(err: &JsError, ctx: &mut Context) -> String {
    if let Some(native) = err.as_native() {
        let text = native.message();
        let kind = native.kind().to_string();
        return if kind == "Error" || kind.is_empty() {
            text.to_owned()
        } else {
            format!("{kind}: {text}")
        };
    }
    match err.clone().into_opaque(ctx) {
        Ok(value) => value_message(&value, ctx),
        Err(_) => first_line(&err.to_string()),
    }
}

/// The message of a thrown or rejected value.
fn value_message(value: &JsValue, ctx: &mut Context) -> String {
    if let Some(obj) = value.as_object() {
        let name = obj
            .get(js_string!("name"), ctx)
            .ok()
            .and_then(|v| v.as_string().map(|s| s.to_std_string_escaped()));
        let msg = obj
            .get(js_string!("message"), ctx)
            .ok()
            .and_then(|v| v.as_string().map(|s| s.to_std_string_escaped()));
        if let Some(msg) = msg {
            return match name.as_deref() {
                None | Some("Error") | Some("") => msg,
                Some(n) => format!("{n}: {msg}"),
            };
        }
    }
    match value.to_string(ctx) {
        Ok(s) => s.to_std_string_escaped(),
        Err(_) => value.display().to_string(),
    }
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or(text).trim().to_owned()
}

/// The innermost script frame (`file`, `line`) of a backtrace in `text`
/// (`    at f (file.js:12:5)` lines), skipping native and prelude frames.
fn position(text: &str) -> Option<(String, u32)> {
    text.lines().find_map(|line| {
        let line = line.trim();
        let rest = line.strip_prefix("at ")?;
        let open = rest.rfind('(')?;
        let inner = rest[open + 1..].strip_suffix(')')?;
        if inner.starts_with("native") {
            return None;
        }
        let mut parts = inner.rsplitn(3, ':');
        let _column = parts.next()?;
        let line_no: u32 = parts.next()?.parse().ok()?;
        let file = parts.next()?;
        (!file.is_empty() && file != PRELUDE_NAME).then(|| (file.to_owned(), line_no))
    })
}

/// The backtrace text of an error (its display form, or the `stack` of a
/// thrown `Error` object).
fn backtrace(err: &JsError, ctx: &mut Context) -> String {
    let shown = err.to_string();
    if shown.contains("\n    at ") {
        return shown;
    }
    value_stack(&err.clone().into_opaque(ctx).unwrap_or_default(), ctx).unwrap_or(shown)
}

fn value_stack(value: &JsValue, ctx: &mut Context) -> Option<String> {
    let obj = value.as_object()?;
    let stack = obj.get(js_string!("stack"), ctx).ok()?;
    stack.as_string().map(|s| s.to_std_string_escaped())
}

/// A script error with the best position available.
pub(crate) fn script_error(err: &JsError, file: &str, ctx: &mut Context) -> ScriptError {
    let msg = message(err, ctx);
    let parsed = ScriptError::parse(&msg, Some(file));
    if parsed.line.is_some() {
        return parsed;
    }
    match position(&backtrace(err, ctx)) {
        Some((f, line)) => ScriptError {
            file: Some(f),
            line: Some(line),
            message: msg,
        },
        None => parsed,
    }
}

/// The error of a callback, its message one line for reports
/// (`file:line: message` when a position is known). A call stopped by its
/// loop budget reports its time limit (kind `timeout`).
pub(crate) fn callback_error(
    err: &JsError,
    ctx: &mut Context,
    deadline: Option<Duration>,
) -> HostError {
    let text = err.to_string();
    if let Some(limit) = deadline
        && text.contains("maximum number of iteration loops")
    {
        return HostError::new(
            "timeout",
            format!("time limit of {} ms exceeded", limit.as_millis()),
        );
    }
    let e = script_error(err, "", ctx);
    crate::engine::script_failed(one_line(&e))
}

/// The message of a rejected promise's value, with its position.
pub(crate) fn rejection_message(value: &JsValue, ctx: &mut Context) -> String {
    let msg = value_message(value, ctx);
    match value_stack(value, ctx).as_deref().and_then(position) {
        Some((f, line)) => format!("{f}:{line}: {msg}"),
        None => msg,
    }
}

fn one_line(e: &ScriptError) -> String {
    match (&e.file, e.line) {
        (Some(f), Some(line)) if !f.is_empty() => format!("{f}:{line}: {}", e.message),
        _ => e.message.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_skip_native_and_prelude_frames() {
        let text = "Error: boom\n    at invoke (native)\n    at call (llmspell:prelude:10:3)\n    at <main> (scripts/a.js:7:12)";
        assert_eq!(position(text), Some(("scripts/a.js".into(), 7)));
        assert_eq!(position("Error: boom"), None);
    }
}
