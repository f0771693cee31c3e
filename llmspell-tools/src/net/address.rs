//! Which IP addresses are internal, and which of them configuration allows.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use ipnet::IpNet;

/// Why an address is not a public unicast address. Every kind is refused by
/// [`NetPolicy`](super::NetPolicy) unless configuration allows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AddressKind {
    /// `0.0.0.0` and `::`: on most systems a connection to it reaches this
    /// host.
    Unspecified,
    /// `0.0.0.0/8` other than `0.0.0.0`: "this network".
    ThisNetwork,
    /// `127.0.0.0/8` and `::1`.
    Loopback,
    /// The RFC 1918 ranges `10.0.0.0/8`, `172.16.0.0/12`, `192.168.0.0/16`.
    Private,
    /// IPv6 unique local addresses, `fc00::/7`.
    UniqueLocal,
    /// The shared address space of carrier-grade NAT, `100.64.0.0/10`.
    SharedCgnat,
    /// `169.254.0.0/16` and `fe80::/10`.
    LinkLocal,
    /// IPv6 site-local addresses (deprecated), `fec0::/10`.
    SiteLocal,
    /// A cloud provider's instance metadata or platform endpoint (see
    /// [`METADATA_ADDRESSES`]).
    CloudMetadata,
    /// `224.0.0.0/4` and `ff00::/8`.
    Multicast,
    /// `255.255.255.255`.
    Broadcast,
    /// `240.0.0.0/4` (other than the broadcast address) and IPv6's
    /// discard-only prefix `100::/64`.
    Reserved,
    /// `192.0.0.0/24`, the IETF protocol assignments.
    ProtocolAssignments,
    /// Documentation ranges: `192.0.2.0/24`, `198.51.100.0/24`,
    /// `203.0.113.0/24`, `2001:db8::/32`, `3fff::/20`.
    Documentation,
    /// Benchmarking ranges: `198.18.0.0/15`, `2001:2::/48`.
    Benchmarking,
    /// The NAT64 prefixes `64:ff9b::/96` and `64:ff9b:1::/48`, which a
    /// translator turns into the IPv4 address they embed.
    Nat64,
    /// 6to4, `2002::/16`, which embeds an IPv4 address.
    SixToFour,
    /// Teredo, `2001::/32`, which tunnels to an IPv4 address.
    Teredo,
}

impl AddressKind {
    /// A short description for messages (`loopback`, `private (RFC 1918)`).
    pub fn describe(self) -> &'static str {
        match self {
            AddressKind::Unspecified => "unspecified (it reaches this host)",
            AddressKind::ThisNetwork => "\"this network\" (0.0.0.0/8)",
            AddressKind::Loopback => "loopback",
            AddressKind::Private => "private (RFC 1918)",
            AddressKind::UniqueLocal => "private (IPv6 unique local, fc00::/7)",
            AddressKind::SharedCgnat => "shared address space (CGNAT, 100.64.0.0/10)",
            AddressKind::LinkLocal => "link-local",
            AddressKind::SiteLocal => "site-local (fec0::/10)",
            AddressKind::CloudMetadata => "a cloud metadata endpoint",
            AddressKind::Multicast => "multicast",
            AddressKind::Broadcast => "broadcast",
            AddressKind::Reserved => "reserved",
            AddressKind::ProtocolAssignments => "IETF protocol assignments (192.0.0.0/24)",
            AddressKind::Documentation => "a documentation range",
            AddressKind::Benchmarking => "a benchmarking range",
            AddressKind::Nat64 => "NAT64 (64:ff9b::/96)",
            AddressKind::SixToFour => "6to4 (2002::/16)",
            AddressKind::Teredo => "Teredo (2001::/32)",
        }
    }

    /// The `allowed_addresses` keyword that allows this kind, if one does.
    pub fn keyword(self) -> Option<&'static str> {
        match self {
            AddressKind::Loopback => Some("loopback"),
            AddressKind::Private | AddressKind::UniqueLocal => Some("private"),
            AddressKind::LinkLocal => Some("link_local"),
            AddressKind::SharedCgnat => Some("shared"),
            _ => None,
        }
    }
}

