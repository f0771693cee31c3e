//! Running one statement on PostgreSQL: a configured connection, reached
//! only at the addresses the network policy allows, in a session whose
//! transactions are read-only unless writes are allowed, with a
//! server-side statement timeout and a row limit.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use base64::Engine as _;
use futures::TryStreamExt;
use llmspell_core::{Error, Result};
use serde_json::{Value, json};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{
    PgArgumentBuffer, PgArguments, PgConnectOptions, PgConnection, PgRow, PgSslMode, PgTypeInfo,
    PgTypeKind,
};
use sqlx::types::{BigDecimal, Json, Uuid};
use sqlx::{
    AssertSqlSafe, Column as _, ConnectOptions, Connection, Decode, Either, Encode, Executor,
    Postgres, Row, SqlSafeStr, Statement, Type, TypeInfo, ValueRef,
};
use url::Url;

use super::binding::{self, Param};
use super::errors::{Engine, map};
use super::outcome::{Column, Outcome};
use super::sqlite::{Request, float};
use crate::net::NetPolicy;

/// Where a configured connection goes, read from its URL.
#[derive(Debug, Clone)]
pub(crate) struct PgTarget {
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) user: String,
    pub(crate) database: Option<String>,
    ssl_mode: PgSslMode,
    ssl_root_cert: Option<PathBuf>,
}

/// The URL query parameters a connection URL may carry.
const URL_PARAMETERS: [&str; 2] = ["sslmode", "sslrootcert"];

/// Reads a connection URL: `postgres://user@host[:port][/database]` with
/// optional `sslmode` and `sslrootcert`. A password in the URL is refused
/// (it belongs in `password_env`).
///
/// # Errors
/// What is wrong with the URL.
pub(crate) fn parse_url(url: &str) -> std::result::Result<PgTarget, String> {
    let parsed = Url::parse(url.trim()).map_err(|e| format!("not a URL: {e}"))?;
    if !matches!(parsed.scheme(), "postgres" | "postgresql") {
        return Err(format!(
            "expected a postgres:// URL, got scheme `{}`",
            parsed.scheme()
        ));
    }
    if parsed.password().is_some() {
        return Err(
            "the URL holds a password: remove it and name the environment variable that holds \
             it in `password_env`"
                .to_owned(),
        );
    }
    let host = match parsed.host() {
        Some(url::Host::Domain(d)) => d.to_owned(),
        Some(url::Host::Ipv4(ip)) => ip.to_string(),
        Some(url::Host::Ipv6(ip)) => ip.to_string(),
        None => return Err("the URL has no host (Unix sockets are not supported)".to_owned()),
    };
    let user = percent(parsed.username());
    if user.is_empty() {
        return Err("the URL has no user name (`postgres://user@host/database`)".to_owned());
    }
    let database = Some(percent(parsed.path().trim_start_matches('/'))).filter(|d| !d.is_empty());
    let mut ssl_mode = PgSslMode::Prefer;
    let mut ssl_root_cert = None;
    for (key, value) in parsed.query_pairs() {
        match key.as_ref() {
            "sslmode" => {
                ssl_mode = PgSslMode::from_str(&value).map_err(|_| {
                    format!(
                        "unknown sslmode `{value}`; valid: disable, allow, prefer, require, \
                         verify-ca, verify-full"
                    )
                })?;
            }
            "sslrootcert" => ssl_root_cert = Some(PathBuf::from(value.as_ref())),
            other => {
                return Err(format!(
                    "unknown URL parameter `{other}`; valid: {}",
                    URL_PARAMETERS.join(", ")
                ));
            }
        }
    }
    Ok(PgTarget {
        host,
        port: parsed.port().unwrap_or(5432),
        user,
        database,
        ssl_mode,
        ssl_root_cert,
    })
}

