//! [`SafeClient`]: an HTTP client that connects only where a [`NetPolicy`]
//! allows, with timeouts, a redirect limit and capped response bodies.

use std::collections::HashMap;
use std::error::Error as StdError;
use std::sync::Arc;
use std::time::Duration;

use llmspell_core::{Error, Result};
use parking_lot::Mutex;
use url::Url;

use super::policy::NetPolicy;
use super::resolver::PolicyResolver;
use super::response::SafeResponse;

/// Default time to establish a connection (DNS included).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default and longest time of one request, body included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);
/// Default and largest response body, in bytes (10 MiB).
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 10 << 20;
/// Default and highest number of redirects followed.
pub const DEFAULT_MAX_REDIRECTS: usize = 5;

/// Timeouts, size cap and redirect limit of the network tools. Each is both
/// the default of a call and the most a call may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetLimits {
    /// Time to establish a connection, name resolution included (default
    /// 10 s).
    pub connect_timeout: Duration,
    /// Time of a whole request, reading the body included (default 20 s).
    pub timeout: Duration,
    /// Bytes of a response body (default 10 MiB).
    pub max_response_bytes: u64,
    /// Redirects followed (default 5).
    pub max_redirects: usize,
}

impl Default for NetLimits {
    fn default() -> Self {
        Self {
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            timeout: DEFAULT_TIMEOUT,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            max_redirects: DEFAULT_MAX_REDIRECTS,
        }
    }
}

/// How a request treats redirects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Redirects {
    /// Most redirects followed; `0` returns the redirect response itself.
    pub max: usize,
    /// Stop (return the redirect response) instead of following a redirect
    /// to another origin: for requests whose credentials travel in headers
    /// the client does not know to drop.
    pub same_origin_only: bool,
}

impl Redirects {
    /// Follow none.
    pub fn none() -> Self {
        Self {
            max: 0,
            same_origin_only: false,
        }
    }

    /// Follow up to `max`.
    pub fn follow(max: usize) -> Self {
        Self {
            max,
            same_origin_only: false,
        }
    }
}

/// An HTTP client whose every connection passes a [`NetPolicy`]:
///
/// - names are resolved through [`NetPolicy::resolve`] (a reqwest
///   resolver), so refused addresses are never connected to, whatever DNS
///   answers at connect time; IP-literal hosts are checked by
///   [`check_url`](Self::check_url) and by the redirect policy, since they
///   are not resolved;
/// - every redirect hop is checked with [`NetPolicy::check_redirect`]; a
///   redirect loop, or more redirects than allowed, is an error; on a hop to
///   another origin reqwest drops `Authorization`, `Cookie` and
///   `Proxy-Authorization`;
/// - no proxy is used (not even one from the environment), so the
///   connection goes where the check says;
/// - every request has a connect timeout and a total timeout, and bodies
///   are read through [`SafeResponse`] with a byte cap;
/// - responses are not decompressed (no decompression bombs), cookies are
///   not kept and no `Referer` is sent.
///
/// Cloning is cheap; clones share their connection pools.
///
/// ```no_run
/// use llmspell_tools::net::{NetLimits, NetPolicy, Redirects, SafeClient};
///
/// # async fn run() -> llmspell_core::Result<()> {
/// let client = SafeClient::new(NetPolicy::new(["api.example.com"]), NetLimits::default());
/// let url = client.check_url("https://api.example.com/v1/items", "url")?;
/// let request = client.request(reqwest::Method::GET, url, Redirects::follow(3))?;
/// let response = client.send(request, client.limits().timeout).await?;
/// let status = response.status();
/// let body = response.bytes(64 * 1024).await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct SafeClient {
    policy: NetPolicy,
    limits: NetLimits,
    user_agent: Arc<str>,
    clients: Arc<Mutex<HashMap<Redirects, reqwest::Client>>>,
}

impl SafeClient {
    /// A client for `policy` with `limits`.
    pub fn new(policy: NetPolicy, limits: NetLimits) -> Self {
        Self {
            policy,
            limits,
            user_agent: concat!("llmspell/", env!("CARGO_PKG_VERSION")).into(),
            clients: Arc::default(),
        }
    }

