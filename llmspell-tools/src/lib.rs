//! The 34 built-in tools of llmspell.
//!
//! Every tool implements [`llmspell_core::Tool`]: it describes its
//! parameters and output as JSON Schema, takes JSON parameters and returns a
//! JSON object. Bad parameters are [`llmspell_core::Error::InvalidInput`]
//! errors that name the field; nothing a caller passes panics.
//!
//! The tools come in eight families, one module each:
//!
//! - [`utility`] (security level `safe`): `calculator`, `text_manipulator`,
//!   `uuid_generator`, `hash_calculator`, `base64_encoder`,
//!   `diff_calculator`, `date_time_handler`, `template_engine`,
//!   `data_validation`;
//! - [`data`] (`safe`): `json_processor` (jq queries), `csv_analyzer`;
//! - [`fs`] (`restricted`, confined by an [`FsSandbox`]): `file_operations`,
//!   `file_search`, `archive_handler`, `file_converter`, `file_watcher`;
//! - [`system`]: `environment_reader` and `process_executor`
//!   (`privileged`, allow-listed), `service_checker` and `system_monitor`
//!   (`restricted`);
//! - [`web`] (`restricted`, through the network safety layer [`net`]):
//!   `http_request`, `graphql_query`, `url_analyzer`, `api_tester`,
//!   `webhook_caller`, and the web reading tools `web_search` (DuckDuckGo,
//!   SearXNG, Brave, Tavily), `web_scraper` (CSS selectors, tables,
//!   readable text), `webpage_monitor` (changes since the last check, kept
//!   in the runtime's storage) and `sitemap_crawler` (sitemaps and
//!   robots.txt);
//! - [`media`] (`restricted`, confined by an [`FsSandbox`], with size
//!   limits): `image_processor`, `audio_processor`, `video_processor`
//!   (`privileged` when it may run `ffmpeg`);
//! - [`comm`] (`restricted`, through [`net`], attachments confined by an
//!   [`FsSandbox`]): `email_sender` (SMTP);
//! - [`database`] (`restricted`; SQLite files confined by an [`FsSandbox`],
//!   PostgreSQL through [`net`]): `database_connector`.
//!
//! Every tool that reaches the network (`service_checker`, the web tools,
//! `email_sender` and `database_connector`'s PostgreSQL connections) does
//! so through [`net`]: an allow-list of hosts, internal
//! addresses refused unless allowed, checks on the resolved addresses and
//! on every redirect hop, timeouts and capped bodies.
//!
//! [`builtin_tools`] builds all of them from one [`BuiltinToolsConfig`],
//! whose default allows nothing outside the process. The user guide
//! (`docs/user-guide/tools.md`) lists every tool's parameters and output.
//!
//! # Example
//!
//! ```
//! use llmspell_core::{ExecutionContext, Tool};
//! use llmspell_tools::utility::Calculator;
//! use serde_json::json;
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let calculator = Calculator::new();
//! let out = calculator
//!     .execute(
//!         json!({ "expression": "2 + 2 * x", "variables": { "x": 3 } }),
//!         &ExecutionContext::native(),
//!     )
//!     .await?;
//! assert_eq!(out, json!({ "result": 8 }));
//! # Ok::<(), llmspell_core::Error>(())
//! # }).unwrap();
//! ```

mod catalog;
mod invoke;
mod limits;
mod params;
mod registry;
mod sandbox;
mod schema;
mod script_tool;
mod validation;

pub mod comm;
pub mod data;
pub mod database;
pub mod fs;
pub mod media;
pub mod net;
pub mod system;
pub mod utility;
pub mod web;

pub use catalog::{BuiltinToolsConfig, builtin_tools, builtin_tools_with_storage};
pub use invoke::{InvokeOptions, ToolOutput};
pub use limits::{ResourceLimits, ResourceUsage, ToolCounters};
pub use llmspell_core::json_size;
pub use registry::{ToolInfo, ToolQuery, ToolRegistry, ToolRegistryBuilder};
pub use sandbox::FsSandbox;
pub use script_tool::{ScriptTool, ToolHandler};
