//! `csv_analyzer`: column statistics, row filtering and CSV ⇄ JSON.

use std::collections::HashSet;

use async_trait::async_trait;
use llmspell_core::{ComponentMetadata, Error, ExecutionContext, Result, Tool, ToolCategory};
use regex::{Regex, RegexBuilder};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::params::{self, ParamsSpec};

/// Most rows read from one CSV text.
const DEFAULT_MAX_ROWS: usize = 100_000;

/// Reads CSV text and analyses, filters or converts it.
///
/// Every operation reading CSV takes `text` and the optional `delimiter`
/// (one character, default `,`) and `has_headers` (default `true`; without
/// headers columns are named `column_1`, `column_2`, ...).
///
/// - `stats` → `{ row_count, columns: [{ name, count, empty, distinct, type,
///   min?, max?, mean?, sum? }] }`: `count` is non-empty cells, `type` is
///   `number`, `string`, `mixed` or `empty`, and the numeric fields appear
///   when the column has numbers;
/// - `filter { conditions, mode? }` → `{ rows, count, csv }`: rows (as
///   objects) matching `all` (default) or `any` of the conditions
///   `{ column, op, value? }` with `op` one of `eq`, `ne`, `gt`, `gte`, `lt`,
///   `lte` (numeric when both sides are numbers), `contains`, `starts_with`,
///   `ends_with`, `matches` (regex), `empty`, `not_empty`;
/// - `to_json { infer_types? }` → `{ result: [objects], headers }`; with
///   `infer_types` (default `true`) numbers and booleans become JSON numbers
///   and booleans and empty cells become `null`;
/// - `from_json { data, headers?, delimiter? }` → `{ result }` (CSV text):
///   `data` is an array of objects (columns in first-seen key order, or
///   `headers`) or an array of arrays.
#[derive(Debug, Clone)]
pub struct CsvAnalyzer {
    metadata: ComponentMetadata,
    max_rows: usize,
}

impl CsvAnalyzer {
    /// Creates the tool, reading at most 100,000 rows per call.
    pub fn new() -> Self {
        Self {
            metadata: ComponentMetadata::tool(
                "csv_analyzer",
                "Computes CSV column statistics, filters rows and converts between CSV and JSON",
            ),
            max_rows: DEFAULT_MAX_ROWS,
        }
    }

    /// Sets the most rows read from one CSV text.
    #[must_use]
    pub fn with_max_rows(mut self, max_rows: usize) -> Self {
        self.max_rows = max_rows;
        self
    }
}

impl Default for CsvAnalyzer {
    fn default() -> Self {
        Self::new()
    }
}

/// Where the CSV comes from and how to read it.
struct Source {
    text: String,
    delimiter: Option<String>,
    has_headers: bool,
}

fn yes() -> bool {
    true
}

/// How a condition compares a cell with its value.
#[derive(Deserialize, JsonSchema, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum Op {
    Eq,
    Ne,
    Gt,
    Gte,
    Lt,
    Lte,
    Contains,
    StartsWith,
    EndsWith,
    Matches,
    Empty,
    NotEmpty,
}

/// A condition on one column of a row.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Condition {
    /// The column's name (its header, or `column_N` without headers).
    column: String,
    /// The comparison: `eq`, `ne`, `gt`, `gte`, `lt`, `lte` (numeric when
    /// both sides are numbers, else text), `contains`, `starts_with`,
    /// `ends_with`, `matches` (a regular expression), `empty` or `not_empty`.
    op: Op,
    /// What to compare the cell with (not needed for `empty` and
    /// `not_empty`).
    #[serde(default)]
    value: Value,
}

/// How the conditions of a filter combine.
#[derive(Deserialize, Serialize, JsonSchema, Default, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum Mode {
    #[default]
    All,
    Any,
}

