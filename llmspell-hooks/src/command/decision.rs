//! What a finished program's exit status and output decide, and the
//! messages of the failures among them: pure functions, tested row by row.

use std::fmt::Write as _;

use llmspell_core::Language;
use serde_json::Value;

use super::process::{self, Exit, Output};
use crate::{HookAdapter, HookResult, JsonHookAdapter};

/// The decision a finished program's exit status and output stand for
/// (the table in [`CommandHook`](super::CommandHook)'s docs).
pub(super) fn decide(label: &str, output: &Output) -> llmspell_core::Result<HookResult> {
    match output.exit {
        Exit::Code(0) => answer(label, &output.stdout),
        Exit::Code(2) => Ok(HookResult::Cancel(cancel_reason(label, output))),
        Exit::Code(code) => Err(llmspell_core::Error::execution(
            label,
            format!("exited with status {code}{}", stderr_note(output)),
        )),
        Exit::Signal(signal) => Err(llmspell_core::Error::execution(
            label,
            format!(
                "was killed by signal {signal}{}{}",
                process::signal_name(signal)
                    .map(|name| format!(" ({name})"))
                    .unwrap_or_default(),
                stderr_note(output)
            ),
        )),
    }
}

/// Parses the stdout of a program that exited with status 0.
fn answer(label: &str, stdout: &[u8]) -> llmspell_core::Result<HookResult> {
    if stdout.iter().all(u8::is_ascii_whitespace) {
        return Ok(HookResult::Continue);
    }
    let value: Value = serde_json::from_slice(stdout).map_err(|e| {
        llmspell_core::Error::execution(
            label,
            format!(
                "stdout is not JSON: {e}, near `{}`",
                excerpt(stdout, e.line(), e.column())
            ),
        )
    })?;
    JsonHookAdapter::new(Language::Native)
        .parse_result(value)
        .map_err(|e| llmspell_core::Error::execution(label, e.to_string()))
}

/// The reason of an exit status 2: stderr, trimmed.
fn cancel_reason(label: &str, output: &Output) -> String {
    let text = String::from_utf8_lossy(&output.stderr);
    let reason = text.trim();
    if reason.is_empty() {
        return format!("{label} cancelled (exit status 2) without a reason on stderr");
    }
    if output.stderr_truncated {
        format!("{reason}… (stderr cut at {} bytes)", output.stderr.len())
    } else {
        reason.to_owned()
    }
}

/// `; stderr: …` with the start of stderr on one line, or nothing.
fn stderr_note(output: &Output) -> String {
    /// How much of stderr an error message quotes.
    const QUOTED: usize = 512;
    let text = output.stderr.trim_ascii();
    if text.is_empty() {
        return String::new();
    }
    let mut end = text.len().min(QUOTED);
    while end < text.len() && is_continuation(text[end]) {
        end += 1;
    }
    let mut note = String::from("; stderr: ");
    escape_into(&mut note, &text[..end]);
    if end < text.len() || output.stderr_truncated {
        note.push('…');
    }
    note
}

/// The bytes around 1-based `line` and `column` (a JSON error's position),
/// escaped.
fn excerpt(bytes: &[u8], line: usize, column: usize) -> String {
    /// Bytes shown each side of the position.
    const SIDE: usize = 24;
    let line_start = match line {
        0 | 1 => 0,
        n => bytes
            .iter()
            .enumerate()
            .filter(|&(_, &b)| b == b'\n')
            .nth(n - 2)
            .map_or(bytes.len(), |(i, _)| i + 1),
    };
    let at = (line_start + column.saturating_sub(1)).min(bytes.len());
    let mut start = at.saturating_sub(SIDE);
    while bytes.get(start).is_some_and(|&b| is_continuation(b)) && start > 0 {
        start -= 1;
    }
    let mut end = at.saturating_add(SIDE).min(bytes.len());
    while bytes.get(end).is_some_and(|&b| is_continuation(b)) {
        end += 1;
    }
    let mut out = String::new();
    if start > 0 {
        out.push('…');
    }
    escape_into(&mut out, &bytes[start..end]);
    if end < bytes.len() {
        out.push('…');
    }
    out
}

/// Whether `b` continues a UTF-8 sequence.
fn is_continuation(b: u8) -> bool {
    b & 0b1100_0000 == 0b1000_0000
}

