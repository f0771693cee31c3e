//! Token costs of LLM calls: pricing, aggregation, budgets, a budget guard.

mod budget;
mod pricing;
mod report;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use llmspell_core::CorrelationId;
use llmspell_events::{EventBus, Topic, UniversalEvent};
use parking_lot::Mutex;
use serde_json::{Value, json};

pub use budget::{Budget, BudgetStatus};
pub use pricing::{ModelPrice, PricingTable};
pub use report::{CostReport, CostTotals};

use self::budget::Reservations;

use super::canonical::canonical_json;
use super::{PointPhase, invalid};
use crate::{
    FailMode, Hook, HookContext, HookHandle, HookMetadata, HookOptions, HookPoint, HookRegistry,
    HookResult, Priority,
};

/// The topic of budget alerts.
pub const BUDGET_ALERT_TOPIC: &str = "cost.budget.alert";

/// What the budget guard does with a call whose model has no price.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UnknownModelPolicy {
    /// Let it through (estimated at zero; still refused once the budget is spent).
    #[default]
    Allow,
    /// Cancel it: its cost cannot be bounded.
    Deny,
}

#[derive(Default)]
struct State {
    total: CostTotals,
    by_component: HashMap<String, CostTotals>,
    by_model: HashMap<String, CostTotals>,
    fired_total: Vec<f64>,
    fired_component: HashMap<String, Vec<f64>>,
    guarded: u64,
    /// Estimates held for calls in flight.
    reservations: Reservations,
}

struct Alert {
    scope: String,
    component: Option<String>,
    threshold: f64,
    spent: f64,
    limit: f64,
}

/// Counts what LLM calls cost and keeps spending within budgets.
///
/// **Tracking** (at `AfterLlmCall`): reads `usage.input_tokens`,
/// `usage.output_tokens`, `provider` and `model` from the response JSON,
/// prices them with the [`PricingTable`], and adds them up in total, per
/// component, per `provider/model` and per correlation id (the last
/// [`max_correlations`](CostTrackingHookBuilder::max_correlations) ids). A
/// model without a price is counted at zero cost with a warning.
///
/// **Budgets and alerts**: a total budget and per-component budgets (one
/// per name, or a default for every component); when spending crosses an
/// alert threshold, a `cost.budget.alert` event is published once per
/// threshold with data `{ scope, component, threshold, spent, limit,
/// currency }`.
///
/// **Budget guard** (at `BeforeLlmCall`, on unless turned off): estimates the
/// call's cost from its request and cancels it when spent + estimate would
/// exceed a budget that applies to it. The estimate, deliberately on the
/// high side: input tokens = ⌈characters of `system_prompt` and every
/// `messages[].content` ÷ [`chars_per_token`](CostTrackingHookBuilder::chars_per_token)⌉
/// (of the whole request's JSON when it has no messages), output tokens =
/// `max_tokens` or [`default_max_tokens`](CostTrackingHookBuilder::default_max_tokens),
/// priced by `provider` (request field or `provider` metadata) and `model`.
/// A call the guard lets through holds its estimate against the budgets
/// until its `AfterLlmCall` (replaced by the actual cost) or `LlmError`
/// (released), so calls in flight at the same time cannot together overrun
/// a budget; an estimate whose call never reports back is released after
/// [`reservation_ttl`](CostTrackingHookBuilder::reservation_ttl).
/// [`install`](CostTrackingHook::install) registers the guard fail-closed,
/// so a guard that fails cancels the call.
///
/// ```
/// use std::sync::Arc;
/// use llmspell_hooks::builtin::{Budget, CostTrackingHook, ModelPrice, PricingTable};
/// use llmspell_hooks::HookRegistry;
///
/// let pricing = PricingTable::with_defaults().with("local", "mistral-large", ModelPrice::new(0.002, 0.006));
/// let cost = Arc::new(
///     CostTrackingHook::builder()
///         .pricing(pricing)
///         .total_budget(Budget::new(25.0).thresholds([0.5, 0.9, 1.0]))
///         .component_budget("researcher", Budget::new(5.0))
///         .build()?,
/// );
/// let registry = HookRegistry::new();
/// let _handles = cost.install(&registry)?;
/// assert_eq!(cost.report().total.calls, 0);
/// # Ok::<(), llmspell_hooks::Error>(())
/// ```
pub struct CostTrackingHook {
    pricing: PricingTable,
    total_budget: Option<Budget>,
    component_budgets: HashMap<String, Budget>,
    default_component_budget: Option<Budget>,
    guard: bool,
    unknown_model: UnknownModelPolicy,
    chars_per_token: f64,
    default_max_tokens: u64,
    reservation_ttl: Duration,
    bus: Option<(EventBus, Topic)>,
    state: Mutex<State>,
    by_correlation: moka::sync::Cache<CorrelationId, Arc<Mutex<CostTotals>>>,
    metadata: HookMetadata,
}

