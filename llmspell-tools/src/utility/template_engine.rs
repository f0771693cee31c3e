//! `template_engine`: renders Jinja-style templates with minijinja.

use std::collections::BTreeMap;

use async_trait::async_trait;
use llmspell_core::{ComponentMetadata, Error, ExecutionContext, Result, Tool, ToolCategory};
use minijinja::value::Serde;
use minijinja::{AutoEscape, Environment, ErrorKind, UndefinedBehavior};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::params::ParamsSpec;

/// Fuel (instructions) a render may spend before it is stopped.
const DEFAULT_FUEL: u64 = 1_000_000;
/// Largest rendered output, in bytes.
const DEFAULT_MAX_OUTPUT_BYTES: usize = 10 * 1024 * 1024;
/// Name of the template being rendered, as shown in errors.
const MAIN: &str = "template";

/// Renders a minijinja (Jinja2-compatible) template with a JSON context.
///
/// Parameters `{ template, context?, strict?, autoescape?, templates? }`;
/// output `{ rendered }`.
///
/// - `strict` (default `false`): an undefined variable is an error instead of
///   rendering as an empty string;
/// - `autoescape`: `none` (default), `html` or `json`;
/// - `templates`: named templates the main one may `include`, `import` or
///   `extend`.
///
/// Syntax errors are reported with their line. Rendering is bounded by fuel
/// (an instruction budget), so a runaway loop is stopped rather than left to
/// spin, and by an output cap (10 MiB by default), past which the render
/// fails with [`Error::ResourceLimitExceeded`].
#[derive(Debug, Clone)]
pub struct TemplateEngine {
    metadata: ComponentMetadata,
    fuel: u64,
    max_output_bytes: usize,
}

impl TemplateEngine {
    /// Creates the tool with the default fuel budget.
    pub fn new() -> Self {
        Self {
            metadata: ComponentMetadata::tool(
                "template_engine",
                "Renders Jinja-style templates (minijinja) with a JSON context",
            ),
            fuel: DEFAULT_FUEL,
            max_output_bytes: DEFAULT_MAX_OUTPUT_BYTES,
        }
    }

    /// Sets the largest rendered output, in bytes.
    #[must_use]
    pub fn with_max_output_bytes(mut self, bytes: usize) -> Self {
        self.max_output_bytes = bytes;
        self
    }

    /// Sets the instruction budget of one render.
    #[must_use]
    pub fn with_fuel(mut self, fuel: u64) -> Self {
        self.fuel = fuel;
        self
    }
}

impl Default for TemplateEngine {
    fn default() -> Self {
        Self::new()
    }
}

/// How `{{ }}` output is escaped.
#[derive(Deserialize, Serialize, JsonSchema, Default, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum Escape {
    #[default]
    None,
    Html,
    Json,
}

/// The parameters of `template_engine`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Params {
    /// The template source, in Jinja2 syntax (`{{ name | title }}`,
    /// `{% for x in items %}`).
    template: String,
    /// The variables the template sees (default: none).
    #[serde(default)]
    context: Map<String, Value>,
    /// When true an undefined variable is an error; when false (the
    /// default) it renders as an empty string.
    #[serde(default)]
    strict: bool,
    /// How `{{ }}` output is escaped: `none` (the default), `html` or `json`.
    #[serde(default)]
    autoescape: Escape,
    /// Named templates the main one may `include`, `import` or `extends`,
    /// name to source (default: none).
    #[serde(default)]
    templates: BTreeMap<String, String>,
}

/// How `template_engine` reads its parameters.
const PARAMS: ParamsSpec<Params> = ParamsSpec::object();

fn to_error(e: &minijinja::Error) -> Error {
    let place = match (e.name(), e.line()) {
        (Some(name), Some(line)) if name == MAIN => format!(" on line {line}"),
        (Some(name), Some(line)) => format!(" in template \"{name}\" on line {line}"),
        _ => String::new(),
    };
    let detail = e.detail().map(|d| format!(": {d}")).unwrap_or_default();
    let field = match e.kind() {
        ErrorKind::TemplateNotFound => "templates",
        _ => "template",
    };
    let hint = match e.kind() {
        ErrorKind::UndefinedError => " (strict mode: every variable must be in `context`)",
        ErrorKind::OutOfFuel => " (the template ran too long)",
        _ => "",
    };
    Error::invalid_input(field, format!("{}{place}{detail}{hint}", e.kind()))
}

