//! `file_converter`: text encodings, line endings and JSON/YAML/TOML/CSV
//! conversion of files under the sandbox roots.

use std::fs;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use encoding_rs::Encoding;
use llmspell_core::{
    ComponentMetadata, Error, ExecutionContext, Result, SecurityLevel, Tool, ToolCategory,
};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::data::{csv_to_json, json_to_csv};
use crate::fs::atomic_write::write_atomically;
use crate::fs::file_operations::DEFAULT_MAX_FILE_BYTES;
use crate::fs::io_error;
use crate::params::{self, ParamsSpec};
use crate::sandbox::FsSandbox;

/// Converts text files between character encodings, line-ending styles and
/// data formats, confined to the [`FsSandbox`] roots.
///
/// The input is a file (`path`) or a string (`content`). The result is
/// written to `output_path` when given; otherwise a file input is converted
/// in place (`encoding`, `line_endings`) or written beside it with the new
/// extension (`format`), and a string input is returned as `content`.
///
/// - `encoding { from?, to }`: `from` and `to` are WHATWG encoding labels
///   (`utf-8`, `utf-16le`, `utf-16be`, `windows-1252`, `shift_jis`, ...);
///   without `from`, a byte-order mark decides, else UTF-8. Bytes invalid in
///   `from` and characters `to` cannot represent are errors. Non-UTF-8
///   results returned as content are base64 (`content_base64`).
/// - `line_endings { to }`: `lf` or `crlf`.
/// - `format { from?, to, pretty? }`: among `json`, `yaml`, `toml`, `csv`;
///   `from` defaults to the input file's extension. CSV is read as an array
///   of objects (first row: headers, numbers and booleans typed) and written
///   from one. TOML needs a top-level table and has no null.
///
/// Output `{ path?, content?, content_base64?, bytes }`.
#[derive(Debug, Clone)]
pub struct FileConverter {
    metadata: ComponentMetadata,
    sandbox: FsSandbox,
    max_file_bytes: u64,
}

impl FileConverter {
    /// Creates the tool confined to `sandbox`, with a 10 MiB size cap.
    pub fn new(sandbox: FsSandbox) -> Self {
        Self {
            metadata: ComponentMetadata::tool(
                "file_converter",
                "Converts text encodings, line endings and JSON/YAML/TOML/CSV formats",
            ),
            sandbox,
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
        }
    }

    /// Sets the largest input or output, in bytes.
    #[must_use]
    pub fn with_max_file_bytes(mut self, bytes: u64) -> Self {
        self.max_file_bytes = bytes;
        self
    }
}

/// A data format (`yml` is read as `yaml`).
#[derive(Deserialize, JsonSchema, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "lowercase")]
#[schemars(extend("enum" = ["json", "yaml", "yml", "toml", "csv"]))]
enum DataFormat {
    Json,
    #[serde(alias = "yml")]
    Yaml,
    Toml,
    Csv,
}

impl DataFormat {
    fn extension(self) -> &'static str {
        match self {
            DataFormat::Json => "json",
            DataFormat::Yaml => "yaml",
            DataFormat::Toml => "toml",
            DataFormat::Csv => "csv",
        }
    }

    fn from_path(path: &str) -> Option<Self> {
        let ext = Path::new(path)
            .extension()?
            .to_string_lossy()
            .to_ascii_lowercase();
        match ext.as_str() {
            "json" => Some(DataFormat::Json),
            "yaml" | "yml" => Some(DataFormat::Yaml),
            "toml" => Some(DataFormat::Toml),
            "csv" => Some(DataFormat::Csv),
            _ => None,
        }
    }
}

/// A line ending.
#[derive(Deserialize, JsonSchema, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum LineEnding {
    Lf,
    Crlf,
}

