//! `database_connector` against a real PostgreSQL server started for the
//! test (the testkit's, skipped when PostgreSQL is not installed unless
//! `LLMSPELL_TEST_SERVICES=require`): types round trip, parameters are
//! bound (an injection attempt stays a literal), a read-only session
//! refuses writes, rows past the limit are not returned, the statement
//! timeout fires, the server's error messages are surfaced, and the host
//! must pass the network policy.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use llmspell_core::{Error, ExecutionContext};
use llmspell_hooks::{GuardedRunner, HookExecutor, HookRegistry};
use llmspell_testkit::postgres::PgServer;
use llmspell_tools::database::{DatabaseConfig, DatabaseConnector, PostgresConnection};
use llmspell_tools::net::{NetPolicy, SecretEnv};
use llmspell_tools::{FsSandbox, ToolRegistry};
use serde_json::{Value, json};

/// Cargo sets this variable for every test process: the cluster's
/// password is its value, and the tool reads it by name.
const PASSWORD_VAR: &str = "CARGO_PKG_NAME";

fn registry(url: &str, allow_writes: bool, policy: NetPolicy) -> ToolRegistry {
    let mut config = DatabaseConfig {
        allow_writes,
        max_rows: 100,
        timeout: Duration::from_secs(10),
        ..DatabaseConfig::default()
    };
    config.connections.insert(
        "main".into(),
        PostgresConnection {
            url: url.into(),
            password_env: Some(PASSWORD_VAR.into()),
        },
    );
    let tools = ToolRegistry::new(GuardedRunner::new(
        HookExecutor::builder(HookRegistry::new()).build(),
    ));
    tools
        .register(Arc::new(DatabaseConnector::new(
            config,
            policy,
            FsSandbox::deny_all(),
            SecretEnv::new([PASSWORD_VAR]),
        )))
        .unwrap();
    tools
}

async fn run(tools: &ToolRegistry, sql: &str, params: Value) -> Result<Value, Error> {
    tools
        .invoke(
            "database_connector",
            json!({ "connection": "main", "sql": sql, "params": params }),
            &ExecutionContext::native(),
        )
        .await
}

