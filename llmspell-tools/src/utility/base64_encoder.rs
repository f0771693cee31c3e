//! `base64_encoder`: Base64 encoding and decoding.

use async_trait::async_trait;
use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use llmspell_core::{ComponentMetadata, Error, ExecutionContext, Result, Tool, ToolCategory};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::params::ParamsSpec;

/// Encodes to and decodes from Base64, with the standard or the URL-safe
/// alphabet, with or without `=` padding.
///
/// - `encode { input, variant?, padding?, input_encoding? }` → `{ result }`;
/// - `decode { input, variant?, output_encoding? }` → `{ result }`.
///
/// `variant` is `standard` (default) or `url_safe`; `padding` defaults to
/// `true`. Decoding accepts input with or without padding. `input_encoding`
/// (`utf8` or `hex`) says how to read the bytes to encode; `output_encoding`
/// (`utf8` or `hex`) how to return decoded bytes. Decoding to `utf8` bytes
/// that are not UTF-8 is an error that suggests `hex`.
#[derive(Debug, Clone)]
pub struct Base64Encoder {
    metadata: ComponentMetadata,
}

impl Base64Encoder {
    /// Creates the tool.
    pub fn new() -> Self {
        Self {
            metadata: ComponentMetadata::tool(
                "base64_encoder",
                "Encodes and decodes Base64 (standard or URL-safe, padded or not)",
            ),
        }
    }
}

impl Default for Base64Encoder {
    fn default() -> Self {
        Self::new()
    }
}

/// A Base64 alphabet.
#[derive(Deserialize, Serialize, JsonSchema, Default, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum Variant {
    #[default]
    Standard,
    UrlSafe,
}

/// How bytes are written as text.
#[derive(Deserialize, Serialize, JsonSchema, Default, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum BytesEncoding {
    #[default]
    Utf8,
    Hex,
}

/// The operations of `base64_encoder`.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum Operation {
    /// Encodes `input` as Base64; output `{ result }`.
    Encode {
        /// The data to encode, written as `input_encoding` says.
        input: String,
        /// The alphabet: `standard` (`+` and `/`, the default) or `url_safe`
        /// (`-` and `_`).
        #[serde(default)]
        variant: Variant,
        /// Whether to end the result with `=` padding (default true).
        #[serde(default = "yes")]
        padding: bool,
        /// How `input` is written: `utf8` text (the default) or `hex` bytes.
        #[serde(default)]
        input_encoding: BytesEncoding,
    },
    /// Decodes the Base64 text `input`, with or without padding; output
    /// `{ result }`.
    Decode {
        /// The Base64 text to decode.
        input: String,
        /// The alphabet: `standard` (`+` and `/`, the default) or `url_safe`
        /// (`-` and `_`).
        #[serde(default)]
        variant: Variant,
        /// How to return the decoded bytes: `utf8` text (the default; bytes
        /// that are not UTF-8 are an error) or `hex`.
        #[serde(default)]
        output_encoding: BytesEncoding,
    },
}

/// How `base64_encoder` reads its parameters.
const PARAMS: ParamsSpec<Operation> = ParamsSpec::operations();

fn yes() -> bool {
    true
}

fn engine(variant: Variant, padding: bool) -> GeneralPurpose {
    let alphabet = match variant {
        Variant::Standard => &alphabet::STANDARD,
        Variant::UrlSafe => &alphabet::URL_SAFE,
    };
    let config = GeneralPurposeConfig::new()
        .with_encode_padding(padding)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent);
    GeneralPurpose::new(alphabet, config)
}

