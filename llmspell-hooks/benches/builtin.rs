//! Built-in hook benchmarks (filled in below).
fn main() {}
