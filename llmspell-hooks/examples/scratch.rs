#![allow(missing_docs, clippy::unwrap_used)]
fn main() {
    use llmspell_hooks::perf;
    for m in [perf::empty_point(2_000_000).unwrap(), perf::one_hook(1_000_000).unwrap(), perf::ten_hooks(200_000).unwrap(), perf::register(1000), perf::breaker_trip_calls().unwrap()] {
        println!("{} {:.1} base {:?} {} met={}", m.metric, m.value, m.baseline.map(|b| (b*10.0).round()/10.0), m.target, m.met);
    }
}