/// The operations of `file_converter`. Output `{ path, bytes }` when a
/// file was written, else `{ content, bytes }` (`content_base64` when the
/// result is not UTF-8).
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum Operation {
    /// Re-encodes text from one character encoding to another.
    Encoding {
        /// The input file; give this or `content`.
        path: Option<String>,
        /// The input text, instead of `path`.
        content: Option<String>,
        /// Where to write the result (default: a `path` input is converted
        /// in place, `content` is returned).
        output_path: Option<String>,
        /// The input's WHATWG encoding label, e.g. `windows-1252` (default:
        /// from a byte-order mark, else UTF-8).
        from: Option<String>,
        /// The target encoding label, e.g. `utf-8`, `utf-16le`,
        /// `windows-1252`, `shift_jis`.
        to: String,
    },
    /// Rewrites line endings.
    LineEndings {
        /// The input file; give this or `content`.
        path: Option<String>,
        /// The input text, instead of `path`.
        content: Option<String>,
        /// Where to write the result (default: a `path` input is converted
        /// in place, `content` is returned).
        output_path: Option<String>,
        /// The line ending to use: `lf` or `crlf`.
        to: LineEnding,
    },
    /// Converts between data formats.
    Format {
        /// The input file; give this or `content`.
        path: Option<String>,
        /// The input text, instead of `path`.
        content: Option<String>,
        /// Where to write the result (default: a `path` input is written
        /// beside itself with the new extension, `content` is returned).
        output_path: Option<String>,
        /// The input's format: `json`, `yaml`, `toml` or `csv` (default:
        /// from the file extension of `path`).
        from: Option<DataFormat>,
        /// The format to write: `json`, `yaml`, `toml` or `csv`.
        to: DataFormat,
        /// Indent JSON and TOML output (default true).
        #[serde(default = "yes")]
        pretty: bool,
    },
}

/// How `file_converter` reads its parameters.
const PARAMS: ParamsSpec<Operation> = ParamsSpec::operations();

fn yes() -> bool {
    true
}

/// Where the converted bytes go.
enum Sink {
    File(PathBuf),
    Content,
}

fn label(field: &str, name: &str) -> Result<&'static Encoding> {
    Encoding::for_label(name.trim().as_bytes()).ok_or_else(|| {
        Error::invalid_input(
            field,
            format!("unknown encoding \"{name}\"; use a label such as utf-8, utf-16le, windows-1252, iso-8859-1 or shift_jis"),
        )
    })
}

fn decode(bytes: &[u8], from: Option<&str>) -> Result<String> {
    let (encoding, body) = match from {
        Some(name) => {
            let enc = label("from", name)?;
            // A BOM of the named encoding is not part of the text.
            match Encoding::for_bom(bytes) {
                Some((bom_enc, len)) if bom_enc == enc => (enc, &bytes[len..]),
                _ => (enc, bytes),
            }
        }
        None => match Encoding::for_bom(bytes) {
            Some((enc, len)) => (enc, &bytes[len..]),
            None => (encoding_rs::UTF_8, bytes),
        },
    };
    encoding
        .decode_without_bom_handling_and_without_replacement(body)
        .map(|c| c.into_owned())
        .ok_or_else(|| {
            Error::invalid_input(
                "from",
                format!(
                    "the input is not valid {}; pass the right `from` encoding",
                    encoding.name()
                ),
            )
        })
}

fn encode(text: &str, to: &str) -> Result<Vec<u8>> {
    let enc = label("to", to)?;
    if enc == encoding_rs::UTF_16LE {
        return Ok(text.encode_utf16().flat_map(u16::to_le_bytes).collect());
    }
    if enc == encoding_rs::UTF_16BE {
        return Ok(text.encode_utf16().flat_map(u16::to_be_bytes).collect());
    }
    let (bytes, used, unmappable) = enc.encode(text);
    if unmappable || used != enc {
        let bad = text
            .chars()
            .find(|c| {
                let mut buf = [0u8; 4];
                enc.encode(c.encode_utf8(&mut buf)).2
            })
            .map(|c| format!(" (first: {c:?})"))
            .unwrap_or_default();
        return Err(Error::invalid_input(
            "to",
            format!(
                "the text has characters {} cannot represent{bad}",
                enc.name()
            ),
        ));
    }
    Ok(bytes.into_owned())
}

fn toml_to_json(v: toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => json!(i),
        toml::Value::Float(f) => json!(f),
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(a) => Value::Array(a.into_iter().map(toml_to_json).collect()),
        toml::Value::Table(t) => Value::Object(
            t.into_iter()
                .map(|(k, v)| (k, toml_to_json(v)))
                .collect::<Map<_, _>>(),
        ),
    }
}

fn read_format(text: &str, format: DataFormat) -> Result<Value> {
    let bad = |e: &dyn std::fmt::Display| {
        Error::invalid_input("content", format!("invalid {}: {e}", format.extension()))
    };
    match format {
        DataFormat::Json => serde_json::from_str(text).map_err(|e| bad(&e)),
        DataFormat::Yaml => serde_yaml_ng::from_str(text).map_err(|e| bad(&e)),
        DataFormat::Toml => text
            .parse::<toml::Table>()
            .map(|t| toml_to_json(toml::Value::Table(t)))
            .map_err(|e| bad(&e)),
        DataFormat::Csv => csv_to_json(text, true),
    }
}

