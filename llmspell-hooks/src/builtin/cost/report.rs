//! What the cost tracker reports.

use std::collections::BTreeMap;

use serde::Serialize;

use super::BudgetStatus;

/// Tokens and money spent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct CostTotals {
    /// Calls counted.
    pub calls: u64,
    /// Input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Cost, in the pricing table's currency.
    pub cost: f64,
    /// Calls of models without a price (counted at zero cost).
    pub unpriced_calls: u64,
}

impl CostTotals {
    pub(super) fn add(&mut self, input: u64, output: u64, cost: f64, priced: bool) {
        self.calls += 1;
        self.input_tokens = self.input_tokens.saturating_add(input);
        self.output_tokens = self.output_tokens.saturating_add(output);
        self.cost += cost;
        if !priced {
            self.unpriced_calls += 1;
        }
    }
}

/// Everything counted.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CostReport {
    /// The currency of every amount.
    pub currency: String,
    /// All calls.
    pub total: CostTotals,
    /// Per component name.
    pub by_component: BTreeMap<String, CostTotals>,
    /// Per `provider/model`.
    pub by_model: BTreeMap<String, CostTotals>,
    /// The budgets.
    pub budgets: Vec<BudgetStatus>,
    /// Calls the guard cancelled.
    pub guarded: u64,
    /// Estimates held for calls in flight.
    pub reserved: f64,
}
