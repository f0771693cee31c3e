//! Reading parsed HTML: selectors, text by blocks, links and tables, shared
//! by `web_scraper` and `webpage_monitor`.

use llmspell_core::{Error, Result};
use scraper::{ElementRef, Node, Selector};
use serde_json::{Value, json};
use url::Url;

/// Elements whose content is never text a reader sees.
const HIDDEN: [&str; 7] = [
    "script", "style", "noscript", "template", "head", "svg", "iframe",
];

/// Elements that start a new line of text (a table row is one line, its
/// cells separated by spaces).
const BLOCKS: [&str; 36] = [
    "address",
    "article",
    "aside",
    "blockquote",
    "body",
    "caption",
    "dd",
    "details",
    "dialog",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "li",
    "main",
    "nav",
    "ol",
    "p",
    "pre",
    "section",
    "summary",
    "table",
    "tr",
    "ul",
];

/// Whether `name` is an element whose content is hidden from readers.
pub(crate) fn is_hidden(name: &str) -> bool {
    HIDDEN.contains(&name)
}

/// Whether `name` is a block element.
pub(crate) fn is_block(name: &str) -> bool {
    BLOCKS.contains(&name) || name == "br"
}

/// Parses a CSS selector a call passed in `field`.
///
/// # Errors
/// [`Error::InvalidInput`] naming `field` and what is wrong.
pub(crate) fn selector(css: &str, field: &str) -> Result<Selector> {
    if css.trim().is_empty() {
        return Err(Error::invalid_input(
            field,
            "expected a CSS selector, got an empty string",
        ));
    }
    Selector::parse(css).map_err(|e| {
        Error::invalid_input(field, format!("`{css}` is not a valid CSS selector: {e}"))
    })
}

/// Whitespace runs as one space, trimmed.
pub(crate) fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The visible text of `el` on one line (hidden elements skipped).
pub(crate) fn text(el: ElementRef<'_>) -> String {
    lines(el, &|_| false).join(" ")
}

/// The visible text of `el`, one entry per block (paragraph, heading, list
/// item, table cell, ...), whitespace collapsed, empty blocks dropped.
/// Elements for which `skip` is true are left out with their content.
pub(crate) fn lines(el: ElementRef<'_>, skip: &dyn Fn(ElementRef<'_>) -> bool) -> Vec<String> {
    let mut out = Vec::new();
    let mut line = String::new();
    let flush = |line: &mut String, out: &mut Vec<String>| {
        let collapsed = collapse(line);
        if !collapsed.is_empty() {
            out.push(collapsed);
        }
        line.clear();
    };
    // Depth-first with an explicit stack: deeply nested documents cannot
    // overflow the call stack. `true` marks the closing visit of an element.
    let mut stack = vec![(*el, false)];
    while let Some((node, closing)) = stack.pop() {
        match node.value() {
            Node::Text(t) if !closing => {
                line.push_str(t);
            }
            Node::Element(e) => {
                let name = e.name();
                if closing {
                    if is_block(name) {
                        flush(&mut line, &mut out);
                    } else if matches!(name, "td" | "th") {
                        line.push(' ');
                    }
                    continue;
                }
                if is_hidden(name) || ElementRef::wrap(node).is_some_and(skip) {
                    continue;
                }
                if is_block(name) {
                    flush(&mut line, &mut out);
                }
                stack.push((node, true));
                let children: Vec<_> = node.children().collect();
                for child in children.into_iter().rev() {
                    stack.push((child, false));
                }
            }
            _ => {}
        }
    }
    flush(&mut line, &mut out);
    out
}

/// `href` resolved against `base` when there is one; as written otherwise.
pub(crate) fn resolve(href: &str, base: Option<&Url>) -> String {
    let href = href.trim();
    match base {
        Some(base) => base
            .join(href)
            .map_or_else(|_| href.to_owned(), String::from),
        None => href.to_owned(),
    }
}

/// The links of `el` (itself, when it is one, and those inside it):
/// `{ text, href, rel, title }`, `href` resolved against `base`.
pub(crate) fn links(el: ElementRef<'_>, base: Option<&Url>) -> Vec<Value> {
    let link = |a: ElementRef<'_>| -> Option<Value> {
        let href = a.value().attr("href")?;
        if href.trim().is_empty() {
            return None;
        }
        Some(json!({
            "text": text(a),
            "href": resolve(href, base),
            "rel": a.value().attr("rel"),
            "title": a.value().attr("title"),
        }))
    };
    if matches!(el.value().name(), "a" | "area") {
        return link(el).into_iter().collect();
    }
    el.descendent_elements()
        .filter(|e| matches!(e.value().name(), "a" | "area"))
        .filter_map(link)
        .collect()
}

/// Most columns a `colspan` repeats a cell into.
const MAX_COLSPAN: usize = 100;