impl fmt::Display for AddressKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// Addresses of cloud instance-metadata and platform services: AWS, GCP,
/// Azure, Oracle and DigitalOcean `169.254.169.254`, AWS ECS
/// `169.254.170.2`, AWS IPv6 `fd00:ec2::254`, Alibaba `100.100.100.200`,
/// Azure's platform wire server `168.63.129.16` and Oracle Cloud Classic
/// `192.0.0.192`. They are refused even when a wider range containing them
/// is allowed; only an `allowed_addresses` entry naming the address itself
/// (or an exact `allowed_hosts` entry) allows one.
pub const METADATA_ADDRESSES: [IpAddr; 6] = [
    IpAddr::V4(Ipv4Addr::new(169, 254, 169, 254)),
    IpAddr::V4(Ipv4Addr::new(169, 254, 170, 2)),
    IpAddr::V4(Ipv4Addr::new(100, 100, 100, 200)),
    IpAddr::V4(Ipv4Addr::new(168, 63, 129, 16)),
    IpAddr::V4(Ipv4Addr::new(192, 0, 0, 192)),
    IpAddr::V6(Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254)),
];

/// What an address is: its kind when it is not a public unicast address,
/// and the IPv4 address an IPv6 form stands for (IPv4-mapped
/// `::ffff:a.b.c.d`, IPv4-compatible `::a.b.c.d`, NAT64, 6to4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Classification {
    /// `None` for a public unicast address.
    pub kind: Option<AddressKind>,
    /// The IPv4 address embedded in an IPv6 address, when it has one.
    pub embedded_v4: Option<Ipv4Addr>,
}