fn percent(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// A configured connection, ready to connect.
#[derive(Debug, Clone)]
pub(crate) struct PgServer {
    pub(crate) name: String,
    pub(crate) target: PgTarget,
    pub(crate) password: Option<String>,
    pub(crate) policy: NetPolicy,
    pub(crate) connect_timeout: Duration,
}

impl PgServer {
    fn options(&self, request: &Request) -> PgConnectOptions {
        let t = &self.target;
        // Everything a `PG*` environment variable could set is set here.
        let mut options = PgConnectOptions::new_without_pgpass()
            .host(&t.host)
            .port(t.port)
            .username(&t.user)
            .password(self.password.as_deref().unwrap_or_default())
            .database(t.database.as_deref().unwrap_or(&t.user))
            .ssl_mode(t.ssl_mode)
            .application_name("llmspell")
            .options([
                (
                    "statement_timeout",
                    format!("{}ms", request.timeout.as_millis()),
                ),
                (
                    "default_transaction_read_only",
                    if request.allow_writes { "off" } else { "on" }.to_owned(),
                ),
            ])
            .disable_statement_logging();
        if let Some(cert) = &t.ssl_root_cert {
            options = options.ssl_root_cert(cert);
        }
        options
    }

    /// Connects to the first address the policy allows that answers.
    async fn connect(&self, request: &Request) -> Result<PgConnection> {
        let t = &self.target;
        let addrs = self.policy.resolve(&t.host, t.port).await?;
        let options = self.options(request);
        let mut failures = Vec::new();
        for addr in addrs {
            let attempt = options.clone().hostaddr(addr.ip()).port(addr.port());
            match tokio::time::timeout(self.connect_timeout, attempt.connect()).await {
                Ok(Ok(conn)) => return Ok(conn),
                Ok(Err(e)) => {
                    let e = map(Engine::Postgres, e, request.timeout);
                    if !matches!(
                        &e,
                        Error::External {
                            retryable: true,
                            ..
                        }
                    ) {
                        return Err(e);
                    }
                    failures.push(format!("{addr}: {e}"));
                }
                Err(_) => failures.push(format!(
                    "{addr}: no connection within {} ms",
                    self.connect_timeout.as_millis()
                )),
            }
        }
        Err(Error::External {
            service: "postgres".to_owned(),
            message: format!(
                "cannot connect to `{}` ({}:{}): {}",
                self.name,
                t.host,
                t.port,
                failures.join("; ")
            ),
            retryable: true,
            source: None,
        })
    }

    /// Runs `request`.
    ///
    /// # Errors
    /// As [`NetPolicy::resolve`] for the host; a database error mapped by
    /// [`map`] (a write in a read-only session is a `SecurityViolation`,
    /// the statement timeout a `Timeout`, bad SQL an `InvalidInput` naming
    /// `sql`).
    pub(crate) async fn run(&self, request: Request) -> Result<Outcome> {
        let mut conn = self.connect(&request).await?;
        let timeout = request.timeout;
        // The server cancels the statement at `statement_timeout`; this
        // bound covers a server that stops answering altogether.
        let ran = tokio::time::timeout(
            timeout + Duration::from_secs(2),
            execute(&mut conn, request),
        )
        .await;
        match ran {
            Ok(Ok((outcome, clean))) => {
                if clean {
                    let _ = conn.close().await;
                }
                Ok(outcome)
            }
            Ok(Err(e)) => Err(e),
            Err(_) => Err(Error::Timeout {
                operation: "postgres statement".to_owned(),
                after: timeout,
            }),
        }
    }
}

/// Runs the statement; also says whether the connection is idle again
/// (false when rows were left unread).
async fn execute(conn: &mut PgConnection, request: Request) -> Result<(Outcome, bool)> {
    let timeout = request.timeout;
    let fail = |e| map(Engine::Postgres, e, timeout);
    // The statement is prepared with the types of the values given, so
    // that they are bound as they are (an integer as `int8`, a string as
    // `text`, `null` as whatever the statement needs) and PostgreSQL
    // converts them where SQL allows it.
    let declared: Vec<PgTypeInfo> = request.params.iter().map(param_type).collect();
    let statement = conn
        .prepare_with(AssertSqlSafe(request.sql).into_sql_str(), &declared)
        .await
        .map_err(fail)?;
    let expected = match statement.parameters() {
        Some(Either::Left(types)) => types.len(),
        Some(Either::Right(n)) => n,
        None => request.params.len(),
    };
    binding::check_count(expected, request.params.len())?;
    let types: Vec<PgTypeInfo> = statement
        .columns()
        .iter()
        .map(|c| c.type_info().clone())
        .collect();
    let columns: Vec<Column> = statement
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
    let mut outcome = Outcome {
        columns,
        ..Outcome::default()
    };
    let mut affected = 0;
    let mut clean = true;
    // One statement per call: PostgreSQL refuses more in a prepared
    // statement, so the deprecated multi-statement behaviour of
    // `fetch_many` never applies; it gives the row count.
    #[allow(deprecated)]
    let mut stream = query.fetch_many(&mut *conn);
    while let Some(item) = stream.try_next().await.map_err(fail)? {
        match item {
            Either::Left(done) => affected += done.rows_affected(),
            Either::Right(row) => {
                if outcome.rows.len() < request.max_rows {
                    outcome.rows.push(row_values(&row, &types, fail)?);
                } else {
                    outcome.truncated = true;
                    // A read stops here; a write reads on so that it
                    // completes and commits.
                    if !request.allow_writes {
                        clean = false;
                        break;
                    }
                }
            }
        }
    }
    drop(stream);
    outcome.rows_affected = clean.then_some(affected);
    Ok((outcome, clean))
}

/// A SQL `NULL` whose type the server infers from the statement, so that
/// `null` binds to a column of any type.
struct UntypedNull;

impl Type<Postgres> for UntypedNull {
    fn type_info() -> PgTypeInfo {
        PgTypeInfo::with_oid(sqlx::postgres::types::Oid(0))
    }
}

impl Encode<'_, Postgres> for UntypedNull {
    fn encode_by_ref(&self, _: &mut PgArgumentBuffer) -> std::result::Result<IsNull, BoxDynError> {
        Ok(IsNull::Yes)
    }
}