fn write_format(value: &Value, format: DataFormat, pretty: bool) -> Result<String> {
    let fail = |e: &dyn std::fmt::Display| {
        Error::invalid_input(
            "to",
            format!("cannot express the data as {}: {e}", format.extension()),
        )
    };
    match format {
        DataFormat::Json => {
            let text = if pretty {
                serde_json::to_string_pretty(value)
            } else {
                serde_json::to_string(value)
            };
            text.map(|mut t| {
                t.push('\n');
                t
            })
            .map_err(|e| fail(&e))
        }
        DataFormat::Yaml => serde_yaml_ng::to_string(value).map_err(|e| fail(&e)),
        DataFormat::Toml => {
            if !value.is_object() {
                return Err(Error::invalid_input(
                    "to",
                    format!(
                        "TOML needs a top-level table, got {}; wrap the data in an object",
                        params::json_type(value)
                    ),
                ));
            }
            if pretty {
                toml::to_string_pretty(value)
            } else {
                toml::to_string(value)
            }
            .map_err(|e| fail(&e))
        }
        DataFormat::Csv => json_to_csv(value).map_err(|e| match e {
            Error::InvalidInput { message, .. } => Error::invalid_input("to", message),
            other => other,
        }),
    }
}

impl FileConverter {
    fn cap(&self, n: u64) -> Result<()> {
        if n > self.max_file_bytes {
            Err(Error::ResourceLimitExceeded {
                resource: "file_bytes".to_owned(),
                limit: self.max_file_bytes,
                requested: n,
            })
        } else {
            Ok(())
        }
    }

    /// The input bytes and the file they came from, if any.
    fn input(
        &self,
        path: Option<&str>,
        content: Option<String>,
    ) -> Result<(Vec<u8>, Option<PathBuf>)> {
        match (path, content) {
            (Some(p), None) => {
                let file = self.sandbox.resolve_existing(p)?;
                let size = fs::metadata(&file)
                    .map_err(|e| io_error("read", &file, &e))?
                    .len();
                self.cap(size)?;
                let bytes = fs::read(&file).map_err(|e| io_error("read", &file, &e))?;
                Ok((bytes, Some(file)))
            }
            (None, Some(c)) => {
                self.cap(c.len() as u64)?;
                Ok((c.into_bytes(), None))
            }
            (Some(_), Some(_)) => Err(Error::invalid_input(
                "content",
                "give either `path` or `content`, not both",
            )),
            (None, None) => Err(Error::invalid_input(
                "path",
                "missing: give `path` (a file) or `content` (text)",
            )),
        }
    }

    fn sink(&self, output: Option<&str>, source: Option<&Path>) -> Result<Sink> {
        match (output, source) {
            (Some(out), _) => Ok(Sink::File(self.sandbox.resolve(out)?)),
            (None, Some(src)) => Ok(Sink::File(src.to_path_buf())),
            (None, None) => Ok(Sink::Content),
        }
    }

    fn finish(&self, sink: Sink, bytes: Vec<u8>) -> Result<Value> {
        self.cap(bytes.len() as u64)?;
        match sink {
            Sink::File(path) => {
                write_atomically(&path, &bytes, true)?;
                Ok(json!({ "path": self.sandbox.display_relative(&path), "bytes": bytes.len() }))
            }
            Sink::Content => {
                let n = bytes.len();
                Ok(match String::from_utf8(bytes) {
                    Ok(text) => json!({ "content": text, "bytes": n }),
                    Err(e) => {
                        json!({ "content_base64": STANDARD.encode(e.into_bytes()), "bytes": n })
                    }
                })
            }
        }
    }

