//! `hash_calculator`: message digests of text or binary input.

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use llmspell_core::{ComponentMetadata, Error, ExecutionContext, Result, Tool, ToolCategory};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::Digest as _;

use crate::params::ParamsSpec;

/// Computes MD5, SHA-1, SHA-256, SHA-384, SHA-512 and BLAKE3 digests and
/// verifies input against an expected digest.
///
/// - `hash { algorithm, input, input_encoding?, output_encoding? }` →
///   `{ hash, algorithm, encoding }`;
/// - `verify { algorithm, input, expected, input_encoding? }` →
///   `{ valid, hash }` (the expected digest may be hex, either case, or base64).
///
/// `input_encoding` says how to read `input`: `utf8` (default), `base64` or
/// `hex`. `output_encoding` is `hex` (default, lowercase) or `base64`.
#[derive(Debug, Clone)]
pub struct HashCalculator {
    metadata: ComponentMetadata,
}

impl HashCalculator {
    /// Creates the tool.
    pub fn new() -> Self {
        Self {
            metadata: ComponentMetadata::tool(
                "hash_calculator",
                "Computes and verifies MD5, SHA-1, SHA-2 and BLAKE3 digests",
            ),
        }
    }
}

impl Default for HashCalculator {
    fn default() -> Self {
        Self::new()
    }
}

/// A digest algorithm.
#[derive(Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum Algorithm {
    Md5,
    Sha1,
    Sha256,
    Sha384,
    Sha512,
    Blake3,
}

impl Algorithm {
    fn name(self) -> &'static str {
        match self {
            Algorithm::Md5 => "md5",
            Algorithm::Sha1 => "sha1",
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha384 => "sha384",
            Algorithm::Sha512 => "sha512",
            Algorithm::Blake3 => "blake3",
        }
    }

    fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Algorithm::Md5 => md5::Md5::digest(data).to_vec(),
            Algorithm::Sha1 => sha1::Sha1::digest(data).to_vec(),
            Algorithm::Sha256 => sha2::Sha256::digest(data).to_vec(),
            Algorithm::Sha384 => sha2::Sha384::digest(data).to_vec(),
            Algorithm::Sha512 => sha2::Sha512::digest(data).to_vec(),
            Algorithm::Blake3 => blake3::hash(data).as_bytes().to_vec(),
        }
    }
}

/// How `input` is written.
#[derive(Deserialize, Serialize, JsonSchema, Default, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum InputEncoding {
    #[default]
    Utf8,
    Base64,
    Hex,
}

/// How a digest is written.
#[derive(Deserialize, Serialize, JsonSchema, Default, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum OutputEncoding {
    #[default]
    Hex,
    Base64,
}

/// The operations of `hash_calculator`.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum Operation {
    /// Computes the digest of `input`; output `{ hash, algorithm, encoding }`.
    Hash {
        /// The digest algorithm: `md5`, `sha1`, `sha256`, `sha384`, `sha512`
        /// or `blake3`.
        algorithm: Algorithm,
        /// The data to digest, written as `input_encoding` says.
        input: String,
        /// How `input` is written: `utf8` text (the default), `base64` or
        /// `hex` bytes.
        #[serde(default)]
        input_encoding: InputEncoding,
        /// How to write the digest: `hex` (the default, lowercase) or
        /// `base64`.
        #[serde(default)]
        output_encoding: OutputEncoding,
    },
    /// Computes the digest of `input` and compares it with `expected`;
    /// output `{ valid, hash }` (`hash` in hex).
    Verify {
        /// The digest algorithm: `md5`, `sha1`, `sha256`, `sha384`, `sha512`
        /// or `blake3`.
        algorithm: Algorithm,
        /// The data to digest, written as `input_encoding` says.
        input: String,
        /// The digest to compare with: hex in either case, or base64.
        expected: String,
        /// How `input` is written: `utf8` text (the default), `base64` or
        /// `hex` bytes.
        #[serde(default)]
        input_encoding: InputEncoding,
    },
}

/// How `hash_calculator` reads its parameters.
const PARAMS: ParamsSpec<Operation> = ParamsSpec::operations();

fn decode_input(input: &str, encoding: InputEncoding) -> Result<Vec<u8>> {
    match encoding {
        InputEncoding::Utf8 => Ok(input.as_bytes().to_vec()),
        InputEncoding::Base64 => STANDARD
            .decode(input.trim())
            .map_err(|e| Error::invalid_input("input", format!("expected base64: {e}"))),
        InputEncoding::Hex => hex::decode(input.trim())
            .map_err(|e| Error::invalid_input("input", format!("expected hex: {e}"))),
    }
}

