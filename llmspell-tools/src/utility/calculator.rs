//! `calculator`: arithmetic expressions with variables and math functions.

use std::collections::BTreeMap;

use async_trait::async_trait;
use evalexpr::{DefaultNumericTypes, Node, Operator, Value as ExprValue};
use llmspell_core::{ComponentMetadata, Error, ExecutionContext, Result, Tool, ToolCategory};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::params::ParamsSpec;

/// Longest expression accepted, in bytes.
const MAX_EXPRESSION_LEN: usize = 4096;
/// Deepest parenthesis nesting accepted. With the operator limit below it
/// bounds the depth of the parse tree, which the parser and the evaluator
/// both walk recursively.
const MAX_NESTING: usize = 32;
/// Most operator characters accepted.
const MAX_OPERATORS: usize = 200;
/// Integral results below this magnitude are returned as JSON integers.
const EXACT_INTEGER_LIMIT: f64 = 9_007_199_254_740_992.0; // 2^53

const FUNCTIONS: &str = "sqrt, sin, cos, tan, asin, acos, atan, abs, floor, ceil, round, \
                         ln, log, log2, exp, pow, min, max";

/// Evaluates arithmetic expressions: `+ - * / % ^`, parentheses, numeric
/// variables, the constants `pi` and `e`, and the functions `sqrt`, `sin`,
/// `cos`, `tan`, `asin`, `acos`, `atan`, `abs`, `floor`, `ceil`,
/// `round(x[, digits])`, `ln`, `log(x[, base])` (base 10 by default), `log2`,
/// `exp`, `pow(x, y)`, `min(..)` and `max(..)`.
///
/// Parsing is done by `evalexpr`; evaluation is done here in `f64` so that
/// `7 / 2` is `3.5` (not integer division), division by zero and domain
/// errors (`sqrt(-1)`) are reported instead of producing `inf`/`NaN`, `^` is
/// right-associative (`2 ^ 3 ^ 2` is `512`), and
/// assignments, chains and strings are refused. An integral result is
/// returned as a JSON integer, anything else as a float.
///
/// Parameters `{ expression, variables? }`; output `{ result }`.
#[derive(Debug, Clone)]
pub struct Calculator {
    metadata: ComponentMetadata,
}

impl Calculator {
    /// Creates the tool.
    pub fn new() -> Self {
        Self {
            metadata: ComponentMetadata::tool(
                "calculator",
                "Evaluates arithmetic expressions with variables and math functions",
            ),
        }
    }

    /// Evaluates `expression` with `variables`, returning the numeric result.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] (field `expression`) for syntax errors, unknown
    /// variables or functions, division by zero, domain errors and results
    /// that are not finite.
    pub fn evaluate(&self, expression: &str, variables: &BTreeMap<String, f64>) -> Result<f64> {
        if expression.len() > MAX_EXPRESSION_LEN {
            return Err(expr_error(format!(
                "expression is {} bytes long; the limit is {MAX_EXPRESSION_LEN}",
                expression.len()
            )));
        }
        check_nesting(expression)?;
        let tree = evalexpr::build_operator_tree::<DefaultNumericTypes>(expression)
            .map_err(|e| expr_error(format!("syntax error: {e}")))?;
        let value = Evaluator { variables }.eval(&tree)?;
        if value.is_finite() {
            Ok(value)
        } else {
            Err(expr_error("the result is too large to represent"))
        }
    }
}

impl Default for Calculator {
    fn default() -> Self {
        Self::new()
    }
}

/// The parameters of `calculator`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Params {
    /// The arithmetic expression: `+ - * / % ^`, parentheses, variable
    /// names, the constants `pi` and `e`, and the functions `sqrt`, `sin`,
    /// `cos`, `tan`, `asin`, `acos`, `atan`, `abs`, `floor`, `ceil`,
    /// `round(x[, digits])`, `ln`, `log(x[, base])`, `log2`, `exp`,
    /// `pow(x, y)`, `min(...)` and `max(...)`. At most 4096 bytes, 200
    /// operators and 32 levels of parentheses.
    #[schemars(length(max = MAX_EXPRESSION_LEN))]
    expression: String,
    /// Numeric values for the variable names used in the expression
    /// (default: none).
    #[serde(default)]
    variables: BTreeMap<String, f64>,
}

/// How `calculator` reads its parameters.
const PARAMS: ParamsSpec<Params> = ParamsSpec::object();

/// Renders a finite `f64` as a JSON integer when it is integral and exact.
pub(crate) fn number_to_json(v: f64) -> Value {
    if v.fract() == 0.0 && v.abs() < EXACT_INTEGER_LIMIT {
        // In range and integral, so the cast is exact.
        json!(v as i64)
    } else {
        json!(v)
    }
}

