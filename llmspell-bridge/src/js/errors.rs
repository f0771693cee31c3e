//! JavaScript errors as scripts and users should read them.

use std::time::Duration;

use boa_engine::{Context, JsError, JsValue, js_string};

use crate::ScriptError;

/// The name the built-in globals are compiled under; its frames are never
/// reported as an error's position.
pub(crate) const PRELUDE_NAME: &str = "llmspell:prelude";

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

/// An error of a callback as one line for reports: `file:line: message`
/// when a position is known. A call stopped by its loop budget reports
/// its time limit.
pub(crate) fn callback_message(
    err: &JsError,
    ctx: &mut Context,
    deadline: Option<Duration>,
) -> String {
    let text = err.to_string();
    if let Some(limit) = deadline
        && text.contains("maximum number of iteration loops")
    {
        return format!("time limit of {} ms exceeded", limit.as_millis());
    }
    let e = script_error(err, "", ctx);
    one_line(&e)
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
