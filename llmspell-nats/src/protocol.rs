//! The remote hook protocol: request/reply on `<prefix>.hooks.<point>`.
//!
//! **Request.** The payload is a [`DistributedHookContext`] as JSON: the
//! [`HookContext`](llmspell_hooks::HookContext) (point, component,
//! correlation, parent and trace ids, language, data, metadata, …), the
//! origin and the nodes passed (`hops`), the hop limit and the propagation
//! flags. Headers repeat the origin (`Llmspell-Origin`), correlation id and
//! trace id for tools that watch the subject.
//!
//! **Reply.** A JSON object: `{"node": "<server>", "result": <a hook
//! result in its script form>, "decided_by": "<hook>" | null, "metadata":
//! {…}}` when the server ran its hooks, or `{"node": "<server>", "error":
//! "<why>"}` when it could not (a malformed request, a loop). A result is
//! parsed by the one parser of script and command hooks.

use std::collections::BTreeMap;

use llmspell_core::Language;
use llmspell_hooks::{DistributedHookContext, HookAdapter, HookResult, JsonHookAdapter};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The largest reply a remote hook call reads (bytes).
pub const MAX_REPLY: usize = 1 << 20;

/// The subject of the hooks of `point` under `prefix`.
pub fn hook_subject(prefix: &str, point: &llmspell_hooks::HookPoint) -> String {
    // Custom points (`custom:<name>`) keep their name; ':' is valid in subjects.
    format!("{prefix}.{}.{point}", crate::subject::HOOKS_ROOT)
}

/// A server's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reply {
    /// The node that answered.
    pub node: String,
    /// The result, in its script form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    /// The hook that decided, when one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    /// The context's metadata after the hooks ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
    /// Why the server could not run its hooks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Reply {
    /// A reply carrying `result`.
    pub fn result(
        node: &str,
        result: &HookResult,
        decided_by: Option<&str>,
        metadata: BTreeMap<String, String>,
    ) -> Self {
        Self {
            node: node.to_owned(),
            result: Some(result.to_script_value()),
            decided_by: decided_by.map(str::to_owned),
            metadata: Some(metadata),
            error: None,
        }
    }

    /// A reply saying why the server could not run its hooks.
    pub fn error(node: &str, message: impl Into<String>) -> Self {
        Self {
            node: node.to_owned(),
            result: None,
            decided_by: None,
            metadata: None,
            error: Some(message.into()),
        }
    }

    /// Parses a reply and its result.
    ///
    /// # Errors
    /// A message saying what is wrong: too large, not JSON, not a reply,
    /// an error the server reported, or a result of no valid shape.
    pub fn parse(bytes: &[u8]) -> Result<(Reply, HookResult), String> {
        if bytes.len() > MAX_REPLY {
            return Err(format!(
                "the reply is {} bytes, more than {MAX_REPLY}",
                bytes.len()
            ));
        }
        let reply: Reply = serde_json::from_slice(bytes).map_err(|e| {
            let shown = String::from_utf8_lossy(&bytes[..bytes.len().min(120)])
                .escape_debug()
                .to_string();
            format!("the reply is not a hook reply ({e}): `{shown}`")
        })?;
        if let Some(err) = &reply.error {
            return Err(format!("{} could not run its hooks: {err}", reply.node));
        }
        let value = reply.result.clone().ok_or_else(|| {
            format!(
                "the reply of {} has neither `result` nor `error`",
                reply.node
            )
        })?;
        let result = JsonHookAdapter::new(Language::Remote)
            .parse_result(value)
            .map_err(|e| format!("{} replied with {e}", reply.node))?;
        Ok((reply, result))
    }
}

/// Parses a request.
///
/// # Errors
/// A message saying why it is not a distributed hook context.
pub fn parse_request(bytes: &[u8]) -> Result<DistributedHookContext, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("the request is not UTF-8: {e}"))?;
    DistributedHookContext::from_json(text).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn replies_parse_strictly() {
        let ok = Reply::result(
            "p",
            &HookResult::Cancel("no".into()),
            Some("policy"),
            BTreeMap::new(),
        );
        let bytes = serde_json::to_vec(&ok).unwrap();
        let (r, result) = Reply::parse(&bytes).unwrap();
        assert_eq!(
            (r.decided_by.as_deref(), result),
            (Some("policy"), HookResult::Cancel("no".into()))
        );
        let rows: [(&[u8], &str); 6] = [
            (b"<html>", "is not a hook reply"),
            (b"{\"node\":\"p\"}", "neither `result` nor `error`"),
            (
                b"{\"node\":\"p\",\"error\":\"loop\"}",
                "p could not run its hooks: loop",
            ),
            (
                b"{\"node\":\"p\",\"result\":{\"action\":\"explode\"}}",
                "unknown action \"explode\"",
            ),
            (
                b"{\"node\":\"p\",\"result\":null,\"extra\":1}",
                "unknown field `extra`",
            ),
            (b"[1,2]", "is not a hook reply"),
        ];
        for (bytes, want) in rows {
            let e = Reply::parse(bytes).unwrap_err();
            assert!(e.contains(want), "{want}: {e}");
        }
        let huge = vec![b' '; MAX_REPLY + 1];
        assert!(Reply::parse(&huge).unwrap_err().contains("more than"));
        assert!(parse_request(&[0xff]).unwrap_err().contains("not UTF-8"));
        assert!(
            parse_request(json!({}).to_string().as_bytes())
                .unwrap_err()
                .contains("not a distributed hook context")
        );
    }

    #[test]
    fn subjects_name_the_point() {
        use llmspell_hooks::HookPoint;
        assert_eq!(
            hook_subject("ls", &HookPoint::BeforeToolExecution),
            "ls.hooks.BeforeToolExecution"
        );
        let custom: HookPoint = "custom:approve".parse().unwrap();
        assert_eq!(hook_subject("ls", &custom), "ls.hooks.custom:approve");
    }
}