#[async_trait]
impl Tool for Calculator {
    fn metadata(&self) -> &ComponentMetadata {
        &self.metadata
    }

    fn category(&self) -> ToolCategory {
        ToolCategory::Utility
    }

    fn parameters_schema(&self) -> Value {
        PARAMS.schema()
    }

    fn check_params(&self, params: &Value) -> Result<()> {
        PARAMS.check(params)
    }

    fn examples(&self) -> Vec<Value> {
        vec![json!({ "expression": "2 + 2 * x", "variables": { "x": 3 } })]
    }

    fn output_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "result": {
                    "type": "number",
                    "description": "The value; an integer when the result is integral"
                }
            },
            "required": ["result"]
        })
    }

    async fn execute(&self, params: Value, _ctx: &ExecutionContext) -> Result<Value> {
        let p = PARAMS.read(params)?;
        let value = self.evaluate(&p.expression, &p.variables)?;
        Ok(json!({ "result": number_to_json(value) }))
    }
}

fn expr_error(message: impl Into<String>) -> Error {
    Error::invalid_input("expression", message)
}

fn missing_operand() -> Error {
    expr_error("incomplete expression: an operator is missing an operand")
}

fn check_nesting(expression: &str) -> Result<()> {
    let mut depth = 0usize;
    let mut operators = 0usize;
    for b in expression.bytes() {
        match b {
            b'+' | b'-' | b'*' | b'/' | b'%' | b'^' | b'!' | b'<' | b'>' | b'=' | b'&' | b'|' => {
                operators += 1;
                if operators > MAX_OPERATORS {
                    return Err(expr_error(format!(
                        "more than {MAX_OPERATORS} operators; split the calculation"
                    )));
                }
            }
            b'(' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err(expr_error(format!(
                        "parentheses nest deeper than {MAX_NESTING} levels"
                    )));
                }
            }
            b')' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

struct Evaluator<'a> {
    variables: &'a BTreeMap<String, f64>,
}

impl Evaluator<'_> {
    fn eval(&self, node: &Node<DefaultNumericTypes>) -> Result<f64> {
        let children = node.children();
        match node.operator() {
            Operator::RootNode => match children {
                [only] => self.eval(only),
                [] => Err(expr_error("expected an expression, got nothing")),
                _ => Err(expr_error("expected a single expression")),
            },
            Operator::Const { value } => match value {
                ExprValue::Int(i) => Ok(*i as f64),
                ExprValue::Float(f) => Ok(*f),
                other => Err(expr_error(format!(
                    "expected a number, got {}",
                    value_kind(other)
                ))),
            },
            Operator::VariableIdentifierRead { identifier } => self.variable(identifier),
            Operator::Neg => Ok(-self.unary(children)?),
            Operator::Add => self.binary(children).map(|(a, b)| a + b),
            Operator::Sub => self.binary(children).map(|(a, b)| a - b),
            Operator::Mul => self.binary(children).map(|(a, b)| a * b),
            Operator::Div => {
                let (a, b) = self.binary(children)?;
                if b == 0.0 {
                    Err(expr_error("division by zero"))
                } else {
                    Ok(a / b)
                }
            }
            Operator::Mod => {
                let (a, b) = self.binary(children)?;
                if b == 0.0 {
                    Err(expr_error("division by zero (in `%`)"))
                } else {
                    Ok(a % b)
                }
            }
            Operator::Exp => self.power(node),
            Operator::FunctionIdentifier { identifier } => {
                let args = self.arguments(children)?;
                call(identifier, &args)
            }
            Operator::Assign
            | Operator::AddAssign
            | Operator::SubAssign
            | Operator::MulAssign
            | Operator::DivAssign
            | Operator::ModAssign
            | Operator::ExpAssign
            | Operator::AndAssign
            | Operator::OrAssign
            | Operator::VariableIdentifierWrite { .. } => Err(expr_error(
                "assignment is not supported; pass values in `variables`",
            )),
            Operator::Chain => Err(expr_error(
                "`;` chains are not supported; give a single expression",
            )),
            Operator::Tuple => Err(expr_error(
                "a comma-separated list is only valid as function arguments",
            )),
            other => Err(expr_error(format!(
                "operator `{other}` is not supported; use + - * / % ^ and functions"
            ))),
        }
    }

    fn unary(&self, children: &[Node<DefaultNumericTypes>]) -> Result<f64> {
        match children {
            [a] => self.eval(a),
            _ => Err(missing_operand()),
        }
    }

    fn binary(&self, children: &[Node<DefaultNumericTypes>]) -> Result<(f64, f64)> {
        match children {
            [a, b] => Ok((self.eval(a)?, self.eval(b)?)),
            _ => Err(missing_operand()),
        }
    }

    /// `^` is right-associative: the parser builds `a ^ b ^ c` as
    /// `(a ^ b) ^ c` with the inner power as a bare left child (explicit
    /// parentheses would wrap it in a root node), so such chains are
    /// flattened and folded from the right.
    fn power(&self, node: &Node<DefaultNumericTypes>) -> Result<f64> {
        let mut operands = Vec::new();
        let mut current = node;
        loop {
            match (current.operator(), current.children()) {
                (Operator::Exp, [left, right]) => {
                    operands.push(right);
                    current = left;
                }
                (Operator::Exp, _) => return Err(missing_operand()),
                _ => {
                    operands.push(current);
                    break;
                }
            }
        }
        // operands = [c, b, a] for a ^ b ^ c
        let mut acc = self.eval(operands[0])?;
        for base in &operands[1..] {
            acc = checked("^", self.eval(base)?.powf(acc))?;
        }
        Ok(acc)
    }

    /// A function's argument node is a root node holding either nothing, one
    /// expression, or a tuple of expressions.
    fn arguments(&self, children: &[Node<DefaultNumericTypes>]) -> Result<Vec<f64>> {
        let [arg] = children else {
            return Err(expr_error("malformed function call"));
        };
        let inner = match (arg.operator(), arg.children()) {
            (Operator::RootNode, []) => return Ok(Vec::new()),
            (Operator::RootNode, [inner]) => inner,
            _ => arg,
        };
        match inner.operator() {
            Operator::Tuple => inner.children().iter().map(|c| self.eval(c)).collect(),
            _ => Ok(vec![self.eval(inner)?]),
        }
    }

    fn variable(&self, name: &str) -> Result<f64> {
        if let Some(v) = self.variables.get(name) {
            return Ok(*v);
        }
        match name {
            "pi" => Ok(std::f64::consts::PI),
            "e" => Ok(std::f64::consts::E),
            _ => {
                let known: Vec<&str> = self.variables.keys().map(String::as_str).collect();
                Err(expr_error(if known.is_empty() {
                    format!("unknown variable `{name}`; no variables were given (constants: pi, e)")
                } else {
                    format!(
                        "unknown variable `{name}`; known: {} (constants: pi, e)",
                        known.join(", ")
                    )
                }))
            }
        }
    }
}