    fn run(&self, op: Operation) -> Result<Value> {
        match op {
            Operation::Encoding {
                path,
                content,
                output_path,
                from,
                to,
            } => {
                let from_content = content.is_some();
                let (bytes, source) = self.input(path.as_deref(), content)?;
                let text = if from_content {
                    // A string parameter is already Unicode.
                    String::from_utf8(bytes)
                        .map_err(|_| Error::invalid_input("content", "expected UTF-8 text"))?
                } else {
                    decode(&bytes, from.as_deref())?
                };
                let out = encode(&text, &to)?;
                let sink = self.sink(output_path.as_deref(), source.as_deref())?;
                self.finish(sink, out)
            }
            Operation::LineEndings {
                path,
                content,
                output_path,
                to,
            } => {
                let (bytes, source) = self.input(path.as_deref(), content)?;
                let text = String::from_utf8(bytes).map_err(|_| {
                    Error::invalid_input("path", "expected UTF-8 text; convert its encoding first")
                })?;
                let lf = text.replace("\r\n", "\n");
                let out = match to {
                    LineEnding::Lf => lf,
                    LineEnding::Crlf => lf.replace('\n', "\r\n"),
                };
                let sink = self.sink(output_path.as_deref(), source.as_deref())?;
                self.finish(sink, out.into_bytes())
            }
            Operation::Format {
                path,
                content,
                output_path,
                from,
                to,
                pretty,
            } => {
                let from = match (from, path.as_deref()) {
                    (Some(f), _) => f,
                    (None, Some(p)) => DataFormat::from_path(p).ok_or_else(|| {
                        Error::invalid_input("from", format!("cannot tell the format of `{p}` from its extension; pass from: json, yaml, toml or csv"))
                    })?,
                    (None, None) => return Err(Error::invalid_input("from", "required with `content`: json, yaml, toml or csv")),
                };
                let (bytes, source) = self.input(path.as_deref(), content)?;
                let text = String::from_utf8(bytes)
                    .map_err(|_| Error::invalid_input("path", "expected UTF-8 text"))?;
                let value = read_format(&text, from)?;
                let out = write_format(&value, to, pretty)?;
                let sink = match (output_path.as_deref(), source) {
                    (Some(o), _) => Sink::File(self.sandbox.resolve(o)?),
                    (None, Some(src)) => {
                        let target = src.with_extension(to.extension());
                        if target == src {
                            return Err(Error::invalid_input(
                                "output_path",
                                "the input already has that extension; give an output_path",
                            ));
                        }
                        Sink::File(target)
                    }
                    (None, None) => Sink::Content,
                };
                self.finish(sink, out.into_bytes())
            }
        }
    }
}

#[async_trait]
impl Tool for FileConverter {
    fn metadata(&self) -> &ComponentMetadata {
        &self.metadata
    }

    fn category(&self) -> ToolCategory {
        ToolCategory::Filesystem
    }

    fn security_level(&self) -> SecurityLevel {
        SecurityLevel::Restricted
    }

    fn parameters_schema(&self) -> Value {
        PARAMS.schema()
    }

    fn check_params(&self, params: &Value) -> Result<()> {
        PARAMS.check(params)
    }

    fn examples(&self) -> Vec<Value> {
        vec![
            json!({ "operation": "format", "path": "config.toml", "to": "json" }),
            json!({
                "operation": "format", "content": "a: 1\nb: [x, y]\n", "from": "yaml", "to": "json"
            }),
        ]
    }