#[tokio::test]
async fn postgres_results_are_typed_bound_read_only_limited_and_timed() {
    let password = std::env::var(PASSWORD_VAR).unwrap();
    let Some(pg) = PgServer::start(&password) else {
        return;
    };
    let url = pg.url("postgres");
    let local = || NetPolicy::new(["127.0.0.1"]);
    let writer = registry(&url, true, local());
    let reader = registry(&url, false, local());

    // Writes, allowed: a table of many types, filled through parameters.
    run(
        &writer,
        "CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL, qty int4, big int8, \
         small int2, price numeric(12, 4), ratio float8, ok bool, data jsonb, raw bytea, \
         at timestamptz, local_at timestamp, day date, uid uuid, tags text[], scores int4[], \
         note varchar(20), span interval)",
        json!([]),
    )
    .await
    .unwrap();
    let injection = "x'); DROP TABLE items; --";
    let out = run(
        &writer,
        "INSERT INTO items (name, qty, big, small, price, ratio, ok, data, raw, at, local_at, day, \
         uid, tags, scores, note, span) VALUES ($1, $2, $3, $4, $5::numeric, $6, $7, $8, \
         decode($9, 'base64'), $10::timestamptz, $11::timestamp, $12::date, $13::uuid, \
         ARRAY['a', 'b'], ARRAY[1, NULL, 3], $14, $15::interval) RETURNING id",
        json!([
            injection,
            42,
            9_007_199_254_740_993_i64,
            -7,
            "12345678.9012",
            0.25,
            true,
            { "k": [1, "two", null] },
            "AP8Q",
            "2024-07-01T12:00:00.123456+02:00",
            "2024-07-01 12:00:00",
            "2024-07-01",
            "67e55044-10b1-426f-9247-bb680e5fe0c8",
            null,
            "1 day 2 hours"
        ]),
    )
    .await
    .unwrap();
    assert_eq!(out["rows"], json!([{ "id": 1 }]));
    assert_eq!(out["rows_affected"], 1);
    // `null` binds to a column of any type (here int4 and int8).
    run(
        &writer,
        "INSERT INTO items (name, qty, big) VALUES ($1, $2, $3)",
        json!(["empty", null, null]),
    )
    .await
    .unwrap();

    // Reads: every value comes back as the JSON the documentation says.
    let out = run(
        &reader,
        "SELECT id, name, qty, big, small, price, ratio, ok, data, raw, at, local_at, day, uid, \
         tags, scores, note, span, 'NaN'::float8 AS nan, NULL::text AS nothing FROM items \
         ORDER BY id",
        json!([]),
    )
    .await
    .unwrap();
    assert_eq!(out["engine"], "postgres");
    let types: Vec<&str> = out["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "int4",
            "text",
            "int4",
            "int8",
            "int2",
            "numeric",
            "float8",
            "bool",
            "jsonb",
            "bytea",
            "timestamptz",
            "timestamp",
            "date",
            "uuid",
            "text[]",
            "int4[]",
            "varchar",
            "interval",
            "float8",
            "text"
        ]
    );
    assert_eq!(
        out["rows"][0],
        json!({
            "id": 1, "name": injection, "qty": 42, "big": 9_007_199_254_740_993_i64, "small": -7,
            "price": "12345678.9012", "ratio": 0.25, "ok": true, "data": { "k": [1, "two", null] },
            "raw": "AP8Q", "at": "2024-07-01T10:00:00.123456Z", "local_at": "2024-07-01T12:00:00",
            "day": "2024-07-01", "uid": "67e55044-10b1-426f-9247-bb680e5fe0c8",
            "tags": ["a", "b"], "scores": [1, null, 3], "note": null,
            "span": { "months": 0, "days": 1, "microseconds": 7_200_000_000_i64 },
            "nan": "NaN", "nothing": null
        })
    );
    assert_eq!(out["rows"][1]["qty"], Value::Null);

    // The injection attempt stayed a value: the table is intact, and the
    // text was stored as given.
    let out = run(
        &reader,
        "SELECT count(*) AS n FROM items WHERE name = $1",
        json!([injection]),
    )
    .await
    .unwrap();
    assert_eq!(out["rows"][0]["n"], 1);
    let out = run(
        &reader,
        "SELECT $1::text AS v",
        json!(["1; DROP TABLE items"]),
    )
    .await
    .unwrap();
    assert_eq!(out["rows"][0]["v"], "1; DROP TABLE items");

    // Read-only: writes are refused by the server, including an attempt to
    // switch the transaction to read-write from inside a DO block.
    for sql in [
        "INSERT INTO items (name) VALUES ('new')",
        "UPDATE items SET qty = 0",
        "DELETE FROM items",
        "CREATE TABLE other (x int)",
        "DO $$ BEGIN SET LOCAL transaction_read_only = off; DELETE FROM items; END $$",
        "SELECT nextval('items_id_seq')",
    ] {
        match run(&reader, sql, json!([])).await {
            Err(Error::SecurityViolation { message }) => {
                assert!(message.contains("write refused"), "{sql}: {message}");
            }
            Err(Error::External { message, .. }) => {
                assert!(
                    message.contains("read-only") || message.contains("read-write mode"),
                    "{sql}: {message}"
                );
            }
            other => panic!("{sql}: {other:?}"),
        }
    }
    let out = run(&reader, "SELECT count(*) AS n FROM items", json!([]))
        .await
        .unwrap();
    assert_eq!(out["rows"][0]["n"], 2, "a refused write changed the table");
    match run(
        &reader,
        "INSERT INTO items (name) VALUES ($1)",
        json!(["x"]),
    )
    .await
    {
        Err(Error::SecurityViolation { message }) => {
            assert!(message.contains("read-only transaction"), "{message}");
            assert!(message.contains("SQLSTATE 25006"), "{message}");
        }
        other => panic!("{other:?}"),
    }

    // Row limit: five rows of a hundred thousand.
    let out = reader
        .invoke(
            "database_connector",
            json!({ "connection": "main", "sql": "SELECT g FROM generate_series(1, 100000) g",
                    "max_rows": 5 }),
            &ExecutionContext::native(),
        )
        .await
        .unwrap();
    assert_eq!(
        out["rows"],
        json!([{ "g": 1 }, { "g": 2 }, { "g": 3 }, { "g": 4 }, { "g": 5 }])
    );
    assert_eq!(
        (out["truncated"].clone(), out["rows_affected"].clone()),
        (json!(true), Value::Null)
    );

    // Statement timeout: the server cancels `pg_sleep`.
    let started = Instant::now();
    match reader
        .invoke(
            "database_connector",
            json!({ "connection": "main", "sql": "SELECT pg_sleep(30)", "timeout_ms": 500 }),
            &ExecutionContext::native(),
        )
        .await
    {
        Err(Error::Timeout { operation, after }) => {
            assert!(operation.contains("postgres"), "{operation}");
            assert_eq!(after, Duration::from_millis(500));
        }
        other => panic!("{other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(10));

    // Bad SQL: the server's message, its position and SQLSTATE.
    for (sql, params, field, text) in [
        ("SELECT FROM WHERE", json!([]), "sql", "syntax error"),
        (
            "SELECT * FROM missing",
            json!([]),
            "sql",
            "relation \"missing\" does not exist",
        ),
        (
            "SELECT nope FROM items",
            json!([]),
            "sql",
            "column \"nope\" does not exist",
        ),
        (
            "SELECT $1::int + $2::int",
            json!([1]),
            "params",
            "2 placeholders",
        ),
        ("SELECT 1; SELECT 2", json!([]), "sql", "multiple commands"),
    ] {
        match run(&reader, sql, params).await {
            Err(Error::InvalidInput { field: f, message }) => {
                assert_eq!(f, field, "{sql}: {message}");
                assert!(message.contains(text), "{sql}: {message}");
            }
            Err(Error::External { message, .. }) => {
                assert!(message.contains(text), "{sql}: {message}");
            }
            other => panic!("{sql}: {other:?}"),
        }
    }
    match run(&writer, "INSERT INTO items (name) VALUES (NULL)", json!([])).await {
        Err(Error::External {
            service,
            message,
            retryable,
            ..
        }) => {
            assert_eq!(service, "postgres");
            assert!(
                message.contains("null value in column \"name\""),
                "{message}"
            );
            assert!(message.contains("SQLSTATE 23502"), "{message}");
            assert!(!retryable);
        }
        other => panic!("{other:?}"),
    }
    // A type without a JSON form names the column and how to cast it.
    match run(&reader, "SELECT '127.0.0.1'::inet AS addr", json!([])).await {
        Err(Error::InvalidInput { message, .. }) => {
            assert!(
                message.contains("`addr`") && message.contains("addr::text"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }

    // The name `localhost` is allowed only when named exactly, and then
    // reaches the server at its loopback address.
    let by_name = registry(
        &pg.url("postgres").replace("127.0.0.1", "localhost"),
        false,
        NetPolicy::new(["localhost"]),
    );
    let out = run(&by_name, "SELECT current_user AS who", json!([]))
        .await
        .unwrap();
    assert_eq!(out["rows"][0]["who"], PgServer::USER);

    // A wrong password is an authentication failure, not retried.
    let wrong = registry(
        &pg.url("postgres").replace(PgServer::USER, "nobody"),
        false,
        local(),
    );
    match run(&wrong, "SELECT 1", json!([])).await {
        Err(Error::External {
            message, retryable, ..
        }) => {
            assert!(
                message.contains("password authentication failed"),
                "{message}"
            );
            assert!(!retryable);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn postgres_hosts_pass_the_network_policy_before_any_connection() {
    // A listener that counts connections: nothing may reach it.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let reached = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = reached.clone();
    let accept = tokio::spawn(async move {
        while listener.accept().await.is_ok() {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    });
    for (host, policy, reason) in [
        (
            "127.0.0.1",
            NetPolicy::new(["db.example.com"]),
            "allow-list",
        ),
        ("127.0.0.1", NetPolicy::new(["*"]), "loopback"),
        ("localhost", NetPolicy::new(["*"]), "loopback"),
        ("169.254.169.254", NetPolicy::new(["*"]), "cloud metadata"),
        ("10.0.0.5", NetPolicy::new(["*"]), "private"),
    ] {
        let tools = registry(&format!("postgres://app@{host}:{port}/db"), false, policy);
        match run(&tools, "SELECT 1", json!([])).await {
            Err(Error::SecurityViolation { message }) => {
                assert!(message.contains(reason), "{host}: {message}");
            }
            other => panic!("{host}: {other:?}"),
        }
    }
    assert_eq!(reached.load(std::sync::atomic::Ordering::SeqCst), 0);
    accept.abort();
    // A URL with a password is refused: passwords come from `password_env`.
    let tools = registry(
        "postgres://app:secret@db.example.com/db",
        false,
        NetPolicy::new(["*"]),
    );
    let err = run(&tools, "SELECT 1", json!([])).await.unwrap_err();
    assert!(err.to_string().contains("password_env"), "{err}");
}
