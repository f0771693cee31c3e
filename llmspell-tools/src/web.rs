//! Tools that talk HTTP (category `web`, security level `restricted`):
//! `http_request`, `graphql_query`, `url_analyzer`, `api_tester` and
//! `webhook_caller`; and the tools that read the web: `web_search`,
//! `web_scraper`, `webpage_monitor` and `sitemap_crawler`.
//!
//! Every request goes through the network safety layer ([`crate::net`]):
//! the host must be on `allowed_hosts`, every address connected to (each
//! redirect hop included) must be public or allowed by `allowed_addresses`,
//! and timeouts, a redirect limit and a response size cap apply.
//! Credentials are taken from environment variables on `secret_env`, named
//! by the call (`token_env`, `password_env`, `value_env`, `secret_env`).

mod api_tester;
mod assertions;
mod graphql_query;
mod http_request;
mod introspection;
mod request;
mod url_analyzer;
mod url_parts;
mod webhook_caller;

mod html;
mod page;
mod readable;
mod sitemap_crawler;
mod web_scraper;
mod web_search;
mod webpage_monitor;

pub use api_tester::ApiTester;
pub use graphql_query::GraphqlQuery;
pub use http_request::HttpRequest;
pub use url_analyzer::UrlAnalyzer;
pub use webhook_caller::{
    ATTEMPT_HEADER, IDEMPOTENCY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookCaller,
    webhook_signature,
};

pub use sitemap_crawler::SitemapCrawler;
pub use web_scraper::WebScraper;
pub use web_search::{
    DEFAULT_MAX_RESULTS, MAX_RESULTS_LIMIT, SearchEndpoint, SearchProviderKind, WebSearch,
    WebSearchConfig,
};
pub use webpage_monitor::{DEFAULT_MAX_SNAPSHOT_BYTES, SNAPSHOT_NAMESPACE, WebpageMonitor};
