#![allow(missing_docs, clippy::unwrap_used)]
fn main() {
    use llmspell_bridge::perf;
    for m in [
        perf::lua_hook_same_thread(50_000).unwrap(),
        perf::lua_hook_cross_thread(20_000).unwrap(),
        perf::lua_publish_callback(100_000).unwrap(),
    ] {
        println!(
            "{} {:.1} base {:?} {} met={}",
            m.metric,
            m.value,
            m.baseline.map(|b| b.round()),
            m.target,
            m.met
        );
    }
}
