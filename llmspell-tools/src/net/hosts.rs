//! Host names: the allow-list, names that are refused whatever it says, and
//! numeric hosts written in other spellings than the canonical one.

use std::net::{IpAddr, Ipv6Addr};
use std::str::FromStr;
use std::sync::Arc;

use llmspell_core::{Error, Result};

/// Host names of cloud instance-metadata services: GCP's
/// `metadata.google.internal` and `metadata.goog`, the bare `metadata`, and
/// AWS's `instance-data` and `instance-data.ec2.internal`. They are refused
/// unless `allowed_hosts` names them exactly (a wildcard does not count).
pub const METADATA_HOSTS: [&str; 5] = [
    "metadata.google.internal",
    "metadata.goog",
    "metadata",
    "instance-data",
    "instance-data.ec2.internal",
];

/// The hosts network tools may contact, as configured in `allowed_hosts`:
/// an exact name or address (`api.example.com`, `127.0.0.1`, `[::1]`),
/// `*.example.com` for the subdomains of `example.com` (not the domain
/// itself), or `*` for every host. Matching ignores case and a trailing dot.
///
/// An entry that is an IP address, or the exact entry `localhost`, is also
/// an explicit allowance of that address (of the loopback addresses, for
/// `localhost`) by [`NetPolicy`](super::NetPolicy): naming an internal host
/// exactly is as explicit as listing it in `allowed_addresses`. A wildcard
/// allows names, never internal addresses.
///
/// ```
/// use llmspell_tools::net::HostAllowList;
///
/// let hosts = HostAllowList::new(["api.example.com", "*.example.org"]);
/// assert!(hosts.allows("API.example.com"));
/// assert!(hosts.allows("docs.example.org"));
/// assert!(!hosts.allows("example.org"));
/// assert!(!hosts.allows("example.org.evil.test"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostAllowList {
    entries: Arc<[String]>,
    named: Arc<[IpAddr]>,
}

impl HostAllowList {
    /// The allow-list of `entries`.
    pub fn new<I, S>(entries: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let entries: Vec<String> = entries
            .into_iter()
            .map(|h| normalize_host(&h.into()))
            .collect();
        let named = entries
            .iter()
            .filter_map(|e| IpAddr::from_str(e).ok())
            .collect();
        Self {
            entries: entries.into(),
            named,
        }
    }

    /// The entries, lowercased.
    pub fn entries(&self) -> &[String] {
        &self.entries
    }

    /// Whether no host is allowed.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether `host` (a name, an IPv4 address or an IPv6 address with or
    /// without brackets) matches an entry.
    pub fn allows(&self, host: &str) -> bool {
        let host = normalize_host(host);
        let ip = IpAddr::from_str(&host).ok();
        self.entries.iter().any(|entry| {
            entry == "*"
                || *entry == host
                || (ip.is_some() && IpAddr::from_str(entry).ok() == ip)
                || entry
                    .strip_prefix("*.")
                    .is_some_and(|domain| host.ends_with(&format!(".{domain}")))
        })
    }

    /// Whether an entry names `host` exactly (not through a wildcard).
    pub fn names_exactly(&self, host: &str) -> bool {
        let host = normalize_host(host);
        self.entries.contains(&host)
    }

    /// The IP addresses entries name exactly.
    pub fn named_addresses(&self) -> &[IpAddr] {
        &self.named
    }

    /// `Ok` when `host` is allowed.
    ///
    /// # Errors
    /// [`Error::SecurityViolation`] naming the host and the allow-list (or
    /// saying that none is configured).
    pub fn check(&self, host: &str) -> Result<()> {
        if self.allows(host) {
            return Ok(());
        }
        let host = host.trim_start_matches('[').trim_end_matches(']');
        Err(Error::SecurityViolation {
            message: if self.entries.is_empty() {
                format!("host `{host}` refused: no hosts are allowed (configure `allowed_hosts`)")
            } else {
                format!(
                    "host `{host}` is not in the allow-list [{}] (configure `allowed_hosts`)",
                    self.entries.join(", ")
                )
            },
        })
    }
}

/// Lowercases `host`, drops IPv6 brackets and one trailing dot.
pub(crate) fn normalize_host(host: &str) -> String {
    let host = host.trim();
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase()
}

/// Whether `host` is a cloud metadata host name ([`METADATA_HOSTS`]).
pub fn is_metadata_host(host: &str) -> bool {
    let host = normalize_host(host);
    METADATA_HOSTS.contains(&host.as_str())
}

/// Whether `host` is `localhost` or a name under `.localhost`, which always
/// mean this host (RFC 6761) and are answered without DNS.
pub fn is_localhost_name(host: &str) -> bool {
    let host = normalize_host(host);
    host == "localhost" || host.ends_with(".localhost")
}

