//! Hooks made of hooks: Sequential, Parallel, FirstMatch and Voting.

use std::sync::Arc;

use async_trait::async_trait;
use futures::future::join_all;

use crate::{Hook, HookAction, HookContext, HookMetadata, HookResult};

/// How a [`CompositeHook`] combines its children.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Composition {
    /// Run in order on the same context; `Modified` feeds the next child;
    /// the first decisive result ends the run.
    Sequential,
    /// Run concurrently, each on its own copy of the context; merge by
    /// precedence: Cancel > Redirect > Replace > Retry > Fork > Cache >
    /// Modified > Continue (the first child in order wins a tie).
    Parallel,
    /// Run in order; the first result that is not `Continue` or `Skipped`
    /// wins (including `Modified`).
    FirstMatch,
    /// Run concurrently; the action chosen by at least `threshold` (0..=1) of
    /// the voting children wins, represented by the first child that chose
    /// it; otherwise `Continue`. `Skipped` children abstain.
    Voting {
        /// The share of votes needed.
        threshold: f64,
    },
}

/// A hook whose result is composed from child hooks. Composites nest.
///
/// A child's failure is the composite's failure (the executor then applies
/// the composite's fail mode and breaker).
///
/// ```
/// use llmspell_hooks::{CompositeHook, HookResult, sync_hook_fn};
/// let audit = CompositeHook::sequential("audit", vec![
///     std::sync::Arc::new(sync_hook_fn(|_| Ok(HookResult::Continue))),
///     std::sync::Arc::new(sync_hook_fn(|_| Ok(HookResult::Cancel("denied".into())))),
/// ]);
/// # let _ = audit;
/// ```
pub struct CompositeHook {
    composition: Composition,
    hooks: Vec<Arc<dyn Hook>>,
    metadata: HookMetadata,
}

impl CompositeHook {
    /// A composite of `hooks` combined by `composition`.
    pub fn new(
        name: impl Into<String>,
        composition: Composition,
        hooks: Vec<Arc<dyn Hook>>,
    ) -> Self {
        Self {
            composition,
            hooks,
            metadata: HookMetadata::named(name),
        }
    }

    /// A [`Composition::Sequential`] composite.
    pub fn sequential(name: impl Into<String>, hooks: Vec<Arc<dyn Hook>>) -> Self {
        Self::new(name, Composition::Sequential, hooks)
    }

    /// A [`Composition::Parallel`] composite.
    pub fn parallel(name: impl Into<String>, hooks: Vec<Arc<dyn Hook>>) -> Self {
        Self::new(name, Composition::Parallel, hooks)
    }

    /// A [`Composition::FirstMatch`] composite.
    pub fn first_match(name: impl Into<String>, hooks: Vec<Arc<dyn Hook>>) -> Self {
        Self::new(name, Composition::FirstMatch, hooks)
    }

    /// A [`Composition::Voting`] composite (threshold clamped to 0..=1).
    pub fn voting(name: impl Into<String>, threshold: f64, hooks: Vec<Arc<dyn Hook>>) -> Self {
        let threshold = if threshold.is_finite() {
            threshold.clamp(0.0, 1.0)
        } else {
            0.5
        };
        Self::new(name, Composition::Voting { threshold }, hooks)
    }

    /// Replaces the metadata.
    #[must_use]
    pub fn with_metadata(mut self, metadata: HookMetadata) -> Self {
        self.metadata = metadata;
        self
    }

    /// The composition.
    pub fn composition(&self) -> Composition {
        self.composition
    }

    async fn run_all(&self, ctx: &HookContext) -> llmspell_core::Result<Vec<HookResult>> {
        let runs = self.hooks.iter().filter(|h| h.should_run(ctx)).map(|h| {
            let mut own = ctx.clone();
            async move { h.execute(&mut own).await }
        });
        join_all(runs).await.into_iter().collect()
    }
}

/// Precedence of actions when parallel results are merged (higher wins).
pub fn precedence(action: HookAction) -> u8 {
    match action {
        HookAction::Cancel => 8,
        HookAction::Redirect => 7,
        HookAction::Replace => 6,
        HookAction::Retry => 5,
        HookAction::Fork => 4,
        HookAction::Cache => 3,
        HookAction::Modified => 2,
        HookAction::Continue | HookAction::Skip => 1,
    }
}

#[async_trait]
impl Hook for CompositeHook {
    async fn execute(&self, ctx: &mut HookContext) -> llmspell_core::Result<HookResult> {
        match self.composition {
            Composition::Sequential => {
                let mut modified = false;
                for h in &self.hooks {
                    if !h.should_run(ctx) {
                        continue;
                    }
                    match h.execute(ctx).await? {
                        HookResult::Continue | HookResult::Skipped(_) => {}
                        HookResult::Modified(data) => {
                            ctx.data = data;
                            modified = true;
                        }
                        decisive => return Ok(decisive),
                    }
                }
                Ok(if modified {
                    HookResult::Modified(ctx.data.clone())
                } else {
                    HookResult::Continue
                })
            }
            Composition::FirstMatch => {
                for h in &self.hooks {
                    if !h.should_run(ctx) {
                        continue;
                    }
                    match h.execute(ctx).await? {
                        HookResult::Continue | HookResult::Skipped(_) => {}
                        other => return Ok(other),
                    }
                }
                Ok(HookResult::Continue)
            }
            Composition::Parallel => {
                let results = self.run_all(ctx).await?;
                let mut best: Option<HookResult> = None;
                for r in results {
                    let better = best
                        .as_ref()
                        .is_none_or(|b| precedence(r.action()) > precedence(b.action()));
                    if better {
                        best = Some(r);
                    }
                }
                Ok(match best {
                    Some(HookResult::Skipped(_)) | None => HookResult::Continue,
                    Some(r) => r,
                })
            }
            Composition::Voting { threshold } => {
                let results = self.run_all(ctx).await?;
                let voters: Vec<HookResult> = results
                    .into_iter()
                    .filter(|r| !matches!(r, HookResult::Skipped(_)))
                    .collect();
                if voters.is_empty() {
                    return Ok(HookResult::Continue);
                }
                let mut tally: Vec<(HookAction, usize, usize)> = Vec::new();
                for (i, r) in voters.iter().enumerate() {
                    match tally.iter_mut().find(|(a, _, _)| *a == r.action()) {
                        Some(t) => t.1 += 1,
                        None => tally.push((r.action(), 1, i)),
                    }
                }
                let total = voters.len() as f64;
                let winner = tally
                    .iter()
                    .filter(|(_, votes, _)| *votes as f64 / total >= threshold)
                    .max_by(|a, b| a.1.cmp(&b.1).then(precedence(a.0).cmp(&precedence(b.0))));
                Ok(match winner {
                    Some((_, _, first)) => voters[*first].clone(),
                    None => HookResult::Continue,
                })
            }
        }
    }

