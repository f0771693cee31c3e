//! [`NetPolicy`]: which hosts and addresses the network tools may reach.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use llmspell_core::{Error, Result};
use tokio::net::TcpStream;
use url::Url;

use super::address::{AddressAllowList, AddressKind, classify};
use super::hosts::{
    HostAllowList, canonical_ip, is_localhost_name, is_metadata_host, non_canonical,
    normalize_host, raw_url_host,
};
use super::resolver::{HostResolver, system, with_port};

/// What the network tools may reach: the hosts of an allow-list, at
/// addresses that are public or explicitly allowed.
///
/// Every check a networked tool needs goes through one value of this type:
///
/// - [`check_url`](Self::check_url) for a URL a caller passes (scheme, host
///   allow-list, numeric spellings, a literal address);
/// - [`check_redirect`](Self::check_redirect) for each redirect hop (the
///   HTTP client of [`SafeClient`](super::SafeClient) calls it);
/// - [`resolve`](Self::resolve) to turn a host and port into the socket
///   addresses that may be connected to: the name is checked, resolved, and
///   every refused address dropped (an error when none is left). HTTP
///   clients of [`SafeClient`](super::SafeClient) resolve through it, so the
///   address checked is the address connected to (no DNS rebinding between
///   check and use); non-HTTP clients (SMTP, PostgreSQL) call it or
///   [`connect_tcp`](Self::connect_tcp) themselves.
///
/// Refused (unless allowed): hosts not on `allowed_hosts`; cloud metadata
/// host names ([`METADATA_HOSTS`](super::METADATA_HOSTS)) unless named
/// exactly; IPv4 addresses written in a non-canonical spelling (always);
/// addresses of every [`AddressKind`] (loopback, private, link-local,
/// CGNAT, metadata, multicast, ...), including IPv4-mapped and compatible
/// IPv6 forms of them, unless `allowed_addresses` or an exact
/// `allowed_hosts` entry allows them. Refusals are
/// [`Error::SecurityViolation`]s whose message names the host or address,
/// the reason and the setting that would allow it.
///
/// ```
/// use llmspell_tools::net::NetPolicy;
///
/// let policy = NetPolicy::new(["*"]);
/// assert!(policy.check_url("https://example.com/a", "url").is_ok());
/// let err = policy.check_url("http://127.0.0.1:8080/", "url").unwrap_err();
/// assert!(err.to_string().contains("loopback"), "{err}");
/// let err = policy.check_url("http://0x7f.1/", "url").unwrap_err();
/// assert!(err.to_string().contains("non-canonical"), "{err}");
///
/// let local = NetPolicy::new(["127.0.0.1"]); // an exact address entry allows it
/// assert!(local.check_url("http://127.0.0.1:8080/", "url").is_ok());
/// let lan = NetPolicy::new(["*"]).with_allowed_addresses(["10.0.0.0/8"]);
/// assert!(lan.check_url("http://10.1.2.3/", "url").is_ok());
/// ```
#[derive(Clone)]
pub struct NetPolicy {
    hosts: HostAllowList,
    addresses: AddressAllowList,
    resolver: Arc<dyn HostResolver>,
    config_error: Option<Arc<str>>,
}

impl fmt::Debug for NetPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NetPolicy")
            .field("hosts", &self.hosts.entries())
            .field("addresses", &self.addresses.entries())
            .field("resolver", &self.resolver)
            .field("config_error", &self.config_error)
            .finish()
    }
}

impl Default for NetPolicy {
    /// The same as [`NetPolicy::deny_all`].
    fn default() -> Self {
        Self::deny_all()
    }
}

