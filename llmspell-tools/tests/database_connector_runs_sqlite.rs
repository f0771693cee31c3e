//! `database_connector` on SQLite files in a temporary directory: typed
//! results, bound parameters (an injection attempt stays a literal),
//! read-only enforced by SQLite itself, refused statements, row and time
//! limits, errors that name the problem, and a hook changing a call.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use llmspell_core::{Error, ExecutionContext};
use llmspell_hooks::{
    GuardedRunner, HookExecutor, HookPoint, HookRegistry, HookResult, sync_hook_fn,
};
use llmspell_tools::database::{DatabaseConfig, DatabaseConnector};
use llmspell_tools::net::{NetPolicy, SecretEnv};
use llmspell_tools::{FsSandbox, ToolRegistry};
use serde_json::{Value, json};
use tempfile::TempDir;

struct Rig {
    hooks: HookRegistry,
    tools: ToolRegistry,
}

impl Rig {
    fn new(dir: &TempDir, config: DatabaseConfig) -> Self {
        let hooks = HookRegistry::new();
        let tools = ToolRegistry::new(GuardedRunner::new(
            HookExecutor::builder(hooks.clone()).build(),
        ));
        tools
            .register(Arc::new(DatabaseConnector::new(
                config,
                NetPolicy::deny_all(),
                FsSandbox::new([dir.path()]),
                SecretEnv::default(),
            )))
            .unwrap();
        Self { hooks, tools }
    }

    fn writer(dir: &TempDir) -> Self {
        Self::new(
            dir,
            DatabaseConfig {
                allow_writes: true,
                ..DatabaseConfig::default()
            },
        )
    }

    fn reader(dir: &TempDir) -> Self {
        Self::new(dir, DatabaseConfig::default())
    }

    async fn run(&self, params: Value) -> Result<Value, Error> {
        self.tools
            .invoke("database_connector", params, &ExecutionContext::native())
            .await
    }

    async fn sql(&self, db: &str, sql: &str, params: Value) -> Result<Value, Error> {
        self.run(json!({ "database": db, "sql": sql, "params": params }))
            .await
    }
}

async fn shop(dir: &TempDir) -> Rig {
    let w = Rig::writer(dir);
    w.sql(
        "shop.db",
        "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price REAL, \
         in_stock BOOLEAN, photo BLOB, tags TEXT, added DATETIME, note TEXT)",
        json!([]),
    )
    .await
    .unwrap();
    w
}

#[tokio::test]
async fn values_round_trip_with_names_and_types() {
    let dir = TempDir::new().unwrap();
    let w = shop(&dir).await;
    let injection = "x'); DROP TABLE items; --";
    let out = w
        .sql(
            "shop.db",
            "INSERT INTO items (name, price, in_stock, photo, tags, added, note) \
             VALUES (?, ?, ?, X'00FF10', ?, ?, ?)",
            json!([
                injection,
                9.5,
                true,
                ["a", "b"],
                "2024-07-01T12:00:00Z",
                null
            ]),
        )
        .await
        .unwrap();
    assert_eq!(out["rows_affected"], 1);
    assert_eq!(out["rows"], json!([]));
    w.sql(
        "shop.db",
        "INSERT INTO items (name, price, in_stock, note) VALUES (?1, ?2, $3, ?1)",
        json!(["Widget", 3, false]),
    )
    .await
    .unwrap();

    let r = Rig::reader(&dir);
    let out = r
        .sql(
            "shop.db",
            "SELECT id, name, price, in_stock, photo, tags, added, note, price * 2 AS double \
             FROM items ORDER BY id",
            json!([]),
        )
        .await
        .unwrap();
    assert_eq!(out["engine"], "sqlite");
    assert_eq!(
        out["columns"],
        json!([
            { "name": "id", "type": "integer" },
            { "name": "name", "type": "text" },
            { "name": "price", "type": "real" },
            { "name": "in_stock", "type": "boolean" },
            { "name": "photo", "type": "blob" },
            { "name": "tags", "type": "text" },
            { "name": "added", "type": "datetime" },
            { "name": "note", "type": "text" },
            { "name": "double", "type": "real" }
        ])
    );
    assert_eq!(
        out["rows"][0],
        json!({ "id": 1, "name": injection, "price": 9.5, "in_stock": true, "photo": "AP8Q",
                "tags": "[\"a\",\"b\"]", "added": "2024-07-01T12:00:00Z", "note": null,
                "double": 19.0 })
    );
    // An integer stored in a REAL column reads back as the float it is.
    assert_eq!(out["rows"][1]["price"], 3.0);
    assert_eq!(out["rows"][1]["in_stock"], false);
    assert_eq!(
        (out["row_count"].clone(), out["truncated"].clone()),
        (json!(2), json!(false))
    );

    // The injection attempt was stored as text: the table is still there.
    let out = r
        .sql(
            "shop.db",
            "SELECT count(*) AS n FROM items WHERE name = ?",
            json!([injection]),
        )
        .await
        .unwrap();
    assert_eq!(out["rows"][0]["n"], 1);
    // Parameters are values, never SQL: a quote or a comment in one changes
    // nothing about the statement.
    let out = r
        .sql(
            "shop.db",
            "SELECT ? AS v, typeof(?) AS t",
            json!(["1; DELETE FROM items", 5]),
        )
        .await
        .unwrap();
    assert_eq!(
        out["rows"][0],
        json!({ "v": "1; DELETE FROM items", "t": "integer" })
    );
}