/// Builds a [`CostTrackingHook`].
#[derive(Debug)]
#[must_use]
pub struct CostTrackingHookBuilder {
    pricing: PricingTable,
    total_budget: Option<Budget>,
    component_budgets: HashMap<String, Budget>,
    default_component_budget: Option<Budget>,
    guard: bool,
    unknown_model: UnknownModelPolicy,
    chars_per_token: f64,
    default_max_tokens: u64,
    max_correlations: u64,
    correlation_idle: Duration,
    reservation_ttl: Duration,
    bus: Option<EventBus>,
    name: String,
    priority: Priority,
}

impl Default for CostTrackingHookBuilder {
    fn default() -> Self {
        Self {
            pricing: PricingTable::with_defaults(),
            total_budget: None,
            component_budgets: HashMap::new(),
            default_component_budget: None,
            guard: true,
            unknown_model: UnknownModelPolicy::Allow,
            chars_per_token: 4.0,
            default_max_tokens: 1024,
            max_correlations: 10_000,
            correlation_idle: Duration::from_secs(3600),
            reservation_ttl: Duration::from_secs(600),
            bus: None,
            name: "builtin.cost_tracking".to_owned(),
            priority: Priority::HIGH,
        }
    }
}

impl CostTrackingHookBuilder {
    /// The prices. Default [`PricingTable::with_defaults`] (USD).
    pub fn pricing(mut self, pricing: PricingTable) -> Self {
        self.pricing = pricing;
        self
    }

    /// A budget for all calls together.
    pub fn total_budget(mut self, budget: Budget) -> Self {
        self.total_budget = Some(budget);
        self
    }

    /// A budget for the component named `name`.
    pub fn component_budget(mut self, name: impl Into<String>, budget: Budget) -> Self {
        self.component_budgets.insert(name.into(), budget);
        self
    }

    /// A budget for each component without its own.
    pub fn default_component_budget(mut self, budget: Budget) -> Self {
        self.default_component_budget = Some(budget);
        self
    }

    /// Whether the budget guard runs at Before points. Default true.
    pub fn guard(mut self, on: bool) -> Self {
        self.guard = on;
        self
    }

    /// What the guard does with an unpriced model. Default `Allow`.
    pub fn unknown_model(mut self, policy: UnknownModelPolicy) -> Self {
        self.unknown_model = policy;
        self
    }

    /// Characters per token for the guard's estimate. Default 4; lower is
    /// more cautious. Must be positive.
    pub fn chars_per_token(mut self, chars: f64) -> Self {
        self.chars_per_token = chars;
        self
    }

    /// Output tokens assumed for a request without `max_tokens`. Default 1024.
    pub fn default_max_tokens(mut self, tokens: u64) -> Self {
        self.default_max_tokens = tokens;
        self
    }

    /// How many correlation ids are kept for [`CostTrackingHook::correlation`].
    /// Default 10,000; at least 1.
    pub fn max_correlations(mut self, n: u64) -> Self {
        self.max_correlations = n;
        self
    }

    /// A correlation id unused for this long is forgotten. Default 1 hour.
    pub fn correlation_idle(mut self, idle: Duration) -> Self {
        self.correlation_idle = idle;
        self
    }

    /// How long the guard holds a call's estimate against the budgets when
    /// the call never reports back (a later Before hook cancelled it, or the
    /// hook is not registered at the Error point). Default 10 minutes; more
    /// than zero.
    pub fn reservation_ttl(mut self, ttl: Duration) -> Self {
        self.reservation_ttl = ttl;
        self
    }

