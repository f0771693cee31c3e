//! Running one statement on SQLite: a file under the file-system roots or
//! an in-memory database, read-only unless writes are allowed, with a row
//! limit and a time limit that interrupts the statement.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use base64::Engine as _;
use futures::TryStreamExt;
use llmspell_core::Result;
use serde_json::{Number, Value};
use sqlx::sqlite::{SqliteArguments, SqliteConnectOptions, SqliteConnection, SqliteRow};
use sqlx::{
    AssertSqlSafe, Column as _, ConnectOptions, Connection, Either, Executor, Row, SqlSafeStr,
    Sqlite, Statement, TypeInfo, ValueRef,
};

use super::binding::{self, Param};
use super::errors::{Engine, map};
use super::outcome::{Column, Outcome};
use super::statement::check_sqlite;

/// How often (in SQLite virtual-machine instructions) the time limit is
/// checked while a statement runs.
const PROGRESS_EVERY: i32 = 1000;

/// Which SQLite database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SqliteTarget {
    /// A private in-memory database, gone after the call.
    Memory,
    /// A file, already resolved inside the file-system roots.
    File(PathBuf),
}

/// One statement to run.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub(crate) sql: String,
    pub(crate) params: Vec<Param>,
    pub(crate) max_rows: usize,
    pub(crate) timeout: Duration,
    pub(crate) allow_writes: bool,
}

/// Runs `request` on `target`.
///
/// # Errors
/// As [`check_sqlite`]; a database error mapped by [`map`] (a write on a
/// read-only database is a `SecurityViolation`, the time limit a
/// `Timeout`, bad SQL an `InvalidInput` naming `sql`).
pub(crate) async fn run(target: &SqliteTarget, request: Request) -> Result<Outcome> {
    check_sqlite(&request.sql)?;
    let timeout = request.timeout;
    let fail = |e| map(Engine::Sqlite, e, timeout);
    let options = match target {
        SqliteTarget::Memory => SqliteConnectOptions::new(),
        SqliteTarget::File(path) => SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(request.allow_writes),
    }
    .read_only(!request.allow_writes)
    .pragma(
        "query_only",
        if request.allow_writes { "OFF" } else { "ON" },
    )
    .busy_timeout(timeout)
    .disable_statement_logging();
    let mut conn = options.connect().await.map_err(fail)?;
    // The statement runs on SQLite's worker thread; this handler stops it
    // there once the time is up (SQLITE_INTERRUPT).
    let deadline = Instant::now() + timeout;
    conn.lock_handle()
        .await
        .map_err(fail)?
        .set_progress_handler(PROGRESS_EVERY, move || Instant::now() < deadline);
    let ran = tokio::time::timeout(
        timeout + Duration::from_secs(1),
        execute(&mut conn, request),
    )
    .await;
    // Closing waits for the worker; a failure to close changes no result.
    let _ = conn.close().await;
    match ran {
        Ok(outcome) => outcome,
        Err(_) => Err(llmspell_core::Error::Timeout {
            operation: "sqlite statement".to_owned(),
            after: timeout,
        }),
    }
}

async fn execute(conn: &mut SqliteConnection, request: Request) -> Result<Outcome> {
    let timeout = request.timeout;
    let fail = |e| map(Engine::Sqlite, e, timeout);
    let statement = conn
        .prepare(AssertSqlSafe(request.sql).into_sql_str())
        .await
        .map_err(fail)?;
    let expected = match statement.parameters() {
        Some(Either::Right(n)) => n,
        Some(Either::Left(types)) => types.len(),
        None => request.params.len(),
    };
    binding::check_count(expected, request.params.len())?;
    let mut columns: Vec<Column> = statement
        .columns()
        .iter()
        .map(|c| Column {
            name: c.name().to_owned(),
            type_name: c.type_info().name().to_ascii_lowercase(),
        })
        .collect();
    let mut query = statement.query();
    for p in request.params {
        query = bind(query, p);
    }
    let mut outcome = Outcome::default();
    let mut affected = 0;
    // One statement (checked above), so the deprecated multi-statement
    // behaviour of `fetch_many` never applies; it is used for the row count
    // of statements without rows.
    #[allow(deprecated)]
    let mut stream = query.fetch_many(&mut *conn);
    let mut finished = true;
    while let Some(item) = stream.try_next().await.map_err(fail)? {
        match item {
            Either::Left(done) => affected += done.rows_affected(),
            Either::Right(row) => {
                if outcome.rows.len() == request.max_rows {
                    outcome.truncated = true;
                    finished = false;
                    break;
                }
                outcome
                    .rows
                    .push(row_values(&row, &mut columns).map_err(fail)?);
            }
        }
    }
    drop(stream);
    outcome.columns = columns;
    outcome.rows_affected = finished.then_some(affected);
    Ok(outcome)
}

fn bind<'q>(
    query: sqlx::query::Query<'q, Sqlite, SqliteArguments>,
    p: Param,
) -> sqlx::query::Query<'q, Sqlite, SqliteArguments> {
    match p {
        Param::Null => query.bind(None::<i64>),
        Param::Bool(b) => query.bind(b),
        Param::Int(i) => query.bind(i),
        Param::Float(f) => query.bind(f),
        Param::Text(s) => query.bind(s),
        Param::Json(v) => query.bind(v.to_string()),
    }
}

/// The values of `row` as JSON. A column whose declared type is unknown
/// (an expression) takes the type of its first non-null value.
fn row_values(row: &SqliteRow, columns: &mut [Column]) -> sqlx::Result<Vec<Value>> {
    let mut values = Vec::with_capacity(columns.len());
    for (i, column) in columns.iter_mut().enumerate() {
        let declared = row
            .columns()
            .get(i)
            .map(|c| c.type_info().name().to_ascii_lowercase())
            .unwrap_or_default();
        let raw = row.try_get_raw(i)?;
        if raw.is_null() {
            values.push(Value::Null);
            continue;
        }
        let storage = raw.type_info().name().to_ascii_lowercase();
        if column.type_name == "null" || column.type_name.is_empty() {
            column.type_name = if declared.is_empty() || declared == "null" {
                storage.clone()
            } else {
                declared.clone()
            };
        }
        let value = match storage.as_str() {
            "integer" | "boolean" => {
                let n: i64 = row.try_get_unchecked(i)?;
                if declared == "boolean" {
                    Value::Bool(n != 0)
                } else {
                    Value::from(n)
                }
            }
            "real" => float(row.try_get_unchecked(i)?),
            "blob" => {
                let bytes: Vec<u8> = row.try_get_unchecked(i)?;
                Value::String(base64::engine::general_purpose::STANDARD.encode(bytes))
            }
            _ => Value::String(row.try_get_unchecked(i)?),
        };
        values.push(value);
    }
    Ok(values)
}

/// A float as JSON: a number, or `"NaN"`, `"Infinity"`, `"-Infinity"`.
pub(crate) fn float(f: f64) -> Value {
    match Number::from_f64(f) {
        Some(n) => Value::Number(n),
        None if f.is_nan() => Value::String("NaN".to_owned()),
        None if f > 0.0 => Value::String("Infinity".to_owned()),
        None => Value::String("-Infinity".to_owned()),
    }
}