fn run(op: Operation) -> Result<Value> {
    match op {
        Operation::Hash {
            algorithm,
            input,
            input_encoding,
            output_encoding,
        } => {
            let digest = algorithm.digest(&decode_input(&input, input_encoding)?);
            let (hash, encoding) = match output_encoding {
                OutputEncoding::Hex => (hex::encode(&digest), "hex"),
                OutputEncoding::Base64 => (STANDARD.encode(&digest), "base64"),
            };
            Ok(json!({ "hash": hash, "algorithm": algorithm.name(), "encoding": encoding }))
        }
        Operation::Verify {
            algorithm,
            input,
            expected,
            input_encoding,
        } => {
            let digest = algorithm.digest(&decode_input(&input, input_encoding)?);
            let expected = expected.trim();
            let expected_bytes = hex::decode(expected)
                .ok()
                .filter(|b| b.len() == digest.len())
                .or_else(|| STANDARD.decode(expected).ok())
                .ok_or_else(|| {
                    Error::invalid_input(
                        "expected",
                        format!(
                            "expected a {} digest in hex ({} characters) or base64",
                            algorithm.name(),
                            digest.len() * 2
                        ),
                    )
                })?;
            Ok(json!({ "valid": expected_bytes == digest, "hash": hex::encode(&digest) }))
        }
    }
}

#[async_trait]
impl Tool for HashCalculator {
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
            json!({ "operation": "hash", "algorithm": "sha256", "input": "abc" }),
            json!({
                "operation": "verify", "algorithm": "md5", "input": "hello",
                "expected": "5d41402abc4b2a76b9719d911017c592"
            }),
        ]
    }

    fn output_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "hash": { "type": "string", "description": "The digest (verify: always hex)" },
                "algorithm": { "type": "string" },
                "encoding": { "type": "string", "enum": ["hex", "base64"] },
                "valid": { "type": "boolean", "description": "verify: whether the digests match" }
            },
            "required": ["hash"]
        })
    }

    async fn execute(&self, params: Value, _ctx: &ExecutionContext) -> Result<Value> {
        run(PARAMS.read(params)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(algorithm: &str, input: &str) -> String {
        let out = run(PARAMS
            .read(json!({"operation": "hash", "algorithm": algorithm, "input": input}))
            .unwrap())
        .unwrap();
        out["hash"].as_str().unwrap().to_owned()
    }

    #[test]
    fn known_digests_of_abc() {
        assert_eq!(hash("md5", "abc"), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(
            hash("sha1", "abc"),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(
            hash("sha256", "abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            hash("sha512", "abc"),
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
        );
        assert_eq!(
            hash("blake3", "abc"),
            "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85"
        );
        assert_eq!(
            hash("sha384", "abc"),
            "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7"
        );
    }

    #[test]
    fn base64_input_and_output() {
        // "abc" in base64 is "YWJj"; the SHA-256 of "abc" in base64 is below.
        let out = run(PARAMS
            .read(json!({
                "operation": "hash", "algorithm": "sha256", "input": "YWJj",
                "input_encoding": "base64", "output_encoding": "base64"
            }))
            .unwrap())
        .unwrap();
        assert_eq!(out["hash"], "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=");
        assert_eq!(out["encoding"], "base64");
    }

    #[test]
    fn verify_accepts_matching_and_rejects_other_digests() {
        let ok = run(PARAMS
            .read(json!({
                "operation": "verify", "algorithm": "md5", "input": "abc",
                "expected": "900150983CD24FB0D6963F7D28E17F72"
            }))
            .unwrap())
        .unwrap();
        assert_eq!(ok["valid"], true);
        let bad = run(PARAMS
            .read(json!({
                "operation": "verify", "algorithm": "md5", "input": "abd",
                "expected": "900150983cd24fb0d6963f7d28e17f72"
            }))
            .unwrap())
        .unwrap();
        assert_eq!(bad["valid"], false);
    }

    #[test]
    fn bad_encodings_and_algorithms_name_the_field() {
        let err = run(PARAMS
            .read(json!({
                "operation": "hash", "algorithm": "sha256", "input": "zz", "input_encoding": "hex"
            }))
            .unwrap())
        .unwrap_err();
        assert!(err.to_string().contains("`input`: expected hex"), "{err}");
        let err = PARAMS
            .read(json!({"operation": "hash", "algorithm": "crc32", "input": "a"}))
            .err()
            .unwrap();
        assert!(
            err.to_string().contains("`algorithm`") && err.to_string().contains("blake3"),
            "{err}"
        );
    }
}