/// Classifies `ip`. An IPv4-mapped or IPv4-compatible IPv6 address is
/// classified as the IPv4 address it carries (`::ffff:127.0.0.1` is
/// loopback); NAT64, 6to4 and Teredo addresses are kinds of their own.
///
/// ```
/// use llmspell_tools::net::{AddressKind, classify};
///
/// assert_eq!(classify("10.1.2.3".parse().unwrap()).kind, Some(AddressKind::Private));
/// assert_eq!(classify("::ffff:127.0.0.1".parse().unwrap()).kind, Some(AddressKind::Loopback));
/// assert_eq!(classify("169.254.169.254".parse().unwrap()).kind, Some(AddressKind::CloudMetadata));
/// assert_eq!(classify("93.184.216.34".parse().unwrap()).kind, None);
/// ```
pub fn classify(ip: IpAddr) -> Classification {
    if METADATA_ADDRESSES.contains(&ip) {
        return Classification {
            kind: Some(AddressKind::CloudMetadata),
            embedded_v4: None,
        };
    }
    match ip {
        IpAddr::V4(v4) => Classification {
            kind: classify_v4(v4),
            embedded_v4: None,
        },
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> Option<AddressKind> {
    if METADATA_ADDRESSES.contains(&IpAddr::V4(ip)) {
        return Some(AddressKind::CloudMetadata);
    }
    let [a, b, c, _] = ip.octets();
    Some(match (a, b, c) {
        _ if ip.is_unspecified() => AddressKind::Unspecified,
        (0, _, _) => AddressKind::ThisNetwork,
        (127, _, _) => AddressKind::Loopback,
        (10, _, _) => AddressKind::Private,
        (172, 16..=31, _) => AddressKind::Private,
        (192, 168, _) => AddressKind::Private,
        (100, 64..=127, _) => AddressKind::SharedCgnat,
        (169, 254, _) => AddressKind::LinkLocal,
        (192, 0, 0) => AddressKind::ProtocolAssignments,
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => AddressKind::Documentation,
        (198, 18..=19, _) => AddressKind::Benchmarking,
        (224..=239, _, _) => AddressKind::Multicast,
        _ if ip.is_broadcast() => AddressKind::Broadcast,
        (240..=255, _, _) => AddressKind::Reserved,
        _ => return None,
    })
}

fn classify_v6(ip: Ipv6Addr) -> Classification {
    let seg = ip.segments();
    let plain = |kind| Classification {
        kind: Some(kind),
        embedded_v4: None,
    };
    if ip.is_unspecified() {
        return plain(AddressKind::Unspecified);
    }
    if ip.is_loopback() {
        return plain(AddressKind::Loopback);
    }
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Classification {
            kind: classify_v4(v4),
            embedded_v4: Some(v4),
        };
    }
    // IPv4-compatible `::a.b.c.d` (deprecated, still routed by some stacks).
    if seg[..6] == [0; 6] {
        let v4 = low_v4(seg);
        return Classification {
            kind: classify_v4(v4).or(Some(AddressKind::Reserved)),
            embedded_v4: Some(v4),
        };
    }
    let embedded = |kind, v4| Classification {
        kind: Some(kind),
        embedded_v4: Some(v4),
    };
    match seg {
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => embedded(AddressKind::Nat64, low_v4(seg)),
        [0x64, 0xff9b, 1, ..] => embedded(AddressKind::Nat64, low_v4(seg)),
        [0x2002, hi, lo, ..] => embedded(
            AddressKind::SixToFour,
            Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo)),
        ),
        [0x2001, 0, ..] => plain(AddressKind::Teredo),
        [0x2001, 0x0db8, ..] => plain(AddressKind::Documentation),
        [0x2001, 2, 0, ..] => plain(AddressKind::Benchmarking),
        [0x2001, 0..=0x01ff, ..] => plain(AddressKind::ProtocolAssignments),
        [0x0100, 0, 0, 0, ..] => plain(AddressKind::Reserved),
        [s, ..] if s & 0xfff0 == 0x3ff0 => plain(AddressKind::Documentation),
        [s, ..] if s & 0xfe00 == 0xfc00 => plain(AddressKind::UniqueLocal),
        [s, ..] if s & 0xffc0 == 0xfe80 => plain(AddressKind::LinkLocal),
        [s, ..] if s & 0xffc0 == 0xfec0 => plain(AddressKind::SiteLocal),
        [s, ..] if s & 0xff00 == 0xff00 => plain(AddressKind::Multicast),
        _ => Classification {
            kind: None,
            embedded_v4: None,
        },
    }
}

fn low_v4(seg: [u16; 8]) -> Ipv4Addr {
    Ipv4Addr::from((u32::from(seg[6]) << 16) | u32::from(seg[7]))
}

/// One entry of an address allow-list: a range, or a keyword standing for
/// the ranges of one or more [`AddressKind`]s.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Allowance {
    /// A CIDR range; `exact` when the entry named a single address (no
    /// `/len`, or a full-length prefix).
    Net { net: IpNet, exact: bool },
}

/// Internal addresses configuration allows (`allowed_addresses`): CIDR
/// ranges (`10.0.0.0/8`, `fd00::/8`), single addresses (`127.0.0.1`,
/// `::1`) and the keywords `loopback` (`127.0.0.0/8`, `::1`), `private`
/// (the RFC 1918 ranges and `fc00::/7`), `link_local` (`169.254.0.0/16`,
/// `fe80::/10`) and `shared` (`100.64.0.0/10`).
///
/// A cloud metadata address ([`METADATA_ADDRESSES`]) is allowed only by an
/// entry naming that very address, never by a range or keyword containing
/// it.
///
/// ```
/// use llmspell_tools::net::AddressAllowList;
///
/// let allowed = AddressAllowList::parse(["loopback", "10.0.0.0/8"]).unwrap();
/// assert!(allowed.allows("127.0.0.1".parse().unwrap()));
/// assert!(allowed.allows("10.9.8.7".parse().unwrap()));
/// assert!(!allowed.allows("192.168.1.1".parse().unwrap()));
/// assert!(AddressAllowList::parse(["10.0.0.0/33"]).is_err());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressAllowList {
    entries: Vec<Allowance>,
    shown: Vec<String>,
}

