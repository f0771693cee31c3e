//! Budgets, and the estimates the guard holds against them.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use llmspell_core::CorrelationId;
use serde::Serialize;

use crate::builtin::invalid;

/// A spending limit and the fractions of it at which alerts fire.
#[derive(Debug, Clone, PartialEq)]
pub struct Budget {
    pub(super) limit: f64,
    pub(super) thresholds: Vec<f64>,
}

impl Budget {
    /// A limit, in the pricing table's currency, alerting at 50, 80 and 100 %.
    pub fn new(limit: f64) -> Self {
        Self {
            limit,
            thresholds: vec![0.5, 0.8, 1.0],
        }
    }

    /// Replaces the alert thresholds (fractions of the limit, each in (0, 1]).
    #[must_use]
    pub fn thresholds(mut self, thresholds: impl IntoIterator<Item = f64>) -> Self {
        self.thresholds = thresholds.into_iter().collect();
        self.thresholds.sort_by(f64::total_cmp);
        self.thresholds.dedup();
        self
    }

    /// The limit.
    pub fn limit(&self) -> f64 {
        self.limit
    }

    pub(super) fn validate(&self, scope: &str) -> crate::Result<()> {
        if !(self.limit.is_finite() && self.limit > 0.0) {
            return Err(invalid(
                "budget",
                format!(
                    "the {scope} limit must be a positive number, got {}",
                    self.limit
                ),
            ));
        }
        if let Some(t) = self
            .thresholds
            .iter()
            .find(|t| !(t.is_finite() && **t > 0.0 && **t <= 1.0))
        {
            return Err(invalid(
                "budget",
                format!("the {scope} alert threshold {t} must be in (0, 1]"),
            ));
        }
        Ok(())
    }
}

/// A budget and how much of it is spent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BudgetStatus {
    /// `total` or `component:<name>`.
    pub scope: String,
    /// The limit.
    pub limit: f64,
    /// Spent so far.
    pub spent: f64,
    /// `limit - spent` (negative when overspent).
    pub remaining: f64,
    /// The thresholds whose alert fired.
    pub alerts_fired: Vec<f64>,
}

/// Estimates of calls the guard let through whose outcome is not yet known.
#[derive(Default)]
pub(super) struct Reservations {
    /// Per correlation id.
    pending: HashMap<CorrelationId, Vec<Reservation>>,
    /// The sum of the pending estimates, in total and per component.
    total: f64,
    by_component: HashMap<Arc<str>, f64>,
    /// Reservations in the order they were made, for expiry.
    order: VecDeque<(Instant, CorrelationId, u64)>,
    next: u64,
}

/// An estimate held against the budgets while its call runs.
struct Reservation {
    id: u64,
    component: Arc<str>,
    amount: f64,
}

impl Reservations {
    pub(super) fn reserved(&self, component: Option<&str>) -> f64 {
        match component {
            None => self.total,
            Some(c) => self.by_component.get(c).copied().unwrap_or(0.0),
        }
    }

    pub(super) fn reserve(&mut self, id: &CorrelationId, component: Arc<str>, amount: f64) {
        let rid = self.next;
        self.next += 1;
        self.total += amount;
        *self.by_component.entry(component.clone()).or_insert(0.0) += amount;
        self.order.push_back((Instant::now(), id.clone(), rid));
        self.pending
            .entry(id.clone())
            .or_default()
            .push(Reservation {
                id: rid,
                component,
                amount,
            });
    }

    /// Drops the reservation under `id` matching `pick`, if any.
    fn drop_where(&mut self, id: &CorrelationId, pick: impl Fn(&Reservation) -> bool) {
        let Some(list) = self.pending.get_mut(id) else {
            return;
        };
        let Some(i) = list.iter().position(pick) else {
            return;
        };
        let r = list.remove(i);
        if list.is_empty() {
            self.pending.remove(id);
        }
        if self.pending.is_empty() {
            // No float residue once nothing is held.
            self.total = 0.0;
            self.by_component.clear();
            return;
        }
        self.total = (self.total - r.amount).max(0.0);
        if let Some(c) = self.by_component.get_mut(&r.component) {
            *c -= r.amount;
            if *c <= 1e-12 {
                self.by_component.remove(&r.component);
            }
        }
    }

    /// Drops the oldest reservation of `component` under `id`.
    pub(super) fn release(&mut self, id: &CorrelationId, component: &str) {
        self.drop_where(id, |r| *r.component == *component);
    }

    /// Drops reservations older than `ttl` (calls that never reported back),
    /// and forgets the order of those already released at the front.
    pub(super) fn expire(&mut self, ttl: Duration) {
        while let Some((at, id, rid)) = self.order.front().cloned() {
            let held = self
                .pending
                .get(&id)
                .is_some_and(|list| list.iter().any(|r| r.id == rid));
            if held && at.elapsed() < ttl {
                break;
            }
            self.order.pop_front();
            if held {
                self.drop_where(&id, |r| r.id == rid);
            }
        }
    }
}