    /// Sends `user_agent` as the `User-Agent` header.
    #[must_use]
    pub fn with_user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into().into();
        self.clients = Arc::default();
        self
    }

    /// The policy every connection passes.
    pub fn policy(&self) -> &NetPolicy {
        &self.policy
    }

    /// The limits.
    pub fn limits(&self) -> NetLimits {
        self.limits
    }

    /// [`NetPolicy::check_url`].
    ///
    /// # Errors
    /// As [`NetPolicy::check_url`].
    pub fn check_url(&self, url: &str, field: &str) -> Result<Url> {
        self.policy.check_url(url, field)
    }

    /// The timeout a call asked for in `field` (milliseconds), or the
    /// default.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming `field` for 0 or more than the limit.
    pub fn timeout(&self, asked_ms: Option<u64>, field: &str) -> Result<Duration> {
        let max = self.limits.timeout;
        match asked_ms {
            None => Ok(max),
            Some(ms) if ms == 0 || u128::from(ms) > max.as_millis() => Err(Error::invalid_input(
                field,
                format!(
                    "expected 1 to {} milliseconds (the configured `net_timeout_ms`), got {ms}",
                    max.as_millis()
                ),
            )),
            Some(ms) => Ok(Duration::from_millis(ms)),
        }
    }

    /// The body cap a call asked for in `field`, or the default.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming `field` for 0 or more than the limit.
    pub fn max_bytes(&self, asked: Option<u64>, field: &str) -> Result<u64> {
        let max = self.limits.max_response_bytes;
        match asked {
            None => Ok(max),
            Some(n) if n == 0 || n > max => Err(Error::invalid_input(
                field,
                format!(
                    "expected 1 to {max} bytes (the configured `net_max_response_bytes`), got {n}"
                ),
            )),
            Some(n) => Ok(n),
        }
    }

    /// The redirect limit a call asked for in `field`, or the default.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming `field` for more than the limit.
    pub fn redirects(&self, asked: Option<u64>, field: &str) -> Result<Redirects> {
        let max = self.limits.max_redirects;
        match asked {
            None => Ok(Redirects::follow(max)),
            Some(n) if n > max as u64 => Err(Error::invalid_input(
                field,
                format!("expected 0 to {max} (the configured `net_max_redirects`), got {n}"),
            )),
            Some(n) => Ok(Redirects::follow(n as usize)),
        }
    }

    /// The reqwest client for `redirects`, built on first use.
    ///
    /// # Errors
    /// [`Error::External`] when the TLS backend cannot start.
    pub fn client(&self, redirects: Redirects) -> Result<reqwest::Client> {
        let mut clients = self.clients.lock();
        if let Some(c) = clients.get(&redirects) {
            return Ok(c.clone());
        }
        let client = reqwest::Client::builder()
            .no_proxy()
            .dns_resolver(PolicyResolver {
                policy: self.policy.clone(),
            })
            .redirect(redirect_policy(self.policy.clone(), redirects))
            .connect_timeout(self.limits.connect_timeout)
            .referer(false)
            .user_agent(&*self.user_agent)
            .build()
            .map_err(|e| Error::External {
                service: "http".to_owned(),
                message: format!("the HTTP client cannot start: {}", root_cause(&e)),
                retryable: false,
                source: None,
            })?;
        clients.insert(redirects, client.clone());
        Ok(client)
    }

    /// A request to `url` (checked with [`check_url`](Self::check_url)).
    ///
    /// # Errors
    /// As [`client`](Self::client).
    pub fn request(
        &self,
        method: reqwest::Method,
        url: Url,
        redirects: Redirects,
    ) -> Result<reqwest::RequestBuilder> {
        Ok(self.client(redirects)?.request(method, url))
    }

    /// Sends `request`, which must come from [`request`](Self::request),
    /// with a total time limit of `timeout` (body included).
    ///
    /// # Errors
    /// [`Error::SecurityViolation`] for a refused address or redirect;
    /// [`Error::Timeout`]; [`Error::External`] (service `http`) for a
    /// connection failure (retryable), a redirect loop or too many
    /// redirects, or another transport error.
    pub async fn send(
        &self,
        request: reqwest::RequestBuilder,
        timeout: Duration,
    ) -> Result<SafeResponse> {
        let (client, request) = request.timeout(timeout).build_split();
        let request = request.map_err(|e| Error::invalid_input("url", root_cause(&e)))?;
        let what = format!("{} {}", request.method(), request.url());
        let head = request.method() == reqwest::Method::HEAD;
        let started = std::time::Instant::now();
        match client.execute(request).await {
            Ok(response) => Ok(SafeResponse::new(response, what, timeout, started, head)),
            Err(e) => Err(map_error(&e, &what, timeout)),
        }
    }
}

/// The redirect policy of a client: each hop is checked by the policy;
/// loops and hops past the limit are errors.
fn redirect_policy(policy: NetPolicy, redirects: Redirects) -> reqwest::redirect::Policy {
    if redirects.max == 0 {
        return reqwest::redirect::Policy::none();
    }
    reqwest::redirect::Policy::custom(move |attempt| {
        let next = attempt.url().clone();
        if let Err(e) = policy.check_redirect(&next) {
            return attempt.error(e);
        }
        let previous = attempt.previous();
        if previous.contains(&next) {
            let hops = previous.len();
            return attempt.error(Error::External {
                service: "http".to_owned(),
                message: format!(
                    "redirect loop: `{next}` was already visited (after {hops} redirect{})",
                    if hops == 1 { "" } else { "s" }
                ),
                retryable: false,
                source: None,
            });
        }
        if previous.len() > redirects.max {
            return attempt.error(Error::External {
                service: "http".to_owned(),
                message: format!(
                    "too many redirects: more than {} (the limit; see `max_redirects`), next \
                     was `{next}`",
                    redirects.max
                ),
                retryable: false,
                source: None,
            });
        }
        if redirects.same_origin_only
            && previous
                .first()
                .is_some_and(|first| first.origin() != next.origin())
        {
            return attempt.stop();
        }
        attempt.follow()
    })
}

/// A reqwest error as the project's error: our own errors (a refusal from
/// the resolver or the redirect policy) come back as they were raised.
pub(crate) fn map_error(e: &reqwest::Error, what: &str, timeout: Duration) -> Error {
    let mut cause: Option<&(dyn StdError + 'static)> = Some(e);
    while let Some(c) = cause {
        if let Some(ours) = c.downcast_ref::<Error>() {
            return ours.clone();
        }
        cause = c.source();
    }
    if e.is_timeout() {
        return Error::Timeout {
            operation: what.to_owned(),
            after: timeout,
        };
    }
    let (message, retryable) = if e.is_connect() {
        (
            format!("cannot connect for {what}: {}", root_cause(e)),
            true,
        )
    } else {
        (format!("{what} failed: {}", root_cause(e)), e.is_request())
    };
    Error::External {
        service: "http".to_owned(),
        message,
        retryable,
        source: None,
    }
}

/// The innermost cause of an error, which says what actually failed.
pub(crate) fn root_cause(e: &(dyn StdError + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}
