//! Typed parameter parsing shared by the built-in tools.
//!
//! Tools receive their parameters as JSON. Each tool deserialises them into a
//! typed struct (or, for tools with an `operation` parameter, an enum with one
//! struct variant per operation), through [`llmspell_core::params`], whose
//! errors name the offending field: `` `expression`: expected a string, got
//! number ``.
//!
//! A tool names its parameter type once, in a [`ParamsSpec`]: the tool's
//! schema ([`crate::schema`]), its parser and its parameter check all go
//! through that one value, so what the schema promises is what the parser
//! reads.

use std::marker::PhantomData;

use llmspell_core::Result;
pub(crate) use llmspell_core::params::{json_type, parse, parse_operation};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::schema;

/// How a tool reads its parameters: into `T`, either as a plain object
/// ([`object`](Self::object)) or as `{ "operation": ..., ... }` selecting a
/// variant of the enum `T` ([`operations`](Self::operations)).
///
/// ```ignore
/// const PARAMS: ParamsSpec<Params> = ParamsSpec::object();
/// fn parameters_schema(&self) -> Value { PARAMS.schema() }
/// fn check_params(&self, params: &Value) -> Result<()> { PARAMS.check(params) }
/// async fn execute(&self, params: Value, _: &ExecutionContext) -> Result<Value> {
///     let p = PARAMS.read(params)?;
///     // ...
/// }
/// ```
pub(crate) struct ParamsSpec<T> {
    by_operation: bool,
    read_as: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned + JsonSchema> ParamsSpec<T> {
    /// `T` is a struct read from the parameters object.
    pub(crate) const fn object() -> Self {
        Self {
            by_operation: false,
            read_as: PhantomData,
        }
    }

    /// `T` is an enum whose variant the `operation` member names (see
    /// [`parse_operation`]).
    pub(crate) const fn operations() -> Self {
        Self {
            by_operation: true,
            read_as: PhantomData,
        }
    }

    /// The JSON Schema of the parameters, derived from `T`.
    pub(crate) fn schema(&self) -> Value {
        if self.by_operation {
            schema::operations::<T>()
        } else {
            schema::object::<T>()
        }
    }

    /// Reads `params` into `T`.
    ///
    /// # Errors
    /// `InvalidInput` naming the offending field.
    pub(crate) fn read(&self, params: Value) -> Result<T> {
        if self.by_operation {
            parse_operation(params)
        } else {
            parse(&params)
        }
    }

    /// Reads `params` into `T` and drops the result.
    ///
    /// # Errors
    /// As [`read`](Self::read).
    pub(crate) fn check(&self, params: &Value) -> Result<()> {
        if self.by_operation {
            parse_operation::<T>(params.clone()).map(drop)
        } else {
            parse::<T>(params).map(drop)
        }
    }
}
