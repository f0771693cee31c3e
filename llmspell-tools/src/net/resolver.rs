//! Name resolution: the system resolver, a fixed table, and the adapter that
//! makes reqwest resolve through a [`NetPolicy`](super::NetPolicy).

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use futures::future::BoxFuture;

use super::hosts::normalize_host;
use super::policy::NetPolicy;

/// Turns a host name into IP addresses. [`NetPolicy`] asks it for every
/// name it resolves and then filters what it answers, so a resolver needs no
/// checks of its own.
///
/// The default is [`SystemResolver`]; [`StaticResolver`] answers from a
/// fixed table (for tests, or for hosts whose addresses are known).
pub trait HostResolver: Send + Sync + fmt::Debug {
    /// The addresses of `host` (a name, never an IP address).
    fn lookup<'a>(&'a self, host: &'a str) -> BoxFuture<'a, io::Result<Vec<IpAddr>>>;
}

/// The operating system's resolver (`getaddrinfo`, on a blocking thread).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemResolver;

impl HostResolver for SystemResolver {
    fn lookup<'a>(&'a self, host: &'a str) -> BoxFuture<'a, io::Result<Vec<IpAddr>>> {
        Box::pin(async move {
            let addrs = tokio::net::lookup_host((host, 0)).await?;
            let mut ips: Vec<IpAddr> = Vec::new();
            for addr in addrs {
                if !ips.contains(&addr.ip()) {
                    ips.push(addr.ip());
                }
            }
            Ok(ips)
        })
    }
}

/// Answers from a fixed table of names (case-insensitive); any other name
/// does not exist.
///
/// ```
/// use std::sync::Arc;
/// use llmspell_tools::net::{NetPolicy, StaticResolver};
///
/// let resolver = StaticResolver::new([("intranet.test", vec!["10.1.2.3".parse().unwrap()])]);
/// let policy = NetPolicy::new(["*"]).with_resolver(Arc::new(resolver));
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let err = policy.resolve("intranet.test", 80).await.unwrap_err();
/// assert!(err.to_string().contains("private"), "{err}");
/// # });
/// ```
#[derive(Debug, Clone, Default)]
pub struct StaticResolver {
    table: HashMap<String, Vec<IpAddr>>,
}

impl StaticResolver {
    /// A resolver answering `entries` (name, addresses).
    pub fn new<I, S>(entries: I) -> Self
    where
        I: IntoIterator<Item = (S, Vec<IpAddr>)>,
        S: AsRef<str>,
    {
        Self {
            table: entries
                .into_iter()
                .map(|(name, ips)| (normalize_host(name.as_ref()), ips))
                .collect(),
        }
    }
}

impl HostResolver for StaticResolver {
    fn lookup<'a>(&'a self, host: &'a str) -> BoxFuture<'a, io::Result<Vec<IpAddr>>> {
        let found = self.table.get(&normalize_host(host)).cloned();
        Box::pin(async move {
            found.ok_or_else(|| {
                io::Error::new(io::ErrorKind::NotFound, format!("no such host `{host}`"))
            })
        })
    }
}

/// reqwest's resolver for clients built by [`SafeClient`](super::SafeClient):
/// every name a connection needs goes through [`NetPolicy::resolve`], so the
/// addresses connected to are the ones checked.
#[derive(Debug, Clone)]
pub(crate) struct PolicyResolver {
    pub(crate) policy: NetPolicy,
}

impl reqwest::dns::Resolve for PolicyResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            // Port 0: reqwest substitutes the URL's port.
            let addrs = policy
                .resolve(&host, 0)
                .await
                .map_err(|e| -> Box<dyn std::error::Error + Send + Sync> { Box::new(e) })?;
            let addrs: reqwest::dns::Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

/// The resolver a policy uses when none is given.
pub(crate) fn system() -> Arc<dyn HostResolver> {
    Arc::new(SystemResolver)
}

/// `addrs` with `port`.
pub(crate) fn with_port(ips: &[IpAddr], port: u16) -> Vec<SocketAddr> {
    ips.iter().map(|ip| SocketAddr::new(*ip, port)).collect()
}