    /// Publishes budget alerts on `bus`.
    pub fn bus(mut self, bus: EventBus) -> Self {
        self.bus = Some(bus);
        self
    }

    /// The hook's name. Default `builtin.cost_tracking`.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The hook's priority. Default `HIGH` (the guard refuses calls before
    /// other hooks spend effort on them).
    pub fn priority(mut self, priority: Priority) -> Self {
        self.priority = priority;
        self
    }

    /// Builds the hook.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`](crate::Error::InvalidConfig) for an invalid
    /// price, currency, budget or threshold, a non-positive
    /// `chars_per_token`, or `max_correlations` of 0.
    pub fn build(self) -> crate::Result<CostTrackingHook> {
        self.pricing.validate().map_err(|m| invalid("pricing", m))?;
        if let Some(b) = &self.total_budget {
            b.validate("total")?;
        }
        if let Some(b) = &self.default_component_budget {
            b.validate("default component")?;
        }
        for (name, b) in &self.component_budgets {
            b.validate(&format!("component {name:?}"))?;
        }
        if !(self.chars_per_token.is_finite() && self.chars_per_token > 0.0) {
            return Err(invalid(
                "chars_per_token",
                format!("{} must be a positive number", self.chars_per_token),
            ));
        }
        if self.reservation_ttl.is_zero() {
            return Err(invalid("reservation_ttl", "must be more than zero"));
        }
        if self.max_correlations == 0 {
            return Err(invalid("max_correlations", "must be at least 1"));
        }
        if self.name.is_empty() {
            return Err(invalid("name", "the hook name is empty"));
        }
        let bus = match self.bus {
            Some(bus) => Some((
                bus,
                Topic::new(BUDGET_ALERT_TOPIC).map_err(|e| invalid("bus", e.to_string()))?,
            )),
            None => None,
        };
        Ok(CostTrackingHook {
            pricing: self.pricing,
            total_budget: self.total_budget,
            component_budgets: self.component_budgets,
            default_component_budget: self.default_component_budget,
            guard: self.guard,
            unknown_model: self.unknown_model,
            chars_per_token: self.chars_per_token,
            default_max_tokens: self.default_max_tokens,
            reservation_ttl: self.reservation_ttl,
            bus,
            state: Mutex::new(State::default()),
            by_correlation: moka::sync::Cache::builder()
                .max_capacity(self.max_correlations)
                .time_to_idle(self.correlation_idle)
                .build(),
            metadata: HookMetadata::named(self.name)
                .with_priority(self.priority)
                .with_tag("builtin")
                .with_description("LLM token costs, budgets, alerts and a budget guard"),
        })
    }
}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

impl CostTrackingHook {
    /// A builder with the defaults.
    pub fn builder() -> CostTrackingHookBuilder {
        CostTrackingHookBuilder::default()
    }

    /// Registers the hook at `AfterLlmCall` (tracking) and, when the guard is
    /// on, at `BeforeLlmCall` with [`FailMode::Closed`] and at `LlmError`
    /// (which releases a failed call's reservation).
    ///
    /// # Errors
    /// As [`HookRegistry::register_with`].
    pub fn install(self: &Arc<Self>, registry: &HookRegistry) -> crate::Result<Vec<HookHandle>> {
        let hook: Arc<dyn Hook> = self.clone();
        let mut handles = vec![registry.register_with(
            HookPoint::AfterLlmCall,
            hook.clone(),
            HookOptions::default(),
        )?];
        if self.guard {
            handles.push(registry.register_with(
                HookPoint::LlmError,
                hook.clone(),
                HookOptions::default(),
            )?);
            handles.push(registry.register_with(
                HookPoint::BeforeLlmCall,
                hook,
                HookOptions::default().fail_mode(FailMode::Closed),
            )?);
        }
        Ok(handles)
    }

    /// The pricing table.
    pub fn pricing(&self) -> &PricingTable {
        &self.pricing
    }

    fn component_budget(&self, name: &str) -> Option<&Budget> {
        self.component_budgets
            .get(name)
            .or(self.default_component_budget.as_ref())
    }

