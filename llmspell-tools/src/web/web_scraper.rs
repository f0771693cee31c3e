//! `web_scraper`: extract text, attributes, links, tables and the readable
//! text of a page with CSS selectors.

use std::collections::BTreeMap;

use async_trait::async_trait;
use llmspell_core::{
    ComponentMetadata, Error, ExecutionContext, Result, SecurityLevel, Tool, ToolCategory,
};
use schemars::JsonSchema;
use scraper::{ElementRef, Html};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use url::Url;

use super::html::{links, selector, table, text};
use super::page::{ACCEPT_HTML, get};
use super::readable;
use super::request::millis;
use crate::net::SafeClient;
use crate::params::ParamsSpec;

/// Default most matches kept per selector.
const DEFAULT_LIMIT: usize = 100;
/// Highest `limit` a call may ask for.
const MAX_LIMIT: usize = 1000;
/// Most named selectors in one call.
const MAX_SELECTORS: usize = 50;

/// Extracts content from an HTML page with CSS selectors (the `scraper`
/// crate): text, HTML, attributes, links (resolved against the page's
/// URL), tables (rows of cells, with header detection) and the page's
/// readable text. The page is fetched from `url` through the network safety
/// layer ([`crate::net`]), or given as `html`.
///
/// Output: `{ url, status, title, results, counts, truncated, readable,
/// bytes, elapsed_ms }`: `results` holds one entry per named selector (a
/// list of matches, or one value with `first`), `counts` the number of
/// matches of each, `truncated` the names whose matches passed `limit`.
#[derive(Debug, Clone)]
pub struct WebScraper {
    metadata: ComponentMetadata,
    client: SafeClient,
}

impl WebScraper {
    /// Creates the tool; pages are fetched through `client`.
    pub fn new(client: SafeClient) -> Self {
        Self {
            metadata: ComponentMetadata::tool(
                "web_scraper",
                "Extracts text, attributes, links, tables and readable text from a page with CSS selectors",
            ),
            client,
        }
    }
}

/// What to take from each element a selector matches.
#[derive(Deserialize, JsonSchema, Default, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum Extract {
    /// The visible text, whitespace collapsed (scripts and styles left
    /// out).
    #[default]
    Text,
    /// The element's HTML, itself included.
    Html,
    /// The HTML inside the element.
    InnerHtml,
    /// The value of `attribute` (elements without it are skipped; `href`,
    /// `src`, `action`, `poster` and `cite` are resolved against the page's
    /// URL).
    Attribute,
    /// Links: the element itself when it is an `<a>`/`<area>`, else those
    /// inside it, as `{ text, href, rel, title }` with `href` resolved.
    Links,
    /// A `<table>` as `{ headers, rows, records }`.
    Table,
}

/// One named extraction.
#[derive(Deserialize, JsonSchema, Clone, Debug)]
#[serde(deny_unknown_fields)]
struct Extraction {
    /// The CSS selector (`article h2`, `a.next`, `table#prices`).
    selector: String,
    /// What to take from each match: `text` (the default), `html`,
    /// `inner_html`, `attribute`, `links` or `table`.
    #[serde(default)]
    extract: Extract,
    /// The attribute to read, with `extract: "attribute"`.
    attribute: Option<String>,
    /// Return only the first match (a value, or null without a match)
    /// instead of a list (default false).
    #[serde(default)]
    first: bool,
    /// Most matches returned (default 100, at most 1000); `counts` still
    /// gives the number of matches.
    #[schemars(range(min = 1, max = 1000))]
    limit: Option<usize>,
}

/// The parameters of `web_scraper`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Params {
    /// The page's `http://` or `https://` URL; its host must be on
    /// `allowed_hosts`. Give `url` or `html`.
    url: Option<String>,
    /// The HTML to read, instead of fetching a page.
    html: Option<String>,
    /// With `html`: the URL links and attributes are resolved against.
    base_url: Option<String>,
    /// Named extractions, name to `{ selector, extract?, attribute?,
    /// first?, limit? }` (at most 50).
    #[serde(default)]
    selectors: BTreeMap<String, Extraction>,
    /// Also return the page's readable text: the main content without
    /// navigation, scripts, styles and boilerplate (default false).
    #[serde(default)]
    readable: bool,
    /// Time limit of the fetch in milliseconds (default and maximum:
    /// `net_timeout_ms`).
    #[schemars(range(min = 1))]
    timeout_ms: Option<u64>,
    /// Largest page read (or `html` accepted), in bytes (default and
    /// maximum: `net_max_response_bytes`).
    #[schemars(range(min = 1))]
    max_bytes: Option<u64>,
}