/// Reads `host` as an IP address when it is one in canonical form: a
/// dotted-quad IPv4 address, or an IPv6 address with or without brackets.
/// `Ok(None)` for a name.
///
/// # Errors
/// A message when `host` is an IPv4 address in another spelling that
/// resolvers and browsers accept: decimal (`2130706433`), octal (`0177.0.0.1`),
/// hexadecimal (`0x7f.1`), fewer than four parts (`127.1`), a trailing dot,
/// percent-encoding or full-width digits. Such a host is refused outright.
pub fn canonical_ip(host: &str) -> std::result::Result<Option<IpAddr>, String> {
    let trimmed = host.trim();
    if let Some(inner) = trimmed.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return Ipv6Addr::from_str(inner)
            .map(|ip| Some(IpAddr::V6(ip)))
            .map_err(|_| format!("`{host}` is not an IPv6 address"));
    }
    if let Ok(ip) = IpAddr::from_str(trimmed) {
        return Ok(Some(ip));
    }
    match url::Host::parse(trimmed) {
        Ok(url::Host::Ipv4(ip)) => Err(non_canonical(host, ip.into())),
        Ok(url::Host::Ipv6(ip)) => Ok(Some(IpAddr::V6(ip))),
        _ => Ok(None),
    }
}

pub(crate) fn non_canonical(written: &str, ip: IpAddr) -> String {
    format!(
        "host `{written}` is a non-canonical spelling of the IP address {ip} (decimal, octal, \
         hexadecimal, shortened or encoded forms are refused; write the address as {ip})"
    )
}

/// The host of a URL as written, before any parser rewrote it: what
/// follows the scheme's `:` and slashes, up to the path, with user
/// information and port removed. `None` when there is no authority.
pub(crate) fn raw_url_host(url: &str) -> Option<&str> {
    let (_, rest) = url.trim().split_once(':')?;
    let rest = rest.trim_start_matches(['/', '\\']);
    let end = rest.find(['/', '\\', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if host_port.starts_with('[') {
        return host_port.find(']').map(|i| &host_port[..=i]);
    }
    Some(host_port.rsplit_once(':').map_or(host_port, |(h, _)| h))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn allow_list_matching() {
        let list = HostAllowList::new(["localhost", "*.example.com", "127.0.0.1", "[::1]"]);
        assert!(list.allows("LOCALHOST"));
        assert!(list.allows("localhost."));
        assert!(list.allows("api.example.com"));
        assert!(!list.allows("example.com"));
        assert!(!list.allows("example.com.evil.net"));
        assert!(!list.allows("evil.com"));
        assert!(list.allows("[::1]"));
        assert!(list.allows("0:0::1"));
        assert!(HostAllowList::new(["*"]).allows("anything.test"));
        assert_eq!(
            list.named_addresses(),
            [
                "127.0.0.1".parse::<IpAddr>().unwrap(),
                "::1".parse().unwrap()
            ]
        );
        assert!(list.names_exactly("LocalHost"));
        assert!(!list.names_exactly("api.example.com"));
    }

    #[test]
    fn refusals_name_the_host_and_the_list() {
        let err = HostAllowList::new(["localhost"])
            .check("127.0.0.1")
            .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("`127.0.0.1`") && msg.contains("[localhost]"),
            "{msg}"
        );
        let err = HostAllowList::default().check("x.test").unwrap_err();
        assert!(err.to_string().contains("no hosts are allowed"), "{err}");
    }

    #[test]
    fn numeric_spellings_are_refused() {
        for host in [
            "2130706433",
            "0177.0.0.1",
            "0x7f.1",
            "0x7f000001",
            "127.1",
            "127.0.0.1.",
            "017700000001",
            "0",
        ] {
            let err = canonical_ip(host).unwrap_err();
            assert!(err.contains("non-canonical"), "{host}: {err}");
        }
        assert_eq!(
            canonical_ip("127.0.0.1").unwrap(),
            Some("127.0.0.1".parse().unwrap())
        );
        assert_eq!(canonical_ip("[::1]").unwrap(), Some("::1".parse().unwrap()));
        assert_eq!(canonical_ip("::1").unwrap(), Some("::1".parse().unwrap()));
        assert_eq!(canonical_ip("example.com").unwrap(), None);
    }

    #[test]
    fn raw_hosts_are_read_as_written() {
        assert_eq!(raw_url_host("http://0x7f.1:8080/x"), Some("0x7f.1"));
        assert_eq!(
            raw_url_host("http://user:pw@2130706433/"),
            Some("2130706433")
        );
        assert_eq!(raw_url_host("http:\\\\0177.0.0.1\\x"), Some("0177.0.0.1"));
        assert_eq!(
            raw_url_host("http://[::ffff:127.0.0.1]:80/"),
            Some("[::ffff:127.0.0.1]")
        );
        assert_eq!(raw_url_host("https://Example.COM?q"), Some("Example.COM"));
        assert!(is_metadata_host("Metadata.Google.Internal."));
        assert!(is_localhost_name("api.localhost"));
        assert!(!is_localhost_name("localhost.example.com"));
    }
}
