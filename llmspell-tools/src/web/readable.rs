//! Readable text: the main content of a page without its navigation,
//! scripts, styles and boilerplate.
//!
//! The heuristic scores containers by the paragraphs they hold, as
//! reading-mode extractors do:
//!
//! 1. Elements that are never content are left out: `script`, `style`,
//!    `nav`, `header`, `footer`, `aside`, `form`, ...; elements whose role
//!    is `navigation`, `banner`, `contentinfo`, `complementary` or
//!    `search`; elements that are `hidden`; and elements whose class or id
//!    reads as boilerplate (`sidebar`, `comment`, `cookie`, `share`, ...)
//!    unless it also reads as content (`article`, `content`, `main`, ...).
//! 2. Each paragraph-like block (`p`, `pre`, `blockquote`, `td`, `li`,
//!    `h2`–`h6`, a `div` holding text directly) with at least 25
//!    characters scores 1, plus 1 per comma, plus 1 per 100 characters (at
//!    most 3). Its parent gains the score, its grandparent half of it.
//! 3. A candidate's score is scaled by its class/id hints and by the share
//!    of its text that is not link text. The best candidate wins; an
//!    `<article>` or `<main>` element (or `role="main"`) holding most of
//!    the winner's text is preferred over it.
//! 4. The text of the winner is returned one block per line.

use std::collections::HashMap;

use scraper::{ElementRef, Html, Selector};

use super::html::{collapse, lines};

/// Never content.
const EXCLUDED: [&str; 12] = [
    "nav", "header", "footer", "aside", "form", "button", "select", "input", "textarea", "menu",
    "dialog", "object",
];

/// Roles that are never content.
const EXCLUDED_ROLES: [&str; 6] = [
    "navigation",
    "banner",
    "contentinfo",
    "complementary",
    "search",
    "menu",
];

/// Class or id words that mark boilerplate (a word of four letters or more
/// also matches as a prefix: `comments`, `sidebar-left`).
const NEGATIVE: [&str; 22] = [
    "sidebar",
    "comment",
    "footer",
    "footnote",
    "masthead",
    "menu",
    "nav",
    "share",
    "social",
    "sponsor",
    "promo",
    "related",
    "breadcrumb",
    "cookie",
    "banner",
    "popup",
    "modal",
    "advert",
    "ad",
    "ads",
    "widget",
    "newsletter",
];

/// Class or id words that mark content.
const POSITIVE: [&str; 9] = [
    "article", "body", "content", "entry", "main", "page", "post", "story", "text",
];

/// The readable part of a page.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Readable {
    /// The page's title (`<title>`, else the first `<h1>`).
    pub(crate) title: Option<String>,
    /// The main content, one block per line.
    pub(crate) lines: Vec<String>,
}

impl Readable {
    /// The text, one block per line.
    pub(crate) fn text(&self) -> String {
        self.lines.join("\n")
    }

    /// Words in the text.
    pub(crate) fn word_count(&self) -> usize {
        self.lines
            .iter()
            .map(|l| l.split_whitespace().count())
            .sum()
    }
}

/// The words of a class or id attribute, lower case, split at separators.
fn words(el: ElementRef<'_>) -> Vec<String> {
    let v = el.value();
    let mut out = Vec::new();
    for attr in [v.attr("class"), v.attr("id")].into_iter().flatten() {
        out.extend(
            attr.split(|c: char| !c.is_ascii_alphanumeric())
                .filter(|w| !w.is_empty())
                .map(str::to_ascii_lowercase),
        );
    }
    out
}

/// +1 for content hints, -1 for boilerplate hints, 0 for neither or both.
fn hint(el: ElementRef<'_>) -> i32 {
    let words = words(el);
    let matches = |w: &String, list: &[&str]| {
        list.iter()
            .any(|m| w == m || (m.len() >= 4 && w.starts_with(m)))
    };
    let positive = words.iter().any(|w| matches(w, &POSITIVE));
    let negative = words.iter().any(|w| matches(w, &NEGATIVE));
    i32::from(positive) - i32::from(negative)
}

/// Whether `el` (and its content) is left out of the readable text.
fn excluded(el: ElementRef<'_>) -> bool {
    let v = el.value();
    let name = v.name();
    if EXCLUDED.contains(&name) || v.attr("hidden").is_some() {
        return true;
    }
    if v.attr("aria-hidden") == Some("true") {
        return true;
    }
    if v.attr("role")
        .is_some_and(|r| EXCLUDED_ROLES.contains(&r.trim()))
    {
        return true;
    }
    name != "body" && name != "html" && hint(el) < 0
}

/// Whether `el` or an ancestor is excluded.
fn inside_excluded(el: ElementRef<'_>) -> bool {
    std::iter::successors(Some(el), |e| e.parent().and_then(ElementRef::wrap)).any(excluded)
}

/// Characters of the text of `el` inside links, and of all its text.
fn link_density(el: ElementRef<'_>) -> f64 {
    let all: usize = lines(el, &excluded).iter().map(String::len).sum();
    if all == 0 {
        return 1.0;
    }
    let linked: usize = el
        .descendent_elements()
        .filter(|e| e.value().name() == "a")
        .map(|a| collapse(&a.text().collect::<String>()).len())
        .sum();
    (linked as f64 / all as f64).min(1.0)
}

/// Whether `el` is a block whose own text is scored.
fn scored_block(el: ElementRef<'_>) -> bool {
    match el.value().name() {
        "p" | "pre" | "blockquote" | "td" | "li" | "h2" | "h3" | "h4" | "h5" | "h6" => true,
        // A div holding text directly (not only through child blocks).
        "div" => el.children().any(|c| {
            c.value()
                .as_text()
                .is_some_and(|t| t.trim().chars().count() >= 25)
        }),
        _ => false,
    }
}