/// The operations of `csv_analyzer`.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum Operation {
    /// Column statistics; output `{ row_count, columns }` with each column's
    /// count, empty cells, distinct values, type and, for numbers, min, max,
    /// sum and mean.
    Stats {
        /// The CSV text.
        text: String,
        /// The field separator: one character, or `tab` (default `,`).
        delimiter: Option<String>,
        /// Whether the first row names the columns (default true); without
        /// it the columns are `column_1`, `column_2`, ...
        #[serde(default = "yes")]
        has_headers: bool,
    },
    /// The rows that meet `conditions`; output `{ rows, count, csv }`.
    Filter {
        /// The CSV text.
        text: String,
        /// The field separator: one character, or `tab` (default `,`).
        delimiter: Option<String>,
        /// Whether the first row names the columns (default true); without
        /// it the columns are `column_1`, `column_2`, ...
        #[serde(default = "yes")]
        has_headers: bool,
        /// The conditions a row is tested against.
        conditions: Vec<Condition>,
        /// `all` (the default): a row must meet every condition; `any`: one
        /// is enough.
        #[serde(default)]
        mode: Mode,
    },
    /// The rows as JSON objects; output `{ result, headers }`.
    ToJson {
        /// The CSV text.
        text: String,
        /// The field separator: one character, or `tab` (default `,`).
        delimiter: Option<String>,
        /// Whether the first row names the columns (default true); without
        /// it the columns are `column_1`, `column_2`, ...
        #[serde(default = "yes")]
        has_headers: bool,
        /// Turn numbers and booleans into JSON numbers and booleans and
        /// empty cells into null (default true); when false every cell is a
        /// string.
        #[serde(default = "yes")]
        infer_types: bool,
    },
    /// Writes JSON rows as CSV; output `{ result }`, the CSV text.
    FromJson {
        /// The rows: an array of objects (columns in first-seen key order)
        /// or an array of arrays.
        data: Vec<Value>,
        /// The columns, in order (default: the objects' keys as first seen).
        headers: Option<Vec<String>>,
        /// The field separator: one character, or `tab` (default `,`).
        delimiter: Option<String>,
    },
}

/// How `csv_analyzer` reads its parameters.
const PARAMS: ParamsSpec<Operation> = ParamsSpec::operations();

fn separator(d: Option<&str>) -> Result<u8> {
    match d {
        None => Ok(b','),
        Some("\\t") | Some("tab") => Ok(b'\t'),
        Some(s) if s.len() == 1 && s.is_ascii() => Ok(s.as_bytes()[0]),
        Some(s) => Err(Error::invalid_input(
            "delimiter",
            format!("expected one ASCII character (or \"tab\"), got \"{s}\""),
        )),
    }
}

/// A parsed CSV table.
struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl CsvAnalyzer {
    fn read(&self, source: &Source) -> Result<Table> {
        parse_table(
            &source.text,
            separator(source.delimiter.as_deref())?,
            source.has_headers,
            self.max_rows,
        )
    }
}

/// Reads CSV `text` into a table of at most `max_rows` rows.
fn parse_table(text: &str, delimiter: u8, has_headers: bool, max_rows: usize) -> Result<Table> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(has_headers)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut headers: Vec<String> = if has_headers {
        reader
            .headers()
            .map_err(|e| csv_error(&e))?
            .iter()
            .map(str::to_owned)
            .collect()
    } else {
        Vec::new()
    };
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| csv_error(&e))?;
        if rows.len() == max_rows {
            return Err(Error::ResourceLimitExceeded {
                resource: "csv_rows".to_owned(),
                limit: max_rows as u64,
                requested: max_rows as u64 + 1,
            });
        }
        rows.push(record.iter().map(str::to_owned).collect::<Vec<_>>());
    }
    let width = rows.iter().map(Vec::len).max().unwrap_or(0);
    for i in headers.len()..width {
        headers.push(format!("column_{}", i + 1));
    }
    Ok(Table { headers, rows })
}

