//! Prices per provider and model.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What a model costs, per 1,000 tokens, in the table's currency.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ModelPrice {
    /// Price of 1,000 input (prompt) tokens.
    pub input_per_1k: f64,
    /// Price of 1,000 output (generated) tokens.
    pub output_per_1k: f64,
}

impl ModelPrice {
    /// A price.
    pub fn new(input_per_1k: f64, output_per_1k: f64) -> Self {
        Self {
            input_per_1k,
            output_per_1k,
        }
    }

    /// The cost of a call with these token counts.
    pub fn cost(&self, input_tokens: u64, output_tokens: u64) -> f64 {
        (input_tokens as f64 * self.input_per_1k + output_tokens as f64 * self.output_per_1k)
            / 1000.0
    }

    pub(crate) fn is_valid(&self) -> bool {
        self.input_per_1k.is_finite()
            && self.output_per_1k.is_finite()
            && self.input_per_1k >= 0.0
            && self.output_per_1k >= 0.0
    }
}

/// Prices per (provider, model), in one currency.
///
/// Provider and model names are matched without case. A model name that
/// is not listed falls back to the longest listed name it extends at a `-`
/// (`gpt-4o-mini-2024-07-18` is priced as `gpt-4o-mini`); when the provider
/// is unknown, every provider's models are searched.
///
/// [`PricingTable::with_defaults`] lists a few common models in USD, as
/// published by their providers when this crate was written; prices change,
/// so applications that budget real money should set their own.
///
/// ```
/// use llmspell_hooks::builtin::{ModelPrice, PricingTable};
/// let table = PricingTable::new("EUR").with("local", "llama-3-70b", ModelPrice::new(0.0005, 0.0008));
/// let p = table.lookup(Some("local"), "llama-3-70b-instruct").unwrap();
/// assert!((p.cost(1000, 1000) - 0.0013).abs() < 1e-12);
/// assert!(table.lookup(Some("other"), "llama-3-70b").is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PricingTable {
    currency: String,
    prices: BTreeMap<String, BTreeMap<String, ModelPrice>>,
}

impl Default for PricingTable {
    fn default() -> Self {
        Self::with_defaults()
    }
}

impl PricingTable {
    /// An empty table in `currency` (an ISO 4217 code such as `USD`).
    pub fn new(currency: impl Into<String>) -> Self {
        Self {
            currency: currency.into(),
            prices: BTreeMap::new(),
        }
    }

    /// A USD table with common OpenAI and Anthropic models.
    pub fn with_defaults() -> Self {
        let p = ModelPrice::new;
        Self::new("USD")
            .with("openai", "gpt-4o", p(0.0025, 0.01))
            .with("openai", "gpt-4o-mini", p(0.000_15, 0.0006))
            .with("openai", "gpt-4.1", p(0.002, 0.008))
            .with("openai", "gpt-4.1-mini", p(0.0004, 0.0016))
            .with("openai", "gpt-4.1-nano", p(0.0001, 0.0004))
            .with("anthropic", "claude-3-5-haiku", p(0.0008, 0.004))
            .with("anthropic", "claude-3-5-sonnet", p(0.003, 0.015))
            .with("anthropic", "claude-sonnet-4", p(0.003, 0.015))
            .with("anthropic", "claude-opus-4", p(0.015, 0.075))
    }

    /// The table with a price set.
    #[must_use]
    pub fn with(mut self, provider: &str, model: &str, price: ModelPrice) -> Self {
        self.set(provider, model, price);
        self
    }

    /// Sets a price.
    pub fn set(&mut self, provider: &str, model: &str, price: ModelPrice) {
        self.prices
            .entry(provider.to_lowercase())
            .or_default()
            .insert(model.to_lowercase(), price);
    }

    /// The currency.
    pub fn currency(&self) -> &str {
        &self.currency
    }

    /// Every (provider, model, price), sorted.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &str, ModelPrice)> {
        self.prices.iter().flat_map(|(p, models)| {
            models
                .iter()
                .map(move |(m, price)| (p.as_str(), m.as_str(), *price))
        })
    }

    /// The price of `model` from `provider` (any provider when `None`).
    pub fn lookup(&self, provider: Option<&str>, model: &str) -> Option<ModelPrice> {
        let model = model.to_lowercase();
        let best = |models: &BTreeMap<String, ModelPrice>| -> Option<(usize, ModelPrice)> {
            if let Some(p) = models.get(&model) {
                return Some((usize::MAX, *p));
            }
            models
                .iter()
                .filter(|(name, _)| {
                    model.len() > name.len()
                        && model.starts_with(name.as_str())
                        && model.as_bytes()[name.len()] == b'-'
                })
                .max_by_key(|(name, _)| name.len())
                .map(|(name, p)| (name.len(), *p))
        };
        match provider {
            Some(provider) => self
                .prices
                .get(&provider.to_lowercase())
                .and_then(best)
                .map(|(_, p)| p),
            None => self
                .prices
                .values()
                .filter_map(best)
                .max_by_key(|(len, _)| *len)
                .map(|(_, p)| p),
        }
    }

    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.currency.trim().is_empty() {
            return Err("the currency is empty".to_owned());
        }
        for (provider, model, price) in self.entries() {
            if !price.is_valid() {
                return Err(format!(
                    "the price of {provider}/{model} must be finite and not negative"
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_listed_prefix_wins() {
        let t = PricingTable::with_defaults();
        let mini = t.lookup(Some("openai"), "gpt-4o-mini-2024-07-18").unwrap();
        assert_eq!(mini, ModelPrice::new(0.000_15, 0.0006));
        assert_eq!(
            t.lookup(Some("OpenAI"), "GPT-4o").unwrap(),
            ModelPrice::new(0.0025, 0.01)
        );
        assert_eq!(
            t.lookup(None, "claude-opus-4-1").unwrap().output_per_1k,
            0.075
        );
        assert!(t.lookup(Some("openai"), "gpt-4").is_none());
        assert!(t.lookup(Some("openai"), "gpt-4ox").is_none());
        assert!(t.lookup(Some("nobody"), "gpt-4o").is_none());
    }
}
