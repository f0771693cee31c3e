//! `sitemap_crawler`: read a site's sitemaps and list its URLs, honouring
//! robots.txt.

mod robots;
mod sitemap_xml;

use std::collections::{HashMap, HashSet, VecDeque};

use async_trait::async_trait;
use llmspell_core::{
    ComponentMetadata, Error, ExecutionContext, Result, SecurityLevel, Tool, ToolCategory,
};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use url::Url;

use super::page::get;
use super::request::millis;
use crate::net::SafeClient;
use crate::params::ParamsSpec;
use robots::Robots;
use sitemap_xml::{Document, gunzip, is_gzip};

/// Default and highest `max_urls`.
const DEFAULT_MAX_URLS: usize = 1000;
const MAX_URLS: usize = 50_000;
/// Default and highest `max_depth` (index nesting).
const DEFAULT_MAX_DEPTH: usize = 3;
const MAX_DEPTH: usize = 5;
/// Default and highest `max_sitemaps` (documents read).
const DEFAULT_MAX_SITEMAPS: usize = 50;
const MAX_SITEMAPS: usize = 500;
/// Default and highest `max_total_bytes` (decompressed sitemap bytes).
const DEFAULT_MAX_TOTAL_BYTES: u64 = 50 << 20;
const MAX_TOTAL_BYTES: u64 = 500 << 20;
/// Largest decompressed sitemap (the protocol's limit is 50 MB).
const MAX_SITEMAP_BYTES: u64 = 50 << 20;
/// Disallowed URLs listed by example.
const DISALLOWED_SAMPLE: usize = 20;
/// The robots.txt user agent matched by default.
const DEFAULT_AGENT: &str = "llmspell";

/// Reads a site's sitemaps (sitemaps.org protocol: `<urlset>` and
/// `<sitemapindex>` documents, plain or gzip-compressed) through the
/// network safety layer ([`crate::net`]) and lists their URLs with
/// `lastmod`, `changefreq` and `priority`.
///
/// Given a site (a URL whose path is `/` or `/robots.txt`), it reads the
/// site's robots.txt and follows its `Sitemap:` lines, or `/sitemap.xml`
/// without any; given a sitemap URL, it starts there. Sitemap indexes are
/// followed up to `max_depth` levels. URLs robots.txt disallows for the
/// user agent are left out and counted (RFC 9309: a robots.txt answering
/// 4xx allows everything, one answering 5xx or unreachable disallows
/// everything); URLs on another origin than their sitemap are left out
/// and counted (the protocol requires one host per sitemap). Limits:
/// `max_urls`, `max_depth`, `max_sitemaps`, `max_total_bytes`, each
/// sitemap's size (`net_max_response_bytes` as fetched, 50 MB
/// decompressed).
///
/// Output: `{ urls: [{ loc, lastmod, changefreq, priority, sitemap }],
/// count, disallowed, disallowed_sample, foreign, sitemaps: [{ url, kind,
/// depth, entries, bytes, gzip }], errors: [{ url, error }], robots: {
/// url, status, sitemaps, crawl_delay }, truncated, elapsed_ms }`.
#[derive(Debug, Clone)]
pub struct SitemapCrawler {
    metadata: ComponentMetadata,
    client: SafeClient,
}

impl SitemapCrawler {
    /// Creates the tool; documents are fetched through `client`.
    pub fn new(client: SafeClient) -> Self {
        Self {
            metadata: ComponentMetadata::tool(
                "sitemap_crawler",
                "Reads a site's robots.txt and sitemaps and lists its URLs with lastmod, changefreq and priority",
            ),
            client,
        }
    }
}