fn run(op: Operation) -> Result<Value> {
    match op {
        Operation::Encode {
            input,
            variant,
            padding,
            input_encoding,
        } => {
            let bytes = match input_encoding {
                BytesEncoding::Utf8 => input.into_bytes(),
                BytesEncoding::Hex => hex::decode(input.trim())
                    .map_err(|e| Error::invalid_input("input", format!("expected hex: {e}")))?,
            };
            Ok(json!({ "result": engine(variant, padding).encode(bytes) }))
        }
        Operation::Decode {
            input,
            variant,
            output_encoding,
        } => {
            let cleaned: String = input.chars().filter(|c| !c.is_ascii_whitespace()).collect();
            let bytes = engine(variant, true).decode(&cleaned).map_err(|e| {
                let hint = match variant {
                    Variant::Standard if cleaned.contains(['-', '_']) => {
                        "; it looks URL-safe, try variant \"url_safe\""
                    }
                    Variant::UrlSafe if cleaned.contains(['+', '/']) => {
                        "; it looks standard, try variant \"standard\""
                    }
                    _ => "",
                };
                Error::invalid_input(
                    "input",
                    format!("invalid base64 {}: {e}{hint}", preview(&cleaned)),
                )
            })?;
            let result = match output_encoding {
                BytesEncoding::Hex => hex::encode(bytes),
                BytesEncoding::Utf8 => String::from_utf8(bytes).map_err(|_| {
                    Error::invalid_input(
                        "output_encoding",
                        "the decoded bytes are not UTF-8 text; use output_encoding \"hex\"",
                    )
                })?,
            };
            Ok(json!({ "result": result }))
        }
    }
}

/// The start of `s`, quoted, for error messages.
fn preview(s: &str) -> String {
    const MAX: usize = 40;
    if s.chars().count() <= MAX {
        format!("{s:?}")
    } else {
        let head: String = s.chars().take(MAX).collect();
        format!("{head:?}…")
    }
}

#[async_trait]
impl Tool for Base64Encoder {
    fn metadata(&self) -> &ComponentMetadata {
        &self.metadata
    }

    fn category(&self) -> ToolCategory {
        ToolCategory::Utility
    }

    fn parameters_schema(&self) -> Value {
        PARAMS.schema()
    }

    fn check_params(&self, params: &Value) -> Result<()> {
        PARAMS.check(params)
    }

    fn examples(&self) -> Vec<Value> {
        vec![
            json!({ "operation": "encode", "input": "hello?", "variant": "url_safe", "padding": false }),
            json!({ "operation": "decode", "input": "aGVsbG8=" }),
        ]
    }

    fn output_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": { "result": { "type": "string", "description": "The encoded or decoded text" } },
            "required": ["result"]
        })
    }

    async fn execute(&self, params: Value, _ctx: &ExecutionContext) -> Result<Value> {
        run(PARAMS.read(params)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exec(params: Value) -> Result<Value> {
        run(PARAMS.read(params)?)
    }

    #[test]
    fn encodes_with_each_variant_and_padding() {
        let r = |p: Value| exec(p).unwrap()["result"].clone();
        assert_eq!(
            r(json!({"operation": "encode", "input": "hello"})),
            "aGVsbG8="
        );
        assert_eq!(
            r(json!({"operation": "encode", "input": "hello", "padding": false})),
            "aGVsbG8"
        );
        // 0xfb 0xff encodes to "+/8=" standard, "-_8=" url-safe.
        assert_eq!(
            r(json!({"operation": "encode", "input": "fbff", "input_encoding": "hex"})),
            "+/8="
        );
        assert_eq!(
            r(
                json!({"operation": "encode", "input": "fbff", "input_encoding": "hex", "variant": "url_safe", "padding": false})
            ),
            "-_8"
        );
    }

    #[test]
    fn decodes_padded_or_not() {
        let r = |p: Value| exec(p).unwrap()["result"].clone();
        assert_eq!(
            r(json!({"operation": "decode", "input": "aGVsbG8="})),
            "hello"
        );
        assert_eq!(
            r(json!({"operation": "decode", "input": "aGVsbG8"})),
            "hello"
        );
        assert_eq!(
            r(
                json!({"operation": "decode", "input": "-_8", "variant": "url_safe", "output_encoding": "hex"})
            ),
            "fbff"
        );
    }

    #[test]
    fn decode_errors_name_the_input_and_hint_the_variant() {
        let err = exec(json!({"operation": "decode", "input": "-_8="}))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`input`") && err.contains("\"-_8=\"") && err.contains("url_safe"),
            "{err}"
        );
        let err = exec(json!({"operation": "decode", "input": "+/8="}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("not UTF-8") && err.contains("hex"), "{err}");
    }
}