/// The keywords [`AddressAllowList::parse`] accepts, with their ranges.
const KEYWORDS: [(&str, &[&str]); 4] = [
    ("loopback", &["127.0.0.0/8", "::1/128"]),
    (
        "private",
        &["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"],
    ),
    ("link_local", &["169.254.0.0/16", "fe80::/10"]),
    ("shared", &["100.64.0.0/10"]),
];

impl AddressAllowList {
    /// Allows nothing.
    pub fn none() -> Self {
        Self::default()
    }

    /// Reads the entries.
    ///
    /// # Errors
    /// The first entry that is neither an address, a CIDR range nor a
    /// keyword, with what is valid.
    pub fn parse<I, S>(entries: I) -> Result<Self, String>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut list = Self::default();
        for entry in entries {
            let entry = entry.as_ref().trim();
            list.shown.push(entry.to_owned());
            let lowered = entry.to_ascii_lowercase();
            if let Some((_, nets)) = KEYWORDS.iter().find(|(k, _)| *k == lowered) {
                for net in *nets {
                    if let Ok(net) = IpNet::from_str(net) {
                        list.entries.push(Allowance::Net { net, exact: false });
                    }
                }
                continue;
            }
            let bare = entry.trim_start_matches('[').trim_end_matches(']');
            if let Ok(ip) = IpAddr::from_str(bare) {
                list.entries.push(Allowance::Net {
                    net: IpNet::from(ip),
                    exact: true,
                });
                continue;
            }
            match IpNet::from_str(entry) {
                Ok(net) => list.entries.push(Allowance::Net {
                    exact: net.prefix_len() == net.max_prefix_len(),
                    net: net.trunc(),
                }),
                Err(_) => {
                    return Err(format!(
                        "`allowed_addresses` entry `{entry}` is not an IP address, a CIDR range \
                         (10.0.0.0/8, fd00::/8) or one of the keywords loopback, private, \
                         link_local, shared"
                    ));
                }
            }
        }
        Ok(list)
    }

    /// Whether no entry is configured.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries as configured.
    pub fn entries(&self) -> &[String] {
        &self.shown
    }

    /// Whether `ip` is allowed: an entry contains it (for a cloud metadata
    /// address: an entry names it exactly). Only internal addresses need
    /// allowing; this answers for any address.
    pub fn allows(&self, ip: IpAddr) -> bool {
        let metadata = METADATA_ADDRESSES.contains(&ip);
        self.entries.iter().any(|Allowance::Net { net, exact }| {
            if metadata {
                *exact && net.addr() == ip
            } else {
                net.contains(&ip)
            }
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn kind(s: &str) -> Option<AddressKind> {
        classify(s.parse().unwrap()).kind
    }

    #[test]
    fn ipv4_kinds() {
        use AddressKind::*;
        for (addr, want) in [
            ("0.0.0.0", Some(Unspecified)),
            ("0.1.2.3", Some(ThisNetwork)),
            ("127.0.0.1", Some(Loopback)),
            ("127.255.255.254", Some(Loopback)),
            ("10.0.0.1", Some(Private)),
            ("172.16.0.1", Some(Private)),
            ("172.31.255.255", Some(Private)),
            ("172.32.0.1", None),
            ("192.168.1.1", Some(Private)),
            ("100.64.0.1", Some(SharedCgnat)),
            ("100.128.0.1", None),
            ("169.254.1.1", Some(LinkLocal)),
            ("169.254.169.254", Some(CloudMetadata)),
            ("100.100.100.200", Some(CloudMetadata)),
            ("168.63.129.16", Some(CloudMetadata)),
            ("192.0.0.8", Some(ProtocolAssignments)),
            ("192.0.2.1", Some(Documentation)),
            ("198.51.100.1", Some(Documentation)),
            ("203.0.113.1", Some(Documentation)),
            ("198.18.0.1", Some(Benchmarking)),
            ("224.0.0.1", Some(Multicast)),
            ("239.255.255.250", Some(Multicast)),
            ("240.0.0.1", Some(Reserved)),
            ("255.255.255.255", Some(Broadcast)),
            ("8.8.8.8", None),
            ("93.184.216.34", None),
        ] {
            assert_eq!(kind(addr), want, "{addr}");
        }
    }

    #[test]
    fn ipv6_kinds_and_embedded_ipv4() {
        use AddressKind::*;
        for (addr, want) in [
            ("::", Some(Unspecified)),
            ("::1", Some(Loopback)),
            ("::ffff:127.0.0.1", Some(Loopback)),
            ("::ffff:10.0.0.1", Some(Private)),
            ("::ffff:169.254.169.254", Some(CloudMetadata)),
            ("::127.0.0.1", Some(Loopback)),
            ("::ffff:8.8.8.8", None),
            ("64:ff9b::7f00:1", Some(Nat64)),
            ("64:ff9b::808:808", Some(Nat64)),
            ("64:ff9b:1::a00:1", Some(Nat64)),
            ("2002:7f00:1::", Some(SixToFour)),
            ("2001:0:4136:e378::1", Some(Teredo)),
            ("2001:db8::1", Some(Documentation)),
            ("3fff::1", Some(Documentation)),
            ("2001:2::1", Some(Benchmarking)),
            ("100::1", Some(Reserved)),
            ("fc00::1", Some(UniqueLocal)),
            ("fd12:3456::1", Some(UniqueLocal)),
            ("fd00:ec2::254", Some(CloudMetadata)),
            ("fe80::1", Some(LinkLocal)),
            ("fec0::1", Some(SiteLocal)),
            ("ff02::1", Some(Multicast)),
            ("2606:4700::1111", None),
        ] {
            assert_eq!(kind(addr), want, "{addr}");
        }
        let c = classify("64:ff9b::7f00:1".parse().unwrap());
        assert_eq!(c.embedded_v4, Some(Ipv4Addr::LOCALHOST));
        let c = classify("2002:a00:1::".parse().unwrap());
        assert_eq!(c.embedded_v4, Some(Ipv4Addr::new(10, 0, 0, 1)));
    }

    #[test]
    fn allow_lists_read_addresses_ranges_and_keywords() {
        let list =
            AddressAllowList::parse(["127.0.0.1", "10.0.0.0/8", "[::1]", "link_local"]).unwrap();
        assert!(list.allows("127.0.0.1".parse().unwrap()));
        assert!(!list.allows("127.0.0.2".parse().unwrap()));
        assert!(list.allows("10.200.0.1".parse().unwrap()));
        assert!(list.allows("::1".parse().unwrap()));
        assert!(list.allows("169.254.10.10".parse().unwrap()));
        // A range never allows a metadata address; naming it does.
        assert!(!list.allows("169.254.169.254".parse().unwrap()));
        let named = AddressAllowList::parse(["169.254.169.254"]).unwrap();
        assert!(named.allows("169.254.169.254".parse().unwrap()));
        let named = AddressAllowList::parse(["169.254.169.254/32"]).unwrap();
        assert!(named.allows("169.254.169.254".parse().unwrap()));
        let err = AddressAllowList::parse(["loopback", "intranet"]).unwrap_err();
        assert!(err.contains("`intranet`") && err.contains("CIDR"), "{err}");
        assert!(
            AddressAllowList::parse(["PRIVATE"])
                .unwrap()
                .allows("192.168.0.1".parse().unwrap())
        );
    }
}
