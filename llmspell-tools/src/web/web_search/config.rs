//! The configuration of `web_search`: which providers, where, with which
//! key.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// Default and highest number of results a call gets unless configured.
pub const DEFAULT_MAX_RESULTS: usize = 10;
/// The most results `max_results` may be configured to.
pub const MAX_RESULTS_LIMIT: usize = 50;

/// A search provider `web_search` can query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SearchProviderKind {
    /// DuckDuckGo's HTML results page (no key).
    DuckDuckGo,
    /// A SearXNG instance's JSON API (no key; needs `base_url`).
    Searxng,
    /// The Brave Search API (key in `X-Subscription-Token`).
    Brave,
    /// The Tavily search API (key as a bearer token).
    Tavily,
}

impl SearchProviderKind {
    /// Every provider.
    pub const ALL: [SearchProviderKind; 4] = [
        SearchProviderKind::DuckDuckGo,
        SearchProviderKind::Searxng,
        SearchProviderKind::Brave,
        SearchProviderKind::Tavily,
    ];

    /// The name used in configuration and calls.
    pub fn as_str(self) -> &'static str {
        match self {
            SearchProviderKind::DuckDuckGo => "duckduckgo",
            SearchProviderKind::Searxng => "searxng",
            SearchProviderKind::Brave => "brave",
            SearchProviderKind::Tavily => "tavily",
        }
    }

    /// The base URL used when none is configured (none for SearXNG, which
    /// has no public default).
    pub fn default_base_url(self) -> Option<&'static str> {
        match self {
            SearchProviderKind::DuckDuckGo => Some("https://html.duckduckgo.com"),
            SearchProviderKind::Searxng => None,
            SearchProviderKind::Brave => Some("https://api.search.brave.com"),
            SearchProviderKind::Tavily => Some("https://api.tavily.com"),
        }
    }

    /// Whether the provider needs an API key.
    pub fn needs_key(self) -> bool {
        matches!(self, SearchProviderKind::Brave | SearchProviderKind::Tavily)
    }
}

impl fmt::Display for SearchProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SearchProviderKind {
    type Err = String;

    /// Parses a provider name; the error lists the valid ones.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s.trim())
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|k| k.as_str()).collect();
                format!("unknown search provider `{s}`; valid: {}", names.join(", "))
            })
    }
}

/// Where one provider is reached and with which key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchEndpoint {
    /// The service's base URL (`https://searx.example.org`,
    /// `https://api.search.brave.com`); the provider adds its path
    /// (`/search`, `/res/v1/web/search`, `/html/`). Unset: the provider's
    /// public service.
    pub base_url: Option<String>,
    /// The environment variable holding the API key. It must also be on
    /// `secret_env`; the key itself never appears in configuration or
    /// calls.
    pub api_key_env: Option<String>,
}

/// The configuration of `web_search` (`[web_search]` in `llmspell.toml`).
///
/// ```
/// use llmspell_tools::web::{SearchEndpoint, SearchProviderKind, WebSearchConfig};
///
/// let config = WebSearchConfig::default().with_provider(
///     SearchProviderKind::Brave,
///     SearchEndpoint { base_url: None, api_key_env: Some("BRAVE_API_KEY".into()) },
/// );
/// assert_eq!(config.default_provider(), SearchProviderKind::Brave);
/// assert_eq!(WebSearchConfig::default().default_provider(), SearchProviderKind::DuckDuckGo);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSearchConfig {
    /// The provider of calls that name none. Unset: the first configured
    /// provider, else DuckDuckGo.
    pub provider: Option<SearchProviderKind>,
    /// The providers' endpoints and keys.
    pub providers: BTreeMap<SearchProviderKind, SearchEndpoint>,
    /// Default and highest number of results of a call (default 10, at most
    /// 50).
    pub max_results: usize,
}

impl Default for WebSearchConfig {
    fn default() -> Self {
        Self {
            provider: None,
            providers: BTreeMap::new(),
            max_results: DEFAULT_MAX_RESULTS,
        }
    }
}

impl WebSearchConfig {
    /// Adds (or replaces) the endpoint of `kind`.
    #[must_use]
    pub fn with_provider(mut self, kind: SearchProviderKind, endpoint: SearchEndpoint) -> Self {
        self.providers.insert(kind, endpoint);
        self
    }

    /// The provider of calls that name none.
    pub fn default_provider(&self) -> SearchProviderKind {
        self.provider
            .or_else(|| self.providers.keys().next().copied())
            .unwrap_or(SearchProviderKind::DuckDuckGo)
    }

    /// The endpoint of `kind` (empty when not configured).
    pub fn endpoint(&self, kind: SearchProviderKind) -> SearchEndpoint {
        self.providers.get(&kind).cloned().unwrap_or_default()
    }
}
