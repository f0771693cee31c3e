#![allow(missing_docs)]
fn main() {
    let which = std::env::args().nth(1).unwrap_or_default();
    for _ in 0..5 {
        let ms = match which.as_str() {
            "one" => vec![llmspell_hooks::perf::one_hook(2_000_000).unwrap()],
            "ten" => vec![llmspell_hooks::perf::ten_hooks(300_000).unwrap()],
            "empty" => vec![llmspell_hooks::perf::empty_point(5_000_000).unwrap()],
            _ => vec![
                llmspell_hooks::perf::empty_point(2_000_000).unwrap(),
                llmspell_hooks::perf::one_hook(1_000_000).unwrap(),
                llmspell_hooks::perf::ten_hooks(200_000).unwrap(),
            ],
        };
        for m in ms {
            println!(
                "{:<22} {:>8.1} baseline {:>8.1?} ratio {:>5.2?}",
                m.metric, m.value, m.baseline, m.ratio
            );
        }
    }
}