/// A table as `{ headers, rows }`: the rows of `el` (not those of nested
/// tables) as lists of cell texts, a `colspan` cell repeated over its
/// columns. The header row is the `<thead>`'s last row, else a first row
/// made only of `<th>` cells; `headers` is null without one. With headers,
/// `records` holds each row as an object keyed by them.
pub(crate) fn table(el: ElementRef<'_>) -> Value {
    let mut header_rows: Vec<Vec<String>> = Vec::new();
    let mut rows: Vec<(Vec<String>, bool)> = Vec::new();
    for tr in table_rows(el) {
        let in_head = tr
            .parent()
            .and_then(ElementRef::wrap)
            .is_some_and(|p| p.value().name() == "thead");
        let mut cells = Vec::new();
        let mut all_th = true;
        for cell in tr.child_elements() {
            let name = cell.value().name();
            if !matches!(name, "td" | "th") {
                continue;
            }
            all_th &= name == "th";
            let span = cell
                .value()
                .attr("colspan")
                .and_then(|s| s.trim().parse::<usize>().ok())
                .unwrap_or(1)
                .clamp(1, MAX_COLSPAN);
            let t = text(cell);
            for _ in 0..span {
                cells.push(t.clone());
            }
        }
        if cells.is_empty() {
            continue;
        }
        if in_head {
            header_rows.push(cells);
        } else {
            rows.push((cells, all_th));
        }
    }
    let headers = match header_rows.pop() {
        Some(h) => Some(h),
        None if rows.first().is_some_and(|(_, all_th)| *all_th) => Some(rows.remove(0).0),
        None => None,
    };
    let rows: Vec<Vec<String>> = rows.into_iter().map(|(cells, _)| cells).collect();
    let records = headers.as_ref().map(|h| {
        rows.iter()
            .map(|row| {
                let mut record = serde_json::Map::new();
                for (i, name) in h.iter().enumerate() {
                    let key = if name.is_empty() || record.contains_key(name) {
                        format!("column_{}", i + 1)
                    } else {
                        name.clone()
                    };
                    record.insert(key, json!(row.get(i)));
                }
                Value::Object(record)
            })
            .collect::<Vec<_>>()
    });
    json!({ "headers": headers, "rows": rows, "records": records })
}

/// The `<tr>` rows of a table in order, directly or through `thead`,
/// `tbody` and `tfoot`, not those of nested tables.
fn table_rows(table: ElementRef<'_>) -> Vec<ElementRef<'_>> {
    let mut rows = Vec::new();
    for child in table.child_elements() {
        match child.value().name() {
            "tr" => rows.push(child),
            "thead" | "tbody" | "tfoot" => {
                rows.extend(child.child_elements().filter(|e| e.value().name() == "tr"));
            }
            _ => {}
        }
    }
    rows
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use scraper::Html;

    fn first<'a>(doc: &'a Html, css: &str) -> ElementRef<'a> {
        doc.select(&Selector::parse(css).unwrap()).next().unwrap()
    }

    #[test]
    fn lines_follow_blocks_and_skip_hidden_content() {
        let doc = Html::parse_document(
            "<body><h1>Title</h1><script>var x = 1;</script><p>One <b>bold</b>\n word</p>\
             <ul><li>a</li><li>b<br>c</li></ul><style>p{}</style></body>",
        );
        assert_eq!(
            lines(first(&doc, "body"), &|_| false),
            ["Title", "One bold word", "a", "b", "c"]
        );
    }

    #[test]
    fn tables_detect_headers() {
        let doc = Html::parse_document(
            "<table><tr><th>Name</th><th>Qty</th></tr><tr><td>nut</td><td>4</td></tr>\
             <tr><td colspan=2>total</td></tr></table>\
             <table id=plain><tr><td>1</td><td>2</td></tr></table>",
        );
        let t = table(first(&doc, "table"));
        assert_eq!(t["headers"], json!(["Name", "Qty"]));
        assert_eq!(t["rows"], json!([["nut", "4"], ["total", "total"]]));
        assert_eq!(t["records"][0], json!({ "Name": "nut", "Qty": "4" }));
        let t = table(first(&doc, "#plain"));
        assert_eq!(t["headers"], Value::Null);
        assert_eq!(t["rows"], json!([["1", "2"]]));
    }

    #[test]
    fn links_are_resolved_against_the_base() {
        let doc = Html::parse_document(
            "<nav><a href='/a' rel='next'>A</a><a href='b?x=1'>B</a><a>none</a></nav>",
        );
        let base = Url::parse("https://example.com/dir/page").unwrap();
        let l = links(first(&doc, "nav"), Some(&base));
        assert_eq!(l.len(), 2);
        assert_eq!(l[0]["href"], "https://example.com/a");
        assert_eq!(l[0]["rel"], "next");
        assert_eq!(l[1]["href"], "https://example.com/dir/b?x=1");
    }
}
