//! Every built-in tool publishes valid JSON Schemas for its parameters and
//! output, accepts an example call that conforms to the first, and returns
//! output that conforms to the second.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;

mod net_support;

use llmspell_core::{ExecutionContext, Tool};
use llmspell_tools::web::{SearchEndpoint, SearchProviderKind, WebSearchConfig};
use llmspell_tools::{BuiltinToolsConfig, builtin_tools};
use serde_json::{Value, json};

/// One example call per tool; file paths are relative to the test root.
fn examples(port: u16) -> Vec<(&'static str, Value)> {
    vec![
        (
            "calculator",
            json!({ "expression": "2 + 2 * x", "variables": { "x": 3 } }),
        ),
        (
            "text_manipulator",
            json!({ "operation": "snake_case", "text": "Hello World" }),
        ),
        (
            "uuid_generator",
            json!({ "operation": "generate", "version": "v7", "count": 2 }),
        ),
        (
            "hash_calculator",
            json!({ "operation": "hash", "algorithm": "sha256", "input": "abc" }),
        ),
        (
            "base64_encoder",
            json!({ "operation": "encode", "input": "hello", "variant": "url_safe" }),
        ),
        (
            "diff_calculator",
            json!({ "operation": "json", "old": { "a": 1 }, "new": { "a": 2, "b": true } }),
        ),
        (
            "date_time_handler",
            json!({ "operation": "convert", "datetime": "2024-07-01T12:00:00Z", "timezone": "Asia/Tokyo" }),
        ),
        (
            "template_engine",
            json!({ "template": "Hi {{ name }}!", "context": { "name": "Ada" }, "strict": true }),
        ),
        (
            "data_validation",
            json!({ "data": { "age": -1 }, "schema": { "type": "object", "properties": { "age": { "minimum": 0 } } } }),
        ),
        (
            "json_processor",
            json!({ "operation": "query", "query": "[.[] | .n * 2]", "input": [{ "n": 1 }, { "n": 2 }] }),
        ),
        (
            "csv_analyzer",
            json!({ "operation": "stats", "text": "name,score\nada,90\nbob,70\n" }),
        ),
        (
            "file_operations",
            json!({ "operation": "write", "path": "notes/todo.txt", "content": "buy milk", "create_dirs": true }),
        ),
        (
            "file_search",
            json!({ "pattern": "**/*.txt", "content": "milk" }),
        ),
        (
            "archive_handler",
            json!({ "operation": "create", "archive": "notes.tar.gz", "sources": ["notes"] }),
        ),
        (
            "file_converter",
            json!({ "operation": "format", "content": "a: 1\nb: [x, y]\n", "from": "yaml", "to": "json" }),
        ),
        ("file_watcher", json!({ "duration_ms": 50 })),
        (
            "environment_reader",
            json!({ "operation": "get", "name": "PATH" }),
        ),
        (
            "process_executor",
            json!({ "command": "echo", "args": ["hello"], "timeout_ms": 5000 }),
        ),
        (
            "service_checker",
            json!({ "operation": "tcp", "host": "127.0.0.1", "port": port, "timeout_ms": 2000 }),
        ),
        ("system_monitor", json!({ "metrics": ["memory", "uptime"] })),
        (
            "http_request",
            json!({ "url": format!("http://127.0.0.1:{port}/json"), "query": { "page": 2 } }),
        ),
        (
            "graphql_query",
            json!({ "operation": "query", "endpoint": format!("http://127.0.0.1:{port}/graphql"),
                    "query": "query($n: String!) { repository(name: $n) { stars } }",
                    "variables": { "n": "llmspell" } }),
        ),
        (
            "url_analyzer",
            json!({ "operation": "fetch", "url": format!("http://127.0.0.1:{port}/page.html") }),
        ),
        (
            "api_tester",
            json!({ "request": { "url": format!("http://127.0.0.1:{port}/json") },
                    "assertions": [{ "type": "json_path", "path": "$.id", "equals": 7 }] }),
        ),
        (
            "webhook_caller",
            json!({ "url": format!("http://127.0.0.1:{port}/webhook"), "payload": { "n": 1 } }),
        ),
        (
            "image_processor",
            json!({ "operation": "resize", "path": "photo.png", "width": 32, "output_path": "photo-small.webp" }),
        ),
        (
            "audio_processor",
            json!({ "operation": "trim", "path": "voice.wav", "start_seconds": 0.25, "end_seconds": 0.75, "output_path": "voice-cut.wav" }),
        ),
        (
            "video_processor",
            json!({ "operation": "metadata", "path": "clip.mp4" }),
        ),
        ("web_search", json!({ "query": "rust", "max_results": 2 })),
        (
            "web_scraper",
            json!({ "url": format!("http://127.0.0.1:{port}/site/article.html"),
                    "selectors": { "prices": { "selector": "#prices", "extract": "table", "first": true } },
                    "readable": true }),
        ),
        (
            "webpage_monitor",
            json!({ "operation": "check", "url": format!("http://127.0.0.1:{port}/monitored"), "selector": "p" }),
        ),
        (
            "sitemap_crawler",
            json!({ "url": format!("http://127.0.0.1:{port}/"), "max_urls": 10 }),
        ),
        (
            "email_sender",
            json!({ "to": ["Ada <ada@example.com>"], "subject": "Notes", "text": "attached",
                    "html": "<p>attached</p>", "attachments": [{ "path": "notes/todo.txt" }] }),
        ),
        (
            "database_connector",
            json!({ "sql": "SELECT ? AS n, upper(?) AS word", "params": [7, "llmspell"] }),
        ),
    ]
}

