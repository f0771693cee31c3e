//! What a statement returned, as the tool's JSON output.

use serde_json::{Map, Value, json};

/// A result column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Column {
    /// Its name.
    pub(crate) name: String,
    /// Its SQL type, lower case (`int4`, `text`, `timestamptz`, `integer`).
    pub(crate) type_name: String,
}

/// The rows and counts of one statement.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Outcome {
    pub(crate) columns: Vec<Column>,
    /// Each row's values, in column order.
    pub(crate) rows: Vec<Vec<Value>>,
    /// More rows were available than returned.
    pub(crate) truncated: bool,
    /// Rows inserted, updated or deleted (when the statement ran to its
    /// end).
    pub(crate) rows_affected: Option<u64>,
}

impl Outcome {
    /// `{ engine, columns, rows, row_count, truncated, rows_affected,
    /// elapsed_ms }`. Rows are objects keyed by column name; a name that
    /// repeats gets a suffix (`id`, `id_2`), also in `columns`.
    pub(crate) fn into_json(self, engine: &str, elapsed_ms: f64) -> Value {
        let names = unique_names(&self.columns);
        let columns: Vec<Value> = names
            .iter()
            .zip(&self.columns)
            .map(|(name, c)| json!({ "name": name, "type": c.type_name }))
            .collect();
        let row_count = self.rows.len();
        let rows: Vec<Value> = self
            .rows
            .into_iter()
            .map(|values| {
                let mut row = Map::with_capacity(values.len());
                for (name, value) in names.iter().zip(values) {
                    row.insert(name.clone(), value);
                }
                Value::Object(row)
            })
            .collect();
        json!({
            "engine": engine,
            "columns": columns,
            "rows": rows,
            "row_count": row_count,
            "truncated": self.truncated,
            "rows_affected": self.rows_affected,
            "elapsed_ms": elapsed_ms,
        })
    }
}

fn unique_names(columns: &[Column]) -> Vec<String> {
    let mut names: Vec<String> = Vec::with_capacity(columns.len());
    for c in columns {
        let mut name = c.name.clone();
        let mut n = 2;
        while names.contains(&name) {
            name = format!("{}_{n}", c.name);
            n += 1;
        }
        names.push(name);
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_column_names_get_suffixes() {
        let col = |n: &str| Column {
            name: n.into(),
            type_name: "integer".into(),
        };
        let out = Outcome {
            columns: vec![col("id"), col("id"), col("n")],
            rows: vec![vec![json!(1), json!(2), json!(3)]],
            truncated: false,
            rows_affected: None,
        }
        .into_json("sqlite", 1.0);
        assert_eq!(out["rows"][0], json!({ "id": 1, "id_2": 2, "n": 3 }));
        assert_eq!(out["columns"][1]["name"], "id_2");
        assert_eq!(out["row_count"], 1);
    }
}