impl NetPolicy {
    /// Allows the hosts `allowed_hosts` (see [`HostAllowList`]) at public
    /// addresses; resolves with the system resolver.
    pub fn new<I, S>(allowed_hosts: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            hosts: HostAllowList::new(allowed_hosts),
            addresses: AddressAllowList::none(),
            resolver: system(),
            config_error: None,
        }
    }

    /// Allows nothing.
    pub fn deny_all() -> Self {
        Self::new(Vec::<String>::new())
    }

    /// Also allows the internal addresses `entries` name (see
    /// [`AddressAllowList::parse`]). An invalid entry makes every check
    /// fail with its message, so a typo never widens what is allowed; see
    /// [`config_error`](Self::config_error).
    #[must_use]
    pub fn with_allowed_addresses<I, S>(mut self, entries: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        match AddressAllowList::parse(entries) {
            Ok(list) => self.addresses = list,
            Err(e) => self.config_error = Some(e.into()),
        }
        self
    }

    /// Also allows the addresses of `list`.
    #[must_use]
    pub fn with_address_allow_list(mut self, list: AddressAllowList) -> Self {
        self.addresses = list;
        self
    }

    /// Resolves names with `resolver` instead of the system's.
    #[must_use]
    pub fn with_resolver(mut self, resolver: Arc<dyn HostResolver>) -> Self {
        self.resolver = resolver;
        self
    }

    /// The host allow-list.
    pub fn hosts(&self) -> &HostAllowList {
        &self.hosts
    }

    /// The allowed internal addresses.
    pub fn addresses(&self) -> &AddressAllowList {
        &self.addresses
    }

    /// Why the configuration is unusable (an invalid `allowed_addresses`
    /// entry), when it is; every check then fails with this message.
    pub fn config_error(&self) -> Option<&str> {
        self.config_error.as_deref()
    }

    fn check_config(&self) -> Result<()> {
        match &self.config_error {
            Some(e) => Err(Error::SecurityViolation {
                message: format!("network access refused: {e}"),
            }),
            None => Ok(()),
        }
    }

    /// Checks a host as a caller wrote it (a name or an IP address, IPv6
    /// with or without brackets): the numeric spelling, the allow-list,
    /// metadata names, and for an IP address the address itself. Returns
    /// the address when the host is one.
    ///
    /// # Errors
    /// [`Error::SecurityViolation`] naming the reason.
    pub fn check_host(&self, host: &str) -> Result<Option<IpAddr>> {
        self.check_config()?;
        let ip = canonical_ip(host).map_err(|message| Error::SecurityViolation { message })?;
        self.hosts.check(host)?;
        if ip.is_none() && is_metadata_host(host) && !self.hosts.names_exactly(host) {
            return Err(Error::SecurityViolation {
                message: format!(
                    "host `{}` is a cloud metadata service: refused unless `allowed_hosts` names \
                     it exactly",
                    normalize_host(host)
                ),
            });
        }
        if let Some(ip) = ip {
            self.check_ip(ip)?;
        }
        Ok(ip)
    }

    /// Checks one address.
    ///
    /// # Errors
    /// [`Error::SecurityViolation`] naming the address, its kind and how to
    /// allow it.
    pub fn check_ip(&self, ip: IpAddr) -> Result<()> {
        self.check_config()?;
        match self.refusal(ip, None) {
            Some(message) => Err(Error::SecurityViolation { message }),
            None => Ok(()),
        }
    }

    /// Whether `ip` may be connected to (reached through the name `via`,
    /// when there is one); the reason when not.
    fn refusal(&self, ip: IpAddr, via: Option<&str>) -> Option<String> {
        let class = classify(ip);
        let kind = class.kind?;
        // An IPv4-mapped or -compatible form reaches the IPv4 address it
        // carries: what allows one allows the other. NAT64 and 6to4 need an
        // allowance of their own.
        let carried = class
            .embedded_v4
            .filter(|_| !matches!(kind, AddressKind::Nat64 | AddressKind::SixToFour))
            .map(IpAddr::V4);
        let candidates = [Some(ip), carried];
        let allowed = candidates
            .iter()
            .flatten()
            .any(|a| self.addresses.allows(*a) || self.hosts.named_addresses().contains(a));
        let localhost = kind == AddressKind::Loopback
            && via.is_some_and(|h| normalize_host(h) == "localhost")
            && self.hosts.names_exactly("localhost");
        if allowed || localhost {
            return None;
        }
        let embedded = match (class.embedded_v4, kind) {
            (Some(v4), AddressKind::Nat64 | AddressKind::SixToFour) => {
                format!(" (it embeds the IPv4 address {v4})")
            }
            (Some(v4), _) => format!(" (the IPv6 form of {v4})"),
            (None, _) => String::new(),
        };
        let how = if kind == AddressKind::CloudMetadata {
            format!("only an `allowed_addresses` entry naming \"{ip}\" exactly allows it")
        } else {
            match kind.keyword() {
                Some(k) => format!("allow it in `allowed_addresses`: \"{ip}\" or \"{k}\""),
                None => format!("allow it in `allowed_addresses`: \"{ip}\" or a range"),
            }
        };
        Some(format!("address {ip} is {kind}{embedded}: refused ({how})"))
    }

    /// Parses and checks a URL a caller passed as `field`: `http` or
    /// `https`, a host, a canonical spelling when the host is an IPv4
    /// address, and [`check_host`](Self::check_host).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming `field` for a malformed URL or another
    /// scheme; [`Error::SecurityViolation`] for a refused host or address.
    pub fn check_url(&self, url: &str, field: &str) -> Result<Url> {
        let parsed = Url::parse(url.trim()).map_err(|e| {
            Error::invalid_input(field, format!("expected an absolute http(s) URL: {e}"))
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(Error::invalid_input(
                field,
                format!(
                    "expected an http or https URL, got scheme `{}`",
                    parsed.scheme()
                ),
            ));
        }
        if let Some(url::Host::Ipv4(ip)) = parsed.host() {
            let written = raw_url_host(url).unwrap_or_default();
            if !written.eq_ignore_ascii_case(&ip.to_string()) {
                self.check_config()?;
                return Err(Error::SecurityViolation {
                    message: non_canonical(written, IpAddr::V4(ip)),
                });
            }
        }
        self.check_parsed(&parsed)
            .map_err(|e| with_field_hint(e, field))?;
        Ok(parsed)
    }

    /// Checks the target of a redirect: `http` or `https`, and its host as
    /// [`check_host`](Self::check_host) does.
    ///
    /// # Errors
    /// [`Error::SecurityViolation`] naming the target and the reason.
    pub fn check_redirect(&self, next: &Url) -> Result<()> {
        if !matches!(next.scheme(), "http" | "https") {
            return Err(Error::SecurityViolation {
                message: format!("redirect to `{next}` refused: only http and https are followed"),
            });
        }
        self.check_parsed(next).map_err(|e| match e {
            Error::SecurityViolation { message } => Error::SecurityViolation {
                message: format!("redirect to `{next}` refused: {message}"),
            },
            other => other,
        })
    }

    fn check_parsed(&self, url: &Url) -> Result<()> {
        let host = match url.host() {
            Some(url::Host::Domain(d)) => d.to_owned(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => format!("[{ip}]"),
            None => {
                return Err(Error::invalid_input("url", "the URL has no host"));
            }
        };
        self.check_host(&host).map(drop)
    }

    /// The socket addresses of `host` at `port` that may be connected to:
    /// the host is checked as by [`check_host`](Self::check_host), a name
    /// is resolved (`localhost` and `*.localhost` to the loopback addresses,
    /// without DNS; others with the policy's resolver), and every refused
    /// address is dropped. For clients other than HTTP (SMTP, databases):
    /// connect only to what this returns.
    ///
    /// # Errors
    /// [`Error::SecurityViolation`] for a refused host, or when every
    /// address it resolves to is refused (naming them and why);
    /// [`Error::External`] (service `dns`, retryable) when resolution fails.
    pub async fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>> {
        if let Some(ip) = self.check_host(host)? {
            return Ok(vec![SocketAddr::new(ip, port)]);
        }
        let name = normalize_host(host);
        let ips = if is_localhost_name(&name) {
            vec![
                IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(Ipv6Addr::LOCALHOST),
            ]
        } else {
            self.resolver
                .lookup(&name)
                .await
                .map_err(|e| Error::External {
                    service: "dns".to_owned(),
                    message: format!("cannot resolve host `{name}`: {e}"),
                    retryable: true,
                    source: None,
                })?
        };
        let mut allowed = Vec::new();
        let mut refused = Vec::new();
        for ip in ips {
            match self.refusal(ip, Some(&name)) {
                None => allowed.push(ip),
                Some(why) => refused.push(why),
            }
        }
        if allowed.is_empty() {
            return Err(Error::SecurityViolation {
                message: if refused.is_empty() {
                    format!("host `{name}` resolves to no address")
                } else {
                    format!(
                        "host `{name}` resolves only to refused addresses: {}",
                        refused.join("; ")
                    )
                },
            });
        }
        if !refused.is_empty() {
            tracing::debug!(host = %name, refused = ?refused, "dropped refused addresses");
        }
        Ok(with_port(&allowed, port))
    }

    /// Opens a TCP connection to `host:port` through [`resolve`](Self::resolve):
    /// each allowed address is tried in turn, all within `timeout`.
    ///
    /// # Errors
    /// As [`resolve`](Self::resolve); [`Error::Timeout`] when `timeout`
    /// passes; [`Error::External`] (service `tcp`, retryable) naming every
    /// address tried and why it failed.
    pub async fn connect_tcp(&self, host: &str, port: u16, timeout: Duration) -> Result<TcpStream> {
        let attempt = async {
            let addrs = self.resolve(host, port).await?;
            let mut failures = Vec::new();
            for addr in addrs {
                match TcpStream::connect(addr).await {
                    Ok(stream) => return Ok(stream),
                    Err(e) => failures.push(format!("{addr}: {e}")),
                }
            }
            Err(Error::External {
                service: "tcp".to_owned(),
                message: format!("cannot connect to {host}:{port}: {}", failures.join("; ")),
                retryable: true,
                source: None,
            })
        };
        tokio::time::timeout(timeout, attempt)
            .await
            .unwrap_or_else(|_| {
                Err(Error::Timeout {
                    operation: format!("connect to {host}:{port}"),
                    after: timeout,
                })
            })
    }
}

/// A host error from a URL field keeps its message; an input error about
/// the URL names the caller's field.
fn with_field_hint(e: Error, field: &str) -> Error {
    match e {
        Error::InvalidInput { message, .. } => Error::invalid_input(field, message),
        other => other,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::net::StaticResolver;

    fn violation(r: Result<impl fmt::Debug>) -> String {
        match r {
            Err(Error::SecurityViolation { message }) => message,
            other => panic!("expected a security violation, got {other:?}"),
        }
    }

    #[test]
    fn literal_addresses_are_classified() {
        let p = NetPolicy::new(["*"]);
        for (url, reason) in [
            ("http://127.0.0.1/", "loopback"),
            ("http://[::1]/", "loopback"),
            ("http://[::ffff:127.0.0.1]/", "the IPv6 form of 127.0.0.1"),
            ("http://0.0.0.0/", "unspecified"),
            ("http://10.0.0.1/", "private"),
            ("http://[fd00::1]/", "unique local"),
            ("http://169.254.169.254/latest/meta-data/", "cloud metadata"),
            ("http://[fd00:ec2::254]/", "cloud metadata"),
            ("http://100.64.1.1/", "CGNAT"),
            ("http://[64:ff9b::a9fe:a9fe]/", "NAT64"),
            ("http://224.0.0.1/", "multicast"),
            ("http://255.255.255.255/", "broadcast"),
            ("http://2130706433/", "non-canonical"),
            ("http://0177.0.0.1/", "non-canonical"),
            ("http://0x7f.1/", "non-canonical"),
            ("http://127.1/", "non-canonical"),
            ("http://metadata.google.internal/", "metadata service"),
        ] {
            let msg = violation(p.check_url(url, "url"));
            assert!(msg.contains(reason), "{url}: {msg}");
        }
        assert!(p.check_url("https://example.com/", "url").is_ok());
        assert!(p.check_url("http://[2606:4700::1111]/", "url").is_ok());
    }

    #[test]
    fn allowances_are_explicit() {
        let p = NetPolicy::new(["*"]).with_allowed_addresses(["loopback", "10.0.0.0/8"]);
        assert!(p.check_url("http://127.0.0.1/", "url").is_ok());
        assert!(p.check_url("http://[::ffff:127.0.0.1]/", "url").is_ok());
        assert!(p.check_url("http://10.9.9.9/", "url").is_ok());
        violation(p.check_url("http://192.168.0.1/", "url"));
        // Non-canonical spellings stay refused even for an allowed address.
        violation(p.check_url("http://2130706433/", "url"));
        // A range does not allow a metadata address.
        let p = NetPolicy::new(["*"]).with_allowed_addresses(["link_local"]);
        assert!(p.check_url("http://169.254.1.1/", "url").is_ok());
        violation(p.check_url("http://169.254.169.254/", "url"));
        // An invalid entry refuses everything, with its message.
        let p = NetPolicy::new(["*"]).with_allowed_addresses(["10.0.0.0/40"]);
        let msg = violation(p.check_url("https://example.com/", "url"));
        assert!(msg.contains("10.0.0.0/40"), "{msg}");
    }

    #[test]
    fn urls_are_input_errors_when_malformed() {
        let p = NetPolicy::new(["*"]);
        for url in ["not a url", "ftp://example.com/", "/relative"] {
            match p.check_url(url, "endpoint") {
                Err(Error::InvalidInput { field, .. }) => assert_eq!(field, "endpoint"),
                other => panic!("{url}: {other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn names_are_resolved_then_filtered() {
        let resolver = StaticResolver::new([
            ("intranet.test", vec!["10.1.2.3".parse().unwrap()]),
            (
                "mixed.test",
                vec![
                    "10.1.2.3".parse().unwrap(),
                    "93.184.216.34".parse().unwrap(),
                ],
            ),
            (
                "mapped.test",
                vec!["::ffff:169.254.169.254".parse().unwrap()],
            ),
        ]);
        let p = NetPolicy::new(["*"]).with_resolver(Arc::new(resolver));
        let msg = violation(p.resolve("intranet.test", 80).await);
        assert!(
            msg.contains("resolves only to refused") && msg.contains("private"),
            "{msg}"
        );
        let msg = violation(p.resolve("mapped.test", 80).await);
        assert!(msg.contains("cloud metadata"), "{msg}");
        assert_eq!(
            p.resolve("mixed.test", 443).await.unwrap(),
            vec!["93.184.216.34:443".parse::<SocketAddr>().unwrap()]
        );
        let msg = violation(p.resolve("localhost", 80).await);
        assert!(msg.contains("loopback"), "{msg}");
        match p.resolve("missing.test", 80).await {
            Err(Error::External { service, .. }) => assert_eq!(service, "dns"),
            other => panic!("{other:?}"),
        }
        // `localhost` named exactly allows its loopback addresses.
        let p = NetPolicy::new(["localhost"]);
        assert_eq!(p.resolve("localhost", 5).await.unwrap().len(), 2);
        violation(p.check_url("http://127.0.0.1/", "url"));
    }
}
