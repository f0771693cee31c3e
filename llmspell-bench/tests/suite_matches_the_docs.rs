//! `docs/technical/performance.md` lists every metric of the suite, in the
//! order `llmspell bench` runs them, and no other.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

#[test]
fn the_metric_table_lists_the_suite_in_order() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/technical/performance.md");
    let doc = std::fs::read_to_string(&path).unwrap();
    let section = doc
        .split("\n## Metrics\n")
        .nth(1)
        .expect("a `## Metrics` section");
    let section = section.split("\n## ").next().unwrap();
    let documented: Vec<&str> = section
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split('`').next())
        .collect();
    let ids: Vec<&str> = llmspell_bench::suite().iter().map(|m| m.id).collect();
    assert_eq!(documented, ids);
}