fn call(name: &str, args: &[f64]) -> Result<f64> {
    let one = |f: fn(f64) -> f64| -> Result<f64> {
        match args {
            [x] => checked(name, f(*x)),
            _ => Err(arity(name, "1 argument", args.len())),
        }
    };
    match name {
        "sqrt" => one(f64::sqrt),
        "sin" => one(f64::sin),
        "cos" => one(f64::cos),
        "tan" => one(f64::tan),
        "asin" => one(f64::asin),
        "acos" => one(f64::acos),
        "atan" => one(f64::atan),
        "abs" => one(f64::abs),
        "floor" => one(f64::floor),
        "ceil" => one(f64::ceil),
        "exp" => one(f64::exp),
        "ln" => one(f64::ln),
        "log2" => one(f64::log2),
        "log" => match args {
            [x] => checked(name, x.log10()),
            [x, base] => checked(name, x.log(*base)),
            _ => Err(arity(name, "1 or 2 arguments", args.len())),
        },
        "round" => match args {
            [x] => Ok(x.round()),
            [x, digits] if digits.fract() == 0.0 && (0.0..=15.0).contains(digits) => {
                let scale = 10f64.powi(*digits as i32);
                Ok((x * scale).round() / scale)
            }
            [_, _] => Err(expr_error(
                "round(x, digits): digits must be an integer from 0 to 15",
            )),
            _ => Err(arity(name, "1 or 2 arguments", args.len())),
        },
        "pow" => match args {
            [x, y] => checked(name, x.powf(*y)),
            _ => Err(arity(name, "2 arguments", args.len())),
        },
        "min" | "max" => {
            let mut it = args.iter().copied();
            let Some(first) = it.next() else {
                return Err(arity(name, "at least 1 argument", 0));
            };
            Ok(if name == "min" {
                it.fold(first, f64::min)
            } else {
                it.fold(first, f64::max)
            })
        }
        _ => Err(expr_error(format!(
            "unknown function `{name}`; available: {FUNCTIONS}"
        ))),
    }
}

fn checked(what: &str, v: f64) -> Result<f64> {
    if v.is_nan() {
        Err(expr_error(format!(
            "`{what}` is undefined for these arguments (the result is not a real number)"
        )))
    } else if v.is_infinite() {
        Err(expr_error(format!(
            "`{what}` produced a value too large to represent"
        )))
    } else {
        Ok(v)
    }
}

fn arity(name: &str, expected: &str, got: usize) -> Error {
    expr_error(format!("`{name}` expects {expected}, got {got}"))
}