    fn metadata(&self) -> HookMetadata {
        self.metadata.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{HookPoint, hook_fn, sync_hook_fn};
    use llmspell_core::ComponentId;
    use serde_json::json;

    fn ctx() -> HookContext {
        HookContext::new(
            HookPoint::custom("t").unwrap(),
            ComponentId::tool("x"),
            json!({"n": 1}),
        )
    }

    fn returns(r: HookResult) -> Arc<dyn Hook> {
        Arc::new(sync_hook_fn(move |_| Ok(r.clone())))
    }

    fn add(n: i64) -> Arc<dyn Hook> {
        Arc::new(sync_hook_fn(move |c| {
            Ok(HookResult::Modified(
                json!({"n": c.data["n"].as_i64().unwrap() + n}),
            ))
        }))
    }

    fn run(h: CompositeHook) -> HookResult {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async { h.execute(&mut ctx()).await.unwrap() })
    }

    #[test]
    fn sequential_feeds_modifications_and_stops_at_the_first_decisive() {
        let r = run(CompositeHook::sequential("s", vec![add(1), add(10)]));
        assert_eq!(r, HookResult::Modified(json!({"n": 12})));
        let r = run(CompositeHook::sequential(
            "s",
            vec![add(1), returns(HookResult::Cancel("no".into())), add(100)],
        ));
        assert_eq!(r, HookResult::Cancel("no".into()));
    }

    #[test]
    fn parallel_merges_by_precedence() {
        let r = run(CompositeHook::parallel(
            "p",
            vec![
                add(1),
                returns(HookResult::Replace(json!(1))),
                returns(HookResult::Redirect("b".into())),
                returns(HookResult::Continue),
            ],
        ));
        assert_eq!(r, HookResult::Redirect("b".into()));
        let r = run(CompositeHook::parallel(
            "p",
            vec![
                returns(HookResult::Redirect("b".into())),
                returns(HookResult::Cancel("stop".into())),
            ],
        ));
        assert_eq!(r, HookResult::Cancel("stop".into()));
        let r = run(CompositeHook::parallel(
            "p",
            vec![returns(HookResult::Continue), add(5)],
        ));
        assert_eq!(
            r,
            HookResult::Modified(json!({"n": 6})),
            "parallel children see the original data"
        );
        let r = run(CompositeHook::parallel(
            "p",
            vec![returns(HookResult::Skipped("x".into()))],
        ));
        assert_eq!(r, HookResult::Continue);
    }

    #[test]
    fn first_match_returns_the_first_non_continue() {
        let r = run(CompositeHook::first_match(
            "f",
            vec![
                returns(HookResult::Skipped("".into())),
                add(2),
                returns(HookResult::Cancel("late".into())),
            ],
        ));
        assert_eq!(r, HookResult::Modified(json!({"n": 3})));
    }

    #[test]
    fn voting_needs_the_threshold() {
        let cancel = || returns(HookResult::Cancel("bad".into()));
        let cont = || returns(HookResult::Continue);
        let r = run(CompositeHook::voting(
            "v",
            0.5,
            vec![cancel(), cancel(), cont()],
        ));
        assert_eq!(r, HookResult::Cancel("bad".into()));
        let r = run(CompositeHook::voting(
            "v",
            0.75,
            vec![cancel(), cancel(), cont()],
        ));
        assert_eq!(r, HookResult::Continue, "2 of 3 is below 75%");
        let r = run(CompositeHook::voting(
            "v",
            0.6,
            vec![
                cancel(),
                returns(HookResult::Skipped("abstain".into())),
                cancel(),
                cont(),
            ],
        ));
        assert_eq!(
            r,
            HookResult::Cancel("bad".into()),
            "skipped children abstain"
        );
    }

    #[test]
    fn composites_nest_and_propagate_child_failures() {
        let inner = Arc::new(CompositeHook::parallel(
            "inner",
            vec![add(1), returns(HookResult::Replace(json!(9)))],
        ));
        let outer = CompositeHook::sequential("outer", vec![add(1), inner]);
        assert_eq!(run(outer), HookResult::Replace(json!(9)));
        let failing: Arc<dyn Hook> = Arc::new(hook_fn(|_| async {
            Err(llmspell_core::Error::other("child broke"))
        }));
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let err = rt
            .block_on(CompositeHook::sequential("s", vec![add(1), failing]).execute(&mut ctx()))
            .unwrap_err();
        assert!(err.to_string().contains("child broke"));
    }
}
