//! robots.txt (RFC 9309), read with `texting_robots`.

use llmspell_core::Result;
use texting_robots::Robot;
use url::Url;

use crate::net::SafeClient;
use crate::web::page::get;

/// Largest robots.txt read (RFC 9309 asks parsers to read at least
/// 500 KiB).
const MAX_ROBOTS_BYTES: u64 = 512 << 10;

/// What fetching an origin's robots.txt gave.
#[derive(Debug)]
pub(crate) enum Robots {
    /// A robots.txt was read: its rules apply.
    Found {
        /// The rules for our user agent.
        robot: Robot,
    },
    /// 4xx (RFC 9309: no rules, everything allowed).
    Missing {
        /// The status.
        status: u16,
    },
    /// 5xx, or the server could not be reached (RFC 9309: everything
    /// disallowed).
    Unreachable {
        /// Why.
        reason: String,
    },
}

impl Robots {
    /// Fetches the robots.txt of `origin` and reads it for `agent`.
    ///
    /// # Errors
    /// A refusal of the network policy (the host is not allowed): the
    /// crawl cannot go on.
    pub(crate) async fn fetch(
        client: &SafeClient,
        origin: &Url,
        agent: &str,
        timeout_ms: Option<u64>,
    ) -> Result<(Self, String)> {
        let url = origin
            .join("/robots.txt")
            .map_or_else(|_| format!("{origin}robots.txt"), String::from);
        let max = MAX_ROBOTS_BYTES.min(client.limits().max_response_bytes);
        let robots = match get(
            client,
            &url,
            "url",
            "text/plain, */*;q=0.1",
            timeout_ms,
            max,
        )
        .await
        {
            Ok(page) if (200..300).contains(&page.status) => match Robot::new(agent, &page.body) {
                Ok(robot) => Robots::Found { robot },
                // The parser is forgiving; a file it cannot read has no
                // rules we can honour: treated as missing.
                Err(_) => Robots::Missing {
                    status: page.status,
                },
            },
            Ok(page) if (400..500).contains(&page.status) => Robots::Missing {
                status: page.status,
            },
            Ok(page) => Robots::Unreachable {
                reason: format!("robots.txt answered {}", page.status),
            },
            Err(e @ llmspell_core::Error::SecurityViolation { .. }) => return Err(e),
            Err(llmspell_core::Error::ResourceLimitExceeded { limit, .. }) => Robots::Unreachable {
                reason: format!("robots.txt is larger than {limit} bytes"),
            },
            Err(e) => Robots::Unreachable {
                reason: e.to_string(),
            },
        };
        Ok((robots, url))
    }

    /// Whether `url` may be crawled.
    pub(crate) fn allowed(&self, url: &str) -> bool {
        match self {
            Robots::Found { robot } => robot.allowed(url),
            Robots::Missing { .. } => true,
            Robots::Unreachable { .. } => false,
        }
    }

    /// The `Sitemap:` lines.
    pub(crate) fn sitemaps(&self) -> &[String] {
        match self {
            Robots::Found { robot } => &robot.sitemaps,
            _ => &[],
        }
    }

    /// `found`, `missing` or `unreachable`.
    pub(crate) fn status(&self) -> &'static str {
        match self {
            Robots::Found { .. } => "found",
            Robots::Missing { .. } => "missing",
            Robots::Unreachable { .. } => "unreachable",
        }
    }

    /// The `Crawl-delay`, in seconds, when one is given.
    pub(crate) fn crawl_delay(&self) -> Option<f32> {
        match self {
            Robots::Found { robot } => robot.delay,
            _ => None,
        }
    }

    /// Why robots.txt gave no rules, when it gave none.
    pub(crate) fn reason(&self) -> Option<String> {
        match self {
            Robots::Found { .. } => None,
            Robots::Missing { status } => Some(format!(
                "robots.txt answered {status}: everything is allowed"
            )),
            Robots::Unreachable { reason } => {
                Some(format!("{reason}: everything is disallowed (RFC 9309)"))
            }
        }
    }
}
