//! `json_processor`: jq queries (via jaq) and JSON text handling.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use jaq_core::load::{Arena, File, Loader};
use jaq_core::{Compiler, Ctx, Vars, data};
use jaq_json::Val;
use llmspell_core::{ComponentMetadata, Error, ExecutionContext, Result, Tool, ToolCategory};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::params::ParamsSpec;

/// Default wall-clock budget of one query.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// Default cap on the number of values one query may produce.
const DEFAULT_MAX_OUTPUTS: usize = 10_000;
/// Stack of the thread a query runs on; jq programs recurse deeply.
const QUERY_STACK_BYTES: usize = 64 * 1024 * 1024;
/// Longest query accepted, in bytes.
const MAX_QUERY_LEN: usize = 64 * 1024;
/// Deepest bracket nesting accepted in a query (the parser recurses on it).
const MAX_QUERY_NESTING: usize = 256;
/// Native filters withheld from queries: they read the host environment.
const WITHHELD_FILTERS: [&str; 1] = ["env"];

/// Runs jq programs over JSON (using jaq, a jq implementation), and parses,
/// validates, pretty-prints or minifies JSON text.
///
/// - `query { query, input | text }` → `{ result, outputs, count }`: `outputs`
///   lists every value the program produced; `result` is the single output
///   when there is exactly one, otherwise the same list. `input` is a JSON
///   value; `text` is JSON text parsed first.
/// - `parse { text }` → `{ result }`;
/// - `validate { text }` → `{ valid, error?, line?, column? }`;
/// - `pretty { input | text }` / `minify { input | text }` → `{ result }` (text).
///
/// Queries have the jq standard library except `env` and `$ENV` (no access
/// to the host environment) and `input`/`inputs`; `halt` ends the query with
/// an error (it never exits the process). Each query runs on
/// its own thread, bounded by a time budget and an output cap; a query that
/// exceeds its time budget is reported as [`Error::Timeout`] and its thread
/// is left to finish on its own.
#[derive(Debug, Clone)]
pub struct JsonProcessor {
    metadata: ComponentMetadata,
    timeout: Duration,
    max_outputs: usize,
}

impl JsonProcessor {
    /// Creates the tool with a 5 s query budget and a 10,000-output cap.
    pub fn new() -> Self {
        Self {
            metadata: ComponentMetadata::tool(
                "json_processor",
                "Runs jq queries over JSON and parses, validates, pretty-prints or minifies JSON",
            ),
            timeout: DEFAULT_TIMEOUT,
            max_outputs: DEFAULT_MAX_OUTPUTS,
        }
    }

    /// Sets the wall-clock budget of one query.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets how many values one query may produce before it is stopped.
    #[must_use]
    pub fn with_max_outputs(mut self, max_outputs: usize) -> Self {
        self.max_outputs = max_outputs.max(1);
        self
    }
}

impl Default for JsonProcessor {
    fn default() -> Self {
        Self::new()
    }
}

/// The operations of `json_processor`.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum Operation {
    /// Runs a jq program; output `{ result, outputs, count }`: every value
    /// the program produced, and `result`, the only one or all of them.
    Query {
        /// The jq program, e.g. `.items[] | select(.price > 10) | .name`. At
        /// most 64 KiB.
        query: String,
        /// The JSON value to work on, of any type; give this or `text`.
        #[serde(default)]
        input: Value,
        /// The value as JSON text, instead of `input`.
        text: Option<String>,
    },
    /// Reads JSON text; output `{ result }`, the value.
    Parse {
        /// The JSON text.
        text: String,
    },
    /// Checks whether text is JSON; output `{ valid }`, or
    /// `{ valid: false, error, line, column }`.
    Validate {
        /// The text to check.
        text: String,
    },
    /// Writes a value as indented JSON text; output `{ result }`.
    Pretty {
        /// The JSON value to work on, of any type; give this or `text`.
        #[serde(default)]
        input: Value,
        /// The value as JSON text, instead of `input`.
        text: Option<String>,
    },
    /// Writes a value as JSON text without whitespace; output `{ result }`.
    Minify {
        /// The JSON value to work on, of any type; give this or `text`.
        #[serde(default)]
        input: Value,
        /// The value as JSON text, instead of `input`.
        text: Option<String>,
    },
}