/// CSV text (first row: headers) as a JSON array of objects, with numbers,
/// booleans and empty cells typed when `infer_types` is set.
pub(crate) fn csv_to_json(text: &str, infer_types: bool) -> Result<Value> {
    let table = parse_table(text, b',', true, DEFAULT_MAX_ROWS)?;
    Ok(Value::Array(
        table
            .rows
            .iter()
            .map(|r| row_object(&table.headers, r, infer_types))
            .collect(),
    ))
}

/// A JSON array of objects (or of arrays) as CSV text.
pub(crate) fn json_to_csv(value: &Value) -> Result<String> {
    match value {
        Value::Array(rows) => from_json(rows, None, b','),
        other => Err(Error::invalid_input(
            "data",
            format!(
                "CSV needs an array of objects or of arrays, got {}",
                params::json_type(other)
            ),
        )),
    }
}

fn csv_error(e: &csv::Error) -> Error {
    let place = e
        .position()
        .map(|p| format!(" at line {}", p.line()))
        .unwrap_or_default();
    Error::invalid_input("text", format!("invalid CSV{place}: {e}"))
}

fn number(s: &str) -> Option<f64> {
    let t = s.trim();
    if t.is_empty() {
        return None;
    }
    t.parse::<f64>().ok().filter(|v| v.is_finite())
}

fn stats(table: &Table) -> Value {
    let columns: Vec<Value> = table
        .headers
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let (mut count, mut empty, mut numeric) = (0usize, 0usize, 0usize);
            let (mut min, mut max, mut sum) = (f64::INFINITY, f64::NEG_INFINITY, 0.0);
            let mut distinct: HashSet<&str> = HashSet::new();
            for row in &table.rows {
                let cell = row.get(i).map_or("", String::as_str);
                if cell.trim().is_empty() {
                    empty += 1;
                    continue;
                }
                count += 1;
                distinct.insert(cell);
                if let Some(v) = number(cell) {
                    numeric += 1;
                    min = min.min(v);
                    max = max.max(v);
                    sum += v;
                }
            }
            let kind = match (count, numeric) {
                (0, _) => "empty",
                (c, n) if c == n => "number",
                (_, 0) => "string",
                _ => "mixed",
            };
            let mut column = json!({
                "name": name,
                "count": count,
                "empty": empty,
                "distinct": distinct.len(),
                "type": kind,
            });
            if numeric > 0 {
                column["min"] = crate::utility::number_to_json(min);
                column["max"] = crate::utility::number_to_json(max);
                column["sum"] = crate::utility::number_to_json(sum);
                column["mean"] = json!(sum / numeric as f64);
                column["numeric_count"] = json!(numeric);
            }
            column
        })
        .collect();
    json!({ "row_count": table.rows.len(), "columns": columns })
}

struct Compiled {
    index: usize,
    op: Op,
    text: String,
    number: Option<f64>,
    regex: Option<Regex>,
}

fn compile(table: &Table, conditions: &[Condition]) -> Result<Vec<Compiled>> {
    conditions
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let index = table
                .headers
                .iter()
                .position(|h| h == &c.column)
                .ok_or_else(|| {
                    Error::invalid_input(
                        format!("conditions[{i}].column"),
                        format!(
                            "no column \"{}\"; columns: {}",
                            c.column,
                            table.headers.join(", ")
                        ),
                    )
                })?;
            let text = match &c.value {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            };
            if c.value.is_null() && !matches!(c.op, Op::Empty | Op::NotEmpty) {
                return Err(Error::invalid_input(
                    format!("conditions[{i}].value"),
                    "expected a value to compare with",
                ));
            }
            let regex = if c.op == Op::Matches {
                Some(
                    RegexBuilder::new(&text)
                        .size_limit(1 << 20)
                        .build()
                        .map_err(|e| {
                            Error::invalid_input(
                                format!("conditions[{i}].value"),
                                format!("invalid regex: {e}"),
                            )
                        })?,
                )
            } else {
                None
            };
            Ok(Compiled {
                index,
                op: c.op,
                number: number(&text),
                text,
                regex,
            })
        })
        .collect()
}