fn value_kind(v: &ExprValue<DefaultNumericTypes>) -> &'static str {
    match v {
        ExprValue::String(_) => "a string",
        ExprValue::Boolean(_) => "a boolean",
        ExprValue::Tuple(_) => "a tuple",
        ExprValue::Empty => "nothing",
        _ => "a number",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(expression: &str, variables: Value) -> Result<Value> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(Calculator::new().execute(
            json!({ "expression": expression, "variables": variables }),
            &ExecutionContext::native(),
        ))
    }

    fn result(expression: &str) -> Value {
        run(expression, json!({})).unwrap()["result"].clone()
    }

    fn message(expression: &str) -> String {
        run(expression, json!({})).unwrap_err().to_string()
    }

    #[test]
    fn the_documented_example_returns_an_integer() {
        let out = run("2 + 2 * x", json!({ "x": 3 })).unwrap();
        assert_eq!(out, json!({ "result": 8 }));
        assert!(out["result"].is_i64());
    }

    #[test]
    fn precedence_and_parentheses() {
        assert_eq!(result("(2 + 2) * 3"), json!(12));
        assert_eq!(result("2 + 3 * 4 - 6 / 2"), json!(11));
        assert_eq!(result("2 ^ 3 ^ 2"), json!(512));
        assert_eq!(result("-2 ^ 2"), json!(-4));
        assert_eq!(result("10 % 4"), json!(2));
    }

    #[test]
    fn division_is_real_division() {
        assert_eq!(result("7 / 2"), json!(3.5));
        assert_eq!(result("1 / 4"), json!(0.25));
        assert_eq!(result("8 / 4"), json!(2));
    }

    #[test]
    fn functions_and_constants() {
        assert_eq!(result("sqrt(16)"), json!(4));
        assert_eq!(result("abs(-3.5)"), json!(3.5));
        assert_eq!(result("floor(2.7) + ceil(2.1)"), json!(5));
        assert_eq!(result("round(2.5)"), json!(3));
        assert_eq!(result("round(1.23456, 2)"), json!(1.23));
        assert_eq!(result("max(1, 7, 3) - min(4, 2)"), json!(5));
        assert_eq!(result("pow(2, 10)"), json!(1024));
        assert_eq!(result("log(1000)"), json!(3));
        assert_eq!(result("log(8, 2)"), json!(3));
        assert_eq!(result("ln(e)"), json!(1));
        assert_eq!(result("exp(0)"), json!(1));
        assert_eq!(result("sin(0) + cos(0)"), json!(1));
        let tan = result("tan(pi / 4)").as_f64().unwrap();
        assert!((tan - 1.0).abs() < 1e-12, "{tan}");
    }

    #[test]
    fn variables_shadow_constants() {
        let out = run("e * 2", json!({ "e": 5 })).unwrap();
        assert_eq!(out["result"], json!(10));
    }

    #[test]
    fn division_by_zero_is_an_error() {
        let m = message("1 / (2 - 2)");
        assert!(
            m.contains("`expression`") && m.contains("division by zero"),
            "{m}"
        );
        assert!(message("5 % 0").contains("division by zero"));
    }

    #[test]
    fn unknown_names_are_errors_that_list_what_is_known() {
        let e = run("x + y", json!({ "x": 1 })).unwrap_err().to_string();
        assert!(
            e.contains("unknown variable `y`") && e.contains("known: x"),
            "{e}"
        );
        let e = message("cube(2)");
        assert!(
            e.contains("unknown function `cube`") && e.contains("sqrt"),
            "{e}"
        );
    }

    #[test]
    fn side_effects_and_non_numbers_are_refused() {
        assert!(message("a = 3").contains("assignment is not supported"));
        assert!(message("1; 2").contains("chains are not supported"));
        assert!(message("\"text\"").contains("expected a number, got a string"));
        assert!(message("1 < 2").contains("not supported"));
    }

    #[test]
    fn domain_errors_and_arity_are_reported() {
        assert!(message("sqrt(-1)").contains("`sqrt` is undefined"));
        assert!(message("pow(2)").contains("`pow` expects 2 arguments, got 1"));
        assert!(message("10 ^ 400").contains("too large"));
    }

    #[test]
    fn syntax_errors_and_bad_params_are_invalid_input() {
        assert!(message("2 +").contains("missing an operand"));
        assert!(
            message("(2 + 3").contains("syntax error"),
            "{}",
            message("(2 + 3")
        );
        assert!(message("").contains("got nothing"));
        let deep = format!("{}1{}", "(".repeat(100), ")".repeat(100));
        assert!(message(&deep).contains("nest deeper"));
        let long = format!("{}1", "-".repeat(1000));
        assert!(message(&long).contains("more than 200 operators"));
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let e = rt
            .block_on(
                Calculator::new().execute(json!({ "expression": 5 }), &ExecutionContext::native()),
            )
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid input for `expression`: expected a string, got number"
        );
    }
}