/// The parameters of `sitemap_crawler`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Params {
    /// A site (`https://example.com/`: its robots.txt names the sitemaps,
    /// else `/sitemap.xml`) or a sitemap (`https://example.com/sitemap.xml`,
    /// `.xml.gz`, an index); its host must be on `allowed_hosts`.
    url: String,
    /// Most URLs listed (default 1000, at most 50000).
    #[schemars(range(min = 1, max = 50000))]
    max_urls: Option<usize>,
    /// Levels of sitemap indexes followed below the first document
    /// (default 3, at most 5; 0 reads only the first).
    #[schemars(range(max = 5))]
    max_depth: Option<usize>,
    /// Most sitemap documents read (default 50, at most 500).
    #[schemars(range(min = 1, max = 500))]
    max_sitemaps: Option<usize>,
    /// Most sitemap bytes read in all, after decompression (default
    /// 52428800, at most 524288000).
    #[schemars(range(min = 1))]
    max_total_bytes: Option<u64>,
    /// Leave out the URLs robots.txt disallows (default true).
    #[serde(default = "yes")]
    respect_robots: bool,
    /// The user agent robots.txt rules are matched for (default
    /// `llmspell`).
    user_agent: Option<String>,
    /// Time limit of each request in milliseconds (default and maximum:
    /// `net_timeout_ms`).
    #[schemars(range(min = 1))]
    timeout_ms: Option<u64>,
}

fn yes() -> bool {
    true
}

/// How `sitemap_crawler` reads its parameters.
const PARAMS: ParamsSpec<Params> = ParamsSpec::object();

/// A number a call asked for in `field`, or the default, within
/// `min..=max`.
fn bounded<T: Copy + PartialOrd + std::fmt::Display>(
    asked: Option<T>,
    default: T,
    min: T,
    max: T,
    field: &str,
) -> Result<T> {
    match asked {
        None => Ok(default),
        Some(n) if n >= min && n <= max => Ok(n),
        Some(n) => Err(Error::invalid_input(
            field,
            format!("expected {min} to {max}, got {n}"),
        )),
    }
}

/// The state of one crawl.
struct Crawl<'a> {
    client: &'a SafeClient,
    agent: String,
    respect_robots: bool,
    timeout_ms: Option<u64>,
    robots: HashMap<String, Robots>,
    robots_report: Option<Value>,
    urls: Vec<Value>,
    seen_urls: HashSet<String>,
    disallowed: usize,
    disallowed_sample: Vec<String>,
    foreign: usize,
    sitemaps: Vec<Value>,
    errors: Vec<Value>,
    truncated: bool,
    bytes_left: u64,
}

impl Crawl<'_> {
    /// The robots.txt of `url`'s origin (fetched once per origin).
    async fn robots(&mut self, url: &Url) -> Result<&Robots> {
        let origin = url.origin().ascii_serialization();
        if !self.robots.contains_key(&origin) {
            let (robots, robots_url) =
                Robots::fetch(self.client, url, &self.agent, self.timeout_ms).await?;
            if self.robots_report.is_none() {
                self.robots_report = Some(json!({
                    "url": robots_url,
                    "status": robots.status(),
                    "sitemaps": robots.sitemaps(),
                    "crawl_delay": robots.crawl_delay(),
                    "reason": robots.reason(),
                }));
            }
            self.robots.insert(origin.clone(), robots);
        }
        self.robots.get(&origin).ok_or_else(|| Error::Other {
            message: "robots.txt cache".to_owned(),
            source: None,
        })
    }

    /// Reads one sitemap document: its bytes (decompressed), or an error.
    async fn read(&mut self, url: &Url) -> Result<(String, usize, bool)> {
        let max_fetch = self
            .client
            .limits()
            .max_response_bytes
            .min(self.bytes_left.max(1));
        let page = get(
            self.client,
            url.as_str(),
            "url",
            "application/xml, text/xml;q=0.9, */*;q=0.1",
            self.timeout_ms,
            max_fetch,
        )
        .await?;
        page.require_success()?;
        let gzip = is_gzip(&page.body);
        let body = if gzip {
            gunzip(&page.body, MAX_SITEMAP_BYTES.min(self.bytes_left))?
        } else {
            page.body
        };
        if body.len() as u64 > self.bytes_left {
            return Err(Error::ResourceLimitExceeded {
                resource: "sitemap_bytes".to_owned(),
                limit: self.bytes_left,
                requested: body.len() as u64,
            });
        }
        self.bytes_left -= body.len() as u64;
        let n = body.len();
        Ok((String::from_utf8_lossy(&body).into_owned(), n, gzip))
    }

    /// Adds the URLs of a `<urlset>` read from `sitemap`.
    async fn add_urls(
        &mut self,
        sitemap: &Url,
        entries: Vec<sitemap_xml::Entry>,
        max_urls: usize,
    ) -> Result<()> {
        for entry in entries {
            let Ok(loc) = sitemap.join(&entry.loc) else {
                continue;
            };
            if loc.origin() != sitemap.origin() {
                self.foreign += 1;
                continue;
            }
            if self.respect_robots && !self.robots(&loc).await?.allowed(loc.as_str()) {
                self.disallowed += 1;
                if self.disallowed_sample.len() < DISALLOWED_SAMPLE {
                    self.disallowed_sample.push(loc.to_string());
                }
                continue;
            }
            if !self.seen_urls.insert(loc.to_string()) {
                continue;
            }
            if self.urls.len() >= max_urls {
                self.truncated = true;
                return Ok(());
            }
            self.urls.push(json!({
                "loc": loc.as_str(),
                "lastmod": entry.lastmod,
                "changefreq": entry.changefreq,
                "priority": entry.priority.as_deref().and_then(|p| p.parse::<f64>().ok()),
                "sitemap": sitemap.as_str(),
            }));
        }
        Ok(())
    }
}

