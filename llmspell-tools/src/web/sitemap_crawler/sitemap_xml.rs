//! Reading sitemap documents (sitemaps.org protocol 0.9): a `<urlset>` of
//! `<url>` entries or a `<sitemapindex>` of `<sitemap>` entries, plain or
//! gzip-compressed.

use std::io::Read;

use llmspell_core::{Error, Result};
use quick_xml::events::Event;
use serde::Deserialize;

/// One `<url>` of a `<urlset>`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub(crate) struct Entry {
    /// The page's URL.
    pub(crate) loc: String,
    /// When it last changed (W3C datetime, as written).
    pub(crate) lastmod: Option<String>,
    /// How often it changes (`always` … `never`, as written).
    pub(crate) changefreq: Option<String>,
    /// Its priority, 0.0 to 1.0, as written.
    pub(crate) priority: Option<String>,
}

/// One `<sitemap>` of a `<sitemapindex>`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub(crate) struct Child {
    /// The sitemap's URL.
    pub(crate) loc: String,
    /// When it last changed, as written.
    pub(crate) lastmod: Option<String>,
}

#[derive(Deserialize)]
struct UrlSet {
    #[serde(rename = "url", default)]
    urls: Vec<Entry>,
}

#[derive(Deserialize)]
struct SitemapIndex {
    #[serde(rename = "sitemap", default)]
    sitemaps: Vec<Child>,
}

/// A parsed sitemap document.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Document {
    /// A `<urlset>`.
    UrlSet(Vec<Entry>),
    /// A `<sitemapindex>`.
    Index(Vec<Child>),
}

/// The name of the root element, without a namespace prefix.
fn root_name(xml: &str) -> std::result::Result<String, String> {
    let mut reader = quick_xml::Reader::from_str(xml);
    loop {
        match reader.read_event() {
            Ok(Event::Start(e) | Event::Empty(e)) => {
                let local = e.local_name();
                let name: &str = local.as_ref();
                return Ok(name.to_owned());
            }
            Ok(Event::Eof) => return Err("the document has no root element".to_owned()),
            Ok(_) => {}
            Err(e) => {
                return Err(format!(
                    "not well-formed XML at byte {}: {e}",
                    reader.error_position()
                ));
            }
        }
    }
}

/// Parses a sitemap document.
///
/// # Errors
/// A message saying why it is not a sitemap: not well-formed XML, or
/// another root element.
pub(crate) fn parse(xml: &str) -> std::result::Result<Document, String> {
    let xml = xml.trim_start_matches('\u{feff}');
    let trim = |s: String| s.trim().to_owned();
    let opt = |s: Option<String>| s.map(trim).filter(|s| !s.is_empty());
    match root_name(xml)?.as_str() {
        "urlset" => {
            let set: UrlSet =
                quick_xml::de::from_str(xml).map_err(|e| format!("not a valid <urlset>: {e}"))?;
            Ok(Document::UrlSet(
                set.urls
                    .into_iter()
                    .map(|u| Entry {
                        loc: trim(u.loc),
                        lastmod: opt(u.lastmod),
                        changefreq: opt(u.changefreq),
                        priority: opt(u.priority),
                    })
                    .collect(),
            ))
        }
        "sitemapindex" => {
            let index: SitemapIndex = quick_xml::de::from_str(xml)
                .map_err(|e| format!("not a valid <sitemapindex>: {e}"))?;
            Ok(Document::Index(
                index
                    .sitemaps
                    .into_iter()
                    .map(|s| Child {
                        loc: trim(s.loc),
                        lastmod: opt(s.lastmod),
                    })
                    .collect(),
            ))
        }
        other => Err(format!(
            "the root element is <{other}>, not <urlset> or <sitemapindex>"
        )),
    }
}

/// Whether `bytes` start with the gzip magic number.
pub(crate) fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

/// Decompresses gzip `bytes`, at most `max` bytes of output.
///
/// # Errors
/// [`Error::ResourceLimitExceeded`] (resource `sitemap_bytes`) past `max`;
/// [`Error::External`] (service `sitemap`) for a corrupt stream.
pub(crate) fn gunzip(bytes: &[u8], max: u64) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .take(max.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| Error::External {
            service: "sitemap".to_owned(),
            message: format!("the gzip stream is corrupt: {e}"),
            retryable: false,
            source: None,
        })?;
    if out.len() as u64 > max {
        return Err(Error::ResourceLimitExceeded {
            resource: "sitemap_bytes".to_owned(),
            limit: max,
            requested: out.len() as u64,
        });
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn urlsets_and_indexes() {
        let doc = parse(
            r#"<?xml version="1.0" encoding="UTF-8"?>
            <urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
                    xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">
              <url><loc> https://example.com/a?x=1&amp;y=2 </loc><lastmod>2024-05-01</lastmod>
                   <changefreq>daily</changefreq><priority>0.8</priority>
                   <image:image><image:loc>https://example.com/a.png</image:loc></image:image></url>
              <url><loc>https://example.com/b</loc></url>
            </urlset>"#,
        )
        .unwrap();
        let Document::UrlSet(urls) = doc else {
            panic!("{doc:?}")
        };
        assert_eq!(urls.len(), 2);
        assert_eq!(urls[0].loc, "https://example.com/a?x=1&y=2");
        assert_eq!(urls[0].lastmod.as_deref(), Some("2024-05-01"));
        assert_eq!(urls[0].changefreq.as_deref(), Some("daily"));
        assert_eq!(urls[0].priority.as_deref(), Some("0.8"));
        assert_eq!(urls[1].lastmod, None);

        let doc = parse(
            "<sitemapindex xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>\
             <sitemap><loc>https://example.com/s1.xml</loc><lastmod>2024-01-01</lastmod></sitemap>\
             </sitemapindex>",
        )
        .unwrap();
        assert_eq!(
            doc,
            Document::Index(vec![Child {
                loc: "https://example.com/s1.xml".into(),
                lastmod: Some("2024-01-01".into())
            }])
        );
    }

    #[test]
    fn other_documents_are_refused_with_a_reason() {
        assert!(
            parse("<html><body>hi</body></html>")
                .unwrap_err()
                .contains("<html>")
        );
        assert!(
            parse("<urlset><url><loc>x</url>")
                .unwrap_err()
                .contains("urlset")
        );
        assert!(parse("").unwrap_err().contains("no root"));
    }

    #[test]
    fn gzip_is_capped() {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(&vec![b'a'; 10_000]).unwrap();
        let gz = enc.finish().unwrap();
        assert!(is_gzip(&gz));
        assert_eq!(gunzip(&gz, 10_000).unwrap().len(), 10_000);
        assert!(matches!(
            gunzip(&gz, 9_999),
            Err(Error::ResourceLimitExceeded { .. })
        ));
        assert!(gunzip(&[0x1f, 0x8b, 0, 0], 10).is_err());
    }
}