/// The type a parameter is declared with.
fn param_type(p: &Param) -> PgTypeInfo {
    match p {
        Param::Null => UntypedNull::type_info(),
        Param::Bool(_) => <bool as Type<Postgres>>::type_info(),
        Param::Int(_) => <i64 as Type<Postgres>>::type_info(),
        Param::Float(_) => <f64 as Type<Postgres>>::type_info(),
        Param::Text(_) => <String as Type<Postgres>>::type_info(),
        Param::Json(_) => <Json<Value> as Type<Postgres>>::type_info(),
    }
}

fn bind<'q>(
    query: sqlx::query::Query<'q, Postgres, PgArguments>,
    p: Param,
) -> sqlx::query::Query<'q, Postgres, PgArguments> {
    match p {
        Param::Null => query.bind(UntypedNull),
        Param::Bool(b) => query.bind(b),
        Param::Int(i) => query.bind(i),
        Param::Float(f) => query.bind(f),
        Param::Text(s) => query.bind(s),
        Param::Json(v) => query.bind(Json(v)),
    }
}

fn row_values(
    row: &PgRow,
    types: &[PgTypeInfo],
    fail: impl Fn(sqlx::Error) -> Error + Copy,
) -> Result<Vec<Value>> {
    let mut values = Vec::with_capacity(types.len());
    for (i, ty) in types.iter().enumerate() {
        let raw = row.try_get_raw(i).map_err(fail)?;
        if raw.is_null() {
            values.push(Value::Null);
            continue;
        }
        let column = row.columns().get(i).map_or("?", |c| c.name());
        values.push(value(row, i, ty, column, fail)?);
    }
    Ok(values)
}

fn get<'r, T>(row: &'r PgRow, i: usize, fail: impl Fn(sqlx::Error) -> Error) -> Result<T>
where
    T: Decode<'r, Postgres> + Type<Postgres>,
{
    row.try_get::<T, _>(i).map_err(fail)
}

fn list<'r, T>(
    row: &'r PgRow,
    i: usize,
    fail: impl Fn(sqlx::Error) -> Error,
    f: impl Fn(T) -> Value,
) -> Result<Value>
where
    Vec<Option<T>>: Decode<'r, Postgres> + Type<Postgres>,
{
    let items: Vec<Option<T>> = get(row, i, fail)?;
    Ok(Value::Array(
        items
            .into_iter()
            .map(|v| v.map_or(Value::Null, &f))
            .collect(),
    ))
}

