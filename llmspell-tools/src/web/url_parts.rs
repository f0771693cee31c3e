//! URL parsing, normalisation (RFC 3986 section 6) and HTML page metadata.

use llmspell_core::{Error, Result};
use scraper::{Html, Selector};
use serde_json::{Map, Value, json};
use url::Url;

/// Parses an absolute URL given as `field`.
pub(crate) fn parse(input: &str, field: &str) -> Result<Url> {
    Url::parse(input.trim()).map_err(|e| {
        let hint = if e == url::ParseError::RelativeUrlWithoutBase {
            " (a relative reference: resolve it against a base with operation `resolve`)"
        } else {
            ""
        };
        Error::invalid_input(field, format!("not an absolute URL: {e}{hint}"))
    })
}

/// The parts of `url`.
pub(crate) fn parts(url: &Url) -> Value {
    let (host_kind, host) = match url.host() {
        Some(url::Host::Domain(d)) => ("domain", Some(d.to_owned())),
        Some(url::Host::Ipv4(ip)) => ("ipv4", Some(ip.to_string())),
        Some(url::Host::Ipv6(ip)) => ("ipv6", Some(ip.to_string())),
        None => ("none", None),
    };
    let params: Vec<Value> = url.query_pairs().map(|(k, v)| json!([k, v])).collect();
    let mut by_name = Map::new();
    for (k, v) in url.query_pairs() {
        match by_name.get_mut(k.as_ref()) {
            Some(Value::Array(values)) => values.push(json!(v)),
            _ => {
                by_name.insert(k.into_owned(), json!([v]));
            }
        }
    }
    let segments: Vec<&str> = url
        .path_segments()
        .map(Iterator::collect)
        .unwrap_or_default();
    json!({
        "scheme": url.scheme(),
        "username": (!url.username().is_empty()).then(|| url.username()),
        "has_password": url.password().is_some(),
        "host": host,
        "host_kind": host_kind,
        "port": url.port(),
        "effective_port": url.port_or_known_default(),
        "path": url.path(),
        "segments": segments,
        "query": url.query(),
        "params": params,
        "params_by_name": by_name,
        "fragment": url.fragment(),
        "origin": url.origin().ascii_serialization(),
        "href": url.as_str(),
    })
}

/// Whether `b` is an unreserved character (RFC 3986 section 2.3).
fn unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Percent-encoding normalisation (RFC 3986 section 6.2.2.2): triplets of
/// unreserved characters are decoded, the others written in upper case.
pub(crate) fn normalize_percent(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && bytes[i + 1].is_ascii_hexdigit()
            && bytes[i + 2].is_ascii_hexdigit()
        {
            // Both digits are ASCII, so the slice falls on character bounds.
            let hex = &s[i + 1..i + 3];
            if let Ok(b) = u8::from_str_radix(hex, 16) {
                if unreserved(b) {
                    out.push(char::from(b));
                } else {
                    out.push('%');
                    out.push_str(&hex.to_ascii_uppercase());
                }
                i += 3;
                continue;
            }
        }
        // Not a triplet: copy one UTF-8 character.
        let ch = s[i..].chars().next().unwrap_or('\u{fffd}');
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

/// How [`normalize`] treats the optional parts.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct NormalizeOptions {
    pub(crate) sort_query: bool,
    pub(crate) strip_fragment: bool,
}

/// The normal form of `url`: scheme and host in lower case (IDNA host
/// names in punycode), the scheme's default port removed, dot segments
/// removed, an empty path of an http(s) URL as `/`, percent-encoding
/// normalised in the path, query and fragment; optionally the query
/// parameters sorted by name (stable) and the fragment dropped.
pub(crate) fn normalize(url: &Url, options: NormalizeOptions) -> Result<Url> {
    // The parser already lowercases, drops default ports and removes dot
    // segments; what is left is percent-encoding and the options.
    let mut out = url.clone();
    let path = normalize_percent(url.path());
    out.set_path(&path);
    let query = url.query().map(|q| {
        let q = normalize_percent(q);
        if options.sort_query {
            let mut pairs: Vec<&str> = q.split('&').filter(|p| !p.is_empty()).collect();
            pairs.sort_by_key(|p| p.split('=').next().unwrap_or_default());
            pairs.join("&")
        } else {
            q
        }
    });
    out.set_query(query.as_deref());
    if options.strip_fragment {
        out.set_fragment(None);
    } else if let Some(f) = url.fragment() {
        out.set_fragment(Some(&normalize_percent(f)));
    }
    // Decoding may have produced dot segments (`%2E%2E`); parsing the result
    // again removes them, which makes the normal form stable.
    Url::parse(out.as_str())
        .map_err(|e| Error::invalid_input("url", format!("cannot be normalised: {e}")))
}

