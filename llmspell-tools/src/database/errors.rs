//! Database errors as llmspell errors: a refused write, a statement past
//! its time limit, bad SQL (the server's message), and the rest.

use std::time::Duration;

use llmspell_core::Error;

/// The engine a failure came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Engine::Sqlite => "sqlite",
            Engine::Postgres => "postgres",
        }
    }
}

/// The error a refused write is.
pub(crate) fn write_refused(detail: &str) -> Error {
    Error::SecurityViolation {
        message: format!(
            "write refused: database_connector is read-only (set `[database] allow_writes = \
             true` to allow writes): {detail}"
        ),
    }
}

/// What kind of failure a database error is.
enum Kind {
    WriteRefused,
    Timeout,
    BadSql,
    Retryable,
    Other,
}

fn sqlite_kind(code: &str) -> Kind {
    // Extended result codes: the primary code is the low byte.
    match code.parse::<i32>().map(|c| c & 0xff) {
        Ok(8) => Kind::WriteRefused,  // SQLITE_READONLY
        Ok(9) => Kind::Timeout,       // SQLITE_INTERRUPT
        Ok(1) => Kind::BadSql,        // SQLITE_ERROR: syntax, no such table, ...
        Ok(25) => Kind::BadSql,       // SQLITE_RANGE: a bad parameter index
        Ok(5 | 6) => Kind::Retryable, // SQLITE_BUSY, SQLITE_LOCKED
        _ => Kind::Other,
    }
}

fn postgres_kind(sqlstate: &str) -> Kind {
    match sqlstate {
        "25006" => Kind::WriteRefused, // read_only_sql_transaction
        "57014" => Kind::Timeout,      // query_canceled (statement_timeout)
        s if s.starts_with("42") => Kind::BadSql,
        s if s.starts_with("08") || s.starts_with("40") || s.starts_with("53") => Kind::Retryable,
        s if s == "57P01" || s == "57P03" => Kind::Retryable,
        _ => Kind::Other,
    }
}

/// `e` from `engine`, for a statement with time limit `timeout`.
pub(crate) fn map(engine: Engine, e: sqlx::Error, timeout: Duration) -> Error {
    if let Some(db) = e.as_database_error() {
        let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
        let mut message = db.message().to_owned();
        if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
            if let Some(detail) = pg.detail() {
                message.push_str(&format!(" (detail: {detail})"));
            }
            if let Some(hint) = pg.hint() {
                message.push_str(&format!(" (hint: {hint})"));
            }
        }
        let kind = match engine {
            Engine::Sqlite => sqlite_kind(&code),
            Engine::Postgres => postgres_kind(&code),
        };
        let coded = match engine {
            Engine::Sqlite => format!("{message} (SQLite error {code})"),
            Engine::Postgres => format!("{message} (SQLSTATE {code})"),
        };
        return match kind {
            Kind::WriteRefused => write_refused(&coded),
            Kind::Timeout => Error::Timeout {
                operation: format!("{} statement", engine.as_str()),
                after: timeout,
            },
            Kind::BadSql => Error::invalid_input("sql", coded),
            Kind::Retryable | Kind::Other => Error::External {
                service: engine.as_str().to_owned(),
                message: coded,
                retryable: matches!(kind, Kind::Retryable),
                source: None,
            },
        };
    }
    let retryable = matches!(
        e,
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::WorkerCrashed
    );
    Error::External {
        service: engine.as_str().to_owned(),
        message: e.to_string(),
        retryable,
        source: None,
    }
}
