//! Network safety: the one layer every networked tool reaches the network
//! through.
//!
//! A tool that contacts a host holds a [`NetPolicy`] (which hosts, which
//! addresses) and, for HTTP, a [`SafeClient`] built on it with
//! [`NetLimits`] (timeouts, body cap, redirect limit). Both come from
//! [`BuiltinToolsConfig::net_policy`](crate::BuiltinToolsConfig::net_policy)
//! and [`BuiltinToolsConfig::net_limits`](crate::BuiltinToolsConfig), i.e.
//! from `[sandbox]` in `llmspell.toml`.
//!
//! What is refused, unless configuration allows it:
//!
//! - a host not on `allowed_hosts` ([`HostAllowList`]: exact names and
//!   addresses, `*.domain`, `*`);
//! - cloud metadata host names ([`METADATA_HOSTS`]) unless named exactly;
//! - an IPv4 address in a non-canonical spelling (`2130706433`,
//!   `0177.0.0.1`, `0x7f.1`, `127.1`): always;
//! - an address that is not public unicast ([`AddressKind`]: loopback,
//!   private, unique local, link-local, CGNAT, cloud metadata, multicast,
//!   broadcast, unspecified, reserved, documentation, benchmarking, NAT64,
//!   6to4, Teredo), in any IPv6 form (`::ffff:127.0.0.1`), unless
//!   `allowed_addresses` ([`AddressAllowList`]) or an exact `allowed_hosts`
//!   entry allows it; a metadata address only by an entry naming it.
//!
//! Addresses are checked where they are used: a name is resolved by
//! [`NetPolicy::resolve`], which drops refused addresses, and the HTTP
//! client connects only to what it returns (its resolver is the policy), so
//! a DNS answer that changes between a check and the connection (DNS
//! rebinding) changes nothing. Each redirect hop is checked again.
//!
//! For clients other than HTTP (SMTP, PostgreSQL, raw TCP) use
//! [`NetPolicy::resolve`] to get the socket addresses that may be connected
//! to, or [`NetPolicy::connect_tcp`] for a connected stream. Credentials are
//! read from environment variables configuration allows, through
//! [`SecretEnv`].
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use llmspell_tools::net::{NetPolicy, StaticResolver};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let resolver = StaticResolver::new([
//!     ("db.internal", vec!["10.0.0.7".parse().unwrap()]),
//! ]);
//! let strict = NetPolicy::new(["db.internal"]).with_resolver(Arc::new(resolver.clone()));
//! let err = strict.resolve("db.internal", 5432).await.unwrap_err();
//! assert!(err.to_string().contains("private"), "{err}");
//!
//! let lan = strict.with_allowed_addresses(["10.0.0.0/24"]);
//! let addrs = lan.resolve("db.internal", 5432).await.unwrap();
//! assert_eq!(addrs, ["10.0.0.7:5432".parse().unwrap()]);
//! # });
//! ```

mod address;
mod client;
mod hosts;
mod policy;
mod resolver;
mod response;
mod secrets;

pub use address::{AddressAllowList, AddressKind, Classification, METADATA_ADDRESSES, classify};
pub use client::{
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_REDIRECTS, DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_TIMEOUT,
    NetLimits, Redirects, SafeClient,
};
pub use hosts::{HostAllowList, METADATA_HOSTS, canonical_ip, is_localhost_name, is_metadata_host};
pub use policy::NetPolicy;
pub use resolver::{HostResolver, StaticResolver, SystemResolver};
pub use response::SafeResponse;
pub use secrets::SecretEnv;
