//! The `llmspell` command.
//!
//! The script runtime is not built yet: this binary prints its version and
//! the commands it will offer.

use clap::Parser;

/// llmspell: hooks and events for LLM applications, scriptable from Lua and JavaScript.
#[derive(Debug, Parser)]
#[command(name = "llmspell", version, about)]
struct Cli {}

fn main() {
    let _ = Cli::parse();
    println!("llmspell {}", env!("CARGO_PKG_VERSION"));
    println!();
    println!("Commands (arriving with the script runtime):");
    println!("  run FILE...      run Lua/JavaScript scripts in one runtime");
    println!("  hooks points     list every hook point");
    println!("  tools list       list the registered tools");
    println!("  events tail      follow persisted events");
    println!("  bench [--json]   run the performance suite");
}