    /// The estimated cost of the request in `ctx.data` (see the type docs),
    /// or `None` when its model has no price.
    pub fn estimate(&self, ctx: &HookContext) -> Option<f64> {
        let data = &ctx.data;
        let model =
            text(data, "model").or_else(|| ctx.metadata.get("model").map(String::as_str))?;
        let provider =
            text(data, "provider").or_else(|| ctx.metadata.get("provider").map(String::as_str));
        let price = self.pricing.lookup(provider, model)?;
        let mut chars = 0usize;
        if let Some(s) = text(data, "system_prompt") {
            chars += s.chars().count();
        }
        match data.get("messages").and_then(Value::as_array) {
            Some(messages) => {
                for m in messages {
                    match m.get("content") {
                        Some(Value::String(s)) => chars += s.chars().count(),
                        Some(other) => chars += canonical_json(other).chars().count(),
                        None => {}
                    }
                }
            }
            None => chars += canonical_json(data).chars().count(),
        }
        let input = (chars as f64 / self.chars_per_token).ceil() as u64;
        let output = data
            .get("max_tokens")
            .and_then(Value::as_u64)
            .unwrap_or(self.default_max_tokens);
        Some(price.cost(input, output))
    }

    /// The guard's decision for `ctx`.
    fn guard_call(&self, ctx: &HookContext) -> HookResult {
        let estimate = match self.estimate(ctx) {
            Some(e) => e,
            None => match self.unknown_model {
                UnknownModelPolicy::Allow => 0.0,
                UnknownModelPolicy::Deny => {
                    self.state.lock().guarded += 1;
                    return HookResult::Cancel(format!(
                        "budget guard: no price for model {:?}, so the call's cost cannot be bounded",
                        text(&ctx.data, "model").unwrap_or_default()
                    ));
                }
            },
        };
        let name = &*ctx.component.name;
        let mut state = self.state.lock();
        state.reservations.expire(self.reservation_ttl);
        if ctx.attempt > 1 {
            // A retried call: its earlier attempt's reservation is replaced.
            state.reservations.release(&ctx.correlation_id, name);
        }
        let spent_component = state.by_component.get(name).map_or(0.0, |t| t.cost);
        let checks = [
            (
                "total".to_owned(),
                state.total.cost,
                state.reservations.reserved(None),
                self.total_budget.as_ref(),
            ),
            (
                format!("component {name:?}"),
                spent_component,
                state.reservations.reserved(Some(name)),
                self.component_budget(name),
            ),
        ];
        for (scope, spent, reserved, budget) in checks {
            let Some(budget) = budget else { continue };
            if spent >= budget.limit || spent + reserved + estimate > budget.limit {
                state.guarded += 1;
                let cur = self.pricing.currency();
                return HookResult::Cancel(format!(
                    "budget guard: the {scope} budget is {:.6} {cur}; {spent:.6} {cur} is spent, {reserved:.6} {cur} is held by calls in flight, and this call is estimated at {estimate:.6} {cur}",
                    budget.limit
                ));
            }
        }
        state
            .reservations
            .reserve(&ctx.correlation_id, ctx.component.name.clone(), estimate);
        HookResult::Continue
    }