#[tokio::test]
async fn a_read_only_configuration_refuses_every_write() {
    let dir = TempDir::new().unwrap();
    let w = shop(&dir).await;
    w.sql(
        "shop.db",
        "INSERT INTO items (name) VALUES (?)",
        json!(["kept"]),
    )
    .await
    .unwrap();
    let r = Rig::reader(&dir);
    for sql in [
        "INSERT INTO items (name) VALUES ('new')",
        "UPDATE items SET name = 'changed'",
        "DELETE FROM items",
        "DROP TABLE items",
        "CREATE TABLE other (x)",
    ] {
        match r.sql("shop.db", sql, json!([])).await {
            Err(Error::SecurityViolation { message }) => {
                assert!(message.contains("write refused"), "{sql}: {message}");
                assert!(message.contains("allow_writes"), "{sql}: {message}");
            }
            other => panic!("{sql}: {other:?}"),
        }
    }
    // Statements that would reach other files or undo the protection are
    // refused before SQLite sees them, and so is a second statement.
    let outside = TempDir::new().unwrap();
    let target = outside.path().join("copy.db").display().to_string();
    for (sql, reason) in [
        (format!("ATTACH DATABASE '{target}' AS x"), "ATTACH"),
        (format!("VACUUM INTO '{target}'"), "VACUUM"),
        ("PRAGMA query_only = OFF".to_owned(), "PRAGMA"),
    ] {
        match r.sql("shop.db", &sql, json!([])).await {
            Err(Error::SecurityViolation { message }) => {
                assert!(message.contains(reason), "{message}")
            }
            other => panic!("{sql}: {other:?}"),
        }
        match w.sql("shop.db", &sql, json!([])).await {
            Err(Error::SecurityViolation { message }) => {
                assert!(message.contains(reason), "{message}")
            }
            other => panic!("writer {sql}: {other:?}"),
        }
    }
    assert!(!outside.path().join("copy.db").exists());
    match w
        .sql("shop.db", "SELECT 1; DELETE FROM items", json!([]))
        .await
    {
        Err(Error::InvalidInput { field, message }) => {
            assert_eq!(field, "sql");
            assert!(message.contains("one statement"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let out = r
        .sql("shop.db", "SELECT name FROM items", json!([]))
        .await
        .unwrap();
    assert_eq!(out["rows"], json!([{ "name": "kept" }]));
    // Read-only, a missing file is not created.
    let err = r.sql("new.db", "SELECT 1", json!([])).await.unwrap_err();
    assert!(err.to_string().contains("allow_writes"), "{err}");
    assert!(!dir.path().join("new.db").exists());
    // `:memory:` is read-only too.
    let err = r
        .run(json!({ "sql": "CREATE TABLE t (x)" }))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("write refused"), "{err}");
    let out = r
        .run(json!({ "sql": "SELECT 6 * 7 AS answer" }))
        .await
        .unwrap();
    assert_eq!(out["rows"], json!([{ "answer": 42 }]));
}

#[tokio::test]
async fn rows_past_the_limit_are_not_returned_and_the_result_says_so() {
    let dir = TempDir::new().unwrap();
    let r = Rig::new(
        &dir,
        DatabaseConfig {
            max_rows: 50,
            ..DatabaseConfig::default()
        },
    );
    let series = "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < ?) \
                  SELECT n FROM s";
    let out = r
        .run(json!({ "sql": series, "params": [1_000_000], "max_rows": 10 }))
        .await
        .unwrap();
    assert_eq!(out["row_count"], 10);
    assert_eq!(out["truncated"], true);
    assert_eq!(out["rows"][9], json!({ "n": 10 }));
    assert_eq!(out["rows_affected"], Value::Null);
    // The configured maximum is the default and the limit.
    let out = r
        .run(json!({ "sql": series, "params": [1000] }))
        .await
        .unwrap();
    assert_eq!(
        (out["row_count"].clone(), out["truncated"].clone()),
        (json!(50), json!(true))
    );
    let out = r
        .run(json!({ "sql": series, "params": [50] }))
        .await
        .unwrap();
    assert_eq!(
        (out["row_count"].clone(), out["truncated"].clone()),
        (json!(50), json!(false))
    );
    let err = r
        .run(json!({ "sql": series, "params": [5], "max_rows": 51 }))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("`max_rows`"), "{err}");
}

#[tokio::test]
async fn a_long_statement_is_interrupted_at_its_time_limit() {
    let dir = TempDir::new().unwrap();
    let r = Rig::reader(&dir);
    let started = Instant::now();
    let endless = "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s) \
                   SELECT count(*) FROM s";
    match r.run(json!({ "sql": endless, "timeout_ms": 300 })).await {
        Err(Error::Timeout { operation, after }) => {
            assert!(operation.contains("sqlite"), "{operation}");
            assert_eq!(after, Duration::from_millis(300));
        }
        other => panic!("{other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn bad_sql_and_bad_parameters_name_the_problem() {
    let dir = TempDir::new().unwrap();
    let w = shop(&dir).await;
    for (sql, params, field, text) in [
        ("SELEC 1", json!([]), "sql", "syntax error"),
        (
            "SELECT * FROM missing",
            json!([]),
            "sql",
            "no such table: missing",
        ),
        (
            "SELECT nope FROM items",
            json!([]),
            "sql",
            "no such column: nope",
        ),
        (
            "SELECT ? + ?",
            json!([1]),
            "params",
            "2 placeholders, but 1 parameter was given",
        ),
        ("SELECT 1", json!([1]), "params", "0 placeholders"),
        (
            "SELECT ?",
            json!([18_446_744_073_709_551_615_u64]),
            "params[0]",
            "64-bit",
        ),
        ("", json!([]), "sql", "expected an SQL statement"),
        ("SELECT 'open", json!([]), "sql", "unterminated"),
    ] {
        match w.sql("shop.db", sql, params).await {
            Err(Error::InvalidInput { field: f, message }) => {
                assert_eq!(f, field, "{sql}: {message}");
                assert!(message.contains(text), "{sql}: {message}");
            }
            other => panic!("{sql}: {other:?}"),
        }
    }
    // A constraint failure carries SQLite's message.
    match w
        .sql(
            "shop.db",
            "INSERT INTO items (name) VALUES (NULL)",
            json!([]),
        )
        .await
    {
        Err(Error::External {
            service, message, ..
        }) => {
            assert_eq!(service, "sqlite");
            assert!(
                message.contains("NOT NULL constraint failed: items.name"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
    // Both targets at once, and files outside the roots, are refused.
    let err = w
        .run(json!({ "sql": "SELECT 1", "database": "shop.db", "connection": "x" }))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not both"), "{err}");
    for db in ["../shop.db", "/etc/passwd"] {
        match w.sql(db, "SELECT 1", json!([])).await {
            Err(Error::SecurityViolation { message }) => {
                assert!(message.contains("allowed roots"), "{message}")
            }
            other => panic!("{db}: {other:?}"),
        }
    }
    // A PostgreSQL connection must be configured.
    let err = w
        .run(json!({ "sql": "SELECT 1", "connection": "analytics" }))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("[database.connections.analytics]"),
        "{err}"
    );
}

#[tokio::test]
async fn a_hook_rewrites_the_call_before_the_tool_runs() {
    let dir = TempDir::new().unwrap();
    let r = Rig::reader(&dir);
    // The hook caps every query at two rows.
    let _cap = r.hooks.register(
        HookPoint::BeforeToolExecution,
        sync_hook_fn(|c| {
            let mut params = c.data.clone();
            params["max_rows"] = json!(2);
            Ok(HookResult::Modified(params))
        }),
    );
    let out = r
        .run(json!({ "sql": "SELECT value FROM json_each(?)", "params": ["[1,2,3,4]"] }))
        .await
        .unwrap();
    assert_eq!(out["rows"], json!([{ "value": 1 }, { "value": 2 }]));
    assert_eq!(out["truncated"], true);
}
