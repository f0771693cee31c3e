//! Database tools (category `database`).
//!
//! - [`DatabaseConnector`] (`database_connector`, `restricted`): one SQL
//!   statement with bound parameters on SQLite (a file under the
//!   [`FsSandbox`](crate::FsSandbox) roots, or `:memory:`) or on a
//!   PostgreSQL connection of [`DatabaseConfig`] (`[database]` in
//!   `llmspell.toml`), through sqlx. Results are JSON rows with column
//!   names and types; reads only unless writes are allowed; row and time
//!   limits.
//!
//! PostgreSQL connections go through the network safety layer
//! ([`crate::net`]): the configured host must be on `allowed_hosts`, and
//! only the addresses [`NetPolicy::resolve`](crate::net::NetPolicy::resolve)
//! returns are connected to.
//!
//! SQL types become JSON like this: integers and floats are numbers (a
//! float that JSON cannot hold is `"NaN"`, `"Infinity"` or `"-Infinity"`),
//! booleans are booleans (SQLite: a column declared `BOOLEAN`), text is a
//! string, `NULL` is `null`, bytes (`BLOB`, `bytea`) are base64,
//! `timestamptz` is RFC 3339 in UTC, `timestamp` an ISO 8601 date and time
//! without offset, `date` and `time` ISO 8601, `numeric` a string (no
//! precision is lost), `json`/`jsonb` the JSON itself, `uuid` a string,
//! `interval` `{ months, days, microseconds }`, arrays of these arrays, an
//! enum its label. Other PostgreSQL types are an error naming the column:
//! cast them in the query (`col::text`).

mod binding;
mod config;
mod database_connector;
mod errors;
mod outcome;
mod postgres;
mod sqlite;
mod statement;

pub use config::{DEFAULT_MAX_ROWS, DatabaseConfig, PostgresConnection};
pub use database_connector::DatabaseConnector;