/// How `json_processor` reads its parameters.
const PARAMS: ParamsSpec<Operation> = ParamsSpec::operations();

fn parse_text(text: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|e| {
        Error::invalid_input(
            "text",
            format!(
                "invalid JSON at line {} column {}: {e}",
                e.line(),
                e.column()
            ),
        )
    })
}

/// The value to work on: `text` parsed, or `input` (null when absent).
fn input_or_text(input: Value, text: Option<String>) -> Result<Value> {
    match text {
        None => Ok(input),
        Some(t) if input.is_null() => parse_text(&t),
        Some(_) => Err(Error::invalid_input(
            "input",
            "give either `input` (a JSON value) or `text` (JSON text), not both",
        )),
    }
}

/// 1-based line and column of byte `offset` in `code`.
fn line_col(code: &str, offset: usize) -> (usize, usize) {
    let before = &code[..offset.min(code.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

fn query_error(code: &str, part: &str, what: String) -> Error {
    let (line, column) = line_col(code, jaq_core::load::span(code, part).start);
    let found = if part.is_empty() {
        "end of query".to_owned()
    } else {
        format!("\"{}\"", part.chars().take(20).collect::<String>())
    };
    Error::invalid_input(
        "query",
        format!("syntax error at line {line} column {column}: {what}, found {found}"),
    )
}

fn load_error(code: &str, err: jaq_core::load::Error<&str>) -> Error {
    use jaq_core::load::Error as E;
    match err {
        E::Lex(errs) => match errs.into_iter().next() {
            Some((expect, part)) => {
                query_error(code, part, format!("expected {}", expect.as_str()))
            }
            None => Error::invalid_input("query", "syntax error"),
        },
        E::Parse(errs) => match errs.into_iter().next() {
            Some((expect, part)) => {
                query_error(code, part, format!("expected {}", expect.as_str()))
            }
            None => Error::invalid_input("query", "syntax error"),
        },
        E::Io(errs) => Error::invalid_input(
            "query",
            format!(
                "modules cannot be loaded: {}",
                errs.into_iter()
                    .map(|(p, m)| format!("{p}: {m}"))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        ),
    }
}

fn val_to_json(v: &Val) -> Value {
    match v {
        Val::Null => Value::Null,
        Val::Bool(b) => Value::Bool(*b),
        Val::Num(n) => serde_json::from_str(&n.to_string()).unwrap_or(Value::Null),
        Val::TStr(b) | Val::BStr(b) => Value::String(String::from_utf8_lossy(b).into_owned()),
        Val::Arr(items) => Value::Array(items.iter().map(val_to_json).collect()),
        Val::Obj(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let key = match k {
                        Val::TStr(b) | Val::BStr(b) => String::from_utf8_lossy(b).into_owned(),
                        other => other.to_string(),
                    };
                    (key, val_to_json(v))
                })
                .collect(),
        ),
    }
}

/// Refuses queries long or nested enough to exhaust the parser's stack.
fn check_query_shape(code: &str) -> Result<()> {
    if code.len() > MAX_QUERY_LEN {
        return Err(Error::invalid_input(
            "query",
            format!(
                "the query is {} bytes long; the limit is {MAX_QUERY_LEN}",
                code.len()
            ),
        ));
    }
    let mut depth = 0usize;
    for b in code.bytes() {
        match b {
            b'(' | b'[' | b'{' => {
                depth += 1;
                if depth > MAX_QUERY_NESTING {
                    return Err(Error::invalid_input(
                        "query",
                        format!("brackets nest deeper than {MAX_QUERY_NESTING} levels"),
                    ));
                }
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// Compiles and runs `code` over `input`; called on the query thread.
fn run_query(
    code: &str,
    input: Value,
    max_outputs: usize,
    timeout: Duration,
) -> Result<Vec<Value>> {
    let deadline = Instant::now() + timeout;
    let arena = Arena::default();
    let defs = jaq_core::defs()
        .chain(jaq_std::defs())
        .chain(jaq_json::defs());
    let funs = jaq_core::funs()
        .chain(jaq_std::funs())
        .chain(jaq_json::funs())
        .filter(|(name, _, _)| !WITHHELD_FILTERS.contains(name));
    let modules = Loader::new(defs)
        .load(&arena, File { code, path: () })
        .map_err(|errs| match errs.into_iter().next() {
            Some((_, e)) => load_error(code, e),
            None => Error::invalid_input("query", "syntax error"),
        })?;
    let filter = Compiler::default()
        .with_funs(funs)
        .compile(modules)
        .map_err(|errs| {
            let names: Vec<String> = errs
                .into_iter()
                .flat_map(|(_, undefined)| undefined)
                .map(|(name, kind)| format!("{} `{name}`", kind.as_str()))
                .collect();
            Error::invalid_input("query", format!("undefined {}", names.join(", ")))
        })?;
    let input = Val::deserialize(input)
        .map_err(|e| Error::invalid_input("input", format!("cannot be read as JSON: {e}")))?;
    let ctx = Ctx::<data::JustLut<Val>>::new(&filter.lut, Vars::new([]));
    let mut outputs = Vec::new();
    for out in filter.id.run((ctx, input)) {
        let value = out.map_err(|exn| {
            let message = match exn.get_err() {
                Ok(e) => format!("query failed: {e}"),
                Err(exn) => match exn.get_halt() {
                    Ok(code) => format!("query called halt (exit code {code})"),
                    Err(_) => "query failed: an exception escaped the program".to_owned(),
                },
            };
            Error::execution("tool:json_processor", message)
        })?;
        if outputs.len() == max_outputs {
            return Err(Error::ResourceLimitExceeded {
                resource: "query_outputs".to_owned(),
                limit: max_outputs as u64,
                requested: max_outputs as u64 + 1,
            });
        }
        outputs.push(val_to_json(&value));
        if Instant::now() > deadline {
            return Err(Error::Timeout {
                operation: "tool:json_processor query".to_owned(),
                after: timeout,
            });
        }
    }
    Ok(outputs)
}

impl JsonProcessor {
    async fn query(&self, code: String, input: Value) -> Result<Vec<Value>> {
        check_query_shape(&code)?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        let (max_outputs, timeout) = (self.max_outputs, self.timeout);
        std::thread::Builder::new()
            .name("llmspell-jq".to_owned())
            .stack_size(QUERY_STACK_BYTES)
            .spawn(move || {
                let _ = tx.send(run_query(&code, input, max_outputs, timeout));
            })
            .map_err(|e| {
                Error::execution(
                    "tool:json_processor",
                    format!("cannot start the query thread: {e}"),
                )
            })?;
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(result)) => result,
            Err(_) => Err(Error::Timeout {
                operation: "tool:json_processor query".to_owned(),
                after: timeout,
            }),
            Ok(Err(_)) => Err(Error::execution(
                "tool:json_processor",
                "the query thread stopped unexpectedly",
            )),
        }
    }
}

#[async_trait]
impl Tool for JsonProcessor {
    fn metadata(&self) -> &ComponentMetadata {
        &self.metadata
    }

    fn category(&self) -> ToolCategory {
        ToolCategory::Data
    }

    fn parameters_schema(&self) -> Value {
        PARAMS.schema()
    }

    fn check_params(&self, params: &Value) -> Result<()> {
        PARAMS.check(params)
    }

    fn examples(&self) -> Vec<Value> {
        vec![
            json!({
                "operation": "query",
                "query": ".items[] | select(.price > 10) | .name",
                "input": { "items": [
                    { "name": "pen", "price": 2 },
                    { "name": "lamp", "price": 25 },
                    { "name": "desk", "price": 120 }
                ] }
            }),
            json!({ "operation": "query", "query": "[.[] | .n * 2]", "input": [{ "n": 1 }, { "n": 2 }] }),
        ]
    }

    fn output_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "result": { "description": "query: the single output, or all outputs as an array; parse: the value; pretty/minify: the text" },
                "outputs": { "type": "array", "description": "query: every output" },
                "count": { "type": "integer", "description": "query: number of outputs" },
                "valid": { "type": "boolean", "description": "validate: whether text is JSON" },
                "error": { "type": "string" },
                "line": { "type": "integer" },
                "column": { "type": "integer" }
            }
        })
    }

    async fn execute(&self, params: Value, _ctx: &ExecutionContext) -> Result<Value> {
        match PARAMS.read(params)? {
            Operation::Query { query, input, text } => {
                let input = input_or_text(input, text)?;
                let outputs = self.query(query, input).await?;
                let result = match outputs.as_slice() {
                    [one] => one.clone(),
                    _ => Value::Array(outputs.clone()),
                };
                Ok(json!({ "result": result, "count": outputs.len(), "outputs": outputs }))
            }
            Operation::Parse { text } => Ok(json!({ "result": parse_text(&text)? })),
            Operation::Validate { text } => Ok(match serde_json::from_str::<Value>(&text) {
                Ok(_) => json!({ "valid": true }),
                Err(e) => json!({
                    "valid": false,
                    "error": e.to_string(),
                    "line": e.line(),
                    "column": e.column(),
                }),
            }),
            Operation::Pretty { input, text } => {
                let value = input_or_text(input, text)?;
                let text = serde_json::to_string_pretty(&value)
                    .map_err(|e| Error::execution("tool:json_processor", e.to_string()))?;
                Ok(json!({ "result": text }))
            }
            Operation::Minify { input, text } => {
                let value = input_or_text(input, text)?;
                Ok(json!({ "result": value.to_string() }))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exec(params: Value) -> Result<Value> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        rt.block_on(JsonProcessor::new().execute(params, &ExecutionContext::native()))
    }

    fn query(q: &str, input: Value) -> Result<Value> {
        exec(json!({ "operation": "query", "query": q, "input": input }))
    }

    #[test]
    fn selects_and_transforms() {
        let input = json!({ "items": [
            { "name": "a", "price": 5 }, { "name": "b", "price": 15 }, { "name": "c", "price": 25 }
        ]});
        let out = query(".items[] | select(.price > 10) | .name", input.clone()).unwrap();
        assert_eq!(out["outputs"], json!(["b", "c"]));
        assert_eq!(out["result"], json!(["b", "c"]));
        assert_eq!(out["count"], 2);
        let out = query("[.items[].price] | add / length", input.clone()).unwrap();
        assert_eq!(out["result"], json!(15.0));
        let out = query(".items | map({(.name): .price}) | add", input).unwrap();
        assert_eq!(out["result"], json!({ "a": 5, "b": 15, "c": 25 }));
    }

    #[test]
    fn standard_library_functions_work() {
        let out = query(
            "[.[] | ascii_upcase] | sort | join(\",\")",
            json!(["b", "a"]),
        )
        .unwrap();
        assert_eq!(out["result"], "A,B");
        let out = query("map(test(\"^a\"))", json!(["ab", "ba"])).unwrap();
        assert_eq!(out["result"], json!([true, false]));
        let out = query(
            "group_by(.k) | map(length)",
            json!([{ "k": 1 }, { "k": 2 }, { "k": 1 }]),
        )
        .unwrap();
        assert_eq!(out["result"], json!([2, 1]));
    }

    #[test]
    fn text_input_is_parsed_first() {
        let out = exec(json!({ "operation": "query", "query": ".a", "text": "{\"a\": [1, 2]}" }))
            .unwrap();
        assert_eq!(out["result"], json!([1, 2]));
        assert_eq!(out["count"], 1);
    }

    #[test]
    fn syntax_errors_give_a_position() {
        let err = query(".a | ", json!({})).unwrap_err().to_string();
        assert!(
            err.starts_with("invalid input for `query`: syntax error at line 1"),
            "{err}"
        );
        let err = query("nosuchfn(1)", json!({})).unwrap_err().to_string();
        assert!(err.contains("undefined filter `nosuchfn`"), "{err}");
    }

    #[test]
    fn deeply_nested_queries_are_refused_before_parsing() {
        let deep = format!("{}.{}", "[".repeat(300), "]".repeat(300));
        let err = query(&deep, json!(1)).unwrap_err().to_string();
        assert!(err.contains("nest deeper than 256"), "{err}");
        let fine = format!("{}.{}", "[".repeat(50), "]".repeat(50));
        assert_eq!(query(&fine, json!(1)).unwrap()["count"], 1);
    }

    #[test]
    fn runtime_errors_are_reported() {
        let err = query(".a + 1", json!({ "a": "x" }))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("query failed") && err.contains("cannot"),
            "{err}"
        );
    }

    #[test]
    fn the_host_environment_is_not_reachable() {
        let err = query("env", json!(null)).unwrap_err().to_string();
        assert!(err.contains("undefined filter `env`"), "{err}");
        let err = query("$ENV.HOME", json!(null)).unwrap_err().to_string();
        assert!(err.contains("undefined"), "{err}");
    }

    #[test]
    fn endless_output_is_capped_and_endless_work_times_out() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let tool = JsonProcessor::new()
            .with_max_outputs(100)
            .with_timeout(Duration::from_millis(300));
        let err = rt
            .block_on(tool.execute(
                json!({ "operation": "query", "query": "repeat(1)", "input": 0 }),
                &ExecutionContext::native(),
            ))
            .unwrap_err();
        assert!(
            matches!(err, Error::ResourceLimitExceeded { limit: 100, .. }),
            "{err}"
        );
        let err = rt
            .block_on(tool.execute(
                json!({ "operation": "query", "query": "last(range(1; 1e15))", "input": 0 }),
                &ExecutionContext::native(),
            ))
            .unwrap_err();
        assert!(matches!(err, Error::Timeout { .. }), "{err}");
    }

    #[test]
    fn halt_is_an_error_not_an_exit() {
        let err = query("halt", json!(null)).unwrap_err().to_string();
        assert!(err.contains("halt"), "{err}");
        let err = query("\"bye\" | halt_error", json!(null))
            .unwrap_err()
            .to_string();
        assert!(err.contains("halt"), "{err}");
    }

    #[test]
    fn text_operations() {
        let out = exec(json!({ "operation": "validate", "text": "{\"a\":\n 1,}" })).unwrap();
        assert_eq!(out["valid"], false);
        assert_eq!(out["line"], 2);
        assert_eq!(
            exec(json!({ "operation": "validate", "text": "[1]" })).unwrap()["valid"],
            true
        );
        assert_eq!(
            exec(json!({ "operation": "minify", "text": "{ \"a\" : [ 1 , 2 ] }" })).unwrap()["result"],
            "{\"a\":[1,2]}"
        );
        assert_eq!(
            exec(json!({ "operation": "pretty", "input": { "a": 1 } })).unwrap()["result"],
            "{\n  \"a\": 1\n}"
        );
        assert_eq!(
            exec(json!({ "operation": "parse", "text": "[true]" })).unwrap()["result"],
            json!([true])
        );
        let err = exec(json!({ "operation": "parse", "text": "[tru" }))
            .unwrap_err()
            .to_string();
        assert!(err.contains("`text`: invalid JSON at line 1"), "{err}");
    }
}