    /// Counts the response in `ctx.data`; returns the alerts to publish.
    fn track(&self, ctx: &HookContext) -> Vec<Alert> {
        let data = &ctx.data;
        let usage = data.get("usage");
        let tokens = |k: &str| {
            usage
                .and_then(|u| u.get(k))
                .and_then(Value::as_u64)
                .unwrap_or(0)
        };
        let (input, output) = (tokens("input_tokens"), tokens("output_tokens"));
        if usage.is_none() {
            tracing::warn!(component = %ctx.component, "LLM response without usage; counted as 0 tokens");
        }
        let provider = text(data, "provider");
        let model = text(data, "model").unwrap_or("unknown");
        let (cost, priced) = match self.pricing.lookup(provider, model) {
            Some(p) => (p.cost(input, output), true),
            None => {
                tracing::warn!(
                    provider = provider.unwrap_or("unknown"),
                    model,
                    "no price for this model; its calls are counted at zero cost"
                );
                (0.0, false)
            }
        };
        let model_key = format!("{}/{model}", provider.unwrap_or("unknown"));
        let entry = self
            .by_correlation
            .get_with_by_ref(&ctx.correlation_id, || {
                Arc::new(Mutex::new(CostTotals::default()))
            });
        entry.lock().add(input, output, cost, priced);

        let name = ctx.component.name.to_string();
        let mut alerts = Vec::new();
        let mut state = self.state.lock();
        state
            .reservations
            .release(&ctx.correlation_id, &ctx.component.name);
        state.total.add(input, output, cost, priced);
        state
            .by_model
            .entry(model_key)
            .or_default()
            .add(input, output, cost, priced);
        let component_spent = {
            let c = state.by_component.entry(name.clone()).or_default();
            c.add(input, output, cost, priced);
            c.cost
        };
        if let Some(b) = &self.total_budget {
            let spent = state.total.cost;
            Self::crossed(
                b,
                spent,
                &mut state.fired_total,
                |threshold| Alert {
                    scope: "total".to_owned(),
                    component: None,
                    threshold,
                    spent,
                    limit: b.limit,
                },
                &mut alerts,
            );
        }
        if let Some(b) = self.component_budget(&name) {
            let fired = state.fired_component.entry(name.clone()).or_default();
            Self::crossed(
                b,
                component_spent,
                fired,
                |threshold| Alert {
                    scope: format!("component:{name}"),
                    component: Some(name.clone()),
                    threshold,
                    spent: component_spent,
                    limit: b.limit,
                },
                &mut alerts,
            );
        }
        alerts
    }

    fn crossed(
        budget: &Budget,
        spent: f64,
        fired: &mut Vec<f64>,
        make: impl Fn(f64) -> Alert,
        out: &mut Vec<Alert>,
    ) {
        for t in &budget.thresholds {
            if spent >= budget.limit * t && !fired.contains(t) {
                fired.push(*t);
                out.push(make(*t));
            }
        }
    }

    async fn publish(&self, ctx: &HookContext, alerts: Vec<Alert>) {
        let currency = self.pricing.currency();
        for a in alerts {
            tracing::warn!(scope = %a.scope, threshold = a.threshold, spent = a.spent, limit = a.limit, currency, "budget alert");
            let Some((bus, topic)) = &self.bus else {
                continue;
            };
            let ev = UniversalEvent::new(
                topic.clone(),
                json!({
                    "scope": a.scope,
                    "component": a.component,
                    "threshold": a.threshold,
                    "spent": a.spent,
                    "limit": a.limit,
                    "currency": currency,
                }),
            )
            .with_origin(ctx.language, &ctx.correlation_id, ctx.parent_id.as_ref())
            .with_source(ctx.component.to_string());
            if let Err(e) = bus.publish(ev).await {
                tracing::warn!(error = %e, "budget alert not delivered everywhere");
            }
        }
    }

    /// What the operation `id` cost so far, if it is still remembered.
    pub fn correlation(&self, id: &CorrelationId) -> Option<CostTotals> {
        self.by_correlation.get(id).map(|t| *t.lock())
    }

    /// Totals, breakdowns and budget status.
    pub fn report(&self) -> CostReport {
        let state = self.state.lock();
        let mut budgets = Vec::new();
        let status =
            |scope: String, b: &Budget, spent: f64, fired: Option<&Vec<f64>>| BudgetStatus {
                scope,
                limit: b.limit,
                spent,
                remaining: b.limit - spent,
                alerts_fired: fired.cloned().unwrap_or_default(),
            };
        if let Some(b) = &self.total_budget {
            budgets.push(status(
                "total".to_owned(),
                b,
                state.total.cost,
                Some(&state.fired_total),
            ));
        }
        let mut names: Vec<&String> = self.component_budgets.keys().collect();
        if self.default_component_budget.is_some() {
            names.extend(state.by_component.keys());
        }
        names.sort();
        names.dedup();
        for name in names {
            if let Some(b) = self.component_budget(name) {
                let spent = state.by_component.get(name).map_or(0.0, |t| t.cost);
                budgets.push(status(
                    format!("component:{name}"),
                    b,
                    spent,
                    state.fired_component.get(name),
                ));
            }
        }
        CostReport {
            currency: self.pricing.currency().to_owned(),
            total: state.total,
            by_component: state
                .by_component
                .iter()
                .map(|(k, v)| (k.clone(), *v))
                .collect(),
            by_model: state
                .by_model
                .iter()
                .map(|(k, v)| (k.clone(), *v))
                .collect(),
            budgets,
            guarded: state.guarded,
            reserved: state.reservations.reserved(None),
        }
    }

