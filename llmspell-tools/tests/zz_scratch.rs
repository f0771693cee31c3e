#![allow(clippy::unwrap_used)]
use llmspell_core::{ExecutionContext, Tool};
use llmspell_tools::FsSandbox;
use llmspell_tools::media::{AudioProcessor, VideoProcessor};
use serde_json::json;

#[tokio::test]
async fn scratch() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/media");
    let v = VideoProcessor::new(FsSandbox::new([&root]));
    for f in ["clip.mp4", "clip.webm", "clip.mov"] {
        let out = v.execute(json!({"operation":"metadata","path":f}), &ExecutionContext::native()).await;
        println!("{f}: {}", serde_json::to_string_pretty(&out.unwrap()).unwrap());
    }
    let a = AudioProcessor::new(FsSandbox::new([&root]));
    let out = a.execute(json!({"operation":"probe","path":"clip.mp4"}), &ExecutionContext::native()).await;
    println!("{}", serde_json::to_string_pretty(&out.unwrap()).unwrap());
}