/// How `web_scraper` reads its parameters.
const PARAMS: ParamsSpec<Params> = ParamsSpec::object();

/// Attributes holding URLs, resolved against the page.
const URL_ATTRIBUTES: [&str; 6] = ["href", "src", "action", "poster", "cite", "data"];

/// A checked extraction.
struct Plan {
    name: String,
    selector: scraper::Selector,
    extract: Extract,
    attribute: Option<String>,
    first: bool,
    limit: usize,
}

fn plan(name: String, e: Extraction) -> Result<Plan> {
    let field = |f: &str| format!("selectors.{name}.{f}");
    let selector = selector(&e.selector, &field("selector"))?;
    let attribute = match (e.extract, e.attribute) {
        (Extract::Attribute, None) => {
            return Err(Error::invalid_input(
                field("attribute"),
                "missing: `extract: \"attribute\"` needs the attribute's name",
            ));
        }
        (Extract::Attribute, Some(a)) if a.trim().is_empty() => {
            return Err(Error::invalid_input(
                field("attribute"),
                "empty attribute name",
            ));
        }
        (Extract::Attribute, a) => a.map(|a| a.trim().to_ascii_lowercase()),
        (_, Some(_)) => {
            return Err(Error::invalid_input(
                field("attribute"),
                "`attribute` applies only to `extract: \"attribute\"`",
            ));
        }
        (_, None) => None,
    };
    let limit = match e.limit {
        None => DEFAULT_LIMIT,
        Some(n) if (1..=MAX_LIMIT).contains(&n) => n,
        Some(n) => {
            return Err(Error::invalid_input(
                field("limit"),
                format!("expected 1 to {MAX_LIMIT}, got {n}"),
            ));
        }
    };
    Ok(Plan {
        name,
        selector,
        extract: e.extract,
        attribute,
        first: e.first,
        limit,
    })
}

/// The value `plan` takes from `el`; `None` to skip it.
fn take(plan: &Plan, el: ElementRef<'_>, base: Option<&Url>) -> Option<Value> {
    Some(match plan.extract {
        Extract::Text => json!(text(el)),
        Extract::Html => json!(el.html()),
        Extract::InnerHtml => json!(el.inner_html()),
        Extract::Attribute => {
            let name = plan.attribute.as_deref()?;
            let value = el.value().attr(name)?;
            if URL_ATTRIBUTES.contains(&name) {
                json!(super::html::resolve(value, base))
            } else {
                json!(value)
            }
        }
        Extract::Links => json!(links(el, base)),
        Extract::Table => {
            if el.value().name() != "table" {
                return None;
            }
            table(el)
        }
    })
}

/// Runs every extraction of `plans` on `doc`.
fn run_plans(doc: &Html, plans: &[Plan], base: Option<&Url>) -> (Value, Value, Vec<String>) {
    let mut results = Map::new();
    let mut counts = Map::new();
    let mut truncated = Vec::new();
    for plan in plans {
        let mut values = Vec::new();
        let mut matched = 0usize;
        for el in doc.select(&plan.selector) {
            let Some(v) = take(plan, el, base) else {
                continue;
            };
            matched += 1;
            let room = if plan.first { 1 } else { plan.limit };
            if values.len() < room {
                values.push(v);
            }
        }
        if !plan.first && matched > values.len() {
            truncated.push(plan.name.clone());
        }
        counts.insert(plan.name.clone(), json!(matched));
        let value = if plan.first {
            values.into_iter().next().unwrap_or(Value::Null)
        } else {
            Value::Array(values)
        };
        results.insert(plan.name.clone(), value);
    }
    (Value::Object(results), Value::Object(counts), truncated)
}