/// Title, description, canonical URL, language, OpenGraph (`og:*`) and
/// Twitter card (`twitter:*`) tags of an HTML page; relative `canonical`,
/// `og:url` and `og:image` are resolved against `base`.
pub(crate) fn page_metadata(html: &str, base: &Url) -> Value {
    let doc = Html::parse_document(html);
    let select = |css: &str| Selector::parse(css).ok();
    let first_text = |css: &str| -> Option<String> {
        let sel = select(css)?;
        doc.select(&sel)
            .next()
            .map(|e| collapse(&e.text().collect::<String>()))
            .filter(|t| !t.is_empty())
    };
    let first_attr = |css: &str, attr: &str| -> Option<String> {
        let sel = select(css)?;
        doc.select(&sel)
            .find_map(|e| e.value().attr(attr))
            .map(collapse)
            .filter(|v| !v.is_empty())
    };
    let resolve = |v: String| base.join(&v).map_or(v, |u| u.to_string());

    let mut open_graph = Map::new();
    let mut twitter = Map::new();
    if let Some(sel) = select("meta") {
        for meta in doc.select(&sel) {
            let el = meta.value();
            let key = el.attr("property").or_else(|| el.attr("name"));
            let (Some(key), Some(content)) = (key, el.attr("content")) else {
                continue;
            };
            let key = key.trim().to_ascii_lowercase();
            let content = collapse(content);
            if let Some(name) = key.strip_prefix("og:") {
                let content = if matches!(name, "url" | "image" | "image:url" | "video" | "audio") {
                    resolve(content)
                } else {
                    content
                };
                // The first of repeated tags (several og:image) is the main one.
                open_graph.entry(name.to_owned()).or_insert(json!(content));
            } else if let Some(name) = key.strip_prefix("twitter:") {
                twitter.entry(name.to_owned()).or_insert(json!(content));
            }
        }
    }
    json!({
        "title": first_text("head title").or_else(|| first_text("title")),
        "description": first_attr("meta[name=description]", "content"),
        "canonical": first_attr("link[rel=canonical]", "href").map(resolve),
        "lang": first_attr("html", "lang"),
        "open_graph": open_graph,
        "twitter": twitter,
    })
}

/// Whitespace runs as one space, trimmed.
fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn norm(s: &str) -> String {
        normalize(&Url::parse(s).unwrap(), NormalizeOptions::default())
            .unwrap()
            .to_string()
    }

    #[test]
    fn normal_forms() {
        assert_eq!(
            norm("HTTP://User@Example.COM:80/a/./b/../c/%7euser/%2fx?q=%e2%82%ac#F%6fo"),
            "http://User@example.com/a/c/~user/%2Fx?q=%E2%82%AC#Foo"
        );
        assert_eq!(norm("https://example.com:443"), "https://example.com/");
        assert_eq!(
            norm("http://example.com/%2E%2E/a/%2e/b"),
            "http://example.com/a/b"
        );
        assert_eq!(norm("http://example.com/a%41%2d"), "http://example.com/aA-");
        assert_eq!(
            norm("http://bücher.example/"),
            "http://xn--bcher-kva.example/"
        );
        // Stable: a normal form normalises to itself.
        for s in [
            "HTTP://User@Example.COM:80/a/./b/../c/%7euser/%2fx?q=%e2%82%ac#F%6fo",
            "http://example.com/%2E%2E/a",
        ] {
            assert_eq!(norm(&norm(s)), norm(s));
        }
        let sorted = normalize(
            &Url::parse("http://x.test/?b=2&a=1&b=1#frag").unwrap(),
            NormalizeOptions {
                sort_query: true,
                strip_fragment: true,
            },
        )
        .unwrap();
        assert_eq!(sorted.as_str(), "http://x.test/?a=1&b=2&b=1");
    }

    #[test]
    fn percent_triplets() {
        assert_eq!(normalize_percent("%7e%7E%3a%zz%"), "~~%3A%zz%");
        assert_eq!(normalize_percent("é%41"), "éA");
    }

    #[test]
    fn metadata_of_a_page() {
        let html = r#"<!doctype html><html lang="en"><head>
            <title>  The   Page </title>
            <meta name="description" content="What it is about">
            <meta property="og:title" content="OG title">
            <meta property="og:image" content="/img/cover.png">
            <meta property="og:image" content="/img/second.png">
            <meta name="twitter:card" content="summary">
            <link rel="canonical" href="/page">
            </head><body><title>not this</title></body></html>"#;
        let base = Url::parse("https://example.com/dir/page?x=1").unwrap();
        let m = page_metadata(html, &base);
        assert_eq!(m["title"], "The Page");
        assert_eq!(m["description"], "What it is about");
        assert_eq!(m["canonical"], "https://example.com/page");
        assert_eq!(m["lang"], "en");
        assert_eq!(m["open_graph"]["title"], "OG title");
        assert_eq!(
            m["open_graph"]["image"],
            "https://example.com/img/cover.png"
        );
        assert_eq!(m["twitter"]["card"], "summary");
    }
}