/// Whether `url` names a site rather than a sitemap.
fn is_site(url: &Url) -> bool {
    matches!(url.path(), "" | "/" | "/robots.txt") && url.query().is_none()
}

impl SitemapCrawler {
    async fn run(&self, p: Params) -> Result<Value> {
        let max_urls = bounded(p.max_urls, DEFAULT_MAX_URLS, 1, MAX_URLS, "max_urls")?;
        let max_depth = bounded(p.max_depth, DEFAULT_MAX_DEPTH, 0, MAX_DEPTH, "max_depth")?;
        let max_sitemaps = bounded(
            p.max_sitemaps,
            DEFAULT_MAX_SITEMAPS,
            1,
            MAX_SITEMAPS,
            "max_sitemaps",
        )?;
        let max_total = bounded(
            p.max_total_bytes,
            DEFAULT_MAX_TOTAL_BYTES,
            1,
            MAX_TOTAL_BYTES,
            "max_total_bytes",
        )?;
        let agent = p
            .user_agent
            .as_deref()
            .unwrap_or(DEFAULT_AGENT)
            .trim()
            .to_owned();
        if agent.is_empty() || agent.chars().any(|c| c.is_control()) {
            return Err(Error::invalid_input(
                "user_agent",
                "expected a product token such as `llmspell`",
            ));
        }
        // Checked before anything is sent: timeouts and the URL.
        self.client.timeout(p.timeout_ms, "timeout_ms")?;
        let start = self.client.check_url(&p.url, "url")?;
        let started = std::time::Instant::now();
        let mut crawl = Crawl {
            client: &self.client,
            agent,
            respect_robots: p.respect_robots,
            timeout_ms: p.timeout_ms,
            robots: HashMap::new(),
            robots_report: None,
            urls: Vec::new(),
            seen_urls: HashSet::new(),
            disallowed: 0,
            disallowed_sample: Vec::new(),
            foreign: 0,
            sitemaps: Vec::new(),
            errors: Vec::new(),
            truncated: false,
            bytes_left: max_total,
        };

        let mut queue: VecDeque<(Url, usize)> = VecDeque::new();
        if is_site(&start) {
            let listed: Vec<String> = crawl.robots(&start).await?.sitemaps().to_vec();
            let mut found = false;
            for s in listed {
                if let Ok(u) = start.join(&s) {
                    queue.push_back((u, 0));
                    found = true;
                }
            }
            if !found {
                queue.push_back((start.join("/sitemap.xml").unwrap_or(start.clone()), 0));
            }
        } else {
            if p.respect_robots {
                crawl.robots(&start).await?;
            }
            queue.push_back((start.clone(), 0));
        }

        let mut visited = HashSet::new();
        let mut read_any = false;
        let mut first_error = None;
        while let Some((url, depth)) = queue.pop_front() {
            if !visited.insert(url.to_string()) {
                continue;
            }
            if crawl.sitemaps.len() >= max_sitemaps {
                crawl.truncated = true;
                break;
            }
            if crawl.urls.len() >= max_urls && crawl.truncated {
                break;
            }
            let read = crawl.read(&url).await;
            let (xml, bytes, gzip) = match read {
                Ok(r) => r,
                Err(e @ Error::SecurityViolation { .. }) if depth == 0 && !read_any => {
                    return Err(e);
                }
                Err(e) => {
                    if matches!(e, Error::ResourceLimitExceeded { .. }) {
                        crawl.truncated = true;
                    }
                    crawl
                        .errors
                        .push(json!({ "url": url.as_str(), "error": e.to_string() }));
                    first_error.get_or_insert(e);
                    continue;
                }
            };
            let doc = match sitemap_xml::parse(&xml) {
                Ok(doc) => doc,
                Err(why) => {
                    let e = Error::External {
                        service: "sitemap".to_owned(),
                        message: format!("{url} is not a sitemap: {why}"),
                        retryable: false,
                        source: None,
                    };
                    crawl
                        .errors
                        .push(json!({ "url": url.as_str(), "error": e.to_string() }));
                    first_error.get_or_insert(e);
                    continue;
                }
            };
            read_any = true;
            match doc {
                Document::Index(children) => {
                    crawl.sitemaps.push(json!({
                        "url": url.as_str(), "kind": "index", "depth": depth,
                        "entries": children.len(), "bytes": bytes, "gzip": gzip,
                    }));
                    if depth >= max_depth {
                        if !children.is_empty() {
                            crawl.truncated = true;
                            crawl.errors.push(json!({
                                "url": url.as_str(),
                                "error": format!(
                                    "{} nested sitemaps not read: `max_depth` {max_depth} reached",
                                    children.len()
                                ),
                            }));
                        }
                        continue;
                    }
                    for child in children {
                        if let Ok(u) = url.join(&child.loc) {
                            queue.push_back((u, depth + 1));
                        }
                    }
                }
                Document::UrlSet(entries) => {
                    crawl.sitemaps.push(json!({
                        "url": url.as_str(), "kind": "urlset", "depth": depth,
                        "entries": entries.len(), "bytes": bytes, "gzip": gzip,
                    }));
                    crawl.add_urls(&url, entries, max_urls).await?;
                }
            }
        }
        if let (false, Some(e)) = (read_any, first_error) {
            return Err(e);
        }
        if !queue.is_empty() {
            crawl.truncated = true;
        }
        Ok(json!({
            "url": start.as_str(),
            "count": crawl.urls.len(),
            "urls": crawl.urls,
            "disallowed": crawl.disallowed,
            "disallowed_sample": crawl.disallowed_sample,
            "foreign": crawl.foreign,
            "sitemaps": crawl.sitemaps,
            "errors": crawl.errors,
            "robots": crawl.robots_report,
            "truncated": crawl.truncated,
            "elapsed_ms": millis(started.elapsed()),
        }))
    }
}