    /// Forgets all spending and fired alerts.
    pub fn reset(&self) {
        *self.state.lock() = State::default();
        self.by_correlation.invalidate_all();
    }
}

impl std::fmt::Debug for CostTrackingHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CostTrackingHook")
            .field("currency", &self.pricing.currency())
            .field("guard", &self.guard)
            .field("total", &self.state.lock().total)
            .finish()
    }
}

#[async_trait]
impl Hook for CostTrackingHook {
    async fn execute(&self, ctx: &mut HookContext) -> llmspell_core::Result<HookResult> {
        match PointPhase::of(&ctx.point) {
            PointPhase::Before if self.guard => Ok(self.guard_call(ctx)),
            PointPhase::After if ctx.cache_hit => {
                // A cached answer cost nothing; only free what the guard held.
                self.state
                    .lock()
                    .reservations
                    .release(&ctx.correlation_id, &ctx.component.name);
                Ok(HookResult::Continue)
            }
            PointPhase::After => {
                let alerts = self.track(ctx);
                if !alerts.is_empty() {
                    self.publish(ctx, alerts).await;
                }
                Ok(HookResult::Continue)
            }
            PointPhase::Error => {
                self.state
                    .lock()
                    .reservations
                    .release(&ctx.correlation_id, &ctx.component.name);
                Ok(HookResult::Continue)
            }
            _ => Ok(HookResult::Skipped(
                "cost tracking applies at After and Error points (and Before points for the guard)"
                    .to_owned(),
            )),
        }
    }

    fn metadata(&self) -> HookMetadata {
        self.metadata.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use llmspell_core::ComponentId;

    fn before(max_tokens: u64) -> HookContext {
        HookContext::new(
            HookPoint::BeforeLlmCall,
            ComponentId::agent("a"),
            json!({ "model": "m", "provider": "p", "messages": [], "max_tokens": max_tokens }),
        )
    }

    #[test]
    fn estimates_of_calls_that_never_report_back_expire() {
        let hook = CostTrackingHook::builder()
            .pricing(PricingTable::new("USD").with("p", "m", ModelPrice::new(0.0, 1.0)))
            .total_budget(Budget::new(2.5))
            .reservation_ttl(Duration::from_millis(30))
            .build()
            .unwrap();
        // Each call is estimated at 1.00 (1000 output tokens at 1.00 per 1K).
        assert_eq!(hook.guard_call(&before(1000)), HookResult::Continue);
        assert_eq!(hook.guard_call(&before(1000)), HookResult::Continue);
        assert!((hook.report().reserved - 2.0).abs() < 1e-12);
        assert!(matches!(
            hook.guard_call(&before(1000)),
            HookResult::Cancel(_)
        ));
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(hook.guard_call(&before(1000)), HookResult::Continue);
        assert!((hook.report().reserved - 1.0).abs() < 1e-12);
    }

    #[test]
    fn bad_settings_are_rejected() {
        let b = CostTrackingHook::builder;
        assert!(b().total_budget(Budget::new(0.0)).build().is_err());
        assert!(
            b().total_budget(Budget::new(1.0).thresholds([1.5]))
                .build()
                .is_err()
        );
        assert!(b().chars_per_token(0.0).build().is_err());
        assert!(b().reservation_ttl(Duration::ZERO).build().is_err());
        assert!(b().max_correlations(0).build().is_err());
        let bad_price = PricingTable::new("USD").with("p", "m", ModelPrice::new(-1.0, 0.0));
        assert!(b().pricing(bad_price).build().is_err());
        assert!(b().pricing(PricingTable::new(" ")).build().is_err());
    }
}