fn matches(cond: &Compiled, row: &[String]) -> bool {
    let cell = row.get(cond.index).map_or("", String::as_str);
    let ordering = || match (number(cell), cond.number) {
        (Some(a), Some(b)) => a.partial_cmp(&b),
        _ => Some(cell.cmp(cond.text.as_str())),
    };
    use std::cmp::Ordering::{Equal, Greater, Less};
    match cond.op {
        Op::Eq => ordering() == Some(Equal),
        Op::Ne => ordering() != Some(Equal),
        Op::Gt => ordering() == Some(Greater),
        Op::Gte => matches!(ordering(), Some(Greater | Equal)),
        Op::Lt => ordering() == Some(Less),
        Op::Lte => matches!(ordering(), Some(Less | Equal)),
        Op::Contains => cell.contains(cond.text.as_str()),
        Op::StartsWith => cell.starts_with(cond.text.as_str()),
        Op::EndsWith => cell.ends_with(cond.text.as_str()),
        Op::Matches => cond.regex.as_ref().is_some_and(|r| r.is_match(cell)),
        Op::Empty => cell.trim().is_empty(),
        Op::NotEmpty => !cell.trim().is_empty(),
    }
}

fn typed(cell: &str) -> Value {
    let t = cell.trim();
    if t.is_empty() {
        return Value::Null;
    }
    if let Ok(i) = t.parse::<i64>() {
        return json!(i);
    }
    if let Some(f) = number(t) {
        return json!(f);
    }
    match t {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        _ => Value::String(cell.to_owned()),
    }
}

fn row_object(headers: &[String], row: &[String], infer: bool) -> Value {
    let mut obj = Map::with_capacity(headers.len());
    for (i, h) in headers.iter().enumerate() {
        let cell = row.get(i).map_or("", String::as_str);
        let v = if infer {
            typed(cell)
        } else {
            Value::String(cell.to_owned())
        };
        obj.insert(h.clone(), v);
    }
    Value::Object(obj)
}

fn write_csv(delim: u8, headers: Option<&[String]>, rows: &[Vec<String>]) -> Result<String> {
    let mut writer = csv::WriterBuilder::new()
        .delimiter(delim)
        .flexible(true)
        .from_writer(Vec::new());
    let io =
        |e: csv::Error| Error::execution("tool:csv_analyzer", format!("cannot write CSV: {e}"));
    if let Some(h) = headers {
        writer.write_record(h).map_err(io)?;
    }
    for row in rows {
        writer.write_record(row).map_err(io)?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| Error::execution("tool:csv_analyzer", format!("cannot write CSV: {e}")))?;
    String::from_utf8(bytes).map_err(|e| Error::execution("tool:csv_analyzer", e.to_string()))
}

fn cell_text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn from_json(data: &[Value], headers: Option<Vec<String>>, delim: u8) -> Result<String> {
    if data.iter().all(Value::is_object) {
        let headers = headers.unwrap_or_else(|| {
            let mut seen: Vec<String> = Vec::new();
            for row in data.iter().filter_map(Value::as_object) {
                for key in row.keys() {
                    if !seen.contains(key) {
                        seen.push(key.clone());
                    }
                }
            }
            seen
        });
        let rows: Vec<Vec<String>> = data
            .iter()
            .filter_map(Value::as_object)
            .map(|row| {
                headers
                    .iter()
                    .map(|h| row.get(h).map(cell_text).unwrap_or_default())
                    .collect()
            })
            .collect();
        write_csv(delim, Some(&headers), &rows)
    } else if data.iter().all(Value::is_array) {
        let rows: Vec<Vec<String>> = data
            .iter()
            .filter_map(Value::as_array)
            .map(|row| row.iter().map(cell_text).collect())
            .collect();
        write_csv(delim, headers.as_deref(), &rows)
    } else {
        Err(Error::invalid_input(
            "data",
            "expected an array of objects or an array of arrays",
        ))
    }
}