/// Appends `bytes` to `out` on one line: control characters escaped
/// (`\n`), bytes that are not UTF-8 as `\xNN`.
fn escape_into(out: &mut String, bytes: &[u8]) {
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_control() {
                out.extend(c.escape_debug());
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn exited(code: i32, stdout: &str, stderr: &str) -> Output {
        Output {
            exit: Exit::Code(code),
            stdout: stdout.as_bytes().to_vec(),
            stderr: stderr.as_bytes().to_vec(),
            stderr_truncated: false,
        }
    }

    fn decided(output: &Output) -> std::result::Result<HookResult, String> {
        decide("command `policy`", output).map_err(|e| e.to_string())
    }

    #[test]
    fn every_exit_status_and_output_has_its_decision() {
        let cancel = r#"{"action": "cancel", "reason": "no"}"#;
        let rows: [(Output, std::result::Result<HookResult, &str>); 10] = [
            (exited(0, "", "ignored"), Ok(HookResult::Continue)),
            (exited(0, " \n\t", ""), Ok(HookResult::Continue)),
            (exited(0, "null", ""), Ok(HookResult::Continue)),
            (exited(0, "\"continue\"\n", ""), Ok(HookResult::Continue)),
            (exited(0, cancel, ""), Ok(HookResult::Cancel("no".into()))),
            (
                exited(0, r#"{"action":"modified","data":{"x":1}}"#, ""),
                Ok(HookResult::Modified(json!({ "x": 1 }))),
            ),
            (
                exited(2, cancel, "  too big\n"),
                Ok(HookResult::Cancel("too big".into())),
            ),
            (
                exited(2, "", ""),
                Ok(HookResult::Cancel(
                    "command `policy` cancelled (exit status 2) without a reason on stderr".into(),
                )),
            ),
            (
                exited(1, cancel, "boom\nat line 3"),
                Err("command `policy` failed: exited with status 1; stderr: boom\\nat line 3"),
            ),
            (
                Output {
                    exit: Exit::Signal(9),
                    ..exited(0, cancel, "")
                },
                Err("command `policy` failed: was killed by signal 9 (SIGKILL)"),
            ),
        ];
        for (output, expected) in rows {
            assert_eq!(
                decided(&output),
                expected.map_err(str::to_owned),
                "{output:?}"
            );
        }
    }

    #[test]
    fn output_that_is_not_json_is_shown_where_it_breaks() {
        let e = decided(&exited(0, "{\"action\": cancel}", "")).unwrap_err();
        assert!(e.contains("line 1 column 12"), "{e}");
        assert!(e.contains("near `{\"action\": cancel}`"), "{e}");
        let e = decided(&exited(
            0,
            "{\"action\":\n \"cancel\"}\ttrailing \x01\u{ff}",
            "",
        ))
        .unwrap_err();
        assert!(e.contains("trailing characters at line 2 column"), "{e}");
        assert!(e.contains("\\ttrailing \\u{1}ÿ`"), "{e}");
        let mut raw = b"{\"action\": \"cancel\", \"reason\": \"".to_vec();
        raw.extend_from_slice(&[0xff, 0xfe]);
        raw.extend_from_slice(b"\"}");
        let output = Output {
            stdout: raw,
            ..exited(0, "", "")
        };
        let e = decided(&output).unwrap_err();
        assert!(e.contains("\\xff\\xfe"), "{e}");
    }

    #[test]
    fn excerpts_of_long_output_are_cut_around_the_position() {
        let long = format!("{}!{}", "a".repeat(100), "b".repeat(100));
        let shown = excerpt(long.as_bytes(), 1, 101);
        assert_eq!(shown, format!("…{}!{}…", "a".repeat(24), "b".repeat(23)));
        let lines = "ok\nok\nbad line here";
        assert_eq!(excerpt(lines.as_bytes(), 3, 1), "ok\\nok\\nbad line here");
        assert_eq!(excerpt(b"", 1, 0), "");
        // A cut never splits a character.
        let wide = "é".repeat(40);
        assert!(!excerpt(wide.as_bytes(), 1, 41).contains("\\x"));
    }

    #[test]
    fn json_that_is_not_a_result_names_the_command_and_the_valid_shapes() {
        let e = decided(&exited(0, r#"{"action": "deny"}"#, "")).unwrap_err();
        assert!(
            e.starts_with("command `policy` failed: invalid hook result: unknown action \"deny\""),
            "{e}"
        );
        assert!(e.contains("valid results"), "{e}");
    }

    #[test]
    fn long_stderr_is_quoted_in_part() {
        let output = Output {
            stderr_truncated: true,
            ..exited(3, "", &"x".repeat(2000))
        };
        let e = decided(&output).unwrap_err();
        assert!(e.ends_with(&format!("stderr: {}…", "x".repeat(512))), "{e}");
        let reason = cancel_reason(
            "c",
            &Output {
                stderr_truncated: true,
                ..exited(2, "", "stop")
            },
        );
        assert_eq!(reason, "stop… (stderr cut at 4 bytes)");
    }
}