impl TemplateEngine {
    fn render(&self, p: &Params) -> Result<String> {
        let mut env = Environment::new();
        env.set_undefined_behavior(if p.strict {
            UndefinedBehavior::Strict
        } else {
            UndefinedBehavior::Lenient
        });
        env.set_fuel(Some(self.fuel));
        let escape = p.autoescape;
        env.set_auto_escape_callback(move |_| match escape {
            Escape::None => AutoEscape::None,
            Escape::Html => AutoEscape::Html,
            Escape::Json => AutoEscape::Json,
        });
        for (name, source) in &p.templates {
            env.add_template(name, source).map_err(|e| to_error(&e))?;
        }
        env.add_template(MAIN, &p.template)
            .map_err(|e| to_error(&e))?;
        let template = env.get_template(MAIN).map_err(|e| to_error(&e))?;
        let mut out = CappedOutput {
            buf: Vec::new(),
            cap: self.max_output_bytes,
            exceeded: false,
        };
        let rendered =
            template.render_captured_to(minijinja::Value::from(Serde(&p.context)), &mut out);
        if out.exceeded {
            return Err(Error::ResourceLimitExceeded {
                resource: "template_output_bytes".to_owned(),
                limit: self.max_output_bytes as u64,
                requested: out.buf.len() as u64 + 1,
            });
        }
        rendered.map_err(|e| to_error(&e))?;
        String::from_utf8(out.buf).map_err(|e| {
            Error::execution("tool:template_engine", format!("output is not UTF-8: {e}"))
        })
    }
}

/// Collects rendered output, failing the write once `cap` bytes are exceeded.
struct CappedOutput {
    buf: Vec<u8>,
    cap: usize,
    exceeded: bool,
}

impl std::io::Write for CappedOutput {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if self.buf.len() + data.len() > self.cap {
            self.exceeded = true;
            return Err(std::io::Error::other("template output exceeds the cap"));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[async_trait]
impl Tool for TemplateEngine {
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
            json!({
                "template": "Hello {{ name | title }}! You have {{ items | length }} items.",
                "context": { "name": "ada", "items": [1, 2, 3] }
            }),
            json!({ "template": "Hi {{ name }}!", "context": { "name": "Ada" }, "strict": true }),
        ]
    }

    fn output_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": { "rendered": { "type": "string", "description": "The rendered text" } },
            "required": ["rendered"]
        })
    }

    async fn execute(&self, params: Value, _ctx: &ExecutionContext) -> Result<Value> {
        let p = PARAMS.read(params)?;
        Ok(json!({ "rendered": self.render(&p)? }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(params: Value) -> Result<String> {
        let p = PARAMS.read(params)?;
        TemplateEngine::new().render(&p)
    }

    #[test]
    fn renders_variables_loops_and_filters() {
        let out = render(json!({
            "template": "Hello {{ name | upper }}!{% for i in items %} {{ loop.index }}={{ i }}{% endfor %}",
            "context": { "name": "ada", "items": ["x", "y"] }
        }))
        .unwrap();
        assert_eq!(out, "Hello ADA! 1=x 2=y");
    }

    #[test]
    fn undefined_variables_are_empty_unless_strict() {
        assert_eq!(
            render(json!({ "template": "[{{ missing }}]" })).unwrap(),
            "[]"
        );
        let err = render(json!({ "template": "a\n[{{ missing }}]", "strict": true })).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("undefined value on line 2") && msg.contains("strict"),
            "{msg}"
        );
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let err = render(json!({ "template": "line one\n{% if x %}\nno end" })).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with("invalid input for `template`: syntax error on line"),
            "{msg}"
        );
    }

    #[test]
    fn autoescape_and_included_templates() {
        let out = render(json!({
            "template": "{% include 'item' %}",
            "templates": { "item": "<b>{{ v }}</b>" },
            "context": { "v": "<x>" },
            "autoescape": "html"
        }))
        .unwrap();
        assert_eq!(out, "<b>&lt;x&gt;</b>");
        let err = render(json!({ "template": "{% include 'nope' %}" })).unwrap_err();
        assert!(err.to_string().contains("template not found"), "{err}");
    }

    #[test]
    fn output_beyond_the_cap_is_refused() {
        let p = PARAMS
            .read(json!({
                "template": "{% for i in range(10) %}{{ 'x' * 1000 }}{% endfor %}"
            }))
            .unwrap();
        let err = TemplateEngine::new()
            .with_max_output_bytes(5000)
            .render(&p)
            .unwrap_err();
        assert!(
            matches!(err, Error::ResourceLimitExceeded { limit: 5000, .. }),
            "{err}"
        );
        assert_eq!(TemplateEngine::new().render(&p).unwrap().len(), 10_000);
    }

    #[test]
    fn runaway_templates_run_out_of_fuel() {
        let p = PARAMS.read(json!({
            "template": "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}"
        }))
        .unwrap();
        let err = TemplateEngine::new()
            .with_fuel(10_000)
            .render(&p)
            .unwrap_err();
        assert!(err.to_string().contains("fuel"), "{err}");
    }
}