#[async_trait]
impl Tool for SitemapCrawler {
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
            json!({ "url": "https://example.com/", "max_urls": 100 }),
            json!({ "url": "https://example.com/sitemap_index.xml", "max_urls": 500, "max_depth": 1 }),
        ]
    }

    fn output_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "url": { "type": "string" },
                "count": { "type": "integer" },
                "urls": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "loc": { "type": "string" },
                            "lastmod": { "type": ["string", "null"] },
                            "changefreq": { "type": ["string", "null"] },
                            "priority": { "type": ["number", "null"] },
                            "sitemap": { "type": "string" }
                        },
                        "required": ["loc", "sitemap"]
                    }
                },
                "disallowed": { "type": "integer", "description": "URLs robots.txt disallows, left out" },
                "disallowed_sample": { "type": "array", "items": { "type": "string" } },
                "foreign": { "type": "integer", "description": "URLs on another origin than their sitemap, left out" },
                "sitemaps": { "type": "array", "items": { "type": "object" } },
                "errors": { "type": "array", "items": { "type": "object" } },
                "robots": { "type": ["object", "null"] },
                "truncated": { "type": "boolean", "description": "A limit stopped the crawl" },
                "elapsed_ms": { "type": "number" }
            },
            "required": ["url", "count", "urls", "disallowed", "sitemaps", "errors", "truncated", "elapsed_ms"]
        })
    }

    async fn execute(&self, params: Value, _ctx: &ExecutionContext) -> Result<Value> {
        self.run(PARAMS.read(params)?).await
    }
}
