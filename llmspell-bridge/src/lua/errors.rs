//! Lua errors as scripts and users should read them.

use crate::ScriptError;

/// The message of the innermost cause, without mlua's prefixes.
pub(crate) fn message(err: &mlua::Error) -> String {
    match err {
        mlua::Error::CallbackError { cause, .. } => message(cause),
        mlua::Error::RuntimeError(m) => first_part(m),
        mlua::Error::SyntaxError { message, .. } => first_part(message),
        mlua::Error::MemoryError(m) => format!("out of memory: {m}"),
        mlua::Error::ExternalError(e) => e.to_string(),
        mlua::Error::WithContext { cause, context } => format!("{context}: {}", message(cause)),
        other => first_part(&other.to_string()),
    }
}

fn first_part(m: &str) -> String {
    m.split("\nstack traceback:")
        .next()
        .unwrap_or(m)
        .trim()
        .to_owned()
}

/// The first `file:line` of a script frame in a traceback.
fn position_in_traceback(traceback: &str) -> Option<(String, u32)> {
    traceback.lines().find_map(|line| {
        let line = line.trim();
        if line.starts_with('[') {
            return None;
        }
        let mut parts = line.splitn(3, ':');
        let file = parts.next()?;
        let n = parts.next()?.trim().parse().ok()?;
        (!file.is_empty()).then(|| (file.to_owned(), n))
    })
}

/// A script error with the best position available: the one in the
/// message (Lua errors), else the first script frame of the traceback
/// (errors raised by host functions), else the file alone.
pub(crate) fn script_error(err: &mlua::Error, file: &str) -> ScriptError {
    let msg = message(err);
    let parsed = ScriptError::parse(&msg, Some(file));
    if parsed.line.is_some() {
        return parsed;
    }
    if let mlua::Error::CallbackError { traceback, .. } = err
        && let Some((f, line)) = position_in_traceback(traceback)
    {
        return ScriptError {
            file: Some(f),
            line: Some(line),
            message: msg,
        };
    }
    parsed
}

/// An error of a callback as one line for reports: `file:line: message`
/// when a position is known, else the message.
pub(crate) fn callback_message(err: &mlua::Error) -> String {
    let e = script_error(err, "");
    match (&e.file, e.line) {
        (Some(f), Some(line)) if !f.is_empty() => format!("{f}:{line}: {}", e.message),
        _ => e.message,
    }
}
