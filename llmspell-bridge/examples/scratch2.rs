#![allow(missing_docs, clippy::unwrap_used)]
fn main() {
    let m = llmspell_bridge::perf::lua_hook_same_thread(100_000).unwrap();
    println!("{}", m.value);
}