impl WebScraper {
    async fn run(&self, p: Params) -> Result<Value> {
        if p.selectors.is_empty() && !p.readable {
            return Err(Error::invalid_input(
                "selectors",
                "nothing to extract: give `selectors` (name to `{ selector, extract }`) or \
                 `readable: true`",
            ));
        }
        if p.selectors.len() > MAX_SELECTORS {
            return Err(Error::invalid_input(
                "selectors",
                format!(
                    "at most {MAX_SELECTORS} named selectors, got {}",
                    p.selectors.len()
                ),
            ));
        }
        let plans = p
            .selectors
            .into_iter()
            .map(|(name, e)| plan(name, e))
            .collect::<Result<Vec<_>>>()?;
        let max_bytes = self.client.max_bytes(p.max_bytes, "max_bytes")?;
        let started = std::time::Instant::now();
        let (html, base, status) = match (p.url, p.html) {
            (Some(_), Some(_)) => {
                return Err(Error::invalid_input(
                    "html",
                    "give `url` or `html`, not both",
                ));
            }
            (None, None) => {
                return Err(Error::invalid_input(
                    "url",
                    "missing: give the page's `url`, or its `html`",
                ));
            }
            (Some(url), None) => {
                if p.base_url.is_some() {
                    return Err(Error::invalid_input(
                        "base_url",
                        "`base_url` applies to `html`; a fetched page is resolved against its URL",
                    ));
                }
                let page = get(
                    &self.client,
                    &url,
                    "url",
                    ACCEPT_HTML,
                    p.timeout_ms,
                    max_bytes,
                )
                .await?;
                page.require_success()?;
                if !page.is_html() {
                    return Err(Error::External {
                        service: "http".to_owned(),
                        message: format!(
                            "GET {} answered `{}`, not an HTML page",
                            page.url,
                            page.media_type().unwrap_or_default()
                        ),
                        retryable: false,
                        source: None,
                    });
                }
                (page.text(), Some(page.url.clone()), Some(page.status))
            }
            (None, Some(html)) => {
                if p.timeout_ms.is_some() {
                    return Err(Error::invalid_input(
                        "timeout_ms",
                        "`timeout_ms` applies to a fetched `url`",
                    ));
                }
                if html.len() as u64 > max_bytes {
                    return Err(Error::ResourceLimitExceeded {
                        resource: "html_bytes".to_owned(),
                        limit: max_bytes,
                        requested: html.len() as u64,
                    });
                }
                let base = match p.base_url {
                    Some(b) => Some(Url::parse(b.trim()).map_err(|e| {
                        Error::invalid_input("base_url", format!("expected an absolute URL: {e}"))
                    })?),
                    None => None,
                };
                (html, base, None)
            }
        };
        let bytes = html.len();
        let doc = Html::parse_document(&html);
        let (results, counts, truncated) = run_plans(&doc, &plans, base.as_ref());
        let page_title = super::html::selector("title", "title")
            .ok()
            .and_then(|s| doc.select(&s).next().map(text))
            .filter(|t| !t.is_empty());
        let readable = p.readable.then(|| {
            let r = readable::extract(&doc);
            json!({
                "title": r.title,
                "text": r.text(),
                "word_count": r.word_count(),
            })
        });
        Ok(json!({
            "url": base.as_ref().map(Url::as_str),
            "status": status,
            "title": page_title,
            "results": results,
            "counts": counts,
            "truncated": truncated,
            "readable": readable,
            "bytes": bytes,
            "elapsed_ms": millis(started.elapsed()),
        }))
    }
}

#[async_trait]
impl Tool for WebScraper {
    fn metadata(&self) -> &ComponentMetadata {
        &self.metadata
    }

    fn category(&self) -> ToolCategory {
        ToolCategory::Web
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
            json!({
                "url": "https://example.com/blog",
                "selectors": {
                    "headlines": { "selector": "article h2" },
                    "next": { "selector": "a.next", "extract": "attribute", "attribute": "href", "first": true },
                    "prices": { "selector": "table#prices", "extract": "table", "first": true }
                }
            }),
            json!({ "url": "https://example.com/post/1", "readable": true }),
            json!({
                "html": "<ul><li><a href='/a'>A</a></li></ul>", "base_url": "https://example.com/",
                "selectors": { "links": { "selector": "ul", "extract": "links" } }
            }),
        ]
    }

    fn output_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "url": { "type": ["string", "null"], "description": "The page's URL after redirects, or base_url" },
                "status": { "type": ["integer", "null"] },
                "title": { "type": ["string", "null"] },
                "results": { "type": "object", "description": "Per name: a list of matches, or one value with first" },
                "counts": { "type": "object", "additionalProperties": { "type": "integer" } },
                "truncated": { "type": "array", "items": { "type": "string" } },
                "readable": {
                    "type": ["object", "null"],
                    "properties": {
                        "title": { "type": ["string", "null"] },
                        "text": { "type": "string", "description": "The main content, one block per line" },
                        "word_count": { "type": "integer" }
                    }
                },
                "bytes": { "type": "integer" },
                "elapsed_ms": { "type": "number" }
            },
            "required": ["url", "status", "results", "counts", "truncated", "bytes", "elapsed_ms"]
        })
    }

    async fn execute(&self, params: Value, _ctx: &ExecutionContext) -> Result<Value> {
        self.run(PARAMS.read(params)?).await
    }
}