#[async_trait]
impl Tool for CsvAnalyzer {
    fn metadata(&self) -> &ComponentMetadata {
        &self.metadata
    }

    fn category(&self) -> ToolCategory {
        ToolCategory::Data
    }

    fn parameters_schema(&self) -> Value {
        PARAMS.schema()
    }

    fn check_params(&self, params: &Value) -> Result<()> {
        PARAMS.check(params)
    }

    fn examples(&self) -> Vec<Value> {
        vec![
            json!({ "operation": "stats", "text": "name,score\nada,90\nbob,70\ncy,\n" }),
            json!({
                "operation": "filter", "text": "name,score\nada,90\nbob,70\n",
                "conditions": [{ "column": "score", "op": "gt", "value": 80 }]
            }),
        ]
    }

    fn output_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "row_count": { "type": "integer" },
                "columns": { "type": "array", "description": "stats: one entry per column" },
                "rows": { "type": "array", "description": "filter: matching rows as objects" },
                "count": { "type": "integer", "description": "filter: number of matching rows" },
                "csv": { "type": "string", "description": "filter: matching rows as CSV" },
                "headers": { "type": "array", "items": { "type": "string" } },
                "result": { "description": "to_json: array of objects; from_json: CSV text" }
            }
        })
    }

    async fn execute(&self, params: Value, _ctx: &ExecutionContext) -> Result<Value> {
        match PARAMS.read(params)? {
            Operation::Stats {
                text,
                delimiter,
                has_headers,
            } => Ok(stats(&self.read(&Source {
                text,
                delimiter,
                has_headers,
            })?)),
            Operation::Filter {
                text,
                delimiter,
                has_headers,
                conditions,
                mode,
            } => {
                let source = Source {
                    text,
                    delimiter,
                    has_headers,
                };
                let table = self.read(&source)?;
                let compiled = compile(&table, &conditions)?;
                let kept: Vec<Vec<String>> = table
                    .rows
                    .iter()
                    .filter(|row| match mode {
                        Mode::All => compiled.iter().all(|c| matches(c, row)),
                        Mode::Any => compiled.iter().any(|c| matches(c, row)),
                    })
                    .cloned()
                    .collect();
                let objects: Vec<Value> = kept
                    .iter()
                    .map(|r| row_object(&table.headers, r, false))
                    .collect();
                let csv = write_csv(
                    separator(source.delimiter.as_deref())?,
                    Some(&table.headers),
                    &kept,
                )?;
                Ok(json!({ "rows": objects, "count": kept.len(), "csv": csv }))
            }
            Operation::ToJson {
                text,
                delimiter,
                has_headers,
                infer_types,
            } => {
                let table = self.read(&Source {
                    text,
                    delimiter,
                    has_headers,
                })?;
                let result: Vec<Value> = table
                    .rows
                    .iter()
                    .map(|r| row_object(&table.headers, r, infer_types))
                    .collect();
                Ok(json!({ "result": result, "headers": table.headers }))
            }
            Operation::FromJson {
                data,
                headers,
                delimiter: d,
            } => Ok(json!({ "result": from_json(&data, headers, separator(d.as_deref())?)? })),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SALES: &str = "region,product,units,price\nnorth,apple,10,1.5\nsouth,pear,4,2\nnorth,pear,,2.5\neast,apple,7,x\n";

    fn exec(params: Value) -> Result<Value> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(CsvAnalyzer::new().execute(params, &ExecutionContext::native()))
    }

    #[test]
    fn per_column_statistics() {
        let out = exec(json!({ "operation": "stats", "text": SALES })).unwrap();
        assert_eq!(out["row_count"], 4);
        let cols = out["columns"].as_array().unwrap();
        assert_eq!(
            cols[0],
            json!({ "name": "region", "count": 4, "empty": 0, "distinct": 3, "type": "string" })
        );
        assert_eq!(cols[2]["type"], "number");
        assert_eq!(cols[2]["count"], 3);
        assert_eq!(cols[2]["empty"], 1);
        assert_eq!(cols[2]["min"], 4);
        assert_eq!(cols[2]["max"], 10);
        assert_eq!(cols[2]["sum"], 21);
        assert_eq!(cols[2]["mean"], 7.0);
        assert_eq!(cols[3]["type"], "mixed");
        assert_eq!(cols[3]["mean"], 2.0);
    }

    #[test]
    fn filters_rows_by_conditions() {
        let out = exec(
            json!({ "operation": "filter", "text": SALES, "conditions": [
                { "column": "region", "op": "eq", "value": "north" },
                { "column": "price", "op": "gt", "value": 2 }
            ]}),
        )
        .unwrap();
        assert_eq!(out["count"], 1);
        assert_eq!(
            out["rows"],
            json!([{ "region": "north", "product": "pear", "units": "", "price": "2.5" }])
        );
        assert_eq!(out["csv"], "region,product,units,price\nnorth,pear,,2.5\n");
        let any = exec(
            json!({ "operation": "filter", "text": SALES, "mode": "any", "conditions": [
                { "column": "units", "op": "empty" },
                { "column": "product", "op": "matches", "value": "^app" }
            ]}),
        )
        .unwrap();
        assert_eq!(any["count"], 3);
    }

    #[test]
    fn unknown_columns_are_named() {
        let err = exec(json!({ "operation": "filter", "text": SALES, "conditions": [{ "column": "qty", "op": "eq", "value": 1 }] })).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("`conditions[0].column`") && msg.contains("region, product"),
            "{msg}"
        );
    }

    #[test]
    fn converts_to_json_and_back() {
        let out = exec(json!({ "operation": "to_json", "text": "a;b;c\n1;x;true\n2.5;;false\n", "delimiter": ";" })).unwrap();
        assert_eq!(
            out["result"],
            json!([{ "a": 1, "b": "x", "c": true }, { "a": 2.5, "b": null, "c": false }])
        );
        let back = exec(json!({ "operation": "from_json", "data": out["result"] })).unwrap();
        assert_eq!(back["result"], "a,b,c\n1,x,true\n2.5,,false\n");
        let arrays = exec(json!({ "operation": "from_json", "data": [["x", "y,z"], [1, null]], "headers": ["h1", "h2"] })).unwrap();
        assert_eq!(arrays["result"], "h1,h2\nx,\"y,z\"\n1,\n");
    }

    #[test]
    fn headerless_input_gets_generated_names() {
        let out =
            exec(json!({ "operation": "to_json", "text": "1,2\n3,4\n", "has_headers": false }))
                .unwrap();
        assert_eq!(out["headers"], json!(["column_1", "column_2"]));
        assert_eq!(out["result"][1], json!({ "column_1": 3, "column_2": 4 }));
    }

    #[test]
    fn malformed_input_is_an_input_error() {
        let err =
            exec(json!({ "operation": "stats", "text": "a\n\"unclosed\n", "delimiter": "ab" }))
                .unwrap_err();
        assert!(err.to_string().contains("`delimiter`"), "{err}");
        let err = exec(json!({ "operation": "from_json", "data": [1, 2] })).unwrap_err();
        assert!(err.to_string().contains("`data`"), "{err}");
        let tool = CsvAnalyzer::new().with_max_rows(2);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let err = rt
            .block_on(tool.execute(
                json!({ "operation": "stats", "text": SALES }),
                &ExecutionContext::native(),
            ))
            .unwrap_err();
        assert!(
            matches!(err, Error::ResourceLimitExceeded { limit: 2, .. }),
            "{err}"
        );
    }
}