/// The media files the media examples read: a 64 × 32 PNG, one second of
/// 8 kHz mono WAV and the MP4 fixture.
fn media_files(dir: &std::path::Path) {
    image::RgbImage::from_pixel(64, 32, image::Rgb([200, 10, 10]))
        .save(dir.join("photo.png"))
        .unwrap();
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut wav = hound::WavWriter::create(dir.join("voice.wav"), spec).unwrap();
    for i in 0..8000i16 {
        wav.write_sample(i % 100).unwrap();
    }
    wav.finalize().unwrap();
    let fixture =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/media/clip.mp4");
    fs::copy(fixture, dir.join("clip.mp4")).unwrap();
}

fn check(schema: &Value, instance: &Value, what: &str) {
    let validator = jsonschema::validator_for(schema)
        .unwrap_or_else(|e| panic!("{what}: the schema does not compile: {e}"));
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what}: {errors:?}\ninstance: {instance}"
    );
}

#[test]
fn parameter_schemas_describe_every_property() {
    for tool in builtin_tools(&BuiltinToolsConfig::default()) {
        let name = tool.metadata().name().to_owned();
        let schema = tool.parameters_schema();
        assert_eq!(schema["type"], "object", "{name}");
        assert!(schema.get("$schema").is_none(), "{name}");
        assert!(schema.get("$defs").is_none(), "{name}");
        let properties = schema["properties"].as_object().unwrap();
        assert!(!properties.is_empty(), "{name}");
        // An operation tool: `operation` names one of the `oneOf` objects,
        // each a complete call of one operation.
        let calls = if let Some(op) = properties.get("operation") {
            let names = op["enum"].as_array().expect("operation needs an enum");
            assert!(!names.is_empty(), "{name}");
            assert!(
                op["description"].as_str().is_some_and(|d| !d.is_empty()),
                "{name}"
            );
            assert_eq!(schema["required"], json!(["operation"]), "{name}");
            let branches = schema["oneOf"].as_array().expect("operation needs a oneOf");
            assert_eq!(branches.len(), names.len(), "{name}");
            for (branch, op) in branches.iter().zip(names) {
                assert_eq!(branch["properties"]["operation"]["const"], *op, "{name}");
                let described = branch["description"]
                    .as_str()
                    .is_some_and(|d| !d.is_empty());
                assert!(described, "{name}.{op} has no description");
            }
            branches.clone()
        } else {
            vec![schema.clone()]
        };
        for call in &calls {
            assert_eq!(call["type"], "object", "{name}");
            assert_eq!(call["additionalProperties"], false, "{name}");
            for (prop, spec) in call["properties"].as_object().unwrap() {
                if prop == "operation" {
                    continue;
                }
                let described = spec["description"].as_str().is_some_and(|d| !d.is_empty());
                assert!(described, "{name}.{prop} has no description");
            }
        }
        jsonschema::validator_for(&schema).unwrap();
        let output = tool.output_schema();
        assert_eq!(output["type"], "object", "{name}");
        jsonschema::validator_for(&output).unwrap();
        let description = &tool.metadata().description;
        assert!(
            !description.is_empty() && !description.contains('\n'),
            "{name}"
        );
    }
}

#[tokio::test]
async fn example_calls_conform_and_outputs_match_the_output_schema() {
    let dir = tempfile::tempdir().unwrap();
    let server = net_support::start().await;
    let port = server.addr.port();
    let sink = llmspell_testkit::smtp::SmtpSink::builder().start();
    let config = BuiltinToolsConfig {
        fs_roots: vec![dir.path().to_path_buf()],
        allowed_commands: vec!["echo".into()],
        allowed_env_vars: vec!["PATH".into()],
        allowed_hosts: vec!["127.0.0.1".into()],
        web_search: WebSearchConfig::default().with_provider(
            SearchProviderKind::Searxng,
            SearchEndpoint {
                base_url: Some(server.url("/searxng")),
                api_key_env: None,
            },
        ),
        email: llmspell_tools::comm::EmailConfig {
            host: Some("127.0.0.1".into()),
            port: Some(sink.port()),
            security: llmspell_tools::comm::SmtpSecurity::Plain,
            from: Some("reports@example.com".into()),
            allowed_recipient_domains: vec!["example.com".into()],
            ..llmspell_tools::comm::EmailConfig::default()
        },
        ..BuiltinToolsConfig::default()
    };
    let tools = builtin_tools(&config);
    media_files(dir.path());
    let examples = examples(port);
    assert_eq!(examples.len(), tools.len());
    for (name, params) in examples {
        let tool = tools.iter().find(|t| t.metadata().name() == name).unwrap();
        check(
            &tool.parameters_schema(),
            &params,
            &format!("{name} parameters"),
        );
        let output = tool
            .execute(params, &ExecutionContext::native())
            .await
            .unwrap_or_else(|e| panic!("{name} failed: {e}"));
        check(&tool.output_schema(), &output, &format!("{name} output"));
    }
    // The file-system examples ran in order against the root.
    assert_eq!(
        fs::read_to_string(dir.path().join("notes/todo.txt")).unwrap(),
        "buy milk"
    );
    assert!(dir.path().join("notes.tar.gz").exists());
    assert!(dir.path().join("photo-small.webp").exists());
    assert!(dir.path().join("voice-cut.wav").exists());
    assert_eq!(sink.received().len(), 1);
}
