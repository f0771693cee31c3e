//! The `llmspell` command: runs Lua (and JavaScript) scripts in one runtime
//! and inspects hooks, tools and persisted events.

mod bench;
mod cli;
mod events;
mod run;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::dispatch(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("llmspell: {e:#}");
            ExitCode::from(2)
        }
    }
}