fn timestamptz(t: chrono::DateTime<chrono::Utc>) -> Value {
    json!(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
}

fn date(d: chrono::NaiveDate) -> Value {
    json!(d.format("%Y-%m-%d").to_string())
}

/// One non-null value as JSON, by its PostgreSQL type.
fn value(
    row: &PgRow,
    i: usize,
    ty: &PgTypeInfo,
    column: &str,
    fail: impl Fn(sqlx::Error) -> Error + Copy,
) -> Result<Value> {
    let b64 = |b: Vec<u8>| json!(base64::engine::general_purpose::STANDARD.encode(b));
    Ok(match ty.name() {
        "BOOL" => json!(get::<bool>(row, i, fail)?),
        "INT2" => json!(get::<i16>(row, i, fail)?),
        "INT4" => json!(get::<i32>(row, i, fail)?),
        "INT8" => json!(get::<i64>(row, i, fail)?),
        "OID" => json!(get::<sqlx::postgres::types::Oid>(row, i, fail)?.0),
        "FLOAT4" => float(f64::from(get::<f32>(row, i, fail)?)),
        "FLOAT8" => float(get::<f64>(row, i, fail)?),
        "NUMERIC" => json!(get::<BigDecimal>(row, i, fail)?.to_plain_string()),
        "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" | "UNKNOWN" => json!(get::<String>(row, i, fail)?),
        "\"CHAR\"" | "CHAR" => json!(char::from(get::<i8>(row, i, fail)? as u8).to_string()),
        "BYTEA" => b64(get::<Vec<u8>>(row, i, fail)?),
        "TIMESTAMPTZ" => timestamptz(get(row, i, fail)?),
        "TIMESTAMP" => json!(
            get::<chrono::NaiveDateTime>(row, i, fail)?
                .format("%Y-%m-%dT%H:%M:%S%.f")
                .to_string()
        ),
        "DATE" => date(get(row, i, fail)?),
        "TIME" => json!(
            get::<chrono::NaiveTime>(row, i, fail)?
                .format("%H:%M:%S%.f")
                .to_string()
        ),
        "JSON" | "JSONB" => get::<Json<Value>>(row, i, fail)?.0,
        "UUID" => json!(get::<Uuid>(row, i, fail)?.to_string()),
        "INTERVAL" => {
            let v: sqlx::postgres::types::PgInterval = get(row, i, fail)?;
            json!({ "months": v.months, "days": v.days, "microseconds": v.microseconds })
        }
        "VOID" => Value::Null,
        "BOOL[]" => list::<bool>(row, i, fail, |v| json!(v))?,
        "INT2[]" => list::<i16>(row, i, fail, |v| json!(v))?,
        "INT4[]" => list::<i32>(row, i, fail, |v| json!(v))?,
        "INT8[]" => list::<i64>(row, i, fail, |v| json!(v))?,
        "FLOAT4[]" => list::<f32>(row, i, fail, |v| float(f64::from(v)))?,
        "FLOAT8[]" => list::<f64>(row, i, fail, float)?,
        "NUMERIC[]" => list::<BigDecimal>(row, i, fail, |v| json!(v.to_plain_string()))?,
        "TEXT[]" | "VARCHAR[]" | "BPCHAR[]" | "NAME[]" => {
            list::<String>(row, i, fail, Value::String)?
        }
        "UUID[]" => list::<Uuid>(row, i, fail, |v| json!(v.to_string()))?,
        "JSON[]" | "JSONB[]" => list::<Json<Value>>(row, i, fail, |v| v.0)?,
        "TIMESTAMPTZ[]" => list::<chrono::DateTime<chrono::Utc>>(row, i, fail, timestamptz)?,
        "DATE[]" => list::<chrono::NaiveDate>(row, i, fail, date)?,
        "BYTEA[]" => list::<Vec<u8>>(row, i, fail, b64)?,
        other => match ty.kind() {
            // An enum's value is its label.
            PgTypeKind::Enum(_) => json!(row.try_get_unchecked::<String, _>(i).map_err(fail)?),
            _ => {
                return Err(Error::invalid_input(
                    "sql",
                    format!(
                        "column `{column}` has type `{}`, which has no JSON form here; cast it \
                         in the query, e.g. `{column}::text`",
                        other.to_ascii_lowercase()
                    ),
                ));
            }
        },
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_read_strictly() {
        let t =
            parse_url("postgres://reader@db.example.com:6543/analytics?sslmode=require").unwrap();
        assert_eq!(
            (
                t.host.as_str(),
                t.port,
                t.user.as_str(),
                t.database.as_deref()
            ),
            ("db.example.com", 6543, "reader", Some("analytics"))
        );
        assert!(matches!(t.ssl_mode, PgSslMode::Require));
        let t = parse_url("postgresql://app%40corp@[::1]/").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.user.as_str()),
            ("::1", 5432, "app@corp")
        );
        assert_eq!(t.database, None);
        for (url, why) in [
            ("postgres://u:secret@h/db", "password"),
            ("mysql://u@h/db", "scheme"),
            ("postgres://h/db", "user name"),
            ("postgres://u@h/db?sslmode=sometimes", "sslmode"),
            (
                "postgres://u@h/db?options=-c%20x%3Dy",
                "unknown URL parameter",
            ),
            ("postgres:///db?host=/var/run", "no host"),
        ] {
            let err = parse_url(url).unwrap_err();
            assert!(err.contains(why), "{url}: {err}");
        }
    }
}