/// The main content of `doc`.
pub(crate) fn extract(doc: &Html) -> Readable {
    let title = first_text(doc, "title").or_else(|| first_text(doc, "h1"));
    let root = doc.root_element();
    let body = select_first(doc, "body").unwrap_or(root);

    let mut scores = HashMap::new();
    for el in body.descendent_elements() {
        if !scored_block(el) || inside_excluded(el) {
            continue;
        }
        let t = collapse(&el.text().collect::<String>());
        let chars = t.chars().count();
        if chars < 25 {
            continue;
        }
        let score = 1.0 + t.matches(',').count() as f64 + (chars as f64 / 100.0).floor().min(3.0);
        let parent = el.parent().and_then(ElementRef::wrap);
        let grandparent = parent.and_then(|p| p.parent()).and_then(ElementRef::wrap);
        for (ancestor, share) in [(parent, 1.0), (grandparent, 0.5)] {
            if let Some(a) = ancestor {
                let base = match a.value().name() {
                    "div" | "article" | "section" | "main" => 5.0,
                    "pre" | "td" | "blockquote" => 3.0,
                    "ol" | "ul" | "dl" | "dd" | "dt" | "li" => -3.0,
                    _ => 0.0,
                } + 25.0 * f64::from(hint(a));
                scores.entry(a.id()).or_insert((base, a)).0 += score * share;
            }
        }
    }
    let best = scores
        .into_values()
        .map(|(score, el): (f64, ElementRef<'_>)| (score * (1.0 - link_density(el)), el))
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, el)| el);

    let chosen = match best {
        Some(el) => semantic_container(el).unwrap_or(el),
        None => semantic_main(doc).unwrap_or(body),
    };
    Readable {
        title,
        lines: lines(chosen, &excluded),
    }
}

/// An `<article>`, `<main>` or `role="main"` element around `el` that adds
/// little text to it (at most a quarter more: a heading, a byline), or one
/// inside it that holds most (80%) of its text.
fn semantic_container(el: ElementRef<'_>) -> Option<ElementRef<'_>> {
    let size = |e: ElementRef<'_>| -> usize { lines(e, &excluded).iter().map(String::len).sum() };
    let own = size(el);
    let around = std::iter::successors(el.parent().and_then(ElementRef::wrap), |e| {
        e.parent().and_then(ElementRef::wrap)
    })
    .find(|a| is_semantic_main(*a))
    .filter(|a| size(*a) * 4 <= own * 5);
    around.or_else(|| {
        el.descendent_elements()
            .skip(1)
            .find(|d| is_semantic_main(*d))
            .filter(|d| size(*d) * 5 >= own * 4)
    })
}

fn is_semantic_main(el: ElementRef<'_>) -> bool {
    matches!(el.value().name(), "article" | "main") || el.value().attr("role") == Some("main")
}

/// The first `<main>`, `role="main"` or `<article>` of the document.
fn semantic_main(doc: &Html) -> Option<ElementRef<'_>> {
    select_first(doc, "main, [role=main], article")
}

fn select_first<'a>(doc: &'a Html, css: &str) -> Option<ElementRef<'a>> {
    let sel = Selector::parse(css).ok()?;
    doc.select(&sel).next()
}

fn first_text(doc: &Html, css: &str) -> Option<String> {
    select_first(doc, css)
        .map(|e| collapse(&e.text().collect::<String>()))
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_article_wins_over_navigation_and_sidebars() {
        let html = r#"<html><head><title>Widgets, explained</title>
            <style>body { color: red }</style></head><body>
            <header><nav><a href="/">Home</a> <a href="/about">About</a></nav></header>
            <div class="sidebar"><p>Related: many other widgets you might like, and more, and more.</p></div>
            <div id="content">
              <h1>Widgets</h1>
              <p>A widget is a small gadget or mechanical device, especially one whose name is unknown.</p>
              <p>Widgets come in many shapes, sizes, and colours, and they are sold by the dozen.</p>
              <script>track("view")</script>
            </div>
            <div class="comments"><p>Great article, thanks, I learned a lot about widgets today.</p></div>
            <footer><p>Copyright 2024, Widgets Incorporated, all rights reserved worldwide.</p></footer>
            </body></html>"#;
        let r = extract(&Html::parse_document(html));
        assert_eq!(r.title.as_deref(), Some("Widgets, explained"));
        assert_eq!(
            r.lines,
            [
                "Widgets",
                "A widget is a small gadget or mechanical device, especially one whose name is unknown.",
                "Widgets come in many shapes, sizes, and colours, and they are sold by the dozen."
            ]
        );
        assert!(r.word_count() > 20);
    }

    #[test]
    fn a_link_list_loses_to_prose() {
        let links: String = (0..20)
            .map(|i| {
                format!("<li><a href='/p{i}'>A long link text number {i}, to another page</a></li>")
            })
            .collect();
        let html = format!(
            "<body><div><ul>{links}</ul></div><div><p>The only real paragraph, with a comma, \
             is here and it says something useful.</p></div></body>"
        );
        let r = extract(&Html::parse_document(&html));
        assert_eq!(
            r.lines,
            ["The only real paragraph, with a comma, is here and it says something useful."]
        );
    }

    #[test]
    fn a_page_without_paragraphs_falls_back_to_main_or_body() {
        let r = extract(&Html::parse_document(
            "<body><nav>menu</nav><main><h2>Hi</h2><span>short</span></main></body>",
        ));
        assert_eq!(r.lines, ["Hi", "short"]);
        let r = extract(&Html::parse_document(
            "<body><nav>menu</nav>just text</body>",
        ));
        assert_eq!(r.lines, ["just text"]);
    }
}