    fn output_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "path": { "type": "string", "description": "The file written" },
                "content": { "type": "string", "description": "The result, when no file was written" },
                "content_base64": { "type": "string", "description": "The result as base64 when it is not UTF-8" },
                "bytes": { "type": "integer" }
            },
            "required": ["bytes"]
        })
    }

    async fn execute(&self, params: Value, _ctx: &ExecutionContext) -> Result<Value> {
        let op = PARAMS.read(params)?;
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.run(op))
            .await
            .map_err(|e| {
                Error::execution(
                    "tool:file_converter",
                    format!("conversion task failed: {e}"),
                )
            })?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> (tempfile::TempDir, FileConverter) {
        let dir = tempfile::tempdir().unwrap();
        let t = FileConverter::new(FsSandbox::new([dir.path()]));
        (dir, t)
    }

    fn exec(t: &FileConverter, params: Value) -> Result<Value> {
        t.run(PARAMS.read(params)?)
    }

    #[test]
    fn converts_encodings_both_ways() {
        let (dir, t) = setup();
        fs::write(dir.path().join("latin.txt"), [b'c', b'a', b'f', 0xE9]).unwrap();
        let out = exec(&t, json!({"operation": "encoding", "path": "latin.txt", "from": "iso-8859-1", "to": "utf-8", "output_path": "utf8.txt"})).unwrap();
        assert_eq!(out["bytes"], 5);
        assert_eq!(
            fs::read_to_string(dir.path().join("utf8.txt")).unwrap(),
            "café"
        );
        exec(
            &t,
            json!({"operation": "encoding", "path": "utf8.txt", "to": "utf-16le"}),
        )
        .unwrap();
        assert_eq!(
            fs::read(dir.path().join("utf8.txt")).unwrap(),
            vec![b'c', 0, b'a', 0, b'f', 0, 0xE9, 0]
        );
        let out = exec(
            &t,
            json!({"operation": "encoding", "content": "café", "to": "windows-1252"}),
        )
        .unwrap();
        assert_eq!(out["content_base64"], "Y2Fm6Q==");
    }

    #[test]
    fn encoding_errors_are_named() {
        let (dir, t) = setup();
        fs::write(dir.path().join("bad.txt"), [0xFF, 0xFE, 0xFD]).unwrap();
        let err = exec(
            &t,
            json!({"operation": "encoding", "path": "bad.txt", "from": "utf-8", "to": "utf-16le"}),
        )
        .unwrap_err();
        assert!(err.to_string().contains("not valid UTF-8"), "{err}");
        let err = exec(
            &t,
            json!({"operation": "encoding", "content": "日本", "to": "iso-8859-1"}),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("cannot represent") && err.to_string().contains("'日'"),
            "{err}"
        );
        let err = exec(
            &t,
            json!({"operation": "encoding", "content": "x", "to": "klingon"}),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("unknown encoding \"klingon\""),
            "{err}"
        );
    }

    #[test]
    fn line_endings() {
        let (_dir, t) = setup();
        let out = exec(
            &t,
            json!({"operation": "line_endings", "content": "a\nb\r\nc", "to": "crlf"}),
        )
        .unwrap();
        assert_eq!(out["content"], "a\r\nb\r\nc");
        let out = exec(
            &t,
            json!({"operation": "line_endings", "content": "a\r\nb\r\n", "to": "lf"}),
        )
        .unwrap();
        assert_eq!(out["content"], "a\nb\n");
    }

    #[test]
    fn converts_between_data_formats() {
        let (dir, t) = setup();
        fs::write(
            dir.path().join("conf.toml"),
            "name = \"app\"\n[server]\nport = 8080\nwhen = 1979-05-27T07:32:00Z\n",
        )
        .unwrap();
        let out = exec(
            &t,
            json!({"operation": "format", "path": "conf.toml", "to": "json"}),
        )
        .unwrap();
        assert_eq!(out["path"], "conf.json");
        let json: Value =
            serde_json::from_str(&fs::read_to_string(dir.path().join("conf.json")).unwrap())
                .unwrap();
        assert_eq!(
            json,
            json!({"name": "app", "server": {"port": 8080, "when": "1979-05-27T07:32:00Z"}})
        );
        let out = exec(&t, json!({"operation": "format", "path": "conf.json", "to": "yaml", "output_path": "conf.yaml"})).unwrap();
        assert_eq!(out["path"], "conf.yaml");
        let yaml = fs::read_to_string(dir.path().join("conf.yaml")).unwrap();
        assert!(
            yaml.contains("name: app") && yaml.contains("port: 8080"),
            "{yaml}"
        );
        let out = exec(&t, json!({"operation": "format", "content": "a,b\n1,x\n", "from": "csv", "to": "json", "pretty": false})).unwrap();
        assert_eq!(out["content"], "[{\"a\":1,\"b\":\"x\"}]\n");
        let out = exec(&t, json!({"operation": "format", "content": "[{\"a\":1},{\"a\":2}]", "from": "json", "to": "csv"})).unwrap();
        assert_eq!(out["content"], "a\n1\n2\n");
    }

    #[test]
    fn impossible_conversions_explain_why() {
        let (_dir, t) = setup();
        let err = exec(
            &t,
            json!({"operation": "format", "content": "[1,2]", "from": "json", "to": "toml"}),
        )
        .unwrap_err();
        assert!(err.to_string().contains("top-level table"), "{err}");
        let err = exec(&t, json!({"operation": "format", "content": "{\"a\": null}", "from": "json", "to": "toml"})).unwrap_err();
        assert!(
            err.to_string().contains("cannot express the data as toml"),
            "{err}"
        );
        let err = exec(
            &t,
            json!({"operation": "format", "content": "a: [", "from": "yaml", "to": "json"}),
        )
        .unwrap_err();
        assert!(err.to_string().contains("invalid yaml"), "{err}");
    }
}
